//! `api-tokens` with credentials from the environment and from token files,
//! against fakes started by the test (so their secrets are known and can be
//! looked for in what the binary prints), and every usage error: exit 2,
//! refused before any request, with a message that says what is wrong.

use crate::cli_support;

use api_tokens::secrecy::ExposeSecret;
use api_tokens::testing::{MailtrapFake, UnitFake, UnitTokenSeed};
use cli_support::{
    Run, assert_secret_absent, fake, path_in, refused_before_any_request, scratch, with_env, words,
};

/// Runs the binary off the runtime's threads, so the fakes keep answering.
async fn run(args: &[&str], env: &[(&str, &str)]) -> Run {
    let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        with_env(&args, &env)
    })
    .await
    .expect("the run")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unit_from_the_environment() {
    let fake = UnitFake::builder()
        .user_id("77".parse().unwrap())
        .start()
        .await;
    fake.insert_token(UnitTokenSeed::new("from env"));
    let token = fake.token().expose_secret().to_owned();
    let uri = fake.uri();
    let env = [
        ("UNIT_API_TOKEN", token.as_str()),
        ("UNIT_API_URL", uri.as_str()),
        ("UNIT_USER_ID", "77"),
    ];
    let listed = run(&["--output", "json", "unit", "list"], &env).await;
    listed.code(0);
    assert_eq!(listed.json()[0]["attributes"]["description"], "from env");
    assert_secret_absent(&listed, &token);
    let held = fake.tokens();
    assert_secret_absent(&listed, held[0].secret.expose_secret());

    // The log of the requests shows the binary used the environment's user.
    assert!(
        fake.requests()
            .iter()
            .all(|r| r.path == "/users/77/api-tokens")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_file_takes_the_place_of_the_variable() {
    let unit = UnitFake::builder()
        .user_id("5".parse().unwrap())
        .start()
        .await;
    let mailtrap = MailtrapFake::builder().account_id(3229).start().await;
    let dir = scratch();
    let unit_file = path_in(&dir, "unit.token");
    let mailtrap_file = path_in(&dir, "mailtrap.token");
    let unit_token = unit.token().expose_secret().to_owned();
    let mailtrap_token = mailtrap.token().expose_secret().to_owned();
    std::fs::write(&unit_file, format!("{unit_token}\n")).expect("file");
    std::fs::write(&mailtrap_file, format!("{mailtrap_token}\r\n")).expect("file");
    let (unit_uri, mailtrap_uri) = (unit.uri(), mailtrap.uri());
    let unit_path = unit_file.display().to_string();
    let mailtrap_path = mailtrap_file.display().to_string();

    // The variable holds a wrong token: the file's is the one used.
    let env = [
        ("UNIT_API_TOKEN", "v2.public.wrong.sig"),
        ("UNIT_API_URL", unit_uri.as_str()),
        ("UNIT_USER_ID", "5"),
    ];
    let listed = run(&["unit", "--token-file", &unit_path, "list"], &env).await;
    listed.code(0);
    assert_eq!(listed.stdout, "(no tokens)\n");
    assert_secret_absent(&listed, &unit_token);
    // After the subcommand too.
    run(&["unit", "list", "--token-file", &unit_path], &env)
        .await
        .code(0);

    // Without MAILTRAP_ACCOUNT_ID, the account-free paths.
    let env = [("MAILTRAP_API_URL", mailtrap_uri.as_str())];
    let listed = run(&["mailtrap", "list", "--token-file", &mailtrap_path], &env).await;
    listed.code(0);
    assert_secret_absent(&listed, &mailtrap_token);
    let paths: Vec<String> = mailtrap.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/api/api_tokens"]);

    // With it, the account's paths.
    let env = [
        ("MAILTRAP_API_URL", mailtrap_uri.as_str()),
        ("MAILTRAP_ACCOUNT_ID", "3229"),
    ];
    run(&["mailtrap", "list", "--token-file", &mailtrap_path], &env)
        .await
        .code(0);
    assert_eq!(
        mailtrap
            .requests()
            .last()
            .map(|r| r.path.clone())
            .as_deref(),
        Some("/api/accounts/3229/api_tokens")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_is_a_service_failure_on_one_line() {
    let fake = MailtrapFake::start().await;
    let uri = fake.uri();
    let env = [
        ("MAILTRAP_API_TOKEN", "0123456789abcdef0123456789abcdef"),
        ("MAILTRAP_API_URL", uri.as_str()),
    ];
    let failed = run(&["mailtrap", "list"], &env).await;
    failed
        .fails_with(1, "Mailtrap list failed")
        .err()
        .has("401")
        .has("Incorrect API token");
    assert_secret_absent(&failed, "0123456789abcdef0123456789abcdef");
}

#[test]
fn a_failing_service_says_what_failed_its_status_message_and_request_id() {
    for output in ["table", "json"] {
        let failed = fake(
            &["--output", output, "unit", "list"],
            "unit:list:503:times=10",
        );
        failed
            .code(1)
            .out()
            .empty()
            .err()
            .one_line()
            .begins("api-tokens: Unit list failed: ")
            .has("503")
            .has("request id ");
    }
    fake(&["mailtrap", "get", "999"], "")
        .code(1)
        .err()
        .has("Mailtrap get of token 999 failed")
        .has("404");
}

#[test]
fn usage_errors_exit_2_before_any_request() {
    let unit = "unit create --description x --scope";
    let mailtrap = "mailtrap create --name x --permission";
    let cases = [
        (
            format!("{unit} customers --expires-in 90 --secret-to -"),
            "has no unit",
        ),
        (
            format!("{unit} customers --expires-in 0d --secret-to -"),
            "is zero",
        ),
        (
            format!("{unit} customers --expires-at tomorrow --secret-to -"),
            "RFC 3339",
        ),
        (
            format!(
                "{unit} customers --expires-in 1d --expires-at 2030-01-01T00:00:00Z --secret-to -"
            ),
            "cannot be used with",
        ),
        (format!("{unit} customers --secret-to -"), "--expires-in"),
        (
            format!("{unit} Customers! --expires-in 1d --secret-to -"),
            "not a scope",
        ),
        (
            format!("{unit} customers --expires-in 1d --source-ip 10.0.0.0/33 --secret-to -"),
            "--source-ip",
        ),
        (
            format!("{unit} customers --expires-in 1d --secret-to s3:bucket"),
            "unknown kind of sink",
        ),
        (format!("{unit} customers --expires-in 1d"), "--secret-to"),
        ("unit revoke abc".to_owned(), "positive integers"),
        (
            format!("{mailtrap} account:1:root --secret-to -"),
            "admin, viewer or their numbers",
        ),
        (
            format!("{mailtrap} account:1 --secret-to -"),
            "TYPE:ID:LEVEL",
        ),
        (
            format!("{mailtrap} account:0:admin --secret-to -"),
            "the resource id must not be 0",
        ),
        (
            format!("{mailtrap} account:1:admin --expires soon --secret-to -"),
            "never",
        ),
        (
            format!("{mailtrap} account:1:admin --secret-to env-file:.env:1BAD"),
            "variable",
        ),
        ("mailtrap get 0".to_owned(), "0 is not an id"),
        (
            "mailtrap list --token abc".to_owned(),
            "unexpected argument",
        ),
        ("audit --within soon".to_owned(), "--within"),
        ("audit --fail-on expired,stale".to_owned(), "stale"),
        ("reconcile --older-than 3".to_owned(), "has no unit"),
        ("--output yaml unit list".to_owned(), "yaml"),
    ];
    for (line, says) in &cases {
        refused_before_any_request(&words(line), says);
    }
}

#[test]
fn a_past_or_distant_expiry_is_refused_by_the_library_with_exit_2() {
    let run = fake(
        &words(
            "unit create --description x --scope customers \
             --expires-at 2001-01-01T00:00:00Z --secret-to -",
        ),
        "unit:create:500:times=9",
    );
    run.code(2);
    assert!(
        run.stderr.contains("expiration") || run.stderr.contains("past"),
        "{}",
        run.stderr
    );
    fake(
        &words(
            "mailtrap create --name x --permission account:1:admin \
             --expires 2200-01-01T00:00:00Z --secret-to -",
        ),
        "mailtrap:create:500:times=9",
    )
    .code(2)
    .err()
    .has("5 years");
}

/// Arguments, environment, and what the failure says.
type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);

/// Runs each case with exactly its environment: a usage error on one
/// line saying what the case says, with no line of a token file in it.
fn assert_refused(cases: &[Case<'_>]) {
    for (args, env, says) in cases {
        let run = with_env(args, env);
        run.fails_with(2, says);
        assert!(
            !run.stderr.contains("first") && !run.stderr.contains("second"),
            "`{}`: a line of the token file is shown:\n{}",
            run.args,
            run.stderr
        );
    }
}

#[test]
fn missing_credentials_and_bad_token_files_are_usage_errors() {
    let dir = scratch();
    let empty = path_in(&dir, "empty");
    std::fs::write(&empty, "\n").expect("file");
    let two = path_in(&dir, "two");
    std::fs::write(&two, "first\nsecond\n").expect("file");
    let (empty, two) = (empty.display().to_string(), two.display().to_string());
    let cases: &[Case<'_>] = &[
        (&["unit", "list"], &[], "UNIT_API_TOKEN is not set"),
        (
            &["unit", "list"],
            &[("UNIT_API_TOKEN", "v2.public.x.y")],
            "UNIT_USER_ID is not set",
        ),
        (
            &["unit", "list"],
            &[("UNIT_API_TOKEN", "v2.public.x.y"), ("UNIT_USER_ID", "me")],
            "UNIT_USER_ID",
        ),
        (
            &["unit", "list"],
            &[
                ("UNIT_API_TOKEN", "v2.public.x.y"),
                ("UNIT_USER_ID", "1"),
                ("UNIT_API_URL", "http://example.com"),
            ],
            "base_url",
        ),
        (&["mailtrap", "list"], &[], "MAILTRAP_API_TOKEN is not set"),
        (
            &["mailtrap", "list"],
            &[
                ("MAILTRAP_API_TOKEN", "FAKE0mailtrap0key0value"),
                ("MAILTRAP_ACCOUNT_ID", "-1"),
            ],
            "MAILTRAP_ACCOUNT_ID",
        ),
        (
            &["mailtrap", "--token-file", "/no/such/file", "list"],
            &[],
            "cannot read the token file",
        ),
        (
            &["mailtrap", "--token-file", &empty, "list"],
            &[],
            "is empty",
        ),
        (
            &["mailtrap", "--token-file", &two, "list"],
            &[],
            "more than one line",
        ),
    ];
    assert_refused(cases);
}

#[test]
fn a_network_failure_exits_1_on_one_line() {
    let run = with_env(
        &["unit", "list"],
        &[
            ("UNIT_API_TOKEN", "v2.public.FAKE-NETWORK.sig"),
            ("UNIT_USER_ID", "1"),
            // Nothing listens on port 1.
            ("UNIT_API_URL", "http://127.0.0.1:1"),
        ],
    );
    run.code(1)
        .out()
        .empty()
        .err()
        .one_line()
        .begins("api-tokens: Unit list failed: transport error");
}

#[test]
fn a_bad_token_file_is_refused_with_fake_services_too() {
    let dir = scratch();
    let two = path_in(&dir, "two");
    std::fs::write(&two, "first\nsecond\n").expect("file");
    let two = two.display().to_string();
    let cases: &[Case<'_>] = &[
        (
            &[
                "--fake",
                "mailtrap",
                "--token-file",
                "/no/such/file",
                "list",
            ],
            &[],
            "cannot read the token file",
        ),
        (
            &["--fake", "unit", "--token-file", &two, "list"],
            &[],
            "more than one line",
        ),
    ];
    assert_refused(cases);
}

/// `plan` and `apply` of a file whose Mailtrap entries all name their
/// account: the account's paths, through one client of the token, and a
/// `MAILTRAP_ACCOUNT_ID` that no entry needs is not read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tokens_file_naming_its_account_uses_that_account_only() {
    let fake = MailtrapFake::builder().account_id(3229).start().await;
    let dir = scratch();
    let sink = path_in(&dir, "ci.token");
    let file = path_in(&dir, "tokens.toml");
    std::fs::write(
        &file,
        format!(
            "[[mailtrap]]\nname = \"ci\"\npermissions = [\"account:3229:admin\"]\n\
             secret_to = \"file:{}\"\n",
            sink.display()
        ),
    )
    .expect("file");
    let (token, uri) = (fake.token().expose_secret().to_owned(), fake.uri());
    let file = file.display().to_string();
    let env = [
        ("MAILTRAP_API_TOKEN", token.as_str()),
        ("MAILTRAP_API_URL", uri.as_str()),
        ("MAILTRAP_ACCOUNT_ID", "not an id"),
    ];

    let plan = run(&["--output", "json", "plan", "-f", &file], &env).await;
    plan.code(0);
    assert_eq!(plan.json()["actions"][0]["action"], "create");
    run(&["apply", "-f", &file], &env).await.code(0);
    let held = fake.tokens();
    let minted: Vec<_> = held.iter().filter(|t| t.name.starts_with("ci")).collect();
    assert_eq!(minted.len(), 1, "one token created");
    let minted = minted[0];
    assert_eq!(
        std::fs::read_to_string(&sink).expect("the sink").trim(),
        minted.secret.expose_secret()
    );
    assert!(
        fake.requests()
            .iter()
            .all(|r| r.path.starts_with("/api/accounts/3229/")),
        "{:?}",
        fake.requests()
    );
}

/// A secret pasted where an argument belongs (as `--secret-to`, or as a
/// word `leak` does not take) is refused (exit 2) without being printed
/// again: the refusal says what is wrong and how long the word was.
#[test]
fn a_secret_pasted_as_an_argument_is_refused_without_being_shown() {
    let secret = "v2.public.eyJ1c2VySWQiOiI0MiJ9SECRETSIGNATURE";
    let hex = "0123456789abcdef0123456789abcdef";
    let mut create = words("unit create --description x --scope customers --expires-in 1d");
    create.extend(["--secret-to", secret]);
    let cases: [(Vec<&str>, &str); 3] = [
        (create, "--secret-to"),
        (vec!["leak", secret], "never from an argument"),
        (
            vec!["mailtrap", "delete", "1", hex],
            "never from an argument",
        ),
    ];
    for (args, says) in cases {
        let run = refused_before_any_request(&args, says);
        assert!(
            !run.stderr.contains("SECRETSIGNATURE") && !run.stderr.contains(hex),
            "{}",
            run.stderr
        );
    }
}
