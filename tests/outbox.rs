//! The outbox's guarantees that need a crash or an operator: a send interrupted mid-call is
//! never resent by itself, and the operator's Resend sends a failed or unknown reply once.

mod common;

use common::*;
use mysql::prelude::Queryable;
use serde_json::json;

#[test]
fn a_send_whose_process_died_becomes_unknown_and_is_resent_only_by_the_operator() {
    let h = Harness::new();
    let channel = h.telegram_channel();
    h.post_fixture(channel, "private_text");
    let dialog = h.dialogs(ADMIN)[0]["id"].as_i64().unwrap();
    let sent = h.send(dialog, "первый ответ");
    assert_eq!(sent["status"], "sent");

    // A process claimed this reply 20 minutes ago and died before recording the outcome.
    let message_id = sent["id"].as_i64().unwrap() + 1000;
    let mut conn = h.db.conn();
    conn.exec_drop(
        "INSERT INTO app_crmchats_messages (id, identity, channel_id, dialog_id, direction, author_type, \
         author_operator_id, text, status, created_at) VALUES (?, 1, ?, ?, 'out', 'operator', 1, 'в полёте', 'queued', NOW(3))",
        (message_id, channel, dialog),
    )
    .unwrap();
    conn.exec_drop(
        "INSERT INTO app_crmchats_outbox (message_id, identity, channel_id, dialog_id, state, priority, attempts, \
         next_attempt_at, claimed_at, created_at) VALUES (?, 1, ?, ?, 'in_flight', 0, 1, NOW(3), NOW(3) - INTERVAL 20 MINUTE, NOW(3))",
        (message_id, channel, dialog),
    )
    .unwrap();
    let calls_before = h.tg.calls("sendMessage").len();
    let tick = h.call("tick", json!({})).unwrap();
    assert_eq!(tick["outbox"]["unknown"], 1, "{tick}");
    assert_eq!(
        h.tg.calls("sendMessage").len(),
        calls_before,
        "never resent by itself"
    );
    let unknown = h
        .messages(dialog)
        .into_iter()
        .find(|m| m["id"] == message_id)
        .unwrap();
    assert_eq!(unknown["status"], "unknown");
    assert_eq!(unknown["error"]["code"], "delivery_unknown");

    // A later reply is not held behind an unknown one.
    assert_eq!(h.send(dialog, "следующий")["status"], "sent");

    let resent = h
        .call(
            "messages.resend",
            json!({"message_id": message_id, "operator_id": ADMIN}),
        )
        .unwrap();
    assert_eq!(resent["message"]["status"], "sent", "{resent}");
    assert!(resent["message"]["error"].is_null());
    assert_eq!(h.tg.calls("sendMessage").len(), calls_before + 2);
    let again = h
        .call(
            "messages.resend",
            json!({"message_id": message_id, "operator_id": ADMIN}),
        )
        .unwrap_err();
    assert_eq!(
        again.code(),
        "invalid_argument",
        "a sent message is not resent"
    );
}

#[test]
fn a_permanently_failed_reply_is_resent_on_request_after_the_cause_is_fixed() {
    let h = Harness::new();
    let channel = h.telegram_channel();
    h.post_fixture(channel, "private_text");
    let dialog = h.dialogs(ADMIN)[0]["id"].as_i64().unwrap();
    h.tg.fail_next("sendMessage", 401, &api_fixture("error_401_unauthorized"));
    let failed = h.send(dialog, "важный ответ");
    assert_eq!(failed["status"], "failed");
    assert_eq!(
        flush_outbox(&h.app)["outbox"]["sent"],
        0,
        "not retried by itself"
    );
    let resent = h
        .call(
            "messages.resend",
            json!({"message_id": failed["id"], "operator_id": ADMIN}),
        )
        .unwrap();
    assert_eq!(resent["message"]["status"], "sent");
    let texts: Vec<String> =
        h.tg.calls("sendMessage")
            .iter()
            .filter_map(|c| c.param("text"))
            .collect();
    assert_eq!(
        texts,
        vec!["важный ответ", "важный ответ"],
        "one refused call, one delivery"
    );
}

#[test]
fn a_reply_that_keeps_failing_is_given_up_after_its_attempts() {
    let h = Harness::new();
    let channel = h.telegram_channel();
    h.post_fixture(channel, "private_text");
    let dialog = h.dialogs(ADMIN)[0]["id"].as_i64().unwrap();
    for _ in 0..20 {
        h.tg.fail_next("sendMessage", 502, "<html>Bad Gateway</html>");
    }
    let queued = h.send(dialog, "не дойдёт");
    assert_eq!(queued["status"], "queued");
    let mut ticks = 0;
    loop {
        ticks += 1;
        // Each tick jumps past the backoff (at most 30 minutes).
        let later = crmchats::time::Timestamp(
            crmchats::time::Timestamp::now().millis() + ticks * 3_600_000,
        );
        h.call("tick", json!({"now": later.to_rfc3339()})).unwrap();
        let m = &h.messages(dialog)[1];
        if m["status"] == "failed" {
            assert!(
                m["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("gave up after"),
                "{m}"
            );
            break;
        }
        assert!(ticks < 30, "never given up: {m}");
    }
}
