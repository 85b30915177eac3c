//! Random JSON into every `crmchats_call` method through the C ABI: wrong types, negative and huge
//! numbers, long and odd strings, deep nesting. Every call must answer a well-formed envelope (ok or
//! a stable error code) — never a crash, a hang or a non-JSON reply. Deterministic (seeded).

mod common;

use std::ffi::{c_char, CStr, CString};

use common::*;
use crmchats::ffi::*;
use crmchats_fakes::FakeTelegram;
use serde_json::{json, Map, Value};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const KEYS: &[&str] = &[
    "operator_id",
    "dialog_id",
    "channel_id",
    "visitor_id",
    "message_id",
    "attachment_id",
    "reply_id",
    "client_id",
    "contact_id",
    "to_operator_id",
    "user_ids",
    "text",
    "q",
    "note",
    "cursor",
    "timeout_ms",
    "type",
    "token",
    "name",
    "settings",
    "from",
    "to",
    "view",
    "status",
    "tag",
    "code",
    "confirm",
    "dry_run",
    "now",
    "if_due",
    "visitor_token",
    "expires",
    "signature",
    "attachments",
    "limit",
    "before_id",
    "group_by",
    "after_id",
    "shared",
];

fn value(rng: &mut Rng, key: &str, depth: u32) -> Value {
    if key == "timeout_ms" {
        return json!(rng.below(30)); // a poll may wait: keep the run short
    }
    if key == "type" {
        // Only the loopback fake may be called; other types would reach for the real APIs.
        return json!(["telegram", "widget", "", "nope", "TELEGRAM"][rng.below(5)]);
    }
    match rng.below(12) {
        0 => Value::Null,
        1 => json!(rng.below(3) as i64 - 1),
        2 => json!(i64::MAX),
        3 => json!(1 + rng.below(4)),
        4 => json!(-(rng.below(1000) as i64)),
        5 => json!(1e308),
        6 => json!("x".repeat(rng.below(5000))),
        7 => json!("<img src=x onerror=alert(1)> ✓ \u{0}\u{7f} ../../etc/passwd"),
        8 => json!(true),
        9 if depth < 40 => json!([value(rng, key, depth + 1)]),
        10 if depth < 40 => json!({"a": value(rng, key, depth + 1)}),
        _ => json!("2026-11-25T10:00:00Z"),
    }
}

fn params(rng: &mut Rng) -> Value {
    let mut map = Map::new();
    for _ in 0..rng.below(6) {
        let key = KEYS[rng.below(KEYS.len())];
        let v = value(rng, key, 0);
        map.insert(key.to_string(), v);
    }
    // Often a real acting user, so calls get past the first check.
    if rng.below(2) == 0 {
        map.insert("operator_id".into(), json!(1 + rng.below(2)));
    }
    Value::Object(map)
}

fn take(ptr: *mut c_char) -> Value {
    assert!(!ptr.is_null(), "every call returns an envelope");
    let text = unsafe { CStr::from_ptr(ptr) }
        .to_str()
        .expect("UTF-8")
        .to_string();
    unsafe { crmchats_free(ptr) };
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[test]
fn random_json_into_every_method_always_answers_an_envelope() {
    let db = TestDb::create();
    let tg = FakeTelegram::start(TG_TOKEN);
    let storage = TempDir::new("hostile-abi");
    let config = CString::new(config(&db, &tg, &storage).to_string()).unwrap();
    assert_eq!(take(unsafe { crmchats_init(config.as_ptr()) })["ok"], true);
    let methods = [
        "attachments.get",
        "channels.check",
        "channels.create",
        "channels.delete",
        "channels.get",
        "channels.health",
        "channels.list",
        "channels.schema",
        "channels.types",
        "channels.update",
        "clients.dialogs",
        "dialogs.assign",
        "dialogs.close",
        "dialogs.events",
        "dialogs.get",
        "dialogs.join",
        "dialogs.leave",
        "dialogs.read",
        "dialogs.reopen",
        "dialogs.tag",
        "dialogs.tags",
        "dialogs.take",
        "dialogs.transfer",
        "dialogs.untag",
        "events.poll",
        "import.socialchats",
        "media.open",
        "messages.delete",
        "messages.list",
        "messages.resend",
        "messages.search",
        "notes.add",
        "operators.heartbeat",
        "operators.list",
        "operators.add",
        "operators.remove",
        "operators.set_status",
        "replies.create",
        "replies.delete",
        "replies.list",
        "replies.render",
        "replies.update",
        "reports.summary",
        "settings.get",
        "settings.set",
        "tick",
        "visitors.create_client",
        "visitors.create_contact",
        "visitors.link",
        "visitors.refresh_profile",
        "visitors.search_crm",
        "visitors.unlink",
        "widget.attachment",
        "widget.messages",
        "widget.send",
        "widget.start",
        "no.such_method",
    ];
    let mut rng = Rng(0x5EED_CAFE);
    let (mut ok, mut refused) = (0, 0);
    for method in methods {
        let name = CString::new(method).unwrap();
        for _ in 0..30 {
            let body = CString::new(params(&mut rng).to_string()).unwrap();
            let envelope = take(unsafe { crmchats_call(name.as_ptr(), body.as_ptr()) });
            match envelope["ok"].as_bool() {
                Some(true) => ok += 1,
                Some(false) => {
                    let code = envelope["error"]["code"].as_str().unwrap_or_default();
                    assert!(
                        !code.is_empty(),
                        "{method}: an error without a code: {envelope}"
                    );
                    assert_ne!(code, "internal_error", "{method}: {envelope}");
                    refused += 1;
                }
                None => panic!("{method}: no ok flag: {envelope}"),
            }
        }
    }
    // The library still works afterwards.
    let listed = take(unsafe {
        crmchats_call(
            CString::new("channels.list").unwrap().as_ptr(),
            CString::new("{}").unwrap().as_ptr(),
        )
    });
    assert_eq!(listed["ok"], true);
    println!(
        "{} calls: {ok} accepted, {refused} refused with a stable code",
        ok + refused
    );
    assert!(refused > ok, "most random calls are refused");
}
