//! Canned replies, internal notes, tags and full-text search, against MariaDB and the fake
//! Telegram (which proves a note never reaches the messenger).

mod common;

use common::*;
use mysql::prelude::Queryable;
use serde_json::json;

fn dialog_with_message(h: &Harness) -> i64 {
    let channel = h.telegram_channel();
    let (status, _) = h.post_fixture(channel, "private_text");
    assert_eq!(status, 200);
    h.dialogs(ADMIN)[0]["id"].as_i64().unwrap()
}

#[test]
fn canned_replies_are_shared_or_personal_and_fill_their_variables() {
    let h = Harness::new();
    let dialog = dialog_with_message(&h);
    h.db.conn()
        .query_drop("INSERT INTO app_settings (company, timezone, identity) VALUES ('Северный ветер', 'Europe/Moscow', 1)")
        .unwrap();
    let created = h
        .call(
            "replies.create",
            json!({"operator_id": ADMIN, "shared": true, "code": "/hello", "title": "Приветствие",
                   "text": "Здравствуйте, {visitor_name}! Это {operator_name}, {company}."}),
        )
        .unwrap();
    assert_eq!(created["reply"]["code"], "hello");
    assert_eq!(created["reply"]["shared"], true);
    assert_eq!(
        h.call(
            "replies.create",
            json!({"operator_id": MANAGER, "shared": true, "code": "x", "text": "x"})
        )
        .unwrap_err()
        .code(),
        "forbidden"
    );
    h.call(
        "replies.create",
        json!({"operator_id": ADMIN, "code": "mine", "text": "только моё"}),
    )
    .unwrap();
    let manager = h
        .call(
            "replies.create",
            json!({"operator_id": MANAGER, "code": "mine", "text": "моё"}),
        )
        .unwrap();
    assert_eq!(
        h.call(
            "replies.create",
            json!({"operator_id": MANAGER, "code": "MINE", "text": "ещё"})
        )
        .unwrap_err()
        .code(),
        "conflict",
        "codes are unique per owner, case-insensitively"
    );
    let listed = h
        .call("replies.list", json!({"operator_id": MANAGER}))
        .unwrap()["replies"]
        .clone();
    let codes: Vec<(String, bool)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["code"].as_str().unwrap().to_string(),
                r["shared"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        codes,
        vec![("hello".to_string(), true), ("mine".to_string(), false)],
        "the shared reply and the manager's own, not the admin's"
    );
    assert_eq!(
        h.call(
            "replies.delete",
            json!({"operator_id": MANAGER, "reply_id": created["reply"]["id"]})
        )
        .unwrap_err()
        .code(),
        "forbidden"
    );
    let updated = h
        .call(
            "replies.update",
            json!({"operator_id": MANAGER, "reply_id": manager["reply"]["id"], "text": "обновлённое"}),
        )
        .unwrap();
    assert_eq!(updated["reply"]["text"], "обновлённое");

    let rendered = h
        .call(
            "replies.render",
            json!({"operator_id": ADMIN, "reply_id": created["reply"]["id"], "dialog_id": dialog}),
        )
        .unwrap();
    assert_eq!(
        rendered["text"],
        "Здравствуйте, Алексей Смирнов! Это Анна Админова, Северный ветер."
    );
}

#[test]
fn a_note_is_in_the_history_and_never_reaches_the_messenger() {
    let h = Harness::new();
    let dialog = dialog_with_message(&h);
    let calls_before = h.tg.requests().len();
    h.call(
        "notes.add",
        json!({"operator_id": ADMIN, "dialog_id": dialog, "text": "Клиент VIP, скидка 10%"}),
    )
    .unwrap();
    assert_eq!(
        h.tg.requests().len(),
        calls_before,
        "no call to Telegram at all"
    );
    let events = h
        .call(
            "dialogs.events",
            json!({"operator_id": ADMIN, "dialog_id": dialog}),
        )
        .unwrap()["events"]
        .clone();
    let note = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "note")
        .expect("the note is in the history");
    assert_eq!(note["data"]["text"], "Клиент VIP, скидка 10%");
    assert_eq!(note["operator_id"], ADMIN);
    assert_eq!(h.messages(dialog).len(), 1, "not a message");
    assert_eq!(
        h.call(
            "notes.add",
            json!({"operator_id": ADMIN, "dialog_id": dialog, "text": " "})
        )
        .unwrap_err()
        .code(),
        "invalid_argument"
    );
}

#[test]
fn tags_filter_the_dialog_list() {
    let h = Harness::new();
    let dialog = dialog_with_message(&h);
    let tagged = h
        .call(
            "dialogs.tag",
            json!({"operator_id": ADMIN, "dialog_id": dialog, "tag": "Опт"}),
        )
        .unwrap();
    assert_eq!(tagged["tags"], json!(["опт"]));
    let list = |tag: &str| {
        h.app
            .list_dialogs(&json!({"operator_id": ADMIN, "status": "all", "tag": tag}))
            .unwrap()["dialogs"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(list("опт"), 1);
    assert_eq!(list("розница"), 0);
    h.call(
        "dialogs.untag",
        json!({"operator_id": ADMIN, "dialog_id": dialog, "tag": "опт"}),
    )
    .unwrap();
    assert_eq!(list("опт"), 0);
}

#[test]
fn search_finds_words_in_messages_the_operator_may_see() {
    let h = Harness::new();
    let dialog = dialog_with_message(&h);
    h.send(dialog, "Доставка по Москве бесплатно при заказе от 5000");
    let search = |operator: i64, q: &str| {
        h.call("messages.search", json!({"operator_id": operator, "q": q}))
            .map(|r| r["messages"].as_array().unwrap().len())
    };
    assert_eq!(
        search(ADMIN, "доставк").unwrap(),
        1,
        "a word start finds the word"
    );
    assert_eq!(search(ADMIN, "москве бесплатно").unwrap(), 1);
    assert_eq!(
        search(ADMIN, "москве самолётом").unwrap(),
        0,
        "every word is required"
    );
    assert_eq!(
        search(ADMIN, "+-\"()<>~*").map_err(|e| e.code().to_string()),
        Ok(0),
        "operators are stripped"
    );
    assert_eq!(
        search(MANAGER, "доставк").unwrap(),
        0,
        "not an operator: sees nothing of the queue"
    );
    let hit = h
        .call(
            "messages.search",
            json!({"operator_id": ADMIN, "q": "доставк"}),
        )
        .unwrap()["messages"][0]
        .clone();
    assert_eq!(hit["dialog_id"], dialog, "a result links to its dialog");
    let later = crmchats::time::Timestamp(crmchats::time::Timestamp::now().millis() + 3_600_000);
    assert_eq!(
        h.call(
            "messages.search",
            json!({"operator_id": ADMIN, "q": "доставк", "from": later.to_rfc3339()})
        )
        .unwrap()["messages"]
            .as_array()
            .unwrap()
            .len(),
        0,
        "the time filter applies"
    );
}

#[test]
fn a_lone_digit_after_closing_is_the_rating_not_a_new_message() {
    let h = Harness::new();
    let dialog = dialog_with_message(&h);
    h.call(
        "settings.set",
        json!({"operator_id": ADMIN, "settings": {"rating": {"enabled": true, "text": "Оцените нас от 1 до 5"}}}),
    )
    .unwrap();
    h.call(
        "dialogs.close",
        json!({"operator_id": ADMIN, "dialog_id": dialog}),
    )
    .unwrap();
    let asked: Vec<String> =
        h.tg.sent_messages(5082317746)
            .iter()
            .filter_map(|m| m["text"].as_str().map(str::to_string))
            .collect();
    assert_eq!(
        asked,
        vec!["Оцените нас от 1 до 5"],
        "asked once, on closing"
    );

    let digit = json!({"update_id": 990001, "message": {"message_id": 990001, "date": 1_764_000_000,
        "from": {"id": 5082317746i64, "is_bot": false, "first_name": "Алексей"},
        "chat": {"id": 5082317746i64, "type": "private", "first_name": "Алексей"}, "text": " 5 "}});
    let messages_before = h.db.count("messages");
    for _ in 0..2 {
        // The second time is Telegram redelivering the same update.
        let (status, _) = h.post(
            h.dialogs(ADMIN)[0]["channel"]["id"].as_i64().unwrap(),
            tg_headers(),
            digit.to_string().as_bytes(),
        );
        assert_eq!(status, 200);
    }
    let d = h
        .call(
            "dialogs.get",
            json!({"operator_id": ADMIN, "dialog_id": dialog}),
        )
        .unwrap()["dialog"]
        .clone();
    assert_eq!(d["rating"], 5);
    assert_eq!(d["status"], "closed", "a rating does not reopen the dialog");
    assert_eq!(
        h.db.count("messages"),
        messages_before,
        "not stored as a message"
    );
    let rated = h
        .call(
            "dialogs.events",
            json!({"operator_id": ADMIN, "dialog_id": dialog}),
        )
        .unwrap()["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "rated")
        .count();
    assert_eq!(rated, 1);

    // Once rated, a digit is an ordinary message again.
    let mut again = digit.clone();
    again["update_id"] = json!(990002);
    again["message"]["message_id"] = json!(990002);
    let channel = d["channel"]["id"].as_i64().unwrap();
    h.post(channel, tg_headers(), again.to_string().as_bytes());
    let d = h
        .call(
            "dialogs.get",
            json!({"operator_id": ADMIN, "dialog_id": dialog}),
        )
        .unwrap()["dialog"]
        .clone();
    assert_eq!(d["status"], "open");
    assert_eq!(h.db.count("messages"), messages_before + 1);
}
