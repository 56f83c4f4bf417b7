//! Which calls may repeat, and how long to wait between attempts.

use std::cell::Cell;
use std::hash::{BuildHasher, RandomState};
use std::time::{Duration, SystemTime};

/// When and how often a failed call is made again.
///
/// Waits use full-jitter exponential backoff: before retry `n` (counting
/// from 0) the transport sleeps a random time in
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
/// connection) is never sent again: the service may have minted a token,
/// and a second one must not appear silently.
///
/// ```
/// use std::time::Duration;
/// use api_tokens::RetryPolicy;
///
/// let patient = RetryPolicy::default()
///     .max_attempts(6)
///     .max_elapsed(Duration::from_secs(120))
///     .initial_backoff(Duration::from_millis(500));
/// let never = RetryPolicy::disabled();
/// assert_eq!(never.attempts(), 1);
/// # let _ = patient;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    max_elapsed: Duration,
    initial_backoff: Duration,
    max_backoff: Duration,
    max_retry_after: Duration,
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

    /// Attempts in all, the first included (at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// No wait is started that would end later than this after the first
    /// attempt began.
    pub fn max_elapsed(mut self, limit: Duration) -> Self {
        self.max_elapsed = limit;
        self
    }

    /// The backoff ceiling before the first retry; it doubles for each retry.
    pub fn initial_backoff(mut self, delay: Duration) -> Self {
        self.initial_backoff = delay;
        self
    }

    /// The largest backoff ceiling.
    pub fn max_backoff(mut self, delay: Duration) -> Self {
        self.max_backoff = delay;
        self
    }

    /// The longest `Retry-After` the transport waits for; a longer one ends
    /// the loop with [`Error::RateLimited`](crate::Error::RateLimited) so the
    /// caller can decide.
    pub fn max_retry_after(mut self, limit: Duration) -> Self {
        self.max_retry_after = limit;
        self
    }

    /// Attempts in all.
    pub fn attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The total-time limit.
    pub fn elapsed_limit(&self) -> Duration {
        self.max_elapsed
    }

    /// The longest `Retry-After` honoured.
    pub fn retry_after_limit(&self) -> Duration {
        self.max_retry_after
    }

    /// The upper bound of the wait before retry `retry` (0 for the first
    /// retry): `min(max_backoff, initial_backoff · 2^retry)`.
    pub fn backoff_ceiling(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX);
        self.initial_backoff
            .checked_mul(factor)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff)
    }

    /// A full-jitter wait before retry `retry`: uniform in
    /// `[0, backoff_ceiling(retry)]`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use api_tokens::RetryPolicy;
    ///
    /// let p = RetryPolicy::default().initial_backoff(Duration::from_millis(100));
    /// assert!(p.backoff(2) <= Duration::from_millis(400));
    /// ```
    pub fn backoff(&self, retry: u32) -> Duration {
        let ceiling = self.backoff_ceiling(retry).as_nanos();
        let ceiling = u64::try_from(ceiling).unwrap_or(u64::MAX);
        if ceiling == 0 {
            return Duration::ZERO;
        }
        let draw = random_u64() % ceiling.saturating_add(1);
        Duration::from_nanos(draw)
    }
}

/// What happened on one attempt, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The service answered with this status.
    Status(u16),
    /// The connection could not be made: the request was never sent.
    ConnectFailed,
    /// The attempt timed out; the service may have acted on it.
    TimedOut,
    /// The connection broke after the request may have been sent.
    Broken,
}

/// Whether an attempt with this outcome may be made again.
pub(crate) fn may_repeat(idempotent: bool, outcome: Outcome) -> bool {
    match outcome {
        Outcome::ConnectFailed => true,
        Outcome::Status(429) => true,
        Outcome::Status(408 | 500 | 502 | 503 | 504) => idempotent,
        Outcome::Status(_) => false,
        Outcome::TimedOut | Outcome::Broken => idempotent,
    }
}

/// Parses `Retry-After` in either form: delta-seconds or an HTTP-date.
/// A date in the past means "now"; a number of seconds too large for a
/// `u64` is read as `u64::MAX` seconds (above any cap), not ignored.
pub(crate) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Only digits: parsing fails only on overflow.
        return Some(Duration::from_secs(
            value.parse::<u64>().unwrap_or(u64::MAX),
        ));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let at = SystemTime::from(at);
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

thread_local! {
    static RNG: Cell<u64> = Cell::new(RandomState::new().hash_one(0x5eed_u64) | 1);
}

/// A fast, non-cryptographic random number (splitmix64), for jitter and for
/// the fakes' identifiers.
pub(crate) fn random_u64() -> u64 {
    RNG.with(|state| {
        let next = state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        state.set(next);
        let mut z = next;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    })
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

    #[test]
    fn retry_after_both_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(parse_retry_after("2", now), Some(Duration::from_secs(2)));
        // Sun, 06 Nov 1994 08:49:37 GMT is 784111777.
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:40 GMT", now),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("", now), None);
    }

    #[test]
    fn what_may_repeat() {
        assert!(may_repeat(false, Outcome::ConnectFailed));
        assert!(may_repeat(false, Outcome::Status(429)));
        assert!(!may_repeat(false, Outcome::Status(503)));
        assert!(!may_repeat(false, Outcome::TimedOut));
        assert!(!may_repeat(false, Outcome::Broken));
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(may_repeat(true, Outcome::Status(s)), "{s}");
        }
        for s in [400, 401, 403, 404, 409, 422, 501] {
            assert!(!may_repeat(true, Outcome::Status(s)), "{s}");
        }
        assert!(may_repeat(true, Outcome::TimedOut));
        assert!(may_repeat(true, Outcome::Broken));
    }
}
