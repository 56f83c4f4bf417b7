//! The `ensure` area's tests, one module per file of `tests/ensure/`,
//! linked as one test binary.

#[path = "ensure_support/mod.rs"]
mod ensure_support;

#[path = "ensure/file.rs"]
mod file;
#[path = "ensure/plan_apply.rs"]
mod plan_apply;
#[path = "ensure/scale.rs"]
mod scale;
