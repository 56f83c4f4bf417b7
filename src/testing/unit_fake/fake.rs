//! The Unit fake: its server, its builder, and what a test asks of it.

use std::collections::BTreeMap;

use secrecy::SecretString;

use crate::testing::engine::lock;
use crate::testing::error::KitError;
use crate::testing::fake::{Dialect, Fake, FakeBuilder, Operation, sealed};
use crate::testing::ids::{Ids, MAX_TOKEN_ID};
use crate::unit::{TokenId, UserId};

use super::op::{RevokeAnswer, UnitOp};
use super::state::UnitState;
use super::token::{UnitToken, UnitTokenSeed, new_secret, own_secret};

/// A stateful fake of Unit's Org API tokens on a loopback wiremock server.
///
/// It keeps tokens in memory and answers as Unit does:
///
/// - **Credentials**: `Authorization: Bearer`. The fake's own
///   [`token`](UnitFake::token) works (unless the builder was given one,
///   a `v2.public.` Org token whose payload names the fake's
///   [user](UnitFake::user_id) and no token, as Unit's example
///   `{"role":"org","userId":"2"}` does), and so does the secret of every
///   token it holds (created or seeded) until the token is revoked or its
///   expiration passes on the fake's clock
///   ([`advance_clock`](UnitFake::advance_clock)). Anything else: a 401
///   JSON:API error document.
/// - **Answers**: JSON:API documents with `application/vnd.api+json`;
///   create 201 with a random secret shown once; list without secrets;
///   revoke 200 (or as [`set_revoke_answer`](UnitFake::set_revoke_answer)
///   says), then 404; 400 / 404 / 405 / 415 error documents, with
///   `source.pointer` for invalid bodies. Create refuses a missing or empty
///   `description`, a `scope` that is not lower-case words separated by
///   single spaces, an `expiration` not written `YYYY-MM-DDTHH:MM:SS.mmmZ`
///   or not in the future, a `sourceIp` with spaces, malformed `resources`
///   and any unknown member.
/// - **Rate limit**, when asked ([`rate_limit`](UnitFake::rate_limit)):
///   counted per client (every request together, as Unit counts per IP);
///   past it, a 429 JSON:API error document without rate-limit headers or
///   `Retry-After`, as Unit documents none.
///
/// ```
/// use api_tokens::testing::{UnitFake, UnitOp};
/// use api_tokens::unit::{self, CreateApiToken, Scope};
/// use chrono::{Duration, Utc};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), api_tokens::Error> {
/// let fake = UnitFake::start().await;
/// fake.expect(UnitOp::Create).times(1);
/// let client = unit::Client::builder()
///     .token(fake.token().clone())
///     .base_url(fake.uri())
///     .build()?;
/// let tokens = client.org_api_tokens(fake.user_id());
/// let created = tokens
///     .create(CreateApiToken::new("ci", [Scope::Customers], Utc::now() + Duration::days(30)))
///     .await?;
/// assert_eq!(fake.tokens()[0].id, created.id);
/// # Ok(()) }
/// ```
pub type UnitFake = Fake<UnitDialect>;

/// Settings of a [`UnitFake`] before it starts.
pub type UnitFakeBuilder = FakeBuilder<UnitDialect>;

/// The dialect of the Unit fake: JSON:API documents under
/// `/users/{userId}/api-tokens`. See [`UnitFake`].
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct UnitDialect;

/// The settings of a Unit fake.
#[derive(Debug, Clone)]
#[doc(hidden)]
pub struct UnitSettings {
    user_id: UserId,
}

impl Default for UnitSettings {
    fn default() -> Self {
        UnitSettings {
            user_id: UserId::try_from(2).unwrap_or_else(|_| unreachable!("2 is a user id")),
        }
    }
}

impl sealed::Sealed for UnitDialect {}
impl sealed::Sealed for UnitOp {}

impl Operation for UnitOp {
    fn name(self) -> Option<&'static str> {
        UnitOp::name(self)
    }
}

impl Dialect for UnitDialect {
    type Op = UnitOp;
    type Token = UnitToken;
    type State = UnitState;
    type Settings = UnitSettings;
    const OP_NAME: &'static str = "UnitOp";

    fn state(settings: &UnitSettings, token: SecretString) -> UnitState {
        UnitState::new(&settings.user_id, token)
    }

    fn new_secret() -> SecretString {
        new_secret()
    }

    /// An Org token of the fake's user: its payload names the user
    /// (`"userId"`, `"sub"`), as Unit's example does
    /// (`{"role":"org","userId":"2"}`), and no token.
    fn own_secret(settings: &UnitSettings) -> SecretString {
        own_secret(&settings.user_id)
    }

    fn held(state: &UnitState) -> &BTreeMap<u64, UnitToken> {
        &state.tokens
    }

    fn ids(state: &mut UnitState) -> &mut Ids {
        &mut state.ids
    }
}

impl FakeBuilder<UnitDialect> {
    /// The user whose tokens the fake holds (default `2`).
    pub fn user_id(mut self, user_id: UserId) -> Self {
        self.settings.user_id = user_id;
        self
    }
}

impl Fake<UnitDialect> {
    /// The user whose tokens live under `/users/{userId}/api-tokens`; any
    /// other user id answers 404.
    pub fn user_id(&self) -> UserId {
        self.settings.user_id.clone()
    }

    /// Puts a token into the fake, as if created earlier, and returns it
    /// with its id: the next id the fake gives.
    ///
    /// # Panics
    ///
    /// When the fake has given every id up to [`MAX_TOKEN_ID`] (only after
    /// [`set_next_id`](UnitFake::set_next_id) moved its counter there).
    pub fn insert_token(&self, seed: UnitTokenSeed) -> UnitToken {
        let mut engine = lock(&self.engine);
        let now = engine.now();
        let state = &mut engine.dialect;
        let Some(id) = state.ids.take() else {
            panic!("the Unit fake has given every token id up to {MAX_TOKEN_ID}");
        };
        let user = state.user_id.clone();
        state.hold(id, seed.into_token(&user, id, now))
    }

    /// Puts a token into the fake under the id given, as if created
    /// earlier (to restore tokens a test saved), and returns it. Ids of
    /// later tokens stay above it: the fake's counter moves past `id` if it
    /// was not already.
    ///
    /// ```
    /// use api_tokens::testing::{UnitFake, UnitTokenSeed};
    /// use api_tokens::unit::TokenId;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let fake = UnitFake::start().await;
    /// let restored = fake.insert_token_with_id(&"900000".parse::<TokenId>()?, UnitTokenSeed::new("kept"))?;
    /// assert_eq!(restored.id, "900000");
    /// assert_eq!(fake.next_id(), 900_001);
    /// assert!(fake.insert_token_with_id(&restored.id, UnitTokenSeed::new("again")).is_err());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`KitError::Seed`] for an id the fake already holds or above
    /// [`MAX_TOKEN_ID`]; nothing is inserted.
    pub fn insert_token_with_id(
        &self,
        id: &TokenId,
        seed: UnitTokenSeed,
    ) -> Result<UnitToken, KitError> {
        let number = id.as_str().parse::<u64>().map_err(|_| {
            KitError::Seed(format!(
                "token id {id} is out of range: ids run from 1 to {MAX_TOKEN_ID}"
            ))
        })?;
        let mut engine = lock(&self.engine);
        let now = engine.now();
        let state = &mut engine.dialect;
        let held = state.tokens.contains_key(&number);
        state.ids.claim(number, held)?;
        let user = state.user_id.clone();
        Ok(state.hold(number, seed.into_token(&user, number, now)))
    }

    /// Chooses how a successful revoke answers (default: 200 with the token).
    pub fn set_revoke_answer(&self, answer: RevokeAnswer) {
        lock(&self.engine).dialect.revoke_answer = answer;
    }
}
