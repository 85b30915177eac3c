//! What the benchmark examples share: a scratch database made and dropped around a run, and the
//! median of timings.

use std::time::Duration;

use mysql::prelude::Queryable;

pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Runs `run` with the URL of a fresh database `crmchats_bench_<tag>_<pid>` on `server`; the
/// database is dropped afterwards, also when `run` panics.
pub fn with_scratch_database(server: &str, tag: &str, run: impl FnOnce(&str)) {
    let db_name = format!("crmchats_bench_{tag}_{}", std::process::id());
    let root_url = format!("{server}/mysql");
    let mut root = mysql::Conn::new(mysql::Opts::from_url(&root_url).unwrap()).unwrap();
    root.query_drop(format!("CREATE DATABASE `{db_name}` CHARACTER SET utf8mb4"))
        .unwrap();
    let url = format!("{server}/{db_name}");
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&url)));
    root.query_drop(format!("DROP DATABASE `{db_name}`"))
        .unwrap();
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}
