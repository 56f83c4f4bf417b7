//! Text that reaches a terminal: what would act on it (move the cursor,
//! clear the screen, reorder the line) rather than show.

/// Whether `c` acts on a terminal rather than showing: a control character
/// (an escape sequence, a line break), a zero-width character, or a mark,
/// embedding, override or isolate of bidirectional text.
pub fn acts_on_terminal(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00ad}'
                | '\u{061c}'
                | '\u{200b}'..='\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2060}'..='\u{2069}'
                | '\u{feff}'
        )
}

/// Text for a terminal line: what acts on a terminal escaped (`\u{1b}`),
/// the rest as it is. Names, paths and messages are not ours to trust.
pub fn shown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if acts_on_terminal(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}
