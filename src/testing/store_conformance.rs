//! One conformance suite for secret stores: whether a [`SecretSink`] keeps
//! the guarantees this crate's rotations rely on.
//!
//! [`run`] takes a [`StoreUnderTest`] (how to open the store at a fresh
//! location, and how to read it back) and drives real rotations through it
//! on a [`UnitFake`]. It checks ([`Check`]):
//!
//! - a create writes a record that reads back;
//! - a rotation from the record replaces it, and the previous record stays
//!   readable (for stores that keep versions);
//! - a write based on a stale read is refused as superseded
//!   ([`SinkError::Superseded`]), never last-writer-wins;
//! - three concurrent rotations through it end with one winner and one live
//!   token, whose secret the store holds;
//! - a rotation killed at each step (its sink's check, before the store,
//!   after it) and run again converges;
//! - no error holds a secret.
//!
//! A store that cannot compare-and-set (a file) declares it
//! ([`Capabilities::without_compare_and_set`]): the stale-write check is then
//! reported as not supported, with what that means, rather than passing.
//! A store that does not declare it, and lets the last writer win, fails.
//!
//! # Running it against your own store
//!
//! ```
//! use std::collections::HashMap;
//! use std::sync::{Arc, Mutex};
//!
//! use api_tokens::lifecycle::sink::{SecretMeta, SecretSink, SinkError, async_trait};
//! use api_tokens::testing::store_conformance::{self, Capabilities, Stored, StoreUnderTest};
//! use secrecy::SecretString;
//!
//! /// A store that keeps one secret per key and lets the last writer win.
//! #[derive(Default, Clone)]
//! struct Memory(Arc<Mutex<HashMap<String, (SecretString, String)>>>);
//!
//! struct Handle { store: Memory, key: String }
//!
//! #[async_trait]
//! impl SecretSink for Handle {
//!     async fn store(&self, secret: &SecretString, meta: &SecretMeta) -> Result<(), SinkError> {
//!         let mut map = self.store.0.lock().map_err(|_| SinkError::other("memory", "poisoned"))?;
//!         map.insert(self.key.clone(), (secret.clone(), meta.id().to_owned()));
//!         Ok(())
//!     }
//!     async fn current(&self) -> Result<Option<SecretString>, SinkError> {
//!         let map = self.store.0.lock().map_err(|_| SinkError::other("memory", "poisoned"))?;
//!         Ok(map.get(&self.key).map(|(s, _)| s.clone()))
//!     }
//! }
//!
//! #[async_trait]
//! impl StoreUnderTest for Memory {
//!     fn name(&self) -> String { "memory".to_owned() }
//!     fn capabilities(&self) -> Capabilities {
//!         // Declared: the report says so instead of failing the stale write.
//!         Capabilities::full().without_compare_and_set().without_previous()
//!     }
//!     async fn fresh(&self) -> Result<String, SinkError> {
//!         Ok(format!("key-{}", fastrand::u64(..)))
//!     }
//!     fn open(&self, location: &str) -> Result<Box<dyn SecretSink>, SinkError> {
//!         Ok(Box::new(Handle { store: self.clone(), key: location.to_owned() }))
//!     }
//!     async fn read_back(&self, location: &str) -> Result<Option<Stored>, SinkError> {
//!         let map = self.0.lock().map_err(|_| SinkError::other("memory", "poisoned"))?;
//!         Ok(map.get(location).map(|(s, id)| Stored::new(s.clone()).with_token_id(id.clone())))
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let report = store_conformance::run(&Memory::default()).await;
//! println!("{report}");
//! assert!(report.passed(), "{report}");
//! assert!(!report.unsupported().is_empty(), "no compare-and-set, no versions");
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Notify;

use super::unit_fake::UnitFake;
use crate::RetryPolicy;
use crate::Service;
use crate::lifecycle::sink::{SecretMeta, SecretSink, SinkError, WriterLock, async_trait};
use crate::lifecycle::{RotateError, Rotation, UnitLifecycle, UnitPlan};
use crate::unit::{self, CreateApiToken, Scope, TokenId};

/// The description of the tokens the suite mints.
const LABEL: &str = "store conformance";

/// What a store keeps beyond the secret, as a suite needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// Refuses a write based on a stale read (check-and-set).
    pub compare_and_set: bool,
    /// Keeps the record a write replaced, readable with
    /// [`StoreUnderTest::read_previous`].
    pub keeps_previous: bool,
}

impl Capabilities {
    /// Everything: compare-and-set and the previous record. What a store
    /// is held to unless it declares less.
    pub fn full() -> Capabilities {
        Capabilities {
            compare_and_set: true,
            keeps_previous: true,
        }
    }

    /// Declares that the store lets the last writer win.
    #[must_use]
    pub fn without_compare_and_set(mut self) -> Capabilities {
        self.compare_and_set = false;
        self
    }

    /// Declares that the store keeps only the current secret.
    #[must_use]
    pub fn without_previous(mut self) -> Capabilities {
        self.keeps_previous = false;
        self
    }
}

impl Default for Capabilities {
    fn default() -> Self {
        Capabilities::full()
    }
}

/// What a store holds at a location, read back by the suite's own means.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Stored {
    /// The secret.
    pub secret: SecretString,
    /// The id of the token the record names, when the store keeps it.
    pub token_id: Option<String>,
}

impl Stored {
    /// A secret read back, without a token id.
    pub fn new(secret: SecretString) -> Stored {
        Stored {
            secret,
            token_id: None,
        }
    }

    /// Adds the token id the record names.
    #[must_use]
    pub fn with_token_id(mut self, id: impl Into<String>) -> Stored {
        self.token_id = Some(id.into());
        self
    }
}

/// A store the suite runs against: a way to get fresh, empty locations in
/// it, to open a sink on one (as a new run of a program would), and to read
/// a location back independently of the sink.
#[async_trait]
pub trait StoreUnderTest: Send + Sync {
    /// The store's name, for the report (`"vault"`, `"file"`).
    fn name(&self) -> String;

    /// What the store declares it keeps; [`Capabilities::full`] unless
    /// overridden.
    fn capabilities(&self) -> Capabilities {
        Capabilities::full()
    }

    /// A new location no one else uses (a path, a secret's name), empty.
    ///
    /// # Errors
    ///
    /// When the store cannot make one.
    async fn fresh(&self) -> Result<String, SinkError>;

    /// A new sink on `location`, sharing nothing with earlier ones but the
    /// store itself.
    ///
    /// # Errors
    ///
    /// When the location cannot be opened.
    fn open(&self, location: &str) -> Result<Box<dyn SecretSink>, SinkError>;

    /// What `location` holds now; `None` when it holds nothing.
    ///
    /// # Errors
    ///
    /// When it cannot be read.
    async fn read_back(&self, location: &str) -> Result<Option<Stored>, SinkError>;

    /// The record the last write replaced, for a store that keeps it
    /// ([`Capabilities::keeps_previous`]). The default reads nothing.
    ///
    /// # Errors
    ///
    /// When it cannot be read.
    async fn read_previous(&self, location: &str) -> Result<Option<Stored>, SinkError> {
        let _ = location;
        Ok(None)
    }
}

/// One guarantee the suite checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Check {
    /// A create writes a record that reads back.
    CreateReadsBack,
    /// A rotation from the record replaces it.
    RotationReplaces,
    /// The replaced record stays readable as the previous one.
    PreviousKept,
    /// A write based on a stale read is refused as superseded.
    StaleWriteRefused,
    /// Three concurrent rotations: one winner, one live token, stored.
    ConcurrentRotations,
    /// A rotation killed at its sink's check and run again converges.
    KilledAtCheck,
    /// A rotation killed after its mint, before its store, converges.
    KilledBeforeStore,
    /// A rotation killed right after its store converges.
    KilledAfterStore,
    /// No error shows a secret.
    NoSecretInErrors,
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Check::CreateReadsBack => "a create writes a record that reads back",
            Check::RotationReplaces => "a rotation from the record replaces it",
            Check::PreviousKept => "the replaced record stays readable as the previous one",
            Check::StaleWriteRefused => "a write based on a stale read is refused (superseded)",
            Check::ConcurrentRotations => {
                "three concurrent rotations: one winner, one live token, stored"
            }
            Check::KilledAtCheck => "a rotation killed at the sink's check, run again, converges",
            Check::KilledBeforeStore => "a rotation killed before its store, run again, converges",
            Check::KilledAfterStore => "a rotation killed after its store, run again, converges",
            Check::NoSecretInErrors => "no error holds a secret",
        })
    }
}

/// How one check went.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The store keeps the guarantee.
    Passed,
    /// It does not: what went wrong.
    Failed(String),
    /// The store declared it cannot keep it: what that means.
    Unsupported(String),
}

/// The suite's findings on one store: each [`Check`] and its [`Outcome`].
/// Its `Display` is a readable report.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Report {
    /// The store's name.
    pub store: String,
    /// Each check, in the order run.
    pub checks: Vec<(Check, Outcome)>,
}

impl Report {
    /// Whether no check failed (checks the store declared it cannot keep
    /// are listed by [`Report::unsupported`]).
    pub fn passed(&self) -> bool {
        self.failures().is_empty()
    }

    /// The failed checks and why.
    pub fn failures(&self) -> Vec<(Check, &str)> {
        self.checks
            .iter()
            .filter_map(|(c, o)| match o {
                Outcome::Failed(why) => Some((*c, why.as_str())),
                _ => None,
            })
            .collect()
    }

    /// The checks the store declared it cannot keep, and what that means.
    pub fn unsupported(&self) -> Vec<(Check, &str)> {
        self.checks
            .iter()
            .filter_map(|(c, o)| match o {
                Outcome::Unsupported(why) => Some((*c, why.as_str())),
                _ => None,
            })
            .collect()
    }

    /// The outcome of `check`, when it ran.
    pub fn outcome(&self, check: Check) -> Option<&Outcome> {
        self.checks
            .iter()
            .find(|(c, _)| *c == check)
            .map(|(_, o)| o)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = |p: fn(&Outcome) -> bool| self.checks.iter().filter(|(_, o)| p(o)).count();
        writeln!(
            f,
            "store conformance of {}: {} passed, {} failed, {} not supported",
            self.store,
            count(|o| matches!(o, Outcome::Passed)),
            count(|o| matches!(o, Outcome::Failed(_))),
            count(|o| matches!(o, Outcome::Unsupported(_))),
        )?;
        for (check, outcome) in &self.checks {
            match outcome {
                Outcome::Passed => writeln!(f, "  ok    {check}")?,
                Outcome::Failed(why) => writeln!(f, "  FAIL  {check}: {why}")?,
                Outcome::Unsupported(why) => writeln!(f, "  n/a   {check}: {why}")?,
            }
        }
        Ok(())
    }
}

/// What the checks saw: every secret, and every error's text.
#[derive(Default)]
struct Seen {
    secrets: Mutex<Vec<SecretString>>,
    errors: Mutex<Vec<String>>,
}

impl Seen {
    fn secret(&self, secret: &SecretString) {
        if let Ok(mut s) = self.secrets.lock() {
            s.push(secret.clone());
        }
    }

    fn fake(&self, fake: &UnitFake) {
        for token in fake.tokens() {
            self.secret(&token.secret);
        }
    }

    fn error(&self, error: &dyn fmt::Debug, display: &dyn fmt::Display) {
        if let Ok(mut e) = self.errors.lock() {
            e.push(format!("{display} {error:?}"));
        }
    }
}

/// A Unit fake and a lifecycle on it: one service for one check.
struct OnFake {
    fake: UnitFake,
}

impl OnFake {
    async fn start() -> OnFake {
        OnFake {
            fake: UnitFake::start().await,
        }
    }

    /// A lifecycle on a client of its own, as a separate run has.
    fn life(&self) -> Result<UnitLifecycle, String> {
        let client = unit::Client::builder()
            .token(self.fake.token().clone())
            .base_url(self.fake.uri())
            .retry(RetryPolicy::disabled())
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| format!("a client of the Unit fake: {e}"))?;
        Ok(UnitLifecycle::new(client, self.fake.user_id()))
    }

    /// The live tokens' ids.
    fn live(&self) -> Vec<String> {
        self.fake
            .tokens()
            .iter()
            .map(|t| t.id.as_str().to_owned())
            .collect()
    }

    /// The secret of live token `id`.
    fn secret_of(&self, id: &str) -> Option<SecretString> {
        self.fake
            .tokens()
            .into_iter()
            .find(|t| t.id.as_str() == id)
            .map(|t| t.secret)
    }
}

fn plan() -> UnitPlan {
    UnitPlan::new([Scope::Customers], Utc::now() + chrono::Duration::days(30))
}

fn same(a: &SecretString, b: &SecretString) -> bool {
    a.expose_secret() == b.expose_secret()
}

/// The suite's run on one store.
struct Suite<'a> {
    store: &'a dyn StoreUnderTest,
    caps: Capabilities,
    seen: Arc<Seen>,
}

impl Suite<'_> {
    /// A sink on `location` that notes every secret it is given or gives.
    fn open(&self, location: &str) -> Result<Box<dyn SecretSink>, String> {
        let inner = self.store.open(location).map_err(|e| {
            self.seen.error(&e, &e);
            format!("open {location}: {e}")
        })?;
        Ok(Box::new(Noting {
            inner,
            seen: self.seen.clone(),
        }))
    }

    async fn read_back(&self, location: &str) -> Result<Option<Stored>, String> {
        match self.store.read_back(location).await {
            Ok(stored) => {
                if let Some(s) = &stored {
                    self.seen.secret(&s.secret);
                }
                Ok(stored)
            }
            Err(e) => {
                self.seen.error(&e, &e);
                Err(format!("read back {location}: {e}"))
            }
        }
    }

    /// Checks that `location` holds the secret of live token `id`.
    async fn holds(&self, service: &OnFake, location: &str, id: &str) -> Result<(), String> {
        let Some(expected) = service.secret_of(id) else {
            return Err(format!("token {id} is not live on the service"));
        };
        let Some(stored) = self.read_back(location).await? else {
            return Err("the store holds nothing".to_owned());
        };
        if !same(&stored.secret, &expected) {
            return Err(format!(
                "the store does not hold the secret of token {id}{}",
                stored
                    .token_id
                    .map(|t| format!(" (its record names token {t})"))
                    .unwrap_or_default()
            ));
        }
        match stored.token_id {
            Some(t) if t != id => Err(format!(
                "the record holds token {id}'s secret but names token {t}"
            )),
            _ => Ok(()),
        }
    }

    /// A fresh location holding a Unit token created through the store;
    /// gives the location and the token's id.
    async fn seeded(&self, service: &OnFake) -> Result<(String, String), String> {
        let location = self.store.fresh().await.map_err(|e| {
            self.seen.error(&e, &e);
            format!("a fresh location: {e}")
        })?;
        let sink = self.open(&location)?;
        let request = CreateApiToken::new(
            LABEL,
            [Scope::Customers],
            Utc::now() + chrono::Duration::days(30),
        );
        let token = service
            .life()?
            .mint_into(&request, &*sink)
            .await
            .map_err(|e| {
                self.seen.error(&e, &e);
                format!("create into the store: {e}")
            })?;
        self.seen.fake(&service.fake);
        Ok((location, token.id))
    }

    /// The token id the record at `location` names, else `fallback`.
    async fn recorded_id(&self, location: &str, fallback: &str) -> Result<TokenId, String> {
        let id = self
            .read_back(location)
            .await?
            .and_then(|s| s.token_id)
            .unwrap_or_else(|| fallback.to_owned());
        id.parse()
            .map_err(|_| format!("the record names token {id}, not a Unit id"))
    }

    async fn create_reads_back(&self) -> Result<(), String> {
        let service = OnFake::start().await;
        let (location, id) = self.seeded(&service).await?;
        self.holds(&service, &location, &id).await?;
        let sink = self.open(&location)?;
        match sink.current().await {
            Ok(Some(current)) if !service.secret_of(&id).is_some_and(|s| same(&s, &current)) => {
                Err("the sink's own current() gives another secret than the store holds".into())
            }
            Ok(_) => Ok(()),
            Err(e) => {
                self.seen.error(&e, &e);
                Err(format!("the sink's current() fails: {e}"))
            }
        }
    }

    /// Rotates from the record; the second outcome is the previous record's.
    async fn rotation_replaces(&self) -> (Result<(), String>, Outcome) {
        let unsupported = Outcome::Unsupported(
            "declared: the store keeps only the current secret, so a rotation cannot be \
             undone from it"
                .to_owned(),
        );
        let service = OnFake::start().await;
        let run = async {
            let (location, old) = self.seeded(&service).await?;
            let old_secret = service.secret_of(&old).ok_or("the created token is gone")?;
            let old_id = self.recorded_id(&location, &old).await?;
            let sink = self.open(&location)?;
            let rotation = service
                .life()?
                .rotate(&old_id, &plan(), &*sink)
                .await
                .map_err(|e| {
                    self.seen.error(&e, &e);
                    format!("the rotation failed: {e}")
                })?;
            self.seen.fake(&service.fake);
            self.holds(&service, &location, &rotation.new.id).await?;
            if service.live() != [rotation.new.id.clone()] {
                return Err(format!(
                    "live tokens after the rotation: {:?}, expected only {}",
                    service.live(),
                    rotation.new.id
                ));
            }
            Ok((location, old, old_secret))
        };
        let (location, old, old_secret) = match run.await {
            Ok(done) => done,
            Err(e) => {
                let previous = if self.caps.keeps_previous {
                    Outcome::Failed("not checked: the rotation failed".to_owned())
                } else {
                    unsupported
                };
                return (Err(e), previous);
            }
        };
        if !self.caps.keeps_previous {
            return (Ok(()), unsupported);
        }
        let previous = match self.store.read_previous(&location).await {
            Ok(Some(p)) if same(&p.secret, &old_secret) => match p.token_id {
                Some(id) if id != old => Outcome::Failed(format!(
                    "the previous record holds the old secret but names token {id}"
                )),
                _ => Outcome::Passed,
            },
            Ok(Some(_)) => Outcome::Failed("the previous record is not the old one".to_owned()),
            Ok(None) => Outcome::Failed(
                "no previous record; declare Capabilities::without_previous() if the store \
                 keeps none"
                    .to_owned(),
            ),
            Err(e) => {
                self.seen.error(&e, &e);
                Outcome::Failed(format!("read the previous record: {e}"))
            }
        };
        (Ok(()), previous)
    }

    async fn stale_write_refused(&self) -> Outcome {
        let result = async {
            let location = self.store.fresh().await.map_err(|e| e.to_string())?;
            let n = fastrand::u64(..);
            let secret = |who: &str| SecretString::from(format!("conformance-{who}-{n:016x}"));
            let (first, a_secret, b_secret) = (secret("first"), secret("a"), secret("b"));
            for s in [&first, &a_secret, &b_secret] {
                self.seen.secret(s);
            }
            let meta = |id: &str| SecretMeta::new(Service::Unit, id).with_name(LABEL);
            let seed = self.open(&location)?;
            seed.store(&first, &meta("1"))
                .await
                .map_err(|e| format!("the first store: {e}"))?;
            // Two runs read the store, then write one after the other.
            let (a, b) = (self.open(&location)?, self.open(&location)?);
            for sink in [&a, &b] {
                sink.check().await.map_err(|e| format!("check: {e}"))?;
                sink.current().await.map_err(|e| format!("current: {e}"))?;
            }
            a.store(&a_secret, &meta("2"))
                .await
                .map_err(|e| format!("the first of two writers was refused: {e}"))?;
            let stale = b.store(&b_secret, &meta("3")).await;
            let held = self.read_back(&location).await?;
            let holds = |s: &SecretString| held.as_ref().is_some_and(|h| same(&h.secret, s));
            Ok::<_, String>(match stale {
                Err(e) if e.is_superseded() => {
                    self.seen.error(&e, &e);
                    if !holds(&a_secret) {
                        Outcome::Failed(
                            "the stale write was refused, but the store no longer holds the \
                             newer secret"
                                .to_owned(),
                        )
                    } else if e.holder().is_some_and(|h| h != "2") {
                        Outcome::Failed(format!(
                            "superseded names token {:?} as the holder, not 2",
                            e.holder()
                        ))
                    } else {
                        Outcome::Passed
                    }
                }
                Err(e) => {
                    self.seen.error(&e, &e);
                    Outcome::Failed(format!(
                        "the stale write failed, but not as superseded (a rotation would not \
                         know it lost): {e}"
                    ))
                }
                Ok(()) if holds(&b_secret) && self.caps.compare_and_set => Outcome::Failed(
                    "last writer wins: a write based on a stale read replaced the newer \
                     secret; a store must refuse it with SinkError::superseded, or declare \
                     Capabilities::without_compare_and_set()"
                        .to_owned(),
                ),
                Ok(()) if holds(&b_secret) => Outcome::Unsupported(
                    "declared: the store cannot compare-and-set, the last writer wins; only \
                     the services' rules keep concurrent rotations apart"
                        .to_owned(),
                ),
                Ok(()) => Outcome::Failed(
                    "the stale write reported success but the store does not hold it".to_owned(),
                ),
            })
        };
        result.await.unwrap_or_else(Outcome::Failed)
    }

    async fn concurrent_rotations(&self) -> Result<(), String> {
        let service = OnFake::start().await;
        let (location, old) = self.seeded(&service).await?;
        let old_id = self.recorded_id(&location, &old).await?;
        let lives = [service.life()?, service.life()?, service.life()?];
        let sinks = [
            self.open(&location)?,
            self.open(&location)?,
            self.open(&location)?,
        ];
        let plan = plan();
        type Run<'r> = Pin<Box<dyn Future<Output = Result<Rotation, RotateError>> + Send + 'r>>;
        let runs: Vec<Run<'_>> = lives
            .iter()
            .zip(&sinks)
            .map(|(life, sink)| Box::pin(life.rotate(&old_id, &plan, &**sink)) as Run<'_>)
            .collect();
        let results = join_all(runs).await;
        self.seen.fake(&service.fake);
        let mut winners = Vec::new();
        for result in &results {
            match result {
                Ok(rotation) => winners.push(rotation.new.id.clone()),
                Err(e) => {
                    self.seen.error(e, e);
                    if e.superseded().is_none() {
                        return Err(format!("a run failed, not superseded: {e}"));
                    }
                }
            }
        }
        let [winner] = winners.as_slice() else {
            return Err(format!(
                "{} runs completed ({winners:?}); exactly one must",
                winners.len()
            ));
        };
        if service.live() != [winner.clone()] {
            return Err(format!(
                "live tokens: {:?}, expected only the winner's {winner}",
                service.live()
            ));
        }
        self.holds(&service, &location, winner).await
    }

    async fn killed(&self, at: KillAt) -> Result<(), String> {
        let service = OnFake::start().await;
        let (location, old) = self.seeded(&service).await?;
        let old_id = self.recorded_id(&location, &old).await?;
        let inner = self.open(&location)?;
        let reached = Arc::new(Notify::new());
        let killer = Killer {
            inner: &*inner,
            at,
            reached: reached.clone(),
        };
        let life = service.life()?;
        let first_plan = plan();
        let rotation = life.rotate(&old_id, &first_plan, &killer);
        let notified = reached.notified();
        let mut rotation = std::pin::pin!(rotation);
        let mut notified = std::pin::pin!(notified);
        let finished = std::future::poll_fn(|cx| {
            if let Poll::Ready(r) = rotation.as_mut().poll(cx) {
                return Poll::Ready(Some(r));
            }
            if notified.as_mut().poll(cx).is_ready() {
                return Poll::Ready(None);
            }
            Poll::Pending
        })
        .await;
        if let Some(result) = finished {
            if let Err(e) = &result {
                self.seen.error(e, e);
            }
            return Err(format!(
                "the rotation ended before it could be killed there: {}",
                match result {
                    Ok(r) => r.to_string(),
                    Err(e) => e.to_string(),
                }
            ));
        }
        // The first run is gone (its future dropped); the run after a crash
        // knows no other run is going on.
        self.seen.fake(&service.fake);
        let sink = self.open(&location)?;
        let rerun = service
            .life()?
            .rotate(&old_id, &plan().lease(Duration::ZERO), &*sink)
            .await
            .map_err(|e| {
                self.seen.error(&e, &e);
                format!("the run after the kill failed: {e}")
            })?;
        self.seen.fake(&service.fake);
        let live = service.live();
        if live != [rerun.new.id.clone()] {
            return Err(format!(
                "live tokens after the rerun: {live:?}, expected only {}",
                rerun.new.id
            ));
        }
        self.holds(&service, &location, &rerun.new.id).await
    }

    fn no_secret_in_errors(&self) -> Outcome {
        let secrets = self
            .seen
            .secrets
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default();
        let errors = self
            .seen
            .errors
            .lock()
            .map(|e| e.clone())
            .unwrap_or_default();
        let leaks = errors
            .iter()
            .filter(|e| {
                secrets
                    .iter()
                    .any(|s| !s.expose_secret().is_empty() && e.contains(s.expose_secret()))
            })
            .count();
        if leaks == 0 {
            Outcome::Passed
        } else {
            // Not the errors themselves: they hold secrets.
            Outcome::Failed(format!(
                "{leaks} of {} errors seen hold a secret",
                errors.len()
            ))
        }
    }
}

/// A sink that notes the secrets passing through it, so that an error
/// quoting one is found even when the token is gone.
struct Noting {
    inner: Box<dyn SecretSink>,
    seen: Arc<Seen>,
}

#[async_trait]
impl SecretSink for Noting {
    async fn store(&self, secret: &SecretString, meta: &SecretMeta) -> Result<(), SinkError> {
        self.seen.secret(secret);
        self.inner.store(secret, meta).await
    }

    async fn check(&self) -> Result<(), SinkError> {
        self.inner.check().await
    }

    async fn current(&self) -> Result<Option<SecretString>, SinkError> {
        let current = self.inner.current().await?;
        if let Some(secret) = &current {
            self.seen.secret(secret);
        }
        Ok(current)
    }

    async fn current_meta(&self) -> Result<Option<SecretMeta>, SinkError> {
        self.inner.current_meta().await
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn writer_lock(&self) -> Option<WriterLock> {
        self.inner.writer_lock()
    }
}

/// Where a [`Killer`] stops the rotation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KillAt {
    Check,
    BeforeStore,
    AfterStore,
}

/// A sink that stops forever at one point and says so: the rotation above
/// it is then dropped, as a killed process stops.
struct Killer<'a> {
    inner: &'a dyn SecretSink,
    at: KillAt,
    reached: Arc<Notify>,
}

impl Killer<'_> {
    /// Says the point is reached, then never completes.
    async fn stop<T>(&self) -> T {
        self.reached.notify_one();
        std::future::pending().await
    }
}

#[async_trait]
impl SecretSink for Killer<'_> {
    async fn store(&self, secret: &SecretString, meta: &SecretMeta) -> Result<(), SinkError> {
        if self.at == KillAt::BeforeStore {
            return self.stop().await;
        }
        self.inner.store(secret, meta).await?;
        if self.at == KillAt::AfterStore {
            return self.stop().await;
        }
        Ok(())
    }

    async fn check(&self) -> Result<(), SinkError> {
        if self.at == KillAt::Check {
            return self.stop().await;
        }
        self.inner.check().await
    }

    async fn current(&self) -> Result<Option<SecretString>, SinkError> {
        self.inner.current().await
    }

    async fn current_meta(&self) -> Result<Option<SecretMeta>, SinkError> {
        self.inner.current_meta().await
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn writer_lock(&self) -> Option<WriterLock> {
        self.inner.writer_lock()
    }
}

/// Runs `futures` at once on this task; their outputs in order.
async fn join_all<T>(futures: Vec<Pin<Box<dyn Future<Output = T> + Send + '_>>>) -> Vec<T> {
    let mut futures: Vec<_> = futures.into_iter().map(Some).collect();
    let mut outputs: Vec<Option<T>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if let Some(f) = future {
                if let Poll::Ready(value) = f.as_mut().poll(cx) {
                    *output = Some(value);
                    *future = None;
                }
            }
        }
        if futures.iter().all(Option::is_none) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

fn outcome(result: Result<(), String>) -> Outcome {
    match result {
        Ok(()) => Outcome::Passed,
        Err(why) => Outcome::Failed(why),
    }
}

/// Runs every [`Check`] on `store`, each at fresh locations with a fresh
/// [`UnitFake`], and reports how each went. Never panics on a failing
/// store: read [`Report::passed`] and print the report.
pub async fn run(store: &dyn StoreUnderTest) -> Report {
    let suite = Suite {
        store,
        caps: store.capabilities(),
        seen: Arc::default(),
    };
    let mut checks = vec![(
        Check::CreateReadsBack,
        outcome(suite.create_reads_back().await),
    )];
    let (replaces, previous) = suite.rotation_replaces().await;
    checks.push((Check::RotationReplaces, outcome(replaces)));
    checks.push((Check::PreviousKept, previous));
    checks.push((Check::StaleWriteRefused, suite.stale_write_refused().await));
    checks.push((
        Check::ConcurrentRotations,
        outcome(suite.concurrent_rotations().await),
    ));
    for (check, at) in [
        (Check::KilledAtCheck, KillAt::Check),
        (Check::KilledBeforeStore, KillAt::BeforeStore),
        (Check::KilledAfterStore, KillAt::AfterStore),
    ] {
        checks.push((check, outcome(suite.killed(at).await)));
    }
    checks.push((Check::NoSecretInErrors, suite.no_secret_in_errors()));
    // The reasons quote the store's errors: never a secret they hold.
    let secrets = suite
        .seen
        .secrets
        .lock()
        .map(|s| s.clone())
        .unwrap_or_default();
    for (_, outcome) in &mut checks {
        if let Outcome::Failed(why) | Outcome::Unsupported(why) = outcome {
            for secret in secrets.iter().map(ExposeSecret::expose_secret) {
                if !secret.is_empty() && why.contains(secret) {
                    *why = why.replace(secret, "[REDACTED]");
                }
            }
        }
    }
    Report {
        store: store.name(),
        checks,
    }
}
