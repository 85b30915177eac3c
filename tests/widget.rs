//! The site widget and the consoles' event stream: a visitor writes from a website, operators
//! see it through `events.poll` without reloading, answers come back to the widget.

mod common;

use std::time::{Duration, Instant};

use base64::Engine;
use common::*;
use mysql::prelude::Queryable;
use serde_json::{json, Value};

struct Site {
    h: Harness,
    channel: i64,
}

impl Site {
    fn new() -> Site {
        let h = Harness::new();
        let created = h
            .call(
                "channels.create",
                json!({"type": "widget", "name": "Сайт магазина", "settings": {"title": "Чат с магазином"}}),
            )
            .expect("a widget channel needs no token");
        let channel = created["channel"]["id"].as_i64().unwrap();
        let embed = created["channel"]["embed"].as_str().unwrap();
        assert!(
            embed.contains(&format!("data-crmchats-channel=\"{channel}\""))
                && embed.contains("/widget/widget.js"),
            "{embed}"
        );
        Site { h, channel }
    }

    fn start(&self) -> String {
        let started = self
            .h
            .call("widget.start", json!({"channel_id": self.channel}))
            .unwrap();
        assert_eq!(started["title"], "Чат с магазином");
        started["visitor_token"].as_str().unwrap().to_string()
    }

    fn write(&self, token: &str, text: &str) {
        self.h
            .call(
                "widget.send",
                json!({"channel_id": self.channel, "visitor_token": token, "text": text, "name": "Гость сайта"}),
            )
            .unwrap();
    }

    fn read(&self, token: &str, after: i64, timeout_ms: u64) -> Vec<Value> {
        self.h
            .call(
                "widget.messages",
                json!({"channel_id": self.channel, "visitor_token": token, "after_id": after, "timeout_ms": timeout_ms}),
            )
            .unwrap()["messages"]
            .as_array()
            .unwrap()
            .clone()
    }

    fn poll(&self, operator: i64, cursor: &str, timeout_ms: u64) -> Value {
        self.h
            .call(
                "events.poll",
                json!({"operator_id": operator, "cursor": cursor, "timeout_ms": timeout_ms}),
            )
            .unwrap()
    }

    fn cursor(&self, operator: i64) -> String {
        self.h
            .call("events.poll", json!({"operator_id": operator}))
            .unwrap()["cursor"]
            .as_str()
            .unwrap()
            .to_string()
    }
}

#[test]
fn a_visitors_message_reaches_a_waiting_console_and_the_answer_reaches_the_widget() {
    let site = Site::new();
    let token = site.start();
    let cursor = site.cursor(ADMIN);

    // The console waits; the visitor writes 300 ms later from another thread.
    let (polled, waited) = std::thread::scope(|s| {
        let poller = s.spawn(|| {
            let t0 = Instant::now();
            (site.poll(ADMIN, &cursor, 10_000), t0.elapsed())
        });
        std::thread::sleep(Duration::from_millis(300));
        site.write(&token, "Здравствуйте, есть доставка?");
        poller.join().unwrap()
    });
    let messages = polled["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1, "{polled}");
    // The poll checks five times a second: the message is seen well within a second of its write.
    println!(
        "events.poll woke {} ms after the visitor wrote",
        waited.as_millis().saturating_sub(300)
    );
    assert!(
        waited < Duration::from_millis(300 + 1000),
        "seen within a second of the write: {waited:?}"
    );
    assert_eq!(messages[0]["text"], "Здравствуйте, есть доставка?");
    assert!(
        waited < Duration::from_secs(3),
        "woken by the message, not the timeout: {waited:?}"
    );
    let dialog_id = messages[0]["dialog_id"].as_i64().unwrap();
    assert_eq!(polled["dialog_ids"], json!([dialog_id]));
    assert!(
        polled["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "dialog_opened"),
        "{polled}"
    );

    // The widget waits for the answer the same way.
    let seen = site.read(&token, 0, 0);
    assert_eq!(seen.len(), 1);
    let last = seen[0]["id"].as_i64().unwrap();
    let answer = std::thread::scope(|s| {
        let reader = s.spawn(|| site.read(&token, last, 10_000));
        std::thread::sleep(Duration::from_millis(300));
        site.h.send(dialog_id, "Да, по всей Москве");
        reader.join().unwrap()
    });
    assert_eq!(answer.len(), 1);
    assert_eq!(answer[0]["from"], "operator");
    assert_eq!(answer[0]["author_name"], "Анна Админова");
    assert_eq!(answer[0]["text"], "Да, по всей Москве");
    let sent = site.h.messages(dialog_id);
    assert_eq!(sent.last().unwrap()["status"], "sent");
}

#[test]
fn files_go_both_ways_and_one_visitor_cannot_read_anothers() {
    let site = Site::new();
    let alice = site.start();
    let png = b"\x89PNG\r\n\x1a\nfake image bytes".to_vec();
    site.h
        .call(
            "widget.send",
            json!({"channel_id": site.channel, "visitor_token": alice, "attachments": [
                {"data_base64": base64::engine::general_purpose::STANDARD.encode(&png), "name": "photo.png", "mime": "image/png"}]}),
        )
        .unwrap();
    let mine = site.read(&alice, 0, 0);
    let attachment = mine[0]["attachments"][0].clone();
    assert_eq!(attachment["name"], "photo.png");
    let id = attachment["id"].as_i64().unwrap();
    let got = site
        .h
        .call(
            "widget.attachment",
            json!({"channel_id": site.channel, "visitor_token": alice, "attachment_id": id}),
        )
        .unwrap();
    let path = got["attachment"]["path"].as_str().unwrap();
    assert_eq!(std::fs::read(path).unwrap(), png);

    // The operator sees the same file; another visitor cannot fetch it.
    let dialog = site.h.dialogs(ADMIN)[0].clone();
    let history = site.h.messages(dialog["id"].as_i64().unwrap());
    assert_eq!(history[0]["attachments"][0]["id"], id);
    let bob = site.start();
    site.write(&bob, "я другой посетитель");
    let err = site
        .h
        .call(
            "widget.attachment",
            json!({"channel_id": site.channel, "visitor_token": bob, "attachment_id": id}),
        )
        .unwrap_err();
    assert_eq!(err.code(), "not_found");
    assert_eq!(site.read(&bob, 0, 0).len(), 1, "bob sees only his own");

    // A forged token is refused; a token from another channel starts afresh.
    let forged = format!("{}x", alice);
    let err = site
        .h
        .call(
            "widget.messages",
            json!({"channel_id": site.channel, "visitor_token": forged}),
        )
        .unwrap_err();
    assert_eq!(err.code(), "forbidden");

    // The operator's file reaches the widget.
    let d = dialog["id"].as_i64().unwrap();
    site.h
        .app
        .send_message(&json!({"dialog_id": d, "operator_id": ADMIN, "text": "счёт",
            "attachments": [{"data_base64": base64::engine::general_purpose::STANDARD.encode(b"%PDF-1.4 invoice"), "name": "invoice.pdf"}]}))
        .unwrap();
    let back = site.read(&alice, 0, 0);
    let answer = back.last().unwrap();
    assert_eq!(answer["attachments"][0]["name"], "invoice.pdf");
}

#[test]
fn a_poll_shows_an_operator_only_what_they_may_see_and_times_out_empty() {
    let site = Site::new();
    site.h
        .call(
            "settings.set",
            json!({"operator_id": ADMIN, "settings": {"distribution": "off"}}),
        )
        .unwrap();
    site.h
        .call(
            "operators.add",
            json!({"operator_id": ADMIN, "user_ids": [MANAGER]}),
        )
        .unwrap();
    let token = site.start();
    site.write(&token, "первое");
    let dialog = site.h.dialogs(ADMIN)[0]["id"].as_i64().unwrap();
    // The admin takes it: the manager must not see what follows.
    site.h
        .call(
            "dialogs.take",
            json!({"operator_id": ADMIN, "dialog_id": dialog}),
        )
        .unwrap();
    let cursor = site.cursor(MANAGER);
    site.write(&token, "секрет для администратора");
    let t0 = Instant::now();
    let polled = site.poll(MANAGER, &cursor, 600);
    assert!(
        polled["messages"].as_array().unwrap().is_empty(),
        "{polled}"
    );
    assert!(
        t0.elapsed() >= Duration::from_millis(500),
        "waited the timeout"
    );
    assert_ne!(
        polled["cursor"],
        json!(cursor),
        "moved past what it may not see"
    );
    let admin = site.poll(ADMIN, &cursor, 0);
    assert_eq!(admin["messages"][0]["text"], "секрет для администратора");
    let err = site
        .h
        .call(
            "events.poll",
            json!({"operator_id": ADMIN, "cursor": "garbage"}),
        )
        .unwrap_err();
    assert_eq!(err.code(), "invalid_argument");
}

#[test]
fn a_message_that_commits_after_a_later_one_was_shown_still_reaches_the_console() {
    let site = Site::new();
    let token = site.start();
    site.write(&token, "первое");
    let cursor = site.cursor(ADMIN);

    // A slow transaction takes the next message id and commits only later…
    let mut slow = site.h.db.conn();
    let (dialog, status): (i64, String) = slow
        .query_first("SELECT dialog_id, status FROM app_crmchats_messages ORDER BY id LIMIT 1")
        .unwrap()
        .unwrap();
    slow.query_drop("START TRANSACTION").unwrap();
    slow.exec_drop(
        "INSERT INTO app_crmchats_messages (identity, channel_id, dialog_id, direction, author_type, text, status, created_at) \
         VALUES (1, ?, ?, 'in', 'visitor', 'опоздавшее', ?, NOW(3))",
        (site.channel, dialog, status),
    )
    .unwrap();
    // …while the visitor's next message, with a higher id, is stored and shown at once.
    site.write(&token, "второе");
    let first = site.poll(ADMIN, &cursor, 0);
    let texts = |polled: &Value| -> Vec<String> {
        polled["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["text"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(texts(&first), ["второе"]);
    let cursor = first["cursor"].as_str().unwrap().to_string();
    assert!(cursor.contains(".m"), "the missing id is kept: {cursor}");

    slow.query_drop("COMMIT").unwrap();
    let second = site.poll(ADMIN, &cursor, 2000);
    assert_eq!(texts(&second), ["опоздавшее"], "{second}");
    let cursor = second["cursor"].as_str().unwrap().to_string();
    assert!(!cursor.contains(".m"), "{cursor}");
    let third = site.poll(ADMIN, &cursor, 300);
    assert!(texts(&third).is_empty(), "shown once: {third}");
}

#[test]
fn a_reply_that_commits_after_a_later_one_was_shown_still_reaches_the_widget() {
    let site = Site::new();
    let token = site.start();
    site.write(&token, "есть кто?");
    let dialog = site.h.dialogs(ADMIN)[0]["id"].as_i64().unwrap();
    let read = |cursor: &str, timeout_ms: u64| -> Value {
        site.h
            .call(
                "widget.messages",
                json!({"channel_id": site.channel, "visitor_token": token, "cursor": cursor, "timeout_ms": timeout_ms}),
            )
            .unwrap()
    };
    let texts = |answer: &Value| -> Vec<String> {
        answer["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["text"].as_str().unwrap().to_string())
            .collect()
    };
    let first = read("", 0);
    assert_eq!(texts(&first), ["есть кто?"]);
    let cursor = first["cursor"].as_str().unwrap().to_string();

    // An operator's reply takes the next id in a slow transaction…
    let mut slow = site.h.db.conn();
    slow.query_drop("START TRANSACTION").unwrap();
    slow.exec_drop(
        "INSERT INTO app_crmchats_messages (identity, channel_id, dialog_id, direction, author_type, \
         author_operator_id, text, status, created_at) VALUES (1, ?, ?, 'out', 'operator', 1, 'медленный ответ', 'sent', NOW(3))",
        (site.channel, dialog),
    )
    .unwrap();
    // …while a quicker one is stored and shown at once.
    site.h.send(dialog, "быстрый ответ");
    let second = read(&cursor, 0);
    assert_eq!(texts(&second), ["быстрый ответ"]);
    let cursor = second["cursor"].as_str().unwrap().to_string();

    slow.query_drop("COMMIT").unwrap();
    let third = read(&cursor, 2000);
    assert_eq!(texts(&third), ["медленный ответ"], "{third}");
    let fourth = read(third["cursor"].as_str().unwrap(), 300);
    assert!(texts(&fourth).is_empty(), "shown once: {fourth}");
}
