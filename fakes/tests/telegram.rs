//! The fake Bot API answers like api.telegram.org, records what it was sent, and delivers
//! webhook updates like Telegram.

mod common;

use std::io::ErrorKind;
use std::time::{Duration, Instant};

use common::{agent, json, read, Receiver, SECRET, TOKEN};
use crmchats_fakes::http::{build_multipart, MultipartPart};
use crmchats_fakes::FakeTelegram;
use serde_json::json;
use ureq::unversioned::multipart::{Form, Part};

const ERROR_429: &str = r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 35","parameters":{"retry_after":35}}"#;
const ERROR_403: &str =
    r#"{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}"#;

fn method_url(fake: &FakeTelegram, method: &str) -> String {
    format!("{}/bot{TOKEN}/{method}", fake.base_url())
}

fn post_json(
    fake: &FakeTelegram,
    method: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let (status, content_type, text) = read(
        agent()
            .post(method_url(fake, method))
            .header("Content-Type", "application/json")
            .send(body.to_string()),
    );
    assert_eq!(content_type, "application/json");
    (status, json(&text))
}

#[test]
fn get_me_with_the_right_token_returns_the_fixture_bot() {
    let fake = FakeTelegram::start(TOKEN);
    let (status, content_type, body) = read(agent().get(method_url(&fake, "getMe")).call());
    assert_eq!((status, content_type.as_str()), (200, "application/json"));
    // Byte-exact: the compact form of fixtures/telegram/api/getMe_ok.json, fields in order.
    assert_eq!(
        body,
        r#"{"ok":true,"result":{"id":7311862940,"is_bot":true,"first_name":"Северный ветер — поддержка","username":"severny_veter_help_bot","can_join_groups":true,"can_read_all_group_messages":false,"supports_inline_queries":false,"can_connect_to_business":false,"has_main_web_app":false}}"#
    );
    let body = json(&body);
    assert_eq!(body["ok"], true);
    assert_eq!(body["result"]["id"].as_i64(), Some(7311862940));
    assert_eq!(body["result"]["first_name"], "Северный ветер — поддержка");
    assert_eq!(body["result"]["username"], "severny_veter_help_bot");
    assert_eq!(fake.calls("GETME").len(), 1);
}

#[test]
fn a_wrong_token_is_unauthorized_with_telegrams_body() {
    let fake = FakeTelegram::start(TOKEN);
    let url = format!("{}/bot123:wrong/getMe", fake.base_url());
    let (status, _, body) = read(agent().get(url).call());
    assert_eq!(status, 401);
    assert_eq!(
        body,
        r#"{"ok":false,"error_code":401,"description":"Unauthorized"}"#
    );
    assert_eq!(fake.requests().len(), 1);
}

#[test]
fn fail_next_answers_the_scripted_bodies_in_order_then_recovers() {
    let fake = FakeTelegram::start(TOKEN);
    fake.fail_next("sendMessage", 429, ERROR_429);
    fake.fail_next("sendmessage", 403, ERROR_403);
    let send = || {
        read(
            agent()
                .post(method_url(&fake, "sendMessage"))
                .header("Content-Type", "application/json")
                .send(r#"{"chat_id":5082317746,"text":"hi"}"#),
        )
    };
    assert_eq!(
        send(),
        (429, "application/json".to_string(), ERROR_429.to_string())
    );
    assert_eq!(
        send(),
        (403, "application/json".to_string(), ERROR_403.to_string())
    );
    let (status, _, body) = send();
    assert_eq!(status, 200);
    assert_eq!(json(&body)["result"]["message_id"], 1000);
    assert_eq!(fake.calls("sendMessage").len(), 3);
}

#[test]
fn send_message_keeps_64_bit_chat_ids_in_json_form_and_query_requests() {
    let fake = FakeTelegram::start(TOKEN);
    let big = -1_001_234_567_890_123_i64;
    let (status, body) = post_json(
        &fake,
        "sendMessage",
        json!({"chat_id": big, "text": "один"}),
    );
    assert_eq!(status, 200);
    assert_eq!(body["result"]["chat"]["id"].as_i64(), Some(big));
    assert_eq!(body["result"]["message_id"], 1000);
    assert_eq!(body["result"]["from"]["id"].as_i64(), Some(7311862940));
    assert_eq!(body["result"]["text"], "один");

    let (_, _, form) = read(
        agent()
            .post(method_url(&fake, "sendMessage"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .send("chat_id=5082317746&text=%D0%B4%D0%B2%D0%B0+2"),
    );
    let form = json(&form);
    assert_eq!(form["result"]["chat"]["id"].as_i64(), Some(5082317746));
    assert_eq!(form["result"]["text"], "два 2");
    assert_eq!(form["result"]["message_id"], 1001);

    let url = format!(
        "{}?chat_id=5082317746&text=three",
        method_url(&fake, "sendMessage")
    );
    let (_, _, query) = read(agent().get(url).call());
    assert_eq!(json(&query)["result"]["message_id"], 1002);

    let recorded = &fake.calls("sendMessage")[0];
    assert_eq!(recorded.param("chat_id"), Some(big.to_string()));
    assert_eq!(recorded.header("content-type"), Some("application/json"));
}

#[test]
fn bad_requests_get_telegrams_error_descriptions() {
    let fake = FakeTelegram::start(TOKEN);
    let (status, body) = post_json(&fake, "sendMessage", json!({"chat_id": 5082317746_i64}));
    assert_eq!(status, 400);
    assert_eq!(body["description"], "Bad Request: message text is empty");
    let (status, body) = post_json(&fake, "sendMessage", json!({"text": "hi"}));
    assert_eq!((status, body["error_code"].as_i64()), (400, Some(400)));
    assert_eq!(body["description"], "Bad Request: chat not found");
    let (status, body) = post_json(&fake, "sendSomething", json!({}));
    assert_eq!(status, 404);
    assert_eq!(
        body,
        json!({"ok": false, "error_code": 404, "description": "Not Found"})
    );
}

#[test]
fn a_multipart_photo_upload_is_recorded_byte_exact_and_downloadable() {
    let fake = FakeTelegram::start(TOKEN);
    // Bytes that would break a careless parser: CRLFs, dashes, NUL and high bytes.
    let mut photo = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x02\x80\0\0\x01\xe0".to_vec();
    photo.extend_from_slice(b"\r\n--\r\n----formdata-ureq-\r\n\xff\xfe\x00end");
    let form = Form::new()
        .text("chat_id", "5082317746")
        .text("caption", "Так будет выглядеть")
        .part(
            "photo",
            Part::bytes(&photo)
                .file_name("упаковка.png")
                .mime_str("image/png")
                .unwrap(),
        );
    let (status, _, body) = read(agent().post(method_url(&fake, "sendPhoto")).send(form));
    assert_eq!(status, 200, "{body}");
    let message = json(&body)["result"].clone();
    assert_eq!(message["caption"], "Так будет выглядеть");
    let size = &message["photo"][0];
    assert_eq!(
        (size["width"].as_i64(), size["height"].as_i64()),
        (Some(640), Some(480))
    );
    assert_eq!(size["file_size"].as_u64(), Some(photo.len() as u64));

    let upload = fake.calls("sendPhoto")[0].multipart_file("photo").unwrap();
    assert_eq!(upload.data, photo);
    assert_eq!(upload.file_name.as_deref(), Some("упаковка.png"));
    assert_eq!(upload.content_type.as_deref(), Some("image/png"));

    // What the bot sent can be fetched back like any Telegram file.
    let file_id = size["file_id"].as_str().unwrap();
    let (_, body) = post_json(&fake, "getFile", json!({"file_id": file_id}));
    let path = body["result"]["file_path"].as_str().unwrap().to_string();
    let mut download = agent()
        .get(format!("{}/file/bot{TOKEN}/{path}", fake.base_url()))
        .call()
        .unwrap();
    assert_eq!(download.body_mut().read_to_vec().unwrap(), photo);
}

#[test]
fn a_document_upload_reports_name_type_and_size() {
    let fake = FakeTelegram::start(TOKEN);
    let pdf = b"%PDF-1.7\r\n\x00\x01binary\r\n%%EOF".to_vec();
    let (body, content_type) = build_multipart(&[
        MultipartPart::text("chat_id", "5082317746"),
        MultipartPart::file("document", "Счёт_4821.pdf", "application/pdf", &pdf),
    ]);
    let (status, _, response) = read(
        agent()
            .post(method_url(&fake, "sendDocument"))
            .header("Content-Type", &content_type)
            .send(&body[..]),
    );
    assert_eq!(status, 200, "{response}");
    let document = json(&response)["result"]["document"].clone();
    assert_eq!(document["file_name"], "Счёт_4821.pdf");
    assert_eq!(document["mime_type"], "application/pdf");
    assert_eq!(document["file_size"].as_u64(), Some(pdf.len() as u64));
    assert!(document["file_id"].as_str().unwrap().starts_with("BQAC"));
    assert_eq!(
        fake.calls("sendDocument")[0]
            .multipart_file("document")
            .unwrap()
            .data,
        pdf
    );

    let (status, body) = post_json(
        &fake,
        "sendDocument",
        json!({"chat_id": 1, "document": "nope"}),
    );
    assert_eq!(status, 400);
    assert_eq!(
        body["description"],
        "Bad Request: wrong file identifier/HTTP URL specified"
    );
}

#[test]
fn get_file_then_download_serves_registered_bytes_with_a_content_length() {
    let fake = FakeTelegram::start(TOKEN);
    let bytes: Vec<u8> = (0..=255u8).cycle().take(152_803).collect();
    fake.add_file("AgACAgIAAxkBAAIBnWdE", "photos/file_37.jpg", bytes.clone());

    let url = format!(
        "{}?file_id=AgACAgIAAxkBAAIBnWdE",
        method_url(&fake, "getFile")
    );
    let (status, _, body) = read(agent().get(url).call());
    assert_eq!(status, 200);
    let result = json(&body)["result"].clone();
    assert_eq!(result["file_path"], "photos/file_37.jpg");
    assert_eq!(result["file_size"], 152_803);
    assert_eq!(result["file_id"], "AgACAgIAAxkBAAIBnWdE");
    assert!(result["file_unique_id"]
        .as_str()
        .unwrap()
        .starts_with("AQAD"));

    let mut download = agent()
        .get(format!(
            "{}/file/bot{TOKEN}/photos/file_37.jpg",
            fake.base_url()
        ))
        .call()
        .unwrap();
    assert_eq!(download.status(), 200);
    assert_eq!(download.headers().get("content-length").unwrap(), "152803");
    assert_eq!(
        download.headers().get("content-type").unwrap(),
        "image/jpeg"
    );
    assert_eq!(download.body_mut().read_to_vec().unwrap(), bytes);

    let (status, body) = post_json(&fake, "getFile", json!({"file_id": "unknown"}));
    assert_eq!(status, 400);
    assert_eq!(body["description"], "Bad Request: invalid file_id");
    let missing = format!("{}/file/bot{TOKEN}/photos/none.jpg", fake.base_url());
    let (status, _, body) = read(agent().get(missing).call());
    assert_eq!(status, 404);
    assert_eq!(json(&body)["error_code"], 404);
}

#[test]
fn webhook_registration_and_update_delivery_carry_the_secret_header() {
    let fake = FakeTelegram::start(TOKEN);
    let receiver = Receiver::start();
    assert!(fake.webhook().is_none());

    let (status, body) = post_json(
        &fake,
        "setWebhook",
        json!({"url": receiver.url(), "secret_token": SECRET, "allowed_updates": ["message", "my_chat_member"]}),
    );
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"ok": true, "result": true, "description": "Webhook was set"})
    );
    let webhook = fake.webhook().unwrap();
    assert_eq!(webhook.url, receiver.url());
    assert_eq!(webhook.secret_token.as_deref(), Some(SECRET));
    assert_eq!(webhook.allowed_updates, ["message", "my_chat_member"]);

    let update = json!({"update_id": 583920114, "message": {"message_id": 412,
        "from": {"id": 5082317746_i64, "is_bot": false, "first_name": "Алексей"},
        "chat": {"id": 5082317746_i64, "first_name": "Алексей", "type": "private"},
        "date": 1732542311, "text": "Здравствуйте! 📦"}});
    assert_eq!(fake.post_update(&update).unwrap(), (200, "ok".to_string()));

    let received = receiver.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].method, "POST");
    assert_eq!(received[0].path, "/webhook/telegram");
    assert_eq!(
        received[0].header("x-telegram-bot-api-secret-token"),
        Some(SECRET)
    );
    assert_eq!(received[0].header("content-type"), Some("application/json"));
    assert_eq!(received[0].json(), Some(update));

    // Byte-exact re-delivery, as Telegram re-POSTs an update that got no 2xx.
    let fixture = br#"{"update_id":583920114,"message":{"message_id":412,"text":"x"}}"#;
    fake.post_update_raw(fixture).unwrap();
    assert_eq!(receiver.received()[1].body, fixture);

    // The sent message now carries the chat Telegram knows from the update.
    let (_, body) = post_json(
        &fake,
        "sendMessage",
        json!({"chat_id": 5082317746_i64, "text": "Добрый день"}),
    );
    assert_eq!(body["result"]["chat"]["first_name"], "Алексей");

    let (_, body) = post_json(&fake, "deleteWebhook", json!({}));
    assert_eq!(body["description"], "Webhook was deleted");
    assert!(fake.webhook().is_none());
    let err = fake.post_update(&json!({"update_id": 1})).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[test]
fn set_webhook_accepts_form_fields_and_refuses_an_empty_url() {
    let fake = FakeTelegram::start(TOKEN);
    let (status, _, _) = read(
        agent()
            .post(method_url(&fake, "setWebhook"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .send("url=http%3A%2F%2F127.0.0.1%3A9%2Fhook&allowed_updates=%5B%22message%22%5D"),
    );
    assert_eq!(status, 200);
    let webhook = fake.webhook().unwrap();
    assert_eq!(webhook.url, "http://127.0.0.1:9/hook");
    assert_eq!(webhook.secret_token, None);
    assert_eq!(webhook.allowed_updates, ["message"]);

    let (status, body) = post_json(&fake, "setWebhook", json!({"url": ""}));
    assert_eq!(status, 400);
    assert!(body["description"]
        .as_str()
        .unwrap()
        .starts_with("Bad Request: bad webhook: "));
}

#[test]
fn delay_next_holds_only_the_next_call() {
    let fake = FakeTelegram::start(TOKEN);
    fake.delay_next("getMe", Duration::from_millis(1500));
    let impatient = ureq::Agent::config_builder()
        .proxy(None)
        .timeout_global(Some(Duration::from_millis(300)))
        .build()
        .new_agent();
    let started = Instant::now();
    assert!(impatient.get(method_url(&fake, "getMe")).call().is_err());
    assert!(started.elapsed() < Duration::from_millis(1200));
    let started = Instant::now();
    assert!(impatient.get(method_url(&fake, "getMe")).call().is_ok());
    assert!(started.elapsed() < Duration::from_millis(300));
}

#[test]
fn delete_message_removes_a_sent_message_once() {
    let fake = FakeTelegram::start(TOKEN);
    let (_, sent) = post_json(
        &fake,
        "sendMessage",
        json!({"chat_id": 5082317746_i64, "text": "oops"}),
    );
    let message_id = sent["result"]["message_id"].clone();
    let delete = json!({"chat_id": 5082317746_i64, "message_id": message_id});
    assert_eq!(
        post_json(&fake, "deleteMessage", delete.clone()),
        (200, json!({"ok": true, "result": true}))
    );
    let (status, body) = post_json(&fake, "deleteMessage", delete);
    assert_eq!(status, 400);
    assert_eq!(
        body["description"],
        "Bad Request: message to delete not found"
    );
    assert!(fake.sent_messages(5082317746).is_empty());
}

#[test]
fn profile_photos_list_the_registered_file_as_the_largest_size() {
    let fake = FakeTelegram::start(TOKEN);
    fake.add_profile_photo(5082317746, "AgACAgIAAxkBAAIBprofile");
    let (_, body) = post_json(
        &fake,
        "getUserProfilePhotos",
        json!({"user_id": 5082317746_i64}),
    );
    assert_eq!(body["result"]["total_count"], 1);
    let sizes = body["result"]["photos"][0].as_array().unwrap();
    assert_eq!(sizes.last().unwrap()["file_id"], "AgACAgIAAxkBAAIBprofile");
    let (_, body) = post_json(&fake, "getUserProfilePhotos", json!({"user_id": 42}));
    assert_eq!(body["result"], json!({"total_count": 0, "photos": []}));
}
