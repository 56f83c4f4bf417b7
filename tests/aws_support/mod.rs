//! A local AWS Secrets Manager for tests: moto's server, started on a free
//! port of the loopback interface, and clients pointed at it.
//!
//! Without Python or moto the tests that need it are skipped with a printed
//! reason, unless `CI=true`: there, a missing moto is a failure.
#![allow(dead_code)]

pub mod hold_moves;
#[cfg(feature = "aws-lambda")]
pub mod lambda;

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use api_tokens::Service;
use api_tokens::lifecycle::sink::{
    AWSCURRENT, SecretMeta, SecretRecord, SecretSink, SecretsManagerSink,
};
use api_tokens::testing::{MailtrapFake, UnitFake, UnitTokenSeed};
use api_tokens::unit::Scope;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};
use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};

/// The region the tests use.
pub const REGION: &str = "us-east-1";

/// A child process, killed (and waited for) when dropped.
pub struct Process(pub Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A running moto server; stopped when dropped.
pub struct Moto {
    _process: Process,
    port: u16,
}

/// Whether this run is CI's, where skipping is not allowed.
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

fn skip(reason: &str) -> Option<Moto> {
    assert!(
        !in_ci(),
        "CI=true and the local Secrets Manager cannot start: {reason} \
         (install it with `pip install 'moto[server]'`)"
    );
    eprintln!("skipped: {reason} (install it with `pip install 'moto[server]'`)");
    None
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

impl Moto {
    /// Starts `python3 -m moto.server -H 127.0.0.1 -p PORT` and waits until
    /// it accepts connections; `None` (after printing why) when Python or
    /// moto is missing, outside CI.
    pub fn start() -> Option<Moto> {
        let probe = Command::new("python3")
            .args(["-c", "import moto.server"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        match probe {
            Err(_) => return skip("python3 is not installed"),
            Ok(s) if !s.success() => return skip("moto's server is not installed for python3"),
            Ok(_) => {}
        }
        // A port found free may be taken before moto binds it: try again.
        for _ in 0..5 {
            let port = free_port();
            let mut process = Process(
                Command::new("python3")
                    .args([
                        "-m",
                        "moto.server",
                        "-H",
                        "127.0.0.1",
                        "-p",
                        &port.to_string(),
                    ])
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("spawn python3 -m moto.server"),
            );
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(60) {
                if let Ok(Some(_)) = process.0.try_wait() {
                    break;
                }
                if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                    return Some(Moto {
                        _process: process,
                        port,
                    });
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        panic!("moto's server did not start on any of 5 ports");
    }

    /// The server's URL, for `AWS_ENDPOINT_URL`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The environment a process needs to reach this server: endpoint,
    /// dummy credentials, region.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.url()),
            ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
            ("AWS_SESSION_TOKEN", "testing".to_owned()),
            ("AWS_REGION", REGION.to_owned()),
            ("AWS_DEFAULT_REGION", REGION.to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ]
    }

    /// A client of this server, configured explicitly (tests run in
    /// parallel: none of them changes the process's environment).
    pub fn client(&self) -> Client {
        let config = aws_sdk_secretsmanager::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(self.url())
            .region(Region::new(REGION))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
            .build();
        Client::from_conf(config)
    }

    /// A sink on `name` through this server.
    pub fn sink(&self, name: &str) -> SecretsManagerSink {
        SecretsManagerSink::with_client(self.client(), name).expect("sink")
    }

    /// A new secret, named after `prefix`, whose current record holds
    /// `secret` with `meta`; gives its name.
    pub async fn seed(&self, prefix: &str, secret: &SecretString, meta: &SecretMeta) -> String {
        let name = unique_name(prefix);
        self.sink(&name).store(secret, meta).await.expect("seed");
        name
    }
}

/// What a record of token `id` of `service` named "CI deploy" says.
pub fn ci_deploy(service: Service, id: impl ToString) -> SecretMeta {
    SecretMeta::new(service, id.to_string()).with_name("CI deploy")
}

/// The Unit token the rotations start from: "CI deploy", of scope
/// customers, expiring in 30 days.
pub fn customers_token() -> UnitTokenSeed {
    UnitTokenSeed::new("CI deploy")
        .scope(Scope::Customers)
        .expiration(Utc::now() + chrono::Duration::days(30))
}

/// The environment a process needs to reach the Unit fake.
pub fn unit_env(fake: &UnitFake) -> Vec<(&'static str, String)> {
    vec![
        ("UNIT_API_TOKEN", fake.token().expose_secret().to_owned()),
        ("UNIT_API_URL", fake.uri()),
        ("UNIT_USER_ID", fake.user_id().to_string()),
    ]
}

/// The environment a process needs to reach the Mailtrap fake's account.
pub fn mailtrap_env(fake: &MailtrapFake) -> Vec<(&'static str, String)> {
    vec![
        (
            "MAILTRAP_API_TOKEN",
            fake.token().expose_secret().to_owned(),
        ),
        ("MAILTRAP_API_URL", fake.uri()),
        ("MAILTRAP_ACCOUNT_ID", fake.account_id().to_string()),
    ]
}

/// A secret name no other test uses.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}-{:016x}", fastrand::u64(..))
}

/// The versions of a secret as `(version id, labels)`.
pub async fn versions(client: &Client, name: &str) -> Vec<(String, Vec<String>)> {
    let out = client
        .describe_secret()
        .secret_id(name)
        .send()
        .await
        .expect("DescribeSecret");
    let mut v: Vec<(String, Vec<String>)> = out
        .version_ids_to_stages()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// The version holding `label`, if any.
pub async fn version_with(client: &Client, name: &str, label: &str) -> Option<String> {
    versions(client, name)
        .await
        .into_iter()
        .find(|(_, labels)| labels.iter().any(|l| l == label))
        .map(|(id, _)| id)
}

/// The record of the version holding `label`.
pub async fn record(client: &Client, name: &str, label: &str) -> SecretRecord {
    let out = client
        .get_secret_value()
        .secret_id(name)
        .version_stage(label)
        .send()
        .await
        .expect("GetSecretValue");
    SecretRecord::from_json(out.secret_string().expect("a string")).expect("a record")
}

/// The current record.
pub async fn current(client: &Client, name: &str) -> SecretRecord {
    record(client, name, AWSCURRENT).await
}
