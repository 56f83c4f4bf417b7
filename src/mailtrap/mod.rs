//! Mailtrap's account API tokens: the flat JSON dialect.

use secrecy::SecretString;

use crate::error::{Result, Service};
use crate::transport::{AuthScheme, Settings, Stats, Transport, settings::secret_from_env};

/// Mailtrap's API.
pub const DEFAULT_BASE_URL: &str = "https://mailtrap.io";

/// A client of Mailtrap's API. Cheap to clone; clones share connections.
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
    /// A builder with `https://mailtrap.io` as base URL and the `Api-Token` header.
    pub fn builder() -> ClientBuilder {
        ClientBuilder {
            settings: Settings::new(
                Service::Mailtrap,
                DEFAULT_BASE_URL,
                AuthScheme::Header(reqwest::header::HeaderName::from_static("api-token")),
            ),
        }
    }

    /// A client from `MAILTRAP_API_TOKEN` and, when set, `MAILTRAP_API_URL`
    /// (default: `https://mailtrap.io`).
    pub fn from_env() -> Result<Client> {
        let mut builder = Client::builder().token(secret_from_env("MAILTRAP_API_TOKEN")?);
        if let Ok(url) = std::env::var("MAILTRAP_API_URL") {
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
