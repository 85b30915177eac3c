//! Sending at the messengers' pace: Telegram's flood limits kept by several processes at once,
//! operators' fresh replies ahead of automatic messages and retries, and a send that timed out
//! after reaching the messenger never sent twice, while the replies behind it wait for the
//! messenger to recover. The fake Telegram enforces the flood limits with real 429 answers.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use common::*;
use crmchats::api::Crmchats;
use crmchats_fakes::{FakeTelegram, FloodLimits};
use mysql::prelude::Queryable;
use serde_json::{json, Value};

static UPDATE_ID: AtomicI64 = AtomicI64::new(800_000);

/// A private text message from Telegram user `uid`.
fn text_update(uid: i64, text: &str) -> Value {
    let n = UPDATE_ID.fetch_add(1, Ordering::Relaxed);
    json!({"update_id": n, "message": {"message_id": n, "date": 1_764_000_000,
        "from": {"id": uid, "is_bot": false, "first_name": format!("Гость {uid}")},
        "chat": {"id": uid, "type": "private", "first_name": format!("Гость {uid}")}, "text": text}})
}

/// Visitors `uids` write once each; returns their dialogs by Telegram chat id.
fn visitors_write(h: &Harness, channel: i64, uids: impl Iterator<Item = i64>) -> HashMap<i64, i64> {
    for uid in uids {
        let (status, body) = h.post(
            channel,
            tg_headers(),
            text_update(uid, "здравствуйте").to_string().as_bytes(),
        );
        assert_eq!(status, 200, "{body}");
    }
    dialogs_by_chat(&h.db)
}

/// Every dialog by its visitor's Telegram chat id.
fn dialogs_by_chat(db: &TestDb) -> HashMap<i64, i64> {
    db.conn()
        .query_map(
            "SELECT v.external_id, d.id FROM app_crmchats_dialogs d \
             JOIN app_crmchats_visitors v ON v.id = d.visitor_id",
            |(chat, dialog): (String, i64)| (chat.parse::<i64>().unwrap(), dialog),
        )
        .unwrap()
        .into_iter()
        .collect()
}

/// The texts the fake Telegram holds for `chat`, oldest first.
fn delivered(tg: &FakeTelegram, chat: i64) -> Vec<String> {
    tg.sent_messages(chat)
        .iter()
        .filter_map(|m| m["text"].as_str().map(str::to_string))
        .collect()
}

/// The most sends the fake accepted within any one second.
fn busiest_second(tg: &FakeTelegram) -> usize {
    let sends = tg.accepted_sends();
    sends
        .iter()
        .map(|first| {
            sends
                .iter()
                .filter(|s| s.at >= first.at && s.at < first.at + Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap_or(0)
}

#[test]
fn replies_from_several_processes_keep_to_telegrams_flood_limits() {
    let h = Harness::new();
    let channel = h.telegram_channel();
    let dialogs = visitors_write(&h, channel, 9001..=9024);
    assert_eq!(dialogs.len(), 24);
    h.tg.enforce_flood_limits(FloodLimits::TELEGRAM);
    // A second library instance on the same database stands for a second PHP process.
    let other_process = Crmchats::open(&config(&h.db, &h.tg, &h.storage)).unwrap();
    let apps = [&h.app, &other_process];
    let hot_chat = 9001;

    let started = Instant::now();
    std::thread::scope(|s| {
        for worker in 0..4usize {
            let app = apps[worker % 2];
            let dialogs = &dialogs;
            s.spawn(move || {
                // Each worker answers its six chats three times, as fast as it can…
                for round in 0..3 {
                    for chat in (9001..=9024).filter(|c| (*c as usize) % 4 == worker) {
                        let text = format!("ответ {round} для {chat}");
                        let sent = send_text(app, dialogs[&chat], &text);
                        assert_ne!(sent["status"], "failed", "{sent}");
                    }
                }
                // …and every worker writes two more to the same chat.
                for n in 0..2 {
                    send_text(app, dialogs[&hot_chat], &format!("ещё {worker}.{n}"));
                }
            });
        }
    });
    // What the pace held back past the callers' patience goes out on tick.
    for _ in 0..5 {
        if h.db.count("outbox") == 0 {
            break;
        }
        let t = h.call("tick", json!({})).unwrap();
        eprintln!("tick: {t}");
    }
    eprintln!("outbox left: {}", h.db.count("outbox"));
    let states: Vec<(String, i64)> =
        h.db.conn()
            .query("SELECT state, COUNT(*) FROM app_crmchats_outbox GROUP BY state")
            .unwrap();
    eprintln!("states: {states:?}");
    let took = started.elapsed();

    assert!(
        h.tg.flood_refusals().is_empty(),
        "Telegram refused {:?}",
        h.tg.flood_refusals()
    );
    let sends = h.tg.accepted_sends();
    assert_eq!(sends.len(), 24 * 3 + 8, "every reply once");
    // What the pace aims at (5 at once, then one per 42 ms: at most 29 in a second), for the
    // record; the fake's refusals above are the check.
    eprintln!("busiest second: {} sends", busiest_second(&h.tg));
    // 80 sends at Telegram's pace take about three seconds; the hot chat's 11 at least 8.
    assert!(took >= Duration::from_millis(7_500), "{took:?}");
    let hot: Vec<_> = sends.iter().filter(|s| s.chat_id == hot_chat).collect();
    assert_eq!(hot.len(), 11);
    assert!(
        hot[10].at - hot[0].at >= Duration::from_millis(7_500),
        "one a second after a burst of 3: {:?}",
        hot[10].at - hot[0].at
    );

    // Each chat got its replies in the order they were written.
    for (&chat, &dialog) in &dialogs {
        let mut written: Vec<(i64, String)> = h
            .messages(dialog)
            .iter()
            .filter(|m| m["direction"] == "out")
            .map(|m| {
                assert_eq!(m["status"], "sent", "{m}");
                (
                    m["id"].as_i64().unwrap(),
                    m["text"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        written.sort();
        let written: Vec<String> = written.into_iter().map(|(_, t)| t).collect();
        assert_eq!(delivered(&h.tg, chat), written, "chat {chat}");
    }
}

#[test]
fn an_operators_reply_goes_before_automatic_messages_and_retries() {
    let h = Harness::new();
    let channel = h.telegram_channel();
    let dialogs = visitors_write(&h, channel, 9101..=9106);
    // Telegram asks the bot to wait: the failed reply is retried later, and the channel pauses.
    h.tg.fail_next(
        "sendMessage",
        429,
        r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 1","parameters":{"retry_after":1}}"#,
    );
    let retried = h.send(dialogs[&9101], "повтор");
    assert_eq!(retried["status"], "queued");
    assert_eq!(retried["error"]["code"], "rate_limited");

    // Automatic messages waiting for four other chats…
    let mut conn = h.db.conn();
    for chat in 9102..=9105 {
        let dialog = dialogs[&chat];
        conn.exec_drop(
            "INSERT INTO app_crmchats_messages (identity, channel_id, dialog_id, direction, author_type, \
             text, status, created_at) VALUES (1, ?, ?, 'out', 'auto', ?, 'queued', NOW(3))",
            (channel, dialog, format!("авто {chat}")),
        )
        .unwrap();
        conn.exec_drop(
            "INSERT INTO app_crmchats_outbox (message_id, identity, channel_id, dialog_id, state, priority, \
             attempts, next_attempt_at, created_at) VALUES (LAST_INSERT_ID(), 1, ?, ?, 'pending', 1, 0, NOW(3), NOW(3))",
            (channel, dialog),
        )
        .unwrap();
    }
    // …and an operator's reply written while the channel is paused waits with the reason.
    let live = h.send(dialogs[&9106], "оператор");
    assert_eq!(live["status"], "queued", "{live}");
    assert_eq!(live["error"]["code"], "channel_paused", "{live}");
    let calls_before = h.tg.calls("sendMessage").len();

    std::thread::sleep(Duration::from_millis(1100));
    let tick = h.call("tick", json!({})).unwrap();
    assert_eq!(tick["outbox"]["sent"], 6, "{tick}");
    let order: Vec<String> = h.tg.calls("sendMessage")[calls_before..]
        .iter()
        .filter_map(|c| c.param("text"))
        .collect();
    assert_eq!(
        order[0], "оператор",
        "the operator's reply first: {order:?}"
    );
    assert_eq!(order.len(), 6, "{order:?}");
}

/// A harness whose messenger calls time out after one second.
fn impatient_harness() -> Harness {
    let db = TestDb::create();
    let tg = FakeTelegram::start(TG_TOKEN);
    let storage = TempDir::new("storage");
    let mut cfg = config(&db, &tg, &storage);
    cfg["http_timeout_secs"] = json!(1);
    let app = Crmchats::open(&cfg).unwrap();
    Harness {
        db,
        tg,
        storage,
        app,
    }
}

#[test]
fn a_reply_that_timed_out_after_reaching_telegram_is_not_sent_twice_and_the_rest_wait() {
    let h = impatient_harness();
    let channel = h.telegram_channel();
    let dialogs = visitors_write(&h, channel, [9201].into_iter());
    let dialog = dialogs[&9201];
    // Telegram takes the first reply but answers after our timeout.
    h.tg.delay_next("sendMessage", Duration::from_millis(2500));
    let first = h.send(dialog, "первый");
    assert_eq!(first["status"], "unknown", "{first}");
    assert_eq!(first["error"]["code"], "delivery_unknown");
    assert!(
        first["error"]["message"]
            .as_str()
            .unwrap()
            .contains("check with them"),
        "{first}"
    );
    // The channel is paused: the next replies wait in the outbox, not into a slow messenger.
    let second = h.send(dialog, "второй");
    let third = h.send(dialog, "третий");
    assert_eq!(second["status"], "queued", "{second}");
    assert_eq!(third["status"], "queued");
    assert_eq!(h.tg.calls("sendMessage").len(), 1);

    // Telegram recovers; tick sends what waited, in order, and never the first again.
    wait_until("Telegram took it", || !delivered(&h.tg, 9201).is_empty());
    assert_eq!(delivered(&h.tg, 9201), ["первый"], "it did arrive, once");
    let tick = flush_outbox(&h.app);
    assert_eq!(tick["outbox"]["sent"], 2, "{tick}");
    assert_eq!(delivered(&h.tg, 9201), ["первый", "второй", "третий"]);
    let texts: Vec<String> =
        h.tg.calls("sendMessage")
            .iter()
            .filter_map(|c| c.param("text"))
            .collect();
    assert_eq!(texts, ["первый", "второй", "третий"], "no call twice");
    let statuses: Vec<Value> = h.messages(dialog)[1..]
        .iter()
        .map(|m| m["status"].clone())
        .collect();
    assert_eq!(statuses, [json!("unknown"), json!("sent"), json!("sent")]);
}

fn config_for(db: &TestDb, storage: &TempDir, address: &str) -> Value {
    test_config(
        db,
        storage,
        PUBLIC_BASE_URL,
        json!({"telegram": {"api_base": format!("http://{address}")}}),
    )
}

#[test]
fn replies_written_while_telegram_is_unreachable_all_arrive_in_order_once_it_is_back() {
    let db = TestDb::create();
    let storage = TempDir::new("storage");
    let tg = FakeTelegram::start(TG_TOKEN);
    let address = tg.base_url().trim_start_matches("http://").to_string();
    let app = Crmchats::open(&config_for(&db, &storage, &address)).unwrap();
    let channel = app
        .call(
            "channels.create",
            &json!({"type": "telegram", "name": "Support bot", "token": TG_TOKEN,
                    "settings": {"webhook_secret": TG_SECRET}}),
        )
        .unwrap()["channel"]["id"]
        .as_i64()
        .unwrap();
    let chats = [9401, 9402, 9403];
    for chat in chats {
        let update = text_update(chat, "здравствуйте").to_string();
        let (status, _) = post_webhook(&app, channel, tg_headers(), json!({}), update.as_bytes());
        assert_eq!(status, 200);
    }
    let dialogs = dialogs_by_chat(&db);

    // Telegram goes away: connections are refused, so nothing can have arrived. (The fake's
    // listener closes once a last connection wakes it.)
    drop(tg);
    let _ = std::net::TcpStream::connect(&address);
    let refused = (0..50).any(|_| {
        std::thread::sleep(Duration::from_millis(20));
        std::net::TcpStream::connect(&address).is_err()
    });
    assert!(refused, "the fake Telegram still listens on {address}");
    // A PHP process that starts during the outage (no kept-alive connection to the old server).
    let app = Crmchats::open(&config_for(&db, &storage, &address)).unwrap();
    for round in 1..=3 {
        for chat in chats {
            let sent = send_text(&app, dialogs[&chat], &format!("{chat}: ответ {round}"));
            assert_eq!(sent["status"], "queued", "{sent}");
        }
    }
    // The first reply met the outage; the other chats' replies then waited without calling.
    let head = |chat: i64| list_messages(&app, dialogs[&chat])[1]["error"]["code"].clone();
    assert_eq!(head(9401), "provider_unavailable");
    assert_eq!(head(9402), "channel_paused");
    assert_eq!(head(9403), "channel_paused");

    // It is back on the same address; the outbox sends everything, in order, once.
    let tg = FakeTelegram::start_on(&address, TG_TOKEN).unwrap();
    for _ in 0..3 {
        if db.count("outbox") == 0 {
            break;
        }
        flush_outbox(&app);
    }
    assert_eq!(db.count("outbox"), 0);
    for chat in chats {
        let expected: Vec<String> = (1..=3).map(|r| format!("{chat}: ответ {r}")).collect();
        assert_eq!(delivered(&tg, chat), expected, "chat {chat}");
        let statuses: Vec<Value> = list_messages(&app, dialogs[&chat])[1..]
            .iter()
            .map(|m| m["status"].clone())
            .collect();
        assert_eq!(statuses, vec![json!("sent"); 3]);
    }
    assert_eq!(tg.calls("sendMessage").len(), 9, "each reply once");
}
