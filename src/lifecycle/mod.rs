//! The lifecycle of a token beyond single calls.
//!
//! [`sink`]: where a newly minted token's secret is handed, straight to the
//! place it lives (a file, a line of a dotenv file, standard output, a
//! secrets manager behind the [`SecretSink`] trait).

pub mod sink;

pub use sink::{SecretMeta, SecretSink, SinkError, SinkSpec, async_trait};
