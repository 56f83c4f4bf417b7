//! Concurrent rotations of the same old token: which run wins, and the
//! steps after the mint (decide, prove, store, decide again, retire) that
//! both services share.
//!
//! The shared state is the service's token list. Every rotation marks its
//! new token `from:OLD` ([`Marker::replacing`]); on Mailtrap a reset's new
//! token is recognised by its name instead. A replacement of `OLD` is *in
//! flight* while its marker is younger than the lease (for a reset's
//! token, while the old token's grace period began less than a lease ago);
//! an older one was left by an interrupted run.
//!
//! **The rule.** After its own mint has answered, a run lists the tokens;
//! among the in-flight replacements of `OLD` and its own token, the one
//! with the lowest id wins. Every other run yields: it removes its own
//! token and reports [`Superseded`]. A run that finds `OLD` gone yields
//! too. Before yielding to a lower rival, a run looks again (three lists,
//! 1 s in all): a rival whose own run removes it (its create's answer was
//! lost, or it yielded) is no winner, and yielding to it at once could
//! leave no run to complete. Removed tokens are never stored, so this
//! changes no argument below. A rival in flight that this run listed
//! before it minted, with an id above its own, shows the ids out of
//! creation order (see (a) below): this run, the later one, yields to it at
//! once, without looking again.
//!
//! **Why at most one completes.** Assume (a) the service numbers tokens in
//! increasing order of creation, resets included, and (b) a list answered
//! after a create (or reset) has answered shows that token, and every
//! token created before it. Let `w` be the lowest id among the tokens of
//! the overlapping runs. The run that minted `w` lists after its mint
//! answered; every rival with a lower id would have been created before
//! `w` and so be listed, and there is none: it wins. Any other run `r`
//! minted a token with an id above `w`, so `w` was created first and is in
//! `r`'s list (by (b)), in flight: `r` yields. Tokens minted later get
//! higher ids, so no later list can make a run that decided it won lose:
//! the decision is final, and a run that lists after the winner stored
//! sees the winner's lower id and yields. The winner lists once more after
//! storing, before retiring anything, and yields (its token removed, the
//! old one kept) if that list contradicts the first, so that a service
//! that breaks (a) or (b) costs a failed run, never two retired tokens.
//!
//! **Dead runs, told by the sink's writer lock.** A run whose sink has a
//! writer lock ([`SecretSink::writer_lock`]) takes it before it lists
//! anything and holds it until it ends ([`Writer`]); only then does it
//! name the sink in its marker (` to:TAG`, before ` from:OLD`). A token in flight whose marker
//! names the sink whose lock this run holds was minted by a run that held
//! the lock, and holds it no more: the kernel released it, so that run
//! ended or died, and its token is not in flight but a leftover (removed
//! at retire, after this run stored). This changes nothing above for live
//! runs: two live runs never hold one lock at once, a run that did not get
//! the lock writes no tag and is judged by the lease as before, and a run
//! that waited for the lock takes no token for a dead run's (it may be the
//! work of the run it waited for: the lease decides) and is superseded
//! when it finds the old token gone, never resumed. Where nothing
//! can tell (another sink, no lock, another machine, a reset's token, a
//! marker naming no sink), the lease decides.
//!
//! **Why at least one completes.** The run that minted the lowest id
//! wins, unless it fails, is killed, or meets an in-flight token with a
//! lower id whose run has already stopped and which names no sink whose
//! lock this run holds (a crash less than a lease ago: every run yields to
//! it until the lease has passed).
//!
//! **Mint exactly once** is kept: a run whose create loses its answer
//! removes only the token carrying its own marker, never a rival's.

use chrono::{DateTime, TimeDelta, Utc};
use secrecy::SecretString;

use super::marker::Marker;
use super::mint::{Fresh, Listed, Ops, TokenKey};
use super::rotate::{
    Left, OldState, RotateCause, RotateError, Rotation, RotationMethod, Step, Superseded,
};
use super::sink::lock::{FileLock, try_lock};
use super::sink::{SecretMeta, SecretSink, SinkError, store_read_back};
use super::token_ref::TokenRef;
use crate::error::{Error, Service};

/// A new token with its secret, as the shared steps need it.
pub(crate) struct Candidate<I> {
    pub id: I,
    pub text: String,
    pub secret: SecretString,
    pub expires_at: Option<DateTime<Utc>>,
    pub marker: Option<Marker>,
}

impl<I: TokenKey> Candidate<I> {
    pub fn of(token: &impl Fresh<Id = I>, marker: Option<Marker>) -> Candidate<I> {
        Candidate {
            id: token.id().clone(),
            text: token.text().to_owned(),
            secret: token.secret().clone(),
            expires_at: token.expires_at(),
            marker,
        }
    }

    pub fn to_ref(&self, service: Service) -> TokenRef {
        TokenRef::new(service, self.id.to_string(), Some(self.text.clone()))
    }
}

/// Finds the tokens a reset of the old token made in a list, each with
/// whether it is in flight.
pub(crate) type ResetsOf<'a, I> = &'a (dyn Fn(&[Listed<I>]) -> Vec<(Listed<I>, bool)> + Sync);

/// What tells the replacements of one old token apart in a list.
pub(crate) struct Race<'a, I> {
    pub old_id: &'a I,
    pub lease: TimeDelta,
    pub now: DateTime<Utc>,
    /// Mailtrap: the tokens a reset of the old token made, found in a list,
    /// each with whether it is in flight. Unit: none.
    pub resets: ResetsOf<'a, I>,
    /// The sink's writer lock, as this run holds it (or not).
    pub writer: &'a Writer,
    /// The tokens listed before this run minted (step 0).
    pub before: &'a [Listed<I>],
}

/// A run's hold on its sink's writer lock ([`SecretSink::writer_lock`]):
/// taken before the run lists anything, released when the run ends (the
/// value is dropped) or dies (the kernel releases it).
#[derive(Debug, Default)]
pub(crate) struct Writer {
    /// The sink's tag, when this run holds its lock.
    tag: Option<String>,
    /// Whether another live run held the lock when this run came.
    waited: bool,
    _held: Option<FileLock>,
}

impl Writer {
    /// Takes `sink`'s writer lock: at once when nobody holds it; otherwise
    /// waits, polling, for the live run that holds it to end, at most
    /// `lease` (after which the run goes on without it, under the lease
    /// rule). A sink with no writer lock, or one whose lock file cannot be
    /// opened, gives a hold on nothing.
    pub(crate) async fn take(sink: &dyn SecretSink, lease: std::time::Duration) -> Writer {
        let Some(lock) = sink.writer_lock() else {
            return Writer::default();
        };
        // `None`: a lease too long to reach; the wait ends with the holder.
        let give_up = tokio::time::Instant::now().checked_add(lease);
        let mut pause = std::time::Duration::from_millis(10);
        let mut waited = false;
        loop {
            match try_lock(lock.path()) {
                Ok(Some(held)) => {
                    return Writer {
                        tag: Some(lock.tag().to_owned()),
                        waited,
                        _held: Some(held),
                    };
                }
                Ok(None) => {
                    waited = true;
                    if give_up.is_some_and(|end| tokio::time::Instant::now() >= end) {
                        tracing::warn!(sink = %sink.describe(),
                            "another run has held the sink's writer lock for longer than the \
                             lease; this run goes on without it");
                        return Writer {
                            waited,
                            ..Writer::default()
                        };
                    }
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(std::time::Duration::from_millis(250));
                }
                Err(e) => {
                    tracing::warn!(sink = %sink.describe(), lock = %lock.path().display(),
                        error = %e, "the sink's writer lock could not be taken; the lease \
                        alone tells a dead run's token");
                    return Writer {
                        waited,
                        ..Writer::default()
                    };
                }
            }
        }
    }

    /// The tag of the sink whose writer lock this run holds.
    pub(crate) fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// Whether a live run into the same sink held the lock when this run
    /// came: what this run then finds done, that run did, and a token
    /// headed for the sink may be that run's (the lease decides).
    pub(crate) fn waited(&self) -> bool {
        self.waited
    }
}

impl<I: TokenKey> Race<'_, I> {
    /// The replacements of the old token in `listed` other than `mine`,
    /// each with whether it is in flight.
    fn rivals(&self, listed: &[Listed<I>], mine: Option<&I>) -> Vec<(Listed<I>, bool)> {
        let old_id = self.old_id.to_string();
        let mut found: Vec<(Listed<I>, bool)> = listed
            .iter()
            .filter(|t| Some(&t.id) != mine)
            .filter_map(|t| {
                let marker = t.checked_marker()?;
                // A token headed for the sink whose writer lock this run
                // holds was minted by a run that held it too, and no
                // longer does: that run is dead, whatever the lease says.
                // Unless this run waited for the lock: the token may then
                // be the work of the live run it waited for.
                let dead = !self.writer.waited()
                    && self.writer.tag().is_some()
                    && marker.sink() == self.writer.tag();
                (marker.replaces() == Some(old_id.as_str()))
                    .then(|| (t.clone(), !dead && marker.age(self.now) < self.lease))
            })
            .collect();
        found.extend(
            (self.resets)(listed)
                .into_iter()
                .filter(|(t, _)| Some(&t.id) != mine),
        );
        found.sort_by(|(a, _), (b, _)| a.id.cmp(&b.id));
        found
    }

    /// The newest replacement of the old token in `listed`: the token the
    /// last rotation of it minted.
    pub fn newest_replacement(&self, listed: &[Listed<I>]) -> Option<Listed<I>> {
        self.in_flight(listed, None)
            .into_iter()
            .chain(self.leftovers(listed, None))
            .max_by(|a, b| a.id.cmp(&b.id))
    }

    /// The in-flight rivals of `mine` in `listed`.
    pub fn in_flight(&self, listed: &[Listed<I>], mine: Option<&I>) -> Vec<Listed<I>> {
        self.rivals(listed, mine)
            .into_iter()
            .filter_map(|(t, live)| live.then_some(t))
            .collect()
    }

    /// The leftovers of interrupted runs in `listed`, oldest first.
    pub fn leftovers(&self, listed: &[Listed<I>], mine: Option<&I>) -> Vec<Listed<I>> {
        self.rivals(listed, mine)
            .into_iter()
            .filter_map(|(t, live)| (!live).then_some(t))
            .collect()
    }

    /// Who wins against `mine` in `listed`: `None` when `mine` does, the
    /// winner otherwise (also when the old token is gone, or `mine` is).
    fn winner(&self, listed: &[Listed<I>], mine: &Candidate<I>) -> Result<(), Listed<I>> {
        let in_flight = self.in_flight(listed, Some(&mine.id));
        // The lowest of the rivals below this run's token: the winner.
        let lower = in_flight
            .iter()
            .filter(|t| t.id < mine.id)
            .min_by(|a, b| a.id.cmp(&b.id));
        if let Some(w) = lower {
            return Err(w.clone());
        }
        // A rival listed before this run minted was created first, so by
        // (a) its id is below this run's. One above it shows ids out of
        // creation order: the rule cannot rank the two, and this run, the
        // later one, yields to it, so that the earlier run, which may have
        // decided and stored already, stays the only one to complete.
        let earlier = in_flight
            .into_iter()
            .filter(|t| self.before.iter().any(|b| b.id == t.id))
            .min_by(|a, b| a.id.cmp(&b.id));
        if let Some(w) = earlier {
            return Err(w);
        }
        if !listed.iter().any(|t| t.id == *self.old_id) || !listed.iter().any(|t| t.id == mine.id) {
            // The old token was retired, or this run's token removed: a
            // rival finished; name the lowest replacement listed.
            let w = self
                .rivals(listed, Some(&mine.id))
                .into_iter()
                .map(|(t, _)| t)
                .next()
                .unwrap_or_else(|| Listed {
                    id: self.old_id.clone(),
                    text: String::new(),
                    expires_at: None,
                });
            return Err(w);
        }
        Ok(())
    }
}

/// Removes a minted token after a failure before step 3: `untouched` if it
/// is gone, an orphan if it could not be removed.
pub(crate) async fn discard<O: Ops>(ops: &O, new: &Candidate<O::Id>, untouched: Left) -> Left {
    match ops.remove(&new.id).await {
        Ok(()) => untouched,
        Err(e) => {
            tracing::warn!(service = %O::SERVICE, token_id = %new.id, error = %e,
                "a token minted by a failed rotation could not be removed");
            Left::Orphan {
                id: Some(new.id.to_string()),
                marker: new.marker.clone(),
            }
        }
    }
}

/// The pauses before a run that lost to a lower rival looks again.
const CONFIRM_PAUSES: [std::time::Duration; 3] = [
    std::time::Duration::from_millis(100),
    std::time::Duration::from_millis(300),
    std::time::Duration::from_millis(600),
];

/// Who wins against `mine`, confirmed: a lower rival may be a token its
/// own run is about to remove (its create's answer was lost, so its run
/// removes it and mints again; or its run yielded to another), and a run
/// that yielded to it at once could leave nobody to complete. So a run
/// beaten by a lower rival lists again after a pause, up to three times,
/// and decides anew once that rival is gone. Safe as the rule is: a
/// token removed is never stored by its run, and a token minted after
/// this run's has a higher id. A list that fails keeps the decision.
async fn confirmed_winner<O: Ops>(
    ops: &O,
    race: &Race<'_, O::Id>,
    mine: &Candidate<O::Id>,
    mut listed: Vec<Listed<O::Id>>,
) -> Result<(), Listed<O::Id>> {
    let mut winner = match race.winner(&listed, mine) {
        Ok(()) => return Ok(()),
        Err(winner) => winner,
    };
    for pause in CONFIRM_PAUSES {
        // Only a rival still listed can go away; a retired old token or a
        // removed own token is final, and so is a rival created before
        // this run's token (a higher id: the later run yields at once, so
        // that the two never wait on each other).
        if winner.id == *race.old_id
            || winner.id > mine.id
            || !listed.iter().any(|t| t.id == winner.id)
        {
            break;
        }
        tokio::time::sleep(pause).await;
        let Ok(again) = ops.list_all().await else {
            break;
        };
        if !again.iter().any(|t| t.id == *race.old_id) {
            // A rotation finished meanwhile: the rival's, which wins.
            break;
        }
        let stays = again.iter().any(|t| t.id == winner.id);
        listed = again;
        if stays {
            continue;
        }
        match race.winner(&listed, mine) {
            Ok(()) => return Ok(()),
            Err(next) => winner = next,
        }
    }
    Err(winner)
}

/// What [`finish`] is to do.
pub(crate) struct Finish<'a, I> {
    pub old: &'a Listed<I>,
    pub new: &'a Candidate<I>,
    pub race: &'a Race<'a, I>,
    /// What a failure before step 3 leaves once the new token is removed.
    pub untouched: Left,
    pub retire_old: bool,
    pub probe: bool,
}

/// After the mint: decides whether this run wins (yielding otherwise),
/// proves the new secret, stores it, decides again, then removes the
/// leftovers of interrupted runs and (when asked) the old token. Gives the
/// tokens removed other than the old one.
pub(crate) async fn finish<O: Ops>(
    ops: &O,
    sink: &dyn SecretSink,
    job: Finish<'_, O::Id>,
) -> Result<Vec<TokenRef>, RotateError> {
    let service = O::SERVICE;
    let old_id = &job.old.id.to_string();
    let fail =
        |step, left, cause: RotateCause| RotateError::new(service, old_id, step, left, cause);
    let new_ref = job.new.to_ref(service);

    // Decide: the lowest in-flight id wins.
    let listed = match ops.list_all().await {
        Ok(listed) => listed,
        Err(e) => {
            let left = discard(ops, job.new, job.untouched).await;
            return Err(fail(Step::Mint, left, e.into()));
        }
    };
    if let Err(winner) = confirmed_winner(ops, job.race, job.new, listed).await {
        let left = discard(ops, job.new, job.untouched).await;
        tracing::info!(service = %service, old = %old_id, winner = %winner.id,
            "another rotation of the same token won; this one yields");
        let cause = superseded_by(&winner, sink, service);
        return Err(fail(Step::Mint, left, RotateCause::Superseded(cause)));
    }

    if job.probe {
        if let Err(e) = ops.probe(&job.new.secret).await {
            let left = discard(ops, job.new, job.untouched).await;
            return Err(fail(Step::Probe, left, e.into()));
        }
    }

    let meta = SecretMeta::new(service, job.new.id.to_string())
        .with_name(job.new.text.clone())
        .with_expires_at(job.new.expires_at);
    if let Err(e) = store_read_back(sink, &job.new.secret, &meta).await {
        if e.secret_written() {
            let left = Left::Stored {
                new: new_ref,
                to_remove: job
                    .retire_old
                    .then(|| job.old.to_ref(service))
                    .into_iter()
                    .collect(),
            };
            return Err(fail(Step::Store, left, e.into()));
        }
        let left = discard(ops, job.new, job.untouched).await;
        if let SinkError::Superseded { .. } = &e {
            let holder = e.holder().unwrap_or("unknown");
            let cause = Superseded {
                winner: TokenRef::new(service, holder, None),
                secret_at: Some(sink.describe()),
            };
            return Err(fail(Step::Store, left, RotateCause::Superseded(cause)));
        }
        return Err(fail(Step::Store, left, e.into()));
    }

    // Decide again before retiring anything: the first decision must hold.
    let stored = Left::Stored {
        new: new_ref.clone(),
        to_remove: job
            .retire_old
            .then(|| job.old.to_ref(service))
            .into_iter()
            .collect(),
    };
    let listed = ops
        .list_all()
        .await
        .map_err(|e| fail(Step::Retire, stored.clone(), e.into()))?;
    if let Err(winner) = job.race.winner(&listed, job.new) {
        tracing::warn!(service = %service, old = %old_id, winner = %winner.id,
            "another rotation of the same token won after this one stored its secret");
        let left = match discard(ops, job.new, Left::Unchanged).await {
            Left::Unchanged => Left::SinkStale { new: new_ref },
            orphan => orphan,
        };
        let cause = superseded_by(&winner, sink, service);
        return Err(fail(Step::Store, left, RotateCause::Superseded(cause)));
    }

    let mut to_remove = job.race.leftovers(&listed, Some(&job.new.id));
    if job.retire_old {
        to_remove.push(job.old.clone());
    }
    let mut removed = remove_all(ops, old_id, &new_ref, &to_remove).await?;
    removed.retain(|t| t.id != *old_id);
    Ok(removed)
}

/// Step 4: removes `tokens` in order once the secret of `new` is stored,
/// giving those removed; a failure is a [`RotateError`] at
/// [`Step::Retire`] naming the tokens still to remove.
pub(crate) async fn remove_all<O: Ops>(
    ops: &O,
    old_id: &str,
    new: &TokenRef,
    tokens: &[Listed<O::Id>],
) -> Result<Vec<TokenRef>, RotateError> {
    let service = O::SERVICE;
    let mut removed = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        if let Err(e) = ops.remove(&token.id).await {
            let left = Left::Stored {
                new: new.clone(),
                to_remove: tokens[i..].iter().map(|t| t.to_ref(service)).collect(),
            };
            return Err(RotateError::new(service, old_id, Step::Retire, left, e));
        }
        removed.push(token.to_ref(service));
    }
    Ok(removed)
}

/// A rotation that stored its secret and stopped before retiring the old
/// token, run again: the sink holds the working secret of a replacement
/// of `old` that is no longer in flight (older than the lease, or a dead
/// run's, told by the sink's writer lock), which `owner` names. The run
/// finishes it: removes the other leftovers and the old token, mints
/// nothing, and reports [`RotationMethod::Resumed`]. `None` when that is
/// not the case: a replacement in flight belongs to a run that may be
/// about to retire the old token itself, and a run that waited for the
/// sink's lock leaves what it finds to the lease.
pub(crate) async fn stored_before<O: Ops>(
    ops: &O,
    sink: &dyn SecretSink,
    race: &Race<'_, O::Id>,
    listed: &[Listed<O::Id>],
    old: &Listed<O::Id>,
    owner: impl Fn(&SecretString) -> Option<O::Id>,
) -> Result<Option<Rotation>, RotateError> {
    let service = O::SERVICE;
    let leftovers = race.leftovers(listed, None);
    if leftovers.is_empty() || race.writer.waited() {
        return Ok(None);
    }
    let Ok(Some(secret)) = sink.current().await else {
        return Ok(None);
    };
    let Some(held) = owner(&secret).and_then(|id| leftovers.iter().find(|t| t.id == id)) else {
        return Ok(None);
    };
    if ops.probe(&secret).await.is_err() {
        return Ok(None);
    }
    let old_id = old.id.to_string();
    let new = held.to_ref(service);
    let mut to_remove: Vec<Listed<O::Id>> = leftovers
        .iter()
        .filter(|t| t.id != held.id)
        .cloned()
        .collect();
    to_remove.push(old.clone());
    let mut removed = remove_all(ops, &old_id, &new, &to_remove).await?;
    removed.retain(|t| t.id != old_id);
    tracing::info!(service = %service, old = %old_id, new = %new.id,
        "the sink holds the secret of a replacement stored by an earlier run; finishing it");
    Ok(Some(Rotation {
        service,
        old: old.to_ref(service),
        new,
        expires_at: held.expires_at,
        method: RotationMethod::Resumed,
        old_state: OldState::Revoked,
        removed,
        fallback: None,
        changes: Vec::new(),
        unconfirmed: Vec::new(),
    }))
}

/// The old token is gone: a run of the same rotation retired it, and its
/// token (the lowest replacement listed) is the winner. This run reports
/// the rotation done when its sink already holds the working secret of a
/// replacement of the old token, which `owner` names (the old secret no
/// longer works; a working secret of another token proves nothing);
/// otherwise it is superseded.
pub(crate) async fn already_rotated<O: Ops>(
    ops: &O,
    sink: &dyn SecretSink,
    race: &Race<'_, O::Id>,
    listed: &[Listed<O::Id>],
    owner: impl Fn(&SecretString) -> Option<O::Id>,
) -> Result<Rotation, RotateError> {
    let service = O::SERVICE;
    let old_id = &race.old_id.to_string();
    let rivals = race.rivals(listed, None);
    let Some((winner, _)) = rivals.first() else {
        return Err(RotateError::new(
            service,
            old_id,
            Step::Inspect,
            Left::Unchanged,
            Error::invalid(
                "old",
                format!(
                    "token {old_id} is not among the {service} tokens, and no token carries \
                     the marker of a rotation of it"
                ),
            ),
        ));
    };
    // A run that waited for a live run into the same sink finds that
    // run's work: it is superseded, not a resumption of it.
    let held = if race.writer.waited() {
        None
    } else {
        match sink.current().await {
            Ok(Some(secret)) => {
                match owner(&secret).and_then(|id| rivals.iter().find(|(t, _)| t.id == id)) {
                    Some((held, _)) if ops.probe(&secret).await.is_ok() => Some(held),
                    _ => None,
                }
            }
            Ok(None) | Err(_) => None,
        }
    };
    let Some(held) = held else {
        let cause = superseded_by(winner, sink, service);
        return Err(RotateError::new(
            service,
            old_id,
            Step::Inspect,
            Left::Unchanged,
            RotateCause::Superseded(cause),
        ));
    };
    let new = held.to_ref(service);
    let leftovers: Vec<Listed<O::Id>> = rivals
        .iter()
        .filter(|(t, live)| !live && t.id != held.id)
        .map(|(t, _)| t.clone())
        .collect();
    let removed = remove_all(ops, old_id, &new, &leftovers).await?;
    Ok(Rotation {
        service,
        old: TokenRef::new(service, old_id.clone(), None),
        new,
        expires_at: held.expires_at,
        method: RotationMethod::Resumed,
        old_state: OldState::AlreadyGone,
        removed,
        fallback: None,
        changes: Vec::new(),
        unconfirmed: Vec::new(),
    })
}

/// No reset tokens: Unit has no resets.
/// The rotation that superseded this run, by its token `winner`: its
/// secret's place is this run's sink when the winner's marker names the
/// same place (a file's tag): a run headed for the same file.
pub(crate) fn superseded_by<I: TokenKey>(
    winner: &Listed<I>,
    sink: &dyn SecretSink,
    service: Service,
) -> Superseded {
    let mut superseded = Superseded::new(winner.to_ref(service));
    let ours = sink.writer_lock();
    let theirs = winner.marker();
    if ours.is_some() && theirs.as_ref().and_then(Marker::sink) == ours.as_ref().map(|l| l.tag()) {
        superseded.secret_at = Some(sink.describe());
    }
    superseded
}

pub(crate) fn no_resets<I>(_: &[Listed<I>]) -> Vec<(Listed<I>, bool)> {
    Vec::new()
}
