//! The restriction of a token to some cards or some accounts.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

use super::ids::check_identifier;
use super::word::word_traits;

/// What a token may be restricted to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResourceType {
    /// Cards (`card`).
    Card,
    /// Accounts, with the cards, payments and transactions under them
    /// (`account`).
    Account,
    /// A resource type this version of the crate does not know by name.
    Other(String),
}

impl ResourceType {
    /// The type as Unit writes it.
    pub fn as_str(&self) -> &str {
        match self {
            ResourceType::Card => "card",
            ResourceType::Account => "account",
            ResourceType::Other(s) => s,
        }
    }

    fn from_wire(s: &str) -> ResourceType {
        match s {
            "card" => ResourceType::Card,
            "account" => ResourceType::Account,
            other => ResourceType::Other(other.to_owned()),
        }
    }

    fn validate(&self) -> Result<&str> {
        let s = self.as_str();
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphabetic()) {
            Ok(s)
        } else {
            Err(Error::invalid(
                "resources",
                format!(
                    "`{}` is not a resource type; use `card` or `account`",
                    s.escape_debug()
                ),
            ))
        }
    }
}

word_traits!(
    ResourceType,
    parse:
    /// `card`, `account`, or [`ResourceType::Other`] for any other word of
    /// ASCII letters.
    deserialize:
    /// Any string: an unknown type is kept as [`ResourceType::Other`].
);

/// A restriction of a token to some cards or some accounts; on the wire
/// `{"type": "card", "ids": ["1", "2"]}`.
///
/// ```
/// use api_tokens::unit::{ResourceRestriction, ResourceType};
///
/// let cards = ResourceRestriction::cards(["1", "2"]);
/// assert_eq!(cards.kind(), &ResourceType::Card);
/// assert_eq!(cards.ids(), ["1", "2"]);
/// let accounts = ResourceRestriction::accounts([10005_u64]);
/// assert_eq!(accounts.ids(), ["10005"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct ResourceRestriction {
    #[serde(rename = "type")]
    kind: ResourceType,
    ids: Vec<String>,
}

crate::json::object_only!(ResourceRestriction);

impl ResourceRestriction {
    /// A restriction to these resources of that type. The ids must be
    /// positive integers and there must be at least one; both are checked
    /// before sending.
    pub fn new<I>(kind: ResourceType, ids: I) -> Self
    where
        I: IntoIterator,
        I::Item: fmt::Display,
    {
        ResourceRestriction {
            kind,
            ids: ids.into_iter().map(|id| id.to_string()).collect(),
        }
    }

    /// A restriction to these cards.
    pub fn cards<I>(ids: I) -> Self
    where
        I: IntoIterator,
        I::Item: fmt::Display,
    {
        Self::new(ResourceType::Card, ids)
    }

    /// A restriction to these accounts (and the cards, payments and
    /// transactions under them).
    pub fn accounts<I>(ids: I) -> Self
    where
        I: IntoIterator,
        I::Item: fmt::Display,
    {
        Self::new(ResourceType::Account, ids)
    }

    /// The type of the resources.
    pub fn kind(&self) -> &ResourceType {
        &self.kind
    }

    /// The ids of the resources.
    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    pub(crate) fn validate(&self) -> Result<()> {
        let kind = self.kind.validate()?;
        if self.ids.is_empty() {
            return Err(Error::invalid(
                "resources",
                format!(
                    "the `{kind}` restriction has no ids; give at least one {kind} id, \
                     or leave the restriction out"
                ),
            ));
        }
        for id in &self.ids {
            check_identifier("resources", &format!("{kind} id"), id)?;
        }
        Ok(())
    }
}
