//! The `mailtrap` area's tests, one module per file of `tests/mailtrap/`,
//! linked as one test binary.

#[path = "mailtrap/api.rs"]
mod api;
#[path = "mailtrap/paths.rs"]
mod paths;
#[path = "mailtrap/validation.rs"]
mod validation;
