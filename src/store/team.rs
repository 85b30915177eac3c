//! The team's tables: settings, operators and presence, who a dialog belongs to, closing and
//! reopening, automatic messages once per opening, and the lock that keeps timed work single.
//!
//! Every change of a dialog's owner or state is one conditional UPDATE: when two operators take
//! the same dialog at once, the database lets exactly one of them change it.

use mysql::prelude::Queryable;
use mysql::Row;

use super::{exec_write, Db, RowExt, StoreResult};
use crate::model::{DialogId, OperatorId};
use crate::time::Timestamp;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presence {
    Online,
    Away,
    Offline,
}

impl Presence {
    pub fn as_str(self) -> &'static str {
        match self {
            Presence::Online => "online",
            Presence::Away => "away",
            Presence::Offline => "offline",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "online" => Some(Presence::Online),
            "away" => Some(Presence::Away),
            "offline" => Some(Presence::Offline),
            _ => None,
        }
    }
}

/// An operator as the team pages show them.
#[derive(Clone, Debug)]
pub struct OperatorRow {
    pub user_id: OperatorId,
    pub status: Presence,
    pub last_seen_at: Option<Timestamp>,
    pub last_assigned_at: Option<Timestamp>,
    pub open_dialogs: i64,
}

impl OperatorRow {
    /// Online by choice and heard from recently enough.
    pub fn is_online(&self, seen_since: Timestamp) -> bool {
        self.status == Presence::Online && self.last_seen_at.is_some_and(|at| at >= seen_since)
    }
}

/// Where a dialog stands, for access checks and state changes.
#[derive(Clone, Debug)]
pub struct DialogState {
    pub id: DialogId,
    pub visitor_id: i64,
    pub channel_id: i64,
    pub open: bool,
    pub assigned_operator_id: Option<OperatorId>,
    pub member_ids: Vec<OperatorId>,
}

const OPERATOR_COLUMNS: &str = "o.user_id, o.status, o.last_seen_at, o.last_assigned_at, \
    (SELECT COUNT(*) FROM {dialogs} d WHERE d.assigned_operator_id = o.user_id AND d.status = 'open' \
     AND d.identity = o.identity) AS open_dialogs";

fn operator_from_row(mut r: Row) -> OperatorRow {
    OperatorRow {
        user_id: r.col("user_id").unwrap_or_default(),
        status: Presence::parse(&r.col::<String>("status").unwrap_or_default())
            .unwrap_or(Presence::Offline),
        last_seen_at: r.col("last_seen_at").unwrap_or_default(),
        last_assigned_at: r.col("last_assigned_at").unwrap_or_default(),
        open_dialogs: r.col("open_dialogs").unwrap_or_default(),
    }
}

impl<Q: Queryable> Db<'_, Q> {
    // --- settings -----------------------------------------------------------------------------

    pub fn settings_json(&mut self) -> StoreResult<Option<String>> {
        let sql = self
            .t
            .sql("SELECT settings FROM {settings} WHERE identity = ?");
        Ok(self.q.exec_first(sql, (self.identity,))?)
    }

    pub fn save_settings_json(&mut self, json: &str, by: OperatorId) -> StoreResult<()> {
        let sql = self.t.sql(
            "INSERT INTO {settings} (identity, settings, updated_at, updated_by) VALUES (?, ?, ?, ?) \
             ON DUPLICATE KEY UPDATE settings = VALUES(settings), updated_at = VALUES(updated_at), \
             updated_by = VALUES(updated_by)",
        );
        self.q
            .exec_drop(sql, (self.identity, json, Timestamp::now(), by))?;
        Ok(())
    }

    /// The CRM's time zone name from its settings table, when it has one.
    pub fn crm_timezone(&mut self) -> StoreResult<Option<String>> {
        let sql = self.t.sql(
            "SELECT {settings_timezone} FROM {settings_table} WHERE {settings_identity} = ? LIMIT 1",
        );
        let tz: Option<Option<String>> = self.q.exec_first(sql, (self.identity,))?;
        Ok(tz.flatten().filter(|t| !t.trim().is_empty()))
    }

    /// The company's name from the CRM's settings (`{company}` in canned replies).
    pub fn crm_company(&mut self) -> StoreResult<String> {
        let sql = self.t.sql(
            "SELECT {settings_company} FROM {settings_table} WHERE {settings_identity} = ? LIMIT 1",
        );
        let name: Option<Option<String>> = self.q.exec_first(sql, (self.identity,))?;
        Ok(name.flatten().unwrap_or_default())
    }

    // --- operators ----------------------------------------------------------------------------

    /// Makes CRM users operators (offline until their console says otherwise); how many were new.
    pub fn add_operators(&mut self, user_ids: &[OperatorId]) -> StoreResult<u64> {
        let sql = self.t.sql(
            "INSERT INTO {operators} (identity, user_id, status, added_at) VALUES (?, ?, 'offline', ?) \
             ON DUPLICATE KEY UPDATE user_id = user_id",
        );
        let now = Timestamp::now();
        let mut added = 0;
        for id in user_ids {
            added += exec_write(&mut self.q, &sql, (self.identity, id, now))?.0;
        }
        Ok(added)
    }

    pub fn remove_operator(&mut self, user_id: OperatorId) -> StoreResult<bool> {
        let sql = self
            .t
            .sql("DELETE FROM {operators} WHERE identity = ? AND user_id = ?");
        Ok(exec_write(&mut self.q, &sql, (self.identity, user_id))?.0 > 0)
    }

    pub fn operators(&mut self) -> StoreResult<Vec<OperatorRow>> {
        let sql = self.t.sql(&format!(
            "SELECT {OPERATOR_COLUMNS} FROM {{operators}} o WHERE o.identity = ? ORDER BY o.user_id"
        ));
        let rows: Vec<Row> = self.q.exec(sql, (self.identity,))?;
        Ok(rows.into_iter().map(operator_from_row).collect())
    }

    pub fn operator(&mut self, user_id: OperatorId) -> StoreResult<Option<OperatorRow>> {
        let sql = self.t.sql(&format!(
            "SELECT {OPERATOR_COLUMNS} FROM {{operators}} o WHERE o.identity = ? AND o.user_id = ?"
        ));
        let row: Option<Row> = self.q.exec_first(sql, (self.identity, user_id))?;
        Ok(row.map(operator_from_row))
    }

    /// The operator's chosen status; also a sign of life. False when they are not an operator.
    pub fn set_presence(
        &mut self,
        user_id: OperatorId,
        status: Presence,
        at: Timestamp,
    ) -> StoreResult<bool> {
        let sql = self.t.sql(
            "UPDATE {operators} SET status = ?, last_seen_at = ? WHERE identity = ? AND user_id = ?",
        );
        Ok(exec_write(
            &mut self.q,
            &sql,
            (status.as_str(), at, self.identity, user_id),
        )?
        .0 > 0)
    }

    /// The console is open: the operator keeps counting as present.
    pub fn heartbeat(&mut self, user_id: OperatorId, at: Timestamp) -> StoreResult<bool> {
        let sql = self.t.sql(
            "UPDATE {operators} SET last_seen_at = GREATEST(COALESCE(last_seen_at, ?), ?) \
             WHERE identity = ? AND user_id = ?",
        );
        // A repeated heartbeat within the same millisecond changes no row but is not an error.
        exec_write(&mut self.q, &sql, (at, at, self.identity, user_id))?;
        Ok(self.operator(user_id)?.is_some())
    }

    /// Online operators seen since `seen_since` with fewer than `capacity` open dialogs
    /// (0 = no limit).
    pub fn available_operators(
        &mut self,
        seen_since: Timestamp,
        capacity: u32,
    ) -> StoreResult<Vec<OperatorRow>> {
        let sql = self.t.sql(&format!(
            "SELECT * FROM (SELECT {OPERATOR_COLUMNS} FROM {{operators}} o WHERE o.identity = ? \
             AND o.status = 'online' AND o.last_seen_at >= ?) a WHERE ? = 0 OR a.open_dialogs < ? \
             ORDER BY a.user_id"
        ));
        let rows: Vec<Row> = self
            .q
            .exec(sql, (self.identity, seen_since, capacity, capacity))?;
        Ok(rows.into_iter().map(operator_from_row).collect())
    }

    // --- dialogs: who has them ----------------------------------------------------------------

    pub fn dialog_state(&mut self, id: DialogId) -> StoreResult<Option<DialogState>> {
        let sql = self.t.sql(
            "SELECT id, visitor_id, channel_id, status, assigned_operator_id FROM {dialogs} \
             WHERE id = ? AND identity = ?",
        );
        let row: Option<(DialogId, i64, i64, String, Option<OperatorId>)> =
            self.q.exec_first(sql, (id, self.identity))?;
        let Some((id, visitor_id, channel_id, status, assigned)) = row else {
            return Ok(None);
        };
        let sql = self.t.sql(
            "SELECT operator_id FROM {dialog_operators} WHERE dialog_id = ? ORDER BY joined_at, operator_id",
        );
        let member_ids: Vec<OperatorId> = self.q.exec(sql, (id,))?;
        Ok(Some(DialogState {
            id,
            visitor_id,
            channel_id,
            open: status == "open",
            assigned_operator_id: assigned,
            member_ids,
        }))
    }

    /// Gives an open dialog to `to` if its owner is still `expected` (None = queued): one
    /// conditional UPDATE, so of two concurrent takers exactly one wins. The new owner becomes a
    /// member; with `drop_previous` the previous owner stops being one (a hand-over).
    pub fn assign(
        &mut self,
        dialog_id: DialogId,
        expected: Option<OperatorId>,
        to: OperatorId,
        drop_previous: bool,
        at: Timestamp,
    ) -> StoreResult<bool> {
        let sql = self.t.sql(
            "UPDATE {dialogs} SET assigned_operator_id = ?, assigned_at = ? \
             WHERE id = ? AND identity = ? AND status = 'open' AND assigned_operator_id <=> ?",
        );
        let (changed, _) = exec_write(
            &mut self.q,
            &sql,
            (to, at, dialog_id, self.identity, expected),
        )?;
        if changed == 0 {
            return Ok(false);
        }
        if let Some(previous) = expected.filter(|p| drop_previous && *p != to) {
            let sql = self
                .t
                .sql("DELETE FROM {dialog_operators} WHERE dialog_id = ? AND operator_id = ?");
            self.q.exec_drop(sql, (dialog_id, previous))?;
        }
        let sql = self.t.sql(
            "INSERT INTO {dialog_operators} (dialog_id, operator_id, role, joined_at) VALUES (?, ?, 'owner', ?) \
             ON DUPLICATE KEY UPDATE role = 'owner'",
        );
        self.q.exec_drop(sql, (dialog_id, to, at))?;
        let sql = self.t.sql(
            "UPDATE {dialog_operators} SET role = 'member' WHERE dialog_id = ? AND operator_id <> ?",
        );
        self.q.exec_drop(sql, (dialog_id, to))?;
        let sql = self
            .t
            .sql("UPDATE {operators} SET last_assigned_at = ? WHERE identity = ? AND user_id = ?");
        self.q.exec_drop(sql, (at, self.identity, to))?;
        Ok(true)
    }

    /// A colleague stops taking part; the owner cannot leave (they transfer or close).
    pub fn leave(&mut self, dialog_id: DialogId, operator_id: OperatorId) -> StoreResult<bool> {
        let sql = self.t.sql(
            "DELETE FROM {dialog_operators} WHERE dialog_id = ? AND operator_id = ? AND role <> 'owner'",
        );
        Ok(exec_write(&mut self.q, &sql, (dialog_id, operator_id))?.0 > 0)
    }

    /// Open dialogs nobody has, oldest first.
    pub fn queued_dialogs(&mut self, limit: usize) -> StoreResult<Vec<DialogId>> {
        let sql = self.t.sql(
            "SELECT id FROM {dialogs} FORCE INDEX (queue) WHERE identity = ? AND status = 'open' \
             AND assigned_operator_id IS NULL ORDER BY opened_at, id LIMIT ?",
        );
        Ok(self.q.exec(sql, (self.identity, limit as u64))?)
    }

    // --- closing and reopening ----------------------------------------------------------------

    /// Closes an open dialog; false when it was not open. The visitor's next message reopens it.
    pub fn close_dialog(&mut self, dialog_id: DialogId, at: Timestamp) -> StoreResult<bool> {
        let sql = self.t.sql(
            "UPDATE {dialogs} SET status = 'closed', open_visitor_id = NULL, closed_at = ? \
             WHERE id = ? AND identity = ? AND status = 'open'",
        );
        Ok(exec_write(&mut self.q, &sql, (at, dialog_id, self.identity))?.0 > 0)
    }

    /// Closes an open dialog that had no activity since `idle_before`; false otherwise.
    pub fn close_dialog_if_idle(
        &mut self,
        dialog_id: DialogId,
        idle_before: Timestamp,
        at: Timestamp,
    ) -> StoreResult<bool> {
        let sql = self.t.sql(
            "UPDATE {dialogs} SET status = 'closed', open_visitor_id = NULL, closed_at = ? \
             WHERE id = ? AND identity = ? AND status = 'open' AND last_activity_at < ?",
        );
        Ok(exec_write(
            &mut self.q,
            &sql,
            (at, dialog_id, self.identity, idle_before),
        )?
        .0 > 0)
    }

    /// Locks the operator's row (until the transaction ends) and counts their open dialogs.
    pub fn lock_operator_load(&mut self, user_id: OperatorId) -> StoreResult<i64> {
        let sql = self
            .t
            .sql("SELECT user_id FROM {operators} WHERE identity = ? AND user_id = ? FOR UPDATE");
        let _: Option<i64> = self.q.exec_first(sql, (self.identity, user_id))?;
        let sql = self.t.sql(
            "SELECT COUNT(*) FROM {dialogs} WHERE assigned_operator_id = ? AND status = 'open' AND identity = ?",
        );
        Ok(self
            .q
            .exec_first(sql, (user_id, self.identity))?
            .unwrap_or(0))
    }

    /// Puts an operator's open dialogs back in the queue (they stopped being an operator).
    pub fn unassign_operator(&mut self, user_id: OperatorId) -> StoreResult<Vec<DialogId>> {
        let sql = self.t.sql(
            "SELECT id FROM {dialogs} WHERE assigned_operator_id = ? AND status = 'open' AND identity = ?",
        );
        let ids: Vec<DialogId> = self.q.exec(sql, (user_id, self.identity))?;
        let sql = self.t.sql(
            "UPDATE {dialogs} SET assigned_operator_id = NULL, assigned_at = NULL \
             WHERE assigned_operator_id = ? AND status = 'open' AND identity = ?",
        );
        self.q.exec_drop(sql, (user_id, self.identity))?;
        Ok(ids)
    }

    /// Reopens a closed dialog; false when it is not closed. Fails on the unique key when the
    /// visitor already has another open dialog.
    pub fn reopen_dialog(&mut self, dialog_id: DialogId, at: Timestamp) -> StoreResult<bool> {
        let sql = self.t.sql(
            "UPDATE {dialogs} SET status = 'open', open_visitor_id = visitor_id, closed_at = NULL, \
             opened_at = ?, auto_replies = '' WHERE id = ? AND identity = ? AND status = 'closed'",
        );
        Ok(exec_write(&mut self.q, &sql, (at, dialog_id, self.identity))?.0 > 0)
    }

    /// Open dialogs without activity since `before`, oldest first.
    pub fn idle_dialogs(&mut self, before: Timestamp, limit: usize) -> StoreResult<Vec<DialogId>> {
        let sql = self.t.sql(
            "SELECT id FROM {dialogs} FORCE INDEX (list_by_status) WHERE identity = ? AND status = 'open' \
             AND last_activity_at < ? ORDER BY last_activity_at, id LIMIT ?",
        );
        Ok(self.q.exec(sql, (self.identity, before, limit as u64))?)
    }

    /// Claims the right to send an automatic message of `kind` in this opening of the dialog:
    /// true exactly once, however many processes ask.
    pub fn claim_auto_reply(&mut self, dialog_id: DialogId, kind: &str) -> StoreResult<bool> {
        let sql = self.t.sql(
            "UPDATE {dialogs} SET auto_replies = IF(auto_replies = '', ?, CONCAT(auto_replies, ',', ?)) \
             WHERE id = ? AND FIND_IN_SET(?, auto_replies) = 0",
        );
        Ok(exec_write(&mut self.q, &sql, (kind, kind, dialog_id, kind))?.0 > 0)
    }

    /// Whether the visitor has written before this dialog (their first contact otherwise).
    pub fn visitor_wrote_before(
        &mut self,
        visitor_id: i64,
        dialog_id: DialogId,
    ) -> StoreResult<bool> {
        let sql = self.t.sql(
            "SELECT 1 FROM {dialogs} d JOIN {messages} m ON m.dialog_id = d.id AND m.direction = 'in' \
             WHERE d.visitor_id = ? AND d.id <> ? LIMIT 1",
        );
        Ok(self
            .q
            .exec_first::<i64, _, _>(sql, (visitor_id, dialog_id))?
            .is_some())
    }

    // --- ratings ------------------------------------------------------------------------------

    pub fn mark_rating_requested(&mut self, dialog_id: DialogId, at: Timestamp) -> StoreResult<()> {
        let sql = self
            .t
            .sql("UPDATE {dialogs} SET rating_requested_at = ? WHERE id = ?");
        self.q.exec_drop(sql, (at, dialog_id))?;
        Ok(())
    }

    /// The visitor's closed dialog waiting for a rating asked after `asked_since`.
    pub fn dialog_awaiting_rating(
        &mut self,
        visitor_id: i64,
        asked_since: Timestamp,
    ) -> StoreResult<Option<DialogId>> {
        let sql = self.t.sql(
            "SELECT id FROM {dialogs} WHERE visitor_id = ? AND status = 'closed' AND rating IS NULL \
             AND rating_requested_at >= ? ORDER BY id DESC LIMIT 1",
        );
        Ok(self.q.exec_first(sql, (visitor_id, asked_since))?)
    }

    pub fn set_rating(
        &mut self,
        dialog_id: DialogId,
        rating: u8,
        at: Timestamp,
    ) -> StoreResult<bool> {
        let sql = self
            .t
            .sql("UPDATE {dialogs} SET rating = ?, rated_at = ? WHERE id = ? AND rating IS NULL");
        Ok(exec_write(&mut self.q, &sql, (rating, at, dialog_id))?.0 > 0)
    }

    // --- timed work ---------------------------------------------------------------------------

    /// True when no `tick` started within `interval_ms` before `now` (and records this one): the
    /// opportunistic runs from ordinary requests stay at one a minute across web servers.
    pub fn claim_tick_slot(&mut self, now: Timestamp, interval_ms: i64) -> StoreResult<bool> {
        let sql = self.t.sql(
            "INSERT IGNORE INTO {settings} (identity, settings, updated_at) VALUES (?, '{}', ?)",
        );
        self.q.exec_drop(sql, (self.identity, now))?;
        let sql = self.t.sql(
            "UPDATE {settings} SET last_tick_at = ? WHERE identity = ? \
             AND (last_tick_at IS NULL OR last_tick_at <= ?)",
        );
        let due_before = Timestamp(now.millis() - interval_ms);
        Ok(exec_write(&mut self.q, &sql, (now, self.identity, due_before))?.0 > 0)
    }

    /// Takes the tenant's timed-work lock without waiting; false when another process has it.
    pub fn try_tick_lock(&mut self, name: &str) -> StoreResult<bool> {
        let got: Option<i64> = self.q.exec_first("SELECT GET_LOCK(?, 0)", (name,))?;
        Ok(got == Some(1))
    }

    pub fn release_tick_lock(&mut self, name: &str) -> StoreResult<()> {
        let _: Option<i64> = self.q.exec_first("SELECT RELEASE_LOCK(?)", (name,))?;
        Ok(())
    }

    /// Forgets processed webhook deliveries older than `before` (redeliveries stop long before).
    pub fn prune_deliveries(&mut self, before: Timestamp) -> StoreResult<u64> {
        let sql = self
            .t
            .sql("DELETE FROM {deliveries} WHERE received_at < ? LIMIT 10000");
        Ok(exec_write(&mut self.q, &sql, (before,))?.0)
    }
}
