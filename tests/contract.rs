//! The `contract` area's tests, one module per file of `tests/contract/`,
//! linked as one test binary.

#[path = "contract/mailtrap.rs"]
mod mailtrap;
#[path = "contract/unit.rs"]
mod unit;
