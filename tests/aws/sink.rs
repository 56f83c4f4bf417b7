//! `SecretsManagerSink` and `rotate_from` against a local AWS Secrets
//! Manager (moto's server).

use crate::aws_support;
use crate::lifecycle_support;

use api_tokens::Service;
use api_tokens::lifecycle::sink::{
    AWSCURRENT, AWSPENDING, AWSPREVIOUS, SecretMeta, SecretSink, SecretsManagerSink, SinkError,
};
use api_tokens::lifecycle::{MailtrapPlan, RotateCause, TokenRef, UnitLifecycle, UnitPlan};
use api_tokens::mailtrap::Expiry;
use api_tokens::testing::{MailtrapTokenSeed, UnitTokenSeed};
use api_tokens::unit::{CreateApiToken, Scope};
use aws_sdk_secretsmanager::Client;
use aws_support::{Moto, ci_deploy, current, record, unique_name, version_with, versions};
use chrono::{DateTime, Utc};
use lifecycle_support::{mailtrap, mailtrap_accepts, unit, unit_accepts};
use secrecy::{ExposeSecret, SecretString};

fn meta(id: &str) -> SecretMeta {
    SecretMeta::new(Service::Mailtrap, id).with_name("CI deploy [at:t4k2ab-7f3k9q2m]")
}

/// Stores `secret` through `sink` as the record of Mailtrap token `id`.
async fn store(sink: &SecretsManagerSink, secret: &str, id: &str) -> Result<(), SinkError> {
    sink.store(&SecretString::from(secret), &meta(id)).await
}

/// A local Secrets Manager, a client of it, and the name of a secret no
/// other test uses.
struct Store {
    moto: Moto,
    client: Client,
    name: String,
}

impl Store {
    /// Moto's server and a name made from `prefix`; `None` where moto is
    /// missing, outside CI.
    fn start(prefix: &str) -> Option<Store> {
        let moto = Moto::start()?;
        Some(Store {
            client: moto.client(),
            moto,
            name: unique_name(prefix),
        })
    }

    /// [`Store::start`], the secret holding "old-secret" as the record of
    /// Mailtrap token 1.
    async fn holding_old_secret(prefix: &str) -> Option<Store> {
        let started = Store::start(prefix)?;
        store(&started.moto.sink(&started.name), "old-secret", "1")
            .await
            .expect("seed");
        Some(started)
    }
}

/// Mints "CI deploy", of scope customers, expiring in 30 days, into
/// `sink`; gives the token and when it expires.
async fn mint_ci_deploy(
    life: &UnitLifecycle,
    sink: &SecretsManagerSink,
) -> (TokenRef, DateTime<Utc>) {
    let expires = Utc::now() + chrono::Duration::days(30);
    let request = CreateApiToken::new("CI deploy", [Scope::Customers], expires);
    let token = life
        .mint_into(&request, sink)
        .await
        .expect("mint into the store");
    (token, expires)
}

/// A sink on `name` that has read the secret's current version, as a
/// store does first.
async fn checked(moto: &Moto, name: &str) -> SecretsManagerSink {
    let sink = moto.sink(name);
    sink.check().await.expect("read the current version");
    sink
}

#[tokio::test]
async fn create_into_the_store_writes_the_record_as_current() {
    let Some(Store { moto, client, name }) = Store::start("ci/unit") else {
        return;
    };
    let (fake, life) = unit().await;
    let sink = checked(&moto, &name).await;
    let (token, expires) = mint_ci_deploy(&life, &sink).await;

    let versions = versions(&client, &name).await;
    assert_eq!(versions.len(), 1, "{versions:?}");
    assert_eq!(versions[0].1, vec![AWSCURRENT.to_owned()]);
    let record = current(&client, &name).await;
    assert_eq!(record.service, Service::Unit);
    assert_eq!(record.token_id, token.id);
    assert_eq!(record.name.as_deref(), Some("CI deploy"));
    assert_eq!(
        record.expires_at.map(|t| t.timestamp()),
        Some(expires.timestamp())
    );
    assert_eq!(record.version_id(), versions[0].0);
    let held = fake
        .tokens()
        .into_iter()
        .find(|t| t.id.as_str() == token.id)
        .expect("minted");
    assert_eq!(record.token.expose_secret(), held.secret.expose_secret());
    assert!(unit_accepts(&life, record.token.expose_secret()).await);
    // The sink reads back what it holds.
    let back = sink.current().await.expect("current").expect("a secret");
    assert_eq!(back.expose_secret(), held.secret.expose_secret());
}

#[tokio::test]
async fn each_store_moves_current_and_keeps_the_one_before_as_previous() {
    let Some(Store { moto, client, name }) = Store::start("ci/seq") else {
        return;
    };
    let sink = moto.sink(&name);
    store(&sink, "first-secret", "1").await.expect("first");
    let v1 = version_with(&client, &name, AWSCURRENT)
        .await
        .expect("current");
    store(&sink, "second-secret", "2").await.expect("second");
    let v2 = version_with(&client, &name, AWSCURRENT)
        .await
        .expect("current");
    assert_ne!(v1, v2);
    assert_eq!(version_with(&client, &name, AWSPREVIOUS).await, Some(v1));
    assert_eq!(
        version_with(&client, &name, AWSPENDING).await,
        None,
        "pending label cleared"
    );
    assert_eq!(current(&client, &name).await.token_id, "2");
    assert_eq!(record(&client, &name, AWSPREVIOUS).await.token_id, "1");

    // A retried store of the same token writes no new version.
    store(&sink, "second-secret", "2").await.expect("retry");
    let again = SecretsManagerSink::with_client(client.clone(), &name).expect("sink");
    store(&again, "second-secret", "2").await.expect("retry");
    assert_eq!(versions(&client, &name).await.len(), 2);
    assert_eq!(version_with(&client, &name, AWSCURRENT).await, Some(v2));
}

#[tokio::test]
async fn a_store_that_lost_the_compare_and_set_is_superseded() {
    let Some(Store { moto, client, name }) = Store::holding_old_secret("ci/cas").await else {
        return;
    };

    let slow = checked(&moto, &name).await;
    let fast = checked(&moto, &name).await;
    store(&fast, "fast-secret", "2").await.expect("winner");
    let winner = version_with(&client, &name, AWSCURRENT).await;

    let err = store(&slow, "slow-secret", "3")
        .await
        .expect_err("the loser is refused");
    assert!(err.is_superseded(), "{err}");
    assert_eq!(err.holder(), Some("2"));
    let text = format!("{err} {err:?}");
    assert!(
        !text.contains("slow-secret") && !text.contains("fast-secret"),
        "{text}"
    );
    // Nothing moved back; the loser's version carries no label.
    assert_eq!(version_with(&client, &name, AWSCURRENT).await, winner);
    assert_eq!(version_with(&client, &name, AWSPENDING).await, None);
    assert_eq!(
        current(&client, &name).await.token.expose_secret(),
        "fast-secret"
    );
}

#[tokio::test]
async fn two_creators_of_a_missing_secret_leave_one_current() {
    let Some(Store { moto, client, name }) = Store::start("ci/new") else {
        return;
    };
    let a = checked(&moto, &name).await;
    let b = checked(&moto, &name).await;
    store(&a, "a-secret", "1").await.expect("first creator");
    let err = store(&b, "b-secret", "2").await.expect_err("second");
    assert!(err.is_superseded(), "{err}");
    assert_eq!(err.holder(), Some("1"));
    assert_eq!(current(&client, &name).await.token_id, "1");
}

#[tokio::test]
async fn store_errors_name_the_secret_and_the_request_id_never_the_secret() {
    let Some(Store { moto, client, name }) = Store::holding_old_secret("ci/deleted").await else {
        return;
    };
    client
        .delete_secret()
        .secret_id(&name)
        .send()
        .await
        .expect("schedule deletion");
    let sink = moto.sink(&name);
    let err = sink
        .current()
        .await
        .expect_err("a secret marked for deletion cannot be read");
    let text = format!("{err} {err:?}");
    assert!(matches!(err, SinkError::Other { .. }), "{text}");
    assert!(text.contains(&name), "{text}");
    assert!(text.contains("request id"), "{text}");
    assert!(!text.contains("no request id"), "{text}");
    assert!(text.contains("InvalidRequestException"), "{text}");
    assert!(!text.contains("old-secret"), "{text}");

    // A missing secret named by ARN is not created under that name.
    let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:ci/absent-AbCdEf";
    let err = store(&moto.sink(arn), "new-s3cr3t", "2")
        .await
        .expect_err("an ARN of no secret");
    assert!(err.to_string().contains("give its name instead"), "{err}");
    assert!(
        versions_of_all(&client)
            .await
            .iter()
            .all(|n| !n.starts_with("arn:"))
    );

    // No server: a network error, naming the secret.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let config = moto
        .client()
        .config()
        .to_builder()
        .endpoint_url(format!("http://127.0.0.1:{closed}"))
        .build();
    let offline =
        SecretsManagerSink::with_client(aws_sdk_secretsmanager::Client::from_conf(config), &name)
            .expect("sink");
    let err = store(&offline, "new-s3cr3t", "2")
        .await
        .expect_err("nothing listens");
    let text = format!("{err} {err:?}");
    assert!(text.contains(&name) && text.contains("network"), "{text}");
    assert!(!text.contains("new-s3cr3t"), "{text}");
}

#[tokio::test]
async fn unit_rotation_from_the_record_leaves_new_current_old_previous_and_old_revoked() {
    let Some(Store { moto, client, name }) = Store::start("ci/unit-rot") else {
        return;
    };
    let (fake, life) = unit().await;
    let (first, expires) = mint_ci_deploy(&life, &moto.sink(&name)).await;
    let old_secret = current(&client, &name).await.token;

    let store = moto.sink(&name);
    let plan = UnitPlan::new([Scope::Customers, Scope::Accounts], expires)
        .source_ips(["10.0.0.0/8".parse().expect("cidr")])
        .resources([api_tokens::unit::ResourceRestriction::accounts([10005_u64])]);
    let rotation = life.rotate_from(&store, &plan).await.expect("rotate");
    assert_eq!(rotation.old.id, first.id);

    let now = current(&client, &name).await;
    assert_eq!(now.token_id, rotation.new.id);
    assert_eq!(record(&client, &name, AWSPREVIOUS).await.token_id, first.id);
    assert!(
        unit_accepts(&life, now.token.expose_secret()).await,
        "the new secret works"
    );
    assert!(
        !unit_accepts(&life, old_secret.expose_secret()).await,
        "the old token is revoked"
    );
    assert_eq!(fake.tokens().len(), 1, "no orphan");
    // What the rotation function needs to mint again.
    assert_eq!(
        now.attributes["user_id"],
        serde_json::json!(fake.user_id().to_string())
    );
    assert_eq!(now.attributes["scopes"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        now.attributes["source_ips"],
        serde_json::json!(["10.0.0.0/8"])
    );
    assert!(
        now.attributes["lifetime_secs"]
            .as_i64()
            .is_some_and(|s| s > 29 * 86_400)
    );
    // The restriction too: the next rotation keeps it.
    assert_eq!(
        now.attributes["resources"],
        serde_json::json!([{ "type": "account", "ids": ["10005"] }])
    );
}

#[tokio::test]
async fn mailtrap_rotation_from_the_record_resets_and_stores() {
    let Some(moto) = Moto::start() else { return };
    let client = moto.client();
    let (fake, life) = mailtrap().await;
    let old = fake.insert_token(MailtrapTokenSeed::new("CI deploy"));
    let meta = ci_deploy(Service::Mailtrap, old.id);
    let name = moto.seed("ci/mt-rot", &old.secret, &meta).await;

    let store = moto.sink(&name);
    let rotation = life
        .rotate_from(
            &store,
            &MailtrapPlan::new().expires(Expiry::Never).delete_old(),
        )
        .await
        .expect("rotate");
    assert_eq!(rotation.old.id, old.id.to_string());
    let now = current(&client, &name).await;
    assert_eq!(now.token_id, rotation.new.id);
    assert_eq!(
        record(&client, &name, AWSPREVIOUS).await.token_id,
        old.id.to_string()
    );
    assert!(mailtrap_accepts(&life, now.token.expose_secret()).await);
    assert!(
        !mailtrap_accepts(&life, old.secret.expose_secret()).await,
        "the old token is deleted"
    );
    assert_eq!(fake.tokens().len(), 1, "no orphan");
}

#[tokio::test]
async fn a_store_that_holds_nothing_or_another_service_is_refused_before_any_mint() {
    let Some(moto) = Moto::start() else { return };
    let (fake, life) = unit().await;
    let name = unique_name("ci/none");
    let plan = UnitPlan::new([Scope::Customers], Utc::now() + chrono::Duration::days(30));
    let err = life
        .rotate_from(&moto.sink(&name), &plan)
        .await
        .expect_err("empty store");
    assert!(
        err.to_string().contains("holds no current token record"),
        "{err}"
    );
    store(&moto.sink(&name), "mt-secret", "5")
        .await
        .expect("seed");
    let err = life
        .rotate_from(&moto.sink(&name), &plan)
        .await
        .expect_err("a Mailtrap record");
    assert!(err.to_string().contains("not a Unit one"), "{err}");
    assert!(fake.tokens().is_empty());
}

#[tokio::test]
async fn three_rotations_at_once_through_one_store_leave_one_winner() {
    let Some(moto) = Moto::start() else { return };
    let client = moto.client();
    let (fake, life) = unit().await;
    let expires = Utc::now() + chrono::Duration::days(30);
    let seed = fake.insert_token(
        UnitTokenSeed::new("CI deploy")
            .scope(Scope::Customers)
            .expiration(expires),
    );
    let name = moto
        .seed("ci/race", &seed.secret, &ci_deploy(Service::Unit, &seed.id))
        .await;

    // Each racer reads the store before any of them stores.
    let stores: Vec<SecretsManagerSink> = (0..3).map(|_| moto.sink(&name)).collect();
    for s in &stores {
        s.check().await.expect("read");
    }
    let plan = UnitPlan::new([Scope::Customers], expires);
    let results = futures_join(&life, &stores, &plan).await;
    let won: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(won.len(), 1, "{results:?}");
    for lost in results.iter().filter_map(|r| r.as_ref().err()) {
        assert!(
            matches!(lost.cause(), RotateCause::Sink(e) if e.is_superseded())
                || lost.to_string().contains("superseded")
                || lost.to_string().contains("newer secret"),
            "{lost}"
        );
    }
    let now = current(&client, &name).await;
    assert_eq!(now.token_id, won[0].new.id);
    assert!(unit_accepts(&life, now.token.expose_secret()).await);
    let live: Vec<String> = fake.tokens().iter().map(|t| t.id.to_string()).collect();
    assert_eq!(
        live,
        vec![won[0].new.id.clone()],
        "one live token, no orphan"
    );
}

/// The names of every secret.
async fn versions_of_all(client: &Client) -> Vec<String> {
    let out = client.list_secrets().send().await.expect("ListSecrets");
    out.secret_list()
        .iter()
        .filter_map(|s| s.name().map(str::to_owned))
        .collect()
}

async fn futures_join(
    life: &UnitLifecycle,
    stores: &[SecretsManagerSink],
    plan: &UnitPlan,
) -> Vec<Result<api_tokens::lifecycle::Rotation, api_tokens::lifecycle::RotateError>> {
    let (a, b, c) = tokio::join!(
        life.rotate_from(&stores[0], plan),
        life.rotate_from(&stores[1], plan),
        life.rotate_from(&stores[2], plan),
    );
    vec![a, b, c]
}

/// A secret's name or ARN is checked as Secrets Manager accepts them,
/// before any request.
#[test]
fn names_and_arns_are_checked() {
    let refused = |id: &str| match SecretsManagerSink::new(id) {
        Err(SinkError::InvalidSpec { reason }) => reason,
        other => panic!("{id:?}: {other:?}"),
    };
    assert!(SecretsManagerSink::new("ci/unit-deploy_1+=.@-").is_ok());
    assert!(
        SecretsManagerSink::new("arn:aws:secretsmanager:eu-west-1:123456789012:secret:ci/x-AbCdEf")
            .is_ok()
    );
    assert!(refused("").contains("empty"));
    assert!(refused("a b").contains("a space"));
    assert!(refused("a#b").contains("`#`"));
    assert!(refused(&"a".repeat(513)).contains("512"));
    assert!(refused("arn:aws:s3:::bucket").contains("ARN"));
}
