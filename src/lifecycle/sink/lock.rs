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
}
