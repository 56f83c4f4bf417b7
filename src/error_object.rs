//! One error object of a service's error answer, in a shape no dialect
//! owns: what went wrong (status, title, code, detail), where (the request
//! field it points at), the id to quote to the service's support, and every
//! other member kept as given. A dialect reads its own error documents into
//! it and writes it back in its own shape.

use std::collections::BTreeMap;

/// One error object of an error answer.
///
/// A dialect whose error answers list such objects fills it in and gives it
/// its wire shape: Unit's JSON:API error objects (as
/// `api_tokens::unit::JsonApiError`) read and write `source.pointer` and
/// `meta.supportId`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ErrorObject {
    /// The HTTP status as a string, as the object wrote it.
    pub status: Option<String>,
    /// A short summary.
    pub title: Option<String>,
    /// A machine-readable code (`invalid_value`, `not_found`, …).
    pub code: Option<String>,
    /// A human-readable explanation.
    pub detail: Option<String>,
    /// A further explanation, when given.
    pub details: Option<String>,
    /// The JSON pointer of the request field at fault.
    pub source_pointer: Option<String>,
    /// The id the service gave to quote to its support.
    pub support_id: Option<String>,
    /// Every other member of the object, kept as given.
    pub extra: BTreeMap<String, serde_json::Value>,
}
