//! The typed shapes of Mailtrap's account API tokens: what is sent and what
//! comes back.

use std::fmt;

use chrono::{DateTime, Months, SecondsFormat, Utc};
use secrecy::SecretString;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::error::{Error, Result};

/// The id of an API token (a positive integer).
///
/// ```
/// use api_tokens::mailtrap::TokenId;
///
/// let id = TokenId::from(12345);
/// assert_eq!(id.get(), 12345);
/// assert_eq!(id.to_string(), "12345");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TokenId(u64);

impl TokenId {
    /// A token id. `0` and ids above `i64::MAX` are not valid; calls
    /// refuse them before sending.
    pub const fn new(id: u64) -> Self {
        TokenId(id)
    }

    /// The number.
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl From<u64> for TokenId {
    fn from(id: u64) -> Self {
        TokenId(id)
    }
}

impl From<TokenId> for u64 {
    fn from(id: TokenId) -> Self {
        id.0
    }
}

impl fmt::Display for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// The kind of resource a permission applies to.
///
/// The set has changed over time (`inbox` became `sandbox`, `sending_domain`
/// became `domain`) and may change again: a value this crate does not know
/// is kept in [`ResourceType::Other`], never refused.
///
/// ```
/// use api_tokens::mailtrap::ResourceType;
///
/// assert_eq!(ResourceType::from("sandbox"), ResourceType::Sandbox);
/// assert_eq!(ResourceType::from("billing"), ResourceType::Other("billing".into()));
/// assert_eq!(ResourceType::SendingDomain.as_str(), "sending_domain");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ResourceType {
    /// `account`: the whole account.
    Account,
    /// `project`: a project of sandboxes.
    Project,
    /// `sandbox`: one sandbox (formerly `inbox`).
    Sandbox,
    /// `domain`: one sending domain (formerly `sending_domain`).
    Domain,
    /// `inbox`: the older name of a sandbox, still found on older tokens.
    Inbox,
    /// `sending_domain`: the older name of a domain, still found on older
    /// tokens.
    SendingDomain,
    /// A value this crate does not know, kept as given.
    Other(String),
}

impl ResourceType {
    /// The wire name (`account`, `project`, …).
    pub fn as_str(&self) -> &str {
        match self {
            ResourceType::Account => "account",
            ResourceType::Project => "project",
            ResourceType::Sandbox => "sandbox",
            ResourceType::Domain => "domain",
            ResourceType::Inbox => "inbox",
            ResourceType::SendingDomain => "sending_domain",
            ResourceType::Other(other) => other,
        }
    }
}

impl From<&str> for ResourceType {
    fn from(value: &str) -> Self {
        match value {
            "account" => ResourceType::Account,
            "project" => ResourceType::Project,
            "sandbox" => ResourceType::Sandbox,
            "domain" => ResourceType::Domain,
            "inbox" => ResourceType::Inbox,
            "sending_domain" => ResourceType::SendingDomain,
            other => ResourceType::Other(other.to_owned()),
        }
    }
}

impl From<String> for ResourceType {
    fn from(value: String) -> Self {
        match ResourceType::from(value.as_str()) {
            ResourceType::Other(_) => ResourceType::Other(value),
            known => known,
        }
    }
}

impl fmt::Display for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ResourceType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ResourceType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(ResourceType::from)
    }
}

/// How much a permission allows: Mailtrap sends it as a number.
///
/// ```
/// use api_tokens::mailtrap::AccessLevel;
///
/// assert_eq!(AccessLevel::from(100), AccessLevel::Admin);
/// assert_eq!(AccessLevel::Viewer.code(), 10);
/// assert_eq!(AccessLevel::from(50), AccessLevel::Other(50));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum AccessLevel {
    /// `10`: read only.
    Viewer,
    /// `100`: full access.
    Admin,
    /// A level this crate does not know, kept as given.
    Other(u16),
}

impl AccessLevel {
    /// The wire number (`10`, `100`, …).
    pub fn code(self) -> u16 {
        match self {
            AccessLevel::Viewer => 10,
            AccessLevel::Admin => 100,
            AccessLevel::Other(code) => code,
        }
    }
}

impl From<u16> for AccessLevel {
    fn from(code: u16) -> Self {
        match code {
            10 => AccessLevel::Viewer,
            100 => AccessLevel::Admin,
            other => AccessLevel::Other(other),
        }
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
        serializer.serialize_u16(self.code())
    }
}

impl<'de> Deserialize<'de> for AccessLevel {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        u16::deserialize(deserializer).map(AccessLevel::from)
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
/// Fields the service may leave out decode as `None` or empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    #[serde(rename = "resources", default, deserialize_with = "null_as_empty")]
    pub permissions: Vec<Permission>,
}

impl fmt::Display for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        describe(
            f,
            self.id,
            &self.name,
            self.last_four.as_deref(),
            self.expires_at,
        )
    }
}

/// A token just made by a create or a reset, with its secret.
///
/// The secret is shown this once; store it now. It is a [`SecretString`]:
/// `Debug` prints `[REDACTED]`, `Display` leaves it out, and only
/// [`ExposeSecret::expose_secret`](secrecy::ExposeSecret::expose_secret)
/// gives the value.
///
/// ```
/// # fn f(new: api_tokens::mailtrap::NewApiToken) {
/// use api_tokens::secrecy::ExposeSecret;
///
/// let value: &str = new.token.expose_secret();
/// println!("{new}"); // name, id and last four characters only
/// # let _ = value;
/// # }
/// ```
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct NewApiToken {
    /// The token's id (a reset gives a new one).
    pub id: TokenId,
    /// Its display name.
    pub name: String,
    /// The last four characters of the secret.
    #[serde(rename = "last_4_digits", default)]
    pub last_four: Option<String>,
    /// Who created it.
    #[serde(default)]
    pub created_by: Option<String>,
    /// When it expires; `None` when it never does.
    #[serde(default, deserialize_with = "crate::time::option_utc")]
    pub expires_at: Option<DateTime<Utc>>,
    /// What it may do (wire: `resources`).
    #[serde(rename = "resources", default, deserialize_with = "null_as_empty")]
    pub permissions: Vec<Permission>,
    /// The secret itself. Always present: an answer without it is a
    /// [`Error::Decode`].
    #[serde(deserialize_with = "secret")]
    pub token: SecretString,
}

impl NewApiToken {
    /// The token without its secret, as [`list`](super::ApiTokens::list) and
    /// [`get`](super::ApiTokens::get) show it.
    pub fn without_secret(&self) -> ApiToken {
        ApiToken {
            id: self.id,
            name: self.name.clone(),
            last_four: self.last_four.clone(),
            created_by: self.created_by.clone(),
            expires_at: self.expires_at,
            permissions: self.permissions.clone(),
        }
    }

    /// Splits into the token's details and its secret.
    pub fn into_parts(self) -> (ApiToken, SecretString) {
        let details = ApiToken {
            id: self.id,
            name: self.name,
            last_four: self.last_four,
            created_by: self.created_by,
            expires_at: self.expires_at,
            permissions: self.permissions,
        };
        (details, self.token)
    }
}

impl fmt::Display for NewApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        describe(
            f,
            self.id,
            &self.name,
            self.last_four.as_deref(),
            self.expires_at,
        )
    }
}

fn describe(
    f: &mut fmt::Formatter<'_>,
    id: TokenId,
    name: &str,
    last_four: Option<&str>,
    expires_at: Option<DateTime<Utc>>,
) -> fmt::Result {
    write!(f, "API token {id} {name:?}")?;
    if let Some(last) = last_four {
        write!(f, " (…{last})")?;
    }
    match expires_at {
        Some(at) => write!(
            f,
            ", expires {}",
            at.to_rfc3339_opts(SecondsFormat::Secs, true)
        ),
        None => Ok(()),
    }
}

fn secret<'de, D: Deserializer<'de>>(deserializer: D) -> Result<SecretString, D::Error> {
    String::deserialize(deserializer).map(SecretString::from)
}

fn null_as_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<Vec<T>>::deserialize(deserializer).map(Option::unwrap_or_default)
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateApiToken {
    name: String,
    permissions: Vec<Permission>,
    expiry: Expiry,
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

    /// The JSON body.
    pub(crate) fn body(&self) -> Result<Vec<u8>> {
        #[derive(Serialize)]
        struct Body<'a> {
            name: &'a str,
            resources: &'a [Permission],
            #[serde(skip_serializing_if = "Option::is_none")]
            expires_at: Option<Option<String>>,
        }
        to_json(&Body {
            name: &self.name,
            resources: &self.permissions,
            expires_at: self.expiry.wire(),
        })
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

/// Refuses id 0.
pub(crate) fn check_token_id(id: TokenId) -> Result<()> {
    if id.get() == 0 {
        return Err(Error::invalid(
            "token_id",
            "0 is not a token id; ids are positive integers",
        ));
    }
    check_id_range("token_id", id.get())
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
    fn enums_round_trip_and_keep_unknown_values() {
        for name in [
            "account",
            "project",
            "sandbox",
            "domain",
            "inbox",
            "sending_domain",
            "mailbox",
        ] {
            let t: ResourceType = serde_json::from_str(&format!("\"{name}\"")).unwrap();
            assert_eq!(t.as_str(), name);
            assert_eq!(serde_json::to_string(&t).unwrap(), format!("\"{name}\""));
        }
        assert_eq!(
            ResourceType::from(String::from("mailbox")),
            ResourceType::Other("mailbox".into())
        );
        let l: AccessLevel = serde_json::from_str("50").unwrap();
        assert_eq!(l, AccessLevel::Other(50));
        assert_eq!(serde_json::to_string(&AccessLevel::Admin).unwrap(), "100");
    }

    #[test]
    fn resource_ids_keep_their_json_type() {
        let p: Permission = serde_json::from_str(
            r#"{"resource_type":"domain","resource_id":"abc","access_level":10}"#,
        )
        .unwrap();
        assert_eq!(p.resource_id, ResourceId::Str("abc".into()));
        assert_eq!(
            serde_json::to_value(Permission::new("account", 7, AccessLevel::Viewer)).unwrap(),
            serde_json::json!({"resource_type":"account","resource_id":7,"access_level":10})
        );
        assert!(serde_json::from_str::<ResourceId>("-4").is_err());
        assert!(serde_json::from_str::<ResourceId>("1.5").is_err());
    }

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
