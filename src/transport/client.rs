//! The transport a client and its clones share, and its three kinds of
//! call: a read, a mint (never repeated once it may have reached the
//! service) and a delete.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};
use secrecy::SecretString;
use tracing::Instrument;
use url::Url;

use super::attempt::{self, millis};
use super::auth::Auth;
use super::base_url::parse_base_url;
use super::call::Call;
use super::facts::{PacedPer, ServiceFacts};
use super::outcome::{Class, Outcome};
use super::pacing::{Pacer, Pacing};
use super::response::Response;
use super::retry::{Attempt, Finished, RetryPolicy, retry_loop};
use super::state::{Inner, Shared, Stats};
use crate::error::{Error, RateLimit, Result, Service};

/// What a dialect makes of an error answer.
pub(crate) type ErrorDecoder = fn(&Response) -> Error;

/// How a delete ended.
#[derive(Debug)]
pub(crate) enum Deleted {
    /// The service answered with success.
    Now(Box<Response>),
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

/// What a transport is made of, as the client builders give it.
pub(crate) struct Parts<'a> {
    pub service: Service,
    pub facts: ServiceFacts,
    pub base_url: &'a str,
    pub http: reqwest::Client,
    pub auth: Auth,
    pub retry: RetryPolicy,
    pub pacing: Pacing,
    pub timeout: Option<Duration>,
    pub user_agent: HeaderValue,
    pub extra_headers: HeaderMap,
}

impl Transport {
    pub(crate) fn new(parts: Parts<'_>) -> Result<Transport> {
        let base = parse_base_url(parts.base_url)?;
        let facts = parts.facts;
        let pacer = Pacer::new(
            parts.pacing,
            facts.limit,
            facts.is_own(&base),
            parts.retry.max_retry_after,
        );
        let shared = Shared {
            service: parts.service,
            paced_per: facts.paced_per,
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

    /// The same settings and connection pool with another credential. A
    /// service that limits per token gives the new credential a pacer of
    /// its own; one that limits per address shares the pacer.
    pub(crate) fn with_token(&self, token: SecretString) -> Result<Transport> {
        let inner = &*self.inner;
        let pacer = match inner.shared.paced_per {
            PacedPer::Token => inner.pacer.fresh(),
            PacedPer::Address => inner.pacer.clone(),
        };
        let auth = inner.auth.with_token(token)?;
        Ok(Transport {
            inner: Arc::new(Inner::new(inner.shared.clone(), auth, pacer)),
        })
    }

    /// What this transport holds, for an attempt to be built from.
    #[cfg(test)]
    pub(super) fn inner(&self) -> &Inner {
        &self.inner
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

    /// A call that reads or mints; an error status becomes the dialect's
    /// error, a success is decoded.
    ///
    /// A read (GET) is repeated as the policy allows. A call that
    /// [`mints`](Call::mints) a token (create, reset: POST) is never
    /// repeated once it may have reached the service: when no answer came
    /// (timeout, broken connection, 408 or 5xx) or a success could not be
    /// read, the error is [`Error::OutcomeUnknown`], since a token may have
    /// been minted.
    pub(crate) async fn exchange<T>(
        &self,
        call: Call<'_>,
        on_error: ErrorDecoder,
        decode: impl FnOnce(&Response) -> Result<T>,
    ) -> Result<T> {
        let (operation, mints) = (call.operation, call.mints);
        self.traced(call, async move |this: &Self, call: Call<'_>| {
            let finished = this.run(&call, !mints).await?;
            let attempts = finished.attempts;
            let unknown = mints && finished.last.class().is_some_and(Class::unanswered);
            let result = this.answer(finished, operation).and_then(|response| {
                if !response.is_success() {
                    Err(on_error(&response).with_attempts(attempts))
                } else if mints {
                    decode(&response)
                        .map_err(|e| Error::outcome_unknown(operation, response.about(e)))
                } else {
                    decode(&response).map_err(|e| response.about(e))
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
                Ok(Deleted::Now(Box::new(response)))
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
    pub(super) async fn run(&self, call: &Call<'_>, idempotent: bool) -> Result<Finished> {
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
            |_, deadline| attempt::attempt(&self.inner, call, &url, &paced, deadline),
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
    pub(super) fn answer(&self, finished: Finished, operation: &'static str) -> Result<Response> {
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

    pub(super) fn url_for(&self, segments: &[&str]) -> Url {
        let mut url = self.inner.shared.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }
}
