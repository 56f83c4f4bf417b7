//! `--secret-to`: the sink a command hands a new secret to, checked before
//! any request, so that a sink that cannot take the secret fails before a
//! token exists that nobody would hold.

use api_tokens::lifecycle::sink::store_read_back;
use api_tokens::lifecycle::{MintIntoError, SecretMeta, SecretSink, SinkError, SinkSpec, Unstored};

use crate::exit::Failure;

/// The sink `spec` names, checked ([`SecretSink::check`]): its directory
/// exists, its path is not a directory, a dotenv file assigns the variable
/// at most once. Warns on standard error when a dotenv file that will keep
/// the secret is readable by its group or others.
///
/// # Errors
///
/// A usage failure (exit 2) saying what keeps the sink from taking the
/// secret, or a store failure (exit 1) when a secret store could not be
/// read ([`SinkError::Unreadable`]); nothing was sent.
pub async fn open(spec: &SinkSpec) -> Result<Box<dyn SecretSink>, Failure> {
    let refused = |e: SinkError| match e {
        // The store was asked and could not be read: exit 1, as for a
        // rotation that starts from it.
        SinkError::Unreadable { .. } => Failure::Store(format!("reading the secret: {e}")),
        e => Failure::usage(format!("--secret-to: {e}")),
    };
    let sink = spec.clone().into_sink().map_err(refused)?;
    sink.check().await.map_err(refused)?;
    if let Some(warning) = exposure(spec) {
        eprintln!("api-tokens: warning: {warning}");
    }
    Ok(sink)
}

/// Why an existing dotenv file would expose the secret: it keeps its mode
/// when the sink replaces it, and that mode lets its group or others read.
#[cfg(unix)]
fn exposure(spec: &SinkSpec) -> Option<String> {
    use std::os::unix::fs::PermissionsExt as _;

    let SinkSpec::EnvFile { path, .. } = spec else {
        return None;
    };
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    let readers = match (mode & 0o040 != 0, mode & 0o004 != 0) {
        (true, true) => "its group and others",
        (true, false) => "its group",
        (false, true) => "others",
        (false, false) => return None,
    };
    Some(format!(
        "the env file {shown} is readable by {readers} (mode {mode:04o}), and keeps its mode \
         when the secret is written; run `chmod 600 {shown}` to keep the secret to its owner",
        shown = path.display()
    ))
}

/// Elsewhere, files have no such mode.
#[cfg(not(unix))]
fn exposure(_spec: &SinkSpec) -> Option<String> {
    None
}

/// Hands a new secret to `sink`. When the sink fails without writing it,
/// `remove` is run on the token, whose secret nobody would hold; the
/// failure says what became of the token.
///
/// # Errors
///
/// [`Failure::Sink`]: the sink's error, and what became of the token.
pub async fn store<F, Fut, E>(
    sink: &dyn SecretSink,
    secret: &api_tokens::secrecy::SecretString,
    meta: &SecretMeta,
    what: &str,
    removal: Removal<'_>,
    remove: F,
) -> Result<(), Failure>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    let Err(error) = store_read_back(sink, secret, meta).await else {
        return Ok(());
    };
    let id = meta.id();
    let Removal { verb, then } = removal;
    let advice = if error.secret_written() {
        format!(
            "the file holds the secret of token {id} all the same, so the token was kept; \
             a crash of the machine could still undo the write{then}"
        )
    } else {
        match remove().await {
            Ok(()) => format!("token {id} was {verb}, since nobody holds its secret{then}"),
            Err(e) => format!(
                "token {id} could not be {verb} ({e}); nobody holds its secret: remove it{then}"
            ),
        }
    };
    Err(Failure::Sink {
        what: what.to_owned(),
        error,
        advice,
    })
}

/// The failure of a mint into a sink ([`Lifecycle::mint_stored`]): the
/// service's, or the sink's with what became of the token, `verb` naming
/// its removal (`revoked` on Unit, `deleted` on Mailtrap).
///
/// [`Lifecycle::mint_stored`]: api_tokens::lifecycle::Lifecycle::mint_stored
pub fn mint_failure(what: &str, verb: &str, e: MintIntoError) -> Failure {
    match e {
        MintIntoError::Check(e) => Failure::usage(format!("--secret-to: {e}")),
        MintIntoError::Mint(e) => Failure::service(what, e),
        MintIntoError::Store {
            token,
            outcome,
            source,
        } => {
            let id = token.id;
            let advice = match outcome {
                Unstored::KeptAsWritten => format!(
                    "the file holds the secret of token {id} all the same, so the token was \
                     kept; a crash of the machine could still undo the write"
                ),
                Unstored::Removed => {
                    format!("token {id} was {verb}, since nobody holds its secret")
                }
                _ => format!("token {id} could not be {verb}; nobody holds its secret: remove it"),
            };
            Failure::Sink {
                what: what.to_owned(),
                error: source,
                advice,
            }
        }
        _ => Failure::Store(format!("{what}: {e}")),
    }
}

/// How a failure after a failed store speaks of the token's removal.
#[derive(Debug, Clone, Copy)]
pub struct Removal<'a> {
    /// `revoked` (Unit) or `deleted` (Mailtrap).
    pub verb: &'a str,
    /// What follows, such as the old token's grace period after a reset.
    pub then: &'a str,
}
