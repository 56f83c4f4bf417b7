//! A loopback server answering as Unit from a script of statuses and
//! headers, on a runtime of its own, and a way to run a call there that is
//! watched from a plain thread (a call that never yields cannot stop a
//! timer of its own runtime), so that a call that outlives its bound fails
//! the test instead of hanging it.
#![allow(dead_code)]

use std::future::Future;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// One answer: status and headers; the body is what a list or an error
/// answer of Unit looks like.
#[derive(Clone, Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
}

impl Answer {
    pub fn new(status: u16, headers: &[(&'static str, &str)]) -> Answer {
        Answer {
            status,
            headers: headers.iter().map(|(n, v)| (*n, (*v).to_owned())).collect(),
        }
    }

    fn template(self) -> ResponseTemplate {
        let body = if self.status < 300 {
            r#"{"data":[]}"#
        } else {
            r#"{"errors":[{"title":"refused"}]}"#
        };
        let mut template =
            ResponseTemplate::new(self.status).set_body_raw(body, "application/vnd.api+json");
        for (name, value) in self.headers {
            template = template.insert_header(name, value.as_str());
        }
        template
    }
}

/// Answers in turn; the last one again once the script is through (an
/// empty script answers 200).
#[derive(Clone, Default)]
pub struct Script(Arc<Mutex<Vec<Answer>>>);

impl Script {
    pub fn set(&self, answers: Vec<Answer>) {
        *self.0.lock().unwrap() = answers;
    }
}

impl Respond for Script {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let mut answers = self.0.lock().unwrap();
        let next = if answers.len() > 1 {
            answers.remove(0)
        } else {
            answers
                .first()
                .cloned()
                .unwrap_or_else(|| Answer::new(200, &[]))
        };
        next.template()
    }
}

/// The scripted server and the runtime it runs on, with the calls.
pub struct Loopback {
    rt: Option<tokio::runtime::Runtime>,
    /// What the server answers next.
    pub script: Script,
    server: MockServer,
}

impl Loopback {
    pub fn start() -> Loopback {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let script = Script::default();
        let server = rt.block_on(async {
            // Millions of requests in a long fuzz run: none is kept.
            let server = MockServer::builder()
                .disable_request_recording()
                .start()
                .await;
            Mock::given(wiremock::matchers::any())
                .respond_with(script.clone())
                .mount(&server)
                .await;
            server
        });
        Loopback {
            rt: Some(rt),
            script,
            server,
        }
    }

    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// Runs `call` on its own task and waits for it from this thread for
    /// at most `bound`: `Err` says whether it outlived the bound or
    /// panicked.
    pub fn within<T: Send + 'static>(
        &self,
        bound: Duration,
        call: impl Future<Output = T> + Send + 'static,
    ) -> Result<T, String> {
        let (tx, rx) = mpsc::channel();
        self.rt.as_ref().unwrap().spawn(async move {
            let _ = tx.send(call.await);
        });
        rx.recv_timeout(bound).map_err(|e| match e {
            mpsc::RecvTimeoutError::Timeout => format!("a call outlived {bound:?}"),
            mpsc::RecvTimeoutError::Disconnected => "the call panicked".to_owned(),
        })
    }
}

impl Drop for Loopback {
    fn drop(&mut self) {
        // A task stuck in a loop that never yields must not hang the test
        // when the runtime goes.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}
