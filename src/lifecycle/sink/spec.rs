//! [`SinkSpec`]: a sink as the command line names it.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use super::dotenv::check_var;
use super::env_file::EnvFileSink;
use super::file::FileSink;
use super::secret_sink::{SecretSink, SinkError};
use super::stdout::StdoutSink;

/// A sink as the command line names it: `file:PATH`, `env-file:PATH:VAR` or
/// `-` (standard output).
///
/// In `env-file:PATH:VAR` the variable is what follows the last colon, so
/// the path may hold colons itself; in `file:PATH` everything after
/// `file:` is the path.
///
/// ```
/// use std::path::PathBuf;
///
/// use api_tokens::lifecycle::sink::SinkSpec;
///
/// # fn main() -> Result<(), api_tokens::lifecycle::sink::SinkError> {
/// assert_eq!("-".parse::<SinkSpec>()?, SinkSpec::Stdout);
/// assert_eq!("file:/run/ci/token".parse::<SinkSpec>()?, SinkSpec::File(PathBuf::from("/run/ci/token")));
/// assert_eq!(
///     "env-file:C:/ci/.env:UNIT_API_TOKEN".parse::<SinkSpec>()?,
///     SinkSpec::EnvFile { path: PathBuf::from("C:/ci/.env"), var: "UNIT_API_TOKEN".to_owned() }
/// );
/// assert!("s3://bucket/token".parse::<SinkSpec>().is_err());
///
/// let sink = "file:/run/ci/token".parse::<SinkSpec>()?.into_sink()?;
/// assert_eq!(sink.describe(), "file /run/ci/token");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SinkSpec {
    /// `-`: standard output ([`StdoutSink`]).
    Stdout,
    /// `file:PATH`: a file of its own ([`FileSink`]).
    File(PathBuf),
    /// `env-file:PATH:VAR`: one line of a dotenv file ([`EnvFileSink`]).
    EnvFile {
        /// The dotenv file.
        path: PathBuf,
        /// The variable to set.
        var: String,
    },
    /// `aws-sm:NAME`: a secret of AWS Secrets Manager, by name or ARN
    /// ([`SecretsManagerSink`](super::SecretsManagerSink), feature `aws`).
    #[cfg(feature = "aws")]
    AwsSecretsManager(String),
    /// `vault:MOUNT/PATH`: a secret of a Vault or OpenBao KV v2 engine; the
    /// first segment is the mount ([`VaultKvSink`](super::VaultKvSink),
    /// feature `vault`). Holds `MOUNT/PATH`.
    #[cfg(feature = "vault")]
    Vault(String),
    /// `SCHEME:LOCATION` of a scheme registered with
    /// [`register_scheme`](super::register_scheme): a store outside this crate.
    Registered {
        /// The scheme.
        scheme: String,
        /// All that follows the first `:`.
        location: String,
    },
}

impl SinkSpec {
    /// The sink this spec names.
    ///
    /// # Errors
    ///
    /// [`SinkError::InvalidVar`] for a [`SinkSpec::EnvFile`] built by hand
    /// with an invalid variable name (parsing refuses those already).
    pub fn into_sink(self) -> Result<Box<dyn SecretSink>, SinkError> {
        Ok(match self {
            SinkSpec::Stdout => Box::new(StdoutSink),
            SinkSpec::File(path) => Box::new(FileSink::new(path)),
            SinkSpec::EnvFile { path, var } => Box::new(EnvFileSink::new(path, var)?),
            #[cfg(feature = "aws")]
            SinkSpec::AwsSecretsManager(name) => {
                Box::new(crate::aws::secrets_manager::SecretsManagerSink::new(name)?)
            }
            #[cfg(feature = "vault")]
            SinkSpec::Vault(mount_path) => Box::new(super::vault::VaultKvSink::new(&mount_path)?),
            SinkSpec::Registered { scheme, location } => super::schemes::open(&scheme, &location)
                .unwrap_or_else(|| {
                Err(SinkError::InvalidSpec {
                    reason: format!("the sink scheme `{scheme}` is not registered"),
                })
            })?,
        })
    }
}

impl SinkSpec {
    /// Checks, before any request, what can be seen of the sink this spec
    /// names: builds it and runs its [`SecretSink::check`]. A `file:` or
    /// `env-file:` path whose directory is missing or that is a directory,
    /// a symbolic link to nothing, an env file that cannot be read or
    /// assigns the variable twice are refused; standard output checks
    /// nothing. A tokens file's plan runs it for every entry, so that what
    /// `apply` would fail on is refused before a token exists.
    ///
    /// ```
    /// use api_tokens::lifecycle::sink::SinkSpec;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let dir = tempfile::tempdir()?;
    /// let spec: SinkSpec = format!("file:{}", dir.path().display()).parse()?;
    /// let err = spec.check().await.unwrap_err();
    /// assert!(err.to_string().contains("it is a directory, not a file"), "{err}");
    ///
    /// let spec: SinkSpec = format!("file:{}/unit.token", dir.path().display()).parse()?;
    /// spec.check().await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// The [`SinkError`] that storing a secret there would certainly meet,
    /// or the error of [`SinkSpec::into_sink`].
    pub async fn check(&self) -> Result<(), SinkError> {
        self.clone().into_sink()?.check().await
    }
}

/// The forms a spec may take in this build, for error messages: the
/// crate's own (with `aws-sm:NAME` under the feature `aws`, and
/// `vault:MOUNT/PATH` under `vault`), then each scheme registered with
/// [`register_scheme`](super::register_scheme).
fn spec_forms() -> String {
    let mut forms: Vec<String> = ["`file:PATH`", "`env-file:PATH:VAR`"]
        .into_iter()
        .chain(cfg!(feature = "aws").then_some("`aws-sm:NAME`"))
        .chain(cfg!(feature = "vault").then_some("`vault:MOUNT/PATH`"))
        .map(str::to_owned)
        .collect();
    forms.extend(
        super::schemes::registered()
            .into_iter()
            .map(|scheme| format!("`{scheme}:…`")),
    );
    format!("expected {} or `-` (standard output)", forms.join(", "))
}

impl FromStr for SinkSpec {
    type Err = SinkError;

    /// Parses `file:PATH`, `env-file:PATH:VAR`, `aws-sm:NAME` (feature
    /// `aws`; NAME is a secret's name or ARN) or `-`.
    ///
    /// # Errors
    ///
    /// [`SinkError::InvalidSpec`] for any other form, an empty path, a
    /// missing or invalid variable name, a malformed secret name, or
    /// `aws-sm:` in a build without the feature `aws`. The error quotes at most a short
    /// unknown kind (`s3` in `s3:…`), never the rest of the spec, which could
    /// be a token pasted by mistake.
    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let invalid = |reason: String| SinkError::InvalidSpec { reason };
        if spec == "-" {
            return Ok(SinkSpec::Stdout);
        }
        if let Some(path) = spec.strip_prefix("file:") {
            if path.is_empty() {
                return Err(invalid(format!("`file:` names no file; {}", spec_forms())));
            }
            return Ok(SinkSpec::File(PathBuf::from(path)));
        }
        if let Some(rest) = spec.strip_prefix("env-file:") {
            let Some((path, var)) = rest.rsplit_once(':') else {
                return Err(invalid(format!(
                    "`env-file:` needs a path and a variable, as in `env-file:.env:UNIT_API_TOKEN`; {}",
                    spec_forms()
                )));
            };
            if path.is_empty() {
                return Err(invalid(format!(
                    "`env-file:` names no file; {}",
                    spec_forms()
                )));
            }
            if let Err(reason) = check_var(var) {
                return Err(invalid(format!(
                    "the variable after the last `:` is not a valid name: {reason}"
                )));
            }
            return Ok(SinkSpec::EnvFile {
                path: PathBuf::from(path),
                var: var.to_owned(),
            });
        }
        if let Some(name) = spec.strip_prefix("aws-sm:") {
            return aws_secrets_manager(name);
        }
        if let Some(mount_path) = spec.strip_prefix("vault:") {
            return vault_kv(mount_path);
        }
        if let Some((scheme, location)) = spec.split_once(':') {
            if super::schemes::well_formed(scheme) {
                if let Some(opened) = super::schemes::open(scheme, location) {
                    opened?;
                    return Ok(SinkSpec::Registered {
                        scheme: scheme.to_owned(),
                        location: location.to_owned(),
                    });
                }
            }
        }
        let kind = spec.split_once(':').map(|(kind, _)| kind);
        Err(invalid(match kind {
            Some(kind)
                if (1..=16).contains(&kind.len())
                    && kind
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') =>
            {
                format!("unknown kind of sink `{kind}`; {}", spec_forms())
            }
            _ if spec.is_empty() => format!("the sink is empty; {}", spec_forms()),
            _ => spec_forms(),
        }))
    }
}

/// `aws-sm:NAME`, with the feature `aws`.
#[cfg(feature = "aws")]
fn aws_secrets_manager(name: &str) -> Result<SinkSpec, SinkError> {
    // Checks the name or ARN as the sink does.
    crate::aws::secrets_manager::SecretsManagerSink::new(name).map_err(|e| match e {
        SinkError::InvalidSpec { reason } => SinkError::InvalidSpec {
            reason: format!("`aws-sm:` {reason}"),
        },
        other => other,
    })?;
    Ok(SinkSpec::AwsSecretsManager(name.to_owned()))
}

/// `aws-sm:NAME` without the feature `aws`: refused, saying how to get it.
#[cfg(not(feature = "aws"))]
fn aws_secrets_manager(_name: &str) -> Result<SinkSpec, SinkError> {
    Err(SinkError::InvalidSpec {
        reason: "`aws-sm:` (AWS Secrets Manager) needs api-tokens built with the feature `aws` \
                 (cargo install api-tokens --features cli,aws)"
            .to_owned(),
    })
}

/// `vault:MOUNT/PATH`, with the feature `vault`.
#[cfg(feature = "vault")]
fn vault_kv(mount_path: &str) -> Result<SinkSpec, SinkError> {
    super::vault::split_mount_path(mount_path).map_err(|reason| SinkError::InvalidSpec {
        reason: format!("`vault:` {reason}"),
    })?;
    Ok(SinkSpec::Vault(mount_path.to_owned()))
}

/// `vault:MOUNT/PATH` without the feature `vault`: refused, saying how to
/// get it.
#[cfg(not(feature = "vault"))]
fn vault_kv(_mount_path: &str) -> Result<SinkSpec, SinkError> {
    Err(SinkError::InvalidSpec {
        reason: "`vault:` (HashiCorp Vault or OpenBao KV v2) needs api-tokens built with the \
                 feature `vault` (cargo install api-tokens --features cli,vault)"
            .to_owned(),
    })
}

impl fmt::Display for SinkSpec {
    /// The spec as [`FromStr`] reads it back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SinkSpec::Stdout => f.write_str("-"),
            SinkSpec::File(path) => write!(f, "file:{}", path.display()),
            SinkSpec::EnvFile { path, var } => write!(f, "env-file:{}:{var}", path.display()),
            #[cfg(feature = "aws")]
            SinkSpec::AwsSecretsManager(name) => write!(f, "aws-sm:{name}"),
            #[cfg(feature = "vault")]
            SinkSpec::Vault(mount_path) => write!(f, "vault:{mount_path}"),
            SinkSpec::Registered { scheme, location } => write!(f, "{scheme}:{location}"),
        }
    }
}
