//! What can go wrong in the test kit itself (not in a call to a service).

use std::path::PathBuf;

/// An error of the test kit: a fixture that cannot be found or read, a
/// cassette that cannot be written, an upstream the recorder refuses, a
/// fake's expectations not met.
///
/// It never holds a secret: fixtures and cassettes are redacted, and the
/// recorder's messages name neither headers nor bodies.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KitError {
    /// No fixture has this service and name.
    #[error("no fixture named `{query}`; known fixtures: {}", .known.join(", "))]
    UnknownFixture {
        /// What was asked for.
        query: String,
        /// Every fixture that exists, as `"service name"`.
        known: Vec<String>,
    },

    /// A fixture or cassette is not in the
    /// [format](index.html#fixture-and-cassette-format).
    #[error("`{file}` is not a valid fixture: {reason}")]
    InvalidFixture {
        /// The file (below `fixtures/` for embedded ones).
        file: String,
        /// What is wrong, with the JSON path where it was found.
        reason: String,
    },

    /// A cassette could not be read or written.
    #[error("cannot {action} `{}`: {source}", .path.display())]
    Io {
        /// `read` or `write`.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },

    /// The recorder refused its upstream URL or could not start.
    #[error("recorder: {0}")]
    Recorder(String),

    /// A token or an id counter a test gave a fake cannot be held: an id
    /// out of range or already held, a next id not above every id held.
    #[error("the fake cannot take this: {0}")]
    Seed(String),

    /// Expectations of a fake were not met.
    #[error(
        "expectations of the fake not met:\n  {}\nrequests received ({}):{}",
        .unmet.join("\n  "),
        .received.len(),
        .received.iter().map(|r| format!("\n  {r}")).collect::<String>()
    )]
    Expectations {
        /// Each expectation not met: the endpoint, what it wanted, what it
        /// received.
        unmet: Vec<String>,
        /// Every request the fake received, oldest first, as `METHOD /path →
        /// status` (no query string, header or body).
        received: Vec<String>,
    },
}
