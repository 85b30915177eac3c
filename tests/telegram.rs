//! Telegram end to end through the Rust facade: real MariaDB, the fake Bot API on 127.0.0.1,
//! the shared fixtures' real payloads.

mod common;

use common::*;
use crmchats_fakes::{HttpConnectProxy, Socks5Proxy};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn only_dialog(h: &Harness) -> Value {
    let dialogs = h.dialogs(ADMIN);
    assert_eq!(dialogs.len(), 1, "{dialogs:?}");
    dialogs[0].clone()
}

// --- channels -------------------------------------------------------------------------------

#[test]
fn creating_a_channel_checks_the_token_and_registers_the_webhook_with_a_secret() {
    let h = Harness::new();
    let created = h
        .call(
            "channels.create",
            json!({"type": "telegram", "name": "Support", "token": TG_TOKEN}),
        )
        .unwrap();
    let channel = &created["channel"];
    assert_eq!(channel["external_id"], "7311862940");
    assert_eq!(channel["bot_name"], "Северный ветер — поддержка");
    assert_eq!(channel["webhook"]["state"], "registered");
    let id = channel["id"].as_i64().unwrap();

    let hook = h.tg.webhook().expect("setWebhook was called");
    assert_eq!(
        hook.url,
        format!("https://crm.example.test/plugins/crmchats/webhook.php?channel={id}")
    );
    assert_eq!(
        hook.allowed_updates,
        vec!["message", "edited_message", "my_chat_member"]
    );
    let secret = hook.secret_token.expect("a secret_token is registered");
    assert!(
        secret.len() >= 32,
        "random secret of enough entropy: {secret}"
    );

    let text = created.to_string();
    assert!(
        !text.contains(TG_TOKEN) && !text.contains(&secret),
        "secrets never returned in full: {text}"
    );

    // The registered secret is what the webhook check accepts.
    let (body, _) = fixture("private_text");
    let headers = json!({"X-Telegram-Bot-Api-Secret-Token": secret});
    assert_eq!(h.post(id, headers, body.as_bytes()).0, 200);
    assert_eq!(h.db.count("messages"), 1);
}

#[test]
fn a_new_webhook_secret_takes_effect_at_once_and_the_old_one_is_refused() {
    let h = Harness::new();
    let id = h.telegram_channel();
    assert_eq!(h.post_fixture(id, "private_text").0, 200);
    let new_secret = "rotated-Secret_42";
    h.call(
        "channels.update",
        json!({"channel_id": id, "settings": {"webhook_secret": new_secret}}),
    )
    .unwrap();
    assert_eq!(
        h.tg.webhook().unwrap().secret_token.as_deref(),
        Some(new_secret)
    );
    let (body, _) = fixture("private_photo_caption");
    assert_eq!(
        h.post(id, tg_headers(), body.as_bytes()).0,
        403,
        "the old secret"
    );
    let headers = json!({"X-Telegram-Bot-Api-Secret-Token": new_secret});
    assert_eq!(
        h.post(id, headers, body.as_bytes()).0,
        200,
        "the new secret"
    );
}

#[test]
fn a_settings_change_the_messenger_refuses_is_not_saved() {
    let h = Harness::new();
    let id = h.telegram_channel();
    h.tg.fail_next("setWebhook", 400, r#"{"ok":false,"error_code":400,"description":"Bad Request: bad webhook: secret token contains unallowed characters"}"#);
    let err = h
        .call(
            "channels.update",
            json!({"channel_id": id, "settings": {"webhook_secret": "new-secret-1"}}),
        )
        .unwrap_err();
    assert_eq!(err.code(), "provider_rejected");
    assert_eq!(
        h.post_fixture(id, "private_text").0,
        200,
        "the old secret still works"
    );
}

#[test]
fn check_with_a_revoked_token_reports_provider_unauthorized_with_telegrams_words() {
    let h = Harness::new();
    let err = h
        .call(
            "channels.check",
            json!({"type": "telegram", "token": "123:wrong-token"}),
        )
        .unwrap_err();
    assert_eq!(err.code(), "provider_unauthorized");
    assert!(err.to_string().contains("Unauthorized"), "{err}");

    let ok = h
        .call(
            "channels.check",
            json!({"type": "telegram", "token": TG_TOKEN}),
        )
        .unwrap();
    assert_eq!(
        ok,
        json!({"bot_id": "7311862940", "bot_name": "Северный ветер — поддержка", "username": "severny_veter_help_bot"})
    );
    assert_eq!(h.db.count("channels"), 0, "check stores nothing");
}

#[test]
fn channel_methods_refuse_bad_input_with_the_field_named() {
    let h = Harness::new();
    let err = h
        .call(
            "channels.create",
            json!({"type": "icq", "name": "x", "token": "t"}),
        )
        .unwrap_err();
    assert_eq!(err.code(), "invalid_argument");
    assert!(err.to_string().contains("type"), "{err}");
    let err = h
        .call("channels.create", json!({"type": "telegram", "name": "x"}))
        .unwrap_err();
    assert!(err.to_string().contains("token"), "{err}");
    let err = h
        .call("channels.create", json!({"type": "telegram", "name": "x", "token": TG_TOKEN, "settings": {"proxy": "ftp://x"}}))
        .unwrap_err();
    assert!(err.to_string().contains("settings.proxy"), "{err}");
    assert_eq!(
        h.call("channels.get", json!({"channel_id": 999}))
            .unwrap_err()
            .code(),
        "not_found"
    );
    assert_eq!(
        h.call("channels.nope", json!({})).unwrap_err().code(),
        "unknown_method"
    );
}

#[test]
fn updating_a_channel_re_registers_and_deleting_keeps_history_but_stops_webhooks() {
    let h = Harness::new();
    let id = h.telegram_channel();
    assert_eq!(h.post_fixture(id, "private_text").0, 200);

    let updated = h
        .call(
            "channels.update",
            json!({"channel_id": id, "name": "Renamed", "token": "••••uVgE"}),
        )
        .unwrap();
    assert_eq!(updated["channel"]["name"], "Renamed");
    assert_eq!(
        h.tg.calls("setWebhook").len(),
        2,
        "update registers the webhook again"
    );
    assert_eq!(
        h.post_fixture(id, "private_photo_caption").0,
        200,
        "masked token kept the real one"
    );

    let deleted = h
        .call("channels.delete", json!({"channel_id": id}))
        .unwrap();
    assert_eq!(deleted["channel"]["active"], false);
    assert_eq!(h.tg.calls("deleteWebhook").len(), 1);
    assert!(h.tg.webhook().is_none());
    assert_eq!(
        h.post_fixture(id, "start_command").0,
        404,
        "a deleted channel takes no webhooks"
    );
    assert!(h.call("channels.list", json!({})).unwrap()["channels"]
        .as_array()
        .unwrap()
        .is_empty());

    let dialog = only_dialog(&h);
    assert_eq!(
        h.messages(dialog["id"].as_i64().unwrap()).len(),
        2,
        "history is kept"
    );
    let reply = h.send(dialog["id"].as_i64().unwrap(), "still there?");
    assert_eq!(
        reply["status"], "failed",
        "a reply on a deleted channel is stored as failed"
    );
}

// --- inbound --------------------------------------------------------------------------------

#[test]
fn private_text_is_stored_once_even_when_redelivered_and_listed_with_unread() {
    let h = Harness::new();
    let id = h.telegram_channel();
    assert_eq!(h.post_fixture(id, "private_text"), (200, "ok".to_string()));
    assert_eq!(h.post_fixture(id, "private_text_redelivery").0, 200);
    assert_eq!(h.db.count("messages"), 1);
    assert_eq!(h.db.count("visitors"), 1);

    let dialog = only_dialog(&h);
    assert_eq!(dialog["visitor"]["name"], "Алексей Смирнов");
    assert_eq!(dialog["visitor"]["username"], "alex_smirnov");
    assert_eq!(dialog["channel"]["type"], "telegram");
    assert_eq!(dialog["status"], "open");
    assert_eq!(dialog["unread"], 1);
    assert_eq!(dialog["last_message"]["direction"], "in");
    assert_eq!(
        dialog["last_message"]["text"],
        "Здравствуйте! Подскажите, заказ №4821 уже отправлен? 📦"
    );

    let messages = h.messages(dialog["id"].as_i64().unwrap());
    assert_eq!(
        messages[0]["text"],
        "Здравствуйте! Подскажите, заказ №4821 уже отправлен? 📦"
    );
    assert_eq!(messages[0]["direction"], "in");
    assert_eq!(messages[0]["status"], "received");
    assert_eq!(messages[0]["author"]["type"], "visitor");
    assert_eq!(messages[0]["author"]["name"], "Алексей Смирнов");
    assert_eq!(messages[0]["external_id"], "5082317746:412");
    assert_eq!(messages[0]["created_at"], "2024-11-25T13:45:11.000Z");

    h.call(
        "dialogs.read",
        json!({"dialog_id": dialog["id"], "operator_id": ADMIN}),
    )
    .unwrap();
    assert_eq!(only_dialog(&h)["unread"], 0);
    assert!(
        h.dialogs(MANAGER).is_empty(),
        "a CRM user who is not an operator does not see the queue"
    );
    h.call(
        "operators.add",
        json!({"operator_id": ADMIN, "user_ids": [MANAGER]}),
    )
    .unwrap();
    assert_eq!(h.dialogs(MANAGER)[0]["unread"], 1, "unread is per operator");
}

#[test]
fn the_same_update_posted_by_two_processes_at_once_is_stored_once() {
    let h = Harness::new();
    let id = h.telegram_channel();
    let (body, headers) = fixture("private_text");
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| h.post(id, headers.clone(), body.as_bytes()).0))
            .collect();
        for handle in handles {
            assert_eq!(handle.join().unwrap(), 200);
        }
    });
    assert_eq!(h.db.count("messages"), 1);
    assert_eq!(h.db.count("dialogs"), 1);
}

#[test]
fn forged_or_missing_secret_is_refused_and_nothing_is_stored() {
    let h = Harness::new();
    let id = h.telegram_channel();
    let (body, _) = fixture("private_text");
    let forged = json!({"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": "tgShared_9fK2-wLq7Zx5"});
    assert_eq!(h.post(id, forged, body.as_bytes()).0, 403);
    assert_eq!(
        h.post(
            id,
            json!({"Content-Type": "application/json"}),
            body.as_bytes()
        )
        .0,
        401
    );
    assert_eq!(h.db.count("messages"), 0);
    assert_eq!(h.db.count("visitors"), 0);
    assert_eq!(h.db.count("deliveries"), 0);
    assert_eq!(
        h.post(id, tg_headers(), body.as_bytes()).0,
        200,
        "the real one still gets in afterwards"
    );
}

#[test]
fn a_storage_failure_answers_503_stores_nothing_and_the_retry_is_stored_once() {
    let h = Harness::new();
    let id = h.telegram_channel();
    let mut conn = h.db.conn();
    mysql::prelude::Queryable::query_drop(
        &mut conn,
        "RENAME TABLE app_crmchats_messages TO broken_messages",
    )
    .unwrap();
    let (status, _) = h.post_fixture(id, "private_text");
    assert_eq!(
        status, 503,
        "never 200 for a message that was not stored: Telegram retries"
    );
    mysql::prelude::Queryable::query_drop(
        &mut conn,
        "RENAME TABLE broken_messages TO app_crmchats_messages",
    )
    .unwrap();
    assert_eq!(h.db.count("messages"), 0);
    assert_eq!(
        h.db.count("visitors"),
        0,
        "the transaction left nothing half-stored"
    );
    assert_eq!(h.db.count("dialogs"), 0);
    assert_eq!(h.post_fixture(id, "private_text_redelivery").0, 200);
    assert_eq!(h.post_fixture(id, "private_text").0, 200);
    assert_eq!(h.db.count("messages"), 1);
    assert_eq!(h.dialogs(ADMIN)[0]["unread"], 1);
}

#[test]
fn overlong_names_payloads_and_odd_mime_types_are_stored_not_refused() {
    let h = Harness::new();
    let id = h.telegram_channel();
    let long_name = "Я".repeat(300);
    let from = json!({"id": 42_i64, "first_name": long_name, "username": "u".repeat(300)});
    let chat = json!({"id": 42_i64, "type": "private"});
    let start = json!({"update_id": 1, "message": {"message_id": 1, "date": 1, "from": from, "chat": chat,
        "text": format!("/start {}", "p".repeat(300))}});
    assert_eq!(
        h.post(id, tg_headers(), start.to_string().as_bytes()).0,
        200
    );
    let doc = json!({"update_id": 2, "message": {"message_id": 2, "date": 2, "from": from, "chat": chat,
        "document": {"file_id": "NOFILE", "file_unique_id": "x", "file_name": format!("{}.pdf", "д".repeat(400)),
                     "mime_type": format!("application/{}", "x".repeat(200)), "file_size": 10}}});
    assert_eq!(h.post(id, tg_headers(), doc.to_string().as_bytes()).0, 200);
    let dialog = &h.dialogs(ADMIN)[0];
    assert_eq!(
        dialog["visitor"]["name"].as_str().unwrap().chars().count(),
        255
    );
    let attachment = &h.messages(dialog["id"].as_i64().unwrap())[1]["attachments"][0];
    assert!(attachment["name"].as_str().unwrap().ends_with(".pdf"));
    assert_eq!(attachment["mime"], "application/octet-stream");
}

#[test]
fn malformed_body_is_400_and_unknown_channel_is_404_with_nothing_stored() {
    let h = Harness::new();
    let id = h.telegram_channel();
    assert_eq!(
        h.post(id, tg_headers(), b"{\"update_id\": 5, \"message\": ")
            .0,
        400
    );
    assert_eq!(h.post(id, tg_headers(), b"{\"message\": {}}").0, 400);
    assert_eq!(h.post(id, tg_headers(), &[0xff, 0xfe, 0x00]).0, 400);
    assert_eq!(
        h.post(id + 100, tg_headers(), fixture("private_text").0.as_bytes())
            .0,
        404
    );
    assert_eq!(h.db.count("messages"), 0);
    let err = h
        .app
        .handle_webhook(&json!({"method": "POST"}), b"")
        .unwrap_err();
    assert_eq!(
        err.code(),
        "invalid_argument",
        "an unusable request is an error, not a status"
    );
}

#[test]
fn photo_with_caption_downloads_the_largest_size_into_content_addressed_storage() {
    let h = Harness::new();
    let id = h.telegram_channel();
    let largest =
        "AgACAgIAAxkBAAIBnWdEYq1x7kQmVZ3sJ0bL8c2HfT9pAAJx3jEbQ2oQSuY1c7mD0wABAQADAgADeQADNgQ";
    let jpeg: Vec<u8> = (0..152_803u32).map(|i| (i * 7 % 251) as u8).collect();
    h.tg.add_file(largest, "photos/file_37.jpg", jpeg.clone());
    assert_eq!(h.post_fixture(id, "private_photo_caption").0, 200);

    let get_file = h.tg.calls("getFile");
    assert_eq!(get_file.len(), 1);
    assert_eq!(get_file[0].param("file_id").as_deref(), Some(largest));

    let dialog = only_dialog(&h);
    let message = &h.messages(dialog["id"].as_i64().unwrap())[0];
    assert_eq!(message["text"], "Коробка пришла помятая 😕 вот фото");
    let attachment = &message["attachments"][0];
    assert_eq!(attachment["mime"], "image/jpeg");
    assert_eq!(attachment["size"], 152_803);
    assert!(attachment["url"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/attachment.php?id={}", attachment["id"])));

    let got = h
        .call(
            "attachments.get",
            json!({"attachment_id": attachment["id"], "operator_id": ADMIN}),
        )
        .unwrap();
    let path = got["attachment"]["path"].as_str().unwrap();
    assert!(
        path.ends_with(&sha256_hex(&jpeg)),
        "stored under its sha256: {path}"
    );
    assert_eq!(std::fs::read(path).unwrap(), jpeg);
}

#[test]
fn document_keeps_its_name_and_mime_and_a_failed_download_keeps_the_message() {
    let h = Harness::new();
    let id = h.telegram_channel();
    // No file registered at the fake: getFile fails, the message is stored with the error.
    assert_eq!(h.post_fixture(id, "private_document").0, 200);
    let dialog = only_dialog(&h);
    let message = &h.messages(dialog["id"].as_i64().unwrap())[0];
    let attachment = &message["attachments"][0];
    assert_eq!(attachment["name"], "Счёт_4821.pdf");
    assert_eq!(attachment["mime"], "application/pdf");
    assert!(attachment["url"].is_null());
    assert_eq!(attachment["error"]["code"], "provider_rejected");
    assert_eq!(dialog["last_message"]["text"], "📎 Счёт_4821.pdf");
}

#[test]
fn files_over_telegrams_20_mb_limit_are_refused_clearly_without_downloading() {
    let h = Harness::new();
    let id = h.telegram_channel();
    let update = json!({"update_id": 1, "message": {"message_id": 5, "date": 1732542311,
        "from": {"id": 5082317746_i64, "first_name": "Алексей"}, "chat": {"id": 5082317746_i64, "type": "private"},
        "video": {"file_id": "BIG", "file_unique_id": "big", "file_size": 21 * 1024 * 1024, "mime_type": "video/mp4"}}});
    assert_eq!(
        h.post(id, tg_headers(), update.to_string().as_bytes()).0,
        200
    );
    assert!(h.tg.calls("getFile").is_empty());
    let dialog = only_dialog(&h);
    let attachment = &h.messages(dialog["id"].as_i64().unwrap())[0]["attachments"][0];
    assert_eq!(attachment["error"]["code"], "file_too_large");
    assert!(
        attachment["error"]["message"]
            .as_str()
            .unwrap()
            .contains("20971520"),
        "{attachment}"
    );
}

#[test]
fn voice_sticker_location_and_contact_are_kept() {
    let h = Harness::new();
    let id = h.telegram_channel();
    h.tg.add_file("VOICE1", "voice/file_1.oga", b"OggS-voice".to_vec());
    h.tg.add_file("STICK1", "stickers/file_2.webp", b"RIFF-webp".to_vec());
    let from = json!({"id": 6120048831_i64, "first_name": "Marta", "last_name": "Nowak"});
    let chat = json!({"id": 6120048831_i64, "type": "private", "first_name": "Marta"});
    let updates = [
        json!({"update_id": 10, "message": {"message_id": 1, "date": 1, "from": from, "chat": chat,
            "voice": {"file_id": "VOICE1", "file_unique_id": "v1", "duration": 3, "mime_type": "audio/ogg", "file_size": 10}}}),
        json!({"update_id": 11, "message": {"message_id": 2, "date": 2, "from": from, "chat": chat,
            "sticker": {"file_id": "STICK1", "file_unique_id": "s1", "emoji": "👍", "is_animated": false, "is_video": false,
                        "width": 512, "height": 512, "type": "regular"}}}),
        json!({"update_id": 12, "message": {"message_id": 3, "date": 3, "from": from, "chat": chat,
            "location": {"latitude": 52.2297, "longitude": 21.0122}}}),
        json!({"update_id": 13, "message": {"message_id": 4, "date": 4, "from": from, "chat": chat,
            "contact": {"phone_number": "48601234567", "first_name": "Marta", "user_id": 6120048831_i64}}}),
    ];
    for u in &updates {
        assert_eq!(h.post(id, tg_headers(), u.to_string().as_bytes()).0, 200);
    }
    let dialog = only_dialog(&h);
    let messages = h.messages(dialog["id"].as_i64().unwrap());
    assert_eq!(messages.len(), 4);
    assert_eq!(messages[0]["attachments"][0]["mime"], "audio/ogg");
    assert_eq!(messages[0]["attachments"][0]["size"], 10);
    assert_eq!(messages[1]["text"], "👍");
    assert_eq!(messages[1]["attachments"][0]["mime"], "image/webp");
    assert!(messages[2]["text"]
        .as_str()
        .unwrap()
        .contains("52.229700, 21.012200"));
    assert!(messages[3]["text"]
        .as_str()
        .unwrap()
        .contains("48601234567"));
    let phone: Option<String> = mysql::prelude::Queryable::query_first(
        &mut h.db.conn(),
        "SELECT phone FROM app_crmchats_visitors",
    )
    .unwrap();
    assert_eq!(
        phone.as_deref(),
        Some("+48601234567"),
        "a contact about the writer gives their phone"
    );
}

#[test]
fn edited_message_updates_the_text_and_keeps_the_previous_one_in_history() {
    let h = Harness::new();
    let id = h.telegram_channel();
    assert_eq!(h.post_fixture(id, "private_text").0, 200);
    let edit = json!({"update_id": 583920200, "edited_message": {"message_id": 412, "date": 1732542311, "edit_date": 1732542400,
        "from": {"id": 5082317746_i64, "first_name": "Алексей"}, "chat": {"id": 5082317746_i64, "type": "private"},
        "text": "Заказ №4821 отправлен?"}});
    assert_eq!(h.post(id, tg_headers(), edit.to_string().as_bytes()).0, 200);
    let dialog = only_dialog(&h);
    let message = &h.messages(dialog["id"].as_i64().unwrap())[0];
    assert_eq!(message["text"], "Заказ №4821 отправлен?");
    assert_eq!(message["edited_at"], "2024-11-25T13:46:40.000Z");
    let previous: Option<String> = mysql::prelude::Queryable::query_first(
        &mut h.db.conn(),
        "SELECT data FROM app_crmchats_events WHERE kind = 'message_edited'",
    )
    .unwrap();
    let previous: Value = serde_json::from_str(&previous.unwrap()).unwrap();
    assert_eq!(
        previous["previous_text"],
        "Здравствуйте! Подскажите, заказ №4821 уже отправлен? 📦"
    );
}

#[test]
fn an_edit_that_overtakes_its_message_is_stored_and_the_late_original_is_a_duplicate() {
    let h = Harness::new();
    let id = h.telegram_channel();
    let edit = json!({"update_id": 583920300, "edited_message": {"message_id": 412, "date": 1732542311,
        "edit_date": 1732542400, "from": {"id": 5082317746_i64, "first_name": "Алексей"},
        "chat": {"id": 5082317746_i64, "type": "private"}, "text": "исправленный текст"}});
    assert_eq!(h.post(id, tg_headers(), edit.to_string().as_bytes()).0, 200);
    assert_eq!(
        h.post_fixture(id, "private_text").0,
        200,
        "the original comes late"
    );
    let dialog = only_dialog(&h);
    let messages = h.messages(dialog["id"].as_i64().unwrap());
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["text"], "исправленный текст");
    assert_eq!(messages[0]["created_at"], "2024-11-25T13:45:11.000Z");
    assert_eq!(messages[0]["edited_at"], "2024-11-25T13:46:40.000Z");
    assert_eq!(dialog["unread"], 1);
}

#[test]
fn a_file_the_messenger_could_not_serve_is_fetched_when_an_operator_opens_it() {
    let h = Harness::new();
    let id = h.telegram_channel();
    h.tg.fail_next(
        "getFile",
        502,
        r#"{"ok":false,"error_code":502,"description":"Bad Gateway"}"#,
    );
    assert_eq!(
        h.post_fixture(id, "private_document").0,
        200,
        "the message is kept"
    );
    let dialog = only_dialog(&h);
    let attachment = h.messages(dialog["id"].as_i64().unwrap())[0]["attachments"][0].clone();
    assert_eq!(attachment["error"]["code"], "provider_unavailable");
    let document_id = "BQACAgIAAxkBAAIBnmdEYwUNr_B593OJD2cS8NW0Ml8wAAJuWgACQ2oQSlW9JdLegvUTNgQ";
    h.tg.add_file(
        document_id,
        "documents/file_5.pdf",
        b"%PDF-1.7 invoice".to_vec(),
    );
    let got = h
        .call(
            "attachments.get",
            json!({"attachment_id": attachment["id"], "operator_id": ADMIN}),
        )
        .unwrap();
    assert_eq!(
        std::fs::read(got["attachment"]["path"].as_str().unwrap()).unwrap(),
        b"%PDF-1.7 invoice"
    );
    let attachment = h.messages(dialog["id"].as_i64().unwrap())[0]["attachments"][0].clone();
    assert!(
        attachment["error"].is_null() && attachment["url"].is_string(),
        "{attachment}"
    );
}

#[test]
fn when_our_own_disk_fails_the_webhook_answers_503_and_the_retry_stores_the_file() {
    let h = Harness::new();
    let id = h.telegram_channel();
    let largest =
        "AgACAgIAAxkBAAIBnWdEYq1x7kQmVZ3sJ0bL8c2HfT9pAAJx3jEbQ2oQSuY1c7mD0wABAQADAgADeQADNgQ";
    h.tg.add_file(largest, "photos/file_37.jpg", b"jpeg bytes".to_vec());
    let tmp = h.storage.0.join("tmp");
    std::fs::remove_dir_all(&tmp).unwrap();
    assert_eq!(h.post_fixture(id, "private_photo_caption").0, 503);
    assert_eq!(h.db.count("messages"), 0);
    std::fs::create_dir_all(&tmp).unwrap();
    assert_eq!(h.post_fixture(id, "private_photo_caption").0, 200);
    let dialog = only_dialog(&h);
    let attachment = &h.messages(dialog["id"].as_i64().unwrap())[0]["attachments"][0];
    assert!(attachment["url"].is_string(), "{attachment}");
}

#[test]
fn start_command_opens_a_dialog_with_its_source_and_group_messages_are_ignored() {
    let h = Harness::new();
    let id = h.telegram_channel();
    assert_eq!(h.post_fixture(id, "group_message").0, 200);
    assert_eq!(h.db.count("messages"), 0, "groups are outside a 1:1 inbox");
    assert_eq!(
        h.db.count("deliveries"),
        0,
        "an ignored update leaves no row behind"
    );
    assert_eq!(h.post_fixture(id, "start_command").0, 200);
    let dialog = only_dialog(&h);
    assert_eq!(dialog["visitor"]["name"], "Marta Nowak");
    let source: Option<String> = mysql::prelude::Queryable::query_first(
        &mut h.db.conn(),
        "SELECT source FROM app_crmchats_dialogs",
    )
    .unwrap();
    assert_eq!(source.as_deref(), Some("src_site_footer"));
}

#[test]
fn a_visitor_who_blocks_the_bot_is_marked_blocked_and_unblocked_when_writing_again() {
    let h = Harness::new();
    let id = h.telegram_channel();
    assert_eq!(h.post_fixture(id, "private_text").0, 200);
    assert_eq!(h.post_fixture(id, "my_chat_member_blocked").0, 200);
    let blocked: Option<i64> = mysql::prelude::Queryable::query_first(
        &mut h.db.conn(),
        "SELECT blocked FROM app_crmchats_visitors",
    )
    .unwrap();
    assert_eq!(blocked, Some(1));
    assert_eq!(h.db.count("messages"), 1, "a block is not a message");
    assert_eq!(h.post_fixture(id, "private_photo_caption").0, 200);
    let blocked: Option<i64> = mysql::prelude::Queryable::query_first(
        &mut h.db.conn(),
        "SELECT blocked FROM app_crmchats_visitors",
    )
    .unwrap();
    assert_eq!(blocked, Some(0));
}

#[test]
fn name_and_avatar_are_loaded_on_first_contact() {
    let h = Harness::new();
    let id = h.telegram_channel();
    let avatar = b"\xff\xd8\xff avatar".to_vec();
    h.tg.add_file("AVATAR1", "profile_photos/file_9.jpg", avatar.clone());
    h.tg.add_profile_photo(5082317746, "AVATAR1");
    assert_eq!(h.post_fixture(id, "private_text").0, 200);
    let dialog = only_dialog(&h);
    let url = dialog["visitor"]["avatar_url"]
        .as_str()
        .expect("avatar loaded");
    let attachment_id: i64 = url.rsplit('=').next().unwrap().parse().unwrap();
    let got = h
        .call(
            "attachments.get",
            json!({"attachment_id": attachment_id, "operator_id": ADMIN}),
        )
        .unwrap();
    assert_eq!(
        std::fs::read(got["attachment"]["path"].as_str().unwrap()).unwrap(),
        avatar
    );
    // Loaded once: the next message does not ask again.
    assert_eq!(h.post_fixture(id, "private_photo_caption").0, 200);
    assert_eq!(h.tg.calls("getUserProfilePhotos").len(), 1);
}

// --- outbound -------------------------------------------------------------------------------

#[test]
fn an_operator_reply_is_sent_and_its_telegram_id_stored() {
    let h = Harness::new();
    let id = h.telegram_channel();
    h.post_fixture(id, "private_text");
    let dialog_id = only_dialog(&h)["id"].as_i64().unwrap();
    let message = h.send(
        dialog_id,
        "Добрый день, Алексей! Заказ №4821 передан в доставку сегодня 🚚",
    );
    assert_eq!(message["status"], "sent");
    assert_eq!(message["direction"], "out");
    assert_eq!(
        message["author"],
        json!({"type": "operator", "id": ADMIN, "name": "Анна Админова"})
    );
    let calls = h.tg.calls("sendMessage");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].param("chat_id").as_deref(), Some("5082317746"));
    assert_eq!(
        calls[0].param("text").as_deref(),
        Some("Добрый день, Алексей! Заказ №4821 передан в доставку сегодня 🚚")
    );
    let sent = h.tg.sent_messages(5082317746);
    assert_eq!(
        message["external_id"],
        format!("5082317746:{}", sent[0]["message_id"])
    );

    let dialog = only_dialog(&h);
    assert_eq!(
        dialog["operator_ids"],
        json!([ADMIN]),
        "the replying operator takes part"
    );
    assert_eq!(dialog["unread"], 0, "replying reads the dialog");
    assert_eq!(dialog["last_message"]["direction"], "out");
}

#[test]
fn photos_and_documents_are_uploaded_byte_exact() {
    let h = Harness::new();
    let id = h.telegram_channel();
    h.post_fixture(id, "private_text");
    let dialog_id = only_dialog(&h)["id"].as_i64().unwrap();
    let png: Vec<u8> = b"\x89PNG\r\n\x1a\n"
        .iter()
        .copied()
        .chain((0..5000u32).map(|i| (i % 256) as u8))
        .collect();
    let pdf_dir = TempDir::new("upload");
    let pdf_path = pdf_dir.0.join("Договор №7.pdf");
    let pdf: Vec<u8> = b"%PDF-1.7\n"
        .iter()
        .copied()
        .chain(std::iter::repeat_n(b'x', 70_000))
        .collect();
    std::fs::write(&pdf_path, &pdf).unwrap();
    use base64::Engine;
    let request = json!({"dialog_id": dialog_id, "operator_id": ADMIN, "text": "Так будет выглядеть замена упаковки",
    "attachments": [
        {"data_base64": base64::engine::general_purpose::STANDARD.encode(&png), "name": "box.png", "mime": "image/png"},
        {"path": pdf_path, "mime": "application/pdf"},
    ]});
    let message = h.app.send_message(&request).unwrap()["message"].clone();
    assert_eq!(message["status"], "sent");
    assert_eq!(message["attachments"].as_array().unwrap().len(), 2);
    assert_eq!(message["attachments"][1]["name"], "Договор №7.pdf");

    let photo = &h.tg.calls("sendPhoto")[0];
    let uploaded = photo.multipart_file("photo").unwrap();
    assert_eq!(uploaded.data, png);
    assert_eq!(uploaded.file_name.as_deref(), Some("box.png"));
    assert_eq!(
        photo.param("caption").as_deref(),
        Some("Так будет выглядеть замена упаковки")
    );
    let doc = &h.tg.calls("sendDocument")[0];
    let uploaded = doc.multipart_file("document").unwrap();
    assert_eq!(uploaded.data, pdf);
    assert_eq!(uploaded.file_name.as_deref(), Some("Договор №7.pdf"));
    assert!(
        h.tg.calls("sendMessage").is_empty(),
        "the text rode as the caption"
    );
}

#[test]
fn provider_errors_are_stored_as_failed_messages_with_stable_codes() {
    let h = Harness::new();
    let id = h.telegram_channel();
    h.post_fixture(id, "private_text");
    let dialog_id = only_dialog(&h)["id"].as_i64().unwrap();
    let cases = [
        ("error_401_unauthorized", 401, "provider_unauthorized"),
        ("error_400_chat_not_found", 400, "provider_rejected"),
        ("error_429_retry_after", 429, "rate_limited"),
        ("error_403_bot_blocked", 403, "visitor_blocked"),
    ];
    let mut rate_limited = Value::Null;
    for (fixture_name, status, code) in cases {
        h.tg.fail_next("sendMessage", status, &api_fixture(fixture_name));
        let message = h.send(dialog_id, &format!("attempt {code}"));
        // A temporary failure waits in the outbox with its reason; the others fail for good.
        let expected = if is_temporary(code) {
            "queued"
        } else {
            "failed"
        };
        assert_eq!(message["status"], expected, "{fixture_name}");
        assert_eq!(message["error"]["code"], code, "{fixture_name}");
        assert!(message["external_id"].is_null());
        if is_temporary(code) {
            rate_limited = message;
            let tick = flush_outbox(&h.app);
            assert_eq!(tick["outbox"]["sent"], 1, "{tick}");
        }
    }
    let all = h.messages(dialog_id);
    assert_eq!(all.len(), 5, "every reply is kept");
    assert_eq!(
        all.iter().filter(|m| m["status"] == "failed").count(),
        3,
        "{all:?}"
    );
    assert_eq!(rate_limited["error"]["retry_after"], 35);
    assert!(rate_limited["error"]["message"]
        .as_str()
        .unwrap()
        .contains("retry after 35"));
    let blocked: Option<i64> = mysql::prelude::Queryable::query_first(
        &mut h.db.conn(),
        "SELECT blocked FROM app_crmchats_visitors",
    )
    .unwrap();
    assert_eq!(blocked, Some(1), "403 'bot was blocked' marks the visitor");
}

#[test]
fn a_partly_sent_message_counts_as_sent_and_says_what_failed() {
    let h = Harness::new();
    let id = h.telegram_channel();
    h.post_fixture(id, "private_text");
    let dialog_id = only_dialog(&h)["id"].as_i64().unwrap();
    use base64::Engine;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    h.tg.fail_next(
        "sendDocument",
        400,
        &api_fixture("error_400_chat_not_found"),
    );
    let request = json!({"dialog_id": dialog_id, "operator_id": ADMIN, "text": "photo and invoice",
    "attachments": [
        {"data_base64": b64(b"\x89PNG\r\n\x1a\nphoto"), "name": "p.png", "mime": "image/png"},
        {"data_base64": b64(b"%PDF-1.4 invoice"), "name": "invoice.pdf", "mime": "application/pdf"},
    ]});
    let message = h.app.send_message(&request).unwrap()["message"].clone();
    assert_eq!(
        message["status"], "sent",
        "the photo with its caption reached the visitor"
    );
    assert!(message["external_id"].as_str().is_some());
    assert_eq!(message["error"]["code"], "provider_rejected");
    assert!(
        message["error"]["message"]
            .as_str()
            .unwrap()
            .contains("partly sent"),
        "{message}"
    );
}

#[test]
fn attachment_paths_must_be_regular_files() {
    let h = Harness::new();
    let id = h.telegram_channel();
    h.post_fixture(id, "private_text");
    let dialog_id = only_dialog(&h)["id"].as_i64().unwrap();
    for path in ["/dev/zero", "/tmp"] {
        let request =
            json!({"dialog_id": dialog_id, "operator_id": ADMIN, "attachments": [{"path": path}]});
        let err = h.app.send_message(&request).unwrap_err();
        assert_eq!(err.code(), "invalid_argument", "{path}: {err}");
        assert!(err.to_string().contains("regular file"), "{err}");
    }
    assert_eq!(h.db.count("messages"), 1);
}

#[test]
fn a_down_provider_keeps_replies_in_the_outbox_and_tick_sends_them_in_order_once_it_recovers() {
    let h = Harness::new();
    let id = h.telegram_channel();
    h.post_fixture(id, "private_text");
    let dialog_id = only_dialog(&h)["id"].as_i64().unwrap();
    h.tg.fail_next(
        "sendMessage",
        502,
        "<html><body>502 Bad Gateway</body></html>",
    );
    let first = h.send(dialog_id, "hello?");
    assert_eq!(first["status"], "queued");
    assert_eq!(first["error"]["code"], "provider_unavailable");
    assert!(
        first["error"]["message"]
            .as_str()
            .unwrap()
            .contains("trying again at"),
        "{first}"
    );
    // The next reply waits behind the first: the visitor gets them in order.
    let second = h.send(dialog_id, "are you there?");
    assert_eq!(second["status"], "queued");
    assert_eq!(h.tg.calls("sendMessage").len(), 1, "not sent out of order");
    // Not due yet: a tick now sends nothing.
    let tick = h.call("tick", json!({})).unwrap();
    assert_eq!(tick["outbox"]["sent"], 0, "{tick}");

    let tick = flush_outbox(&h.app);
    assert_eq!(tick["outbox"]["sent"], 2, "{tick}");
    let sent = h.messages(dialog_id);
    assert!(sent[1..].iter().all(|m| m["status"] == "sent"), "{sent:?}");
    assert!(sent[1]["error"].is_null(), "the earlier failure is cleared");
    let calls: Vec<String> =
        h.tg.calls("sendMessage")
            .iter()
            .filter_map(|c| c.param("text"))
            .collect();
    assert_eq!(
        calls,
        vec!["hello?", "hello?", "are you there?"],
        "retried, then in order"
    );
    assert_eq!(h.db.count("messages"), 3);
}

#[test]
fn unusable_send_requests_are_errors_and_store_nothing() {
    let h = Harness::new();
    let id = h.telegram_channel();
    h.post_fixture(id, "private_text");
    let dialog_id = only_dialog(&h)["id"].as_i64().unwrap();
    let cases = [
        (
            json!({"dialog_id": dialog_id, "operator_id": ADMIN, "text": "  "}),
            "invalid_argument",
        ),
        (
            json!({"dialog_id": 9999, "operator_id": ADMIN, "text": "x"}),
            "not_found",
        ),
        (
            json!({"dialog_id": dialog_id, "operator_id": 77, "text": "x"}),
            "forbidden",
        ),
        (
            json!({"dialog_id": dialog_id, "text": "x"}),
            "invalid_argument",
        ),
        (
            json!({"dialog_id": dialog_id, "operator_id": ADMIN, "attachments": [{"path": "/nonexistent/file.pdf"}]}),
            "invalid_argument",
        ),
        (
            json!({"dialog_id": dialog_id, "operator_id": ADMIN, "attachments": [{"data_base64": "***"}]}),
            "invalid_argument",
        ),
    ];
    for (request, code) in cases {
        let err = h.app.send_message(&request).unwrap_err();
        assert_eq!(err.code(), code, "{request}: {err}");
    }
    assert_eq!(h.db.count("messages"), 1);
    assert!(h.tg.calls("sendMessage").is_empty());
}

#[test]
fn an_operator_deletes_their_own_sent_message_only() {
    let h = Harness::new();
    let id = h.telegram_channel();
    h.post_fixture(id, "private_text");
    let dialog_id = only_dialog(&h)["id"].as_i64().unwrap();
    let message = h.send(dialog_id, "oops");
    let err = h
        .call(
            "messages.delete",
            json!({"message_id": message["id"], "operator_id": MANAGER}),
        )
        .unwrap_err();
    assert_eq!(err.code(), "forbidden");
    let inbound_id = h.messages(dialog_id)[0]["id"].clone();
    let err = h
        .call(
            "messages.delete",
            json!({"message_id": inbound_id, "operator_id": ADMIN}),
        )
        .unwrap_err();
    assert_eq!(err.code(), "forbidden");

    let deleted = h
        .call(
            "messages.delete",
            json!({"message_id": message["id"], "operator_id": ADMIN}),
        )
        .unwrap();
    assert_eq!(deleted["message"]["status"], "deleted");
    let calls = h.tg.calls("deleteMessage");
    assert_eq!(calls.len(), 1);
    let telegram_id = message["external_id"]
        .as_str()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(calls[0].param("message_id"), Some(telegram_id));
    assert!(h.tg.sent_messages(5082317746).is_empty());
    assert_eq!(
        h.db.count("events"),
        3,
        "dialog_opened, operator_joined, message_deleted"
    );
}

// --- listing --------------------------------------------------------------------------------

#[test]
fn dialogs_page_newest_first_with_an_opaque_cursor_and_filters() {
    let h = Harness::new();
    let id = h.telegram_channel();
    for i in 0..5i64 {
        let update = json!({"update_id": 100 + i, "message": {"message_id": 1, "date": 1732542311 + i,
            "from": {"id": 1000 + i, "first_name": format!("Visitor{i}")}, "chat": {"id": 1000 + i, "type": "private"},
            "text": format!("hello {i}")}});
        assert_eq!(
            h.post(id, tg_headers(), update.to_string().as_bytes()).0,
            200
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let mut names = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut request = json!({"operator_id": ADMIN, "status": "open", "limit": 2});
        if let Some(c) = &cursor {
            request["cursor"] = json!(c);
        }
        let page = h.app.list_dialogs(&request).unwrap();
        pages += 1;
        for d in page["dialogs"].as_array().unwrap() {
            names.push(d["visitor"]["name"].as_str().unwrap().to_string());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(
        names,
        ["Visitor4", "Visitor3", "Visitor2", "Visitor1", "Visitor0"]
    );

    let found = h
        .app
        .list_dialogs(&json!({"operator_id": ADMIN, "search": "hello 3"}))
        .unwrap();
    assert_eq!(found["dialogs"].as_array().unwrap().len(), 1);
    let found = h
        .app
        .list_dialogs(&json!({"operator_id": ADMIN, "search": "visitor1"}))
        .unwrap();
    assert_eq!(found["dialogs"][0]["visitor"]["name"], "Visitor1");
    let none = h
        .app
        .list_dialogs(&json!({"operator_id": ADMIN, "status": "closed"}))
        .unwrap();
    assert!(none["dialogs"].as_array().unwrap().is_empty());
    let other_channel = h
        .app
        .list_dialogs(&json!({"operator_id": ADMIN, "channel_id": id + 1}))
        .unwrap();
    assert!(other_channel["dialogs"].as_array().unwrap().is_empty());
    assert_eq!(
        h.app
            .list_dialogs(&json!({"operator_id": ADMIN, "status": "weird"}))
            .unwrap_err()
            .code(),
        "invalid_argument"
    );
    assert_eq!(
        h.app
            .list_dialogs(&json!({"operator_id": ADMIN, "cursor": "zzz"}))
            .unwrap_err()
            .code(),
        "invalid_argument"
    );
    assert_eq!(
        h.app
            .list_dialogs(&json!({"operator_id": 404}))
            .unwrap_err()
            .code(),
        "forbidden"
    );
}

#[test]
fn operators_are_the_crm_users() {
    let h = Harness::new();
    let ops = h.call("operators.list", json!({})).unwrap();
    let brief: Vec<Value> = ops["operators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            json!([
                o["id"],
                o["name"],
                o["login"],
                o["is_admin"],
                o["is_operator"]
            ])
        })
        .collect();
    assert_eq!(
        brief,
        vec![
            json!([1, "Анна Админова", "admin", true, false]),
            json!([2, "Пётр Менеджеров", "manager", false, false]),
        ]
    );
}

// --- proxies --------------------------------------------------------------------------------

#[test]
fn a_channel_proxy_carries_its_calls_socks5_with_credentials_and_http() {
    let h = Harness::new();
    let socks = Socks5Proxy::start(Some(("tg".into(), "s3cret".into())));
    let id = h.telegram_channel_with(json!({"webhook_secret": TG_SECRET, "proxy": socks.url()}));
    assert!(
        socks.connections_seen() >= 1,
        "getMe/setWebhook went through SOCKS5"
    );
    let channel = h.call("channels.get", json!({"channel_id": id})).unwrap();
    assert!(
        !channel.to_string().contains("s3cret"),
        "proxy password masked: {channel}"
    );

    h.post_fixture(id, "private_text");
    let dialog_id = only_dialog(&h)["id"].as_i64().unwrap();
    assert_eq!(h.send(dialog_id, "via socks")["status"], "sent");
    // With the proxy gone, the channel's calls fail: they never bypass it.
    drop(socks);
    let refused = h.send(dialog_id, "proxy down");
    assert_eq!(refused["status"], "queued", "kept for a retry");
    assert_eq!(refused["error"]["code"], "provider_unavailable");

    let http = HttpConnectProxy::start();
    h.call(
        "channels.update",
        json!({"channel_id": id, "settings": {"proxy": http.url()}}),
    )
    .unwrap();
    assert!(
        http.requests_seen() >= 1,
        "check and setWebhook went through the HTTP proxy"
    );
    // The reply that waited goes first, through the new proxy, then the new one.
    assert_eq!(flush_outbox(&h.app)["outbox"]["sent"], 1);
    assert_eq!(h.send(dialog_id, "via http proxy")["status"], "sent");

    let bad = Socks5Proxy::start(Some(("tg".into(), "right".into())));
    let wrong = bad.url().replace("right", "wrong");
    let err = h
        .call(
            "channels.check",
            json!({"type": "telegram", "token": TG_TOKEN, "settings": {"proxy": wrong}}),
        )
        .unwrap_err();
    assert_eq!(err.code(), "provider_unavailable", "{err}");
}

// --- channel health -------------------------------------------------------------------------

#[test]
fn health_shows_activity_and_a_webhook_the_messenger_lost_is_registered_again() {
    let h = Harness::new();
    let channel = h.telegram_channel();
    let health = h
        .call("channels.health", json!({"channel_id": channel}))
        .unwrap();
    assert_eq!(health["messenger"]["ok"], true, "{health}");
    assert_eq!(health["messenger"]["webhook"]["registered"], true);
    assert_eq!(health["messenger"]["webhook"]["pending_updates"], 0);
    assert_eq!(health["reregistered"], false);
    assert_eq!(
        health["channel"]["activity"]["last_inbound_at"],
        Value::Null
    );

    // Someone (another tool on the same bot) removed our webhook: health puts it back.
    ureq::post(&format!("{}/bot{TG_TOKEN}/deleteWebhook", h.tg.base_url()))
        .send_empty()
        .unwrap();
    assert!(h.tg.webhook().is_none());
    let health = h
        .call("channels.health", json!({"channel_id": channel}))
        .unwrap();
    assert_eq!(health["messenger"]["webhook"]["registered"], false);
    assert_eq!(health["reregistered"], true);
    let hook = h.tg.webhook().expect("registered again");
    assert!(hook
        .url
        .ends_with(&format!("webhook.php?channel={channel}")));

    // Activity: a message in, a reply out, a refused call with the messenger's words.
    let (status, _) = h.post_fixture(channel, "private_text");
    assert_eq!(status, 200);
    let dialog = h.dialogs(ADMIN)[0]["id"].as_i64().unwrap();
    h.send(dialog, "ответ");
    h.tg.fail_next(
        "getWebhookInfo",
        401,
        &api_fixture("error_401_unauthorized"),
    );
    let health = h
        .call("channels.health", json!({"channel_id": channel}))
        .unwrap();
    assert_eq!(health["messenger"]["ok"], false);
    assert_eq!(
        health["messenger"]["error"]["code"],
        "provider_unauthorized"
    );
    let activity = &health["channel"]["activity"];
    assert!(activity["last_inbound_at"].is_string(), "{activity}");
    assert!(activity["last_outbound_at"].is_string(), "{activity}");
    assert!(
        activity["last_error"]
            .as_str()
            .unwrap()
            .contains("Unauthorized"),
        "{activity}"
    );
}
