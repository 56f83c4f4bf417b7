//! Concurrent rotations of one Mailtrap token: 2, 3 and 8 runs at once,
//! each with its own client and its own file sink, on a multi-thread
//! runtime, the probe made with each new secret held back so that the runs
//! overlap; by create (`recreate`) and by reset. Every round: exactly one
//! run completes, every other is superseded naming it, the winner's sink
//! holds a secret the fake accepts, the old token is deleted (or left to
//! its grace period) as the plan says, and no live token is left that no
//! sink holds.

use crate::lifecycle_support;

use api_tokens::lifecycle::{MailtrapPlan, OldState, Rotation, RotationMethod};
use api_tokens::testing::MailtrapFake;
use lifecycle_support::concurrent::{Round, every_service_tests, rounds_of};
use lifecycle_support::*;
use secrecy::ExposeSecret;

/// Exactly one run completed, the others were superseded by it and stored
/// nothing; the only live tokens are the winner's (held by its sink and
/// accepted) and, when the plan lets it run (`old_kept`), the old one in
/// its grace period.
async fn one_winner(round: &Round<MailtrapFake>, old_kept: bool) -> Rotation {
    let (at, won) = round.one_winner();
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
    let life = mailtrap_life(&round.fake);
    assert!(mailtrap_accepts(&life, &secret).await);
    // Deleted: gone from the list and its secret refused as no token's;
    // or kept, listed and working, in its grace period.
    let old_id = round.old.id.to_string();
    assert_eq!(mailtrap_lists(&life, &old_id).await, old_kept);
    if old_kept {
        assert!(mailtrap_accepts(&life, round.old_secret()).await);
    } else {
        assert!(mailtrap_refuses(&life, round.old_secret()).await);
    }
    won.clone()
}

/// [`rounds_of`] with [`one_winner`] as the check of every round.
async fn winners(runs: usize, plan: fn() -> MailtrapPlan, old_kept: bool) -> Vec<Rotation> {
    rounds_of(runs, plan, async |round: &Round<MailtrapFake>| {
        one_winner(round, old_kept).await
    })
    .await
}

fn recreate() -> MailtrapPlan {
    MailtrapPlan::new().recreate()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_concurrent_recreations_leave_one_winner() {
    for won in winners(2, recreate, false).await {
        assert_eq!(won.method, RotationMethod::Create);
        assert_eq!(won.old_state, OldState::Deleted);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_concurrent_recreations_leave_one_winner() {
    winners(3, recreate, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_concurrent_recreations_leave_one_winner() {
    winners(8, || recreate().delete_old(), false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_resets_leave_one_winner_and_delete_the_old_token() {
    for runs in [2, 8] {
        winners(runs, || MailtrapPlan::new().delete_old(), false).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_resets_leave_one_winner_and_the_old_token_in_its_grace() {
    for won in winners(3, MailtrapPlan::new, true).await {
        assert!(
            matches!(won.old_state, OldState::GracePeriod { .. }),
            "{won}"
        );
    }
}

every_service_tests!(MailtrapFake, recreate);

/// Run again at once (default lease) after a run that died having created
/// its token, headed for this run's file: by recreate and by reset, the
/// rerun completes and removes the dead run's token, and the file holds
/// the one new token's secret.
#[tokio::test]
async fn a_rerun_holding_the_sink_takes_a_dead_runs_token_for_a_leftover() {
    use api_tokens::lifecycle::Marker;
    use api_tokens::lifecycle::sink::{FileSink, SecretSink};
    for (plan, method) in [
        (recreate(), RotationMethod::Create),
        (MailtrapPlan::new().delete_old(), RotationMethod::Reset),
    ] {
        let (fake, life) = mailtrap().await;
        let old = fake.insert_token(project_viewer("nightly export"));
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("mailtrap.token");
        let sink = FileSink::new(&path);
        let tag = sink.writer_lock().expect("a writer lock on this machine");
        let marker = Marker::replacing(&old.id.to_string()).headed_for(Some(tag.tag()));
        let dead = fake
            .insert_token(project_viewer(&marker.tag("nightly export")))
            .id;

        let rotation = life
            .rotate(&old.id, &plan, &sink)
            .await
            .expect("a rerun converges");
        assert_eq!(rotation.method, method);
        assert!(
            rotation.removed.iter().any(|t| t.id == dead.to_string()),
            "{rotation:?}"
        );
        let held = fake.tokens();
        assert_eq!(
            held.len(),
            1,
            "{:?}",
            held.iter().map(|t| &t.name).collect::<Vec<_>>()
        );
        assert_eq!(held[0].id.to_string(), rotation.new.id);
        assert_eq!(held[0].secret.expose_secret(), stored(&path));
    }
}

/// Three live runs into one file sink at once, by reset (the old token
/// left to its grace period, or deleted) and by create: they take turns at
/// the sink's writer lock; the first completes, and the two that waited
/// for it find its rotation done and are superseded by its token, never a
/// second completion ("resumed") on the secret the first one stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_live_runs_into_one_sink_leave_one_winner() {
    use api_tokens::lifecycle::sink::FileSink;
    use api_tokens::testing::MailtrapOp;
    for plan in [
        MailtrapPlan::new(),
        MailtrapPlan::new().delete_old(),
        recreate(),
    ] {
        let (fake, _) = mailtrap().await;
        fake.inject(
            MailtrapOp::List,
            lifecycle_support::probes::hold_probes(
                fake.token(),
                std::time::Duration::from_millis(200),
            ),
        );
        let old = fake.insert_token(project_viewer("nightly export"));
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("mailtrap.token");
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(3));
        let runs: Vec<_> = (0..3)
            .map(|_| {
                let life = mailtrap_life(&fake);
                let (plan, path) = (plan.clone(), path.clone());
                let sink = lifecycle_support::Rendezvous {
                    inner: FileSink::new(path),
                    barrier: barrier.clone(),
                };
                tokio::spawn(async move { life.rotate(&old.id, &plan, &sink).await })
            })
            .collect();
        let mut won = Vec::new();
        let mut superseded = Vec::new();
        for run in runs {
            match run.await.expect("the task") {
                Ok(rotation) => won.push(rotation),
                Err(e) => superseded.push(
                    e.superseded()
                        .unwrap_or_else(|| panic!("superseded, not {e}"))
                        .winner
                        .id
                        .clone(),
                ),
            }
        }
        assert_eq!(won.len(), 1, "{plan:?}: one run completes: {won:?}");
        assert_ne!(won[0].method, RotationMethod::Resumed, "{plan:?}");
        assert_eq!(
            superseded,
            [won[0].new.id.clone(), won[0].new.id.clone()],
            "{plan:?}"
        );
        let new = fake
            .tokens()
            .into_iter()
            .find(|t| t.id.to_string() == won[0].new.id)
            .expect("the winner's token is live");
        assert_eq!(new.secret.expose_secret(), stored(&path), "{plan:?}");
    }
}
