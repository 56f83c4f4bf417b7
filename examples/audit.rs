//! Audit: list every token of a Unit user and a Mailtrap account, and flag
//! the ones that expire soon or never.
//!
//! ```sh
//! cargo run --example audit            # on seeded in-process fakes
//! cargo run --example audit -- 14      # flag what expires within 14 days (default 30)
//! ```
//!
//! With `UNIT_API_TOKEN` + `UNIT_USER_ID` or `MAILTRAP_API_TOKEN` set, that
//! service is audited for real instead. On Mailtrap, `MAILTRAP_ACCOUNT_ID`
//! names the account (`/api/accounts/{id}/api_tokens`); unset, the token's
//! own account is audited through the account-free `/api/api_tokens`. No
//! secret is ever read: listed tokens do not carry one.

use std::process::ExitCode;

use api_tokens::testing::{MailtrapFake, MailtrapTokenSeed, UnitFake, UnitTokenSeed};
use api_tokens::{Error, mailtrap, unit};
use chrono::{DateTime, Duration, Utc};

#[tokio::main]
async fn main() -> ExitCode {
    let days = match std::env::args().nth(1).map(|a| a.parse::<i64>()) {
        None => 30,
        Some(Ok(d)) if d >= 0 => d,
        Some(_) => {
            eprintln!("usage: audit [DAYS]  (DAYS: a whole number of days, default 30)");
            return ExitCode::FAILURE;
        }
    };
    let horizon = Utc::now() + Duration::days(days);
    match run(horizon).await {
        Ok(flagged) => {
            println!(
                "\n{flagged} token(s) need attention (expire before {} or never)",
                horizon.format("%Y-%m-%d")
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            let status = e.downcast_ref::<Error>().and_then(Error::status);
            eprintln!("audit failed: {e} [status {status:?}]");
            ExitCode::FAILURE
        }
    }
}

fn set(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.trim().is_empty())
}

/// A verdict on one expiry: `None` when it needs no attention.
fn verdict(expires: Option<DateTime<Utc>>, horizon: DateTime<Utc>) -> Option<&'static str> {
    match expires {
        None => Some("never expires"),
        Some(at) if at <= Utc::now() => Some("expired"),
        Some(at) if at <= horizon => Some("expires soon"),
        Some(_) => None,
    }
}

async fn run(horizon: DateTime<Utc>) -> Result<usize, Box<dyn std::error::Error>> {
    let mut flagged = 0;

    // Unit.
    let _unit_fake;
    let (client, user): (_, unit::UserId) = if set("UNIT_API_TOKEN") && set("UNIT_USER_ID") {
        let user = std::env::var("UNIT_USER_ID").unwrap_or_default();
        (unit::Client::from_env()?, user.trim().parse()?)
    } else {
        let fake = UnitFake::start().await;
        let now = Utc::now();
        fake.insert_token(UnitTokenSeed::new("deploy").expiration(now + Duration::days(3)));
        fake.insert_token(UnitTokenSeed::new("reporting").expiration(now + Duration::days(200)));
        let client = unit::Client::builder()
            .token(fake.token().clone())
            .base_url(fake.uri())
            .build()?;
        let user = fake.user_id().parse()?;
        _unit_fake = fake;
        (client, user)
    };
    println!("Unit, user {user}:");
    for token in client.org_api_tokens(user).list().await? {
        let note = verdict(token.expiration, horizon);
        flagged += usize::from(note.is_some());
        println!(
            "  {:<6} {:<28} {}",
            token.id.to_string(),
            token.description.as_deref().unwrap_or(""),
            note.unwrap_or("ok")
        );
    }

    // Mailtrap.
    let _mailtrap_fake;
    let client = if set("MAILTRAP_API_TOKEN") {
        mailtrap::Client::from_env()?
    } else {
        let fake = MailtrapFake::start().await;
        let account = fake.account_id();
        let admin = |name: &str| {
            // Seeds are written as the service stores them: type, id, level.
            MailtrapTokenSeed::new(name).permission("account", account, 100)
        };
        fake.insert_token(admin("legacy admin"));
        fake.insert_token(admin("ci").expires_at(Utc::now() + Duration::days(90)));
        let client = mailtrap::Client::builder()
            .token(fake.token().clone())
            .account_id(account)
            .base_url(fake.uri())
            .build()?;
        _mailtrap_fake = fake;
        client
    };
    match client.account_id() {
        Some(account) => println!("Mailtrap, account {account}:"),
        None => println!("Mailtrap, the token's own account:"),
    }
    for token in client.api_tokens().list().await? {
        let note = verdict(token.expires_at, horizon);
        flagged += usize::from(note.is_some());
        let admin = token
            .permissions
            .iter()
            .any(|p| p.access_level == mailtrap::AccessLevel::Admin);
        println!(
            "  {:<6} {:<28} {}{}",
            token.id.to_string(),
            token.name,
            note.unwrap_or("ok"),
            if admin { ", admin" } else { "" }
        );
    }
    Ok(flagged)
}
