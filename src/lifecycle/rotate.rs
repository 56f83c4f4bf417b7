//! Rotation with overlap: what is asked ([`UnitPlan`], [`MailtrapPlan`]),
//! what is reported ([`Rotation`], [`RotateError`]), and the steps both
//! services share (prove, store, retire).

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::marker::Marker;
use super::sink::SinkError;
use super::token_ref::TokenRef;
use super::token_ref::service_serde;
use crate::error::{Error, Service};
use crate::mailtrap::{AccessLevel, Expiry, Permission};
use crate::unit::{CreateApiToken, ResourceRestriction, Scope, SourceIp};

/// What a Unit rotation creates in place of the old token.
///
/// Unit's list returns neither the scopes nor the resource restrictions of
/// a token: so the new token's scopes, expiration and resources are stated
/// here. Its source addresses are the old token's, as Unit lists them,
/// unless the plan asks for others ([`source_ips`](UnitPlan::source_ips))
/// or for none ([`any_source_ip`](UnitPlan::any_source_ip)): a rotation
/// never widens where a token may be used from unless asked, and the
/// [`Rotation`] names every change ([`Rotation::changes`]). The
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
    /// Whether `source_ips` replaces the old token's source addresses
    /// (asked for explicitly); otherwise the old token's are kept.
    pub(crate) source_ips_stated: bool,
    pub(crate) resources: Option<Vec<ResourceRestriction>>,
    pub(crate) description: Option<String>,
    pub(crate) probe: bool,
    pub(crate) lease: Duration,
    pub(crate) if_older_than: Option<Duration>,
}

/// How long a rotation's new token counts as in flight by default: 10
/// minutes. A token carrying a rotation's marker younger than the lease
/// belongs to a run that may still be going on, and is never removed by
/// another run; an older one was left by an interrupted run. A rotation
/// must finish within its lease (see [`UnitPlan::lease`]).
pub const DEFAULT_LEASE: Duration = Duration::from_secs(600);

impl UnitPlan {
    /// A new token with these scopes, valid until `expiration`, usable from
    /// the old token's source addresses (any address when the old token
    /// has none) and on every resource unless restricted.
    pub fn new(scopes: impl IntoIterator<Item = Scope>, expiration: DateTime<Utc>) -> UnitPlan {
        UnitPlan {
            scopes: scopes.into_iter().collect(),
            expiration,
            source_ips: Vec::new(),
            source_ips_stated: false,
            resources: None,
            description: None,
            probe: true,
            lease: DEFAULT_LEASE,
            if_older_than: None,
        }
    }

    /// Rotates only a token at least `age` old: a run that finds the old
    /// token younger (Unit lists when each token was created), or finds
    /// it already retired and its newest replacement younger, mints
    /// nothing and reports the token up to date
    /// ([`RotationMethod::UpToDate`]). Several schedulers firing at once,
    /// or one firing again after a run that finished a moment ago, so make
    /// one rotation: the others end up to date, or
    /// [superseded](RotateError::superseded) while the winner is in flight.
    /// An age longer than [`MAX_SPAN`](super::MAX_SPAN) is refused at step
    /// 0 with [`Error::Invalid`].
    pub fn if_older_than(mut self, age: Duration) -> UnitPlan {
        self.if_older_than = Some(age);
        self
    }

    /// How long a token minted by a rotation of the same old token counts
    /// as in flight ([`DEFAULT_LEASE`], 10 minutes, unless set): a run
    /// yields to an in-flight rival with a lower id, and treats older
    /// tokens as leftovers of interrupted runs, to remove once its own
    /// secret is stored. Set it above the longest time a rotation may take;
    /// `Duration::ZERO` says no other run can be going on (after a crash,
    /// to finish at once).
    pub fn lease(mut self, lease: Duration) -> UnitPlan {
        self.lease = lease;
        self
    }

    /// Only these addresses or CIDR ranges may use the new token, instead
    /// of the old token's (a narrower or a wider set; calls add up). An
    /// empty list changes nothing: the old token's addresses are kept
    /// unless [`any_source_ip`](Self::any_source_ip) asks otherwise.
    pub fn source_ips(mut self, ips: impl IntoIterator<Item = SourceIp>) -> UnitPlan {
        let before = self.source_ips.len();
        self.source_ips.extend(ips);
        if self.source_ips.len() > before {
            self.source_ips_stated = true;
        }
        self
    }

    /// The new token may be used from any address, whatever the old
    /// token's source addresses were: a wider access, asked for
    /// explicitly. Addresses given before are dropped.
    pub fn any_source_ip(mut self) -> UnitPlan {
        self.source_ips.clear();
        self.source_ips_stated = true;
        self
    }

    /// The new token's source addresses, given the old token's: those the
    /// plan states, or the old token's.
    pub(crate) fn source_ips_for(&self, old: &[SourceIp]) -> Vec<SourceIp> {
        if self.source_ips_stated {
            self.source_ips.clone()
        } else {
            old.to_vec()
        }
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

    /// The create request for a description and source addresses.
    pub(crate) fn request(&self, description: &str, source_ips: &[SourceIp]) -> CreateApiToken {
        let mut request =
            CreateApiToken::new(description, self.scopes.iter().cloned(), self.expiration)
                .source_ips(source_ips.iter().cloned());
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
/// token instead, then deletes the old one, when asked to
/// [`recreate`](MailtrapPlan::recreate) or to change the
/// [`permissions`](MailtrapPlan::permissions) (a reset keeps the old
/// ones), when another rotation of the same token is seen in flight, or
/// when the service refuses the reset with 422 (the token was already
/// reset, or has expired).
///
/// The new token keeps the old one's expiry unless
/// [`expires`](MailtrapPlan::expires) says otherwise: the same date when
/// the old token expires in the future (Mailtrap lists no creation time,
/// so "the same lifetime" cannot be computed), never when it never
/// expires. When the old token has already expired, the rotation is
/// refused at step 0 with [`Error::Invalid`] asking for an expiry: the
/// old horizon is past, and no date would be a guess worth making. A token
/// in a reset's grace period lists the end of its grace as its expiry:
/// after an interrupted reset, state the expiry.
///
/// ```
/// use api_tokens::lifecycle::MailtrapPlan;
/// use api_tokens::mailtrap::Expiry;
/// use chrono::{Duration, Utc};
///
/// let plan = MailtrapPlan::new().expires(Expiry::At(Utc::now() + Duration::days(90))).delete_old();
/// # let _ = plan;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailtrapPlan {
    pub(crate) expiry: Option<Expiry>,
    /// The new token's permissions, when the plan states them; otherwise
    /// the old token's.
    pub(crate) permissions: Option<Vec<Permission>>,
    pub(crate) recreate: bool,
    pub(crate) after_reset: AfterReset,
    pub(crate) probe: bool,
    pub(crate) lease: Duration,
    pub(crate) if_older_than: Option<Duration>,
}

impl Default for MailtrapPlan {
    fn default() -> Self {
        MailtrapPlan::new()
    }
}

impl MailtrapPlan {
    /// Reset, the old token's expiry kept, the old token left to its grace
    /// period.
    pub fn new() -> MailtrapPlan {
        MailtrapPlan {
            expiry: None,
            permissions: None,
            recreate: false,
            after_reset: AfterReset::LetGraceRun,
            probe: true,
            lease: DEFAULT_LEASE,
            if_older_than: None,
        }
    }

    /// When the new token expires ([`Expiry::ServerDefault`] asks for the
    /// service's default lifetime); by default, when the old one does.
    pub fn expires(mut self, expiry: Expiry) -> MailtrapPlan {
        self.expiry = Some(expiry);
        self
    }

    /// Creates a new token instead of resetting the old one: with the old
    /// token's permissions (unless the plan states
    /// [`permissions`](MailtrapPlan::permissions)), named with its label
    /// (its name without the id a reset appended and without its marker)
    /// followed by a new marker, `"<label> [at:TIME-NONCE-CHECK from:OLD]"`;
    /// then deletes the old token. Neither service can rename a token, and the marker is what
    /// lets a lost answer be found again, so the name is not kept exactly.
    pub fn recreate(mut self) -> MailtrapPlan {
        self.recreate = true;
        self
    }

    /// Gives the new token these permissions instead of the old token's
    /// (calls add up; an empty list changes nothing). A reset keeps the old
    /// permissions, so stating them implies
    /// [`recreate`](MailtrapPlan::recreate): a create with these
    /// permissions, then the old token deleted. The [`Rotation`] names the
    /// change ([`Change::Permissions`]) when they differ from the old
    /// token's.
    ///
    /// ```
    /// use api_tokens::lifecycle::MailtrapPlan;
    /// use api_tokens::mailtrap::{AccessLevel, Permission, ResourceType};
    ///
    /// let plan = MailtrapPlan::new()
    ///     .permissions([Permission::new(ResourceType::Account, 3229, AccessLevel::Viewer)]);
    /// # let _ = plan;
    /// ```
    pub fn permissions(
        mut self,
        permissions: impl IntoIterator<Item = Permission>,
    ) -> MailtrapPlan {
        let mut permissions = permissions.into_iter().peekable();
        if permissions.peek().is_some() {
            self.permissions
                .get_or_insert_with(Vec::new)
                .extend(permissions);
            self.recreate = true;
        }
        self
    }

    /// The new token's permissions, given the old token's: those the plan
    /// states, or the old token's.
    pub(crate) fn permissions_for(&self, old: &[Permission]) -> Vec<Permission> {
        self.permissions.clone().unwrap_or_else(|| old.to_vec())
    }

    /// What the new token has that the old one did not, as the plan asked:
    /// the permissions it states when they differ from the old token's (in
    /// any order), and the expiry it states when the new one differs.
    pub(crate) fn changes(
        &self,
        old_permissions: &[Permission],
        old_expiry: Option<DateTime<Utc>>,
        new_expiry: Option<DateTime<Utc>>,
    ) -> Vec<Change> {
        let mut changes = Vec::new();
        if let Some(new) = &self.permissions {
            if !same_permissions(new, old_permissions) {
                changes.push(Change::Permissions {
                    old: old_permissions.to_vec(),
                    new: new.clone(),
                });
            }
        }
        if self.expiry.is_some() && new_expiry != old_expiry {
            changes.push(Change::Expiry {
                old: old_expiry,
                new: new_expiry,
            });
        }
        changes
    }

    /// The former name of [`recreate`](MailtrapPlan::recreate), which it
    /// is: the new token is named `"<label> [at:… from:OLD]"`, not exactly
    /// as the old one.
    #[deprecated(
        since = "0.3.0",
        note = "the name is not kept exactly (a marker is added); use `recreate`"
    )]
    pub fn keep_name(self) -> MailtrapPlan {
        self.recreate()
    }

    /// Deletes the old token at step 4 even after a reset (or a create that
    /// followed a lost reset answer), instead of letting it run.
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

    /// How long a token minted by a rotation of the same old token counts
    /// as in flight: as [`UnitPlan::lease`] ([`DEFAULT_LEASE`] unless set).
    pub fn lease(mut self, lease: Duration) -> MailtrapPlan {
        self.lease = lease;
        self
    }

    /// Rotates only a token at least `age` old, as
    /// [`UnitPlan::if_older_than`]. Mailtrap lists no creation time: a
    /// token's age is known from its marker (a token minted by this crate,
    /// or by a [recreate](MailtrapPlan::recreate) rotation) or, for a
    /// reset's token, from the grace period of the token it replaced while
    /// that one is listed; a token whose age cannot be known counts as
    /// old enough, and is rotated.
    pub fn if_older_than(mut self, age: Duration) -> MailtrapPlan {
        self.if_older_than = Some(age);
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
    /// removes it once it is older than the lease (within the lease, a run
    /// yields to it, since it may belong to a run still going);
    /// [`Reconcile::marker`](super::Reconcile::marker) removes it at once.
    Orphan {
        /// The token's id, when known.
        id: Option<String>,
        /// The marker at the end of its description or name.
        marker: Option<Marker>,
    },
    /// The new secret is in the sink and works; these tokens still have to
    /// be revoked or deleted (the old token last). Running the rotation
    /// again finishes the job once the new token is older than the lease
    /// (at once with a lease of zero); within the lease, a new run yields
    /// to it, since it may belong to a run still going.
    Stored {
        /// The new token, whose secret the sink holds.
        new: TokenRef,
        /// What is left to revoke or delete, in order.
        to_remove: Vec<TokenRef>,
    },
    /// The sink holds the secret of `new`, which is gone (another run of
    /// the same rotation won after this one stored its secret, and this
    /// run removed its token, or someone else did); the old token may have
    /// been retired by the winner meanwhile. Run the rotation again, or
    /// restore the sink from the winner's.
    SinkStale {
        /// The token whose secret the sink holds, removed.
        new: TokenRef,
    },
}

impl fmt::Display for Left {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, None, false)
    }
}

impl Left {
    /// The text of what was left: for `service` when known (Unit has no
    /// reset, so no grace period), leaving out the marker and its remedy
    /// when the cause already names them (`cause_names_marker`).
    fn write(
        &self,
        f: &mut fmt::Formatter<'_>,
        service: Option<Service>,
        cause_names_marker: bool,
    ) -> fmt::Result {
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
            Left::Orphan { id, .. } if cause_names_marker => {
                // The cause names the token that may remain, its marker and
                // how to remove it.
                f.write_str(match service {
                    Some(Service::Mailtrap) => {
                        "the old token still works (for its grace period, if a reset reached \
                         the service)"
                    }
                    _ => "the old token still works",
                })?;
                match id {
                    Some(id) => write!(f, "; the token that may remain has id {id}"),
                    None => Ok(()),
                }
            }
            Left::Orphan { id, marker } => {
                f.write_str(match service {
                    Some(Service::Mailtrap) => {
                        "the old token still works (for its grace period, if a reset reached \
                         the service), but a new token may remain that nobody holds"
                    }
                    _ => "the old token still works, but a new token may remain that nobody holds",
                })?;
                if let Some(id) = id {
                    write!(f, " (id {id})")?;
                }
                if let Some(marker) = marker {
                    write!(f, " (marked {marker})")?;
                }
                f.write_str(
                    "; running the same rotation again removes it once the lease has passed \
                     (at once with a lease of zero, when no other run is going on)",
                )
            }
            Left::SinkStale { new } => write!(
                f,
                "the sink holds the secret of token {}, which was removed: restore it from the \
                 winner's sink, or run the rotation again",
                new.id
            ),
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
    /// permissions or the plan's (Mailtrap).
    Create,
    /// A Mailtrap reset.
    Reset,
    /// Nothing minted: an earlier, interrupted run of the same rotation had
    /// already retired the old token, and its new token was kept.
    Resumed,
    /// Nothing minted: the token, or the newest replacement of an old
    /// token already retired, is younger than the plan's `if_older_than`
    /// ([`UnitPlan::if_older_than`]); `new` names it.
    UpToDate,
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
    /// Not rotated: it is younger than the plan's `if_older_than`, and
    /// stays the current token.
    Current,
    /// Left working, as the plan asked, after a create that followed a
    /// lost reset answer (see [`Fallback::LostResetAnswer`]): it stops
    /// working at `expires_at` (the end of a grace period if the lost
    /// reset reached the service), or never.
    Kept {
        /// When it stops working, as the service reported it.
        expires_at: Option<DateTime<Utc>>,
    },
}

/// Why a Mailtrap rotation that was to reset created its new token
/// instead: a [`Rotation`] says so, for the caller to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Fallback {
    /// The reset's answer was lost: the token it may have made was found
    /// by its name and deleted, and a create followed. The old token was
    /// kept working (the reset may have started its grace period), unless
    /// the plan asked to [`delete_old`](MailtrapPlan::delete_old).
    LostResetAnswer,
    /// The service refused the reset with 422 (already reset, or
    /// expired): a create followed, and the old token was deleted.
    ResetRefused,
    /// Another rotation of the same token was in flight when this one
    /// started: a marked create was used, so that the runs could tell
    /// which one wins.
    RivalInFlight,
}

impl fmt::Display for Fallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Fallback::LostResetAnswer => {
                "the reset's answer was lost, so a new token was created instead; the old \
                 token was kept working unless deleting it was asked"
            }
            Fallback::ResetRefused => {
                "the service refused the reset, so a new token was created instead"
            }
            Fallback::RivalInFlight => {
                "another rotation of the token was in flight, so a new token was created \
                 instead of resetting"
            }
        })
    }
}

/// A setting that differs between the old token and the new one, as a
/// [`Rotation`] reports it: a rotation keeps what the old token had and
/// the service lists, unless the plan asks for another value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "setting", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Change {
    /// The addresses the token may be used from (Unit), as asked by
    /// [`UnitPlan::source_ips`] or [`UnitPlan::any_source_ip`]: an empty
    /// list means any address.
    SourceIps {
        /// The old token's.
        old: Vec<SourceIp>,
        /// The new token's.
        new: Vec<SourceIp>,
    },
    /// When the token expires (Mailtrap), as asked by
    /// [`MailtrapPlan::expires`]: `None` means never, or as the service
    /// decides.
    Expiry {
        /// The old token's.
        old: Option<DateTime<Utc>>,
        /// The new token's.
        new: Option<DateTime<Utc>>,
    },
    /// What the token may do (Mailtrap), as asked by
    /// [`MailtrapPlan::permissions`].
    Permissions {
        /// The old token's.
        old: Vec<Permission>,
        /// The new token's.
        new: Vec<Permission>,
    },
}

/// A permission as text, `TYPE:ID:LEVEL` (`account:3229:admin`), the form
/// [`Permission`]'s `FromStr` reads and a tokens file holds.
fn permission_text(p: &Permission) -> String {
    let level = match p.access_level {
        AccessLevel::Admin => "admin".to_owned(),
        AccessLevel::Viewer => "viewer".to_owned(),
        other => other.code().to_string(),
    };
    format!("{}:{}:{level}", p.resource_type, p.resource_id)
}

/// Permissions as text, `TYPE:ID:LEVEL` separated by `,`; `(none)` for
/// no permission.
pub(crate) fn permissions_text(perms: &[Permission]) -> String {
    if perms.is_empty() {
        return "(none)".to_owned();
    }
    perms
        .iter()
        .map(permission_text)
        .collect::<Vec<_>>()
        .join(",")
}

/// Whether two lists of permissions grant the same, in any order and
/// whatever they repeat.
pub(crate) fn same_permissions(a: &[Permission], b: &[Permission]) -> bool {
    let sorted = |perms: &[Permission]| {
        let mut out: Vec<String> = perms.iter().map(permission_text).collect();
        out.sort();
        out.dedup();
        out
    };
    sorted(a) == sorted(b)
}

impl fmt::Display for Change {
    /// `source addresses changed from 10.0.0.0/8 to any address`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn ips(f: &mut fmt::Formatter<'_>, ips: &[SourceIp]) -> fmt::Result {
            if ips.is_empty() {
                return f.write_str("any address");
            }
            for (i, ip) in ips.iter().enumerate() {
                if i > 0 {
                    f.write_str(",")?;
                }
                write!(f, "{ip}")?;
            }
            Ok(())
        }
        fn at(f: &mut fmt::Formatter<'_>, at: Option<DateTime<Utc>>) -> fmt::Result {
            match at {
                Some(at) => f.write_str(&at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                None => f.write_str("never"),
            }
        }
        match self {
            Change::SourceIps { old, new } => {
                f.write_str("source addresses changed from ")?;
                ips(f, old)?;
                f.write_str(" to ")?;
                ips(f, new)
            }
            Change::Expiry { old, new } => {
                f.write_str("expiry changed from ")?;
                at(f, *old)?;
                f.write_str(" to ")?;
                at(f, *new)
            }
            Change::Permissions { old, new } => write!(
                f,
                "permissions changed from {} to {}",
                permissions_text(old),
                permissions_text(new)
            ),
        }
    }
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
    /// Why a Mailtrap rotation created instead of resetting, when it did.
    pub fallback: Option<Fallback>,
    /// What the new token has that the old one did not, as the plan
    /// asked: empty when the new token keeps the old one's settings (those
    /// the service lists).
    #[serde(default)]
    pub changes: Vec<Change>,
    /// The markers of creates of this rotation whose answers were lost and
    /// whose tokens were not listed (see
    /// [`Minted::unconfirmed`](super::Minted::unconfirmed)): a token may
    /// yet appear carrying one, which nobody holds;
    /// [`Reconcile::marker`](super::Reconcile::marker) removes it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unconfirmed: Vec<Marker>,
}

impl fmt::Display for Rotation {
    /// One line: `Unit token 19 replaced by 20 (create); the old token was
    /// revoked`, and what was removed on the way.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let how = match self.method {
            RotationMethod::Create => "create",
            RotationMethod::Reset => "reset",
            RotationMethod::Resumed => "an earlier run",
            RotationMethod::UpToDate => {
                return if self.old.id == self.new.id {
                    write!(
                        f,
                        "{} token {} is up to date: younger than asked, so not rotated",
                        self.service, self.old.id
                    )
                } else {
                    write!(
                        f,
                        "{} token {} was already replaced by {}, which is younger than \
                         asked: up to date, not rotated again",
                        self.service, self.old.id, self.new.id
                    )
                };
            }
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
            OldState::Current => f.write_str("the old token is current")?,
            OldState::Kept {
                expires_at: Some(at),
            } => write!(
                f,
                "the old token was kept and works until {}",
                at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )?,
            OldState::Kept { expires_at: None } => f.write_str("the old token was kept")?,
        }
        if let Some(fallback) = self.fallback {
            write!(f, " ({fallback})")?;
        }
        for change in &self.changes {
            write!(f, "; {change}")?;
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

impl Rotation {
    /// The report of a run that found `young` (the old token itself, or
    /// its newest replacement) younger than the plan's `if_older_than`:
    /// nothing minted, nothing removed.
    pub(crate) fn up_to_date(
        service: Service,
        old: TokenRef,
        young: TokenRef,
        expires_at: Option<DateTime<Utc>>,
    ) -> Rotation {
        let old_state = if old.id == young.id {
            OldState::Current
        } else {
            OldState::AlreadyGone
        };
        Rotation {
            service,
            old,
            new: young,
            expires_at,
            method: RotationMethod::UpToDate,
            old_state,
            removed: Vec::new(),
            fallback: None,
            changes: Vec::new(),
            unconfirmed: Vec::new(),
        }
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
    /// Another rotation of the same old token won: this one removed what
    /// it minted and yielded.
    #[error("{0}")]
    Superseded(Superseded),
}

/// Why a rotation yielded to another one of the same old token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Superseded {
    /// The token that replaced (or is replacing) the old one: the winner.
    pub winner: TokenRef,
    /// Where the winner's secret lives, when known (e.g. this run's sink
    /// description when the sink already holds it, or a store's name).
    pub secret_at: Option<String>,
}

impl Superseded {
    /// The winner `winner`, its secret's place unknown.
    pub fn new(winner: TokenRef) -> Superseded {
        Superseded {
            winner,
            secret_at: None,
        }
    }
}

impl fmt::Display for Superseded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "superseded: another rotation of the same token won, with token {}",
            self.winner.id
        )?;
        if let Some(at) = &self.secret_at {
            write!(f, " (its secret is in {at})")?;
        }
        Ok(())
    }
}

/// A rotation that stopped: at which [`Step`], what it [`Left`] behind, and
/// why. Neither its `Display` nor its `Debug` holds a secret.
///
/// Its `Display` is one line, `<service> rotation of token <id> stopped at
/// <step>: <cause>; <what was left>`, naming a marker once with one way to
/// remove its token.
#[derive(Debug, thiserror::Error)]
pub struct RotateError(Box<Inner>);

impl fmt::Display for RotateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.0;
        write!(
            f,
            "{} rotation of token {} stopped at {}: {}; ",
            inner.service, inner.old, inner.step, inner.cause
        )?;
        let cause_names_marker = matches!(
            &inner.cause,
            RotateCause::Service(Error::Unreconciled {
                marker: Some(_),
                ..
            })
        );
        inner.left.write(f, Some(inner.service), cause_names_marker)
    }
}

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

    /// Why this run yielded, when another rotation of the same old token
    /// won: `Some` exactly when the run was superseded.
    pub fn superseded(&self) -> Option<&Superseded> {
        match &self.0.cause {
            RotateCause::Superseded(s) => Some(s),
            _ => None,
        }
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
