//! The fake a test holds and its builder, written once over the
//! [`Dialect`] that says what differs between the services.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use wiremock::MockServer;

use super::engine::{self, Behaviour, Options, RateLimit, Shared, lock};
use super::error::KitError;
use super::faults::{self, Expectation, Fault, LoggedRequest};
use super::ids::{IdOrder, Ids};
use super::server::Server;

pub(crate) mod sealed {
    /// Keeps [`Dialect`](super::Dialect) to the services of this crate.
    pub trait Sealed {}
}

/// A service a [`Fake`] speaks: [`UnitDialect`](struct.UnitDialect.html) or
/// [`MailtrapDialect`](struct.MailtrapDialect.html). What differs between the
/// services (their tokens, endpoints, routes, answers and error shapes)
/// lives with the dialect; what a test asks of any fake is written once on
/// [`Fake`] and [`FakeBuilder`]. Sealed: only this crate implements it.
pub trait Dialect: sealed::Sealed + Sized + Send + Sync + 'static {
    /// The endpoints of the service, to aim a [`Fault`] or an
    /// [`Expectation`] at.
    type Op: Operation;
    /// A token as the fake holds it.
    type Token: Clone;
    /// What the fake keeps of the service between requests.
    #[doc(hidden)]
    type State: Behaviour;
    /// The service's settings a builder collects.
    #[doc(hidden)]
    type Settings: Clone + fmt::Debug + Default + Send + Sync;

    /// The name of [`Op`](Dialect::Op) in the descriptions of expectations.
    #[doc(hidden)]
    const OP_NAME: &'static str;

    /// The state a fake starts with, accepting `token`.
    #[doc(hidden)]
    fn state(settings: &Self::Settings, token: SecretString) -> Self::State;
    /// A fresh secret in the service's format: the fake's own credential
    /// when none is given.
    #[doc(hidden)]
    fn new_secret() -> SecretString;
    /// The fake's own credential when none is given: a fresh secret in the
    /// service's format that says what the service's own credential says
    /// (the Unit fake's names its user).
    #[doc(hidden)]
    fn own_secret(settings: &Self::Settings) -> SecretString {
        let _ = settings;
        Self::new_secret()
    }
    /// The tokens the state holds, by number.
    #[doc(hidden)]
    fn held(state: &Self::State) -> &BTreeMap<u64, Self::Token>;
    /// The ids the state hands out.
    #[doc(hidden)]
    fn ids(state: &mut Self::State) -> &mut Ids;
    /// The limit a fake of this service reports from the start, without
    /// refusing past it: the service's own where its answers tell it
    /// (Mailtrap's: requests per window), none elsewhere.
    #[doc(hidden)]
    const REPORTED_RATE_LIMIT: Option<(u32, Duration)> = None;
}

/// An endpoint of a fake's service.
pub trait Operation: sealed::Sealed + Copy + fmt::Debug {
    /// The name used in [`LoggedRequest::operation`]; `None` for the
    /// operation that stands for every request.
    fn name(self) -> Option<&'static str>;
}

/// A stateful fake of a service's token API on a loopback wiremock server:
/// [`UnitFake`](type.UnitFake.html) or [`MailtrapFake`](type.MailtrapFake.html),
/// whose pages say how each answers.
pub struct Fake<D: Dialect> {
    server: Server,
    pub(crate) engine: Shared<D::State>,
    token: SecretString,
    pub(crate) settings: D::Settings,
}

impl<D: Dialect> fmt::Debug for Fake<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fake")
            .field("server", &self.server)
            .field("engine", &self.engine)
            .field("token", &self.token)
            .field("settings", &self.settings)
            .finish()
    }
}

/// Settings of a [`Fake`] before it starts:
/// [`UnitFakeBuilder`](type.UnitFakeBuilder.html) or
/// [`MailtrapFakeBuilder`](type.MailtrapFakeBuilder.html).
pub struct FakeBuilder<D: Dialect> {
    token: Option<SecretString>,
    pub(crate) settings: D::Settings,
    options: Options,
}

impl<D: Dialect> fmt::Debug for FakeBuilder<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeBuilder")
            .field("token", &self.token)
            .field("settings", &self.settings)
            .field("options", &self.options)
            .finish()
    }
}

impl<D: Dialect> Clone for FakeBuilder<D> {
    fn clone(&self) -> Self {
        FakeBuilder {
            token: self.token.clone(),
            settings: self.settings.clone(),
            options: self.options.clone(),
        }
    }
}

impl<D: Dialect> FakeBuilder<D> {
    /// The credential the fake accepts (default: a random one in the
    /// service's format; the Unit fake's names its user, as Unit's Org
    /// tokens do).
    pub fn token(mut self, token: SecretString) -> Self {
        self.token = Some(token);
        self
    }

    /// Starts the fake with a rate limit: at most `limit` requests in any
    /// window of `per`, counted as the service counts them; see
    /// [`Fake::rate_limit`]. Mailtrap allows 150 per 10 seconds per
    /// credential (a Mailtrap fake reports that limit from the start, but
    /// enforces one only when given it).
    pub fn rate_limit(mut self, limit: u32, per: Duration) -> Self {
        self.options.rate_limit = Some(RateLimit {
            limit,
            per,
            enforced: true,
        });
        self
    }

    /// Starts the fake.
    pub async fn start(self) -> Fake<D> {
        let token = self.token.unwrap_or_else(|| D::own_secret(&self.settings));
        let state = D::state(&self.settings, token.clone());
        let (server, engine) = engine::start(state, self.options).await;
        Fake {
            server: Server::new(server),
            engine,
            token,
            settings: self.settings,
        }
    }
}

impl<D: Dialect> Fake<D> {
    /// Starts a fake with a random token and the defaults of
    /// [`builder`](Fake::builder).
    pub async fn start() -> Fake<D> {
        Fake::builder().start().await
    }

    /// A builder to choose the token, the rate limit and the service's
    /// settings (the Unit user, the Mailtrap accounts, …).
    pub fn builder() -> FakeBuilder<D> {
        FakeBuilder {
            token: None,
            settings: D::Settings::default(),
            options: Options {
                rate_limit: D::REPORTED_RATE_LIMIT.map(|(limit, per)| RateLimit {
                    limit,
                    per,
                    enforced: false,
                }),
            },
        }
    }

    /// The credential the fake accepts, presented as the service reads
    /// credentials.
    pub fn token(&self) -> &SecretString {
        &self.token
    }

    /// The id the next token the fake creates (or resets into) or inserts
    /// gets: 1 on a new Unit fake, 12345 on a new Mailtrap fake.
    pub fn next_id(&self) -> u64 {
        D::ids(&mut lock(&self.engine).dialect).next()
    }

    /// The tokens the fake holds now, by id (its own credential is not
    /// among them).
    pub fn tokens(&self) -> Vec<D::Token> {
        D::held(&lock(&self.engine).dialect)
            .values()
            .cloned()
            .collect()
    }

    /// The fake's base URL, `http://127.0.0.1:<port>`: give it to a
    /// client as its base URL.
    pub fn uri(&self) -> String {
        self.server.get().uri()
    }

    /// The wiremock server underneath. Mocks mounted on it take
    /// precedence over the fake, to override one endpoint in a test.
    pub fn server(&self) -> &MockServer {
        self.server.get()
    }

    /// Arms `fault` on `operation` (`Any` for every request): the next
    /// calls, or those its aims pick out (see [`Fault`]).
    pub fn inject(&self, operation: D::Op, fault: Fault) {
        lock(&self.engine).arm(operation.name(), fault);
    }

    /// Disarms every fault not yet used.
    pub fn clear_faults(&self) {
        lock(&self.engine).clear_faults();
    }

    /// Every request received so far, oldest first, auth headers
    /// redacted.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        lock(&self.engine).requests()
    }

    /// Forgets the requests received so far.
    pub fn clear_requests(&self) {
        lock(&self.engine).clear_requests();
    }

    /// Moves the fake's clock forward (it starts at the real time), e.g.
    /// past an expiration. However far: a clock moved past the last moment
    /// a `DateTime<Utc>` holds stays at that moment, and the fake goes on
    /// answering (every expiry it computes is then that moment too).
    pub fn advance_clock(&self, by: Duration) {
        lock(&self.engine).advance(by);
    }

    /// The fake's current time.
    pub fn now(&self) -> DateTime<Utc> {
        lock(&self.engine).now()
    }

    /// Expects calls to `operation` (every request for `Any`): at least
    /// one, or as many as [`times`](Expectation::times) says. Checked when
    /// the fake is dropped (a panic listing what was expected and every
    /// request received) or by [`verify`](Fake::verify).
    pub fn expect(&self, operation: D::Op) -> Expectation {
        let checks = lock(&self.engine).checks().clone();
        Expectation::new(
            checks,
            format!("{}::{operation:?}", D::OP_NAME),
            operation.name(),
        )
    }

    /// Checks the expectations now.
    ///
    /// # Errors
    ///
    /// [`KitError::Expectations`] when one is not met, listing those and
    /// every request received (method, path and status only).
    pub fn verify(&self) -> Result<(), KitError> {
        let checks = lock(&self.engine).checks().clone();
        faults::verify(&checks)
    }

    /// Disarms every expectation: none is checked any more, not even when
    /// the fake is dropped.
    pub fn clear_expectations(&self) {
        let checks = lock(&self.engine).checks().clone();
        faults::clear_expectations(&checks);
    }

    /// Limits the fake to `limit` requests in any window of `per`, in real
    /// (monotonic) time (a client paces itself in real time; the fake's
    /// clock does not move the window), as the service limits its callers:
    /// past that it answers 429 in the service's shape and acts on
    /// nothing. Requests it refuses do not count. Every request the fake
    /// receives counts, whatever its endpoint or answer, a fault's
    /// included. Replaces any earlier limit (the one a Mailtrap fake
    /// reports from the start included) and starts counting afresh.
    /// See [`UnitFake`](type.UnitFake.html) and
    /// [`MailtrapFake`](type.MailtrapFake.html) for what is counted together
    /// and which headers come with the answers.
    pub fn rate_limit(&self, limit: u32, per: Duration) {
        lock(&self.engine).set_rate_limit(Some(RateLimit {
            limit,
            per,
            enforced: true,
        }));
    }

    /// Lifts the rate limit, the one a Mailtrap fake reports from the start
    /// included: no 429 of the fake's own, and no rate-limit headers.
    pub fn clear_rate_limit(&self) {
        lock(&self.engine).set_rate_limit(None);
    }

    /// Hands out token ids in `order` from now on (see [`IdOrder`]): out of
    /// creation order, to test code that takes the highest id for the
    /// newest token.
    pub fn set_id_order(&self, order: IdOrder) {
        D::ids(&mut lock(&self.engine).dialect).set_order(order);
    }

    /// Sets the id the next token gets, as a fake restored from a saved
    /// state continues its numbering. It may go back to an id once given,
    /// as long as no held token has it or a higher one.
    ///
    /// # Errors
    ///
    /// [`KitError::Seed`] for 0, for more than one past
    /// [`MAX_TOKEN_ID`](super::ids::MAX_TOKEN_ID), or for an id not above every
    /// id held; nothing changes.
    pub fn set_next_id(&self, next: u64) -> Result<(), KitError> {
        let mut engine = lock(&self.engine);
        let state = &mut engine.dialect;
        let highest = D::held(state).keys().next_back().copied();
        D::ids(state).set_next(next, highest)
    }
}

impl<D: Dialect> Drop for Fake<D> {
    /// Checks the expectations (see [`Fake::expect`]): panics if one is not
    /// met, unless the thread is already panicking.
    fn drop(&mut self) {
        engine::verify_on_drop(&self.engine);
    }
}
