//! Mailtrap's account API tokens: the flat JSON dialect.
//!
//! A [`Client`] is bound to one account; [`Client::api_tokens`] lists, gets,
//! creates, resets and deletes that account's API tokens. Tokens as listed
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
//! Errors come back as the crate's [`Error`]: 401
//! [`Unauthorized`](crate::Error::Unauthorized), 403
//! [`Forbidden`](crate::Error::Forbidden), 404
//! [`NotFound`](crate::Error::NotFound), 429
//! [`RateLimited`](crate::Error::RateLimited), and 422 or 5xx
//! [`Api`](crate::Error::Api), each with the service's messages, the
//! per-field errors of a 422 (record-level ones under `base`) and the
//! `X-Ratelimit-*` headers.

mod api_tokens;
mod errors;
mod model;

pub use api_tokens::ApiTokens;
pub use model::{
    AccessLevel, ApiToken, CreateApiToken, Expiry, MAX_LIFETIME_MONTHS, MAX_NAME_CHARS,
    NewApiToken, Permission, ResourceId, ResourceType, TokenId,
};

use secrecy::SecretString;

use crate::error::{Error, RateLimit, Result, Service};
use crate::transport::{AuthScheme, Settings, Stats, Transport};

/// Mailtrap's API.
pub const DEFAULT_BASE_URL: &str = "https://mailtrap.io";

/// A client of Mailtrap's API for one account. Cheap to clone; clones share
/// connections, counters and the last rate-limit reading.
#[derive(Debug, Clone)]
pub struct Client {
    transport: Transport,
    account_id: u64,
}

/// Builds a [`Client`]; see [`Client::builder`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    settings: Settings,
    account_id: Option<u64>,
}

impl Client {
    /// A builder with `https://mailtrap.io` as base URL and the `Api-Token`
    /// header. A token and an account id must be given.
    ///
    /// ```
    /// use api_tokens::mailtrap;
    ///
    /// let mt = mailtrap::Client::builder()
    ///     .token("FAKE0example0key")
    ///     .account_id(3229)
    ///     .bearer() // `Authorization: Bearer …` instead of `Api-Token: …`
    ///     .build()?;
    /// assert_eq!(mt.account_id(), 3229);
    /// # Ok::<(), api_tokens::Error>(())
    /// ```
    pub fn builder() -> ClientBuilder {
        ClientBuilder {
            settings: Settings::new(Service::Mailtrap, DEFAULT_BASE_URL, api_token_header()),
            account_id: None,
        }
    }

    /// A client from the environment: `MAILTRAP_API_TOKEN`,
    /// `MAILTRAP_ACCOUNT_ID` and, when set, `MAILTRAP_API_URL` (default:
    /// `https://mailtrap.io`).
    pub fn from_env() -> Result<Client> {
        Client::from_lookup(|name| std::env::var(name).ok())
    }

    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Client> {
        const TOKEN: &str = "MAILTRAP_API_TOKEN";
        const ACCOUNT: &str = "MAILTRAP_ACCOUNT_ID";
        let token = lookup(TOKEN)
            .filter(|v| !v.trim().is_empty())
            .map(SecretString::from)
            .ok_or_else(|| Error::invalid(TOKEN, "the environment variable is not set or empty"))?;
        let account = lookup(ACCOUNT)
            .ok_or_else(|| Error::invalid(ACCOUNT, "the environment variable is not set"))?;
        let account_id = account
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|id| *id > 0)
            .ok_or_else(|| {
                Error::invalid(
                    ACCOUNT,
                    "not a positive integer; give the account id as in Mailtrap's URLs (e.g. 3229)",
                )
            })?;
        let mut builder = Client::builder().token(token).account_id(account_id);
        if let Some(url) = lookup("MAILTRAP_API_URL").filter(|v| !v.trim().is_empty()) {
            builder = builder.base_url(url);
        }
        builder.build()
    }

    /// The account's API tokens.
    pub fn api_tokens(&self) -> ApiTokens<'_> {
        ApiTokens::new(self)
    }

    /// The account this client works on.
    pub fn account_id(&self) -> u64 {
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

fn api_token_header() -> AuthScheme {
    AuthScheme::Header(reqwest::header::HeaderName::from_static("api-token"))
}

impl ClientBuilder {
    crate::transport::settings::common_builder_methods!();

    /// The account whose tokens to manage (required, from 1 to `i64::MAX`), as in
    /// Mailtrap's URLs: `https://mailtrap.io/accounts/3229/…`.
    pub fn account_id(mut self, account_id: u64) -> Self {
        self.account_id = Some(account_id);
        self
    }

    /// Where the token goes: `Api-Token: …` (the default) or
    /// [`AuthScheme::Bearer`]; Mailtrap accepts both.
    pub fn auth_scheme(mut self, scheme: AuthScheme) -> Self {
        self.settings.auth = scheme;
        self
    }

    /// Sends the token as `Authorization: Bearer …`.
    pub fn bearer(self) -> Self {
        self.auth_scheme(AuthScheme::Bearer)
    }

    /// Checks the settings and makes the client. Nothing is sent.
    pub fn build(self) -> Result<Client> {
        let account_id = match self.account_id {
            Some(0) => {
                return Err(Error::invalid(
                    "account_id",
                    "0 is not an account id; give the positive id from Mailtrap's URLs (e.g. 3229)",
                ));
            }
            Some(id) => {
                model::check_id_range("account_id", id)?;
                id
            }
            None => {
                return Err(Error::invalid(
                    "account_id",
                    "no account id was given; set it with .account_id(…) or MAILTRAP_ACCOUNT_ID",
                ));
            }
        };
        Ok(Client {
            transport: self.settings.build()?,
            account_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(vars: &[(&str, &str)]) -> Result<Client> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Client::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn environment() {
        let ok = from(&[
            ("MAILTRAP_API_TOKEN", "FAKE0env0key"),
            ("MAILTRAP_ACCOUNT_ID", " 3229 "),
            ("MAILTRAP_API_URL", "http://127.0.0.1:9/"),
        ])
        .unwrap();
        assert_eq!(ok.account_id(), 3229);
        assert_eq!(ok.transport.base_url().as_str(), "http://127.0.0.1:9/");
        assert!(!format!("{ok:?}").contains("FAKE0env0key"));

        let default_url = from(&[
            ("MAILTRAP_API_TOKEN", "FAKE0env0key"),
            ("MAILTRAP_ACCOUNT_ID", "1"),
        ])
        .unwrap();
        assert_eq!(
            default_url.transport.base_url().as_str(),
            "https://mailtrap.io/"
        );

        for (vars, field) in [
            (&[("MAILTRAP_ACCOUNT_ID", "3229")][..], "MAILTRAP_API_TOKEN"),
            (&[("MAILTRAP_API_TOKEN", "k")][..], "MAILTRAP_ACCOUNT_ID"),
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
