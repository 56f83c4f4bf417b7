//! The `stores` area: secret stores against real servers (a Vault-API
//! server, OpenBao's dev server), and the store conformance suite run on
//! every store the crate ships. One module per file of `tests/stores/`,
//! linked as one test binary (feature `vault`).

#[path = "lifecycle_support/mod.rs"]
mod lifecycle_support;

#[cfg(feature = "aws")]
#[path = "aws_support/mod.rs"]
mod aws_support;
#[path = "stores/cli.rs"]
mod cli;
#[path = "stores/conformance.rs"]
mod conformance;
#[cfg(feature = "aws")]
#[path = "stores/conformance_aws.rs"]
mod conformance_aws;
#[path = "stores/openbao.rs"]
mod openbao;
#[path = "stores/schemes.rs"]
mod schemes;
#[path = "stores/vault_sink.rs"]
mod vault_sink;
