//! Every single-call command of `api-tokens`, run as a process against its
//! `--fake` services, in both output modes: what it prints, where the
//! secret goes, and that no secret reaches stdout or stderr otherwise.

use crate::cli_support;

use cli_support::{
    FileSink, Session, assert_no_secret_shape, assert_secret_absent, fake, fake_into_file,
    fake_secret_on_stdout, file_spec, marker_in, refused_before_any_request, scratch, words,
};

/// `unit create` of a token "ci" on `customers` for a day, without its sink.
const UNIT_CREATE: &str = "unit create --description ci --scope customers --expires-in 1d";
/// `mailtrap create` of an admin token "x", without its sink.
const MAILTRAP_CREATE: &str = "mailtrap create --name x --permission account:3229:admin";

/// The words of `line`, then `--secret-to` and `sink`.
fn with_sink<'a>(line: &'a str, sink: &'a str) -> Vec<&'a str> {
    let mut args = words(line);
    args.extend(["--secret-to", sink]);
    args
}

#[test]
fn unit_list_as_a_table_and_as_json() {
    let run = fake(&["unit", "list"], "");
    run.code(0).err().empty();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{}", run.stdout);
    assert!(lines[0].starts_with("ID  DESCRIPTION"), "{}", lines[0]);
    assert!(lines[1].contains("CI deploy") && lines[1].contains("10.0.0.0/8"));
    assert!(lines[2].contains("payments backend") && lines[2].ends_with("any"));

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
    let sink = FileSink::new("unit.token");
    let args = words(
        "unit create --description 'CI deploy 2' --scope customers,accounts --scope payments \
         --expires-in 90d --source-ip 10.1.0.0/16",
    );
    let run = fake(&sink.after(&args), "");
    run.code(0);
    let secret = sink.secret_kept_from(&run);
    assert!(secret.starts_with("v2.public."));
    run.out()
        .has("created Unit token 5")
        .has(&format!("file {}", sink.path().display()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(sink.path())
            .expect("file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let held = run.tokens("unit");
    assert_eq!(held.len(), 5);
    // Minted exactly once: the description carries a marker.
    assert!(held[4].1.starts_with("CI deploy 2 [at:"), "{held:?}");
    run.out().has(&held[4].1);
}

#[test]
fn unit_create_as_json_describes_the_token_without_its_secret() {
    let sink = FileSink::env_file("UNIT_TOKEN");
    std::fs::write(
        sink.path(),
        "# deploy settings\nREGION=eu\nUNIT_TOKEN=old\n",
    )
    .expect("env file");
    let line = "--output json unit create --description ci --scope customers \
                --expires-at 2099-01-01T00:00:00Z";
    let run = fake(&sink.after(&words(line)), "");
    // Unit's expiration is checked by the library: 2099 is accepted.
    run.code(0);
    let json = run.json();
    assert_eq!(json["id"], "5");
    assert_eq!(json["attributes"]["expiration"], "2099-01-01T00:00:00.000Z");
    assert!(json["attributes"].get("token").is_none(), "{json}");
    let env = std::fs::read_to_string(sink.path()).expect("env file");
    let lines: Vec<&str> = env.lines().collect();
    assert_eq!(lines[..2], ["# deploy settings", "REGION=eu"]);
    let secret = lines[2].strip_prefix("UNIT_TOKEN=").expect("the variable");
    assert_secret_absent(&run, secret);
}

#[test]
fn the_secret_reaches_stdout_only_through_secret_to_dash() {
    for output in ["table", "json"] {
        let mut args = vec!["--output", output];
        args.extend(with_sink(UNIT_CREATE, "-"));
        let run = fake_secret_on_stdout(&args, "");
        run.code(0);
        let secret = run.stdout.strip_suffix('\n').expect("one line");
        assert!(secret.starts_with("v2.public."), "{secret}");
        assert!(!secret.contains('\n'));
        assert!(!run.stderr.contains(secret));
        assert_no_secret_shape(&run.stderr, "stderr");
        // The report goes to stderr, where it cannot mix with the secret.
        if output == "json" {
            let report: serde_json::Value =
                serde_json::from_str(&run.stderr).expect("JSON on stderr");
            assert_eq!(report["id"], "5");
        } else {
            run.err().has("created Unit token 5");
        }
    }
}

#[test]
fn unit_revoke_in_both_modes() {
    let run = fake(&["unit", "revoke", "2"], "");
    run.code(0);
    assert_eq!(run.stdout, "revoked Unit token 2\n");
    assert_eq!(run.ids("unit"), ["1", "3", "4"]);

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
    run.out().has("account:3229:admin").has("never");

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
    fake(&["mailtrap", "get", &id], "")
        .code(0)
        .out()
        .has("legacy webhook");
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
    let (run, secret) = fake_into_file(
        "mailtrap create --name 'CI sender' --permission account:3229:viewer \
         --permission sandbox:17:100 --expires never --output json",
        "",
    );
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
    assert_eq!(secret.len(), 32);
    let last4 = json["last_4_digits"].as_str().expect("last 4");
    assert!(secret.ends_with(last4));

    let env = FileSink::env_file("MAILTRAP_TOKEN");
    let line = "mailtrap create --name 'CI sender' --permission account:3229:admin \
                --expires 2030-01-31T12:00:00Z";
    let run = fake(&env.after(&words(line)), "");
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
            env.path().display()
        )),
        "{}",
        run.stdout
    );
    let line = std::fs::read_to_string(env.path()).expect("env file");
    let secret = line
        .strip_prefix("MAILTRAP_TOKEN=")
        .and_then(|l| l.strip_suffix('\n'))
        .expect("one line");
    assert_secret_absent(&run, secret);
}

#[test]
fn mailtrap_reset_mints_a_renamed_token() {
    let listed = fake(&["--output", "json", "mailtrap", "list"], "").json();
    let id = listed[1]["id"].to_string();
    for output in ["table", "json"] {
        let mut line = format!("--output {output} mailtrap reset {id}");
        if output == "json" {
            line.push_str(" --expires 2030-01-31T12:00:00Z");
        }
        let (run, _) = fake_into_file(&line, "");
        let held = run.tokens("mailtrap");
        let new = held.last().expect("the new token");
        assert_eq!(new.1, format!("legacy webhook {}", new.0));
        if output == "json" {
            let json = run.json();
            assert_eq!(json["id"].to_string(), new.0);
            assert_eq!(json["expires_at"], "2030-01-31T12:00:00Z");
        } else {
            run.out().has(&format!("new token {}", new.0));
        }
    }
}

#[test]
fn a_sink_that_cannot_take_the_secret_is_refused_before_any_request() {
    let dir = scratch();
    let missing = dir.path().join("no-such-dir").join("token");
    let a_dir = dir.path().join("a-dir");
    std::fs::create_dir(&a_dir).expect("directory");
    let twice = dir.path().join(".env");
    std::fs::write(&twice, "TOKEN=a\nOTHER=b\nexport TOKEN=c\n").expect("env file");
    let env_spec = |path: &std::path::Path| format!("env-file:{}:TOKEN", path.display());
    let sinks = [
        (file_spec(&missing), "does not exist"),
        (env_spec(&missing), "does not exist"),
        (file_spec(&a_dir), "is a directory"),
        (env_spec(&a_dir), "is a directory"),
        (env_spec(&twice), "assigned on lines [1, 3]"),
    ];
    // Every command that takes `--secret-to`.
    let commands = [
        UNIT_CREATE,
        "unit rotate 1 --scope customers --expires-in 1d",
        MAILTRAP_CREATE,
        "mailtrap reset 12345",
        "mailtrap rotate 12345",
        "mailtrap rotate 12345 --recreate",
    ];
    for command in commands {
        for (spec, says) in &sinks {
            let run = refused_before_any_request(&with_sink(command, spec), says);
            run.err().one_line().has("--secret-to");
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
    for (command, service, says) in [
        (
            UNIT_CREATE,
            "unit",
            "revoked, since nobody holds its secret",
        ),
        (
            MAILTRAP_CREATE,
            "mailtrap",
            "deleted, since nobody holds its secret",
        ),
    ] {
        let session = Session::new();
        let mut command = session.command(&with_sink(command, "-"), "");
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

    let sink = FileSink::env_file("MAILTRAP_TOKEN");
    let env = sink.path();
    std::fs::write(env, "REGION=eu\n").expect("env file");
    let args = sink.after(&words(
        "mailtrap create --name ci --permission account:3229:viewer",
    ));
    for (mode, readers) in [
        (0o644, Some("its group and others")),
        (0o640, Some("its group")),
        (0o604, Some("others")),
        (0o600, None),
    ] {
        std::fs::set_permissions(env, std::fs::Permissions::from_mode(mode)).expect("chmod");
        let run = fake(&args, "");
        run.code(0);
        match readers {
            Some(readers) => {
                run.err()
                    .one_line()
                    .begins("api-tokens: warning: the env file")
                    .has(&format!("readable by {readers} (mode {mode:04o})"))
                    .has("chmod 600");
            }
            None => {
                run.err().empty();
            }
        }
        // With the library's log on, still said once.
        let verbose = fake(&[&["-v"], args.as_slice()].concat(), "");
        let said = verbose.stderr.matches("readable by").count();
        assert_eq!(said, usize::from(readers.is_some()), "{}", verbose.stderr);
        // The mode is kept, as documented.
        let kept = std::fs::metadata(env)
            .expect("env file")
            .permissions()
            .mode();
        assert_eq!(kept & 0o777, mode);
    }
}

/// A create of a token "lost one" on each service, without its sink, with
/// faults that lose its answer and then do `then` to its service.
fn lost_creates(then: &str) -> [(&'static str, String, &'static str); 2] {
    [
        (
            "unit create --description 'lost one' --scope customers --expires-in 1d",
            "unit",
        ),
        (
            "mailtrap create --name 'lost one' --permission account:3229:viewer",
            "mailtrap",
        ),
    ]
    .map(|(line, service)| {
        let mut faults = format!("{service}:create:lose-answer");
        if !then.is_empty() {
            faults.push_str(&format!(",{service}:{then}"));
        }
        (line, faults, service)
    })
}

#[test]
fn a_create_whose_answer_is_lost_is_reconciled_and_leaves_one_token() {
    for (line, faults, service) in lost_creates("") {
        let (run, _) = fake_into_file(line, &faults);
        let minted: Vec<_> = run
            .tokens(service)
            .into_iter()
            .filter(|t| t.1.starts_with("lost one"))
            .collect();
        // The lost answer's token was found by its marker and removed.
        assert_eq!(minted.len(), 1, "exactly one token: {minted:?}");
        assert!(minted[0].1.starts_with("lost one [at:"), "{minted:?}");
        run.out().has("minted by a create whose answer was lost");
    }
}

#[test]
fn a_create_whose_lost_answer_cannot_be_reconciled_exits_4_and_reconcile_removes_it() {
    for (line, faults, service) in lost_creates("list:503:times=50") {
        let session = Session::new();
        let sink = FileSink::new("token");
        let run = session.run(&sink.after(&words(line)), &faults);
        run.code(4).out().empty().err().one_line();
        assert!(!sink.path().exists(), "no secret to store");
        let marker = &marker_in(&run.stderr);
        run.err().has(&format!(
            "`api-tokens reconcile --marker {marker}` removes it"
        ));
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
    for command in ["unit create --description x", "unit rotate 1"] {
        let mut args = words(command);
        args.extend(with_sink("--scope customers,bogus --expires-in 1d", "-"));
        let run = refused_before_any_request(
            &args,
            "`bogus` is not a scope Unit knows; the known scopes are: ",
        );
        run.err().has("customers, customers-write");
        // Refused while reading the arguments: the fakes never started.
        assert!(run.state.is_none());
    }
}

#[test]
fn a_token_that_does_not_exist_is_exit_1_for_every_command() {
    let cases = [
        words("unit revoke 999"),
        with_sink("unit rotate 999 --scope customers --expires-in 1d", "-"),
        words("mailtrap get 99999"),
        words("mailtrap delete 99999"),
        with_sink("mailtrap reset 99999", "-"),
        with_sink("mailtrap rotate 99999", "-"),
        with_sink("mailtrap rotate 99999 --recreate", "-"),
    ];
    for args in cases {
        let run = fake(&args, "");
        // Nothing on stdout: no secret was minted.
        run.fails_with(1, "999");
        assert_eq!(run.tokens("unit").len(), 4);
        assert_eq!(run.tokens("mailtrap").len(), 4);
    }
}

/// Issue 27, item 5: a duration too long for a date is refused with exit
/// 2 before any request, on every option that takes one (it panicked).
#[test]
fn huge_durations_are_refused_before_any_request() {
    for line in [
        "unit create --description d --scope customers --expires-in 1000000y --secret-to -",
        "unit rotate 1 --scope customers --expires-in 1000000y --secret-to -",
        "unit rotate 1 --scope customers --expires-in 90d --lease 1000000y --secret-to -",
        "mailtrap rotate 12345 --lease 1000000y --secret-to -",
        "audit --within 1000000y",
        "audit --stale-after 1000000y",
        "reconcile --older-than 1000000y",
    ] {
        let run = refused_before_any_request(&words(line), "too long");
        assert!(!run.stderr.contains("panicked"), "{line}: {}", run.stderr);
    }
    // The tokens file's durations: refused at load, naming the line.
    for key in ["lifetime", "rotate_after", "rotate_before_expiry"] {
        let dir = scratch();
        let file = dir.path().join("tokens.toml");
        let spec = file_spec(&dir.path().join("unit.token"));
        let mut text = format!(
            "[[unit]]\ndescription = \"ci\"\nscopes = [\"customers\"]\nsecret_to = \"{spec}\"\n"
        );
        if key != "lifetime" {
            text.push_str("lifetime = \"90d\"\n");
        }
        text.push_str(&format!("{key} = \"1000000y\"\n"));
        std::fs::write(&file, text).unwrap();
        let path = file.display().to_string();
        for command in ["plan", "apply"] {
            let run = refused_before_any_request(&[command, "-f", &path], "too long");
            run.err().has(key);
        }
    }
}

/// A label with a control character (a line break, a tab) or a tokens
/// file's namespace tag is refused on the command line as the tokens file
/// refuses it: exit 2, before any request, on every option that names a
/// token.
#[test]
fn labels_a_tokens_file_refuses_are_refused_before_any_request() {
    for (bad, says) in [
        ("two\nlines", "control character"),
        ("tab\there", "control character"),
        ("bell\u{7}", "control character"),
        // A tokens file's namespace tag: `apply --prune` of that file
        // would take the token for its own and remove it.
        ("evil [ns:team-a]", "namespace tag"),
    ] {
        let cases: [Vec<&str>; 3] = [
            vec![
                "unit",
                "create",
                "--description",
                bad,
                "--scope",
                "customers",
                "--expires-in",
                "1d",
                "--secret-to",
                "-",
            ],
            vec![
                "unit",
                "rotate",
                "1",
                "--description",
                bad,
                "--scope",
                "customers",
                "--expires-in",
                "1d",
                "--secret-to",
                "-",
            ],
            vec![
                "mailtrap",
                "create",
                "--name",
                bad,
                "--permission",
                "account:3229:admin",
                "--secret-to",
                "-",
            ],
        ];
        for args in cases {
            refused_before_any_request(&args, says);
        }
    }
}

/// A create whose lost answer made no token that can be listed is named by
/// its marker, with the command that removes its token should one appear.
#[test]
fn a_create_whose_lost_answer_made_nothing_names_its_marker() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sink = format!("file:{}", dir.path().join("x.token").display());
    let run = fake(
        &with_sink(
            "unit create --description x --scope customers --expires-in 1d",
            &sink,
        ),
        "unit:create:drop",
    );
    run.code(0);
    assert!(
        run.stdout.contains("made no token that could be listed")
            && run.stdout.contains("api-tokens reconcile --marker '[at:"),
        "{}",
        run.stdout
    );
}
