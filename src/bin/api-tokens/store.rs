//! Rotation from a secret store: with `--secret-to aws-sm:NAME` (feature
//! `aws`) or `vault:MOUNT/PATH` (feature `vault`), `rotate` may omit the
//! token's id: the one the secret's current record names is rotated. An id
//! given must be that one, or the one it replaced (a rotation run again
//! after its record was written), in every store alike.

#[cfg(any(feature = "aws", feature = "vault"))]
use api_tokens::Service;
#[cfg(any(feature = "aws", feature = "vault"))]
use api_tokens::lifecycle::sink::{RecordStore, SinkError};
use api_tokens::lifecycle::{Lifecycle, TokenService};
use api_tokens::lifecycle::{
    MailtrapLifecycle, MailtrapPlan, Rotation, SecretSink, SinkSpec, UnitLifecycle, UnitPlan,
};
use api_tokens::{mailtrap, unit};

use crate::exit::Failure;

/// The usage error of a rotate command given no id and no store: it names
/// the stores this build reads, whose record may name the token instead.
fn id_needed() -> Failure {
    let stores: Vec<&str> = [
        cfg!(feature = "aws").then_some("aws-sm:NAME"),
        cfg!(feature = "vault").then_some("vault:MOUNT/PATH"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let what = "rotate needs the id of the token to replace";
    Failure::usage(if stores.is_empty() {
        what.to_owned()
    } else {
        format!(
            "{what}, unless --secret-to names a secret store ({}) whose current record names it",
            stores.join(" or ")
        )
    })
}

/// A rotate command's body: with `--secret-to aws-sm:NAME` (feature `aws`)
/// or `vault:MOUNT/PATH` (feature `vault`), the token the store's record
/// names, after checking an id given against it ([`rotate_in_store`]);
/// otherwise the token given.
///
/// # Errors
///
/// A usage failure for a missing id, or one that the store's record
/// neither names nor replaced; a store that cannot be read or holds a
/// malformed record; otherwise the rotation's failure.
pub async fn rotate_given_or_stored<S: TokenService>(
    life: &Lifecycle<S>,
    id: Option<S::Id>,
    spec: &SinkSpec,
    plan: &S::Plan,
    sink: &dyn SecretSink,
) -> Result<Rotation, Failure> {
    #[cfg(feature = "aws")]
    if let SinkSpec::AwsSecretsManager(name) = spec {
        let store = api_tokens::lifecycle::sink::SecretsManagerSink::new(name)
            .map_err(|e| Failure::usage(format!("--secret-to: {e}")))?;
        return rotate_in_store(life, &store, id, plan).await;
    }
    #[cfg(feature = "vault")]
    if let SinkSpec::Vault(mount_path) = spec {
        let store = api_tokens::lifecycle::sink::VaultKvSink::new(mount_path)
            .map_err(|e| Failure::usage(format!("--secret-to: {e}")))?;
        return rotate_in_store(life, &store, id, plan).await;
    }
    let _ = spec;
    let id = id.ok_or_else(id_needed)?;
    life.rotate(&id, plan, sink).await.map_err(Failure::Rotate)
}

/// Rotates from `store`, every store alike: the token its current record
/// names, or `id` when the record replaced it (a rotation run again
/// converges on the successor, or is superseded by the run still going
/// on: exit 5), after [`start`] checked `id` before any request.
///
/// # Errors
///
/// As [`start`]; otherwise the rotation's failure.
#[cfg(any(feature = "aws", feature = "vault"))]
async fn rotate_in_store<S: TokenService, R: RecordStore>(
    life: &Lifecycle<S>,
    store: &R,
    id: Option<S::Id>,
    plan: &S::Plan,
) -> Result<Rotation, Failure> {
    let given = id.as_ref().map(ToString::to_string);
    let start = start(store, S::SERVICE, given.as_deref(), |text| {
        text.parse::<S::Id>().is_ok()
    })
    .await?;
    let rotation = match (start, id) {
        (Start::Replaced, Some(id)) => life.rotate_into(&id, store, plan).await,
        _ => life.rotate_from(store, plan).await,
    };
    rotation.map_err(Failure::Rotate)
}

/// Which token a rotation from a store replaces.
#[cfg(any(feature = "aws", feature = "vault"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    /// The one the current record names.
    Current,
    /// The one given, which the current record's token replaced (the
    /// store's previous record names it): the rotation, run again,
    /// converges on that successor or yields to its run.
    Replaced,
}

/// Reads the store's current record (the base of its compare-and-set)
/// before any request to the service: a store that cannot be read, or
/// whose record is malformed (not JSON, binary, a field missing, a
/// `token_id` that `parses` refuses), fails with exit code 1; a store
/// with no record, a record of another service, or an id given that the
/// record neither names nor replaced
/// ([`previous_record`](RecordStore::previous_record)), is a usage error.
///
/// # Errors
///
/// As said.
#[cfg(any(feature = "aws", feature = "vault"))]
async fn start<S: RecordStore>(
    store: &S,
    service: Service,
    id: Option<&str>,
    parses: impl Fn(&str) -> bool,
) -> Result<Start, Failure> {
    let unreadable = |e: SinkError| Failure::Store(format!("reading the secret: {e}"));
    let Some(record) = store.record().await.map_err(unreadable)? else {
        return Err(Failure::usage(format!(
            "{} holds no current token record: create the token into it first",
            store.describe()
        )));
    };
    if record.service != service {
        return Err(Failure::usage(format!(
            "{} holds a {} token, not a {service} one",
            store.describe(),
            record.service
        )));
    }
    if !parses(&record.token_id) {
        return Err(Failure::Store(format!(
            "reading the secret: {}: the record's token_id is not a {service} token id",
            store.describe()
        )));
    }
    let Some(id) = id else {
        return Ok(Start::Current);
    };
    if record.token_id == id {
        return Ok(Start::Current);
    }
    let previous = store.previous_record().await.map_err(unreadable)?;
    if previous.is_some_and(|p| p.service == service && p.token_id == id) {
        return Ok(Start::Replaced);
    }
    Err(Failure::usage(format!(
        "token {id} is not the one {} holds (token {}), nor the one it replaced; \
         give that id, or none",
        store.describe(),
        record.token_id
    )))
}

/// `api-tokens unit rotate`: the given token, or the store's.
///
/// # Errors
///
/// As [`rotate_given_or_stored`].
pub async fn unit_rotate(
    life: &UnitLifecycle,
    id: Option<&unit::TokenId>,
    spec: &SinkSpec,
    plan: &UnitPlan,
    sink: &dyn SecretSink,
) -> Result<Rotation, Failure> {
    rotate_given_or_stored(life, id.cloned(), spec, plan, sink).await
}

/// `api-tokens mailtrap rotate`: the given token, or the store's.
///
/// # Errors
///
/// As [`rotate_given_or_stored`].
pub async fn mailtrap_rotate(
    life: &MailtrapLifecycle,
    id: Option<mailtrap::TokenId>,
    spec: &SinkSpec,
    plan: &MailtrapPlan,
    sink: &dyn SecretSink,
) -> Result<Rotation, Failure> {
    rotate_given_or_stored(life, id, spec, plan, sink).await
}
