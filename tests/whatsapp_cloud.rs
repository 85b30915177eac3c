//! WhatsApp Business Cloud API end to end through the Rust facade: real MariaDB, the fake Graph
//! API on 127.0.0.1, the shared fixtures' real payloads and signatures.

mod common;
mod meta;

use common::ADMIN;
use crmchats_fakes::graph::fixture::*;
use crmchats_fakes::graph::{
    whatsapp_message, whatsapp_status, whatsapp_status_of, whatsapp_webhook, Endpoint, Product,
    WhatsAppContact,
};
use meta::*;
use serde_json::{json, Value};

const PROVIDER: &str = "whatsapp_cloud";
const WA_ID: &str = "79161234567";
/// The wamid the status fixtures report.
const STATUS_WAMID: &str = "wamid.HBgLNzkxNjEyMzQ1NjcVAgARGBI3RjNDMUE5QjJFNEQ1QzZBOEIA";

fn settings() -> Value {
    json!({"phone_number_id": WA_PHONE_NUMBER_ID, "waba_id": WA_WABA_ID,
           "app_secret": WA_APP_SECRET, "verify_token": WA_VERIFY_TOKEN})
}

fn channel(h: &MetaHarness) -> i64 {
    let created = h
        .call(
            "channels.create",
            json!({"type": "whatsapp_cloud", "name": "WhatsApp", "token": WA_ACCESS_TOKEN, "settings": settings()}),
        )
        .expect("channels.create");
    created["channel"]["id"].as_i64().unwrap()
}

fn post_fixture(h: &MetaHarness, channel_id: i64, name: &str) -> (u16, String) {
    let (body, headers) = fixture(PROVIDER, name);
    h.post(channel_id, headers, &body)
}

/// A text from the fixtures' customer written now, inside the 24-hour window.
fn fresh_text(h: &MetaHarness, channel_id: i64, text: &str) {
    let contact = WhatsAppContact {
        wa_id: WA_ID.into(),
        name: "Иван Петров".into(),
    };
    let payload = whatsapp_webhook(
        h.graph.config(),
        &[contact],
        vec![whatsapp_message(WA_ID, "text", json!({"body": text}))],
        vec![],
    );
    assert_eq!(h.post_payload(channel_id, WA_APP_SECRET, &payload).0, 200);
}

fn dialog_id(h: &MetaHarness) -> i64 {
    h.only_dialog()["id"].as_i64().unwrap()
}

fn out_status(h: &MetaHarness) -> Option<String> {
    h.scalar("SELECT status FROM app_crmchats_messages WHERE direction = 'out'")
}

// --- channels -------------------------------------------------------------------------------

#[test]
fn check_reports_the_number_and_its_verified_name_and_refuses_a_bad_token() {
    let h = MetaHarness::new();
    let info = h
        .call(
            "channels.check",
            json!({"type": "whatsapp_cloud", "token": WA_ACCESS_TOKEN, "settings": settings()}),
        )
        .unwrap();
    assert_eq!(info["bot_id"], WA_PHONE_NUMBER_ID);
    assert_eq!(info["bot_name"], WA_VERIFIED_NAME);
    assert_eq!(info["username"], format!("+{WA_DISPLAY_PHONE}"));
    let asked = &h.graph.calls(Endpoint::PhoneNumberInfo)[0];
    assert_eq!(
        asked.header("authorization"),
        Some(format!("Bearer {WA_ACCESS_TOKEN}").as_str())
    );
    assert!(asked.query.contains("verified_name"), "{}", asked.query);

    let err = h
        .call(
            "channels.check",
            json!({"type": "whatsapp_cloud", "token": "EAAGexpired", "settings": settings()}),
        )
        .unwrap_err();
    assert_eq!(err.code(), "provider_unauthorized");
    let err = h
        .call(
            "channels.check",
            json!({"type": "whatsapp_cloud", "token": WA_ACCESS_TOKEN,
                   "settings": {"waba_id": WA_WABA_ID, "app_secret": WA_APP_SECRET}}),
        )
        .unwrap_err();
    assert!(
        err.to_string().contains("settings.phone_number_id"),
        "{err}"
    );
}

#[test]
fn creating_subscribes_the_waba_shows_what_to_paste_and_deleting_unsubscribes() {
    let h = MetaHarness::new();
    let created = h
        .call(
            "channels.create",
            json!({"type": "whatsapp_cloud", "name": "WhatsApp", "token": WA_ACCESS_TOKEN,
                   "settings": {"phone_number_id": WA_PHONE_NUMBER_ID, "waba_id": WA_WABA_ID, "app_secret": WA_APP_SECRET}}),
        )
        .unwrap();
    let channel = &created["channel"];
    let id = channel["id"].as_i64().unwrap();
    assert_eq!(channel["external_id"], WA_PHONE_NUMBER_ID);
    assert_eq!(channel["webhook"]["state"], "registered");
    assert!(h
        .graph
        .subscription(Product::WhatsApp)
        .subscribed_fields
        .is_some());
    assert_eq!(
        h.graph.calls(Endpoint::WabaSubscribedApps)[0].path,
        format!("/v21.0/{WA_WABA_ID}/subscribed_apps")
    );
    let verify_token = channel["settings"]["verify_token"].as_str().unwrap();
    assert!(channel["settings"]["callback_url"]
        .as_str()
        .unwrap()
        .contains(&format!("channel={id}")));
    assert!(!created.to_string().contains(WA_APP_SECRET));
    assert!(!created.to_string().contains(WA_ACCESS_TOKEN));
    let (status, body) = h.get(
        id,
        json!({"hub.mode": "subscribe", "hub.verify_token": verify_token, "hub.challenge": "777"}),
    );
    assert_eq!((status, body.as_str()), (200, "777"));

    let health = h
        .call("channels.health", json!({"channel_id": id}))
        .unwrap();
    assert_eq!(health["messenger"]["webhook"]["registered"], true);

    h.call("channels.delete", json!({"channel_id": id}))
        .unwrap();
    assert!(h
        .graph
        .subscription(Product::WhatsApp)
        .subscribed_fields
        .is_none());
}

// --- inbound --------------------------------------------------------------------------------

#[test]
fn verification_fixtures_get_the_challenge_or_403() {
    let h = MetaHarness::new();
    let id = channel(&h);
    let (query, expected) = verification(PROVIDER, "verify_subscribe_ok");
    assert_eq!(
        h.get(id, query),
        (200, expected["body"].as_str().unwrap().to_string())
    );
    let (query, expected) = verification(PROVIDER, "verify_wrong_token");
    let (status, body) = h.get(id, query);
    assert_eq!(status, 403);
    assert!(!body.contains(expected["body_must_not_contain"].as_str().unwrap()));
}

#[test]
fn a_signed_text_is_stored_once_with_name_and_phone_and_forgeries_are_refused() {
    let h = MetaHarness::new();
    let id = channel(&h);
    let (body, headers) = fixture(PROVIDER, "message_text");
    let reserialised = serde_json::from_slice::<Value>(&body).unwrap().to_string();
    assert_eq!(h.post(id, headers.clone(), reserialised.as_bytes()).0, 403);
    assert_eq!(
        h.post(id, signed_headers(FB_APP_SECRET, &body), &body).0,
        403,
        "another app's secret"
    );
    assert_eq!(h.post(id, json!({}), &body).0, 401);
    assert_eq!(h.db.count("messages"), 0);

    assert_eq!(h.post(id, headers.clone(), &body).0, 200);
    assert_eq!(h.post(id, headers, &body).0, 200, "Meta retries");
    assert_eq!(h.db.count("messages"), 1);
    let dialog = h.only_dialog();
    assert_eq!(dialog["channel"]["type"], "whatsapp_cloud");
    assert_eq!(dialog["visitor"]["name"], "Иван Петров");
    let phone: Option<String> = h.scalar("SELECT phone FROM app_crmchats_visitors");
    assert_eq!(phone.as_deref(), Some("+79161234567"));
    let message = &h.messages(dialog["id"].as_i64().unwrap())[0];
    assert_eq!(message["text"], "Добрый день! Заказ ещё можно изменить? 🙏");
    assert_eq!(message["created_at"], "2024-11-25T13:45:11.000Z");
}

#[test]
fn an_image_is_resolved_by_media_id_and_downloaded_with_the_bearer_token() {
    let h = MetaHarness::new();
    let id = channel(&h);
    let jpeg: Vec<u8> = (0..183_422u32).map(|i| (i * 31 % 251) as u8).collect();
    h.graph
        .add_media("1003383421387256", "image/jpeg", jpeg.clone());
    assert_eq!(post_fixture(&h, id, "message_image").0, 200);

    let message = &h.messages(dialog_id(&h))[0];
    assert_eq!(message["text"], "Вот чек");
    let attachment = &message["attachments"][0];
    assert_eq!(attachment["mime"], "image/jpeg");
    assert_eq!(attachment["size"], 183_422);
    assert_eq!(h.attachment_bytes(&attachment["id"]), jpeg);
    let lookup = &h.graph.calls(Endpoint::WhatsAppMediaUrl)[0];
    assert_eq!(lookup.path, "/v21.0/1003383421387256");
    let download = &h.graph.calls(Endpoint::WhatsAppMediaDownload)[0];
    assert_eq!(
        download.header("authorization"),
        Some(format!("Bearer {WA_ACCESS_TOKEN}").as_str())
    );
}

#[test]
fn an_unknown_media_id_keeps_the_message_with_the_error() {
    let h = MetaHarness::new();
    let id = channel(&h);
    assert_eq!(post_fixture(&h, id, "message_image").0, 200);
    let attachment = &h.messages(dialog_id(&h))[0]["attachments"][0];
    assert_eq!(
        attachment["error"]["code"], "provider_rejected",
        "{attachment}"
    );
}

#[test]
fn statuses_move_our_message_forward_and_never_back() {
    let h = MetaHarness::new();
    let id = channel(&h);
    fresh_text(&h, id, "Можно изменить заказ?");
    // The Cloud API hands out the wamid the status fixtures report.
    h.graph.fail_next(
        Endpoint::WhatsAppSend,
        200,
        &api_fixture(PROVIDER, "send_ok"),
    );
    let sent = h.send(dialog_id(&h), "Да, конечно").unwrap();
    assert_eq!(
        (sent["status"].as_str(), sent["external_id"].as_str()),
        (Some("sent"), Some(STATUS_WAMID))
    );

    assert_eq!(post_fixture(&h, id, "status_delivered").0, 200);
    assert_eq!(out_status(&h).as_deref(), Some("delivered"));
    assert_eq!(post_fixture(&h, id, "status_read").0, 200);
    assert_eq!(out_status(&h).as_deref(), Some("read"));
    assert_eq!(
        post_fixture(&h, id, "status_sent").0,
        200,
        "late and out of order"
    );
    assert_eq!(out_status(&h).as_deref(), Some("read"));
}

#[test]
fn a_failed_status_marks_the_reply_failed_with_metas_words() {
    let h = MetaHarness::new();
    let id = channel(&h);
    fresh_text(&h, id, "Здравствуйте");
    let sent = h.send(dialog_id(&h), "Ответ").unwrap();
    let wamid = sent["external_id"].as_str().unwrap();
    let payload = whatsapp_webhook(
        h.graph.config(),
        &[],
        vec![],
        vec![whatsapp_status(wamid, "failed", WA_ID)],
    );
    assert_eq!(h.post_payload(id, WA_APP_SECRET, &payload).0, 200);
    let message = &h.messages(dialog_id(&h))[1];
    assert_eq!(message["status"], "failed", "{message}");
    let error: Option<String> =
        h.scalar("SELECT error_message FROM app_crmchats_messages WHERE direction = 'out'");
    assert!(error.unwrap_or_default().contains("131047"));
}

// --- outbound -------------------------------------------------------------------------------

#[test]
fn a_reply_goes_to_the_wa_id_and_keeps_the_wamid() {
    let h = MetaHarness::new();
    let id = channel(&h);
    fresh_text(&h, id, "Здравствуйте");
    let message = h.send(dialog_id(&h), "Добрый день! Чем помочь?").unwrap();
    assert_eq!(message["status"], "sent");
    let sent = h.graph.sent_to(Product::WhatsApp, WA_ID);
    assert_eq!(sent.len(), 1);
    assert_eq!(message["external_id"], sent[0].id);
    let call = &h.graph.calls(Endpoint::WhatsAppSend)[0];
    assert_eq!(call.path, format!("/v21.0/{WA_PHONE_NUMBER_ID}/messages"));
    let body = call.json().unwrap();
    assert_eq!(body["messaging_product"], "whatsapp");
    assert_eq!(body["to"], WA_ID);
    assert_eq!(body["type"], "text");
    assert_eq!(body["text"]["body"], "Добрый день! Чем помочь?");
}

#[test]
fn files_are_uploaded_then_sent_by_media_id_with_caption_and_file_name() {
    let h = MetaHarness::new();
    let id = channel(&h);
    fresh_text(&h, id, "Пришлите фото и договор");
    let png: Vec<u8> = b"\x89PNG\r\n\x1a\n"
        .iter()
        .copied()
        .chain((0..4000u32).map(|i| (i % 256) as u8))
        .collect();
    let pdf: Vec<u8> = b"%PDF-1.7\n"
        .iter()
        .copied()
        .chain(std::iter::repeat_n(b'x', 20_000))
        .collect();
    use base64::Engine;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let request = json!({"dialog_id": dialog_id(&h), "operator_id": ADMIN, "text": "Фото упаковки",
    "attachments": [
        {"data_base64": b64(&png), "name": "box.png", "mime": "image/png"},
        {"data_base64": b64(&pdf), "name": "Договор №7.pdf", "mime": "application/pdf"},
    ]});
    let message = h.app.send_message(&request).unwrap()["message"].clone();
    assert_eq!(message["status"], "sent", "{message}");

    let uploads = h.graph.calls(Endpoint::WhatsAppMediaUpload);
    assert_eq!(uploads.len(), 2);
    assert_eq!(uploads[0].multipart_file("file").unwrap().data, png);
    assert_eq!(
        uploads[0].param("messaging_product").as_deref(),
        Some("whatsapp")
    );
    let sent = h.graph.sent_to(Product::WhatsApp, WA_ID);
    let image = sent
        .iter()
        .find(|m| m.body["type"] == "image")
        .expect("an image message");
    assert_eq!(image.file.as_ref().unwrap().bytes, png);
    let document = sent
        .iter()
        .find(|m| m.body["type"] == "document")
        .expect("a document message");
    assert_eq!(document.file.as_ref().unwrap().bytes, pdf);
    assert_eq!(document.body["document"]["filename"], "Договор №7.pdf");
    let captions: Vec<&str> = sent.iter().filter_map(|m| m.text.as_deref()).collect();
    assert!(captions.contains(&"Фото упаковки"), "{captions:?}");
}

#[test]
fn outside_the_24_hour_window_the_reply_is_refused_before_calling_meta() {
    let h = MetaHarness::new();
    let id = channel(&h);
    assert_eq!(post_fixture(&h, id, "message_text").0, 200); // written in 2024
    let err = h.send(dialog_id(&h), "Ответ через год").unwrap_err();
    assert_eq!(err.code(), "window_closed");
    assert!(h.graph.calls(Endpoint::WhatsAppSend).is_empty());
}

#[test]
fn cloud_api_errors_are_stored_with_stable_codes() {
    let h = MetaHarness::new();
    let id = channel(&h);
    fresh_text(&h, id, "Здравствуйте");
    let cases = [
        ("error_190_token_expired", 401, "provider_unauthorized"),
        ("error_131047_reengagement", 400, "window_closed"),
    ];
    for (name, status, code) in cases {
        h.graph
            .fail_next(Endpoint::WhatsAppSend, status, &api_fixture(PROVIDER, name));
        let message = h.send(dialog_id(&h), &format!("attempt {code}")).unwrap();
        assert_eq!(message["status"], "failed", "{name}");
        assert_eq!(message["error"]["code"], code, "{name}");
    }
    h.graph.fail_next(
        Endpoint::WhatsAppSend,
        400,
        r#"{"error":{"message":"(#130429) Rate limit hit","type":"OAuthException","code":130429,"error_data":{"messaging_product":"whatsapp","details":"Cloud API message throughput has been reached."},"fbtrace_id":"x"}}"#,
    );
    let message = h.send(dialog_id(&h), "fast").unwrap();
    assert_eq!(message["error"]["code"], "rate_limited");
}

#[test]
fn a_waba_that_lost_its_subscription_is_subscribed_again_by_health() {
    let h = MetaHarness::new();
    let id = channel(&h);
    let url = format!("{}/v21.0/{WA_WABA_ID}/subscribed_apps", h.graph.base_url());
    ureq::delete(&url)
        .header("Authorization", &format!("Bearer {WA_ACCESS_TOKEN}"))
        .call()
        .unwrap();
    let health = h
        .call("channels.health", json!({"channel_id": id}))
        .unwrap();
    assert_eq!(health["messenger"]["webhook"]["registered"], false);
    assert_eq!(health["reregistered"], true);
    assert!(h
        .graph
        .subscription(Product::WhatsApp)
        .subscribed_fields
        .is_some());
}

#[test]
fn the_cloud_api_cannot_unsend_so_a_delete_is_refused_and_the_message_stays() {
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
fn a_reply_whose_answer_was_lost_is_settled_by_the_status_carrying_our_callback_data() {
    let h = MetaHarness::with_timeout(1);
    let id = channel(&h);
    fresh_text(&h, id, "Когда доставка?");
    let dialog = dialog_id(&h);
    // The Cloud API takes the reply but answers after our timeout.
    h.graph.delay_next(
        Endpoint::WhatsAppSend,
        std::time::Duration::from_millis(2500),
    );
    let reply = h.send(dialog, "Завтра до 18:00").unwrap();
    assert_eq!(reply["status"], "unknown", "{reply}");
    common::wait_until("Meta took it", || {
        !h.graph.sent_to(Product::WhatsApp, WA_ID).is_empty()
    });
    let sent = h.graph.sent_to(Product::WhatsApp, WA_ID);
    assert!(sent[0].body["biz_opaque_callback_data"]
        .as_str()
        .unwrap()
        .starts_with("crmchats:"));

    // Its `sent` status carries our callback data: the reply is sent, with the wamid.
    let payload = whatsapp_webhook(
        h.graph.config(),
        &[],
        vec![],
        vec![whatsapp_status_of(&sent[0], "delivered")],
    );
    assert_eq!(h.post_payload(id, WA_APP_SECRET, &payload).0, 200);
    let stored = h.messages(dialog).pop().unwrap();
    assert_eq!(stored["external_id"], sent[0].id, "{stored}");
    assert_eq!(
        stored["status"], "delivered",
        "settled, then moved on by the status"
    );
    assert_eq!(h.db.count("outbox"), 0);
    assert_eq!(
        h.graph.calls(Endpoint::WhatsAppSend).len(),
        1,
        "never sent twice"
    );
}
