//! Atomic replacement of a file: a temporary file created 0600 in the
//! target's directory, flushed, renamed over the target, the directory
//! flushed; and the blocking work run off the async threads.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
#[cfg(feature = "testing")]
use std::sync::Arc;

use super::lock::{lock, lock_path};
use super::secret_sink::{SinkError, WriteStep};

/// A function run between a file sink's write and its rename (feature
/// `testing`): its error aborts the write as an I/O failure would.
#[cfg(feature = "testing")]
pub(super) type Hook = Arc<dyn Fn(&Path) -> io::Result<()> + Send + Sync>;

/// The mode of a file the sinks create.
pub(super) const FILE_MODE: u32 = 0o600;

/// The file sinks that replace their file atomically ([`FileSink`],
/// [`EnvFileSink`]) can run a hook between the write and the rename
/// (feature `testing`).
///
/// [`FileSink`]: super::FileSink
/// [`EnvFileSink`]: super::EnvFileSink
#[cfg(feature = "testing")]
pub trait BeforeRename: Sized {
    /// Runs `hook` with the temporary file's path after it was written and
    /// flushed, just before the rename. An error from it fails the store as
    /// an I/O error would at that point
    /// ([`WriteStep::BeforeRename`](super::WriteStep::BeforeRename)), which
    /// lets a test prove that the old file survives such a failure.
    #[must_use]
    fn before_rename(
        mut self,
        hook: impl Fn(&Path) -> io::Result<()> + Send + Sync + 'static,
    ) -> Self {
        self.atomic_write().hook = Some(Arc::new(hook));
        self
    }

    /// The sink's write, whose hook is set. Not nameable outside the
    /// crate: only its sinks implement this trait.
    #[doc(hidden)]
    fn atomic_write(&mut self) -> &mut AtomicWrite;
}

/// One sink's way of replacing a file: its name for errors and, in tests,
/// the hook run before the rename. Public only so that [`BeforeRename`]
/// can name it; its module is private, so no other crate can.
#[derive(Clone)]
pub struct AtomicWrite {
    pub(super) sink: &'static str,
    #[cfg(feature = "testing")]
    pub(super) hook: Option<Hook>,
}

impl AtomicWrite {
    /// The write of `sink` that runs no hook: what a check or a read uses,
    /// which never renames a file.
    pub(super) fn unhooked(sink: &'static str) -> Self {
        Self {
            sink,
            #[cfg(feature = "testing")]
            hook: None,
        }
    }

    pub(super) fn error(&self, path: &Path, step: WriteStep, source: io::Error) -> SinkError {
        SinkError::Io {
            sink: self.sink,
            path: path.to_path_buf(),
            step,
            source,
        }
    }

    /// The error for a file at `path` whose secret should be UTF-8 text and
    /// is not; `what` says which bytes.
    pub(super) fn not_text(&self, path: &Path, what: impl Into<String>) -> SinkError {
        let source = io::Error::new(io::ErrorKind::InvalidData, what.into());
        self.error(path, WriteStep::ReadSecret, source)
    }

    /// Writes a file sink's `Debug`: its `name`, its `path` and one `field`
    /// of its own with its `value`, nothing of the hook.
    pub(super) fn debug_sink(
        f: &mut fmt::Formatter<'_>,
        name: &str,
        path: &Path,
        field: &str,
        value: &dyn fmt::Debug,
    ) -> fmt::Result {
        f.debug_struct(name)
            .field("path", &path)
            .field(field, value)
            .finish_non_exhaustive()
    }

    /// The file to replace: `path`, or the file a symbolic link there points
    /// to.
    pub(super) fn resolve(&self, path: &Path) -> Result<PathBuf, SinkError> {
        match fs::symlink_metadata(path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                fs::canonicalize(path).map_err(|e| self.error(path, WriteStep::Resolve, e))
            }
            _ => Ok(path.to_path_buf()),
        }
    }

    /// Runs `work` holding the write lock of `target` (`.NAME.lock` beside
    /// it; see [`lock`](super::lock)): the writers of one file, in this
    /// process or in others, take turns, so that one that reads the file,
    /// edits it and replaces it never loses another's change. Blocks the
    /// thread while another writer holds the lock: call it off the async
    /// threads ([`run_blocking`]).
    pub(super) fn locked<T>(
        &self,
        target: &Path,
        work: impl FnOnce() -> Result<T, SinkError>,
    ) -> Result<T, SinkError> {
        let Some(path) = lock_path(target, ".lock") else {
            return Err(self.error(
                target,
                WriteStep::Resolve,
                io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"),
            ));
        };
        let _lock = lock(&path).map_err(|e| self.error(target, WriteStep::Lock, e))?;
        work()
    }

    /// Replaces `target` by a file holding `contents` with `mode` (on Unix):
    /// temporary file in the same directory, write, fsync, rename, fsync of
    /// the directory.
    pub(super) fn replace(
        &self,
        target: &Path,
        contents: &[u8],
        mode: u32,
    ) -> Result<(), SinkError> {
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
pub(super) fn sync_dir(dir: &Path) -> io::Result<()> {
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
pub(super) fn file_mode(file: &File) -> io::Result<(u32, usize)> {
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
pub(super) async fn run_blocking<F, T>(sink: &'static str, work: F) -> Result<T, SinkError>
where
    F: FnOnce() -> Result<T, SinkError> + Send + 'static,
    T: Send + 'static,
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
