//! How the team is doing over a period, in the CRM's time zone: new dialogs (per channel and per
//! day or week), messages in and out, first-response and close times (median and p90),
//! unanswered dialogs, dialogs per operator, ratings.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::store::{ReportDialog, ReportScope};
use crate::time::Timestamp;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupBy {
    Day,
    Week,
}

/// The start of the CRM-local day or ISO week holding `at`, as `YYYY-MM-DD`.
fn bucket(at: Timestamp, tz: &jiff::tz::TimeZone, group: GroupBy) -> String {
    let Ok(instant) = jiff::Timestamp::from_millisecond(at.millis()) else {
        return String::new();
    };
    let date = instant.to_zoned(tz.clone()).date();
    let date = match group {
        GroupBy::Day => date,
        GroupBy::Week => {
            let back = i64::from(date.weekday().to_monday_zero_offset());
            date.checked_sub(jiff::Span::new().days(back))
                .unwrap_or(date)
        }
    };
    date.to_string()
}

/// The value below which `share` of the sorted values lie (nearest rank).
fn percentile(sorted: &[i64], share: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((share * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

fn spread(mut seconds: Vec<i64>) -> Value {
    seconds.sort_unstable();
    json!({"count": seconds.len(), "median": percentile(&seconds, 0.5), "p90": percentile(&seconds, 0.9)})
}

fn seconds_between(a: Timestamp, b: Timestamp) -> i64 {
    (b.millis() - a.millis()) / 1000
}

/// The report over dialogs opened in the scope and messages sent in it.
pub fn summary(
    scope: &ReportScope,
    dialogs: &[ReportDialog],
    message_hours: &[(Timestamp, String, i64)],
    tz_name: &str,
    group: GroupBy,
    unanswered_after_minutes: i64,
) -> Value {
    let tz = jiff::tz::TimeZone::get(tz_name).unwrap_or(jiff::tz::TimeZone::UTC);
    #[derive(Default)]
    struct Bucket {
        new_dialogs: i64,
        by_channel: BTreeMap<i64, i64>,
        messages_in: i64,
        messages_out: i64,
    }
    let mut buckets: BTreeMap<String, Bucket> = BTreeMap::new();
    let mut first_response = Vec::new();
    let mut to_close = Vec::new();
    let mut unanswered = 0;
    let mut per_channel: BTreeMap<i64, i64> = BTreeMap::new();
    let mut per_operator: BTreeMap<i64, (i64, Vec<i64>)> = BTreeMap::new();
    let mut ratings: BTreeMap<i64, i64> = BTreeMap::new();
    let now = Timestamp::now();
    for d in dialogs {
        let b = buckets.entry(bucket(d.created_at, &tz, group)).or_default();
        b.new_dialogs += 1;
        *b.by_channel.entry(d.channel_id).or_default() += 1;
        *per_channel.entry(d.channel_id).or_default() += 1;
        let response = match (d.first_in, d.first_reply) {
            (Some(asked), Some(answered)) if answered >= asked => {
                Some(seconds_between(asked, answered))
            }
            _ => None,
        };
        if let Some(r) = response {
            first_response.push(r);
        }
        // Unanswered: the visitor wrote and no operator answered within the limit (or yet, once
        // the limit has passed).
        if let Some(asked) = d.first_in {
            let limit = unanswered_after_minutes * 60;
            let late = match response {
                Some(r) => r > limit,
                None => seconds_between(asked, scope.to.min(now)) > limit,
            };
            if late {
                unanswered += 1;
            }
        }
        if let Some(closed) = d.closed_at {
            to_close.push(seconds_between(d.created_at, closed));
        }
        if let Some(op) = d.assigned_operator_id {
            let entry = per_operator.entry(op).or_default();
            entry.0 += 1;
            if let Some(r) = response {
                entry.1.push(r);
            }
        }
        if let Some(r) = d.rating.filter(|r| (1..=5).contains(r)) {
            *ratings.entry(r).or_default() += 1;
        }
    }
    let (mut messages_in, mut messages_out) = (0, 0);
    for (hour, direction, n) in message_hours {
        let b = buckets.entry(bucket(*hour, &tz, group)).or_default();
        if direction == "in" {
            b.messages_in += n;
            messages_in += n;
        } else {
            b.messages_out += n;
            messages_out += n;
        }
    }
    let rated: i64 = ratings.values().sum();
    let average = (rated > 0)
        .then(|| ratings.iter().map(|(r, n)| r * n).sum::<i64>() as f64 / rated as f64)
        .map(|a| (a * 100.0).round() / 100.0);
    json!({
        "from": scope.from.to_rfc3339(),
        "to": scope.to.to_rfc3339(),
        "timezone": tz_name,
        "group_by": if group == GroupBy::Day { "day" } else { "week" },
        "buckets": buckets.iter().map(|(start, b)| json!({
            "start": start, "new_dialogs": b.new_dialogs,
            "new_dialogs_by_channel": b.by_channel.iter().map(|(c, n)| json!({"channel_id": c, "count": n})).collect::<Vec<_>>(),
            "messages_in": b.messages_in, "messages_out": b.messages_out,
        })).collect::<Vec<_>>(),
        "totals": {
            "new_dialogs": dialogs.len(),
            "messages_in": messages_in,
            "messages_out": messages_out,
            "closed": to_close.len(),
            "unanswered": unanswered,
            "unanswered_after_minutes": unanswered_after_minutes,
            "first_response_seconds": spread(first_response),
            "time_to_close_seconds": spread(to_close),
            "ratings": {"count": rated, "average": average,
                        "distribution": (1..=5).map(|r| json!({"rating": r, "count": ratings.get(&r).copied().unwrap_or(0)})).collect::<Vec<_>>()},
        },
        "by_channel": per_channel.iter().map(|(c, n)| json!({"channel_id": c, "new_dialogs": n})).collect::<Vec<_>>(),
        "by_operator": per_operator.into_iter().map(|(op, (n, mut responses))| {
            responses.sort_unstable();
            json!({"operator_id": op, "dialogs": n, "first_response_median_seconds": percentile(&responses, 0.5)})
        }).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let v = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100];
        assert_eq!(percentile(&v, 0.5), Some(50));
        assert_eq!(percentile(&v, 0.9), Some(90));
        assert_eq!(percentile(&[7], 0.9), Some(7));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn buckets_follow_the_crm_time_zone_and_iso_weeks() {
        let tz = jiff::tz::TimeZone::get("Europe/Moscow").unwrap();
        // 2026-11-24T22:30Z is already Wednesday the 25th in Moscow (UTC+3).
        let at = Timestamp::parse_rfc3339("2026-11-24T22:30:00Z").unwrap();
        assert_eq!(bucket(at, &tz, GroupBy::Day), "2026-11-25");
        assert_eq!(bucket(at, &tz, GroupBy::Week), "2026-11-23", "the Monday");
    }
}
