//! Fault injection and the request log of the fakes.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

/// What a fake does instead of (or on top of) answering normally, for the
/// next calls to one endpoint. Arm it with `inject` on a fake
/// ([`UnitFake::inject`](super::UnitFake::inject),
/// [`MailtrapFake::inject`](super::MailtrapFake::inject)).
///
/// Faults armed on the same endpoint apply in the order they were armed;
/// each applies to [`times`](Fault::times) calls (one unless said), then the
/// fake answers normally again.
///
/// ```
/// use std::time::Duration;
/// use api_tokens::testing::Fault;
///
/// let throttled = Fault::status(429).retry_after(2).times(2);
/// let slow = Fault::delay(Duration::from_millis(300));
/// let gone = Fault::drop_connection();
/// # let _ = (throttled, slow, gone);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub(crate) action: Action,
    pub(crate) times: u32,
    pub(crate) retry_after: Option<String>,
    pub(crate) delay: Option<Duration>,
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
}

impl Fault {
    fn new(action: Action) -> Fault {
        Fault {
            action,
            times: 1,
            retry_after: None,
            delay: None,
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

    /// How many calls the fault applies to (default 1; 0 is read as 1).
    pub fn times(mut self, times: u32) -> Fault {
        self.times = times.max(1);
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

    /// Holds a [`Fault::status`] answer back for `delay` before sending it.
    pub fn after(mut self, delay: Duration) -> Fault {
        self.delay = Some(delay);
        self
    }

    pub(crate) fn closes_connection(&self) -> bool {
        matches!(self.action, Action::Drop | Action::LoseAnswer)
    }
}

/// One request a fake received, for assertions. Auth headers are kept only
/// as a placeholder (`[REDACTED…last4]`, see
/// [`placeholder`](super::placeholder)), never in clear.
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
    /// Lower-case header names to values, auth headers as placeholders.
    pub headers: BTreeMap<String, String>,
    /// The body, when it was JSON.
    pub body: Option<Value>,
    /// The body, when it was not empty and not JSON.
    pub body_text: Option<String>,
    /// The status answered, or `None` when the connection was dropped.
    pub status: Option<u16>,
    /// Whether an injected [`Fault`] shaped the answer.
    pub faulted: bool,
}
