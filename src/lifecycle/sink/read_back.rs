//! [`store_read_back`]: a store whose failure may hide a write that landed
//! (a secrets manager's answer lost on the way back) is read back before
//! anyone concludes that the sink does not hold the secret.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use super::secret_sink::{SecretMeta, SecretSink, SinkError};

/// The pauses before the second and third read back.
const READ_BACK_PAUSES: [Duration; 2] = [Duration::from_millis(200), Duration::from_millis(800)];

/// Stores `secret` in `sink` as `meta` says; when the store fails with an
/// error that may hide a write that landed, reads the sink back
/// ([`SecretSink::current`], up to three times when the read fails too)
/// and succeeds when the sink holds `secret`.
///
/// A secrets manager that wrote the secret and whose answer was lost (a
/// timeout, a dropped connection) reports a failure; a caller that took it
/// at its word would remove the new token, and leave the store holding the
/// secret of a token that no longer exists. Every path of this crate that
/// removes a token whose secret "could not be stored" stores through this
/// function. Errors that say nothing was written (the sink's own refusals,
/// a lost compare-and-set) are returned at once, without a read.
///
/// ```
/// use api_tokens::Service;
/// use api_tokens::lifecycle::sink::{FileSink, SecretMeta, store_read_back};
/// use secrecy::SecretString;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// let sink = FileSink::new(dir.path().join("deploy.token"));
/// let meta = SecretMeta::new(Service::Mailtrap, "7");
/// store_read_back(&sink, &SecretString::from("a1b2c3"), &meta).await?;
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// The store's [`SinkError`], when the sink does not hold `secret` after
/// it; [`SinkError::Unconfirmed`] (whose
/// [`secret_written`](SinkError::secret_written) is true: keep the token)
/// when it could not be read back either.
pub async fn store_read_back(
    sink: &dyn SecretSink,
    secret: &SecretString,
    meta: &SecretMeta,
) -> Result<(), SinkError> {
    let Err(error) = sink.store(secret, meta).await else {
        return Ok(());
    };
    // Only a sink of another kind (a secrets manager, a user's sink) can
    // fail after its write landed; the crate's file sinks say so themselves
    // (`secret_written`), and a refusal wrote nothing.
    if !matches!(error, SinkError::Other { .. }) {
        return Err(error);
    }
    let mut unread = true;
    for attempt in 0..=READ_BACK_PAUSES.len() {
        match sink.current().await {
            Ok(Some(held)) if held.expose_secret() == secret.expose_secret() => {
                tracing::warn!(sink = %sink.describe(), token_id = %meta.id(), error = %error,
                    "the store reported a failure, but reading it back shows the new secret: \
                     it was stored");
                return Ok(());
            }
            Ok(_) => {
                unread = false;
                break;
            }
            Err(read) => {
                tracing::warn!(sink = %sink.describe(), error = %read,
                    "the sink could not be read back after a failed store");
                match READ_BACK_PAUSES.get(attempt) {
                    Some(pause) => tokio::time::sleep(*pause).await,
                    None => break,
                }
            }
        }
    }
    if unread {
        // Neither the store's answer nor any read back says whether the
        // secret landed: it may have.
        return Err(SinkError::Unconfirmed {
            sink: sink.describe(),
            source: Box::new(error),
        });
    }
    Err(error)
}
