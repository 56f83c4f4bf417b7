//! Rotation of a Unit token on the fake: a fault at every step, and a crash
//! (the future dropped) at every await point followed by a second run.
//! After each, the fake holds exactly the tokens expected, and the sink
//! holds a secret the fake accepts or the old token still works.

use crate::lifecycle_support;

use api_tokens::lifecycle::sink::FileSink;
use api_tokens::lifecycle::{
    Change, Left, Marker, OldState, RotateCause, RotateError, Rotation, RotationMethod, SecretSink,
    Step, UnitLifecycle, UnitPlan,
};
use api_tokens::testing::{Fault, UnitFake, UnitOp, UnitToken, UnitTokenSeed};
use api_tokens::unit::{ResourceRestriction, Scope, SourceIp, TokenId};
use chrono::{TimeDelta, Utc};
use lifecycle_support::*;
use secrecy::ExposeSecret;

fn plan() -> UnitPlan {
    UnitPlan::new(
        [Scope::Customers, Scope::Accounts],
        Utc::now() + TimeDelta::days(90),
    )
    .source_ips([
        "10.0.0.0/8".parse().unwrap(),
        "192.168.1.1".parse().unwrap(),
    ])
}

type Setup = Seeded<UnitFake, UnitLifecycle, UnitToken>;

async fn setup() -> Setup {
    let (fake, life) = unit().await;
    let old = fake.insert_token(UnitTokenSeed::new("CI deploy").scope(Scope::Customers));
    Seeded::new(fake, life, old.clone(), &old.secret)
}

impl Setup {
    /// A rotation of the old token by `plan` into the file.
    async fn rotate(&self, plan: &UnitPlan) -> Result<Rotation, RotateError> {
        self.life.rotate(&self.old.id, plan, &self.sink()).await
    }
}

/// The fake holds exactly one token, the sink holds its secret, and the
/// fake accepts it.
async fn converged(s: &Setup) -> UnitToken {
    let held = s.fake.tokens();
    assert_eq!(
        held.len(),
        1,
        "one token: {:?}",
        held.iter().map(|t| &t.description).collect::<Vec<_>>()
    );
    let new = held.into_iter().next().unwrap();
    assert_ne!(new.id, s.old.id);
    assert_eq!(stored(&s.path), new.secret.expose_secret());
    assert!(unit_accepts(&s.life, &stored(&s.path)).await);
    // Revoked: gone from the list, its secret refused as no token's.
    assert!(!unit_lists(&s.life, s.old.id.as_str()).await);
    assert!(unit_refuses(&s.life, s.old.secret.expose_secret()).await);
    new
}

/// The plan of a run after a crash: the crashed run is known to have
/// stopped, so its token is a leftover at once rather than in flight for
/// the default lease.
fn rerun_plan() -> UnitPlan {
    plan().lease(std::time::Duration::ZERO)
}

/// Nothing changed: only the old token, which works, and the sink as it was.
async fn unchanged(s: &Setup) {
    let held = s.fake.tokens();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].id, s.old.id);
    assert_eq!(stored(&s.path), s.old.secret.expose_secret());
    assert!(unit_accepts(&s.life, s.old.secret.expose_secret()).await);
}

#[tokio::test]
async fn a_rotation_creates_stores_then_revokes() {
    let s = setup().await;
    let plan = plan().resources([ResourceRestriction::accounts(["10005"])]);
    let rotation = s.rotate(&plan).await.expect("rotate");
    // The four steps, in order: list, create, list (decide), list (the
    // probe), list (confirm after storing), revoke.
    let ops: Vec<_> = s.fake.requests().iter().map(|r| r.operation).collect();
    assert_eq!(
        ops,
        [
            Some("list"),
            Some("create"),
            Some("list"),
            Some("list"),
            Some("list"),
            Some("revoke")
        ]
    );

    let new = converged(&s).await;
    assert_eq!(new.id, rotation.new.id.as_str());
    assert_eq!(s.old.id, rotation.old.id.as_str());
    assert_eq!(rotation.method, RotationMethod::Create);
    assert_eq!(rotation.old_state, OldState::Revoked);
    assert!(rotation.removed.is_empty());
    // What the plan states, not what the list could give.
    assert_eq!(new.scopes, [Scope::Customers, Scope::Accounts]);
    assert_eq!(
        new.source_ips,
        [
            "10.0.0.0/8".parse::<SourceIp>().unwrap(),
            "192.168.1.1".parse::<SourceIp>().unwrap()
        ]
    );
    assert_eq!(
        new.resources,
        Some(vec![ResourceRestriction::accounts(["10005"])])
    );
    assert_eq!(Marker::label(&new.description), "CI deploy");
    let marker = Marker::find(&new.description).expect("marked");
    assert_eq!(marker.replaces(), Some(s.old.id.as_str()));
    let json = serde_json::to_string(&rotation).unwrap();
    assert!(!json.contains(new.secret.expose_secret()));
}

#[tokio::test]
async fn lost_create_answer_is_reconciled_within_the_rotation() {
    let s = setup().await;
    s.fake.inject(UnitOp::Create, Fault::lose_answer());
    let rotation = s.rotate(&plan()).await.expect("rotate");
    converged(&s).await;
    assert_eq!(rotation.removed.len(), 1, "the token whose answer was lost");
}

#[tokio::test]
async fn unreconciled_create_leaves_an_orphan_that_the_next_run_removes() {
    let s = setup().await;
    s.fake.inject(UnitOp::Create, Fault::lose_answer());
    // The first list (step 0) passes; the reconciliation's list fails.
    s.fake
        .inject(UnitOp::List, Fault::status(503).nth(2).times(5));
    let err = s.rotate(&plan()).await.expect_err("stops");
    assert_eq!(err.step(), Step::Mint);
    assert!(err.is_outcome_unknown());
    let Left::Orphan {
        id: None,
        marker: Some(marker),
    } = err.left()
    else {
        panic!("{:?}", err.left());
    };
    assert_eq!(marker.replaces(), Some(s.old.id.as_str()));
    assert_eq!(s.fake.tokens().len(), 2, "the old token and the orphan");
    s.fake.clear_faults();
    assert_eq!(stored(&s.path), s.old.secret.expose_secret());
    assert!(unit_accepts(&s.life, s.old.secret.expose_secret()).await);

    // The first run has stopped: its orphan is a leftover at once.
    let rotation = s.rotate(&rerun_plan()).await.expect("again");
    converged(&s).await;
    assert_eq!(rotation.removed.len(), 1);
    assert_eq!(rotation.removed[0].marker().as_ref(), Some(marker));
}

#[tokio::test]
async fn a_refused_probe_removes_the_new_token() {
    let s = setup().await;
    // Lists: step 0, the decision, then the probe's.
    s.fake.inject(UnitOp::List, Fault::status(401).nth(3));
    let err = s.rotate(&plan()).await.expect_err("refused");
    assert_eq!(err.step(), Step::Probe);
    assert_eq!(err.left(), &Left::Unchanged);
    assert!(matches!(err.cause(), RotateCause::Service(e) if e.status() == Some(401)));
    unchanged(&s).await;
}

#[tokio::test]
async fn a_forbidden_probe_proves_the_secret() {
    let s = setup().await;
    s.fake.inject(UnitOp::List, Fault::status(403).nth(3));
    s.rotate(&plan())
        .await
        .expect("a 403 is an answer to the secret");
    converged(&s).await;
}

#[tokio::test]
async fn a_failing_sink_removes_the_new_token() {
    let s = setup().await;
    let err = s
        .life
        .rotate(&s.old.id, &plan(), &failing_sink())
        .await
        .expect_err("sink fails");
    assert_eq!(err.step(), Step::Store);
    assert_eq!(err.left(), &Left::Unchanged);
    assert!(matches!(err.cause(), RotateCause::Sink(_)));
    assert!(err.to_string().contains("sealed"), "{err}");
    unchanged(&s).await;
}

#[tokio::test]
async fn a_store_whose_answer_was_lost_is_read_back_and_the_rotation_completes() {
    let s = setup().await;
    let rotation = s
        .life
        .rotate(&s.old.id, &plan(), &LostAnswer(s.sink()))
        .await
        .expect("the sink holds the new secret: the rotation completes");
    assert_eq!(rotation.old_state, OldState::Revoked);
    let new = converged(&s).await;
    assert_eq!(rotation.new.id, new.id.as_str());
}

#[tokio::test]
async fn a_refused_create_changes_nothing() {
    let s = setup().await;
    s.fake.inject(UnitOp::Create, Fault::status(400));
    let err = s.rotate(&plan()).await.expect_err("refused");
    assert_eq!((err.step(), err.left()), (Step::Mint, &Left::Unchanged));
    assert!(!err.is_outcome_unknown());
    unchanged(&s).await;
}

#[tokio::test]
async fn a_failing_revoke_leaves_the_new_secret_stored_and_says_what_is_left() {
    let s = setup().await;
    s.fake.inject(UnitOp::Revoke, Fault::status(503));
    let err = s.rotate(&plan()).await.expect_err("revoke fails");
    assert_eq!(err.step(), Step::Retire);
    assert!(err.secret_stored());
    let Left::Stored { new, to_remove } = err.left() else {
        panic!("{:?}", err.left());
    };
    let ids: Vec<&str> = to_remove.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, [s.old.id.as_str()]);
    assert_eq!(s.fake.tokens().len(), 2);
    let secret = stored(&s.path);
    assert!(unit_accepts(&s.life, &secret).await);
    assert!(
        s.fake
            .tokens()
            .iter()
            .any(|t| t.id == new.id.as_str() && t.secret.expose_secret() == secret)
    );
    assert!(
        !format!("{err} {err:?}").contains(&secret),
        "no secret in the error"
    );

    // Run again once the first run is known to have stopped: the sink
    // holds the first run's working secret, so the rerun finishes that
    // rotation (revokes the old token) and mints nothing.
    s.fake.clear_requests();
    let rotation = s.rotate(&rerun_plan()).await.expect("again");
    finished_without_a_mint(&s, &rotation, &new.id).await;
}

/// The rerun finished the first run's rotation: the token `new` it minted
/// is kept, the old one revoked, nothing minted since the requests were
/// cleared.
async fn finished_without_a_mint(s: &Setup, rotation: &Rotation, new: &str) {
    let kept = converged(s).await;
    assert_eq!(rotation.method, RotationMethod::Resumed);
    assert_eq!(rotation.new.id, new);
    assert_eq!(kept.id.as_str(), new);
    assert_eq!(rotation.old_state, OldState::Revoked);
    assert!(rotation.removed.is_empty(), "{:?}", rotation.removed);
    assert!(
        !s.fake
            .requests()
            .iter()
            .any(|r| r.operation == Some("create")),
        "nothing minted"
    );
}

/// The same with the default lease, the rerun right after: the first run
/// held the file's writer lock and let it go when it ended, so its token
/// is no rotation in flight but one that stopped, and the rerun finishes
/// it at once.
#[tokio::test]
async fn a_rerun_at_once_finishes_a_rotation_that_stored_and_stopped_before_its_revoke() {
    let s = setup().await;
    s.fake.inject(UnitOp::Revoke, Fault::status(503));
    let file = FileSink::new(&s.path);
    let err = s
        .life
        .rotate(&s.old.id, &plan(), &file)
        .await
        .expect_err("revoke fails");
    let Left::Stored { new, .. } = err.left() else {
        panic!("{:?}", err.left());
    };
    s.fake.clear_requests();
    let rotation = s
        .life
        .rotate(&s.old.id, &plan(), &file)
        .await
        .expect("again");
    finished_without_a_mint(&s, &rotation, &new.id).await;
}

#[tokio::test]
async fn a_token_that_is_not_there_is_refused_before_anything_is_done() {
    let s = setup().await;
    let missing: TokenId = "4242".parse().unwrap();
    let err = s
        .life
        .rotate(&missing, &plan(), &s.sink())
        .await
        .expect_err("missing");
    assert_eq!((err.step(), err.left()), (Step::Inspect, &Left::Unchanged));
    unchanged(&s).await;
}

/// Runs a rotation that crashes (the future is dropped) while `stop` holds
/// it, then runs it again to the end.
async fn crash_then_rerun(s: &Setup, sink: &dyn SecretSink) {
    let first = tokio::time::timeout(CRASH_AFTER, s.life.rotate(&s.old.id, &plan(), sink)).await;
    assert!(first.is_err(), "the first run must be stopped: {first:?}");
    s.fake.clear_faults();
    // Either the old token still works or the sink holds a working secret.
    let old_works = unit_accepts(&s.life, s.old.secret.expose_secret()).await;
    assert!(old_works || unit_accepts(&s.life, &stored(&s.path)).await);

    let file = FileSink::new(&s.path);
    let rotation = s
        .life
        .rotate(&s.old.id, &rerun_plan(), &file)
        .await
        .expect("second run");
    let new = converged(s).await;
    assert_eq!(new.id, rotation.new.id.as_str());
}

#[tokio::test]
async fn a_crash_at_every_call_converges_on_the_next_run() {
    // list, create, list (decide), probe, list (confirm), revoke
    assert_eq!(crash_loop(false).await, 6);
    // list, create (answer lost), list, revoke, create, list, probe, list,
    // revoke: the held call is the first not taken by the lost answer.
    assert_eq!(crash_loop(true).await, 9);
}

async fn crash_loop(lose_first_create: bool) -> u32 {
    let mut crashed = 0;
    for call in 1.. {
        let s = setup().await;
        if lose_first_create {
            s.fake.inject(UnitOp::Create, Fault::lose_answer());
        }
        s.fake.inject(UnitOp::Any, Fault::delay(HELD).nth(call));
        let run = tokio::time::timeout(CRASH_AFTER, s.rotate(&plan())).await;
        match run {
            Ok(done) => {
                done.expect("no call was held: the rotation finishes");
                converged(&s).await;
                break;
            }
            Err(_) => {
                crashed += 1;
                s.fake.clear_faults();
                let old_works = unit_accepts(&s.life, s.old.secret.expose_secret()).await;
                assert!(
                    old_works || unit_accepts(&s.life, &stored(&s.path)).await,
                    "call {call}"
                );
                let rotation = s.rotate(&rerun_plan()).await;
                let rotation = rotation.unwrap_or_else(|e| panic!("call {call}: {e}"));
                let new = converged(&s).await;
                assert_eq!(new.id, rotation.new.id.as_str(), "call {call}");
                if call == if lose_first_create { 9 } else { 6 } {
                    // The revoke of the old token had reached the service:
                    // the first run's token is kept.
                    assert_eq!(rotation.method, RotationMethod::Resumed);
                }
            }
        }
    }
    crashed
}

#[tokio::test]
async fn a_crash_while_storing_converges_on_the_next_run() {
    let s = setup().await;
    crash_then_rerun(&s, &hanging_sink()).await;

    let s = setup().await;
    crash_then_rerun(&s, &WritesThenHangs(s.sink())).await;
}

/// Issue 27, item 2: a rotation keeps the old token's source addresses as
/// Unit lists them unless the plan asks for others, and reports a change.
#[tokio::test]
async fn a_rotation_keeps_the_old_source_addresses_unless_asked() {
    let (fake, life) = unit().await;
    let range: SourceIp = "10.0.0.0/8".parse().unwrap();
    let host: SourceIp = "192.168.1.1".parse().unwrap();
    let expires = Utc::now() + TimeDelta::days(90);
    let bare = UnitPlan::new([Scope::Customers], expires);
    let cases: [(UnitPlan, Vec<SourceIp>); 4] = [
        (bare.clone(), vec![range.clone()]),
        // An empty list asks for nothing: the old addresses stay.
        (bare.clone().source_ips([]), vec![range.clone()]),
        (bare.clone().source_ips([host.clone()]), vec![host.clone()]),
        (bare.clone().any_source_ip(), vec![]),
    ];
    for (plan, want) in cases {
        let old = fake.insert_token(
            UnitTokenSeed::new("CI deploy")
                .scope(Scope::Customers)
                .source_ip(range.clone()),
        );
        let dir = tempfile::tempdir().unwrap();
        let sink = FileSink::new(dir.path().join("token"));
        let rotation = life.rotate(&old.id, &plan, &sink).await.expect("rotate");
        let new = fake
            .tokens()
            .into_iter()
            .find(|t| t.id == rotation.new.id.as_str())
            .expect("the new token");
        assert_eq!(new.source_ips, want, "{plan:?}");
        let listed = life.tokens().list().await.unwrap();
        let listed = listed.iter().find(|t| t.id == new.id).unwrap();
        assert_eq!(listed.source_ips, want, "as Unit lists it");
        if want == [range.clone()] {
            assert!(rotation.changes.is_empty(), "{:?}", rotation.changes);
            assert!(!rotation.to_string().contains("source addresses"));
        } else {
            assert_eq!(
                rotation.changes,
                [Change::SourceIps {
                    old: vec![range.clone()],
                    new: want.clone()
                }]
            );
            let line = rotation.to_string();
            assert!(
                line.contains("source addresses changed from 10.0.0.0/8 to "),
                "{line}"
            );
            if want.is_empty() {
                assert!(line.ends_with("to any address"), "{line}");
            }
        }
    }
}

#[tokio::test]
async fn a_late_run_whose_sink_holds_another_tokens_secret_is_superseded_not_resumed() {
    let s = setup().await;
    let first = s.rotate(&plan()).await.expect("the first rotation");
    // Another file holds the working secret of a token that is no
    // replacement of the old one.
    let dir = tempfile::tempdir().unwrap();
    let (other, other_path) = file_sink(dir.path(), &"unused".to_owned().into());
    let unrelated = s
        .life
        .mint_into(
            &api_tokens::unit::CreateApiToken::new(
                "unrelated",
                [Scope::Customers],
                Utc::now() + TimeDelta::days(30),
            ),
            &other,
        )
        .await
        .expect("minted");
    let err = s
        .life
        .rotate(&s.old.id, &plan(), &other)
        .await
        .expect_err("the sink does not hold the replacement's secret");
    let superseded = err.superseded().expect("superseded");
    assert_eq!(superseded.winner.id, first.new.id);
    assert_eq!(err.left(), &Left::Unchanged);
    // Nothing was removed, and the other file still holds its token's secret.
    assert!(
        s.fake
            .tokens()
            .iter()
            .any(|t| t.id == unrelated.id.as_str())
    );
    assert!(unit_accepts(&s.life, &stored(&other_path)).await);
}

/// A rotation whose first create lost its answer and made no token that
/// could be listed names that create's marker in its report
/// (`Rotation::unconfirmed`), as a create does, for `reconcile --marker`
/// should a token still appear.
#[tokio::test]
async fn a_rotations_lost_create_that_listed_nothing_is_named_by_its_marker() {
    let s = setup().await;
    s.fake.inject(UnitOp::Create, Fault::drop_connection());
    let rotation = s.rotate(&plan()).await.expect("rotated");
    assert_eq!(rotation.unconfirmed.len(), 1, "{rotation:?}");
    assert_eq!(
        rotation.unconfirmed[0].replaces(),
        Some(s.old.id.as_str()),
        "the marker of a rotation of the old token"
    );
    let json = serde_json::to_value(&rotation).expect("json");
    assert_eq!(json["unconfirmed"].as_array().map(Vec::len), Some(1));
}

/// A store whose write failed as a lost answer does, and that cannot be
/// read back either, may hold the new secret: the new token is kept (not
/// removed, which could leave the store holding a dead token's secret) and
/// the error says the store may hold it; the old token is not retired.
#[tokio::test]
async fn a_store_that_fails_and_cannot_be_read_back_keeps_the_new_token() {
    struct Unanswering;
    #[api_tokens::lifecycle::sink::async_trait]
    impl SecretSink for Unanswering {
        async fn store(
            &self,
            _: &secrecy::SecretString,
            _: &api_tokens::lifecycle::SecretMeta,
        ) -> Result<(), api_tokens::lifecycle::SinkError> {
            Err(api_tokens::lifecycle::SinkError::other(
                "a store",
                "timed out",
            ))
        }
        async fn current(
            &self,
        ) -> Result<Option<secrecy::SecretString>, api_tokens::lifecycle::SinkError> {
            Err(api_tokens::lifecycle::SinkError::other(
                "a store",
                "timed out",
            ))
        }
    }
    let s = setup().await;
    let err = s
        .life
        .rotate(&s.old.id, &plan(), &Unanswering)
        .await
        .expect_err("unconfirmed");
    assert_eq!(err.step(), Step::Store, "{err}");
    let Left::Stored { new, to_remove } = err.left() else {
        panic!("the new token kept: {err}")
    };
    assert!(err.to_string().contains("may hold the new secret"), "{err}");
    let live: Vec<String> = s.fake.tokens().iter().map(|t| t.id.to_string()).collect();
    assert!(live.contains(&new.id), "the new token is kept: {live:?}");
    assert!(
        live.contains(&s.old.id.to_string()),
        "the old token is not retired"
    );
    assert_eq!(to_remove.len(), 1);
}
