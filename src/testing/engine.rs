//! What both fakes share: a wiremock server whose answers come from a
//! stateful dialect, armed faults, and the request log.
//!
//! Two mocks are mounted. The first (highest priority) matches only a
//! request whose next armed fault closes the connection; it answers with a
//! Rust error, on which wiremock's hyper server closes the connection
//! without writing a response. The second (lowest priority, so that a test
//! can still mount its own mocks on [`MockServer`] to override an endpoint)
//! answers everything else from the dialect's state. wiremock handles one
//! request at a time through both, so the decisions are never interleaved.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderName, HeaderValue, RETRY_AFTER};
use serde_json::Value;
use wiremock::matchers::any;
use wiremock::{Match, Mock, MockServer, Request, Respond, ResponseTemplate};

use super::faults::{Action, Fault, LoggedRequest};
use super::redact::{is_auth_header, placeholder_of};

/// An answer of a dialect.
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: u16,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Option<(Vec<u8>, &'static str)>,
}

impl Reply {
    pub(crate) fn json(status: u16, content_type: &'static str, value: &Value) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            // Serializing a `Value` cannot fail.
            body: Some((serde_json::to_vec(value).unwrap_or_default(), content_type)),
        }
    }

    pub(crate) fn empty(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: None,
        }
    }

    pub(crate) fn header(mut self, name: &'static str, value: &str) -> Reply {
        if let Ok(value) = HeaderValue::from_str(value) {
            self.headers.push((HeaderName::from_static(name), value));
        }
        self
    }

    fn into_template(self) -> ResponseTemplate {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut template = ResponseTemplate::new(status);
        for (name, value) in self.headers {
            template = template.append_header(name, value);
        }
        if let Some((bytes, content_type)) = self.body {
            template = template
                .set_body_bytes(bytes)
                .insert_header(CONTENT_TYPE, HeaderValue::from_static(content_type));
        }
        template
    }
}

/// The behaviour of one service.
pub(crate) trait Dialect: Send + 'static {
    /// The endpoint a request reaches, if the service has it.
    fn operation(&self, method: &str, path: &str) -> Option<&'static str>;
    /// Acts on a request and answers it as the service does.
    fn handle(&mut self, request: &Request, now: DateTime<Utc>) -> Reply;
    /// An error answer of this status in the service's own shape.
    fn error_reply(&self, status: u16) -> Reply;
}

struct Armed {
    operation: Option<&'static str>,
    fault: Fault,
    left: u32,
}

/// A dialect with its faults, its log and its clock.
pub(crate) struct Engine<D> {
    pub dialect: D,
    faults: Vec<Armed>,
    log: Vec<LoggedRequest>,
    clock_offset: TimeDelta,
}

impl<D> std::fmt::Debug for Engine<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("armed_faults", &self.faults.len())
            .field("requests", &self.log.len())
            .field("clock_offset", &self.clock_offset)
            .finish_non_exhaustive()
    }
}

pub(crate) type Shared<D> = Arc<Mutex<Engine<D>>>;

/// Locks the engine. A panic while it was held (in a test thread) leaves the
/// state as it was; it is still the best account of what happened.
pub(crate) fn lock<D>(shared: &Shared<D>) -> MutexGuard<'_, Engine<D>> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<D: Dialect> Engine<D> {
    /// The fake's time, to the millisecond: both services write times with
    /// milliseconds, so what a fake holds equals what it answers.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        (Utc::now() + self.clock_offset).trunc_subsecs(3)
    }

    pub(crate) fn advance(&mut self, by: std::time::Duration) {
        let by = TimeDelta::from_std(by).unwrap_or(TimeDelta::MAX);
        self.clock_offset = self.clock_offset.checked_add(&by).unwrap_or(TimeDelta::MAX);
    }

    pub(crate) fn arm(&mut self, operation: Option<&'static str>, fault: Fault) {
        let left = fault.times;
        self.faults.push(Armed {
            operation,
            fault,
            left,
        });
    }

    pub(crate) fn clear_faults(&mut self) {
        self.faults.clear();
    }

    pub(crate) fn requests(&self) -> Vec<LoggedRequest> {
        self.log.clone()
    }

    pub(crate) fn clear_requests(&mut self) {
        self.log.clear();
    }

    fn next_fault(&self, operation: Option<&'static str>) -> Option<usize> {
        self.faults
            .iter()
            .position(|a| a.left > 0 && (a.operation.is_none() || a.operation == operation))
    }

    fn consume(&mut self, index: usize) -> Fault {
        let armed = &mut self.faults[index];
        armed.left -= 1;
        let fault = armed.fault.clone();
        if armed.left == 0 {
            self.faults.remove(index);
        }
        fault
    }

    fn log(
        &mut self,
        request: &Request,
        operation: Option<&'static str>,
        status: Option<u16>,
        faulted: bool,
    ) {
        let mut headers = BTreeMap::new();
        for (name, value) in &request.headers {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            let value = if is_auth_header(name.as_str()) {
                let credential = value
                    .split_once(' ')
                    .map(|(_, c)| c.trim())
                    .unwrap_or(value.as_str());
                placeholder_of(credential)
            } else {
                value
            };
            headers.insert(name.as_str().to_owned(), value);
        }
        let (body, body_text) = if request.body.is_empty() {
            (None, None)
        } else {
            match serde_json::from_slice::<Value>(&request.body) {
                Ok(json) => (Some(json), None),
                Err(_) => (
                    None,
                    Some(String::from_utf8_lossy(&request.body).into_owned()),
                ),
            }
        };
        let mut path = request.url.path().to_owned();
        if let Some(query) = request.url.query() {
            path.push('?');
            path.push_str(query);
        }
        self.log.push(LoggedRequest {
            method: request.method.as_str().to_owned(),
            path,
            operation,
            headers,
            body,
            body_text,
            status,
            faulted,
        });
    }
}

/// Starts a wiremock server answering from `dialect`.
pub(crate) async fn start<D: Dialect>(dialect: D) -> (MockServer, Shared<D>) {
    let shared = Arc::new(Mutex::new(Engine {
        dialect,
        faults: Vec::new(),
        log: Vec::new(),
        clock_offset: TimeDelta::zero(),
    }));
    let server = MockServer::start().await;
    Mock::given(Dropper(shared.clone()))
        .respond_with_err(|_: &Request| {
            std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "connection dropped by an injected fault",
            )
        })
        .with_priority(1)
        .named("api-tokens fake: injected connection drops")
        .mount(&server)
        .await;
    Mock::given(any())
        .respond_with(Responder(shared.clone()))
        .with_priority(u8::MAX)
        .named("api-tokens fake")
        .mount(&server)
        .await;
    (server, shared)
}

/// Matches (and so drops) a request whose next fault closes the connection.
struct Dropper<D>(Shared<D>);

impl<D: Dialect> Match for Dropper<D> {
    fn matches(&self, request: &Request) -> bool {
        let mut engine = lock(&self.0);
        let operation = engine
            .dialect
            .operation(request.method.as_str(), request.url.path());
        let Some(index) = engine.next_fault(operation) else {
            return false;
        };
        if !engine.faults[index].fault.closes_connection() {
            return false;
        }
        let fault = engine.consume(index);
        if fault.action == Action::LoseAnswer {
            let now = engine.now();
            let _lost = engine.dialect.handle(request, now);
        }
        engine.log(request, operation, None, true);
        true
    }
}

/// Answers from the dialect, or as the next fault says.
struct Responder<D>(Shared<D>);

impl<D: Dialect> Respond for Responder<D> {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut engine = lock(&self.0);
        let operation = engine
            .dialect
            .operation(request.method.as_str(), request.url.path());
        let fault = engine
            .next_fault(operation)
            .filter(|&i| !engine.faults[i].fault.closes_connection())
            .map(|i| engine.consume(i));
        let now = engine.now();
        let reply = match &fault {
            Some(Fault {
                action: Action::Status(status),
                retry_after,
                ..
            }) => {
                let mut reply = engine.dialect.error_reply(*status);
                if let Some(value) = retry_after {
                    if let Ok(value) = HeaderValue::from_str(value) {
                        reply.headers.push((RETRY_AFTER, value));
                    }
                }
                reply
            }
            _ => engine.dialect.handle(request, now),
        };
        let status = reply.status;
        engine.log(request, operation, Some(status), fault.is_some());
        let template = reply.into_template();
        match fault.and_then(|f| f.delay) {
            Some(delay) => template.set_delay(delay),
            None => template,
        }
    }
}

/// The `Bearer` credential or the value of a named header, if present.
pub(crate) fn credential<'r>(request: &'r Request, header: &str) -> Option<&'r str> {
    request
        .headers
        .get(header)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// The token of an `Authorization: Bearer …` header.
pub(crate) fn bearer(request: &Request) -> Option<&str> {
    credential(request, "authorization").and_then(|v| {
        let (scheme, token) = v.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
    })
}

/// Random characters from `alphabet`, for secrets and ids of the fakes.
pub(crate) fn random_string(alphabet: &[u8], len: usize) -> String {
    (0..len)
        .map(|_| char::from(alphabet[fastrand::usize(..alphabet.len())]))
        .collect()
}

/// Formats a time the way both services do: `2024-01-31T12:00:00.000Z`.
pub(crate) fn format_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Compares two secrets without stopping at the first difference.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The methods both fakes share, on `$fake` whose endpoints are `$op`.
macro_rules! common_fake_methods {
    ($op:ty) => {
        /// The fake's base URL, `http://127.0.0.1:<port>`: give it to a
        /// client as its base URL.
        pub fn uri(&self) -> String {
            self.server.uri()
        }

        /// The wiremock server underneath. Mocks mounted on it take
        /// precedence over the fake, to override one endpoint in a test.
        pub fn server(&self) -> &wiremock::MockServer {
            &self.server
        }

        /// Arms `fault` for the next calls to `operation` (see
        /// [`Fault`](crate::testing::Fault)).
        pub fn inject(&self, operation: $op, fault: $crate::testing::Fault) {
            $crate::testing::engine::lock(&self.engine).arm(operation.name(), fault);
        }

        /// Disarms every fault not yet used.
        pub fn clear_faults(&self) {
            $crate::testing::engine::lock(&self.engine).clear_faults();
        }

        /// Every request received so far, oldest first, auth headers
        /// redacted.
        pub fn requests(&self) -> Vec<$crate::testing::LoggedRequest> {
            $crate::testing::engine::lock(&self.engine).requests()
        }

        /// Forgets the requests received so far.
        pub fn clear_requests(&self) {
            $crate::testing::engine::lock(&self.engine).clear_requests();
        }

        /// Moves the fake's clock forward (it starts at the real time), e.g.
        /// past an expiration.
        pub fn advance_clock(&self, by: std::time::Duration) {
            $crate::testing::engine::lock(&self.engine).advance(by);
        }

        /// The fake's current time.
        pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
            $crate::testing::engine::lock(&self.engine).now()
        }
    };
}
pub(crate) use common_fake_methods;
