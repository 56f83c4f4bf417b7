//! The `models` area's tests, one module per file of `tests/models/`,
//! linked as one test binary.

#[path = "models/mailtrap_model.rs"]
mod mailtrap_model;
#[path = "models/serde_models.rs"]
mod serde_models;
#[path = "models/unit_source_ip.rs"]
mod unit_source_ip;
