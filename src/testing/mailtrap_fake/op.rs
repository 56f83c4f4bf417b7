//! The endpoints of the Mailtrap fake, and which tokens it resets.

/// Which tokens the Mailtrap fake refuses to reset (with 422).
///
/// The service changed its rule in 2026-08 and its published description
/// still states the earlier one; a client should assume neither.
///
/// ```
/// use api_tokens::testing::{MailtrapFake, ResetRule};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let published = MailtrapFake::builder().reset_rule(ResetRule::Published).start().await;
/// # let _ = published;
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ResetRule {
    /// The rule the service applies today: a token that was already reset,
    /// or has expired, is refused. A token that will expire later can be
    /// reset. The default.
    #[default]
    Current,
    /// The rule of the published description: a token that has an
    /// expiration is refused (so is a token already reset, which expires
    /// at the end of its grace period).
    Published,
}

/// An endpoint of the Mailtrap fake, to aim a [`Fault`](struct.Fault.html) or
/// an [`Expectation`](struct.Expectation.html) at. Each covers both path forms:
/// `/api/accounts/{account_id}/api_tokens…` and the account-free
/// `/api/api_tokens…`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MailtrapOp {
    /// `GET /api/accounts/{account_id}/api_tokens`, `GET /api/api_tokens`.
    List,
    /// `POST /api/accounts/{account_id}/api_tokens`, `POST /api/api_tokens`.
    Create,
    /// `GET /api/accounts/{account_id}/api_tokens/{id}`,
    /// `GET /api/api_tokens/{id}`.
    Get,
    /// `DELETE /api/accounts/{account_id}/api_tokens/{id}`,
    /// `DELETE /api/api_tokens/{id}`.
    Delete,
    /// `POST /api/accounts/{account_id}/api_tokens/{id}/reset`,
    /// `POST /api/api_tokens/{id}/reset`.
    Reset,
    /// `GET /api/accounts`: the accounts of the caller (the fake's one).
    Accounts,
    /// Every request, whatever its path.
    Any,
}

impl MailtrapOp {
    /// The name used in [`LoggedRequest::operation`](struct.LoggedRequest.html#structfield.operation); `None` for [`MailtrapOp::Any`].
    pub fn name(self) -> Option<&'static str> {
        match self {
            MailtrapOp::List => Some("list"),
            MailtrapOp::Create => Some("create"),
            MailtrapOp::Get => Some("get"),
            MailtrapOp::Delete => Some("delete"),
            MailtrapOp::Reset => Some("reset"),
            MailtrapOp::Accounts => Some("accounts"),
            MailtrapOp::Any => None,
        }
    }
}
