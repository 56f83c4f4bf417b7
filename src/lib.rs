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
//! With the `ensure` feature, `ensure` plans and applies a declarative
//! tokens file (TOML) with the lifecycle's mint and rotate.
//!
//! With the `testing` feature, [`testing`] offers stateful fakes of both
//! services, the recorded fixtures, fault injection and record/replay.
//!
//! ## A tour
//!
//! Create, audit, rotate and revoke on both services. Here the clients talk
//! to the in-process fakes of the `testing` feature; in production, build
//! them with `from_env()` or a real token and leave the base URL alone.
//!
//! ```
//! use api_tokens::{Error, RetryPolicy, mailtrap, unit};
//! use chrono::{Duration, Utc};
//! use secrecy::ExposeSecret;
//! # use api_tokens::testing::{MailtrapFake, UnitFake};
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let unit_fake = UnitFake::start().await;
//! # let (unit_key, unit_url) = (unit_fake.token().clone(), unit_fake.uri());
//!
//! // Unit: JSON:API, Bearer auth.
//! let client = unit::Client::builder()
//!     .token(unit_key)
//!     .base_url(unit_url) // unit::SANDBOX by default, or unit::LIVE
//!     .retry(RetryPolicy::default())
//!     .build()?;
//! let tokens = client.org_api_tokens("2".parse()?);
//! let created = tokens
//!     .create(
//!         unit::CreateApiToken::new("CI deploy", [unit::Scope::Customers], Utc::now() + Duration::days(30))
//!             .source_ips(["192.168.1.1".parse()?]),
//!     )
//!     .await?;
//! let secret: &str = created.token.expose_secret(); // shown once: store it now
//! assert!(!format!("{created:?}").contains(secret));
//! assert_eq!(tokens.list().await?.len(), 1);
//! tokens.revoke(&created.id).await?;
//! assert!(tokens.list().await?.is_empty());
//! # let mt_fake = MailtrapFake::start().await;
//! # let (mt_key, mt_url) = (mt_fake.token().clone(), mt_fake.uri());
//!
//! // Mailtrap: flat JSON, Api-Token header.
//! // No account named: the token's own account, at `/api/api_tokens…`.
//! let client = mailtrap::Client::builder().token(mt_key).base_url(mt_url).build()?;
//! let tokens = client.api_tokens();
//! let new = tokens
//!     .create(mailtrap::CreateApiToken::new("CI deploy").permission(
//!         mailtrap::ResourceType::Account,
//!         3229,
//!         mailtrap::AccessLevel::Admin,
//!     ))
//!     .await?;
//! let rotated = tokens.reset(new.id, mailtrap::Expiry::ServerDefault).await?; // a new id and secret
//! assert_ne!(rotated.id, new.id);
//! tokens.delete(new.id).await?;
//! tokens.delete(rotated.id).await?;
//!
//! // Errors say what happened and keep what the service said.
//! match tokens.get(new.id).await {
//!     Err(Error::NotFound(e)) => println!("gone: {e}"),
//!     other => panic!("{other:?}"),
//! }
//! # Ok(()) }
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

#[cfg(feature = "aws")]
#[cfg_attr(docsrs, doc(cfg(feature = "aws")))]
pub mod aws;
mod config;
#[cfg(feature = "testing")]
#[doc(hidden)]
pub mod decode_hooks;
mod display;
#[cfg(feature = "ensure")]
#[cfg_attr(docsrs, doc(cfg(feature = "ensure")))]
pub mod ensure;
pub mod error;
mod error_object;
mod json;
pub mod leak;
pub mod lifecycle;
pub mod mailtrap;
mod scrub;
mod secret_hint;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
mod time;
mod token;
mod transport;
pub mod unit;

pub use chrono;
pub use config::ClientBuilder;
pub use error::{ApiError, Error, ErrorObject, RateLimit, Result, Service};
pub use reqwest;
pub use secrecy;
pub use token::{NewToken, WithSecret};
pub use transport::pacing::Pacing;
pub use transport::{RetryPolicy, Stats};

/// The README's examples, compiled as doctests so they cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// Clients, handlers, errors and the futures of every call can cross
/// threads: checked at compile time.
#[cfg(test)]
#[allow(dead_code, clippy::let_underscore_future)]
mod thread_safety {
    use super::*;

    fn send_sync<T: Send + Sync>(_: &T) {}
    fn send<T: Send>(_: T) {}

    fn types(
        u: unit::Client,
        m: mailtrap::Client,
        ut: unit::OrgApiTokens,
        mt: mailtrap::ApiTokens,
        e: Error,
        r: unit::CreateApiToken,
        c: mailtrap::CreateApiToken,
    ) {
        send_sync(&u);
        send_sync(&m);
        send_sync(&ut);
        send_sync(&mt);
        send_sync(&e);
        send_sync(&unit::Client::builder());
        send_sync(&mailtrap::Client::builder());
        let id: unit::TokenId = "1".parse().unwrap_or_else(|_| unreachable!());
        send(ut.create(r));
        send(ut.list());
        send(ut.revoke(&id));
        send(mt.list());
        send(mt.get(mailtrap::TokenId::new(1).unwrap_or_else(|_| unreachable!())));
        send(mt.create(c));
        send(mt.reset(
            mailtrap::TokenId::new(1).unwrap_or_else(|_| unreachable!()),
            mailtrap::Expiry::ServerDefault,
        ));
        send(mt.delete(mailtrap::TokenId::new(1).unwrap_or_else(|_| unreachable!())));
    }
}
