//! The `spans` area's tests: the spans and events of every call, read
//! through a subscriber each test sets as its thread's default. A binary
//! of their own: tracing caches whether a call site is enabled, and tests
//! of other areas running beside them without a subscriber could make a
//! span go unrecorded.

#[path = "spans/calls.rs"]
mod calls;
