//! [`EnvFileSink`]: one `VAR=value` line of a dotenv file.

use std::fmt;
use std::fs::File;
use std::io::{self, Read as _};
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::atomic::{AtomicWrite, FILE_MODE, file_mode, run_blocking};
use super::dotenv::{check_var, dotenv_value, find_var, set_var};
use super::file::{check_target, read_if_present};
use super::secret_sink::{SecretMeta, SecretSink, SinkError, WriteStep, async_trait};

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
///   file keeps its mode, since other programs may read the file under
///   its group. When that mode lets the group or others read it, the store
///   logs a warning (`tracing`, level `WARN`, target
///   `api_tokens::sink::exposure`) naming
///   the file and its mode, never the secret; `chmod 600` the file to keep
///   the secret to its owner. The write is atomic as [`FileSink`](super::FileSink)'s is.
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
/// The file is read, edited and replaced under an advisory lock on a lock
/// file beside it (`.NAME.lock`, mode 0600, left in place), which every
/// writer of the file takes in turn, in this process or in another, and
/// which the kernel releases when its holder dies: two sinks that set
/// different variables of one file at the same moment both find their line
/// in it. A program that edits the file without taking the lock is not
/// held back.
///
/// [`check`](SecretSink::check) refuses before anything is minted what
/// [`FileSink`](super::FileSink)'s check refuses, an existing file that
/// cannot be read, and one that assigns the variable more than once.
/// [`current`](SecretSink::current) reads the variable's value back,
/// unquoted as the sink writes it (bare, in single quotes, or in double
/// quotes where `\"` and `\\` stand for `"` and `\`); `None` when the file
/// or the assignment is absent, or when the value is in double quotes with
/// a `$` or a backtick, which readers expand differently.
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
    write: AtomicWrite,
}

impl fmt::Debug for EnvFileSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        AtomicWrite::debug_sink(f, "EnvFileSink", &self.path, "var", &self.var)
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
            write: AtomicWrite::unhooked("env-file"),
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
}

#[cfg(feature = "testing")]
impl super::atomic::BeforeRename for EnvFileSink {
    fn atomic_write(&mut self) -> &mut AtomicWrite {
        &mut self.write
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
        let (path, var, write) = (self.path.clone(), self.var.clone(), self.write.clone());
        run_blocking(write.sink, move || {
            let target = write.resolve(&path)?;
            // Read, edit and replace under the lock: another writer's line,
            // stored while this one read, is in what this one reads.
            write.locked(&target, || edit(&write, &target, &var, &value))
        })
        .await
    }

    async fn check(&self) -> Result<(), SinkError> {
        let (path, var) = (self.path.clone(), self.var.clone());
        run_blocking("env-file", move || {
            let write = AtomicWrite::unhooked("env-file");
            let target = check_target(&write, &path)?;
            let Some(text) = read_if_present(&write, &target, WriteStep::Read)? else {
                return Ok(());
            };
            find_var(&text, &var)
                .map(drop)
                .map_err(|lines| duplicate_var(&target, &var, lines))
        })
        .await
    }

    async fn current(&self) -> Result<Option<SecretString>, SinkError> {
        let (path, var) = (self.path.clone(), self.var.clone());
        run_blocking("env-file", move || {
            let write = AtomicWrite::unhooked("env-file");
            let Some(text) = read_if_present(&write, &path, WriteStep::ReadSecret)? else {
                return Ok(None);
            };
            let at = find_var(&text, &var).map_err(|lines| duplicate_var(&path, &var, lines))?;
            let Some(at) = at else {
                return Ok(None);
            };
            let Ok(value) = std::str::from_utf8(&text[at]) else {
                return Err(write.not_text(&path, format!("the value of {var} is not UTF-8 text")));
            };
            Ok(unquote(value))
        })
        .await
    }

    fn describe(&self) -> String {
        format!("{} in env file {}", self.var, self.path.display())
    }

    /// `.NAME.VAR.writer.lock` beside the file: rotations of different
    /// variables of one file are not rivals (see [`WriterLock`](super::lock::WriterLock)).
    fn writer_lock(&self) -> Option<super::lock::WriterLock> {
        let suffix = format!(".{}.writer.lock", self.var);
        super::lock::file_writer_lock(&self.path, "env-file", &self.var, &suffix)
    }
}

/// Sets `var` to `value` in the dotenv file `target`: reads it (a file that
/// does not exist is empty, mode 0600), replaces or appends the variable's
/// line, and replaces the file, keeping its mode. The caller holds the
/// file's write lock.
fn edit(write: &AtomicWrite, target: &Path, var: &str, value: &str) -> Result<(), SinkError> {
    let (old, mode) = match File::open(target) {
        Ok(mut file) => {
            let (mode, len) =
                file_mode(&file).map_err(|e| write.error(target, WriteStep::Read, e))?;
            // Sized up front: a growing buffer would leave copies of
            // the file's other secrets behind in freed memory.
            let mut old = Zeroizing::new(Vec::with_capacity(len.saturating_add(1)));
            file.read_to_end(&mut old)
                .map_err(|e| write.error(target, WriteStep::Read, e))?;
            if mode & 0o077 != 0 {
                tracing::warn!(
                    target: "api_tokens::sink::exposure",
                    path = %target.display(),
                    mode = %format_args!("{mode:04o}"),
                    "the env file that receives a secret is readable by its group or \
                     others; its mode is kept"
                );
            }
            (old, mode)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => (Zeroizing::new(Vec::new()), FILE_MODE),
        Err(e) => return Err(write.error(target, WriteStep::Read, e)),
    };
    let new =
        set_var(&old, var, value.as_bytes()).map_err(|lines| duplicate_var(target, var, lines))?;
    write.replace(target, &new, mode)
}

/// A dotenv value as the sink writes it, read back: bare (trailing blanks
/// dropped), in single quotes (taken as is), or in double quotes (`\"`
/// and `\\` unescaped). `None` for a quote never closed, and for a
/// double-quoted value holding `$` or a backtick, which readers expand
/// differently.
fn unquote(value: &str) -> Option<SecretString> {
    if let Some(inner) = value.strip_prefix('\'') {
        return inner.strip_suffix('\'').map(SecretString::from);
    }
    if let Some(inner) = value.strip_prefix('"') {
        let inner = inner.strip_suffix('"')?;
        if inner.contains(['$', '`']) {
            return None;
        }
        if !inner.contains('\\') {
            return Some(SecretString::from(inner));
        }
        let mut out = Zeroizing::new(String::with_capacity(inner.len()));
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            match (c, chars.clone().next()) {
                ('\\', Some(next @ ('"' | '\\'))) => {
                    out.push(next);
                    chars.next();
                }
                _ => out.push(c),
            }
        }
        return Some(SecretString::from(out.as_str()));
    }
    Some(SecretString::from(value.trim_end_matches([' ', '\t'])))
}

/// The error for a dotenv file at `path` that assigns `var` on more than
/// one of `lines`.
fn duplicate_var(path: &Path, var: &str, lines: Vec<usize>) -> SinkError {
    SinkError::DuplicateVar {
        path: path.to_path_buf(),
        var: var.to_owned(),
        lines,
    }
}
