//! The one HTTP transport both dialects share.
//!
//! A dialect describes a call ([`Call`]) and says how to read the answer;
//! the transport paces, adds auth, sends, retries as the kind of call
//! allows, and gives back status, headers and bytes. It knows nothing of
//! either dialect's bodies, and the dialects know nothing of attempts.
//!
//! This file only declares the parts and names what the crate uses:
//!
//! - [`client`]: the [`Transport`] a client shares with its clones, and its
//!   read, mint and delete calls.
//! - [`attempt`]: one attempt: auth, send, redirect refusal, body cap,
//!   error-body scrubbing.
//! - [`retry`]: the retry policy and the short loop that decides and waits.
//! - [`outcome`]: what an attempt came to, and the one classification of it
//!   (repeat, unanswered, retryable, final) the loop and the errors read.
//! - [`facts`]: what a service states of itself (documented limit, own
//!   hosts, pacing per token or per address) for the transport.
//! - [`pacing`]: the rate-limit pacer shared by a client's clones.
//! - [`auth`]: where the token goes on a request.
//! - [`call`], [`response`], [`headers`]: a call as a dialect describes it,
//!   an answer as it reads it, and what is read from an answer's headers.
//! - [`state`]: what a transport holds: settings, credential, counters.
//! - [`base_url`]: the checks on a base URL.

mod attempt;
pub(crate) mod auth;
mod base_url;
mod call;
mod client;
mod facts;
mod headers;
#[cfg(test)]
#[path = "tests.rs"]
mod http_tests;
pub(crate) mod outcome;
pub(crate) mod pacing;
mod response;
pub(crate) mod retry;
mod state;

pub(crate) use auth::Auth;
// Used by the testing kit's recorder, which checks its upstream as the clients do.
#[cfg_attr(not(feature = "testing"), allow(unused_imports))]
pub(crate) use base_url::{is_loopback, parse_base_url};
pub(crate) use call::Call;
pub(crate) use client::{Deleted, Parts, Transport};
pub(crate) use facts::{PacedPer, ServiceFacts};
pub(crate) use pacing::Documented;
pub(crate) use response::Response;
#[cfg(feature = "testing")]
pub(crate) use response::hide_in_error_answer;
pub use retry::RetryPolicy;
pub use state::Stats;
