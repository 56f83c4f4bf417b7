//! `api-tokens`: the command line for operators and CI jobs. List, create,
//! revoke, rotate, audit and reconcile API tokens on Unit and Mailtrap,
//! with credentials from the environment and each new secret handed only to
//! the sink named by `--secret-to`.
//!
//! ```text
//! api-tokens --fake unit list
//! api-tokens --fake mailtrap rotate 1 --secret-to file:/run/ci/mailtrap.token
//! api-tokens --fake --output json audit --fail-on expired,orphan
//! ```

mod args;
mod commands;
mod context;
mod credentials;
mod ensure;
mod exit;
#[cfg(feature = "fake")]
mod fake;
#[cfg(not(feature = "fake"))]
#[path = "no_fake.rs"]
mod fake;
mod leak;
mod lifecycle;
mod output;
mod progress;
mod secret_to;
mod store;
mod terminal;
mod usage;

use std::io::IsTerminal as _;
use std::process::ExitCode;

use clap::Parser as _;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::{Layer as _, SubscriberExt as _};
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::args::Cli;
use crate::context::Ctx;
use crate::fake::Fakes;
use crate::progress::Progress;

fn main() -> ExitCode {
    // A usage error is exit 2; its value is not shown (it may be a
    // secret pasted in the wrong place).
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage::report(&e),
    };
    // With -v the calls are logged on standard error already, and a
    // redrawn line would run into the log's lines.
    let progress = (std::io::stderr().is_terminal() && cli.verbose == 0).then(Progress::default);
    init_tracing(cli.verbose, progress.as_ref());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("api-tokens: cannot start the async runtime: {e}");
            return ExitCode::from(exit::FAILURE);
        }
    };
    runtime.block_on(run(cli, progress))
}

/// `-v`: the crate's calls at info; `-vv`: debug. Only the crate's target
/// (`api_tokens`, the library's and this binary's alike), not its
/// dependencies', on standard error; the crate's spans and events carry no
/// secret.
fn init_tracing(verbose: u8, progress: Option<&Progress>) {
    let level = match verbose {
        0 => None,
        1 => Some(LevelFilter::INFO),
        _ => Some(LevelFilter::DEBUG),
    };
    let fmt = level.map(|level| {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .with_target(false)
            // Each call's span once it ends: attempts, status, time taken.
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
            .with_filter(
                Targets::new()
                    .with_target("api_tokens", level)
                    // `--secret-to` has said it already, with the remedy.
                    .with_target("api_tokens::sink::exposure", LevelFilter::OFF),
            )
    });
    let progress = progress.map(|p| {
        p.layer()
            .with_filter(Targets::new().with_target("api_tokens", LevelFilter::INFO))
    });
    // Only fails when a subscriber is already set, which nothing here does.
    let _ = tracing_subscriber::registry()
        .with(fmt)
        .with(progress)
        .try_init();
}

async fn run(cli: Cli, progress: Option<Progress>) -> ExitCode {
    let fakes = if cli.fake {
        match Fakes::start().await {
            Ok(fakes) => Some(fakes),
            Err(failure) => return failure.report(),
        }
    } else {
        None
    };
    let ctx = Ctx {
        env: &credentials::process_env,
        fakes: fakes.as_ref(),
        retry: if cli.fake {
            fake::retry()
        } else {
            api_tokens::RetryPolicy::default()
        },
    };
    let drawing = progress.map(Progress::draw);
    let result = commands::run(&cli.command, &ctx).await;
    if let Some(drawing) = drawing {
        drawing.finish().await;
    }
    let mut state_lost = false;
    if let Some(fakes) = &fakes {
        if let Err(e) = fakes.dump() {
            eprintln!("api-tokens: cannot write the fakes' state: {e}");
            state_lost = true;
        }
    }
    let code = match result {
        Ok(done) => match done.output.print(cli.output, done.stdout_taken) {
            Ok(()) => done
                .then
                .map_or(ExitCode::SUCCESS, |failure| failure.report()),
            // A closed pipe (`| head`): nothing more can be said.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::from(exit::FAILURE),
            Err(e) => {
                eprintln!("api-tokens: cannot print the result: {e}");
                ExitCode::from(exit::FAILURE)
            }
        },
        Err(failure) => failure.report(),
    };
    // A command that did its work but whose fake state could not be saved
    // has not done what was asked: the next run would not see it.
    if state_lost && code == ExitCode::SUCCESS {
        return ExitCode::from(exit::FAILURE);
    }
    code
}
