//! What the Unit fake holds, and how it acts on and answers each request.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, SubsecRound, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};
use wiremock::Request;

use crate::testing::engine::{self, Behaviour, Reply, bearer, format_time};
use crate::testing::ids::Ids;
use crate::testing::operations::{self, segments};
use crate::unit::{SourceIp, UserId};

use super::errors::{JSON_API, error, errors, not_found, one_error, reason};
use super::op::RevokeAnswer;
use super::token::{UnitToken, minted_secret, token_id};
use super::validate::check_create;

/// The tokens of the Unit fake, by number, and what decides its answers.
pub struct UnitState {
    pub(crate) user_id: String,
    master: SecretString,
    pub(crate) tokens: BTreeMap<u64, UnitToken>,
    pub(crate) ids: Ids,
    pub(crate) revoke_answer: RevokeAnswer,
    /// The ids a lagging list leaves out while it answers.
    hidden: BTreeSet<u64>,
}

impl UnitState {
    /// No tokens yet; the first gets id 1.
    pub(crate) fn new(user_id: &UserId, master: SecretString) -> UnitState {
        UnitState {
            user_id: user_id.as_str().to_owned(),
            master,
            tokens: BTreeMap::new(),
            ids: Ids::starting_at(1),
            revoke_answer: RevokeAnswer::default(),
            hidden: BTreeSet::new(),
        }
    }

    /// Holds a token under its number, and returns it.
    pub(crate) fn hold(&mut self, number: u64, token: UnitToken) -> UnitToken {
        self.tokens.insert(number, token.clone());
        token
    }

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
            return one_error(
                415,
                "Unsupported Media Type",
                "The request body must be application/vnd.api+json",
            );
        }
        let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
            return one_error(400, "Bad Request", "The request body is not valid JSON");
        };
        let checked = match check_create(&body, now) {
            Ok(checked) => checked,
            Err(found) => return errors(400, found),
        };
        let Some(id) = self.ids.take() else {
            return one_error(
                500,
                "Internal Server Error",
                "The fake has given every token id",
            );
        };
        let secret = minted_secret(&self.user_id, id, &checked.scopes);
        let token = UnitToken {
            id: token_id(id),
            description: checked.description,
            scopes: checked.scopes,
            expiration: checked.expiration,
            source_ips: checked.source_ips,
            resources: checked.resources,
            created_at: now.trunc_subsecs(3),
            secret,
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
            return not_found(&format!("API token {token_id} not found"));
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

impl Behaviour for UnitState {
    fn operation(&self, method: &str, path: &str) -> Option<&'static str> {
        operations::unit(method, path)
    }

    fn handle(&mut self, request: &Request, now: DateTime<Utc>) -> Reply {
        if !self.authorized(request, now) {
            return one_error(
                401,
                "Unauthorized",
                "The bearer token is invalid or expired",
            );
        }
        let path = request.url.path();
        let method = request.method.as_str();
        let segments = segments(path);
        let user = match segments.as_slice() {
            ["users", user, "api-tokens"] | ["users", user, "api-tokens", _] => *user,
            _ => {
                return not_found("No such endpoint");
            }
        };
        if user != self.user_id {
            return not_found(&format!("User {user} not found"));
        }
        match (method, segments.as_slice()) {
            ("POST", [_, _, _]) => self.create(request, now),
            ("GET", [_, _, _]) => {
                let data: Vec<Value> = self
                    .tokens
                    .iter()
                    .filter(|(id, _)| !self.hidden.contains(id))
                    .map(|(_, t)| Self::document(t, false))
                    .collect();
                Reply::json(200, JSON_API, &json!({ "data": data }))
            }
            ("DELETE", [_, _, _, token_id]) => self.revoke(token_id),
            _ => one_error(
                405,
                "Method Not Allowed",
                &format!("{method} is not allowed on {path}"),
            ),
        }
    }

    fn ids(&self) -> Option<&Ids> {
        Some(&self.ids)
    }

    fn hide_from_list(&mut self, hidden: BTreeSet<u64>) {
        self.hidden = hidden;
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
