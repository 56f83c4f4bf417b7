//! `api-tokens leak` and `api-tokens detectors`: the leak response of
//! [`api_tokens::leak`] on the command line, and the scanner rules that
//! find the secrets it takes.

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

use api_tokens::Error;
use api_tokens::leak::{self, Evidence, Hint, LeakError, Response};
use api_tokens::lifecycle::{MailtrapLifecycle, SecretSink, UnitLifecycle};
use api_tokens::secrecy::SecretString;
use serde::Serialize;
use serde_json::Value;

use crate::args::{DetectorFormat, DetectorsArgs, LeakArgs};
use crate::context::{Ctx, Done};
use crate::exit::{FAILURE, Failure, UNMATCHED};
use crate::output::Output;

/// The rule ids of [`GITLEAKS_RULES`].
const UNIT_RULE: &str = "unit-org-api-token";
const MAILTRAP_RULE: &str = "mailtrap-api-token";

/// Rules in gitleaks' format (betterleaks loads them too): Unit's Org API
/// tokens by their format, a PASETO `v2.public.` token whose payload is a
/// JSON object (base64url `eyJ`); Mailtrap's 32 hexadecimal characters only
/// within 80 characters after a mention of Mailtrap (a variable, a key, a
/// host such as send.api.mailtrap.io), since bare hex is everywhere
/// (hashes, ids). The secret is the rule's capture group.
pub const GITLEAKS_RULES: &str = r#"# Unit and Mailtrap API tokens, for gitleaks and betterleaks
# (`api-tokens detectors --format gitleaks`). Hand the JSON report of a scan
# to `api-tokens leak --from-report FILE`.
title = "api-tokens: Unit and Mailtrap API tokens"

[[rules]]
id = "unit-org-api-token"
description = "Unit Org API token (PASETO v2.public, a signed JSON payload)"
regex = '''\b(v2\.public\.eyJ[A-Za-z0-9_-]{40,}(?:\.[A-Za-z0-9_-]+)?)'''
keywords = ["v2.public."]

[[rules]]
id = "mailtrap-api-token"
description = "Mailtrap API token (32 hexadecimal characters) within 80 characters after a mention of Mailtrap"
regex = '''(?i)mailtrap[\s\S]{0,80}?\b([a-f0-9]{32})\b'''
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
    /// Handled and proved refused.
    Done(Box<Evidence>),
    /// No token of ours, or several: nothing touched.
    Unmatched(String),
    /// A call, the replacement, or the proof failed.
    Failed(String),
}

/// `api-tokens leak`.
///
/// # Errors
///
/// A usage failure (exit 2) for an unreadable or empty secret, report or
/// sink, or missing credentials; [`Failure::Leak`] with exit 7 when a
/// secret matches none or several of our tokens, 1 when a service failed.
pub async fn leak(args: &LeakArgs, ctx: &Ctx<'_>) -> Result<Done, Failure> {
    if let Some(report) = &args.from_report {
        if args.secret_to.is_some() {
            return Err(Failure::usage(
                "--secret-to takes one secret's replacement: not with --from-report",
            ));
        }
        return from_report(report, args, ctx).await;
    }
    let secret = read_secret(args.secret_file.as_deref())?;
    if args.replace && args.scopes.is_empty() {
        if let Some(Hint::Unit(claims)) = leak::hint(&secret) {
            if claims
                .scope
                .as_deref()
                .is_none_or(|s| s.split_whitespace().next().is_none())
            {
                return Err(Failure::usage(format!(
                    "secret {}: --replace mints the replacement before the leaked token is \
                     revoked, and Unit does not list a token's scopes: the leaked token's \
                     payload names none, so give the replacement's with --scope SCOPE; \
                     nothing was touched",
                    leak::fingerprint(&secret)
                )));
            }
        }
    }
    let sink = match &args.secret_to {
        Some(spec) => Some(crate::secret_to::open(spec).await?),
        None => None,
    };
    let outcome = respond(&secret, args, ctx, sink.as_deref()).await?;
    match outcome {
        Outcome::Done(evidence) => {
            append(args.ledger.as_deref(), &evidence)?;
            let output = Output::new(&*evidence, describe(&evidence));
            Ok(match &args.secret_to {
                Some(spec) => Done::with_secret_on(output, spec),
                None => Done::new(output),
            })
        }
        Outcome::Unmatched(message) => Err(Failure::Leak {
            message,
            code: UNMATCHED,
        }),
        Outcome::Failed(message) => Err(Failure::Leak {
            message,
            code: FAILURE,
        }),
    }
}

/// The secret, from a file or standard input, without surrounding white
/// space.
fn read_secret(path: Option<&Path>) -> Result<SecretString, Failure> {
    let mut text = String::new();
    match path {
        Some(path) => {
            text = std::fs::read_to_string(path)
                .map_err(|e| Failure::usage(format!("--secret-file {}: {e}", path.display())))?;
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

/// Responds to one secret on the service its format names.
async fn respond(
    secret: &SecretString,
    args: &LeakArgs,
    ctx: &Ctx<'_>,
    sink: Option<&dyn SecretSink>,
) -> Result<Outcome, Failure> {
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
    let files = &args.token_files;
    let result = match leak::hint(secret) {
        Some(Hint::Unit(_)) => {
            let (client, user) = ctx.unit(files.unit_token_file.as_deref())?;
            leak::respond_unit(&UnitLifecycle::new(client, user), secret, &how).await
        }
        Some(Hint::Mailtrap { .. }) => {
            let client = ctx.mailtrap(files.mailtrap_token_file.as_deref())?;
            leak::respond_mailtrap(&MailtrapLifecycle::new(client), secret, &how).await
        }
        Some(_) | None => {
            return Ok(Outcome::Unmatched(format!(
                "secret {} is neither a Unit Org API token (v2.public. with a JSON payload) \
                 nor a Mailtrap API token (32 hexadecimal characters); nothing was touched",
                leak::fingerprint(secret)
            )));
        }
    };
    Ok(match result {
        Ok(evidence) => Outcome::Done(Box::new(evidence)),
        Err(e) if e.is_unmatched() => Outcome::Unmatched(e.to_string()),
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
            // The record of what was done is kept all the same.
            append(args.ledger.as_deref(), &evidence)?;
            Outcome::Failed(message)
        }
        Err(LeakError::NotRefused { evidence }) => {
            let message = LeakError::NotRefused {
                evidence: evidence.clone(),
            }
            .to_string();
            // The record of what was done is kept all the same.
            append(args.ledger.as_deref(), &evidence)?;
            Outcome::Failed(message)
        }
        Err(e) => Outcome::Failed(e.to_string()),
    })
}

/// Appends `evidence` to the ledger, one JSON line.
fn append(ledger: Option<&Path>, evidence: &Evidence) -> Result<(), Failure> {
    let Some(path) = ledger else {
        return Ok(());
    };
    let failed = |e: std::io::Error| Failure::Leak {
        message: format!(
            "the ledger {} could not take the evidence of token {}: {e}",
            path.display(),
            evidence.token_id
        ),
        code: FAILURE,
    };
    let line = serde_json::to_string(evidence).map_err(|e| failed(std::io::Error::other(e)))?;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(failed)?;
    writeln!(file, "{line}").map_err(failed)
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
    secret: SecretString,
    location: String,
}

/// The findings of a gitleaks report (a list of `{RuleID, Secret, File,
/// StartLine}`) or a betterleaks one (`{findings: [{rule_id, match: {value},
/// location: {path, start_line}}]}`); `None` for a finding without a secret.
fn findings(report: &Value) -> Option<Vec<Option<Finding>>> {
    let read = |f: &Value, rule: &Value, secret: &Value, path: &Value, line: &Value| {
        Some(Finding {
            rule: rule.as_str()?.to_owned(),
            secret: SecretString::from(secret.as_str()?.trim().to_owned()),
            location: format!(
                "{}:{}",
                path.as_str().unwrap_or("?"),
                line.as_u64().unwrap_or(0)
            ),
        })
        .filter(|_| f.is_object())
    };
    if let Some(list) = report.as_array() {
        return Some(
            list.iter()
                .map(|f| read(f, &f["RuleID"], &f["Secret"], &f["File"], &f["StartLine"]))
                .collect(),
        );
    }
    let list = report.get("findings")?.as_array()?;
    Some(
        list.iter()
            .map(|f| {
                let at = &f["location"];
                read(
                    f,
                    &f["rule_id"],
                    &f["match"]["value"],
                    &at["path"],
                    &at["start_line"],
                )
            })
            .collect(),
    )
}

/// `--from-report`: every Unit and Mailtrap finding of a gitleaks or
/// betterleaks JSON report, once per secret.
async fn from_report(report: &PathBuf, args: &LeakArgs, ctx: &Ctx<'_>) -> Result<Done, Failure> {
    let usage = |e: String| Failure::usage(format!("--from-report {}: {e}", report.display()));
    let text = std::fs::read_to_string(report).map_err(|e| usage(e.to_string()))?;
    // The report holds the secrets: its parse errors are not quoted.
    let report: Value = serde_json::from_str(&text).map_err(|e| {
        usage(format!(
            "not JSON, at line {} column {}",
            e.line(),
            e.column()
        ))
    })?;
    let findings = findings(&report).ok_or_else(|| {
        usage(String::from(
            "not a gitleaks report (a list of findings) nor a betterleaks one ({\"findings\": [...]})",
        ))
    })?;
    let mut summary = Summary::default();
    // One response per secret, with every place it was found.
    let mut secrets: BTreeMap<String, (SecretString, Vec<String>)> = BTreeMap::new();
    for finding in findings {
        let Some(Finding {
            rule,
            secret,
            location,
        }) = finding
        else {
            summary.skipped += 1;
            continue;
        };
        if !ours(&rule) {
            summary.skipped += 1;
            continue;
        }
        secrets
            .entry(leak::fingerprint(&secret))
            .or_insert_with(|| (secret, Vec::new()))
            .1
            .push(location);
    }
    for (fingerprint, (secret, locations)) in secrets {
        match respond(&secret, args, ctx, None).await? {
            Outcome::Done(evidence) => {
                append(args.ledger.as_deref(), &evidence)?;
                summary.handled.push(*evidence);
            }
            Outcome::Unmatched(reason) => summary.unmatched.push(Unhandled {
                fingerprint,
                locations,
                reason,
            }),
            Outcome::Failed(reason) => summary.failed.push(Unhandled {
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
    lines.push(format!(
        "{} handled, {} unmatched, {} failed, {} findings of other rules skipped",
        summary.handled.len(),
        summary.unmatched.len(),
        summary.failed.len(),
        summary.skipped
    ));
    let code = if !summary.failed.is_empty() {
        Some(FAILURE)
    } else if !summary.unmatched.is_empty() {
        Some(UNMATCHED)
    } else {
        None
    };
    let mut done = Done::new(Output::new(&summary, lines.join("\n")));
    if let Some(code) = code {
        done.then = Some(Failure::Leak {
            message: format!(
                "{} of the report's secrets were not handled and proved",
                summary.failed.len() + summary.unmatched.len()
            ),
            code,
        });
    }
    Ok(done)
}
