//! What the Mailtrap fake holds, and how it acts on and answers each
//! request.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};
use wiremock::Request;

use crate::testing::engine::{self, Behaviour, Reply, bearer, credential};
use crate::testing::ids::Ids;
use crate::testing::operations::{self, MailtrapTarget as Target, mailtrap_route as route};

use super::op::ResetRule;
use super::replies::{JSON, add_error, not_found, unprocessable};
use super::token::{MailtrapToken, Stored, new_secret, token_id};
use super::validate::{check_expires_at, check_permissions, parse_id};

/// How long the old secret keeps working after a reset.
const RESET_GRACE: TimeDelta = TimeDelta::hours(12);
const ALREADY_RESET: &str = "This token has already been reset";
const EXPIRED: &str = "An expired token cannot be reset";
const HAS_EXPIRATION: &str = "Only a token without an expiration can be reset";
/// The id of the first token of a new fake.
const FIRST_ID: u64 = 12345;

/// The tokens of the Mailtrap fake's accounts, by number, and what decides
/// its answers.
pub struct MailtrapState {
    /// The accounts, each with its name; the first is the fake's own (its
    /// token's, and every seed's unless the seed names another).
    pub(crate) accounts: Vec<(u64, String)>,
    master: SecretString,
    pub(crate) owner: String,
    pub(crate) tokens: BTreeMap<u64, MailtrapToken>,
    pub(crate) ids: Ids,
    pub(crate) reset_rule: ResetRule,
    /// The lifetime of a token created or reset without an `expires_at`;
    /// `None`: such a token never expires.
    pub(crate) default_lifetime: Option<TimeDelta>,
    /// The ids a lagging list leaves out while it answers.
    hidden: BTreeSet<u64>,
}

/// The service's default lifetime of a token created or reset without an
/// `expires_at`: one year (rolling out since 2026-08).
pub(crate) const DEFAULT_LIFETIME: TimeDelta = TimeDelta::days(365);

/// The answer to a create or reset once every id up to
/// [`MAX_TOKEN_ID`](crate::testing::ids::MAX_TOKEN_ID) was given.
fn out_of_ids() -> Reply {
    Reply::json(
        500,
        JSON,
        &json!({ "error": "The fake has given every token id" }),
    )
}

/// Who made a request.
struct Caller {
    /// What `created_by` says of the tokens it makes.
    name: String,
    /// The account its credential belongs to; `None` for the fake's own
    /// token, which reaches every account of the fake.
    account: Option<u64>,
    /// Whether it may create, delete and reset tokens: the fake's own
    /// token may, in every account; a token's secret only if the token has
    /// admin access (access level 100) to its account.
    admin: bool,
}

/// Whether the request's body is declared JSON: a `Content-Type` of one of
/// the media types Rails reads as JSON parameters, whatever its
/// parameters (`; charset=utf-8`).
fn declares_json(request: &Request) -> bool {
    let Some(value) = request
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let media = value.split(';').next().unwrap_or_default().trim();
    ["application/json", "text/x-json", "application/jsonrequest"]
        .iter()
        .any(|json| media.eq_ignore_ascii_case(json))
}

/// The credential of a request: `Api-Token`, else `Authorization: Bearer`.
fn presented(request: &Request) -> Option<&str> {
    credential(request, "api-token").or_else(|| bearer(request))
}

impl MailtrapState {
    /// No tokens yet; the first gets id 12345.
    pub(crate) fn new(
        accounts: Vec<(u64, String)>,
        master: SecretString,
        owner: String,
        reset_rule: ResetRule,
        default_lifetime: Option<TimeDelta>,
    ) -> MailtrapState {
        MailtrapState {
            accounts,
            master,
            owner,
            tokens: BTreeMap::new(),
            ids: Ids::starting_at(FIRST_ID),
            reset_rule,
            default_lifetime,
            hidden: BTreeSet::new(),
        }
    }

    /// Holds a token under its number, and returns it.
    pub(crate) fn hold(&mut self, number: u64, token: MailtrapToken) -> MailtrapToken {
        self.tokens.insert(number, token.clone());
        token
    }

    /// The fake's own account: its token's, and the default of seeds.
    pub(crate) fn own_account(&self) -> u64 {
        self.accounts.first().map_or(0, |(id, _)| *id)
    }

    /// Whether the fake has the account `id`.
    pub(crate) fn has_account(&self, id: u64) -> bool {
        self.accounts.iter().any(|(known, _)| *known == id)
    }

    /// Whether `caller` may work on the account `id`: the fake's own token
    /// on each of its accounts, any other credential on its own only.
    fn reaches(&self, caller: &Caller, id: u64) -> bool {
        match caller.account {
            None => self.has_account(id),
            Some(own) => own == id,
        }
    }

    /// `GET /api/accounts`: the accounts the caller reaches, as the service
    /// lists a caller's accounts.
    fn list_accounts(&self, caller: &Caller) -> Reply {
        let listed: Vec<Value> = self
            .accounts
            .iter()
            .filter(|(id, _)| self.reaches(caller, *id))
            .map(|(id, name)| json!({ "id": id, "name": name, "access_levels": [1000] }))
            .collect();
        Reply::json(200, JSON, &Value::Array(listed))
    }

    /// Who presented the request's credential, or `None` when not
    /// authorized.
    fn caller(&self, request: &Request, now: DateTime<Utc>) -> Option<Caller> {
        let presented = presented(request)?;
        if engine::same_secret(presented, self.master.expose_secret()) {
            return Some(Caller {
                name: self.owner.clone(),
                account: None,
                admin: true,
            });
        }
        self.tokens
            .values()
            .find(|t| {
                t.expires_at.is_none_or(|at| at > now)
                    && engine::same_secret(presented, t.secret.expose_secret())
            })
            .map(|t| Caller {
                name: t.name.clone(),
                account: Some(t.account_id),
                admin: t.administers(t.account_id),
            })
    }

    /// The token `id` if it belongs to `account`.
    fn token_in(&self, account: u64, id: u64) -> Option<&MailtrapToken> {
        self.tokens.get(&id).filter(|t| t.account_id == account)
    }

    /// The parameters of a create or reset body. As a Rails service reads
    /// them: only a body whose content type says JSON is parsed; any other
    /// (form fields aside, which the fake does not read either) gives no
    /// parameters.
    fn body(request: &Request) -> Result<Map<String, Value>, Reply> {
        if !declares_json(request) || request.body.iter().all(u8::is_ascii_whitespace) {
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

    fn create(
        &mut self,
        request: &Request,
        account: u64,
        caller: String,
        now: DateTime<Utc>,
    ) -> Reply {
        let body = match Self::body(request) {
            Ok(body) => body,
            Err(reply) => return reply,
        };
        let mut errors: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut fail = |field: &str, message: &str| add_error(&mut errors, field, message);
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
        let expires_at = check_expires_at(
            body.get("expires_at"),
            now,
            self.default_lifetime,
            &mut fail,
        );
        if !errors.is_empty() {
            return unprocessable(errors);
        }
        let (Some(name), Some(resources), Ok(expires_at)) = (name, resources, expires_at) else {
            // Every `None` above recorded an error.
            return unprocessable(errors);
        };
        let Some(id) = self.ids.take() else {
            return out_of_ids();
        };
        let token = self.mint(account, id, name, caller, expires_at, resources);
        Reply::json(200, JSON, &token.document(true))
    }

    fn mint(
        &mut self,
        account: u64,
        id: u64,
        name: String,
        created_by: String,
        expires_at: Option<DateTime<Utc>>,
        permissions: Vec<Stored>,
    ) -> MailtrapToken {
        let token = MailtrapToken::held(
            account,
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
        // The new token belongs where the old one did.
        let account = old.account_id;
        let body = match Self::body(request) {
            Ok(body) => body,
            Err(reply) => return reply,
        };
        let mut errors: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut fail = |field: &str, message: &str| add_error(&mut errors, field, message);
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
        let expires_at = check_expires_at(
            body.get("expires_at"),
            now,
            self.default_lifetime,
            &mut fail,
        );
        let Ok(expires_at) = expires_at else {
            return unprocessable(errors);
        };
        if !errors.is_empty() {
            return unprocessable(errors);
        }
        let Some(new_id) = self.ids.take() else {
            return out_of_ids();
        };
        if let Some(old) = self.tokens.get_mut(&id) {
            let grace_ends = engine::saturating_add(now, RESET_GRACE).trunc_subsecs(3);
            old.expires_at = Some(old.expires_at.map_or(grace_ends, |at| at.min(grace_ends)));
            old.replaced_by = Some(token_id(new_id));
        }
        let token = self.mint(
            account,
            new_id,
            format!("{} {new_id}", old.name),
            caller,
            expires_at,
            old.stored,
        );
        Reply::json(200, JSON, &token.document(true))
    }
}

impl Behaviour for MailtrapState {
    fn operation(&self, method: &str, path: &str) -> Option<&'static str> {
        operations::mailtrap(method, path)
    }

    fn handle(&mut self, request: &Request, now: DateTime<Utc>) -> Reply {
        let Some(caller) = self.caller(request, now) else {
            return self.error_reply(401);
        };
        let Some(route) = route(request.url.path()) else {
            return not_found();
        };
        // Without an account in the path, the account is the caller's own;
        // an account it does not reach is forbidden.
        let account = match route.account {
            None => caller.account.unwrap_or_else(|| self.own_account()),
            Some(account) => match parse_id(account) {
                None => return not_found(),
                Some(account) if self.reaches(&caller, account) => account,
                Some(_) => return self.error_reply(403),
            },
        };
        // Creating, deleting and resetting tokens takes admin access to the
        // account, whether or not the token named exists.
        let changes = matches!(
            (request.method.as_str(), &route.target),
            ("POST", Target::Collection)
                | ("DELETE", Target::Token(_))
                | ("POST", Target::Reset(_))
        );
        if changes && !caller.admin {
            return self.error_reply(403);
        }
        let token_id = match route.target {
            Target::Token(id) | Target::Reset(id) => match parse_id(id) {
                Some(id) => Some(id),
                None => return not_found(),
            },
            Target::Collection | Target::Accounts => None,
        };
        // A token of another account is not found in this one.
        if token_id.is_some_and(|id| self.token_in(account, id).is_none()) {
            return not_found();
        }
        match (request.method.as_str(), &route.target, token_id) {
            ("GET", Target::Accounts, _) => self.list_accounts(&caller),
            ("GET", Target::Collection, _) => {
                let list: Vec<Value> = self
                    .tokens
                    .iter()
                    .filter(|(id, t)| t.account_id == account && !self.hidden.contains(id))
                    .map(|(_, t)| t.document(false))
                    .collect();
                Reply::json(200, JSON, &Value::Array(list))
            }
            ("POST", Target::Collection, _) => self.create(request, account, caller.name, now),
            ("GET", Target::Token(_), Some(id)) => match self.tokens.get(&id) {
                Some(token) => Reply::json(200, JSON, &token.document(false)),
                None => not_found(),
            },
            ("DELETE", Target::Token(_), Some(id)) => match self.tokens.remove(&id) {
                Some(_) => Reply::empty(204),
                None => not_found(),
            },
            ("POST", Target::Reset(_), Some(id)) => self.reset(request, id, caller.name, now),
            _ => not_found(),
        }
    }

    fn ids(&self) -> Option<&Ids> {
        Some(&self.ids)
    }

    fn hide_from_list(&mut self, hidden: BTreeSet<u64>) {
        self.hidden = hidden;
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
