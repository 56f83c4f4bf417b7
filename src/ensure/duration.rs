//! Durations as the tokens file writes them: `90d`, `12h`, `30m`, `45s`,
//! `2w`, or a sum such as `1d12h`.

use chrono::TimeDelta;

/// The forms a duration may take, for error messages.
pub(crate) const FORMS: &str =
    "give a number and a unit (w, d, h, m, s), as 90d, 12h or 30m, or a sum such as 1d12h";

/// Reads a positive duration.
pub(crate) fn parse(text: &str) -> Result<TimeDelta, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(format!("the duration is empty; {FORMS}"));
    }
    let mut total = TimeDelta::zero();
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit_secs: i64 = match c {
            'w' => 7 * 86_400,
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => {
                return Err(format!(
                    "`{}` is not a duration; {FORMS}",
                    text.escape_debug()
                ));
            }
        };
        if digits.is_empty() {
            return Err(format!(
                "`{}` has a unit without a number; {FORMS}",
                text.escape_debug()
            ));
        }
        let n: i64 = digits
            .parse()
            .map_err(|_| format!("`{}` is too long; {FORMS}", text.escape_debug()))?;
        digits.clear();
        let part = n
            .checked_mul(unit_secs)
            .and_then(TimeDelta::try_seconds)
            .ok_or_else(|| format!("`{}` is too long; {FORMS}", text.escape_debug()))?;
        total = total
            .checked_add(&part)
            .ok_or_else(|| format!("`{}` is too long; {FORMS}", text.escape_debug()))?;
    }
    if !digits.is_empty() {
        return Err(format!("`{}` has no unit; {FORMS}", text.escape_debug()));
    }
    if total <= TimeDelta::zero() {
        return Err(format!("`{}` is zero; {FORMS}", text.escape_debug()));
    }
    Ok(total)
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
    fn reads_units_and_sums() {
        assert_eq!(parse("90d"), Ok(TimeDelta::days(90)));
        assert_eq!(parse("2w"), Ok(TimeDelta::days(14)));
        assert_eq!(parse("1d12h"), Ok(TimeDelta::hours(36)));
        assert_eq!(parse(" 30m "), Ok(TimeDelta::minutes(30)));
        assert_eq!(parse("45s"), Ok(TimeDelta::seconds(45)));
        for bad in [
            "",
            "90",
            "d",
            "0d",
            "-3d",
            "3 days",
            "1.5d",
            "99999999999999999999d",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn shows_the_short_way() {
        assert_eq!(show(TimeDelta::days(90)), "90d");
        assert_eq!(show(TimeDelta::hours(36)), "1d12h");
        assert_eq!(show(TimeDelta::seconds(45)), "45s");
        assert_eq!(show(TimeDelta::zero()), "0s");
    }
}
