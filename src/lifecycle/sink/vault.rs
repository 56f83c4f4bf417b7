//! [`VaultKvSink`]: a secret of HashiCorp Vault's or OpenBao's KV v2 engine
//! as the store of a token's secret, one JSON record ([`SecretRecord`]) per
//! version, written with check-and-set (feature `vault`).
//!
//! KV v2 is a handful of JSON calls, so the sink speaks them over `reqwest`,
//! which the crate already uses: no Vault client crate, whose dependencies
//! (and its own TLS and token handling) would come along for four calls.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::OnceCell;
use url::Url;

use super::record::{CasBase, RecordStore, SecretRecord, describe_json_error};
use super::secret_sink::{SecretMeta, SecretSink, SinkError, async_trait};
use crate::lifecycle::token_ref::service_serde;

/// What KV v2 answers (HTTP 400) to a write whose `cas` is not the current
/// version.
const CAS_MISMATCH: &str = "check-and-set parameter did not match the current version";

/// The API path that says which engine serves a path (`/v1/` + this +
/// `/MOUNT/PATH`).
const MOUNTS: &str = "sys/internal/ui/mounts";

/// Vault's address when `VAULT_ADDR` is not set, as Vault's own client has it.
const DEFAULT_ADDR: &str = "https://127.0.0.1:8200";

/// How long one call may take, connecting included.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// At most this many of the server's error messages are kept, each cut to
/// [`MAX_MESSAGE`] characters.
const MAX_MESSAGES: usize = 5;
const MAX_MESSAGE: usize = 300;

/// How to reach a Vault or OpenBao server: its address, the token, and
/// optionally a namespace and the CA certificate to trust.
///
/// [`VaultConfig::from_env`] reads them the standard way; its `Debug` never
/// shows the token.
#[derive(Clone)]
pub struct VaultConfig {
    addr: Url,
    token: SecretString,
    namespace: Option<String>,
    ca_cert: Option<Vec<u8>>,
}

impl fmt::Debug for VaultConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VaultConfig")
            .field("addr", &self.addr.as_str())
            .field("token", &"[REDACTED]")
            .field("namespace", &self.namespace)
            .field("ca_cert", &self.ca_cert.as_ref().map(|_| "PEM"))
            .finish()
    }
}

fn config_error(reason: impl Into<String>) -> SinkError {
    SinkError::other("vault", reason.into())
}

/// Checks Vault's address: `https`, or `http` to a loopback address only
/// (the token travels in every request), with no user, query or fragment.
fn check_addr(addr: &str) -> Result<Url, SinkError> {
    let url = Url::parse(addr.trim()).map_err(|e| {
        config_error(format!(
            "VAULT_ADDR is not a URL ({e}); expected `https://HOST:8200`"
        ))
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(config_error(
            "VAULT_ADDR holds a user or password; give the token in VAULT_TOKEN instead",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(config_error("VAULT_ADDR holds a query or a fragment"));
    }
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => return Err(config_error("VAULT_ADDR names no host")),
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        "http" => Err(config_error(format!(
            "VAULT_ADDR is plain http to {}: the Vault token would cross the network \
             unencrypted; use https (plain http is accepted for a loopback address only)",
            url.host_str().unwrap_or_default()
        ))),
        other => Err(config_error(format!(
            "VAULT_ADDR has the scheme `{other}`; expected https"
        ))),
    }
}

impl VaultConfig {
    /// The server at `addr` (`https://vault.example:8200`; plain `http`
    /// only to a loopback address), with `token`.
    ///
    /// # Errors
    ///
    /// [`SinkError::Other`] when `addr` is not such a URL or `token` is
    /// empty.
    pub fn new(addr: &str, token: SecretString) -> Result<VaultConfig, SinkError> {
        let addr = check_addr(addr)?;
        if token.expose_secret().trim().is_empty() {
            return Err(config_error("the Vault token is empty"));
        }
        Ok(VaultConfig {
            addr,
            token: SecretString::from(token.expose_secret().trim().to_owned()),
            namespace: None,
            ca_cert: None,
        })
    }

    /// Sends every call to the namespace `namespace` (Vault Enterprise,
    /// OpenBao), in the `X-Vault-Namespace` header.
    ///
    /// # Errors
    ///
    /// [`SinkError::Other`] when `namespace` cannot be a header's value.
    pub fn with_namespace(mut self, namespace: &str) -> Result<VaultConfig, SinkError> {
        let namespace = namespace.trim().trim_matches('/');
        if namespace.is_empty() {
            self.namespace = None;
            return Ok(self);
        }
        if HeaderValue::from_str(namespace).is_err() {
            return Err(config_error(
                "VAULT_NAMESPACE holds characters a header cannot carry",
            ));
        }
        self.namespace = Some(namespace.to_owned());
        Ok(self)
    }

    /// Trusts only the CA certificates of `pem` (one or more PEM blocks)
    /// for the server's certificate, as `VAULT_CACERT` does.
    #[must_use]
    pub fn with_ca_cert_pem(mut self, pem: impl Into<Vec<u8>>) -> VaultConfig {
        self.ca_cert = Some(pem.into());
        self
    }

    /// The configuration Vault's own client reads: `VAULT_ADDR` (default
    /// `https://127.0.0.1:8200`), `VAULT_TOKEN`, else the file
    /// `~/.vault-token` that `vault login` and `bao login` write,
    /// `VAULT_NAMESPACE` and `VAULT_CACERT` (a PEM file).
    ///
    /// # Errors
    ///
    /// [`SinkError::Other`] when no token is found, the address is refused
    /// (see [`VaultConfig::new`]), or the CA file cannot be read.
    pub fn from_env() -> Result<VaultConfig, SinkError> {
        let home = std::env::var_os("HOME").map(PathBuf::from);
        VaultConfig::from_lookup(|name| std::env::var(name).ok(), home.as_deref())
    }

    fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
        home: Option<&Path>,
    ) -> Result<VaultConfig, SinkError> {
        let set = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let addr = set("VAULT_ADDR").unwrap_or_else(|| DEFAULT_ADDR.to_owned());
        let token = match set("VAULT_TOKEN") {
            Some(token) => SecretString::from(token),
            None => {
                let file = home.map(|h| h.join(".vault-token"));
                let text = file.as_ref().and_then(|f| std::fs::read_to_string(f).ok());
                match text.filter(|t| !t.trim().is_empty()) {
                    Some(text) => SecretString::from(text),
                    None => {
                        return Err(config_error(
                            "no Vault token: set VAULT_TOKEN, or log in (`vault login`, \
                             `bao login`) so that ~/.vault-token holds one",
                        ));
                    }
                }
            }
        };
        let mut config = VaultConfig::new(&addr, token)?;
        if let Some(namespace) = set("VAULT_NAMESPACE") {
            config = config.with_namespace(&namespace)?;
        }
        if let Some(path) = set("VAULT_CACERT") {
            let pem = std::fs::read(&path)
                .map_err(|e| config_error(format!("VAULT_CACERT: cannot read {path}: {e}")))?;
            config = config.with_ca_cert_pem(pem);
        }
        Ok(config)
    }

    /// The server's address.
    pub fn addr(&self) -> &Url {
        &self.addr
    }

    /// The namespace, when one is set.
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    /// The HTTP client: no redirects (they would carry the token elsewhere),
    /// a timeout, and the CA certificates when given.
    fn http(&self) -> Result<reqwest::Client, SinkError> {
        let builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(CALL_TIMEOUT)
            .connect_timeout(Duration::from_secs(10));
        let builder = match &self.ca_cert {
            None => builder,
            Some(pem) => with_ca(builder, pem)?,
        };
        builder
            .build()
            .map_err(|e| config_error(format!("the HTTP client cannot be built: {e}")))
    }
}

#[cfg(any(feature = "rustls", feature = "native-tls"))]
fn with_ca(
    builder: reqwest::ClientBuilder,
    pem: &[u8],
) -> Result<reqwest::ClientBuilder, SinkError> {
    let certs = reqwest::Certificate::from_pem_bundle(pem)
        .map_err(|e| config_error(format!("VAULT_CACERT holds no PEM certificate: {e}")))?;
    if certs.is_empty() {
        return Err(config_error("VAULT_CACERT holds no PEM certificate"));
    }
    Ok(builder.tls_certs_only(certs))
}

#[cfg(not(any(feature = "rustls", feature = "native-tls")))]
fn with_ca(
    _builder: reqwest::ClientBuilder,
    _pem: &[u8],
) -> Result<reqwest::ClientBuilder, SinkError> {
    Err(config_error(
        "VAULT_CACERT needs a TLS feature (`rustls` or `native-tls`)",
    ))
}

/// An error of a call to Vault: the operation, the API path, the HTTP
/// status and the server's messages (or why no answer came). Built from the
/// answer's `errors` only, with any message that would quote the secret or
/// the token left out: it holds neither.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VaultError {
    /// What was done: `"read"`, `"write"`, `"read metadata"`,
    /// `"write metadata"`.
    pub operation: &'static str,
    /// The API path, such as `secret/data/ci/mailtrap-deploy`.
    pub path: String,
    /// The HTTP status, when the server answered.
    pub status: Option<u16>,
    /// The server's messages, or the kind of failure when no answer came.
    pub errors: Vec<String>,
}

impl VaultError {
    /// Whether the server refused a write whose check-and-set version was
    /// not the current one.
    pub fn is_cas_mismatch(&self) -> bool {
        self.status == Some(400) && self.errors.iter().any(|e| e.contains(CAS_MISMATCH))
    }
}

impl fmt::Display for VaultError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: ", self.operation, self.path)?;
        match self.status {
            Some(status) => write!(f, "HTTP {status}")?,
            None => f.write_str("no answer")?,
        }
        if !self.errors.is_empty() {
            write!(f, ": {}", self.errors.join("; "))?;
        }
        if self.status == Some(403) {
            f.write_str(" (the token's policy needs create, read and update on MOUNT/data/PATH and read and update on MOUNT/metadata/PATH)")?;
        }
        Ok(())
    }
}

impl std::error::Error for VaultError {}

/// The version read before storing: the `cas` of the next write.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
enum Basis {
    #[default]
    Unread,
    /// The current version (0 when the secret does not exist), and the
    /// [`SecretRecord::version_id`] of its record when known.
    Version(u64, Option<String>),
}

/// A secret of a KV v2 engine of HashiCorp Vault or OpenBao, `MOUNT/PATH`:
/// each token's secret is written as a new version holding a
/// [`SecretRecord`], with check-and-set (feature `vault`).
///
/// The server and token come from the environment on first use
/// ([`VaultConfig::from_env`]), unless given with
/// [`VaultKvSink::with_config`].
///
/// # Before anything is minted
///
/// [`check`](SecretSink::check) asks the server which engine serves
/// `MOUNT/PATH` (as Vault's own `kv` commands do) and refuses a missing
/// mount, a KV version 1 mount or another engine with
/// [`SinkError::InvalidSpec`], then reads the current version.
///
/// # Check-and-set
///
/// The sink remembers the current version when it first reads the secret
/// ([`check`](SecretSink::check), [`current`](SecretSink::current),
/// [`current_record`](Self::current_record) or the first
/// [`store`](SecretSink::store)); 0 when it does not exist.
/// [`store`](SecretSink::store) writes the record with `options.cas` = that
/// version, so KV v2 refuses the write when another writer stored a
/// version since: the store then fails with [`SinkError::Superseded`]
/// naming the token the secret now holds, and a rotation removes its own
/// token instead of overwriting a newer one. Every write carries `cas`, so
/// mounts and keys with `cas_required` work unchanged. The version written
/// before stays readable (`?version=N-1`, [`VaultKvSink::record_version`]).
/// After a successful store the sink's base is the version it wrote. A
/// store of the token whose record is current already (a retry) writes
/// nothing.
///
/// After the data, the secret's `custom_metadata` keys `service` and
/// `token_id` are set to the record's (never the secret), when the version
/// written is still the current one; the keys others set are kept. It is a hint for people browsing the engine; the
/// data is the record. A failure there is logged, not returned: the
/// secret is stored.
///
/// ```
/// use api_tokens::lifecycle::sink::{SecretSink, VaultKvSink};
///
/// let sink = VaultKvSink::new("secret/ci/mailtrap-deploy")?;
/// assert_eq!(sink.mount(), "secret");
/// assert_eq!(sink.path(), "ci/mailtrap-deploy");
/// assert_eq!(sink.describe(), "Vault KV secret secret/ci/mailtrap-deploy");
/// # Ok::<(), api_tokens::lifecycle::sink::SinkError>(())
/// ```
pub struct VaultKvSink {
    mount: String,
    path: String,
    given: Option<VaultConfig>,
    conn: OnceCell<(VaultConfig, reqwest::Client)>,
    basis: CasBase<Basis>,
}

impl fmt::Debug for VaultKvSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VaultKvSink")
            .field("mount", &self.mount)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Splits `MOUNT/PATH` into the mount and the path, checking both.
pub(crate) fn split_mount_path(spec: &str) -> Result<(String, String), String> {
    let Some((mount, path)) = spec.split_once('/') else {
        return Err(
            "needs a mount and a path, as in `vault:secret/ci/mailtrap-deploy` (mount `secret`)"
                .to_owned(),
        );
    };
    if mount.is_empty() {
        return Err("names no mount; expected `vault:MOUNT/PATH`".to_owned());
    }
    if path.is_empty() {
        return Err("names no path after the mount; expected `vault:MOUNT/PATH`".to_owned());
    }
    for segment in spec.split('/') {
        if segment.is_empty() {
            return Err("holds an empty segment (`//` or a trailing `/`)".to_owned());
        }
        if segment == "." || segment == ".." {
            return Err("holds a `.` or `..` segment".to_owned());
        }
    }
    if let Some(c) = spec
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || "?#%\\\"".contains(*c))
    {
        return Err(format!(
            "holds {}; a KV path is made of segments separated by `/`",
            if c.is_whitespace() {
                "a space".to_owned()
            } else if c.is_control() {
                "a control character".to_owned()
            } else {
                format!("`{c}`")
            }
        ));
    }
    Ok((mount.to_owned(), path.to_owned()))
}

/// The most of an answer the sink reads: a KV v2 answer holding one
/// record is a few kilobytes.
const MAX_ANSWER: usize = 1 << 20;

/// The body of `answer`, at most [`MAX_ANSWER`] bytes.
async fn read_capped(mut answer: reqwest::Response) -> Result<bytes::Bytes, &'static str> {
    let mut body = bytes::BytesMut::new();
    while let Some(chunk) = answer
        .chunk()
        .await
        .map_err(|_| "the answer could not be read")?
    {
        if body.len() + chunk.len() > MAX_ANSWER {
            return Err("the answer is larger than 1 MiB: not a KV v2 answer");
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// How many characters of a secret a message may not quote in a row: a
/// server that quotes all of a secret but one character gives it away as
/// surely as one that quotes it whole.
const QUOTED_RUN: usize = 12;

/// Whether `message` quotes `secret`, or a run of [`QUOTED_RUN`] of its
/// characters (all of a shorter secret).
fn quotes_part_of(message: &str, secret: &str) -> bool {
    let chars: Vec<char> = secret.chars().collect();
    if chars.is_empty() {
        return false;
    }
    let run = QUOTED_RUN.min(chars.len());
    chars
        .windows(run)
        .any(|w| message.contains(&w.iter().collect::<String>()))
}

/// A failed read, as [`SinkError::Unreadable`] (the reads take the
/// configuration first, so that its own errors stay as they are).
fn unreadable(e: SinkError) -> SinkError {
    match e {
        SinkError::Other { sink, source } => SinkError::Unreadable { sink, source },
        other => other,
    }
}

/// The answer to a read of a version.
#[derive(Deserialize)]
struct DataAnswer {
    data: DataBody,
}

#[derive(Deserialize)]
struct DataBody {
    data: Option<SecretRecord>,
    metadata: VersionMetadata,
}

#[derive(Deserialize)]
struct VersionMetadata {
    version: u64,
}

/// The answer to a write: the version written.
#[derive(Deserialize)]
struct WriteAnswer {
    data: VersionMetadata,
}

/// The answer to a read of the metadata.
#[derive(Deserialize)]
struct MetadataAnswer {
    data: MetadataBody,
}

#[derive(Deserialize)]
struct MetadataBody {
    current_version: u64,
    /// What people and other tools noted on the secret: kept when the
    /// sink adds its own keys.
    #[serde(default)]
    custom_metadata: Option<serde_json::Map<String, serde_json::Value>>,
}

/// The answer to `sys/internal/ui/mounts/MOUNT/PATH`: the engine there.
#[derive(Deserialize)]
struct MountAnswer {
    data: MountBody,
}

#[derive(Deserialize)]
struct MountBody {
    #[serde(rename = "type")]
    kind: String,
    path: String,
    options: Option<MountOptions>,
}

#[derive(Deserialize)]
struct MountOptions {
    version: Option<String>,
}

/// Vault's error body.
#[derive(Deserialize)]
struct ErrorAnswer {
    #[serde(default)]
    errors: Vec<String>,
}

impl VaultKvSink {
    /// The secret `MOUNT/PATH` (the first segment is the KV v2 mount:
    /// `secret/ci/mailtrap-deploy` is mount `secret`, path
    /// `ci/mailtrap-deploy`), on the server the environment names.
    ///
    /// # Errors
    ///
    /// [`SinkError::InvalidSpec`] when `mount_path` has no mount or no
    /// path, an empty, `.` or `..` segment, or a space, control character,
    /// `?`, `#`, `%`, `\` or `"`.
    pub fn new(mount_path: &str) -> Result<VaultKvSink, SinkError> {
        let (mount, path) =
            split_mount_path(mount_path).map_err(|reason| SinkError::InvalidSpec {
                reason: format!("`vault:` {reason}"),
            })?;
        Ok(VaultKvSink {
            mount,
            path,
            given: None,
            conn: OnceCell::new(),
            basis: CasBase::default(),
        })
    }

    /// The secret `MOUNT/PATH` on the server `config` names.
    ///
    /// # Errors
    ///
    /// As [`VaultKvSink::new`].
    pub fn with_config(config: VaultConfig, mount_path: &str) -> Result<VaultKvSink, SinkError> {
        let mut sink = VaultKvSink::new(mount_path)?;
        sink.given = Some(config);
        Ok(sink)
    }

    /// The KV v2 mount.
    pub fn mount(&self) -> &str {
        &self.mount
    }

    /// The secret's path inside the mount.
    pub fn path(&self) -> &str {
        &self.path
    }

    async fn conn(&self) -> Result<&(VaultConfig, reqwest::Client), SinkError> {
        self.conn
            .get_or_try_init(|| async {
                let config = match &self.given {
                    Some(config) => config.clone(),
                    None => VaultConfig::from_env()?,
                };
                let http = config.http()?;
                Ok((config, http))
            })
            .await
            .map_err(|e: SinkError| match e {
                SinkError::Other { source, .. } => SinkError::Other {
                    sink: self.describe(),
                    source,
                },
                other => other,
            })
    }

    /// `MOUNT/KIND/PATH`, the API path of the data or the metadata; for
    /// [`MOUNTS`], `sys/internal/ui/mounts/MOUNT/PATH`.
    fn api_path(&self, kind: &str) -> String {
        if kind == MOUNTS {
            format!("{MOUNTS}/{}/{}", self.mount, self.path)
        } else {
            format!("{}/{kind}/{}", self.mount, self.path)
        }
    }

    /// One call: `method` on `/v1/MOUNT/KIND/PATH`, with `body` (JSON text,
    /// which may hold the secret); gives the status and the body. `secret`
    /// is what no message may quote besides the token.
    async fn call(
        &self,
        operation: &'static str,
        method: Method,
        kind: &str,
        version: Option<u64>,
        body: Option<SecretString>,
        secret: Option<&SecretString>,
    ) -> Result<(StatusCode, bytes::Bytes), SinkError> {
        let (config, http) = self.conn().await?;
        let fail = |status: Option<u16>, errors: Vec<String>| {
            SinkError::other(
                self.describe(),
                VaultError {
                    operation,
                    path: self.api_path(kind),
                    status,
                    errors,
                },
            )
        };
        let mut url = config.addr.clone();
        url.path_segments_mut()
            .map_err(|()| fail(None, vec!["VAULT_ADDR cannot take a path".to_owned()]))?
            .pop_if_empty()
            .push("v1")
            .extend(self.api_path(kind).split('/'));
        if let Some(version) = version {
            url.query_pairs_mut()
                .append_pair("version", &version.to_string());
        }
        let mut headers = HeaderMap::new();
        let mut token = HeaderValue::from_str(config.token.expose_secret()).map_err(|_| {
            fail(
                None,
                vec!["the Vault token holds characters a header cannot carry".to_owned()],
            )
        })?;
        token.set_sensitive(true);
        headers.insert("x-vault-token", token);
        headers.insert("x-vault-request", HeaderValue::from_static("true"));
        if let Some(namespace) = &config.namespace {
            if let Ok(value) = HeaderValue::from_str(namespace) {
                headers.insert("x-vault-namespace", value);
            }
        }
        let mut request = http.request(method, url).headers(headers);
        if let Some(body) = body {
            request = request
                .header(CONTENT_TYPE, "application/json")
                .body(body.expose_secret().to_owned());
        }
        let answer = request.send().await.map_err(|e| {
            fail(
                None,
                vec![
                    if e.is_timeout() {
                        "the call timed out"
                    } else if e.is_connect() {
                        "the connection failed (is VAULT_ADDR right, and the server up?)"
                    } else {
                        "the request could not be sent"
                    }
                    .to_owned(),
                ],
            )
        })?;
        let status = answer.status();
        let body = read_capped(answer)
            .await
            .map_err(|why| fail(Some(status.as_u16()), vec![why.to_owned()]))?;
        if status.is_success() || status == StatusCode::NOT_FOUND {
            return Ok((status, body));
        }
        let errors = match serde_json::from_slice::<ErrorAnswer>(&body) {
            Ok(answer) => answer
                .errors
                .into_iter()
                .filter(|m| {
                    !quotes_part_of(m, config.token.expose_secret())
                        && secret.is_none_or(|s| !quotes_part_of(m, s.expose_secret()))
                })
                .take(MAX_MESSAGES)
                .map(|m| m.chars().take(MAX_MESSAGE).collect())
                .collect(),
            Err(_) if status.is_redirection() => {
                vec!["the server redirects; point VAULT_ADDR at the server itself".to_owned()]
            }
            Err(_) => vec!["the answer is not Vault's JSON".to_owned()],
        };
        Err(fail(Some(status.as_u16()), errors))
    }

    /// Parses a successful answer, saying where it is malformed without
    /// quoting it.
    fn parse<T: serde::de::DeserializeOwned>(
        &self,
        operation: &str,
        body: &[u8],
    ) -> Result<T, SinkError> {
        let de = &mut serde_json::Deserializer::from_slice(body);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let at = e.path().to_string();
            let why = describe_json_error(e.inner());
            let reason = match at.strip_prefix("data.data") {
                // KV v2's answer, holding data that is not a record.
                Some(field) => format!(
                    "the secret at {} holds data that is not a token record of this crate \
                     (at `{}`: {why}); give a path of its own",
                    self.api_path("data"),
                    field.trim_start_matches('.')
                ),
                None => format!(
                    "the answer to the {operation} of {} is not what KV v2 answers \
                     (at `{at}`: {why}); is the mount a KV version 2 engine?",
                    self.api_path("data"),
                ),
            };
            SinkError::other(self.describe(), reason)
        })
    }

    /// The current version; 0 when the secret does not exist.
    ///
    /// # Errors
    ///
    /// A [`SinkError::Other`] holding a [`VaultError`] (permission denied,
    /// sealed, network), or an answer that is not KV v2's.
    pub async fn current_version(&self) -> Result<u64, SinkError> {
        Ok(self.metadata().await?.map_or(0, |m| m.current_version))
    }

    /// The secret's metadata; `None` when the secret does not exist.
    async fn metadata(&self) -> Result<Option<MetadataBody>, SinkError> {
        self.conn().await?;
        let (status, body) = self
            .call("read metadata", Method::GET, "metadata", None, None, None)
            .await
            .map_err(unreadable)?;
        if status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let answer: MetadataAnswer = self
            .parse("read of the metadata", &body)
            .map_err(unreadable)?;
        Ok(Some(answer.data))
    }

    /// The record of `version` (`None`: the current one) and its version
    /// number; `None` when the secret, or that version, does not exist or
    /// was deleted.
    async fn read(&self, version: Option<u64>) -> Result<Option<(u64, SecretRecord)>, SinkError> {
        self.conn().await?;
        let (status, body) = self
            .call("read", Method::GET, "data", version, None, None)
            .await
            .map_err(unreadable)?;
        if status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let answer: DataAnswer = self.parse("read", &body).map_err(unreadable)?;
        Ok(answer
            .data
            .data
            .map(|record| (answer.data.metadata.version, record)))
    }

    /// The current record and its version; `None` when the secret does not
    /// exist or its current version was deleted. The first read becomes the
    /// base of the check-and-set.
    ///
    /// # Errors
    ///
    /// As [`VaultKvSink::current_version`]; also when the data is not a
    /// [`SecretRecord`].
    pub async fn current_record(&self) -> Result<Option<(u64, SecretRecord)>, SinkError> {
        match self.read(None).await? {
            Some((version, record)) => {
                self.basis
                    .set(Basis::Version(version, Some(record.version_id())), true);
                Ok(Some((version, record)))
            }
            None => {
                if self.basis.get() == Basis::Unread {
                    let version = self.current_version().await?;
                    self.basis.set(Basis::Version(version, None), true);
                }
                Ok(None)
            }
        }
    }

    /// The record of `version` (the previous one is the current version
    /// minus 1); `None` when that version does not exist or was deleted.
    ///
    /// # Errors
    ///
    /// As [`VaultKvSink::current_record`].
    pub async fn record_version(&self, version: u64) -> Result<Option<SecretRecord>, SinkError> {
        Ok(self.read(Some(version)).await?.map(|(_, record)| record))
    }

    /// Writes `record` as a new version, with `cas` = `basis`; gives the
    /// version written, or `Ok(None)` when KV v2 refused the `cas`.
    async fn write(&self, record: &SecretRecord, basis: u64) -> Result<Option<u64>, SinkError> {
        let body = SecretString::from(format!(
            "{{\"options\":{{\"cas\":{basis}}},\"data\":{}}}",
            record.to_json().expose_secret()
        ));
        match self
            .call(
                "write",
                Method::POST,
                "data",
                None,
                Some(body),
                Some(&record.token),
            )
            .await
        {
            Ok((status, body)) if status.is_success() => {
                let answer: WriteAnswer = self.parse("write", &body)?;
                Ok(Some(answer.data.version))
            }
            Ok((status, _)) => Err(SinkError::other(
                self.describe(),
                VaultError {
                    operation: "write",
                    path: self.api_path("data"),
                    status: Some(status.as_u16()),
                    errors: vec!["the mount or path does not exist".to_owned()],
                },
            )),
            Err(SinkError::Other { sink, source }) => match source.downcast_ref::<VaultError>() {
                Some(e) if e.is_cas_mismatch() => Ok(None),
                _ => Err(SinkError::Other { sink, source }),
            },
            Err(e) => Err(e),
        }
    }

    /// Asks the server which engine serves `MOUNT/PATH` (the call Vault's
    /// own `kv` commands make first): a missing mount, a KV version 1
    /// mount, an engine of another type or a mount deeper than the first
    /// segment is refused here, before any token is minted, rather than by
    /// the write after the mint. A server that does not answer this call
    /// (an older one, a policy without `sys/internal/ui/mounts`) is left to
    /// the read and the write.
    async fn check_mount(&self) -> Result<(), SinkError> {
        let refused = |reason: String| SinkError::InvalidSpec {
            reason: format!("`vault:{}/{}` {reason}", self.mount, self.path),
        };
        let (status, body) = match self
            .call(
                "look up the mount of",
                Method::GET,
                MOUNTS,
                None,
                None,
                None,
            )
            .await
        {
            Ok(answer) => answer,
            Err(SinkError::Other { source, .. })
                if source.downcast_ref::<VaultError>().is_some_and(|e| {
                    e.status == Some(403)
                        && e.errors
                            .iter()
                            .any(|m| m.contains("preflight capability check"))
                }) =>
            {
                return Err(refused(
                    "is served by no mount the token may use: no secrets engine is mounted \
                     there, or the token's policy grants nothing on that path"
                        .to_owned(),
                ));
            }
            // Not answered (an older server, a policy without the call):
            // the read and the write will tell.
            Err(_) => return Ok(()),
        };
        if !status.is_success() {
            return Ok(());
        }
        let Ok(answer) = serde_json::from_slice::<MountAnswer>(&body) else {
            return Ok(());
        };
        let mount = answer.data.path.trim_end_matches('/');
        if answer.data.kind != "kv" {
            return Err(refused(format!(
                "is served by a {:?} engine, not a KV version 2 engine",
                answer.data.kind
            )));
        }
        let version = answer.data.options.and_then(|o| o.version);
        if version.as_deref() != Some("2") {
            return Err(refused(format!(
                "is served by a KV version {:?} engine; the sink needs version 2 (its versions \
                 keep the previous secret, and its check-and-set keeps two rotations from \
                 overwriting each other): `vault kv enable-versioning {mount:?}`",
                version.as_deref().unwrap_or("1")
            )));
        }
        if mount != self.mount {
            return Err(refused(format!(
                "takes `{}` as the mount (its first segment), but the KV mount there is \
                 {mount:?}; the sink needs a mount whose path is one segment",
                self.mount
            )));
        }
        Ok(())
    }

    /// Sets `custom_metadata` to the record's service and token id, when
    /// `version` is still the current one.
    async fn describe_version(&self, record: &SecretRecord, version: u64) {
        let mut custom = match self.metadata().await {
            Ok(Some(m)) if m.current_version == version => m.custom_metadata.unwrap_or_default(),
            Ok(_) => return,
            Err(e) => {
                tracing::warn!(error = %e, "the secret's custom metadata was not updated");
                return;
            }
        };
        // KV v2 replaces the whole map: the keys others set are sent again.
        custom.insert(
            "service".to_owned(),
            json!(service_serde::name(record.service)),
        );
        custom.insert("token_id".to_owned(), json!(record.token_id));
        let body = json!({ "custom_metadata": custom });
        let body = SecretString::from(body.to_string());
        if let Err(e) = self
            .call(
                "write metadata",
                Method::POST,
                "metadata",
                None,
                Some(body),
                None,
            )
            .await
        {
            tracing::warn!(error = %e, "the secret's custom metadata was not updated");
        }
    }
}

#[async_trait]
impl SecretSink for VaultKvSink {
    async fn store(&self, secret: &SecretString, meta: &SecretMeta) -> Result<(), SinkError> {
        let record = SecretRecord::new(secret, meta);
        let ours = record.version_id();
        if self.basis.get() == Basis::Unread {
            self.current_record().await?;
        }
        let basis = match self.basis.get() {
            // This token's record is current already: a retried store.
            Basis::Version(_, Some(current)) if current == ours => return Ok(()),
            Basis::Version(version, _) => version,
            Basis::Unread => 0,
        };
        if let Some(version) = self.write(&record, basis).await? {
            self.basis.set(Basis::Version(version, Some(ours)), false);
            self.describe_version(&record, version).await;
            return Ok(());
        }
        // Refused: another writer stored first, unless a retry of this very
        // store did (its answer lost).
        match self.read(None).await? {
            Some((version, current)) if current.version_id() == ours => {
                self.basis.set(Basis::Version(version, Some(ours)), false);
                Ok(())
            }
            Some((_, current)) => Err(SinkError::superseded(
                self.describe(),
                Some(current.token_id),
            )),
            None => Err(SinkError::superseded(self.describe(), None)),
        }
    }

    /// Checks the configuration, then reads the current record: the base
    /// of the check-and-set, unless the sink has read it already.
    async fn check(&self) -> Result<(), SinkError> {
        self.conn().await?;
        self.check_mount().await?;
        if self.basis.get() == Basis::Unread {
            self.current_record().await?;
        }
        Ok(())
    }

    async fn current(&self) -> Result<Option<SecretString>, SinkError> {
        Ok(self.current_record().await?.map(|(_, r)| r.token))
    }

    async fn current_meta(&self) -> Result<Option<SecretMeta>, SinkError> {
        Ok(self.current_record().await?.map(|(_, r)| r.meta()))
    }

    fn describe(&self) -> String {
        format!("Vault KV secret {}/{}", self.mount, self.path)
    }
}

// The store's current record is its compare-and-set base: a rotation from
// it is refused as superseded when another run stored since.
#[async_trait]
impl RecordStore for VaultKvSink {
    async fn record(&self) -> Result<Option<SecretRecord>, SinkError> {
        Ok(self.current_record().await?.map(|(_, record)| record))
    }

    async fn previous_record(&self) -> Result<Option<SecretRecord>, SinkError> {
        let Some((current, _)) = self.current_record().await? else {
            return Ok(None);
        };
        match current.checked_sub(1) {
            Some(previous) if previous > 0 => self.record_version(previous).await,
            _ => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_and_path_are_split_and_checked() {
        assert_eq!(
            split_mount_path("secret/ci/mailtrap-deploy").unwrap(),
            ("secret".to_owned(), "ci/mailtrap-deploy".to_owned())
        );
        for bad in [
            "secret",
            "/ci/x",
            "secret/",
            "secret//x",
            "secret/../x",
            "secret/a b",
            "secret/a?b",
            "secret/a#b",
            "secret/a%2fb",
        ] {
            assert!(split_mount_path(bad).is_err(), "{bad}");
        }
        let err = split_mount_path("secret/s3cr3t value").unwrap_err();
        assert!(!err.contains("s3cr3t"), "{err}");
    }

    #[test]
    fn plain_http_goes_to_loopback_only() {
        assert!(check_addr("http://127.0.0.1:8200").is_ok());
        assert!(check_addr("http://[::1]:8200").is_ok());
        assert!(check_addr("http://localhost:8200").is_ok());
        assert!(check_addr("https://vault.example:8200").is_ok());
        let err = check_addr("http://vault.example:8200")
            .unwrap_err()
            .to_string();
        assert!(err.contains("plain http"), "{err}");
        let err = check_addr("https://user:pw@vault.example")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("pw"), "{err}");
        assert!(check_addr("ftp://vault.example").is_err());
    }

    #[test]
    fn the_environment_is_read_as_vault_reads_it() {
        let dir = tempfile::tempdir().unwrap();
        let env = |pairs: &'static [(&str, &str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        // No token anywhere.
        let err = VaultConfig::from_lookup(env(&[]), Some(dir.path()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("VAULT_TOKEN"), "{err}");
        // The token file, and the default address.
        std::fs::write(dir.path().join(".vault-token"), "hvs.from-file\n").unwrap();
        let config = VaultConfig::from_lookup(env(&[]), Some(dir.path())).unwrap();
        assert_eq!(config.token.expose_secret(), "hvs.from-file");
        assert_eq!(config.addr().as_str(), "https://127.0.0.1:8200/");
        // VAULT_TOKEN wins over the file; the namespace is kept.
        let config = VaultConfig::from_lookup(
            env(&[
                ("VAULT_ADDR", "http://127.0.0.1:8201"),
                ("VAULT_TOKEN", "hvs.from-env"),
                ("VAULT_NAMESPACE", "team/ci/"),
            ]),
            Some(dir.path()),
        )
        .unwrap();
        assert_eq!(config.token.expose_secret(), "hvs.from-env");
        assert_eq!(config.namespace(), Some("team/ci"));
        assert!(!format!("{config:?}").contains("hvs.from-env"));
        // A CA file that is not PEM is refused when the client is built.
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, "not a certificate").unwrap();
        let ca = ca.to_str().unwrap().to_owned();
        let lookup = move |name: &str| match name {
            "VAULT_TOKEN" => Some("t".to_owned()),
            "VAULT_CACERT" => Some(ca.clone()),
            _ => None,
        };
        let config = VaultConfig::from_lookup(lookup, None).unwrap();
        assert!(config.http().is_err());
    }

    #[test]
    fn a_message_quoting_most_of_a_secret_quotes_it() {
        let secret = "14b00c318394a52d6d272acfa4567cd9";
        assert!(quotes_part_of(&format!("bad value {secret}"), secret));
        assert!(quotes_part_of(
            &format!("bad value {}...", &secret[..31]),
            secret
        ));
        assert!(quotes_part_of("…a52d6d272acf…", secret));
        assert!(!quotes_part_of("permission denied", secret));
        assert!(!quotes_part_of("…a52d6d272ac…", secret), "11 characters");
        assert!(quotes_part_of("token s3cr3t here", "s3cr3t"));
        assert!(!quotes_part_of("anything", ""));
    }

    #[test]
    fn errors_name_the_call_and_never_hold_more_than_vault_said() {
        let e = VaultError {
            operation: "write",
            path: "secret/data/ci/x".to_owned(),
            status: Some(400),
            errors: vec![CAS_MISMATCH.to_owned()],
        };
        assert!(e.is_cas_mismatch());
        assert_eq!(
            e.to_string(),
            format!("write secret/data/ci/x: HTTP 400: {CAS_MISMATCH}")
        );
        let denied = VaultError {
            status: Some(403),
            errors: vec!["permission denied".to_owned()],
            ..e
        };
        assert!(!denied.is_cas_mismatch());
        assert!(denied.to_string().contains("MOUNT/metadata/PATH"));
    }
}
