//! Leak response: from a leaked secret alone to a revoked token, a working
//! replacement and a record that proves it.
//!
//! [`respond_unit`] and [`respond_mailtrap`] take the leaked secret and
//! the [`lifecycle`](crate::lifecycle) of the configured user or account:
//!
//! 1. **Identify.** The secret's format gives a [`Hint`]: a Unit Org API
//!    token is a PASETO `v2.public.` token whose payload (signed, not
//!    encrypted) names the user and the token; a Mailtrap token is 32
//!    hexadecimal characters, of which Mailtrap lists the last four. The
//!    hint is confirmed against the service's own list before anything is
//!    done: a Unit token must be listed under the user its payload names;
//!    a Mailtrap token must be the one listed token with those last four,
//!    or, when several share them, the one of them that the secret itself
//!    can list; otherwise [`LeakError::Ambiguous`] names them all and
//!    nothing is touched. A Mailtrap secret that lists tokens, none of
//!    them the configured account's, is another account's. A secret that
//!    matches no token is [`LeakError::NoMatch`], and nothing is touched.
//! 2. **Verify** with one harmless call made with the secret (a list):
//!    [`Liveness`].
//! 3. **Act.** Revoke (Unit) or delete (Mailtrap: never a reset, which
//!    leaves the old secret working for its grace period) at once. With a
//!    sink ([`Response::store_in`]), a replacement is minted through the
//!    lifecycle too: with [`Response::replace`], by a rotation (mint,
//!    probe, store, then retire the leaked token), so services keep
//!    running (a replacement that cannot be planned, such as a Unit one
//!    with no scopes known, stops it before anything is touched:
//!    [`LeakError::Unplanned`]); without it, the leaked token is removed
//!    first, even when its replacement cannot be planned
//!    ([`LeakError::Unreplaced`]), and the replacement minted into the
//!    sink after. A store that keeps records (Secrets Manager, Vault) is
//!    read first: the store whose record names the leaked token gives a
//!    Unit replacement the scopes that record keeps; a record of another
//!    live token, or of another service's, is never replaced, and nothing
//!    is touched ([`LeakError::Unplanned`]).
//! 4. **Prove** with the same call, made with the secret again: it must be
//!    refused ([`LeakError::NotRefused`] otherwise).
//! 5. **Evidence**: an [`Evidence`] record (JSON with `serde`), which holds
//!    a SHA-256 [`fingerprint`] of the secret, never the secret.
//!
//! A secret already refused before anything is done is left alone and
//! recorded as such ([`Action::AlreadyRefused`]) when the token it was
//! identified as has expired; when that token is listed and has not
//! expired, it would accept its own secret, so a refused secret is not its
//! ([`LeakError::NoMatch`], nothing touched).

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Service};
use crate::lifecycle::{
    Lifecycle, MailtrapLifecycle, MailtrapPlan, Marker, MintIntoError, RotateError, SecretMeta,
    SecretSink, SinkError, TokenRef, TokenService, UnitLifecycle, UnitPlan,
};
use crate::{mailtrap, unit};

pub use crate::secret_hint::{Hint, MAILTRAP_LEN, UNIT_PREFIX, UnitClaims, hint};

/// The SHA-256 of the secret, as `sha256:` and 64 lowercase hexadecimal
/// characters: tells leaks of one secret apart without holding it.
pub fn fingerprint(secret: &SecretString) -> String {
    let digest = Sha256::digest(secret.expose_secret().trim().as_bytes());
    format!("sha256:{digest:x}")
}

/// The secret without surrounding white space, as [`hint`] and
/// [`fingerprint`] read it: what the calls made with it send.
fn trimmed(secret: &SecretString) -> SecretString {
    SecretString::from(secret.expose_secret().trim().to_owned())
}

/// What a call made with the leaked secret answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Liveness {
    /// The service accepted it: the secret works.
    Accepted,
    /// The service refused it (401): the secret does not work.
    Refused,
    /// The service knew it but it may not make this call (403): the
    /// secret works, with fewer permissions.
    NotPermitted,
}

/// How the token was told from the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum IdentifiedBy {
    /// The Unit payload's user and token, found in Unit's list.
    UnitPayload,
    /// The Unit payload's user, and the only token of that user in Unit's
    /// list expiring at the second the payload's `exp` says (a payload
    /// that names no token).
    UnitPayloadExpiry,
    /// The only token of the Mailtrap list with the secret's last four
    /// (the secret could not list tokens, or did not list this one).
    LastFour,
    /// Among the Mailtrap tokens with the secret's last four, the only one
    /// the secret itself lists (also when it is the only one with them).
    LastFourAndOwnList,
}

/// What was done to the leaked token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Action {
    /// Revoked (Unit) at once.
    Revoked,
    /// Deleted (Mailtrap) at once.
    Deleted,
    /// Removed first, then a replacement minted into the sink.
    RemovedThenReplaced,
    /// Replaced by a rotation (minted, stored), then removed.
    ReplacedThenRemoved,
    /// Nothing: the service already refused the secret, and the token it
    /// was identified as has expired.
    AlreadyRefused,
}

/// The replacement minted for a leaked token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Replacement {
    /// Its id.
    pub id: String,
    /// Where its secret was stored ([`SecretSink::describe`]).
    pub stored_in: String,
}

/// The record of one leak's response. Holds no secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Evidence {
    /// When the response ended.
    pub at: DateTime<Utc>,
    /// `unit` or `mailtrap`.
    pub service: &'static str,
    /// The user (Unit) or account (Mailtrap: the one the client names,
    /// else the token's `account` resource, when it has one).
    pub owner: Option<String>,
    /// The leaked token's id.
    pub token_id: String,
    /// Its description (Unit) or name (Mailtrap).
    pub token_name: Option<String>,
    /// How it was identified.
    pub identified_by: IdentifiedBy,
    /// What a call made with the secret answered before anything was done.
    pub live_before: Liveness,
    /// What was done.
    pub action: Action,
    /// Whether the service refused the secret afterwards (checked).
    pub refused_after: bool,
    /// The replacement, when a sink was given.
    pub replacement: Option<Replacement>,
    /// The SHA-256 [`fingerprint`] of the secret.
    pub fingerprint: String,
}

/// What to do beyond removing the leaked token.
#[derive(Default)]
pub struct Response<'a> {
    sink: Option<&'a dyn SecretSink>,
    replace: bool,
    unit_scopes: Option<Vec<unit::Scope>>,
}

impl<'a> Response<'a> {
    /// Remove the leaked token, and nothing else.
    pub fn new() -> Response<'a> {
        Response::default()
    }

    /// Mint a replacement through the lifecycle and store its secret in
    /// `sink`; without [`replace`](Response::replace), after the leaked
    /// token is removed.
    pub fn store_in(mut self, sink: &'a dyn SecretSink) -> Response<'a> {
        self.sink = Some(sink);
        self
    }

    /// Store the replacement before the leaked token is removed (a
    /// rotation), so the services that use it keep running.
    pub fn replace(mut self) -> Response<'a> {
        self.replace = true;
        self
    }

    /// The scopes of a Unit replacement. Unit does not list scopes: by
    /// default, the scopes the leaked token's payload names; a payload may
    /// name none (Unit's own example, `{"role":"org","userId":"2"}`, does
    /// not), and then these are needed. The replacement keeps the leaked
    /// token's expiration and source addresses.
    pub fn unit_scopes(mut self, scopes: impl IntoIterator<Item = unit::Scope>) -> Response<'a> {
        self.unit_scopes = Some(scopes.into_iter().collect());
        self
    }
}

/// The step of a response at which a service call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stage {
    /// Listing the tokens to confirm the identification.
    Identify,
    /// The call made with the secret before acting.
    Verify,
    /// Revoking or deleting the leaked token.
    Act,
    /// The call made with the secret after acting.
    Prove,
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stage::Identify => "identify",
            Stage::Verify => "verify",
            Stage::Act => "act",
            Stage::Prove => "prove",
        })
    }
}

/// Why a leak response stopped. Names the secret by its fingerprint only.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LeakError {
    /// The secret matches no token of the configured user or account:
    /// nothing was touched.
    #[error(
        "secret {fingerprint} matches no {service} token of ours: {reason}; nothing was touched"
    )]
    NoMatch {
        /// The service asked.
        service: Service,
        /// The secret's fingerprint.
        fingerprint: String,
        /// Why.
        reason: String,
    },
    /// Several tokens may be the leaked one and the secret does not tell
    /// which: nothing was touched.
    #[error(
        "secret {fingerprint} may be any of {} {service} tokens ({}); nothing was touched",
        .candidates.len(),
        .candidates.iter().map(|c| c.id.as_str()).collect::<Vec<_>>().join(", ")
    )]
    Ambiguous {
        /// The service asked.
        service: Service,
        /// The secret's fingerprint.
        fingerprint: String,
        /// The tokens it may be.
        candidates: Vec<TokenRef>,
    },
    /// A call failed.
    #[error("{service} leak response for secret {fingerprint} failed at {stage}: {source}")]
    Service {
        /// The service.
        service: Service,
        /// The secret's fingerprint.
        fingerprint: String,
        /// Where.
        stage: Stage,
        /// The failure.
        #[source]
        source: Error,
    },
    /// The rotation that replaces the leaked token failed (it says what it
    /// left).
    #[error("leak response for secret {fingerprint}: {source}")]
    Rotate {
        /// The secret's fingerprint.
        fingerprint: String,
        /// The failure.
        #[source]
        source: RotateError,
    },
    /// The leaked token was removed, but minting its replacement into the
    /// sink failed.
    #[error("leak response for secret {fingerprint}: leaked token {token_id} removed; {source}")]
    Replace {
        /// The secret's fingerprint.
        fingerprint: String,
        /// The removed token.
        token_id: String,
        /// The failure.
        #[source]
        source: Box<MintIntoError>,
    },
    /// A replacement to store before the leaked token is removed
    /// ([`Response::replace`]) cannot be planned (a Unit replacement needs
    /// scopes: [`Response::unit_scopes`], or a payload that names them):
    /// nothing was touched.
    #[error(
        "{service} leak response for secret {fingerprint}: nothing was touched: \
         its replacement cannot be planned: {source}"
    )]
    Unplanned {
        /// The service.
        service: Service,
        /// The secret's fingerprint.
        fingerprint: String,
        /// Why.
        #[source]
        source: Error,
    },
    /// The sink given for the replacement could not be read (a store
    /// whose record could not be read, or is not a record): nothing was
    /// touched.
    #[error(
        "{service} leak response for secret {fingerprint}: nothing was touched: \
         reading the secret: {source}"
    )]
    Sink {
        /// The service.
        service: Service,
        /// The secret's fingerprint.
        fingerprint: String,
        /// The store's failure.
        #[source]
        source: SinkError,
    },
    /// The leaked token was removed (without [`Response::replace`], it
    /// dies first) and the secret checked after, but its replacement
    /// cannot be planned (a Unit replacement needs scopes:
    /// [`Response::unit_scopes`]): none was minted.
    #[error(
        "{} token {} was removed ({}), but no replacement was minted: it cannot be planned: {source}",
        .evidence.service, .evidence.token_id, refused_note(.evidence)
    )]
    Unreplaced {
        /// What was done.
        evidence: Box<Evidence>,
        /// Why no replacement.
        #[source]
        source: Error,
    },
    /// The service still accepts the secret after the token was removed.
    #[error(
        "{} token {} was removed but secret {} is still accepted",
        .evidence.service, .evidence.token_id, .evidence.fingerprint
    )]
    NotRefused {
        /// What was done.
        evidence: Box<Evidence>,
    },
}

/// Whether the secret was refused after the token was removed, in words.
fn refused_note(evidence: &Evidence) -> String {
    if evidence.refused_after {
        format!("secret {} refused after", evidence.fingerprint)
    } else {
        format!("yet secret {} is still accepted", evidence.fingerprint)
    }
}

impl LeakError {
    /// Whether nothing was touched because the secret matched none or
    /// several of our tokens.
    pub fn is_unmatched(&self) -> bool {
        matches!(
            self,
            LeakError::NoMatch { .. } | LeakError::Ambiguous { .. }
        )
    }
}

/// A payload's time (`exp`): RFC 3339, or seconds since the epoch.
fn payload_time(text: &str) -> Option<DateTime<Utc>> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return DateTime::from_timestamp(text.parse().ok()?, 0);
    }
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn no_match(service: Service, fingerprint: &str, reason: impl Into<String>) -> LeakError {
    LeakError::NoMatch {
        service,
        fingerprint: fingerprint.to_owned(),
        reason: reason.into(),
    }
}

fn failed(service: Service, fingerprint: &str, stage: Stage) -> impl Fn(Error) -> LeakError {
    let fingerprint = fingerprint.to_owned();
    move |source| LeakError::Service {
        service,
        fingerprint: fingerprint.clone(),
        stage,
        source,
    }
}

/// The answer to a call made with the secret: the tokens it listed when
/// accepted.
fn liveness<T>(answer: crate::Result<T>) -> crate::Result<(Liveness, Option<T>)> {
    match answer {
        Ok(listed) => Ok((Liveness::Accepted, Some(listed))),
        Err(Error::Forbidden(_)) => Ok((Liveness::NotPermitted, None)),
        Err(Error::Unauthorized(_)) => Ok((Liveness::Refused, None)),
        Err(e) => Err(e),
    }
}

/// Whether `life`'s service accepts `secret` now, and what it listed
/// with it when it did.
async fn liveness_of<S: TokenService>(
    life: &Lifecycle<S>,
    secret: &SecretString,
) -> crate::Result<(Liveness, Option<Vec<S::Token>>)> {
    liveness(life.list_as(secret).await)
}

/// What the record the sink holds says of its token, read before any
/// request to the service: `None` without a sink, or a sink that keeps no
/// record.
async fn held_record(
    how: &Response<'_>,
    service: Service,
    print: &str,
) -> Result<Option<SecretMeta>, LeakError> {
    let Some(sink) = how.sink else {
        return Ok(None);
    };
    sink.current_meta().await.map_err(|source| LeakError::Sink {
        service,
        fingerprint: print.to_owned(),
        source,
    })
}

/// Refuses a sink whose record names a token other than the leaked
/// `leaked`, when that token is another service's or one of `listed`
/// (live): the replacement would take the place of its record, and nobody
/// would hold it. A record of a token no longer listed may be replaced.
fn check_held(
    held: Option<&SecretMeta>,
    service: Service,
    leaked: &str,
    listed: &[String],
    how: &Response<'_>,
    print: &str,
) -> Result<(), LeakError> {
    let Some(meta) = held else {
        return Ok(());
    };
    let other = if meta.service() != service {
        format!("a {} token's record (token {})", meta.service(), meta.id())
    } else if meta.id() != leaked && listed.iter().any(|id| id == meta.id()) {
        format!("the record of token {}, which is live", meta.id())
    } else {
        return Ok(());
    };
    let sink = how.sink.map(|s| s.describe()).unwrap_or_default();
    Err(LeakError::Unplanned {
        service,
        fingerprint: print.to_owned(),
        source: Error::invalid(
            "secret_to",
            format!(
                "{sink} holds {other}, not the leaked token {leaked}'s: the replacement \
                 would take its place and leave it with no holder; give the store whose \
                 record names the leaked token, or a new one"
            ),
        ),
    })
}

/// Acts on the identified token `id` as `how` asks (removed, or replaced
/// through the lifecycle: by rotation, or removed and then minted anew
/// from `replacement`'s plan and request), then proves the secret
/// refused. `removed` names what a removal is on the service.
async fn act<S: TokenService>(
    life: &Lifecycle<S>,
    secret: &SecretString,
    how: &Response<'_>,
    token: &S::Token,
    found: Found,
    removed: Action,
    replacement: impl FnOnce() -> crate::Result<(S::Plan, S::Create)>,
) -> Result<Evidence, LeakError> {
    let service = S::SERVICE;
    let print = found.fingerprint.clone();
    let id = S::id_of(token);
    let mut evidence = Evidence::found::<S>(token, found);
    if evidence.live_before == Liveness::Refused {
        // A token that has expired refuses its secret: nothing left to do.
        // One that is listed and has not expired would accept its own
        // secret: a refused secret is not that token's (a forged payload
        // that names it, hex that shares its last four).
        if S::listed(token.clone())
            .expires_at
            .is_some_and(|at| at <= Utc::now())
        {
            return Ok(evidence);
        }
        return Err(no_match(
            service,
            &print,
            format!(
                "{service} refuses it, yet token {id} is listed and has not expired: \
                 the secret is not that token's"
            ),
        ));
    }
    match how.sink {
        None => {
            life.retire(id)
                .await
                .map_err(failed(service, &print, Stage::Act))?;
            evidence.action = removed;
        }
        Some(sink) => {
            let new_id =
                if how.replace {
                    let (plan, _) = replacement().map_err(|source| LeakError::Unplanned {
                        service,
                        fingerprint: print.clone(),
                        source,
                    })?;
                    let rotation =
                        life.rotate(id, &plan, sink)
                            .await
                            .map_err(|source| LeakError::Rotate {
                                fingerprint: print.clone(),
                                source,
                            })?;
                    evidence.action = Action::ReplacedThenRemoved;
                    rotation.new.id
                } else {
                    // The leaked token dies first, whatever becomes of its
                    // replacement.
                    life.retire(id)
                        .await
                        .map_err(failed(service, &print, Stage::Act))?;
                    evidence.action = removed;
                    let request =
                        match replacement() {
                            Ok((_, request)) => request,
                            Err(source) => {
                                let (after, _) = liveness_of(life, secret)
                                    .await
                                    .map_err(failed(service, &print, Stage::Prove))?;
                                evidence.refused_after = after == Liveness::Refused;
                                evidence.at = Utc::now();
                                return Err(LeakError::Unreplaced {
                                    evidence: Box::new(evidence),
                                    source,
                                });
                            }
                        };
                    let minted = life.mint_into(&request, sink).await.map_err(|source| {
                        LeakError::Replace {
                            fingerprint: print.clone(),
                            token_id: id.to_string(),
                            source: Box::new(source),
                        }
                    })?;
                    evidence.action = Action::RemovedThenReplaced;
                    minted.id
                };
            evidence.replacement = Some(Replacement {
                id: new_id,
                stored_in: sink.describe(),
            });
        }
    }
    let (after, _) =
        liveness_of(life, secret)
            .await
            .map_err(failed(service, &print, Stage::Prove))?;
    prove(evidence, after)
}

/// Responds to a leaked Unit Org API token of `life`'s user: identifies
/// it, verifies it, revokes it (with a replacement when `how` has a
/// sink), proves it refused and returns the evidence.
///
/// # Errors
///
/// [`LeakError::NoMatch`] when the secret is not a Unit token of this
/// user listed by Unit, or Unit refuses it although the token it names is
/// listed and has not expired (nothing touched); [`LeakError::Service`] when a
/// call fails; [`LeakError::Unplanned`] when a replacement to store
/// before the revoke cannot be planned (no scopes known: checked before
/// any request), [`LeakError::Unreplaced`] when the token was revoked but
/// its replacement cannot be planned; [`LeakError::Rotate`] or
/// [`LeakError::Replace`] when the replacement fails;
/// [`LeakError::NotRefused`] when the secret still works after the revoke.
pub async fn respond_unit(
    life: &UnitLifecycle,
    secret: &SecretString,
    how: &Response<'_>,
) -> Result<Evidence, LeakError> {
    let service = Service::Unit;
    let secret = &trimmed(secret);
    let print = fingerprint(secret);
    let claims = match hint(secret) {
        Some(Hint::Unit(claims)) => claims,
        _ => {
            return Err(no_match(
                service,
                &print,
                "not a Unit Org API token (v2.public. and base64url characters and dots, \
                 with a JSON payload whose ids are Unit ids)",
            ));
        }
    };
    let user = life.tokens().user_id().as_str().to_owned();
    if claims.user_id.as_deref() != Some(user.as_str()) {
        return Err(no_match(
            service,
            &print,
            format!("its payload does not name user {user}"),
        ));
    }
    let held = held_record(how, service, &print).await?;
    if how.sink.is_some() && how.replace {
        // The replacement is minted before the revoke: what it needs is
        // checked before anything is asked.
        recorded_scopes(held.as_ref(), claims.token_id.as_deref())
            .and_then(|recorded| unit_scopes(how, &recorded, &claims))
            .map_err(|source| LeakError::Unplanned {
                service,
                fingerprint: print.clone(),
                source,
            })?;
    }
    let expiry = claims.expiration.as_deref().and_then(payload_time);
    if claims.token_id.is_none() && expiry.is_none() {
        return Err(no_match(
            service,
            &print,
            "its payload names no token, nor an expiry to find it by",
        ));
    }
    let listed = life
        .tokens()
        .list()
        .await
        .map_err(failed(service, &print, Stage::Identify))?;
    let live: Vec<String> = listed.iter().map(|t| t.id.to_string()).collect();
    let (token, identified_by) = if let Some(token_id) = claims.token_id.as_deref() {
        let Some(token) = listed.into_iter().find(|t| t.id.as_str() == token_id) else {
            return Err(no_match(
                service,
                &print,
                format!("user {user} has no token {token_id}"),
            ));
        };
        (token, IdentifiedBy::UnitPayload)
    } else {
        // A payload that names the user but not the token: the user's
        // token expiring at the second the payload says, when only one does.
        let at = expiry.map(|e| e.timestamp());
        let mut same: Vec<unit::ApiToken> = listed
            .into_iter()
            .filter(|t| t.expiration.map(|e| e.timestamp()) == at)
            .collect();
        if same.len() > 1 {
            return Err(LeakError::Ambiguous {
                service,
                fingerprint: print,
                candidates: same
                    .iter()
                    .map(|t| TokenRef::new(service, t.id.as_str(), t.description.clone()))
                    .collect(),
            });
        }
        let Some(token) = same.pop() else {
            return Err(no_match(
                service,
                &print,
                format!("user {user} has no token expiring when its payload says"),
            ));
        };
        (token, IdentifiedBy::UnitPayloadExpiry)
    };
    check_held(
        held.as_ref(),
        service,
        token.id.as_str(),
        &live,
        how,
        &print,
    )?;
    let (live_before, _) =
        liveness_of(life, secret)
            .await
            .map_err(failed(service, &print, Stage::Verify))?;
    let found = Found {
        owner: Some(user),
        identified_by,
        live_before,
        fingerprint: print,
    };
    act(life, secret, how, &token, found, Action::Revoked, || {
        let recorded = recorded_scopes(held.as_ref(), Some(token.id.as_str()))?;
        let (scopes, expiration) = unit_replacement(how, &recorded, &claims, &token)?;
        let label = Marker::label(token.description.as_deref().unwrap_or_default());
        let label = if label.trim().is_empty() {
            format!("replaces leaked token {}", token.id.as_str())
        } else {
            label.to_owned()
        };
        let request = unit::CreateApiToken::new(label, scopes.clone(), expiration)
            .source_ips(token.source_ips.iter().cloned());
        Ok((UnitPlan::new(scopes, expiration), request))
    })
    .await
}

/// The scopes the sink's record keeps for Unit token `id` (any token, when
/// `id` is `None`): none when it holds no record, or another token's.
///
/// # Errors
///
/// [`Error::Invalid`] when the record's scopes are not a list of scopes
/// this version knows.
fn recorded_scopes(held: Option<&SecretMeta>, id: Option<&str>) -> crate::Result<Vec<unit::Scope>> {
    match held {
        Some(meta) if meta.service() == Service::Unit && id.is_none_or(|id| meta.id() == id) => {
            crate::lifecycle::mint::unit_record_scopes(meta.attribute("scopes"))
                .map_err(|reason| Error::invalid("secret_to", reason))
        }
        _ => Ok(Vec::new()),
    }
}

/// The scopes of a Unit replacement: the scopes asked for, else those the
/// record of the leaked token in the sink keeps (`recorded`), else those
/// the payload names.
fn unit_scopes(
    how: &Response<'_>,
    recorded: &[unit::Scope],
    claims: &UnitClaims,
) -> crate::Result<Vec<unit::Scope>> {
    let scopes = match &how.unit_scopes {
        Some(scopes) => scopes.clone(),
        None if !recorded.is_empty() => recorded.to_vec(),
        None => claims
            .scope
            .as_deref()
            .unwrap_or_default()
            .split_whitespace()
            .map(str::parse::<unit::Scope>)
            .collect::<crate::Result<Vec<_>>>()?,
    };
    if scopes.is_empty() {
        return Err(Error::invalid(
            "scope",
            "Unit does not list a token's scopes, and neither the leaked token's payload nor \
             a record of it in the sink names any: give the replacement's scopes",
        ));
    }
    Ok(scopes)
}

/// The scopes and expiration of a Unit replacement: [`unit_scopes`]; the
/// leaked token's expiration.
fn unit_replacement(
    how: &Response<'_>,
    recorded: &[unit::Scope],
    claims: &UnitClaims,
    token: &unit::ApiToken,
) -> crate::Result<(Vec<unit::Scope>, DateTime<Utc>)> {
    let scopes = unit_scopes(how, recorded, claims)?;
    let Some(expiration) = token.expiration.filter(|at| *at > Utc::now()) else {
        return Err(Error::invalid(
            "expiration",
            "Unit lists no future expiration for the leaked token: give the replacement's",
        ));
    };
    Ok((scopes, expiration))
}

/// Responds to a leaked Mailtrap API token of `life`'s account (or of the
/// accounts its client reaches): identifies it, verifies it, deletes it
/// (with a replacement when `how` has a sink), proves it refused and
/// returns the evidence.
///
/// # Errors
///
/// [`LeakError::NoMatch`] when no listed token ends with the secret's last
/// four, the secret lists tokens of another account (none of this one's),
/// or Mailtrap refuses the secret although the token it was identified as
/// is listed and has not expired (nothing touched); [`LeakError::Ambiguous`] when several do and
/// the secret does not tell which (nothing touched);
/// [`LeakError::Service`] when a call fails; [`LeakError::Rotate`] or
/// [`LeakError::Replace`] when the replacement fails;
/// [`LeakError::NotRefused`] when the secret still works after the delete.
/// (A Mailtrap replacement is always planned: the leaked token's
/// permissions.)
pub async fn respond_mailtrap(
    life: &MailtrapLifecycle,
    secret: &SecretString,
    how: &Response<'_>,
) -> Result<Evidence, LeakError> {
    let service = Service::Mailtrap;
    let secret = &trimmed(secret);
    let print = fingerprint(secret);
    let last_four = match hint(secret) {
        Some(Hint::Mailtrap { last_four }) => last_four,
        _ => return Err(no_match(service, &print, "not a Mailtrap API token")),
    };
    let held = held_record(how, service, &print).await?;
    let listed = life
        .tokens()
        .list()
        .await
        .map_err(failed(service, &print, Stage::Identify))?;
    let ours: Vec<mailtrap::TokenId> = listed.iter().map(|t| t.id).collect();
    let candidates: Vec<mailtrap::ApiToken> = listed
        .into_iter()
        .filter(|t| {
            t.last_four
                .as_deref()
                .is_some_and(|four| four.eq_ignore_ascii_case(&last_four))
        })
        .collect();
    if candidates.is_empty() {
        return Err(no_match(
            service,
            &print,
            "no listed token has its last four characters",
        ));
    }
    let (live_before, own_list) =
        liveness_of(life, secret)
            .await
            .map_err(failed(service, &print, Stage::Verify))?;
    let seen = own_list.unwrap_or_default();
    // The tokens the secret itself lists are its account's: when it lists
    // some and none is the configured account's, it is another account's
    // token, whatever its last four.
    if !seen.is_empty() && !seen.iter().any(|s| ours.contains(&s.id)) {
        return Err(no_match(
            service,
            &print,
            "it lists the tokens of another account, none of the configured account's",
        ));
    }
    let (token, identified_by) = if let [only] = candidates.as_slice() {
        if seen.iter().any(|s| s.id == only.id) {
            (only.clone(), IdentifiedBy::LastFourAndOwnList)
        } else {
            (only.clone(), IdentifiedBy::LastFour)
        }
    } else {
        let narrowed: Vec<&mailtrap::ApiToken> = candidates
            .iter()
            .filter(|c| seen.iter().any(|s| s.id == c.id))
            .collect();
        match narrowed.as_slice() {
            [only] => ((*only).clone(), IdentifiedBy::LastFourAndOwnList),
            _ => {
                return Err(LeakError::Ambiguous {
                    service,
                    fingerprint: print,
                    candidates: candidates
                        .iter()
                        .map(|c| TokenRef::new(service, c.id.to_string(), Some(c.name.clone())))
                        .collect(),
                });
            }
        }
    };
    let live: Vec<String> = ours.iter().map(ToString::to_string).collect();
    check_held(
        held.as_ref(),
        service,
        &token.id.to_string(),
        &live,
        how,
        &print,
    )?;
    // The account named on the client, else the one the token belongs to
    // (its `account` resource).
    let owner = life
        .client()
        .account_id()
        .map(|a| a.to_string())
        .or_else(|| {
            token
                .permissions
                .iter()
                .find(|p| p.resource_type == mailtrap::ResourceType::Account)
                .map(|p| p.resource_id.to_string())
        });
    let found = Found {
        owner,
        identified_by,
        live_before,
        fingerprint: print,
    };
    act(life, secret, how, &token, found, Action::Deleted, || {
        // A create with the old permissions, never a reset: a reset
        // leaves the leaked secret working for its grace period.
        let request = mailtrap::CreateApiToken::new(Marker::label(&token.name).trim())
            .permissions_from(token.permissions.iter().cloned());
        Ok((MailtrapPlan::new().recreate().delete_old(), request))
    })
    .await
}

/// What identifying and verifying a leaked token found, besides the token.
struct Found {
    owner: Option<String>,
    identified_by: IdentifiedBy,
    live_before: Liveness,
    fingerprint: String,
}

impl Evidence {
    /// The evidence of `token`, identified and verified, before anything
    /// is done: already refused, or to be acted on.
    fn found<S: TokenService>(token: &S::Token, found: Found) -> Evidence {
        let listed = S::listed(token.clone());
        Evidence {
            at: Utc::now(),
            service: if S::SERVICE == Service::Unit {
                "unit"
            } else {
                "mailtrap"
            },
            owner: found.owner,
            token_id: listed.id.to_string(),
            token_name: Some(listed.text).filter(|text| !text.is_empty()),
            identified_by: found.identified_by,
            live_before: found.live_before,
            action: Action::AlreadyRefused,
            refused_after: found.live_before == Liveness::Refused,
            replacement: None,
            fingerprint: found.fingerprint,
        }
    }
}

/// Records what the call made after acting answered: the secret must be
/// refused.
fn prove(mut evidence: Evidence, after: Liveness) -> Result<Evidence, LeakError> {
    evidence.refused_after = after == Liveness::Refused;
    evidence.at = Utc::now();
    if evidence.refused_after {
        Ok(evidence)
    } else {
        Err(LeakError::NotRefused {
            evidence: Box::new(evidence),
        })
    }
}
