//! Mailtrap account API tokens against a wiremock server: every operation,
//! every fixture, the exact requests, the decoded answers and errors, and
//! which calls are repeated.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use api_tokens::mailtrap::AuthScheme;
use api_tokens::mailtrap::{
    self, AccessLevel, ApiToken, CreateApiToken, Expiry, NewApiToken, Permission, ResourceId,
    ResourceType, TokenId,
};
use api_tokens::secrecy::ExposeSecret;
use api_tokens::{Error, Pacing, RateLimit, RetryPolicy};
use chrono::{DateTime, SubsecRound, TimeZone, Utc};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const KEY: &str = "FAKE0caller0key0not0real0a1b2";
const ACCOUNT: u64 = 3229;
const BASE: &str = "/api/accounts/3229/api_tokens";

/// Every fixture file and so every outcome these tests replay.
const FIXTURES: &[&str] = &[
    "create_200.json",
    "delete_204.json",
    "error_401.json",
    "error_403.json",
    "error_404.json",
    "error_422_base.json",
    "error_422_fields.json",
    "error_429.json",
    "error_500.json",
    "error_502_html.json",
    "get_200.json",
    "list_200.json",
    "list_unknown_enums_200.json",
    "reset_200.json",
];

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/mailtrap")
}

fn fixture(name: &str) -> Value {
    let file = fixture_dir().join(name);
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file:?}: {e}"))
}

/// The answer a fixture describes.
fn answer(fx: &Value) -> ResponseTemplate {
    let response = &fx["response"];
    let status = response["status"].as_u64().expect("status") as u16;
    let headers = response["headers"].as_object().cloned().unwrap_or_default();
    let content_type = headers
        .get("content-type")
        .and_then(Value::as_str)
        .unwrap_or("application/json")
        .to_owned();
    let mut template = ResponseTemplate::new(status);
    if let Some(text) = response.get("body_text").and_then(Value::as_str) {
        template = template.set_body_raw(text.as_bytes().to_vec(), &content_type);
    } else if !response["body"].is_null() {
        let bytes = serde_json::to_vec(&response["body"]).expect("body");
        template = template.set_body_raw(bytes, &content_type);
    }
    for (name, value) in headers {
        if name != "content-type" {
            template = template.insert_header(name.as_str(), value.as_str().expect("header"));
        }
    }
    template
}

/// Mounts a fixture on its method and path, expected exactly once.
async fn mount(server: &MockServer, name: &str) -> Value {
    let fx = fixture(name);
    let request = &fx["request"];
    Mock::given(method(request["method"].as_str().expect("method")))
        .and(path(request["path"].as_str().expect("path")))
        .respond_with(answer(&fx))
        .expect(1)
        .named(name)
        .mount(server)
        .await;
    fx
}

/// A client that never repeats a call.
fn client(server: &MockServer) -> mailtrap::Client {
    mailtrap::Client::builder()
        .token(KEY)
        .account_id(ACCOUNT)
        .base_url(server.uri())
        .retry(RetryPolicy::disabled())
        .build()
        .expect("client")
}

/// A client with the default number of attempts and short waits. Pacing is
/// off: the 429 fixture says no request is left in the window, which a
/// paced client would wait out (10 s) before its retry.
fn retrying_client(server: &MockServer) -> mailtrap::Client {
    mailtrap::Client::builder()
        .token(KEY)
        .account_id(ACCOUNT)
        .base_url(server.uri())
        .pacing(Pacing::off())
        .retry(
            RetryPolicy::default()
                .initial_backoff(Duration::from_millis(5))
                .max_backoff(Duration::from_millis(20)),
        )
        .build()
        .expect("client")
}

async fn requests(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.expect("recording on")
}

/// The one request the server received.
async fn only_request(server: &MockServer) -> Request {
    let mut all = requests(server).await;
    assert_eq!(all.len(), 1, "expected exactly one request, got {all:?}");
    all.remove(0)
}

fn header<'r>(request: &'r Request, name: &str) -> Option<&'r str> {
    request.headers.get(name).and_then(|v| v.to_str().ok())
}

/// Method, path, `Api-Token` auth and `Accept` of a request.
fn assert_request(request: &Request, verb: &str, at: &str) {
    assert_eq!(request.method.as_str(), verb);
    assert_eq!(request.url.path(), at);
    assert_eq!(request.url.query(), None);
    assert_eq!(header(request, "api-token"), Some(KEY));
    assert_eq!(header(request, "authorization"), None);
    assert_eq!(header(request, "accept"), Some("application/json"));
}

/// A request with no body at all.
fn assert_no_body(request: &Request) {
    assert!(
        request.body.is_empty(),
        "unexpected body {:?}",
        request.body
    );
    assert_eq!(header(request, "content-type"), None);
}

/// A request whose body is exactly this JSON.
fn assert_json_body(request: &Request, expected: Value) {
    assert_eq!(header(request, "content-type"), Some("application/json"));
    let body: Value = serde_json::from_slice(&request.body).expect("JSON body");
    assert_eq!(body, expected);
}

/// The cause of an [`Error::OutcomeUnknown`] of this operation, which is
/// never to be retried blindly.
fn unknown<'e>(err: &'e Error, operation: &str) -> &'e Error {
    match err {
        Error::OutcomeUnknown {
            operation: op,
            cause,
        } => {
            assert_eq!(*op, operation);
            assert!(err.is_outcome_unknown());
            assert!(!err.is_retryable());
            cause
        }
        other => panic!("expected OutcomeUnknown, got {other:?}"),
    }
}

/// A token id the tests know to be valid.
fn id(n: u64) -> TokenId {
    TokenId::new(n).expect("a valid token id")
}

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("date")
        .with_timezone(&Utc)
}

fn account_admin() -> Vec<Permission> {
    vec![Permission::new(
        ResourceType::Account,
        ACCOUNT,
        AccessLevel::Admin,
    )]
}

/// Asserts the secret is nowhere in the `Debug` and `Display` of a value.
fn assert_hidden(secret: &str, debug: &dyn std::fmt::Debug, display: &dyn std::fmt::Display) {
    let text = format!("{debug:?} {debug:#?} {display}");
    assert!(!text.contains(secret), "secret leaked: {text}");
}

// ---------------------------------------------------------------- fixtures

#[test]
fn every_fixture_file_is_replayed_and_well_formed() {
    let mut on_disk: Vec<String> = std::fs::read_dir(fixture_dir())
        .expect("fixtures/mailtrap")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    assert_eq!(
        on_disk, FIXTURES,
        "a fixture without a test, or a test without a fixture"
    );
    for name in FIXTURES {
        let fx = fixture(name);
        assert_eq!(fx["service"], "mailtrap", "{name}");
        assert!(fx["name"].as_str().is_some_and(|n| !n.is_empty()), "{name}");
        assert!(fx["request"]["method"].is_string(), "{name}");
        assert!(
            fx["request"]["path"]
                .as_str()
                .is_some_and(|p| p.starts_with(BASE)),
            "{name}"
        );
        let response = &fx["response"];
        assert!(response["status"].is_u64(), "{name}");
        assert!(
            response.get("body").is_some() != response.get("body_text").is_some(),
            "{name}: exactly one of body and body_text"
        );
        if let Some(headers) = fx["request"]["headers"].as_object() {
            for auth in ["api-token", "authorization"] {
                if let Some(v) = headers.get(auth) {
                    assert_eq!(v, "[REDACTED]", "{name}: auth header stored");
                }
            }
        }
        if let Some(token) = response["body"].get("token") {
            let token = token.as_str().expect("token is a string");
            assert!(
                token.starts_with("FAKE"),
                "{name}: secret not obviously fake"
            );
        }
    }
}

// ---------------------------------------------------------------- list

#[tokio::test]
async fn list_decodes_every_field_and_records_the_rate_limit() {
    let server = MockServer::start().await;
    mount(&server, "list_200.json").await;
    let mt = client(&server);
    assert_eq!(mt.last_rate_limit(), None);

    let all = mt.api_tokens().list().await.expect("list");

    let request = only_request(&server).await;
    assert_request(&request, "GET", BASE);
    assert_no_body(&request);

    assert_eq!(all.len(), 3);
    let first = &all[0];
    assert_eq!(first.id, id(12345));
    assert_eq!(first.name, "CI deploy");
    assert_eq!(first.last_four.as_deref(), Some("x7k9"));
    assert_eq!(first.created_by.as_deref(), Some("Ada Lovelace"));
    assert_eq!(first.expires_at, None);
    assert_eq!(first.permissions, account_admin());

    let second = &all[1];
    assert_eq!(second.expires_at, Some(utc("2026-09-30T23:59:59Z")));
    assert_eq!(
        second.permissions,
        vec![
            Permission::new(ResourceType::Project, 4242, AccessLevel::Viewer),
            Permission::new(ResourceType::Sandbox, 1_849_607, AccessLevel::Admin),
            Permission::new(ResourceType::Domain, "d-7f3a9c", AccessLevel::Viewer),
        ]
    );
    assert_eq!(
        all[2]
            .permissions
            .iter()
            .map(|p| p.resource_type.clone())
            .collect::<Vec<_>>(),
        // Written `inbox` and `sending_domain`: the old names of both.
        [ResourceType::Sandbox, ResourceType::Domain]
    );

    assert_eq!(
        mt.last_rate_limit(),
        Some(RateLimit::new(Some(150), Some(148)))
    );
}

#[tokio::test]
async fn unknown_resource_types_and_access_levels_are_kept() {
    let server = MockServer::start().await;
    mount(&server, "list_unknown_enums_200.json").await;

    let all = client(&server).api_tokens().list().await.expect("list");

    assert_request(&only_request(&server).await, "GET", BASE);
    assert_eq!(all.len(), 1);
    let perms = &all[0].permissions;
    assert_eq!(
        perms[0].resource_type,
        ResourceType::Other("billing_profile".into())
    );
    assert_eq!(perms[0].resource_type.as_str(), "billing_profile");
    assert_eq!(perms[0].resource_id, ResourceId::Str("bp-55c1".into()));
    assert_eq!(perms[0].access_level, AccessLevel::Other(50));
    assert_eq!(perms[0].access_level.code(), 50);
    assert_eq!(
        perms[1],
        Permission::new(ResourceType::Account, ACCOUNT, AccessLevel::Viewer)
    );
    assert_eq!(all[0].expires_at, Some(utc("2027-03-01T00:00:00Z")));
}

#[tokio::test]
async fn list_tolerates_missing_optional_fields_and_null_strings() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(BASE))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"id": 1, "name": "bare"},
            {"id": 2, "name": "nulls", "last_4_digits": null, "created_by": null,
             "expires_at": null, "resources": [], "something_new": {"a": 1}}
        ])))
        .expect(1)
        .mount(&server)
        .await;

    let all = client(&server).api_tokens().list().await.expect("list");

    for token in &all {
        assert_eq!(token.last_four, None);
        assert_eq!(token.created_by, None);
        assert_eq!(token.expires_at, None);
        assert!(token.permissions.is_empty());
    }
    assert_eq!(all.iter().map(|t| t.id.get()).collect::<Vec<_>>(), [1, 2]);
}

/// `resources: null` is not a token without permissions: the contract
/// writes a list, so a `null` is refused, naming the member, on every
/// call that reads a token.
#[tokio::test]
async fn null_resources_are_a_decode_error_naming_the_member() {
    let server = MockServer::start().await;
    let mut token = fixture("get_200.json")["response"]["body"].clone();
    token["id"] = json!(12345);
    token["resources"] = Value::Null;
    Mock::given(method("GET"))
        .and(path(BASE))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([token.clone()])))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{BASE}/12345")))
        .respond_with(ResponseTemplate::new(200).set_body_json(token.clone()))
        .mount(&server)
        .await;
    let mut minted = token;
    minted["token"] = json!("FAKE0null0resources0not0real0a1b2");
    Mock::given(method("POST"))
        .and(path(BASE))
        .respond_with(ResponseTemplate::new(200).set_body_json(minted))
        .mount(&server)
        .await;
    let tokens = client(&server).api_tokens();

    let list = tokens.list().await.unwrap_err();
    assert!(
        matches!(&list, Error::Decode { status: 200, at, reason, .. }
            if at == "[0].resources" && reason.contains("resources")),
        "{list:?}"
    );
    let get = tokens.get(id(12345)).await.unwrap_err();
    assert!(
        matches!(&get, Error::Decode { at, .. } if at == "resources"),
        "{get:?}"
    );
    let create = tokens
        .create(CreateApiToken::new("ci").permissions_from(account_admin()))
        .await
        .unwrap_err();
    assert!(
        matches!(unknown(&create, "create"), Error::Decode { at, .. } if at == "resources"),
        "{create:?}"
    );
}

/// The contract says only `integer` of a listed access level: a level
/// beyond 16 bits, or below zero, is kept as an unknown level like any
/// other, and written back as it came.
#[tokio::test]
async fn access_levels_of_any_integer_are_kept() {
    let server = MockServer::start().await;
    let mut token = fixture("get_200.json")["response"]["body"].clone();
    token["resources"] = json!([
        {"resource_type": "account", "resource_id": 3229, "access_level": 70000},
        {"resource_type": "project", "resource_id": 17, "access_level": -3},
        {"resource_type": "sandbox", "resource_id": 18, "access_level": 10}
    ]);
    Mock::given(method("GET"))
        .and(path(BASE))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([token])))
        .mount(&server)
        .await;

    let all = client(&server).api_tokens().list().await.expect("list");

    let levels: Vec<String> = all[0]
        .permissions
        .iter()
        .map(|p| p.access_level.to_string())
        .collect();
    assert_eq!(levels, ["level 70000", "level -3", "viewer"]);
    assert_eq!(
        serde_json::to_value(&all[0].permissions).expect("serialize"),
        json!([
            {"resource_type": "account", "resource_id": 3229, "access_level": 70000},
            {"resource_type": "project", "resource_id": 17, "access_level": -3},
            {"resource_type": "sandbox", "resource_id": 18, "access_level": 10}
        ])
    );
}

#[tokio::test]
async fn a_token_without_id_or_name_is_a_decode_error_naming_the_path() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(BASE))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!([{"id": 1, "name": "ok"}, {"id": 2}])),
        )
        .mount(&server)
        .await;

    let err = client(&server).api_tokens().list().await.unwrap_err();

    match &err {
        Error::Decode {
            status, at, reason, ..
        } => {
            assert_eq!(*status, 200);
            assert_eq!(at, "[1]");
            assert!(reason.contains("name"), "{reason}");
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
}

// ---------------------------------------------------------------- get

#[tokio::test]
async fn get_fetches_one_token() {
    let server = MockServer::start().await;
    mount(&server, "get_200.json").await;

    let token: ApiToken = client(&server)
        .api_tokens()
        .get(id(12301))
        .await
        .expect("get");

    let request = only_request(&server).await;
    assert_request(&request, "GET", &format!("{BASE}/12301"));
    assert_no_body(&request);
    assert_eq!(token.id.get(), 12301);
    assert_eq!(token.name, "Staging smoke tests");
    assert_eq!(token.created_by.as_deref(), Some("ops@example.com"));
    assert_eq!(token.permissions.len(), 3);
    assert_eq!(
        token.to_string(),
        "API token 12301 \"Staging smoke tests\" (…b3Qe), expires 2026-09-30T23:59:59Z"
    );
}

/// An answer that is another token than the one asked for is no answer.
#[tokio::test]
async fn get_refuses_an_answer_about_another_token() {
    let server = MockServer::start().await;
    let fx = fixture("get_200.json");
    Mock::given(method("GET"))
        .respond_with(answer(&fx))
        .mount(&server)
        .await;
    let err = client(&server)
        .api_tokens()
        .get(id(777))
        .await
        .expect_err("token 12301 answered for 777");
    match &err {
        api_tokens::Error::Decode { at, reason, .. } => {
            assert_eq!(at, "id");
            assert!(
                reason.contains("777") && reason.contains("12301"),
                "{reason}"
            );
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
}

// ---------------------------------------------------------------- create

#[tokio::test]
async fn create_sends_name_and_permissions_and_returns_the_secret_once() {
    let server = MockServer::start().await;
    let fx = mount(&server, "create_200.json").await;

    let new: NewApiToken = client(&server)
        .api_tokens()
        .create(CreateApiToken::new("CI deploy").permission(
            ResourceType::Account,
            ACCOUNT,
            AccessLevel::Admin,
        ))
        .await
        .expect("create");

    let request = only_request(&server).await;
    assert_request(&request, "POST", BASE);
    // Server default expiry: `expires_at` is left out altogether.
    assert_json_body(&request, fx["request"]["body"].clone());
    assert_json_body(
        &request,
        json!({"name": "CI deploy", "resources": [
            {"resource_type": "account", "resource_id": 3229, "access_level": 100}]}),
    );

    let secret = "FAKE0fixture0token0not0real0x7k9";
    assert_eq!(new.token.expose_secret(), secret);
    assert_eq!(new.id, id(12345));
    assert_eq!(new.name, "CI deploy");
    assert_eq!(new.last_four.as_deref(), Some("x7k9"));
    assert_eq!(new.created_by.as_deref(), Some("Ada Lovelace"));
    assert_eq!(new.expires_at, None);
    assert_eq!(new.permissions, account_admin());
    assert_hidden(secret, &new, &new);
    assert_eq!(
        new.to_string(),
        "API token 12345 \"CI deploy\" (…x7k9) [secret redacted]"
    );
    let listed = new.without_secret();
    assert_eq!(listed.id, new.id);
    assert_hidden(secret, &listed, &listed);
    let (details, kept) = new.into_parts();
    assert_eq!(details, listed);
    assert_eq!(kept.expose_secret(), secret);
}

#[tokio::test]
async fn create_sends_null_for_never_and_the_moment_for_at() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(BASE))
        .respond_with(answer(&fixture("create_200.json")))
        .expect(2)
        .mount(&server)
        .await;
    let mt = client(&server);
    let when = (Utc::now() + chrono::Duration::days(90)).trunc_subsecs(0);

    mt.api_tokens()
        .create(
            CreateApiToken::new("never")
                .permission(ResourceType::Project, 4242, AccessLevel::Viewer)
                .expires(Expiry::Never),
        )
        .await
        .expect("never");
    mt.api_tokens()
        .create(
            CreateApiToken::new("dated")
                .permission(ResourceType::Domain, "d-7f3a9c", AccessLevel::Admin)
                .permission(
                    ResourceType::Other("mailbox".into()),
                    7,
                    AccessLevel::Other(30),
                )
                .expires(Expiry::At(when)),
        )
        .await
        .expect("at");

    let sent = requests(&server).await;
    assert_eq!(sent.len(), 2);
    assert_request(&sent[0], "POST", BASE);
    assert_json_body(
        &sent[0],
        json!({"name": "never", "expires_at": null, "resources": [
            {"resource_type": "project", "resource_id": 4242, "access_level": 10}]}),
    );
    assert_request(&sent[1], "POST", BASE);
    assert_json_body(
        &sent[1],
        json!({"name": "dated",
               "expires_at": when.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
               "resources": [
                   {"resource_type": "domain", "resource_id": "d-7f3a9c", "access_level": 100},
                   {"resource_type": "mailbox", "resource_id": 7, "access_level": 30}]}),
    );
}

#[tokio::test]
async fn create_accepts_201_too() {
    let server = MockServer::start().await;
    let body = fixture("create_200.json")["response"]["body"].clone();
    Mock::given(method("POST"))
        .and(path(BASE))
        .respond_with(ResponseTemplate::new(201).set_body_json(body))
        .expect(1)
        .mount(&server)
        .await;

    let new = client(&server)
        .api_tokens()
        .create(CreateApiToken::new("CI deploy").permissions_from(account_admin()))
        .await
        .expect("201");

    assert_eq!(new.id.get(), 12345);
    assert_eq!(
        new.token.expose_secret(),
        "FAKE0fixture0token0not0real0x7k9"
    );
}

#[tokio::test]
async fn create_answer_without_a_token_is_a_decode_error() {
    let server = MockServer::start().await;
    let mut body = fixture("create_200.json")["response"]["body"].clone();
    body.as_object_mut().expect("object").remove("token");
    Mock::given(method("POST"))
        .and(path(BASE))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(1)
        .mount(&server)
        .await;

    let err = client(&server)
        .api_tokens()
        .create(CreateApiToken::new("CI deploy").permissions_from(account_admin()))
        .await
        .unwrap_err();

    match unknown(&err, "create") {
        Error::Decode { status, reason, .. } => {
            assert_eq!(*status, 200);
            assert!(reason.contains("token"), "{reason}");
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    assert_eq!(err.status(), Some(200));
}

#[tokio::test]
async fn a_secret_in_a_malformed_answer_never_reaches_the_error() {
    let server = MockServer::start().await;
    let secret = "FAKE0leaky0token0not0real0zz99";
    // The secret shows up where a number is expected: serde would quote it.
    Mock::given(method("POST"))
        .and(path(BASE))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": secret, "name": "CI deploy", "token": secret
        })))
        .mount(&server)
        .await;

    let err = client(&server)
        .api_tokens()
        .create(CreateApiToken::new("CI deploy").permissions_from(account_admin()))
        .await
        .unwrap_err();

    assert!(
        matches!(unknown(&err, "create"), Error::Decode { at, .. } if at == "id"),
        "{err:?}"
    );
    assert_hidden(secret, &err, &err);
    assert_hidden(KEY, &err, &err);
}

#[tokio::test]
async fn a_truncated_success_body_is_a_decode_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{BASE}/12345/reset")))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"id":12346,"name":"CI deploy","token":"FAKE0trunc"#,
            "application/json",
        ))
        .mount(&server)
        .await;

    let err = client(&server)
        .api_tokens()
        .reset(id(12345), Expiry::ServerDefault)
        .await
        .unwrap_err();

    match unknown(&err, "reset") {
        Error::Decode { reason, .. } => assert!(reason.contains("truncated"), "{reason}"),
        other => panic!("expected a decode error, got {other:?}"),
    }
    assert_hidden("FAKE0trunc", &err, &err);
}

// ---------------------------------------------------------------- reset

#[tokio::test]
async fn reset_with_the_server_default_sends_no_body_and_returns_a_new_id() {
    let server = MockServer::start().await;
    mount(&server, "reset_200.json").await;

    let old = id(12345);
    let rotated = client(&server)
        .api_tokens()
        .reset(old, Expiry::ServerDefault)
        .await
        .expect("reset");

    let request = only_request(&server).await;
    assert_request(&request, "POST", &format!("{BASE}/12345/reset"));
    assert_no_body(&request);
    assert_ne!(rotated.id, old);
    assert_eq!(rotated.id, id(12346));
    let secret = "FAKE0fixture0rotated0not0real0q2w3";
    assert_eq!(rotated.token.expose_secret(), secret);
    assert_eq!(rotated.last_four.as_deref(), Some("q2w3"));
    assert_eq!(rotated.permissions, account_admin());
    assert_hidden(secret, &rotated, &rotated);
}

/// A reset with the server's default must still say `Content-Length: 0`:
/// front ends answer a POST without a length with 411. An empty body is not
/// enough (hyper writes no length for a body that is already at its end):
/// the transport sets the header for a POST without a body.
#[tokio::test]
async fn reset_with_the_server_default_sends_content_length_0() {
    let server = MockServer::start().await;
    mount(&server, "reset_200.json").await;

    client(&server)
        .api_tokens()
        .reset(id(12345), Expiry::ServerDefault)
        .await
        .expect("reset");

    let request = only_request(&server).await;
    assert!(request.body.is_empty(), "{:?}", request.body);
    assert_eq!(header(&request, "content-length"), Some("0"));
}

#[tokio::test]
async fn reset_sends_expires_at_when_one_is_chosen() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{BASE}/12345/reset")))
        .respond_with(answer(&fixture("reset_200.json")))
        .expect(2)
        .mount(&server)
        .await;
    let mt = client(&server);
    let when = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
    let when = if when > Utc::now() {
        when
    } else {
        (Utc::now() + chrono::Duration::days(30)).trunc_subsecs(0)
    };

    mt.api_tokens()
        .reset(id(12345), Expiry::Never)
        .await
        .expect("never");
    mt.api_tokens()
        .reset(id(12345), Expiry::At(when))
        .await
        .expect("at");

    let sent = requests(&server).await;
    assert_eq!(sent.len(), 2);
    assert_request(&sent[0], "POST", &format!("{BASE}/12345/reset"));
    assert_json_body(&sent[0], json!({"expires_at": null}));
    assert_request(&sent[1], "POST", &format!("{BASE}/12345/reset"));
    assert_json_body(
        &sent[1],
        json!({"expires_at": when.format("%Y-%m-%dT%H:%M:%SZ").to_string()}),
    );
}

#[tokio::test]
async fn reset_answer_with_a_null_token_is_a_decode_error() {
    let server = MockServer::start().await;
    let mut body = fixture("reset_200.json")["response"]["body"].clone();
    body["token"] = Value::Null;
    Mock::given(method("POST"))
        .and(path(format!("{BASE}/12345/reset")))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&server)
        .await;

    let err = client(&server)
        .api_tokens()
        .reset(id(12345), Expiry::ServerDefault)
        .await
        .unwrap_err();

    assert!(
        matches!(unknown(&err, "reset"), Error::Decode { at, .. } if at == "token"),
        "{err:?}"
    );
}

/// A reset gives a NEW token with a new id: an answer naming the token
/// that was reset is no reset's answer (retiring "the new token" would
/// remove the one asked about), and is refused at `id`.
#[tokio::test]
async fn reset_answer_naming_the_reset_token_is_a_decode_error() {
    let server = MockServer::start().await;
    let mut body = fixture("reset_200.json")["response"]["body"].clone();
    body["id"] = json!(12345);
    let secret = body["token"].as_str().expect("secret").to_owned();
    Mock::given(method("POST"))
        .and(path(format!("{BASE}/12345/reset")))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(1)
        .mount(&server)
        .await;

    let err = client(&server)
        .api_tokens()
        .reset(id(12345), Expiry::ServerDefault)
        .await
        .unwrap_err();

    match unknown(&err, "reset") {
        Error::Decode {
            status, at, reason, ..
        } => {
            assert_eq!(*status, 200);
            assert_eq!(at, "id");
            assert!(reason.contains("12345"), "{reason}");
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    assert_hidden(&secret, &err, &err);
}

// ---------------------------------------------------------------- delete

#[tokio::test]
async fn delete_accepts_204() {
    let server = MockServer::start().await;
    mount(&server, "delete_204.json").await;
    let mt = client(&server);

    mt.api_tokens().delete(id(12346)).await.expect("delete");

    let request = only_request(&server).await;
    assert_request(&request, "DELETE", &format!("{BASE}/12346"));
    assert_no_body(&request);
    assert_eq!(
        mt.last_rate_limit(),
        Some(RateLimit::new(Some(150), Some(144)))
    );
}

#[tokio::test]
async fn delete_accepts_200_with_or_without_a_body() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path(format!("{BASE}/12346")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 12346})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("{BASE}/12347")))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let mt = client(&server);

    mt.api_tokens()
        .delete(id(12346))
        .await
        .expect("200 with body");
    mt.api_tokens().delete(id(12347)).await.expect("200 empty");

    let sent = requests(&server).await;
    assert_eq!(sent.len(), 2);
    assert_request(&sent[0], "DELETE", &format!("{BASE}/12346"));
    assert_request(&sent[1], "DELETE", &format!("{BASE}/12347"));
}

// ---------------------------------------------------------------- auth

#[tokio::test]
async fn bearer_auth_sends_authorization_instead_of_api_token() {
    let server = MockServer::start().await;
    mount(&server, "list_200.json").await;
    mount(&server, "create_200.json").await;
    let mt = mailtrap::Client::builder()
        .token(KEY)
        .account_id(ACCOUNT)
        .base_url(server.uri())
        .bearer()
        .build()
        .expect("client");

    mt.api_tokens().list().await.expect("list");
    mt.api_tokens()
        .create(CreateApiToken::new("CI deploy").permissions_from(account_admin()))
        .await
        .expect("create");

    let sent = requests(&server).await;
    assert_eq!(sent.len(), 2);
    for request in &sent {
        let expected = format!("Bearer {KEY}");
        assert_eq!(header(request, "authorization"), Some(expected.as_str()));
        assert_eq!(header(request, "api-token"), None);
    }
    assert_json_body(
        &sent[1],
        fixture("create_200.json")["request"]["body"].clone(),
    );
    assert_hidden(KEY, &mt, &"");
}

#[tokio::test]
async fn auth_scheme_can_be_set_explicitly() {
    let server = MockServer::start().await;
    mount(&server, "get_200.json").await;
    let mt = mailtrap::Client::builder()
        .token(KEY)
        .account_id(ACCOUNT)
        .base_url(server.uri())
        .bearer()
        .auth_scheme(AuthScheme::Bearer)
        .auth_scheme(AuthScheme::ApiToken)
        .build()
        .expect("client");

    mt.api_tokens().get(id(12301)).await.expect("get");

    assert_request(
        &only_request(&server).await,
        "GET",
        &format!("{BASE}/12301"),
    );
}

// ---------------------------------------------------------------- errors

#[tokio::test]
async fn error_401_is_unauthorized_with_the_message_and_request_id() {
    let server = MockServer::start().await;
    mount(&server, "error_401.json").await;

    let err = client(&server).api_tokens().list().await.unwrap_err();

    assert_request(&only_request(&server).await, "GET", BASE);
    let Error::Unauthorized(api) = &err else {
        panic!("expected Unauthorized, got {err:?}");
    };
    assert_eq!(api.status, 401);
    assert_eq!(api.messages, ["Incorrect API token"]);
    assert_eq!(api.request_id.as_deref(), Some("5f0e4a1c-e401-0006"));
    assert!(err.to_string().contains("Incorrect API token"), "{err}");
    assert_hidden(KEY, &err, &err);
}

#[tokio::test]
async fn error_403_is_forbidden_from_an_errors_string() {
    let server = MockServer::start().await;
    mount(&server, "error_403.json").await;

    let err = client(&server)
        .api_tokens()
        .create(CreateApiToken::new("CI deploy").permissions_from(account_admin()))
        .await
        .unwrap_err();

    assert_request(&only_request(&server).await, "POST", BASE);
    assert!(matches!(err, Error::Forbidden(_)), "{err:?}");
    assert_eq!(err.messages(), ["Account access forbidden"]);
    assert_eq!(err.status(), Some(403));
}

#[tokio::test]
async fn error_404_is_not_found() {
    let server = MockServer::start().await;
    mount(&server, "error_404.json").await;

    let err = client(&server)
        .api_tokens()
        .get(id(99999))
        .await
        .unwrap_err();

    assert_request(
        &only_request(&server).await,
        "GET",
        &format!("{BASE}/99999"),
    );
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    assert_eq!(err.messages(), ["Not Found"]);
    assert_eq!(err.request_id(), Some("5f0e4a1c-e404-0008"));
}

#[tokio::test]
async fn error_422_base_keeps_the_record_level_message() {
    let server = MockServer::start().await;
    mount(&server, "error_422_base.json").await;

    let err = client(&server)
        .api_tokens()
        .reset(id(12301), Expiry::ServerDefault)
        .await
        .unwrap_err();

    let request = only_request(&server).await;
    assert_request(&request, "POST", &format!("{BASE}/12301/reset"));
    assert_no_body(&request);
    let Error::Api(api) = &err else {
        panic!("expected Api, got {err:?}");
    };
    assert_eq!(api.status, 422);
    assert_eq!(
        api.messages,
        ["Only tokens without expiration can be reset"]
    );
    assert_eq!(
        api.field_errors,
        BTreeMap::from([(
            "base".to_owned(),
            vec!["Only tokens without expiration can be reset".to_owned()]
        )])
    );
    assert!(!err.is_retryable());
}

/// The service's current reset rule (a token already reset, or expired, is
/// refused) and its published one (only a token without an expiration)
/// are both the service's to apply: the crate sends the reset either way
/// and returns the 422 with the service's own words, never repeated.
#[tokio::test]
async fn a_reset_refused_by_either_rule_is_the_services_422() {
    for (token, message) in [
        (12301, "Token has already been reset"),
        (12302, "Token has expired"),
        (12303, "Only tokens without expiration can be reset"),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(format!("{BASE}/{token}/reset")))
            .respond_with(
                ResponseTemplate::new(422).set_body_json(json!({"errors": {"base": [message]}})),
            )
            .expect(1)
            .mount(&server)
            .await;

        let err = retrying_client(&server)
            .api_tokens()
            .reset(id(token), Expiry::Never)
            .await
            .unwrap_err();

        let request = only_request(&server).await;
        assert_request(&request, "POST", &format!("{BASE}/{token}/reset"));
        assert_json_body(&request, json!({"expires_at": null}));
        let Error::Api(api) = &err else {
            panic!("expected Api, got {err:?}");
        };
        assert_eq!(api.status, 422);
        assert_eq!(api.messages, [message]);
        assert_eq!(api.field_errors["base"], [message]);
        assert!(!err.is_retryable());
        assert!(!err.is_outcome_unknown());
    }
}

#[tokio::test]
async fn error_422_fields_keeps_each_field_from_a_string_or_a_list() {
    let server = MockServer::start().await;
    let fx = mount(&server, "error_422_fields.json").await;

    let err = client(&server)
        .api_tokens()
        .create(CreateApiToken::new("CI deploy").permission(
            ResourceType::Project,
            4243,
            AccessLevel::Admin,
        ))
        .await
        .unwrap_err();

    let request = only_request(&server).await;
    assert_request(&request, "POST", BASE);
    assert_json_body(&request, fx["request"]["body"].clone());
    let api = match &err {
        Error::Api(api) => api,
        other => panic!("expected Api, got {other:?}"),
    };
    assert_eq!(api.status, 422);
    assert_eq!(api.field_errors["name"], ["has already been taken"]);
    assert_eq!(
        api.field_errors["resources"],
        [
            "project 4243 does not exist",
            "must grant access to at least one resource you can manage"
        ]
    );
    assert_eq!(api.field_errors.len(), 2);
    assert_eq!(
        api.messages,
        [
            "name: has already been taken",
            "resources: project 4243 does not exist",
            "resources: must grant access to at least one resource you can manage"
        ]
    );
}

#[tokio::test]
async fn errors_list_shape_gives_every_message() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(BASE))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"errors": ["Invalid account id", "Unsupported filter"]})),
        )
        .expect(1)
        .mount(&server)
        .await;

    let err = client(&server).api_tokens().list().await.unwrap_err();

    assert!(
        matches!(err, Error::Api(ref a) if a.status == 400),
        "{err:?}"
    );
    assert_eq!(err.messages(), ["Invalid account id", "Unsupported filter"]);
}

#[tokio::test]
async fn error_429_is_rate_limited_with_the_rate_limit_headers() {
    let server = MockServer::start().await;
    mount(&server, "error_429.json").await;
    let mt = client(&server);

    let err = mt.api_tokens().list().await.unwrap_err();

    assert_request(&only_request(&server).await, "GET", BASE);
    let Error::RateLimited { retry_after, error } = &err else {
        panic!("expected RateLimited, got {err:?}");
    };
    assert_eq!(*retry_after, None);
    assert_eq!(error.messages, ["Rate limit exceeded"]);
    assert_eq!(error.rate_limit, Some(RateLimit::new(Some(150), Some(0))));
    assert_eq!(err.rate_limit(), Some(RateLimit::new(Some(150), Some(0))));
    assert_eq!(
        mt.last_rate_limit(),
        Some(RateLimit::new(Some(150), Some(0)))
    );
    assert!(err.is_retryable());
}

#[tokio::test]
async fn error_500_on_create_is_an_unknown_outcome_and_sent_once() {
    let server = MockServer::start().await;
    mount(&server, "error_500.json").await;

    let err = retrying_client(&server)
        .api_tokens()
        .create(CreateApiToken::new("CI deploy").permissions_from(account_admin()))
        .await
        .unwrap_err();

    assert_request(&only_request(&server).await, "POST", BASE);
    // A 500 after the request was sent: a token may exist, so the error
    // says the outcome is unknown and keeps the service's answer inside.
    let cause = unknown(&err, "create");
    assert!(matches!(cause, Error::Api(a) if a.status == 500), "{err:?}");
    assert!(cause.is_retryable());
    assert_eq!(err.status(), Some(500));
    assert_eq!(err.messages(), ["Internal Server Error"]);
    assert_eq!(err.rate_limit(), Some(RateLimit::new(Some(150), Some(139))));
}

/// An error answer may echo what it was sent (a gateway quoting the
/// request) or carry a token: neither the caller's key nor a value under a
/// secret's name reaches the error, whatever the body's shape.
#[tokio::test]
async fn an_error_answer_quoting_a_secret_never_shows_it() {
    let minted = "FAKE0minted0secret0in0an0error0q2w3";
    for (status, body) in [
        (401, format!(r#"{{"error":"Incorrect API token {KEY}"}}"#)),
        (
            502,
            format!("<html><title>Bad gateway</title><pre>Api-Token: {KEY}</pre></html>"),
        ),
        (
            422,
            format!(r#"{{"errors":{{"base":[{{"token":"{minted}"}}]}}}}"#),
        ),
        (409, format!(r#"{{"errors":"exists","token":"{minted}"}}"#)),
        (500, format!(r#"{{"message":{{"api_token":"{minted}"}}"#)),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(status).set_body_string(body.clone()))
            .mount(&server)
            .await;
        let err = client(&server).api_tokens().list().await.unwrap_err();
        assert_eq!(err.status(), Some(status), "{body}");
        if status == 401 {
            assert_eq!(err.messages(), ["Incorrect API token [REDACTED]"]);
        }
        for secret in [KEY, minted] {
            assert_hidden(secret, &err, &err);
            assert_hidden(secret, &err.api_error(), &err.messages().join(" "));
        }
    }
}

#[tokio::test]
async fn an_html_gateway_page_still_gives_the_status_and_its_title() {
    let server = MockServer::start().await;
    mount(&server, "error_502_html.json").await;

    let err = client(&server).api_tokens().list().await.unwrap_err();

    assert!(
        matches!(err, Error::Api(ref a) if a.status == 502),
        "{err:?}"
    );
    assert_eq!(err.messages(), ["502 Bad Gateway"]);
}

#[tokio::test]
async fn empty_and_garbled_error_bodies_still_give_typed_errors() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{BASE}/1")))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{BASE}/2")))
        .respond_with(
            ResponseTemplate::new(401).set_body_raw("{\"error\": \"Inc", "application/json"),
        )
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("{BASE}/3")))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"unexpected": true})))
        .mount(&server)
        .await;
    let tokens = client(&server);
    let tokens = tokens.api_tokens();

    let empty = tokens.get(id(1)).await.unwrap_err();
    assert!(matches!(empty, Error::NotFound(_)), "{empty:?}");
    assert!(empty.messages().is_empty());

    let garbled = tokens.get(id(2)).await.unwrap_err();
    assert!(matches!(garbled, Error::Unauthorized(_)), "{garbled:?}");
    assert_eq!(garbled.messages(), ["{\"error\": \"Inc"]);

    let odd = tokens.delete(id(3)).await.unwrap_err();
    assert!(matches!(odd, Error::Forbidden(_)), "{odd:?}");
    assert_eq!(odd.status(), Some(403));
}

// ---------------------------------------------------------------- retries

fn create_request() -> CreateApiToken {
    CreateApiToken::new("CI deploy").permissions_from(account_admin())
}

#[tokio::test]
async fn create_is_not_repeated_after_a_503() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(BASE))
        .respond_with(
            ResponseTemplate::new(503).set_body_json(json!({"error": "Service Unavailable"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let mt = retrying_client(&server);

    let err = mt.api_tokens().create(create_request()).await.unwrap_err();

    assert!(
        matches!(unknown(&err, "create"), Error::Api(a) if a.status == 503),
        "{err:?}"
    );
    assert_eq!(err.status(), Some(503));
    assert_eq!(err.messages(), ["Service Unavailable"]);
    assert_eq!(requests(&server).await.len(), 1);
    assert_eq!(mt.stats().retries, 0);
}

#[tokio::test]
async fn reset_is_not_repeated_after_a_503() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{BASE}/12345/reset")))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;

    let err = retrying_client(&server)
        .api_tokens()
        .reset(id(12345), Expiry::ServerDefault)
        .await
        .unwrap_err();

    assert!(
        matches!(unknown(&err, "reset"), Error::Api(a) if a.status == 503),
        "{err:?}"
    );
    assert_eq!(err.status(), Some(503));
    assert_eq!(requests(&server).await.len(), 1);
}

/// A client whose attempts time out after 200 ms, with retries allowed.
fn impatient_client(server: &MockServer) -> mailtrap::Client {
    mailtrap::Client::builder()
        .token(KEY)
        .account_id(ACCOUNT)
        .base_url(server.uri())
        .timeout(Duration::from_millis(200))
        .retry(RetryPolicy::default().initial_backoff(Duration::from_millis(5)))
        .build()
        .expect("client")
}

#[tokio::test]
async fn create_is_not_repeated_after_a_timeout() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(BASE))
        .respond_with(answer(&fixture("create_200.json")).set_delay(Duration::from_secs(5)))
        .expect(1)
        .mount(&server)
        .await;

    let err = impatient_client(&server)
        .api_tokens()
        .create(create_request())
        .await
        .unwrap_err();

    // Sent, and no answer: a token may have been minted.
    assert!(
        matches!(unknown(&err, "create"), Error::Timeout { attempts: 1, source } if source.is_timeout()),
        "{err:?}"
    );
    assert_eq!(requests(&server).await.len(), 1);
}

#[tokio::test]
async fn reset_is_not_repeated_after_a_timeout() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{BASE}/12345/reset")))
        .respond_with(answer(&fixture("reset_200.json")).set_delay(Duration::from_secs(5)))
        .expect(1)
        .mount(&server)
        .await;

    let err = impatient_client(&server)
        .api_tokens()
        .reset(id(12345), Expiry::ServerDefault)
        .await
        .unwrap_err();

    // Sent, and no answer: a token may have been minted.
    assert!(
        matches!(unknown(&err, "reset"), Error::Timeout { attempts: 1, source } if source.is_timeout()),
        "{err:?}"
    );
    assert_eq!(requests(&server).await.len(), 1);
}

/// Mounts a 429 answered once, then `then` for every later request.
async fn rate_limited_once(server: &MockServer, verb: &str, at: &str, then: ResponseTemplate) {
    Mock::given(method(verb))
        .and(path(at))
        .respond_with(answer(&fixture("error_429.json")))
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(method(verb))
        .and(path(at))
        .respond_with(then)
        .expect(1)
        .with_priority(2)
        .mount(server)
        .await;
}

#[tokio::test]
async fn create_is_repeated_after_a_429() {
    let server = MockServer::start().await;
    rate_limited_once(&server, "POST", BASE, answer(&fixture("create_200.json"))).await;
    let mt = retrying_client(&server);

    let new = mt
        .api_tokens()
        .create(create_request())
        .await
        .expect("create");

    assert_eq!(new.id.get(), 12345);
    let sent = requests(&server).await;
    assert_eq!(sent.len(), 2);
    for request in &sent {
        assert_request(request, "POST", BASE);
        assert_json_body(
            request,
            fixture("create_200.json")["request"]["body"].clone(),
        );
    }
    assert_eq!(mt.stats().retries, 1);
    assert_eq!(
        mt.last_rate_limit(),
        Some(RateLimit::new(Some(150), Some(146)))
    );
}

#[tokio::test]
async fn reset_is_repeated_after_a_429() {
    let server = MockServer::start().await;
    let at = format!("{BASE}/12345/reset");
    rate_limited_once(&server, "POST", &at, answer(&fixture("reset_200.json"))).await;

    let rotated = retrying_client(&server)
        .api_tokens()
        .reset(id(12345), Expiry::ServerDefault)
        .await
        .expect("reset");

    assert_eq!(rotated.id.get(), 12346);
    let sent = requests(&server).await;
    assert_eq!(sent.len(), 2);
    for request in &sent {
        assert_request(request, "POST", &at);
        assert_no_body(request);
    }
}

#[tokio::test]
async fn list_is_repeated_after_a_503() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(BASE))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(BASE))
        .respond_with(answer(&fixture("list_200.json")))
        .expect(1)
        .with_priority(2)
        .mount(&server)
        .await;

    let all = retrying_client(&server)
        .api_tokens()
        .list()
        .await
        .expect("list");

    assert_eq!(all.len(), 3);
    assert_eq!(requests(&server).await.len(), 2);
}
