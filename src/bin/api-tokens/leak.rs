//! `api-tokens leak` and `api-tokens detectors`: the leak response of
//! [`api_tokens::leak`] on the command line, and the scanner rules that
//! find the secrets it takes.

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::path::Path;

use api_tokens::Error;
use api_tokens::leak::{self, Evidence, Hint, LeakError, Response};
use api_tokens::lifecycle::{MailtrapLifecycle, SecretSink, UnitLifecycle};
use api_tokens::secrecy::SecretString;
use serde::Serialize;
use serde_json::Value;

use crate::args::{DetectorFormat, DetectorsArgs, LeakArgs};
use crate::context::{Ctx, Done};
use crate::exit::{FAILURE, Failure, UNMATCHED, USAGE};
use crate::output::Output;
use crate::terminal::shown;

/// The rule ids of [`GITLEAKS_RULES`].
const UNIT_RULE: &str = "unit-org-api-token";
const MAILTRAP_RULE: &str = "mailtrap-api-token";

/// Rules in gitleaks' format (betterleaks loads them too). Unit's Org API
/// tokens by their format: a PASETO `v2.public.` token whose payload is a
/// JSON object (base64url `eyJ`, 20 characters at least: Unit's own
/// example, `{"role":"org","userId":"2"}`, is 36), with its signature or
/// footer after a dot or not. Mailtrap's 32 hexadecimal characters only
/// with Mailtrap context, since bare hex is everywhere (hashes, ids):
/// within 80 characters after a mention of Mailtrap (a variable, a key, a
/// host such as send.api.mailtrap.io) or in an `Api-Token` header
/// (Mailtrap's own header name), or followed on its line by a mention of
/// Mailtrap (`curl -H "Api-Token: …" https://send.api.mailtrap.io/…`). The
/// secret is each rule's one capture group.
pub const GITLEAKS_RULES: &str = r#"# Unit and Mailtrap API tokens, for gitleaks and betterleaks
# (`api-tokens detectors --format gitleaks`). Hand the JSON report of a scan
# to `api-tokens leak --from-report FILE`.
title = "api-tokens: Unit and Mailtrap API tokens"

[[rules]]
id = "unit-org-api-token"
description = "Unit Org API token (PASETO v2.public, a signed JSON payload)"
regex = '''\b(v2\.public\.eyJ[A-Za-z0-9_-]{17,}(?:\.[A-Za-z0-9_-]+)?)'''
keywords = ["v2.public."]

[[rules]]
id = "mailtrap-api-token"
description = "Mailtrap API token (32 hexadecimal characters) within 80 characters after a mention of Mailtrap, or in an Api-Token header"
regex = '''(?i)(?:mailtrap[\s\S]{0,80}?|\bapi-token["']?\s*:\s*["']?)\b([a-f0-9]{32})\b'''
keywords = ["mailtrap", "api-token"]

[[rules]]
id = "mailtrap-api-token-then-mention"
description = "Mailtrap API token (32 hexadecimal characters) followed on its line by a mention of Mailtrap"
regex = '''(?i)\b([a-f0-9]{32})\b[^\r\n]{0,200}?mailtrap'''
keywords = ["mailtrap"]
"#;

/// `api-tokens detectors`: prints the rules.
pub fn detectors(args: &DetectorsArgs) -> Done {
    match args.format {
        DetectorFormat::Gitleaks => Done::new(Output::new(
            serde_json::json!({ "format": "gitleaks", "rules": GITLEAKS_RULES }),
            GITLEAKS_RULES.trim_end(),
        )),
    }
}

/// How one secret's response ended.
enum Outcome {
    /// Handled and proved refused; the ledger's failure to take the
    /// evidence, if it failed.
    Done(Box<Evidence>, Option<String>),
    /// No token of ours, or several: nothing touched.
    Unmatched(String),
    /// The replacement asked for cannot be planned (no Unit scopes known,
    /// a store holding another live token's record): nothing touched.
    Refused(String),
    /// A call, the replacement, the proof or the ledger failed.
    Failed(String),
}

/// A path for a terminal ([`shown`]).
fn shown_path(path: &Path) -> String {
    shown(&path.display().to_string())
}

/// A `leak` failure with its exit code, its message [`shown`].
fn leak_failure(message: &str, code: u8) -> Failure {
    Failure::Leak {
        message: shown(message),
        code,
    }
}

/// `--ledger FILE`, opened (created when missing) for append before any
/// request, so that evidence is never lost to an unusable path.
#[derive(Default)]
struct Ledger {
    file: Option<(String, std::fs::File)>,
}

impl Ledger {
    /// Opens `path` for append, creating it.
    fn open(path: Option<&Path>) -> Result<Ledger, Failure> {
        let Some(path) = path else {
            return Ok(Ledger::default());
        };
        let name = shown_path(path);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| {
                Failure::usage(format!(
                    "--ledger {name}: cannot be opened for append ({}); nothing was touched",
                    shown(&e.to_string())
                ))
            })?;
        Ok(Ledger {
            file: Some((name, file)),
        })
    }

    /// Appends `evidence`, one JSON line; why it could not.
    fn append(&self, evidence: &Evidence) -> Result<(), String> {
        let Some((name, file)) = &self.file else {
            return Ok(());
        };
        let failed = |e: &dyn std::fmt::Display| {
            format!(
                "the ledger {name} could not take the evidence of {} token {}: {}",
                evidence.service,
                evidence.token_id,
                shown(&e.to_string())
            )
        };
        let mut line = serde_json::to_string(evidence).map_err(|e| failed(&e))?;
        line.push('\n');
        // One write of the whole line, at the end of the file.
        let mut file = file;
        file.write_all(line.as_bytes())
            .and_then(|()| file.flush())
            .map_err(|e| failed(&e))
    }
}

/// The lifecycles of the services the secrets need, from the environment
/// (or the fakes), made before any request.
#[derive(Default)]
struct Services {
    unit: Option<UnitLifecycle>,
    mailtrap: Option<MailtrapLifecycle>,
}

impl Services {
    /// The lifecycles of Unit when `unit`, and of Mailtrap when
    /// `mailtrap`; the failures of those that are not configured.
    fn open(
        args: &LeakArgs,
        ctx: &Ctx<'_>,
        unit: bool,
        mailtrap: bool,
    ) -> Result<Services, Vec<Failure>> {
        let files = &args.token_files;
        let mut failures = Vec::new();
        let mut services = Services::default();
        if unit {
            match ctx.unit(files.unit_token_file.as_deref()) {
                Ok((client, user)) => services.unit = Some(UnitLifecycle::new(client, user)),
                Err(failure) => failures.push(failure),
            }
        }
        if mailtrap {
            match ctx.mailtrap(files.mailtrap_token_file.as_deref()) {
                Ok(client) => services.mailtrap = Some(MailtrapLifecycle::new(client)),
                Err(failure) => failures.push(failure),
            }
        }
        if failures.is_empty() {
            Ok(services)
        } else {
            Err(failures)
        }
    }

    /// The variables Unit (when `unit`) and Mailtrap (when `mailtrap`)
    /// need that are not set: all of them at once, where a client's
    /// failure names the first.
    fn missing(args: &LeakArgs, ctx: &Ctx<'_>, unit: bool, mailtrap: bool) -> Vec<&'static str> {
        if ctx.fakes.is_some() {
            return Vec::new();
        }
        let files = &args.token_files;
        let mut needed = Vec::new();
        if unit {
            if files.unit_token_file.is_none() {
                needed.push("UNIT_API_TOKEN");
            }
            needed.push("UNIT_USER_ID");
        }
        if mailtrap && files.mailtrap_token_file.is_none() {
            needed.push("MAILTRAP_API_TOKEN");
        }
        needed.retain(|var| (ctx.env)(var).is_none());
        needed
    }
}

/// `api-tokens leak`.
///
/// # Errors
///
/// A usage failure (exit 2), before any request, for an unreadable or
/// empty secret, report, ledger or sink, a report that is not a gitleaks
/// or betterleaks one, a replacement that cannot be planned, or missing
/// credentials; [`Failure::Leak`] with exit 7 when a secret matches none
/// or several of our tokens, 1 when a service, the replacement, the proof
/// or the ledger failed.
pub async fn leak(args: &LeakArgs, ctx: &Ctx<'_>) -> Result<Done, Failure> {
    if args.from_report.is_some() && args.secret_to.is_some() {
        return Err(Failure::usage(
            "--secret-to takes one secret's replacement: not with --from-report",
        ));
    }
    let ledger = Ledger::open(args.ledger.as_deref())?;
    if let Some(report) = &args.from_report {
        return from_report(report, args, ctx, &ledger).await;
    }
    let secret = read_secret(args.secret_file.as_deref())?;
    let (unit, mailtrap) = match leak::hint(&secret) {
        Some(Hint::Unit(_)) => (true, false),
        Some(Hint::Mailtrap { .. }) => (false, true),
        Some(_) | None => (false, false),
    };
    let services = Services::open(args, ctx, unit, mailtrap).map_err(|failures| {
        failures
            .into_iter()
            .next()
            .unwrap_or_else(|| Failure::usage("the service is not configured"))
    })?;
    let sink = match &args.secret_to {
        Some(spec) => Some(crate::secret_to::open(spec).await?),
        None => None,
    };
    let how = response(args, sink.as_deref());
    match respond(&secret, &how, &services, &ledger).await {
        Outcome::Done(evidence, unrecorded) => {
            let output = Output::new(&*evidence, shown(&describe(&evidence)));
            let mut done = match &args.secret_to {
                Some(spec) => Done::with_secret_on(output, spec),
                None => Done::new(output),
            };
            done.then = unrecorded.map(|message| leak_failure(&message, FAILURE));
            Ok(done)
        }
        Outcome::Unmatched(message) => Err(leak_failure(&message, UNMATCHED)),
        Outcome::Refused(message) => Err(leak_failure(&message, USAGE)),
        Outcome::Failed(message) => Err(leak_failure(&message, FAILURE)),
    }
}

/// The secret, from a file or standard input, without surrounding white
/// space.
fn read_secret(path: Option<&Path>) -> Result<SecretString, Failure> {
    let mut text = String::new();
    match path {
        Some(path) => {
            text = std::fs::read_to_string(path)
                .map_err(|e| Failure::usage(format!("--secret-file {}: {e}", shown_path(path))))?;
        }
        None => {
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| Failure::usage(format!("standard input: {e}")))?;
        }
    }
    let secret = text.trim();
    if secret.is_empty() {
        return Err(Failure::usage(
            "no secret: give it on standard input or with --secret-file PATH",
        ));
    }
    Ok(SecretString::from(secret.to_owned()))
}

/// What to do beyond removing the leaked token: the replacement's sink,
/// `--replace` and `--scope`.
fn response<'a>(args: &LeakArgs, sink: Option<&'a dyn SecretSink>) -> Response<'a> {
    let mut how = Response::new();
    if let Some(sink) = sink {
        how = how.store_in(sink);
        if args.replace {
            how = how.replace();
        }
        if !args.scopes.is_empty() {
            how = how.unit_scopes(args.scopes.iter().cloned());
        }
    }
    how
}

/// Responds to one secret on the service its format names, and appends
/// the evidence to the ledger; never stops short of an outcome.
async fn respond(
    secret: &SecretString,
    how: &Response<'_>,
    services: &Services,
    ledger: &Ledger,
) -> Outcome {
    let not_configured = |service: &str| {
        Outcome::Failed(format!(
            "secret {}: {service} is not configured",
            leak::fingerprint(secret)
        ))
    };
    let result = match leak::hint(secret) {
        Some(Hint::Unit(_)) => match &services.unit {
            Some(life) => leak::respond_unit(life, secret, how).await,
            None => return not_configured("Unit"),
        },
        Some(Hint::Mailtrap { .. }) => match &services.mailtrap {
            Some(life) => leak::respond_mailtrap(life, secret, how).await,
            None => return not_configured("Mailtrap"),
        },
        Some(_) | None => {
            return Outcome::Unmatched(format!(
                "secret {} is neither a Unit Org API token (v2.public. and base64url \
                 characters and dots, with a JSON payload whose ids are Unit ids) nor a \
                 Mailtrap API token (32 hexadecimal characters); nothing was touched",
                leak::fingerprint(secret)
            ));
        }
    };
    // The record of what was done is kept even when the response failed
    // after acting.
    let recorded = |message: String, evidence: &Evidence| match ledger.append(evidence) {
        Ok(()) => Outcome::Failed(message),
        Err(unrecorded) => Outcome::Failed(format!("{message}; {unrecorded}")),
    };
    match result {
        Ok(evidence) => {
            let unrecorded = ledger.append(&evidence).err();
            Outcome::Done(Box::new(evidence), unrecorded)
        }
        Err(e) if e.is_unmatched() => Outcome::Unmatched(e.to_string()),
        Err(e @ LeakError::Unplanned { .. }) => {
            let needs_scopes = matches!(
                &e,
                LeakError::Unplanned {
                    source: Error::Invalid { field: "scope", .. },
                    ..
                }
            );
            let mut message = e.to_string();
            if needs_scopes {
                message.push_str(
                    " (--scope SCOPE), or --secret-to a store whose record of it keeps them",
                );
            }
            Outcome::Refused(message)
        }
        Err(LeakError::Unreplaced { evidence, source }) => {
            let needs_scopes = matches!(&source, Error::Invalid { field: "scope", .. });
            let mut message = LeakError::Unreplaced {
                evidence: evidence.clone(),
                source,
            }
            .to_string();
            if needs_scopes {
                message.push_str(
                    "; the replacement needs --scope SCOPE (mint it now with \
                     `api-tokens unit create --scope SCOPE … --secret-to SINK`)",
                );
            }
            recorded(message, &evidence)
        }
        Err(LeakError::NotRefused { evidence }) => {
            let message = LeakError::NotRefused {
                evidence: evidence.clone(),
            }
            .to_string();
            recorded(message, &evidence)
        }
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

/// One evidence record for people.
fn describe(e: &Evidence) -> String {
    let name = e.token_name.as_deref().unwrap_or("");
    let mut text = format!(
        "{} token {} {name:?}: identified by {}, live before: {}, action: {}, refused after: {}",
        e.service,
        e.token_id,
        word(&e.identified_by),
        word(&e.live_before),
        word(&e.action),
        if e.refused_after { "yes" } else { "no" },
    );
    if let Some(r) = &e.replacement {
        text.push_str(&format!(", replacement: {} in {}", r.id, r.stored_in));
    }
    text.push_str(&format!(", secret {}", e.fingerprint));
    text
}

/// A unit enum's serde name (`already_refused`).
fn word(value: &impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => s,
        _ => String::from("?"),
    }
}

/// A secret of a report that was not handled, without the secret.
#[derive(Serialize)]
struct Unhandled {
    fingerprint: String,
    locations: Vec<String>,
    reason: String,
}

/// What `--from-report` did.
#[derive(Serialize, Default)]
struct Summary {
    handled: Vec<Evidence>,
    unmatched: Vec<Unhandled>,
    failed: Vec<Unhandled>,
    /// Findings of other rules, left alone.
    skipped: usize,
}

/// Whether a finding of this rule is a token of these services.
fn ours(rule: &str) -> bool {
    let rule = rule.to_ascii_lowercase();
    rule == UNIT_RULE
        || rule == MAILTRAP_RULE
        || rule.contains("mailtrap")
        || rule.starts_with("unit-")
}

/// One finding of a report.
struct Finding {
    rule: String,
    /// `None` when the finding holds no secret value (none, empty, or
    /// redacted).
    secret: Option<SecretString>,
    location: String,
}

/// Whether a report's secret value was redacted (gitleaks and betterleaks
/// `--redact`: `REDACTED`, or a prefix and `...`).
fn redacted(value: &str) -> bool {
    value.contains("REDACTED") || value.ends_with("...")
}

/// The findings of a gitleaks report (a list of `{RuleID, Secret, File,
/// StartLine}`) or a betterleaks one (`{findings: [{rule_id, match: {value},
/// location: {path, start_line}}]}`); why the report is neither.
fn findings(report: &Value) -> Result<Vec<Finding>, String> {
    let read = |i: usize, f: &Value, keys: [&str; 4]| -> Result<Finding, String> {
        let [rule, secret, path, line] = keys;
        let field = |key: &str| key.split('.').fold(f, |v, k| &v[k]);
        let Some(rule) = f.is_object().then(|| field(rule).as_str()).flatten() else {
            return Err(format!("finding {} is not an object with a {rule}", i + 1));
        };
        let secret = field(secret)
            .as_str()
            .map(str::trim)
            .filter(|s| !s.is_empty() && !redacted(s))
            .map(|s| SecretString::from(s.to_owned()));
        Ok(Finding {
            rule: rule.to_owned(),
            secret,
            location: format!(
                "{}:{}",
                field(path).as_str().unwrap_or("?"),
                field(line).as_u64().unwrap_or(0)
            ),
        })
    };
    let (list, keys, kind) = match report {
        Value::Array(list) => (list, ["RuleID", "Secret", "File", "StartLine"], "gitleaks"),
        Value::Object(map) => match map.get("findings") {
            Some(Value::Array(list)) => (
                list,
                [
                    "rule_id",
                    "match.value",
                    "location.path",
                    "location.start_line",
                ],
                "betterleaks",
            ),
            _ => {
                return Err(String::from(
                    "not a gitleaks report (a list of findings) nor a betterleaks one \
                     ({\"findings\": [...]})",
                ));
            }
        },
        _ => {
            return Err(String::from(
                "not a gitleaks report (a list of findings) nor a betterleaks one \
                 ({\"findings\": [...]})",
            ));
        }
    };
    list.iter()
        .enumerate()
        .map(|(i, f)| read(i, f, keys))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not a {kind} report: {e}"))
}

/// `--from-report`: every Unit and Mailtrap finding of a gitleaks or
/// betterleaks JSON report, once per secret. The report, the services its
/// findings need and the ledger are checked before any request; then
/// every secret is handled, whatever became of the others, and the
/// summary printed. The exit code is the worst: 1 when one failed, else 7
/// when one matched none or several of our tokens, else 0.
async fn from_report(
    report: &Path,
    args: &LeakArgs,
    ctx: &Ctx<'_>,
    ledger: &Ledger,
) -> Result<Done, Failure> {
    let name = shown_path(report);
    let usage = |e: &str| {
        Failure::usage(format!(
            "--from-report {name}: {}; nothing was touched",
            shown(e)
        ))
    };
    let text = std::fs::read_to_string(report).map_err(|e| usage(&e.to_string()))?;
    // The report holds the secrets: its parse errors are not quoted.
    let report: Value = serde_json::from_str(&text).map_err(|e| {
        usage(&format!(
            "not JSON, at line {} column {}",
            e.line(),
            e.column()
        ))
    })?;
    let findings = findings(&report).map_err(|e| usage(&e))?;
    let mut summary = Summary::default();
    // One response per secret, with every place it was found.
    let mut secrets: BTreeMap<String, (SecretString, Vec<String>)> = BTreeMap::new();
    let (mut unit, mut mailtrap) = (false, false);
    for Finding {
        rule,
        secret,
        location,
    } in findings
    {
        if !ours(&rule) {
            summary.skipped += 1;
            continue;
        }
        let Some(secret) = secret else {
            return Err(usage(&format!(
                "the {rule} finding at {location} holds no secret value (a report written \
                 with --redact?): scan again without it"
            )));
        };
        match leak::hint(&secret) {
            Some(Hint::Unit(_)) => unit = true,
            Some(Hint::Mailtrap { .. }) => mailtrap = true,
            Some(_) | None => {}
        }
        secrets
            .entry(leak::fingerprint(&secret))
            .or_insert_with(|| (secret, Vec::new()))
            .1
            .push(location);
    }
    let services = Services::open(args, ctx, unit, mailtrap).map_err(|failures| {
        let missing = Services::missing(args, ctx, unit, mailtrap);
        let reasons: Vec<String> = if missing.is_empty() {
            failures.iter().map(ToString::to_string).collect()
        } else {
            vec![format!(
                "{} not set (a service's token may come from --unit-token-file or \
                 --mailtrap-token-file instead)",
                missing.join(", ")
            )]
        };
        usage(&format!(
            "its findings need {}, not configured here: {}",
            match (unit, mailtrap) {
                (true, true) => "Unit and Mailtrap",
                (true, false) => "Unit",
                _ => "Mailtrap",
            },
            reasons.join("; ")
        ))
    })?;
    let how = Response::new();
    let mut unrecorded = Vec::new();
    for (fingerprint, (secret, locations)) in secrets {
        match respond(&secret, &how, &services, ledger).await {
            Outcome::Done(evidence, failed) => {
                unrecorded.extend(failed);
                summary.handled.push(*evidence);
            }
            Outcome::Unmatched(reason) => summary.unmatched.push(Unhandled {
                fingerprint,
                locations,
                reason,
            }),
            Outcome::Failed(reason) | Outcome::Refused(reason) => summary.failed.push(Unhandled {
                fingerprint,
                locations,
                reason,
            }),
        }
    }
    let mut lines: Vec<String> = summary.handled.iter().map(describe).collect();
    for (what, list) in [
        ("unmatched", &summary.unmatched),
        ("failed", &summary.failed),
    ] {
        for u in list {
            lines.push(format!(
                "{what}: {} at {}: {}",
                u.fingerprint,
                u.locations.join(", "),
                u.reason
            ));
        }
    }
    lines.extend(unrecorded.iter().map(|e| format!("not in the ledger: {e}")));
    lines.push(format!(
        "{} handled, {} unmatched, {} failed, {} findings of other rules skipped",
        summary.handled.len(),
        summary.unmatched.len(),
        summary.failed.len(),
        summary.skipped
    ));
    let code = if !summary.failed.is_empty() || !unrecorded.is_empty() {
        Some(FAILURE)
    } else if !summary.unmatched.is_empty() {
        Some(UNMATCHED)
    } else {
        None
    };
    let text: Vec<String> = lines.iter().map(|l| shown(l)).collect();
    let mut done = Done::new(Output::new(&summary, text.join("\n")));
    if let Some(code) = code {
        let not_done = summary.failed.len() + summary.unmatched.len();
        let message = if unrecorded.is_empty() {
            format!("{not_done} of the report's secrets were not handled and proved")
        } else {
            format!(
                "{not_done} of the report's secrets were not handled and proved, and the \
                 evidence of {} is not in the ledger",
                unrecorded.len()
            )
        };
        done.then = Some(leak_failure(&message, code));
    }
    Ok(done)
}
