//! Answers a hostile or broken server may send, each of which once hung,
//! panicked or stalled a client: a rate limit of ~1.8e18, a `Retry-After`
//! of many digits, a `Retry-After` date thousands of years ahead, a limit
//! of 0. Every call runs on its own task and is watched from a plain thread
//! (a call that never yields cannot stop a timer of its own runtime), so a
//! call that outlives its bound fails the test instead of hanging it.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use api_tokens::{Error, Pacing, RetryPolicy, unit};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The bound no call may outlive: far above what any of them needs here
/// (at most a pause of `PAUSE` or a window of `WINDOW`, a few times).
const BOUND: Duration = Duration::from_secs(20);
/// The retry policy's `max_retry_after`, and so the longest pause.
const PAUSE: Duration = Duration::from_millis(200);
/// The window the rate-limit headers count in.
const WINDOW: Duration = Duration::from_millis(500);

/// One answer: status and headers; the body is what a list or an error
/// answer of Unit looks like.
#[derive(Clone, Debug)]
struct Answer {
    status: u16,
    headers: Vec<(&'static str, String)>,
}

fn answer(status: u16, headers: &[(&'static str, &str)]) -> Answer {
    Answer {
        status,
        headers: headers.iter().map(|(n, v)| (*n, (*v).to_owned())).collect(),
    }
}

/// Answers in turn; the last one again once the script is through.
#[derive(Clone, Default)]
struct Script(Arc<Mutex<Vec<Answer>>>);

impl Script {
    fn set(&self, answers: Vec<Answer>) {
        *self.0.lock().unwrap() = answers;
    }
}

impl Respond for Script {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let mut answers = self.0.lock().unwrap();
        let next = if answers.len() > 1 {
            answers.remove(0)
        } else {
            answers.first().cloned().unwrap_or_else(|| answer(200, &[]))
        };
        let body = if next.status < 300 {
            r#"{"data":[]}"#
        } else {
            r#"{"errors":[{"title":"refused"}]}"#
        };
        let mut template =
            ResponseTemplate::new(next.status).set_body_raw(body, "application/vnd.api+json");
        for (name, value) in next.headers {
            template = template.insert_header(name, value.as_str());
        }
        template
    }
}

/// A loopback server, a client of it, and the runtime both run on.
struct Setup {
    rt: Option<tokio::runtime::Runtime>,
    script: Script,
    client: unit::Client,
    _server: MockServer,
}

impl Setup {
    fn new(pacing: Pacing) -> Setup {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let script = Script::default();
        let server = rt.block_on(async {
            let server = MockServer::start().await;
            Mock::given(wiremock::matchers::any())
                .respond_with(script.clone())
                .mount(&server)
                .await;
            server
        });
        let client = unit::Client::builder()
            .token("v2.public.FAKE-HOSTILE.sig")
            .base_url(server.uri())
            .pacing(pacing)
            .timeout(Duration::from_secs(5))
            .retry(
                RetryPolicy::default()
                    .max_attempts(2)
                    .initial_backoff(Duration::from_millis(1))
                    .max_backoff(Duration::from_millis(1))
                    .max_retry_after(PAUSE),
            )
            .build()
            .unwrap();
        Setup {
            rt: Some(rt),
            script,
            client,
            _server: server,
        }
    }

    /// Lists the tokens of user 2 with `client`; panics when the call
    /// outlives [`BOUND`] or panics itself.
    fn list_with(&self, client: &unit::Client) -> Result<usize, Error> {
        let tokens = client.org_api_tokens("2".parse().unwrap());
        let (tx, rx) = mpsc::channel();
        self.rt.as_ref().unwrap().spawn(async move {
            let _ = tx.send(tokens.list().await.map(|l| l.len()));
        });
        match rx.recv_timeout(BOUND) {
            Ok(result) => result,
            Err(mpsc::RecvTimeoutError::Timeout) => panic!("a call outlived {BOUND:?}"),
            Err(mpsc::RecvTimeoutError::Disconnected) => panic!("the call panicked"),
        }
    }

    fn list(&self) -> Result<usize, Error> {
        self.list_with(&self.client)
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        // A task stuck in a loop that never yields must not hang the test
        // when the runtime goes.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

#[test]
fn a_rate_limit_of_1_8e18_neither_hangs_nor_fills_the_memory() {
    let setup = Setup::new(Pacing::auto().window(WINDOW));
    setup.script.set(vec![answer(
        200,
        &[
            ("x-ratelimit-limit", "1844674407379551616"),
            ("x-ratelimit-remaining", "150"),
        ],
    )]);
    for _ in 0..3 {
        assert_eq!(setup.list().unwrap(), 0);
    }
    let seen = setup.client.last_rate_limit().unwrap();
    assert_eq!(seen.limit, Some(1_844_674_407_379_551_616));
}

#[test]
fn a_retry_after_of_many_digits_is_refused_without_a_panic() {
    let setup = Setup::new(Pacing::auto().window(WINDOW));
    for digits in ["18446744073709551615", "99999999999999999999999999999999"] {
        setup.script.set(vec![
            answer(429, &[("retry-after", digits)]),
            answer(200, &[]),
        ]);
        match setup.list() {
            Err(Error::RateLimited {
                retry_after: Some(asked),
                ..
            }) => assert!(asked > PAUSE, "{asked:?}"),
            other => panic!("{other:?}"),
        }
        // The next call waits for at most the capped pause, then goes.
        assert_eq!(setup.list().unwrap(), 0);
    }
}

#[test]
fn a_retry_after_date_far_ahead_does_not_stall_later_calls_or_clones() {
    let setup = Setup::new(Pacing::auto().window(WINDOW));
    setup.script.set(vec![
        answer(429, &[("retry-after", "Fri, 31 Dec 9999 23:59:59 GMT")]),
        answer(200, &[]),
    ]);
    assert!(matches!(setup.list(), Err(Error::RateLimited { .. })));
    let clone = setup.client.clone();
    assert_eq!(setup.list_with(&clone).unwrap(), 0);
    assert_eq!(setup.list().unwrap(), 0);
}

/// A limit of 0 once held a client to one call per window for life: twelve
/// calls took eleven windows. The limit now lapses two windows after the
/// answer that said it, and twelve calls take about two windows.
#[test]
fn a_limit_of_zero_lapses_when_no_answer_repeats_it() {
    let setup = Setup::new(Pacing::auto().window(WINDOW));
    setup.script.set(vec![
        answer(
            200,
            &[("x-ratelimit-limit", "0"), ("x-ratelimit-remaining", "0")],
        ),
        answer(200, &[]),
    ]);
    let (tx, rx) = mpsc::channel();
    let client = setup.client.clone();
    setup.rt.as_ref().unwrap().spawn(async move {
        let tokens = client.org_api_tokens("2".parse().unwrap());
        for _ in 0..12 {
            tokens.list().await.unwrap();
        }
        let _ = tx.send(());
    });
    // Eleven windows would be 5.5 s; two windows and twelve loopback calls
    // are far less.
    rx.recv_timeout(Duration::from_secs(4))
        .expect("the learned limit of 0 should have lapsed after one window");
}

/// A limit learned low is followed back up when the service raises it.
#[test]
fn a_limit_said_again_higher_is_followed() {
    let setup = Setup::new(Pacing::auto().window(Duration::from_secs(3)));
    setup.script.set(vec![
        answer(
            200,
            &[("x-ratelimit-limit", "1"), ("x-ratelimit-remaining", "1")],
        ),
        answer(
            200,
            &[
                ("x-ratelimit-limit", "100"),
                ("x-ratelimit-remaining", "99"),
            ],
        ),
    ]);
    let (tx, rx) = mpsc::channel();
    let client = setup.client.clone();
    setup.rt.as_ref().unwrap().spawn(async move {
        let tokens = client.org_api_tokens("2".parse().unwrap());
        // The first answer says 1 per 3 s, the second 100: the rest go at
        // once, where the lowest limit ever said would hold each for 3 s.
        for _ in 0..10 {
            tokens.list().await.unwrap();
        }
        let _ = tx.send(());
    });
    // Following the lowest limit ever said would take 27 s.
    rx.recv_timeout(Duration::from_secs(10))
        .expect("the raised limit should have been followed");
}
