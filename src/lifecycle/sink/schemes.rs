//! Sink specs of stores outside this crate: a program registers a scheme
//! (`onepassword`, `gcp-sm`) with [`register_scheme`], and from then on
//! `SCHEME:LOCATION` is a [`SinkSpec`](super::SinkSpec) wherever one is
//! read: [`SinkSpec::from_str`](std::str::FromStr), a tokens file's
//! `secret_to`, the command line of a program built on the library.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock, RwLock};

use super::secret_sink::{SecretSink, SinkError};

/// Opens the sink of a registered scheme at a location.
type Opener = Arc<dyn Fn(&str) -> Result<Box<dyn SecretSink>, SinkError> + Send + Sync>;

/// The schemes the crate reads itself, which cannot be registered.
const BUILT_IN: [&str; 4] = ["file", "env-file", "aws-sm", "vault"];

fn schemes() -> &'static RwLock<BTreeMap<String, Opener>> {
    static SCHEMES: OnceLock<RwLock<BTreeMap<String, Opener>>> = OnceLock::new();
    SCHEMES.get_or_init(|| RwLock::new(BTreeMap::new()))
}

/// Whether `scheme` has the form of a sink kind: 1 to 16 lowercase ASCII
/// letters, digits and `-`, starting with a letter.
pub(crate) fn well_formed(scheme: &str) -> bool {
    (1..=16).contains(&scheme.len())
        && scheme.starts_with(|c: char| c.is_ascii_lowercase())
        && scheme
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Makes `SCHEME:LOCATION` a sink spec for the whole process: `open` is
/// given the location (all that follows the first `:`) and returns the
/// sink. It is called when a spec is parsed, to refuse a malformed
/// location before any request, and again for each sink the spec makes:
/// it should check the location and build the sink, with no I/O (do that
/// in [`SecretSink::check`]), and its errors should not quote the location,
/// which may be a secret pasted by mistake. Registering a scheme again
/// replaces it.
///
/// ```
/// use api_tokens::lifecycle::sink::{FileSink, SecretSink, SinkError, SinkSpec, register_scheme};
///
/// register_scheme("team-vault", |location| {
///     if location.is_empty() {
///         return Err(SinkError::InvalidSpec { reason: "`team-vault:` names no secret".into() });
///     }
///     // A store of your own; a file stands in for it here.
///     Ok(Box::new(FileSink::new(format!("/run/team-vault/{location}"))) as Box<dyn SecretSink>)
/// })?;
///
/// let spec: SinkSpec = "team-vault:ci/unit".parse()?;
/// assert_eq!(spec.to_string(), "team-vault:ci/unit");
/// assert_eq!(spec.into_sink()?.describe(), "file /run/team-vault/ci/unit");
/// assert!("team-vault:".parse::<SinkSpec>().is_err());
/// # Ok::<(), SinkError>(())
/// ```
///
/// # Errors
///
/// [`SinkError::InvalidSpec`] when `scheme` is not 1 to 16 lowercase
/// letters, digits and `-` starting with a letter, or is one the crate reads
/// itself (`file`, `env-file`, `aws-sm`, `vault`).
pub fn register_scheme(
    scheme: &str,
    open: impl Fn(&str) -> Result<Box<dyn SecretSink>, SinkError> + Send + Sync + 'static,
) -> Result<(), SinkError> {
    if !well_formed(scheme) {
        return Err(SinkError::InvalidSpec {
            reason: "a sink scheme is 1 to 16 lowercase letters, digits and `-`, starting \
                     with a letter"
                .to_owned(),
        });
    }
    if BUILT_IN.contains(&scheme) {
        return Err(SinkError::InvalidSpec {
            reason: format!("the sink scheme `{scheme}` is the crate's own"),
        });
    }
    let mut schemes = schemes()
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    schemes.insert(scheme.to_owned(), Arc::new(open));
    Ok(())
}

/// The sink of registered `scheme` at `location`; `None` when the scheme is
/// not registered.
pub(crate) fn open(scheme: &str, location: &str) -> Option<Result<Box<dyn SecretSink>, SinkError>> {
    let opener = schemes()
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .get(scheme)
        .cloned()?;
    Some(opener(location))
}

/// The schemes registered so far, in order.
pub(crate) fn registered() -> Vec<String> {
    schemes()
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .keys()
        .cloned()
        .collect()
}
