//! Finding secrets in an interaction and replacing every occurrence with a
//! stable placeholder before anything is written down.

use secrecy::zeroize::Zeroize;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::scrub::{Hider, hide_secret_fields, hide_text, hide_value, replace_secret};
pub(crate) use crate::scrub::{is_secret_list_name, is_secret_name};

/// Secrets shorter than this are replaced where they are found (a field
/// named like a secret, an auth header) but not searched for elsewhere:
/// replacing every `"ab"` in a document would mangle it.
const MIN_SEARCHED_LEN: usize = 6;

/// Secrets shorter than this get a placeholder without any hint of them
/// (neither their last four characters nor a hash): a hash of a short
/// secret would give it away to anyone who tries every candidate.
const MIN_HINTED_LEN: usize = 12;

/// The prefix of every placeholder.
const PREFIX: &str = "redacted";

/// Hexadecimal digits of the hash in a placeholder (32 bits: enough to
/// tell apart the secrets of a recording, far too few to find one).
const HASH_DIGITS: usize = 8;

/// The placeholder that stands for `secret` in recordings and request
/// logs: `redacted-<last four>-<hash>`, where the hash is the start of the
/// secret's SHA-256. The same secret always gets the same placeholder, in
/// one recording and across recordings, and different secrets get
/// different ones.
///
/// A placeholder is visible ASCII without spaces, so a client of this
/// crate accepts it as a token: a create replayed from a cassette returns
/// the placeholder of the secret it minted when recorded, and a
/// [`Replayer`](struct.Replayer.html) treats that placeholder, used as a
/// credential, as the secret it stands for. The last four characters are
/// left out when they are not plain ASCII (`redacted-<hash>`), and a secret
/// shorter than 12 characters becomes plain `redacted`.
///
/// ```
/// use api_tokens::testing::placeholder;
/// use secrecy::SecretString;
///
/// let secret = SecretString::from("a1b2c3d4e5f60718293a4b5c6d7e8f90x7k9");
/// let shown = placeholder(&secret);
/// assert!(shown.starts_with("redacted-x7k9-"), "{shown}");
/// assert_eq!(shown, placeholder(&SecretString::from("a1b2c3d4e5f60718293a4b5c6d7e8f90x7k9")));
/// assert_ne!(shown, placeholder(&SecretString::from("ffffc3d4e5f60718293a4b5c6d7e8f90x7k9")));
/// assert_eq!(placeholder(&SecretString::from("short")), "redacted");
///
/// // The crate's clients take it as a token.
/// let client = api_tokens::mailtrap::Client::builder()
///     .token(SecretString::from(shown))
///     .account_id(1)
///     .build();
/// assert!(client.is_ok());
/// ```
pub fn placeholder(secret: &SecretString) -> String {
    placeholder_of(secret.expose_secret())
}

pub(crate) fn placeholder_of(secret: &str) -> String {
    let count = secret.chars().count();
    if count < MIN_HINTED_LEN {
        return PREFIX.to_owned();
    }
    let digest = Sha256::new()
        .chain_update(b"api-tokens placeholder\0")
        .chain_update(secret.as_bytes())
        .finalize();
    let mut hash = String::with_capacity(HASH_DIGITS);
    for byte in digest.iter().take(HASH_DIGITS / 2) {
        hash.push_str(&format!("{byte:02x}"));
    }
    let last4: String = secret.chars().skip(count - 4).collect();
    if last4.chars().all(is_hint_char) {
        format!("{PREFIX}-{last4}-{hash}")
    } else {
        format!("{PREFIX}-{hash}")
    }
}

/// Characters kept in a placeholder's hint: they need no escaping in JSON,
/// a header, a path or a query.
fn is_hint_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~')
}

/// Whether `text` is a placeholder that tells one secret from another
/// (`redacted-<hint>-<hash>` or `redacted-<hash>`; not the plain
/// `redacted` of a short secret, nor the `[REDACTED…]` of older
/// recordings).
pub(crate) fn is_placeholder(text: &str) -> bool {
    let Some(rest) = text.strip_prefix("redacted-") else {
        return false;
    };
    let hash = match rest.rsplit_once('-') {
        Some((hint, hash)) if hint.len() >= 4 => hash,
        Some(_) => return false,
        None => rest,
    };
    hash.len() == HASH_DIGITS
        && hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Headers whose whole value is a credential: never stored in clear.
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

fn is_cookie_header(name: &str) -> bool {
    name.to_ascii_lowercase().contains("cookie")
}

/// The scheme and credential of an auth header's value: `Bearer X` gives
/// `(Some("Bearer"), "X")`, `X` gives `(None, "X")`.
fn split_scheme(value: &str) -> (Option<&str>, &str) {
    let value = value.trim();
    match value.split_once(' ') {
        Some((scheme, rest))
            if !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-') =>
        {
            (Some(scheme), rest.trim())
        }
        _ => (None, value),
    }
}

/// The credential an auth header carries (the value, without its scheme),
/// or `None` for a header that carries none (not an auth header, or a
/// cookie).
pub(crate) fn credential_in(name: &str, value: &str) -> Option<String> {
    if !is_auth_header(name) || is_cookie_header(name) {
        return None;
    }
    let (_, credential) = split_scheme(value);
    (!credential.is_empty()).then(|| credential.to_owned())
}

/// How an auth header is recorded: the credential's placeholder, after the
/// scheme if there is one (`Bearer redacted-x7k9-…`), so that a replayer
/// can tell credentials apart; a cookie header as `[REDACTED]`.
pub(crate) fn recorded_auth_value(name: &str, value: &str) -> String {
    if is_cookie_header(name) {
        return "[REDACTED]".to_owned();
    }
    match split_scheme(value) {
        (Some(scheme), credential) => format!("{scheme} {}", placeholder_of(credential)),
        (None, credential) => placeholder_of(credential),
    }
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
    } else if let (Some(_), rest) = split_scheme(value) {
        found.push(rest.to_owned());
    }
    found
}

/// Every secret seen so far in a recording, with its placeholder. Held as
/// [`SecretString`]s (zeroized on drop), exposed only to search and
/// replace.
#[derive(Default)]
pub(crate) struct Secrets {
    known: Vec<(SecretString, String)>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secrets({} known)", self.known.len())
    }
}

impl Hider for Secrets {
    fn stand_in(&self, value: &str) -> String {
        placeholder_of(value)
    }

    /// Every known secret replaced by its placeholder, in any form
    /// ([`replace_secret`]); a short one only where it is the whole text.
    fn hide_known(&self, text: &str) -> Option<String> {
        let mut out: Option<String> = None;
        for (secret, shown) in &self.known {
            let secret = secret.expose_secret();
            let current = out.as_deref().unwrap_or(text);
            let hidden = if secret.chars().count() < MIN_SEARCHED_LEN {
                (current == secret).then(|| shown.clone())
            } else {
                replace_secret(current, secret, shown)
            };
            if let Some(hidden) = hidden {
                if let Some(old) = &mut out {
                    old.zeroize();
                }
                out = Some(hidden);
            }
        }
        out
    }
}

impl Secrets {
    pub(crate) fn learn(&mut self, secret: &str) {
        if secret.is_empty()
            || self
                .known
                .iter()
                .any(|(known, _)| known.expose_secret() == secret)
        {
            return;
        }
        self.known
            .push((SecretString::from(secret), placeholder_of(secret)));
        // Longest first, so that a secret containing another is replaced whole.
        self.known
            .sort_by_key(|(known, _)| std::cmp::Reverse(known.expose_secret().len()));
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

    /// Learns every value held under a secret-named field of any JSON that
    /// `text` holds, however it is cut or wrapped: as written and decoded.
    pub(crate) fn learn_text_fields(&mut self, text: &str) {
        let mut found: Vec<String> = Vec::new();
        let _ = hide_secret_fields(text, |raw| {
            found.push(raw.to_owned());
            if let Ok(decoded) = serde_json::from_str::<String>(&format!("\"{raw}\"")) {
                found.push(decoded);
            }
            String::new()
        });
        for mut secret in found {
            self.learn(&secret);
            secret.zeroize();
        }
    }

    /// Replaces, in a body that is not valid JSON (cut short, nested too
    /// deep, behind a byte-order mark, inside a page), every value held
    /// under a secret-named field by its placeholder, learning each so that
    /// it is replaced everywhere else too, and every known secret in any
    /// form, escaped or not.
    pub(crate) fn hide_text_fields(&mut self, text: &mut String) {
        self.learn_text_fields(text);
        if let Some(hidden) = hide_text(self, text) {
            text.zeroize();
            *text = hidden;
        }
    }

    /// Learns every string (or number) held under a secret-named field, the
    /// plain items of a list under a plural one (`tokens`), and the values
    /// under secret-named fields of any JSON that a string or key holds.
    pub(crate) fn learn_json(&mut self, value: &Value) {
        match value {
            Value::Object(map) => {
                for (key, v) in map {
                    self.learn_text_fields(key);
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
            Value::String(text) => self.learn_text_fields(text),
            Value::Number(_) | Value::Bool(_) | Value::Null => {}
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
        if let Some(hidden) = self.hide_known(text) {
            text.zeroize();
            *text = hidden;
        }
    }

    /// Replaces secret-named fields by placeholders, and every known secret
    /// in every other string and in every object key.
    pub(crate) fn scrub_json(&self, value: &mut Value) {
        hide_value(self, value);
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
    fn placeholders_are_stable_ascii_tokens_that_tell_secrets_apart() {
        let one = placeholder_of("v2.public.abcdefghij1234");
        assert_eq!(one, placeholder_of("v2.public.abcdefghij1234"));
        assert!(one.starts_with("redacted-1234-"), "{one}");
        assert_eq!(one.len(), "redacted-1234-".len() + HASH_DIGITS);
        assert!(is_placeholder(&one));
        // Same last four, another secret: another placeholder.
        let two = placeholder_of("v2.public.zbcdefghij1234");
        assert_ne!(one, two);
        assert!(two.starts_with("redacted-1234-"));
        // A hint that is not plain ASCII is left out.
        let wide = placeholder_of("ééééééééééé€xyz");
        assert!(
            wide.starts_with("redacted-") && wide.len() == 9 + HASH_DIGITS,
            "{wide}"
        );
        assert!(is_placeholder(&wide));
        assert_eq!(placeholder_of("abc"), "redacted");
        assert!(!is_placeholder("redacted"));
        for shown in [&one, &two, &wide] {
            assert!(shown.bytes().all(|b| b.is_ascii_graphic()), "{shown}");
        }
        for other in [
            "[REDACTED]",
            "[REDACTED…1234]",
            "redacted-1234-XYZ",
            "redacted-12-0123abcd",
            "x",
        ] {
            assert!(!is_placeholder(other), "{other}");
        }
    }

    #[test]
    fn auth_headers_are_recorded_as_the_placeholder_of_their_credential() {
        let key = "caller-credential-0042";
        assert_eq!(
            recorded_auth_value("authorization", &format!("Bearer {key}")),
            format!("Bearer {}", placeholder_of(key))
        );
        assert_eq!(recorded_auth_value("api-token", key), placeholder_of(key));
        assert_eq!(
            recorded_auth_value("set-cookie", "s=abc; path=/"),
            "[REDACTED]"
        );
        assert_eq!(
            credential_in("Authorization", &format!("Bearer {key}")).as_deref(),
            Some(key)
        );
        assert_eq!(credential_in("api-token", key).as_deref(), Some(key));
        assert_eq!(credential_in("cookie", "s=1"), None);
        assert_eq!(credential_in("accept", "x"), None);
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
            format!("{} copy", placeholder_of("v2.public.SECRETSECRET9876"))
        );
        let mut path = "/x?q=caller-credential-42".to_owned();
        secrets.scrub(&mut path);
        assert_eq!(
            path,
            format!("/x?q={}", placeholder_of("caller-credential-42"))
        );
    }

    #[test]
    fn query_secrets_are_learned_raw_and_decoded() {
        let mut secrets = Secrets::default();
        secrets.learn_query("page=2&api_key=abc%2Bdef%2Bghi&x=1");
        let mut text = "abc%2Bdef%2Bghi and abc+def+ghi".to_owned();
        secrets.scrub(&mut text);
        assert!(!text.contains("abc"), "{text}");
    }

    #[test]
    fn a_known_secret_used_as_a_key_is_replaced() {
        let mut secrets = Secrets::default();
        secrets.learn_header("api-token", "caller-credential-0042");
        let mut body =
            json!({"caller-credential-0042": {"seen": true}, "by": {"caller-credential-0042": 1}});
        secrets.scrub_json(&mut body);
        let text = body.to_string();
        assert!(!text.contains("caller-credential-0042"), "{text}");
        assert_eq!(body[placeholder_of("caller-credential-0042")]["seen"], true);
    }

    #[test]
    fn escaped_forms_in_text_are_replaced() {
        let mut secrets = Secrets::default();
        secrets.learn("mt/Abc+def=ghi-0123x7k9");
        let stands_for = placeholder_of("mt/Abc+def=ghi-0123x7k9");
        for written in [
            r"mt\/Abc+def=ghi-0123x7k9",
            r"mt/Abc\u002Bdef=ghi-0123x7k9",
            r"\u006dt/Abc+def=ghi-0123x7k\u0039",
            "mt/Abc+def=ghi\u{0}-0123x7k9",
        ] {
            let mut text = format!(r#"<pre>{{"note":"{written}"</pre>"#);
            secrets.hide_text_fields(&mut text);
            assert_eq!(
                text,
                format!(r#"<pre>{{"note":"{stands_for}"</pre>"#),
                "{written}"
            );
        }
    }
}
