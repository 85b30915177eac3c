//! The CRM plugin package end to end: `scripts/package.sh` builds the zip (with the debug library,
//! so no release build is needed), and `tests/host/scenario.php` unpacks it into a simulated SalesMan
//! and runs install, the chat panel, the card tab and its page, update, deactivation and uninstall
//! (keeping and removing the data) through the real PHP and the real library.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::*;

/// `target/<profile>/libcrmchats.so`, built beside this test binary (`target/<profile>/deps/`).
fn built_library() -> PathBuf {
    if let Ok(path) = std::env::var("CRMCHATS_LIB") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .join("libcrmchats.so")
}

#[test]
fn the_plugin_package_installs_runs_updates_and_uninstalls_in_a_simulated_salesman() {
    let lib = built_library();
    assert!(
        lib.exists(),
        "{} is missing: run `cargo build` first (make test does)",
        lib.display()
    );
    let db = TestDb::create();
    let dist = TempDir::new("dist");
    let crm = TempDir::new("crm");

    let packaged = Command::new("scripts/package.sh")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CRMCHATS_LIB", &lib)
        .env("CRMCHATS_DIST", &dist.0)
        .env("CRMCHATS_ZIP_LEVEL", "1")
        .output()
        .expect("scripts/package.sh runs");
    let printed = String::from_utf8_lossy(&packaged.stdout).trim().to_string();
    assert!(
        packaged.status.success(),
        "package.sh failed:\n{printed}\n{}",
        String::from_utf8_lossy(&packaged.stderr)
    );
    let zip = dist
        .0
        .join(format!("crmchats-{}.zip", env!("CARGO_PKG_VERSION")));
    assert!(
        zip.exists(),
        "package.sh made {printed}, not {}",
        zip.display()
    );

    let output = Command::new("php")
        .arg(repo_path("tests/host/scenario.php"))
        .env("SIM_ZIP", &zip)
        .env("SIM_CRM_ROOT", &crm.0)
        .env("SIM_DATABASE_URL", &db.url)
        .env("SIM_VERSION", env!("CARGO_PKG_VERSION"))
        .output()
        .expect("php runs (scripts/setup.sh installs it)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}\n{stderr}");
    assert!(
        output.status.success(),
        "the host-CRM scenario failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("scenario passed"), "{stdout}");
}
