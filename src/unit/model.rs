//! The typed values of Unit's Org API tokens: ids, scopes, source
//! addresses, the create request, and the two token types (with and
//! without the secret).
//!
//! Every type here implements `Serialize` and `Deserialize` in Unit's wire
//! shape: a token is a JSON:API resource object
//! (`{"type":"apiToken","id":"19","attributes":{…}}`), a scope the word
//! Unit uses, a list of source addresses one comma-separated string. A
//! secret is never serialized unless asked for by name
//! ([`NewApiToken::with_secret`]).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

use chrono::{DateTime, Datelike, Utc};
use ipnet::IpNet;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::error::{Error, Result};
use crate::json::object;

/// Whether `s` is an id as Unit writes them: a positive integer in decimal,
/// without sign, spaces or leading zeros (`^[1-9][0-9]*$`).
pub(crate) fn is_identifier(s: &str) -> bool {
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b'1'..=b'9')) && bytes.all(|b| b.is_ascii_digit())
}

/// Checks one id before it is made.
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
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The id as Unit writes it.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// An id from its digits.
            ///
            /// # Errors
            ///
            /// [`Error::Invalid`] unless `id` is a positive integer written
            /// in digits, without sign, spaces or leading zeros.
            pub fn new(id: impl Into<String>) -> Result<Self> {
                let id = id.into();
                check_identifier($field, $what, &id)?;
                Ok($name(id))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<u64> for $name {
            type Error = Error;
            /// Refuses 0.
            fn try_from(id: u64) -> Result<Self> {
                $name::new(id.to_string())
            }
        }

        impl TryFrom<&str> for $name {
            type Error = Error;
            fn try_from(id: &str) -> Result<Self> {
                $name::new(id)
            }
        }

        impl TryFrom<String> for $name {
            type Error = Error;
            fn try_from(id: String) -> Result<Self> {
                $name::new(id)
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(id: &str) -> Result<Self> {
                $name::new(id)
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

        impl<'de> Deserialize<'de> for $name {
            /// A JSON:API id: a string of digits; anything else (a number,
            /// empty, `0`, not digits) is refused.
            fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                struct IdVisitor;
                impl Visitor<'_> for IdVisitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str(concat!("a ", $what, ": a string of digits"))
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<$name, E> {
                        if is_identifier(v) {
                            Ok($name(v.to_owned()))
                        } else {
                            Err(E::custom(concat!("not a valid ", $what, " (a positive integer)")))
                        }
                    }
                }
                d.deserialize_str(IdVisitor)
            }
        }
    };
}

string_id!(
    /// The id of a Unit user, the owner of Org API tokens: a positive
    /// integer, checked when the id is made, so that an id in hand is
    /// always one Unit could have written.
    ///
    /// ```
    /// use api_tokens::unit::UserId;
    ///
    /// let id: UserId = "2".parse()?;
    /// assert_eq!(id, UserId::try_from(2)?);
    /// assert_eq!(id.as_str(), "2");
    /// assert!(UserId::try_from(0).is_err());
    /// assert!("02".parse::<UserId>().is_err());
    /// # Ok::<(), api_tokens::Error>(())
    /// ```
    UserId,
    "user_id",
    "user id"
);

string_id!(
    /// The id of an Org API token. JSON:API ids are strings; Unit's are
    /// positive integers, which is checked when the id is made.
    ///
    /// ```
    /// use api_tokens::unit::TokenId;
    ///
    /// let id: TokenId = "19".parse()?;
    /// assert_eq!(id, "19");
    /// assert_eq!(id.to_string(), "19");
    /// assert!("".parse::<TokenId>().is_err());
    /// # Ok::<(), api_tokens::Error>(())
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

impl Serialize for Scope {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Scope {
    /// Any string: an unknown scope is kept as [`Scope::Other`].
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Ok(Scope::from_wire(&s))
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

    fn from_wire(s: &str) -> ResourceType {
        match s {
            "card" => ResourceType::Card,
            "account" => ResourceType::Account,
            other => ResourceType::Other(other.to_owned()),
        }
    }

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
        let kind = ResourceType::from_wire(s);
        kind.validate()?;
        Ok(kind)
    }
}

impl Serialize for ResourceType {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ResourceType {
    /// Any string: an unknown type is kept as [`ResourceType::Other`].
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Ok(ResourceType::from_wire(&s))
    }
}

/// A restriction of a token to some cards or some accounts; on the wire
/// `{"type": "card", "ids": ["1", "2"]}`.
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
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub struct ResourceRestriction {
    #[serde(rename = "type")]
    kind: ResourceType,
    ids: Vec<String>,
}

crate::json::object_only!(ResourceRestriction);

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

/// One entry of a token's `sourceIp` list: an address, a CIDR range, or
/// (read from the service only) something else, kept as written.
///
/// A range read from a list can be sent back: rotating a token restricted
/// to `10.0.0.0/8` keeps the restriction.
///
/// ```
/// use api_tokens::unit::SourceIp;
///
/// let ips = SourceIp::parse_list("192.168.1.1, 10.0.0.0/8");
/// assert_eq!(ips[0], "192.168.1.1".parse::<SourceIp>()?);
/// assert_eq!(ips[1].to_string(), "10.0.0.0/8");
/// assert!(matches!(ips[1], SourceIp::Net(_)));
/// assert!("not an address".parse::<SourceIp>().is_err());
/// # Ok::<(), api_tokens::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SourceIp {
    /// An IPv4 or IPv6 address.
    Addr(IpAddr),
    /// A CIDR range (`10.0.0.0/8`, `2001:db8::/32`).
    Net(IpNet),
    /// A value that is neither, as the service wrote it. It is kept rather
    /// than failing the whole answer, but cannot be sent back.
    Unparsed(String),
}

impl SourceIp {
    /// The address, when it is one.
    pub fn addr(&self) -> Option<IpAddr> {
        match self {
            SourceIp::Addr(ip) => Some(*ip),
            _ => None,
        }
    }

    /// Reads one entry as the service wrote it: never fails.
    fn from_wire(s: &str) -> SourceIp {
        if let Some(ip) = parse_ipv4(s.as_bytes()) {
            SourceIp::Addr(IpAddr::V4(ip))
        } else if let Ok(ip) = s.parse::<IpAddr>() {
            SourceIp::Addr(ip)
        } else if let Ok(net) = s.parse::<IpNet>() {
            SourceIp::Net(net)
        } else {
            SourceIp::Unparsed(s.to_owned())
        }
    }

    /// Splits a comma-separated list (Unit's `sourceIp`); blank items are
    /// skipped, spaces around items ignored.
    pub fn parse_list(list: &str) -> Vec<SourceIp> {
        let bytes = list.as_bytes();
        let mut out = Vec::with_capacity(bytes.iter().filter(|b| **b == b',').count() + 1);
        // One pass: an IPv4 address that runs right up to the next comma
        // (the usual entry) is read where it stands; any other entry is cut
        // at its comma, trimmed and read by `from_wire`.
        let mut start = 0;
        while start <= bytes.len() {
            let rest = &bytes[start..];
            if let Some((ip, len)) = parse_ipv4_prefix(rest) {
                if len == rest.len() || rest[len] == b',' {
                    out.push(SourceIp::Addr(IpAddr::V4(ip)));
                    start += len + 1;
                    continue;
                }
            }
            let end = rest
                .iter()
                .position(|b| *b == b',')
                .map_or(bytes.len(), |at| start + at);
            // `start` and `end` sit next to commas or at the ends: char
            // boundaries.
            let item = list[start..end].trim();
            if !item.is_empty() {
                out.push(SourceIp::from_wire(item));
            }
            start = end + 1;
        }
        out
    }

    fn validate(&self) -> Result<()> {
        match self {
            SourceIp::Unparsed(s) => Err(Error::invalid(
                "source_ip",
                format!(
                    "`{}` is neither an IP address nor a CIDR range",
                    s.escape_debug()
                ),
            )),
            _ => Ok(()),
        }
    }
}

/// Reads `a.b.c.d` at the start of `s` exactly as `Ipv4Addr`'s `FromStr`
/// reads a whole string (four decimal octets up to 255, without leading
/// zeros), in one pass over the bytes; gives the address and how many bytes
/// it took. `None` when `s` does not start with one; whether anything may
/// follow is the caller's to say.
fn parse_ipv4_prefix(s: &[u8]) -> Option<(Ipv4Addr, usize)> {
    let mut octets = [0u8; 4];
    let mut i = 0;
    for (k, octet) in octets.iter_mut().enumerate() {
        if k > 0 {
            if s.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
        let start = i;
        let mut value = 0u32;
        while i - start < 3 {
            match s.get(i) {
                Some(c) if c.is_ascii_digit() => {
                    value = value * 10 + u32::from(c - b'0');
                    i += 1;
                }
                _ => break,
            }
        }
        let digits = i - start;
        if digits == 0 || (digits > 1 && s[start] == b'0') {
            return None;
        }
        *octet = u8::try_from(value).ok()?;
    }
    Some((Ipv4Addr::from(octets), i))
}

/// `s` read whole as an IPv4 address, as `Ipv4Addr`'s `FromStr` reads it;
/// `None` for anything else, which goes to the general parsers.
fn parse_ipv4(s: &[u8]) -> Option<Ipv4Addr> {
    parse_ipv4_prefix(s).and_then(|(ip, len)| (len == s.len()).then_some(ip))
}

impl From<IpAddr> for SourceIp {
    fn from(ip: IpAddr) -> Self {
        SourceIp::Addr(ip)
    }
}

impl From<IpNet> for SourceIp {
    fn from(net: IpNet) -> Self {
        SourceIp::Net(net)
    }
}

impl FromStr for SourceIp {
    type Err = Error;

    /// An IP address or a CIDR range; anything else is refused.
    fn from_str(s: &str) -> Result<Self> {
        let ip = SourceIp::from_wire(s.trim());
        ip.validate()?;
        Ok(ip)
    }
}

impl fmt::Display for SourceIp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceIp::Addr(ip) => ip.fmt(f),
            SourceIp::Net(net) => net.fmt(f),
            SourceIp::Unparsed(s) => f.write_str(s),
        }
    }
}

impl Serialize for SourceIp {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SourceIp {
    /// One entry, read from the borrowed text when the format lends it
    /// (serde's `Cow<str>` would always copy it).
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct EntryVisitor;
        impl Visitor<'_> for EntryVisitor {
            type Value = SourceIp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an IP address or a CIDR range")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<SourceIp, E> {
                Ok(SourceIp::from_wire(v.trim()))
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> std::result::Result<SourceIp, E> {
                let s = std::str::from_utf8(v)
                    .map_err(|_| E::invalid_value(de::Unexpected::Bytes(v), &self))?;
                self.visit_str(s)
            }
        }
        d.deserialize_str(EntryVisitor)
    }
}

/// `sourceIp` as one comma-separated string, both ways; read without a
/// `String` per token when the body needs no unescaping.
pub(crate) mod source_ip_list {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(
        ips: &[SourceIp],
        s: S,
    ) -> std::result::Result<S::Ok, S::Error> {
        if ips.is_empty() {
            return s.serialize_none();
        }
        let joined: Vec<String> = ips.iter().map(SourceIp::to_string).collect();
        s.serialize_str(&joined.join(","))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> std::result::Result<Vec<SourceIp>, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = Vec<SourceIp>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a comma-separated list of addresses, or null")
            }
            fn visit_none<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
                Ok(Vec::new())
            }
            fn visit_unit<E: de::Error>(self) -> std::result::Result<Self::Value, E> {
                Ok(Vec::new())
            }
            fn visit_some<D2: Deserializer<'de>>(
                self,
                d: D2,
            ) -> std::result::Result<Self::Value, D2::Error> {
                d.deserialize_str(ListVisitor)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Self::Value, E> {
                Ok(SourceIp::parse_list(v))
            }
        }
        d.deserialize_option(ListVisitor)
    }
}

/// What to create: a description, one or more scopes, an expiration in the
/// future, and optionally the addresses or ranges allowed to use the token
/// and the resources it is restricted to.
///
/// Everything is checked by [`create`](super::OrgApiTokens::create) before
/// anything is sent. Serialized, it is the JSON:API resource object of the
/// create request.
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
/// .source_ips(["192.168.1.1".parse()?, "10.0.0.0/8".parse()?])
/// .resources([ResourceRestriction::accounts(["10005"])]);
/// assert_eq!(request.scopes().len(), 2);
/// # Ok::<(), api_tokens::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CreateApiToken {
    description: String,
    scopes: Vec<Scope>,
    expiration: DateTime<Utc>,
    source_ips: Vec<SourceIp>,
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

    /// Only requests from these addresses or ranges may use the token
    /// (added to any given before). Without any, every address may.
    pub fn source_ips(mut self, ips: impl IntoIterator<Item = SourceIp>) -> Self {
        self.source_ips.extend(ips);
        self
    }

    /// One more address or range that may use the token.
    pub fn source_ip(mut self, ip: impl Into<SourceIp>) -> Self {
        self.source_ips.push(ip.into());
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

    /// Another description (the exactly-once create tags it with a marker).
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
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

    /// The addresses and ranges that may use the token (empty: any).
    pub fn allowed_ips(&self) -> &[SourceIp] {
        &self.source_ips
    }

    /// The resource restrictions, if any were given.
    pub fn restrictions(&self) -> Option<&[ResourceRestriction]> {
        self.resources.as_deref()
    }

    /// Checks every field against `now` and gives the wire attributes.
    pub(crate) fn to_wire(&self, now: DateTime<Utc>) -> Result<WireAttributes<'_>> {
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
        let mut ips: Vec<&SourceIp> = Vec::with_capacity(self.source_ips.len());
        for ip in &self.source_ips {
            ip.validate()?;
            if !ips.contains(&ip) {
                ips.push(ip);
            }
        }
        let source_ip = (!ips.is_empty()).then(|| {
            ips.iter()
                .map(|ip| ip.to_string())
                .collect::<Vec<_>>()
                .join(",")
        });
        if let Some(list) = &self.resources {
            if list.is_empty() {
                return Err(Error::invalid(
                    "resources",
                    "the list of resources is empty; give at least one card or account \
                     restriction, or leave resources out for an unrestricted token",
                ));
            }
            for r in list {
                r.validate()?;
            }
        }
        Ok(WireAttributes {
            description: &self.description,
            scope: words.join(" "),
            expiration: format_expiration(self.expiration),
            source_ip,
            resources: self.resources.as_deref(),
        })
    }
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`, the one shape Unit's live API is known to
/// accept.
pub(crate) fn format_expiration(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// The attributes of a create request, as sent.
#[derive(Debug, Serialize)]
pub(crate) struct WireAttributes<'a> {
    pub description: &'a str,
    pub scope: String,
    pub expiration: String,
    #[serde(rename = "sourceIp", skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<&'a [ResourceRestriction]>,
}

/// The attributes of a create request, as read back.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateAttributes {
    description: String,
    scope: String,
    #[serde(deserialize_with = "crate::time::utc")]
    expiration: DateTime<Utc>,
    #[serde(default, with = "source_ip_list")]
    source_ip: Vec<SourceIp>,
    #[serde(default)]
    resources: Option<Vec<ResourceRestriction>>,
}

impl Serialize for CreateApiToken {
    /// The JSON:API resource object of the create request, as it would be
    /// sent (scopes deduplicated and joined, the expiration in Unit's form).
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut scope = Vec::with_capacity(self.scopes.len());
        for sc in &self.scopes {
            if !scope.contains(&sc.as_str()) {
                scope.push(sc.as_str());
            }
        }
        let attributes = WireAttributes {
            description: &self.description,
            scope: scope.join(" "),
            expiration: format_expiration(self.expiration),
            source_ip: (!self.source_ips.is_empty()).then(|| {
                self.source_ips
                    .iter()
                    .map(SourceIp::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            }),
            resources: self.resources.as_deref(),
        };
        super::wire::Resource::<&WireAttributes<'_>> {
            kind: super::wire::TokenType,
            id: None,
            attributes: &attributes,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for CreateApiToken {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let r: super::wire::Resource<CreateAttributes> = object(d)?;
        let a = r.attributes;
        let scopes = a
            .scope
            .split_whitespace()
            .map(|w| w.parse::<Scope>().map_err(de::Error::custom))
            .collect::<std::result::Result<Vec<_>, D::Error>>()?;
        Ok(CreateApiToken {
            description: a.description,
            scopes,
            expiration: a.expiration,
            source_ips: a.source_ip,
            resources: a.resources,
        })
    }
}

/// An Org API token as listed: everything but the secret, which Unit shows
/// only once, when the token is created.
///
/// Unit's list carries no scopes and no resource restrictions: a token
/// re-created from a listed one must be given them again.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
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
    /// The addresses and ranges that may use it (empty: any).
    pub source_ips: Vec<SourceIp>,
}

impl ApiToken {
    /// A token's details, as the service would list them.
    pub fn new(id: TokenId, created_at: DateTime<Utc>) -> Self {
        ApiToken {
            id,
            description: None,
            created_at,
            expiration: None,
            source_ips: Vec::new(),
        }
    }
}

/// A token just created, with its secret; see [`NewToken`](crate::NewToken).
pub type NewApiToken = crate::NewToken<ApiToken>;

/// `token 19 "CI deploy" (created …, expires …, from 192.168.1.1)`.
impl fmt::Display for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "token {}", self.id)?;
        if let Some(d) = &self.description {
            write!(f, " {d:?}")?;
        }
        write!(f, " (created {}", format_expiration(self.created_at))?;
        match self.expiration {
            Some(e) => write!(f, ", expires {}", format_expiration(e))?,
            None => f.write_str(", never expires")?,
        }
        if !self.source_ips.is_empty() {
            let ips: Vec<String> = self.source_ips.iter().map(SourceIp::to_string).collect();
            write!(f, ", from {}", ips.join(","))?;
        }
        f.write_str(")")
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

    /// The IPv4 fast path must agree with `Ipv4Addr`'s own parser on every
    /// input: the same address where both read one, a refusal where std
    /// refuses.
    #[test]
    fn ipv4_fast_path_agrees_with_std() {
        let agree = |s: &str| {
            assert_eq!(
                parse_ipv4(s.as_bytes()),
                s.parse::<Ipv4Addr>().ok(),
                "{s:?}"
            );
        };
        for s in [
            "0.0.0.0",
            "255.255.255.255",
            "192.168.1.1",
            "10.0.0.1",
            "1.2.3.4",
            "256.1.1.1",
            "1.2.3.256",
            "01.2.3.4",
            "1.2.3.04",
            "1.2.3.00",
            "1.2.3",
            "1.2.3.4.",
            ".1.2.3.4",
            "1..2.3",
            "1.2.3.4.5",
            "1234.1.1.1",
            "1.2.3.1234",
            " 1.2.3.4",
            "1.2.3.4 ",
            "+1.2.3.4",
            "1.2.3.4/8",
            "::1",
            "::ffff:1.2.3.4",
            "",
            "1.2.3.-4",
            "١.2.3.4",
        ] {
            agree(s);
        }
        proptest::proptest!(|(s in "[0-9.]{0,17}", t in "[0-9./: a-f]{0,12}")| {
            agree(&s);
            agree(&t);
        });
        proptest::proptest!(|(a: u8, b: u8, c: u8, d: u8)| {
            let ip = Ipv4Addr::new(a, b, c, d);
            proptest::prop_assert_eq!(parse_ipv4(ip.to_string().as_bytes()), Some(ip));
        });
    }

    /// The one-pass list reader gives what splitting at commas, trimming,
    /// skipping blanks and reading each entry alone gives.
    #[test]
    fn list_reader_agrees_with_split_and_trim() {
        let naive = |list: &str| -> Vec<SourceIp> {
            list.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(SourceIp::from_wire)
                .collect()
        };
        for list in [
            "",
            ",",
            " , ,",
            "192.168.1.1",
            "192.168.1.1,10.0.0.1",
            "192.168.1.1, 10.0.0.0/8 ,::1,",
            "1.2.3.4,1.2.3.45,1.2.3.456,1.2.3.04",
            "1.2.3.4 ,office, 2001:db8::/32",
            "1.2.3.4/8,1.2.3.4\u{a0},\u{a0}1.2.3.4",
        ] {
            assert_eq!(SourceIp::parse_list(list), naive(list), "{list:?}");
        }
        proptest::proptest!(|(list in "[0-9., /a:\u{a0}]{0,40}")| {
            proptest::prop_assert_eq!(SourceIp::parse_list(&list), naive(&list));
        });
    }

    #[test]
    fn one_entry_reads_borrowed_escaped_or_owned_text() {
        let ip: SourceIp = serde_json::from_str(r#"" 10.0.0.1 ""#).unwrap();
        assert_eq!(ip, SourceIp::Addr("10.0.0.1".parse().unwrap()));
        let ip: SourceIp = serde_json::from_str(r#""10.0.0.\u0031/32""#).unwrap();
        assert_eq!(ip, SourceIp::Net("10.0.0.1/32".parse().unwrap()));
        let ip: SourceIp = serde_json::from_value(serde_json::json!("vpn")).unwrap();
        assert_eq!(ip, SourceIp::Unparsed("vpn".into()));
        assert!(serde_json::from_str::<SourceIp>("17").is_err());
        assert!(serde_json::from_str::<SourceIp>("null").is_err());
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
        .source_ip("10.0.0.1".parse::<IpAddr>().unwrap());
        let w = req.to_wire(now).unwrap();
        assert_eq!(w.scope, "customers loans");
        assert_eq!(w.source_ip.as_deref(), Some("10.0.0.1,::1"));
        assert!(w.resources.is_none());
    }
}
