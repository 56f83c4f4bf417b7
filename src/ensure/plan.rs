//! [`Plan`]: the file compared with what the services list, one
//! [`Action`] per entry and one per orphan.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Serialize, Serializer};

use crate::error::Service;
use crate::lifecycle::{
    DEFAULT_LEASE, Marker, SecretSink, SinkError, SinkSpec, permissions_text, same_permissions,
};
use crate::mailtrap::{self, Permission};
use crate::unit::{self, SourceIp, UserId};

use super::duration;
use super::entry::{Expires, MailtrapEntry, RotateRules, UnitEntry};
use super::load::TokensFile;
use super::namespace;
use super::services::{Services, account_text};

/// How far a token's expiry may pass what the file allows before it counts
/// as drift: the time between a mint and the plan that reads it back.
const EXPIRY_SLACK: TimeDelta = TimeDelta::minutes(5);

/// What a plan does about one entry or one orphan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ActionKind {
    /// No token has the entry's label: mint one into its sink.
    Create,
    /// The token is due (age, expiry): rotate it, with overlap.
    Rotate,
    /// What the service shows differs from the file (or several tokens
    /// carry the label): mint a token as the file says, store it, then
    /// remove the old ones.
    Replace,
    /// Nothing to do.
    None,
    /// A token the crate's marker shows as its own that no entry names:
    /// removed only by `apply --prune`.
    Orphan,
}

impl ActionKind {
    /// The word tables and JSON use: `create`, `rotate`, …
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Create => "create",
            ActionKind::Rotate => "rotate",
            ActionKind::Replace => "replace",
            ActionKind::None => "none",
            ActionKind::Orphan => "orphan",
        }
    }
}

crate::display::display_as_str!(ActionKind);

/// One line of a plan. Serialized as `{"service", "name", "action",
/// "reason", "token_id"}`; never holds a secret.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Action {
    /// The service (`"mailtrap"` or `"unit"` in JSON).
    #[serde(serialize_with = "service_lower")]
    pub service: Service,
    /// The entry's name (Mailtrap) or description (Unit); an orphan's label.
    pub name: String,
    /// What is to be done.
    #[serde(rename = "action")]
    pub kind: ActionKind,
    /// Why: for a replace, the field with what the service shows and what
    /// the file says.
    pub reason: String,
    /// The token acted on (the newest of several); `None` for a create.
    pub token_id: Option<String>,
    #[serde(skip)]
    pub(crate) target: Target,
}

/// Where an action acts, for apply.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    Mailtrap {
        entry: usize,
        /// Where a new token is created.
        home: Option<u64>,
        /// The token acted on, and its account.
        token: Option<(Option<u64>, mailtrap::TokenId)>,
        /// Other tokens with the label, removed once the new secret is stored.
        others: Vec<(Option<u64>, mailtrap::TokenId)>,
    },
    Unit {
        entry: usize,
        user: UserId,
        token: Option<unit::TokenId>,
        others: Vec<unit::TokenId>,
    },
    MailtrapOrphan {
        account: Option<u64>,
        token: mailtrap::TokenId,
    },
    UnitOrphan {
        user: UserId,
        token: unit::TokenId,
    },
}

fn service_lower<S: Serializer>(service: &Service, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(match service {
        Service::Unit => "unit",
        Service::Mailtrap => "mailtrap",
    })
}

/// Why a plan could not be made. Nothing was changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// The file needs a service, an account or a user that was not given.
    #[error("{0}")]
    NotConfigured(String),
    /// Listing a service's tokens failed.
    #[error("{service} list of {scope} failed: {source}")]
    List {
        /// The service.
        service: Service,
        /// The account or user listed.
        scope: String,
        /// The crate's error.
        #[source]
        source: crate::Error,
    },
    /// An entry's sink cannot take a secret, as its
    /// [`check`](crate::lifecycle::SecretSink::check) found before any
    /// request (a `file:` sink naming a directory, a dotenv file assigning
    /// the variable twice): a fault of the file, as a bad value is.
    #[error("{what}: {source}")]
    SinkRefused {
        /// Where: `tokens.toml:7: key `secret_to``.
        what: String,
        /// The sink's error.
        #[source]
        source: SinkError,
    },
    /// An entry's sink could not be made or read back.
    #[error("{}: {source}", what)]
    Sink {
        /// The entry, as `mailtrap ci-deploy (line 3)`.
        what: String,
        /// The sink's error.
        #[source]
        source: SinkError,
    },
}

/// The actions that bring the services to what a file says, in the file's
/// order (Mailtrap entries, then Unit), orphans last. Serialized as
/// `{"actions": [...], "left_alone": N}`.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    actions: Vec<Action>,
    left_alone: usize,
    #[serde(skip)]
    planned_at: DateTime<Utc>,
    #[serde(skip)]
    lists: usize,
}

impl Plan {
    /// Every action, `none` included.
    pub fn actions(&self) -> &[Action] {
        &self.actions
    }

    /// The actions `apply` would carry out: every one but `none`, and
    /// orphans only with `prune`.
    pub fn pending(&self, prune: bool) -> impl Iterator<Item = &Action> {
        self.actions.iter().filter(move |a| match a.kind {
            ActionKind::None => false,
            ActionKind::Orphan => prune,
            _ => true,
        })
    }

    /// Whether anything is pending (see [`pending`](Self::pending)).
    pub fn has_pending(&self, prune: bool) -> bool {
        self.pending(prune).next().is_some()
    }

    /// When the plan compared the file with the services.
    pub fn planned_at(&self) -> DateTime<Utc> {
        self.planned_at
    }

    /// How many tokens marked by this crate, in the accounts and users
    /// the file touches, the plan leaves alone because the file does not
    /// own them: tokens of another namespace or of none (made by
    /// `api-tokens create`, another tokens file, a rotation function), and
    /// replacements that a rotation left while their old token lives. A
    /// file without a `namespace` owns no token but those its entries
    /// name, so every other marked token is counted here.
    pub fn left_alone(&self) -> usize {
        self.left_alone
    }

    /// How many list calls the plan made (one per Mailtrap account and
    /// per Unit user).
    pub fn list_calls(&self) -> usize {
        self.lists
    }
}

/// A listed token as the plan compares it.
#[derive(Debug, Clone)]
struct Seen<K> {
    key: K,
    /// The id as the service wrote it: digits.
    id: String,
    text: String,
    expires_at: Option<DateTime<Utc>>,
    /// Mailtrap: permissions and the secret's last four characters.
    permissions: Vec<Permission>,
    last_four: Option<String>,
    /// Unit: creation time and source addresses.
    created_at: Option<DateTime<Utc>>,
    source_ips: Vec<SourceIp>,
}

impl<K> Seen<K> {
    /// Orders ids as numbers (both services number tokens in order),
    /// however many digits they have.
    fn order(&self) -> (usize, &str) {
        (self.id.len(), self.id.as_str())
    }

    /// Its label: the name without the crate's marker, and without the
    /// ids Mailtrap's resets appended after it (a reset names its token
    /// `"<old name> <its id>"`: it is the same entry's token).
    fn label(&self) -> &str {
        Marker::label_through_resets(&self.text)
    }

    /// When it was minted: its marker's time, or Unit's `createdAt`.
    fn minted_at(&self) -> Option<DateTime<Utc>> {
        Marker::find(&self.text)
            .map(|m| m.minted_at())
            .or(self.created_at)
    }
}

/// Compares `file` with what `services` list, at `now`.
pub(crate) async fn make(
    file: &TokensFile,
    services: &Services,
    now: DateTime<Utc>,
) -> Result<Plan, PlanError> {
    check_sinks(file, services).await?;
    let planning = Planning {
        file,
        services,
        now,
    };
    let (mailtrap, unit) = tokio::join!(planning.mailtrap(), planning.unit());
    let (mut m_actions, m_orphans, m_lists, m_alone) = mailtrap?;
    let (u_actions, u_orphans, u_lists, u_alone) = unit?;
    m_actions.extend(u_actions);
    m_actions.extend(m_orphans);
    m_actions.extend(u_orphans);
    Ok(Plan {
        actions: m_actions,
        left_alone: m_alone + u_alone,
        planned_at: now,
        lists: m_lists + u_lists,
    })
}

/// Checks every entry's sink before any request to the services: a sink
/// that cannot take a secret (a directory, a dotenv file assigning the
/// variable twice, a secret named by an ARN that does not exist, a Vault
/// path no KV version 2 mount serves) is the file's fault, found before
/// anything is listed or minted. A store that cannot be read now (no
/// answer, a refused read) may be passing: that is left to `apply`.
async fn check_sinks(file: &TokensFile, services: &Services) -> Result<(), PlanError> {
    let specs = file
        .mailtrap()
        .iter()
        .map(|e| (e.line, &e.secret_to))
        .chain(file.unit().iter().map(|e| (e.line, &e.secret_to)));
    for (line, spec) in specs {
        let local = matches!(spec, SinkSpec::File(_) | SinkSpec::EnvFile { .. });
        let what = || format!("{}:{line}: key `secret_to`", file.path().display());
        let sink = services
            .sink(spec)
            .map_err(|source| PlanError::SinkRefused {
                what: what(),
                source,
            })?;
        match sink.check().await {
            Ok(()) => {}
            Err(source) if local || matches!(source, SinkError::InvalidSpec { .. }) => {
                return Err(PlanError::SinkRefused {
                    what: what(),
                    source,
                });
            }
            Err(e) => {
                tracing::warn!(sink = %spec, error = %e,
                    "the secret store could not be checked; apply will try it");
            }
        }
    }
    Ok(())
}

/// Actions, orphans, list calls, and tokens of others left alone.
type Planned = (Vec<Action>, Vec<Action>, usize, usize);

/// What one planning compares: the file, the services that list, and the
/// moment ages are measured at.
#[derive(Clone, Copy)]
struct Planning<'a> {
    file: &'a TokensFile,
    services: &'a Services,
    now: DateTime<Utc>,
}

fn entry_keys(entry: &MailtrapEntry, services: &Services) -> Vec<Option<u64>> {
    let accounts = entry.accounts();
    if accounts.is_empty() {
        vec![services.default_account()]
    } else {
        accounts.into_iter().map(Some).collect()
    }
}

impl Planning<'_> {
    /// The actions and orphans of the `[[mailtrap]]` entries, and the
    /// number of lists made.
    async fn mailtrap(self) -> Result<Planned, PlanError> {
        let (file, services, now) = (self.file, self.services, self.now);
        let entries = file.mailtrap();
        let mut listed: BTreeMap<Option<u64>, Vec<Seen<Option<u64>>>> = BTreeMap::new();
        let mut order = Vec::new();
        // Two entries of one name in one account, once the default
        // account is known (an entry that names no account takes it):
        // refused before any request.
        let mut seen_names: BTreeMap<(Option<u64>, &str), usize> = BTreeMap::new();
        for entry in entries {
            for key in entry_keys(entry, services) {
                if let Some(first) = seen_names.insert((key, entry.name.as_str()), entry.line) {
                    if first != entry.line {
                        return Err(PlanError::NotConfigured(format!(
                            "{}:{}: key `name`: a second Mailtrap entry named `{}` in {} (an \
                             entry that names no account takes the default one); the first is \
                             on line {first}",
                            file.path().display(),
                            entry.line,
                            entry.name,
                            account_text(key)
                        )));
                    }
                }
                if !order.contains(&key) {
                    order.push(key);
                }
            }
        }
        // A file with a namespace that has no Mailtrap entry left still
        // owns the tokens it minted in the configured account: they are
        // its orphans, found by listing that account.
        if order.is_empty() && file.namespace().is_some() {
            if services.mailtrap_default.is_some() {
                order.push(services.default_account());
            }
            order.extend(
                services
                    .mailtrap
                    .keys()
                    .map(|id| Some(*id))
                    .filter(|key| *key != services.default_account()),
            );
        }
        for key in &order {
            let client = services.mailtrap_client(*key).ok_or_else(|| {
                PlanError::NotConfigured(format!(
                    "{}: no Mailtrap client for {}",
                    file.path().display(),
                    account_text(*key)
                ))
            })?;
            let tokens = client
                .api_tokens()
                .list()
                .await
                .map_err(|source| PlanError::List {
                    service: Service::Mailtrap,
                    scope: account_text(*key),
                    source,
                })?;
            let seen = tokens
                .into_iter()
                .map(|t| Seen {
                    key: *key,
                    id: t.id.to_string(),
                    text: t.name,
                    expires_at: t.expires_at,
                    permissions: t.permissions,
                    last_four: t.last_four,
                    created_at: None,
                    source_ips: Vec::new(),
                })
                .collect();
            listed.insert(*key, seen);
        }

        let mut actions = Vec::new();
        for (index, entry) in entries.iter().enumerate() {
            let keys = entry_keys(entry, services);
            let wanted = file.service_label(&entry.name);
            let mut found: Vec<&Seen<Option<u64>>> = keys
                .iter()
                .filter_map(|k| listed.get(k))
                .flatten()
                .filter(|t| t.label() == wanted)
                .collect();
            found.sort_by(|a, b| a.order().cmp(&b.order()));
            let what = format!("mailtrap `{}` (line {})", entry.name, entry.line);
            let held = Held::of(services, &entry.secret_to, &what).await?;
            let held_four = match &held {
                Held::Secret(s) => Some(last_four(s.expose_secret())),
                _ => None,
            };
            let (kind, reason, unfinished) =
                judge_mailtrap(entry, &found, held_four.as_deref(), now, &keys);
            let (kind, reason) = match (&held, kind) {
                (Held::Missing, ActionKind::None | ActionKind::Rotate) => (
                    ActionKind::Rotate,
                    lost_reason(&entry.secret_to, &reason, kind),
                ),
                _ => (kind, reason),
            };
            // The token acted on: the newest, or the old token of a
            // rotation to finish (whose new token is kept).
            let (acted, others) = match unfinished {
                Some(old) => (Some(old), Vec::new()),
                None => (found.last().copied(), found.iter().rev().skip(1).collect()),
            };
            let token = acted.and_then(|t| Some((t.key, token_id(&t.id)?)));
            let others = others
                .into_iter()
                .filter_map(|t| Some((t.key, token_id(&t.id)?)))
                .collect();
            actions.push(Action {
                service: Service::Mailtrap,
                name: entry.name.clone(),
                kind,
                reason,
                token_id: acted.map(|t| t.id.clone()),
                target: Target::Mailtrap {
                    entry: index,
                    home: keys[0],
                    token,
                    others,
                },
            });
        }

        let mut orphans = Vec::new();
        let mut left_alone = 0;
        for key in &order {
            let list = listed.get(key).map(Vec::as_slice).unwrap_or_default();
            let named = |label: &str| {
                entries.iter().any(|e| {
                    file.service_label(&e.name) == label && entry_keys(e, services).contains(key)
                })
            };
            let target = |t: &Seen<Option<u64>>| {
                Some(Target::MailtrapOrphan {
                    account: *key,
                    token: token_id(&t.id)?,
                })
            };
            let scope = account_text(*key);
            left_alone +=
                self.orphans_in(Service::Mailtrap, list, &scope, named, target, &mut orphans);
        }
        Ok((actions, orphans, order.len(), left_alone))
    }

    /// The orphans among the tokens of one account or user (`list`,
    /// `scope` in the reason), pushed to `out`: the marked tokens that no
    /// entry names by their label (`named`) and that the file owns
    /// ([`owns`](Self::owns)), each removed at its `target` (none when its
    /// id does not parse). Gives how many marked tokens no entry names
    /// were left alone, as the file's namespace does not own them.
    fn orphans_in<K>(
        &self,
        service: Service,
        list: &[Seen<K>],
        scope: &str,
        named: impl Fn(&str) -> bool,
        target: impl Fn(&Seen<K>) -> Option<Target>,
        out: &mut Vec<Action>,
    ) -> usize {
        let mut left_alone = 0;
        for t in list {
            let Some(marker) = Marker::find(&t.text) else {
                continue;
            };
            if named(t.label()) {
                continue;
            }
            if !self.owns(t, list) {
                left_alone += 1;
                continue;
            }
            if let Some(target) = target(t) {
                out.push(Action {
                    service,
                    name: t.label().to_owned(),
                    kind: ActionKind::Orphan,
                    reason: orphan_reason(&marker, self.now, scope),
                    token_id: Some(t.id.clone()),
                    target,
                });
            }
        }
        left_alone
    }

    /// Whether a marked token no entry names is the file's to prune: it
    /// carries the file's namespace, and it is not a replacement a
    /// rotation left while its old token lives (the newest such
    /// replacement, or one younger than the lease: the rule of
    /// [`Reconcile`](crate::lifecycle::Reconcile)).
    fn owns<K>(&self, token: &Seen<K>, list: &[Seen<K>]) -> bool {
        let Some(ns) = self.file.namespace() else {
            return false;
        };
        if namespace::of(token.label()) != Some(ns) {
            return false;
        }
        !rotation_keeps(token, list, self.now)
    }
}

/// The lease of the rotations this crate runs by default: a replacement
/// younger than this may belong to a rotation still running.
fn lease() -> TimeDelta {
    TimeDelta::from_std(DEFAULT_LEASE).unwrap_or(TimeDelta::MAX)
}

/// Whether `token` is a replacement that a rotation keeps: its checked
/// marker says `from:OLD`, `OLD` is still listed, and it is the newest
/// replacement of `OLD` or younger than the lease.
fn rotation_keeps<K>(token: &Seen<K>, list: &[Seen<K>], now: DateTime<Utc>) -> bool {
    let Some(old) = replaced(token) else {
        return false;
    };
    if !list.iter().any(|o| o.id == old) {
        return false;
    }
    let newest = list
        .iter()
        .filter(|o| replaced(o).as_deref() == Some(old.as_str()))
        .max_by(|a, b| a.order().cmp(&b.order()));
    newest.is_some_and(|n| n.id == token.id) || minted_within_lease(token, now)
}

/// The id a token's checked marker says it replaces.
fn replaced<K>(token: &Seen<K>) -> Option<String> {
    Marker::find(&token.text)
        .filter(Marker::is_checked)
        .and_then(|m| m.replaces().map(str::to_owned))
}

/// The old token and the new one of a Unit rotation that stored its
/// secret and stopped before revoking the old token: `secret` (what the
/// sink holds) names, in its signed payload, a token among `found` that
/// is marked as replacing another token among them.
fn stored_rotation<'a, K>(
    found: &[&'a Seen<K>],
    secret: &SecretString,
) -> Option<(&'a Seen<K>, &'a Seen<K>)> {
    let Some(crate::leak::Hint::Unit(claims)) = crate::leak::hint(secret) else {
        return None;
    };
    let named = claims.token_id?;
    let new = *found.iter().find(|t| t.id == named)?;
    let old_id = replaced(new)?;
    let old = *found.iter().find(|t| t.id == old_id)?;
    Some((old, new))
}

fn minted_within_lease<K>(token: &Seen<K>, now: DateTime<Utc>) -> bool {
    Marker::find(&token.text).is_some_and(|m| m.age(now) < lease())
}

/// A rotation in flight among the tokens with one label: a replacement
/// younger than the lease of another of them, which is still listed. The
/// race rule of rotations settles it; a plan that replaced both would
/// delete the rotation's new token under it. Gives the reason to leave the
/// entry alone, the old token and the new one.
fn rotation_in_flight<'a, K>(
    found: &[&'a Seen<K>],
    now: DateTime<Utc>,
) -> Option<(String, &'a Seen<K>, &'a Seen<K>)> {
    let (new, old) = found.iter().rev().find_map(|t| {
        let old = replaced(t)?;
        let old = found.iter().find(|o| o.id == old)?;
        minted_within_lease(t, now).then_some((*t, *old))
    })?;
    let age = Marker::find(&new.text).map_or(TimeDelta::zero(), |m| m.age(now));
    Some((
        format!(
            "a rotation of token {} is in flight (its new token {} was minted {} ago, within \
             the {} lease): left to it; plan again once it ends",
            old.id,
            new.id,
            duration::show(age.max(TimeDelta::seconds(1))),
            duration::show(lease())
        ),
        old,
        new,
    ))
}

/// What an entry's sink holds, as a plan reads it back.
enum Held {
    /// The sink cannot read back (standard output, a sink of the caller's).
    Unknown,
    /// The sink can read back and holds no secret (no file, no variable,
    /// an empty value).
    Missing,
    /// The secret it holds.
    Secret(SecretString),
}

impl Held {
    /// What the sink `spec` names holds, for the entry `what` describes.
    async fn of(services: &Services, spec: &SinkSpec, what: &str) -> Result<Held, PlanError> {
        let failed = |source| PlanError::Sink {
            what: what.to_owned(),
            source,
        };
        let sink = services.sink(spec).map_err(failed)?;
        Held::read(&*sink, services.reads_back(spec))
            .await
            .map_err(failed)
    }

    async fn read(sink: &dyn SecretSink, reads_back: bool) -> Result<Held, SinkError> {
        Ok(match sink.current().await? {
            Some(secret) if !secret.expose_secret().trim().is_empty() => Held::Secret(secret),
            _ if reads_back => Held::Missing,
            _ => Held::Unknown,
        })
    }
}

/// The reason of a rotation planned because the sink holds no working
/// secret of the token: `why` the sink says, after what the plan would
/// have said (a due rotation's reason is kept).
fn lost_reason(sink: &SinkSpec, before: &str, kind: ActionKind) -> String {
    let lost = format!(
        "secret_to: {sink} holds no secret (no file, no variable, or an empty value): the \
         token's secret was lost; a rotation stores a new one"
    );
    if kind == ActionKind::Rotate {
        format!("{lost}; also {before}")
    } else {
        lost
    }
}

/// The reason of a rotation planned because the sink holds something else
/// than a secret of the token (`holds`: the secret of another Unit token,
/// as its payload names it, or no Unit token's secret at all).
fn another_tokens_reason(sink: &SinkSpec, holds: &str, before: &str, kind: ActionKind) -> String {
    let lost = format!(
        "secret_to: {sink} holds {holds}: this token's secret was lost; a rotation stores a \
         new one"
    );
    if kind == ActionKind::Rotate {
        format!("{lost}; also {before}")
    } else {
        lost
    }
}

/// A listed Mailtrap id back in its type (it came from one).
fn token_id(id: &str) -> Option<mailtrap::TokenId> {
    id.parse::<u64>()
        .ok()
        .and_then(|n| mailtrap::TokenId::new(n).ok())
}

fn last_four(secret: &str) -> String {
    let count = secret.chars().count();
    secret.chars().skip(count.saturating_sub(4)).collect()
}

fn orphan_reason(marker: &Marker, now: DateTime<Utc>, scope: &str) -> String {
    format!(
        "marked by this crate {} ago in {scope}, in the file's namespace; no entry names it \
         (removed by apply --prune)",
        duration::show(marker.age(now).max(TimeDelta::seconds(1)))
    )
}

fn when(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn duplicates_reason<K>(found: &[&Seen<K>], label: &str) -> String {
    let ids: Vec<&str> = found.iter().map(|t| t.id.as_str()).collect();
    format!(
        "{} live tokens are named `{label}` ({}), as an interrupted run leaves them: a new \
         token replaces them all, since which one the sink holds is not known",
        found.len(),
        ids.join(", ")
    )
}

/// Whether a token is due under the rotation rules (or expired).
fn due<K>(token: &Seen<K>, rules: &RotateRules, now: DateTime<Utc>) -> Option<String> {
    if let Some(at) = token.expires_at {
        if at <= now {
            return Some(format!("expired at {}", when(at)));
        }
        if let Some(before) = rules.before_expiry {
            if at - now <= before {
                return Some(format!(
                    "expires {} (in {}), within rotate_before_expiry {}",
                    when(at),
                    duration::show(at - now),
                    duration::show(before)
                ));
            }
        }
    }
    if let Some(after) = rules.after {
        if let Some(minted) = token.minted_at() {
            let age = (now - minted).max(TimeDelta::zero());
            if age >= after {
                return Some(format!(
                    "minted {} ago, past rotate_after {}",
                    duration::show(age),
                    duration::show(after)
                ));
            }
        }
    }
    None
}

/// The up-to-date reason, with a note when `rotate_after` cannot be
/// applied for want of an age.
fn up_to_date<K>(token: &Seen<K>, rules: &RotateRules) -> String {
    if rules.after.is_some() && token.minted_at().is_none() {
        "up to date; its age is unknown (no marker, and the service gives no creation time), \
         so rotate_after is not applied: a replace or rotation gives it a marker"
            .to_owned()
    } else {
        "up to date".to_owned()
    }
}

/// What to do about a `[[mailtrap]]` entry whose tokens are `found` (oldest
/// first): the action, its reason, and the old token of a rotation to
/// finish when the action is not about the newest token.
fn judge_mailtrap<'a>(
    entry: &MailtrapEntry,
    found: &[&'a Seen<Option<u64>>],
    held_four: Option<&str>,
    now: DateTime<Utc>,
    keys: &[Option<u64>],
) -> (ActionKind, String, Option<&'a Seen<Option<u64>>>) {
    let Some(token) = found.last() else {
        let places: Vec<String> = keys.iter().map(|k| account_text(*k)).collect();
        return (
            ActionKind::Create,
            format!("no token named `{}` in {}", entry.name, places.join(", ")),
            None,
        );
    };
    if found.len() > 1 {
        if let Some((reason, old, new)) = rotation_in_flight(found, now) {
            if held_four.is_some() && held_four == new.last_four.as_deref() {
                // The rotation stored its secret and stopped before
                // retiring the old token: running it again finishes it (it
                // yields to a run still going).
                let reason = format!(
                    "secret_to: {} holds the secret of token {}, the new token of a rotation                      of token {} that did not retire it: rotating again finishes it",
                    entry.secret_to, new.id, old.id
                );
                return (ActionKind::Rotate, reason, Some(old));
            }
            return (ActionKind::None, reason, None);
        }
        return (
            ActionKind::Replace,
            duplicates_reason(found, &entry.name),
            None,
        );
    }
    if let (Some(held), Some(shown)) = (held_four, token.last_four.as_deref()) {
        if held != shown {
            return (
                ActionKind::Replace,
                format!(
                    "secret_to: {} holds the secret of another token than {} (their last four \
                     characters differ): its secret was lost",
                    entry.secret_to, token.id
                ),
                None,
            );
        }
    }
    if !same_permissions(&token.permissions, &entry.permissions) {
        return (
            ActionKind::Replace,
            format!(
                "permissions: {} → {}",
                permissions_text(&token.permissions),
                permissions_text(&entry.permissions)
            ),
            None,
        );
    }
    match (entry.expires, token.expires_at) {
        (Expires::Never, Some(at)) => {
            return (
                ActionKind::Replace,
                format!("expires: {} → never", when(at)),
                None,
            );
        }
        (Expires::After(span), at) if at.is_none_or(|at| at > now + span + EXPIRY_SLACK) => {
            let shown = at.map_or_else(|| "never".to_owned(), when);
            return (
                ActionKind::Replace,
                format!(
                    "expires: {shown} → at most {} from now",
                    duration::show(span)
                ),
                None,
            );
        }
        _ => {}
    }
    match due(token, &entry.rotate, now) {
        Some(reason) => (ActionKind::Rotate, reason, None),
        None => (ActionKind::None, up_to_date(token, &entry.rotate), None),
    }
}

fn unit_user(entry: &UnitEntry, services: &Services) -> Option<UserId> {
    entry.user_id.clone().or_else(|| services.unit_user.clone())
}

impl Planning<'_> {
    /// The actions and orphans of the `[[unit]]` entries, and the number
    /// of lists made.
    async fn unit(self) -> Result<Planned, PlanError> {
        let (file, services, now) = (self.file, self.services, self.now);
        let entries = file.unit();
        // A file with a namespace that has no Unit entry left still owns
        // the tokens it minted for the configured user: its orphans.
        let sweep = file
            .namespace()
            .and(services.unit.as_ref())
            .and(services.unit_user.clone())
            .filter(|_| entries.is_empty());
        if entries.is_empty() && sweep.is_none() {
            return Ok((Vec::new(), Vec::new(), 0, 0));
        }
        let client = services.unit.as_ref().ok_or_else(|| {
            PlanError::NotConfigured(format!(
                "{}: the file has Unit entries but no Unit client was given",
                file.path().display()
            ))
        })?;
        let mut users: Vec<UserId> = Vec::new();
        for entry in entries {
            let user = unit_user(entry, services).ok_or_else(|| {
                PlanError::NotConfigured(format!(
                    "{}:{}: the entry `{}` has no user_id and no default Unit user was given \
                     (UNIT_USER_ID)",
                    file.path().display(),
                    entry.line,
                    entry.description
                ))
            })?;
            if !users.contains(&user) {
                users.push(user);
            }
        }
        users.extend(sweep);
        // Two entries for one user and description, once the default user
        // is known: refused before any request, as the file's own check
        // refuses those that name their user.
        let mut seen_descriptions: BTreeMap<(UserId, &str), usize> = BTreeMap::new();
        for entry in entries {
            let user = unit_user(entry, services).unwrap_or_else(|| unreachable!("checked above"));
            if let Some(first) =
                seen_descriptions.insert((user.clone(), entry.description.as_str()), entry.line)
            {
                return Err(PlanError::NotConfigured(format!(
                    "{}:{}: key `description`: a second Unit entry with the description `{}` for \
                     user {user} (the default user); the first is on line {first}",
                    file.path().display(),
                    entry.line,
                    entry.description
                )));
            }
        }
        let mut listed: BTreeMap<UserId, Vec<Seen<UserId>>> = BTreeMap::new();
        for user in &users {
            let tokens = client
                .org_api_tokens(user.clone())
                .list()
                .await
                .map_err(|source| PlanError::List {
                    service: Service::Unit,
                    scope: format!("user {user}"),
                    source,
                })?;
            let mut seen = Vec::new();
            for t in tokens {
                seen.push(Seen {
                    key: user.clone(),
                    id: t.id.as_str().to_owned(),
                    text: t.description.unwrap_or_default(),
                    expires_at: t.expiration,
                    permissions: Vec::new(),
                    last_four: None,
                    created_at: Some(t.created_at),
                    source_ips: t.source_ips,
                });
            }
            listed.insert(user.clone(), seen);
        }
        let mut actions = Vec::new();
        for (index, entry) in entries.iter().enumerate() {
            let user = unit_user(entry, services).unwrap_or_else(|| unreachable!("checked above"));
            let wanted = file.service_label(&entry.description);
            let mut found: Vec<&Seen<UserId>> = listed
                .get(&user)
                .into_iter()
                .flatten()
                .filter(|t| t.label() == wanted)
                .collect();
            found.sort_by(|a, b| a.order().cmp(&b.order()));
            let (mut kind, mut reason) = judge_unit(entry, &found, now, &user);
            // The old token of a rotation to finish, when the action is
            // not about the newest token.
            let mut unfinished = None;
            // Several tokens with the label (a rotation in flight, or
            // duplicates): a rotation that stored its secret and stopped
            // before revoking the old token is finished, not left to the
            // lease nor replaced. Running it again finishes it (it yields
            // to a run still going).
            let several = found.len() > 1;
            if several || matches!(kind, ActionKind::None | ActionKind::Rotate) {
                let what = format!("unit `{}` (line {})", entry.description, entry.line);
                let held = Held::of(services, &entry.secret_to, &what).await?;
                if let (true, Held::Secret(secret)) = (several, &held) {
                    if let Some((old, new)) = stored_rotation(&found, secret) {
                        reason = format!(
                            "secret_to: {} holds the secret of token {}, the new token of a \
                             rotation of token {} that did not revoke it: rotating again \
                             finishes it",
                            entry.secret_to, new.id, old.id
                        );
                        kind = ActionKind::Rotate;
                        unfinished = Some((old, new));
                    }
                }
                // Unit lists nothing of a token's secret, but a Unit token's
                // signed payload names the token it is: a sink holding a
                // secret whose payload names another token holds no secret
                // of this one. (A payload that names no token tells
                // nothing; a plan makes no call with a secret.)
                // Any token with the entry's label counts: while a
                // rotation is in flight the sink still holds the old one's.
                // A secret that is no Unit token at all holds no secret of
                // this one either.
                let other = match &held {
                    Held::Secret(secret) if !found.is_empty() => match crate::leak::hint(secret) {
                        Some(crate::leak::Hint::Unit(claims)) => claims
                            .token_id
                            .filter(|named| found.iter().all(|t| t.id != *named))
                            .map(|named| {
                                format!(
                                    "the secret of another token (its payload names token \
                                     {named})"
                                )
                            }),
                        _ => Some("a value that is no Unit token's secret".to_owned()),
                    },
                    _ => None,
                };
                // Decided above, or duplicates (replaced whatever the sink
                // holds): nothing more to weigh.
                let open = unfinished.is_none() && kind != ActionKind::Replace;
                if open && matches!(held, Held::Missing) {
                    reason = lost_reason(&entry.secret_to, &reason, kind);
                    kind = ActionKind::Rotate;
                } else if let Some(other) = other.filter(|_| open) {
                    reason = another_tokens_reason(&entry.secret_to, &other, &reason, kind);
                    kind = ActionKind::Rotate;
                }
            }
            let ids = |t: &&Seen<UserId>| unit::TokenId::new(t.id.clone()).ok();
            // The token acted on: the newest, or the old token of a
            // rotation to finish (whose new token is kept).
            let (acted, others): (Option<&Seen<UserId>>, Vec<&Seen<UserId>>) = match unfinished {
                Some((old, new)) => (
                    Some(old),
                    found
                        .iter()
                        .rev()
                        .filter(|t| t.id != old.id && t.id != new.id)
                        .copied()
                        .collect(),
                ),
                None => (
                    found.last().copied(),
                    found.iter().rev().skip(1).copied().collect(),
                ),
            };
            actions.push(Action {
                service: Service::Unit,
                name: entry.description.clone(),
                kind,
                reason,
                token_id: acted.map(|t| t.id.clone()),
                target: Target::Unit {
                    entry: index,
                    user: user.clone(),
                    token: acted.as_ref().and_then(ids),
                    others: others.iter().filter_map(ids).collect(),
                },
            });
        }
        let mut orphans = Vec::new();
        let mut left_alone = 0;
        for user in &users {
            let list = listed.get(user).map(Vec::as_slice).unwrap_or_default();
            let named = |label: &str| {
                entries.iter().any(|e| {
                    file.service_label(&e.description) == label
                        && unit_user(e, services).as_ref() == Some(user)
                })
            };
            let target = |t: &Seen<UserId>| {
                Some(Target::UnitOrphan {
                    user: user.clone(),
                    token: unit::TokenId::new(t.id.clone()).ok()?,
                })
            };
            let scope = format!("user {user}");
            left_alone += self.orphans_in(Service::Unit, list, &scope, named, target, &mut orphans);
        }
        Ok((actions, orphans, users.len(), left_alone))
    }
}

fn ips_text(ips: &[String]) -> String {
    if ips.is_empty() {
        "any".to_owned()
    } else {
        ips.join(",")
    }
}

fn sorted_ips(ips: &[SourceIp]) -> Vec<String> {
    let mut out: Vec<String> = ips.iter().map(ToString::to_string).collect();
    out.sort();
    out.dedup();
    out
}

fn judge_unit(
    entry: &UnitEntry,
    found: &[&Seen<UserId>],
    now: DateTime<Utc>,
    user: &UserId,
) -> (ActionKind, String) {
    let Some(token) = found.last() else {
        return (
            ActionKind::Create,
            format!("no token described `{}` for user {user}", entry.description),
        );
    };
    if found.len() > 1 {
        if let Some((reason, ..)) = rotation_in_flight(found, now) {
            return (ActionKind::None, reason);
        }
        return (
            ActionKind::Replace,
            duplicates_reason(found, &entry.description),
        );
    }
    let (shown, wanted) = (sorted_ips(&token.source_ips), sorted_ips(&entry.source_ips));
    if shown != wanted {
        return (
            ActionKind::Replace,
            format!("source_ips: {} → {}", ips_text(&shown), ips_text(&wanted)),
        );
    }
    match token.expires_at {
        Some(at) if at > now + entry.lifetime + EXPIRY_SLACK => {
            return (
                ActionKind::Replace,
                format!(
                    "expiration: {} → at most {} from now (lifetime)",
                    when(at),
                    duration::show(entry.lifetime)
                ),
            );
        }
        None => {
            return (
                ActionKind::Replace,
                format!(
                    "expiration: never → at most {} from now (lifetime)",
                    duration::show(entry.lifetime)
                ),
            );
        }
        _ => {}
    }
    match due(token, &entry.rotate, now) {
        Some(reason) => (ActionKind::Rotate, reason),
        None => (ActionKind::None, up_to_date(token, &entry.rotate)),
    }
}
