//! Rotation from a secret store: with `--secret-to aws-sm:NAME` (feature
//! `aws`), `rotate` may omit the token's id: the one the secret's current
//! record names is rotated, and an id given must be that one.

use api_tokens::lifecycle::{
    MailtrapLifecycle, MailtrapPlan, Rotation, SecretMeta, SecretSink, SinkSpec, UnitLifecycle,
    UnitPlan,
};
use api_tokens::{mailtrap, unit};

use crate::exit::Failure;

/// What `unit create` tells its sink of `new`, minted from `request`: with
/// the feature `aws`, the whole record a rotation needs (user, scopes,
/// source addresses, lifetime: [`UnitLifecycle::record_meta`]), so that a
/// token created into a store can be rotated from it; only a store reads
/// those attributes.
#[cfg(feature = "aws")]
pub fn unit_created_meta(
    life: &UnitLifecycle,
    new: &unit::NewApiToken,
    request: &unit::CreateApiToken,
) -> SecretMeta {
    life.record_meta(new, request)
}

/// What `unit create` tells its sink of `new`: its id, description and
/// expiry (without the feature `aws`, no sink reads more).
#[cfg(not(feature = "aws"))]
pub fn unit_created_meta(
    _life: &UnitLifecycle,
    new: &unit::NewApiToken,
    _request: &unit::CreateApiToken,
) -> SecretMeta {
    SecretMeta::new(api_tokens::Service::Unit, new.id.as_str())
        .with_name(new.description.clone().unwrap_or_default())
        .with_expires_at(new.expiration)
}

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
