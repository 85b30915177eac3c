//! reports.summary against a seeded month whose answers are worked out by hand below, in the
//! CRM's time zone (Europe/Moscow, UTC+3: a dialog at 22:30 UTC belongs to the next day).

mod common;

use common::*;
use mysql::prelude::Queryable;
use serde_json::{json, Value};

struct Seed<'a> {
    conn: mysql::Conn,
    channel: i64,
    h: &'a Harness,
}

impl Seed<'_> {
    /// A dialog: (created, closed, assigned, rating) and its messages (time, direction, author).
    fn dialog(
        &mut self,
        visitor: &str,
        created: &str,
        closed: Option<&str>,
        assigned: Option<i64>,
        rating: Option<i64>,
        messages: &[(&str, &str, &str)],
    ) {
        let _ = self.h;
        self.conn
            .exec_drop(
                "INSERT INTO app_crmchats_visitors (identity, channel_id, external_id, name, created_at, updated_at) \
                 VALUES (1, ?, ?, ?, NOW(3), NOW(3))",
                (self.channel, visitor, visitor),
            )
            .unwrap();
        let visitor_id: i64 = self
            .conn
            .query_first("SELECT LAST_INSERT_ID()")
            .unwrap()
            .unwrap();
        self.conn
            .exec_drop(
                "INSERT INTO app_crmchats_dialogs (identity, channel_id, visitor_id, status, open_visitor_id, \
                 last_activity_at, created_at, closed_at, assigned_operator_id, rating) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    self.channel,
                    visitor_id,
                    if closed.is_some() { "closed" } else { "open" },
                    if closed.is_some() { None } else { Some(visitor_id) },
                    created,
                    created,
                    closed,
                    assigned,
                    rating,
                ),
            )
            .unwrap();
        let dialog_id: i64 = self
            .conn
            .query_first("SELECT LAST_INSERT_ID()")
            .unwrap()
            .unwrap();
        for (at, direction, author) in messages {
            self.conn
                .exec_drop(
                    "INSERT INTO app_crmchats_messages (identity, channel_id, dialog_id, direction, author_type, text, status, created_at) \
                     VALUES (1, ?, ?, ?, ?, 'x', 'sent', ?)",
                    (self.channel, dialog_id, direction, author, at),
                )
                .unwrap();
        }
    }
}

fn summary(h: &Harness, params: Value) -> Value {
    h.call("reports.summary", params).unwrap()
}

#[test]
fn the_summary_matches_numbers_worked_out_by_hand() {
    let h = Harness::new();
    let telegram = h.telegram_channel();
    let widget = h
        .call("channels.create", json!({"type": "widget", "name": "Сайт"}))
        .unwrap()["channel"]["id"]
        .as_i64()
        .unwrap();
    let mut seed = Seed {
        conn: h.db.conn(),
        channel: telegram,
        h: &h,
    };
    // A: Monday 09:00 MSK, answered in 120 s, closed after 3600 s, operator 2, rated 5.
    seed.dialog(
        "a",
        "2026-11-02 06:00:00",
        Some("2026-11-02 07:00:00"),
        Some(2),
        Some(5),
        &[
            ("2026-11-02 06:00:00", "in", "visitor"),
            ("2026-11-02 06:02:00", "out", "operator"),
        ],
    );
    // B: 22:30 UTC = Tuesday 01:30 MSK, answered in 1800 s (late), open, operator 2.
    seed.dialog(
        "b",
        "2026-11-02 22:30:00",
        None,
        Some(2),
        None,
        &[
            ("2026-11-02 22:30:00", "in", "visitor"),
            ("2026-11-02 23:00:00", "out", "operator"),
        ],
    );
    // E: before the period: left out.
    seed.dialog(
        "e",
        "2026-10-31 10:00:00",
        None,
        Some(1),
        Some(1),
        &[("2026-10-31 10:00:00", "in", "visitor")],
    );
    seed.channel = widget;
    // C: Wednesday, only an automatic reply: unanswered.
    seed.dialog(
        "c",
        "2026-11-04 10:00:00",
        None,
        None,
        None,
        &[
            ("2026-11-04 10:00:00", "in", "visitor"),
            ("2026-11-04 10:00:01", "out", "auto"),
        ],
    );
    // D: next Monday, answered in 600 s, closed after 7200 s, operator 1, rated 3.
    seed.dialog(
        "d",
        "2026-11-09 10:00:00",
        Some("2026-11-09 12:00:00"),
        Some(1),
        Some(3),
        &[
            ("2026-11-09 10:00:00", "in", "visitor"),
            ("2026-11-09 10:10:00", "out", "operator"),
        ],
    );

    let period = json!({"operator_id": ADMIN, "from": "2026-11-02T00:00:00+03:00", "to": "2026-11-16T00:00:00+03:00"});
    let day = summary(&h, period.clone());
    assert_eq!(day["timezone"], "Europe/Moscow");
    let days: Vec<(String, i64, i64, i64)> = day["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["start"].as_str().unwrap().to_string(),
                b["new_dialogs"].as_i64().unwrap(),
                b["messages_in"].as_i64().unwrap(),
                b["messages_out"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        days,
        vec![
            ("2026-11-02".to_string(), 1, 1, 1),
            ("2026-11-03".to_string(), 1, 1, 1),
            ("2026-11-04".to_string(), 1, 1, 1),
            ("2026-11-09".to_string(), 1, 1, 1),
        ]
    );
    let t = &day["totals"];
    assert_eq!(t["new_dialogs"], 4);
    assert_eq!(
        (t["messages_in"].as_i64(), t["messages_out"].as_i64()),
        (Some(4), Some(4))
    );
    // First responses 120, 1800, 600 (the automatic reply is not one): median 600, p90 1800.
    assert_eq!(
        t["first_response_seconds"],
        json!({"count": 3, "median": 600, "p90": 1800})
    );
    assert_eq!(
        t["time_to_close_seconds"],
        json!({"count": 2, "median": 3600, "p90": 7200})
    );
    assert_eq!(t["closed"], 2);
    assert_eq!(t["unanswered"], 2, "B answered after 30 minutes, C never");
    assert_eq!(t["ratings"]["count"], 2);
    assert_eq!(t["ratings"]["average"], 4.0);
    let by_operator: Vec<(i64, i64, i64)> = day["by_operator"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["operator_id"].as_i64().unwrap(),
                o["dialogs"].as_i64().unwrap(),
                o["first_response_median_seconds"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(by_operator, vec![(1, 1, 600), (2, 2, 120)]);
    assert_eq!(
        day["by_channel"],
        json!([{"channel_id": telegram, "new_dialogs": 2}, {"channel_id": widget, "new_dialogs": 2}])
    );

    let mut weekly = period.clone();
    weekly["group_by"] = json!("week");
    let week = summary(&h, weekly);
    let weeks: Vec<(String, i64)> = week["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["start"].as_str().unwrap().to_string(),
                b["new_dialogs"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        weeks,
        vec![("2026-11-02".to_string(), 3), ("2026-11-09".to_string(), 1)]
    );

    let mut widget_only = period.clone();
    widget_only["channel_id"] = json!(widget);
    assert_eq!(summary(&h, widget_only)["totals"]["new_dialogs"], 2);

    // An operator sees their own numbers, not the team's.
    let mut own = period.clone();
    own["operator_id"] = json!(MANAGER);
    assert_eq!(
        h.call("reports.summary", own.clone()).unwrap_err().code(),
        "forbidden"
    );
    own["for_operator_id"] = json!(MANAGER);
    assert_eq!(summary(&h, own)["totals"]["new_dialogs"], 2);
}
