//! A stateful fake of Unit's Org API tokens (JSON:API dialect).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, SubsecRound, TimeDelta, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};
use wiremock::{MockServer, Request};

use crate::unit::{self, ResourceRestriction, Scope, SourceIp, TokenId, UserId};

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

/// A token held by the Unit fake, in the crate's types: its fields compare
/// with those of the client's [`unit::ApiToken`] and [`unit::NewApiToken`]
/// as they are, and [`unit::ApiToken::from`] gives the token as the fake
/// lists it.
///
/// Times are kept to the millisecond, as the fake writes them, so that a
/// token read back through a client is equal to the one held.
///
/// ```
/// use api_tokens::testing::{UnitFake, UnitTokenSeed};
/// use api_tokens::unit::{self, Scope, SourceIp};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), api_tokens::Error> {
/// let fake = UnitFake::start().await;
/// let seeded = fake.insert_token(
///     UnitTokenSeed::new("reporting")
///         .scope(Scope::Statements)
///         .source_ip("10.0.0.0/8".parse::<SourceIp>()?),
/// );
/// let client = unit::Client::builder()
///     .token(fake.token().clone())
///     .base_url(fake.uri())
///     .build()?;
/// let listed = client.org_api_tokens(fake.user_id()).list().await?;
/// assert_eq!(listed[0].id, seeded.id);
/// assert_eq!(listed[0].source_ips, seeded.source_ips);
/// assert_eq!(seeded, listed[0]);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct UnitToken {
    /// Its id.
    pub id: TokenId,
    /// What it is for.
    pub description: String,
    /// Its scopes (Unit does not list them; the fake keeps them).
    pub scopes: Vec<Scope>,
    /// When it stops working.
    pub expiration: DateTime<Utc>,
    /// The addresses and ranges allowed to use it (empty: any).
    pub source_ips: Vec<SourceIp>,
    /// The cards or accounts it is restricted to (Unit does not list them;
    /// the fake keeps them).
    pub resources: Option<Vec<ResourceRestriction>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// The secret; the fake accepts it as a credential until revoked or
    /// expired.
    pub secret: SecretString,
}

impl From<&UnitToken> for unit::ApiToken {
    /// The token as the fake lists it.
    fn from(token: &UnitToken) -> Self {
        let mut listed = unit::ApiToken::new(token.id.clone(), token.created_at);
        listed.description = Some(token.description.clone());
        listed.expiration = Some(token.expiration);
        listed.source_ips = token.source_ips.clone();
        listed
    }
}

impl From<UnitToken> for unit::ApiToken {
    /// The token as the fake lists it.
    fn from(token: UnitToken) -> Self {
        unit::ApiToken::from(&token)
    }
}

impl From<&UnitToken> for unit::NewApiToken {
    /// The token as the fake answers its create, with the secret.
    fn from(token: &UnitToken) -> Self {
        unit::NewApiToken::new(unit::ApiToken::from(token), token.secret.clone())
    }
}

impl PartialEq<unit::ApiToken> for UnitToken {
    /// Whether the client's token is this one as the fake lists it.
    fn eq(&self, other: &unit::ApiToken) -> bool {
        let unit::ApiToken {
            id,
            description,
            created_at,
            expiration,
            source_ips,
        } = other;
        *id == self.id
            && description.as_deref() == Some(self.description.as_str())
            && *created_at == self.created_at
            && *expiration == Some(self.expiration)
            && *source_ips == self.source_ips
    }
}

impl PartialEq<UnitToken> for unit::ApiToken {
    /// Whether this token is the fake's as the fake lists it.
    fn eq(&self, other: &UnitToken) -> bool {
        other == self
    }
}

/// A token to put into the Unit fake with [`UnitFake::insert_token`], in
/// the crate's types. A create request of the client makes one too
/// ([`UnitTokenSeed::from`]), to seed the token a test would have created.
///
/// ```
/// use api_tokens::testing::UnitTokenSeed;
/// use api_tokens::unit::{CreateApiToken, Scope};
/// use chrono::{Duration, Utc};
///
/// let seed = UnitTokenSeed::new("Seeded").scopes([Scope::Customers, Scope::Accounts]);
/// let request = CreateApiToken::new("ci", [Scope::Cards], Utc::now() + Duration::days(7));
/// let from_request = UnitTokenSeed::from(&request);
/// # let _ = (seed, from_request);
/// ```
#[derive(Debug, Clone)]
pub struct UnitTokenSeed {
    description: String,
    scopes: Vec<Scope>,
    expiration: Option<DateTime<Utc>>,
    source_ips: Vec<SourceIp>,
    resources: Option<Vec<ResourceRestriction>>,
    secret: Option<SecretString>,
}

impl UnitTokenSeed {
    /// A token with this description, scope [`Scope::Customers`] unless
    /// scopes are added, expiring in 30 days, usable from any address, with
    /// a random secret.
    pub fn new(description: impl Into<String>) -> Self {
        UnitTokenSeed {
            description: description.into(),
            scopes: Vec::new(),
            expiration: None,
            source_ips: Vec::new(),
            resources: None,
            secret: None,
        }
    }

    /// Adds a scope.
    pub fn scope(mut self, scope: Scope) -> Self {
        self.scopes.push(scope);
        self
    }

    /// Adds scopes.
    pub fn scopes(mut self, scopes: impl IntoIterator<Item = Scope>) -> Self {
        self.scopes.extend(scopes);
        self
    }

    /// When it expires (may be in the past, for a token that no longer works).
    pub fn expiration(mut self, at: DateTime<Utc>) -> Self {
        self.expiration = Some(at);
        self
    }

    /// Adds an address or range allowed to use it.
    pub fn source_ip(mut self, ip: impl Into<SourceIp>) -> Self {
        self.source_ips.push(ip.into());
        self
    }

    /// Adds addresses or ranges allowed to use it.
    pub fn source_ips(mut self, ips: impl IntoIterator<Item = SourceIp>) -> Self {
        self.source_ips.extend(ips);
        self
    }

    /// Restricts it to these cards or accounts (added to any given before).
    pub fn resources(mut self, resources: impl IntoIterator<Item = ResourceRestriction>) -> Self {
        self.resources
            .get_or_insert_with(Vec::new)
            .extend(resources);
        self
    }

    /// Its secret, instead of a random one.
    pub fn secret(mut self, secret: SecretString) -> Self {
        self.secret = Some(secret);
        self
    }
}

impl From<&unit::CreateApiToken> for UnitTokenSeed {
    /// The token that request would create: its description, scopes,
    /// expiration, addresses and restrictions, with a random secret.
    fn from(request: &unit::CreateApiToken) -> Self {
        let mut seed = UnitTokenSeed::new(request.description())
            .scopes(request.scopes().iter().cloned())
            .expiration(request.expiration())
            .source_ips(request.allowed_ips().iter().cloned());
        if let Some(resources) = request.restrictions() {
            seed = seed.resources(resources.iter().cloned());
        }
        seed
    }
}

impl From<unit::CreateApiToken> for UnitTokenSeed {
    /// The token that request would create, as from a reference.
    fn from(request: unit::CreateApiToken) -> Self {
        UnitTokenSeed::from(&request)
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
/// assert_eq!(fake.tokens()[0].id, created.id);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct UnitFake {
    server: MockServer,
    engine: Shared<UnitState>,
    token: SecretString,
    user_id: UserId,
}

/// Settings of a [`UnitFake`] before it starts.
#[derive(Debug, Clone)]
pub struct UnitFakeBuilder {
    token: Option<SecretString>,
    user_id: UserId,
    options: engine::Options,
}

impl UnitFakeBuilder {
    /// The credential the fake accepts (default: a random one).
    pub fn token(mut self, token: SecretString) -> Self {
        self.token = Some(token);
        self
    }

    /// The user whose tokens the fake holds (default `2`).
    pub fn user_id(mut self, user_id: UserId) -> Self {
        self.user_id = user_id;
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
            user_id: self.user_id.as_str().to_owned(),
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
            user_id: UserId::try_from(2).unwrap_or_else(|_| unreachable!("2 is a user id")),
            options: engine::Options::default(),
        }
    }

    /// The credential the fake accepts as `Authorization: Bearer …`.
    pub fn token(&self) -> &SecretString {
        &self.token
    }

    /// The user whose tokens live under `/users/{userId}/api-tokens`; any
    /// other user id answers 404.
    pub fn user_id(&self) -> UserId {
        self.user_id.clone()
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
        let mut scopes = seed.scopes;
        if scopes.is_empty() {
            scopes.push(Scope::Customers);
        }
        let token = UnitToken {
            id: token_id(id),
            description: seed.description,
            scopes,
            expiration: seed
                .expiration
                .unwrap_or(now + TimeDelta::days(30))
                .trunc_subsecs(3),
            source_ips: seed.source_ips,
            resources: seed.resources,
            created_at: now.trunc_subsecs(3),
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

/// The id of the n-th token (n counts from 1).
fn token_id(n: u64) -> TokenId {
    TokenId::try_from(n).unwrap_or_else(|_| unreachable!("token numbers start at 1"))
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
        if !token.source_ips.is_empty() {
            let ips: Vec<String> = token.source_ips.iter().map(SourceIp::to_string).collect();
            attributes.insert("sourceIp".into(), json!(ips.join(",")));
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
            id: token_id(id),
            description: checked.description,
            scopes: checked.scopes,
            expiration: checked.expiration,
            source_ips: checked.source_ips,
            resources: checked.resources,
            created_at: now.trunc_subsecs(3),
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
    scopes: Vec<Scope>,
    expiration: DateTime<Utc>,
    source_ips: Vec<SourceIp>,
    resources: Option<Vec<ResourceRestriction>>,
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

    let scopes = match attributes.get("scope").and_then(Value::as_str) {
        Some(s) if is_scope_list(s) => s
            .split(' ')
            .map(str::parse::<Scope>)
            .collect::<Result<Vec<_>, _>>()
            .ok(),
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

    let source_ips = match attributes.get("sourceIp") {
        None => Vec::new(),
        Some(Value::String(ips)) if is_ip_list(ips) => SourceIp::parse_list(ips),
        Some(_) => {
            found.push(invalid(
                "`sourceIp` must be IP addresses separated by commas, no spaces allowed",
                "/data/attributes/sourceIp",
            ));
            Vec::new()
        }
    };

    let resources = match attributes.get("resources") {
        None => None,
        Some(resources) => {
            let before = found.len();
            check_resources(resources, &mut found);
            if found.len() > before {
                None
            } else {
                match serde_json::from_value::<Vec<ResourceRestriction>>(resources.clone()) {
                    Ok(list) => Some(list),
                    Err(_) => {
                        found.push(invalid(
                            "`resources` must be restrictions to cards or accounts",
                            "/data/attributes/resources",
                        ));
                        None
                    }
                }
            }
        }
    };

    match (description, scopes, expiration) {
        (Some(description), Some(scopes), Some(expiration)) if found.is_empty() => {
            Ok(CheckedCreate {
                description,
                scopes,
                expiration,
                source_ips,
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
