//! The lifecycle on Mailtrap: exactly-once create, reconcile, rotate by
//! reset or by create-then-delete.

use chrono::{DateTime, TimeDelta, Utc};
use secrecy::{ExposeSecret, SecretString};

use super::engine::{Lifecycle, TokenService};
use super::marker::{MAX_LABEL_CHARS, Marker};
use super::mint::{self, Listed, MAX_MINTS, Ops, left_after_mint};
use super::race::{self, Candidate, Finish};
use super::rotate::{
    AfterReset, Fallback, Left, MailtrapPlan, OldState, RotateCause, RotateError, Rotation,
    RotationMethod, Step, Superseded,
};
use super::sink::SecretSink;
use super::token_ref::TokenRef;
use crate::error::{Error, Result, Service};
use crate::mailtrap::{ApiToken, ApiTokens, Client, CreateApiToken, Expiry, NewApiToken, TokenId};

/// How long the old secret keeps working after a reset, as Mailtrap
/// documents it: what dates a reset from the old token's new expiry.
const RESET_GRACE: TimeDelta = TimeDelta::hours(12);

/// Mailtrap as a [`TokenService`]: one account's API tokens, deleted
/// when retired, rotated by reset or by create-then-delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Mailtrap;

/// The lifecycle of one Mailtrap account's API tokens: an exactly-once
/// [`mint`](Lifecycle::mint), [`reconcile`](Lifecycle::reconcile) and
/// [`rotate`](Lifecycle::rotate). Cheap to clone.
///
/// ```
/// use api_tokens::lifecycle::MailtrapLifecycle;
/// use api_tokens::mailtrap::{self, AccessLevel, CreateApiToken, ResourceType};
/// # use api_tokens::testing::MailtrapFake;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), api_tokens::Error> {
/// # let fake = MailtrapFake::start().await;
/// # let (key, url) = (fake.token().clone(), fake.uri());
/// let client = mailtrap::Client::builder().token(key).account_id(3229).base_url(url).build()?;
/// let life = MailtrapLifecycle::new(client);
/// let minted = life
///     .mint(&CreateApiToken::new("CI deploy").permission(ResourceType::Account, 3229, AccessLevel::Viewer))
///     .await?;
/// assert!(minted.token.name.starts_with("CI deploy [at:"));
/// # Ok(()) }
/// ```
///
/// # Rotation on Mailtrap
///
/// [`rotate`](Lifecycle::rotate) replaces token `old` with overlap: 0. the sink's
/// [`check`](SecretSink::check), then a list; 1. a reset (or a create
/// with the old token's permissions, or the plan's
/// [`permissions`](MailtrapPlan::permissions), and a marker, when `plan`
/// asks to [`recreate`](MailtrapPlan::recreate) or states permissions,
/// when another rotation of `old`
/// is in flight, or when the service refuses the reset with 422), and
/// a list to decide whether this run wins among concurrent rotations;
/// 2. a call made with the new secret; 3. the secret handed to `sink`,
/// and a list to confirm the decision; 4. only then the leftovers of
/// interrupted runs are deleted, and the old token too unless the plan
/// lets it run after a reset. See [the module](super) for what each
/// failure leaves behind.
///
/// The new token keeps the old one's expiry unless the plan states one
/// (see [`MailtrapPlan`]).
///
/// A reset whose answer is lost is reconciled by listing: the token it
/// made is the one named `"<old name> <its id>"`; it is deleted and,
/// since the old token cannot be reset twice, a create follows. The
/// old token is then kept working unless the plan asks to
/// [`delete_old`](MailtrapPlan::delete_old): the report says so
/// ([`Rotation::fallback`], [`OldState::Kept`]).
///
/// Concurrent rotations of `old` are safe as on Unit (exactly one
/// completes, the others end [superseded](RotateError::superseded)),
/// with one exception: a reset whose answer is lost cannot tell its
/// own token from a concurrent reset's, and deletes it. Use
/// [`recreate`](MailtrapPlan::recreate) where rotations may overlap
/// and answers may be lost.
///
/// # Errors
///
/// A [`RotateError`] naming the step, what was left behind
/// ([`Left`]) and the cause. A rotation already done is not done again
/// (see [the module](super), "Running a rotation again"): when the
/// sink holds a working secret of a replacement of `old` (a token
/// marked as replacing it, or its reset's token, recognised by the last
/// four characters Mailtrap lists), the run reports it
/// ([`RotationMethod::Resumed`]), deleting the old token first if the
/// plan retires it and it is still listed; when the old token is gone
/// and a token carries the marker of a rotation of it, the run is
/// superseded; with neither, a gone old token is refused at step 0 with
/// [`Error::Invalid`] (a reset's token carries no marker: once the old
/// token is deleted, only a sink holding its secret ties the two). A
/// reset answered 404 because another rotation deleted the old token
/// meanwhile ends the same way. An old token that has expired, with no
/// expiry stated in the plan, is refused at step 0 with
/// [`Error::Invalid`], and so is a lease longer than
/// [`MAX_SPAN`](super::MAX_SPAN), before any request.
pub type MailtrapLifecycle = Lifecycle<Mailtrap>;

impl Lifecycle<Mailtrap> {
    /// The lifecycle of the tokens of `client`'s account (the one named on
    /// its builder, or its token's own).
    pub fn new(client: Client) -> MailtrapLifecycle {
        let tokens = client.api_tokens();
        Lifecycle { client, tokens }
    }

    /// The lifecycle of the account of a client from `MAILTRAP_API_TOKEN`,
    /// `MAILTRAP_ACCOUNT_ID` and `MAILTRAP_API_URL` (see
    /// [`Client::from_env`]).
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] naming the variable that is missing or unusable;
    /// nothing is sent.
    pub fn from_env() -> Result<MailtrapLifecycle> {
        Ok(MailtrapLifecycle::new(Client::from_env()?))
    }

    /// Mailtrap's rotation: see the [alias](MailtrapLifecycle).
    async fn rotate_by_reset(
        &self,
        old: &TokenId,
        plan: &MailtrapPlan,
        sink: &dyn SecretSink,
    ) -> std::result::Result<Rotation, RotateError> {
        let old = *old;
        let old_id = old.to_string();
        let fail =
            |step, left, e: Error| RotateError::new(Service::Mailtrap, &old_id, step, left, e);
        // An expiry Mailtrap would refuse (past, beyond 5 years) is refused
        // before any request, as a create's or a reset's is.
        if let Some(expiry) = plan.expiry {
            expiry
                .check(Utc::now())
                .map_err(|e| fail(Step::Inspect, Left::Unchanged, e))?;
        }
        let begun = self
            .begin(&old, plan.lease, plan.if_older_than, sink)
            .await?;
        let (lease, now) = (begun.lease, begun.now);
        let typed = &begun.typed;
        let listed = &begun.listed;
        let writer = &begun.writer;
        let old_token = begun.old(&old);
        let old_name = old_token.map(|t| t.name.clone());
        let old_expiry = old_token.and_then(|t| t.expires_at);
        let resets = |listed: &[Listed<TokenId>]| -> Vec<(Listed<TokenId>, bool)> {
            let Some(name) = &old_name else {
                return Vec::new();
            };
            // A reset shortens the old token's expiry to the end of its
            // grace period: that dates the reset, and so its token.
            let in_flight = listed
                .iter()
                .find(|t| t.id == old)
                .and_then(|t| t.expires_at)
                .is_some_and(|end| {
                    // The reset began at `end - RESET_GRACE`; in flight
                    // while that is less than a lease ago.
                    end.signed_duration_since(now)
                        .checked_add(&lease)
                        .is_some_and(|ahead| ahead > RESET_GRACE)
                });
            listed
                .iter()
                .filter(|t| is_reset_name(t.id, &t.text, name, old))
                .map(|t| (t.clone(), in_flight))
                .collect()
        };
        let race = begun.race(&old, &resets);
        if let Some(done) = self.up_to_date(&old, &begun, &race) {
            return Ok(done);
        }
        // A finished rotation run again: the sink already holds the secret
        // of a replacement of `old`. While the old token is listed and
        // the plan retires it, a replacement in flight belongs to a run
        // that may be about to retire it itself: this run does not.
        let retires = plan.recreate || plan.after_reset == AfterReset::Delete;
        let wait_for_flight = old_token.is_some() && retires;
        let finished = self
            .held_replacement(sink, typed, |t| {
                let replaces = to_listed(t.clone())
                    .checked_marker()
                    .is_some_and(|m| m.replaces() == Some(old_id.as_str()));
                let reset = match &old_name {
                    Some(name) => is_reset_name(t.id, &t.name, name, old),
                    // The old token is gone with its name: a reset's token
                    // is named "<name> <its id>", and created after it.
                    None => is_reset_name(t.id, &t.name, reset_stem(t), old),
                };
                (replaces || reset)
                    && !(wait_for_flight
                        && race.in_flight(listed, None).iter().any(|r| r.id == t.id))
            })
            .await;
        if let Some(held) = finished {
            if race.writer.waited() {
                // This run waited for a live run into the same sink: what
                // it finds done is that run's rotation, which completed it,
                // storing its secret where this run would have.
                let winner = to_listed(held.clone()).to_ref(Service::Mailtrap);
                let mut cause = Superseded::new(winner);
                cause.secret_at = Some(sink.describe());
                return Err(RotateError::new(
                    Service::Mailtrap,
                    &old_id,
                    Step::Inspect,
                    Left::Unchanged,
                    RotateCause::Superseded(cause),
                ));
            }
            let leftovers = race.leftovers(listed, Some(&held.id));
            return self
                .resumed(old_token, &old_id, held, plan, &leftovers)
                .await;
        }
        let Some(old_token) = old_token else {
            // A replacement whose secret the sink holds was found above,
            // by its last four: none is, so this run is superseded.
            return race::already_rotated(self, sink, &race, listed, |_| None).await;
        };
        let old_listed = to_listed(old_token.clone());
        // A reset cuts the old token's expiry to its grace period's end; a
        // reset of it already listed (an earlier run's, its answer lost)
        // was asked for the expiry the old token had before: that is the
        // one to keep, not the grace period's end.
        let kept_expiry = resets(listed)
            .into_iter()
            .max_by(|(a, _), (b, _)| a.id.cmp(&b.id))
            .map_or(old_token.expires_at, |(reset, _)| reset.expires_at);
        let expiry = match (plan.expiry, kept_expiry) {
            (Some(expiry), _) => expiry,
            (None, None) => Expiry::Never,
            (None, Some(at)) if at > now => Expiry::At(at),
            (None, Some(at)) => {
                let e = Error::invalid(
                    "expires",
                    format!(
                        "token {old_id} expired at {}, so the new token cannot keep its \
                         expiry; state when the new token expires",
                        at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    ),
                );
                return Err(fail(Step::Inspect, Left::Unchanged, e));
            }
        };

        let mut removed = Vec::new();
        let mut unconfirmed = Vec::new();
        let mut reset_sent = false;
        let mut minted = None;
        let mut fallback = None;
        let rivals = race.in_flight(listed, None);
        if !plan.recreate && !rivals.is_empty() {
            fallback = Some(Fallback::RivalInFlight);
        }
        if !plan.recreate && rivals.is_empty() {
            let mut last_lost = None;
            let mut refused = false;
            for _ in 0..MAX_MINTS {
                match self.tokens.reset(old, expiry).await {
                    Ok(new) => {
                        minted = Some((Candidate::of(&new, None), RotationMethod::Reset));
                        break;
                    }
                    Err(Error::OutcomeUnknown { operation, cause }) => {
                        reset_sent = true;
                        match self
                            .remove_resets_of(
                                old_token,
                                &listed.iter().map(|t| t.id).collect::<Vec<_>>(),
                            )
                            .await
                        {
                            Ok(found) => {
                                removed.extend(found);
                                last_lost = Some(*cause);
                            }
                            Err(e) => {
                                let e = Error::Unreconciled {
                                    operation,
                                    marker: None,
                                    cause: Box::new(e),
                                };
                                let left = Left::Orphan {
                                    id: None,
                                    marker: None,
                                };
                                return Err(fail(Step::Mint, left, e));
                            }
                        }
                    }
                    Err(e) if e.status() == Some(422) => {
                        refused = true;
                        break;
                    }
                    Err(e @ Error::NotFound(_)) if !reset_sent => {
                        // The old token went away since step 0: a rotation
                        // of it that finished meanwhile retired it.
                        return self.old_went_away(sink, old_token, plan, e).await;
                    }
                    Err(e) => {
                        let left = self.untouched(old, reset_sent, old_expiry).await;
                        return Err(fail(Step::Mint, left, e));
                    }
                }
            }
            if minted.is_none() && !refused {
                let left = self.untouched(old, reset_sent, old_expiry).await;
                let cause =
                    last_lost.unwrap_or_else(|| Error::invalid("attempts", "no reset was sent"));
                return Err(fail(Step::Mint, left, cause));
            }
            if minted.is_none() {
                fallback = Some(if reset_sent {
                    Fallback::LostResetAnswer
                } else {
                    Fallback::ResetRefused
                });
            }
        }
        let (new, method) = match minted {
            Some(found) => found,
            None => {
                let label = fitted_label(old_token);
                let request = CreateApiToken::new(label.clone())
                    .permissions_from(plan.permissions_for(&old_token.permissions))
                    .expires(expiry);
                let made = mint::mint_once(
                    self,
                    &label,
                    || Marker::replacing(&old_id).headed_for(writer.tag()),
                    |tagged| {
                        let tagged = request.clone().with_name(tagged);
                        async move { self.tokens.create(tagged).await }
                    },
                )
                .await;
                let made = match made {
                    Ok(made) => made,
                    Err(e) => {
                        let left = match left_after_mint(&e) {
                            Left::Unchanged => self.untouched(old, reset_sent, old_expiry).await,
                            orphan => orphan,
                        };
                        return Err(fail(Step::Mint, left, e));
                    }
                };
                removed.extend(made.removed);
                unconfirmed = made.unconfirmed;
                (
                    Candidate::of(&made.token, Some(made.marker)),
                    RotationMethod::Create,
                )
            }
        };

        let delete_asked = plan.after_reset == AfterReset::Delete;
        let kept_after_lost_reset = fallback == Some(Fallback::LostResetAnswer) && !delete_asked;
        let retire_old = match method {
            RotationMethod::Reset => delete_asked,
            _ => !kept_after_lost_reset,
        };
        let untouched = if method == RotationMethod::Reset || reset_sent {
            Left::OldInGrace { until: None }
        } else {
            Left::Unchanged
        };
        let finished = race::finish(
            self,
            sink,
            Finish {
                old: &old_listed,
                new: &new,
                race: &race,
                untouched,
                retire_old,
                probe: plan.probe,
            },
        )
        .await;
        let finished = match finished {
            Ok(done) => done,
            Err(e) => return Err(self.with_grace_end(e, old).await),
        };
        removed.extend(finished);
        let changes = plan.changes(
            &old_token.permissions,
            old_listed.expires_at,
            new.expires_at,
        );
        let old_state = if retire_old {
            OldState::Deleted
        } else if kept_after_lost_reset {
            OldState::Kept {
                expires_at: self.grace_end(old).await,
            }
        } else {
            OldState::GracePeriod {
                until: self.grace_end(old).await,
            }
        };
        Ok(Rotation {
            service: Service::Mailtrap,
            old: old_listed.to_ref(Service::Mailtrap),
            new: new.to_ref(Service::Mailtrap),
            expires_at: new.expires_at,
            method,
            old_state,
            removed,
            fallback,
            changes,
            unconfirmed,
        })
    }

    /// The token among `typed` that `candidate` admits whose secret the
    /// sink holds (its last four characters are the ones Mailtrap lists),
    /// proved with a call made with it.
    async fn held_replacement<'t>(
        &self,
        sink: &dyn SecretSink,
        typed: &'t [ApiToken],
        candidate: impl Fn(&ApiToken) -> bool,
    ) -> Option<&'t ApiToken> {
        let candidates: Vec<&ApiToken> = typed.iter().filter(|t| candidate(t)).collect();
        if candidates.is_empty() {
            return None;
        }
        let secret = sink.current().await.ok().flatten()?;
        let four = last_four(&secret)?;
        let held = candidates
            .into_iter()
            .find(|t| t.last_four.as_deref() == Some(four.as_str()))?;
        self.probe(&secret).await.ok()?;
        Some(held)
    }

    /// The old token was not found at the reset: when a replacement of it
    /// is listed, another rotation finished first. This run reports that
    /// rotation done when the sink holds the replacement's working secret,
    /// and is superseded by the lowest replacement otherwise; with no
    /// replacement listed, it fails with `cause`.
    async fn old_went_away(
        &self,
        sink: &dyn SecretSink,
        old: &ApiToken,
        plan: &MailtrapPlan,
        cause: Error,
    ) -> std::result::Result<Rotation, RotateError> {
        let old_id = old.id.to_string();
        let fail = |cause: RotateCause| {
            RotateError::new(
                Service::Mailtrap,
                &old_id,
                Step::Mint,
                Left::Unchanged,
                cause,
            )
        };
        let Ok(typed) = self.tokens.list().await else {
            return Err(fail(cause.into()));
        };
        if typed.iter().any(|t| t.id == old.id) {
            return Err(fail(cause.into()));
        }
        let replaces = |t: &ApiToken| {
            is_reset_of(t.id, &t.name, old)
                || to_listed(t.clone())
                    .checked_marker()
                    .is_some_and(|m| m.replaces() == Some(old_id.as_str()))
        };
        if let Some(held) = self.held_replacement(sink, &typed, replaces).await {
            return self.resumed(None, &old_id, held, plan, &[]).await;
        }
        let winner = typed.iter().filter(|t| replaces(t)).min_by_key(|t| t.id);
        match winner {
            Some(w) => {
                let w = to_listed(w.clone()).to_ref(Service::Mailtrap);
                tracing::info!(service = %Service::Mailtrap, old = %old_id, winner = %w.id,
                    "the old token was retired by another rotation; this one yields");
                Err(fail(RotateCause::Superseded(Superseded::new(w))))
            }
            None => Err(fail(cause.into())),
        }
    }

    /// The report of a finished rotation run again: the sink holds the
    /// secret of `held`, a replacement of `old`. The leftovers of
    /// interrupted runs are deleted, then the old token, when still listed,
    /// if the plan retires it (the earlier run stopped before its step 4);
    /// otherwise it is left to its grace period.
    async fn resumed(
        &self,
        old: Option<&ApiToken>,
        old_id: &str,
        held: &ApiToken,
        plan: &MailtrapPlan,
        leftovers: &[Listed<TokenId>],
    ) -> std::result::Result<Rotation, RotateError> {
        let new = to_listed(held.clone()).to_ref(Service::Mailtrap);
        let removed = race::remove_all(self, old_id, &new, leftovers).await?;
        let old_state = match old {
            None => OldState::AlreadyGone,
            Some(old) if plan.recreate || plan.after_reset == AfterReset::Delete => {
                race::remove_all(self, old_id, &new, &[to_listed(old.clone())]).await?;
                OldState::Deleted
            }
            Some(old) => OldState::GracePeriod {
                until: old.expires_at,
            },
        };
        Ok(Rotation {
            service: Service::Mailtrap,
            old: match old {
                Some(old) => to_listed(old.clone()).to_ref(Service::Mailtrap),
                None => TokenRef::new(Service::Mailtrap, old_id, None),
            },
            new,
            expires_at: held.expires_at,
            method: RotationMethod::Resumed,
            old_state,
            removed,
            fallback: None,
            changes: Vec::new(),
            unconfirmed: Vec::new(),
        })
    }

    /// Deletes the tokens a reset of `old` made that were not there
    /// before (`earlier` holds the ids of those that were): what a reset
    /// whose answer was lost made, whose secret nobody holds.
    pub(crate) async fn remove_resets_of(
        &self,
        old: &ApiToken,
        earlier: &[TokenId],
    ) -> Result<Vec<TokenRef>> {
        let mut removed = Vec::new();
        for token in self.tokens.list().await? {
            let id = token.id;
            if is_reset_of(id, &token.name, old) && !earlier.contains(&id) {
                self.remove(&id).await?;
                removed.push(to_listed(token).to_ref(Service::Mailtrap));
            }
        }
        Ok(removed)
    }

    /// When the old token stops working, as the service says now.
    async fn grace_end(&self, old: TokenId) -> Option<DateTime<Utc>> {
        self.tokens.get(old).await.ok().and_then(|t| t.expires_at)
    }

    /// What a failure before step 3 leaves: the old token unchanged, or in
    /// its grace period when a reset may have reached the service.
    /// `before` is the old token's expiry as step 0 listed it: a reset
    /// shortens it to the end of the grace period, so an expiry the service
    /// still gives unchanged means no reset reached it.
    async fn untouched(
        &self,
        old: TokenId,
        reset_sent: bool,
        before: Option<DateTime<Utc>>,
    ) -> Left {
        if !reset_sent {
            return Left::Unchanged;
        }
        match self.tokens.get(old).await {
            Ok(token) if token.expires_at == before => Left::Unchanged,
            Ok(token) => Left::OldInGrace {
                until: token.expires_at,
            },
            Err(_) => Left::OldInGrace { until: None },
        }
    }

    /// Fills in when the grace period ends, for an error that left the old
    /// token in it.
    async fn with_grace_end(&self, e: RotateError, old: TokenId) -> RotateError {
        match e.left() {
            Left::OldInGrace { until: None } => {
                let left = Left::OldInGrace {
                    until: self.grace_end(old).await,
                };
                e.with_left(left)
            }
            _ => e,
        }
    }
}

/// Whether a token with this id and name is what a reset of `old` made:
/// the service names it `"<old name> <its id>"`.
fn is_reset_of(id: TokenId, name: &str, old: &ApiToken) -> bool {
    is_reset_name(id, name, &old.name, old.id)
}

/// A reset's token is created after the old one, so its id is higher: a
/// lower id named alike is a reset of another token with the same name.
fn is_reset_name(id: TokenId, name: &str, old_name: &str, old_id: TokenId) -> bool {
    id > old_id
        && name
            .strip_suffix(id.to_string().as_str())
            .and_then(|rest| rest.strip_suffix(' '))
            .is_some_and(|rest| rest == old_name)
}

/// How old a token is, when that can be known: from its checked marker,
/// or for a reset's token, from the grace period of the token it replaced
/// (a reset sets its expiry to the end of a 12-hour grace), while that one
/// is listed. Mailtrap lists no creation time.
fn age_of(token: &ApiToken, typed: &[ApiToken], now: DateTime<Utc>) -> Option<TimeDelta> {
    if let Some(marker) = to_listed(token.clone()).checked_marker() {
        return Some(marker.age(now));
    }
    let replaced = typed
        .iter()
        .find(|t| t.id != token.id && is_reset_name(token.id, &token.name, &t.name, t.id))?;
    let reset_at = replaced.expires_at?.checked_sub_signed(RESET_GRACE)?;
    Some(now.signed_duration_since(reset_at).max(TimeDelta::zero()))
}

/// The name a reset's token was made from: its name without the
/// `" <its id>"` the reset appended (the name itself when there is none).
fn reset_stem(token: &ApiToken) -> &str {
    let id = token.id.to_string();
    token
        .name
        .strip_suffix(id.as_str())
        .and_then(|rest| rest.strip_suffix(' '))
        .unwrap_or(&token.name)
}

/// The last four characters of a secret, as Mailtrap lists them; `None`
/// for a shorter secret.
fn last_four(secret: &SecretString) -> Option<String> {
    let chars: Vec<char> = secret.expose_secret().chars().collect();
    let start = chars.len().checked_sub(4)?;
    Some(chars[start..].iter().collect())
}

/// The label of a token's name: without the ids resets appended, without
/// its markers, and at most [`MAX_LABEL_CHARS`] long, so that it takes a
/// new marker within the service's limit.
fn fitted_label(token: &ApiToken) -> String {
    let id = token.id.to_string();
    let name = token
        .name
        .strip_suffix(&id)
        .and_then(|rest| rest.strip_suffix(' '))
        .unwrap_or(&token.name);
    // Earlier resets appended their ids after the marker too.
    let label = super::marker::fitted_label(Marker::label_through_resets(name));
    label
        .trim()
        .chars()
        .take(MAX_LABEL_CHARS)
        .collect::<String>()
        .trim_end()
        .to_owned()
}

fn to_listed(t: ApiToken) -> Listed<TokenId> {
    Listed {
        id: t.id,
        text: t.name,
        expires_at: t.expires_at,
    }
}

impl super::engine::sealed::Sealed for Mailtrap {}

impl TokenService for Mailtrap {
    const SERVICE: Service = Service::Mailtrap;
    const LABEL_FIELD: &'static str = "name";
    const RECORD_KEEPS_NAME: bool = true;
    type Client = Client;
    type Tokens = ApiTokens;
    type Id = TokenId;
    type Token = ApiToken;
    type Create = CreateApiToken;
    type New = NewApiToken;
    type Plan = MailtrapPlan;

    fn label(request: &CreateApiToken) -> &str {
        request.name()
    }

    fn labelled(request: &CreateApiToken, text: String) -> CreateApiToken {
        request.clone().with_name(text)
    }

    async fn create(tokens: &ApiTokens, request: CreateApiToken) -> Result<NewApiToken> {
        tokens.create(request).await
    }

    async fn list(tokens: &ApiTokens) -> Result<Vec<ApiToken>> {
        tokens.list().await
    }

    fn details(new: &NewApiToken) -> ApiToken {
        new.without_secret()
    }

    fn id_of(token: &ApiToken) -> &TokenId {
        &token.id
    }

    fn age(token: &ApiToken, typed: &[ApiToken], now: DateTime<Utc>) -> Option<TimeDelta> {
        age_of(token, typed, now)
    }

    fn listed(token: ApiToken) -> Listed<TokenId> {
        to_listed(token)
    }

    async fn retire(tokens: &ApiTokens, id: &TokenId) -> Result<()> {
        match tokens.delete(*id).await {
            Ok(()) | Err(Error::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn list_as(life: &MailtrapLifecycle, secret: &SecretString) -> Result<Vec<ApiToken>> {
        life.client
            .with_token(secret.clone())?
            .api_tokens()
            .list()
            .await
    }

    fn record_attributes(
        _: &ApiTokens,
        _: &CreateApiToken,
    ) -> Vec<(&'static str, serde_json::Value)> {
        Vec::new()
    }

    async fn plan_for_record(
        _: &MailtrapLifecycle,
        _: &TokenId,
        plan: &MailtrapPlan,
    ) -> Result<MailtrapPlan> {
        Ok(plan.clone())
    }

    async fn rotate(
        life: &MailtrapLifecycle,
        old: &TokenId,
        plan: &MailtrapPlan,
        sink: &dyn SecretSink,
    ) -> std::result::Result<Rotation, RotateError> {
        life.rotate_by_reset(old, plan, sink).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(id: u64) -> TokenId {
        TokenId::new(id).unwrap()
    }

    fn token(id: u64, name: &str) -> ApiToken {
        ApiToken::new(TokenId::new(id).unwrap(), name)
    }

    #[test]
    fn reset_names_are_recognised() {
        let old = token(12345, "CI deploy");
        assert!(is_reset_of(id(12346), "CI deploy 12346", &old));
        assert!(!is_reset_of(id(12346), "CI deploy 12347", &old));
        assert!(!is_reset_of(id(12346), "CI deploy  12346", &old));
        assert!(!is_reset_of(id(12346), "Other 12346", &old));
        assert!(!is_reset_of(id(12345), "CI deploy 12345", &old));
        // A reset of an earlier token of the same name.
        assert!(!is_reset_of(id(12344), "CI deploy 12344", &old));
    }

    #[test]
    fn labels_drop_reset_ids_and_markers_and_fit() {
        let marked = Marker::new().tag("CI deploy");
        assert_eq!(fitted_label(&token(7, &marked)), "CI deploy");
        assert_eq!(fitted_label(&token(8, &format!("{marked} 8"))), "CI deploy");
        // Two resets: each appended the id of the token it made.
        assert_eq!(
            fitted_label(&token(12351, &format!("{marked} 12350 12351"))),
            "CI deploy"
        );
        assert_eq!(fitted_label(&token(12351, "plain 12351")), "plain");
        assert_eq!(fitted_label(&token(9, "plain 12")), "plain 12");
        let long = "x".repeat(crate::mailtrap::MAX_NAME_CHARS);
        let label = fitted_label(&token(10, &long));
        let name = Marker::replacing("12345678901234567890").tag(&label);
        assert!(name.chars().count() <= crate::mailtrap::MAX_NAME_CHARS);
    }
}
