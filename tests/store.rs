//! The store and init against a real MariaDB: sockets, concurrent migrations, table prefixes,
//! host tables with odd values, and profile reloading.

mod common;

use common::*;
use crmchats::api::Crmchats;
use crmchats_fakes::FakeTelegram;
use mysql::prelude::Queryable;
use serde_json::json;

#[test]
fn init_connects_through_a_unix_socket() {
    let db = TestDb::create();
    let tg = FakeTelegram::start(TG_TOKEN);
    let storage = TempDir::new("socket");
    let mut cfg = config(&db, &tg, &storage);
    cfg["database_url"] = json!(format!(
        "mysql://root@localhost/{}?socket=/run/mysqld/mysqld.sock",
        db.name
    ));
    let app = Crmchats::open(&cfg).expect("socket connection");
    assert_eq!(
        app.call("operators.list", &json!({})).unwrap()["operators"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn two_processes_migrating_the_same_empty_database_at_once_both_succeed() {
    let db = TestDb::create();
    let tg = FakeTelegram::start(TG_TOKEN);
    let storage = TempDir::new("migrate");
    let cfg = config(&db, &tg, &storage);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| Crmchats::open(&cfg).map(|_| ())))
            .collect();
        for h in handles {
            h.join().unwrap().expect("every opener succeeds");
        }
    });
    let versions: Vec<u32> = db
        .conn()
        .query("SELECT version FROM app_crmchats_schema_versions")
        .unwrap();
    let every: Vec<u32> = (1..=crmchats::store::schema_version()).collect();
    assert_eq!(versions, every, "each migration recorded once");
    // Re-opening an up-to-date database changes nothing.
    Crmchats::open(&cfg).unwrap();
    assert_eq!(
        db.conn()
            .query::<u32, _>("SELECT version FROM app_crmchats_schema_versions")
            .unwrap(),
        every
    );
}

#[test]
fn the_table_prefix_applies_to_the_plugins_tables_only_and_bad_ones_are_refused() {
    let db = TestDb::create();
    let tg = FakeTelegram::start(TG_TOKEN);
    let storage = TempDir::new("prefix");
    let mut cfg = config(&db, &tg, &storage);
    cfg["table_prefix"] = json!("crm2_");
    let app = Crmchats::open(&cfg).unwrap();
    let tables: Vec<String> = db
        .conn()
        .query("SHOW TABLES LIKE 'crm2_crmchats_%'")
        .unwrap();
    assert_eq!(tables.len(), 17, "{tables:?}");
    assert_eq!(
        app.call("operators.list", &json!({})).unwrap()["operators"][0]["name"],
        "Анна Админова"
    );

    cfg["table_prefix"] = json!("x`; DROP TABLE app_user; --");
    let err = Crmchats::open(&cfg).err().expect("refused");
    assert_eq!(err.code(), "invalid_argument");
    assert!(err.to_string().contains("table_prefix"));
    cfg["table_prefix"] = json!("app_");
    cfg["host"] = json!({"user_table": "app_user WHERE 1=1"});
    assert_eq!(
        Crmchats::open(&cfg).err().unwrap().code(),
        "invalid_argument"
    );
}

#[test]
fn host_users_with_odd_legacy_values_are_read_and_other_tenants_are_invisible() {
    let db = TestDb::create();
    let mut conn = db.conn();
    conn.query_drop("SET SESSION sql_mode = ''").unwrap();
    conn.query_drop("INSERT INTO app_user (iduser, login, title, isadmin, identity) VALUES (3, 'legacy', '', 'ON', 1), (4, 'other', 'Other tenant', 'on', 2)").unwrap();
    let tg = FakeTelegram::start(TG_TOKEN);
    let storage = TempDir::new("host");
    let app = Crmchats::open(&config(&db, &tg, &storage)).unwrap();
    let ops = app.call("operators.list", &json!({})).unwrap();
    let ops = ops["operators"].as_array().unwrap();
    assert_eq!(ops.len(), 3, "tenant 2's user is not listed: {ops:?}");
    assert_eq!(ops[2]["id"], 3);
    assert_eq!(
        ops[2]["name"], "legacy",
        "an empty title falls back to the login"
    );
    assert_eq!(ops[2]["is_admin"], true, "'ON' counts as on");
}

#[test]
fn a_missing_avatar_is_looked_up_again_later_and_on_demand() {
    let h = Harness::new();
    let id = h.telegram_channel();
    assert_eq!(h.post_fixture(id, "private_text").0, 200);
    let dialog = h.dialogs(ADMIN)[0].clone();
    assert!(
        dialog["visitor"]["avatar_url"].is_null(),
        "no profile photo yet"
    );
    assert_eq!(h.tg.calls("getUserProfilePhotos").len(), 1);

    // The visitor sets a photo; within a day nobody asks again...
    h.tg.add_file("AVATAR2", "profile_photos/file_2.jpg", b"jpeg-2".to_vec());
    h.tg.add_profile_photo(5082317746, "AVATAR2");
    assert_eq!(h.post_fixture(id, "private_photo_caption").0, 200);
    assert_eq!(h.tg.calls("getUserProfilePhotos").len(), 1);
    // ...a day later the next message loads it. (A fresh instance stands for a PHP process that has
    // not looked at this visitor in the last minutes; each process looks at most every 10 minutes.)
    h.db.conn()
        .query_drop("UPDATE app_crmchats_visitors SET profile_checked_at = UTC_TIMESTAMP() - INTERVAL 2 DAY")
        .unwrap();
    let later = Crmchats::open(&config(&h.db, &h.tg, &h.storage)).unwrap();
    let (body, headers) = fixture("private_document");
    let request = json!({"channel_id": id, "method": "POST", "headers": headers});
    assert_eq!(
        later.handle_webhook(&request, body.as_bytes()).unwrap()["status"],
        200
    );
    let dialog = h.dialogs(ADMIN)[0].clone();
    assert!(
        dialog["visitor"]["avatar_url"].as_str().is_some(),
        "{dialog}"
    );

    // An operator can force a reload (the name too).
    h.db.conn()
        .query_drop("UPDATE app_crmchats_visitors SET name = ''")
        .unwrap();
    h.tg.remember_update(&serde_json::from_str(&fixture("private_text").0).unwrap());
    let visitor_id = dialog["visitor"]["id"].clone();
    let refreshed = h
        .call(
            "visitors.refresh_profile",
            json!({"visitor_id": visitor_id, "operator_id": ADMIN}),
        )
        .unwrap();
    assert!(refreshed["visitor"]["avatar_url"].as_str().is_some());
    assert_eq!(refreshed["visitor"]["name"], "Алексей Смирнов");
}

#[test]
fn racing_first_messages_of_a_new_visitor_look_the_profile_up_once() {
    let db = TestDb::create();
    let tg = FakeTelegram::start(TG_TOKEN);
    let storage = TempDir::new("race");
    let cfg = config(&db, &tg, &storage);
    let first = Crmchats::open(&cfg).unwrap();
    let created = first
        .call(
            "channels.create",
            &json!({"type": "telegram", "name": "Bot", "token": TG_TOKEN,
            "settings": {"webhook_secret": TG_SECRET}}),
        )
        .unwrap();
    let channel_id = created["channel"]["id"].as_i64().unwrap();
    // Six PHP processes, each with a message of the same new visitor.
    let instances: Vec<Crmchats> = (0..6).map(|_| Crmchats::open(&cfg).unwrap()).collect();
    std::thread::scope(|s| {
        for (i, app) in instances.iter().enumerate() {
            s.spawn(move || {
                let update = json!({"update_id": 10 + i, "message": {"message_id": 10 + i, "date": 1,
                    "from": {"id": 777_i64, "first_name": "Ann"}, "chat": {"id": 777_i64, "type": "private"},
                    "text": format!("msg {i}")}});
                let request = json!({"channel_id": channel_id, "headers": {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}});
                let answer = app.handle_webhook(&request, update.to_string().as_bytes()).unwrap();
                assert_eq!(answer["status"], 200);
            });
        }
    });
    assert_eq!(db.count("messages"), 6);
    assert_eq!(
        tg.calls("getUserProfilePhotos").len(),
        1,
        "one process claimed the lookup"
    );
}

#[test]
fn storage_drop_removes_the_plugins_tables_only_for_an_admin_who_spells_it_out() {
    let db = TestDb::create();
    let tg = FakeTelegram::start(TG_TOKEN);
    let storage = TempDir::new("drop");
    let app = Crmchats::open(&config(&db, &tg, &storage)).unwrap();
    let code = |params: serde_json::Value| app.call("storage.drop", &params).unwrap_err().code();
    assert_eq!(
        code(json!({"operator_id": 2, "confirm": "drop all crmchats data"})),
        "forbidden"
    );
    assert_eq!(
        code(json!({"operator_id": 1, "confirm": "yes"})),
        "invalid_argument"
    );
    let dropped = app
        .call(
            "storage.drop",
            &json!({"operator_id": 1, "confirm": "drop all crmchats data"}),
        )
        .unwrap();
    assert_eq!(dropped["dropped"].as_array().unwrap().len(), 17);
    let left: Vec<String> = db
        .conn()
        .query("SHOW TABLES LIKE 'app_crmchats_%'")
        .unwrap();
    assert!(left.is_empty(), "{left:?}");
    let host: Vec<String> = db.conn().query("SHOW TABLES LIKE 'app_user'").unwrap();
    assert_eq!(host.len(), 1, "the CRM's own tables stay");
}
