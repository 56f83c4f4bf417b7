//! The Mailtrap fake: its server, its builder, and what a test asks of it.

use secrecy::SecretString;
use wiremock::MockServer;

use crate::mailtrap::TokenId;
use crate::testing::engine::{self, Shared, common_builder_methods, common_fake_methods, lock};
use crate::testing::error::KitError;
use crate::testing::ids::MAX_TOKEN_ID;

use super::op::{MailtrapOp, ResetRule};
use super::state::MailtrapState;
use super::token::{MailtrapToken, MailtrapTokenSeed, new_secret};

/// A stateful fake of Mailtrap's account API tokens on a loopback wiremock
/// server.
///
/// It keeps tokens in memory and answers as Mailtrap does:
///
/// - **Paths**: both forms, `/api/accounts/{account_id}/api_tokens[/{id}[/reset]]`
///   and the account-free `/api/api_tokens[/{id}[/reset]]`, where the
///   account is the calling token's own (the fake's account).
/// - **Credentials**: the `Api-Token` header or `Authorization: Bearer`.
///   The fake's own [`token`](MailtrapFake::token) works, and so does the
///   secret of every token it holds (created, reset or seeded) until the
///   token is deleted or expires; the old secret of a reset token works
///   for the 12 hours of its grace period on the fake's clock
///   ([`advance_clock`](MailtrapFake::advance_clock)). Anything else: 401
///   `{"error":"Incorrect API token"}`.
/// - **Answers**: flat JSON; create 200 with the secret once; list and get
///   without it but with `last_4_digits`; delete 204; reset 200 with a new
///   id and a new secret, named `"<name> <new id>"` as the service names
///   it, the old token then expiring 12 hours later. 403
///   `{"errors":"Account access forbidden"}` for another account, 404
///   `{"error":"Not Found"}`, 422 `{"errors":{"base":[…]}}` or per field
///   for an empty name, no permissions, an unknown resource type, an
///   `expires_at` in the past or more than 5 years ahead, or an unknown
///   field. An omitted `expires_at` means never, on create and reset.
/// - **Reset rule**: [`ResetRule::Current`] unless the builder says
///   otherwise ([`MailtrapFakeBuilder::reset_rule`]); a refusal is a 422
///   with a `base` message.
/// - **Rate limit**, when asked ([`rate_limit`](MailtrapFake::rate_limit)):
///   counted per credential; every answer carries `X-Ratelimit-Limit` and
///   `X-Ratelimit-Remaining`, and a 429 `{"errors":"Rate limit exceeded"}`
///   carries `Retry-After`.
///
/// ```
/// use api_tokens::mailtrap::{self, AccessLevel, CreateApiToken, ResourceType};
/// use api_tokens::testing::MailtrapFake;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), api_tokens::Error> {
/// let fake = MailtrapFake::start().await;
/// let client = mailtrap::Client::builder()
///     .token(fake.token().clone())
///     .account_id(fake.account_id())
///     .base_url(fake.uri())
///     .build()?;
/// let created = client
///     .api_tokens()
///     .create(CreateApiToken::new("ci").permission(
///         ResourceType::Account,
///         fake.account_id(),
///         AccessLevel::Admin,
///     ))
///     .await?;
/// assert_eq!(fake.tokens()[0].id, created.id);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct MailtrapFake {
    server: MockServer,
    engine: Shared<MailtrapState>,
    token: SecretString,
    account_id: u64,
}

/// Settings of a [`MailtrapFake`] before it starts.
#[derive(Debug, Clone)]
pub struct MailtrapFakeBuilder {
    token: Option<SecretString>,
    account_id: u64,
    account_name: String,
    owner: String,
    reset_rule: ResetRule,
    options: engine::Options,
}

impl MailtrapFakeBuilder {
    /// The account whose tokens the fake holds (default 3229).
    pub fn account_id(mut self, account_id: u64) -> Self {
        self.account_id = account_id;
        self
    }

    /// The name of the account, as `GET /api/accounts` lists it (default
    /// `Example account`).
    pub fn account_name(mut self, name: impl Into<String>) -> Self {
        self.account_name = name.into();
        self
    }

    /// The `created_by` of tokens made with the fake's own token (default
    /// `owner@example.com`).
    pub fn owner(mut self, owner: impl Into<String>) -> Self {
        self.owner = owner.into();
        self
    }

    /// Which tokens reset refuses (default [`ResetRule::Current`]).
    pub fn reset_rule(mut self, rule: ResetRule) -> Self {
        self.reset_rule = rule;
        self
    }

    common_builder_methods!(
        MailtrapFake,
        account_id,
        new_secret,
        /// Starts the fake with a rate limit: at most `limit` requests per
        /// credential in any window of `per`; see [`MailtrapFake::rate_limit`].
        /// The service allows 150 per 10 seconds.
    );

    /// The state the fake starts with, accepting `token`.
    fn state(&self, token: SecretString) -> MailtrapState {
        MailtrapState::new(
            self.account_id,
            self.account_name.clone(),
            token,
            self.owner.clone(),
            self.reset_rule,
        )
    }
}

impl MailtrapFake {
    /// Starts a fake with a random token and account 3229.
    pub async fn start() -> MailtrapFake {
        MailtrapFake::builder().start().await
    }

    /// A builder to choose the token, the account id and the owner.
    pub fn builder() -> MailtrapFakeBuilder {
        MailtrapFakeBuilder {
            token: None,
            account_id: 3229,
            account_name: "Example account".into(),
            owner: "owner@example.com".into(),
            reset_rule: ResetRule::default(),
            options: engine::Options::default(),
        }
    }

    /// The credential the fake accepts in `Api-Token` or as a Bearer token.
    pub fn token(&self) -> &SecretString {
        &self.token
    }

    /// The account whose tokens live under `/api/accounts/{account_id}`
    /// (and under `/api/api_tokens`, the account of every credential the
    /// fake accepts); another account answers 403.
    pub fn account_id(&self) -> u64 {
        self.account_id
    }

    /// Puts a token into the fake, as if created earlier, and returns it
    /// with its id: the next id the fake gives.
    ///
    /// # Panics
    ///
    /// When the fake has given every id up to [`MAX_TOKEN_ID`] (only after
    /// [`set_next_id`](MailtrapFake::set_next_id) moved its counter there).
    pub fn insert_token(&self, seed: MailtrapTokenSeed) -> MailtrapToken {
        let mut engine = lock(&self.engine);
        let state = &mut engine.dialect;
        let Some(id) = state.ids.take() else {
            panic!("the Mailtrap fake has given every token id up to {MAX_TOKEN_ID}");
        };
        let token = seed.into_token(id, state.account_id, &state.owner);
        state.hold(id, token)
    }

    /// Puts a token into the fake under the id given, as if created
    /// earlier (to restore tokens a test saved), and returns it. Ids of
    /// later tokens stay above it: the fake's counter moves past `id` if it
    /// was not already.
    ///
    /// ```
    /// use api_tokens::mailtrap::TokenId;
    /// use api_tokens::testing::{MailtrapFake, MailtrapTokenSeed};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let fake = MailtrapFake::start().await;
    /// let restored = fake.insert_token_with_id(TokenId::new(7)?, MailtrapTokenSeed::new("kept"))?;
    /// assert_eq!(restored.id.get(), 7);
    /// assert_eq!(fake.next_id(), 12345, "the counter was already past 7");
    /// assert!(fake.insert_token_with_id(restored.id, MailtrapTokenSeed::new("again")).is_err());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// [`KitError::Seed`] for an id the fake already holds or above
    /// [`MAX_TOKEN_ID`]; nothing is inserted.
    pub fn insert_token_with_id(
        &self,
        id: TokenId,
        seed: MailtrapTokenSeed,
    ) -> Result<MailtrapToken, KitError> {
        let number = id.get();
        let mut engine = lock(&self.engine);
        let state = &mut engine.dialect;
        let held = state.tokens.contains_key(&number);
        state.ids.claim(number, held)?;
        let token = seed.into_token(number, state.account_id, &state.owner);
        Ok(state.hold(number, token))
    }

    /// Changes which tokens reset refuses from now on.
    pub fn set_reset_rule(&self, rule: ResetRule) {
        lock(&self.engine).dialect.reset_rule = rule;
    }
}

common_fake_methods!(
    MailtrapFake,
    MailtrapOp,
    MailtrapToken,
    tokens:
    /// The tokens the fake holds now, by id (its own credential is not
    /// among them).
    next_id:
    /// The id the next token the fake creates, resets into or inserts gets
    /// (12345 on a new fake).
);
