//! Errors of the command line's own parsing, said without the values
//! given: a secret pasted where an argument belongs (a token given as
//! `--secret-to`, or as a word `leak` does not take) must not reach the
//! terminal, or a CI job's log, a second time.

use std::process::ExitCode;

use clap::error::{ContextKind, ContextValue, ErrorKind};

use crate::exit::{USAGE, one_line};

/// Reports `e` as clap would, except that a value clap would quote (a
/// value its parser refused, an unexpected word) is left out unless it is
/// an option's name; gives the exit code (0 for `--help` and `--version`).
pub fn report(e: &clap::Error) -> ExitCode {
    match e.kind() {
        // A free-form value (a sink, a path, a duration) that its parser
        // refused; the parser's reason says what is wrong with it. (A word
        // that is not one of an option's few values is shown, as clap
        // shows it, with the values it takes.)
        ErrorKind::ValueValidation => {
            let arg = context(e, ContextKind::InvalidArg).unwrap_or_else(|| "an option".to_owned());
            let why = std::error::Error::source(e)
                .map_or_else(|| "not a value it takes".to_owned(), ToString::to_string);
            eprintln!(
                "error: invalid value for '{arg}': {}\n\nFor more information, try '--help'.",
                one_line(&why)
            );
            ExitCode::from(USAGE)
        }
        ErrorKind::UnknownArgument => match context(e, ContextKind::InvalidArg) {
            Some(word) if !word.starts_with('-') => {
                eprintln!(
                    "error: unexpected argument of {} characters (not shown: a secret is read \
                     from standard input or a file, never from an argument)\n\nFor more \
                     information, try '--help'.",
                    word.chars().count()
                );
                ExitCode::from(USAGE)
            }
            _ => print(e),
        },
        _ => print(e),
    }
}

/// clap's own report.
fn print(e: &clap::Error) -> ExitCode {
    // A failed print of the help leaves nothing better to do.
    let _ = e.print();
    ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(USAGE))
}

/// A context value of `e`, as text.
fn context(e: &clap::Error, kind: ContextKind) -> Option<String> {
    match e.get(kind)? {
        ContextValue::String(s) => Some(s.clone()),
        ContextValue::Strings(list) => Some(list.join(", ")),
        ContextValue::StyledStr(s) => Some(s.to_string()),
        ContextValue::StyledStrs(list) => Some(
            list.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        ),
        ContextValue::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
