//! `--fake`: in-process fakes of both services, seeded with a few tokens,
//! so that every command runs with no account and no environment.
//!
//! Three variables, read only with `--fake`, serve the command line's own
//! tests:
//!
//! - `API_TOKENS_FAKE_FAULT`: faults armed on the fakes before the command
//!   runs, separated by commas, each `SERVICE:OPERATION:KIND[:times=N][:nth=N][:ms=N]`
//!   (`:ms=N` also holds a status back for N ms), with SERVICE `unit` or `mailtrap`, OPERATION one of the service's
//!   endpoints (`create`, `list`, `revoke`; `list`, `get`, `create`,
//!   `delete`, `reset`) and KIND `lose-answer` (act, then drop the
//!   connection), `drop` (drop it without acting), `slow` (act, answer
//!   after `ms=N` milliseconds, 2000 by default) or a status such as
//!   `503`.
//! - `API_TOKENS_FAKE_STATE`: a file to which the fakes' tokens are written
//!   when the command ends (ids, names, expiries, scopes, permissions; never
//!   a secret), and from which they are read when it starts, if it exists:
//!   so that several commands can run on the same tokens. Restored tokens
//!   keep their ids, names, expiries, scopes and permissions, but get new
//!   secrets, and a reset token forgets that it was reset; each fake goes on
//!   numbering from the next id it would have given. The file's directory
//!   must take a new file when the command starts: a state that could not
//!   be written is refused before anything runs.
//! - `API_TOKENS_FAKE_MAILTRAP_DEFAULT_EXPIRY`: the lifetime the Mailtrap
//!   fake gives a token created or reset without an expiry, as a DURATION
//!   (`365d`, the service's default as it rolls out, unless set), or
//!   `never` (as before the rollout).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use api_tokens::chrono::{DateTime, Duration as Span, Utc};
use api_tokens::lifecycle::Marker;
use api_tokens::mailtrap::{AccessLevel, ResourceType};
use api_tokens::secrecy::SecretString;
use api_tokens::testing::{
    Fault, KitError, MailtrapFake, MailtrapOp, MailtrapTokenSeed, UnitFake, UnitOp, UnitTokenSeed,
};
use api_tokens::unit::{Scope, SourceIp};
use api_tokens::{RetryPolicy, mailtrap, unit};
use ipnet::{IpNet, Ipv4Net};
use std::net::{IpAddr, Ipv4Addr};
use tempfile::NamedTempFile;

use serde::{Deserialize, Serialize};

use crate::exit::Failure;

/// The variable naming faults to arm.
pub const FAULT_VAR: &str = "API_TOKENS_FAKE_FAULT";
/// The variable naming the file the fakes' final state goes to.
pub const STATE_VAR: &str = "API_TOKENS_FAKE_STATE";

/// The variable naming the Mailtrap fake's default lifetime.
pub const DEFAULT_EXPIRY_VAR: &str = "API_TOKENS_FAKE_MAILTRAP_DEFAULT_EXPIRY";

/// The account the Mailtrap fake serves.
pub const ACCOUNT_ID: u64 = 3229;

/// Both fakes, running on this process's runtime.
pub struct Fakes {
    unit: UnitFake,
    mailtrap: MailtrapFake,
    state_file: Option<StateFile>,
}

impl Fakes {
    /// Starts both fakes, seeds them (or restores the state of
    /// [`STATE_VAR`]) and arms the faults of [`FAULT_VAR`].
    ///
    /// # Errors
    ///
    /// A usage failure for a fault or a default expiry that cannot be
    /// read, or a state that cannot be read, restored or written.
    pub async fn start() -> Result<Fakes, Failure> {
        let faults = match std::env::var(FAULT_VAR) {
            Ok(spec) => parse_faults(&spec).map_err(Failure::usage)?,
            Err(_) => Vec::new(),
        };
        let state_path = std::env::var_os(STATE_VAR).map(PathBuf::from);
        let saved = match &state_path {
            Some(path) => read_state(path)?,
            None => None,
        };
        let state_file = state_path.map(StateFile::open).transpose()?;
        let unit = UnitFake::builder().user_id(fake_user()).start().await;
        let mut mailtrap = MailtrapFake::builder().account_id(ACCOUNT_ID);
        if let Ok(spec) = std::env::var(DEFAULT_EXPIRY_VAR) {
            mailtrap = mailtrap.default_expiry(parse_default_expiry(&spec)?);
        }
        let mailtrap = mailtrap.start().await;
        let fakes = Fakes {
            unit,
            mailtrap,
            state_file,
        };
        match saved {
            Some(state) => fakes.restore(state)?,
            None => fakes.seed(Utc::now()),
        }
        for fault in faults {
            match fault.op {
                Op::Unit(op) => fakes.unit.inject(op, fault.fault),
                Op::Mailtrap(op) => fakes.mailtrap.inject(op, fault.fault),
            }
        }
        Ok(fakes)
    }

    fn seed(&self, now: DateTime<Utc>) {
        let unit = &self.unit;
        unit.insert_token(
            UnitTokenSeed::new("CI deploy")
                .scopes([Scope::Customers, Scope::Accounts])
                .expiration(now + Span::days(3))
                .source_ip(IpNet::V4(Ipv4Net::new_assert(
                    Ipv4Addr::new(10, 0, 0, 0),
                    8,
                ))),
        );
        unit.insert_token(
            UnitTokenSeed::new("payments backend")
                .scopes([Scope::Payments, Scope::PaymentsWrite, Scope::Accounts])
                .expiration(now + Span::days(200)),
        );
        unit.insert_token(
            UnitTokenSeed::new("old reporting")
                .scope(Scope::Customers)
                .expiration(now - Span::days(2))
                .source_ip(IpAddr::V4(Ipv4Addr::new(192, 168, 1, 10))),
        );
        // What a rotation interrupted three hours ago left: a token minted
        // to replace token 1, whose secret nobody holds.
        let stale = Marker::replacing_at(now - Span::hours(3), "1");
        unit.insert_token(
            UnitTokenSeed::new(stale.tag("CI deploy"))
                .scopes([Scope::Customers, Scope::Accounts])
                .expiration(now + Span::days(90)),
        );
        let mailtrap = &self.mailtrap;
        mailtrap.insert_token(
            MailtrapTokenSeed::new("admin console")
                .permission(ResourceType::Account, ACCOUNT_ID, AccessLevel::Admin)
                .expires_at(now + Span::days(120)),
        );
        mailtrap.insert_token(MailtrapTokenSeed::new("legacy webhook").permission(
            ResourceType::Sandbox,
            17,
            AccessLevel::Viewer,
        ));
        mailtrap.insert_token(
            MailtrapTokenSeed::new("staging sender")
                .permission(ResourceType::Domain, 88, AccessLevel::Viewer)
                .expires_at(now + Span::days(5)),
        );
        let stale = Marker::at(now - Span::hours(2));
        mailtrap.insert_token(
            MailtrapTokenSeed::new(stale.tag("nightly export"))
                .permission(ResourceType::Account, ACCOUNT_ID, AccessLevel::Viewer)
                .expires_at(now + Span::days(60)),
        );
    }

    /// A Unit client of the fake, and its user.
    ///
    /// # Errors
    ///
    /// The client could not be built (a bug: the fake's settings are sound).
    pub fn unit(&self, retry: RetryPolicy) -> Result<(unit::Client, unit::UserId), Failure> {
        let client = unit::Client::builder()
            .token(self.unit.token().clone())
            .base_url(self.unit.uri())
            .retry(retry)
            .build()
            .map_err(|e| Failure::service("starting the Unit fake", e))?;
        Ok((client, self.unit.user_id()))
    }

    /// A Mailtrap client of the fake's account.
    ///
    /// # Errors
    ///
    /// The client could not be built (a bug: the fake's settings are sound).
    pub fn mailtrap(&self, retry: RetryPolicy) -> Result<mailtrap::Client, Failure> {
        mailtrap::Client::builder()
            .token(self.mailtrap.token().clone())
            .account_id(self.mailtrap.account_id())
            .base_url(self.mailtrap.uri())
            .retry(retry)
            .build()
            .map_err(|e| Failure::service("starting the Mailtrap fake", e))
    }

    /// Writes the fakes' tokens, without secrets, and the ids they give
    /// next, to the file named by [`STATE_VAR`], if any: written whole to a
    /// temporary file of the same directory, which then replaces it.
    ///
    /// # Errors
    ///
    /// The file could not be written.
    pub fn dump(&self) -> std::io::Result<()> {
        let Some(file) = &self.state_file else {
            return Ok(());
        };
        let state = State {
            unit: self
                .unit
                .tokens()
                .into_iter()
                .map(|t| StateToken {
                    id: t.id.to_string(),
                    name: t.description,
                    last_4_digits: None,
                    expires_at: Some(t.expiration),
                    scope: Some(
                        t.scopes
                            .iter()
                            .map(Scope::as_str)
                            .collect::<Vec<_>>()
                            .join(" "),
                    ),
                    source_ip: (!t.source_ips.is_empty()).then(|| {
                        t.source_ips
                            .iter()
                            .map(SourceIp::to_string)
                            .collect::<Vec<_>>()
                            .join(",")
                    }),
                    permissions: Vec::new(),
                })
                .collect(),
            mailtrap: self
                .mailtrap
                .tokens()
                .into_iter()
                .map(|t| StateToken {
                    id: t.id.to_string(),
                    permissions: t
                        .wire_resource_types()
                        .into_iter()
                        .zip(&t.permissions)
                        .map(|(wire_type, p)| StatePermission {
                            resource_type: wire_type.to_owned(),
                            resource_id: p.resource_id.clone(),
                            access_level: p.access_level,
                        })
                        .collect(),
                    last_4_digits: Some(t.last_4_digits()),
                    name: t.name,
                    expires_at: t.expires_at,
                    scope: None,
                    source_ip: None,
                })
                .collect(),
            unit_next_id: Some(self.unit.next_id()),
            mailtrap_next_id: Some(self.mailtrap.next_id()),
        };
        let text = serde_json::to_string_pretty(&state).map_err(std::io::Error::other)?;
        file.write(text.as_bytes())
    }

    /// Puts the tokens of a state back, each under its own id, and each
    /// fake's next id.
    fn restore(&self, state: State) -> Result<(), Failure> {
        let refused = |e: KitError| Failure::usage(format!("{STATE_VAR}: {e}"));
        let bad_id = |service: &str, id: &str| {
            Failure::usage(format!(
                "{STATE_VAR}: {service} token id `{id}` is not a positive integer"
            ))
        };
        for t in state.unit {
            let id =
                t.id.parse::<unit::TokenId>()
                    .map_err(|_| bad_id("Unit", &t.id))?;
            let scopes = t
                .scope
                .as_deref()
                .unwrap_or("customers")
                .split_whitespace()
                .map(str::parse::<Scope>)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| Failure::usage(format!("{STATE_VAR}: Unit token {id}: {e}")))?;
            let mut seed = UnitTokenSeed::new(t.name).scopes(scopes);
            if let Some(at) = t.expires_at {
                seed = seed.expiration(at);
            }
            if let Some(ips) = t.source_ip {
                seed = seed.source_ips(SourceIp::parse_list(&ips));
            }
            self.unit.insert_token_with_id(&id, seed).map_err(refused)?;
        }
        if let Some(next) = state.unit_next_id {
            self.unit.set_next_id(next).map_err(refused)?;
        }
        for t in state.mailtrap {
            let id =
                t.id.parse::<mailtrap::TokenId>()
                    .map_err(|_| bad_id("Mailtrap", &t.id))?;
            let mut seed = MailtrapTokenSeed::new(t.name);
            for p in t.permissions {
                seed = seed.raw_permission(p.resource_type, p.resource_id, p.access_level);
            }
            if let Some(at) = t.expires_at {
                seed = seed.expires_at(at);
            }
            if let Some(last) = t.last_4_digits {
                if last.len() != 4 || !last.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return Err(Failure::usage(format!(
                        "{STATE_VAR}: Mailtrap token {id}: last_4_digits must be 4 letters or digits"
                    )));
                }
                let head: String = (0..28)
                    .map(|_| char::from(b"0123456789abcdef"[fastrand::usize(..16)]))
                    .collect();
                seed = seed.secret(SecretString::from(format!("{head}{last}")));
            }
            self.mailtrap
                .insert_token_with_id(id, seed)
                .map_err(refused)?;
        }
        if let Some(next) = state.mailtrap_next_id {
            self.mailtrap.set_next_id(next).map_err(refused)?;
        }
        Ok(())
    }
}

/// The file of [`STATE_VAR`], with a temporary file made in its directory
/// when the command starts: proof that the directory takes a new file, so
/// that a state that cannot be written is refused before the command runs,
/// and what the state is written to before it replaces the file.
struct StateFile {
    path: PathBuf,
    temporary: Mutex<Option<NamedTempFile>>,
}

impl StateFile {
    fn open(path: PathBuf) -> Result<StateFile, Failure> {
        let temporary = NamedTempFile::new_in(directory_of(&path)).map_err(|e| {
            Failure::usage(format!(
                "{STATE_VAR}: the state cannot be written to {}: {e}",
                path.display()
            ))
        })?;
        Ok(StateFile {
            path,
            temporary: Mutex::new(Some(temporary)),
        })
    }

    /// Writes `bytes` whole, then puts them in place of the file.
    fn write(&self, bytes: &[u8]) -> std::io::Result<()> {
        let taken = self
            .temporary
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let mut temporary = match taken {
            Some(temporary) => temporary,
            None => NamedTempFile::new_in(directory_of(&self.path))?,
        };
        temporary.write_all(bytes)?;
        temporary.as_file().sync_all()?;
        temporary.persist(&self.path).map(drop).map_err(|e| e.error)
    }
}

/// The directory a file is in (`.` for a bare file name).
fn directory_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// The state in `path`, if the file exists.
fn read_state(path: &Path) -> Result<Option<State>, Failure> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Failure::usage(format!(
                "{STATE_VAR}: cannot read {}: {e}",
                path.display()
            )));
        }
    };
    serde_json::from_str(&text).map(Some).map_err(|e| {
        Failure::usage(format!(
            "{STATE_VAR}: {} is not a state: {e}",
            path.display()
        ))
    })
}

/// The retry policy on the fakes: the default's shape, with short waits.
pub fn retry() -> RetryPolicy {
    RetryPolicy::default()
        .initial_backoff(Duration::from_millis(20))
        .max_backoff(Duration::from_millis(200))
}

#[derive(Serialize, Deserialize)]
struct State {
    unit: Vec<StateToken>,
    mailtrap: Vec<StateToken>,
    /// The id the Unit fake gives next (absent in older files: past the
    /// highest id restored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    unit_next_id: Option<u64>,
    /// The id the Mailtrap fake gives next (absent in older files: past the
    /// highest id restored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    mailtrap_next_id: Option<u64>,
}

#[derive(Serialize, Deserialize)]
struct StateToken {
    id: String,
    name: String,
    expires_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    permissions: Vec<StatePermission>,
    /// Mailtrap's `last_4_digits`: a restored token's new secret ends with
    /// them, so that what a sink kept from an earlier run still reads as
    /// this token's (the state never holds a secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_4_digits: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct StatePermission {
    resource_type: String,
    resource_id: mailtrap::ResourceId,
    access_level: mailtrap::AccessLevel,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Unit(UnitOp),
    Mailtrap(MailtrapOp),
}

#[derive(Debug)]
struct ArmedFault {
    op: Op,
    fault: Fault,
}

fn parse_faults(spec: &str) -> Result<Vec<ArmedFault>, String> {
    spec.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(parse_fault)
        .collect()
}

fn parse_fault(spec: &str) -> Result<ArmedFault, String> {
    let bad = |what: &str| {
        format!(
            "{FAULT_VAR}: {what} in `{spec}`; give SERVICE:OPERATION:KIND[:times=N][:nth=N][:ms=N], \
             as unit:create:lose-answer, mailtrap:list:503:times=5 or unit:list:slow:ms=1500"
        )
    };
    let mut parts = spec.split(':');
    let (Some(service), Some(op), Some(kind)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad("too few parts"));
    };
    let op = match (service, op) {
        ("unit", "create") => Op::Unit(UnitOp::Create),
        ("unit", "list") => Op::Unit(UnitOp::List),
        ("unit", "revoke") => Op::Unit(UnitOp::Revoke),
        ("mailtrap", "list") => Op::Mailtrap(MailtrapOp::List),
        ("mailtrap", "get") => Op::Mailtrap(MailtrapOp::Get),
        ("mailtrap", "create") => Op::Mailtrap(MailtrapOp::Create),
        ("mailtrap", "delete") => Op::Mailtrap(MailtrapOp::Delete),
        ("mailtrap", "reset") => Op::Mailtrap(MailtrapOp::Reset),
        _ => return Err(bad("unknown service or operation")),
    };
    let mut fault = match kind {
        "lose-answer" => Fault::lose_answer(),
        "drop" => Fault::drop_connection(),
        "slow" => Fault::delay(Duration::from_millis(2000)),
        status => Fault::status(
            status
                .parse::<u16>()
                .ok()
                .filter(|s| (400..=599).contains(s))
                .ok_or_else(|| bad("a kind that is not lose-answer, drop or a status 400-599"))?,
        ),
    };
    for option in parts {
        let (name, value) = option
            .split_once('=')
            .ok_or_else(|| bad("an option without `=`"))?;
        let n = value
            .parse::<u32>()
            .map_err(|_| bad("an option whose value is not a number"))?;
        fault = match name {
            "times" => fault.times(n),
            "nth" => fault.nth(n),
            "ms" => fault.delayed(Duration::from_millis(u64::from(n))),
            _ => return Err(bad("an unknown option")),
        };
    }
    Ok(ArmedFault { op, fault })
}

/// The user the Unit fake holds tokens for: user 2, as in Unit's own
/// example and the README's tokens file.
fn fake_user() -> api_tokens::unit::UserId {
    api_tokens::unit::UserId::try_from(2).unwrap_or_else(|_| unreachable!("2 is a user id"))
}

/// The Mailtrap fake's default lifetime as [`DEFAULT_EXPIRY_VAR`] gives
/// it: a DURATION, or `never`.
fn parse_default_expiry(spec: &str) -> Result<Option<Duration>, Failure> {
    if spec.trim().eq_ignore_ascii_case("never") {
        return Ok(None);
    }
    let lifetime = crate::args::parse_duration(spec)
        .map_err(|e| Failure::usage(format!("{DEFAULT_EXPIRY_VAR}: {e}")))?;
    lifetime
        .to_std()
        .map(Some)
        .map_err(|_| Failure::usage(format!("{DEFAULT_EXPIRY_VAR}: must be positive")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_read_or_refused_with_the_form() {
        let faults =
            parse_faults("unit:create:lose-answer, mailtrap:list:503:times=5:nth=2").unwrap();
        assert_eq!(faults.len(), 2);
        assert_eq!(faults[0].op, Op::Unit(UnitOp::Create));
        assert_eq!(faults[1].op, Op::Mailtrap(MailtrapOp::List));
        assert_eq!(parse_faults("").unwrap().len(), 0);
        for bad in [
            "unit:create",
            "unit:reset:503",
            "unit:create:200",
            "unit:create:oops",
            "unit:create:503:times",
            "unit:create:503:often=3",
        ] {
            let err = parse_faults(bad).unwrap_err();
            assert!(err.contains(FAULT_VAR), "{err}");
        }
    }

    #[test]
    fn the_mailtrap_default_expiry_is_a_duration_or_never() {
        assert_eq!(
            parse_default_expiry("90d").unwrap(),
            Some(Duration::from_secs(90 * 86_400))
        );
        assert_eq!(parse_default_expiry("never").unwrap(), None);
        for bad in ["", "soon", "-1d"] {
            assert!(parse_default_expiry(bad).is_err(), "{bad}");
        }
    }
}
