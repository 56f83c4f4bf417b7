//! A stateful fake of Mailtrap's account API tokens (flat JSON dialect).

use std::collections::BTreeMap;

use chrono::{DateTime, Months, SubsecRound, TimeDelta, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};
use wiremock::{MockServer, Request};

use crate::mailtrap::{self, AccessLevel, Expiry, Permission, ResourceId, ResourceType, TokenId};

use super::engine::{
    self, Dialect, Reply, Shared, bearer, common_fake_methods, credential, format_time, lock,
};

const JSON: &str = "application/json; charset=utf-8";
/// The resource types the service accepts: the current names, the older
/// names it still reads (`inbox`, `sending_domain`), and those of its
/// account-access descriptions.
const RESOURCE_TYPES: [&str; 10] = [
    "account",
    "project",
    "sandbox",
    "domain",
    "billing",
    "organization",
    "email_campaign_permission_scope",
    "email_template",
    "inbox",
    "sending_domain",
];
const NO_PERMISSIONS: &str = "No permissions selected. Please choose at least one.";
/// How long the old secret keeps working after a reset.
const RESET_GRACE: TimeDelta = TimeDelta::hours(12);
const ALREADY_RESET: &str = "This token has already been reset";
const EXPIRED: &str = "An expired token cannot be reset";
const HAS_EXPIRATION: &str = "Only a token without an expiration can be reset";

/// Which tokens the Mailtrap fake refuses to reset (with 422).
///
/// The service changed its rule in 2026-08 and its published description
/// still states the earlier one; a client should assume neither.
///
/// ```
/// use api_tokens::testing::{MailtrapFake, ResetRule};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let published = MailtrapFake::builder().reset_rule(ResetRule::Published).start().await;
/// # let _ = published;
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ResetRule {
    /// The rule the service applies today: a token that was already reset,
    /// or has expired, is refused. A token that will expire later can be
    /// reset. The default.
    #[default]
    Current,
    /// The rule of the published description: a token that has an
    /// expiration is refused (so is a token already reset, which expires
    /// at the end of its grace period).
    Published,
}

/// An endpoint of the Mailtrap fake, to aim a [`Fault`](super::Fault) or
/// an [`Expectation`](super::Expectation) at. Each covers both path forms:
/// `/api/accounts/{account_id}/api_tokens…` and the account-free
/// `/api/api_tokens…`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MailtrapOp {
    /// `GET /api/accounts/{account_id}/api_tokens`, `GET /api/api_tokens`.
    List,
    /// `POST /api/accounts/{account_id}/api_tokens`, `POST /api/api_tokens`.
    Create,
    /// `GET /api/accounts/{account_id}/api_tokens/{id}`,
    /// `GET /api/api_tokens/{id}`.
    Get,
    /// `DELETE /api/accounts/{account_id}/api_tokens/{id}`,
    /// `DELETE /api/api_tokens/{id}`.
    Delete,
    /// `POST /api/accounts/{account_id}/api_tokens/{id}/reset`,
    /// `POST /api/api_tokens/{id}/reset`.
    Reset,
    /// Every request, whatever its path.
    Any,
}

impl MailtrapOp {
    /// The name used in [`LoggedRequest::operation`](super::LoggedRequest::operation); `None` for [`MailtrapOp::Any`].
    pub fn name(self) -> Option<&'static str> {
        match self {
            MailtrapOp::List => Some("list"),
            MailtrapOp::Create => Some("create"),
            MailtrapOp::Get => Some("get"),
            MailtrapOp::Delete => Some("delete"),
            MailtrapOp::Reset => Some("reset"),
            MailtrapOp::Any => None,
        }
    }
}

/// A permission as the fake stores it: the resource type as it came (an
/// older name such as `inbox` included), with the typed permission.
#[derive(Debug, Clone, PartialEq)]
struct Stored {
    wire_type: String,
    permission: Permission,
}

impl Stored {
    fn typed(permission: Permission) -> Stored {
        Stored {
            wire_type: permission.resource_type.as_str().to_owned(),
            permission,
        }
    }

    fn raw(
        wire_type: impl Into<String>,
        resource_id: impl Into<ResourceId>,
        access_level: impl Into<AccessLevel>,
    ) -> Stored {
        let wire_type = wire_type.into();
        Stored {
            permission: Permission::new(wire_type.as_str(), resource_id, access_level),
            wire_type,
        }
    }

    fn document(&self) -> Value {
        json!({
            "resource_type": self.wire_type,
            "resource_id": self.permission.resource_id,
            "access_level": self.permission.access_level,
        })
    }
}

/// A token held by the Mailtrap fake, in the crate's types: its fields
/// compare with those of the client's [`mailtrap::ApiToken`] and
/// [`mailtrap::NewApiToken`] as they are, and [`mailtrap::ApiToken::from`]
/// gives the token as the fake lists it.
///
/// Times are kept to the millisecond, as the fake writes them, so that a
/// token read back through a client is equal to the one held.
///
/// ```
/// use api_tokens::mailtrap::{self, AccessLevel, Permission, ResourceType};
/// use api_tokens::testing::{MailtrapFake, MailtrapTokenSeed};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), api_tokens::Error> {
/// let fake = MailtrapFake::start().await;
/// let seeded = fake.insert_token(
///     MailtrapTokenSeed::new("webhooks").permission(ResourceType::Sandbox, 17, AccessLevel::Viewer),
/// );
/// let client = mailtrap::Client::builder()
///     .token(fake.token().clone())
///     .account_id(fake.account_id())
///     .base_url(fake.uri())
///     .build()?;
/// let fetched = client.api_tokens().get(seeded.id).await?;
/// assert_eq!(
///     fetched.permissions,
///     [Permission::new(ResourceType::Sandbox, 17, AccessLevel::Viewer)]
/// );
/// assert_eq!(mailtrap::ApiToken::from(&seeded), fetched);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MailtrapToken {
    /// Its id.
    pub id: TokenId,
    /// Its display name.
    pub name: String,
    /// Who created it: the fake's owner, or the name of the token used.
    pub created_by: String,
    /// When it stops working; `None` for never. A reset sets it on the old
    /// token to 12 hours after the reset (or keeps an earlier one).
    pub expires_at: Option<DateTime<Utc>>,
    /// What it may do (wire: `resources`), as the client decodes it: an
    /// older resource name reads as its current one (`inbox` as
    /// [`ResourceType::Sandbox`]); see
    /// [`wire_resource_types`](MailtrapToken::wire_resource_types).
    pub permissions: Vec<Permission>,
    /// The secret; the fake accepts it as a credential until deleted or
    /// expired.
    pub secret: SecretString,
    /// The id of the token a reset replaced it with, once reset.
    pub replaced_by: Option<TokenId>,
    stored: Vec<Stored>,
}

impl MailtrapToken {
    fn held(
        id: TokenId,
        name: String,
        created_by: String,
        expires_at: Option<DateTime<Utc>>,
        stored: Vec<Stored>,
        secret: SecretString,
    ) -> MailtrapToken {
        MailtrapToken {
            id,
            name,
            created_by,
            expires_at: expires_at.map(|at| at.trunc_subsecs(3)),
            permissions: stored.iter().map(|s| s.permission.clone()).collect(),
            secret,
            replaced_by: None,
            stored,
        }
    }

    /// The last four characters of the secret, as the service shows them.
    pub fn last_4_digits(&self) -> String {
        last_four(self.secret.expose_secret())
    }

    /// The resource type of each permission as the fake writes it on the
    /// wire, in the order of [`permissions`](MailtrapToken::permissions):
    /// the name it was created or seeded with, an older one (`inbox`,
    /// `sending_domain`) included.
    pub fn wire_resource_types(&self) -> Vec<&str> {
        self.stored.iter().map(|s| s.wire_type.as_str()).collect()
    }

    fn document(&self, with_secret: bool) -> Value {
        let mut doc = Map::new();
        doc.insert("id".into(), json!(self.id));
        doc.insert("name".into(), json!(self.name));
        doc.insert("last_4_digits".into(), json!(self.last_4_digits()));
        doc.insert("created_by".into(), json!(self.created_by));
        doc.insert("expires_at".into(), json!(self.expires_at.map(format_time)));
        doc.insert(
            "resources".into(),
            Value::Array(self.stored.iter().map(Stored::document).collect()),
        );
        if with_secret {
            doc.insert("token".into(), json!(self.secret.expose_secret()));
        }
        Value::Object(doc)
    }
}

impl From<&MailtrapToken> for mailtrap::ApiToken {
    /// The token as the fake lists it.
    fn from(token: &MailtrapToken) -> Self {
        let mut listed = mailtrap::ApiToken::new(token.id, token.name.clone());
        listed.last_four = Some(token.last_4_digits());
        listed.created_by = Some(token.created_by.clone());
        listed.expires_at = token.expires_at;
        listed.permissions = token.permissions.clone();
        listed
    }
}

impl From<MailtrapToken> for mailtrap::ApiToken {
    /// The token as the fake lists it.
    fn from(token: MailtrapToken) -> Self {
        mailtrap::ApiToken::from(&token)
    }
}

impl From<&MailtrapToken> for mailtrap::NewApiToken {
    /// The token as the fake answers its create or reset, with the secret.
    fn from(token: &MailtrapToken) -> Self {
        mailtrap::NewApiToken::new(mailtrap::ApiToken::from(token), token.secret.clone())
    }
}

impl PartialEq<mailtrap::ApiToken> for MailtrapToken {
    /// Whether the client's token is this one as the fake lists it.
    fn eq(&self, other: &mailtrap::ApiToken) -> bool {
        let mailtrap::ApiToken {
            id,
            name,
            last_four,
            created_by,
            expires_at,
            permissions,
        } = other;
        *id == self.id
            && *name == self.name
            && last_four.as_deref() == Some(self.last_4_digits().as_str())
            && created_by.as_deref() == Some(self.created_by.as_str())
            && *expires_at == self.expires_at
            && *permissions == self.permissions
    }
}

impl PartialEq<MailtrapToken> for mailtrap::ApiToken {
    /// Whether this token is the fake's as the fake lists it.
    fn eq(&self, other: &MailtrapToken) -> bool {
        other == self
    }
}

fn last_four(secret: &str) -> String {
    let count = secret.chars().count();
    secret.chars().skip(count.saturating_sub(4)).collect()
}

/// A token to put into the Mailtrap fake with
/// [`MailtrapFake::insert_token`], in the crate's types. A create request of
/// the client makes one too ([`MailtrapTokenSeed::from`]).
///
/// ```
/// use api_tokens::mailtrap::{AccessLevel, CreateApiToken, Expiry, ResourceType};
/// use api_tokens::testing::MailtrapTokenSeed;
///
/// let seed = MailtrapTokenSeed::new("Seeded")
///     .permission(ResourceType::Project, 7, AccessLevel::Viewer)
///     .expires(Expiry::Never);
/// // A permission stored under an older name, as the service still answers it.
/// let legacy = MailtrapTokenSeed::new("Legacy").raw_permission("inbox", 7, 100);
/// let request = CreateApiToken::new("ci").permission(ResourceType::Account, 3229, AccessLevel::Admin);
/// let from_request = MailtrapTokenSeed::from(&request);
/// # let _ = (seed, legacy, from_request);
/// ```
#[derive(Debug, Clone)]
pub struct MailtrapTokenSeed {
    name: String,
    permissions: Vec<Stored>,
    expires_at: Option<DateTime<Utc>>,
    secret: Option<SecretString>,
    created_by: Option<String>,
}

impl MailtrapTokenSeed {
    /// A token with this name, admin on the fake's account unless
    /// permissions are added, never expiring, with a random secret.
    pub fn new(name: impl Into<String>) -> Self {
        MailtrapTokenSeed {
            name: name.into(),
            permissions: Vec::new(),
            expires_at: None,
            secret: None,
            created_by: None,
        }
    }

    /// Adds a permission: `access_level` on the resource `resource_id` of
    /// kind `resource_type`, as [`CreateApiToken::permission`](mailtrap::CreateApiToken::permission).
    pub fn permission(
        mut self,
        resource_type: impl Into<ResourceType>,
        resource_id: impl Into<ResourceId>,
        access_level: impl Into<AccessLevel>,
    ) -> Self {
        self.permissions.push(Stored::typed(Permission::new(
            resource_type,
            resource_id,
            access_level,
        )));
        self
    }

    /// Adds permissions made beforehand.
    pub fn permissions(mut self, permissions: impl IntoIterator<Item = Permission>) -> Self {
        self.permissions
            .extend(permissions.into_iter().map(Stored::typed));
        self
    }

    /// Adds a permission whose resource type the fake stores and answers
    /// exactly as written here: an older name (`inbox`, `sending_domain`)
    /// stays on the wire as it is, and reads in
    /// [`MailtrapToken::permissions`] as the client decodes it.
    pub fn raw_permission(
        mut self,
        wire_resource_type: impl Into<String>,
        resource_id: impl Into<ResourceId>,
        access_level: impl Into<AccessLevel>,
    ) -> Self {
        self.permissions
            .push(Stored::raw(wire_resource_type, resource_id, access_level));
        self
    }

    /// When it expires: [`Expiry::At`](mailtrap::Expiry::At) a moment (in
    /// the past for a token that no longer works); `Never` and
    /// `ServerDefault` (which the fake reads as never) leave it without an
    /// expiration. Any expiration refuses a reset under
    /// [`ResetRule::Published`].
    pub fn expires(mut self, expiry: Expiry) -> Self {
        self.expires_at = match expiry {
            Expiry::At(at) => Some(at),
            Expiry::Never | Expiry::ServerDefault => None,
        };
        self
    }

    /// Sets an expiration: in the past for a token that no longer works; any
    /// expiration refuses a reset under [`ResetRule::Published`].
    pub fn expires_at(mut self, at: DateTime<Utc>) -> Self {
        self.expires_at = Some(at);
        self
    }

    /// Its secret, instead of a random one.
    pub fn secret(mut self, secret: SecretString) -> Self {
        self.secret = Some(secret);
        self
    }

    /// Who created it (default: the fake's owner).
    pub fn created_by(mut self, who: impl Into<String>) -> Self {
        self.created_by = Some(who.into());
        self
    }
}

impl From<&mailtrap::CreateApiToken> for MailtrapTokenSeed {
    /// The token that request would create: its name, permissions and
    /// expiry, with a random secret.
    fn from(request: &mailtrap::CreateApiToken) -> Self {
        MailtrapTokenSeed::new(request.name())
            .permissions(request.permissions().iter().cloned())
            .expires(request.expiry())
    }
}

impl From<mailtrap::CreateApiToken> for MailtrapTokenSeed {
    /// The token that request would create, as from a reference.
    fn from(request: mailtrap::CreateApiToken) -> Self {
        MailtrapTokenSeed::from(&request)
    }
}

/// A stateful fake of Mailtrap's account API tokens on a loopback wiremock
/// server.
///
/// It keeps tokens in memory and answers as Mailtrap does:
///
/// - **Paths**: both forms, `/api/accounts/{account_id}/api_tokens[/{id}[/reset]]`
///   and the account-free `/api/api_tokens[/{id}[/reset]]`, where the
///   account is the calling token's own (the fake's account).
/// - **Credentials**: the `Api-Token` header or `Authorization: Bearer`.
///   The fake's own [`token`](MailtrapFake::token) works, and so does the
///   secret of every token it holds (created, reset or seeded) until the
///   token is deleted or expires; the old secret of a reset token works
///   for the 12 hours of its grace period on the fake's clock
///   ([`advance_clock`](MailtrapFake::advance_clock)). Anything else: 401
///   `{"error":"Incorrect API token"}`.
/// - **Answers**: flat JSON; create 200 with the secret once; list and get
///   without it but with `last_4_digits`; delete 204; reset 200 with a new
///   id and a new secret, named `"<name> <new id>"` as the service names
///   it, the old token then expiring 12 hours later. 403
///   `{"errors":"Account access forbidden"}` for another account, 404
///   `{"error":"Not Found"}`, 422 `{"errors":{"base":[…]}}` or per field
///   for an empty name, no permissions, an unknown resource type, an
///   `expires_at` in the past or more than 5 years ahead, or an unknown
///   field. An omitted `expires_at` means never, on create and reset.
/// - **Reset rule**: [`ResetRule::Current`] unless the builder says
///   otherwise ([`MailtrapFakeBuilder::reset_rule`]); a refusal is a 422
///   with a `base` message.
/// - **Rate limit**, when asked ([`rate_limit`](MailtrapFake::rate_limit)):
///   counted per credential; every answer carries `X-Ratelimit-Limit` and
///   `X-Ratelimit-Remaining`, and a 429 `{"errors":"Rate limit exceeded"}`
///   carries `Retry-After`.
///
/// ```
/// use api_tokens::mailtrap::{self, AccessLevel, CreateApiToken, ResourceType};
/// use api_tokens::testing::MailtrapFake;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), api_tokens::Error> {
/// let fake = MailtrapFake::start().await;
/// let client = mailtrap::Client::builder()
///     .token(fake.token().clone())
///     .account_id(fake.account_id())
///     .base_url(fake.uri())
///     .build()?;
/// let created = client
///     .api_tokens()
///     .create(CreateApiToken::new("ci").permission(
///         ResourceType::Account,
///         fake.account_id(),
///         AccessLevel::Admin,
///     ))
///     .await?;
/// assert_eq!(fake.tokens()[0].id, created.id);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct MailtrapFake {
    server: MockServer,
    engine: Shared<MailtrapState>,
    token: SecretString,
    account_id: u64,
}

/// Settings of a [`MailtrapFake`] before it starts.
#[derive(Debug, Clone)]
pub struct MailtrapFakeBuilder {
    token: Option<SecretString>,
    account_id: u64,
    owner: String,
    reset_rule: ResetRule,
    options: engine::Options,
}

impl MailtrapFakeBuilder {
    /// The credential the fake accepts (default: a random one).
    pub fn token(mut self, token: SecretString) -> Self {
        self.token = Some(token);
        self
    }

    /// The account whose tokens the fake holds (default 3229).
    pub fn account_id(mut self, account_id: u64) -> Self {
        self.account_id = account_id;
        self
    }

    /// The `created_by` of tokens made with the fake's own token (default
    /// `owner@example.com`).
    pub fn owner(mut self, owner: impl Into<String>) -> Self {
        self.owner = owner.into();
        self
    }

    /// Which tokens reset refuses (default [`ResetRule::Current`]).
    pub fn reset_rule(mut self, rule: ResetRule) -> Self {
        self.reset_rule = rule;
        self
    }

    /// Starts the fake with a rate limit: at most `limit` requests per
    /// credential in any window of `per`; see [`MailtrapFake::rate_limit`].
    /// The service allows 150 per 10 seconds.
    pub fn rate_limit(mut self, limit: u32, per: std::time::Duration) -> Self {
        self.options.rate_limit = Some((limit, per));
        self
    }

    /// Starts the fake.
    pub async fn start(self) -> MailtrapFake {
        let token = self.token.unwrap_or_else(new_secret);
        let state = MailtrapState {
            account_id: self.account_id,
            master: token.clone(),
            owner: self.owner,
            tokens: BTreeMap::new(),
            next_id: 12345,
            reset_rule: self.reset_rule,
        };
        let (server, engine) = engine::start(state, self.options).await;
        MailtrapFake {
            server,
            engine,
            token,
            account_id: self.account_id,
        }
    }
}

impl MailtrapFake {
    /// Starts a fake with a random token and account 3229.
    pub async fn start() -> MailtrapFake {
        MailtrapFake::builder().start().await
    }

    /// A builder to choose the token, the account id and the owner.
    pub fn builder() -> MailtrapFakeBuilder {
        MailtrapFakeBuilder {
            token: None,
            account_id: 3229,
            owner: "owner@example.com".into(),
            reset_rule: ResetRule::default(),
            options: engine::Options::default(),
        }
    }

    /// The credential the fake accepts in `Api-Token` or as a Bearer token.
    pub fn token(&self) -> &SecretString {
        &self.token
    }

    /// The account whose tokens live under `/api/accounts/{account_id}`
    /// (and under `/api/api_tokens`, the account of every credential the
    /// fake accepts); another account answers 403.
    pub fn account_id(&self) -> u64 {
        self.account_id
    }

    /// The tokens the fake holds now, by id (its own credential is not
    /// among them).
    pub fn tokens(&self) -> Vec<MailtrapToken> {
        lock(&self.engine)
            .dialect
            .tokens
            .values()
            .cloned()
            .collect()
    }

    /// Puts a token into the fake, as if created earlier, and returns it
    /// with its id.
    pub fn insert_token(&self, seed: MailtrapTokenSeed) -> MailtrapToken {
        let mut engine = lock(&self.engine);
        let state = &mut engine.dialect;
        let id = state.next_id;
        state.next_id += 1;
        let mut permissions = seed.permissions;
        if permissions.is_empty() {
            permissions.push(Stored::typed(Permission::new(
                ResourceType::Account,
                state.account_id,
                AccessLevel::Admin,
            )));
        }
        let token = MailtrapToken::held(
            token_id(id),
            seed.name,
            seed.created_by.unwrap_or_else(|| state.owner.clone()),
            seed.expires_at,
            permissions,
            seed.secret.unwrap_or_else(new_secret),
        );
        state.tokens.insert(id, token.clone());
        token
    }

    /// Changes which tokens reset refuses from now on.
    pub fn set_reset_rule(&self, rule: ResetRule) {
        lock(&self.engine).dialect.reset_rule = rule;
    }

    common_fake_methods!(MailtrapFake, MailtrapOp);
}

impl Drop for MailtrapFake {
    /// Checks the expectations (see [`MailtrapFake::expect`]): panics if
    /// one is not met, unless the thread is already panicking.
    fn drop(&mut self) {
        engine::verify_on_drop(&self.engine);
    }
}

/// The id of a token the fake numbers (from 12345 up).
fn token_id(n: u64) -> TokenId {
    TokenId::new(n).unwrap_or_else(|_| unreachable!("the fake numbers tokens from 12345"))
}

fn new_secret() -> SecretString {
    SecretString::from(engine::random_string(b"0123456789abcdef", 32))
}

struct MailtrapState {
    account_id: u64,
    master: SecretString,
    owner: String,
    tokens: BTreeMap<u64, MailtrapToken>,
    next_id: u64,
    reset_rule: ResetRule,
}

/// Where a path leads: the account named in it (`None` in the account-free
/// form) and the resource.
struct Route<'p> {
    account: Option<&'p str>,
    target: Target<'p>,
}

enum Target<'p> {
    Collection,
    Token(&'p str),
    Reset(&'p str),
}

fn route(path: &str) -> Option<Route<'_>> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (account, rest) = match segments.as_slice() {
        ["api", "accounts", account, "api_tokens", rest @ ..] => (Some(*account), rest),
        ["api", "api_tokens", rest @ ..] => (None, rest),
        _ => return None,
    };
    let target = match rest {
        [] => Target::Collection,
        [id] => Target::Token(id),
        [id, "reset"] => Target::Reset(id),
        _ => return None,
    };
    Some(Route { account, target })
}

/// The endpoint of Mailtrap's API a request reaches, in either path form.
pub(crate) fn operation(method: &str, path: &str) -> Option<&'static str> {
    match (method, route(path)?.target) {
        ("GET", Target::Collection) => Some("list"),
        ("POST", Target::Collection) => Some("create"),
        ("GET", Target::Token(_)) => Some("get"),
        ("DELETE", Target::Token(_)) => Some("delete"),
        ("POST", Target::Reset(_)) => Some("reset"),
        _ => None,
    }
}

fn not_found() -> Reply {
    Reply::json(404, JSON, &json!({ "error": "Not Found" }))
}

fn unprocessable(errors: BTreeMap<String, Vec<String>>) -> Reply {
    Reply::json(422, JSON, &json!({ "errors": errors }))
}

/// A positive integer written in decimal, as Rails routes accept ids.
fn parse_id(s: &str) -> Option<u64> {
    s.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| s.parse::<u64>().ok())
        .flatten()
        .filter(|&id| id >= 1)
}

/// The credential of a request: `Api-Token`, else `Authorization: Bearer`.
fn presented(request: &Request) -> Option<&str> {
    credential(request, "api-token").or_else(|| bearer(request))
}

impl MailtrapState {
    /// The caller's name for `created_by`, or `None` when not authorized.
    fn caller(&self, request: &Request, now: DateTime<Utc>) -> Option<String> {
        let presented = presented(request)?;
        if engine::same_secret(presented, self.master.expose_secret()) {
            return Some(self.owner.clone());
        }
        self.tokens
            .values()
            .find(|t| {
                t.expires_at.is_none_or(|at| at > now)
                    && engine::same_secret(presented, t.secret.expose_secret())
            })
            .map(|t| t.name.clone())
    }

    fn body(request: &Request) -> Result<Map<String, Value>, Reply> {
        if request.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Map::new());
        }
        match serde_json::from_slice::<Value>(&request.body) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(unprocessable(BTreeMap::from([(
                "base".to_owned(),
                vec!["The request body must be a JSON object".to_owned()],
            )]))),
            Err(_) => Err(Reply::json(400, JSON, &json!({ "error": "Bad Request" }))),
        }
    }

    fn create(&mut self, request: &Request, caller: String, now: DateTime<Utc>) -> Reply {
        let body = match Self::body(request) {
            Ok(body) => body,
            Err(reply) => return reply,
        };
        let mut errors: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut fail = |field: &str, message: &str| {
            errors
                .entry(field.to_owned())
                .or_default()
                .push(message.to_owned());
        };
        for key in body
            .keys()
            .filter(|k| !["name", "resources", "expires_at"].contains(&k.as_str()))
        {
            fail(key, "is not a permitted attribute");
        }
        let name = match body.get("name") {
            Some(Value::String(name)) if name.trim().is_empty() => {
                fail("name", "can't be blank");
                None
            }
            Some(Value::String(name)) if name.chars().count() > 255 => {
                fail("name", "is too long (maximum is 255 characters)");
                None
            }
            Some(Value::String(name)) => Some(name.clone()),
            None | Some(Value::Null) => {
                fail("name", "can't be blank");
                None
            }
            Some(_) => {
                fail("name", "is invalid");
                None
            }
        };
        let resources = check_permissions(body.get("resources"), &mut fail);
        let expires_at = check_expires_at(body.get("expires_at"), now, &mut fail);
        if !errors.is_empty() {
            return unprocessable(errors);
        }
        let (Some(name), Some(resources), Ok(expires_at)) = (name, resources, expires_at) else {
            // Every `None` above recorded an error.
            return unprocessable(errors);
        };
        let token = self.mint(name, caller, expires_at, resources);
        Reply::json(200, JSON, &token.document(true))
    }

    fn mint(
        &mut self,
        name: String,
        created_by: String,
        expires_at: Option<DateTime<Utc>>,
        permissions: Vec<Stored>,
    ) -> MailtrapToken {
        let id = self.next_id;
        self.next_id += 1;
        let token = MailtrapToken::held(
            token_id(id),
            name,
            created_by,
            expires_at,
            permissions,
            new_secret(),
        );
        self.tokens.insert(id, token.clone());
        token
    }

    fn reset(&mut self, request: &Request, id: u64, caller: String, now: DateTime<Utc>) -> Reply {
        let Some(old) = self.tokens.get(&id).cloned() else {
            return not_found();
        };
        let body = match Self::body(request) {
            Ok(body) => body,
            Err(reply) => return reply,
        };
        let mut errors: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut fail = |field: &str, message: &str| {
            errors
                .entry(field.to_owned())
                .or_default()
                .push(message.to_owned());
        };
        let refusal = match self.reset_rule {
            ResetRule::Current if old.replaced_by.is_some() => Some(ALREADY_RESET),
            ResetRule::Current if old.expires_at.is_some_and(|at| at <= now) => Some(EXPIRED),
            ResetRule::Published if old.expires_at.is_some() => Some(HAS_EXPIRATION),
            ResetRule::Current | ResetRule::Published => None,
        };
        if let Some(message) = refusal {
            fail("base", message);
        }
        for key in body.keys().filter(|k| *k != "expires_at") {
            fail(key, "is not a permitted attribute");
        }
        let expires_at = check_expires_at(body.get("expires_at"), now, &mut fail);
        let Ok(expires_at) = expires_at else {
            return unprocessable(errors);
        };
        if !errors.is_empty() {
            return unprocessable(errors);
        }
        let new_id = self.next_id;
        if let Some(old) = self.tokens.get_mut(&id) {
            let grace_ends = now + RESET_GRACE;
            let grace_ends = grace_ends.trunc_subsecs(3);
            old.expires_at = Some(old.expires_at.map_or(grace_ends, |at| at.min(grace_ends)));
            old.replaced_by = Some(token_id(new_id));
        }
        let token = self.mint(
            format!("{} {new_id}", old.name),
            caller,
            expires_at,
            old.stored,
        );
        Reply::json(200, JSON, &token.document(true))
    }
}

/// Checks `resources`; an empty or missing list is a `base` error.
fn check_permissions(
    value: Option<&Value>,
    fail: &mut impl FnMut(&str, &str),
) -> Option<Vec<Stored>> {
    let Some(items) = value.and_then(Value::as_array).filter(|a| !a.is_empty()) else {
        fail("base", NO_PERMISSIONS);
        return None;
    };
    let mut permissions = Vec::new();
    let mut ok = true;
    for item in items {
        let Some(item) = item.as_object() else {
            fail("resources", "must be objects");
            ok = false;
            continue;
        };
        for key in item
            .keys()
            .filter(|k| !["resource_type", "resource_id", "access_level"].contains(&k.as_str()))
        {
            fail("resources", &format!("{key} is not a permitted attribute"));
            ok = false;
        }
        let resource_type = item.get("resource_type").and_then(Value::as_str);
        if !resource_type.is_some_and(|t| RESOURCE_TYPES.contains(&t)) {
            fail("resources", "resource_type is not included in the list");
            ok = false;
        }
        let resource_id = match item.get("resource_id") {
            Some(Value::Number(n)) => n.as_u64().filter(|&n| n >= 1).map(ResourceId::Int),
            Some(Value::String(s)) if !s.trim().is_empty() => Some(ResourceId::Str(s.clone())),
            _ => None,
        };
        if resource_id.is_none() {
            fail("resources", "resource_id is invalid");
            ok = false;
        }
        let access_level = item
            .get("access_level")
            .and_then(Value::as_u64)
            .filter(|level| matches!(level, 10 | 100))
            .and_then(|level| u16::try_from(level).ok());
        if access_level.is_none() {
            fail("resources", "access_level is not included in the list");
            ok = false;
        }
        if let (Some(resource_type), Some(resource_id), Some(access_level)) =
            (resource_type, resource_id, access_level)
        {
            permissions.push(Stored::raw(resource_type, resource_id, access_level));
        }
    }
    ok.then_some(permissions)
}

/// Checks `expires_at`: absent or `null` is never; a time must be in the
/// future and at most 5 years ahead. `Err` when refused.
fn check_expires_at(
    value: Option<&Value>,
    now: DateTime<Utc>,
    fail: &mut impl FnMut(&str, &str),
) -> Result<Option<DateTime<Utc>>, ()> {
    let raw = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(raw)) => raw,
        Some(_) => {
            fail("expires_at", "is invalid");
            return Err(());
        }
    };
    let Ok(at) = DateTime::parse_from_rfc3339(raw).map(|at| at.with_timezone(&Utc)) else {
        fail("expires_at", "is invalid");
        return Err(());
    };
    if at <= now {
        fail("expires_at", "must be in the future");
        return Err(());
    }
    let limit = now
        .checked_add_months(Months::new(60))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    if at > limit {
        fail("expires_at", "must be at most 5 years from now");
        return Err(());
    }
    Ok(Some(at))
}

impl Dialect for MailtrapState {
    fn operation(&self, method: &str, path: &str) -> Option<&'static str> {
        operation(method, path)
    }

    fn handle(&mut self, request: &Request, now: DateTime<Utc>) -> Reply {
        let Some(caller) = self.caller(request, now) else {
            return self.error_reply(401);
        };
        let Some(route) = route(request.url.path()) else {
            return not_found();
        };
        // Without an account in the path, the account is the caller's own:
        // every credential the fake accepts belongs to its account.
        if let Some(account) = route.account {
            match parse_id(account) {
                None => return not_found(),
                Some(account) if account != self.account_id => return self.error_reply(403),
                Some(_) => {}
            }
        }
        let token_id = match route.target {
            Target::Token(id) | Target::Reset(id) => match parse_id(id) {
                Some(id) => Some(id),
                None => return not_found(),
            },
            Target::Collection => None,
        };
        match (request.method.as_str(), &route.target, token_id) {
            ("GET", Target::Collection, _) => {
                let list: Vec<Value> = self.tokens.values().map(|t| t.document(false)).collect();
                Reply::json(200, JSON, &Value::Array(list))
            }
            ("POST", Target::Collection, _) => self.create(request, caller, now),
            ("GET", Target::Token(_), Some(id)) => match self.tokens.get(&id) {
                Some(token) => Reply::json(200, JSON, &token.document(false)),
                None => not_found(),
            },
            ("DELETE", Target::Token(_), Some(id)) => match self.tokens.remove(&id) {
                Some(_) => Reply::empty(204),
                None => not_found(),
            },
            ("POST", Target::Reset(_), Some(id)) => self.reset(request, id, caller, now),
            _ => not_found(),
        }
    }

    fn presented<'r>(&self, request: &'r Request) -> Option<&'r str> {
        presented(request)
    }

    /// Mailtrap counts per token.
    const LIMIT_PER_CREDENTIAL: bool = true;
    /// Mailtrap sends `X-Ratelimit-Limit` and `X-Ratelimit-Remaining` on
    /// every answer.
    const LIMIT_HEADERS: bool = true;

    fn error_reply(&self, status: u16) -> Reply {
        match status {
            401 => Reply::json(401, JSON, &json!({ "error": "Incorrect API token" })),
            403 => Reply::json(403, JSON, &json!({ "errors": "Account access forbidden" })),
            404 => not_found(),
            422 => unprocessable(BTreeMap::from([(
                "base".to_owned(),
                vec!["The request could not be processed".to_owned()],
            )])),
            429 => Reply::json(429, JSON, &json!({ "errors": "Rate limit exceeded" }))
                .header("x-ratelimit-limit", "150")
                .header("x-ratelimit-remaining", "0"),
            other => {
                let reason = reqwest::StatusCode::from_u16(other)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("Error");
                Reply::json(other, JSON, &json!({ "error": reason }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_positive_decimals() {
        assert_eq!(parse_id("12345"), Some(12345));
        for bad in ["0", "-1", "+1", "1e3", "", "abc"] {
            assert_eq!(parse_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn expiry_window() {
        let now = Utc::now();
        let mut seen = Vec::new();
        let mut fail = |f: &str, m: &str| seen.push(format!("{f}: {m}"));
        assert_eq!(check_expires_at(None, now, &mut fail), Ok(None));
        assert_eq!(
            check_expires_at(Some(&Value::Null), now, &mut fail),
            Ok(None)
        );
        let soon = now + TimeDelta::days(1);
        assert!(check_expires_at(Some(&json!(soon.to_rfc3339())), now, &mut fail).is_ok());
        let past = now - TimeDelta::days(1);
        assert!(check_expires_at(Some(&json!(past.to_rfc3339())), now, &mut fail).is_err());
        let far = now + TimeDelta::days(6 * 365);
        assert!(check_expires_at(Some(&json!(far.to_rfc3339())), now, &mut fail).is_err());
        assert!(check_expires_at(Some(&json!("tomorrow")), now, &mut fail).is_err());
        assert_eq!(seen.len(), 3);
    }
}
