//! The lifecycle of a token beyond single calls: mint exactly once,
//! reconcile, rotate with overlap, audit, and hand each new secret to
//! where it lives.
//!
//! Built on the public API of both dialects ([`unit`](crate::unit),
//! [`mailtrap`](crate::mailtrap)); nothing here speaks HTTP.
//!
//! - [`UnitLifecycle`] and [`MailtrapLifecycle`]: `mint` (and `mint_into`
//!   a sink), `reconcile` and `rotate` on one Unit user's or one Mailtrap
//!   account's tokens.
//! - [`audit`]: one look over both services, as an [`AuditReport`].
//! - [`sink`]: where a new secret goes (a file, a line of a dotenv file,
//!   standard output, a secrets manager behind the [`SecretSink`] trait).
//!
//! # Mint exactly once
//!
//! A create whose answer is lost may have minted a token that nobody
//! holds. [`UnitLifecycle::mint`] and [`MailtrapLifecycle::mint`] tag each
//! create with a unique [`Marker`] at the end of the description (Unit) or
//! name (Mailtrap), e.g. `"CI deploy [at:t4k2ab-7f3k9q2m-3fa91c]"`, whose
//! last part is a check over the marker and the label, so that a name
//! merely shaped like a marker is never taken for one (labels shaped like
//! markers are refused: [`Marker::looks_like_marker`]). When the
//! answer is lost they list the tokens, remove the one carrying the marker
//! and create again, at most [`MAX_MINTS`] times: one call leaves exactly
//! one live token it minted, or none and an error. When the list or the
//! removal fails too, the error is [`Error::Unreconciled`](crate::Error::Unreconciled),
//! naming the marker, and [`Reconcile::marker`] removes that token later;
//! [`Reconcile::older_than`] sweeps markers past an age.
//!
//! Neither service can rename a token: a minted token keeps its marker
//! for life, so a sweep by age must be told which marked tokens are held
//! ([`Reconcile::keep`]); a token minted by a rotation is swept only when
//! it is a leftover (see [`Reconcile`]): never the newest replacement of a
//! token still listed, never one younger than the lease, never one whose
//! old token is gone.
//!
//! # Rotate with overlap
//!
//! `rotate(old, plan, sink)` replaces a token in four steps, after a step 0
//! that checks the sink ([`SecretSink::check`]) and lists the tokens to
//! find the old one and what other runs of the same rotation left or are
//! doing (tokens whose checked marker says they replace `old`, and on
//! Mailtrap the tokens a reset of `old` made):
//!
//! | step | does | a failure there leaves ([`Left`]) |
//! | --- | --- | --- |
//! | 0 inspect | checks the sink, lists the tokens | [`Left::Unchanged`]: nothing was done |
//! | 1 mint | Unit: create with what the [`UnitPlan`] states, exactly once; Mailtrap: reset, or create with the old permissions (or the plan's [`permissions`](MailtrapPlan::permissions)) when the [`MailtrapPlan`] asks to [recreate](MailtrapPlan::recreate) or states permissions, another rotation is in flight, or the reset is refused with 422; then a list decides whether this run wins (below) | [`Left::Unchanged`]; on Mailtrap after a reset reached the service, [`Left::OldInGrace`]; when a lost answer could not be reconciled, [`Left::Orphan`] with the marker |
//! | 2 probe | a call made with the new secret (a 403 counts as accepted) | the new token is removed: [`Left::Unchanged`] (or [`Left::OldInGrace`] after a reset); [`Left::Orphan`] if the removal fails |
//! | 3 store | hands the secret to the [`SecretSink`], then lists again to confirm the decision | as step 2, unless the sink reports the secret written ([`SinkError::secret_written`]): then [`Left::Stored`]; [`Left::SinkStale`] if the confirmation found another winner |
//! | 4 retire | removes what interrupted earlier runs left, then revokes (Unit) or deletes (Mailtrap) the old token, unless the plan lets it run | [`Left::Stored`]: the sink holds the new, working secret, and the tokens still to remove are listed |
//!
//! A failure before step 3 leaves the old token working and removes what
//! was minted; a failure after it leaves the new secret stored and says
//! what is left to do. Every failure is a [`RotateError`] naming the
//! [`Step`], what it left and the cause.
//!
//! # Concurrent rotations
//!
//! Several runs may rotate the same old token at once (from several
//! machines, with no coordination service): the token list is the shared
//! state. A token marked as replacing `old` whose marker is younger than
//! the plan's lease ([`UnitPlan::lease`], [`DEFAULT_LEASE`]: 10 minutes)
//! belongs to a run that may still be going; an older one was left by an
//! interrupted run. After its mint, each run lists the tokens: among the
//! in-flight replacements of `old` and its own, **the lowest id wins**.
//! The others remove what they minted before storing anything and fail
//! with [`RotateError::superseded`] naming the winner. The winner lists
//! once more after storing, before retiring anything.
//!
//! This holds when (a) the service numbers tokens in increasing order of
//! creation (resets included) and (b) a list answered after a create has
//! answered shows that token and every token created before it: the
//! lowest id's run sees no lower rival and wins; every other run sees it
//! and yields; a token minted later has a higher id, so no decision is
//! ever overturned. A run started after the winner retired the old token
//! finds it gone and is superseded, unless its sink already holds a secret
//! the service accepts ([`SecretSink::current`], proved with a call), in
//! which case it reports the rotation done ([`RotationMethod::Resumed`]).
//! A run whose create loses its answer removes only the token carrying its
//! own marker, never a rival's.
//!
//! On Mailtrap a reset's token carries no marker: it is dated by the old
//! token's grace period (a reset sets its expiry to 12 hours ahead) and
//! ranked by its id like the others; a run that sees another rotation in
//! flight creates instead of resetting. A reset whose answer is lost
//! deletes the reset token it finds, which may be a concurrent run's:
//! [recreate](MailtrapPlan::recreate) where rotations overlap.
//!
//! # Running a rotation again converges
//!
//! A run that crashed left a token in flight; whether its run is dead or
//! still going is told by the sink's **writer lock**
//! ([`SecretSink::writer_lock`], [`sink::WriterLock`]): the file sinks
//! give one, an advisory lock on a file beside the target that the kernel
//! releases when its holder dies, however it dies. Every rotation into
//! such a sink takes it before step 0 and holds it until it ends, and
//! names the sink in the marker of the token it mints (` to:TAG`, a short
//! hash of the place and of this machine's host name; see [`Marker::sink`]).
//! So a run that holds the lock and finds an in-flight replacement headed
//! for the same sink knows no live run is writing it: that token is a dead
//! run's leftover, removed at step 4 once this run's secret is stored, and
//! the rerun converges **at once**: the old token still listed, the dead
//! run's token is kept when the sink holds its working secret (the crash
//! came after its store: the old token is retired, nothing is minted,
//! [`RotationMethod::Resumed`]); otherwise a new token is minted and
//! stored, and the dead run's tokens are removed with the old one; the old
//! token gone (the crash came during step 4), the lowest token marked as
//! replacing it is kept and reported as [`RotationMethod::Resumed`] when
//! the sink holds a working secret.
//!
//! Live runs into one sink take turns at its lock: a run that finds it
//! held waits for the holder to end (at most the lease, then goes on
//! without it), and what it then finds done is that run's work: the old
//! token gone, it is superseded by that run's token, never a second
//! completion; and it takes no token for a dead run's (the lease decides).
//! A run that got the lock at once only ever treats as dead the tokens of
//! runs that held the same lock before it, so exactly one live run
//! completes, as the rule above has it.
//!
//! **The lease is the fallback where nothing can tell**: a token headed for
//! another sink, for a sink with no writer lock (standard output, a secrets
//! manager, a closure), made on another machine (the host is part of the
//! tag), or by a Mailtrap reset (whose token carries no marker), or
//! minted by an earlier release; and a run whose lock file cannot be
//! opened. Within the lease a run yields to such a token (exit 5 on the
//! command line); past it, the token is a leftover (at once with a lease of
//! `Duration::ZERO`, when no other run can be going on).
//!
//! # Running a finished rotation again
//!
//! A rotation that finished (or stopped after storing its secret) answers
//! one way when run again, on both services and whatever the plan:
//!
//! - the sink holds a secret the service accepts of a replacement of
//!   `old` (Unit: the lowest token marked as replacing it once `old` is
//!   gone, or, while `old` is listed, the replacement the secret's signed
//!   payload names; Mailtrap: a token marked as replacing it or its reset's
//!   token, matched by the last four characters Mailtrap lists, `old` gone
//!   or left to its grace period): the rotation is done,
//!   [`RotationMethod::Resumed`], nothing minted (an old token still
//!   listed is retired first when the plan retires it). While `old` is
//!   listed, a replacement in flight is left to its run, which may be
//!   about to retire `old` itself: only one past the lease, or a dead
//!   run's (told by the writer lock), is finished so;
//! - `old` is gone and a token marked as replacing it is listed, but the
//!   sink does not hold its secret: [superseded](RotateError::superseded),
//!   naming that token (its secret is where the finished run put it);
//! - `old` is gone and nothing ties a listed token to it (a Mailtrap
//!   reset's token carries no marker): [`Error::Invalid`](crate::Error::Invalid)
//!   at step 0, as for an id that never existed.
//!
//! With [`UnitPlan::if_older_than`] (or [`MailtrapPlan::if_older_than`]),
//! a run that finds the token younger than asked, or `old` gone and its
//! newest replacement younger, mints nothing and reports it up to date
//! ([`RotationMethod::UpToDate`]): schedulers firing at once, or again
//! right after a run, make one rotation.
//!
//! ```
//! use api_tokens::lifecycle::{UnitLifecycle, UnitPlan, sink::FileSink};
//! use api_tokens::unit::{self, CreateApiToken, Scope};
//! use chrono::{Duration, Utc};
//! # use api_tokens::testing::UnitFake;
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let fake = UnitFake::start().await;
//! # let (key, url) = (fake.token().clone(), fake.uri());
//! # let dir = tempfile::tempdir()?;
//! let client = unit::Client::builder().token(key).base_url(url).build()?;
//! let life = UnitLifecycle::new(client, "2".parse()?);
//! let expires = Utc::now() + Duration::days(90);
//! let first = life.mint(&CreateApiToken::new("CI deploy", [Scope::Customers], expires)).await?;
//!
//! let sink = FileSink::new(dir.path().join("unit.token"));
//! let plan = UnitPlan::new([Scope::Customers], expires).source_ips(["10.0.0.0/8".parse()?]);
//! let rotation = life.rotate(&first.token.id, &plan, &sink).await?;
//! assert_ne!(rotation.new.id, rotation.old.id);
//! assert_eq!(life.tokens().list().await?.len(), 1); // the old token is revoked
//! # Ok(()) }
//! ```

mod audit;
pub(crate) mod engine;
pub(crate) mod mailtrap;
pub(crate) mod marker;
pub(crate) mod mint;
mod race;
mod reconcile;
mod rotate;
#[cfg(feature = "ensure")]
pub(crate) mod settle;
pub mod sink;
mod token_ref;
pub(crate) mod unit;

pub use audit::{AuditPolicy, AuditReport, Finding, FindingKind, ServiceAudit, TokenAudit, audit};
pub use engine::{Lifecycle, TokenService};
pub use mailtrap::{Mailtrap, MailtrapLifecycle};
pub use marker::{MAX_LABEL_CHARS, MAX_MARKER_CHARS, Marker};
pub use mint::{MAX_MINTS, MintIntoError, Minted, Unstored};
pub use reconcile::Reconcile;
pub use rotate::{
    AfterReset, Change, DEFAULT_LEASE, Fallback, Left, MailtrapPlan, OldState, RotateCause,
    RotateError, Rotation, RotationMethod, Step, Superseded, UnitPlan,
};
#[cfg(feature = "ensure")]
pub(crate) use rotate::{permissions_text, same_permissions};
pub use sink::{SecretMeta, SecretSink, SinkError, SinkSpec, async_trait};
pub use token_ref::TokenRef;
pub use unit::{Unit, UnitLifecycle};

// The rotation function lives with the rest of AWS, in `crate::aws`.
#[cfg(feature = "aws")]
pub use crate::aws::rotation_function;

pub use crate::time::{MAX_SPAN, checked_span, shifted};
