//! Concurrent rotations of one Unit token: 2, 3 and 8 runs at once, each
//! with its own client and its own file sink, on a multi-thread runtime,
//! the probe made with each new secret held back so that the runs overlap.
//! Every round: exactly one run completes, every other is superseded
//! naming it, the winner's sink holds a secret the fake accepts, the old
//! token is revoked, and no live token is left that no sink holds.

use crate::lifecycle_support;

use api_tokens::lifecycle::{RotationMethod, UnitPlan};
use api_tokens::testing::{UnitFake, UnitTokenSeed};
use api_tokens::unit::Scope;
use chrono::{TimeDelta, Utc};
use lifecycle_support::concurrent::{Round, every_service_tests, rounds_of};
use lifecycle_support::*;
use secrecy::ExposeSecret;

fn plan() -> UnitPlan {
    UnitPlan::new([Scope::Customers], Utc::now() + TimeDelta::days(90))
}

/// Exactly one run completed, by create, the others were superseded by
/// it; the old token is revoked; the only live token is the winner's, held
/// by its sink and accepted.
async fn one_winner(round: &Round<UnitFake>) {
    let (at, won) = round.one_winner();
    assert_eq!(won.method, RotationMethod::Create);
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
    let life = unit_life(&round.fake);
    assert!(unit_accepts(&life, &secret).await);
    // Revoked: gone from the list, its secret refused as no token's.
    assert!(!unit_lists(&life, round.old.id.as_str()).await);
    assert!(unit_refuses(&life, round.old_secret()).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_concurrent_rotations_leave_one_winner() {
    rounds_of(2, plan, one_winner).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_concurrent_rotations_leave_one_winner() {
    rounds_of(3, plan, one_winner).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_concurrent_rotations_leave_one_winner() {
    rounds_of(8, plan, one_winner).await;
}

every_service_tests!(UnitFake, plan);

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

// ---------------------------------------------------------------------------
// Runs that died, and live runs into one sink.

/// A token that a run which died left behind, minted a moment ago to
/// replace `old`, headed for the sink whose writer lock is `headed_for`
/// (or for no sink named).
fn left_by_a_dead_run(fake: &UnitFake, old: &str, headed_for: Option<&str>) -> String {
    use api_tokens::lifecycle::Marker;
    let marker = Marker::replacing(old).headed_for(headed_for);
    fake.insert_token(UnitTokenSeed::new(marker.tag("CI deploy")).scope(Scope::Customers))
        .id
        .to_string()
}

/// Run again at once after a run that died (the default lease of 10
/// minutes): the dead run's token names the sink this run holds the writer
/// lock of, so no live run can be writing it; the rotation goes on,
/// completes, and removes the dead run's token.
#[tokio::test]
async fn a_rerun_holding_the_sink_takes_a_dead_runs_token_for_a_leftover() {
    use api_tokens::lifecycle::sink::{FileSink, SecretSink};
    let (fake, life) = unit().await;
    let old = fake.insert_token(UnitTokenSeed::new("CI deploy").scope(Scope::Customers));
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("unit.token");
    let sink = FileSink::new(&path);
    let lock = sink
        .writer_lock()
        .expect("the file sink has a writer lock on this machine");
    let dead = left_by_a_dead_run(&fake, old.id.as_str(), Some(lock.tag()));

    let rotation = life
        .rotate(&old.id, &plan(), &sink)
        .await
        .expect("a rerun converges");
    assert_eq!(rotation.method, RotationMethod::Create);
    assert!(
        rotation.removed.iter().any(|t| t.id == dead),
        "the dead run's token is removed: {rotation:?}"
    );
    assert!(
        rotation
            .new
            .name
            .as_deref()
            .is_some_and(|n| n.contains(&format!(" to:{} from:", lock.tag()))),
        "the new token's marker names its sink: {:?}",
        rotation.new.name
    );
    let held = fake.tokens();
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!(held[0].id.to_string(), rotation.new.id);
    assert_eq!(held[0].secret.expose_secret(), stored(&path));
}

/// A token in flight headed for another sink, or naming none, may be a
/// live run's: the lease rule holds, and this run yields to it.
#[tokio::test]
async fn a_token_in_flight_for_another_sink_is_still_a_rival() {
    use api_tokens::lifecycle::sink::FileSink;
    for other in [Some("zzzzzz"), None] {
        let (fake, life) = unit().await;
        let old = fake.insert_token(UnitTokenSeed::new("CI deploy").scope(Scope::Customers));
        let dir = tempfile::tempdir().expect("tempdir");
        let sink = FileSink::new(dir.path().join("unit.token"));
        let rival = left_by_a_dead_run(&fake, old.id.as_str(), other);
        let err = life
            .rotate(&old.id, &plan(), &sink)
            .await
            .expect_err("yields");
        let superseded = err.superseded().expect("superseded");
        assert_eq!(superseded.winner.id, rival, "{other:?}");
        assert!(fake.tokens().iter().any(|t| t.id == old.id));
    }
}

/// Three live runs into one file at once: the writer lock lets one run at
/// a time; the first completes and the two that waited for it are
/// superseded by its token, whose secret the file holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_live_runs_into_one_sink_leave_one_winner() {
    use api_tokens::lifecycle::sink::FileSink;
    use api_tokens::testing::UnitOp;
    for _ in 0..5 {
        let (fake, _) = unit().await;
        fake.inject(
            UnitOp::List,
            lifecycle_support::probes::hold_probes(
                fake.token(),
                std::time::Duration::from_millis(200),
            ),
        );
        let old = fake.insert_token(UnitTokenSeed::new("CI deploy").scope(Scope::Customers));
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("unit.token");
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(3));
        let runs: Vec<_> = (0..3)
            .map(|_| {
                let life = unit_life(&fake);
                let (old, path) = (old.id.clone(), path.clone());
                let sink = lifecycle_support::Rendezvous {
                    inner: FileSink::new(path),
                    barrier: barrier.clone(),
                };
                tokio::spawn(async move { life.rotate(&old, &plan(), &sink).await })
            })
            .collect();
        let mut won = Vec::new();
        let mut superseded = Vec::new();
        for run in runs {
            match run.await.expect("the task") {
                Ok(rotation) => won.push(rotation),
                Err(e) => superseded.push(e.superseded().expect("superseded").winner.id.clone()),
            }
        }
        assert_eq!(
            won.len(),
            1,
            "one run completes; superseded by {superseded:?}; completed: {won:?}"
        );
        assert_eq!(superseded, [won[0].new.id.clone(), won[0].new.id.clone()]);
        let held = fake.tokens();
        assert_eq!(held.len(), 1, "{held:?}");
        assert_eq!(held[0].id.to_string(), won[0].new.id);
        assert_eq!(held[0].secret.expose_secret(), stored(&path));
    }
}
