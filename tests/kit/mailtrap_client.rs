//! The Mailtrap fake driven through this crate's own `mailtrap::Client`:
//! the whole lifecycle checked against both the client's results and the
//! fake's state, tokens minted by the fake used as credentials, and the
//! service-shaped errors for bad credentials and bad bodies.

use std::time::Duration;

use api_tokens::mailtrap::{
    self, AccessLevel, CreateApiToken, Expiry, Permission, ResourceType, TokenId,
};
use api_tokens::testing::{MailtrapFake, MailtrapTokenSeed, ResetRule};
use api_tokens::{Error, RetryPolicy, Service};
use chrono::{DateTime, TimeDelta, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

fn fast_retries() -> RetryPolicy {
    RetryPolicy::default().initial_backoff(Duration::from_millis(10))
}

/// A client pointed at the fake with the given credential.
fn client_with(fake: &MailtrapFake, token: SecretString) -> mailtrap::Client {
    mailtrap::Client::builder()
        .token(token)
        .account_id(fake.account_id())
        .base_url(fake.uri())
        .retry(fast_retries())
        .build()
        .unwrap()
}

/// A client pointed at the fake with the credential the fake accepts.
fn client(fake: &MailtrapFake) -> mailtrap::Client {
    client_with(fake, fake.token().clone())
}

fn request(fake: &MailtrapFake, name: &str) -> CreateApiToken {
    CreateApiToken::new(name).permission(
        ResourceType::Account,
        fake.account_id(),
        AccessLevel::Admin,
    )
}

/// Every text a value can be shown as, to search for a secret.
fn shown<T: std::fmt::Debug>(value: &T) -> String {
    format!("{value:?} {value:#?}")
}

fn last_four(secret: &str) -> String {
    secret[secret.len() - 4..].to_owned()
}

/// The id of a token seeded into the fake, as the client takes it.
fn seeded_id(id: impl TryInto<TokenId, Error: std::fmt::Debug>) -> TokenId {
    id.try_into().expect("the fake's ids are valid")
}

#[tokio::test]
async fn create_list_get_reset_delete_list_through_the_client() {
    let fake = MailtrapFake::start().await;
    let client = client(&fake);
    let tokens = client.api_tokens();

    // Create: the secret comes back once and is the one the fake holds.
    let created = tokens
        .create(
            request(&fake, "CI deploy")
                .permission(ResourceType::Project, 7, AccessLevel::Viewer)
                .expires(Expiry::Never),
        )
        .await
        .unwrap();
    let secret = created.token.expose_secret().to_owned();
    assert_ne!(secret, fake.token().expose_secret());
    assert!(!shown(&created).contains(&secret));
    assert!(!created.to_string().contains(&secret));
    let held = fake.tokens();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].id, created.id);
    assert_eq!(held[0].secret.expose_secret(), secret);
    assert_eq!(held[0].name, "CI deploy");
    assert_eq!(held[0].expires_at, None);
    assert_eq!(held[0].permissions.len(), 2);
    assert_eq!(held[0].permissions[1].resource_type, ResourceType::Project);
    assert_eq!(held[0].permissions[1].access_level, AccessLevel::Viewer);
    assert_eq!(held[0].permissions, created.permissions);
    assert_eq!(held[0], created.details);
    assert_eq!(
        created.last_four.as_deref(),
        Some(last_four(&secret).as_str())
    );
    assert_eq!(created.created_by.as_deref(), Some("owner@example.com"));
    assert_eq!(
        created.permissions,
        [
            Permission::new(ResourceType::Account, fake.account_id(), AccessLevel::Admin),
            Permission::new(ResourceType::Project, 7, AccessLevel::Viewer),
        ]
    );

    // List: the same token, without its secret, on the wire or off it.
    let listed = tokens.list().await.unwrap();
    assert_eq!(listed, [created.without_secret()]);
    assert!(!shown(&listed).contains(&secret));
    let raw = reqwest::Client::new()
        .get(format!(
            "{}/api/accounts/{}/api_tokens",
            fake.uri(),
            fake.account_id()
        ))
        .header("Api-Token", fake.token().expose_secret())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(raw.contains(&created.id.to_string()));
    assert!(!raw.contains(&secret), "list never carries a secret");
    assert!(!raw.contains("\"token\""));

    // Get: the same again.
    let got = tokens.get(created.id).await.unwrap();
    assert_eq!(got, created.without_secret());
    assert!(!shown(&got).contains(&secret));

    // Reset: a new id and secret; the old token now expires 12 h ahead.
    let before = fake.now();
    let reset = tokens
        .reset(created.id, Expiry::ServerDefault)
        .await
        .unwrap();
    let after = fake.now();
    let new_secret = reset.token.expose_secret().to_owned();
    assert_ne!(reset.id, created.id);
    assert_ne!(new_secret, secret);
    assert_eq!(reset.name, format!("CI deploy {}", reset.id));
    assert_eq!(reset.permissions, created.permissions);
    // A reset that asks for no expiry gets the service's default
    // lifetime, one year.
    let lifetime = reset.expires_at.expect("the default lifetime") - TimeDelta::days(365);
    assert!(
        before <= lifetime && lifetime <= after,
        "{:?}",
        reset.expires_at
    );
    let held = fake.tokens();
    assert_eq!(held.len(), 2);
    let old = held.iter().find(|t| t.id == created.id).unwrap();
    let new = held.iter().find(|t| t.id == reset.id).unwrap();
    assert_eq!(new.secret.expose_secret(), new_secret);
    assert_eq!(old.secret.expose_secret(), secret, "the old secret stays");
    let expiring = old.expires_at.expect("the old token now expires");
    let grace = TimeDelta::hours(12);
    assert!(
        before + grace <= expiring && expiring <= after + grace,
        "{expiring} not 12 h after the reset ({before}..{after})"
    );
    let old_seen = tokens.get(created.id).await.unwrap();
    assert_eq!(old_seen.expires_at, Some(expiring));
    assert_eq!(new.expires_at, reset.expires_at);

    // A second reset of the old one: 422 with the service's message.
    let err = tokens
        .reset(created.id, Expiry::ServerDefault)
        .await
        .unwrap_err();
    let Error::Api(api) = &err else {
        panic!("expected Api, got {err:?}");
    };
    assert_eq!(api.service, Service::Mailtrap);
    assert_eq!(api.status, 422);
    assert_eq!(api.messages, ["This token has already been reset"]);
    assert_eq!(
        api.field_errors["base"],
        ["This token has already been reset"]
    );
    assert_eq!(fake.tokens().len(), 2, "nothing was minted");

    // Delete both.
    tokens.delete(created.id).await.unwrap();
    assert_eq!(fake.tokens().len(), 1);
    tokens.delete(reset.id).await.unwrap();
    assert!(fake.tokens().is_empty());

    // List: empty; a third delete is the service's 404.
    assert!(tokens.list().await.unwrap().is_empty());
    let err = tokens.delete(reset.id).await.unwrap_err();
    let Error::NotFound(api) = &err else {
        panic!("expected NotFound, got {err:?}");
    };
    assert_eq!(api.messages, ["Not Found"]);
    let err = tokens.get(created.id).await.unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");

    let log: Vec<(Option<&str>, Option<u16>)> = fake
        .requests()
        .iter()
        .map(|r| (r.operation, r.status))
        .collect();
    assert_eq!(
        log,
        [
            (Some("create"), Some(200)),
            (Some("list"), Some(200)),
            (Some("list"), Some(200)),
            (Some("get"), Some(200)),
            (Some("reset"), Some(200)),
            (Some("get"), Some(200)),
            (Some("reset"), Some(422)),
            (Some("delete"), Some(204)),
            (Some("delete"), Some(204)),
            (Some("list"), Some(200)),
            (Some("delete"), Some(404)),
            (Some("get"), Some(404)),
        ]
    );
    assert_eq!(client.stats().retries, 0);
}

#[tokio::test]
async fn minted_secrets_are_credentials_and_the_old_one_lapses_after_the_grace() {
    let fake = MailtrapFake::start().await;
    let owner = client(&fake);
    let created = owner
        .api_tokens()
        .create(request(&fake, "deployer"))
        .await
        .unwrap();

    // The new secret works, in `Api-Token` and as a Bearer token; what it
    // makes is created by it.
    let deployer = client_with(&fake, created.token.clone());
    assert_eq!(deployer.api_tokens().list().await.unwrap().len(), 1);
    let bearer = mailtrap::Client::builder()
        .token(created.token.clone())
        .account_id(fake.account_id())
        .base_url(fake.uri())
        .bearer()
        .build()
        .unwrap();
    let child = bearer
        .api_tokens()
        .create(request(&fake, "child"))
        .await
        .unwrap();
    assert_eq!(child.created_by.as_deref(), Some("deployer"));
    assert!(
        fake.requests()
            .last()
            .unwrap()
            .headers
            .contains_key("authorization")
    );

    // Reset: the old secret works through the grace period, then not.
    let reset = owner
        .api_tokens()
        .reset(created.id, Expiry::ServerDefault)
        .await
        .unwrap();
    assert!(deployer.api_tokens().list().await.is_ok());
    let renewed = client_with(&fake, reset.token.clone());
    assert!(renewed.api_tokens().list().await.is_ok());
    fake.advance_clock(Duration::from_secs(13 * 3600));
    let err = deployer.api_tokens().list().await.unwrap_err();
    let Error::Unauthorized(api) = &err else {
        panic!("expected Unauthorized, got {err:?}");
    };
    assert_eq!(api.messages, ["Incorrect API token"]);
    assert!(renewed.api_tokens().list().await.is_ok());

    // Deleted, the new one stops at once.
    owner.api_tokens().delete(reset.id).await.unwrap();
    let err = renewed.api_tokens().list().await.unwrap_err();
    assert!(matches!(err, Error::Unauthorized(_)), "{err:?}");
    assert!(!format!("{err} {err:?}").contains(reset.token.expose_secret()));
}

#[tokio::test]
async fn a_wrong_token_is_unauthorized_with_the_service_message() {
    let fake = MailtrapFake::start().await;
    let wrong = client_with(
        &fake,
        SecretString::from("0123456789abcdef0123456789abcdef"),
    );
    let tokens = wrong.api_tokens();

    let err = tokens.create(request(&fake, "never")).await.unwrap_err();
    let Error::Unauthorized(api) = &err else {
        panic!("expected Unauthorized, got {err:?}");
    };
    assert_eq!(api.service, Service::Mailtrap);
    assert_eq!(api.status, 401);
    assert_eq!(api.messages, ["Incorrect API token"]);
    assert!(fake.tokens().is_empty(), "nothing was minted");

    let seeded = fake.insert_token(MailtrapTokenSeed::new("existing"));
    for err in [
        tokens.list().await.unwrap_err(),
        tokens.get(seeded_id(seeded.id)).await.unwrap_err(),
        tokens
            .reset(seeded_id(seeded_id(seeded.id)), Expiry::ServerDefault)
            .await
            .unwrap_err(),
        tokens.delete(seeded_id(seeded.id)).await.unwrap_err(),
    ] {
        assert!(matches!(err, Error::Unauthorized(_)), "{err:?}");
        assert_eq!(err.messages(), ["Incorrect API token"]);
    }
    assert_eq!(fake.tokens().len(), 1, "the seeded token is untouched");
    assert_eq!(fake.tokens()[0].expires_at, None);
    assert_eq!(fake.requests().len(), 5, "a 401 is never repeated");
}

#[tokio::test]
async fn another_account_is_forbidden() {
    let fake = MailtrapFake::start().await;
    let elsewhere = mailtrap::Client::builder()
        .token(fake.token().clone())
        .account_id(fake.account_id() + 1)
        .base_url(fake.uri())
        .build()
        .unwrap();
    let err = elsewhere.api_tokens().list().await.unwrap_err();
    let Error::Forbidden(api) = &err else {
        panic!("expected Forbidden, got {err:?}");
    };
    assert_eq!(api.messages, ["Account access forbidden"]);
}

#[tokio::test]
async fn bad_bodies_sent_raw_get_mailtrap_shaped_422_and_400() {
    let fake = MailtrapFake::start().await;
    let url = format!(
        "{}/api/accounts/{}/api_tokens",
        fake.uri(),
        fake.account_id()
    );
    let http = reqwest::Client::new();
    let post = |body: String| {
        http.post(&url)
            .header("Api-Token", fake.token().expose_secret())
            .header("content-type", "application/json")
            .body(body)
            .send()
    };

    let answer = post(json!({"name": " ", "resources": [], "colour": "red"}).to_string())
        .await
        .unwrap();
    assert_eq!(answer.status(), 422);
    assert!(
        answer.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: Value = serde_json::from_slice(&answer.bytes().await.unwrap()).unwrap();
    assert_eq!(
        body,
        json!({"errors": {
            "base": ["No permissions selected. Please choose at least one."],
            "colour": ["is not a permitted attribute"],
            "name": ["can't be blank"],
        }})
    );

    let answer = post("{\"name\": ".to_owned()).await.unwrap();
    assert_eq!(answer.status(), 400);
    let body: Value = serde_json::from_slice(&answer.bytes().await.unwrap()).unwrap();
    assert_eq!(body, json!({"error": "Bad Request"}));
    assert!(fake.tokens().is_empty());
}

#[tokio::test]
async fn values_the_client_accepts_but_the_fake_refuses_are_api_errors_with_field_errors() {
    let fake = MailtrapFake::start().await;
    let client = client(&fake);
    let tokens = client.api_tokens();

    // A resource type and an access level the crate keeps for forward
    // compatibility, which this service version refuses.
    let err = tokens
        .create(
            CreateApiToken::new("odd")
                .permission(ResourceType::Other("galaxy".into()), 1, AccessLevel::Admin)
                .permission(
                    ResourceType::Account,
                    fake.account_id(),
                    AccessLevel::Other(50),
                ),
        )
        .await
        .unwrap_err();
    let Error::Api(api) = &err else {
        panic!("expected Api, got {err:?}");
    };
    assert_eq!(api.status, 422);
    assert_eq!(
        api.field_errors["resources"],
        [
            "resource_type is not included in the list",
            "access_level is not included in the list"
        ]
    );
    assert_eq!(
        api.messages,
        [
            "resources: resource_type is not included in the list",
            "resources: access_level is not included in the list"
        ]
    );

    // An expiry an hour ahead for the client, in the past for the fake.
    fake.advance_clock(Duration::from_secs(2 * 3600));
    let err = tokens
        .create(request(&fake, "late").expires(Expiry::At(Utc::now() + TimeDelta::hours(1))))
        .await
        .unwrap_err();
    let Error::Api(api) = &err else {
        panic!("expected Api, got {err:?}");
    };
    assert_eq!(api.status, 422);
    assert_eq!(api.field_errors["expires_at"], ["must be in the future"]);
    assert_eq!(api.messages, ["expires_at: must be in the future"]);
    assert!(!err.is_retryable());

    // Under the published rule, a seeded token with an expiration cannot be
    // reset.
    fake.set_reset_rule(ResetRule::Published);
    let seeded = fake.insert_token(
        MailtrapTokenSeed::new("expiring").expires_at(fake.now() + TimeDelta::days(3)),
    );
    let err = tokens
        .reset(seeded_id(seeded_id(seeded.id)), Expiry::Never)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Api(ref a) if a.status == 422),
        "{err:?}"
    );
    assert_eq!(
        err.api_error().unwrap().field_errors["base"],
        ["Only a token without an expiration can be reset"]
    );

    assert_eq!(fake.tokens().len(), 1, "only the seeded token");
    assert_eq!(fake.requests().len(), 3, "a 422 is never repeated");
}

#[tokio::test]
async fn a_reset_with_an_expiry_gives_the_new_token_that_expiry() {
    let fake = MailtrapFake::start().await;
    let client = client(&fake);
    let tokens = client.api_tokens();
    let created = tokens.create(request(&fake, "rotating")).await.unwrap();
    // A whole second some months ahead, so that the test never ages out.
    let at =
        DateTime::<Utc>::from_timestamp((Utc::now() + TimeDelta::days(90)).timestamp(), 0).unwrap();
    let wire = at.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let reset = tokens.reset(created.id, Expiry::At(at)).await.unwrap();
    assert_eq!(reset.expires_at, Some(at));
    let held = fake.tokens();
    assert_eq!(
        held.iter().find(|t| t.id == reset.id).unwrap().expires_at,
        Some(at)
    );
    assert_eq!(
        fake.requests().last().unwrap().body,
        Some(json!({ "expires_at": wire }))
    );
}

/// Mailtrap today: a create that leaves `expires_at` out gets the
/// service's default lifetime (one year, rolling out), an explicit `null`
/// never expires. The fake once made the default never expire, so an
/// audit called every default token "never-expires". The list shows only
/// `expires_at`: a date (asked for, or the default) or `null` (never).
#[tokio::test]
async fn a_default_expiry_expires_in_a_year_and_audit_tells_it_from_never() {
    use api_tokens::lifecycle::{AuditPolicy, FindingKind, MailtrapLifecycle, audit};

    let fake = MailtrapFake::start().await;
    let tokens = client(&fake).api_tokens();
    let before = fake.now();
    let defaulted = tokens
        .create(request(&fake, "default").expires(Expiry::ServerDefault))
        .await
        .unwrap();
    let never = tokens
        .create(request(&fake, "never").expires(Expiry::Never))
        .await
        .unwrap();
    let after = fake.now();
    let lifetime_from = defaulted.expires_at.expect("the default lifetime") - TimeDelta::days(365);
    assert!(before <= lifetime_from && lifetime_from <= after);
    assert_eq!(never.expires_at, None);

    let lifecycle = MailtrapLifecycle::new(client(&fake));
    let report = audit(None, Some(&lifecycle), &AuditPolicy::new())
        .await
        .unwrap();
    let row = |id: mailtrap::TokenId| {
        report.services[0]
            .tokens
            .iter()
            .find(|t| t.id == id.to_string())
            .unwrap()
            .clone()
    };
    assert!(row(never.id).has(FindingKind::NeverExpires));
    assert!(!row(defaulted.id).has(FindingKind::NeverExpires));
    assert_eq!(row(defaulted.id).expires_at, defaulted.expires_at);
    assert_eq!(report.count(FindingKind::NeverExpires), 1);
    let shown = report.to_string();
    assert!(shown.contains("never expires"), "{shown}");
    // Within a window that reaches it, the default expiry is flagged.
    let wide = AuditPolicy::new().expiring_within(Duration::from_secs(400 * 86_400));
    let report = audit(None, Some(&lifecycle), &wide).await.unwrap();
    assert_eq!(report.count(FindingKind::Expiring), 1);

    // Configurable while the default rolls out: none, as before it.
    fake.set_default_expiry(None);
    let old_style = tokens.create(request(&fake, "before")).await.unwrap();
    assert_eq!(old_style.expires_at, None);
    let ninety = MailtrapFake::builder()
        .default_expiry(Some(Duration::from_secs(90 * 86_400)))
        .start()
        .await;
    let made = client(&ninety)
        .api_tokens()
        .create(request(&ninety, "ninety"))
        .await
        .unwrap();
    let days = (made.expires_at.unwrap() - ninety.now()).num_days();
    assert!((89..=90).contains(&days), "{days}");
}
