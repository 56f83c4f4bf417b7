//! The command line with `--secret-to aws-sm:NAME`, against a local AWS
//! Secrets Manager (moto's server) and the services' fakes.

mod aws_support;

use std::process::{Command, Output, Stdio};

use api_tokens::Service;
use api_tokens::lifecycle::sink::{AWSPREVIOUS, SecretMeta, SecretSink};
use api_tokens::testing::{MailtrapFake, MailtrapTokenSeed, UnitFake, UnitTokenSeed};
use api_tokens::unit::Scope;
use aws_support::{Moto, current, record, unique_name};
use chrono::Utc;
use secrecy::ExposeSecret;

const EXE: &str = env!("CARGO_BIN_EXE_api-tokens");

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

fn unit_env(fake: &UnitFake) -> Vec<(&'static str, String)> {
    vec![
        ("UNIT_API_TOKEN", fake.token().expose_secret().to_owned()),
        ("UNIT_API_URL", fake.uri()),
        ("UNIT_USER_ID", fake.user_id().to_string()),
    ]
}

fn mailtrap_env(fake: &MailtrapFake) -> Vec<(&'static str, String)> {
    vec![
        (
            "MAILTRAP_API_TOKEN",
            fake.token().expose_secret().to_owned(),
        ),
        ("MAILTRAP_API_URL", fake.uri()),
        ("MAILTRAP_ACCOUNT_ID", fake.account_id().to_string()),
    ]
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
        &[
            "unit",
            "create",
            "--description",
            "CI deploy",
            "--scope",
            "customers",
            "--expires-in",
            "30d",
            "--secret-to",
            &spec,
        ],
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

    let rotated = run(
        &moto,
        &env,
        &[
            "unit",
            "rotate",
            "--scope",
            "customers",
            "--expires-in",
            "30d",
            "--secret-to",
            &spec,
        ],
    )
    .await;
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
    let name = unique_name("cli/mailtrap");
    let meta = SecretMeta::new(Service::Mailtrap, old.id.to_string()).with_name("CI deploy");
    moto.sink(&name)
        .store(&old.secret, &meta)
        .await
        .expect("seed");
    let spec = format!("aws-sm:{name}");
    let env = mailtrap_env(&fake);

    fake.clear_requests();
    let refused = run(
        &moto,
        &env,
        &[
            "mailtrap",
            "rotate",
            &other.id.to_string(),
            "--secret-to",
            &spec,
        ],
    )
    .await;
    assert_eq!(refused.code, 2, "{}\n{}", refused.out, refused.err);
    assert!(refused.err.contains(&old.id.to_string()), "{}", refused.err);
    assert!(
        fake.requests().is_empty(),
        "a request was sent before the usage error"
    );

    // The same id as the record is fine.
    let rotated = run(
        &moto,
        &env,
        &[
            "mailtrap",
            "rotate",
            &old.id.to_string(),
            "--delete-old",
            "--secret-to",
            &spec,
        ],
    )
    .await;
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
    let refused = run(&moto, &env, &["mailtrap", "rotate", "--secret-to", &file]).await;
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
        &[
            "unit",
            "create",
            "--description",
            "x",
            "--scope",
            "customers",
            "--expires-in",
            "1d",
            "--secret-to",
            "aws-sm:bad name",
        ],
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
    let seed = fake.insert_token(
        UnitTokenSeed::new("CI deploy")
            .scope(Scope::Customers)
            .expiration(Utc::now() + chrono::Duration::days(30)),
    );
    let name = unique_name("cli/race");
    let meta = SecretMeta::new(Service::Unit, seed.id.to_string()).with_name("CI deploy");
    moto.sink(&name)
        .store(&seed.secret, &meta)
        .await
        .expect("seed");
    let spec = format!("aws-sm:{name}");
    let env = unit_env(&fake);
    let children: Vec<_> = (0..3)
        .map(|_| {
            command(
                &moto,
                &env,
                &[
                    "unit",
                    "rotate",
                    "--scope",
                    "customers",
                    "--expires-in",
                    "30d",
                    "--secret-to",
                    &spec,
                ],
            )
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
