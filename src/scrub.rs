//! Finding values held under names that say "secret" in text that may or
//! may not be valid JSON: an error answer (which is shown to the caller) and
//! a recorded body (which is written to disk) must not carry a token.

/// Whether a JSON field, query parameter or header with this name holds a
/// secret: `token`, `*_token`, `accessToken`, `secret`, `client_secret`,
/// `password`, `api_key`, `x-api-key`, `authorization`, `cookie`, …
pub(crate) fn is_secret_name(name: &str) -> bool {
    let n: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    n.ends_with("token")
        || n.contains("secret")
        || n.contains("password")
        || n.contains("passwd")
        || n.ends_with("apikey")
        || n.ends_with("privatekey")
        || n.ends_with("accesskey")
        || n.ends_with("sessionid")
        || n.contains("authorization")
        || n.contains("cookie")
        || n.contains("credential")
}

/// Whether a field with this name holds a list of secrets when its items
/// are plain values: `tokens`, `api_keys`, `passwords`, … (a list of
/// objects under such a name is a list of records, whose own fields say
/// what they hold).
pub(crate) fn is_secret_list_name(name: &str) -> bool {
    name.strip_suffix(['s', 'S']).is_some_and(is_secret_name)
}

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
/// escaping. Gives `None` when nothing was replaced.
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
                    next = if is_secret_name(inner) {
                        Hide::All
                    } else if is_secret_list_name(inner) {
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

    #[test]
    fn list_names() {
        for name in ["tokens", "api_keys", "Secrets", "passwords"] {
            assert!(is_secret_list_name(name), "{name}");
        }
        for name in ["ids", "names", "resources", "token"] {
            assert!(!is_secret_list_name(name), "{name}");
        }
    }
}

/// The secrets an error answer must not carry, hidden wherever they appear.
pub(crate) struct Secrets<'a> {
    secrets: Vec<&'a str>,
}

impl<'a> Secrets<'a> {
    pub(crate) fn new(secrets: impl IntoIterator<Item = &'a secrecy::SecretString>) -> Self {
        use secrecy::ExposeSecret;
        Secrets {
            secrets: secrets
                .into_iter()
                .map(|s| s.expose_secret())
                .filter(|s| !s.is_empty())
                .collect(),
        }
    }

    fn hide(&self, text: &str) -> Option<String> {
        let mut out: Option<String> = None;
        for s in &self.secrets {
            let current = out.as_deref().unwrap_or(text);
            if current.contains(s) {
                out = Some(current.replace(s, "[REDACTED]"));
            }
        }
        out
    }

    pub(crate) fn hide_in_header(&self, text: &str) -> String {
        self.hide(text).unwrap_or_else(|| text.to_owned())
    }

    pub(crate) fn hide_in_error_body(&self, body: bytes::Bytes) -> bytes::Bytes {
        let text = String::from_utf8_lossy(&body);
        let own = self.hide(&text);
        let current = own.as_deref().unwrap_or(&text);
        let fields = hide_secret_fields(current, |_| "[REDACTED]".to_owned());
        match fields.or(own) {
            Some(hidden) => bytes::Bytes::from(hidden),
            None => body,
        }
    }
}
