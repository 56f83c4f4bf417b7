//! 200 entries over four Mailtrap accounts, each account its own fake (and,
//! as the service counts, the four accounts of one token on one fake)
//! limited the way Mailtrap limits (N requests per credential in any
//! window), scaled to 15 requests per 200 ms: tighter than what an unpaced
//! apply sends to the fakes (with `Pacing::off()` this test meets 429s in
//! its first creates), so the clients' pacing has work to do. One list per
//! account per plan, and not one 429 through a full create and a full
//! rotation.

use crate::ensure_support;

use std::time::Duration;

use api_tokens::Pacing;
use api_tokens::chrono::Utc;
use api_tokens::ensure::{self, ActionKind, ApplyOptions, Services, TokensFile};
use api_tokens::testing::{LoggedRequest, MailtrapFake};
use ensure_support::{mailtrap_builder, parse};

/// How many entries each account holds: the first more than its limit
/// allows in one window, so that pacing has work to do.
const ACCOUNTS: [(u64, usize); 4] = [(3229, 140), (3230, 20), (3231, 20), (3232, 20)];
/// Mailtrap's 150 per 10 s scaled to the speed of loopback fakes.
const LIMIT: u32 = 15;
const WINDOW: Duration = Duration::from_millis(200);

/// Each account's fake with the number of entries the file holds for it,
/// and a directory for the sinks.
struct Fleet {
    accounts: Vec<(MailtrapFake, usize)>,
    dir: tempfile::TempDir,
}

impl Fleet {
    async fn start() -> Fleet {
        let mut accounts = Vec::new();
        for (account, entries) in ACCOUNTS {
            let fake = MailtrapFake::builder()
                .account_id(account)
                .rate_limit(LIMIT, WINDOW)
                .start()
                .await;
            accounts.push((fake, entries));
        }
        Fleet {
            accounts,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn fakes(&self) -> impl Iterator<Item = &MailtrapFake> {
        self.accounts.iter().map(|(fake, _)| fake)
    }

    fn services(&self) -> Services {
        self.fakes().fold(Services::new(), |services, fake| {
            // Without retries, a 429 would fail its action: none may come.
            let client = mailtrap_builder(fake)
                .pacing(Pacing::limit(LIMIT, WINDOW))
                .build()
                .unwrap();
            services.mailtrap_account(fake.account_id(), client)
        })
    }

    /// The entries of every account, each with a sink of its own.
    fn file(&self) -> TokensFile {
        fleet_file(self.dir.path())
    }

    fn lists_and_429s(&self) -> Vec<(usize, usize)> {
        self.fakes()
            .map(|f| {
                let log = f.requests();
                (
                    log.iter().filter(|r| r.operation == Some("list")).count(),
                    limited(&log),
                )
            })
            .collect()
    }

    fn clear(&self) {
        for f in self.fakes() {
            f.clear_requests();
        }
    }
}

/// How many of the requests in `log` the fake's limit refused.
fn limited(log: &[LoggedRequest]) -> usize {
    log.iter()
        .filter(|r| r.rate_limited || r.status == Some(429))
        .count()
}

/// Whether a fresh plan of `file` leaves nothing to do, orphans included.
async fn converged(file: &TokensFile, services: &Services) -> bool {
    !ensure::plan(file, services)
        .await
        .expect("plan")
        .has_pending(true)
}

/// The entries of [`ACCOUNTS`], each with a sink of its own in `dir`.
fn fleet_file(dir: &std::path::Path) -> TokensFile {
    let tokens = ACCOUNTS
        .iter()
        .flat_map(|(account, entries)| (0..*entries).map(move |i| (*account, i)));
    let entries: Vec<String> = tokens
        .map(|(account, i)| {
            let sink = dir.join(format!("{account}-{i}.token"));
            format!(
                "[[mailtrap]]\nname = \"svc-{account}-{i}\"\npermissions = [\"account:{account}:viewer\"]\n\
                 expires = \"never\"\nrotate_after = \"30d\"\nsecret_to = \"file:{}\"\n",
                sink.display()
            )
        })
        .collect();
    parse(&dir.join("fleet.toml"), &entries.join("\n"))
}

/// As the service counts: one token reaching the four accounts of one
/// fake, limited per credential across all of them. The clients of the
/// accounts come from one client through `for_account`, so one pacer sees
/// every request of the token: 200 creates without a 429.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_accounts_of_one_token_share_its_limit_and_its_pacer() {
    let mut builder = MailtrapFake::builder()
        .account_id(ACCOUNTS[0].0)
        .rate_limit(LIMIT, WINDOW);
    for (account, _) in &ACCOUNTS[1..] {
        builder = builder.account(*account, format!("Account {account}"));
    }
    let fake = builder.start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = fleet_file(dir.path());
    let base = mailtrap_builder(&fake)
        .pacing(Pacing::limit(LIMIT, WINDOW))
        .build()
        .unwrap();
    let services = ACCOUNTS.iter().fold(Services::new(), |services, (id, _)| {
        services.mailtrap_account(*id, base.for_account(Some(*id)).unwrap())
    });

    let plan = ensure::plan(&file, &services).await.unwrap();
    assert_eq!(plan.list_calls(), 4);
    let report = ensure::apply(&file, &services, &plan, &ApplyOptions::new()).await;
    assert!(report.is_success(), "{}", report.failed().next().unwrap());
    let held = fake.tokens();
    for (account, entries) in ACCOUNTS {
        let in_account = held.iter().filter(|t| t.account_id == account).count();
        assert_eq!(in_account, entries, "account {account}");
    }
    let log = fake.requests();
    assert_eq!(limited(&log), 0, "of {} requests", log.len());
    assert!(
        log.len() > LIMIT as usize * 10,
        "ten windows' worth of one token's requests"
    );
    assert!(converged(&file, &services).await);
}

#[test]
fn two_hundred_entries_plan_with_one_list_per_account_and_apply_without_a_429() {
    // The fakes are dropped after the runtime, once every client task and
    // pooled connection has ended: a fake dropped inside the runtime
    // waits on its request log while a connection task may still hold it.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let fleet = runtime.block_on(two_hundred_entries());
    drop(runtime);
    drop(fleet);
}

async fn two_hundred_entries() -> Fleet {
    let fleet = Fleet::start().await;
    let file = fleet.file();
    assert_eq!(file.mailtrap().len(), 200);
    let services = fleet.services();

    let plan = ensure::plan(&file, &services).await.unwrap();
    assert_eq!(plan.list_calls(), 4);
    assert_eq!(fleet.lists_and_429s(), [(1, 0); 4]);
    assert_eq!(plan.pending(false).count(), 200);
    assert!(plan.actions().iter().all(|a| a.kind == ActionKind::Create));

    let report = ensure::apply(&file, &services, &plan, &ApplyOptions::new()).await;
    assert!(report.is_success(), "{}", report.failed().next().unwrap());
    assert_eq!(report.actions.len(), 200);
    for (fake, entries) in &fleet.accounts {
        assert_eq!(fake.tokens().len(), *entries);
    }
    assert!(
        fleet
            .lists_and_429s()
            .iter()
            .all(|(_, limited)| *limited == 0)
    );

    fleet.clear();
    assert!(converged(&file, &services).await);
    assert_eq!(fleet.lists_and_429s(), [(1, 0); 4]);

    // Forty days on, every token is past rotate_after: 200 rotations, the
    // first account's 140 taking over 400 requests of its credential.
    let later = ensure::plan_at(
        &file,
        &services,
        Utc::now() + api_tokens::chrono::Duration::days(40),
    )
    .await
    .unwrap();
    assert_eq!(later.pending(false).count(), 200);
    assert!(later.actions().iter().all(|a| a.kind == ActionKind::Rotate));
    fleet.clear();
    let report = ensure::apply(&file, &services, &later, &ApplyOptions::new()).await;
    assert!(report.is_success(), "{}", report.failed().next().unwrap());
    let counts = fleet.lists_and_429s();
    assert!(
        counts.iter().all(|(_, limited)| *limited == 0),
        "{counts:?}"
    );
    assert!(
        fleet.accounts[0].0.requests().len() > LIMIT as usize * 2,
        "the first account saw more than two windows' worth of requests"
    );
    assert!(converged(&file, &services).await);
    fleet
}
