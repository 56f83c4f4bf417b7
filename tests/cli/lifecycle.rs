//! `rotate`, `audit` and `reconcile` run as processes on the `--fake`
//! services, in both output modes: lost answers reconciled (exit 0) or
//! reported (exit 4) and then cleaned up, audit findings (exit 3), failures
//! after the secret is stored (exit 1), and never a secret outside the sink.
//!
//! The fakes start seeded: Unit tokens 1 "CI deploy" (expiring, from
//! 10.0.0.0/8), 2 "payments backend" (from any address), 3 "old reporting"
//! (expired) and 4, the orphan of an interrupted rotation of token 1;
//! Mailtrap tokens 12345 "admin console" (admin), 12346 "legacy webhook"
//! (never expires), 12347 "staging sender" (expiring) and 12348, an orphan.

use crate::cli_support;

use cli_support::{
    FileSink, Run, Session, fake, fake_into_file, marker_in, read_secret,
    refused_before_any_request, words,
};

/// The rotation of Unit token 1, without its sink.
const UNIT_ROTATE: &str =
    "unit rotate 1 --scope customers,accounts --expires-in 90d --source-ip 10.0.0.0/8";

/// Whether a run left a token of `service` with this id.
fn holds(run: &Run, service: &str, id: &str) -> bool {
    run.ids(service).iter().any(|held| held == id)
}

#[test]
fn unit_rotate_replaces_the_token_and_removes_what_an_earlier_run_left() {
    for output in ["table", "json"] {
        let (run, secret) = fake_into_file(&format!("--output {output} {UNIT_ROTATE}"), "");
        assert!(secret.starts_with("v2.public."));
        // Token 1 revoked, the earlier run's token 4 removed, one new token.
        assert_eq!(run.ids("unit"), ["2", "3", "5"]);
        let new = &run.names("unit")[2];
        assert!(
            new.starts_with("CI deploy [at:") && new.ends_with(" from:1]"),
            "{new}"
        );
        if output == "json" {
            let json = run.json();
            assert_eq!(json["old"]["id"], "1");
            assert_eq!(json["new"]["id"], "5");
            assert_eq!(json["method"], "create");
            assert_eq!(json["old_state"]["state"], "revoked");
            assert_eq!(json["removed"][0]["id"], "4");
        } else {
            run.out()
                .has("rotated Unit token 1")
                .has("old token 1 revoked")
                .has("removed token 4");
        }
    }
}

#[test]
fn unit_rotate_whose_create_answer_is_lost_reconciles_and_exits_0() {
    for output in ["table", "json"] {
        let line = format!("--output {output} {UNIT_ROTATE}");
        let (run, _) = fake_into_file(&line, "unit:create:lose-answer");
        // The token the lost answer minted (5) was revoked; 6 holds.
        assert_eq!(run.ids("unit"), ["2", "3", "6"], "no orphan is left");
        if output == "json" {
            let json = run.json();
            let mut removed: Vec<&str> = json["removed"]
                .as_array()
                .expect("removed")
                .iter()
                .map(|t| t["id"].as_str().expect("id"))
                .collect();
            removed.sort_unstable();
            assert_eq!(removed, ["4", "5"]);
            assert_eq!(json["new"]["id"], "6");
        }
    }
}

#[test]
fn unit_rotate_that_cannot_reconcile_exits_4_and_reconcile_then_leaves_no_orphan() {
    let session = Session::new();
    let sink = FileSink::new("unit.token");
    let args = sink.after(&words(UNIT_ROTATE));
    // The first list (step 0) passes; every list after the lost answer fails.
    let failed = session.run(
        &args,
        "unit:create:lose-answer,unit:list:503:nth=2:times=50",
    );
    failed.code(4).out().empty().err().one_line();
    assert!(!sink.path().exists(), "the sink was not written");
    let marker = marker_in(&failed.stderr);
    // The old token still works; the lost token carries the marker.
    assert!(holds(&failed, "unit", "1"));
    let orphans: Vec<String> = failed
        .names("unit")
        .into_iter()
        .filter(|n| n.contains(&marker))
        .collect();
    assert_eq!(orphans.len(), 1, "{orphans:?}");

    // `reconcile --marker` removes exactly that token, whatever its age.
    let reconciled = session.run(&["--output", "json", "reconcile", "--marker", &marker], "");
    reconciled.code(0);
    let removed = reconciled.json();
    assert_eq!(removed.as_array().map(Vec::len), Some(1), "{removed}");
    assert!(
        removed[0]["name"]
            .as_str()
            .is_some_and(|n| n.ends_with(&marker))
    );
    assert!(
        reconciled
            .names("unit")
            .iter()
            .all(|n| !n.contains(&marker)),
        "no orphan is left"
    );
    assert!(holds(&reconciled, "unit", "1"));
    // Only the named marker: the seeded stale orphans are still there.
    assert!(holds(&reconciled, "unit", "4"));
    assert!(holds(&reconciled, "mailtrap", "12348"));

    // The rotation run again converges.
    let again = session.run(&args, "");
    again.code(0);
    sink.secret_kept_from(&again);
    let unit = again.names("unit");
    assert_eq!(
        unit.iter().filter(|n| n.ends_with(" from:1]")).count(),
        1,
        "{unit:?}"
    );
    assert!(!holds(&again, "unit", "1"));
}

#[test]
fn a_rotation_that_fails_after_storing_exits_1_and_says_what_is_left() {
    let sink = FileSink::new("unit.token");
    let run = fake(&sink.after(&words(UNIT_ROTATE)), "unit:revoke:503:times=50");
    run.code(1)
        .err()
        .one_line()
        .has("step 4")
        .has("the sink holds the secret of token 5");
    // The new secret is stored; the old token is still there to revoke.
    sink.secret_kept_from(&run);
    assert!(holds(&run, "unit", "1"));
}

#[test]
fn rotating_a_token_that_does_not_exist_fails_as_a_revoke_of_it_does() {
    let run = fake(
        &words("unit rotate 99 --scope customers --expires-in 1d --secret-to -"),
        "",
    );
    // Not found: 1, as `unit revoke 99` exits; no secret was minted.
    run.code(1).out().empty().err().has("99");
    fake(&["unit", "revoke", "99"], "").code(1);
    assert_eq!(run.ids("unit"), ["1", "2", "3", "4"]);
}

#[test]
fn mailtrap_rotate_by_reset_lets_the_grace_period_run_or_deletes_the_old_token() {
    for (output, delete_old) in [
        ("table", false),
        ("json", false),
        ("table", true),
        ("json", true),
    ] {
        let mut line = format!("--output {output} mailtrap rotate 12345");
        if delete_old {
            line.push_str(" --delete-old");
        }
        let (run, secret) = fake_into_file(&line, "");
        assert_eq!(secret.len(), 32);
        let held = run.tokens("mailtrap");
        assert!(
            held.contains(&("12349".to_owned(), "admin console 12349".to_owned())),
            "{held:?}"
        );
        assert_eq!(held.iter().any(|t| t.0 == "12345"), !delete_old, "{held:?}");
        if output == "json" {
            let json = run.json();
            assert_eq!(json["method"], "reset");
            assert_eq!(json["new"]["id"], "12349");
            let state = if delete_old {
                "deleted"
            } else {
                "grace-period"
            };
            assert_eq!(json["old_state"]["state"], state);
        } else if delete_old {
            run.out().has("old token 12345 deleted");
        } else {
            run.out().has("old token 12345 keeps working until");
        }
    }
}

#[test]
fn mailtrap_rotate_whose_reset_answer_is_lost_reconciles_and_exits_0() {
    let (run, _) = fake_into_file(
        "--output json mailtrap rotate 12345 --delete-old",
        "mailtrap:reset:lose-answer",
    );
    let json = run.json();
    // The reset's token (12349) was found and deleted; a create followed.
    assert_eq!(json["method"], "create");
    assert_eq!(json["removed"][0]["id"], "12349");
    let held = run.tokens("mailtrap");
    assert!(
        held.iter().all(|t| t.0 != "12345" && t.0 != "12349"),
        "{held:?}"
    );
    let successors: Vec<_> = held
        .iter()
        .filter(|t| t.1.ends_with(" from:12345]"))
        .collect();
    assert_eq!(successors.len(), 1, "{held:?}");
    assert_eq!(json["new"]["id"].as_str(), Some(successors[0].0.as_str()));
}

/// Without `--delete-old`, the old token is kept after a lost reset: the
/// table says so in words (not as Rust's debug text).
#[test]
fn mailtrap_rotate_whose_reset_answer_is_lost_says_the_old_token_is_kept() {
    let (run, _) = fake_into_file("mailtrap rotate 12345", "mailtrap:reset:lose-answer");
    assert!(
        run.stdout
            .contains("old token 12345 was kept; it keeps working until"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("Kept {"), "{}", run.stdout);
    // And why a create followed.
    assert!(
        run.stdout.contains("the reset's answer was lost"),
        "{}",
        run.stdout
    );
}

#[test]
fn mailtrap_rotate_recreating_whose_create_answer_is_lost_exits_0() {
    let (run, _) = fake_into_file(
        "mailtrap rotate 12346 --recreate",
        "mailtrap:create:lose-answer",
    );
    let held = run.tokens("mailtrap");
    assert!(
        held.iter().all(|t| t.0 != "12346"),
        "the old token is deleted: {held:?}"
    );
    let successors: Vec<_> = held
        .iter()
        .filter(|t| t.1.starts_with("legacy webhook [at:"))
        .collect();
    assert_eq!(successors.len(), 1, "exactly one successor: {held:?}");
}

#[test]
fn mailtrap_rotate_that_cannot_reconcile_a_lost_reset_exits_4() {
    let session = Session::new();
    let sink = FileSink::new("mt.token");
    let mut args = sink.after(&words("mailtrap rotate 12345"));
    let failed = session.run(
        &args,
        "mailtrap:reset:lose-answer,mailtrap:list:503:nth=2:times=50",
    );
    failed
        .code(4)
        .out()
        .empty()
        .err()
        .one_line()
        .has("run the same rotate command again");
    assert!(!sink.path().exists());
    // The old token is still held; the reset's token remains, and runs again
    // converge. Run at once, the lost reset's token would count as another
    // rotation still in flight: no lease says there is none.
    assert!(holds(&failed, "mailtrap", "12345"));
    failed.err().has("--lease 0s");
    args.extend(["--lease", "0s"]);
    let again = session.run(&args, "");
    again.code(0);
    sink.secret_kept_from(&again);
    let held = again.tokens("mailtrap");
    assert!(
        held.iter().all(|t| t.1 != "admin console 12349"),
        "the lost reset's token is removed: {held:?}"
    );
}

/// The help of one command, its white space folded.
fn help_text(command: &str) -> String {
    let mut args = words(command);
    args.push("--help");
    let help = fake(&args, "");
    help.code(0);
    help.stdout.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn mailtrap_rotate_recreate_names_the_new_token_with_a_marker_and_says_so() {
    let (run, _) = fake_into_file("--output json mailtrap rotate 12345 --recreate", "");
    run.err().empty();
    let json = run.json();
    assert_eq!(json["method"], "create");
    let name = json["new"]["name"].as_str().expect("a name");
    assert!(
        name.starts_with("admin console [at:") && name.ends_with(" from:12345]"),
        "{name}"
    );
    let held = run.tokens("mailtrap");
    assert!(
        held.iter().all(|t| t.0 != "12345"),
        "old one deleted: {held:?}"
    );

    // The help says what --recreate does; --keep-name is not shown.
    let text = help_text("mailtrap rotate");
    assert!(text.contains("--recreate"), "{text}");
    assert!(
        text.contains(
            "create a new token with the old one's permissions, named \"NAME [at:… from:ID]\""
        ),
        "{text}"
    );
    assert!(!text.contains("--keep-name"), "{text}");
}

#[test]
fn keep_name_still_works_as_recreate_with_one_deprecation_line() {
    let (run, _) = fake_into_file("mailtrap rotate 12346 --keep-name --delete-old", "");
    run.err()
        .one_line()
        .begins("api-tokens: warning: --keep-name is deprecated")
        .has("named \"<name of token 12346> [at:… from:12346]\"; write --recreate");
    let held = run.names("mailtrap");
    assert!(
        held.iter()
            .any(|n| n.starts_with("legacy webhook [at:") && n.ends_with(" from:12346]")),
        "{held:?}"
    );
}

#[test]
fn help_lists_exit_codes_0_to_5() {
    let run = fake(&["--help"], "");
    run.code(0);
    let codes = run
        .stdout
        .split("Exit codes:")
        .nth(1)
        .expect("an exit-code section");
    for (code, says) in [
        (0, "success; for a rotation, this run completed it"),
        (1, "or the token named does not exist"),
        (2, "usage error"),
        (3, "--fail-on"),
        (4, "outcome unknown"),
        (
            5,
            "superseded: another run of the same rotation replaced the token first",
        ),
    ] {
        let flat = codes.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(flat.contains(says), "{code}: {flat}");
        assert!(codes.contains(&format!("\n  {code}  ")), "{code}: {codes}");
    }
}

/// The line of standard output naming `token`.
#[track_caller]
fn line_of<'a>(run: &'a Run, token: &str) -> &'a str {
    run.stdout
        .lines()
        .find(|l| l.contains(token))
        .unwrap_or_else(|| panic!("{token}: {}", run.stdout))
}

#[test]
fn audit_in_both_modes_and_fail_on() {
    let run = fake(&["audit"], "");
    run.code(0);
    for (line_has, kinds) in [
        ("CI deploy  ", "expiring"),
        ("payments backend", "unrestricted"),
        ("old reporting", "expired"),
        ("admin console", "over-privileged"),
        ("legacy webhook", "never-expires"),
        ("nightly export", "orphan"),
    ] {
        let line = line_of(&run, line_has);
        assert!(
            line.ends_with(kinds)
                || line.contains(&format!("{kinds},"))
                || line.contains(&format!(",{kinds}")),
            "{line}"
        );
    }
    assert!(
        run.stdout
            .lines()
            .last()
            .is_some_and(|l| l.starts_with("flagged: 1 expired, 2 expiring")),
        "{}",
        run.stdout
    );

    let run = fake(&words("--output json audit --within 1d"), "");
    run.code(0);
    let json = run.json();
    assert_eq!(json["expiring_within_secs"], 86_400);
    let services: Vec<&str> = json["services"]
        .as_array()
        .expect("services")
        .iter()
        .map(|s| s["service"].as_str().expect("service"))
        .collect();
    assert_eq!(services, ["unit", "mailtrap"]);
    // Within a day, nothing is expiring.
    assert!(!run.stdout.contains("\"expiring\""), "{}", run.stdout);

    // --fail-on: the report is printed, then exit 3 with one line.
    for output in ["table", "json"] {
        let mut args = vec!["--output", output];
        args.extend(words("audit --fail-on orphan,expired"));
        let run = fake(&args, "");
        run.code(3);
        assert!(!run.stdout.is_empty());
        assert_eq!(
            run.stderr,
            "api-tokens: the audit found expired, orphan (named by --fail-on)\n"
        );
    }
    fake(&words("audit --within 1d --fail-on expiring"), "").code(0);
}

/// Asserts the lines of standard output: each as `expected` writes it,
/// or, where that ends in `…`, starting with what comes before.
#[track_caller]
fn assert_lines(run: &Run, expected: &[&str]) {
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), expected.len(), "{}", run.stdout);
    for (line, expected) in lines.iter().zip(expected) {
        match expected.strip_suffix('…') {
            Some(start) => assert!(line.starts_with(start), "{line}"),
            None => assert_eq!(line, expected),
        }
    }
}

#[test]
fn reconcile_removes_stale_orphans_and_nothing_else() {
    let session = Session::new();
    let run = session.run(&["reconcile"], "");
    run.code(0);
    // Unit token 4 replaces token 1, which is still live: it is the newest
    // replacement, whose secret a rotation that stopped before retiring
    // token 1 may have stored, so it is kept.
    assert_lines(
        &run,
        &["removed Mailtrap token 12348 \"nightly export [at:…"],
    );
    assert_eq!(run.ids("unit"), ["1", "2", "3", "4"]);
    assert_eq!(run.ids("mailtrap"), ["12345", "12346", "12347"]);
    let again = session.run(&words("reconcile --older-than 1m"), "");
    again.code(0);
    assert_eq!(again.stdout, "no orphan found\n");

    // Younger than the age asked, or kept: not removed.
    let run = fake(&words("--output json reconcile --older-than 12h"), "");
    run.code(0);
    assert_eq!(run.json(), serde_json::json!([]));
    let run = fake(&words("--output json reconcile --keep 12348"), "");
    run.code(0);
    assert_eq!(run.json(), serde_json::json!([]));
    assert!(holds(&run, "mailtrap", "12348"));
    assert!(holds(&run, "unit", "4"));

    // A failing list is a service failure.
    fake(&["reconcile"], "mailtrap:list:503:times=50")
        .code(1)
        .err()
        .has("Mailtrap reconcile failed");
}

#[test]
fn verbose_tracing_goes_to_stderr_without_a_secret() {
    fake(&["-v", "mailtrap", "list"], "mailtrap:list:503")
        .code(0)
        .err()
        .has("retrying")
        .has("api_tokens.call");

    let (run, _) = fake_into_file(
        "-vv mailtrap create --name ci --permission account:3229:viewer",
        "",
    );
    run.err().has("operation=\"create\"");

    let quiet = fake(&["mailtrap", "list"], "mailtrap:list:503");
    quiet.code(0);
    assert!(
        quiet.stderr.is_empty(),
        "no progress line off a terminal: {:?}",
        quiet.stderr
    );
}

#[test]
fn a_rotation_to_stdout_prints_the_secret_alone_there_and_the_report_on_stderr() {
    for output in ["table", "json"] {
        let mut args = vec!["--output", output];
        args.extend(words("mailtrap rotate 12346 --secret-to -"));
        let run = cli_support::fake_secret_on_stdout(&args, "");
        run.code(0);
        let secret = run.stdout.strip_suffix('\n').expect("one line");
        assert_eq!(secret.len(), 32, "{:?}", run.stdout);
        assert!(secret.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(!run.stderr.contains(secret));
        if output == "json" {
            let report: serde_json::Value = serde_json::from_str(&run.stderr).expect("JSON");
            assert_eq!(report["old"]["id"], "12346");
        } else {
            run.err().has("rotated Mailtrap token 12346");
        }
    }
}

#[test]
fn reconcile_keep_checks_ids_per_service() {
    // An id that is no Unit id (leading zeros) or no id at all: refused
    // before any request, nothing removed.
    for (keep, says) in [
        ("0004", "--keep 0004: not a Unit token id"),
        ("abc", "`abc` is not a token id"),
        ("4,x", "`x` is not a token id"),
    ] {
        let run = refused_before_any_request(&["reconcile", "--keep", keep], says);
        if keep == "0004" {
            // Refused by the Unit check, after the fakes started.
            assert_eq!(run.ids("unit"), ["1", "2", "3", "4"]);
            assert_eq!(run.ids("mailtrap"), ["12345", "12346", "12347", "12348"]);
        } else {
            // Refused while reading the arguments.
            assert!(run.state.is_none());
        }
    }

    // A kept id protects the token of that id; the others are removed.
    let run = fake(&words("--output json reconcile --keep 4"), "");
    run.code(0);
    let json = run.json();
    assert_eq!(json.as_array().map(Vec::len), Some(1), "{json}");
    assert_eq!(json[0]["id"], "12348");
    assert!(holds(&run, "unit", "4"));
    assert!(!holds(&run, "mailtrap", "12348"));
}

#[test]
fn reconcile_dry_run_lists_what_would_go_and_removes_nothing() {
    let session = Session::new();
    let run = session.run(&["reconcile", "--dry-run"], "");
    run.code(0);
    // Unit token 4, the newest replacement of live token 1, is kept: the
    // dry run applies the removal's own rule.
    assert_lines(
        &run,
        &[
            "would remove Mailtrap token 12348 \"nightly export [at:…",
            "dry run: nothing was removed",
        ],
    );
    assert_eq!(run.ids("unit"), ["1", "2", "3", "4"]);
    assert_eq!(run.ids("mailtrap"), ["12345", "12346", "12347", "12348"]);

    // As JSON: the same list a removal would print, of what would go.
    let run = session.run(&words("--output json reconcile --dry-run --keep 12348"), "");
    run.code(0);
    assert_eq!(run.json(), serde_json::json!([]));
    assert_eq!(run.ids("mailtrap"), ["12345", "12346", "12347", "12348"]);

    // Younger than asked: nothing would go.
    let run = session.run(&words("reconcile --dry-run --older-than 12h"), "");
    run.code(0);
    assert_eq!(
        run.stdout,
        "no orphan found\ndry run: nothing was removed\n"
    );

    // The dry run and the removal agree.
    let listed = |run: &Run| -> Vec<(String, String)> {
        run.json()
            .as_array()
            .expect("a list")
            .iter()
            .map(|t| (t["service"].to_string(), t["id"].to_string()))
            .collect()
    };
    let dry = session.run(&words("--output json reconcile --dry-run"), "");
    dry.code(0);
    let removed = session.run(&words("--output json reconcile"), "");
    removed.code(0);
    assert_eq!(listed(&dry).len(), 1);
    assert_eq!(listed(&dry), listed(&removed));
    assert_eq!(removed.ids("mailtrap"), ["12345", "12346", "12347"]);
}

#[test]
fn audit_keep_spares_held_tokens_from_the_orphan_finding() {
    // The seeded orphans: Unit 4 and Mailtrap 12348.
    let run = fake(
        &words("--output json audit --keep 4,12348 --fail-on orphan"),
        "",
    );
    run.code(0);
    assert!(!run.stdout.contains("\"orphan\""), "{}", run.stdout);
    let run = fake(&words("audit --keep 4 --fail-on orphan"), "");
    run.code(3);
    let line = line_of(&run, "nightly export");
    assert!(line.ends_with("orphan"), "{line}");
    // Checked as reconcile checks them, before any request.
    refused_before_any_request(
        &["audit", "--keep", "0004"],
        "--keep 0004: not a Unit token id",
    );
}

/// Issue 27, item 2: `unit rotate` without `--source-ip` keeps the old
/// token's source addresses (token 1: 10.0.0.0/8); `--source-ip` replaces
/// them and `--any-source-ip` drops them, and the output says so.
#[test]
fn unit_rotate_keeps_the_source_addresses_unless_asked() {
    let base = "unit rotate 1 --scope customers --expires-in 90d";
    for (extra, want) in [
        ("", Some("10.0.0.0/8")),
        ("--source-ip 192.168.1.1", Some("192.168.1.1")),
        ("--any-source-ip", None),
    ] {
        let session = Session::new();
        let sink = FileSink::new("unit.token");
        let line = format!("--output json {base} {extra}");
        let run = session.run(&sink.after(&words(&line)), "");
        run.code(0);
        let json = run.json();
        let new_id = json["new"]["id"].as_str().expect("new id").to_owned();
        let list = session.run(&words("--output json unit list"), "");
        let listed = list.json();
        let new = listed
            .as_array()
            .expect("a list")
            .iter()
            .find(|t| t["id"] == new_id.as_str())
            .expect("the new token listed")
            .clone();
        // As Unit writes it: `sourceIp`, addresses separated by commas.
        let ips: Vec<String> = new["attributes"]["sourceIp"]
            .as_str()
            .map(|s| s.split(',').map(str::to_owned).collect())
            .unwrap_or_default();
        let changes = json["changes"].as_array().expect("changes");
        match want {
            Some("10.0.0.0/8") => {
                assert_eq!(ips, ["10.0.0.0/8"], "{extra}: {new}");
                assert!(changes.is_empty(), "{extra}: {changes:?}");
            }
            Some(ip) => {
                assert_eq!(ips, [ip], "{extra}: {new}");
                assert_eq!(changes[0]["setting"], "source-ips");
                assert_eq!(changes[0]["new"][0], ip);
            }
            None => {
                assert!(ips.is_empty(), "{extra}: {new}");
                assert_eq!(changes[0]["old"][0], "10.0.0.0/8");
                assert_eq!(changes[0]["new"].as_array().map(Vec::len), Some(0));
            }
        }
    }
    // The table says what changed.
    let sink = FileSink::new("unit.token");
    let run = fake(&sink.after(&words(&format!("{base} --any-source-ip"))), "");
    run.code(0)
        .out()
        .has("source addresses changed from 10.0.0.0/8 to any address, as asked");
    // Asking for both is refused before any request.
    refused_before_any_request(
        &sink.after(&words(&format!(
            "{base} --any-source-ip --source-ip 10.0.0.1"
        ))),
        "--any-source-ip",
    );
}

/// Issue 27, item 6: `rotate --if-older-than` makes one rotation of
/// several schedulers: a late run, on the old id or on the new one, is up
/// to date (exit 0, nothing minted).
#[test]
fn unit_rotate_if_older_than_is_up_to_date_after_a_rotation() {
    let session = Session::new();
    let sink = FileSink::new("unit.token");
    let base = "unit rotate 1 --scope customers --expires-in 90d";
    let first = session.run(&sink.after(&words(&format!("--output json {base}"))), "");
    first.code(0);
    let new_id = first.json()["new"]["id"].as_str().unwrap().to_owned();
    let held = sink.secret_kept_from(&first);
    let ids = session.tokens("unit");

    let late = session.run(
        &sink.after(&words(&format!("{base} --if-older-than 1h"))),
        "",
    );
    late.code(0)
        .out()
        .has("up to date: Unit token 1 was already replaced by token")
        .has("nothing was rotated");
    let on_new =
        format!("unit rotate {new_id} --scope customers --expires-in 90d --if-older-than 1h");
    let run = session.run(&sink.after(&words(&format!("--output json {on_new}"))), "");
    run.code(0);
    assert_eq!(run.json()["method"], "up-to-date");
    assert_eq!(run.json()["new"]["id"], new_id.as_str());
    assert_eq!(session.tokens("unit"), ids, "nothing minted or removed");
    assert_eq!(read_secret(sink.path()), held, "the sink is unchanged");
}
