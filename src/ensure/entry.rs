//! What a tokens file asks for: one [`MailtrapEntry`] or [`UnitEntry`] per
//! token, as loaded and checked by [`TokensFile`](super::TokensFile).

use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};

use crate::lifecycle::SinkSpec;
use crate::mailtrap::{self, Permission, ResourceId, ResourceType};
use crate::unit::{Scope, SourceIp, UserId};

use super::duration;

/// When a Mailtrap token expires, as the file's `expires` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Expires {
    /// `"never"`.
    Never,
    /// `"default"`: the service's default lifetime (the default when the
    /// key is left out).
    Default,
    /// A duration (`"90d"`), counted from each mint.
    After(TimeDelta),
}

impl Expires {
    /// The expiry of a token minted at `now`.
    pub fn at(self, now: DateTime<Utc>) -> mailtrap::Expiry {
        match self {
            Expires::Never => mailtrap::Expiry::Never,
            Expires::Default => mailtrap::Expiry::ServerDefault,
            Expires::After(span) => mailtrap::Expiry::At(now + span),
        }
    }
}

impl fmt::Display for Expires {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expires::Never => f.write_str("never"),
            Expires::Default => f.write_str("default"),
            Expires::After(span) => f.write_str(&duration::show(*span)),
        }
    }
}

/// When a token is due for rotation, whatever its service.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RotateRules {
    /// `rotate_after`: rotate a token older than this.
    pub after: Option<TimeDelta>,
    /// `rotate_before_expiry`: rotate a token that expires within this.
    pub before_expiry: Option<TimeDelta>,
}

/// A `[[mailtrap]]` entry: one Mailtrap API token.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MailtrapEntry {
    /// The token's name (its label: the crate's marker may follow it on
    /// the service).
    pub name: String,
    /// What it may do, `TYPE:ID:LEVEL` in the file.
    pub permissions: Vec<Permission>,
    /// When each token minted for it expires.
    pub expires: Expires,
    /// When it is due for rotation.
    pub rotate: RotateRules,
    /// Where its secret goes.
    pub secret_to: SinkSpec,
    /// The line of the file the entry starts on.
    pub line: usize,
}

impl MailtrapEntry {
    /// The accounts its `account` permissions name, in the file's order:
    /// where its token is looked for, the first being where it is created.
    /// Empty when no permission names an account: the token then lives in
    /// the account of the default Mailtrap client.
    pub fn accounts(&self) -> Vec<u64> {
        let mut out = Vec::new();
        for p in &self.permissions {
            if let (ResourceType::Account, ResourceId::Int(id)) = (&p.resource_type, &p.resource_id)
            {
                if !out.contains(id) {
                    out.push(*id);
                }
            }
        }
        out
    }
}

/// A `[[unit]]` entry: one Unit Org API token.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnitEntry {
    /// The token's description (its label: the crate's marker may follow
    /// it on the service).
    pub description: String,
    /// The user whose token it is; `None`: the default user
    /// (`UNIT_USER_ID` on the command line).
    pub user_id: Option<UserId>,
    /// Its scopes. Unit does not list them: a change here takes effect at
    /// the token's next rotation or replacement.
    pub scopes: Vec<Scope>,
    /// How long each token minted for it lives.
    pub lifetime: TimeDelta,
    /// The addresses and ranges that may use it; empty: any.
    pub source_ips: Vec<SourceIp>,
    /// When it is due for rotation.
    pub rotate: RotateRules,
    /// Where its secret goes.
    pub secret_to: SinkSpec,
    /// The line of the file the entry starts on.
    pub line: usize,
}

#[cfg(test)]
mod tests {
    use crate::lifecycle::permissions_text;
    use crate::mailtrap::parse_permission;

    #[test]
    fn permissions_read_and_show_alike() {
        for text in [
            "account:3229:admin",
            "sandbox:17:viewer",
            "project:p-1:viewer",
        ] {
            assert_eq!(permissions_text(&[parse_permission(text).unwrap()]), text);
        }
        assert_eq!(
            permissions_text(&[parse_permission("inbox:7:10").unwrap()]),
            "sandbox:7:viewer"
        );
    }
}
