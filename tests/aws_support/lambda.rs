//! A local Lambda Runtime API: the endpoint a function built on
//! `lambda_runtime` polls for events and answers to, so that the rotation
//! function's binary runs here as it does on AWS Lambda.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::sync::{Mutex, mpsc, oneshot};

use super::Process;

/// What the function answered to one event.
#[derive(Debug)]
pub enum Outcome {
    /// POST `/invocation/{id}/response`.
    Response(Value),
    /// POST `/invocation/{id}/error`.
    Error(Value),
}

impl Outcome {
    /// The response, or a panic showing the error.
    #[track_caller]
    pub fn ok(self) -> Value {
        match self {
            Outcome::Response(v) => v,
            Outcome::Error(e) => panic!("the function failed: {e}"),
        }
    }

    /// The error's `errorType` and message, or a panic showing the
    /// response.
    #[track_caller]
    pub fn failure(self) -> (String, String) {
        match self {
            Outcome::Error(e) => (
                e["errorType"].as_str().unwrap_or_default().to_owned(),
                e["errorMessage"].as_str().unwrap_or_default().to_owned(),
            ),
            Outcome::Response(v) => panic!("the function succeeded: {v}"),
        }
    }

    /// The error's message, or a panic showing the response.
    #[track_caller]
    pub fn err(self) -> String {
        match self {
            Outcome::Error(e) => e["errorMessage"].as_str().unwrap_or_default().to_owned(),
            Outcome::Response(v) => panic!("the function succeeded: {v}"),
        }
    }
}

struct State {
    events: Mutex<mpsc::UnboundedReceiver<(String, String)>>,
    waiting: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
}

/// One function process and the Runtime API it polls; both stop when
/// dropped (a crash of the function, as far as the store and the service
/// can tell).
pub struct Lambda {
    process: Process,
    server: tokio::task::JoinHandle<()>,
    events: mpsc::UnboundedSender<(String, String)>,
    state: Arc<State>,
    next_id: u64,
    log: PathBuf,
}

impl Drop for Lambda {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let method = req.method().clone();
    let reply = |status: StatusCode, body: String| {
        let mut r = Response::new(Full::new(Bytes::from(body)));
        *r.status_mut() = status;
        r
    };
    if method == Method::GET && path == "/2018-06-01/runtime/invocation/next" {
        let next = state.events.lock().await.recv().await;
        let Some((id, body)) = next else {
            return Ok(reply(StatusCode::GONE, String::new()));
        };
        let deadline = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() + 300_000)
            .unwrap_or_default();
        let mut r = reply(StatusCode::OK, body);
        let h = r.headers_mut();
        h.insert("content-type", "application/json".parse().expect("header"));
        h.insert("lambda-runtime-aws-request-id", id.parse().expect("header"));
        h.insert(
            "lambda-runtime-deadline-ms",
            deadline.to_string().parse().expect("header"),
        );
        h.insert(
            "lambda-runtime-invoked-function-arn",
            "arn:aws:lambda:us-east-1:123456789012:function:api-tokens-aws-rotation"
                .parse()
                .expect("header"),
        );
        h.insert(
            "lambda-runtime-trace-id",
            "Root=1-00000000-000000000000000000000000"
                .parse()
                .expect("header"),
        );
        return Ok(r);
    }
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if method == Method::POST {
        if let Some(rest) = path.strip_prefix("/2018-06-01/runtime/invocation/") {
            let outcome = match (rest.strip_suffix("/response"), rest.strip_suffix("/error")) {
                (Some(id), _) => Some((id, Outcome::Response(value))),
                (None, Some(id)) => Some((id, Outcome::Error(value))),
                (None, None) => None,
            };
            if let Some((id, outcome)) = outcome {
                if let Some(tx) = state.waiting.lock().await.remove(id) {
                    let _ = tx.send(outcome);
                }
                return Ok(reply(
                    StatusCode::ACCEPTED,
                    "{\"status\":\"OK\"}".to_owned(),
                ));
            }
        }
        if path == "/2018-06-01/runtime/init/error" {
            eprintln!("the function failed to start");
            return Ok(reply(
                StatusCode::ACCEPTED,
                "{\"status\":\"OK\"}".to_owned(),
            ));
        }
    }
    Ok(reply(StatusCode::NOT_FOUND, String::new()))
}

impl Lambda {
    /// Starts a Runtime API on a free port and the binary `exe` polling it,
    /// with `env` added to a clean environment; its output goes to a file
    /// in `dir`.
    pub async fn start(exe: &str, env: &[(&str, String)], dir: &Path) -> Lambda {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr: SocketAddr = listener.local_addr().expect("addr");
        let (tx, rx) = mpsc::unbounded_channel();
        let state = Arc::new(State {
            events: Mutex::new(rx),
            waiting: Mutex::new(HashMap::new()),
        });
        let served = state.clone();
        let server = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let state = served.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| handle(state.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        let log = dir.join(format!("function-{}.log", fastrand::u64(..)));
        let out = std::fs::File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let mut cmd = Command::new(exe);
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", "api-tokens-aws-rotation")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "test")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let process = Process(cmd.spawn().expect("spawn the rotation function"));
        Lambda {
            process,
            server,
            events: tx,
            state,
            next_id: 0,
            log,
        }
    }

    /// Sends `event` and waits for the function's answer.
    pub async fn invoke(&mut self, event: &Value) -> Outcome {
        self.next_id += 1;
        let id = format!("req-{:04}-{:08x}", self.next_id, fastrand::u32(..));
        let (tx, rx) = oneshot::channel();
        self.state.waiting.lock().await.insert(id.clone(), tx);
        self.events
            .send((id, event.to_string()))
            .expect("queue the event");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
        let mut rx = rx;
        loop {
            tokio::select! {
                answer = &mut rx => match answer {
                    Ok(outcome) => return outcome,
                    Err(_) => break,
                },
                () = tokio::time::sleep(Duration::from_millis(100)) => {
                    // A function that ended will never answer: say so at
                    // once (with its exit status), not after the timeout.
                    if let Ok(Some(status)) = self.process.0.try_wait() {
                        if let Ok(outcome) = rx.try_recv() {
                            return outcome;
                        }
                        panic!(
                            "the function exited ({status}) without answering {event}; its log:\n{}",
                            self.log()
                        );
                    }
                    if tokio::time::Instant::now() >= deadline {
                        break;
                    }
                }
            }
        }
        let _ = self.process.0.kill();
        panic!(
            "the function did not answer {event}; its log:\n{}",
            self.log()
        )
    }

    /// Sends `event` without waiting for the answer (the function may be
    /// stopped before it gives one).
    pub async fn send(&mut self, event: &Value) {
        self.next_id += 1;
        let id = format!("req-{:04}-{:08x}", self.next_id, fastrand::u32(..));
        self.events
            .send((id, event.to_string()))
            .expect("queue the event");
    }

    /// What the function printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}
