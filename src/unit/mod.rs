//! Unit's Org API tokens: the JSON:API dialect.

use secrecy::SecretString;

use crate::error::{Result, Service};
use crate::transport::{AuthScheme, Settings, Stats, Transport, settings::secret_from_env};

/// Unit's sandbox API.
pub const SANDBOX: &str = "https://api.s.unit.sh";
/// Unit's live API.
pub const LIVE: &str = "https://api.unit.co";

/// A client of Unit's API. Cheap to clone; clones share connections.
#[derive(Debug, Clone)]
pub struct Client {
    transport: Transport,
}

/// Builds a [`Client`]; see [`Client::builder`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    settings: Settings,
}

impl Client {
    /// A builder with Unit's sandbox as base URL and Bearer auth.
    pub fn builder() -> ClientBuilder {
        ClientBuilder {
            settings: Settings::new(Service::Unit, SANDBOX, AuthScheme::Bearer),
        }
    }

    /// A client from `UNIT_API_TOKEN` and, when set, `UNIT_API_URL`
    /// (default: the sandbox).
    pub fn from_env() -> Result<Client> {
        let mut builder = Client::builder().token(secret_from_env("UNIT_API_TOKEN")?);
        if let Ok(url) = std::env::var("UNIT_API_URL") {
            builder = builder.base_url(url);
        }
        builder.build()
    }

    /// Requests and retries made so far by this client and its clones.
    pub fn stats(&self) -> Stats {
        self.transport.stats()
    }
}

impl ClientBuilder {
    crate::transport::settings::common_builder_methods!();

    /// Checks the settings and makes the client. Nothing is sent.
    pub fn build(self) -> Result<Client> {
        Ok(Client {
            transport: self.settings.build()?,
        })
    }
}

#[allow(dead_code)]
fn _token_type_check(_: SecretString) {}
