//! Audit: every token of a Unit user and a Mailtrap account in one report,
//! flagging what is expired, expires soon or never, may do too much, may
//! be used from anywhere, or carries a stale marker (a possible orphan).
//!
//! ```sh
//! cargo run --example audit             # on seeded in-process fakes, as a table
//! cargo run --example audit -- 14       # flag what expires within 14 days (default 30)
//! cargo run --example audit -- 14 json  # the report as one JSON document
//! ```
//!
//! With `UNIT_API_TOKEN` + `UNIT_USER_ID` (and `UNIT_API_URL`) set, Unit is
//! audited for real; with `MAILTRAP_API_TOKEN` (and `MAILTRAP_ACCOUNT_ID`,
//! `MAILTRAP_API_URL`), Mailtrap is. No secret is ever read: listed tokens
//! do not carry one.

use std::process::ExitCode;
use std::time::Duration as StdDuration;

use api_tokens::lifecycle::{AuditPolicy, MailtrapLifecycle, Marker, UnitLifecycle, audit};
use api_tokens::mailtrap::{AccessLevel, ResourceType};
use api_tokens::testing::{MailtrapFake, MailtrapTokenSeed, UnitFake, UnitTokenSeed};
use api_tokens::unit::SourceIp;
use api_tokens::{Error, mailtrap, unit};
use chrono::{Duration, Utc};

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let days = match args.next().map(|a| a.parse::<u64>()) {
        None => 30,
        Some(Ok(d)) => d,
        Some(Err(_)) => {
            eprintln!("usage: audit [DAYS [json]]  (DAYS: a whole number of days, default 30)");
            return ExitCode::FAILURE;
        }
    };
    let json = args.next().as_deref() == Some("json");
    match run(days, json).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("audit failed: {e} [status {:?}]", e.status());
            ExitCode::FAILURE
        }
    }
}

fn set(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.trim().is_empty())
}

async fn run(days: u64, json: bool) -> Result<(), Error> {
    let now = Utc::now();

    // Unit, for real or on a seeded fake.
    let _unit_fake;
    let unit = if set("UNIT_API_TOKEN") && set("UNIT_USER_ID") {
        let user = std::env::var("UNIT_USER_ID").unwrap_or_default().parse()?;
        UnitLifecycle::new(unit::Client::from_env()?, user)
    } else {
        let fake = UnitFake::start().await;
        fake.insert_token(UnitTokenSeed::new("deploy").expiration(now + Duration::days(3)));
        fake.insert_token(
            UnitTokenSeed::new("reporting")
                .expiration(now + Duration::days(200))
                .source_ip("10.0.0.0/8".parse::<SourceIp>()?),
        );
        // A create whose answer was lost long ago: nobody holds its secret.
        fake.insert_token(
            UnitTokenSeed::new(Marker::at(now - Duration::days(2)).tag("CI deploy"))
                .source_ip("10.0.0.0/8".parse::<SourceIp>()?),
        );
        let client = unit::Client::builder()
            .token(fake.token().clone())
            .base_url(fake.uri())
            .build()?;
        let user = fake.user_id();
        _unit_fake = fake;
        UnitLifecycle::new(client, user)
    };

    // Mailtrap, for real or on a seeded fake.
    let _mailtrap_fake;
    let mailtrap = if set("MAILTRAP_API_TOKEN") {
        MailtrapLifecycle::new(mailtrap::Client::from_env()?)
    } else {
        let fake = MailtrapFake::start().await;
        let account = fake.account_id();
        fake.insert_token(MailtrapTokenSeed::new("legacy admin").permission(
            ResourceType::Account,
            account,
            AccessLevel::Admin,
        ));
        fake.insert_token(
            MailtrapTokenSeed::new("ci")
                .permission(ResourceType::Project, 7, AccessLevel::Viewer)
                .expires_at(now + Duration::days(90)),
        );
        // No account named: the account-free paths, `/api/api_tokens…`.
        let client = mailtrap::Client::builder()
            .token(fake.token().clone())
            .base_url(fake.uri())
            .build()?;
        _mailtrap_fake = fake;
        MailtrapLifecycle::new(client)
    };

    let policy = AuditPolicy::new().expiring_within(StdDuration::from_secs(days * 86_400));
    let report = audit(Some(&unit), Some(&mailtrap), &policy).await?;
    if json {
        let text =
            serde_json::to_string_pretty(&report).map_err(|e| api_tokens::Error::Invalid {
                field: "report",
                reason: e.to_string(),
            })?;
        println!("{text}");
    } else {
        print!("{report}");
    }
    Ok(())
}
