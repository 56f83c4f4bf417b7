//! Audit: one look over the tokens of both services, as a typed and
//! serializable report.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::mailtrap::MailtrapLifecycle;
use super::marker::Marker;
use super::mint::Listed;
use super::reconcile::Reconcile;
use super::token_ref::service_serde;
use super::unit::UnitLifecycle;
use crate::error::{Error, Result, Service};
use crate::mailtrap::{AccessLevel, ResourceType};
use crate::unit::Scope;

/// What an audit flags.
///
/// Serialized and parsed in kebab-case (`never-expires`), the names the
/// command line's `--fail-on` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum FindingKind {
    /// The token's expiry has passed.
    Expired,
    /// The token expires within the audit's window.
    Expiring,
    /// The token never expires: its `expires_at` is empty. A Mailtrap
    /// token made with an explicit `null` ([`Expiry::Never`](crate::mailtrap::Expiry::Never)),
    /// or before the service's default lifetime came; one made with
    /// [`Expiry::ServerDefault`](crate::mailtrap::Expiry::ServerDefault)
    /// now has a date, and is flagged [`Expiring`](FindingKind::Expiring)
    /// or [`Expired`](FindingKind::Expired) as any date is. The service's
    /// list shows the date only, so a default date and one asked for are
    /// not told apart (nor can the crate's marker: it is written before the
    /// answer, and a reset's new name no longer ends with it).
    NeverExpires,
    /// The token may do more than most jobs need: Mailtrap admin on an
    /// account or organization; Unit write or sensitive scopes, where the
    /// scopes are known (Unit's list does not return them: see
    /// [`AuditPolicy::unit_scopes`]).
    OverPrivileged,
    /// A Unit token usable from any address (no `sourceIp`).
    Unrestricted,
    /// A token carrying a stale [`Marker`]: possibly minted by a create
    /// whose answer was lost, whose secret nobody holds (see
    /// [`Reconcile`]).
    Orphan,
}

impl FindingKind {
    /// Every kind, in order.
    pub const ALL: [FindingKind; 6] = [
        FindingKind::Expired,
        FindingKind::Expiring,
        FindingKind::NeverExpires,
        FindingKind::OverPrivileged,
        FindingKind::Unrestricted,
        FindingKind::Orphan,
    ];

    /// The kebab-case name (`never-expires`).
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::Expired => "expired",
            FindingKind::Expiring => "expiring",
            FindingKind::NeverExpires => "never-expires",
            FindingKind::OverPrivileged => "over-privileged",
            FindingKind::Unrestricted => "unrestricted",
            FindingKind::Orphan => "orphan",
        }
    }
}

crate::display::display_as_str!(FindingKind);

impl FromStr for FindingKind {
    type Err = Error;

    /// A kebab-case name, as [`FindingKind::as_str`] writes it.
    fn from_str(s: &str) -> Result<FindingKind> {
        FindingKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim())
            .ok_or_else(|| {
                Error::invalid(
                    "kind",
                    "expected one of expired, expiring, never-expires, over-privileged, \
                     unrestricted, orphan",
                )
            })
    }
}

/// One thing flagged on one token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Finding {
    /// What is flagged.
    pub kind: FindingKind,
    /// Why, in a few words.
    pub detail: String,
}

/// One token as audited: what identifies it and what was flagged (nothing,
/// for a token in good order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TokenAudit {
    /// Its id.
    pub id: String,
    /// Its description (Unit) or name (Mailtrap).
    pub name: Option<String>,
    /// When it expires, if it does.
    pub expires_at: Option<DateTime<Utc>>,
    /// What was flagged.
    pub findings: Vec<Finding>,
}

impl TokenAudit {
    /// Whether this kind was flagged on the token.
    pub fn has(&self, kind: FindingKind) -> bool {
        self.findings.iter().any(|f| f.kind == kind)
    }
}

/// The tokens of one service, as audited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ServiceAudit {
    /// The service.
    #[serde(with = "service_serde")]
    pub service: Service,
    /// Whose tokens: `user 2`, `account 3229`, or `the token's own account`.
    pub owner: String,
    /// Every token listed, in the service's order.
    pub tokens: Vec<TokenAudit>,
}

/// What [`audit`] found, for both services (or the one given).
///
/// `Serialize` and `Deserialize` give its JSON shape; `Display` prints a
/// table. It never holds a secret: listed tokens carry none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuditReport {
    /// When the audit ran.
    pub generated_at: DateTime<Utc>,
    /// The window of [`FindingKind::Expiring`], in seconds.
    pub expiring_within_secs: i64,
    /// The age past which a marker is stale, in seconds.
    pub stale_after_secs: i64,
    /// The services audited.
    pub services: Vec<ServiceAudit>,
}

impl AuditReport {
    /// Every finding, with its service and token.
    pub fn findings(&self) -> impl Iterator<Item = (&ServiceAudit, &TokenAudit, &Finding)> {
        self.services.iter().flat_map(|s| {
            s.tokens
                .iter()
                .flat_map(move |t| t.findings.iter().map(move |f| (s, t, f)))
        })
    }

    /// How many tokens were flagged with this kind.
    pub fn count(&self, kind: FindingKind) -> usize {
        self.findings().filter(|(_, _, f)| f.kind == kind).count()
    }

    /// The kinds found at least once.
    pub fn kinds(&self) -> BTreeSet<FindingKind> {
        self.findings().map(|(_, _, f)| f.kind).collect()
    }

    /// Whether nothing was flagged.
    pub fn is_clean(&self) -> bool {
        self.findings().next().is_none()
    }
}

impl fmt::Display for AuditReport {
    /// One block per service, one line per token with what was flagged.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for service in &self.services {
            writeln!(
                f,
                "{} ({}): {} token(s)",
                service.service,
                service.owner,
                service.tokens.len()
            )?;
            for token in &service.tokens {
                let expires = token.expires_at.map_or_else(
                    || "never".to_owned(),
                    |at| at.to_rfc3339_opts(SecondsFormat::Secs, true),
                );
                let flags = if token.findings.is_empty() {
                    "ok".to_owned()
                } else {
                    token
                        .findings
                        .iter()
                        .map(|x| format!("{} ({})", x.kind, x.detail))
                        .collect::<Vec<_>>()
                        .join("; ")
                };
                writeln!(
                    f,
                    "  {:<8} {:<40} expires {:<20} {}",
                    token.id,
                    token.name.as_deref().unwrap_or("-"),
                    expires,
                    flags
                )?;
            }
        }
        let counts: Vec<String> = FindingKind::ALL
            .into_iter()
            .filter_map(|k| match self.count(k) {
                0 => None,
                n => Some(format!("{n} {k}")),
            })
            .collect();
        if counts.is_empty() {
            writeln!(f, "nothing flagged")
        } else {
            writeln!(f, "flagged: {}", counts.join(", "))
        }
    }
}

/// What an [`audit`] looks for.
///
/// ```
/// use std::time::Duration;
/// use api_tokens::lifecycle::AuditPolicy;
/// use api_tokens::unit::Scope;
///
/// let policy = AuditPolicy::new()
///     .expiring_within(Duration::from_secs(14 * 86_400))
///     .stale_after(Duration::from_secs(3_600))
///     .unit_scopes("19", [Scope::Customers, Scope::PaymentsWrite]) // from your own records
///     .keep("19");
/// # let _ = policy;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPolicy {
    within: TimeDelta,
    stale_after: TimeDelta,
    keep: BTreeSet<String>,
    unit_scopes: BTreeMap<String, Vec<Scope>>,
    now: Option<DateTime<Utc>>,
}

impl Default for AuditPolicy {
    fn default() -> Self {
        AuditPolicy::new()
    }
}

impl AuditPolicy {
    /// Expiring within 30 days; markers stale after 1 hour.
    pub fn new() -> AuditPolicy {
        AuditPolicy {
            within: TimeDelta::days(30),
            stale_after: TimeDelta::hours(1),
            keep: BTreeSet::new(),
            unit_scopes: BTreeMap::new(),
            now: None,
        }
    }

    /// Flags as [`FindingKind::Expiring`] what expires within `window`.
    pub fn expiring_within(mut self, window: Duration) -> AuditPolicy {
        self.within = TimeDelta::from_std(window).unwrap_or(TimeDelta::MAX);
        self
    }

    /// Flags as [`FindingKind::Orphan`] a marker older than `age`.
    pub fn stale_after(mut self, age: Duration) -> AuditPolicy {
        self.stale_after = TimeDelta::from_std(age).unwrap_or(TimeDelta::MAX);
        self
    }

    /// Never flags the token with this id as an orphan (one you hold).
    pub fn keep(mut self, id: impl ToString) -> AuditPolicy {
        self.keep.insert(id.to_string());
        self
    }

    /// The scopes of Unit token `id`, known from your own records (Unit's
    /// list does not return them): write scopes (`…-write…`) and sensitive
    /// ones (`cards-sensitive…`) flag it as
    /// [`FindingKind::OverPrivileged`].
    pub fn unit_scopes(
        mut self,
        id: impl ToString,
        scopes: impl IntoIterator<Item = Scope>,
    ) -> AuditPolicy {
        self.unit_scopes
            .insert(id.to_string(), scopes.into_iter().collect());
        self
    }

    /// Measures expiries and ages from `now` instead of the current time.
    pub fn at(mut self, now: DateTime<Utc>) -> AuditPolicy {
        self.now = Some(now);
        self
    }

    fn now(&self) -> DateTime<Utc> {
        self.now.unwrap_or_else(Utc::now)
    }

    fn expiry(&self, expires_at: Option<DateTime<Utc>>, out: &mut Vec<Finding>) {
        let now = self.now();
        match expires_at {
            None => out.push(Finding {
                kind: FindingKind::NeverExpires,
                detail: "never expires: no expiry date".to_owned(),
            }),
            Some(at) if at <= now => out.push(Finding {
                kind: FindingKind::Expired,
                detail: format!("expired {}", at.to_rfc3339_opts(SecondsFormat::Secs, true)),
            }),
            Some(at) if at - now <= self.within => out.push(Finding {
                kind: FindingKind::Expiring,
                detail: format!(
                    "expires in {} day(s)",
                    ((at - now).num_seconds() + 86_399) / 86_400
                ),
            }),
            Some(_) => {}
        }
    }

    fn orphans(&self, listed: &[Listed]) -> BTreeSet<String> {
        let rule = Reconcile::older_than(self.stale_after.to_std().unwrap_or(Duration::ZERO))
            .keep_all(self.keep.iter())
            .at(self.now());
        rule.select(listed)
            .into_iter()
            .map(|t| t.id.clone())
            .collect()
    }

    fn orphan(&self, text: &str, out: &mut Vec<Finding>) {
        if let Some(marker) = Marker::find(text) {
            out.push(Finding {
                kind: FindingKind::Orphan,
                detail: format!(
                    "carries a marker from {}; if nobody holds its secret, reconcile it",
                    marker
                        .minted_at()
                        .to_rfc3339_opts(SecondsFormat::Secs, true)
                ),
            });
        }
    }

    /// Audits Unit tokens as listed.
    pub(crate) fn audit_unit(
        &self,
        owner: String,
        tokens: &[crate::unit::ApiToken],
    ) -> ServiceAudit {
        let tokens = tokens.iter().map(|t| {
            let listed = Listed {
                id: t.id.to_string(),
                text: t.description.clone().unwrap_or_default(),
                expires_at: t.expiration,
            };
            let mut findings = Vec::new();
            if let Some(scopes) = self.unit_scopes.get(&listed.id) {
                let risky: Vec<&str> = scopes
                    .iter()
                    .map(Scope::as_str)
                    .filter(|s| is_privileged_scope(s))
                    .collect();
                if !risky.is_empty() {
                    findings.push(Finding {
                        kind: FindingKind::OverPrivileged,
                        detail: format!("write or sensitive scopes: {}", risky.join(" ")),
                    });
                }
            }
            if t.source_ips.is_empty() {
                findings.push(Finding {
                    kind: FindingKind::Unrestricted,
                    detail: "usable from any address".to_owned(),
                });
            }
            (listed, t.description.clone(), findings)
        });
        self.audit_listed(Service::Unit, owner, tokens.collect())
    }

    /// Audits Mailtrap tokens as listed.
    pub(crate) fn audit_mailtrap(
        &self,
        owner: String,
        tokens: &[crate::mailtrap::ApiToken],
    ) -> ServiceAudit {
        let tokens = tokens.iter().map(|t| {
            let listed = Listed {
                id: t.id.to_string(),
                text: t.name.clone(),
                expires_at: t.expires_at,
            };
            let admin: Vec<String> = t
                .permissions
                .iter()
                .filter(|p| {
                    p.access_level == AccessLevel::Admin
                        && matches!(
                            p.resource_type,
                            ResourceType::Account | ResourceType::Organization
                        )
                })
                .map(|p| format!("admin on {} {}", p.resource_type, p.resource_id))
                .collect();
            let findings = if admin.is_empty() {
                Vec::new()
            } else {
                vec![Finding {
                    kind: FindingKind::OverPrivileged,
                    detail: admin.join(", "),
                }]
            };
            (listed, Some(t.name.clone()), findings)
        });
        self.audit_listed(Service::Mailtrap, owner, tokens.collect())
    }

    /// Audits one service's tokens: each as listed, with its name and the
    /// findings only its service can tell; the expiry and orphan findings,
    /// which both services share, are added here (expiry first, orphan
    /// last).
    fn audit_listed(
        &self,
        service: Service,
        owner: String,
        tokens: Vec<(Listed, Option<String>, Vec<Finding>)>,
    ) -> ServiceAudit {
        let listed: Vec<Listed> = tokens.iter().map(|(l, ..)| l.clone()).collect();
        let orphans = self.orphans(&listed);
        let tokens = tokens
            .into_iter()
            .map(|(l, name, own)| {
                let mut findings = Vec::new();
                self.expiry(l.expires_at, &mut findings);
                findings.extend(own);
                if orphans.contains(&l.id) {
                    self.orphan(&l.text, &mut findings);
                }
                TokenAudit {
                    id: l.id,
                    name,
                    expires_at: l.expires_at,
                    findings,
                }
            })
            .collect();
        ServiceAudit {
            service,
            owner,
            tokens,
        }
    }
}

/// Whether a Unit scope writes (`…-write`, `…-write-…`) or reads or writes
/// sensitive data (`cards-sensitive…`).
fn is_privileged_scope(scope: &str) -> bool {
    scope.ends_with("-write") || scope.contains("-write-") || scope.contains("sensitive")
}

/// Lists the tokens of each service given and flags what `policy` asks
/// for: expired, expiring, never expiring, over-privileged, unrestricted
/// (Unit), orphans carrying stale markers. Either service may be left out.
///
/// ```
/// use api_tokens::lifecycle::{AuditPolicy, FindingKind, MailtrapLifecycle, audit};
/// use api_tokens::mailtrap;
/// # use api_tokens::testing::{MailtrapFake, MailtrapTokenSeed};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), api_tokens::Error> {
/// # let fake = MailtrapFake::start().await;
/// # fake.insert_token(MailtrapTokenSeed::new("legacy admin"));
/// # let (key, url) = (fake.token().clone(), fake.uri());
/// let client = mailtrap::Client::builder().token(key).account_id(3229).base_url(url).build()?;
/// let report = audit(None, Some(&MailtrapLifecycle::new(client)), &AuditPolicy::new()).await?;
/// assert_eq!(report.count(FindingKind::NeverExpires), 1);
/// println!("{report}");
/// let json = serde_json::to_string(&report).unwrap();
/// assert!(json.contains("\"never-expires\""));
/// # Ok(()) }
/// ```
///
/// # Errors
///
/// The first list that fails; nothing is reported then.
pub async fn audit(
    unit: Option<&UnitLifecycle>,
    mailtrap: Option<&MailtrapLifecycle>,
    policy: &AuditPolicy,
) -> Result<AuditReport> {
    let mut services = Vec::new();
    if let Some(unit) = unit {
        let tokens = unit.list_typed().await?;
        let owner = format!("user {}", unit.tokens().user_id());
        services.push(policy.audit_unit(owner, &tokens));
    }
    if let Some(mailtrap) = mailtrap {
        let tokens = mailtrap.list_typed().await?;
        let owner = match mailtrap.client().account_id() {
            Some(id) => format!("account {id}"),
            None => "the token's own account".to_owned(),
        };
        services.push(policy.audit_mailtrap(owner, &tokens));
    }
    Ok(AuditReport {
        generated_at: policy.now(),
        expiring_within_secs: policy.within.num_seconds(),
        stale_after_secs: policy.stale_after.num_seconds(),
        services,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mailtrap::{Permission, TokenId as MtId};
    use crate::unit::{ApiToken as UnitToken, TokenId as UnitId};

    #[test]
    fn kinds_round_trip_their_names() {
        for kind in FindingKind::ALL {
            assert_eq!(kind.as_str().parse::<FindingKind>().unwrap(), kind);
            assert_eq!(
                serde_json::to_string(&kind).unwrap(),
                format!("\"{}\"", kind.as_str())
            );
        }
        assert!("everything".parse::<FindingKind>().is_err());
    }

    #[test]
    fn unit_tokens_are_flagged() {
        let now = Utc::now();
        let policy = AuditPolicy::new()
            .at(now)
            .unit_scopes("2", [Scope::Customers, Scope::CardsSensitive])
            .unit_scopes("3", [Scope::Customers]);
        let token = |id: &str, description: String, exp: Option<DateTime<Utc>>, ip: bool| {
            let mut t = UnitToken::new(id.parse::<UnitId>().unwrap(), now - TimeDelta::days(1));
            t.description = Some(description);
            t.expiration = exp;
            if ip {
                t.source_ips = vec!["10.0.0.0/8".parse().unwrap()];
            }
            t
        };
        let stale = Marker::at(now - TimeDelta::hours(2)).tag("lost");
        let tokens = [
            token("1", "gone".into(), Some(now - TimeDelta::days(1)), true),
            token("2", "soon".into(), Some(now + TimeDelta::days(3)), true),
            token("3", "fine".into(), Some(now + TimeDelta::days(90)), true),
            token("4", "open".into(), None, false),
            token("5", stale, Some(now + TimeDelta::days(90)), true),
        ];
        let audit = policy.audit_unit("user 2".into(), &tokens);
        let kinds = |i: usize| -> Vec<FindingKind> {
            audit.tokens[i].findings.iter().map(|f| f.kind).collect()
        };
        assert_eq!(kinds(0), [FindingKind::Expired]);
        assert_eq!(
            kinds(1),
            [FindingKind::Expiring, FindingKind::OverPrivileged]
        );
        assert!(kinds(2).is_empty());
        assert_eq!(
            kinds(3),
            [FindingKind::NeverExpires, FindingKind::Unrestricted]
        );
        assert_eq!(kinds(4), [FindingKind::Orphan]);
    }

    #[test]
    fn mailtrap_admins_and_kept_markers() {
        let now = Utc::now();
        let stale = Marker::at(now - TimeDelta::hours(2));
        let policy = AuditPolicy::new().at(now).keep("11");
        let mut admin = crate::mailtrap::ApiToken::new(MtId::new(10).unwrap(), "admin");
        admin.permissions = vec![Permission::new(
            ResourceType::Account,
            3229,
            AccessLevel::Admin,
        )];
        admin.expires_at = Some(now + TimeDelta::days(365));
        let mut kept = crate::mailtrap::ApiToken::new(MtId::new(11).unwrap(), stale.tag("held"));
        kept.permissions = vec![Permission::new(
            ResourceType::Project,
            7,
            AccessLevel::Admin,
        )];
        kept.expires_at = Some(now + TimeDelta::days(365));
        let audit = policy.audit_mailtrap("account 3229".into(), &[admin, kept]);
        assert!(audit.tokens[0].has(FindingKind::OverPrivileged));
        assert!(audit.tokens[1].findings.is_empty(), "{:?}", audit.tokens[1]);
    }
}
