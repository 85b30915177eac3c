//! `make bench` part (e): what the outbox's shared send pace costs per send. A reservation (the
//! channel's and the chat's rows made if missing, locked, checked and moved on, in one
//! transaction) against a floor measured in the same run: a transaction holding one
//! `SELECT 1`. Once from one thread, then from 8 threads on one channel, where every
//! reservation queues for the channel's row lock.
//!
//!   cargo run --release --example bench_pace -- [--mysql mysql://root@127.0.0.1:3306] [--sends 2000]

mod support;

use std::time::{Duration, Instant};

use crmchats::config::Config;
use crmchats::store::{PaceAnswer, PaceRequest, PaceScope, Store};
use mysql::prelude::Queryable;
use serde_json::json;

const THREADS: usize = 8;

fn main() {
    let mut server = "mysql://root@127.0.0.1:3306".to_string();
    let mut sends: usize = 2000;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--mysql", Some(v)) => server = v,
            ("--sends", Some(v)) => sends = v.parse().expect("--sends takes a number"),
            _ => panic!("usage: bench_pace [--mysql URL] [--sends N]"),
        }
    }
    support::with_scratch_database(&server, "pace", |url| run(url, sends));
}

/// Telegram's limits with the pace itself switched off (interval 0), so no reservation waits:
/// what is measured is the database work alone.
fn requests(chat: usize) -> Vec<PaceRequest> {
    vec![
        PaceRequest {
            scope: PaceScope::Channel,
            interval_ms: 0,
            burst: 5,
            cost: 1,
        },
        PaceRequest {
            scope: PaceScope::Chat(format!("{}", 100_000 + chat)),
            interval_ms: 0,
            burst: 3,
            cost: 1,
        },
    ]
}

fn reserve(store: &Store, chat: usize) -> Duration {
    let t0 = Instant::now();
    let mut db = store.db().unwrap();
    let requests = requests(chat);
    db.ensure_pace_rows(1, &requests).unwrap();
    let mut tx = db.begin().unwrap();
    let answer = tx.reserve_send(1, &requests, true, 0, 0).unwrap();
    tx.commit().unwrap();
    assert!(matches!(answer, PaceAnswer::Go { .. }), "{answer:?}");
    t0.elapsed()
}

fn floor(pool: &mysql::Pool) -> Duration {
    let t0 = Instant::now();
    let mut conn = pool.get_conn().unwrap();
    let mut tx = conn.start_transaction(mysql::TxOpts::default()).unwrap();
    let one: Option<i64> = tx.query_first("SELECT 1").unwrap();
    assert_eq!(one, Some(1));
    tx.commit().unwrap();
    t0.elapsed()
}

/// (median latency, operations per second) of `op` run `n` times from `threads` threads.
fn measure(threads: usize, n: usize, op: impl Fn(usize) -> Duration + Sync) -> (Duration, f64) {
    let t0 = Instant::now();
    let latencies: Vec<Duration> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let op = &op;
                s.spawn(move || {
                    (0..n / threads)
                        .map(|i| op(t * n + i % 50))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let rate = latencies.len() as f64 / t0.elapsed().as_secs_f64();
    (support::median(latencies), rate)
}

fn run(url: &str, sends: usize) {
    let storage = std::env::temp_dir().join(format!("crmchats-bench-pace-{}", std::process::id()));
    let config = Config::from_json(&json!({"database_url": url, "storage_dir": storage})).unwrap();
    let store = Store::open(&config).unwrap();
    let pool = mysql::Pool::new(mysql::Opts::from_url(url).unwrap()).unwrap();
    // Warm the pools and the rows.
    for chat in 0..50 {
        reserve(&store, chat);
        floor(&pool);
    }
    println!("(e) the outbox's send pace: one reservation per send (Rust, no PHP, {sends} each)");
    for threads in [1, THREADS] {
        let (pace_p50, pace_rate) = measure(threads, sends, |chat| reserve(&store, chat));
        let (floor_p50, floor_rate) = measure(threads, sends, |_| floor(&pool));
        println!(
            "  {threads} thread(s): reservation p50 {:.2} ms, {:.0}/s; floor p50 {:.2} ms, {:.0}/s; \
             {:.1}× the floor's time, {:.2}× its rate",
            pace_p50.as_secs_f64() * 1000.0,
            pace_rate,
            floor_p50.as_secs_f64() * 1000.0,
            floor_rate,
            pace_p50.as_secs_f64() / floor_p50.as_secs_f64(),
            pace_rate / floor_rate,
        );
    }
    let _ = std::fs::remove_dir_all(&storage);
}
