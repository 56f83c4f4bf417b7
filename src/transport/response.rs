//! A raw answer as the dialects read it, and the hiding of secrets in an
//! error answer before anything of it is kept.

use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::de::DeserializeOwned;

use super::headers::HeaderFacts;
use crate::error::{Error, RateLimit, Result, Service};

/// A raw answer read once: the status, headers, body bytes, what the
/// headers say of the rate limit (read at the moment the answer came) and
/// its request id, for the dialect to decode. Redirects never get here.
/// `Debug` shows the body's length only: a body may hold a token.
pub(crate) struct Response {
    pub service: Service,
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// Rate-limit headers and `Retry-After`, read when the answer came.
    pub facts: HeaderFacts,
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Response")
            .field("service", &self.service)
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .field("facts", &self.facts)
            .finish()
    }
}

/// The headers a service or a gateway names its request id in, in order.
const REQUEST_ID_HEADERS: [HeaderName; 4] = [
    HeaderName::from_static("x-request-id"),
    HeaderName::from_static("request-id"),
    HeaderName::from_static("x-amzn-requestid"),
    HeaderName::from_static("x-correlation-id"),
];

impl Response {
    /// An answer of these parts, whose headers said `facts` when it came.
    pub(crate) fn new(
        service: Service,
        status: u16,
        headers: HeaderMap,
        body: Bytes,
        facts: HeaderFacts,
    ) -> Response {
        Response {
            service,
            status,
            headers,
            body,
            facts,
        }
    }

    /// An answer of these parts that came now (for the decoders' tests and
    /// fuzz hooks, which make answers without a call).
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn read(service: Service, status: u16, headers: HeaderMap, body: Bytes) -> Response {
        let facts = HeaderFacts::read(&headers);
        Response::new(service, status, headers, body, facts)
    }

    /// Decodes the body, naming the JSON path where it stopped on failure.
    ///
    /// The common case pays nothing for path tracking: the body is decoded
    /// with plain `serde_json`, and only a body that fails is decoded a
    /// second time through `serde_path_to_error` to find where it stopped.
    pub(crate) fn json<T: DeserializeOwned>(&self) -> Result<T> {
        // `from_slice` also refuses text after the document.
        if let Ok(value) = serde_json::from_slice(&self.body) {
            return Ok(value);
        }
        let mut de = serde_json::Deserializer::from_slice(&self.body);
        let value = serde_path_to_error::deserialize(&mut de)
            .map_err(|e| Error::decode(self.service, self.status, e))?;
        // Text after the document is as malformed as a document cut short.
        de.end()
            .map_err(|e| Error::trailing(self.service, self.status, &e))?;
        Ok(value)
    }

    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// `Retry-After` in either form, as read when the answer came.
    pub(crate) fn retry_after(&self) -> Option<Duration> {
        self.facts.retry_after
    }

    /// `X-Ratelimit-Limit` / `X-Ratelimit-Remaining`, when either is present.
    pub(crate) fn rate_limit(&self) -> Option<RateLimit> {
        self.facts.rate_limit
    }

    /// `error`, about this answer: one that could not be decoded keeps
    /// the answer's request id (as visible text, at most 200 characters).
    pub(crate) fn about(&self, error: crate::error::Error) -> crate::error::Error {
        let id = self
            .request_id()
            .and_then(|id| crate::scrub::message(&id, 200));
        error.with_request_id(id)
    }

    /// A request id from the usual headers. Answers reach the dialects
    /// with the caller's token already hidden in every header.
    pub(crate) fn request_id(&self) -> Option<String> {
        // Read when an error asks for it: a success never pays for it.
        REQUEST_ID_HEADERS
            .iter()
            .find_map(|h| self.headers.get(h))
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// A short, printable description of a non-JSON error body (a gateway's
    /// HTML page): its `<title>` or first words, at most 200 characters.
    /// Only ever called for error answers, whose body the transport has
    /// already normalized and scrubbed.
    pub(crate) fn error_body_summary(&self) -> Option<String> {
        crate::scrub::summarize(&String::from_utf8_lossy(&self.body))
    }
}

/// Everything an error keeps comes from an error answer: the caller's token
/// and secret-named values are hidden in the decoded text of its body and
/// of every header before a dialect reads it.
pub(crate) fn hide_in_error_answer(
    secrets: &crate::scrub::Secrets,
    headers: &mut HeaderMap,
    body: Bytes,
) -> Bytes {
    hide_in_headers(secrets, headers);
    secrets.hide_in_body(&body).unwrap_or(body)
}

/// Hides the known secrets in every header of an answer (an echo of the
/// caller's token in a request id would reach an error otherwise); a value
/// that is not visible text is replaced whole.
pub(crate) fn hide_in_headers(secrets: &crate::scrub::Secrets, headers: &mut HeaderMap) {
    for value in headers.values_mut() {
        let replaced = match secrets.hide_in_header(value) {
            Some(hidden) if hidden.as_bytes() == value.as_bytes() => continue,
            Some(hidden) => HeaderValue::try_from(hidden).ok(),
            // Not visible text: no error keeps it as it came.
            None => None,
        };
        *value = replaced.unwrap_or_else(|| HeaderValue::from_static(crate::scrub::REDACTED));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_error_bodies_are_summarised() {
        let r = Response::read(
            Service::Unit,
            502,
            HeaderMap::new(),
            Bytes::from_static(
                b"<html><head><title>502 Bad Gateway</title></head><body>x</body></html>",
            ),
        );
        assert_eq!(r.error_body_summary().as_deref(), Some("502 Bad Gateway"));
        let empty = Response {
            body: Bytes::new(),
            ..r
        };
        assert_eq!(empty.error_body_summary(), None);
    }
}
