//! Mailtrap's answers in its own shapes, as the fake writes them.

use std::collections::BTreeMap;

use serde_json::json;

use crate::testing::engine::Reply;

/// The media type of every answer of the fake.
pub(crate) const JSON: &str = "application/json; charset=utf-8";

pub(crate) fn not_found() -> Reply {
    Reply::json(404, JSON, &json!({ "error": "Not Found" }))
}

pub(crate) fn unprocessable(errors: BTreeMap<String, Vec<String>>) -> Reply {
    Reply::json(422, JSON, &json!({ "errors": errors }))
}
