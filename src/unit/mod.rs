//! Unit's Org API tokens: the JSON:API dialect.
//!
//! A [`Client`] talks to Unit (sandbox by default, [`LIVE`] for
//! production) with `Authorization: Bearer …`. [`Client::org_api_tokens`]
//! gives the tokens of one user, which can be created, listed and revoked:
//!
//! - [`OrgApiTokens::create`] sends `POST /users/{userId}/api-tokens` and
//!   gives a [`NewApiToken`], whose `token` is a
//!   [`SecretString`] shown this once.
//! - [`OrgApiTokens::list`] sends `GET /users/{userId}/api-tokens` and gives
//!   [`ApiToken`]s, which have no secret at all.
//! - [`OrgApiTokens::revoke`] sends `DELETE /users/{userId}/api-tokens/{tokenId}`
//!   and gives the token after the operation when Unit returns it.
//!
//! Bodies are JSON:API documents (`application/vnd.api+json`). Arguments
//! are checked before anything is sent: a description, at least one
//! [`Scope`], an expiration in the future, ids that are positive integers,
//! no empty resource restriction. An error answer becomes an
//! [`Error`](crate::Error) that keeps every JSON:API error object,
//! including `source.pointer` and Unit's `meta.supportId`.
//!
//! ```
//! # use wiremock::{Mock, MockServer, ResponseTemplate, matchers::{method, path}};
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let server = MockServer::start().await;
//! # let json = |status: u16, v: serde_json::Value| {
//! #     ResponseTemplate::new(status).set_body_raw(v.to_string(), "application/vnd.api+json")
//! # };
//! # let attrs = serde_json::json!({
//! #     "createdAt": "2030-07-01T08:51:09.108Z",
//! #     "description": "CI deploy",
//! #     "expiration": "2030-10-01T00:00:00.000Z",
//! #     "sourceIp": "192.168.1.1"
//! # });
//! # let mut with_secret = attrs.clone();
//! # with_secret["token"] = "v2.public.FAKE-DOC-TOKEN.sig".into();
//! # Mock::given(method("POST")).and(path("/users/2/api-tokens"))
//! #     .respond_with(json(201, serde_json::json!({"data": {"id": "19", "type": "apiToken", "attributes": with_secret}})))
//! #     .mount(&server).await;
//! # Mock::given(method("GET")).and(path("/users/2/api-tokens"))
//! #     .respond_with(json(200, serde_json::json!({"data": [{"id": "19", "type": "apiToken", "attributes": attrs}]})))
//! #     .mount(&server).await;
//! # Mock::given(method("DELETE")).and(path("/users/2/api-tokens/19"))
//! #     .respond_with(ResponseTemplate::new(204))
//! #     .mount(&server).await;
//! # let key = "v2.public.FAKE-ADMIN-TOKEN.sig";
//! use api_tokens::unit::{self, CreateApiToken, Scope};
//! use api_tokens::secrecy::{ExposeSecret, SecretString};
//! use chrono::{Duration, Utc};
//!
//! let client = unit::Client::builder()
//!     .token(SecretString::from(key))
//!     .base_url(server.uri()) // unit::SANDBOX or unit::LIVE in real use
//!     .build()?;
//! let tokens = client.org_api_tokens("2".parse()?);
//!
//! let created = tokens
//!     .create(
//!         CreateApiToken::new(
//!             "CI deploy",
//!             [Scope::Customers, Scope::Applications],
//!             Utc::now() + Duration::days(90),
//!         )
//!         .source_ips(["192.168.1.1".parse()?]),
//!     )
//!     .await?;
//! let secret: &str = created.token.expose_secret(); // shown once: store it now
//! assert!(secret.starts_with("v2.public."));
//! assert!(!format!("{created:?}").contains(secret));
//!
//! let all = tokens.list().await?;
//! assert!(all.iter().any(|t| t.id == created.id));
//!
//! let after = tokens.revoke(&created.id).await?; // `None`: Unit said 204
//! assert!(after.is_none());
//! # Ok(())
//! # }
//! ```

mod envelope;
mod model;
mod tokens;
pub(crate) mod wire;

use secrecy::SecretString;

use crate::config::{ClientBuilder as Builder, optional_env, process_env, secret_from_env};
use crate::error::{RateLimit, Result, Service};
use crate::transport::auth::{Auth, Scheme};
use crate::transport::pacing::Pacing;
use crate::transport::{Documented, PacedPer, ServiceFacts, Stats, Transport};
pub use model::{
    ApiToken, CreateApiToken, NewApiToken, ResourceRestriction, ResourceType, Scope, SourceIp,
    TokenId, UserId,
};
pub use tokens::OrgApiTokens;
pub use wire::JsonApiError;

/// Unit's sandbox API.
pub const SANDBOX: &str = "https://api.s.unit.sh";
/// Unit's live API.
pub const LIVE: &str = "https://api.unit.co";
/// The base URL a client uses unless told otherwise: [`SANDBOX`].
pub const DEFAULT_BASE_URL: &str = SANDBOX;

/// What the transport must know of Unit: 1,000 requests per minute,
/// counted per address, on its live and sandbox hosts.
pub(crate) const FACTS: ServiceFacts = ServiceFacts {
    limit: Documented {
        requests: 1000,
        window: std::time::Duration::from_secs(60),
    },
    own_hosts: &["api.unit.co", "api.s.unit.sh"],
    paced_per: PacedPer::Address,
};

/// What a Unit client's builder holds beyond the shared settings: nothing
/// yet (Unit always takes `Authorization: Bearer …`).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Unit;

/// Builds a [`Client`]; see [`Client::builder`] and the shared settings of
/// [`crate::ClientBuilder`].
pub type ClientBuilder = Builder<Unit>;

/// A client of Unit's API. Cheap to clone; clones share connections, the
/// counters and the rate-limit pacer.
///
/// ```
/// use api_tokens::unit;
///
/// let client = unit::Client::builder()
///     .token("v2.public.FAKE.sig")
///     .base_url(unit::LIVE)
///     .build()?;
/// assert_eq!(client.base_url(), "https://api.unit.co/");
/// # Ok::<(), api_tokens::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Client {
    transport: Transport,
}

impl Client {
    /// A builder with Unit's sandbox as base URL and Bearer auth.
    pub fn builder() -> ClientBuilder {
        Builder::new(Service::Unit, DEFAULT_BASE_URL, Pacing::default(), Unit)
    }

    /// A client from `UNIT_API_TOKEN` and, when set and not blank,
    /// `UNIT_API_URL` (default: the sandbox).
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`](crate::Error::Invalid) naming the variable that is
    /// missing or unusable; nothing is sent.
    pub fn from_env() -> Result<Client> {
        Client::builder().env(process_env)?.build()
    }

    /// The same client (settings, connection pool) with another token: to
    /// check that a new secret works, or to act as another user.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`](crate::Error::Invalid) for a token that cannot be
    /// sent (empty, whitespace or control characters).
    pub fn with_token(&self, token: SecretString) -> Result<Client> {
        Ok(Client {
            transport: self.transport.with_token(token)?,
        })
    }

    /// The Org API tokens of one user.
    pub fn org_api_tokens(&self, user_id: UserId) -> OrgApiTokens {
        OrgApiTokens::new(self.transport.clone(), user_id)
    }

    /// The base URL requests go to, with a trailing slash.
    pub fn base_url(&self) -> &str {
        self.transport.base_url().as_str()
    }

    /// Requests and retries made so far by this client and its clones.
    pub fn stats(&self) -> Stats {
        self.transport.stats()
    }

    /// The rate-limit headers of the last answer that had any. Unit documents
    /// none, so this is usually `None`.
    pub fn last_rate_limit(&self) -> Option<RateLimit> {
        self.transport.last_rate_limit()
    }
}

impl Builder<Unit> {
    /// The token from `UNIT_API_TOKEN` and the settings of
    /// [`env_settings`](Self::env_settings), from `lookup`.
    pub(crate) fn env(self, lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        Ok(self
            .token(secret_from_env(&lookup, "UNIT_API_TOKEN")?)
            .env_settings(lookup))
    }

    /// The settings beyond the token that [`Client::from_env`] reads, from
    /// `lookup`: `UNIT_API_URL` as the base URL, when set and not blank.
    ///
    /// ```
    /// use api_tokens::unit;
    ///
    /// let vars = |name: &str| (name == "UNIT_API_URL").then(|| unit::LIVE.to_owned());
    /// let client = unit::Client::builder().token("v2.public.FAKE.sig").env_settings(vars).build()?;
    /// assert_eq!(client.base_url(), "https://api.unit.co/");
    /// # Ok::<(), api_tokens::Error>(())
    /// ```
    pub fn env_settings(self, lookup: impl Fn(&str) -> Option<String>) -> Self {
        match optional_env(&lookup, "UNIT_API_URL") {
            Some(url) => self.base_url(url.trim()),
            None => self,
        }
    }

    /// Checks the settings and makes the client. Nothing is sent.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`](crate::Error::Invalid) naming the setting at
    /// fault: no token or one that cannot be sent, a base URL that is not
    /// `https` (plain `http` only to loopback), an invalid extra header or
    /// user-agent suffix, an HTTP client that could not be built.
    pub fn build(self) -> Result<Client> {
        Ok(Client {
            transport: self
                .settings
                .build(FACTS, |token| Auth::new(Scheme::Bearer, token))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::lookup_in;

    fn from(vars: &[(&str, &str)]) -> Result<Client> {
        Client::builder().env(lookup_in(vars))?.build()
    }

    #[test]
    fn a_blank_url_from_the_environment_means_the_sandbox() {
        for blank in [None, Some(""), Some("  ")] {
            let mut vars = vec![("UNIT_API_TOKEN", "v2.public.FAKE-ENV.sig")];
            vars.extend(blank.map(|b| ("UNIT_API_URL", b)));
            let client = from(&vars).unwrap();
            assert_eq!(client.base_url(), "https://api.s.unit.sh/", "{blank:?}");
        }
        let set = from(&[
            ("UNIT_API_TOKEN", "v2.public.FAKE-ENV.sig"),
            ("UNIT_API_URL", "http://127.0.0.1:9/p"),
        ])
        .unwrap();
        assert_eq!(set.base_url(), "http://127.0.0.1:9/p/");
        assert!(from(&[]).is_err());
    }
}
