//! Date-times as both services send them, read fast.

use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use serde::de::{self, Deserializer, Visitor};

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, the one shape both services
/// send; `None` for any other shape (an offset, a leap second), which the
/// caller hands to chrono's general RFC 3339 parser.
#[inline]
fn parse_utc_fast(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[b.len() - 1] != b'Z'
    {
        return None;
    }
    let num = |digits: &[u8]| {
        digits.iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let nanos = match &b[19..b.len() - 1] {
        [] => 0,
        [b'.', frac @ ..] if (1..=9).contains(&frac.len()) => {
            num(frac)? * 10u32.pow(9 - frac.len() as u32)
        }
        _ => return None,
    };
    let year = i32::try_from(num(&b[0..4])?).ok()?;
    let date = NaiveDate::from_ymd_opt(year, num(&b[5..7])?, num(&b[8..10])?)?;
    let time =
        NaiveTime::from_hms_nano_opt(num(&b[11..13])?, num(&b[14..16])?, num(&b[17..19])?, nanos)?;
    Some(Utc.from_utc_datetime(&date.and_time(time)))
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
