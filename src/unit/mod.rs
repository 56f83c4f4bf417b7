//! Unit's Org API tokens: the JSON:API dialect.
//!
//! A [`Client`] talks to Unit (sandbox by default, [`LIVE`] for
//! production) with `Authorization: Bearer …`. [`Client::org_api_tokens`]
//! gives the tokens of one user, which can be created, listed and revoked:
//!
//! - [`OrgApiTokens::create`] sends `POST /users/{userId}/api-tokens` and
//!   gives a [`NewApiToken`], whose `token` is a
//!   [`SecretString`](secrecy::SecretString) shown this once.
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
//! use std::net::IpAddr;
//!
//! use api_tokens::unit::{self, CreateApiToken, Scope};
//! use api_tokens::secrecy::{ExposeSecret, SecretString};
//! use chrono::{Duration, Utc};
//!
//! let client = unit::Client::builder()
//!     .token(SecretString::from(key))
//!     .base_url(server.uri()) // unit::SANDBOX or unit::LIVE in real use
//!     .build()?;
//! let tokens = client.org_api_tokens(2);
//!
//! let created = tokens
//!     .create(
//!         CreateApiToken::new(
//!             "CI deploy",
//!             [Scope::Customers, Scope::Applications],
//!             Utc::now() + Duration::days(90),
//!         )
//!         .source_ips(["192.168.1.1".parse::<IpAddr>()?]),
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

mod jsonapi;
mod model;

use reqwest::Method;

use crate::error::{RateLimit, Result, Service};
use crate::transport::{
    AuthScheme, Body, Call, Response, Settings, Stats, Transport, settings::secret_from_env,
};
pub use model::{
    ApiToken, CreateApiToken, NewApiToken, ResourceRestriction, ResourceType, Scope, SourceIp,
    TokenId, UserId,
};

/// Unit's sandbox API.
pub const SANDBOX: &str = "https://api.s.unit.sh";
/// Unit's live API.
pub const LIVE: &str = "https://api.unit.co";

/// A client of Unit's API. Cheap to clone; clones share connections.
///
/// ```
/// use api_tokens::unit;
/// use api_tokens::secrecy::SecretString;
///
/// let client = unit::Client::builder()
///     .token(SecretString::from("v2.public.FAKE.sig"))
///     .base_url(unit::LIVE)
///     .build()
///     .unwrap();
/// assert_eq!(client.base_url(), "https://api.unit.co/");
/// ```
#[derive(Debug, Clone)]
pub struct Client {
    transport: Transport,
}

/// Builds a [`Client`]; see [`Client::builder`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    settings: Settings,
}

impl Client {
    /// A builder with Unit's sandbox as base URL and Bearer auth.
    pub fn builder() -> ClientBuilder {
        ClientBuilder {
            settings: Settings::new(Service::Unit, SANDBOX, AuthScheme::Bearer),
        }
    }

    /// A client from `UNIT_API_TOKEN` and, when set, `UNIT_API_URL`
    /// (default: the sandbox).
    pub fn from_env() -> Result<Client> {
        Client::from_token_and_url(
            secret_from_env("UNIT_API_TOKEN")?,
            std::env::var("UNIT_API_URL").ok(),
        )
    }

    /// A blank URL counts as unset, as it does for the other settings read
    /// from the environment.
    fn from_token_and_url(token: secrecy::SecretString, url: Option<String>) -> Result<Client> {
        let mut builder = Client::builder().token(token);
        if let Some(url) = url.filter(|v| !v.trim().is_empty()) {
            builder = builder.base_url(url);
        }
        builder.build()
    }

    /// The Org API tokens of one user. The id is checked (a positive
    /// integer) on every call, before anything is sent.
    pub fn org_api_tokens(&self, user_id: impl Into<UserId>) -> OrgApiTokens {
        OrgApiTokens {
            transport: self.transport.clone(),
            user_id: user_id.into(),
        }
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

impl ClientBuilder {
    crate::transport::settings::common_builder_methods!();

    /// Checks the settings and makes the client. Nothing is sent.
    pub fn build(self) -> Result<Client> {
        Ok(Client {
            transport: self.settings.build()?,
        })
    }
}

/// The Org API tokens of one user; see [`Client::org_api_tokens`].
#[derive(Debug, Clone)]
pub struct OrgApiTokens {
    transport: Transport,
    user_id: UserId,
}

impl OrgApiTokens {
    /// The user whose tokens these are.
    pub fn user_id(&self) -> &UserId {
        &self.user_id
    }

    /// Creates a token and gives it with its secret, which Unit shows this
    /// once.
    ///
    /// Refused before sending ([`Error::Invalid`](crate::Error::Invalid)): a
    /// user id that is not a positive integer, an empty description, no
    /// scope or a scope that is not lower-case letters and dashes, an
    /// expiration that is not in the future, an empty list of resources or a
    /// resource restriction without ids (or with an id that is not a
    /// positive integer).
    ///
    /// The request is sent once: a create whose answer was lost is never
    /// repeated (only a 429, or a connection that failed before sending).
    pub async fn create(&self, request: CreateApiToken) -> Result<NewApiToken> {
        let user = self.user_id.validate()?;
        let attributes = request.to_wire(chrono::Utc::now())?;
        let body = jsonapi::create_body(&attributes)?;
        let resp = self
            .send(
                Method::POST,
                &["users", user, "api-tokens"],
                Some(Body {
                    content_type: jsonapi::MEDIA_TYPE,
                    bytes: body.into(),
                }),
            )
            .await?;
        jsonapi::decode_created(&resp)
    }

    /// Lists the user's tokens. Secrets are never listed.
    pub async fn list(&self) -> Result<Vec<ApiToken>> {
        let user = self.user_id.validate()?;
        let resp = self
            .send(Method::GET, &["users", user, "api-tokens"], None)
            .await?;
        jsonapi::decode_list(&resp)
    }

    /// Revokes a token. Gives the token after the operation when Unit
    /// returns it, `None` when it answers `204 No Content` or `"data": null`.
    ///
    /// Refused before sending: a user or token id that is not a positive
    /// integer.
    ///
    /// A revoke is repeated after a lost answer (it is idempotent). If the
    /// repeat finds the token gone (404) after an earlier attempt went
    /// unanswered, that attempt did the work: the result is `Ok(None)`, not
    /// [`Error::NotFound`](crate::Error::NotFound).
    pub async fn revoke(&self, token_id: impl Into<TokenId>) -> Result<Option<ApiToken>> {
        let user = self.user_id.validate()?;
        let token_id = token_id.into();
        let token = token_id.validate()?;
        let resp = self
            .send_raw(Method::DELETE, &["users", user, "api-tokens", token], None)
            .await?;
        if resp.deleted_by_earlier_attempt() {
            tracing::info!(
                target: "api_tokens::retry",
                token_id = token,
                "revoke repeated after a lost answer found the token gone: revoked by the earlier attempt"
            );
            return Ok(None);
        }
        if !resp.is_success() {
            return Err(jsonapi::error_from(&resp));
        }
        jsonapi::decode_revoked(&resp)
    }

    /// Sends one call and turns an error status into the crate's error.
    async fn send(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<Body>,
    ) -> Result<Response> {
        let resp = self.send_raw(method, segments, body).await?;
        if resp.is_success() {
            Ok(resp)
        } else {
            Err(jsonapi::error_from(&resp))
        }
    }

    /// Sends one call and gives back whatever answer came.
    async fn send_raw(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<Body>,
    ) -> Result<Response> {
        self.transport
            .send(Call {
                method,
                segments,
                body,
                accept: jsonapi::MEDIA_TYPE,
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blank_url_from_the_environment_means_the_sandbox() {
        let key = || secrecy::SecretString::from("v2.public.FAKE-ENV.sig");
        for blank in [None, Some(String::new()), Some("  ".to_owned())] {
            let client = Client::from_token_and_url(key(), blank.clone()).unwrap();
            assert_eq!(client.base_url(), "https://api.s.unit.sh/", "{blank:?}");
        }
        let set = Client::from_token_and_url(key(), Some("http://127.0.0.1:9/p".into())).unwrap();
        assert_eq!(set.base_url(), "http://127.0.0.1:9/p/");
    }
}
