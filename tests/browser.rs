//! Runs the browser suite (tests/browser/console.test.mjs: the operator console, the settings page
//! and the site widget in headless Debian chromium through playwright-core) against PHP's built-in
//! server serving php-bridge/ with the built cdylib, on a fresh test database.
//!
//! `scripts/setup.sh` installs chromium and the pinned playwright-core (`npm ci` in tests/browser).
//! Screenshots land in target/browser/.

mod common;

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use crmchats_fakes::chatapi::{FIXTURE_INSTANCE, FIXTURE_TOKEN};
use crmchats_fakes::{FakeChatApi, FakeTelegram};
use mysql::prelude::Queryable;

const CHROMIUM: &str = "/usr/bin/chromium";

/// `target/<profile>/libcrmchats.so`, built beside this test binary (`target/<profile>/deps/`).
fn cdylib() -> PathBuf {
    if let Ok(path) = std::env::var("CRMCHATS_LIB") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    profile_dir.join("libcrmchats.so")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

/// The messengers' fakes the settings page talks to: Telegram's Check, ChatAPI's QR code.
struct Fakes {
    tg: FakeTelegram,
    chatapi: FakeChatApi,
}

/// `php -S` in a process group of its own: with PHP_CLI_SERVER_WORKERS the server forks workers,
/// and killing only the parent would leave them holding the port.
struct PhpServer {
    child: Child,
}

impl PhpServer {
    fn start(port: u16, db: &TestDb, fakes: &Fakes, storage: &Path, log_dir: &Path) -> PhpServer {
        let log = std::fs::File::create(log_dir.join("php-server.log")).unwrap();
        let child = Command::new("php")
            .args([
                "-d",
                "ffi.enable=On",
                "-d",
                "display_errors=Off",
                "-d",
                "log_errors=On",
                "-d",
            ])
            .arg(format!(
                "error_log={}",
                log_dir.join("php-errors.log").display()
            ))
            .args(["-d", "post_max_size=64M", "-d", "upload_max_filesize=32M"])
            .arg("-S")
            .arg(format!("127.0.0.1:{port}"))
            .arg("-t")
            .arg(repo_path("php-bridge"))
            // Every open console and widget holds a worker in its long poll, and a reloaded page
            // leaves its poll running until the library's wait ends: the story opens several.
            .env("PHP_CLI_SERVER_WORKERS", "16")
            .env("CRMCHATS_LIB", cdylib())
            .env("CRMCHATS_HEADER", repo_path("php-bridge/crmchats.ffi.h"))
            .env("CRMCHATS_DATABASE_URL", &db.url)
            .env("CRMCHATS_STORAGE_DIR", storage)
            .env(
                "CRMCHATS_PUBLIC_BASE_URL",
                format!("http://127.0.0.1:{port}"),
            )
            .env("CRMCHATS_TELEGRAM_API_BASE", fakes.tg.base_url())
            .env("CRMCHATS_CHATAPI_API_BASE", fakes.chatapi.base_url())
            .env("CRMCHATS_LOG_FILE", log_dir.join("crmchats.log"))
            .env("CRMCHATS_CONFIG", "none")
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .process_group(0)
            .spawn()
            .expect("php runs (scripts/setup.sh installs php-cli)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "php -S did not start on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        PhpServer { child }
    }
}

impl Drop for PhpServer {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("--")
            .arg(format!("-{}", self.child.id()))
            .status();
        let _ = self.child.wait();
    }
}

#[test]
fn console_settings_and_widget_work_in_a_browser() {
    let lib = cdylib();
    assert!(
        lib.exists(),
        "{} is missing: run `cargo build` first (make test does)",
        lib.display()
    );
    let node_modules = repo_path("tests/browser/node_modules/playwright-core");
    assert!(
        Path::new(CHROMIUM).exists() && node_modules.exists(),
        "the browser suite needs {CHROMIUM} and tests/browser/node_modules: run scripts/setup.sh (make test does)"
    );
    let db = TestDb::create();
    db.conn()
        .query_drop("INSERT INTO app_user (iduser, login, title, isadmin, identity) VALUES (3, 'second', 'Ольга Вторая', 'off', 1)")
        .unwrap();
    let fakes = Fakes {
        tg: FakeTelegram::start(TG_TOKEN),
        chatapi: FakeChatApi::start(FIXTURE_INSTANCE, FIXTURE_TOKEN),
    };
    fakes.chatapi.log_out_phone(); // so Check shows the QR code to scan
    let storage = TempDir::new("browser");
    let out_dir = repo_path("target/browser");
    std::fs::create_dir_all(&out_dir).unwrap();
    // What an earlier run left: its PHP errors and failure screenshots.
    for entry in std::fs::read_dir(&out_dir).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == "php-errors.log" || name.starts_with("failed-") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    let port = free_port();
    let _server = PhpServer::start(port, &db, &fakes, &storage.0, &out_dir);

    let output = Command::new("node")
        .args(["--test", "--test-reporter=spec", "console.test.mjs"])
        .current_dir(repo_path("tests/browser"))
        .env("BASE_URL", format!("http://127.0.0.1:{port}"))
        .env("OUT_DIR", &out_dir)
        .env("CHROMIUM", CHROMIUM)
        .env("TELEGRAM_TOKEN", TG_TOKEN)
        .env("CHATAPI_URL", fakes.chatapi.instance_url())
        .env("CHATAPI_TOKEN", FIXTURE_TOKEN)
        .output()
        .expect("node runs (scripts/setup.sh)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}\n{stderr}");
    let php_errors = std::fs::read_to_string(out_dir.join("php-errors.log")).unwrap_or_default();
    assert!(
        output.status.success(),
        "the browser suite failed:\n{stdout}\n{stderr}\nPHP errors:\n{php_errors}"
    );
    assert!(
        stdout.contains("pass") && !stdout.contains("✖"),
        "node ran the browser tests: {stdout}"
    );
    assert!(
        out_dir.join("console-phone.png").exists(),
        "the phone screenshot was saved"
    );
}
