//! The progress line: drawn on standard error while a call waits, only when
//! it is a terminal. The terminal is a pseudo-terminal made by `script`
//! (util-linux); without it, only the silent case can be run.

use crate::cli_support;

use std::process::Command;

use cli_support::fake;

fn script_available() -> bool {
    Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// What a terminal shows of `api-tokens --fake ARGS unit list` with a
/// slow list; `None` without `script`.
fn on_a_terminal(args: &str) -> Option<String> {
    if !script_available() {
        eprintln!("`script` is not installed: the terminal case is not run");
        return None;
    }
    let dir = cli_support::scratch();
    let log = dir.path().join("typescript");
    let command = format!(
        "{} --fake {args} unit list",
        env!("CARGO_BIN_EXE_api-tokens")
    );
    let status = Command::new("script")
        .args(["-q", "-e", "-c", &command])
        .arg(&log)
        .env("API_TOKENS_FAKE_FAULT", "unit:list:slow:ms=1500")
        .env_remove("API_TOKENS_FAKE_STATE")
        .output()
        .expect("script runs");
    assert!(status.status.success(), "{status:?}");
    Some(std::fs::read_to_string(&log).expect("the terminal's log"))
}

#[test]
fn with_v_the_log_takes_the_place_of_the_progress_line() {
    let Some(screen) = on_a_terminal("-v") else {
        return;
    };
    assert!(screen.contains("api_tokens.call"), "{screen}");
    assert!(!screen.contains("waiting ("), "{screen}");
}

#[test]
fn a_slow_call_draws_a_progress_line_on_a_terminal_and_clears_it() {
    let Some(screen) = on_a_terminal("") else {
        return;
    };
    assert!(screen.contains("Unit list: waiting ("), "{screen}");
    // Cleared before the result is printed.
    let last_line = screen.rfind("waiting").expect("drawn");
    let table = screen.find("ID  DESCRIPTION").expect("the result");
    assert!(last_line < table);
    assert!(
        screen[last_line..table].contains("\u{1b}[2K"),
        "the line is cleared"
    );
    cli_support::assert_no_secret_shape(&screen, "the terminal");
}

#[test]
fn off_a_terminal_nothing_is_drawn() {
    let run = fake(&["unit", "list"], "unit:list:slow:ms=1500");
    run.code(0);
    assert!(run.stderr.is_empty(), "{:?}", run.stderr);
    assert!(!run.stdout.contains('\u{1b}'));
}
