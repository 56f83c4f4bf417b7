//! The `models` area's tests, one module per file of `tests/models/`,
//! linked as one test binary.

#[path = "models/serde_models.rs"]
mod serde_models;
