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
use api_tokens::testing::{Fault, MailtrapTokenSeed, UnitOp, UnitTokenSeed};
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
        .rotate(old.id, &MailtrapPlan::new(), &unwritable_sink())
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
        let rotation = life.rotate(old.id, &plan, &sink).await.expect("rotate");
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
        .rotate(old.id, &MailtrapPlan::new().recreate(), &sink)
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
        .rotate(old.id, &MailtrapPlan::new(), &sink)
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
    let rotation = life.rotate(old.id, &plan, &sink).await.expect("stated");
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
        .rotate(old.id, &MailtrapPlan::new().recreate(), &sink)
        .await
        .expect("rotate");
    let name = rotation.new.name.clone().unwrap();
    let marker = Marker::find(&name).expect("marked");
    assert_eq!(name, marker.tag("CI deploy"));
    assert_eq!(marker.replaces(), Some(old.id.to_string().as_str()));
    assert!(name.starts_with("CI deploy [at:") && name.ends_with(&format!(" from:{}]", old.id)));
}
