//! Every request the Mailtrap dialect sends, checked against the contract
//! (`mailtrap-api-tokens.openapi.yaml`) by a Prism mock started with
//! `--errors`: a request that breaks the contract is answered 422 (with an
//! `sl-violations` header and the violation in Prism's log), so each call
//! here must succeed.
//!
//! Run with Prism listening and its URL in `API_TOKENS_PRISM_MAILTRAP_URL`:
//!
//! ```text
//! prism mock --errors -p 4011 mailtrap-api-tokens.openapi.yaml &
//! API_TOKENS_PRISM_MAILTRAP_URL=http://127.0.0.1:4011 cargo test --test mailtrap_contract -- --ignored
//! ```

use api_tokens::mailtrap::{
    self, AccessLevel, CreateApiToken, Expiry, NewApiToken, ResourceType, TokenId,
};
use api_tokens::secrecy::ExposeSecret;
use api_tokens::{AuthScheme, Error, RetryPolicy};
use chrono::{Duration, SubsecRound, Utc};

const KEY: &str = "FAKE0contract0key0not0real";

fn prism_url() -> String {
    match std::env::var("API_TOKENS_PRISM_MAILTRAP_URL") {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "API_TOKENS_PRISM_MAILTRAP_URL is not set: start `prism mock --errors -p 4011 \
             mailtrap-api-tokens.openapi.yaml` and set it to http://127.0.0.1:4011"
        ),
    }
}

fn client(auth: AuthScheme) -> mailtrap::Client {
    mailtrap::Client::builder()
        .token(KEY)
        .account_id(3229)
        .base_url(prism_url())
        .auth_scheme(auth)
        .retry(RetryPolicy::disabled())
        .build()
        .expect("client")
}

fn schemes() -> [AuthScheme; 2] {
    [
        AuthScheme::header("Api-Token").expect("header name"),
        AuthScheme::Bearer,
    ]
}

/// Unwraps a call Prism must accept, explaining a contract violation.
fn accepted<T>(what: &str, auth: &AuthScheme, result: api_tokens::Result<T>) -> T {
    match result {
        Ok(value) => value,
        Err(err @ Error::Api(_)) if err.status() == Some(422) => panic!(
            "{what} ({auth:?}) breaks the contract: Prism answered 422; its log and the \
             sl-violations header say which rule: {err}"
        ),
        Err(err) => panic!("{what} ({auth:?}) failed: {err:?}"),
    }
}

fn assert_new(what: &str, new: &NewApiToken) {
    assert!(new.id.get() > 0, "{what}: id");
    assert!(!new.token.expose_secret().is_empty(), "{what}: token");
    assert!(!new.permissions.is_empty(), "{what}: permissions");
}

fn in_days(days: i64) -> Expiry {
    Expiry::At((Utc::now() + Duration::days(days)).trunc_subsecs(0))
}

#[tokio::test]
#[ignore = "needs a Prism mock of the Mailtrap contract; .ci/run starts one"]
async fn list_and_get_follow_the_contract() {
    for auth in schemes() {
        let mt = client(auth.clone());
        let all = accepted("list", &auth, mt.api_tokens().list().await);
        assert!(!all.is_empty(), "the contract's example lists one token");
        let one = accepted("get", &auth, mt.api_tokens().get(all[0].id).await);
        assert_eq!(one.id, all[0].id);
        assert_eq!(one.permissions[0].access_level, AccessLevel::Admin);
    }
}

#[tokio::test]
#[ignore = "needs a Prism mock of the Mailtrap contract; .ci/run starts one"]
async fn create_follows_the_contract_in_every_variant() {
    let expiries = [
        ("server default", Expiry::ServerDefault),
        ("never", Expiry::Never),
        ("a moment", in_days(30)),
        (
            "a moment with sub-seconds",
            Expiry::At(Utc::now() + Duration::days(365)),
        ),
    ];
    for auth in schemes() {
        let mt = client(auth.clone());
        for (label, expiry) in expiries {
            let request = CreateApiToken::new(format!("contract {label}"))
                .permission(ResourceType::Account, 3229, AccessLevel::Admin)
                .expires(expiry);
            let new = accepted(
                &format!("create, expiry {label}"),
                &auth,
                mt.api_tokens().create(request).await,
            );
            assert_new(label, &new);
        }

        // Integer and string resource ids, every known resource type and
        // both access levels.
        let request = CreateApiToken::new("contract resources")
            .permission(ResourceType::Account, 3229, AccessLevel::Viewer)
            .permission(ResourceType::Project, 4242, AccessLevel::Admin)
            .permission(ResourceType::Sandbox, "1849607", AccessLevel::Viewer)
            .permission(ResourceType::Domain, "d-7f3a9c", AccessLevel::Admin)
            .permission(ResourceType::Inbox, 1_204_511, AccessLevel::Viewer)
            .permission(ResourceType::SendingDomain, "88210", AccessLevel::Admin);
        let new = accepted(
            "create, mixed resources",
            &auth,
            mt.api_tokens().create(request).await,
        );
        assert_new("mixed resources", &new);

        let longest = CreateApiToken::new("é".repeat(255)).permission(
            ResourceType::Account,
            3229,
            AccessLevel::Viewer,
        );
        accepted(
            "create, 255-character name",
            &auth,
            mt.api_tokens().create(longest).await,
        );
    }
}

#[tokio::test]
#[ignore = "needs a Prism mock of the Mailtrap contract; .ci/run starts one"]
async fn reset_follows_the_contract_in_every_variant() {
    for auth in schemes() {
        let mt = client(auth.clone());
        for (label, expiry) in [
            ("server default (no body)", Expiry::ServerDefault),
            ("never", Expiry::Never),
            ("a moment", in_days(90)),
        ] {
            let rotated = accepted(
                &format!("reset, expiry {label}"),
                &auth,
                mt.api_tokens().reset(TokenId::new(12345), expiry).await,
            );
            assert_new(label, &rotated);
            assert_ne!(rotated.id, TokenId::new(12345), "reset gives a new id");
        }
    }
}

#[tokio::test]
#[ignore = "needs a Prism mock of the Mailtrap contract; .ci/run starts one"]
async fn delete_follows_the_contract() {
    for auth in schemes() {
        let mt = client(auth.clone());
        accepted("delete", &auth, mt.api_tokens().delete(12345).await);
    }
}

#[tokio::test]
#[ignore = "needs a Prism mock of the Mailtrap contract; .ci/run starts one"]
async fn the_mock_does_refuse_what_the_contract_forbids() {
    // A resource type the contract does not list: kept by the crate for
    // forward compatibility, refused by this version of the contract. This
    // shows the checks above can fail.
    let mt = client(AuthScheme::Bearer);
    let err = mt
        .api_tokens()
        .create(CreateApiToken::new("x").permission(
            ResourceType::Other("billing_profile".into()),
            1,
            AccessLevel::Admin,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(422), "{err:?}");
    assert!(matches!(err, Error::Api(_)));
}
