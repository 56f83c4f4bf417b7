//! Markers: the tag an exactly-once create writes at the end of a token's
//! description (Unit) or name (Mailtrap), so that a token whose answer was
//! lost can be found again by listing.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};

const OPEN: &str = "[at:";
const FROM: &str = " from:";
const NONCE_LEN: usize = 8;
const BASE36: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// A unique tag for one create, written as the last word of the token's
/// description (Unit) or name (Mailtrap): `[at:TIME-NONCE]`, or
/// `[at:TIME-NONCE from:ID]` for a token minted to replace token `ID` in a
/// rotation.
///
/// `TIME` is the moment the marker was made, in whole seconds since the
/// Unix epoch written in base 36, so that a marker tells its age;
/// `NONCE` is 8 random characters of `0-9a-z`, so that two markers never
/// meet.
///
/// A text *carries* a marker only when the marker ends it: a Mailtrap reset
/// names its new token `"<old name> <new id>"`, and that token does not
/// carry the old one's marker.
///
/// ```
/// use api_tokens::lifecycle::Marker;
/// use chrono::{TimeZone, Utc};
///
/// let at = Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap();
/// let marker = Marker::at(at);
/// let name = marker.tag("CI deploy");
/// assert!(name.starts_with("CI deploy [at:"));
///
/// assert_eq!(Marker::find(&name), Some(marker.clone()));
/// assert_eq!(Marker::label(&name), "CI deploy");
/// assert_eq!(marker.minted_at(), at);
/// assert_eq!(Marker::find(&format!("{name} 12346")), None); // a reset's new name
///
/// let replacing = Marker::replacing_at(at, "19");
/// assert_eq!(replacing.replaces(), Some("19"));
/// assert_eq!(replacing.to_string().parse::<Marker>()?, replacing);
/// # Ok::<(), api_tokens::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Marker {
    minted_at: DateTime<Utc>,
    nonce: String,
    replaces: Option<String>,
}

impl Marker {
    /// A new marker, made now.
    pub fn new() -> Marker {
        Marker::at(Utc::now())
    }

    /// A new marker for a create made at `at` (kept to the second): to
    /// make markers of a known age, in tests.
    pub fn at(at: DateTime<Utc>) -> Marker {
        let secs = at.timestamp().max(0);
        Marker {
            minted_at: Utc.timestamp_opt(secs, 0).single().unwrap_or(at),
            nonce: (0..NONCE_LEN)
                .map(|_| char::from(BASE36[fastrand::usize(..BASE36.len())]))
                .collect(),
            replaces: None,
        }
    }

    /// A new marker, made now, for a token that replaces token `old` in a
    /// rotation.
    pub fn replacing(old: &str) -> Marker {
        Marker::replacing_at(Utc::now(), old)
    }

    /// A new marker made at `at` for a token that replaces token `old`.
    pub fn replacing_at(at: DateTime<Utc>, old: &str) -> Marker {
        Marker {
            replaces: Some(old.to_owned()),
            ..Marker::at(at)
        }
    }

    /// When the marker was made, to the second.
    pub fn minted_at(&self) -> DateTime<Utc> {
        self.minted_at
    }

    /// The id of the token this one was minted to replace, for a marker
    /// made by a rotation.
    pub fn replaces(&self) -> Option<&str> {
        self.replaces.as_deref()
    }

    /// How old the marker is at `now` (zero for a marker from the future).
    pub fn age(&self, now: DateTime<Utc>) -> TimeDelta {
        (now - self.minted_at).max(TimeDelta::zero())
    }

    /// `label` followed by a space and the marker: the description or name
    /// to create the token with. A blank label gives the marker alone.
    pub fn tag(&self, label: &str) -> String {
        let label = label.trim();
        if label.is_empty() {
            self.to_string()
        } else {
            format!("{label} {self}")
        }
    }

    /// The marker that ends `text`, if it carries one.
    pub fn find(text: &str) -> Option<Marker> {
        let text = text.trim_end();
        let start = text.rfind(OPEN)?;
        text[start..].parse().ok()
    }

    /// `text` without the marker that ends it (and the spaces before it):
    /// the label the token was created with.
    pub fn label(text: &str) -> &str {
        let trimmed = text.trim_end();
        match trimmed.rfind(OPEN) {
            Some(start) if trimmed[start..].parse::<Marker>().is_ok() => {
                trimmed[..start].trim_end()
            }
            _ => trimmed,
        }
    }
}

impl Default for Marker {
    fn default() -> Self {
        Marker::new()
    }
}

impl fmt::Display for Marker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(OPEN)?;
        f.write_str(&to_base36(self.minted_at.timestamp().max(0).unsigned_abs()))?;
        write!(f, "-{}", self.nonce)?;
        if let Some(old) = &self.replaces {
            write!(f, "{FROM}{old}")?;
        }
        f.write_str("]")
    }
}

impl FromStr for Marker {
    type Err = Error;

    /// Reads a marker written as [`Display`](fmt::Display) writes it, and
    /// nothing around it.
    fn from_str(s: &str) -> Result<Marker> {
        let bad = || {
            Error::invalid(
                "marker",
                "not a marker; expected `[at:TIME-NONCE]` or `[at:TIME-NONCE from:ID]`",
            )
        };
        let body = s
            .strip_prefix(OPEN)
            .and_then(|rest| rest.strip_suffix(']'))
            .ok_or_else(bad)?;
        let (stamp, replaces) = match body.split_once(FROM) {
            Some((stamp, old)) if is_id(old) => (stamp, Some(old.to_owned())),
            Some(_) => return Err(bad()),
            None => (body, None),
        };
        let (time, nonce) = stamp.split_once('-').ok_or_else(bad)?;
        let nonce_ok = nonce.len() == NONCE_LEN && nonce.bytes().all(|b| BASE36.contains(&b));
        let secs = from_base36(time).filter(|_| nonce_ok).ok_or_else(bad)?;
        let minted_at = i64::try_from(secs)
            .ok()
            .and_then(|s| Utc.timestamp_opt(s, 0).single())
            .ok_or_else(bad)?;
        Ok(Marker {
            minted_at,
            nonce: nonce.to_owned(),
            replaces,
        })
    }
}

impl Serialize for Marker {
    /// As its text, `[at:TIME-NONCE]`.
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Marker {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Token ids of both services: digits, at most 20 of them.
fn is_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit())
}

fn to_base36(mut n: u64) -> String {
    let mut digits = Vec::new();
    loop {
        digits.push(BASE36[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    digits.reverse();
    String::from_utf8(digits).unwrap_or_default()
}

fn from_base36(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 12 {
        return None;
    }
    s.bytes().try_fold(0u64, |acc, b| {
        let digit = BASE36.iter().position(|&d| d == b)? as u64;
        acc.checked_mul(36)?.checked_add(digit)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_is_found_only_at_the_end() {
        let at = Utc.with_ymd_and_hms(2030, 1, 2, 3, 4, 5).unwrap();
        for marker in [Marker::at(at), Marker::replacing_at(at, "12345")] {
            let text = marker.to_string();
            assert_eq!(text.parse::<Marker>().unwrap(), marker);
            let tagged = marker.tag("  CI deploy ");
            assert_eq!(tagged, format!("CI deploy {text}"));
            assert_eq!(Marker::find(&tagged).unwrap(), marker);
            assert_eq!(Marker::find(&format!("{tagged}  ")).unwrap(), marker);
            assert_eq!(Marker::label(&tagged), "CI deploy");
            assert_eq!(Marker::find(&format!("{tagged} 12346")), None);
            assert_eq!(
                Marker::label(&format!("{tagged} 12346")),
                format!("{tagged} 12346")
            );
            assert_eq!(marker.minted_at(), at);
        }
        let alone = Marker::at(at);
        assert_eq!(alone.tag("  "), alone.to_string());
        assert_eq!(Marker::label(&alone.tag("")), "");
    }

    #[test]
    fn two_markers_differ() {
        let at = Utc::now();
        assert_ne!(Marker::at(at), Marker::at(at));
    }

    #[test]
    fn malformed_markers_are_refused() {
        for bad in [
            "",
            "[at:]",
            "[at:abc]",
            "[at:abc-1234567]",
            "[at:abc-123456789]",
            "[at:abc-ABCDEFGH]",
            "[at:ab!-12345678]",
            "[at:abc-12345678 from:]",
            "[at:abc-12345678 from:x1]",
            "[at:abc-12345678",
            "at:abc-12345678]",
            "[at:zzzzzzzzzzzzz-12345678]",
        ] {
            assert!(bad.parse::<Marker>().is_err(), "{bad}");
            assert_eq!(Marker::find(bad), None, "{bad}");
            assert_eq!(Marker::label(bad), bad.trim_end(), "{bad}");
        }
    }

    #[test]
    fn age_is_never_negative() {
        let now = Utc::now();
        let marker = Marker::at(now - TimeDelta::hours(2));
        assert!(marker.age(now) >= TimeDelta::hours(2) - TimeDelta::seconds(1));
        assert_eq!(
            Marker::at(now + TimeDelta::hours(1)).age(now),
            TimeDelta::zero()
        );
    }

    #[test]
    fn serializes_as_its_text() {
        let marker = Marker::replacing("7");
        let json = serde_json::to_string(&marker).unwrap();
        assert_eq!(json, format!("\"{marker}\""));
        assert_eq!(serde_json::from_str::<Marker>(&json).unwrap(), marker);
        assert!(serde_json::from_str::<Marker>("\"[at:nope]\"").is_err());
    }
}
