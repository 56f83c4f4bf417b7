//! The Org API tokens of one user: create, list, revoke.

use reqwest::Method;

use super::model::{ApiToken, CreateApiToken, NewApiToken, TokenId, UserId};
use super::wire;
use crate::error::Result;
use crate::transport::{Call, Deleted, Transport};

/// The Org API tokens of one user; see
/// [`Client::org_api_tokens`](super::Client::org_api_tokens).
///
/// Owned and cheap to clone (it shares the client's connections), so it can
/// move into a spawned task:
///
/// ```
/// # async fn f(client: api_tokens::unit::Client) -> Result<(), Box<dyn std::error::Error>> {
/// let tokens = client.org_api_tokens("2".parse()?);
/// let listed = tokio::spawn(async move { tokens.list().await }).await??;
/// # let _ = listed; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct OrgApiTokens {
    transport: Transport,
    user_id: UserId,
}

impl OrgApiTokens {
    pub(super) fn new(transport: Transport, user_id: UserId) -> Self {
        OrgApiTokens { transport, user_id }
    }

    /// The user whose tokens these are.
    pub fn user_id(&self) -> &UserId {
        &self.user_id
    }

    /// Creates a token and gives it with its secret, which Unit shows this
    /// once. Takes the request by value or by reference.
    ///
    /// `POST /users/{userId}/api-tokens`. Sent once: a create whose answer
    /// was lost is never repeated (see
    /// [`RetryPolicy`](crate::RetryPolicy)).
    ///
    /// # Errors
    ///
    /// - [`Error::Invalid`](crate::Error::Invalid), before anything is sent:
    ///   an empty description, no scope or a scope that is not lower-case
    ///   letters and dashes, an expiration that is not in the future, a
    ///   source address that is neither an IP address nor a CIDR range, an
    ///   empty list of resources or a restriction without valid ids.
    /// - [`Error::OutcomeUnknown`](crate::Error::OutcomeUnknown) when the
    ///   request was sent and no usable answer came: a token may exist.
    /// - The service's refusal as [`Error::Api`](crate::Error::Api) (400,
    ///   422, …) or a status variant; [`Error::Decode`](crate::Error::Decode)
    ///   for a malformed answer.
    pub async fn create(
        &self,
        request: impl std::borrow::Borrow<CreateApiToken>,
    ) -> Result<NewApiToken> {
        let attributes = request.borrow().to_wire(chrono::Utc::now())?;
        let body = wire::create_body(&attributes)?;
        let user = self.user_id.as_str();
        let segments = ["users", user, "api-tokens"];
        let call = Call::new(
            "create",
            Method::POST,
            "/users/{userId}/api-tokens",
            &segments,
            wire::MEDIA_TYPE,
        )
        .body(wire::MEDIA_TYPE, body);
        self.transport
            .exchange(call.mints(), wire::error_from, wire::decode_created)
            .await
    }

    /// Lists the user's tokens. Secrets are never listed, nor are scopes
    /// and resource restrictions (Unit does not return them).
    ///
    /// `GET /users/{userId}/api-tokens`.
    ///
    /// # Errors
    ///
    /// The service's refusal (401, 403, 404 for an unknown user, …), a
    /// transport failure after the retries the policy allows, or
    /// [`Error::Decode`](crate::Error::Decode) for a malformed answer.
    pub async fn list(&self) -> Result<Vec<ApiToken>> {
        let user = self.user_id.as_str();
        let segments = ["users", user, "api-tokens"];
        let call = Call::new(
            "list",
            Method::GET,
            "/users/{userId}/api-tokens",
            &segments,
            wire::MEDIA_TYPE,
        );
        self.transport
            .exchange(call, wire::error_from, wire::decode_list)
            .await
    }

    /// Revokes a token. Gives the token after the operation when Unit
    /// returns it, `None` when it answers `204 No Content` (or another
    /// success without a body) or `"data": null`, or when a repeat after a
    /// lost answer found the token already gone.
    ///
    /// `DELETE /users/{userId}/api-tokens/{tokenId}`.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) for a token that does not
    /// exist, the service's other refusals, a transport failure after the
    /// retries the policy allows, or [`Error::Decode`](crate::Error::Decode)
    /// for a malformed answer: one about another token than `token_id` (at
    /// `data.id`), or a document without `data` (`{}` included). A success
    /// status whose body is Unit's error document (`{"errors": […]}`) is
    /// [`Error::Api`](crate::Error::Api) with that status and the service's
    /// messages.
    pub async fn revoke(&self, token_id: &TokenId) -> Result<Option<ApiToken>> {
        let user = self.user_id.as_str();
        let segments = ["users", user, "api-tokens", token_id.as_str()];
        let call = Call::new(
            "revoke",
            Method::DELETE,
            "/users/{userId}/api-tokens/{tokenId}",
            &segments,
            wire::MEDIA_TYPE,
        );
        match self.transport.delete(call, wire::error_from).await? {
            Deleted::Now(response) => {
                wire::decode_revoked_token(&response, token_id).map_err(|e| response.about(e))
            }
            Deleted::ByEarlierAttempt => Ok(None),
        }
    }
}
