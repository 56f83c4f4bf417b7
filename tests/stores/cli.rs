//! The command line with `--secret-to vault:MOUNT/PATH`, against a real
//! OpenBao dev server and the Unit fake: create, rotate with no id (the
//! record is the source of truth), three rotations at once, and a key with
//! `cas_required`.

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use api_tokens::testing::{UnitFake, UnitOp};
use reqwest::Method;
use secrecy::ExposeSecret;

use crate::lifecycle_support::probes::hold_probes;
use crate::openbao::{OpenBao, unique_path};

const EXE: &str = env!("CARGO_BIN_EXE_api-tokens");

fn command(bao: &OpenBao, fake: &UnitFake, args: &[&str]) -> Command {
    let mut cmd = Command::new(EXE);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("UNIT_API_TOKEN", fake.token().expose_secret())
        .env("UNIT_API_URL", fake.uri())
        .env("UNIT_USER_ID", fake.user_id().to_string())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in bao.env() {
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

async fn run(bao: &OpenBao, fake: &UnitFake, args: Vec<String>) -> Run {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut cmd = command(bao, fake, &args);
    tokio::task::spawn_blocking(move || finish(cmd.output().expect("run api-tokens")))
        .await
        .expect("join")
}

/// `unit VERB [--description D] --scope customers --expires-in 30d --secret-to vault:PATH`.
fn unit_args(verb: &str, description: Option<&str>, path: &str) -> Vec<String> {
    let mut args = vec!["unit".to_owned(), verb.to_owned()];
    if let Some(d) = description {
        args.extend(["--description".to_owned(), d.to_owned()]);
    }
    args.extend(["--scope", "customers", "--expires-in", "30d", "--secret-to"].map(str::to_owned));
    args.push(format!("vault:{path}"));
    args
}

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

/// Creates into `path`, rotates from it with no id, and checks versions,
/// tokens and output.
async fn create_then_rotate(bao: &OpenBao, path: &str) {
    let fake = UnitFake::start().await;
    let created = run(bao, &fake, unit_args("create", Some("CI deploy"), path)).await;
    assert_eq!(created.code, 0, "{}\n{}", created.out, created.err);
    let (v1, first) = bao
        .sink(path)
        .current_record()
        .await
        .unwrap()
        .expect("a record");
    assert_eq!(v1, 1);
    assert_eq!(first.name.as_deref(), Some("CI deploy"));
    let minted = fake.tokens();
    assert_eq!(minted.len(), 1);
    assert_eq!(first.token_id, minted[0].id.to_string());
    assert_eq!(
        first.token.expose_secret(),
        minted[0].secret.expose_secret()
    );
    no_secret(&created, &[first.token.expose_secret()]);

    let rotated = run(bao, &fake, unit_args("rotate", None, path)).await;
    assert_eq!(rotated.code, 0, "{}\n{}", rotated.out, rotated.err);
    let sink = bao.sink(path);
    let (v2, now) = sink.current_record().await.unwrap().expect("a record");
    assert_eq!(v2, 2);
    assert_ne!(now.token_id, first.token_id);
    let previous = sink.record_version(1).await.unwrap().expect("version 1");
    assert_eq!(previous.token_id, first.token_id);
    // The store's previous record, as every `RecordStore` gives it.
    let previous = api_tokens::lifecycle::sink::RecordStore::previous_record(&sink)
        .await
        .unwrap()
        .expect("a previous record");
    assert_eq!(previous.token_id, first.token_id);
    let live = fake.tokens();
    assert_eq!(live.len(), 1, "the old token revoked, no orphan");
    assert_eq!(live[0].id.to_string(), now.token_id);
    assert_eq!(live[0].secret.expose_secret(), now.token.expose_secret());
    no_secret(
        &rotated,
        &[first.token.expose_secret(), now.token.expose_secret()],
    );

    // The id the record replaced: the rotation run again converges on its
    // successor, as with `aws-sm:`, minting nothing.
    let mut args = unit_args("rotate", None, path);
    args.insert(2, first.token_id.clone());
    let again = run(bao, &fake, args).await;
    assert_eq!(again.code, 0, "{}\n{}", again.out, again.err);
    assert_eq!(fake.tokens().len(), 1);
    assert_eq!(fake.tokens()[0].id.to_string(), now.token_id);
    let (v, _) = sink.current_record().await.unwrap().expect("a record");
    assert_eq!(v, 2, "no new version");

    // An id that the record neither names nor replaced is refused before
    // any request.
    fake.clear_requests();
    let mut args = unit_args("rotate", None, path);
    args.insert(2, "999".to_owned());
    let refused = run(bao, &fake, args).await;
    assert_eq!(refused.code, 2, "{}\n{}", refused.out, refused.err);
    assert!(
        refused.err.contains("nor the one it replaced"),
        "{}",
        refused.err
    );
    assert!(fake.requests().is_empty());
    assert_eq!(fake.tokens().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unit_create_into_vault_then_rotate_without_an_id() {
    let Some(bao) = OpenBao::start() else { return };
    create_then_rotate(&bao, &unique_path("cli/unit")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_with_cas_required_works_unchanged() {
    let Some(bao) = OpenBao::start() else { return };
    let path = unique_path("cli/required");
    require_cas(&bao, &path).await;
    create_then_rotate(&bao, &path).await;
}

/// Sets `cas_required` on the key `path`.
async fn require_cas(bao: &OpenBao, path: &str) {
    let (status, _) = bao
        .api(
            Method::POST,
            &path.replacen("secret/", "secret/metadata/", 1),
            Some(serde_json::json!({"cas_required": true})),
        )
        .await;
    assert!(status < 300, "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_rotations_at_once_through_one_vault_secret() {
    let Some(bao) = OpenBao::start() else { return };
    three_rotations_at_once(&bao, &unique_path("cli/race")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_rotations_at_once_through_a_key_with_cas_required() {
    let Some(bao) = OpenBao::start() else { return };
    let path = unique_path("cli/race-required");
    require_cas(&bao, &path).await;
    three_rotations_at_once(&bao, &path).await;
}

/// Creates into `path`, then runs three rotations of it at once: exit
/// codes 0, 5, 5, one version written, one live token.
async fn three_rotations_at_once(bao: &OpenBao, path: &str) {
    let fake = UnitFake::start().await;
    let created = run(bao, &fake, unit_args("create", Some("CI deploy"), path)).await;
    assert_eq!(created.code, 0, "{}", created.err);
    let seed = fake.tokens()[0].id.to_string();
    // Every probe of a new secret is held back, so that all three runs read
    // the record and mint before any stores.
    fake.inject(
        UnitOp::List,
        hold_probes(fake.token(), Duration::from_secs(1)),
    );
    let args = unit_args("rotate", None, path);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let children: Vec<_> = (0..3)
        .map(|_| command(bao, &fake, &args).spawn().expect("spawn"))
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
    for run in runs.iter().filter(|r| r.code == 5) {
        assert!(run.err.contains("replaced it first"), "{}", run.err);
        assert!(!run.err.contains("\"\""), "no empty name: {}", run.err);
    }
    let (version, now) = bao
        .sink(path)
        .current_record()
        .await
        .unwrap()
        .expect("a record");
    assert_eq!(version, 2, "one version written by the three runs");
    let live: Vec<String> = fake.tokens().iter().map(|t| t.id.to_string()).collect();
    assert_eq!(live, vec![now.token_id.clone()], "one live new token");
    assert_ne!(now.token_id, seed);
}

/// With the feature `vault`, the command line names `vault:MOUNT/PATH`
/// where it names the stores: the help of `--secret-to`, and the usage
/// error of a rotation given neither an id nor a store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_names_vault_where_it_names_the_stores() {
    let fake = UnitFake::start().await;
    let help = Command::new(EXE)
        .args(["unit", "rotate", "--help"])
        .output()
        .expect("run api-tokens");
    let help = String::from_utf8_lossy(&help.stdout).into_owned();
    assert!(help.contains("vault:MOUNT/PATH"), "{help}");

    let mut cmd = Command::new(EXE);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("UNIT_API_TOKEN", fake.token().expose_secret())
        .env("UNIT_API_URL", fake.uri())
        .env("UNIT_USER_ID", fake.user_id().to_string())
        .args([
            "unit",
            "rotate",
            "--scope",
            "customers",
            "--expires-in",
            "30d",
            "--secret-to",
            "-",
        ])
        .stdin(Stdio::null());
    let refused = tokio::task::spawn_blocking(move || finish(cmd.output().expect("run")))
        .await
        .expect("join");
    assert_eq!(refused.code, 2, "{}", refused.err);
    assert!(refused.err.contains("vault:MOUNT/PATH"), "{}", refused.err);
    assert!(fake.requests().is_empty(), "refused before any request");
}

/// What `create --secret-to vault:…` does when the store cannot take the
/// secret: a KV v1 mount is a usage error (2), a store that cannot be read
/// (a record of someone else's at the path) is exit 1; nothing is minted.
#[tokio::test]
async fn a_store_that_cannot_take_the_secret_is_found_before_the_mint() {
    let Some(bao) = OpenBao::start() else {
        return;
    };
    let fake = UnitFake::start().await;
    bao.mount("kv1", "kv", Some("1")).await;
    let before = fake.tokens().len();

    let run1 = run(&bao, &fake, unit_args("create", Some("CI"), "kv1/ci/unit")).await;
    assert_eq!(run1.code, 2, "{}", run1.err);
    assert!(run1.err.contains("KV version"), "{}", run1.err);

    let path = unique_path("ci/foreign");
    let (status, _) = bao
        .api(
            Method::POST,
            &path.replacen("secret/", "secret/data/", 1),
            Some(serde_json::json!({"data": {"password": "hunter2-not-ours"}})),
        )
        .await;
    assert!(status < 300, "{status}");
    let run2 = run(&bao, &fake, unit_args("create", Some("CI"), &path)).await;
    assert_eq!(run2.code, 1, "{}", run2.err);
    assert!(
        run2.err.contains("reading the secret") && run2.err.contains("not a token record"),
        "{}",
        run2.err
    );
    assert!(!run2.err.contains("hunter2"), "{}", run2.err);

    // A server that does not answer: the store cannot be read (exit 1).
    let args = unit_args("create", Some("CI"), &unique_path("ci/down"));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut cmd = command(&bao, &fake, &args);
    cmd.env("VAULT_ADDR", "http://127.0.0.1:1");
    let run3 = tokio::task::spawn_blocking(move || finish(cmd.output().expect("run")))
        .await
        .expect("join");
    assert_eq!(run3.code, 1, "{}", run3.err);
    assert!(run3.err.contains("reading the secret"), "{}", run3.err);
    assert_eq!(fake.tokens().len(), before, "nothing minted");
}

/// `plan` of a tokens file checks a `vault:` sink as it checks a file: a
/// path no KV version 2 mount serves is the file's fault, refused (exit 2)
/// before any request to the service.
#[tokio::test]
async fn plan_refuses_a_vault_path_that_cannot_take_a_secret() {
    let Some(bao) = OpenBao::start() else {
        return;
    };
    let fake = UnitFake::start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tokens.toml");
    std::fs::write(
        &file,
        "[[unit]]\ndescription = \"ci-deploy\"\nscopes = [\"customers\"]\nlifetime = \"90d\"\n\
         secret_to = \"vault:nomount/ci/unit\"\n",
    )
    .unwrap();
    fake.clear_requests();
    let plan = run(
        &bao,
        &fake,
        vec![
            "plan".to_owned(),
            "-f".to_owned(),
            file.display().to_string(),
        ],
    )
    .await;
    assert_eq!(plan.code, 2, "{}", plan.err);
    assert!(
        plan.err.contains("tokens.toml:1") && plan.err.contains("no mount"),
        "{}",
        plan.err
    );
    assert!(fake.requests().is_empty(), "a request was sent");
}

/// A Unit token seeded in `fake` with a secret shaped as Unit documents
/// one: a payload naming its user and expiry, no scopes. Its id and
/// secret.
fn seed_without_scopes(fake: &UnitFake, name: &str) -> (String, String) {
    use api_tokens::chrono::{Duration as Days, SubsecRound, Utc};
    use base64::Engine as _;
    let at = (Utc::now() + Days::days(30 + fake.tokens().len() as i64)).trunc_subsecs(0);
    let payload = format!(
        r#"{{"role":"org","userId":"{}","exp":"{}"}}"#,
        fake.user_id(),
        at.to_rfc3339()
    );
    let secret = format!(
        "v2.public.{}.signature",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(payload)
    );
    let token = fake.insert_token(
        api_tokens::testing::UnitTokenSeed::new(name)
            .expiration(at)
            .secret(secret.clone().into()),
    );
    (token.id.as_str().to_owned(), secret)
}

/// Writes the record of Unit token `id` (secret `secret`, scopes
/// `scopes`) into the store at `path`, as `unit create` writes one.
async fn write_record(bao: &OpenBao, path: &str, id: &str, secret: &str, scopes: &[&str]) {
    use api_tokens::Service;
    use api_tokens::lifecycle::{SecretMeta, SecretSink};
    let meta = SecretMeta::new(Service::Unit, id)
        .with_name("CI deploy")
        .with_attribute("scopes", serde_json::json!(scopes));
    bao.sink(path)
        .store(&secret.to_owned().into(), &meta)
        .await
        .expect("record written");
}

/// `api-tokens leak ARGS` with `secret` on standard input.
async fn leak(bao: &OpenBao, fake: &UnitFake, args: &[&str], secret: &str) -> Run {
    use std::io::Write as _;
    let mut cmd = command(bao, fake, args);
    cmd.stdin(Stdio::piped());
    let secret = secret.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut child = cmd.spawn().expect("run api-tokens");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(secret.as_bytes())
            .expect("secret written");
        finish(child.wait_with_output().expect("wait"))
    })
    .await
    .expect("join")
}

/// The store whose record names the leaked token gives its replacement
/// the scopes the record keeps (Unit lists none, and Unit's documented
/// payload names none): `--replace` needs no `--scope`, and the new record
/// keeps them for the next rotation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leaked_unit_token_is_replaced_with_the_scopes_its_record_keeps() {
    let Some(bao) = OpenBao::start() else { return };
    let fake = UnitFake::start().await;
    let path = unique_path("leak");
    let (id, secret) = seed_without_scopes(&fake, "CI deploy");
    write_record(&bao, &path, &id, &secret, &["accounts", "customers"]).await;

    let sink = format!("vault:{path}");
    let run = leak(
        &bao,
        &fake,
        &[
            "--output",
            "json",
            "leak",
            "--replace",
            "--secret-to",
            &sink,
        ],
        &secret,
    )
    .await;
    assert_eq!(run.code, 0, "{}\n{}", run.out, run.err);
    no_secret(&run, &[&secret]);
    let live = fake.tokens();
    assert_eq!(live.len(), 1, "the leaked token revoked");
    assert_ne!(live[0].id.as_str(), id);
    assert_eq!(
        live[0].scopes,
        [
            api_tokens::unit::Scope::Accounts,
            api_tokens::unit::Scope::Customers
        ]
    );
    let (_, record) = bao
        .sink(&path)
        .current_record()
        .await
        .unwrap()
        .expect("a record");
    assert_eq!(record.token_id, live[0].id.as_str());
    assert_eq!(record.token.expose_secret(), live[0].secret.expose_secret());
    assert_eq!(
        record.attributes["scopes"],
        serde_json::json!(["accounts", "customers"])
    );
    no_secret(&run, &[record.token.expose_secret()]);
}

/// A store whose record names another live token is never given the
/// leaked token's replacement: that token would be left with no holder.
/// Refused with nothing touched (exit 2); a record of a token no longer
/// listed may be replaced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_holding_another_live_tokens_record_is_refused_for_a_leak() {
    let Some(bao) = OpenBao::start() else { return };
    let fake = UnitFake::start().await;
    let path = unique_path("leak-other");
    let (leaked, secret) = seed_without_scopes(&fake, "leaked");
    let (other, other_secret) = seed_without_scopes(&fake, "other");
    write_record(&bao, &path, &other, &other_secret, &["customers"]).await;

    let sink = format!("vault:{path}");
    for args in [
        vec![
            "leak",
            "--replace",
            "--secret-to",
            &sink,
            "--scope",
            "customers",
        ],
        vec!["leak", "--secret-to", &sink, "--scope", "customers"],
    ] {
        fake.clear_requests();
        let run = leak(&bao, &fake, &args, &secret).await;
        assert_eq!(run.code, 2, "{args:?}\n{}\n{}", run.out, run.err);
        assert!(run.err.contains("nothing was touched"), "{}", run.err);
        assert!(run.err.contains(&format!("token {other}")), "{}", run.err);
        no_secret(&run, &[&secret, &other_secret]);
        assert!(
            fake.requests().iter().all(|r| r.method == "GET"),
            "only lists: {:?}",
            fake.requests()
        );
        let ids: Vec<String> = fake
            .tokens()
            .iter()
            .map(|t| t.id.as_str().to_owned())
            .collect();
        assert!(ids.contains(&leaked) && ids.contains(&other), "{ids:?}");
        let (_, record) = bao
            .sink(&path)
            .current_record()
            .await
            .unwrap()
            .expect("a record");
        assert_eq!(record.token_id, other, "the record untouched");
    }

    // Once the other token is gone, its stale record may be replaced.
    let revoked = run(
        &bao,
        &fake,
        vec!["unit".into(), "revoke".into(), other.clone()],
    )
    .await;
    assert_eq!(revoked.code, 0, "{}\n{}", revoked.out, revoked.err);
    let run = leak(
        &bao,
        &fake,
        &["leak", "--secret-to", &sink, "--scope", "customers"],
        &secret,
    )
    .await;
    assert_eq!(run.code, 0, "{}\n{}", run.out, run.err);
    let live = fake.tokens();
    assert_eq!(live.len(), 1);
    let (_, record) = bao
        .sink(&path)
        .current_record()
        .await
        .unwrap()
        .expect("a record");
    assert_eq!(record.token_id, live[0].id.as_str());
}
