//! Durations as the tokens file writes them: `90d`, `12h`, `30m`, `45s`,
//! `2w`, or a sum such as `1d12h`.

use chrono::TimeDelta;

use crate::error::Error;

/// The forms a duration may take, for error messages.
pub(crate) const FORMS: &str =
    "give a number and a unit (w, d, h, m, s), as 90d, 12h or 30m, or a sum such as 1d12h";

/// Reads a positive duration the way the tokens file and the command line
/// write them: a number and a unit, `90d`, `12h`, `30m`, `45s`, `2w`, or a
/// sum such as `1d12h` (the grammar of the `humantime` crate, so `3 days`
/// and `1h 30min` are read too).
///
/// ```
/// use api_tokens::ensure::parse_duration;
/// use api_tokens::chrono::TimeDelta;
///
/// assert_eq!(parse_duration("1d12h")?, TimeDelta::hours(36));
/// assert_eq!(parse_duration("2w")?, TimeDelta::days(14));
/// assert!(parse_duration("90").is_err()); // no unit
/// assert!(parse_duration("0s").is_err()); // not positive
/// # Ok::<(), api_tokens::Error>(())
/// ```
///
/// # Errors
///
/// [`Error::Invalid`] (field `duration`) for an empty text, a number
/// without a unit, an unknown unit, zero, or a span longer than
/// [`MAX_SPAN`](crate::lifecycle::MAX_SPAN) (10,000 years), saying which and
/// what would be accepted.
pub fn parse_duration(text: &str) -> Result<TimeDelta, Error> {
    parse(text).map_err(|reason| Error::invalid("duration", reason))
}

/// [`parse_duration`], its refusal as the message alone.
pub(crate) fn parse(text: &str) -> Result<TimeDelta, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(format!("the duration is empty; {FORMS}"));
    }
    let shown = text.escape_debug();
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{shown}` has no unit; {FORMS}"));
    }
    let span = humantime::parse_duration(text)
        .map_err(|e| format!("`{shown}` is not a duration ({e}); {FORMS}"))?;
    if span.is_zero() {
        return Err(format!("`{shown}` is zero; {FORMS}"));
    }
    crate::time::checked_span("duration", span)
        .map_err(|_| format!("`{shown}` is too long: at most 10,000 years is accepted"))
}

/// A duration written back the short way: `90d`, `1d12h`, `45s`.
pub(crate) fn show(span: TimeDelta) -> String {
    let mut secs = span.num_seconds();
    if secs <= 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (unit, size) in [('d', 86_400), ('h', 3_600), ('m', 60), ('s', 1)] {
        if secs >= size {
            out.push_str(&(secs / size).to_string());
            out.push(unit);
            secs %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_the_short_way() {
        assert_eq!(show(TimeDelta::days(90)), "90d");
        assert_eq!(show(TimeDelta::hours(36)), "1d12h");
        assert_eq!(show(TimeDelta::seconds(45)), "45s");
        assert_eq!(show(TimeDelta::zero()), "0s");
    }
}
