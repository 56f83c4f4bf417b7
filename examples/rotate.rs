//! Rotate a token on each service into a file sink, with overlap: mint the
//! new token, prove its secret works, write it to the file, and only then
//! retire the old one.
//!
//! ```sh
//! cargo run --example rotate
//! ```
//!
//! With no environment it runs on in-process fakes and needs no network.
//! Each service can be pointed at the real thing instead:
//!
//! - Unit: `UNIT_API_TOKEN` and `UNIT_USER_ID` (and `UNIT_API_URL`, default
//!   the sandbox).
//! - Mailtrap: `MAILTRAP_API_TOKEN` (and `MAILTRAP_ACCOUNT_ID`, default the
//!   token's own account; `MAILTRAP_API_URL`).
//!
//! On a real service the example never touches an existing token: it mints
//! one of its own (exactly once), rotates it, and removes what it made at
//! the end. Secrets go to files in a temporary directory, which is removed
//! on exit; only their last four characters are printed.

use std::path::Path;
use std::process::ExitCode;

use api_tokens::lifecycle::sink::FileSink;
use api_tokens::lifecycle::{
    MailtrapLifecycle, MailtrapPlan, OldState, RotateError, Rotation, UnitLifecycle, UnitPlan,
};
use api_tokens::mailtrap::{self, AccessLevel, ResourceType};
use api_tokens::testing::{MailtrapFake, UnitFake};
use api_tokens::unit::{self, Scope};
use api_tokens::{Error, mailtrap::TokenId as MailtrapId};
use chrono::{Duration, Utc};

#[tokio::main]
async fn main() -> ExitCode {
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("rotate: no temporary directory: {e}");
            return ExitCode::FAILURE;
        }
    };
    let unit = rotate_unit(dir.path()).await;
    println!();
    let mailtrap = rotate_mailtrap(dir.path()).await;
    match unit.and(mailtrap) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("rotate failed: {failure}");
            ExitCode::FAILURE
        }
    }
}

/// What ends a part of the run.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("{0}: {1}")]
    Call(&'static str, Error),
    #[error(transparent)]
    Rotate(#[from] RotateError),
    #[error("{0}")]
    Setup(String),
}

fn call(what: &'static str) -> impl FnOnce(Error) -> Failure {
    move |e| Failure::Call(what, e)
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The last four characters of the secret a file holds.
fn last_four(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let secret = text.trim_end();
    let count = secret.chars().count();
    format!(
        "…{}",
        secret
            .chars()
            .skip(count.saturating_sub(4))
            .collect::<String>()
    )
}

fn report(rotation: &Rotation, path: &Path) {
    println!(
        "  old token {} ({})",
        rotation.old.id,
        rotation.old.name.as_deref().unwrap_or("-")
    );
    println!(
        "  new token {} ({})",
        rotation.new.id,
        rotation.new.name.as_deref().unwrap_or("-")
    );
    println!("  minted by {:?}", rotation.method);
    match &rotation.old_state {
        OldState::GracePeriod { until: Some(at) } => println!("  old token works until {at}"),
        other => println!("  old token: {other:?}"),
    }
    println!("  secret {} in {}", last_four(path), path.display());
}

async fn rotate_unit(dir: &Path) -> Result<(), Failure> {
    let (fake, client, user) = match (env("UNIT_API_TOKEN"), env("UNIT_USER_ID")) {
        (Some(_), Some(user)) => {
            let client = unit::Client::from_env().map_err(call("Unit client"))?;
            println!("== Unit at {}", client.base_url());
            (None, client, user)
        }
        (Some(_), None) => {
            return Err(Failure::Setup(
                "set UNIT_USER_ID with UNIT_API_TOKEN".into(),
            ));
        }
        _ => {
            let fake = UnitFake::start().await;
            let client = unit::Client::builder()
                .token(fake.token().clone())
                .base_url(fake.uri())
                .build()
                .map_err(call("Unit client"))?;
            println!("== Unit (in-process fake at {})", fake.uri());
            let user = fake.user_id().to_string();
            (Some(fake), client, user)
        }
    };
    let user = user.parse().map_err(call("UNIT_USER_ID"))?;
    let life = UnitLifecycle::new(client, user);
    let expires = Utc::now() + Duration::days(30);
    let first = life
        .mint(&unit::CreateApiToken::new(
            "rotate example",
            [Scope::Customers],
            expires,
        ))
        .await
        .map_err(call("Unit create"))?;
    println!("  minted token {} to rotate", first.token.id);

    let path = dir.join("unit.token");
    let plan = UnitPlan::new([Scope::Customers], expires)
        .source_ips(["10.0.0.0/8".parse().map_err(call("source IP"))?]);
    // The new token is restricted to 10.0.0.0/8: a probe from this machine
    // might be refused by the real service, so it is skipped there.
    let plan = if fake.is_some() {
        plan
    } else {
        plan.skip_probe()
    };
    let rotation = life
        .rotate(&first.token.id, &plan, &FileSink::new(&path))
        .await?;
    report(&rotation, &path);

    let new = rotation.new.id.parse().map_err(call("token id"))?;
    life.tokens()
        .revoke(&new)
        .await
        .map_err(call("Unit revoke"))?;
    println!(
        "  revoked token {} (the example cleans up)",
        rotation.new.id
    );
    Ok(())
}

async fn rotate_mailtrap(dir: &Path) -> Result<(), Failure> {
    let (fake, client) = match env("MAILTRAP_API_TOKEN") {
        Some(_) => {
            let client = mailtrap::Client::from_env().map_err(call("Mailtrap client"))?;
            println!("== Mailtrap at {}", client.base_url());
            (None, client)
        }
        None => {
            let fake = MailtrapFake::start().await;
            // No token yet, so the account comes from the fake's account
            // list; no account named: the account-free paths,
            // `/api/api_tokens…`.
            let client = mailtrap::Client::builder()
                .token(fake.token().clone())
                .base_url(fake.uri())
                .build()
                .map_err(call("Mailtrap client"))?;
            println!("== Mailtrap (in-process fake at {})", fake.uri());
            (Some(fake), client)
        }
    };
    let life = MailtrapLifecycle::new(client.clone());
    // The account to grant a viewer permission on: the one named, else the
    // one a listed token has access to, else the first the service lists
    // (`GET /api/accounts`).
    let account = client
        .discover_account_id()
        .await
        .map_err(call("Mailtrap account discovery"))?
        .ok_or_else(|| {
            Failure::Setup(
                "set MAILTRAP_ACCOUNT_ID: no listed token has access to an account \
                 and the account list names none"
                    .into(),
            )
        })?;
    let first = life
        .mint(&mailtrap::CreateApiToken::new("rotate example").permission(
            ResourceType::Account,
            account,
            AccessLevel::Viewer,
        ))
        .await
        .map_err(call("Mailtrap create"))?;
    println!("  minted token {} to rotate", first.token.id);

    let path = dir.join("mailtrap.token");
    let rotation = life
        .rotate(&first.token.id, &MailtrapPlan::new(), &FileSink::new(&path))
        .await?;
    report(&rotation, &path);

    for id in [rotation.new.id.as_str(), rotation.old.id.as_str()] {
        let id: MailtrapId = id.parse().map_err(call("token id"))?;
        life.tokens()
            .delete(id)
            .await
            .map_err(call("Mailtrap delete"))?;
    }
    println!("  deleted both tokens (the example cleans up)");
    drop(fake);
    Ok(())
}
