//! The C ABI as a C caller sees it: envelopes for every outcome, no crash on bad pointers or
//! bad text, strings owned by the caller and freed with `crmchats_free`.

mod common;

use std::ffi::{c_char, CStr, CString};
use std::ptr;

use common::*;
use crmchats::ffi::*;
use crmchats_fakes::FakeTelegram;
use serde_json::{json, Value};

/// Takes ownership of a returned string: parse it, free it.
fn take(ptr: *mut c_char) -> Value {
    assert!(!ptr.is_null(), "every call returns an envelope");
    let text = unsafe { CStr::from_ptr(ptr) }
        .to_str()
        .expect("UTF-8")
        .to_string();
    unsafe { crmchats_free(ptr) };
    serde_json::from_str(&text).expect("JSON envelope")
}

fn code(envelope: &Value) -> &str {
    assert_eq!(envelope["ok"], false, "{envelope}");
    envelope["error"]["code"].as_str().unwrap()
}

fn c(s: &str) -> CString {
    CString::new(s).unwrap()
}

#[test]
fn null_pointers_are_invalid_arguments_naming_the_parameter() {
    let e = take(unsafe { crmchats_call(ptr::null(), ptr::null()) });
    assert_eq!(code(&e), "invalid_argument");
    assert!(
        e["error"]["message"].as_str().unwrap().contains("method"),
        "{e}"
    );
    let e = take(unsafe { crmchats_init(ptr::null()) });
    assert_eq!(code(&e), "invalid_argument");
    let e = take(unsafe { crmchats_send_message(ptr::null()) });
    assert_eq!(code(&e), "invalid_argument");
    let e = take(unsafe { crmchats_list_dialogs(ptr::null()) });
    assert_eq!(code(&e), "invalid_argument");
    let request = c(r#"{"channel_id": 1}"#);
    let e = take(unsafe { crmchats_handle_webhook(request.as_ptr(), ptr::null(), 10) });
    assert_eq!(code(&e), "invalid_argument");
    assert!(
        e["error"]["message"].as_str().unwrap().contains("body"),
        "{e}"
    );
    unsafe { crmchats_free(ptr::null_mut()) };
}

#[test]
fn invalid_utf8_and_invalid_json_are_invalid_arguments() {
    let bad_utf8 = CString::new(vec![b'{', 0xff, 0xfe, b'}']).unwrap();
    let e = take(unsafe { crmchats_call(bad_utf8.as_ptr(), c("{}").as_ptr()) });
    assert_eq!(code(&e), "invalid_argument");
    assert!(
        e["error"]["message"].as_str().unwrap().contains("UTF-8"),
        "{e}"
    );
    let e = take(unsafe { crmchats_init(c("{not json").as_ptr()) });
    assert_eq!(code(&e), "invalid_argument");
    assert!(
        e["error"]["message"].as_str().unwrap().contains("JSON"),
        "{e}"
    );
    let e = take(unsafe {
        crmchats_init(c(r#"{"database_url": "postgres://x", "storage_dir": "/tmp"}"#).as_ptr())
    });
    assert_eq!(code(&e), "invalid_argument");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("database_url"),
        "{e}"
    );
    let e = take(unsafe {
        crmchats_init(
            c(r#"{"database_url": "mysql://x", "storage_dir": "/tmp", "typo": 1}"#).as_ptr(),
        )
    });
    assert!(
        e["error"]["message"].as_str().unwrap().contains("typo"),
        "unknown keys are named: {e}"
    );
}

#[test]
fn version_is_a_static_string() {
    let v = unsafe { CStr::from_ptr(crmchats_version()) }
        .to_str()
        .unwrap();
    assert_eq!(v, env!("CARGO_PKG_VERSION"));
}

/// Everything that needs `init`, in one test: the instance is process-wide.
#[test]
fn initialised_library_answers_every_export_with_an_envelope() {
    let db = TestDb::create();
    let tg = FakeTelegram::start(TG_TOKEN);
    let storage = TempDir::new("abi");
    let config_c = c(&config(&db, &tg, &storage).to_string());

    let first = take(unsafe { crmchats_init(config_c.as_ptr()) });
    assert_eq!(first["ok"], true, "{first}");
    assert_eq!(first["result"]["reused"], false);
    let again = take(unsafe { crmchats_init(config_c.as_ptr()) });
    assert_eq!(
        again["result"]["reused"], true,
        "same config reuses the pool"
    );

    let e = take(unsafe { crmchats_call(c("no.such.method").as_ptr(), c("{}").as_ptr()) });
    assert_eq!(code(&e), "unknown_method");

    let created = take(unsafe {
        crmchats_call(
            c("channels.create").as_ptr(),
            c(&json!({"type": "telegram", "name": "Bot", "token": TG_TOKEN, "settings": {"webhook_secret": TG_SECRET}}).to_string())
                .as_ptr(),
        )
    });
    let channel_id = created["result"]["channel"]["id"].as_i64().unwrap();

    // The body crosses as pointer + length, binary-safe: no NUL terminator needed.
    let (body, headers) = fixture("private_text");
    let mut bytes = body.into_bytes();
    bytes.extend_from_slice(b"GARBAGE AFTER THE LENGTH");
    let len = bytes.len() - "GARBAGE AFTER THE LENGTH".len();
    let request = c(
        &json!({"channel_id": channel_id, "method": "POST", "headers": headers, "query": {}})
            .to_string(),
    );
    let answer =
        take(unsafe { crmchats_handle_webhook(request.as_ptr(), bytes.as_ptr().cast(), len) });
    assert_eq!(answer["result"]["status"], 200, "{answer}");

    // GET with no body: NULL pointer and zero length is allowed.
    let get =
        c(&json!({"channel_id": channel_id, "method": "GET", "headers": headers}).to_string());
    let answer = take(unsafe { crmchats_handle_webhook(get.as_ptr(), ptr::null(), 0) });
    assert_eq!(answer["ok"], true);
    assert_eq!(answer["result"]["status"], 400);

    let listed = take(unsafe { crmchats_list_dialogs(c(r#"{"operator_id": 1}"#).as_ptr()) });
    let dialog_id = listed["result"]["dialogs"][0]["id"].as_i64().unwrap();
    let sent = take(unsafe {
        crmchats_send_message(
            c(&json!({"dialog_id": dialog_id, "operator_id": 1, "text": "Привет"}).to_string())
                .as_ptr(),
        )
    });
    assert_eq!(sent["result"]["message"]["status"], "sent", "{sent}");

    tg.fail_next("sendMessage", 429, &api_fixture("error_429_retry_after"));
    let limited = take(unsafe {
        crmchats_send_message(
            c(&json!({"dialog_id": dialog_id, "operator_id": 1, "text": "again"}).to_string())
                .as_ptr(),
        )
    });
    assert_eq!(limited["ok"], true, "a refused message is still stored");
    assert_eq!(limited["result"]["message"]["error"]["retry_after"], 35);

    let e = take(unsafe {
        crmchats_send_message(c(r#"{"dialog_id": 424242, "operator_id": 1, "text": "x"}"#).as_ptr())
    });
    assert_eq!(code(&e), "not_found");
    let e = take(unsafe {
        crmchats_call(
            c("channels.get").as_ptr(),
            c(r#"{"channel_id": "three"}"#).as_ptr(),
        )
    });
    assert_eq!(code(&e), "invalid_argument");

    // A changed configuration replaces the instance; a broken one leaves none (not the old one).
    let mut other = config(&db, &tg, &storage);
    other["table_prefix"] = json!("alt_");
    let replaced = take(unsafe { crmchats_init(c(&other.to_string()).as_ptr()) });
    assert_eq!(replaced["result"]["reused"], false);
    let mut broken = other.clone();
    broken["database_url"] = json!("mysql://root@127.0.0.1:1/nowhere");
    let e = take(unsafe { crmchats_init(c(&broken.to_string()).as_ptr()) });
    assert_eq!(code(&e), "storage_error");
    let after = take(unsafe { crmchats_call(c("channels.list").as_ptr(), c("{}").as_ptr()) });
    assert_eq!(code(&after), "not_initialized");
}
