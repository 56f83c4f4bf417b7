//! A tokens file's namespace: the tag `[ns:NAME]` its tokens carry after
//! their label (before the crate's marker), so that a plan tells the tokens
//! this file minted from those minted by anyone else with the crate.

/// What opens the tag.
const OPEN: &str = "[ns:";

/// The most characters of a namespace.
pub(crate) const MAX_NAMESPACE_CHARS: usize = 40;

/// Why a text is not a namespace, or `None` when it is one: 1 to
/// [`MAX_NAMESPACE_CHARS`] characters among `a-z`, `0-9`, `-`, `_` and `.`.
pub(crate) fn refusal(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("is empty; give a name such as `payments` or leave the key out".to_owned());
    }
    if name.chars().count() > MAX_NAMESPACE_CHARS {
        return Some(format!("is longer than {MAX_NAMESPACE_CHARS} characters"));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Some(
            "may hold only lower-case letters, digits, `-`, `_` and `.` (as `payments-ci`)"
                .to_owned(),
        );
    }
    None
}

/// The label a token of `label` carries on the service in `namespace`:
/// `ci-deploy [ns:payments]`, or the label alone without a namespace.
pub(crate) fn tag(label: &str, namespace: Option<&str>) -> String {
    match namespace {
        Some(ns) => format!("{label} {OPEN}{ns}]"),
        None => label.to_owned(),
    }
}

/// How many characters the tag adds to a label (its space included).
pub(crate) fn tag_chars(namespace: Option<&str>) -> usize {
    namespace.map_or(0, |ns| 1 + OPEN.len() + ns.chars().count() + 1)
}

/// The namespace a service label (a token's text without its marker)
/// carries, if any.
pub(crate) fn of(label: &str) -> Option<&str> {
    let body = label.trim_end().strip_suffix(']')?;
    let start = body.rfind(OPEN)?;
    let before = &body[..start];
    let ns = &body[start + OPEN.len()..];
    (before.ends_with(' ') && refusal(ns).is_none()).then_some(ns)
}

/// Whether a label a file gives ends with something shaped like a
/// namespace tag (refused: the tag is added from the file's `namespace`).
pub(crate) fn looks_tagged(label: &str) -> bool {
    let text = label.trim_end();
    text.ends_with(']')
        && text.rfind('[').is_some_and(|i| {
            text[i..]
                .get(..OPEN.len())
                .is_some_and(|open| open.eq_ignore_ascii_case(OPEN))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::Marker;

    #[test]
    fn a_tagged_label_reads_back_under_its_marker() {
        let label = tag("ci-deploy", Some("payments"));
        assert_eq!(label, "ci-deploy [ns:payments]");
        assert_eq!(tag_chars(Some("payments")), " [ns:payments]".len());
        let text = Marker::new().tag(&label);
        assert_eq!(Marker::label(&text), label);
        assert!(Marker::find(&text).is_some());
        assert_eq!(of(Marker::label(&text)), Some("payments"));
        assert_eq!(of("ci-deploy"), None);
        assert_eq!(of("[ns:payments]"), None, "a namespace without a label");
        assert_eq!(of("x [ns:Pay ments]"), None);
        assert!(!Marker::looks_like_marker(&label));
        assert!(looks_tagged("x [NS:y]"));
        assert!(!looks_tagged("x [at:y]"));
    }

    #[test]
    fn namespaces_are_plain_short_words() {
        assert_eq!(refusal("payments-ci.2_x"), None);
        for bad in ["", "Payments", "a b", "a]", &"a".repeat(41)] {
            assert!(refusal(bad).is_some(), "{bad:?}");
        }
    }
}
