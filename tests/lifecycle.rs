//! The `lifecycle` area's tests, one module per file of `tests/lifecycle/`,
//! linked as one test binary.

#[path = "lifecycle_support/mod.rs"]
mod lifecycle_support;

#[path = "lifecycle/audit.rs"]
mod audit;
#[path = "lifecycle/concurrent_mailtrap.rs"]
mod concurrent_mailtrap;
#[path = "lifecycle/concurrent_unit.rs"]
mod concurrent_unit;
#[path = "lifecycle/marker.rs"]
mod marker;
#[path = "lifecycle/mint.rs"]
mod mint;
#[path = "lifecycle/regressions.rs"]
mod regressions;
#[path = "lifecycle/rotate_mailtrap.rs"]
mod rotate_mailtrap;
#[path = "lifecycle/rotate_unit.rs"]
mod rotate_unit;
#[path = "lifecycle/sink_pointers.rs"]
mod sink_pointers;
// The record a store keeps exists with a store that keeps one.
#[cfg(any(feature = "aws", feature = "vault"))]
#[path = "lifecycle/sink_record.rs"]
mod sink_record;
#[path = "lifecycle/sink_spec.rs"]
mod sink_spec;
#[path = "lifecycle/sinks.rs"]
mod sinks;
