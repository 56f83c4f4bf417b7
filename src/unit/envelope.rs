//! The JSON:API envelope of Unit's Org API tokens: `{"data": …}` around a
//! resource object `{"type": "apiToken", "id", "attributes"}`.

use serde::de::Deserializer;
use serde::{Deserialize, Serialize};

use super::model::ids::TokenId;
use crate::json::object;

/// The JSON:API resource type of an Org API token.
const TOKEN_TYPE: &str = "apiToken";

/// The `type` member of a token resource: written as `apiToken`, and read
/// only as that (without copying it).
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) enum TokenType {
    /// `apiToken`, the one type of the endpoints.
    #[serde(rename = "apiToken")]
    ApiToken,
}

impl<'de> Deserialize<'de> for TokenType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        crate::json::read_str(d, "the resource type `apiToken`", |v| {
            if v == TOKEN_TYPE {
                Ok(TokenType::ApiToken)
            } else {
                Err("expected a resource of type `apiToken`, found another type")
            }
        })
    }
}

/// A JSON:API resource object: `{"type", "id", "attributes"}`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(bound(deserialize = "A: Deserialize<'de>"))]
pub(crate) struct Resource<A> {
    #[serde(rename = "type")]
    pub kind: TokenType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<TokenId>,
    #[serde(deserialize_with = "object")]
    pub attributes: A,
}

/// `{"data": …}`.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Document<T> {
    pub data: T,
}
