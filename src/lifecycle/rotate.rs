//! Rotation with overlap: what is asked ([`UnitPlan`], [`MailtrapPlan`]),
//! what is reported ([`Rotation`], [`RotateError`]), and the steps both
//! services share (prove, store, retire).

use std::fmt;

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::TokenRef;
use super::marker::Marker;
use super::mint::{Fresh, Listed, Ops, service_serde};
use super::sink::{SecretMeta, SecretSink, SinkError};
use crate::error::{Error, Service};
use crate::mailtrap::Expiry;
use crate::unit::{CreateApiToken, ResourceRestriction, Scope, SourceIp};

/// What a Unit rotation creates in place of the old token.
///
/// Unit's list returns neither the scopes nor the resource restrictions of
/// a token, and a listed CIDR `sourceIp` is only as good as what the
/// service wrote: so the new token's scopes, expiration, source addresses
/// and resources are stated here, never copied from the old token. The
/// description is the old token's label unless one is given.
///
/// ```
/// use api_tokens::lifecycle::UnitPlan;
/// use api_tokens::unit::{ResourceRestriction, Scope};
/// use chrono::{Duration, Utc};
///
/// let plan = UnitPlan::new([Scope::Customers, Scope::Accounts], Utc::now() + Duration::days(90))
///     .source_ips(["10.0.0.0/8".parse()?, "192.168.1.1".parse()?])
///     .resources([ResourceRestriction::accounts(["10005"])])
///     .description("CI deploy");
/// # let _ = plan;
/// # Ok::<(), api_tokens::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitPlan {
    pub(crate) scopes: Vec<Scope>,
    pub(crate) expiration: DateTime<Utc>,
    pub(crate) source_ips: Vec<SourceIp>,
    pub(crate) resources: Option<Vec<ResourceRestriction>>,
    pub(crate) description: Option<String>,
    pub(crate) probe: bool,
}

impl UnitPlan {
    /// A new token with these scopes, valid until `expiration`, usable from
    /// any address and on every resource unless restricted.
    pub fn new(scopes: impl IntoIterator<Item = Scope>, expiration: DateTime<Utc>) -> UnitPlan {
        UnitPlan {
            scopes: scopes.into_iter().collect(),
            expiration,
            source_ips: Vec::new(),
            resources: None,
            description: None,
            probe: true,
        }
    }

    /// Only these addresses or CIDR ranges may use the new token.
    pub fn source_ips(mut self, ips: impl IntoIterator<Item = SourceIp>) -> UnitPlan {
        self.source_ips.extend(ips);
        self
    }

    /// Restricts the new token to these cards or accounts.
    pub fn resources(
        mut self,
        resources: impl IntoIterator<Item = ResourceRestriction>,
    ) -> UnitPlan {
        self.resources
            .get_or_insert_with(Vec::new)
            .extend(resources);
        self
    }

    /// The new token's description (its marker is added after it); by
    /// default the old token's, without its marker.
    pub fn description(mut self, description: impl Into<String>) -> UnitPlan {
        self.description = Some(description.into());
        self
    }

    /// Skips step 2, the call made with the new secret: for a token that
    /// may not be used from this machine (its source addresses exclude
    /// it).
    pub fn skip_probe(mut self) -> UnitPlan {
        self.probe = false;
        self
    }

    /// The create request for a description.
    pub(crate) fn request(&self, description: &str) -> CreateApiToken {
        let mut request =
            CreateApiToken::new(description, self.scopes.iter().cloned(), self.expiration)
                .source_ips(self.source_ips.iter().cloned());
        if let Some(resources) = &self.resources {
            request = request.resources(resources.iter().cloned());
        }
        request
    }
}

/// What a Mailtrap rotation does with the old token after a reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum AfterReset {
    /// Leaves it: the reset gave it a 12-hour grace period, after which it
    /// stops working by itself. The default.
    #[default]
    LetGraceRun,
    /// Deletes it at step 4: its secret stops working at once.
    Delete,
}

/// How a Mailtrap rotation mints the new token.
///
/// By default it resets the old token (the new one gets the same
/// permissions and the name `"<old name> <new id>"`). It creates a new
/// token with the old one's permissions instead, then deletes the old one,
/// when asked to [`keep_name`](MailtrapPlan::keep_name) or when the service
/// refuses the reset with 422 (the token was already reset, or has
/// expired).
///
/// ```
/// use api_tokens::lifecycle::MailtrapPlan;
/// use api_tokens::mailtrap::Expiry;
/// use chrono::{Duration, Utc};
///
/// let plan = MailtrapPlan::new().expires(Expiry::At(Utc::now() + Duration::days(90))).delete_old();
/// # let _ = plan;
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MailtrapPlan {
    pub(crate) expiry: Expiry,
    pub(crate) keep_name: bool,
    pub(crate) after_reset: AfterReset,
    pub(crate) probe: bool,
}

impl MailtrapPlan {
    /// Reset, the service's default lifetime, the old token left to its
    /// grace period.
    pub fn new() -> MailtrapPlan {
        MailtrapPlan {
            expiry: Expiry::ServerDefault,
            keep_name: false,
            after_reset: AfterReset::LetGraceRun,
            probe: true,
        }
    }

    /// When the new token expires.
    pub fn expires(mut self, expiry: Expiry) -> MailtrapPlan {
        self.expiry = expiry;
        self
    }

    /// Creates the new token under the old one's name (its label, with a
    /// new marker) rather than resetting, then deletes the old token.
    pub fn keep_name(mut self) -> MailtrapPlan {
        self.keep_name = true;
        self
    }

    /// Deletes the old token at step 4 even after a reset, instead of
    /// letting its grace period run.
    pub fn delete_old(mut self) -> MailtrapPlan {
        self.after_reset = AfterReset::Delete;
        self
    }

    /// What to do with the old token after a reset.
    pub fn after_reset(mut self, after: AfterReset) -> MailtrapPlan {
        self.after_reset = after;
        self
    }

    /// Skips step 2, the call made with the new secret.
    pub fn skip_probe(mut self) -> MailtrapPlan {
        self.probe = false;
        self
    }
}

/// A step of a rotation, as a [`RotateError`] names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Step {
    /// Step 0: listing the tokens, to find the old one and what an
    /// interrupted earlier run left.
    Inspect,
    /// Step 1: minting the new token (create, or reset).
    Mint,
    /// Step 2: a call made with the new secret, to prove it works.
    Probe,
    /// Step 3: handing the new secret to the sink.
    Store,
    /// Step 4: revoking or deleting the old token and what earlier runs
    /// left.
    Retire,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::Inspect => "step 0 (listing the tokens)",
            Step::Mint => "step 1 (minting the new token)",
            Step::Probe => "step 2 (proving the new secret)",
            Step::Store => "step 3 (storing the new secret)",
            Step::Retire => "step 4 (retiring the old token)",
        })
    }
}

/// What a failed rotation leaves behind, and so what is left to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Left {
    /// The old token is as it was and works; nothing this run minted
    /// remains. The sink was not written.
    Unchanged,
    /// The old token works, but a reset started its grace period: it stops
    /// working at `until` (about 12 hours after the reset; `None` when the
    /// service could not be asked). Nothing this run minted remains; the
    /// sink was not written. Run the rotation again before then: it
    /// creates a new token, since the reset is spent.
    OldInGrace {
        /// When the old token stops working.
        until: Option<DateTime<Utc>>,
    },
    /// The old token works and the sink was not written, but a token this
    /// run minted may remain that nobody holds: its id when known, the
    /// marker it carries when it has one. Running the rotation again
    /// removes it ([`Reconcile`](super::Reconcile) does too).
    Orphan {
        /// The token's id, when known.
        id: Option<String>,
        /// The marker at the end of its description or name.
        marker: Option<Marker>,
    },
    /// The new secret is in the sink and works; these tokens still have to
    /// be revoked or deleted (the old token last). Running the rotation
    /// again finishes the job.
    Stored {
        /// The new token, whose secret the sink holds.
        new: TokenRef,
        /// What is left to revoke or delete, in order.
        to_remove: Vec<TokenRef>,
    },
}

impl fmt::Display for Left {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Left::Unchanged => f.write_str("the old token is unchanged and nothing new remains"),
            Left::OldInGrace { until: Some(at) } => write!(
                f,
                "the old token was reset and works until {}; nothing new remains",
                at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
            Left::OldInGrace { until: None } => f.write_str(
                "the old token was reset and works for its grace period; nothing new remains",
            ),
            Left::Orphan { id, marker } => {
                f.write_str(
                    "the old token still works (after a reset that reached the service, for its \
                     grace period), but a new token may remain that nobody holds",
                )?;
                if let Some(id) = id {
                    write!(f, " (id {id})")?;
                }
                if let Some(marker) = marker {
                    write!(f, " (marked {marker})")?;
                }
                f.write_str("; run the same rotation again to clean it up")
            }
            Left::Stored { new, to_remove } => {
                write!(
                    f,
                    "the sink holds the secret of token {}; left to remove:",
                    new.id
                )?;
                for t in to_remove {
                    write!(f, " {}", t.id)?;
                }
                Ok(())
            }
        }
    }
}

/// How a rotation minted its new token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum RotationMethod {
    /// A create with the stated settings (Unit), or with the old token's
    /// permissions (Mailtrap).
    Create,
    /// A Mailtrap reset.
    Reset,
    /// Nothing minted: an earlier, interrupted run of the same rotation had
    /// already retired the old token, and its new token was kept.
    Resumed,
}

/// What became of the old token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum OldState {
    /// Revoked (Unit): its secret no longer works.
    Revoked,
    /// Deleted (Mailtrap): its secret no longer works.
    Deleted,
    /// Left to its grace period after a reset (Mailtrap).
    GracePeriod {
        /// When it stops working, as the service reported it.
        until: Option<DateTime<Utc>>,
    },
    /// Already gone when this run started (an earlier run retired it).
    AlreadyGone,
}

/// A finished rotation: the new token (whose secret the sink holds), the
/// old one and what became of it, and what was cleaned up on the way. It
/// never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Rotation {
    /// The service.
    #[serde(with = "service_serde")]
    pub service: Service,
    /// The token that was replaced.
    pub old: TokenRef,
    /// The token that replaces it.
    pub new: TokenRef,
    /// When the new token expires, if it does.
    pub expires_at: Option<DateTime<Utc>>,
    /// How the new token was minted.
    pub method: RotationMethod,
    /// What became of the old token.
    pub old_state: OldState,
    /// Other tokens removed: those minted by creates or resets whose
    /// answers were lost, and those left by interrupted earlier runs.
    pub removed: Vec<TokenRef>,
}

impl fmt::Display for Rotation {
    /// One line: `Unit token 19 replaced by 20 (create); the old token was
    /// revoked`, and what was removed on the way.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let how = match self.method {
            RotationMethod::Create => "create",
            RotationMethod::Reset => "reset",
            RotationMethod::Resumed => "an earlier run",
        };
        write!(
            f,
            "{} token {} replaced by {} ({how}); ",
            self.service, self.old.id, self.new.id
        )?;
        match &self.old_state {
            OldState::Revoked => f.write_str("the old token was revoked")?,
            OldState::Deleted => f.write_str("the old token was deleted")?,
            OldState::GracePeriod { until: Some(at) } => write!(
                f,
                "the old token works until {}",
                at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )?,
            OldState::GracePeriod { until: None } => {
                f.write_str("the old token works for its grace period")?;
            }
            OldState::AlreadyGone => f.write_str("the old token was already gone")?,
        }
        if !self.removed.is_empty() {
            f.write_str("; also removed:")?;
            for t in &self.removed {
                write!(f, " {}", t.id)?;
            }
        }
        Ok(())
    }
}

/// Why a rotation stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RotateCause {
    /// A call to the service failed (or, at step 2, the new secret was
    /// refused).
    #[error(transparent)]
    Service(#[from] Error),
    /// The sink could not store the new secret.
    #[error(transparent)]
    Sink(#[from] SinkError),
}

/// A rotation that stopped: at which [`Step`], what it [`Left`] behind, and
/// why. Neither its `Display` nor its `Debug` holds a secret.
#[derive(Debug, thiserror::Error)]
#[error("{} rotation of token {} stopped at {}: {}; {}", .0.service, .0.old, .0.step, .0.cause, .0.left)]
pub struct RotateError(Box<Inner>);

#[derive(Debug)]
struct Inner {
    service: Service,
    old: String,
    step: Step,
    left: Left,
    cause: RotateCause,
}

impl RotateError {
    pub(crate) fn new(
        service: Service,
        old: &str,
        step: Step,
        left: Left,
        cause: impl Into<RotateCause>,
    ) -> RotateError {
        RotateError(Box::new(Inner {
            service,
            old: old.to_owned(),
            step,
            left,
            cause: cause.into(),
        }))
    }

    /// The same error, leaving `left` behind instead.
    pub(crate) fn with_left(mut self, left: Left) -> RotateError {
        self.0.left = left;
        self
    }

    /// The service.
    pub fn service(&self) -> Service {
        self.0.service
    }

    /// The id of the token being replaced.
    pub fn old_id(&self) -> &str {
        &self.0.old
    }

    /// The step that failed.
    pub fn step(&self) -> Step {
        self.0.step
    }

    /// What the failure left behind.
    pub fn left(&self) -> &Left {
        &self.0.left
    }

    /// Why the step failed.
    pub fn cause(&self) -> &RotateCause {
        &self.0.cause
    }

    /// Whether the sink holds the new secret (the failure came at step 4,
    /// or the sink wrote it before failing).
    pub fn secret_stored(&self) -> bool {
        matches!(self.0.left, Left::Stored { .. })
    }

    /// Whether a create or reset lost its answer and the lost token could
    /// not be found and removed ([`Error::Unreconciled`]): a token may
    /// remain that nobody holds.
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(&self.0.cause, RotateCause::Service(e) if e.is_outcome_unknown())
    }
}

/// A new token with its secret, as the shared steps need it.
pub(crate) struct Candidate {
    pub id: String,
    pub text: String,
    pub secret: SecretString,
    pub expires_at: Option<DateTime<Utc>>,
    pub marker: Option<Marker>,
}

impl Candidate {
    pub fn of(token: &impl Fresh, marker: Option<Marker>) -> Candidate {
        Candidate {
            id: token.id_string(),
            text: token.text().to_owned(),
            secret: token.secret().clone(),
            expires_at: token.expires_at(),
            marker,
        }
    }

    pub fn to_ref(&self, service: Service) -> TokenRef {
        TokenRef::new(service, self.id.clone(), Some(self.text.clone()))
    }
}

/// The tokens an interrupted earlier rotation of `old_id` left: those whose
/// marker says they replace it, oldest first.
pub(crate) fn marked_successors(listed: &[Listed], old_id: &str) -> Vec<Listed> {
    let mut found: Vec<Listed> = listed
        .iter()
        .filter(|t| t.marker().is_some_and(|m| m.replaces() == Some(old_id)))
        .cloned()
        .collect();
    found.sort_by_key(Listed::number);
    found
}

/// Removes a minted token after a failure before step 3: `untouched` if it
/// is gone, an orphan if it could not be removed.
async fn discard<O: Ops>(ops: &O, new: &Candidate, untouched: Left) -> Left {
    match ops.remove(&new.id).await {
        Ok(()) => untouched,
        Err(e) => {
            tracing::warn!(service = %O::SERVICE, token_id = %new.id, error = %e,
                "a token minted by a failed rotation could not be removed");
            Left::Orphan {
                id: Some(new.id.clone()),
                marker: new.marker.clone(),
            }
        }
    }
}

/// What [`prove_store_retire`] is to do.
pub(crate) struct Finish<'a> {
    pub old: &'a Listed,
    pub new: &'a Candidate,
    pub earlier: &'a [Listed],
    /// What a failure before step 3 leaves once the new token is removed.
    pub untouched: Left,
    pub retire_old: bool,
    pub probe: bool,
}

/// Steps 2 to 4: proves the new secret, stores it, then removes what
/// earlier runs left and (when asked) the old token. Gives the tokens
/// removed other than the old one.
pub(crate) async fn prove_store_retire<O: Ops>(
    ops: &O,
    sink: &dyn SecretSink,
    job: Finish<'_>,
) -> Result<Vec<TokenRef>, RotateError> {
    let service = O::SERVICE;
    let fail =
        |step, left, cause: RotateCause| RotateError::new(service, &job.old.id, step, left, cause);
    let new_ref = job.new.to_ref(service);
    let mut to_remove: Vec<TokenRef> = job.earlier.iter().map(|t| t.to_ref(service)).collect();
    if job.retire_old {
        to_remove.push(job.old.to_ref(service));
    }

    if job.probe {
        if let Err(e) = ops.probe(&job.new.secret).await {
            let left = discard(ops, job.new, job.untouched).await;
            return Err(fail(Step::Probe, left, e.into()));
        }
    }

    let meta = SecretMeta::new(service, job.new.id.clone())
        .with_name(job.new.text.clone())
        .with_expires_at(job.new.expires_at);
    if let Err(e) = sink.store(&job.new.secret, &meta).await {
        let left = if e.secret_written() {
            Left::Stored {
                new: new_ref,
                to_remove,
            }
        } else {
            discard(ops, job.new, job.untouched).await
        };
        return Err(fail(Step::Store, left, e.into()));
    }

    let mut removed = Vec::new();
    for (i, token) in to_remove.iter().enumerate() {
        if let Err(e) = ops.remove(&token.id).await {
            let left = Left::Stored {
                new: new_ref.clone(),
                to_remove: to_remove[i..].to_vec(),
            };
            return Err(fail(Step::Retire, left, e.into()));
        }
        if token.id != job.old.id {
            removed.push(token.clone());
        }
    }
    Ok(removed)
}

/// The old token is gone: an earlier run retired it after storing its new
/// token, the newest successor. Removes the other successors and reports.
pub(crate) async fn resume<O: Ops>(
    ops: &O,
    old_id: &str,
    earlier: Vec<Listed>,
) -> Result<Rotation, RotateError> {
    let service = O::SERVICE;
    let Some((newest, others)) = earlier.split_last() else {
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
    let new = newest.to_ref(service);
    let mut removed = Vec::new();
    for (i, token) in others.iter().enumerate() {
        if let Err(e) = ops.remove(&token.id).await {
            let left = Left::Stored {
                new: new.clone(),
                to_remove: others[i..].iter().map(|t| t.to_ref(service)).collect(),
            };
            return Err(RotateError::new(service, old_id, Step::Retire, left, e));
        }
        removed.push(token.to_ref(service));
    }
    Ok(Rotation {
        service,
        old: TokenRef::new(service, old_id.to_owned(), None),
        new,
        expires_at: newest.expires_at,
        method: RotationMethod::Resumed,
        old_state: OldState::AlreadyGone,
        removed,
    })
}
