//! Declarative tokens (feature `ensure`): a tokens file says which tokens
//! should exist; [`plan`] compares it with what the services list, and
//! [`apply`] mints, rotates and replaces until they agree.
//!
//! The file holds no secret: the services and the sinks are the state.
//! Each entry names its token by label (a Mailtrap token's name, a Unit
//! token's description, without the crate's [`Marker`](crate::lifecycle::Marker)),
//! says what the token may do and where its secret goes, and when it is due
//! for rotation:
//!
//! ```toml
//! namespace = "payments"                   # optional: what the file owns (see below)
//!
//! [[mailtrap]]
//! name = "ci-deploy"                       # the token's name; the crate's marker may follow it
//! permissions = ["account:3229:admin"]     # TYPE:ID:LEVEL as on the command line
//! expires = "never"                        # never | default | a duration ("90d") from the mint
//! rotate_after = "30d"                     # optional: rotate when the token is older
//! rotate_before_expiry = "7d"              # optional
//! secret_to = "file:/run/secrets/mt"       # a sink spec: file:, env-file:, -
//!
//! [[unit]]
//! description = "ci-deploy"
//! user_id = "2"                            # optional; default UNIT_USER_ID
//! scopes = ["customers", "accounts"]
//! lifetime = "90d"
//! source_ips = ["10.0.0.0/8"]              # optional
//! rotate_before_expiry = "14d"
//! secret_to = "env-file:/run/ci/.env:UNIT_API_TOKEN"
//! ```
//!
//! # The plan
//!
//! One [`Action`] per entry, and one per orphan:
//!
//! | action | when |
//! | --- | --- |
//! | `create` | no live token carries the label |
//! | `replace` | what the service shows differs from the file: Mailtrap permissions; an expiry later than `expires` allows (or one on a token that should never expire); Unit source addresses; a Unit expiration later than now + `lifetime`; a Mailtrap sink that reads back a secret whose last four characters are not the token's; several tokens with the label |
//! | `rotate` | the token expired, expires within `rotate_before_expiry`, or is older than `rotate_after`; or its sink holds no secret (a `file:` or `env-file:` sink with no file, no variable or an empty value: the secret was lost) |
//! | `none` | the token is as the file says |
//! | `orphan` | a token of the file's namespace (its marker shows this crate minted it) that no entry names, in an account or user the file touches: removed only with `prune` |
//!
//! Ages come from the marker's time (Mailtrap lists no creation time) or
//! Unit's `createdAt`; a Mailtrap token without a marker has no age, which
//! the reason says, and is not rotated by age. Unit does not list a
//! token's scopes: a change of `scopes` takes effect at its next rotation
//! or replacement.
//!
//! Listing is cheap: one list per Mailtrap account and one per Unit user,
//! whatever the number of entries ([`Plan::list_calls`]).
//!
//! # Namespace: what a file owns
//!
//! Every token the crate mints carries a marker, whoever minted it:
//! `api-tokens create`, another tokens file in the same account, a rotation
//! function. A file owns only the tokens of its `namespace`: each token it
//! mints carries ` [ns:NAME]` after its label (`ci-deploy [ns:payments]
//! [at:…]`, under the marker's check), and only such tokens, when no entry
//! names them, are its orphans. A file without `namespace` owns no token
//! but those its entries name, and has no orphans. A replacement that a
//! rotation left while its old token lives (the newest one, or one younger
//! than the lease: the rule of [`Reconcile`](crate::lifecycle::Reconcile))
//! is never an orphan. [`Plan::left_alone`] counts the marked tokens the
//! plan leaves to others.
//!
//! # Several tokens with one label
//!
//! An interrupted rotation or replacement can leave two live tokens with
//! the same label, and which one the sink holds is then unknown. The plan
//! acts on the newest (the highest id: both services number tokens in
//! order), names the others in the reason, and replaces them all: a new
//! token is minted and stored first, then every old one is removed. The
//! sink never loses a working secret on the way.
//!
//! A rotation in flight is not a duplicate: when one of the tokens is a
//! replacement (`from:OLD`) of another of them minted less than the lease
//! ([`DEFAULT_LEASE`](crate::lifecycle::DEFAULT_LEASE)) ago, the entry is
//! left to the rotation's race rule (`none`, the reason says "in flight")
//! and planned again once it ends.
//!
//! # Apply
//!
//! - `create`: [`mint`](crate::lifecycle::MailtrapLifecycle::mint), exactly
//!   once, after the sink's [`check`](crate::lifecycle::SecretSink::check);
//!   then a list decides against other runs creating for the entry at once
//!   (below), and the winner stores the secret.
//! - `rotate`: [`rotate`](crate::lifecycle::MailtrapLifecycle::rotate) with
//!   overlap (mint, probe, store, retire); on Mailtrap by create-then-delete
//!   so that the name keeps its label.
//! - `replace`: on Unit, `rotate` with the file's scopes, lifetime and
//!   addresses (without the probe when addresses are restricted: the new
//!   token may refuse calls from this machine), then the duplicates are
//!   revoked; on Mailtrap, where a rotation keeps the old permissions, a
//!   mint with the file's, a call made with the new secret, the store, then
//!   the old tokens deleted.
//! - `orphan`, with `prune`: deleted or revoked.
//!
//! Each service's actions run one after another through its clients, whose
//! pacing keeps them under the service's rate limit; Unit and Mailtrap run
//! at the same time. A failed action is reported and the others go on.
//! Running apply again after a crash converges: whatever a run left is
//! found by label at the next plan.
//!
//! # Two runs at once
//!
//! Two `apply` runs of one file (or an `apply` beside a `rotate` of one of
//! its tokens) keep one live token per entry, by the rotations' race rule:
//! both services number tokens in order of creation. After a create's or a
//! replacement's mint, the run lists the tokens; when another token with
//! the entry's label that its plan did not see has a lower id, another run
//! minted first: this run removes its own token unstored and reports the
//! action done, [`yielded_to`](Done::yielded_to) that token. A rotation
//! that another run supersedes is reported the same way. The winner
//! stores, lists again (its token must still be listed, or it reports that
//! its sink holds a dead secret), and only then removes old tokens. Each
//! create and replacement costs one list more than the mint for this.
//!
//! ```
//! use api_tokens::ensure::{self, ActionKind, ApplyOptions, Services, TokensFile};
//! use api_tokens::mailtrap;
//! # use api_tokens::testing::MailtrapFake;
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let fake = MailtrapFake::start().await;
//! # let dir = tempfile::tempdir()?;
//! # let sink = dir.path().join("mt.token");
//! let file = TokensFile::parse("tokens.toml", &format!(r#"
//!     [[mailtrap]]
//!     name = "ci-deploy"
//!     permissions = ["account:3229:admin"]
//!     expires = "never"
//!     secret_to = "file:{}"
//! "#, sink.display()))?;
//! let client = mailtrap::Client::builder()
//!     .token(fake.token().clone())
//!     .account_id(3229)
//! #   .base_url(fake.uri())
//!     .build()?;
//! let services = Services::new().mailtrap_account(3229, client);
//!
//! let plan = ensure::plan(&file, &services).await?;
//! assert_eq!(plan.actions()[0].kind, ActionKind::Create);
//! let report = ensure::apply(&file, &services, &plan, &ApplyOptions::new()).await;
//! assert!(report.is_success());
//! assert!(!ensure::plan(&file, &services).await?.has_pending(false));
//! # Ok(()) }
//! ```

mod apply;
mod duration;
mod entry;
mod load;
mod namespace;
mod plan;
mod report;
mod services;

pub use apply::{ApplyOptions, OnOutcome};
pub use duration::parse_duration;
pub use entry::{Expires, MailtrapEntry, RotateRules, UnitEntry};
pub use load::{FileError, LoadError, TokensFile};
pub use plan::{Action, ActionKind, Plan, PlanError};
pub use report::{ActionError, ApplyReport, Done, Outcome};
pub use services::Services;

/// Whether `label` ends with something shaped like a tokens file's
/// namespace tag (` [ns:NAME]`, which a file with `namespace = "NAME"`
/// adds to the labels of the tokens it mints): a label given elsewhere (the
/// command line) must not carry one, or the file would take the token for
/// its own and `apply --prune` remove it.
///
/// ```
/// use api_tokens::ensure::is_namespace_tagged;
///
/// assert!(is_namespace_tagged("ci-deploy [ns:payments]"));
/// assert!(!is_namespace_tagged("ci-deploy"));
/// ```
pub fn is_namespace_tagged(label: &str) -> bool {
    namespace::looks_tagged(label)
}

use std::path::Path;

use chrono::{DateTime, Utc};

/// Reads and checks a tokens file (see [`TokensFile::load`]).
///
/// # Errors
///
/// As [`TokensFile::load`]: the file cannot be read, or is not a valid
/// tokens file (a [`FileError`] naming the line and the key).
pub fn load(path: impl AsRef<Path>) -> Result<TokensFile, LoadError> {
    TokensFile::load(path)
}

/// Compares `file` with what `services` list, now.
///
/// # Errors
///
/// A [`PlanError`]: a service, account or user the file needs was not
/// given, a list failed, or a sink could not be read back. Nothing is
/// changed.
pub async fn plan(file: &TokensFile, services: &Services) -> Result<Plan, PlanError> {
    plan::make(file, services, Utc::now()).await
}

/// As [`plan`], as if it were `now`: to see what a later plan would do.
///
/// # Errors
///
/// As [`plan`].
pub async fn plan_at(
    file: &TokensFile,
    services: &Services,
    now: DateTime<Utc>,
) -> Result<Plan, PlanError> {
    plan::make(file, services, now).await
}

/// Carries out the actions of `plan` that are pending (see
/// [`Plan::pending`]) and says what became of each. A failed action does
/// not stop the others.
pub async fn apply(
    file: &TokensFile,
    services: &Services,
    plan: &Plan,
    options: &ApplyOptions,
) -> ApplyReport {
    apply::run(file, services, plan, options).await
}
