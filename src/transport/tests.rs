//! The transport driven end to end against loopback servers: base URL,
//! auth, redirects, retries, limits and what may never be printed.
//!
//! Test code only: `mod.rs` declares this file under #[cfg(test)].

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering as AtomicOrdering};
use std::time::Duration;

use bytes::Bytes;
use reqwest::Method;
use secrecy::SecretString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use reqwest::header::HeaderMap;

use super::attempt;
use super::auth::{Auth, Scheme};
use super::call::{Body, Call};
use super::client::Transport;
use super::pacing::Pacing;
use super::response::Response;
use super::retry::{Attempt, RetryPolicy, retry_loop};
use super::state::Stats;
use crate::error::{ApiError, Error, Result, Service};

const SECRET: &str = "tok_live_Zq8sK2mXw9Lr4Tn7";
const EXTRA_SECRET: &str = "xtra_Hh3Jk5Lp7Qr9";
const JSON: &str = "application/json";

/// The shared settings with a scheme, as a dialect's builder holds them.
#[derive(Clone)]
struct TestSettings {
    settings: crate::config::Settings,
    auth: Scheme,
}

impl std::fmt::Debug for TestSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let builder = crate::config::ClientBuilder {
            settings: self.settings.clone(),
            dialect: self.auth.clone(),
        };
        builder.fmt(f)
    }
}

impl std::ops::Deref for TestSettings {
    type Target = crate::config::Settings;
    fn deref(&self) -> &Self::Target {
        &self.settings
    }
}

impl std::ops::DerefMut for TestSettings {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.settings
    }
}

impl TestSettings {
    fn header(&mut self, name: &str, value: &str) {
        let builder = crate::config::ClientBuilder {
            settings: self.settings.clone(),
            dialect: (),
        }
        .header(name, value);
        self.settings = builder.settings;
    }

    fn build(self) -> Result<Transport> {
        let scheme = self.auth;
        self.settings
            .build(crate::unit::FACTS, |token| Auth::new(scheme, token))
    }
}

fn settings(base: &str, auth: Scheme) -> TestSettings {
    let mut s = crate::config::ClientBuilder::new(Service::Unit, base, Pacing::off(), ())
        .token(SecretString::from(SECRET));
    s.settings.pacing = Pacing::off();
    TestSettings {
        settings: s.settings,
        auth,
    }
}

fn api_token() -> Scheme {
    Scheme::Header(reqwest::header::HeaderName::from_static("api-token"))
}

impl Transport {
    /// One call through the retry loop, giving the raw answer whatever its
    /// status (what the entry points build on).
    async fn send(&self, call: Call<'_>) -> Result<Response> {
        let idempotent = call.method.is_idempotent();
        let finished = self.run(&call, idempotent).await?;
        self.answer(finished, call.operation)
    }
}

/// A transport whose retries wait at most a millisecond.
fn quick(base: &str, attempts: u32) -> Transport {
    let mut s = settings(base, Scheme::Bearer);
    s.retry = RetryPolicy::default()
        .max_attempts(attempts)
        .initial_backoff(Duration::from_millis(1))
        .max_backoff(Duration::from_millis(1));
    s.build().unwrap()
}

fn call<'a>(m: Method, segments: &'a [&'a str]) -> Call<'a> {
    let body = (m == Method::POST).then(|| Body {
        content_type: JSON,
        bytes: Bytes::from_static(br#"{"description":"ci"}"#),
    });
    Call {
        operation: "test",
        method: m,
        template: "/test",
        segments,
        body,
        accept: JSON,
        mints: false,
    }
}

/// A server that reads each request in full and closes the connection
/// without a word. Returns its base URL and the count of requests read.
async fn hang_up_server() -> (String, Arc<AtomicU32>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/", listener.local_addr().unwrap());
    let seen = Arc::new(AtomicU32::new(0));
    let counter = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                while let Ok(n) = socket.read(&mut chunk).await {
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                        let length = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + length {
                            counter.fetch_add(1, AtomicOrdering::SeqCst);
                            let _ = socket.shutdown().await;
                            return;
                        }
                    }
                }
            });
        }
    });
    (base, seen)
}

fn assert_hidden(text: &str) {
    assert!(!text.contains(SECRET), "secret printed: {text}");
    assert!(
        !text.contains(EXTRA_SECRET),
        "header secret printed: {text}"
    );
}

/// A server giving this answer to every request.
async fn always(answer: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(answer)
        .mount(&server)
        .await;
    server
}

/// The transport's counters: requests sent and retries among them.
fn assert_counted(t: &Transport, requests: u64, retries: u64, context: impl std::fmt::Display) {
    assert_eq!(t.stats(), Stats { requests, retries }, "{context}");
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

// ---- base URL and path --------------------------------------------------

#[tokio::test]
async fn segments_are_percent_encoded_one_by_one() {
    let server = always(ResponseTemplate::new(204)).await;
    let t = quick(&format!("{}/v1/", server.uri()), 1);
    t.send(call(Method::GET, &["users", "a/b c?d#e%f", "x"]))
        .await
        .unwrap();
    let seen = server.received_requests().await.unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].url.path(), "/v1/users/a%2Fb%20c%3Fd%23e%25f/x");
    assert_eq!(seen[0].url.query(), None);
}

#[tokio::test]
async fn dot_and_empty_segments_are_refused_before_sending() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(204))
        .expect(0)
        .mount(&server)
        .await;
    let t = quick(&format!("{}/prefix/", server.uri()), 1);
    for bad in ["..", ".", ""] {
        let err = t
            .send(call(Method::DELETE, &["api-tokens", bad]))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Invalid {
                    field: "path segment",
                    ..
                }
            ),
            "{bad:?}: {err}"
        );
    }
    assert_eq!(t.stats().requests, 0);
}

// ---- retries ------------------------------------------------------------

async fn mount_sequence(server: &MockServer, first: ResponseTemplate, times: u64, then: u16) {
    Mock::given(wiremock::matchers::any())
        .respond_with(first)
        .up_to_n_times(times)
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(then).set_body_string("{}"))
        .with_priority(2)
        .mount(server)
        .await;
}

#[tokio::test]
async fn get_and_delete_answered_503_twice_then_200_succeed_on_the_third_request() {
    for m in [Method::GET, Method::DELETE] {
        let server = MockServer::start().await;
        mount_sequence(&server, ResponseTemplate::new(503), 2, 200).await;
        let t = quick(&server.uri(), 4);
        let r = t.send(call(m.clone(), &["tokens", "7"])).await.unwrap();
        assert_eq!(r.status, 200, "{m}");
        assert_eq!(server.received_requests().await.unwrap().len(), 3, "{m}");
        assert_counted(&t, 3, 2, &m);
    }
}

/// An answer is read once, when it came: the retry loop waits the very
/// `Retry-After` the answer holds (and its error would keep), not a second
/// reading of the date against a later clock.
#[tokio::test]
async fn the_loop_waits_what_the_answer_said_when_it_came() {
    let at = std::time::SystemTime::now() + Duration::from_secs(3);
    let mut headers = HeaderMap::new();
    headers.insert(
        reqwest::header::RETRY_AFTER,
        httpdate::fmt_http_date(at).parse().unwrap(),
    );
    let said = std::sync::Mutex::new(None);
    let waited = std::sync::Mutex::new(None);
    let (said, waited, headers) = (&said, &waited, &headers);
    let finished = retry_loop(
        &RetryPolicy::default().max_attempts(2),
        true,
        |n, _| async move {
            let status = if n == 1 { 429 } else { 200 };
            let r = Response::read(Service::Unit, status, headers.clone(), Bytes::new());
            if n == 1 {
                *said.lock().unwrap() = r.retry_after();
                // The clock moves on before the loop decides.
                std::thread::sleep(Duration::from_millis(2));
            }
            Some(Attempt::Answered(r))
        },
        |d| {
            *waited.lock().unwrap() = Some(d);
            async {}
        },
    )
    .await;
    assert_eq!(finished.attempts, 2);
    let said = said.lock().unwrap().expect("a date was read");
    assert!(said > Duration::from_secs(1), "{said:?}");
    assert_eq!(*waited.lock().unwrap(), Some(said));
}

#[tokio::test]
async fn post_answered_503_is_sent_once_and_the_answer_returned() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(503)
                .insert_header("X-Request-Id", "req-42")
                .set_body_string("<html><title>Service Unavailable</title></html>"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let t = quick(&server.uri(), 4);
    let r = t.send(call(Method::POST, &["tokens"])).await.unwrap();
    assert_eq!(r.status, 503);
    assert!(!r.is_success());
    assert_eq!(r.request_id().as_deref(), Some("req-42"));
    assert_eq!(
        r.error_body_summary().as_deref(),
        Some("Service Unavailable")
    );
    assert_counted(&t, 1, 0, "");
}

#[tokio::test]
async fn post_answered_429_then_201_is_sent_twice() {
    let server = MockServer::start().await;
    mount_sequence(&server, ResponseTemplate::new(429), 1, 201).await;
    let t = quick(&server.uri(), 4);
    let r = t.send(call(Method::POST, &["tokens"])).await.unwrap();
    assert_eq!(r.status, 201);
    let seen = server.received_requests().await.unwrap();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].body, seen[1].body, "the same body both times");
    assert_eq!(t.stats().retries, 1);
}

#[tokio::test]
async fn a_timed_out_post_is_sent_once_and_a_get_is_repeated() {
    for (m, attempts) in [(Method::POST, 1), (Method::GET, 2)] {
        let server = always(ResponseTemplate::new(201).set_delay(Duration::from_secs(30))).await;
        let mut s = settings(&server.uri(), Scheme::Bearer);
        s.timeout = Some(Duration::from_millis(200));
        s.retry = RetryPolicy::default()
            .max_attempts(2)
            .initial_backoff(Duration::from_millis(1));
        let t = s.build().unwrap();
        let err = t.send(call(m.clone(), &["tokens"])).await.unwrap_err();
        assert!(
            matches!(err, Error::Timeout { attempts: a, .. } if a == attempts),
            "{m}: {err:?}"
        );
        assert!(err.is_retryable());
        assert_eq!(
            server.received_requests().await.unwrap().len() as u32,
            attempts,
            "{m}"
        );
        assert_eq!(t.stats().requests, u64::from(attempts));
        assert_hidden(&printed(&err));
    }
}

#[tokio::test]
async fn a_connection_dropped_after_sending_is_retried_for_get_only() {
    for (m, expected) in [(Method::GET, 3), (Method::DELETE, 3), (Method::POST, 1)] {
        let (base, seen) = hang_up_server().await;
        let t = quick(&base, 3);
        let err = t.send(call(m.clone(), &["tokens"])).await.unwrap_err();
        match &err {
            Error::Transport { attempts, source } => {
                assert_eq!(*attempts, expected, "{m}");
                assert!(!source.is_connect(), "{m}: {source:?}");
            }
            other => panic!("{m}: {other:?}"),
        }
        assert_eq!(seen.load(AtomicOrdering::SeqCst), expected, "{m}");
        assert_eq!(t.stats().requests, u64::from(expected));
        assert_hidden(&printed(&err));
    }
}

#[test]
fn backoff_draws_stay_within_their_jitter_bounds() {
    let policy = RetryPolicy::default()
        .initial_backoff(Duration::from_millis(100))
        .max_backoff(Duration::from_secs(5));
    for retry in 0..10 {
        let ceiling = policy.backoff_ceiling(retry);
        assert!(ceiling <= Duration::from_secs(5));
        let draws: Vec<Duration> = (0..10_000).map(|_| policy.backoff(retry)).collect();
        let min = *draws.iter().min().unwrap();
        let max = *draws.iter().max().unwrap();
        assert!(max <= ceiling, "retry {retry}: {max:?} > {ceiling:?}");
        assert!(min < ceiling / 10, "retry {retry}: min {min:?}");
        assert!(max > ceiling * 9 / 10, "retry {retry}: max {max:?}");
        let mean = draws.iter().sum::<Duration>() / 10_000;
        assert!(
            mean > ceiling * 4 / 10 && mean < ceiling * 6 / 10,
            "retry {retry}: mean {mean:?} of {ceiling:?}"
        );
    }
    let none = RetryPolicy::default().initial_backoff(Duration::ZERO);
    assert!((0..100).all(|_| none.backoff(3) == Duration::ZERO));
}

// ---- secrets ------------------------------------------------------------

#[tokio::test]
async fn the_secret_is_never_printed_by_settings_transport_or_request() {
    let mut s = settings("https://api.example.com/v1", Scheme::Bearer);
    s.header("X-Extra-Key", EXTRA_SECRET);
    assert_hidden(&format!("{s:?}"));
    let t = s.clone().build().unwrap();
    assert_hidden(&format!("{t:?}"));

    for scheme in [Scheme::Bearer, api_token()] {
        let mut s = s.clone();
        s.auth = scheme;
        let t = s.build().unwrap();
        let c = call(Method::POST, &["tokens"]);
        let url = t.url_for(c.segments);
        let request = attempt::request(t.inner(), &c, &url).build().unwrap();
        // The request does carry both; it only never prints them.
        let carried: Vec<_> = request
            .headers()
            .values()
            .filter_map(|v| v.to_str().ok())
            .collect();
        assert!(carried.iter().any(|v| v.contains(SECRET)));
        assert!(carried.contains(&EXTRA_SECRET));
        assert_hidden(&format!("{request:?} {:?}", request.headers()));
        assert_hidden(&format!("{c:?}"));
    }
}

#[tokio::test]
async fn the_secret_is_never_printed_by_an_answer_or_its_errors() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(401)
                .insert_header("X-Request-Id", "req-1")
                .set_body_string(format!(r#"{{"error":"bad token {SECRET}"}}"#)),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string(format!(r#"{{"id":"{SECRET}"}}"#)))
        .mount(&server)
        .await;
    let mut s = settings(&server.uri(), Scheme::Bearer);
    s.header("X-Extra-Key", EXTRA_SECRET);
    let t = s.build().unwrap();

    let unauthorized = t.send(call(Method::POST, &["tokens"])).await.unwrap();
    assert_eq!(unauthorized.status, 401);
    assert_hidden(&format!("{unauthorized:?}"));
    let mut api = ApiError::new(unauthorized.service, unauthorized.status);
    api.request_id = unauthorized.request_id();
    let err = Error::from_api(api, unauthorized.retry_after());
    assert!(matches!(err, Error::Unauthorized(_)));
    assert_hidden(&printed(&err));

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Numeric {
        id: u64,
    }
    let answer = t.send(call(Method::GET, &["tokens"])).await.unwrap();
    assert_hidden(&format!("{answer:?}"));
    let err = answer.json::<Numeric>().unwrap_err();
    assert!(
        matches!(&err, Error::Decode { at, .. } if at == "id"),
        "{err:?}"
    );
    assert_hidden(&printed(&err));

    // A timeout keeps reqwest's error as its source, which names the URL
    // but never a header.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut s = settings(
        &format!("http://{}", silent.local_addr().unwrap()),
        Scheme::Bearer,
    );
    s.header("X-Extra-Key", EXTRA_SECRET);
    s.timeout = Some(Duration::from_millis(50));
    s.retry = RetryPolicy::disabled();
    let t = s.build().unwrap();
    let timeout = t.send(call(Method::GET, &["tokens"])).await.unwrap_err();
    assert!(
        matches!(timeout, Error::Timeout { attempts: 1, .. }),
        "{timeout:?}"
    );
    assert!(std::error::Error::source(&timeout).is_some());
    assert_hidden(&printed(&timeout));
    drop(silent);
}

// ---- decoding -----------------------------------------------------------

fn answer(body: &str) -> Response {
    Response::read(
        Service::Mailtrap,
        200,
        HeaderMap::new(),
        Bytes::from(body.to_owned()),
    )
}

#[derive(Debug, serde::Deserialize)]
#[allow(dead_code)]
struct Created {
    id: u64,
    token: String,
    kind: Kind,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
enum Kind {
    Account,
    Project,
}

#[test]
fn a_truncated_body_is_a_decode_error_naming_the_path() {
    let full = format!(r#"{{"id":7,"token":"{SECRET}","kind":"account"}}"#);
    assert!(answer(&full).json::<Created>().is_ok());
    let cut = &full[..full.find(SECRET).unwrap() + 6];
    let err = answer(cut).json::<Created>().unwrap_err();
    match &err {
        Error::Decode {
            service,
            status,
            at,
            reason,
            ..
        } => {
            assert_eq!(*service, Service::Mailtrap);
            assert_eq!(*status, 200);
            assert_eq!(at, "token");
            assert!(reason.contains("truncated"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert!(err.to_string().contains("`token`"), "{err}");
    assert_hidden(&printed(&err));
    assert!(!printed(&err).contains(&SECRET[..6]));
}

#[test]
fn a_decode_error_names_a_nested_path() {
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Doc {
        data: Vec<Item>,
    }
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Item {
        attributes: Attributes,
    }
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    #[serde(rename_all = "camelCase")]
    struct Attributes {
        created_at: u64,
    }
    let body = r#"{"data":[{"attributes":{"createdAt":1}},{"attributes":{"createdAt":"x"}}]}"#;
    let err = answer(body).json::<Doc>().unwrap_err();
    assert!(
        matches!(&err, Error::Decode { at, .. } if at == "data[1].attributes.createdAt"),
        "{err:?}"
    );
    let root = answer("true").json::<Doc>().unwrap_err();
    assert!(
        matches!(&root, Error::Decode { at, .. } if at == "."),
        "{root:?}"
    );
}

#[test]
fn a_decode_error_never_quotes_the_body() {
    for body in [
        // A string where a number belongs.
        format!(r#"{{"id":"{SECRET}","token":"t","kind":"account"}}"#),
        // The secret as an unknown enum value.
        format!(r#"{{"id":1,"token":"t","kind":"{SECRET}"}}"#),
        // The secret unquoted: not JSON at all.
        format!(r#"{{"id":1,"token":{SECRET}}}"#),
        // The secret as a key, with a broken value under it.
        format!(r#"{{"id":1,"token":"t","kind":"account","{SECRET}":[1,}}"#),
        // Trailing text after a complete document.
        format!(r#"{{"id":1,"token":"t","kind":"account"}} {SECRET}"#),
        // A quote inside the string where a number belongs.
        format!(r#"{{"id":"a\"{SECRET}","token":"t","kind":"account"}}"#),
        // The secret after an escaped backslash and quote.
        format!(r#"{{"id":"\\\"{SECRET}\"","token":"t","kind":"account"}}"#),
        // The secret where an object belongs.
        format!(r#""{SECRET}""#),
    ] {
        let err = answer(&body).json::<Created>().unwrap_err();
        assert!(matches!(err, Error::Decode { .. }), "{body}: {err:?}");
        assert_hidden(&printed(&err));
    }
}

/// serde quotes numbers, booleans and characters between backticks: a
/// token sent as a number must not be quoted back.
#[test]
fn a_decode_error_never_quotes_a_scalar_of_the_body() {
    let digits = "98765432109876543";
    for body in [
        format!(r#"{{"id":1,"token":{digits},"kind":"account"}}"#),
        format!(r#"{{"id":1,"token":-{digits},"kind":"account"}}"#),
        format!(r#"{{"id":1,"token":{digits}.5,"kind":"account"}}"#),
        r#"{"id":1,"token":true,"kind":"account"}"#.to_owned(),
    ] {
        let err = answer(&body).json::<Created>().unwrap_err();
        let text = printed(&err);
        assert!(
            matches!(&err, Error::Decode { at, .. } if at == "token"),
            "{err:?}"
        );
        assert!(!text.contains(digits), "{text}");
        assert!(!text.contains("`true`"), "{text}");
    }
    // The crate's own names between backticks are kept: they say what was
    // expected.
    let err = answer(r#"{"id":1,"token":"t","kind":"other"}"#)
        .json::<Created>()
        .unwrap_err();
    assert!(err.to_string().contains("`account`"), "{err}");
    let err = answer(r#"{"id":1,"kind":"account"}"#)
        .json::<Created>()
        .unwrap_err();
    assert!(err.to_string().contains("`token`"), "{err}");
}
