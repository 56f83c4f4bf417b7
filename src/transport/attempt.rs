//! One attempt of a call: pace, build the request with auth, send, refuse a
//! redirect, read the body up to a cap, and hide secrets in an error
//! answer before anything of it is kept.

use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue, LOCATION};
use url::Url;

use super::base_url::same_origin;
use super::call::Call;
use super::headers::HeaderFacts;
use super::outcome::Outcome;
use super::pacing::Permit;
use super::response::{Response, hide_in_error_answer};
use super::retry::Attempt;
use super::state::Inner;
use crate::error::Error;

/// The largest body read: a token list or an error is far smaller, and a
/// body that does not end (a broken or hostile server) must not fill the
/// memory before the timeout, if there is one.
pub(crate) const MAX_BODY: usize = 16 * 1024 * 1024;

/// The most room reserved ahead of a body from its `Content-Length`: a
/// header alone cannot make the client set aside 16 MiB for a body that
/// never comes; a longer body grows the buffer as it arrives.
const MAX_PREALLOCATED: usize = 256 * 1024;

/// Makes one attempt. `paced` adds up, in milliseconds, the time spent
/// waiting for a slot under the rate limit. `None`, with nothing sent, when
/// the slot would come after `deadline`.
pub(super) async fn attempt(
    inner: &Inner,
    call: &Call<'_>,
    url: &Url,
    paced: &AtomicU64,
    deadline: Option<tokio::time::Instant>,
) -> Option<Attempt> {
    // Held until the answer is observed: dropped earlier (no answer, or
    // this future dropped), it lets another call learn the limit.
    let permit = inner.pacer.acquire_by(deadline).await?;
    if !permit.waited.is_zero() {
        paced.fetch_add(millis(permit.waited), Ordering::Relaxed);
    }
    Some(send(inner, call, url, permit).await)
}

/// Sends the attempt in its slot and reads the answer.
async fn send(inner: &Inner, call: &Call<'_>, url: &Url, permit: Permit<'_>) -> Attempt {
    inner.requests.fetch_add(1, Ordering::Relaxed);
    let mut answer = match request(inner, call, url).send().await {
        Ok(answer) => answer,
        Err(error) => {
            return Attempt::Failed {
                outcome: Outcome::of_failure(&error),
                error,
            };
        }
    };
    let status = answer.status().as_u16();
    // The headers are read once, at the moment the answer came: the pacer,
    // the retry loop and the dialect's error all use what they said then.
    let facts = HeaderFacts::read(answer.headers());
    if let Some(rl) = facts.rate_limit {
        if let Ok(mut slot) = inner.last_rate_limit.lock() {
            *slot = Some(rl);
        }
    }
    // Any answer teaches the pacer, a refused redirect's too.
    permit.observe(&facts, status == 429);
    if !same_origin(answer.url(), &inner.shared.base) || answer.status().is_redirection() {
        let secrets = inner.auth.secrets();
        let location = match answer.headers().get(LOCATION) {
            Some(value) => secrets.hide_in_header(value),
            None => Some(secrets.hide_in_text(answer.url().as_str()).into_owned()),
        };
        return Attempt::Fatal(Error::Redirect { status, location });
    }
    let mut headers = std::mem::take(answer.headers_mut());
    let body = match read_body(answer).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => {
            return Attempt::Fatal(Error::Decode {
                service: inner.shared.service,
                status,
                at: ".".to_owned(),
                request_id: None,
                reason: format!(
                    "the body is larger than {} MiB; reading stopped there",
                    MAX_BODY / (1024 * 1024)
                ),
            });
        }
        Err(BodyError::Read(error)) => {
            return Attempt::Failed {
                outcome: Outcome::Broken,
                error,
            };
        }
    };
    let body = if (200..300).contains(&status) {
        // A success keeps its secret-named values (a create's new secret),
        // but never quotes the caller's token, in its body or its headers
        // (a request id an error about it would show).
        let secrets = inner.auth.secrets();
        super::response::hide_in_headers(secrets, &mut headers);
        secrets.hide_known_in_success(&body).unwrap_or(body)
    } else {
        hide_in_error_answer(inner.auth.secrets(), &mut headers, body)
    };
    Attempt::Answered(Response::new(
        inner.shared.service,
        status,
        headers,
        body,
        facts,
    ))
}

/// The request of one attempt. The headers the crate sets itself (auth,
/// `User-Agent`, `Accept`, `Content-Type`) replace any extra header of the
/// same name, so each is sent exactly once.
pub(super) fn request(inner: &Inner, call: &Call<'_>, url: &Url) -> reqwest::RequestBuilder {
    let mut headers = inner.shared.extra_headers.clone();
    headers.insert(reqwest::header::USER_AGENT, inner.shared.user_agent.clone());
    headers.insert(ACCEPT, HeaderValue::from_static(call.accept));
    let (auth_name, auth_value) = inner.auth.header();
    headers.insert(auth_name, auth_value);
    match &call.body {
        Some(body) => {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(body.content_type));
        }
        // A POST without a body (Mailtrap's reset with the server default)
        // says it has none: some front ends refuse it otherwise (411).
        None if call.method == reqwest::Method::POST => {
            headers.insert(
                reqwest::header::CONTENT_LENGTH,
                HeaderValue::from_static("0"),
            );
        }
        None => {}
    }
    let mut request = inner
        .shared
        .http
        .request(call.method.clone(), url.clone())
        .headers(headers);
    if let Some(body) = &call.body {
        request = request.body(body.bytes.clone());
    }
    if let Some(timeout) = inner.shared.timeout {
        request = request.timeout(timeout);
    }
    request
}

/// A duration in whole milliseconds, for a span field.
pub(super) fn millis(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

enum BodyError {
    Read(reqwest::Error),
    TooLarge,
}

/// Reads the body, stopping at [`MAX_BODY`]. A body that arrives in one
/// chunk (the usual case for a small answer) is returned without a copy; a
/// longer one is gathered into a buffer sized from `Content-Length`.
async fn read_body(mut answer: reqwest::Response) -> Result<Bytes, BodyError> {
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
    let expected = declared.map_or(0, |n| {
        usize::try_from(n).unwrap_or(MAX_BODY).min(MAX_PREALLOCATED)
    });
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
