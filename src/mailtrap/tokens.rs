//! The API tokens of one account: list, get, create, reset, delete.

use std::borrow::Borrow;

use reqwest::Method;

use super::model::{ApiToken, CreateApiToken, Expiry, NewApiToken, TokenId, reset_body};
use super::wire::{self, JSON};
use crate::error::Result;
use crate::transport::{Call, Deleted, Transport};

/// The API tokens of one account, from
/// [`Client::api_tokens`](super::Client::api_tokens).
///
/// With an account named on the client, every call goes to
/// `/api/accounts/{account_id}/api_tokens…`; without, to
/// `/api/api_tokens…` (the token's own account). Arguments are checked
/// first: a call that would be refused is answered with
/// [`Error::Invalid`](crate::Error::Invalid) and nothing is sent.
///
/// Owned and cheap to clone (it shares the client's connections), so it can
/// move into a spawned task:
///
/// ```
/// # async fn f(client: api_tokens::mailtrap::Client) -> Result<(), Box<dyn std::error::Error>> {
/// let tokens = client.api_tokens();
/// let listed = tokio::spawn(async move { tokens.list().await }).await??;
/// # let _ = listed; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ApiTokens {
    transport: Transport,
    account: Option<String>,
}

/// The path templates of one form, for the call's span.
struct Templates {
    collection: &'static str,
    item: &'static str,
    reset: &'static str,
}

const ACCOUNT_SCOPED: Templates = Templates {
    collection: "/api/accounts/{account_id}/api_tokens",
    item: "/api/accounts/{account_id}/api_tokens/{id}",
    reset: "/api/accounts/{account_id}/api_tokens/{id}/reset",
};

const ACCOUNT_FREE: Templates = Templates {
    collection: "/api/api_tokens",
    item: "/api/api_tokens/{id}",
    reset: "/api/api_tokens/{id}/reset",
};

impl ApiTokens {
    pub(super) fn new(transport: Transport, account_id: Option<u64>) -> Self {
        ApiTokens {
            transport,
            account: account_id.map(|id| id.to_string()),
        }
    }

    /// The account whose tokens these are, or `None` for the token's own.
    pub fn account_id(&self) -> Option<u64> {
        self.account.as_deref().and_then(|a| a.parse().ok())
    }

    /// The path segments below the base URL, `rest` after `api_tokens`.
    fn segments<'a>(&'a self, rest: &[&'a str]) -> Vec<&'a str> {
        let mut out = Vec::with_capacity(4 + rest.len());
        match &self.account {
            Some(account) => out.extend(["api", "accounts", account.as_str(), "api_tokens"]),
            None => out.extend(["api", "api_tokens"]),
        }
        out.extend_from_slice(rest);
        out
    }

    fn templates(&self) -> &'static Templates {
        if self.account.is_some() {
            &ACCOUNT_SCOPED
        } else {
            &ACCOUNT_FREE
        }
    }

    /// Every token the calling token may see. Secrets are never included.
    ///
    /// `GET …/api_tokens`; repeated on timeouts, 429 and 5xx as the retry
    /// policy allows.
    ///
    /// # Errors
    ///
    /// The service's refusal (401, 403, …), a transport failure after the
    /// retries the policy allows, or [`Error::Decode`](crate::Error::Decode)
    /// for a malformed answer.
    pub async fn list(&self) -> Result<Vec<ApiToken>> {
        let segments = self.segments(&[]);
        let call = Call::new(
            "list",
            Method::GET,
            self.templates().collection,
            &segments,
            JSON,
        );
        self.transport
            .exchange(call, wire::error_from, |r| r.json())
            .await
    }

    /// One token by id.
    ///
    /// `GET …/api_tokens/{id}`.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) for a token that does not
    /// exist (or that the calling token may not see), the service's other
    /// refusals, a transport failure, or a malformed answer
    /// ([`Error::Decode`](crate::Error::Decode), also for an answer that is
    /// another token than the one asked for).
    pub async fn get(&self, id: TokenId) -> Result<ApiToken> {
        let asked = id;
        let id = id.to_string();
        let segments = self.segments(&[&id]);
        let call = Call::new("get", Method::GET, self.templates().item, &segments, JSON);
        let token: ApiToken = self
            .transport
            .exchange(call, wire::error_from, |r| r.json())
            .await?;
        // Another token than the one asked for is no answer to the call.
        if token.id != asked {
            return Err(crate::Error::Decode {
                service: crate::Service::Mailtrap,
                status: 200,
                at: "id".to_owned(),
                request_id: None,
                reason: format!("token {} was asked for, token {} answered", asked, token.id),
            });
        }
        Ok(token)
    }

    /// Creates a token and returns it with its secret, which is shown this
    /// once. Takes the request by value or by reference.
    ///
    /// `POST …/api_tokens`. Never sent twice unless the service answered 429
    /// or the connection could not be opened.
    ///
    /// # Errors
    ///
    /// - [`Error::Invalid`](crate::Error::Invalid), before anything is sent:
    ///   an empty, blank or over-long name, no permission, an expiry in the
    ///   past or more than 5 years ahead.
    /// - [`Error::OutcomeUnknown`](crate::Error::OutcomeUnknown) when the
    ///   request was sent and no usable answer came: a token may exist.
    /// - The service's refusal (422 with per-field errors, 401, 403, …).
    pub async fn create(&self, request: impl Borrow<CreateApiToken>) -> Result<NewApiToken> {
        let request = request.borrow();
        request.check(chrono::Utc::now())?;
        let body = request.body()?;
        let segments = self.segments(&[]);
        let call = Call::new(
            "create",
            Method::POST,
            self.templates().collection,
            &segments,
            JSON,
        )
        .body(JSON, body);
        self.transport
            .exchange(call.mints(), wire::error_from, wire::decode_created)
            .await
    }

    /// Rotates a token: the service expires it and issues a new token with
    /// the same permissions, under a **new id** and a new name
    /// (`"<name> <new id>"`), with a new secret shown this once. The old
    /// secret keeps working for a grace period (12 hours) so that
    /// deployments can switch over.
    ///
    /// Which tokens can be reset is the service's to say, and the crate
    /// assumes neither rule: today a token that was already reset, or has
    /// expired, is refused with 422; Mailtrap's published description still
    /// says only a token without an expiration can be reset. Either refusal
    /// comes back as [`Error::Api`](crate::Error::Api) with status 422 and
    /// the service's message.
    ///
    /// `expiry` sets the new token's lifetime, a body that is new on the
    /// service (rolling out since 2026-08); with [`Expiry::ServerDefault`]
    /// no body is sent at all, as before.
    ///
    /// `POST …/api_tokens/{id}/reset`. Like [`create`](Self::create), never
    /// repeated after a lost answer.
    ///
    /// # Errors
    ///
    /// As [`create`](Self::create), and
    /// [`Error::NotFound`](crate::Error::NotFound) for a token that does
    /// not exist. An answer that names the token reset instead of a new one
    /// is [`Error::Decode`](crate::Error::Decode) at `id`, inside
    /// [`Error::OutcomeUnknown`](crate::Error::OutcomeUnknown): whether the
    /// service reset it cannot be told.
    pub async fn reset(&self, id: TokenId, expiry: Expiry) -> Result<NewApiToken> {
        expiry.check(chrono::Utc::now())?;
        let body = reset_body(expiry)?;
        let old = id;
        let id = id.to_string();
        let segments = self.segments(&[&id, "reset"]);
        let mut call = Call::new(
            "reset",
            Method::POST,
            self.templates().reset,
            &segments,
            JSON,
        );
        if let Some(body) = body {
            call = call.body(JSON, body);
        }
        self.transport
            .exchange(call.mints(), wire::error_from, |r| {
                wire::decode_reset(r, old)
            })
            .await
    }

    /// Deletes a token for good; its secret stops working at once.
    ///
    /// `DELETE …/api_tokens/{id}`; any success (204, or 200 with or without
    /// a body) is `Ok(())`, and so is a repeat after a lost answer that
    /// finds the token already gone.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`](crate::Error::NotFound) for a token that does not
    /// exist, the service's other refusals, or a transport failure after
    /// the retries the policy allows.
    pub async fn delete(&self, id: TokenId) -> Result<()> {
        let id = id.to_string();
        let segments = self.segments(&[&id]);
        let call = Call::new(
            "delete",
            Method::DELETE,
            self.templates().item,
            &segments,
            JSON,
        );
        match self.transport.delete(call, wire::error_from).await? {
            Deleted::Now(_) | Deleted::ByEarlierAttempt => Ok(()),
        }
    }
}
