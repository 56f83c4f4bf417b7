//! `plan` and `apply`: a declarative tokens file against the services,
//! through the library's `ensure`.

use std::io::{IsTerminal as _, Write as _};

use api_tokens::ensure::{
    self, ActionKind, ApplyOptions, ApplyReport, Plan, PlanError, Services, TokensFile,
};
use api_tokens::lifecycle::SinkSpec;

use crate::args::{ApplyArgs, PlanArgs, TokenFiles};
use crate::context::{Ctx, Done};
use crate::exit::{self, Failure};
use crate::output::{self, Output};

/// `api-tokens plan -f FILE`.
///
/// # Errors
///
/// A usage failure for a bad file (before any request) or a missing
/// service; the list's failure; with `--detailed-exitcode`, exit code 6
/// when actions are pending.
pub async fn plan(args: &PlanArgs, ctx: &Ctx<'_>) -> Result<Done, Failure> {
    let file = load(&args.file)?;
    let services = services(&file, &args.token_files, ctx)?;
    let plan = ensure::plan(&file, &services).await.map_err(plan_failure)?;
    let mut done = Done::new(Output::new(
        &plan,
        plan_table(&plan, args.prune, file.namespace()),
    ));
    let pending = plan.pending(args.prune).count();
    if args.detailed_exitcode && pending > 0 {
        done.then = Some(Failure::Ensure {
            message: format!("{pending} action(s) pending"),
            code: exit::PENDING,
        });
    }
    Ok(done)
}

/// `api-tokens apply -f FILE`.
///
/// # Errors
///
/// As [`plan`]; once the report is printed, exit code 1 when an action
/// failed (4 when a create's answer was lost and not reconciled).
pub async fn apply(args: &ApplyArgs, ctx: &Ctx<'_>) -> Result<Done, Failure> {
    let file = load(&args.file)?;
    let services = services(&file, &args.token_files, ctx)?;
    let plan = ensure::plan(&file, &services).await.map_err(plan_failure)?;
    let mut options = ApplyOptions::new().prune(args.prune);
    if std::io::stderr().is_terminal() {
        options = options.on_outcome(|outcome, place, total| {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(
                err,
                "\r\x1b[2K[{place}/{total}] {}",
                output::cell(&outcome.to_string())
            );
        });
    }
    let report = ensure::apply(&file, &services, &plan, &options).await;
    let stdout_taken = file
        .mailtrap()
        .iter()
        .map(|e| &e.secret_to)
        .chain(file.unit().iter().map(|e| &e.secret_to))
        .any(|s| *s == SinkSpec::Stdout);
    let failed: Vec<_> = report.failed().collect();
    let then = (!failed.is_empty()).then(|| {
        let unknown = failed
            .iter()
            .any(|o| o.result.as_ref().is_err_and(|e| e.is_outcome_unknown()));
        Failure::Ensure {
            message: format!(
                "{} of {} actions failed; apply again once the cause is fixed: it converges",
                failed.len(),
                report.actions.len()
            ),
            code: if unknown {
                exit::OUTCOME_UNKNOWN
            } else {
                exit::FAILURE
            },
        }
    });
    Ok(Done {
        output: Output::new(&report, apply_table(&report)),
        stdout_taken,
        then,
    })
}

fn load(path: &std::path::Path) -> Result<TokensFile, Failure> {
    ensure::load(path).map_err(|e| Failure::usage(e.to_string()))
}

fn plan_failure(e: PlanError) -> Failure {
    match e {
        PlanError::NotConfigured(message) => Failure::usage(message),
        // A sink that cannot take a secret is a fault of the file, found
        // before any request.
        refused @ PlanError::SinkRefused { .. } => Failure::usage(refused.to_string()),
        PlanError::List {
            service,
            scope,
            source,
        } => Failure::service(format!("{service} list of {scope}"), source),
        other => Failure::Ensure {
            message: other.to_string(),
            code: exit::FAILURE,
        },
    }
}

/// The clients the file needs: the fakes', or the environment's, with one
/// Mailtrap client per account the file names (same token, URL, connections
/// and pacer).
fn services(file: &TokensFile, files: &TokenFiles, ctx: &Ctx<'_>) -> Result<Services, Failure> {
    let mut services = Services::new();
    if !file.unit().is_empty() {
        let needs_user = file.needs_default_unit_user();
        // Entries that all name their user need no UNIT_USER_ID.
        let env = |name: &str| match (ctx.env)(name) {
            None if name == "UNIT_USER_ID" && !needs_user => Some("1".to_owned()),
            value => value,
        };
        let unit_ctx = Ctx {
            env: &env,
            fakes: ctx.fakes,
            retry: ctx.retry.clone(),
        };
        let (client, user) = unit_ctx.unit(files.unit_token_file.as_deref())?;
        services = services.unit(client, needs_user.then_some(user));
    } else if file.namespace().is_some() {
        // No Unit entry left: the file's namespace may still hold tokens
        // of the configured user, its orphans. Without Unit configured,
        // there is nothing to look at.
        if let Ok((client, user)) = ctx.unit(files.unit_token_file.as_deref()) {
            services = services.unit(client, Some(user));
        }
    }
    if !file.mailtrap().is_empty() {
        let token_file = files.mailtrap_token_file.as_deref();
        let needs_default = ctx.fakes.is_some() || file.needs_default_mailtrap();
        // MAILTRAP_ACCOUNT_ID matters only to entries that name no account.
        let env = |name: &str| match name {
            "MAILTRAP_ACCOUNT_ID" if !needs_default => None,
            other => (ctx.env)(other),
        };
        let base_ctx = Ctx {
            env: &env,
            fakes: ctx.fakes,
            retry: ctx.retry.clone(),
        };
        let base = base_ctx.mailtrap(token_file)?;
        if ctx.fakes.is_none() {
            // One token, one pacer: every account's client shares the base's.
            for account in file.mailtrap_accounts() {
                let client = base
                    .for_account(Some(account))
                    .map_err(|e| Failure::usage(e.to_string()))?;
                services = services.mailtrap_account(account, client);
            }
        }
        if needs_default {
            services = services.mailtrap(base);
        }
    } else if file.namespace().is_some() {
        // As for Unit: the configured account may hold the namespace's
        // orphans.
        if let Ok(base) = ctx.mailtrap(files.mailtrap_token_file.as_deref()) {
            services = services.mailtrap(base);
        }
    }
    Ok(services)
}

fn plan_table(plan: &Plan, prune: bool, namespace: Option<&str>) -> String {
    let rows: Vec<Vec<String>> = plan
        .actions()
        .iter()
        .map(|a| {
            vec![
                service(a.service),
                output::cell(&a.name),
                a.kind.to_string(),
                a.token_id.clone().unwrap_or_else(|| "-".to_owned()),
                output::cell(&a.reason),
            ]
        })
        .collect();
    let mut text = output::table(&["SERVICE", "NAME", "ACTION", "TOKEN", "REASON"], &rows);
    let count = |kind| plan.actions().iter().filter(|a| a.kind == kind).count();
    text.push_str(&format!(
        "\n{} to create, {} to rotate, {} to replace, {} up to date, {} orphan(s){}\n",
        count(ActionKind::Create),
        count(ActionKind::Rotate),
        count(ActionKind::Replace),
        count(ActionKind::None),
        count(ActionKind::Orphan),
        if prune || count(ActionKind::Orphan) == 0 {
            ""
        } else {
            " (apply --prune removes them)"
        }
    ));
    if plan.left_alone() > 0 {
        text.push_str(&format!(
            "{} token(s) marked by api-tokens that this file does not own are left alone{}\n",
            plan.left_alone(),
            if namespace.is_none() {
                " (a file prunes only the tokens of its `namespace`, and this one has none)"
            } else {
                ""
            }
        ));
    }
    text
}

fn apply_table(report: &ApplyReport) -> String {
    if report.actions.is_empty() {
        return "nothing to do: the services are as the file says\n".to_owned();
    }
    let rows: Vec<Vec<String>> = report
        .actions
        .iter()
        .map(|o| {
            let (result, new, detail) = match &o.result {
                Ok(done) => (
                    "done".to_owned(),
                    done.token
                        .as_ref()
                        .map_or_else(|| "-".to_owned(), |t| t.id.clone()),
                    done.removed
                        .iter()
                        .map(|t| t.id.clone())
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
                Err(e) => ("failed".to_owned(), "-".to_owned(), e.to_string()),
            };
            let detail = if detail.is_empty() || result == "failed" {
                detail
            } else {
                format!("removed {detail}")
            };
            let detail = match o.result.as_ref().ok().and_then(|d| d.yielded_to.as_ref()) {
                Some(winner) if detail.is_empty() => {
                    format!("yielded to token {} of another run", winner.id)
                }
                Some(winner) => format!("{detail}; yielded to token {} of another run", winner.id),
                None => detail,
            };
            vec![
                service(o.action.service),
                output::cell(&o.action.name),
                o.action.kind.to_string(),
                result,
                new,
                output::cell(&detail),
            ]
        })
        .collect();
    output::table(
        &["SERVICE", "NAME", "ACTION", "RESULT", "NEW TOKEN", "DETAIL"],
        &rows,
    )
}

fn service(service: api_tokens::Service) -> String {
    service.to_string().to_lowercase()
}
