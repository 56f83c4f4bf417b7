//! The `leak` area's tests, one module per file of `tests/leak/`, linked
//! as one test binary: the leak response of the library and the command
//! line, and the scanner rules.

#[path = "lifecycle_support/mod.rs"]
mod lifecycle_support;

#[path = "leak/cli.rs"]
mod cli;
#[path = "leak/library.rs"]
mod library;
#[path = "leak/scan.rs"]
mod scan;
