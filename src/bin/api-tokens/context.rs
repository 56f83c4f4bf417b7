//! What every command is given (where to find the services) and what it
//! returns (what to print, and where).

use std::path::Path;

use api_tokens::lifecycle::SinkSpec;
use api_tokens::{RetryPolicy, mailtrap, unit};

use crate::credentials::{self, Lookup};
use crate::exit::Failure;
use crate::fake::Fakes;
use crate::output::Output;

/// Where the commands find their services.
pub struct Ctx<'a> {
    /// The environment.
    pub env: Lookup<'a>,
    /// The fakes, with `--fake`.
    pub fakes: Option<&'a Fakes>,
    /// The retry policy of every client.
    pub retry: RetryPolicy,
}

impl Ctx<'_> {
    /// The Unit client and user: the fake's, or the environment's.
    pub fn unit(&self, token_file: Option<&Path>) -> Result<(unit::Client, unit::UserId), Failure> {
        self.client(token_file, Fakes::unit, credentials::unit)
    }

    /// The Mailtrap client: the fake's, or the environment's.
    pub fn mailtrap(&self, token_file: Option<&Path>) -> Result<mailtrap::Client, Failure> {
        self.client(token_file, Fakes::mailtrap, credentials::mailtrap)
    }

    /// A client from `fake` with `--fake`, otherwise from `real` (the token
    /// file or the environment).
    fn client<T>(
        &self,
        token_file: Option<&Path>,
        fake: impl FnOnce(&Fakes, RetryPolicy) -> Result<T, Failure>,
        real: impl FnOnce(Option<&Path>, Lookup<'_>, RetryPolicy) -> Result<T, Failure>,
    ) -> Result<T, Failure> {
        match self.fakes {
            Some(fakes) => {
                // The fake has its own credential, but a token file named on
                // the command line is checked all the same, as without it.
                if let Some(path) = token_file {
                    credentials::read_token_file(path)?;
                }
                fake(fakes, self.retry.clone())
            }
            None => real(token_file, self.env, self.retry.clone()),
        }
    }
}

/// What a command leaves to print.
#[derive(Debug)]
pub struct Done {
    /// The result, in both forms.
    pub output: Output,
    /// Whether a secret went to standard output (`--secret-to -`): the
    /// result then goes to standard error.
    pub stdout_taken: bool,
    /// A failure to report once the result is printed (the audit's
    /// findings named by `--fail-on`).
    pub then: Option<Failure>,
}

impl Done {
    /// A result for standard output.
    pub fn new(output: Output) -> Done {
        Done {
            output,
            stdout_taken: false,
            then: None,
        }
    }

    /// A result after a secret went to `spec`: on standard error when the
    /// secret took standard output.
    pub fn with_secret_on(output: Output, spec: &SinkSpec) -> Done {
        Done {
            output,
            stdout_taken: matches!(spec, SinkSpec::Stdout),
            then: None,
        }
    }
}
