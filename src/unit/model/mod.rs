//! The typed values of Unit's Org API tokens: ids, scopes, source
//! addresses, resource restrictions, the create request, and the two token
//! types (with and without the secret).
//!
//! Every type here implements `Serialize` and `Deserialize` in Unit's wire
//! shape: a token is a JSON:API resource object
//! (`{"type":"apiToken","id":"19","attributes":{…}}`), a scope the word
//! Unit uses, a list of source addresses one comma-separated string. A
//! secret is never serialized unless asked for by name
//! ([`NewApiToken::with_secret`]).
//!
//! This file only declares the parts and names what the dialect uses.

mod create;
pub(super) mod ids;
mod restriction;
mod scope;
mod source_ip;
mod token;
mod word;

pub use create::CreateApiToken;
pub(crate) use create::{UNIT_TIME, WireAttributes};
pub use ids::{TokenId, UserId};
pub use restriction::{ResourceRestriction, ResourceType};
pub use scope::Scope;
pub use source_ip::SourceIp;
pub(crate) use source_ip::source_ip_list;
pub use token::{ApiToken, NewApiToken};
