//! # api-tokens
//!
//! Typed, secret-safe management of the whole lifecycle of API tokens on two
//! services that speak two different HTTP dialects:
//!
//! - [`unit`](mod@unit): Unit's Org API tokens (JSON:API): create, list, revoke.
//! - [`mailtrap`]: Mailtrap's account API tokens (flat JSON): list, get,
//!   create, delete, reset.
//!
//! Both stand on one transport (auth, timeouts, retries that never repeat a
//! create whose answer was lost, no redirects) and one [`Error`] type. A
//! token's value is a [`secrecy::SecretString`] from the moment it is read
//! until you call [`ExposeSecret::expose_secret`](secrecy::ExposeSecret);
//! it never appears in `Debug`, `Display`, an error or a log line.
//!
//! With the `testing` feature, [`testing`] offers stateful fakes of both
//! services, the recorded fixtures, fault injection and record/replay.
#![cfg_attr(docsrs, feature(doc_auto_cfg))]
#![warn(missing_docs)]

pub mod error;
pub mod mailtrap;
mod scrub;
#[cfg(feature = "testing")]
pub mod testing;
mod time;
mod transport;
pub mod unit;

pub use error::{ApiError, Error, JsonApiError, RateLimit, Result, Service};
pub use secrecy;
pub use transport::{AuthScheme, RetryPolicy, Stats};

/// The README's examples, compiled as doctests so they cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
