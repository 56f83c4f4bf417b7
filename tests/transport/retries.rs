//! What the retry policy repeats and how long it waits, through a Unit
//! client's list (a read) and, for a refused connection, its revoke and
//! create: the statuses repeated, `Retry-After` in both forms and above
//! its cap, and the attempt and time limits.
//!
//! The paused-time tests run a client without timeouts or the connection
//! pool's idle timer: with paused time tokio jumps to the next timer
//! whenever the runtime is idle, even while it waits on real socket I/O,
//! so no timer may exist but the retry sleeps themselves.

use std::time::Duration;

use api_tokens::{Error, Pacing, RetryPolicy, reqwest, unit};
use chrono::Utc;
use tokio::time::Instant;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY: &str = "v2.public.FAKE-RETRIES-KEY.sig";
const JSON_API: &str = "application/vnd.api+json";

fn builder(base: &str, retry: RetryPolicy) -> unit::ClientBuilder {
    unit::Client::builder()
        .token(KEY)
        .base_url(base)
        .pacing(Pacing::off())
        .retry(retry)
}

/// A client whose retries wait at most a millisecond.
fn quick(base: &str, attempts: u32) -> unit::Client {
    let retry = RetryPolicy::default()
        .max_attempts(attempts)
        .initial_backoff(Duration::from_millis(1))
        .max_backoff(Duration::from_millis(1));
    builder(base, retry).build().expect("client")
}

/// A client for paused time (see the module's note).
fn paused(base: &str, retry: RetryPolicy) -> unit::Client {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_idle_timeout(None)
        .build()
        .expect("a reqwest client");
    builder(base, retry)
        .timeout(None)
        .connect_timeout(None)
        .http_client(http)
        .build()
        .expect("client")
}

fn tokens(client: &unit::Client) -> unit::OrgApiTokens {
    client.org_api_tokens("2".parse().expect("user"))
}

fn create_request() -> unit::CreateApiToken {
    unit::CreateApiToken::new(
        "ci",
        [unit::Scope::Customers],
        Utc::now() + chrono::Duration::days(1),
    )
}

/// A read (list) or a mint (create) through `client`, its answer dropped.
async fn read_or_mint(client: &unit::Client, mint: bool) -> Result<(), Error> {
    if mint {
        tokens(client).create(create_request()).await.map(drop)
    } else {
        tokens(client).list().await.map(drop)
    }
}

/// `first` for the first `times` requests, then an empty list.
pub(crate) async fn sequence(first: ResponseTemplate, times: u64) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(first)
        .up_to_n_times(times)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_raw(r#"{"data":[]}"#, JSON_API))
        .with_priority(2)
        .mount(&server)
        .await;
    server
}

/// Lists through `client`: how the list ended (its status), the requests
/// `server` received, and the time it all took.
async fn timed_list(client: &unit::Client, server: &MockServer) -> (u16, usize, Duration) {
    let start = Instant::now();
    let status = match tokens(client).list().await {
        Ok(_) => 200,
        Err(e) => e.status().expect("an answer's status"),
    };
    let waited = start.elapsed();
    let sent = server.received_requests().await.expect("recorded").len();
    (status, sent, waited)
}

fn counted(client: &unit::Client) -> (u64, u64) {
    let stats = client.stats();
    (stats.requests, stats.retries)
}

#[tokio::test]
async fn every_retryable_status_is_retried_for_get() {
    for status in [408, 429, 500, 502, 503, 504] {
        let server = sequence(ResponseTemplate::new(status), 1).await;
        let client = quick(&server.uri(), 3);
        tokens(&client).list().await.expect("listed on a retry");
        assert_eq!(client.stats().retries, 1, "{status}");
    }
    for status in [400, 401, 403, 404, 409, 422, 501] {
        let server = sequence(ResponseTemplate::new(status), 1).await;
        let client = quick(&server.uri(), 3);
        let err = tokens(&client).list().await.expect_err("final");
        assert_eq!(err.status(), Some(status), "{status} is final");
        assert_eq!(client.stats().requests, 1, "{status}");
    }
}

#[tokio::test(start_paused = true)]
async fn retry_after_in_seconds_is_waited_for() {
    let server = sequence(
        ResponseTemplate::new(429).insert_header("Retry-After", "2"),
        1,
    )
    .await;
    let client = paused(&server.uri(), RetryPolicy::default());
    let (status, sent, waited) = timed_list(&client, &server).await;
    assert_eq!((status, sent), (200, 2));
    assert!(waited >= Duration::from_secs(2), "{waited:?}");
    assert!(waited < Duration::from_secs(3), "{waited:?}");
    assert_eq!(client.stats().retries, 1);
}

#[tokio::test(start_paused = true)]
async fn retry_after_as_an_http_date_is_waited_for() {
    // The date has whole seconds and is read against the real clock: four
    // seconds from the start of the current second is between three and
    // four seconds away when the answer is read.
    let now = Utc::now().timestamp();
    let at = chrono::DateTime::from_timestamp(now + 4, 0).expect("a moment");
    let date = at.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let server = sequence(
        ResponseTemplate::new(503).insert_header("Retry-After", date.as_str()),
        1,
    )
    .await;
    let client = paused(&server.uri(), RetryPolicy::default());
    let (status, sent, waited) = timed_list(&client, &server).await;
    assert_eq!((status, sent), (200, 2));
    assert!(waited >= Duration::from_secs(2), "{date}: {waited:?}");
    assert!(waited <= Duration::from_secs(4), "{date}: {waited:?}");
}

/// A `Retry-After` above the cap is not waited for, by a read or a mint:
/// the 429 is the answer.
#[tokio::test(start_paused = true)]
async fn retry_after_above_the_cap_stops_at_once() {
    for mint in [false, true] {
        let server = sequence(
            ResponseTemplate::new(429).insert_header("Retry-After", "120"),
            1,
        )
        .await;
        let client = paused(
            &server.uri(),
            RetryPolicy::default().max_retry_after(Duration::from_secs(60)),
        );
        let start = Instant::now();
        let err = read_or_mint(&client, mint).await.expect_err("429");
        match err {
            Error::RateLimited { retry_after, .. } => {
                assert_eq!(retry_after, Some(Duration::from_secs(120)), "mint {mint}");
            }
            other => panic!("mint {mint}: {other:?}"),
        }
        assert_eq!(
            start.elapsed(),
            Duration::ZERO,
            "mint {mint}: nothing was waited"
        );
        assert_eq!(counted(&client), (1, 0), "mint {mint}");
    }
}

/// A resolver that never answers: with a connect timeout set, every
/// attempt times out while connecting, without any real I/O, so paused time
/// makes it deterministic.
struct Unresolvable;

impl reqwest::dns::Resolve for Unresolvable {
    fn resolve(&self, _: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(std::future::pending())
    }
}

#[tokio::test(start_paused = true)]
async fn a_connect_timeout_is_retried_for_a_read_and_a_mint_and_reported_as_a_timeout() {
    for mint in [false, true] {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(None)
            .connect_timeout(Duration::from_secs(5))
            .dns_resolver(std::sync::Arc::new(Unresolvable))
            .build()
            .expect("a reqwest client");
        let retry = RetryPolicy::default()
            .max_attempts(3)
            .initial_backoff(Duration::from_millis(100));
        let client = builder("http://localhost:9/", retry)
            .timeout(None)
            .http_client(http)
            .build()
            .expect("client");
        let start = Instant::now();
        let err = read_or_mint(&client, mint)
            .await
            .expect_err("no connection");
        assert!(
            matches!(err, Error::Timeout { attempts: 3, .. }),
            "mint {mint}: {err:?}"
        );
        assert_eq!(
            client.stats().retries,
            2,
            "mint {mint}: nothing was sent, so it repeats"
        );
        let waited = start.elapsed();
        // Three 5 s connect timeouts and two waits of at most 100 and 200 ms.
        assert!(waited >= Duration::from_secs(15), "{waited:?}");
        assert!(waited <= Duration::from_millis(15_300), "{waited:?}");
    }
}

/// A delta-seconds `Retry-After` too large for a `u64` asks for more than
/// any cap: it stops the loop like any other above the cap, rather than
/// being ignored and replaced by a short backoff.
#[tokio::test(start_paused = true)]
async fn an_oversized_retry_after_is_above_the_cap_not_ignored() {
    let server = sequence(
        ResponseTemplate::new(429).insert_header("Retry-After", "99999999999999999999999"),
        1,
    )
    .await;
    let client = paused(&server.uri(), RetryPolicy::default());
    let err = tokens(&client).list().await.expect_err("rate limited");
    match err {
        Error::RateLimited { retry_after, .. } => {
            assert_eq!(retry_after, Some(Duration::from_secs(u64::MAX)));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(client.stats().requests, 1);
}

/// A `Retry-After` no clock can reach, with every limit lifted, after time
/// has already passed: the wait cannot end within any time limit, so the
/// answer is returned at once (adding it to the time spent must not
/// overflow).
#[tokio::test(start_paused = true)]
async fn an_endless_retry_after_with_no_limits_stops_without_overflowing() {
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(503).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let forever = u64::MAX.to_string();
    Mock::given(any())
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", forever.as_str()))
        .with_priority(2)
        .mount(&server)
        .await;
    let client = paused(
        &server.uri(),
        RetryPolicy::default()
            .max_retry_after(Duration::MAX)
            .max_elapsed(Duration::MAX),
    );
    let err = tokens(&client).list().await.expect_err("rate limited");
    match err {
        Error::RateLimited { retry_after, .. } => {
            assert_eq!(retry_after, Some(Duration::from_secs(u64::MAX)));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(counted(&client), (2, 1));
}

#[tokio::test]
async fn a_refused_connection_is_retried_for_every_call() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
        listener.local_addr().expect("its address").port()
    };
    let base = format!("http://127.0.0.1:{port}/v1/");
    for call in ["list", "revoke", "create"] {
        let client = quick(&base, 3);
        let tokens = tokens(&client);
        let err = match call {
            "list" => tokens.list().await.map(drop),
            "revoke" => tokens.revoke(&"7".parse().expect("id")).await.map(drop),
            _ => tokens.create(create_request()).await.map(drop),
        }
        .expect_err("refused");
        match &err {
            Error::Transport { attempts, source } => {
                assert_eq!(*attempts, 3, "{call}");
                assert!(source.is_connect(), "{call}: {source:?}");
            }
            other => panic!("{call}: {other:?}"),
        }
        assert_eq!(counted(&client), (3, 2), "{call}");
        assert!(!format!("{err} {err:?}").contains(KEY), "{call}");
    }
}

#[tokio::test]
async fn the_attempt_limit_stops_the_loop() {
    let server = sequence(ResponseTemplate::new(503), u64::MAX).await;
    let client = quick(&server.uri(), 3);
    let (status, sent, _) = timed_list(&client, &server).await;
    assert_eq!((status, sent), (503, 3), "the last answer is returned");
    assert_eq!(counted(&client), (3, 2));

    let once = builder(&server.uri(), RetryPolicy::disabled())
        .build()
        .expect("client");
    let err = tokens(&once).list().await.expect_err("503");
    assert_eq!(err.status(), Some(503));
    assert_eq!(once.stats().requests, 1);
}

#[tokio::test(start_paused = true)]
async fn the_time_limit_stops_the_loop() {
    let server = sequence(
        ResponseTemplate::new(503).insert_header("Retry-After", "2"),
        u64::MAX,
    )
    .await;
    let client = paused(
        &server.uri(),
        RetryPolicy::default()
            .max_attempts(10)
            .max_elapsed(Duration::from_secs(5)),
    );
    let (status, sent, waited) = timed_list(&client, &server).await;
    // Attempts at 0 s, 2 s and 4 s; a third wait would end at 6 s.
    assert_eq!((status, sent), (503, 3));
    assert!(waited >= Duration::from_secs(4), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    assert_eq!(client.stats().retries, 2);
}

#[tokio::test(start_paused = true)]
async fn backoff_waits_stay_under_their_ceilings_in_a_real_loop() {
    let server = sequence(ResponseTemplate::new(502), u64::MAX).await;
    let policy = RetryPolicy::default()
        .max_attempts(4)
        .initial_backoff(Duration::from_secs(1))
        .max_backoff(Duration::from_secs(3));
    let client = paused(&server.uri(), policy);
    let (status, _, waited) = timed_list(&client, &server).await;
    assert_eq!(status, 502);
    assert_eq!(client.stats().retries, 3);
    // Ceilings 1 s + 2 s + 3 s.
    assert!(waited <= Duration::from_secs(6), "{waited:?}");
}
