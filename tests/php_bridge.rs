//! Runs the PHP suite (tests/php, Debian's PHPUnit) against the built cdylib through PHP's FFI,
//! with a fresh database and a fake Telegram of its own.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::*;
use crmchats_fakes::graph::FakeGraph;
use crmchats_fakes::vk::{FakeVk, FIXTURE_TOKEN as VK_TOKEN};
use crmchats_fakes::FakeTelegram;

/// `target/<profile>/libcrmchats.so`, built beside this test binary (`target/<profile>/deps/`).
fn cdylib() -> PathBuf {
    if let Ok(path) = std::env::var("CRMCHATS_LIB") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    profile_dir.join("libcrmchats.so")
}

#[test]
fn php_bridge_suite_passes_through_ffi() {
    let lib = cdylib();
    assert!(
        lib.exists(),
        "{} is missing: run `cargo build` first (make test does)",
        lib.display()
    );
    let db = TestDb::create();
    let tg = FakeTelegram::start(TG_TOKEN);
    let vk = FakeVk::start(VK_TOKEN);
    let graph = FakeGraph::start();
    let storage = TempDir::new("php");
    let output = Command::new("phpunit")
        .args(["-c", "tests/php/phpunit.xml"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CRMCHATS_LIB", &lib)
        .env("CRMCHATS_HEADER", repo_path("php-bridge/crmchats.ffi.h"))
        .env("CRMCHATS_TEST_DATABASE_URL", &db.url)
        .env("CRMCHATS_FAKE_TELEGRAM", tg.base_url())
        .env("CRMCHATS_FAKE_VK", vk.base_url())
        .env("CRMCHATS_FAKE_GRAPH", graph.base_url())
        .env("CRMCHATS_STORAGE_DIR", &storage.0)
        .env("CRMCHATS_FIXTURES", repo_path("tests/fixtures"))
        .output()
        .expect("phpunit runs (scripts/setup.sh installs it)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}\n{stderr}");
    assert!(
        output.status.success(),
        "the PHP suite failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("OK ("), "PHPUnit ran tests: {stdout}");
}
