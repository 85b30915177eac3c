//! The fake Viber Bot API answers like chatapi.viber.com (HTTP 200, numeric `status`), records
//! what it was sent, and delivers signed callbacks like Viber, the `webhook` check included.

mod common;

use std::sync::{Arc, Mutex};

use common::{agent, json, read, Receiver};
use crmchats_fakes::viber::{
    sign, FakeViber, ViberUser, AUTH_HEADER, FIXTURE_TOKEN, SIGNATURE_HEADER,
};
use serde_json::{json, Value};

fn call(fake: &FakeViber, method: &str, token: Option<&str>, body: Value) -> Value {
    let mut request = agent()
        .post(format!("{}/pa/{method}", fake.base_url()))
        .header("Content-Type", "application/json");
    if let Some(token) = token {
        request = request.header(AUTH_HEADER, token);
    }
    let (status, content_type, text) = read(request.send(body.to_string()));
    assert_eq!((status, content_type.as_str()), (200, "application/json"));
    json(&text)
}

fn api(fake: &FakeViber, method: &str, body: Value) -> Value {
    call(fake, method, Some(FIXTURE_TOKEN), body)
}

fn text_to(receiver: &str, text: &str) -> Value {
    json!({"receiver": receiver, "min_api_version": 1, "sender": {"name": "Північний вітер"},
           "type": "text", "text": text})
}

#[test]
fn get_account_info_answers_the_fixture_account() {
    let fake = FakeViber::start(FIXTURE_TOKEN);
    let info = api(&fake, "get_account_info", json!({}));
    assert_eq!(info["status"], 0);
    assert_eq!(info["id"], "pa:5732904418751234567");
    assert_eq!(info["name"], "Північний вітер");
    assert_eq!(info["webhook"], "");
    assert_eq!(fake.calls("get_account_info").len(), 1);
}

#[test]
fn a_wrong_or_missing_token_is_status_2_in_an_http_200_body() {
    let fake = FakeViber::start(FIXTURE_TOKEN);
    let wrong = call(&fake, "get_account_info", Some("nope"), json!({}));
    assert_eq!(wrong["status"], 2);
    assert_eq!(wrong["status_message"], "invalidAuthToken");
    let missing = call(&fake, "send_message", None, text_to("u", "hi"));
    assert_eq!(missing["status"], 2);
    assert!(fake.sent_messages("u").is_empty());
}

#[test]
fn set_webhook_posts_the_signed_check_event_first_and_fails_without_a_200() {
    let fake = FakeViber::start(FIXTURE_TOKEN);
    let receiver = Receiver::start();
    let answer = api(
        &fake,
        "set_webhook",
        json!({"url": receiver.url(), "event_types": ["delivered", "seen"], "send_name": true, "send_photo": true}),
    );
    assert_eq!(answer["status"], 0, "{answer}");
    assert_eq!(answer["event_types"], json!(["delivered", "seen"]));
    let received = receiver.received();
    assert_eq!(
        received.len(),
        1,
        "the check callback came before the answer"
    );
    let check = &received[0];
    assert_eq!(
        json(&String::from_utf8_lossy(&check.body))["event"],
        "webhook"
    );
    assert_eq!(
        check.header(SIGNATURE_HEADER),
        Some(sign(FIXTURE_TOKEN, &check.body).as_str())
    );
    let hook = fake.webhook().unwrap();
    assert_eq!(hook.url, receiver.url());
    assert!(hook.send_name && hook.send_photo);

    // A URL that does not answer 200 is refused, and the old registration stays.
    fake.route_webhooks(|_| Ok((403, "forbidden".into())));
    let refused = api(
        &fake,
        "set_webhook",
        json!({"url": "https://crm.example.test/hook"}),
    );
    assert_eq!(refused["status"], 1, "{refused}");
    assert_eq!(fake.webhook().unwrap().url, receiver.url());

    // An empty URL removes the webhook.
    assert_eq!(api(&fake, "set_webhook", json!({"url": ""}))["status"], 0);
    assert_eq!(fake.webhook(), None);
}

#[test]
fn send_message_hands_out_tokens_above_2_pow_53_and_records_the_body() {
    let fake = FakeViber::start(FIXTURE_TOKEN);
    let answer = api(&fake, "send_message", text_to("user-1", "Добрий день"));
    assert_eq!(answer["status"], 0);
    let token = answer["message_token"].as_u64().unwrap();
    assert_eq!(token, 5913847366655544433);
    assert!(token > 1 << 53);
    let sent = fake.sent_messages("user-1");
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0].kind(), sent[0].field("text")),
        ("text", Some("Добрий день"))
    );
    assert_eq!(sent[0].message_token, token);
}

#[test]
fn send_message_refuses_what_viber_refuses() {
    let fake = FakeViber::start(FIXTURE_TOKEN);
    let mut no_sender = text_to("u", "hi");
    no_sender["sender"] = json!({});
    assert_eq!(api(&fake, "send_message", no_sender)["status"], 3);
    let long = "я".repeat(7001);
    assert_eq!(api(&fake, "send_message", text_to("u", &long))["status"], 3);
    let picture = |media: &str| json!({"receiver": "u", "sender": {"name": "Bot"}, "type": "picture", "text": "", "media": media});
    assert_eq!(
        api(
            &fake,
            "send_message",
            picture("https://crm.example.test/media.php?id=1")
        )["status"],
        3,
        "the last path segment must name an image"
    );
    assert_eq!(
        api(
            &fake,
            "send_message",
            picture("https://crm.example.test/m/1/photo.jpg?s=1")
        )["status"],
        0
    );
    let file = json!({"receiver": "u", "sender": {"name": "Bot"}, "type": "file",
        "media": "https://crm.example.test/m/2/setup.exe", "file_name": "setup.exe", "size": 10});
    assert_eq!(api(&fake, "send_message", file)["status"], 3);
    assert_eq!(
        api(
            &fake,
            "send_message",
            json!({"sender": {"name": "Bot"}, "type": "text", "text": "x"})
        )["status"],
        4
    );
    assert_eq!(fake.sent_messages("u").len(), 1);
}

#[test]
fn scripted_failures_come_first_then_the_method_recovers() {
    let fake = FakeViber::start(FIXTURE_TOKEN);
    fake.fail_next(
        "send_message",
        r#"{"status":12,"status_message":"Too many requests","message_token":5913847390000000002,"chat_hostname":"SN-CHAT-02_"}"#,
    );
    let limited = api(&fake, "send_message", text_to("u", "1"));
    assert_eq!(limited["status"], 12);
    assert_eq!(limited["message_token"].as_u64(), Some(5913847390000000002));
    assert_eq!(api(&fake, "send_message", text_to("u", "2"))["status"], 0);
}

#[test]
fn callbacks_are_signed_and_an_unsubscribed_user_cannot_be_written_to() {
    let fake = FakeViber::start(FIXTURE_TOKEN);
    // (signature, body) of every callback.
    type Seen = Vec<(String, Vec<u8>)>;
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let sink = Arc::clone(&seen);
    fake.route_webhooks(move |delivery| {
        let signature = delivery.header(SIGNATURE_HEADER).unwrap_or_default();
        sink.lock()
            .unwrap()
            .push((signature.to_string(), delivery.body.clone()));
        Ok((200, "ok".into()))
    });
    assert_eq!(
        api(
            &fake,
            "set_webhook",
            json!({"url": "https://crm.example.test/webhook.php?channel=1"})
        )["status"],
        0
    );
    let user = ViberUser::new("Qm9vbGVhbkthdFZpYmVyMDAx", "Олена Коваль");
    fake.post_event(&fake.text_event(&user, "Добрий день"))
        .unwrap();
    fake.post_event(&fake.unsubscribed_event(&user.id)).unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3, "check, message, unsubscribed");
    for (signature, body) in &seen {
        assert_eq!(signature, &sign(FIXTURE_TOKEN, body));
    }
    let message = json(&String::from_utf8_lossy(&seen[1].1));
    assert_eq!(message["sender"]["name"], "Олена Коваль");
    assert!(message["message_token"].as_u64().unwrap() > 1 << 53);

    let refused = api(&fake, "send_message", text_to(&user.id, "hi"));
    assert_eq!(refused["status"], 6);
    assert_eq!(refused["status_message"], "notSubscribed");
    // A new message subscribes the user again.
    fake.post_event(&fake.text_event(&user, "я тут")).unwrap();
    assert_eq!(
        api(&fake, "send_message", text_to(&user.id, "hi"))["status"],
        0
    );
    let details = api(&fake, "get_user_details", json!({"id": user.id}));
    assert_eq!(details["user"]["name"], "Олена Коваль");
}

#[test]
fn the_shared_fixture_signatures_match_the_fakes_signing() {
    let body = br#"{"event":"webhook","timestamp":1732542311045,"chat_hostname":"SN-372_","message_token":5913847290123456789}"#;
    assert_eq!(
        sign(FIXTURE_TOKEN, body),
        "39a85c2c409efea0e18f45560ce0a97ea28d715bc7afa4a4d3dd2eb610b8d28e"
    );
}

#[test]
fn media_of_callbacks_is_served_byte_exact() {
    let fake = FakeViber::start(FIXTURE_TOKEN);
    let user = ViberUser::new("u1", "Petro");
    let bytes = vec![0xff, 0xd8, 0xff, 0x00, 0x01];
    let event = fake.picture_event(&user, "фото 1.jpg", bytes.clone(), "Ось");
    let url = event["message"]["media"].as_str().unwrap().to_string();
    assert!(url.ends_with(".jpg"), "{url}");
    let mut response = agent().get(&url).call().unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.body_mut().read_to_vec().unwrap(), bytes);
    let missing = agent()
        .get(format!("{}/media/99/x.jpg", fake.base_url()))
        .call()
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);
}

#[test]
fn with_fetch_media_the_fake_fetches_what_it_sends_as_viber_does() {
    let fake = FakeViber::start(FIXTURE_TOKEN);
    fake.fetch_media(true);
    let served = fake.add_media("catalog.png", "image/png", b"\x89PNG catalog".to_vec());
    let picture = |media: &str| json!({"receiver": "u", "sender": {"name": "Bot"}, "type": "picture", "text": "", "media": media});
    assert_eq!(api(&fake, "send_message", picture(&served))["status"], 0);
    let gone = format!("{}/media/99/gone.png", fake.base_url());
    assert_eq!(
        api(&fake, "send_message", picture(&gone))["status"],
        0,
        "Viber answers first, fetches after"
    );
    let sent = fake.sent_messages("u");
    assert_eq!(sent[0].fetched, Some(Ok(b"\x89PNG catalog".to_vec())));
    assert!(
        matches!(&sent[1].fetched, Some(Err(why)) if why.starts_with("HTTP 404")),
        "{:?}",
        sent[1].fetched
    );
}
