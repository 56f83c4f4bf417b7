//! The account API tokens handler: list, get, create, reset, delete.

use reqwest::Method;

use super::Client;
use super::errors;
use super::model::{
    ApiToken, CreateApiToken, Expiry, NewApiToken, TokenId, check_token_id, reset_body,
};
use crate::error::Result;
use crate::transport::{Body, Call, Response};

const JSON: &str = "application/json";

/// The API tokens of one account, from [`Client::api_tokens`].
///
/// Every call goes to `/api/accounts/{account_id}/api_tokens…`. Arguments
/// are checked first: a call that would be refused is answered with
/// [`Error::Invalid`](crate::Error::Invalid) and nothing is sent.
#[derive(Debug, Clone, Copy)]
pub struct ApiTokens<'a> {
    client: &'a Client,
}

impl<'a> ApiTokens<'a> {
    pub(super) fn new(client: &'a Client) -> Self {
        ApiTokens { client }
    }

    /// Every token the calling token may see. Secrets are never included.
    ///
    /// `GET /api/accounts/{account_id}/api_tokens`; repeated on timeouts,
    /// 429 and 5xx as the retry policy allows.
    pub async fn list(&self) -> Result<Vec<ApiToken>> {
        let account = self.account();
        let response = self
            .send(
                Method::GET,
                &["api", "accounts", &account, "api_tokens"],
                None,
            )
            .await?;
        response.json()
    }

    /// One token by id. A token that does not exist (or that the calling
    /// token may not see) gives [`Error::NotFound`](crate::Error::NotFound).
    ///
    /// `GET /api/accounts/{account_id}/api_tokens/{id}`.
    pub async fn get(&self, id: impl Into<TokenId>) -> Result<ApiToken> {
        let id = id.into();
        check_token_id(id)?;
        let (account, id) = (self.account(), id.to_string());
        let response = self
            .send(
                Method::GET,
                &["api", "accounts", &account, "api_tokens", &id],
                None,
            )
            .await?;
        response.json()
    }

    /// Creates a token and returns it with its secret, which is shown this
    /// once.
    ///
    /// `POST /api/accounts/{account_id}/api_tokens`. Refused before sending:
    /// an empty, blank or over-long name, no permission, an expiry in the
    /// past or more than 5 years ahead. Never sent twice unless the service
    /// answered 429 or the connection could not be opened: a create whose
    /// answer was lost (timeout, 5xx) is returned as an error, since a token
    /// may have been minted.
    pub async fn create(&self, request: CreateApiToken) -> Result<NewApiToken> {
        request.check(chrono::Utc::now())?;
        let body = request.body()?;
        let account = self.account();
        let response = self
            .send(
                Method::POST,
                &["api", "accounts", &account, "api_tokens"],
                Some(body),
            )
            .await?;
        response.json()
    }

    /// Rotates a token: the service expires it and issues a new token with
    /// the same permissions, under a **new id**, with a new secret shown this
    /// once.
    ///
    /// The old secret keeps working for a grace period (12 hours) so that
    /// deployments can switch over. Only a token without an expiration can be
    /// reset: resetting one that has an expiry (including one already reset)
    /// is answered 422 ([`Error::Api`](crate::Error::Api)).
    ///
    /// `expiry` sets the new token's lifetime; with
    /// [`Expiry::ServerDefault`] no body is sent at all.
    ///
    /// `POST /api/accounts/{account_id}/api_tokens/{id}/reset`. Like
    /// [`create`](Self::create), never repeated after a lost answer.
    pub async fn reset(&self, id: impl Into<TokenId>, expiry: Expiry) -> Result<NewApiToken> {
        let id = id.into();
        check_token_id(id)?;
        expiry.check(chrono::Utc::now())?;
        let body = reset_body(expiry)?;
        let (account, id) = (self.account(), id.to_string());
        let response = self
            .send(
                Method::POST,
                &["api", "accounts", &account, "api_tokens", &id, "reset"],
                body,
            )
            .await?;
        response.json()
    }

    /// Deletes a token for good; its secret stops working at once.
    ///
    /// `DELETE /api/accounts/{account_id}/api_tokens/{id}`; any success
    /// (204, or 200 with or without a body) is `Ok(())`.
    ///
    /// A delete is repeated after a lost answer (it is idempotent). If the
    /// repeat finds the token gone (404) after an earlier attempt went
    /// unanswered, that attempt did the work: the result is `Ok(())`, not
    /// [`Error::NotFound`](crate::Error::NotFound).
    pub async fn delete(&self, id: impl Into<TokenId>) -> Result<()> {
        let id = id.into();
        check_token_id(id)?;
        let (account, id) = (self.account(), id.to_string());
        let response = self
            .send_raw(
                Method::DELETE,
                &["api", "accounts", &account, "api_tokens", &id],
                None,
            )
            .await?;
        if response.deleted_by_earlier_attempt() {
            tracing::info!(
                target: "api_tokens::retry",
                token_id = id,
                "delete repeated after a lost answer found the token gone: deleted by the earlier attempt"
            );
            return Ok(());
        }
        if !response.is_success() {
            return Err(errors::from_response(&response));
        }
        Ok(())
    }

    fn account(&self) -> String {
        self.client.account_id.to_string()
    }

    /// Sends one call and turns an error answer into the crate's error.
    async fn send(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<Vec<u8>>,
    ) -> Result<Response> {
        let response = self.send_raw(method, segments, body).await?;
        if response.is_success() {
            Ok(response)
        } else {
            Err(errors::from_response(&response))
        }
    }

    /// Sends one call and gives back whatever answer came.
    async fn send_raw(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<Vec<u8>>,
    ) -> Result<Response> {
        self.client
            .transport
            .send(Call {
                method,
                segments,
                body: body.map(|bytes| Body {
                    content_type: JSON,
                    bytes: bytes.into(),
                }),
                accept: JSON,
            })
            .await
    }
}
