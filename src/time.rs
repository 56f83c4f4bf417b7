//! Date-times as both services send them, read fast; and the one checked
//! way a span a user gives is turned into a date.

use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};
use serde::de::{self, Deserializer, Visitor};

use crate::error::Error;

/// The longest span accepted wherever a user gives one (a duration of the
/// tokens file or the command line, a rotation's lease, a reconcile's
/// age): 10,000 years (3,652,500 days). Every date this far from now is one
/// `chrono` holds, so no date computed from an accepted span overflows.
pub const MAX_SPAN: TimeDelta = TimeDelta::days(3_652_500);

/// [`MAX_SPAN`] as the refusals write it.
const MAX_SPAN_TEXT: &str = "10,000 years";

/// A span a user gave as `field`, checked: at most [`MAX_SPAN`].
///
/// ```
/// use api_tokens::lifecycle::checked_span;
/// use std::time::Duration;
///
/// assert_eq!(checked_span("lease", Duration::from_secs(600))?.num_minutes(), 10);
/// assert!(checked_span("lease", Duration::from_secs(u64::MAX)).is_err());
/// # Ok::<(), api_tokens::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::Invalid`] naming `field` when the span is longer than
/// [`MAX_SPAN`].
pub fn checked_span(field: &'static str, span: std::time::Duration) -> Result<TimeDelta, Error> {
    TimeDelta::from_std(span)
        .ok()
        .filter(|s| *s <= MAX_SPAN)
        .ok_or_else(|| too_long(field))
}

/// `at` moved forward by `span` (back when it is negative), checked: the
/// one way this crate adds a span a user gave to a date.
///
/// ```
/// use api_tokens::chrono::{TimeDelta, Utc};
/// use api_tokens::lifecycle::shifted;
///
/// let now = Utc::now();
/// assert_eq!(shifted("expires-in", now, TimeDelta::days(1))?, now + TimeDelta::days(1));
/// assert!(shifted("expires-in", now, TimeDelta::days(365_000_000)).is_err());
/// # Ok::<(), api_tokens::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::Invalid`] naming `field` when `span` is longer than
/// [`MAX_SPAN`] either way, or the date would not be one `chrono` holds.
pub fn shifted(
    field: &'static str,
    at: DateTime<Utc>,
    span: TimeDelta,
) -> Result<DateTime<Utc>, Error> {
    if span.abs() > MAX_SPAN {
        return Err(too_long(field));
    }
    at.checked_add_signed(span)
        .ok_or_else(|| Error::invalid(field, "the date it gives is out of range"))
}

/// The refusal of a span longer than [`MAX_SPAN`].
fn too_long(field: &'static str) -> Error {
    Error::invalid(
        field,
        format!("the span is longer than {MAX_SPAN_TEXT}, the longest accepted"),
    )
}

/// Nanoseconds per unit of the last digit of a fraction of `n` digits.
const FRACTION_SCALE: [u32; 10] = [
    0,
    100_000_000,
    10_000_000,
    1_000_000,
    100_000,
    10_000,
    1_000,
    100,
    10,
    1,
];

/// The value of an ASCII digit.
#[inline(always)]
fn digit(c: u8) -> Option<u32> {
    let d = c.wrapping_sub(b'0');
    (d < 10).then_some(u32::from(d))
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, the one shape both services
/// send; `None` for any other shape (an offset, a leap second), which the
/// caller hands to chrono's general RFC 3339 parser.
#[inline]
fn parse_utc_fast(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    let (head, rest) = b.split_first_chunk::<19>()?;
    let (&b'Z', fraction) = rest.split_last()? else {
        return None;
    };
    if head[4] != b'-'
        || head[7] != b'-'
        || head[10] != b'T'
        || head[13] != b':'
        || head[16] != b':'
    {
        return None;
    }
    let two = |i: usize| Some(digit(head[i])? * 10 + digit(head[i + 1])?);
    let nanos = match fraction {
        [] => 0,
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => {
            let mut n = 0;
            for &c in digits {
                n = n * 10 + digit(c)?;
            }
            n * FRACTION_SCALE[digits.len()]
        }
        _ => return None,
    };
    let year = two(0)? * 100 + two(2)?;
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, two(5)?, two(8)?)?;
    let time = NaiveTime::from_hms_nano_opt(two(11)?, two(14)?, two(17)?, nanos)?;
    Some(date.and_time(time).and_utc())
}

struct UtcVisitor;

impl Visitor<'_> for UtcVisitor {
    type Value = DateTime<Utc>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an RFC 3339 date-time")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<DateTime<Utc>, E> {
        match parse_utc_fast(v) {
            Some(t) => Ok(t),
            // Exactly what chrono's own `Deserialize` does.
            None => v.parse::<DateTime<Utc>>().map_err(E::custom),
        }
    }
}

/// `#[serde(deserialize_with = "crate::time::utc")]`.
pub(crate) fn utc<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    d.deserialize_str(UtcVisitor)
}

/// `#[serde(default, deserialize_with = "crate::time::option_utc")]`: `null`
/// or a date-time.
pub(crate) fn option_utc<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    struct OptionVisitor;
    impl<'de> Visitor<'de> for OptionVisitor {
        type Value = Option<DateTime<Utc>>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an RFC 3339 date-time or null")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            utc(d).map(Some)
        }
    }
    d.deserialize_option(OptionVisitor)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast path must agree with chrono on every input: same instant
    /// when both parse, and a refusal where chrono refuses.
    #[test]
    fn agrees_with_chrono() {
        let inputs = [
            "2021-07-01T09:13:23.211Z",
            "2021-07-01T09:13:23Z",
            "2021-07-01T09:13:23.1Z",
            "2021-07-01T09:13:23.123456789Z",
            "2024-02-29T23:59:59.999Z",
            "1999-12-31T00:00:00.000Z",
            // Shapes left to chrono.
            "2021-07-01T09:13:23.211+02:00",
            "2021-07-01T09:13:23.211z",
            "2021-07-01t09:13:23Z",
            "2021-07-01 09:13:23Z",
            "2016-12-31T23:59:60Z",
            "2021-07-01T09:13:23.1234567891Z",
            // Refused by both.
            "2023-02-29T00:00:00Z",
            "2021-13-01T00:00:00Z",
            "2021-07-01T24:00:00Z",
            "2021-07-01T09:61:00Z",
            "2021-07-01T09:13:23.Z",
            "2021-07-01T09:13:2xZ",
            "+021-07-01T09:13:23Z",
            "2021-07-01",
            "",
        ];
        for input in inputs {
            let json = serde_json::to_string(input).unwrap();
            let ours = utc(&mut serde_json::Deserializer::from_str(&json)).ok();
            let chrono = input.parse::<DateTime<Utc>>().ok();
            assert_eq!(ours, chrono, "{input}");
        }
        assert!(parse_utc_fast("2021-07-01T09:13:23.211Z").is_some());
        assert!(parse_utc_fast("2021-07-01T09:13:23.211+02:00").is_none());
    }

    /// Whatever the fast path reads, chrono reads the same; whatever it
    /// leaves, the visitor still reads as chrono does.
    fn agree(input: &str) -> Result<(), proptest::test_runner::TestCaseError> {
        let chrono = input.parse::<DateTime<Utc>>().ok();
        if let Some(fast) = parse_utc_fast(input) {
            proptest::prop_assert_eq!(Some(fast), chrono, "{}", input);
        }
        let json = serde_json::to_string(input).unwrap();
        let ours = utc(&mut serde_json::Deserializer::from_str(&json)).ok();
        proptest::prop_assert_eq!(ours, chrono, "{}", input);
        Ok(())
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_chrono_on_the_services_shape(
            input in "[0-9]{4}-[0-1][0-9]-[0-3][0-9]T[0-2][0-9]:[0-6][0-9]:[0-6][0-9](\\.[0-9]{0,10})?[Zz+]"
        ) {
            agree(&input)?;
        }

        #[test]
        fn agrees_with_chrono_on_near_shapes(input in "[0-9:.TZ+-]{0,32}") {
            agree(&input)?;
        }
    }

    #[test]
    fn optional_dates() {
        #[derive(serde::Deserialize)]
        struct T {
            #[serde(default, deserialize_with = "option_utc")]
            at: Option<DateTime<Utc>>,
        }
        let parse = |s: &str| serde_json::from_str::<T>(s).map(|t| t.at);
        assert_eq!(parse(r#"{"at":null}"#).unwrap(), None);
        assert_eq!(parse("{}").unwrap(), None);
        assert_eq!(
            parse(r#"{"at":"2021-07-01T09:13:23.211Z"}"#).unwrap(),
            Some("2021-07-01T09:13:23.211Z".parse().unwrap())
        );
        assert!(parse(r#"{"at":"yesterday"}"#).is_err());
        assert!(parse(r#"{"at":17}"#).is_err());
    }
}
