//! `VaultKvSink` against a real Vault-API server (OpenBao's dev server):
//! records, versions, check-and-set, `cas_required`, and errors.

use api_tokens::Service;
use api_tokens::lifecycle::UnitPlan;
use api_tokens::lifecycle::sink::{SecretMeta, SecretSink, SinkError, VaultKvSink};
use api_tokens::unit::{CreateApiToken, Scope, TokenId};
use chrono::Utc;
use reqwest::Method;
use secrecy::{ExposeSecret, SecretString};

use crate::lifecycle_support::{unit, unit_accepts};
use crate::openbao::{OpenBao, ROOT_TOKEN, unique_path};

fn meta(id: &str) -> SecretMeta {
    SecretMeta::new(Service::Mailtrap, id).with_name("CI deploy")
}

async fn store(sink: &VaultKvSink, secret: &str, id: &str) -> Result<(), SinkError> {
    sink.store(&SecretString::from(secret.to_owned()), &meta(id))
        .await
}

/// `secret/PATH` → `secret/metadata/PATH`.
fn metadata_path(path: &str) -> String {
    path.replacen("secret/", "secret/metadata/", 1)
}

#[tokio::test]
async fn create_then_rotate_keeps_the_old_record_as_the_previous_version() {
    let Some(bao) = OpenBao::start() else {
        return;
    };
    let path = unique_path("ci/unit");
    let (fake, life) = unit().await;
    let sink = bao.sink(&path);
    let expires = Utc::now() + chrono::Duration::days(30);
    let request = CreateApiToken::new("CI deploy", [Scope::Customers], expires);
    let old = life.mint_into(&request, &sink).await.expect("create");

    let (v1, record) = sink.current_record().await.unwrap().expect("a record");
    assert_eq!(v1, 1);
    assert_eq!(record.service, Service::Unit);
    assert_eq!(record.token_id, old.id);
    assert_eq!(record.name.as_deref(), Some("CI deploy"));
    assert!(unit_accepts(&life, record.token.expose_secret()).await);
    // custom_metadata names the token, never its secret.
    let (status, metadata) = bao.api(Method::GET, &metadata_path(&path), None).await;
    assert_eq!(status, 200);
    let custom = &metadata["data"]["custom_metadata"];
    assert_eq!(custom["service"], "unit");
    assert_eq!(custom["token_id"], old.id.as_str());
    assert!(!metadata.to_string().contains(record.token.expose_secret()));

    // A rotation through a new sink, as a later run makes it.
    let sink = bao.sink(&path);
    let plan = UnitPlan::new([Scope::Customers], Utc::now() + chrono::Duration::days(30));
    let old_id: TokenId = old.id.parse().expect("a Unit id");
    let rotation = life.rotate(&old_id, &plan, &sink).await.expect("rotate");

    let (v2, new) = sink.current_record().await.unwrap().expect("a record");
    assert_eq!(v2, 2);
    assert_eq!(new.token_id, rotation.new.id);
    assert!(unit_accepts(&life, new.token.expose_secret()).await);
    assert!(
        !unit_accepts(&life, record.token.expose_secret()).await,
        "old token retired"
    );
    let previous = sink
        .record_version(v2 - 1)
        .await
        .unwrap()
        .expect("previous");
    assert_eq!(previous.token_id, old.id);
    assert_eq!(previous.token.expose_secret(), record.token.expose_secret());
    let (_, metadata) = bao.api(Method::GET, &metadata_path(&path), None).await;
    assert_eq!(
        metadata["data"]["custom_metadata"]["token_id"],
        rotation.new.id.as_str()
    );
    drop(fake);
}

#[tokio::test]
async fn writers_that_read_the_same_version_leave_one_winner() {
    let Some(bao) = OpenBao::start() else {
        return;
    };
    let path = unique_path("ci/cas");
    store(&bao.sink(&path), "old-secret", "1")
        .await
        .expect("seed");

    // Three writers read version 1, then write at once.
    let sinks: Vec<VaultKvSink> = (0..3).map(|_| bao.sink(&path)).collect();
    for sink in &sinks {
        sink.check().await.expect("read the current version");
    }
    let results = futures_join(&sinks).await;
    let winners: Vec<usize> = (0..3).filter(|&i| results[i].is_ok()).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    let winner = winners[0];
    let winner_id = (winner + 2).to_string();
    for (i, result) in results.iter().enumerate() {
        if i == winner {
            continue;
        }
        let err = result.as_ref().expect_err("the others are refused");
        assert!(err.is_superseded(), "{err}");
        assert_eq!(err.holder(), Some(winner_id.as_str()));
        let text = format!("{err} {err:?}");
        assert!(!text.contains("secret-"), "{text}");
    }
    let reader = bao.sink(&path);
    let (version, current) = reader.current_record().await.unwrap().expect("a record");
    assert_eq!(version, 2, "no last-writer-wins: one version written");
    assert_eq!(current.token_id, winner_id);
    assert_eq!(
        current.token.expose_secret(),
        format!("secret-{}", winner + 2)
    );
    assert_eq!(
        reader
            .record_version(1)
            .await
            .unwrap()
            .expect("v1")
            .token_id,
        "1"
    );
}

/// Stores `secret-N` (N = 2, 3, 4) through the three sinks at once.
async fn futures_join(sinks: &[VaultKvSink]) -> Vec<Result<(), SinkError>> {
    let (a, b, c) = tokio::join!(
        store(&sinks[0], "secret-2", "2"),
        store(&sinks[1], "secret-3", "3"),
        store(&sinks[2], "secret-4", "4"),
    );
    vec![a, b, c]
}

#[tokio::test]
async fn a_key_with_cas_required_takes_creates_rotations_and_refuses_stale_writes() {
    let Some(bao) = OpenBao::start() else {
        return;
    };
    let path = unique_path("ci/required");
    let (status, _) = bao
        .api(
            Method::POST,
            &metadata_path(&path),
            Some(serde_json::json!({"cas_required": true})),
        )
        .await;
    assert!(status < 300, "{status}");
    // The key now refuses a write without cas: the setting is in force.
    let (status, answer) = bao
        .api(
            Method::POST,
            &path.replacen("secret/", "secret/data/", 1),
            Some(serde_json::json!({"data": {"x": "y"}})),
        )
        .await;
    assert_eq!(status, 400, "{answer}");

    let stale = bao.sink(&path);
    stale.check().await.expect("read version 0");
    store(&bao.sink(&path), "first", "1").await.expect("create");
    store(&bao.sink(&path), "second", "2")
        .await
        .expect("rotate");
    let err = store(&stale, "third", "3").await.expect_err("stale");
    assert!(err.is_superseded(), "{err}");
    assert_eq!(err.holder(), Some("2"));
    let (_, metadata) = bao.api(Method::GET, &metadata_path(&path), None).await;
    assert_eq!(
        metadata["data"]["cas_required"], true,
        "the setting is kept"
    );
    assert_eq!(metadata["data"]["current_version"], 2);
}

#[tokio::test]
async fn a_retried_store_of_the_current_token_writes_no_new_version() {
    let Some(bao) = OpenBao::start() else {
        return;
    };
    let path = unique_path("ci/retry");
    let sink = bao.sink(&path);
    store(&sink, "one", "1").await.expect("first");
    store(&sink, "one", "1").await.expect("retry, same sink");
    store(&bao.sink(&path), "one", "1")
        .await
        .expect("retry, another run");
    assert_eq!(bao.sink(&path).current_version().await.unwrap(), 1);
    // A deleted current version reads as no record; the next write goes on.
    let (status, _) = bao
        .api(
            Method::DELETE,
            &path.replacen("secret/", "secret/data/", 1),
            None,
        )
        .await;
    assert!(status < 300);
    let fresh = bao.sink(&path);
    assert!(fresh.current().await.unwrap().is_none());
    store(&fresh, "two", "2").await.expect("after a delete");
    assert_eq!(fresh.current_version().await.unwrap(), 2);
}

#[tokio::test]
async fn errors_say_what_was_refused_and_never_hold_the_secret_or_the_token() {
    let Some(bao) = OpenBao::start() else {
        return;
    };
    let path = unique_path("ci/denied");
    // A token whose policy may only read.
    let (status, _) = bao
        .api(
            Method::PUT,
            "sys/policies/acl/read-only",
            Some(serde_json::json!({
                "policy": "path \"secret/data/*\" { capabilities = [\"read\"] }\n\
                           path \"secret/metadata/*\" { capabilities = [\"read\"] }"
            })),
        )
        .await;
    assert!(status < 300, "{status}");
    let (_, answer) = bao
        .api(
            Method::POST,
            "auth/token/create",
            Some(serde_json::json!({"policies": ["read-only"], "no_default_policy": true})),
        )
        .await;
    let weak = answer["auth"]["client_token"]
        .as_str()
        .expect("a token")
        .to_owned();
    let sink = VaultKvSink::with_config(bao.config_with(&weak), &path).unwrap();
    let err = store(&sink, "s3cr3t-value", "1").await.expect_err("denied");
    let text = format!("{err} {err:?}");
    assert!(
        text.contains("403") && text.contains("permission denied"),
        "{text}"
    );
    assert!(
        text.contains(&path.replacen("secret/", "secret/data/", 1)),
        "{text}"
    );
    assert!(!text.contains("s3cr3t") && !text.contains(&weak), "{text}");
    assert!(!text.contains(ROOT_TOKEN), "{text}");

    // A wrong token, and a mount that does not exist.
    let sink = VaultKvSink::with_config(bao.config_with("not-a-token"), &path).unwrap();
    let err = sink.check().await.expect_err("refused").to_string();
    assert!(err.contains("403") && !err.contains("not-a-token"), "{err}");
    let err = store(&bao.sink("nomount/ci/x"), "s3cr3t-value", "1")
        .await
        .expect_err("no such mount")
        .to_string();
    assert!(!err.contains("s3cr3t"), "{err}");
}

#[tokio::test]
async fn rotate_from_a_vault_record_rotates_the_token_it_names() {
    let Some(bao) = OpenBao::start() else {
        return;
    };
    // Mailtrap: the record names the token; no id is given.
    let (fake, life) = crate::lifecycle_support::mailtrap().await;
    let old = fake.insert_token(crate::lifecycle_support::project_viewer("CI deploy"));
    let path = unique_path("ci/mailtrap");
    let meta = SecretMeta::new(Service::Mailtrap, old.id.to_string()).with_name("CI deploy");
    bao.sink(&path)
        .store(&old.secret, &meta)
        .await
        .expect("seed");

    let store = bao.sink(&path);
    let rotation = life
        .rotate_from(&store, &api_tokens::lifecycle::MailtrapPlan::new())
        .await
        .expect("rotate from the record");
    assert_eq!(rotation.old.id, old.id.to_string());
    let reader = bao.sink(&path);
    let (version, current) = reader.current_record().await.unwrap().expect("a record");
    assert_eq!(version, 2);
    assert_eq!(current.token_id, rotation.new.id);
    assert!(crate::lifecycle_support::mailtrap_accepts(&life, current.token.expose_secret()).await);
    let previous = reader.record_version(1).await.unwrap().expect("previous");
    assert_eq!(previous.token_id, old.id.to_string());

    // Unit: a record of the wrong service is refused before any request.
    let (_unit_fake, unit_life) = unit().await;
    let plan = UnitPlan::new([Scope::Customers], Utc::now() + chrono::Duration::days(30));
    let err = unit_life
        .rotate_from(&bao.sink(&path), &plan)
        .await
        .expect_err("a Mailtrap record");
    assert!(err.to_string().contains("Mailtrap"), "{err}");
    // An empty secret holds no record to rotate from.
    let err = unit_life
        .rotate_from(&bao.sink(&unique_path("ci/empty")), &plan)
        .await
        .expect_err("no record");
    assert!(err.to_string().contains("no current token record"), "{err}");
}

#[tokio::test]
async fn three_rotations_from_one_vault_record_leave_one_winner_and_one_live_token() {
    let Some(bao) = OpenBao::start() else {
        return;
    };
    let (fake, life) = unit().await;
    let path = unique_path("ci/three");
    let request = CreateApiToken::new(
        "CI deploy",
        [Scope::Customers],
        Utc::now() + chrono::Duration::days(30),
    );
    let old = life
        .mint_into(&request, &bao.sink(&path))
        .await
        .expect("create");
    let plan = UnitPlan::new([Scope::Customers], Utc::now() + chrono::Duration::days(30));
    let lives = [
        crate::lifecycle_support::unit_life(&fake),
        crate::lifecycle_support::unit_life(&fake),
        crate::lifecycle_support::unit_life(&fake),
    ];
    let stores = [bao.sink(&path), bao.sink(&path), bao.sink(&path)];
    let (a, b, c) = tokio::join!(
        lives[0].rotate_from(&stores[0], &plan),
        lives[1].rotate_from(&stores[1], &plan),
        lives[2].rotate_from(&stores[2], &plan),
    );
    let results = [a, b, c];
    let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    for err in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(err.superseded().is_some(), "{err}");
    }
    let winner = &winners[0].new.id;
    let live: Vec<String> = fake.tokens().iter().map(|t| t.id.to_string()).collect();
    assert_eq!(live, std::slice::from_ref(winner), "one live token");
    let (_, current) = bao
        .sink(&path)
        .current_record()
        .await
        .unwrap()
        .expect("a record");
    assert_eq!(&current.token_id, winner);
    assert_ne!(&old.id, winner);
}

#[tokio::test]
async fn a_mount_that_cannot_keep_versions_is_refused_by_the_check() {
    let Some(bao) = OpenBao::start() else {
        return;
    };
    bao.mount("kv1", "kv", Some("1")).await;
    bao.mount("transit", "transit", None).await;
    for (spec, says) in [
        ("kv1/ci/unit", "KV version \"1\""),
        ("nomount/ci/unit", "no mount"),
        ("transit/ci/unit", "\"transit\" engine"),
    ] {
        let err = bao.sink(spec).check().await.expect_err(spec);
        assert!(
            matches!(err, SinkError::InvalidSpec { .. }),
            "{spec}: {err:?}"
        );
        let text = err.to_string();
        assert!(text.contains(says) && text.contains(spec), "{spec}: {text}");
    }
    // KV v2 passes.
    bao.sink(&unique_path("ci/checked"))
        .check()
        .await
        .expect("KV v2");
}

#[tokio::test]
async fn custom_metadata_set_by_others_is_kept() {
    let Some(bao) = OpenBao::start() else {
        return;
    };
    let path = unique_path("ci/owned");
    let sink = bao.sink(&path);
    store(&sink, "first-secret", "1").await.unwrap();
    let (status, _) = bao
        .api(
            Method::POST,
            &metadata_path(&path),
            Some(serde_json::json!({"custom_metadata": {"owner": "team-x", "token_id": "0"}})),
        )
        .await;
    assert!(status < 300, "{status}");
    store(&bao.sink(&path), "second-secret", "2").await.unwrap();
    let (_, answer) = bao.api(Method::GET, &metadata_path(&path), None).await;
    let custom = &answer["data"]["custom_metadata"];
    assert_eq!(custom["owner"], "team-x", "{answer}");
    assert_eq!(custom["token_id"], "2", "{answer}");
    assert_eq!(custom["service"], "mailtrap", "{answer}");
}
