//! The fake Chat-API instance answers like the service (token in the query, 401 `{"error"}`,
//! `sent:false` in HTTP 200), records what it sends, and posts unsigned webhooks.

mod common;

use std::sync::{Arc, Mutex};

use common::{agent, json, read};
use crmchats_fakes::chatapi::{FakeChatApi, FIXTURE_INSTANCE, FIXTURE_TOKEN, QR_CODE};
use serde_json::{json, Value};

fn url(fake: &FakeChatApi, method: &str, token: &str) -> String {
    format!(
        "{}/instance{FIXTURE_INSTANCE}/{method}?token={token}",
        fake.base_url()
    )
}

fn get(fake: &FakeChatApi, method: &str) -> (u16, Value) {
    let (status, _, body) = read(agent().get(url(fake, method, FIXTURE_TOKEN)).call());
    (status, json(&body))
}

fn post(fake: &FakeChatApi, method: &str, body: Value) -> (u16, Value) {
    let (status, content_type, text) = read(
        agent()
            .post(url(fake, method, FIXTURE_TOKEN))
            .header("Content-Type", "application/json")
            .send(body.to_string()),
    );
    assert_eq!(content_type, "application/json");
    (status, json(&text))
}

#[test]
fn status_and_me_describe_the_linked_phone_and_the_qr_code_before_it() {
    let fake = FakeChatApi::start(FIXTURE_INSTANCE, FIXTURE_TOKEN);
    assert_eq!(
        get(&fake, "status"),
        (200, json!({"accountStatus": "authenticated"}))
    );
    let (_, me) = get(&fake, "me");
    assert_eq!(me["id"], "79001112233@c.us");
    assert_eq!(me["name"], "Северный ветер");
    fake.log_out_phone();
    let (_, status) = get(&fake, "status");
    assert_eq!(status["accountStatus"], "got qr code");
    assert_eq!(status["qrCode"], QR_CODE);
}

#[test]
fn a_wrong_token_is_401_with_the_services_words_and_a_wrong_instance_404() {
    let fake = FakeChatApi::start(FIXTURE_INSTANCE, FIXTURE_TOKEN);
    let (status, _, body) = read(agent().get(url(&fake, "status", "nope")).call());
    assert_eq!(status, 401);
    assert_eq!(
        json(&body),
        json!({"error": "Wrong token. Please provide token as a GET parameter."})
    );
    let other = format!("{}/instance1/status?token={FIXTURE_TOKEN}", fake.base_url());
    assert_eq!(read(agent().get(other).call()).0, 404);
}

#[test]
fn send_message_answers_the_id_acks_will_carry_and_refuses_with_sent_false() {
    let fake = FakeChatApi::start(FIXTURE_INSTANCE, FIXTURE_TOKEN);
    let (status, sent) = post(
        &fake,
        "sendMessage",
        json!({"chatId": "79991234567@c.us", "body": "Добрый день"}),
    );
    assert_eq!(status, 200);
    assert_eq!(sent["sent"], true);
    let id = sent["id"].as_str().unwrap();
    assert!(id.starts_with("true_79991234567@c.us_"), "{id}");
    let recorded = fake.sent_messages("79991234567@c.us");
    assert_eq!(recorded[0].id, id);
    assert_eq!(recorded[0].field("body"), Some("Добрый день"));

    let (status, refused) = post(
        &fake,
        "sendMessage",
        json!({"chatId": "not-a-chat", "body": "x"}),
    );
    assert_eq!((status, refused["sent"].clone()), (200, json!(false)));
    assert_eq!(
        post(
            &fake,
            "sendMessage",
            json!({"phone": 79991234567u64, "body": " "})
        )
        .1["sent"],
        false
    );
}

#[test]
fn send_file_takes_a_data_uri_or_a_link() {
    let fake = FakeChatApi::start(FIXTURE_INSTANCE, FIXTURE_TOKEN);
    let (_, sent) = post(
        &fake,
        "sendFile",
        json!({"chatId": "79991234567@c.us", "body": "data:application/pdf;base64,JVBERi0x",
               "filename": "Счёт.pdf", "caption": "Счёт"}),
    );
    assert_eq!(sent["sent"], true, "{sent}");
    let (_, linked) = post(
        &fake,
        "sendFile",
        json!({"chatId": "79991234567@c.us", "body": "https://crm.example.test/m/1.jpg", "filename": "1.jpg"}),
    );
    assert_eq!(linked["sent"], true);
    let (_, refused) = post(
        &fake,
        "sendFile",
        json!({"chatId": "79991234567@c.us", "body": "data:image/png;base64,@@@", "filename": "a.png"}),
    );
    assert_eq!(refused["sent"], false);
    let files = fake.sent_messages("79991234567@c.us");
    assert_eq!(files.len(), 2);
    assert_eq!(files[0].file.as_deref(), Some(&b"%PDF-1"[..]));
    assert_eq!(files[1].file, None);
}

#[test]
fn webhooks_go_to_the_registered_url_with_messages_acks_and_echoes() {
    let fake = FakeChatApi::start(FIXTURE_INSTANCE, FIXTURE_TOKEN);
    let url = "https://crm.example.test/webhook.php?channel=1&key=k";
    assert_eq!(
        post(&fake, "webhook", json!({"webhookUrl": url})).1["set"],
        true
    );
    let (_, settings) = post(&fake, "settings", json!({"ackNotificationsOn": true}));
    assert_eq!(settings["webhookUrl"], url);
    assert!(fake.ack_notifications());

    let seen: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
    let sink = Arc::clone(&seen);
    fake.route_webhooks(move |delivery| {
        let body: Value = serde_json::from_slice(&delivery.body).unwrap();
        sink.lock().unwrap().push((delivery.url.clone(), body));
        Ok((200, "ok".into()))
    });
    fake.post_webhook(&fake.text_from("79991234567@c.us", "Ирина", "Привет"))
        .unwrap();
    let (_, sent) = post(
        &fake,
        "sendMessage",
        json!({"chatId": "79991234567@c.us", "body": "Ответ"}),
    );
    let ours = &fake.sent_messages("79991234567@c.us")[0];
    fake.post_webhook(&fake.echo_of(ours, "Ирина")).unwrap();
    fake.post_webhook(&fake.ack(
        sent["id"].as_str().unwrap(),
        "79991234567@c.us",
        "delivered",
    ))
    .unwrap();

    let seen = seen.lock().unwrap().clone();
    assert!(seen
        .iter()
        .all(|(to, body)| to == url && body["instanceId"] == "318205"));
    let incoming = &seen[0].1["messages"][0];
    assert_eq!(
        (
            incoming["fromMe"].clone(),
            incoming["type"].clone(),
            incoming["senderName"].clone()
        ),
        (json!(false), json!("chat"), json!("Ирина"))
    );
    assert!(incoming["id"]
        .as_str()
        .unwrap()
        .starts_with("false_79991234567@c.us_"));
    assert_eq!(seen[1].1["messages"][0]["id"], sent["id"]);
    assert_eq!(seen[1].1["messages"][0]["fromMe"], true);
    assert_eq!(seen[2].1["ack"][0]["status"], "delivered");
}

#[test]
fn media_of_messages_is_served_byte_exact() {
    let fake = FakeChatApi::start(FIXTURE_INSTANCE, FIXTURE_TOKEN);
    let body = fake.file_from(
        "79991234567@c.us",
        "Ирина",
        "image",
        ("photo.jpeg", "image/jpeg", b"\xff\xd8 jpeg".to_vec()),
        Some("Вот"),
    );
    let link = body["messages"][0]["body"].as_str().unwrap();
    let mut response = agent().get(link).call().unwrap();
    assert_eq!(response.body_mut().read_to_vec().unwrap(), b"\xff\xd8 jpeg");
    assert_eq!(body["messages"][0]["caption"], "Вот");
}
