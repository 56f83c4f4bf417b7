//! The JSON:API envelope of Unit's Org API tokens, both ways, the serde
//! shapes of the tokens, and Unit's error document.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::de::{self, Deserializer};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

use super::envelope::{Document, Resource, TokenType};
use super::model::{
    ApiToken, NewApiToken, SourceIp, TokenId, UNIT_TIME, WireAttributes, source_ip_list,
};
use crate::error::{ApiError, Error, Result, Service};
use crate::error_object::ErrorObject;
use crate::json::{Field, Object, Secret, Skip, object};
use crate::transport::Response;

/// The media type of every request and answer body.
pub(crate) const MEDIA_TYPE: &str = "application/vnd.api+json";

/// The attributes of a token, as Unit writes them.
#[derive(Serialize, Deserialize)]
#[serde(
    rename_all = "camelCase",
    bound(
        serialize = "S: Serialize + Field",
        deserialize = "S: Deserialize<'de> + Field"
    )
)]
struct Attributes<S> {
    #[serde(deserialize_with = "crate::time::utc", serialize_with = "unit_time")]
    created_at: DateTime<Utc>,
    #[serde(
        default,
        deserialize_with = "description",
        skip_serializing_if = "Option::is_none"
    )]
    description: Option<String>,
    #[serde(
        default,
        deserialize_with = "expiration",
        serialize_with = "option_unit_time",
        skip_serializing_if = "Option::is_none"
    )]
    expiration: Option<DateTime<Utc>>,
    #[serde(
        default,
        with = "source_ip_list",
        skip_serializing_if = "Vec::is_empty"
    )]
    source_ip: Vec<SourceIp>,
    /// The secret: `Secret` when reading a create's answer, `Skip` for a
    /// listed token (a secret should one ever be listed is not kept).
    #[serde(default, skip_serializing_if = "Field::is_skip")]
    token: S,
}

/// A date as Unit writes it (RFC 3339), through the crate's fast reader.
struct UnitTime(DateTime<Utc>);

impl<'de> Deserialize<'de> for UnitTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        crate::time::utc(d).map(UnitTime)
    }
}

/// A date as Unit writes it, `YYYY-MM-DDTHH:MM:SS.mmmZ` (as a create
/// request sends an expiration): a token serializes as it was listed.
fn unit_time<S: Serializer>(t: &DateTime<Utc>, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(&t.format(UNIT_TIME))
}

/// [`unit_time`] of a date that is there (`None` is skipped).
fn option_unit_time<S: Serializer>(
    t: &Option<DateTime<Utc>>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match t {
        Some(t) => unit_time(t, s),
        None => s.serialize_none(),
    }
}

/// `description`: text, or left out; never `null`.
fn description<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<String>, D::Error> {
    crate::json::not_null(d, "description").map(Some)
}

/// `expiration`: a date, or left out for a token that never expires;
/// never `null`.
fn expiration<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<DateTime<Utc>>, D::Error> {
    crate::json::not_null::<D, UnitTime>(d, "expiration").map(|t| Some(t.0))
}

impl<S> Attributes<S> {
    fn into_token(self, id: TokenId) -> (ApiToken, S) {
        let mut token = ApiToken::new(id, self.created_at);
        token.description = self.description;
        token.expiration = self.expiration;
        token.source_ips = self.source_ip;
        (token, self.token)
    }
}

fn attributes_of<S: Default>(t: &ApiToken, token: S) -> Attributes<S> {
    Attributes {
        created_at: t.created_at,
        description: t.description.clone(),
        expiration: t.expiration,
        source_ip: t.source_ips.clone(),
        token,
    }
}

fn missing_id<E: de::Error>() -> E {
    E::custom("a token resource without an `id`")
}

impl Serialize for ApiToken {
    /// The JSON:API resource object, as Unit lists it.
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut r = s.serialize_struct("Resource", 3)?;
        r.serialize_field("type", &TokenType::ApiToken)?;
        r.serialize_field("id", &self.id)?;
        r.serialize_field("attributes", &attributes_of(self, Skip))?;
        r.end()
    }
}

impl<'de> Deserialize<'de> for ApiToken {
    /// A JSON:API resource object of type `apiToken`; only an object.
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let r: Resource<Attributes<Skip>> = object(d)?;
        let id = r.id.ok_or_else(missing_id::<D::Error>)?;
        Ok(r.attributes.into_token(id).0)
    }
}

impl Serialize for NewApiToken {
    /// As [`ApiToken`]: the secret is left out. See
    /// [`NewApiToken::with_secret`].
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.details.serialize(s)
    }
}

impl Serialize for crate::token::WithSecret<'_, NewApiToken> {
    /// The resource object of Unit's create answer, the secret under
    /// `attributes.token`.
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let t = self.0;
        let mut r = s.serialize_struct("Resource", 3)?;
        r.serialize_field("type", &TokenType::ApiToken)?;
        r.serialize_field("id", &t.details.id)?;
        r.serialize_field(
            "attributes",
            &attributes_of(&t.details, Secret(Some(t.token.clone()))),
        )?;
        r.end()
    }
}

impl<'de> Deserialize<'de> for NewApiToken {
    /// The resource object of a create answer: `attributes.token` is
    /// required and may not be empty.
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let r: Resource<Attributes<Secret>> = object(d)?;
        let id = r.id.ok_or_else(missing_id::<D::Error>)?;
        let (details, secret) = r.attributes.into_token(id);
        let token = secret
            .0
            .ok_or_else(|| de::Error::custom("the created token's secret (`token`) is missing"))?;
        Ok(NewApiToken::new(details, token))
    }
}

/// The body of a create request: `{"data":{"type":"apiToken","attributes":{…}}}`.
pub(crate) fn create_body(attributes: &WireAttributes<'_>) -> Result<Vec<u8>> {
    serde_json::to_vec(&Document {
        data: Resource {
            kind: TokenType::ApiToken,
            id: None,
            attributes,
        },
    })
    // Only strings and lists of strings are written, which cannot fail; the
    // error is mapped all the same rather than unwrapped.
    .map_err(|e| Error::invalid("request", format!("the request could not be written: {e}")))
}

/// A 2xx answer to create: the token with its secret, which must be there
/// and not empty.
pub(crate) fn decode_created(resp: &Response) -> Result<NewApiToken> {
    let doc = resp.json::<Object<Document<Object<Resource<Attributes<Secret>>>>>>()?;
    let resource = doc.0.data.0;
    let decode_error = |at: &str, reason: &str| Error::Decode {
        request_id: None,
        service: Service::Unit,
        status: resp.status,
        at: at.to_owned(),
        reason: reason.to_owned(),
    };
    let id = resource
        .id
        .ok_or_else(|| decode_error("data.id", "a token resource without an `id`"))?;
    let (details, secret) = resource.attributes.into_token(id);
    let token = secret.0.ok_or_else(|| {
        decode_error(
            "data.attributes.token",
            "the created token's secret is missing",
        )
    })?;
    Ok(NewApiToken::new(details, token))
}

/// A 2xx answer to list.
pub(crate) fn decode_list(resp: &Response) -> Result<Vec<ApiToken>> {
    resp.json::<Object<Document<Vec<ApiToken>>>>()
        .map(|d| d.0.data)
}

/// The document of a 200 revoke: `data` is required (the contract's
/// `ApiTokenDocument`), the token or `null`. Missing, it reads as `None`;
/// `null` as `Some(None)`.
#[derive(Deserialize)]
struct Revoked {
    #[serde(default, deserialize_with = "present")]
    data: Option<Option<ApiToken>>,
}

/// A member that is there, `null` included.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> std::result::Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

/// Only whether an object has an `errors` member that is not `null`.
#[derive(Deserialize)]
struct Errors {
    #[serde(default)]
    errors: Option<de::IgnoredAny>,
}

/// A 2xx answer to revoke: the token after the operation, or nothing (204
/// or another answer without a body, `{"data": null}`). A JSON:API error
/// document is the service's error, with its messages and support id
/// ([`Error::Api`] under the status it came with); any other document
/// without `data` (`{}` included) is [`Error::Decode`] at `data`.
pub(crate) fn decode_revoked(resp: &Response) -> Result<Option<ApiToken>> {
    if resp.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    if let Ok(Object(Errors { errors: Some(_) })) = serde_json::from_slice(&resp.body) {
        return Err(error_from(resp));
    }
    match resp.json::<Object<Revoked>>()?.0.data {
        Some(token) => Ok(token),
        None => Err(Error::Decode {
            service: Service::Unit,
            status: resp.status,
            at: "data".to_owned(),
            request_id: None,
            reason: "a revoke answer without `data`: expected the token after the operation \
                     or `null`"
                .to_owned(),
        }),
    }
}

/// A 2xx answer to the revoke of `asked`: as [`decode_revoked`], and a
/// token given back must be that one. An answer about another token says
/// nothing of the one revoked, and is refused at `data.id`.
pub(crate) fn decode_revoked_token(resp: &Response, asked: &TokenId) -> Result<Option<ApiToken>> {
    let token = decode_revoked(resp)?;
    match token {
        // The revoke was answered 200: the token is revoked. An answer
        // that describes another token (a mock answering its example) is
        // not taken for this one's details, and never for its id.
        Some(t) if t.id != *asked => {
            tracing::warn!(service = %Service::Unit, asked = %asked, answered = %t.id,
                "the revoke was answered with another token's details; they are not kept");
            Ok(None)
        }
        other => Ok(other),
    }
}

/// One error object of a JSON:API error document: the crate's neutral
/// [`ErrorObject`](crate::error::ErrorObject), read from and written in
/// JSON:API's shape (`source.pointer`, `meta.supportId`, every other member
/// kept). The name stays for code written against earlier releases.
pub type JsonApiError = ErrorObject;

impl Serialize for JsonApiError {
    /// The error object as JSON:API writes it.
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut obj = serde_json::Map::new();
        for (k, v) in &self.extra {
            obj.insert(k.clone(), v.clone());
        }
        let mut put = |k: &str, v: &Option<String>| {
            if let Some(v) = v {
                obj.insert(k.to_owned(), Value::String(v.clone()));
            }
        };
        put("status", &self.status);
        put("title", &self.title);
        put("code", &self.code);
        put("detail", &self.detail);
        put("details", &self.details);
        if let Some(p) = &self.source_pointer {
            let source = obj
                .entry("source")
                .or_insert_with(|| Value::Object(serde_json::Map::new()));
            if let Value::Object(o) = source {
                o.insert("pointer".to_owned(), Value::String(p.clone()));
            }
        }
        if let Some(id) = &self.support_id {
            let meta = obj
                .entry("meta")
                .or_insert_with(|| Value::Object(serde_json::Map::new()));
            if let Value::Object(o) = meta {
                o.insert("supportId".to_owned(), Value::String(id.clone()));
            }
        }
        Value::Object(obj).serialize(s)
    }
}

impl<'de> Deserialize<'de> for JsonApiError {
    /// An error object (or, leniently, a bare string as its `detail`).
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        parse_error_object(Value::deserialize(d)?)
            .ok_or_else(|| de::Error::custom("a JSON:API error object"))
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

/// The error objects of `{"errors": [...]}`, or of a bare array of error
/// objects (the shape of Unit's shared published error schema); `None`
/// for any other shape.
fn parse_error_document(doc: Value) -> Option<Vec<JsonApiError>> {
    let items = match doc {
        Value::Array(items) => items,
        Value::Object(mut top) => match top.remove("errors") {
            Some(Value::Array(items)) => items,
            _ => return None,
        },
        _ => return None,
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
        Response::read(
            Service::Unit,
            status,
            HeaderMap::new(),
            Bytes::from(body.to_owned()),
        )
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
