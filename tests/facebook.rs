//! Facebook Messenger end to end through the Rust facade: real MariaDB, the fake Graph API on
//! 127.0.0.1, the shared fixtures' real payloads and signatures.

mod common;
mod meta;

use common::{flush_outbox, is_temporary, ADMIN};
use crmchats_fakes::graph::fixture::*;
use crmchats_fakes::graph::{
    attachment_message, messenger_webhook, text_message, user_message_event, Endpoint,
    MessengerUser, Product, StoredFile,
};
use meta::*;
use serde_json::{json, Value};

const PROVIDER: &str = "facebook";

fn settings() -> Value {
    json!({"page_id": FB_PAGE_ID, "app_id": FB_APP_ID, "app_secret": FB_APP_SECRET,
           "verify_token": FB_VERIFY_TOKEN})
}

fn channel(h: &MetaHarness) -> i64 {
    let created = h
        .call(
            "channels.create",
            json!({"type": "facebook", "name": "Page", "token": FB_PAGE_TOKEN, "settings": settings()}),
        )
        .expect("channels.create");
    created["channel"]["id"].as_i64().unwrap()
}

fn post_fixture(h: &MetaHarness, channel_id: i64, name: &str) -> (u16, String) {
    let (body, headers) = fixture(PROVIDER, name);
    h.post(channel_id, headers, &body)
}

/// A text from the fixtures' visitor written now (the fixtures date from 2024, outside the
/// 24-hour window), signed as Meta signs it.
fn fresh_text(h: &MetaHarness, channel_id: i64, text: &str) -> String {
    let message = text_message(text);
    let mid = message["mid"].as_str().unwrap().to_string();
    let payload = messenger_webhook(
        FB_PAGE_ID,
        vec![user_message_event(FB_PAGE_ID, FB_PSID, message)],
    );
    assert_eq!(h.post_payload(channel_id, FB_APP_SECRET, &payload).0, 200);
    mid
}

fn dialog_id(h: &MetaHarness) -> i64 {
    h.only_dialog()["id"].as_i64().unwrap()
}

// --- channels -------------------------------------------------------------------------------

#[test]
fn check_reports_the_page_id_name_and_picture_and_refuses_a_bad_token() {
    let h = MetaHarness::new();
    let info = h
        .call(
            "channels.check",
            json!({"type": "facebook", "token": FB_PAGE_TOKEN, "settings": settings()}),
        )
        .unwrap();
    assert_eq!(info["bot_id"], FB_PAGE_ID);
    assert_eq!(info["bot_name"], "Северный ветер");
    assert!(info["avatar_url"]
        .as_str()
        .unwrap()
        .starts_with(&h.graph.base_url()));
    assert!(info["details"]["webhook_setup"]
        .as_str()
        .unwrap()
        .contains("dashboard"));
    let asked = &h.graph.calls(Endpoint::PageInfo)[0];
    assert_eq!(asked.path, "/v21.0/me");
    assert_eq!(
        asked.header("authorization"),
        Some(format!("Bearer {FB_PAGE_TOKEN}").as_str())
    );

    let err = h
        .call(
            "channels.check",
            json!({"type": "facebook", "token": "EAAwrong", "settings": settings()}),
        )
        .unwrap_err();
    assert_eq!(err.code(), "provider_unauthorized");
    assert_eq!(h.db.count("channels"), 0, "check stores nothing");

    // The token of another page (or a user token) is named as such.
    let mut other_page = settings();
    other_page["page_id"] = json!("111222333444555");
    let err = h
        .call(
            "channels.check",
            json!({"type": "facebook", "token": FB_PAGE_TOKEN, "settings": other_page}),
        )
        .unwrap_err();
    assert_eq!(err.code(), "provider_rejected");
    assert!(err.to_string().contains(FB_PAGE_ID), "{err}");
}

#[test]
fn a_form_without_the_app_secret_is_refused_naming_the_field() {
    let h = MetaHarness::new();
    let err = h
        .call(
            "channels.create",
            json!({"type": "facebook", "name": "Page", "token": FB_PAGE_TOKEN,
                   "settings": {"page_id": FB_PAGE_ID, "app_id": FB_APP_ID}}),
        )
        .unwrap_err();
    assert!(err.to_string().contains("settings.app_secret"), "{err}");
    assert!(h.graph.requests().is_empty(), "refused before calling Meta");
}

#[test]
fn creating_subscribes_the_page_shows_what_to_paste_and_deleting_unsubscribes() {
    let h = MetaHarness::new();
    let created = h
        .call(
            "channels.create",
            json!({"type": "facebook", "name": "Page", "token": FB_PAGE_TOKEN,
                   "settings": {"page_id": FB_PAGE_ID, "app_id": FB_APP_ID, "app_secret": FB_APP_SECRET}}),
        )
        .unwrap();
    let channel = &created["channel"];
    let id = channel["id"].as_i64().unwrap();
    assert_eq!(channel["external_id"], FB_PAGE_ID);
    assert_eq!(channel["bot_name"], "Северный ветер");
    assert_eq!(channel["webhook"]["state"], "registered");
    assert_eq!(
        h.graph.subscription(Product::Messenger).subscribed_fields,
        Some(
            [
                "messages",
                "messaging_postbacks",
                "message_deliveries",
                "message_reads",
                "message_echoes"
            ]
            .map(String::from)
            .to_vec()
        )
    );
    // The verify token we generated and the callback URL are shown in clear to be copied.
    let verify_token = channel["settings"]["verify_token"].as_str().unwrap();
    assert!(verify_token.len() >= 16, "{verify_token}");
    let callback = channel["settings"]["callback_url"].as_str().unwrap();
    assert!(
        callback.starts_with("https://crm.example.test/plugins/crmchats/webhook.php"),
        "{callback}"
    );
    assert!(
        !created.to_string().contains(FB_APP_SECRET)
            && !created.to_string().contains(FB_PAGE_TOKEN),
        "secrets stay masked: {created}"
    );
    // Meta's verification GET with that token gets its challenge back.
    let (status, body) = h.get(
        id,
        json!({"hub.mode": "subscribe", "hub.verify_token": verify_token, "hub.challenge": "42"}),
    );
    assert_eq!((status, body.as_str()), (200, "42"));

    let health = h
        .call("channels.health", json!({"channel_id": id}))
        .unwrap();
    assert_eq!(health["messenger"]["webhook"]["registered"], true);
    assert!(health["messenger"]["webhook"]["note"]
        .as_str()
        .unwrap()
        .contains("dashboard"));
    assert_eq!(health["reregistered"], false);

    h.call("channels.delete", json!({"channel_id": id}))
        .unwrap();
    assert_eq!(
        h.graph.calls(Endpoint::PageSubscribedApps).len(),
        3,
        "POST, GET, DELETE"
    );
    assert_eq!(
        h.graph.subscription(Product::Messenger).subscribed_fields,
        None
    );
}

#[test]
fn a_page_that_lost_its_subscription_is_subscribed_again_by_health() {
    let h = MetaHarness::new();
    let id = channel(&h);
    // Someone removed the app from the page in its settings.
    let url = format!(
        "{}/v21.0/{FB_PAGE_ID}/subscribed_apps?access_token={FB_PAGE_TOKEN}",
        h.graph.base_url()
    );
    ureq::delete(&url).call().unwrap();
    let health = h
        .call("channels.health", json!({"channel_id": id}))
        .unwrap();
    assert_eq!(health["messenger"]["webhook"]["registered"], false);
    assert_eq!(health["reregistered"], true);
    assert!(h
        .graph
        .subscription(Product::Messenger)
        .subscribed_fields
        .is_some());
}

// --- inbound --------------------------------------------------------------------------------

#[test]
fn verification_fixtures_get_the_challenge_or_403_and_store_nothing() {
    let h = MetaHarness::new();
    let id = channel(&h);
    let (query, expected) = verification(PROVIDER, "verify_subscribe_ok");
    let (status, body) = h.get(id, query);
    assert_eq!(status, 200);
    assert_eq!(body, expected["body"].as_str().unwrap());
    let (query, expected) = verification(PROVIDER, "verify_wrong_token");
    let (status, body) = h.get(id, query);
    assert_eq!(status, expected["status"].as_u64().unwrap() as u16);
    assert!(!body.contains(expected["body_must_not_contain"].as_str().unwrap()));
    assert_eq!(h.db.count("messages"), 0);
}

#[test]
fn a_signed_text_is_stored_once_and_forged_or_unsigned_bodies_are_refused() {
    let h = MetaHarness::new();
    let id = channel(&h);
    let (body, headers) = fixture(PROVIDER, "message_text");

    // Re-serialising the JSON (unescaped UTF-8, plain slashes) breaks Meta's signature.
    let reserialised = serde_json::from_slice::<Value>(&body).unwrap().to_string();
    assert_eq!(h.post(id, headers.clone(), reserialised.as_bytes()).0, 403);
    let mut forged = headers.clone();
    forged["X-Hub-Signature-256"] = json!(crmchats_fakes::graph::signature_256("guess", &body));
    assert_eq!(h.post(id, forged, &body).0, 403);
    assert_eq!(
        h.post(id, json!({"Content-Type": "application/json"}), &body)
            .0,
        401
    );
    assert_eq!(h.db.count("messages"), 0);
    assert_eq!(h.db.count("visitors"), 0);

    assert_eq!(h.post(id, headers.clone(), &body).0, 200);
    assert_eq!(h.post(id, headers, &body).0, 200, "Meta's retry");
    assert_eq!(h.db.count("messages"), 1);
    let dialog = h.only_dialog();
    assert_eq!(dialog["channel"]["type"], "facebook");
    assert_eq!(dialog["unread"], 1);
    let messages = h.messages(dialog["id"].as_i64().unwrap());
    assert_eq!(
        messages[0]["text"],
        "Здравствуйте! Сколько стоит доставка в Казань? 🚚"
    );
    assert_eq!(messages[0]["direction"], "in");
    assert!(messages[0]["external_id"]
        .as_str()
        .unwrap()
        .starts_with("m_Tz3kQ9v2"));
    assert_eq!(messages[0]["created_at"], "2024-11-25T13:45:11.512Z");
}

#[test]
fn name_and_picture_come_from_the_user_profile_api() {
    let h = MetaHarness::new();
    let avatar = b"\xff\xd8\xff profile picture".to_vec();
    h.graph.add_messenger_user(
        MessengerUser::new(FB_PSID, "Анна", "Волкова"),
        Some(StoredFile {
            name: None,
            mime: "image/jpeg".into(),
            bytes: avatar.clone(),
        }),
    );
    let id = channel(&h);
    assert_eq!(post_fixture(&h, id, "message_text").0, 200);
    let dialog = h.only_dialog();
    assert_eq!(dialog["visitor"]["name"], "Анна Волкова");
    let url = dialog["visitor"]["avatar_url"]
        .as_str()
        .expect("avatar loaded");
    let attachment_id: i64 = url.rsplit('=').next().unwrap().parse().unwrap();
    assert_eq!(h.attachment_bytes(&json!(attachment_id)), avatar);
    let asked = &h.graph.calls(Endpoint::UserProfile)[0];
    assert!(
        asked
            .query
            .contains("fields=first_name%2Clast_name%2Cprofile_pic")
            || asked
                .query
                .contains("fields=first_name,last_name,profile_pic"),
        "{}",
        asked.query
    );
}

#[test]
fn an_image_is_downloaded_from_its_payload_url() {
    let h = MetaHarness::new();
    let id = channel(&h);
    let jpeg: Vec<u8> = (0..40_000u32).map(|i| (i * 13 % 251) as u8).collect();
    let url = h
        .graph
        .add_cdn_file("467811234_n.jpg", "image/jpeg", jpeg.clone());
    // The fixture, with its CDN URL pointed at the fake and signed again.
    let (body, _) = fixture(PROVIDER, "message_image");
    let mut payload: Value = serde_json::from_slice(&body).unwrap();
    payload["entry"][0]["messaging"][0]["message"]["attachments"][0]["payload"]["url"] = json!(url);
    assert_eq!(h.post_payload(id, FB_APP_SECRET, &payload).0, 200);

    let message = &h.messages(dialog_id(&h))[0];
    let attachment = &message["attachments"][0];
    assert_eq!(attachment["name"], "467811234_n.jpg");
    assert_eq!(attachment["mime"], "image/jpeg");
    assert_eq!(attachment["size"], 40_000);
    assert_eq!(h.attachment_bytes(&attachment["id"]), jpeg);
    assert!(
        h.graph.calls(Endpoint::MessengerCdn)[0]
            .header("authorization")
            .is_none(),
        "the signed CDN URL gets no token"
    );
}

#[test]
fn an_image_whose_cdn_url_has_expired_keeps_the_message_with_the_error() {
    let h = MetaHarness::new();
    let id = channel(&h);
    let url = format!("{}/cdn/expired/x.jpg?oe=1", h.graph.base_url());
    let payload = messenger_webhook(
        FB_PAGE_ID,
        vec![user_message_event(
            FB_PAGE_ID,
            FB_PSID,
            attachment_message("image", &url),
        )],
    );
    assert_eq!(h.post_payload(id, FB_APP_SECRET, &payload).0, 200);
    let attachment = &h.messages(dialog_id(&h))[0]["attachments"][0];
    assert_eq!(
        attachment["error"]["code"], "provider_rejected",
        "{attachment}"
    );
}

#[test]
fn batched_entries_are_all_stored() {
    let h = MetaHarness::new();
    let id = channel(&h);
    let payload = json!({"object": "page", "entry": [
        {"id": FB_PAGE_ID, "time": 1, "messaging": [
            user_message_event(FB_PAGE_ID, "1001", text_message("первое")),
            user_message_event(FB_PAGE_ID, "1002", text_message("второе")),
        ]},
        {"id": FB_PAGE_ID, "time": 2, "messaging": [
            user_message_event(FB_PAGE_ID, "1001", text_message("третье")),
        ]},
    ]});
    assert_eq!(h.post_payload(id, FB_APP_SECRET, &payload).0, 200);
    assert_eq!(h.db.count("messages"), 3);
    assert_eq!(h.db.count("visitors"), 2);
    assert_eq!(h.dialogs().len(), 2);
}

#[test]
fn a_postback_opens_a_dialog_with_the_button_title() {
    let h = MetaHarness::new();
    let id = channel(&h);
    assert_eq!(post_fixture(&h, id, "postback_get_started").0, 200);
    let dialog = h.only_dialog();
    let messages = h.messages(dialog["id"].as_i64().unwrap());
    assert_eq!(messages[0]["text"], "Начать");
    assert_eq!(messages[0]["direction"], "in");
    let visitor: Option<String> = h.scalar("SELECT external_id FROM app_crmchats_visitors");
    assert_eq!(visitor.as_deref(), Some("6698001122334455"));
}

#[test]
fn our_own_echo_is_not_stored_and_a_page_inbox_reply_is_stored_as_outgoing() {
    let h = MetaHarness::new();
    let id = channel(&h);
    assert_eq!(post_fixture(&h, id, "message_text").0, 200);
    assert_eq!(post_fixture(&h, id, "message_echo").0, 200);
    assert_eq!(h.db.count("messages"), 1, "our app's echo is skipped");

    // Typed by a person in the Page Inbox: another app id, no metadata of ours.
    let echo = json!({"sender": {"id": FB_PAGE_ID}, "recipient": {"id": FB_PSID}, "timestamp": 1732542460000_i64,
        "message": {"mid": "m_inbox_reply_1", "is_echo": true, "app_id": 263902037430900_i64, "text": "Ответили из Page Inbox"}});
    let payload = messenger_webhook(FB_PAGE_ID, vec![echo]);
    assert_eq!(h.post_payload(id, FB_APP_SECRET, &payload).0, 200);
    assert_eq!(
        h.post_payload(id, FB_APP_SECRET, &payload).0,
        200,
        "redelivery"
    );
    let dialog = h.only_dialog();
    let messages = h.messages(dialog["id"].as_i64().unwrap());
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[1]["text"], "Ответили из Page Inbox");
    assert_eq!(messages[1]["direction"], "out");
    assert_eq!(messages[1]["external_id"], "m_inbox_reply_1");
    assert_eq!(dialog["unread"], 1, "an echo is not a visitor message");
}

#[test]
fn delivery_marks_the_message_by_mid_and_read_by_watermark() {
    let h = MetaHarness::new();
    let id = channel(&h);
    fresh_text(&h, id, "Когда доставка?");
    // The Send API hands out the mid the delivery fixture reports.
    h.graph
        .fail_next(Endpoint::MessengerSend, 200, &json!({"recipient_id": FB_PSID,
            "message_id": "m_Ec1Ho2Ec3Ho4Ec5Ho6Ec7Ho8Ec9Ho0Ec1Ho2Ec3Ho4Ec5Ho6Ec7Ho8Ec9Ho0Ec1Ho2Ec3Ho4"}).to_string());
    let sent = h.send(dialog_id(&h), "Завтра").unwrap();
    assert_eq!(sent["status"], "sent");
    assert_eq!(post_fixture(&h, id, "delivery").0, 200);
    let status = |h: &MetaHarness| -> Option<String> {
        h.scalar("SELECT status FROM app_crmchats_messages WHERE direction = 'out'")
    };
    assert_eq!(status(&h).as_deref(), Some("delivered"));

    // The read fixture's watermark predates our reply: nothing changes.
    assert_eq!(post_fixture(&h, id, "read").0, 200);
    assert_eq!(status(&h).as_deref(), Some("delivered"));
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let read = json!({"sender": {"id": FB_PSID}, "recipient": {"id": FB_PAGE_ID}, "timestamp": now_ms,
        "read": {"watermark": now_ms + 1000}});
    assert_eq!(
        h.post_payload(
            id,
            FB_APP_SECRET,
            &messenger_webhook(FB_PAGE_ID, vec![read])
        )
        .0,
        200
    );
    assert_eq!(status(&h).as_deref(), Some("read"));
}

// --- outbound -------------------------------------------------------------------------------

#[test]
fn a_reply_goes_out_as_a_response_and_keeps_metas_mid() {
    let h = MetaHarness::new();
    let id = channel(&h);
    fresh_text(&h, id, "Здравствуйте");
    let message = h
        .send(dialog_id(&h), "Добрый день! Доставка — 390 ₽")
        .unwrap();
    assert_eq!(message["status"], "sent");
    let sent = h.graph.sent_to(Product::Messenger, FB_PSID);
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].text.as_deref(),
        Some("Добрый день! Доставка — 390 ₽")
    );
    assert_eq!(message["external_id"], sent[0].id);
    let call = &h.graph.calls(Endpoint::MessengerSend)[0];
    assert_eq!(call.path, format!("/v21.0/{FB_PAGE_ID}/messages"));
    let body = call.json().unwrap();
    assert_eq!(body["messaging_type"], "RESPONSE");
    assert_eq!(body["recipient"]["id"], FB_PSID);
    assert!(body["message"]["metadata"]
        .as_str()
        .unwrap()
        .starts_with("crmchats:"));

    // Meta's echo of that reply comes back and is not stored twice.
    let echo = crmchats_fakes::graph::echo_event(FB_PAGE_ID, FB_APP_ID, &sent[0]);
    assert_eq!(
        h.post_payload(
            id,
            FB_APP_SECRET,
            &messenger_webhook(FB_PAGE_ID, vec![echo])
        )
        .0,
        200
    );
    assert_eq!(h.db.count("messages"), 2);
}

#[test]
fn a_file_is_uploaded_as_filedata_and_its_caption_follows_as_text() {
    let h = MetaHarness::new();
    let id = channel(&h);
    fresh_text(&h, id, "Пришлите счёт");
    let pdf: Vec<u8> = b"%PDF-1.7\n"
        .iter()
        .copied()
        .chain((0..30_000u32).map(|i| (i % 256) as u8))
        .collect();
    use base64::Engine;
    let request = json!({"dialog_id": dialog_id(&h), "operator_id": ADMIN, "text": "Счёт во вложении",
        "attachments": [{"data_base64": base64::engine::general_purpose::STANDARD.encode(&pdf),
                         "name": "Счёт №7.pdf", "mime": "application/pdf"}]});
    let message = h.app.send_message(&request).unwrap()["message"].clone();
    assert_eq!(message["status"], "sent", "{message}");
    let sent = h.graph.sent_to(Product::Messenger, FB_PSID);
    let file = sent[0]
        .file
        .as_ref()
        .expect("the first send carries the file");
    assert_eq!(file.bytes, pdf);
    assert_eq!(file.name.as_deref(), Some("Счёт №7.pdf"));
    assert_eq!(sent[0].body["attachment"]["type"], "file");
    assert_eq!(sent[1].text.as_deref(), Some("Счёт во вложении"));
}

#[test]
fn outside_the_24_hour_window_the_reply_is_refused_before_calling_meta() {
    let h = MetaHarness::new();
    let id = channel(&h);
    assert_eq!(post_fixture(&h, id, "message_text").0, 200); // written in 2024
    let err = h.send(dialog_id(&h), "Ответ через год").unwrap_err();
    assert_eq!(err.code(), "window_closed");
    assert!(h.graph.calls(Endpoint::MessengerSend).is_empty());
}

#[test]
fn send_api_errors_are_stored_with_stable_codes() {
    let h = MetaHarness::new();
    let id = channel(&h);
    fresh_text(&h, id, "Здравствуйте");
    let cases = [
        ("error_10_outside_window", "window_closed"),
        ("error_190_invalid_token", "provider_unauthorized"),
        ("error_613_rate_limit", "rate_limited"),
    ];
    for (name, code) in cases {
        h.graph
            .fail_next(Endpoint::MessengerSend, 400, &api_fixture(PROVIDER, name));
        let message = h.send(dialog_id(&h), &format!("attempt {code}")).unwrap();
        // A temporary failure waits in the outbox (retried here); the others fail for good.
        let expected = if is_temporary(code) {
            "queued"
        } else {
            "failed"
        };
        assert_eq!(message["status"], expected, "{name}");
        assert_eq!(message["error"]["code"], code, "{name}");
        if is_temporary(code) {
            assert_eq!(flush_outbox(&h.app)["outbox"]["sent"], 1);
        }
    }
    h.graph.fail_next(
        Endpoint::MessengerSend,
        400,
        r#"{"error":{"message":"(#551) This person isn't available right now.","type":"OAuthException","code":551,"error_subcode":1545041,"fbtrace_id":"x"}}"#,
    );
    let message = h.send(dialog_id(&h), "blocked?").unwrap();
    assert_eq!(message["error"]["code"], "visitor_blocked");
    assert!(message["error"]["message"]
        .as_str()
        .unwrap()
        .contains("isn't available"));
}

#[test]
fn messenger_cannot_unsend_so_a_delete_is_refused_and_the_message_stays() {
    let h = MetaHarness::new();
    let id = channel(&h);
    fresh_text(&h, id, "Здравствуйте");
    let message = h.send(dialog_id(&h), "опечатка").unwrap();
    let err = h
        .call(
            "messages.delete",
            json!({"message_id": message["id"], "operator_id": ADMIN}),
        )
        .unwrap_err();
    assert_eq!(err.code(), "unsupported");
    assert_eq!(h.messages(dialog_id(&h))[1]["status"], "sent");
}

#[test]
fn a_text_over_2000_characters_goes_out_in_parts_and_keeps_the_first_mid() {
    let h = MetaHarness::new();
    let id = channel(&h);
    fresh_text(&h, id, "Расскажите подробно");
    let text = "ж".repeat(2500);
    let message = h.send(dialog_id(&h), &text).unwrap();
    let sent = h.graph.sent_to(Product::Messenger, FB_PSID);
    assert_eq!(sent.len(), 2);
    assert_eq!(
        sent[0].text.as_deref().map(|t| t.chars().count()),
        Some(2000)
    );
    assert_eq!(
        sent[1].text.as_deref().map(|t| t.chars().count()),
        Some(500)
    );
    assert_eq!(message["external_id"], sent[0].id);
    assert_ne!(
        sent[0].body["metadata"], sent[1].body["metadata"],
        "each part has its own key"
    );
}

#[test]
fn a_batch_that_repeats_a_stored_message_still_stores_the_new_one() {
    let h = MetaHarness::new();
    let id = channel(&h);
    let first = user_message_event(FB_PAGE_ID, FB_PSID, text_message("первое"));
    let payload = messenger_webhook(FB_PAGE_ID, vec![first.clone()]);
    assert_eq!(h.post_payload(id, FB_APP_SECRET, &payload).0, 200);
    // Meta retried the first message together with a new one.
    let second = user_message_event(FB_PAGE_ID, FB_PSID, text_message("второе"));
    let payload = messenger_webhook(FB_PAGE_ID, vec![first, second]);
    assert_eq!(h.post_payload(id, FB_APP_SECRET, &payload).0, 200);
    let texts: Vec<Value> = h
        .messages(dialog_id(&h))
        .iter()
        .map(|m| m["text"].clone())
        .collect();
    assert_eq!(texts, vec![json!("первое"), json!("второе")]);
    assert_eq!(h.only_dialog()["unread"], 2);
}

#[test]
fn a_reply_whose_answer_was_lost_is_settled_by_metas_echo_of_our_metadata() {
    let h = MetaHarness::with_timeout(1);
    let id = channel(&h);
    fresh_text(&h, id, "Сколько стоит доставка?");
    let dialog = dialog_id(&h);
    // Meta takes the reply but answers after our timeout.
    h.graph.delay_next(
        Endpoint::MessengerSend,
        std::time::Duration::from_millis(2500),
    );
    let reply = h.send(dialog, "390 ₽").unwrap();
    assert_eq!(reply["status"], "unknown", "{reply}");
    common::wait_until("Meta took it", || {
        !h.graph.sent_to(Product::Messenger, FB_PSID).is_empty()
    });
    let sent = h.graph.sent_to(Product::Messenger, FB_PSID);

    // Meta's echo carries our metadata: the reply counts as sent, with Meta's mid.
    let echo = crmchats_fakes::graph::echo_event(FB_PAGE_ID, FB_APP_ID, &sent[0]);
    assert!(echo["message"]["metadata"]
        .as_str()
        .unwrap()
        .starts_with("crmchats:"));
    let payload = messenger_webhook(FB_PAGE_ID, vec![echo]);
    assert_eq!(h.post_payload(id, FB_APP_SECRET, &payload).0, 200);
    let stored = h.messages(dialog).pop().unwrap();
    assert_eq!(stored["status"], "sent", "{stored}");
    assert_eq!(stored["external_id"], sent[0].id);
    assert!(stored["error"].is_null());
    assert_eq!(h.db.count("messages"), 2, "no copy of the echo");
    assert_eq!(h.db.count("outbox"), 0);
    // A redelivered echo changes nothing.
    assert_eq!(h.post_payload(id, FB_APP_SECRET, &payload).0, 200);
    assert_eq!(h.db.count("messages"), 2);
    assert_eq!(
        h.graph.calls(Endpoint::MessengerSend).len(),
        1,
        "never sent twice"
    );
}

#[test]
fn an_echo_that_comes_while_the_send_is_in_flight_is_kept_until_the_outcome() {
    use mysql::prelude::Queryable;
    let h = MetaHarness::new();
    let id = channel(&h);
    fresh_text(&h, id, "Есть размер M?");
    let dialog = dialog_id(&h);
    // A process claimed this reply 20 minutes ago and died during the call to Meta…
    let mut conn = h.db.conn();
    conn.exec_drop(
        "INSERT INTO app_crmchats_messages (id, identity, channel_id, dialog_id, direction, author_type, \
         author_operator_id, text, status, created_at) VALUES (5000, 1, ?, ?, 'out', 'operator', 1, 'Есть', 'queued', NOW(3))",
        (id, dialog),
    )
    .unwrap();
    conn.exec_drop(
        "INSERT INTO app_crmchats_outbox (message_id, identity, channel_id, dialog_id, state, priority, attempts, \
         next_attempt_at, claimed_at, created_at) VALUES (5000, 1, ?, ?, 'in_flight', 0, 1, NOW(3), NOW(3) - INTERVAL 20 MINUTE, NOW(3))",
        (id, dialog),
    )
    .unwrap();
    // …but Meta had taken it: its echo carries our key.
    let echo = json!({"sender": {"id": FB_PAGE_ID}, "recipient": {"id": FB_PSID}, "timestamp": 1732542460000_i64,
        "message": {"mid": "m_took_it", "is_echo": true, "app_id": 1, "metadata": "crmchats:5000.text", "text": "Есть"}});
    let payload = messenger_webhook(FB_PAGE_ID, vec![echo]);
    assert_eq!(h.post_payload(id, FB_APP_SECRET, &payload).0, 200);
    let kept: Option<String> =
        h.scalar("SELECT confirmed_external_id FROM app_crmchats_outbox WHERE message_id = 5000");
    assert_eq!(kept.as_deref(), Some("m_took_it"));

    // tick finds the dead claim: the message is sent, not unknown.
    h.call("tick", json!({})).unwrap();
    let stored = h.messages(dialog).pop().unwrap();
    assert_eq!(stored["status"], "sent", "{stored}");
    assert_eq!(stored["external_id"], "m_took_it");
    assert_eq!(h.db.count("outbox"), 0);
    assert_eq!(h.db.count("messages"), 2);
}
