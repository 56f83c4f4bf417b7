//! Fault injection, expectations and the request log of the fakes.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::{Range, RangeFrom, RangeFull, RangeInclusive, RangeTo, RangeToInclusive};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use secrecy::SecretString;
use serde_json::Value;

/// A test on a request, for [`Fault::when`].
type Predicate = Arc<dyn Fn(&RequestView) -> bool + Send + Sync>;

/// What a fake does instead of (or on top of) answering normally, for some
/// calls to one endpoint. Arm it with `inject` on a fake
/// ([`UnitFake::inject`](struct.UnitFake.html#method.inject),
/// [`MailtrapFake::inject`](struct.MailtrapFake.html#method.inject)).
///
/// A fault has a kind ([`status`](Fault::status), [`delay`](Fault::delay),
/// [`drop_connection`](Fault::drop_connection),
/// [`lose_answer`](Fault::lose_answer), [`lagging_list`](Fault::lagging_list)), applies to [`times`](Fault::times)
/// calls (one unless said), then the fake answers normally again. It can be
/// aimed: at the calls made with one credential
/// ([`when_token`](Fault::when_token)), at the calls a test picks out
/// ([`when`](Fault::when)), and at the n-th of those calls
/// ([`nth`](Fault::nth)) or at the ones after the first n
/// ([`after`](Fault::after)). Every aim combines with every kind and with
/// `times`.
///
/// The calls a fault counts are the calls to its endpoint that pass its
/// aims, from the moment it is armed, whether or not another fault shaped
/// them; not those the fake's rate limit refuses, nor those a mock of the
/// test's own answers. Faults armed earlier take precedence: a fault whose
/// turn has come applies to the next call no earlier fault takes.
///
/// ```
/// use std::time::Duration;
/// use api_tokens::testing::Fault;
///
/// let throttled = Fault::status(429).retry_after(2).times(2);
/// let slow = Fault::delay(Duration::from_millis(300));
/// let gone = Fault::drop_connection();
/// let third_only = Fault::status(503).nth(3);
/// let held_back = Fault::status(500).delayed(Duration::from_millis(300));
/// let only_named = Fault::status(422).when(|r| {
///     r.body.as_ref().is_some_and(|b| b["name"] == "doomed")
/// });
/// # let _ = (throttled, slow, gone, third_only, held_back, only_named);
/// ```
#[derive(Clone)]
pub struct Fault {
    pub(crate) action: Action,
    pub(crate) times: u32,
    pub(crate) skip: u32,
    pub(crate) retry_after: Option<String>,
    pub(crate) delay: Option<Duration>,
    pub(crate) token: Option<SecretString>,
    pub(crate) predicate: Option<Predicate>,
}

impl fmt::Debug for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fault")
            .field("action", &self.action)
            .field("times", &self.times)
            .field("skip", &self.skip)
            .field("retry_after", &self.retry_after)
            .field("delay", &self.delay)
            .field("when_token", &self.token.as_ref().map(|_| "[REDACTED]"))
            .field("when", &self.predicate.as_ref().map(|_| "<predicate>"))
            .finish()
    }
}

/// What a lagging list leaves out: the newest tokens, which a list that
/// reads a replica, or a cache, does not show yet. See
/// [`Fault::lagging_list`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ListLag {
    /// The tokens of the last `n` creates (a reset's new token included),
    /// whoever made them.
    Newest(u32),
    /// The tokens created less than this long ago, in real (monotonic)
    /// time.
    Within(Duration),
}

impl ListLag {
    /// The ids a list leaves out, from the ids given (oldest first, with
    /// when).
    pub(crate) fn hidden<'a>(
        self,
        given: impl DoubleEndedIterator<Item = &'a (u64, std::time::Instant)>,
    ) -> std::collections::BTreeSet<u64> {
        match self {
            ListLag::Newest(n) => given
                .rev()
                .take(usize::try_from(n).unwrap_or(usize::MAX))
                .map(|(id, _)| *id)
                .collect(),
            ListLag::Within(d) => given
                .rev()
                .take_while(|(_, at)| at.elapsed() < d)
                .map(|(id, _)| *id)
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    /// Answer this status in the service's own error shape; nothing happens.
    Status(u16),
    /// Act normally, answer after the fault's delay.
    Delay,
    /// Close the connection without answering; nothing happens.
    Drop,
    /// Act normally, then close the connection without answering.
    LoseAnswer,
    /// Answer a list without the newest tokens.
    Lag(ListLag),
}

impl Fault {
    fn new(action: Action) -> Fault {
        Fault {
            action,
            times: 1,
            skip: 0,
            retry_after: None,
            delay: None,
            token: None,
            predicate: None,
        }
    }

    /// Answer `status` in the service's own error shape (a JSON:API error
    /// document for Unit, `{"error": …}` / `{"errors": …}` for Mailtrap,
    /// with Mailtrap's rate-limit headers on a 429). The request is not
    /// acted on. A status outside 100..=999 answers 500.
    pub fn status(status: u16) -> Fault {
        Fault::new(Action::Status(status))
    }

    /// Act on the request as usual but answer only after `delay`, e.g. to
    /// make a client time out on a call the service did carry out.
    pub fn delay(delay: Duration) -> Fault {
        Fault {
            delay: Some(delay),
            ..Fault::new(Action::Delay)
        }
    }

    /// Close the connection without answering and without acting on the
    /// request: the client sees a connection error (reset or closed before
    /// the answer).
    pub fn drop_connection() -> Fault {
        Fault::new(Action::Drop)
    }

    /// Act on the request (a create mints its token), then close the
    /// connection without answering: the answer is lost on the way back.
    pub fn lose_answer() -> Fault {
        Fault::new(Action::LoseAnswer)
    }

    /// Answer a list as usual but without the newest tokens, as a list
    /// served from a replica that has not caught up: the tokens of the
    /// last creates ([`ListLag::Newest`]), or those created within a
    /// while ([`ListLag::Within`]). It counts list calls only (armed on
    /// another endpoint, or on every one, it lets the others pass
    /// untouched); a get, a revoke or a delete still finds the hidden
    /// tokens, and a credential they carry still works.
    ///
    /// ```
    /// use std::time::Duration;
    /// use api_tokens::testing::{Fault, ListLag};
    ///
    /// let behind = Fault::lagging_list(ListLag::Newest(1)).times(u32::MAX);
    /// let slow_replica = Fault::lagging_list(ListLag::Within(Duration::from_millis(500))).times(10);
    /// # let _ = (behind, slow_replica);
    /// ```
    pub fn lagging_list(lag: ListLag) -> Fault {
        Fault::new(Action::Lag(lag))
    }

    /// Whether the fault counts only list calls.
    pub(crate) fn lists_only(&self) -> bool {
        matches!(self.action, Action::Lag(_))
    }

    /// How many calls the fault applies to (default 1; 0 is read as 1).
    pub fn times(mut self, times: u32) -> Fault {
        self.times = times.max(1);
        self
    }

    /// Applies first to the `n`-th call the fault counts (1-based; 0 is
    /// read as 1), and to the [`times`](Fault::times) − 1 calls after it:
    /// `Fault::status(503).nth(2)` answers 503 to the second call only.
    /// The same as [`after(n - 1)`](Fault::after); the later of the two
    /// wins.
    pub fn nth(mut self, n: u32) -> Fault {
        self.skip = n.max(1) - 1;
        self
    }

    /// Lets the first `n` calls the fault counts pass, then applies to the
    /// next [`times`](Fault::times) calls.
    pub fn after(mut self, n: u32) -> Fault {
        self.skip = n;
        self
    }

    /// Counts only the calls made with this credential (in `Api-Token` or
    /// `Authorization: Bearer`): the fake's own token, a token it minted,
    /// or any other. The fault keeps the secret as a `SecretString` and
    /// never shows it.
    pub fn when_token(mut self, token: &SecretString) -> Fault {
        self.token = Some(token.clone());
        self
    }

    /// Counts only the calls for which `predicate` holds, given a view of
    /// the request without its credentials ([`RequestView`]).
    ///
    /// The fake may ask more than once about the same request, while it
    /// holds its state: the predicate should only look at the request, and
    /// must not call the fake.
    pub fn when<F>(mut self, predicate: F) -> Fault
    where
        F: Fn(&RequestView) -> bool + Send + Sync + 'static,
    {
        self.predicate = Some(Arc::new(predicate));
        self
    }

    /// Adds `Retry-After: <seconds>` to a [`Fault::status`] answer.
    pub fn retry_after(self, seconds: u64) -> Fault {
        self.retry_after_value(seconds.to_string())
    }

    /// Adds `Retry-After` with any value (an HTTP date, or something a
    /// client must survive) to a [`Fault::status`] answer.
    pub fn retry_after_value(mut self, value: impl Into<String>) -> Fault {
        self.retry_after = Some(value.into());
        self
    }

    /// Holds a [`Fault::status`] answer back for `delay` before sending it
    /// (on a [`Fault::delay`], replaces its delay).
    pub fn delayed(mut self, delay: Duration) -> Fault {
        self.delay = Some(delay);
        self
    }

    pub(crate) fn closes_connection(&self) -> bool {
        matches!(self.action, Action::Drop | Action::LoseAnswer)
    }
}

/// A request as a [`Fault::when`] predicate sees it: credentials are
/// placeholders, never in clear.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RequestView {
    /// The HTTP method, upper case.
    pub method: String,
    /// The path, with the query string if there was one.
    pub path: String,
    /// The endpoint it reaches (`"create"`, `"list"`, …; see
    /// [`LoggedRequest::operation`]), or `None`.
    pub operation: Option<&'static str>,
    /// Lower-case header names to values, auth headers as a cassette
    /// writes them: the placeholder after the scheme (`Bearer redacted-…`).
    pub headers: BTreeMap<String, String>,
    /// The body, when it was JSON.
    pub body: Option<Value>,
}

/// One request a fake received, for assertions. Auth headers are kept only
/// as a placeholder (`redacted-<last4>-<hash>`, see
/// [`placeholder`](fn.placeholder.html)), after the scheme if the header
/// had one (`Bearer redacted-…`, as in a cassette), never in clear; a
/// cookie as `[REDACTED]`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LoggedRequest {
    /// The HTTP method, upper case.
    pub method: String,
    /// The path, with the query string if there was one.
    pub path: String,
    /// The endpoint it reached (`"create"`, `"list"`, `"revoke"`, `"get"`,
    /// `"delete"`, `"reset"`), or `None` for a path the service does not have.
    pub operation: Option<&'static str>,
    /// Lower-case header names to values, auth headers as placeholders
    /// (after the scheme: `Bearer redacted-…`).
    pub headers: BTreeMap<String, String>,
    /// The body, when it was JSON.
    pub body: Option<Value>,
    /// The body, when it was not empty and not JSON.
    pub body_text: Option<String>,
    /// The status answered, or `None` when the connection was dropped.
    pub status: Option<u16>,
    /// Whether an injected [`Fault`] shaped the answer.
    pub faulted: bool,
    /// Whether the fake's rate limit refused it with a 429 (see
    /// [`UnitFake::rate_limit`](struct.UnitFake.html#method.rate_limit)).
    pub rate_limited: bool,
}

/// How many calls an [`Expectation`] wants: a number or a range of
/// numbers, as `Mock::expect` of wiremock takes.
///
/// ```
/// use api_tokens::testing::Times;
///
/// assert_eq!(Times::from(2).to_string(), "exactly 2");
/// assert_eq!(Times::from(1..=3).to_string(), "between 1 and 3");
/// assert_eq!(Times::from(1..).to_string(), "at least 1");
/// assert_eq!(Times::from(..3).to_string(), "at most 2");
/// assert!(Times::from(1..=3).contains(3));
/// assert!(!Times::from(..3).contains(3));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Times {
    /// The least number, included.
    low: u64,
    /// The first number too many, or `None` for no limit.
    high: Option<u64>,
}

impl Times {
    /// Whether `count` calls satisfy it.
    pub fn contains(&self, count: u64) -> bool {
        count >= self.low && self.high.is_none_or(|high| count < high)
    }
}

impl fmt::Display for Times {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.low, self.high) {
            (0, None) => f.write_str("any number"),
            (low, None) => write!(f, "at least {low}"),
            (low, Some(high)) if high <= low => {
                write!(f, "a number in the empty range {low}..{high}")
            }
            (low, Some(high)) if high == low + 1 => write!(f, "exactly {low}"),
            (0, Some(high)) => write!(f, "at most {}", high - 1),
            (low, Some(high)) => write!(f, "between {low} and {}", high - 1),
        }
    }
}

impl From<u64> for Times {
    fn from(n: u64) -> Self {
        Times {
            low: n,
            high: n.checked_add(1),
        }
    }
}

impl From<Range<u64>> for Times {
    fn from(range: Range<u64>) -> Self {
        Times {
            low: range.start,
            high: Some(range.end),
        }
    }
}

impl From<RangeInclusive<u64>> for Times {
    fn from(range: RangeInclusive<u64>) -> Self {
        Times {
            low: *range.start(),
            high: range.end().checked_add(1),
        }
    }
}

impl From<RangeFrom<u64>> for Times {
    fn from(range: RangeFrom<u64>) -> Self {
        Times {
            low: range.start,
            high: None,
        }
    }
}

impl From<RangeTo<u64>> for Times {
    fn from(range: RangeTo<u64>) -> Self {
        Times {
            low: 0,
            high: Some(range.end),
        }
    }
}

impl From<RangeToInclusive<u64>> for Times {
    fn from(range: RangeToInclusive<u64>) -> Self {
        Times {
            low: 0,
            high: range.end.checked_add(1),
        }
    }
}

impl From<RangeFull> for Times {
    fn from(_: RangeFull) -> Self {
        Times { low: 0, high: None }
    }
}

/// One expectation: what it counts, what it wants, what it saw.
#[derive(Debug)]
struct Expected {
    label: String,
    operation: Option<&'static str>,
    times: Times,
    seen: u64,
    active: bool,
}

/// One request as an expectation's report shows it: no header, no body, no
/// query string, so never a secret.
#[derive(Debug, Clone)]
struct Arrival {
    method: String,
    path: String,
    status: Option<u16>,
}

impl fmt::Display for Arrival {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(status) => write!(f, "{} {} → {status}", self.method, self.path),
            None => write!(f, "{} {} → connection closed", self.method, self.path),
        }
    }
}

/// The expectations of one fake and the requests they are checked against.
#[derive(Debug, Default)]
pub(crate) struct Checks {
    expected: Vec<Expected>,
    arrivals: Vec<Arrival>,
}

pub(crate) type SharedChecks = Arc<Mutex<Checks>>;

fn lock_checks(checks: &SharedChecks) -> std::sync::MutexGuard<'_, Checks> {
    checks.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Checks {
    /// Counts a request the fake handled.
    pub(crate) fn arrived(
        &mut self,
        method: &str,
        path: &str,
        operation: Option<&'static str>,
        status: Option<u16>,
    ) {
        for expected in &mut self.expected {
            if expected.operation.is_none() || expected.operation == operation {
                expected.seen = expected.seen.saturating_add(1);
            }
        }
        self.arrivals.push(Arrival {
            method: method.to_owned(),
            path: path.to_owned(),
            status,
        });
    }

    pub(crate) fn add(&mut self, label: String, operation: Option<&'static str>) -> usize {
        self.expected.push(Expected {
            label,
            operation,
            times: Times::from(1..),
            seen: 0,
            active: true,
        });
        self.expected.len() - 1
    }

    /// Disarms every expectation (handles made earlier stay valid).
    pub(crate) fn clear(&mut self) {
        for expected in &mut self.expected {
            expected.active = false;
        }
    }

    /// Every expectation met, or a report of those that are not.
    pub(crate) fn verify(&self) -> Result<(), super::error::KitError> {
        let unmet: Vec<String> = self
            .expected
            .iter()
            .filter(|e| e.active && !e.times.contains(e.seen))
            .map(|e| {
                format!(
                    "{}: expected {} call(s), received {}",
                    e.label, e.times, e.seen
                )
            })
            .collect();
        if unmet.is_empty() {
            return Ok(());
        }
        Err(super::error::KitError::Expectations {
            unmet,
            received: self.arrivals.iter().map(ToString::to_string).collect(),
        })
    }
}

/// An expectation on a fake, made by `expect`
/// ([`UnitFake::expect`](struct.UnitFake.html#method.expect),
/// [`MailtrapFake::expect`](struct.MailtrapFake.html#method.expect)): the endpoint
/// must receive a number of calls, at least one unless
/// [`times`](Expectation::times) says otherwise.
///
/// Every call that reaches the endpoint after the expectation is made
/// counts, whatever its answer (a fault's, a rate limit's 429, an error).
/// Expectations are checked when the fake is dropped, which panics with a
/// report of what was expected and every request that arrived (method,
/// path and status, never a header or a body), unless the thread is
/// already panicking; or on demand with `verify`.
#[derive(Debug, Clone)]
pub struct Expectation {
    checks: SharedChecks,
    index: usize,
}

impl Expectation {
    pub(crate) fn new(
        checks: SharedChecks,
        label: String,
        operation: Option<&'static str>,
    ) -> Self {
        let index = lock_checks(&checks).add(label, operation);
        Expectation { checks, index }
    }

    /// How many calls the endpoint must receive: a number (`2`) or a range
    /// (`1..=3`, `2..`, `..`, …); see [`Times`].
    pub fn times(self, times: impl Into<Times>) -> Expectation {
        if let Some(expected) = lock_checks(&self.checks).expected.get_mut(self.index) {
            expected.times = times.into();
        }
        self
    }

    /// The calls counted so far.
    pub fn received(&self) -> u64 {
        lock_checks(&self.checks)
            .expected
            .get(self.index)
            .map_or(0, |e| e.seen)
    }
}

pub(crate) fn verify(checks: &SharedChecks) -> Result<(), super::error::KitError> {
    lock_checks(checks).verify()
}

pub(crate) fn clear_expectations(checks: &SharedChecks) {
    lock_checks(checks).clear();
}

pub(crate) fn arrived(
    checks: &SharedChecks,
    method: &str,
    path: &str,
    operation: Option<&'static str>,
    status: Option<u16>,
) {
    lock_checks(checks).arrived(method, path, operation, status);
}

/// The check a fake makes when dropped.
pub(crate) fn verify_on_drop(checks: &SharedChecks) {
    if std::thread::panicking() {
        return;
    }
    if let Err(report) = verify(checks) {
        panic!("{report}");
    }
}
