//! A stateful fake of Unit's Org API tokens (JSON:API dialect).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};
use wiremock::{MockServer, Request};

use super::engine::{self, Dialect, Reply, Shared, bearer, common_fake_methods, format_time, lock};

const JSON_API: &str = "application/vnd.api+json";
const SECRET_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const KNOWN_ATTRIBUTES: [&str; 5] = [
    "description",
    "scope",
    "expiration",
    "sourceIp",
    "resources",
];

/// An endpoint of the Unit fake, to aim a [`Fault`](super::Fault) at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnitOp {
    /// `POST /users/{userId}/api-tokens`.
    Create,
    /// `GET /users/{userId}/api-tokens`.
    List,
    /// `DELETE /users/{userId}/api-tokens/{tokenId}`.
    Revoke,
    /// Every request, whatever its path.
    Any,
}

impl UnitOp {
    /// The name used in [`LoggedRequest::operation`](super::LoggedRequest::operation); `None` for [`UnitOp::Any`].
    pub fn name(self) -> Option<&'static str> {
        match self {
            UnitOp::Create => Some("create"),
            UnitOp::List => Some("list"),
            UnitOp::Revoke => Some("revoke"),
            UnitOp::Any => None,
        }
    }
}

/// How the Unit fake answers a successful revoke. Unit documents a 200 with
/// the token; published SDKs also expect 200 with `data: null` and 204, and
/// a client must accept all three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RevokeAnswer {
    /// 200 with the token as it was (without its secret). The default.
    #[default]
    Token,
    /// 200 with `{"data": null}`.
    Null,
    /// 204 with no body.
    NoContent,
}

/// A token held by the Unit fake.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct UnitToken {
    /// Its id, digits.
    pub id: String,
    /// What it is for.
    pub description: String,
    /// Its scopes, separated by single spaces.
    pub scope: String,
    /// When it stops working.
    pub expiration: DateTime<Utc>,
    /// The IP addresses allowed to use it, comma-separated.
    pub source_ip: Option<String>,
    /// The cards or accounts it is restricted to, as sent.
    pub resources: Option<Value>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// The secret; the fake accepts it as a credential until revoked or
    /// expired.
    pub secret: SecretString,
}

/// A token to put into the Unit fake with [`UnitFake::insert_token`].
///
/// ```
/// use api_tokens::testing::UnitTokenSeed;
///
/// let seed = UnitTokenSeed::new("Seeded").scope("customers accounts");
/// # let _ = seed;
/// ```
#[derive(Debug, Clone)]
pub struct UnitTokenSeed {
    description: String,
    scope: String,
    expiration: Option<DateTime<Utc>>,
    source_ip: Option<String>,
    secret: Option<SecretString>,
}

impl UnitTokenSeed {
    /// A token with this description, scope `customers`, expiring in 30
    /// days, with a random secret.
    pub fn new(description: impl Into<String>) -> Self {
        UnitTokenSeed {
            description: description.into(),
            scope: "customers".into(),
            expiration: None,
            source_ip: None,
            secret: None,
        }
    }

    /// Its scopes, separated by spaces.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = scope.into();
        self
    }

    /// When it expires (may be in the past, for a token that no longer works).
    pub fn expiration(mut self, at: DateTime<Utc>) -> Self {
        self.expiration = Some(at);
        self
    }

    /// The IP addresses allowed to use it, comma-separated.
    pub fn source_ip(mut self, ips: impl Into<String>) -> Self {
        self.source_ip = Some(ips.into());
        self
    }

    /// Its secret, instead of a random one.
    pub fn secret(mut self, secret: SecretString) -> Self {
        self.secret = Some(secret);
        self
    }
}

/// A stateful fake of Unit's Org API tokens on a loopback wiremock server.
///
/// It keeps tokens in memory and answers as Unit does:
///
/// - **Credentials**: `Authorization: Bearer`. The fake's own
///   [`token`](UnitFake::token) works, and so does the secret of every
///   token it holds (created or seeded) until the token is revoked or its
///   expiration passes on the fake's clock
///   ([`advance_clock`](UnitFake::advance_clock)). Anything else: a 401
///   JSON:API error document.
/// - **Answers**: JSON:API documents with `application/vnd.api+json`;
///   create 201 with a random secret shown once; list without secrets;
///   revoke 200 (or as [`set_revoke_answer`](UnitFake::set_revoke_answer)
///   says), then 404; 400 / 404 / 405 / 415 error documents, with
///   `source.pointer` for invalid bodies. Create refuses a missing or empty
///   `description`, a `scope` that is not lower-case words separated by
///   single spaces, an `expiration` not written `YYYY-MM-DDTHH:MM:SS.mmmZ`
///   or not in the future, a `sourceIp` with spaces, malformed `resources`
///   and any unknown member.
/// - **Rate limit**, when asked ([`rate_limit`](UnitFake::rate_limit)):
///   counted per client (every request together, as Unit counts per IP);
///   past it, a 429 JSON:API error document without rate-limit headers or
///   `Retry-After`, as Unit documents none.
///
/// ```
/// use api_tokens::testing::{UnitFake, UnitOp};
/// use api_tokens::unit::{self, CreateApiToken, Scope};
/// use chrono::{Duration, Utc};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), api_tokens::Error> {
/// let fake = UnitFake::start().await;
/// fake.expect(UnitOp::Create).times(1);
/// let client = unit::Client::builder()
///     .token(fake.token().clone())
///     .base_url(fake.uri())
///     .build()?;
/// let tokens = client.org_api_tokens(fake.user_id());
/// let created = tokens
///     .create(CreateApiToken::new("ci", [Scope::Customers], Utc::now() + Duration::days(30)))
///     .await?;
/// assert_eq!(fake.tokens()[0].id, created.id.as_str());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct UnitFake {
    server: MockServer,
    engine: Shared<UnitState>,
    token: SecretString,
    user_id: String,
}

/// Settings of a [`UnitFake`] before it starts.
#[derive(Debug, Clone)]
pub struct UnitFakeBuilder {
    token: Option<SecretString>,
    user_id: String,
    options: engine::Options,
}

impl UnitFakeBuilder {
    /// The credential the fake accepts (default: a random one).
    pub fn token(mut self, token: SecretString) -> Self {
        self.token = Some(token);
        self
    }

    /// The user whose tokens the fake holds (default `"2"`).
    pub fn user_id(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = user_id.into();
        self
    }

    /// Starts the fake with a rate limit: at most `limit` requests in any
    /// window of `per`; see [`UnitFake::rate_limit`].
    pub fn rate_limit(mut self, limit: u32, per: std::time::Duration) -> Self {
        self.options.rate_limit = Some((limit, per));
        self
    }

    /// Starts the fake.
    pub async fn start(self) -> UnitFake {
        let token = self.token.unwrap_or_else(new_secret);
        let state = UnitState {
            user_id: self.user_id.clone(),
            master: token.clone(),
            tokens: BTreeMap::new(),
            next_id: 1,
            revoke_answer: RevokeAnswer::default(),
        };
        let (server, engine) = engine::start(state, self.options).await;
        UnitFake {
            server,
            engine,
            token,
            user_id: self.user_id,
        }
    }
}

impl UnitFake {
    /// Starts a fake with a random token and user `"2"`.
    pub async fn start() -> UnitFake {
        UnitFake::builder().start().await
    }

    /// A builder to choose the token and the user id.
    pub fn builder() -> UnitFakeBuilder {
        UnitFakeBuilder {
            token: None,
            user_id: "2".into(),
            options: engine::Options::default(),
        }
    }

    /// The credential the fake accepts as `Authorization: Bearer …`.
    pub fn token(&self) -> &SecretString {
        &self.token
    }

    /// The user whose tokens live under `/users/{userId}/api-tokens`; any
    /// other user id answers 404.
    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// The tokens the fake holds now, by id.
    pub fn tokens(&self) -> Vec<UnitToken> {
        lock(&self.engine)
            .dialect
            .tokens
            .values()
            .cloned()
            .collect()
    }

    /// Puts a token into the fake, as if created earlier, and returns it
    /// with its id.
    pub fn insert_token(&self, seed: UnitTokenSeed) -> UnitToken {
        let mut engine = lock(&self.engine);
        let now = engine.now();
        let state = &mut engine.dialect;
        let id = state.next_id;
        state.next_id += 1;
        let token = UnitToken {
            id: id.to_string(),
            description: seed.description,
            scope: seed.scope,
            expiration: seed.expiration.unwrap_or(now + TimeDelta::days(30)),
            source_ip: seed.source_ip,
            resources: None,
            created_at: now,
            secret: seed.secret.unwrap_or_else(new_secret),
        };
        state.tokens.insert(id, token.clone());
        token
    }

    /// Chooses how a successful revoke answers (default: 200 with the token).
    pub fn set_revoke_answer(&self, answer: RevokeAnswer) {
        lock(&self.engine).dialect.revoke_answer = answer;
    }

    common_fake_methods!(UnitFake, UnitOp);
}

impl Drop for UnitFake {
    /// Checks the expectations (see [`UnitFake::expect`]): panics if one is
    /// not met, unless the thread is already panicking.
    fn drop(&mut self) {
        engine::verify_on_drop(&self.engine);
    }
}

fn new_secret() -> SecretString {
    SecretString::from(format!(
        "v2.public.fake.{}",
        engine::random_string(SECRET_ALPHABET, 80)
    ))
}

struct UnitState {
    user_id: String,
    master: SecretString,
    tokens: BTreeMap<u64, UnitToken>,
    next_id: u64,
    revoke_answer: RevokeAnswer,
}

/// The endpoint of Unit's API a request reaches.
pub(crate) fn operation(method: &str, path: &str) -> Option<&'static str> {
    match (method, segments(path).as_slice()) {
        ("POST", ["users", _, "api-tokens"]) => Some("create"),
        ("GET", ["users", _, "api-tokens"]) => Some("list"),
        ("DELETE", ["users", _, "api-tokens", _]) => Some("revoke"),
        _ => None,
    }
}

fn segments(path: &str) -> Vec<&str> {
    path.trim_start_matches('/').split('/').collect()
}

fn error(
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

fn errors(status: u16, errors: Vec<Value>) -> Reply {
    Reply::json(status, JSON_API, &json!({ "errors": errors }))
}

fn invalid(detail: &str, pointer: &str) -> Value {
    error(
        400,
        "Bad Request",
        Some("invalid_value"),
        detail,
        Some(pointer),
    )
}

fn reason(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error")
}

impl UnitState {
    fn authorized(&self, request: &Request, now: DateTime<Utc>) -> bool {
        let Some(presented) = bearer(request) else {
            return false;
        };
        engine::same_secret(presented, self.master.expose_secret())
            || self.tokens.values().any(|t| {
                t.expiration > now && engine::same_secret(presented, t.secret.expose_secret())
            })
    }

    fn document(token: &UnitToken, with_secret: bool) -> Value {
        let mut attributes = Map::new();
        attributes.insert("createdAt".into(), json!(format_time(token.created_at)));
        attributes.insert("description".into(), json!(token.description));
        attributes.insert("expiration".into(), json!(format_time(token.expiration)));
        if let Some(ips) = &token.source_ip {
            attributes.insert("sourceIp".into(), json!(ips));
        }
        if with_secret {
            attributes.insert("token".into(), json!(token.secret.expose_secret()));
        }
        json!({ "id": token.id, "type": "apiToken", "attributes": attributes })
    }

    fn create(&mut self, request: &Request, now: DateTime<Utc>) -> Reply {
        let content_type = request
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let media = content_type.split(';').next().unwrap_or("").trim();
        if !media.eq_ignore_ascii_case(JSON_API) && !media.eq_ignore_ascii_case("application/json")
        {
            return errors(
                415,
                vec![error(
                    415,
                    "Unsupported Media Type",
                    None,
                    "The request body must be application/vnd.api+json",
                    None,
                )],
            );
        }
        let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
            return errors(
                400,
                vec![error(
                    400,
                    "Bad Request",
                    None,
                    "The request body is not valid JSON",
                    None,
                )],
            );
        };
        let checked = match check_create(&body, now) {
            Ok(checked) => checked,
            Err(found) => return errors(400, found),
        };
        let id = self.next_id;
        self.next_id += 1;
        let token = UnitToken {
            id: id.to_string(),
            description: checked.description,
            scope: checked.scope,
            expiration: checked.expiration,
            source_ip: checked.source_ip,
            resources: checked.resources,
            created_at: now,
            secret: new_secret(),
        };
        let reply = Reply::json(
            201,
            JSON_API,
            &json!({ "data": Self::document(&token, true) }),
        );
        self.tokens.insert(id, token);
        reply
    }

    fn revoke(&mut self, token_id: &str) -> Reply {
        let removed = token_id
            .parse::<u64>()
            .ok()
            .filter(|_| !token_id.starts_with('0') && !token_id.starts_with('+'))
            .and_then(|id| self.tokens.remove(&id));
        let Some(token) = removed else {
            return errors(
                404,
                vec![error(
                    404,
                    "Not Found",
                    Some("not_found"),
                    &format!("API token {token_id} not found"),
                    None,
                )],
            );
        };
        match self.revoke_answer {
            RevokeAnswer::Token => Reply::json(
                200,
                JSON_API,
                &json!({ "data": Self::document(&token, false) }),
            ),
            RevokeAnswer::Null => Reply::json(200, JSON_API, &json!({ "data": null })),
            RevokeAnswer::NoContent => Reply::empty(204),
        }
    }
}

impl Dialect for UnitState {
    fn operation(&self, method: &str, path: &str) -> Option<&'static str> {
        operation(method, path)
    }

    fn handle(&mut self, request: &Request, now: DateTime<Utc>) -> Reply {
        if !self.authorized(request, now) {
            return errors(
                401,
                vec![error(
                    401,
                    "Unauthorized",
                    None,
                    "The bearer token is invalid or expired",
                    None,
                )],
            );
        }
        let path = request.url.path();
        let method = request.method.as_str();
        let segments = segments(path);
        let user = match segments.as_slice() {
            ["users", user, "api-tokens"] | ["users", user, "api-tokens", _] => *user,
            _ => {
                return errors(
                    404,
                    vec![error(
                        404,
                        "Not Found",
                        Some("not_found"),
                        "No such endpoint",
                        None,
                    )],
                );
            }
        };
        if user != self.user_id {
            return errors(
                404,
                vec![error(
                    404,
                    "Not Found",
                    Some("not_found"),
                    &format!("User {user} not found"),
                    None,
                )],
            );
        }
        match (method, segments.as_slice()) {
            ("POST", [_, _, _]) => self.create(request, now),
            ("GET", [_, _, _]) => {
                let data: Vec<Value> = self
                    .tokens
                    .values()
                    .map(|t| Self::document(t, false))
                    .collect();
                Reply::json(200, JSON_API, &json!({ "data": data }))
            }
            ("DELETE", [_, _, _, token_id]) => self.revoke(token_id),
            _ => errors(
                405,
                vec![error(
                    405,
                    "Method Not Allowed",
                    None,
                    &format!("{method} is not allowed on {path}"),
                    None,
                )],
            ),
        }
    }

    fn presented<'r>(&self, request: &'r Request) -> Option<&'r str> {
        bearer(request)
    }

    /// Unit limits by client IP: every request counts together.
    const LIMIT_PER_CREDENTIAL: bool = false;
    /// Unit documents no rate-limit headers.
    const LIMIT_HEADERS: bool = false;

    fn error_reply(&self, status: u16) -> Reply {
        let mut error = error(status, reason(status), None, reason(status), None);
        if status >= 500 {
            error["meta"] = json!({ "supportId": engine::random_string(b"0123456789abcdef", 32) });
        }
        errors(status, vec![error])
    }
}

struct CheckedCreate {
    description: String,
    scope: String,
    expiration: DateTime<Utc>,
    source_ip: Option<String>,
    resources: Option<Value>,
}

/// Checks a create document as Unit does, collecting every error.
fn check_create(body: &Value, now: DateTime<Utc>) -> Result<CheckedCreate, Vec<Value>> {
    let mut found = Vec::new();
    let Some(top) = body.as_object() else {
        return Err(vec![invalid("The document must be a JSON object", "")]);
    };
    for key in top.keys().filter(|k| *k != "data") {
        found.push(invalid(
            &format!("Unknown member `{key}`"),
            &format!("/{key}"),
        ));
    }
    let Some(data) = top.get("data").and_then(Value::as_object) else {
        found.push(invalid("`data` is required and must be an object", "/data"));
        return Err(found);
    };
    for key in data.keys().filter(|k| *k != "type" && *k != "attributes") {
        found.push(invalid(
            &format!("Unknown member `{key}`"),
            &format!("/data/{key}"),
        ));
    }
    if data.get("type").and_then(Value::as_str) != Some("apiToken") {
        found.push(invalid("`type` must be `apiToken`", "/data/type"));
    }
    let Some(attributes) = data.get("attributes").and_then(Value::as_object) else {
        found.push(invalid(
            "`attributes` is required and must be an object",
            "/data/attributes",
        ));
        return Err(found);
    };
    for key in attributes
        .keys()
        .filter(|k| !KNOWN_ATTRIBUTES.contains(&k.as_str()))
    {
        found.push(invalid(
            &format!("Unknown attribute `{key}`"),
            &format!("/data/attributes/{key}"),
        ));
    }

    let description = match attributes.get("description").and_then(Value::as_str) {
        Some(d) if !d.trim().is_empty() => Some(d.to_owned()),
        _ => {
            found.push(invalid(
                "`description` is required and must be a non-empty string",
                "/data/attributes/description",
            ));
            None
        }
    };

    let scope = match attributes.get("scope").and_then(Value::as_str) {
        Some(s) if is_scope_list(s) => Some(s.to_owned()),
        _ => {
            found.push(invalid(
                "`scope` is required: scopes of lower-case letters and `-`, separated by single spaces",
                "/data/attributes/scope",
            ));
            None
        }
    };

    let expiration = match attributes
        .get("expiration")
        .and_then(Value::as_str)
        .map(parse_expiration)
    {
        Some(Some(at)) if at > now => Some(at),
        Some(Some(_)) => {
            found.push(invalid(
                "`expiration` must be in the future",
                "/data/attributes/expiration",
            ));
            None
        }
        _ => {
            found.push(invalid(
                "`expiration` is required, written YYYY-MM-DDTHH:MM:SS.mmmZ",
                "/data/attributes/expiration",
            ));
            None
        }
    };

    let source_ip = match attributes.get("sourceIp") {
        None => None,
        Some(Value::String(ips)) if is_ip_list(ips) => Some(ips.clone()),
        Some(_) => {
            found.push(invalid(
                "`sourceIp` must be IP addresses separated by commas, no spaces allowed",
                "/data/attributes/sourceIp",
            ));
            None
        }
    };

    let resources = attributes.get("resources").cloned();
    if let Some(resources) = &resources {
        check_resources(resources, &mut found);
    }

    match (description, scope, expiration) {
        (Some(description), Some(scope), Some(expiration)) if found.is_empty() => {
            Ok(CheckedCreate {
                description,
                scope,
                expiration,
                source_ip,
                resources,
            })
        }
        _ => Err(found),
    }
}

fn check_resources(resources: &Value, found: &mut Vec<Value>) {
    const AT: &str = "/data/attributes/resources";
    let Some(items) = resources.as_array().filter(|a| !a.is_empty()) else {
        found.push(invalid("`resources` must be a non-empty array", AT));
        return;
    };
    for (i, item) in items.iter().enumerate() {
        let at = format!("{AT}/{i}");
        let Some(item) = item.as_object() else {
            found.push(invalid("a resource must be an object", &at));
            continue;
        };
        for key in item.keys().filter(|k| *k != "type" && *k != "ids") {
            found.push(invalid(
                &format!("Unknown member `{key}`"),
                &format!("{at}/{key}"),
            ));
        }
        if !matches!(
            item.get("type").and_then(Value::as_str),
            Some("card" | "account")
        ) {
            found.push(invalid(
                "`type` must be `card` or `account`",
                &format!("{at}/type"),
            ));
        }
        let ids_ok = item
            .get("ids")
            .and_then(Value::as_array)
            .filter(|ids| !ids.is_empty())
            .is_some_and(|ids| ids.iter().all(|id| id.as_str().is_some_and(is_identifier)));
        if !ids_ok {
            found.push(invalid(
                "`ids` must be a non-empty array of ids",
                &format!("{at}/ids"),
            ));
        }
    }
}

fn is_identifier(s: &str) -> bool {
    s.starts_with(|c: char| ('1'..='9').contains(&c)) && s.bytes().all(|b| b.is_ascii_digit())
}

/// `^[a-z-]+( [a-z-]+)*$`
fn is_scope_list(s: &str) -> bool {
    s.split(' ')
        .all(|word| !word.is_empty() && word.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'))
}

/// `^[^\s,]+(,[^\s,]+)*$`
fn is_ip_list(s: &str) -> bool {
    s.split(',')
        .all(|ip| !ip.is_empty() && !ip.chars().any(char::is_whitespace))
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` and nothing else, as a real moment.
fn parse_expiration(s: &str) -> Option<DateTime<Utc>> {
    const SHAPE: &[u8] = b"dddd-dd-ddTdd:dd:dd.dddZ";
    let bytes = s.as_bytes();
    let shaped = bytes.len() == SHAPE.len()
        && bytes.iter().zip(SHAPE).all(|(b, want)| match want {
            b'd' => b.is_ascii_digit(),
            other => b == other,
        });
    if !shaped {
        return None;
    }
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.3fZ")
        .ok()
        .map(|naive| naive.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiration_shape_is_strict() {
        assert!(parse_expiration("2030-07-01T13:47:17.000Z").is_some());
        for bad in [
            "2030-07-01T13:47:17Z",
            "2030-07-01T13:47:17.000+00:00",
            "2030-07-01 13:47:17.000Z",
            "2030-13-01T13:47:17.000Z",
            "2030-07-01T13:47:17.0000Z",
        ] {
            assert!(parse_expiration(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn scope_and_ip_patterns() {
        assert!(is_scope_list("customers applications cards-write"));
        assert!(!is_scope_list("customers  applications"));
        assert!(!is_scope_list("Customers"));
        assert!(!is_scope_list(""));
        assert!(is_ip_list("192.168.1.1,10.0.0.1"));
        assert!(!is_ip_list("192.168.1.1, 10.0.0.1"));
        assert!(!is_ip_list("192.168.1.1,"));
    }
}
