//! Concurrent rotations of one Unit token: 2, 3 and 8 runs at once, each
//! with its own client and its own file sink, on a multi-thread runtime,
//! the probe made with each new secret held back so that the runs overlap.
//! Every round: exactly one run completes, every other is superseded
//! naming it, the winner's sink holds a secret the fake accepts, the old
//! token is revoked, and no live token is left that no sink holds.

mod lifecycle_support;

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
