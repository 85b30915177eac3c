use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use ureq::unversioned::multipart::{Form, Part};

use super::*;
use crate::http::BackgroundServer;

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .proxy(None)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .new_agent()
}

/// Calls `method` as a form POST with the token and v=5.199; returns (status, body JSON).
fn call(fake: &FakeVk, method: &str, params: &[(&str, &str)]) -> (u16, Value) {
    let mut form: Vec<(&str, &str)> = vec![("access_token", FIXTURE_TOKEN), ("v", API_VERSION)];
    form.extend_from_slice(params);
    let mut response = agent()
        .post(format!("{}/method/{method}", fake.base_url()))
        .send_form(form)
        .unwrap();
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_string().unwrap();
    (status, serde_json::from_str(&body).unwrap())
}

fn response(fake: &FakeVk, method: &str, params: &[(&str, &str)]) -> Value {
    let (status, body) = call(fake, method, params);
    assert_eq!(status, 200);
    assert!(body.get("error").is_none(), "{method}: {body}");
    body["response"].clone()
}

fn error_code(body: &Value) -> Option<i64> {
    body.pointer("/error/error_code").and_then(Value::as_i64)
}

/// A callback endpoint that records bodies and headers and answers from a script (then `ok`).
struct Receiver {
    server: BackgroundServer,
    received: Arc<Mutex<Vec<RecordedRequest>>>,
    answers: Arc<Mutex<VecDeque<(u16, String)>>>,
}

impl Receiver {
    fn start() -> Receiver {
        let received = Arc::new(Mutex::new(Vec::new()));
        let answers: Arc<Mutex<VecDeque<(u16, String)>>> = Arc::new(Mutex::new(VecDeque::new()));
        let (sink, script) = (Arc::clone(&received), Arc::clone(&answers));
        let server = BackgroundServer::start("127.0.0.1:0", move |mut request| {
            let recorded = RecordedRequest::read_from(&mut request).unwrap();
            sink.lock().unwrap().push(recorded);
            let (status, body) = script
                .lock()
                .unwrap()
                .pop_front()
                .unwrap_or((200, "ok".into()));
            let _ =
                request.respond(tiny_http::Response::from_string(body).with_status_code(status));
        })
        .unwrap();
        Receiver {
            server,
            received,
            answers,
        }
    }

    fn url(&self) -> String {
        format!("{}/webhook.php?channel=1", self.server.base_url())
    }

    fn bodies(&self) -> Vec<Value> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .map(|r| serde_json::from_slice(&r.body).unwrap())
            .collect()
    }
}

fn fake_with_server(receiver: &Receiver) -> (FakeVk, i64) {
    let fake = FakeVk::start(FIXTURE_TOKEN);
    let id = response(
        &fake,
        "groups.addCallbackServer",
        &[
            ("group_id", "218734561"),
            ("url", &receiver.url()),
            ("title", "crmchats"),
            ("secret_key", FIXTURE_SECRET),
        ],
    )["server_id"]
        .as_i64()
        .unwrap();
    (fake, id)
}

#[test]
fn get_by_id_answers_the_fixture_community_in_the_groups_profiles_shape() {
    let fake = FakeVk::start(FIXTURE_TOKEN);
    let result = response(&fake, "groups.getById", &[]);
    assert_eq!(result["groups"][0]["id"].as_i64(), Some(GROUP_ID));
    assert_eq!(
        result["groups"][0]["name"],
        "Северный ветер — магазин одежды"
    );
    assert_eq!(result["profiles"], json!([]));
    assert_eq!(fake.calls("GROUPS.GETBYID").len(), 1);
}

#[test]
fn a_wrong_token_or_missing_version_is_an_error_in_an_http_200_body() {
    let fake = FakeVk::start(FIXTURE_TOKEN);
    let mut response = agent()
        .post(format!("{}/method/messages.send", fake.base_url()))
        .send_form([
            ("access_token", "nope"),
            ("v", "5.199"),
            ("peer_id", "745120983"),
        ])
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(error_code(&body), Some(5));
    assert_eq!(
        body["error"]["error_msg"],
        "User authorization failed: invalid access_token (4)."
    );
    let params = body["error"]["request_params"].as_array().unwrap();
    assert_eq!(
        params[0],
        json!({"key": "method", "value": "messages.send"})
    );
    assert!(params.contains(&json!({"key": "peer_id", "value": "745120983"})));
    assert!(
        !body.to_string().contains("nope"),
        "the token is never echoed"
    );

    let mut response = agent()
        .get(format!(
            "{}/method/groups.getById?access_token={FIXTURE_TOKEN}",
            fake.base_url()
        ))
        .call()
        .unwrap();
    let body: Value = serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(error_code(&body), Some(8));

    // The token may also come as a bearer header.
    let mut response = agent()
        .get(format!("{}/method/groups.getById?v=5.199", fake.base_url()))
        .header("Authorization", &format!("Bearer {FIXTURE_TOKEN}"))
        .call()
        .unwrap();
    let body: Value = serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(body["response"]["groups"][0]["id"].as_i64(), Some(GROUP_ID));
}

#[test]
fn send_requires_random_id_and_a_repeated_random_id_sends_once() {
    let fake = FakeVk::start(FIXTURE_TOKEN);
    let (_, body) = call(
        &fake,
        "messages.send",
        &[("peer_id", "745120983"), ("message", "x")],
    );
    assert_eq!(error_code(&body), Some(100));
    assert!(body["error"]["error_msg"]
        .as_str()
        .unwrap()
        .contains("random_id"));

    let params = [
        ("peer_id", "745120983"),
        ("random_id", "12345"),
        ("message", "Здравствуйте!"),
    ];
    let first = response(&fake, "messages.send", &params);
    let again = response(&fake, "messages.send", &params);
    assert_eq!(first, again);
    assert_eq!(first.as_i64(), Some(1519));
    let sent = fake.sent_messages(745120983);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].text, "Здравствуйте!");
    assert_eq!(sent[0].random_id, 12345);
}

#[test]
fn a_user_who_denied_messages_gets_901_and_scripted_failures_come_first() {
    let fake = FakeVk::start(FIXTURE_TOKEN);
    fake.set_messages_denied(812334501, true);
    let params = [
        ("peer_id", "812334501"),
        ("random_id", "1"),
        ("message", "hi"),
    ];
    let (_, body) = call(&fake, "messages.send", &params);
    assert_eq!(error_code(&body), Some(901));
    fake.set_messages_denied(812334501, false);

    fake.fail_next("messages.send", 6);
    let (status, body) = call(&fake, "messages.send", &params);
    assert_eq!((status, error_code(&body)), (200, Some(6)));
    assert_eq!(body["error"]["error_msg"], "Too many requests per second");
    fake.fail_next_raw("messages.send", 502, "<html>Bad Gateway</html>");
    let mut raw = agent()
        .post(format!("{}/method/messages.send", fake.base_url()))
        .send_form([("v", "5.199")])
        .unwrap();
    assert_eq!(raw.status().as_u16(), 502);
    assert_eq!(
        raw.body_mut().read_to_string().unwrap(),
        "<html>Bad Gateway</html>"
    );
    assert!(response(&fake, "messages.send", &params).as_i64().is_some());
}

#[test]
fn photos_go_through_upload_server_save_and_attachment() {
    let fake = FakeVk::start(FIXTURE_TOKEN);
    let server = response(
        &fake,
        "photos.getMessagesUploadServer",
        &[("peer_id", "745120983")],
    );
    let upload_url = server["upload_url"].as_str().unwrap().to_string();
    assert!(upload_url.starts_with(&fake.base_url()), "{upload_url}");
    let jpeg = b"\xff\xd8\xff\xe0 fake jpeg bytes".to_vec();
    let form = Form::new().part(
        "photo",
        Part::bytes(&jpeg)
            .file_name("tag.jpg")
            .mime_str("image/jpeg")
            .unwrap(),
    );
    let mut uploaded = agent().post(&upload_url).send(form).unwrap();
    let uploaded: Value =
        serde_json::from_str(&uploaded.body_mut().read_to_string().unwrap()).unwrap();
    assert!(uploaded.get("response").is_none(), "upload answers are raw");
    let server_id = uploaded["server"].to_string();
    let photo = uploaded["photo"].as_str().unwrap().to_string();
    let hash = uploaded["hash"].as_str().unwrap().to_string();
    let saved = response(
        &fake,
        "photos.saveMessagesPhoto",
        &[("server", &server_id), ("photo", &photo), ("hash", &hash)],
    );
    let p = &saved[0];
    let attachment = format!(
        "photo{}_{}_{}",
        p["owner_id"],
        p["id"],
        p["access_key"].as_str().unwrap()
    );
    assert!(attachment.starts_with("photo-218734561_457239021_"));
    // The same upload cannot be saved twice.
    let (_, again) = call(
        &fake,
        "photos.saveMessagesPhoto",
        &[("server", &server_id), ("photo", &photo), ("hash", &hash)],
    );
    assert_eq!(error_code(&again), Some(100));

    let id = response(
        &fake,
        "messages.send",
        &[
            ("peer_id", "745120983"),
            ("random_id", "7"),
            ("attachment", &attachment),
        ],
    );
    assert!(id.as_i64().is_some());
    assert_eq!(
        fake.sent_messages(745120983)[0].attachments,
        vec![attachment.clone()]
    );
    assert_eq!(fake.saved_file(&attachment).unwrap().bytes, jpeg);
    // The saved photo can be downloaded from its size URL.
    let url = p["sizes"][0]["url"].as_str().unwrap();
    let mut got = agent().get(url).call().unwrap();
    assert_eq!(got.body_mut().read_to_vec().unwrap(), jpeg);
}

#[test]
fn a_photo_upload_that_is_not_an_image_saves_nothing_and_unknown_attachments_are_refused() {
    let fake = FakeVk::start(FIXTURE_TOKEN);
    let server = response(&fake, "photos.getMessagesUploadServer", &[]);
    let form = Form::new().part(
        "photo",
        Part::bytes(b"%PDF-1.4")
            .file_name("a.pdf")
            .mime_str("application/pdf")
            .unwrap(),
    );
    let mut uploaded = agent()
        .post(server["upload_url"].as_str().unwrap())
        .send(form)
        .unwrap();
    let uploaded: Value =
        serde_json::from_str(&uploaded.body_mut().read_to_string().unwrap()).unwrap();
    assert_eq!(uploaded["photo"], "[]");
    let (_, body) = call(
        &fake,
        "photos.saveMessagesPhoto",
        &[
            ("server", &uploaded["server"].to_string()),
            ("photo", "[]"),
            ("hash", uploaded["hash"].as_str().unwrap()),
        ],
    );
    assert_eq!(error_code(&body), Some(100));
    let (_, body) = call(
        &fake,
        "messages.send",
        &[
            ("peer_id", "1"),
            ("random_id", "2"),
            ("attachment", "photo-1_2"),
        ],
    );
    assert_eq!(error_code(&body), Some(100));
}

#[test]
fn documents_go_through_upload_server_and_docs_save() {
    let fake = FakeVk::start(FIXTURE_TOKEN);
    let server = response(
        &fake,
        "docs.getMessagesUploadServer",
        &[("peer_id", "745120983"), ("type", "doc")],
    );
    let pdf = b"%PDF-1.4 invoice".to_vec();
    let form = Form::new().part(
        "file",
        Part::bytes(&pdf)
            .file_name("Счёт_4821.pdf")
            .mime_str("application/pdf")
            .unwrap(),
    );
    let mut uploaded = agent()
        .post(server["upload_url"].as_str().unwrap())
        .send(form)
        .unwrap();
    let uploaded: Value =
        serde_json::from_str(&uploaded.body_mut().read_to_string().unwrap()).unwrap();
    let file = uploaded["file"].as_str().unwrap();
    let saved = response(&fake, "docs.save", &[("file", file)]);
    assert_eq!(saved["type"], "doc");
    assert_eq!(saved["doc"]["title"], "Счёт_4821.pdf");
    assert_eq!(saved["doc"]["ext"], "pdf");
    let attachment = format!("doc{}_{}", saved["doc"]["owner_id"], saved["doc"]["id"]);
    assert_eq!(attachment, "doc-218734561_671203551");
    assert_eq!(fake.saved_file(&attachment).unwrap().bytes, pdf);
    let mut got = agent()
        .get(saved["doc"]["url"].as_str().unwrap())
        .call()
        .unwrap();
    assert_eq!(got.body_mut().read_to_vec().unwrap(), pdf);
}

#[test]
fn delete_for_all_hides_the_message() {
    let fake = FakeVk::start(FIXTURE_TOKEN);
    let id = response(
        &fake,
        "messages.send",
        &[
            ("peer_id", "745120983"),
            ("random_id", "9"),
            ("message", "oops"),
        ],
    )
    .to_string();
    let result = response(
        &fake,
        "messages.delete",
        &[
            ("message_ids", &id),
            ("delete_for_all", "1"),
            ("peer_id", "745120983"),
        ],
    );
    assert_eq!(result[&id], 1);
    assert!(fake.sent_messages(745120983).is_empty());
    let (_, body) = call(
        &fake,
        "messages.delete",
        &[("message_ids", &id), ("delete_for_all", "1")],
    );
    assert_eq!(error_code(&body), Some(100));
}

#[test]
fn users_get_returns_the_fixture_user_with_the_requested_fields() {
    let fake = FakeVk::start(FIXTURE_TOKEN);
    let users = response(
        &fake,
        "users.get",
        &[("user_ids", "745120983"), ("fields", "photo_200")],
    );
    assert_eq!(users[0]["first_name"], "Ольга");
    assert_eq!(users[0]["last_name"], "Петрова");
    assert!(users[0]["photo_200"]
        .as_str()
        .unwrap()
        .contains("userapi.com"));
    assert!(users[0].get("screen_name").is_none());
}

#[test]
fn callback_servers_are_added_edited_configured_and_deleted() {
    let receiver = Receiver::start();
    let (fake, id) = fake_with_server(&receiver);
    assert_eq!(id, 4);
    let (_, body) = call(
        &fake,
        "groups.addCallbackServer",
        &[
            ("group_id", "218734561"),
            ("url", "https://x"),
            ("title", "a title that is too long"),
        ],
    );
    assert_eq!(error_code(&body), Some(100));
    response(
        &fake,
        "groups.setCallbackSettings",
        &[
            ("group_id", "218734561"),
            ("server_id", "4"),
            ("api_version", "5.199"),
            ("message_new", "1"),
            ("message_reply", "1"),
            ("wall_post_new", "0"),
        ],
    );
    let listed = response(
        &fake,
        "groups.getCallbackServers",
        &[("group_id", "218734561")],
    );
    assert_eq!(listed["count"], 1);
    assert_eq!(listed["items"][0]["url"], receiver.url());
    assert_eq!(listed["items"][0]["secret_key"], FIXTURE_SECRET);
    let server = &fake.callback_servers()[0];
    assert_eq!(server.api_version.as_deref(), Some("5.199"));
    assert_eq!(server.events.get("message_new"), Some(&true));
    assert_eq!(server.events.get("wall_post_new"), Some(&false));

    response(
        &fake,
        "groups.editCallbackServer",
        &[
            ("group_id", "218734561"),
            ("server_id", "4"),
            ("url", "https://crm.example/x"),
            ("title", "crmchats"),
            ("secret_key", "newSecret1"),
        ],
    );
    assert_eq!(fake.callback_servers()[0].secret_key, "newSecret1");
    let (_, body) = call(&fake, "groups.getCallbackServers", &[("group_id", "1")]);
    assert_eq!(error_code(&body), Some(15));
    response(
        &fake,
        "groups.deleteCallbackServer",
        &[("group_id", "218734561"), ("server_id", "4")],
    );
    assert!(fake.callback_servers().is_empty());
}

#[test]
fn confirmation_succeeds_only_with_the_exact_code() {
    let receiver = Receiver::start();
    let (fake, id) = fake_with_server(&receiver);
    assert_eq!(
        response(
            &fake,
            "groups.getCallbackConfirmationCode",
            &[("group_id", "218734561")]
        )["code"],
        CONFIRMATION_CODE
    );
    receiver
        .answers
        .lock()
        .unwrap()
        .push_back((200, "ok".into()));
    assert!(!fake.confirm_server(id).unwrap());
    assert_eq!(fake.callback_servers()[0].status, "failed");
    receiver
        .answers
        .lock()
        .unwrap()
        .push_back((200, CONFIRMATION_CODE.into()));
    assert!(fake.confirm_server(id).unwrap());
    assert_eq!(fake.callback_servers()[0].status, "ok");
    let body = &receiver.bodies()[1];
    assert_eq!(body["type"], "confirmation");
    assert_eq!(body["group_id"].as_i64(), Some(GROUP_ID));
    assert_eq!(body["secret"], FIXTURE_SECRET);
}

#[test]
fn events_carry_the_secret_and_are_retried_until_the_answer_is_exactly_ok() {
    let receiver = Receiver::start();
    let (fake, _) = fake_with_server(&receiver);
    let (message, answer) = fake.user_writes(745120983, "Привет").unwrap();
    assert_eq!(answer, (200, "ok".into()));
    let body = &receiver.bodies()[0];
    assert_eq!(body["type"], "message_new");
    assert_eq!(body["object"]["message"], message);
    assert_eq!(body["secret"], FIXTURE_SECRET);
    assert_eq!(body["event_id"].as_str().unwrap().len(), 40);

    {
        let mut answers = receiver.answers.lock().unwrap();
        answers.push_back((500, "oops".into()));
        answers.push_back((200, "OK".into()));
    }
    let raw = include_bytes!("../../../tests/fixtures/vk/inbound/message_new_text.json");
    let answers = fake.deliver_with_retries(raw).unwrap();
    assert_eq!(answers.len(), 3);
    let received = receiver.received.lock().unwrap().clone();
    assert_eq!(received[1].body, raw.to_vec(), "fixtures go out byte-exact");
    assert_eq!(received[1].header(RETRY_COUNTER_HEADER), None);
    assert_eq!(received[2].header(RETRY_COUNTER_HEADER), Some("1"));
    assert_eq!(received[3].header(RETRY_COUNTER_HEADER), Some("2"));
    let deliveries = fake.deliveries();
    assert_eq!(
        deliveries[3].event_id.as_deref(),
        Some("4f2b0c7d8e1a9f3b6c5d2e8a1b7c4d9e0f3a6b2c")
    );
}

#[test]
fn echoes_of_sent_messages_are_message_reply_with_our_random_id() {
    let receiver = Receiver::start();
    let (fake, _) = fake_with_server(&receiver);
    let id = response(
        &fake,
        "messages.send",
        &[
            ("peer_id", "745120983"),
            ("random_id", "1732542419"),
            ("message", "Да"),
        ],
    )
    .as_i64()
    .unwrap();
    fake.echo_sent(id).unwrap();
    let body = &receiver.bodies()[0];
    assert_eq!(body["type"], "message_reply");
    assert_eq!(body["object"]["from_id"].as_i64(), Some(-GROUP_ID));
    assert_eq!(body["object"]["out"], 1);
    assert_eq!(body["object"]["random_id"].as_i64(), Some(1732542419));
    assert_eq!(body["object"]["id"].as_i64(), Some(id));
}

#[test]
fn fixture_links_are_rewritten_to_the_fake_and_served() {
    let fake = FakeVk::start(FIXTURE_TOKEN);
    let raw = include_str!("../../../tests/fixtures/vk/inbound/message_new_photo.json");
    let local = fake.localize(raw);
    assert!(!local.contains("userapi.com"));
    let parsed: Value = serde_json::from_str(&local).unwrap();
    let url = parsed
        .pointer("/object/message/attachments/0/photo/orig_photo/url")
        .and_then(Value::as_str)
        .unwrap();
    assert!(url.starts_with(&fake.base_url()), "{url}");
    let path = url[fake.base_url().len()..]
        .split('?')
        .next()
        .unwrap()
        .to_string();
    fake.add_file(&path, "image/jpeg", b"\xff\xd8 bytes".to_vec());
    let mut got = agent().get(url).call().unwrap();
    assert_eq!(got.status().as_u16(), 200);
    assert_eq!(got.body_mut().read_to_vec().unwrap(), b"\xff\xd8 bytes");
    let missing = agent()
        .get(format!("{}/nothing.jpg", fake.base_url()))
        .call()
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    assert_eq!(
        localize_urls(
            "see https://example.com/a and https://vk.com/doc1_2",
            "http://h"
        ),
        "see https://example.com/a and http://h/doc1_2"
    );
}

#[test]
fn delays_hold_the_answer_back() {
    let fake = FakeVk::start(FIXTURE_TOKEN);
    fake.delay_next("groups.getById", Duration::from_millis(300));
    let started = std::time::Instant::now();
    response(&fake, "groups.getById", &[]);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[test]
fn get_by_id_answers_delivered_and_sent_messages() {
    let receiver = Receiver::start();
    let (fake, _) = fake_with_server(&receiver);
    let (written, _) = fake.user_writes(745120983, "вопрос").unwrap();
    let sent = response(
        &fake,
        "messages.send",
        &[
            ("peer_id", "745120983"),
            ("random_id", "5"),
            ("message", "ответ"),
        ],
    );
    let ids = format!("{},{},999", written["id"], sent);
    let found = response(&fake, "messages.getById", &[("message_ids", &ids)]);
    assert_eq!(found["count"], 2, "unknown ids are left out");
    assert_eq!(found["items"][0], written);
    assert_eq!(found["items"][1]["text"], "ответ");
    assert_eq!(found["items"][1]["out"], 1);
}
