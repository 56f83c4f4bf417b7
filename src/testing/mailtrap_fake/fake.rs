//! The Mailtrap fake: its server, its builder, and what a test asks of it.

use std::time::Duration;

use std::collections::BTreeMap;

use chrono::TimeDelta;
use secrecy::SecretString;

use crate::mailtrap::TokenId;
use crate::testing::engine::lock;
use crate::testing::error::KitError;
use crate::testing::fake::{Dialect, Fake, FakeBuilder, Operation, sealed};
use crate::testing::ids::{Ids, MAX_TOKEN_ID};

use super::op::{MailtrapOp, ResetRule};
use super::state::{DEFAULT_LIFETIME, MailtrapState};
use super::token::{MailtrapToken, MailtrapTokenSeed, new_secret};

/// A stateful fake of Mailtrap's account API tokens on a loopback wiremock
/// server.
///
/// It keeps tokens in memory and answers as Mailtrap does:
///
/// - **Paths**: both forms, `/api/accounts/{account_id}/api_tokens[/{id}[/reset]]`
///   and the account-free `/api/api_tokens[/{id}[/reset]]`, where the
///   account is the calling token's own (for the fake's own token, its
///   first account), and `GET /api/accounts`.
/// - **Accounts**: one ([`account_id`](MailtrapFakeBuilder::account_id),
///   3229 unless set), and any more the builder
///   [adds](MailtrapFakeBuilder::account). Each holds its own tokens; ids
///   are unique across them, as on the service. The fake's own token
///   reaches every account; a token's secret reaches the account the token
///   belongs to only, and 403 answers elsewhere. A token id of another
///   account is 404.
/// - **Credentials**: the `Api-Token` header or `Authorization: Bearer`.
///   The fake's own [`token`](MailtrapFake::token) works, and so does the
///   secret of every token it holds (created, reset or seeded) until the
///   token is deleted or expires; the old secret of a reset token works
///   for the 12 hours of its grace period on the fake's clock
///   ([`advance_clock`](MailtrapFake::advance_clock)). Anything else: 401
///   `{"error":"Incorrect API token"}`.
/// - **Permissions**: any credential the fake accepts may list and get
///   the tokens of the accounts it reaches; creating, deleting and
///   resetting a token take admin access to the account, as on the
///   service: the fake's own token has it on every account, and a token's
///   secret has it when the token holds `access_level` 100 on the
///   resource `account` of its own account (a
///   [seed](MailtrapTokenSeed::new) given no permissions does). Any other
///   caller, a viewer of the account or a token with access to a project,
///   sandbox or domain only, is refused with 403
///   `{"errors":"Account access forbidden"}`, before the token named or
///   the body is looked at, and nothing changes.
/// - **Answers**: flat JSON; create 200 with the secret once; list and get
///   without it but with `last_4_digits`; delete 204; reset 200 with a new
///   id and a new secret, named `"<name> <new id>"` as the service names
///   it, the old token then expiring 12 hours later. 403
///   `{"errors":"Account access forbidden"}` for another account or a
///   caller without admin access (see above), 404
///   `{"error":"Not Found"}`, 422 `{"errors":{"base":[…]}}` or per field
///   for an empty name, no permissions, an unknown resource type, an
///   `expires_at` in the past or more than 5 years ahead, or an unknown
///   field.
/// - **Bodies**: read as a Rails service reads them, only when sent as
///   JSON (`Content-Type: application/json`, with or without a charset).
///   Any other body (`text/plain`, no content type, XML, form fields) is
///   no parameters: a create then answers 422 (`name` can't be blank, no
///   permissions selected) and mints nothing, and a reset is a reset
///   without a body (the default lifetime). A JSON body that does not
///   parse answers 400 `{"error":"Bad Request"}`; one that is not an
///   object, 422.
/// - **Expiry**: an `expires_at` of `null` never expires; one left out (a
///   create or reset that does not say, [`Expiry::ServerDefault`](crate::mailtrap::Expiry::ServerDefault))
///   gets the service's default lifetime, one year from the fake's clock
///   (rolling out on the service since 2026-08; set another, or none for
///   never as before it, with [`MailtrapFakeBuilder::default_expiry`]).
/// - **Reset rule**: [`ResetRule::Current`] unless the builder says
///   otherwise ([`MailtrapFakeBuilder::reset_rule`]); a refusal is a 422
///   with a `base` message.
/// - **Rate limit**: every answer carries `X-Ratelimit-Limit` and
///   `X-Ratelimit-Remaining`, as the service's do, counted per credential
///   in a sliding window. From the start the limit is the service's, 150
///   requests in any 10 seconds, reported but not enforced: a request past
///   it is answered as any other, with `X-Ratelimit-Remaining: 0`, so that
///   a suite that sends more keeps passing (a client of this crate paces
///   itself on the headers and stays under it). To have the fake refuse as
///   the service does, give it a limit
///   ([`rate_limit`](MailtrapFake::rate_limit), e.g. 150 per 10 s): past
///   it, a 429 `{"errors":"Rate limit exceeded"}` with `Retry-After`, and
///   nothing acted on. [`clear_rate_limit`](MailtrapFake::clear_rate_limit)
///   removes the limit and the headers. A 429, the limit's or an injected
///   one, says `X-Ratelimit-Remaining: 0`.
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
pub type MailtrapFake = Fake<MailtrapDialect>;

/// Settings of a [`MailtrapFake`] before it starts.
pub type MailtrapFakeBuilder = FakeBuilder<MailtrapDialect>;

/// The dialect of the Mailtrap fake: flat JSON under
/// `/api/accounts/{account_id}/api_tokens` and `/api/api_tokens`. See
/// [`MailtrapFake`].
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct MailtrapDialect;

/// The settings of a Mailtrap fake.
#[derive(Debug, Clone)]
#[doc(hidden)]
pub struct MailtrapSettings {
    account_id: u64,
    account_name: String,
    more_accounts: Vec<(u64, String)>,
    owner: String,
    reset_rule: ResetRule,
    default_expiry: Option<Duration>,
}

impl Default for MailtrapSettings {
    fn default() -> Self {
        MailtrapSettings {
            account_id: 3229,
            account_name: "Example account".into(),
            more_accounts: Vec::new(),
            owner: "owner@example.com".into(),
            reset_rule: ResetRule::default(),
            default_expiry: DEFAULT_LIFETIME.to_std().ok(),
        }
    }
}

impl sealed::Sealed for MailtrapDialect {}
impl sealed::Sealed for MailtrapOp {}

impl Operation for MailtrapOp {
    fn name(self) -> Option<&'static str> {
        MailtrapOp::name(self)
    }
}

impl Dialect for MailtrapDialect {
    /// Mailtrap's: 150 requests per 10 seconds per token, which every
    /// answer tells.
    const REPORTED_RATE_LIMIT: Option<(u32, Duration)> = Some((150, Duration::from_secs(10)));
    type Op = MailtrapOp;
    type Token = MailtrapToken;
    type State = MailtrapState;
    type Settings = MailtrapSettings;
    const OP_NAME: &'static str = "MailtrapOp";

    /// The state the fake starts with, accepting `token`.
    fn state(settings: &MailtrapSettings, token: SecretString) -> MailtrapState {
        let mut accounts = vec![(settings.account_id, settings.account_name.clone())];
        // An account added again, or the fake's own, takes the last name.
        for (id, name) in &settings.more_accounts {
            match accounts.iter_mut().find(|(known, _)| known == id) {
                Some((_, known)) => known.clone_from(name),
                None => accounts.push((*id, name.clone())),
            }
        }
        MailtrapState::new(
            accounts,
            token,
            settings.owner.clone(),
            settings.reset_rule,
            settings.default_expiry.map(lifetime),
        )
    }

    fn new_secret() -> SecretString {
        new_secret()
    }

    fn held(state: &MailtrapState) -> &BTreeMap<u64, MailtrapToken> {
        &state.tokens
    }

    fn ids(state: &mut MailtrapState) -> &mut Ids {
        &mut state.ids
    }
}

impl FakeBuilder<MailtrapDialect> {
    /// The fake's own account (default 3229): its token's, where the
    /// account-free paths lead it, and where seeds go unless they name
    /// another.
    pub fn account_id(mut self, account_id: u64) -> Self {
        self.settings.account_id = account_id;
        self
    }

    /// The name of the account, as `GET /api/accounts` lists it (default
    /// `Example account`).
    pub fn account_name(mut self, name: impl Into<String>) -> Self {
        self.settings.account_name = name.into();
        self
    }

    /// Adds another account, named `name`, that the fake's own token
    /// reaches, as a user's token in an organization reaches several
    /// accounts. Its tokens are listed, created and reset under
    /// `/api/accounts/{account_id}/api_tokens`; adding an account twice, or
    /// the fake's own, changes only its name.
    ///
    /// ```
    /// use api_tokens::mailtrap;
    /// use api_tokens::testing::{MailtrapFake, MailtrapTokenSeed};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), api_tokens::Error> {
    /// let fake = MailtrapFake::builder().account(4410, "Billing").start().await;
    /// fake.insert_token(MailtrapTokenSeed::new("billing-ci").account(4410));
    /// let own = mailtrap::Client::builder()
    ///     .token(fake.token().clone())
    ///     .base_url(fake.uri())
    ///     .build()?;
    /// assert_eq!(own.accounts().await?.len(), 2);
    /// assert!(own.api_tokens().list().await?.is_empty(), "3229 holds none");
    /// let billing = own.for_account(Some(4410))?.api_tokens().list().await?;
    /// assert_eq!(billing[0].name, "billing-ci");
    /// # Ok(()) }
    /// ```
    pub fn account(mut self, account_id: u64, name: impl Into<String>) -> Self {
        self.settings.more_accounts.push((account_id, name.into()));
        self
    }

    /// The `created_by` of tokens made with the fake's own token (default
    /// `owner@example.com`).
    pub fn owner(mut self, owner: impl Into<String>) -> Self {
        self.settings.owner = owner.into();
        self
    }

    /// Which tokens reset refuses (default [`ResetRule::Current`]).
    pub fn reset_rule(mut self, rule: ResetRule) -> Self {
        self.settings.reset_rule = rule;
        self
    }

    /// The lifetime of a token created or reset without an `expires_at`
    /// (default: one year, the service's default as it rolls out);
    /// `None`: such a token never expires, as before the rollout. An
    /// explicit `null` never expires either way.
    ///
    /// ```
    /// use std::time::Duration;
    /// use api_tokens::testing::MailtrapFake;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let ninety_days = MailtrapFake::builder()
    ///     .default_expiry(Some(Duration::from_secs(90 * 86_400)))
    ///     .start()
    ///     .await;
    /// let before_the_rollout = MailtrapFake::builder().default_expiry(None).start().await;
    /// # let _ = (ninety_days, before_the_rollout);
    /// # }
    /// ```
    pub fn default_expiry(mut self, lifetime: Option<Duration>) -> Self {
        self.settings.default_expiry = lifetime;
        self
    }
}

impl Fake<MailtrapDialect> {
    /// The fake's own account: its token's, where `/api/api_tokens` leads
    /// that token, and where seeds go unless they name another. An
    /// account the fake does not have answers 403.
    pub fn account_id(&self) -> u64 {
        self.settings.account_id
    }

    /// Every account of the fake, its own first, then those the builder
    /// [added](MailtrapFakeBuilder::account).
    pub fn account_ids(&self) -> Vec<u64> {
        lock(&self.engine)
            .dialect
            .accounts
            .iter()
            .map(|(id, _)| *id)
            .collect()
    }

    /// Puts a token into the fake, as if created earlier, and returns it
    /// with its id: the next id the fake gives.
    ///
    /// # Panics
    ///
    /// When the seed names an account the fake does not have (add it with
    /// [`MailtrapFakeBuilder::account`]), or the fake has given every id up
    /// to [`MAX_TOKEN_ID`] (only after
    /// [`set_next_id`](MailtrapFake::set_next_id) moved its counter there).
    pub fn insert_token(&self, seed: MailtrapTokenSeed) -> MailtrapToken {
        let mut engine = lock(&self.engine);
        let state = &mut engine.dialect;
        let account = match seed_account(state, &seed) {
            Ok(account) => account,
            Err(e) => panic!("{e}"),
        };
        let Some(id) = state.ids.take() else {
            panic!("the Mailtrap fake has given every token id up to {MAX_TOKEN_ID}");
        };
        let (now, default) = (engine.now(), engine.dialect.default_lifetime);
        let state = &mut engine.dialect;
        let token = seed.into_token(id, account, &state.owner, now, default);
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
    /// [`MAX_TOKEN_ID`], or an account the fake does not have; nothing is
    /// inserted.
    pub fn insert_token_with_id(
        &self,
        id: TokenId,
        seed: MailtrapTokenSeed,
    ) -> Result<MailtrapToken, KitError> {
        let number = id.get();
        let mut engine = lock(&self.engine);
        let state = &mut engine.dialect;
        let account = seed_account(state, &seed)?;
        let held = state.tokens.contains_key(&number);
        state.ids.claim(number, held)?;
        let (now, default) = (engine.now(), engine.dialect.default_lifetime);
        let state = &mut engine.dialect;
        let token = seed.into_token(number, account, &state.owner, now, default);
        Ok(state.hold(number, token))
    }

    /// Changes the lifetime of tokens created or reset without an
    /// `expires_at` from now on (see [`MailtrapFakeBuilder::default_expiry`]).
    pub fn set_default_expiry(&self, lifetime: Option<Duration>) {
        lock(&self.engine).dialect.default_lifetime = lifetime.map(self::lifetime);
    }

    /// Changes which tokens reset refuses from now on.
    pub fn set_reset_rule(&self, rule: ResetRule) {
        lock(&self.engine).dialect.reset_rule = rule;
    }
}

/// The account a seed goes to: the one it names, if the fake has it, else
/// the fake's own.
fn seed_account(state: &MailtrapState, seed: &MailtrapTokenSeed) -> Result<u64, KitError> {
    match seed.chosen_account() {
        None => Ok(state.own_account()),
        Some(id) if state.has_account(id) => Ok(id),
        Some(id) => Err(KitError::Seed(format!(
            "the Mailtrap fake has no account {id}: add it with MailtrapFakeBuilder::account"
        ))),
    }
}

/// A lifetime the fake's clock can add: one beyond any date is as good as
/// `TimeDelta::MAX` (the expiry is then the last moment the clock holds).
fn lifetime(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}
