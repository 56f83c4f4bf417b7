//! Fuzzing the pacer and the retry loop with hostile answers: rate-limit
//! headers and `Retry-After` values of any size or form (numbers of up to
//! sixty digits, negative, fractional, hexadecimal, HTTP-dates from 1970 to
//! 9999, text), on any status, from a loopback server.
//!
//! The oracle: no call panics, and no call outlives what the client's
//! settings promise, `max_retry_after` + `max_elapsed` + 1 s (a pause is
//! capped by `max_retry_after`, a window is a few milliseconds). Each call runs on its own task and is
//! watched from the test's thread, so a call that never yields (a loop
//! sized by a header) fails the case instead of hanging it.
//!
//! A bounded number of cases by default; set `API_TOKENS_FUZZ_CASES` (for
//! example to 100000) for a longer run. A case costs a few milliseconds.

use crate::fuzz_support;
use crate::hostile_support;

use std::time::Duration;

use api_tokens::{Error, Pacing, RetryPolicy, chrono, unit};
use hostile_support::{Answer, Loopback};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

fn runner() -> TestRunner {
    TestRunner::new(Config {
        // A failing case may leave a task stuck: shrink a little only.
        max_shrink_iters: 16,
        ..fuzz_support::config(fuzz_support::cases(200))
    })
}

/// The window the headers count in, and the longest pause.
const WINDOW: Duration = Duration::from_millis(2);
const ATTEMPTS: u32 = 3;
/// No retry wait (a backoff, a `Retry-After`, a wait for a slot) ends
/// later than this after the first attempt.
const MAX_ELAPSED: Duration = Duration::from_millis(200);
/// No call may outlive what the settings promise: a first attempt held
/// back at most `max_retry_after` (a pause) or a window, retries within
/// `max_elapsed`, and a second for the loopback round trips of a busy
/// machine. Once a single 429 could hold a call for a whole window
/// however small the pause; the bound used to be 10 s.
const BOUND: Duration = Duration::from_secs(1)
    .saturating_add(MAX_ELAPSED)
    .saturating_add(WINDOW);

/// A number as a header may write it: any size, or not quite a number.
fn number() -> BoxedStrategy<String> {
    prop_oneof![
        any::<u64>().prop_map(|n| n.to_string()),
        (0u64..2000).prop_map(|n| n.to_string()),
        "[0-9]{1,60}",
        Just("0".to_owned()),
        Just("18446744073709551616".to_owned()),
        Just("1844674407379551616".to_owned()),
        "-[0-9]{1,20}",
        "[0-9]{1,5}\\.[0-9]{1,5}",
        " [0-9]{1,6} ",
        "0x[0-9a-f]{1,16}",
        "[0-9]e[0-9]{1,3}",
        "[a-zA-Z ,]{1,12}",
    ]
    .boxed()
}

/// An HTTP-date from 1970 to the end of 9999, or one that only looks like
/// one.
fn http_date() -> BoxedStrategy<String> {
    prop_oneof![
        (0i64..=253_402_300_799).prop_map(|secs| {
            chrono::DateTime::from_timestamp(secs, 0)
                .map(|t| t.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
                .unwrap_or_default()
        }),
        Just("Fri, 31 Dec 9999 23:59:59 GMT".to_owned()),
        "(Mon|Tue|Sun), [0-9]{2} (Jan|Feb|Dec) [0-9]{4,6} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT",
    ]
    .boxed()
}

/// One answer of the hostile server: any status a retry loop looks at,
/// and each of its rate-limit and `Retry-After` headers or none.
fn hostile() -> impl Strategy<Value = Answer> {
    let status = prop_oneof![
        Just(200u16),
        Just(429),
        Just(503),
        Just(500),
        Just(408),
        Just(404)
    ];
    let retry_after = prop_oneof![number(), http_date()];
    (
        status,
        proptest::option::of(number()),
        proptest::option::of(number()),
        proptest::option::of(retry_after),
    )
        .prop_map(|(status, limit, remaining, retry_after)| Answer {
            status,
            headers: [
                ("x-ratelimit-limit", limit),
                ("x-ratelimit-remaining", remaining),
                ("retry-after", retry_after),
            ]
            .into_iter()
            .filter_map(|(name, value)| Some((name, value?)))
            .collect(),
        })
}

struct Harness {
    server: Loopback,
    /// One connection pool for every client: building one per case would
    /// cost more than the case.
    http: api_tokens::reqwest::Client,
}

impl Harness {
    fn new() -> Harness {
        Harness {
            server: Loopback::start(),
            http: api_tokens::reqwest::Client::builder()
                .redirect(api_tokens::reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    /// A client paced by the headers, with waits of a few milliseconds.
    fn client(&self) -> unit::Client {
        unit::Client::builder()
            .token("v2.public.FAKE-FUZZ.sig")
            .base_url(self.server.uri())
            .http_client(self.http.clone())
            .pacing(Pacing::auto().window(WINDOW))
            .timeout(Duration::from_secs(5))
            .retry(
                RetryPolicy::default()
                    .max_attempts(ATTEMPTS)
                    .initial_backoff(Duration::from_millis(1))
                    .max_backoff(Duration::from_millis(1))
                    .max_elapsed(MAX_ELAPSED)
                    .max_retry_after(WINDOW),
            )
            .build()
            .unwrap()
    }

    /// Answers the next calls with `answers`, then lists with `client`:
    /// the call must end, without a panic, within [`BOUND`].
    fn call(&self, client: &unit::Client, answers: Vec<Answer>) -> Result<(), TestCaseError> {
        self.server.script.set(answers);
        let tokens = client.org_api_tokens("2".parse().unwrap());
        let result = self
            .server
            .within(BOUND, async move { tokens.list().await.map(|l| l.len()) })
            .map_err(TestCaseError::fail)?;
        if let Err(e) = result {
            // Printing it must not panic either (a huge `Retry-After`).
            let _ = format!("{e} {e:?}");
            prop_assert!(
                e.attempts().is_some_and(|n| (1..=ATTEMPTS).contains(&n)),
                "{e:?}"
            );
            if let Error::RateLimited {
                retry_after: Some(asked),
                ..
            } = e
            {
                let _ = asked.as_secs_f64();
            }
        }
        Ok(())
    }
}

/// Each case a fresh client meets one to three hostile answers.
#[test]
fn hostile_answers_neither_panic_nor_outlive_the_bound() {
    let h = Harness::new();
    runner()
        .run(&vec(hostile(), 1..=ATTEMPTS as usize), |answers| {
            h.call(&h.client(), answers)
        })
        .unwrap();
}

/// One client and its clones meet every case in turn: what one hostile
/// answer taught the pacer must not hang, panic or stall any later call.
#[test]
fn one_client_outlasts_a_stream_of_hostile_answers() {
    let h = Harness::new();
    let client = h.client();
    runner()
        .run(&vec(hostile(), 1..=ATTEMPTS as usize), |answers| {
            h.call(&client.clone(), answers)
        })
        .unwrap();
}
