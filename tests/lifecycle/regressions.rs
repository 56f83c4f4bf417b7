//! Defects of release 0.2.0, each shown on the fakes: a stored replacement
//! swept as an orphan, markers forged by a copied name, a Mailtrap expiry
//! lost in a rotation, labels checked differently by mint and create, a
//! sink's check skipped, and the name `keep_name` promised.

use crate::lifecycle_support;

use std::time::Duration;

use api_tokens::Error;
use api_tokens::lifecycle::{
    AuditPolicy, FindingKind, Left, MAX_LABEL_CHARS, MailtrapPlan, Marker, MintIntoError,
    Reconcile, RotateCause, RotationMethod, Step, UnitPlan, audit,
};
use api_tokens::mailtrap::{self, AccessLevel, ResourceType};
use api_tokens::testing::{Fault, MailtrapOp, MailtrapTokenSeed, UnitOp, UnitTokenSeed};
use api_tokens::unit::{self, Scope};
use chrono::{TimeDelta, TimeZone, Utc};
use lifecycle_support::*;
use secrecy::ExposeSecret;

fn unit_plan() -> UnitPlan {
    UnitPlan::new([Scope::Customers], Utc::now() + TimeDelta::days(90))
}

#[tokio::test]
async fn a_stored_replacement_is_not_an_orphan() {
    let (fake, life) = unit().await;
    let old = fake.insert_token(UnitTokenSeed::new("CI deploy").scope(Scope::Customers));
    let (_dir, sink, path) = temp_file_sink(&old.secret);
    fake.inject(UnitOp::Revoke, Fault::status(503));
    let err = life
        .rotate(&old.id, &unit_plan(), &sink)
        .await
        .expect_err("the revoke fails");
    let Left::Stored { new, .. } = err.left() else {
        panic!("{:?}", err.left());
    };
    fake.clear_faults();

    // An hour later, by age: the stored replacement is kept, and so is the
    // old token (the rotation has not retired it).
    let later = Utc::now() + TimeDelta::hours(1);
    let removed = life
        .reconcile(&Reconcile::older_than(Duration::from_secs(1)).at(later))
        .await
        .expect("reconcile");
    assert!(removed.is_empty(), "{removed:?}");
    let held: Vec<String> = fake.tokens().iter().map(|t| t.id.to_string()).collect();
    assert!(held.contains(&new.id) && held.contains(&old.id.to_string()));
    assert!(unit_accepts(&life, &stored(&path)).await);

    // Nor does an audit flag it.
    let policy = AuditPolicy::new()
        .stale_after(Duration::from_secs(1))
        .at(later);
    let report = audit(Some(&life), None, &policy).await.expect("audit");
    assert_eq!(report.count(FindingKind::Orphan), 0, "{report}");
}

#[tokio::test]
async fn older_replacements_of_a_live_token_are_leftovers_but_in_flight_ones_are_not() {
    let (fake, life) = unit().await;
    let old = fake.insert_token(UnitTokenSeed::new("CI deploy"));
    let now = Utc::now();
    let at = |minutes| Marker::replacing_at(now - TimeDelta::minutes(minutes), old.id.as_str());
    let leftover = fake.insert_token(UnitTokenSeed::new(at(120).tag("CI deploy")));
    let in_flight = fake.insert_token(UnitTokenSeed::new(at(2).tag("CI deploy")));
    let newest = fake.insert_token(UnitTokenSeed::new(at(1).tag("CI deploy")));
    let removed = life
        .reconcile(&Reconcile::older_than(Duration::from_secs(1)))
        .await
        .expect("reconcile");
    let removed: Vec<&str> = removed.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(removed, [leftover.id.as_str()]);
    // With no lease, the one in flight is a leftover too; the newest stays.
    let removed = life
        .reconcile(&Reconcile::older_than(Duration::from_secs(1)).lease(Duration::ZERO))
        .await
        .expect("reconcile");
    let removed: Vec<&str> = removed.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(removed, [in_flight.id.as_str()]);
    assert!(fake.tokens().iter().any(|t| t.id == newest.id));
}

#[tokio::test]
async fn a_name_that_merely_looks_like_a_marker_is_never_swept() {
    let (fake, life) = unit().await;
    let expires = Utc::now() + TimeDelta::days(30);
    // Plain creates, made by hand: a copied 0.2.0 marker, and one in the
    // current form whose check does not hold.
    for description in [
        "my token [at:t0000a-abcdefgh]",
        "my token [at:t0000a-abcdefgh-000000]",
    ] {
        life.tokens()
            .create(unit::CreateApiToken::new(
                description,
                [Scope::Customers],
                expires,
            ))
            .await
            .expect("plain create");
    }
    let removed = life
        .reconcile(&Reconcile::older_than(Duration::from_secs(1)))
        .await
        .expect("reconcile");
    assert!(removed.is_empty(), "{removed:?}");
    assert_eq!(fake.tokens().len(), 2);

    // A 0.2.0 marker named explicitly is still removed.
    let named: Marker = "[at:t0000a-abcdefgh]".parse().unwrap();
    let removed = life
        .reconcile(&Reconcile::marker(named))
        .await
        .expect("reconcile");
    assert_eq!(removed.len(), 1);
}

#[tokio::test]
async fn mint_refuses_labels_shaped_like_markers_before_any_request() {
    let (fake, life) = unit().await;
    let request = unit::CreateApiToken::new(
        "copied [at:t0000a-abcdefgh]",
        [Scope::Customers],
        Utc::now() + TimeDelta::days(1),
    );
    let err = life.mint(&request).await.expect_err("refused");
    assert!(matches!(err, Error::Invalid { .. }), "{err}");
    assert!(err.to_string().contains("marker"), "{err}");

    let (mfake, mlife) = mailtrap().await;
    let request = mailtrap::CreateApiToken::new("x [AT:whatever]").permission(
        ResourceType::Account,
        mfake.account_id(),
        AccessLevel::Viewer,
    );
    assert!(matches!(
        mlife.mint(&request).await,
        Err(Error::Invalid { .. })
    ));
    assert!(fake.requests().is_empty() && mfake.requests().is_empty());
}

#[tokio::test]
async fn mint_and_create_share_one_rule_for_labels() {
    let (fake, life) = unit().await;
    let blank =
        unit::CreateApiToken::new("   ", [Scope::Customers], Utc::now() + TimeDelta::days(1));
    let err = life.mint(&blank).await.expect_err("blank");
    assert!(matches!(err, Error::Invalid { .. }), "{err}");
    assert!(fake.requests().is_empty());

    let (fake, life) = mailtrap().await;
    let request = |name: String| {
        mailtrap::CreateApiToken::new(name).permission(
            ResourceType::Account,
            fake.account_id(),
            AccessLevel::Viewer,
        )
    };
    let err = life.mint(&request(" ".into())).await.expect_err("blank");
    assert!(matches!(err, Error::Invalid { .. }), "{err}");
    let err = life
        .mint(&request("é".repeat(MAX_LABEL_CHARS + 1)))
        .await
        .expect_err("too long");
    assert!(err.to_string().contains("at most 200"), "{err}");
    assert!(fake.requests().is_empty(), "refused before any request");

    // The longest label accepted fits the service's 255 characters with
    // its marker.
    let minted = life
        .mint(&request("é".repeat(MAX_LABEL_CHARS)))
        .await
        .expect("fits");
    assert!(minted.token.name.chars().count() <= mailtrap::MAX_NAME_CHARS);
    assert_eq!(
        Marker::label(&minted.token.name),
        "é".repeat(MAX_LABEL_CHARS)
    );
}

#[tokio::test]
async fn a_failing_sink_check_stops_mint_into_and_rotate_before_any_request() {
    let (fake, life) = unit().await;
    let old = fake.insert_token(UnitTokenSeed::new("CI deploy"));
    fake.clear_requests();
    let request =
        unit::CreateApiToken::new("ci", [Scope::Customers], Utc::now() + TimeDelta::days(1));
    let err = life
        .mint_into(&request, &unwritable_sink())
        .await
        .expect_err("check fails");
    assert!(matches!(err, MintIntoError::Check(_)), "{err}");
    let err = life
        .rotate(&old.id, &unit_plan(), &unwritable_sink())
        .await
        .expect_err("check fails");
    assert_eq!((err.step(), err.left()), (Step::Inspect, &Left::Unchanged));
    assert!(matches!(err.cause(), RotateCause::Sink(_)));
    assert!(fake.requests().is_empty());

    let (fake, life) = mailtrap().await;
    let old = fake.insert_token(MailtrapTokenSeed::new("CI deploy"));
    let err = life
        .rotate(&old.id, &MailtrapPlan::new(), &unwritable_sink())
        .await
        .expect_err("check fails");
    assert_eq!(err.step(), Step::Inspect);
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn a_mailtrap_rotation_keeps_the_old_expiry() {
    let horizon = Utc.with_ymd_and_hms(2027, 4, 3, 0, 0, 0).unwrap();
    assert!(horizon > Utc::now(), "the test's date must lie ahead");
    for plan in [MailtrapPlan::new(), MailtrapPlan::new().recreate()] {
        let (fake, life) = mailtrap().await;
        let old = fake.insert_token(project_viewer("CI deploy").expires_at(horizon));
        let (_dir, sink, _) = temp_file_sink(&old.secret);
        let rotation = life.rotate(&old.id, &plan, &sink).await.expect("rotate");
        assert_eq!(rotation.expires_at, Some(horizon), "{plan:?}");
        let new = fake
            .tokens()
            .into_iter()
            .find(|t| t.id.to_string() == rotation.new.id)
            .unwrap();
        assert_eq!(new.expires_at, Some(horizon));
    }
}

#[tokio::test]
async fn a_mailtrap_token_that_never_expires_is_replaced_by_one_that_never_does() {
    let (fake, life) = mailtrap().await;
    let old = fake.insert_token(MailtrapTokenSeed::new("CI deploy"));
    let (_dir, sink, _) = temp_file_sink(&old.secret);
    let rotation = life
        .rotate(&old.id, &MailtrapPlan::new().recreate(), &sink)
        .await
        .expect("rotate");
    assert_eq!(rotation.expires_at, None);
}

#[tokio::test]
async fn an_expired_mailtrap_token_needs_a_stated_expiry() {
    let (fake, life) = mailtrap().await;
    let old =
        fake.insert_token(project_viewer("CI deploy").expires_at(Utc::now() - TimeDelta::days(1)));
    fake.clear_requests();
    let (_dir, sink, path) = temp_file_sink(&old.secret);
    let err = life
        .rotate(&old.id, &MailtrapPlan::new(), &sink)
        .await
        .expect_err("no expiry to keep");
    assert_eq!((err.step(), err.left()), (Step::Inspect, &Left::Unchanged));
    assert!(
        err.to_string().contains("state when the new token expires"),
        "{err}"
    );
    let minted = fake
        .requests()
        .iter()
        .filter(|r| matches!(r.operation, Some("create" | "reset")))
        .count();
    assert_eq!(minted, 0);

    let at = Utc::now() + TimeDelta::days(30);
    let plan = MailtrapPlan::new().expires(mailtrap::Expiry::At(at));
    let rotation = life.rotate(&old.id, &plan, &sink).await.expect("stated");
    assert_eq!(
        rotation.method,
        RotationMethod::Create,
        "an expired token cannot be reset"
    );
    assert!(mailtrap_accepts(&life, &stored(&path)).await);
    assert_ne!(stored(&path), old.secret.expose_secret());
}

#[tokio::test]
#[allow(deprecated)]
async fn recreate_names_the_new_token_with_the_label_and_a_marker() {
    assert_eq!(
        MailtrapPlan::new().keep_name(),
        MailtrapPlan::new().recreate()
    );
    let (fake, life) = mailtrap().await;
    let old = fake.insert_token(project_viewer("CI deploy"));
    let (_dir, sink, _) = temp_file_sink(&old.secret);
    let rotation = life
        .rotate(&old.id, &MailtrapPlan::new().recreate(), &sink)
        .await
        .expect("rotate");
    let name = rotation.new.name.clone().unwrap();
    let marker = Marker::find(&name).expect("marked");
    assert_eq!(name, marker.tag("CI deploy"));
    assert_eq!(marker.replaces(), Some(old.id.to_string().as_str()));
    assert!(name.starts_with("CI deploy [at:") && name.ends_with(&format!(" from:{}]", old.id)));
}

/// Issue 27, item 5: every span a user gives is checked, never a panic.
mod spans {
    use super::*;
    use api_tokens::ensure::parse_duration;
    use api_tokens::lifecycle::{MAX_SPAN, checked_span, shifted};
    use api_tokens::testing::{MailtrapFake, UnitFake};
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    /// The longest span accepted, in seconds.
    fn max_secs() -> u64 {
        MAX_SPAN.num_seconds().unsigned_abs()
    }

    /// Seconds around the limit, or anywhere up to `u64::MAX`.
    fn secs() -> impl Strategy<Value = u64> {
        prop_oneof![
            0..3600u64,
            (max_secs() - 3600)..(max_secs() + 3600),
            any::<u64>()
        ]
    }

    proptest! {
        #![proptest_config(Config::with_cases(256))]

        /// The tokens file's durations (`lifetime`, `rotate_after`,
        /// `rotate_before_expiry`, `expires`) and the command line's
        /// (`--expires-in`, `--within`, `--older-than`, `--lease`) are read
        /// by `parse_duration`: a span it accepts gives a date either way.
        #[test]
        fn every_duration_read_is_ok_or_invalid(
            n in secs(),
            unit in prop::sample::select(vec!["s", "m", "h", "d", "w", "y", "ms", "min", "months"]),
        ) {
            let text = format!("{n}{unit}");
            match parse_duration(&text) {
                Ok(span) => {
                    prop_assert!(span <= MAX_SPAN, "{text}");
                    let now = Utc::now();
                    prop_assert!(shifted("duration", now, span).is_ok(), "{text}");
                    prop_assert!(shifted("duration", now, -span).is_ok(), "{text}");
                }
                Err(Error::Invalid { .. }) => {}
                Err(e) => prop_assert!(false, "{text}: {e}"),
            }
        }

        /// A span given as a `std::time::Duration` is accepted exactly up
        /// to `MAX_SPAN`.
        #[test]
        fn checked_spans_stop_at_the_limit(s in secs(), nanos in 0..1_000_000_000u32) {
            let span = Duration::new(s, nanos);
            let over = s > max_secs() || (s == max_secs() && nanos > 0);
            prop_assert_eq!(checked_span("lease", span).is_err(), over);
        }
    }

    /// Rotations (the lease of both services' plans) and reconciles (age
    /// and lease) given any span: a refusal with `Error::Invalid` before
    /// any request, or the work done; never a panic (`--lease 1000000y`
    /// panicked in `MailtrapLifecycle::rotate`).
    #[test]
    fn every_lease_and_age_is_ok_or_invalid_before_any_request() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let (ufake, mfake) =
            rt.block_on(async { (UnitFake::start().await, MailtrapFake::start().await) });
        let (ulife, mlife) = (unit_life(&ufake), mailtrap_life(&mfake));
        let mut runner = TestRunner::new(Config::with_cases(40));
        runner
            .run(&(secs(), 0..1_000_000_000u32), |(s, nanos)| {
                let span = Duration::new(s, nanos);
                let over = checked_span("lease", span).is_err();
                rt.block_on(async {
                    let dir = tempfile::tempdir().unwrap();
                    let sink = api_tokens::lifecycle::sink::FileSink::new(dir.path().join("t"));
                    let asked = |r: usize, m: usize| r + m;

                    let old =
                        ufake.insert_token(UnitTokenSeed::new("lease").scope(Scope::Customers));
                    let before = asked(ufake.requests().len(), mfake.requests().len());
                    let unit = ulife.rotate(&old.id, &unit_plan().lease(span), &sink).await;
                    let old = mfake.insert_token(project_viewer("lease"));
                    let plan = MailtrapPlan::new().lease(span);
                    let mailtrap = mlife.rotate(&old.id, &plan, &sink).await;
                    let ages = [
                        Reconcile::older_than(span),
                        Reconcile::older_than(Duration::from_secs(3600)).lease(span),
                    ];
                    let mut reconciled = Vec::new();
                    for what in &ages {
                        reconciled.push(ulife.reconcile_preview(what).await.map(drop));
                        reconciled.push(mlife.reconcile(what).await.map(drop));
                    }
                    let after = asked(ufake.requests().len(), mfake.requests().len());
                    if over {
                        for e in [unit.expect_err("refused"), mailtrap.expect_err("refused")] {
                            assert_eq!((e.step(), e.left()), (Step::Inspect, &Left::Unchanged));
                            assert!(
                                matches!(
                                    e.cause(),
                                    RotateCause::Service(Error::Invalid { field: "lease", .. })
                                ),
                                "{e}"
                            );
                        }
                        for r in reconciled {
                            assert!(matches!(r, Err(Error::Invalid { .. })), "{r:?}");
                        }
                        assert_eq!(before, after, "nothing was sent");
                    } else {
                        unit.expect("a lease within the limit");
                        mailtrap.expect("a lease within the limit");
                        for r in reconciled {
                            r.expect("an age within the limit");
                        }
                    }
                });
                Ok(())
            })
            .unwrap();
    }
}

/// Issue 27, item 6: with `if_older_than`, a late run after a finished
/// rotation does not rotate again: the old token gone, its young
/// replacement is up to date; the replacement's own id (what a store's
/// record names after the rotation) is up to date too. Without it, the
/// late run resumes.
#[tokio::test]
async fn a_late_unit_run_with_if_older_than_is_up_to_date() {
    let (fake, life) = unit().await;
    let old = fake.insert_token(UnitTokenSeed::new("CI deploy").scope(Scope::Customers));
    let (_dir, sink, path) = temp_file_sink(&old.secret);
    // Unit dates tokens to the second: any token is at least a millisecond old.
    tokio::time::sleep(Duration::from_millis(5)).await;
    let first = life
        .rotate(
            &old.id,
            &unit_plan().if_older_than(Duration::from_millis(1)),
            &sink,
        )
        .await
        .expect("old enough: rotated");
    assert_eq!(first.method, RotationMethod::Create);
    let held = stored(&path);
    let creates = || {
        fake.requests()
            .iter()
            .filter(|r| r.operation == Some("create"))
            .count()
    };
    assert_eq!(creates(), 1);

    let hour = unit_plan().if_older_than(Duration::from_secs(3600));
    let late = life
        .rotate(&old.id, &hour, &sink)
        .await
        .expect("up to date");
    assert_eq!(late.method, RotationMethod::UpToDate);
    assert_eq!(late.new.id, first.new.id);
    assert!(late.to_string().contains("already replaced by"), "{late}");
    let new_id: unit::TokenId = first.new.id.parse().unwrap();
    let again = life
        .rotate(&new_id, &hour, &sink)
        .await
        .expect("up to date");
    assert_eq!(again.method, RotationMethod::UpToDate);
    assert_eq!(
        (again.old.id.as_str(), again.new.id.as_str()),
        (first.new.id.as_str(), first.new.id.as_str())
    );
    assert!(again.to_string().contains("is up to date"), "{again}");
    assert_eq!(creates(), 1, "nothing minted");
    assert_eq!(stored(&path), held, "the sink is unchanged");
    assert_eq!(fake.tokens().len(), 1);

    // An age too long to hold is refused before any request.
    let sent = fake.requests().len();
    let err = life
        .rotate(
            &new_id,
            &unit_plan().if_older_than(Duration::from_secs(u64::MAX)),
            &sink,
        )
        .await
        .expect_err("refused");
    assert!(
        matches!(
            err.cause(),
            RotateCause::Service(Error::Invalid {
                field: "if_older_than",
                ..
            })
        ),
        "{err}"
    );
    assert_eq!(fake.requests().len(), sent);
}

/// Issue 27, item 6, on Mailtrap: a recreate rotation run late is up to
/// date by its replacement's marker; a reset's token, while the token it
/// replaced is in its grace period, is dated by it.
#[tokio::test]
async fn a_late_mailtrap_run_with_if_older_than_is_up_to_date() {
    let (fake, life) = mailtrap().await;
    let hour = Duration::from_secs(3600);
    for recreate in [true, false] {
        let old = fake.insert_token(project_viewer(if recreate { "recreated" } else { "reset" }));
        let (_dir, sink, path) = temp_file_sink(&old.secret);
        let mut plan = MailtrapPlan::new();
        if recreate {
            plan = plan.recreate();
        }
        // A token without a marker has no age Mailtrap lists: rotated.
        let first = life
            .rotate(&old.id, &plan.clone().if_older_than(hour), &sink)
            .await
            .expect("rotated");
        let held = stored(&path);
        let sent = fake.requests().len();
        let new_id: mailtrap::TokenId = first.new.id.parse().unwrap();
        let again = life
            .rotate(&new_id, &plan.clone().if_older_than(hour), &sink)
            .await
            .expect("up to date");
        assert_eq!(
            again.method,
            RotationMethod::UpToDate,
            "recreate {recreate}"
        );
        if recreate {
            let late = life
                .rotate(&old.id, &plan.clone().if_older_than(hour), &sink)
                .await
                .expect("up to date");
            assert_eq!(late.method, RotationMethod::UpToDate);
            assert_eq!(late.new.id, first.new.id);
        }
        let mints = fake.requests()[sent..]
            .iter()
            .filter(|r| matches!(r.operation, Some("create" | "reset")))
            .count();
        assert_eq!(mints, 0, "nothing minted (recreate {recreate})");
        assert_eq!(stored(&path), held);
    }
}

/// Issue 27, item 16(f): running a finished rotation again answers one
/// way on every service and plan: the sink holds a working secret of the
/// replacement, so the rotation is done (`Resumed`), nothing minted; with
/// a sink that does not hold it, the run is superseded, naming the
/// replacement. (It answered `Resumed`, `Resumed`, superseded and
/// `Invalid`.)
#[tokio::test]
async fn a_finished_rotation_run_again_answers_one_way() {
    let (ufake, ulife) = unit().await;
    let (mfake, mlife) = mailtrap().await;
    let plans = [
        ("recreate", MailtrapPlan::new().recreate()),
        ("reset", MailtrapPlan::new()),
        ("delete-old", MailtrapPlan::new().delete_old()),
    ];
    let mints = || {
        ufake
            .requests()
            .iter()
            .chain(mfake.requests().iter())
            .filter(|r| matches!(r.operation, Some("create" | "reset")))
            .count()
    };
    // Unit.
    let old = ufake.insert_token(UnitTokenSeed::new("CI deploy").scope(Scope::Customers));
    let (_dir, sink, path) = temp_file_sink(&old.secret);
    let first = ulife
        .rotate(&old.id, &unit_plan(), &sink)
        .await
        .expect("first");
    let minted = mints();
    let again = ulife
        .rotate(&old.id, &unit_plan(), &sink)
        .await
        .expect("again");
    assert_eq!(
        (again.method, &again.new.id),
        (RotationMethod::Resumed, &first.new.id)
    );
    let (_dir2, elsewhere, _) = temp_file_sink(&old.secret);
    let err = ulife
        .rotate(&old.id, &unit_plan(), &elsewhere)
        .await
        .expect_err("elsewhere");
    assert_eq!(
        err.superseded().map(|s| s.winner.id.clone()),
        Some(first.new.id.clone())
    );
    assert_eq!(mints(), minted);
    assert!(unit_accepts(&ulife, &stored(&path)).await);
    // Mailtrap, each plan.
    for (what, plan) in plans {
        let old = mfake.insert_token(project_viewer(what));
        let (_dir, sink, path) = temp_file_sink(&old.secret);
        let first = mlife.rotate(&old.id, &plan, &sink).await.expect(what);
        let minted = mints();
        let again = mlife
            .rotate(&old.id, &plan, &sink)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(again.method, RotationMethod::Resumed, "{what}");
        assert_eq!(again.new.id, first.new.id, "{what}");
        assert_eq!(mints(), minted, "{what}: nothing minted");
        assert!(mailtrap_accepts(&mlife, &stored(&path)).await, "{what}");
        if what == "recreate" {
            // The old token gone: a sink that does not hold the new secret
            // is superseded by the marked replacement. (A reset's token
            // carries no marker: once its old token is deleted, only a sink
            // holding its secret ties it to the old id.)
            let (_dir2, elsewhere, _) = temp_file_sink(&old.secret);
            let err = mlife
                .rotate(&old.id, &plan, &elsewhere)
                .await
                .expect_err("elsewhere");
            assert!(err.superseded().is_some(), "{what}: {err}");
            assert_eq!(mints(), minted, "{what}: nothing minted");
        }
    }
}

/// Issue 27, item 16(a): two overlapping Mailtrap rotations with
/// `delete_old`: the loser, whose reset finds the old token deleted by the
/// winner, is superseded (it failed "not found").
#[tokio::test]
async fn an_overlapping_delete_old_rotation_is_superseded_not_failed() {
    let (fake, life) = mailtrap().await;
    let old = fake.insert_token(project_viewer("CI deploy"));
    let plan = MailtrapPlan::new().delete_old();
    let (_d1, winner_sink, winner_path) = temp_file_sink(&old.secret);
    let (_d2, loser_sink, loser_path) = temp_file_sink(&old.secret);
    // The loser lists (step 0) before the winner starts, and its list's
    // answer is held until the winner is done: its reset comes after the
    // winner deleted the old token.
    fake.inject(
        MailtrapOp::List,
        Fault::delay(Duration::from_millis(600)).nth(1),
    );
    // Two machines: a client each.
    let other = mailtrap_life(&fake);
    let loser = other.rotate(&old.id, &plan, &loser_sink);
    let winner = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        life.rotate(&old.id, &plan, &winner_sink).await
    };
    let (loser, winner) = tokio::join!(loser, winner);
    let winner = winner.expect("the winner completes");
    let err = loser.expect_err("the loser yields");
    let superseded = err
        .superseded()
        .unwrap_or_else(|| panic!("superseded, not: {err}"));
    assert_eq!(superseded.winner.id, winner.new.id);
    assert_eq!(
        stored(&loser_path),
        old.secret.expose_secret(),
        "the loser's sink is unchanged"
    );
    assert!(mailtrap_accepts(&life, &stored(&winner_path)).await);
    let ids: Vec<String> = fake.tokens().iter().map(|t| t.id.to_string()).collect();
    assert_eq!(
        ids,
        std::slice::from_ref(&winner.new.id),
        "the old token is gone"
    );
}

/// Issue 27, item 16(e): an orphan left by a rotation is told per
/// service (Unit has no reset, so no grace period), naming its marker once
/// with one remedy.
#[tokio::test]
async fn an_orphan_is_told_once_and_per_service() {
    // Unit: the create's answer lost, and the reconciliation's list fails.
    let (fake, life) = unit().await;
    let old = fake.insert_token(UnitTokenSeed::new("CI deploy").scope(Scope::Customers));
    let (_dir, sink, _) = temp_file_sink(&old.secret);
    fake.inject(UnitOp::Create, Fault::lose_answer());
    fake.inject(UnitOp::List, Fault::status(503).nth(2).times(5));
    let err = life
        .rotate(&old.id, &unit_plan(), &sink)
        .await
        .expect_err("orphan");
    let Left::Orphan {
        marker: Some(marker),
        ..
    } = err.left()
    else {
        panic!("{:?}", err.left());
    };
    let text = err.to_string();
    assert!(!text.contains("reset"), "{text}");
    assert!(!text.contains("grace"), "{text}");
    assert_eq!(text.matches(&marker.to_string()).count(), 1, "{text}");
    assert_eq!(text.matches("nobody holds").count(), 1, "{text}");
    assert_eq!(text.matches("reconcile that marker").count(), 1, "{text}");
    assert!(!text.contains("rotation again"), "one remedy: {text}");
    // Alone, what was left names the marker and how to clean it up.
    let left = err.left().to_string();
    assert!(
        left.contains(&marker.to_string()) && left.contains("again"),
        "{left}"
    );

    // Mailtrap, a reset whose answer is lost and cannot be reconciled: no
    // marker, the grace period said, and the rerun as the remedy.
    let (fake, life) = mailtrap().await;
    let old = fake.insert_token(project_viewer("CI deploy"));
    let (_dir, sink, _) = temp_file_sink(&old.secret);
    fake.inject(MailtrapOp::Reset, Fault::lose_answer());
    fake.inject(MailtrapOp::List, Fault::status(503).nth(2).times(5));
    let err = life
        .rotate(&old.id, &MailtrapPlan::new(), &sink)
        .await
        .expect_err("orphan");
    assert!(
        matches!(err.left(), Left::Orphan { marker: None, .. }),
        "{:?}",
        err.left()
    );
    let text = err.to_string();
    assert!(text.contains("grace period"), "{text}");
    assert_eq!(text.matches("[at:").count(), 0, "{text}");
}

/// Issue 27, item 16(f): a Mailtrap rotation that stored its secret but
/// could not delete the old token, run again once it is known to have
/// stopped, resumes: nothing minted, the leftover of an older interrupted
/// run and the old token deleted.
#[tokio::test]
async fn a_stored_mailtrap_rotation_run_again_resumes_and_retires() {
    let (fake, life) = mailtrap().await;
    let old = fake.insert_token(project_viewer("CI deploy"));
    let stale = Marker::replacing_at(Utc::now() - TimeDelta::hours(3), &old.id.to_string());
    let leftover = fake.insert_token(project_viewer(&stale.tag("CI deploy")));
    let (_dir, sink, path) = temp_file_sink(&old.secret);
    let plan = MailtrapPlan::new().recreate();
    fake.inject(MailtrapOp::Delete, Fault::status(503).times(5));
    let err = life
        .rotate(&old.id, &plan, &sink)
        .await
        .expect_err("the delete fails");
    let Left::Stored { new, .. } = err.left() else {
        panic!("{:?}", err.left());
    };
    let new = new.clone();
    fake.clear_faults();
    let sent = fake.requests().len();
    let again = life
        .rotate(&old.id, &plan.clone().lease(Duration::ZERO), &sink)
        .await
        .expect("resumed");
    assert_eq!(again.method, RotationMethod::Resumed);
    assert_eq!(again.new.id, new.id);
    assert_eq!(again.old_state, api_tokens::lifecycle::OldState::Deleted);
    let removed: Vec<&str> = again.removed.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(removed, [leftover.id.to_string().as_str()]);
    let mints = fake.requests()[sent..]
        .iter()
        .filter(|r| matches!(r.operation, Some("create" | "reset")))
        .count();
    assert_eq!(mints, 0, "nothing minted");
    let ids: Vec<String> = fake.tokens().iter().map(|t| t.id.to_string()).collect();
    assert_eq!(ids, std::slice::from_ref(&new.id));
    assert!(mailtrap_accepts(&life, &stored(&path)).await);
}
