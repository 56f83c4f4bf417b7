//! Values held under a secret's name in JSON-like text that need not be
//! valid JSON (cut short, nested too deep, inside an HTML page): a scan
//! that reads only quotes, colons, brackets and commas.

use super::decode::unescape;
use super::names::{is_secret_list_name, is_secret_name};

/// How the values met at one nesting level are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hide {
    /// Kept, unless a key says otherwise.
    No,
    /// Every value, however deep: the container is under a secret's name.
    All,
    /// The plain values directly in this array: it is under a plural name.
    Direct,
}

/// Replaces every value held under a secret's name (see [`is_secret_name`],
/// [`is_secret_list_name`]) in JSON-like `text` by `replace(raw)`, where
/// `raw` is the value as written (a string without its quotes, still
/// escaped, or a number). Works on text that is not valid JSON (cut short,
/// nested too deep, preceded by a byte-order mark, inside an HTML page):
/// it reads only quotes, colons, brackets and commas. A replaced value is
/// written as a JSON string; `replace` must return text that needs no
/// escaping. Keys are compared once their escapes are read. Gives `None`
/// when nothing was replaced.
pub(crate) fn hide_secret_fields(
    text: &str,
    mut replace: impl FnMut(&str) -> String,
) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut levels: Vec<Hide> = Vec::new();
    let mut next = Hide::No;
    let mut changed = false;
    let mut i = 0;
    while i < bytes.len() {
        let level = levels.last().copied().unwrap_or(Hide::No);
        let hidden = next != Hide::No || level != Hide::No;
        match bytes[i] {
            b'"' => {
                // Quotes and backslashes are ASCII, so every index below is
                // on a character boundary.
                let mut j = i + 1;
                let mut closed = false;
                while j < bytes.len() {
                    match bytes[j] {
                        b'\\' => j += 2,
                        b'"' => {
                            closed = true;
                            break;
                        }
                        _ => j += 1,
                    }
                }
                let end = j.min(bytes.len());
                let inner = &text[i + 1..end];
                let after = if closed { end + 1 } else { end };
                let mut k = after;
                while k < bytes.len() && bytes[k].is_ascii_whitespace() {
                    k += 1;
                }
                if closed && k < bytes.len() && bytes[k] == b':' {
                    // A key is compared as it reads once decoded:
                    // `"t\u006fken"` is `token`.
                    let name = unescape(inner);
                    next = if is_secret_name(&name) {
                        Hide::All
                    } else if is_secret_list_name(&name) {
                        Hide::Direct
                    } else {
                        Hide::No
                    };
                    out.push_str(&text[i..=k]);
                    i = k + 1;
                    continue;
                }
                if hidden {
                    out.push('"');
                    out.push_str(&replace(inner));
                    out.push('"');
                    changed = true;
                } else {
                    out.push_str(&text[i..after]);
                }
                next = Hide::No;
                i = after;
            }
            b @ (b'{' | b'[') => {
                levels.push(if level == Hide::All || next == Hide::All {
                    Hide::All
                } else if next == Hide::Direct && b == b'[' {
                    Hide::Direct
                } else {
                    Hide::No
                });
                next = Hide::No;
                out.push(char::from(b));
                i += 1;
            }
            b @ (b'}' | b']' | b',') => {
                if b != b',' {
                    levels.pop();
                }
                next = Hide::No;
                out.push(char::from(b));
                i += 1;
            }
            b'-' | b'0'..=b'9' if hidden => {
                let mut j = i;
                while j < bytes.len()
                    && !matches!(bytes[j], b',' | b'}' | b']' | b'"')
                    && !bytes[j].is_ascii_whitespace()
                {
                    j += 1;
                }
                out.push('"');
                out.push_str(&replace(&text[i..j]));
                out.push('"');
                changed = true;
                next = Hide::No;
                i = j;
            }
            _ => {
                let c = text[i..].chars().next().unwrap_or('\u{fffd}');
                out.push(c);
                i += c.len_utf8().max(1);
            }
        }
    }
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hidden(text: &str) -> String {
        hide_secret_fields(text, |_| "[REDACTED]".to_owned()).unwrap_or_else(|| text.to_owned())
    }

    #[test]
    fn values_under_secret_names_are_replaced() {
        assert_eq!(
            hidden(r#"{"id":"19","attributes":{"token":"v2.x\"y","description":"d"}}"#),
            r#"{"id":"19","attributes":{"token":"[REDACTED]","description":"d"}}"#
        );
        assert_eq!(
            hidden(r#"{"password": 123456, "pin": {"secret": [1, "two", {"x": "three"}]}}"#),
            r#"{"password": "[REDACTED]", "pin": {"secret": ["[REDACTED]", "[REDACTED]", {"x": "[REDACTED]"}]}}"#
        );
        assert_eq!(
            hidden(r#"{"tokens":["aaa","bbb"],"keep":"x"}"#),
            r#"{"tokens":["[REDACTED]","[REDACTED]"],"keep":"x"}"#
        );
        assert_eq!(
            hidden(r#"{"tokens":[{"id":1,"name":"n","token":"s"}]}"#),
            r#"{"tokens":[{"id":1,"name":"n","token":"[REDACTED]"}]}"#
        );
        assert_eq!(
            hidden(r#"{"token":null,"expires_at":null,"n":1}"#),
            r#"{"token":null,"expires_at":null,"n":1}"#
        );
    }

    #[test]
    fn text_that_is_not_json_is_handled() {
        // Cut short inside the secret.
        assert_eq!(hidden(r#"{"token":"abcdef"#), r#"{"token":"[REDACTED]""#);
        // A byte-order mark, then JSON.
        assert_eq!(
            hidden("\u{feff}{\"api_key\":\"k\"}"),
            "\u{feff}{\"api_key\":\"[REDACTED]\"}"
        );
        // An HTML page quoting a document.
        assert_eq!(
            hidden(r#"<pre>é {"accessToken": "abc"} </pre>"#),
            r#"<pre>é {"accessToken": "[REDACTED]"} </pre>"#
        );
        assert!(hide_secret_fields("<html>no secret</html>", |_| String::new()).is_none());
        assert!(hide_secret_fields("\"\\", |_| String::new()).is_none());
    }
}
