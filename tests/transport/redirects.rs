//! Redirects are never followed, whatever the call and wherever the token
//! goes: a redirect is a typed error, made once, and the other origin never
//! sees the credential; a client of the user's own that follows redirects
//! gets the other origin's answer refused all the same.

use std::time::Duration;

use api_tokens::{Error, RetryPolicy, mailtrap, reqwest, unit};
use chrono::Utc;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

const UNIT_KEY: &str = "v2.public.FAKE-REDIRECT-KEY.sig";
const MAILTRAP_KEY: &str = "FAKE0redirect0key0r3d1";

/// A server that sends every request elsewhere (307), and the elsewhere,
/// which answers anything.
pub(crate) async fn redirecting_pair() -> (MockServer, MockServer) {
    let elsewhere = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
        .mount(&elsewhere)
        .await;
    let origin = MockServer::start().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(307)
                .insert_header("Location", format!("{}/collect", elsewhere.uri()).as_str()),
        )
        .mount(&origin)
        .await;
    (origin, elsewhere)
}

fn retrying() -> RetryPolicy {
    RetryPolicy::default().initial_backoff(Duration::from_millis(1))
}

fn unit_at(base: &str) -> unit::ClientBuilder {
    unit::Client::builder()
        .token(UNIT_KEY)
        .base_url(base)
        .retry(retrying())
}

fn mailtrap_at(base: &str) -> mailtrap::ClientBuilder {
    mailtrap::Client::builder()
        .token(MAILTRAP_KEY)
        .base_url(base)
        .retry(retrying())
}

/// Formats an error with `{}` and `{:?}`, its whole source chain included.
fn printed(err: &Error) -> String {
    let mut text = format!("{err} {err:?}");
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        text.push_str(&format!(" {s} {s:?}"));
        source = s.source();
    }
    text
}

/// The calls of either dialect that read, mint and delete, each made once
/// against `base`: what it ended in, and the requests each client sent.
async fn every_call(base: &str) -> Vec<(&'static str, Result<(), Error>, u64)> {
    let unit = unit_at(base).build().expect("unit client");
    let tokens = unit.org_api_tokens("2".parse().expect("user"));
    let request = unit::CreateApiToken::new(
        "ci",
        [unit::Scope::Customers],
        Utc::now() + chrono::Duration::days(1),
    );
    let mt = mailtrap_at(base).build().expect("mailtrap client");
    let id = || mailtrap::TokenId::new(7).expect("an id");
    let mt_request = mailtrap::CreateApiToken::new("ci").permission(
        mailtrap::ResourceType::Account,
        3229,
        mailtrap::AccessLevel::Admin,
    );
    let mut ended = Vec::new();
    let requests = |c: &unit::Client| c.stats().requests;
    let before = requests(&unit);
    ended.push((
        "unit list",
        tokens.list().await.map(drop),
        requests(&unit) - before,
    ));
    let before = requests(&unit);
    ended.push((
        "unit create",
        tokens.create(request).await.map(drop),
        requests(&unit) - before,
    ));
    let before = requests(&unit);
    let revoked = tokens.revoke(&"19".parse().expect("token id")).await;
    ended.push(("unit revoke", revoked.map(drop), requests(&unit) - before));
    let sent = |c: &mailtrap::Client| c.stats().requests;
    let before = sent(&mt);
    ended.push((
        "mailtrap list",
        mt.api_tokens().list().await.map(drop),
        sent(&mt) - before,
    ));
    let before = sent(&mt);
    let created = mt.api_tokens().create(mt_request).await;
    ended.push(("mailtrap create", created.map(drop), sent(&mt) - before));
    let before = sent(&mt);
    ended.push((
        "mailtrap delete",
        mt.api_tokens().delete(id()).await,
        sent(&mt) - before,
    ));
    ended
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_is_a_typed_error() {
    let (origin, elsewhere) = redirecting_pair().await;
    let ended = every_call(&origin.uri()).await;
    for (call, result, requests) in &ended {
        let err = result.as_ref().expect_err(call);
        match err {
            Error::Redirect { status, location } => {
                assert_eq!(*status, 307, "{call}");
                assert_eq!(
                    location.as_deref(),
                    Some(format!("{}/collect", elsewhere.uri()).as_str()),
                    "{call}"
                );
            }
            other => panic!("{call}: {other:?}"),
        }
        assert_eq!(err.status(), Some(307), "{call}");
        assert!(!err.is_retryable(), "{call}");
        assert_eq!(*requests, 1, "{call}: a redirect is not retried");
        let text = printed(err);
        assert!(
            !text.contains(UNIT_KEY) && !text.contains(MAILTRAP_KEY),
            "{text}"
        );
    }
    assert_eq!(
        origin.received_requests().await.expect("recorded").len(),
        ended.len()
    );
    assert!(
        elsewhere
            .received_requests()
            .await
            .expect("recorded")
            .is_empty(),
        "the other server was reached"
    );
}

/// A client the user brings that follows redirects itself: the answer from
/// the other origin is refused all the same. What that origin saw depends on
/// the client's own policy: reqwest drops `Authorization` when the host or
/// port changes, but keeps any other header — so a named-header token does
/// travel. This is why `http_client` asks for `Policy::none()`.
#[tokio::test]
async fn a_user_client_that_follows_redirects_gets_its_answer_refused() {
    for (bearer, leaked) in [(true, None), (false, Some(MAILTRAP_KEY))] {
        let (origin, elsewhere) = redirecting_pair().await;
        let uri = origin.uri();
        let err = if bearer {
            let client = unit_at(&uri).http_client(reqwest::Client::new()).build();
            let tokens = client
                .expect("client")
                .org_api_tokens("2".parse().expect("user"));
            tokens.list().await.map(drop)
        } else {
            let client = mailtrap_at(&uri)
                .http_client(reqwest::Client::new())
                .build();
            client.expect("client").api_tokens().list().await.map(drop)
        }
        .expect_err("refused");
        match &err {
            Error::Redirect { status, location } => {
                assert_eq!(*status, 200, "the other origin's answer");
                assert_eq!(
                    location.as_deref(),
                    Some(format!("{}/collect", elsewhere.uri()).as_str())
                );
            }
            other => panic!("bearer {bearer}: {other:?}"),
        }
        let seen = elsewhere.received_requests().await.expect("recorded");
        assert_eq!(seen.len(), 1, "the client followed the redirect");
        assert!(seen[0].headers.get("authorization").is_none());
        let api_token = seen[0]
            .headers
            .get("api-token")
            .map(|v| v.to_str().expect("text"));
        assert_eq!(api_token, leaked);
        let text = printed(&err);
        assert!(
            !text.contains(UNIT_KEY) && !text.contains(MAILTRAP_KEY),
            "{text}"
        );
    }
}
