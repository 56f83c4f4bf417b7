//! The one error type of the crate and its parts.
//!
//! Every fallible call returns [`Result<T>`](crate::Result). The [`Error`]
//! variants say *what kind* of failure happened so that callers can branch on
//! it; [`ApiError`] carries what the service itself said (status, messages,
//! per-field errors, request or support id, rate-limit headers).
//!
//! No variant ever holds a token value or the text of a successful response
//! body: a [`Error::Decode`] names the JSON path where decoding stopped and
//! what was expected, with any quoted value from the body replaced by `"…"`.
//!
//! ```
//! use api_tokens::Error;
//!
//! fn advise(err: &Error) -> &'static str {
//!     match err {
//!         Error::Unauthorized(_) => "check the token",
//!         Error::RateLimited { .. } => "slow down",
//!         Error::Invalid { .. } => "fix the arguments",
//!         e if e.is_retryable() => "try again later",
//!         _ => "give up",
//!     }
//! }
//! # let _ = advise;
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use crate::transport::outcome::{Class, Outcome};

pub use crate::error_object::ErrorObject;

/// `Result` with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Which service an error or a response came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Service {
    /// Unit's Org API tokens (JSON:API dialect).
    Unit,
    /// Mailtrap's account API tokens (flat JSON dialect).
    Mailtrap,
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Service::Unit => "Unit",
            Service::Mailtrap => "Mailtrap",
        })
    }
}

/// Every way a call can fail.
///
/// Status-specific variants (`Unauthorized`, `Forbidden`, `NotFound`,
/// `RateLimited`) carry the same [`ApiError`] as the catch-all [`Error::Api`],
/// so the service's messages are never lost.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The service answered with an error status not covered by a more
    /// specific variant (400, 409, 422, 5xx, …).
    #[error("{0}")]
    Api(Box<ApiError>),

    /// 401: the token is missing, wrong, expired or revoked.
    #[error("unauthorized: {0}")]
    Unauthorized(Box<ApiError>),

    /// 403: the token is valid but may not do this.
    #[error("forbidden: {0}")]
    Forbidden(Box<ApiError>),

    /// 404: no such resource (user, account or token).
    #[error("not found: {0}")]
    NotFound(Box<ApiError>),

    /// 429: too many requests. `retry_after` is what the service asked for,
    /// when it said.
    #[error("rate limited{}: {error}", RetryAfterSuffix(*.retry_after))]
    RateLimited {
        /// How long the service asked the caller to wait, if it said.
        retry_after: Option<Duration>,
        /// What the service said.
        error: Box<ApiError>,
    },

    /// An argument was refused before any request was sent.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The argument or setting at fault (`description`, `base_url`, …).
        field: &'static str,
        /// What is wrong with it, and what would be accepted.
        reason: String,
    },

    /// The request timed out (connect or whole-request timeout) on its last
    /// attempt.
    #[error("request timed out after {attempts} attempt(s)")]
    Timeout {
        /// How many attempts were made in all.
        attempts: u32,
        /// The underlying HTTP client error.
        #[source]
        source: reqwest::Error,
    },

    /// A create or a reset was sent and no usable answer came back (a
    /// timeout or a broken connection after sending, a 408 or 5xx, or a
    /// success that could not be read): the service may have minted a token
    /// that nobody holds.
    ///
    /// The crate never sends such a call again by itself. To reconcile, list
    /// the tokens and look for the one the call would have made (the
    /// [`lifecycle`](crate::lifecycle) module's exactly-once create tags
    /// each new token with a marker and does this for you), then delete it
    /// or keep it; [`is_outcome_unknown`](Error::is_outcome_unknown) tells
    /// this case apart.
    #[error(
        "the outcome of the {operation} is unknown: {cause}; a token may have been minted, \
         so list the tokens and reconcile before trying again"
    )]
    OutcomeUnknown {
        /// The operation: `create` or `reset`.
        operation: &'static str,
        /// What happened to the call.
        #[source]
        cause: Box<Error>,
    },

    /// A create or a reset lost its answer, as in
    /// [`Error::OutcomeUnknown`], and the
    /// [`lifecycle`](crate::lifecycle) module could not find out whether a
    /// token was minted (the list or the removal that follows failed): a
    /// token may exist that nobody holds.
    ///
    /// `marker` is the marker the token would carry at the end of its
    /// description (Unit) or name (Mailtrap), when the call tagged one
    /// (several, separated by `, `, when several creates of one mint
    /// lost their answers and none of their tokens could be listed):
    /// [`lifecycle::Reconcile::marker`](crate::lifecycle::Reconcile::marker)
    /// removes exactly that token once the service answers again.
    /// [`is_outcome_unknown`](Error::is_outcome_unknown) is true.
    #[error(
        "the outcome of the {operation} is unknown and could not be reconciled: {cause}; {}",
        UnreconciledHint(.marker.as_deref())
    )]
    Unreconciled {
        /// The operation: `create` or `reset`.
        operation: &'static str,
        /// The marker the minted token would carry, if the call tagged one
        /// (markers separated by `, `, when several creates lost theirs).
        marker: Option<String>,
        /// Why the reconciliation could not complete.
        #[source]
        cause: Box<Error>,
    },

    /// The connection failed or broke (DNS, refused, reset, TLS, …).
    #[error("transport error after {attempts} attempt(s): {source}")]
    Transport {
        /// How many attempts were made in all.
        attempts: u32,
        /// The underlying HTTP client error (it names the URL, never a header).
        #[source]
        source: reqwest::Error,
    },

    /// The service answered with a redirect. Redirects are never followed, so
    /// credentials never reach another host.
    #[error("unexpected redirect {status} to {}", .location.as_deref().unwrap_or("(no location)"))]
    Redirect {
        /// The 3xx status.
        status: u16,
        /// The `Location` header, if any.
        location: Option<String>,
    },

    /// A response could not be decoded into the expected shape.
    #[error(
        "could not decode {service} response (status {status}{}) at `{at}`: {reason}",
        RequestIdSuffix(.request_id.as_deref())
    )]
    Decode {
        /// Which service answered.
        service: Service,
        /// The HTTP status of the response.
        status: u16,
        /// The JSON path where decoding stopped (`.` for the root).
        at: String,
        /// What was wrong there, without any value from the body.
        reason: String,
        /// The answer's request id (`X-Request-Id`, or Unit's support id
        /// header), when it gave one.
        request_id: Option<String>,
    },
}

/// `, request id ID` when there is one.
struct RequestIdSuffix<'a>(Option<&'a str>);

impl fmt::Display for RequestIdSuffix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(id) => write!(f, ", request id {id}"),
            None => Ok(()),
        }
    }
}

struct RetryAfterSuffix(Option<Duration>);

impl fmt::Display for RetryAfterSuffix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(d) => write!(f, " (retry after {:.3}s)", d.as_secs_f64()),
            None => Ok(()),
        }
    }
}

struct UnreconciledHint<'a>(Option<&'a str>);

impl fmt::Display for UnreconciledHint<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(marker) if marker.contains(", ") => write!(
                f,
                "tokens marked {marker} may exist that nobody holds; reconcile those markers \
                 once the service answers again"
            ),
            Some(marker) => write!(
                f,
                "a token marked {marker} may exist that nobody holds; reconcile that marker \
                 once the service answers again"
            ),
            None => f.write_str(
                "a token may have been minted that nobody holds (a reset's new token carries no \
                 marker): run the same rotation again once the service answers, or list the \
                 tokens and delete it",
            ),
        }
    }
}

impl Error {
    /// Whether the same call may succeed if made again later: timeouts,
    /// transport failures, 408, 429 and 5xx answers.
    ///
    /// This says nothing about whether repeating is *safe*: the crate itself
    /// never repeats a create or a reset whose answer was lost.
    pub fn is_retryable(&self) -> bool {
        !self.is_outcome_unknown() && self.class().is_some_and(Class::retryable)
    }

    /// What the transport made of the answer or failure this error keeps
    /// (one classification for the retry loop and the error alike); `None`
    /// for an error that no answer or failure of a call caused as such.
    pub(crate) fn class(&self) -> Option<Class> {
        match self.underlying() {
            Error::Timeout { source, .. } | Error::Transport { source, .. } => {
                Some(Class::of(Outcome::of_failure(source)))
            }
            other => other
                .api_error()
                .map(|e| Class::of(Outcome::Status(e.status))),
        }
    }

    /// Whether a create or a reset was sent and no usable answer came back,
    /// so that a token may have been minted: see [`Error::OutcomeUnknown`],
    /// and [`Error::Unreconciled`] when the lifecycle module could not
    /// settle it either.
    ///
    /// ```
    /// fn after_create<T>(created: Result<T, api_tokens::Error>) {
    ///     match created {
    ///         Err(e) if e.is_outcome_unknown() => {
    ///             // Do not simply try again: list the tokens and reconcile.
    ///         }
    ///         _ => {}
    ///     }
    /// }
    /// # let _ = after_create::<()>;
    /// ```
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(
            self,
            Error::OutcomeUnknown { .. } | Error::Unreconciled { .. }
        )
    }

    /// The HTTP status of the answer that caused this error, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self.underlying() {
            Error::Redirect { status, .. } | Error::Decode { status, .. } => Some(*status),
            other => other.api_error().map(|e| e.status),
        }
    }

    /// What the service said, for errors that come from an error answer.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self.underlying() {
            Error::Api(e) | Error::Unauthorized(e) | Error::Forbidden(e) | Error::NotFound(e) => {
                Some(e)
            }
            Error::RateLimited { error, .. } => Some(error),
            _ => None,
        }
    }

    /// The service's own messages, empty when it gave none.
    pub fn messages(&self) -> &[String] {
        self.api_error().map_or(&[], |e| &e.messages)
    }

    /// The request id (or Unit's support id) of the failed answer, if given.
    pub fn request_id(&self) -> Option<&str> {
        match self.underlying() {
            Error::Decode { request_id, .. } => request_id.as_deref(),
            other => other.api_error().and_then(|e| e.request_id.as_deref()),
        }
    }

    /// This error with the request id of the answer it is about, when it
    /// is (or wraps) an answer that could not be decoded and has none yet.
    pub(crate) fn with_request_id(mut self, id: Option<String>) -> Error {
        let mut at = &mut self;
        loop {
            match at {
                Error::OutcomeUnknown { cause, .. } | Error::Unreconciled { cause, .. } => {
                    at = cause;
                }
                Error::Decode { request_id, .. } => {
                    if request_id.is_none() {
                        *request_id = id;
                    }
                    break;
                }
                _ => break,
            }
        }
        self
    }

    /// The rate-limit headers of the failed answer, if given.
    pub fn rate_limit(&self) -> Option<RateLimit> {
        self.api_error().and_then(|e| e.rate_limit)
    }

    /// How many attempts the call that failed made in all, when it reached
    /// the network: for an error answer (the retry policy may have repeated
    /// the call before it), a timeout or a transport failure, and for the
    /// cause of [`Error::OutcomeUnknown`] and [`Error::Unreconciled`].
    /// `None` for an argument refused before sending, a redirect or an
    /// answer that could not be decoded.
    ///
    /// `Display` says it too, for every error that followed a retry.
    ///
    /// ```
    /// fn report<T>(listed: Result<T, api_tokens::Error>) {
    ///     if let Err(e) = listed {
    ///         eprintln!("{e} ({} attempt(s))", e.attempts().unwrap_or(0));
    ///     }
    /// }
    /// # let _ = report::<()>;
    /// ```
    pub fn attempts(&self) -> Option<u32> {
        match self.underlying() {
            Error::Timeout { attempts, .. } | Error::Transport { attempts, .. } => Some(*attempts),
            other => other.api_error().map(|e| e.attempts),
        }
    }

    /// The error an outcome left unknown or unreconciled stands for (its
    /// cause, followed down); any other error itself.
    fn underlying(&self) -> &Error {
        match self {
            Error::OutcomeUnknown { cause, .. } | Error::Unreconciled { cause, .. } => {
                cause.underlying()
            }
            other => other,
        }
    }

    /// The same error, saying that the call made `n` attempts.
    pub(crate) fn with_attempts(mut self, n: u32) -> Error {
        self.set_attempts(n);
        self
    }

    /// Sets the attempts of an error that counts them: an error answer, a
    /// timeout, a transport failure, and the cause of an outcome left
    /// unknown.
    fn set_attempts(&mut self, n: u32) {
        match self {
            Error::OutcomeUnknown { cause, .. } => cause.set_attempts(n),
            Error::Timeout { attempts, .. } | Error::Transport { attempts, .. } => *attempts = n,
            Error::Api(e)
            | Error::Unauthorized(e)
            | Error::Forbidden(e)
            | Error::NotFound(e)
            | Error::RateLimited { error: e, .. } => e.attempts = n,
            _ => {}
        }
    }

    /// Sorts an error answer into its variant by status.
    // Called by the dialects' error decoding; until they use it, only tests do.
    pub(crate) fn from_api(mut error: ApiError, retry_after: Option<Duration>) -> Error {
        // The service's words, as an error keeps them: visible text only,
        // and a bounded amount of it, however hostile the answer.
        let tidy = |list: Vec<String>| -> Vec<String> {
            list.iter()
                .filter_map(|m| crate::scrub::message(m, MAX_MESSAGE_CHARS))
                .take(MAX_MESSAGES)
                .collect()
        };
        error.messages = tidy(std::mem::take(&mut error.messages));
        error.field_errors = std::mem::take(&mut error.field_errors)
            .into_iter()
            .filter_map(|(field, list)| {
                let field = crate::scrub::message(&field, MAX_MESSAGE_CHARS)?;
                Some((field, tidy(list)))
            })
            .take(MAX_MESSAGES)
            .collect();
        let error = Box::new(error);
        match error.status {
            401 => Error::Unauthorized(error),
            403 => Error::Forbidden(error),
            404 => Error::NotFound(error),
            429 => Error::RateLimited { retry_after, error },
            _ => Error::Api(error),
        }
    }

    /// Marks a create's or reset's failure as leaving the outcome unknown.
    pub(crate) fn outcome_unknown(operation: &'static str, cause: Error) -> Error {
        Error::OutcomeUnknown {
            operation,
            cause: Box::new(cause),
        }
    }

    /// A transport failure described for a log line: its kind only, never a
    /// URL or header.
    pub(crate) fn describe_transport(e: &reqwest::Error) -> &'static str {
        if e.is_connect() {
            "connection failed"
        } else if e.is_timeout() {
            "timed out"
        } else if e.is_body() || e.is_decode() {
            "the body broke off"
        } else {
            "the connection broke"
        }
    }

    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Error {
        Error::Invalid {
            field,
            reason: reason.into(),
        }
    }

    /// A decode error from `serde_path_to_error`, with any value from the
    /// body removed from the message.
    pub(crate) fn decode(
        service: Service,
        status: u16,
        err: serde_path_to_error::Error<serde_json::Error>,
    ) -> Error {
        let at = redacted_path(err.path());
        let inner = err.inner();
        let reason = describe_json_error(inner);
        Error::Decode {
            service,
            status,
            at,
            reason,
            request_id: None,
        }
    }

    /// A decode error for text that follows a complete JSON document.
    pub(crate) fn trailing(service: Service, status: u16, err: &serde_json::Error) -> Error {
        Error::Decode {
            service,
            status,
            at: ".".to_owned(),
            reason: describe_json_error(err),
            request_id: None,
        }
    }
}

/// The JSON path where decoding stopped. Its keys are read from the body: a
/// key is shown only when it looks like a field name (a letter or `_`, then
/// letters, digits, `_` or `-`, at most 24 characters in all); any other key
/// (a broken value under an unknown key, say) is shown as `…`.
fn redacted_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        let shown = match segment {
            Segment::Seq { index } => {
                out.push_str(&format!("[{index}]"));
                continue;
            }
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if looks_like_field_name(key) {
                    key.as_str()
                } else {
                    "…"
                }
            }
            Segment::Unknown => "?",
        };
        if !out.is_empty() {
            out.push('.');
        }
        out.push_str(shown);
    }
    if out.is_empty() {
        out.push('.');
    }
    out
}

fn looks_like_field_name(key: &str) -> bool {
    let mut chars = key.chars();
    key.len() <= 24
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// A serde_json error message without the values it may quote from the body.
fn describe_json_error(err: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let text = err.to_string();
    let cleaned = redact_quoted(&text);
    match err.classify() {
        Category::Eof => format!(
            "the body ended early (truncated) at line {} column {}",
            err.line(),
            err.column()
        ),
        Category::Syntax => format!("{cleaned} (not valid JSON)"),
        Category::Data | Category::Io => cleaned,
    }
}

/// Replaces the content of every `"…"` quoted run with `…` (serde writes a
/// string from the body with `{:?}`, so a quote inside it is escaped as
/// `\"` and does not end the run), and of the `` `…` `` run that serde
/// writes after `unknown variant` / `unknown field` or around a scalar from
/// the body (`integer`, `floating point`, `boolean`, `character`). The
/// other backtick runs (`missing field`, `expected one of`) name the
/// crate's own fields and variants and are kept.
fn redact_quoted(text: &str) -> String {
    const FROM_BODY: [&str; 6] = [
        "unknown variant ",
        "unknown field ",
        "integer ",
        "floating point ",
        "boolean ",
        "character ",
    ];
    let mut out = String::with_capacity(text.len());
    let mut closing: Option<char> = None;
    let mut escaped = false;
    for c in text.chars() {
        match closing {
            Some(_) if escaped => escaped = false,
            Some('"') if c == '\\' => escaped = true,
            Some(end) if c == end => {
                out.push('…');
                out.push(c);
                closing = None;
            }
            Some(_) => {}
            None => {
                let from_body =
                    c == '"' || (c == '`' && FROM_BODY.iter().any(|before| out.ends_with(before)));
                if from_body {
                    closing = Some(c);
                }
                out.push(c);
            }
        }
    }
    out
}

/// What a service said in an error answer, decoded from its own error shape.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// Which service answered.
    pub service: Service,
    /// The HTTP status.
    pub status: u16,
    /// Every human-readable message the service gave, in order (JSON:API
    /// `title`/`detail`, Mailtrap `error`/`errors`, field errors as
    /// `field: message`). For a non-JSON body (a gateway's HTML page) a short
    /// description of it. Visible text only (control characters, escape
    /// sequences, zero-width and bidirectional marks removed, whitespace
    /// made single spaces), at most 20 messages of at most 500 characters.
    pub messages: Vec<String>,
    /// Validation errors per field (`base` for record-level ones), when the
    /// service gave them per field.
    pub field_errors: BTreeMap<String, Vec<String>>,
    /// The error objects of the answer, for a service whose error answers
    /// are lists of them (Unit's JSON:API documents; empty for Mailtrap).
    pub errors: Vec<ErrorObject>,
    /// A request id from the response headers, or Unit's `meta.supportId`.
    pub request_id: Option<String>,
    /// Rate-limit headers of the answer, when present.
    pub rate_limit: Option<RateLimit>,
    /// How many attempts the call made in all, this answer's included (1
    /// unless the retry policy repeated the call). Shown by `Display` when
    /// more than one.
    pub attempts: u32,
}

/// At most this many of a service's messages (and of its fields with
/// errors) are kept, each of at most [`MAX_MESSAGE_CHARS`] characters.
const MAX_MESSAGES: usize = 20;
const MAX_MESSAGE_CHARS: usize = 500;

impl ApiError {
    /// An error answer with only a status; the dialects fill in the rest.
    pub fn new(service: Service, status: u16) -> Self {
        ApiError {
            service,
            status,
            messages: Vec::new(),
            field_errors: BTreeMap::new(),
            errors: Vec::new(),
            request_id: None,
            rate_limit: None,
            attempts: 1,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} answered {}", self.service, self.status)?;
        if let Some(reason) = reqwest::StatusCode::from_u16(self.status)
            .ok()
            .and_then(|s| s.canonical_reason())
        {
            write!(f, " {reason}")?;
        }
        let mut sep = ": ";
        for m in &self.messages {
            write!(f, "{sep}{m}")?;
            sep = "; ";
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        if self.attempts > 1 {
            write!(f, " after {} attempts", self.attempts)?;
        }
        Ok(())
    }
}

/// The rate-limit state a service reported in `X-Ratelimit-Limit` and
/// `X-Ratelimit-Remaining`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct RateLimit {
    /// Requests allowed in the current window.
    pub limit: Option<u64>,
    /// Requests left in the current window.
    pub remaining: Option<u64>,
}

impl RateLimit {
    /// A rate-limit reading.
    pub fn new(limit: Option<u64>, remaining: Option<u64>) -> Self {
        RateLimit { limit, remaining }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_values_are_removed() {
        assert_eq!(
            redact_quoted(r#"invalid type: string "s3cr3t", expected u64"#),
            r#"invalid type: string "…", expected u64"#
        );
        assert_eq!(
            redact_quoted(r#"invalid type: string "a\"s3cr3t\\", expected u64"#),
            r#"invalid type: string "…", expected u64"#
        );
        assert_eq!(
            redact_quoted("invalid type: integer `12345`, expected a string"),
            "invalid type: integer `…`, expected a string"
        );
        assert_eq!(
            redact_quoted("unknown variant `s3cr3t`, expected `account` or `project`"),
            "unknown variant `…`, expected `account` or `project`"
        );
        assert_eq!(
            redact_quoted("missing field `token`"),
            "missing field `token`"
        );
    }

    #[test]
    fn decode_error_never_quotes_the_body() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct T {
            id: u64,
        }
        let body = br#"{"id":"sk_live_very_secret"}"#;
        let de = &mut serde_json::Deserializer::from_slice(body);
        let err = serde_path_to_error::deserialize::<_, T>(de).unwrap_err();
        let err = Error::decode(Service::Mailtrap, 200, err);
        let text = format!("{err} {err:?}");
        assert!(!text.contains("very_secret"), "{text}");
        assert!(text.contains("id"), "{text}");
    }

    #[test]
    fn status_sorts_into_variants() {
        let e = |s| Error::from_api(ApiError::new(Service::Unit, s), None);
        assert!(matches!(e(401), Error::Unauthorized(_)));
        assert!(matches!(e(403), Error::Forbidden(_)));
        assert!(matches!(e(404), Error::NotFound(_)));
        assert!(matches!(e(429), Error::RateLimited { .. }));
        assert!(matches!(e(422), Error::Api(_)));
        assert!(e(503).is_retryable());
        assert!(!e(422).is_retryable());
        assert_eq!(e(404).status(), Some(404));
    }
}
