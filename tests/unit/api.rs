//! Unit Org API tokens against a loopback server: every operation, every
//! fixture, the exact request sent and the decoded result or error.

use std::net::IpAddr;
use std::time::Duration;

use api_tokens::secrecy::{ExposeSecret, SecretString};
use api_tokens::unit::{
    self, ApiToken, CreateApiToken, ResourceRestriction, Scope, SourceIp, TokenId, UserId,
};
use api_tokens::{Error, RetryPolicy, Service};
use chrono::{DateTime, Duration as Span, Timelike, Utc};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// The key the tests authenticate with (fake).
const ADMIN_KEY: &str = "v2.public.FAKE-ADMIN-KEY-for-tests-only.sig";
/// The secret in the create fixture (fake).
const FIXTURE_SECRET: &str = "v2.public.FAKE-FIXTURE-TOKEN-not-a-real-secret.sig";
const MEDIA_TYPE: &str = "application/vnd.api+json";

/// Reads `fixtures/unit/<name>.json`.
fn fixture(name: &str) -> Value {
    let file = format!("{}/fixtures/unit/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// The fixture's response as a wiremock answer.
fn answer(fx: &Value) -> ResponseTemplate {
    let resp = &fx["response"];
    let status = resp["status"].as_u64().expect("status") as u16;
    let mut template = ResponseTemplate::new(status);
    let mut content_type = MEDIA_TYPE.to_owned();
    if let Some(headers) = resp["headers"].as_object() {
        for (name, value) in headers {
            let value = value.as_str().expect("header value");
            if name == "content-type" {
                content_type = value.to_owned();
            } else {
                template = template.insert_header(name.as_str(), value);
            }
        }
    }
    if let Some(text) = resp["body_text"].as_str() {
        template = template.set_body_raw(text.as_bytes().to_vec(), &content_type);
    } else if !resp["body"].is_null() {
        template = template.set_body_raw(resp["body"].to_string().into_bytes(), &content_type);
    }
    template
}

/// Mounts the fixture on its method and path and gives it back.
async fn mount(server: &MockServer, name: &str) -> Value {
    let fx = fixture(name);
    let m = fx["request"]["method"].as_str().expect("method").to_owned();
    let p = fx["request"]["path"].as_str().expect("path").to_owned();
    Mock::given(method(m.as_str()))
        .and(path(p.as_str()))
        .respond_with(answer(&fx))
        .mount(server)
        .await;
    fx
}

fn client_with(server: &MockServer, retry: RetryPolicy) -> unit::Client {
    unit::Client::builder()
        .token(SecretString::from(ADMIN_KEY))
        .base_url(server.uri())
        .retry(retry)
        .build()
        .expect("client")
}

fn client(server: &MockServer) -> unit::Client {
    client_with(server, RetryPolicy::disabled())
}

/// A policy that repeats quickly, for tests that count attempts.
fn quick_retries(attempts: u32) -> RetryPolicy {
    RetryPolicy::default()
        .max_attempts(attempts)
        .initial_backoff(Duration::from_millis(1))
        .max_backoff(Duration::from_millis(2))
}

async fn only_request(server: &MockServer) -> Request {
    let mut requests = server.received_requests().await.expect("recording on");
    assert_eq!(requests.len(), 1, "expected exactly one request");
    requests.remove(0)
}

fn header<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.headers
        .get(name)
        .map(|v| v.to_str().expect("ascii header"))
}

/// Asserts method, path, auth, accept, content type and body of a request.
fn assert_request(req: &Request, verb: &str, expected_path: &str, body: Option<&Value>) {
    assert_eq!(req.method.as_str(), verb);
    assert_eq!(req.url.path(), expected_path);
    assert_eq!(req.url.query(), None);
    assert_eq!(
        header(req, "authorization"),
        Some(format!("Bearer {ADMIN_KEY}").as_str())
    );
    assert_eq!(header(req, "accept"), Some(MEDIA_TYPE));
    match body {
        Some(expected) => {
            assert_eq!(header(req, "content-type"), Some(MEDIA_TYPE));
            let sent: Value = serde_json::from_slice(&req.body).expect("JSON body");
            assert_eq!(&sent, expected);
        }
        None => {
            assert_eq!(header(req, "content-type"), None);
            assert!(req.body.is_empty(), "no body expected");
        }
    }
}

fn time(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("fixture time")
        .with_timezone(&Utc)
}

fn wire_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

/// The user every fixture is about.
fn user() -> UserId {
    UserId::try_from(2_u64).expect("a valid user id")
}

fn token_id(s: &str) -> TokenId {
    s.parse().expect("a valid token id")
}

/// A future expiration with sub-millisecond digits, to see them cut.
fn future() -> DateTime<Utc> {
    (Utc::now() + Span::days(90))
        .with_nanosecond(123_456_789)
        .expect("nanos")
}

/// The create request the `create_201` fixture shows, with `expiration`.
fn fixture_request(expiration: DateTime<Utc>) -> CreateApiToken {
    CreateApiToken::new(
        "CI deploy",
        [Scope::Customers, Scope::Applications, Scope::CardsWrite],
        expiration,
    )
    .source_ips([ip("192.168.1.1").into(), ip("10.20.30.40").into()])
    .resources([ResourceRestriction::cards(["10001", "10002"])])
}

/// The fixture's request body with `expiration` as the crate must write it.
fn expected_body(fx: &Value, expiration: DateTime<Utc>) -> Value {
    let mut body = fx["request"]["body"].clone();
    body["data"]["attributes"]["expiration"] = Value::String(wire_time(expiration));
    body
}

/// A 2xx to a create that could not be read leaves the outcome unknown:
/// the cause inside it.
fn unknown_create(err: &Error) -> &Error {
    match err {
        Error::OutcomeUnknown { operation, cause } => {
            assert_eq!(*operation, "create");
            assert!(!err.is_retryable());
            cause
        }
        other => panic!("expected OutcomeUnknown, got {other:?}"),
    }
}

fn assert_no_secret(text: &str) {
    assert!(!text.contains(FIXTURE_SECRET), "secret leaked: {text}");
    assert!(!text.contains(ADMIN_KEY), "admin key leaked: {text}");
    assert!(
        !text.contains("FAKE-FIXTURE-TOKEN"),
        "secret leaked: {text}"
    );
}

// ---------------------------------------------------------------- create

#[tokio::test]
async fn create_201_sends_the_document_and_returns_the_secret() {
    let server = MockServer::start().await;
    let fx = mount(&server, "create_201").await;
    let expiration = future();

    let created = client(&server)
        .org_api_tokens(user())
        .create(fixture_request(expiration))
        .await
        .expect("created");

    let req = only_request(&server).await;
    assert_request(
        &req,
        "POST",
        "/users/2/api-tokens",
        Some(&expected_body(&fx, expiration)),
    );
    let sent: Value = serde_json::from_slice(&req.body).unwrap();
    let written = sent["data"]["attributes"]["expiration"].as_str().unwrap();
    assert!(written.ends_with(".123Z"), "{written}");
    assert_eq!(written.len(), "2027-01-15T12:00:00.000Z".len());

    assert_eq!(created.id, token_id("19"));
    assert_eq!(created.description.as_deref(), Some("CI deploy"));
    assert_eq!(created.created_at, time("2026-07-01T08:51:09.108Z"));
    assert_eq!(created.expiration, Some(time("2027-01-15T12:00:00.000Z")));
    assert_eq!(
        created.source_ips,
        [
            SourceIp::Addr(ip("192.168.1.1")),
            SourceIp::Addr(ip("10.20.30.40"))
        ]
    );
    assert_eq!(created.token.expose_secret(), FIXTURE_SECRET);
}

#[tokio::test]
async fn new_token_never_shows_its_secret() {
    let server = MockServer::start().await;
    mount(&server, "create_201").await;
    let created = client(&server)
        .org_api_tokens(user())
        .create(fixture_request(future()))
        .await
        .expect("created");

    let debug = format!("{created:?} {created:#?}");
    let display = created.to_string();
    assert_no_secret(&debug);
    assert_no_secret(&display);
    assert!(display.contains("token 19"), "{display}");
    assert!(debug.contains("REDACTED"), "{debug}");

    let listed_form = created.without_secret();
    assert_no_secret(&format!("{listed_form:?} {listed_form}"));
    let (details, secret) = created.into_parts();
    assert_eq!(details.id, "19");
    assert_eq!(secret.expose_secret(), FIXTURE_SECRET);
}

#[tokio::test]
async fn create_without_options_sends_only_the_three_attributes() {
    let server = MockServer::start().await;
    mount(&server, "create_201").await;
    let expiration = future();
    client(&server)
        .org_api_tokens(user())
        .create(CreateApiToken::new(
            "Production token",
            [Scope::Customers],
            expiration,
        ))
        .await
        .expect("created");

    let expected = json!({"data": {"type": "apiToken", "attributes": {
        "description": "Production token",
        "scope": "customers",
        "expiration": wire_time(expiration),
    }}});
    assert_request(
        &only_request(&server).await,
        "POST",
        "/users/2/api-tokens",
        Some(&expected),
    );
}

#[tokio::test]
async fn create_writes_ipv6_accounts_and_unknown_scopes() {
    let server = MockServer::start().await;
    mount(&server, "create_201").await;
    let expiration = future();
    client(&server)
        .org_api_tokens(user())
        .create(
            CreateApiToken::new("Ops", [Scope::AccountsWrite], expiration)
                .scope(Scope::Other("loans-write".into()))
                .scope("payments-write-ach-debit".parse().unwrap())
                .source_ip(ip("2001:db8::1"))
                .source_ip(ip("203.0.113.9"))
                .resources([
                    ResourceRestriction::accounts([10005_u64, 10006]),
                    ResourceRestriction::cards(["7"]),
                ]),
        )
        .await
        .expect("created");

    let expected = json!({"data": {"type": "apiToken", "attributes": {
        "description": "Ops",
        "scope": "accounts-write loans-write payments-write-ach-debit",
        "expiration": wire_time(expiration),
        "sourceIp": "2001:db8::1,203.0.113.9",
        "resources": [
            {"type": "account", "ids": ["10005", "10006"]},
            {"type": "card", "ids": ["7"]}
        ]
    }}});
    assert_request(
        &only_request(&server).await,
        "POST",
        "/users/2/api-tokens",
        Some(&expected),
    );
}

#[tokio::test]
async fn create_is_not_repeated_after_a_5xx() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/users/2/api-tokens"))
        .respond_with(answer(&fixture("error_500")))
        .mount(&server)
        .await;
    let client = client_with(&server, quick_retries(4));
    let err = client
        .org_api_tokens(user())
        .create(fixture_request(future()))
        .await
        .unwrap_err();
    // The 500 came after the request was sent: a token may exist.
    assert!(err.is_outcome_unknown(), "{err:?}");
    match &err {
        Error::OutcomeUnknown { operation, cause } => {
            assert_eq!(*operation, "create");
            assert!(
                matches!(**cause, Error::Api(ref e) if e.status == 500),
                "{cause:?}"
            );
        }
        other => panic!("expected OutcomeUnknown, got {other:?}"),
    }
    assert_eq!(err.status(), Some(500));
    assert_eq!(
        err.messages(),
        ["Internal Server Error: Something went wrong on our side"]
    );
    assert!(!err.is_retryable());
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    assert_eq!(client.stats().retries, 0);
}

#[tokio::test]
async fn create_answer_without_secret_is_a_decode_error() {
    let server = MockServer::start().await;
    let mut fx = fixture("create_201");
    fx["response"]["body"]["data"]["attributes"]
        .as_object_mut()
        .unwrap()
        .remove("token");
    Mock::given(method("POST"))
        .respond_with(answer(&fx))
        .mount(&server)
        .await;
    let err = client(&server)
        .org_api_tokens(user())
        .create(fixture_request(future()))
        .await
        .unwrap_err();
    match unknown_create(&err) {
        Error::Decode {
            service,
            status,
            at,
            ..
        } => {
            assert_eq!(*service, Service::Unit);
            assert_eq!(*status, 201);
            assert_eq!(at, "data.attributes.token");
        }
        other => panic!("expected Decode, got {other:?}"),
    }
    assert_eq!(err.status(), Some(201));
}

#[tokio::test]
async fn undecodable_create_answer_does_not_leak_the_secret() {
    let server = MockServer::start().await;
    let mut fx = fixture("create_201");
    fx["response"]["body"]["data"]["attributes"]["createdAt"] = json!("yesterday-ish");
    Mock::given(method("POST"))
        .respond_with(answer(&fx))
        .mount(&server)
        .await;
    let err = client(&server)
        .org_api_tokens(user())
        .create(fixture_request(future()))
        .await
        .unwrap_err();
    assert!(
        matches!(unknown_create(&err), Error::Decode { at, status: 201, .. } if at == "data.attributes.createdAt"),
        "{err:?}"
    );
    assert_no_secret(&format!("{err} {err:?}"));
    assert!(!format!("{err} {err:?}").contains("yesterday"));
}

#[tokio::test]
async fn create_answer_of_another_type_is_a_decode_error() {
    let server = MockServer::start().await;
    let mut fx = fixture("create_201");
    fx["response"]["body"]["data"]["type"] = json!("customerToken");
    Mock::given(method("POST"))
        .respond_with(answer(&fx))
        .mount(&server)
        .await;
    let err = client(&server)
        .org_api_tokens(user())
        .create(fixture_request(future()))
        .await
        .unwrap_err();
    assert!(
        matches!(unknown_create(&err), Error::Decode { at, .. } if at == "data.type"),
        "{err:?}"
    );
    assert_no_secret(&format!("{err} {err:?}"));
}

// ------------------------------------------------------------------ list

#[tokio::test]
async fn list_200_decodes_every_token() {
    let server = MockServer::start().await;
    mount(&server, "list_200").await;
    let tokens = client(&server)
        .org_api_tokens(user())
        .list()
        .await
        .expect("listed");
    assert_request(
        &only_request(&server).await,
        "GET",
        "/users/2/api-tokens",
        None,
    );

    assert_eq!(tokens.len(), 3);
    let ids: Vec<&str> = tokens.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["21", "22", "23"]);

    let first: &ApiToken = &tokens[0];
    assert_eq!(first.description.as_deref(), Some("Production token"));
    assert_eq!(first.created_at, time("2026-05-01T09:13:23.211Z"));
    assert_eq!(first.expiration, Some(time("2027-05-01T09:13:23.124Z")));
    assert!(first.source_ips.is_empty());

    assert_eq!(
        tokens[1].source_ips,
        [
            SourceIp::Addr(ip("192.168.1.1")),
            SourceIp::Addr(ip("192.168.1.2"))
        ]
    );
    // An address and a CIDR range, both read as such.
    assert_eq!(
        tokens[2].source_ips,
        [
            SourceIp::Addr(ip("2001:db8::7")),
            SourceIp::Net("10.0.0.0/24".parse().expect("a CIDR range"))
        ]
    );
    assert_eq!(
        tokens[2].to_string(),
        "token 23 \"Reporting (office network)\" (created 2026-06-12T17:02:44.003Z, \
         expires 2026-12-31T23:59:59.000Z, from 2001:db8::7,10.0.0.0/24)"
    );
}

#[tokio::test]
async fn list_empty_200_is_an_empty_vec() {
    let server = MockServer::start().await;
    mount(&server, "list_empty_200").await;
    let tokens = client(&server).org_api_tokens(user()).list().await.unwrap();
    assert!(tokens.is_empty());
    assert_request(
        &only_request(&server).await,
        "GET",
        "/users/2/api-tokens",
        None,
    );
}

#[tokio::test]
async fn list_truncated_200_names_where_it_stopped() {
    let server = MockServer::start().await;
    mount(&server, "list_truncated_200").await;
    let err = client(&server)
        .org_api_tokens(user())
        .list()
        .await
        .unwrap_err();
    match &err {
        Error::Decode {
            service,
            status,
            at,
            reason,
            ..
        } => {
            assert_eq!(*service, Service::Unit);
            assert_eq!(*status, 200);
            assert_eq!(at, "data[1].attributes.expiration");
            assert!(reason.contains("truncated"), "{reason}");
        }
        other => panic!("expected Decode, got {other:?}"),
    }
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn list_ignores_a_listed_secret_and_unknown_members() {
    let server = MockServer::start().await;
    let mut fx = fixture("list_200");
    fx["response"]["body"]["data"][0]["attributes"]["token"] = json!(FIXTURE_SECRET);
    fx["response"]["body"]["meta"] = json!({"pagination": {"total": 3}});
    fx["response"]["body"]["data"][0]["relationships"] =
        json!({"user": {"data": {"type": "user", "id": "2"}}});
    Mock::given(method("GET"))
        .respond_with(answer(&fx))
        .mount(&server)
        .await;
    let tokens = client(&server).org_api_tokens(user()).list().await.unwrap();
    assert_eq!(tokens.len(), 3);
    assert_no_secret(&format!("{tokens:?}"));
}

#[tokio::test]
async fn list_keeps_a_source_ip_it_cannot_read_as_written() {
    let server = MockServer::start().await;
    let mut fx = fixture("list_200");
    fx["response"]["body"]["data"][1]["attributes"]["sourceIp"] =
        json!(" 192.168.1.1 , office-vpn,, 10.0.0.0/8 ");
    Mock::given(method("GET"))
        .respond_with(answer(&fx))
        .mount(&server)
        .await;
    let tokens = client(&server).org_api_tokens(user()).list().await.unwrap();
    assert_eq!(
        tokens[1].source_ips,
        [
            SourceIp::Addr(ip("192.168.1.1")),
            SourceIp::Unparsed("office-vpn".into()),
            SourceIp::Net("10.0.0.0/8".parse().expect("a CIDR range")),
        ]
    );
    assert_eq!(tokens[1].source_ips[1].addr(), None);
}

/// `null` where Unit leaves a member out is refused, naming the member:
/// an `expiration: null` is not a token that never expires, a
/// `sourceIp: null` not a token usable from any address.
#[tokio::test]
async fn list_refuses_null_where_unit_leaves_a_member_out() {
    for (index, member) in [(0, "expiration"), (1, "sourceIp"), (2, "description")] {
        let server = MockServer::start().await;
        let mut fx = fixture("list_200");
        fx["response"]["body"]["data"][index]["attributes"][member] = Value::Null;
        Mock::given(method("GET"))
            .respond_with(answer(&fx))
            .mount(&server)
            .await;
        let err = client(&server)
            .org_api_tokens(user())
            .list()
            .await
            .unwrap_err();
        match &err {
            Error::Decode {
                status, at, reason, ..
            } => {
                assert_eq!(*status, 200);
                assert_eq!(at, &format!("data[{index}].attributes.{member}"));
                assert!(reason.contains(member), "{reason}");
            }
            other => panic!("{member}: expected Decode, got {other:?}"),
        }
    }
}

/// Left out, the same members keep their meaning: no expiration, no
/// restriction, no description.
#[tokio::test]
async fn list_reads_a_member_left_out_as_none() {
    let server = MockServer::start().await;
    let mut fx = fixture("list_200");
    let attributes = fx["response"]["body"]["data"][1]["attributes"]
        .as_object_mut()
        .expect("attributes");
    for member in ["expiration", "sourceIp", "description"] {
        attributes.remove(member);
    }
    Mock::given(method("GET"))
        .respond_with(answer(&fx))
        .mount(&server)
        .await;
    let tokens = client(&server).org_api_tokens(user()).list().await.unwrap();
    assert_eq!(tokens[1].expiration, None);
    assert!(tokens[1].source_ips.is_empty());
    assert_eq!(tokens[1].description, None);
}

/// `--output json` and any other serialization write Unit's dates as Unit
/// does, milliseconds and `Z`: a listed token serializes to what was
/// listed.
#[tokio::test]
async fn listed_tokens_serialize_as_unit_wrote_them() {
    let server = MockServer::start().await;
    let fx = mount(&server, "list_200").await;
    let tokens = client(&server).org_api_tokens(user()).list().await.unwrap();
    let written = serde_json::to_value(&tokens).expect("serialize");
    let mut listed = fx["response"]["body"]["data"].clone();
    // The one member the crate does not model.
    listed[2]["attributes"]
        .as_object_mut()
        .expect("attributes")
        .remove("lastUsedAt");
    assert_eq!(written, listed);
    assert_eq!(
        written[1]["attributes"]["expiration"],
        "2026-11-01T13:47:17.000Z"
    );
}

#[tokio::test]
async fn list_entry_of_another_type_is_a_decode_error() {
    let server = MockServer::start().await;
    let mut fx = fixture("list_200");
    fx["response"]["body"]["data"][2]["type"] = json!("customerToken");
    Mock::given(method("GET"))
        .respond_with(answer(&fx))
        .mount(&server)
        .await;
    let err = client(&server)
        .org_api_tokens(user())
        .list()
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Decode { ref at, status: 200, .. } if at == "data[2].type"),
        "{err:?}"
    );
}

#[tokio::test]
async fn list_is_repeated_after_a_5xx() {
    let server = MockServer::start().await;
    mount(&server, "error_500").await;
    let client = client_with(&server, quick_retries(3));
    let err = client.org_api_tokens(user()).list().await.unwrap_err();
    assert!(
        matches!(err, Error::Api(ref e) if e.status == 500),
        "{err:?}"
    );
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 3);
    for req in &requests {
        assert_request(req, "GET", "/users/2/api-tokens", None);
    }
    assert_eq!(client.stats().retries, 2);
}

// ---------------------------------------------------------------- revoke

#[tokio::test]
async fn revoke_200_gives_the_token_after_the_operation() {
    let server = MockServer::start().await;
    mount(&server, "revoke_200").await;
    let after = client(&server)
        .org_api_tokens(user())
        .revoke(&token_id("22"))
        .await
        .expect("revoked")
        .expect("a token");
    assert_request(
        &only_request(&server).await,
        "DELETE",
        "/users/2/api-tokens/22",
        None,
    );
    assert_eq!(after.id, "22");
    assert_eq!(after.description.as_deref(), Some("Testing token"));
    assert_eq!(after.expiration, Some(time("2026-11-01T13:47:17.000Z")));
    assert_eq!(after.source_ips.len(), 2);
}

#[tokio::test]
async fn revoke_null_200_gives_nothing() {
    let server = MockServer::start().await;
    mount(&server, "revoke_null_200").await;
    let after = client(&server)
        .org_api_tokens(user())
        .revoke(&"22".parse::<TokenId>().expect("a valid id"))
        .await
        .expect("revoked");
    assert_eq!(after, None);
    assert_request(
        &only_request(&server).await,
        "DELETE",
        "/users/2/api-tokens/22",
        None,
    );
}

#[tokio::test]
async fn revoke_204_gives_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path("/users/2/api-tokens/22"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let id = TokenId::try_from(22_u64).expect("a valid id");
    let after = client(&server)
        .org_api_tokens(user())
        .revoke(&id)
        .await
        .expect("revoked");
    assert_eq!(after, None);
    assert_request(
        &only_request(&server).await,
        "DELETE",
        "/users/2/api-tokens/22",
        None,
    );
}

#[tokio::test]
async fn revoke_with_a_broken_body_is_a_decode_error() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(r#"{"data":{"id":"22","#, MEDIA_TYPE))
        .mount(&server)
        .await;
    let err = client(&server)
        .org_api_tokens(user())
        .revoke(&token_id("22"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode { status: 200, .. }), "{err:?}");
}

/// Mounts a 200 answer to the revoke of token 22 with this body.
async fn revoke_answers(server: &MockServer, body: &Value) {
    Mock::given(method("DELETE"))
        .and(path("/users/2/api-tokens/22"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(body.to_string().into_bytes(), MEDIA_TYPE),
        )
        .mount(server)
        .await;
}

/// A 200 about another token says nothing of the one revoked: the revoke
/// succeeded (200), and the other token's details are not returned as its.
#[tokio::test]
async fn revoke_answer_about_another_token_is_not_taken_for_its_details() {
    let server = MockServer::start().await;
    let mut body = fixture("revoke_200")["response"]["body"].clone();
    body["data"]["id"] = json!("23");
    revoke_answers(&server, &body).await;
    let revoked = client(&server)
        .org_api_tokens(user())
        .revoke(&token_id("22"))
        .await
        .expect("a 200 revokes");
    assert!(
        revoked.is_none(),
        "another token's details are not kept: {revoked:?}"
    );
}

/// A 200 carrying Unit's error document is no success: the service's
/// error, with its messages and support id, under the status it came with.
#[tokio::test]
async fn revoke_200_with_an_error_document_is_the_services_error() {
    let server = MockServer::start().await;
    let body = json!({"errors": [{
        "status": "409", "title": "Conflict", "detail": "The token is in use",
        "meta": {"supportId": "sup-409-revoke"}
    }]});
    revoke_answers(&server, &body).await;
    let err = client(&server)
        .org_api_tokens(user())
        .revoke(&token_id("22"))
        .await
        .unwrap_err();
    let Error::Api(api) = &err else {
        panic!("expected Api, got {err:?}")
    };
    assert_eq!(api.service, Service::Unit);
    assert_eq!(api.status, 200);
    assert_eq!(api.messages, ["Conflict: The token is in use"]);
    assert_eq!(api.request_id.as_deref(), Some("sup-409-revoke"));
    assert_eq!(api.errors.len(), 1);
    assert!(!err.is_retryable());
}

/// The contract's 200 is a document whose `data` is required (a token or
/// `null`); `{}` or another object is refused at `data`.
#[tokio::test]
async fn revoke_200_without_data_is_a_decode_error() {
    for body in [
        json!({}),
        json!({"meta": {"revoked": true}}),
        json!({"result": "ok"}),
    ] {
        let server = MockServer::start().await;
        revoke_answers(&server, &body).await;
        let err = client(&server)
            .org_api_tokens(user())
            .revoke(&token_id("22"))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Decode { status: 200, at, .. } if at == "data"),
            "{body}: {err:?}"
        );
    }
}

/// An answer with nothing in it at all, 200 or 204, is still no token.
#[tokio::test]
async fn revoke_200_with_an_empty_body_gives_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path("/users/2/api-tokens/22"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let after = client(&server)
        .org_api_tokens(user())
        .revoke(&token_id("22"))
        .await
        .expect("revoked");
    assert_eq!(after, None);
}

// ---------------------------------------------------------------- errors

#[tokio::test]
async fn error_400_keeps_every_message_and_the_support_id() {
    let server = MockServer::start().await;
    mount(&server, "error_400").await;
    let err = client(&server)
        .org_api_tokens(user())
        .create(fixture_request(future()))
        .await
        .unwrap_err();
    let Error::Api(api) = &err else {
        panic!("expected Api, got {err:?}")
    };
    assert_eq!(api.service, Service::Unit);
    assert_eq!(api.status, 400);
    assert_eq!(
        api.messages,
        [
            "Bad Request: The request body is not a valid JSON:API document (data.attributes must be an object)"
        ]
    );
    assert_eq!(api.errors.len(), 1);
    assert_eq!(api.errors[0].code.as_deref(), Some("invalid_request"));
    assert_eq!(
        api.errors[0].details.as_deref(),
        Some("data.attributes must be an object")
    );
    assert_eq!(
        err.request_id(),
        Some("b1e3c0a4-9f4d-4c1e-8d0a-5f2a8e7c1a01")
    );
    assert!(!err.is_retryable());
    let text = err.to_string();
    assert!(text.contains("400 Bad Request"), "{text}");
    assert!(
        text.contains("b1e3c0a4-9f4d-4c1e-8d0a-5f2a8e7c1a01"),
        "{text}"
    );
}

#[tokio::test]
async fn error_401_is_unauthorized() {
    let server = MockServer::start().await;
    mount(&server, "error_401").await;
    let err = client(&server)
        .org_api_tokens(user())
        .list()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unauthorized(_)), "{err:?}");
    assert_eq!(err.status(), Some(401));
    assert_eq!(
        err.messages(),
        ["Unauthorized: The bearer token is invalid or expired"]
    );
    assert_eq!(
        err.request_id(),
        Some("c7d1f2e3-1111-4a2b-9c3d-000000000401")
    );
    assert_request(
        &only_request(&server).await,
        "GET",
        "/users/2/api-tokens",
        None,
    );
    assert_no_secret(&format!("{err} {err:?}"));
}

#[tokio::test]
async fn error_403_is_forbidden() {
    let server = MockServer::start().await;
    let fx = mount(&server, "error_403").await;
    let expiration = future();
    let err = client(&server)
        .org_api_tokens(user())
        .create(fixture_request(expiration))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Forbidden(_)), "{err:?}");
    assert_eq!(
        err.api_error().unwrap().errors[0].code.as_deref(),
        Some("forbidden")
    );
    assert_request(
        &only_request(&server).await,
        "POST",
        "/users/2/api-tokens",
        Some(&expected_body(&fx, expiration)),
    );
}

#[tokio::test]
async fn error_404_is_not_found() {
    let server = MockServer::start().await;
    mount(&server, "error_404").await;
    let err = client(&server)
        .org_api_tokens(user())
        .revoke(&token_id("999"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    assert_eq!(err.messages(), ["Not Found: API token 999 was not found"]);
    assert_eq!(
        err.api_error().unwrap().errors[0].status.as_deref(),
        Some("404")
    );
    assert_request(
        &only_request(&server).await,
        "DELETE",
        "/users/2/api-tokens/999",
        None,
    );
}

#[tokio::test]
async fn error_422_keeps_pointers_per_field() {
    let server = MockServer::start().await;
    mount(&server, "error_422").await;
    let err = client(&server)
        .org_api_tokens(user())
        .create(fixture_request(future()))
        .await
        .unwrap_err();
    let Error::Api(api) = &err else {
        panic!("expected Api, got {err:?}")
    };
    assert_eq!(api.status, 422);
    assert_eq!(api.errors.len(), 2);
    assert_eq!(
        api.errors[0].source_pointer.as_deref(),
        Some("/data/attributes/expiration")
    );
    assert_eq!(
        api.errors[1].source_pointer.as_deref(),
        Some("/data/attributes/scope")
    );
    assert_eq!(
        api.errors[1].extra.get("links"),
        Some(&json!({"about": "https://unit.co/docs/api/org-api-tokens"}))
    );
    assert_eq!(
        api.field_errors["expiration"],
        ["expiration must be a date in the future"]
    );
    assert_eq!(
        api.field_errors["scope"],
        ["scope contains an unknown scope"]
    );
    assert_eq!(
        api.messages,
        [
            "Invalid value: expiration must be a date in the future [at /data/attributes/expiration]",
            "Invalid value: scope contains an unknown scope [at /data/attributes/scope]"
        ]
    );
    assert_eq!(
        api.request_id.as_deref(),
        Some("c7d1f2e3-1111-4a2b-9c3d-000000000422")
    );
}

#[tokio::test]
async fn error_429_is_rate_limited_with_retry_after() {
    let server = MockServer::start().await;
    mount(&server, "error_429").await;
    let err = client(&server)
        .org_api_tokens(user())
        .list()
        .await
        .unwrap_err();
    match &err {
        Error::RateLimited { retry_after, error } => {
            assert_eq!(*retry_after, Some(Duration::from_secs(30)));
            assert_eq!(error.status, 429);
            assert_eq!(error.errors[0].code.as_deref(), Some("limits_exceeded"));
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    assert!(err.is_retryable());
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn error_500_prefers_the_support_id() {
    let server = MockServer::start().await;
    mount(&server, "error_500").await;
    let err = client(&server)
        .org_api_tokens(user())
        .list()
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Api(ref e) if e.status == 500),
        "{err:?}"
    );
    assert!(err.is_retryable());
    assert_eq!(
        err.request_id(),
        Some("c7d1f2e3-1111-4a2b-9c3d-000000000500")
    );
    assert_eq!(
        err.messages(),
        ["Internal Server Error: Something went wrong on our side"]
    );
}

#[tokio::test]
async fn request_id_header_is_used_without_a_support_id() {
    let server = MockServer::start().await;
    let mut fx = fixture("error_500");
    fx["response"]["body"]["errors"][0]
        .as_object_mut()
        .unwrap()
        .remove("meta");
    Mock::given(method("GET"))
        .respond_with(answer(&fx))
        .mount(&server)
        .await;
    let err = client(&server)
        .org_api_tokens(user())
        .list()
        .await
        .unwrap_err();
    assert_eq!(err.request_id(), Some("req-7f3a9b21"));
}

#[tokio::test]
async fn error_502_gateway_html_is_a_typed_error() {
    let server = MockServer::start().await;
    mount(&server, "error_502_gateway").await;
    let err = client(&server)
        .org_api_tokens(user())
        .list()
        .await
        .unwrap_err();
    let Error::Api(api) = &err else {
        panic!("expected Api, got {err:?}")
    };
    assert_eq!(api.status, 502);
    assert_eq!(api.messages, ["502 Bad Gateway"]);
    assert!(api.errors.is_empty());
    assert!(err.is_retryable());
    assert!(!err.to_string().contains("<html>"));
}

#[tokio::test]
async fn empty_error_body_still_gives_the_status() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let err = client(&server)
        .org_api_tokens(user())
        .revoke(&token_id("22"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Api(ref e) if e.status == 503 && e.messages.is_empty()));
    assert_eq!(err.status(), Some(503));
}

#[tokio::test]
async fn errors_and_client_never_show_the_key() {
    let server = MockServer::start().await;
    mount(&server, "error_401").await;
    let client = client(&server);
    assert_no_secret(&format!("{client:?}"));
    let tokens = client.org_api_tokens(user());
    assert_no_secret(&format!("{tokens:?}"));
    let err = tokens.list().await.unwrap_err();
    assert_no_secret(&format!("{err} {err:?} {:?}", err.api_error()));
}

/// An error answer may echo what it was sent (a gateway quoting the
/// request) or carry a token document: neither the caller's key nor a
/// value under a secret's name reaches the error, whatever the body's shape.
#[tokio::test]
async fn an_error_answer_quoting_a_secret_never_shows_it() {
    for (status, content_type, body) in [
        (
            400,
            "text/html",
            format!(
                "<html><title>Bad request</title><pre>Authorization: Bearer {ADMIN_KEY}</pre></html>"
            ),
        ),
        (
            401,
            MEDIA_TYPE,
            format!(
                r#"{{"errors":[{{"status":"401","title":"Unauthorized","detail":"bad key {ADMIN_KEY}"}}]}}"#
            ),
        ),
        (
            409,
            MEDIA_TYPE,
            format!(
                r#"{{"data":{{"id":"19","type":"apiToken","attributes":{{"token":"{FIXTURE_SECRET}"}}}}}}"#
            ),
        ),
        (
            422,
            MEDIA_TYPE,
            format!(
                r#"{{"errors":[{{"status":"422","title":"Invalid","meta":{{"token":"{FIXTURE_SECRET}"}}}}]}}"#
            ),
        ),
        (
            500,
            "text/plain",
            format!("\u{feff}{{\"token\":\"{FIXTURE_SECRET}\", \"x\": [1,"),
        ),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(status).set_body_raw(body.clone().into_bytes(), content_type),
            )
            .mount(&server)
            .await;
        let err = client(&server)
            .org_api_tokens(user())
            .list()
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(status), "{body}");
        assert_no_secret(&format!("{err} {err:?} {:?}", err.api_error()));
    }
}

#[tokio::test]
async fn every_fixture_is_well_formed_and_fake() {
    let names = [
        "create_201",
        "list_200",
        "list_empty_200",
        "revoke_200",
        "revoke_null_200",
        "error_400",
        "error_401",
        "error_403",
        "error_404",
        "error_422",
        "error_429",
        "error_500",
        "error_502_gateway",
        "list_truncated_200",
    ];
    let dir = format!("{}/fixtures/unit", env!("CARGO_MANIFEST_DIR"));
    let on_disk = std::fs::read_dir(&dir).unwrap().count();
    assert_eq!(on_disk, names.len(), "a fixture without a test in {dir}");
    for name in names {
        let fx = fixture(name);
        assert_eq!(fx["service"], "unit", "{name}");
        assert_eq!(fx["name"], name.replace('_', " ").as_str(), "{name}");
        assert!(
            fx["request"]["path"]
                .as_str()
                .unwrap()
                .starts_with("/users/2/api-tokens")
        );
        assert_eq!(
            fx["request"]["headers"]["authorization"], "[REDACTED]",
            "{name}"
        );
        assert!(fx["response"]["status"].is_u64(), "{name}");
        let text = fx.to_string();
        for token in text.split("v2.public.").skip(1) {
            assert!(
                token.starts_with("FAKE"),
                "{name}: a token that is not marked fake"
            );
        }
    }
}
