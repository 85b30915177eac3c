//! Viber end to end through the Rust facade: real MariaDB, the fake Viber Bot API on 127.0.0.1
//! (which calls the webhook back while set_webhook runs, as Viber does), the shared fixtures'
//! real payloads and signatures.

mod common;

use std::sync::Arc;

use base64::Engine;
use common::*;
use crmchats::api::Crmchats;
use crmchats_fakes::http::parse_urlencoded;
use crmchats_fakes::viber::{FakeViber, ViberUser, FIXTURE_TOKEN};
use mysql::prelude::Queryable;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

/// The fixtures' visitor.
const OLENA: &str = "Qm9vbGVhbkthdFZpYmVyMDAx";

struct ViberHarness {
    db: TestDb,
    viber: FakeViber,
    _storage: TempDir,
    app: Arc<Crmchats>,
}

impl ViberHarness {
    fn new() -> ViberHarness {
        ViberHarness::with_public_base_url(PUBLIC_BASE_URL)
    }

    /// The fake's callbacks (the set_webhook check included) reach the library in-process.
    fn with_public_base_url(public_base_url: &str) -> ViberHarness {
        let db = TestDb::create();
        let viber = FakeViber::start(FIXTURE_TOKEN);
        let storage = TempDir::new("storage");
        let config = test_config(
            &db,
            &storage,
            public_base_url,
            json!({"viber": {"api_base": viber.base_url()}}),
        );
        let app = Arc::new(Crmchats::open(&config).expect("the library opens"));
        let receiver = Arc::clone(&app);
        viber.route_webhooks(move |delivery| Ok(deliver_webhook(&receiver, delivery)));
        ViberHarness {
            db,
            viber,
            _storage: storage,
            app,
        }
    }

    fn call(&self, method: &str, params: Value) -> Result<Value, crmchats::error::Error> {
        self.app.call(method, &params)
    }

    fn channel(&self) -> i64 {
        let created = self
            .call(
                "channels.create",
                json!({"type": "viber", "name": "Viber shop", "token": FIXTURE_TOKEN}),
            )
            .expect("channels.create");
        created["channel"]["id"].as_i64().unwrap()
    }

    /// A fixture posted byte-exact with its own headers (its signature).
    fn post_fixture(&self, channel_id: i64, name: &str) -> (u16, String) {
        let (body, headers) = fixture(name);
        post_webhook(&self.app, channel_id, headers, json!({}), &body)
    }

    /// A callback the fake builds, signed and delivered by it.
    fn post(&self, event: &Value) -> (u16, String) {
        self.viber
            .post_event(event)
            .expect("a webhook is registered")
    }

    fn only_dialog(&self) -> Value {
        let dialogs = list_dialogs(&self.app, ADMIN);
        assert_eq!(dialogs.len(), 1, "{dialogs:?}");
        dialogs[0].clone()
    }

    fn visitor_blocked(&self, external_id: &str) -> bool {
        let blocked: i64 = self
            .db
            .conn()
            .exec_first(
                "SELECT blocked FROM app_crmchats_visitors WHERE external_id = ?",
                (external_id,),
            )
            .unwrap()
            .expect("the visitor is known");
        blocked != 0
    }

    fn events(&self, kind: &str) -> i64 {
        self.db
            .conn()
            .exec_first(
                "SELECT COUNT(*) FROM app_crmchats_events WHERE kind = ?",
                (kind,),
            )
            .unwrap()
            .unwrap()
    }

    fn send_with_file(
        &self,
        dialog_id: i64,
        text: &str,
        name: &str,
        mime: &str,
        bytes: &[u8],
    ) -> Value {
        let data = base64::engine::general_purpose::STANDARD.encode(bytes);
        let sent = self
            .app
            .send_message(&json!({"dialog_id": dialog_id, "operator_id": ADMIN,
            "text": text, "attachments": [{"data_base64": data, "name": name, "mime": mime}]}));
        sent.expect("send_message stores the message")["message"].clone()
    }

    /// The bytes behind a media link we gave Viber, fetched the way media.php does.
    fn open_media_link(&self, url: &str) -> Result<Vec<u8>, crmchats::error::Error> {
        let (_, query) = url.split_once('?').expect("a query");
        let q: Map<String, Value> = parse_urlencoded(query)
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        let number = |k: &str| q[k].as_str().unwrap().parse::<i64>().unwrap();
        let opened = self.call(
            "media.open",
            json!({"channel_id": number("channel"), "attachment_id": number("id"),
                   "expires": number("expires"), "signature": q["signature"]}),
        )?;
        Ok(std::fs::read(opened["attachment"]["path"].as_str().unwrap()).unwrap())
    }
}

/// A Viber fixture: (body bytes exactly as stored, headers).
fn fixture(name: &str) -> (Vec<u8>, Value) {
    let dir = repo_path("tests/fixtures/viber/inbound");
    let body = std::fs::read(dir.join(format!("{name}.json"))).unwrap();
    let headers = std::fs::read_to_string(dir.join(format!("{name}.headers.json"))).unwrap();
    (body, serde_json::from_str(&headers).unwrap())
}

fn api_fixture(name: &str) -> String {
    let text = std::fs::read_to_string(repo_path(&format!("tests/fixtures/viber/api/{name}.json")))
        .unwrap();
    serde_json::from_str::<Value>(&text).unwrap().to_string()
}

/// A fixture whose Viber CDN links are replaced by files the fake serves, signed again by the
/// fake (the real links are invented and must not be fetched from tests).
fn fixture_served_by_fake(viber: &FakeViber, name: &str, files: &[(&str, &[u8])]) -> Value {
    let (body, _) = fixture(name);
    let mut text = String::from_utf8(body).unwrap();
    for (cdn_url, bytes) in files {
        let served = viber.add_media("media.jpg", "image/jpeg", bytes.to_vec());
        text = text.replace(cdn_url, &served);
    }
    serde_json::from_str(&text).unwrap()
}

fn olena() -> ViberUser {
    ViberUser::new(OLENA, "Олена Коваль")
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

// --- channels ---------------------------------------------------------------------------------

#[test]
fn creating_a_channel_checks_the_token_and_registers_the_webhook_which_viber_checks_at_once() {
    let h = ViberHarness::new();
    let created = h
        .call(
            "channels.create",
            json!({"type": "viber", "name": "Viber shop", "token": FIXTURE_TOKEN}),
        )
        .unwrap();
    let channel = &created["channel"];
    assert_eq!(channel["external_id"], "pa:5732904418751234567");
    assert_eq!(channel["bot_name"], "Північний вітер");
    assert_eq!(channel["webhook"]["state"], "registered", "{channel}");
    let id = channel["id"].as_i64().unwrap();

    // The fake posted the signed `webhook` check to our URL before answering: it got 200.
    let hook = h.viber.webhook().expect("set_webhook succeeded");
    assert_eq!(
        hook.url,
        format!("{PUBLIC_BASE_URL}/webhook.php?channel={id}")
    );
    assert_eq!(
        hook.event_types,
        [
            "delivered",
            "seen",
            "failed",
            "subscribed",
            "unsubscribed",
            "conversation_started"
        ]
    );
    assert!(
        hook.send_name && hook.send_photo,
        "names and photos come with callbacks"
    );
    assert_eq!(
        h.db.count("messages") + h.db.count("visitors"),
        0,
        "the check stores nothing"
    );
    assert!(
        !created.to_string().contains(FIXTURE_TOKEN),
        "the token is never returned in full"
    );

    let health = h
        .call("channels.health", json!({"channel_id": id}))
        .unwrap();
    assert_eq!(
        health["messenger"]["webhook"]["registered"], true,
        "{health}"
    );
    assert_eq!(health["reregistered"], false);
}

#[test]
fn a_new_token_is_registered_although_viber_signs_its_check_with_it_before_it_is_saved() {
    let h = ViberHarness::new();
    let id = h.channel();
    let new_token = "5b2d0a1f3c8e4b66-8d2f0c3a5e7b9f12-4c6e8a0b2d3f5a71";
    h.viber.rotate_token(new_token);
    // Until the admin pastes it, callbacks signed with the new token are refused...
    let event = h.viber.text_event(&olena(), "Привіт");
    assert_eq!(h.post(&event).0, 403);
    // ...and saving it works: Viber's check callback (signed with the new token, while the old
    // one is still stored) is answered 200, so set_webhook succeeds.
    let updated = h
        .call(
            "channels.update",
            json!({"channel_id": id, "token": new_token}),
        )
        .unwrap();
    assert_eq!(updated["channel"]["webhook"]["state"], "registered");
    assert_eq!(h.post(&event).0, 200);
    assert_eq!(h.db.count("messages"), 1);
}

#[test]
fn check_returns_the_account_and_a_wrong_token_is_provider_unauthorized() {
    let h = ViberHarness::new();
    let info = h
        .call(
            "channels.check",
            json!({"type": "viber", "token": FIXTURE_TOKEN}),
        )
        .unwrap();
    assert_eq!(info["bot_id"], "pa:5732904418751234567");
    assert_eq!(info["bot_name"], "Північний вітер");
    assert_eq!(info["username"], "pivnichnyvitershop");
    assert!(info["avatar_url"].as_str().unwrap().starts_with("https://"));

    let err = h
        .call(
            "channels.check",
            json!({"type": "viber", "token": "0000000000000000-0000000000000000-0000000000000000"}),
        )
        .unwrap_err();
    assert_eq!(err.code(), "provider_unauthorized");
    assert!(err.to_string().contains("invalidAuthToken"), "{err}");
    assert_eq!(h.db.count("channels"), 0);
}

#[test]
fn the_webhook_check_is_answered_200_whatever_its_signature_and_stores_nothing() {
    // Viber signs the check with the token being registered, which channels.update saves only
    // after set_webhook succeeded; the check stores nothing, so it needs no signature.
    let h = ViberHarness::new();
    let id = h.channel();
    let (body, _) = fixture("webhook_verification");
    let forged = json!({"X-Viber-Content-Signature": "00".repeat(32)});
    assert_eq!(post_webhook(&h.app, id, forged, json!({}), &body).0, 200);
    assert_eq!(h.post_fixture(id, "webhook_verification").0, 200);
    assert_eq!(
        h.db.count("messages") + h.db.count("visitors") + h.db.count("deliveries"),
        0
    );
}

#[test]
fn deleting_the_channel_removes_the_webhook_at_viber() {
    let h = ViberHarness::new();
    let id = h.channel();
    let deleted = h
        .call("channels.delete", json!({"channel_id": id}))
        .unwrap();
    assert_eq!(deleted["channel"]["active"], false);
    assert_eq!(h.viber.webhook(), None, "set_webhook with an empty URL");
    let last = h.viber.calls("set_webhook").pop().unwrap();
    assert_eq!(last.json().unwrap()["url"], "");
}

// --- inbound ----------------------------------------------------------------------------------

#[test]
fn a_text_is_stored_once_with_the_name_and_avatar_the_callback_carries() {
    let h = ViberHarness::new();
    h.channel();
    let avatar_bytes = b"\xff\xd8\xff\xe0 avatar".to_vec();
    let avatar = h
        .viber
        .add_media("avatar.jpg", "image/jpeg", avatar_bytes.clone());
    let user = olena().with_avatar(&avatar);
    let event = h
        .viber
        .text_event(&user, "Добрий день! Чи є у вас доставка до Львова? 🙂");
    assert_eq!(h.post(&event), (200, "ok".to_string()));
    assert_eq!(h.post(&event).0, 200, "a redelivery is answered 200");
    assert_eq!(h.db.count("messages"), 1, "and stored once");

    let dialog = h.only_dialog();
    assert_eq!(dialog["channel"]["type"], "viber");
    assert_eq!(dialog["visitor"]["name"], "Олена Коваль");
    assert_eq!(dialog["unread"], 1);
    let messages = list_messages(&h.app, dialog["id"].as_i64().unwrap());
    assert_eq!(
        messages[0]["text"],
        "Добрий день! Чи є у вас доставка до Львова? 🙂"
    );
    assert_eq!(
        messages[0]["external_id"],
        event["message_token"].as_u64().unwrap().to_string()
    );
    assert_eq!(messages[0]["direction"], "in");

    // The picture came from the callback's link; Viber was not asked (2 lookups per 12 h).
    assert!(dialog["visitor"]["avatar_url"].is_string(), "{dialog}");
    assert!(h.viber.calls("get_user_details").is_empty());
    let sha: String = h
        .db
        .conn()
        .query_first("SELECT a.sha256 FROM app_crmchats_attachments a JOIN app_crmchats_visitors v ON v.avatar_attachment_id = a.id")
        .unwrap()
        .unwrap();
    assert_eq!(sha, sha256_hex(&avatar_bytes));
}

#[test]
fn the_fixture_picture_is_downloaded_byte_exact_with_its_caption() {
    let h = ViberHarness::new();
    h.channel();
    let photo = b"\xff\xd8\xff\xe1 the shared fixture's picture".to_vec();
    let event = fixture_served_by_fake(
        &h.viber,
        "message_picture",
        &[
            ("https://dl-media.viber.com/1/share/2/long/vibes/icon/image/0x0/7c1e/9b2f4d6a8e013b5d7f9a1c2e4f6047c1e9b2f4d6a8e013b5d7f9a1c2e4f60.jpg", &photo),
            ("https://media-direct.cdn.viber.com/download_photo?dlid=0Kf2x9YtPzWq3B7Lm1NcR8vJhD4sGaE6uTyI5oXbVnM&fltp=jpg&imsz=0000", b"avatar"),
        ],
    );
    assert_eq!(h.post(&event).0, 200);
    let dialog = h.only_dialog();
    let messages = list_messages(&h.app, dialog["id"].as_i64().unwrap());
    assert_eq!(messages[0]["text"], "Ось фото товару");
    assert_eq!(
        messages[0]["external_id"], "5913847330012345678",
        "the token, exactly"
    );
    let attachment = &messages[0]["attachments"][0];
    assert_eq!(attachment["name"], "IMG_20241125_134512.jpg");
    assert_eq!(attachment["mime"], "image/jpeg");
    assert_eq!(attachment["size"], photo.len());
    assert!(attachment["error"].is_null(), "{attachment}");
    let opened = h
        .call(
            "attachments.get",
            json!({"attachment_id": attachment["id"], "operator_id": ADMIN}),
        )
        .unwrap();
    let stored = std::fs::read(opened["attachment"]["path"].as_str().unwrap()).unwrap();
    assert_eq!(stored, photo);
}

#[test]
fn files_videos_contacts_locations_and_stickers_are_kept() {
    let h = ViberHarness::new();
    h.channel();
    let user = olena();
    let pdf = b"%PDF-1.4 invoice".to_vec();
    assert_eq!(
        h.post(
            &h.viber
                .file_event(&user, "Рахунок №5.pdf", "application/pdf", pdf.clone())
        )
        .0,
        200
    );
    let video = h
        .viber
        .add_media("clip.mp4", "video/mp4", b"mp4 bytes".to_vec());
    let events = [
        h.viber.message_event(&user, json!({"type": "video", "media": video, "size": 9, "duration": 2})),
        h.viber.message_event(&user, json!({"type": "contact", "contact": {"name": "Іван", "phone_number": "+380501234567"}})),
        h.viber.message_event(&user, json!({"type": "location", "location": {"lat": 49.8397, "lon": 24.0297}})),
        h.viber.message_event(&user, json!({"type": "sticker", "sticker_id": 40129,
            "media": h.viber.add_media("sticker.png", "image/png", b"png".to_vec())})),
    ];
    for event in &events {
        assert_eq!(h.post(event).0, 200);
    }
    let dialog = h.only_dialog();
    let messages = list_messages(&h.app, dialog["id"].as_i64().unwrap());
    assert_eq!(messages.len(), 5);
    assert_eq!(messages[0]["attachments"][0]["name"], "Рахунок №5.pdf");
    assert_eq!(messages[0]["attachments"][0]["mime"], "application/pdf");
    assert_eq!(messages[0]["attachments"][0]["size"], pdf.len());
    assert_eq!(messages[1]["attachments"][0]["mime"], "video/mp4");
    assert_eq!(messages[2]["text"], "☎ Іван +380501234567");
    assert!(messages[3]["text"]
        .as_str()
        .unwrap()
        .starts_with("📍 49.839700, 24.029700"));
    assert_eq!(messages[4]["attachments"][0]["name"], "sticker_40129.png");
    assert!(messages.iter().all(|m| m["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["error"].is_null())));
}

#[test]
fn forged_or_missing_signatures_are_refused_and_nothing_is_stored() {
    let h = ViberHarness::new();
    let id = h.channel();
    let (mut body, headers) = fixture("message_text");
    let last = body.len() - 2;
    body[last] ^= 1; // one byte changed, the fixture's signature kept
    assert_eq!(post_webhook(&h.app, id, headers, json!({}), &body).0, 403);
    let (body, _) = fixture("message_text");
    assert_eq!(
        post_webhook(
            &h.app,
            id,
            json!({"Content-Type": "application/json"}),
            json!({}),
            &body
        )
        .0,
        401
    );
    let wrong_key =
        json!({"X-Viber-Content-Signature": crmchats_fakes::viber::sign("another-token", &body)});
    assert_eq!(post_webhook(&h.app, id, wrong_key, json!({}), &body).0, 403);
    assert_eq!(h.db.count("messages") + h.db.count("visitors"), 0);
}

#[test]
fn conversation_started_makes_a_known_visitor_without_a_dialog_and_unsubscribing_blocks() {
    let h = ViberHarness::new();
    h.channel();
    let event = fixture_served_by_fake(
        &h.viber,
        "conversation_started",
        &[("https://media-direct.cdn.viber.com/download_photo?dlid=0Kf2x9YtPzWq3B7Lm1NcR8vJhD4sGaE6uTyI5oXbVnM&fltp=jpg&imsz=0000", b"avatar")],
    );
    assert_eq!(h.post(&event).0, 200);
    assert_eq!(h.post(&event).0, 200, "a redelivery");
    assert_eq!(h.db.count("visitors"), 1);
    assert_eq!(
        h.db.count("dialogs") + h.db.count("messages"),
        0,
        "opening the chat is not a message"
    );
    assert_eq!(h.events("conversation_started"), 1, "recorded once");

    assert_eq!(h.post(&h.viber.unsubscribed_event(OLENA)).0, 200);
    assert!(h.visitor_blocked(OLENA));
    assert_eq!(h.events("visitor_blocked"), 1);
    let subscribed = fixture_served_by_fake(
        &h.viber,
        "subscribed",
        &[("https://media-direct.cdn.viber.com/download_photo?dlid=0Kf2x9YtPzWq3B7Lm1NcR8vJhD4sGaE6uTyI5oXbVnM&fltp=jpg&imsz=0000", b"avatar")],
    );
    assert_eq!(h.post(&subscribed).0, 200);
    assert!(
        !h.visitor_blocked(OLENA),
        "subscribing again allows writing"
    );
}

// --- replies ----------------------------------------------------------------------------------

#[test]
fn a_reply_is_sent_under_the_bots_name_and_receipts_move_it_to_delivered_then_read() {
    let h = ViberHarness::new();
    let id = h.channel();
    h.post(&h.viber.text_event(&olena(), "Привіт"));
    let dialog_id = h.only_dialog()["id"].as_i64().unwrap();

    let reply = send_text(&h.app, dialog_id, "Так, доставляємо по всій Україні.");
    assert_eq!(reply["status"], "sent", "{reply}");
    // The fixtures' receipts are about the first token the fake hands out.
    assert_eq!(reply["external_id"], "5913847366655544433");
    let sent = h.viber.sent_messages(OLENA);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].kind(), "text");
    assert_eq!(
        sent[0].field("text"),
        Some("Так, доставляємо по всій Україні.")
    );
    assert_eq!(sent[0].body["sender"]["name"], "Північний вітер");

    let status = || list_messages(&h.app, dialog_id)[1]["status"].clone();
    assert_eq!(h.post_fixture(id, "delivered").0, 200);
    assert_eq!(status(), "delivered");
    assert_eq!(h.post_fixture(id, "delivered").0, 200, "one per device");
    assert_eq!(h.post_fixture(id, "seen").0, 200);
    assert_eq!(status(), "read");
    assert_eq!(h.post_fixture(id, "delivered").0, 200, "late");
    assert_eq!(status(), "read", "receipts only move forward");
    assert_eq!(h.db.count("deliveries"), 0, "receipts need no dedupe rows");
}

#[test]
fn a_failed_callback_marks_the_reply_failed_with_vibers_words() {
    let h = ViberHarness::new();
    h.channel();
    h.post(&h.viber.text_event(&olena(), "Привіт"));
    let dialog_id = h.only_dialog()["id"].as_i64().unwrap();
    let reply = send_text(&h.app, dialog_id, "Відповідь");
    let token: u64 = reply["external_id"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        h.post(
            &h.viber
                .failed_event(token, OLENA, "message validation failed")
        )
        .0,
        200
    );
    let message = &list_messages(&h.app, dialog_id)[1];
    assert_eq!(message["status"], "failed");
    assert_eq!(message["error"]["message"], "message validation failed");
}

#[test]
fn long_texts_go_out_in_parts_of_7000_characters() {
    let h = ViberHarness::new();
    h.channel();
    h.post(&h.viber.text_event(&olena(), "Привіт"));
    let dialog_id = h.only_dialog()["id"].as_i64().unwrap();
    let text = "ї".repeat(7000 + 10);
    assert_eq!(send_text(&h.app, dialog_id, &text)["status"], "sent");
    let sent = h.viber.sent_messages(OLENA);
    let lengths: Vec<usize> = sent
        .iter()
        .map(|m| m.field("text").unwrap().chars().count())
        .collect();
    assert_eq!(lengths, [7000, 10]);
}

#[test]
fn vibers_error_statuses_are_stored_with_stable_codes() {
    let h = ViberHarness::new();
    h.channel();
    h.post(&h.viber.text_event(&olena(), "Привіт"));
    let dialog_id = h.only_dialog()["id"].as_i64().unwrap();

    h.viber
        .fail_next("send_message", &api_fixture("error_12_too_many_requests"));
    let limited = send_text(&h.app, dialog_id, "1");
    assert_eq!(
        (
            limited["status"].as_str(),
            limited["error"]["code"].as_str()
        ),
        (Some("queued"), Some("rate_limited")),
        "a temporary failure waits in the outbox"
    );
    assert_eq!(
        flush_outbox(&h.app)["outbox"]["sent"],
        1,
        "and goes once Viber lets it"
    );

    h.viber
        .fail_next("send_message", &api_fixture("error_2_invalid_auth_token"));
    assert_eq!(
        send_text(&h.app, dialog_id, "2")["error"]["code"],
        "provider_unauthorized"
    );

    h.viber.fail_next(
        "send_message",
        r#"{"status":3,"status_message":"badData","chat_hostname":"SN-CHAT-01_"}"#,
    );
    assert_eq!(
        send_text(&h.app, dialog_id, "3")["error"]["code"],
        "provider_rejected"
    );

    assert!(!h.visitor_blocked(OLENA));
    h.viber
        .fail_next("send_message", &api_fixture("error_6_not_subscribed"));
    let blocked = send_text(&h.app, dialog_id, "4");
    assert_eq!(blocked["error"]["code"], "visitor_blocked");
    assert!(blocked["error"]["message"]
        .as_str()
        .unwrap()
        .contains("notSubscribed"));
    assert!(
        h.visitor_blocked(OLENA),
        "a visitor who unsubscribed is marked blocked"
    );
    assert_eq!(
        h.viber.sent_messages(OLENA).len(),
        1,
        "only the rate-limited reply, on its retry"
    );
}

#[test]
fn pictures_and_files_go_by_a_signed_link_that_serves_our_copy() {
    let h = ViberHarness::new();
    h.channel();
    h.post(&h.viber.text_event(&olena(), "Привіт"));
    let dialog_id = h.only_dialog()["id"].as_i64().unwrap();

    let photo = b"\xff\xd8\xff\xe0 small photo".to_vec();
    let sent = h.send_with_file(
        dialog_id,
        "Ось наш каталог",
        "каталог.jpg",
        "image/jpeg",
        &photo,
    );
    assert_eq!(sent["status"], "sent", "{sent}");
    let pdf = b"%PDF-1.7 price list".to_vec();
    let sent = h.send_with_file(dialog_id, "Прайс у файлі", "Прайс", "application/pdf", &pdf);
    assert_eq!(sent["status"], "sent", "{sent}");

    let out = h.viber.sent_messages(OLENA);
    let kinds: Vec<&str> = out.iter().map(|m| m.kind()).collect();
    // The picture carries its caption; a file cannot, so the text follows it.
    assert_eq!(kinds, ["picture", "file", "text"]);
    assert_eq!(out[0].field("text"), Some("Ось наш каталог"));
    let picture_url = out[0].field("media").unwrap();
    assert!(
        picture_url.starts_with(&format!("{PUBLIC_BASE_URL}/media.php/")),
        "{picture_url}"
    );
    assert!(
        picture_url.split('?').next().unwrap().ends_with(".jpg"),
        "Viber wants the extension last: {picture_url}"
    );
    assert_eq!(h.open_media_link(picture_url).unwrap(), photo);

    assert_eq!(
        out[1].field("file_name"),
        Some("Прайс.pdf"),
        "a file name needs its extension"
    );
    assert_eq!(out[1].body["size"], pdf.len());
    assert_eq!(
        h.open_media_link(out[1].field("media").unwrap()).unwrap(),
        pdf
    );
    assert_eq!(out[2].field("text"), Some("Прайс у файлі"));

    // Viber judges by the link's extension: a JPEG named .jfif goes as a file, not a picture.
    let jfif = h.send_with_file(dialog_id, "", "scan.jfif", "image/jpeg", b"jfif bytes");
    assert_eq!(jfif["status"], "sent", "{jfif}");
    let last = h.viber.sent_messages(OLENA).pop().unwrap();
    assert_eq!(
        (last.kind(), last.field("file_name")),
        ("file", Some("scan.jfif"))
    );

    // A link that was tampered with opens nothing.
    let forged = picture_url.replace("signature=", "signature=0");
    assert_eq!(h.open_media_link(&forged).unwrap_err().code(), "forbidden");
}

#[test]
fn without_public_base_url_files_are_refused_clearly_and_texts_still_go() {
    let h = ViberHarness::with_public_base_url("");
    let created = h
        .call(
            "channels.create",
            json!({"type": "viber", "name": "Viber", "token": FIXTURE_TOKEN}),
        )
        .unwrap();
    assert_eq!(created["channel"]["webhook"]["state"], "failed");
    let id = created["channel"]["id"].as_i64().unwrap();
    let event = h.viber.text_event(&olena(), "Привіт");
    let body = event.to_string();
    let headers = json!({"X-Viber-Content-Signature": h.viber.sign(body.as_bytes())});
    assert_eq!(
        post_webhook(&h.app, id, headers, json!({}), body.as_bytes()).0,
        200
    );
    let dialog_id = h.only_dialog()["id"].as_i64().unwrap();

    let sent = h.send_with_file(dialog_id, "", "photo.jpg", "image/jpeg", b"jpeg");
    assert_eq!(sent["status"], "failed");
    assert_eq!(sent["error"]["code"], "unsupported");
    assert!(
        sent["error"]["message"]
            .as_str()
            .unwrap()
            .contains("public_base_url"),
        "{sent}"
    );
    assert_eq!(send_text(&h.app, dialog_id, "Текст іде")["status"], "sent");
}

#[test]
fn viber_messages_cannot_be_deleted_and_the_operator_is_told_so() {
    let h = ViberHarness::new();
    h.channel();
    h.post(&h.viber.text_event(&olena(), "Привіт"));
    let dialog_id = h.only_dialog()["id"].as_i64().unwrap();
    let reply = send_text(&h.app, dialog_id, "Ой");
    let err = h
        .call(
            "messages.delete",
            json!({"message_id": reply["id"], "operator_id": ADMIN}),
        )
        .unwrap_err();
    assert_eq!(err.code(), "unsupported");
    assert_eq!(list_messages(&h.app, dialog_id)[1]["status"], "sent");
}

#[test]
fn refreshing_a_profile_asks_viber_for_the_users_details() {
    let h = ViberHarness::new();
    h.channel();
    // A callback without a picture (the user's privacy settings): the name is kept.
    h.post(&h.viber.text_event(&olena(), "Привіт"));
    let visitor_id = h.only_dialog()["visitor"]["id"].as_i64().unwrap();
    let calls_before = h.viber.calls("get_user_details").len();
    let avatar = h
        .viber
        .add_media("a.jpg", "image/jpeg", b"new avatar".to_vec());
    // Viber now knows a picture of her (the fake learns it from a callback).
    h.post(&h.viber.text_event(&olena().with_avatar(&avatar), "ще раз"));
    let refreshed = h
        .call(
            "visitors.refresh_profile",
            json!({"visitor_id": visitor_id, "operator_id": ADMIN}),
        )
        .unwrap();
    assert_eq!(refreshed["visitor"]["name"], "Олена Коваль");
    assert!(
        refreshed["visitor"]["avatar_url"].is_string(),
        "{refreshed}"
    );
    assert_eq!(h.viber.calls("get_user_details").len(), calls_before + 1);
}
