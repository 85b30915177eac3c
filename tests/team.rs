//! The team's rules end to end: settings, operators and presence, distribution, the queue,
//! taking and handing over, access, auto-close, auto-replies and CRM links. Real MariaDB, the
//! fake Telegram Bot API; the clock is moved through `tick {"now"}`, never slept on.

mod common;

use std::sync::atomic::{AtomicI64, Ordering};

use common::*;
use mysql::prelude::Queryable;
use serde_json::{json, Value};

const SECOND_MANAGER: i64 = 3;

static UPDATE_ID: AtomicI64 = AtomicI64::new(500_000);

/// A Telegram private text message from user `uid`, as the Bot API delivers it.
fn text_update(uid: i64, name: &str, text: &str) -> Value {
    let n = UPDATE_ID.fetch_add(1, Ordering::Relaxed);
    json!({"update_id": n, "message": {"message_id": n, "date": 1_764_000_000,
        "from": {"id": uid, "is_bot": false, "first_name": name},
        "chat": {"id": uid, "type": "private", "first_name": name}, "text": text}})
}

/// The user shares their own phone number (Telegram's contact button).
fn contact_update(uid: i64, name: &str, phone: &str) -> Value {
    let n = UPDATE_ID.fetch_add(1, Ordering::Relaxed);
    json!({"update_id": n, "message": {"message_id": n, "date": 1_764_000_000,
        "from": {"id": uid, "is_bot": false, "first_name": name},
        "chat": {"id": uid, "type": "private", "first_name": name},
        "contact": {"phone_number": phone, "first_name": name, "user_id": uid}}})
}

struct Team {
    h: Harness,
    channel: i64,
}

impl Team {
    fn new() -> Team {
        let h = Harness::new();
        h.db.conn()
            .query_drop("INSERT INTO app_user (iduser, login, title, isadmin, identity) VALUES (3, 'second', 'Ольга Вторая', 'off', 1)")
            .unwrap();
        let channel = h.telegram_channel();
        Team { h, channel }
    }

    fn call(&self, method: &str, params: Value) -> Value {
        self.h
            .call(method, params.clone())
            .unwrap_or_else(|e| panic!("{method} {params}: {e}"))
    }

    fn error(&self, method: &str, params: Value) -> String {
        self.h
            .call(method, params)
            .expect_err("refused")
            .code()
            .to_string()
    }

    fn settings(&self, changes: Value) {
        self.call(
            "settings.set",
            json!({"operator_id": ADMIN, "settings": changes}),
        );
    }

    fn operators(&self, ids: &[i64]) {
        self.call(
            "operators.add",
            json!({"operator_id": ADMIN, "user_ids": ids}),
        );
    }

    fn online(&self, id: i64) {
        self.call(
            "operators.set_status",
            json!({"operator_id": id, "status": "online"}),
        );
    }

    /// Posts a visitor's update; returns their dialog's id.
    fn visitor_writes(&self, update: &Value) -> i64 {
        let (status, body) = self
            .h
            .post(self.channel, tg_headers(), update.to_string().as_bytes());
        assert_eq!(status, 200, "{body}");
        let uid = update["message"]["from"]["id"].as_i64().unwrap();
        self.dialog_of(uid)
    }

    fn dialog_of(&self, uid: i64) -> i64 {
        self.h
            .db
            .conn()
            .exec_first::<i64, _, _>(
                "SELECT d.id FROM app_crmchats_dialogs d JOIN app_crmchats_visitors v ON v.id = d.visitor_id \
                 WHERE v.external_id = ? ORDER BY d.id DESC LIMIT 1",
                (uid.to_string(),),
            )
            .unwrap()
            .expect("the visitor has a dialog")
    }

    fn assigned(&self, dialog_id: i64) -> Option<i64> {
        self.h
            .db
            .conn()
            .exec_first::<Option<i64>, _, _>(
                "SELECT assigned_operator_id FROM app_crmchats_dialogs WHERE id = ?",
                (dialog_id,),
            )
            .unwrap()
            .flatten()
    }

    fn events(&self, dialog_id: i64) -> Vec<Value> {
        self.call(
            "dialogs.events",
            json!({"operator_id": ADMIN, "dialog_id": dialog_id}),
        )["events"]
            .as_array()
            .unwrap()
            .clone()
    }

    fn bot_texts(&self, uid: i64) -> Vec<String> {
        self.h
            .tg
            .sent_messages(uid)
            .iter()
            .filter_map(|m| m["text"].as_str().map(str::to_string))
            .collect()
    }

    fn list(&self, operator_id: i64, view: &str) -> Vec<i64> {
        self.h
            .app
            .list_dialogs(&json!({"operator_id": operator_id, "view": view, "status": "all"}))
            .unwrap()["dialogs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_i64().unwrap())
            .collect()
    }
}

// --- settings -------------------------------------------------------------------------------

#[test]
fn settings_are_for_admins_validated_and_merged() {
    let t = Team::new();
    let got = t.call("settings.get", json!({"operator_id": ADMIN}));
    assert_eq!(got["settings"]["distribution"], "round_robin");
    assert_eq!(got["crm_timezone"], "Europe/Moscow");
    assert_eq!(
        t.error("settings.get", json!({"operator_id": MANAGER})),
        "forbidden"
    );
    assert_eq!(
        t.error(
            "settings.set",
            json!({"operator_id": MANAGER, "settings": {"distribution": "off"}})
        ),
        "forbidden"
    );
    let e =
        t.h.call(
            "settings.set",
            json!({"operator_id": ADMIN, "settings": {"auto_close_after_minutes": -5}}),
        )
        .unwrap_err();
    assert_eq!(e.code(), "invalid_argument");
    assert!(e.to_string().contains("auto_close_after_minutes"), "{e}");

    t.settings(json!({"auto_close_after_minutes": 30, "auto_replies": {"first_contact": {"enabled": true}}}));
    t.settings(json!({"distribution": "least_busy"}));
    let got = t.call("settings.get", json!({"operator_id": ADMIN}))["settings"].clone();
    assert_eq!(got["auto_close_after_minutes"], 30, "earlier change kept");
    assert_eq!(got["distribution"], "least_busy");
    assert_eq!(got["auto_replies"]["first_contact"]["enabled"], true);
}

// --- operators and presence -----------------------------------------------------------------

#[test]
fn operators_are_added_by_admins_and_count_as_online_only_while_heard_from() {
    let t = Team::new();
    assert_eq!(
        t.error(
            "operators.add",
            json!({"operator_id": MANAGER, "user_ids": [MANAGER]})
        ),
        "forbidden"
    );
    assert_eq!(
        t.error(
            "operators.add",
            json!({"operator_id": ADMIN, "user_ids": [404]})
        ),
        "invalid_argument"
    );
    t.operators(&[MANAGER]);
    assert_eq!(
        t.error(
            "operators.set_status",
            json!({"operator_id": ADMIN, "status": "online"})
        ),
        "forbidden",
        "the admin is not an operator"
    );
    t.online(MANAGER);
    let manager = |t: &Team| {
        t.call("operators.list", json!({}))["operators"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["id"] == MANAGER)
            .unwrap()
            .clone()
    };
    assert_eq!(manager(&t)["online"], true);
    assert_eq!(manager(&t)["status"], "online");

    // The console went quiet longer than the presence timeout: offline, whatever the status.
    t.h.db
        .conn()
        .query_drop("UPDATE app_crmchats_operators SET last_seen_at = NOW(3) - INTERVAL 10 MINUTE")
        .unwrap();
    assert_eq!(manager(&t)["online"], false);
    t.call("operators.heartbeat", json!({"operator_id": MANAGER}));
    assert_eq!(manager(&t)["online"], true);
    t.call(
        "operators.set_status",
        json!({"operator_id": MANAGER, "status": "away"}),
    );
    assert_eq!(manager(&t)["online"], false);
    assert_eq!(
        t.error(
            "operators.set_status",
            json!({"operator_id": MANAGER, "status": "busy"})
        ),
        "invalid_argument"
    );
    t.call(
        "operators.remove",
        json!({"operator_id": ADMIN, "user_ids": [MANAGER]}),
    );
    assert_eq!(manager(&t)["is_operator"], false);
}

// --- distribution ---------------------------------------------------------------------------

#[test]
fn round_robin_alternates_between_online_operators_and_logs_why() {
    let t = Team::new();
    t.operators(&[MANAGER, SECOND_MANAGER]);
    t.online(MANAGER);
    t.online(SECOND_MANAGER);
    let owners: Vec<Option<i64>> = (0..4)
        .map(|i| {
            let d = t.visitor_writes(&text_update(9100 + i, "Гость", "Здравствуйте"));
            t.assigned(d)
        })
        .collect();
    assert!(owners.iter().all(Option::is_some), "{owners:?}");
    assert_ne!(owners[0], owners[1]);
    assert_eq!(owners[0], owners[2]);
    assert_eq!(owners[1], owners[3]);

    let d = t.dialog_of(9100);
    let assigned: Vec<Value> = t
        .events(d)
        .into_iter()
        .filter(|e| e["kind"] == "assigned")
        .collect();
    assert_eq!(assigned.len(), 1);
    assert_eq!(assigned[0]["data"]["reason"], "round_robin");
    assert_eq!(assigned[0]["data"]["operator_id"], json!(owners[0]));
}

#[test]
fn least_busy_respects_capacity_and_the_full_team_leaves_dialogs_in_the_queue() {
    let t = Team::new();
    t.settings(json!({"distribution": "least_busy", "max_open_dialogs_per_operator": 1}));
    t.operators(&[MANAGER, SECOND_MANAGER]);
    t.online(MANAGER);
    let first = t.visitor_writes(&text_update(9201, "Первый", "привет"));
    assert_eq!(t.assigned(first), Some(MANAGER));
    t.online(SECOND_MANAGER);
    let second = t.visitor_writes(&text_update(9202, "Второй", "привет"));
    assert_eq!(
        t.assigned(second),
        Some(SECOND_MANAGER),
        "the least busy one"
    );
    let third = t.visitor_writes(&text_update(9203, "Третий", "привет"));
    assert_eq!(t.assigned(third), None, "everyone is at capacity");
    assert_eq!(t.list(MANAGER, "queue"), vec![third]);

    // Closing a dialog frees capacity: the queue moves at once.
    t.call(
        "dialogs.close",
        json!({"operator_id": MANAGER, "dialog_id": first}),
    );
    assert_eq!(t.assigned(third), Some(MANAGER));
}

#[test]
fn nobody_online_queues_the_dialog_answers_once_and_hands_it_out_when_someone_comes() {
    let t = Team::new();
    t.settings(json!({"auto_replies": {"operators_offline": {"enabled": true, "text": "Все заняты, ответим позже"}}}));
    t.operators(&[MANAGER]);
    let d = t.visitor_writes(&text_update(9301, "Гость", "есть кто?"));
    t.visitor_writes(&text_update(9301, "Гость", "ау"));
    assert_eq!(t.assigned(d), None);
    assert_eq!(
        t.bot_texts(9301),
        vec!["Все заняты, ответим позже"],
        "the offline reply goes out once per opening"
    );
    let auto =
        t.h.messages(d)
            .into_iter()
            .find(|m| m["direction"] == "out")
            .unwrap();
    assert_eq!(auto["author"]["type"], "auto", "{auto}");

    t.online(MANAGER);
    assert_eq!(
        t.assigned(d),
        Some(MANAGER),
        "handed out as soon as an operator comes online"
    );
}

#[test]
fn the_clients_responsible_user_gets_the_dialog_when_online() {
    let t = Team::new();
    t.settings(json!({"auto_add_visitors": "client"}));
    t.h.db
        .conn()
        .query_drop("INSERT INTO app_clientcat (clid, title, phone, iduser, identity) VALUES (77, 'ООО Ромашка', '+7 (900) 555-44-33', 3, 1)")
        .unwrap();
    t.operators(&[MANAGER, SECOND_MANAGER]);
    t.online(MANAGER);
    t.online(SECOND_MANAGER);
    // Round-robin alone would pick MANAGER (nobody got a dialog yet, lower id).
    let d = t.visitor_writes(&contact_update(9401, "Иван", "89005554433"));
    assert_eq!(t.assigned(d), Some(SECOND_MANAGER), "sticky owner");
    let dialog =
        t.call("dialogs.get", json!({"operator_id": ADMIN, "dialog_id": d}))["dialog"].clone();
    assert_eq!(dialog["client_id"], 77, "linked by phone, not duplicated");
    let clients: i64 =
        t.h.db
            .conn()
            .query_first("SELECT COUNT(*) FROM app_clientcat")
            .unwrap()
            .unwrap();
    assert_eq!(clients, 1);
    let reasons: Vec<Value> = t
        .events(d)
        .into_iter()
        .map(|e| e["data"]["reason"].clone())
        .collect();
    assert!(reasons.contains(&json!("crm_owner")), "{reasons:?}");
    assert!(reasons.contains(&json!("found_by_phone")), "{reasons:?}");
}

// --- taking, access, handing over -----------------------------------------------------------

#[test]
fn of_many_operators_taking_one_queued_dialog_at_once_exactly_one_wins() {
    let t = Team::new();
    t.settings(json!({"distribution": "off"}));
    t.operators(&[MANAGER, SECOND_MANAGER]);
    let d = t.visitor_writes(&text_update(9501, "Гость", "кто первый?"));
    let outcomes: Vec<Result<i64, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let who = if i % 2 == 0 { MANAGER } else { SECOND_MANAGER };
                let app = &t.h.app;
                s.spawn(move || {
                    app.call("dialogs.take", &json!({"operator_id": who, "dialog_id": d}))
                        .map(|_| who)
                        .map_err(|e| e.code().to_string())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let winners: Vec<i64> = outcomes.iter().filter_map(|o| o.clone().ok()).collect();
    let owner = t.assigned(d).expect("taken");
    // The winner may take again (idempotent); a loser gets `conflict` when it raced the
    // winner, `not_found` when the dialog had already left the queue it could see.
    assert!(winners.iter().all(|w| *w == owner), "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .filter_map(|o| o.clone().err())
            .all(|c| c == "conflict" || c == "not_found"),
        "{outcomes:?}"
    );
    let takes = t
        .events(d)
        .into_iter()
        .filter(|e| e["kind"] == "assigned")
        .count();
    assert_eq!(takes, 1, "one assignment in the history");
}

#[test]
fn operators_see_their_own_and_the_queue_and_admins_see_everything() {
    let t = Team::new();
    t.settings(json!({"distribution": "off"}));
    t.operators(&[MANAGER, SECOND_MANAGER]);
    let mine = t.visitor_writes(&text_update(9601, "А", "1"));
    let theirs = t.visitor_writes(&text_update(9602, "Б", "2"));
    let queued = t.visitor_writes(&text_update(9603, "В", "3"));
    t.call(
        "dialogs.take",
        json!({"operator_id": MANAGER, "dialog_id": mine}),
    );
    t.call(
        "dialogs.take",
        json!({"operator_id": SECOND_MANAGER, "dialog_id": theirs}),
    );

    assert_eq!(t.list(MANAGER, "mine"), vec![mine]);
    assert_eq!(t.list(MANAGER, "queue"), vec![queued]);
    let mut all = t.list(ADMIN, "all");
    all.sort();
    assert_eq!(all, vec![mine, theirs, queued]);
    assert_eq!(
        t.h.app
            .list_dialogs(&json!({"operator_id": MANAGER, "view": "all"}))
            .unwrap_err()
            .code(),
        "forbidden"
    );
    // Every call checks, not only the list.
    for (method, params) in [
        (
            "dialogs.get",
            json!({"operator_id": MANAGER, "dialog_id": theirs}),
        ),
        (
            "messages.list",
            json!({"operator_id": MANAGER, "dialog_id": theirs}),
        ),
        (
            "dialogs.take",
            json!({"operator_id": MANAGER, "dialog_id": theirs}),
        ),
    ] {
        assert_eq!(t.error(method, params), "not_found", "{method}");
    }
    let sent =
        t.h.app
            .send_message(&json!({"operator_id": MANAGER, "dialog_id": theirs, "text": "чужой"}));
    assert_eq!(sent.unwrap_err().code(), "not_found");
    // Answering from the queue takes the dialog.
    t.h.app
        .send_message(&json!({"operator_id": MANAGER, "dialog_id": queued, "text": "Беру"}))
        .unwrap();
    assert_eq!(t.assigned(queued), Some(MANAGER));
}

#[test]
fn a_transfer_hands_the_dialog_over_with_a_note_and_only_its_operator_or_an_admin_may() {
    let t = Team::new();
    t.operators(&[MANAGER, SECOND_MANAGER]);
    t.online(MANAGER);
    let d = t.visitor_writes(&text_update(9701, "Клиент", "нужен счёт"));
    assert_eq!(t.assigned(d), Some(MANAGER));
    assert_eq!(
        t.error(
            "dialogs.transfer",
            json!({"operator_id": SECOND_MANAGER, "dialog_id": d, "to_operator_id": SECOND_MANAGER})
        ),
        "not_found",
        "a colleague cannot grab it"
    );
    let out = t.call(
        "dialogs.transfer",
        json!({"operator_id": MANAGER, "dialog_id": d, "to_operator_id": SECOND_MANAGER, "note": "Счёт выставлен, нужна доставка"}),
    );
    assert_eq!(out["assigned_operator_id"], SECOND_MANAGER);
    assert_eq!(t.list(SECOND_MANAGER, "mine"), vec![d]);
    assert!(
        t.list(MANAGER, "mine").is_empty(),
        "the previous operator handed it over"
    );
    let transfer = t
        .events(d)
        .into_iter()
        .find(|e| e["kind"] == "transferred")
        .unwrap();
    assert_eq!(transfer["data"]["note"], "Счёт выставлен, нужна доставка");
    assert_eq!(transfer["data"]["from_operator_id"], MANAGER);
    assert_eq!(transfer["data"]["to_operator_id"], SECOND_MANAGER);
    // An admin assigns whatever.
    t.call(
        "dialogs.assign",
        json!({"operator_id": ADMIN, "dialog_id": d, "to_operator_id": MANAGER}),
    );
    assert_eq!(t.assigned(d), Some(MANAGER));
    assert_eq!(
        t.error(
            "dialogs.assign",
            json!({"operator_id": MANAGER, "dialog_id": d, "to_operator_id": SECOND_MANAGER})
        ),
        "forbidden"
    );
}

#[test]
fn colleagues_join_and_leave_and_the_visitor_is_told_when_switched_on() {
    let t = Team::new();
    t.settings(json!({"notices": {
        "operator_assigned": {"enabled": true, "text": "Вам ответит {operator_name}"},
        "colleague_joined": {"enabled": true, "text": "Подключился {operator_name}"}}}));
    t.operators(&[MANAGER, SECOND_MANAGER]);
    t.online(MANAGER);
    let d = t.visitor_writes(&text_update(9801, "Гость", "вопрос"));
    let joined = t.call(
        "dialogs.join",
        json!({"operator_id": MANAGER, "dialog_id": d, "user_ids": [SECOND_MANAGER]}),
    );
    assert_eq!(joined["joined"], json!([SECOND_MANAGER]));
    assert_eq!(t.list(SECOND_MANAGER, "mine"), vec![d], "a member sees it");
    assert_eq!(
        t.bot_texts(9801),
        vec!["Вам ответит Пётр Менеджеров", "Подключился Ольга Вторая"]
    );
    t.call(
        "dialogs.leave",
        json!({"operator_id": SECOND_MANAGER, "dialog_id": d}),
    );
    assert!(t.list(SECOND_MANAGER, "mine").is_empty());
    assert_eq!(
        t.error(
            "dialogs.leave",
            json!({"operator_id": MANAGER, "dialog_id": d})
        ),
        "invalid_argument",
        "the owner transfers or closes instead"
    );
}

// --- timed work -----------------------------------------------------------------------------

#[test]
fn tick_closes_idle_dialogs_and_the_visitors_next_message_reopens_the_same_one() {
    let t = Team::new();
    t.settings(json!({"auto_close_after_minutes": 60}));
    let d = t.visitor_writes(&text_update(9901, "Гость", "до завтра"));
    let soon = (chrono_now_plus_minutes(30)).to_string();
    let out = t.call("tick", json!({"now": soon}));
    assert_eq!(out["closed"], 0, "{out}");
    let later = chrono_now_plus_minutes(61);
    let out = t.call("tick", json!({"now": later}));
    assert_eq!(out["closed"], 1, "{out}");
    let dialog =
        t.call("dialogs.get", json!({"operator_id": ADMIN, "dialog_id": d}))["dialog"].clone();
    assert_eq!(dialog["status"], "closed");
    let closed = t
        .events(d)
        .into_iter()
        .find(|e| e["kind"] == "closed")
        .unwrap();
    assert_eq!(closed["data"]["reason"], "idle");

    let again = t.visitor_writes(&text_update(9901, "Гость", "я снова тут"));
    assert_eq!(again, d, "the same dialog reopens");
    let dialog =
        t.call("dialogs.get", json!({"operator_id": ADMIN, "dialog_id": d}))["dialog"].clone();
    assert_eq!(dialog["status"], "open");
    assert!(t.events(d).iter().any(|e| e["kind"] == "dialog_reopened"));
}

/// RFC 3339 `minutes` from now (the tick's clock).
fn chrono_now_plus_minutes(minutes: i64) -> String {
    let ms = crmchats::time::Timestamp::now().millis() + minutes * 60_000;
    crmchats::time::Timestamp(ms).to_rfc3339()
}

#[test]
fn only_one_tick_runs_at_a_time_and_if_due_runs_at_most_once_a_minute() {
    use sha2::Digest;
    let t = Team::new();
    // Another web server holds the tenant's tick lock: this one skips its run.
    let digest = sha2::Sha256::digest(format!("{}.`app_crmchats_schema_versions`:1", t.h.db.name));
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    let lock = format!("crmchats_tick_{hex}");
    let mut other_server = t.h.db.conn();
    let got: Option<i64> = other_server
        .exec_first("SELECT GET_LOCK(?, 0)", (&lock,))
        .unwrap();
    assert_eq!(got, Some(1));
    let skipped = t.call("tick", json!({}));
    assert_eq!(skipped["ran"], false, "{skipped}");
    assert_eq!(skipped["reason"], "another process is running tick");
    let _: Option<i64> = other_server
        .exec_first("SELECT RELEASE_LOCK(?)", (&lock,))
        .unwrap();
    assert_eq!(t.call("tick", json!({}))["ran"], true);

    let first = t.call("tick", json!({"if_due": true}));
    assert_eq!(first["ran"], true, "{first}");
    let second = t.call("tick", json!({"if_due": true}));
    assert_eq!(second["ran"], false, "{second}");
    let next_minute = t.call(
        "tick",
        json!({"if_due": true, "now": chrono_now_plus_minutes(2)}),
    );
    assert_eq!(next_minute["ran"], true, "{next_minute}");
}

// --- auto-replies ---------------------------------------------------------------------------

#[test]
fn the_first_contact_greeting_goes_once_and_out_of_hours_replaces_the_offline_reply() {
    let t = Team::new();
    let closed_all_week =
        json!({"mon": [], "tue": [], "wed": [], "thu": [], "fri": [], "sat": [], "sun": []});
    t.settings(json!({
        "working_hours": {"enabled": true, "week": closed_all_week},
        "auto_replies": {
            "first_contact": {"enabled": true, "text": "Привет!"},
            "operators_offline": {"enabled": true, "text": "Все заняты"},
            "out_of_hours": {"enabled": true, "text": "Сейчас нерабочее время"}}}));
    let d = t.visitor_writes(&text_update(9951, "Гость", "добрый день"));
    assert_eq!(t.bot_texts(9951), vec!["Привет!", "Сейчас нерабочее время"]);
    // Closed and reopened: not a first contact any more, but a new opening.
    t.call(
        "dialogs.close",
        json!({"operator_id": ADMIN, "dialog_id": d}),
    );
    t.visitor_writes(&text_update(9951, "Гость", "снова я"));
    assert_eq!(
        t.bot_texts(9951),
        vec![
            "Привет!",
            "Сейчас нерабочее время",
            "Сейчас нерабочее время"
        ]
    );
    let kinds: Vec<Value> = t
        .events(d)
        .into_iter()
        .filter(|e| e["kind"] == "auto_reply")
        .map(|e| e["data"]["kind"].clone())
        .collect();
    assert_eq!(
        kinds,
        vec![
            json!("first_contact"),
            json!("out_of_hours"),
            json!("out_of_hours")
        ]
    );
}

// --- CRM links ------------------------------------------------------------------------------

#[test]
fn auto_add_creates_a_client_owned_by_the_operator_and_links_by_hand_work_too() {
    let t = Team::new();
    t.settings(json!({"auto_add_visitors": "client"}));
    t.operators(&[MANAGER]);
    t.online(MANAGER);
    let d = t.visitor_writes(&text_update(9961, "Мария", "хочу купить"));
    let dialog =
        t.call("dialogs.get", json!({"operator_id": ADMIN, "dialog_id": d}))["dialog"].clone();
    let clid = dialog["client_id"].as_i64().expect("a client was created");
    let (title, owner): (String, i64) =
        t.h.db
            .conn()
            .exec_first(
                "SELECT title, iduser FROM app_clientcat WHERE clid = ?",
                (clid,),
            )
            .unwrap()
            .unwrap();
    assert_eq!(title, "Мария");
    assert_eq!(owner, MANAGER, "responsible = the assigned operator");

    let visitor = dialog["visitor"]["id"].as_i64().unwrap();
    t.call(
        "visitors.unlink",
        json!({"operator_id": MANAGER, "visitor_id": visitor}),
    );
    let contact = t.call(
        "visitors.create_contact",
        json!({"operator_id": MANAGER, "visitor_id": visitor}),
    );
    assert_eq!(contact["linked"]["type"], "contact");
    assert_eq!(contact["linked"]["name"], "Мария");
    let card = t.call(
        "clients.dialogs",
        json!({"operator_id": MANAGER, "contact_id": contact["linked"]["id"]}),
    );
    assert_eq!(
        card["dialogs"][0]["id"], d,
        "the contact card shows the dialog"
    );
    let found = t.call(
        "visitors.search_crm",
        json!({"operator_id": MANAGER, "q": "Мари"}),
    )["results"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(found, 2, "the client and the contact");
    t.call(
        "visitors.link",
        json!({"operator_id": MANAGER, "visitor_id": visitor, "client_id": clid}),
    );
    assert_eq!(
        t.error(
            "visitors.link",
            json!({"operator_id": MANAGER, "visitor_id": visitor, "client_id": 999_999})
        ),
        "not_found"
    );
}

#[test]
fn a_client_writing_from_two_channels_shows_every_dialog_on_the_client_card() {
    let t = Team::new();
    let second_channel = t.h.telegram_channel();
    t.h.db
        .conn()
        .query_drop(
            "INSERT INTO app_clientcat (clid, title, identity) VALUES (501, 'ИП Петров', 1)",
        )
        .unwrap();
    let first = t.visitor_writes(&text_update(9971, "Петров", "с первого бота"));
    let (status, _) = t.h.post(
        second_channel,
        tg_headers(),
        text_update(9971, "Петров", "со второго")
            .to_string()
            .as_bytes(),
    );
    assert_eq!(status, 200);
    let second = t.dialog_of(9971);
    assert_ne!(first, second, "one visitor per channel");
    for d in [first, second] {
        let visitor = t.call("dialogs.get", json!({"operator_id": ADMIN, "dialog_id": d}))
            ["dialog"]["visitor"]["id"]
            .clone();
        t.call(
            "visitors.link",
            json!({"operator_id": ADMIN, "visitor_id": visitor, "client_id": 501}),
        );
    }
    let card = t.call(
        "clients.dialogs",
        json!({"operator_id": ADMIN, "client_id": 501}),
    );
    let mut ids: Vec<i64> = card["dialogs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_i64().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, vec![first, second]);
}

// --- concurrency ----------------------------------------------------------------------------

#[test]
fn a_new_visitors_simultaneous_messages_make_one_visitor_and_one_dialog() {
    let t = Team::new();
    t.operators(&[MANAGER]);
    t.online(MANAGER);
    std::thread::scope(|s| {
        for i in 0..6 {
            let t = &t;
            s.spawn(move || {
                let (status, body) = t.h.post(
                    t.channel,
                    tg_headers(),
                    text_update(9981, "Торопыга", &format!("сообщение {i}"))
                        .to_string()
                        .as_bytes(),
                );
                assert_eq!(status, 200, "{body}");
            });
        }
    });
    assert_eq!(t.h.db.count("visitors"), 1);
    assert_eq!(t.h.db.count("dialogs"), 1);
    assert_eq!(t.h.db.count("messages"), 6);
    assert_eq!(t.assigned(t.dialog_of(9981)), Some(MANAGER));
}

#[test]
fn simultaneous_transfers_and_assignments_leave_exactly_one_owner() {
    let t = Team::new();
    t.operators(&[MANAGER, SECOND_MANAGER]);
    t.online(MANAGER);
    let d = t.visitor_writes(&text_update(9991, "Гость", "кому достанусь?"));
    assert_eq!(t.assigned(d), Some(MANAGER));
    let outcomes: Vec<Result<(), String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let t = &t;
                s.spawn(move || {
                    let (method, actor, to) = match i % 3 {
                        0 => ("dialogs.transfer", MANAGER, SECOND_MANAGER),
                        1 => ("dialogs.assign", ADMIN, MANAGER),
                        _ => ("dialogs.assign", ADMIN, SECOND_MANAGER),
                    };
                    t.h.call(
                        method,
                        json!({"operator_id": actor, "dialog_id": d, "to_operator_id": to}),
                    )
                    .map(|_| ())
                    .map_err(|e| e.code().to_string())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(outcomes.iter().any(Result::is_ok), "{outcomes:?}");
    // A loser raced a change (conflict) or, as the previous owner, no longer sees the dialog.
    for e in outcomes.iter().filter_map(|o| o.clone().err()) {
        assert!(
            ["conflict", "not_found", "forbidden"].contains(&e.as_str()),
            "{outcomes:?}"
        );
    }
    let owner = t.assigned(d).expect("still assigned");
    let owners: Vec<i64> = t
        .h
        .db
        .conn()
        .exec(
            "SELECT operator_id FROM app_crmchats_dialog_operators WHERE dialog_id = ? AND role = 'owner'",
            (d,),
        )
        .unwrap();
    assert_eq!(owners, vec![owner], "the owner row matches the dialog");
}

#[test]
fn crm_users_who_are_not_operators_see_only_what_they_were_invited_to() {
    let t = Team::new();
    t.settings(json!({"distribution": "off"}));
    t.operators(&[SECOND_MANAGER]);
    let d = t.visitor_writes(&text_update(9601, "Клиент", "секретный вопрос"));
    // MANAGER is a CRM user but not an operator of the inbox.
    assert!(t.list(MANAGER, "mine").is_empty());
    assert_eq!(
        t.h.app
            .list_dialogs(&json!({"operator_id": MANAGER, "view": "queue"}))
            .unwrap_err()
            .code(),
        "forbidden"
    );
    assert_eq!(
        t.error(
            "dialogs.take",
            json!({"operator_id": MANAGER, "dialog_id": d})
        ),
        "forbidden"
    );
    assert_eq!(
        t.error(
            "messages.list",
            json!({"operator_id": MANAGER, "dialog_id": d})
        ),
        "not_found"
    );
    // The client card shows that the dialog exists, not what was said.
    t.h.db
        .conn()
        .query_drop("INSERT INTO app_clientcat (clid, title, identity) VALUES (88, 'ООО Тайна', 1)")
        .unwrap();
    let visitor = t.call("dialogs.get", json!({"operator_id": ADMIN, "dialog_id": d}))["dialog"]
        ["visitor"]["id"]
        .clone();
    t.call(
        "visitors.link",
        json!({"operator_id": ADMIN, "visitor_id": visitor, "client_id": 88}),
    );
    let card = t.call(
        "clients.dialogs",
        json!({"operator_id": MANAGER, "client_id": 88}),
    );
    let shown = &card["dialogs"][0];
    assert_eq!(shown["id"], d);
    assert_eq!(shown["can_open"], false);
    assert!(shown["last_message"].is_null(), "{shown}");
    assert!(!card.to_string().contains("секретный"), "{card}");
    // Invited, they see it.
    t.call(
        "dialogs.join",
        json!({"operator_id": ADMIN, "dialog_id": d, "user_ids": [SECOND_MANAGER]}),
    );
    assert_eq!(t.list(SECOND_MANAGER, "mine"), vec![d]);
    t.call(
        "dialogs.leave",
        json!({"operator_id": SECOND_MANAGER, "dialog_id": d}),
    );
    assert!(
        t.list(SECOND_MANAGER, "mine").is_empty(),
        "a member who joined a queued dialog can leave it"
    );
}

#[test]
fn dialogs_opening_at_once_never_push_an_operator_past_capacity() {
    let t = Team::new();
    t.settings(json!({"distribution": "least_busy", "max_open_dialogs_per_operator": 1}));
    t.operators(&[MANAGER]);
    t.online(MANAGER);
    std::thread::scope(|s| {
        for i in 0..6 {
            let t = &t;
            s.spawn(move || {
                let (status, body) = t.h.post(
                    t.channel,
                    tg_headers(),
                    text_update(9700 + i, "Гость", "одновременно")
                        .to_string()
                        .as_bytes(),
                );
                assert_eq!(status, 200, "{body}");
            });
        }
    });
    let assigned: i64 =
        t.h.db
            .conn()
            .query_first(
                "SELECT COUNT(*) FROM app_crmchats_dialogs WHERE assigned_operator_id IS NOT NULL",
            )
            .unwrap()
            .unwrap();
    assert_eq!(assigned, 1, "capacity 1 holds under concurrent openings");
    assert_eq!(t.list(MANAGER, "queue").len(), 5);
}

#[test]
fn a_card_made_while_the_dialog_waited_gets_the_operator_who_takes_it_as_owner() {
    let t = Team::new();
    t.settings(json!({"auto_add_visitors": "client"}));
    t.operators(&[MANAGER]);
    let d = t.visitor_writes(&text_update(9801, "Ожидающий", "есть кто?"));
    let owner = |t: &Team| -> i64 {
        t.h.db
            .conn()
            .query_first("SELECT iduser FROM app_clientcat ORDER BY clid DESC LIMIT 1")
            .unwrap()
            .unwrap()
    };
    assert_eq!(owner(&t), 0, "nobody to own it yet");
    t.online(MANAGER);
    assert_eq!(t.assigned(d), Some(MANAGER));
    assert_eq!(owner(&t), MANAGER, "the operator who got the dialog");
}
