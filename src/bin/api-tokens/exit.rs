//! Exit codes, and the one line on standard error that says what failed.

use std::fmt;
use std::process::ExitCode;

use api_tokens::Error;
use api_tokens::lifecycle::{Left, RotateCause, RotateError, SinkError, Step};

/// Success; for a rotation, this run completed it.
pub const SUCCESS: u8 = 0;
/// The service, the network or the secret's sink failed, or the token
/// named does not exist.
pub const FAILURE: u8 = 1;
/// A usage error, refused before any request: arguments (clap's own code),
/// environment, token file, a `--secret-to` that cannot take a secret.
pub const USAGE: u8 = 2;
/// The audit found a kind named by `--fail-on`.
pub const FINDINGS: u8 = 3;
/// A create or reset answer was lost and could not be reconciled.
pub const OUTCOME_UNKNOWN: u8 = 4;
/// Another run of the same rotation replaced the token first; this run
/// yielded to it.
pub const SUPERSEDED: u8 = 5;
/// `plan --detailed-exitcode`: the plan has actions pending.
pub const PENDING: u8 = 6;

/// `leak`: a secret that matches no token of ours, or several; nothing
/// was touched.
pub const UNMATCHED: u8 = 7;

/// Every exit code and what it means, as `--help` and the README list them.
pub const CODES: &[(u8, &str)] = &[
    (
        SUCCESS,
        "success; for a rotation, this run completed it, found it done by an earlier run whose \
         new secret its sink holds, or found the token younger than --if-older-than (up to \
         date, nothing minted)",
    ),
    (
        FAILURE,
        "the service, the network or the secret's sink failed (a secret store that cannot be \
         read or whose record is malformed, too), or the token named does not exist",
    ),
    (
        USAGE,
        "usage error (arguments, environment, token file, a --secret-to that cannot take the \
         secret), refused before any request",
    ),
    (FINDINGS, "the audit found a kind named by --fail-on"),
    (
        OUTCOME_UNKNOWN,
        "outcome unknown: a create or reset answer was lost and could not be reconciled",
    ),
    (
        SUPERSEDED,
        "superseded: another run of the same rotation replaced the token first; standard error \
         names the token that replaced it and where its secret is, when known",
    ),
    (PENDING, "plan --detailed-exitcode: actions are pending"),
    (
        UNMATCHED,
        "leak: a secret that matches no token of ours, or several (named); nothing was touched",
    ),
];

/// The after-help section of `--help`: the exit codes.
pub fn help() -> String {
    let mut text = String::from("Exit codes:");
    for (code, meaning) in CODES {
        text.push_str(&format!("\n  {code}  {meaning}"));
    }
    text
}

/// Whether a rotation stopped at step 0 because the old token does not
/// exist (and no earlier run of the rotation replaced it): the same "not
/// found" as a revoke, a get or a delete of a missing token.
fn old_token_missing(e: &RotateError) -> bool {
    e.step() == Step::Inspect
        && matches!(
            e.cause(),
            RotateCause::Service(Error::Invalid { field: "old", .. })
        )
}

/// Why a command did not succeed. Its `Display` is the one line printed on
/// standard error; none holds a secret (the crate's errors never do).
#[derive(Debug)]
pub enum Failure {
    /// The arguments, the environment or a token file are unusable.
    Usage(String),
    /// A call to a service failed.
    Service {
        /// What was being done (`Unit list`, `Mailtrap reset of 42`).
        what: String,
        /// The crate's error.
        error: Error,
    },
    /// The secret could not be stored.
    Sink {
        /// What was being done.
        what: String,
        /// The sink's error (never holds the secret).
        error: SinkError,
        /// What became of the token, and what is left to do.
        advice: String,
    },
    /// A rotation stopped.
    Rotate(RotateError),
    /// A secret store could not be read (the one a rotation starts from,
    /// or a `--secret-to` store at its check), or its record is malformed
    /// (exit 1); nothing was done.
    Store(String),
    /// The audit found kinds named by `--fail-on`.
    Findings(Vec<&'static str>),
    /// `plan` or `apply` of a tokens file: what to say, and the exit code.
    Ensure { message: String, code: u8 },
    /// `leak`: what to say, and the exit code (1 or 7).
    Leak { message: String, code: u8 },
}

impl Failure {
    /// A usage failure.
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure::Usage(message.into())
    }

    /// A service failure while doing `what`.
    pub fn service(what: impl Into<String>, error: Error) -> Failure {
        Failure::Service {
            what: what.into(),
            error,
        }
    }

    /// The process's exit code.
    pub fn code(&self) -> u8 {
        match self {
            Failure::Usage(_) => USAGE,
            // Refused before any request: the arguments are at fault.
            Failure::Service {
                error: Error::Invalid { .. },
                ..
            } => USAGE,
            Failure::Service { error, .. } if error.is_outcome_unknown() => OUTCOME_UNKNOWN,
            Failure::Rotate(e) if e.superseded().is_some() => SUPERSEDED,
            Failure::Rotate(e) if e.is_outcome_unknown() => OUTCOME_UNKNOWN,
            Failure::Rotate(e) if old_token_missing(e) => FAILURE,
            Failure::Rotate(e)
                if matches!(e.cause(), RotateCause::Service(Error::Invalid { .. })) =>
            {
                USAGE
            }
            Failure::Service { .. }
            | Failure::Sink { .. }
            | Failure::Rotate(_)
            | Failure::Store(_) => FAILURE,
            Failure::Findings(_) => FINDINGS,
            Failure::Ensure { code, .. } | Failure::Leak { code, .. } => *code,
        }
    }

    /// Prints the failure's line on standard error and gives the exit code.
    pub fn report(&self) -> ExitCode {
        eprintln!(
            "api-tokens: {}",
            crate::terminal::shown(&one_line(&self.to_string()))
        );
        ExitCode::from(self.code())
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Usage(message) => f.write_str(message),
            Failure::Service { what, error } => {
                let text = error.to_string();
                write!(f, "{what} failed: {text}")?;
                // The service's own answers, and answers that could not be
                // decoded, say their status; others may not.
                match error.status() {
                    Some(status)
                        if error.api_error().is_none()
                            && !text.contains(&format!("(status {status}")) =>
                    {
                        write!(f, " (status {status})")?;
                    }
                    _ => {}
                }
                match error {
                    Error::Unreconciled {
                        marker: Some(marker),
                        ..
                    } => {
                        // One `--marker` per marker (several creates may
                        // have lost their answers).
                        let options: Vec<String> = marker
                            .split(", ")
                            .filter(|m| !m.is_empty())
                            .map(|m| format!("--marker {m}"))
                            .collect();
                        write!(
                            f,
                            "; `api-tokens reconcile {}` removes {}",
                            options.join(" "),
                            if options.len() > 1 { "them" } else { "it" }
                        )
                    }
                    _ => Ok(()),
                }
            }
            Failure::Sink {
                what,
                error,
                advice,
            } => write!(
                f,
                "{what}: the secret could not be stored: {error}; {advice}"
            ),
            Failure::Rotate(e) => {
                if let Some(s) = e.superseded() {
                    write!(
                        f,
                        "{} rotation of token {} superseded (this run yielded): token {}",
                        e.service(),
                        e.old_id(),
                        s.winner.id
                    )?;
                    if let Some(name) = s.winner.name.as_deref().filter(|n| !n.is_empty()) {
                        write!(f, " {name:?}")?;
                    }
                    f.write_str(" replaced it first")?;
                    match &s.secret_at {
                        Some(at) => write!(f, "; its secret is in {at}")?,
                        None => f.write_str("; where its secret is, is not known to this run")?,
                    }
                    // What this run left, unless it left nothing.
                    return match e.left() {
                        Left::Unchanged => Ok(()),
                        left => write!(f, "; this run left: {left}"),
                    };
                }
                write!(f, "{e}")?;
                match e.left() {
                    // A reset's token carries no marker for `reconcile` to
                    // find; the rotation run again finds it by its name.
                    Left::Orphan { .. } | Left::Stored { .. } => f.write_str(
                        "; run the same rotate command again once the service answers: \
                         it removes what is left and converges (within the lease, 10m by \
                         default, add --lease 0s if no other rotation of this token is \
                         running, or it yields to what this run left)",
                    ),
                    _ => Ok(()),
                }
            }
            Failure::Ensure { message, .. } | Failure::Leak { message, .. } => f.write_str(message),
            Failure::Store(message) => write!(f, "{message}; nothing was done"),
            Failure::Findings(kinds) => write!(
                f,
                "the audit found {} (named by --fail-on)",
                kinds.join(", ")
            ),
        }
    }
}

/// Folds any line breaks, so that a failure is one line.
pub fn one_line(text: &str) -> String {
    text.split(['\n', '\r'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_folded() {
        assert_eq!(one_line("a\n  b\r\nc"), "a b c");
        assert_eq!(one_line("plain"), "plain");
    }

    #[test]
    fn codes() {
        assert_eq!(Failure::usage("x").code(), USAGE);
        assert_eq!(Failure::Findings(vec!["expired"]).code(), FINDINGS);
        assert_eq!(
            Failure::Findings(vec!["expired", "orphan"]).to_string(),
            "the audit found expired, orphan (named by --fail-on)"
        );
    }
}
