//! Rotate, audit and reconcile: the library's lifecycle workflows, with
//! their reports printed and their failures turned into exit codes.

use api_tokens::chrono::Utc;
use api_tokens::lifecycle::{
    AuditPolicy, AuditReport, MailtrapLifecycle, MailtrapPlan, OldState, Reconcile, Rotation,
    RotationMethod, SinkSpec, TokenRef, UnitLifecycle, UnitPlan, audit as run_audit,
};
use api_tokens::{Service, mailtrap, unit};

use crate::args::{AuditArgs, ReconcileArgs, TokenFiles, UnitRotate};
use crate::context::{Ctx, Done};
use crate::credentials;
use crate::exit::Failure;
use crate::output::{self, Output};
use crate::secret_to;

/// `api-tokens unit rotate`.
///
/// # Errors
///
/// The rotation's failure: what stopped it and what it left.
pub async fn unit_rotate(
    client: unit::Client,
    user: unit::UserId,
    args: &UnitRotate,
) -> Result<Done, Failure> {
    let sink = secret_to::open(&args.secret_to).await?;
    let grant = &args.grant;
    let mut plan = UnitPlan::new(grant.scopes.iter().cloned(), grant.expiry.at(Utc::now())?)
        .source_ips(grant.source_ips.iter().cloned());
    if let Some(description) = &args.description {
        plan = plan.description(description.clone());
    }
    if args.any_source_ip {
        plan = plan.any_source_ip();
    }
    if args.skip_probe {
        plan = plan.skip_probe();
    }
    plan = plan.lease(args.lease.to_std().unwrap_or_default());
    if let Some(age) = args.if_older_than {
        // The parser accepts only positive durations.
        plan = plan.if_older_than(age.to_std().unwrap_or_default());
    }
    let life = UnitLifecycle::new(client, user);
    let rotation =
        crate::store::unit_rotate(&life, args.id.as_ref(), &args.secret_to, &plan, &*sink).await?;
    let text = rotation_text(&rotation, &sink.describe());
    Ok(Done::with_secret_on(
        Output::new(&rotation, text),
        &args.secret_to,
    ))
}

/// `api-tokens mailtrap rotate`.
///
/// # Errors
///
/// The rotation's failure: what stopped it and what it left.
pub async fn mailtrap_rotate(
    client: mailtrap::Client,
    id: Option<mailtrap::TokenId>,
    spec: &SinkSpec,
    plan: MailtrapPlan,
) -> Result<Done, Failure> {
    let sink = secret_to::open(spec).await?;
    let life = MailtrapLifecycle::new(client);
    let rotation = crate::store::mailtrap_rotate(&life, id, spec, &plan, &*sink).await?;
    let text = rotation_text(&rotation, &sink.describe());
    Ok(Done::with_secret_on(Output::new(&rotation, text), spec))
}

fn name(token: &TokenRef) -> String {
    output::cell(token.name.as_deref().unwrap_or(""))
}

/// A token's id, then its name quoted when it is known (a token an
/// earlier run retired is known by its id alone).
fn id_and_name(token: &TokenRef) -> String {
    match token.name.as_deref() {
        Some(n) if !n.is_empty() => format!("{} {:?}", token.id, output::cell(n)),
        _ => token.id.clone(),
    }
}

fn rotation_text(rotation: &Rotation, sink: &str) -> String {
    let old = &rotation.old;
    let new = &rotation.new;
    if rotation.method == RotationMethod::UpToDate {
        return if old.id == new.id {
            format!(
                "up to date: {} token {} is younger than asked, expires {}; nothing was rotated\n",
                rotation.service,
                id_and_name(old),
                output::expiry(rotation.expires_at),
            )
        } else {
            format!(
                "up to date: {} token {} was already replaced by token {}, younger than \
                 asked, expires {}; nothing was rotated\n",
                rotation.service,
                id_and_name(old),
                id_and_name(new),
                output::expiry(rotation.expires_at),
            )
        };
    }
    let mut text = format!(
        "rotated {} token {}: new token {}, expires {}; secret written to {}\n",
        rotation.service,
        id_and_name(old),
        id_and_name(new),
        output::expiry(rotation.expires_at),
        sink
    );
    if let Some(fallback) = rotation.fallback {
        text.push_str(&format!("{fallback}\n"));
    }
    text.push_str(&match &rotation.old_state {
        OldState::Revoked => format!("old token {} revoked\n", old.id),
        OldState::Deleted => format!("old token {} deleted\n", old.id),
        OldState::GracePeriod { until: Some(at) } => format!(
            "old token {} keeps working until {}\n",
            old.id,
            output::time(*at)
        ),
        OldState::GracePeriod { until: None } => {
            format!("old token {} keeps working for its grace period\n", old.id)
        }
        OldState::AlreadyGone => format!(
            "old token {} was already retired by an earlier run; its successor was kept\n",
            old.id
        ),
        OldState::Current => format!("old token {} is current\n", old.id),
        OldState::Kept { expires_at } => format!(
            "old token {} was kept; it keeps working until it expires ({})\n",
            old.id,
            output::expiry(*expires_at)
        ),
        // A state this version does not describe yet.
        _ => format!("old token {} is left as the rotation found it\n", old.id),
    });
    for change in &rotation.changes {
        text.push_str(&format!("{change}, as asked\n"));
    }
    for removed in &rotation.removed {
        text.push_str(&format!(
            "removed token {} {:?}, left by a lost answer or an earlier run\n",
            removed.id,
            name(removed)
        ));
    }
    for marker in &rotation.unconfirmed {
        text.push_str(&output::unconfirmed_line(marker));
    }
    text
}

/// The lifecycles of the services configured in the environment (or both
/// fakes).
fn services(
    files: &TokenFiles,
    ctx: &Ctx<'_>,
) -> Result<(Option<UnitLifecycle>, Option<MailtrapLifecycle>), Failure> {
    let unit_file = files.unit_token_file.as_deref();
    let mailtrap_file = files.mailtrap_token_file.as_deref();
    let (with_unit, with_mailtrap) = match ctx.fakes {
        Some(_) => (true, true),
        None => (
            credentials::configured(unit_file, "UNIT_API_TOKEN", ctx.env),
            credentials::configured(mailtrap_file, "MAILTRAP_API_TOKEN", ctx.env),
        ),
    };
    if !with_unit && !with_mailtrap {
        return Err(Failure::usage(
            "no service is configured: set UNIT_API_TOKEN (and UNIT_USER_ID) or \
             MAILTRAP_API_TOKEN, give --unit-token-file or --mailtrap-token-file, or try --fake",
        ));
    }
    let unit = if with_unit {
        let tokens = ctx.unit(unit_file)?;
        Some(UnitLifecycle::new(tokens.0, tokens.1))
    } else {
        None
    };
    let mailtrap = if with_mailtrap {
        Some(MailtrapLifecycle::new(ctx.mailtrap(mailtrap_file)?))
    } else {
        None
    };
    Ok((unit, mailtrap))
}

/// `api-tokens audit`.
///
/// # Errors
///
/// A list failed, or the audit found a kind named by `--fail-on` (after
/// the report is printed).
pub async fn audit(args: &AuditArgs, ctx: &Ctx<'_>) -> Result<Done, Failure> {
    let (unit, mailtrap) = services(&args.token_files, ctx)?;
    // The audit keeps one set of ids for both services: each id as every
    // service audited writes it, checked before any request.
    let mut keep = Vec::new();
    if unit.is_some() {
        keep.extend(kept::<unit::TokenId>(&args.keep, Service::Unit)?);
    }
    if mailtrap.is_some() {
        keep.extend(kept::<mailtrap::TokenId>(&args.keep, Service::Mailtrap)?);
    }
    let policy = keep.into_iter().fold(
        AuditPolicy::new()
            .expiring_within(to_std(args.within))
            .stale_after(to_std(args.stale_after)),
        AuditPolicy::keep,
    );
    let report = run_audit(unit.as_ref(), mailtrap.as_ref(), &policy)
        .await
        .map_err(|e| Failure::service("audit", e))?;
    let text = audit_text(&report);
    let found: Vec<&'static str> = report
        .kinds()
        .into_iter()
        .filter(|k| args.fail_on.contains(k))
        .map(|k| k.as_str())
        .collect();
    let mut done = Done::new(Output::new(&report, text));
    if !found.is_empty() {
        done.then = Some(Failure::Findings(found));
    }
    Ok(done)
}

fn to_std(span: api_tokens::chrono::Duration) -> std::time::Duration {
    // The parsers accept only positive durations.
    span.to_std().unwrap_or_default()
}

fn audit_text(report: &AuditReport) -> String {
    let mut rows = Vec::new();
    for service in &report.services {
        for token in &service.tokens {
            let findings = if token.findings.is_empty() {
                "ok".to_owned()
            } else {
                token
                    .findings
                    .iter()
                    .map(|f| f.kind.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            };
            rows.push(vec![
                service.service.to_string(),
                token.id.clone(),
                output::cell(token.name.as_deref().unwrap_or("")),
                output::expiry(token.expires_at),
                findings,
            ]);
        }
    }
    let mut text = output::table(&["SERVICE", "ID", "NAME", "EXPIRES", "FINDINGS"], &rows);
    let counts: Vec<String> = report
        .kinds()
        .into_iter()
        .map(|k| format!("{} {k}", report.count(k)))
        .collect();
    if counts.is_empty() {
        text.push_str("nothing flagged\n");
    } else {
        text.push_str(&format!("flagged: {}\n", counts.join(", ")));
    }
    text
}

/// `api-tokens reconcile`: removes the orphans selected, or with
/// `--dry-run` lists them and removes nothing.
///
/// # Errors
///
/// An id of `--keep` that is not a token id of a service reconciled (before
/// any request); a list or a removal failed (what was removed before stays
/// removed).
pub async fn reconcile(args: &ReconcileArgs, ctx: &Ctx<'_>) -> Result<Done, Failure> {
    let (unit, mailtrap) = services(&args.token_files, ctx)?;
    let mut markers = args.marker.iter().cloned();
    let what = match (args.older_than, markers.next()) {
        (Some(age), first) => first
            .into_iter()
            .fold(Reconcile::older_than(to_std(age)), Reconcile::and_marker),
        (None, Some(first)) => Reconcile::marker(first),
        (None, None) => Reconcile::older_than(std::time::Duration::from_secs(3600)),
    };
    let what = markers.fold(what, Reconcile::and_marker).at(Utc::now());
    // Each service's ids, checked and written as that service writes them
    // (`0004` is no Unit id, and is Mailtrap's 4), before any request.
    let unit = match unit {
        Some(life) => Some((life, kept::<unit::TokenId>(&args.keep, Service::Unit)?)),
        None => None,
    };
    let mailtrap = match mailtrap {
        Some(life) => Some((
            life,
            kept::<mailtrap::TokenId>(&args.keep, Service::Mailtrap)?,
        )),
        None => None,
    };
    let mut found = Vec::new();
    if let Some((unit, keep)) = &unit {
        found.extend(orphans(unit, &what, keep, args.dry_run).await?);
    }
    if let Some((mailtrap, keep)) = &mailtrap {
        found.extend(orphans(mailtrap, &what, keep, args.dry_run).await?);
    }
    let verb = if args.dry_run {
        "would remove"
    } else {
        "removed"
    };
    let mut text: String = found
        .iter()
        .map(|t| format!("{verb} {} token {} {:?}\n", t.service, t.id, name(t)))
        .collect();
    if found.is_empty() {
        text.push_str("no orphan found\n");
    }
    if args.dry_run {
        text.push_str("dry run: nothing was removed\n");
    }
    Ok(Done::new(Output::new(&found, text)))
}

/// A service's lifecycle as `reconcile` drives it.
trait Reconciles {
    /// The service, for failures.
    const SERVICE: Service;

    /// The orphans `what` selects, removed, or with `dry_run` only listed.
    async fn orphans(&self, what: &Reconcile, dry_run: bool) -> api_tokens::Result<Vec<TokenRef>>;
}

/// Implements [`Reconciles`] for each lifecycle given, of its service.
macro_rules! reconciles {
    ($($life:ty => $service:expr),+ $(,)?) => {$(
        impl Reconciles for $life {
            const SERVICE: Service = $service;

            async fn orphans(
                &self,
                what: &Reconcile,
                dry_run: bool,
            ) -> api_tokens::Result<Vec<TokenRef>> {
                if dry_run {
                    self.reconcile_preview(what).await
                } else {
                    self.reconcile(what).await
                }
            }
        }
    )+};
}

reconciles!(UnitLifecycle => Service::Unit, MailtrapLifecycle => Service::Mailtrap);

/// The orphans of one service that `what` selects but for the ids `keep`,
/// removed, or with `dry_run` only listed.
///
/// # Errors
///
/// The list or a removal failed.
async fn orphans<L: Reconciles>(
    life: &L,
    what: &Reconcile,
    keep: &[String],
    dry_run: bool,
) -> Result<Vec<TokenRef>, Failure> {
    let what = what.clone().keep_all(keep);
    life.orphans(&what, dry_run)
        .await
        .map_err(|e| Failure::service(format!("{} reconcile", L::SERVICE), e))
}

/// The ids of `--keep` as service `service` writes them.
///
/// # Errors
///
/// A usage failure naming an id that is not one of the service's.
fn kept<Id>(keep: &[String], service: Service) -> Result<Vec<String>, Failure>
where
    Id: std::str::FromStr + std::fmt::Display,
    Id::Err: std::fmt::Display,
{
    keep.iter()
        .map(|text| {
            text.parse::<Id>().map(|id| id.to_string()).map_err(|e| {
                Failure::usage(format!(
                    "--keep {}: not a {service} token id: {e}",
                    text.escape_debug()
                ))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 27, item 6: a resumed run knows the old token by its id
    /// alone, and printed it with an empty name (`rotated Unit token 2 ""`).
    #[test]
    fn a_resumed_rotation_prints_no_empty_name() {
        let rotation: Rotation = serde_json::from_value(serde_json::json!({
            "service": "unit",
            "old": { "service": "unit", "id": "2", "name": null },
            "new": { "service": "unit", "id": "5", "name": "CI deploy [at:x from:2]" },
            "expires_at": null,
            "method": "resumed",
            "old_state": { "state": "already-gone" },
            "removed": [],
            "fallback": null
        }))
        .expect("a rotation");
        let text = rotation_text(&rotation, "file unit.token");
        assert!(
            text.starts_with("rotated Unit token 2: new token 5 \"CI deploy [at:x from:2]\""),
            "{text}"
        );
        assert!(!text.contains("\"\""), "{text}");
    }
}
