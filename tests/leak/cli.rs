//! `api-tokens leak` and `api-tokens detectors` against fakes started
//! here, whose addresses the binary takes from the environment: exit
//! codes, evidence on standard output and in the ledger, a replacement in
//! a file sink, and a betterleaks scan handed to `--from-report`.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use api_tokens::mailtrap::{AccessLevel, ResourceType};
use api_tokens::testing::{MailtrapFake, MailtrapTokenSeed, UnitFake, UnitTokenSeed};
use api_tokens::unit::Scope;
use secrecy::ExposeSecret;
use serde_json::Value;

/// What a run of the binary left.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    #[track_caller]
    pub fn code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code, code,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).expect("stdout is JSON")
    }

    #[track_caller]
    fn holds_none_of(&self, secrets: &[&str]) {
        for secret in secrets {
            assert!(!self.stdout.contains(secret), "a secret on stdout");
            assert!(!self.stderr.contains(secret), "a secret on stderr");
        }
    }
}

/// The fakes both services' commands go to, with their environment.
pub struct Fakes {
    pub unit: UnitFake,
    pub mailtrap: MailtrapFake,
    env: Vec<(&'static str, String)>,
}

pub async fn fakes() -> Fakes {
    let unit = UnitFake::builder()
        .user_id("77".parse().expect("user"))
        .start()
        .await;
    let mailtrap = MailtrapFake::builder().account_id(3229).start().await;
    let env = vec![
        ("UNIT_API_TOKEN", unit.token().expose_secret().to_owned()),
        ("UNIT_API_URL", unit.uri()),
        ("UNIT_USER_ID", "77".to_owned()),
        (
            "MAILTRAP_API_TOKEN",
            mailtrap.token().expose_secret().to_owned(),
        ),
        ("MAILTRAP_API_URL", mailtrap.uri()),
        ("MAILTRAP_ACCOUNT_ID", "3229".to_owned()),
    ];
    Fakes {
        unit,
        mailtrap,
        env,
    }
}

impl Fakes {
    /// The secret of a new Mailtrap token `name`, admin of account 3229.
    pub fn mailtrap_admin_secret(&self, name: &str) -> String {
        let seed = api_tokens::testing::MailtrapTokenSeed::new(name).permission(
            api_tokens::mailtrap::ResourceType::Account,
            3229,
            api_tokens::mailtrap::AccessLevel::Admin,
        );
        self.mailtrap
            .insert_token(seed)
            .secret
            .expose_secret()
            .to_owned()
    }

    /// Runs `api-tokens ARGS` with `stdin` on standard input, from a clean
    /// environment holding only the fakes' addresses and credentials.
    pub async fn run(&self, args: &[&str], stdin: &str) -> Run {
        self.run_without(&[], args, stdin).await
    }

    /// [`run`](Fakes::run) without the variables `unset`.
    pub async fn run_without(&self, unset: &[&str], args: &[&str], stdin: &str) -> Run {
        let mut command = Command::new(env!("CARGO_BIN_EXE_api-tokens"));
        command.args(args).env_clear();
        for (k, v) in &self.env {
            if !unset.contains(k) {
                command.env(k, v);
            }
        }
        let stdin = stdin.to_owned();
        tokio::task::spawn_blocking(move || {
            let mut child = command
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("the binary runs");
            // A run refused before it reads its input (a usage error) may
            // have closed standard input already: that is no failure here.
            if let Err(e) = child
                .stdin
                .take()
                .expect("stdin")
                .write_all(stdin.as_bytes())
            {
                assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "write stdin: {e}");
            }
            let out = child.wait_with_output().expect("the binary ends");
            Run {
                code: out.status.code().expect("an exit code"),
                stdout: String::from_utf8(out.stdout).expect("UTF-8"),
                stderr: String::from_utf8(out.stderr).expect("UTF-8"),
            }
        })
        .await
        .expect("the run")
    }
}

fn admin(name: &str) -> MailtrapTokenSeed {
    MailtrapTokenSeed::new(name).permission(ResourceType::Account, 3229, AccessLevel::Admin)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_secret_on_standard_input_is_revoked_with_evidence_in_the_ledger() {
    let fakes = fakes().await;
    let leaked = fakes
        .unit
        .insert_token(UnitTokenSeed::new("CI deploy").scopes([Scope::Customers]));
    let other = fakes.unit.insert_token(UnitTokenSeed::new("Billing"));
    let dir = tempfile::tempdir().expect("dir");
    let ledger = dir.path().join("leaks.jsonl");
    let ledger_arg = ledger.display().to_string();
    let secret = leaked.secret.expose_secret().to_owned();

    let run = fakes
        .run(
            &["--output", "json", "leak", "--ledger", &ledger_arg],
            &format!("{secret}\n"),
        )
        .await;

    run.code(0);
    run.holds_none_of(&[&secret]);
    let evidence = run.json();
    assert_eq!(evidence["service"], "unit");
    assert_eq!(evidence["token_id"], leaked.id.as_str());
    assert_eq!(evidence["action"], "revoked");
    assert_eq!(evidence["live_before"], "accepted");
    assert_eq!(evidence["refused_after"], true);
    let ledger_text = std::fs::read_to_string(&ledger).expect("ledger");
    assert!(!ledger_text.contains(&secret));
    let lines: Vec<Value> = ledger_text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines, [evidence]);
    let left: Vec<_> = fakes.unit.tokens().into_iter().map(|t| t.id).collect();
    assert_eq!(left, [other.id]);
}

/// `--replace --secret-to file:`: the file holds a working replacement,
/// and the leaked Mailtrap token is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replace_into_a_file_holds_a_working_replacement() {
    let fakes = fakes().await;
    let leaked = fakes.mailtrap.insert_token(admin("CI deploy"));
    let dir = tempfile::tempdir().expect("dir");
    let secret_file = dir.path().join("leaked.txt");
    std::fs::write(&secret_file, leaked.secret.expose_secret()).expect("write");
    let target = dir.path().join("mailtrap.token");
    let sink = format!("file:{}", target.display());

    let run = fakes
        .run(
            &[
                "--output",
                "json",
                "leak",
                "--secret-file",
                &secret_file.display().to_string(),
                "--replace",
                "--secret-to",
                &sink,
            ],
            "",
        )
        .await;

    run.code(0);
    let stored = read_one_line(&target);
    run.holds_none_of(&[leaked.secret.expose_secret(), &stored]);
    let evidence = run.json();
    assert_eq!(evidence["action"], "replaced_then_removed");
    let tokens = fakes.mailtrap.tokens();
    assert_eq!(tokens.len(), 1, "the leaked token is gone");
    assert_eq!(evidence["replacement"]["id"], tokens[0].id.to_string());
    assert_eq!(tokens[0].secret.expose_secret(), stored);
}

fn read_one_line(path: &Path) -> String {
    std::fs::read_to_string(path)
        .expect("the sink")
        .trim()
        .to_owned()
}

/// A random 32-hex string, a malformed `v2.public.` string and text in
/// neither format: exit 7, nothing touched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_that_are_none_of_ours_exit_7_and_touch_nothing() {
    let fakes = fakes().await;
    fakes.unit.insert_token(UnitTokenSeed::new("CI deploy"));
    fakes.mailtrap.insert_token(admin("CI deploy"));
    for secret in [
        "f00dfeedf00dfeedf00dfeedf00dfeed",
        "v2.public.eyJ1c2VySWQiOiI3NyJ9.broken",
        "not a token at all",
    ] {
        let run = fakes.run(&["leak"], secret).await;
        run.code(7);
        run.holds_none_of(&[secret]);
        assert!(run.stderr.contains("nothing was touched"), "{}", run.stderr);
    }
    assert_eq!(fakes.unit.tokens().len(), 1);
    assert_eq!(fakes.mailtrap.tokens().len(), 1);
    let sent: Vec<String> = fakes
        .unit
        .requests()
        .into_iter()
        .chain(fakes.mailtrap.requests())
        .map(|r| r.method)
        .collect();
    assert!(sent.iter().all(|m| m == "GET"), "{sent:?}");
}

/// Two Mailtrap tokens with the same last four: exit 7, both named, both
/// kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_last_four_names_both_and_exits_7() {
    let fakes = fakes().await;
    let first = fakes
        .mailtrap
        .insert_token(admin("First").secret("aaaaaaaaaaaaaaaaaaaaaaaaaaaa1234".to_owned().into()));
    let second = fakes
        .mailtrap
        .insert_token(admin("Second").secret("bbbbbbbbbbbbbbbbbbbbbbbbbbbb1234".to_owned().into()));
    let run = fakes
        .run(&["leak"], "aaaaaaaaaaaaaaaaaaaaaaaaaaaa1234")
        .await;
    run.code(7);
    run.holds_none_of(&["aaaaaaaaaaaaaaaaaaaaaaaaaaaa1234"]);
    assert!(
        run.stderr.contains(&format!("{}, {}", first.id, second.id)),
        "{}",
        run.stderr
    );
    assert_eq!(fakes.mailtrap.tokens().len(), 2);
}

/// The secret is never an argument: `leak` takes none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_as_an_argument_is_refused() {
    let fakes = fakes().await;
    let run = fakes
        .run(&["leak", "f00dfeedf00dfeedf00dfeedf00dfeed"], "")
        .await;
    run.code(2);
    let run = fakes.run(&["leak", "--replace"], "x").await;
    run.code(2);
    // A replacement's scopes: only with a sink, and only scopes Unit knows.
    let run = fakes.run(&["leak", "--scope", "customers"], "x").await;
    run.code(2);
    let run = fakes
        .run(&["leak", "--secret-to", "-", "--scope", "custmers"], "x")
        .await;
    run.code(2);
    assert!(
        run.stderr.contains("not a scope Unit knows"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_lists_exit_code_7() {
    let fakes = fakes().await;
    let run = fakes.run(&["--help"], "").await;
    run.code(0);
    assert!(run.stdout.contains("7  leak:"), "{}", run.stdout);
}

/// A gitleaks report (a list of findings with `RuleID`, `Secret`, `File`,
/// `StartLine`): the findings of these services are handled once per
/// secret, others skipped; one unmatched secret makes the exit 7 after the
/// others were handled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gitleaks_report_is_handled_once_per_secret() {
    let fakes = fakes().await;
    let unit = fakes.unit.insert_token(UnitTokenSeed::new("CI deploy"));
    let mailtrap = fakes.mailtrap.insert_token(admin("Sender"));
    let kept = fakes.mailtrap.insert_token(admin("Kept"));
    let unit_secret = unit.secret.expose_secret().to_owned();
    let mailtrap_secret = mailtrap.secret.expose_secret().to_owned();
    let stranger = "f00dfeedf00dfeedf00dfeedf00dfeed";
    let finding = |rule: &str, secret: &str, file: &str| serde_json::json!({"RuleID": rule, "Secret": secret, "Match": secret, "File": file, "StartLine": 3});
    let report = serde_json::json!([
        finding("unit-org-api-token", &unit_secret, "a.env"),
        finding("unit-org-api-token", &unit_secret, "b.env"),
        finding("mailtrap-api-token", &mailtrap_secret, "c.yml"),
        finding("mailtrap-api-token", stranger, "d.yml"),
        finding("generic-api-key", "something-else-entirely", "e.txt"),
    ]);
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("gitleaks.json");
    std::fs::write(&path, report.to_string()).expect("report");

    let run = fakes
        .run(&["leak", "--from-report", &path.display().to_string()], "")
        .await;

    run.code(7);
    run.holds_none_of(&[&unit_secret, &mailtrap_secret, stranger]);
    assert!(
        run.stdout
            .contains("2 handled, 1 unmatched, 0 failed, 1 findings of other rules skipped"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("a.env:3, b.env:3") || run.stdout.contains("d.yml:3"));
    assert!(fakes.unit.tokens().is_empty());
    let left: Vec<_> = fakes.mailtrap.tokens().into_iter().map(|t| t.id).collect();
    assert_eq!(left, [kept.id]);
}

/// `v2.public.` and base64url (no padding) of `payload`, unsigned.
pub fn unit_shaped(payload: &str) -> String {
    use base64::Engine as _;
    format!(
        "v2.public.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(payload)
    )
}

/// The methods of every request the fakes were sent.
fn methods(fakes: &Fakes) -> Vec<String> {
    fakes
        .unit
        .requests()
        .into_iter()
        .chain(fakes.mailtrap.requests())
        .map(|r| r.method)
        .collect()
}

/// A forged `v2.public.` whose payload names a listed token that has not
/// expired, and 32 hex characters ending in a listed Mailtrap token's last
/// four: the services refuse them, so they are not those tokens' secrets:
/// exit 7, nothing touched (not exit 0 "already refused").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_secret_naming_a_live_token_exits_7() {
    let fakes = fakes().await;
    let unit = fakes.unit.insert_token(UnitTokenSeed::new("CI deploy"));
    let mailtrap = fakes.mailtrap.insert_token(admin("Sender"));
    let forged = unit_shaped(&format!(r#"{{"userId":"77","tokenId":"{}"}}"#, unit.id));
    let hex = format!("{}{}", "0".repeat(28), mailtrap.last_4_digits());
    for secret in [forged.as_str(), hex.as_str()] {
        let run = fakes.run(&["--output", "json", "leak"], secret).await;
        run.code(7);
        assert!(run.stderr.contains("not that token's"), "{}", run.stderr);
        assert!(run.stderr.contains("nothing was touched"), "{}", run.stderr);
    }
    assert_eq!(fakes.unit.tokens().len(), 1);
    assert_eq!(fakes.mailtrap.tokens().len(), 1);
    let sent = methods(&fakes);
    assert!(sent.iter().all(|m| m == "GET"), "{sent:?}");
}

/// A `v2.public.` string with a character that cannot go in an HTTP
/// header, or whose payload's ids are not Unit ids (one holding a terminal
/// escape): no Unit token, exit 7 (not a request failure, exit 1), nothing
/// sent with it, and no raw control character on the terminal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_unit_secrets_exit_7_and_echo_nothing_raw() {
    let fakes = fakes().await;
    let token = fakes.unit.insert_token(UnitTokenSeed::new("CI deploy"));
    let named = unit_shaped(&format!(r#"{{"userId":"77","tokenId":"{}"}}"#, token.id));
    for secret in [
        format!("{named}.foot\u{1}er"),
        format!("{named}.foot er"),
        unit_shaped("{\"userId\":\"77\",\"tokenId\":\"9\u{1b}[31mRED\"}"),
        unit_shaped("{\"userId\":\"7\u{1b}[31m7\",\"tokenId\":\"1\"}"),
    ] {
        let run = fakes.run(&["leak"], &secret).await;
        run.code(7);
        assert!(run.stderr.contains("nothing was touched"), "{}", run.stderr);
        assert!(
            !run.stderr.contains('\u{1b}') && !run.stdout.contains('\u{1b}'),
            "{:?}",
            run.stderr
        );
        assert!(!run.stderr.contains("RED"), "{:?}", run.stderr);
    }
    assert_eq!(fakes.unit.tokens().len(), 1);
    assert!(fakes.unit.requests().is_empty(), "nothing sent");
}

/// A Unit token shaped as Unit documents one (`v2.public.` + a payload
/// naming its user and expiry but no scopes, then `.signature`), seeded
/// in the fake: its secret.
pub fn seed_unit_without_scopes(fakes: &Fakes, name: &str) -> (String, String) {
    use api_tokens::chrono::{Duration, SubsecRound, Utc};
    let at = (Utc::now() + Duration::days(30 + fakes.unit.tokens().len() as i64)).trunc_subsecs(0);
    let secret = format!(
        "{}.signature",
        unit_shaped(&format!(
            r#"{{"role":"org","userId":"77","exp":"{}"}}"#,
            at.to_rfc3339()
        ))
    );
    let token = fakes.unit.insert_token(
        UnitTokenSeed::new(name)
            .expiration(at)
            .secret(secret.clone().into()),
    );
    (token.id.as_str().to_owned(), secret)
}

/// Unit does not list scopes and its documented payload names none:
/// `--replace` without `--scope` is refused before any request (exit 2,
/// naming `--scope`); without `--replace` the leaked token is revoked
/// first all the same, and the error says so and names `--scope` (exit 1,
/// the evidence in the ledger); with `--scope` the replacement is minted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_unit_replacement_takes_its_scopes_from_the_scope_option() {
    let fakes = fakes().await;
    let dir = tempfile::tempdir().expect("dir");
    let target = dir.path().join("unit.token");
    let sink = format!("file:{}", target.display());
    let ledger = dir.path().join("leaks.jsonl");
    let ledger_arg = ledger.display().to_string();

    let (id, secret) = seed_unit_without_scopes(&fakes, "CI deploy");
    let run = fakes
        .run(&["leak", "--replace", "--secret-to", &sink], &secret)
        .await;
    run.code(2);
    assert!(run.stderr.contains("--scope"), "{}", run.stderr);
    assert!(run.stderr.contains("nothing was touched"), "{}", run.stderr);
    assert!(fakes.unit.requests().is_empty(), "no request");

    let run = fakes
        .run(
            &["leak", "--secret-to", &sink, "--ledger", &ledger_arg],
            &secret,
        )
        .await;
    run.code(1);
    run.holds_none_of(&[&secret]);
    assert!(
        run.stderr.contains(&format!("token {id} was removed")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--scope"), "{}", run.stderr);
    assert!(fakes.unit.tokens().is_empty(), "revoked first");
    assert!(!target.exists(), "no replacement");
    let evidence: Value =
        serde_json::from_str(std::fs::read_to_string(&ledger).expect("ledger").trim())
            .expect("one JSON line");
    assert_eq!(evidence["action"], "revoked");
    assert_eq!(evidence["refused_after"], true);

    let (_, secret) = seed_unit_without_scopes(&fakes, "Billing");
    let run = fakes
        .run(
            &[
                "--output",
                "json",
                "leak",
                "--replace",
                "--secret-to",
                &sink,
                "--scope",
                "customers,accounts",
            ],
            &secret,
        )
        .await;
    run.code(0);
    let stored = read_one_line(&target);
    run.holds_none_of(&[&secret, &stored]);
    assert_eq!(run.json()["action"], "replaced_then_removed");
    let tokens = fakes.unit.tokens();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].secret.expose_secret(), stored);
    assert_eq!(tokens[0].scopes, [Scope::Customers, Scope::Accounts]);
}

/// Writes `report` (JSON) to a file in `dir`: its path.
fn write_report(dir: &Path, name: &str, report: &Value) -> String {
    let path = dir.join(name);
    std::fs::write(&path, report.to_string()).expect("report");
    path.display().to_string()
}

fn gitleaks_finding(rule: &str, secret: &str, file: &str) -> Value {
    serde_json::json!({"RuleID": rule, "Secret": secret, "Match": secret, "File": file, "StartLine": 3})
}

/// A report whose findings need a service that is not configured is
/// refused before any request (exit 2), naming the missing variables;
/// nothing is sent to the service that is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_needing_an_unconfigured_service_is_refused_before_any_request() {
    let fakes = fakes().await;
    let unit = fakes.unit.insert_token(UnitTokenSeed::new("CI deploy"));
    let mailtrap: Vec<String> = ["A", "B", "C", "D"]
        .into_iter()
        .map(|n| {
            fakes
                .mailtrap
                .insert_token(admin(n))
                .secret
                .expose_secret()
                .to_owned()
        })
        .collect();
    let mut findings: Vec<Value> = mailtrap
        .iter()
        .map(|s| gitleaks_finding("mailtrap-api-token", s, "m.env"))
        .collect();
    findings.push(gitleaks_finding(
        "unit-org-api-token",
        unit.secret.expose_secret(),
        "u.env",
    ));
    let dir = tempfile::tempdir().expect("dir");
    let path = write_report(dir.path(), "report.json", &Value::Array(findings));

    let run = fakes
        .run_without(
            &["UNIT_API_TOKEN", "UNIT_USER_ID"],
            &["leak", "--from-report", &path],
            "",
        )
        .await;

    run.code(2);
    assert!(run.stderr.contains("UNIT_API_TOKEN"), "{}", run.stderr);
    assert!(run.stderr.contains("UNIT_USER_ID"), "{}", run.stderr);
    assert!(run.stderr.contains("nothing was touched"), "{}", run.stderr);
    assert!(fakes.mailtrap.requests().is_empty(), "no request");
    assert!(fakes.unit.requests().is_empty(), "no request");
    assert_eq!(fakes.mailtrap.tokens().len(), 4);
}

/// A ledger that fails to take a record (`/dev/full`) does not stop the
/// report: every finding is handled, the summary printed, and the exit is
/// the worst outcome, 1 (above an unmatched finding's 7).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_findings_failure_does_not_lose_the_others() {
    if !Path::new("/dev/full").exists() {
        eprintln!("skipped: no /dev/full here");
        return;
    }
    let fakes = fakes().await;
    let secrets: Vec<String> = (0..2)
        .map(|i| {
            fakes
                .unit
                .insert_token(UnitTokenSeed::new(format!("unit {i}")))
                .secret
                .expose_secret()
                .to_owned()
        })
        .chain(std::iter::once(
            fakes
                .mailtrap
                .insert_token(admin("Sender"))
                .secret
                .expose_secret()
                .to_owned(),
        ))
        .collect();
    let mut findings: Vec<Value> = secrets
        .iter()
        .map(|s| {
            let rule = if s.starts_with("v2.public.") {
                "unit-org-api-token"
            } else {
                "mailtrap-api-token"
            };
            gitleaks_finding(rule, s, "app.env")
        })
        .collect();
    findings.push(gitleaks_finding(
        "mailtrap-api-token",
        "f00dfeedf00dfeedf00dfeedf00dfeed",
        "x.env",
    ));
    let dir = tempfile::tempdir().expect("dir");
    let path = write_report(dir.path(), "report.json", &Value::Array(findings));

    let run = fakes
        .run(
            &["leak", "--from-report", &path, "--ledger", "/dev/full"],
            "",
        )
        .await;

    run.code(1);
    assert!(
        run.stdout
            .contains("3 handled, 1 unmatched, 0 failed, 0 findings of other rules skipped"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("not in the ledger"), "{}", run.stdout);
    assert!(fakes.unit.tokens().is_empty(), "every Unit finding handled");
    assert!(fakes.mailtrap.tokens().is_empty(), "the Mailtrap one too");
}

/// What is no gitleaks or betterleaks report, or holds a finding of our
/// rules without its secret (a redacted report), is refused (exit 2)
/// before any request, never a silent exit 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_that_are_not_scanner_reports_are_refused() {
    let fakes = fakes().await;
    fakes.mailtrap.insert_token(admin("Sender"));
    let dir = tempfile::tempdir().expect("dir");
    let reports = [
        serde_json::json!([1, 2, 3]),
        serde_json::json!({"a": 1}),
        serde_json::json!("findings"),
        serde_json::json!([{"File": "a.env"}]),
        serde_json::json!([{"RuleID": "unit-org-api-token", "File": "a.env", "StartLine": 1}]),
        serde_json::json!([gitleaks_finding("mailtrap-api-token", "REDACTED", "a.env")]),
        serde_json::json!({"findings": [{"rule_id": "mailtrap-api-token", "match": {"value": "0123456789abcdef..."}}]}),
        serde_json::json!({"findings": [{"rule_id": "mailtrap-api-token", "match": {}}]}),
        serde_json::json!({"findings": [7]}),
    ];
    for (i, report) in reports.iter().enumerate() {
        let path = write_report(dir.path(), &format!("r{i}.json"), report);
        let run = fakes.run(&["leak", "--from-report", &path], "").await;
        assert_eq!(run.code, 2, "{report}: {}{}", run.stdout, run.stderr);
        assert!(run.stderr.contains("--from-report"), "{}", run.stderr);
    }
    assert!(fakes.mailtrap.requests().is_empty());
    assert!(fakes.unit.requests().is_empty());
    // An empty report of either kind is a report: nothing to do.
    for report in [serde_json::json!([]), serde_json::json!({"findings": []})] {
        let path = write_report(dir.path(), "empty.json", &report);
        let run = fakes.run(&["leak", "--from-report", &path], "").await;
        run.code(0);
    }
}

/// `--ledger` is opened before any request: a directory or a path that
/// cannot be created is exit 2 with nothing touched (the evidence of a
/// revoke is never lost to it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unusable_ledger_is_refused_before_any_request() {
    let fakes = fakes().await;
    let leaked = fakes.unit.insert_token(UnitTokenSeed::new("CI deploy"));
    let dir = tempfile::tempdir().expect("dir");
    let missing = dir.path().join("no such dir").join("leaks.jsonl");
    let report = write_report(
        dir.path(),
        "report.json",
        &serde_json::json!([gitleaks_finding(
            "unit-org-api-token",
            leaked.secret.expose_secret(),
            "a.env"
        )]),
    );
    for ledger in [dir.path().to_path_buf(), missing] {
        let ledger = ledger.display().to_string();
        let run = fakes
            .run(
                &["leak", "--ledger", &ledger],
                leaked.secret.expose_secret(),
            )
            .await;
        run.code(2);
        assert!(run.stderr.contains("--ledger"), "{}", run.stderr);
        assert!(run.stderr.contains("nothing was touched"), "{}", run.stderr);
        let run = fakes
            .run(&["leak", "--from-report", &report, "--ledger", &ledger], "")
            .await;
        run.code(2);
    }
    assert_eq!(fakes.unit.tokens().len(), 1);
    assert!(fakes.unit.requests().is_empty(), "no request");
}

/// Text from a report (its file names) and paths reach the terminal with
/// their control characters escaped: no raw escape sequence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_fields_and_paths_reach_the_terminal_escaped() {
    let fakes = fakes().await;
    let dir = tempfile::tempdir().expect("dir");
    let hostile = "evil\u{1b}[31m\u{7}\u{202e}.env\nforged line";
    let report = write_report(
        dir.path(),
        "report.json",
        &serde_json::json!([gitleaks_finding(
            "mailtrap-api-token",
            "f00dfeedf00dfeedf00dfeedf00dfeed",
            hostile
        ),]),
    );
    let raw = |run: &Run| {
        let bad = ['\u{1b}', '\u{7}', '\u{202e}'];
        run.stdout.contains(bad) || run.stderr.contains(bad)
    };
    let run = fakes.run(&["leak", "--from-report", &report], "").await;
    run.code(7);
    assert!(!raw(&run), "{:?} {:?}", run.stdout, run.stderr);
    assert!(!run.stdout.contains("\nforged line"), "{}", run.stdout);
    assert!(run.stdout.contains("evil"), "{}", run.stdout);
    // A rule's name and a location in a refusal.
    let bad = write_report(
        dir.path(),
        "bad.json",
        &serde_json::json!([{"RuleID": "mailtrap-\u{1b}[2J", "File": hostile}]),
    );
    let run = fakes.run(&["leak", "--from-report", &bad], "").await;
    run.code(2);
    assert!(!raw(&run), "{:?}", run.stderr);
    // Paths named on the command line.
    let odd = dir.path().join("odd\u{1b}[31m");
    std::fs::create_dir(&odd).expect("dir");
    let odd = odd.display().to_string();
    for args in [
        vec!["leak", "--ledger", odd.as_str()],
        vec!["leak", "--from-report", odd.as_str()],
        vec!["leak", "--secret-file", odd.as_str()],
    ] {
        let run = fakes.run(&args, "f00dfeedf00dfeedf00dfeedf00dfeed").await;
        run.code(2);
        assert!(!raw(&run), "{args:?}: {:?}", run.stderr);
    }
}

/// `leak --help` lists every sink the other commands' `--secret-to` take,
/// and scanner commands that work (no `--report-format` for betterleaks,
/// which refuses it; gitleaks' report flags; betterleaks kept silent).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leak_help_lists_every_sink_and_working_scanner_commands() {
    let fakes = fakes().await;
    let run = fakes.run(&["leak", "--help"], "").await;
    run.code(0);
    let help = run.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    for sink in [
        "file:PATH",
        "env-file:PATH:VAR",
        "aws-sm:NAME",
        "vault:MOUNT/PATH",
    ] {
        assert!(help.contains(sink), "{sink}: {help}");
    }
    assert!(help.contains(BETTERLEAKS_IN_HELP), "{help}");
    assert!(
        help.contains(
            "gitleaks dir -c rules.toml --report-format json --report-path report.json PATH"
        ),
        "{help}"
    );
    assert!(
        !help.contains("betterleaks -c rules.toml --report-format"),
        "{help}"
    );
    assert!(help.contains("--scope <SCOPE>"), "{help}");
}

/// The betterleaks command `leak --help` gives (run for real in
/// `scan.rs`).
pub const BETTERLEAKS_IN_HELP: &str = "betterleaks -c rules.toml --silent -o report.json PATH";
