//! The `transport` area's tests, one module per file of `tests/transport/`,
//! linked as one test binary: hostile answers, secrets hidden whatever the
//! content type, a client of one's own, and what the builders' settings
//! do on the wire.

#[path = "hostile_support/mod.rs"]
mod hostile_support;
#[path = "loopback_support/mod.rs"]
mod loopback_support;

#[path = "transport/answers.rs"]
mod answers;
#[path = "transport/hostile.rs"]
mod hostile;
#[path = "transport/leak_regressions.rs"]
mod leak_regressions;
#[path = "transport/redirects.rs"]
mod redirects;
#[path = "transport/reqwest_interop.rs"]
mod reqwest_interop;
#[path = "transport/retries.rs"]
mod retries;
#[path = "transport/scrub_content_types.rs"]
mod scrub_content_types;
#[path = "transport/settings.rs"]
mod settings;
