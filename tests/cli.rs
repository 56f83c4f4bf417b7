//! The `cli` area's tests, one module per file of `tests/cli/`,
//! linked as one test binary.

#[path = "cli_support/mod.rs"]
mod cli_support;
#[path = "ensure_support/mod.rs"]
mod ensure_support;
#[path = "lifecycle_support/probes.rs"]
mod probes;

#[path = "cli/commands.rs"]
mod commands;
#[path = "cli/concurrent_rotate.rs"]
mod concurrent_rotate;
#[path = "cli/ensure.rs"]
mod ensure;
#[path = "cli/environment.rs"]
mod environment;
#[path = "cli/fake_state.rs"]
mod fake_state;
#[path = "cli/lifecycle.rs"]
mod lifecycle;
#[path = "cli/progress.rs"]
mod progress;
