//! The progress line: drawn on standard error while a call waits, only when
//! it is a terminal. The terminal is a pseudo-terminal made by `script`
//! (util-linux); without it, only the silent case can be run.

mod cli_support;

use std::process::Command;

use cli_support::fake;

fn script_available() -> bool {
    Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn a_slow_call_draws_a_progress_line_on_a_terminal_and_clears_it() {
    if !script_available() {
        eprintln!("`script` is not installed: the terminal case is not run");
        return;
    }
    let dir = cli_support::scratch();
    let log = dir.path().join("typescript");
    let command = format!("{} --fake unit list", env!("CARGO_BIN_EXE_api-tokens"));
    let status = Command::new("script")
        .args(["-q", "-e", "-c", &command])
        .arg(&log)
        .env("API_TOKENS_FAKE_FAULT", "unit:list:slow:ms=1500")
        .env_remove("API_TOKENS_FAKE_STATE")
        .output()
        .expect("script runs");
    assert!(status.status.success(), "{status:?}");
    let screen = std::fs::read_to_string(&log).expect("the terminal's log");
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
