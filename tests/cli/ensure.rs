//! `api-tokens plan` and `apply` on the fakes: the acceptance path, the
//! exit codes and the JSON shape, and bad files refused before anything
//! else.

use crate::cli_support;
use crate::ensure_support;

use std::path::Path;

use cli_support::{Run, Session, path_in, read_secret, scratch, with_env, words};
use ensure_support::acceptance_toml;
use serde_json::Value;

/// The acceptance file at `level`, written in `dir` with its sinks there.
fn tokens_file(dir: &Path, level: &str) -> String {
    let text = acceptance_toml(level, &dir.join("mt.token"), &dir.join("unit.token"));
    let path = dir.join(format!("tokens-{level}.toml"));
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// `plan -f FILE --detailed-exitcode` and the words of `more`, in `session`.
fn detailed_plan(session: &Session, file: &str, more: &str) -> Run {
    let mut args = vec!["plan", "-f", file, "--detailed-exitcode"];
    args.extend(words(more));
    session.run(&args, "")
}

/// The pending actions of a JSON plan, as `(service, name, action)`.
fn pending(plan: &Value) -> Vec<(String, String, String)> {
    plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] != "none" && a["action"] != "orphan")
        .map(|a| {
            (
                a["service"].as_str().unwrap().to_owned(),
                a["name"].as_str().unwrap().to_owned(),
                a["action"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn plan_apply_plan_converges_and_a_lowered_permission_is_one_replace() {
    let session = Session::new();
    let dir = scratch();
    let file = tokens_file(dir.path(), "admin");

    let first = detailed_plan(&session, &file, "");
    first
        .code(6)
        .out()
        .has("2 to create")
        .err()
        .has("2 action(s) pending");
    session.run(&["plan", "-f", &file], "").code(0);
    let json = session.run(&["--output", "json", "plan", "-f", &file], "");
    json.code(0);
    assert_eq!(
        pending(&json.json()),
        [
            ("mailtrap".into(), "ci-deploy".into(), "create".into()),
            ("unit".into(), "ci-deploy".into(), "create".into()),
        ]
    );
    for action in json.json()["actions"].as_array().unwrap() {
        let mut keys: Vec<&str> = action
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, ["action", "name", "reason", "service", "token_id"]);
    }

    let applied = session.run(&["apply", "-f", &file], "");
    applied.code(0);
    let mt = read_secret(&path_in(&dir, "mt.token"));
    let unit = read_secret(&path_in(&dir, "unit.token"));
    assert_eq!(mt.len(), 32);
    assert!(unit.starts_with("v2.public."));
    cli_support::assert_secret_absent(&applied, &mt);
    cli_support::assert_secret_absent(&applied, &unit);
    let named: Vec<_> = applied
        .tokens("mailtrap")
        .into_iter()
        .filter(|(_, name)| name.starts_with("ci-deploy [at:"))
        .collect();
    assert_eq!(named.len(), 1);

    detailed_plan(&session, &file, "").code(0);

    let lowered = tokens_file(dir.path(), "viewer");
    let plan = session.run(
        &[
            "--output",
            "json",
            "plan",
            "-f",
            &lowered,
            "--detailed-exitcode",
        ],
        "",
    );
    plan.code(6);
    let json = plan.json();
    assert_eq!(
        pending(&json),
        [("mailtrap".into(), "ci-deploy".into(), "replace".into())]
    );
    let replace = &json["actions"][0];
    assert!(
        replace["reason"]
            .as_str()
            .unwrap()
            .starts_with("permissions:")
    );
    assert_eq!(replace["token_id"], Value::String(named[0].0.clone()));

    let applied = session.run(&["apply", "-f", &lowered], "");
    applied.code(0);
    let state = applied.state.as_ref().unwrap();
    let live: Vec<&Value> = state["mailtrap"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["name"].as_str().unwrap().starts_with("ci-deploy [at:"))
        .collect();
    assert_eq!(live.len(), 1);
    assert_ne!(live[0]["id"], Value::String(named[0].0.clone()));
    assert_eq!(live[0]["permissions"][0]["access_level"], 10);
    assert_ne!(read_secret(&path_in(&dir, "mt.token")), mt);
    detailed_plan(&session, &lowered, "").code(0);
}

#[test]
fn orphans_are_the_files_namespace_only_and_pending_only_with_prune() {
    let session = Session::new();
    let dir = scratch();
    let file = tokens_file(dir.path(), "admin");
    session.run(&["apply", "-f", &file], "").code(0);
    // The fakes' seeds hold two marked tokens that no entry names: made
    // by others, a file without a namespace owns none of them.
    detailed_plan(&session, &file, "--prune")
        .code(0)
        .out()
        .has("2 token(s) marked by api-tokens that this file does not own are left alone");

    // A file in a namespace, with a second entry, applied; then the
    // entry dropped: its token is the file's orphan.
    let extra = dir.path().join("extra.token");
    let text = std::fs::read_to_string(&file).unwrap();
    let two = format!(
        "namespace = \"ci\"\n{text}\n[[mailtrap]]\nname = \"extra\"\n\
         permissions = [\"account:3229:viewer\"]\nsecret_to = \"file:{}\"\n",
        extra.display()
    );
    let path = dir.path().join("ns.toml").display().to_string();
    std::fs::write(&path, two).unwrap();
    session.run(&["apply", "-f", &path], "").code(0);
    std::fs::write(&path, format!("namespace = \"ci\"\n{text}")).unwrap();
    detailed_plan(&session, &path, "").code(0);
    detailed_plan(&session, &path, "--prune")
        .code(6)
        .out()
        .has("extra [ns:ci]")
        .has("1 orphan(s)");
    session.run(&["apply", "-f", &path, "--prune"], "").code(0);
    detailed_plan(&session, &path, "--prune").code(0);
    // The seeds' tokens and the first file's are still there (the first
    // file's sinks are the namespaced file's now: not compared).
    session
        .run(&["plan", "-f", &file, "--prune"], "")
        .code(0)
        .out()
        .has("0 to create")
        .has("0 orphan(s)")
        .has("4 token(s) marked by api-tokens that this file does not own");
}

#[test]
fn a_bad_file_is_a_usage_error_before_anything_else() {
    let dir = scratch();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[[mailtrap]]\nname = \"ci\"\npermissions = [\"account:3229:root\"]\nsecret_to = \"-\"\n",
    )
    .unwrap();
    let shown = path.display().to_string();
    // No credentials at all: the file is read and refused first.
    let run = with_env(&["plan", "-f", &shown], &[]);
    run.code(2)
        .err()
        .has(&format!("{shown}:3: key `permissions`"));
    std::fs::write(
        &path,
        "[[unit]]\ndescription = \"x\"\nlifetime = \"90d\"\nscopez = []\n",
    )
    .unwrap();
    let run = with_env(&["apply", "-f", &shown], &[]);
    run.code(2).err().has(":4: key `scopez`");
    let run = with_env(
        &[
            "plan",
            "-f",
            &dir.path().join("missing.toml").display().to_string(),
        ],
        &[],
    );
    run.code(2).err().has("missing.toml");
}

#[test]
fn an_account_without_credentials_is_a_usage_error() {
    let session = Session::new();
    let dir = scratch();
    let path = dir.path().join("other.toml");
    std::fs::write(
        &path,
        format!(
            "[[mailtrap]]\nname = \"ci\"\npermissions = [\"account:999:admin\"]\nsecret_to = \"file:{}\"\n",
            dir.path().join("t").display()
        ),
    )
    .unwrap();
    let run = session.run(&["plan", "-f", &path.display().to_string()], "");
    run.code(2).err().has("no Mailtrap client for account 999");
}

#[test]
fn a_failed_action_exits_1_after_the_report() {
    let session = Session::new();
    let dir = scratch();
    let file = tokens_file(dir.path(), "admin");
    let run = session.run(&["apply", "-f", &file], "mailtrap:create:422:times=3");
    run.code(1)
        .out()
        .has("failed")
        .err()
        .has("1 of 2 actions failed");
    // The Unit token was made all the same; the next apply finishes the job.
    session.run(&["apply", "-f", &file], "").code(0);
    detailed_plan(&session, &file, "").code(0);
}

#[test]
fn a_sink_that_cannot_take_a_secret_is_a_usage_error_before_any_request() {
    let session = Session::new();
    let dir = scratch();
    let file = tokens_file(dir.path(), "admin");
    // The Unit entry's sink (line 9) names a directory. Every request
    // would fail with a 500, which is not exit 2.
    std::fs::create_dir(dir.path().join("unit.token")).unwrap();
    for command in ["plan", "apply"] {
        let run = session.run(&[command, "-f", &file], cli_support::ANY_REQUEST_FAILS);
        run.code(2).err().has(&format!("{file}:9: key `secret_to`"));
    }
}
