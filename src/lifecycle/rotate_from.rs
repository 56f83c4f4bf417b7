//! Rotation from a store: the token to replace is the one whose record
//! the store holds as current, AWS Secrets Manager's `AWSCURRENT` (feature
//! `aws`) or a Vault KV secret's current version (feature `vault`): any
//! [`RecordStore`].

use super::mailtrap::MailtrapLifecycle;
use super::mint::WithAttributes;
use super::rotate::{Left, MailtrapPlan, RotateError, Rotation, Step, UnitPlan};
use super::sink::{RecordStore, SecretRecord, SinkError};
use super::unit::UnitLifecycle;
use crate::error::{Error, Service};
use crate::unit;

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
        let (old, _) = stored_id(store, Service::Unit, str::parse).await?;
        self.rotate_into(&old, store, plan).await
    }

    /// [`Rotate`](Self::rotate)s token `old` into `store`, whose new record
    /// keeps what [`rotate_from`](Self::rotate_from)'s does. For a rotation
    /// named by its id when the store already holds its successor (the
    /// record labelled `AWSPREVIOUS` names `old`): run again, the rotation
    /// converges on the successor, or yields to a run still going on.
    ///
    /// # Errors
    ///
    /// As [`rotate`](Self::rotate).
    pub async fn rotate_into<S: RecordStore>(
        &self,
        old: &unit::TokenId,
        store: &S,
        plan: &UnitPlan,
    ) -> Result<Rotation, RotateError> {
        // The record names the new token's source addresses: the old
        // token's, when the plan keeps them.
        let plan = self.stating_source_ips(old, plan).await.map_err(|e| {
            RotateError::new(
                Service::Unit,
                old.as_str(),
                Step::Inspect,
                Left::Unchanged,
                e,
            )
        })?;
        // `rotate` tells the store the whole record of the token it mints.
        self.rotate(old, &plan, store).await
    }
}

impl MailtrapLifecycle {
    /// Rotates the token whose record `store` holds as current (AWS's
    /// `AWSCURRENT`, a KV secret's current version): reads
    /// its `token_id`, then [`rotate`](Self::rotate)s it as `plan` states
    /// into `store`, which compares before it sets (see
    /// [`UnitLifecycle::rotate_from`]). The new record keeps the name of the
    /// one it replaces: a reset names its token `"<old name> <new id>"`,
    /// which the record does not take.
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
        let (old, record) = stored_id(store, Service::Mailtrap, |id| {
            id.parse::<u64>()
                .map_err(|_| Error::invalid("token_id", "not a Mailtrap token id"))
                .and_then(crate::mailtrap::TokenId::new)
        })
        .await?;
        self.rotate_named(old, store, plan, record.name).await
    }

    /// [`Rotate`](Self::rotate)s token `old` into `store`: for a rotation
    /// named by its id when the store already holds its successor (see
    /// [`UnitLifecycle::rotate_into`]).
    ///
    /// # Errors
    ///
    /// As [`rotate`](Self::rotate).
    pub async fn rotate_into<S: RecordStore>(
        &self,
        old: crate::mailtrap::TokenId,
        store: &S,
        plan: &MailtrapPlan,
    ) -> Result<Rotation, RotateError> {
        self.rotate_named(old, store, plan, None).await
    }

    /// Rotates `old` into `store`, the new record named `name` when given.
    async fn rotate_named<S: RecordStore>(
        &self,
        old: crate::mailtrap::TokenId,
        store: &S,
        plan: &MailtrapPlan,
        name: Option<String>,
    ) -> Result<Rotation, RotateError> {
        let sink = WithAttributes {
            inner: store,
            attributes: Vec::new(),
            name,
        };
        self.rotate(old, plan, &sink).await
    }
}

/// The id of the token whose record `store` holds as current, read by
/// `parse`, and the record; a record that is not `service`'s, or an id
/// `parse` refuses (a malformed record: a [`SinkError`], as every other),
/// fails step 0 with nothing changed.
async fn stored_id<T, S: RecordStore + ?Sized>(
    store: &S,
    service: Service,
    parse: impl FnOnce(&str) -> Result<T, Error>,
) -> Result<(T, SecretRecord), RotateError> {
    let record = current_token(store, service).await?;
    let id = parse(&record.token_id).map_err(|_| {
        RotateError::new(
            service,
            &record.token_id,
            Step::Inspect,
            Left::Unchanged,
            SinkError::other(
                store.describe(),
                format!("the record's token_id is not a {service} token id"),
            ),
        )
    })?;
    Ok((id, record))
}
