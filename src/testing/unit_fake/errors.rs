//! Unit's JSON:API error documents, as the fake writes them.

use serde_json::{Map, Value, json};

use crate::testing::engine::Reply;

/// Unit's media type, on every answer of the fake.
pub(crate) const JSON_API: &str = "application/vnd.api+json";

pub(crate) fn error(
    status: u16,
    title: &str,
    code: Option<&str>,
    detail: &str,
    pointer: Option<&str>,
) -> Value {
    let mut error = Map::new();
    error.insert("status".into(), json!(status.to_string()));
    error.insert("title".into(), json!(title));
    if let Some(code) = code {
        error.insert("code".into(), json!(code));
    }
    error.insert("detail".into(), json!(detail));
    if let Some(pointer) = pointer {
        error.insert("source".into(), json!({ "pointer": pointer }));
    }
    Value::Object(error)
}

pub(crate) fn errors(status: u16, errors: Vec<Value>) -> Reply {
    Reply::json(status, JSON_API, &json!({ "errors": errors }))
}

/// An answer holding one error, with no code and no pointer.
pub(crate) fn one_error(status: u16, title: &str, detail: &str) -> Reply {
    errors(status, vec![error(status, title, None, detail, None)])
}

/// A 404 answer: nothing is at the path, `detail` says what is missing.
pub(crate) fn not_found(detail: &str) -> Reply {
    errors(
        404,
        vec![error(404, "Not Found", Some("not_found"), detail, None)],
    )
}

pub(crate) fn invalid(detail: &str, pointer: &str) -> Value {
    error(
        400,
        "Bad Request",
        Some("invalid_value"),
        detail,
        Some(pointer),
    )
}

pub(crate) fn reason(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error")
}
