//! Mailtrap's answers in its own shapes, as the fake writes them.

use std::collections::BTreeMap;

use serde_json::json;

use crate::testing::engine::Reply;

/// The media type of every answer of the fake.
pub(crate) const JSON: &str = "application/json; charset=utf-8";

pub(crate) fn not_found() -> Reply {
    Reply::json(404, JSON, &json!({ "error": "Not Found" }))
}

/// Records that `field` fails with `message`, after any earlier message
/// for it, as a 422 answer lists them.
pub(crate) fn add_error(errors: &mut BTreeMap<String, Vec<String>>, field: &str, message: &str) {
    errors
        .entry(field.to_owned())
        .or_default()
        .push(message.to_owned());
}

pub(crate) fn unprocessable(errors: BTreeMap<String, Vec<String>>) -> Reply {
    Reply::json(422, JSON, &json!({ "errors": errors }))
}
