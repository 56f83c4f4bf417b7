//! What a test suite needs to exercise code that manages API tokens,
//! without touching a real service (feature `testing`).
//!
//! - **Stateful fakes** of both services, each started in one line on a
//!   loopback wiremock server: [`UnitFake`] and [`MailtrapFake`]. They keep
//!   tokens in memory and answer as the services do: dialect, content types,
//!   statuses, error shapes, secrets shown once. A client of this crate
//!   pointed at a fake needs nothing but its [`uri`](UnitFake::uri) and its
//!   [`token`](UnitFake::token).
//! - **Fault injection** on the fakes ([`Fault`]): the next N calls to an
//!   endpoint answer a chosen status in the service's own error shape (with
//!   or without `Retry-After`), answer late, drop the connection, or act and
//!   then lose the answer; and a log of the requests received
//!   ([`LoggedRequest`]), auth headers redacted.
//! - **Fixtures**: every `fixtures/**/*.json` file of the crate, embedded
//!   and found by name ([`fixture`], [`Fixture::get`], [`fixtures`]), ready
//!   to mount on a wiremock server in one line.
//! - **Record and replay**: [`Recorder`] is a loopback proxy that records
//!   real interactions into a [`Cassette`] file, every secret redacted before
//!   anything touches the disk; [`Replayer`] serves a cassette back.
//!
//! # A fake in a test
//!
//! ```
//! use api_tokens::testing::MailtrapFake;
//! use secrecy::ExposeSecret;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mt = MailtrapFake::start().await;
//! let url = format!("{}/api/accounts/{}/api_tokens", mt.uri(), mt.account_id());
//! let body = serde_json::json!({"name": "ci", "resources": [
//!     {"resource_type": "account", "resource_id": mt.account_id(), "access_level": 100}]});
//! let answer = reqwest::Client::new()
//!     .post(&url)
//!     .header("Api-Token", mt.token().expose_secret())
//!     .header("content-type", "application/json")
//!     .body(body.to_string())
//!     .send()
//!     .await?;
//! assert_eq!(answer.status(), 200);
//! let created: serde_json::Value = serde_json::from_slice(&answer.bytes().await?)?;
//!
//! let held = mt.tokens(); // the fake's state, for assertions
//! assert_eq!(held.len(), 1);
//! assert_eq!(created["token"], held[0].secret.expose_secret());
//! # Ok(()) }
//! ```
//!
//! With this crate's clients, the fake needs nothing but its URL and token:
//! `mailtrap::Client::builder().token(mt.token().clone()).account_id(mt.account_id()).base_url(mt.uri())`.
//!
//! # Fault injection
//!
//! ```
//! use api_tokens::testing::{Fault, UnitFake, UnitOp};
//! use secrecy::ExposeSecret;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), reqwest::Error> {
//! let unit = UnitFake::start().await;
//! unit.inject(UnitOp::List, Fault::status(429).retry_after(1));
//! unit.inject(UnitOp::List, Fault::drop_connection());
//!
//! let url = format!("{}/users/{}/api-tokens", unit.uri(), unit.user_id());
//! let http = reqwest::Client::new();
//! let list = || http.get(&url).bearer_auth(unit.token().expose_secret()).send();
//! let first = list().await?;
//! assert_eq!(first.status(), 429);
//! assert_eq!(first.headers()["retry-after"], "1");
//! assert!(list().await.is_err(), "the connection was dropped");
//! assert_eq!(list().await?.status(), 200);
//!
//! let log = unit.requests();
//! assert_eq!(log.len(), 3);
//! assert_eq!(log[1].status, None);
//! # Ok(()) }
//! ```
//!
//! # A fixture on a wiremock server
//!
//! ```no_run
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let server = wiremock::MockServer::start().await;
//! api_tokens::testing::fixture("mailtrap error 422 base")?.mount(&server).await;
//! // … a client with base URL `server.uri()` now gets Mailtrap's 422 …
//! # Ok(()) }
//! ```
//!
//! # Record and replay
//!
//! ```
//! use api_tokens::testing::{MailtrapFake, Recorder, Replayer, placeholder};
//! use secrecy::ExposeSecret;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = std::env::temp_dir().join(format!("api-tokens-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! let cassette = dir.join("create.json");
//! let upstream = MailtrapFake::start().await; // or "https://mailtrap.io"
//! let recorder = Recorder::start(&upstream.uri(), &cassette).await?;
//!
//! let path = format!("/api/accounts/{}/api_tokens", upstream.account_id());
//! let body = serde_json::json!({"name": "ci", "resources": [
//!     {"resource_type": "account", "resource_id": upstream.account_id(), "access_level": 100}]});
//! let http = reqwest::Client::new();
//! let create = |base: String| {
//!     http.post(format!("{base}{path}"))
//!         .header("Api-Token", upstream.token().expose_secret())
//!         .header("content-type", "application/json")
//!         .body(body.to_string())
//!         .send()
//! };
//! create(recorder.uri()).await?;
//! recorder.finish().await?;
//!
//! // Neither the minted secret nor the credential reached the disk.
//! let text = std::fs::read_to_string(&cassette)?;
//! let minted = &upstream.tokens()[0].secret;
//! assert!(!text.contains(minted.expose_secret()));
//! assert!(!text.contains(upstream.token().expose_secret()));
//!
//! // Replayed, the create answers again, a placeholder in place of the secret.
//! let replayer = Replayer::start(&cassette).await?;
//! let answer = create(replayer.uri()).await?;
//! let replayed: serde_json::Value = serde_json::from_slice(&answer.bytes().await?)?;
//! assert_eq!(replayed["token"], placeholder(minted));
//! # Ok(()) }
//! ```
//!
//! The cassette format is the fixture format of `fixtures/README.md`:
//! `{"interactions": [ … ]}`, each interaction
//! `{"service", "name", "request": {"method", "path", "headers", "body"},
//! "response": {"status", "headers", "body" | "body_text"}}`.

mod engine;
mod error;
mod faults;
mod fixtures;
mod mailtrap_fake;
mod record;
mod redact;
mod replay;
mod unit_fake;

pub use error::KitError;
pub use faults::{Expectation, Fault, LoggedRequest, RequestView, Times};
pub use fixtures::{
    Cassette, Fixture, FixtureRequest, FixtureResponse, embedded_files, fixture, fixtures,
};
pub use mailtrap_fake::{
    MailtrapFake, MailtrapFakeBuilder, MailtrapOp, MailtrapPermission, MailtrapToken,
    MailtrapTokenSeed, ResetRule,
};
pub use record::Recorder;
pub use redact::placeholder;
pub use replay::Replayer;
pub use unit_fake::{RevokeAnswer, UnitFake, UnitFakeBuilder, UnitOp, UnitToken, UnitTokenSeed};
