//! The `scrub` area's tests, one module per file of `tests/scrub/`,
//! linked as one test binary.

#[path = "loopback_support/mod.rs"]
mod loopback_support;

#[path = "scrub/content_types.rs"]
mod content_types;
#[path = "scrub/leak_regressions.rs"]
mod leak_regressions;
