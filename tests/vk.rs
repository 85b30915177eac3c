//! VK end to end through the Rust facade: real MariaDB, the fake VK API on 127.0.0.1, the shared
//! fixtures' real callback bodies.

mod common;

use std::time::Duration;

use common::{
    flush_outbox, is_temporary, repo_path, test_config, wait_until, TempDir, TestDb, ADMIN,
    PUBLIC_BASE_URL,
};
use crmchats::api::Crmchats;
use crmchats::providers::vk::random_id_for;
use crmchats_fakes::vk::{FakeVk, VkUser, CONFIRMATION_CODE, FIXTURE_SECRET, FIXTURE_TOKEN};
use mysql::prelude::Queryable;
use serde_json::{json, Value};

const VISITOR: i64 = 745120983;
const GROUP: &str = "218734561";
const GROUP_NAME: &str = "Северный ветер — магазин одежды";

struct Vk {
    db: TestDb,
    vk: FakeVk,
    _storage: TempDir,
    app: Crmchats,
}

impl Vk {
    fn new() -> Vk {
        let db = TestDb::create();
        let vk = FakeVk::start(FIXTURE_TOKEN);
        let storage = TempDir::new("vk-storage");
        let config = test_config(
            &db,
            &storage,
            PUBLIC_BASE_URL,
            json!({"vk": {"api_base": vk.base_url()}}),
        );
        let app = Crmchats::open(&config).expect("the library opens on the test database");
        Vk {
            db,
            vk,
            _storage: storage,
            app,
        }
    }

    fn call(&self, method: &str, params: Value) -> Result<Value, crmchats::error::Error> {
        self.app.call(method, &params)
    }

    /// A VK channel whose callback secret is the fixtures' one.
    fn channel(&self) -> i64 {
        let created = self
            .call(
                "channels.create",
                json!({"type": "vk", "name": "VK community", "token": FIXTURE_TOKEN,
                    "settings": {"webhook_secret": FIXTURE_SECRET}}),
            )
            .expect("channels.create");
        created["channel"]["id"].as_i64().unwrap()
    }

    fn channel_json(&self, id: i64) -> Value {
        self.call("channels.get", json!({"channel_id": id}))
            .unwrap()["channel"]
            .clone()
    }

    /// POSTs a callback body; returns (status, body).
    fn post(&self, channel_id: i64, body: &str, retry_counter: Option<u32>) -> (u16, String) {
        let mut headers = json!({"Content-Type": "application/json"});
        if let Some(n) = retry_counter {
            headers["X-Retry-Counter"] = json!(n.to_string());
        }
        let request =
            json!({"channel_id": channel_id, "method": "POST", "headers": headers, "query": {}});
        let result = self
            .app
            .handle_webhook(&request, body.as_bytes())
            .expect("handle_webhook answers");
        (
            result["status"].as_u64().unwrap() as u16,
            result["body"].as_str().unwrap().to_string(),
        )
    }

    fn post_fixture(&self, channel_id: i64, name: &str) -> (u16, String) {
        self.post(channel_id, &inbound(name), None)
    }

    fn dialogs(&self) -> Vec<Value> {
        let listed = self
            .app
            .list_dialogs(&json!({"operator_id": ADMIN, "status": "all"}))
            .unwrap();
        listed["dialogs"].as_array().unwrap().clone()
    }

    fn only_dialog(&self) -> Value {
        let dialogs = self.dialogs();
        assert_eq!(dialogs.len(), 1, "{dialogs:?}");
        dialogs[0].clone()
    }

    fn messages(&self, dialog_id: i64) -> Vec<Value> {
        let listed = self
            .call(
                "messages.list",
                json!({"dialog_id": dialog_id, "operator_id": ADMIN}),
            )
            .unwrap();
        listed["messages"].as_array().unwrap().clone()
    }

    fn send(&self, dialog_id: i64, text: &str) -> Value {
        let sent = self
            .app
            .send_message(&json!({"dialog_id": dialog_id, "operator_id": ADMIN, "text": text}));
        sent.expect("send_message stores the message")["message"].clone()
    }

    /// A channel with the text fixture received: (channel id, dialog id).
    fn with_dialog(&self) -> (i64, i64) {
        let id = self.channel();
        assert_eq!(self.post_fixture(id, "message_new_text").0, 200);
        (id, self.only_dialog()["id"].as_i64().unwrap())
    }

    fn visitor_blocked(&self, external_id: i64) -> Option<i64> {
        self.db
            .conn()
            .exec_first(
                "SELECT blocked FROM app_crmchats_visitors WHERE external_id = ?",
                (external_id.to_string(),),
            )
            .unwrap()
    }

    fn stored_file(&self, attachment_id: &Value) -> Vec<u8> {
        let got = self
            .call(
                "attachments.get",
                json!({"attachment_id": attachment_id, "operator_id": ADMIN}),
            )
            .unwrap();
        std::fs::read(got["attachment"]["path"].as_str().unwrap()).unwrap()
    }
}

fn inbound(name: &str) -> String {
    std::fs::read_to_string(repo_path(&format!("tests/fixtures/vk/inbound/{name}.json"))).unwrap()
}

fn api_fixture(name: &str) -> String {
    let text =
        std::fs::read_to_string(repo_path(&format!("tests/fixtures/vk/api/{name}.json"))).unwrap();
    serde_json::from_str::<Value>(&text).unwrap().to_string()
}

fn param(request: &crmchats_fakes::RecordedRequest, name: &str) -> Option<String> {
    request.param(name)
}

// --- channels -------------------------------------------------------------------------------

#[test]
fn check_names_the_community_and_shows_the_confirmation_code() {
    let h = Vk::new();
    let info = h
        .call(
            "channels.check",
            json!({"type": "vk", "token": FIXTURE_TOKEN}),
        )
        .unwrap();
    assert_eq!(info["bot_id"], GROUP);
    assert_eq!(info["bot_name"], GROUP_NAME);
    assert_eq!(info["username"], "severny_veter_shop");
    assert!(info["avatar_url"]
        .as_str()
        .unwrap()
        .contains("size=200x200"));
    assert_eq!(info["details"]["confirmation_code"], CONFIRMATION_CODE);
    assert_eq!(h.db.count("channels"), 0, "check stores nothing");

    let err = h
        .call(
            "channels.check",
            json!({"type": "vk", "token": "vk1.a.revoked"}),
        )
        .unwrap_err();
    assert_eq!(err.code(), "provider_unauthorized");
    assert!(err.to_string().contains("invalid access_token"), "{err}");

    let err = h
        .call(
            "channels.check",
            json!({"type": "vk", "token": FIXTURE_TOKEN, "settings": {"group_id": "1"}}),
        )
        .unwrap_err();
    assert_eq!(
        err.code(),
        "provider_rejected",
        "a token of another community"
    );
}

#[test]
fn creating_a_channel_adds_a_callback_server_with_our_url_secret_and_events() {
    let h = Vk::new();
    let id = h.channel();
    let channel = h.channel_json(id);
    assert_eq!(channel["external_id"], GROUP);
    assert_eq!(channel["bot_name"], GROUP_NAME);
    assert_eq!(channel["webhook"]["state"], "registered");
    assert_eq!(channel["settings"]["confirmation_code"], CONFIRMATION_CODE);
    assert_eq!(channel["settings"]["callback_server_id"], "4");
    assert_eq!(channel["settings"]["group_id"], GROUP);

    let servers = h.vk.callback_servers();
    assert_eq!(servers.len(), 1);
    let server = &servers[0];
    assert_eq!(
        server.url,
        format!("https://crm.example.test/plugins/crmchats/webhook.php?channel={id}")
    );
    assert_eq!(server.secret_key, FIXTURE_SECRET);
    assert_eq!(server.title, "crmchats");
    assert_eq!(server.api_version.as_deref(), Some("5.199"));
    for event in [
        "message_new",
        "message_reply",
        "message_edit",
        "message_allow",
        "message_deny",
    ] {
        assert_eq!(server.events.get(event), Some(&true), "{event}");
    }
    let text = channel.to_string();
    assert!(
        !text.contains(FIXTURE_TOKEN) && !text.contains(FIXTURE_SECRET),
        "secrets never returned in full: {text}"
    );
}

#[test]
fn a_generated_secret_is_one_vk_accepts_and_the_one_callbacks_must_carry() {
    let h = Vk::new();
    let created = h
        .call(
            "channels.create",
            json!({"type": "vk", "name": "VK", "token": FIXTURE_TOKEN}),
        )
        .unwrap();
    let id = created["channel"]["id"].as_i64().unwrap();
    let secret = h.vk.callback_servers()[0].secret_key.clone();
    assert!(secret.len() >= 32 && secret.len() <= 50, "{secret}");
    assert_ne!(secret, FIXTURE_SECRET);
    assert_eq!(h.post_fixture(id, "message_new_text").0, 403);
    let body = inbound("message_new_text").replace(FIXTURE_SECRET, &secret);
    assert_eq!(h.post(id, &body, None), (200, "ok".to_string()));
}

#[test]
fn the_confirmation_request_is_answered_with_the_code_and_stores_nothing() {
    let h = Vk::new();
    let id = h.channel();
    let (status, body) = h.post_fixture(id, "confirmation");
    assert_eq!((status, body.as_str()), (200, CONFIRMATION_CODE));
    assert_eq!(h.db.count("messages"), 0);
    assert_eq!(h.db.count("deliveries"), 0);
    let foreign = inbound("confirmation").replace("218734561", "1");
    assert_eq!(h.post(id, &foreign, None).0, 403, "another community");
}

#[test]
fn a_confirmation_before_the_code_is_kept_is_answered_with_the_code_from_vk() {
    let h = Vk::new();
    let id = h.channel();
    // As if VK confirmed the server while it was being registered: no code kept yet.
    h.db.conn()
        .exec_drop(
            "UPDATE app_crmchats_channels SET settings = JSON_REMOVE(settings, '$.confirmation_code') WHERE id = ?",
            (id,),
        )
        .unwrap();
    let asked_before = h.vk.calls("groups.getCallbackConfirmationCode").len();
    h.vk.set_confirmation_code("b8d4f02a");
    let (status, body) = h.post_fixture(id, "confirmation");
    assert_eq!((status, body.as_str()), (200, "b8d4f02a"));
    assert_eq!(
        h.vk.calls("groups.getCallbackConfirmationCode").len(),
        asked_before + 1
    );
}

#[test]
fn updating_edits_the_same_server_and_deleting_removes_it() {
    let h = Vk::new();
    let id = h.channel();
    h.call(
        "channels.update",
        json!({"channel_id": id, "settings": {"webhook_secret": "rotatedSecret42"}}),
    )
    .unwrap();
    assert_eq!(h.vk.calls("groups.addCallbackServer").len(), 1);
    let edits = h.vk.calls("groups.editCallbackServer");
    assert_eq!(edits.len(), 1);
    assert_eq!(param(&edits[0], "server_id").as_deref(), Some("4"));
    let servers = h.vk.callback_servers();
    assert_eq!(servers.len(), 1);
    assert_eq!(servers[0].secret_key, "rotatedSecret42");
    assert_eq!(
        h.post_fixture(id, "message_new_text").0,
        403,
        "the old secret"
    );

    h.call("channels.delete", json!({"channel_id": id}))
        .unwrap();
    assert!(h.vk.callback_servers().is_empty());
    let removed = h.vk.calls("groups.deleteCallbackServer");
    assert_eq!(param(&removed[0], "server_id").as_deref(), Some("4"));
    assert_eq!(param(&removed[0], "group_id").as_deref(), Some(GROUP));
    assert_eq!(h.post_fixture(id, "confirmation").0, 404);
}

#[test]
fn a_secret_vk_refuses_is_not_saved_and_the_old_one_keeps_working() {
    let h = Vk::new();
    let id = h.channel();
    let err = h
        .call(
            "channels.update",
            json!({"channel_id": id, "settings": {"webhook_secret": "has-dashes_and_underscores"}}),
        )
        .unwrap_err();
    assert_eq!(err.code(), "provider_rejected");
    assert!(err.to_string().contains("secret_key"), "{err}");
    assert_eq!(h.vk.callback_servers()[0].secret_key, FIXTURE_SECRET);
    assert_eq!(h.post_fixture(id, "message_new_text").0, 200);
}

#[test]
fn health_reports_the_server_and_registers_it_again_when_an_admin_removed_it() {
    let h = Vk::new();
    let id = h.channel();
    let health = h
        .call("channels.health", json!({"channel_id": id}))
        .unwrap();
    assert_eq!(health["messenger"]["ok"], true);
    assert_eq!(health["messenger"]["webhook"]["registered"], true);
    assert!(health["messenger"]["webhook"]["last_error"]
        .as_str()
        .unwrap()
        .contains("unconfigured"));
    assert_eq!(health["reregistered"], false);

    assert!(h.vk.remove_callback_server(4));
    let health = h
        .call("channels.health", json!({"channel_id": id}))
        .unwrap();
    assert_eq!(health["messenger"]["webhook"]["registered"], false);
    assert_eq!(health["reregistered"], true);
    let servers = h.vk.callback_servers();
    assert_eq!(servers.len(), 1);
    assert_eq!(servers[0].id, 5, "a new server was added");
    assert_eq!(
        h.channel_json(id)["settings"]["callback_server_id"],
        "5",
        "its id is kept"
    );
}

// --- inbound --------------------------------------------------------------------------------

#[test]
fn a_text_is_stored_once_answered_exactly_ok_even_when_vk_retries() {
    let h = Vk::new();
    let id = h.channel();
    assert_eq!(h.post_fixture(id, "message_new_text"), (200, "ok".into()));
    assert_eq!(
        h.post(id, &inbound("message_new_text"), Some(1)),
        (200, "ok".into()),
        "a retry is acknowledged with `ok` too, or VK keeps retrying"
    );
    assert_eq!(h.db.count("messages"), 1);
    let dialog = h.only_dialog();
    assert_eq!(dialog["channel"]["type"], "vk");
    assert_eq!(dialog["unread"], 1);
    let messages = h.messages(dialog["id"].as_i64().unwrap());
    assert_eq!(messages[0]["direction"], "in");
    assert_eq!(messages[0]["external_id"], "1517");
    assert!(messages[0]["text"]
        .as_str()
        .unwrap()
        .starts_with("Добрый день! Хочу уточнить размер"));
    assert_eq!(messages[0]["created_at"], "2024-11-25T13:45:11.000Z");
}

#[test]
fn name_and_avatar_come_from_users_get() {
    let h = Vk::new();
    let avatar = b"\xff\xd8\xff vk avatar".to_vec();
    let photo_200 =
        h.vk.add_file("/s/v1/ig2/avatar.jpg", "image/jpeg", avatar.clone());
    h.vk.add_user(VkUser {
        id: VISITOR,
        first_name: "Ольга".into(),
        last_name: "Петрова".into(),
        screen_name: Some("olga.petrova88".into()),
        photo_200: Some(photo_200),
    });
    let id = h.channel();
    assert_eq!(h.post_fixture(id, "message_new_text").0, 200);
    let dialog = h.only_dialog();
    assert_eq!(dialog["visitor"]["name"], "Ольга Петрова");
    assert_eq!(dialog["visitor"]["username"], "olga.petrova88");
    let url = dialog["visitor"]["avatar_url"].as_str().expect("avatar");
    let attachment_id: i64 = url.rsplit('=').next().unwrap().parse().unwrap();
    assert_eq!(h.stored_file(&json!(attachment_id)), avatar);
    let asked = h.vk.calls("users.get");
    assert_eq!(asked.len(), 1);
    assert_eq!(param(&asked[0], "user_ids").as_deref(), Some("745120983"));
    assert!(param(&asked[0], "fields").unwrap().contains("photo_200"));
}

#[test]
fn a_photo_is_downloaded_from_its_largest_size_with_the_right_bytes() {
    let h = Vk::new();
    let id = h.channel();
    let body = h.vk.localize(&inbound("message_new_photo"));
    let jpeg: Vec<u8> = (0..90_000u32).map(|i| (i * 13 % 251) as u8).collect();
    // orig_photo and the largest size share the path; the fake serves it whatever the query.
    h.vk.add_file(
        "/impg/Xk3q9Lm2Zp7Rt4Vw8Yb1Nc6Hd0Jf5Gs3Ka2Qe9Tu/aBcDeFgHiJk.jpg",
        "image/jpeg",
        jpeg.clone(),
    );
    assert_eq!(h.post(id, &body, None), (200, "ok".into()));
    let fetched: Vec<_> =
        h.vk.requests()
            .into_iter()
            .filter(|r| r.path.starts_with("/impg/"))
            .collect();
    assert_eq!(fetched.len(), 1);
    assert!(
        fetched[0]
            .query
            .contains("sign=77aa88bb99cc00dd11ee22ff33aa44bb"),
        "orig_photo: {}",
        fetched[0].query
    );
    let dialog = h.only_dialog();
    let message = &h.messages(dialog["id"].as_i64().unwrap())[0];
    assert_eq!(message["text"], "Вот так выглядит бирка");
    let attachment = &message["attachments"][0];
    assert_eq!(attachment["mime"], "image/jpeg");
    assert_eq!(attachment["size"], 90_000);
    assert_eq!(h.stored_file(&attachment["id"]), jpeg);
}

#[test]
fn documents_voice_and_stickers_are_downloaded_and_links_elsewhere_are_not_fetched() {
    let h = Vk::new();
    let id = h.channel();
    let base = h.vk.base_url();
    let pdf = b"%PDF-1.4 invoice".to_vec();
    h.vk.add_file("/doc745120983_9", "application/pdf", pdf.clone());
    h.vk.add_file("/voice/v.ogg", "audio/ogg", b"OggS voice".to_vec());
    let body = json!({"group_id": 218734561, "type": "message_new", "event_id": "ev-docs", "v": "5.199",
        "secret": FIXTURE_SECRET, "object": {"message": {"date": 1732542500, "from_id": VISITOR, "id": 1600,
        "peer_id": VISITOR, "out": 0, "text": "", "attachments": [
            {"type": "doc", "doc": {"id": 9, "owner_id": VISITOR, "title": "Счёт", "ext": "pdf", "size": pdf.len(),
                "url": format!("{base}/doc745120983_9?hash=x")}},
            {"type": "audio_message", "audio_message": {"id": 3, "duration": 2, "link_ogg": format!("{base}/voice/v.ogg")}},
            {"type": "photo", "photo": {"id": 5, "sizes": [{"type": "x", "width": 10, "height": 10,
                "url": "http://169.254.169.254/latest/meta-data"}]}}]}}});
    assert_eq!(h.post(id, &body.to_string(), None).0, 200);
    let dialog = h.only_dialog();
    let attachments = h.messages(dialog["id"].as_i64().unwrap())[0]["attachments"].clone();
    assert_eq!(attachments[0]["name"], "Счёт.pdf");
    assert_eq!(attachments[0]["mime"], "application/pdf");
    assert_eq!(h.stored_file(&attachments[0]["id"]), pdf);
    assert_eq!(attachments[1]["mime"], "audio/ogg");
    assert_eq!(h.stored_file(&attachments[1]["id"]), b"OggS voice");
    assert_eq!(
        attachments[2]["error"]["code"], "provider_rejected",
        "a link outside VK's hosts is refused, not fetched: {attachments}"
    );
}

#[test]
fn a_file_link_too_long_to_keep_is_fetched_again_through_messages_get_by_id() {
    let h = Vk::new();
    let id = h.channel();
    let path = format!("/impg/{}/long.jpg", "q".repeat(300));
    let jpeg = b"\xff\xd8\xff long link photo".to_vec();
    let url = h.vk.add_file(&path, "image/jpeg", jpeg.clone());
    let message = json!({"date": 1732542600, "from_id": VISITOR, "id": 1601, "out": 0, "peer_id": VISITOR,
        "text": "", "attachments": [{"type": "photo", "photo": {"id": 77, "owner_id": VISITOR,
        "sizes": [{"type": "z", "width": 1280, "height": 960, "url": format!("{url}?sign=abc")}]}}]});
    h.vk.remember_message(&message);
    let body = json!({"group_id": 218734561, "type": "message_new", "event_id": "ev-long", "v": "5.199",
        "object": {"message": message}, "secret": FIXTURE_SECRET});
    assert_eq!(h.post(id, &body.to_string(), None), (200, "ok".into()));
    let asked = h.vk.calls("messages.getById");
    assert_eq!(asked.len(), 1);
    assert_eq!(param(&asked[0], "message_ids").as_deref(), Some("1601"));
    let dialog = h.only_dialog();
    let attachment = &h.messages(dialog["id"].as_i64().unwrap())[0]["attachments"][0];
    assert_eq!(h.stored_file(&attachment["id"]), jpeg);
}

#[test]
fn an_echo_typed_in_vk_is_stored_as_outgoing_not_as_a_visitor_message() {
    let h = Vk::new();
    let (id, dialog_id) = h.with_dialog();
    assert_eq!(h.post_fixture(id, "message_reply_echo"), (200, "ok".into()));
    assert_eq!(h.post_fixture(id, "message_reply_echo").0, 200, "once");
    let messages = h.messages(dialog_id);
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert_eq!(messages[1]["direction"], "out");
    assert_eq!(messages[1]["external_id"], "1519");
    assert_eq!(
        messages[1]["text"],
        "Здравствуйте! Да, размер M есть в наличии."
    );
    assert_eq!(
        h.only_dialog()["unread"],
        1,
        "our own message is not unread"
    );
}

#[test]
fn the_echo_of_our_own_reply_does_not_store_it_twice() {
    let h = Vk::new();
    let (id, dialog_id) = h.with_dialog();
    let message = h.send(dialog_id, "Размер M есть 👍");
    assert_eq!(message["status"], "sent");
    let vk_id: i64 = message["external_id"].as_str().unwrap().parse().unwrap();
    let sent = h.vk.sent_messages(VISITOR);
    assert_eq!(
        sent[0].id, vk_id,
        "the community-wide id is the external id"
    );

    // VK's message_reply for it, as the fake builds it from what was sent.
    let echo = json!({"group_id": 218734561, "type": "message_reply", "event_id": "ev-echo", "v": "5.199",
        "secret": FIXTURE_SECRET, "object": {"date": sent[0].date, "from_id": -218734561, "id": vk_id, "out": 1,
        "peer_id": VISITOR, "random_id": sent[0].random_id, "text": sent[0].text, "attachments": []}});
    assert_eq!(h.post(id, &echo.to_string(), None), (200, "ok".into()));
    assert_eq!(h.messages(dialog_id).len(), 2);
}

#[test]
fn allow_and_deny_unblock_and_block_the_visitor() {
    let h = Vk::new();
    let id = h.channel();
    let deny = json!({"group_id": 218734561, "type": "message_deny", "event_id": "ev-deny", "v": "5.199",
        "object": {"user_id": 812334501}, "secret": FIXTURE_SECRET});
    assert_eq!(h.post(id, &deny.to_string(), None), (200, "ok".into()));
    assert_eq!(h.visitor_blocked(812334501), Some(1));
    assert_eq!(h.post_fixture(id, "message_allow"), (200, "ok".into()));
    assert_eq!(h.visitor_blocked(812334501), Some(0));
    assert_eq!(h.db.count("messages"), 0, "no message, no dialog");
    // A redelivered old deny (same event_id) is acknowledged and does not undo the later allow.
    assert_eq!(h.post(id, &deny.to_string(), Some(1)), (200, "ok".into()));
    assert_eq!(h.visitor_blocked(812334501), Some(0));
}

#[test]
fn forged_missing_or_foreign_callbacks_are_refused_and_nothing_is_stored() {
    let h = Vk::new();
    let id = h.channel();
    assert_eq!(h.post_fixture(id, "message_new_wrong_secret").0, 403);
    let mut body: Value = serde_json::from_str(&inbound("message_new_text")).unwrap();
    body.as_object_mut().unwrap().remove("secret");
    assert_eq!(h.post(id, &body.to_string(), None).0, 401);
    let foreign = inbound("message_new_text").replace("\"group_id\":218734561", "\"group_id\":1");
    assert_eq!(h.post(id, &foreign, None).0, 403);
    assert_eq!(h.post(id, "{\"type\":", None).0, 400);
    assert_eq!(h.db.count("messages"), 0);
    assert_eq!(h.db.count("visitors"), 0);
    assert_eq!(h.db.count("deliveries"), 0);
    assert_eq!(h.post_fixture(id, "message_new_text").0, 200);
}

#[test]
fn group_chat_messages_are_acknowledged_and_ignored() {
    let h = Vk::new();
    let id = h.channel();
    let chat =
        inbound("message_new_text").replace("\"peer_id\":745120983", "\"peer_id\":2000000007");
    assert_eq!(h.post(id, &chat, None), (200, "ok".into()));
    assert_eq!(h.db.count("messages"), 0);
    assert_eq!(h.db.count("visitors"), 0);
}

#[test]
fn a_visitor_edit_changes_the_text() {
    let h = Vk::new();
    let (id, dialog_id) = h.with_dialog();
    let edit = json!({"group_id": 218734561, "type": "message_edit", "event_id": "ev-edit", "v": "5.199",
        "secret": FIXTURE_SECRET, "object": {"date": 1732542311, "update_time": 1732542400, "from_id": VISITOR,
        "id": 1517, "out": 0, "peer_id": VISITOR, "text": "Размер L тоже интересует", "attachments": []}});
    assert_eq!(h.post(id, &edit.to_string(), None).0, 200);
    let messages = h.messages(dialog_id);
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["text"], "Размер L тоже интересует");
}

// --- outbound -------------------------------------------------------------------------------

#[test]
fn a_reply_is_sent_with_a_random_id_from_its_idempotency_key() {
    let h = Vk::new();
    let (id, dialog_id) = h.with_dialog();
    let message = h.send(dialog_id, "Здравствуйте! Да, размер M есть в наличии.");
    assert_eq!(message["status"], "sent");
    assert_eq!(message["direction"], "out");
    let calls = h.vk.calls("messages.send");
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(param(call, "peer_id").as_deref(), Some("745120983"));
    assert_eq!(param(call, "v").as_deref(), Some("5.199"));
    assert_eq!(param(call, "access_token").as_deref(), Some(FIXTURE_TOKEN));
    assert_eq!(
        param(call, "message").as_deref(),
        Some("Здравствуйте! Да, размер M есть в наличии.")
    );
    let expected = random_id_for(id, &format!("{}.text", message["id"]));
    assert_eq!(param(call, "random_id"), Some(expected.to_string()));
    let sent = h.vk.sent_messages(VISITOR);
    assert_eq!(message["external_id"], sent[0].id.to_string());
}

#[test]
fn a_text_over_4096_characters_goes_as_two_messages_with_keys_of_their_own() {
    let h = Vk::new();
    let (id, dialog_id) = h.with_dialog();
    let text = "ж".repeat(4096 + 10);
    let message = h.send(dialog_id, &text);
    assert_eq!(message["status"], "sent");
    let sent = h.vk.sent_messages(VISITOR);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].text.chars().count(), 4096);
    assert_eq!(sent[1].text.chars().count(), 10);
    assert_eq!(message["external_id"], sent[0].id.to_string());
    let key = format!("{}.text", message["id"]);
    assert_eq!(sent[0].random_id, i64::from(random_id_for(id, &key)));
    assert_eq!(
        sent[1].random_id,
        i64::from(random_id_for(id, &format!("{key}.1")))
    );
}

#[test]
fn a_retried_send_with_the_same_key_reaches_the_visitor_once() {
    use crmchats::providers::{provider_for, ProviderContext};
    let h = Vk::new();
    let vk = provider_for(crmchats::model::ChannelType::Vk).unwrap();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let settings = serde_json::Map::new();
    let base = h.vk.base_url();
    let ctx = ProviderContext {
        channel_id: 3,
        account_id: Some(GROUP),
        account_name: None,
        token: FIXTURE_TOKEN,
        settings: &settings,
        webhook_secret: FIXTURE_SECRET,
        api_base: &base,
        agent: &agent,
    };
    let first = vk
        .send_text(&ctx, "745120983", "один раз", "41.text")
        .unwrap();
    let again = vk
        .send_text(&ctx, "745120983", "один раз", "41.text")
        .unwrap();
    assert_eq!(first, again);
    assert_eq!(h.vk.sent_messages(VISITOR).len(), 1);
    vk.send_text(&ctx, "745120983", "другое", "42.text")
        .unwrap();
    assert_eq!(h.vk.sent_messages(VISITOR).len(), 2);
}

#[test]
fn photos_and_documents_go_through_the_upload_servers_byte_exact() {
    let h = Vk::new();
    let (_, dialog_id) = h.with_dialog();
    let png: Vec<u8> = b"\x89PNG\r\n\x1a\n"
        .iter()
        .copied()
        .chain((0..5000u32).map(|i| (i % 256) as u8))
        .collect();
    let pdf: Vec<u8> = b"%PDF-1.7\n"
        .iter()
        .copied()
        .chain(std::iter::repeat_n(b'x', 70_000))
        .collect();
    use base64::Engine;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let request = json!({"dialog_id": dialog_id, "operator_id": ADMIN, "text": "Бирка и счёт",
    "attachments": [
        {"data_base64": b64(&png), "name": "tag.png", "mime": "image/png"},
        {"data_base64": b64(&pdf), "name": "Счёт_4821.pdf", "mime": "application/pdf"},
    ]});
    let message = h.app.send_message(&request).unwrap()["message"].clone();
    assert_eq!(message["status"], "sent", "{message}");

    let photo_server = h.vk.calls("photos.getMessagesUploadServer");
    assert_eq!(
        param(&photo_server[0], "peer_id").as_deref(),
        Some("745120983")
    );
    let doc_server = h.vk.calls("docs.getMessagesUploadServer");
    assert_eq!(param(&doc_server[0], "type").as_deref(), Some("doc"));
    assert_eq!(
        param(&doc_server[0], "peer_id").as_deref(),
        Some("745120983")
    );

    let sent = h.vk.sent_messages(VISITOR);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].text, "Бирка и счёт", "the text rode with the photo");
    let photo = &sent[0].attachments[0];
    assert!(photo.starts_with("photo-218734561_457239021"), "{photo}");
    let saved = h.vk.saved_file(photo).unwrap();
    assert_eq!(saved.bytes, png);
    assert_eq!(saved.file_name.as_deref(), Some("tag.png"));
    let doc = &sent[1].attachments[0];
    assert!(doc.starts_with("doc-218734561_671203551"), "{doc}");
    let saved = h.vk.saved_file(doc).unwrap();
    assert_eq!(saved.bytes, pdf);
    assert_eq!(saved.file_name.as_deref(), Some("Счёт_4821.pdf"));
    assert_ne!(
        sent[0].random_id, sent[1].random_id,
        "each part has a key of its own"
    );
}

#[test]
fn an_operator_deletes_a_sent_message_for_everybody() {
    let h = Vk::new();
    let (_, dialog_id) = h.with_dialog();
    let message = h.send(dialog_id, "oops");
    let deleted = h
        .call(
            "messages.delete",
            json!({"message_id": message["id"], "operator_id": ADMIN}),
        )
        .unwrap();
    assert_eq!(deleted["message"]["status"], "deleted");
    let calls = h.vk.calls("messages.delete");
    assert_eq!(calls.len(), 1);
    assert_eq!(
        param(&calls[0], "message_ids"),
        message["external_id"].as_str().map(str::to_string)
    );
    assert_eq!(param(&calls[0], "delete_for_all").as_deref(), Some("1"));
    assert!(h.vk.sent_messages(VISITOR).is_empty());
}

#[test]
fn vk_errors_in_http_200_bodies_map_to_stable_codes_and_temporary_ones_are_retried() {
    let h = Vk::new();
    let (_, dialog_id) = h.with_dialog();
    let cases = [
        ("error_5_auth_failed", "provider_unauthorized"),
        ("error_100_invalid_param", "provider_rejected"),
        ("error_6_too_many_requests", "rate_limited"),
        ("error_901_no_permission", "visitor_blocked"),
    ];
    for (fixture_name, code) in cases {
        h.vk.fail_next_raw("messages.send", 200, &api_fixture(fixture_name));
        let message = h.send(dialog_id, &format!("attempt {code}"));
        // A temporary failure waits in the outbox (retried below); the others fail for good.
        let expected = if is_temporary(code) {
            "queued"
        } else {
            "failed"
        };
        assert_eq!(message["status"], expected, "{fixture_name}");
        assert_eq!(message["error"]["code"], code, "{fixture_name}");
        assert!(message["external_id"].is_null());
        if is_temporary(code) {
            assert_eq!(flush_outbox(&h.app)["outbox"]["sent"], 1);
        }
    }
    assert_eq!(h.visitor_blocked(VISITOR), Some(1), "901 marks the visitor");
    h.vk.fail_next_raw("messages.send", 502, "<html>Bad Gateway</html>");
    let message = h.send(dialog_id, "front down");
    assert_eq!(message["status"], "queued");
    assert_eq!(message["error"]["code"], "provider_unavailable");
    assert_eq!(flush_outbox(&h.app)["outbox"]["sent"], 1);
    h.vk.fail_next("messages.send", 9);
    let message = h.send(dialog_id, "flood");
    assert_eq!(message["error"]["code"], "rate_limited");
}

#[test]
fn a_photo_vk_refuses_fails_the_reply_without_sending_anything() {
    let h = Vk::new();
    let (_, dialog_id) = h.with_dialog();
    use base64::Engine;
    // Declared as PNG but not an image: VK's upload server answers an empty photo list.
    let request = json!({"dialog_id": dialog_id, "operator_id": ADMIN,
        "attachments": [{"data_base64": base64::engine::general_purpose::STANDARD.encode(b"not a png"),
            "name": "x.png", "mime": "image/png"}]});
    let message = h.app.send_message(&request).unwrap()["message"].clone();
    assert_eq!(message["status"], "failed");
    assert_eq!(message["error"]["code"], "provider_rejected");
    assert!(h.vk.calls("photos.saveMessagesPhoto").is_empty());
    assert!(h.vk.sent_messages(VISITOR).is_empty());
}

#[test]
fn a_send_that_timed_out_is_asked_again_with_the_same_random_id_and_arrives_once() {
    // Messenger calls time out after a second.
    let db = TestDb::create();
    let vk = FakeVk::start(FIXTURE_TOKEN);
    let storage = TempDir::new("vk-storage");
    let mut config = test_config(
        &db,
        &storage,
        PUBLIC_BASE_URL,
        json!({"vk": {"api_base": vk.base_url()}}),
    );
    config["http_timeout_secs"] = json!(1);
    let app = Crmchats::open(&config).unwrap();
    let h = Vk {
        db,
        vk,
        _storage: storage,
        app,
    };
    let (_, dialog) = h.with_dialog();
    // VK takes the message but answers after our timeout.
    h.vk.delay_next("messages.send", Duration::from_millis(2500));
    let first = h.send(dialog, "Доставлено один раз");
    assert_eq!(first["status"], "queued", "{first}");
    assert!(is_temporary(first["error"]["code"].as_str().unwrap()));
    wait_until("VK took it", || !h.vk.sent_messages(VISITOR).is_empty());
    assert_eq!(h.vk.sent_messages(VISITOR).len(), 1, "it did arrive");

    // Retried with the same random_id: VK answers with the first message, nothing new.
    let tick = flush_outbox(&h.app);
    assert_eq!(tick["outbox"]["sent"], 1, "{tick}");
    let calls = h.vk.calls("messages.send");
    assert_eq!(calls.len(), 2);
    assert_eq!(param(&calls[0], "random_id"), param(&calls[1], "random_id"));
    let sent = h.vk.sent_messages(VISITOR);
    assert_eq!(sent.len(), 1, "{sent:?}");
    let stored = h.messages(dialog).pop().unwrap();
    assert_eq!(stored["status"], "sent");
    assert_eq!(stored["external_id"], sent[0].id.to_string());
}
