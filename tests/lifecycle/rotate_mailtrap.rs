//! Rotation of a Mailtrap token on the fake: by reset, by create when the
//! name is kept or the reset refused; a fault at every step, and a crash at
//! every await point followed by a second run. After each, the fake holds
//! exactly the tokens expected, and the sink holds a secret the fake
//! accepts or the old token still works.

use crate::lifecycle_support;

use std::time::Duration;

use api_tokens::lifecycle::sink::FileSink;
use api_tokens::lifecycle::{
    Fallback, Left, MailtrapLifecycle, MailtrapPlan, Marker, OldState, RotateError, Rotation,
    RotationMethod, SecretSink, Step,
};
use api_tokens::testing::{
    Fault, MailtrapFake, MailtrapOp, MailtrapToken, MailtrapTokenSeed, ResetRule,
};
use chrono::{TimeDelta, Utc};
use lifecycle_support::*;
use secrecy::ExposeSecret;

type Setup = Seeded<MailtrapFake, MailtrapLifecycle, MailtrapToken>;

async fn setup() -> Setup {
    let (fake, life) = mailtrap().await;
    let old = fake.insert_token(project_viewer("CI deploy"));
    Seeded::new(fake, life, old.clone(), &old.secret)
}

impl Setup {
    /// A rotation of the old token by `plan` into the file.
    async fn rotate(&self, plan: &MailtrapPlan) -> Result<Rotation, RotateError> {
        self.life.rotate(&self.old.id, plan, &self.sink()).await
    }
}

/// The sink holds the secret of a token the fake holds and accepts; the
/// only other token allowed is the old one in its grace period (when
/// `grace_ok`). Gives the sink's token.
async fn converged(s: &Setup, grace_ok: bool) -> MailtrapToken {
    let secret = stored(&s.path);
    let held = s.fake.tokens();
    let new = held
        .iter()
        .find(|t| t.secret.expose_secret() == secret)
        .cloned()
        .expect("the sink holds a token the fake holds");
    assert_ne!(new.id, s.old.id);
    assert!(mailtrap_accepts(&s.life, &secret).await);
    for other in held.iter().filter(|t| t.id != new.id) {
        assert!(
            grace_ok && other.id == s.old.id,
            "unexpected token {:?}",
            other.name
        );
        let ends = other.expires_at.expect("in its grace period");
        assert!(ends <= s.fake.now() + TimeDelta::hours(12));
    }
    assert_eq!(new.permissions, s.old.permissions, "same permissions");
    new
}

/// Only the old token, which works; the sink as it was.
async fn old_only(s: &Setup) {
    let held = s.fake.tokens();
    assert_eq!(
        held.len(),
        1,
        "{:?}",
        held.iter().map(|t| &t.name).collect::<Vec<_>>()
    );
    assert_eq!(held[0].id, s.old.id);
    assert_eq!(stored(&s.path), s.old.secret.expose_secret());
    assert!(mailtrap_accepts(&s.life, s.old.secret.expose_secret()).await);
}

#[tokio::test]
async fn a_reset_rotation_lets_the_grace_period_run() {
    let s = setup().await;
    let rotation = s.rotate(&MailtrapPlan::new()).await.expect("rotate");
    let new = converged(&s, true).await;
    assert_eq!(s.fake.tokens().len(), 2);
    assert_eq!(rotation.method, RotationMethod::Reset);
    assert_eq!(
        new.name,
        format!("CI deploy {}", new.id),
        "the service's name"
    );
    let OldState::GracePeriod { until: Some(until) } = rotation.old_state else {
        panic!("{:?}", rotation.old_state);
    };
    assert!(until > Utc::now() + TimeDelta::hours(11));
    assert!(mailtrap_accepts(&s.life, s.old.secret.expose_secret()).await);

    s.fake.advance_clock(Duration::from_secs(13 * 3600));
    assert!(mailtrap_refuses(&s.life, s.old.secret.expose_secret()).await);
    assert!(mailtrap_accepts(&s.life, &stored(&s.path)).await);
}

#[tokio::test]
async fn a_reset_rotation_can_delete_the_old_token() {
    let s = setup().await;
    let rotation = s
        .rotate(&MailtrapPlan::new().delete_old())
        .await
        .expect("rotate");
    converged(&s, false).await;
    assert_eq!(s.fake.tokens().len(), 1);
    assert_eq!(rotation.old_state, OldState::Deleted);
    // Deleted: gone from the list, its secret refused as no token's.
    assert!(!mailtrap_lists(&s.life, &s.old.id.to_string()).await);
    assert!(mailtrap_refuses(&s.life, s.old.secret.expose_secret()).await);
}

#[tokio::test]
async fn keeping_the_name_creates_then_deletes() {
    let s = setup().await;
    let rotation = s
        .rotate(&MailtrapPlan::new().recreate())
        .await
        .expect("rotate");
    let new = converged(&s, false).await;
    assert_eq!(s.fake.tokens().len(), 1);
    assert_eq!(rotation.method, RotationMethod::Create);
    assert_eq!(Marker::label(&new.name), "CI deploy");
    let marker = Marker::find(&new.name).expect("marked");
    assert_eq!(marker.replaces(), Some(s.old.id.to_string().as_str()));
    let ops: Vec<_> = s.fake.requests().iter().map(|r| r.operation).collect();
    assert!(!ops.contains(&Some("reset")));
}

#[tokio::test]
async fn a_refused_reset_falls_back_to_create() {
    // The rule of the published description: a token with an expiry
    // cannot be reset.
    let (fake, life) = mailtrap().await;
    fake.set_reset_rule(ResetRule::Published);
    let old = fake.insert_token(
        MailtrapTokenSeed::new("expiring").expires_at(Utc::now() + TimeDelta::days(10)),
    );
    let (_dir, sink, path) = temp_file_sink(&old.secret);
    let rotation = life
        .rotate(&old.id, &MailtrapPlan::new(), &sink)
        .await
        .expect("rotate");
    assert_eq!(rotation.method, RotationMethod::Create);
    let held = fake.tokens();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].secret.expose_secret(), stored(&path));
    assert_eq!(Marker::label(&held[0].name), "expiring");
}

#[tokio::test]
async fn a_lost_reset_answer_is_reconciled_then_a_create_follows() {
    let s = setup().await;
    s.fake.inject(MailtrapOp::Reset, Fault::lose_answer());
    let rotation = s.rotate(&MailtrapPlan::new()).await.expect("rotate");
    converged(&s, true).await;
    assert_eq!(rotation.method, RotationMethod::Create);
    assert_eq!(rotation.removed.len(), 1, "the token the lost reset made");
    let reset_name = rotation.removed[0].name.clone().unwrap();
    assert_eq!(reset_name, format!("CI deploy {}", rotation.removed[0].id));
    // The plan lets the old token run: the fallback keeps it working (the
    // lost reset started its grace period), and says so.
    assert_eq!(s.fake.tokens().len(), 2);
    assert!(mailtrap_accepts(&s.life, s.old.secret.expose_secret()).await);
    assert_eq!(rotation.fallback, Some(Fallback::LostResetAnswer));
    let OldState::Kept {
        expires_at: Some(until),
    } = rotation.old_state
    else {
        panic!("{:?}", rotation.old_state);
    };
    assert!(until > Utc::now() + TimeDelta::hours(11));
    assert!(
        rotation.to_string().contains("answer was lost"),
        "{rotation}"
    );
}

#[tokio::test]
async fn a_lost_reset_answer_deletes_the_old_token_only_when_asked() {
    let s = setup().await;
    s.fake.inject(MailtrapOp::Reset, Fault::lose_answer());
    let rotation = s
        .rotate(&MailtrapPlan::new().delete_old())
        .await
        .expect("rotate");
    converged(&s, false).await;
    assert_eq!(s.fake.tokens().len(), 1);
    assert_eq!(rotation.old_state, OldState::Deleted);
    assert_eq!(rotation.fallback, Some(Fallback::LostResetAnswer));
}

#[tokio::test]
async fn an_unreconciled_reset_is_finished_by_the_next_run() {
    let s = setup().await;
    s.fake.inject(MailtrapOp::Reset, Fault::lose_answer());
    s.fake
        .inject(MailtrapOp::List, Fault::status(502).nth(2).times(3));
    let err = s
        .rotate(&MailtrapPlan::new())
        .await
        .expect_err("unreconciled");
    assert_eq!(err.step(), Step::Mint);
    assert!(err.is_outcome_unknown());
    assert!(
        matches!(err.left(), Left::Orphan { .. }),
        "{:?}",
        err.left()
    );
    s.fake.clear_faults();
    assert_eq!(s.fake.tokens().len(), 2, "the old token and the reset's");
    assert!(mailtrap_accepts(&s.life, s.old.secret.expose_secret()).await);
    assert_eq!(stored(&s.path), s.old.secret.expose_secret());

    // The first run has stopped: no lease to wait out.
    let rerun = MailtrapPlan::new().lease(Duration::ZERO);
    let rotation = s.rotate(&rerun).await.expect("again");
    converged(&s, false).await;
    assert_eq!(s.fake.tokens().len(), 1);
    assert_eq!(rotation.method, RotationMethod::Create);
    assert_eq!(rotation.removed.len(), 1);
    // The lost reset cut the old token's expiry to its grace period's end;
    // the new token keeps the expiry the old one had before, not that.
    let new = &s.fake.tokens()[0];
    assert_eq!(new.expires_at, s.old.expires_at, "{new:?}");
    assert_eq!(rotation.expires_at, s.old.expires_at);
}

#[tokio::test]
async fn a_refused_probe_removes_the_reset_token_and_reports_the_grace_period() {
    let s = setup().await;
    // Lists: step 0, the decision, then the probe's.
    s.fake.inject(MailtrapOp::List, Fault::status(401).nth(3));
    let err = s.rotate(&MailtrapPlan::new()).await.expect_err("refused");
    assert_eq!(err.step(), Step::Probe);
    let Left::OldInGrace { until: Some(until) } = err.left() else {
        panic!("{:?}", err.left());
    };
    assert!(*until > Utc::now() + TimeDelta::hours(11));
    old_only(&s).await;
}

#[tokio::test]
async fn a_failing_sink_removes_the_new_token() {
    let s = setup().await;
    let err = s
        .life
        .rotate(&s.old.id, &MailtrapPlan::new().recreate(), &failing_sink())
        .await
        .expect_err("sink fails");
    assert_eq!((err.step(), err.left()), (Step::Store, &Left::Unchanged));
    old_only(&s).await;
}

#[tokio::test]
async fn a_failing_delete_leaves_the_new_secret_stored() {
    let s = setup().await;
    s.fake.inject(MailtrapOp::Delete, Fault::status(500));
    let err = s
        .rotate(&MailtrapPlan::new().delete_old())
        .await
        .expect_err("delete fails");
    assert_eq!(err.step(), Step::Retire);
    let Left::Stored { new, to_remove } = err.left() else {
        panic!("{:?}", err.left());
    };
    assert_eq!(to_remove.len(), 1);
    assert_eq!(to_remove[0].id, s.old.id.to_string());
    let secret = stored(&s.path);
    assert!(mailtrap_accepts(&s.life, &secret).await);
    assert!(s.fake.tokens().iter().any(|t| t.id.to_string() == new.id));
    assert!(!format!("{err} {err:?}").contains(&secret));
}

async fn crash_loop(plan: MailtrapPlan) -> u32 {
    crash_loop_with(plan, false).await
}

async fn crash_loop_with(plan: MailtrapPlan, lose_first_reset: bool) -> u32 {
    let mut crashed = 0;
    for call in 1.. {
        let s = setup().await;
        if lose_first_reset {
            s.fake.inject(MailtrapOp::Reset, Fault::lose_answer());
        }
        s.fake.inject(MailtrapOp::Any, Fault::delay(HELD).nth(call));
        let run = tokio::time::timeout(CRASH_AFTER, s.rotate(&plan)).await;
        let Err(_) = run else {
            run.unwrap()
                .expect("no call was held: the rotation finishes");
            converged(&s, true).await;
            break;
        };
        crashed += 1;
        s.fake.clear_faults();
        let old_works = mailtrap_accepts(&s.life, s.old.secret.expose_secret()).await;
        assert!(
            old_works || mailtrap_accepts(&s.life, &stored(&s.path)).await,
            "call {call}"
        );
        // The crashed run is known to have stopped: no lease to wait out.
        let rerun = plan.clone().lease(Duration::ZERO);
        // Every crash converges with exit 0: after the old token was
        // deleted, the sink holding the reset's secret ties the reset's
        // token (which carries no marker) to it, and the run resumes.
        if let Err(e) = s.rotate(&rerun).await {
            panic!("call {call}: {e}");
        }
        converged(&s, true).await;
    }
    crashed
}

#[tokio::test]
async fn a_crash_at_every_call_converges_on_the_next_run() {
    // list, reset, list (decide), probe, list (confirm), delete
    assert_eq!(crash_loop(MailtrapPlan::new().delete_old()).await, 6);
    // list, reset, list, probe, list, reading the grace period's end
    assert_eq!(crash_loop(MailtrapPlan::new()).await, 6);
    // list, create, list, probe, list, delete
    assert_eq!(crash_loop(MailtrapPlan::new().recreate()).await, 6);
    // list, reset (answer lost), list, delete, reset (refused), create,
    // list, probe, list, reading the old token's expiry: the held call is
    // the first not taken by the lost answer; the old token is kept.
    assert_eq!(crash_loop_with(MailtrapPlan::new(), true).await, 10);
}

/// A rotation that crashes while storing, run again: when the sink never
/// got the secret (`wrote` false), the reset is spent and a create
/// follows; when it did, the rotation is done, and the rerun says so
/// (`Resumed`), the old token left to its grace period as the plan asks.
async fn crash_while_storing(sink: &dyn SecretSink, s: &Setup, wrote: bool) {
    let first = tokio::time::timeout(
        CRASH_AFTER,
        s.life.rotate(&s.old.id, &MailtrapPlan::new(), sink),
    )
    .await;
    assert!(first.is_err());
    assert!(mailtrap_accepts(&s.life, s.old.secret.expose_secret()).await);
    let file = FileSink::new(&s.path);
    let rerun = MailtrapPlan::new().lease(Duration::ZERO);
    let rotation = s
        .life
        .rotate(&s.old.id, &rerun, &file)
        .await
        .expect("again");
    if wrote {
        assert_eq!(rotation.method, RotationMethod::Resumed);
        assert!(matches!(rotation.old_state, OldState::GracePeriod { .. }));
        converged(s, true).await;
        assert_eq!(
            s.fake.tokens().len(),
            2,
            "the new token, and the old in grace"
        );
    } else {
        assert_eq!(
            rotation.method,
            RotationMethod::Create,
            "the reset was spent"
        );
        converged(s, false).await;
        assert_eq!(s.fake.tokens().len(), 1);
    }
}

#[tokio::test]
async fn a_crash_while_storing_converges_on_the_next_run() {
    let s = setup().await;
    crash_while_storing(&hanging_sink(), &s, false).await;

    let s = setup().await;
    crash_while_storing(&WritesThenHangs(s.sink()), &s, true).await;
}

#[tokio::test]
async fn the_account_free_paths_rotate_too() {
    let fake = MailtrapFake::start().await;
    let old = fake.insert_token(MailtrapTokenSeed::new("own account"));
    let client = api_tokens::mailtrap::Client::builder()
        .token(fake.token().clone())
        .base_url(fake.uri())
        .retry(api_tokens::RetryPolicy::disabled())
        .build()
        .unwrap();
    let life = MailtrapLifecycle::new(client);
    let (_dir, sink, path) = temp_file_sink(&old.secret);
    let rotation = life
        .rotate(&old.id, &MailtrapPlan::new().recreate(), &sink)
        .await
        .expect("rotate");
    let held = fake.tokens();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].secret.expose_secret(), stored(&path));
    assert!(
        fake.requests()
            .iter()
            .all(|r| r.path.starts_with("/api/api_tokens"))
    );
    let line = rotation.to_string();
    assert!(
        line.starts_with(&format!(
            "Mailtrap token {} replaced by {} (create)",
            old.id, held[0].id
        )),
        "{line}"
    );
}

/// An expiry Mailtrap would refuse (in the past, beyond 5 years) is refused
/// at step 0 before any request, as a create's and a reset's are.
#[tokio::test]
async fn an_expiry_mailtrap_refuses_is_refused_before_any_request() {
    let s = setup().await;
    for at in [
        Utc::now() - TimeDelta::days(1),
        Utc::now() + TimeDelta::days(6 * 366),
    ] {
        s.fake.clear_requests();
        let err = s
            .rotate(&MailtrapPlan::new().expires(api_tokens::mailtrap::Expiry::At(at)))
            .await
            .expect_err("refused");
        assert_eq!(err.step(), Step::Inspect, "{err}");
        assert!(s.fake.requests().is_empty(), "{:?}", s.fake.requests());
    }
}

/// Resets that failed without reaching the service (503 each time) leave
/// the old token unchanged, and the error says so: not "reset and works
/// until" its own expiry.
#[tokio::test]
async fn resets_that_never_reached_the_service_leave_the_old_token_unchanged() {
    let s = setup().await;
    s.fake
        .inject(MailtrapOp::Reset, Fault::status(503).times(100));
    let err = s.rotate(&MailtrapPlan::new()).await.expect_err("no reset");
    assert_eq!(err.left(), &Left::Unchanged, "{err}");
    assert!(!err.to_string().contains("was reset"), "{err}");
    let old = s
        .fake
        .tokens()
        .into_iter()
        .find(|t| t.id == s.old.id)
        .expect("the old token");
    assert_eq!(old.expires_at, s.old.expires_at, "no reset reached it");
}
