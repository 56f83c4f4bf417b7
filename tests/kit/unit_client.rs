//! The Unit fake driven through this crate's own `unit::Client`: every step
//! of the lifecycle checked against both the client's results and the fake's
//! state, credentials minted by the fake used as credentials, and the
//! service-shaped errors for bad credentials and bad bodies.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use api_tokens::testing::{RevokeAnswer, UnitFake, UnitTokenSeed};
use api_tokens::unit::{self, CreateApiToken, ResourceRestriction, Scope, SourceIp};
use api_tokens::{Error, RetryPolicy, Service};
use chrono::{TimeDelta, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

fn fast_retries() -> RetryPolicy {
    RetryPolicy::default().initial_backoff(Duration::from_millis(10))
}

/// A client pointed at the fake with the given credential.
fn client_with(fake: &UnitFake, token: SecretString) -> unit::Client {
    unit::Client::builder()
        .token(token)
        .base_url(fake.uri())
        .retry(fast_retries())
        .build()
        .unwrap()
}

/// A client pointed at the fake with the credential the fake accepts.
fn client(fake: &UnitFake) -> unit::Client {
    client_with(fake, fake.token().clone())
}

fn request(description: &str) -> CreateApiToken {
    CreateApiToken::new(
        description,
        [Scope::Customers, Scope::Applications],
        Utc::now() + TimeDelta::days(30),
    )
}

/// The user the fake serves.
fn user_of(fake: &UnitFake) -> unit::UserId {
    fake.user_id()
}

fn user(id: u64) -> unit::UserId {
    unit::UserId::try_from(id).expect("a valid user id")
}

/// Every text a value can be shown as, to search for a secret.
fn shown<T: std::fmt::Debug>(value: &T) -> String {
    format!("{value:?} {value:#?}")
}

#[tokio::test]
async fn create_list_revoke_list_through_the_client() {
    let fake = UnitFake::start().await;
    let client = client(&fake);
    let tokens = client.org_api_tokens(user_of(&fake));

    // Create: the secret comes back once and is the one the fake holds.
    let created = tokens
        .create(
            request("CI deploy")
                .source_ip("192.168.1.1".parse::<IpAddr>().unwrap())
                .resources([ResourceRestriction::accounts(["10005"])]),
        )
        .await
        .unwrap();
    let secret = created.token.expose_secret().to_owned();
    assert!(secret.starts_with("v2.public."), "a Unit-shaped secret");
    assert_ne!(secret, fake.token().expose_secret());
    assert!(!shown(&created).contains(&secret));
    assert!(!created.to_string().contains(&secret));

    let held = fake.tokens();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].id, created.id);
    assert_eq!(held[0].secret.expose_secret(), secret);
    assert_eq!(held[0].description, "CI deploy");
    assert_eq!(held[0].scopes, [Scope::Customers, Scope::Applications]);
    assert_eq!(
        held[0].source_ips,
        [SourceIp::Addr(Ipv4Addr::new(192, 168, 1, 1).into())]
    );
    assert_eq!(
        held[0].resources,
        Some(vec![ResourceRestriction::accounts([10005_u64])])
    );
    assert_eq!(held[0], created.details);
    assert_eq!(created.description.as_deref(), Some("CI deploy"));
    assert_eq!(created.expiration, Some(held[0].expiration));
    assert_eq!(created.created_at, held[0].created_at);
    assert_eq!(
        created.source_ips,
        [SourceIp::Addr("192.168.1.1".parse().unwrap())]
    );

    // List: the same token, without its secret.
    let listed = tokens.list().await.unwrap();
    assert_eq!(listed, [created.without_secret()]);
    assert!(!shown(&listed).contains(&secret));
    // …and the secret is not on the wire either.
    let raw = reqwest::Client::new()
        .get(format!(
            "{}/users/{}/api-tokens",
            fake.uri(),
            fake.user_id()
        ))
        .bearer_auth(fake.token().expose_secret())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(raw.contains(created.id.as_str()));
    assert!(!raw.contains(&secret), "list never carries a secret");
    assert!(!raw.contains("\"token\""));

    // Revoke: the fake forgets it and answers with the token as it was.
    let revoked = tokens.revoke(&created.id).await.unwrap();
    assert_eq!(revoked, Some(created.without_secret()));
    assert!(fake.tokens().is_empty());

    // List: empty.
    assert!(tokens.list().await.unwrap().is_empty());

    // Revoke again: the service's 404, as NotFound with its message.
    let again = tokens.revoke(&created.id).await.unwrap_err();
    let Error::NotFound(api) = &again else {
        panic!("expected NotFound, got {again:?}");
    };
    assert_eq!(api.service, Service::Unit);
    assert_eq!(api.status, 404);
    assert_eq!(
        api.messages,
        [format!("Not Found: API token {} not found", created.id)]
    );
    assert_eq!(api.errors[0].code.as_deref(), Some("not_found"));

    // Every step reached the fake exactly once, in order.
    let log: Vec<(Option<&str>, Option<u16>)> = fake
        .requests()
        .iter()
        .map(|r| (r.operation, r.status))
        .collect();
    assert_eq!(
        log,
        [
            (Some("create"), Some(201)),
            (Some("list"), Some(200)),
            (Some("list"), Some(200)),
            (Some("revoke"), Some(200)),
            (Some("list"), Some(200)),
            (Some("revoke"), Some(404)),
        ]
    );
    assert_eq!(client.stats().retries, 0);
}

#[tokio::test]
async fn every_shape_of_revoke_answer_decodes() {
    let fake = UnitFake::start().await;
    let client = client(&fake);
    let tokens = client.org_api_tokens(user_of(&fake));
    for answer in [
        RevokeAnswer::Null,
        RevokeAnswer::NoContent,
        RevokeAnswer::Token,
    ] {
        fake.set_revoke_answer(answer);
        let created = tokens.create(request("rotating")).await.unwrap();
        assert_eq!(fake.tokens().len(), 1);
        let revoked = tokens.revoke(&created.id).await.unwrap();
        match answer {
            RevokeAnswer::Token => assert_eq!(revoked, Some(created.without_secret())),
            _ => assert_eq!(revoked, None, "{answer:?}"),
        }
        assert!(fake.tokens().is_empty(), "{answer:?}");
    }
}

#[tokio::test]
async fn a_minted_token_is_a_credential_until_revoked() {
    let fake = UnitFake::start().await;
    let admin = client(&fake);
    let admin_tokens = admin.org_api_tokens(user_of(&fake));
    let created = admin_tokens.create(request("worker")).await.unwrap();

    // The new secret works on its own.
    let worker = client_with(&fake, created.token.clone());
    let worker_tokens = worker.org_api_tokens(user_of(&fake));
    let seen = worker_tokens.list().await.unwrap();
    assert_eq!(seen, [created.without_secret()]);
    let child = worker_tokens.create(request("child")).await.unwrap();
    assert_eq!(fake.tokens().len(), 2);

    // Revoked, it is refused with the service's 401.
    admin_tokens.revoke(&created.id).await.unwrap();
    let err = worker_tokens.list().await.unwrap_err();
    let Error::Unauthorized(api) = &err else {
        panic!("expected Unauthorized, got {err:?}");
    };
    assert_eq!(api.status, 401);
    assert_eq!(
        api.messages,
        ["Unauthorized: The bearer token is invalid or expired"]
    );
    assert!(!format!("{err} {err:?}").contains(created.token.expose_secret()));
    let log = fake.requests();
    assert_eq!(log.last().unwrap().status, Some(401));

    // The token it made is untouched.
    assert_eq!(fake.tokens().len(), 1);
    assert_eq!(fake.tokens()[0].id, child.id.as_str());
}

#[tokio::test]
async fn an_expired_token_is_refused_as_unauthorized() {
    let fake = UnitFake::start().await;
    let seeded = fake.insert_token(
        UnitTokenSeed::new("short-lived").expiration(Utc::now() + TimeDelta::hours(1)),
    );
    let holder = client_with(&fake, seeded.secret.clone());
    let tokens = holder.org_api_tokens(user_of(&fake));
    assert_eq!(tokens.list().await.unwrap().len(), 1);

    fake.advance_clock(Duration::from_secs(2 * 3600));
    let err = tokens.list().await.unwrap_err();
    assert!(matches!(err, Error::Unauthorized(_)), "{err:?}");
    // Still held by the fake: expiry is not removal.
    assert_eq!(fake.tokens().len(), 1);
}

#[tokio::test]
async fn a_wrong_token_is_unauthorized_with_the_service_message() {
    let fake = UnitFake::start().await;
    let wrong = client_with(
        &fake,
        SecretString::from("v2.public.not-the-fakes-token.sig"),
    );
    let tokens = wrong.org_api_tokens(user_of(&fake));

    let err = tokens.create(request("never")).await.unwrap_err();
    let Error::Unauthorized(api) = &err else {
        panic!("expected Unauthorized, got {err:?}");
    };
    assert_eq!(api.service, Service::Unit);
    assert_eq!(
        api.messages,
        ["Unauthorized: The bearer token is invalid or expired"]
    );
    assert_eq!(api.errors.len(), 1);
    assert_eq!(api.errors[0].status.as_deref(), Some("401"));
    assert!(fake.tokens().is_empty(), "nothing was minted");

    for err in [
        tokens.list().await.unwrap_err(),
        tokens.revoke(&"1".parse().unwrap()).await.unwrap_err(),
    ] {
        assert!(matches!(err, Error::Unauthorized(_)), "{err:?}");
        assert!(!err.is_retryable());
    }
    // A 401 is never repeated.
    assert_eq!(fake.requests().len(), 3);
    assert_eq!(wrong.stats().retries, 0);
}

#[tokio::test]
async fn another_user_is_not_found() {
    let fake = UnitFake::builder()
        .user_id("77".parse().unwrap())
        .start()
        .await;
    let client = client(&fake);
    let err = client.org_api_tokens(user(78)).list().await.unwrap_err();
    let Error::NotFound(api) = &err else {
        panic!("expected NotFound, got {err:?}");
    };
    assert_eq!(api.messages, ["Not Found: User 78 not found"]);
    assert!(
        client
            .org_api_tokens(user(77))
            .list()
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_bad_body_sent_raw_gets_a_json_api_400() {
    let fake = UnitFake::start().await;
    let answer = reqwest::Client::new()
        .post(format!("{}/users/{}/api-tokens", fake.uri(), fake.user_id()))
        .bearer_auth(fake.token().expose_secret())
        .header("content-type", "application/vnd.api+json")
        .body(
            json!({"data": {"type": "apiToken", "attributes": {
                "description": "", "scope": "Customers", "expiration": "tomorrow", "colour": "red"}}})
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    assert_eq!(answer.headers()["content-type"], "application/vnd.api+json");
    let body: Value = serde_json::from_slice(&answer.bytes().await.unwrap()).unwrap();
    let mut pointers: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["source"]["pointer"].as_str().unwrap())
        .collect();
    pointers.sort_unstable();
    assert_eq!(
        pointers,
        [
            "/data/attributes/colour",
            "/data/attributes/description",
            "/data/attributes/expiration",
            "/data/attributes/scope",
        ]
    );
    assert!(
        body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["status"] == "400")
    );
    assert!(fake.tokens().is_empty());
}

#[tokio::test]
async fn a_body_the_client_accepts_but_the_fake_refuses_is_an_api_error_with_field_errors() {
    let fake = UnitFake::start().await;
    let client = client(&fake);
    let tokens = client.org_api_tokens(user_of(&fake));

    // In the client's eyes the expiration is an hour ahead; the fake's
    // clock is two hours ahead, so for the service it is in the past.
    fake.advance_clock(Duration::from_secs(2 * 3600));
    let err = tokens
        .create(CreateApiToken::new(
            "late",
            [Scope::Customers],
            Utc::now() + TimeDelta::hours(1),
        ))
        .await
        .unwrap_err();
    let Error::Api(api) = &err else {
        panic!("expected Api, got {err:?}");
    };
    assert_eq!(api.status, 400);
    assert_eq!(
        api.field_errors.get("expiration").map(Vec::as_slice),
        Some(&["`expiration` must be in the future".to_owned()][..])
    );
    assert_eq!(
        api.messages,
        ["Bad Request: `expiration` must be in the future [at /data/attributes/expiration]"]
    );
    assert_eq!(
        api.errors[0].source_pointer.as_deref(),
        Some("/data/attributes/expiration")
    );
    assert_eq!(api.errors[0].code.as_deref(), Some("invalid_value"));
    assert!(!err.is_retryable());
    assert!(fake.tokens().is_empty());
    assert_eq!(fake.requests().len(), 1, "a 400 is not repeated");
}

#[tokio::test]
async fn an_unknown_scope_reaches_the_fake_and_is_kept() {
    let fake = UnitFake::start().await;
    let client = client(&fake);
    let created = client
        .org_api_tokens(user_of(&fake))
        .create(request("future").scope(Scope::Other("loans-write".into())))
        .await
        .unwrap();
    assert_eq!(
        fake.tokens()[0].scopes,
        [
            Scope::Customers,
            Scope::Applications,
            Scope::Other("loans-write".into())
        ]
    );
    assert_eq!(fake.tokens()[0].id, created.id);
}
