//! `--fake` with `API_TOKENS_FAKE_STATE`: the state a command writes reads
//! back whatever it holds, keeps ids and the next id as they were, and a
//! state that cannot be read, held or written is refused before anything
//! runs.

use crate::cli_support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cli_support::{Run, Session, file_spec, path_in, scratch};
use serde_json::{Value, json};

/// Runs `api-tokens --fake ARGS` with the state file `state`. A restore
/// that fills id gaps one token at a time never ends on a high id: the run
/// is stopped after two minutes, far beyond what any command needs, and
/// reported as such.
fn run_on(state: &Path, args: &[&str]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_api-tokens"));
    command
        .arg("--fake")
        .args(args)
        .env_clear()
        .env("API_TOKENS_FAKE_STATE", state)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(path) = std::env::var_os("PATH") {
        command.env("PATH", path);
    }
    let mut child = command.spawn().expect("the binary runs");
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > Duration::from_secs(120) {
            child.kill().expect("kill");
            let _ = child.wait();
            panic!("`api-tokens --fake {}` did not finish", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    let state = state
        .exists()
        .then(|| serde_json::from_str(&std::fs::read_to_string(state).unwrap()).unwrap());
    Run {
        args: args.join(" "),
        code: out.status.code().expect("an exit code"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
        state,
    }
}

fn ids(state: &Value, service: &str) -> Vec<String> {
    state[service]
        .as_array()
        .expect("tokens")
        .iter()
        .map(|t| t["id"].as_str().expect("id").to_owned())
        .collect()
}

#[test]
fn an_empty_token_list_reads_back_and_ids_are_never_given_twice() {
    let session = Session::new();
    let first = session.run(&["--output", "json", "mailtrap", "list"], "");
    first.code(0);
    let listed: Vec<String> = first
        .json()
        .as_array()
        .expect("an array")
        .iter()
        .map(|t| t["id"].to_string())
        .collect();
    assert_eq!(listed.len(), 4);
    for id in &listed {
        session.run(&["mailtrap", "delete", id], "").code(0);
    }
    let emptied = session.run(&["--output", "json", "mailtrap", "list"], "");
    emptied.code(0);
    assert_eq!(emptied.json(), json!([]), "{}", emptied.stderr);
    let state = emptied.state.as_ref().expect("state");
    assert_eq!(state["mailtrap"], json!([]));
    assert_eq!(state["mailtrap_next_id"], json!(12349));

    // The next token gets an id none had before, on both services.
    let dir = scratch();
    let created = session.run(
        &[
            "--output",
            "json",
            "mailtrap",
            "create",
            "--name",
            "after",
            "--permission",
            "account:3229:viewer",
            "--secret-to",
            &file_spec(&path_in(&dir, "mt.token")),
        ],
        "",
    );
    created.code(0);
    assert_eq!(created.json()["id"], json!(12349));

    let unit = session.run(&["--output", "json", "unit", "list"], "");
    unit.code(0);
    let last = unit.tokens("unit").last().cloned().expect("a Unit token");
    session.run(&["unit", "revoke", &last.0], "").code(0);
    let created = session.run(
        &[
            "--output",
            "json",
            "unit",
            "create",
            "--description",
            "after",
            "--scope",
            "customers",
            "--expires-in",
            "30d",
            "--secret-to",
            &file_spec(&path_in(&dir, "unit.token")),
        ],
        "",
    );
    created.code(0);
    let new_id: u64 = created.json()["id"]
        .as_str()
        .expect("a string id")
        .parse()
        .unwrap();
    assert!(
        new_id > last.0.parse::<u64>().unwrap(),
        "id {new_id} was given before"
    );
}

#[test]
fn a_high_id_is_restored_as_it_is_without_filling_the_gap() {
    let dir = scratch();
    let state = path_in(&dir, "state.json");
    let high = 9_007_199_254_740_000_u64;
    std::fs::write(
        &state,
        json!({
            "unit": [{ "id": high.to_string(), "name": "far", "expires_at": "2099-01-01T00:00:00Z", "scope": "customers" }],
            "mailtrap": [{ "id": high.to_string(), "name": "far", "expires_at": null,
                           "permissions": [{ "resource_type": "account", "resource_id": 3229, "access_level": 100 }] }],
        })
        .to_string(),
    )
    .unwrap();

    let run = run_on(&state, &["--output", "json", "mailtrap", "list"]);
    run.code(0);
    let listed = run.json();
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(listed[0]["id"], json!(high));
    let after = run.state.as_ref().expect("state");
    assert_eq!(ids(after, "unit"), [high.to_string()]);
    assert_eq!(ids(after, "mailtrap"), [high.to_string()]);
    assert_eq!(after["unit_next_id"], json!(high + 1));
    assert_eq!(after["mailtrap_next_id"], json!(high + 1));
}

#[test]
fn a_state_the_fakes_cannot_hold_is_refused_with_its_reason() {
    let cases = [
        (
            json!({ "unit": [], "mailtrap": [
                { "id": "12400", "name": "a", "expires_at": null },
                { "id": "12400", "name": "b", "expires_at": null } ] }),
            "token id 12400 is already held",
        ),
        (
            json!({ "unit": [{ "id": "9007199254740992", "name": "a", "expires_at": null }], "mailtrap": [] }),
            "out of range",
        ),
        (
            json!({ "unit": [{ "id": "7", "name": "a", "expires_at": null }], "mailtrap": [],
                    "unit_next_id": 7 }),
            "next id 7 is not above token id 7",
        ),
        (
            json!({ "unit": [], "mailtrap": [{ "id": "0", "name": "a", "expires_at": null }] }),
            "Mailtrap token id `0` is not a positive integer",
        ),
    ];
    for (saved, reason) in cases {
        let dir = scratch();
        let state = path_in(&dir, "state.json");
        std::fs::write(&state, saved.to_string()).unwrap();
        let run = run_on(&state, &["mailtrap", "list"]);
        run.code(2);
        assert!(run.stdout.is_empty(), "{}", run.stdout);
        assert!(
            run.stderr.contains("API_TOKENS_FAKE_STATE") && run.stderr.contains(reason),
            "{reason}: {}",
            run.stderr
        );
        let kept: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
        assert_eq!(kept, saved, "a refused state is left as it was");
    }
}

#[test]
fn a_state_path_that_cannot_be_written_fails_before_the_command_runs() {
    let dir = scratch();
    let state = dir.path().join("no such directory").join("state.json");
    let created = path_in(&dir, "mt.token");
    let run = run_on(
        &state,
        &[
            "mailtrap",
            "create",
            "--name",
            "lost",
            "--permission",
            "account:3229:viewer",
            "--secret-to",
            &file_spec(&created),
        ],
    );
    assert_ne!(run.code, 0, "{}", run.stderr);
    run.code(2);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(
        run.stderr.contains("API_TOKENS_FAKE_STATE")
            && run.stderr.contains("cannot be written")
            && run.stderr.contains("no such directory"),
        "{}",
        run.stderr
    );
    assert!(!created.exists(), "the command did not run");
}
