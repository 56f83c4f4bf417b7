//! What the `ensure` tests share: both fakes, clients on them, a scratch
//! directory for sinks, and tokens files written for them.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use api_tokens::chrono;
use api_tokens::ensure::{self, ActionKind, ApplyOptions, Plan, Services, TokensFile};
use api_tokens::testing::{MailtrapFake, UnitFake, UnitTokenSeed};
use api_tokens::unit::Scope;
use api_tokens::{RetryPolicy, mailtrap, unit};
use secrecy::SecretString;

/// Both fakes and a directory for the sinks.
pub struct World {
    pub mailtrap: MailtrapFake,
    pub unit: UnitFake,
    pub dir: tempfile::TempDir,
}

impl World {
    pub async fn start() -> World {
        World {
            mailtrap: MailtrapFake::start().await,
            unit: UnitFake::start().await,
            dir: tempfile::tempdir().expect("scratch"),
        }
    }

    /// A world where the acceptance file at `level` is applied, and the
    /// file.
    pub async fn applied(level: &str) -> (World, TokensFile) {
        let world = World::start().await;
        let file = world.file(level);
        world.apply(&file).await;
        (world, file)
    }

    /// Seeds a Unit token "ci-deploy", the acceptance file's entry, with
    /// `scopes`, expiring `expires_in` from now.
    pub fn seed_unit(&self, scopes: &[Scope], expires_in: chrono::Duration) {
        self.unit.insert_token(
            UnitTokenSeed::new("ci-deploy")
                .scopes(scopes.iter().cloned())
                .expiration(chrono::Utc::now() + expires_in),
        );
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn mailtrap_client(&self) -> mailtrap::Client {
        mailtrap_builder(&self.mailtrap)
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client")
    }

    pub fn unit_client(&self) -> unit::Client {
        unit::Client::builder()
            .token(self.unit.token().clone())
            .base_url(self.unit.uri())
            .retry(RetryPolicy::disabled())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client")
    }

    pub fn services(&self) -> Services {
        Services::new()
            .mailtrap_account(self.mailtrap.account_id(), self.mailtrap_client())
            .unit(self.unit_client(), Some(self.unit.user_id()))
    }

    /// The file of the acceptance ([`acceptance_toml`]), its sinks in
    /// this world's directory.
    pub fn file(&self, level: &str) -> TokensFile {
        let text = acceptance_toml(level, &self.path("mt.token"), &self.path("unit.token"));
        parse(&self.path("tokens.toml"), &text)
    }

    /// The acceptance file in `namespace`.
    pub fn file_in_namespace(&self, level: &str, namespace: &str) -> TokensFile {
        let text = acceptance_toml(level, &self.path("mt.token"), &self.path("unit.token"));
        parse(
            &self.path("tokens.toml"),
            &format!("namespace = \"{namespace}\"\n{text}"),
        )
    }

    pub async fn plan(&self, file: &TokensFile) -> Plan {
        ensure::plan(file, &self.services()).await.expect("plan")
    }

    /// Applies a fresh plan and asserts every action succeeded.
    pub async fn apply(&self, file: &TokensFile) -> ensure::ApplyReport {
        let plan = self.plan(file).await;
        let report = ensure::apply(file, &self.services(), &plan, &ApplyOptions::new()).await;
        if let Some(outcome) = report.failed().next() {
            panic!("{outcome}");
        }
        report
    }

    /// Whether no action of a fresh plan of `file` is pending, orphans
    /// included.
    pub async fn converged(&self, file: &TokensFile) -> bool {
        !self.plan(file).await.has_pending(true)
    }

    /// Whether the Mailtrap fake accepts the secret the acceptance file's
    /// Mailtrap sink holds.
    pub async fn mailtrap_sink_accepted(&self) -> bool {
        self.mailtrap_accepts(&self.path("mt.token")).await
    }

    /// Whether the Mailtrap fake accepts the secret a file sink holds.
    pub async fn mailtrap_accepts(&self, sink: &Path) -> bool {
        let client = self
            .mailtrap_client()
            .with_token(read_secret(sink))
            .expect("client");
        client.api_tokens().list().await.is_ok()
    }

    /// Whether the Unit fake accepts the secret a file sink holds.
    pub async fn unit_accepts(&self, sink: &Path) -> bool {
        let client = self
            .unit_client()
            .with_token(read_secret(sink))
            .expect("client");
        client
            .org_api_tokens(self.unit.user_id())
            .list()
            .await
            .is_ok()
    }
}

/// A client of `fake`'s account that never retries: a failed call fails
/// its action at once.
pub fn mailtrap_builder(fake: &MailtrapFake) -> mailtrap::ClientBuilder {
    mailtrap::Client::builder()
        .token(fake.token().clone())
        .account_id(fake.account_id())
        .base_url(fake.uri())
        .retry(RetryPolicy::disabled())
}

/// The tokens file of the acceptance: one Mailtrap token at `level`
/// (`admin`, `viewer`) on account 3229 and one Unit token, each with a
/// file sink, at `mt` and `unit`.
pub fn acceptance_toml(level: &str, mt: &Path, unit: &Path) -> String {
    format!(
        r#"[[mailtrap]]
name = "ci-deploy"
permissions = ["account:3229:{level}"]
expires = "never"
rotate_after = "30d"
rotate_before_expiry = "7d"
secret_to = "file:{mt}"

[[unit]]
description = "ci-deploy"
scopes = ["customers", "accounts"]
lifetime = "90d"
rotate_before_expiry = "14d"
secret_to = "file:{unit}"
"#,
        mt = mt.display(),
        unit = unit.display(),
    )
}

pub fn parse(path: &Path, text: &str) -> TokensFile {
    TokensFile::parse(path, text).unwrap_or_else(|e| panic!("{e}"))
}

pub fn read_secret(path: &Path) -> SecretString {
    let text = std::fs::read_to_string(path).expect("the sink's file");
    SecretString::from(text.trim_end_matches('\n').to_owned())
}

/// The plan's actions as `(service, name, action)`.
pub fn kinds(plan: &Plan) -> Vec<(String, String, ActionKind)> {
    plan.actions()
        .iter()
        .map(|a| (a.service.to_string(), a.name.clone(), a.kind))
        .collect()
}
