//! An Org API token as Unit lists it, and one just created with its
//! secret.

use std::fmt;

use chrono::{DateTime, Utc};

use super::create::format_expiration;
use super::ids::TokenId;
use super::source_ip::SourceIp;

/// An Org API token as listed: everything but the secret, which Unit shows
/// only once, when the token is created.
///
/// Unit's list carries no scopes and no resource restrictions: a token
/// re-created from a listed one must be given them again.
///
/// Serialized as Unit lists it, its dates as Unit writes them
/// (`2021-07-01T13:47:17.000Z`: milliseconds and `Z`; a finer precision a
/// date made in code may hold is not written).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ApiToken {
    /// The token's id, for [`revoke`](crate::unit::OrgApiTokens::revoke).
    pub id: TokenId,
    /// What the token is for, when it has a description.
    pub description: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it stops working, if it does.
    pub expiration: Option<DateTime<Utc>>,
    /// The addresses and ranges that may use it (empty: any).
    pub source_ips: Vec<SourceIp>,
}

impl ApiToken {
    /// A token's details, as the service would list them.
    pub fn new(id: TokenId, created_at: DateTime<Utc>) -> Self {
        ApiToken {
            id,
            description: None,
            created_at,
            expiration: None,
            source_ips: Vec::new(),
        }
    }
}

/// A token just created, with its secret; see [`NewToken`](crate::NewToken).
pub type NewApiToken = crate::token::NewToken<ApiToken>;

/// `token 19 "CI deploy" (created …, expires …, from 192.168.1.1)`.
impl fmt::Display for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "token {}", self.id)?;
        if let Some(d) = &self.description {
            write!(f, " {d:?}")?;
        }
        write!(f, " (created {}", format_expiration(self.created_at))?;
        match self.expiration {
            Some(e) => write!(f, ", expires {}", format_expiration(e))?,
            None => f.write_str(", never expires")?,
        }
        if !self.source_ips.is_empty() {
            let ips: Vec<String> = self.source_ips.iter().map(SourceIp::to_string).collect();
            write!(f, ", from {}", ips.join(","))?;
        }
        f.write_str(")")
    }
}
