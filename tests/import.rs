//! Importing the original socialChats plugin's data: its tables built as the plugin built them,
//! with realistic rows (Cyrillic, HTML-escaped text, attachment JSON, CSV operator lists, NULLs).

mod common;

use common::*;
use mysql::prelude::Queryable;
use serde_json::{json, Value};

const OLD_TABLES: &str = r#"
CREATE TABLE app_chats_channels (
  `id` INT(20) NOT NULL AUTO_INCREMENT, `datum` TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
  `name` VARCHAR(200) NULL DEFAULT NULL, `type` VARCHAR(100) NULL DEFAULT NULL,
  `channel_id` VARCHAR(255) NULL DEFAULT NULL, `token` VARCHAR(255) NULL DEFAULT NULL,
  `settings` TEXT NULL, `active` CHAR(5) NULL DEFAULT 'on', `identity` INT(20) NULL DEFAULT '1',
  PRIMARY KEY (`id`)) COLLATE 'utf8_general_ci' ENGINE=InnoDB;
CREATE TABLE app_chats_chat (
  `id` INT(20) NOT NULL AUTO_INCREMENT, `channel_id` VARCHAR(200) NULL DEFAULT NULL,
  `chat_id` VARCHAR(200) NULL DEFAULT NULL, `client_id` VARCHAR(200) NULL DEFAULT NULL,
  `client_firstname` VARCHAR(255) NULL DEFAULT NULL, `client_lastname` VARCHAR(255) NULL DEFAULT NULL,
  `client_avatar` VARCHAR(255) NULL DEFAULT NULL, `users` VARCHAR(255) NULL DEFAULT NULL,
  `clid` INT(20) NULL DEFAULT NULL, `pid` INT(20) NULL DEFAULT NULL, `status` CHAR(10) NULL DEFAULT 'free',
  `type` CHAR(10) NULL DEFAULT NULL, `phone` CHAR(15) NULL DEFAULT NULL, `email` CHAR(255) NULL DEFAULT NULL,
  `identity` INT(20) NULL DEFAULT '1', PRIMARY KEY (`id`)) COLLATE 'utf8_general_ci' ENGINE=InnoDB;
CREATE TABLE app_chats_dialogs (
  `id` INT(20) NOT NULL AUTO_INCREMENT, `chat_id` VARCHAR(100) NULL DEFAULT NULL,
  `message_id` VARCHAR(100) NULL DEFAULT NULL, `direction` CHAR(5) NULL DEFAULT NULL,
  `status` CHAR(10) NULL DEFAULT NULL, `content` TEXT NULL, `readability` TEXT NULL, `attachment` TEXT NULL,
  `server_timestamp` DATETIME NULL DEFAULT NULL, `datum` TIMESTAMP NULL DEFAULT CURRENT_TIMESTAMP,
  `iduser` INT(20) NULL DEFAULT NULL, `identity` INT(20) NULL DEFAULT '1', PRIMARY KEY (`id`))
  COLLATE 'utf8_general_ci' ENGINE=InnoDB;
CREATE TABLE app_chats_logs (
  `id` INT(20) NOT NULL AUTO_INCREMENT, `datum` TIMESTAMP NULL DEFAULT CURRENT_TIMESTAMP,
  `chat_id` VARCHAR(255) NULL, `event` CHAR(10) NULL, `oldvalue` VARCHAR(300) NULL, `newvalue` VARCHAR(300) NULL,
  `iduser` INT(20) NULL, `identity` INT(20) NULL DEFAULT 1, PRIMARY KEY (`id`)) COLLATE='utf8_general_ci' ENGINE=InnoDB;
"#;

const OLD_ROWS: &str = r#"
INSERT INTO app_chats_channels (id, datum, name, type, channel_id, token, settings, active) VALUES
 (1, '2020-03-01 10:00:00', 'Телеграм магазина', 'Telegram', '7311862940', '7311862940:AAHs9kQe2v7XcT1mPz4LbN8yRw3JdF6uVgE', '{"link":"https://t.me/shop_bot","name":"Магазин"}', 'on'),
 (2, '2020-03-02 10:00:00', 'Вайбер', 'Viber', 'pa:5732904418751234567', '4a1c9f0e2b7d3a55-7c1e9b2f4d6a8e01-3b5d7f9a1c2e4f60', NULL, 'off'),
 (3, '2020-03-03 10:00:00', 'Что-то своё', 'ApiMessenger', 'api-1', 'x', '{}', 'on');
INSERT INTO app_chats_chat (id, channel_id, chat_id, client_id, client_firstname, client_lastname, users, clid, pid, status, phone, email) VALUES
 (1, '7311862940', '5082317746', '5082317746', 'Алексей', 'Смирнов', '2,1', 77, NULL, 'inwork', '+79001234567', 'a@example.ru'),
 (2, 'pa:5732904418751234567', 'viber-chat-9', 'Xk9+uS4=', 'Олена', NULL, '', NULL, 15, 'archive', NULL, NULL),
 (3, '7311862940', '6000000001', NULL, 'Гость', '', NULL, NULL, NULL, 'free', '', ''),
 (4, 'api-1', 'api-chat', 'api-user', 'Никто', NULL, NULL, NULL, NULL, 'free', NULL, NULL),
 (5, '7311862940', '6000000002', '6000000002', 'Заблокировавший', NULL, '1', NULL, NULL, 'blocked', NULL, NULL);
INSERT INTO app_chats_dialogs (id, chat_id, message_id, direction, status, content, attachment, server_timestamp, datum, iduser) VALUES
 (1, '5082317746', '412', 'in', 'seen', 'Здравствуйте! &lt;b&gt;Сколько&lt;/b&gt; стоит доставка?', NULL, '2020-03-05 09:00:00', '2020-03-05 09:00:01', NULL),
 (2, '5082317746', '413', 'out', 'seen', 'Доставка &amp; сборка — 500 ₽', NULL, NULL, '2020-03-05 09:05:00', 2),
 (3, '5082317746', '414', 'in', 'seen', '', '{"photo":[{"url":"/files/chatcash/photo-414.jpg"}],"doc":[{"url":"/files/chatcash/lost.pdf","name":"Договор.pdf"}]}', NULL, '2020-03-05 09:06:00', NULL),
 (4, 'viber-chat-9', 'token-1', 'in', NULL, 'Привіт', NULL, NULL, '2020-02-01 12:00:00', NULL),
 (5, '6000000001', NULL, 'in', NULL, 'без идентификатора', NULL, NULL, '0000-00-00 00:00:00', NULL),
 (6, 'unknown-chat', '1', 'in', NULL, 'потерянное', NULL, NULL, '2020-01-01 00:00:00', NULL),
 (7, '5082317746', '412', 'in', 'seen', 'дубль того же сообщения', NULL, NULL, '2020-03-05 09:00:02', NULL);
INSERT INTO app_chats_logs (id, datum, chat_id, event, oldvalue, newvalue, iduser) VALUES
 (1, '2020-03-05 09:01:00', '5082317746', 'dialog', 'free', 'inwork', 2),
 (2, '2020-03-05 09:05:00', '5082317746', 'answer', NULL, '00:05:00', 2),
 (3, '2020-03-06 10:00:00', 'viber-chat-9', 'dialog', 'inwork', 'archive', 1);
"#;

fn load(h: &Harness, sql: &str) {
    let mut conn = h.db.conn();
    conn.query_drop("SET SESSION sql_mode = ''").unwrap();
    for statement in crmchats::store::split_statements(sql) {
        conn.query_drop(statement).unwrap();
    }
}

fn count(h: &Harness, table: &str) -> i64 {
    h.db.count(table)
}

#[test]
fn the_original_plugins_data_is_imported_once_with_everything_that_maps() {
    let h = Harness::new();
    let files = TempDir::new("crm-root");
    std::fs::create_dir_all(files.0.join("files/chatcash")).unwrap();
    std::fs::write(
        files.0.join("files/chatcash/photo-414.jpg"),
        b"\xff\xd8\xffold photo",
    )
    .unwrap();
    assert_eq!(
        h.call(
            "import.socialchats",
            json!({"operator_id": ADMIN, "dry_run": true})
        )
        .unwrap()["found"],
        false,
        "no old tables, nothing to do"
    );
    load(&h, OLD_TABLES);
    load(&h, OLD_ROWS);

    let dry = h
        .call(
            "import.socialchats",
            json!({"operator_id": ADMIN, "dry_run": true, "files_root": files.0}),
        )
        .unwrap();
    assert_eq!(dry["imported"]["channels"], 2, "{dry}");
    assert_eq!(count(&h, "channels"), 0, "a dry run writes nothing");
    assert_eq!(count(&h, "messages"), 0);
    assert_eq!(
        h.call("import.socialchats", json!({"operator_id": MANAGER}))
            .unwrap_err()
            .code(),
        "forbidden"
    );

    let done = h
        .call(
            "import.socialchats",
            json!({"operator_id": ADMIN, "files_root": files.0}),
        )
        .unwrap();
    assert_eq!(done["imported"]["channels"], 2, "{done}");
    assert_eq!(done["imported"]["dialogs"], 4, "{done}");
    assert_eq!(done["imported"]["messages"], 5, "{done}");
    assert_eq!(done["imported"]["attachments"], 1, "{done}");
    assert_eq!(done["imported"]["attachments_missing"], 1, "{done}");
    assert_eq!(done["imported"]["events"], 3, "{done}");
    let reasons = done["skipped"].to_string();
    assert!(reasons.contains("ApiMessenger"), "{reasons}");
    assert!(reasons.contains("unknown-chat"), "{reasons}");
    assert!(reasons.contains("same message_id"), "{reasons}");
    let mut dry_as_done = dry.clone();
    dry_as_done["dry_run"] = json!(false);
    assert_eq!(
        done, dry_as_done,
        "the dry run reported exactly what the import did"
    );

    // Channels keep their tokens and settings; their webhooks wait for a save.
    let channels = h.call("channels.list", json!({})).unwrap()["channels"].clone();
    let telegram = channels
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "telegram")
        .unwrap();
    assert_eq!(telegram["name"], "Телеграм магазина");
    assert_eq!(telegram["settings"]["link"], "https://t.me/shop_bot");
    assert!(telegram["webhook"]["error"]
        .as_str()
        .unwrap()
        .contains("save the channel"));
    let mut conn = h.db.conn();
    let token: String = conn
        .query_first("SELECT token FROM app_crmchats_channels WHERE type = 'telegram'")
        .unwrap()
        .unwrap();
    assert_eq!(token, TG_TOKEN);

    // The chat in work: assigned to its first operator, both operators in it, linked to client 77.
    let dialogs = h.dialogs(ADMIN);
    let smirnov = dialogs
        .iter()
        .find(|d| d["visitor"]["name"] == "Алексей Смирнов")
        .unwrap();
    assert_eq!(smirnov["status"], "open");
    assert_eq!(smirnov["assigned_operator_id"], 2);
    assert_eq!(smirnov["client_id"], 77);
    let mut members = smirnov["operator_ids"].as_array().unwrap().clone();
    members.sort_by_key(|v| v.as_i64());
    assert_eq!(members, vec![json!(1), json!(2)]);
    assert_eq!(smirnov["unread"], 2, "two messages from the visitor");
    let messages = h.messages(smirnov["id"].as_i64().unwrap());
    let texts: Vec<&str> = messages
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        vec![
            "Здравствуйте! <b>Сколько</b> стоит доставка?",
            "Доставка & сборка — 500 ₽",
            ""
        ]
    );
    assert_eq!(
        messages[0]["created_at"], "2020-03-05T09:00:00.000Z",
        "the provider's time"
    );
    assert_eq!(messages[1]["author"]["id"], 2);
    assert_eq!(messages[1]["status"], "read");
    let attachments = messages[2]["attachments"].as_array().unwrap();
    let by_name = |name: &str| attachments.iter().find(|a| a["name"] == name).unwrap();
    let photo = by_name("photo-414.jpg");
    let lost = by_name("Договор.pdf");
    assert_eq!(photo["name"], "photo-414.jpg");
    let got = h
        .call(
            "attachments.get",
            json!({"attachment_id": photo["id"], "operator_id": ADMIN}),
        )
        .unwrap();
    assert_eq!(
        std::fs::read(got["attachment"]["path"].as_str().unwrap()).unwrap(),
        b"\xff\xd8\xffold photo"
    );
    assert_eq!(lost["name"], "Договор.pdf");
    assert_eq!(lost["error"]["code"], "not_imported");

    // Archived and blocked chats are closed; the blocked visitor stays blocked.
    let olena = dialogs
        .iter()
        .find(|d| d["visitor"]["name"] == "Олена")
        .unwrap();
    assert_eq!(olena["status"], "closed");
    assert_eq!(olena["contact_id"], 15);
    let blocked: i64 = conn
        .query_first("SELECT blocked FROM app_crmchats_visitors WHERE external_id = '6000000002'")
        .unwrap()
        .unwrap();
    assert_eq!(blocked, 1);
    let history: Vec<Value> = h
        .call(
            "dialogs.events",
            json!({"operator_id": ADMIN, "dialog_id": olena["id"]}),
        )
        .unwrap()["events"]
        .as_array()
        .unwrap()
        .clone();
    assert!(history
        .iter()
        .any(|e| e["kind"] == "socialchats_log" && e["data"]["new"] == "archive"));

    // Running it again imports nothing new; the old tables are untouched.
    let again = h
        .call(
            "import.socialchats",
            json!({"operator_id": ADMIN, "files_root": files.0}),
        )
        .unwrap();
    assert_eq!(again["imported"], json!({}), "{again}");
    assert_eq!(again["already_imported"]["messages"], 5);
    assert_eq!(count(&h, "messages"), 5);
    let old: i64 = conn
        .query_first("SELECT COUNT(*) FROM app_chats_dialogs")
        .unwrap()
        .unwrap();
    assert_eq!(old, 7);
}
