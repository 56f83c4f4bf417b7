//! The `unit` area's tests, one module per file of `tests/unit/`,
//! linked as one test binary.

#[path = "unit/api.rs"]
mod api;
#[path = "unit/errors_shapes.rs"]
mod errors_shapes;
#[path = "unit/validation.rs"]
mod validation;
