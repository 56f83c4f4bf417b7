//! A token just minted: the listed token's details composed with its
//! secret, one type for both dialects.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

/// A token just created or reset, with its secret: the token as it will be
/// listed (`details`, a [`unit::ApiToken`](crate::unit::ApiToken) or a
/// [`mailtrap::ApiToken`](crate::mailtrap::ApiToken)) composed with the
/// secret. It dereferences to its details, so `new.id` reads as on a listed
/// token. Each dialect names it `NewApiToken`.
///
/// The secret is a [`SecretString`]: `Debug` shows `[REDACTED]`, `Display`
/// and `Serialize` leave it out, and only
/// [`ExposeSecret::expose_secret`] reads it. The service never shows it
/// again: store it now, or serialize it on purpose with
/// [`with_secret`](NewToken::with_secret).
///
/// ```
/// use api_tokens::mailtrap::{ApiToken, NewApiToken, TokenId};
/// use api_tokens::secrecy::{ExposeSecret, SecretString};
///
/// let new = NewApiToken::new(
///     ApiToken::new(TokenId::new(12345)?, "CI deploy"),
///     SecretString::from("f0e1d2c3b4a5q2w3"),
/// );
/// assert_eq!(new.id.get(), 12345); // the details, through `Deref`
/// assert!(!format!("{new:?} {new}").contains(new.token.expose_secret()));
/// let (details, secret) = new.into_parts();
/// # let _ = (details, secret);
/// # Ok::<(), api_tokens::Error>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NewToken<T> {
    /// The token as it will be listed.
    pub details: T,
    /// The secret itself: never empty.
    pub token: SecretString,
}

impl<T> NewToken<T> {
    /// The token and its secret.
    pub fn new(details: T, token: SecretString) -> Self {
        NewToken { details, token }
    }

    /// The token without its secret, as a list shows it.
    pub fn without_secret(&self) -> T
    where
        T: Clone,
    {
        self.details.clone()
    }

    /// Splits into the token's details and its secret.
    pub fn into_parts(self) -> (T, SecretString) {
        (self.details, self.token)
    }

    /// A view that serializes the token *with* its secret, in the shape of
    /// the service's create answer: for storing it where secrets belong (a
    /// vault, an encrypted file), never for logs. Serializing the token
    /// itself leaves the secret out.
    pub fn with_secret(&self) -> WithSecret<'_, NewToken<T>> {
        WithSecret(self)
    }
}

impl<T> std::ops::Deref for NewToken<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.details
    }
}

impl<T: PartialEq> PartialEq for NewToken<T> {
    /// Equal details and equal secrets (compared, never shown).
    fn eq(&self, other: &Self) -> bool {
        self.details == other.details && self.token.expose_secret() == other.token.expose_secret()
    }
}

impl<T: Eq> Eq for NewToken<T> {}

impl<T: fmt::Display> fmt::Display for NewToken<T> {
    /// The details' one-line summary, and never the secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} [secret redacted]", self.details)
    }
}

/// A just-minted token seen *with* its secret, for serializing it on
/// purpose: made by `with_secret()` on
/// [`unit::NewApiToken`](crate::unit::NewApiToken::with_secret) and
/// [`mailtrap::NewApiToken`](crate::mailtrap::NewApiToken::with_secret). A token
/// serialized without it never carries the secret.
#[derive(Clone, Copy)]
pub struct WithSecret<'a, T>(pub(crate) &'a T);

impl<T> std::fmt::Debug for WithSecret<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WithSecret([REDACTED])")
    }
}
