//! Where a newly minted token's secret goes: straight from the answer that
//! carried it to the place it lives.
//!
//! A [`SecretSink`] receives the [`SecretString`](secrecy::SecretString) and a [`SecretMeta`] (which
//! service, which token, its name and expiry) and stores the secret. The
//! crate ships:
//!
//! | sink | stores the secret in | spec (`--secret-to`) |
//! | --- | --- | --- |
//! | [`FileSink`] | a file of its own, mode 0600, replaced atomically | `file:PATH` |
//! | [`EnvFileSink`] | one `VAR=value` line of a dotenv file, replaced atomically | `env-file:PATH:VAR` |
//! | [`StdoutSink`] | standard output, one line | `-` |
//! | [`WriterSink`] | any [`AsyncWrite`](tokio::io::AsyncWrite), one line | |
//! | [`FnSink`] | whatever a closure, made by [`from_fn`], does with it | |
//!
//! The last column is the [`SinkSpec`] form the command line's `--secret-to`
//! takes. With features, the crate also ships `SecretsManagerSink` (`aws`,
//! `aws-sm:NAME`) and `VaultKvSink` (`vault`, `vault:MOUNT/PATH`, HashiCorp
//! Vault or OpenBao KV v2). Sinks for other secrets managers (a Kubernetes
//! secret, 1Password) implement the trait in their own crate (see
//! [`SecretSink`] for one sketched), can be named by a scheme of their own
//! ([`register_scheme`]), and checked with the testing kit's store
//! conformance suite.
//!
//! ```
//! use api_tokens::Service;
//! use api_tokens::lifecycle::sink::{FileSink, SecretMeta, SecretSink};
//! use secrecy::SecretString;
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! let path = dir.path().join("deploy.token");
//!
//! let sink = FileSink::new(&path);
//! let meta = SecretMeta::new(Service::Mailtrap, "12345").with_name("CI deploy");
//! sink.store(&SecretString::from("a1b2c3"), &meta).await?;
//! assert_eq!(std::fs::read_to_string(&path)?, "a1b2c3\n");
//! # Ok(()) }
//! ```

mod atomic;
mod closure;
mod dotenv;
mod env_file;
mod file;
pub(crate) mod lock;
mod read_back;
#[cfg(any(feature = "aws", feature = "vault"))]
pub(crate) mod record;
mod schemes;
pub(crate) mod secret_sink;
mod spec;
mod stdout;
#[cfg(feature = "vault")]
mod vault;
mod writer;

#[cfg(feature = "testing")]
pub use atomic::BeforeRename;
pub use closure::{FnSink, from_fn};
pub use env_file::EnvFileSink;
pub use file::FileSink;
pub use lock::WriterLock;
pub use read_back::store_read_back;
#[cfg(any(feature = "aws", feature = "vault"))]
pub use record::{RecordStore, SecretRecord};
pub use schemes::register_scheme;
pub use secret_sink::{SecretMeta, SecretSink, SinkError, WriteStep, async_trait};
// The Secrets Manager sink lives with the rest of AWS, in `crate::aws`.
#[cfg(feature = "aws")]
pub use crate::aws::secrets_manager::{
    AWSCURRENT, AWSPENDING, AWSPREVIOUS, SecretsManagerError, SecretsManagerSink,
};
pub use spec::SinkSpec;
pub use stdout::StdoutSink;
#[cfg(feature = "vault")]
pub use vault::{VaultConfig, VaultError, VaultKvSink};
pub use writer::WriterSink;
