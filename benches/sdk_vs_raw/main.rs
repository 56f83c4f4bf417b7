//! The crate against raw `reqwest` + `serde_json`, measured in one run
//! against a loopback server this binary starts itself.
//!
//! ```text
//! cargo bench --bench sdk_vs_raw                 # everything
//! cargo bench --bench sdk_vs_raw -- decode       # benches whose name holds "decode"
//! API_TOKENS_BENCH_SMOKE=1 cargo bench           # a few iterations, no verdicts on time
//! ```
//!
//! 1. call overhead: a list of 50 tokens per dialect;
//! 2. decode: a 10,000-token body, time and allocations per token;
//! 3. concurrency: 256 calls at once through one client, and connection
//!    reuse over 1,000 sequential calls;
//! 4. retry path: a call that succeeds first time, retries on and off.

mod alloc;
mod bodies;
mod harness;
mod raw;
mod server;

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use tokio::task::JoinSet;

use harness::{Bound, Mode, Plan, Summary, Verdict, fmt_ns, interleave, interleave_sync};
use raw::Raw;
use server::{Route, Server};

#[global_allocator]
static GLOBAL: alloc::Counting = alloc::Counting;

/// Obviously not a real token.
const TOKEN: &str = "bench-token-not-a-secret";
const UNIT_USER_SMALL: u64 = 2;
const UNIT_USER_LARGE: u64 = 3;
const MAILTRAP_ACCOUNT_SMALL: u64 = 3229;
const MAILTRAP_ACCOUNT_LARGE: u64 = 3230;
const SMALL: usize = 50;
const LARGE: usize = 10_000;
const CONCURRENT: usize = 256;
const SEQUENTIAL: usize = 1_000;

struct Bodies {
    unit_small: Bytes,
    unit_large: Bytes,
    mailtrap_small: Bytes,
    mailtrap_large: Bytes,
}

impl Bodies {
    fn new() -> Bodies {
        Bodies {
            unit_small: bodies::unit_list(SMALL).into(),
            unit_large: bodies::unit_list(LARGE).into(),
            mailtrap_small: bodies::mailtrap_list(MAILTRAP_ACCOUNT_SMALL, SMALL).into(),
            mailtrap_large: bodies::mailtrap_list(MAILTRAP_ACCOUNT_LARGE, LARGE).into(),
        }
    }

    fn routes(&self) -> Vec<Route> {
        let unit = "application/vnd.api+json";
        let flat = "application/json";
        vec![
            Route {
                path: format!("/users/{UNIT_USER_SMALL}/api-tokens"),
                content_type: unit,
                body: self.unit_small.clone(),
            },
            Route {
                path: format!("/users/{UNIT_USER_LARGE}/api-tokens"),
                content_type: unit,
                body: self.unit_large.clone(),
            },
            Route {
                path: format!("/api/accounts/{MAILTRAP_ACCOUNT_SMALL}/api_tokens"),
                content_type: flat,
                body: self.mailtrap_small.clone(),
            },
            Route {
                path: format!("/api/accounts/{MAILTRAP_ACCOUNT_LARGE}/api_tokens"),
                content_type: flat,
                body: self.mailtrap_large.clone(),
            },
        ]
    }
}

struct Bench {
    mode: Mode,
    filter: Vec<String>,
    server: Server,
    bodies: Bodies,
    verdicts: Vec<Verdict>,
}

impl Bench {
    fn wants(&self, name: &str) -> bool {
        self.filter.is_empty() || self.filter.iter().any(|f| name.contains(f.as_str()))
    }

    fn raw(&self) -> Raw {
        Raw::new(raw::http_client(), &self.server.url(), TOKEN)
    }

    fn verdict(&mut self, what: impl Into<String>, measured: f64, bound: Bound, timing: bool) {
        self.verdicts.push(Verdict {
            what: what.into(),
            measured,
            bound,
            timing,
        });
    }
}

fn ratio(a: &Summary, b: &Summary) -> f64 {
    a.median / b.median
}

fn print_all(rows: &[Summary]) {
    for s in rows {
        harness::print_summary(s);
    }
}

fn main() {
    let mode = Mode::from_env();
    // `cargo bench` passes `--bench`; any other word filters the benches.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let bodies = Bodies::new();
    let server = Server::start(bodies.routes());
    println!(
        "api-tokens vs raw reqwest + serde_json: {} run, {} CPUs, server at {}",
        match mode {
            Mode::Full => "full",
            Mode::Smoke => "smoke",
        },
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        server.url(),
    );
    println!(
        "bodies: unit {} tokens = {} B, {} tokens = {} B; mailtrap {} tokens = {} B, {} tokens = {} B",
        SMALL,
        bodies.unit_small.len(),
        LARGE,
        bodies.unit_large.len(),
        SMALL,
        bodies.mailtrap_small.len(),
        LARGE,
        bodies.mailtrap_large.len(),
    );
    let mut bench = Bench {
        mode,
        filter,
        server,
        bodies,
        verdicts: Vec::new(),
    };
    // The client side runs on one thread, the server on another: on a
    // two-core machine each has a core, and the allocation counts (per
    // thread) see the client alone.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("client runtime");
    rt.block_on(async {
        if bench.wants("overhead") {
            overhead(&mut bench).await;
        }
        if bench.wants("decode") {
            decode(&mut bench).await;
        }
        if bench.wants("concurrency") {
            concurrency(&mut bench).await;
        }
        if bench.wants("reuse") {
            reuse(&mut bench).await;
        }
    });
    harness::print_verdicts(bench.mode, &bench.verdicts);
}

// ------------------------------------------------------ 1. call overhead ----

async fn overhead(b: &mut Bench) {
    let plan = Plan {
        warmup: b.mode.pick(50, 1),
        rounds: b.mode.pick(300, 3),
        batch: b.mode.pick(10, 2),
    };
    println!(
        "\n== 1. call overhead: list of {SMALL}, {} rounds x {} calls per variant, interleaved",
        plan.rounds, plan.batch
    );
    let raw = b.raw();
    let raw_again = b.raw();

    println!("  unit");
    let rows = interleave(&["raw reqwest", "raw reqwest (A/A)"], plan, async |v| {
        let n = match v {
            0 => raw.unit_list(UNIT_USER_SMALL).await.len(),
            _ => raw_again.unit_list(UNIT_USER_SMALL).await.len(),
        };
        assert_eq!(black_box(n), SMALL);
    })
    .await;
    print_all(&rows);
    println!(
        "    A/A ratio (noise floor): {:.3}",
        ratio(&rows[1], &rows[0])
    );

    println!("  mailtrap");
    let rows = interleave(&["raw reqwest", "raw reqwest (A/A)"], plan, async |v| {
        let n = match v {
            0 => raw.mailtrap_list(MAILTRAP_ACCOUNT_SMALL).await.len(),
            _ => raw_again.mailtrap_list(MAILTRAP_ACCOUNT_SMALL).await.len(),
        };
        assert_eq!(black_box(n), SMALL);
    })
    .await;
    print_all(&rows);
    println!(
        "    A/A ratio (noise floor): {:.3}",
        ratio(&rows[1], &rows[0])
    );
}

// -------------------------------------------------------------- 2. decode ----

async fn decode(b: &mut Bench) {
    let plan = Plan {
        warmup: b.mode.pick(5, 1),
        rounds: b.mode.pick(60, 2),
        batch: 1,
    };
    println!(
        "\n== 2. decode: {LARGE} tokens, {} rounds per variant, interleaved",
        plan.rounds
    );
    let per_token = |s: &Summary| s.allocs / LARGE as f64;

    println!("  unit, in memory");
    let body = b.bodies.unit_large.clone();
    let rows = interleave_sync(&["serde_json, String fields"], plan, |_| {
        let list: raw::UnitList = serde_json::from_slice(&body).expect("decode");
        assert_eq!(black_box(list).data.len(), LARGE);
    });
    print_all(&rows);
    println!("    allocs/token: raw {:.2}", per_token(&rows[0]));

    println!("  mailtrap, in memory");
    let body = b.bodies.mailtrap_large.clone();
    let rows = interleave_sync(&["serde_json, String fields"], plan, |_| {
        let list: Vec<raw::MailtrapToken> = serde_json::from_slice(&body).expect("decode");
        assert_eq!(black_box(list).len(), LARGE);
    });
    print_all(&rows);
    println!("    allocs/token: raw {:.2}", per_token(&rows[0]));

    let raw = b.raw();
    println!("  unit, through a list call (decode = list - fetch of the bytes alone)");
    let rows = interleave(
        &["raw list", "raw fetch bytes only"],
        plan,
        async |v| match v {
            0 => assert_eq!(black_box(raw.unit_list(UNIT_USER_LARGE).await).len(), LARGE),
            _ => assert_eq!(
                black_box(raw.unit_bytes(UNIT_USER_LARGE).await).len(),
                b.bodies.unit_large.len()
            ),
        },
    )
    .await;
    print_all(&rows);
    println!(
        "    decode by difference: raw {}",
        fmt_ns(rows[0].median - rows[1].median)
    );

    println!("  mailtrap, through a list call (decode = list - fetch of the bytes alone)");
    let rows = interleave(
        &["raw list", "raw fetch bytes only"],
        plan,
        async |v| match v {
            0 => assert_eq!(
                black_box(raw.mailtrap_list(MAILTRAP_ACCOUNT_LARGE).await).len(),
                LARGE
            ),
            _ => assert_eq!(
                black_box(raw.mailtrap_bytes(MAILTRAP_ACCOUNT_LARGE).await).len(),
                b.bodies.mailtrap_large.len()
            ),
        },
    )
    .await;
    print_all(&rows);
    println!(
        "    decode by difference: raw {}",
        fmt_ns(rows[0].median - rows[1].median)
    );
}

// --------------------------------------------------------- 3. concurrency ----

async fn concurrency(b: &mut Bench) {
    let plan = Plan {
        warmup: 1,
        rounds: b.mode.pick(40, 2),
        batch: 1,
    };
    println!(
        "\n== 3. concurrency: {CONCURRENT} list calls at once (unit, {SMALL} tokens each), {} rounds per variant, interleaved",
        plan.rounds
    );
    let raw = Arc::new(b.raw());
    let raw_again = Arc::new(b.raw());
    let server = &b.server;
    let mut opened = [0u64; 2];
    let rows = interleave(&["raw reqwest", "raw reqwest (A/A)"], plan, async |v| {
        let before = server.connections();
        let client = if v == 0 { &raw } else { &raw_again };
        let mut set = JoinSet::new();
        for _ in 0..CONCURRENT {
            let client = Arc::clone(client);
            set.spawn(async move { client.unit_list(UNIT_USER_SMALL).await.len() });
        }
        while let Some(n) = set.join_next().await {
            assert_eq!(n.expect("task"), SMALL);
        }
        opened[v] += server.connections() - before;
    })
    .await;
    print_all(&rows);
    for (s, conns) in rows.iter().zip(opened) {
        println!(
            "    {:<28} throughput {:>9.0} calls/s, TCP connections opened {conns}",
            s.name,
            CONCURRENT as f64 * 1e9 / s.median
        );
    }
    println!(
        "    A/A throughput ratio (noise floor): {:.3}",
        ratio(&rows[0], &rows[1])
    );
}

// ----------------------------------------------------- 3b. connection reuse ----

async fn reuse(b: &mut Bench) {
    println!("\n== 3b. connection reuse: {SEQUENTIAL} sequential list calls, fresh client");
    let raw = b.raw();
    let before = b.server.connections();
    let requests_before = b.server.requests();
    let start = Instant::now();
    for _ in 0..SEQUENTIAL {
        assert_eq!(raw.unit_list(UNIT_USER_SMALL).await.len(), SMALL);
    }
    let took = start.elapsed();
    let conns = b.server.connections() - before;
    let requests = b.server.requests() - requests_before;
    println!(
        "    {:<28} {requests} requests in {}, TCP connections opened {conns}",
        "raw reqwest",
        fmt_ns(took.as_nanos() as f64)
    );
    b.verdict(
        format!("{SEQUENTIAL} sequential calls, raw reqwest: connections"),
        conns as f64,
        Bound::Exactly(1.0),
        false,
    );
}
