//! Advisory locks on a lock file beside a sink's target: the writers of
//! one file take turns, within a process and across processes, and the
//! kernel releases a lock when its holder dies.
//!
//! The lock is taken on a file of its own (`.NAME.lock` beside `NAME`),
//! never on the target: the target is replaced by a rename, and a lock on
//! the inode it replaces would not hold the new one. A lock file is left in
//! place once made; removing it would let a writer that opened it before the
//! removal and one that creates it anew hold "the" lock at once.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// The lock file beside `target` whose name ends with `suffix`:
/// `.NAME{suffix}`, with `NAME` cut to 64 bytes so that the whole stays a
/// valid file name. `None` when `target` names no file.
pub(crate) fn lock_path(target: &Path, suffix: &str) -> Option<PathBuf> {
    let name = target.file_name()?;
    let dir = match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut file = String::from(".");
    for c in name.to_string_lossy().chars() {
        if file.len() + c.len_utf8() > 65 {
            break;
        }
        file.push(c);
    }
    file.push_str(suffix);
    Some(dir.join(file))
}

/// A held lock: released when dropped, or by the kernel when the process
/// ends, however it ends.
#[derive(Debug)]
pub(crate) struct FileLock {
    // The lock lives as long as this open file description.
    _file: File,
}

/// Opens (creating it, mode 0600 on Unix) the lock file at `path`.
fn open(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)
}

/// Takes the exclusive lock of the file at `path`, waiting for its holder
/// to release it. Blocks the thread: call it off the async threads.
///
/// Each call opens the file anew, so two threads of one process exclude
/// each other as two processes do.
///
/// # Errors
///
/// The I/O error of opening or locking the file.
pub(crate) fn lock(path: &Path) -> io::Result<FileLock> {
    let file = open(path)?;
    fs4::FileExt::lock(&file)?;
    Ok(FileLock { _file: file })
}

/// Takes the exclusive lock of the file at `path` if nobody holds it;
/// `None` when another open of it (in this process or another) does.
///
/// # Errors
///
/// The I/O error of opening or locking the file.
pub(crate) fn try_lock(path: &Path) -> io::Result<Option<FileLock>> {
    let file = open(path)?;
    match fs4::FileExt::try_lock(&file) {
        Ok(()) => Ok(Some(FileLock { _file: file })),
        Err(fs4::TryLockError::WouldBlock) => Ok(None),
        Err(fs4::TryLockError::Error(e)) => Err(e),
    }
}

/// The lock that every rotation writing one place holds, from before it
/// mints until it ends, and the short tag that names that place in the
/// marker of the token the rotation mints ([`Marker::sink`](crate::lifecycle::Marker::sink)).
///
/// A sink that writes a place on this machine gives one
/// ([`SecretSink::writer_lock`](super::SecretSink::writer_lock)): the file
/// sinks lock `.NAME.writer.lock` (file) or `.NAME.VAR.writer.lock`
/// (env file) beside the target. The lock is advisory and the kernel
/// releases it when its holder dies, however it dies; so a rotation that
/// holds it and finds a token in flight whose marker names the same place
/// knows that no live run is writing it: that token was left by a run that
/// died, and the rotation goes on instead of waiting for the lease to pass.
///
/// The tag is made of the place and of this machine's host name, so that
/// runs on two machines that write files of the same path never take each
/// other's tokens for a dead run's; where the host name cannot be read,
/// there is no writer lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriterLock {
    path: PathBuf,
    tag: String,
}

impl WriterLock {
    /// The writer lock on the lock file at `path` of the place that
    /// `identity` names (a kind and the canonical path, say), on this
    /// machine; `None` when this machine's host name cannot be read.
    ///
    /// ```
    /// use api_tokens::lifecycle::sink::WriterLock;
    ///
    /// if let Some(lock) = WriterLock::new("/run/ci/.vault.writer.lock", "vault\0ci/unit") {
    ///     assert_eq!(lock.tag().len(), 6);
    ///     assert_eq!(lock, WriterLock::new("/run/ci/.vault.writer.lock", "vault\0ci/unit").unwrap());
    /// }
    /// ```
    pub fn new(path: impl Into<PathBuf>, identity: &str) -> Option<WriterLock> {
        let host = host_name()?;
        Some(WriterLock {
            path: path.into(),
            tag: crate::lifecycle::marker::sink_tag(&format!("{identity}\0{host}")),
        })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The place's short tag, 6 characters of `0-9a-z`.
    pub fn tag(&self) -> &str {
        &self.tag
    }
}

/// This machine's host name: the kernel's on Linux, `HOSTNAME` or
/// `COMPUTERNAME` elsewhere; `None` when none is found.
fn host_name() -> Option<String> {
    #[cfg(target_os = "linux")]
    if let Ok(name) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
        let name = name.trim();
        if !name.is_empty() {
            return Some(name.to_owned());
        }
    }
    ["HOSTNAME", "COMPUTERNAME"]
        .into_iter()
        .filter_map(|var| std::env::var(var).ok())
        .map(|name| name.trim().to_owned())
        .find(|name| !name.is_empty())
}

/// The writer lock of the file sink's `target` (its path, or the file a
/// symbolic link there points to) with the lock file ending in `suffix`,
/// for the place `kind` and `extra` name: `None` when the target's
/// directory cannot be made canonical (the store will fail anyway) or the
/// host name is unknown.
pub(super) fn file_writer_lock(
    target: &Path,
    kind: &str,
    extra: &str,
    suffix: &str,
) -> Option<WriterLock> {
    let resolved = match std::fs::symlink_metadata(target) {
        Ok(meta) if meta.file_type().is_symlink() => std::fs::canonicalize(target).ok()?,
        _ => target.to_path_buf(),
    };
    let name = resolved.file_name()?;
    let dir = match resolved.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let canonical = std::fs::canonicalize(dir).ok()?.join(name);
    let path = lock_path(&canonical, suffix)?;
    WriterLock::new(path, &format!("{kind}\0{}\0{extra}", canonical.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_file_sits_beside_the_target() {
        let path = lock_path(Path::new("/run/ci/.env"), ".lock").unwrap();
        assert_eq!(path, Path::new("/run/ci/..env.lock"));
        let path = lock_path(Path::new("token"), ".lock").unwrap();
        assert_eq!(path, Path::new("./.token.lock"));
        let long = "x".repeat(300);
        let path = lock_path(Path::new(&long), ".lock").unwrap();
        assert_eq!(path.file_name().unwrap().len(), 65 + ".lock".len());
        assert!(lock_path(Path::new("/"), ".lock").is_none());
    }

    #[test]
    fn a_held_lock_excludes_another_open_of_the_same_file_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".t.lock");
        let held = try_lock(&path).unwrap().expect("nobody holds it");
        assert!(try_lock(&path).unwrap().is_none());
        drop(held);
        assert!(try_lock(&path).unwrap().is_some());
    }

    #[test]
    fn one_place_has_one_writer_lock_however_it_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("unit.token");
        let Some(lock) = file_writer_lock(&target, "file", "", ".writer.lock") else {
            return; // No host name here: nothing to compare.
        };
        let dotted = dir.path().join(".").join("unit.token");
        assert_eq!(
            file_writer_lock(&dotted, "file", "", ".writer.lock"),
            Some(lock.clone())
        );
        assert_eq!(lock.path().file_name().unwrap(), ".unit.token.writer.lock");
        let other = file_writer_lock(&dir.path().join("b"), "file", "", ".writer.lock").unwrap();
        assert_ne!(other.tag(), lock.tag());
        let var = file_writer_lock(&target, "env-file", "A", ".A.writer.lock").unwrap();
        assert_ne!(var.tag(), lock.tag());
        assert!(file_writer_lock(&dir.path().join("no/x"), "file", "", ".l").is_none());
    }
}
