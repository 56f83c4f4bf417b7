//! [`FileSink`]: the secret alone in a file of its own.

use std::fmt;
use std::fs;
use std::io::{self, Read as _};
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::atomic::{AtomicWrite, FILE_MODE, run_blocking};
use super::secret_sink::{SecretMeta, SecretSink, SinkError, WriteStep, async_trait};

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
/// the link stays (a link to nothing is an error, [`WriteStep::Resolve`](super::WriteStep::Resolve)).
///
/// Writers of one file take turns: each holds an advisory lock on a lock
/// file beside the target (`.NAME.lock`, mode 0600, left in place) while it
/// writes, in this process or in another; the kernel releases the lock of a
/// process that dies.
///
/// The file work runs on Tokio's blocking threads when a Tokio runtime is
/// running (in place otherwise). Once it has started, dropping the
/// `store` future does not stop it: the file is still replaced whole, or not
/// at all.
///
/// On other systems than Unix the file gets the directory's default
/// permissions.
///
/// # Before the mint, and reading back
///
/// [`check`](SecretSink::check) refuses, before anything is minted, a path
/// whose directory is missing or is not a directory, a path that is a
/// directory, and a symbolic link to nothing. [`current`](SecretSink::current)
/// reads the secret back: the file's content without one trailing newline,
/// `None` when the file does not exist; a directory at the path, a file that
/// cannot be read or is not UTF-8 text fail at [`WriteStep::ReadSecret`](super::WriteStep::ReadSecret)
/// ("could not read the secret in …").
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
    write: AtomicWrite,
}

impl fmt::Debug for FileSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let newline = &self.trailing_newline;
        AtomicWrite::debug_sink(f, "FileSink", &self.path, "trailing_newline", newline)
    }
}

impl FileSink {
    /// A sink that writes the secret to `path`. Nothing is checked or
    /// written until [`store`](SecretSink::store).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            trailing_newline: true,
            write: AtomicWrite::unhooked("file"),
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
}

#[cfg(feature = "testing")]
impl super::atomic::BeforeRename for FileSink {
    fn atomic_write(&mut self) -> &mut AtomicWrite {
        &mut self.write
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
        let (path, write) = (self.path.clone(), self.write.clone());
        run_blocking(write.sink, move || {
            let target = write.resolve(&path)?;
            write.locked(&target, || write.replace(&target, &contents, FILE_MODE))
        })
        .await
    }

    async fn check(&self) -> Result<(), SinkError> {
        let path = self.path.clone();
        let write = AtomicWrite::unhooked("file");
        run_blocking("file", move || check_target(&write, &path).map(drop)).await
    }

    async fn current(&self) -> Result<Option<SecretString>, SinkError> {
        let path = self.path.clone();
        run_blocking("file", move || {
            let write = AtomicWrite::unhooked("file");
            let Some(bytes) = read_if_present(&write, &path, WriteStep::ReadSecret)? else {
                return Ok(None);
            };
            let Ok(text) = std::str::from_utf8(&bytes) else {
                return Err(write.not_text(&path, "the file is not UTF-8 text"));
            };
            let secret = text
                .strip_suffix("\r\n")
                .or_else(|| text.strip_suffix('\n'))
                .unwrap_or(text);
            Ok(Some(SecretString::from(secret)))
        })
        .await
    }

    fn describe(&self) -> String {
        format!("file {}", self.path.display())
    }

    /// `.NAME.writer.lock` beside the file (see [`WriterLock`](super::lock::WriterLock)).
    fn writer_lock(&self) -> Option<super::lock::WriterLock> {
        super::lock::file_writer_lock(&self.path, "file", "", ".writer.lock")
    }
}

/// What a file sink's store would meet before it writes a byte: the file
/// to replace (the target of a symbolic link at `path`), which must not be
/// a directory, in a directory that exists.
///
/// # Errors
///
/// [`SinkError::Io`] at [`WriteStep::Resolve`] saying which of these
/// fails.
pub(super) fn check_target(write: &AtomicWrite, path: &Path) -> Result<PathBuf, SinkError> {
    let refuse = |kind: io::ErrorKind, why: String| {
        Err(write.error(path, WriteStep::Resolve, io::Error::new(kind, why)))
    };
    let target = write.resolve(path)?;
    if target.file_name().is_none() {
        return refuse(
            io::ErrorKind::InvalidInput,
            "the path names no file".to_owned(),
        );
    }
    let dir = match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    match fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            return refuse(
                io::ErrorKind::NotADirectory,
                format!("{} is not a directory", dir.display()),
            );
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return refuse(
                io::ErrorKind::NotFound,
                format!("the directory {} does not exist", dir.display()),
            );
        }
        Err(e) => return Err(write.error(path, WriteStep::Resolve, e)),
    }
    match fs::metadata(&target) {
        Ok(meta) if meta.is_dir() => refuse(
            io::ErrorKind::IsADirectory,
            "it is a directory, not a file".to_owned(),
        ),
        Ok(_) => Ok(target),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(target),
        Err(e) => Err(write.error(path, WriteStep::Resolve, e)),
    }
}

/// The whole content of the file at `path` (following a symbolic link),
/// in a buffer wiped when dropped; `None` when there is no file.
///
/// # Errors
///
/// [`SinkError::Io`] at `step` when the file exists but cannot be read,
/// or is a directory.
pub(super) fn read_if_present(
    write: &AtomicWrite,
    path: &Path,
    step: WriteStep,
) -> Result<Option<Zeroizing<Vec<u8>>>, SinkError> {
    let mut file = match fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(write.error(path, step, e)),
    };
    let meta = file.metadata().map_err(|e| write.error(path, step, e))?;
    if meta.is_dir() {
        let source = io::Error::new(io::ErrorKind::IsADirectory, "it is a directory, not a file");
        return Err(write.error(path, step, source));
    }
    let len = meta.len();
    // Sized up front: a growing buffer would leave copies of the secret
    // behind in freed memory.
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    let mut bytes = Zeroizing::new(Vec::with_capacity(len.saturating_add(1)));
    file.read_to_end(&mut bytes)
        .map_err(|e| write.error(path, step, e))?;
    Ok(Some(bytes))
}
