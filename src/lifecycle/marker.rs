//! Markers: the tag an exactly-once create writes at the end of a token's
//! description (Unit) or name (Mailtrap), so that a token whose answer was
//! lost can be found again by listing.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

const OPEN: &str = "[at:";
const FROM: &str = " from:";
const TO: &str = " to:";
/// The length of a sink tag (` to:TAG`), base-36 digits.
pub(crate) const SINK_TAG_LEN: usize = 6;
const NONCE_LEN: usize = 8;
const CHECK_LEN: usize = 6;
const BASE36: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
const HEX: &[u8] = b"0123456789abcdef";

/// The most characters a marker made by this crate takes:
/// `[at:` + a time of at most 7 base-36 digits (good until the year
/// 4453) + `-` + the nonce (8) + `-` + the check (6) + ` from:` + an id of
/// at most 20 digits + `]`. A rotation's marker may also name the sink its
/// token is headed for (` to:` and 6 base-36 digits, see
/// [`Marker::sink`]) where the whole name still fits Mailtrap's 255
/// characters; [`tag`](Marker::tag) leaves that part out otherwise.
pub const MAX_MARKER_CHARS: usize = 4 + 7 + 1 + NONCE_LEN + 1 + CHECK_LEN + 6 + 20 + 1;

/// The most characters of a label that [`MailtrapLifecycle::mint`](super::MailtrapLifecycle::mint)
/// accepts: Mailtrap takes names of 1 to 255 characters, and a marker
/// with the space before it takes at most [`MAX_MARKER_CHARS`] + 1 of
/// them, which leaves 200.
pub const MAX_LABEL_CHARS: usize = crate::mailtrap::MAX_NAME_CHARS - 1 - MAX_MARKER_CHARS;

/// A unique tag for one create, written as the last word of the token's
/// description (Unit) or name (Mailtrap): `[at:TIME-NONCE-CHECK]`, or
/// `[at:TIME-NONCE-CHECK from:ID]` for a token minted to replace token
/// `ID` in a rotation.
///
/// `TIME` is the moment the marker was made, in whole seconds since the
/// Unix epoch written in base 36, so that a marker tells its age;
/// `NONCE` is 8 random characters of `0-9a-z`, so that two markers never
/// meet; `CHECK` is 6 hexadecimal digits of a SHA-256 over the time, the
/// nonce, the replaced id and the label before the marker. A name typed by
/// hand to look like a marker fails the check, and is not a marker: no
/// reconciliation ever removes such a token. (A name copied whole from a
/// marked token passes it: that is why [`mint`](super::UnitLifecycle::mint)
/// refuses labels that [look like markers](Marker::looks_like_marker), and
/// why plain creates should refuse them too.)
///
/// Markers of release 0.2.0 carry no check (`[at:TIME-NONCE]`): they are
/// still read, so that [`Reconcile::marker`](super::Reconcile::marker)
/// removes the token an error of that release named, but they are never
/// swept by age, nor taken for a replacement by a rotation
/// ([`is_checked`](Marker::is_checked) is false).
///
/// A rotation whose run holds the sink's writer lock also writes which
/// sink the new token is headed for: `[at:TIME-NONCE-CHECK to:SINK
/// from:ID]` ([`Marker::headed_for`]), so that a later run writing the same
/// sink can tell the token of a run that died from a live run's. Markers
/// without it (every earlier release's) are read as before.
///
/// Two markers are equal when their time, nonce and replaced id are; the
/// check and the sink belong to the text the marker was written into.
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
/// assert!(Marker::find(&name).unwrap().is_checked());
/// assert_eq!(Marker::label(&name), "CI deploy");
/// assert_eq!(marker.minted_at(), at);
/// assert_eq!(Marker::find(&format!("{name} 12346")), None); // a reset's new name
///
/// // The check binds the marker to its label: moved elsewhere, it is no marker.
/// let moved = name.replace("CI deploy", "other");
/// assert_eq!(Marker::find(&moved), None);
/// assert!(Marker::looks_like_marker(&moved));
///
/// let replacing = Marker::replacing_at(at, "19");
/// assert_eq!(replacing.replaces(), Some("19"));
/// assert_eq!(replacing.to_string().parse::<Marker>()?, replacing);
/// # Ok::<(), api_tokens::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Marker {
    minted_at: DateTime<Utc>,
    nonce: String,
    replaces: Option<String>,
    check: Option<String>,
    sink: Option<String>,
}

impl PartialEq for Marker {
    fn eq(&self, other: &Marker) -> bool {
        self.minted_at == other.minted_at
            && self.nonce == other.nonce
            && self.replaces == other.replaces
    }
}

impl Eq for Marker {}

impl Hash for Marker {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.minted_at.hash(state);
        self.nonce.hash(state);
        self.replaces.hash(state);
    }
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
            check: None,
            sink: None,
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

    /// The same marker, naming the sink its token is headed for by the
    /// sink's short tag ([`WriterLock::tag`](super::sink::WriterLock::tag));
    /// `None` names none. A tag that is not 1 to 16 characters of `0-9a-z`
    /// is left out.
    #[must_use]
    pub fn headed_for(self, sink: Option<&str>) -> Marker {
        let sink = sink.filter(|tag| is_sink_tag(tag)).map(str::to_owned);
        Marker { sink, ..self }
    }

    /// The tag of the sink the marked token was headed for, when the
    /// marker names one ([`Marker::headed_for`]).
    pub fn sink(&self) -> Option<&str> {
        self.sink.as_deref()
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

    /// Whether the marker carries a check (every marker this crate writes
    /// since 0.3.0 does; one [found](Marker::find) in a text has passed
    /// it). False for a marker of release 0.2.0, which is never swept by
    /// age.
    pub fn is_checked(&self) -> bool {
        self.check.is_some()
    }

    /// How old the marker is at `now` (zero for a marker from the future).
    pub fn age(&self, now: DateTime<Utc>) -> TimeDelta {
        (now - self.minted_at).max(TimeDelta::zero())
    }

    /// `label` (trimmed) followed by a space and the marker, with its check
    /// computed for that label: the description or name to create the
    /// token with. A blank label gives the marker alone. The sink a
    /// marker names ([`Marker::headed_for`]) is left out when the whole
    /// would take more than Mailtrap's 255 characters.
    pub fn tag(&self, label: &str) -> String {
        let label = label.trim();
        let bound = self.bound_to(label);
        let text = if label.is_empty() {
            bound.to_string()
        } else {
            format!("{label} {bound}")
        };
        if self.sink.is_some() && text.chars().count() > crate::mailtrap::MAX_NAME_CHARS {
            return self.clone().headed_for(None).tag(label);
        }
        text
    }

    /// The same marker, with the check it takes at the end of `label`.
    pub(crate) fn bound_to(&self, label: &str) -> Marker {
        Marker {
            check: Some(self.check_for(label.trim())),
            ..self.clone()
        }
    }

    fn check_for(&self, label: &str) -> String {
        let mut hash = Sha256::new();
        hash.update(b"api-tokens marker 1\0");
        hash.update(to_base36(self.minted_at.timestamp().max(0).unsigned_abs()).as_bytes());
        hash.update(b"\0");
        hash.update(self.nonce.as_bytes());
        hash.update(b"\0");
        hash.update(self.replaces.as_deref().unwrap_or("").as_bytes());
        hash.update(b"\0");
        hash.update(label.as_bytes());
        // Markers that name no sink keep the check they always had.
        if let Some(sink) = &self.sink {
            hash.update(b"\0to\0");
            hash.update(sink.as_bytes());
        }
        let digest = hash.finalize();
        digest
            .iter()
            .flat_map(|b| [HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]])
            .take(CHECK_LEN)
            .map(char::from)
            .collect()
    }

    /// The marker that ends `text`, if it carries one: a marker with a
    /// check is returned only when the check holds for the label before
    /// it; a marker of release 0.2.0 (no check) is returned as it is (see
    /// [`is_checked`](Marker::is_checked)).
    pub fn find(text: &str) -> Option<Marker> {
        let text = text.trim_end();
        let start = text.rfind(OPEN)?;
        let marker: Marker = text[start..].parse().ok()?;
        match &marker.check {
            Some(check) if *check != marker.check_for(text[..start].trim()) => None,
            _ => Some(marker),
        }
    }

    /// Whether `text` ends with something shaped like a marker (a last
    /// bracketed word opening with `[at:`), whether or not it is a valid
    /// one. A name or description that looks like a marker is refused by
    /// [`mint`](super::UnitLifecycle::mint) as a label, and plain creates
    /// should refuse it too: a token created with a copied marker must not
    /// pass for one minted by this crate.
    ///
    /// ```
    /// use api_tokens::lifecycle::Marker;
    ///
    /// assert!(Marker::looks_like_marker("my token [at:t0000a-abcdefgh]"));
    /// assert!(Marker::looks_like_marker("x [AT:anything]  "));
    /// assert!(!Marker::looks_like_marker("CI deploy"));
    /// assert!(!Marker::looks_like_marker("rotated [at:t0000a-abcdefgh] 12346"));
    /// ```
    pub fn looks_like_marker(text: &str) -> bool {
        let text = text.trim_end();
        text.ends_with(']')
            && text.rfind('[').is_some_and(|i| {
                text[i..]
                    .get(..OPEN.len())
                    .is_some_and(|open| open.eq_ignore_ascii_case(OPEN))
            })
    }

    /// `text` without the marker that ends it (and the spaces before it):
    /// the label the token was created with.
    pub fn label(text: &str) -> &str {
        let trimmed = text.trim_end();
        match trimmed.rfind(OPEN) {
            Some(start) if Marker::find(trimmed).is_some() => trimmed[..start].trim_end(),
            _ => trimmed,
        }
    }

    /// The label of a token named `text` by this crate, through the new ids
    /// that Mailtrap's resets append: `text` without its marker, when a
    /// marker ends it or ends it once the ` ID` words that resets added
    /// (`"CI deploy [at:…] 12350 12351"`) are taken off; `text` (trimmed)
    /// when no marker is found so. What a sink keys a secret by, so that a
    /// store keeps one key across rotations.
    pub(crate) fn label_through_resets(text: &str) -> &str {
        let whole = text.trim_end();
        let mut rest = whole;
        loop {
            let label = Marker::label(rest);
            if label.len() != rest.len() {
                return label;
            }
            match rest.rsplit_once(' ') {
                Some((head, id)) if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => {
                    rest = head.trim_end();
                }
                _ => return whole,
            }
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
        if let Some(check) = &self.check {
            write!(f, "-{check}")?;
        }
        // Before ` from:`, so that a rotation's marker still ends with
        // ` from:ID]`.
        if let Some(sink) = &self.sink {
            write!(f, "{TO}{sink}")?;
        }
        if let Some(old) = &self.replaces {
            write!(f, "{FROM}{old}")?;
        }
        f.write_str("]")
    }
}

impl FromStr for Marker {
    type Err = Error;

    /// Reads a marker written as [`Display`](fmt::Display) writes it, and
    /// nothing around it: `[at:TIME-NONCE-CHECK]`, with ` from:ID` before
    /// the bracket for a rotation's (and ` to:SINK` before that, for one
    /// that names its sink), or the form of release 0.2.0 without `-CHECK`. The check is not verified here (it needs the label):
    /// [`Marker::find`] does.
    fn from_str(s: &str) -> Result<Marker> {
        let bad = || {
            Error::invalid(
                "marker",
                "not a marker; expected `[at:TIME-NONCE-CHECK]` or `[at:TIME-NONCE-CHECK from:ID]`",
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
        let (stamp, sink) = match stamp.split_once(TO) {
            Some((stamp, sink)) if is_sink_tag(sink) => (stamp, Some(sink.to_owned())),
            Some(_) => return Err(bad()),
            None => (stamp, None),
        };
        let mut parts = stamp.split('-');
        let (time, nonce) = (parts.next().ok_or_else(bad)?, parts.next().ok_or_else(bad)?);
        let check = parts.next();
        if parts.next().is_some() {
            return Err(bad());
        }
        let nonce_ok = nonce.len() == NONCE_LEN && nonce.bytes().all(|b| BASE36.contains(&b));
        let check_ok =
            check.is_none_or(|c| c.len() == CHECK_LEN && c.bytes().all(|b| HEX.contains(&b)));
        let secs = from_base36(time)
            .filter(|_| nonce_ok && check_ok)
            .ok_or_else(bad)?;
        let minted_at = i64::try_from(secs)
            .ok()
            .and_then(|s| Utc.timestamp_opt(s, 0).single())
            .ok_or_else(bad)?;
        Ok(Marker {
            minted_at,
            nonce: nonce.to_owned(),
            replaces,
            check: check.map(str::to_owned),
            sink,
        })
    }
}

impl Serialize for Marker {
    /// As its text, `[at:TIME-NONCE-CHECK]`.
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

/// A sink's tag in a marker: 1 to 16 characters of `0-9a-z`.
fn is_sink_tag(s: &str) -> bool {
    (1..=16).contains(&s.len()) && s.bytes().all(|b| BASE36.contains(&b))
}

/// The short tag of the place `identity` names, [`SINK_TAG_LEN`] base-36
/// digits of its SHA-256.
pub(crate) fn sink_tag(identity: &str) -> String {
    let digest = Sha256::digest(identity.as_bytes());
    let mut n = u64::from_be_bytes([
        digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7],
    ]);
    (0..SINK_TAG_LEN)
        .map(|_| {
            let digit = BASE36[(n % 36) as usize];
            n /= 36;
            char::from(digit)
        })
        .collect()
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

/// The label of an old token's description: without its markers (a
/// token rotated before carries one, and older releases may have stacked
/// them), or `"rotated"` when nothing else is left.
pub(crate) fn fitted_label(text: &str) -> String {
    let mut label = text.trim();
    while Marker::looks_like_marker(label) {
        match label.rfind('[') {
            Some(i) => label = label[..i].trim_end(),
            None => break,
        }
    }
    if label.is_empty() {
        "rotated".to_owned()
    } else {
        label.to_owned()
    }
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
            let bound = marker.bound_to("CI deploy");
            assert_eq!(tagged, format!("CI deploy {bound}"));
            assert_eq!(bound.to_string().parse::<Marker>().unwrap(), marker);
            assert!(Marker::find(&tagged).unwrap().is_checked());
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
        assert_eq!(alone.tag("  "), alone.bound_to("").to_string());
        assert_eq!(Marker::label(&alone.tag("")), "");
    }

    #[test]
    fn a_check_binds_the_marker_to_its_label() {
        let at = Utc.with_ymd_and_hms(2030, 1, 2, 3, 4, 5).unwrap();
        let marker = Marker::replacing_at(at, "7");
        let tagged = marker.tag("ci");
        assert_eq!(Marker::find(&tagged), Some(marker.clone()));
        // The same marker after another label, or with its check altered,
        // or with another replaced id, is no marker.
        let suffix = &tagged["ci ".len()..];
        assert_eq!(Marker::find(&format!("other {suffix}")), None);
        assert_eq!(Marker::find(&tagged.replace(" from:7]", " from:8]")), None);
        let check_at = tagged.rfind(" from:").unwrap() - CHECK_LEN;
        let mut altered = tagged.clone();
        let flipped = if &tagged[check_at..=check_at] == "0" {
            "1"
        } else {
            "0"
        };
        altered.replace_range(check_at..=check_at, flipped);
        assert_eq!(Marker::find(&altered), None);
        assert_eq!(Marker::label(&altered), altered);
        // The longest marker this crate writes fits MAX_MARKER_CHARS.
        let far = Utc.with_ymd_and_hms(4400, 1, 1, 0, 0, 0).unwrap();
        let longest = Marker::replacing_at(far, "99999999999999999999").bound_to("x");
        assert_eq!(longest.to_string().chars().count(), MAX_MARKER_CHARS);
    }

    #[test]
    fn the_label_through_resets_drops_the_marker_and_the_ids_resets_added() {
        let at = Utc.with_ymd_and_hms(2030, 1, 2, 3, 4, 5).unwrap();
        let tagged = Marker::replacing_at(at, "41").tag("CI deploy");
        assert_eq!(Marker::label_through_resets(&tagged), "CI deploy");
        let reset = format!("{tagged} 12350");
        assert_eq!(Marker::label_through_resets(&reset), "CI deploy");
        let twice = format!("{tagged} 12350 12351 ");
        assert_eq!(Marker::label_through_resets(&twice), "CI deploy");
        // Without a marker, numbers at the end are part of the label.
        assert_eq!(Marker::label_through_resets("build 42 "), "build 42");
        assert_eq!(Marker::label_through_resets("CI deploy"), "CI deploy");
        // An altered marker is no marker: the text stays whole.
        let moved = format!("{} 7", tagged.replace("CI deploy", "other"));
        assert_eq!(Marker::label_through_resets(&moved), moved);
    }

    #[test]
    fn a_marker_may_name_the_sink_its_token_is_headed_for() {
        let at = Utc.with_ymd_and_hms(2030, 1, 2, 3, 4, 5).unwrap();
        let tag = sink_tag("file\0/run/ci/unit.token\0host");
        assert_eq!(tag.len(), SINK_TAG_LEN);
        let marker = Marker::replacing_at(at, "41").headed_for(Some(&tag));
        let text = marker.tag("CI deploy");
        assert!(text.ends_with(&format!(" to:{tag} from:41]")), "{text}");
        let found = Marker::find(&text).expect("a marker");
        assert!(found.is_checked());
        assert_eq!(found.sink(), Some(tag.as_str()));
        assert_eq!(found.replaces(), Some("41"));
        assert_eq!(
            found,
            marker.clone().headed_for(None),
            "the sink is not compared"
        );
        assert_eq!(Marker::label(&text), "CI deploy");
        // The check covers the sink: another sink's tag is no marker.
        let moved = text.replace(&format!("to:{tag} "), "to:zzzzzz ");
        assert_eq!(Marker::find(&moved), None);
        // A marker without a sink reads as before, with the same check.
        let plain = Marker::replacing_at(at, "41");
        let old_text = plain.tag("CI deploy");
        let found = Marker::find(&old_text).expect("a marker");
        assert_eq!(found.sink(), None);
        assert_eq!(found.to_string(), plain.bound_to("CI deploy").to_string());
        // Bad tags are refused when read, and left out when given.
        assert!(
            "[at:t0000a-abcdefgh-abcdef to: from:4]"
                .parse::<Marker>()
                .is_err()
        );
        assert!(
            "[at:t0000a-abcdefgh-abcdef to:AB from:4]"
                .parse::<Marker>()
                .is_err()
        );
        assert!(
            "[at:t0000a-abcdefgh-abcdef from:4 to:ab]"
                .parse::<Marker>()
                .is_err()
        );
        assert_eq!(plain.clone().headed_for(Some("Not a tag")).sink(), None);
        // A name too long for Mailtrap with the sink keeps the marker
        // without it.
        let label = "x".repeat(MAX_LABEL_CHARS);
        let long = Marker::replacing_at(at, "12345678901234567890").headed_for(Some(&tag));
        let text = long.tag(&label);
        assert!(text.chars().count() <= crate::mailtrap::MAX_NAME_CHARS);
        assert_eq!(Marker::find(&text).expect("a marker").sink(), None);
    }
}
