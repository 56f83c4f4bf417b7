//! Carrying out a [`Plan`]: creates through `mint_into`, rotations
//! through `rotate`, replacements by mint, probe, store and retire.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::Utc;
use secrecy::SecretString;

use crate::error::{Error, Service};
use crate::lifecycle::{
    MailtrapLifecycle, MailtrapPlan, Marker, Rotation, SecretMeta, SecretSink, SinkSpec, TokenRef,
    UnitLifecycle, UnitPlan,
};
use crate::{mailtrap, unit};

use super::entry::{MailtrapEntry, UnitEntry};
use super::load::TokensFile;
use super::plan::{Action, ActionKind, Plan, Target};
use super::report::{ActionError, ApplyReport, Done, Outcome};
use super::services::{Services, account_text};

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
            fresh,
        } => {
            let at = MailtrapAt {
                home: *home,
                token: *token,
                others,
                fresh: *fresh,
            };
            act_mailtrap(file, services, &file.mailtrap()[*entry], action.kind, at).await
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
            let client = services.mailtrap_client(*account).ok_or_else(|| {
                ActionError::NotConfigured(format!(
                    "no Mailtrap client for {}",
                    account_text(*account)
                ))
            })?;
            let deleted = client.api_tokens().delete(*token).await;
            orphan_removed(deleted, Service::Mailtrap, token.to_string(), action)
        }
        Target::UnitOrphan { user, token } => {
            let client = services
                .unit
                .as_ref()
                .ok_or_else(|| ActionError::NotConfigured("no Unit client was given".to_owned()))?;
            let revoked = client.org_api_tokens(user.clone()).revoke(token).await;
            orphan_removed(revoked, Service::Unit, token.as_str(), action)
        }
    }
}

/// Where a Mailtrap action acts (see [`Target::Mailtrap`]).
struct MailtrapAt<'a> {
    home: Option<u64>,
    token: Option<(Option<u64>, mailtrap::TokenId)>,
    others: &'a [(Option<u64>, mailtrap::TokenId)],
    fresh: bool,
}

/// Creates, rotates or replaces the token of a `[[mailtrap]]` entry.
async fn act_mailtrap(
    file: &TokensFile,
    services: &Services,
    entry: &MailtrapEntry,
    kind: ActionKind,
    at: MailtrapAt<'_>,
) -> Result<Done, ActionError> {
    let sink = checked_sink(services, &entry.secret_to).await?;
    let now = Utc::now();
    let request = mailtrap::CreateApiToken::new(file.service_label(&entry.name))
        .permissions_from(entry.permissions.iter().cloned())
        .expires(entry.expires.at(now));
    match (kind, at.token) {
        (ActionKind::Create, _) | (_, None) => {
            mailtrap_replace(services, at.home, &request, &*sink, &[]).await
        }
        (ActionKind::Rotate, Some((account, id))) if !at.fresh => {
            let life = mailtrap_life(services, account)?;
            let plan = MailtrapPlan::new()
                .recreate()
                .delete_old()
                .expires(entry.expires.at(now));
            rotation_done(life.rotate(&id, &plan, &*sink).await)
        }
        (_, Some(current)) => {
            let mut old = vec![current];
            old.extend(at.others.iter().copied());
            mailtrap_replace(services, at.home, &request, &*sink, &old).await
        }
    }
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
    let client = services
        .unit
        .clone()
        .ok_or_else(|| ActionError::NotConfigured("no Unit client was given".to_owned()))?;
    let life = UnitLifecycle::new(client, user.clone());
    let expires = Utc::now() + entry.lifetime;
    match token {
        None => {
            let request = unit::CreateApiToken::new(
                file.service_label(&entry.description),
                entry.scopes.iter().cloned(),
                expires,
            )
            .source_ips(entry.source_ips.iter().cloned());
            let new = life
                .mint(&request)
                .await
                .map_err(|e| ActionError::from(crate::lifecycle::MintIntoError::Mint(e)))?;
            let new = Fresh {
                id: new.token.id.as_str().to_owned(),
                text: new.token.description.clone().unwrap_or_default(),
                secret: new.token.token.clone(),
                expires_at: new.token.expiration,
            };
            let place = Place::Unit(life.tokens());
            // The sink is told the whole record of the new token.
            let sink = life.recording(sink.as_ref(), &request);
            match settle(&place, request.description(), &new, &[], &sink).await? {
                Settled::Won => Ok(Done {
                    token: Some(new.to_ref(Service::Unit)),
                    ..Done::default()
                }),
                Settled::Yielded(rival) => Ok(yielded(Service::Unit, &new, rival)),
            }
        }
        Some(id) => {
            let mut plan = UnitPlan::new(entry.scopes.iter().cloned(), expires)
                .source_ips(entry.source_ips.iter().cloned())
                .description(file.service_label(&entry.description));
            if !entry.source_ips.is_empty() {
                // The new token may refuse calls from this machine.
                plan = plan.skip_probe();
            }
            let rotation = match life.rotate(id, &plan, &*sink).await {
                Ok(rotation) => rotation,
                Err(e) => return rotation_done(Err(e)),
            };
            let new_id = rotation.new.id.clone();
            let mut done = rotated(rotation);
            for other in others {
                match life.tokens().revoke(other).await {
                    Ok(_) | Err(Error::NotFound(_)) => {
                        done.removed
                            .push(TokenRef::new(Service::Unit, other.as_str(), None))
                    }
                    Err(e) => {
                        return Err(ActionError::Replace {
                            step: "removing the old tokens",
                            left: format!(
                                "the sink holds the secret of token {new_id}; token {other} \
                                 and those after it are still to revoke: apply again"
                            ),
                            cause: Box::new(e),
                        });
                    }
                }
            }
            Ok(done)
        }
    }
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

/// A new token with its secret, as the steps after a mint need it.
struct Fresh {
    id: String,
    text: String,
    secret: SecretString,
    expires_at: Option<chrono::DateTime<Utc>>,
}

impl Fresh {
    fn to_ref(&self, service: Service) -> TokenRef {
        TokenRef::new(service, self.id.clone(), Some(self.text.clone()))
    }
}

/// Where a fresh token lives: what lists its neighbours and removes it.
enum Place<'a> {
    Mailtrap(&'a mailtrap::ApiTokens),
    Unit(&'a unit::OrgApiTokens),
}

impl Place<'_> {
    fn service(&self) -> Service {
        match self {
            Place::Mailtrap(_) => Service::Mailtrap,
            Place::Unit(_) => Service::Unit,
        }
    }

    /// Every token listed, as `(id, name or description)`.
    async fn list(&self) -> Result<Vec<(String, String)>, Error> {
        Ok(match self {
            Place::Mailtrap(tokens) => tokens
                .list()
                .await?
                .into_iter()
                .map(|t| (t.id.to_string(), t.name))
                .collect(),
            Place::Unit(tokens) => tokens
                .list()
                .await?
                .into_iter()
                .map(|t| (t.id.as_str().to_owned(), t.description.unwrap_or_default()))
                .collect(),
        })
    }

    /// Removes the token `id` (gone already counts as removed).
    async fn remove(&self, id: &str) -> Result<(), Error> {
        let result = match self {
            Place::Mailtrap(tokens) => {
                let number = id.parse::<u64>().map_err(|_| {
                    Error::invalid("token_id", "a Mailtrap token id is a positive integer")
                })?;
                tokens.delete(mailtrap::TokenId::new(number)?).await
            }
            Place::Unit(tokens) => tokens.revoke(&unit::TokenId::new(id)?).await.map(drop),
        };
        match result {
            Ok(()) | Err(Error::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// Whether a fresh token won against the other runs minting for the same
/// label at once.
enum Settled {
    /// It did: its secret is stored.
    Won,
    /// Another run's token (this id) wins: this run's token was removed
    /// unstored.
    Yielded(String),
}

/// Orders ids as numbers, whatever their length.
fn id_order(id: &str) -> (usize, &str) {
    (id.len(), id)
}

/// After a create or a replacement's mint: decides whether this run's
/// token wins, stores its secret when it does, and checks it is still
/// listed once stored.
///
/// The rule is the rotations' (see the lifecycle's race rule): both
/// services number tokens in order of creation, and a list answered after
/// a create shows it. Among the tokens carrying `label` that neither the
/// plan saw (`known`) nor this run minted, the one with the lowest id
/// below this run's was minted first, by another run acting on the same
/// entry at once (another `apply`, a rotation): this run yields, removes
/// its token and stores nothing. A run whose token has the lowest id wins.
/// When the list after the store no longer shows this run's token (a run
/// that broke the rule removed it), the sink holds a dead secret: that is
/// an error that says so, and the next plan rotates.
async fn settle(
    place: &Place<'_>,
    label: &str,
    new: &Fresh,
    known: &[String],
    sink: &dyn SecretSink,
) -> Result<Settled, ActionError> {
    let service = place.service();
    let fail =
        |step: &'static str, left: String, cause: Box<dyn std::error::Error + Send + Sync>| {
            ActionError::Replace { step, left, cause }
        };
    let discard = |id: String| async move {
        match place.remove(&id).await {
            Ok(()) => "nothing changed: the new token was removed".to_owned(),
            Err(e) => format!(
                "nothing stored, but the new token {id} could not be removed ({e}): apply again"
            ),
        }
    };
    let listed = match place.list().await {
        Ok(listed) => listed,
        Err(e) => {
            let left = discard(new.id.clone()).await;
            return Err(fail("listing before the store", left, Box::new(e)));
        }
    };
    let rival = listed
        .iter()
        .filter(|(id, text)| {
            *id != new.id
                && !known.contains(id)
                && Marker::label(text) == label
                && id_order(id) < id_order(&new.id)
        })
        .map(|(id, _)| id.clone())
        .min_by(|a, b| id_order(a).cmp(&id_order(b)));
    if let Some(rival) = rival {
        tracing::info!(service = %service, token_id = %new.id, winner = %rival,
            "another run minted for the same entry first: yielding");
        return match place.remove(&new.id).await {
            Ok(()) => Ok(Settled::Yielded(rival)),
            Err(e) => Err(fail(
                "yielding to another run",
                format!(
                    "token {rival} of another run is the entry's; this run's token {} could not \
                     be removed and nobody holds its secret: apply again",
                    new.id
                ),
                Box::new(e),
            )),
        };
    }
    let meta = SecretMeta::new(service, new.id.clone())
        .with_name(new.text.clone())
        .with_expires_at(new.expires_at);
    if let Err(e) = sink.store(&new.secret, &meta).await {
        if !e.secret_written() {
            let left = discard(new.id.clone()).await;
            return Err(fail("storing the new secret", left, Box::new(e)));
        }
    }
    match place.list().await {
        Ok(listed) if listed.iter().any(|(id, _)| *id == new.id) => Ok(Settled::Won),
        Ok(_) => Err(fail(
            "checking the new token once stored",
            format!(
                "the sink holds the secret of token {}, which another run removed: apply again",
                new.id
            ),
            Box::new(Error::invalid(
                "token_id",
                "the new token is no longer listed once its secret was stored",
            )),
        )),
        Err(e) => Err(fail(
            "checking the new token once stored",
            format!(
                "the sink holds the secret of token {}; the old tokens are kept: apply again",
                new.id
            ),
            Box::new(e),
        )),
    }
}

/// What a run that yielded did: minted, removed its own token, left the
/// entry to `rival`.
fn yielded(service: Service, new: &Fresh, rival: String) -> Done {
    Done {
        token: None,
        removed: vec![new.to_ref(service)],
        yielded_to: Some(TokenRef::new(service, rival, None)),
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

/// A Mailtrap token to create, or one whose permissions must change, or
/// several tokens with one label: a rotation would copy the old
/// permissions, so a new token is minted as the file says (exactly once),
/// proved with a call made with its secret (replacements), settled against
/// other runs minting for the entry at once ([`settle`]), stored, and only
/// then are the old tokens deleted. A failure before the store removes the
/// new token and leaves the old ones working; a failure after it leaves the
/// new secret stored and the old tokens to delete, which the next plan
/// shows as a replace again.
async fn mailtrap_replace(
    services: &Services,
    home: Option<u64>,
    request: &mailtrap::CreateApiToken,
    sink: &dyn SecretSink,
    old: &[(Option<u64>, mailtrap::TokenId)],
) -> Result<Done, ActionError> {
    let life = mailtrap_life(services, home)?;
    let fail =
        |step: &'static str, left: String, cause: Box<dyn std::error::Error + Send + Sync>| {
            ActionError::Replace { step, left, cause }
        };
    let minted = if old.is_empty() {
        life.mint(request)
            .await
            .map_err(|e| ActionError::from(crate::lifecycle::MintIntoError::Mint(e)))?
    } else {
        life.mint(request).await.map_err(|e| {
            let left = if e.is_outcome_unknown() {
                "the old tokens work; a new token carrying the named marker may remain: apply \
                 again"
            } else {
                "the old tokens work and nothing new remains"
            };
            fail("minting", left.to_owned(), Box::new(e))
        })?
    };
    let new = Fresh {
        id: minted.token.id.to_string(),
        text: minted.token.name.clone(),
        secret: minted.token.token.clone(),
        expires_at: minted.token.expires_at,
    };
    let place = Place::Mailtrap(life.tokens());
    if !old.is_empty() {
        if let Err(e) = probe(life.client(), &new.secret).await {
            let left = match place.remove(&new.id).await {
                Ok(()) => "the old tokens work and the new one was deleted".to_owned(),
                Err(d) => format!(
                    "the old tokens work, but the new token {} could not be deleted ({d}): \
                     apply again",
                    new.id
                ),
            };
            return Err(fail("proving the new secret", left, Box::new(e)));
        }
    }
    let known: Vec<String> = old.iter().map(|(_, id)| id.to_string()).collect();
    if let Settled::Yielded(rival) = settle(&place, request.name(), &new, &known, sink).await? {
        return Ok(yielded(Service::Mailtrap, &new, rival));
    }
    let new_ref = new.to_ref(Service::Mailtrap);
    let mut removed = Vec::new();
    for (i, (account, id)) in old.iter().enumerate() {
        let client = services.mailtrap_client(*account).ok_or_else(|| {
            ActionError::NotConfigured(format!("no Mailtrap client for {}", account_text(*account)))
        })?;
        match client.api_tokens().delete(*id).await {
            Ok(()) | Err(Error::NotFound(_)) => {
                removed.push(TokenRef::new(Service::Mailtrap, id.to_string(), None));
            }
            Err(e) => {
                let rest: Vec<String> = old[i..].iter().map(|(_, id)| id.to_string()).collect();
                return Err(fail(
                    "removing the old tokens",
                    format!(
                        "the sink holds the secret of token {}; still to delete: {}: apply again",
                        new_ref.id,
                        rest.join(" ")
                    ),
                    Box::new(e),
                ));
            }
        }
    }
    Ok(Done {
        token: Some(new_ref),
        removed,
        yielded_to: None,
    })
}

/// A call made with the new secret; a 403 counts, since the secret was
/// recognised.
async fn probe(client: &mailtrap::Client, secret: &SecretString) -> Result<(), Error> {
    match client.with_token(secret.clone())?.api_tokens().list().await {
        Ok(_) | Err(Error::Forbidden(_)) => Ok(()),
        Err(e) => Err(e),
    }
}
