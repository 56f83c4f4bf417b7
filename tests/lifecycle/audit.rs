//! The audit over both fakes: every kind flagged where it applies, a
//! service left out, the report's JSON shape, and no secret anywhere.

use crate::lifecycle_support;

use std::time::Duration;

use api_tokens::lifecycle::{AuditPolicy, AuditReport, FindingKind, Marker, audit};
use api_tokens::mailtrap::{self, AccessLevel, ResourceType};
use api_tokens::testing::{Fault, MailtrapOp, MailtrapTokenSeed, UnitTokenSeed};
use api_tokens::unit::{Scope, SourceIp, TokenId};
use chrono::{TimeDelta, Utc};
use lifecycle_support::{mailtrap, unit};
use secrecy::ExposeSecret;

#[tokio::test]
async fn both_services_are_audited_into_one_report() {
    let (unit_fake, unit_life) = unit().await;
    let (mt_fake, mt_life) = mailtrap().await;
    let now = Utc::now();
    let soon = unit_fake.insert_token(
        UnitTokenSeed::new("deploy")
            .expiration(now + TimeDelta::days(3))
            .source_ip("10.0.0.0/8".parse::<SourceIp>().unwrap()),
    );
    let open = unit_fake
        .insert_token(UnitTokenSeed::new("reporting").expiration(now + TimeDelta::days(200)));
    let orphan = unit_fake.insert_token(
        UnitTokenSeed::new(Marker::at(now - TimeDelta::hours(5)).tag("lost"))
            .expiration(now + TimeDelta::days(200))
            .source_ip("192.168.1.1".parse::<SourceIp>().unwrap()),
    );
    let admin = mt_fake.insert_token(MailtrapTokenSeed::new("legacy admin"));
    let viewer = mt_fake.insert_token(
        MailtrapTokenSeed::new("ci")
            .permission(ResourceType::Project, 7, AccessLevel::Viewer)
            .expires_at(now + TimeDelta::days(300)),
    );

    let policy = AuditPolicy::new()
        .expiring_within(Duration::from_secs(14 * 86_400))
        .unit_scopes(&soon.id, [Scope::Customers, Scope::PaymentsWrite]);
    let report = audit(Some(&unit_life), Some(&mt_life), &policy)
        .await
        .expect("audit");

    assert_eq!(report.services.len(), 2);
    let unit = &report.services[0];
    assert_eq!(unit.owner, "user 2");
    let by_id = |id: &TokenId| unit.tokens.iter().find(|t| id == t.id.as_str()).unwrap();
    let kinds = |t: &api_tokens::lifecycle::TokenAudit| -> Vec<FindingKind> {
        t.findings.iter().map(|f| f.kind).collect()
    };
    assert_eq!(
        kinds(by_id(&soon.id)),
        [FindingKind::Expiring, FindingKind::OverPrivileged]
    );
    assert_eq!(kinds(by_id(&open.id)), [FindingKind::Unrestricted]);
    assert_eq!(kinds(by_id(&orphan.id)), [FindingKind::Orphan]);

    let mt = &report.services[1];
    assert_eq!(mt.owner, format!("account {}", mt_fake.account_id()));
    let by_id = |id: mailtrap::TokenId| mt.tokens.iter().find(|t| t.id == id.to_string()).unwrap();
    assert_eq!(
        kinds(by_id(admin.id)),
        [FindingKind::NeverExpires, FindingKind::OverPrivileged]
    );
    assert!(by_id(viewer.id).findings.is_empty());

    assert_eq!(report.count(FindingKind::OverPrivileged), 2);
    assert!(!report.kinds().contains(&FindingKind::Expired));
    assert!(!report.is_clean());

    // One JSON document that reads back, in kebab-case, without secrets.
    let json = serde_json::to_string_pretty(&report).unwrap();
    assert!(json.contains("\"over-privileged\""), "{json}");
    assert!(json.contains("\"service\": \"mailtrap\""), "{json}");
    let back: AuditReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back, report);
    let table = report.to_string();
    assert!(table.contains("flagged: "), "{table}");
    for secret in unit_fake
        .tokens()
        .iter()
        .map(|t| t.secret.expose_secret().to_owned())
        .chain(
            mt_fake
                .tokens()
                .iter()
                .map(|t| t.secret.expose_secret().to_owned()),
        )
    {
        assert!(!json.contains(&secret) && !table.contains(&secret));
    }
}

#[tokio::test]
async fn expired_tokens_and_an_absent_service() {
    let (fake, life) = mailtrap().await;
    fake.insert_token(MailtrapTokenSeed::new("old").expires_at(Utc::now() + TimeDelta::hours(1)));
    fake.advance_clock(Duration::from_secs(7200));
    let report = audit(
        None,
        Some(&life),
        &AuditPolicy::new().at(Utc::now() + TimeDelta::hours(2)),
    )
    .await
    .expect("audit");
    assert_eq!(report.services.len(), 1);
    assert_eq!(report.count(FindingKind::Expired), 1);

    let empty = audit(None, None, &AuditPolicy::new())
        .await
        .expect("nothing");
    assert!(empty.services.is_empty() && empty.is_clean());
}

#[tokio::test]
async fn a_failing_list_fails_the_audit() {
    let (fake, life) = mailtrap().await;
    fake.inject(MailtrapOp::List, Fault::status(500));
    let err = audit(None, Some(&life), &AuditPolicy::new())
        .await
        .expect_err("fails");
    assert_eq!(err.status(), Some(500));
}
