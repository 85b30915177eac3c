//! The shared sending pace (GCRA, "generic cell rate algorithm"): one row per channel and per
//! chat holds the theoretical arrival time of the next send. Every process reserves its send
//! under the rows' locks, so the messenger sees one pace however many PHP workers send.

use mysql::prelude::Queryable;
use mysql::Row;

use super::{Db, RowExt, StoreResult};
use crate::model::ChannelId;

/// The row of a pace: the channel as a whole, or one chat of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PaceScope {
    Channel,
    Chat(String),
}

impl PaceScope {
    fn key(&self) -> String {
        match self {
            PaceScope::Channel => String::new(),
            // The column is 191 characters; messenger chat ids are far shorter.
            PaceScope::Chat(id) => format!("chat:{}", id.chars().take(180).collect::<String>()),
        }
    }
}

/// One limit a send must fit: at most `burst` at once, then one per `interval_ms`; the send
/// costs `cost` of them. `interval_ms` 0 means no limit (the row is still read for pauses).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaceRequest {
    pub scope: PaceScope,
    pub interval_ms: i64,
    pub burst: i64,
    pub cost: i64,
}

/// What a reservation came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PaceAnswer {
    /// Reserved at `at_ms` (the database's clock): send now.
    Go { at_ms: i64 },
    /// Too early by this many milliseconds; nothing was reserved.
    Wait(i64),
    /// The channel is paused (the messenger asked us to slow down, or is down) until then.
    Paused { until_ms: i64, reason: String },
}

struct PaceRow {
    key: String,
    tat_ms: i64,
    paused_until_ms: i64,
    paused_reason: String,
}

/// How long a send must wait under one limit (0 = it fits), and the row's next arrival time.
/// `use_burst`: an operator's fresh reply may use the burst; everything else only goes when the
/// limit is idle, so it never takes the room a live reply needs.
fn fit(tat_ms: i64, now_ms: i64, r: &PaceRequest, use_burst: bool) -> (i64, i64) {
    if r.interval_ms <= 0 {
        return (0, tat_ms.max(now_ms));
    }
    let cost_ms = r.interval_ms.saturating_mul(r.cost.max(1));
    let next_tat = tat_ms.max(now_ms).saturating_add(cost_ms);
    let allowance = if use_burst {
        r.interval_ms.saturating_mul(r.burst.max(1))
    } else {
        r.interval_ms
    };
    let over = next_tat - now_ms - allowance;
    // A send costing more than the whole allowance goes when the limit is idle.
    let wait = if over > 0 && tat_ms > now_ms {
        over.min(tat_ms - now_ms).max(1)
    } else {
        0
    };
    (wait, next_tat)
}

impl<Q: Queryable> Db<'_, Q> {
    /// Makes sure the pace rows exist (outside the reserving transaction, so that one locks
    /// existing rows only, always in key order, and two senders cannot deadlock on gaps).
    pub fn ensure_pace_rows(
        &mut self,
        channel_id: ChannelId,
        limits: &[PaceRequest],
    ) -> StoreResult<()> {
        // A new row starts at the database's now, so a prune cannot take it before it is used.
        if limits.is_empty() {
            return Ok(());
        }
        let rows = vec!["(?, ?, ?, CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED))"; limits.len()];
        let insert = self.t.sql(&format!(
            "INSERT IGNORE INTO {{send_pace}} (identity, channel_id, scope, tat_ms) VALUES {}",
            rows.join(", ")
        ));
        let params: Vec<mysql::Value> = limits
            .iter()
            .flat_map(|l| {
                [
                    self.identity.into(),
                    channel_id.into(),
                    l.scope.key().into(),
                ]
            })
            .collect();
        self.q.exec_drop(insert, params)?;
        Ok(())
    }

    /// Reserves one send on `channel_id` under every limit at once; call it inside a transaction
    /// (the rows stay locked until it ends), after `ensure_pace_rows`. Nothing is reserved unless
    /// everything fits.
    /// The pace runs on the database's clock, shared by every host (`now_ms` when it cannot be
    /// read); a pause is over once `clock_ms` passes it (`tick` may be told it is later than it
    /// is, and then a pause has ended).
    pub fn reserve_send(
        &mut self,
        channel_id: ChannelId,
        limits: &[PaceRequest],
        use_burst: bool,
        now_ms: i64,
        clock_ms: i64,
    ) -> StoreResult<PaceAnswer> {
        let keys: Vec<String> = limits.iter().map(|l| l.scope.key()).collect();
        let placeholders = vec!["?"; keys.len().max(1)].join(", ");
        let select = self.t.sql(&format!(
            "SELECT scope, tat_ms, paused_until_ms, paused_reason, \
             CAST(UNIX_TIMESTAMP(SYSDATE(3)) * 1000 AS SIGNED) AS db_now FROM {{send_pace}} \
             WHERE identity = ? AND channel_id = ? AND scope IN ({placeholders}) ORDER BY scope FOR UPDATE"
        ));
        let mut params: Vec<mysql::Value> = vec![self.identity.into(), channel_id.into()];
        params.extend(keys.iter().map(|k| mysql::Value::from(k.as_str())));
        if keys.is_empty() {
            params.push("".into());
        }
        let rows: Vec<Row> = self.q.exec(select, params)?;
        // SYSDATE, unlike NOW, is read when the row is, after its lock was granted: a
        // reservation that queued for the lock does not judge the pace by when it started.
        let now_ms = rows
            .iter()
            .filter_map(|r| r.get_opt::<i64, _>("db_now").and_then(Result::ok))
            .max()
            .unwrap_or(now_ms);
        let rows: Vec<PaceRow> = rows
            .into_iter()
            .map(|mut r| PaceRow {
                key: r.col("scope").unwrap_or_default(),
                tat_ms: r.col("tat_ms").unwrap_or(0),
                paused_until_ms: r.col("paused_until_ms").unwrap_or(0),
                paused_reason: r
                    .col::<Option<String>>("paused_reason")
                    .flatten()
                    .unwrap_or_default(),
            })
            .collect();
        if let Some(paused) = rows
            .iter()
            .find(|r| r.paused_until_ms > clock_ms.max(now_ms))
        {
            return Ok(PaceAnswer::Paused {
                until_ms: paused.paused_until_ms,
                reason: paused.paused_reason.clone(),
            });
        }
        // A row pruned since `ensure_pace_rows`: come back at once, it is made again.
        if rows.len() < keys.len() {
            return Ok(PaceAnswer::Wait(1));
        }
        let mut wait = 0;
        let mut updates = Vec::with_capacity(limits.len());
        for (limit, key) in limits.iter().zip(&keys) {
            let tat = rows.iter().find(|r| &r.key == key).map_or(0, |r| r.tat_ms);
            let (w, next_tat) = fit(tat, now_ms, limit, use_burst);
            wait = wait.max(w);
            updates.push((key, next_tat));
        }
        if wait > 0 {
            return Ok(PaceAnswer::Wait(wait));
        }
        // One statement moves every row on.
        let update = self.t.sql(&format!(
            "UPDATE {{send_pace}} SET tat_ms = CASE scope {} END \
             WHERE identity = ? AND channel_id = ? AND scope IN ({placeholders})",
            vec!["WHEN ? THEN ?"; updates.len()].join(" ")
        ));
        let mut params: Vec<mysql::Value> = Vec::with_capacity(updates.len() * 3 + 2);
        for (key, next_tat) in &updates {
            params.push(key.as_str().into());
            params.push((*next_tat).into());
        }
        params.push(self.identity.into());
        params.push(channel_id.into());
        params.extend(keys.iter().map(|k| mysql::Value::from(k.as_str())));
        self.q.exec_drop(update, params)?;
        Ok(PaceAnswer::Go { at_ms: now_ms })
    }

    /// Holds every send of the channel until `until_ms` (never shortens a longer pause).
    pub fn pause_channel(
        &mut self,
        channel_id: ChannelId,
        until_ms: i64,
        reason: &str,
    ) -> StoreResult<()> {
        let sql = self.t.sql(
            "INSERT INTO {send_pace} (identity, channel_id, scope, tat_ms, paused_until_ms, paused_at_ms, paused_reason) \
             VALUES (?, ?, '', 0, ?, CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED), ?) ON DUPLICATE KEY UPDATE \
             paused_reason = IF(VALUES(paused_until_ms) > paused_until_ms, VALUES(paused_reason), paused_reason), \
             paused_at_ms = IF(VALUES(paused_until_ms) > paused_until_ms, VALUES(paused_at_ms), paused_at_ms), \
             paused_until_ms = GREATEST(paused_until_ms, VALUES(paused_until_ms))",
        );
        let reason: String = reason.chars().take(500).collect();
        self.q
            .exec_drop(sql, (self.identity, channel_id, until_ms, reason))?;
        Ok(())
    }

    /// A send reserved at `reserved_at_ms` went through. A pause set before that reservation is
    /// over (the reservation could pass it only because the caller's clock said so); one set
    /// after it, by another process's failure, stands.
    pub fn end_channel_pause(
        &mut self,
        channel_id: ChannelId,
        reserved_at_ms: i64,
    ) -> StoreResult<()> {
        let sql = self.t.sql(
            "UPDATE {send_pace} SET paused_until_ms = 0, paused_reason = NULL \
             WHERE identity = ? AND channel_id = ? AND scope = '' AND paused_until_ms > 0 AND paused_at_ms < ?",
        );
        self.q
            .exec_drop(sql, (self.identity, channel_id, reserved_at_ms))?;
        Ok(())
    }

    /// Forgets chat rows idle since `before_ms` (they would allow a full burst anyway).
    pub fn prune_send_pace(&mut self, before_ms: i64) -> StoreResult<u64> {
        let sql = self.t.sql(
            "DELETE FROM {send_pace} WHERE identity = ? AND scope <> '' AND tat_ms < ? \
             AND paused_until_ms < ? LIMIT 5000",
        );
        let result = self
            .q
            .exec_iter(sql, (self.identity, before_ms, before_ms))?;
        Ok(result.affected_rows())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(interval_ms: i64, burst: i64, cost: i64) -> PaceRequest {
        PaceRequest {
            scope: PaceScope::Channel,
            interval_ms,
            burst,
            cost,
        }
    }

    /// Replays sends at the given times against one limit; returns the waits asked for.
    fn replay(r: &PaceRequest, use_burst: bool, times: &[i64]) -> Vec<i64> {
        let mut tat = 0;
        times
            .iter()
            .map(|&now| {
                let (wait, next) = fit(tat, now, r, use_burst);
                if wait == 0 {
                    tat = next;
                }
                wait
            })
            .collect()
    }

    #[test]
    fn a_burst_goes_at_once_then_one_per_interval() {
        let r = limit(1000, 3, 1);
        assert_eq!(replay(&r, true, &[0, 0, 0, 0]), [0, 0, 0, 1000]);
        // After waiting as told, the fourth goes, and the fifth waits a whole interval.
        assert_eq!(replay(&r, true, &[0, 0, 0, 1000, 1000]), [0, 0, 0, 0, 1000]);
    }

    #[test]
    fn without_the_burst_sends_keep_to_the_interval() {
        let r = limit(1000, 3, 1);
        assert_eq!(replay(&r, false, &[0, 0, 500, 1000]), [0, 1000, 500, 0]);
    }

    #[test]
    fn a_live_reply_finds_room_while_background_sends_keep_the_limit_busy() {
        let r = limit(40, 5, 1);
        let mut tat = 0;
        // Background sends at full pace for a second: each goes only when the limit is idle.
        let mut now = 0;
        let mut sent = 0;
        while now < 1000 {
            let (wait, next) = fit(tat, now, &r, false);
            if wait == 0 {
                tat = next;
                sent += 1;
            } else {
                now += wait;
                continue;
            }
        }
        assert_eq!(sent, 25, "one per 40 ms");
        // A live reply at that moment goes at once.
        assert_eq!(fit(tat, now, &r, true).0, 0);
    }

    #[test]
    fn any_window_holds_at_most_burst_plus_rate() {
        // Telegram's per-bot pace: 5 at once, then one per 40 ms → never more than 30 in a second.
        let r = limit(40, 5, 1);
        let mut tat = 0;
        let mut sent_at = Vec::new();
        let mut now = 0;
        while now < 5000 {
            let (wait, next) = fit(tat, now, &r, true);
            if wait == 0 {
                tat = next;
                sent_at.push(now);
            } else {
                now += wait;
            }
        }
        let most = sent_at
            .iter()
            .map(|&t| sent_at.iter().filter(|&&u| u >= t && u < t + 1000).count())
            .max()
            .unwrap();
        assert!(most <= 30, "{most} sends in one second");
        assert!(most >= 29, "the pace uses what it may: {most}");
    }

    #[test]
    fn an_expensive_send_waits_for_an_idle_limit_instead_of_forever() {
        let r = limit(60, 3, 7);
        assert_eq!(fit(0, 100, &r, true).0, 0, "idle: it goes");
        let (wait, _) = fit(200, 100, &r, true);
        assert_eq!(wait, 100, "busy: until idle");
    }

    #[test]
    fn no_limit_never_waits() {
        let r = limit(0, 1, 5);
        assert_eq!(replay(&r, false, &[0, 0, 0, 0]), [0, 0, 0, 0]);
    }
}
