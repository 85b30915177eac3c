//! Runs the PHP suite (tests/php, Debian's PHPUnit) against the built cdylib through PHP's FFI,
//! with a fresh database and fake messengers of its own.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::*;
use crmchats_fakes::chatapi::{self, FakeChatApi};
use crmchats_fakes::graph::FakeGraph;
use crmchats_fakes::viber::{self, FakeViber};
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
    let viber = FakeViber::start(viber::FIXTURE_TOKEN);
    // Viber fetches the media it is sent: here through media.php on PHP's built-in server.
    viber.fetch_media(true);
    let chatapi = FakeChatApi::start(chatapi::FIXTURE_INSTANCE, chatapi::FIXTURE_TOKEN);
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
        .env("CRMCHATS_FAKE_VIBER", viber.base_url())
        .env("CRMCHATS_FAKE_CHATAPI", chatapi.base_url())
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

    // ViberChatApiTest sent a picture: Viber got it through the signed media.php link.
    let sent = viber.sent_messages("cGhwVmliZXJWaXNpdG9yMDE=");
    let picture = sent
        .iter()
        .find(|m| m.kind() == "picture")
        .expect("ViberChatApiTest sent a picture");
    assert_eq!(
        picture.fetched,
        Some(Ok(b"\xff\xd8\xff\xe0 crmchats php media link".to_vec())),
        "fetched from {:?}",
        picture.field("media")
    );
}
