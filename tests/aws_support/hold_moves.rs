//! A proxy in front of the local Secrets Manager that holds back each move
//! of `AWSCURRENT` until a second one comes: two `finishSecret` started at
//! once have both read the same current version before either moves it, so
//! one of the two compare-and-sets is refused, every time.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::sync::{Mutex, oneshot};

/// How long a move waits for its pair before it goes on alone.
const PAIR_WAIT: Duration = Duration::from_secs(20);

struct State {
    upstream: String,
    client: reqwest::Client,
    waiting: Mutex<Option<oneshot::Sender<()>>>,
    pairs: AtomicUsize,
}

/// The proxy; it stops when dropped.
pub struct HoldMoves {
    addr: SocketAddr,
    state: Arc<State>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for HoldMoves {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Whether the request moves `AWSCURRENT` to a version.
fn moves_current(headers: &hyper::HeaderMap, body: &[u8]) -> bool {
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if target != "secretsmanager.UpdateSecretVersionStage" {
        return false;
    }
    let body: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    body["VersionStage"] == "AWSCURRENT" && body["MoveToVersionId"].is_string()
}

async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    if moves_current(&parts.headers, &body) {
        let wait = {
            let mut slot = state.waiting.lock().await;
            match slot.take() {
                Some(first) => {
                    let _ = first.send(());
                    state.pairs.fetch_add(1, Ordering::SeqCst);
                    None
                }
                None => {
                    let (tx, rx) = oneshot::channel();
                    *slot = Some(tx);
                    Some(rx)
                }
            }
        };
        if let Some(rx) = wait {
            if tokio::time::timeout(PAIR_WAIT, rx).await.is_err() {
                state.waiting.lock().await.take();
            }
        }
    }
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let mut forward = state
        .client
        .request(parts.method.clone(), format!("{}{path}", state.upstream))
        .body(body);
    for (name, value) in &parts.headers {
        if name != "host" && name != "content-length" {
            forward = forward.header(name, value);
        }
    }
    let mut reply = Response::new(Full::new(Bytes::new()));
    match forward.send().await {
        Ok(answer) => {
            *reply.status_mut() = answer.status();
            for (name, value) in answer.headers() {
                if name != "content-length" && name != "transfer-encoding" && name != "connection" {
                    reply.headers_mut().append(name, value.clone());
                }
            }
            *reply.body_mut() = Full::new(answer.bytes().await.unwrap_or_default());
        }
        Err(_) => *reply.status_mut() = StatusCode::BAD_GATEWAY,
    }
    Ok(reply)
}

impl HoldMoves {
    /// A proxy on a free port of the loopback interface to `upstream`.
    pub async fn start(upstream: String) -> HoldMoves {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let state = Arc::new(State {
            upstream,
            client: reqwest::Client::new(),
            waiting: Mutex::new(None),
            pairs: AtomicUsize::new(0),
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
        HoldMoves {
            addr,
            state,
            server,
        }
    }

    /// The proxy's URL, for `AWS_ENDPOINT_URL`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many pairs of moves were held until both came.
    pub fn pairs(&self) -> usize {
        self.state.pairs.load(Ordering::SeqCst)
    }
}
