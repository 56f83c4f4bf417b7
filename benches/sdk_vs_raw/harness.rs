//! The measuring discipline: warm-up, many samples, variants interleaved
//! round by round (with the order rotated so no variant always runs first),
//! medians and spread, and allocations counted alongside the time.

use std::time::Instant;

use crate::alloc::Snapshot;

/// How much work a run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Full measurement.
    Full,
    /// `API_TOKENS_BENCH_SMOKE=1`: a few iterations, the same table, no
    /// verdicts on time.
    Smoke,
}

impl Mode {
    pub fn from_env() -> Mode {
        match std::env::var("API_TOKENS_BENCH_SMOKE") {
            Ok(v) if !v.is_empty() && v != "0" => Mode::Smoke,
            _ => Mode::Full,
        }
    }

    /// `full` in full mode, `smoke` otherwise.
    pub fn pick(self, full: usize, smoke: usize) -> usize {
        match self {
            Mode::Full => full,
            Mode::Smoke => smoke,
        }
    }
}

/// How a comparison is sampled.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Untimed rounds first.
    pub warmup: usize,
    /// Timed rounds; each round takes one sample of every variant.
    pub rounds: usize,
    /// Operations per sample; the sample is their mean.
    pub batch: usize,
}

/// One variant's samples, in nanoseconds per operation.
#[derive(Debug, Clone)]
pub struct Summary {
    pub name: &'static str,
    pub median: f64,
    pub p10: f64,
    pub p90: f64,
    pub samples: usize,
    /// Allocation calls per operation on the measuring thread.
    pub allocs: f64,
    /// Bytes asked of the allocator per operation.
    pub alloc_bytes: f64,
    /// The samples in the order the rounds ran, for paired comparisons.
    pub by_round: Vec<f64>,
}

/// The value at quantile `q` of sorted samples (nearest rank).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[idx]
}

fn summarise(name: &'static str, by_round: Vec<f64>, allocs: Snapshot, ops: usize) -> Summary {
    let mut ns = by_round.clone();
    ns.sort_by(f64::total_cmp);
    let ops = ops.max(1) as f64;
    Summary {
        by_round,
        name,
        median: quantile(&ns, 0.5),
        p10: quantile(&ns, 0.1),
        p90: quantile(&ns, 0.9),
        samples: ns.len(),
        allocs: allocs.calls as f64 / ops,
        alloc_bytes: allocs.bytes as f64 / ops,
    }
}

/// Runs `op(variant)` for every variant, interleaved: each round takes one
/// sample of each variant, starting with a different variant each round.
pub async fn interleave(
    names: &[&'static str],
    plan: Plan,
    mut op: impl AsyncFnMut(usize),
) -> Vec<Summary> {
    let n = names.len();
    for round in 0..plan.warmup {
        for k in 0..n {
            for _ in 0..plan.batch {
                op((round + k) % n).await;
            }
        }
    }
    let mut samples = vec![Vec::with_capacity(plan.rounds); n];
    let mut allocs = vec![Snapshot::default(); n];
    for round in 0..plan.rounds {
        for k in 0..n {
            let v = (round + k) % n;
            let before = Snapshot::now();
            let start = Instant::now();
            for _ in 0..plan.batch {
                op(v).await;
            }
            let elapsed = start.elapsed();
            let used = before.since();
            allocs[v].calls += used.calls;
            allocs[v].bytes += used.bytes;
            samples[v].push(elapsed.as_nanos() as f64 / plan.batch as f64);
        }
    }
    samples
        .into_iter()
        .zip(allocs)
        .zip(names)
        .map(|((ns, a), name)| summarise(name, ns, a, plan.rounds * plan.batch))
        .collect()
}

/// The synchronous twin of [`interleave`], for in-memory work.
pub fn interleave_sync(
    names: &[&'static str],
    plan: Plan,
    mut op: impl FnMut(usize),
) -> Vec<Summary> {
    let n = names.len();
    for round in 0..plan.warmup {
        for k in 0..n {
            for _ in 0..plan.batch {
                op((round + k) % n);
            }
        }
    }
    let mut samples = vec![Vec::with_capacity(plan.rounds); n];
    let mut allocs = vec![Snapshot::default(); n];
    for round in 0..plan.rounds {
        for k in 0..n {
            let v = (round + k) % n;
            let before = Snapshot::now();
            let start = Instant::now();
            for _ in 0..plan.batch {
                op(v);
            }
            let elapsed = start.elapsed();
            let used = before.since();
            allocs[v].calls += used.calls;
            allocs[v].bytes += used.bytes;
            samples[v].push(elapsed.as_nanos() as f64 / plan.batch as f64);
        }
    }
    samples
        .into_iter()
        .zip(allocs)
        .zip(names)
        .map(|((ns, a), name)| summarise(name, ns, a, plan.rounds * plan.batch))
        .collect()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    quantile(&values, 0.5)
}

/// `a / b` as the median of the per-round ratios. The samples of one round
/// ran back to back, so each ratio compares like with like even when the
/// machine's load changes during the run (a second process on a two-core
/// machine makes the times bimodal, and a ratio of medians then depends on
/// which mode each median fell in).
pub fn paired(a: &Summary, b: &Summary) -> f64 {
    median(
        a.by_round
            .iter()
            .zip(&b.by_round)
            .map(|(x, y)| x / y)
            .collect(),
    )
}

/// `(a - base) / (b - base)`, paired by round the same way.
pub fn paired_less(a: &Summary, b: &Summary, base: &Summary) -> f64 {
    median(
        a.by_round
            .iter()
            .zip(&b.by_round)
            .zip(&base.by_round)
            .map(|((x, y), z)| (x - z) / (y - z))
            .collect(),
    )
}

/// A time in the unit that reads best.
pub fn fmt_ns(ns: f64) -> String {
    if !ns.is_finite() {
        "-".to_owned()
    } else if ns >= 1e9 {
        format!("{:.2} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

/// Prints one variant's line of a comparison table.
pub fn print_summary(s: &Summary) {
    println!(
        "    {:<28} median {:>10}   p10..p90 {:>10} .. {:<10}  n={:<4} allocs/op {:>8.1}  bytes/op {:>10.0}",
        s.name,
        fmt_ns(s.median),
        fmt_ns(s.p10),
        fmt_ns(s.p90),
        s.samples,
        s.allocs,
        s.alloc_bytes,
    );
}

/// Whether a measured figure must stay below or above its limit.
#[derive(Debug, Clone, Copy)]
pub enum Bound {
    AtMost(f64),
    AtLeast(f64),
    /// An exact count (connections).
    Exactly(f64),
}

/// One line of the final verdict table.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub what: String,
    pub measured: f64,
    pub bound: Bound,
    /// Timing targets are not judged in smoke mode; counts always are.
    pub timing: bool,
}

impl Verdict {
    pub fn met(&self) -> bool {
        match self.bound {
            Bound::AtMost(l) => self.measured <= l,
            Bound::AtLeast(l) => self.measured >= l,
            Bound::Exactly(l) => self.measured == l,
        }
    }
}

/// The final table: every target, what was measured and whether it is met.
pub fn print_verdicts(mode: Mode, verdicts: &[Verdict]) {
    println!("\n== targets");
    for v in verdicts {
        let (limit, measured) = match v.bound {
            Bound::AtMost(l) => (format!("<= {l:.2}"), format!("{:.3}", v.measured)),
            Bound::AtLeast(l) => (format!(">= {l:.2}"), format!("{:.3}", v.measured)),
            Bound::Exactly(l) => (format!("== {l:.0}"), format!("{:.0}", v.measured)),
        };
        let verdict = if v.timing && mode == Mode::Smoke {
            "not judged (smoke run)"
        } else if v.met() {
            "met"
        } else {
            "MISSED"
        };
        println!("    {:<58} {:>9}  {:<8} {verdict}", v.what, measured, limit);
    }
}
