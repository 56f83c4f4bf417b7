//! Rotation from a secret store: with `--secret-to aws-sm:NAME` (feature
//! `aws`), `rotate` may omit the token's id: the one the secret's current
//! record names is rotated, and an id given must be that one.

use api_tokens::lifecycle::{
    MailtrapLifecycle, MailtrapPlan, Rotation, SecretSink, SinkSpec, UnitLifecycle, UnitPlan,
};
use api_tokens::{mailtrap, unit};

use crate::exit::Failure;

/// The usage error of a rotate command given no id and no store.
fn id_needed() -> Failure {
    Failure::usage(
        "rotate needs the id of the token to replace, unless --secret-to names a secret \
         store (aws-sm:NAME) whose current record names it",
    )
}

/// Defines a rotate command's body, `$name`, on the lifecycle `$life`
/// whose tokens are named by `$id` and rotated by `$plan`: with
/// `--secret-to aws-sm:NAME` (feature `aws`), the token the store's record
/// names, after checking an id given against it; otherwise the token given.
macro_rules! rotate_given_or_stored {
    ($(#[doc = $doc:expr])* $name:ident($life:ty, $id:ty, $plan:ty)) => {
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
                aws::check_id(&store, id.as_ref().map(ToString::to_string).as_deref()).await?;
                return life
                    .rotate_from(&store, plan)
                    .await
                    .map_err(Failure::Rotate);
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
    /// A usage failure for a missing id, or one that disagrees with the store's
    /// record; otherwise the rotation's failure.
    unit_rotate(UnitLifecycle, &unit::TokenId, UnitPlan)
}

rotate_given_or_stored! {
    /// `api-tokens mailtrap rotate`: the given token, or the store's.
    ///
    /// # Errors
    ///
    /// As [`unit_rotate`].
    mailtrap_rotate(MailtrapLifecycle, mailtrap::TokenId, MailtrapPlan)
}

#[cfg(feature = "aws")]
mod aws {
    use api_tokens::lifecycle::SecretSink as _;
    use api_tokens::lifecycle::sink::SecretsManagerSink;

    use crate::exit::Failure;

    /// The store `aws-sm:NAME` names.
    pub fn store(name: &str) -> Result<SecretsManagerSink, Failure> {
        SecretsManagerSink::new(name).map_err(|e| Failure::usage(format!("--secret-to: {e}")))
    }

    /// Reads the store's current record (the base of its compare-and-set)
    /// and refuses an id that is not the one it names, before any request
    /// to the service.
    pub async fn check_id(store: &SecretsManagerSink, id: Option<&str>) -> Result<(), Failure> {
        let Some(id) = id else { return Ok(()) };
        let record = store.current_record().await.map_err(|e| Failure::Sink {
            what: format!("reading {}", store.describe()),
            error: e,
            advice: "nothing was done".to_owned(),
        })?;
        match record {
            Some((_, record)) if record.token_id != id => Err(Failure::usage(format!(
                "token {id} is not the one {} holds (token {}); give that id, or none",
                store.describe(),
                record.token_id
            ))),
            _ => Ok(()),
        }
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
