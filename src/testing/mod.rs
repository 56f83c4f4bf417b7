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
//! - **Fixtures**: one recorded interaction per outcome of every endpoint
//!   of both services, shipped inside the crate and found by name
//!   ([`fixture`], [`Fixture::get`], [`fixtures`]), ready to mount on a
//!   wiremock server in one line. Their format is described
//!   [below](#fixture-and-cassette-format).
//! - **Record and replay**: [`Recorder`] is a loopback proxy that records
//!   real interactions into a [`Cassette`] file, every secret replaced by
//!   its [`placeholder`] before anything touches the disk; [`Replayer`]
//!   serves a cassette back, and takes the placeholder of a secret as that
//!   secret when a client uses it as its token.
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
//! ```
//! use api_tokens::mailtrap;
//! use secrecy::SecretString;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let server = wiremock::MockServer::start().await;
//! api_tokens::testing::fixture("mailtrap list 200")?.mount(&server).await;
//!
//! let client = mailtrap::Client::builder()
//!     .token(SecretString::from("any-token"))
//!     .account_id(3229) // the account of the shipped Mailtrap fixtures
//!     .base_url(server.uri())
//!     .build()?;
//! let tokens = client.api_tokens().list().await?;
//! assert!(!tokens.is_empty());
//! # Ok(()) }
//! ```
//!
//! # Record and replay
//!
//! A test records its calls once, against the service (here a fake), and
//! replays them from then on. The cassette holds no secret: the secret a
//! create minted becomes its [`placeholder`] (`redacted-x7k9-1f0c3a9e`),
//! which the crate accepts as a token; replayed, the create returns the
//! placeholder, and a call made with it is served what the new secret got.
//!
//! ```
//! use api_tokens::mailtrap::{self, AccessLevel, CreateApiToken, ResourceType};
//! use api_tokens::testing::{MailtrapFake, Recorder, Replayer, placeholder};
//! use secrecy::{ExposeSecret, SecretString};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = std::env::temp_dir().join(format!("api-tokens-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! let cassette = dir.join("rotation.json");
//! let upstream = MailtrapFake::start().await; // or "https://mailtrap.io"
//! let account = upstream.account_id();
//! let client = |base: String, token: &SecretString| {
//!     mailtrap::Client::builder()
//!         .token(token.clone())
//!         .account_id(account)
//!         .base_url(base)
//!         .build()
//! };
//! let request = || CreateApiToken::new("ci").permission(ResourceType::Account, account, AccessLevel::Admin);
//!
//! // Recorded: create a token, then check that the new secret works.
//! let recorder = Recorder::start(&upstream.uri(), &cassette).await?;
//! let created = client(recorder.uri(), upstream.token())?.api_tokens().create(request()).await?;
//! let probed = client(recorder.uri(), &created.token)?.api_tokens().list().await?;
//! recorder.finish().await?;
//!
//! // Neither the new secret nor the credential reached the disk.
//! let text = std::fs::read_to_string(&cassette)?;
//! assert!(!text.contains(created.token.expose_secret()));
//! assert!(!text.contains(upstream.token().expose_secret()));
//!
//! // Replayed with any credential: the create returns the placeholder, and
//! // the probe made with it gets what the new secret got.
//! let replayer = Replayer::start(&cassette).await?;
//! let dummy = SecretString::from("any-credential");
//! let replayed = client(replayer.uri(), &dummy)?.api_tokens().create(request()).await?;
//! assert_eq!(replayed.token.expose_secret(), placeholder(&created.token));
//! let probe = client(replayer.uri(), &replayed.token)?.api_tokens().list().await?;
//! assert_eq!(probe, probed);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok(()) }
//! ```
//!
//! # Fixture and cassette format
//!
//! A fixture is one interaction, written as JSON: what was sent and what
//! the service answered. A recording (a [`Cassette`]) is
//! `{"interactions": [ … ]}`, interactions in this format in the order they
//! happened. [`Fixture`] and [`Cassette`] read and write both, and check
//! what serde cannot (an HTTP method, a path, a status, valid header names
//! and values).
//!
//! ```json
//! {
//!   "service": "unit",
//!   "name": "create 201",
//!   "request": {
//!     "method": "POST",
//!     "path": "/users/2/api-tokens",
//!     "headers": {
//!       "authorization": "Bearer redacted-x7k9-1f0c3a9e",
//!       "content-type": "application/vnd.api+json"
//!     },
//!     "body": { "data": { "type": "apiToken", "attributes": { "description": "Production token" } } }
//!   },
//!   "response": {
//!     "status": 201,
//!     "headers": { "content-type": "application/vnd.api+json" },
//!     "body": { "data": { "id": "19", "type": "apiToken", "attributes": { "token": "redacted-a1b2-0c4e8f2d" } } }
//!   }
//! }
//! ```
//!
//! - `service`: `unit` or `mailtrap` (`unknown` for a recorded path of
//!   neither).
//! - `name`: what the interaction shows, as a user asks for it: the
//!   operation and the status (`create 201`), or for a shipped fixture also
//!   its file name with `_` read as a space (`error_422_base` is
//!   `error 422 base`). [`fixture`]`("unit create 201")` finds service
//!   `unit`, name `create 201`; case, `_`, `-` and repeated spaces do not
//!   matter.
//! - `request.method`, `request.path`: the HTTP method and the path below
//!   the base URL, with the query string if there was one.
//! - `request.headers` (optional): lower-case header names to values. A
//!   credential is never stored: a recording writes the [`placeholder`] of
//!   the credential used (after its scheme, `Bearer redacted-…`), which
//!   the [`Replayer`] reads to tell credentials apart; hand-written fixtures
//!   and older recordings write `[REDACTED]`, which matches any credential;
//!   a cookie is `[REDACTED]`.
//! - `request.body` (optional): the JSON body, or a string for a body that
//!   is not JSON (a form).
//! - `response.status`: the HTTP status, 100 to 599.
//! - `response.headers` (optional): lower-case header names to values.
//! - `response.body`: the JSON body, or `null` for no body at all (a 204).
//! - `response.body_text` (instead of `body`): a body that is not JSON, kept
//!   as it came (a gateway's HTML page, a document cut short).
//!
//! Every secret in a recording is written as its [`placeholder`]:
//! `redacted-<last four>-<hash>` (plain `redacted` for a secret shorter than
//! 12 characters), the same for the same secret in every recording. The
//! shipped fixtures hold only obviously fake secrets.

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
pub use faults::{Fault, LoggedRequest};
pub use fixtures::{
    Cassette, Fixture, FixtureRequest, FixtureResponse, embedded_files, fixture, fixtures,
};
pub use mailtrap_fake::{
    MailtrapFake, MailtrapFakeBuilder, MailtrapOp, MailtrapPermission, MailtrapToken,
    MailtrapTokenSeed,
};
pub use record::Recorder;
#[doc(hidden)]
pub use redact::__fuzz;
pub use redact::placeholder;
pub use replay::Replayer;
pub use unit_fake::{RevokeAnswer, UnitFake, UnitFakeBuilder, UnitOp, UnitToken, UnitTokenSeed};
