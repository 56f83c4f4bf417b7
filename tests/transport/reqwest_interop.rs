//! A user's own `reqwest` values, made from the crate's re-export
//! `api_tokens::reqwest`, are accepted by both builders and used for the
//! calls; and the handlers of both dialects are owned, so they move into
//! `tokio::spawn`.

use api_tokens::reqwest;
use api_tokens::{mailtrap, unit};
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const UNIT_KEY: &str = "v2.public.FAKE-INTEROP-KEY.sig";
const MAILTRAP_KEY: &str = "FAKE0interop0key0i9o0";

fn unit_list() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(
        json!({"data": [{"type": "apiToken", "id": "19", "attributes": {
            "createdAt": "2030-07-01T08:51:09.108Z", "description": "CI deploy"}}]})
        .to_string(),
        "application/vnd.api+json",
    )
}

fn mailtrap_list() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!([{"id": 12345, "name": "CI deploy"}]))
}

/// The user's own client, with a default header of its own: a request
/// that carries it was sent through that client.
fn own_client() -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        "x-own-client",
        reqwest::header::HeaderValue::from_static("yes"),
    );
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .expect("a reqwest client")
}

#[tokio::test]
async fn both_builders_take_the_users_own_reqwest_client() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/users/2/api-tokens"))
        .and(header("x-own-client", "yes"))
        .respond_with(unit_list())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/api_tokens"))
        .and(header("x-own-client", "yes"))
        .respond_with(mailtrap_list())
        .expect(1)
        .mount(&server)
        .await;
    let http = own_client();

    let unit = unit::Client::builder()
        .token(UNIT_KEY)
        .base_url(server.uri())
        .http_client(http.clone())
        .build()
        .expect("unit client");
    let mt = mailtrap::Client::builder()
        .token(MAILTRAP_KEY)
        .base_url(server.uri())
        .http_client(http)
        .build()
        .expect("mailtrap client");

    let listed = unit
        .org_api_tokens("2".parse().expect("user"))
        .list()
        .await
        .expect("unit list through the own client");
    assert_eq!(listed[0].id, "19");
    let listed = mt
        .api_tokens()
        .list()
        .await
        .expect("mailtrap list through the own client");
    assert_eq!(listed[0].id.get(), 12345);
}

/// A `reqwest::Proxy` of the re-export, set through
/// `customize_http_client`: the calls go to the proxy (here a loopback
/// server standing in for one), addressed to the base URL's host.
#[tokio::test]
async fn both_builders_take_a_reqwest_proxy() {
    let proxy = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/users/2/api-tokens"))
        .respond_with(unit_list())
        .expect(1)
        .mount(&proxy)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/accounts/3229/api_tokens"))
        .respond_with(mailtrap_list())
        .expect(1)
        .mount(&proxy)
        .await;
    // Nothing listens at the base URL: only the proxy can answer.
    let unreachable = "http://127.0.0.1:9";
    let via = reqwest::Proxy::http(proxy.uri()).expect("a proxy");

    let unit = unit::Client::builder()
        .token(UNIT_KEY)
        .base_url(unreachable)
        .customize_http_client({
            let via = via.clone();
            move |b| b.proxy(via.clone())
        })
        .build()
        .expect("unit client");
    let mt = mailtrap::Client::builder()
        .token(MAILTRAP_KEY)
        .account_id(3229)
        .base_url(unreachable)
        .customize_http_client(move |b| b.proxy(via.clone()))
        .build()
        .expect("mailtrap client");

    unit.org_api_tokens("2".parse().expect("user"))
        .list()
        .await
        .expect("unit list through the proxy");
    mt.api_tokens()
        .list()
        .await
        .expect("mailtrap list through the proxy");

    // The proxy got requests for the base URL's host, with the credentials.
    let received = proxy.received_requests().await.expect("recording on");
    assert_eq!(received.len(), 2);
    for r in &received {
        assert_eq!(r.url.host_str(), Some("127.0.0.1"), "{}", r.url);
        assert_eq!(r.url.port(), Some(9), "{}", r.url);
    }
    assert_eq!(
        received[0]
            .headers
            .get("authorization")
            .map(|v| v.as_bytes()),
        Some(format!("Bearer {UNIT_KEY}").as_bytes())
    );
    assert_eq!(
        received[1].headers.get("api-token").map(|v| v.as_bytes()),
        Some(MAILTRAP_KEY.as_bytes())
    );
}

/// The handlers are owned and `'static`: each moves into its own task, on
/// a runtime with several worker threads, and clones share the client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handlers_of_both_dialects_move_into_spawned_tasks() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/users/2/api-tokens"))
        .respond_with(unit_list())
        .expect(4)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/api_tokens"))
        .respond_with(mailtrap_list())
        .expect(4)
        .mount(&server)
        .await;
    let unit = unit::Client::builder()
        .token(UNIT_KEY)
        .base_url(server.uri())
        .build()
        .expect("unit client");
    let mt = mailtrap::Client::builder()
        .token(MAILTRAP_KEY)
        .base_url(server.uri())
        .build()
        .expect("mailtrap client");
    let unit_tokens: unit::OrgApiTokens = unit.org_api_tokens("2".parse().expect("user"));
    let mt_tokens: mailtrap::ApiTokens = mt.api_tokens();
    // Neither the clients nor the handlers are needed in this scope again.
    drop((unit, mt));

    let mut tasks = Vec::new();
    for _ in 0..4 {
        let u = unit_tokens.clone();
        let m = mt_tokens.clone();
        tasks.push(tokio::spawn(async move {
            let a = u.list().await?;
            let b = m.list().await?;
            Ok::<_, api_tokens::Error>((a.len(), b.len()))
        }));
    }
    // The originals move too.
    let last = tokio::spawn(async move { (unit_tokens.user_id().to_string(), mt_tokens) });
    for task in tasks {
        assert_eq!(task.await.expect("joined").expect("listed"), (1, 1));
    }
    let (user, mt_tokens) = last.await.expect("joined");
    assert_eq!(user, "2");
    assert_eq!(mt_tokens.account_id(), None);
}
