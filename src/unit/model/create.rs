//! What to create: the request, its checks, and its wire attributes.

use chrono::{DateTime, Datelike, Utc};
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};

use crate::error::{Error, Result};
use crate::json::object;

use super::restriction::ResourceRestriction;
use super::scope::Scope;
use super::source_ip::{SourceIp, join_source_ips, source_ip_list};
use crate::unit::envelope::{Resource, TokenType};

/// What to create: a description, one or more scopes, an expiration in the
/// future, and optionally the addresses or ranges allowed to use the token
/// and the resources it is restricted to.
///
/// Everything is checked by [`create`](crate::unit::OrgApiTokens::create) before
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
        self.resources.get_or_insert_default().extend(resources);
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
        let source_ip = join_source_ips(ips);
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

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` as a `chrono` format: how Unit writes its
/// dates, and the one shape its live API is known to accept.
pub(crate) const UNIT_TIME: &str = "%Y-%m-%dT%H:%M:%S%.3fZ";

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`, the one shape Unit's live API is known to
/// accept.
pub(crate) fn format_expiration(t: DateTime<Utc>) -> String {
    t.format(UNIT_TIME).to_string()
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
            source_ip: join_source_ips(&self.source_ips),
            resources: self.resources.as_deref(),
        };
        Resource::<&WireAttributes<'_>> {
            kind: TokenType::ApiToken,
            id: None,
            attributes: &attributes,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for CreateApiToken {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let r: Resource<CreateAttributes> = object(d)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

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
        .source_ip("10.0.0.1".parse::<std::net::IpAddr>().unwrap());
        let w = req.to_wire(now).unwrap();
        assert_eq!(w.scope, "customers loans");
        assert_eq!(w.source_ip.as_deref(), Some("10.0.0.1,::1"));
        assert!(w.resources.is_none());
    }
}
