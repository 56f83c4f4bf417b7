//! Pacing under a rate limit: many concurrent calls through one Mailtrap
//! client against the crate's own fake, limited the way Mailtrap limits
//! (`X-Ratelimit-Limit` / `X-Ratelimit-Remaining` on every answer, a 429
//! with `Retry-After` past the limit), with pacing on and off.

use std::time::{Duration, Instant};

use api_tokens::testing::MailtrapFake;
use api_tokens::{Pacing, RetryPolicy};
use tokio::task::JoinSet;

use crate::fake_client::mailtrap_client;

/// The shape of one run: `calls` list calls started at once against a fake
/// that accepts `limit` requests in any window of `window`.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub calls: usize,
    pub limit: u32,
    pub window: Duration,
}

impl Load {
    /// The least time the limit allows for all the calls: `limit` may go at
    /// once, and every further `limit` one window later, so the last group
    /// starts `ceil(calls / limit) - 1` windows after the first call.
    pub fn minimum(&self) -> Duration {
        let groups = self.calls.div_ceil(self.limit as usize).max(1);
        self.window * u32::try_from(groups - 1).unwrap_or(u32::MAX)
    }
}

/// What one run saw.
#[derive(Debug)]
pub struct Outcome {
    /// From the first call started to the last call finished.
    pub elapsed: Duration,
    /// Calls that returned the list.
    pub succeeded: usize,
    /// Calls that returned an error, and the first error's message.
    pub failed: usize,
    pub first_error: Option<String>,
    /// Requests the fake received, and how many its limit refused (429).
    pub requests: usize,
    pub rate_limited: usize,
    /// The client's own count of retried attempts.
    pub retries: u64,
}

/// Runs `load` through one client with this pacing and the default retry
/// policy, against a fresh fake.
pub async fn run(load: Load, pacing: Pacing) -> Outcome {
    let fake = MailtrapFake::builder()
        .rate_limit(load.limit, load.window)
        .start()
        .await;
    let client = mailtrap_client(&fake, RetryPolicy::default(), pacing);
    let start = Instant::now();
    let mut set = JoinSet::new();
    for _ in 0..load.calls {
        // Clones share the client's connection pool and its pacer.
        let client = client.clone();
        set.spawn(async move { client.api_tokens().list().await.map(|list| list.len()) });
    }
    let (mut succeeded, mut failed, mut first_error) = (0, 0, None);
    while let Some(joined) = set.join_next().await {
        match joined.expect("task") {
            Ok(_) => succeeded += 1,
            Err(e) => {
                failed += 1;
                first_error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    let elapsed = start.elapsed();
    let log = fake.requests();
    Outcome {
        elapsed,
        succeeded,
        failed,
        first_error,
        requests: log.len(),
        rate_limited: log.iter().filter(|r| r.rate_limited).count(),
        retries: client.stats().retries,
    }
}

/// Prints one run's line.
pub fn print(name: &str, load: Load, o: &Outcome) {
    println!(
        "    {name:<22} {:>8.3} s ({:.3}x the minimum)  ok {:>5}  failed {:>4}  requests {:>5}  429s {:>4}  retries {:>4}",
        o.elapsed.as_secs_f64(),
        o.elapsed.as_secs_f64() / load.minimum().as_secs_f64(),
        o.succeeded,
        o.failed,
        o.requests,
        o.rate_limited,
        o.retries,
    );
    if let Some(e) = &o.first_error {
        println!("    {:<22} first error: {e}", "");
    }
}
