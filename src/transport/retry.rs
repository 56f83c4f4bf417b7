//! Which calls may repeat, and how long to wait between attempts.

use std::future::Future;
use std::time::Duration;

use super::outcome::{Class, Outcome};
use super::response::Response;
use crate::error::Error;

/// When and how often a failed call is made again.
///
/// Waits use full-jitter exponential backoff: before retry `n` (counting
/// from 0) the client sleeps a random time in
/// `[0, min(max_backoff, initial_backoff · 2ⁿ)]`, or what the service asked
/// for in `Retry-After` when it did. It stops after `max_attempts` attempts,
/// or when the next wait would end after `max_elapsed` since the first
/// attempt, or when `Retry-After` asks for more than `max_retry_after`; the
/// last answer or failure is then returned.
///
/// What may repeat depends on the call:
///
/// | call | repeated on |
/// |---|---|
/// | list, get, revoke, delete (GET, DELETE) | connection failures, timeouts, 408, 429, 500, 502, 503, 504 |
/// | create, reset (POST) | 429, and connection failures before the request was sent |
///
/// A create or a reset whose answer was lost (timeout, 5xx, broken
/// connection) is never sent again: the service may have minted a token.
/// The call ends with an error for which
/// [`Error::is_outcome_unknown`](crate::Error::is_outcome_unknown) is true.
///
/// Each setting is a public field, read under the name of its setter:
///
/// ```
/// use std::time::Duration;
/// use api_tokens::RetryPolicy;
///
/// let patient = RetryPolicy::default()
///     .max_attempts(6)
///     .max_elapsed(Duration::from_secs(120))
///     .initial_backoff(Duration::from_millis(500));
/// assert_eq!(patient.max_attempts, 6);
/// assert_eq!(RetryPolicy::disabled().max_attempts, 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in all, the first included (0 is read as 1).
    pub max_attempts: u32,
    /// No wait is started that would end later than this after the first
    /// attempt began: neither a retry's backoff or `Retry-After`, nor its
    /// wait for a slot under the rate limit (see [`Pacing`](crate::Pacing));
    /// the last answer is returned instead.
    pub max_elapsed: Duration,
    /// The backoff ceiling before the first retry; it doubles for each retry.
    pub initial_backoff: Duration,
    /// The largest backoff ceiling.
    pub max_backoff: Duration,
    /// The longest `Retry-After` the client waits for; a longer one ends the
    /// loop with [`Error::RateLimited`](crate::Error::RateLimited) so the
    /// caller can decide. It is also the longest a 429's `Retry-After`
    /// holds back the client's later calls (see [`Pacing`](crate::Pacing)).
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    /// 4 attempts, 60 s in all, backoff from 250 ms up to 8 s, `Retry-After`
    /// honoured up to 60 s.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            max_elapsed: Duration::from_secs(60),
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The default policy (see [`Default`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// One attempt only: nothing is ever repeated.
    pub fn disabled() -> Self {
        Self::default().max_attempts(1)
    }

    /// Sets [`max_attempts`](Self#structfield.max_attempts) (at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Sets [`max_elapsed`](Self#structfield.max_elapsed).
    pub fn max_elapsed(mut self, limit: Duration) -> Self {
        self.max_elapsed = limit;
        self
    }

    /// Sets [`initial_backoff`](Self#structfield.initial_backoff).
    pub fn initial_backoff(mut self, delay: Duration) -> Self {
        self.initial_backoff = delay;
        self
    }

    /// Sets [`max_backoff`](Self#structfield.max_backoff).
    pub fn max_backoff(mut self, delay: Duration) -> Self {
        self.max_backoff = delay;
        self
    }

    /// Sets [`max_retry_after`](Self#structfield.max_retry_after).
    pub fn max_retry_after(mut self, limit: Duration) -> Self {
        self.max_retry_after = limit;
        self
    }

    /// The upper bound of the wait before retry `retry` (0 for the first
    /// retry): `min(max_backoff, initial_backoff · 2^retry)`.
    pub(crate) fn backoff_ceiling(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX);
        self.initial_backoff
            .checked_mul(factor)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff)
    }

    /// A full-jitter wait before retry `retry`: uniform in
    /// `[0, backoff_ceiling(retry)]`.
    pub(crate) fn backoff(&self, retry: u32) -> Duration {
        let ceiling = u64::try_from(self.backoff_ceiling(retry).as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(fastrand::u64(0..=ceiling))
    }
}

/// What one attempt came to.
pub(crate) enum Attempt {
    /// The service answered (any status but a redirect).
    Answered(Response),
    /// No answer: the connection failed, timed out or broke.
    Failed {
        outcome: Outcome,
        error: reqwest::Error,
    },
    /// An answer that ends the call at once: a redirect, a body over the cap.
    Fatal(Error),
}

impl Attempt {
    /// The class of what the attempt came to; `None` for an answer that
    /// ends the call at once.
    pub(crate) fn class(&self) -> Option<Class> {
        match self {
            Attempt::Answered(r) => Some(Class::of(Outcome::Status(r.status))),
            Attempt::Failed { outcome, .. } => Some(Class::of(*outcome)),
            Attempt::Fatal(_) => None,
        }
    }
}

/// How the loop ended: the last attempt, how many were made, and whether an
/// earlier one went unanswered (so the service may have acted on it).
pub(crate) struct Finished {
    pub last: Attempt,
    pub attempts: u32,
    pub earlier_unanswered: bool,
}

/// The wait before the next attempt, or `None` to stop: the attempt limit,
/// what may repeat, `Retry-After` and its cap, and the total-time limit.
pub(crate) fn next_wait(
    policy: &RetryPolicy,
    idempotent: bool,
    attempt: u32,
    outcome: Outcome,
    retry_after: Option<Duration>,
    elapsed: Duration,
) -> Option<Duration> {
    if attempt >= policy.max_attempts.max(1) || !Class::of(outcome).may_repeat(idempotent) {
        return None;
    }
    let wait = match retry_after {
        Some(asked) if asked > policy.max_retry_after => return None,
        Some(asked) => asked,
        None => policy.backoff(attempt - 1),
    };
    // A wait too long to add to the time spent ends past any limit.
    elapsed
        .checked_add(wait)
        .is_some_and(|end| end <= policy.max_elapsed)
        .then_some(wait)
}

/// The retry loop: makes attempts, decides after each whether to repeat,
/// waits, and reports each retry as a `tracing` event (target
/// `api_tokens::retry`) inside the call's span.
///
/// `attempt(n, deadline)` makes attempt `n`; a retry gets the moment
/// `max_elapsed` ends as its deadline, and answers `None` when it could not
/// start by then (its slot under the rate limit comes later): the loop then
/// ends with the previous attempt, as when a retry wait would end too late.
pub(crate) async fn retry_loop<A, AF, S, SF>(
    policy: &RetryPolicy,
    idempotent: bool,
    mut attempt: A,
    mut sleep: S,
) -> Finished
where
    A: FnMut(u32, Option<tokio::time::Instant>) -> AF,
    AF: Future<Output = Option<Attempt>>,
    S: FnMut(Duration) -> SF,
    SF: Future<Output = ()>,
{
    let started = tokio::time::Instant::now();
    let deadline = started.checked_add(policy.max_elapsed);
    let mut earlier_unanswered = false;
    let mut n: u32 = 1;
    // The first attempt has no deadline (it is the call itself), and an
    // attempt answers `None` only past a deadline: this loop runs once.
    let mut last = loop {
        if let Some(first) = attempt(1, None).await {
            break first;
        }
    };
    loop {
        let (outcome, retry_after) = match &last {
            Attempt::Answered(r) => (Outcome::Status(r.status), r.retry_after()),
            Attempt::Failed { outcome, .. } => (*outcome, None),
            Attempt::Fatal(_) => {
                return Finished {
                    last,
                    attempts: n,
                    earlier_unanswered,
                };
            }
        };
        let Some(delay) = next_wait(
            policy,
            idempotent,
            n,
            outcome,
            retry_after,
            started.elapsed(),
        ) else {
            return Finished {
                last,
                attempts: n,
                earlier_unanswered,
            };
        };
        tracing::warn!(
            target: "api_tokens::retry",
            attempt = n,
            reason = %describe(outcome),
            delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            "retrying"
        );
        sleep(delay).await;
        // A retry that cannot start by the deadline is not made.
        let Some(next) = attempt(n + 1, deadline).await else {
            tracing::warn!(
                target: "api_tokens::retry",
                attempt = n + 1,
                "no slot under the rate limit before max_elapsed; not retrying"
            );
            return Finished {
                last,
                attempts: n,
                earlier_unanswered,
            };
        };
        earlier_unanswered |= Class::of(outcome).unanswered();
        n += 1;
        last = next;
    }
}

fn describe(outcome: Outcome) -> String {
    match outcome {
        Outcome::Status(s) => format!("status {s}"),
        Outcome::ConnectFailed => "connection failed".to_owned(),
        Outcome::TimedOut => "timed out".to_owned(),
        Outcome::Broken => "connection broken".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_double_and_cap() {
        let p = RetryPolicy::default()
            .initial_backoff(Duration::from_millis(100))
            .max_backoff(Duration::from_secs(1));
        assert_eq!(p.backoff_ceiling(0), Duration::from_millis(100));
        assert_eq!(p.backoff_ceiling(1), Duration::from_millis(200));
        assert_eq!(p.backoff_ceiling(3), Duration::from_millis(800));
        assert_eq!(p.backoff_ceiling(4), Duration::from_secs(1));
        assert_eq!(p.backoff_ceiling(200), Duration::from_secs(1));
    }
}
