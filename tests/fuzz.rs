//! The `fuzz` area's tests, one module per file of `tests/fuzz/`,
//! linked as one test binary.

#[path = "fuzz_support/mod.rs"]
mod fuzz_support;
#[path = "hostile_support/mod.rs"]
mod hostile_support;

#[path = "fuzz/decoders.rs"]
mod decoders;
#[path = "fuzz/pacing.rs"]
mod pacing;
#[path = "fuzz/record.rs"]
mod record;
#[path = "fuzz/scrub.rs"]
mod scrub;
