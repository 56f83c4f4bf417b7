//! Three `api-tokens mailtrap rotate` processes of the same token at once,
//! on one Mailtrap fake that the test serves (the `--fake` services live
//! inside each process and cannot be shared): exactly one run completes
//! the rotation (exit 0), the two others yield to it (exit 5, one line on
//! standard error naming the token that replaced the old one), and no
//! token is left alive whose secret no file holds.
//!
//! And a rotation killed (SIGKILL) at each step, run again at once with
//! the default lease: the rerun converges (exit 0), one token left, its
//! secret in the file.

use crate::cli_support;
use crate::probes;

use api_tokens::mailtrap::{AccessLevel, ResourceType};
use api_tokens::secrecy::ExposeSecret;
use std::time::Duration;

use api_tokens::testing::{
    Fault, MailtrapFake, MailtrapOp, MailtrapTokenSeed, UnitFake, UnitOp, UnitTokenSeed,
};
use api_tokens::unit::Scope;
use cli_support::{Run, assert_secret_absent, file_spec, path_in, scratch, with_env};
use probes::hold_probes;

const RUNS: usize = 3;
const ROUNDS: usize = 4;
/// How long the probe made with a new secret is held back, so that the
/// three runs overlap.
const PROBE_HELD: Duration = Duration::from_millis(400);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_rotations_of_one_token_at_once_one_completes_two_yield() {
    for held in [false, true, true, true].into_iter().take(ROUNDS) {
        one_round(held).await;
    }
}

/// One round: a fresh fake, one old token, three processes; with `held`,
/// every probe made with a new secret waits [`PROBE_HELD`].
async fn one_round(held: bool) {
    let fake = MailtrapFake::builder().account_id(3229).start().await;
    if held {
        fake.inject(MailtrapOp::List, hold_probes(fake.token(), PROBE_HELD));
    }
    let old = fake.insert_token(MailtrapTokenSeed::new("admin console").permission(
        ResourceType::Account,
        3229,
        AccessLevel::Admin,
    ));
    let old_id = old.id.to_string();
    let master = fake.token().expose_secret().to_owned();
    let uri = fake.uri();
    let dir = scratch();
    let files: Vec<_> = (0..RUNS)
        .map(|i| path_in(&dir, &format!("run{i}.token")))
        .collect();

    // The three processes start together and run off the runtime's
    // threads, so that the fake keeps answering them.
    let runs: Vec<Run> = {
        let (old_id, master, uri, files) =
            (old_id.clone(), master.clone(), uri.clone(), files.clone());
        tokio::task::spawn_blocking(move || {
            std::thread::scope(|scope| {
                let handles: Vec<_> = files
                    .iter()
                    .map(|file| {
                        let (old_id, master, uri) = (&old_id, &master, &uri);
                        scope.spawn(move || {
                            let spec = file_spec(file);
                            with_env(
                                &[
                                    "--output",
                                    "json",
                                    "mailtrap",
                                    "rotate",
                                    old_id,
                                    "--recreate",
                                    "--delete-old",
                                    "--secret-to",
                                    &spec,
                                ],
                                &[
                                    ("MAILTRAP_API_TOKEN", master),
                                    ("MAILTRAP_API_URL", uri),
                                    ("MAILTRAP_ACCOUNT_ID", "3229"),
                                ],
                            )
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("a run"))
                    .collect()
            })
        })
        .await
        .expect("the runs")
    };

    let codes: Vec<i32> = runs.iter().map(|r| r.code).collect();
    let winners: Vec<usize> = (0..RUNS).filter(|&i| codes[i] == 0).collect();
    let yielded: Vec<usize> = (0..RUNS).filter(|&i| codes[i] == 5).collect();
    let streams = || {
        runs.iter()
            .map(|r| format!("--- {}\n{}\n{}", r.code, r.stdout, r.stderr))
            .collect::<String>()
    };
    assert_eq!(
        winners.len(),
        1,
        "exactly one run completes: {codes:?}\n{}",
        streams()
    );
    assert_eq!(
        yielded.len(),
        RUNS - 1,
        "the others yield: {codes:?}\n{}",
        streams()
    );

    let winner = &runs[winners[0]];
    let new_id = winner.json()["new"]["id"]
        .as_str()
        .expect("the new token's id")
        .to_owned();
    for &i in &yielded {
        let run = &runs[i];
        assert!(run.stdout.is_empty(), "{}", run.stdout);
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
        assert!(
            run.stderr.contains(&new_id),
            "a yielding run names the token that replaced {old_id}: {}",
            run.stderr
        );
    }

    let live = fake.tokens();
    assert!(
        live.iter().all(|t| t.id.to_string() != old_id),
        "the old token is deleted"
    );
    // The winner's file holds a secret the fake accepts.
    let held = std::fs::read_to_string(&files[winners[0]]).expect("the winner's file");
    let held = held.strip_suffix('\n').expect("one line");
    assert!(
        live.iter()
            .any(|t| t.id.to_string() == new_id && t.secret.expose_secret() == held),
        "the winner's file holds the live token {new_id}'s secret"
    );
    // No live token whose secret no file holds.
    let in_files: Vec<String> = files
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .map(|s| s.trim_end_matches('\n').to_owned())
        .collect();
    for token in &live {
        let secret = token.secret.expose_secret();
        assert!(
            in_files.iter().any(|s| s == secret),
            "token {} {:?} is alive and no file holds its secret",
            token.id,
            token.name
        );
        for run in &runs {
            assert_secret_absent(run, secret);
        }
    }
}

// ---------------------------------------------------------------------------
// A rotation killed at a step, and run again at once.

/// Where the first run is killed.
#[derive(Debug, Clone, Copy)]
enum KilledAt {
    /// Its new token minted, while it lists the tokens to decide.
    AfterMint,
    /// While its probe with the new secret is under way.
    DuringProbe,
    /// Its secret stored, while it lists the tokens once more.
    AfterStore,
    /// The old token revoked, before the answer came back.
    DuringRetire,
}

/// How long a held call is held: far longer than the test waits.
const HELD: Duration = Duration::from_secs(60);

/// `api-tokens unit rotate OLD` into `file` on the Unit fake, with the
/// default lease: the command, not yet run.
fn unit_rotate(fake: &UnitFake, old: &str, file: &std::path::Path) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_api-tokens"));
    command
        .args(["--output", "json", "unit", "rotate", old])
        .args(["--scope", "customers", "--expires-in", "30d"])
        .args(["--secret-to", &file_spec(file)])
        .env_clear()
        .env("UNIT_API_TOKEN", fake.token().expose_secret())
        .env("UNIT_API_URL", fake.uri())
        .env("UNIT_USER_ID", fake.user_id().to_string())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    command
}

/// Waits (at most 30 s) until `reached` holds.
async fn until(what: &str, reached: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !reached() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never reached: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One rotation killed at `step`, then run again at once: exit 0, and the
/// only live token is the rerun's (or the killed run's, when it had
/// already revoked the old one), whose secret the file holds.
async fn killed_then_run_again(step: KilledAt) {
    let fake = UnitFake::start().await;
    let old = fake.insert_token(UnitTokenSeed::new("CI deploy").scope(Scope::Customers));
    let old_id = old.id.to_string();
    let dir = scratch();
    let file = path_in(&dir, "unit.token");
    let admin = api_tokens::testing::placeholder(fake.token());
    match step {
        KilledAt::AfterMint => fake.inject(UnitOp::List, Fault::delay(HELD).nth(2)),
        KilledAt::DuringProbe => fake.inject(
            UnitOp::List,
            Fault::delay(HELD).when(move |r| !r.headers.values().any(|v| v.contains(&admin))),
        ),
        KilledAt::AfterStore => fake.inject(UnitOp::List, Fault::delay(HELD).nth(4)),
        KilledAt::DuringRetire => fake.inject(UnitOp::Revoke, Fault::delay(HELD)),
    }

    let mut first = unit_rotate(&fake, &old_id, &file)
        .spawn()
        .expect("api-tokens runs");
    let old_live = || fake.tokens().iter().any(|t| t.id == old.id);
    match step {
        KilledAt::AfterMint | KilledAt::DuringProbe => {
            until("the new token minted", || fake.tokens().len() == 2).await;
        }
        KilledAt::AfterStore => until("the secret stored", || file.exists()).await,
        KilledAt::DuringRetire => until("the old token revoked", || !old_live()).await,
    }
    // Into the held call.
    tokio::time::sleep(Duration::from_millis(400)).await;
    first.kill().expect("SIGKILL");
    let killed = first.wait_with_output().expect("the killed run");
    assert!(
        !killed.status.success(),
        "{step:?}: the first run was killed"
    );
    let before: Vec<String> = fake.tokens().iter().map(|t| t.id.to_string()).collect();
    match step {
        KilledAt::AfterMint | KilledAt::DuringProbe => {
            assert_eq!(before.len(), 2, "{step:?}: {before:?}");
            assert!(!file.exists(), "{step:?}: nothing stored yet");
        }
        KilledAt::AfterStore => assert_eq!(before.len(), 2, "{step:?}: {before:?}"),
        KilledAt::DuringRetire => assert_eq!(before.len(), 1, "{step:?}: {before:?}"),
    }

    let rerun = {
        let mut command = unit_rotate(&fake, &old_id, &file);
        tokio::task::spawn_blocking(move || command.output().expect("api-tokens runs"))
            .await
            .expect("the rerun")
    };
    let (stdout, stderr) = (
        String::from_utf8_lossy(&rerun.stdout),
        String::from_utf8_lossy(&rerun.stderr),
    );
    assert_eq!(
        rerun.status.code(),
        Some(0),
        "{step:?}: the rerun converges\n{stdout}\n{stderr}"
    );
    let live = fake.tokens();
    assert_eq!(
        live.len(),
        1,
        "{step:?}: one token is left: {:?}",
        live.iter().map(|t| &t.description).collect::<Vec<_>>()
    );
    assert_ne!(live[0].id, old.id, "{step:?}: the old token is revoked");
    let held = std::fs::read_to_string(&file).expect("the file");
    assert_eq!(
        held.strip_suffix('\n'),
        Some(live[0].secret.expose_secret()),
        "{step:?}: the file holds the live token's secret"
    );
    assert!(!stdout.contains(live[0].secret.expose_secret()));
    assert!(!stderr.contains(live[0].secret.expose_secret()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_killed_after_its_mint_converges_when_run_again_at_once() {
    killed_then_run_again(KilledAt::AfterMint).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_killed_during_its_probe_converges_when_run_again_at_once() {
    killed_then_run_again(KilledAt::DuringProbe).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_killed_after_its_store_converges_when_run_again_at_once() {
    killed_then_run_again(KilledAt::AfterStore).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_killed_during_its_retire_converges_when_run_again_at_once() {
    killed_then_run_again(KilledAt::DuringRetire).await;
}

/// Three `api-tokens unit rotate` processes of one token into one file at
/// once (the default lease): they take turns at the file's writer lock;
/// exactly one completes (exit 0), the two that waited for it yield to its
/// token (exit 5), and the file holds the one live token's secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_rotations_into_one_file_at_once_one_completes_two_yield() {
    for _ in 0..3 {
        let fake = UnitFake::start().await;
        fake.inject(UnitOp::List, hold_probes(fake.token(), PROBE_HELD));
        let old = fake.insert_token(UnitTokenSeed::new("CI deploy").scope(Scope::Customers));
        let dir = scratch();
        let file = path_in(&dir, "unit.token");
        let children: Vec<_> = (0..RUNS)
            .map(|_| {
                unit_rotate(&fake, old.id.as_ref(), &file)
                    .spawn()
                    .expect("api-tokens runs")
            })
            .collect();
        let outputs = tokio::task::spawn_blocking(move || {
            children
                .into_iter()
                .map(|c| c.wait_with_output().expect("a run"))
                .collect::<Vec<_>>()
        })
        .await
        .expect("the runs");
        let mut codes: Vec<i32> = outputs
            .iter()
            .map(|o| o.status.code().unwrap_or(-1))
            .collect();
        codes.sort_unstable();
        let streams: String = outputs
            .iter()
            .map(|o| {
                format!(
                    "{}{}",
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                )
            })
            .collect();
        assert_eq!(codes, [0, 5, 5], "{streams}");
        let live = fake.tokens();
        assert_eq!(live.len(), 1, "{streams}");
        assert_ne!(live[0].id, old.id);
        for output in outputs.iter().filter(|o| o.status.code() == Some(5)) {
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(
                stderr.contains(&live[0].id.to_string()),
                "names the winner: {stderr}"
            );
            // The winner was headed for the same file: its secret is there.
            assert!(
                stderr.contains("superseded")
                    && stderr.contains(&format!("its secret is in file {}", file.display())),
                "says where the winner's secret is: {stderr}"
            );
        }
        let held = std::fs::read_to_string(&file).expect("the file");
        assert_eq!(
            held.strip_suffix('\n'),
            Some(live[0].secret.expose_secret())
        );
    }
}
