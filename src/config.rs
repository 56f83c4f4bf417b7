//! The settings both clients share, and the one builder that collects them.
//!
//! [`ClientBuilder`] is generic over the dialect it builds a client for:
//! [`unit::Client::builder`](crate::unit::Client::builder) gives a
//! `ClientBuilder<unit::Unit>` and
//! [`mailtrap::Client::builder`](crate::mailtrap::Client::builder) a
//! `ClientBuilder<mailtrap::Mailtrap>`. Every setting below is documented
//! once and means the same for both; what only one service has (Mailtrap's
//! account and auth header) is set by methods of that dialect's builder.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use secrecy::SecretString;

use crate::error::{Error, Result, Service};
use crate::transport::pacing::Pacing;
use crate::transport::{Auth, RetryPolicy, Transport};

/// Default time allowed to open a connection.
pub(crate) const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time allowed for one whole attempt.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// A change to the `reqwest::ClientBuilder` the crate builds its client with.
type Customize = Arc<dyn Fn(reqwest::ClientBuilder) -> reqwest::ClientBuilder + Send + Sync>;

/// Builds a client of one service; see
/// [`unit::Client::builder`](crate::unit::Client::builder) and
/// [`mailtrap::Client::builder`](crate::mailtrap::Client::builder).
///
/// Nothing is checked until `build()`, which refuses a missing or unusable
/// token, a base URL that is not `https` (plain `http` only to a loopback
/// address), and any setting that could not be applied, without sending
/// anything.
///
/// ```
/// use std::time::Duration;
/// use api_tokens::{RetryPolicy, unit};
///
/// let client = unit::Client::builder()
///     .token("v2.public.FAKE.sig")
///     .base_url(unit::LIVE)
///     .timeout(Duration::from_secs(10))
///     .retry(RetryPolicy::default().max_attempts(6))
///     .user_agent_suffix("deploy-bot/1.4")
///     .header("X-Team", "payments")
///     .build()?;
/// assert_eq!(client.base_url(), "https://api.unit.co/");
/// # Ok::<(), api_tokens::Error>(())
/// ```
#[derive(Clone)]
#[must_use = "a builder does nothing until `build()`"]
pub struct ClientBuilder<D> {
    pub(crate) settings: Settings,
    pub(crate) dialect: D,
}

/// What every client is made of, whichever the service.
#[derive(Clone)]
pub(crate) struct Settings {
    pub service: Service,
    pub token: Option<SecretString>,
    pub base_url: String,
    pub retry: RetryPolicy,
    pub pacing: Pacing,
    pub connect_timeout: Option<Duration>,
    pub timeout: Option<Duration>,
    pub user_agent_suffix: Option<String>,
    pub http_client: Option<reqwest::Client>,
    pub customize: Option<Customize>,
    pub extra_headers: HeaderMap,
    /// The first refused setting, reported by `build()`.
    pub refused: Option<(&'static str, String)>,
}

impl<D: std::fmt::Debug> std::fmt::Debug for ClientBuilder<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = &self.settings;
        f.debug_struct("ClientBuilder")
            .field("service", &s.service)
            .field("token", &s.token.as_ref().map(|_| "[REDACTED]"))
            .field("base_url", &s.base_url)
            .field("retry", &s.retry)
            .field("pacing", &s.pacing)
            .field("connect_timeout", &s.connect_timeout)
            .field("timeout", &s.timeout)
            .field("user_agent_suffix", &s.user_agent_suffix)
            .field("own_http_client", &s.http_client.is_some())
            .field("customized_http_client", &s.customize.is_some())
            .field("extra_headers", &s.extra_headers)
            .field("dialect", &self.dialect)
            .finish()
    }
}

impl<D> ClientBuilder<D> {
    /// A builder for `service` with these defaults and dialect settings.
    pub(crate) fn new(service: Service, base_url: &str, pacing: Pacing, dialect: D) -> Self {
        ClientBuilder {
            settings: Settings {
                service,
                token: None,
                base_url: base_url.to_owned(),
                retry: RetryPolicy::default(),
                pacing,
                connect_timeout: Some(DEFAULT_CONNECT_TIMEOUT),
                timeout: Some(DEFAULT_TIMEOUT),
                user_agent_suffix: None,
                http_client: None,
                customize: None,
                extra_headers: HeaderMap::new(),
                refused: None,
            },
            dialect,
        }
    }

    /// The API token to authenticate with. It stays a [`SecretString`] and
    /// is only ever written into a header marked sensitive.
    pub fn token(mut self, token: impl Into<SecretString>) -> Self {
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

    /// The retry policy (default: [`RetryPolicy::default()`]).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.settings.retry = policy;
        self
    }

    /// How the client paces itself under the service's rate limit (default:
    /// [`Pacing::auto`]); see [`Pacing`].
    pub fn pacing(mut self, pacing: Pacing) -> Self {
        self.settings.pacing = pacing;
        self
    }

    /// Time allowed for one whole attempt, from sending to the last byte of
    /// the answer (default 30 s); `None` for no limit.
    pub fn timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.settings.timeout = timeout.into();
        self
    }

    /// Time allowed to open a connection (default 10 s); `None` for no
    /// limit. Ignored with [`http_client`](Self::http_client), whose own
    /// setting applies.
    pub fn connect_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.settings.connect_timeout = timeout.into();
        self
    }

    /// Text added after `api-tokens/<version>` in the `User-Agent`.
    pub fn user_agent_suffix(mut self, suffix: impl Into<String>) -> Self {
        self.settings.user_agent_suffix = Some(suffix.into());
        self
    }

    /// A header sent with every request (marked sensitive, so it is never
    /// printed). An invalid name or value is refused by `build()`. The
    /// headers the crate sets itself (the auth header, `User-Agent`,
    /// `Accept`, `Content-Type`) take the place of one of the same name.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        let parsed = HeaderName::try_from(name)
            .map_err(|_| format!("`{}` is not a valid header name", name.escape_debug()))
            .and_then(|n| {
                HeaderValue::try_from(value)
                    .map(|mut v| {
                        v.set_sensitive(true);
                        (n, v)
                    })
                    .map_err(|_| {
                        format!(
                            "the value for `{}` is not a valid header value",
                            name.escape_debug()
                        )
                    })
            });
        match parsed {
            Ok((n, v)) => {
                self.settings.extra_headers.insert(n, v);
            }
            Err(reason) => {
                self.settings.refused.get_or_insert(("header", reason));
            }
        }
        self
    }

    /// Adjusts the `reqwest::ClientBuilder` the crate builds its own client
    /// with (proxies, TLS roots, pool sizes), keeping what makes it safe:
    /// redirects stay off whatever the closure sets, so credentials never
    /// follow one. Prefer this to [`http_client`](Self::http_client).
    ///
    /// ```
    /// use api_tokens::{mailtrap, reqwest, unit};
    ///
    /// let proxy = reqwest::Proxy::https("http://127.0.0.1:3128")?;
    /// let unit = unit::Client::builder()
    ///     .token("v2.public.FAKE.sig")
    ///     .customize_http_client(move |b| b.proxy(proxy.clone()).pool_max_idle_per_host(4))
    ///     .build()?;
    /// let mt = mailtrap::Client::builder()
    ///     .token("FAKE0example0key")
    ///     .customize_http_client(|b| b.tcp_nodelay(true))
    ///     .build()?;
    /// # let _ = (unit, mt);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn customize_http_client(
        mut self,
        customize: impl Fn(reqwest::ClientBuilder) -> reqwest::ClientBuilder + Send + Sync + 'static,
    ) -> Self {
        self.settings.customize = Some(Arc::new(customize));
        self
    }

    /// Your own `reqwest::Client` (a shared connection pool, anything the
    /// builder cannot set). Settings from
    /// [`customize_http_client`](Self::customize_http_client) and
    /// [`connect_timeout`](Self::connect_timeout) do not apply to it.
    ///
    /// Build it with `redirect(reqwest::redirect::Policy::none())`: the
    /// crate cannot change a client it is given, and a client that follows
    /// redirects carries a custom auth header such as Mailtrap's `Api-Token`
    /// to another host (reqwest drops only `Authorization`). An answer that
    /// arrives from another origin is refused with
    /// [`Error::Redirect`](crate::Error::Redirect) all the same.
    ///
    /// ```
    /// use api_tokens::{mailtrap, reqwest, unit};
    ///
    /// let http = reqwest::Client::builder()
    ///     .redirect(reqwest::redirect::Policy::none())
    ///     .proxy(reqwest::Proxy::https("http://127.0.0.1:3128")?)
    ///     .build()?;
    /// let unit = unit::Client::builder().token("v2.public.FAKE.sig").http_client(http.clone()).build()?;
    /// let mt = mailtrap::Client::builder().token("FAKE0example0key").http_client(http).build()?;
    /// # let _ = (unit, mt);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.settings.http_client = Some(client);
        self
    }
}

impl Settings {
    fn user_agent(&self) -> Result<HeaderValue> {
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

    /// Checks every setting and makes the transport for a service of these
    /// facts, with the token put on each request as `auth` says. Nothing is
    /// sent.
    pub(crate) fn build(
        self,
        facts: crate::transport::ServiceFacts,
        auth: impl FnOnce(SecretString) -> Result<Auth>,
    ) -> Result<Transport> {
        if let Some((field, reason)) = self.refused {
            return Err(Error::invalid(field, reason));
        }
        let token = self.token.clone().ok_or_else(|| {
            Error::invalid(
                "token",
                "no token was given (set it on the builder or in the environment)",
            )
        })?;
        let auth = auth(token)?;
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
        Transport::new(crate::transport::Parts {
            service: self.service,
            facts,
            base_url: &self.base_url,
            http,
            auth,
            retry: self.retry,
            pacing: self.pacing,
            timeout: self.timeout,
            user_agent,
            extra_headers: self.extra_headers,
        })
    }
}

/// The process's environment, as a lookup for `from_env`.
pub(crate) fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Reads an environment variable into a secret; unset or blank is refused.
pub(crate) fn secret_from_env(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<SecretString> {
    match lookup(name) {
        Some(v) if !v.trim().is_empty() => Ok(SecretString::from(v)),
        _ => Err(Error::invalid(
            name,
            "the environment variable is not set or empty",
        )),
    }
}

/// An environment variable that counts as unset when blank.
pub(crate) fn optional_env(lookup: &impl Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    lookup(name).filter(|v| !v.trim().is_empty())
}

/// An environment made of these variables, for tests of `from_env`.
#[cfg(test)]
pub(crate) fn lookup_in(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let vars: std::collections::HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name| vars.get(name).cloned()
}
