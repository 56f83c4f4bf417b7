//! The accounts the calling token has access to (`GET /api/accounts`), and
//! the discovery of the token's own account.

use reqwest::Method;
use serde::{Deserialize, Deserializer, Serialize, de};

use super::model::{AccessLevel, ApiToken, ResourceId, ResourceType};
use super::tokens::ApiTokens;
use super::wire::{self, JSON};
use crate::error::{Error, Result};
use crate::transport::{Call, Transport};

/// An account the calling token has access to, as `GET /api/accounts`
/// lists it. Fields the service adds later are ignored.
///
/// ```
/// use api_tokens::mailtrap::{AccessLevel, Account};
///
/// let account: Account =
///     serde_json::from_str(r#"{"id": 3229, "name": "Acme", "access_levels": [1000]}"#)?;
/// assert_eq!(account.id, 3229);
/// assert_eq!(account.access_levels, [AccessLevel::from(1000)]);
/// assert!(serde_json::from_str::<Account>("[3229, \"Acme\", [1000]]").is_err());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[non_exhaustive]
pub struct Account {
    /// The account's id, as in the service's URLs (`/api/accounts/{id}/…`).
    #[serde(deserialize_with = "positive")]
    pub id: u64,
    /// Its display name.
    pub name: String,
    /// What the calling token may do on it (`1000`: owner, `100`: admin,
    /// `10`: viewer; others kept as they came).
    pub access_levels: Vec<AccessLevel>,
}

crate::json::object_only!(Account);

impl Account {
    /// An account, as the service would list it.
    pub fn new(id: u64, name: impl Into<String>, access_levels: Vec<AccessLevel>) -> Self {
        Account {
            id,
            name: name.into(),
            access_levels,
        }
    }
}

/// A positive id; 0 is no account.
fn positive<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<u64, D::Error> {
    let id = u64::deserialize(d)?;
    if id == 0 {
        return Err(de::Error::custom("an account id is a positive integer"));
    }
    Ok(id)
}

/// `GET /api/accounts`.
pub(super) async fn list(transport: &Transport) -> Result<Vec<Account>> {
    let call = Call::new(
        "accounts",
        Method::GET,
        "/api/accounts",
        &["api", "accounts"],
        JSON,
    );
    transport
        .exchange(call, wire::error_from, |r| r.json())
        .await
}

/// The caller's account: from the account permissions of the tokens
/// `tokens` lists, else the first account `GET /api/accounts` lists (a
/// service without that endpoint, 404, lists none).
pub(super) async fn discover(tokens: &ApiTokens, transport: &Transport) -> Result<Option<u64>> {
    let listed = tokens.list().await?;
    if let Some(id) = account_of(&listed) {
        return Ok(Some(id));
    }
    match list(transport).await {
        Ok(accounts) => Ok(accounts.first().map(|a| a.id)),
        Err(Error::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The first account a permission of these tokens names.
fn account_of(tokens: &[ApiToken]) -> Option<u64> {
    tokens
        .iter()
        .flat_map(|t| &t.permissions)
        .filter(|p| p.resource_type == ResourceType::Account)
        .find_map(|p| {
            let id = match &p.resource_id {
                ResourceId::Int(id) => Some(*id),
                ResourceId::Str(id) => id.trim().parse::<u64>().ok(),
            };
            id.filter(|id| *id > 0)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mailtrap::{Permission, TokenId};

    #[test]
    fn accounts_decode_forward_compatibly_and_only_from_objects() {
        let listed: Vec<Account> = serde_json::from_str(
            r#"[{"id": 3229, "name": "Acme", "access_levels": [1000, 7], "plan": "team"}]"#,
        )
        .unwrap();
        assert_eq!(
            listed,
            [Account::new(
                3229,
                "Acme",
                vec![AccessLevel::from(1000), AccessLevel::from(7)]
            )]
        );
        for bad in [
            r#"[[3229, "Acme", [1000]]]"#,
            r#"[{"id": 0, "name": "Acme", "access_levels": []}]"#,
            r#"[{"id": "3229", "name": "Acme", "access_levels": []}]"#,
            r#"[{"name": "Acme", "access_levels": []}]"#,
        ] {
            assert!(serde_json::from_str::<Vec<Account>>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_account_permission_names_the_account() {
        let token = |permissions: Vec<Permission>| {
            let mut token = ApiToken::new(TokenId::new(1).unwrap(), "t");
            token.permissions = permissions;
            token
        };
        let project = Permission::new(ResourceType::Project, 7, AccessLevel::Admin);
        assert_eq!(account_of(&[token(vec![project.clone()])]), None);
        let by_number = Permission::new(ResourceType::Account, 3229, AccessLevel::Viewer);
        assert_eq!(
            account_of(&[token(vec![project.clone()]), token(vec![by_number])]),
            Some(3229)
        );
        let by_text = Permission::new(ResourceType::Account, "42", AccessLevel::Viewer);
        assert_eq!(account_of(&[token(vec![project, by_text])]), Some(42));
        let zero = Permission::new(ResourceType::Account, 0, AccessLevel::Viewer);
        assert_eq!(account_of(&[token(vec![zero])]), None);
    }
}
