//! Concurrent rotations of one Unit token: 2, 3 and 8 runs at once, each
//! with its own client and its own file sink, on a multi-thread runtime,
//! the probe made with each new secret held back so that the runs overlap.
//! Every round: exactly one run completes, every other is superseded
//! naming it, the winner's sink holds a secret the fake accepts, the old
//! token is revoked, and no live token is left that no sink holds.

mod lifecycle_support;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use api_tokens::RetryPolicy;
use api_tokens::lifecycle::{RotateError, Rotation, RotationMethod, UnitLifecycle, UnitPlan};
use api_tokens::testing::{Fault, UnitFake, UnitOp, UnitToken, UnitTokenSeed, placeholder};
use api_tokens::unit::{self, Scope};
use chrono::{TimeDelta, Utc};
use lifecycle_support::*;
use secrecy::ExposeSecret;

const ROUNDS: usize = 20;
/// How long the probe made with a new secret is held back.
const PROBE_HELD: Duration = Duration::from_millis(300);

fn plan() -> UnitPlan {
    UnitPlan::new([Scope::Customers], Utc::now() + TimeDelta::days(90))
}

fn client_of(fake: &UnitFake) -> UnitLifecycle {
    let client = unit::Client::builder()
        .token(fake.token().clone())
        .base_url(fake.uri())
        .retry(RetryPolicy::disabled())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    UnitLifecycle::new(client, fake.user_id())
}

/// Holds back every list made with a credential other than the fake's own:
/// the probes of the new secrets.
fn hold_probes(fake: &UnitFake) {
    let admin = placeholder(fake.token());
    fake.inject(
        UnitOp::List,
        Fault::delay(PROBE_HELD)
            .times(10_000)
            .when(move |r| !r.headers.values().any(|v| v.contains(&admin))),
    );
}

struct Round {
    fake: UnitFake,
    old: UnitToken,
    paths: Vec<PathBuf>,
    results: Vec<Result<Rotation, RotateError>>,
    _dirs: Vec<tempfile::TempDir>,
}

/// `runs` rotations of one token at once, each on its own client and sink.
async fn race(runs: usize, prepare: impl FnOnce(&UnitFake)) -> Round {
    let fake = UnitFake::start().await;
    let old = fake.insert_token(UnitTokenSeed::new("CI deploy").scope(Scope::Customers));
    hold_probes(&fake);
    prepare(&fake);
    let plan = Arc::new(plan());
    let (mut dirs, mut paths, mut tasks) = (Vec::new(), Vec::new(), Vec::new());
    // The runs start together once every one is ready.
    let start = Arc::new(tokio::sync::Barrier::new(runs));
    for _ in 0..runs {
        let start = start.clone();
        let dir = tempfile::tempdir().unwrap();
        let (sink, path) = file_sink(dir.path(), &old.secret);
        let life = client_of(&fake);
        let (old_id, plan) = (old.id.clone(), plan.clone());
        tasks.push(tokio::spawn(async move {
            start.wait().await;
            life.rotate(&old_id, &plan, &sink).await
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

/// Exactly one run completed, the others were superseded by it; the old
/// token is revoked; the only live token is the winner's, held by its sink
/// and accepted.
async fn one_winner(round: &Round) {
    let wins: Vec<(usize, &Rotation)> = round
        .results
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.as_ref().ok().map(|r| (i, r)))
        .collect();
    assert_eq!(wins.len(), 1, "exactly one completes: {:?}", round.results);
    let (at, won) = wins[0];
    assert_eq!(won.method, RotationMethod::Create);
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
        // It stored nothing: its sink still holds the old secret.
        assert_eq!(stored(&round.paths[i]), round.old.secret.expose_secret());
    }
    let held = round.fake.tokens();
    assert_eq!(
        held.len(),
        1,
        "only the winner's token: {:?}",
        held.iter().map(|t| &t.description).collect::<Vec<_>>()
    );
    assert_eq!(held[0].id.as_str(), won.new.id);
    let secret = stored(&round.paths[at]);
    assert_eq!(held[0].secret.expose_secret(), secret);
    let life = client_of(&round.fake);
    assert!(unit_accepts(&life, &secret).await);
    assert!(!unit_accepts(&life, round.old.secret.expose_secret()).await);
}

async fn rounds_of(runs: usize) {
    let mut overlapped = 0;
    for _ in 0..ROUNDS {
        let round = race(runs, |_| {}).await;
        one_winner(&round).await;
        let creates = round
            .fake
            .requests()
            .iter()
            .filter(|r| r.operation == Some("create"))
            .count();
        overlapped += usize::from(creates == runs);
    }
    // Every run minted before any retired the old token: they overlapped.
    assert!(overlapped > 0, "no round overlapped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_concurrent_rotations_leave_one_winner() {
    rounds_of(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_concurrent_rotations_leave_one_winner() {
    rounds_of(3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_concurrent_rotations_leave_one_winner() {
    rounds_of(8).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lost_create_answer_beside_a_concurrent_run_leaves_no_orphan_and_no_double() {
    for _ in 0..ROUNDS {
        // The first create to reach the fake mints, and its answer is lost.
        let round = race(2, |fake| fake.inject(UnitOp::Create, Fault::lose_answer())).await;
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
        match wins.first() {
            Some(won) => {
                assert_eq!(held.len(), 1, "no double, no orphan: {held:?}");
                assert_eq!(held[0].id.as_str(), won.new.id);
                let holder = round
                    .paths
                    .iter()
                    .find(|p| stored(p) == held[0].secret.expose_secret());
                assert!(holder.is_some(), "a sink holds the live token");
            }
            None => {
                // Both yielded (each to a token the other then removed):
                // nothing minted is left, the old token works.
                assert_eq!(held.len(), 1, "no orphan: {held:?}");
                assert_eq!(held[0].id, round.old.id);
            }
        }
    }
}

#[tokio::test]
async fn a_run_after_the_winner_finished_is_superseded_unless_its_sink_holds_the_secret() {
    let (fake, life) = unit().await;
    let old = fake.insert_token(UnitTokenSeed::new("CI deploy").scope(Scope::Customers));
    let dir = tempfile::tempdir().unwrap();
    let (sink, path) = file_sink(dir.path(), &old.secret);
    let won = life.rotate(&old.id, &plan(), &sink).await.expect("first");

    // A second machine, whose sink still holds the old secret.
    let late = tempfile::tempdir().unwrap();
    let (late_sink, late_path) = file_sink(late.path(), &old.secret);
    let before = fake.requests().len();
    let err = life
        .rotate(&old.id, &plan(), &late_sink)
        .await
        .expect_err("superseded");
    let superseded = err.superseded().expect("superseded");
    assert_eq!(superseded.winner.id, won.new.id);
    assert_eq!(stored(&late_path), old.secret.expose_secret());
    let created = fake.requests()[before..]
        .iter()
        .filter(|r| r.operation == Some("create"))
        .count();
    assert_eq!(created, 0, "nothing minted");

    // A sink that already holds the winner's secret: the rotation is done.
    std::fs::copy(&path, &late_path).unwrap();
    let again = life
        .rotate(&old.id, &plan(), &late_sink)
        .await
        .expect("already done");
    assert_eq!(again.method, RotationMethod::Resumed);
    assert_eq!(again.new.id, won.new.id);
    assert_eq!(fake.tokens().len(), 1);
}

#[tokio::test]
async fn a_store_that_finds_a_newer_secret_makes_the_run_superseded() {
    use api_tokens::lifecycle::sink::{self, SecretMeta, SinkError};
    let (fake, life) = unit().await;
    let old = fake.insert_token(UnitTokenSeed::new("CI deploy").scope(Scope::Customers));
    let compare_and_set = sink::from_fn(|_: secrecy::SecretString, _: SecretMeta| async {
        Err(SinkError::superseded(
            "vault ci/unit",
            Some("77".to_owned()),
        ))
    });
    let err = life
        .rotate(&old.id, &plan(), &compare_and_set)
        .await
        .expect_err("superseded");
    let superseded = err.superseded().expect("superseded");
    assert_eq!(superseded.winner.id, "77");
    assert!(superseded.secret_at.is_some());
    assert_eq!(err.left(), &api_tokens::lifecycle::Left::Unchanged);
    // Its own token was removed; the old one works.
    let held = fake.tokens();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].id, old.id);
}
