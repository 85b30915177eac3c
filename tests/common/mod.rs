//! Shared test setup: a real MariaDB database per test (created and dropped), a fake Telegram on
//! 127.0.0.1, a storage folder, and the library opened on them; facade helpers every provider's
//! tests use.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crmchats::api::Crmchats;
use crmchats_fakes::http::{parse_urlencoded, WebhookDelivery};
use crmchats_fakes::FakeTelegram;
use mysql::prelude::Queryable;
use serde_json::{json, Map, Value};

pub const TG_TOKEN: &str = "7311862940:AAHs9kQe2v7XcT1mPz4LbN8yRw3JdF6uVgE";
pub const TG_SECRET: &str = "tgShared_9fK2-wLq7Zx4";
pub const ADMIN: i64 = 1;
pub const MANAGER: i64 = 2;

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// The MariaDB server tests use: `CRMCHATS_TEST_MYSQL` or the machine's local server.
pub fn server_url() -> String {
    std::env::var("CRMCHATS_TEST_MYSQL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into())
}

pub fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// A database of its own, with the SalesMan-shaped host tables and two users; dropped at the end.
pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    pub fn create() -> TestDb {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!(
            "crmchats_t{}_{}_{}",
            std::process::id(),
            n,
            crmchats::storage::random_token(3)
        );
        let mut conn = mysql::Conn::new(mysql::Opts::from_url(&server_url()).unwrap())
            .expect("MariaDB must run on 127.0.0.1:3306 (root, empty password); see README.md");
        conn.query_drop(format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
            .unwrap();
        conn.query_drop(format!("USE `{name}`")).unwrap();
        for file in [
            "sql/host-dev/001_salesman.sql",
            "sql/host-dev/002_demo_users.sql",
        ] {
            let sql = std::fs::read_to_string(repo_path(file)).unwrap();
            for statement in crmchats::store::split_statements(&sql) {
                conn.query_drop(statement).unwrap();
            }
        }
        TestDb {
            url: format!("{}/{name}", server_url()),
            name,
        }
    }

    pub fn conn(&self) -> mysql::Conn {
        mysql::Conn::new(mysql::Opts::from_url(&self.url).unwrap()).unwrap()
    }

    pub fn count(&self, table: &str) -> i64 {
        self.conn()
            .query_first(format!("SELECT COUNT(*) FROM `app_crmchats_{table}`"))
            .unwrap()
            .unwrap()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(mut conn) = mysql::Conn::new(mysql::Opts::from_url(&server_url()).unwrap()) {
            let _ = conn.query_drop(format!("DROP DATABASE IF EXISTS `{}`", self.name));
        }
    }
}

/// A temporary folder removed at the end.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "crmchats-{tag}-{}",
            crmchats::storage::random_token(6)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Everything one Telegram test needs.
pub struct Harness {
    pub db: TestDb,
    pub tg: FakeTelegram,
    pub storage: TempDir,
    pub app: Crmchats,
}

impl Harness {
    pub fn new() -> Harness {
        let db = TestDb::create();
        let tg = FakeTelegram::start(TG_TOKEN);
        let storage = TempDir::new("storage");
        let app = Crmchats::open(&config(&db, &tg, &storage))
            .expect("the library opens on the test database");
        Harness {
            db,
            tg,
            storage,
            app,
        }
    }

    pub fn call(&self, method: &str, params: Value) -> Result<Value, crmchats::error::Error> {
        self.app.call(method, &params)
    }

    /// A Telegram channel whose webhook secret is the fixtures' one.
    pub fn telegram_channel(&self) -> i64 {
        self.telegram_channel_with(json!({"webhook_secret": TG_SECRET}))
    }

    pub fn telegram_channel_with(&self, settings: Value) -> i64 {
        let created = self
            .call("channels.create", json!({"type": "telegram", "name": "Support bot", "token": TG_TOKEN, "settings": settings}))
            .expect("channels.create");
        created["channel"]["id"].as_i64().unwrap()
    }

    /// Posts a fixture body with its own headers; returns (status, body).
    pub fn post_fixture(&self, channel_id: i64, name: &str) -> (u16, String) {
        let (body, headers) = fixture(name);
        self.post(channel_id, headers, body.as_bytes())
    }

    pub fn post(&self, channel_id: i64, headers: Value, body: &[u8]) -> (u16, String) {
        post_webhook(&self.app, channel_id, headers, json!({}), body)
    }

    pub fn dialogs(&self, operator_id: i64) -> Vec<Value> {
        list_dialogs(&self.app, operator_id)
    }

    pub fn messages(&self, dialog_id: i64) -> Vec<Value> {
        list_messages(&self.app, dialog_id)
    }

    pub fn send(&self, dialog_id: i64, text: &str) -> Value {
        send_text(&self.app, dialog_id, text)
    }
}

pub fn config(db: &TestDb, tg: &FakeTelegram, storage: &TempDir) -> Value {
    test_config(
        db,
        storage,
        PUBLIC_BASE_URL,
        json!({"telegram": {"api_base": tg.base_url()}}),
    )
}

// --- what every provider's tests ask the facade, whatever the messenger -------------------------

/// Where tests say `php-bridge/` is reachable (nothing listens there).
pub const PUBLIC_BASE_URL: &str = "https://crm.example.test/plugins/crmchats";

/// The library's configuration on a test database and storage; `providers` points the
/// messengers' APIs at fakes.
pub fn test_config(
    db: &TestDb,
    storage: &TempDir,
    public_base_url: &str,
    providers: Value,
) -> Value {
    json!({
        "database_url": db.url,
        "storage_dir": storage.0,
        "public_base_url": public_base_url,
        "providers": providers,
        "http_timeout_secs": 5,
    })
}

/// A webhook request as `webhook.php` hands it over; (status, body) of the answer.
pub fn post_webhook(
    app: &Crmchats,
    channel_id: i64,
    headers: Value,
    query: Value,
    body: &[u8],
) -> (u16, String) {
    let request =
        json!({"channel_id": channel_id, "method": "POST", "headers": headers, "query": query});
    let result = app
        .handle_webhook(&request, body)
        .expect("handle_webhook answers");
    (
        result["status"].as_u64().unwrap() as u16,
        result["body"].as_str().unwrap().to_string(),
    )
}

pub fn list_dialogs(app: &Crmchats, operator_id: i64) -> Vec<Value> {
    let listed = app
        .list_dialogs(&json!({"operator_id": operator_id, "status": "all"}))
        .unwrap();
    listed["dialogs"].as_array().unwrap().clone()
}

pub fn list_messages(app: &Crmchats, dialog_id: i64) -> Vec<Value> {
    let listed = app
        .call(
            "messages.list",
            &json!({"dialog_id": dialog_id, "operator_id": ADMIN}),
        )
        .unwrap();
    listed["messages"].as_array().unwrap().clone()
}

pub fn send_text(app: &Crmchats, dialog_id: i64, text: &str) -> Value {
    let sent =
        app.send_message(&json!({"dialog_id": dialog_id, "operator_id": ADMIN, "text": text}));
    sent.expect("send_message stores the message")["message"].clone()
}

/// A Telegram fixture: (body exactly as stored, headers).
pub fn fixture(name: &str) -> (String, Value) {
    let dir = repo_path("tests/fixtures/telegram/inbound");
    let body = std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap();
    let headers = std::fs::read_to_string(dir.join(format!("{name}.headers.json"))).unwrap();
    (body, serde_json::from_str(&headers).unwrap())
}

pub fn api_fixture(name: &str) -> String {
    let text = std::fs::read_to_string(repo_path(&format!(
        "tests/fixtures/telegram/api/{name}.json"
    )))
    .unwrap();
    serde_json::from_str::<Value>(&text).unwrap().to_string()
}

pub fn tg_headers() -> Value {
    json!({"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TG_SECRET})
}

/// Runs `tick` two hours ahead: every reply waiting in the outbox after a temporary failure is
/// due and tried again.
pub fn flush_outbox(app: &Crmchats) -> Value {
    let later = crmchats::time::Timestamp(crmchats::time::Timestamp::now().millis() + 7_200_000);
    app.call("tick", &json!({"now": later.to_rfc3339()}))
        .expect("tick")
}

/// Waits (at most 10 s) until `done`, e.g. a fake's late processing of a delayed call.
pub fn wait_until(what: &str, done: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting: {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// What a temporary failure leaves: the reply queued with the reason, tried again later.
pub fn is_temporary(code: &str) -> bool {
    matches!(code, "rate_limited" | "provider_unavailable")
}

/// Hands a fake's webhook request to the library as webhook.php would: the channel and the raw
/// query from the URL (the fakes deliver in-process, since the registered URL is the public one).
pub fn deliver_webhook(app: &Crmchats, delivery: &WebhookDelivery) -> (u16, String) {
    let query: Map<String, Value> = delivery
        .url
        .split_once('?')
        .map(|(_, q)| parse_urlencoded(q))
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    let channel_id = query
        .get("channel")
        .and_then(Value::as_str)
        .and_then(|c| c.parse().ok())
        .expect("our webhook URL names the channel");
    let headers: Map<String, Value> = delivery
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    post_webhook(
        app,
        channel_id,
        Value::Object(headers),
        Value::Object(query),
        &delivery.body,
    )
}
