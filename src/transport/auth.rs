//! Where the token goes on a request: `Authorization: Bearer …` or a named
//! header such as Mailtrap's `Api-Token`; and hiding it in what an error
//! keeps.

use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};

use crate::error::{Error, Result};

/// Where the token goes on each request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scheme {
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// `<name>: <token>`, e.g. `Api-Token: <token>`.
    Header(HeaderName),
}

/// A token and where it goes. The token stays a [`SecretString`]; the header
/// value made from it is marked sensitive so that `http` and `reqwest` never
/// print it.
#[derive(Clone)]
pub(crate) struct Auth {
    scheme: Scheme,
    token: SecretString,
    /// The token, to hide in what an error keeps.
    secrets: crate::scrub::Secrets,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("scheme", &self.scheme)
            .field("token", &"[REDACTED]")
            .finish()
    }
}

/// Refuses a token that cannot be sent as a header value, without echoing
/// it.
pub(crate) fn check_token(raw: &str) -> Result<()> {
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
    Ok(())
}

impl Auth {
    /// Checks that the token can be sent as a header value at all.
    pub(crate) fn new(scheme: Scheme, token: SecretString) -> Result<Self> {
        check_token(token.expose_secret())?;
        let secrets = crate::scrub::Secrets::of(&token);
        Ok(Auth {
            scheme,
            token,
            secrets,
        })
    }

    /// The same scheme with another token.
    pub(crate) fn with_token(&self, token: SecretString) -> Result<Self> {
        Auth::new(self.scheme.clone(), token)
    }

    /// The header to add to one request.
    pub(crate) fn header(&self) -> (HeaderName, HeaderValue) {
        let raw = self.token.expose_secret();
        let (name, value) = match &self.scheme {
            Scheme::Bearer => (
                AUTHORIZATION,
                HeaderValue::try_from(format!("Bearer {raw}")),
            ),
            Scheme::Header(name) => (name.clone(), HeaderValue::try_from(raw)),
        };
        // `new` admitted only visible ASCII, which is always a valid value.
        let mut value = value.unwrap_or_else(|_| HeaderValue::from_static(""));
        value.set_sensitive(true);
        (name, value)
    }

    /// The secrets an error answer must not carry: this client's token.
    pub(crate) fn secrets(&self) -> &crate::scrub::Secrets {
        &self.secrets
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_value_is_sensitive_and_well_formed() {
        let auth = Auth::new(Scheme::Bearer, SecretString::from("abc123")).unwrap();
        let (name, value) = auth.header();
        assert_eq!(name, AUTHORIZATION);
        assert_eq!(value.to_str().unwrap(), "Bearer abc123");
        assert!(value.is_sensitive());
        assert!(!format!("{value:?} {auth:?}").contains("abc123"));

        let named = Scheme::Header(HeaderName::from_static("api-token"));
        let (name, value) = Auth::new(named, SecretString::from("xyz"))
            .unwrap()
            .header();
        assert_eq!(name.as_str(), "api-token");
        assert_eq!(value.to_str().unwrap(), "xyz");
    }

    #[test]
    fn unusable_tokens_are_refused_without_echoing_them() {
        for bad in ["", "  ", "abc\n", "a b", "tök"] {
            let err = Auth::new(Scheme::Bearer, SecretString::from(bad)).unwrap_err();
            assert!(matches!(err, Error::Invalid { field: "token", .. }));
            if !bad.trim().is_empty() {
                assert!(!err.to_string().contains(bad.trim()));
            }
        }
    }
}
