//! Where a newly minted token's secret goes: straight from the answer that
//! carried it to the place it lives.
//!
//! A [`SecretSink`] receives the [`SecretString`] and a [`SecretMeta`] (which
//! service, which token, its name and expiry) and stores the secret. The
//! crate ships:
//!
//! | sink | stores the secret in | spec (`--secret-to`) |
//! | --- | --- | --- |
//! | [`FileSink`] | a file of its own, mode 0600, replaced atomically | `file:PATH` |
//! | [`EnvFileSink`] | one `VAR=value` line of a dotenv file, replaced atomically | `env-file:PATH:VAR` |
//! | [`StdoutSink`] | standard output, one line | `-` |
//! | [`WriterSink`] | any [`AsyncWrite`], one line | |
//! | [`FnSink`] | whatever a closure, made by [`from_fn`], does with it | |
//!
//! The last column is the [`SinkSpec`] form the command line's `--secret-to`
//! takes. Sinks for a secrets manager (AWS Secrets Manager, Vault, a
//! Kubernetes secret) implement the trait in their own crate: see
//! [`SecretSink`] for one sketched.
//!
//! ```
//! use api_tokens::Service;
//! use api_tokens::lifecycle::sink::{FileSink, SecretMeta, SecretSink};
//! use secrecy::SecretString;
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! let path = dir.path().join("deploy.token");
//!
//! let sink = FileSink::new(&path);
//! let meta = SecretMeta::new(Service::Mailtrap, "12345").with_name("CI deploy");
//! sink.store(&SecretString::from("a1b2c3"), &meta).await?;
//! assert_eq!(std::fs::read_to_string(&path)?, "a1b2c3\n");
//! # Ok(()) }
//! ```

use std::fmt;
use std::fs::{self, File};
use std::future::Future;
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use zeroize::Zeroizing;

use crate::Service;

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
/// use api_tokens::lifecycle::sink::SecretMeta;
/// use chrono::{TimeZone, Utc};
///
/// let expiry = Utc.with_ymd_and_hms(2027, 1, 31, 12, 0, 0).unwrap();
/// let meta = SecretMeta::new(Service::Unit, "42")
///     .with_name("CI deploy")
///     .with_expires_at(expiry);
/// assert_eq!(meta.service(), Service::Unit);
/// assert_eq!(meta.id(), "42");
/// assert_eq!(meta.name(), Some("CI deploy"));
/// assert_eq!(meta.expires_at(), Some(expiry));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SecretMeta {
    service: Service,
    id: String,
    name: Option<String>,
    expires_at: Option<DateTime<Utc>>,
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
        }
    }

    /// Sets the token's name (Mailtrap) or description (Unit).
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

    /// The token's name (Mailtrap) or description (Unit), when known.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// When the token expires; `None` when it never does or it is unknown.
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.expires_at
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
    /// Reading the current file (the env-file sink edits it).
    Read,
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
            WriteStep::Read => "read",
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
    /// A writer sink (standard output, [`WriterSink`]) could not write or
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
    /// A sink spec such as `file:PATH` could not be parsed (see [`SinkSpec`]).
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
}

impl SinkError {
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

    /// Whether the secret is in place despite the error: a file sink renamed
    /// the new file over the target, and only flushing the directory failed.
    /// Readers see the new secret, which a crash of the machine might still
    /// undo. False for every other error; after those, this crate's sinks
    /// leave the target as it was.
    pub fn secret_written(&self) -> bool {
        matches!(
            self,
            SinkError::Io {
                step: WriteStep::SyncDirectory,
                ..
            }
        )
    }
}

/// Where a new secret goes: a file, a dotenv line, a secrets manager.
///
/// Object-safe (`Box<dyn SecretSink>`, `Arc<dyn SecretSink>`), `Send` and
/// `Sync`. Implement it with [`#[async_trait]`](macro@async_trait), which this
/// module re-exports. `Box`, `Arc` and references of a sink are sinks too.
///
/// A sink should store the secret completely or not at all (see
/// [`FileSink`]), and its errors must not hold the secret.
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
/// let meta = SecretMeta::new(Service::Unit, "42").with_name("ci");
/// sink.store(&SecretString::from("v2.public.abc"), &meta).await?;
///
/// let secrets = store.secrets.lock().unwrap();
/// assert_eq!(secrets["tokens/Unit/ci"].expose_secret(), "v2.public.abc");
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

    /// Where this sink puts secrets, for messages (`"file /etc/ci/token"`).
    /// Never the secret.
    fn describe(&self) -> String {
        "a secret sink".to_owned()
    }
}

#[async_trait]
impl<S: SecretSink + ?Sized> SecretSink for Box<S> {
    async fn store(&self, secret: &SecretString, meta: &SecretMeta) -> Result<(), SinkError> {
        (**self).store(secret, meta).await
    }

    fn describe(&self) -> String {
        (**self).describe()
    }
}

#[async_trait]
impl<S: SecretSink + ?Sized> SecretSink for Arc<S> {
    async fn store(&self, secret: &SecretString, meta: &SecretMeta) -> Result<(), SinkError> {
        (**self).store(secret, meta).await
    }

    fn describe(&self) -> String {
        (**self).describe()
    }
}

#[async_trait]
impl<S: SecretSink + ?Sized> SecretSink for &S {
    async fn store(&self, secret: &SecretString, meta: &SecretMeta) -> Result<(), SinkError> {
        (**self).store(secret, meta).await
    }

    fn describe(&self) -> String {
        (**self).describe()
    }
}

/// A function run between a file sink's write and its rename (feature
/// `testing`): its error aborts the write as an I/O failure would.
#[cfg(feature = "testing")]
type Hook = Arc<dyn Fn(&Path) -> io::Result<()> + Send + Sync>;

/// Stores the secret alone in a file, mode 0600 on Unix, replaced atomically.
///
/// The file holds the secret followed by one newline (`\n`), as text files
/// end and as the command line's `--token-file` reads it back (it strips one
/// trailing newline); [`FileSink::trailing_newline`] turns the newline off.
///
/// # Atomic replacement
///
/// The secret is written to a temporary file created in the target's
/// directory with mode 0600 (never wider, at no moment), flushed to the disk,
/// renamed over the target, and the directory is flushed too. A reader sees
/// the old file or the new one, never a part of either; if anything fails
/// before the rename the old file is untouched and the temporary file is
/// removed. An existing file's mode is not kept: the new file is 0600. A
/// symbolic link at the path is followed: the file it points to is replaced,
/// the link stays (a link to nothing is an error, [`WriteStep::Resolve`]).
///
/// The file work runs on Tokio's blocking threads when a Tokio runtime is
/// running (in place otherwise). Once it has started, dropping the
/// `store` future does not stop it: the file is still replaced whole, or not
/// at all.
///
/// On other systems than Unix the file gets the directory's default
/// permissions.
///
/// ```
/// use api_tokens::Service;
/// use api_tokens::lifecycle::sink::{FileSink, SecretMeta, SecretSink};
/// use secrecy::SecretString;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("unit.token");
/// let sink = FileSink::new(&path);
/// sink.store(&SecretString::from("v2.public.abc"), &SecretMeta::new(Service::Unit, "42")).await?;
/// assert_eq!(std::fs::read_to_string(&path)?, "v2.public.abc\n");
///
/// #[cfg(unix)]
/// {
///     use std::os::unix::fs::PermissionsExt;
///     assert_eq!(std::fs::metadata(&path)?.permissions().mode() & 0o777, 0o600);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct FileSink {
    path: PathBuf,
    trailing_newline: bool,
    #[cfg(feature = "testing")]
    hook: Option<Hook>,
}

impl fmt::Debug for FileSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileSink")
            .field("path", &self.path)
            .field("trailing_newline", &self.trailing_newline)
            .finish_non_exhaustive()
    }
}

impl FileSink {
    /// A sink that writes the secret to `path`. Nothing is checked or
    /// written until [`store`](SecretSink::store).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            trailing_newline: true,
            #[cfg(feature = "testing")]
            hook: None,
        }
    }

    /// Whether the secret is followed by a newline (`\n`); true by default.
    #[must_use]
    pub fn trailing_newline(mut self, yes: bool) -> Self {
        self.trailing_newline = yes;
        self
    }

    /// The file the secret is written to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `hook` with the temporary file's path after it was written and
    /// flushed, just before the rename. An error from it fails the store as
    /// an I/O error would at that point ([`WriteStep::BeforeRename`]), which
    /// lets a test prove that the old file survives such a failure.
    #[cfg(feature = "testing")]
    #[must_use]
    pub fn before_rename(
        mut self,
        hook: impl Fn(&Path) -> io::Result<()> + Send + Sync + 'static,
    ) -> Self {
        self.hook = Some(Arc::new(hook));
        self
    }
}

#[async_trait]
impl SecretSink for FileSink {
    async fn store(&self, secret: &SecretString, _meta: &SecretMeta) -> Result<(), SinkError> {
        let value = secret.expose_secret().as_bytes();
        let mut contents = Zeroizing::new(Vec::with_capacity(value.len() + 1));
        contents.extend_from_slice(value);
        if self.trailing_newline {
            contents.push(b'\n');
        }
        let path = self.path.clone();
        let write = AtomicWrite {
            sink: "file",
            #[cfg(feature = "testing")]
            hook: self.hook.clone(),
        };
        run_blocking("file", move || {
            let target = write.resolve(&path)?;
            write.replace(&target, &contents, FILE_MODE)
        })
        .await
    }

    fn describe(&self) -> String {
        format!("file {}", self.path.display())
    }
}

/// Replaces one `VAR=value` line of a dotenv file, atomically, leaving every
/// other byte of the file as it was.
///
/// - The line that assigns the variable (`VAR=…`, `export VAR=…`, with
///   spaces around `=` or not) keeps everything but its value: its prefix,
///   a trailing ` # comment`, its line ending (`\n` or `\r\n`). A quoted
///   value that spans several lines is replaced whole.
/// - Every other line is kept byte for byte: comments, blank lines, line
///   endings, bytes that are not UTF-8, a missing newline at the end.
/// - When the variable is absent its line is appended, ending with the
///   file's line ending (`\r\n` if its first line ends so); a missing newline
///   at the end of the last line is then supplied, as the two lines would
///   merge otherwise.
/// - A file that does not exist is created, mode 0600 on Unix; an existing
///   file keeps its mode. The write is atomic as [`FileSink`]'s is.
/// - A variable assigned on more than one line is refused
///   ([`SinkError::DuplicateVar`]): which one a reader takes differs.
///
/// The value is written bare when it holds only ASCII letters, digits and
/// `_-.+/=:@,%` (every token secret of both services); otherwise in single
/// quotes, or in double quotes when it holds a single quote, so that dotenv
/// readers and shells read it back unchanged. A secret that fits neither
/// (control characters, a single quote together with `"`, `\`, `$` or a
/// backtick) is refused ([`SinkError::Unrepresentable`]).
///
/// The file is read, edited and replaced in one go: a process that writes
/// the same file at the same moment may lose its change.
///
/// ```
/// use api_tokens::Service;
/// use api_tokens::lifecycle::sink::{EnvFileSink, SecretMeta, SecretSink};
/// use secrecy::SecretString;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join(".env");
/// std::fs::write(&path, "# deploy settings\r\nREGION=eu\r\nexport MAILTRAP_API_TOKEN=old # rotated monthly\r\n")?;
///
/// let sink = EnvFileSink::new(&path, "MAILTRAP_API_TOKEN")?;
/// sink.store(&SecretString::from("a1b2c3"), &SecretMeta::new(Service::Mailtrap, "7")).await?;
/// assert_eq!(
///     std::fs::read_to_string(&path)?,
///     "# deploy settings\r\nREGION=eu\r\nexport MAILTRAP_API_TOKEN=a1b2c3 # rotated monthly\r\n"
/// );
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct EnvFileSink {
    path: PathBuf,
    var: String,
    #[cfg(feature = "testing")]
    hook: Option<Hook>,
}

impl fmt::Debug for EnvFileSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnvFileSink")
            .field("path", &self.path)
            .field("var", &self.var)
            .finish_non_exhaustive()
    }
}

impl EnvFileSink {
    /// A sink that sets `var` in the dotenv file at `path`.
    ///
    /// # Errors
    ///
    /// [`SinkError::InvalidVar`] unless `var` is a portable environment
    /// variable name: ASCII letters, digits and `_`, not starting with a
    /// digit.
    ///
    /// ```
    /// use api_tokens::lifecycle::sink::{EnvFileSink, SinkError};
    ///
    /// assert!(EnvFileSink::new(".env", "UNIT_API_TOKEN").is_ok());
    /// assert!(matches!(EnvFileSink::new(".env", "UNIT-TOKEN"), Err(SinkError::InvalidVar { .. })));
    /// ```
    pub fn new(path: impl Into<PathBuf>, var: impl Into<String>) -> Result<Self, SinkError> {
        let var = var.into();
        if let Err(reason) = check_var(&var) {
            return Err(SinkError::InvalidVar { var, reason });
        }
        Ok(Self {
            path: path.into(),
            var,
            #[cfg(feature = "testing")]
            hook: None,
        })
    }

    /// The dotenv file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The variable whose line is replaced.
    pub fn var(&self) -> &str {
        &self.var
    }

    /// Runs `hook` with the temporary file's path after it was written and
    /// flushed, just before the rename; see [`FileSink::before_rename`].
    #[cfg(feature = "testing")]
    #[must_use]
    pub fn before_rename(
        mut self,
        hook: impl Fn(&Path) -> io::Result<()> + Send + Sync + 'static,
    ) -> Self {
        self.hook = Some(Arc::new(hook));
        self
    }
}

#[async_trait]
impl SecretSink for EnvFileSink {
    async fn store(&self, secret: &SecretString, _meta: &SecretMeta) -> Result<(), SinkError> {
        let value =
            dotenv_value(secret.expose_secret()).map_err(|what| SinkError::Unrepresentable {
                path: self.path.clone(),
                var: self.var.clone(),
                what,
            })?;
        let (path, var) = (self.path.clone(), self.var.clone());
        let write = AtomicWrite {
            sink: "env-file",
            #[cfg(feature = "testing")]
            hook: self.hook.clone(),
        };
        run_blocking("env-file", move || {
            let target = write.resolve(&path)?;
            let (old, mode) = match File::open(&target) {
                Ok(mut file) => {
                    let (mode, len) =
                        file_mode(&file).map_err(|e| write.error(&target, WriteStep::Read, e))?;
                    // Sized up front: a growing buffer would leave copies of
                    // the file's other secrets behind in freed memory.
                    let mut old = Zeroizing::new(Vec::with_capacity(len.saturating_add(1)));
                    file.read_to_end(&mut old)
                        .map_err(|e| write.error(&target, WriteStep::Read, e))?;
                    (old, mode)
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    (Zeroizing::new(Vec::new()), FILE_MODE)
                }
                Err(e) => return Err(write.error(&target, WriteStep::Read, e)),
            };
            let new =
                set_var(&old, &var, value.as_bytes()).map_err(|lines| SinkError::DuplicateVar {
                    path: target.clone(),
                    var: var.clone(),
                    lines,
                })?;
            write.replace(&target, &new, mode)
        })
        .await
    }

    fn describe(&self) -> String {
        format!("{} in env file {}", self.var, self.path.display())
    }
}

/// Writes the secret and a newline to standard output, and flushes it: the
/// command line's `--secret-to -`, the one way a secret reaches a terminal.
///
/// Stores from several tasks are serialized, each line whole. Nothing but
/// the secret's line is written: metadata belongs on standard error or in a
/// report.
#[derive(Debug, Clone, Copy, Default)]
pub struct StdoutSink;

#[async_trait]
impl SecretSink for StdoutSink {
    async fn store(&self, secret: &SecretString, _meta: &SecretMeta) -> Result<(), SinkError> {
        // Stores from several tasks must not interleave their bytes.
        static STDOUT: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
        let _line = STDOUT.lock().await;
        write_line(&mut tokio::io::stdout(), secret)
            .await
            .map_err(|source| SinkError::Write {
                sink: "standard output".to_owned(),
                source,
            })
    }

    fn describe(&self) -> String {
        "standard output".to_owned()
    }
}

/// Writes the secret and a newline to any [`AsyncWrite`] (a pipe, a socket,
/// a buffer in a test), and flushes it. Stores from several tasks are
/// serialized: each line is whole.
///
/// ```
/// use api_tokens::Service;
/// use api_tokens::lifecycle::sink::{SecretMeta, SecretSink, WriterSink};
/// use secrecy::SecretString;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let sink = WriterSink::new(Vec::new());
/// sink.store(&SecretString::from("a1b2c3"), &SecretMeta::new(Service::Mailtrap, "7")).await?;
/// assert_eq!(sink.into_inner(), b"a1b2c3\n");
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct WriterSink<W> {
    writer: tokio::sync::Mutex<W>,
}

impl<W: AsyncWrite + Unpin + Send> WriterSink<W> {
    /// A sink that writes to `writer`.
    pub fn new(writer: W) -> Self {
        Self {
            writer: tokio::sync::Mutex::new(writer),
        }
    }

    /// The writer back.
    pub fn into_inner(self) -> W {
        self.writer.into_inner()
    }
}

#[async_trait]
impl<W: AsyncWrite + Unpin + Send> SecretSink for WriterSink<W> {
    async fn store(&self, secret: &SecretString, _meta: &SecretMeta) -> Result<(), SinkError> {
        let mut writer = self.writer.lock().await;
        write_line(&mut *writer, secret)
            .await
            .map_err(|source| SinkError::Write {
                sink: "writer".to_owned(),
                source,
            })
    }

    fn describe(&self) -> String {
        "a writer".to_owned()
    }
}

/// The secret, a newline, a flush.
async fn write_line<W: AsyncWrite + Unpin + ?Sized>(
    writer: &mut W,
    secret: &SecretString,
) -> io::Result<()> {
    writer.write_all(secret.expose_secret().as_bytes()).await?;
    writer.write_all(b"\n").await?;
    writer.flush().await
}

/// A sink that runs a closure; made by [`from_fn`].
pub struct FnSink<F> {
    f: F,
}

impl<F> fmt::Debug for FnSink<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnSink").finish_non_exhaustive()
    }
}

/// A sink that hands the secret and its metadata to an async closure: for
/// tests and glue code.
///
/// The closure gets its own copies of the secret and the metadata, so its
/// future can be `async move`.
///
/// ```
/// use std::sync::{Arc, Mutex};
///
/// use api_tokens::Service;
/// use api_tokens::lifecycle::sink::{self, SecretMeta, SecretSink};
/// use secrecy::{ExposeSecret, SecretString};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let received = Arc::new(Mutex::new(Vec::new()));
/// let seen = Arc::clone(&received);
/// let sink = sink::from_fn(move |secret: SecretString, meta: SecretMeta| {
///     let seen = Arc::clone(&seen);
///     async move {
///         seen.lock().unwrap().push((meta.id().to_owned(), secret));
///         Ok(())
///     }
/// });
///
/// sink.store(&SecretString::from("a1b2c3"), &SecretMeta::new(Service::Mailtrap, "7")).await?;
/// let received = received.lock().unwrap();
/// assert_eq!(received[0].0, "7");
/// assert_eq!(received[0].1.expose_secret(), "a1b2c3");
/// # Ok(()) }
/// ```
pub fn from_fn<F, Fut>(f: F) -> FnSink<F>
where
    F: Fn(SecretString, SecretMeta) -> Fut + Send + Sync,
    Fut: Future<Output = Result<(), SinkError>> + Send,
{
    FnSink { f }
}

#[async_trait]
impl<F, Fut> SecretSink for FnSink<F>
where
    F: Fn(SecretString, SecretMeta) -> Fut + Send + Sync,
    Fut: Future<Output = Result<(), SinkError>> + Send,
{
    async fn store(&self, secret: &SecretString, meta: &SecretMeta) -> Result<(), SinkError> {
        (self.f)(secret.clone(), meta.clone()).await
    }

    fn describe(&self) -> String {
        "a closure".to_owned()
    }
}

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
        })
    }
}

/// The forms a spec may take, for error messages.
const SPEC_FORMS: &str = "expected `file:PATH`, `env-file:PATH:VAR` or `-` (standard output)";

impl FromStr for SinkSpec {
    type Err = SinkError;

    /// Parses `file:PATH`, `env-file:PATH:VAR` or `-`.
    ///
    /// # Errors
    ///
    /// [`SinkError::InvalidSpec`] for any other form, an empty path, a
    /// missing or invalid variable name. The error quotes at most a short
    /// unknown kind (`s3` in `s3:…`), never the rest of the spec, which could
    /// be a token pasted by mistake.
    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let invalid = |reason: String| SinkError::InvalidSpec { reason };
        if spec == "-" {
            return Ok(SinkSpec::Stdout);
        }
        if let Some(path) = spec.strip_prefix("file:") {
            if path.is_empty() {
                return Err(invalid(format!("`file:` names no file; {SPEC_FORMS}")));
            }
            return Ok(SinkSpec::File(PathBuf::from(path)));
        }
        if let Some(rest) = spec.strip_prefix("env-file:") {
            let Some((path, var)) = rest.rsplit_once(':') else {
                return Err(invalid(format!(
                    "`env-file:` needs a path and a variable, as in `env-file:.env:UNIT_API_TOKEN`; {SPEC_FORMS}"
                )));
            };
            if path.is_empty() {
                return Err(invalid(format!("`env-file:` names no file; {SPEC_FORMS}")));
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
        let kind = spec.split_once(':').map(|(kind, _)| kind);
        Err(invalid(match kind {
            Some(kind)
                if (1..=16).contains(&kind.len())
                    && kind
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') =>
            {
                format!("unknown kind of sink `{kind}`; {SPEC_FORMS}")
            }
            _ if spec.is_empty() => format!("the sink is empty; {SPEC_FORMS}"),
            _ => SPEC_FORMS.to_owned(),
        }))
    }
}

impl fmt::Display for SinkSpec {
    /// The spec as [`FromStr`] reads it back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SinkSpec::Stdout => f.write_str("-"),
            SinkSpec::File(path) => write!(f, "file:{}", path.display()),
            SinkSpec::EnvFile { path, var } => write!(f, "env-file:{}:{var}", path.display()),
        }
    }
}

// ---------------------------------------------------------------------------
// Atomic replacement of a file.

/// The mode of a file the sinks create.
const FILE_MODE: u32 = 0o600;

/// One sink's way of replacing a file: its name for errors and, in tests,
/// the hook run before the rename.
struct AtomicWrite {
    sink: &'static str,
    #[cfg(feature = "testing")]
    hook: Option<Hook>,
}

impl AtomicWrite {
    fn error(&self, path: &Path, step: WriteStep, source: io::Error) -> SinkError {
        SinkError::Io {
            sink: self.sink,
            path: path.to_path_buf(),
            step,
            source,
        }
    }

    /// The file to replace: `path`, or the file a symbolic link there points
    /// to.
    fn resolve(&self, path: &Path) -> Result<PathBuf, SinkError> {
        match fs::symlink_metadata(path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                fs::canonicalize(path).map_err(|e| self.error(path, WriteStep::Resolve, e))
            }
            _ => Ok(path.to_path_buf()),
        }
    }

    /// Replaces `target` by a file holding `contents` with `mode` (on Unix):
    /// temporary file in the same directory, write, fsync, rename, fsync of
    /// the directory.
    fn replace(&self, target: &Path, contents: &[u8], mode: u32) -> Result<(), SinkError> {
        let fail = |step| move |source| self.error(target, step, source);
        let Some(name) = target.file_name() else {
            return Err(self.error(
                target,
                WriteStep::Resolve,
                io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"),
            ));
        };
        let dir = match target.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        // `.NAME.XXXXXX.tmp`, the name cut to 64 bytes so the whole stays a
        // valid file name.
        let mut prefix = String::from(".");
        for c in name.to_string_lossy().chars() {
            if prefix.len() + c.len_utf8() > 65 {
                break;
            }
            prefix.push(c);
        }
        prefix.push('.');
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".tmp");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(fs::Permissions::from_mode(FILE_MODE));
        }
        let mut temp = builder
            .tempfile_in(dir)
            .map_err(fail(WriteStep::CreateTemporary))?;
        // The umask may have narrowed the mode: set it exactly, before a
        // byte is written.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            temp.as_file()
                .set_permissions(fs::Permissions::from_mode(mode))
                .map_err(fail(WriteStep::CreateTemporary))?;
        }
        #[cfg(not(unix))]
        let _ = mode;
        temp.write_all(contents).map_err(fail(WriteStep::Write))?;
        temp.as_file().sync_all().map_err(fail(WriteStep::Sync))?;
        #[cfg(feature = "testing")]
        if let Some(hook) = &self.hook {
            hook(temp.path()).map_err(fail(WriteStep::BeforeRename))?;
        }
        // On failure the temporary file comes back in the error and is
        // removed when it drops.
        temp.persist(target)
            .map_err(|e| self.error(target, WriteStep::Rename, e.error))?;
        sync_dir(dir).map_err(fail(WriteStep::SyncDirectory))
    }
}

/// Flushes a directory's entries to the disk (Unix; elsewhere a rename is as
/// durable as the system makes it).
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// The permission bits of an open file (0600 where there are none) and its
/// length.
fn file_mode(file: &File) -> io::Result<(u32, usize)> {
    let meta = file.metadata()?;
    let len = usize::try_from(meta.len()).unwrap_or(usize::MAX);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        Ok((meta.permissions().mode() & 0o7777, len))
    }
    #[cfg(not(unix))]
    {
        Ok((FILE_MODE, len))
    }
}

/// Runs blocking file work off the async threads when there is a Tokio
/// runtime, in place otherwise. Once started, the work finishes even if the
/// caller's future is dropped: the rename happens whole or not at all.
async fn run_blocking<F>(sink: &'static str, work: F) -> Result<(), SinkError>
where
    F: FnOnce() -> Result<(), SinkError> + Send + 'static,
{
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => match runtime.spawn_blocking(work).await {
            Ok(result) => result,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(SinkError::other(sink, e)),
        },
        Err(_) => work(),
    }
}

// ---------------------------------------------------------------------------
// Dotenv files.

/// Checks a variable name: `[A-Za-z_][A-Za-z0-9_]*`.
fn check_var(var: &str) -> Result<(), &'static str> {
    let mut bytes = var.bytes();
    match bytes.next() {
        None => Err("it is empty"),
        Some(first) if !(first.is_ascii_alphabetic() || first == b'_') => {
            Err("it must start with an ASCII letter or `_`")
        }
        Some(_) if bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_') => Ok(()),
        Some(_) => Err("it may hold only ASCII letters, digits and `_`"),
    }
}

/// Bytes a value may hold unquoted: no dotenv reader or shell gives them a
/// meaning.
fn is_bare(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"_-.+/=:@,%".contains(&b)
}

/// The value as it is written after `VAR=`: bare, in single quotes, or in
/// double quotes; or what keeps it from being written.
fn dotenv_value(secret: &str) -> Result<Zeroizing<String>, &'static str> {
    if secret.chars().any(char::is_control) {
        return Err("a control character (such as a line break)");
    }
    let quote = if secret.bytes().all(is_bare) {
        None
    } else if !secret.contains(['\'', '\\']) {
        Some('\'')
    } else if !secret.contains(['"', '\\', '$', '`']) {
        Some('"')
    } else {
        return Err(
            "a single quote together with a double quote, `\\`, `$` or a backtick, \
             which no quoting carries unchanged to every dotenv reader",
        );
    };
    let mut value = Zeroizing::new(String::with_capacity(secret.len() + 2));
    value.extend(quote);
    value.push_str(secret);
    value.extend(quote);
    Ok(value)
}

/// One assignment found in a dotenv file.
struct Assignment {
    /// Where its line starts.
    start: usize,
    /// The variable's name.
    name: std::ops::Range<usize>,
    /// The value as written (quotes included), without a trailing comment.
    value: std::ops::Range<usize>,
}

/// The end of the line holding `at`: the index of its `\n`, or the length.
fn line_end(text: &[u8], at: usize) -> usize {
    text[at..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(text.len(), |i| at + i)
}

/// Skips spaces and tabs.
fn skip_blanks(text: &[u8], mut at: usize) -> usize {
    while matches!(text.get(at), Some(b' ' | b'\t')) {
        at += 1;
    }
    at
}

/// Reads `NAME =` at `at`: the name's range and where the value starts.
fn name_and_equals(text: &[u8], at: usize) -> Option<(std::ops::Range<usize>, usize)> {
    let mut end = at;
    while text
        .get(end)
        .is_some_and(|&b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
    {
        end += 1;
    }
    if end == at {
        return None;
    }
    let eq = skip_blanks(text, end);
    (text.get(eq) == Some(&b'=')).then(|| (at..end, skip_blanks(text, eq + 1)))
}

/// Where the value that starts at `start` ends: after its closing quote
/// (which may be lines later), or before ` # comment`, trailing blanks kept
/// in the value, and the line's `\r`.
fn value_end(text: &[u8], start: usize) -> usize {
    let eol = line_end(text, start);
    let content_end = if eol > start && text[eol - 1] == b'\r' {
        eol - 1
    } else {
        eol
    };
    match text.get(start) {
        // `VAR= # comment`: an empty value, then a comment.
        Some(b'#') if start > 0 && matches!(text[start - 1], b' ' | b'\t') => start,
        Some(&quote @ (b'\'' | b'"')) => {
            let mut i = start + 1;
            while i < text.len() {
                match text[i] {
                    b'\\' if quote == b'"' => i += 2,
                    b if b == quote => return i + 1,
                    _ => i += 1,
                }
            }
            // Never closed: the value is the rest of its line.
            content_end
        }
        _ => {
            let line = &text[start..content_end];
            match line
                .windows(2)
                .position(|w| matches!(w[0], b' ' | b'\t') && w[1] == b'#')
            {
                Some(i) => {
                    let mut end = start + i;
                    while end > start && matches!(text[end - 1], b' ' | b'\t') {
                        end -= 1;
                    }
                    end
                }
                None => content_end,
            }
        }
    }
}

/// Every assignment of a dotenv file, in order. A quoted value that spans
/// lines is one assignment, so no line inside it is taken for another.
fn assignments(text: &[u8]) -> Vec<Assignment> {
    let mut found = Vec::new();
    let mut at = 0;
    while at < text.len() {
        let start = at;
        // A byte-order mark, as some editors write, is no part of a name.
        let bom = if start == 0 && text.starts_with(b"\xEF\xBB\xBF") {
            3
        } else {
            0
        };
        let first = skip_blanks(text, start + bom);
        let parsed = text[first..]
            .starts_with(b"export")
            .then(|| {
                let after = first + "export".len();
                let name = skip_blanks(text, after);
                (name > after)
                    .then(|| name_and_equals(text, name))
                    .flatten()
            })
            .flatten()
            .or_else(|| name_and_equals(text, first));
        let next = match parsed {
            Some((name, value_start)) => {
                let end = value_end(text, value_start);
                found.push(Assignment {
                    start,
                    name,
                    value: value_start..end,
                });
                line_end(text, end)
            }
            None => line_end(text, start),
        };
        at = next + 1;
    }
    found
}

/// `text` with `var` set to `value` (already quoted): its one assignment's
/// value replaced, or a line appended. Err: the lines (from 1) of the
/// several assignments of `var`.
fn set_var(text: &[u8], var: &str, value: &[u8]) -> Result<Zeroizing<Vec<u8>>, Vec<usize>> {
    let mine: Vec<Assignment> = assignments(text)
        .into_iter()
        .filter(|a| &text[a.name.clone()] == var.as_bytes())
        .collect();
    let mut out = Zeroizing::new(Vec::with_capacity(text.len() + var.len() + value.len() + 4));
    match mine.as_slice() {
        [] => {
            let eol: &[u8] = match text.iter().position(|&b| b == b'\n') {
                Some(i) if i > 0 && text[i - 1] == b'\r' => b"\r\n",
                _ => b"\n",
            };
            out.extend_from_slice(text);
            if !text.is_empty() && !text.ends_with(b"\n") {
                out.extend_from_slice(eol);
            }
            out.extend_from_slice(var.as_bytes());
            out.push(b'=');
            out.extend_from_slice(value);
            out.extend_from_slice(eol);
        }
        [one] => {
            out.extend_from_slice(&text[..one.value.start]);
            out.extend_from_slice(value);
            if one.value.is_empty() && text.get(one.value.end) == Some(&b'#') {
                // Keeps the comment one: `VAR=x # comment`, not `VAR=x# comment`.
                out.push(b' ');
            }
            out.extend_from_slice(&text[one.value.end..]);
        }
        several => {
            return Err(several
                .iter()
                .map(|a| 1 + text[..a.start].iter().filter(|&&b| b == b'\n').count())
                .collect());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(text: &str, var: &str, value: &str) -> String {
        let value = dotenv_value(value).expect("representable");
        let out = set_var(text.as_bytes(), var, value.as_bytes()).expect("one assignment");
        String::from_utf8(out.to_vec()).expect("utf-8")
    }

    #[test]
    fn replaces_only_the_value() {
        assert_eq!(set("A=1\nB=2\n", "B", "x"), "A=1\nB=x\n");
        assert_eq!(
            set("  export B = 2 # note\n", "B", "x"),
            "  export B = x # note\n"
        );
        assert_eq!(set("B='2' # note\r\n", "B", "x"), "B=x # note\r\n");
        assert_eq!(set("B=2#not-a-comment\n", "B", "x"), "B=x\n");
        assert_eq!(set("B=\nC=3", "B", "x"), "B=x\nC=3");
        assert_eq!(set("export=1\nB=2\n", "export", "x"), "export=x\nB=2\n");
        assert_eq!(set("B= # empty\n", "B", "x"), "B= x # empty\n");
        assert_eq!(set("\u{feff}B=2\r\n", "B", "x"), "\u{feff}B=x\r\n");
    }

    #[test]
    fn a_multi_line_value_is_one_assignment() {
        let text = "A=\"one\nB=inside\n\"\nB=2\n";
        assert_eq!(set(text, "B", "x"), "A=\"one\nB=inside\n\"\nB=x\n");
        assert_eq!(set(text, "A", "x"), "A=x\nB=2\n");
    }

    #[test]
    fn names_match_whole() {
        assert_eq!(
            set("AB=1\nA_=2\n#A=3\n", "A", "x"),
            "AB=1\nA_=2\n#A=3\nA=x\n"
        );
    }

    #[test]
    fn duplicates_are_reported_by_line() {
        let value = dotenv_value("x").expect("bare");
        let err = set_var(b"B=1\n\nexport B=2\n", "B", value.as_bytes()).err();
        assert_eq!(err, Some(vec![1, 3]));
    }

    #[test]
    fn values_are_quoted_when_needed() {
        assert_eq!(
            *dotenv_value("v2.public.a-b_c+d/e=").expect("bare"),
            "v2.public.a-b_c+d/e="
        );
        assert_eq!(*dotenv_value("a b#$\"`").expect("single"), "'a b#$\"`'");
        assert_eq!(*dotenv_value("it's").expect("double"), "\"it's\"");
        assert!(dotenv_value("it's $HOME").is_err());
        assert!(dotenv_value("a\nb").is_err());
        assert_eq!(*dotenv_value("").expect("empty"), "");
    }

    #[test]
    fn var_names() {
        assert!(check_var("UNIT_API_TOKEN").is_ok());
        assert!(check_var("_x1").is_ok());
        for bad in ["", "1A", "A-B", "A B", "A=B", "É"] {
            assert!(check_var(bad).is_err(), "{bad:?}");
        }
    }
}
