//! The `transport` area's tests, one module per file of `tests/transport/`,
//! linked as one test binary.

#[path = "hostile_support/mod.rs"]
mod hostile_support;

#[path = "transport/hostile.rs"]
mod hostile;
#[path = "transport/reqwest_interop.rs"]
mod reqwest_interop;
#[path = "transport/tracing_spans.rs"]
mod tracing_spans;
