//! What the lifecycle tests share: fakes with clients, sinks, and checks
//! made through the fakes' own credentials.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use api_tokens::lifecycle::sink::{self, FileSink, SecretMeta, SecretSink, SinkError};
use api_tokens::lifecycle::{MailtrapLifecycle, UnitLifecycle};
use api_tokens::mailtrap::{AccessLevel, ResourceType};
use api_tokens::testing::{MailtrapFake, MailtrapTokenSeed, UnitFake};
use api_tokens::{RetryPolicy, mailtrap, unit};
use secrecy::{ExposeSecret, SecretString};

pub mod concurrent;
pub mod probes;

/// A lifecycle on a client of its own of the Unit fake; no retries, so
/// that each injected fault is seen once.
pub fn unit_life(fake: &UnitFake) -> UnitLifecycle {
    let client = unit::Client::builder()
        .token(fake.token().clone())
        .base_url(fake.uri())
        .retry(RetryPolicy::disabled())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    UnitLifecycle::new(client, fake.user_id())
}

/// A lifecycle on a client of its own of the Mailtrap fake's account; no
/// retries.
pub fn mailtrap_life(fake: &MailtrapFake) -> MailtrapLifecycle {
    let client = mailtrap::Client::builder()
        .token(fake.token().clone())
        .account_id(fake.account_id())
        .base_url(fake.uri())
        .retry(RetryPolicy::disabled())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    MailtrapLifecycle::new(client)
}

/// A Unit fake and a lifecycle on it.
pub async fn unit() -> (UnitFake, UnitLifecycle) {
    let fake = UnitFake::start().await;
    let life = unit_life(&fake);
    (fake, life)
}

/// A Mailtrap fake and a lifecycle on its account.
pub async fn mailtrap() -> (MailtrapFake, MailtrapLifecycle) {
    let fake = MailtrapFake::start().await;
    let life = mailtrap_life(&fake);
    (fake, life)
}

/// The Mailtrap token most rotations start from: `name`, viewer of
/// project 7.
pub fn project_viewer(name: &str) -> MailtrapTokenSeed {
    MailtrapTokenSeed::new(name).permission(ResourceType::Project, 7, AccessLevel::Viewer)
}

/// Whether Unit accepts `secret`: a list made with it is answered.
pub async fn unit_accepts(life: &UnitLifecycle, secret: &str) -> bool {
    let client = life
        .client()
        .with_token(SecretString::from(secret.to_owned()))
        .expect("client");
    client
        .org_api_tokens(life.tokens().user_id().clone())
        .list()
        .await
        .is_ok()
}

/// Whether Mailtrap accepts `secret`.
pub async fn mailtrap_accepts(life: &MailtrapLifecycle, secret: &str) -> bool {
    let client = life
        .client()
        .with_token(SecretString::from(secret.to_owned()))
        .expect("client");
    client.api_tokens().list().await.is_ok()
}

/// Whether Unit refuses `secret` as no token's (401), as a revoked
/// token's secret is: not merely any failure of a call made with it.
pub async fn unit_refuses(life: &UnitLifecycle, secret: &str) -> bool {
    let client = life
        .client()
        .with_token(SecretString::from(secret.to_owned()))
        .expect("client");
    let answer = client
        .org_api_tokens(life.tokens().user_id().clone())
        .list()
        .await;
    matches!(answer, Err(e) if e.status() == Some(401))
}

/// Whether Mailtrap refuses `secret` as no token's (401).
pub async fn mailtrap_refuses(life: &MailtrapLifecycle, secret: &str) -> bool {
    let client = life
        .client()
        .with_token(SecretString::from(secret.to_owned()))
        .expect("client");
    matches!(client.api_tokens().list().await, Err(e) if e.status() == Some(401))
}

/// Whether the token `id` is among those the service lists (asked with
/// the lifecycle's own credentials).
pub async fn unit_lists(life: &UnitLifecycle, id: &str) -> bool {
    let listed = life.tokens().list().await.expect("list");
    listed.iter().any(|t| t.id.as_str() == id)
}

/// Whether the token `id` is among those Mailtrap lists.
pub async fn mailtrap_lists(life: &MailtrapLifecycle, id: &str) -> bool {
    let listed = life.tokens().list().await.expect("list");
    listed.iter().any(|t| t.id.to_string() == id)
}

/// A file sink that also reads back what it holds
/// ([`SecretSink::current`]), as a rotation that finds its work done asks.
pub struct ReadBack(pub FileSink, pub PathBuf);

#[sink::async_trait]
impl SecretSink for ReadBack {
    async fn store(&self, secret: &SecretString, meta: &SecretMeta) -> Result<(), SinkError> {
        self.0.store(secret, meta).await
    }

    async fn current(&self) -> Result<Option<SecretString>, SinkError> {
        Ok(std::fs::read_to_string(&self.1)
            .ok()
            .map(|s| SecretString::from(s.trim_end_matches('\n').to_owned())))
    }

    fn describe(&self) -> String {
        self.0.describe()
    }
}

/// A file sink in `dir`, holding `initial` (the old secret) to begin with,
/// that reads back what it holds.
pub fn file_sink(dir: &Path, initial: &SecretString) -> (ReadBack, PathBuf) {
    let path = dir.join("token");
    std::fs::write(&path, format!("{}\n", initial.expose_secret())).expect("write");
    (ReadBack(FileSink::new(&path), path.clone()), path)
}

/// A file sink holding `initial`, in a directory of its own that lasts as
/// long as the [`tempfile::TempDir`] given first.
pub fn temp_file_sink(initial: &SecretString) -> (tempfile::TempDir, ReadBack, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (sink, path) = file_sink(dir.path(), initial);
    (dir, sink, path)
}

/// A fake holding one token (the old one), a lifecycle on it, and a file
/// that holds the old token's secret to begin with.
pub struct Seeded<F, L, T> {
    pub fake: F,
    pub life: L,
    pub old: T,
    pub path: PathBuf,
    _dir: tempfile::TempDir,
}

impl<F, L, T> Seeded<F, L, T> {
    /// Writes `secret`, the old token's, to a file in a directory of its
    /// own.
    pub fn new(fake: F, life: L, old: T, secret: &SecretString) -> Self {
        let (dir, _, path) = temp_file_sink(secret);
        Seeded {
            fake,
            life,
            old,
            path,
            _dir: dir,
        }
    }

    /// A sink on the file, that reads back what it holds.
    pub fn sink(&self) -> ReadBack {
        ReadBack(FileSink::new(&self.path), self.path.clone())
    }
}

/// A sink whose write lands but whose answer is lost: it stores in the
/// file it reads back, then reports a failure, as a secrets manager does
/// when its answer times out on the way back.
pub struct LostAnswer(pub ReadBack);

#[sink::async_trait]
impl SecretSink for LostAnswer {
    async fn store(&self, secret: &SecretString, meta: &SecretMeta) -> Result<(), SinkError> {
        self.0.store(secret, meta).await?;
        Err(SinkError::other("vault", "the call timed out"))
    }

    async fn current(&self) -> Result<Option<SecretString>, SinkError> {
        self.0.current().await
    }

    fn describe(&self) -> String {
        self.0.describe()
    }
}

/// A sink whose check fails: nothing may be sent.
pub fn unwritable_sink() -> impl SecretSink {
    struct Unwritable;
    #[sink::async_trait]
    impl SecretSink for Unwritable {
        async fn store(&self, _: &SecretString, _: &SecretMeta) -> Result<(), SinkError> {
            Ok(())
        }
        async fn check(&self) -> Result<(), SinkError> {
            Err(SinkError::other("vault", "the mount is sealed"))
        }
    }
    Unwritable
}

/// The secret a file sink holds.
pub fn stored(path: &Path) -> String {
    std::fs::read_to_string(path)
        .expect("read")
        .trim_end_matches('\n')
        .to_owned()
}

/// A sink that always fails, writing nothing.
pub fn failing_sink() -> impl SecretSink {
    sink::from_fn(|_: SecretString, _: SecretMeta| async {
        Err(SinkError::other("vault", "the mount is sealed"))
    })
}

/// A sink that never finishes: a process stopped while storing.
pub fn hanging_sink() -> impl SecretSink {
    sink::from_fn(|_: SecretString, _: SecretMeta| std::future::pending())
}

/// A file sink that writes, then never returns: a process stopped just
/// after the secret reached the file.
pub struct WritesThenHangs<S>(pub S);

#[sink::async_trait]
impl<S: SecretSink> SecretSink for WritesThenHangs<S> {
    async fn store(&self, secret: &SecretString, meta: &SecretMeta) -> Result<(), SinkError> {
        self.0.store(secret, meta).await?;
        std::future::pending().await
    }
}

/// How long a call may take before the test stops it (a crash).
pub const CRASH_AFTER: Duration = Duration::from_millis(700);
/// How long an injected delay holds an answer back: past `CRASH_AFTER`.
pub const HELD: Duration = Duration::from_secs(3);

/// A file sink whose `check` (what a rotation calls first, before it takes
/// the sink's writer lock) waits until every run sharing the barrier has
/// reached it: runs spawned "at once" then meet at the lock however late
/// the scheduler starts one of them, instead of a late one finding the
/// rotation already done.
pub struct Rendezvous {
    pub inner: FileSink,
    pub barrier: std::sync::Arc<tokio::sync::Barrier>,
}

#[sink::async_trait]
impl SecretSink for Rendezvous {
    async fn store(&self, secret: &SecretString, meta: &SecretMeta) -> Result<(), SinkError> {
        self.inner.store(secret, meta).await
    }

    async fn check(&self) -> Result<(), SinkError> {
        self.barrier.wait().await;
        self.inner.check().await
    }

    async fn current(&self) -> Result<Option<SecretString>, SinkError> {
        self.inner.current().await
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn writer_lock(&self) -> Option<sink::WriterLock> {
        self.inner.writer_lock()
    }
}
