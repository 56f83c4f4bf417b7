//! What a rotation adds over its service calls when its secret goes to AWS
//! Secrets Manager: the same Unit rotation, one after another, into a file
//! and into a secret of a local Secrets Manager (moto's server, started
//! here), and the store's own calls alone.
//!
//! ```text
//! cargo bench --features aws --bench aws_store
//! API_TOKENS_BENCH_ROUNDS=50 cargo bench --features aws --bench aws_store
//! ```
//!
//! Needs `python3 -m moto.server` (`pip install 'moto[server]'`).

#[path = "../tests/aws_support/mod.rs"]
mod aws_support;

use std::time::{Duration, Instant};

use api_tokens::lifecycle::sink::{FileSink, SecretMeta, SecretSink, SecretsManagerSink};
use api_tokens::lifecycle::{UnitLifecycle, UnitPlan};
use api_tokens::testing::{UnitFake, UnitTokenSeed};
use api_tokens::unit::Scope;
use api_tokens::{Service, unit};
use aws_support::{Moto, unique_name};
use chrono::Utc;
use secrecy::SecretString;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn p90(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[(v.len() * 9 / 10).min(v.len() - 1)]
}

fn show(what: &str, v: &[Duration]) {
    println!(
        "{what:<48} median {:>8.2} ms   p90 {:>8.2} ms   (n={})",
        median(v.to_vec()).as_secs_f64() * 1e3,
        p90(v.to_vec()).as_secs_f64() * 1e3,
        v.len()
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let Some(moto) = Moto::start() else { return };
    let rounds: usize = std::env::var("API_TOKENS_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let fake = UnitFake::start().await;
    let client = unit::Client::builder()
        .token(fake.token().clone())
        .base_url(fake.uri())
        .build()
        .expect("client");
    let life = UnitLifecycle::new(client, fake.user_id());
    let expires = Utc::now() + chrono::Duration::days(30);
    let plan = UnitPlan::new([Scope::Customers], expires);
    let seed = fake.insert_token(
        UnitTokenSeed::new("bench")
            .scope(Scope::Customers)
            .expiration(expires),
    );

    // Warm both paths up (connections, the SDK's configuration).
    let dir = tempfile::tempdir().expect("dir");
    let file = FileSink::new(dir.path().join("token"));
    let name = unique_name("bench/unit");
    // One client (one connection pool) for every sink, as in one process.
    let sm = moto.client();
    let store = SecretsManagerSink::with_client(sm.clone(), &name).expect("sink");
    let meta = SecretMeta::new(Service::Unit, seed.id.to_string()).with_name("bench");
    store.store(&seed.secret, &meta).await.expect("seed");

    let mut old = seed.id.clone();
    let mut into_file = Vec::new();
    for _ in 0..rounds {
        let t = Instant::now();
        let r = life
            .rotate(&old, &plan, &file)
            .await
            .expect("rotate into a file");
        into_file.push(t.elapsed());
        old = r.new.id.parse().expect("id");
    }
    // The store holds the seed; the file path rotated other tokens: start
    // the store's rotations from a token of its own.
    let fresh = fake.insert_token(
        UnitTokenSeed::new("bench")
            .scope(Scope::Customers)
            .expiration(expires),
    );
    let meta = SecretMeta::new(Service::Unit, fresh.id.to_string()).with_name("bench");
    store.store(&fresh.secret, &meta).await.expect("seed");
    let mut into_store = Vec::new();
    let mut from_store = Vec::new();
    let mut old = fresh.id.clone();
    for i in 0..rounds {
        let t = Instant::now();
        let r = if i % 2 == 0 {
            // A sink reads the current version before it stores: one sink
            // per rotation, as one process per run.
            let s = SecretsManagerSink::with_client(sm.clone(), &name).expect("sink");
            let r = life
                .rotate(&old, &plan, &s)
                .await
                .expect("rotate into the store");
            into_store.push(t.elapsed());
            r
        } else {
            let s = SecretsManagerSink::with_client(sm.clone(), &name).expect("sink");
            let r = life
                .rotate_from(&s, &plan)
                .await
                .expect("rotate from the store");
            from_store.push(t.elapsed());
            r
        };
        old = r.new.id.parse().expect("id");
    }
    let mut store_alone = Vec::new();
    let sink =
        SecretsManagerSink::with_client(sm.clone(), unique_name("bench/alone")).expect("sink");
    for i in 0..rounds {
        let secret = SecretString::from(format!("bench-secret-{i}-{}", fastrand::u64(..)));
        let meta = SecretMeta::new(Service::Unit, (1000 + i).to_string());
        let t = Instant::now();
        sink.store(&secret, &meta).await.expect("store");
        store_alone.push(t.elapsed());
    }

    println!("Unit rotation (list, create, probe, store, revoke) against the loopback fake:");
    show("into a file (FileSink)", &into_file);
    show("into Secrets Manager (SecretsManagerSink)", &into_store);
    show("rotate_from Secrets Manager (+ read record)", &from_store);
    show("SecretsManagerSink::store alone", &store_alone);
    let added = median(into_store.clone()).saturating_sub(median(into_file.clone()));
    println!(
        "added by Secrets Manager over a file, median: {:.2} ms",
        added.as_secs_f64() * 1e3
    );
}
