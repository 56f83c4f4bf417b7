//! The secret sinks on temporary directories: what lands in the file, its
//! mode, atomic replacement (a failure before the rename leaves the old file
//! whole), dotenv editing byte for byte, the closure and writer sinks, the
//! command line's sink specs, and errors that never hold the secret.

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use crate::lifecycle_support;

use api_tokens::Service;
use api_tokens::lifecycle::sink::{
    self, BeforeRename, EnvFileSink, FileSink, SecretMeta, SecretSink, SinkError, SinkSpec,
    WriteStep, WriterSink,
};
use api_tokens::secrecy::{ExposeSecret, SecretString};
use chrono::{TimeZone, Utc};

/// The secret the tests store (fake). Distinctive, so a leak is found.
const SECRET: &str = "v2.public.FAKE-SINK-SECRET-not-real.sig";
/// The secret of the file before a store (fake).
const OLD_SECRET: &str = "v2.public.FAKE-OLD-SECRET-not-real.sig";

fn secret(value: &str) -> SecretString {
    SecretString::from(value)
}

fn meta() -> SecretMeta {
    SecretMeta::new(Service::Unit, "42").with_name("CI deploy")
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o7777
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// The names in a directory, sorted, without the file sinks' lock files
/// (`.NAME.lock`, left in place by design): shows a temporary file left
/// behind.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|name| !name.ends_with(".lock"))
        .collect();
    names.sort();
    names
}

/// Asserts that neither the error's Display, its Debug nor any source in
/// its chain holds `secret`.
fn assert_no_secret(err: &SinkError, secret: &str) {
    let mut texts = vec![err.to_string(), format!("{err:?}")];
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        texts.push(cause.to_string());
        texts.push(format!("{cause:?}"));
        source = cause.source();
    }
    for text in texts {
        assert!(!text.contains(secret), "the error shows the secret: {text}");
    }
}

// ---------------------------------------------------------------------------
// File sink.

#[tokio::test]
async fn file_sink_writes_the_secret_and_one_newline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("unit.token");
    FileSink::new(&path)
        .store(&secret(SECRET), &meta())
        .await
        .expect("stored");
    assert_eq!(
        std::fs::read(&path).expect("read"),
        format!("{SECRET}\n").as_bytes()
    );
    assert_eq!(entries(dir.path()), ["unit.token"]);

    FileSink::new(&path)
        .trailing_newline(false)
        .store(&secret(OLD_SECRET), &meta())
        .await
        .expect("stored");
    assert_eq!(std::fs::read(&path).expect("read"), OLD_SECRET.as_bytes());
}

#[cfg(unix)]
#[tokio::test]
async fn file_sink_creates_and_replaces_with_mode_0600() {
    let dir = tempfile::tempdir().expect("tempdir");
    let new = dir.path().join("new.token");
    FileSink::new(&new)
        .store(&secret(SECRET), &meta())
        .await
        .expect("stored");
    assert_eq!(mode(&new), 0o600);

    // An existing world-readable file comes out 0600.
    let old = dir.path().join("old.token");
    std::fs::write(&old, OLD_SECRET).expect("write");
    set_mode(&old, 0o644);
    FileSink::new(&old)
        .store(&secret(SECRET), &meta())
        .await
        .expect("stored");
    assert_eq!(mode(&old), 0o600);
    assert_eq!(
        std::fs::read_to_string(&old).expect("read"),
        format!("{SECRET}\n")
    );
}

/// Just before the rename the temporary file is complete, 0600, in the
/// target's directory, and the target still holds the old secret.
#[tokio::test]
async fn before_the_rename_the_new_file_is_whole_and_the_old_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("unit.token");
    std::fs::write(&path, OLD_SECRET).expect("write");
    let target = path.clone();
    let checked = Arc::new(AtomicBool::new(false));
    let seen = Arc::clone(&checked);
    let sink = FileSink::new(&path).before_rename(move |temp: &Path| {
        assert_eq!(temp.parent(), target.parent(), "same directory");
        assert_ne!(temp, target);
        assert_eq!(std::fs::read(temp)?, format!("{SECRET}\n").as_bytes());
        #[cfg(unix)]
        assert_eq!(mode(temp), 0o600);
        assert_eq!(std::fs::read(&target)?, OLD_SECRET.as_bytes());
        seen.store(true, Ordering::SeqCst);
        Ok(())
    });
    sink.store(&secret(SECRET), &meta()).await.expect("stored");
    assert!(checked.load(Ordering::SeqCst), "the hook ran");
    assert_eq!(
        std::fs::read(&path).expect("read"),
        format!("{SECRET}\n").as_bytes()
    );
    assert_eq!(entries(dir.path()), ["unit.token"]);
}

/// A failure between the write and the rename: the old file is intact, no
/// temporary file is left, the error names the sink, the path and the step.
#[tokio::test]
async fn a_failure_before_the_rename_leaves_the_old_file_intact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("unit.token");
    std::fs::write(&path, format!("{OLD_SECRET}\n")).expect("write");
    #[cfg(unix)]
    set_mode(&path, 0o600);

    let sink =
        FileSink::new(&path).before_rename(|_: &Path| Err(io::Error::other("disk pulled out")));
    let err = sink
        .store(&secret(SECRET), &meta())
        .await
        .expect_err("the hook fails the store");

    assert_eq!(
        std::fs::read(&path).expect("read"),
        format!("{OLD_SECRET}\n").as_bytes()
    );
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600);
    assert_eq!(
        entries(dir.path()),
        ["unit.token"],
        "the temporary file is removed"
    );
    match &err {
        SinkError::Io {
            sink,
            path: failed,
            step,
            source,
        } => {
            assert_eq!(*sink, "file");
            assert_eq!(failed, &path);
            assert_eq!(*step, WriteStep::BeforeRename);
            assert_eq!(source.to_string(), "disk pulled out");
        }
        other => panic!("unexpected error: {other:?}"),
    }
    assert!(!err.secret_written());
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    let source = std::error::Error::source(&err).expect("the io::Error is the source");
    assert!(source.downcast_ref::<io::Error>().is_some());
    assert_no_secret(&err, SECRET);
}

/// A rename that fails (a directory stands at the path) leaves the
/// directory as it was.
#[tokio::test]
async fn a_failed_rename_leaves_nothing_behind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("taken");
    std::fs::create_dir(&path).expect("mkdir");
    std::fs::write(path.join("inside"), "kept").expect("write");
    let err = FileSink::new(&path)
        .store(&secret(SECRET), &meta())
        .await
        .expect_err("cannot rename a file over a directory");
    assert!(
        matches!(&err, SinkError::Io { step: WriteStep::Rename, path: p, .. } if p == &path),
        "{err:?}"
    );
    assert_eq!(entries(dir.path()), ["taken"]);
    assert_eq!(
        std::fs::read_to_string(path.join("inside")).expect("read"),
        "kept"
    );
    assert_no_secret(&err, SECRET);
}

#[tokio::test]
async fn a_missing_directory_fails_at_the_lock_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("no-such-dir").join("unit.token");
    let err = FileSink::new(&path)
        .store(&secret(SECRET), &meta())
        .await
        .expect_err("no directory");
    match &err {
        SinkError::Io { step, source, .. } => {
            assert_eq!(*step, WriteStep::Lock);
            assert_eq!(source.kind(), io::ErrorKind::NotFound);
        }
        other => panic!("unexpected error: {other:?}"),
    }
    assert!(
        err.to_string()
            .starts_with("file sink could not lock the lock file of"),
        "{err}"
    );
    assert_no_secret(&err, SECRET);
}

/// The temporary file's name is derived from the target's, cut short: a
/// target name near the system's limit still works.
#[tokio::test]
async fn a_long_file_name_still_gets_a_temporary_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("\u{1F600}".repeat(62) + ".tok");
    FileSink::new(&path)
        .store(&secret(SECRET), &meta())
        .await
        .expect("stored");
    assert_eq!(
        std::fs::read_to_string(&path).expect("read"),
        format!("{SECRET}\n")
    );
    assert_eq!(entries(dir.path()).len(), 1);
}

#[cfg(unix)]
#[tokio::test]
async fn a_symbolic_link_is_followed_and_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let real = dir.path().join("real.token");
    let link = dir.path().join("link.token");
    std::fs::write(&real, OLD_SECRET).expect("write");
    std::os::unix::fs::symlink(&real, &link).expect("symlink");
    FileSink::new(&link)
        .store(&secret(SECRET), &meta())
        .await
        .expect("stored");
    assert!(
        std::fs::symlink_metadata(&link)
            .expect("lstat")
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        std::fs::read_to_string(&real).expect("read"),
        format!("{SECRET}\n")
    );
}

/// A store whose future is dropped once the write has started (a caller
/// that gave up, a crash of the task) still replaces the file whole and
/// leaves no temporary file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_store_still_replaces_the_file_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("unit.token");
    std::fs::write(&path, format!("{OLD_SECRET}\n")).expect("write");
    let sink = FileSink::new(&path);
    let (value, meta) = (secret(SECRET), meta());
    let mut store = sink.store(&value, &meta);
    // Polled once (the write starts on a blocking thread), then dropped.
    std::future::poll_fn(|cx| {
        assert!(
            store.as_mut().poll(cx).is_pending(),
            "the write takes a while"
        );
        Poll::Ready(())
    })
    .await;
    drop(store);

    let new = format!("{SECRET}\n");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(&path).expect("the file is always there");
        assert!(
            text == new || text == format!("{OLD_SECRET}\n"),
            "a partial file"
        );
        if text == new && entries(dir.path()) == ["unit.token"] {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the write never finished"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

/// Readers polling the file while it is replaced again and again see one
/// whole secret or the other, never a part or an empty file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_never_sees_a_partial_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("unit.token");
    let long = "L".repeat(64 * 1024);
    let short = "short-secret".to_owned();
    std::fs::write(&path, format!("{short}\n")).expect("write");

    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (path, done) = (path.clone(), Arc::clone(&done));
        let (long, short) = (format!("{long}\n"), format!("{short}\n"));
        std::thread::spawn(move || {
            let mut reads = 0u32;
            while !done.load(Ordering::SeqCst) {
                let text = std::fs::read_to_string(&path).expect("the file is always there");
                assert!(
                    text == long || text == short,
                    "a partial file of {} bytes",
                    text.len()
                );
                reads += 1;
            }
            reads
        })
    };
    let sink = FileSink::new(&path);
    for i in 0..100 {
        let value = if i % 2 == 0 { &long } else { &short };
        sink.store(&secret(value), &meta()).await.expect("stored");
    }
    done.store(true, Ordering::SeqCst);
    let reads = reader.join().expect("the reader saw only whole files");
    assert!(reads > 0);
}

// ---------------------------------------------------------------------------
// Env-file sink.

async fn store_env(path: &Path, var: &str, value: &str) -> Result<(), SinkError> {
    EnvFileSink::new(path, var)?
        .store(&secret(value), &meta())
        .await
}

/// Every byte but the value's is kept: comments, blank lines, CRLF and LF
/// mixed, `export`, spaces around `=`, a trailing comment, bytes that are
/// not UTF-8, a missing final newline.
#[tokio::test]
async fn env_file_keeps_every_other_byte() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(".env");
    let mut before: Vec<u8> = Vec::new();
    before.extend_from_slice(b"# Deploy settings\r\n\r\n");
    before.extend_from_slice(b"REGION=eu-west-1\r\n");
    before.extend_from_slice(b"  export   UNIT_API_TOKEN = ");
    let value_at = before.len();
    before.extend_from_slice(OLD_SECRET.as_bytes());
    let value_end = before.len();
    before.extend_from_slice(b"   # rotated monthly\r\n");
    before.extend_from_slice(b"GREETING='caf\xe9 ol\xe9'\n");
    before.extend_from_slice(b"# UNIT_API_TOKEN=commented-out\n");
    before.extend_from_slice(b"UNIT_API_TOKEN_OLD=keep-me\n");
    before.extend_from_slice(b"\tLAST=\"no newline\"");
    std::fs::write(&path, &before).expect("write");

    store_env(&path, "UNIT_API_TOKEN", SECRET)
        .await
        .expect("stored");

    let mut expected = before[..value_at].to_vec();
    expected.extend_from_slice(SECRET.as_bytes());
    expected.extend_from_slice(&before[value_end..]);
    assert_eq!(std::fs::read(&path).expect("read"), expected);
    assert_eq!(entries(dir.path()), [".env"]);
}

#[tokio::test]
async fn env_file_keeps_crlf_and_a_missing_final_newline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(".env");

    std::fs::write(&path, "A=1\r\nTOKEN=old\r\nB=2\r\n").expect("write");
    store_env(&path, "TOKEN", SECRET).await.expect("stored");
    assert_eq!(
        std::fs::read(&path).expect("read"),
        format!("A=1\r\nTOKEN={SECRET}\r\nB=2\r\n").as_bytes()
    );

    std::fs::write(&path, "A=1\nTOKEN=old").expect("write");
    store_env(&path, "TOKEN", SECRET).await.expect("stored");
    assert_eq!(
        std::fs::read(&path).expect("read"),
        format!("A=1\nTOKEN={SECRET}").as_bytes()
    );

    std::fs::write(&path, "TOKEN=old\r\nA=1").expect("write");
    store_env(&path, "TOKEN", SECRET).await.expect("stored");
    assert_eq!(
        std::fs::read(&path).expect("read"),
        format!("TOKEN={SECRET}\r\nA=1").as_bytes()
    );
}

#[tokio::test]
async fn env_file_appends_an_absent_variable_in_the_file_own_line_ending() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(".env");
    let cases = [
        ("A=1\n", format!("A=1\nTOKEN={SECRET}\n")),
        (
            "A=1\r\nB=2\r\n",
            format!("A=1\r\nB=2\r\nTOKEN={SECRET}\r\n"),
        ),
        // The last line gets the newline it lacked: the lines would merge.
        ("A=1", format!("A=1\nTOKEN={SECRET}\n")),
        ("A=1\r\nB=2", format!("A=1\r\nB=2\r\nTOKEN={SECRET}\r\n")),
        ("", format!("TOKEN={SECRET}\n")),
        (
            "# TOKEN=commented\nTOKENS=x\n",
            format!("# TOKEN=commented\nTOKENS=x\nTOKEN={SECRET}\n"),
        ),
    ];
    for (before, after) in cases {
        std::fs::write(&path, before).expect("write");
        store_env(&path, "TOKEN", SECRET).await.expect("stored");
        assert_eq!(
            String::from_utf8(std::fs::read(&path).expect("read")).expect("utf-8"),
            after,
            "from {before:?}"
        );
    }
}

#[cfg(unix)]
#[tokio::test]
async fn env_file_is_created_0600_and_an_existing_one_keeps_its_mode() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(".env");
    store_env(&path, "TOKEN", SECRET).await.expect("stored");
    assert_eq!(
        std::fs::read(&path).expect("read"),
        format!("TOKEN={SECRET}\n").as_bytes()
    );
    assert_eq!(mode(&path), 0o600);

    set_mode(&path, 0o640);
    store_env(&path, "TOKEN", OLD_SECRET).await.expect("stored");
    assert_eq!(mode(&path), 0o640);
    assert_eq!(
        std::fs::read(&path).expect("read"),
        format!("TOKEN={OLD_SECRET}\n").as_bytes()
    );
}

#[tokio::test]
async fn env_file_failure_before_the_rename_leaves_the_old_file_intact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(".env");
    let before = format!("A=1\nTOKEN={OLD_SECRET}\n");
    std::fs::write(&path, &before).expect("write");
    let sink = EnvFileSink::new(&path, "TOKEN")
        .expect("valid")
        .before_rename(|temp: &Path| {
            // The edited file is complete before the rename.
            let text = std::fs::read_to_string(temp)?;
            assert_eq!(text, format!("A=1\nTOKEN={SECRET}\n"));
            Err(io::Error::other("no space left"))
        });
    let err = sink
        .store(&secret(SECRET), &meta())
        .await
        .expect_err("the hook fails the store");
    assert!(
        matches!(&err, SinkError::Io { sink: "env-file", step: WriteStep::BeforeRename, path: p, .. } if p == &path),
        "{err:?}"
    );
    assert_eq!(std::fs::read_to_string(&path).expect("read"), before);
    assert_eq!(entries(dir.path()), [".env"]);
    assert_no_secret(&err, SECRET);
    assert_no_secret(&err, OLD_SECRET);
}

#[tokio::test]
async fn env_file_refuses_an_invalid_variable_before_writing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(".env");
    for var in ["", "1TOKEN", "UNIT-TOKEN", "A B", "A=B", "TOKEN\n", "ÜNIT"] {
        let err = store_env(&path, var, SECRET).await.expect_err("refused");
        assert!(
            matches!(&err, SinkError::InvalidVar { var: v, .. } if v == var),
            "{err:?}"
        );
        assert_no_secret(&err, SECRET);
    }
    assert!(!path.exists(), "nothing was written");
}

#[tokio::test]
async fn env_file_refuses_a_variable_assigned_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(".env");
    let before = format!("TOKEN={OLD_SECRET}\nA=1\nexport TOKEN=other\n");
    std::fs::write(&path, &before).expect("write");
    let err = store_env(&path, "TOKEN", SECRET)
        .await
        .expect_err("ambiguous");
    assert!(
        matches!(&err, SinkError::DuplicateVar { lines, .. } if lines == &[1, 3]),
        "{err:?}"
    );
    assert_eq!(std::fs::read_to_string(&path).expect("read"), before);
    assert_no_secret(&err, OLD_SECRET);
}

/// Values are quoted when a dotenv reader would misread them bare; an
/// independent reader gets every one back unchanged, and the other
/// variables too.
#[tokio::test]
async fn env_file_quotes_what_dotenv_would_misread() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(".env");
    let cases = [
        ("v2.public.abc-DEF_123+/=", "v2.public.abc-DEF_123+/="),
        ("with space", "'with space'"),
        ("hash#tag", "'hash#tag'"),
        ("$HOME", "'$HOME'"),
        ("say \"hi\"", "'say \"hi\"'"),
        ("it's", "\"it's\""),
        ("caf\u{e9}", "'caf\u{e9}'"),
    ];
    for (value, written) in cases {
        std::fs::write(&path, "A=1\nTOKEN=old\nB='two words'\n").expect("write");
        store_env(&path, "TOKEN", value).await.expect("stored");
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            format!("A=1\nTOKEN={written}\nB='two words'\n"),
        );
        let read: Vec<(String, String)> = dotenvy::from_path_iter(&path)
            .expect("dotenvy opens it")
            .collect::<Result<_, _>>()
            .expect("dotenvy parses it");
        assert_eq!(
            read,
            [
                ("A".to_owned(), "1".to_owned()),
                ("TOKEN".to_owned(), value.to_owned()),
                ("B".to_owned(), "two words".to_owned()),
            ],
            "{value:?}"
        );
    }
}

#[tokio::test]
async fn env_file_refuses_a_secret_no_quoting_carries() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(".env");
    std::fs::write(&path, "TOKEN=old\n").expect("write");
    for value in ["line\nbreak", "tab\there", "it's \\ back", "it's $HOME"] {
        let err = store_env(&path, "TOKEN", value).await.expect_err("refused");
        assert!(
            matches!(&err, SinkError::Unrepresentable { var, .. } if var == "TOKEN"),
            "{err:?}"
        );
        assert_no_secret(&err, value);
    }
    assert_eq!(std::fs::read_to_string(&path).expect("read"), "TOKEN=old\n");
}

// ---------------------------------------------------------------------------
// Closure, writer and trait objects.

#[tokio::test]
async fn the_closure_sink_receives_the_secret_and_the_metadata() {
    let received: Arc<Mutex<Vec<(SecretString, SecretMeta)>>> = Arc::default();
    let seen = Arc::clone(&received);
    let sink = sink::from_fn(move |secret: SecretString, meta: SecretMeta| {
        let seen = Arc::clone(&seen);
        async move {
            seen.lock().expect("lock").push((secret, meta));
            Ok(())
        }
    });
    let expiry = Utc
        .with_ymd_and_hms(2027, 3, 1, 8, 30, 0)
        .single()
        .expect("date");
    let meta = SecretMeta::new(Service::Mailtrap, "12345")
        .with_name("CI deploy 12345")
        .with_expires_at(expiry);
    let sink: Box<dyn SecretSink> = Box::new(sink);
    sink.store(&secret(SECRET), &meta).await.expect("stored");

    let received = received.lock().expect("lock");
    assert_eq!(received.len(), 1);
    let (got, got_meta) = &received[0];
    assert_eq!(got.expose_secret(), SECRET);
    assert_eq!(got_meta, &meta);
    assert_eq!(got_meta.service(), Service::Mailtrap);
    assert_eq!(got_meta.id(), "12345");
    assert_eq!(got_meta.name(), Some("CI deploy 12345"));
    assert_eq!(got_meta.expires_at(), Some(expiry));
    assert_eq!(SecretMeta::new(Service::Unit, "1").expires_at(), None);
}

#[tokio::test]
async fn the_closure_sink_passes_its_error_on() {
    let sink = sink::from_fn(|_secret: SecretString, meta: SecretMeta| async move {
        Err(SinkError::other(
            "vault",
            format!("token {} refused: sealed", meta.id()),
        ))
    });
    let err = sink
        .store(&secret(SECRET), &meta())
        .await
        .expect_err("refused");
    assert_eq!(
        err.to_string(),
        "vault sink failed: token 42 refused: sealed"
    );
    assert_no_secret(&err, SECRET);
}

#[tokio::test]
async fn sinks_work_as_shared_trait_objects() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sinks: Vec<Arc<dyn SecretSink>> = vec![
        Arc::new(FileSink::new(dir.path().join("a.token"))),
        Arc::new(EnvFileSink::new(dir.path().join(".env"), "TOKEN").expect("valid")),
    ];
    let tasks: Vec<_> = sinks
        .iter()
        .map(|sink| {
            let sink = Arc::clone(sink);
            tokio::spawn(async move { sink.store(&secret(SECRET), &meta()).await })
        })
        .collect();
    for task in tasks {
        task.await.expect("joined").expect("stored");
    }
    assert_eq!(
        std::fs::read_to_string(dir.path().join("a.token")).expect("read"),
        format!("{SECRET}\n")
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join(".env")).expect("read"),
        format!("TOKEN={SECRET}\n")
    );
    assert_eq!(
        sinks[1].describe(),
        format!("TOKEN in env file {}", dir.path().join(".env").display())
    );
}

#[tokio::test]
async fn the_writer_sink_writes_whole_lines() {
    let sink = Arc::new(WriterSink::new(Vec::new()));
    let tasks: Vec<_> = ["first-secret", "second-secret", "third-secret"]
        .into_iter()
        .map(|value| {
            let sink = Arc::clone(&sink);
            tokio::spawn(async move { sink.store(&secret(value), &meta()).await })
        })
        .collect();
    for task in tasks {
        task.await.expect("joined").expect("stored");
    }
    let sink = Arc::try_unwrap(sink).expect("the only owner");
    let text = String::from_utf8(sink.into_inner()).expect("utf-8");
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort_unstable();
    assert_eq!(lines, ["first-secret", "second-secret", "third-secret"]);
    assert!(text.ends_with('\n'));
}

/// A writer that refuses every write.
struct BrokenPipe;

impl tokio::io::AsyncWrite for BrokenPipe {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, _: &[u8]) -> Poll<io::Result<usize>> {
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::BrokenPipe,
            "reader went away",
        )))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn the_writer_sink_reports_a_failed_write() {
    let err = WriterSink::new(BrokenPipe)
        .store(&secret(SECRET), &meta())
        .await
        .expect_err("broken pipe");
    match &err {
        SinkError::Write { source, .. } => assert_eq!(source.kind(), io::ErrorKind::BrokenPipe),
        other => panic!("unexpected error: {other:?}"),
    }
    assert_no_secret(&err, SECRET);
}

// ---------------------------------------------------------------------------
// Sink specs.

#[test]
fn sink_specs_parse() {
    let cases: [(&str, SinkSpec); 6] = [
        ("-", SinkSpec::Stdout),
        ("file:token.txt", SinkSpec::File(PathBuf::from("token.txt"))),
        (
            "file:/etc/a:b/token",
            SinkSpec::File(PathBuf::from("/etc/a:b/token")),
        ),
        ("file:-", SinkSpec::File(PathBuf::from("-"))),
        (
            "env-file:.env:UNIT_API_TOKEN",
            SinkSpec::EnvFile {
                path: PathBuf::from(".env"),
                var: "UNIT_API_TOKEN".to_owned(),
            },
        ),
        (
            "env-file:C:\\ci\\a:b.env:_T1",
            SinkSpec::EnvFile {
                path: PathBuf::from("C:\\ci\\a:b.env"),
                var: "_T1".to_owned(),
            },
        ),
    ];
    for (text, spec) in cases {
        let parsed: SinkSpec = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(parsed, spec, "{text}");
        assert_eq!(parsed.to_string(), text, "Display reads back");
    }
}

#[test]
fn bad_sink_specs_are_refused_clearly() {
    // The forms this build reads: with the feature `aws`, `aws-sm:NAME`
    // too, and with `vault`, `vault:MOUNT/PATH`.
    let mut forms = vec!["`file:PATH`", "`env-file:PATH:VAR`"];
    if cfg!(feature = "aws") {
        forms.push("`aws-sm:NAME`");
    }
    if cfg!(feature = "vault") {
        forms.push("`vault:MOUNT/PATH`");
    }
    let forms = format!("expected {}", forms.join(", "));
    let invalid_spec = [
        ("", "the sink is empty"),
        ("file:", "`file:` names no file"),
        ("env-file:.env", "`env-file:` needs a path and a variable"),
        ("env-file::TOKEN", "`env-file:` names no file"),
        ("s3:bucket/key", "unknown kind of sink `s3`"),
        ("token.txt", forms.as_str()),
        ("FILE:token.txt", "expected `file:PATH`"),
    ];
    for (text, message) in invalid_spec {
        let err = text.parse::<SinkSpec>().expect_err(text);
        assert!(
            matches!(err, SinkError::InvalidSpec { .. }),
            "{text}: {err:?}"
        );
        assert!(err.to_string().contains(message), "{text}: {err}");
    }
    for text in [
        "env-file:.env:",
        "env-file:.env:UNIT-TOKEN",
        "env-file:.env:1X",
    ] {
        let err = text.parse::<SinkSpec>().expect_err(text);
        assert!(
            matches!(err, SinkError::InvalidSpec { .. }),
            "{text}: {err:?}"
        );
        assert!(
            err.to_string().contains("not a valid name"),
            "{text}: {err}"
        );
    }
    // A token pasted by mistake is not echoed, wherever it lands.
    for text in [
        "v2.public.eyJ:pasted".to_owned(),
        SECRET.to_owned(),
        format!("env-file:.env:{SECRET}"),
    ] {
        let err = text.parse::<SinkSpec>().expect_err(&text);
        assert_no_secret(&err, "eyJ");
        assert_no_secret(&err, SECRET);
    }
}

#[tokio::test]
async fn a_parsed_spec_gives_a_working_sink() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("t.token");
    let env = dir.path().join(".env");
    for spec in [
        format!("file:{}", file.display()),
        format!("env-file:{}:TOKEN", env.display()),
    ] {
        let sink = spec
            .parse::<SinkSpec>()
            .expect("parsed")
            .into_sink()
            .expect("a sink");
        sink.store(&secret(SECRET), &meta()).await.expect("stored");
    }
    assert_eq!(
        std::fs::read_to_string(&file).expect("read"),
        format!("{SECRET}\n")
    );
    assert_eq!(
        std::fs::read_to_string(&env).expect("read"),
        format!("TOKEN={SECRET}\n")
    );
    assert_eq!(
        "-".parse::<SinkSpec>()
            .expect("parsed")
            .into_sink()
            .expect("sink")
            .describe(),
        "standard output"
    );

    let by_hand = SinkSpec::EnvFile {
        path: env,
        var: "NOT VALID".to_owned(),
    };
    assert!(matches!(
        by_hand.into_sink(),
        Err(SinkError::InvalidVar { .. })
    ));
}

#[test]
fn sinks_debug_without_a_secret_and_describe_where_they_write() {
    let file = FileSink::new("/run/ci/unit.token");
    assert_eq!(file.describe(), "file /run/ci/unit.token");
    assert!(format!("{file:?}").contains("/run/ci/unit.token"));
    let env = EnvFileSink::new("/run/ci/.env", "TOKEN").expect("valid");
    assert_eq!(env.path(), Path::new("/run/ci/.env"));
    assert_eq!(env.var(), "TOKEN");
}

// ---------------------------------------------------------------------------
// check() before a mint, current() to read back.

/// A new folder holding one file, `name`, with `content`; gives the folder
/// and the file's path.
fn file_holding(name: &str, content: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(name);
    std::fs::write(&path, content).expect("write");
    (dir, path)
}

/// Whether `err` is a file system failure at `step`.
fn failed_at(err: &SinkError, step: WriteStep) -> bool {
    matches!(err, SinkError::Io { step: at, .. } if *at == step)
}

/// Asserts that `check` refuses at [`WriteStep::Resolve`] with a message
/// that says `says`.
#[track_caller]
fn assert_refused(result: Result<(), SinkError>, says: &str) {
    let err = result.expect_err("refused");
    assert!(failed_at(&err, WriteStep::Resolve), "{err:?}");
    assert!(err.to_string().contains(says), "{err} should say {says:?}");
}

#[tokio::test]
async fn file_sink_check_refuses_what_a_store_would_meet_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("no-such-dir").join("token");
    assert_refused(FileSink::new(&missing).check().await, "does not exist");

    let a_dir = dir.path().join("a-dir");
    std::fs::create_dir(&a_dir).expect("mkdir");
    assert_refused(FileSink::new(&a_dir).check().await, "is a directory");

    let a_file = dir.path().join("a-file");
    std::fs::write(&a_file, "x").expect("write");
    assert_refused(
        FileSink::new(a_file.join("token")).check().await,
        "is not a directory",
    );

    // A new file in a directory, an existing file: nothing to refuse.
    FileSink::new(dir.path().join("new.token"))
        .check()
        .await
        .expect("a new file");
    FileSink::new(&a_file)
        .check()
        .await
        .expect("an existing file");
    assert_eq!(entries(dir.path()), ["a-dir", "a-file"], "nothing written");
    assert_eq!(std::fs::read_to_string(&a_file).expect("read"), "x");
}

#[cfg(unix)]
#[tokio::test]
async fn file_sink_check_follows_a_symbolic_link() {
    let (dir, target) = file_holding("real.token", "x");
    let link = dir.path().join("link.token");
    std::os::unix::fs::symlink(&target, &link).expect("symlink");
    FileSink::new(&link)
        .check()
        .await
        .expect("a link to a file");

    let dangling = dir.path().join("dangling.token");
    std::os::unix::fs::symlink(dir.path().join("gone"), &dangling).expect("symlink");
    let err = FileSink::new(&dangling)
        .check()
        .await
        .expect_err("a link to nothing");
    assert!(failed_at(&err, WriteStep::Resolve), "{err:?}");

    let to_dir = dir.path().join("dir-link");
    std::os::unix::fs::symlink(dir.path(), &to_dir).expect("symlink");
    assert_refused(FileSink::new(&to_dir).check().await, "is a directory");
}

#[tokio::test]
async fn env_file_check_refuses_a_variable_assigned_twice_and_a_bad_path() {
    let before = format!("TOKEN={OLD_SECRET}\nA=1\nexport TOKEN=other\n");
    let (dir, path) = file_holding(".env", &before);
    let sink = EnvFileSink::new(&path, "TOKEN").expect("valid");
    let err = sink.check().await.expect_err("ambiguous");
    assert!(
        matches!(&err, SinkError::DuplicateVar { lines, .. } if lines == &[1, 3]),
        "{err:?}"
    );
    assert_no_secret(&err, OLD_SECRET);
    assert_eq!(std::fs::read_to_string(&path).expect("read"), before);

    // Once, or not at all, or no file yet: nothing to refuse.
    for text in ["A=1\n", "TOKEN=x\nA=1\n", "# TOKEN=x\nTOKEN=y\n"] {
        std::fs::write(&path, text).expect("write");
        sink.check().await.expect(text);
    }
    EnvFileSink::new(dir.path().join("new.env"), "TOKEN")
        .expect("valid")
        .check()
        .await
        .expect("a new file");

    let missing = dir.path().join("no-such-dir").join(".env");
    assert_refused(
        EnvFileSink::new(&missing, "TOKEN")
            .expect("valid")
            .check()
            .await,
        "does not exist",
    );
    assert_refused(
        EnvFileSink::new(dir.path(), "TOKEN")
            .expect("valid")
            .check()
            .await,
        "is a directory",
    );
}

#[cfg(unix)]
#[tokio::test]
async fn env_file_check_refuses_a_file_it_cannot_read() {
    let (_dir, path) = file_holding(".env", "TOKEN=x\n");
    set_mode(&path, 0o000);
    if std::fs::read(&path).is_ok() {
        // A privileged user reads any file: there is nothing to refuse.
        eprintln!("running with the right to read any file: the unreadable case is not run");
        return;
    }
    let err = EnvFileSink::new(&path, "TOKEN")
        .expect("valid")
        .check()
        .await
        .expect_err("unreadable");
    assert!(failed_at(&err, WriteStep::Read), "{err:?}");
}

#[tokio::test]
async fn file_sink_current_reads_back_the_secret_without_one_newline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("token");
    let sink = FileSink::new(&path);
    assert!(sink.current().await.expect("no file").is_none());

    sink.store(&secret(SECRET), &meta()).await.expect("stored");
    let read = sink.current().await.expect("read").expect("a secret");
    assert_eq!(read.expose_secret(), SECRET);
    assert!(!format!("{read:?}").contains(SECRET), "Debug redacts it");

    let bare = FileSink::new(&path).trailing_newline(false);
    bare.store(&secret(OLD_SECRET), &meta())
        .await
        .expect("stored");
    let read = bare.current().await.expect("read").expect("a secret");
    assert_eq!(read.expose_secret(), OLD_SECRET);

    for (content, expected) in [("abc\r\n", "abc"), ("abc\n\n", "abc\n"), ("", "")] {
        std::fs::write(&path, content).expect("write");
        let read = sink.current().await.expect("read").expect("a secret");
        assert_eq!(read.expose_secret(), expected, "{content:?}");
    }

    std::fs::write(&path, b"\xff\xfe").expect("write");
    let err = sink.current().await.expect_err("not text");
    assert!(failed_at(&err, WriteStep::ReadSecret), "{err:?}");
    assert!(
        err.to_string().contains("could not read the secret in"),
        "{err}"
    );
}

/// Reading a sink's secret back says so, and a directory where the secret
/// should be is refused as one, by both file sinks.
#[tokio::test]
async fn reading_the_secret_back_from_a_directory_says_what_failed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let errors = [
        FileSink::new(dir.path()).current().await,
        EnvFileSink::new(dir.path(), "TOKEN")
            .expect("valid")
            .current()
            .await,
    ];
    for result in errors {
        let err = result.expect_err("a directory");
        assert!(failed_at(&err, WriteStep::ReadSecret), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("could not read the secret in"), "{text}");
        assert!(text.contains("it is a directory, not a file"), "{text}");
    }
}

/// A spec is checked before any request for what can be seen of its sink:
/// a directory as `file:` or `env-file:`, a missing directory, a symbolic
/// link to nothing; a path that can take the secret, and standard output,
/// pass.
#[tokio::test]
async fn sink_specs_check_what_can_be_seen_before_any_request() {
    let dir = tempfile::tempdir().expect("tempdir");
    let at = |rest: &str| format!("{}{rest}", dir.path().display());
    let refused = [
        (format!("file:{}", at("")), "it is a directory, not a file"),
        (
            format!("env-file:{}:TOKEN", at("")),
            "it is a directory, not a file",
        ),
        (
            format!("file:{}", at("/missing/unit.token")),
            "does not exist",
        ),
        (
            format!("env-file:{}:TOKEN", at("/missing/.env")),
            "does not exist",
        ),
    ];
    for (spec, says) in refused {
        let parsed: SinkSpec = spec.parse().expect("a spec");
        let err = parsed.check().await.expect_err(&spec);
        assert!(failed_at(&err, WriteStep::Resolve), "{spec}: {err:?}");
        assert!(err.to_string().contains(says), "{spec}: {err}");
    }
    #[cfg(unix)]
    {
        let link = dir.path().join("dangling");
        std::os::unix::fs::symlink(dir.path().join("nowhere/x"), &link).expect("symlink");
        let spec: SinkSpec = format!("file:{}", link.display()).parse().expect("a spec");
        assert!(spec.check().await.is_err(), "a link to nothing");
    }
    for spec in [
        format!("file:{}", at("/unit.token")),
        format!("env-file:{}:TOKEN", at("/.env")),
        "-".to_owned(),
    ] {
        let parsed: SinkSpec = spec.parse().expect("a spec");
        parsed.check().await.expect(&spec);
    }
    assert_eq!(
        entries(dir.path()),
        ["dangling"][..usize::from(cfg!(unix))],
        "nothing written"
    );
}

#[tokio::test]
async fn env_file_current_reads_back_every_value_the_sink_writes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(".env");
    let sink = EnvFileSink::new(&path, "TOKEN").expect("valid");
    assert!(sink.current().await.expect("no file").is_none());
    std::fs::write(&path, "A=1\n").expect("write");
    assert!(sink.current().await.expect("absent").is_none());

    // Bare, single-quoted and double-quoted values.
    for value in [SECRET, "a b#$\"`", "it's", "", "  spaced  "] {
        sink.store(&secret(value), &meta()).await.expect(value);
        let read = sink.current().await.expect("read").expect("a value");
        assert_eq!(read.expose_secret(), value);
    }
    assert!(
        std::fs::read_to_string(&path)
            .expect("read")
            .starts_with("A=1\n")
    );
}

#[tokio::test]
async fn env_file_current_reads_lines_written_by_hand() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(".env");
    let sink = EnvFileSink::new(&path, "TOKEN").expect("valid");
    let read = async |text: &str| {
        std::fs::write(&path, text).expect("write");
        sink.current().await.expect(text)
    };
    for (text, value) in [
        ("TOKEN=abc\n", "abc"),
        ("export TOKEN = abc   # note\r\n", "abc"),
        ("TOKEN=abc \t\n", "abc"),
        ("TOKEN='a \"b\" $c' # note\n", "a \"b\" $c"),
        ("TOKEN=\"a\\\"b\\\\c\"\n", "a\"b\\c"),
        ("TOKEN=\n", ""),
    ] {
        let read = read(text).await;
        assert_eq!(
            read.as_ref().map(|s| s.expose_secret()),
            Some(value),
            "{text:?}"
        );
    }
    // What readers expand differently, a quote never closed, and another
    // variable: no value.
    for text in [
        "TOKEN=\"x$HOME\"\n",
        "TOKEN=\"x`id`\"\n",
        "TOKEN='abc\n",
        "OTHER=1\n",
    ] {
        assert!(read(text).await.is_none(), "{text:?}");
    }
    std::fs::write(&path, "TOKEN=a\nTOKEN=b\n").expect("write");
    let err = sink.current().await.expect_err("ambiguous");
    assert!(
        matches!(&err, SinkError::DuplicateVar { lines, .. } if lines == &[1, 2]),
        "{err:?}"
    );
}

/// Polls a future that never waits (a sink with no Tokio runtime does its
/// file work in place) on this thread, so that a subscriber set for this
/// thread sees its events.
#[cfg(unix)]
fn run_here<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the sink waited with no runtime"),
    }
}

#[cfg(unix)]
#[test]
fn env_file_others_may_read_keeps_its_mode_with_a_warning() {
    let (_dir, path) = file_holding(".env", "A=1\n");
    let sink = EnvFileSink::new(&path, "TOKEN").expect("valid");
    for (bits, warned) in [(0o644, true), (0o640, true), (0o604, true), (0o600, false)] {
        set_mode(&path, bits);
        let log = Arc::new(Mutex::new(Vec::<u8>::new()));
        let writer = Arc::clone(&log);
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || LogWriter(Arc::clone(&writer)))
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            run_here(sink.store(&secret(SECRET), &meta())).expect("stored");
        });
        let log = String::from_utf8(log.lock().expect("log").clone()).expect("UTF-8");
        assert_eq!(log.contains("WARN"), warned, "{bits:o}: {log}");
        if warned {
            assert!(log.contains("readable by its group or others"), "{log}");
            assert!(log.contains(&format!("mode={bits:04o}")), "{log}");
            assert!(log.contains(&path.display().to_string()), "{log}");
        }
        assert!(!log.contains(SECRET), "{log}");
        assert_eq!(mode(&path), bits, "the mode is kept");
    }
}

/// A writer into a shared buffer, for a subscriber's log.
#[cfg(unix)]
struct LogWriter(Arc<Mutex<Vec<u8>>>);

#[cfg(unix)]
impl io::Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().expect("log").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Writers of one file at once.

/// How many rounds the concurrent-writer tests run.
const WRITER_ROUNDS: usize = 40;

/// The values of `vars` in the dotenv file at `path`, read by an
/// independent reader; `None` for a variable the file lacks.
fn env_values(path: &Path, vars: &[&str]) -> Vec<Option<String>> {
    let pairs: Vec<(String, String)> = dotenvy::from_path_iter(path)
        .expect("a dotenv file")
        .map(|pair| pair.expect("a dotenv line"))
        .collect();
    vars.iter()
        .map(|var| pairs.iter().find(|(k, _)| k == var).map(|(_, v)| v.clone()))
        .collect()
}

/// Two sinks set two different variables of one env file at the same
/// moment, each holding its temporary file a while before the rename so
/// that their writes overlap: both variables are in the file after every
/// round (a read, edit and replace without a lock loses one of them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_variables_of_one_env_file_stored_at_once_are_both_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(".env");
    let mut lost = Vec::new();
    for round in 0..WRITER_ROUNDS {
        std::fs::write(&path, "# deploy\nREGION=eu\n").expect("write");
        let stores: Vec<_> = ["UNIT_API_TOKEN", "MAILTRAP_API_TOKEN"]
            .into_iter()
            .map(|var| {
                let sink = EnvFileSink::new(&path, var)
                    .expect("valid")
                    .before_rename(|_| {
                        std::thread::sleep(std::time::Duration::from_millis(15));
                        Ok(())
                    });
                let value = format!("{var}-{round}");
                tokio::spawn(async move { sink.store(&secret(&value), &meta()).await })
            })
            .collect();
        for store in stores {
            store.await.expect("the task").expect("stored");
        }
        let values = env_values(&path, &["REGION", "UNIT_API_TOKEN", "MAILTRAP_API_TOKEN"]);
        let expected = [
            Some("eu".to_owned()),
            Some(format!("UNIT_API_TOKEN-{round}")),
            Some(format!("MAILTRAP_API_TOKEN-{round}")),
        ];
        if values != expected {
            lost.push((round, values));
        }
    }
    assert!(lost.is_empty(), "rounds that lost a variable: {lost:?}");
    assert_eq!(entries(dir.path()), [".env"]);
    assert!(
        dir.path().join("..env.lock").exists(),
        "the lock file stays"
    );
}

/// The same across processes: two `api-tokens` processes at once, each
/// creating a token whose secret goes to its own variable of one env file,
/// large enough that reading and replacing it takes a while: both
/// variables are in the file after every round, and both runs exit 0.
#[test]
fn two_processes_setting_different_variables_of_one_env_file_keep_both() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(".env");
    // About 4 MiB of comments before the variables: each process takes
    // milliseconds between its read and its rename.
    let mut filler = String::from("REGION=eu\n");
    let line = format!("# {}\n", "x".repeat(1021));
    for _ in 0..4096 {
        filler.push_str(&line);
    }
    let mut lost = Vec::new();
    for round in 0..WRITER_ROUNDS {
        std::fs::write(&path, &filler).expect("write");
        let children: Vec<_> = ["UNIT_API_TOKEN", "MAILTRAP_API_TOKEN"]
            .into_iter()
            .map(|var| {
                let spec = format!("env-file:{}:{var}", path.display());
                let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_api-tokens"));
                command
                    .args(["--fake", "mailtrap", "create", "--name", var])
                    .args(["--permission", "account:3229:admin", "--secret-to", &spec])
                    .env_clear()
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::piped());
                command.spawn().expect("api-tokens runs")
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().expect("api-tokens ends");
            assert!(
                out.status.success(),
                "round {round}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let values = env_values(&path, &["REGION", "UNIT_API_TOKEN", "MAILTRAP_API_TOKEN"]);
        if values.iter().any(Option::is_none) {
            let present: Vec<bool> = values.iter().map(Option::is_some).collect();
            lost.push((round, present));
        }
        assert_ne!(values[1], values[2], "two tokens, two secrets");
    }
    assert!(lost.is_empty(), "rounds that lost a variable: {lost:?}");
}

// ---------------------------------------------------------------------------
// What a sink is told.

/// A key-value store, keyed by service and label as the "plugging in a
/// secrets manager" example keys it: the keys it ended with, and the id of
/// the token whose secret each holds.
fn keyed_store() -> (
    impl SecretSink,
    Arc<Mutex<std::collections::BTreeMap<String, String>>>,
) {
    let keys = Arc::new(Mutex::new(std::collections::BTreeMap::new()));
    let seen = Arc::clone(&keys);
    let sink = sink::from_fn(move |_secret: SecretString, meta: SecretMeta| {
        let seen = Arc::clone(&seen);
        async move {
            let key = format!("{}/{}", meta.service(), meta.name().unwrap_or(meta.id()));
            seen.lock().expect("keys").insert(key, meta.id().to_owned());
            Ok(())
        }
    });
    (sink, keys)
}

/// Rotations hand the sink the token's label without the marker (nor,
/// after a Mailtrap reset, the ids that resets append), so that a store
/// keyed by the name keeps one key across rotations; the whole name is
/// still there for a sink that wants it.
#[tokio::test]
async fn rotations_tell_the_sink_the_label_without_the_marker() {
    use api_tokens::lifecycle::{MailtrapPlan, UnitPlan};
    use api_tokens::testing::UnitTokenSeed;
    use api_tokens::unit::Scope;

    let (fake, life) = lifecycle_support::unit().await;
    let mut id = fake
        .insert_token(UnitTokenSeed::new("CI deploy").scope(Scope::Customers))
        .id;
    let (store, keys) = keyed_store();
    let plan = UnitPlan::new([Scope::Customers], Utc::now() + chrono::TimeDelta::days(30));
    for _ in 0..3 {
        let rotation = life.rotate(&id, &plan, &store).await.expect("rotated");
        assert!(
            rotation
                .new
                .name
                .as_deref()
                .is_some_and(|n| n.contains("[at:")),
            "the service's description carries the marker: {:?}",
            rotation.new.name
        );
        id = rotation.new.id.parse().expect("an id");
    }
    assert_eq!(
        *keys.lock().expect("keys"),
        [("Unit/CI deploy".to_owned(), id.to_string())].into(),
        "one key, holding the last token"
    );

    let (fake, life) = lifecycle_support::mailtrap().await;
    let mut id = fake
        .insert_token(lifecycle_support::project_viewer("nightly export"))
        .id;
    let (store, keys) = keyed_store();
    for plan in [
        MailtrapPlan::new().recreate(),
        MailtrapPlan::new(),
        MailtrapPlan::new(),
    ] {
        let rotation = life.rotate(&id, &plan, &store).await.expect("rotated");
        id = rotation.new.id.parse().expect("an id");
    }
    assert_eq!(
        *keys.lock().expect("keys"),
        [("Mailtrap/nightly export".to_owned(), id.to_string())].into(),
        "one key, holding the last token"
    );
}

/// The case as it was found: one tokens file whose Unit and Mailtrap
/// entries write two variables of one env file, applied (`api-tokens
/// --fake apply`, which runs both services' actions at once): both
/// variables are in the file after every round, and the command exits 0.
#[test]
fn apply_of_two_entries_into_one_env_file_keeps_both_variables() {
    let dir = tempfile::tempdir().expect("tempdir");
    let env = dir.path().join(".env");
    let tokens = dir.path().join("tokens.toml");
    std::fs::write(
        &tokens,
        format!(
            "[[mailtrap]]\nname = \"ci-sender\"\npermissions = [\"account:3229:admin\"]\n\
             expires = \"90d\"\nsecret_to = \"env-file:{env}:MAILTRAP_API_TOKEN\"\n\n\
             [[unit]]\ndescription = \"ci-deploy\"\nscopes = [\"customers\"]\n\
             lifetime = \"90d\"\nsecret_to = \"env-file:{env}:UNIT_API_TOKEN\"\n",
            env = env.display()
        ),
    )
    .expect("write");
    // Some 1 MiB of comments: each store takes a while between its read
    // and its rename.
    let line = format!("# {}\n", "x".repeat(1021));
    let filler: String = std::iter::once("REGION=eu\n".to_owned())
        .chain(std::iter::repeat_n(line, 1024))
        .collect();
    let mut lost = Vec::new();
    for round in 0..WRITER_ROUNDS {
        std::fs::write(&env, &filler).expect("write");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_api-tokens"))
            .args(["--fake", "apply", "-f"])
            .arg(&tokens)
            .env_clear()
            .output()
            .expect("api-tokens runs");
        assert!(
            out.status.success(),
            "round {round}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let values = env_values(&env, &["REGION", "UNIT_API_TOKEN", "MAILTRAP_API_TOKEN"]);
        if values.iter().any(Option::is_none) {
            lost.push((
                round,
                values.iter().map(Option::is_some).collect::<Vec<_>>(),
            ));
        }
    }
    assert!(lost.is_empty(), "rounds that lost a variable: {lost:?}");
}

/// A sink that keeps what it is told of each secret it takes.
fn telling_sink() -> (impl SecretSink, Arc<Mutex<Vec<SecretMeta>>>) {
    let told = Arc::new(Mutex::new(Vec::new()));
    let keep = Arc::clone(&told);
    let sink = sink::from_fn(move |_secret, meta: SecretMeta| {
        let keep = Arc::clone(&keep);
        async move {
            keep.lock().expect("told").push(meta);
            Ok(())
        }
    });
    (sink, told)
}

/// Asserts that `meta` carries the whole record of a Unit token of user
/// `user` with `scopes` and `source_ips`, living about `days`.
#[track_caller]
fn assert_whole_unit_record(
    meta: &SecretMeta,
    user: &str,
    scopes: &[&str],
    ips: &[&str],
    days: i64,
) {
    assert_eq!(
        meta.attribute("user_id"),
        Some(&serde_json::json!(user)),
        "{meta:?}"
    );
    assert_eq!(
        meta.attribute("scopes"),
        Some(&serde_json::json!(scopes)),
        "{meta:?}"
    );
    assert_eq!(
        meta.attribute("source_ips"),
        Some(&serde_json::json!(ips)),
        "{meta:?}"
    );
    let lifetime = meta
        .attribute("lifetime_secs")
        .and_then(serde_json::Value::as_i64)
        .unwrap_or_else(|| panic!("no lifetime_secs: {meta:?}"));
    assert!((lifetime - days * 86_400).abs() <= 5, "{lifetime}");
}

/// Issue 27, item 4: every path that hands a Unit token's secret to a sink
/// tells it the whole record (user, scopes, source addresses, lifetime),
/// so that a token minted into a store can be rotated from it: `mint_into`
/// and `rotate` into any sink, not only `rotate_from` a store.
#[tokio::test]
async fn mint_into_and_rotate_tell_the_sink_the_whole_unit_record() {
    use api_tokens::lifecycle::UnitPlan;
    use api_tokens::unit::{CreateApiToken, Scope};

    let (fake, life) = lifecycle_support::unit().await;
    let user = fake.user_id().to_string();
    let (store, told) = telling_sink();
    let request = CreateApiToken::new(
        "CI deploy",
        [Scope::Customers, Scope::Accounts],
        Utc::now() + chrono::TimeDelta::days(30),
    )
    .source_ips(["10.0.0.0/8".parse().expect("a range")]);
    let minted = life.mint_into(&request, &store).await.expect("minted");
    {
        let told = told.lock().expect("told");
        assert_eq!(told.len(), 1);
        assert_eq!(told[0].id(), minted.id);
        assert_eq!(told[0].name(), Some("CI deploy"));
        assert_whole_unit_record(
            &told[0],
            &user,
            &["customers", "accounts"],
            &["10.0.0.0/8"],
            30,
        );
    }

    // A rotation keeps the old token's source addresses, and says so.
    let plan = UnitPlan::new([Scope::Customers], Utc::now() + chrono::TimeDelta::days(60));
    let old = minted.id.parse().expect("an id");
    let rotation = life.rotate(&old, &plan, &store).await.expect("rotated");
    let told = told.lock().expect("told");
    assert_eq!(told.len(), 2);
    assert_eq!(told[1].id(), rotation.new.id);
    assert_whole_unit_record(&told[1], &user, &["customers"], &["10.0.0.0/8"], 60);
}
