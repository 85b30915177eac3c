//! WhatsApp via Chat-API end to end through the Rust facade: real MariaDB, the fake Chat-API
//! instance on 127.0.0.1, the shared fixtures' real payloads.

mod common;

use std::sync::Arc;

use base64::Engine;
use common::*;
use crmchats::api::Crmchats;
use crmchats_fakes::chatapi::{FakeChatApi, FIXTURE_INSTANCE, FIXTURE_TOKEN, QR_CODE};
use mysql::prelude::Queryable;
use serde_json::{json, Value};

/// Our secret in the webhook URL (the fixtures' `?key=`).
const KEY: &str = "chatapiSharedKey-7d2f";
/// The fixtures' visitor.
const IRINA: &str = "79991234567@c.us";

struct ChatApiHarness {
    db: TestDb,
    chatapi: FakeChatApi,
    _storage: TempDir,
    app: Arc<Crmchats>,
}

impl ChatApiHarness {
    fn new() -> ChatApiHarness {
        let db = TestDb::create();
        let chatapi = FakeChatApi::start(FIXTURE_INSTANCE, FIXTURE_TOKEN);
        let storage = TempDir::new("storage");
        let config = test_config(
            &db,
            &storage,
            PUBLIC_BASE_URL,
            json!({"chatapi": {"api_base": chatapi.base_url()}}),
        );
        let app = Arc::new(Crmchats::open(&config).expect("the library opens"));
        let receiver = Arc::clone(&app);
        chatapi.route_webhooks(move |delivery| Ok(deliver_webhook(&receiver, delivery)));
        ChatApiHarness {
            db,
            chatapi,
            _storage: storage,
            app,
        }
    }

    fn call(&self, method: &str, params: Value) -> Result<Value, crmchats::error::Error> {
        self.app.call(method, &params)
    }

    fn settings(&self) -> Value {
        json!({"api_url": self.chatapi.instance_url(), "webhook_secret": KEY})
    }

    fn channel(&self) -> i64 {
        let created = self
            .call(
                "channels.create",
                json!({"type": "chatapi", "name": "WhatsApp", "token": FIXTURE_TOKEN, "settings": self.settings()}),
            )
            .expect("channels.create");
        created["channel"]["id"].as_i64().unwrap()
    }

    /// A body posted the way the instance does, to our URL with its key.
    fn post(&self, channel_id: i64, body: &[u8]) -> (u16, String) {
        let query = json!({"channel": channel_id.to_string(), "key": KEY});
        let headers = json!({"Content-Type": "application/json"});
        post_webhook(&self.app, channel_id, headers, query, body)
    }

    fn post_fixture(&self, channel_id: i64, name: &str) -> (u16, String) {
        self.post(channel_id, &fixture(name))
    }

    /// A body the fake builds, posted by it to the registered URL.
    fn deliver(&self, body: &Value) -> (u16, String) {
        self.chatapi.post_webhook(body).expect("a webhook is set")
    }

    fn only_dialog(&self) -> Value {
        let dialogs = list_dialogs(&self.app, ADMIN);
        assert_eq!(dialogs.len(), 1, "{dialogs:?}");
        dialogs[0].clone()
    }
}

/// A Chat-API fixture body, byte-exact.
fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(repo_path(&format!(
        "tests/fixtures/chatapi/inbound/{name}.json"
    )))
    .unwrap()
}

// --- channels ---------------------------------------------------------------------------------

#[test]
fn creating_a_channel_checks_the_instance_and_registers_our_url_with_its_key() {
    let h = ChatApiHarness::new();
    let created = h
        .call(
            "channels.create",
            json!({"type": "chatapi", "name": "WhatsApp", "token": FIXTURE_TOKEN,
                   "settings": {"api_url": h.chatapi.instance_url(), "webhook_secret": KEY,
                                "account_number": "+7 900 111-22-33"}}),
        )
        .unwrap();
    let channel = &created["channel"];
    assert_eq!(channel["external_id"], "318205");
    assert_eq!(channel["bot_name"], "Северный ветер");
    assert_eq!(channel["webhook"]["state"], "registered", "{channel}");
    let id = channel["id"].as_i64().unwrap();
    assert_eq!(
        h.chatapi.webhook_url().as_deref(),
        Some(format!("{PUBLIC_BASE_URL}/webhook.php?channel={id}&key={KEY}").as_str())
    );
    assert!(
        h.chatapi.ack_notifications(),
        "delivered/viewed acks are switched on"
    );
    let shown = created.to_string();
    assert!(
        !shown.contains(FIXTURE_TOKEN) && !shown.contains(KEY),
        "{shown}"
    );

    let health = h
        .call("channels.health", json!({"channel_id": id}))
        .unwrap();
    let webhook = &health["messenger"]["webhook"];
    assert_eq!(webhook["registered"], true, "{health}");
    assert!(!webhook["url"].as_str().unwrap().contains(KEY), "{webhook}");
    assert_eq!(health["reregistered"], false);

    h.call("channels.delete", json!({"channel_id": id}))
        .unwrap();
    assert_eq!(h.chatapi.webhook_url(), None);
}

#[test]
fn check_shows_the_qr_code_until_the_phone_is_linked() {
    let h = ChatApiHarness::new();
    h.chatapi.log_out_phone();
    let params = json!({"type": "chatapi", "token": FIXTURE_TOKEN, "settings": h.settings()});
    let waiting = h.call("channels.check", params.clone()).unwrap();
    assert_eq!(waiting["details"]["status"], "got qr code");
    assert_eq!(waiting["details"]["qr_code"], QR_CODE);
    assert_eq!(waiting["bot_id"], "318205");

    h.chatapi.link_phone();
    let linked = h.call("channels.check", params).unwrap();
    assert_eq!(linked["details"]["status"], "authenticated");
    assert!(linked["details"].get("qr_code").is_none());
    assert_eq!(linked["bot_name"], "Северный ветер");
    assert_eq!(linked["username"], "+79001112233");
}

#[test]
fn a_wrong_token_url_or_number_is_refused_with_the_reason() {
    let h = ChatApiHarness::new();
    let check = |token: &str, settings: Value| {
        h.call(
            "channels.check",
            json!({"type": "chatapi", "token": token, "settings": settings}),
        )
        .unwrap_err()
    };
    let err = check("wrong", h.settings());
    assert_eq!(err.code(), "provider_unauthorized");
    assert!(err.to_string().contains("Wrong token"), "{err}");

    let err = check(
        FIXTURE_TOKEN,
        json!({"api_url": "https://api.chat-api.com/"}),
    );
    assert_eq!(err.code(), "provider_rejected");
    assert!(err.to_string().contains("instance123456"), "{err}");

    let err = check(
        FIXTURE_TOKEN,
        json!({"api_url": h.chatapi.instance_url(), "account_number": "79005554433"}),
    );
    assert!(err.to_string().contains("+79001112233"), "{err}");
    let blank = json!({"type": "chatapi", "token": FIXTURE_TOKEN,
        "settings": {"api_url": h.chatapi.instance_url(), "account_number": " "}});
    assert!(
        h.call("channels.check", blank).is_ok(),
        "a blank number is not compared"
    );

    let err = h
        .call(
            "channels.create",
            json!({"type": "chatapi", "name": "WhatsApp", "token": FIXTURE_TOKEN}),
        )
        .unwrap_err();
    assert_eq!(err.code(), "invalid_argument");
    assert!(err.to_string().contains("settings.api_url"), "{err}");
}

// --- inbound ----------------------------------------------------------------------------------

#[test]
fn the_fixture_text_is_stored_once_with_the_name_and_the_phone_from_the_chat_id() {
    let h = ChatApiHarness::new();
    let id = h.channel();
    assert_eq!(h.post_fixture(id, "message_text"), (200, "ok".to_string()));
    assert_eq!(h.post_fixture(id, "message_text").0, 200, "a redelivery");
    assert_eq!(h.db.count("messages"), 1);

    let dialog = h.only_dialog();
    assert_eq!(dialog["channel"]["type"], "chatapi");
    assert_eq!(dialog["visitor"]["name"], "Ирина");
    assert!(
        dialog["visitor"]["avatar_url"].is_null(),
        "no pictures on this channel"
    );
    let messages = list_messages(&h.app, dialog["id"].as_i64().unwrap());
    assert_eq!(
        messages[0]["text"],
        "Добрый вечер! Есть ли у вас самовывоз? 🙂"
    );
    assert_eq!(
        messages[0]["external_id"],
        "false_79991234567@c.us_3EB0C4A1F2D8E9B7A6C5"
    );
    let phone: Option<String> =
        h.db.conn()
            .exec_first(
                "SELECT phone FROM app_crmchats_visitors WHERE external_id = ?",
                (IRINA,),
            )
            .unwrap();
    assert_eq!(phone.as_deref(), Some("+79991234567"));
}

#[test]
fn webhooks_without_our_key_or_from_another_instance_are_refused() {
    let h = ChatApiHarness::new();
    let id = h.channel();
    let body = fixture("message_text");
    let headers = json!({"Content-Type": "application/json"});
    let post = |query: Value, body: &[u8]| post_webhook(&h.app, id, headers.clone(), query, body).0;
    assert_eq!(post(json!({"channel": id.to_string()}), &body), 401);
    assert_eq!(
        post(
            json!({"channel": id.to_string(), "key": "chatapiSharedKey-7d2e"}),
            &body
        ),
        403
    );
    let other = String::from_utf8(body.clone())
        .unwrap()
        .replace("318205", "318206");
    assert_eq!(
        post(
            json!({"channel": id.to_string(), "key": KEY}),
            other.as_bytes()
        ),
        403
    );
    assert_eq!(h.db.count("messages") + h.db.count("visitors"), 0);
}

#[test]
fn the_fixture_image_is_downloaded_with_its_caption_and_groups_are_ignored() {
    let h = ChatApiHarness::new();
    let id = h.channel();
    let photo = b"\xff\xd8\xff\xe0 the model she needs".to_vec();
    let link = h.chatapi.add_media(
        "3f9c2b7e-1d5a-4c0f-8e6b-2d9a7c1e5f30.jpeg",
        "image/jpeg",
        photo.clone(),
    );
    let body = String::from_utf8(fixture("message_image")).unwrap().replace(
        "https://s3.eu-central-1.wasabisys.com/incoming-chat-api/2024/11/25/318205/3f9c2b7e-1d5a-4c0f-8e6b-2d9a7c1e5f30.jpeg",
        &link,
    );
    assert_eq!(h.post(id, body.as_bytes()).0, 200);
    let group = body
        .replace("79991234567@c.us", "79991234567-1600000000@g.us")
        .replace("3EB0D5B2", "3EB0FFFF");
    assert_eq!(h.post(id, group.as_bytes()).0, 200);

    let dialog = h.only_dialog();
    let messages = list_messages(&h.app, dialog["id"].as_i64().unwrap());
    assert_eq!(messages.len(), 1, "the group message is not in the inbox");
    assert_eq!(messages[0]["text"], "Вот такая модель нужна");
    let attachment = &messages[0]["attachments"][0];
    assert_eq!(attachment["mime"], "image/jpeg");
    assert_eq!(attachment["size"], photo.len());
    let opened = h
        .call(
            "attachments.get",
            json!({"attachment_id": attachment["id"], "operator_id": ADMIN}),
        )
        .unwrap();
    assert_eq!(
        std::fs::read(opened["attachment"]["path"].as_str().unwrap()).unwrap(),
        photo
    );
}

#[test]
fn a_message_typed_on_the_phone_is_stored_as_outgoing_once() {
    let h = ChatApiHarness::new();
    let id = h.channel();
    h.post_fixture(id, "message_text");
    assert_eq!(h.post_fixture(id, "message_from_me_echo").0, 200);
    assert_eq!(
        h.post_fixture(id, "message_from_me_echo").0,
        200,
        "a redelivery"
    );
    let dialog = h.only_dialog();
    assert_eq!(dialog["unread"], 1, "our own message is not unread");
    assert_eq!(
        dialog["visitor"]["name"], "Ирина",
        "our name did not become hers"
    );
    let messages = list_messages(&h.app, dialog["id"].as_i64().unwrap());
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1]["direction"], "out");
    assert_eq!(
        messages[1]["text"],
        "Да, самовывоз с 10 до 20, ул. Ленина 5."
    );
    assert_eq!(
        messages[1]["external_id"],
        "true_79991234567@c.us_3EB0B5E1D2A4C7F8E9A1"
    );
}

// --- replies ----------------------------------------------------------------------------------

#[test]
fn a_reply_is_sent_its_echo_is_not_stored_again_and_acks_move_it_to_read() {
    let h = ChatApiHarness::new();
    h.channel();
    h.deliver(&h.chatapi.text_from(IRINA, "Ирина", "Есть самовывоз?"));
    let dialog_id = h.only_dialog()["id"].as_i64().unwrap();

    let reply = send_text(&h.app, dialog_id, "Да, с 10 до 20.");
    assert_eq!(reply["status"], "sent", "{reply}");
    let sent = h.chatapi.sent_messages(IRINA);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].field("body"), Some("Да, с 10 до 20."));
    assert_eq!(reply["external_id"], sent[0].id.as_str());

    // The instance reports our own send back as a fromMe message: the same message.
    assert_eq!(h.deliver(&h.chatapi.echo_of(&sent[0], "Ирина")).0, 200);
    assert_eq!(h.db.count("messages"), 2);

    let status = || list_messages(&h.app, dialog_id)[1]["status"].clone();
    h.deliver(&h.chatapi.ack(&sent[0].id, IRINA, "delivered"));
    assert_eq!(status(), "delivered");
    h.deliver(&h.chatapi.ack(&sent[0].id, IRINA, "viewed"));
    assert_eq!(status(), "read");
    h.deliver(&h.chatapi.ack(&sent[0].id, IRINA, "sent"));
    assert_eq!(status(), "read", "acks only move forward");
}

#[test]
fn sent_false_and_service_errors_are_stored_with_stable_codes() {
    let h = ChatApiHarness::new();
    h.channel();
    h.deliver(&h.chatapi.text_from(IRINA, "Ирина", "Привет"));
    let dialog_id = h.only_dialog()["id"].as_i64().unwrap();

    h.chatapi.fail_next(
        "sendMessage",
        200,
        r#"{"sent":false,"message":"Instance is not authorized"}"#,
    );
    let refused = send_text(&h.app, dialog_id, "1");
    assert_eq!(
        (
            refused["status"].as_str(),
            refused["error"]["code"].as_str()
        ),
        (Some("failed"), Some("provider_rejected"))
    );
    assert!(refused["error"]["message"]
        .as_str()
        .unwrap()
        .contains("Instance is not authorized"));

    h.chatapi.fail_next(
        "sendMessage",
        401,
        r#"{"error":"Wrong token. Please provide token as a GET parameter."}"#,
    );
    assert_eq!(
        send_text(&h.app, dialog_id, "2")["error"]["code"],
        "provider_unauthorized"
    );
    h.chatapi
        .fail_next("sendMessage", 502, "<html>Bad Gateway</html>");
    assert_eq!(
        send_text(&h.app, dialog_id, "3")["error"]["code"],
        "provider_unavailable"
    );
    assert!(h.chatapi.sent_messages(IRINA).is_empty());
}

#[test]
fn files_travel_inside_the_request_byte_exact_with_name_and_caption() {
    let h = ChatApiHarness::new();
    h.channel();
    h.deliver(&h.chatapi.text_from(IRINA, "Ирина", "Пришлите прайс"));
    let dialog_id = h.only_dialog()["id"].as_i64().unwrap();
    let pdf = b"%PDF-1.7 \x00\xff price list".to_vec();
    let data = base64::engine::general_purpose::STANDARD.encode(&pdf);
    let sent = h
        .app
        .send_message(&json!({"dialog_id": dialog_id, "operator_id": ADMIN, "text": "Прайс",
            "attachments": [{"data_base64": data, "name": "Прайс.pdf", "mime": "application/pdf"}]}))
        .unwrap();
    assert_eq!(sent["message"]["status"], "sent", "{sent}");
    let out = h.chatapi.sent_messages(IRINA);
    assert_eq!(out.len(), 1, "the text rides as the caption");
    assert_eq!(out[0].method, "sendFile");
    assert_eq!(out[0].field("filename"), Some("Прайс.pdf"));
    assert_eq!(out[0].field("caption"), Some("Прайс"));
    assert!(out[0]
        .field("body")
        .unwrap()
        .starts_with("data:application/pdf;base64,"));
    assert_eq!(out[0].file.as_deref(), Some(&pdf[..]));
}

#[test]
fn chatapi_messages_cannot_be_deleted_and_profiles_ask_nothing() {
    let h = ChatApiHarness::new();
    h.channel();
    h.deliver(&h.chatapi.text_from(IRINA, "Ирина", "Привет"));
    let dialog = h.only_dialog();
    let dialog_id = dialog["id"].as_i64().unwrap();
    let reply = send_text(&h.app, dialog_id, "Ой");
    let err = h
        .call(
            "messages.delete",
            json!({"message_id": reply["id"], "operator_id": ADMIN}),
        )
        .unwrap_err();
    assert_eq!(err.code(), "unsupported");
    let calls = h.chatapi.requests().len();
    let refreshed = h
        .call(
            "visitors.refresh_profile",
            json!({"visitor_id": dialog["visitor"]["id"], "operator_id": ADMIN}),
        )
        .unwrap();
    assert_eq!(
        refreshed["visitor"]["name"], "Ирина",
        "the name from the message is kept"
    );
    assert!(refreshed["visitor"]["avatar_url"].is_null());
    assert_eq!(
        h.chatapi.requests().len(),
        calls,
        "no lookup at the service"
    );
}
