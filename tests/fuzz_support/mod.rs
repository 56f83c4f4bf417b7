//! How many cases a fuzz test runs, and the runner it runs them with.
#![allow(dead_code)]

use proptest::test_runner::{Config, TestRunner};

/// Cases per property: `API_TOKENS_FUZZ_CASES`, or `default`, a number
/// that keeps the file within seconds in a debug build.
pub fn cases(default: u32) -> u32 {
    std::env::var("API_TOKENS_FUZZ_CASES")
        .ok()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(default)
}

/// Settings for exactly `cases` cases, with no file of failures kept.
pub fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// A runner of [`cases`]`(default)` cases.
pub fn runner(default: u32) -> TestRunner {
    TestRunner::new(config(cases(default)))
}
