//! What the testing kit's tests share: clients of the fakes with retries
//! off, so that every call is one request; and concurrent rotations on
//! fakes whose faults break the race rule's assumptions.
#![allow(dead_code)]

use api_tokens::testing::{MailtrapFake, UnitFake};
use api_tokens::{RetryPolicy, mailtrap, unit};
use secrecy::SecretString;

/// A Unit client of `fake` that presents `token`.
pub fn unit_client(fake: &UnitFake, token: &SecretString) -> unit::Client {
    unit::Client::builder()
        .token(token.clone())
        .base_url(fake.uri())
        .retry(RetryPolicy::disabled())
        .build()
        .unwrap()
}

/// A Mailtrap client of `fake`'s account that presents `token`.
pub fn mailtrap_client(fake: &MailtrapFake, token: &SecretString) -> mailtrap::Client {
    mailtrap_client_on(fake, token, Some(fake.account_id()))
}

/// A Mailtrap client of `fake` that presents `token`, on `account`, or
/// with none named on the account-free paths.
pub fn mailtrap_client_on(
    fake: &MailtrapFake,
    token: &SecretString,
    account: Option<u64>,
) -> mailtrap::Client {
    let builder = mailtrap::Client::builder()
        .token(token.clone())
        .base_url(fake.uri())
        .retry(RetryPolicy::disabled());
    match account {
        Some(id) => builder.account_id(id),
        None => builder,
    }
    .build()
    .unwrap()
}

/// Concurrent rotations on fakes whose faults break the race rule's
/// assumptions, and the safety net every round must keep.
pub mod safety_net {
    use std::path::PathBuf;
    use std::sync::Arc;
    use std::time::Duration;

    use api_tokens::lifecycle::sink::FileSink;
    use api_tokens::lifecycle::{
        Left, MailtrapLifecycle, MailtrapPlan, RotateError, Rotation, UnitLifecycle, UnitPlan,
    };
    use api_tokens::mailtrap::{AccessLevel, ResourceType};
    use api_tokens::testing::{
        Fault, MailtrapFake, MailtrapOp, MailtrapTokenSeed, UnitFake, UnitOp, UnitTokenSeed,
        placeholder,
    };
    use api_tokens::unit::Scope;
    use api_tokens::{RetryPolicy, mailtrap, unit};
    use chrono::{TimeDelta, Utc};
    use secrecy::{ExposeSecret, SecretString};

    /// How long a probe made with a new secret is held back, so that the
    /// runs overlap.
    pub const PROBE_HELD: Duration = Duration::from_millis(250);

    /// Holds back every request the fake's own credential does not make
    /// (the probes of new secrets); for the list endpoint.
    fn hold_probes(admin: &SecretString) -> Fault {
        let admin = placeholder(admin);
        Fault::delay(PROBE_HELD)
            .times(10_000)
            .when(move |r| !r.headers.values().any(|v| v.contains(&admin)))
    }

    /// One run: its sink's file, and what it answered.
    pub struct Run {
        pub path: PathBuf,
        pub result: Result<Rotation, RotateError>,
        _dir: tempfile::TempDir,
    }

    /// `runs` rotations of one token, the k-th started `stagger` × k
    /// after the first, each with its own client and file sink (holding
    /// the old secret), and whether the service accepts what each sink
    /// holds at the end.
    pub struct Round {
        pub old_secret: String,
        pub runs: Vec<Run>,
        pub works: Vec<bool>,
    }

    impl Round {
        /// The safety net: at most one run completes; a completed run's
        /// sink holds a working secret; a sink that holds a dead secret
        /// belongs to a run whose error says so (the sink is stale, or it
        /// was superseded and its sink was never written); and someone
        /// still holds a working secret.
        pub fn check(&self, what: &str) {
            let completed = self.runs.iter().filter(|r| r.result.is_ok()).count();
            assert!(completed <= 1, "{what}: {completed} runs completed");
            for (n, (run, works)) in self.runs.iter().zip(&self.works).enumerate() {
                let held = std::fs::read_to_string(&run.path).unwrap_or_default();
                let held = held.trim_end();
                match &run.result {
                    Ok(rotation) => assert!(
                        *works,
                        "{what}: run {n} completed ({}) but its sink holds a dead secret",
                        rotation.new.id
                    ),
                    Err(_) if *works => {}
                    Err(e) => {
                        let stale = matches!(e.left(), Left::SinkStale { .. });
                        let superseded_untouched =
                            e.superseded().is_some() && held == self.old_secret;
                        assert!(
                            stale || superseded_untouched,
                            "{what}: run {n}'s sink holds a dead secret, and its error says \
                             otherwise: {e}"
                        );
                    }
                }
            }
            assert!(
                self.works.iter().any(|w| *w),
                "{what}: no sink holds a working secret: {:?}",
                self.runs
                    .iter()
                    .map(|r| r.result.as_ref().map(|_| ()).map_err(ToString::to_string))
                    .collect::<Vec<_>>()
            );
        }

        /// How many runs completed.
        pub fn completed(&self) -> usize {
            self.runs.iter().filter(|r| r.result.is_ok()).count()
        }
    }

    fn sink(initial: &str) -> (tempfile::TempDir, FileSink, PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("token");
        std::fs::write(&path, format!("{initial}\n")).expect("write");
        (dir, FileSink::new(&path), path)
    }

    fn read(path: &PathBuf) -> String {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .trim_end()
            .to_owned()
    }

    /// A Unit round: `prepare` arms the faults under test first.
    pub async fn unit_round(
        runs: usize,
        stagger: Duration,
        prepare: impl FnOnce(&UnitFake),
    ) -> Round {
        let fake = UnitFake::start().await;
        let old = fake.insert_token(UnitTokenSeed::new("CI deploy").scope(Scope::Customers));
        prepare(&fake);
        fake.inject(UnitOp::List, hold_probes(fake.token()));
        let plan = Arc::new(UnitPlan::new(
            [Scope::Customers],
            Utc::now() + TimeDelta::days(90),
        ));
        let client = || {
            unit::Client::builder()
                .token(fake.token().clone())
                .base_url(fake.uri())
                .retry(RetryPolicy::disabled())
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client")
        };
        let mut tasks = Vec::new();
        let mut places = Vec::new();
        for k in 0..runs {
            let (dir, file, path) = sink(old.secret.expose_secret());
            let life = UnitLifecycle::new(client(), fake.user_id());
            let (id, plan) = (old.id.clone(), plan.clone());
            let delay = stagger * u32::try_from(k).unwrap_or(0);
            tasks.push(tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                life.rotate(&id, &plan, &file).await
            }));
            places.push((dir, path));
        }
        let mut out = Vec::new();
        for (task, (dir, path)) in tasks.into_iter().zip(places) {
            let result = task.await.expect("the run ran");
            out.push(Run {
                path,
                result,
                _dir: dir,
            });
        }
        let life = UnitLifecycle::new(client(), fake.user_id());
        let mut works = Vec::new();
        for run in &out {
            let held = SecretString::from(read(&run.path));
            let probe = life.client().with_token(held).expect("client");
            works.push(probe.org_api_tokens(fake.user_id()).list().await.is_ok());
        }
        Round {
            old_secret: old.secret.expose_secret().to_owned(),
            runs: out,
            works,
        }
    }

    /// A Mailtrap round (the default plan: a reset, or a create when a
    /// rival is seen): `prepare` arms the faults under test first.
    pub async fn mailtrap_round(
        runs: usize,
        stagger: Duration,
        plan: MailtrapPlan,
        prepare: impl FnOnce(&MailtrapFake),
    ) -> Round {
        let fake = MailtrapFake::start().await;
        let old = fake.insert_token(MailtrapTokenSeed::new("CI deploy").permission(
            ResourceType::Project,
            7,
            AccessLevel::Viewer,
        ));
        prepare(&fake);
        fake.inject(MailtrapOp::List, hold_probes(fake.token()));
        let plan = Arc::new(plan);
        let client = || {
            mailtrap::Client::builder()
                .token(fake.token().clone())
                .account_id(fake.account_id())
                .base_url(fake.uri())
                .retry(RetryPolicy::disabled())
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client")
        };
        let mut tasks = Vec::new();
        let mut places = Vec::new();
        for k in 0..runs {
            let (dir, file, path) = sink(old.secret.expose_secret());
            let life = MailtrapLifecycle::new(client());
            let plan = plan.clone();
            let id = old.id;
            let delay = stagger * u32::try_from(k).unwrap_or(0);
            tasks.push(tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                life.rotate(&id, &plan, &file).await
            }));
            places.push((dir, path));
        }
        let mut out = Vec::new();
        for (task, (dir, path)) in tasks.into_iter().zip(places) {
            let result = task.await.expect("the run ran");
            out.push(Run {
                path,
                result,
                _dir: dir,
            });
        }
        let admin = client();
        let mut works = Vec::new();
        for run in &out {
            let held = SecretString::from(read(&run.path));
            let probe = admin.with_token(held).expect("client");
            works.push(probe.api_tokens().list().await.is_ok());
        }
        Round {
            old_secret: old.secret.expose_secret().to_owned(),
            runs: out,
            works,
        }
    }
}
