//! The comet-server publisher against a local MariaDB database shaped like CometQL's
//! `pipes_messages`, logged into as comet-server's users are: Dev ID as user, Dev KEY as password.

mod common;

use common::*;
use crmchats::api::Crmchats;
use mysql::prelude::Queryable;
use serde_json::json;

struct FakeCometQl {
    database: String,
    dev_id: String,
    dev_key: String,
}

impl FakeCometQl {
    fn create(db: &TestDb) -> FakeCometQl {
        let n = std::process::id() as u64 * 1000 + rand_suffix();
        let fake = FakeCometQl {
            database: format!("cometql_{n}"),
            dev_id: format!("{}", 700_000 + n % 100_000),
            dev_key: format!("key{n}"),
        };
        let mut root = db.conn();
        root.query_drop(format!("CREATE DATABASE `{}`", fake.database))
            .unwrap();
        root.query_drop(format!(
            "CREATE TABLE `{}`.pipes_messages (name VARCHAR(64) NOT NULL, event VARCHAR(64) NOT NULL, message TEXT NOT NULL)",
            fake.database
        ))
        .unwrap();
        for host in ["127.0.0.1", "localhost"] {
            root.query_drop(format!(
                "CREATE USER '{}'@'{host}' IDENTIFIED BY '{}'",
                fake.dev_id, fake.dev_key
            ))
            .unwrap();
            root.query_drop(format!(
                "GRANT INSERT ON `{}`.* TO '{}'@'{host}'",
                fake.database, fake.dev_id
            ))
            .unwrap();
        }
        fake
    }

    fn rows(&self, db: &TestDb) -> Vec<(String, String, String)> {
        db.conn()
            .query(format!(
                "SELECT name, event, message FROM `{}`.pipes_messages",
                self.database
            ))
            .unwrap()
    }

    fn drop_all(&self, db: &TestDb) {
        let mut root = db.conn();
        for host in ["127.0.0.1", "localhost"] {
            let _ = root.query_drop(format!("DROP USER '{}'@'{host}'", self.dev_id));
        }
        let _ = root.query_drop(format!("DROP DATABASE `{}`", self.database));
    }
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64
        % 1000
}

#[test]
fn a_new_message_is_announced_on_the_tenants_pipe_with_ids_only() {
    let h = Harness::new();
    let comet = FakeCometQl::create(&h.db);
    let mut cfg = config(&h.db, &h.tg, &h.storage);
    cfg["comet"] = json!({"host": "127.0.0.1", "port": 3306, "database": comet.database});
    let app = Crmchats::open(&cfg).unwrap();
    let channel = app
        .call(
            "channels.create",
            &json!({"type": "telegram", "name": "Bot", "token": TG_TOKEN,
                    "settings": {"webhook_secret": TG_SECRET}}),
        )
        .unwrap()["channel"]["id"]
        .as_i64()
        .unwrap();
    let post = |name: &str| {
        let (body, headers) = fixture(name);
        let request =
            json!({"channel_id": channel, "method": "POST", "headers": headers, "query": {}});
        app.handle_webhook(&request, body.as_bytes()).unwrap()["status"].clone()
    };
    // Not configured: nothing is published.
    assert_eq!(post("private_text"), 200);
    assert!(comet.rows(&h.db).is_empty());

    app.call(
        "settings.set",
        &json!({"operator_id": ADMIN, "settings": {"comet": {"dev_id": comet.dev_id, "dev_key": comet.dev_key}}}),
    )
    .unwrap();
    assert_eq!(post("private_photo_caption"), 200);
    let rows = comet.rows(&h.db);
    comet.drop_all(&h.db);
    assert_eq!(rows.len(), 1, "{rows:?}");
    let (name, event, message) = &rows[0];
    assert_eq!(name, "crmchats_1");
    assert_eq!(event, "changed");
    let message: serde_json::Value = serde_json::from_str(message).unwrap();
    assert_eq!(message["dialog_ids"].as_array().unwrap().len(), 1);
    assert!(
        !rows[0].2.contains("Смирнов"),
        "no names or text travel through comet"
    );
}
