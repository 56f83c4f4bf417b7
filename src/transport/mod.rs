//! The one HTTP transport both dialects share: base URL, `reqwest::Client`,
//! auth, send with retry, and the raw answer. It knows nothing of either
//! dialect's bodies.

pub(crate) mod auth;
#[cfg(test)]
#[path = "tests.rs"]
mod http_tests;
pub(crate) mod retry;
pub(crate) mod settings;

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue, LOCATION, RETRY_AFTER};
use serde::de::DeserializeOwned;
use url::Url;

use crate::error::{Error, RateLimit, Result, Service};
pub(crate) use auth::Auth;
pub use auth::AuthScheme;
pub use retry::RetryPolicy;
use retry::{Outcome, may_repeat, parse_retry_after};
pub(crate) use settings::Settings;

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
    pub method: Method,
    /// Path segments below the base URL, each percent-encoded on its own.
    pub segments: &'a [&'a str],
    pub body: Option<Body>,
    pub accept: &'static str,
}

/// A raw answer: the status, headers and body bytes, for the dialect to
/// decode. Redirects never get here. `Debug` shows the body's length only:
/// a body may hold a token.
pub(crate) struct Response {
    pub service: Service,
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// An earlier attempt of this call went unanswered (timeout, broken
    /// connection, 408 or 5xx), so the service may have acted on it.
    pub earlier_attempt_unanswered: bool,
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

    /// A DELETE that finds nothing after an earlier attempt went unanswered:
    /// that attempt did the work, and only its answer was lost.
    pub(crate) fn deleted_by_earlier_attempt(&self) -> bool {
        self.status == 404 && self.earlier_attempt_unanswered
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

    /// A request id from the usual headers.
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
    /// Only ever called for error answers.
    pub(crate) fn error_body_summary(&self) -> Option<String> {
        let text = String::from_utf8_lossy(&self.body);
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        let lower = text.to_ascii_lowercase();
        let picked = match (lower.find("<title>"), lower.find("</title>")) {
            (Some(a), Some(b)) if b > a + 7 => &text[a + 7..b],
            _ => text,
        };
        let mut out: String = picked
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        if out.is_empty() {
            return None;
        }
        if picked.chars().count() > 200 {
            out.push('…');
        }
        Some(out)
    }
}

/// The body of an error answer with what it may hold of a secret hidden:
/// the caller's own token (a gateway's page quoting the request) and any
/// value under a field named like a secret (a token document answered with
/// an error status), whether or not the body is valid JSON. The dialects
/// turn this body into messages that are printed; a body holding neither
/// is kept byte for byte.
fn hide_secrets(body: Bytes, auth: &Auth) -> Bytes {
    let text = String::from_utf8_lossy(&body);
    let own = auth.hide_in(&text);
    let current = own.as_deref().unwrap_or(&text);
    let fields = crate::scrub::hide_secret_fields(current, |_| "[REDACTED]".to_owned());
    match fields.or(own) {
        Some(hidden) => Bytes::from(hidden),
        None => body,
    }
}

/// The largest body read: a token list or an error is far smaller, and a
/// body that does not end (a broken or hostile server) must not fill the
/// memory before the timeout, if there is one.
const MAX_BODY: usize = 16 * 1024 * 1024;

enum BodyError {
    Read(reqwest::Error),
    TooLarge,
}

/// Reads the body, stopping at [`MAX_BODY`]. A body that arrives in one
/// chunk (the usual case for a small answer) is returned without a copy; a
/// longer one is gathered into a buffer sized from `Content-Length`.
async fn read_body(mut answer: reqwest::Response) -> std::result::Result<Bytes, BodyError> {
    let declared = answer.content_length();
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return Err(BodyError::TooLarge);
    }
    let Some(first) = answer.chunk().await.map_err(BodyError::Read)? else {
        return Ok(Bytes::new());
    };
    if first.len() > MAX_BODY {
        return Err(BodyError::TooLarge);
    }
    let Some(second) = answer.chunk().await.map_err(BodyError::Read)? else {
        return Ok(first);
    };
    let expected = declared.map_or(0, |n| n as usize);
    let mut body = bytes::BytesMut::with_capacity(expected.max(first.len() + second.len()));
    let mut next = Some(second);
    body.extend_from_slice(&first);
    while let Some(chunk) = next {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
        next = answer.chunk().await.map_err(BodyError::Read)?;
    }
    Ok(body.freeze())
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

/// The shared transport. Cheap to clone: clones share the connection pool
/// and the counters.
#[derive(Clone, Debug)]
pub(crate) struct Transport {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    service: Service,
    base: Url,
    http: reqwest::Client,
    auth: Auth,
    retry: RetryPolicy,
    timeout: Option<Duration>,
    user_agent: HeaderValue,
    extra_headers: HeaderMap,
    requests: AtomicU64,
    retries: AtomicU64,
    last_rate_limit: Mutex<Option<RateLimit>>,
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

impl Transport {
    /// The base URL, with a trailing slash.
    pub(crate) fn base_url(&self) -> &Url {
        &self.inner.base
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

    fn url_for(&self, segments: &[&str]) -> Url {
        let mut url = self.inner.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// One attempt's request. The headers the crate sets itself (auth,
    /// `User-Agent`, `Accept`, `Content-Type`) replace any extra header of
    /// the same name, so each is sent exactly once.
    fn request(&self, call: &Call<'_>, url: &Url) -> reqwest::RequestBuilder {
        let inner = &*self.inner;
        let mut headers = inner.extra_headers.clone();
        headers.insert(reqwest::header::USER_AGENT, inner.user_agent.clone());
        headers.insert(ACCEPT, HeaderValue::from_static(call.accept));
        let (auth_name, auth_value) = inner.auth.header();
        headers.insert(auth_name, auth_value);
        if let Some(body) = &call.body {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(body.content_type));
        }
        let mut request = inner
            .http
            .request(call.method.clone(), url.clone())
            .headers(headers);
        if let Some(body) = &call.body {
            request = request.body(body.bytes.clone());
        }
        if let Some(timeout) = inner.timeout {
            request = request.timeout(timeout);
        }
        request
    }

    /// Sends a call, repeating it as the retry policy and the method allow.
    /// Any answer that is not a redirect is returned, error statuses
    /// included, for the dialect to decode.
    pub(crate) async fn send(&self, call: Call<'_>) -> Result<Response> {
        let inner = &*self.inner;
        // `url` drops `.` and `..` segments and an empty one adds a slash:
        // either would address another resource than the one asked for.
        if let Some(bad) = call
            .segments
            .iter()
            .find(|s| s.is_empty() || **s == "." || **s == "..")
        {
            return Err(Error::invalid(
                "path segment",
                format!("`{bad}` cannot be a path segment; an id must not be empty, `.` or `..`"),
            ));
        }
        let url = self.url_for(call.segments);
        let idempotent = call.method.is_idempotent();
        let policy = &inner.retry;
        let started = tokio::time::Instant::now();
        let mut attempt: u32 = 0;
        let mut unanswered = false;
        loop {
            attempt += 1;
            inner.requests.fetch_add(1, Ordering::Relaxed);
            let request = self.request(&call, &url);

            let (outcome, retry_after, result) = match request.send().await {
                Ok(mut answer) => {
                    let status = answer.status().as_u16();
                    if !same_origin(answer.url(), &inner.base) || answer.status().is_redirection() {
                        let location = answer
                            .headers()
                            .get(LOCATION)
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_owned)
                            .or_else(|| Some(answer.url().to_string()));
                        return Err(Error::Redirect { status, location });
                    }
                    let headers = std::mem::take(answer.headers_mut());
                    if let Some(rl) = header_rate_limit(&headers) {
                        if let Ok(mut slot) = inner.last_rate_limit.lock() {
                            *slot = Some(rl);
                        }
                    }
                    match read_body(answer).await {
                        Err(BodyError::TooLarge) => {
                            return Err(Error::Decode {
                                service: inner.service,
                                status,
                                at: ".".to_owned(),
                                reason: format!(
                                    "the body is larger than {} MiB; reading stopped there",
                                    MAX_BODY / (1024 * 1024)
                                ),
                            });
                        }
                        Err(BodyError::Read(e)) => (Outcome::Broken, None, Err(e)),
                        Ok(body) => (
                            Outcome::Status(status),
                            header_retry_after(&headers),
                            Ok(Response {
                                body: if (200..300).contains(&status) {
                                    body
                                } else {
                                    hide_secrets(body, &inner.auth)
                                },
                                service: inner.service,
                                status,
                                headers,
                                earlier_attempt_unanswered: unanswered,
                            }),
                        ),
                    }
                }
                Err(e) => (classify(&e), None, Err(e)),
            };

            let repeat = attempt < policy.attempts() && may_repeat(idempotent, outcome);
            let wait = if repeat {
                match retry_after {
                    Some(asked) if asked > policy.retry_after_limit() => None,
                    Some(asked) => Some(asked),
                    None => Some(policy.backoff(attempt - 1)),
                }
            } else {
                None
            };
            // A wait too long to add to the time spent ends past any limit.
            let wait = wait.filter(|w| {
                started
                    .elapsed()
                    .checked_add(*w)
                    .is_some_and(|end| end <= policy.elapsed_limit())
            });

            match wait {
                Some(delay) => {
                    inner.retries.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(
                        target: "api_tokens::retry",
                        service = %inner.service,
                        method = %call.method,
                        path = url.path(),
                        attempt,
                        reason = %describe(outcome),
                        delay_ms = delay.as_millis() as u64,
                        "retrying"
                    );
                    unanswered |= matches!(
                        outcome,
                        Outcome::TimedOut | Outcome::Broken | Outcome::Status(408 | 500..=599)
                    );
                    tokio::time::sleep(delay).await;
                }
                None => {
                    return result.map_err(|source| {
                        // A connect timeout is classified as a connect
                        // failure (nothing was sent) but is still a timeout.
                        if outcome == Outcome::TimedOut || source.is_timeout() {
                            Error::Timeout { attempts: attempt }
                        } else {
                            Error::Transport {
                                attempts: attempt,
                                source,
                            }
                        }
                    });
                }
            }
        }
    }
}

fn classify(err: &reqwest::Error) -> Outcome {
    if err.is_connect() {
        Outcome::ConnectFailed
    } else if err.is_timeout() {
        Outcome::TimedOut
    } else {
        Outcome::Broken
    }
}

fn describe(outcome: Outcome) -> String {
    match outcome {
        Outcome::Status(s) => format!("status {s}"),
        Outcome::ConnectFailed => "connection failed".to_owned(),
        Outcome::TimedOut => "timed out".to_owned(),
        Outcome::Broken => "connection broken".to_owned(),
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
            earlier_attempt_unanswered: false,
        };
        assert_eq!(r.error_body_summary().as_deref(), Some("502 Bad Gateway"));
        let empty = Response {
            body: Bytes::new(),
            ..r
        };
        assert_eq!(empty.error_body_summary(), None);
    }
}
