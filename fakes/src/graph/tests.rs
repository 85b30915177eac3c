use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use super::fixture::*;
use super::*;
use crate::http::{build_multipart, BackgroundServer, MultipartPart};

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .proxy(None)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .new_agent()
}

fn read(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> (u16, String) {
    let mut response = response.expect("the fake answers");
    let status = response.status().as_u16();
    (
        status,
        response.body_mut().read_to_string().unwrap_or_default(),
    )
}

fn read_bytes(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> (u16, Vec<u8>) {
    let mut response = response.expect("the fake answers");
    let status = response.status().as_u16();
    (
        status,
        response.body_mut().read_to_vec().unwrap_or_default(),
    )
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn fixture(rel: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn fb_url(fake: &FakeGraph, path: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!(
        "{}/v21.0/{path}{sep}access_token={FB_PAGE_TOKEN}",
        fake.base_url()
    )
}

fn wa_url(fake: &FakeGraph, path: &str) -> String {
    format!("{}/v21.0/{path}", fake.base_url())
}

fn wa_bearer() -> String {
    format!("Bearer {WA_ACCESS_TOKEN}")
}

// --- Messenger -----------------------------------------------------------------------------

#[test]
fn page_info_answers_the_fixture_with_the_page_token_and_190_without_it() {
    let fake = FakeGraph::start();
    let (status, body) = read(agent().get(fb_url(&fake, "me?fields=id,name")).call());
    assert_eq!(status, 200);
    assert_eq!(
        json(&body),
        json(&fixture("facebook/api/page_info_ok.json"))
    );

    let url = format!(
        "{}/v19.0/{FB_PAGE_ID}?fields=id,name,picture",
        fake.base_url()
    );
    let (status, body) = read(
        agent()
            .get(&url)
            .header("Authorization", format!("Bearer {FB_PAGE_TOKEN}"))
            .call(),
    );
    assert_eq!(status, 200, "any vNN.N prefix and the Bearer header work");
    let page = json(&body);
    assert_eq!(page["id"], FB_PAGE_ID);
    assert!(page["picture"]["data"]["url"]
        .as_str()
        .unwrap()
        .starts_with(&fake.base_url()));

    let wrong = format!("{}/v21.0/me?access_token=EAAwrong", fake.base_url());
    let (status, body) = read(agent().get(&wrong).call());
    assert_eq!(status, 400);
    assert_eq!(json(&body)["error"]["code"], 190);
    assert_eq!(json(&body)["error"]["type"], "OAuthException");
    assert_eq!(fake.calls(Endpoint::PageInfo).len(), 3);
}

#[test]
fn unknown_paths_get_graphs_code_100() {
    let fake = FakeGraph::start();
    let (status, body) = read(agent().get(fb_url(&fake, "me/feed")).call());
    assert_eq!(status, 400);
    assert_eq!(json(&body)["error"]["code"], 100);
    let (status, _) = read(
        agent()
            .get(format!(
                "{}/me?access_token={FB_PAGE_TOKEN}",
                fake.base_url()
            ))
            .call(),
    );
    assert_eq!(status, 400, "a path without a version is not the Graph API");
}

#[test]
fn user_profile_and_picture_of_a_registered_user() {
    let fake = FakeGraph::start();
    fake.add_messenger_user(
        MessengerUser::new(FB_PSID, "Анна", "Волкова"),
        Some(StoredFile {
            name: None,
            mime: "image/jpeg".into(),
            bytes: b"\xff\xd8avatar".to_vec(),
        }),
    );
    let (status, body) = read(
        agent()
            .get(fb_url(
                &fake,
                &format!("{FB_PSID}?fields=first_name,last_name,profile_pic"),
            ))
            .call(),
    );
    assert_eq!(status, 200);
    let profile = json(&body);
    let expected = json(&fixture("facebook/api/user_profile_ok.json"));
    for key in ["first_name", "last_name", "id"] {
        assert_eq!(profile[key], expected[key], "{key}");
    }
    let (status, bytes) = read_bytes(agent().get(profile["profile_pic"].as_str().unwrap()).call());
    assert_eq!((status, bytes.as_slice()), (200, &b"\xff\xd8avatar"[..]));

    let (status, body) = read(agent().get(fb_url(&fake, "555?fields=first_name")).call());
    assert_eq!(
        (status, json(&body)["error"]["code"].as_i64()),
        (400, Some(100))
    );
}

#[test]
fn send_api_takes_text_and_answers_the_fixture_shape() {
    let fake = FakeGraph::start();
    let body = json!({"recipient": {"id": FB_PSID}, "messaging_type": "RESPONSE", "message": {"text": "Привет"}});
    let (status, text) = read(
        agent()
            .post(fb_url(&fake, "me/messages"))
            .header("Content-Type", "application/json")
            .send(body.to_string()),
    );
    assert_eq!(status, 200, "{text}");
    let answer = json(&text);
    assert_eq!(answer["recipient_id"], FB_PSID);
    let mid = answer["message_id"].as_str().unwrap();
    assert!(mid.starts_with("m_"));
    let sent = fake.sent_to(Product::Messenger, FB_PSID);
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0].id.as_str(), sent[0].text.as_deref()),
        (mid, Some("Привет"))
    );

    // Without messaging_type the Send API refuses.
    let body = json!({"recipient": {"id": FB_PSID}, "message": {"text": "x"}});
    let (status, text) = read(
        agent()
            .post(fb_url(&fake, &format!("{FB_PAGE_ID}/messages")))
            .header("Content-Type", "application/json")
            .send(body.to_string()),
    );
    assert_eq!(
        (status, json(&text)["error"]["code"].as_i64()),
        (400, Some(100))
    );
    assert_eq!(fake.sent().len(), 1);
}

#[test]
fn send_api_takes_a_multipart_filedata_upload_and_a_payload_url() {
    let fake = FakeGraph::start();
    let data = b"%PDF-1.4 \x00\xff binary".to_vec();
    let (body, content_type) = build_multipart(&[
        MultipartPart::text("recipient", &json!({"id": FB_PSID}).to_string()),
        MultipartPart::text("messaging_type", "RESPONSE"),
        MultipartPart::text(
            "message",
            &json!({"attachment": {"type": "file", "payload": {"is_reusable": true}}}).to_string(),
        ),
        MultipartPart::file("filedata", "Счёт.pdf", "application/pdf", &data),
    ]);
    let (status, text) = read(
        agent()
            .post(fb_url(&fake, "me/messages"))
            .header("Content-Type", &content_type)
            .send(&body[..]),
    );
    assert_eq!(status, 200, "{text}");
    let attachment_id = json(&text)["attachment_id"].as_str().unwrap().to_string();
    let file = fake.sent()[0].file.clone().unwrap();
    assert_eq!(file.bytes, data);
    assert_eq!(file.name.as_deref(), Some("Счёт.pdf"));

    // The reusable attachment can be sent again by id, and a URL is fetched.
    let url = fake.add_cdn_file("photo.png", "image/png", b"\x89PNG...".to_vec());
    for attachment in [
        json!({"type": "file", "payload": {"attachment_id": attachment_id}}),
        json!({"type": "image", "payload": {"url": url}}),
    ] {
        let body = json!({"recipient": {"id": FB_PSID}, "messaging_type": "RESPONSE", "message": {"attachment": attachment}});
        let (status, text) = read(
            agent()
                .post(fb_url(&fake, "me/messages"))
                .header("Content-Type", "application/json")
                .send(body.to_string()),
        );
        assert_eq!(status, 200, "{text}");
    }
    let sent = fake.sent();
    assert_eq!(sent[1].file.as_ref().unwrap().bytes, data);
    assert_eq!(sent[2].file.as_ref().unwrap().bytes, b"\x89PNG...");
    assert_eq!(sent[2].file.as_ref().unwrap().mime, "image/png");
}

#[test]
fn scripted_failures_answer_the_error_fixture_once() {
    let fake = FakeGraph::start();
    let error = fixture("facebook/api/error_10_outside_window.json");
    fake.fail_next(Endpoint::MessengerSend, 400, &error);
    let body = json!({"recipient": {"id": FB_PSID}, "messaging_type": "RESPONSE", "message": {"text": "x"}});
    let send = || {
        read(
            agent()
                .post(fb_url(&fake, "me/messages"))
                .header("Content-Type", "application/json")
                .send(body.to_string()),
        )
    };
    let (status, text) = send();
    assert_eq!(status, 400);
    assert_eq!(json(&text)["error"]["error_subcode"], 2018278);
    assert_eq!(send().0, 200, "only the next call fails");
    assert_eq!(fake.sent().len(), 1);
}

#[test]
fn page_subscribed_apps_are_set_listed_and_removed() {
    let fake = FakeGraph::start();
    let url = fb_url(
        &fake,
        &format!("{FB_PAGE_ID}/subscribed_apps?subscribed_fields=messages,message_echoes"),
    );
    let (status, text) = read(agent().post(&url).send_empty());
    assert_eq!((status, json(&text)), (200, json!({"success": true})));
    assert_eq!(
        fake.subscription(Product::Messenger).subscribed_fields,
        Some(vec!["messages".to_string(), "message_echoes".to_string()])
    );
    let (_, text) = read(
        agent()
            .get(fb_url(&fake, &format!("{FB_PAGE_ID}/subscribed_apps")))
            .call(),
    );
    assert_eq!(json(&text)["data"][0]["id"], FB_APP_ID);
    let (status, _) = read(
        agent()
            .delete(fb_url(&fake, &format!("{FB_PAGE_ID}/subscribed_apps")))
            .call(),
    );
    assert_eq!(status, 200);
    assert_eq!(
        fake.subscription(Product::Messenger).subscribed_fields,
        None
    );

    let bad = fb_url(
        &fake,
        &format!("{FB_PAGE_ID}/subscribed_apps?subscribed_fields=feed"),
    );
    assert_eq!(read(agent().post(&bad).send_empty()).0, 400);
}

// --- WhatsApp Cloud API --------------------------------------------------------------------

#[test]
fn phone_number_info_needs_the_bearer_token() {
    let fake = FakeGraph::start();
    let url = wa_url(
        &fake,
        &format!("{WA_PHONE_NUMBER_ID}?fields=display_phone_number,verified_name"),
    );
    let (status, text) = read(
        agent()
            .get(&url)
            .header("Authorization", wa_bearer())
            .call(),
    );
    assert_eq!(status, 200);
    let info = json(&text);
    assert_eq!(info["id"], WA_PHONE_NUMBER_ID);
    assert_eq!(info["verified_name"], WA_VERIFIED_NAME);
    assert_eq!(info["display_phone_number"], format!("+{WA_DISPLAY_PHONE}"));

    let (status, text) = read(
        agent()
            .get(&url)
            .header("Authorization", "Bearer nope")
            .call(),
    );
    assert_eq!(
        (status, json(&text)["error"]["code"].as_i64()),
        (401, Some(190))
    );
}

#[test]
fn cloud_api_sends_text_and_uploaded_media_and_marks_read() {
    let fake = FakeGraph::start();
    let messages = wa_url(&fake, &format!("{WA_PHONE_NUMBER_ID}/messages"));
    let body = json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "+79161234567", "type": "text", "text": {"body": "Здравствуйте"}});
    let (status, text) = read(
        agent()
            .post(&messages)
            .header("Authorization", wa_bearer())
            .header("Content-Type", "application/json")
            .send(body.to_string()),
    );
    assert_eq!(status, 200, "{text}");
    let answer = json(&text);
    let shape = json(&fixture("whatsapp_cloud/api/send_ok.json"));
    assert_eq!(answer["contacts"], shape["contacts"]);
    assert!(answer["messages"][0]["id"]
        .as_str()
        .unwrap()
        .starts_with("wamid."));

    let data = b"\xff\xd8\xff jpeg bytes".to_vec();
    let (form, content_type) = build_multipart(&[
        MultipartPart::text("messaging_product", "whatsapp"),
        MultipartPart::text("type", "image/jpeg"),
        MultipartPart::file("file", "photo.jpg", "image/jpeg", &data),
    ]);
    let (status, text) = read(
        agent()
            .post(wa_url(&fake, &format!("{WA_PHONE_NUMBER_ID}/media")))
            .header("Authorization", wa_bearer())
            .header("Content-Type", &content_type)
            .send(&form[..]),
    );
    assert_eq!(status, 200, "{text}");
    let media_id = json(&text)["id"].as_str().unwrap().to_string();
    let body = json!({"messaging_product": "whatsapp", "to": "79161234567", "type": "image", "image": {"id": media_id, "caption": "Чек"}});
    let (status, _) = read(
        agent()
            .post(&messages)
            .header("Authorization", wa_bearer())
            .header("Content-Type", "application/json")
            .send(body.to_string()),
    );
    assert_eq!(status, 200);
    let sent = fake.sent_to(Product::WhatsApp, "79161234567");
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].text.as_deref(), Some("Здравствуйте"));
    assert_eq!(sent[1].file.as_ref().unwrap().bytes, data);
    assert_eq!(sent[1].text.as_deref(), Some("Чек"));

    let read_body =
        json!({"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.X"});
    let (status, text) = read(
        agent()
            .post(&messages)
            .header("Authorization", wa_bearer())
            .header("Content-Type", "application/json")
            .send(read_body.to_string()),
    );
    assert_eq!(
        (status, json(&text)),
        (200, json(&fixture("whatsapp_cloud/api/mark_read_ok.json")))
    );
    assert_eq!(fake.marked_read(), vec!["wamid.X".to_string()]);
}

#[test]
fn media_lookup_gives_a_url_that_downloads_only_with_the_bearer_token() {
    let fake = FakeGraph::start();
    fake.add_media("1003383421387256", "image/jpeg", b"JPEGDATA".to_vec());
    let (status, text) = read(
        agent()
            .get(wa_url(&fake, "1003383421387256"))
            .header("Authorization", wa_bearer())
            .call(),
    );
    assert_eq!(status, 200, "{text}");
    let info = json(&text);
    let shape = json(&fixture("whatsapp_cloud/api/media_url_ok.json"));
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&info), keys(&shape));
    assert_eq!(info["file_size"], "8", "file_size is a string");
    let url = info["url"].as_str().unwrap();
    let (status, bytes) = read_bytes(agent().get(url).header("Authorization", wa_bearer()).call());
    assert_eq!((status, bytes.as_slice()), (200, &b"JPEGDATA"[..]));
    assert_eq!(read_bytes(agent().get(url).call()).0, 401);
}

#[test]
fn waba_subscribed_apps_are_set_and_removed() {
    let fake = FakeGraph::start();
    let url = wa_url(&fake, &format!("{WA_WABA_ID}/subscribed_apps"));
    let (status, _) = read(
        agent()
            .post(&url)
            .header("Authorization", wa_bearer())
            .send_empty(),
    );
    assert_eq!(status, 200);
    assert!(fake
        .subscription(Product::WhatsApp)
        .subscribed_fields
        .is_some());
    let (status, _) = read(
        agent()
            .delete(&url)
            .header("Authorization", wa_bearer())
            .call(),
    );
    assert_eq!(status, 200);
    assert!(fake
        .subscription(Product::WhatsApp)
        .subscribed_fields
        .is_none());
}

// --- webhooks ------------------------------------------------------------------------------

/// A callback endpoint answering the verification GET for `verify_token` and recording POSTs.
fn receiver(verify_token: &'static str) -> (BackgroundServer, Arc<Mutex<Vec<RecordedRequest>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&received);
    let server = BackgroundServer::start("127.0.0.1:0", move |mut request| {
        let recorded = RecordedRequest::read_from(&mut request).unwrap();
        let params = recorded.query_params();
        let get = |k: &str| {
            params
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
        };
        let response = if recorded.method == "GET" {
            if get("hub.verify_token").as_deref() == Some(verify_token) {
                tiny_http::Response::from_string(get("hub.challenge").unwrap_or_default())
            } else {
                tiny_http::Response::from_string("").with_status_code(403)
            }
        } else {
            sink.lock().unwrap().push(recorded);
            tiny_http::Response::from_string("EVENT_RECEIVED")
        };
        let _ = request.respond(response);
    })
    .unwrap();
    (server, received)
}

#[test]
fn the_callback_url_is_saved_only_when_it_echoes_the_challenge() {
    let fake = FakeGraph::start();
    let (server, _) = receiver(FB_VERIFY_TOKEN);
    let url = format!("{}/webhook.php?channel=1", server.base_url());
    assert!(!fake
        .save_callback_url(Product::Messenger, &url, "wrong")
        .unwrap());
    assert_eq!(fake.subscription(Product::Messenger).callback_url, None);
    assert!(fake
        .save_callback_url(Product::Messenger, &url, FB_VERIFY_TOKEN)
        .unwrap());
    assert_eq!(
        fake.subscription(Product::Messenger).callback_url,
        Some(url)
    );
}

#[test]
fn webhooks_are_signed_over_the_exact_bytes_with_the_products_app_secret() {
    let fake = FakeGraph::start();
    // Our signing reproduces the fixtures' precomputed headers.
    for (product, secret) in [
        ("facebook", FB_APP_SECRET),
        ("whatsapp_cloud", WA_APP_SECRET),
    ] {
        let body = fixture(&format!("{product}/inbound/message_text.json"));
        let headers = json(&fixture(&format!(
            "{product}/inbound/message_text.headers.json"
        )));
        assert_eq!(
            signature_256(secret, body.as_bytes()),
            headers["X-Hub-Signature-256"]
        );
    }

    let (server, received) = receiver(WA_VERIFY_TOKEN);
    fake.set_callback_url(Product::WhatsApp, &format!("{}/hook", server.base_url()));
    let contact = WhatsAppContact {
        wa_id: "79161234567".into(),
        name: "Иван Петров".into(),
    };
    let payload = whatsapp_webhook(
        fake.config(),
        std::slice::from_ref(&contact),
        vec![whatsapp_message(
            &contact.wa_id,
            "text",
            json!({"body": "Привет 🙏 a/b"}),
        )],
        vec![],
    );
    let (status, answer) = fake.deliver(Product::WhatsApp, &payload).unwrap();
    assert_eq!((status, answer.as_str()), (200, "EVENT_RECEIVED"));
    let got = received.lock().unwrap()[0].clone();
    let raw = String::from_utf8(got.body.clone()).unwrap();
    assert!(raw.is_ascii(), "non-ASCII is escaped: {raw}");
    assert!(
        raw.contains(r"\ud83d\ude4f") && raw.contains(r"a\/b"),
        "{raw}"
    );
    assert_eq!(json(&raw), payload, "escaping keeps the value");
    assert_eq!(
        got.header("X-Hub-Signature-256").unwrap(),
        signature_256(WA_APP_SECRET, &got.body)
    );
    assert_eq!(
        fake.deliver_raw(Product::Messenger, b"{}")
            .unwrap_err()
            .kind(),
        io::ErrorKind::NotFound
    );
}

#[test]
fn an_echo_event_describes_what_the_page_sent() {
    let sent = SentMessage {
        product: Product::Messenger,
        id: "m_abc".into(),
        to: FB_PSID.into(),
        body: json!({"text": "hi"}),
        text: Some("hi".into()),
        file: None,
    };
    let payload = messenger_webhook(FB_PAGE_ID, vec![echo_event(FB_PAGE_ID, FB_APP_ID, &sent)]);
    let event = &payload["entry"][0]["messaging"][0];
    assert_eq!(event["message"]["is_echo"], true);
    assert_eq!(event["message"]["app_id"].as_u64(), Some(1517776481860111));
    assert_eq!(event["recipient"]["id"], FB_PSID);
    assert_eq!(event["sender"]["id"], FB_PAGE_ID);
}
