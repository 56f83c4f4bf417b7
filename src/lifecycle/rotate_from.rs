//! Rotation from a store: the token to replace is the one whose record
//! the store holds as current, AWS Secrets Manager's `AWSCURRENT` (feature
//! `aws`) or a Vault KV secret's current version (feature `vault`): any
//! [`RecordStore`].

use secrecy::SecretString;

use super::mailtrap::MailtrapLifecycle;
use super::rotate::{Left, MailtrapPlan, RotateError, Rotation, Step, UnitPlan};
use super::sink::{RecordStore, SecretMeta, SecretRecord, SecretSink, SinkError, async_trait};
use super::unit::UnitLifecycle;
use crate::error::{Error, Service};

/// Reads the record the store holds as current, for a rotation of a token
/// of `service`: its token id, or the [`RotateError`] of step 0.
pub(crate) async fn current_token<S: RecordStore + ?Sized>(
    store: &S,
    service: Service,
) -> Result<SecretRecord, RotateError> {
    let unknown = "(unknown)";
    let record = match store.record().await {
        Ok(Some(record)) => record,
        Ok(None) => {
            return Err(RotateError::new(
                service,
                unknown,
                Step::Inspect,
                Left::Unchanged,
                Error::invalid(
                    "store",
                    format!(
                        "{} holds no current token record: create the token into it first",
                        store.describe()
                    ),
                ),
            ));
        }
        Err(e) => {
            return Err(RotateError::new(
                service,
                unknown,
                Step::Inspect,
                Left::Unchanged,
                e,
            ));
        }
    };
    if record.service != service {
        return Err(RotateError::new(
            service,
            &record.token_id,
            Step::Inspect,
            Left::Unchanged,
            Error::invalid(
                "store",
                format!(
                    "{} holds a {} token, not a {service} one",
                    store.describe(),
                    record.service
                ),
            ),
        ));
    }
    Ok(record)
}

/// A sink that adds attributes to what it is told, then hands the secret
/// on: the record then holds what the next rotation needs to mint again.
struct WithAttributes<'a> {
    inner: &'a dyn SecretSink,
    attributes: Vec<(&'static str, serde_json::Value)>,
}

#[async_trait]
impl SecretSink for WithAttributes<'_> {
    async fn store(&self, secret: &SecretString, meta: &SecretMeta) -> Result<(), SinkError> {
        let mut meta = meta.clone();
        for (k, v) in &self.attributes {
            meta = meta.with_attribute(*k, v.clone());
        }
        self.inner.store(secret, &meta).await
    }

    async fn check(&self) -> Result<(), SinkError> {
        self.inner.check().await
    }

    async fn current(&self) -> Result<Option<SecretString>, SinkError> {
        self.inner.current().await
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}

/// The attributes of a Unit record: what a rotation needs to mint again.
pub(crate) fn unit_attributes(
    life: &UnitLifecycle,
    plan: &UnitPlan,
) -> Vec<(&'static str, serde_json::Value)> {
    let lifetime = (plan.expiration - chrono::Utc::now()).num_seconds().max(0);
    vec![
        ("user_id", life.tokens().user_id().to_string().into()),
        (
            "scopes",
            plan.scopes
                .iter()
                .map(|s| serde_json::Value::from(s.to_string()))
                .collect(),
        ),
        (
            "source_ips",
            plan.source_ips
                .iter()
                .map(|s| serde_json::Value::from(s.to_string()))
                .collect(),
        ),
        ("lifetime_secs", lifetime.into()),
    ]
}

impl UnitLifecycle {
    /// Rotates the token whose record `store` holds as current (AWS's
    /// `AWSCURRENT`, a KV secret's current version): reads
    /// its `token_id`, then [`rotate`](Self::rotate)s it as `plan` states
    /// into `store`. The new record also keeps the user, scopes, source
    /// addresses and lifetime, so that the rotation function can mint the
    /// token again.
    ///
    /// The store compares before it sets: when another rotation made a
    /// newer record current first, this run removes the token it minted
    /// and fails at step 3 with a [`SinkError::Superseded`] cause.
    ///
    /// # Errors
    ///
    /// As [`rotate`](Self::rotate); at step 0 also when the store cannot be
    /// read, holds no record, or holds a record of another service or with
    /// an id that is not Unit's.
    pub async fn rotate_from<S: RecordStore>(
        &self,
        store: &S,
        plan: &UnitPlan,
    ) -> Result<Rotation, RotateError> {
        let old = stored_id(store, Service::Unit, str::parse).await?;
        let sink = WithAttributes {
            inner: store,
            attributes: unit_attributes(self, plan),
        };
        self.rotate(&old, plan, &sink).await
    }
}

impl MailtrapLifecycle {
    /// Rotates the token whose record `store` holds as current (AWS's
    /// `AWSCURRENT`, a KV secret's current version): reads
    /// its `token_id`, then [`rotate`](Self::rotate)s it as `plan` states
    /// into `store`, which compares before it sets (see
    /// [`UnitLifecycle::rotate_from`]).
    ///
    /// # Errors
    ///
    /// As [`rotate`](Self::rotate); at step 0 also when the store cannot be
    /// read, holds no record, or holds a record of another service or with
    /// an id that is not Mailtrap's.
    pub async fn rotate_from<S: RecordStore>(
        &self,
        store: &S,
        plan: &MailtrapPlan,
    ) -> Result<Rotation, RotateError> {
        let old = stored_id(store, Service::Mailtrap, |id| {
            id.parse::<u64>()
                .map_err(|_| Error::invalid("token_id", "not a Mailtrap token id"))
                .and_then(crate::mailtrap::TokenId::new)
        })
        .await?;
        self.rotate(old, plan, store).await
    }
}

/// The failure at step 0 when the stored `token_id` is not an id of
/// `service`: nothing was done.
/// The id of the token whose record `store` holds as current, read by
/// `parse`; a record that is not `service`'s, or an id `parse` refuses,
/// fails step 0 with nothing changed.
async fn stored_id<T, S: RecordStore + ?Sized>(
    store: &S,
    service: Service,
    parse: impl FnOnce(&str) -> Result<T, Error>,
) -> Result<T, RotateError> {
    let record = current_token(store, service).await?;
    parse(&record.token_id).map_err(|cause| {
        RotateError::new(
            service,
            &record.token_id,
            Step::Inspect,
            Left::Unchanged,
            cause,
        )
    })
}
