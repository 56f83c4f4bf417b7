//! The exact method and path of every Mailtrap operation, in both forms:
//! account-scoped (`/api/accounts/{account_id}/api_tokens…`, with an
//! account named on the builder) and account-free (`/api/api_tokens…`,
//! the token's own account). The account-free form sends no account id
//! anywhere: not in the path, the query, a header or the body.

use api_tokens::mailtrap::{self, AccessLevel, CreateApiToken, Expiry, ResourceType, TokenId};
use api_tokens::{Pacing, RetryPolicy};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const KEY: &str = "FAKE0paths0key0not0real0p4t5";
/// An account id unlike any other number in these requests.
const ACCOUNT: u64 = 918_273;
const TOKEN: u64 = 12_345;
const ROTATED: u64 = 12_346;

fn id(n: u64) -> TokenId {
    TokenId::new(n).expect("a valid token id")
}

fn token_body(id: u64, secret: Option<&str>) -> Value {
    let mut body = json!({
        "id": id, "name": "paths", "last_4_digits": "p4t5",
        "created_by": "ops@example.com", "expires_at": null,
        "resources": [{"resource_type": "project", "resource_id": 4242, "access_level": 10}]
    });
    if let Some(secret) = secret {
        body["token"] = json!(secret);
    }
    body
}

/// Mounts every operation of the form whose collection path is `base`,
/// each expected exactly `times` times, and a catch-all that fails the
/// test for any other method or path.
async fn mount_form(server: &MockServer, base: &str, times: u64) {
    let item = format!("{base}/{TOKEN}");
    let reset = format!("{item}/reset");
    let routes: [(&str, &str, ResponseTemplate); 5] = [
        (
            "GET",
            base,
            ResponseTemplate::new(200).set_body_json(json!([token_body(TOKEN, None)])),
        ),
        (
            "POST",
            base,
            ResponseTemplate::new(200)
                .set_body_json(token_body(TOKEN, Some("FAKE0paths0created0x1y2"))),
        ),
        (
            "GET",
            &item,
            ResponseTemplate::new(200).set_body_json(token_body(TOKEN, None)),
        ),
        ("DELETE", &item, ResponseTemplate::new(204)),
        (
            "POST",
            &reset,
            ResponseTemplate::new(200)
                .set_body_json(token_body(ROTATED, Some("FAKE0paths0rotated0z3w4"))),
        ),
    ];
    // The reset route is called twice per run (with and without a body).
    for (verb, at, answer) in routes {
        let expected = if at == reset { 2 * times } else { times };
        Mock::given(method(verb))
            .and(path(at))
            .respond_with(answer)
            .expect(expected)
            .named(format!("{verb} {at}"))
            .with_priority(1)
            .mount(server)
            .await;
    }
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(418))
        .expect(0)
        .named("any other method or path")
        .with_priority(10)
        .mount(server)
        .await;
}

fn client(server: &MockServer, account: Option<u64>) -> mailtrap::Client {
    let mut builder = mailtrap::Client::builder()
        .token(KEY)
        .base_url(server.uri())
        .retry(RetryPolicy::disabled())
        .pacing(Pacing::off());
    if let Some(account) = account {
        builder = builder.account_id(account);
    }
    builder.build().expect("client")
}

/// Runs every operation once, in this order: list, get, create, reset
/// without a body, reset with a body, delete.
async fn every_operation(mt: &mailtrap::Client) {
    let tokens = mt.api_tokens();
    assert_eq!(tokens.list().await.expect("list").len(), 1);
    assert_eq!(tokens.get(id(TOKEN)).await.expect("get").id, id(TOKEN));
    let created = tokens
        .create(CreateApiToken::new("paths").permission(
            ResourceType::Project,
            4242,
            AccessLevel::Viewer,
        ))
        .await
        .expect("create");
    assert_eq!(created.id, id(TOKEN));
    let rotated = tokens
        .reset(id(TOKEN), Expiry::ServerDefault)
        .await
        .expect("reset without a body");
    assert_eq!(rotated.id, id(ROTATED));
    tokens
        .reset(id(TOKEN), Expiry::Never)
        .await
        .expect("reset with a body");
    tokens.delete(id(TOKEN)).await.expect("delete");
}

/// The method and path of each request, in order.
fn calls(requests: &[Request]) -> Vec<(String, String)> {
    requests
        .iter()
        .map(|r| (r.method.to_string(), r.url.path().to_owned()))
        .collect()
}

fn expected_calls(base: &str) -> Vec<(String, String)> {
    let item = format!("{base}/{TOKEN}");
    let reset = format!("{item}/reset");
    [
        ("GET", base.to_owned()),
        ("GET", item.clone()),
        ("POST", base.to_owned()),
        ("POST", reset.clone()),
        ("POST", reset),
        ("DELETE", item),
    ]
    .into_iter()
    .map(|(m, p)| (m.to_owned(), p))
    .collect()
}

/// The bodies: only create and the second reset carry one.
fn assert_bodies(requests: &[Request]) {
    let bodies: Vec<Option<Value>> = requests
        .iter()
        .map(|r| {
            (!r.body.is_empty()).then(|| serde_json::from_slice(&r.body).expect("a JSON body"))
        })
        .collect();
    assert_eq!(
        bodies,
        [
            None,
            None,
            Some(json!({"name": "paths", "resources": [
                {"resource_type": "project", "resource_id": 4242, "access_level": 10}]})),
            None,
            Some(json!({"expires_at": null})),
            None,
        ]
    );
    for r in requests {
        let content_type = r.headers.get("content-type").map(|v| v.to_str().unwrap());
        if r.body.is_empty() {
            assert_eq!(content_type, None, "{} {}", r.method, r.url);
        } else {
            assert_eq!(
                content_type,
                Some("application/json"),
                "{} {}",
                r.method,
                r.url
            );
        }
    }
}

#[tokio::test]
async fn with_an_account_every_operation_uses_the_account_scoped_paths() {
    let server = MockServer::start().await;
    let base = format!("/api/accounts/{ACCOUNT}/api_tokens");
    mount_form(&server, &base, 1).await;
    let mt = client(&server, Some(ACCOUNT));
    assert_eq!(mt.account_id(), Some(ACCOUNT));
    assert_eq!(mt.api_tokens().account_id(), Some(ACCOUNT));

    every_operation(&mt).await;

    let requests = server.received_requests().await.expect("recording on");
    assert_eq!(calls(&requests), expected_calls(&base));
    for r in &requests {
        assert_eq!(r.url.query(), None, "{}", r.url);
        assert_eq!(
            r.headers.get("api-token").map(|v| v.to_str().unwrap()),
            Some(KEY)
        );
    }
    assert_bodies(&requests);
}

#[tokio::test]
async fn without_an_account_every_operation_uses_the_account_free_paths() {
    let server = MockServer::start().await;
    mount_form(&server, "/api/api_tokens", 1).await;
    let mt = client(&server, None);
    assert_eq!(mt.account_id(), None);
    assert_eq!(mt.api_tokens().account_id(), None);

    every_operation(&mt).await;

    let requests = server.received_requests().await.expect("recording on");
    assert_eq!(calls(&requests), expected_calls("/api/api_tokens"));
    assert_bodies(&requests);
    for r in &requests {
        // Path and query: no account segment, no query at all.
        assert!(!r.url.path().contains("accounts"), "{}", r.url);
        assert_eq!(r.url.query(), None, "{}", r.url);
        // Headers: none names an account, none carries an account path.
        for (name, value) in &r.headers {
            let value = value.to_str().unwrap_or_default();
            assert!(!name.as_str().contains("account"), "header {name}");
            assert!(!value.contains("accounts/"), "header {name}: {value}");
        }
        // Body: no field names an account.
        if !r.body.is_empty() {
            let text = String::from_utf8(r.body.clone()).expect("UTF-8 body");
            assert!(!text.contains("account"), "{text}");
        }
        assert_eq!(
            r.headers.get("api-token").map(|v| v.to_str().unwrap()),
            Some(KEY)
        );
    }
}

/// The account is the one thing that differs: the same calls from a
/// client with an account and one without, side by side on one server,
/// differ only in the path prefix.
#[tokio::test]
async fn both_forms_side_by_side_differ_only_in_the_prefix() {
    let server = MockServer::start().await;
    let scoped = format!("/api/accounts/{ACCOUNT}/api_tokens");
    mount_form(&server, &scoped, 1).await;
    for (verb, at) in [
        ("GET", "/api/api_tokens".to_owned()),
        ("POST", "/api/api_tokens".to_owned()),
        ("GET", format!("/api/api_tokens/{TOKEN}")),
        ("DELETE", format!("/api/api_tokens/{TOKEN}")),
        ("POST", format!("/api/api_tokens/{TOKEN}/reset")),
    ] {
        let answer = match (verb, at.ends_with("reset"), at.ends_with("tokens")) {
            ("DELETE", ..) => ResponseTemplate::new(204),
            ("GET", _, true) => {
                ResponseTemplate::new(200).set_body_json(json!([token_body(TOKEN, None)]))
            }
            ("GET", ..) => ResponseTemplate::new(200).set_body_json(token_body(TOKEN, None)),
            (_, true, _) => ResponseTemplate::new(200)
                .set_body_json(token_body(ROTATED, Some("FAKE0paths0rotated0z3w4"))),
            _ => ResponseTemplate::new(200)
                .set_body_json(token_body(TOKEN, Some("FAKE0paths0created0x1y2"))),
        };
        Mock::given(method(verb))
            .and(path(at.as_str()))
            .respond_with(answer)
            .with_priority(1)
            .mount(&server)
            .await;
    }

    every_operation(&client(&server, Some(ACCOUNT))).await;
    every_operation(&client(&server, None)).await;

    let requests = server.received_requests().await.expect("recording on");
    let (with, without) = requests.split_at(requests.len() / 2);
    assert_eq!(with.len(), 6);
    for (a, b) in with.iter().zip(without) {
        assert_eq!(a.method, b.method);
        assert_eq!(
            a.url
                .path()
                .replacen(&format!("/accounts/{ACCOUNT}"), "", 1),
            b.url.path()
        );
        assert_eq!(a.body, b.body);
    }
}

/// `for_account` switches the path form both ways on one client: the
/// derived clients share the base's token, counters and pacer, and an id
/// Mailtrap cannot have is refused before any request.
#[tokio::test]
async fn for_account_switches_the_form_and_shares_the_counters() {
    let server = MockServer::start().await;
    mount_form(&server, &format!("/api/accounts/{ACCOUNT}/api_tokens"), 1).await;
    mount_form(&server, "/api/api_tokens", 1).await;

    let own = client(&server, None);
    let scoped = own.for_account(Some(ACCOUNT)).expect("a valid account id");
    assert_eq!(scoped.account_id(), Some(ACCOUNT));
    every_operation(&scoped).await;
    let back = scoped.for_account(None).expect("the token's own account");
    assert_eq!(back.account_id(), None);
    every_operation(&back).await;

    let requests = server.received_requests().await.expect("recording on");
    let scoped_base = format!("/api/accounts/{ACCOUNT}/api_tokens");
    assert_eq!(calls(&requests[..6]), expected_calls(&scoped_base));
    assert_eq!(calls(&requests[6..]), expected_calls("/api/api_tokens"));
    // One set of counters for the three clients.
    assert_eq!(own.stats().requests, 12);
    assert_eq!(scoped.stats().requests, 12);

    for bad in [0, i64::MAX as u64 + 1] {
        let err = own.for_account(Some(bad)).expect_err("not an account id");
        assert!(err.to_string().contains("account_id"), "{err}");
    }
    assert_eq!(server.received_requests().await.map(|r| r.len()), Some(12));
}
