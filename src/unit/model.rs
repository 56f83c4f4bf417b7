//! The typed values of Unit's Org API tokens: ids, scopes, the create
//! request, and the two token types (with and without the secret).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Utc};
use secrecy::SecretString;

use crate::error::{Error, Result};

/// Whether `s` is an id as Unit writes them: a positive integer in decimal,
/// without sign, spaces or leading zeros (`^[1-9][0-9]*$`).
pub(crate) fn is_identifier(s: &str) -> bool {
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b'1'..=b'9')) && bytes.all(|b| b.is_ascii_digit())
}

/// Checks one id before it is put in a path or a body.
fn check_identifier(field: &'static str, what: &str, value: &str) -> Result<()> {
    if is_identifier(value) {
        Ok(())
    } else if value.is_empty() {
        Err(Error::invalid(
            field,
            format!("the {what} is empty; Unit ids are positive integers such as `2`"),
        ))
    } else {
        Err(Error::invalid(
            field,
            format!(
                "`{}` is not a valid {what}; Unit ids are positive integers written in digits \
                 without sign, spaces or leading zeros (such as `2`)",
                value.escape_debug()
            ),
        ))
    }
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident, $field:literal, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The id as Unit writes it.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Refuses an id that is not a positive integer.
            pub(crate) fn validate(&self) -> Result<&str> {
                check_identifier($field, $what, &self.0).map(|()| self.0.as_str())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<u64> for $name {
            fn from(id: u64) -> Self {
                $name(id.to_string())
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                $name(id.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                $name(id)
            }
        }

        impl From<&$name> for $name {
            fn from(id: &$name) -> Self {
                id.clone()
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

string_id!(
    /// The id of a Unit user, the owner of Org API tokens.
    ///
    /// Made from a number or a string; it is checked (a positive integer) on
    /// every call, before anything is sent.
    ///
    /// ```
    /// use api_tokens::unit::UserId;
    ///
    /// assert_eq!(UserId::from(2).as_str(), "2");
    /// assert_eq!(UserId::from("2"), UserId::from(2));
    /// ```
    UserId,
    "user_id",
    "user id"
);

string_id!(
    /// The id of an Org API token. JSON:API ids are strings; Unit's are
    /// positive integers, which is checked before a revoke is sent.
    ///
    /// ```
    /// use api_tokens::unit::TokenId;
    ///
    /// let id = TokenId::from("19");
    /// assert_eq!(id, "19");
    /// assert_eq!(id.to_string(), "19");
    /// ```
    TokenId,
    "token_id",
    "token id"
);

macro_rules! scopes {
    ($($(#[$doc:meta])* $variant:ident => $wire:literal,)+) => {
        /// A permission an Org API token is granted, as Unit documents them
        /// (see Unit's "Scopes" documentation).
        ///
        /// Scopes Unit adds later are written with [`Scope::Other`]; on the
        /// wire they are joined with single spaces. A scope is lower-case
        /// letters and dashes; anything else is refused before sending.
        ///
        /// ```
        /// use api_tokens::unit::Scope;
        ///
        /// let s: Scope = "cards-write".parse().unwrap();
        /// assert_eq!(s, Scope::CardsWrite);
        /// assert_eq!(Scope::PaymentsWriteAchDebit.as_str(), "payments-write-ach-debit");
        /// assert_eq!("loans".parse::<Scope>().unwrap(), Scope::Other("loans".into()));
        /// assert!("Cards Write".parse::<Scope>().is_err());
        /// ```
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Scope {
            $($(#[$doc])* $variant,)+
            /// A scope this version of the crate does not know by name.
            Other(String),
        }

        impl Scope {
            /// Every scope this version knows by name, in Unit's order.
            pub const KNOWN: &'static [Scope] = &[$(Scope::$variant,)+];

            /// The scope as Unit writes it.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Scope::$variant => $wire,)+
                    Scope::Other(s) => s,
                }
            }

            /// The known scope of that name, or `Other`, without checking it.
            fn from_wire(s: &str) -> Scope {
                match s {
                    $($wire => Scope::$variant,)+
                    other => Scope::Other(other.to_owned()),
                }
            }
        }
    };
}

scopes! {
    /// Read applications.
    Applications => "applications",
    /// Create and update applications.
    ApplicationsWrite => "applications-write",
    /// Read customer tokens.
    CustomerToken => "customer-token",
    /// Create customer tokens.
    CustomerTokenWrite => "customer-token-write",
    /// Read customers.
    Customers => "customers",
    /// Update customers.
    CustomersWrite => "customers-write",
    /// Update customers' tags.
    CustomerTagsWrite => "customer-tags-write",
    /// Read accounts.
    Accounts => "accounts",
    /// Create, update and close accounts.
    AccountsWrite => "accounts-write",
    /// Read cards.
    Cards => "cards",
    /// Create and update cards.
    CardsWrite => "cards-write",
    /// Read sensitive card data (full number, CVV).
    CardsSensitive => "cards-sensitive",
    /// Change sensitive card data (PIN).
    CardsSensitiveWrite => "cards-sensitive-write",
    /// Read transactions.
    Transactions => "transactions",
    /// Update transactions.
    TransactionsWrite => "transactions-write",
    /// Read card authorizations.
    Authorizations => "authorizations",
    /// Read statements and tax forms.
    Statements => "statements",
    /// Read payments.
    Payments => "payments",
    /// Create payments.
    PaymentsWrite => "payments-write",
    /// Create payments to counterparties.
    PaymentsWriteCounterparty => "payments-write-counterparty",
    /// Create payments to linked accounts.
    PaymentsWriteLinkedAccount => "payments-write-linked-account",
    /// Create ACH debit payments.
    PaymentsWriteAchDebit => "payments-write-ach-debit",
    /// Create ACH payments.
    AchPaymentsWrite => "ach-payments-write",
    /// Create wire payments.
    WirePaymentsWrite => "wire-payments-write",
    /// Read counterparties.
    Counterparties => "counterparties",
    /// Create and update counterparties.
    CounterpartiesWrite => "counterparties-write",
    /// Read events.
    Events => "events",
    /// Fire events again.
    EventsWrite => "events-write",
    /// Read webhooks.
    Webhooks => "webhooks",
    /// Create and update webhooks.
    WebhooksWrite => "webhooks-write",
    /// Read authorization requests.
    AuthorizationRequests => "authorization-requests",
    /// Approve and decline authorization requests.
    AuthorizationRequestsWrite => "authorization-requests-write",
    /// Read batch releases.
    BatchReleases => "batch-releases",
    /// Create batch releases.
    BatchReleasesWrite => "batch-releases-write",
    /// Read check deposits.
    CheckDeposits => "check-deposits",
    /// Create check deposits.
    CheckDepositsWrite => "check-deposits-write",
    /// Read check payments.
    CheckPayments => "check-payments",
    /// Create check payments.
    CheckPaymentsWrite => "check-payments-write",
    /// Read received payments.
    ReceivedPayments => "received-payments",
    /// Update received payments.
    ReceivedPaymentsWrite => "received-payments-write",
    /// Read chargebacks.
    Chargebacks => "chargebacks",
    /// Create chargebacks.
    ChargebacksWrite => "chargebacks-write",
    /// Read rewards.
    Rewards => "rewards",
    /// Create rewards.
    RewardsWrite => "rewards-write",
    /// Read wire drawdowns.
    WireDrawdowns => "wire-drawdowns",
    /// Create wire drawdowns.
    WireDrawdownsWrite => "wire-drawdowns-write",
    /// Read repayments.
    Repayments => "repayments",
    /// Create repayments.
    RepaymentsWrite => "repayments-write",
}

/// Whether `s` can be sent as one scope: lower-case ASCII letters and
/// dashes, not empty (the contract's `^[a-z-]+( [a-z-]+)*$` per item).
fn is_scope_word(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
}

impl Scope {
    /// Refuses a scope that could not be sent as one word of `scope`.
    pub(crate) fn validate(&self) -> Result<&str> {
        let s = self.as_str();
        if is_scope_word(s) {
            Ok(s)
        } else {
            Err(Error::invalid(
                "scope",
                format!(
                    "`{}` is not a scope; a scope is lower-case letters and dashes \
                     (such as `customers` or `cards-write`)",
                    s.escape_debug()
                ),
            ))
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = Error;

    /// The known scope of that name, or [`Scope::Other`]; refuses a string
    /// that is not lower-case letters and dashes.
    fn from_str(s: &str) -> Result<Self> {
        let scope = Scope::from_wire(s);
        scope.validate()?;
        Ok(scope)
    }
}

/// What a token may be restricted to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResourceType {
    /// Cards (`card`).
    Card,
    /// Accounts, with the cards, payments and transactions under them
    /// (`account`).
    Account,
    /// A resource type this version of the crate does not know by name.
    Other(String),
}

impl ResourceType {
    /// The type as Unit writes it.
    pub fn as_str(&self) -> &str {
        match self {
            ResourceType::Card => "card",
            ResourceType::Account => "account",
            ResourceType::Other(s) => s,
        }
    }
}

impl fmt::Display for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ResourceType {
    type Err = Error;

    /// `card`, `account`, or [`ResourceType::Other`] for any other word of
    /// ASCII letters.
    fn from_str(s: &str) -> Result<Self> {
        let kind = match s {
            "card" => ResourceType::Card,
            "account" => ResourceType::Account,
            other => ResourceType::Other(other.to_owned()),
        };
        kind.validate()?;
        Ok(kind)
    }
}

impl ResourceType {
    fn validate(&self) -> Result<&str> {
        let s = self.as_str();
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphabetic()) {
            Ok(s)
        } else {
            Err(Error::invalid(
                "resources",
                format!(
                    "`{}` is not a resource type; use `card` or `account`",
                    s.escape_debug()
                ),
            ))
        }
    }
}

/// A restriction of a token to some cards or some accounts.
///
/// ```
/// use api_tokens::unit::{ResourceRestriction, ResourceType};
///
/// let cards = ResourceRestriction::cards(["1", "2"]);
/// assert_eq!(cards.kind(), &ResourceType::Card);
/// assert_eq!(cards.ids(), ["1", "2"]);
/// let accounts = ResourceRestriction::accounts([10005_u64]);
/// assert_eq!(accounts.ids(), ["10005"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResourceRestriction {
    kind: ResourceType,
    ids: Vec<String>,
}

impl ResourceRestriction {
    /// A restriction to these resources of that type. The ids must be
    /// positive integers and there must be at least one; both are checked
    /// before sending.
    pub fn new<I>(kind: ResourceType, ids: I) -> Self
    where
        I: IntoIterator,
        I::Item: fmt::Display,
    {
        ResourceRestriction {
            kind,
            ids: ids.into_iter().map(|id| id.to_string()).collect(),
        }
    }

    /// A restriction to these cards.
    pub fn cards<I>(ids: I) -> Self
    where
        I: IntoIterator,
        I::Item: fmt::Display,
    {
        Self::new(ResourceType::Card, ids)
    }

    /// A restriction to these accounts (and the cards, payments and
    /// transactions under them).
    pub fn accounts<I>(ids: I) -> Self
    where
        I: IntoIterator,
        I::Item: fmt::Display,
    {
        Self::new(ResourceType::Account, ids)
    }

    /// The type of the resources.
    pub fn kind(&self) -> &ResourceType {
        &self.kind
    }

    /// The ids of the resources.
    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    pub(crate) fn validate(&self) -> Result<()> {
        let kind = self.kind.validate()?;
        if self.ids.is_empty() {
            return Err(Error::invalid(
                "resources",
                format!(
                    "the `{kind}` restriction has no ids; give at least one {kind} id, \
                     or leave the restriction out"
                ),
            ));
        }
        for id in &self.ids {
            check_identifier("resources", &format!("{kind} id"), id)?;
        }
        Ok(())
    }
}

/// What to create: a description, one or more scopes, an expiration in the
/// future, and optionally the IP addresses allowed to use the token and the
/// resources it is restricted to.
///
/// Everything is checked by [`create`](super::OrgApiTokens::create) before
/// anything is sent.
///
/// ```
/// use api_tokens::unit::{CreateApiToken, ResourceRestriction, Scope};
/// use chrono::{Duration, Utc};
///
/// let request = CreateApiToken::new(
///     "CI deploy",
///     [Scope::Customers, Scope::Applications],
///     Utc::now() + Duration::days(30),
/// )
/// .source_ips(["192.168.1.1".parse().unwrap(), "2001:db8::1".parse().unwrap()])
/// .resources([ResourceRestriction::accounts(["10005"])]);
/// assert_eq!(request.scopes().len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateApiToken {
    description: String,
    scopes: Vec<Scope>,
    expiration: DateTime<Utc>,
    source_ips: Vec<IpAddr>,
    resources: Option<Vec<ResourceRestriction>>,
}

impl CreateApiToken {
    /// A token with this description and these scopes, valid until
    /// `expiration`.
    pub fn new(
        description: impl Into<String>,
        scopes: impl IntoIterator<Item = Scope>,
        expiration: DateTime<Utc>,
    ) -> Self {
        CreateApiToken {
            description: description.into(),
            scopes: scopes.into_iter().collect(),
            expiration,
            source_ips: Vec::new(),
            resources: None,
        }
    }

    /// One more scope.
    pub fn scope(mut self, scope: Scope) -> Self {
        self.scopes.push(scope);
        self
    }

    /// Only requests from these addresses may use the token (added to any
    /// given before). Without any, every address may.
    pub fn source_ips(mut self, ips: impl IntoIterator<Item = IpAddr>) -> Self {
        self.source_ips.extend(ips);
        self
    }

    /// One more address that may use the token.
    pub fn source_ip(mut self, ip: IpAddr) -> Self {
        self.source_ips.push(ip);
        self
    }

    /// Restricts the token to these cards or accounts (added to any given
    /// before). An empty list is refused before sending: leave the call out
    /// for an unrestricted token.
    pub fn resources(mut self, resources: impl IntoIterator<Item = ResourceRestriction>) -> Self {
        self.resources
            .get_or_insert_with(Vec::new)
            .extend(resources);
        self
    }

    /// The description.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The scopes, in the order given.
    pub fn scopes(&self) -> &[Scope] {
        &self.scopes
    }

    /// The expiration.
    pub fn expiration(&self) -> DateTime<Utc> {
        self.expiration
    }

    /// The addresses that may use the token (empty: any).
    pub fn allowed_ips(&self) -> &[IpAddr] {
        &self.source_ips
    }

    /// The resource restrictions, if any were given.
    pub fn restrictions(&self) -> Option<&[ResourceRestriction]> {
        self.resources.as_deref()
    }

    /// Checks every field against `now` and gives the wire attributes.
    pub(crate) fn to_wire(&self, now: DateTime<Utc>) -> Result<WireAttributes> {
        if self.description.trim().is_empty() {
            return Err(Error::invalid(
                "description",
                "the description is empty; give a short text that says what the token is for",
            ));
        }
        if self.scopes.is_empty() {
            return Err(Error::invalid(
                "scope",
                "no scope was given; a token needs at least one scope (such as `Scope::Customers`)",
            ));
        }
        let mut words: Vec<&str> = Vec::with_capacity(self.scopes.len());
        for scope in &self.scopes {
            let word = scope.validate()?;
            if !words.contains(&word) {
                words.push(word);
            }
        }
        if self.expiration <= now {
            return Err(Error::invalid(
                "expiration",
                format!(
                    "{} is not in the future; give a UTC time after now",
                    format_expiration(self.expiration)
                ),
            ));
        }
        if self.expiration.year() > 9999 {
            return Err(Error::invalid(
                "expiration",
                "the year must have four digits (before 10000)",
            ));
        }
        let source_ip = (!self.source_ips.is_empty()).then(|| {
            let mut seen: Vec<IpAddr> = Vec::with_capacity(self.source_ips.len());
            for ip in &self.source_ips {
                if !seen.contains(ip) {
                    seen.push(*ip);
                }
            }
            seen.iter()
                .map(IpAddr::to_string)
                .collect::<Vec<_>>()
                .join(",")
        });
        let resources = match &self.resources {
            None => None,
            Some(list) if list.is_empty() => {
                return Err(Error::invalid(
                    "resources",
                    "the list of resources is empty; give at least one card or account \
                     restriction, or leave resources out for an unrestricted token",
                ));
            }
            Some(list) => {
                let mut out = Vec::with_capacity(list.len());
                for r in list {
                    r.validate()?;
                    out.push(WireResource {
                        kind: r.kind.as_str().to_owned(),
                        ids: r.ids.clone(),
                    });
                }
                Some(out)
            }
        };
        Ok(WireAttributes {
            description: self.description.clone(),
            scope: words.join(" "),
            expiration: format_expiration(self.expiration),
            source_ip,
            resources,
        })
    }
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`, the one shape Unit's live API is known to
/// accept.
pub(crate) fn format_expiration(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// The attributes of a create request, as sent.
#[derive(Debug, serde::Serialize)]
pub(crate) struct WireAttributes {
    pub description: String,
    pub scope: String,
    pub expiration: String,
    #[serde(rename = "sourceIp", skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<WireResource>>,
}

#[derive(Debug, serde::Serialize)]
pub(crate) struct WireResource {
    #[serde(rename = "type")]
    pub kind: String,
    pub ids: Vec<String>,
}

/// One address of a token's `sourceIp` list.
///
/// A value that is not an IP address (a CIDR range, a host name, something
/// new) is kept as given rather than failing the whole answer.
///
/// ```
/// use api_tokens::unit::SourceIp;
///
/// let ips = SourceIp::parse_list("192.168.1.1, 10.0.0.0/8");
/// assert_eq!(ips[0], SourceIp::Addr("192.168.1.1".parse().unwrap()));
/// assert_eq!(ips[1], SourceIp::Unparsed("10.0.0.0/8".into()));
/// assert_eq!(ips[1].to_string(), "10.0.0.0/8");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SourceIp {
    /// An IPv4 or IPv6 address.
    Addr(IpAddr),
    /// A value that is not an IP address, as the service wrote it.
    Unparsed(String),
}

impl SourceIp {
    /// The address, when it is one.
    pub fn addr(&self) -> Option<IpAddr> {
        match self {
            SourceIp::Addr(ip) => Some(*ip),
            SourceIp::Unparsed(_) => None,
        }
    }

    /// Splits a comma-separated list; blank items are skipped, spaces
    /// around items ignored.
    pub fn parse_list(list: &str) -> Vec<SourceIp> {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| match s.parse::<IpAddr>() {
                Ok(ip) => SourceIp::Addr(ip),
                Err(_) => SourceIp::Unparsed(s.to_owned()),
            })
            .collect()
    }
}

impl fmt::Display for SourceIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceIp::Addr(ip) => ip.fmt(f),
            SourceIp::Unparsed(s) => f.write_str(s),
        }
    }
}

/// An Org API token as listed: everything but the secret, which Unit
/// shows only once, when the token is created.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiToken {
    /// The token's id, for [`revoke`](super::OrgApiTokens::revoke).
    pub id: TokenId,
    /// What the token is for, when it has a description.
    pub description: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it stops working, if it does.
    pub expiration: Option<DateTime<Utc>>,
    /// The addresses that may use it (empty: any).
    pub source_ips: Vec<SourceIp>,
}

/// A token just created, with its secret.
///
/// The secret is a [`SecretString`]: `Debug` shows `[REDACTED]`, and the
/// value is read only with [`ExposeSecret`](secrecy::ExposeSecret). Unit
/// never shows it again; store it now.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NewApiToken {
    /// The token's id, for [`revoke`](super::OrgApiTokens::revoke).
    pub id: TokenId,
    /// What the token is for, as given.
    pub description: Option<String>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it stops working, if it does.
    pub expiration: Option<DateTime<Utc>>,
    /// The addresses that may use it (empty: any).
    pub source_ips: Vec<SourceIp>,
    /// The secret, to send as `Authorization: Bearer …`.
    pub token: SecretString,
}

impl NewApiToken {
    /// The token without its secret, as [`list`](super::OrgApiTokens::list)
    /// would show it.
    pub fn without_secret(&self) -> ApiToken {
        ApiToken {
            id: self.id.clone(),
            description: self.description.clone(),
            created_at: self.created_at,
            expiration: self.expiration,
            source_ips: self.source_ips.clone(),
        }
    }

    /// Splits into the token's details and its secret.
    pub fn into_parts(self) -> (ApiToken, SecretString) {
        let details = ApiToken {
            id: self.id,
            description: self.description,
            created_at: self.created_at,
            expiration: self.expiration,
            source_ips: self.source_ips,
        };
        (details, self.token)
    }
}

/// `token 19 "CI deploy" (created …, expires …, from 192.168.1.1)`.
fn describe_token(
    f: &mut fmt::Formatter<'_>,
    id: &TokenId,
    description: Option<&str>,
    created_at: DateTime<Utc>,
    expiration: Option<DateTime<Utc>>,
    source_ips: &[SourceIp],
) -> fmt::Result {
    write!(f, "token {id}")?;
    if let Some(d) = description {
        write!(f, " {:?}", d)?;
    }
    write!(f, " (created {}", format_expiration(created_at))?;
    match expiration {
        Some(e) => write!(f, ", expires {}", format_expiration(e))?,
        None => f.write_str(", never expires")?,
    }
    if !source_ips.is_empty() {
        let ips: Vec<String> = source_ips.iter().map(SourceIp::to_string).collect();
        write!(f, ", from {}", ips.join(","))?;
    }
    f.write_str(")")
}

impl fmt::Display for ApiToken {
    /// A one-line summary.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        describe_token(
            f,
            &self.id,
            self.description.as_deref(),
            self.created_at,
            self.expiration,
            &self.source_ips,
        )
    }
}

impl fmt::Display for NewApiToken {
    /// A one-line summary, without the secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        describe_token(
            f,
            &self.id,
            self.description.as_deref(),
            self.created_at,
            self.expiration,
            &self.source_ips,
        )?;
        f.write_str(" [secret redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn identifiers() {
        for ok in ["1", "2", "19", "10005", "18446744073709551616"] {
            assert!(is_identifier(ok), "{ok}");
        }
        for bad in ["", "0", "01", "-1", "+1", " 1", "1 ", "1.0", "a", "１"] {
            assert!(!is_identifier(bad), "{bad:?}");
        }
    }

    #[test]
    fn every_known_scope_round_trips() {
        for scope in Scope::KNOWN {
            assert_eq!(scope.as_str().parse::<Scope>().unwrap(), *scope);
            assert!(is_scope_word(scope.as_str()));
        }
        let mut names: Vec<&str> = Scope::KNOWN.iter().map(Scope::as_str).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Scope::KNOWN.len());
    }

    #[test]
    fn expiration_has_millis_and_z() {
        let t = Utc.with_ymd_and_hms(2030, 7, 1, 13, 47, 17).unwrap();
        assert_eq!(format_expiration(t), "2030-07-01T13:47:17.000Z");
        let t = t + chrono::Duration::microseconds(123_987);
        assert_eq!(format_expiration(t), "2030-07-01T13:47:17.123Z");
    }

    #[test]
    fn wire_attributes_dedupe_and_join() {
        let now = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
        let req = CreateApiToken::new(
            "x",
            [
                Scope::Customers,
                Scope::Other("loans".into()),
                Scope::Customers,
            ],
            now + chrono::Duration::days(1),
        )
        .source_ips(["10.0.0.1".parse().unwrap(), "::1".parse().unwrap()])
        .source_ip("10.0.0.1".parse().unwrap());
        let w = req.to_wire(now).unwrap();
        assert_eq!(w.scope, "customers loans");
        assert_eq!(w.source_ip.as_deref(), Some("10.0.0.1,::1"));
        assert!(w.resources.is_none());
    }
}
