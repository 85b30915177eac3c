//! What the Facebook and WhatsApp Cloud tests share: the library opened on a database of its
//! own with the fake Graph API as both products' API base, fixtures, and Meta-signed posts.
#![allow(dead_code)]

use crmchats::api::Crmchats;
use crmchats_fakes::graph::{meta_json, signature_256, FakeGraph};
use serde_json::{json, Value};

use crate::common::{repo_path, test_config, TempDir, TestDb, ADMIN, PUBLIC_BASE_URL};

pub struct MetaHarness {
    pub db: TestDb,
    pub graph: FakeGraph,
    pub storage: TempDir,
    pub app: Crmchats,
}

impl MetaHarness {
    pub fn new() -> MetaHarness {
        MetaHarness::with_timeout(5)
    }

    /// Messenger calls time out after `secs`.
    pub fn with_timeout(secs: u64) -> MetaHarness {
        let db = TestDb::create();
        let graph = FakeGraph::start();
        let storage = TempDir::new("storage");
        let mut config = test_config(
            &db,
            &storage,
            PUBLIC_BASE_URL,
            json!({
                "facebook": {"api_base": graph.base_url()},
                "whatsapp_cloud": {"api_base": graph.base_url()},
            }),
        );
        config["http_timeout_secs"] = json!(secs);
        let app = Crmchats::open(&config).expect("the library opens on the test database");
        MetaHarness {
            db,
            graph,
            storage,
            app,
        }
    }

    pub fn call(&self, method: &str, params: Value) -> Result<Value, crmchats::error::Error> {
        self.app.call(method, &params)
    }

    /// A webhook POST as the web server hands it over; returns (status, body).
    pub fn post(&self, channel_id: i64, headers: Value, body: &[u8]) -> (u16, String) {
        self.request(channel_id, "POST", headers, json!({}), body)
    }

    /// A body signed with `app_secret` as Meta signs it.
    pub fn post_signed(&self, channel_id: i64, app_secret: &str, body: &[u8]) -> (u16, String) {
        self.post(channel_id, signed_headers(app_secret, body), body)
    }

    /// A payload serialised the way Meta does it, signed.
    pub fn post_payload(
        &self,
        channel_id: i64,
        app_secret: &str,
        payload: &Value,
    ) -> (u16, String) {
        self.post_signed(channel_id, app_secret, meta_json(payload).as_bytes())
    }

    /// The verification GET with these query parameters.
    pub fn get(&self, channel_id: i64, query: Value) -> (u16, String) {
        self.request(channel_id, "GET", json!({}), query, b"")
    }

    fn request(
        &self,
        channel_id: i64,
        method: &str,
        headers: Value,
        query: Value,
        body: &[u8],
    ) -> (u16, String) {
        let request =
            json!({"channel_id": channel_id, "method": method, "headers": headers, "query": query});
        let result = self
            .app
            .handle_webhook(&request, body)
            .expect("handle_webhook answers");
        (
            result["status"].as_u64().unwrap() as u16,
            result["body"].as_str().unwrap().to_string(),
        )
    }

    pub fn dialogs(&self) -> Vec<Value> {
        let listed = self
            .app
            .list_dialogs(&json!({"operator_id": ADMIN, "status": "all"}))
            .unwrap();
        listed["dialogs"].as_array().unwrap().clone()
    }

    pub fn only_dialog(&self) -> Value {
        let dialogs = self.dialogs();
        assert_eq!(dialogs.len(), 1, "{dialogs:?}");
        dialogs[0].clone()
    }

    pub fn messages(&self, dialog_id: i64) -> Vec<Value> {
        let listed = self
            .call(
                "messages.list",
                json!({"dialog_id": dialog_id, "operator_id": ADMIN}),
            )
            .unwrap();
        listed["messages"].as_array().unwrap().clone()
    }

    pub fn send(&self, dialog_id: i64, text: &str) -> Result<Value, crmchats::error::Error> {
        self.app
            .send_message(&json!({"dialog_id": dialog_id, "operator_id": ADMIN, "text": text}))
            .map(|sent| sent["message"].clone())
    }

    /// The stored file of an attachment.
    pub fn attachment_bytes(&self, attachment_id: &Value) -> Vec<u8> {
        let got = self
            .call(
                "attachments.get",
                json!({"attachment_id": attachment_id, "operator_id": ADMIN}),
            )
            .unwrap();
        std::fs::read(got["attachment"]["path"].as_str().unwrap()).unwrap()
    }

    pub fn scalar<T: mysql::prelude::FromValue>(&self, sql: &str) -> Option<T> {
        mysql::prelude::Queryable::query_first(&mut self.db.conn(), sql).unwrap()
    }
}

/// `{"Content-Type":..,"X-Hub-Signature-256":..}` for `body` signed with `app_secret`.
pub fn signed_headers(app_secret: &str, body: &[u8]) -> Value {
    json!({"Content-Type": "application/json", "X-Hub-Signature-256": signature_256(app_secret, body)})
}

/// An inbound fixture: (body bytes exactly as stored, headers).
pub fn fixture(provider: &str, name: &str) -> (Vec<u8>, Value) {
    let dir = repo_path(&format!("tests/fixtures/{provider}/inbound"));
    let body = std::fs::read(dir.join(format!("{name}.json"))).unwrap();
    let headers = std::fs::read_to_string(dir.join(format!("{name}.headers.json"))).unwrap();
    (body, serde_json::from_str(&headers).unwrap())
}

/// The query of a verification GET descriptor and the answer it expects.
pub fn verification(provider: &str, name: &str) -> (Value, Value) {
    let path = repo_path(&format!(
        "tests/fixtures/{provider}/inbound/{name}.request.json"
    ));
    let descriptor: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    (
        descriptor["query"].clone(),
        descriptor["expected_response"].clone(),
    )
}

/// An API fixture, compact.
pub fn api_fixture(provider: &str, name: &str) -> String {
    let path = repo_path(&format!("tests/fixtures/{provider}/api/{name}.json"));
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str::<Value>(&text).unwrap().to_string()
}
