//! The demo page lets a person play a Telegram user: their messages reach the webhook as real
//! updates and the bot's replies show up in their chat.

mod common;

use common::{agent, json, read, Receiver, SECRET, TOKEN};
use crmchats_fakes::http::{build_multipart, MultipartPart};
use crmchats_fakes::{FakeTelegram, TelegramUser};
use serde_json::json;

fn set_webhook(fake: &FakeTelegram, url: &str) {
    let (status, _, _) = read(
        agent()
            .post(format!("{}/bot{TOKEN}/setWebhook", fake.base_url()))
            .header("Content-Type", "application/json")
            .send(json!({"url": url, "secret_token": SECRET}).to_string()),
    );
    assert_eq!(status, 200);
}

fn demo_send(fake: &FakeTelegram, parts: &[MultipartPart]) -> (u16, serde_json::Value) {
    let (body, content_type) = build_multipart(parts);
    let (status, _, text) = read(
        agent()
            .post(format!("{}/demo/send", fake.base_url()))
            .header("Content-Type", &content_type)
            .send(&body[..]),
    );
    (status, json(&text))
}

#[test]
fn the_page_is_self_contained_and_titled_fake_telegram() {
    let fake = FakeTelegram::start(TOKEN);
    let (status, content_type, page) = read(agent().get(format!("{}/", fake.base_url())).call());
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/html"));
    assert!(page.contains("<title>Fake Telegram</title>"));
    for external in ["src=\"http", "href=\"http", "@import", "url(http"] {
        assert!(!page.contains(external), "the page loads {external}");
    }
    assert!(
        fake.requests().is_empty(),
        "demo traffic is not Bot API traffic"
    );
}

#[test]
fn without_a_webhook_the_page_says_to_create_a_channel_first() {
    let fake = FakeTelegram::start(TOKEN);
    let (status, body) = demo_send(
        &fake,
        &[
            MultipartPart::text("first_name", "Marta"),
            MultipartPart::text("text", "hello"),
        ],
    );
    assert_eq!(status, 409);
    assert_eq!(body["no_webhook"], true);
    assert!(body["error"]
        .as_str()
        .unwrap()
        .contains("create a Telegram channel in crmchats first"));
    let (_, _, chat) = read(
        agent()
            .get(format!("{}/demo/chat?user_id=1", fake.base_url()))
            .call(),
    );
    assert_eq!(json(&chat)["webhook"], serde_json::Value::Null);
}

#[test]
fn a_typed_message_reaches_the_webhook_as_a_private_text_update() {
    let fake = FakeTelegram::start(TOKEN);
    let receiver = Receiver::start();
    set_webhook(&fake, &receiver.url());
    let user = [
        MultipartPart::text("first_name", "Marta"),
        MultipartPart::text("last_name", "Nowak"),
        MultipartPart::text("username", "@marta_nowak"),
    ];
    let first = [
        &user[..],
        &[MultipartPart::text("text", "/start src_site_footer")],
    ]
    .concat();
    let (status, body) = demo_send(&fake, &first);
    assert_eq!(status, 200);
    assert_eq!(
        (body["ok"].clone(), body["status"].clone()),
        (json!(true), json!(200))
    );
    let second = [&user[..], &[MultipartPart::text("text", "Где мой заказ?")]].concat();
    demo_send(&fake, &second);

    let received = receiver.received();
    assert_eq!(received.len(), 2);
    // Telegram's field order on the wire, compact.
    assert!(received[0].body.starts_with(br#"{"update_id":"#));
    assert!(String::from_utf8_lossy(&received[0].body).contains(r#"{"message_id":"#));
    assert_eq!(
        received[0].header("x-telegram-bot-api-secret-token"),
        Some(SECRET)
    );
    let update = received[0].json().unwrap();
    let message = &update["message"];
    let user_id = message["from"]["id"].as_i64().unwrap();
    assert!(user_id > 1 << 32 && user_id < 1 << 53);
    assert_eq!(
        user_id,
        TelegramUser::from_name("Marta", Some("Nowak"), Some("marta_nowak")).id
    );
    assert_eq!(message["chat"]["id"].as_i64(), Some(user_id));
    assert_eq!(message["chat"]["type"], "private");
    assert_eq!(message["from"]["username"], "marta_nowak");
    assert_eq!(message["from"]["is_bot"], false);
    assert_eq!(message["text"], "/start src_site_footer");
    assert_eq!(
        message["entities"],
        json!([{"offset": 0, "length": 6, "type": "bot_command"}])
    );
    let next = received[1].json().unwrap();
    assert_eq!(
        next["update_id"].as_i64().unwrap(),
        update["update_id"].as_i64().unwrap() + 1
    );
    assert_eq!(next["message"]["text"], "Где мой заказ?");
}

#[test]
fn an_attached_photo_is_sent_as_photo_sizes_that_get_file_can_fetch() {
    let fake = FakeTelegram::start(TOKEN);
    let receiver = Receiver::start();
    set_webhook(&fake, &receiver.url());
    let gif = b"GIF89a\x20\x03\x58\x02rest-of-image".to_vec();
    let png = [
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x01\0\0\0\0\x80".as_slice(),
        b"data",
    ]
    .concat();
    let (status, _) = demo_send(
        &fake,
        &[
            MultipartPart::text("first_name", "Marta"),
            MultipartPart::text("text", "коробка"),
            MultipartPart::file("file", "box.png", "image/png", &png),
        ],
    );
    assert_eq!(status, 200);
    demo_send(
        &fake,
        &[
            MultipartPart::text("first_name", "Marta"),
            MultipartPart::text("as", "document"),
            MultipartPart::file("file", "anim.gif", "image/gif", &gif),
        ],
    );

    let received = receiver.received();
    let photo_message = received[0].json().unwrap()["message"].clone();
    assert_eq!(photo_message["caption"], "коробка");
    let largest = photo_message["photo"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        (largest["width"].clone(), largest["height"].clone()),
        (json!(256), json!(128))
    );
    let document = received[1].json().unwrap()["message"]["document"].clone();
    assert_eq!(document["file_name"], "anim.gif");
    assert_eq!(document["mime_type"], "image/gif");
    assert_eq!(document["file_size"].as_u64(), Some(gif.len() as u64));

    for (file_id, bytes) in [(&largest["file_id"], &png), (&document["file_id"], &gif)] {
        let url = format!(
            "{}/bot{TOKEN}/getFile?file_id={}",
            fake.base_url(),
            file_id.as_str().unwrap()
        );
        let (_, _, body) = read(agent().get(url).call());
        let path = json(&body)["result"]["file_path"]
            .as_str()
            .unwrap()
            .to_string();
        let mut download = agent()
            .get(format!("{}/file/bot{TOKEN}/{path}", fake.base_url()))
            .call()
            .unwrap();
        assert_eq!(&download.body_mut().read_to_vec().unwrap(), bytes);
    }
}

#[test]
fn the_chat_shows_the_users_messages_and_the_bots_replies() {
    let fake = FakeTelegram::start(TOKEN);
    let receiver = Receiver::start();
    set_webhook(&fake, &receiver.url());
    let user = TelegramUser::from_name("Алексей", Some("Смирнов"), None);
    assert_eq!(fake.user_sends_text(&user, "Здравствуйте!").unwrap().0, 200);
    let (status, _, _) = read(
        agent()
            .post(format!("{}/bot{TOKEN}/sendMessage", fake.base_url()))
            .header("Content-Type", "application/json")
            .send(json!({"chat_id": user.id, "text": "Добрый день!"}).to_string()),
    );
    assert_eq!(status, 200);

    let url = format!("{}/demo/chat?user_id={}", fake.base_url(), user.id);
    let (_, _, body) = read(agent().get(url).call());
    let chat = json(&body);
    assert_eq!(chat["webhook"]["url"], receiver.url());
    assert_eq!(chat["webhook"]["secret_token_set"], true);
    let messages = chat["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(
        (messages[0]["from"].clone(), messages[0]["text"].clone()),
        (json!("user"), json!("Здравствуйте!"))
    );
    assert_eq!(messages[0]["delivery"]["status"], 200);
    assert_eq!(
        (messages[1]["from"].clone(), messages[1]["text"].clone()),
        (json!("bot"), json!("Добрый день!"))
    );
    // The reply went to the chat Telegram knows, names included.
    assert_eq!(
        fake.sent_messages(user.id)[0]["chat"]["last_name"],
        "Смирнов"
    );
}
