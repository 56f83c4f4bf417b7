//! The tokens the Unit fake holds and the seeds that put them there, in
//! the crate's types.

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use secrecy::SecretString;

use crate::testing::engine::saturating_add;
use crate::unit::{self, ResourceRestriction, Scope, SourceIp, TokenId};

/// A token held by the Unit fake, in the crate's types: its fields compare
/// with those of the client's [`unit::ApiToken`] and [`unit::NewApiToken`]
/// as they are, and [`unit::ApiToken::from`] gives the token as the fake
/// lists it.
///
/// Times are kept to the millisecond, as the fake writes them, so that a
/// token read back through a client is equal to the one held.
///
/// ```
/// use api_tokens::testing::{UnitFake, UnitTokenSeed};
/// use api_tokens::unit::{self, Scope, SourceIp};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), api_tokens::Error> {
/// let fake = UnitFake::start().await;
/// let seeded = fake.insert_token(
///     UnitTokenSeed::new("reporting")
///         .scope(Scope::Statements)
///         .source_ip("10.0.0.0/8".parse::<SourceIp>()?),
/// );
/// let client = unit::Client::builder()
///     .token(fake.token().clone())
///     .base_url(fake.uri())
///     .build()?;
/// let listed = client.org_api_tokens(fake.user_id()).list().await?;
/// assert_eq!(listed[0].id, seeded.id);
/// assert_eq!(listed[0].source_ips, seeded.source_ips);
/// assert_eq!(seeded, listed[0]);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct UnitToken {
    /// Its id.
    pub id: TokenId,
    /// What it is for.
    pub description: String,
    /// Its scopes (Unit does not list them; the fake keeps them).
    pub scopes: Vec<Scope>,
    /// When it stops working.
    pub expiration: DateTime<Utc>,
    /// The addresses and ranges allowed to use it (empty: any).
    pub source_ips: Vec<SourceIp>,
    /// The cards or accounts it is restricted to (Unit does not list them;
    /// the fake keeps them).
    pub resources: Option<Vec<ResourceRestriction>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// The secret; the fake accepts it as a credential until revoked or
    /// expired.
    pub secret: SecretString,
}

impl From<&UnitToken> for unit::ApiToken {
    /// The token as the fake lists it.
    fn from(token: &UnitToken) -> Self {
        let mut listed = unit::ApiToken::new(token.id.clone(), token.created_at);
        listed.description = Some(token.description.clone());
        listed.expiration = Some(token.expiration);
        listed.source_ips = token.source_ips.clone();
        listed
    }
}

/// A token to put into the Unit fake with [`UnitFake::insert_token`](struct.UnitFake.html#method.insert_token), in
/// the crate's types. A create request of the client makes one too
/// ([`UnitTokenSeed::from`]), to seed the token a test would have created.
///
/// ```
/// use api_tokens::testing::UnitTokenSeed;
/// use api_tokens::unit::{CreateApiToken, Scope};
/// use chrono::{Duration, Utc};
///
/// let seed = UnitTokenSeed::new("Seeded").scopes([Scope::Customers, Scope::Accounts]);
/// let request = CreateApiToken::new("ci", [Scope::Cards], Utc::now() + Duration::days(7));
/// let from_request = UnitTokenSeed::from(&request);
/// # let _ = (seed, from_request);
/// ```
#[derive(Debug, Clone)]
pub struct UnitTokenSeed {
    description: String,
    scopes: Vec<Scope>,
    expiration: Option<DateTime<Utc>>,
    source_ips: Vec<SourceIp>,
    resources: Option<Vec<ResourceRestriction>>,
    secret: Option<SecretString>,
}

impl UnitTokenSeed {
    /// A token with this description, scope [`Scope::Customers`] unless
    /// scopes are added, expiring in 30 days, usable from any address, with
    /// a random secret.
    pub fn new(description: impl Into<String>) -> Self {
        UnitTokenSeed {
            description: description.into(),
            scopes: Vec::new(),
            expiration: None,
            source_ips: Vec::new(),
            resources: None,
            secret: None,
        }
    }

    /// Adds a scope.
    pub fn scope(self, scope: Scope) -> Self {
        self.scopes([scope])
    }

    /// Adds scopes.
    pub fn scopes(mut self, scopes: impl IntoIterator<Item = Scope>) -> Self {
        self.scopes.extend(scopes);
        self
    }

    /// When it expires (may be in the past, for a token that no longer works).
    pub fn expiration(mut self, at: DateTime<Utc>) -> Self {
        self.expiration = Some(at);
        self
    }

    /// Adds an address or range allowed to use it.
    pub fn source_ip(self, ip: impl Into<SourceIp>) -> Self {
        self.source_ips([ip.into()])
    }

    /// Adds addresses or ranges allowed to use it.
    pub fn source_ips(mut self, ips: impl IntoIterator<Item = SourceIp>) -> Self {
        self.source_ips.extend(ips);
        self
    }

    /// Restricts it to these cards or accounts (added to any given before).
    pub fn resources(mut self, resources: impl IntoIterator<Item = ResourceRestriction>) -> Self {
        self.resources.get_or_insert_default().extend(resources);
        self
    }

    /// Its secret, instead of a random one.
    pub fn secret(mut self, secret: SecretString) -> Self {
        self.secret = Some(secret);
        self
    }

    /// The token this seed makes under number `id` of `user_id`, created at `now`.
    pub(crate) fn into_token(self, user_id: &str, id: u64, now: DateTime<Utc>) -> UnitToken {
        let mut scopes = self.scopes;
        if scopes.is_empty() {
            scopes.push(Scope::Customers);
        }
        let secret = self
            .secret
            .unwrap_or_else(|| minted_secret(user_id, id, &scopes));
        UnitToken {
            id: token_id(id),
            description: self.description,
            scopes,
            expiration: self
                .expiration
                .unwrap_or_else(|| saturating_add(now, TimeDelta::days(30)))
                .trunc_subsecs(3),
            source_ips: self.source_ips,
            resources: self.resources,
            created_at: now.trunc_subsecs(3),
            secret,
        }
    }
}

impl From<&unit::CreateApiToken> for UnitTokenSeed {
    /// The token that request would create: its description, scopes,
    /// expiration, addresses and restrictions, with a random secret.
    fn from(request: &unit::CreateApiToken) -> Self {
        let mut seed = UnitTokenSeed::new(request.description())
            .scopes(request.scopes().iter().cloned())
            .expiration(request.expiration())
            .source_ips(request.allowed_ips().iter().cloned());
        if let Some(resources) = request.restrictions() {
            seed = seed.resources(resources.iter().cloned());
        }
        seed
    }
}

impl From<UnitToken> for unit::ApiToken {
    /// The token as the fake lists it.
    fn from(token: UnitToken) -> Self {
        unit::ApiToken::from(&token)
    }
}

impl From<&UnitToken> for unit::NewApiToken {
    /// The token as the fake answers its create, with the secret.
    fn from(token: &UnitToken) -> Self {
        unit::NewApiToken::new(unit::ApiToken::from(token), token.secret.clone())
    }
}

impl PartialEq<unit::ApiToken> for UnitToken {
    /// Whether the client's token is this one as the fake lists it: the
    /// listed form compared field by field, so a field the model gains is
    /// weighed as soon as the conversion fills it.
    fn eq(&self, other: &unit::ApiToken) -> bool {
        let listed = unit::ApiToken::from(self);
        listed == *other
    }
}

impl PartialEq<UnitToken> for unit::ApiToken {
    /// Whether this token is the fake's as the fake lists it.
    fn eq(&self, other: &UnitToken) -> bool {
        other == self
    }
}

impl From<unit::CreateApiToken> for UnitTokenSeed {
    /// The token that request would create, as from a reference.
    fn from(request: unit::CreateApiToken) -> Self {
        UnitTokenSeed::from(&request)
    }
}

/// The id of the n-th token (n counts from 1).
pub(crate) fn token_id(n: u64) -> TokenId {
    TokenId::try_from(n).unwrap_or_else(|_| unreachable!("token numbers start at 1"))
}

/// A secret in Unit's format for a token whose user and id are not known
/// here (a seeded token): see [`secret_format`](crate::testing::secret_format).
/// The secret of token number `id` of `user_id`, with these scopes, in
/// Unit's format.
pub(crate) fn minted_secret(user_id: &str, id: u64, scopes: &[Scope]) -> SecretString {
    let scope: Vec<String> = scopes.iter().map(ToString::to_string).collect();
    crate::testing::secret_format::unit_secret(user_id, &id.to_string(), &scope.join(" "))
}

pub(crate) fn new_secret() -> SecretString {
    crate::testing::secret_format::unit_secret("", "", "")
}

/// The secret of the fake's own credential: an Org token of `user_id`,
/// naming no token and no scope.
pub(crate) fn own_secret(user_id: &unit::UserId) -> SecretString {
    crate::testing::secret_format::unit_secret(user_id.as_str(), "", "")
}
