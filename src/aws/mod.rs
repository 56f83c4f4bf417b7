//! AWS in one place (feature `aws`): AWS Secrets Manager as the store of a
//! token's record, and the rotation function Secrets Manager calls.
//!
//! - [`SecretsManagerSink`]: the sink of `--secret-to aws-sm:NAME`, one
//!   [`SecretRecord`](crate::lifecycle::sink::SecretRecord) per version,
//!   made current by a compare-and-set of [`AWSCURRENT`]. It is also a
//!   [`RecordStore`](crate::lifecycle::sink::RecordStore), so the
//!   lifecycle's `rotate_from` (shared with Vault, and kept with the
//!   lifecycle) rotates the token it holds.
//! - [`rotation_function`]: the four steps of a Secrets Manager rotation,
//!   which the binary `api-tokens-aws-rotation` runs on the Lambda runtime.
//!   It mints, probes and retires through the lifecycle's shared
//!   operations, and moves the labels through the sink's code.
//!
//! Both are also reached by their earlier paths:
//! `api_tokens::lifecycle::sink::SecretsManagerSink` (with the label
//! constants and [`SecretsManagerError`]) and
//! `api_tokens::lifecycle::rotation_function`.

pub mod rotation_function;
pub(crate) mod secrets_manager;

pub use secrets_manager::{
    AWSCURRENT, AWSPENDING, AWSPREVIOUS, SecretsManagerError, SecretsManagerSink,
};
