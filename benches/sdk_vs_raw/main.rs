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
//! 4. retry path: a call that succeeds first time, retries on and off;
//! 5. pacing overhead: a call with pacing on against one with pacing off,
//!    against a server that sends no rate-limit headers;
//! 6. pacing under a limit: many concurrent calls through one Mailtrap
//!    client against the crate's fake limited as Mailtrap limits, pacing on
//!    and off.

mod alloc;
mod bodies;
#[path = "../common/fake_client.rs"]
mod fake_client;
mod harness;
mod pacing;
mod raw;
mod server;

use std::hint::black_box;
use std::sync::Arc;

use api_tokens::{Pacing, RetryPolicy, mailtrap, unit};
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
/// A user with no tokens: a call that is all transport and no decode.
const UNIT_USER_EMPTY: u64 = 4;
const MAILTRAP_ACCOUNT_SMALL: u64 = 3229;

/// A user id as the crate takes it (made per call, as a caller holding a
/// number would).
fn user(id: u64) -> unit::UserId {
    unit::UserId::try_from(id).expect("a valid user id")
}
const MAILTRAP_ACCOUNT_LARGE: u64 = 3230;
const SMALL: usize = 50;
const LARGE: usize = 10_000;
const CONCURRENT: usize = 256;
const SEQUENTIAL: usize = 1_000;

struct Bodies {
    unit_small: Bytes,
    unit_large: Bytes,
    /// The large Unit list with two addresses on three quarters of the
    /// tokens, decoded in memory only.
    unit_addresses: Bytes,
    mailtrap_small: Bytes,
    mailtrap_large: Bytes,
}

impl Bodies {
    fn new() -> Bodies {
        Bodies {
            unit_small: bodies::unit_list(SMALL).into(),
            unit_large: bodies::unit_list(LARGE).into(),
            unit_addresses: bodies::unit_list_with_addresses(LARGE).into(),
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
                path: format!("/users/{UNIT_USER_EMPTY}/api-tokens"),
                content_type: unit,
                body: Bytes::from_static(b"{\"data\":[]}"),
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

    /// A Unit client on the same `reqwest::Client` settings as the raw side.
    fn unit(&self, retry: RetryPolicy) -> unit::Client {
        unit::Client::builder()
            .token(TOKEN)
            .base_url(self.server.url())
            .http_client(raw::http_client())
            .retry(retry)
            .build()
            .expect("unit client")
    }

    /// A Mailtrap client on the same `reqwest::Client` settings as the raw
    /// side.
    fn mailtrap(&self, account: u64) -> mailtrap::Client {
        self.mailtrap_paced(account, Pacing::default())
    }

    /// [`Bench::mailtrap`] with the given pacing.
    fn mailtrap_paced(&self, account: u64, pacing: Pacing) -> mailtrap::Client {
        mailtrap::Client::builder()
            .token(TOKEN)
            .account_id(account)
            .base_url(self.server.url())
            .http_client(raw::http_client())
            .pacing(pacing)
            .build()
            .expect("mailtrap client")
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

/// A Unit list document decoded straight into the crate's public model.
#[derive(serde::Deserialize)]
struct ModelList {
    data: Vec<unit::ApiToken>,
}

/// `a / b`, paired by round (see [`harness::paired`]).
fn ratio(a: &Summary, b: &Summary) -> f64 {
    harness::paired(a, b)
}

/// `a / b` as the ratio of the two medians, printed beside the paired one.
fn of_medians(a: &Summary, b: &Summary) -> f64 {
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
        if bench.wants("retry") {
            retry(&mut bench).await;
        }
        if bench.wants("pacing") {
            pacing_overhead(&mut bench).await;
            pacing_under_limit(&mut bench).await;
        }
    });
    harness::print_verdicts(bench.mode, &bench.verdicts);
}

// ------------------------------------------------------ 1. call overhead ----

async fn overhead(b: &mut Bench) {
    let plan = Plan {
        warmup: b.mode.pick(50, 1),
        rounds: b.mode.pick(500, 3),
        batch: b.mode.pick(10, 2),
    };
    println!(
        "\n== 1. call overhead: list of {SMALL}, {} rounds x {} calls per variant, interleaved",
        plan.rounds, plan.batch
    );
    let names = ["api-tokens", "raw reqwest", "raw reqwest (A/A)"];
    let raw = b.raw();
    let raw_again = b.raw();

    println!("  unit");
    let crate_client = b.unit(RetryPolicy::default());
    let rows = interleave(&names, plan, async |v| {
        let n = match v {
            0 => crate_client
                .org_api_tokens(user(UNIT_USER_SMALL))
                .list()
                .await
                .expect("unit list")
                .len(),
            1 => raw.unit_list(UNIT_USER_SMALL).await.len(),
            _ => raw_again.unit_list(UNIT_USER_SMALL).await.len(),
        };
        assert_eq!(black_box(n), SMALL);
    })
    .await;
    print_all(&rows);
    let r = ratio(&rows[0], &rows[1]);
    println!(
        "    ratio api-tokens / raw: {r:.3} paired by round (of medians {:.3}; A/A noise floor {:.3})",
        of_medians(&rows[0], &rows[1]),
        ratio(&rows[2], &rows[1])
    );
    b.verdict(
        "1. call overhead, unit list of 50 (api-tokens / raw)",
        r,
        Bound::AtMost(1.05),
        true,
    );

    println!("  mailtrap");
    let crate_client = b.mailtrap(MAILTRAP_ACCOUNT_SMALL);
    let rows = interleave(&names, plan, async |v| {
        let n = match v {
            0 => crate_client
                .api_tokens()
                .list()
                .await
                .expect("mailtrap list")
                .len(),
            1 => raw.mailtrap_list(MAILTRAP_ACCOUNT_SMALL).await.len(),
            _ => raw_again.mailtrap_list(MAILTRAP_ACCOUNT_SMALL).await.len(),
        };
        assert_eq!(black_box(n), SMALL);
    })
    .await;
    print_all(&rows);
    let r = ratio(&rows[0], &rows[1]);
    println!(
        "    ratio api-tokens / raw: {r:.3} paired by round (of medians {:.3}; A/A noise floor {:.3})",
        of_medians(&rows[0], &rows[1]),
        ratio(&rows[2], &rows[1])
    );
    b.verdict(
        "1. call overhead, mailtrap list of 50 (api-tokens / raw)",
        r,
        Bound::AtMost(1.05),
        true,
    );

    // Not a target: the transport alone, with nothing to decode.
    println!("  unit, empty list (transport only)");
    let crate_client = b.unit(RetryPolicy::default());
    let rows = interleave(&names, plan, async |v| {
        let n = match v {
            0 => crate_client
                .org_api_tokens(user(UNIT_USER_EMPTY))
                .list()
                .await
                .expect("unit list")
                .len(),
            1 => raw.unit_list(UNIT_USER_EMPTY).await.len(),
            _ => raw_again.unit_list(UNIT_USER_EMPTY).await.len(),
        };
        assert_eq!(black_box(n), 0);
    })
    .await;
    print_all(&rows);
    println!(
        "    ratio api-tokens / raw: {:.3} paired by round (of medians {:.3}; A/A noise floor {:.3}); difference of medians {}",
        ratio(&rows[0], &rows[1]),
        of_medians(&rows[0], &rows[1]),
        ratio(&rows[2], &rows[1]),
        fmt_ns(rows[0].median - rows[1].median),
    );
}

// -------------------------------------------------------------- 2. decode ----

/// The decode figures of one dialect, measured through list calls: each
/// variant's time minus that of fetching the same bytes alone.
fn decode_report(b: &mut Bench, dialect: &str, rows: &[Summary]) {
    print_all(rows);
    let (sdk, raw, fetch) = (&rows[0], &rows[1], &rows[2]);
    let sdk_decode = sdk.median - fetch.median;
    let raw_decode = raw.median - fetch.median;
    let per_token = |s: &Summary| (s.allocs - fetch.allocs) / LARGE as f64;
    let r = harness::paired_less(sdk, raw, fetch);
    println!(
        "    decode (list - fetch): api-tokens {}, raw {}; ratio {r:.3} paired by round (of medians {:.3})",
        fmt_ns(sdk_decode),
        fmt_ns(raw_decode),
        sdk_decode / raw_decode,
    );
    println!(
        "    allocs/token: api-tokens {:.2}, raw {:.2}",
        per_token(sdk),
        per_token(raw),
    );
    b.verdict(
        format!("2. decode {LARGE}, {dialect} (api-tokens / serde_json)"),
        r,
        Bound::AtMost(1.15),
        true,
    );
}

async fn decode(b: &mut Bench) {
    let plan = Plan {
        warmup: b.mode.pick(5, 1),
        rounds: b.mode.pick(80, 2),
        batch: 1,
    };
    println!(
        "\n== 2. decode: {LARGE} tokens, {} rounds per variant, interleaved",
        plan.rounds
    );
    let per_token = |s: &Summary| s.allocs / LARGE as f64;

    // In memory: what serde_json alone costs, and for Mailtrap, whose model
    // types implement `Deserialize` publicly, the crate's model decoded the
    // same way (without the JSON-path tracking of the list call).
    // Two more rows show the two costs the crate's decoder steers around:
    // JSON-path tracking (serde_path_to_error), which it pays only for a
    // body that fails, and chrono's general date parser, which it calls
    // only for a date not in the services' usual shape.
    println!("  unit, in memory");
    let body = b.bodies.unit_large.clone();
    let rows = interleave_sync(
        &[
            "serde_json, String fields",
            "  + serde_path_to_error",
            "  with chrono dates",
        ],
        plan,
        |v| match v {
            0 => {
                let list: raw::UnitList = serde_json::from_slice(&body).expect("decode");
                assert_eq!(black_box(list).data.len(), LARGE);
            }
            1 => {
                let de = &mut serde_json::Deserializer::from_slice(&body);
                let list: raw::UnitList = serde_path_to_error::deserialize(de).expect("decode");
                assert_eq!(black_box(list).data.len(), LARGE);
            }
            _ => {
                let list: raw::UnitListDated<chrono::DateTime<chrono::Utc>> =
                    serde_json::from_slice(&body).expect("decode");
                assert_eq!(black_box(list).data.len(), LARGE);
            }
        },
    );
    print_all(&rows);
    println!(
        "    allocs/token: serde_json {:.2}, + path tracking {:.2}, chrono dates {:.2}; path tracking / plain {:.3}, chrono dates / String dates {:.3}",
        per_token(&rows[0]),
        per_token(&rows[1]),
        per_token(&rows[2]),
        ratio(&rows[1], &rows[0]),
        ratio(&rows[2], &rows[0]),
    );

    // The crate's Unit model, public `Deserialize` too, against the same
    // plain structs on the list where addresses weigh most: two on three
    // tokens in four, which the model reads as addresses, not text.
    println!("  unit with source addresses, in memory");
    let body = b.bodies.unit_addresses.clone();
    let rows = interleave_sync(
        &[
            "api-tokens model, serde_json",
            "serde_json, String fields",
            "serde_json, String (A/A)",
        ],
        plan,
        |v| match v {
            0 => {
                let list: ModelList = serde_json::from_slice(&body).expect("decode");
                assert_eq!(black_box(list).data.len(), LARGE);
            }
            _ => {
                let list: raw::UnitList = serde_json::from_slice(&body).expect("decode");
                assert_eq!(black_box(list).data.len(), LARGE);
            }
        },
    );
    print_all(&rows);
    let r = ratio(&rows[0], &rows[1]);
    println!(
        "    ratio model / String fields {r:.3} paired by round (of medians {:.3}; A/A noise floor {:.3}); allocs/token: model {:.2}, String fields {:.2}",
        of_medians(&rows[0], &rows[1]),
        ratio(&rows[2], &rows[1]),
        per_token(&rows[0]),
        per_token(&rows[1]),
    );
    b.verdict(
        format!("2c. decode {LARGE} with addresses, unit model (api-tokens / serde_json)"),
        r,
        Bound::AtMost(1.05),
        true,
    );

    println!("  mailtrap, in memory");
    let body = b.bodies.mailtrap_large.clone();
    let rows = interleave_sync(
        &[
            "api-tokens model, serde_json",
            "serde_json, String fields",
            "  model + serde_path_to_error",
        ],
        plan,
        |v| match v {
            0 => {
                let list: Vec<mailtrap::ApiToken> = serde_json::from_slice(&body).expect("decode");
                assert_eq!(black_box(list).len(), LARGE);
            }
            2 => {
                let de = &mut serde_json::Deserializer::from_slice(&body);
                let list: Vec<mailtrap::ApiToken> =
                    serde_path_to_error::deserialize(de).expect("decode");
                assert_eq!(black_box(list).len(), LARGE);
            }
            _ => {
                let list: Vec<raw::MailtrapToken> = serde_json::from_slice(&body).expect("decode");
                assert_eq!(black_box(list).len(), LARGE);
            }
        },
    );
    print_all(&rows);
    println!(
        "    ratio model / String fields {:.3}; allocs/token: model {:.2}, String fields {:.2}, model + path tracking {:.2}",
        ratio(&rows[0], &rows[1]),
        per_token(&rows[0]),
        per_token(&rows[1]),
        per_token(&rows[2])
    );

    // Through the public API: the crate's own decoder is reached by a list
    // call; fetching the same bytes alone is the third variant, subtracted.
    let names = ["api-tokens list", "raw list", "fetch bytes only"];
    let raw = b.raw();
    let unit_len = b.bodies.unit_large.len();
    let mailtrap_len = b.bodies.mailtrap_large.len();

    println!("  unit, through a list call");
    let crate_client = b.unit(RetryPolicy::default());
    let rows = interleave(&names, plan, async |v| match v {
        0 => {
            let list = crate_client
                .org_api_tokens(user(UNIT_USER_LARGE))
                .list()
                .await;
            assert_eq!(black_box(list.expect("unit list")).len(), LARGE);
        }
        1 => assert_eq!(black_box(raw.unit_list(UNIT_USER_LARGE).await).len(), LARGE),
        _ => assert_eq!(
            black_box(raw.unit_bytes(UNIT_USER_LARGE).await).len(),
            unit_len
        ),
    })
    .await;
    decode_report(b, "unit", &rows);

    println!("  mailtrap, through a list call");
    let crate_client = b.mailtrap(MAILTRAP_ACCOUNT_LARGE);
    let rows = interleave(&names, plan, async |v| match v {
        0 => {
            let list = crate_client.api_tokens().list().await;
            assert_eq!(black_box(list.expect("mailtrap list")).len(), LARGE);
        }
        1 => assert_eq!(
            black_box(raw.mailtrap_list(MAILTRAP_ACCOUNT_LARGE).await).len(),
            LARGE
        ),
        _ => assert_eq!(
            black_box(raw.mailtrap_bytes(MAILTRAP_ACCOUNT_LARGE).await).len(),
            mailtrap_len
        ),
    })
    .await;
    decode_report(b, "mailtrap", &rows);
}

// --------------------------------------------------------- 3. concurrency ----

async fn concurrency(b: &mut Bench) {
    let plan = Plan {
        warmup: 1,
        rounds: b.mode.pick(120, 2),
        batch: 1,
    };
    println!(
        "\n== 3. concurrency: {CONCURRENT} list calls at once through one client (unit, {SMALL} tokens each), {} rounds per variant, interleaved",
        plan.rounds
    );
    let crate_client = b.unit(RetryPolicy::default());
    let raw = Arc::new(b.raw());
    let raw_again = Arc::new(b.raw());
    let server = &b.server;
    let mut opened = [0u64; 3];
    let rows = interleave(
        &["api-tokens", "raw reqwest", "raw reqwest (A/A)"],
        plan,
        async |v| {
            let before = server.connections();
            let mut set = JoinSet::new();
            for _ in 0..CONCURRENT {
                match v {
                    0 => {
                        let client = crate_client.clone();
                        set.spawn(async move {
                            let list = client.org_api_tokens(user(UNIT_USER_SMALL)).list().await;
                            list.expect("unit list").len()
                        });
                    }
                    _ => {
                        let client = Arc::clone(if v == 1 { &raw } else { &raw_again });
                        set.spawn(async move { client.unit_list(UNIT_USER_SMALL).await.len() });
                    }
                }
            }
            while let Some(n) = set.join_next().await {
                assert_eq!(n.expect("task"), SMALL);
            }
            opened[v] += server.connections() - before;
        },
    )
    .await;
    print_all(&rows);
    for (s, conns) in rows.iter().zip(opened) {
        println!(
            "    {:<28} throughput {:>9.0} calls/s, TCP connections opened {conns} (over all rounds, warm-up included)",
            s.name,
            CONCURRENT as f64 * 1e9 / s.median
        );
    }
    // Throughput is the inverse of the round time.
    let r = ratio(&rows[1], &rows[0]);
    println!(
        "    throughput ratio api-tokens / raw: {r:.3} paired by round (of medians {:.3}; A/A noise floor {:.3})",
        of_medians(&rows[1], &rows[0]),
        ratio(&rows[1], &rows[2])
    );
    b.verdict(
        format!("3. concurrency, {CONCURRENT} at once (throughput api-tokens / raw)"),
        r,
        Bound::AtLeast(0.95),
        true,
    );
}

// ----------------------------------------------------- 3b. connection reuse ----

async fn reuse(b: &mut Bench) {
    println!("\n== 3b. connection reuse: {SEQUENTIAL} sequential list calls, fresh client each");
    for v in 0..2 {
        let crate_client = b.unit(RetryPolicy::default());
        let raw = b.raw();
        let name = ["api-tokens", "raw reqwest"][v];
        let before = b.server.connections();
        let requests_before = b.server.requests();
        for _ in 0..SEQUENTIAL {
            let n = match v {
                0 => crate_client
                    .org_api_tokens(user(UNIT_USER_SMALL))
                    .list()
                    .await
                    .expect("unit list")
                    .len(),
                _ => raw.unit_list(UNIT_USER_SMALL).await.len(),
            };
            assert_eq!(n, SMALL);
        }
        // Not timed: one cold pass per variant would compare nothing.
        let conns = b.server.connections() - before;
        let requests = b.server.requests() - requests_before;
        println!("    {name:<28} {requests} requests, TCP connections opened {conns}");
        b.verdict(
            format!("3b. {SEQUENTIAL} sequential calls, {name}: TCP connections"),
            conns as f64,
            Bound::Exactly(1.0),
            false,
        );
    }
}

// ------------------------------------------------------------ 4. retry path ----

async fn retry(b: &mut Bench) {
    let plan = Plan {
        warmup: b.mode.pick(50, 1),
        rounds: b.mode.pick(1000, 3),
        batch: b.mode.pick(10, 2),
    };
    println!(
        "\n== 4. retry path: unit list of {SMALL} that succeeds first time, {} rounds x {} calls per variant, interleaved",
        plan.rounds, plan.batch
    );
    let enabled = b.unit(RetryPolicy::default());
    let disabled = b.unit(RetryPolicy::disabled());
    let disabled_again = b.unit(RetryPolicy::disabled());
    let rows = interleave(
        &[
            "RetryPolicy::default()",
            "RetryPolicy::disabled()",
            "RetryPolicy::disabled() (A/A)",
        ],
        plan,
        async |v| {
            let client = [&enabled, &disabled, &disabled_again][v];
            let list = client.org_api_tokens(user(UNIT_USER_SMALL)).list().await;
            assert_eq!(black_box(list.expect("unit list")).len(), SMALL);
        },
    )
    .await;
    print_all(&rows);
    for (client, name) in [(&enabled, "default"), (&disabled, "disabled")] {
        let stats = client.stats();
        assert_eq!(stats.retries, 0, "a first-time success was retried");
        println!(
            "    {name}: {} requests, {} retries",
            stats.requests, stats.retries
        );
    }
    let r = ratio(&rows[0], &rows[1]);
    println!(
        "    ratio enabled / disabled: {r:.4} paired by round (of medians {:.4}; A/A noise floor {:.4})",
        of_medians(&rows[0], &rows[1]),
        ratio(&rows[2], &rows[1])
    );
    b.verdict(
        "4. retry path, first-time success (enabled / disabled)",
        r,
        Bound::AtMost(1.01),
        true,
    );
}

// ---------------------------------------------------- 5. pacing overhead ----

async fn pacing_overhead(b: &mut Bench) {
    let plan = Plan {
        warmup: b.mode.pick(50, 1),
        rounds: b.mode.pick(1000, 3),
        batch: b.mode.pick(10, 2),
    };
    println!(
        "\n== 5. pacing overhead: mailtrap list of {SMALL}, no rate-limit headers, {} rounds x {} calls per variant, interleaved",
        plan.rounds, plan.batch
    );
    let on = b.mailtrap_paced(MAILTRAP_ACCOUNT_SMALL, Pacing::auto());
    let off = b.mailtrap_paced(MAILTRAP_ACCOUNT_SMALL, Pacing::off());
    let off_again = b.mailtrap_paced(MAILTRAP_ACCOUNT_SMALL, Pacing::off());
    let rows = interleave(
        &["Pacing::auto()", "Pacing::off()", "Pacing::off() (A/A)"],
        plan,
        async |v| {
            let client = [&on, &off, &off_again][v];
            let list = client.api_tokens().list().await;
            assert_eq!(black_box(list.expect("mailtrap list")).len(), SMALL);
        },
    )
    .await;
    print_all(&rows);
    let r = ratio(&rows[0], &rows[1]);
    println!(
        "    ratio on / off: {r:.4} paired by round (of medians {:.4}; A/A noise floor {:.4})",
        of_medians(&rows[0], &rows[1]),
        ratio(&rows[2], &rows[1])
    );
    b.verdict(
        "5. pacing overhead, one call (on / off)",
        r,
        Bound::AtMost(1.01),
        true,
    );
}

// ------------------------------------------------ 6. pacing under a limit ----

async fn pacing_under_limit(b: &mut Bench) {
    // Mailtrap's 150 requests per 10 s, ten times faster; the smoke run
    // scales it down further.
    let load = match b.mode {
        Mode::Full => pacing::Load {
            calls: 1_000,
            limit: 150,
            window: std::time::Duration::from_secs(1),
        },
        Mode::Smoke => pacing::Load {
            calls: 60,
            limit: 15,
            window: std::time::Duration::from_millis(250),
        },
    };
    let minimum = load.minimum();
    println!(
        "\n== 6. pacing under a limit: {} concurrent mailtrap list calls through one client, fake limited to {} per {:?}",
        load.calls, load.limit, load.window
    );
    println!(
        "    minimum the limit allows: {:.3} s ({} groups of at most {}, one window apart)",
        minimum.as_secs_f64(),
        load.calls.div_ceil(load.limit as usize),
        load.limit
    );
    let on = pacing::run(load, Pacing::auto().window(load.window)).await;
    pacing::print("pacing on", load, &on);
    let off = pacing::run(load, Pacing::off()).await;
    pacing::print("pacing off", load, &off);
    println!(
        "    pacing saves {} 429s, {} retries and {} failed calls",
        off.rate_limited.saturating_sub(on.rate_limited),
        off.retries.saturating_sub(on.retries),
        off.failed.saturating_sub(on.failed),
    );
    let n = load.calls;
    b.verdict(
        format!("6. {n} calls paced: 429s"),
        on.rate_limited as f64,
        Bound::Exactly(0.0),
        false,
    );
    b.verdict(
        format!("6. {n} calls paced: retries"),
        on.retries as f64,
        Bound::Exactly(0.0),
        false,
    );
    b.verdict(
        format!("6. {n} calls paced: failed calls"),
        on.failed as f64,
        Bound::Exactly(0.0),
        false,
    );
    b.verdict(
        format!("6. {n} calls paced: total time / minimum"),
        on.elapsed.as_secs_f64() / minimum.as_secs_f64(),
        Bound::AtMost(1.10),
        true,
    );
}
