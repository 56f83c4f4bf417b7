//! Known secrets (the caller's token, a secret just minted) found
//! wherever they occur, in every form text can give them, and replaced.

use std::collections::HashSet;

use super::decode::readings;
use super::normalize::is_invisible;

/// Where an occurrence of `secret` that starts at byte `start` ends, if one
/// does. Each character of the secret may be written as itself or in any
/// of the forms [`readings`] reads; between two of them any number of invisible characters
/// (written or escaped) may stand.
fn match_at(text: &str, start: usize, secret: &[char]) -> Option<usize> {
    let mut here = vec![start];
    let mut next: Vec<usize> = Vec::new();
    let mut seen: HashSet<usize> = HashSet::new();
    for (k, &wanted) in secret.iter().enumerate() {
        next.clear();
        seen.clear();
        let mut stack = std::mem::take(&mut here);
        while let Some(at) = stack.pop() {
            if at >= text.len() || !seen.insert(at) {
                continue;
            }
            for (c, len) in readings(text, at).into_iter().flatten() {
                if c == wanted {
                    next.push(at + len);
                } else if k > 0 && is_invisible(c) {
                    stack.push(at + len);
                }
            }
        }
        if next.is_empty() {
            return None;
        }
        next.sort_unstable();
        next.dedup();
        here.extend_from_slice(&next);
    }
    here.last().copied()
}

/// `text` with every occurrence of `secret`, in any of the forms
/// [`match_at`] reads, replaced by `with`; `None` when there is none.
pub(crate) fn replace_secret(text: &str, secret: &str, with: &str) -> Option<String> {
    let wanted: Vec<char> = secret.chars().collect();
    let first = *wanted.first()?;
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let (mut kept, mut i) = (0, 0);
    while i < bytes.len() {
        if text.is_char_boundary(i)
            && (matches!(bytes[i], b'\\' | b'%' | b'&') || text[i..].starts_with(first))
        {
            if let Some(end) = match_at(text, i, &wanted) {
                let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
                o.push_str(&text[kept..i]);
                o.push_str(with);
                kept = end;
                i = end;
                continue;
            }
        }
        i += 1;
    }
    out.map(|mut o| {
        o.push_str(&text[kept..]);
        o
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_invisibles_are_read_in_every_form() {
        let hide = |text: &str, secret: &str| replace_secret(text, secret, "#");
        assert_eq!(hide("a secret!", "secret").as_deref(), Some("a #!"));
        assert_eq!(
            hide(r"x s\u0065cr\u0065t y", "secret").as_deref(),
            Some("x # y")
        );
        // A surrogate pair stands for one character; a lone one for none.
        assert_eq!(hide(r"k\ud83d\ude00y", "k😀y").as_deref(), Some("#"));
        assert_eq!(hide(r"k\ud83dy", "k😀y"), None);
        // Invisible characters between, never before, the first character.
        assert_eq!(hide("s\u{0}e\u{7}cret", "secret").as_deref(), Some("#"));
        assert_eq!(hide(r"s\u0000ecret", "secret").as_deref(), Some("#"));
        assert_eq!(hide("\u{0}secret", "secret").as_deref(), Some("\u{0}#"));
        // A backslash in the secret, written or escaped.
        assert_eq!(hide(r"a\b", r"a\b").as_deref(), Some("#"));
        assert_eq!(hide(r"a\\b", r"a\b").as_deref(), Some("#"));
        // Percent-encoded, as an HTML reference, mixed.
        assert_eq!(hide("?t=s%65cr%45t", "secrEt").as_deref(), Some("?t=#"));
        assert_eq!(hide("a%2Fb%2bc", "a/b+c").as_deref(), Some("#"));
        assert_eq!(hide("%C3%A9t%C3%A9", "été").as_deref(), Some("#"));
        assert_eq!(
            hide("a&#43;b&#x2F;c&amp;d", "a+b/c&d").as_deref(),
            Some("#")
        );
        assert_eq!(hide(r"a\u002B%2F&#61;b", "a+/=b").as_deref(), Some("#"));
        // A near miss is kept.
        assert_eq!(hide("secre t secre", "secret"), None);
        assert_eq!(hide(r"\u00", "secret"), None);
        assert_eq!(hide("%2", "%2"), Some("#".to_owned()));
        assert_eq!(hide("s%6", "s%6").as_deref(), Some("#"));
        assert_eq!(hide("a&#;b &#xZZ; &amp", "a;b"), None);
        assert_eq!(hide("", "secret"), None);
        assert_eq!(hide("anything", ""), None);
    }
}
