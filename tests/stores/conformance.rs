//! The store conformance suite (`api_tokens::testing::store_conformance`)
//! on every store the crate ships, and on a store that lets the last writer
//! win, which must fail it.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use api_tokens::lifecycle::sink::{
    EnvFileSink, FileSink, SecretMeta, SecretSink, SinkError, VaultKvSink, async_trait,
};
use api_tokens::testing::store_conformance::{
    self, Capabilities, Check, Outcome, StoreUnderTest, Stored,
};
use secrecy::SecretString;

use crate::openbao::{OpenBao, unique_path};

fn io(e: std::io::Error) -> SinkError {
    SinkError::other("test store", e)
}

/// `file:PATH`: one file per location; no versions, no compare-and-set.
struct Files(tempfile::TempDir);

#[async_trait]
impl StoreUnderTest for Files {
    fn name(&self) -> String {
        "file".to_owned()
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities::full()
            .without_compare_and_set()
            .without_previous()
    }
    async fn fresh(&self) -> Result<String, SinkError> {
        let path = self
            .0
            .path()
            .join(format!("{:016x}.token", fastrand::u64(..)));
        Ok(path.display().to_string())
    }
    fn open(&self, location: &str) -> Result<Box<dyn SecretSink>, SinkError> {
        Ok(Box::new(FileSink::new(location)))
    }
    async fn read_back(&self, location: &str) -> Result<Option<Stored>, SinkError> {
        match std::fs::read_to_string(location) {
            Ok(text) => Ok(Some(Stored::new(SecretString::from(
                text.trim_end_matches('\n').to_owned(),
            )))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(e)),
        }
    }
}

/// `env-file:PATH:VAR`: one variable of a dotenv file that holds others.
struct EnvFiles(tempfile::TempDir);

const VAR: &str = "API_TOKEN";

#[async_trait]
impl StoreUnderTest for EnvFiles {
    fn name(&self) -> String {
        "env-file".to_owned()
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities::full()
            .without_compare_and_set()
            .without_previous()
    }
    async fn fresh(&self) -> Result<String, SinkError> {
        let path: PathBuf = self
            .0
            .path()
            .join(format!("{:016x}.env", fastrand::u64(..)));
        std::fs::write(&path, "# deploy\nOTHER=kept\n").map_err(io)?;
        Ok(path.display().to_string())
    }
    fn open(&self, location: &str) -> Result<Box<dyn SecretSink>, SinkError> {
        Ok(Box::new(EnvFileSink::new(location, VAR)?))
    }
    async fn read_back(&self, location: &str) -> Result<Option<Stored>, SinkError> {
        // An independent dotenv reader.
        let vars = dotenvy::from_path_iter(location).map_err(|e| SinkError::other("dotenvy", e))?;
        for item in vars {
            let (key, value) = item.map_err(|e| SinkError::other("dotenvy", e))?;
            if key == VAR {
                return Ok(Some(Stored::new(SecretString::from(value))));
            }
        }
        Ok(None)
    }
}

/// `vault:MOUNT/PATH` on a real OpenBao server, read back through the KV
/// API at the current version and the one before.
struct Vault(OpenBao);

#[async_trait]
impl StoreUnderTest for Vault {
    fn name(&self) -> String {
        "vault (OpenBao)".to_owned()
    }
    async fn fresh(&self) -> Result<String, SinkError> {
        Ok(unique_path("conformance"))
    }
    fn open(&self, location: &str) -> Result<Box<dyn SecretSink>, SinkError> {
        Ok(Box::new(self.0.sink(location)))
    }
    async fn read_back(&self, location: &str) -> Result<Option<Stored>, SinkError> {
        Ok(self
            .0
            .sink(location)
            .current_record()
            .await?
            .map(|(_, r)| Stored::new(r.token).with_token_id(r.token_id)))
    }
    async fn read_previous(&self, location: &str) -> Result<Option<Stored>, SinkError> {
        let sink: VaultKvSink = self.0.sink(location);
        let current = sink.current_version().await?;
        if current < 2 {
            return Ok(None);
        }
        Ok(sink
            .record_version(current - 1)
            .await?
            .map(|r| Stored::new(r.token).with_token_id(r.token_id)))
    }
}

#[tokio::test]
async fn file_store_conforms_and_says_it_cannot_compare_and_set() {
    let files = Files(tempfile::tempdir().unwrap());
    let report = store_conformance::run(&files).await;
    println!("{report}");
    assert!(report.passed(), "{report}");
    // The suite's rotations take the sink's writer lock, as the command
    // line's do: the file sink leaves `.NAME.writer.lock` beside the file.
    let locks = std::fs::read_dir(files.0.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".writer.lock"))
        .count();
    assert!(locks > 0, "no rotation of the suite took the writer lock");
    assert!(matches!(
        report.outcome(Check::StaleWriteRefused),
        Some(Outcome::Unsupported(_))
    ));
    assert!(report.to_string().contains("n/a"), "{report}");
}

#[tokio::test]
async fn env_file_store_conforms_and_says_it_cannot_compare_and_set() {
    let report = store_conformance::run(&EnvFiles(tempfile::tempdir().unwrap())).await;
    println!("{report}");
    assert!(report.passed(), "{report}");
    assert!(matches!(
        report.outcome(Check::StaleWriteRefused),
        Some(Outcome::Unsupported(_))
    ));
}

#[tokio::test]
async fn vault_store_conforms_fully() {
    let Some(bao) = OpenBao::start() else {
        return;
    };
    let report = store_conformance::run(&Vault(bao)).await;
    println!("{report}");
    assert!(report.passed(), "{report}");
    assert!(report.unsupported().is_empty(), "{report}");
}

/// A store that claims everything and lets the last writer win.
#[derive(Clone, Default)]
struct LastWriterWins(Arc<Mutex<HashMap<String, (SecretString, String)>>>);

struct Key(LastWriterWins, String);

#[async_trait]
impl SecretSink for Key {
    async fn store(&self, secret: &SecretString, meta: &SecretMeta) -> Result<(), SinkError> {
        let mut map = (self.0).0.lock().unwrap();
        map.insert(self.1.clone(), (secret.clone(), meta.id().to_owned()));
        Ok(())
    }
    async fn current(&self) -> Result<Option<SecretString>, SinkError> {
        Ok((self.0)
            .0
            .lock()
            .unwrap()
            .get(&self.1)
            .map(|(s, _)| s.clone()))
    }
}

#[async_trait]
impl StoreUnderTest for LastWriterWins {
    fn name(&self) -> String {
        "last-writer-wins".to_owned()
    }
    async fn fresh(&self) -> Result<String, SinkError> {
        Ok(format!("{:016x}", fastrand::u64(..)))
    }
    fn open(&self, location: &str) -> Result<Box<dyn SecretSink>, SinkError> {
        Ok(Box::new(Key(self.clone(), location.to_owned())))
    }
    async fn read_back(&self, location: &str) -> Result<Option<Stored>, SinkError> {
        Ok(self
            .0
            .lock()
            .unwrap()
            .get(location)
            .map(|(s, id)| Stored::new(s.clone()).with_token_id(id.clone())))
    }
}

#[tokio::test]
async fn a_last_writer_wins_store_fails_with_a_clear_report() {
    let report = store_conformance::run(&LastWriterWins::default()).await;
    println!("{report}");
    assert!(!report.passed(), "{report}");
    let failures = report.failures();
    let stale = failures
        .iter()
        .find(|(check, _)| *check == Check::StaleWriteRefused)
        .unwrap_or_else(|| panic!("the stale write must fail: {report}"));
    assert!(stale.1.contains("last writer wins"), "{report}");
    let text = report.to_string();
    assert!(
        text.contains("store conformance of last-writer-wins")
            && text.contains("FAIL  a write based on a stale read is refused"),
        "{text}"
    );
    // It also claims versions it does not keep.
    assert!(matches!(
        report.outcome(Check::PreviousKept),
        Some(Outcome::Failed(_))
    ));
}

/// A file store whose every refusal quotes the secret it refused.
struct Leaky(Files);

struct LeakySink;

#[async_trait]
impl SecretSink for LeakySink {
    async fn store(&self, secret: &SecretString, _meta: &SecretMeta) -> Result<(), SinkError> {
        use secrecy::ExposeSecret;
        Err(SinkError::other(
            "leaky",
            format!("will not store {}", secret.expose_secret()),
        ))
    }
}

#[async_trait]
impl StoreUnderTest for Leaky {
    fn name(&self) -> String {
        "leaky".to_owned()
    }
    async fn fresh(&self) -> Result<String, SinkError> {
        self.0.fresh().await
    }
    fn open(&self, _location: &str) -> Result<Box<dyn SecretSink>, SinkError> {
        Ok(Box::new(LeakySink))
    }
    async fn read_back(&self, location: &str) -> Result<Option<Stored>, SinkError> {
        self.0.read_back(location).await
    }
}

#[tokio::test]
async fn a_store_whose_errors_quote_the_secret_fails() {
    let report = store_conformance::run(&Leaky(Files(tempfile::tempdir().unwrap()))).await;
    println!("{report}");
    assert!(
        matches!(
            report.outcome(Check::NoSecretInErrors),
            Some(Outcome::Failed(_))
        ),
        "{report}"
    );
    // The report quotes the errors, with their secrets hidden.
    let text = report.to_string();
    assert!(text.contains("will not store [REDACTED]"), "{text}");
    assert!(!text.contains("v2.public."), "{text}");
    assert!(!text.contains("conformance-first-"), "{text}");
}
