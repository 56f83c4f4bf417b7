//! Bad tokens files: every fault is refused before any request, naming the
//! file, the line and the key.

use api_tokens::chrono::Duration;
use api_tokens::chrono::TimeDelta;
use api_tokens::ensure::{Expires, FileError, LoadError, TokensFile, parse_duration};
use api_tokens::lifecycle::SinkSpec;

const GOOD_MAILTRAP: &str = r#"[[mailtrap]]
name = "ci-deploy"
permissions = ["account:3229:admin"]
expires = "never"
secret_to = "file:/run/secrets/mt"
"#;

const GOOD_UNIT: &str = r#"[[unit]]
description = "ci-deploy"
user_id = "2"
scopes = ["customers", "accounts"]
lifetime = "90d"
source_ips = ["10.0.0.0/8"]
rotate_before_expiry = "14d"
secret_to = "env-file:/run/ci/.env:UNIT_API_TOKEN"
"#;

fn refused(text: &str) -> FileError {
    match TokensFile::parse("ci/tokens.toml", text) {
        Ok(file) => panic!("accepted: {file:?}"),
        Err(e) => e,
    }
}

#[track_caller]
fn assert_at(e: &FileError, line: usize, key: &str) {
    assert_eq!(e.line, Some(line), "{e}");
    assert_eq!(e.key.as_deref(), Some(key), "{e}");
    let shown = e.to_string();
    assert!(
        shown.starts_with(&format!("ci/tokens.toml:{line}: key `{key}`: ")),
        "{shown}"
    );
}

/// `good` with `from` written `to` instead, refused at `line` for `key`.
#[track_caller]
fn refused_edit(good: &str, from: &str, to: &str, line: usize, key: &str) -> FileError {
    assert!(good.contains(from), "{from:?} is not in the good file");
    let e = refused(&good.replace(from, to));
    assert_eq!(e.line, Some(line), "{from:?} -> {to:?}: {e}");
    assert_at(&e, line, key);
    e
}

#[test]
fn a_good_file_loads_with_every_value_typed() {
    let file = TokensFile::parse("t.toml", &format!("{GOOD_MAILTRAP}\n{GOOD_UNIT}")).unwrap();
    let m = &file.mailtrap()[0];
    assert_eq!(m.name, "ci-deploy");
    assert_eq!(m.expires, Expires::Never);
    assert_eq!(m.line, 1);
    assert_eq!(m.secret_to, SinkSpec::File("/run/secrets/mt".into()));
    let u = &file.unit()[0];
    assert_eq!(u.line, 7);
    assert_eq!(u.user_id.as_ref().map(|u| u.as_str()), Some("2"));
    assert_eq!(u.lifetime, Duration::days(90));
    assert_eq!(u.rotate.before_expiry, Some(Duration::days(14)));
    assert_eq!(u.source_ips[0].to_string(), "10.0.0.0/8");
    assert_eq!(file.mailtrap_accounts(), [3229]);
    assert!(!file.needs_default_mailtrap());
    assert!(!file.needs_default_unit_user());
}

#[test]
fn an_unknown_key_is_named_with_its_line() {
    let e = refused(&format!("{GOOD_MAILTRAP}rotate_every = \"30d\"\n"));
    assert_at(&e, 6, "rotate_every");
    let e = refused("[[vault]]\nname = \"x\"\n");
    assert_eq!(e.key.as_deref(), Some("vault"), "{e}");
    assert_eq!(e.line, Some(1));
}

#[test]
fn a_missing_key_is_named() {
    let e = refused("[[unit]]\ndescription = \"x\"\nscopes = [\"customers\"]\nlifetime = \"9d\"\n");
    assert_eq!(e.key.as_deref(), Some("secret_to"), "{e}");
    assert!(e.line.is_some());
}

#[test]
fn a_duplicate_name_points_at_both_entries() {
    let text = format!(
        "{GOOD_MAILTRAP}\n{}",
        GOOD_MAILTRAP.replace("/run/secrets/mt", "/run/secrets/other")
    );
    let e = refused(&text);
    assert_at(&e, 7, "name");
    assert!(e.message.contains("the first is on line 1"), "{e}");

    let unit = format!(
        "{GOOD_UNIT}\n{}",
        GOOD_UNIT.replace("UNIT_API_TOKEN", "OTHER_TOKEN")
    );
    let e = refused(&unit);
    assert_at(&e, 10, "description");
}

#[test]
fn two_entries_may_not_share_a_sink() {
    let e = refused(&format!(
        "{GOOD_MAILTRAP}\n{}",
        GOOD_UNIT.replace(
            "env-file:/run/ci/.env:UNIT_API_TOKEN",
            "file:/run/secrets/mt"
        )
    ));
    assert_at(&e, 7, "secret_to");
    assert!(e.message.contains("line 1"), "{e}");

    // A `file:` sink replaces the whole file: an env-file sink on it would
    // lose its variable at every apply, and the other way round.
    let e = refused(&format!(
        "{GOOD_MAILTRAP}\n{}",
        GOOD_UNIT.replace(
            "env-file:/run/ci/.env:UNIT_API_TOKEN",
            "env-file:/run/secrets/mt:UNIT_API_TOKEN"
        )
    ));
    assert_at(&e, 7, "secret_to");
    assert!(e.message.contains("same file"), "{e}");
    // Two variables of one env file are two places.
    TokensFile::parse(
        "t.toml",
        &format!(
            "{GOOD_UNIT}\n{}",
            GOOD_UNIT
                .replace("UNIT_API_TOKEN", "OTHER_TOKEN")
                .replace("ci-deploy", "other")
        ),
    )
    .unwrap();
}

#[test]
fn a_value_that_does_not_parse_or_would_be_refused_is_named() {
    let long_name = format!("\"{}\"", "x".repeat(240));
    let permissions_over_lines =
        "permissions = [\n  \"account:3229:admin\",\n  \"account:3229:root\",\n]";
    // The good file, what is written in place of what, where the error
    // points, and what its message says where that matters.
    let cases = [
        (
            GOOD_MAILTRAP,
            "permissions = [\"account:3229:admin\"]",
            permissions_over_lines,
            5,
            "permissions",
            Some("admin, viewer or their numbers"),
        ),
        (
            GOOD_MAILTRAP,
            "[\"account:3229:admin\"]",
            "[]",
            3,
            "permissions",
            None,
        ),
        (
            GOOD_MAILTRAP,
            "file:/run/secrets/mt",
            "s3://bucket/token",
            5,
            "secret_to",
            Some("file:PATH"),
        ),
        (GOOD_UNIT, ":UNIT_API_TOKEN", "", 8, "secret_to", None),
        // Lifetimes Unit would refuse, and a rotation not shorter than one.
        (GOOD_UNIT, "\"90d\"", "\"0d\"", 5, "lifetime", Some("zero")),
        (
            GOOD_UNIT,
            "\"90d\"",
            "\"90\"",
            5,
            "lifetime",
            Some("no unit"),
        ),
        (
            GOOD_UNIT,
            "\"90d\"",
            "\"3000000d\"",
            5,
            "lifetime",
            Some("year 10000"),
        ),
        (
            GOOD_UNIT,
            "\"90d\"",
            "\"ninety days\"",
            5,
            "lifetime",
            Some("not a duration"),
        ),
        (
            GOOD_UNIT,
            "\"90d\"",
            "\"10d\"",
            7,
            "rotate_before_expiry",
            Some("not shorter than `lifetime`"),
        ),
        // A Mailtrap expiry past five years, or no expiry at all.
        (
            GOOD_MAILTRAP,
            "\"never\"",
            "\"2000d\"",
            4,
            "expires",
            Some("60 months"),
        ),
        (
            GOOD_MAILTRAP,
            "\"never\"",
            "\"sometimes\"",
            4,
            "expires",
            None,
        ),
        // Other values, checked where they stand.
        (
            GOOD_UNIT,
            "\"accounts\"",
            "\"Accounts Write\"",
            4,
            "scopes",
            None,
        ),
        (
            GOOD_UNIT,
            "10.0.0.0/8",
            "10.0.0.0/99",
            6,
            "source_ips",
            None,
        ),
        (
            GOOD_UNIT,
            "user_id = \"2\"",
            "user_id = \"02\"",
            3,
            "user_id",
            None,
        ),
        (
            GOOD_UNIT,
            "description = \"ci-deploy\"",
            "description = \" \"",
            2,
            "description",
            None,
        ),
        (
            GOOD_MAILTRAP,
            "\"ci-deploy\"",
            "\"ci [at:t4k2ab-7f3k9q2m]\"",
            2,
            "name",
            None,
        ),
        (
            GOOD_MAILTRAP,
            "\"ci-deploy\"",
            long_name.as_str(),
            2,
            "name",
            None,
        ),
    ];
    for (good, from, to, line, key, says) in cases {
        let e = refused_edit(good, from, to, line, key);
        if let Some(says) = says {
            assert!(e.message.contains(says), "{from:?} -> {to:?}: {e}");
        }
    }
    let e = refused(&format!("{GOOD_MAILTRAP}rotate_after = \"1,5d\"\n"));
    assert_at(&e, 6, "rotate_after");
}

#[test]
fn toml_that_does_not_parse_gives_its_line() {
    let e = refused("[[mailtrap]]\nname = \"x\"\npermissions = [\"account:1:admin\"\n");
    assert!(e.line.is_some(), "{e}");
    assert!(e.to_string().starts_with("ci/tokens.toml:"), "{e}");
}

#[test]
fn a_value_pasted_in_the_wrong_place_is_not_repeated() {
    let secret = "a1b2c3d4e5f60718293a4b5c6d7e8f90x7k9";
    let e = refused(&GOOD_MAILTRAP.replace("[\"account:3229:admin\"]", &format!("\"{secret}\"")));
    assert_eq!(e.key.as_deref(), Some("permissions"), "{e}");
    assert!(!e.to_string().contains(secret), "{e}");
    let e =
        refused(&GOOD_MAILTRAP.replace("account:3229:admin", &format!("account:3229:{secret}")));
    assert!(!e.to_string().contains(secret), "{e}");
    let e = refused(&GOOD_MAILTRAP.replace("file:/run/secrets/mt", secret));
    assert!(!e.to_string().contains(secret), "{e}");
}

#[test]
fn a_missing_file_is_a_read_error_naming_it() {
    match TokensFile::load("/nonexistent/tokens.toml") {
        Err(LoadError::Read { path, .. }) => {
            assert_eq!(path.to_str(), Some("/nonexistent/tokens.toml"))
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_file_refuses_what_the_command_line_refuses() {
    // A scope Unit does not know (a typo), as `--scope` refuses it.
    let e = refused_edit(
        GOOD_UNIT,
        r#"["customers", "accounts"]"#,
        r#"["customers", "acounts"]"#,
        4,
        "scopes",
    );
    assert!(e.message.contains("not a scope Unit knows"), "{e}");
    assert!(e.message.contains("customers"), "the known scopes: {e}");
    // A label shaped like a marker, even one whose check fails (it would
    // fail only at apply, when the mint refuses it).
    for label in ["ci [at:t0000a-abcdefgh]", "ci [AT:whatever]"] {
        let e = refused_edit(
            GOOD_MAILTRAP,
            "\"ci-deploy\"",
            &format!("\"{label}\""),
            2,
            "name",
        );
        assert!(e.message.contains("marker"), "{e}");
        refused_edit(
            GOOD_UNIT,
            "description = \"ci-deploy\"",
            &format!("description = \"{label}\""),
            2,
            "description",
        );
    }
    // Control characters in a name or description.
    refused_edit(GOOD_MAILTRAP, "\"ci-deploy\"", "\"ci\\ndeploy\"", 2, "name");
    refused_edit(
        GOOD_UNIT,
        "description = \"ci-deploy\"",
        "description = \"ci\\u0007deploy\"",
        2,
        "description",
    );
    // A label shaped like a namespace tag: the tag comes from `namespace`.
    refused_edit(
        GOOD_MAILTRAP,
        "\"ci-deploy\"",
        "\"ci [ns:payments]\"",
        2,
        "name",
    );
}

#[test]
fn a_user_id_may_be_a_number_or_a_string() {
    let file = TokensFile::parse("t.toml", &GOOD_UNIT.replace("\"2\"", "2")).unwrap();
    assert_eq!(
        file.unit()[0].user_id.as_ref().map(|u| u.as_str()),
        Some("2")
    );
    for bad in ["0", "-2", "2.5", "\"two\"", "[2]", "true"] {
        let e = refused(&GOOD_UNIT.replace("\"2\"", bad));
        assert_eq!(e.key.as_deref(), Some("user_id"), "{bad}: {e}");
        assert_eq!(e.line, Some(3), "{bad}: {e}");
        assert!(e.message.contains("positive integers"), "{bad}: {e}");
    }
}

#[test]
fn one_mailtrap_name_in_two_accounts_is_two_tokens() {
    let other = GOOD_MAILTRAP
        .replace("account:3229", "account:4410")
        .replace("/run/secrets/mt", "/run/secrets/other");
    let file = TokensFile::parse("t.toml", &format!("{GOOD_MAILTRAP}\n{other}")).unwrap();
    assert_eq!(file.mailtrap_accounts(), [3229, 4410]);
    // The same account twice is a duplicate still.
    let same = GOOD_MAILTRAP
        .replace(
            "[\"account:3229:admin\"]",
            "[\"account:4410:viewer\", \"account:3229:viewer\"]",
        )
        .replace("/run/secrets/mt", "/run/secrets/third");
    let e = refused(&format!("{GOOD_MAILTRAP}\n{other}\n{same}"));
    assert_at(&e, 13, "name");
    assert!(e.message.contains("in account 4410"), "{e}");
}

#[test]
fn a_key_twice_in_one_entry_is_named() {
    let e = refused(&GOOD_MAILTRAP.replace(
        "expires = \"never\"\n",
        "expires = \"never\"\nname = \"other\"\n",
    ));
    assert_eq!(e.key.as_deref(), Some("name"), "{e}");
    assert_eq!(e.line, Some(5), "{e}");
}

#[test]
fn at_most_one_entry_prints_its_secret() {
    let one = GOOD_MAILTRAP.replace("file:/run/secrets/mt", "-");
    TokensFile::parse("t.toml", &one).unwrap();
    let two = GOOD_UNIT.replace("env-file:/run/ci/.env:UNIT_API_TOKEN", "-");
    let e = refused(&format!("{one}\n{two}"));
    assert_at(&e, 7, "secret_to");
    assert!(e.message.contains("line 1"), "{e}");
}

#[test]
fn a_namespace_is_a_plain_word_at_the_top() {
    let file = TokensFile::parse(
        "t.toml",
        &format!("namespace = \"payments\"\n{GOOD_MAILTRAP}"),
    )
    .unwrap();
    assert_eq!(file.namespace(), Some("payments"));
    assert_eq!(file.service_label("ci-deploy"), "ci-deploy [ns:payments]");
    for bad in ["\"\"", "\"Pay ments\"", "\"a]\"", "3"] {
        let e = refused(&format!("namespace = {bad}\n{GOOD_MAILTRAP}"));
        assert_eq!(e.key.as_deref(), Some("namespace"), "{bad}: {e}");
        assert_eq!(e.line, Some(1), "{bad}: {e}");
    }
    // The tag takes room from Mailtrap's name.
    let long = "n".repeat(195);
    TokensFile::parse("t.toml", &GOOD_MAILTRAP.replace("ci-deploy", &long)).unwrap();
    let e = refused(&format!(
        "namespace = \"payments\"\n{}",
        GOOD_MAILTRAP.replace("ci-deploy", &long)
    ));
    assert_at(&e, 3, "name");
}

#[test]
fn durations_read_units_and_sums() {
    for (text, span) in [
        ("90d", TimeDelta::days(90)),
        ("2w", TimeDelta::days(14)),
        ("1d12h", TimeDelta::hours(36)),
        (" 30m ", TimeDelta::minutes(30)),
        ("45s", TimeDelta::seconds(45)),
        ("3 days", TimeDelta::days(3)),
        ("1h 30min", TimeDelta::minutes(90)),
        ("1.5d", TimeDelta::hours(36)),
        ("3652500d", TimeDelta::days(3_652_500)),
    ] {
        assert_eq!(parse_duration(text).ok(), Some(span), "{text}");
    }
    for bad in [
        "",
        "90",
        "d",
        "0d",
        "-3d",
        "3x",
        "99999999999999999999d",
        "1000000y",
        "3652501d",
    ] {
        assert!(parse_duration(bad).is_err(), "{bad}");
    }
}

#[test]
fn an_entrys_accounts_come_from_its_account_permissions_once() {
    let good = GOOD_MAILTRAP.replace(
        r#"["account:3229:admin"]"#,
        r#"["account:7:admin", "sandbox:1:viewer", "account:8:viewer", "account:7:viewer"]"#,
    );
    let file = TokensFile::parse("t.toml", &good).unwrap();
    assert_eq!(file.mailtrap()[0].accounts(), [7, 8]);
}
