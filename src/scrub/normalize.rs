//! Text as a summary shows it: invisible characters removed, whitespace
//! collapsed, and the short description of an error body built from it.

/// The longest summary of an error body, in characters.
const SUMMARY_LEN: usize = 200;

/// Characters a reader does not see, which [`normalize`] removes: controls
/// other than whitespace (NUL, BEL, ESC, DEL, the C1 range), zero-width
/// format characters (soft hyphen, zero-width space and joiners, word
/// joiner, byte-order mark) and the marks, embeddings, overrides and
/// isolates of bidirectional text, which reorder what a terminal shows.
pub(crate) fn is_invisible(c: char) -> bool {
    (c.is_control() && !c.is_whitespace())
        || matches!(
            c,
            '\u{00ad}'
                | '\u{061c}'
                | '\u{200b}'..='\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2060}'
                | '\u{2066}'..='\u{2069}'
                | '\u{feff}'
        )
}

/// Text as a summary shows it: invisible characters ([`is_invisible`])
/// removed, then every run of whitespace made one space, with none at
/// either end. Hiding runs on this text, so a secret split by invisible
/// characters is found whole.
pub(crate) fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.chars() {
        if is_invisible(c) {
            continue;
        }
        if c.is_whitespace() {
            space = !out.is_empty();
        } else {
            if space {
                out.push(' ');
                space = false;
            }
            out.push(c);
        }
    }
    out
}

/// A short, printable description of an error body that is not a document
/// the dialect reads (a gateway's HTML page): its `<title>` or else the
/// whole text, [normalized](normalize), at most 200 characters (`…` marks a
/// cut). `None` when nothing visible is left. Give it a body already
/// hidden by [`Secrets::hide_in_body`](super::secrets::Secrets::hide_in_body):
/// whatever part of that body it picks, it normalizes the same way.
pub(crate) fn summarize(text: &str) -> Option<String> {
    let lower = text.to_ascii_lowercase();
    let picked = match (lower.find("<title>"), lower.find("</title>")) {
        // ASCII lower-casing keeps byte offsets.
        (Some(a), Some(b)) if b > a + 7 => &text[a + 7..b],
        _ => text,
    };
    message(picked, SUMMARY_LEN)
}

/// A service's message as an error keeps it: [normalized](normalize) (no
/// escape sequence, no line break, no bidirectional override reaches a
/// terminal or a log line), at most `max` characters (`…` marks a cut);
/// `None` when nothing visible is left.
pub(crate) fn message(text: &str, max: usize) -> Option<String> {
    let normalized = normalize(text);
    if normalized.is_empty() {
        return None;
    }
    let mut out: String = normalized.chars().take(max).collect();
    if normalized.chars().count() > max {
        out.push('…');
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalization_is_what_a_summary_shows() {
        for (raw, normal) in [
            ("  a\u{0}b \t\n c\u{7f}\u{85}d  ", "ab c d"),
            ("\u{feff}x\u{200b}y", "xy"),
        ] {
            assert_eq!(normalize(raw), normal, "{raw:?}");
        }
        assert_eq!(
            summarize(" <TITLE> 502\u{0} Bad\nGateway </TITLE> "),
            Some("502 Bad Gateway".into())
        );
        assert_eq!(summarize("\u{0}\u{7} \n"), None);
        let long = "w ".repeat(300);
        let cut = summarize(&long).unwrap();
        assert_eq!(cut.chars().count(), 201);
        assert!(cut.ends_with('…'));
        assert_eq!(summarize(&"w ".repeat(100)).unwrap().chars().count(), 199);
    }
}
