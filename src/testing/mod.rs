//! What a test suite needs to exercise code that manages API tokens,
//! without touching a real service (feature `testing`).
//!
//! - **Stateful fakes** of both services, each started in one line on a
//!   loopback wiremock server: [`UnitFake`] and [`MailtrapFake`]. They keep
//!   tokens in memory and answer as the services do today: dialect, content
//!   types, statuses, error shapes, secrets shown once, both of Mailtrap's
//!   path forms, its reset rule ([`ResetRule`]). A secret a fake mints is a
//!   credential on every endpoint of that fake. A client of this crate
//!   pointed at a fake needs nothing but its [`uri`](UnitFake::uri) and its
//!   [`token`](UnitFake::token).
//! - **Fault injection** on the fakes ([`Fault`]): calls to an endpoint
//!   answer a chosen status in the service's own error shape (with or
//!   without `Retry-After`), answer late, drop the connection, or act and
//!   then lose the answer; aimed at the n-th call, the calls after n, one
//!   credential, or the requests a predicate picks out. A log of the
//!   requests received ([`LoggedRequest`]), auth headers redacted.
//! - **Expectations** ([`Expectation`]): `fake.expect(op).times(n)`, checked
//!   when the fake is dropped, as wiremock's `Mock::expect`.
//! - **Rate limits**: `fake.rate_limit(n, per)` answers 429 in the
//!   service's shape past `n` requests in any window of `per`, with
//!   Mailtrap's rate-limit headers, to test a client's pacing.
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
//! use api_tokens::mailtrap::{self, AccessLevel, CreateApiToken, Expiry, ResourceType};
//! use api_tokens::testing::MailtrapFake;
//! use secrecy::ExposeSecret;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), api_tokens::Error> {
//! let fake = MailtrapFake::start().await;
//! let client = mailtrap::Client::builder()
//!     .token(fake.token().clone())
//!     .account_id(fake.account_id())
//!     .base_url(fake.uri())
//!     .build()?;
//! let created = client
//!     .api_tokens()
//!     .create(CreateApiToken::new("ci").permission(
//!         ResourceType::Account,
//!         fake.account_id(),
//!         AccessLevel::Admin,
//!     ))
//!     .await?;
//!
//! let held = fake.tokens(); // the fake's state, for assertions
//! assert_eq!(held.len(), 1);
//! assert_eq!(held[0].id, created.id.get());
//! assert_eq!(held[0].secret.expose_secret(), created.token.expose_secret());
//!
//! // The minted secret is a credential of the fake.
//! let minted = mailtrap::Client::builder()
//!     .token(created.token.clone())
//!     .account_id(fake.account_id())
//!     .base_url(fake.uri())
//!     .build()?;
//! let rotated = minted.api_tokens().reset(created.id, Expiry::ServerDefault).await?;
//! assert_eq!(rotated.name, format!("ci {}", rotated.id));
//! # Ok(()) }
//! ```
//!
//! # Fault injection
//!
//! ```
//! use api_tokens::testing::{Fault, UnitFake, UnitOp};
//! use api_tokens::{unit, Error, RetryPolicy};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Error> {
//! let fake = UnitFake::start().await;
//! fake.inject(UnitOp::List, Fault::status(503));
//! fake.inject(UnitOp::List, Fault::drop_connection());
//!
//! let client = unit::Client::builder()
//!     .token(fake.token().clone())
//!     .base_url(fake.uri())
//!     .retry(RetryPolicy::disabled())
//!     .build()?;
//! let tokens = client.org_api_tokens(fake.user_id());
//! assert_eq!(tokens.list().await.unwrap_err().status(), Some(503));
//! assert!(matches!(tokens.list().await, Err(Error::Transport { .. })));
//! assert!(tokens.list().await?.is_empty());
//!
//! let log = fake.requests();
//! assert_eq!(log.len(), 3);
//! assert_eq!(log[1].status, None, "the connection was dropped");
//! # Ok(()) }
//! ```
//!
//! # Aimed faults
//!
//! A fault can wait for the n-th call ([`Fault::nth`]), let n calls pass
//! ([`Fault::after`]), hit only one credential ([`Fault::when_token`]) or
//! the requests a predicate picks out ([`Fault::when`]). Here a rotation's
//! probe of the new secret fails while the old credential keeps working:
//!
//! ```
//! use api_tokens::mailtrap::{self, AccessLevel, CreateApiToken, Expiry, ResourceType};
//! use api_tokens::testing::{Fault, MailtrapFake, MailtrapOp};
//! use api_tokens::{Error, RetryPolicy};
//! use secrecy::SecretString;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Error> {
//! let fake = MailtrapFake::start().await;
//! let client = |token: &SecretString| {
//!     mailtrap::Client::builder()
//!         .token(token.clone())
//!         .account_id(fake.account_id())
//!         .base_url(fake.uri())
//!         .retry(RetryPolicy::disabled())
//!         .build()
//! };
//! let admin = client(fake.token())?;
//! let old = admin
//!     .api_tokens()
//!     .create(CreateApiToken::new("deploy").permission(
//!         ResourceType::Account,
//!         fake.account_id(),
//!         AccessLevel::Admin,
//!     ))
//!     .await?;
//! let new = admin.api_tokens().reset(old.id, Expiry::ServerDefault).await?;
//!
//! fake.inject(MailtrapOp::List, Fault::status(401).when_token(&new.token));
//! let probe = client(&new.token)?.api_tokens().list().await;
//! assert!(matches!(probe, Err(Error::Unauthorized(_))));
//! // The old secret works through its 12-hour grace period.
//! assert!(client(&old.token)?.api_tokens().list().await.is_ok());
//! # Ok(()) }
//! ```
//!
//! # Expectations
//!
//! ```
//! use api_tokens::testing::{UnitFake, UnitOp};
//! use api_tokens::unit;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let fake = UnitFake::start().await;
//! fake.expect(UnitOp::List).times(1..=2);
//! fake.expect(UnitOp::Revoke).times(0);
//!
//! let client = unit::Client::builder()
//!     .token(fake.token().clone())
//!     .base_url(fake.uri())
//!     .build()?;
//! client.org_api_tokens(fake.user_id()).list().await?;
//!
//! fake.verify()?; // or let the drop check it, panicking with a report
//! # Ok(()) }
//! ```
//!
//! A failed check lists what was expected and every request that arrived,
//! as method, path and status, never a header or a body:
//!
//! ```text
//! expectations of the fake not met:
//!   UnitOp::Revoke: expected exactly 1 call(s), received 0
//! requests received (1):
//!   GET /users/2/api-tokens → 200
//! ```
//!
//! # Rate limits
//!
//! ```
//! use std::time::Duration;
//! use api_tokens::testing::MailtrapFake;
//! use api_tokens::{mailtrap, Error, RateLimit, RetryPolicy};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Error> {
//! // Mailtrap allows 150 requests per 10 s per token; scaled down here.
//! let fake = MailtrapFake::builder()
//!     .rate_limit(2, Duration::from_secs(10))
//!     .start()
//!     .await;
//! let client = mailtrap::Client::builder()
//!     .token(fake.token().clone())
//!     .account_id(fake.account_id())
//!     .base_url(fake.uri())
//!     .retry(RetryPolicy::disabled())
//!     .build()?;
//! client.api_tokens().list().await?;
//! assert_eq!(client.last_rate_limit(), Some(RateLimit::new(Some(2), Some(1))));
//! client.api_tokens().list().await?;
//! let refused = client.api_tokens().list().await.unwrap_err();
//! assert!(matches!(refused, Error::RateLimited { retry_after: Some(_), .. }));
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
