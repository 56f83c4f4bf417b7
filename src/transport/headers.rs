//! What the transport reads from an answer's headers: `Retry-After` and
//! the rate-limit headers, once per answer, when it came. Any value is read
//! without a panic: a number too large is kept as the largest one, anything
//! unreadable is no value.

use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, HeaderName, RETRY_AFTER};
use tokio::time::Instant;

use crate::error::RateLimit;

/// What an answer's headers say of the rate limit, read once at the moment
/// it came: the pacer, the retry loop and the error all use this one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HeaderFacts {
    /// `X-Ratelimit-Limit` / `X-Ratelimit-Remaining`, when either is present.
    pub rate_limit: Option<RateLimit>,
    /// `Retry-After` in either form, a date read against `received`'s wall
    /// clock.
    pub retry_after: Option<Duration>,
    /// When the answer came.
    pub received: Instant,
}

impl HeaderFacts {
    /// Reads the headers of an answer that came now.
    pub(crate) fn read(headers: &HeaderMap) -> HeaderFacts {
        HeaderFacts::read_with(headers, Instant::now(), SystemTime::now)
    }

    /// Reads them, asking the wall clock only for a `Retry-After` date.
    fn read_with(
        headers: &HeaderMap,
        received: Instant,
        wall: impl FnOnce() -> SystemTime,
    ) -> HeaderFacts {
        HeaderFacts {
            rate_limit: header_rate_limit(headers),
            retry_after: headers
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, wall())),
            received,
        }
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
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// `X-Ratelimit-Limit` / `X-Ratelimit-Remaining`, when either is present.
fn header_rate_limit(headers: &HeaderMap) -> Option<RateLimit> {
    const LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
    const REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
    let read = |name: &HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    let limit = read(&LIMIT);
    let remaining = read(&REMAINING);
    (limit.is_some() || remaining.is_some()).then(|| RateLimit::new(limit, remaining))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
