//! How the token is put on a request: `Authorization: Bearer …` or a named
//! header such as Mailtrap's `Api-Token`.

use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};

use crate::error::{Error, Result};

/// Where the token goes on each request.
///
/// ```
/// use api_tokens::AuthScheme;
///
/// let bearer = AuthScheme::Bearer;
/// let named = AuthScheme::header("Api-Token").unwrap();
/// assert_ne!(bearer, named);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthScheme {
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// `<name>: <token>`, e.g. `Api-Token: <token>`.
    Header(HeaderName),
}

impl AuthScheme {
    /// A named-header scheme; refuses a name that is not a valid header name.
    pub fn header(name: &str) -> Result<Self> {
        HeaderName::try_from(name)
            .map(AuthScheme::Header)
            .map_err(|_| {
                Error::invalid(
                    "auth header",
                    format!("`{name}` is not a valid header name"),
                )
            })
    }
}

/// A token and where it goes. The token stays a [`SecretString`]; the header
/// value made from it is marked sensitive so that `http` and `reqwest` never
/// print it.
#[derive(Clone)]
pub(crate) struct Auth {
    scheme: AuthScheme,
    token: SecretString,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("scheme", &self.scheme)
            .field("token", &"[REDACTED]")
            .finish()
    }
}

impl Auth {
    /// Checks that the token can be sent as a header value at all.
    pub(crate) fn new(scheme: AuthScheme, token: SecretString) -> Result<Self> {
        let raw = token.expose_secret();
        if raw.trim().is_empty() {
            return Err(Error::invalid("token", "the token is empty"));
        }
        if raw
            .bytes()
            .any(|b| b.is_ascii_control() || b == b' ' || !b.is_ascii())
        {
            return Err(Error::invalid(
                "token",
                "the token holds whitespace, control or non-ASCII characters (was it pasted with a newline?)",
            ));
        }
        Ok(Auth { scheme, token })
    }

    /// `text` with every occurrence of the token replaced by `[REDACTED]`,
    /// or `None` when it holds none.
    pub(crate) fn hide_in(&self, text: &str) -> Option<String> {
        let raw = self.token.expose_secret();
        text.contains(raw).then(|| text.replace(raw, "[REDACTED]"))
    }

    /// The header to add to one request.
    pub(crate) fn header(&self) -> (HeaderName, HeaderValue) {
        let raw = self.token.expose_secret();
        let (name, value) = match &self.scheme {
            AuthScheme::Bearer => (
                AUTHORIZATION,
                HeaderValue::try_from(format!("Bearer {raw}")),
            ),
            AuthScheme::Header(name) => (name.clone(), HeaderValue::try_from(raw)),
        };
        // `new` admitted only visible ASCII, which is always a valid value.
        let mut value = value.unwrap_or_else(|_| HeaderValue::from_static(""));
        value.set_sensitive(true);
        (name, value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_value_is_sensitive_and_well_formed() {
        let auth = Auth::new(AuthScheme::Bearer, SecretString::from("abc123")).unwrap();
        let (name, value) = auth.header();
        assert_eq!(name, AUTHORIZATION);
        assert_eq!(value.to_str().unwrap(), "Bearer abc123");
        assert!(value.is_sensitive());
        assert!(!format!("{value:?} {auth:?}").contains("abc123"));

        let named = AuthScheme::header("Api-Token").unwrap();
        let (name, value) = Auth::new(named, SecretString::from("xyz"))
            .unwrap()
            .header();
        assert_eq!(name.as_str(), "api-token");
        assert_eq!(value.to_str().unwrap(), "xyz");
    }

    #[test]
    fn unusable_tokens_are_refused_without_echoing_them() {
        for bad in ["", "  ", "abc\n", "a b", "tök"] {
            let err = Auth::new(AuthScheme::Bearer, SecretString::from(bad)).unwrap_err();
            assert!(matches!(err, Error::Invalid { field: "token", .. }));
            if !bad.trim().is_empty() {
                assert!(!err.to_string().contains(bad.trim()));
            }
        }
    }
}
