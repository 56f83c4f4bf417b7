//! The tokens the Mailtrap fake holds and the seeds that put them there,
//! in the crate's types.

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};

use crate::mailtrap::{self, AccessLevel, Expiry, Permission, ResourceId, ResourceType, TokenId};
use crate::testing::engine::format_time;

/// A permission as the fake stores it: the resource type as it came (an
/// older name such as `inbox` included), with the typed permission.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Stored {
    wire_type: String,
    permission: Permission,
}

impl Stored {
    pub(crate) fn typed(permission: Permission) -> Stored {
        Stored {
            wire_type: permission.resource_type.as_str().to_owned(),
            permission,
        }
    }

    pub(crate) fn raw(
        wire_type: impl Into<String>,
        resource_id: impl Into<ResourceId>,
        access_level: impl Into<AccessLevel>,
    ) -> Stored {
        let wire_type = wire_type.into();
        Stored {
            permission: Permission::new(wire_type.as_str(), resource_id, access_level),
            wire_type,
        }
    }

    pub(crate) fn document(&self) -> Value {
        json!({
            "resource_type": self.wire_type,
            "resource_id": self.permission.resource_id,
            "access_level": self.permission.access_level,
        })
    }
}

/// A token held by the Mailtrap fake, in the crate's types: its fields
/// compare with those of the client's [`mailtrap::ApiToken`] and
/// [`mailtrap::NewApiToken`] as they are, and [`mailtrap::ApiToken::from`]
/// gives the token as the fake lists it.
///
/// Times are kept to the millisecond, as the fake writes them, so that a
/// token read back through a client is equal to the one held.
///
/// ```
/// use api_tokens::mailtrap::{self, AccessLevel, Permission, ResourceType};
/// use api_tokens::testing::{MailtrapFake, MailtrapTokenSeed};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), api_tokens::Error> {
/// let fake = MailtrapFake::start().await;
/// let seeded = fake.insert_token(
///     MailtrapTokenSeed::new("webhooks").permission(ResourceType::Sandbox, 17, AccessLevel::Viewer),
/// );
/// let client = mailtrap::Client::builder()
///     .token(fake.token().clone())
///     .account_id(fake.account_id())
///     .base_url(fake.uri())
///     .build()?;
/// let fetched = client.api_tokens().get(seeded.id).await?;
/// assert_eq!(
///     fetched.permissions,
///     [Permission::new(ResourceType::Sandbox, 17, AccessLevel::Viewer)]
/// );
/// assert_eq!(mailtrap::ApiToken::from(&seeded), fetched);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MailtrapToken {
    /// Its id.
    pub id: TokenId,
    /// Its display name.
    pub name: String,
    /// Who created it: the fake's owner, or the name of the token used.
    pub created_by: String,
    /// When it stops working; `None` for never. A reset sets it on the old
    /// token to 12 hours after the reset (or keeps an earlier one).
    pub expires_at: Option<DateTime<Utc>>,
    /// What it may do (wire: `resources`), as the client decodes it: an
    /// older resource name reads as its current one (`inbox` as
    /// [`ResourceType::Sandbox`]); see
    /// [`wire_resource_types`](MailtrapToken::wire_resource_types).
    pub permissions: Vec<Permission>,
    /// The secret; the fake accepts it as a credential until deleted or
    /// expired.
    pub secret: SecretString,
    /// The id of the token a reset replaced it with, once reset.
    pub replaced_by: Option<TokenId>,
    /// The account it belongs to: the one it was created, reset or seeded
    /// in. Its secret reaches that account only.
    pub account_id: u64,
    pub(crate) stored: Vec<Stored>,
}

impl MailtrapToken {
    pub(crate) fn held(
        account_id: u64,
        id: TokenId,
        name: String,
        created_by: String,
        expires_at: Option<DateTime<Utc>>,
        stored: Vec<Stored>,
        secret: SecretString,
    ) -> MailtrapToken {
        MailtrapToken {
            id,
            name,
            created_by,
            expires_at: expires_at.map(|at| at.trunc_subsecs(3)),
            permissions: stored.iter().map(|s| s.permission.clone()).collect(),
            secret,
            replaced_by: None,
            account_id,
            stored,
        }
    }

    /// The last four characters of the secret, as the service shows them.
    pub fn last_4_digits(&self) -> String {
        last_four(self.secret.expose_secret())
    }

    /// The resource type of each permission as the fake writes it on the
    /// wire, in the order of [`permissions`](MailtrapToken::permissions):
    /// the name it was created or seeded with, an older one (`inbox`,
    /// `sending_domain`) included.
    pub fn wire_resource_types(&self) -> Vec<&str> {
        self.stored.iter().map(|s| s.wire_type.as_str()).collect()
    }

    /// Whether the token has admin access (access level 100) to the
    /// account `account_id`: a permission on the resource `account` of
    /// that id, as the service requires of a token that creates, deletes
    /// or resets tokens there.
    pub(crate) fn administers(&self, account_id: u64) -> bool {
        self.permissions.iter().any(|p| {
            p.resource_type == ResourceType::Account
                && p.access_level == AccessLevel::Admin
                && match &p.resource_id {
                    ResourceId::Int(id) => *id == account_id,
                    ResourceId::Str(id) => id.trim() == account_id.to_string(),
                }
        })
    }

    pub(crate) fn document(&self, with_secret: bool) -> Value {
        let mut doc = Map::new();
        doc.insert("id".into(), json!(self.id));
        doc.insert("name".into(), json!(self.name));
        doc.insert("last_4_digits".into(), json!(self.last_4_digits()));
        doc.insert("created_by".into(), json!(self.created_by));
        doc.insert("expires_at".into(), json!(self.expires_at.map(format_time)));
        doc.insert(
            "resources".into(),
            Value::Array(self.stored.iter().map(Stored::document).collect()),
        );
        if with_secret {
            doc.insert("token".into(), json!(self.secret.expose_secret()));
        }
        Value::Object(doc)
    }
}

impl From<&MailtrapToken> for mailtrap::ApiToken {
    /// The token as the fake lists it.
    fn from(token: &MailtrapToken) -> Self {
        let mut listed = mailtrap::ApiToken::new(token.id, token.name.clone());
        listed.last_four = Some(token.last_4_digits());
        listed.created_by = Some(token.created_by.clone());
        listed.expires_at = token.expires_at;
        listed.permissions = token.permissions.clone();
        listed
    }
}

fn last_four(secret: &str) -> String {
    let count = secret.chars().count();
    secret.chars().skip(count.saturating_sub(4)).collect()
}

/// A token to put into the Mailtrap fake with
/// [`MailtrapFake::insert_token`](struct.MailtrapFake.html#method.insert_token), in the crate's types. A create request of
/// the client makes one too ([`MailtrapTokenSeed::from`]).
///
/// ```
/// use api_tokens::mailtrap::{AccessLevel, CreateApiToken, Expiry, ResourceType};
/// use api_tokens::testing::MailtrapTokenSeed;
///
/// let seed = MailtrapTokenSeed::new("Seeded")
///     .permission(ResourceType::Project, 7, AccessLevel::Viewer)
///     .expires(Expiry::Never);
/// // A permission stored under an older name, as the service still answers it.
/// let legacy = MailtrapTokenSeed::new("Legacy").raw_permission("inbox", 7, 100);
/// let request = CreateApiToken::new("ci").permission(ResourceType::Account, 3229, AccessLevel::Admin);
/// let from_request = MailtrapTokenSeed::from(&request);
/// # let _ = (seed, legacy, from_request);
/// ```
#[derive(Debug, Clone)]
pub struct MailtrapTokenSeed {
    name: String,
    permissions: Vec<Stored>,
    expiry: Expiry,
    secret: Option<SecretString>,
    created_by: Option<String>,
    account: Option<u64>,
}

impl MailtrapTokenSeed {
    /// A token with this name, admin on its account unless
    /// permissions are added, never expiring, with a random secret.
    pub fn new(name: impl Into<String>) -> Self {
        MailtrapTokenSeed {
            name: name.into(),
            permissions: Vec::new(),
            expiry: Expiry::Never,
            secret: None,
            created_by: None,
            account: None,
        }
    }

    /// Adds a permission: `access_level` on the resource `resource_id` of
    /// kind `resource_type`, as [`CreateApiToken::permission`](mailtrap::CreateApiToken::permission).
    pub fn permission(
        self,
        resource_type: impl Into<ResourceType>,
        resource_id: impl Into<ResourceId>,
        access_level: impl Into<AccessLevel>,
    ) -> Self {
        self.permissions([Permission::new(resource_type, resource_id, access_level)])
    }

    /// Adds permissions made beforehand.
    pub fn permissions(self, permissions: impl IntoIterator<Item = Permission>) -> Self {
        self.stored(permissions.into_iter().map(Stored::typed))
    }

    /// Adds a permission whose resource type the fake stores and answers
    /// exactly as written here: an older name (`inbox`, `sending_domain`)
    /// stays on the wire as it is, and reads in
    /// [`MailtrapToken::permissions`] as the client decodes it.
    pub fn raw_permission(
        self,
        wire_resource_type: impl Into<String>,
        resource_id: impl Into<ResourceId>,
        access_level: impl Into<AccessLevel>,
    ) -> Self {
        self.stored([Stored::raw(wire_resource_type, resource_id, access_level)])
    }

    /// Adds permissions as the fake stores them.
    fn stored(mut self, permissions: impl IntoIterator<Item = Stored>) -> Self {
        self.permissions.extend(permissions);
        self
    }

    /// When it expires: [`Expiry::At`](mailtrap::Expiry::At) a moment (in
    /// the past for a token that no longer works); `Never` leaves it
    /// without an expiration; `ServerDefault` gives it the fake's default
    /// lifetime from the moment it is inserted (see
    /// [`MailtrapFakeBuilder::default_expiry`](struct.MailtrapFakeBuilder.html#method.default_expiry)),
    /// as a create that leaves `expires_at` out. Any expiration refuses a
    /// reset under [`ResetRule::Published`](super::op::ResetRule::Published).
    pub fn expires(mut self, expiry: Expiry) -> Self {
        self.expiry = expiry;
        self
    }

    /// Sets an expiration: in the past for a token that no longer works; any
    /// expiration refuses a reset under [`ResetRule::Published`](super::op::ResetRule::Published).
    pub fn expires_at(mut self, at: DateTime<Utc>) -> Self {
        self.expiry = Expiry::At(at);
        self
    }

    /// Its secret, instead of a random one.
    pub fn secret(mut self, secret: SecretString) -> Self {
        self.secret = Some(secret);
        self
    }

    /// Who created it (default: the fake's owner).
    pub fn created_by(mut self, who: impl Into<String>) -> Self {
        self.created_by = Some(who.into());
        self
    }

    /// The account it belongs to (default: the fake's own,
    /// `MailtrapFake::account_id`): one of the fake's accounts, added by
    /// `MailtrapFakeBuilder::account`.
    pub fn account(mut self, account_id: u64) -> Self {
        self.account = Some(account_id);
        self
    }

    /// The account named by [`account`](MailtrapTokenSeed::account), if any.
    pub(crate) fn chosen_account(&self) -> Option<u64> {
        self.account
    }

    /// The token this seed makes under number `id` in the account
    /// `account_id`, whose owner is `owner`, inserted at `now` into a fake
    /// whose default lifetime is `default`.
    pub(crate) fn into_token(
        self,
        id: u64,
        account_id: u64,
        owner: &str,
        now: DateTime<Utc>,
        default: Option<TimeDelta>,
    ) -> MailtrapToken {
        let expires_at = match self.expiry {
            Expiry::At(at) => Some(at),
            Expiry::Never => None,
            Expiry::ServerDefault => default_expiry(now, default),
        };
        let mut permissions = self.permissions;
        if permissions.is_empty() {
            permissions.push(Stored::typed(Permission::new(
                ResourceType::Account,
                account_id,
                AccessLevel::Admin,
            )));
        }
        MailtrapToken::held(
            account_id,
            token_id(id),
            self.name,
            self.created_by.unwrap_or_else(|| owner.to_owned()),
            expires_at,
            permissions,
            self.secret.unwrap_or_else(new_secret),
        )
    }
}

impl From<&mailtrap::CreateApiToken> for MailtrapTokenSeed {
    /// The token that request would create: its name, permissions and
    /// expiry, with a random secret.
    fn from(request: &mailtrap::CreateApiToken) -> Self {
        MailtrapTokenSeed::new(request.name())
            .permissions(request.permissions().iter().cloned())
            .expires(request.expiry())
    }
}

impl From<MailtrapToken> for mailtrap::ApiToken {
    /// The token as the fake lists it.
    fn from(token: MailtrapToken) -> Self {
        mailtrap::ApiToken::from(&token)
    }
}

impl From<&MailtrapToken> for mailtrap::NewApiToken {
    /// The token as the fake answers its create or reset, with the secret.
    fn from(token: &MailtrapToken) -> Self {
        mailtrap::NewApiToken::new(mailtrap::ApiToken::from(token), token.secret.clone())
    }
}

impl PartialEq<mailtrap::ApiToken> for MailtrapToken {
    /// Whether the client's token is this one as the fake lists it: the
    /// listed form compared field by field, so a field the model gains is
    /// weighed as soon as the conversion fills it.
    fn eq(&self, other: &mailtrap::ApiToken) -> bool {
        let listed = mailtrap::ApiToken::from(self);
        listed == *other
    }
}

impl PartialEq<MailtrapToken> for mailtrap::ApiToken {
    /// Whether this token is the fake's as the fake lists it.
    fn eq(&self, other: &MailtrapToken) -> bool {
        other == self
    }
}

impl From<mailtrap::CreateApiToken> for MailtrapTokenSeed {
    /// The token that request would create, as from a reference.
    fn from(request: mailtrap::CreateApiToken) -> Self {
        MailtrapTokenSeed::from(&request)
    }
}

/// When a token made at `now` without an `expires_at` expires, under the
/// default lifetime `default`: to the millisecond, as the service writes
/// times; never past the last moment the clock holds.
pub(crate) fn default_expiry(
    now: DateTime<Utc>,
    default: Option<TimeDelta>,
) -> Option<DateTime<Utc>> {
    let lifetime = default?;
    Some(
        now.checked_add_signed(lifetime)
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
            .trunc_subsecs(3),
    )
}

/// The id of a token the fake numbers (from 12345 up).
pub(crate) fn token_id(n: u64) -> TokenId {
    TokenId::new(n).unwrap_or_else(|_| unreachable!("the fake numbers tokens from 12345"))
}

pub(crate) fn new_secret() -> SecretString {
    crate::testing::secret_format::mailtrap_secret()
}
