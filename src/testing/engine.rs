//! What both fakes share: a wiremock server whose answers come from a
//! stateful dialect, armed faults, a rate limit, expectations and the
//! request log.
//!
//! Two mocks are mounted. The first (highest priority) matches only a
//! request whose chosen fault closes the connection; it answers with a
//! Rust error, on which wiremock's hyper server closes the connection
//! without writing a response. The second (lowest priority, so that a test
//! can still mount its own mocks on [`MockServer`] to override an endpoint)
//! answers everything else from the dialect's state.
//!
//! Each mock weighs the request ([`Engine::plan`], which changes nothing)
//! and only the one that answers carries its plan out, so a request a
//! test's own mock answers leaves faults, limits and expectations
//! untouched. Every request is weighed and acted on under one hold of the
//! engine's lock: the dropper weighs and drops in one, the responder weighs
//! again, acts on the state and answers in one, and never takes a fault
//! that closes the connection (only the dropper can). Concurrent clients
//! therefore see one consistent state, whatever order their requests take.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderName, HeaderValue, RETRY_AFTER};
use serde_json::Value;
use wiremock::matchers::any;
use wiremock::{Match, Mock, MockServer, Request, Respond, ResponseTemplate};

use secrecy::ExposeSecret;

use super::faults::{Action, Fault, LoggedRequest, RequestView, SharedChecks};
use super::ids::Ids;
use super::redact::{is_auth_header, recorded_auth_value};

/// An answer of a dialect.
#[derive(Debug)]
pub struct Reply {
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

    /// Sets a header, replacing any value it had.
    pub(crate) fn set_header(mut self, name: HeaderName, value: &str) -> Reply {
        self.headers.retain(|(n, _)| *n != name);
        if let Ok(value) = HeaderValue::from_str(value) {
            self.headers.push((name, value));
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
pub trait Behaviour: Send + 'static {
    /// The endpoint a request reaches, if the service has it.
    fn operation(&self, method: &str, path: &str) -> Option<&'static str>;
    /// Acts on a request and answers it as the service does.
    fn handle(&mut self, request: &Request, now: DateTime<Utc>) -> Reply;
    /// An error answer of this status in the service's own shape.
    fn error_reply(&self, status: u16) -> Reply;
    /// The credential a request presents, as the service reads it.
    fn presented<'r>(&self, request: &'r Request) -> Option<&'r str>;
    /// The ids the dialect hands out, when it has any.
    fn ids(&self) -> Option<&Ids> {
        None
    }
    /// Leaves these ids out of the lists it answers, until told otherwise.
    fn hide_from_list(&mut self, _hidden: BTreeSet<u64>) {}
    /// Whether the service counts its rate limit per credential (else per
    /// client, all requests together).
    const LIMIT_PER_CREDENTIAL: bool;
    /// Whether the service sends `X-Ratelimit-Limit` and
    /// `X-Ratelimit-Remaining` on every answer, and `Retry-After` on the
    /// 429 of its rate limit.
    const LIMIT_HEADERS: bool;
}

struct Armed {
    operation: Option<&'static str>,
    fault: Fault,
    /// Calls it still applies to once its turn has come.
    left: u32,
    /// Calls it has counted so far.
    seen: u32,
}

impl Armed {
    fn counts(&self, call: &Call<'_>) -> bool {
        if self.operation.is_some() && self.operation != call.operation {
            return false;
        }
        if self.fault.lists_only() && call.operation != Some("list") {
            return false;
        }
        if let Some(token) = &self.fault.token {
            let matches = call
                .presented
                .is_some_and(|p| same_secret(p, token.expose_secret()));
            if !matches {
                return false;
            }
        }
        if let Some(predicate) = &self.fault.predicate {
            return predicate(call.view());
        }
        true
    }
}

/// A request as the engine weighs it, its view built only when a predicate
/// asks.
struct Call<'r> {
    request: &'r Request,
    operation: Option<&'static str>,
    presented: Option<&'r str>,
    view: std::sync::OnceLock<RequestView>,
}

impl Call<'_> {
    fn view(&self) -> &RequestView {
        self.view.get_or_init(|| RequestView {
            method: self.request.method.as_str().to_owned(),
            path: path_and_query(self.request),
            operation: self.operation,
            headers: redacted_headers(self.request),
            body: body_of(self.request).0,
        })
    }
}

/// A rate limit: `limit` requests in any window of `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RateLimit {
    pub limit: u32,
    pub per: std::time::Duration,
    /// Past the limit, a 429 (and nothing acted on); else the request is
    /// answered as any other, the limit only told in the headers.
    pub enforced: bool,
}

/// A sliding-window rate limit: at most `limit` counted requests in any
/// `per`, counted per key. Requests past the limit do not count, whether
/// refused (enforced) or answered anyway (only reported).
struct Limiter {
    limit: u32,
    per: std::time::Duration,
    enforced: bool,
    accepted: HashMap<u64, VecDeque<Instant>>,
    keys: RandomState,
}

/// What the limiter says of one request.
#[derive(Debug, Clone, Copy)]
struct Verdict {
    key: u64,
    limit: u32,
    /// Requests left in the window once this one is counted.
    remaining: u32,
    /// When refused: whole seconds until a slot frees.
    refused_for: Option<u64>,
    /// Whether it counts: within the limit.
    counted: bool,
}

impl Limiter {
    fn new(setting: RateLimit) -> Limiter {
        Limiter {
            limit: setting.limit,
            per: setting.per,
            enforced: setting.enforced,
            accepted: HashMap::new(),
            keys: RandomState::new(),
        }
    }

    fn weigh(&self, key: Option<&str>, now: Instant) -> Verdict {
        let key = self.keys.hash_one(key);
        // Counted on every request a fake answers (a Mailtrap fake's from
        // the start): looked at in place, nothing allocated.
        let times = self.accepted.get(&key);
        let in_window = |t: &&Instant| now.saturating_duration_since(**t) < self.per;
        let used = times.map_or(0, |times| times.iter().filter(in_window).count());
        let used = u32::try_from(used).unwrap_or(u32::MAX);
        if used < self.limit {
            return Verdict {
                key,
                limit: self.limit,
                remaining: self.limit - used - 1,
                refused_for: None,
                counted: true,
            };
        }
        if !self.enforced {
            return Verdict {
                key,
                limit: self.limit,
                remaining: 0,
                refused_for: None,
                counted: false,
            };
        }
        // The oldest accepted request leaves the window first.
        let wait = times
            .and_then(|times| times.iter().find(in_window))
            .map(|oldest| (*oldest + self.per).saturating_duration_since(now))
            .unwrap_or(self.per);
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        Verdict {
            key,
            limit: self.limit,
            remaining: 0,
            refused_for: Some(seconds.max(1)),
            counted: false,
        }
    }

    fn count(&mut self, verdict: &Verdict, now: Instant) {
        if !verdict.counted {
            return;
        }
        let per = self.per;
        let times = self.accepted.entry(verdict.key).or_default();
        while times
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= per)
        {
            times.pop_front();
        }
        times.push_back(now);
    }
}

/// What the engine decided for one request.
struct Plan {
    /// The faults that count this request.
    counted: Vec<usize>,
    /// The fault that shapes the answer.
    chosen: Option<usize>,
    limit: Option<Verdict>,
    at: Instant,
}

impl Plan {
    fn refused(&self) -> bool {
        self.limit.is_some_and(|v| v.refused_for.is_some())
    }
}

/// A dialect with its faults, its log, its expectations, its rate limit and
/// its clock.
pub(crate) struct Engine<D> {
    pub dialect: D,
    faults: Vec<Armed>,
    log: Vec<LoggedRequest>,
    clock_offset: TimeDelta,
    checks: SharedChecks,
    limiter: Option<Limiter>,
}

impl<D> std::fmt::Debug for Engine<D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("armed_faults", &self.faults.len())
            .field("requests", &self.log.len())
            .field("clock_offset", &self.clock_offset)
            .field(
                "rate_limit",
                &self.limiter.as_ref().map(|l| (l.limit, l.per, l.enforced)),
            )
            .finish_non_exhaustive()
    }
}

pub(crate) type Shared<D> = Arc<Mutex<Engine<D>>>;

/// Locks the engine. A panic while it was held (in a test thread) leaves the
/// state as it was; it is still the best account of what happened.
pub(crate) fn lock<D>(shared: &Shared<D>) -> MutexGuard<'_, Engine<D>> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<D: Behaviour> Engine<D> {
    /// The fake's time, to the millisecond: both services write times with
    /// milliseconds, so what a fake holds equals what it answers. A clock
    /// advanced past the last moment `DateTime` holds stays there.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        saturating_add(Utc::now(), self.clock_offset).trunc_subsecs(3)
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
            seen: 0,
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

    pub(crate) fn checks(&self) -> &SharedChecks {
        &self.checks
    }

    pub(crate) fn set_rate_limit(&mut self, limit: Option<RateLimit>) {
        self.limiter = limit.map(Limiter::new);
    }

    /// Weighs a request without changing anything: the same request weighed
    /// twice gets the same plan. With `closing` false (the responder, which
    /// cannot close a connection), a fault that would close it now is left
    /// as it is, neither counted nor chosen, for a later request: so what
    /// is changed is always decided under the lock that changes it, even
    /// if the state moved between the two mocks' looks at one request.
    fn plan(&self, request: &Request, closing: bool) -> Plan {
        let at = Instant::now();
        let operation = self
            .dialect
            .operation(request.method.as_str(), request.url.path());
        let presented = self.dialect.presented(request);
        let limit = self.limiter.as_ref().map(|limiter| {
            let key = if D::LIMIT_PER_CREDENTIAL {
                presented
            } else {
                None
            };
            limiter.weigh(key, at)
        });
        let mut plan = Plan {
            counted: Vec::new(),
            chosen: None,
            limit,
            at,
        };
        if plan.refused() {
            return plan;
        }
        let call = Call {
            request,
            operation,
            presented,
            view: std::sync::OnceLock::new(),
        };
        for (index, armed) in self.faults.iter().enumerate() {
            if !armed.counts(&call) {
                continue;
            }
            let turn_has_come = armed.seen >= armed.fault.skip && armed.left > 0;
            if turn_has_come && !closing && armed.fault.closes_connection() {
                continue;
            }
            plan.counted.push(index);
            if plan.chosen.is_none() && turn_has_come {
                plan.chosen = Some(index);
            }
        }
        plan
    }

    /// Carries a plan out: counts the request for the faults and the rate
    /// limit, uses up the chosen fault, and returns it.
    fn commit(&mut self, plan: &Plan) -> Option<Fault> {
        if let (Some(limiter), Some(verdict)) = (self.limiter.as_mut(), plan.limit.as_ref()) {
            limiter.count(verdict, plan.at);
        }
        for &index in &plan.counted {
            let armed = &mut self.faults[index];
            armed.seen = armed.seen.saturating_add(1);
        }
        let chosen = plan.chosen.map(|index| {
            let armed = &mut self.faults[index];
            armed.left -= 1;
            armed.fault.clone()
        });
        self.faults.retain(|armed| armed.left > 0);
        chosen
    }

    /// Answers from the rate limit, the fault or the dialect, with the rate
    /// limit's headers if the service sends them.
    fn answer(&mut self, request: &Request, plan: &Plan, fault: Option<&Fault>) -> Reply {
        let now = self.now();
        let mut reply = if let Some(seconds) = plan.limit.and_then(|v| v.refused_for) {
            let reply = self.dialect.error_reply(429);
            if D::LIMIT_HEADERS {
                reply.set_header(RETRY_AFTER, &seconds.to_string())
            } else {
                reply
            }
        } else {
            match fault {
                Some(Fault {
                    action: Action::Status(status),
                    retry_after,
                    ..
                }) => {
                    let mut reply = self.dialect.error_reply(*status);
                    if let Some(value) = retry_after {
                        reply = reply.set_header(RETRY_AFTER, value);
                    }
                    reply
                }
                Some(Fault {
                    action: Action::Lag(lag),
                    ..
                }) => {
                    let hidden = self
                        .dialect
                        .ids()
                        .map(|ids| lag.hidden(ids.given()))
                        .unwrap_or_default();
                    self.dialect.hide_from_list(hidden);
                    let reply = self.dialect.handle(request, now);
                    self.dialect.hide_from_list(BTreeSet::new());
                    reply
                }
                _ => self.dialect.handle(request, now),
            }
        };
        if D::LIMIT_HEADERS {
            if let Some(verdict) = plan.limit {
                // A 429, the limit's or a fault's, says nothing is left.
                let remaining = if reply.status == 429 {
                    0
                } else {
                    verdict.remaining
                };
                reply = reply
                    .set_header(RATE_LIMIT, &verdict.limit.to_string())
                    .set_header(RATE_REMAINING, &remaining.to_string());
            }
        }
        reply
    }

    fn log(&mut self, request: &Request, status: Option<u16>, faulted: bool, rate_limited: bool) {
        let operation = self
            .dialect
            .operation(request.method.as_str(), request.url.path());
        let (body, body_text) = body_of(request);
        super::faults::arrived(
            &self.checks,
            request.method.as_str(),
            request.url.path(),
            operation,
            status,
        );
        self.log.push(LoggedRequest {
            method: request.method.as_str().to_owned(),
            path: path_and_query(request),
            operation,
            headers: redacted_headers(request),
            body,
            body_text,
            status,
            faulted,
            rate_limited,
        });
    }
}

const RATE_LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
const RATE_REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");

/// The path with its query string, as sent.
fn path_and_query(request: &Request) -> String {
    let mut path = request.url.path().to_owned();
    if let Some(query) = request.url.query() {
        path.push('?');
        path.push_str(query);
    }
    path
}

/// The headers, auth headers as a cassette writes them: the credential's
/// placeholder after its scheme (`Bearer redacted-x7k9-…`), a cookie as
/// `[REDACTED]`.
fn redacted_headers(request: &Request) -> BTreeMap<String, String> {
    let mut headers = BTreeMap::new();
    for (name, value) in &request.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        let value = if is_auth_header(name.as_str()) {
            recorded_auth_value(name.as_str(), &value)
        } else {
            value
        };
        headers.insert(name.as_str().to_owned(), value);
    }
    headers
}

/// The body as JSON, or as text when it is not JSON.
fn body_of(request: &Request) -> (Option<Value>, Option<String>) {
    if request.body.is_empty() {
        return (None, None);
    }
    match serde_json::from_slice::<Value>(&request.body) {
        Ok(json) => (Some(json), None),
        Err(_) => (
            None,
            Some(String::from_utf8_lossy(&request.body).into_owned()),
        ),
    }
}

/// How a fake starts.
#[derive(Debug, Clone, Default)]
pub(crate) struct Options {
    pub rate_limit: Option<RateLimit>,
}

/// Starts a wiremock server answering from `dialect`.
pub(crate) async fn start<D: Behaviour>(dialect: D, options: Options) -> (MockServer, Shared<D>) {
    let shared = Arc::new(Mutex::new(Engine {
        dialect,
        faults: Vec::new(),
        log: Vec::new(),
        clock_offset: TimeDelta::zero(),
        checks: SharedChecks::default(),
        limiter: options.rate_limit.map(Limiter::new),
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

/// Matches (and so drops) a request whose fault closes the connection.
struct Dropper<D>(Shared<D>);

impl<D: Behaviour> Match for Dropper<D> {
    fn matches(&self, request: &Request) -> bool {
        let mut engine = lock(&self.0);
        let plan = engine.plan(request, true);
        let closes = plan
            .chosen
            .is_some_and(|i| engine.faults[i].fault.closes_connection());
        if !closes {
            // Nothing changes: a mock of the test's own, or the responder,
            // weighs the request again.
            return false;
        }
        let fault = engine.commit(&plan);
        if fault.is_some_and(|f| f.action == Action::LoseAnswer) {
            let now = engine.now();
            let _lost = engine.dialect.handle(request, now);
        }
        engine.log(request, None, true, false);
        true
    }
}

/// Answers from the dialect, or as the rate limit or the fault says.
struct Responder<D>(Shared<D>);

impl<D: Behaviour> Respond for Responder<D> {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut engine = lock(&self.0);
        let plan = engine.plan(request, false);
        let fault = engine.commit(&plan);
        let reply = engine.answer(request, &plan, fault.as_ref());
        let status = reply.status;
        engine.log(request, Some(status), fault.is_some(), plan.refused());
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
    seeded();
    (0..len)
        .map(|_| char::from(alphabet[fastrand::usize(..alphabet.len())]))
        .collect()
}

/// Seeds this thread's generator, the first time, from the operating
/// system's randomness (through `RandomState`'s keys) with the process and
/// the time: the generator's own seed (the time since boot and the thread's
/// number) is the same in two processes started at once, and two fakes
/// must never mint the same secret.
pub(crate) fn seeded() {
    use std::hash::{BuildHasher, Hasher};

    thread_local!(static DONE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });
    DONE.with(|done| {
        if !done.get() {
            let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
            hasher.write_u32(std::process::id());
            hasher.write_u128(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos()),
            );
            fastrand::seed(hasher.finish());
            done.set(true);
        }
    });
}

/// `at` moved by `by`, or the first or last moment `DateTime` holds when
/// that is beyond it: the fakes' clocks and the expiries they compute
/// from them never overflow, however far a test advances the clock.
pub(crate) fn saturating_add(at: DateTime<Utc>, by: TimeDelta) -> DateTime<Utc> {
    at.checked_add_signed(by)
        .unwrap_or(if by < TimeDelta::zero() {
            DateTime::<Utc>::MIN_UTC
        } else {
            DateTime::<Utc>::MAX_UTC
        })
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

/// Checks a fake's expectations as it is dropped.
pub(crate) fn verify_on_drop<D>(shared: &Shared<D>) {
    let checks = lock(shared).checks.clone();
    super::faults::verify_on_drop(&checks);
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn enforced(limit: u32, per: Duration) -> RateLimit {
        RateLimit {
            limit,
            per,
            enforced: true,
        }
    }

    #[test]
    fn a_limit_only_reported_answers_past_it_and_counts_only_within() {
        let mut limiter = Limiter::new(RateLimit {
            limit: 2,
            per: Duration::from_secs(10),
            enforced: false,
        });
        let start = Instant::now();
        let at = |secs: u64| start + Duration::from_secs(secs);
        let mut take = |secs: u64| {
            let verdict = limiter.weigh(Some("a"), at(secs));
            limiter.count(&verdict, at(secs));
            (verdict.remaining, verdict.refused_for)
        };
        assert_eq!(take(0), (1, None));
        assert_eq!(take(4), (0, None));
        // Past the limit: answered, nothing left, not counted.
        assert_eq!(take(5), (0, None));
        assert_eq!(take(9), (0, None));
        assert_eq!(take(10), (0, None), "the one at 0 s left");
        assert_eq!(take(14), (0, None), "the one at 4 s left");
        assert_eq!(take(25), (1, None), "both left; 9 s was never counted");
    }

    #[test]
    fn the_window_slides_and_refused_requests_do_not_count() {
        let mut limiter = Limiter::new(enforced(2, Duration::from_secs(10)));
        let start = Instant::now();
        let at = |secs: u64| start + Duration::from_secs(secs);
        let mut take = |secs: u64, key: Option<&str>| {
            let verdict = limiter.weigh(key, at(secs));
            limiter.count(&verdict, at(secs));
            (verdict.remaining, verdict.refused_for)
        };
        assert_eq!(take(0, Some("a")), (1, None));
        assert_eq!(take(4, Some("a")), (0, None));
        // Full until the first leaves the window at 10 s.
        assert_eq!(take(5, Some("a")), (0, Some(5)));
        assert_eq!(take(9, Some("a")), (0, Some(1)));
        // Another key has its own window.
        assert_eq!(take(9, Some("b")), (1, None));
        assert_eq!(take(10, Some("a")), (0, None), "the one at 0 s left");
        assert_eq!(take(13, Some("a")), (0, Some(1)), "4 s and 10 s still in");
        assert_eq!(take(14, Some("a")), (0, None));
    }

    /// A dialect that answers 200 to everything.
    struct Plain;

    impl Behaviour for Plain {
        fn operation(&self, _: &str, _: &str) -> Option<&'static str> {
            Some("op")
        }
        fn handle(&mut self, _: &Request, _: DateTime<Utc>) -> Reply {
            Reply::empty(200)
        }
        fn error_reply(&self, status: u16) -> Reply {
            Reply::empty(status)
        }
        fn presented<'r>(&self, _: &'r Request) -> Option<&'r str> {
            None
        }
        const LIMIT_PER_CREDENTIAL: bool = false;
        const LIMIT_HEADERS: bool = false;
    }

    #[test]
    fn only_the_dropper_takes_a_fault_that_closes_the_connection() {
        let mut engine = Engine {
            dialect: Plain,
            faults: Vec::new(),
            log: Vec::new(),
            clock_offset: TimeDelta::zero(),
            checks: SharedChecks::default(),
            limiter: None,
        };
        let request = Request {
            url: "http://127.0.0.1/x".parse().unwrap(),
            method: wiremock::http::Method::GET,
            headers: reqwest::header::HeaderMap::new(),
            body: Vec::new(),
        };
        engine.arm(None, Fault::drop_connection());
        engine.arm(None, Fault::status(503).after(1));

        // The responder leaves the drop alone (its turn has come), and the
        // status fault counts the request but waits its turn.
        let plan = engine.plan(&request, false);
        assert_eq!(plan.chosen, None);
        assert_eq!(plan.counted, [1]);
        assert!(engine.commit(&plan).is_none());
        assert_eq!(engine.faults.len(), 2, "the drop is still armed");

        // The dropper takes it.
        let plan = engine.plan(&request, true);
        assert_eq!(plan.chosen, Some(0));
        let taken = engine.commit(&plan).expect("the drop");
        assert!(taken.closes_connection());
        assert_eq!(engine.faults.len(), 1);

        // Then the status fault's turn has come, for either.
        let plan = engine.plan(&request, false);
        assert_eq!(plan.chosen, Some(0));
    }

    #[test]
    fn a_wait_under_a_second_rounds_up() {
        let limiter = Limiter::new(enforced(0, Duration::from_millis(300)));
        let verdict = limiter.weigh(None, Instant::now());
        assert_eq!(verdict.refused_for, Some(1));
        assert_eq!(verdict.remaining, 0);
    }
}
