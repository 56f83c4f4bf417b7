//! [`SecretsManagerSink`]: AWS Secrets Manager as the store of a token's
//! secret, one JSON record ([`SecretRecord`]) per version, made current by
//! a compare-and-set of the `AWSCURRENT` label (feature `aws`).

use std::fmt;

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_secretsmanager::operation::RequestId;
use aws_sdk_secretsmanager::operation::update_secret_version_stage::builders::UpdateSecretVersionStageFluentBuilder;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::OnceCell;

use crate::lifecycle::sink::record::{CasBase, RecordStore, SecretRecord};
use crate::lifecycle::sink::secret_sink::{SecretMeta, SecretSink, SinkError, async_trait};

/// The label of the version readers get: the secret in use.
pub const AWSCURRENT: &str = "AWSCURRENT";
/// The label of a version being rotated in, not yet current.
pub const AWSPENDING: &str = "AWSPENDING";
/// The label Secrets Manager moves to the version that was current before.
pub const AWSPREVIOUS: &str = "AWSPREVIOUS";

/// An error of a Secrets Manager call: the operation, the secret's name or
/// ARN, the error code and message AWS returned, and the request id. Built
/// from the error's metadata only, never from a request: it holds no
/// secret.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SecretsManagerError {
    /// The API operation, such as `"PutSecretValue"`.
    pub operation: &'static str,
    /// The secret's name or ARN.
    pub secret: String,
    /// AWS's error code (`"ResourceNotFoundException"`), or the kind of
    /// failure when no answer came (`"network"`, `"timeout"`).
    pub code: String,
    /// AWS's message, when there was one.
    pub message: Option<String>,
    /// The request id, when AWS answered.
    pub request_id: Option<String>,
}

impl SecretsManagerError {
    /// The error of `operation` on `secret` from the SDK's error.
    pub fn from_sdk<E, R>(operation: &'static str, secret: &str, error: &SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata,
        SdkError<E, R>: RequestId,
    {
        let (code, message) = match error {
            SdkError::ServiceError(_) => (
                error.code().unwrap_or("UnknownError").to_owned(),
                error.message().map(str::to_owned),
            ),
            SdkError::TimeoutError(_) => ("timeout".to_owned(), None),
            SdkError::DispatchFailure(d) => (
                "network".to_owned(),
                Some(if d.is_timeout() {
                    "the connection timed out".to_owned()
                } else if d.is_io() {
                    "the connection failed".to_owned()
                } else {
                    "the request could not be sent".to_owned()
                }),
            ),
            SdkError::ResponseError(_) => (
                "response".to_owned(),
                Some("the answer could not be read".to_owned()),
            ),
            SdkError::ConstructionFailure(_) => (
                "configuration".to_owned(),
                Some(
                    "the request could not be built (check the region and credentials)".to_owned(),
                ),
            ),
            _ => ("unknown".to_owned(), None),
        };
        SecretsManagerError {
            operation,
            secret: secret.to_owned(),
            code,
            message,
            request_id: error.request_id().map(str::to_owned),
        }
    }

    /// Whether the secret does not exist (`ResourceNotFoundException`).
    pub fn is_not_found(&self) -> bool {
        self.code == "ResourceNotFoundException"
    }

    /// Whether AWS refused the call's parameters
    /// (`InvalidParameterException`, `InvalidRequestException`): for
    /// `UpdateSecretVersionStage`, the label was no longer where this run
    /// read it.
    pub fn is_invalid_request(&self) -> bool {
        self.code == "InvalidParameterException" || self.code == "InvalidRequestException"
    }
}

impl fmt::Display for SecretsManagerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} on {}: {}", self.operation, self.secret, self.code)?;
        if let Some(message) = &self.message {
            write!(f, ": {message}")?;
        }
        match &self.request_id {
            Some(id) => write!(f, " (request id {id})"),
            None => f.write_str(" (no request id: no answer from AWS)"),
        }
    }
}

impl std::error::Error for SecretsManagerError {}

/// One secret of Secrets Manager through a client: each call that the
/// sink and the rotation function both make, written once. Moving a label
/// (`UpdateSecretVersionStage`) happens only here.
pub(crate) struct Secret<'a> {
    client: &'a Client,
    id: &'a str,
}

/// Which version of a secret to read.
#[derive(Debug, Clone, Copy)]
pub(crate) enum At<'a> {
    /// The version with this id.
    Version(&'a str),
    /// The version holding this label.
    Label(&'a str),
}

/// Why a version's record could not be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The call failed; a missing secret or version included
    /// ([`SecretsManagerError::is_not_found`]).
    Store(SecretsManagerError),
    /// The version holds no token record (binary data, or text that is not
    /// a [`SecretRecord`]); the message never quotes the value.
    NotARecord(Box<dyn std::error::Error + Send + Sync>),
}

/// What a compare-and-set of `AWSCURRENT` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Moved {
    /// The target version holds `AWSCURRENT` (moved now, or by an earlier
    /// try of the same move).
    Done,
    /// Secrets Manager refused the move: another version became current
    /// since the base was read; `current` is the one holding it now.
    Superseded {
        /// The version that holds `AWSCURRENT` now, if any.
        current: Option<String>,
    },
}

/// A secret's versions and their labels, as `DescribeSecret` lists them.
pub(crate) struct Versions(Vec<(String, Vec<String>)>);

impl Versions {
    /// The version holding `label`.
    pub(crate) fn with(&self, label: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(_, labels)| labels.iter().any(|l| l == label))
            .map(|(id, _)| id.as_str())
    }

    /// The labels of `version` (none when there is no such version).
    pub(crate) fn labels_of(&self, version: &str) -> &[String] {
        self.0
            .iter()
            .find(|(id, _)| id == version)
            .map(|(_, l)| l.as_slice())
            .unwrap_or(&[])
    }
}

impl<'a> Secret<'a> {
    /// The secret `id` (a name or an ARN) through `client`.
    pub(crate) fn new(client: &'a Client, id: &'a str) -> Secret<'a> {
        Secret { client, id }
    }

    /// Waits for one SDK call on this secret; its error names the
    /// operation and the secret.
    async fn answer<T, E, R>(
        &self,
        operation: &'static str,
        call: impl Future<Output = Result<T, SdkError<E, R>>>,
    ) -> Result<T, SecretsManagerError>
    where
        E: ProvideErrorMetadata,
        SdkError<E, R>: RequestId,
    {
        call.await
            .map_err(|e| SecretsManagerError::from_sdk(operation, self.id, &e))
    }

    /// The secret's versions and their labels (`DescribeSecret`).
    pub(crate) async fn versions(&self) -> Result<Versions, SecretsManagerError> {
        let call = self.client.describe_secret().secret_id(self.id).send();
        let out = self.answer("DescribeSecret", call).await?;
        Ok(Versions(
            out.version_ids_to_stages()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
        ))
    }

    /// The record a version holds, with the version's id.
    pub(crate) async fn record(&self, at: At<'_>) -> Result<(String, SecretRecord), ReadError> {
        let call = self.client.get_secret_value().secret_id(self.id);
        let (call, asked) = match at {
            At::Version(id) => (call.version_id(id), id),
            At::Label(label) => (call.version_stage(label), ""),
        };
        let out = self
            .answer("GetSecretValue", call.send())
            .await
            .map_err(ReadError::Store)?;
        let version = out.version_id().unwrap_or(asked).to_owned();
        let Some(text) = out.secret_string() else {
            return Err(ReadError::NotARecord(
                format!("version {version} holds binary data, not a token record").into(),
            ));
        };
        let record = SecretRecord::from_json(text).map_err(|e| {
            ReadError::NotARecord(match e {
                SinkError::Other { source, .. } => source,
                other => Box::new(other),
            })
        })?;
        Ok((version, record))
    }

    /// Creates the secret with `record` as its first, current version.
    async fn create(
        &self,
        record: &SecretRecord,
        version: &str,
    ) -> Result<(), SecretsManagerError> {
        let call = self
            .client
            .create_secret()
            .name(self.id)
            .client_request_token(version)
            .secret_string(record.to_json().expose_secret())
            .send();
        self.answer("CreateSecret", call).await.map(drop)
    }

    /// Puts `record` as version `version`, labelled `AWSPENDING`; a retried
    /// put of the same version is kept once.
    pub(crate) async fn put_pending(
        &self,
        record: &SecretRecord,
        version: &str,
    ) -> Result<(), SecretsManagerError> {
        let call = self
            .client
            .put_secret_value()
            .secret_id(self.id)
            .client_request_token(version)
            .secret_string(record.to_json().expose_secret())
            .version_stages(AWSPENDING)
            .send();
        self.answer("PutSecretValue", call).await.map(drop)
    }

    /// A move of `label` on the secret (`UpdateSecretVersionStage`), to say
    /// from and to which versions: the one place labels are moved.
    fn stage(&self, label: &str) -> UpdateSecretVersionStageFluentBuilder {
        self.client
            .update_secret_version_stage()
            .secret_id(self.id)
            .version_stage(label)
    }

    /// Moves `AWSCURRENT` to `to` from `from` (none: no version held it), a
    /// compare-and-set: when Secrets Manager refuses it, reads which version
    /// is current now. Secrets Manager moves `AWSPREVIOUS` to `from`.
    pub(crate) async fn move_current(
        &self,
        from: Option<&str>,
        to: &str,
    ) -> Result<Moved, SecretsManagerError> {
        let call = self
            .stage(AWSCURRENT)
            .move_to_version_id(to)
            .set_remove_from_version_id(from.map(str::to_owned))
            .send();
        let Err(e) = self.answer("UpdateSecretVersionStage", call).await else {
            return Ok(Moved::Done);
        };
        if !e.is_invalid_request() {
            return Err(e);
        }
        let current = match self.versions().await {
            Ok(versions) => versions.with(AWSCURRENT).map(str::to_owned),
            Err(e) if e.is_not_found() => None,
            Err(e) => return Err(e),
        };
        Ok(if current.as_deref() == Some(to) {
            // A retry of this very move had made it.
            Moved::Done
        } else {
            Moved::Superseded { current }
        })
    }

    /// Takes `label` off `version`; a label already gone is fine.
    pub(crate) async fn remove_label(&self, label: &str, version: &str) {
        let call = self.stage(label).remove_from_version_id(version).send();
        if let Err(e) = self.answer("UpdateSecretVersionStage", call).await {
            tracing::debug!(error = %e, "a label was already off the version");
        }
    }
}

/// What this sink read of the secret before storing: the base of its
/// compare-and-set.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
enum Basis {
    #[default]
    /// Nothing read yet.
    Unread,
    /// The secret did not exist.
    Missing,
    /// The secret existed with no `AWSCURRENT` version.
    NoCurrent,
    /// `AWSCURRENT` was on this version.
    Version(String),
}

/// A secret of AWS Secrets Manager, by name or ARN: each token's secret is
/// written as a new version holding a [`SecretRecord`], and made current
/// with a compare-and-set.
///
/// The client is configured the standard way, from the environment, on
/// first use (region, credentials and `AWS_ENDPOINT_URL`), unless one is
/// given with [`SecretsManagerSink::with_client`].
///
/// # Compare-and-set
///
/// The sink remembers the version that held `AWSCURRENT` when it first read
/// the secret ([`check`](SecretSink::check), [`current`](SecretSink::current)
/// or [`current_record`](Self::current_record)). [`store`](SecretSink::store):
///
/// 1. writes the record as a new version labelled `AWSPENDING`, whose
///    `ClientRequestToken` is derived from the token ([`SecretRecord::version_id`]),
///    so a retried write is kept once;
/// 2. moves `AWSCURRENT` to it with `UpdateSecretVersionStage`,
///    `RemoveFromVersionId` = the version read. Secrets Manager refuses the
///    move when another version became current meanwhile: then the store
///    fails with [`SinkError::Superseded`] naming the token the secret now
///    holds, and the rotation removes its own token instead of overwriting
///    a newer one. Secrets Manager moves `AWSPREVIOUS` to the version read.
/// 3. takes `AWSPENDING` off the new version.
///
/// A missing secret is created with the record as its first, current
/// version (when named by its name; an ARN names an existing secret); when
/// another writer created it first, the store is superseded.
/// After a successful store the sink's base is the version it wrote, so one
/// sink can take a sequence of rotations. (A file sink cannot compare
/// before it sets: there, only the service's own rules keep two rotations
/// apart.)
///
/// ```no_run
/// use api_tokens::aws::SecretsManagerSink;
/// use api_tokens::lifecycle::sink::SecretSink;
///
/// let sink = SecretsManagerSink::new("ci/mailtrap-deploy")?;
/// assert_eq!(sink.describe(), "AWS Secrets Manager secret ci/mailtrap-deploy");
/// # Ok::<(), api_tokens::lifecycle::sink::SinkError>(())
/// ```
pub struct SecretsManagerSink {
    secret_id: String,
    client: OnceCell<Client>,
    /// What keeps the environment's configuration from sending a request
    /// (no region, no credentials), found when the client was configured
    /// from it; `None` for a client given.
    unconfigured: std::sync::OnceLock<String>,
    basis: CasBase<Basis>,
}

impl fmt::Debug for SecretsManagerSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretsManagerSink")
            .field("secret_id", &self.secret_id)
            .finish_non_exhaustive()
    }
}

/// Checks a secret's name or ARN as Secrets Manager accepts them.
fn check_secret_id(id: &str) -> Result<(), String> {
    if id.starts_with("arn:") {
        let parts: Vec<&str> = id.splitn(7, ':').collect();
        return match parts.as_slice() {
            [
                _,
                partition,
                "secretsmanager",
                region,
                account,
                "secret",
                name,
            ] if !partition.is_empty()
                && !region.is_empty()
                && !account.is_empty()
                && !name.is_empty() =>
            {
                Ok(())
            }
            _ => Err("not a Secrets Manager secret ARN; expected \
                      `arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME`"
                .to_owned()),
        };
    }
    if id.is_empty() {
        return Err("the secret's name is empty".to_owned());
    }
    if id.len() > 512 {
        return Err("the secret's name is longer than 512 characters".to_owned());
    }
    if let Some(c) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "/_+=.@-".contains(*c)))
    {
        return Err(format!(
            "the secret's name holds {}; a name is made of letters, digits and /_+=.@-",
            if c.is_whitespace() {
                "a space".to_owned()
            } else if c.is_ascii_graphic() {
                format!("`{c}`")
            } else {
                "a character outside ASCII".to_owned()
            }
        ));
    }
    Ok(())
}

impl SecretsManagerSink {
    /// The secret `secret_id` (a name or an ARN), through a client
    /// configured from the environment on first use.
    ///
    /// # Errors
    ///
    /// [`SinkError::InvalidSpec`] when `secret_id` is not a well-formed name
    /// or ARN.
    pub fn new(secret_id: impl Into<String>) -> Result<SecretsManagerSink, SinkError> {
        let secret_id = secret_id.into();
        check_secret_id(&secret_id).map_err(|reason| SinkError::InvalidSpec { reason })?;
        Ok(SecretsManagerSink {
            secret_id,
            client: OnceCell::new(),
            unconfigured: std::sync::OnceLock::new(),
            basis: CasBase::default(),
        })
    }

    /// The secret `secret_id` through `client`.
    ///
    /// # Errors
    ///
    /// As [`SecretsManagerSink::new`].
    pub fn with_client(
        client: Client,
        secret_id: impl Into<String>,
    ) -> Result<SecretsManagerSink, SinkError> {
        let sink = SecretsManagerSink::new(secret_id)?;
        // A fresh cell takes the value.
        let _ = sink.client.set(client);
        Ok(sink)
    }

    /// The secret's name or ARN.
    pub fn secret_id(&self) -> &str {
        &self.secret_id
    }

    /// The client, configured from the environment the first time.
    pub async fn client(&self) -> &Client {
        self.client
            .get_or_init(|| async {
                let config = aws_config::load_from_env().await;
                if let Some(problem) = unconfigured(&config).await {
                    let _ = self.unconfigured.set(problem);
                }
                Client::new(&config)
            })
            .await
    }

    /// The shared calls on this secret.
    async fn secret(&self) -> Secret<'_> {
        Secret::new(self.client().await, &self.secret_id)
    }

    fn fail(&self, e: SecretsManagerError) -> SinkError {
        SinkError::other(self.describe(), e)
    }

    /// The version that holds `AWSCURRENT` now (`None`: none does), or
    /// `Err(Missing)` when the secret does not exist.
    async fn read_current_version(&self) -> Result<Basis, SinkError> {
        match self.secret().await.versions().await {
            Ok(versions) => Ok(versions
                .with(AWSCURRENT)
                .map_or(Basis::NoCurrent, |v| Basis::Version(v.to_owned()))),
            Err(e) if e.is_not_found() => Ok(Basis::Missing),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// The record `AWSCURRENT` holds now and its version id; `None` when the
    /// secret does not exist or has no current version. The first read
    /// becomes the base of the compare-and-set.
    ///
    /// # Errors
    ///
    /// A [`SinkError::Other`] holding a [`SecretsManagerError`] (access
    /// denied, throttled, network), or the value is not a [`SecretRecord`].
    pub async fn current_record(&self) -> Result<Option<(String, SecretRecord)>, SinkError> {
        let read = self.record_labelled(AWSCURRENT).await?;
        match &read {
            Some((version, _)) => self.basis.set(Basis::Version(version.clone()), true),
            None => {
                // Not found: the secret, or its AWSCURRENT version.
                let basis = self.read_current_version().await?;
                self.basis.set(basis, true);
            }
        }
        Ok(read)
    }

    /// The record the version labelled `label` holds (such as
    /// [`AWSPREVIOUS`]: the record the current one replaced) and its
    /// version id; `None` when the secret or such a version does not exist.
    /// Unlike [`current_record`](Self::current_record), it does not set the
    /// base of the compare-and-set.
    ///
    /// # Errors
    ///
    /// As [`current_record`](Self::current_record).
    pub async fn record_labelled(
        &self,
        label: &str,
    ) -> Result<Option<(String, SecretRecord)>, SinkError> {
        match self.secret().await.record(At::Label(label)).await {
            Ok(read) => Ok(Some(read)),
            Err(ReadError::Store(e)) if e.is_not_found() => Ok(None),
            Err(ReadError::Store(e)) => Err(self.fail(e)),
            Err(ReadError::NotARecord(source)) => Err(SinkError::Other {
                sink: self.describe(),
                source,
            }),
        }
    }

    /// The token id the current record names, for a lost compare-and-set.
    async fn holder(&self) -> Option<String> {
        match self.current_record().await {
            Ok(Some((_, record))) => Some(record.token_id),
            _ => None,
        }
    }

    async fn create(&self, record: &SecretRecord, version: &str) -> Result<(), SinkError> {
        let Err(e) = self.secret().await.create(record, version).await else {
            return Ok(());
        };
        if e.code != "ResourceExistsException" {
            return Err(self.fail(e));
        }
        // Created meanwhile: by this write's retry, or another writer.
        match self.read_current_version().await? {
            Basis::Version(v) if v == version => Ok(()),
            _ => Err(SinkError::superseded(self.describe(), self.holder().await)),
        }
    }
}

/// What keeps `config` (the environment's) from sending a request: no
/// region, or no credentials its provider chain can find. The SDK itself
/// reports both only when a request is sent, as a failure to send it.
async fn unconfigured(config: &aws_config::SdkConfig) -> Option<String> {
    use aws_sdk_secretsmanager::config::ProvideCredentials as _;
    if config.region().is_none() {
        return Some(
            "no AWS region is configured: set AWS_REGION (or a profile's region)".to_owned(),
        );
    }
    let found = match config.credentials_provider() {
        Some(provider) => provider.provide_credentials().await.is_ok(),
        None => false,
    };
    (!found).then(|| {
        "no AWS credentials were found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, \
         AWS_PROFILE, or run where a role provides them"
            .to_owned()
    })
}

/// A failed read of the store, as [`SinkError::Unreadable`] (the command
/// line's exit 1, "reading the secret"), unless the request could not even
/// be built (no region, no credentials): that is the configuration's fault.
fn unreadable(e: SinkError) -> SinkError {
    match e {
        SinkError::Other { sink, source }
            if source
                .downcast_ref::<SecretsManagerError>()
                .is_some_and(|e| e.code != "configuration") =>
        {
            SinkError::Unreadable { sink, source }
        }
        other => other,
    }
}

#[async_trait]
impl SecretSink for SecretsManagerSink {
    async fn store(&self, secret: &SecretString, meta: &SecretMeta) -> Result<(), SinkError> {
        let record = SecretRecord::new(secret, meta);
        let version = record.version_id();
        let mut basis = self.basis.get();
        if basis == Basis::Unread {
            basis = self.read_current_version().await?;
            self.basis.set(basis.clone(), true);
        }
        match &basis {
            Basis::Version(v) if *v == version => return Ok(()),
            Basis::Missing if self.secret_id.starts_with("arn:") => {
                return Err(SinkError::other(
                    self.describe(),
                    "the secret does not exist, and one named by its ARN cannot be created: \
                     give its name instead",
                ));
            }
            Basis::Missing => {
                self.create(&record, &version).await?;
                self.basis.set(Basis::Version(version), false);
                return Ok(());
            }
            _ => {}
        }
        let secret = self.secret().await;
        secret
            .put_pending(&record, &version)
            .await
            .map_err(|e| self.fail(e))?;
        let from = match &basis {
            Basis::Version(v) => Some(v.as_str()),
            _ => None,
        };
        let moved = secret
            .move_current(from, &version)
            .await
            .map_err(|e| self.fail(e))?;
        secret.remove_label(AWSPENDING, &version).await;
        if moved != Moved::Done {
            return Err(SinkError::superseded(self.describe(), self.holder().await));
        }
        self.basis.set(Basis::Version(version), false);
        Ok(())
    }

    /// Reads which version is current (`DescribeSecret`; the secret's name
    /// was checked when the sink was made): the base of the compare-and-set, unless the sink
    /// has read it already. A store that does not answer or refuses the
    /// read is [`SinkError::Unreadable`]. A secret named by an ARN must exist (one named
    /// by its name is created by the first store): otherwise
    /// [`SinkError::InvalidSpec`], before any token is minted.
    async fn check(&self) -> Result<(), SinkError> {
        self.client().await;
        if let Some(problem) = self.unconfigured.get() {
            return Err(SinkError::InvalidSpec {
                reason: format!("{}: {problem}", self.describe()),
            });
        }
        if self.basis.get() == Basis::Unread {
            let basis = self.read_current_version().await.map_err(unreadable)?;
            self.basis.set(basis, true);
        }
        if self.basis.get() == Basis::Missing && self.secret_id.starts_with("arn:") {
            return Err(SinkError::InvalidSpec {
                reason: format!(
                    "the secret {} does not exist, and one named by its ARN cannot be \
                     created: give an existing secret's ARN, or a name",
                    self.secret_id
                ),
            });
        }
        Ok(())
    }

    async fn current(&self) -> Result<Option<SecretString>, SinkError> {
        Ok(self.current_record().await?.map(|(_, r)| r.token))
    }

    async fn current_meta(&self) -> Result<Option<SecretMeta>, SinkError> {
        Ok(self.current_record().await?.map(|(_, r)| r.meta()))
    }

    fn describe(&self) -> String {
        format!("AWS Secrets Manager secret {}", self.secret_id)
    }
}

// The store's current record is its compare-and-set base: a rotation from
// it is refused as superseded when another run stored since.
#[async_trait]
impl RecordStore for SecretsManagerSink {
    async fn record(&self) -> Result<Option<SecretRecord>, SinkError> {
        Ok(self.current_record().await?.map(|(_, record)| record))
    }

    async fn previous_record(&self) -> Result<Option<SecretRecord>, SinkError> {
        Ok(self
            .record_labelled(AWSPREVIOUS)
            .await?
            .map(|(_, record)| record))
    }
}
