//! Every single-call command of `api-tokens`, run as a process against its
//! `--fake` services, in both output modes: what it prints, where the
//! secret goes, and that no secret reaches stdout or stderr otherwise.

mod cli_support;

use cli_support::{
    Session, assert_no_secret_shape, assert_secret_absent, fake, fake_secret_on_stdout, file_spec,
    path_in, read_secret, scratch,
};

/// Faults on every call of both fakes: a request would be noticed (its
/// 500 would be reported), so a run that passes with them sent none.
const ANY_REQUEST_FAILS: &str = "unit:create:500:times=9,unit:list:500:times=9,\
    unit:revoke:500:times=9,mailtrap:create:500:times=9,mailtrap:get:500:times=9,\
    mailtrap:list:500:times=9,mailtrap:delete:500:times=9,mailtrap:reset:500:times=9";

#[test]
fn unit_list_as_a_table_and_as_json() {
    let run = fake(&["unit", "list"], "");
    run.code(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{}", run.stdout);
    assert!(lines[0].starts_with("ID  DESCRIPTION"), "{}", lines[0]);
    assert!(lines[1].contains("CI deploy") && lines[1].contains("10.0.0.0/8"));
    assert!(lines[2].contains("payments backend") && lines[2].ends_with("any"));
    assert!(run.stderr.is_empty(), "{}", run.stderr);

    let run = fake(&["unit", "list", "--output", "json"], "");
    run.code(0);
    let json = run.json();
    let tokens = json.as_array().expect("an array");
    assert_eq!(tokens.len(), 4);
    // Unit's wire shape: a JSON:API resource object.
    assert_eq!(tokens[0]["type"], "apiToken");
    assert_eq!(tokens[0]["id"], "1");
    assert_eq!(tokens[0]["attributes"]["description"], "CI deploy");
    assert_eq!(tokens[0]["attributes"]["sourceIp"], "10.0.0.0/8");
}

#[test]
fn unit_create_hands_the_secret_to_a_file_only() {
    let dir = scratch();
    let file = path_in(&dir, "unit.token");
    let run = fake(
        &[
            "unit",
            "create",
            "--description",
            "CI deploy 2",
            "--scope",
            "customers,accounts",
            "--scope",
            "payments",
            "--expires-in",
            "90d",
            "--source-ip",
            "10.1.0.0/16",
            "--secret-to",
            &file_spec(&file),
        ],
        "",
    );
    run.code(0);
    let secret = read_secret(&file);
    assert!(secret.starts_with("v2.public."));
    assert_secret_absent(&run, &secret);
    assert!(
        run.stdout.contains("created Unit token 5"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains(&format!("file {}", file.display())));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).expect("file").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let held = run.tokens("unit");
    assert_eq!(held.len(), 5);
    // Minted exactly once: the description carries a marker.
    assert!(held[4].1.starts_with("CI deploy 2 [at:"), "{held:?}");
    assert!(run.stdout.contains(&held[4].1), "{}", run.stdout);
}

#[test]
fn unit_create_as_json_describes_the_token_without_its_secret() {
    let dir = scratch();
    let file = path_in(&dir, ".env");
    std::fs::write(&file, "# deploy settings\nREGION=eu\nUNIT_TOKEN=old\n").expect("env file");
    let spec = format!("env-file:{}:UNIT_TOKEN", file.display());
    let run = fake(
        &[
            "--output",
            "json",
            "unit",
            "create",
            "--description",
            "ci",
            "--scope",
            "customers",
            "--expires-at",
            "2099-01-01T00:00:00Z",
            "--secret-to",
            &spec,
        ],
        "",
    );
    // Unit's expiration is checked by the library: 2099 is accepted.
    run.code(0);
    let json = run.json();
    assert_eq!(json["id"], "5");
    assert_eq!(json["attributes"]["expiration"], "2099-01-01T00:00:00Z");
    assert!(json["attributes"].get("token").is_none(), "{json}");
    let env = std::fs::read_to_string(&file).expect("env file");
    let lines: Vec<&str> = env.lines().collect();
    assert_eq!(lines[..2], ["# deploy settings", "REGION=eu"]);
    let secret = lines[2].strip_prefix("UNIT_TOKEN=").expect("the variable");
    assert_secret_absent(&run, secret);
}

#[test]
fn the_secret_reaches_stdout_only_through_secret_to_dash() {
    for output in ["table", "json"] {
        let run = fake_secret_on_stdout(
            &[
                "--output",
                output,
                "unit",
                "create",
                "--description",
                "ci",
                "--scope",
                "customers",
                "--expires-in",
                "1d",
                "--secret-to",
                "-",
            ],
            "",
        );
        run.code(0);
        let secret = run.stdout.strip_suffix('\n').expect("one line");
        assert!(secret.starts_with("v2.public.fake."), "{secret}");
        assert!(!secret.contains('\n'));
        assert!(!run.stderr.contains(secret));
        assert_no_secret_shape(&run.stderr, "stderr");
        // The report goes to stderr, where it cannot mix with the secret.
        if output == "json" {
            let report: serde_json::Value =
                serde_json::from_str(&run.stderr).expect("JSON on stderr");
            assert_eq!(report["id"], "5");
        } else {
            assert!(
                run.stderr.contains("created Unit token 5"),
                "{}",
                run.stderr
            );
        }
    }
}

#[test]
fn unit_revoke_in_both_modes() {
    let run = fake(&["unit", "revoke", "2"], "");
    run.code(0);
    assert_eq!(run.stdout, "revoked Unit token 2\n");
    let ids: Vec<String> = run.tokens("unit").into_iter().map(|t| t.0).collect();
    assert_eq!(ids, ["1", "3", "4"]);

    let run = fake(&["--output", "json", "unit", "revoke", "1"], "");
    run.code(0);
    assert_eq!(run.json()["id"], "1");
    assert_eq!(run.tokens("unit").len(), 3);
}

#[test]
fn mailtrap_list_get_and_delete_in_both_modes() {
    let run = fake(&["mailtrap", "list"], "");
    run.code(0);
    assert!(run.stdout.starts_with("ID     NAME"), "{}", run.stdout);
    assert!(run.stdout.contains("account:3229:admin"));
    assert!(run.stdout.contains("never"));

    let run = fake(&["mailtrap", "list", "--output", "json"], "");
    run.code(0);
    let json = run.json();
    let list = json.as_array().expect("an array");
    assert_eq!(list.len(), 4);
    // Mailtrap's wire shape.
    assert_eq!(list[0]["name"], "admin console");
    assert_eq!(list[0]["resources"][0]["access_level"], 100);
    assert!(
        list[0]["last_4_digits"]
            .as_str()
            .is_some_and(|l| l.len() == 4)
    );

    let id = list[1]["id"].to_string();
    let run = fake(&["mailtrap", "get", &id], "");
    run.code(0);
    assert!(run.stdout.contains("legacy webhook"), "{}", run.stdout);
    let run = fake(&["--output", "json", "mailtrap", "get", &id], "");
    run.code(0);
    assert_eq!(run.json()["name"], "legacy webhook");

    let run = fake(&["mailtrap", "delete", &id], "");
    run.code(0);
    assert_eq!(run.stdout, format!("deleted Mailtrap token {id}\n"));
    assert!(run.tokens("mailtrap").iter().all(|t| t.0 != id));
    let run = fake(&["--output", "json", "mailtrap", "delete", &id], "");
    run.code(0);
    assert_eq!(run.json()["id"].to_string(), id);
}

#[test]
fn mailtrap_create_with_permissions_and_expiry() {
    let dir = scratch();
    let file = path_in(&dir, "mt.token");
    let run = fake(
        &[
            "mailtrap",
            "create",
            "--name",
            "CI sender",
            "--permission",
            "account:3229:viewer",
            "--permission",
            "sandbox:17:100",
            "--expires",
            "never",
            "--secret-to",
            &file_spec(&file),
            "--output",
            "json",
        ],
        "",
    );
    run.code(0);
    let json = run.json();
    assert!(
        json["name"]
            .as_str()
            .is_some_and(|n| n.starts_with("CI sender [at:")),
        "{json}"
    );
    assert_eq!(json["expires_at"], serde_json::Value::Null);
    assert_eq!(json["resources"][0]["access_level"], 10);
    assert_eq!(json["resources"][1]["resource_type"], "sandbox");
    assert!(json.get("token").is_none());
    let secret = read_secret(&file);
    assert_eq!(secret.len(), 32);
    assert_secret_absent(&run, &secret);
    let last4 = json["last_4_digits"].as_str().expect("last 4");
    assert!(secret.ends_with(last4));

    let env = path_in(&dir, ".env");
    let spec = format!("env-file:{}:MAILTRAP_TOKEN", env.display());
    let run = fake(
        &[
            "mailtrap",
            "create",
            "--name",
            "CI sender",
            "--permission",
            "account:3229:admin",
            "--expires",
            "2030-01-31T12:00:00Z",
            "--secret-to",
            &spec,
        ],
        "",
    );
    run.code(0);
    assert!(
        run.stdout
            .starts_with("created Mailtrap token 12349 \"CI sender [at:"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.ends_with(&format!(
            "]\", expires 2030-01-31T12:00:00Z; \
             secret written to MAILTRAP_TOKEN in env file {}\n",
            env.display()
        )),
        "{}",
        run.stdout
    );
    let line = std::fs::read_to_string(&env).expect("env file");
    let secret = line
        .strip_prefix("MAILTRAP_TOKEN=")
        .and_then(|l| l.strip_suffix('\n'))
        .expect("one line");
    assert_secret_absent(&run, secret);
}

#[test]
fn mailtrap_reset_mints_a_renamed_token() {
    let dir = scratch();
    let file = path_in(&dir, "mt.token");
    let listed = fake(&["--output", "json", "mailtrap", "list"], "").json();
    let id = listed[1]["id"].to_string();
    let spec = file_spec(&file);
    for output in ["table", "json"] {
        let mut args = vec![
            "--output",
            output,
            "mailtrap",
            "reset",
            &id,
            "--secret-to",
            &spec,
        ];
        if output == "json" {
            args.extend(["--expires", "2030-01-31T12:00:00Z"]);
        }
        let run = fake(&args, "");
        run.code(0);
        let secret = read_secret(&file);
        assert_secret_absent(&run, &secret);
        let held = run.tokens("mailtrap");
        let new = held.last().expect("the new token");
        assert_eq!(new.1, format!("legacy webhook {}", new.0));
        if output == "json" {
            let json = run.json();
            assert_eq!(json["id"].to_string(), new.0);
            assert_eq!(json["expires_at"], "2030-01-31T12:00:00Z");
        } else {
            assert!(
                run.stdout.contains(&format!("new token {}", new.0)),
                "{}",
                run.stdout
            );
        }
    }
}

/// Every command that takes `--secret-to`, with the sink's spec last.
fn commands_with_a_sink() -> Vec<Vec<&'static str>> {
    vec![
        vec![
            "unit",
            "create",
            "--description",
            "ci",
            "--scope",
            "customers",
            "--expires-in",
            "1d",
            "--secret-to",
        ],
        vec![
            "unit",
            "rotate",
            "1",
            "--scope",
            "customers",
            "--expires-in",
            "1d",
            "--secret-to",
        ],
        vec![
            "mailtrap",
            "create",
            "--name",
            "x",
            "--permission",
            "account:3229:admin",
            "--secret-to",
        ],
        vec!["mailtrap", "reset", "12345", "--secret-to"],
        vec!["mailtrap", "rotate", "12345", "--secret-to"],
        vec!["mailtrap", "rotate", "12345", "--recreate", "--secret-to"],
    ]
}

#[test]
fn a_sink_that_cannot_take_the_secret_is_refused_before_any_request() {
    let dir = scratch();
    let missing = dir.path().join("no-such-dir").join("token");
    let a_dir = dir.path().join("a-dir");
    std::fs::create_dir(&a_dir).expect("directory");
    let twice = dir.path().join(".env");
    std::fs::write(&twice, "TOKEN=a\nOTHER=b\nexport TOKEN=c\n").expect("env file");
    let sinks = [
        (file_spec(&missing), "does not exist"),
        (
            format!("env-file:{}:TOKEN", missing.display()),
            "does not exist",
        ),
        (file_spec(&a_dir), "is a directory"),
        (
            format!("env-file:{}:TOKEN", a_dir.display()),
            "is a directory",
        ),
        (
            format!("env-file:{}:TOKEN", twice.display()),
            "assigned on lines [1, 3]",
        ),
    ];
    for command in commands_with_a_sink() {
        for (spec, says) in &sinks {
            let mut args = command.clone();
            args.push(spec);
            let run = fake(&args, ANY_REQUEST_FAILS);
            run.code(2);
            assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
            assert_eq!(run.stderr.lines().count(), 1, "{args:?}: {}", run.stderr);
            assert!(run.stderr.contains("--secret-to"), "{}", run.stderr);
            assert!(
                run.stderr.contains(says),
                "{args:?} should say {says:?}: {}",
                run.stderr
            );
            assert!(
                !run.stderr.contains("500"),
                "a request was sent: {}",
                run.stderr
            );
            assert_eq!(run.tokens("unit").len(), 4);
            assert_eq!(run.tokens("mailtrap").len(), 4);
        }
    }
    assert_eq!(
        std::fs::read_to_string(&twice).expect("env file"),
        "TOKEN=a\nOTHER=b\nexport TOKEN=c\n"
    );
}

#[test]
fn a_sink_that_fails_after_the_mint_leaves_no_token_behind() {
    // Standard output is a pipe whose reader is gone before the token is
    // minted: writing the secret fails, and the token is removed.
    for (args, service, says) in [
        (
            &[
                "unit",
                "create",
                "--description",
                "ci",
                "--scope",
                "customers",
                "--expires-in",
                "1d",
                "--secret-to",
                "-",
            ][..],
            "unit",
            "revoked, since nobody holds its secret",
        ),
        (
            &[
                "mailtrap",
                "create",
                "--name",
                "x",
                "--permission",
                "account:3229:admin",
                "--secret-to",
                "-",
            ][..],
            "mailtrap",
            "deleted, since nobody holds its secret",
        ),
    ] {
        let session = Session::new();
        let mut command = session.command(args, "");
        command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = command.spawn().expect("the binary runs");
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("the run");
        let stderr = String::from_utf8(out.stderr).expect("UTF-8");
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains("could not be stored"), "{stderr}");
        assert!(stderr.contains(says), "{stderr}");
        assert_no_secret_shape(&stderr, "stderr");
        assert_eq!(
            session.tokens(service).len(),
            4,
            "the minted token was removed"
        );
    }
}

#[cfg(unix)]
#[test]
fn an_env_file_others_may_read_is_written_with_a_warning() {
    use std::os::unix::fs::PermissionsExt;

    let dir = scratch();
    let env = path_in(&dir, ".env");
    std::fs::write(&env, "REGION=eu\n").expect("env file");
    let spec = format!("env-file:{}:MAILTRAP_TOKEN", env.display());
    for (mode, readers) in [
        (0o644, Some("its group and others")),
        (0o640, Some("its group")),
        (0o604, Some("others")),
        (0o600, None),
    ] {
        std::fs::set_permissions(&env, std::fs::Permissions::from_mode(mode)).expect("chmod");
        let run = fake(
            &[
                "mailtrap",
                "create",
                "--name",
                "ci",
                "--permission",
                "account:3229:viewer",
                "--secret-to",
                &spec,
            ],
            "",
        );
        run.code(0);
        match readers {
            Some(readers) => {
                assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
                assert!(
                    run.stderr.starts_with("api-tokens: warning: the env file"),
                    "{}",
                    run.stderr
                );
                assert!(
                    run.stderr
                        .contains(&format!("readable by {readers} (mode {mode:04o})")),
                    "{}",
                    run.stderr
                );
                assert!(run.stderr.contains("chmod 600"), "{}", run.stderr);
            }
            None => assert!(run.stderr.is_empty(), "{}", run.stderr),
        }
        // The mode is kept, as documented.
        let kept = std::fs::metadata(&env)
            .expect("env file")
            .permissions()
            .mode();
        assert_eq!(kept & 0o777, mode);
    }
}

#[test]
fn a_create_whose_answer_is_lost_is_reconciled_and_leaves_one_token() {
    for (args, faults, service) in [
        (
            &[
                "unit",
                "create",
                "--description",
                "lost one",
                "--scope",
                "customers",
                "--expires-in",
                "1d",
            ][..],
            "unit:create:lose-answer",
            "unit",
        ),
        (
            &[
                "mailtrap",
                "create",
                "--name",
                "lost one",
                "--permission",
                "account:3229:viewer",
            ][..],
            "mailtrap:create:lose-answer",
            "mailtrap",
        ),
    ] {
        let dir = scratch();
        let file = path_in(&dir, "token");
        let spec = file_spec(&file);
        let mut args = args.to_vec();
        args.extend(["--secret-to", &spec]);
        let run = fake(&args, faults);
        run.code(0);
        assert_secret_absent(&run, &read_secret(&file));
        let minted: Vec<_> = run
            .tokens(service)
            .into_iter()
            .filter(|t| t.1.starts_with("lost one"))
            .collect();
        // The lost answer's token was found by its marker and removed.
        assert_eq!(minted.len(), 1, "exactly one token: {minted:?}");
        assert!(minted[0].1.starts_with("lost one [at:"), "{minted:?}");
        assert!(
            run.stdout
                .contains("minted by a create whose answer was lost"),
            "{}",
            run.stdout
        );
    }
}

#[test]
fn a_create_whose_lost_answer_cannot_be_reconciled_exits_4_and_reconcile_removes_it() {
    for (args, faults, service) in [
        (
            &[
                "unit",
                "create",
                "--description",
                "lost one",
                "--scope",
                "customers",
                "--expires-in",
                "1d",
            ][..],
            "unit:create:lose-answer,unit:list:503:times=50",
            "unit",
        ),
        (
            &[
                "mailtrap",
                "create",
                "--name",
                "lost one",
                "--permission",
                "account:3229:viewer",
            ][..],
            "mailtrap:create:lose-answer,mailtrap:list:503:times=50",
            "mailtrap",
        ),
    ] {
        let session = Session::new();
        let dir = scratch();
        let file = path_in(&dir, "token");
        let spec = file_spec(&file);
        let mut args = args.to_vec();
        args.extend(["--secret-to", &spec]);
        let run = session.run(&args, faults);
        run.code(4);
        assert!(run.stdout.is_empty());
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
        assert!(!file.exists(), "no secret to store");
        let start = run.stderr.find("[at:").expect("the marker is named");
        let end = start + run.stderr[start..].find(']').expect("its end") + 1;
        let marker = &run.stderr[start..end];
        assert!(
            run.stderr.contains(&format!(
                "`api-tokens reconcile --marker {marker}` removes it"
            )),
            "{}",
            run.stderr
        );
        // The token the lost answer minted carries the marker ...
        assert_eq!(
            run.tokens(service)
                .iter()
                .filter(|t| t.1.ends_with(marker))
                .count(),
            1
        );
        // ... so that reconcile finds it: no orphan is left.
        let reconciled = session.run(&["reconcile", "--marker", marker], "");
        reconciled.code(0);
        assert!(
            reconciled
                .tokens(service)
                .iter()
                .all(|t| !t.1.starts_with("lost one")),
            "{:?}",
            reconciled.tokens(service)
        );
    }
}

#[test]
fn a_scope_unit_does_not_know_is_refused_with_the_known_ones() {
    for command in [
        &["unit", "create", "--description", "x"][..],
        &["unit", "rotate", "1"][..],
    ] {
        let mut args = command.to_vec();
        args.extend([
            "--scope",
            "customers,bogus",
            "--expires-in",
            "1d",
            "--secret-to",
            "-",
        ]);
        let run = fake(&args, ANY_REQUEST_FAILS);
        run.code(2);
        assert!(run.stdout.is_empty());
        assert!(
            run.stderr
                .contains("`bogus` is not a scope Unit knows; the known scopes are: "),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr.contains("customers, customers-write"),
            "{}",
            run.stderr
        );
        // Refused while reading the arguments: the fakes never started.
        assert!(run.state.is_none());
    }
}

#[test]
fn a_token_that_does_not_exist_is_exit_1_for_every_command() {
    let unit_grant = [
        "--scope",
        "customers",
        "--expires-in",
        "1d",
        "--secret-to",
        "-",
    ];
    let cases: Vec<Vec<&str>> = vec![
        vec!["unit", "revoke", "999"],
        [&["unit", "rotate", "999"][..], &unit_grant[..]].concat(),
        vec!["mailtrap", "get", "99999"],
        vec!["mailtrap", "delete", "99999"],
        vec!["mailtrap", "reset", "99999", "--secret-to", "-"],
        vec!["mailtrap", "rotate", "99999", "--secret-to", "-"],
        vec![
            "mailtrap",
            "rotate",
            "99999",
            "--recreate",
            "--secret-to",
            "-",
        ],
    ];
    for args in cases {
        let run = fake(&args, "");
        run.code(1);
        assert!(run.stdout.is_empty(), "{args:?}: no secret was minted");
        assert_eq!(run.stderr.lines().count(), 1, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains("999"), "{args:?}: {}", run.stderr);
        assert_eq!(run.tokens("unit").len(), 4);
        assert_eq!(run.tokens("mailtrap").len(), 4);
    }
}
