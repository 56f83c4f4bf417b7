//! The typed shapes of Mailtrap's account API tokens: what is sent and what
//! comes back.

use std::fmt;

use chrono::{DateTime, Months, SecondsFormat, Utc};
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::error::{Error, Result};

/// The id of an API token: a positive integer up to `i64::MAX`
/// (Mailtrap's ids are signed 64-bit integers), checked when it is made.
///
/// ```
/// use api_tokens::mailtrap::TokenId;
///
/// let id = TokenId::new(12345)?;
/// assert_eq!(id.get(), 12345);
/// assert_eq!(id, "12345".parse()?);
/// assert!(TokenId::new(0).is_err());
/// # Ok::<(), api_tokens::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct TokenId(u64);

impl TokenId {
    /// A token id.
    ///
    /// # Errors
    ///
    /// [`Error::Invalid`] for 0 or an id above `i64::MAX`.
    pub fn new(id: u64) -> Result<Self> {
        check_id("token_id", id)?;
        Ok(TokenId(id))
    }

    /// The number.
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl TryFrom<u64> for TokenId {
    type Error = Error;
    fn try_from(id: u64) -> Result<Self> {
        TokenId::new(id)
    }
}

impl From<TokenId> for u64 {
    fn from(id: TokenId) -> Self {
        id.0
    }
}

impl std::str::FromStr for TokenId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let id = s.trim().parse::<u64>().map_err(|_| {
            Error::invalid(
                "token_id",
                format!(
                    "`{}` is not a token id (a positive integer)",
                    s.escape_debug()
                ),
            )
        })?;
        TokenId::new(id)
    }
}

impl fmt::Display for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl<'de> Deserialize<'de> for TokenId {
    /// A positive integer up to `i64::MAX`; 0, a negative number or a
    /// string is refused.
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let id = u64::deserialize(d)?;
        if id == 0 || id > i64::MAX as u64 {
            return Err(de::Error::custom(
                "not a token id (a positive integer up to 2^63-1)",
            ));
        }
        Ok(TokenId(id))
    }
}

/// The kind of resource a permission applies to.
///
/// The set has changed over time and may change again: `inbox` became
/// `sandbox` and `sending_domain` became `domain`. Answers carrying the old
/// names decode as [`Sandbox`](ResourceType::Sandbox) and
/// [`Domain`](ResourceType::Domain) (aliases), and the crate always sends
/// the new names. A value this crate does not know is kept in
/// [`ResourceType::Other`], never refused.
///
/// ```
/// use api_tokens::mailtrap::ResourceType;
///
/// assert_eq!(ResourceType::from("sandbox"), ResourceType::Sandbox);
/// assert_eq!(ResourceType::from("inbox"), ResourceType::Sandbox);
/// assert_eq!(ResourceType::from("sending_domain").as_str(), "domain");
/// assert_eq!(ResourceType::from("billing"), ResourceType::Billing);
/// assert_eq!(ResourceType::from("galaxy"), ResourceType::Other("galaxy".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ResourceType {
    /// `account`: the whole account.
    Account,
    /// `project`: a project of sandboxes.
    Project,
    /// `sandbox` (formerly `inbox`): one sandbox.
    Sandbox,
    /// `domain` (formerly `sending_domain`): one sending domain.
    Domain,
    /// `billing`: the account's billing.
    Billing,
    /// `organization`: an organization of accounts.
    Organization,
    /// `email_campaign_permission_scope`: email campaigns.
    EmailCampaignPermissionScope,
    /// `email_template`: an email template.
    EmailTemplate,
    /// A value this crate does not know, kept as given.
    Other(String),
}

impl ResourceType {
    /// The wire name (`account`, `project`, `sandbox`, …).
    pub fn as_str(&self) -> &str {
        match self {
            ResourceType::Account => "account",
            ResourceType::Project => "project",
            ResourceType::Sandbox => "sandbox",
            ResourceType::Domain => "domain",
            ResourceType::Billing => "billing",
            ResourceType::Organization => "organization",
            ResourceType::EmailCampaignPermissionScope => "email_campaign_permission_scope",
            ResourceType::EmailTemplate => "email_template",
            ResourceType::Other(other) => other,
        }
    }

    /// The known type of that wire name, the older names (`inbox`,
    /// `sending_domain`) included; `None` for any other.
    pub(crate) fn known(value: &str) -> Option<ResourceType> {
        Some(match value {
            "account" => ResourceType::Account,
            "project" => ResourceType::Project,
            "sandbox" | "inbox" => ResourceType::Sandbox,
            "domain" | "sending_domain" => ResourceType::Domain,
            "billing" => ResourceType::Billing,
            "organization" => ResourceType::Organization,
            "email_campaign_permission_scope" => ResourceType::EmailCampaignPermissionScope,
            "email_template" => ResourceType::EmailTemplate,
            _ => return None,
        })
    }
}

impl From<&str> for ResourceType {
    fn from(value: &str) -> Self {
        ResourceType::known(value).unwrap_or_else(|| ResourceType::Other(value.to_owned()))
    }
}

impl From<String> for ResourceType {
    fn from(value: String) -> Self {
        ResourceType::known(&value).unwrap_or(ResourceType::Other(value))
    }
}

crate::display::display_as_str!(ResourceType);

impl Serialize for ResourceType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ResourceType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Read where the format holds it: only an unknown type allocates.
        crate::json::read_str(deserializer, "a resource type", |v| {
            Ok(ResourceType::from(v))
        })
    }
}

/// How much a permission allows: Mailtrap sends it as a number.
///
/// The service's description says only "integer" of a listed level, so
/// any 64-bit integer is read, and one this crate does not know (`50`,
/// `70000`, `-1`) is kept in [`AccessLevel::Other`], never refused.
///
/// ```
/// use api_tokens::mailtrap::AccessLevel;
///
/// assert_eq!(AccessLevel::from(100), AccessLevel::Admin);
/// assert_eq!(AccessLevel::Viewer.code(), 10);
/// assert_eq!(AccessLevel::from(50), AccessLevel::Other(50));
/// assert_eq!(AccessLevel::from_code(70000), AccessLevel::Other(70000));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum AccessLevel {
    /// `10`: read only.
    Viewer,
    /// `100`: full access.
    Admin,
    /// A level this crate does not know, kept as given.
    Other(i64),
}

impl AccessLevel {
    /// The level of a wire number: [`Viewer`](AccessLevel::Viewer) for
    /// `10`, [`Admin`](AccessLevel::Admin) for `100`,
    /// [`Other`](AccessLevel::Other) for any other.
    pub const fn from_code(code: i64) -> Self {
        match code {
            10 => AccessLevel::Viewer,
            100 => AccessLevel::Admin,
            other => AccessLevel::Other(other),
        }
    }

    /// The wire number (`10`, `100`, …).
    pub const fn code(self) -> i64 {
        match self {
            AccessLevel::Viewer => 10,
            AccessLevel::Admin => 100,
            AccessLevel::Other(code) => code,
        }
    }
}

impl From<u16> for AccessLevel {
    fn from(code: u16) -> Self {
        AccessLevel::from_code(i64::from(code))
    }
}

impl fmt::Display for AccessLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccessLevel::Viewer => f.write_str("viewer"),
            AccessLevel::Admin => f.write_str("admin"),
            AccessLevel::Other(code) => write!(f, "level {code}"),
        }
    }
}

impl Serialize for AccessLevel {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(self.code())
    }
}

impl<'de> Deserialize<'de> for AccessLevel {
    /// Any integer that fits 64 signed bits; a fraction, a string or a
    /// larger number is refused.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        i64::deserialize(deserializer).map(AccessLevel::from_code)
    }
}

/// The id of the resource a permission applies to: Mailtrap uses numbers
/// for most resources and strings for some.
///
/// ```
/// use api_tokens::mailtrap::ResourceId;
///
/// assert_eq!(ResourceId::from(3229), ResourceId::Int(3229));
/// assert_eq!(ResourceId::from("d-1f2e"), ResourceId::Str("d-1f2e".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceId {
    /// A numeric id, sent as a JSON number.
    Int(u64),
    /// A string id, sent as a JSON string.
    Str(String),
}

impl From<u64> for ResourceId {
    fn from(id: u64) -> Self {
        ResourceId::Int(id)
    }
}

impl From<&str> for ResourceId {
    fn from(id: &str) -> Self {
        ResourceId::Str(id.to_owned())
    }
}

impl From<String> for ResourceId {
    fn from(id: String) -> Self {
        ResourceId::Str(id)
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResourceId::Int(id) => fmt::Display::fmt(id, f),
            ResourceId::Str(id) => f.write_str(id),
        }
    }
}

impl Serialize for ResourceId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ResourceId::Int(id) => serializer.serialize_u64(*id),
            ResourceId::Str(id) => serializer.serialize_str(id),
        }
    }
}

impl<'de> Deserialize<'de> for ResourceId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdVisitor;

        impl Visitor<'_> for IdVisitor {
            type Value = ResourceId;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a non-negative integer or a string")
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ResourceId, E> {
                Ok(ResourceId::Int(v))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ResourceId, E> {
                u64::try_from(v)
                    .map(ResourceId::Int)
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<ResourceId, E> {
                Ok(ResourceId::Str(v.to_owned()))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<ResourceId, E> {
                Ok(ResourceId::Str(v))
            }
        }

        deserializer.deserialize_any(IdVisitor)
    }
}

/// One permission of a token: an access level on one resource.
///
/// On the wire this is one entry of `resources`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(remote = "Self")]
#[non_exhaustive]
pub struct Permission {
    /// The kind of resource.
    pub resource_type: ResourceType,
    /// Which resource of that kind.
    pub resource_id: ResourceId,
    /// What the token may do there.
    pub access_level: AccessLevel,
}

impl Permission {
    /// A permission.
    ///
    /// ```
    /// use api_tokens::mailtrap::{AccessLevel, Permission, ResourceType};
    ///
    /// let p = Permission::new(ResourceType::Account, 3229, AccessLevel::Admin);
    /// assert_eq!(p.resource_id.to_string(), "3229");
    /// ```
    pub fn new(
        resource_type: impl Into<ResourceType>,
        resource_id: impl Into<ResourceId>,
        access_level: impl Into<AccessLevel>,
    ) -> Self {
        Permission {
            resource_type: resource_type.into(),
            resource_id: resource_id.into(),
            access_level: access_level.into(),
        }
    }
}

/// A token as listed or fetched. It never carries the secret: Mailtrap shows
/// that only once, in the answer to a create or a reset ([`NewApiToken`]).
///
/// Fields the service may leave out decode as `None` or empty; an explicit
/// `null` in `resources`, which the service writes as a list, is refused
/// rather than read as no permission. Its `Serialize` and `Deserialize`
/// are Mailtrap's wire shape.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub struct ApiToken {
    /// The token's id.
    pub id: TokenId,
    /// Its display name.
    pub name: String,
    /// The last four characters of the secret (wire: `last_4_digits`; not
    /// always digits).
    #[serde(rename = "last_4_digits", default)]
    pub last_four: Option<String>,
    /// Who created it: a user's name or email, or another token's name.
    #[serde(default)]
    pub created_by: Option<String>,
    /// When it expires; `None` when it never does (or the service did not
    /// say).
    #[serde(default, deserialize_with = "crate::time::option_utc")]
    pub expires_at: Option<DateTime<Utc>>,
    /// What it may do (wire: `resources`).
    #[serde(rename = "resources", default, deserialize_with = "permission_list")]
    pub permissions: Vec<Permission>,
}

crate::json::object_only!(Permission);

impl ApiToken {
    /// A token's details, as the service would list them.
    pub fn new(id: TokenId, name: impl Into<String>) -> Self {
        ApiToken {
            id,
            name: name.into(),
            last_four: None,
            created_by: None,
            expires_at: None,
            permissions: Vec::new(),
        }
    }
}

impl fmt::Display for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "API token {} {:?}", self.id, self.name)?;
        if let Some(last) = &self.last_four {
            write!(f, " (…{last})")?;
        }
        match self.expires_at {
            Some(at) => write!(
                f,
                ", expires {}",
                at.to_rfc3339_opts(SecondsFormat::Secs, true)
            ),
            None => Ok(()),
        }
    }
}

/// A token just created, with its secret; see [`NewToken`](crate::NewToken).
pub type NewApiToken = crate::NewToken<ApiToken>;

/// A token as Mailtrap writes it, with the secret or without
/// ([`Field`](crate::json::Field)): the fields are listed once, here, for
/// both token types.
#[derive(Deserialize)]
#[serde(bound(deserialize = "S: Deserialize<'de> + crate::json::Field"))]
pub(crate) struct TokenWire<S> {
    id: TokenId,
    name: String,
    #[serde(rename = "last_4_digits", default)]
    last_four: Option<String>,
    #[serde(default)]
    created_by: Option<String>,
    #[serde(default, deserialize_with = "crate::time::option_utc")]
    expires_at: Option<DateTime<Utc>>,
    #[serde(rename = "resources", default, deserialize_with = "permission_list")]
    permissions: Vec<Permission>,
    #[serde(default)]
    pub(crate) token: S,
}

impl<S> TokenWire<S> {
    /// The token's details, and what was read of its secret.
    pub(crate) fn into_parts(self) -> (ApiToken, S) {
        (
            ApiToken {
                id: self.id,
                name: self.name,
                last_four: self.last_four,
                created_by: self.created_by,
                expires_at: self.expires_at,
                permissions: self.permissions,
            },
            self.token,
        )
    }
}

impl<'de> Deserialize<'de> for ApiToken {
    /// Mailtrap's token object; only an object. A secret, should one ever
    /// be listed, is not kept.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let wire: TokenWire<crate::json::Skip> = crate::json::object(d)?;
        Ok(wire.into_parts().0)
    }
}

impl<'de> Deserialize<'de> for NewApiToken {
    /// Mailtrap's answer to a create or a reset; `token` is required and
    /// may not be empty.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let wire: TokenWire<crate::json::Secret> = crate::json::object(d)?;
        let (details, secret) = wire.into_parts();
        let token = secret
            .0
            .ok_or_else(|| de::Error::custom("the secret (`token`) is missing"))?;
        Ok(NewApiToken::new(details, token))
    }
}

impl Serialize for NewApiToken {
    /// As [`ApiToken`]: the secret is left out. See
    /// [`NewApiToken::with_secret`].
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.details.serialize(s)
    }
}

impl Serialize for crate::token::WithSecret<'_, NewApiToken> {
    /// Mailtrap's answer to a create, `token` included.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use secrecy::ExposeSecret;
        #[derive(Serialize)]
        struct Out<'a> {
            #[serde(flatten)]
            details: &'a ApiToken,
            token: &'a str,
        }
        Out {
            details: &self.0.details,
            token: self.0.token.expose_secret(),
        }
        .serialize(s)
    }
}

/// `resources`: a list, or left out (with `#[serde(default)]`, no
/// permission listed). An explicit `null`, which the contract does not
/// allow there, is refused by name rather than read as no permission.
fn permission_list<'de, D>(deserializer: D) -> Result<Vec<Permission>, D::Error>
where
    D: Deserializer<'de>,
{
    crate::json::not_null(deserializer, "resources")
}

/// When a token expires.
///
/// ```
/// use api_tokens::mailtrap::Expiry;
/// use chrono::{Duration, Utc};
///
/// let default = Expiry::default();              // the service's default lifetime
/// assert_eq!(default, Expiry::ServerDefault);
/// let never = Expiry::Never;                    // sent as `null`
/// let in_90_days = Expiry::At(Utc::now() + Duration::days(90));
/// # let _ = (never, in_90_days);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Expiry {
    /// The service's default lifetime: `expires_at` is left out.
    #[default]
    ServerDefault,
    /// Never expires: `expires_at` is sent as `null`.
    Never,
    /// Expires at this moment, which must be in the future and at most 5
    /// years ahead.
    At(DateTime<Utc>),
}

/// How far ahead an expiry may lie.
pub const MAX_LIFETIME_MONTHS: u32 = 60;

impl Expiry {
    fn is_server_default(&self) -> bool {
        matches!(self, Expiry::ServerDefault)
    }

    /// Refuses a moment that is not in the future or lies more than 5 years
    /// after `now`.
    pub(crate) fn check(&self, now: DateTime<Utc>) -> Result<()> {
        let Expiry::At(at) = self else {
            return Ok(());
        };
        let shown = at.to_rfc3339_opts(SecondsFormat::AutoSi, true);
        if *at <= now {
            return Err(Error::invalid(
                "expires_at",
                format!(
                    "{shown} is not in the future; give a moment after now and at most 5 years ahead, \
                     Expiry::Never or Expiry::ServerDefault"
                ),
            ));
        }
        let limit = now.checked_add_months(Months::new(MAX_LIFETIME_MONTHS));
        if limit.is_none_or(|limit| *at > limit) {
            return Err(Error::invalid(
                "expires_at",
                format!(
                    "{shown} is more than 5 years ahead; Mailtrap accepts at most 5 years, \
                     or Expiry::Never for a token that does not expire"
                ),
            ));
        }
        Ok(())
    }

    /// The `expires_at` member: `None` to leave it out, `Some(None)` for
    /// `null`.
    pub(crate) fn wire(&self) -> Option<Option<String>> {
        match self {
            Expiry::ServerDefault => None,
            Expiry::Never => Some(None),
            Expiry::At(at) => Some(Some(at.to_rfc3339_opts(SecondsFormat::AutoSi, true))),
        }
    }
}

/// The longest name Mailtrap accepts, in characters.
pub const MAX_NAME_CHARS: usize = 255;

/// What to create: a name, one or more permissions and an expiry.
///
/// ```
/// use api_tokens::mailtrap::{AccessLevel, CreateApiToken, Expiry, ResourceType};
///
/// let request = CreateApiToken::new("CI deploy")
///     .permission(ResourceType::Account, 3229, AccessLevel::Admin)
///     .permission(ResourceType::Domain, "d-1f2e", AccessLevel::Viewer)
///     .expires(Expiry::Never);
/// assert_eq!(request.permissions().len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct CreateApiToken {
    name: String,
    #[serde(rename = "resources")]
    permissions: Vec<Permission>,
    #[serde(
        rename = "expires_at",
        default,
        skip_serializing_if = "Expiry::is_server_default"
    )]
    expiry: Expiry,
}

crate::json::object_only!(CreateApiToken);

impl Serialize for Expiry {
    /// `null` for [`Expiry::Never`], an RFC 3339 moment for
    /// [`Expiry::At`], and the word `"default"` for
    /// [`Expiry::ServerDefault`] (which a request leaves out).
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Expiry::ServerDefault => s.serialize_str("default"),
            Expiry::Never => s.serialize_none(),
            Expiry::At(at) => s.collect_str(&at.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        }
    }
}

impl<'de> Deserialize<'de> for Expiry {
    /// As written by `Serialize`; a missing member is
    /// [`Expiry::ServerDefault`].
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Option::<std::borrow::Cow<'de, str>>::deserialize(d)? {
            None => Ok(Expiry::Never),
            Some(s) if s == "default" => Ok(Expiry::ServerDefault),
            Some(s) => s
                .parse::<DateTime<Utc>>()
                .map(Expiry::At)
                .map_err(de::Error::custom),
        }
    }
}

impl CreateApiToken {
    /// A request for a token with this display name (1 to 255 characters),
    /// no permission yet (add at least one) and the service's default
    /// lifetime.
    pub fn new(name: impl Into<String>) -> Self {
        CreateApiToken {
            name: name.into(),
            permissions: Vec::new(),
            expiry: Expiry::ServerDefault,
        }
    }

    /// Adds a permission: `access_level` on the resource `resource_id` of
    /// kind `resource_type`.
    pub fn permission(
        mut self,
        resource_type: impl Into<ResourceType>,
        resource_id: impl Into<ResourceId>,
        access_level: impl Into<AccessLevel>,
    ) -> Self {
        self.permissions
            .push(Permission::new(resource_type, resource_id, access_level));
        self
    }

    /// Another name (the exactly-once create tags it with a marker).
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Adds permissions made beforehand.
    pub fn permissions_from(mut self, permissions: impl IntoIterator<Item = Permission>) -> Self {
        self.permissions.extend(permissions);
        self
    }

    /// When the token expires (default: [`Expiry::ServerDefault`]).
    pub fn expires(mut self, expiry: Expiry) -> Self {
        self.expiry = expiry;
        self
    }

    /// The display name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The permissions so far.
    pub fn permissions(&self) -> &[Permission] {
        &self.permissions
    }

    /// The expiry.
    pub fn expiry(&self) -> Expiry {
        self.expiry
    }

    /// Refuses what the service would refuse: an empty, blank or over-long
    /// name, no permission, an expiry in the past or beyond 5 years.
    pub(crate) fn check(&self, now: DateTime<Utc>) -> Result<()> {
        check_name(&self.name)?;
        if self.permissions.is_empty() {
            return Err(Error::invalid(
                "permissions",
                "a token needs at least one permission; add one with \
                 .permission(ResourceType::Account, account_id, AccessLevel::Viewer)",
            ));
        }
        self.expiry.check(now)
    }

    /// The JSON body, in the shape `Serialize` writes.
    pub(crate) fn body(&self) -> Result<Vec<u8>> {
        to_json(self)
    }
}

/// The JSON body of a reset, or `None` to send no body (server default).
pub(crate) fn reset_body(expiry: Expiry) -> Result<Option<Vec<u8>>> {
    #[derive(Serialize)]
    struct Body {
        expires_at: Option<String>,
    }
    match expiry.wire() {
        None => Ok(None),
        Some(expires_at) => to_json(&Body { expires_at }).map(Some),
    }
}

fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    // Strings, numbers and nulls under string keys always serialize; the
    // error arm is kept so that no panic is possible.
    serde_json::to_vec(value)
        .map_err(|e| Error::invalid("request", format!("the body could not be encoded: {e}")))
}

fn check_name(name: &str) -> Result<()> {
    let chars = name.chars().count();
    if name.trim().is_empty() {
        return Err(Error::invalid(
            "name",
            "the name is empty or blank; give 1 to 255 characters",
        ));
    }
    if chars > MAX_NAME_CHARS {
        return Err(Error::invalid(
            "name",
            format!("the name has {chars} characters; at most {MAX_NAME_CHARS} are accepted"),
        ));
    }
    Ok(())
}

/// Refuses 0 and ids above `i64::MAX`.
pub(crate) fn check_id(field: &'static str, id: u64) -> Result<()> {
    if id == 0 {
        return Err(Error::invalid(
            field,
            "0 is not an id; Mailtrap's ids are positive integers (e.g. 3229)",
        ));
    }
    check_id_range(field, id)
}

/// Refuses an id above `i64::MAX`: Mailtrap's ids are signed 64-bit
/// integers, so a larger one names nothing and is refused by the service.
pub(crate) fn check_id_range(field: &'static str, id: u64) -> Result<()> {
    if id > i64::MAX as u64 {
        return Err(Error::invalid(
            field,
            format!(
                "{id} is not an id; Mailtrap's ids are positive integers up to {} \
                 (a signed 64-bit integer)",
                i64::MAX
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    #[test]
    fn expiry_limits() {
        let now = Utc.with_ymd_and_hms(2026, 2, 28, 12, 0, 0).unwrap();
        assert!(Expiry::At(now + Duration::seconds(1)).check(now).is_ok());
        assert!(Expiry::At(now).check(now).is_err());
        let five_years = Utc.with_ymd_and_hms(2031, 2, 28, 12, 0, 0).unwrap();
        assert!(Expiry::At(five_years).check(now).is_ok());
        assert!(
            Expiry::At(five_years + Duration::seconds(1))
                .check(now)
                .is_err()
        );
        assert!(Expiry::Never.check(now).is_ok());
        assert!(Expiry::ServerDefault.check(now).is_ok());
    }

    #[test]
    fn expiry_on_the_wire() {
        let at = Utc.with_ymd_and_hms(2027, 1, 2, 3, 4, 5).unwrap();
        assert_eq!(Expiry::ServerDefault.wire(), None);
        assert_eq!(Expiry::Never.wire(), Some(None));
        assert_eq!(
            Expiry::At(at).wire(),
            Some(Some("2027-01-02T03:04:05Z".to_owned()))
        );
        assert_eq!(reset_body(Expiry::ServerDefault).unwrap(), None);
        assert_eq!(
            reset_body(Expiry::Never).unwrap().unwrap(),
            br#"{"expires_at":null}"#
        );
    }

    #[test]
    fn names_are_counted_in_characters() {
        assert!(check_name(&"é".repeat(255)).is_ok());
        assert!(check_name(&"é".repeat(256)).is_err());
        assert!(check_name("").is_err());
        assert!(check_name(" \t").is_err());
    }
}
