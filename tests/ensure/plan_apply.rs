//! `ensure` against both fakes: the acceptance path (create, converge,
//! replace on a lowered permission) and each reason a plan acts.

use crate::ensure_support;

use api_tokens::Service;
use api_tokens::chrono::{Duration, Utc};
use api_tokens::ensure::{self, ActionKind, ApplyOptions, Services};
use api_tokens::lifecycle::sink::FileSink;
use api_tokens::lifecycle::{
    Change, Left, MailtrapLifecycle, MailtrapPlan, Marker, OldState, RotationMethod, Step,
};
use api_tokens::mailtrap::{AccessLevel, Permission, ResourceType};
use api_tokens::testing::{Fault, MailtrapOp, MailtrapTokenSeed};
use api_tokens::unit::Scope;
use ensure_support::{World, kinds, parse};
use secrecy::ExposeSecret;

#[tokio::test]
async fn first_plan_creates_both_then_apply_converges() {
    let world = World::start().await;
    let file = world.file("admin");

    let plan = world.plan(&file).await;
    assert_eq!(
        kinds(&plan),
        [
            ("Mailtrap".into(), "ci-deploy".into(), ActionKind::Create),
            ("Unit".into(), "ci-deploy".into(), ActionKind::Create),
        ]
    );
    assert!(plan.has_pending(false));
    assert_eq!(plan.list_calls(), 2, "one list per account and per user");
    let json = serde_json::to_value(&plan).unwrap();
    assert_eq!(json["actions"][0]["service"], "mailtrap");
    assert_eq!(json["actions"][0]["action"], "create");
    assert_eq!(json["actions"][0]["token_id"], serde_json::Value::Null);
    assert_eq!(json["actions"][1]["service"], "unit");

    let report = world.apply(&file).await;
    assert_eq!(report.actions.len(), 2);
    assert!(world.mailtrap_sink_accepted().await);
    assert!(world.unit_accepts(&world.path("unit.token")).await);
    assert_eq!(world.mailtrap.tokens().len(), 1);
    assert_eq!(world.unit.tokens().len(), 1);
    assert!(
        world.mailtrap.tokens()[0]
            .name
            .starts_with("ci-deploy [at:")
    );

    let again = world.plan(&file).await;
    assert!(!again.has_pending(true), "{:?}", kinds(&again));
    assert!(again.actions().iter().all(|a| a.kind == ActionKind::None));
}

#[tokio::test]
async fn a_lowered_permission_is_one_replace_that_converges() {
    let (world, _) = World::applied("admin").await;
    let old = world.mailtrap.tokens()[0].id;

    let lowered = world.file("viewer");
    let plan = world.plan(&lowered).await;
    let pending: Vec<_> = plan.pending(true).collect();
    assert_eq!(pending.len(), 1, "{:?}", kinds(&plan));
    assert_eq!(pending[0].kind, ActionKind::Replace);
    assert_eq!(pending[0].service, Service::Mailtrap);
    assert!(
        pending[0].reason.starts_with("permissions:"),
        "{}",
        pending[0].reason
    );
    assert!(
        pending[0]
            .reason
            .contains("account:3229:admin → account:3229:viewer")
    );
    assert_eq!(pending[0].token_id, Some(old.to_string()));

    let report = world.apply(&lowered).await;
    let live = world.mailtrap.tokens();
    assert_eq!(live.len(), 1);
    assert_ne!(live[0].id, old);
    assert_eq!(live[0].permissions[0].access_level, AccessLevel::Viewer);
    // A rotation through the lifecycle made it: its marker names the token
    // it replaces, and the old one is reported removed.
    let marker = Marker::find(&live[0].name).expect("a marker");
    assert_eq!(marker.replaces(), Some(old.to_string().as_str()));
    let done = report.actions[0].result.as_ref().expect("done");
    assert_eq!(done.removed[0].id, old.to_string());
    assert!(world.mailtrap_sink_accepted().await);
    assert!(world.converged(&lowered).await);
}

#[tokio::test]
async fn a_mailtrap_plan_with_permissions_recreates_and_names_the_change() {
    let (world, _) = World::applied("admin").await;
    let old = world.mailtrap.tokens()[0].clone();
    let life = MailtrapLifecycle::new(world.mailtrap_client());
    let sink = FileSink::new(world.path("mt.token"));
    let viewer = Permission::new(ResourceType::Account, 3229, AccessLevel::Viewer);
    // No `recreate`: stating permissions implies it, since a reset keeps
    // the old ones.
    let plan = MailtrapPlan::new().permissions([viewer.clone()]);
    let rotation = life.rotate(&old.id, &plan, &sink).await.expect("rotated");
    assert_eq!(rotation.method, RotationMethod::Create);
    assert_eq!(rotation.old_state, OldState::Deleted);
    assert_eq!(
        rotation.changes,
        [Change::Permissions {
            old: old.permissions.clone(),
            new: vec![viewer.clone()],
        }]
    );
    assert!(
        rotation
            .to_string()
            .contains("permissions changed from account:3229:admin to account:3229:viewer"),
        "{rotation}"
    );
    let live = world.mailtrap.tokens();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].permissions, std::slice::from_ref(&viewer));
    assert!(world.mailtrap_sink_accepted().await);

    // The same permissions again: a create, and no change to report.
    let plan = MailtrapPlan::new().permissions([viewer]);
    let again = life
        .rotate(&live[0].id, &plan, &sink)
        .await
        .expect("rotated");
    assert_eq!(again.method, RotationMethod::Create);
    assert!(again.changes.is_empty(), "{again}");
}

#[tokio::test]
async fn a_token_deleted_out_of_band_is_created_again() {
    let (world, file) = World::applied("admin").await;
    let id = world.mailtrap.tokens()[0].id;
    world
        .mailtrap_client()
        .api_tokens()
        .delete(id)
        .await
        .unwrap();

    let plan = world.plan(&file).await;
    assert_eq!(plan.actions()[0].kind, ActionKind::Create);
    assert!(
        plan.actions()[0]
            .reason
            .contains("no token named `ci-deploy`")
    );
    assert_eq!(plan.actions()[1].kind, ActionKind::None);
}

#[tokio::test]
async fn tokens_past_rotate_before_expiry_are_rotated() {
    let world = World::start().await;
    let now = Utc::now();
    world.seed_unit(&[Scope::Customers, Scope::Accounts], Duration::days(3));
    world.mailtrap.insert_token(
        MailtrapTokenSeed::new(Marker::at(now - Duration::days(2)).tag("ci-deploy"))
            .permission(ResourceType::Account, 3229, AccessLevel::Admin)
            .expires_at(now + Duration::days(2)),
    );
    let file = world.file("admin");
    let plan = world.plan(&file).await;
    // The Mailtrap token expires although the file says never: a replace
    // names it; the Unit token is within rotate_before_expiry.
    assert_eq!(plan.actions()[0].kind, ActionKind::Replace);
    assert!(plan.actions()[0].reason.starts_with("expires:"));
    assert_eq!(plan.actions()[1].kind, ActionKind::Rotate);
    assert!(
        plan.actions()[1]
            .reason
            .contains("within rotate_before_expiry 14d"),
        "{}",
        plan.actions()[1].reason
    );
    let old_unit = world.unit.tokens()[0].id.clone();

    world.apply(&file).await;
    let units = world.unit.tokens();
    assert_eq!(units.len(), 1);
    assert_ne!(units[0].id, old_unit);
    assert!(units[0].expiration > now + Duration::days(89));
    assert!(world.unit_accepts(&world.path("unit.token")).await);
    assert!(world.converged(&file).await);
}

#[tokio::test]
async fn mailtrap_rotation_by_age_keeps_the_label() {
    let world = World::start().await;
    let now = Utc::now();
    let seeded =
        world.mailtrap.insert_token(
            MailtrapTokenSeed::new(Marker::at(now - Duration::days(40)).tag("ci-deploy"))
                .permission(ResourceType::Account, 3229, AccessLevel::Admin),
        );
    let file = world.file("admin");
    let plan = world.plan(&file).await;
    assert_eq!(plan.actions()[0].kind, ActionKind::Rotate);
    assert!(plan.actions()[0].reason.contains("past rotate_after 30d"));
    world.apply(&file).await;
    let live = world.mailtrap.tokens();
    assert_eq!(live.len(), 1);
    assert_ne!(live[0].id, seeded.id);
    assert_eq!(Marker::label(&live[0].name), "ci-deploy");
    assert!(world.mailtrap_sink_accepted().await);
    assert!(world.converged(&file).await);
}

#[tokio::test]
async fn a_token_without_a_marker_has_no_age_and_says_so() {
    let world = World::start().await;
    let seeded = world
        .mailtrap
        .insert_token(MailtrapTokenSeed::new("ci-deploy").permission(
            ResourceType::Account,
            3229,
            AccessLevel::Admin,
        ));
    // Its sink holds its secret: not drift.
    std::fs::write(world.path("mt.token"), seeded.secret.expose_secret()).unwrap();
    let plan = world.plan(&world.file("admin")).await;
    assert_eq!(plan.actions()[0].kind, ActionKind::None);
    assert!(plan.actions()[0].reason.contains("age is unknown"));
}

#[tokio::test]
async fn unit_drift_in_addresses_or_expiration_is_a_replace_naming_the_field() {
    let world = World::start().await;
    world.seed_unit(&[Scope::Customers], Duration::days(300));
    let file = world.file("admin");
    let plan = world.plan(&file).await;
    let unit = &plan.actions()[1];
    assert_eq!(unit.kind, ActionKind::Replace);
    assert!(unit.reason.starts_with("expiration:"), "{}", unit.reason);
    assert!(unit.reason.contains("90d"));

    // The restriction added to the file, then dropped from it: one replace
    // each, and converged after it.
    for (name, ips, reason, want) in [
        (
            "ips.toml",
            "source_ips = [\"10.0.0.0/8\"]\n",
            "source_ips: any → 10.0.0.0/8",
            vec!["10.0.0.0/8"],
        ),
        ("no-ips.toml", "", "source_ips: 10.0.0.0/8 → any", vec![]),
    ] {
        let file = parse(
            &world.path(name),
            &format!(
                "[[unit]]\ndescription = \"ci-deploy\"\nscopes = [\"customers\"]\n\
                 lifetime = \"400d\"\n{ips}secret_to = \"file:{}\"\n",
                world.path("u2.token").display()
            ),
        );
        let plan = world.plan(&file).await;
        assert_eq!(plan.actions()[0].kind, ActionKind::Replace, "{name}");
        assert_eq!(plan.actions()[0].reason, reason);
        world.apply(&file).await;
        let live = world.unit.tokens();
        assert_eq!(live.len(), 1);
        let held: Vec<String> = live[0].source_ips.iter().map(ToString::to_string).collect();
        assert_eq!(held, want, "{name}");
        assert!(world.converged(&file).await, "{name}");
    }
}

#[tokio::test]
async fn several_tokens_with_one_label_are_replaced_by_one() {
    let world = World::start().await;
    let perm = |s: MailtrapTokenSeed| s.permission(ResourceType::Account, 3229, AccessLevel::Admin);
    let a = world
        .mailtrap
        .insert_token(perm(MailtrapTokenSeed::new("ci-deploy")));
    // Left by a rotation interrupted more than a lease ago.
    let b = world.mailtrap.insert_token(perm(MailtrapTokenSeed::new(
        Marker::replacing_at(Utc::now() - Duration::hours(1), &a.id.to_string()).tag("ci-deploy"),
    )));
    let file = world.file("admin");
    let plan = world.plan(&file).await;
    let action = &plan.actions()[0];
    assert_eq!(action.kind, ActionKind::Replace);
    assert_eq!(
        action.token_id,
        Some(b.id.to_string()),
        "the newest is acted on"
    );
    assert!(
        action.reason.contains(&format!("({}, {})", a.id, b.id)),
        "{}",
        action.reason
    );
    world.apply(&file).await;
    let live = world.mailtrap.tokens();
    assert_eq!(live.len(), 1);
    assert!(live[0].id != a.id && live[0].id != b.id);
    assert!(world.mailtrap_sink_accepted().await);
}

#[tokio::test]
async fn orphans_are_the_files_namespace_only_and_removed_only_with_prune() {
    let world = World::start().await;
    let file = world.file_in_namespace("admin", "ci");
    let orphan = world.mailtrap.insert_token(
        MailtrapTokenSeed::new(
            Marker::at(Utc::now() - Duration::hours(3)).tag("nightly export [ns:ci]"),
        )
        .permission(ResourceType::Account, 3229, AccessLevel::Viewer),
    );
    // Marked tokens of another namespace, or of none (`api-tokens create`,
    // a rotation function), are others': left alone, and counted.
    for label in ["nightly export", "nightly export [ns:payments]"] {
        world.mailtrap.insert_token(
            MailtrapTokenSeed::new(Marker::at(Utc::now() - Duration::hours(3)).tag(label))
                .permission(ResourceType::Account, 3229, AccessLevel::Viewer),
        );
    }
    // Unmarked tokens are not this crate's: left alone, not counted.
    world
        .mailtrap
        .insert_token(MailtrapTokenSeed::new("hand made"));
    let plan = world.plan(&file).await;
    let orphans: Vec<_> = plan
        .actions()
        .iter()
        .filter(|a| a.kind == ActionKind::Orphan)
        .collect();
    assert_eq!(orphans.len(), 1);
    assert_eq!(orphans[0].name, "nightly export [ns:ci]");
    assert_eq!(orphans[0].token_id, Some(orphan.id.to_string()));
    assert!(orphans[0].reason.contains("--prune"));
    assert_eq!(plan.left_alone(), 2);

    world.apply(&file).await;
    let minted = world.mailtrap.tokens();
    assert!(
        minted
            .iter()
            .any(|t| t.name.starts_with("ci-deploy [ns:ci] [at:")),
        "the file's tokens carry its namespace"
    );
    let plan = world.plan(&file).await;
    assert!(!plan.has_pending(false));
    assert!(plan.has_pending(true), "the orphan is still there");

    let report = ensure::apply(
        &file,
        &world.services(),
        &plan,
        &ApplyOptions::new().prune(true),
    )
    .await;
    assert!(report.is_success());
    assert!(world.mailtrap.tokens().iter().all(|t| t.id != orphan.id));
    assert_eq!(world.mailtrap.tokens().len(), 4, "the entry's and others'");
    assert!(world.converged(&file).await);
}

#[tokio::test]
async fn a_one_entry_file_leaves_the_tokens_of_other_tools_alone() {
    let world = World::start().await;
    let label = |i: usize| match i % 4 {
        0 => format!("made by create {i}"),
        1 => format!("team b {i} [ns:team-b]"),
        2 => format!("rotation function {i}"),
        _ => format!("nightly {i} [ns:other]"),
    };
    for i in 0..16 {
        world.mailtrap.insert_token(
            MailtrapTokenSeed::new(Marker::at(Utc::now() - Duration::hours(3)).tag(&label(i)))
                .permission(ResourceType::Account, 3229, AccessLevel::Viewer),
        );
    }
    let before = world.mailtrap.tokens().len();
    let text = format!(
        "[[mailtrap]]\nname = \"ci-deploy\"\npermissions = [\"account:3229:admin\"]\n\
         secret_to = \"file:{}\"\n",
        world.path("mt.token").display()
    );
    for namespaced in [false, true] {
        let text = if namespaced {
            format!("namespace = \"ci\"\n{text}")
        } else {
            text.clone()
        };
        let file = parse(&world.path("one.toml"), &text);
        let plan = world.plan(&file).await;
        let orphans = plan
            .actions()
            .iter()
            .filter(|a| a.kind == ActionKind::Orphan)
            .count();
        assert_eq!(orphans, 0, "namespaced: {namespaced}");
        // The second file leaves the first one's token alone too.
        assert_eq!(
            plan.left_alone(),
            16 + usize::from(namespaced),
            "namespaced: {namespaced}"
        );
        let report = ensure::apply(
            &file,
            &world.services(),
            &plan,
            &ApplyOptions::new().prune(true),
        )
        .await;
        assert!(report.is_success());
    }
    // Both files' entries minted, nothing of the others' was removed.
    assert_eq!(world.mailtrap.tokens().len(), before + 2);
}

#[tokio::test]
async fn prune_leaves_a_replacement_that_a_rotation_keeps() {
    let world = World::start().await;
    let file = world.file_in_namespace("admin", "ci");
    world.apply(&file).await;
    // A token of the namespace that no entry names, being rotated: its
    // replacement is in flight, and after the lease the newest
    // replacement of a live token still holds a stored secret.
    let old = world.mailtrap.insert_token(
        MailtrapTokenSeed::new(Marker::at(Utc::now() - Duration::hours(3)).tag("gone [ns:ci]"))
            .permission(ResourceType::Account, 3229, AccessLevel::Viewer),
    );
    let new = world.mailtrap.insert_token(
        MailtrapTokenSeed::new(
            Marker::replacing_at(Utc::now() - Duration::hours(1), &old.id.to_string())
                .tag("gone [ns:ci]"),
        )
        .permission(ResourceType::Account, 3229, AccessLevel::Viewer),
    );
    let plan = world.plan(&file).await;
    let orphans: Vec<_> = plan
        .actions()
        .iter()
        .filter(|a| a.kind == ActionKind::Orphan)
        .map(|a| a.token_id.clone().unwrap())
        .collect();
    assert_eq!(orphans, [old.id.to_string()]);
    assert_eq!(plan.left_alone(), 1);
    let report = ensure::apply(
        &file,
        &world.services(),
        &plan,
        &ApplyOptions::new().prune(true),
    )
    .await;
    assert!(report.is_success());
    assert!(world.mailtrap.tokens().iter().any(|t| t.id == new.id));
}

#[tokio::test]
async fn apply_after_an_interrupted_replace_converges() {
    let (world, _) = World::applied("admin").await;
    let lowered = world.file("viewer");
    // The old token's delete fails after the new secret is stored.
    world
        .mailtrap
        .inject(MailtrapOp::Delete, Fault::status(503));
    let plan = world.plan(&lowered).await;
    let report = ensure::apply(&lowered, &world.services(), &plan, &ApplyOptions::new()).await;
    let failed: Vec<_> = report.failed().collect();
    assert_eq!(failed.len(), 1);
    // The replace is a rotation through the lifecycle: its step 4 failed,
    // and what it left is the rotation's own report.
    let error = failed[0].result.as_ref().unwrap_err();
    let ensure::ActionError::Rotate(rotate) = error else {
        panic!("not a rotation's error: {error}");
    };
    assert_eq!(rotate.step(), Step::Retire, "{error}");
    assert!(rotate.secret_stored(), "{error}");
    assert!(
        matches!(rotate.left(), Left::Stored { to_remove, .. } if to_remove.len() == 1),
        "{error}"
    );
    assert!(
        world.mailtrap_sink_accepted().await,
        "the new secret is stored"
    );
    assert_eq!(world.mailtrap.tokens().len(), 2);

    // The next plan finishes that rotation: its new token is kept, and
    // nothing new is minted.
    let plan = world.plan(&lowered).await;
    assert_eq!(plan.actions()[0].kind, ActionKind::Rotate);
    assert!(
        plan.actions()[0]
            .reason
            .contains("rotating again finishes it"),
        "{}",
        plan.actions()[0].reason
    );
    let kept = rotate.left().clone();
    let Left::Stored { new, .. } = kept else {
        unreachable!("checked above")
    };
    world.apply(&lowered).await;
    let tokens = world.mailtrap.tokens();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].id.to_string(), new.id);
    assert!(world.mailtrap_sink_accepted().await);
    assert!(world.converged(&lowered).await);
}

/// The same on Unit, planned again at once: the Unit rotation stored its
/// secret and its revoke of the old token failed. The plan finishes that
/// rotation rather than leave it to the lease or replace both tokens; the
/// apply revokes the old token and mints nothing.
#[tokio::test]
async fn apply_after_a_unit_rotation_that_stored_and_stopped_finishes_it() {
    let world = World::start().await;
    world.seed_unit(&[Scope::Customers, Scope::Accounts], Duration::days(10));
    let file = world.file("admin");
    world
        .unit
        .inject(api_tokens::testing::UnitOp::Revoke, Fault::status(503));
    let plan = world.plan(&file).await;
    let report = ensure::apply(&file, &world.services(), &plan, &ApplyOptions::new()).await;
    let failed: Vec<_> = report.failed().collect();
    assert_eq!(failed.len(), 1, "the Unit rotation");
    let error = failed[0].result.as_ref().unwrap_err();
    let ensure::ActionError::Rotate(rotate) = error else {
        panic!("not a rotation's error: {error}");
    };
    assert_eq!(rotate.step(), Step::Retire, "{error}");
    let Left::Stored { new, .. } = rotate.left().clone() else {
        panic!("{error}");
    };
    assert_eq!(world.unit.tokens().len(), 2);

    let plan = world.plan(&file).await;
    let action = plan
        .actions()
        .iter()
        .find(|a| a.service == Service::Unit)
        .expect("the Unit entry");
    assert_eq!(action.kind, ActionKind::Rotate, "{}", action.reason);
    assert!(
        action.reason.contains("rotating again finishes it"),
        "{}",
        action.reason
    );
    world.unit.clear_requests();
    world.apply(&file).await;
    let tokens = world.unit.tokens();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].id.as_str(), new.id);
    assert!(
        !world
            .unit
            .requests()
            .iter()
            .any(|r| r.operation == Some("create")),
        "nothing minted"
    );
    assert!(world.unit_accepts(&world.path("unit.token")).await);
    assert!(world.converged(&file).await);
}

#[tokio::test]
async fn progress_is_told_of_each_action() {
    let world = World::start().await;
    let file = world.file("admin");
    let plan = world.plan(&file).await;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let options = ApplyOptions::new().on_outcome(move |o, i, n| {
        log.lock().unwrap().push(format!("[{i}/{n}] {o}"));
    });
    let report = ensure::apply(&file, &world.services(), &plan, &options).await;
    assert!(report.is_success());
    let mut lines = seen.lock().unwrap().clone();
    lines.sort();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].starts_with("[1/2] ") || lines[1].starts_with("[1/2] "));
    assert!(
        lines
            .iter()
            .any(|l| l.contains("mailtrap create \"ci-deploy\": done, new token"))
    );
}

/// A file sink that can read back what it holds.
struct ReadBack(api_tokens::lifecycle::sink::FileSink, std::path::PathBuf);

#[api_tokens::lifecycle::async_trait]
impl api_tokens::lifecycle::SecretSink for ReadBack {
    async fn store(
        &self,
        secret: &secrecy::SecretString,
        meta: &api_tokens::lifecycle::SecretMeta,
    ) -> Result<(), api_tokens::lifecycle::SinkError> {
        self.0.store(secret, meta).await
    }

    async fn current(
        &self,
    ) -> Result<Option<secrecy::SecretString>, api_tokens::lifecycle::SinkError> {
        Ok(std::fs::read_to_string(&self.1)
            .ok()
            .map(|text| secrecy::SecretString::from(text.trim_end().to_owned())))
    }
}

#[tokio::test]
async fn a_mailtrap_sink_holding_another_secret_is_a_replace() {
    let world = World::start().await;
    let services = world.services().sinks(|spec| match spec {
        api_tokens::lifecycle::SinkSpec::File(path) => Ok(Box::new(ReadBack(
            api_tokens::lifecycle::sink::FileSink::new(path),
            path.clone(),
        ))),
        other => other.clone().into_sink(),
    });
    let file = world.file("admin");
    let plan = ensure::plan(&file, &services).await.unwrap();
    assert!(
        ensure::apply(&file, &services, &plan, &ApplyOptions::new())
            .await
            .is_success()
    );
    assert!(
        !ensure::plan(&file, &services)
            .await
            .unwrap()
            .has_pending(true)
    );

    // The sink lost its secret (restored from an old backup, say).
    std::fs::write(world.path("mt.token"), "0123456789abcdef0123456789abzzzz\n").unwrap();
    let plan = ensure::plan(&file, &services).await.unwrap();
    let action = &plan.actions()[0];
    assert_eq!(action.kind, ActionKind::Replace);
    assert!(action.reason.starts_with("secret_to:"), "{}", action.reason);
    assert!(!action.reason.contains("zzzz"), "{}", action.reason);
    assert!(
        ensure::apply(&file, &services, &plan, &ApplyOptions::new())
            .await
            .is_success()
    );
    assert!(world.mailtrap_sink_accepted().await);
    assert_eq!(world.mailtrap.tokens().len(), 1);
    assert!(
        !ensure::plan(&file, &services)
            .await
            .unwrap()
            .has_pending(true)
    );
}

#[tokio::test]
async fn a_token_being_rotated_is_left_to_its_rotation_not_replaced() {
    let world = World::start().await;
    let file = world.file("admin");
    world.apply(&file).await;
    // A rotation of the entry's Unit and Mailtrap tokens is in flight: each
    // has minted its new token (`from:OLD`) and not yet retired the old one.
    let mt_old = world.mailtrap.tokens()[0].clone();
    let mt_new = world.mailtrap.insert_token(
        MailtrapTokenSeed::new(Marker::replacing(&mt_old.id.to_string()).tag("ci-deploy"))
            .permission(ResourceType::Account, 3229, AccessLevel::Admin),
    );
    let unit_old = world.unit.tokens()[0].clone();
    let unit_new = world.unit.insert_token(
        api_tokens::testing::UnitTokenSeed::new(
            Marker::replacing(unit_old.id.as_str()).tag("ci-deploy"),
        )
        .scopes([Scope::Customers, Scope::Accounts])
        .expiration(Utc::now() + Duration::days(90)),
    );
    let plan = world.plan(&file).await;
    for action in plan.actions() {
        assert_eq!(action.kind, ActionKind::None, "{action:?}");
        assert!(action.reason.contains("in flight"), "{}", action.reason);
    }
    let report = ensure::apply(&file, &world.services(), &plan, &ApplyOptions::new()).await;
    assert!(report.is_success());
    let mt: Vec<_> = world.mailtrap.tokens().iter().map(|t| t.id).collect();
    assert_eq!(mt, [mt_old.id, mt_new.id], "both left to the rotation");
    let unit: Vec<_> = world.unit.tokens().iter().map(|t| t.id.clone()).collect();
    assert_eq!(unit, [unit_old.id, unit_new.id]);
}

#[tokio::test]
async fn a_sink_holding_no_secret_of_the_token_is_drift_rotated() {
    let world = World::start().await;
    let file = world.file("admin");
    world.apply(&file).await;
    assert!(world.converged(&file).await);
    // The Mailtrap sink's file is gone; the Unit sink's is empty.
    std::fs::remove_file(world.path("mt.token")).unwrap();
    std::fs::write(world.path("unit.token"), "").unwrap();
    let plan = world.plan(&file).await;
    for action in plan.actions() {
        assert_eq!(action.kind, ActionKind::Rotate, "{action:?}");
        assert!(
            action.reason.contains("holds no secret"),
            "{}",
            action.reason
        );
    }
    world.apply(&file).await;
    assert!(world.mailtrap_sink_accepted().await);
    assert!(world.unit_accepts(&world.path("unit.token")).await);
    assert_eq!(world.mailtrap.tokens().len(), 1);
    assert_eq!(world.unit.tokens().len(), 1);
    assert!(world.converged(&file).await);
}

/// A Unit token's payload names the token: a Unit sink holding the secret
/// of another token (here, one minted for something else) holds no secret
/// of the entry's token, which is drift, planned as a rotation that says
/// why; Mailtrap's list shows the last four characters, which tell the
/// same. Once applied, the plan is up to date again.
#[tokio::test]
async fn a_unit_sink_holding_another_tokens_secret_is_drift_rotated() {
    let world = World::start().await;
    let file = world.file("admin");
    world.apply(&file).await;
    assert!(world.converged(&file).await);
    let other = world
        .unit
        .insert_token(api_tokens::testing::UnitTokenSeed::new("something else"));
    let names_other = format!("names token {}", other.id.as_str());
    // Another token's secret, then a value that is no Unit token's secret
    // at all: each is drift, said without quoting what the sink holds.
    let cases: [(&str, &[&str]); 2] = [
        (
            other.secret.expose_secret(),
            &["holds the secret of another token", &names_other],
        ),
        ("not-a-token", &["no Unit token's secret"]),
    ];
    for (held, says) in cases {
        std::fs::write(world.path("unit.token"), format!("{held}\n")).unwrap();
        let plan = world.plan(&file).await;
        let unit = plan
            .actions()
            .iter()
            .find(|a| a.service == Service::Unit)
            .expect("the unit entry");
        assert_eq!(unit.kind, ActionKind::Rotate, "{unit:?}");
        assert!(
            says.iter().all(|s| unit.reason.contains(s)),
            "{}",
            unit.reason
        );
        assert!(!unit.reason.contains(held), "{}", unit.reason);
        world.apply(&file).await;
        assert!(world.unit_accepts(&world.path("unit.token")).await);
        assert!(world.converged(&file).await);
    }
}

#[tokio::test]
async fn an_env_file_sink_without_its_variable_is_drift_rotated() {
    let world = World::start().await;
    let env = world.path("ci.env");
    let text = ensure_support::acceptance_toml("admin", &world.path("mt.token"), &env).replace(
        &format!("file:{}", env.display()),
        &format!("env-file:{}:UNIT_API_TOKEN", env.display()),
    );
    let file = parse(&world.path("tokens.toml"), &text);
    world.apply(&file).await;
    assert!(world.converged(&file).await);
    std::fs::write(&env, "OTHER=1\n").unwrap();
    let plan = world.plan(&file).await;
    assert_eq!(
        kinds(&plan),
        [
            ("Mailtrap".into(), "ci-deploy".into(), ActionKind::None),
            ("Unit".into(), "ci-deploy".into(), ActionKind::Rotate),
        ]
    );
    world.apply(&file).await;
    assert!(
        std::fs::read_to_string(&env)
            .unwrap()
            .contains("UNIT_API_TOKEN=")
    );
    assert!(world.converged(&file).await);
}

/// The live tokens of both fakes carrying the label `ci-deploy`.
fn live_ci_deploy(world: &World) -> (usize, usize) {
    let mt = world
        .mailtrap
        .tokens()
        .iter()
        .filter(|t| Marker::label(&t.name) == "ci-deploy")
        .count();
    let unit = world
        .unit
        .tokens()
        .iter()
        .filter(|t| Marker::label(&t.description) == "ci-deploy")
        .count();
    (mt, unit)
}

/// Plans twice at once, then applies both plans at once, through two
/// sets of clients: as two `apply` runs started together.
async fn two_applies_at_once(world: &World, file: &ensure::TokensFile) -> [ensure::ApplyReport; 2] {
    let (a, b) = (world.services(), world.services());
    let (pa, pb) = tokio::join!(ensure::plan(file, &a), ensure::plan(file, &b));
    let (pa, pb) = (pa.expect("plan"), pb.expect("plan"));
    let options = ApplyOptions::new();
    let (ra, rb) = tokio::join!(
        ensure::apply(file, &a, &pa, &options),
        ensure::apply(file, &b, &pb, &options)
    );
    [ra, rb]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_applies_at_once_converge_on_one_live_token_per_entry() {
    for round in 0..8 {
        let world = World::start().await;
        // Mailtrap: both create. Unit: a token whose sink holds nothing,
        // expiring within rotate_before_expiry: both rotate it.
        world.seed_unit(&[Scope::Customers, Scope::Accounts], Duration::days(3));
        let file = world.file("admin");
        for phase in ["create and rotate", "replace"] {
            let file = if phase == "replace" {
                world.file("viewer")
            } else {
                file.clone()
            };
            let reports = two_applies_at_once(&world, &file).await;
            for report in &reports {
                if let Some(failed) = report.failed().next() {
                    panic!("round {round}, {phase}: {failed}");
                }
            }
            let yielded = reports
                .iter()
                .flat_map(|r| &r.actions)
                .filter(|o| o.result.as_ref().is_ok_and(|d| d.yielded_to.is_some()))
                .count();
            assert!(yielded >= 1, "round {round}, {phase}: one run yields");
            assert_eq!(
                live_ci_deploy(&world),
                (1, 1),
                "round {round}, {phase}: one live token per entry"
            );
            assert!(
                world.mailtrap_sink_accepted().await,
                "round {round}, {phase}: the Mailtrap sink holds a live secret"
            );
            assert!(
                world.unit_accepts(&world.path("unit.token")).await,
                "round {round}, {phase}: the Unit sink holds a live secret"
            );
            assert!(world.converged(&file).await, "round {round}, {phase}");
        }
    }
}

/// A sink that says when a store begins and holds it until let go: a
/// rotation paused between its mint and its store.
struct Gate {
    inner: Box<dyn api_tokens::lifecycle::SecretSink>,
    reached: std::sync::Arc<tokio::sync::Notify>,
    release: std::sync::Arc<tokio::sync::Notify>,
}

#[api_tokens::lifecycle::async_trait]
impl api_tokens::lifecycle::SecretSink for Gate {
    async fn store(
        &self,
        secret: &secrecy::SecretString,
        meta: &api_tokens::lifecycle::SecretMeta,
    ) -> Result<(), api_tokens::lifecycle::SinkError> {
        self.reached.notify_one();
        self.release.notified().await;
        self.inner.store(secret, meta).await
    }

    async fn check(&self) -> Result<(), api_tokens::lifecycle::SinkError> {
        self.inner.check().await
    }

    async fn current(
        &self,
    ) -> Result<Option<secrecy::SecretString>, api_tokens::lifecycle::SinkError> {
        self.inner.current().await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_apply_beside_a_rotation_of_its_token_yields_to_it() {
    use api_tokens::lifecycle::{MailtrapLifecycle, MailtrapPlan, SinkSpec};
    use std::sync::Arc;

    let world = World::start().await;
    world.apply(&world.file("admin")).await;
    let old = world.mailtrap.tokens()[0].id;
    // A plan made before the rotation starts: a replace (lowered
    // permission) of the token the rotation is about to replace.
    let viewer = world.file("viewer");
    let services = world.services();
    let plan = ensure::plan(&viewer, &services).await.expect("plan");
    assert_eq!(plan.actions()[0].kind, ActionKind::Replace);

    let (reached, release) = (
        Arc::new(tokio::sync::Notify::new()),
        Arc::new(tokio::sync::Notify::new()),
    );
    let gate = Gate {
        inner: SinkSpec::File(world.path("mt.token")).into_sink().unwrap(),
        reached: reached.clone(),
        release: release.clone(),
    };
    let life = MailtrapLifecycle::new(world.mailtrap_client());
    let rotation = tokio::spawn(async move {
        life.rotate(&old, &MailtrapPlan::new().recreate().delete_old(), &gate)
            .await
    });
    reached.notified().await;
    // The rotation has minted and won; its store waits. The apply runs.
    let report = ensure::apply(&viewer, &services, &plan, &ApplyOptions::new()).await;
    if let Some(failed) = report.failed().next() {
        panic!("{failed}");
    }
    let mt = &report.actions[0];
    let done = mt.result.as_ref().unwrap();
    assert!(done.yielded_to.is_some(), "{mt}");
    assert!(done.token.is_none(), "{mt}");
    assert!(
        world.mailtrap.tokens().iter().any(|t| t.id == old),
        "the apply left the rotation's old token to it"
    );
    release.notify_one();
    let rotation = rotation.await.unwrap().expect("the rotation completes");
    assert_eq!(live_ci_deploy(&world).0, 1, "one live Mailtrap token");
    assert_eq!(world.mailtrap.tokens()[0].id.to_string(), rotation.new.id);
    assert!(world.mailtrap_sink_accepted().await);
    // The next apply finishes the file's change.
    world.apply(&viewer).await;
    assert!(world.converged(&viewer).await);
    assert!(world.mailtrap_sink_accepted().await);
}

#[tokio::test]
async fn rotations_keep_the_files_namespace() {
    let world = World::start().await;
    let file = world.file_in_namespace("admin", "ci");
    world.apply(&file).await;
    let services = world.services();
    let later = ensure::plan_at(&file, &services, Utc::now() + Duration::days(80))
        .await
        .expect("plan");
    assert_eq!(
        kinds(&later),
        [
            ("Mailtrap".into(), "ci-deploy".into(), ActionKind::Rotate),
            ("Unit".into(), "ci-deploy".into(), ActionKind::Rotate),
        ]
    );
    let report = ensure::apply(&file, &services, &later, &ApplyOptions::new()).await;
    if let Some(failed) = report.failed().next() {
        panic!("{failed}");
    }
    let mt = world.mailtrap.tokens();
    let unit = world.unit.tokens();
    assert_eq!((mt.len(), unit.len()), (1, 1));
    assert_eq!(Marker::label(&mt[0].name), "ci-deploy [ns:ci]");
    assert_eq!(Marker::label(&unit[0].description), "ci-deploy [ns:ci]");
    assert!(Marker::find(&mt[0].name).unwrap().replaces().is_some());
    let plan = world.plan(&file).await;
    assert!(!plan.has_pending(true), "{:?}", kinds(&plan));
    assert_eq!(plan.left_alone(), 0);
}

/// What the sinks of scheme `told:` were told, by location.
fn told_sinks() -> &'static std::sync::Mutex<Vec<(String, api_tokens::lifecycle::SecretMeta)>> {
    static TOLD: std::sync::OnceLock<
        std::sync::Mutex<Vec<(String, api_tokens::lifecycle::SecretMeta)>>,
    > = std::sync::OnceLock::new();
    TOLD.get_or_init(Default::default)
}

/// Registers `told:LOCATION`, a store that keeps what it is told of each
/// secret, and gives what `told:location` was told so far.
fn told(location: &str) -> Vec<api_tokens::lifecycle::SecretMeta> {
    use api_tokens::lifecycle::sink::{self, SecretSink, register_scheme};
    register_scheme("told", |location| {
        let location = location.to_owned();
        Ok(Box::new(sink::from_fn(move |_secret, meta| {
            told_sinks()
                .lock()
                .expect("told")
                .push((location.clone(), meta));
            async { Ok(()) }
        })) as Box<dyn SecretSink>)
    })
    .expect("registered");
    told_sinks()
        .lock()
        .expect("told")
        .iter()
        .filter(|(at, _)| at == location)
        .map(|(_, meta)| meta.clone())
        .collect()
}

/// Issue 27, item 4: `apply` into a store writes the whole record of a
/// Unit token (user, scopes, source addresses, lifetime), on a create and
/// on a rotation, so that a store's rotation can mint it again.
#[tokio::test]
async fn apply_tells_a_store_the_whole_unit_record() {
    for rotation in [false, true] {
        let world = World::start().await;
        let location = format!("apply-record-{rotation}");
        assert!(told(&location).is_empty());
        if rotation {
            world.unit.insert_token(
                api_tokens::testing::UnitTokenSeed::new("ci-deploy")
                    .scopes([Scope::Customers, Scope::Accounts])
                    .source_ip(
                        "10.0.0.0/8"
                            .parse::<api_tokens::unit::SourceIp>()
                            .expect("ip"),
                    )
                    .expiration(Utc::now() + Duration::days(3)),
            );
        }
        let text = format!(
            "[[unit]]\ndescription = \"ci-deploy\"\nscopes = [\"customers\", \"accounts\"]\n\
             source_ips = [\"10.0.0.0/8\"]\nlifetime = \"90d\"\nrotate_before_expiry = \"14d\"\n\
             secret_to = \"told:{location}\"\n"
        );
        let file = parse(&world.path("tokens.toml"), &text);
        let plan = world.plan(&file).await;
        let expected = if rotation {
            ActionKind::Rotate
        } else {
            ActionKind::Create
        };
        assert_eq!(plan.actions()[0].kind, expected, "{:?}", plan.actions());
        world.apply(&file).await;
        let told = told(&location);
        assert_eq!(told.len(), 1, "{told:?}");
        let meta = &told[0];
        assert_eq!(meta.id(), world.unit.tokens()[0].id.to_string());
        let user = world.unit.user_id().to_string();
        for (key, value) in [
            ("user_id", serde_json::json!(user)),
            ("scopes", serde_json::json!(["customers", "accounts"])),
            ("source_ips", serde_json::json!(["10.0.0.0/8"])),
        ] {
            assert_eq!(meta.attribute(key), Some(&value), "{key}: {meta:?}");
        }
        let lifetime = meta.attribute("lifetime_secs").and_then(|v| v.as_i64());
        assert!(
            lifetime.is_some_and(|l| (l - 90 * 86_400).abs() <= 5),
            "{lifetime:?}"
        );
    }
}

/// A token of a tokens file rotated by hand with Mailtrap's reset (the
/// default plan: the new token is named `"<old name> <its id>"`, the old
/// one runs out its grace period) into the entry's sink is still the
/// entry's token: the plan converges, at most one apply later, and keeps a
/// token whose secret the sink holds.
#[tokio::test]
async fn a_reset_by_hand_of_a_files_token_converges() {
    use api_tokens::lifecycle::{MailtrapLifecycle, MailtrapPlan, SinkSpec};

    let world = World::start().await;
    let file = world.file("admin");
    world.apply(&file).await;
    assert!(world.converged(&file).await);
    let old = world.mailtrap.tokens()[0].id;
    let sink = SinkSpec::File(world.path("mt.token")).into_sink().unwrap();
    let life = MailtrapLifecycle::new(world.mailtrap_client());
    let rotation = life
        .rotate(&old, &MailtrapPlan::new(), &*sink)
        .await
        .expect("a reset");
    assert_eq!(
        rotation.method,
        api_tokens::lifecycle::RotationMethod::Reset
    );
    if !world.converged(&file).await {
        world.apply(&file).await;
    }
    assert!(
        world.converged(&file).await,
        "{:?}",
        kinds(&world.plan(&file).await)
    );
    assert!(world.mailtrap_sink_accepted().await);
}

/// A file whose entries were all removed still owns its namespace: its
/// tokens are orphans, found in the configured account and user, and
/// `--prune` removes them.
#[tokio::test]
async fn a_namespace_without_entries_left_finds_its_orphans() {
    let world = World::start().await;
    world.apply(&world.file_in_namespace("admin", "ci")).await;
    assert_eq!(world.mailtrap.tokens().len(), 1);
    assert_eq!(world.unit.tokens().len(), 1);
    let empty = parse(&world.path("empty.toml"), "namespace = \"ci\"\n");
    let plan = world.plan(&empty).await;
    let orphans: Vec<_> = plan
        .actions()
        .iter()
        .filter(|a| a.kind == ActionKind::Orphan)
        .map(|a| a.service)
        .collect();
    assert_eq!(
        orphans,
        [Service::Mailtrap, Service::Unit],
        "{:?}",
        kinds(&plan)
    );
    let report = ensure::apply(
        &empty,
        &world.services(),
        &plan,
        &ApplyOptions::new().prune(true),
    )
    .await;
    assert!(report.is_success());
    assert!(world.mailtrap.tokens().is_empty());
    assert!(world.unit.tokens().is_empty());
}

/// Two entries of one name in one account are refused before any request,
/// also when one of them takes the default account: it is the account the
/// other names.
#[tokio::test]
async fn one_name_twice_in_the_default_account_is_refused_before_any_request() {
    let world = World::start().await;
    let account = world.mailtrap.account_id();
    let file = parse(
        &world.path("dup.toml"),
        &format!(
            "[[mailtrap]]\nname = \"a\"\npermissions = [\"sandbox:17:viewer\"]\n\
             secret_to = \"file:{}\"\n\n\
             [[mailtrap]]\nname = \"a\"\npermissions = [\"account:{account}:admin\"]\n\
             secret_to = \"file:{}\"\n",
            world.path("a1.token").display(),
            world.path("a2.token").display()
        ),
    );
    let services = Services::new().mailtrap(
        world
            .mailtrap_client()
            .for_account(Some(account))
            .expect("the account's client"),
    );
    world.mailtrap.clear_requests();
    let err = ensure::plan(&file, &services)
        .await
        .expect_err("a second entry named a in the default account");
    let text = err.to_string();
    assert!(
        text.contains("dup.toml:6") && text.contains("`a`") && text.contains("line 1"),
        "{text}"
    );
    assert!(world.mailtrap.requests().is_empty(), "a request was sent");
}
