//! The rotation function `api-tokens-aws-rotation`, run as AWS Lambda runs
//! it (the binary polling a Lambda Runtime API), against a local AWS
//! Secrets Manager (moto's server) and the services' fakes: the four steps
//! in order, each repeated; a crash between every two steps followed by a
//! restart from createSecret with the same token; two rotations racing.

use crate::aws_support;

use std::collections::BTreeSet;
use std::time::Duration;

use api_tokens::Service;
use api_tokens::lifecycle::sink::{AWSCURRENT, AWSPENDING, AWSPREVIOUS};
use api_tokens::testing::{
    Fault, MailtrapFake, MailtrapToken, MailtrapTokenSeed, UnitFake, UnitOp,
};
use api_tokens::unit::Scope;
use aws_sdk_secretsmanager::Client;
use aws_support::hold_moves::HoldMoves;
use aws_support::lambda::{Lambda, Outcome};
use aws_support::{
    Moto, ci_deploy, current, customers_token, mailtrap_env, record, version_with, versions,
};
use chrono::Utc;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

const EXE: &str = env!("CARGO_BIN_EXE_api-tokens-aws-rotation");
const STEPS: [&str; 4] = ["createSecret", "setSecret", "testSecret", "finishSecret"];

fn event(secret: &str, token: &str, step: &str) -> Value {
    json!({ "SecretId": secret, "ClientRequestToken": token, "Step": step })
}

fn request_token() -> String {
    let r = fastrand::u128(..);
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        (r >> 96) as u32,
        (r >> 80) as u16,
        (r >> 68) as u16 & 0xfff,
        (r >> 56) as u16 & 0xfff,
        r as u64 & 0xffff_ffff_ffff
    )
}

/// A Unit fake with one token, whose record the secret holds as current.
struct UnitWorld {
    moto: Moto,
    client: Client,
    fake: UnitFake,
    name: String,
    dir: tempfile::TempDir,
    /// Every secret the fake handed out, to look for in the function's log.
    secrets: Vec<String>,
}

impl UnitWorld {
    async fn start() -> Option<UnitWorld> {
        let moto = Moto::start()?;
        let client = moto.client();
        let fake = UnitFake::start().await;
        let old = fake.insert_token(customers_token());
        let meta = ci_deploy(Service::Unit, &old.id)
            .with_attribute("user_id", fake.user_id().to_string())
            .with_attribute("scopes", json!(["customers"]))
            .with_attribute("source_ips", json!([]))
            .with_attribute("lifetime_secs", 30 * 86_400);
        let name = moto.seed("rot/unit", &old.secret, &meta).await;
        let secrets = vec![old.secret.expose_secret().to_owned()];
        Some(UnitWorld {
            moto,
            client,
            fake,
            name,
            dir: tempfile::tempdir().expect("dir"),
            secrets,
        })
    }

    /// The version of the secret holding `label`, if any.
    async fn version(&self, label: &str) -> Option<String> {
        version_with(&self.client, &self.name, label).await
    }

    /// Invokes `steps` in order with the request token `token`, each
    /// answered without error.
    async fn steps(&self, f: &mut Lambda, token: &str, steps: &[&str]) {
        for step in steps {
            f.invoke(&event(&self.name, token, step)).await.ok();
        }
    }

    async fn lambda(&self) -> Lambda {
        self.lambda_at(&self.moto.url()).await
    }

    /// The function, reaching Secrets Manager at `endpoint`.
    async fn lambda_at(&self, endpoint: &str) -> Lambda {
        let mut env = self.moto.env();
        for (k, v) in &mut env {
            if *k == "AWS_ENDPOINT_URL" {
                *v = endpoint.to_owned();
            }
        }
        env.push((
            "UNIT_API_TOKEN",
            self.fake.token().expose_secret().to_owned(),
        ));
        env.push(("UNIT_API_URL", self.fake.uri()));
        Lambda::start(EXE, &env, self.dir.path()).await
    }

    /// The secret the store holds as current works, and it is the only
    /// live token: no orphan, the old one revoked.
    async fn check_converged(&mut self) -> String {
        let now = current(&self.client, &self.name).await;
        let live: Vec<String> = self
            .fake
            .tokens()
            .iter()
            .map(|t| t.id.to_string())
            .collect();
        assert_eq!(
            live,
            vec![now.token_id.clone()],
            "one live token, the current one"
        );
        let held = self.fake.tokens().remove(0);
        assert_eq!(held.secret.expose_secret(), now.token.expose_secret());
        assert_eq!(self.version(AWSPENDING).await, None);
        for t in self.fake.tokens() {
            self.secrets.push(t.secret.expose_secret().to_owned());
        }
        self.version(AWSCURRENT).await.expect("current")
    }

    fn check_no_secret_in(&self, log: &str) {
        for s in &self.secrets {
            assert!(
                !log.contains(s.as_str()),
                "a secret in the function's log:\n{log}"
            );
        }
        assert!(
            !log.contains(self.fake.token().expose_secret()),
            "the credential in the log"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_four_steps_in_order_each_repeated_rotate_the_unit_token() {
    let Some(mut w) = UnitWorld::start().await else {
        return;
    };
    let before = w.version(AWSCURRENT).await.expect("current");
    let old = current(&w.client, &w.name).await;
    let token = request_token();
    let mut f = w.lambda().await;

    for step in STEPS {
        let first = f.invoke(&event(&w.name, &token, step)).await.ok();
        let again = f.invoke(&event(&w.name, &token, step)).await.ok();
        assert_eq!(first["step"], step);
        assert_eq!(again["step"], step);
        match step {
            "createSecret" => {
                // Minted once: the old token and one new one.
                assert_eq!(w.fake.tokens().len(), 2);
                assert_eq!(w.version(AWSPENDING).await.as_deref(), Some(token.as_str()));
                assert_eq!(w.version(AWSCURRENT).await, Some(before.clone()));
                let pending = record(&w.client, &w.name, AWSPENDING).await;
                assert_eq!(pending.attributes["scopes"], json!(["customers"]));
                assert!(
                    again["done"]
                        .as_str()
                        .unwrap_or_default()
                        .contains("exists already"),
                    "{again}"
                );
            }
            "setSecret" => {
                assert!(
                    first["done"]
                        .as_str()
                        .unwrap_or_default()
                        .contains("nothing to do"),
                    "{first}"
                );
            }
            "testSecret" => {
                assert!(
                    first["done"]
                        .as_str()
                        .unwrap_or_default()
                        .contains("accepted"),
                    "{first}"
                );
            }
            _ => {}
        }
    }
    assert_eq!(w.version(AWSCURRENT).await.as_deref(), Some(token.as_str()));
    assert_eq!(w.version(AWSPREVIOUS).await, Some(before));
    assert_eq!(
        record(&w.client, &w.name, AWSPREVIOUS).await.token_id,
        old.token_id
    );
    w.check_converged().await;
    assert!(
        !w.fake
            .tokens()
            .iter()
            .any(|t| t.id.to_string() == old.token_id),
        "old revoked"
    );
    w.check_no_secret_in(&f.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_any_two_steps_then_a_restart_converges() {
    let Some(mut w) = UnitWorld::start().await else {
        return;
    };
    let mut was_current: Vec<String> = vec![w.version(AWSCURRENT).await.expect("current")];
    for crash_after in 1..STEPS.len() {
        let token = request_token();
        let mut f = w.lambda().await;
        w.steps(&mut f, &token, &STEPS[..crash_after]).await;
        let log = f.log();
        drop(f); // the crash
        w.check_no_secret_in(&log);

        let mut f = w.lambda().await;
        w.steps(&mut f, &token, &STEPS).await;
        let now = w.check_converged().await;
        assert_eq!(now, token, "the restarted rotation's version is current");
        assert!(
            !was_current.contains(&now),
            "AWSCURRENT moved back to {now}"
        );
        was_current.push(now);
        w.check_no_secret_in(&f.log());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_inside_create_secret_after_the_mint_leaves_no_orphan() {
    let Some(mut w) = UnitWorld::start().await else {
        return;
    };
    let before = w.version(AWSCURRENT).await.expect("current");
    let token = request_token();
    // The create acts at once but answers late: the function is stopped
    // after the token exists and before its record is put.
    w.fake
        .inject(UnitOp::Create, Fault::delay(Duration::from_secs(20)));
    let mut f = w.lambda().await;
    f.send(&event(&w.name, &token, "createSecret")).await;
    let started = std::time::Instant::now();
    while w.fake.tokens().len() < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the create never came"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(f);
    w.fake.clear_faults();
    assert_eq!(w.version(AWSPENDING).await, None, "nothing was put");

    let mut f = w.lambda().await;
    w.steps(&mut f, &token, &STEPS).await;
    let now = w.check_converged().await;
    assert_eq!(now, token);
    assert_eq!(w.version(AWSPREVIOUS).await, Some(before));
    let log = f.log();
    assert!(log.contains("interrupted createSecret"), "{log}");
    w.check_no_secret_in(&log);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_racing_rotations_leave_one_current_and_no_orphan() {
    let Some(mut w) = UnitWorld::start().await else {
        return;
    };
    let mut was_current: BTreeSet<String> = [w.version(AWSCURRENT).await.expect("current")].into();
    // The first rotation to finish wins; then the other finishes first.
    for a_finishes_first in [true, false] {
        let (a, b) = (request_token(), request_token());
        let mut fa = w.lambda().await;
        let mut fb = w.lambda().await;
        for step in &STEPS[..3] {
            fa.invoke(&event(&w.name, &a, step)).await.ok();
            fb.invoke(&event(&w.name, &b, step)).await.ok();
        }
        let (winner, loser) = if a_finishes_first { (&a, &b) } else { (&b, &a) };
        let (fw, fl) = if a_finishes_first {
            (&mut fa, &mut fb)
        } else {
            (&mut fb, &mut fa)
        };
        fw.invoke(&event(&w.name, winner, "finishSecret"))
            .await
            .ok();
        let (kind, message) = fl
            .invoke(&event(&w.name, loser, "finishSecret"))
            .await
            .failure();
        assert!(message.contains("superseded"), "{message}");
        assert_eq!(kind, "Superseded", "{message}");
        // Repeated, the loser stays superseded and changes nothing.
        let (kind, again) = fl
            .invoke(&event(&w.name, loser, "finishSecret"))
            .await
            .failure();
        assert!(again.contains("superseded"), "{again}");
        assert_eq!(kind, "Superseded", "{again}");

        let now = w.check_converged().await;
        assert_eq!(&now, winner);
        assert!(was_current.insert(now), "AWSCURRENT moved back");
        let (la, lb) = (fa.log(), fb.log());
        w.check_no_secret_in(&la);
        w.check_no_secret_in(&lb);
    }
    let all = versions(&w.client, &w.name).await;
    assert_eq!(
        all.iter()
            .filter(|(_, l)| l.iter().any(|l| l == AWSCURRENT))
            .count(),
        1
    );
}

/// A Mailtrap fake with one token, whose record a new secret holds as
/// current, and the rotation function on them, given `env` too.
struct MailtrapWorld {
    client: Client,
    fake: MailtrapFake,
    old: MailtrapToken,
    name: String,
    function: Lambda,
    _moto: Moto,
    _dir: tempfile::TempDir,
}

impl MailtrapWorld {
    async fn start(prefix: &str, env: &[(&'static str, String)]) -> Option<MailtrapWorld> {
        let moto = Moto::start()?;
        let fake = MailtrapFake::start().await;
        let old = fake.insert_token(MailtrapTokenSeed::new("CI deploy"));
        let meta = ci_deploy(Service::Mailtrap, old.id);
        let name = moto.seed(prefix, &old.secret, &meta).await;
        let dir = tempfile::tempdir().expect("dir");
        let mut all = moto.env();
        all.extend(mailtrap_env(&fake));
        all.extend_from_slice(env);
        let function = Lambda::start(EXE, &all, dir.path()).await;
        Some(MailtrapWorld {
            client: moto.client(),
            fake,
            old,
            name,
            function,
            _moto: moto,
            _dir: dir,
        })
    }

    /// Runs the four steps with one request token, each `times` times.
    async fn rotate(&mut self, times: usize) {
        let token = request_token();
        for step in STEPS {
            for _ in 0..times {
                let event = event(&self.name, &token, step);
                self.function.invoke(&event).await.ok();
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mailtrap_token_is_created_anew_and_the_old_one_deleted() {
    let Some(mut w) = MailtrapWorld::start("rot/mailtrap", &[]).await else {
        return;
    };
    w.rotate(2).await;
    let now = current(&w.client, &w.name).await;
    let live = w.fake.tokens();
    assert_eq!(live.len(), 1, "the old token deleted, no orphan");
    assert_eq!(live[0].id.to_string(), now.token_id);
    assert_eq!(live[0].secret.expose_secret(), now.token.expose_secret());
    assert_eq!(
        record(&w.client, &w.name, AWSPREVIOUS).await.token_id,
        w.old.id.to_string()
    );
    let log = w.function.log();
    assert!(
        !log.contains(w.old.secret.expose_secret()) && !log.contains(now.token.expose_secret()),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mailtrap_reset_leaves_the_old_token_to_its_grace_period() {
    let reset = [("MAILTRAP_ROTATION", "reset".to_owned())];
    let Some(mut w) = MailtrapWorld::start("rot/mailtrap-reset", &reset).await else {
        return;
    };
    w.rotate(1).await;
    let now = current(&w.client, &w.name).await;
    assert_ne!(now.token_id, w.old.id.to_string());
    let live = w.fake.tokens();
    assert_eq!(
        live.len(),
        2,
        "the old token works through its grace period"
    );
    let old_now = live.iter().find(|t| t.id == w.old.id).expect("old kept");
    assert!(
        old_now
            .expires_at
            .is_some_and(|at| at <= Utc::now() + chrono::Duration::hours(13))
    );
    assert!(live.iter().any(|t| t.id.to_string() == now.token_id));
    // Reset again and again: the record's name stays the label.
    assert_eq!(now.name.as_deref(), Some("CI deploy"));
    for _ in 0..2 {
        w.rotate(1).await;
        let next = current(&w.client, &w.name).await;
        assert_ne!(next.token_id, now.token_id);
        assert_eq!(next.name.as_deref(), Some("CI deploy"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_on_a_missing_version_or_without_credentials_fails_clearly() {
    let Some(w) = UnitWorld::start().await else {
        return;
    };
    let mut f = w.lambda().await;
    let (kind, message) = f
        .invoke(&event(&w.name, &request_token(), "finishSecret"))
        .await
        .failure();
    assert!(message.contains("run createSecret first"), "{message}");
    assert_eq!(kind, "MissingVersion", "{message}");
    let (kind, message) = f
        .invoke(&event(
            "rot/no-such-secret",
            &request_token(),
            "createSecret",
        ))
        .await
        .failure();
    assert!(
        message.contains("ResourceNotFoundException") && message.contains("request id"),
        "{message}"
    );
    assert_eq!(kind, "StoreError", "{message}");
    // No Unit credential configured.
    let mut bare = Lambda::start(EXE, &w.moto.env(), w.dir.path()).await;
    let (kind, message) = bare
        .invoke(&event(&w.name, &request_token(), "createSecret"))
        .await
        .failure();
    assert!(message.contains("UNIT_API_TOKEN"), "{message}");
    assert_eq!(kind, "ConfigurationError", "{message}");
    assert_eq!(w.fake.tokens().len(), 1, "nothing minted");
}

/// Runs the command line `api-tokens ARGS` with `env` added to a clean
/// environment; gives its exit code and standard error.
async fn command_line(env: Vec<(&'static str, String)>, args: &[&str]) -> (i32, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_api-tokens"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .args(args)
        .stdin(std::process::Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("run api-tokens"))
        .await
        .expect("join");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The README's flow: `unit create --secret-to aws-sm:NAME`, then the
/// function's first scheduled rotation (no `UNIT_USER_ID`: the record
/// names the user). The record holds all a rotation needs, and the token
/// minted has, on the service, the scopes, source addresses and lifetime
/// of the one created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_created_into_the_store_is_rotated_at_the_first_scheduled_run() {
    let Some(moto) = Moto::start() else { return };
    let client = moto.client();
    let fake = UnitFake::start().await;
    let name = aws_support::unique_name("rot/created");
    let spec = format!("aws-sm:{name}");
    let mut env = moto.env();
    env.extend(aws_support::unit_env(&fake));
    let (code, err) = command_line(
        env,
        &[
            "unit",
            "create",
            "--description",
            "CI deploy",
            "--scope",
            "customers,accounts",
            "--source-ip",
            "10.0.0.0/8,192.168.1.1",
            "--expires-in",
            "30d",
            "--secret-to",
            &spec,
        ],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let created = current(&client, &name).await;
    let first = fake.tokens().remove(0);
    assert_eq!(created.token_id, first.id.to_string());
    assert_eq!(created.name.as_deref(), Some("CI deploy"));
    for key in ["user_id", "scopes", "source_ips", "lifetime_secs"] {
        assert!(
            created.attributes.contains_key(key),
            "no {key}: {created:?}"
        );
    }

    let dir = tempfile::tempdir().expect("dir");
    let mut function_env = moto.env();
    function_env.push(("UNIT_API_TOKEN", fake.token().expose_secret().to_owned()));
    function_env.push(("UNIT_API_URL", fake.uri()));
    let mut f = Lambda::start(EXE, &function_env, dir.path()).await;
    let token = request_token();
    for step in STEPS {
        f.invoke(&event(&name, &token, step)).await.ok();
    }
    let now = current(&client, &name).await;
    assert_eq!(now.name.as_deref(), Some("CI deploy"));
    let live = fake.tokens();
    assert_eq!(live.len(), 1, "the created token revoked, no orphan");
    let new = &live[0];
    assert_eq!(new.id.to_string(), now.token_id);
    assert_ne!(new.id, first.id);
    // On the service: what the created token had.
    assert_eq!(new.scopes, first.scopes);
    assert_eq!(new.source_ips, first.source_ips);
    assert_eq!(new.source_ips.len(), 2);
    let lifetime = new.expiration - new.created_at;
    assert!(
        (lifetime - chrono::Duration::days(30)).num_seconds().abs() <= 60,
        "lifetime {lifetime}"
    );
}

/// Each failure reaches the runtime with an `errorType` that alarms can
/// filter on: a record that cannot be rotated is `InvalidRecord` whatever
/// is wrong with it (not JSON, binary, no `token_id`, unknown service, no
/// scopes, a scope Unit does not know, a blank `token`, a `token_id` that
/// is not one, no name to label the new token), a service's
/// refusal `ServiceError`, a pending secret that does not work
/// `TestFailed`; none mints a token that stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_failure_reaches_the_runtime_with_a_stable_error_type() {
    let Some(w) = UnitWorld::start().await else {
        return;
    };
    let mut f = w.lambda().await;
    let user = w.fake.user_id().to_string();
    let no_scopes = format!(
        r#"{{"token":"x","service":"unit","token_id":"1","name":"n","expires_at":null,"user_id":"{user}"}}"#
    );
    let unknown_scope = format!(
        r#"{{"token":"x","service":"unit","token_id":"1","name":"n","expires_at":null,"user_id":"{user}","scopes":["customerz"],"lifetime_secs":86400}}"#
    );
    let blank_token = format!(
        r#"{{"token":" ","service":"unit","token_id":"1","name":"n","expires_at":null,"user_id":"{user}","scopes":["customers"],"lifetime_secs":86400}}"#
    );
    let not_an_id = format!(
        r#"{{"token":"x","service":"unit","token_id":"abc","name":"n","expires_at":null,"user_id":"{user}","scopes":["customers"],"lifetime_secs":86400}}"#
    );
    let no_name = format!(
        r#"{{"token":"x","service":"unit","token_id":"1","name":null,"expires_at":null,"user_id":"{user}","scopes":["customers"],"lifetime_secs":86400}}"#
    );
    let malformed: [(&str, Option<&str>); 9] = [
        ("not JSON", Some("not a record")),
        (
            "no token_id",
            Some(r#"{"token":"x","service":"unit","name":null,"expires_at":null}"#),
        ),
        (
            "unknown service",
            Some(r#"{"token":"x","service":"s3","token_id":"1","name":null,"expires_at":null}"#),
        ),
        ("no scopes", Some(&no_scopes)),
        ("unknown scope", Some(&unknown_scope)),
        ("blank token", Some(&blank_token)),
        ("token_id not an id", Some(&not_an_id)),
        ("no name", Some(&no_name)),
        ("binary", None),
    ];
    for (what, text) in malformed {
        let name = aws_support::unique_name("rot/malformed");
        let create = w.client.create_secret().name(&name);
        let create = match text {
            Some(text) => create.secret_string(text),
            None => create.secret_binary(aws_sdk_secretsmanager::primitives::Blob::new(
                b"\x00\x01binary".to_vec(),
            )),
        };
        create.send().await.expect("CreateSecret");
        let (kind, message) = f
            .invoke(&event(&name, &request_token(), "createSecret"))
            .await
            .failure();
        assert_eq!(kind, "InvalidRecord", "{what}: {message}");
        match what {
            "unknown scope" => assert!(message.contains("`customerz`"), "{message}"),
            "blank token" => assert!(message.contains("`token`"), "{message}"),
            "token_id not an id" => assert!(message.contains("`abc`"), "{message}"),
            "no name" => assert!(message.contains("name"), "{message}"),
            _ => {}
        }
    }
    assert_eq!(w.fake.tokens().len(), 1, "nothing minted");

    // The service refuses the create.
    w.fake.inject(UnitOp::Create, Fault::status(403));
    let (kind, message) = f
        .invoke(&event(&w.name, &request_token(), "createSecret"))
        .await
        .failure();
    assert_eq!(kind, "ServiceError", "{message}");
    w.fake.clear_faults();
    assert_eq!(w.fake.tokens().len(), 1, "nothing minted");

    // The pending secret is refused.
    let token = request_token();
    f.invoke(&event(&w.name, &token, "createSecret")).await.ok();
    let pending = record(&w.client, &w.name, AWSPENDING).await;
    w.fake
        .inject(UnitOp::Any, Fault::status(401).when_token(&pending.token));
    let (kind, message) = f
        .invoke(&event(&w.name, &token, "testSecret"))
        .await
        .failure();
    assert_eq!(kind, "TestFailed", "{message}");
    w.check_no_secret_in(&f.log());
}

/// Two `finishSecret` at once, each having read the same current version
/// (their moves of `AWSCURRENT` held back until both came): Secrets
/// Manager refuses one compare-and-set; that run removes its own token,
/// takes `AWSPENDING` off its version and fails `Superseded`; the other
/// wins. The old token is revoked (gone from the service), the loser's
/// token too, and `AWSCURRENT` never moves back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_finish_secrets_at_once_one_move_is_refused_and_its_run_removes_its_token() {
    let Some(mut w) = UnitWorld::start().await else {
        return;
    };
    let proxy = HoldMoves::start(w.moto.url()).await;
    let base = w.version(AWSCURRENT).await.expect("current");
    let old = current(&w.client, &w.name).await.token_id;
    let (a, b) = (request_token(), request_token());
    let mut fa = w.lambda_at(&proxy.url()).await;
    let mut fb = w.lambda_at(&proxy.url()).await;
    for step in &STEPS[..3] {
        fa.invoke(&event(&w.name, &a, step)).await.ok();
        fb.invoke(&event(&w.name, &b, step)).await.ok();
    }
    let minted: BTreeSet<String> = w
        .fake
        .tokens()
        .iter()
        .map(|t| t.id.to_string())
        .filter(|id| *id != old)
        .collect();
    assert_eq!(minted.len(), 2, "each run minted one token");

    let finish_a = event(&w.name, &a, "finishSecret");
    let finish_b = event(&w.name, &b, "finishSecret");
    let (ra, rb) = tokio::join!(fa.invoke(&finish_a), fb.invoke(&finish_b));
    assert_eq!(proxy.pairs(), 1, "both runs tried to move AWSCURRENT");
    let (winner, loser) = match (ra, rb) {
        (Outcome::Response(_), Outcome::Error(e)) => (&a, e),
        (Outcome::Error(e), Outcome::Response(_)) => (&b, e),
        (ra, rb) => panic!("not exactly one winner: {ra:?} {rb:?}"),
    };
    assert_eq!(loser["errorType"], "Superseded", "{loser}");
    let message = loser["errorMessage"].as_str().unwrap_or_default();
    assert!(message.contains("was removed"), "{message}");

    let now = w.check_converged().await;
    assert_eq!(&now, winner);
    assert_eq!(w.version(AWSPREVIOUS).await, Some(base));
    let live: Vec<String> = w.fake.tokens().iter().map(|t| t.id.to_string()).collect();
    assert!(!live.contains(&old), "the old token revoked");
    assert_eq!(live.len(), 1, "the loser's token removed: {live:?}");
    assert!(minted.contains(&live[0]));
    w.check_no_secret_in(&fa.log());
    w.check_no_secret_in(&fb.log());
}

/// Secrets Manager starts a rotation by making an empty version labelled
/// `AWSPENDING` (its `ClientRequestToken`) before it calls `createSecret`:
/// the function fills that version, and the rotation completes. (The local
/// Secrets Manager's `RotateSecret` without a function makes that version
/// current at once, unlike AWS: its labels are then put back as AWS
/// leaves them, the empty version labelled `AWSPENDING` alone.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_started_by_secrets_manager_fills_its_empty_pending_version() {
    let Some(mut w) = UnitWorld::start().await else {
        return;
    };
    let base = w.version(AWSCURRENT).await.expect("current");
    let token = request_token();
    w.client
        .rotate_secret()
        .secret_id(&w.name)
        .client_request_token(&token)
        .send()
        .await
        .expect("RotateSecret");
    let relabel = |label: &'static str, from: Option<&str>, to: Option<&str>| {
        w.client
            .update_secret_version_stage()
            .secret_id(&w.name)
            .version_stage(label)
            .set_remove_from_version_id(from.map(str::to_owned))
            .set_move_to_version_id(to.map(str::to_owned))
            .send()
    };
    relabel(AWSCURRENT, Some(&token), Some(&base))
        .await
        .expect("AWSCURRENT back");
    relabel(AWSPREVIOUS, Some(&token), None)
        .await
        .expect("AWSPREVIOUS off");
    relabel(AWSPENDING, None, Some(&token))
        .await
        .expect("AWSPENDING on");
    let labels = versions(&w.client, &w.name).await;
    assert!(
        labels.contains(&(token.clone(), vec![AWSPENDING.to_owned()])),
        "{labels:?}"
    );
    let empty = w
        .client
        .get_secret_value()
        .secret_id(&w.name)
        .version_id(&token)
        .send()
        .await;
    assert!(empty.is_err(), "the pending version holds no value");
    assert_eq!(
        current(&w.client, &w.name).await.token_id,
        w.fake.tokens()[0].id.to_string()
    );
    assert_eq!(
        w.version(AWSPENDING).await.as_deref(),
        Some(token.as_str()),
        "Secrets Manager made the empty pending version"
    );
    let mut f = w.lambda().await;
    w.steps(&mut f, &token, &STEPS).await;
    let now = w.check_converged().await;
    assert_eq!(now, token);
    assert_eq!(w.version(AWSPREVIOUS).await, Some(base));
    let new = w.fake.tokens().remove(0);
    assert_eq!(new.scopes, vec![Scope::Customers]);
    assert!(new.source_ips.is_empty());
    w.check_no_secret_in(&f.log());
}

/// The Mailtrap token the function mints has, on the service, the old
/// one's permissions and the record's lifetime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mailtrap_token_minted_by_the_function_keeps_permissions_and_lifetime() {
    use api_tokens::mailtrap::{AccessLevel, ResourceType};

    let Some(moto) = Moto::start() else { return };
    let client = moto.client();
    let fake = MailtrapFake::start().await;
    let old = fake.insert_token(
        MailtrapTokenSeed::new("CI deploy")
            .permission(ResourceType::Project, 7, AccessLevel::Viewer)
            .permission(ResourceType::Sandbox, 3, AccessLevel::Admin)
            .expires_at(Utc::now() + chrono::Duration::days(10)),
    );
    let meta = ci_deploy(Service::Mailtrap, old.id).with_attribute("lifetime_secs", 30 * 86_400);
    let name = moto.seed("rot/mt-grant", &old.secret, &meta).await;
    let dir = tempfile::tempdir().expect("dir");
    let mut env = moto.env();
    env.extend(mailtrap_env(&fake));
    let mut f = Lambda::start(EXE, &env, dir.path()).await;
    let token = request_token();
    for step in STEPS {
        f.invoke(&event(&name, &token, step)).await.ok();
    }
    let now = current(&client, &name).await;
    let live = fake.tokens();
    assert_eq!(live.len(), 1, "the old token deleted");
    let new = &live[0];
    assert_eq!(new.id.to_string(), now.token_id);
    assert_eq!(new.permissions, old.permissions);
    assert_eq!(new.permissions.len(), 2);
    let expires = new.expires_at.expect("an expiry");
    let lifetime = expires - Utc::now();
    assert!(
        (lifetime - chrono::Duration::days(30)).num_seconds().abs() <= 120,
        "lifetime {lifetime}"
    );
    assert_eq!(now.name.as_deref(), Some("CI deploy"));
}

/// A Unit token restricted to some resources is minted again restricted
/// the same way (checked on the service), never unrestricted; a record
/// whose `resources` cannot be read is refused, nothing minted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_token_restricted_to_resources_stays_restricted() {
    use api_tokens::unit::ResourceRestriction;

    let Some(moto) = Moto::start() else { return };
    let client = moto.client();
    let fake = UnitFake::start().await;
    let old = fake.insert_token(customers_token());
    let base = ci_deploy(Service::Unit, &old.id)
        .with_attribute("user_id", fake.user_id().to_string())
        .with_attribute("scopes", json!(["customers"]))
        .with_attribute("lifetime_secs", 30 * 86_400);
    let restricted = base.clone().with_attribute(
        "resources",
        json!([{ "type": "account", "ids": ["10005", "10006"] }]),
    );
    let name = moto.seed("rot/resources", &old.secret, &restricted).await;
    let broken = moto
        .seed(
            "rot/resources-bad",
            &old.secret,
            &base.with_attribute("resources", json!([])),
        )
        .await;
    let dir = tempfile::tempdir().expect("dir");
    let mut env = moto.env();
    env.extend(aws_support::unit_env(&fake));
    let mut f = Lambda::start(EXE, &env, dir.path()).await;

    let (kind, message) = f
        .invoke(&event(&broken, &request_token(), "createSecret"))
        .await
        .failure();
    assert_eq!(kind, "InvalidRecord", "{message}");
    assert_eq!(fake.tokens().len(), 1, "nothing minted");

    let token = request_token();
    for step in STEPS {
        f.invoke(&event(&name, &token, step)).await.ok();
    }
    let now = current(&client, &name).await;
    let live = fake.tokens();
    assert_eq!(live.len(), 1, "the old token revoked");
    assert_eq!(live[0].id.to_string(), now.token_id);
    assert_eq!(
        live[0].resources,
        Some(vec![ResourceRestriction::accounts(["10005", "10006"])])
    );
    assert_eq!(
        now.attributes["resources"],
        restricted
            .attribute("resources")
            .cloned()
            .unwrap_or_default()
    );
}

/// Events read as Secrets Manager sends them (unknown fields ignored), and
/// each step is shown by its name; an unknown step is refused.
#[test]
fn events_read_as_secrets_manager_sends_them() {
    use api_tokens::aws::rotation_function::{RotationEvent, RotationStep};
    for (text, step) in [
        ("createSecret", RotationStep::CreateSecret),
        ("setSecret", RotationStep::SetSecret),
        ("testSecret", RotationStep::TestSecret),
        ("finishSecret", RotationStep::FinishSecret),
    ] {
        let json =
            format!(r#"{{"SecretId":"s","ClientRequestToken":"t","Step":"{text}","Extra":1}}"#);
        let event: RotationEvent = serde_json::from_str(&json).expect("an event");
        assert_eq!(event, RotationEvent::new("s", "t", step));
        assert_eq!(step.to_string(), text);
    }
    assert!(
        serde_json::from_str::<RotationEvent>(
            r#"{"SecretId":"s","ClientRequestToken":"t","Step":"other"}"#
        )
        .is_err()
    );
}

/// The environment of a function that reaches no Secrets Manager (its
/// endpoint a closed port, no instance metadata): what it does before any
/// request.
fn offline_env() -> Vec<(&'static str, String)> {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a port");
    vec![
        ("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{closed}")),
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ("AWS_REGION", aws_support::REGION.to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
    ]
}

/// A configuration the function cannot use (a variable that does not
/// parse, plain http to a host that is not loopback) does not end the
/// process before the runtime loop, where Lambda sees only
/// `Runtime.ExitError`: each invocation fails with `errorType`
/// `ConfigurationError`, naming the variable and the step, never the
/// credential.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configuration_that_cannot_be_used_fails_each_invocation_as_a_configuration_error() {
    const UNIT_TOKEN: &str = "v2.public.CONFIG-TEST-UNIT.sig";
    const MAILTRAP_TOKEN: &str = "CONFIGTESTMAILTRAPTOKEN0123456789";
    let unit = ("UNIT_API_TOKEN", UNIT_TOKEN);
    let mailtrap = ("MAILTRAP_API_TOKEN", MAILTRAP_TOKEN);
    let cases: [(&[(&str, &str)], &str); 5] = [
        (&[unit, ("UNIT_USER_ID", "two")], "UNIT_USER_ID"),
        (
            &[mailtrap, ("MAILTRAP_ACCOUNT_ID", "-3")],
            "MAILTRAP_ACCOUNT_ID",
        ),
        (&[("MAILTRAP_ROTATION", "sometimes")], "MAILTRAP_ROTATION"),
        (
            &[unit, ("UNIT_API_URL", "http://unit.example.com")],
            "UNIT_API_URL",
        ),
        (
            &[
                mailtrap,
                ("MAILTRAP_API_URL", "http://mailtrap.example.com"),
            ],
            "MAILTRAP_API_URL",
        ),
    ];
    let dir = tempfile::tempdir().expect("dir");
    for (vars, named) in cases {
        let mut env = offline_env();
        env.extend(vars.iter().map(|(k, v)| (*k, (*v).to_owned())));
        let mut f = Lambda::start(EXE, &env, dir.path()).await;
        // Every invocation, not only the first: the process stays.
        for _ in 0..2 {
            let (kind, message) = f
                .invoke(&event(
                    "rot/misconfigured",
                    &request_token(),
                    "createSecret",
                ))
                .await
                .failure();
            assert_eq!(kind, "ConfigurationError", "{named}: {message}");
            assert!(message.contains(named), "{named}: {message}");
            assert!(
                message.starts_with("createSecret of rot/misconfigured"),
                "{message}"
            );
            for secret in [UNIT_TOKEN, MAILTRAP_TOKEN] {
                assert!(!message.contains(secret), "{message}");
            }
        }
        let log = f.log();
        assert!(log.contains(named), "{named}: {log}");
        for secret in [UNIT_TOKEN, MAILTRAP_TOKEN] {
            assert!(!log.contains(secret), "{log}");
        }
    }
}

/// A credential read from Secrets Manager (`UNIT_API_TOKEN_SECRET_ARN`):
/// a record's `token` is used; a secret that cannot be read, or JSON that
/// is not a record (its token blank), fails each invocation as
/// `ConfigurationError` naming the variable, never sent as a token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_from_secrets_manager_is_read_or_fails_as_a_configuration_error() {
    use api_tokens::lifecycle::sink::{SecretMeta, SecretRecord};

    let Some(w) = UnitWorld::start().await else {
        return;
    };
    let credential = |token: &str| {
        let record = SecretRecord::new(
            &token.to_owned().into(),
            &SecretMeta::new(Service::Unit, "7").with_name("rotation function"),
        );
        record.to_json().expose_secret().to_owned()
    };
    let good = aws_support::unique_name("cred/good");
    w.client
        .create_secret()
        .name(&good)
        .secret_string(credential(w.fake.token().expose_secret()))
        .send()
        .await
        .expect("CreateSecret");
    let blank = aws_support::unique_name("cred/blank");
    w.client
        .create_secret()
        .name(&blank)
        .secret_string(credential("x").replace("\"token\":\"x\"", "\"token\":\"\""))
        .send()
        .await
        .expect("CreateSecret");
    for (arn, expected) in [
        ("cred/no-such-secret", "ResourceNotFoundException"),
        (blank.as_str(), "`token`"),
    ] {
        let mut env = w.moto.env();
        env.push(("UNIT_API_URL", w.fake.uri()));
        env.push(("UNIT_API_TOKEN_SECRET_ARN", arn.to_owned()));
        let mut f = Lambda::start(EXE, &env, w.dir.path()).await;
        for _ in 0..2 {
            let (kind, message) = f
                .invoke(&event(&w.name, &request_token(), "createSecret"))
                .await
                .failure();
            assert_eq!(kind, "ConfigurationError", "{arn}: {message}");
            assert!(
                message.contains("UNIT_API_TOKEN_SECRET_ARN") && message.contains(expected),
                "{arn}: {message}"
            );
        }
    }
    assert_eq!(w.fake.tokens().len(), 1, "nothing minted");

    let mut env = w.moto.env();
    env.push(("UNIT_API_URL", w.fake.uri()));
    env.push(("UNIT_API_TOKEN_SECRET_ARN", good));
    let mut f = Lambda::start(EXE, &env, w.dir.path()).await;
    f.invoke(&event(&w.name, &request_token(), "createSecret"))
        .await
        .ok();
    assert_eq!(
        w.fake.tokens().len(),
        2,
        "minted with the stored credential"
    );
    w.check_no_secret_in(&f.log());
}

/// An invocation whose event is not a Secrets Manager rotation event
/// fails with the stable `errorType` `InvalidEvent` (not the runtime's
/// `&lambda_runtime::deserializer::DeserializeError`), naming the field and
/// never quoting the event: nothing is read or changed, and the function
/// answers the next invocation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_that_is_not_a_rotation_event_fails_as_an_invalid_event() {
    let dir = tempfile::tempdir().expect("dir");
    let mut f = Lambda::start(EXE, &offline_env(), dir.path()).await;
    let token = request_token();
    let cases = [
        (json!({ "Records": [] }), "SecretId"),
        (json!("createSecret"), "rotation event"),
        (
            json!({ "SecretId": "rot/x", "ClientRequestToken": token, "Step": "rotateSecret-QUOTED" }),
            "Step",
        ),
        (
            json!({ "SecretId": "rot/x", "Step": "createSecret" }),
            "ClientRequestToken",
        ),
        (
            json!({ "SecretId": 7, "ClientRequestToken": token, "Step": "createSecret" }),
            "SecretId",
        ),
        // Well-formed JSON whose names Secrets Manager could not have sent:
        // refused before they reach a request or an error.
        (
            json!({ "SecretId": "rot/x\nQUOTED forged log line", "ClientRequestToken": token, "Step": "createSecret" }),
            "SecretId",
        ),
        (
            json!({ "SecretId": "rot/x", "ClientRequestToken": "QUOTED-short", "Step": "createSecret" }),
            "ClientRequestToken",
        ),
        (
            json!({ "SecretId": "rot/x", "ClientRequestToken": format!("{token}\u{1b}[2KQUOTED"), "Step": "testSecret" }),
            "ClientRequestToken",
        ),
    ];
    for (payload, named) in cases {
        let (kind, message) = f.invoke(&payload).await.failure();
        assert_eq!(kind, "InvalidEvent", "{payload}: {message}");
        assert!(message.contains(named), "{payload}: {message}");
        assert!(!message.contains("QUOTED"), "{payload}: {message}");
    }
    assert!(!f.log().contains("QUOTED"), "{}", f.log());
}

/// A pending version that does not say, as `createSecret` writes it, which
/// token it replaces and how to retire it (`replaces_token_id` missing, not
/// text, empty or not an id; `retire_old` not how a Unit token is retired;
/// `replaces_version` not a version id) is refused as `InvalidRecord`
/// before `AWSCURRENT` moves: never read as nothing to retire, which left
/// the old token live.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_version_that_does_not_say_what_it_retires_is_refused_before_the_move() {
    let Some(w) = UnitWorld::start().await else {
        return;
    };
    let base = w.version(AWSCURRENT).await.expect("current");
    let old = current(&w.client, &w.name).await.token_id;
    let mut f = w.lambda().await;
    let cases: [(&str, &str, Option<Value>); 7] = [
        ("no replaces_token_id", "replaces_token_id", None),
        ("a number", "replaces_token_id", Some(json!(1))),
        ("empty", "replaces_token_id", Some(json!(""))),
        ("not an id", "replaces_token_id", Some(json!("01"))),
        ("grace on Unit", "retire_old", Some(json!("grace"))),
        ("unknown retire", "retire_old", Some(json!("revokee"))),
        ("not a version", "replaces_version", Some(json!("v1"))),
    ];
    for (what, key, value) in cases {
        let new = w.fake.insert_token(customers_token());
        let mut pending = json!({
            "token": new.secret.expose_secret(),
            "service": "unit",
            "token_id": new.id.to_string(),
            "name": "CI deploy",
            "expires_at": null,
            "user_id": w.fake.user_id().to_string(),
            "scopes": ["customers"],
            "lifetime_secs": 86_400,
            "replaces_token_id": old,
            "replaces_version": base,
            "retire_old": "revoke",
        });
        match value {
            Some(v) => pending[key] = v,
            None => {
                pending.as_object_mut().expect("object").remove(key);
            }
        }
        let token = request_token();
        w.client
            .put_secret_value()
            .secret_id(&w.name)
            .client_request_token(&token)
            .secret_string(pending.to_string())
            .version_stages(AWSPENDING)
            .send()
            .await
            .expect("PutSecretValue");
        let (kind, message) = f
            .invoke(&event(&w.name, &token, "finishSecret"))
            .await
            .failure();
        assert_eq!(kind, "InvalidRecord", "{what}: {message}");
        assert!(message.contains(key), "{what}: {message}");
        assert_eq!(
            w.version(AWSCURRENT).await.as_deref(),
            Some(base.as_str()),
            "{what}: AWSCURRENT moved"
        );
        assert!(
            w.fake.tokens().iter().any(|t| t.id.to_string() == old),
            "{what}: the old token was retired"
        );
    }
}

/// A reset whose answer was lost fails the step, and the token the reset
/// made (whose secret nobody holds) is removed; the next `createSecret`
/// creates the new token, and the rotation leaves no token unheld.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_reset_answer_leaves_no_token_nobody_holds() {
    use api_tokens::testing::{Fault, MailtrapOp};
    let reset = [("MAILTRAP_ROTATION", "reset".to_owned())];
    let Some(mut w) = MailtrapWorld::start("rot/mailtrap-lost-reset", &reset).await else {
        return;
    };
    w.fake
        .inject(MailtrapOp::Reset, Fault::lose_answer().times(1));
    let token = request_token();
    let (kind, message) = w
        .function
        .invoke(&event(&w.name, &token, "createSecret"))
        .await
        .failure();
    assert_eq!(kind, "ServiceError", "{message}");
    assert!(
        message.contains("1 token(s) the reset made removed"),
        "{message}"
    );
    assert_eq!(w.fake.tokens().len(), 1, "only the old token");
    for step in STEPS {
        w.function.invoke(&event(&w.name, &token, step)).await.ok();
    }
    let now = current(&w.client, &w.name).await;
    assert_ne!(now.token_id, w.old.id.to_string(), "rotated");
    for t in w.fake.tokens() {
        assert!(
            t.id == w.old.id || t.id.to_string() == now.token_id,
            "token {} {:?} is live and nobody holds it",
            t.id,
            t.name
        );
    }
}

/// A Unit record naming a token Unit does not list (gone, or another
/// service's id) is `InvalidRecord`, with nothing minted, as a Mailtrap
/// record naming a gone token is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_record_naming_a_token_unit_does_not_list_is_invalid() {
    let Some(moto) = Moto::start() else { return };
    let fake = UnitFake::start().await;
    let old = fake.insert_token(customers_token());
    let meta = ci_deploy(Service::Unit, "12349")
        .with_attribute("user_id", fake.user_id().to_string())
        .with_attribute("scopes", json!(["customers"]))
        .with_attribute("source_ips", json!([]))
        .with_attribute("lifetime_secs", 30 * 86_400);
    let name = moto.seed("rot/unit-gone", &old.secret, &meta).await;
    let dir = tempfile::tempdir().expect("dir");
    let mut env = moto.env();
    env.extend(aws_support::unit_env(&fake));
    let mut f = Lambda::start(EXE, &env, dir.path()).await;
    let (kind, message) = f
        .invoke(&event(&name, &request_token(), "createSecret"))
        .await
        .failure();
    assert_eq!(kind, "InvalidRecord", "{message}");
    assert!(message.contains("12349"), "{message}");
    assert_eq!(fake.tokens().len(), 1, "nothing minted");
}
