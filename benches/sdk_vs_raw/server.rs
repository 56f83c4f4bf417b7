//! The loopback HTTP/1.1 server the benchmarks talk to: keep-alive, one
//! fixed body per path (the query is ignored), on its own thread and
//! runtime so that it never competes with the client for the same executor.
//! It counts the TCP connections it accepts and the requests it answers.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// One fixed answer.
#[derive(Clone)]
pub struct Route {
    pub path: String,
    pub content_type: &'static str,
    pub body: Bytes,
}

#[derive(Default)]
struct Counters {
    connections: AtomicU64,
    requests: AtomicU64,
}

/// A running server; stopped when dropped.
pub struct Server {
    addr: SocketAddr,
    counters: Arc<Counters>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    pub fn start(routes: Vec<Route>) -> Server {
        let routes: Arc<HashMap<String, (HeaderValue, Bytes)>> = Arc::new(
            routes
                .into_iter()
                .map(|r| (r.path, (HeaderValue::from_static(r.content_type), r.body)))
                .collect(),
        );
        let counters = Arc::new(Counters::default());
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let thread_counters = Arc::clone(&counters);
        let thread = std::thread::Builder::new()
            .name("loopback-server".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("server runtime");
                rt.block_on(async move {
                    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
                    addr_tx
                        .send(listener.local_addr().expect("local addr"))
                        .expect("report address");
                    tokio::select! {
                        _ = stop_rx => {}
                        _ = accept_loop(listener, routes, thread_counters) => {}
                    }
                });
            })
            .expect("server thread");
        let addr = addr_rx.recv().expect("server address");
        Server {
            addr,
            counters,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.counters.connections.load(Ordering::SeqCst)
    }

    /// Requests answered so far.
    pub fn requests(&self) -> u64 {
        self.counters.requests.load(Ordering::SeqCst)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    routes: Arc<HashMap<String, (HeaderValue, Bytes)>>,
    counters: Arc<Counters>,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        counters.connections.fetch_add(1, Ordering::SeqCst);
        let _ = stream.set_nodelay(true);
        let routes = Arc::clone(&routes);
        let counters = Arc::clone(&counters);
        tokio::spawn(async move {
            let service = service_fn(move |req: Request<Incoming>| {
                counters.requests.fetch_add(1, Ordering::SeqCst);
                let answer = match routes.get(req.uri().path()) {
                    Some((content_type, body)) => {
                        let mut res = Response::new(Full::new(body.clone()));
                        res.headers_mut().insert(CONTENT_TYPE, content_type.clone());
                        res
                    }
                    None => {
                        let mut res = Response::new(Full::new(Bytes::from_static(
                            b"{\"error\":\"no such path on the benchmark server\"}",
                        )));
                        *res.status_mut() = StatusCode::NOT_FOUND;
                        res.headers_mut()
                            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                        res
                    }
                };
                async move { Ok::<_, Infallible>(answer) }
            });
            let _ = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
