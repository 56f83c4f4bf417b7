//! The endpoints of the Unit fake, and how it answers a revoke.

/// An endpoint of the Unit fake, to aim a [`Fault`](struct.Fault.html) at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnitOp {
    /// `POST /users/{userId}/api-tokens`.
    Create,
    /// `GET /users/{userId}/api-tokens`.
    List,
    /// `DELETE /users/{userId}/api-tokens/{tokenId}`.
    Revoke,
    /// Every request, whatever its path.
    Any,
}

impl UnitOp {
    /// The name used in [`LoggedRequest::operation`](struct.LoggedRequest.html#structfield.operation); `None` for [`UnitOp::Any`].
    pub fn name(self) -> Option<&'static str> {
        match self {
            UnitOp::Create => Some("create"),
            UnitOp::List => Some("list"),
            UnitOp::Revoke => Some("revoke"),
            UnitOp::Any => None,
        }
    }
}

/// How the Unit fake answers a successful revoke. Unit documents a 200 with
/// the token; published SDKs also expect 200 with `data: null` and 204, and
/// a client must accept all three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RevokeAnswer {
    /// 200 with the token as it was (without its secret). The default.
    #[default]
    Token,
    /// 200 with `{"data": null}`.
    Null,
    /// 204 with no body.
    NoContent,
}
