//! Rotation from a secret store: with `--secret-to aws-sm:NAME` (feature
//! `aws`), `rotate` may omit the token's id: the one the secret's current
//! record names is rotated. An id given must be that one, or the one it
//! replaced (a rotation run again after its record was written).

use api_tokens::lifecycle::{
    MailtrapLifecycle, MailtrapPlan, Rotation, SecretMeta, SecretSink, SinkSpec, UnitLifecycle,
    UnitPlan,
};
use api_tokens::{mailtrap, unit};

use crate::exit::Failure;

/// What `unit create` tells its sink of `new`, minted from `request`: the
/// whole record a rotation needs (user, scopes, source addresses,
/// lifetime: [`UnitLifecycle::record_meta`]), so that a token created into
/// a store (`aws-sm:`, `vault:`) can be rotated from it; only a store reads
/// those attributes.
pub fn unit_created_meta(
    life: &UnitLifecycle,
    new: &unit::NewApiToken,
    request: &unit::CreateApiToken,
) -> SecretMeta {
    life.record_meta(new, request)
}

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

/// Defines a rotate command's body, `$name`, on the lifecycle `$life` of
/// `$service`, whose tokens are named by `$id` (read as `$parsed`) and
/// rotated by `$plan`: with `--secret-to aws-sm:NAME` (feature `aws`), the
/// token the store's record names, after checking an id given against it;
/// otherwise the token given.
macro_rules! rotate_given_or_stored {
    ($(#[doc = $doc:expr])* $name:ident($life:ty, $service:expr, $id:ty, $parsed:ty, $plan:ty)) => {
        $(#[doc = $doc])*
        pub async fn $name(
            life: &$life,
            id: Option<$id>,
            spec: &SinkSpec,
            plan: &$plan,
            sink: &dyn SecretSink,
        ) -> Result<Rotation, Failure> {
            #[cfg(feature = "aws")]
            if let SinkSpec::AwsSecretsManager(name) = spec {
                let store = aws::store(name)?;
                let given = id.as_ref().map(ToString::to_string);
                let start = aws::start(&store, $service, given.as_deref(), |text| {
                    text.parse::<$parsed>().is_ok()
                })
                .await?;
                let rotation = match (start, id) {
                    (aws::Start::Replaced, Some(id)) => life.rotate_into(id, &store, plan).await,
                    _ => life.rotate_from(&store, plan).await,
                };
                return rotation.map_err(Failure::Rotate);
            }
            #[cfg(feature = "vault")]
            if let SinkSpec::Vault(mount_path) = spec {
                let store = vault::store(mount_path)?;
                vault::check_id(&store, id.as_ref().map(ToString::to_string).as_deref()).await?;
                return life
                    .rotate_from(&store, plan)
                    .await
                    .map_err(Failure::Rotate);
            }
            let _ = spec;
            let id = id.ok_or_else(id_needed)?;
            life.rotate(id, plan, sink).await.map_err(Failure::Rotate)
        }
    };
}

rotate_given_or_stored! {
    /// `api-tokens unit rotate`: the given token, or the store's.
    ///
    /// # Errors
    ///
    /// A usage failure for a missing id, or one that the store's record
    /// neither names nor replaced; a store that cannot be read or holds a
    /// malformed record; otherwise the rotation's failure.
    unit_rotate(UnitLifecycle, api_tokens::Service::Unit, &unit::TokenId, unit::TokenId, UnitPlan)
}

rotate_given_or_stored! {
    /// `api-tokens mailtrap rotate`: the given token, or the store's.
    ///
    /// # Errors
    ///
    /// As [`unit_rotate`].
    mailtrap_rotate(
        MailtrapLifecycle,
        api_tokens::Service::Mailtrap,
        mailtrap::TokenId,
        mailtrap::TokenId,
        MailtrapPlan
    )
}

#[cfg(feature = "aws")]
mod aws {
    use api_tokens::Service;
    use api_tokens::lifecycle::sink::{AWSPREVIOUS, SecretsManagerSink};
    use api_tokens::lifecycle::{SecretSink as _, SinkError};

    use crate::exit::Failure;

    /// The store `aws-sm:NAME` names.
    pub fn store(name: &str) -> Result<SecretsManagerSink, Failure> {
        SecretsManagerSink::new(name).map_err(|e| Failure::usage(format!("--secret-to: {e}")))
    }

    /// Which token a rotation from the store replaces.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Start {
        /// The one the current record names.
        Current,
        /// The one given, which the current record's token replaced (the
        /// record labelled `AWSPREVIOUS` names it): the rotation, run
        /// again, converges on that successor or yields to its run.
        Replaced,
    }

    /// Reads the store's current record (the base of its compare-and-set)
    /// before any request to the service: a store that cannot be read, or
    /// whose record is malformed (not JSON, binary, a field missing, a
    /// `token_id` that `parses` refuses), fails with exit code 1; a store
    /// with no record, a record of another service, or an id given that the
    /// record neither names nor replaced, is a usage error.
    pub async fn start(
        store: &SecretsManagerSink,
        service: Service,
        id: Option<&str>,
        parses: impl Fn(&str) -> bool,
    ) -> Result<Start, Failure> {
        let unreadable = |e: SinkError| Failure::Store(format!("reading the secret: {e}"));
        let Some((_, record)) = store.current_record().await.map_err(unreadable)? else {
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
        let previous = store
            .record_labelled(AWSPREVIOUS)
            .await
            .map_err(unreadable)?;
        if previous.is_some_and(|(_, p)| p.service == service && p.token_id == id) {
            return Ok(Start::Replaced);
        }
        Err(Failure::usage(format!(
            "token {id} is not the one {} holds (token {}), nor the one it replaced; \
             give that id, or none",
            store.describe(),
            record.token_id
        )))
    }
}

/// `--secret-to vault:MOUNT/PATH` (feature `vault`): a KV v2 secret whose
/// current version is the record to rotate from.
#[cfg(feature = "vault")]
mod vault {
    use api_tokens::lifecycle::SecretSink as _;
    use api_tokens::lifecycle::sink::{RecordStore, VaultKvSink};

    use crate::exit::Failure;

    /// The store `vault:MOUNT/PATH` names.
    pub fn store(mount_path: &str) -> Result<VaultKvSink, Failure> {
        VaultKvSink::new(mount_path).map_err(|e| Failure::usage(format!("--secret-to: {e}")))
    }

    /// Reads the store's current record (the base of its check-and-set)
    /// and refuses an id that is not the one it names, before any request
    /// to the service.
    pub async fn check_id(store: &VaultKvSink, id: Option<&str>) -> Result<(), Failure> {
        let Some(id) = id else { return Ok(()) };
        let record = store.record().await.map_err(|e| Failure::Sink {
            what: format!("reading {}", store.describe()),
            error: e,
            advice: "nothing was done".to_owned(),
        })?;
        match record {
            Some(record) if record.token_id != id => Err(Failure::usage(format!(
                "token {id} is not the one {} holds (token {}); give that id, or none",
                store.describe(),
                record.token_id
            ))),
            _ => Ok(()),
        }
    }
}
