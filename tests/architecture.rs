//! The `architecture` area's tests, one module per file of `tests/architecture/`,
//! linked as one test binary.

#[path = "architecture/import_graph.rs"]
mod import_graph;
