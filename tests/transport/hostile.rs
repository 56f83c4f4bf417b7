//! Answers a hostile or broken server may send, each of which once hung,
//! panicked or stalled a client: a rate limit of ~1.8e18, a `Retry-After`
//! of many digits, a `Retry-After` date thousands of years ahead, a limit
//! of 0. Every call runs on its own task and is watched from a plain thread
//! (a call that never yields cannot stop a timer of its own runtime), so a
//! call that outlives its bound fails the test instead of hanging it.

use crate::hostile_support;

use std::time::Duration;

use api_tokens::{Error, Pacing, RetryPolicy, unit};
use hostile_support::{Answer, Loopback};

/// The retry policy's `max_retry_after`, and so the longest pause.
const PAUSE: Duration = Duration::from_millis(200);
/// The window the rate-limit headers count in.
const WINDOW: Duration = Duration::from_millis(500);
/// The retry policy's `max_elapsed`: no retry wait ends later.
const MAX_ELAPSED: Duration = Duration::from_secs(1);
/// The bound no call may outlive: what the settings promise (a first
/// attempt held back by a pause or a window, retries within
/// `max_elapsed`) and a second for a busy machine; it was 20 s.
const BOUND: Duration = Duration::from_secs(1)
    .saturating_add(WINDOW) // the longer of a pause and a window
    .saturating_add(MAX_ELAPSED);

fn answer(status: u16, headers: &[(&'static str, &str)]) -> Answer {
    Answer::new(status, headers)
}

/// A loopback server and a client of it.
struct Setup {
    server: Loopback,
    client: unit::Client,
}

impl Setup {
    fn new(pacing: Pacing) -> Setup {
        let server = Loopback::start();
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
                    .max_elapsed(MAX_ELAPSED)
                    .max_retry_after(PAUSE),
            )
            .build()
            .unwrap();
        Setup { server, client }
    }

    /// Lists the tokens of user 2 with `client` `times` times in a row on
    /// one task; panics, saying `what` should have happened, when the
    /// calls outlive `bound` or panic.
    fn lists(
        &self,
        client: &unit::Client,
        times: usize,
        bound: Duration,
        what: &str,
    ) -> Vec<Result<usize, Error>> {
        let tokens = client.org_api_tokens("2".parse().unwrap());
        self.server
            .within(bound, async move {
                let mut results = Vec::new();
                for _ in 0..times {
                    results.push(tokens.list().await.map(|l| l.len()));
                }
                results
            })
            .unwrap_or_else(|why| panic!("{what}: {why}"))
    }

    /// Lists the tokens of user 2 once with `client`, within [`BOUND`].
    fn list_with(&self, client: &unit::Client) -> Result<usize, Error> {
        self.lists(client, 1, BOUND, "one call should have ended")
            .remove(0)
    }

    fn list(&self) -> Result<usize, Error> {
        self.list_with(&self.client)
    }
}

#[test]
fn a_rate_limit_of_1_8e18_neither_hangs_nor_fills_the_memory() {
    let setup = Setup::new(Pacing::auto().window(WINDOW));
    setup.server.script.set(vec![answer(
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
        setup.server.script.set(vec![
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
    setup.server.script.set(vec![
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
    setup.server.script.set(vec![
        answer(
            200,
            &[("x-ratelimit-limit", "0"), ("x-ratelimit-remaining", "0")],
        ),
        answer(200, &[]),
    ]);
    // Eleven windows would be 5.5 s; two windows and twelve loopback calls
    // are far less.
    let what = "the learned limit of 0 should have lapsed after one window";
    for result in setup.lists(&setup.client, 12, Duration::from_secs(4), what) {
        result.unwrap();
    }
}

/// A limit learned low is followed back up when the service raises it.
#[test]
fn a_limit_said_again_higher_is_followed() {
    let setup = Setup::new(Pacing::auto().window(Duration::from_secs(3)));
    setup.server.script.set(vec![
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
    // The first answer says 1 per 3 s, the second 100: the rest go at
    // once, where the lowest limit ever said would hold each for 3 s, and
    // ten calls would take 27 s.
    let what = "the raised limit should have been followed";
    for result in setup.lists(&setup.client, 10, Duration::from_secs(10), what) {
        result.unwrap();
    }
}
