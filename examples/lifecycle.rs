//! The whole lifecycle of API tokens on both services.
//!
//! ```sh
//! cargo run --example lifecycle
//! ```
//!
//! With no environment it starts in-process fakes of both services and needs
//! no network. Each part can be pointed at a real server instead:
//!
//! - Unit: `UNIT_API_TOKEN` and `UNIT_USER_ID` (and `UNIT_API_URL`, default
//!   the sandbox): create, list, revoke, list.
//! - Mailtrap: `MAILTRAP_API_TOKEN` (and `MAILTRAP_API_URL`): create, list,
//!   get, reset, delete both, list. With `MAILTRAP_ACCOUNT_ID` set, the calls
//!   go to that account (`/api/accounts/{id}/api_tokens…`); unset, to the
//!   token's own account (`/api/api_tokens…`), and the new token is granted
//!   access to the account found by `Client::discover_account_id`: the
//!   first account a listed token has access to, else the first of
//!   `GET /api/accounts`.
//!
//! Secrets are only ever shown as their last four characters. On failure it
//! prints one line (the error, its status and the service's message) and
//! exits with status 1.

use std::fmt::Display;
use std::process::ExitCode;

use api_tokens::testing::{MailtrapFake, MailtrapTokenSeed, UnitFake};
use api_tokens::{Error, mailtrap, unit};
use chrono::{DateTime, Duration, Utc};
use secrecy::{ExposeSecret, SecretString};

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("lifecycle failed: {failure}");
            ExitCode::FAILURE
        }
    }
}

/// What ends the run: an error from the crate, or a missing setting.
enum Failure {
    Api(&'static str, Error),
    Setup(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Setup(why) => f.write_str(why),
            Failure::Api(step, e) => {
                write!(f, "{step}: {e}")?;
                if let Some(status) = e.status() {
                    write!(f, " [status {status}]")?;
                }
                if !e.messages().is_empty() {
                    write!(f, " [service said: {}]", e.messages().join("; "))?;
                }
                Ok(())
            }
        }
    }
}

fn step(name: &'static str) -> impl FnOnce(Error) -> Failure {
    move |e| Failure::Api(name, e)
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

async fn run() -> Result<(), Failure> {
    run_unit().await?;
    println!();
    run_mailtrap().await
}

async fn run_unit() -> Result<(), Failure> {
    let (_fake, client, user) = match (env("UNIT_API_TOKEN"), env("UNIT_USER_ID")) {
        (Some(_), Some(user)) => {
            let client = unit::Client::from_env().map_err(step("Unit client"))?;
            println!(
                "== Unit at {}",
                env("UNIT_API_URL").unwrap_or_else(|| unit::SANDBOX.into())
            );
            (None, client, user)
        }
        (Some(_), None) => {
            return Err(Failure::Setup(
                "UNIT_USER_ID must be set with UNIT_API_TOKEN".into(),
            ));
        }
        _ => {
            let fake = UnitFake::start().await;
            let client = unit::Client::builder()
                .token(fake.token().clone())
                .base_url(fake.uri())
                .build()
                .map_err(step("Unit client"))?;
            println!("== Unit (in-process fake at {})", fake.uri());
            let user = fake.user_id().to_string();
            (Some(fake), client, user)
        }
    };
    let user_id: unit::UserId = user
        .trim()
        .parse()
        .map_err(|e| Failure::Setup(format!("UNIT_USER_ID: {e}")))?;
    let tokens = client.org_api_tokens(user_id);

    let created = tokens
        .create(
            unit::CreateApiToken::new(
                "lifecycle example",
                [unit::Scope::Customers, unit::Scope::Applications],
                Utc::now() + Duration::days(30),
            )
            .source_ips(["127.0.0.1"
                .parse()
                .map_err(|_| Failure::Setup("bad IP".into()))?]),
        )
        .await
        .map_err(step("Unit create"))?;
    println!("\n-- create");
    table(
        &["id", "description", "secret", "expires"],
        [[
            created.id.to_string(),
            created.description.clone().unwrap_or_default(),
            last4(&created.token),
            when(created.expiration),
        ]],
    );

    let listed = tokens.list().await.map_err(step("Unit list"))?;
    println!("\n-- list");
    unit_table(&listed);

    tokens
        .revoke(&created.id)
        .await
        .map_err(step("Unit revoke"))?;
    println!("\n-- revoke {}: done", created.id);

    let listed = tokens.list().await.map_err(step("Unit list"))?;
    println!("\n-- list");
    unit_table(&listed);
    Ok(())
}

async fn run_mailtrap() -> Result<(), Failure> {
    let (_fake, client) = match env("MAILTRAP_API_TOKEN") {
        Some(_) => {
            // `MAILTRAP_ACCOUNT_ID` is read only when set: without it, the
            // client works on the token's own account.
            let client = mailtrap::Client::from_env().map_err(step("Mailtrap client"))?;
            println!(
                "== Mailtrap at {}",
                env("MAILTRAP_API_URL").unwrap_or_else(|| mailtrap::DEFAULT_BASE_URL.into())
            );
            (None, client)
        }
        None => {
            let fake = MailtrapFake::start().await;
            // The account's own admin token, as a real account lists it;
            // no account named: the account-free paths, `/api/api_tokens…`.
            fake.insert_token(MailtrapTokenSeed::new("account admin").permission(
                mailtrap::ResourceType::Account,
                fake.account_id(),
                mailtrap::AccessLevel::Admin,
            ));
            let client = mailtrap::Client::builder()
                .token(fake.token().clone())
                .base_url(fake.uri())
                .build()
                .map_err(step("Mailtrap client"))?;
            println!("== Mailtrap (in-process fake at {})", fake.uri());
            (Some(fake), client)
        }
    };
    let tokens = client.api_tokens();
    let account = match client.account_id() {
        Some(account) => {
            println!("account {account}: /api/accounts/{account}/api_tokens");
            mailtrap::ResourceId::from(account)
        }
        None => {
            println!("the token's own account: /api/api_tokens");
            own_account(&client).await?
        }
    };

    let created = tokens
        .create(
            mailtrap::CreateApiToken::new("lifecycle example").permission(
                mailtrap::ResourceType::Account,
                account,
                mailtrap::AccessLevel::Viewer,
            ),
        )
        .await
        .map_err(step("Mailtrap create"))?;
    println!("\n-- create");
    new_mailtrap_table(&created);

    let listed = tokens.list().await.map_err(step("Mailtrap list"))?;
    println!("\n-- list");
    mailtrap_table(&listed);

    let got = tokens.get(created.id).await.map_err(step("Mailtrap get"))?;
    println!("\n-- get {}", created.id);
    mailtrap_table(std::slice::from_ref(&got));

    let rotated = tokens
        .reset(created.id, mailtrap::Expiry::ServerDefault)
        .await
        .map_err(step("Mailtrap reset"))?;
    println!(
        "\n-- reset {} (new id; the old secret stays valid for a grace period)",
        created.id
    );
    new_mailtrap_table(&rotated);

    for id in [created.id, rotated.id] {
        tokens.delete(id).await.map_err(step("Mailtrap delete"))?;
        println!("\n-- delete {id}: done");
    }

    let listed = tokens.list().await.map_err(step("Mailtrap list"))?;
    println!("\n-- list");
    mailtrap_table(&listed);
    if let Some(rl) = client.last_rate_limit() {
        println!("rate limit: {:?} of {:?} left", rl.remaining, rl.limit);
    }
    Ok(())
}

/// The caller's own account: from a listed token's account permission,
/// else from the service's account list (`GET /api/accounts`).
async fn own_account(client: &mailtrap::Client) -> Result<mailtrap::ResourceId, Failure> {
    let found = client
        .discover_account_id()
        .await
        .map_err(step("Mailtrap account discovery"))?;
    found.map(mailtrap::ResourceId::from).ok_or_else(|| {
        Failure::Setup(
            "no listed token has access to an account and the account list names none: \
             set MAILTRAP_ACCOUNT_ID to name one"
                .into(),
        )
    })
}

fn unit_table(list: &[unit::ApiToken]) {
    table(
        &["id", "description", "created", "expires", "source IPs"],
        list.iter().map(|t| {
            [
                t.id.to_string(),
                t.description.clone().unwrap_or_default(),
                t.created_at.format("%Y-%m-%d %H:%M").to_string(),
                when(t.expiration),
                t.source_ips
                    .iter()
                    .map(|ip| ip.to_string())
                    .collect::<Vec<_>>()
                    .join(","),
            ]
        }),
    );
}

fn mailtrap_table(list: &[mailtrap::ApiToken]) {
    table(
        &[
            "id",
            "name",
            "secret",
            "created by",
            "expires",
            "permissions",
        ],
        list.iter().map(|t| {
            [
                t.id.to_string(),
                t.name.clone(),
                t.last_four
                    .as_deref()
                    .map(|l| format!("…{l}"))
                    .unwrap_or_default(),
                t.created_by.clone().unwrap_or_default(),
                when(t.expires_at),
                permissions(&t.permissions),
            ]
        }),
    );
}

fn new_mailtrap_table(t: &mailtrap::NewApiToken) {
    table(
        &["id", "name", "secret", "expires", "permissions"],
        [[
            t.id.to_string(),
            t.name.clone(),
            last4(&t.token),
            when(t.expires_at),
            permissions(&t.permissions),
        ]],
    );
}

fn permissions(list: &[mailtrap::Permission]) -> String {
    list.iter()
        .map(|p| format!("{} {} {}", p.access_level, p.resource_type, p.resource_id))
        .collect::<Vec<_>>()
        .join(", ")
}

fn when(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(
        || "never".to_owned(),
        |t| t.format("%Y-%m-%d %H:%M").to_string(),
    )
}

/// The last four characters of a secret, the only part ever printed.
fn last4(secret: &SecretString) -> String {
    let s = secret.expose_secret();
    let tail: String = s
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("…{tail}")
}

/// Prints rows under a header, each column as wide as its widest cell.
fn table<const N: usize>(header: &[&str; N], rows: impl IntoIterator<Item = [String; N]>) {
    let rows: Vec<[String; N]> = rows.into_iter().collect();
    let mut width: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in width.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&dyn Display>| {
        let text: Vec<String> = cells
            .iter()
            .zip(&width)
            .map(|(c, w)| format!("{:<w$}", c.to_string(), w = *w))
            .collect();
        println!("  {}", text.join(" | ").trim_end());
    };
    line(header.iter().map(|h| h as &dyn Display).collect());
    println!(
        "  {}",
        width
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("-+-")
    );
    if rows.is_empty() {
        println!("  (none)");
    }
    for row in &rows {
        line(row.iter().map(|c| c as &dyn Display).collect());
    }
}
