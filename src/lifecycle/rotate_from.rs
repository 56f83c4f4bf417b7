//! Rotation from a store: the token to replace is the one whose record
//! the store holds as current, AWS Secrets Manager's `AWSCURRENT` (feature
//! `aws`) or a Vault KV secret's current version (feature `vault`): any
//! [`RecordStore`].

use super::engine::TokenService;
use super::rotate::{Left, RotateError, Step};
use super::sink::{RecordStore, SecretRecord, SinkError};
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

/// The id of the token whose record `store` holds as current, and the
/// record; a record that is not the service's, or an id that is not one
/// of its ids (a malformed record: a [`SinkError`], as every other), fails
/// step 0 with nothing changed.
pub(crate) async fn stored_id<S: TokenService, R: RecordStore + ?Sized>(
    store: &R,
) -> Result<(S::Id, SecretRecord), RotateError> {
    let service = S::SERVICE;
    let record = current_token(store, service).await?;
    let id = record.token_id.parse::<S::Id>().map_err(|_| {
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
