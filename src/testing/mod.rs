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
//!   credential, or the requests a predicate picks out. Two break what
//!   concurrent rotations assume of a service: a list that lags behind
//!   creates ([`Fault::lagging_list`]), and ids handed out of creation
//!   order ([`IdOrder`]). A log of the requests received
//!   ([`LoggedRequest`]), auth headers redacted as a cassette writes them.
//! - **Expectations** ([`Expectation`]): `fake.expect(op).times(n)`, checked
//!   when the fake is dropped, as wiremock's `Mock::expect`.
//! - **Rate limits**: `fake.rate_limit(n, per)` answers 429 in the
//!   service's shape past `n` requests in any window of `per`, with
//!   Mailtrap's rate-limit headers, to test a client's pacing. A Mailtrap
//!   fake sends those headers from the start, for the service's own limit
//!   (150 per 10 s per token), without refusing past it.
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
//! # Testing your code
//!
//! A walk through the kit, one test per step, each running as written here
//! and each driving the fakes through the crate's own clients, as the code
//! under test would:
//!
//! 1. [a fake in a test](#a-fake-in-a-test): start it, point a client at it,
//!    assert on what it holds;
//! 2. [seeding typed tokens](#seeding-typed-tokens): tokens that existed
//!    before the test, in the same types as the clients' models, compared
//!    with them by `==`;
//! 3. [fault injection](#fault-injection) and [aimed
//!    faults](#aimed-faults): the n-th call, one credential, a predicate;
//!    here, the new secret of a rotation fails its probe and the old token
//!    is kept;
//! 4. [expectations](#expectations): the calls that must (or must not)
//!    arrive, checked by [`verify`](UnitFake::verify) or when the fake is
//!    dropped;
//! 5. [rate limits](#rate-limits): the service's 429 in its own shape;
//! 6. [fixtures](#a-fixture-on-a-wiremock-server) and [record and
//!    replay](#record-and-replay): real interactions kept in a file without
//!    a secret, and served back with placeholders that work as credentials.
//!
//! ## A fake in a test
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
//! assert_eq!(held[0].id, created.id);
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
//! ## Seeding typed tokens
//!
//! A seed ([`UnitTokenSeed`], [`MailtrapTokenSeed`]) and a held token
//! ([`UnitToken`], [`MailtrapToken`]) use the clients' types: ids, scopes,
//! addresses, permissions, expiries. A held token converts to the client's
//! model (`unit::ApiToken::from(&held)`) and compares with it by `==`; a
//! create request converts to the seed of the token it would make. No
//! `to_string`, no `parse`:
//!
//! ```
//! use api_tokens::mailtrap::{self, AccessLevel, Expiry, ResourceType};
//! use api_tokens::testing::{MailtrapFake, MailtrapTokenSeed, UnitFake, UnitTokenSeed};
//! use api_tokens::unit::{self, Scope, SourceIp};
//! use chrono::{Duration, Utc};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), api_tokens::Error> {
//! let fake = UnitFake::start().await;
//! let seeded = fake.insert_token(
//!     UnitTokenSeed::new("reporting")
//!         .scope(Scope::Statements)
//!         .source_ip("10.0.0.0/8".parse::<SourceIp>()?)
//!         .expiration(Utc::now() + Duration::days(3)),
//! );
//! let client = unit::Client::builder()
//!     .token(fake.token().clone())
//!     .base_url(fake.uri())
//!     .build()?;
//! let tokens = client.org_api_tokens(fake.user_id());
//! let request = unit::CreateApiToken::new("ci", [Scope::Customers], Utc::now() + Duration::days(30));
//! let created = tokens.create(request.clone()).await?;
//! let listed = tokens.list().await?;
//!
//! let held = fake.tokens();
//! assert_eq!(held[0].id, seeded.id);
//! assert_eq!(held[1].id, created.id);
//! assert_eq!(held[1].scopes, request.scopes()); // Unit never lists them; the fake keeps them
//! assert_eq!(unit::ApiToken::from(&held[0]), listed[0]);
//! assert_eq!(held[1], listed[1]);
//! assert_eq!(held[1], created.details);
//!
//! // Mailtrap: the token a create request would have made, seeded directly.
//! let fake = MailtrapFake::start().await;
//! let request = mailtrap::CreateApiToken::new("ci")
//!     .permission(ResourceType::Project, 7, AccessLevel::Viewer)
//!     .expires(Expiry::At(Utc::now() + Duration::days(90)));
//! let seeded = fake.insert_token(MailtrapTokenSeed::from(&request));
//! assert_eq!(seeded.permissions, request.permissions());
//! let client = mailtrap::Client::builder()
//!     .token(fake.token().clone())
//!     .account_id(fake.account_id())
//!     .base_url(fake.uri())
//!     .build()?;
//! let fetched = client.api_tokens().get(seeded.id).await?;
//! assert_eq!(mailtrap::ApiToken::from(&seeded), fetched);
//! assert_eq!(fake.tokens()[0].expires_at, fetched.expires_at);
//! # Ok(()) }
//! ```
//!
//! ## Several Mailtrap accounts
//!
//! One Mailtrap token may reach several accounts, and the service limits
//! it across all of them. The fake does the same:
//! [`MailtrapFakeBuilder::account`] adds accounts its token reaches, each
//! with its own tokens, and a seed names its account with
//! [`MailtrapTokenSeed::account`]. A token minted in one account reaches
//! that account only (403 elsewhere).
//! [`mailtrap::Client::for_account`](crate::mailtrap::Client::for_account)
//! moves one client, and its pacer, from account to account:
//!
//! ```
//! use api_tokens::mailtrap;
//! use api_tokens::testing::{MailtrapFake, MailtrapTokenSeed};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), api_tokens::Error> {
//! let fake = MailtrapFake::builder().account(4410, "Billing").start().await;
//! fake.insert_token(MailtrapTokenSeed::new("main-ci"));
//! fake.insert_token(MailtrapTokenSeed::new("billing-ci").account(4410));
//! let client = mailtrap::Client::builder()
//!     .token(fake.token().clone())
//!     .base_url(fake.uri())
//!     .build()?;
//! for account in fake.account_ids() {
//!     let listed = client.for_account(Some(account))?.api_tokens().list().await?;
//!     assert_eq!(listed.len(), 1, "each account lists its own");
//! }
//! assert_eq!(client.stats().requests, 2, "one client's counters");
//! # Ok(()) }
//! ```
//!
//! ## Fault injection
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
//! ## Aimed faults
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
//! Aimed at the rotation of the [`lifecycle`](crate::lifecycle): it lists
//! the tokens, creates the new one, lists again to decide among rotations
//! of the same token that run at the same time, then probes the new secret
//! with a third list. That probe is refused; the rotation removes the new
//! token and keeps the old one:
//!
//! ```
//! use api_tokens::lifecycle::{Left, Step, UnitLifecycle, UnitPlan, sink::FileSink};
//! use api_tokens::testing::{Fault, UnitFake, UnitOp, UnitTokenSeed};
//! use api_tokens::unit::{self, Scope};
//! use api_tokens::RetryPolicy;
//! use chrono::{Duration, Utc};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let fake = UnitFake::start().await;
//! let old = fake.insert_token(UnitTokenSeed::new("CI deploy"));
//! let client = unit::Client::builder()
//!     .token(fake.token().clone())
//!     .base_url(fake.uri())
//!     .retry(RetryPolicy::disabled())
//!     .build()?;
//! let life = UnitLifecycle::new(client, fake.user_id());
//! fake.inject(UnitOp::List, Fault::status(401).nth(3));
//!
//! let dir = tempfile::tempdir()?;
//! let sink = FileSink::new(dir.path().join("unit.token"));
//! let plan = UnitPlan::new([Scope::Customers], Utc::now() + Duration::days(90));
//! let err = life.rotate(&old.id, &plan, &sink).await.unwrap_err();
//! assert_eq!(err.step(), Step::Probe);
//! assert_eq!(err.left(), &Left::Unchanged);
//! let held = fake.tokens();
//! assert_eq!(held.len(), 1, "the new token was removed");
//! assert_eq!(held[0].id, old.id);
//! assert!(!dir.path().join("unit.token").exists(), "nothing was stored");
//! # Ok(()) }
//! ```
//!
//! ## Expectations
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
//! ## Rate limits
//!
//! ```
//! use std::time::Duration;
//! use api_tokens::testing::MailtrapFake;
//! use api_tokens::{mailtrap, Error, Pacing, RateLimit, RetryPolicy};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Error> {
//! // Mailtrap allows 150 requests per 10 s per token; scaled down here. A
//! // client paces itself by default and would wait for a slot; with pacing
//! // off it meets the limit head on.
//! let fake = MailtrapFake::builder()
//!     .rate_limit(2, Duration::from_secs(10))
//!     .start()
//!     .await;
//! let client = mailtrap::Client::builder()
//!     .token(fake.token().clone())
//!     .account_id(fake.account_id())
//!     .base_url(fake.uri())
//!     .retry(RetryPolicy::disabled())
//!     .pacing(Pacing::off())
//!     .build()?;
//! client.api_tokens().list().await?;
//! assert_eq!(client.last_rate_limit(), Some(RateLimit::new(Some(2), Some(1))));
//! client.api_tokens().list().await?;
//! let refused = client.api_tokens().list().await.unwrap_err();
//! assert!(matches!(refused, Error::RateLimited { retry_after: Some(_), .. }));
//! # Ok(()) }
//! ```
//!
//! ## A fixture on a wiremock server
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
//! ## Record and replay
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
mod fake;
mod faults;
mod fixtures;
mod fuzz;
mod ids;
mod mailtrap_fake;
mod operations;
mod record;
mod redact;
mod replay;
mod secret_format;
mod server;
pub mod store_conformance;
mod unit_fake;

pub use error::KitError;
pub use fake::{Dialect, Fake, FakeBuilder, Operation};
pub use faults::{Expectation, Fault, ListLag, LoggedRequest, RequestView, Times};
pub use fixtures::{
    Cassette, Fixture, FixtureRequest, FixtureResponse, embedded_files, fixture, fixtures,
};
#[doc(hidden)]
pub use fuzz::__fuzz;
pub use ids::{IdOrder, MAX_TOKEN_ID};
pub use mailtrap_fake::{
    MailtrapDialect, MailtrapFake, MailtrapFakeBuilder, MailtrapOp, MailtrapToken,
    MailtrapTokenSeed, ResetRule,
};
pub use record::Recorder;
pub use redact::placeholder;
pub use replay::Replayer;
pub use unit_fake::{
    RevokeAnswer, UnitDialect, UnitFake, UnitFakeBuilder, UnitOp, UnitToken, UnitTokenSeed,
};
