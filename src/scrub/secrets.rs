//! The secrets an error must never show ([`Secrets`]), and hiding them in
//! what an error keeps: its body, the headers it keeps, free text.

use std::borrow::Cow;

use bytes::Bytes;
use reqwest::header::HeaderValue;
use secrecy::zeroize::Zeroize;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::hide::{Hider, REDACTED, hide_text, hide_value};
use super::known::replace_secret;
use super::normalize::normalize;

/// The secrets an error must never show: the caller's token, and any other
/// the caller knows of. Held as [`SecretString`]s, longest first (so that a
/// secret holding another is replaced whole). Every value under a secret's
/// name is hidden too, known or not.
#[derive(Clone, Default)]
pub(crate) struct Secrets {
    known: Vec<SecretString>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secrets({} known)", self.known.len())
    }
}

impl Secrets {
    /// No known secret: only values under secret names are hidden.
    pub(crate) fn new() -> Secrets {
        Secrets::default()
    }

    /// `secret` alone.
    pub(crate) fn of(secret: &SecretString) -> Secrets {
        Secrets::new().with(secret)
    }

    /// These secrets and `secret`.
    pub(crate) fn with(mut self, secret: &SecretString) -> Secrets {
        self.add(secret);
        self
    }

    /// Adds `secret` (an empty one, or one already known, is ignored).
    pub(crate) fn add(&mut self, secret: &SecretString) {
        let raw = secret.expose_secret();
        if raw.is_empty() || self.known.iter().any(|k| k.expose_secret() == raw) {
            return;
        }
        self.known.push(secret.clone());
        self.known
            .sort_by_key(|k| std::cmp::Reverse(k.expose_secret().len()));
    }

    /// A free text (a message, a header's value) with every known secret
    /// and every value under a secret's name in any JSON it quotes
    /// replaced by `[REDACTED]`.
    pub(crate) fn hide_in_text<'t>(&self, text: &'t str) -> Cow<'t, str> {
        match hide_text(self, text) {
            Some(hidden) => Cow::Owned(hidden),
            None => Cow::Borrowed(text),
        }
    }

    /// A decoded JSON value with secrets hidden in place (see
    /// [`hide_value`]); says whether anything changed.
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn hide_in_value(&self, value: &mut Value) -> bool {
        hide_value(self, value)
    }

    /// A header's value as an error may keep it (`x-request-id`, the
    /// `Location` of a refused redirect): [normalized](normalize), every
    /// known secret replaced. `None` when the value is not visible text or
    /// nothing visible is left.
    pub(crate) fn hide_in_header(&self, value: &HeaderValue) -> Option<String> {
        let text = normalize(value.to_str().ok()?);
        if text.is_empty() {
            return None;
        }
        Some(self.hide_in_text(&text).into_owned())
    }

    /// An error body as the dialects may read and show it, or `None` when
    /// it holds no secret (the body is then kept byte for byte).
    ///
    /// A JSON body is decoded, hidden in the decoded value ([`hide_value`]:
    /// strings and keys, every escape read) and written again, so that no
    /// escaped form of a secret survives. Any other body is
    /// [normalized](normalize) as a summary would be, then hidden
    /// ([`hide_secret_fields`] and every known secret in any form).
    pub(crate) fn hide_in_body(&self, body: &[u8]) -> Option<Bytes> {
        let mut text = String::from_utf8_lossy(body);
        let hidden = match serde_json::from_slice::<Value>(body) {
            Ok(mut value) => {
                let changed = hide_value(self, &mut value);
                // Duplicate keys are read once, and some forms of a secret
                // appear only in the raw text: check it too.
                let raw = hide_text(self, &text);
                let hit = raw.is_some();
                if let Some(mut raw) = raw {
                    raw.zeroize();
                }
                if changed || hit {
                    // Writing a `Value` cannot fail.
                    let mut written = serde_json::to_string(&value).unwrap_or_default();
                    Some(match self.hide_known(&written) {
                        Some(again) => {
                            written.zeroize();
                            again
                        }
                        None => written,
                    })
                } else {
                    None
                }
            }
            Err(_) => {
                let mut normalized = normalize(&text);
                let hidden = hide_text(self, &normalized);
                normalized.zeroize();
                hidden
            }
        };
        if let Cow::Owned(text) = &mut text {
            text.zeroize();
        }
        hidden.map(Bytes::from)
    }

    /// A successful answer's body with every known secret that appears in
    /// it as written replaced by `[REDACTED]` (a hostile service echoing
    /// the caller's token in a token's name); `None` when none appears, the
    /// usual case, found by one linear search per secret. Values under
    /// secret names are kept: a created token's secret is what a create
    /// answers with.
    pub(crate) fn hide_known_in_success(&self, body: &[u8]) -> Option<Bytes> {
        let text = std::str::from_utf8(body).ok()?;
        if !self
            .known
            .iter()
            .any(|k| !k.expose_secret().is_empty() && text.contains(k.expose_secret()))
        {
            return None;
        }
        self.hide_known(text).map(Bytes::from)
    }
}

impl Hider for Secrets {
    fn stand_in(&self, _value: &str) -> String {
        REDACTED.to_owned()
    }

    fn hide_known(&self, text: &str) -> Option<String> {
        let mut out: Option<String> = None;
        for secret in &self.known {
            let current = out.as_deref().unwrap_or(text);
            if let Some(hidden) = replace_secret(current, secret.expose_secret(), REDACTED) {
                if let Some(old) = &mut out {
                    old.zeroize();
                }
                out = Some(hidden);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scrub::decode::unescape;
    use crate::scrub::normalize::summarize;

    const TOKEN: &str = "mt/Abc+def=ghi-0123x7k9";

    fn caller() -> Secrets {
        Secrets::of(&SecretString::from(TOKEN))
    }

    /// Every string and key of `text` read as JSON, or the text itself.
    fn decoded_strings(text: &str) -> Vec<String> {
        let mut out = vec![text.to_owned()];
        let mut pending: Vec<Value> = serde_json::from_str(text).into_iter().collect();
        while let Some(value) = pending.pop() {
            match value {
                Value::String(s) => out.push(s),
                Value::Array(items) => pending.extend(items),
                Value::Object(map) => {
                    for (key, item) in map {
                        out.push(key);
                        pending.push(item);
                    }
                }
                _ => {}
            }
        }
        out
    }

    fn assert_no_token(text: &str) {
        for s in decoded_strings(text) {
            assert!(!s.contains(TOKEN), "token in {s:?}");
            assert!(
                !normalize(&s).contains(TOKEN),
                "token once normalized in {s:?}"
            );
            assert!(
                !normalize(&unescape(&s)).contains(TOKEN),
                "token once unescaped in {s:?}"
            );
        }
    }

    #[test]
    fn a_token_quoted_json_escaped_in_an_error_body_is_hidden() {
        for quoted in [
            r"mt\/Abc+def=ghi-0123x7k9",
            r"mt/Abc\u002Bdef=ghi-0123x7k9",
            r"mt/Abc\u002bdef\u003Dghi-0123x7k9",
            r"\u006d\u0074\/\u0041bc+def=ghi-0123x7k\u0039",
            // JSON quoted in a JSON string: the escape itself escaped.
            r"mt\\/Abc\\u002Bdef=ghi-0123x7k9",
        ] {
            let body =
                format!(r#"{{"error":"Incorrect API token {quoted}","request":"{quoted}"}}"#);
            // The raw bytes never hold the token as written…
            assert!(!body.contains(TOKEN));
            let hidden = caller().hide_in_body(body.as_bytes()).expect("hidden");
            let text = std::str::from_utf8(&hidden).unwrap();
            assert_no_token(text);
            let value: Value = serde_json::from_str(text).unwrap();
            assert_eq!(value["error"], "Incorrect API token [REDACTED]", "{quoted}");
            assert_eq!(value["request"], "[REDACTED]");
        }
        // The same forms in a body that is not JSON (cut short).
        let cut = r#"{"error":"Incorrect API token mt\/Abc\u002Bdef=ghi-0123x7k9"#;
        let hidden = caller().hide_in_body(cut.as_bytes()).expect("hidden");
        assert_eq!(
            std::str::from_utf8(&hidden).unwrap(),
            r#"{"error":"Incorrect API token [REDACTED]"#
        );
        // A body holding nothing is kept byte for byte.
        assert!(
            caller()
                .hide_in_body(br#"{"error":"Incorrect API token"}"#)
                .is_none()
        );
        assert!(caller().hide_in_body(b"<html>\0 mt/Abc</html>").is_none());
    }

    #[test]
    fn a_token_split_by_invisible_characters_is_hidden_in_the_summary() {
        for split in [
            "mt/Abc+d\0ef=ghi-0123x7k9",
            "m\u{7}t/Abc+def=ghi-0123x7k\u{7f}9",
            "mt/\u{9b}Abc+def=\u{80}\u{9f}ghi-0123x7k9",
            "mt/Abc+def=ghi-01\u{200b}23x7\u{feff}k9",
        ] {
            let page = format!("<html><head><title>401 bad token {split}</title></head></html>");
            assert!(!page.contains(TOKEN));
            let hidden = caller().hide_in_body(page.as_bytes()).expect("hidden");
            let text = String::from_utf8(hidden.to_vec()).unwrap();
            assert_no_token(&text);
            assert_eq!(
                summarize(&text).as_deref(),
                Some("401 bad token [REDACTED]")
            );
            // A text body, no title.
            let plain = format!("denied:\n{split}\n");
            let hidden = caller().hide_in_body(plain.as_bytes()).expect("hidden");
            assert_eq!(&hidden[..], b"denied: [REDACTED]");
        }
        // Whitespace is not invisible: a token cut by a line break is not
        // joined back by the summary.
        assert_eq!(
            summarize("mt/Abc+def\n=ghi-0123x7k9").as_deref(),
            Some("mt/Abc+def =ghi-0123x7k9")
        );
    }

    #[test]
    fn a_token_in_a_kept_header_is_hidden() {
        for value in [
            format!("req-{TOKEN}"),
            format!("https://evil.example/collect?t={TOKEN}&x=1"),
            "https://evil.example/collect?t=mt%2FAbc%2Bdef%3Dghi-0123x7k9".to_owned(),
            r"req-mt\/Abc\u002Bdef=ghi-0123x7k9".to_owned(),
            format!("req-\t{TOKEN}"),
        ] {
            let header = HeaderValue::from_str(&value).unwrap();
            let kept = caller().hide_in_header(&header).unwrap();
            assert!(!kept.contains(TOKEN), "{kept}");
            assert!(kept.contains(REDACTED), "{kept}");
        }
        let plain = HeaderValue::from_static("req-42");
        assert_eq!(caller().hide_in_header(&plain).as_deref(), Some("req-42"));
        let opaque = HeaderValue::from_bytes(b"req-\xff").unwrap();
        assert_eq!(caller().hide_in_header(&opaque), None);
    }

    #[test]
    fn a_secret_under_an_escaped_key_is_hidden() {
        // A secret just minted, which the caller does not know yet.
        let minted = "v2.public.minted-secret-4242";
        for key in [
            r"t\u006fken",
            r"\u0074oken",
            r"api\u005Fkey",
            r"s\u0065cret",
        ] {
            let body = format!(
                r#"{{"errors":[{{"title":"conflict","meta":{{"{key}":"{minted}","id":"7"}}}}]}}"#
            );
            let hidden = Secrets::new()
                .hide_in_body(body.as_bytes())
                .expect("hidden");
            let text = std::str::from_utf8(&hidden).unwrap();
            assert!(!text.contains(minted), "{key}: {text}");
            let value: Value = serde_json::from_str(text).unwrap();
            let meta = value["errors"][0]["meta"].as_object().unwrap();
            assert_eq!(meta.len(), 2, "{text}");
            assert!(meta.values().any(|v| v == REDACTED), "{text}");
            assert_eq!(meta["id"], "7");
            // The same in text that is not JSON.
            let page = format!(r#"<pre>{{"{key}": "{minted}"}}</pre>"#);
            let hidden = Secrets::new()
                .hide_in_body(page.as_bytes())
                .expect("hidden");
            assert!(!std::str::from_utf8(&hidden).unwrap().contains(minted));
        }
        // A value under a secret's name inside a string that holds JSON.
        let nested = format!(r#"{{"error":"{{\"token\":\"{minted}\"}}"}}"#);
        let hidden = Secrets::new()
            .hide_in_body(nested.as_bytes())
            .expect("hidden");
        assert!(!std::str::from_utf8(&hidden).unwrap().contains(minted));
    }

    #[test]
    fn a_known_secret_used_as_a_key_is_hidden() {
        let mut value = serde_json::json!({TOKEN: {"ok": true}, "note": {"x": TOKEN}});
        assert!(caller().hide_in_value(&mut value));
        assert_no_token(&value.to_string());
        assert_eq!(value[REDACTED]["ok"], true);
        assert_eq!(value["note"]["x"], REDACTED);
        // Two keys that hide to the same text are both kept.
        let other = SecretString::from("second-secret-key-000");
        let mut both = serde_json::json!({TOKEN: 1, "second-secret-key-000": 2});
        assert!(caller().with(&other).hide_in_value(&mut both));
        assert_eq!(both.as_object().unwrap().len(), 2, "{both}");
    }

    #[test]
    fn a_numeric_token_is_hidden_where_json_holds_it_as_a_number() {
        let numeric = Secrets::of(&SecretString::from("123456789012"));
        let hidden = numeric
            .hide_in_body(br#"{"error":"bad","echo":123456789012}"#)
            .expect("hidden");
        let value: Value = serde_json::from_slice(&hidden).unwrap();
        assert_eq!(value["echo"], REDACTED);
        assert_eq!(value["error"], "bad");
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let debug = format!("{:?}", caller());
        assert!(!debug.contains(TOKEN));
        assert_eq!(debug, "Secrets(1 known)");
    }
}
