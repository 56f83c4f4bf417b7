//! The one HTTP transport both dialects share.
//!
//! A dialect describes a call ([`Call`]) and says how to read the answer;
//! the transport paces, adds auth, sends, retries as the kind of call
//! allows, and gives back status, headers and bytes. It knows nothing of
//! either dialect's bodies, and the dialects know nothing of attempts.
//!
//! - [`attempt`]: one attempt: auth, send, redirect refusal, body cap,
//!   error-body scrubbing.
//! - [`retry`]: the retry policy and the short loop that decides and waits.
//! - [`pacing`]: the rate-limit pacer shared by a client's clones.
//! - [`auth`]: where the token goes on a request.

mod attempt;
pub(crate) mod auth;
#[cfg(test)]
#[path = "tests.rs"]
mod http_tests;
pub(crate) mod pacing;
pub(crate) mod retry;

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
use secrecy::SecretString;
use serde::de::DeserializeOwned;
use tracing::Instrument;
use url::Url;

use crate::error::{Error, RateLimit, Result, Service};
pub(crate) use auth::Auth;
use pacing::{Documented, Pacer, Pacing};
pub use retry::RetryPolicy;
use retry::{Attempt, Finished, Outcome, parse_retry_after, retry_loop};

/// Counters a client keeps of its own traffic, for callers and tests that
/// want to see retries happen.
///
/// ```
/// # async fn f(client: api_tokens::unit::Client) {
/// let before = client.stats();
/// // … calls …
/// let after = client.stats();
/// println!("{} retries", after.retries - before.retries);
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// HTTP requests sent (every attempt counts).
    pub requests: u64,
    /// Attempts that were repeats of a failed attempt.
    pub retries: u64,
}

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
            method,
            template,
            segments,
            body: None,
            accept,
        }
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

/// A raw answer: the status, headers and body bytes, for the dialect to
/// decode. Redirects never get here. `Debug` shows the body's length only:
/// a body may hold a token.
pub(crate) struct Response {
    pub service: Service,
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Response")
            .field("service", &self.service)
            .field("status", &self.status)
            .field("headers", &self.headers)
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .finish()
    }
}

impl Response {
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

    /// `Retry-After` in either form.
    pub(crate) fn retry_after(&self) -> Option<Duration> {
        header_retry_after(&self.headers)
    }

    /// `X-Ratelimit-Limit` / `X-Ratelimit-Remaining`, when either is present.
    pub(crate) fn rate_limit(&self) -> Option<RateLimit> {
        header_rate_limit(&self.headers)
    }

    /// A request id from the usual headers. Error answers reach the dialects
    /// with the caller's token already hidden in every header.
    pub(crate) fn request_id(&self) -> Option<String> {
        [
            "x-request-id",
            "request-id",
            "x-amzn-requestid",
            "x-correlation-id",
        ]
        .iter()
        .find_map(|h| self.headers.get(*h))
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

fn header_retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_retry_after(v, SystemTime::now()))
}

fn header_rate_limit(headers: &HeaderMap) -> Option<RateLimit> {
    let read = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    let limit = read("x-ratelimit-limit");
    let remaining = read("x-ratelimit-remaining");
    (limit.is_some() || remaining.is_some()).then(|| RateLimit::new(limit, remaining))
}

/// Everything an error keeps comes from an error answer: the caller's token
/// and secret-named values are hidden in the decoded text of its body and
/// of every header before a dialect reads it.
pub(crate) fn hide_in_error_answer(
    secrets: &crate::scrub::Secrets,
    headers: &mut HeaderMap,
    body: Bytes,
) -> Bytes {
    for value in headers.values_mut() {
        let replaced = match secrets.hide_in_header(value) {
            Some(hidden) if hidden.as_bytes() == value.as_bytes() => continue,
            Some(hidden) => HeaderValue::try_from(hidden).ok(),
            // Not visible text: no error keeps it as it came.
            None => None,
        };
        *value = replaced.unwrap_or_else(|| HeaderValue::from_static(crate::scrub::REDACTED));
    }
    secrets.hide_in_body(&body).unwrap_or(body)
}

/// What a dialect makes of an error answer.
pub(crate) type ErrorDecoder = fn(&Response) -> Error;

/// How a delete ended.
#[derive(Debug)]
pub(crate) enum Deleted {
    /// The service answered with success.
    Now(Response),
    /// A repeat found the resource gone after an earlier attempt went
    /// unanswered: that attempt did the work, only its answer was lost.
    ByEarlierAttempt,
}

/// The shared transport. Cheap to clone: clones share the connection pool,
/// the counters and the pacer.
#[derive(Clone, Debug)]
pub(crate) struct Transport {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// What a client made with another credential shares.
    shared: Shared,
    auth: Auth,
    pacer: Pacer,
    requests: AtomicU64,
    retries: AtomicU64,
    last_rate_limit: Mutex<Option<RateLimit>>,
}

/// The settings every credential of a client uses alike.
#[derive(Debug, Clone)]
struct Shared {
    service: Service,
    base: Url,
    http: reqwest::Client,
    retry: RetryPolicy,
    timeout: Option<Duration>,
    user_agent: HeaderValue,
    extra_headers: HeaderMap,
}

impl Inner {
    /// A credential's transport, its counters at zero.
    fn new(shared: Shared, auth: Auth, pacer: Pacer) -> Inner {
        Inner {
            shared,
            auth,
            pacer,
            requests: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            last_rate_limit: Mutex::new(None),
        }
    }
}

/// What a transport is made of; see [`crate::config`].
pub(crate) struct Parts<'a> {
    pub service: Service,
    pub base_url: &'a str,
    pub http: reqwest::Client,
    pub auth: Auth,
    pub retry: RetryPolicy,
    pub pacing: Pacing,
    pub timeout: Option<Duration>,
    pub user_agent: HeaderValue,
    pub extra_headers: HeaderMap,
}

/// Each service's documented limit and own hosts.
fn documented(service: Service) -> (Documented, &'static [&'static str]) {
    match service {
        Service::Mailtrap => (
            Documented {
                requests: 150,
                window: Duration::from_secs(10),
            },
            &["mailtrap.io"],
        ),
        Service::Unit => (
            Documented {
                requests: 1000,
                window: Duration::from_secs(60),
            },
            &["api.unit.co", "api.s.unit.sh"],
        ),
    }
}

impl Transport {
    pub(crate) fn new(parts: Parts<'_>) -> Result<Transport> {
        let base = parse_base_url(parts.base_url)?;
        let (limit, hosts) = documented(parts.service);
        let own_host = base
            .host_str()
            .is_some_and(|h| hosts.iter().any(|own| h.eq_ignore_ascii_case(own)));
        let pacer = Pacer::new(parts.pacing, limit, own_host, parts.retry.max_retry_after);
        let shared = Shared {
            service: parts.service,
            base,
            http: parts.http,
            retry: parts.retry,
            timeout: parts.timeout,
            user_agent: parts.user_agent,
            extra_headers: parts.extra_headers,
        };
        Ok(Transport {
            inner: Arc::new(Inner::new(shared, parts.auth, pacer)),
        })
    }

    /// The same settings and connection pool with another credential.
    /// Mailtrap limits per token, so the new credential gets a pacer of its
    /// own; Unit limits per address, so the pacer is shared.
    pub(crate) fn with_token(&self, token: SecretString) -> Result<Transport> {
        let inner = &*self.inner;
        let pacer = match inner.shared.service {
            Service::Mailtrap => inner.pacer.fresh(),
            Service::Unit => inner.pacer.clone(),
        };
        let auth = inner.auth.with_token(token)?;
        Ok(Transport {
            inner: Arc::new(Inner::new(inner.shared.clone(), auth, pacer)),
        })
    }

    /// The base URL, with a trailing slash.
    pub(crate) fn base_url(&self) -> &Url {
        &self.inner.shared.base
    }

    pub(crate) fn stats(&self) -> Stats {
        Stats {
            requests: self.inner.requests.load(Ordering::Relaxed),
            retries: self.inner.retries.load(Ordering::Relaxed),
        }
    }

    pub(crate) fn last_rate_limit(&self) -> Option<RateLimit> {
        self.inner.last_rate_limit.lock().ok().and_then(|g| *g)
    }

    /// A call that reads (GET): repeated as the policy allows; an error
    /// status becomes the dialect's error, a success is decoded.
    pub(crate) async fn read<T>(
        &self,
        call: Call<'_>,
        on_error: ErrorDecoder,
        decode: impl FnOnce(&Response) -> Result<T>,
    ) -> Result<T> {
        let operation = call.operation;
        self.traced(call, async move |this: &Self, call: Call<'_>| {
            let finished = this.run(&call, true).await?;
            let attempts = finished.attempts;
            let response = this.answer(finished, operation)?;
            if response.is_success() {
                decode(&response)
            } else {
                Err(on_error(&response).with_attempts(attempts))
            }
        })
        .await
    }

    /// A call that mints a token (create, reset: POST). Never repeated once
    /// it may have reached the service: when no answer came (timeout, broken
    /// connection, 408 or 5xx) or a success could not be read, the error is
    /// [`Error::OutcomeUnknown`], since a token may have been minted.
    pub(crate) async fn mint<T>(
        &self,
        call: Call<'_>,
        on_error: ErrorDecoder,
        decode: impl FnOnce(&Response) -> Result<T>,
    ) -> Result<T> {
        let operation = call.operation;
        self.traced(call, async move |this: &Self, call: Call<'_>| {
            let finished = this.run(&call, false).await?;
            let attempts = finished.attempts;
            let unknown = match &finished.last {
                Attempt::Failed { outcome, .. } => retry::unanswered(*outcome),
                Attempt::Answered(r) => retry::unanswered(Outcome::Status(r.status)),
                Attempt::Fatal(_) => false,
            };
            let result = this.answer(finished, operation).and_then(|response| {
                if response.is_success() {
                    decode(&response).map_err(|e| Error::outcome_unknown(operation, e))
                } else {
                    Err(on_error(&response).with_attempts(attempts))
                }
            });
            match result {
                Err(e) if unknown && !e.is_outcome_unknown() => {
                    Err(Error::outcome_unknown(operation, e))
                }
                other => other,
            }
        })
        .await
    }

    /// A delete (revoke, delete: DELETE), repeated as the policy allows. A
    /// repeat that finds the resource gone (404) after an earlier attempt
    /// went unanswered is [`Deleted::ByEarlierAttempt`], not an error.
    pub(crate) async fn delete(&self, call: Call<'_>, on_error: ErrorDecoder) -> Result<Deleted> {
        let operation = call.operation;
        self.traced(call, async move |this: &Self, call: Call<'_>| {
            let finished = this.run(&call, true).await?;
            let earlier_unanswered = finished.earlier_unanswered;
            let attempts = finished.attempts;
            let response = this.answer(finished, operation)?;
            if response.is_success() {
                Ok(Deleted::Now(response))
            } else if response.status == 404 && earlier_unanswered {
                tracing::info!(
                    "a repeat found the resource gone after an earlier attempt went unanswered: \
                     that attempt did the work"
                );
                Ok(Deleted::ByEarlierAttempt)
            } else {
                Err(on_error(&response).with_attempts(attempts))
            }
        })
        .await
    }

    /// Runs `body` inside the call's span: service, operation, method, path
    /// template, and, once known, attempts, status, elapsed and paced time.
    async fn traced<T>(
        &self,
        call: Call<'_>,
        body: impl AsyncFnOnce(&Self, Call<'_>) -> Result<T>,
    ) -> Result<T> {
        let span = tracing::info_span!(
            "api_tokens.call",
            service = %self.inner.shared.service,
            operation = call.operation,
            method = %call.method,
            path = call.template,
            attempts = tracing::field::Empty,
            status = tracing::field::Empty,
            elapsed_ms = tracing::field::Empty,
            paced_ms = tracing::field::Empty,
            outcome_unknown = tracing::field::Empty,
        );
        let started = tokio::time::Instant::now();
        let result = body(self, call).instrument(span.clone()).await;
        span.record("elapsed_ms", millis(started.elapsed()));
        match &result {
            Ok(_) => {}
            Err(e) => {
                if let Some(status) = e.status() {
                    span.record("status", status);
                }
                if e.is_outcome_unknown() {
                    span.record("outcome_unknown", true);
                }
            }
        }
        result
    }

    /// The retry loop over attempts of one call.
    async fn run(&self, call: &Call<'_>, idempotent: bool) -> Result<Finished> {
        // `url` drops `.` and `..` segments and an empty one adds a slash:
        // either would address another resource than the one asked for.
        if let Some(bad) = call
            .segments
            .iter()
            .find(|s| s.is_empty() || **s == "." || **s == "..")
        {
            return Err(Error::invalid(
                "path segment",
                format!(
                    "`{}` cannot be a path segment; an id must not be empty, `.` or `..`",
                    bad.escape_debug()
                ),
            ));
        }
        let url = self.url_for(call.segments);
        let paced = AtomicU64::new(0);
        let finished = retry_loop(
            &self.inner.shared.retry,
            idempotent,
            |_| attempt::attempt(self, call, &url, &paced),
            tokio::time::sleep,
        )
        .await;
        let span = tracing::Span::current();
        span.record("attempts", finished.attempts);
        span.record("paced_ms", paced.load(Ordering::Relaxed));
        if let Attempt::Answered(r) = &finished.last {
            span.record("status", r.status);
        }
        self.inner.retries.fetch_add(
            u64::from(finished.attempts.saturating_sub(1)),
            Ordering::Relaxed,
        );
        Ok(finished)
    }

    /// The answer of the last attempt, or the error it ended in.
    fn answer(&self, finished: Finished, operation: &'static str) -> Result<Response> {
        let attempts = finished.attempts;
        match finished.last {
            Attempt::Answered(response) => Ok(response),
            Attempt::Fatal(e) => Err(e),
            Attempt::Failed { outcome, error } => {
                tracing::debug!(
                    operation,
                    "no answer: {}",
                    Error::describe_transport(&error)
                );
                // A connect timeout is classified as a connect failure
                // (nothing was sent) but is still a timeout.
                if outcome == Outcome::TimedOut || error.is_timeout() {
                    Err(Error::Timeout {
                        attempts,
                        source: error,
                    })
                } else {
                    Err(Error::Transport {
                        attempts,
                        source: error,
                    })
                }
            }
        }
    }

    fn url_for(&self, segments: &[&str]) -> Url {
        let mut url = self.inner.shared.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Checks a base URL: parsed, `https` unless the host is a loopback
/// address, no credentials, query or fragment; the path is kept as a prefix.
pub(crate) fn parse_base_url(raw: &str) -> Result<Url> {
    let shown = without_userinfo(raw);
    let mut url = Url::parse(raw.trim()).map_err(|e| {
        Error::invalid("base_url", format!("`{shown}` is not an absolute URL: {e}"))
    })?;
    let host = url
        .host_str()
        .ok_or_else(|| Error::invalid("base_url", format!("`{shown}` has no host")))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(host) => {}
        "http" => {
            return Err(Error::invalid(
                "base_url",
                format!(
                    "plain http is allowed only to a loopback address (127.0.0.0/8, ::1, localhost); use https for `{host}`"
                ),
            ));
        }
        other => {
            return Err(Error::invalid(
                "base_url",
                format!("scheme `{other}` is not supported; use https"),
            ));
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::invalid(
            "base_url",
            "credentials in the URL are refused; give the token to the builder",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::invalid(
            "base_url",
            "a query or fragment has no place in a base URL",
        ));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// A URL as it may appear in an error: anything before the last `@`, where
/// a user name and password would be, is left out.
fn without_userinfo(raw: &str) -> String {
    match raw.rfind('@') {
        Some(at) => format!("…{}", &raw[at..]),
        None => raw.to_owned(),
    }
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => bare.eq_ignore_ascii_case("localhost"),
    }
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        let u = parse_base_url("http://127.0.0.1:9000/prefix").unwrap();
        assert_eq!(u.as_str(), "http://127.0.0.1:9000/prefix/");
        assert!(parse_base_url("http://localhost:1").is_ok());
        assert!(parse_base_url("http://[::1]:1/").is_ok());
        assert!(parse_base_url("http://127.8.9.10/").is_ok());
        assert!(parse_base_url("https://api.s.unit.sh").is_ok());
        for bad in [
            "http://example.com",
            "http://10.0.0.1",
            "ftp://127.0.0.1",
            "https://u:p@example.com",
            "https://example.com/?a=1",
            "not a url",
        ] {
            assert!(
                matches!(
                    parse_base_url(bad),
                    Err(Error::Invalid {
                        field: "base_url",
                        ..
                    })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn html_error_bodies_are_summarised() {
        let r = Response {
            service: Service::Unit,
            status: 502,
            headers: HeaderMap::new(),
            body: Bytes::from_static(
                b"<html><head><title>502 Bad Gateway</title></head><body>x</body></html>",
            ),
        };
        assert_eq!(r.error_body_summary().as_deref(), Some("502 Bad Gateway"));
        let empty = Response {
            body: Bytes::new(),
            ..r
        };
        assert_eq!(empty.error_body_summary(), None);
    }
}
