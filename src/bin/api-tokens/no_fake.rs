//! `--fake` in a build without the `fake` feature: the flag is read, and
//! refused with the feature that brings the fakes, so the production
//! binary links none of the testing kit's servers (wiremock, hyper).

use api_tokens::{RetryPolicy, mailtrap, unit};

use crate::exit::Failure;

/// No fakes in this build: a value of this type cannot exist.
pub enum Fakes {}

impl Fakes {
    /// Refuses `--fake` as a usage error naming the feature.
    ///
    /// # Errors
    ///
    /// Always: this build has no fakes.
    pub async fn start() -> Result<Fakes, Failure> {
        Err(Failure::usage(
            "--fake: this api-tokens was built without its fakes; \
             build it with `--features fake` (`cargo install api-tokens --features fake`)",
        ))
    }

    /// Unreachable: there is no value to call it on.
    pub fn unit(&self, _retry: RetryPolicy) -> Result<(unit::Client, unit::UserId), Failure> {
        match *self {}
    }

    /// Unreachable: there is no value to call it on.
    pub fn mailtrap(&self, _retry: RetryPolicy) -> Result<mailtrap::Client, Failure> {
        match *self {}
    }

    /// Unreachable: there is no value to call it on.
    pub fn dump(&self) -> std::io::Result<()> {
        match *self {}
    }
}

/// The retry policy of real services: without fakes, `--fake` never runs.
pub fn retry() -> RetryPolicy {
    RetryPolicy::default()
}
