//! Serving a recorded cassette back.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use reqwest::StatusCode;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::KitError;
use super::fixtures::{Cassette, Fixture};

/// Serves a [`Cassette`] on a loopback wiremock server.
///
/// Each request is answered with the first interaction not yet served that
/// has the same method and path (query string included), so interactions
/// with the same endpoint are served in the order they were recorded, each
/// once. A request with no such interaction left gets a `501` whose text
/// names it (a status no client retries).
///
/// ```no_run
/// # async fn f() -> Result<(), api_tokens::testing::KitError> {
/// let replayer = api_tokens::testing::Replayer::start("tests/cassettes/create.json").await?;
/// // … a client with base URL `replayer.uri()` …
/// assert!(replayer.unserved().is_empty(), "every recorded call was made again");
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Replayer {
    server: MockServer,
    state: Arc<Mutex<Vec<(Fixture, bool)>>>,
}

impl Replayer {
    /// Reads the cassette at `path` and starts serving it.
    pub async fn start(path: impl AsRef<Path>) -> Result<Replayer, KitError> {
        Ok(Replayer::from_cassette(Cassette::load(path)?).await)
    }

    /// Starts serving `cassette`.
    pub async fn from_cassette(cassette: Cassette) -> Replayer {
        let state = Arc::new(Mutex::new(
            cassette
                .interactions
                .into_iter()
                .map(|i| (i, false))
                .collect::<Vec<_>>(),
        ));
        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(Replay(state.clone()))
            .named("api-tokens replayer")
            .mount(&server)
            .await;
        Replayer { server, state }
    }

    /// The replayer's base URL, `http://127.0.0.1:<port>`.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// The interactions not served yet, in recorded order.
    pub fn unserved(&self) -> Vec<Fixture> {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|(_, served)| !served)
            .map(|(fixture, _)| fixture.clone())
            .collect()
    }
}

struct Replay(Arc<Mutex<Vec<(Fixture, bool)>>>);

impl Respond for Replay {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut path = request.url.path().to_owned();
        if let Some(query) = request.url.query() {
            path.push('?');
            path.push_str(query);
        }
        let mut interactions = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let next = interactions.iter_mut().find(|(fixture, served)| {
            !*served
                && fixture
                    .request
                    .method
                    .eq_ignore_ascii_case(request.method.as_str())
                && fixture.request.path == path
        });
        match next {
            Some((fixture, served)) => {
                *served = true;
                fixture.respond()
            }
            None => ResponseTemplate::new(StatusCode::NOT_IMPLEMENTED).set_body_bytes(format!(
                "api-tokens replayer: no recorded interaction left for {} {path}",
                request.method
            )),
        }
    }
}
