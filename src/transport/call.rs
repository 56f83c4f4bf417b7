//! One call as a dialect describes it: operation, method, path, body and
//! the media type it accepts.

use bytes::Bytes;
use reqwest::Method;

/// A request body with its content type.
#[derive(Debug, Clone)]
pub(crate) struct Body {
    pub content_type: &'static str,
    pub bytes: Bytes,
}

/// One call as a dialect describes it.
#[derive(Debug)]
pub(crate) struct Call<'a> {
    /// The operation, for the call's span: `create`, `list`, …
    pub operation: &'static str,
    pub method: Method,
    /// The path as documented, with placeholders: `/users/{userId}/api-tokens`.
    pub template: &'static str,
    /// Path segments below the base URL, each percent-encoded on its own.
    pub segments: &'a [&'a str],
    pub body: Option<Body>,
    pub accept: &'static str,
    /// Whether the call mints a token (create, reset): it is never
    /// repeated once it may have reached the service, and an answer lost
    /// or unreadable is [`Error::OutcomeUnknown`](crate::Error::OutcomeUnknown).
    /// Every call whose method is not idempotent (POST, PATCH) is treated
    /// so from the start: a call that acts is never repeated by omission.
    pub mints: bool,
}

impl<'a> Call<'a> {
    /// A call without a body.
    pub(crate) fn new(
        operation: &'static str,
        method: Method,
        template: &'static str,
        segments: &'a [&'a str],
        accept: &'static str,
    ) -> Self {
        Call {
            operation,
            mints: !method.is_idempotent(),
            method,
            template,
            segments,
            body: None,
            accept,
        }
    }

    /// The same call, marked as minting a token.
    pub(crate) fn mints(mut self) -> Self {
        self.mints = true;
        self
    }

    /// The same call with a body of this content type.
    pub(crate) fn body(mut self, content_type: &'static str, bytes: impl Into<Bytes>) -> Self {
        self.body = Some(Body {
            content_type,
            bytes: bytes.into(),
        });
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_that_is_not_idempotent_is_never_repeated_by_default() {
        let call = |method| Call::new("op", method, "/x", &[], "application/json");
        assert!(call(Method::POST).mints);
        assert!(call(Method::PATCH).mints);
        assert!(!call(Method::GET).mints);
        assert!(!call(Method::DELETE).mints);
    }
}
