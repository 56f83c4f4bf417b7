//! What both dialects' builders share: token, base URL, auth scheme,
//! retries, timeouts, user agent, extra headers, and a bring-your-own
//! `reqwest::Client`.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use secrecy::SecretString;

use super::{Auth, AuthScheme, Inner, RetryPolicy, Transport, parse_base_url};
use crate::error::{Error, Result, Service};

/// Default time allowed to open a connection.
pub(crate) const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time allowed for one whole attempt.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// A change to the `reqwest::ClientBuilder` the crate builds its client with.
pub(crate) type Customize =
    Arc<dyn Fn(reqwest::ClientBuilder) -> reqwest::ClientBuilder + Send + Sync>;

/// The settings a dialect builder collects before `build()`.
#[derive(Clone)]
pub(crate) struct Settings {
    pub service: Service,
    pub token: Option<SecretString>,
    pub base_url: String,
    pub auth: AuthScheme,
    pub retry: RetryPolicy,
    pub connect_timeout: Option<Duration>,
    pub timeout: Option<Duration>,
    pub user_agent_suffix: Option<String>,
    pub http_client: Option<reqwest::Client>,
    pub customize: Option<Customize>,
    pub extra_headers: HeaderMap,
    /// The first refused setting, reported by `build()`.
    pub refused: Option<(&'static str, String)>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("service", &self.service)
            .field("token", &self.token.as_ref().map(|_| "[REDACTED]"))
            .field("base_url", &self.base_url)
            .field("auth", &self.auth)
            .field("retry", &self.retry)
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("user_agent_suffix", &self.user_agent_suffix)
            .field("own_http_client", &self.http_client.is_some())
            .field("customized_http_client", &self.customize.is_some())
            .field("extra_headers", &self.extra_headers)
            .finish()
    }
}

impl Settings {
    pub(crate) fn new(service: Service, base_url: &str, auth: AuthScheme) -> Self {
        Settings {
            service,
            token: None,
            base_url: base_url.to_owned(),
            auth,
            retry: RetryPolicy::default(),
            connect_timeout: Some(DEFAULT_CONNECT_TIMEOUT),
            timeout: Some(DEFAULT_TIMEOUT),
            user_agent_suffix: None,
            http_client: None,
            customize: None,
            extra_headers: HeaderMap::new(),
            refused: None,
        }
    }

    pub(crate) fn header(&mut self, name: &str, value: &str) {
        let parsed = HeaderName::try_from(name)
            .map_err(|_| format!("`{name}` is not a valid header name"))
            .and_then(|n| {
                HeaderValue::try_from(value)
                    .map(|mut v| {
                        v.set_sensitive(true);
                        (n, v)
                    })
                    .map_err(|_| format!("the value for `{name}` is not a valid header value"))
            });
        match parsed {
            Ok((n, v)) => {
                self.extra_headers.insert(n, v);
            }
            Err(reason) => {
                self.refused.get_or_insert(("header", reason));
            }
        }
    }

    pub(crate) fn user_agent(&self) -> Result<HeaderValue> {
        let mut ua = format!("api-tokens/{}", env!("CARGO_PKG_VERSION"));
        if let Some(suffix) = &self.user_agent_suffix {
            ua.push(' ');
            ua.push_str(suffix.trim());
        }
        HeaderValue::try_from(ua).map_err(|_| {
            Error::invalid(
                "user_agent_suffix",
                "the suffix holds characters a header cannot carry",
            )
        })
    }

    /// Checks every setting and makes the transport. Nothing is sent.
    pub(crate) fn build(self) -> Result<Transport> {
        if let Some((field, reason)) = self.refused {
            return Err(Error::invalid(field, reason));
        }
        let token = self.token.clone().ok_or_else(|| {
            Error::invalid(
                "token",
                "no token was given (set it on the builder or in the environment)",
            )
        })?;
        let auth = Auth::new(self.auth.clone(), token)?;
        let base = parse_base_url(&self.base_url)?;
        let user_agent = self.user_agent()?;
        let http = match self.http_client {
            Some(client) => client,
            None => {
                let mut builder = reqwest::Client::builder();
                if let Some(customize) = &self.customize {
                    builder = customize(builder);
                }
                // Set after the customization, so that it cannot be undone.
                builder = builder
                    .redirect(reqwest::redirect::Policy::none())
                    .pool_idle_timeout(Duration::from_secs(60));
                if let Some(ct) = self.connect_timeout {
                    builder = builder.connect_timeout(ct);
                }
                builder.build().map_err(|e| {
                    Error::invalid(
                        "http_client",
                        format!("the HTTP client could not be built: {e}"),
                    )
                })?
            }
        };
        Ok(Transport {
            inner: Arc::new(Inner {
                service: self.service,
                base,
                http,
                auth,
                retry: self.retry,
                timeout: self.timeout,
                user_agent,
                extra_headers: self.extra_headers,
                requests: AtomicU64::new(0),
                retries: AtomicU64::new(0),
                last_rate_limit: Mutex::new(None),
            }),
        })
    }
}

/// Reads an environment variable into a secret without copying it around.
pub(crate) fn secret_from_env(name: &'static str) -> Result<SecretString> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => Ok(SecretString::from(v)),
        _ => Err(Error::invalid(
            name,
            "the environment variable is not set or empty",
        )),
    }
}

/// The builder methods both dialects share, documented once.
macro_rules! common_builder_methods {
    () => {
        /// The API token to authenticate with. It stays a
        /// [`SecretString`](secrecy::SecretString) and is only written into
        /// a header marked sensitive.
        pub fn token(mut self, token: impl Into<secrecy::SecretString>) -> Self {
            self.settings.token = Some(token.into());
            self
        }

        /// The base URL. A path is kept as a prefix
        /// (`http://127.0.0.1:9000/prefix/`); plain `http` is refused by
        /// `build()` unless the host is a loopback address.
        pub fn base_url(mut self, url: impl AsRef<str>) -> Self {
            self.settings.base_url = url.as_ref().to_owned();
            self
        }

        /// The retry policy (default: [`RetryPolicy::default()`](crate::RetryPolicy)).
        pub fn retry(mut self, policy: crate::RetryPolicy) -> Self {
            self.settings.retry = policy;
            self
        }

        /// Time allowed for one whole attempt, from sending to the last byte
        /// of the answer (default 30 s); `None` for no limit.
        pub fn timeout(mut self, timeout: impl Into<Option<std::time::Duration>>) -> Self {
            self.settings.timeout = timeout.into();
            self
        }

        /// Time allowed to open a connection (default 10 s); `None` for no
        /// limit. Ignored with [`http_client`](Self::http_client), whose own
        /// setting applies.
        pub fn connect_timeout(mut self, timeout: impl Into<Option<std::time::Duration>>) -> Self {
            self.settings.connect_timeout = timeout.into();
            self
        }

        /// Text added after `api-tokens/<version>` in the `User-Agent`.
        pub fn user_agent_suffix(mut self, suffix: impl Into<String>) -> Self {
            self.settings.user_agent_suffix = Some(suffix.into());
            self
        }

        /// A header sent with every request (marked sensitive, so it is
        /// never printed). An invalid name or value is refused by `build()`.
        /// The headers the crate sets itself (the auth header, `User-Agent`,
        /// `Accept`, `Content-Type`) take the place of one of the same name.
        pub fn header(mut self, name: &str, value: &str) -> Self {
            self.settings.header(name, value);
            self
        }

        /// Adjusts the `reqwest::ClientBuilder` the crate builds its own client
        /// with (proxies, TLS roots, pool sizes), keeping what makes it safe:
        /// redirects stay off whatever the closure sets, so credentials never
        /// follow one. Prefer this to [`http_client`](Self::http_client).
        ///
        /// ```
        /// # fn f() -> api_tokens::Result<()> {
        /// let client = api_tokens::unit::Client::builder()
        ///     .token("v2.public.example")
        ///     .customize_http_client(|b| b.pool_max_idle_per_host(4).tcp_nodelay(true))
        ///     .build()?;
        /// # let _ = client; Ok(()) }
        /// ```
        pub fn customize_http_client(
            mut self,
            customize: impl Fn(reqwest::ClientBuilder) -> reqwest::ClientBuilder
            + Send
            + Sync
            + 'static,
        ) -> Self {
            self.settings.customize = Some(std::sync::Arc::new(customize));
            self
        }

        /// Your own `reqwest::Client` (shared connection pool, anything the
        /// builder cannot set). Settings from
        /// [`customize_http_client`](Self::customize_http_client) and
        /// [`connect_timeout`](Self::connect_timeout) do not apply to it.
        ///
        /// Build it with `redirect(reqwest::redirect::Policy::none())`: the
        /// crate cannot change a client it is given, and a client that follows
        /// redirects carries a custom auth header such as Mailtrap's
        /// `Api-Token` to another host (reqwest drops only `Authorization`). An
        /// answer that arrives from another origin is refused with
        /// [`Error::Redirect`](crate::Error::Redirect) all the same.
        pub fn http_client(mut self, client: reqwest::Client) -> Self {
            self.settings.http_client = Some(client);
            self
        }
    };
}
pub(crate) use common_builder_methods;
