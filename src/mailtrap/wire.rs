//! Mailtrap's wire details private to the dialect: the media type and its
//! error answers, decoded into the crate's [`Error`].
//!
//! The service uses four shapes:
//!
//! | shape | example |
//! |---|---|
//! | `{"error": "…"}` | 401 `Incorrect API token`, 404 `Not Found` |
//! | `{"errors": "…"}` | 403 `Account access forbidden`, 429 |
//! | `{"errors": ["…", …]}` | several messages |
//! | `{"errors": {"field": ["…"] or "…"}}` | 422, record-level ones under `base` |

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::{ApiError, Error};
use crate::transport::Response;

/// The media type of every request and answer body.
pub(crate) const JSON: &str = "application/json";

/// A 2xx answer to create or reset: the token with its secret, which must
/// be there and not empty.
pub(crate) fn decode_created(
    response: &Response,
) -> crate::error::Result<super::model::NewApiToken> {
    let wire = response
        .json::<crate::json::Object<super::model::TokenWire<crate::json::Secret>>>()?
        .0;
    let (details, secret) = wire.into_parts();
    let token = secret.0.ok_or_else(|| Error::Decode {
        service: response.service,
        status: response.status,
        at: "token".to_owned(),
        request_id: None,
        reason: "the new token's secret is missing".to_owned(),
    })?;
    Ok(super::model::NewApiToken::new(details, token))
}

/// A 2xx answer to the reset of `old`: as [`decode_created`], and about a
/// new token. A reset gives a new token under a new id; an answer naming
/// `old` itself is no reset's answer (retiring "the new token" would remove
/// the very token reset), and is refused at `id`.
pub(crate) fn decode_reset(
    response: &Response,
    old: super::model::TokenId,
) -> crate::error::Result<super::model::NewApiToken> {
    let new = decode_created(response)?;
    if new.id == old {
        return Err(Error::Decode {
            service: response.service,
            status: response.status,
            at: "id".to_owned(),
            request_id: None,
            reason: format!(
                "token {old} was reset and the answer names token {old} again; a reset gives \
                 a new token under a new id"
            ),
        });
    }
    Ok(new)
}

/// The error for a non-success answer: the service's messages, per-field
/// errors, request id and rate-limit headers, sorted into a variant by
/// status. A body that is not JSON (a gateway's HTML page, nothing at all)
/// still gives the typed error, with a short description of the body.
pub(crate) fn error_from(response: &Response) -> Error {
    let mut api = ApiError::new(response.service, response.status);
    match serde_json::from_slice::<Value>(&response.body) {
        Ok(Value::Object(body)) => {
            if let Some(error) = body.get("error") {
                api.messages.extend(texts(error));
            }
            match body.get("errors") {
                Some(Value::Object(fields)) => read_fields(fields, &mut api),
                Some(errors) => api.messages.extend(texts(errors)),
                None => {}
            }
            if api.messages.is_empty() {
                if let Some(message) = body.get("message") {
                    api.messages.extend(texts(message));
                }
            }
        }
        Ok(_) | Err(_) => {
            if let Some(summary) = response.error_body_summary() {
                api.messages.push(summary);
            }
        }
    }
    api.request_id = response.request_id();
    api.rate_limit = response.rate_limit();
    Error::from_api(api, response.retry_after())
}

/// `{"errors": {"field": ["…"] | "…"}}`: kept per field; messages read
/// `field: message`, except record-level (`base`) ones, which come first and
/// as given.
fn read_fields(fields: &serde_json::Map<String, Value>, api: &mut ApiError) {
    let mut per_field: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (field, value) in fields {
        let list = texts(value);
        if !list.is_empty() {
            per_field.entry(field.clone()).or_default().extend(list);
        }
    }
    if let Some(base) = per_field.get("base") {
        api.messages.extend(base.iter().cloned());
    }
    for (field, list) in &per_field {
        if field != "base" {
            api.messages
                .extend(list.iter().map(|message| format!("{field}: {message}")));
        }
    }
    api.field_errors = per_field;
}

/// The messages in a value: a string, or each string of a list; anything
/// else is kept as compact JSON so it is not lost.
fn texts(value: &Value) -> Vec<String> {
    match value {
        Value::Null => Vec::new(),
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().flat_map(texts).collect(),
        other => vec![other.to_string()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Service;
    use bytes::Bytes;
    use reqwest::header::HeaderMap;

    fn answer(status: u16, body: &'static str) -> Error {
        error_from(&Response::read(
            Service::Mailtrap,
            status,
            HeaderMap::new(),
            Bytes::from_static(body.as_bytes()),
        ))
    }

    #[test]
    fn the_four_shapes() {
        assert_eq!(
            answer(401, r#"{"error":"Incorrect API token"}"#).messages(),
            ["Incorrect API token"]
        );
        assert_eq!(
            answer(403, r#"{"errors":"Account access forbidden"}"#).messages(),
            ["Account access forbidden"]
        );
        assert_eq!(
            answer(422, r#"{"errors":["a","b"]}"#).messages(),
            ["a", "b"]
        );
        let e = answer(
            422,
            r#"{"errors":{"name":"is too long","base":["No permissions"],"expires_at":["is invalid","is in the past"]}}"#,
        );
        assert_eq!(
            e.messages(),
            [
                "No permissions",
                "expires_at: is invalid",
                "expires_at: is in the past",
                "name: is too long"
            ]
        );
        let fields = &e.api_error().unwrap().field_errors;
        assert_eq!(fields["name"], ["is too long"]);
        assert_eq!(fields["base"], ["No permissions"]);
        assert_eq!(fields["expires_at"].len(), 2);
    }

    #[test]
    fn odd_bodies_still_give_the_status() {
        let e = answer(
            502,
            "<html><title>502 Bad Gateway</title><body>nginx</body></html>",
        );
        assert!(matches!(e, Error::Api(ref a) if a.status == 502));
        assert_eq!(e.messages(), ["502 Bad Gateway"]);
        assert!(answer(500, "").messages().is_empty());
        assert!(matches!(answer(404, "{\"err"), Error::NotFound(_)));
        assert!(matches!(answer(401, "[1,2]"), Error::Unauthorized(_)));
        assert_eq!(answer(418, r#"{"errors":{"x":5}}"#).messages(), ["x: 5"]);
    }
}
