//! The committed headers are exactly what build.rs generates from src/ffi (run `make headers`
//! after changing the ABI), and the C header compiles.

use std::path::Path;
use std::process::Command;

fn committed(rel: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)).unwrap()
}

#[test]
fn committed_c_header_matches_the_code() {
    let generated = include_str!(concat!(env!("OUT_DIR"), "/crmchats.h"));
    assert!(
        generated == committed("include/crmchats.h"),
        "include/crmchats.h is stale: run `make headers`"
    );
}

#[test]
fn committed_php_header_matches_the_code() {
    let generated = include_str!(concat!(env!("OUT_DIR"), "/crmchats.ffi.h"));
    assert!(
        generated == committed("php-bridge/crmchats.ffi.h"),
        "php-bridge/crmchats.ffi.h is stale: run `make headers`"
    );
}

#[test]
fn php_header_has_only_what_phps_ffi_parser_accepts() {
    let header = committed("php-bridge/crmchats.ffi.h");
    for line in header.lines().filter(|l| l.starts_with('#')) {
        assert!(
            line.starts_with("#define FFI_SCOPE ") || line.starts_with("#define FFI_LIB "),
            "PHP's FFI rejects `{line}`"
        );
    }
    for name in [
        "crmchats_init",
        "crmchats_handle_webhook",
        "crmchats_send_message",
        "crmchats_list_dialogs",
        "crmchats_call",
        "crmchats_free",
        "crmchats_version",
    ] {
        assert!(header.contains(&format!("{name}(")), "{name} declared");
    }
}

#[test]
fn c_header_compiles_as_c_and_cpp() {
    let header = Path::new(env!("CARGO_MANIFEST_DIR")).join("include/crmchats.h");
    for lang in ["c", "c++"] {
        let status = Command::new("cc")
            .args(["-fsyntax-only", "-Wall", "-Werror", "-x", lang])
            .arg(&header)
            .status();
        assert!(
            status.expect("cc runs").success(),
            "include/crmchats.h does not compile as {lang}"
        );
    }
}
