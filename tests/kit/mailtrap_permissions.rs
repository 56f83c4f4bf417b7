//! The Mailtrap fake refuses to create, delete or reset tokens for a
//! caller without admin access to the account (contract: 403 "The token
//! may not do this", `{"errors":"Account access forbidden"}`, on create,
//! delete and reset), in both path forms; reading stays open to every
//! credential it accepts.

use crate::kit_support;

use api_tokens::Error;
use api_tokens::mailtrap::{self, AccessLevel, Expiry, ResourceType};
use api_tokens::testing::{MailtrapFake, MailtrapToken, MailtrapTokenSeed};
use kit_support::{mailtrap_client, mailtrap_client_on};
use reqwest::Method;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

/// Sends `method` to `url` with the `Api-Token` `key` and a JSON body, if
/// any: the status and the body.
async fn send(method: Method, url: &str, key: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(method, url)
        .header("api-token", key);
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let answer = request.send().await.expect("the fake answers");
    let status = answer.status().as_u16();
    let bytes = answer.bytes().await.expect("a body");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn admin_token_request(fake: &MailtrapFake, name: &str) -> Value {
    json!({"name": name, "resources": [
        {"resource_type": "account", "resource_id": fake.account_id(), "access_level": 100}
    ]})
}

/// What the fake holds, as ids, names and expiries: unchanged by a refusal.
fn held(fake: &MailtrapFake) -> Vec<String> {
    fake.tokens()
        .iter()
        .map(|t| format!("{} {} {:?} {:?}", t.id, t.name, t.expires_at, t.replaced_by))
        .collect()
}

/// Every change `caller` tries, on both path forms, is refused with 403 in
/// the contract's shape and changes nothing; its list and get answer.
async fn refused_everything(fake: &MailtrapFake, caller: &MailtrapToken, what: &str) {
    let victim = fake.insert_token(MailtrapTokenSeed::new(format!("victim of {what}")));
    let key = caller.secret.expose_secret();
    let before = held(fake);
    let forbidden = json!({"errors": "Account access forbidden"});
    for base in [
        format!(
            "{}/api/accounts/{}/api_tokens",
            fake.uri(),
            fake.account_id()
        ),
        format!("{}/api/api_tokens", fake.uri()),
    ] {
        let attempts = [
            (
                Method::POST,
                base.clone(),
                Some(admin_token_request(fake, "escalated")),
            ),
            (Method::DELETE, format!("{base}/{}", victim.id), None),
            (Method::POST, format!("{base}/{}/reset", victim.id), None),
            (Method::DELETE, format!("{base}/{}", caller.id), None),
            (Method::POST, format!("{base}/{}/reset", caller.id), None),
            // Refused before the token named is looked for.
            (Method::DELETE, format!("{base}/99999999"), None),
            (Method::POST, format!("{base}/99999999/reset"), None),
        ];
        for (method, url, body) in attempts {
            let (status, answer) = send(method.clone(), &url, key, body).await;
            assert_eq!(status, 403, "{what}: {method} {url}");
            assert_eq!(answer, forbidden, "{what}: {method} {url}");
        }
        let (status, listed) = send(Method::GET, &base, key, None).await;
        assert_eq!(status, 200, "{what}: list");
        assert_eq!(listed.as_array().map(Vec::len), Some(before.len()));
        let (status, _) = send(Method::GET, &format!("{base}/{}", victim.id), key, None).await;
        assert_eq!(status, 200, "{what}: get");
    }
    assert_eq!(held(fake), before, "{what}: a refusal changes nothing");
}

#[tokio::test]
async fn a_token_without_admin_access_to_the_account_may_not_change_tokens() {
    let fake = MailtrapFake::builder()
        .account(4410, "Second")
        .start()
        .await;
    let account = fake.account_id();
    let callers = [
        (
            "a viewer of a project",
            MailtrapTokenSeed::new("project viewer").permission(
                ResourceType::Project,
                7,
                AccessLevel::Viewer,
            ),
        ),
        (
            "an admin of a sandbox",
            MailtrapTokenSeed::new("sandbox admin").permission(
                ResourceType::Sandbox,
                account,
                AccessLevel::Admin,
            ),
        ),
        (
            "a viewer of the account",
            MailtrapTokenSeed::new("account viewer").permission(
                ResourceType::Account,
                account,
                AccessLevel::Viewer,
            ),
        ),
        (
            "an admin of another account",
            MailtrapTokenSeed::new("admin elsewhere").permission(
                ResourceType::Account,
                4410,
                AccessLevel::Admin,
            ),
        ),
    ];
    for (what, seed) in callers {
        let caller = fake.insert_token(seed);
        refused_everything(&fake, &caller, what).await;
    }
}

#[tokio::test]
async fn a_refusal_reaches_the_client_as_forbidden_with_the_service_message() {
    let fake = MailtrapFake::start().await;
    let viewer = fake.insert_token(MailtrapTokenSeed::new("viewer").permission(
        ResourceType::Project,
        7,
        AccessLevel::Viewer,
    ));
    let victim = fake.insert_token(MailtrapTokenSeed::new("victim"));
    for client in [
        mailtrap_client(&fake, &viewer.secret),
        mailtrap_client_on(&fake, &viewer.secret, None),
    ] {
        let tokens = client.api_tokens();
        let create = tokens
            .create(mailtrap::CreateApiToken::new("escalated").permission(
                ResourceType::Account,
                fake.account_id(),
                AccessLevel::Admin,
            ))
            .await;
        let delete = tokens.delete(victim.id).await;
        let reset = tokens.reset(victim.id, Expiry::Never).await;
        for (what, err) in [
            ("create", create.map(|_| ()).unwrap_err()),
            ("delete", delete.unwrap_err()),
            ("reset", reset.map(|_| ()).unwrap_err()),
        ] {
            assert!(matches!(err, Error::Forbidden(_)), "{what}: {err:?}");
            assert_eq!(err.messages(), ["Account access forbidden"], "{what}");
        }
        assert_eq!(tokens.list().await.unwrap().len(), 2);
    }
    assert_eq!(fake.tokens().len(), 2);
}

#[tokio::test]
async fn an_account_admin_token_and_the_fakes_own_may_change_tokens() {
    let fake = MailtrapFake::builder()
        .account(4410, "Second")
        .start()
        .await;
    let account = fake.account_id();
    // A seed without permissions is an account admin; so is one that says
    // so, the account's id written as a number or as a string.
    let admins = [
        fake.insert_token(MailtrapTokenSeed::new("default seed")),
        fake.insert_token(MailtrapTokenSeed::new("admin").permission(
            ResourceType::Account,
            account,
            AccessLevel::Admin,
        )),
        fake.insert_token(
            MailtrapTokenSeed::new("admin, string id")
                .permission(ResourceType::Project, 7, AccessLevel::Viewer)
                .permission(
                    ResourceType::Account,
                    account.to_string(),
                    AccessLevel::Admin,
                ),
        ),
    ];
    for admin in &admins {
        for client in [
            mailtrap_client(&fake, &admin.secret),
            mailtrap_client_on(&fake, &admin.secret, None),
        ] {
            let tokens = client.api_tokens();
            let created = tokens
                .create(mailtrap::CreateApiToken::new("by an admin").permission(
                    ResourceType::Project,
                    7,
                    AccessLevel::Viewer,
                ))
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", admin.name));
            assert_eq!(created.created_by.as_deref(), Some(admin.name.as_str()));
            let new = tokens.reset(created.id, Expiry::Never).await.unwrap();
            tokens.delete(created.id).await.unwrap();
            tokens.delete(new.id).await.unwrap();

            // What it made is a viewer: its secret may read, not change.
            let made = fake.insert_token(MailtrapTokenSeed::new("made").permission(
                ResourceType::Project,
                7,
                AccessLevel::Viewer,
            ));
            let made_client = mailtrap_client(&fake, &made.secret);
            assert!(made_client.api_tokens().list().await.is_ok());
            let err = made_client.api_tokens().delete(made.id).await.unwrap_err();
            assert_eq!(err.status(), Some(403));
            tokens.delete(made.id).await.unwrap();
        }
    }
    // The fake's own token changes tokens in each of its accounts.
    for on in [account, 4410] {
        let own = mailtrap_client_on(&fake, fake.token(), Some(on));
        let created = own
            .api_tokens()
            .create(mailtrap::CreateApiToken::new("own").permission(
                ResourceType::Account,
                on,
                AccessLevel::Viewer,
            ))
            .await
            .unwrap();
        let new = own
            .api_tokens()
            .reset(created.id, Expiry::Never)
            .await
            .unwrap();
        own.api_tokens().delete(new.id).await.unwrap();
        own.api_tokens().delete(created.id).await.unwrap();
    }
    assert_eq!(fake.tokens().len(), admins.len());
}
