//! Finding secrets in an interaction and replacing every occurrence with a
//! stable placeholder before anything is written down.

use secrecy::zeroize::Zeroize;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

/// Secrets shorter than this are replaced where they are found (a field
/// named like a secret, an auth header) but not searched for elsewhere:
/// replacing every `"ab"` in a document would mangle it.
const MIN_SEARCHED_LEN: usize = 6;

/// Secrets shorter than this get a placeholder without their last four
/// characters, which would give away too much of them.
const MIN_HINTED_LEN: usize = 12;

/// The placeholder that stands for `secret` in recordings and request logs:
/// `[REDACTED…x7k9]`, keeping the last four characters, so the same secret
/// always gets the same placeholder and a reader can tell secrets apart.
/// A secret shorter than 12 characters becomes `[REDACTED]`.
///
/// ```
/// use api_tokens::testing::placeholder;
/// use secrecy::SecretString;
///
/// let secret = SecretString::from("a1b2c3d4e5f60718293a4b5c6d7e8f90x7k9");
/// assert_eq!(placeholder(&secret), "[REDACTED…x7k9]");
/// assert_eq!(placeholder(&SecretString::from("short")), "[REDACTED]");
/// ```
pub fn placeholder(secret: &SecretString) -> String {
    placeholder_of(secret.expose_secret())
}

pub(crate) fn placeholder_of(secret: &str) -> String {
    let count = secret.chars().count();
    if count < MIN_HINTED_LEN {
        return "[REDACTED]".to_owned();
    }
    let last4: String = secret.chars().skip(count - 4).collect();
    format!("[REDACTED…{last4}]")
}

pub(crate) use crate::scrub::{hide_secret_fields, is_secret_list_name, is_secret_name};

/// Headers whose whole value is a credential: never stored, not even as a
/// hint.
pub(crate) fn is_auth_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    matches!(
        name.as_str(),
        "authorization"
            | "proxy-authorization"
            | "api-token"
            | "x-api-key"
            | "cookie"
            | "set-cookie"
    ) || is_secret_name(&name)
}

/// The credential inside an auth header value: `Bearer X` gives `X` too;
/// cookies give each value.
fn credentials_in_header(name: &str, value: &str) -> Vec<String> {
    let mut found = vec![value.trim().to_owned()];
    let lower = name.to_ascii_lowercase();
    if lower.contains("cookie") {
        let pairs: Vec<&str> = if lower == "set-cookie" {
            value.split(';').take(1).collect()
        } else {
            value.split(';').collect()
        };
        for pair in pairs {
            if let Some((_, v)) = pair.split_once('=') {
                found.push(v.trim().to_owned());
            }
        }
    } else if let Some((scheme, rest)) = value.trim().split_once(' ') {
        if !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            found.push(rest.trim().to_owned());
        }
    }
    found
}

/// Every secret seen so far in a recording. Held as [`SecretString`]s
/// (zeroized on drop), exposed only to search and replace.
#[derive(Default)]
pub(crate) struct Secrets {
    known: Vec<SecretString>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secrets({} known)", self.known.len())
    }
}

impl Secrets {
    pub(crate) fn learn(&mut self, secret: &str) {
        if secret.is_empty() || self.known.iter().any(|k| k.expose_secret() == secret) {
            return;
        }
        self.known.push(SecretString::from(secret));
        // Longest first, so that a secret containing another is replaced whole.
        self.known
            .sort_by_key(|k| std::cmp::Reverse(k.expose_secret().len()));
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.known.len()
    }

    /// Learns the credential of an auth header.
    pub(crate) fn learn_header(&mut self, name: &str, value: &str) {
        if is_auth_header(name) {
            for mut credential in credentials_in_header(name, value) {
                self.learn(&credential);
                credential.zeroize();
            }
        }
    }

    /// Learns the values of secret-named parameters of a query string or a
    /// form body, both as written and decoded.
    pub(crate) fn learn_query(&mut self, query: &str) {
        for pair in query.split('&') {
            if let Some((name, raw)) = pair.split_once('=') {
                let name = url::form_urlencoded::parse(name.as_bytes())
                    .next()
                    .map(|(k, _)| k.into_owned())
                    .unwrap_or_default();
                if is_secret_name(&name) {
                    self.learn(raw);
                    let mut decoded: String = url::form_urlencoded::parse(pair.as_bytes())
                        .next()
                        .map(|(_, v)| v.into_owned())
                        .unwrap_or_default();
                    self.learn(&decoded);
                    decoded.zeroize();
                }
            }
        }
    }

    /// Learns the values of secret-named parameters of a query string or a
    /// form body and gives it back with each replaced by its placeholder,
    /// however short: a value found by its name is hidden where it is.
    pub(crate) fn hide_query(&mut self, query: &str) -> String {
        self.learn_query(query);
        query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, _)) => match url::form_urlencoded::parse(pair.as_bytes()).next() {
                    Some((key, value)) if is_secret_name(&key) => {
                        format!("{name}={}", placeholder_of(&value))
                    }
                    _ => pair.to_owned(),
                },
                None => pair.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("&")
    }

    /// Replaces, in a body that is not valid JSON (cut short, nested too
    /// deep, behind a byte-order mark, inside a page), every value held
    /// under a secret-named field by its placeholder, learning each so that
    /// it is replaced everywhere else too.
    pub(crate) fn hide_text_fields(&mut self, text: &mut String) {
        let hidden = hide_secret_fields(text, |raw| {
            let mut decoded: String =
                serde_json::from_str(&format!("\"{raw}\"")).unwrap_or_else(|_| raw.to_owned());
            self.learn(raw);
            self.learn(&decoded);
            let shown = placeholder_of(&decoded);
            decoded.zeroize();
            shown
        });
        if let Some(hidden) = hidden {
            text.zeroize();
            *text = hidden;
        }
    }

    /// Learns every string (or number) held under a secret-named field, and
    /// the plain items of a list under a plural one (`tokens`).
    pub(crate) fn learn_json(&mut self, value: &Value) {
        match value {
            Value::Object(map) => {
                for (key, v) in map {
                    if is_secret_name(key) {
                        self.learn_all_leaves(v);
                    } else if is_secret_list_name(key) {
                        match v {
                            Value::Array(items) => items.iter().for_each(|item| match item {
                                Value::String(_) | Value::Number(_) => self.learn_all_leaves(item),
                                _ => self.learn_json(item),
                            }),
                            _ => self.learn_all_leaves(v),
                        }
                    } else {
                        self.learn_json(v);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| self.learn_json(v)),
            _ => {}
        }
    }

    fn learn_all_leaves(&mut self, value: &Value) {
        match value {
            Value::String(s) => self.learn(s),
            Value::Number(n) => self.learn(&n.to_string()),
            Value::Object(map) => map.values().for_each(|v| self.learn_all_leaves(v)),
            Value::Array(items) => items.iter().for_each(|v| self.learn_all_leaves(v)),
            Value::Bool(_) | Value::Null => {}
        }
    }

    /// Replaces every known secret in `text` by its placeholder.
    pub(crate) fn scrub(&self, text: &mut String) {
        for secret in &self.known {
            let secret = secret.expose_secret();
            if secret.chars().count() < MIN_SEARCHED_LEN && text.as_str() != secret {
                continue;
            }
            if text.contains(secret) {
                let replaced = text.replace(secret, &placeholder_of(secret));
                text.zeroize();
                *text = replaced;
            }
        }
    }

    /// Replaces secret-named fields by placeholders and every known secret
    /// in every other string.
    pub(crate) fn scrub_json(&self, value: &mut Value) {
        match value {
            Value::Object(map) => {
                for (key, v) in map.iter_mut() {
                    if is_secret_name(key) {
                        Self::hide_leaves(v);
                    } else if is_secret_list_name(key) {
                        match v {
                            Value::Array(items) => items.iter_mut().for_each(|item| match item {
                                Value::String(_) | Value::Number(_) => Self::hide_leaves(item),
                                _ => self.scrub_json(item),
                            }),
                            Value::String(_) | Value::Number(_) => Self::hide_leaves(v),
                            _ => self.scrub_json(v),
                        }
                    } else {
                        self.scrub_json(v);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.scrub_json(v)),
            Value::String(s) => self.scrub(s),
            _ => {}
        }
    }

    fn hide_leaves(value: &mut Value) {
        match value {
            Value::String(s) => {
                let hidden = placeholder_of(s);
                s.zeroize();
                *s = hidden;
            }
            Value::Number(n) => *value = Value::String(placeholder_of(&n.to_string())),
            Value::Object(map) => map.values_mut().for_each(Self::hide_leaves),
            Value::Array(items) => items.iter_mut().for_each(Self::hide_leaves),
            Value::Bool(_) | Value::Null => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_that_hold_secrets() {
        for name in [
            "token",
            "api_token",
            "accessToken",
            "refresh-token",
            "secret",
            "client_secret",
            "password",
            "api_key",
            "apiKey",
            "X-Api-Key",
            "Authorization",
            "set-cookie",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in [
            "last_4_digits",
            "name",
            "id",
            "tokens",
            "token_type",
            "description",
            "expires_at",
            "resource_type",
            "sourceIp",
            "type",
        ] {
            assert!(!is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn placeholders_keep_last_four() {
        assert_eq!(
            placeholder_of("v2.public.abcdefghij1234"),
            "[REDACTED…1234]"
        );
        assert_eq!(placeholder_of("ééééééééééé€xyz"), "[REDACTED…€xyz]");
        assert_eq!(placeholder_of("abc"), "[REDACTED]");
    }

    #[test]
    fn secrets_found_by_name_are_replaced_everywhere() {
        let mut secrets = Secrets::default();
        let mut body = json!({
            "data": {"attributes": {"token": "v2.public.SECRETSECRET9876", "description": "v2.public.SECRETSECRET9876 copy"}},
            "nested": [{"client_secret": {"value": "another-secret-0000"}}],
            "pin": {"password": 12345678}
        });
        secrets.learn_json(&body);
        secrets.learn_header("Authorization", "Bearer caller-credential-42");
        assert_eq!(secrets.len(), 5); // token, client secret, password, header value, credential
        secrets.scrub_json(&mut body);
        let text = body.to_string();
        assert!(!text.contains("SECRETSECRET"));
        assert!(!text.contains("another-secret"));
        assert!(!text.contains("12345678"));
        assert_eq!(
            body["data"]["attributes"]["description"],
            "[REDACTED…9876] copy"
        );
        let mut path = "/x?q=caller-credential-42".to_owned();
        secrets.scrub(&mut path);
        assert_eq!(path, "/x?q=[REDACTED…l-42]");
    }

    #[test]
    fn query_secrets_are_learned_raw_and_decoded() {
        let mut secrets = Secrets::default();
        secrets.learn_query("page=2&api_key=abc%2Bdef%2Bghi&x=1");
        let mut text = "abc%2Bdef%2Bghi and abc+def+ghi".to_owned();
        secrets.scrub(&mut text);
        assert!(!text.contains("abc"), "{text}");
    }
}
