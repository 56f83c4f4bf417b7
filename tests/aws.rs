//! The `aws` area's tests, one module per file of `tests/aws/`,
//! linked as one test binary.

#[path = "aws_support/mod.rs"]
mod aws_support;
#[path = "lifecycle_support/mod.rs"]
mod lifecycle_support;

#[path = "aws/cli.rs"]
mod cli;
#[path = "aws/one_room.rs"]
mod one_room;
#[cfg(feature = "aws-lambda")]
#[path = "aws/rotation_function.rs"]
mod rotation_function;
#[path = "aws/sink.rs"]
mod sink;
