//! What a client's settings do on the wire, through the public builders: the
//! base URL's checks and prefix, the headers each request carries, a
//! customization that cannot turn redirects back on, and pacing per token
//! or per address as each service counts its limit.

use std::time::{Duration, Instant};

use api_tokens::secrecy::SecretString;
use api_tokens::{Error, Pacing, RetryPolicy, Stats, mailtrap, unit};
use serde_json::json;
use wiremock::matchers::{any, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const SECRET: &str = "v2.public.FAKE-SETTINGS-KEY.sig";
const JSON_API: &str = "application/vnd.api+json";

fn unit_client(base: &str) -> unit::ClientBuilder {
    unit::Client::builder()
        .token(SECRET)
        .base_url(base)
        .retry(RetryPolicy::disabled())
}

fn user() -> unit::UserId {
    "2".parse().expect("a user id")
}

/// A server answering every request with an empty Unit list.
async fn empty_lists() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_raw(r#"{"data":[]}"#, JSON_API))
        .mount(&server)
        .await;
    server
}

fn only_header<'r>(req: &'r Request, name: &str) -> Option<&'r str> {
    let values: Vec<_> = req.headers.get_all(name).iter().collect();
    assert!(values.len() <= 1, "{name} sent {} times", values.len());
    values.first().map(|v| v.to_str().expect("visible text"))
}

fn assert_invalid_base_url(built: Result<unit::Client, Error>, base: &str) -> Error {
    let err = built.expect_err(base);
    assert!(
        matches!(
            err,
            Error::Invalid {
                field: "base_url",
                ..
            }
        ),
        "{base}: {err}"
    );
    err
}

#[test]
fn plain_http_to_a_remote_host_is_refused_at_build() {
    for base in [
        "http://example.com/",
        "http://10.0.0.1:8080/prefix/",
        "http://[2001:db8::1]/",
        "http://localhost.example.com/",
    ] {
        let err = assert_invalid_base_url(unit_client(base).build(), base);
        assert!(err.to_string().contains("https"), "{err}");
    }
    for base in [
        "https://api.example.com/v1/",
        "https://api.s.unit.sh",
        "http://127.0.0.1:1/",
        "http://localhost:1/",
        "http://[::1]:1/",
    ] {
        let client = unit_client(base).build().expect(base);
        assert!(client.base_url().ends_with('/'), "{base}");
        assert_eq!(client.stats(), Stats::default(), "building sends nothing");
    }
}

#[test]
fn credentials_in_the_base_url_are_refused_and_not_echoed() {
    for base in [
        "https://me:hunter2pass@api.example.com/",
        "http://me:hunter2pass@127.0.0.1:9/",
        "https://hunter2pass@api.example.com/",
        "https://me:hunter2pass@exa mple.com/",
        "http://me:hunter2pass@example.com/",
    ] {
        let err = assert_invalid_base_url(unit_client(base).build(), base);
        let text = format!("{err} {err:?}");
        assert!(!text.contains("hunter2pass"), "{text}");
    }
}

#[tokio::test]
async fn base_path_prefix_is_kept() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/prefix/users/2/api-tokens"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(r#"{"data":[]}"#, JSON_API))
        .expect(2)
        .mount(&server)
        .await;
    for base in [
        format!("{}/prefix/", server.uri()),
        format!("{}/prefix", server.uri()),
    ] {
        let client = unit_client(&base).build().expect("client");
        let listed = client.org_api_tokens(user()).list().await.expect(&base);
        assert!(listed.is_empty(), "{base}");
    }
}

#[tokio::test]
async fn bearer_auth_is_sent_once_per_request_with_user_agent_and_extra_header() {
    let server = empty_lists().await;
    let client = unit_client(&server.uri())
        .user_agent_suffix("acme-rotator/1.2")
        .header("X-Extra", "yes")
        // Headers the crate sets itself win over extra headers of the same name.
        .header("Authorization", "Basic c29tZTpvdGhlcg==")
        .header("User-Agent", "impostor/0.0")
        .build()
        .expect("client");
    for _ in 0..2 {
        client.org_api_tokens(user()).list().await.expect("list");
    }

    let seen = server.received_requests().await.expect("recorded");
    assert_eq!(seen.len(), 2);
    for req in &seen {
        assert_eq!(
            only_header(req, "authorization"),
            Some(format!("Bearer {SECRET}").as_str())
        );
        assert_eq!(
            only_header(req, "user-agent"),
            Some(format!("api-tokens/{} acme-rotator/1.2", env!("CARGO_PKG_VERSION")).as_str())
        );
        assert_eq!(only_header(req, "x-extra"), Some("yes"));
        assert_eq!(only_header(req, "accept"), Some(JSON_API));
        assert_eq!(only_header(req, "api-token"), None);
    }
}

#[tokio::test]
async fn named_header_auth_is_sent_once_and_no_authorization_header() {
    const KEY: &str = "FAKE0named0header0key";
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    let client = mailtrap::Client::builder()
        .token(KEY)
        .base_url(server.uri())
        .retry(RetryPolicy::disabled())
        .header("Api-Token", "not-the-token")
        .build()
        .expect("client");
    let request = mailtrap::CreateApiToken::new("ci").permission(
        mailtrap::ResourceType::Account,
        3229,
        mailtrap::AccessLevel::Admin,
    );
    // The answer is no token: only what was sent matters here.
    let _ = client.api_tokens().create(request).await;
    client.api_tokens().list().await.expect("list");

    let seen = server.received_requests().await.expect("recorded");
    assert_eq!(seen.len(), 2);
    for req in &seen {
        assert_eq!(only_header(req, "api-token"), Some(KEY));
        assert!(req.headers.get("authorization").is_none(), "{req:?}");
    }
    assert_eq!(
        only_header(&seen[0], "content-type"),
        Some("application/json")
    );
    let sent: serde_json::Value = serde_json::from_slice(&seen[0].body).expect("a JSON body");
    assert_eq!(sent["name"], "ci");
    assert_eq!(only_header(&seen[1], "content-type"), None);
}

#[tokio::test]
async fn user_agent_without_suffix_is_the_crate_and_version() {
    let server = empty_lists().await;
    let client = unit_client(&server.uri()).build().expect("client");
    client.org_api_tokens(user()).list().await.expect("list");
    let seen = server.received_requests().await.expect("recorded");
    assert_eq!(
        only_header(&seen[0], "user-agent"),
        Some(format!("api-tokens/{}", env!("CARGO_PKG_VERSION")).as_str())
    );
}

/// A customization that turns redirects back on is overridden: the crate's
/// client never follows one, so the named header never travels.
#[tokio::test]
async fn a_customized_client_still_never_follows_a_redirect() {
    let (origin, elsewhere) = crate::redirects::redirecting_pair().await;
    let client = mailtrap::Client::builder()
        .token("FAKE0settings0key")
        .base_url(origin.uri())
        .customize_http_client(|b| b.redirect(api_tokens::reqwest::redirect::Policy::limited(5)))
        .build()
        .expect("client");
    let err = client.api_tokens().list().await.expect_err("a redirect");
    assert!(
        matches!(err, Error::Redirect { status: 307, .. }),
        "{err:?}"
    );
    assert!(
        elsewhere
            .received_requests()
            .await
            .expect("recorded")
            .is_empty()
    );
}

/// Mailtrap counts its limit per token: a client with another token is
/// paced on its own. Unit counts per address: every token of a client
/// shares one pacer, so the other token's call waits for the slot.
#[tokio::test]
async fn each_service_paces_per_token_or_per_address_as_it_counts() {
    const WINDOW: Duration = Duration::from_millis(400);
    let pacing = Pacing::limit(1, WINDOW);
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/api_tokens"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/users/2/api-tokens"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(r#"{"data":[]}"#, JSON_API))
        .mount(&server)
        .await;
    let other = || SecretString::from("FAKE0other0token0key");

    let mt = mailtrap::Client::builder()
        .token("FAKE0settings0key")
        .base_url(server.uri())
        .pacing(pacing)
        .build()
        .expect("mailtrap client");
    let unit = unit_client(&server.uri())
        .pacing(pacing)
        .build()
        .expect("unit client");

    mt.api_tokens().list().await.expect("first list");
    let started = Instant::now();
    let again = mt.with_token(other()).expect("another token");
    again.api_tokens().list().await.expect("second list");
    let mailtrap_wait = started.elapsed();

    unit.org_api_tokens(user())
        .list()
        .await
        .expect("first list");
    let started = Instant::now();
    let again = unit.with_token(other()).expect("another token");
    again
        .org_api_tokens(user())
        .list()
        .await
        .expect("second list");
    let unit_wait = started.elapsed();

    assert!(mailtrap_wait < WINDOW / 2, "Mailtrap: {mailtrap_wait:?}");
    assert!(unit_wait >= WINDOW / 2, "Unit: {unit_wait:?}");
}
