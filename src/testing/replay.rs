//! Serving a recorded cassette back.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use reqwest::StatusCode;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::error::KitError;
use super::fixtures::{Cassette, Fixture};
use super::redact::{credential_in, is_placeholder, placeholder_of};
use super::server::Server;

/// Serves a [`Cassette`] on a loopback wiremock server.
///
/// Each request is answered with the first interaction not yet served that
/// has the same method and path (query string included) and was made with
/// the same credential, so interactions with the same endpoint are served
/// in the order they were recorded, each once. A request with no such
/// interaction left gets a `501` whose text names it (a status no client
/// retries).
///
/// Credentials are compared through their
/// [placeholders](fn.placeholder.html), which is how the
/// [`Recorder`](struct.Recorder.html) writes them: a request whose credential is
/// a placeholder (the secret a replayed create returned) stands for the
/// secret it replaced, and a request made with a real secret stands for
/// that secret's placeholder. When both the request's credential and an
/// interaction's are among the credentials of the cassette, they must be
/// the same; a credential the cassette never saw (a test's dummy token),
/// and an interaction recorded without one or with the `[REDACTED]` of
/// older cassettes, match any.
///
/// ```no_run
/// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
/// use api_tokens::unit;
/// use secrecy::SecretString;
///
/// let replayer = api_tokens::testing::Replayer::start("tests/cassettes/list.json").await?;
/// let client = unit::Client::builder()
///     .token(SecretString::from("any-credential"))
///     .base_url(replayer.uri())
///     .build()?;
/// let listed = client.org_api_tokens("2".parse()?).list().await?;
/// assert!(replayer.unserved().is_empty(), "every recorded call was made again");
/// # let _ = listed;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Replayer {
    server: Server,
    state: Arc<Mutex<Vec<Entry>>>,
}

/// One recorded interaction, the placeholder of the credential it was made
/// with, and whether it was served.
#[derive(Debug)]
struct Entry {
    fixture: Fixture,
    credential: Option<String>,
    served: bool,
}

/// The placeholder standing for the credential of these headers: the
/// credential itself when it is one, else its placeholder.
fn credential_key<'h>(headers: impl IntoIterator<Item = (&'h str, &'h str)>) -> Option<String> {
    headers.into_iter().find_map(|(name, value)| {
        credential_in(name, value).map(|mut credential| {
            if is_placeholder(&credential) {
                credential
            } else {
                let key = placeholder_of(&credential);
                secrecy::zeroize::Zeroize::zeroize(&mut credential);
                key
            }
        })
    })
}

impl Replayer {
    /// Reads the cassette at `path` and starts serving it.
    ///
    /// # Errors
    ///
    /// A [`KitError`] when the cassette cannot be read or checked.
    pub async fn start(path: impl AsRef<Path>) -> Result<Replayer, KitError> {
        Ok(Replayer::from_cassette(Cassette::load(path)?).await)
    }

    /// Starts serving `cassette`.
    pub async fn from_cassette(cassette: Cassette) -> Replayer {
        let state = Arc::new(Mutex::new(
            cassette
                .interactions
                .into_iter()
                .map(|fixture| Entry {
                    credential: credential_key(
                        fixture
                            .request
                            .headers
                            .iter()
                            .map(|(k, v)| (k.as_str(), v.as_str())),
                    )
                    .filter(|c| is_placeholder(c)),
                    fixture,
                    served: false,
                })
                .collect::<Vec<_>>(),
        ));
        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(Replay(state.clone()))
            .named("api-tokens replayer")
            .mount(&server)
            .await;
        Replayer {
            server: Server::new(server),
            state,
        }
    }

    /// The replayer's base URL, `http://127.0.0.1:<port>`.
    pub fn uri(&self) -> String {
        self.server.get().uri()
    }

    /// The interactions not served yet, in recorded order.
    pub fn unserved(&self) -> Vec<Fixture> {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|entry| !entry.served)
            .map(|entry| entry.fixture.clone())
            .collect()
    }
}

struct Replay(Arc<Mutex<Vec<Entry>>>);

impl Respond for Replay {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut path = request.url.path().to_owned();
        if let Some(query) = request.url.query() {
            path.push('?');
            path.push_str(query);
        }
        let credential = credential_key(
            request
                .headers
                .iter()
                .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str(), v))),
        );
        let mut interactions = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        // A credential the cassette never saw matches any interaction.
        let known = credential.as_ref().filter(|c| {
            interactions
                .iter()
                .any(|e| e.credential.as_ref() == Some(*c))
        });
        let next = interactions.iter_mut().find(|entry| {
            !entry.served
                && entry
                    .fixture
                    .request
                    .method
                    .eq_ignore_ascii_case(request.method.as_str())
                && entry.fixture.request.path == path
                && match (known, &entry.credential) {
                    (Some(wanted), Some(recorded)) => wanted == recorded,
                    _ => true,
                }
        });
        match next {
            Some(entry) => {
                entry.served = true;
                entry.fixture.respond()
            }
            None => ResponseTemplate::new(StatusCode::NOT_IMPLEMENTED).set_body_bytes(format!(
                "api-tokens replayer: no recorded interaction left for {} {path}{}",
                request.method,
                if known.is_some() {
                    " with this credential"
                } else {
                    ""
                }
            )),
        }
    }
}
