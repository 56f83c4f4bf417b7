//! Concurrent rotations of one Mailtrap token: 2, 3 and 8 runs at once,
//! each with its own client and its own file sink, on a multi-thread
//! runtime, the probe made with each new secret held back so that the runs
//! overlap; by create (`recreate`) and by reset. Every round: exactly one
//! run completes, every other is superseded naming it, the winner's sink
//! holds a secret the fake accepts, the old token is deleted (or left to
//! its grace period) as the plan says, and no live token is left that no
//! sink holds.

mod lifecycle_support;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use api_tokens::RetryPolicy;
use api_tokens::lifecycle::{
    MailtrapLifecycle, MailtrapPlan, OldState, RotateError, Rotation, RotationMethod,
};
use api_tokens::mailtrap::{self, AccessLevel, ResourceType};
use api_tokens::testing::{
    Fault, MailtrapFake, MailtrapOp, MailtrapToken, MailtrapTokenSeed, placeholder,
};
use lifecycle_support::*;
use secrecy::ExposeSecret;

const ROUNDS: usize = 20;
/// How long the probe made with a new secret is held back.
const PROBE_HELD: Duration = Duration::from_millis(300);

fn client_of(fake: &MailtrapFake) -> MailtrapLifecycle {
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

/// Holds back every list made with a credential other than the fake's own:
/// the probes of the new secrets.
fn hold_probes(fake: &MailtrapFake) {
    let admin = placeholder(fake.token());
    fake.inject(
        MailtrapOp::List,
        Fault::delay(PROBE_HELD)
            .times(10_000)
            .when(move |r| !r.headers.values().any(|v| v.contains(&admin))),
    );
}

struct Round {
    fake: MailtrapFake,
    old: MailtrapToken,
    paths: Vec<PathBuf>,
    results: Vec<Result<Rotation, RotateError>>,
    _dirs: Vec<tempfile::TempDir>,
}

async fn race(runs: usize, plan: &MailtrapPlan, prepare: impl FnOnce(&MailtrapFake)) -> Round {
    let fake = MailtrapFake::start().await;
    let old = fake.insert_token(MailtrapTokenSeed::new("CI deploy").permission(
        ResourceType::Project,
        7,
        AccessLevel::Viewer,
    ));
    hold_probes(&fake);
    prepare(&fake);
    let plan = Arc::new(plan.clone());
    let (mut dirs, mut paths, mut tasks) = (Vec::new(), Vec::new(), Vec::new());
    // The runs start together once every one is ready.
    let start = Arc::new(tokio::sync::Barrier::new(runs));
    for _ in 0..runs {
        let start = start.clone();
        let dir = tempfile::tempdir().unwrap();
        let (sink, path) = file_sink(dir.path(), &old.secret);
        let life = client_of(&fake);
        let (old_id, plan) = (old.id, plan.clone());
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            life.rotate(old_id, &plan, &sink).await
        }));
        dirs.push(dir);
        paths.push(path);
    }
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.expect("the task ran"));
    }
    Round {
        fake,
        old,
        paths,
        results,
        _dirs: dirs,
    }
}

/// Exactly one run completed, the others were superseded by it and stored
/// nothing; the only live tokens are the winner's (held by its sink and
/// accepted) and, when the plan lets it run, the old one in its grace
/// period.
async fn one_winner(round: &Round, old_kept: bool) -> Rotation {
    let wins: Vec<(usize, &Rotation)> = round
        .results
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.as_ref().ok().map(|r| (i, r)))
        .collect();
    assert_eq!(wins.len(), 1, "exactly one completes: {:?}", round.results);
    let (at, won) = wins[0];
    for (i, result) in round.results.iter().enumerate() {
        if i == at {
            continue;
        }
        let err = result.as_ref().expect_err("the others fail");
        let superseded = err
            .superseded()
            .unwrap_or_else(|| panic!("run {i} is superseded: {err}"));
        assert_eq!(superseded.winner.id, won.new.id, "run {i}: {err}");
        assert!(!err.secret_stored(), "run {i}: {err}");
        assert_eq!(stored(&round.paths[i]), round.old.secret.expose_secret());
    }
    let held = round.fake.tokens();
    let names: Vec<_> = held.iter().map(|t| &t.name).collect();
    let secret = stored(&round.paths[at]);
    let new = held
        .iter()
        .find(|t| t.id.to_string() == won.new.id)
        .unwrap_or_else(|| panic!("the winner's token is live: {names:?}"));
    assert_eq!(new.secret.expose_secret(), secret);
    assert_eq!(new.permissions, round.old.permissions);
    for other in held.iter().filter(|t| t.id != new.id) {
        assert!(
            old_kept && other.id == round.old.id,
            "no token that no sink holds: {names:?}"
        );
    }
    let life = client_of(&round.fake);
    assert!(mailtrap_accepts(&life, &secret).await);
    assert_eq!(
        mailtrap_accepts(&life, round.old.secret.expose_secret()).await,
        old_kept
    );
    won.clone()
}

async fn rounds_of(runs: usize, plan: MailtrapPlan, old_kept: bool) -> Vec<Rotation> {
    let mut won = Vec::new();
    let mut overlapped = 0;
    for _ in 0..ROUNDS {
        let round = race(runs, &plan, |_| {}).await;
        won.push(one_winner(&round, old_kept).await);
        let mints = round
            .fake
            .requests()
            .iter()
            .filter(|r| matches!(r.operation, Some("create" | "reset")))
            .count();
        overlapped += usize::from(mints >= runs);
    }
    assert!(overlapped > 0, "no round overlapped");
    won
}

fn recreate() -> MailtrapPlan {
    MailtrapPlan::new().recreate()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_concurrent_recreations_leave_one_winner() {
    for won in rounds_of(2, recreate(), false).await {
        assert_eq!(won.method, RotationMethod::Create);
        assert_eq!(won.old_state, OldState::Deleted);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_concurrent_recreations_leave_one_winner() {
    rounds_of(3, recreate(), false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_concurrent_recreations_leave_one_winner() {
    rounds_of(8, recreate().delete_old(), false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_resets_leave_one_winner_and_delete_the_old_token() {
    for runs in [2, 8] {
        rounds_of(runs, MailtrapPlan::new().delete_old(), false).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_resets_leave_one_winner_and_the_old_token_in_its_grace() {
    for won in rounds_of(3, MailtrapPlan::new(), true).await {
        assert!(
            matches!(won.old_state, OldState::GracePeriod { .. }),
            "{won}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lost_create_answer_beside_a_concurrent_run_leaves_no_orphan_and_no_double() {
    for _ in 0..ROUNDS {
        let round = race(2, &recreate(), |fake| {
            fake.inject(MailtrapOp::Create, Fault::lose_answer())
        })
        .await;
        let wins: Vec<&Rotation> = round
            .results
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .collect();
        assert!(wins.len() <= 1, "{:?}", round.results);
        for result in &round.results {
            if let Err(e) = result {
                assert!(e.superseded().is_some(), "only yields: {e}");
                assert!(!e.secret_stored());
            }
        }
        let held = round.fake.tokens();
        assert_eq!(held.len(), 1, "no double, no orphan");
        match wins.first() {
            Some(won) => {
                assert_eq!(held[0].id.to_string(), won.new.id);
                let secret = held[0].secret.expose_secret();
                assert!(round.paths.iter().any(|p| stored(p) == secret));
            }
            None => assert_eq!(held[0].id, round.old.id),
        }
    }
}

#[tokio::test]
async fn a_run_after_the_winner_finished_is_superseded_unless_its_sink_holds_the_secret() {
    let (fake, life) = mailtrap().await;
    let old = fake.insert_token(MailtrapTokenSeed::new("CI deploy").permission(
        ResourceType::Project,
        7,
        AccessLevel::Viewer,
    ));
    let dir = tempfile::tempdir().unwrap();
    let (sink, path) = file_sink(dir.path(), &old.secret);
    let won = life
        .rotate(old.id, &recreate(), &sink)
        .await
        .expect("first");

    let late = tempfile::tempdir().unwrap();
    let (late_sink, late_path) = file_sink(late.path(), &old.secret);
    let err = life
        .rotate(old.id, &recreate(), &late_sink)
        .await
        .expect_err("superseded");
    assert_eq!(err.superseded().expect("superseded").winner.id, won.new.id);
    assert_eq!(stored(&late_path), old.secret.expose_secret());

    std::fs::copy(&path, &late_path).unwrap();
    let again = life
        .rotate(old.id, &recreate(), &late_sink)
        .await
        .expect("already done");
    assert_eq!(again.method, RotationMethod::Resumed);
    assert_eq!(again.new.id, won.new.id);
    assert_eq!(fake.tokens().len(), 1);
}
