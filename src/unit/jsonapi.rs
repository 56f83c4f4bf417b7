//! The JSON:API envelope of Unit's Org API tokens, both ways, and its error
//! document. Private to the dialect.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::model::{ApiToken, NewApiToken, SourceIp, TokenId, WireAttributes};
use crate::error::{ApiError, Error, JsonApiError, Result, Service};
use crate::transport::Response;

/// The media type of every request and answer body.
pub(crate) const MEDIA_TYPE: &str = "application/vnd.api+json";

/// The JSON:API resource type of an Org API token.
const TOKEN_TYPE: &str = "apiToken";

/// `{"data":{"type":"apiToken","attributes":{…}}}`.
#[derive(Debug, Serialize)]
struct CreateDocument<'a> {
    data: CreateData<'a>,
}

#[derive(Debug, Serialize)]
struct CreateData<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    attributes: &'a WireAttributes,
}

/// The body of a create request.
pub(crate) fn create_body(attributes: &WireAttributes) -> Result<Vec<u8>> {
    serde_json::to_vec(&CreateDocument {
        data: CreateData {
            kind: TOKEN_TYPE,
            attributes,
        },
    })
    // Only strings and lists of strings are written, which cannot fail; the
    // error is mapped all the same rather than unwrapped.
    .map_err(|e| Error::invalid("request", format!("the request could not be written: {e}")))
}

#[derive(Debug, Deserialize)]
struct Document<T> {
    data: T,
}

#[derive(Debug, Deserialize)]
struct LenientDocument {
    #[serde(default)]
    data: Option<Resource>,
}

#[derive(Debug, Deserialize)]
struct Resource {
    #[serde(deserialize_with = "token_id")]
    id: TokenId,
    #[serde(rename = "type", deserialize_with = "is_token_type")]
    is_token: bool,
    attributes: Attributes,
}

/// Whether a resource's `type` is `apiToken`, read without copying it.
fn is_token_type<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<bool, D::Error> {
    struct TypeVisitor;
    impl Visitor<'_> for TypeVisitor {
        type Value = bool;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a resource type")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<bool, E> {
            Ok(v == TOKEN_TYPE)
        }
    }
    d.deserialize_str(TypeVisitor)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Attributes {
    #[serde(deserialize_with = "crate::time::utc")]
    created_at: DateTime<Utc>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default, deserialize_with = "crate::time::option_utc")]
    expiration: Option<DateTime<Utc>>,
    #[serde(default)]
    source_ip: Option<String>,
    #[serde(default, deserialize_with = "secret")]
    token: Option<SecretString>,
}

/// A JSON:API id: a string, or leniently a number.
fn token_id<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<TokenId, D::Error> {
    struct IdVisitor;
    impl Visitor<'_> for IdVisitor {
        type Value = TokenId;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string or integer id")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<TokenId, E> {
            Ok(TokenId::from(v))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<TokenId, E> {
            Ok(TokenId::from(v))
        }
    }
    d.deserialize_any(IdVisitor)
}

/// The secret goes straight from the body into a `SecretString`.
fn secret<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<SecretString>, D::Error> {
    struct SecretVisitor;
    impl<'de> Visitor<'de> for SecretVisitor {
        type Value = Option<SecretString>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string token")
        }
        fn visit_none<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D2: Deserializer<'de>>(
            self,
            d: D2,
        ) -> std::result::Result<Self::Value, D2::Error> {
            d.deserialize_str(SecretVisitor)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Self::Value, E> {
            Ok(Some(SecretString::from(v)))
        }
        fn visit_string<E: de::Error>(self, v: String) -> std::result::Result<Self::Value, E> {
            Ok(Some(SecretString::from(v)))
        }
    }
    d.deserialize_option(SecretVisitor)
}

fn decode_error(resp: &Response, at: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::Decode {
        service: Service::Unit,
        status: resp.status,
        at: at.into(),
        reason: reason.into(),
    }
}

impl Resource {
    fn check_type(&self, resp: &Response, at: impl fmt::Display) -> Result<()> {
        if self.is_token {
            Ok(())
        } else {
            Err(decode_error(
                resp,
                format!("{at}.type"),
                format!("expected a resource of type `{TOKEN_TYPE}`, found another type"),
            ))
        }
    }

    fn into_token(self) -> ApiToken {
        let a = self.attributes;
        ApiToken {
            id: self.id,
            description: a.description,
            created_at: a.created_at,
            expiration: a.expiration,
            source_ips: a
                .source_ip
                .as_deref()
                .map(SourceIp::parse_list)
                .unwrap_or_default(),
        }
    }
}

/// A 2xx answer to create: the token with its secret.
pub(crate) fn decode_created(resp: &Response) -> Result<NewApiToken> {
    let doc: Document<Resource> = resp.json()?;
    doc.data.check_type(resp, "data")?;
    let mut resource = doc.data;
    let secret = resource.attributes.token.take().ok_or_else(|| {
        decode_error(
            resp,
            "data.attributes.token",
            "the created token's secret is missing",
        )
    })?;
    let details = resource.into_token();
    Ok(NewApiToken {
        id: details.id,
        description: details.description,
        created_at: details.created_at,
        expiration: details.expiration,
        source_ips: details.source_ips,
        token: secret,
    })
}

/// A 2xx answer to list. A secret, should one ever be listed, is dropped.
pub(crate) fn decode_list(resp: &Response) -> Result<Vec<ApiToken>> {
    let doc: Document<Vec<Resource>> = resp.json()?;
    let mut out = Vec::with_capacity(doc.data.len());
    for (i, resource) in doc.data.into_iter().enumerate() {
        resource.check_type(resp, format_args!("data[{i}]"))?;
        out.push(resource.into_token());
    }
    Ok(out)
}

/// A 2xx answer to revoke: the token after the operation, or nothing (204,
/// an empty body, `"data": null`).
pub(crate) fn decode_revoked(resp: &Response) -> Result<Option<ApiToken>> {
    if resp.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let doc: LenientDocument = resp.json()?;
    match doc.data {
        None => Ok(None),
        Some(resource) => {
            resource.check_type(resp, "data")?;
            Ok(Some(resource.into_token()))
        }
    }
}

/// An error answer: the JSON:API error document when there is one, else a
/// short description of whatever came (a gateway's HTML page), sorted into
/// the crate's error by status.
pub(crate) fn error_from(resp: &Response) -> Error {
    let mut api = ApiError::new(Service::Unit, resp.status);
    api.rate_limit = resp.rate_limit();
    let errors = serde_json::from_slice::<Value>(&resp.body)
        .ok()
        .and_then(parse_error_document)
        .unwrap_or_default();
    if errors.is_empty() {
        api.messages.extend(resp.error_body_summary());
    } else {
        for e in &errors {
            api.messages.extend(message_of(e));
            if let (Some(pointer), Some(text)) = (
                e.source_pointer.as_deref(),
                e.detail.as_ref().or(e.title.as_ref()).or(e.code.as_ref()),
            ) {
                api.field_errors
                    .entry(field_of(pointer))
                    .or_default()
                    .push(text.clone());
            }
        }
    }
    api.request_id = errors
        .iter()
        .find_map(|e| e.support_id.clone())
        .or_else(|| resp.request_id());
    api.errors = errors;
    Error::from_api(api, resp.retry_after())
}

/// The error objects of `{"errors": [...]}`, or `None` for any other shape.
fn parse_error_document(doc: Value) -> Option<Vec<JsonApiError>> {
    let Value::Object(mut top) = doc else {
        return None;
    };
    let Some(Value::Array(items)) = top.remove("errors") else {
        return None;
    };
    Some(items.into_iter().filter_map(parse_error_object).collect())
}

fn text(v: Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn parse_error_object(item: Value) -> Option<JsonApiError> {
    let mut obj = match item {
        Value::Object(obj) => obj,
        Value::String(s) => {
            return Some(JsonApiError {
                detail: Some(s),
                ..JsonApiError::default()
            });
        }
        _ => return None,
    };
    let mut take = |key: &str| obj.remove(key);
    let status = take("status").and_then(text);
    let title = take("title").and_then(text);
    let code = take("code").and_then(text);
    let detail = take("detail").and_then(text);
    let details = take("details").and_then(text);
    let source = take("source");
    let meta = take("meta");
    let mut extra: BTreeMap<String, Value> = obj.into_iter().collect();

    let source_pointer = split_off(source, "pointer", "source", &mut extra);
    let support_id = split_off(meta, "supportId", "meta", &mut extra);
    Some(JsonApiError {
        status,
        title,
        code,
        detail,
        details,
        source_pointer,
        support_id,
        extra,
    })
}

/// Takes `key` out of a nested object; what else the object holds is kept
/// in `extra` under `name`.
fn split_off(
    nested: Option<Value>,
    key: &str,
    name: &str,
    extra: &mut BTreeMap<String, Value>,
) -> Option<String> {
    match nested {
        None | Some(Value::Null) => None,
        Some(Value::Object(mut o)) => {
            let found = o.remove(key).and_then(text);
            if !o.is_empty() {
                extra.insert(name.to_owned(), Value::Object(o));
            }
            found
        }
        Some(other) => {
            extra.insert(name.to_owned(), other);
            None
        }
    }
}

/// One readable line per error object: `title: detail (details)`, without
/// repeats.
fn message_of(e: &JsonApiError) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for p in [&e.title, &e.detail, &e.details].into_iter().flatten() {
        let p = p.trim();
        if !p.is_empty() && !parts.contains(&p) {
            parts.push(p);
        }
    }
    let mut out = match parts.as_slice() {
        [] => e.code.clone()?,
        [one] => (*one).to_owned(),
        [first, second] => format!("{first}: {second}"),
        [first, second, rest @ ..] => format!("{first}: {second} ({})", rest.join("; ")),
    };
    if let Some(pointer) = &e.source_pointer {
        out.push_str(&format!(" [at {pointer}]"));
    }
    Some(out)
}

/// `/data/attributes/expiration` → `expiration`; another pointer is kept
/// whole (`base` for an empty one).
fn field_of(pointer: &str) -> String {
    let trimmed = pointer
        .strip_prefix("/data/attributes/")
        .unwrap_or(pointer)
        .trim_start_matches('/');
    if trimmed.is_empty() {
        "base".to_owned()
    } else {
        trimmed.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use reqwest::header::HeaderMap;

    fn response(status: u16, body: &str) -> Response {
        Response {
            service: Service::Unit,
            status,
            headers: HeaderMap::new(),
            body: Bytes::from(body.to_owned()),
            earlier_attempt_unanswered: false,
        }
    }

    #[test]
    fn error_objects_keep_every_key() {
        let body = r#"{"errors":[{"status":422,"title":"Invalid","code":"invalid_value",
            "detail":"must be later","source":{"pointer":"/data/attributes/expiration","parameter":"x"},
            "meta":{"supportId":"abc-1","trace":7},"links":{"about":"u"}}, "plain text", 5]}"#;
        let err = error_from(&response(422, body));
        let api = err.api_error().unwrap();
        assert_eq!(api.errors.len(), 2);
        let e = &api.errors[0];
        assert_eq!(e.status.as_deref(), Some("422"));
        assert_eq!(
            e.source_pointer.as_deref(),
            Some("/data/attributes/expiration")
        );
        assert_eq!(e.support_id.as_deref(), Some("abc-1"));
        assert_eq!(e.extra["source"], serde_json::json!({"parameter": "x"}));
        assert_eq!(e.extra["meta"], serde_json::json!({"trace": 7}));
        assert_eq!(e.extra["links"], serde_json::json!({"about": "u"}));
        assert_eq!(
            api.messages,
            [
                "Invalid: must be later [at /data/attributes/expiration]",
                "plain text"
            ]
        );
        assert_eq!(api.field_errors["expiration"], ["must be later"]);
        assert_eq!(api.request_id.as_deref(), Some("abc-1"));
    }

    #[test]
    fn json_without_errors_is_summarised() {
        let err = error_from(&response(500, r#"{"message":"boom"}"#));
        assert_eq!(err.messages(), [r#"{"message":"boom"}"#]);
        let err = error_from(&response(503, ""));
        assert!(err.messages().is_empty());
        assert_eq!(err.status(), Some(503));
    }

    #[test]
    fn pointers_to_fields() {
        assert_eq!(field_of("/data/attributes/scope"), "scope");
        assert_eq!(field_of("/data/type"), "data/type");
        assert_eq!(field_of(""), "base");
    }
}
