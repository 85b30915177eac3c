//! `make bench` part (d): `reports.summary` over one month of a database holding a year of
//! dialogs (1 000 000 by default), against a floor measured in the same run: the two plain
//! COUNT queries that read the same month's dialogs and messages once.
//!
//!   cargo run --release --example bench_reports -- [--mysql mysql://root@127.0.0.1:3306] [--dialogs 1000000]
//!
//! Seeding uses MariaDB's sequence engine (`seq_1_to_N`), so a million dialogs and two million
//! messages take seconds, not hours. The database is dropped at the end.

mod support;

use std::time::{Duration, Instant};

use crmchats::api::Crmchats;
use mysql::prelude::Queryable;
use serde_json::json;

fn main() {
    let mut server = "mysql://root@127.0.0.1:3306".to_string();
    let mut dialogs: u64 = 1_000_000;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next()) {
            ("--mysql", Some(v)) => server = v,
            ("--dialogs", Some(v)) => dialogs = v.parse().expect("--dialogs takes a number"),
            _ => panic!("usage: bench_reports [--mysql URL] [--dialogs N]"),
        }
    }
    support::with_scratch_database(&server, "reports", |url| run(url, dialogs));
}

fn run(url: &str, dialogs: u64) {
    let mut conn = mysql::Conn::new(mysql::Opts::from_url(url).unwrap()).unwrap();
    let root = env!("CARGO_MANIFEST_DIR");
    for file in [
        "sql/host-dev/001_salesman.sql",
        "sql/host-dev/002_demo_users.sql",
    ] {
        let sql = std::fs::read_to_string(format!("{root}/{file}")).unwrap();
        for statement in crmchats::store::split_statements(&sql) {
            conn.query_drop(statement).unwrap();
        }
    }
    let storage =
        std::env::temp_dir().join(format!("crmchats-bench-reports-{}", std::process::id()));
    let app = Crmchats::open(&json!({"database_url": url, "storage_dir": storage})).unwrap();
    let channel = app
        .call(
            "channels.create",
            &json!({"type": "widget", "name": "Site"}),
        )
        .unwrap()["channel"]["id"]
        .as_i64()
        .unwrap();

    // A year of dialogs ending 2026-12-01, evenly spread; 4 in 5 closed after up to 2 hours,
    // operator 1 or 2, one in 3 rated; an inbound message at opening and an operator reply
    // up to 30 minutes later.
    let t0 = Instant::now();
    let year_secs = 365 * 86_400u64;
    conn.query_drop(format!(
        "INSERT INTO app_crmchats_visitors (identity, channel_id, external_id, name, created_at, updated_at) \
         SELECT 1, {channel}, CONCAT('v', seq), CONCAT('Visitor ', seq), '2025-12-01', '2025-12-01' FROM seq_1_to_{dialogs}"
    ))
    .unwrap();
    conn.query_drop(format!(
        "INSERT INTO app_crmchats_dialogs (identity, channel_id, visitor_id, status, open_visitor_id, last_activity_at, \
         created_at, closed_at, assigned_operator_id, rating) \
         SELECT 1, {channel}, v.id, IF(s.seq % 5 = 0, 'open', 'closed'), IF(s.seq % 5 = 0, v.id, NULL), \
           '2025-12-01' + INTERVAL (s.seq * {year_secs} DIV {dialogs}) SECOND, \
           '2025-12-01' + INTERVAL (s.seq * {year_secs} DIV {dialogs}) SECOND, \
           IF(s.seq % 5 = 0, NULL, '2025-12-01' + INTERVAL (s.seq * {year_secs} DIV {dialogs} + s.seq % 7200) SECOND), \
           1 + s.seq % 2, IF(s.seq % 3 = 0, 1 + s.seq % 5, NULL) \
         FROM seq_1_to_{dialogs} s JOIN app_crmchats_visitors v ON v.channel_id = {channel} AND v.external_id = CONCAT('v', s.seq)"
    ))
    .unwrap();
    for (direction, author, offset) in [("in", "visitor", "0"), ("out", "operator", "d.id % 1800")]
    {
        conn.query_drop(format!(
            "INSERT INTO app_crmchats_messages (identity, channel_id, dialog_id, direction, author_type, text, status, created_at) \
             SELECT 1, d.channel_id, d.id, '{direction}', '{author}', 'text', 'sent', d.created_at + INTERVAL ({offset}) SECOND \
             FROM app_crmchats_dialogs d"
        ))
        .unwrap();
    }
    conn.query_drop("ANALYZE TABLE app_crmchats_dialogs, app_crmchats_messages")
        .unwrap();
    println!(
        "  seeded {dialogs} dialogs and {} messages in {:.1} s",
        dialogs * 2,
        t0.elapsed().as_secs_f64()
    );

    let (from, to) = ("2026-11-01T00:00:00+03:00", "2026-12-01T00:00:00+03:00");
    let params = json!({"operator_id": 1, "from": from, "to": to, "group_by": "day"});
    app.call("reports.summary", &params).unwrap(); // warm the buffer pool
    let mut report_times = Vec::new();
    let mut in_month = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let r = app.call("reports.summary", &params).unwrap();
        report_times.push(t.elapsed());
        in_month = r["totals"]["new_dialogs"].as_i64().unwrap();
    }
    let mut floor_times = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let _: Option<i64> = conn
            .exec_first(
                "SELECT COUNT(*) FROM app_crmchats_dialogs WHERE identity = 1 AND created_at >= ? AND created_at < ?",
                ("2026-10-31 21:00:00", "2026-11-30 21:00:00"),
            )
            .unwrap();
        let _: Option<i64> = conn
            .exec_first(
                "SELECT COUNT(*) FROM app_crmchats_messages WHERE identity = 1 AND created_at >= ? AND created_at < ?",
                ("2026-10-31 21:00:00", "2026-11-30 21:00:00"),
            )
            .unwrap();
        floor_times.push(t.elapsed());
    }
    let report = support::median(report_times);
    let floor = support::median(floor_times);
    println!(
        "  reports.summary, one month ({in_month} dialogs of {dialogs}): median {:.0} ms (target < 1000 ms: {})",
        report.as_secs_f64() * 1000.0,
        if report < Duration::from_secs(1) { "ok" } else { "MISS" }
    );
    println!(
        "  floor (COUNT of the month's dialogs and messages): median {:.0} ms; ratio {:.1}x",
        floor.as_secs_f64() * 1000.0,
        report.as_secs_f64() / floor.as_secs_f64().max(1e-6)
    );
    let _ = std::fs::remove_dir_all(&storage);
}
