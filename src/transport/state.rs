//! What a transport holds: the settings its credentials share, its
//! credential, its pacer and its counters.

use std::sync::Mutex;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};
use url::Url;

use super::auth::Auth;
use super::facts::PacedPer;
use super::pacing::Pacer;
use super::retry::RetryPolicy;
use crate::error::{RateLimit, Service};

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

/// What one credential's transport holds.
#[derive(Debug)]
pub(crate) struct Inner {
    /// What a client made with another credential shares.
    pub shared: Shared,
    pub auth: Auth,
    pub pacer: Pacer,
    pub requests: AtomicU64,
    pub retries: AtomicU64,
    pub last_rate_limit: Mutex<Option<RateLimit>>,
}

/// The settings every credential of a client uses alike.
#[derive(Debug, Clone)]
pub(crate) struct Shared {
    pub service: Service,
    /// What the service's rate limit counts requests of.
    pub paced_per: PacedPer,
    pub base: Url,
    pub http: reqwest::Client,
    pub retry: RetryPolicy,
    pub timeout: Option<Duration>,
    pub user_agent: HeaderValue,
    pub extra_headers: HeaderMap,
}

impl Inner {
    /// A credential's transport, its counters at zero.
    pub(crate) fn new(shared: Shared, auth: Auth, pacer: Pacer) -> Inner {
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
