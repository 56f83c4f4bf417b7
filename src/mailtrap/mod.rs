//! Mailtrap's account API tokens: the flat JSON dialect.
//!
//! A [`Client`] works on the account of its token, or on one account named
//! with [`account_id`](ClientBuilder::account_id); [`Client::api_tokens`]
//! lists, gets, creates, resets and deletes that account's API tokens. Tokens as listed
//! ([`ApiToken`]) never carry a secret; a create or a reset answers with a
//! [`NewApiToken`] whose `token` is a [`SecretString`] shown this once.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # use wiremock::{Mock, MockServer, ResponseTemplate};
//! # use wiremock::matchers::{method, path};
//! # let server = MockServer::start().await;
//! # let perms = serde_json::json!([{"resource_type": "account", "resource_id": 3229, "access_level": 100}]);
//! # let token = |id: u64, secret: &str, last: &str| serde_json::json!({
//! #     "id": id, "name": "CI deploy", "last_4_digits": last, "created_by": "ops@example.com",
//! #     "expires_at": null, "resources": perms, "token": secret });
//! # Mock::given(method("POST")).and(path("/api/accounts/3229/api_tokens"))
//! #     .respond_with(ResponseTemplate::new(200).set_body_json(token(12345, "FAKE0doc0token0one0x7k9", "x7k9")))
//! #     .expect(1).mount(&server).await;
//! # Mock::given(method("GET")).and(path("/api/accounts/3229/api_tokens"))
//! #     .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([{
//! #         "id": 12345, "name": "CI deploy", "last_4_digits": "x7k9", "created_by": "ops@example.com",
//! #         "expires_at": null, "resources": perms }])))
//! #     .expect(1).mount(&server).await;
//! # Mock::given(method("POST")).and(path("/api/accounts/3229/api_tokens/12345/reset"))
//! #     .respond_with(ResponseTemplate::new(200).set_body_json(token(12346, "FAKE0doc0token0two0q2w3", "q2w3")))
//! #     .expect(1).mount(&server).await;
//! # Mock::given(method("DELETE")).and(path("/api/accounts/3229/api_tokens/12346"))
//! #     .respond_with(ResponseTemplate::new(204))
//! #     .expect(1).mount(&server).await;
//! # let key = "FAKE0doc0caller0key";
//! use api_tokens::mailtrap::{self, AccessLevel, CreateApiToken, Expiry, ResourceType};
//! use api_tokens::secrecy::ExposeSecret;
//!
//! let mt = mailtrap::Client::builder()
//!     .token(key)
//!     .account_id(3229)
//! #   .base_url(server.uri())
//!     .build()?;
//! let tokens = mt.api_tokens();
//!
//! // Create: the secret is in this answer only.
//! let new = tokens
//!     .create(
//!         CreateApiToken::new("CI deploy")
//!             .permission(ResourceType::Account, 3229, AccessLevel::Admin)
//!             .expires(Expiry::Never),
//!     )
//!     .await?;
//! let secret = new.token.expose_secret(); // store it now
//! # assert_eq!(secret, "FAKE0doc0token0one0x7k9");
//!
//! // List: no secrets, only the last four characters.
//! let all = tokens.list().await?;
//! assert!(all.iter().any(|t| t.id == new.id));
//!
//! // Reset: a NEW id and a new secret; the old one works for 12 more hours.
//! let rotated = tokens.reset(new.id, Expiry::ServerDefault).await?;
//! assert_ne!(rotated.id, new.id);
//!
//! // Delete.
//! tokens.delete(rotated.id).await?;
//!
//! // What the service said about its rate limit in the last answer.
//! if let Some(rl) = mt.last_rate_limit() {
//!     println!("{:?} of {:?} requests left", rl.remaining, rl.limit);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Errors come back as the crate's [`Error`](crate::Error): 401
//! [`Unauthorized`](crate::Error::Unauthorized), 403
//! [`Forbidden`](crate::Error::Forbidden), 404
//! [`NotFound`](crate::Error::NotFound), 429
//! [`RateLimited`](crate::Error::RateLimited), and 422 or 5xx
//! [`Api`](crate::Error::Api), each with the service's messages, the
//! per-field errors of a 422 (record-level ones under `base`) and the
//! `X-Ratelimit-*` headers.

mod accounts;
mod model;
mod permission_text;
mod tokens;
pub(crate) mod wire;

#[cfg(feature = "ensure")]
pub(crate) use permission_text::parse as parse_permission;

pub use accounts::Account;
pub use model::{
    AccessLevel, ApiToken, CreateApiToken, Expiry, MAX_LIFETIME_MONTHS, MAX_NAME_CHARS,
    NewApiToken, Permission, ResourceId, ResourceType, TokenId,
};
pub use tokens::ApiTokens;

use reqwest::header::HeaderName;
use secrecy::SecretString;

use crate::config::{ClientBuilder as Builder, optional_env, process_env, secret_from_env};
use crate::error::{RateLimit, Result, Service};
use crate::transport::auth::{Auth, Scheme};
use crate::transport::pacing::Pacing;
use crate::transport::{Documented, PacedPer, ServiceFacts, Stats, Transport};

/// Mailtrap's API.
pub const DEFAULT_BASE_URL: &str = "https://mailtrap.io";

/// What the transport must know of Mailtrap: 150 requests per 10 seconds,
/// counted per token, on its own host.
pub(crate) const FACTS: ServiceFacts = ServiceFacts {
    limit: Documented {
        requests: 150,
        window: std::time::Duration::from_secs(10),
    },
    own_hosts: &["mailtrap.io"],
    paced_per: PacedPer::Token,
};

/// Where a Mailtrap client puts its token; Mailtrap accepts both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthScheme {
    /// `Api-Token: <token>` (the default).
    #[default]
    ApiToken,
    /// `Authorization: Bearer <token>`.
    Bearer,
}

/// What a Mailtrap client's builder holds beyond the shared settings: the
/// account, if named, and the auth header.
#[derive(Debug, Clone, Default)]
pub struct Mailtrap {
    account_id: Option<u64>,
    auth: AuthScheme,
}

/// Builds a [`Client`]; see [`Client::builder`] and the shared settings of
/// [`crate::ClientBuilder`].
pub type ClientBuilder = Builder<Mailtrap>;

/// A client of Mailtrap's API. Cheap to clone; clones share connections,
/// counters, the pacer and the last rate-limit reading.
#[derive(Debug, Clone)]
pub struct Client {
    transport: Transport,
    account_id: Option<u64>,
}

impl Client {
    /// A builder with `https://mailtrap.io` as base URL and the `Api-Token`
    /// header. A token must be given; an account may be.
    ///
    /// ```
    /// use api_tokens::mailtrap;
    ///
    /// // The account of the token itself: `/api/api_tokens…`.
    /// let own = mailtrap::Client::builder().token("FAKE0example0key").build()?;
    /// assert_eq!(own.account_id(), None);
    ///
    /// // One named account: `/api/accounts/3229/api_tokens…`.
    /// let named = mailtrap::Client::builder()
    ///     .token("FAKE0example0key")
    ///     .account_id(3229)
    ///     .bearer() // `Authorization: Bearer …` instead of `Api-Token: …`
    ///     .build()?;
    /// assert_eq!(named.account_id(), Some(3229));
    /// # Ok::<(), api_tokens::Error>(())
    /// ```
    pub fn builder() -> ClientBuilder {
        Builder::new(
            Service::Mailtrap,
            DEFAULT_BASE_URL,
            Pacing::default(),
            Mailtrap::default(),
        )
    }

    /// A client from the environment: `MAILTRAP_API_TOKEN`; when set and
    /// not blank, `MAILTRAP_ACCOUNT_ID` (without it, the token's own
    /// account) and `MAILTRAP_API_URL` (default: `https://mailtrap.io`).
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`](crate::Error::Invalid) naming the variable that is missing or unusable;
    /// nothing is sent.
    pub fn from_env() -> Result<Client> {
        Client::builder().env(process_env)?.build()
    }

    /// The same client (settings, connection pool, account) with another
    /// token: to check that a new secret works. Mailtrap limits requests per
    /// token, so the new one is paced on its own.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`](crate::Error::Invalid) for a token that cannot be sent.
    pub fn with_token(&self, token: SecretString) -> Result<Client> {
        Ok(Client {
            transport: self.transport.with_token(token)?,
            account_id: self.account_id,
        })
    }

    /// The same client (token, settings, connection pool, counters and
    /// pacer) for another account: `Some(id)` for
    /// `/api/accounts/{id}/api_tokens…`, `None` for the token's own account.
    ///
    /// Mailtrap limits requests per token, not per account, so clients of
    /// one token should share one pacer; building one client per account
    /// would give each its own, and together they could exceed the limit.
    ///
    /// ```
    /// use api_tokens::mailtrap;
    ///
    /// let own = mailtrap::Client::builder().token("FAKE0example0key").build()?;
    /// let other = own.for_account(Some(3229))?;
    /// assert_eq!(other.account_id(), Some(3229));
    /// assert_eq!(own.account_id(), None);
    /// assert!(own.for_account(Some(0)).is_err());
    /// # Ok::<(), api_tokens::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`](crate::Error::Invalid) for an account id of 0 or above `i64::MAX`.
    pub fn for_account(&self, account_id: Option<u64>) -> Result<Client> {
        if let Some(id) = account_id {
            model::check_id("account_id", id)?;
        }
        Ok(Client {
            transport: self.transport.clone(),
            account_id,
        })
    }

    /// The account's API tokens: of the named account, or of the token's
    /// own.
    pub fn api_tokens(&self) -> ApiTokens {
        ApiTokens::new(self.transport.clone(), self.account_id)
    }

    /// The accounts the token has access to: `GET /api/accounts`.
    ///
    /// # Errors
    ///
    /// The service's refusal (401, …), a transport failure after the
    /// retries the policy allows, or [`Error::Decode`](crate::Error::Decode) for a malformed
    /// answer.
    pub async fn accounts(&self) -> Result<Vec<Account>> {
        accounts::list(&self.transport).await
    }

    /// The account to work on: the one named on the builder; else the
    /// account an account permission of a listed token names (the tokens of
    /// the token's own account); else the first account
    /// [`accounts`](Client::accounts) lists. `None` when none of these names
    /// one (a service without `/api/accounts`, answering 404, lists none).
    ///
    /// ```
    /// use api_tokens::mailtrap::{self, AccessLevel, CreateApiToken, ResourceType};
    /// use api_tokens::testing::MailtrapFake;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let fake = MailtrapFake::start().await;
    /// // No account named: the token's own, `/api/api_tokens…`.
    /// let client = mailtrap::Client::builder()
    ///     .token(fake.token().clone())
    ///     .base_url(fake.uri())
    ///     .build()?;
    /// let account = client
    ///     .discover_account_id()
    ///     .await?
    ///     .ok_or("no account found: set MAILTRAP_ACCOUNT_ID")?;
    /// assert_eq!(account, fake.account_id());
    /// let request = CreateApiToken::new("ci").permission(ResourceType::Account, account, AccessLevel::Viewer);
    /// client.api_tokens().create(request).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// A failure of the token list, or of the account list other than 404.
    pub async fn discover_account_id(&self) -> Result<Option<u64>> {
        if let Some(id) = self.account_id {
            return Ok(Some(id));
        }
        accounts::discover(&self.api_tokens(), &self.transport).await
    }

    /// The account named on the builder, or `None` for the token's own.
    pub fn account_id(&self) -> Option<u64> {
        self.account_id
    }

    /// The base URL requests go to, with a trailing slash.
    pub fn base_url(&self) -> &str {
        self.transport.base_url().as_str()
    }

    /// The `X-Ratelimit-Limit` / `X-Ratelimit-Remaining` of the last answer
    /// that carried them, successful or not (Mailtrap allows 150 requests
    /// per 10 seconds per token).
    pub fn last_rate_limit(&self) -> Option<RateLimit> {
        self.transport.last_rate_limit()
    }

    /// Requests and retries made so far by this client and its clones.
    pub fn stats(&self) -> Stats {
        self.transport.stats()
    }
}

impl Builder<Mailtrap> {
    /// The account whose tokens to manage (from 1 to `i64::MAX`), as in
    /// Mailtrap's URLs: `https://mailtrap.io/accounts/3229/…`. Calls then
    /// use the account-scoped paths `/api/accounts/{account_id}/api_tokens…`.
    ///
    /// Leave it out to work on the token's own account, through the
    /// account-free paths `/api/api_tokens…` of Mailtrap's current
    /// description. Name an account when the token can see several (a user's
    /// token in an organization) and you mean one of them.
    pub fn account_id(mut self, account_id: u64) -> Self {
        self.dialect.account_id = Some(account_id);
        self
    }

    /// Where the token goes: [`AuthScheme::ApiToken`] (the default) or
    /// [`AuthScheme::Bearer`].
    pub fn auth_scheme(mut self, scheme: AuthScheme) -> Self {
        self.dialect.auth = scheme;
        self
    }

    /// Sends the token as `Authorization: Bearer …`.
    pub fn bearer(self) -> Self {
        self.auth_scheme(AuthScheme::Bearer)
    }

    /// The token from `MAILTRAP_API_TOKEN` and the settings of
    /// [`env_settings`](Self::env_settings), from `lookup`.
    pub(crate) fn env(self, lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        Ok(self
            .token(secret_from_env(&lookup, "MAILTRAP_API_TOKEN")?)
            .env_settings(lookup))
    }

    /// The settings beyond the token that [`Client::from_env`] reads, from
    /// `lookup` (a variable unset or blank leaves its setting as it is):
    /// `MAILTRAP_ACCOUNT_ID` as [`account_id`](Self::account_id), and
    /// `MAILTRAP_API_URL` as the base URL. An account id that is not a
    /// positive integer is refused by `build()` with
    /// [`Error::Invalid`](crate::Error::Invalid) naming `MAILTRAP_ACCOUNT_ID`.
    ///
    /// ```
    /// use api_tokens::mailtrap;
    ///
    /// let vars = |name: &str| (name == "MAILTRAP_ACCOUNT_ID").then(|| "3229".to_owned());
    /// let client = mailtrap::Client::builder().token("FAKE0example0key").env_settings(vars).build()?;
    /// assert_eq!(client.account_id(), Some(3229));
    /// # Ok::<(), api_tokens::Error>(())
    /// ```
    pub fn env_settings(mut self, lookup: impl Fn(&str) -> Option<String>) -> Self {
        const ACCOUNT: &str = "MAILTRAP_ACCOUNT_ID";
        if let Some(account) = optional_env(&lookup, ACCOUNT) {
            match account.trim().parse::<u64>().ok().filter(|id| *id > 0) {
                Some(id) => self = self.account_id(id),
                None => {
                    self.settings.refused.get_or_insert((
                        ACCOUNT,
                        "not a positive integer; give the account id as in Mailtrap's URLs \
                         (e.g. 3229), or leave it unset for the token's own account"
                            .to_owned(),
                    ));
                }
            }
        }
        match optional_env(&lookup, "MAILTRAP_API_URL") {
            Some(url) => self.base_url(url.trim()),
            None => self,
        }
    }

    /// Checks the settings and makes the client. Nothing is sent.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`](crate::Error::Invalid) naming the setting at fault: an account id of 0 or
    /// above `i64::MAX`, no token or one that cannot be sent, a base URL
    /// that is not `https` (plain `http` only to loopback), an invalid extra
    /// header or user-agent suffix, an HTTP client that could not be built.
    pub fn build(self) -> Result<Client> {
        if let Some(id) = self.dialect.account_id {
            model::check_id("account_id", id)?;
        }
        let scheme = match self.dialect.auth {
            AuthScheme::ApiToken => Scheme::Header(HeaderName::from_static("api-token")),
            AuthScheme::Bearer => Scheme::Bearer,
        };
        Ok(Client {
            transport: self
                .settings
                .build(FACTS, |token| Auth::new(scheme, token))?,
            account_id: self.dialect.account_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use crate::config::lookup_in;

    fn from(vars: &[(&str, &str)]) -> Result<Client> {
        Client::builder().env(lookup_in(vars))?.build()
    }

    #[test]
    fn environment() {
        let ok = from(&[
            ("MAILTRAP_API_TOKEN", "FAKE0env0key"),
            ("MAILTRAP_ACCOUNT_ID", " 3229 "),
            ("MAILTRAP_API_URL", "http://127.0.0.1:9/"),
        ])
        .unwrap();
        assert_eq!(ok.account_id(), Some(3229));
        assert_eq!(ok.base_url(), "http://127.0.0.1:9/");
        assert!(!format!("{ok:?}").contains("FAKE0env0key"));

        for blank in [None, Some(""), Some("  ")] {
            let mut vars = vec![("MAILTRAP_API_TOKEN", "FAKE0env0key")];
            vars.extend(blank.map(|b| ("MAILTRAP_ACCOUNT_ID", b)));
            let own = from(&vars).unwrap();
            assert_eq!(own.account_id(), None, "{blank:?}");
            assert_eq!(own.base_url(), "https://mailtrap.io/");
        }

        for (vars, field) in [
            (&[("MAILTRAP_ACCOUNT_ID", "3229")][..], "MAILTRAP_API_TOKEN"),
            (
                &[("MAILTRAP_API_TOKEN", "k"), ("MAILTRAP_ACCOUNT_ID", "0")][..],
                "MAILTRAP_ACCOUNT_ID",
            ),
            (
                &[("MAILTRAP_API_TOKEN", "k"), ("MAILTRAP_ACCOUNT_ID", "-3")][..],
                "MAILTRAP_ACCOUNT_ID",
            ),
            (
                &[("MAILTRAP_API_TOKEN", "k"), ("MAILTRAP_ACCOUNT_ID", "abc")][..],
                "MAILTRAP_ACCOUNT_ID",
            ),
        ] {
            match from(vars) {
                Err(Error::Invalid { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{vars:?}: {other:?}"),
            }
        }
    }
}
