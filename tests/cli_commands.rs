//! Every single-call command of `api-tokens`, run as a process against its
//! `--fake` services, in both output modes: what it prints, where the
//! secret goes, and that no secret reaches stdout or stderr otherwise.

mod cli_support;

use cli_support::{
    assert_no_secret_shape, assert_secret_absent, fake, fake_secret_on_stdout, file_spec, path_in,
    read_secret, scratch,
};

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
    assert_eq!(held[4].1, "CI deploy 2");
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
    assert_eq!(json["name"], "CI sender");
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
    assert_eq!(
        run.stdout,
        format!(
            "created Mailtrap token 12349 \"CI sender\", expires 2030-01-31T12:00:00Z; \
             secret written to MAILTRAP_TOKEN in env file {}\n",
            env.display()
        )
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

#[test]
fn a_sink_that_fails_leaves_no_token_behind() {
    let dir = scratch();
    let missing = dir.path().join("no-such-dir").join("token");
    let run = fake(
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
            &file_spec(&missing),
        ],
        "",
    );
    run.code(1);
    assert!(run.stderr.contains("could not be stored"), "{}", run.stderr);
    assert!(run.stderr.contains("revoked"), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert_eq!(run.tokens("unit").len(), 4, "the minted token was revoked");

    let run = fake(
        &[
            "mailtrap",
            "create",
            "--name",
            "x",
            "--permission",
            "account:3229:admin",
            "--secret-to",
            &file_spec(&missing),
        ],
        "",
    );
    run.code(1);
    assert!(run.stderr.contains("deleted"), "{}", run.stderr);
    assert_eq!(
        run.tokens("mailtrap").len(),
        4,
        "the minted token was deleted"
    );
}

#[test]
fn a_create_whose_answer_is_lost_exits_4_and_writes_no_sink() {
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
        run.code(4);
        assert!(run.stdout.is_empty());
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
        assert!(
            run.stderr.contains("outcome of the create is unknown"),
            "{}",
            run.stderr
        );
        assert!(!file.exists(), "no secret to store");
        // The service did mint it: the line tells to list and reconcile.
        assert!(run.stderr.contains("list the tokens"), "{}", run.stderr);
        assert!(run.tokens(service).iter().any(|t| t.1 == "lost one"));
    }
}
