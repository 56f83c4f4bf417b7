//! `ensure` at scale: a tokens file of 200 Mailtrap entries over four
//! accounts, planned and applied against the crate's fakes, each account
//! its own fake.
//!
//! ```text
//! cargo bench --bench ensure --features ensure,testing
//! API_TOKENS_BENCH_SMOKE=1 cargo bench --bench ensure   # one round
//! ```
//!
//! Two settings, each from fresh fakes every round:
//!
//! - `unlimited`: no rate limit, pacing off: what planning and applying
//!   cost in themselves (one list per account, one create per entry, then a
//!   rotation per entry: list, create, probe, delete).
//! - `limited`: each fake limits its callers as Mailtrap does (N requests
//!   per credential in any window), scaled to 15 per 200 ms, and the clients
//!   pace themselves at that limit. The table sets each phase's time beside
//!   the least the limit allows for the busiest credential: with n
//!   requests, the first 15 go at once and each further 15 wait one more
//!   window, so `(ceil(n / 15) - 1) * 200 ms`. Any 429 is counted and
//!   reported.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use api_tokens::chrono::{self, Utc};
use api_tokens::ensure::{self, ApplyOptions, Services, TokensFile};
use api_tokens::testing::MailtrapFake;
use api_tokens::{Pacing, RetryPolicy};

#[path = "common/fake_client.rs"]
mod fake_client;
use fake_client::mailtrap_client;

const ACCOUNTS: [(u64, usize); 4] = [(3229, 140), (3230, 20), (3231, 20), (3232, 20)];
const LIMIT: u32 = 15;
const WINDOW: Duration = Duration::from_millis(200);

struct Fleet {
    fakes: Vec<MailtrapFake>,
    services: Services,
    dir: tempfile::TempDir,
}

impl Fleet {
    /// One fake per account, each with its client: limited and paced at
    /// the limit, or neither.
    async fn start(limited: bool) -> Fleet {
        let pacing = if limited {
            Pacing::limit(LIMIT, WINDOW)
        } else {
            Pacing::off()
        };
        let mut fakes = Vec::new();
        let mut services = Services::new();
        for (account, _) in ACCOUNTS {
            let mut builder = MailtrapFake::builder().account_id(account);
            if limited {
                builder = builder.rate_limit(LIMIT, WINDOW);
            }
            let fake = builder.start().await;
            let client = mailtrap_client(&fake, RetryPolicy::disabled(), pacing);
            services = services.mailtrap_account(account, client);
            fakes.push(fake);
        }
        Fleet {
            fakes,
            services,
            dir: tempfile::tempdir().expect("scratch"),
        }
    }

    /// The tokens file: `count` viewer tokens of each account, each secret
    /// to a file of its own.
    fn file(&self) -> TokensFile {
        let entry = |account: u64, i: usize| {
            let secret = self.dir.path().join(format!("{account}-{i}.token"));
            format!(
                "[[mailtrap]]\nname = \"svc-{account}-{i}\"\npermissions = [\"account:{account}:viewer\"]\n\
                 expires = \"never\"\nrotate_after = \"30d\"\nsecret_to = \"file:{}\"\n\n",
                secret.display()
            )
        };
        let text: String = ACCOUNTS
            .into_iter()
            .flat_map(|(account, count)| (0..count).map(move |i| (account, i)))
            .map(|(account, i)| entry(account, i))
            .collect();
        TokensFile::parse(self.dir.path().join("fleet.toml"), &text).expect("file")
    }

    /// The requests of the busiest credential, and the 429s, since the
    /// last clear.
    fn busiest_and_429s(&self) -> (usize, usize) {
        let mut busiest = 0;
        let mut limited = 0;
        for fake in &self.fakes {
            let mut by_credential: BTreeMap<String, usize> = BTreeMap::new();
            for r in fake.requests() {
                let who = r.headers.get("api-token").cloned().unwrap_or_default();
                *by_credential.entry(who).or_default() += 1;
                if r.status == Some(429) {
                    limited += 1;
                }
            }
            busiest = busiest.max(by_credential.values().copied().max().unwrap_or(0));
        }
        (busiest, limited)
    }

    /// Adds the phase that started at `started` to `samples`, with the
    /// requests it made, and clears them for the next phase.
    fn record(&self, samples: &mut Samples, phase: &'static str, started: Instant) {
        let (busiest, hit) = self.busiest_and_429s();
        samples.add(phase, started.elapsed(), busiest, hit);
        for fake in &self.fakes {
            fake.clear_requests();
        }
    }
}

/// The least time the limit allows for `n` requests of one credential.
fn floor(n: usize) -> Duration {
    let windows = n.div_ceil(LIMIT as usize).saturating_sub(1);
    WINDOW * u32::try_from(windows).unwrap_or(u32::MAX)
}

/// Each phase's runs, in the order the phases ran.
#[derive(Default)]
struct Samples(Vec<(&'static str, Vec<Run>)>);

/// One phase's time, its busiest credential's requests, and its 429s.
type Run = (Duration, usize, usize);

impl Samples {
    fn add(&mut self, phase: &'static str, took: Duration, busiest: usize, limited: usize) {
        match self.0.iter_mut().find(|(p, _)| *p == phase) {
            Some((_, runs)) => runs.push((took, busiest, limited)),
            None => self.0.push((phase, vec![(took, busiest, limited)])),
        }
    }
}

/// Fails on the first action of `report` that failed.
fn assert_success(report: &ensure::ApplyReport) {
    if let Some(failed) = report.failed().next() {
        panic!("{failed}");
    }
}

async fn round(limited: bool, samples: &mut Samples) {
    let fleet = Fleet::start(limited).await;
    let file = fleet.file();
    let services = &fleet.services;

    let started = Instant::now();
    let plan = ensure::plan(&file, services).await.expect("plan");
    fleet.record(samples, "plan (200 creates pending)", started);

    let started = Instant::now();
    let report = ensure::apply(&file, services, &plan, &ApplyOptions::new()).await;
    fleet.record(samples, "apply: 200 creates", started);
    assert_success(&report);

    let started = Instant::now();
    let later = ensure::plan_at(&file, services, Utc::now() + chrono::Duration::days(40))
        .await
        .expect("plan");
    fleet.record(samples, "plan (200 rotations due)", started);

    let started = Instant::now();
    let report = ensure::apply(&file, services, &later, &ApplyOptions::new()).await;
    fleet.record(samples, "apply: 200 rotations", started);
    assert_success(&report);
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let smoke =
        matches!(std::env::var("API_TOKENS_BENCH_SMOKE"), Ok(v) if !v.is_empty() && v != "0");
    let rounds = if smoke { 1 } else { 3 };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    println!("ensure: 200 Mailtrap entries over 4 accounts (140, 20, 20, 20), {rounds} round(s)");
    for limited in [false, true] {
        let mut samples = Samples::default();
        for _ in 0..rounds {
            runtime.block_on(round(limited, &mut samples));
        }
        println!();
        if limited {
            println!(
                "limited: {LIMIT} requests per {} ms per credential, clients paced at that limit",
                WINDOW.as_millis()
            );
            println!(
                "{:<28} {:>10} {:>16} {:>14} {:>6}",
                "phase", "median", "busiest requests", "limit allows", "429s"
            );
        } else {
            println!("unlimited: no rate limit, pacing off");
            println!(
                "{:<28} {:>10} {:>16}",
                "phase", "median", "busiest requests"
            );
        }
        for (phase, runs) in samples.0 {
            let busiest = runs.iter().map(|r| r.1).max().unwrap_or(0);
            let hit: usize = runs.iter().map(|r| r.2).sum();
            let took = median(runs.iter().map(|r| r.0).collect());
            if limited {
                println!(
                    "{phase:<28} {:>8}ms {busiest:>16} {:>12}ms {hit:>6}",
                    took.as_millis(),
                    floor(busiest).as_millis()
                );
            } else {
                println!("{phase:<28} {:>8}ms {busiest:>16}", took.as_millis());
            }
        }
    }
}
