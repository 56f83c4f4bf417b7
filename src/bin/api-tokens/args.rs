//! The command line's grammar: commands, options and the parsers of their
//! values. Every value is checked here, before anything is sent.

use std::path::PathBuf;

use api_tokens::chrono::{DateTime, Duration, Utc};
use api_tokens::lifecycle::{FindingKind, Marker, SinkSpec};
use api_tokens::{mailtrap, unit};
use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

/// Manage API tokens on Unit and Mailtrap: list, create, revoke, rotate,
/// audit and reconcile. Credentials come from the environment
/// (UNIT_API_TOKEN, UNIT_API_URL, UNIT_USER_ID; MAILTRAP_API_TOKEN,
/// MAILTRAP_API_URL, MAILTRAP_ACCOUNT_ID) or from --token-file, never from
/// an argument. A new secret goes only to the sink named by --secret-to.
#[derive(Debug, Parser)]
#[command(name = "api-tokens", version, max_term_width = 100)]
#[command(after_help = crate::exit::help())]
pub struct Cli {
    /// How to print results: a table for people, or one JSON document.
    #[arg(long, value_enum, default_value_t = Format::Table, global = true, display_order = 100)]
    pub output: Format,

    /// Show what the client does on standard error: -v for each call, -vv
    /// for detail. Secrets never appear.
    #[arg(short, long, action = ArgAction::Count, global = true, display_order = 101)]
    pub verbose: u8,

    /// Run against in-process fakes of both services, seeded with a few
    /// tokens: every command works with no account and no environment.
    #[arg(long, global = true, display_order = 102)]
    pub fake: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns.
    Table,
    /// One JSON document on standard output.
    Json,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Unit's Org API tokens of the user UNIT_USER_ID.
    Unit(UnitArgs),
    /// Mailtrap's API tokens of MAILTRAP_ACCOUNT_ID, or of the token's own account.
    Mailtrap(MailtrapArgs),
    /// Report expired, expiring, never-expiring, over-privileged,
    /// unrestricted and orphaned tokens on every configured service.
    Audit(AuditArgs),
    /// Remove the orphans that interrupted creates left behind.
    ///
    /// An orphan is a token carrying a marker older than --older-than, or
    /// one named by --marker. Every token this tool mints carries its
    /// marker for life (neither service renames a token), so tokens made
    /// by `create` or `rotate` whose secrets are held qualify too once they
    /// are old enough: name those with --keep, and look first with
    /// --dry-run. The newest replacement of a token still live is never
    /// removed, nor a token without a marker.
    Reconcile(ReconcileArgs),
    /// Compare a tokens file with what the services list: per entry create, rotate, replace or none.
    Plan(PlanArgs),
    /// Carry out the plan of a tokens file: mint, rotate, replace (and prune orphans).
    Apply(ApplyArgs),
    /// Respond to a leaked secret (read from standard input, or --secret-file):
    /// identify its token, verify it, revoke or delete it, prove it refused,
    /// and print the evidence.
    Leak(LeakArgs),
    /// Print secret-scanner rules that find Unit and Mailtrap tokens.
    Detectors(DetectorsArgs),
}

/// `api-tokens unit …`.
#[derive(Debug, Args)]
pub struct UnitArgs {
    /// Read Unit's token from this file (one trailing newline is stripped)
    /// instead of UNIT_API_TOKEN.
    #[arg(long, value_name = "PATH", global = true, display_order = 99)]
    pub token_file: Option<PathBuf>,

    /// What to do on Unit.
    #[command(subcommand)]
    pub command: UnitCommand,
}

/// The Unit commands.
#[derive(Debug, Subcommand)]
pub enum UnitCommand {
    /// List the user's tokens.
    List,
    /// Create a token and hand its secret to a sink.
    Create(UnitCreate),
    /// Revoke a token.
    Revoke {
        /// The token's id.
        id: unit::TokenId,
    },
    /// Replace a token by a new one: create, check the new secret, store
    /// it, then revoke the old one.
    Rotate(UnitRotate),
}

/// `api-tokens unit create`.
#[derive(Debug, Args)]
pub struct UnitCreate {
    /// What the token is for.
    #[arg(long, value_name = "TEXT", value_parser = parse_label)]
    pub description: String,

    /// What the new token may do and where from.
    #[command(flatten)]
    pub grant: UnitGrant,

    /// Where the secret goes: file:PATH, env-file:PATH:VAR, - (standard output),
    /// aws-sm:NAME (an AWS Secrets Manager secret, name or ARN; feature aws) or
    /// vault:MOUNT/PATH (a Vault or OpenBao KV v2 secret; feature vault).
    #[arg(long, value_name = "SINK")]
    pub secret_to: SinkSpec,
}

/// `api-tokens unit rotate`.
#[derive(Debug, Args)]
pub struct UnitRotate {
    /// The id of the token to replace (with --secret-to aws-sm:NAME or
    /// vault:MOUNT/PATH, by default the one the secret's current record names).
    pub id: Option<unit::TokenId>,

    /// What the new token may do and where from. Unit's list shows neither
    /// scopes nor resources, so they are stated again here.
    #[command(flatten)]
    pub grant: UnitGrant,

    /// Where the new secret goes: file:PATH, env-file:PATH:VAR, - (standard output),
    /// aws-sm:NAME (an AWS Secrets Manager secret, name or ARN; feature aws) or
    /// vault:MOUNT/PATH (a Vault or OpenBao KV v2 secret; feature vault).
    #[arg(long, value_name = "SINK")]
    pub secret_to: SinkSpec,

    /// The new token's description (default: the old token's).
    #[arg(long, value_name = "TEXT", value_parser = parse_label)]
    pub description: Option<String>,

    /// Do not prove the new secret with a call made with it (for a token
    /// whose source addresses exclude this machine).
    #[arg(long)]
    pub skip_probe: bool,

    /// Let the new token be used from any address, dropping the old
    /// token's source addresses (by default the new token keeps them;
    /// --source-ip replaces them).
    #[arg(long, conflicts_with = "source_ips")]
    pub any_source_ip: bool,

    /// How long another run's new token counts as a rotation still in
    /// flight, which this run yields to (90d, 12h, 30m, 0s).
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_lease)]
    pub lease: Duration,

    /// Rotate only a token at least this old (90d, 12h, 30m): a younger
    /// one, or the young replacement of a token already rotated, is up to
    /// date (exit 0, nothing minted). Several schedulers firing at once
    /// make one rotation.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub if_older_than: Option<Duration>,
}

/// Scopes, expiry and source addresses of a new Unit token.
#[derive(Debug, Args)]
pub struct UnitGrant {
    /// A scope of the new token (customers, accounts-write, …); repeat the
    /// option or separate scopes with commas. Only the scopes this version
    /// knows are accepted, so that a typo never reaches the service.
    #[arg(long = "scope", value_name = "SCOPE", required = true, num_args = 1.., value_delimiter = ',', value_parser = parse_scope)]
    pub scopes: Vec<unit::Scope>,

    /// When the new token expires.
    #[command(flatten)]
    pub expiry: UnitExpiry,

    /// An address or CIDR range the token may be used from; repeat the
    /// option or separate them with commas. Default: any address for
    /// create; for rotate, the old token's addresses, which this replaces.
    #[arg(long = "source-ip", value_name = "IP_OR_CIDR", num_args = 1.., value_delimiter = ',')]
    pub source_ips: Vec<unit::SourceIp>,
}

/// `--expires-in` or `--expires-at`, exactly one.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct UnitExpiry {
    /// The token expires this long from now (90d, 12h, 30m, 1d12h).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub expires_in: Option<Duration>,

    /// The token expires at this moment (RFC 3339, e.g. 2030-01-31T12:00:00Z).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub expires_at: Option<DateTime<Utc>>,
}

impl UnitExpiry {
    /// The moment the token expires, counted from `now`.
    ///
    /// # Errors
    ///
    /// A usage failure when `--expires-in` gives a date out of range.
    pub fn at(&self, now: DateTime<Utc>) -> Result<DateTime<Utc>, crate::exit::Failure> {
        match (self.expires_at, self.expires_in) {
            (Some(at), _) => Ok(at),
            (None, Some(span)) => api_tokens::lifecycle::shifted("expires-in", now, span)
                .map_err(|e| crate::exit::Failure::usage(format!("--expires-in: {e}"))),
            // clap's group makes one of them required.
            (None, None) => Ok(now),
        }
    }
}

/// `api-tokens mailtrap …`.
#[derive(Debug, Args)]
pub struct MailtrapArgs {
    /// Read Mailtrap's token from this file (one trailing newline is
    /// stripped) instead of MAILTRAP_API_TOKEN.
    #[arg(long, value_name = "PATH", global = true, display_order = 99)]
    pub token_file: Option<PathBuf>,

    /// What to do on Mailtrap.
    #[command(subcommand)]
    pub command: MailtrapCommand,
}

/// The Mailtrap commands.
#[derive(Debug, Subcommand)]
pub enum MailtrapCommand {
    /// List the account's tokens.
    List,
    /// Show one token.
    Get {
        /// The token's id.
        id: mailtrap::TokenId,
    },
    /// Delete a token.
    Delete {
        /// The token's id.
        id: mailtrap::TokenId,
    },
    /// Create a token and hand its secret to a sink.
    Create(MailtrapCreate),
    /// Reset a token: Mailtrap mints a new one (renamed "NAME NEW_ID") and
    /// lets the old one work for 12 more hours.
    Reset {
        /// The token's id.
        id: mailtrap::TokenId,
        /// Where the new secret goes: file:PATH, env-file:PATH:VAR, - (standard output),
        /// aws-sm:NAME (an AWS Secrets Manager secret, name or ARN; feature aws) or
        /// vault:MOUNT/PATH (a Vault or OpenBao KV v2 secret; feature vault).
        #[arg(long, value_name = "SINK")]
        secret_to: SinkSpec,
        /// When the new token expires: never, default (Mailtrap's default
        /// lifetime) or a moment (RFC 3339). Without it, the new token keeps
        /// the old one's expiry date (one that never expires is replaced by
        /// one that never does; an old token already expired needs it).
        #[arg(long, value_name = "never|default|TIME", value_parser = parse_mailtrap_expiry)]
        expires: Option<mailtrap::Expiry>,
    },
    /// Replace a token by a new one: mint, check the new secret, store it,
    /// then let the old one run out its grace period or delete it.
    Rotate {
        /// The id of the token to replace (with --secret-to aws-sm:NAME or
        /// vault:MOUNT/PATH, by default the one the secret's current record names).
        id: Option<mailtrap::TokenId>,
        /// Where the new secret goes: file:PATH, env-file:PATH:VAR, - (standard output),
        /// aws-sm:NAME (an AWS Secrets Manager secret, name or ARN; feature aws) or
        /// vault:MOUNT/PATH (a Vault or OpenBao KV v2 secret; feature vault).
        #[arg(long, value_name = "SINK")]
        secret_to: SinkSpec,
        /// Delete the old token once the new secret is stored, instead of
        /// letting it work through its grace period.
        #[arg(long)]
        delete_old: bool,
        /// Instead of a reset (whose new token is named "NAME NEW_ID"),
        /// create a new token with the old one's permissions, named
        /// "NAME [at:… from:ID]": neither service can rename a token, and
        /// the marker is what lets a lost answer be found. The old token is
        /// deleted once the new secret is stored.
        #[arg(long)]
        recreate: bool,
        /// The former name of --recreate, which it means: the new token
        /// does not keep the name.
        #[arg(long, hide = true)]
        keep_name: bool,
        /// How long another run's new token counts as a rotation still in
        /// flight, which this run yields to (90d, 12h, 30m, 0s).
        #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_lease)]
        lease: Duration,
        /// When the new token expires: never, default (Mailtrap's default
        /// lifetime) or a moment (RFC 3339). Without it, the new token keeps
        /// the old one's expiry date (one that never expires is replaced by
        /// one that never does; an old token already expired needs it).
        #[arg(long, value_name = "never|default|TIME", value_parser = parse_mailtrap_expiry)]
        expires: Option<mailtrap::Expiry>,
        /// Rotate only a token at least this old (90d, 12h, 30m): a younger
        /// one, or the young replacement of a token already rotated, is up
        /// to date (exit 0, nothing minted). Mailtrap lists no creation
        /// time: a token whose age cannot be known (a reset's, once the
        /// token it replaced is gone) is rotated.
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        if_older_than: Option<Duration>,
    },
}

/// `api-tokens mailtrap create`.
#[derive(Debug, Args)]
pub struct MailtrapCreate {
    /// The token's name.
    #[arg(long, value_name = "NAME", value_parser = parse_label)]
    pub name: String,

    /// A permission: TYPE:ID:LEVEL, as account:3229:admin or
    /// sandbox:17:viewer (TYPE: account, project, sandbox, domain, billing, organization, email_campaign_permission_scope or email_template; LEVEL: admin, viewer, 100 or 10); repeat the
    /// option for more.
    #[arg(long = "permission", value_name = "TYPE:ID:LEVEL", required = true, value_parser = parse_permission)]
    pub permissions: Vec<mailtrap::Permission>,

    /// When the token expires: never, default (Mailtrap's default lifetime)
    /// or a moment (RFC 3339).
    #[arg(long, value_name = "never|default|TIME", default_value = "default", value_parser = parse_mailtrap_expiry)]
    pub expires: mailtrap::Expiry,

    /// Where the secret goes: file:PATH, env-file:PATH:VAR, - (standard output),
    /// aws-sm:NAME (an AWS Secrets Manager secret, name or ARN; feature aws) or
    /// vault:MOUNT/PATH (a Vault or OpenBao KV v2 secret; feature vault).
    #[arg(long, value_name = "SINK")]
    pub secret_to: SinkSpec,
}

/// Where `audit` and `reconcile` read tokens from files.
#[derive(Debug, Args)]
pub struct TokenFiles {
    /// Read Unit's token from this file instead of UNIT_API_TOKEN.
    #[arg(long, value_name = "PATH")]
    pub unit_token_file: Option<PathBuf>,

    /// Read Mailtrap's token from this file instead of MAILTRAP_API_TOKEN.
    #[arg(long, value_name = "PATH")]
    pub mailtrap_token_file: Option<PathBuf>,
}

/// `api-tokens audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// A token that expires within this long counts as expiring (90d, 12h, 30m).
    #[arg(long, value_name = "DURATION", default_value = "30d", value_parser = parse_duration)]
    pub within: Duration,

    /// Flag as orphans the tokens whose marker is older than this (90d, 12h, 30m).
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_duration)]
    pub stale_after: Duration,

    /// Exit with code 3 when the audit finds any of these kinds: expired,
    /// expiring, never-expires, over-privileged, unrestricted, orphan.
    #[arg(long, value_name = "KIND,...", value_delimiter = ',', value_parser = parse_kind)]
    pub fail_on: Vec<FindingKind>,

    /// Never flag this token as an orphan (one whose secret is held, as a
    /// token made by `create` or `rotate`, whose marker stays for life);
    /// repeat the option or separate ids with commas.
    #[arg(long, value_name = "ID", value_delimiter = ',', value_parser = parse_keep)]
    pub keep: Vec<String>,

    /// Token files, per service.
    #[command(flatten)]
    pub token_files: TokenFiles,
}

/// `api-tokens reconcile`.
#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// Remove only orphans older than this (90d, 12h, 30m): a younger one
    /// may belong to a create still running elsewhere. Default: 1h, unless
    /// --marker is given.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub older_than: Option<Duration>,

    /// Never remove this token (one whose secret is held); repeat the
    /// option or separate ids with commas. Each id must be a token id of
    /// every service reconciled.
    #[arg(long, value_name = "ID", value_delimiter = ',', value_parser = parse_keep)]
    pub keep: Vec<String>,

    /// List what would be removed, and remove nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Remove the token carrying this marker, whatever its age (as a
    /// failure with exit code 4 names it, e.g. [at:t4k2ab-7f3k9q2m]);
    /// repeat the option for more. Without --older-than, only these.
    #[arg(long, value_name = "MARKER")]
    pub marker: Vec<Marker>,

    /// Token files, per service.
    #[command(flatten)]
    pub token_files: TokenFiles,
}

/// A lease: a DURATION as [`parse_duration`] reads it, or `0s` (no lease:
/// every other run's token counts as a leftover).
pub fn parse_lease(text: &str) -> Result<Duration, String> {
    if text.trim_end_matches(['s', 'm', 'h', 'd', 'w']) == "0" {
        return Ok(Duration::zero());
    }
    parse_duration(text)
}

/// A DURATION, as [`api_tokens::ensure::parse_duration`] reads it (the
/// tokens file's rule): `90d`, `12h`, `30m`, `45s`, `2w`, or a sum such as
/// `1d12h`; positive.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    api_tokens::ensure::parse_duration(text).map_err(reason)
}

/// A token's label (a description, a name): refused when it ends with a
/// tokens file's namespace tag (` [ns:NAME]`), which only a tokens file
/// with that `namespace` adds: a token so named would be taken for that
/// file's, and removed by its `apply --prune`. The library refuses the
/// rest (blank, control characters, a marker) before any request.
pub fn parse_label(text: &str) -> Result<String, String> {
    if api_tokens::ensure::is_namespace_tagged(text) {
        return Err(
            "ends with something shaped like a tokens file's namespace tag \
                    (`[ns:…]`); only a tokens file with that `namespace` adds one"
                .to_owned(),
        );
    }
    Ok(text.to_owned())
}

/// What a refusal of the library says, for clap to print after the option.
fn reason(e: api_tokens::Error) -> String {
    match e {
        api_tokens::Error::Invalid { reason, .. } => reason,
        other => other.to_string(),
    }
}

/// A SCOPE of a Unit token, one this version knows: an unknown one is a
/// typo here, though the library keeps unknown scopes in what Unit answers.
pub fn parse_scope(text: &str) -> Result<unit::Scope, String> {
    unit::Scope::known(text).map_err(reason)
}

/// An ID for `reconcile --keep`: a token id of at least one service (the
/// command checks it against each service it reconciles).
pub fn parse_keep(text: &str) -> Result<String, String> {
    let text = text.trim();
    if text.parse::<unit::TokenId>().is_ok() || text.parse::<mailtrap::TokenId>().is_ok() {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "`{}` is not a token id; give the id as `list` shows it, e.g. 4 or 12345",
            text.escape_debug()
        ))
    }
}

/// A KIND of audit finding.
pub fn parse_kind(text: &str) -> Result<FindingKind, String> {
    text.parse::<FindingKind>().map_err(|_| {
        format!(
            "`{}` is not a kind; expected expired, expiring, never-expires, over-privileged, \
             unrestricted or orphan",
            text.escape_debug()
        )
    })
}

/// A TIME: RFC 3339, as `2030-01-31T12:00:00Z` or `2030-01-31T13:00:00+01:00`.
pub fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            format!("{e}; give a moment in RFC 3339, as 2030-01-31T12:00:00Z or 2030-01-31T13:00:00+01:00")
        })
}

/// Mailtrap's `--expires`: `never`, `default` or a TIME.
pub fn parse_mailtrap_expiry(text: &str) -> Result<mailtrap::Expiry, String> {
    match text.trim() {
        "never" => Ok(mailtrap::Expiry::Never),
        "default" => Ok(mailtrap::Expiry::ServerDefault),
        other => parse_time(other)
            .map(mailtrap::Expiry::At)
            .map_err(|e| format!("expected `never`, `default` or a moment: {e}")),
    }
}

/// A permission `TYPE:ID:LEVEL`, as [`mailtrap::Permission`] reads it.
pub fn parse_permission(text: &str) -> Result<mailtrap::Permission, String> {
    text.parse().map_err(reason)
}

/// `api-tokens plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The tokens file (TOML): [[mailtrap]] and [[unit]] entries.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: PathBuf,

    /// Exit with 6 when any action is pending, 0 when none.
    #[arg(long)]
    pub detailed_exitcode: bool,

    /// Count the orphans as pending, as `apply --prune` would remove them.
    #[arg(long)]
    pub prune: bool,

    /// Token files, per service.
    #[command(flatten)]
    pub token_files: TokenFiles,
}

/// `api-tokens apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The tokens file (TOML): [[mailtrap]] and [[unit]] entries.
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: PathBuf,

    /// Also remove the orphans: tokens this crate's markers show as its
    /// own that no entry names.
    #[arg(long)]
    pub prune: bool,

    /// Token files, per service.
    #[command(flatten)]
    pub token_files: TokenFiles,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_grammar_is_consistent() {
        Cli::command().debug_assert();
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(128))]

        /// Issue 27, item 5: every DURATION and TIME option, given any
        /// number, is refused by clap (exit 2) or gives a date: never a
        /// panic (`--expires-in 1000000y` overflowed a date).
        #[test]
        fn every_span_and_time_option_is_refused_or_usable(
            n in proptest::prop_oneof![0..100_000u64, proptest::num::u64::ANY],
            unit in proptest::sample::select(vec!["s", "m", "h", "d", "w", "y", "months"]),
            year in 0..10_000u32,
        ) {
            let span = format!("{n}{unit}");
            let time = format!("{year:04}-06-30T12:00:00Z");
            let lines: [Vec<&str>; 10] = [
                vec!["unit", "rotate", "1", "--scope", "customers", "--expires-in", "1d", "--if-older-than", &span, "--secret-to", "-"],
                vec!["mailtrap", "rotate", "1", "--if-older-than", &span, "--secret-to", "-"],
                vec!["unit", "create", "--description", "d", "--scope", "customers", "--expires-in", &span, "--secret-to", "-"],
                vec!["unit", "rotate", "1", "--scope", "customers", "--expires-in", &span, "--secret-to", "-"],
                vec!["unit", "rotate", "1", "--scope", "customers", "--expires-at", &time, "--lease", &span, "--secret-to", "-"],
                vec!["mailtrap", "rotate", "1", "--lease", &span, "--expires", &time, "--secret-to", "-"],
                vec!["mailtrap", "create", "--name", "n", "--permission", "account:1:admin", "--expires", &time, "--secret-to", "-"],
                vec!["audit", "--within", &span],
                vec!["audit", "--stale-after", &span],
                vec!["reconcile", "--older-than", &span],
            ];
            let now = Utc::now();
            for line in lines {
                let Ok(cli) = Cli::try_parse_from(std::iter::once("api-tokens").chain(line.iter().copied())) else {
                    continue;
                };
                let expiry = match &cli.command {
                    Command::Unit(UnitArgs { command: UnitCommand::Create(c), .. }) => Some(&c.grant.expiry),
                    Command::Unit(UnitArgs { command: UnitCommand::Rotate(r), .. }) => {
                        proptest::prop_assert!(r.lease <= api_tokens::lifecycle::MAX_SPAN);
                        proptest::prop_assert!(r.if_older_than.is_none_or(|a| a <= api_tokens::lifecycle::MAX_SPAN));
                        Some(&r.grant.expiry)
                    }
                    Command::Audit(a) => {
                        proptest::prop_assert!(a.within <= api_tokens::lifecycle::MAX_SPAN);
                        proptest::prop_assert!(a.stale_after <= api_tokens::lifecycle::MAX_SPAN);
                        None
                    }
                    _ => None,
                };
                if let Some(expiry) = expiry {
                    proptest::prop_assert!(expiry.at(now).is_ok(), "{line:?}");
                }
            }
        }
    }

    #[test]
    fn durations() {
        for (text, span) in [
            ("90d", Duration::days(90)),
            ("12h", Duration::hours(12)),
            ("30m", Duration::minutes(30)),
            ("1d12h", Duration::hours(36)),
        ] {
            assert_eq!(parse_duration(text), Ok(span), "{text}");
        }
        for bad in ["", "90", "0d", "d", "-3d", "3 fortnights", "1000000y"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
            assert!(parse_lease(bad).is_err() || bad == "0d", "{bad}");
        }
    }

    #[test]
    fn scopes_are_known_ones_only() {
        assert_eq!(parse_scope("customers"), Ok(unit::Scope::Customers));
        assert_eq!(
            parse_scope("accounts-write"),
            Ok(unit::Scope::AccountsWrite)
        );
        for bad in ["bogus", "Customers!", ""] {
            let err = parse_scope(bad).unwrap_err();
            assert!(err.contains("not a scope"), "{err}");
            assert!(err.contains("customers, customers-write"), "{err}");
        }
    }

    #[test]
    fn kept_ids_are_token_ids() {
        assert_eq!(parse_keep(" 4 "), Ok("4".to_owned()));
        assert_eq!(parse_keep("0004"), Ok("0004".to_owned()));
        for bad in ["abc", "", "-4", "4a"] {
            assert!(parse_keep(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_help_lists_every_exit_code() {
        let help = Cli::command().render_long_help().to_string();
        for (code, meaning) in crate::exit::CODES {
            let first = meaning
                .split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ");
            assert!(help.contains(&format!("  {code}  ")), "{code}: {help}");
            assert!(help.contains(&first), "{first}: {help}");
        }
    }

    #[test]
    fn times() {
        let at = parse_time("2030-01-31T13:00:00+01:00").unwrap();
        assert_eq!(at.to_rfc3339(), "2030-01-31T12:00:00+00:00");
        assert!(parse_time("2030-01-31").is_err());
        assert_eq!(parse_mailtrap_expiry("never"), Ok(mailtrap::Expiry::Never));
        assert_eq!(
            parse_mailtrap_expiry("default"),
            Ok(mailtrap::Expiry::ServerDefault)
        );
        assert_eq!(
            parse_mailtrap_expiry("2030-01-31T12:00:00Z"),
            Ok(mailtrap::Expiry::At(at))
        );
        assert!(parse_mailtrap_expiry("tomorrow").is_err());
    }

    #[test]
    fn permissions() {
        let p = parse_permission("account:3229:admin").unwrap();
        assert_eq!(p.resource_type, mailtrap::ResourceType::Account);
        assert_eq!(p.resource_id, mailtrap::ResourceId::from(3229));
        assert_eq!(p.access_level, mailtrap::AccessLevel::Admin);
        let p = parse_permission("sandbox:17:10").unwrap();
        assert_eq!(p.access_level, mailtrap::AccessLevel::Viewer);
        // The library's refusal, its reason alone: clap adds the context.
        let err = parse_permission("account:0:admin").unwrap_err();
        assert!(
            err.starts_with("the resource id must not be 0; give TYPE:ID:LEVEL"),
            "{err}"
        );
    }
}

/// `api-tokens leak`.
#[derive(Debug, Args)]
pub struct LeakArgs {
    /// Read the leaked secret from this file (surrounding white space is
    /// ignored) instead of standard input. Never an argument.
    #[arg(long, value_name = "PATH", conflicts_with = "from_report")]
    pub secret_file: Option<PathBuf>,

    /// Handle every Unit and Mailtrap finding of a gitleaks or betterleaks
    /// JSON report, once per secret, with a summary.
    ///
    /// Before any request, the report is checked (a gitleaks or betterleaks
    /// JSON report whose findings of these services hold their secrets, not
    /// redacted) and so is the configuration of every service its findings
    /// need: exit 2 otherwise. Then every secret is handled, whatever became
    /// of the others, and the summary printed; the exit code is the worst
    /// outcome: 1 when any failed (a service call, the proof, the ledger),
    /// else 7 when any matched none or several of our tokens, else 0.
    ///
    /// Reports that work, from the rules of `api-tokens detectors --format gitleaks > rules.toml`
    /// (one PATH per scan; never --redact, which takes the secrets out):
    ///
    /// gitleaks (8.19 and later): `gitleaks dir -c rules.toml --report-format json --report-path report.json PATH`, or a repository's history: `gitleaks git -c rules.toml --report-format json --report-path report.json REPO`
    ///
    /// betterleaks: `betterleaks -c rules.toml --silent -o report.json PATH`, or a repository's history: `betterleaks git -c rules.toml --silent -o report.json REPO` (--silent keeps the secrets it finds off the terminal)
    #[arg(long, value_name = "FILE")]
    pub from_report: Option<PathBuf>,

    /// Mint a replacement into this sink: file:PATH, env-file:PATH:VAR, - (standard output),
    /// aws-sm:NAME (an AWS Secrets Manager secret, name or ARN; feature aws) or
    /// vault:MOUNT/PATH (a Vault or OpenBao KV v2 secret; feature vault). Without --replace,
    /// after the leaked token is removed. A store holding the record of another live token
    /// (or of another service's) is refused, with nothing touched (exit 2): the replacement
    /// would take its place.
    #[arg(long, value_name = "SINK")]
    pub secret_to: Option<SinkSpec>,

    /// Store the replacement before the leaked token is removed (a rotation),
    /// so the services that use it keep running.
    #[arg(long, requires = "secret_to")]
    pub replace: bool,

    /// A scope of a Unit replacement (customers, accounts-write, …); repeat the
    /// option or separate scopes with commas. Unit does not list a token's
    /// scopes: without it, the scopes that the record of the leaked token in
    /// the --secret-to store keeps (aws-sm:, vault:), else those the leaked
    /// token's payload names. Both may name none: then --replace is refused
    /// before anything is touched (exit 2), and without --replace the leaked
    /// token is revoked and no replacement minted (exit 1, saying so).
    #[arg(long = "scope", value_name = "SCOPE", num_args = 1.., value_delimiter = ',', value_parser = parse_scope, requires = "secret_to")]
    pub scopes: Vec<unit::Scope>,

    /// Append each evidence record to this file, one JSON line each. It is
    /// opened for append (created when missing) before any request: a path
    /// that cannot take it is exit 2, with nothing touched.
    #[arg(long, value_name = "FILE")]
    pub ledger: Option<PathBuf>,

    /// Token files, per service.
    #[command(flatten)]
    pub token_files: TokenFiles,
}

/// `api-tokens detectors`.
#[derive(Debug, Args)]
pub struct DetectorsArgs {
    /// The scanner whose rule format to print (betterleaks loads gitleaks').
    #[arg(long, value_enum, default_value_t = DetectorFormat::Gitleaks)]
    pub format: DetectorFormat,
}

/// The rule formats of `api-tokens detectors`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DetectorFormat {
    /// gitleaks' TOML configuration, which betterleaks loads too.
    Gitleaks,
}
