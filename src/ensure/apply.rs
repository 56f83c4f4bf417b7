//! Carrying out a [`Plan`]: creates by an exactly-once mint settled
//! against other runs, rotations and replacements through the lifecycle's
//! `rotate` (mint, probe, store, retire).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::Utc;

use crate::error::{Error, Service};
use crate::lifecycle::{
    Left, MailtrapLifecycle, MailtrapPlan, RotateError, Rotation, SecretSink, SinkSpec, Step,
    TokenRef, UnitLifecycle, UnitPlan,
};
use crate::{mailtrap, unit};

use super::entry::{MailtrapEntry, UnitEntry};
use super::load::TokensFile;
use super::plan::{Action, Plan, Target};
use super::report::{ActionError, ApplyReport, Done, Outcome};
use super::services::{Services, account_text};
use crate::lifecycle::settle::{Settled, Unsettled};

/// Called once per action carried out, as it ends: the outcome, its place
/// (from 1) and how many there are.
pub type OnOutcome = Arc<dyn Fn(&Outcome, usize, usize) + Send + Sync>;

/// How to apply a plan.
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct ApplyOptions {
    /// Remove the orphans the plan lists too.
    pub prune: bool,
    /// Told of each action as it ends (a progress line).
    pub on_outcome: Option<OnOutcome>,
}

impl std::fmt::Debug for ApplyOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApplyOptions")
            .field("prune", &self.prune)
            .field("on_outcome", &self.on_outcome.as_ref().map(|_| "set"))
            .finish()
    }
}

impl ApplyOptions {
    /// No pruning, no progress.
    pub fn new() -> ApplyOptions {
        ApplyOptions::default()
    }

    /// Removes the orphans too.
    pub fn prune(mut self, prune: bool) -> ApplyOptions {
        self.prune = prune;
        self
    }

    /// Calls `f` as each action ends.
    pub fn on_outcome(
        mut self,
        f: impl Fn(&Outcome, usize, usize) + Send + Sync + 'static,
    ) -> ApplyOptions {
        self.on_outcome = Some(Arc::new(f));
        self
    }
}

/// Runs the pending actions: each service's one after the other (so each
/// client's pacer keeps them under the service's rate limit), both
/// services at once.
pub(crate) async fn run(
    file: &TokensFile,
    services: &Services,
    plan: &Plan,
    options: &ApplyOptions,
) -> ApplyReport {
    let pending: Vec<&Action> = plan.pending(options.prune).collect();
    let total = pending.len();
    let done = AtomicUsize::new(0);
    let (mailtrap, unit): (Vec<&Action>, Vec<&Action>) = pending
        .into_iter()
        .partition(|a| a.service == Service::Mailtrap);
    let lane = Lane {
        file,
        services,
        options,
        done: &done,
        total,
    };
    let (mut m, u) = tokio::join!(lane.run(mailtrap), lane.run(unit));
    m.extend(u);
    ApplyReport { actions: m }
}

/// One service's actions, one after the other.
#[derive(Clone, Copy)]
struct Lane<'a> {
    file: &'a TokensFile,
    services: &'a Services,
    options: &'a ApplyOptions,
    done: &'a AtomicUsize,
    total: usize,
}

impl Lane<'_> {
    async fn run(self, actions: Vec<&Action>) -> Vec<Outcome> {
        let mut out = Vec::new();
        for action in actions {
            let result = act(self.file, self.services, action).await;
            let outcome = Outcome {
                action: action.clone(),
                result,
            };
            let place = self.done.fetch_add(1, Ordering::SeqCst) + 1;
            if let Some(f) = &self.options.on_outcome {
                f(&outcome, place, self.total);
            }
            out.push(outcome);
        }
        out
    }
}

async fn act(file: &TokensFile, services: &Services, action: &Action) -> Result<Done, ActionError> {
    match &action.target {
        Target::Mailtrap {
            entry,
            home,
            token,
            others,
        } => {
            let at = MailtrapAt {
                home: *home,
                token: *token,
                others,
            };
            act_mailtrap(file, services, &file.mailtrap()[*entry], at).await
        }
        Target::Unit {
            entry,
            user,
            token,
            others,
        } => {
            act_unit(
                file,
                services,
                &file.unit()[*entry],
                user,
                token.as_ref(),
                others,
            )
            .await
        }
        Target::MailtrapOrphan { account, token } => {
            let deleted = mailtrap_life(services, *account)?.retire(token).await;
            orphan_removed(deleted, Service::Mailtrap, token.to_string(), action)
        }
        Target::UnitOrphan { user, token } => {
            let revoked = unit_life(services, user)?.retire(token).await;
            orphan_removed(revoked, Service::Unit, token.as_str(), action)
        }
    }
}

/// Where a Mailtrap action acts (see [`Target::Mailtrap`]).
struct MailtrapAt<'a> {
    home: Option<u64>,
    token: Option<(Option<u64>, mailtrap::TokenId)>,
    others: &'a [(Option<u64>, mailtrap::TokenId)],
}

/// Creates the token of a `[[mailtrap]]` entry, or replaces it through the
/// rotation (whether it is due, or its permissions, its expiry or the
/// secret its sink holds differ from the file): a create with the file's
/// permissions and expiry, proved, stored, and the old token deleted. The
/// other tokens with its label are deleted once the new secret is stored.
async fn act_mailtrap(
    file: &TokensFile,
    services: &Services,
    entry: &MailtrapEntry,
    at: MailtrapAt<'_>,
) -> Result<Done, ActionError> {
    let sink = checked_sink(services, &entry.secret_to).await?;
    let now = Utc::now();
    let Some((account, id)) = at.token else {
        let request = mailtrap::CreateApiToken::new(file.service_label(&entry.name))
            .permissions_from(entry.permissions.iter().cloned())
            .expires(entry.expires.at(now));
        return mailtrap_create(services, at.home, &request, &*sink).await;
    };
    let life = mailtrap_life(services, account)?;
    // Every client is found before anything is minted.
    let others = at
        .others
        .iter()
        .map(|&(account, id)| Ok((mailtrap_life(services, account)?, id)))
        .collect::<Result<Vec<_>, ActionError>>()?;
    let plan = MailtrapPlan::new()
        .recreate()
        .permissions(entry.permissions.iter().cloned())
        .delete_old()
        .expires(entry.expires.at(now));
    let done = rotation_done(life.rotate(&id, &plan, &*sink).await)?;
    retire_others(
        done,
        &id.to_string(),
        &others,
        |(_, id)| id.to_string(),
        async |(life, id)| life.retire(id).await,
    )
    .await
}

/// Creates or rotates the token of a `[[unit]]` entry, then revokes the
/// other tokens with its label.
async fn act_unit(
    file: &TokensFile,
    services: &Services,
    entry: &UnitEntry,
    user: &unit::UserId,
    token: Option<&unit::TokenId>,
    others: &[unit::TokenId],
) -> Result<Done, ActionError> {
    let sink = checked_sink(services, &entry.secret_to).await?;
    let life = unit_life(services, user)?;
    let expires = Utc::now() + entry.lifetime;
    match token {
        None => {
            let request = unit::CreateApiToken::new(
                file.service_label(&entry.description),
                entry.scopes.iter().cloned(),
                expires,
            )
            .source_ips(entry.source_ips.iter().cloned());
            settled(life.mint_settled(&request, &*sink).await)
        }
        Some(id) => {
            let mut plan = UnitPlan::new(entry.scopes.iter().cloned(), expires)
                .source_ips(entry.source_ips.iter().cloned())
                .description(file.service_label(&entry.description));
            if entry.source_ips.is_empty() {
                // The file states the token's whole access: no addresses
                // listed is any address, not the old token's.
                plan = plan.any_source_ip();
            } else {
                // The new token may refuse calls from this machine.
                plan = plan.skip_probe();
            }
            let done = rotation_done(life.rotate(id, &plan, &*sink).await)?;
            retire_others(
                done,
                id.as_str(),
                others,
                |id| id.as_str().to_owned(),
                async |id| life.retire(id).await,
            )
            .await
        }
    }
}

/// Removes the other tokens with an entry's label once the rotation of its
/// token (`old`) stored the new secret (`done`), each through `remove`
/// (gone already counts as removed): a step 4 of that rotation, whose
/// failure is a [`RotateError`] at [`Step::Retire`] leaving the new secret
/// stored and the rest to remove ([`Left::Stored`]). After a rotation that
/// yielded to another run, nothing is removed: the next plan shows what is
/// left.
async fn retire_others<T>(
    mut done: Done,
    old: &str,
    others: &[T],
    id_of: impl Fn(&T) -> String,
    remove: impl AsyncFn(&T) -> Result<(), Error>,
) -> Result<Done, ActionError> {
    let Some(new) = done.token.clone() else {
        return Ok(done);
    };
    let service = new.service;
    let to_ref = |t: &T| TokenRef::new(service, id_of(t), None);
    for (i, other) in others.iter().enumerate() {
        match remove(other).await {
            Ok(()) | Err(Error::NotFound(_)) => done.removed.push(to_ref(other)),
            Err(e) => {
                let left = Left::Stored {
                    new,
                    to_remove: others[i..].iter().map(to_ref).collect(),
                };
                return Err(RotateError::new(service, old, Step::Retire, left, e).into());
            }
        }
    }
    Ok(done)
}

/// The sink `spec` names, checked before anything is minted: a secret
/// never goes to a sink that cannot take it.
async fn checked_sink(
    services: &Services,
    spec: &SinkSpec,
) -> Result<Box<dyn SecretSink>, ActionError> {
    let sink = services.sink(spec).map_err(ActionError::Sink)?;
    sink.check().await.map_err(ActionError::Sink)?;
    Ok(sink)
}

/// What removing the orphan `id` of `action` did: removed, also when the
/// service no longer knew it (someone else removed it first); any other
/// error fails the action.
fn orphan_removed<T>(
    result: Result<T, Error>,
    service: Service,
    id: impl Into<String>,
    action: &Action,
) -> Result<Done, ActionError> {
    match result {
        Ok(_) | Err(Error::NotFound(_)) => Ok(Done {
            token: None,
            removed: vec![TokenRef::new(service, id, Some(action.name.clone()))],
            yielded_to: None,
        }),
        Err(e) => Err(e.into()),
    }
}

/// What a rotation that another run superseded did: nothing left behind
/// when it stored nothing (the other run's token is the entry's now);
/// otherwise its error, which says what its sink holds.
fn rotation_done(
    result: Result<Rotation, crate::lifecycle::RotateError>,
) -> Result<Done, ActionError> {
    match result {
        Ok(rotation) => Ok(rotated(rotation)),
        Err(e) if !e.secret_stored() => match e.superseded() {
            Some(superseded) => Ok(Done {
                yielded_to: Some(superseded.winner.clone()),
                ..Done::default()
            }),
            None => Err(e.into()),
        },
        Err(e) => Err(e.into()),
    }
}

/// What a create that settled against other runs did: its new token, or
/// the removal of its own token and the rival it yielded to.
fn settled(result: Result<Settled, Unsettled>) -> Result<Done, ActionError> {
    match result {
        Ok(Settled::Stored(token)) => Ok(Done {
            token: Some(token),
            ..Done::default()
        }),
        Ok(Settled::Yielded { removed, winner }) => Ok(Done {
            token: None,
            removed: vec![removed],
            yielded_to: Some(winner),
        }),
        Err(Unsettled::Mint(e)) => Err(mint_failed(e)),
        Err(Unsettled::Step { step, left, cause }) => {
            Err(ActionError::Replace { step, left, cause })
        }
    }
}

/// What a rotation did: its new token, the old one removed and any it
/// removed besides.
fn rotated(rotation: Rotation) -> Done {
    let mut removed = vec![rotation.old];
    removed.extend(rotation.removed);
    Done {
        token: Some(rotation.new),
        removed,
        yielded_to: None,
    }
}

/// The lifecycle of the tokens of `user`, through the Unit client given.
fn unit_life(services: &Services, user: &unit::UserId) -> Result<UnitLifecycle, ActionError> {
    let client = services.unit.clone();
    let client =
        client.ok_or_else(|| ActionError::NotConfigured("no Unit client was given".to_owned()))?;
    Ok(UnitLifecycle::new(client, user.clone()))
}

/// An exactly-once mint that failed: as `mint_into` reports it.
fn mint_failed(e: Error) -> ActionError {
    crate::lifecycle::MintIntoError::Mint(e).into()
}

/// The lifecycle of the tokens of `account`, through its Mailtrap client.
fn mailtrap_life(
    services: &Services,
    account: Option<u64>,
) -> Result<MailtrapLifecycle, ActionError> {
    services
        .mailtrap_client(account)
        .cloned()
        .map(MailtrapLifecycle::new)
        .ok_or_else(|| {
            ActionError::NotConfigured(format!("no Mailtrap client for {}", account_text(account)))
        })
}

/// Creates the token of a `[[mailtrap]]` entry exactly once, settles it
/// against other runs minting for the entry at once and stores it (the
/// lifecycle's settled mint).
async fn mailtrap_create(
    services: &Services,
    home: Option<u64>,
    request: &mailtrap::CreateApiToken,
    sink: &dyn SecretSink,
) -> Result<Done, ActionError> {
    let life = mailtrap_life(services, home)?;
    settled(life.mint_settled(request, sink).await)
}
