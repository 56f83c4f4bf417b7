//! The command line with `--secret-to aws-sm:NAME`, against a local AWS
//! Secrets Manager (moto's server) and the services' fakes.

use crate::aws_support;
use crate::lifecycle_support::probes;

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use api_tokens::Service;
use api_tokens::lifecycle::sink::AWSPREVIOUS;
use api_tokens::testing::{Fault, MailtrapFake, MailtrapTokenSeed, UnitFake, UnitOp, placeholder};
use aws_support::{
    Moto, ci_deploy, current, customers_token, mailtrap_env, record, unique_name, unit_env,
};
use probes::hold_probes;
use secrecy::ExposeSecret;

const EXE: &str = env!("CARGO_BIN_EXE_api-tokens");
/// How long a probe made with a new secret waits in the racing test.
const PROBE_HELD: Duration = Duration::from_secs(1);

fn command(moto: &Moto, env: &[(&str, String)], args: &[&str]) -> Command {
    let mut cmd = Command::new(EXE);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in moto.env().iter().chain(env) {
        cmd.env(k, v);
    }
    cmd
}

struct Run {
    code: i32,
    out: String,
    err: String,
}

fn finish(output: Output) -> Run {
    Run {
        code: output.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&output.stdout).into_owned(),
        err: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

async fn run(moto: &Moto, env: &[(&str, String)], args: &[&str]) -> Run {
    let mut cmd = command(moto, env, args);
    tokio::task::spawn_blocking(move || finish(cmd.output().expect("run api-tokens")))
        .await
        .expect("join")
}

/// `ARGS --secret-to SPEC`.
fn secret_to<'a>(args: &[&'a str], spec: &'a str) -> Vec<&'a str> {
    let mut all = args.to_vec();
    all.extend(["--secret-to", spec]);
    all
}

/// `unit VERB [--description DESCRIPTION] --scope customers --expires-in
/// LIFETIME --secret-to SPEC`.
fn unit_args<'a>(
    verb: &'a str,
    description: Option<&'a str>,
    lifetime: &'a str,
    spec: &'a str,
) -> Vec<&'a str> {
    let mut args = vec!["unit", verb];
    if let Some(description) = description {
        args.extend(["--description", description]);
    }
    args.extend(["--scope", "customers", "--expires-in", lifetime]);
    secret_to(&args, spec)
}

#[track_caller]
fn no_secret(run: &Run, secrets: &[&str]) {
    for s in secrets {
        assert!(
            !run.out.contains(s) && !run.err.contains(s),
            "a secret printed:\n{}\n{}",
            run.out,
            run.err
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unit_create_into_aws_sm_then_rotate_without_an_id() {
    let Some(moto) = Moto::start() else { return };
    let client = moto.client();
    let fake = UnitFake::start().await;
    let name = unique_name("cli/unit");
    let spec = format!("aws-sm:{name}");
    let env = unit_env(&fake);
    let created = run(
        &moto,
        &env,
        &unit_args("create", Some("CI deploy"), "30d", &spec),
    )
    .await;
    assert_eq!(created.code, 0, "{}\n{}", created.out, created.err);
    let first = current(&client, &name).await;
    assert_eq!(first.service, Service::Unit);
    assert_eq!(first.name.as_deref(), Some("CI deploy"));
    let minted = fake.tokens();
    assert_eq!(minted.len(), 1);
    assert_eq!(first.token_id, minted[0].id.to_string());
    assert_eq!(
        first.token.expose_secret(),
        minted[0].secret.expose_secret()
    );
    no_secret(&created, &[first.token.expose_secret()]);

    let rotated = run(&moto, &env, &unit_args("rotate", None, "30d", &spec)).await;
    assert_eq!(rotated.code, 0, "{}\n{}", rotated.out, rotated.err);
    let now = current(&client, &name).await;
    assert_ne!(now.token_id, first.token_id);
    assert_eq!(
        record(&client, &name, AWSPREVIOUS).await.token_id,
        first.token_id
    );
    let live = fake.tokens();
    assert_eq!(live.len(), 1, "the old token revoked, no orphan");
    assert_eq!(live[0].id.to_string(), now.token_id);
    assert_eq!(now.attributes["scopes"], serde_json::json!(["customers"]));
    no_secret(
        &rotated,
        &[first.token.expose_secret(), now.token.expose_secret()],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mailtrap_rotate_from_the_store_and_an_id_that_disagrees() {
    let Some(moto) = Moto::start() else { return };
    let client = moto.client();
    let fake = MailtrapFake::start().await;
    let old = fake.insert_token(MailtrapTokenSeed::new("CI deploy"));
    let other = fake.insert_token(MailtrapTokenSeed::new("Other"));
    let meta = ci_deploy(Service::Mailtrap, old.id);
    let name = moto.seed("cli/mailtrap", &old.secret, &meta).await;
    let spec = format!("aws-sm:{name}");
    let env = mailtrap_env(&fake);

    fake.clear_requests();
    let other_id = other.id.to_string();
    let args = secret_to(&["mailtrap", "rotate", &other_id], &spec);
    let refused = run(&moto, &env, &args).await;
    assert_eq!(refused.code, 2, "{}\n{}", refused.out, refused.err);
    assert!(refused.err.contains(&old.id.to_string()), "{}", refused.err);
    assert!(
        fake.requests().is_empty(),
        "a request was sent before the usage error"
    );

    // The same id as the record is fine.
    let old_id = old.id.to_string();
    let args = secret_to(&["mailtrap", "rotate", &old_id, "--delete-old"], &spec);
    let rotated = run(&moto, &env, &args).await;
    assert_eq!(rotated.code, 0, "{}\n{}", rotated.out, rotated.err);
    let now = current(&client, &name).await;
    assert_eq!(
        record(&client, &name, AWSPREVIOUS).await.token_id,
        old.id.to_string()
    );
    assert!(
        fake.tokens().iter().all(|t| t.id != old.id),
        "the old token deleted"
    );
    assert!(
        fake.tokens()
            .iter()
            .any(|t| t.id.to_string() == now.token_id)
    );
    no_secret(
        &rotated,
        &[old.secret.expose_secret(), now.token.expose_secret()],
    );

    // No id, and a sink that names no token: a usage error.
    let dir = tempfile::tempdir().expect("dir");
    let file = format!("file:{}", dir.path().join("t").display());
    let refused = run(&moto, &env, &secret_to(&["mailtrap", "rotate"], &file)).await;
    assert_eq!(refused.code, 2, "{}", refused.err);
    assert!(refused.err.contains("aws-sm:NAME"), "{}", refused.err);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_secret_name_is_a_usage_error() {
    let Some(moto) = Moto::start() else { return };
    let fake = UnitFake::start().await;
    let refused = run(
        &moto,
        &unit_env(&fake),
        &unit_args("create", Some("x"), "1d", "aws-sm:bad name"),
    )
    .await;
    assert_eq!(refused.code, 2, "{}", refused.err);
    assert!(refused.err.contains("a space"), "{}", refused.err);
    assert!(fake.tokens().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_rotations_at_once_through_one_store() {
    let Some(moto) = Moto::start() else { return };
    let client = moto.client();
    let fake = UnitFake::start().await;
    // Every probe of a new secret is held back, so that no run stores its
    // secret before the others have read the record and minted: without
    // it, a run that starts late on a loaded machine reads the winner's
    // record and rightly rotates the new token, a second success.
    fake.inject(UnitOp::List, hold_probes(fake.token(), PROBE_HELD));
    let seed = fake.insert_token(customers_token());
    let meta = ci_deploy(Service::Unit, &seed.id);
    let name = moto.seed("cli/race", &seed.secret, &meta).await;
    let spec = format!("aws-sm:{name}");
    let env = unit_env(&fake);
    let children: Vec<_> = (0..3)
        .map(|_| {
            command(&moto, &env, &unit_args("rotate", None, "30d", &spec))
                .spawn()
                .expect("spawn")
        })
        .collect();
    let runs: Vec<Run> = tokio::task::spawn_blocking(move || {
        children
            .into_iter()
            .map(|c| finish(c.wait_with_output().expect("wait")))
            .collect()
    })
    .await
    .expect("join");
    let mut codes: Vec<i32> = runs.iter().map(|r| r.code).collect();
    codes.sort_unstable();
    let shown: Vec<_> = runs.iter().map(|r| (r.code, r.err.clone())).collect();
    assert_eq!(codes, vec![0, 5, 5], "{shown:?}");
    let now = current(&client, &name).await;
    let live: Vec<String> = fake.tokens().iter().map(|t| t.id.to_string()).collect();
    assert_eq!(live, vec![now.token_id.clone()], "one live new token");
    assert_ne!(now.token_id, seed.id.to_string());
}

/// A reset names its token `"<old name> <new id>"`; the record keeps the
/// label: after several rotations through the store, its `name` is still
/// the one created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mailtrap_rotations_through_the_store_keep_the_record_name() {
    let Some(moto) = Moto::start() else { return };
    let client = moto.client();
    let fake = MailtrapFake::start().await;
    let name = unique_name("cli/mt-name");
    let spec = format!("aws-sm:{name}");
    let env = mailtrap_env(&fake);
    let permission = format!("account:{}:viewer", fake.account_id());
    let args = [
        "mailtrap",
        "create",
        "--name",
        "CI deploy",
        "--permission",
        &permission,
    ];
    let created = run(&moto, &env, &secret_to(&args, &spec)).await;
    assert_eq!(created.code, 0, "{}\n{}", created.out, created.err);
    assert_eq!(
        current(&client, &name).await.name.as_deref(),
        Some("CI deploy")
    );
    let mut ids = vec![current(&client, &name).await.token_id];
    for _ in 0..3 {
        let rotated = run(&moto, &env, &secret_to(&["mailtrap", "rotate"], &spec)).await;
        assert_eq!(rotated.code, 0, "{}\n{}", rotated.out, rotated.err);
        let now = current(&client, &name).await;
        assert!(!ids.contains(&now.token_id), "not rotated: {}", rotated.out);
        assert_eq!(now.name.as_deref(), Some("CI deploy"), "{}", rotated.out);
        ids.push(now.token_id);
    }
}

/// `unit rotate ID --scope customers --expires-in 30d --secret-to SPEC`.
fn rotate_id<'a>(id: &'a str, spec: &'a str) -> Vec<&'a str> {
    let mut args = vec!["unit", "rotate", id];
    args.extend(unit_args("rotate", None, "30d", spec).into_iter().skip(2));
    args
}

/// Rotations named by their id through a store: a run whose token another
/// run replaced meanwhile yields (exit 5), not a usage error; run again
/// once that run is done, it converges on the successor without minting
/// (exit 0), naming the retired token by its id alone; an id the store
/// never held is a usage error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_by_id_whose_token_was_replaced_meanwhile_yields_then_converges() {
    let Some(moto) = Moto::start() else { return };
    let client = moto.client();
    let fake = UnitFake::start().await;
    let name = unique_name("cli/by-id");
    let spec = format!("aws-sm:{name}");
    let env = unit_env(&fake);
    let created = run(
        &moto,
        &env,
        &unit_args("create", Some("CI deploy"), "30d", &spec),
    )
    .await;
    assert_eq!(created.code, 0, "{}", created.err);
    let first = current(&client, &name).await.token_id;

    // Run A has stored its token and confirms its decision (its fourth
    // list, held back), the old token still live, while run B, given the
    // same id, runs from start to end. (A lists for the old token's source
    // addresses, at step 0 and to decide, before it stores.) B's lists are
    // not held: it must meet A in flight, not A's finished rotation, which
    // it would report done (exit 0).
    let admin = placeholder(fake.token());
    fake.inject(
        UnitOp::List,
        Fault::delay(Duration::from_secs(6))
            .after(3)
            .times(1)
            .when(move |r| r.headers.values().any(|v| v.contains(&admin))),
    );
    let a = command(&moto, &env, &rotate_id(&first, &spec))
        .spawn()
        .expect("spawn");
    let started = std::time::Instant::now();
    while current(&client, &name).await.token_id == first {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "A never stored"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let b = run(&moto, &env, &rotate_id(&first, &spec)).await;
    let a = tokio::task::spawn_blocking(move || finish(a.wait_with_output().expect("wait")))
        .await
        .expect("join");
    fake.clear_faults();
    assert_eq!(a.code, 0, "{}\n{}", a.out, a.err);
    assert_eq!(b.code, 5, "{}\n{}", b.out, b.err);
    let now = current(&client, &name).await;
    let live: Vec<String> = fake.tokens().iter().map(|t| t.id.to_string()).collect();
    assert_eq!(live, vec![now.token_id.clone()], "one live token, A's");

    // Run again once A is done: converges on A's token, mints nothing.
    let again = run(&moto, &env, &rotate_id(&first, &spec)).await;
    assert_eq!(again.code, 0, "{}\n{}", again.out, again.err);
    assert!(!again.out.contains("\"\""), "an empty name: {}", again.out);
    assert!(again.out.contains(&now.token_id), "{}", again.out);
    assert_eq!(current(&client, &name).await.token_id, now.token_id);
    let live: Vec<String> = fake.tokens().iter().map(|t| t.id.to_string()).collect();
    assert_eq!(live, vec![now.token_id.clone()], "nothing minted");

    // An id the store never held.
    fake.clear_requests();
    let refused = run(&moto, &env, &rotate_id("999", &spec)).await;
    assert_eq!(refused.code, 2, "{}", refused.err);
    assert!(
        fake.requests().is_empty(),
        "a request before the usage error"
    );
}

/// What `--secret-to aws-sm:` cannot take is refused before any request to
/// the service (exit 2): an ARN of a secret that does not exist. A store
/// that holds a malformed record, whatever is wrong with it, fails the
/// same way (exit 1, "reading the secret"), with or without an id, and
/// nothing is sent to the service.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_arn_and_malformed_records_are_refused_before_any_request() {
    let Some(moto) = Moto::start() else { return };
    let client = moto.client();
    let fake = UnitFake::start().await;
    let env = unit_env(&fake);
    let arn = "aws-sm:arn:aws:secretsmanager:us-east-1:123456789012:secret:ci/none-AbCdEf";
    let refused = run(&moto, &env, &unit_args("create", Some("x"), "1d", arn)).await;
    assert_eq!(refused.code, 2, "{}", refused.err);
    assert!(refused.err.contains("does not exist"), "{}", refused.err);
    assert!(fake.requests().is_empty(), "a request was sent");
    assert!(fake.tokens().is_empty(), "a token was minted");

    let malformed: [(&str, Option<&str>); 6] = [
        ("not JSON", Some("not a record")),
        (
            "no token_id",
            Some(r#"{"token":"x","service":"unit","name":null,"expires_at":null}"#),
        ),
        (
            "unknown service",
            Some(r#"{"token":"x","service":"s3","token_id":"1","name":null,"expires_at":null}"#),
        ),
        (
            "token_id of the wrong type",
            Some(r#"{"token":"x","service":"unit","token_id":1,"name":null,"expires_at":null}"#),
        ),
        (
            "token_id that is no Unit id",
            Some(
                r#"{"token":"x","service":"unit","token_id":"a b","name":null,"expires_at":null}"#,
            ),
        ),
        ("binary", None),
    ];
    for (what, text) in malformed {
        let name = unique_name("cli/malformed");
        let create = client.create_secret().name(&name);
        let create = match text {
            Some(text) => create.secret_string(text),
            None => create.secret_binary(aws_sdk_secretsmanager::primitives::Blob::new(
                b"\x00\x01binary".to_vec(),
            )),
        };
        create.send().await.expect("CreateSecret");
        let spec = format!("aws-sm:{name}");
        for args in [
            unit_args("rotate", None, "30d", &spec),
            rotate_id("1", &spec),
        ] {
            let failed = run(&moto, &env, &args).await;
            assert_eq!(failed.code, 1, "{what}: {}", failed.err);
            assert!(
                failed.err.contains("reading the secret"),
                "{what}: {}",
                failed.err
            );
            assert!(
                !failed.err.contains("step 0") && !failed.err.contains("could not be stored"),
                "{what}: {}",
                failed.err
            );
        }
    }
    assert!(fake.requests().is_empty(), "a request was sent");
}

/// A Secrets Manager that does not answer cannot be read: exit 1,
/// "reading the secret", as for Vault and for a rotation from the store;
/// nothing is minted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_does_not_answer_is_exit_1_before_the_mint() {
    let Some(moto) = Moto::start() else { return };
    let fake = UnitFake::start().await;
    let mut env = unit_env(&fake);
    env.push(("AWS_ENDPOINT_URL", "http://127.0.0.1:1".to_owned()));
    env.push(("AWS_MAX_ATTEMPTS", "1".to_owned()));
    let run = run(
        &moto,
        &env,
        &unit_args("create", Some("x"), "1d", "aws-sm:ci/down"),
    )
    .await;
    assert_eq!(run.code, 1, "{}", run.err);
    assert!(run.err.contains("reading the secret"), "{}", run.err);
    assert!(fake.tokens().is_empty(), "a token was minted");
}

/// A configuration that cannot send a request (no region, no credentials)
/// is a usage error before the mint (exit 2, saying which), as the SDK
/// reports both only as a request that could not be sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_region_or_no_credentials_is_a_usage_error_before_the_mint() {
    let fake = UnitFake::start().await;
    for (missing, env) in [
        (
            "region",
            vec![
                ("AWS_ACCESS_KEY_ID", "testing"),
                ("AWS_SECRET_ACCESS_KEY", "testing"),
            ],
        ),
        ("credentials", vec![("AWS_REGION", "us-east-1")]),
    ] {
        let mut cmd = Command::new(EXE);
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", std::env::temp_dir().join("no-aws-home"))
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .envs(unit_env(&fake))
            .envs(env)
            .args(unit_args(
                "create",
                Some("x"),
                "1d",
                "aws-sm:ci/unconfigured",
            ))
            .stdin(Stdio::null());
        let run = tokio::task::spawn_blocking(move || finish(cmd.output().expect("run")))
            .await
            .expect("join");
        assert_eq!(run.code, 2, "{missing}: {}", run.err);
        assert!(
            run.err.contains(&format!("no AWS {missing}")),
            "{}",
            run.err
        );
        assert!(fake.tokens().is_empty(), "a token was minted");
    }
}
