//! The [`SecretSink`] trait, what a sink is told ([`SecretMeta`]) and how
//! it fails ([`SinkError`]).

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::ops::Deref;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use secrecy::SecretString;

use crate::Service;
use crate::lifecycle::marker::Marker;

/// The attribute that makes an `impl SecretSink` object-safe (re-exported
/// from `async-trait`, so a sink needs no dependency of its own for it).
///
/// Write `#[async_trait]` on the `impl` block of a sink: see [`SecretSink`].
pub use async_trait::async_trait;

/// What a sink is told about the secret it stores.
///
/// `#[non_exhaustive]`: build it with [`SecretMeta::new`] and the `with_`
/// setters, read it with the getters.
///
/// ```
/// use api_tokens::Service;
/// use api_tokens::lifecycle::Marker;
/// use api_tokens::lifecycle::sink::SecretMeta;
/// use chrono::{TimeZone, Utc};
///
/// let expiry = Utc.with_ymd_and_hms(2027, 1, 31, 12, 0, 0).unwrap();
/// // The description of a token minted by a rotation of token 1.
/// let description = Marker::replacing("1").tag("CI deploy");
/// let meta = SecretMeta::new(Service::Unit, "42")
///     .with_name(description.clone())
///     .with_expires_at(expiry);
/// assert_eq!(meta.service(), Service::Unit);
/// assert_eq!(meta.id(), "42");
/// assert_eq!(meta.name(), Some("CI deploy"));
/// assert_eq!(meta.full_name(), Some(description.as_str()));
/// assert_eq!(meta.expires_at(), Some(expiry));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SecretMeta {
    service: Service,
    id: String,
    name: Option<String>,
    expires_at: Option<DateTime<Utc>>,
    attributes: BTreeMap<String, serde_json::Value>,
}

impl SecretMeta {
    /// The metadata of the token `id` on `service`, with no name and no
    /// expiry. Unit's ids are digit strings (`"42"`), Mailtrap's integers:
    /// pass their decimal form (`"12345"`, or `id.to_string()`).
    pub fn new(service: Service, id: impl Into<String>) -> Self {
        Self {
            service,
            id: id.into(),
            name: None,
            expires_at: None,
            attributes: BTreeMap::new(),
        }
    }

    /// Sets the token's name (Mailtrap) or description (Unit), whole, as the
    /// service shows it: [`name`](SecretMeta::name) gives it back without
    /// the marker, [`full_name`](SecretMeta::full_name) as given.
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets when the token expires; `None` for a token that never expires or
    /// whose expiry is unknown.
    #[must_use]
    pub fn with_expires_at(mut self, expires_at: impl Into<Option<DateTime<Utc>>>) -> Self {
        self.expires_at = expires_at.into();
        self
    }

    /// The service the token lives on.
    pub fn service(&self) -> Service {
        self.service
    }

    /// The token's id on its service, in decimal.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The token's label, when known: its name (Mailtrap) or description
    /// (Unit) without the [marker](crate::lifecycle::Marker) that this
    /// crate's creates and rotations end it with, nor the new ids that
    /// Mailtrap's resets append after a marker. It stays the same across
    /// rotations of one token, so a store may key the secret by it. A name
    /// that carries no valid marker is given back whole (trimmed).
    ///
    /// ```
    /// use api_tokens::Service;
    /// use api_tokens::lifecycle::Marker;
    /// use api_tokens::lifecycle::sink::SecretMeta;
    ///
    /// let first = Marker::new().tag("CI deploy");
    /// let second = Marker::replacing("41").tag("CI deploy");
    /// let reset = format!("{second} 12350");
    /// for name in [first, second, reset] {
    ///     let meta = SecretMeta::new(Service::Mailtrap, "12350").with_name(name);
    ///     assert_eq!(meta.name(), Some("CI deploy"));
    /// }
    /// ```
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref().map(Marker::label_through_resets)
    }

    /// The token's name (Mailtrap) or description (Unit) as the service
    /// shows it, marker included, when known.
    pub fn full_name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// When the token expires; `None` when it never does or it is unknown.
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.expires_at
    }

    /// Adds what a store may keep beside the secret so that the token can
    /// be minted again from its record: a rotation of a Unit token sets
    /// `user_id` (a string), `scopes` (an array of strings), `source_ips`
    /// (an array of strings) and `lifetime_secs` (a number). None of it is
    /// secret; a sink that keeps only the secret ignores it.
    ///
    /// ```
    /// use api_tokens::Service;
    /// use api_tokens::lifecycle::sink::SecretMeta;
    ///
    /// let meta = SecretMeta::new(Service::Unit, "42").with_attribute("user_id", "2");
    /// assert_eq!(meta.attribute("user_id"), Some(&serde_json::json!("2")));
    /// ```
    #[must_use]
    pub fn with_attribute(
        mut self,
        key: impl Into<String>,
        value: impl Into<serde_json::Value>,
    ) -> Self {
        self.attributes.insert(key.into(), value.into());
        self
    }

    /// One attribute set with [`SecretMeta::with_attribute`].
    pub fn attribute(&self, key: &str) -> Option<&serde_json::Value> {
        self.attributes.get(key)
    }

    /// Every attribute set with [`SecretMeta::with_attribute`], by key.
    pub fn attributes(&self) -> &BTreeMap<String, serde_json::Value> {
        &self.attributes
    }
}

/// The step of a file sink's write that failed (see [`SinkError::Io`]).
///
/// Every step before [`WriteStep::Rename`] leaves the target file as it was;
/// after [`WriteStep::SyncDirectory`] fails, the target already holds the new
/// secret (see [`SinkError::secret_written`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WriteStep {
    /// Following a symbolic link at the path, or finding the file's name
    /// and directory.
    Resolve,
    /// Taking the write lock of the file (a lock file `.NAME.lock` beside
    /// it), which the writers of one file take in turn.
    Lock,
    /// Reading the current file (the env-file sink edits it; its check
    /// reads it too).
    Read,
    /// Reading the secret back ([`SecretSink::current`]): the file is not
    /// text, is a directory, or cannot be read.
    ReadSecret,
    /// Creating the temporary file beside the target and setting its mode.
    CreateTemporary,
    /// Writing the temporary file.
    Write,
    /// Flushing the temporary file to the disk (`fsync`).
    Sync,
    /// The test hook run between the write and the rename (feature `testing`).
    #[cfg(feature = "testing")]
    BeforeRename,
    /// Renaming the temporary file over the target.
    Rename,
    /// Flushing the directory, so the rename survives a crash of the machine.
    SyncDirectory,
}

impl fmt::Display for WriteStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WriteStep::Resolve => "resolve the path",
            WriteStep::Lock => "lock the lock file of",
            WriteStep::Read => "read",
            WriteStep::ReadSecret => "read the secret in",
            WriteStep::CreateTemporary => "create a temporary file beside",
            WriteStep::Write => "write the temporary file for",
            WriteStep::Sync => "flush the temporary file for",
            #[cfg(feature = "testing")]
            WriteStep::BeforeRename => "run the before-rename hook for",
            WriteStep::Rename => "rename the temporary file over",
            WriteStep::SyncDirectory => "flush the directory of",
        })
    }
}

/// Why a sink could not store a secret.
///
/// No variant holds the secret, and none is built from text that could hold
/// it: a sink's error says which sink failed, where, and why.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SinkError {
    /// A file sink's read, write, sync or rename failed. The I/O error is the
    /// [`source`](std::error::Error::source).
    #[error("{sink} sink could not {step} {}: {source}", path.display())]
    Io {
        /// The sink: `"file"` or `"env-file"`.
        sink: &'static str,
        /// The file the secret was to be written to.
        path: PathBuf,
        /// The step that failed.
        step: WriteStep,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// A writer sink (standard output, [`WriterSink`](super::WriterSink)) could not write or
    /// flush the secret's line.
    #[error("{sink} sink could not write the secret: {source}")]
    Write {
        /// The sink, such as `"standard output"`.
        sink: String,
        /// What the writer said.
        #[source]
        source: io::Error,
    },
    /// An environment variable name was refused before anything was written.
    #[error("invalid environment variable name {var:?}: {reason}")]
    InvalidVar {
        /// The name as given.
        var: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The dotenv file assigns the variable more than once, so no single line
    /// can be replaced; the file was left as it was.
    #[error(
        "env-file sink will not replace {var} in {}: it is assigned on lines {lines:?}; keep one",
        path.display()
    )]
    DuplicateVar {
        /// The dotenv file.
        path: PathBuf,
        /// The variable.
        var: String,
        /// The lines (counted from 1) that assign it.
        lines: Vec<usize>,
    },
    /// The secret holds characters that a dotenv file cannot carry so that
    /// every reader gets them back unchanged; nothing was written.
    #[error("env-file sink cannot write {var} to {}: the secret holds {what}", path.display())]
    Unrepresentable {
        /// The dotenv file.
        path: PathBuf,
        /// The variable.
        var: String,
        /// Which kind of character (never the secret itself).
        what: &'static str,
    },
    /// A sink spec such as `file:PATH` could not be parsed (see [`SinkSpec`](super::SinkSpec)).
    #[error("invalid secret sink: {reason}")]
    InvalidSpec {
        /// What is wrong, and the forms that are accepted.
        reason: String,
    },
    /// Another sink failed (a closure sink, a secrets manager): see
    /// [`SinkError::other`].
    #[error("{sink} sink failed: {source}")]
    Other {
        /// The sink, as it describes itself.
        sink: String,
        /// The sink's own error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A secret store could not be read: it did not answer, refused the
    /// read, or holds something that is not a token record. Nothing was
    /// written. The command line exits 1 ("reading the secret") for it,
    /// where a sink that cannot take a secret at all is a usage error.
    #[error("{sink} could not be read: {source}")]
    Unreadable {
        /// The store, as it describes itself.
        sink: String,
        /// What went wrong (never the secret).
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A store reported a failure that may hide a write that landed (an
    /// answer lost on the way back), and reading it back failed too: it
    /// may hold the new secret. [`secret_written`](SinkError::secret_written)
    /// is true, so that the token is kept: removing it could leave the
    /// store holding the secret of a token that no longer exists. Run the
    /// same rotation again once the store answers: it finds what the store
    /// holds, and converges. Given by
    /// [`store_read_back`](super::store_read_back).
    #[error(
        "{sink} may hold the new secret: the store reported a failure ({source}) and could \
         not be read back"
    )]
    Unconfirmed {
        /// The store, as it describes itself.
        sink: String,
        /// The store's failure (never the secret).
        #[source]
        source: Box<SinkError>,
    },
    /// A store that compares before it sets (a secrets manager's version
    /// labels) found that another writer made a newer secret current since
    /// this run read it. Nothing was made current: the run that gets this
    /// error is superseded and must remove what it minted, not overwrite the
    /// newer secret. See [`SinkError::superseded`].
    #[error("{sink} sink already holds a newer secret{}; this one was not made current", holder_phrase(.holder))]
    Superseded {
        /// The sink, as it describes itself.
        sink: String,
        /// The id of the token whose secret the sink now holds, when the sink
        /// can tell.
        holder: Option<String>,
    },
}

fn holder_phrase(holder: &Option<String>) -> String {
    holder
        .as_deref()
        .map(|id| format!(" (of token {id})"))
        .unwrap_or_default()
}

impl SinkError {
    /// The error of a compare-and-set sink that lost the race: another writer
    /// made the secret of token `holder` (when known) current first.
    ///
    /// ```
    /// use api_tokens::lifecycle::sink::SinkError;
    ///
    /// let err = SinkError::superseded("secret ci/unit", Some("42".to_owned()));
    /// assert!(err.is_superseded());
    /// assert_eq!(err.holder(), Some("42"));
    /// ```
    pub fn superseded(sink: impl Into<String>, holder: Option<String>) -> Self {
        SinkError::Superseded {
            sink: sink.into(),
            holder,
        }
    }

    /// Whether another writer stored a newer secret first
    /// ([`SinkError::Superseded`]).
    pub fn is_superseded(&self) -> bool {
        matches!(self, SinkError::Superseded { .. })
    }

    /// For [`SinkError::Superseded`], the token whose secret the sink holds
    /// now, when the sink can tell.
    pub fn holder(&self) -> Option<&str> {
        match self {
            SinkError::Superseded { holder, .. } => holder.as_deref(),
            _ => None,
        }
    }

    /// The error of a sink outside this crate: `sink` names it (`"vault"`),
    /// `source` says what went wrong. Neither may hold the secret.
    ///
    /// ```
    /// use api_tokens::lifecycle::sink::SinkError;
    ///
    /// let err = SinkError::other("vault", "the mount `kv/` is sealed");
    /// assert_eq!(err.to_string(), "vault sink failed: the mount `kv/` is sealed");
    /// ```
    pub fn other(
        sink: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        SinkError::Other {
            sink: sink.into(),
            source: source.into(),
        }
    }

    /// Whether the secret is (or may be) in place despite the error: a file
    /// sink renamed the new file over the target, and only flushing the
    /// directory failed (readers see the new secret, which a crash of the
    /// machine might still undo); or a store that may hold it
    /// ([`SinkError::Unconfirmed`]): the token is kept either way. False for
    /// every other error; after those, this crate's sinks leave the target
    /// as it was.
    pub fn secret_written(&self) -> bool {
        matches!(
            self,
            SinkError::Io {
                step: WriteStep::SyncDirectory,
                ..
            } | SinkError::Unconfirmed { .. }
        )
    }
}

/// Where a new secret goes: a file, a dotenv line, a secrets manager.
///
/// Object-safe (`Box<dyn SecretSink>`, `Arc<dyn SecretSink>`), `Send` and
/// `Sync`. Implement it with [`#[async_trait]`](macro@async_trait), which this
/// module re-exports. Whatever derefs to a sink (`Box`, `Arc`, a reference,
/// …) is a sink too, the sink it points to; so a type of yours that
/// implements [`Deref`] is a sink through its target, not by an impl of its
/// own.
///
/// A sink should store the secret completely or not at all (see
/// [`FileSink`](super::FileSink)), and its errors must not hold the secret.
///
/// # Plugging in a secrets manager
///
/// A sink for AWS Secrets Manager, Vault or a Kubernetes secret needs only
/// this trait. Here a map stands in for the manager:
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Mutex;
///
/// use api_tokens::Service;
/// use api_tokens::lifecycle::Marker;
/// use api_tokens::lifecycle::sink::{SecretMeta, SecretSink, SinkError, async_trait};
/// use secrecy::{ExposeSecret, SecretString};
///
/// /// Secrets by path, as a key-value secrets engine keeps them.
/// #[derive(Default)]
/// struct KvStore {
///     secrets: Mutex<HashMap<String, SecretString>>,
/// }
///
/// #[async_trait]
/// impl SecretSink for KvStore {
///     async fn store(&self, secret: &SecretString, meta: &SecretMeta) -> Result<(), SinkError> {
///         // The label without the marker: one key for every rotation of the token.
///         let path = format!("tokens/{}/{}", meta.service(), meta.name().unwrap_or(meta.id()));
///         let mut secrets =
///             self.secrets.lock().map_err(|_| SinkError::other("kv", "the store is poisoned"))?;
///         secrets.insert(path, secret.clone());
///         Ok(())
///     }
///
///     fn describe(&self) -> String {
///         "the key-value store".to_owned()
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), SinkError> {
/// let store = KvStore::default();
/// let sink: &dyn SecretSink = &store;
/// // Two rotations of one token: each new token's description carries a new
/// // marker, and its secret replaces the last one under the same key.
/// let first = SecretMeta::new(Service::Unit, "42").with_name(Marker::replacing("41").tag("ci"));
/// sink.store(&SecretString::from("v2.public.abc"), &first).await?;
/// let second = SecretMeta::new(Service::Unit, "43").with_name(Marker::replacing("42").tag("ci"));
/// sink.store(&SecretString::from("v2.public.def"), &second).await?;
///
/// let secrets = store.secrets.lock().unwrap();
/// assert_eq!(secrets.len(), 1);
/// assert_eq!(secrets["tokens/Unit/ci"].expose_secret(), "v2.public.def");
/// # Ok(()) }
/// ```
#[async_trait]
pub trait SecretSink: Send + Sync {
    /// Stores `secret`, the value of the token `meta` describes.
    ///
    /// # Errors
    ///
    /// Whatever kept the sink from storing the secret, as a [`SinkError`]
    /// that does not hold it. Unless [`SinkError::secret_written`] says
    /// otherwise, the place the sink writes to is as it was before the call.
    async fn store(&self, secret: &SecretString, meta: &SecretMeta) -> Result<(), SinkError>;

    /// Checks what can be checked before anything is minted, so that a
    /// sink that cannot take the secret fails before a token exists that
    /// nobody would hold: a file sink's directory, a dotenv file's single
    /// assignment of the variable. The default checks nothing.
    ///
    /// # Errors
    ///
    /// The [`SinkError`] that storing would certainly meet.
    async fn check(&self) -> Result<(), SinkError> {
        Ok(())
    }

    /// The secret the sink holds now, when it can read it back (a file can,
    /// standard output cannot): a rotation that finds its work done by
    /// another run uses it to tell whether this sink already holds the
    /// replacement's secret. The default is `Ok(None)`: unknown.
    ///
    /// # Errors
    ///
    /// A [`SinkError`] when the sink could be read but failed.
    async fn current(&self) -> Result<Option<SecretString>, SinkError> {
        Ok(None)
    }

    /// What the record the sink holds now says of its token (service, id,
    /// name, expiry and the attributes a rotation needs, never the
    /// secret), for a store that keeps records: `Ok(None)` when it holds
    /// none. A response to a leak reads it before anything is touched, so
    /// that a replacement never takes the place of another live token's
    /// record, and a Unit replacement gets the scopes its record keeps.
    /// The default is `Ok(None)`: a sink that keeps only the secret.
    ///
    /// # Errors
    ///
    /// A [`SinkError`] when the store could not be read or its current
    /// value is not a record.
    async fn current_meta(&self) -> Result<Option<SecretMeta>, SinkError> {
        Ok(None)
    }

    /// Where this sink puts secrets, for messages (`"file /etc/ci/token"`).
    /// Never the secret.
    fn describe(&self) -> String {
        "a secret sink".to_owned()
    }

    /// The lock every rotation writing this sink holds from before its
    /// mint until it ends, with the tag its marker names the sink by
    /// ([`WriterLock`](super::lock::WriterLock)): so that a rotation run again
    /// after one that died tells the dead run's token from a live run's at
    /// once. The file sinks give one; the default is `None`, for a sink
    /// that writes no place on this machine, and rotations into it wait
    /// for the lease to tell a dead run's token.
    fn writer_lock(&self) -> Option<super::lock::WriterLock> {
        None
    }
}

/// A pointer to a sink (`Box`, `Arc`, `&`, …) is the sink it points to:
/// every method forwards to `**self`, so a boxed, shared or borrowed sink
/// behaves exactly as the sink itself.
#[async_trait]
impl<P> SecretSink for P
where
    P: Deref + Send + Sync,
    P::Target: SecretSink,
{
    async fn store(&self, secret: &SecretString, meta: &SecretMeta) -> Result<(), SinkError> {
        (**self).store(secret, meta).await
    }

    async fn check(&self) -> Result<(), SinkError> {
        (**self).check().await
    }

    async fn current(&self) -> Result<Option<SecretString>, SinkError> {
        (**self).current().await
    }

    async fn current_meta(&self) -> Result<Option<SecretMeta>, SinkError> {
        (**self).current_meta().await
    }

    fn describe(&self) -> String {
        (**self).describe()
    }

    fn writer_lock(&self) -> Option<super::lock::WriterLock> {
        (**self).writer_lock()
    }
}
