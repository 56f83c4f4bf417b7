//! Recording real interactions into a cassette, secrets redacted before
//! anything is written.
//!
//! The recorder is a loopback HTTP proxy on hyper (wiremock's responders are
//! synchronous and cannot forward a request and wait for the answer).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::watch;
use url::Url;

use super::error::KitError;
use super::fixtures::{Cassette, Fixture, FixtureRequest, FixtureResponse};
use super::operations;
use super::redact::{Secrets, is_auth_header, recorded_auth_value};
use crate::transport::{is_loopback, parse_base_url};
use secrecy::zeroize::Zeroize;

/// Headers that describe one hop, not the message; neither forwarded as
/// they are nor recorded.
const HOP_HEADERS: [&str; 10] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "accept-encoding",
];

/// A loopback proxy that records every interaction with an upstream
/// service into a cassette file, in the
/// [fixture format](index.html#fixture-and-cassette-format).
///
/// Point a client at [`Recorder::uri`] instead of the service. Each request
/// is forwarded unchanged to the upstream and the answer returned unchanged
/// to the client; the interaction is appended to the cassette, which is
/// rewritten whole after each one (so it is always complete JSON).
///
/// Before anything is written, every secret is replaced by its
/// [`placeholder`](fn.placeholder.html) (`redacted-x7k9-1f0c3a9e`): the
/// credential of an auth header (`authorization`, `api-token`,
/// `x-api-key`, and any header named like a secret; a `Bearer` scheme is
/// kept) becomes the credential's placeholder, which a
/// [`Replayer`](struct.Replayer.html) reads to tell credentials apart; a cookie
/// header becomes `[REDACTED]`; values of JSON fields, form fields and query
/// parameters named like a secret (`token`, `*_token`, `secret`,
/// `password`, `api_key`, …, and the plain items of a `tokens` list), in a
/// body that is valid JSON or not, with names compared once their escapes
/// are read; and every other occurrence of any secret so found, in this
/// interaction or a later one: in a path, a header, any string or object
/// key of a JSON body, and any form of it in a body kept as text (as
/// written, JSON-escaped in part or whole, or split by invisible
/// characters). The secrets found are held as `SecretString`s and never
/// logged; the recorder's own copies of bodies are zeroized after use.
///
/// The upstream must be `https`, or plain `http` on a loopback address only
/// (a fake in a test).
///
/// ```no_run
/// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
/// use api_tokens::mailtrap;
/// use api_tokens::testing::{Recorder, Replayer};
/// use secrecy::SecretString;
///
/// let recorder = Recorder::start("https://mailtrap.io", "tests/cassettes/list.json").await?;
/// let client = mailtrap::Client::builder()
///     .token(SecretString::from(std::env::var("MAILTRAP_API_TOKEN")?))
///     .account_id(3229)
///     .base_url(recorder.uri())
///     .build()?;
/// let recorded = client.api_tokens().list().await?;
/// let cassette = recorder.finish().await?;
/// assert_eq!(cassette.interactions.len(), 1);
///
/// // Later, and in CI: the same calls, served from the file.
/// let replayer = Replayer::start("tests/cassettes/list.json").await?;
/// let client = mailtrap::Client::builder()
///     .token(SecretString::from("any-credential"))
///     .account_id(3229)
///     .base_url(replayer.uri())
///     .build()?;
/// assert_eq!(client.api_tokens().list().await?, recorded);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Recorder {
    address: SocketAddr,
    path: PathBuf,
    state: Arc<Mutex<State>>,
    shutdown: watch::Sender<bool>,
    server: tokio::task::JoinHandle<()>,
}

#[derive(Debug)]
struct State {
    cassette: Cassette,
    secrets: Secrets,
    /// The first cassette write that failed; reported by `finish`.
    failure: Option<KitError>,
}

#[derive(Debug)]
struct Context {
    upstream: Url,
    client: reqwest::Client,
    path: PathBuf,
    state: Arc<Mutex<State>>,
}

impl Recorder {
    /// Starts recording to `cassette` (created, or replaced if it exists)
    /// what is sent through the proxy to `upstream`.
    ///
    /// # Errors
    ///
    /// A [`KitError`] if the upstream is neither `https` nor loopback
    /// `http`, holds credentials or a query, or the cassette cannot be
    /// written.
    pub async fn start(upstream: &str, cassette: impl AsRef<Path>) -> Result<Recorder, KitError> {
        let upstream = check_upstream(upstream)?;
        let path = cassette.as_ref().to_owned();
        Cassette::default().save(&path)?;

        let mut client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
        if upstream.host_str().is_some_and(is_loopback) {
            client = client.no_proxy();
        }
        let client = client.build().map_err(|_| {
            KitError::Recorder("cannot build the HTTP client for the upstream".into())
        })?;

        let listener = TcpListener::bind((IpAddr::from([127, 0, 0, 1]), 0))
            .await
            .map_err(|e| KitError::Recorder(format!("cannot listen on loopback: {e}")))?;
        let address = listener
            .local_addr()
            .map_err(|e| KitError::Recorder(format!("cannot read the local address: {e}")))?;

        let state = Arc::new(Mutex::new(State {
            cassette: Cassette::default(),
            secrets: Secrets::default(),
            failure: None,
        }));
        let context = Arc::new(Context {
            upstream,
            client,
            path: path.clone(),
            state: state.clone(),
        });
        let (shutdown, stop) = watch::channel(false);
        let server = tokio::spawn(serve(listener, context, stop));
        Ok(Recorder {
            address,
            path,
            state,
            shutdown,
            server,
        })
    }

    /// The proxy's base URL, `http://127.0.0.1:<port>`: give it to a client
    /// as its base URL.
    pub fn uri(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The cassette file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What has been recorded so far (redacted, as on disk).
    pub fn cassette(&self) -> Cassette {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .cassette
            .clone()
    }

    /// Stops the proxy and returns the cassette as written.
    ///
    /// # Errors
    ///
    /// The first [`KitError`] met while writing the cassette.
    pub async fn finish(self) -> Result<Cassette, KitError> {
        let _ = self.shutdown.send(true);
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match state.failure.take() {
            Some(failure) => Err(failure),
            None => Ok(state.cassette.clone()),
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        self.server.abort();
    }
}

/// The upstream by the clients' own rule for a base URL (`https`, or
/// `http` to loopback only; no credentials, query or fragment).
fn check_upstream(raw: &str) -> Result<Url, KitError> {
    parse_base_url(raw).map_err(|e| KitError::Recorder(format!("refusing upstream: {e}")))
}

async fn serve(listener: TcpListener, context: Arc<Context>, mut stop: watch::Receiver<bool>) {
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => continue,
            },
            _ = stop.changed() => return,
        };
        let context = context.clone();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let context = context.clone();
                async move { Ok::<_, Infallible>(forward(&context, request).await) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = stop.changed() => connection.as_mut().graceful_shutdown(),
            }
        });
    }
}

fn text_response(status: u16, text: &str) -> hyper::Response<Full<Bytes>> {
    let mut response = hyper::Response::new(Full::new(Bytes::from(text.to_owned())));
    *response.status_mut() =
        reqwest::StatusCode::from_u16(status).unwrap_or(reqwest::StatusCode::BAD_GATEWAY);
    response.headers_mut().insert(
        CONTENT_TYPE,
        reqwest::header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// Forwards one request, records it, and returns the upstream's answer.
async fn forward(
    context: &Context,
    request: hyper::Request<Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let Ok(body) = body.collect().await.map(|b| b.to_bytes()) else {
        return text_response(400, "api-tokens recorder: could not read the request body");
    };
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str().to_owned())
        .unwrap_or_else(|| "/".to_owned());

    let mut target = context.upstream.as_str().trim_end_matches('/').to_owned();
    target.push_str(&path_and_query);
    let Ok(target) = Url::parse(&target) else {
        return text_response(400, "api-tokens recorder: the request path is not valid");
    };

    let mut outgoing = context.client.request(parts.method.clone(), target);
    for (name, value) in &parts.headers {
        if !HOP_HEADERS.contains(&name.as_str()) {
            outgoing = outgoing.header(name, value);
        }
    }
    let answer = match outgoing.body(body.clone()).send().await {
        Ok(answer) => answer,
        // The error's text may hold the URL; say only what kind it was.
        Err(e) if e.is_timeout() => {
            return text_response(504, "api-tokens recorder: the upstream timed out");
        }
        Err(_) => {
            return text_response(
                502,
                "api-tokens recorder: the upstream could not be reached",
            );
        }
    };
    let status = answer.status();
    let headers = answer.headers().clone();
    let Ok(answer_body) = answer.bytes().await else {
        return text_response(
            502,
            "api-tokens recorder: the upstream's answer was cut short",
        );
    };

    {
        let mut state = context.state.lock().unwrap_or_else(PoisonError::into_inner);
        let State {
            cassette,
            secrets,
            failure,
        } = &mut *state;
        let interaction = redacted_interaction(
            secrets,
            parts.method.as_str(),
            &path_and_query,
            &parts.headers,
            &body,
            status.as_u16(),
            &headers,
            &answer_body,
        );
        cassette.interactions.push(interaction);
        if let Err(e) = cassette.save(&context.path) {
            failure.get_or_insert(e);
        }
    }

    let mut response = hyper::Response::new(Full::new(answer_body));
    *response.status_mut() = status;
    for (name, value) in &headers {
        if !HOP_HEADERS.contains(&name.as_str()) {
            response.headers_mut().append(name, value.clone());
        }
    }
    response
}

/// The service a path belongs to, from the shapes of both APIs.
fn service_of(method: &str, path: &str) -> (Option<&'static str>, Option<&'static str>) {
    if let Some(op) = operations::unit(method, path) {
        return (Some("unit"), Some(op));
    }
    if let Some(op) = operations::mailtrap(method, path) {
        return (Some("mailtrap"), Some(op));
    }
    if path.starts_with("/api/accounts/") {
        (Some("mailtrap"), None)
    } else if path.starts_with("/users/") {
        (Some("unit"), None)
    } else {
        (None, None)
    }
}

/// A body as JSON when it parses, else as (lossy) text; `None` when empty.
fn split_body(bytes: &[u8]) -> (Option<Value>, Option<String>) {
    if bytes.is_empty() {
        return (None, None);
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(json) => (Some(json), None),
        Err(_) => (None, Some(String::from_utf8_lossy(bytes).into_owned())),
    }
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

/// Builds the interaction with every secret replaced.
#[allow(clippy::too_many_arguments)]
pub(crate) fn redacted_interaction(
    secrets: &mut Secrets,
    method: &str,
    path_and_query: &str,
    request_headers: &HeaderMap,
    request_body: &[u8],
    status: u16,
    response_headers: &HeaderMap,
    response_body: &[u8],
) -> Fixture {
    let (mut request_json, mut request_text) = split_body(request_body);
    let (mut response_json, mut response_text) = split_body(response_body);

    // First learn every secret the interaction holds…
    for (name, value) in request_headers.iter().chain(response_headers.iter()) {
        if let Ok(value) = value.to_str() {
            secrets.learn_header(name.as_str(), value);
        }
    }
    // (a query string and a form body have their secret-named values
    // replaced by name, however short, as they are learned)…
    let mut path = match path_and_query.split_once('?') {
        Some((path, query)) => format!("{path}?{}", secrets.hide_query(query)),
        None => path_and_query.to_owned(),
    };
    for json in [&request_json, &response_json].into_iter().flatten() {
        secrets.learn_json(json);
    }
    for (headers, text) in [
        (request_headers, &mut request_text),
        (response_headers, &mut response_text),
    ] {
        if let Some(text) = text {
            if is_form(headers) {
                let mut hidden = secrets.hide_query(text);
                std::mem::swap(text, &mut hidden);
                hidden.zeroize();
            }
            secrets.hide_text_fields(text);
        }
    }

    // …then replace them everywhere.
    secrets.scrub(&mut path);
    let headers = |map: &HeaderMap| {
        let mut out: BTreeMap<String, String> = BTreeMap::new();
        for (name, value) in map {
            if HOP_HEADERS.contains(&name.as_str()) {
                continue;
            }
            let mut value = if is_auth_header(name.as_str()) {
                recorded_auth_value(name.as_str(), &String::from_utf8_lossy(value.as_bytes()))
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            secrets.scrub(&mut value);
            out.entry(name.as_str().to_owned())
                .and_modify(|v| {
                    v.push_str(", ");
                    v.push_str(&value);
                })
                .or_insert_with(|| value.clone());
            value.zeroize();
        }
        out
    };
    let request_headers = headers(request_headers);
    let response_headers = headers(response_headers);
    for json in [&mut request_json, &mut response_json]
        .into_iter()
        .flatten()
    {
        secrets.scrub_json(json);
    }
    for text in [&mut request_text, &mut response_text]
        .into_iter()
        .flatten()
    {
        secrets.scrub(text);
    }

    let path_only = path.split('?').next().unwrap_or("/");
    let (service, operation) = service_of(method, path_only);
    let name = match operation {
        Some(op) => format!("{op} {status}"),
        None => format!("{method} {path_only} {status}"),
    };
    let fixture = Fixture {
        service: service.unwrap_or("unknown").to_owned(),
        name,
        request: FixtureRequest {
            method: method.to_owned(),
            path,
            headers: request_headers,
            body: request_json
                .take()
                .or_else(|| request_text.take().map(Value::String)),
        },
        response: FixtureResponse {
            status,
            headers: response_headers,
            body: response_json.take(),
            body_text: response_text.take(),
        },
    };
    // Every unredacted string was replaced in place (`scrub` zeroizes the
    // text it replaces) before being moved into the fixture.
    fixture
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn upstreams_are_checked() {
        assert!(check_upstream("https://api.s.unit.sh").is_ok());
        assert!(check_upstream("http://127.0.0.1:9999").is_ok());
        assert!(check_upstream("http://localhost:9999/base").is_ok());
        assert!(check_upstream("http://[::1]:9999").is_ok());
        for bad in [
            "http://example.com",
            "ftp://127.0.0.1",
            "https://user:pw@example.com",
            "https://example.com/?token=x",
            "not a url",
        ] {
            assert!(check_upstream(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_interaction_is_redacted_whole() {
        let secret = "a1b2c3d4e5f60718293a4b5c6d7e8f90x7k9";
        let caller = "caller-secret-value-0001";
        let mut request_headers = HeaderMap::new();
        request_headers.insert(
            "api-token",
            HeaderValue::from_static("caller-secret-value-0001"),
        );
        request_headers.insert("content-type", HeaderValue::from_static("application/json"));
        let mut response_headers = HeaderMap::new();
        response_headers.insert(
            "set-cookie",
            HeaderValue::from_static("_session=cookie-value-123456; path=/"),
        );
        response_headers.insert(
            "x-echo",
            HeaderValue::from_static("caller-secret-value-0001"),
        );
        let body = format!(r#"{{"id":1,"name":"n","token":"{secret}","note":"was {secret}"}}"#);
        let mut secrets = Secrets::default();
        let fixture = redacted_interaction(
            &mut secrets,
            "POST",
            "/api/accounts/1/api_tokens?api_key=query-secret-987654",
            &request_headers,
            br#"{"name":"n"}"#,
            200,
            &response_headers,
            body.as_bytes(),
        );
        let text = serde_json::to_string(&fixture).unwrap();
        for leaked in [secret, caller, "cookie-value-123456", "query-secret-987654"] {
            assert!(!text.contains(leaked), "{leaked} in {text}");
        }
        assert_eq!(fixture.service, "mailtrap");
        assert_eq!(fixture.name, "create 200");
        let hidden = super::super::redact::placeholder_of;
        assert_eq!(fixture.request.headers["api-token"], hidden(caller));
        assert_eq!(fixture.response.headers["set-cookie"], "[REDACTED]");
        assert_eq!(fixture.response.headers["x-echo"], hidden(caller));
        let body = fixture.response.body.unwrap();
        assert_eq!(body["token"], hidden(secret));
        assert_eq!(body["note"], format!("was {}", hidden(secret)));
        assert_eq!(
            fixture.request.path,
            format!(
                "/api/accounts/1/api_tokens?api_key={}",
                hidden("query-secret-987654")
            )
        );
    }
}
