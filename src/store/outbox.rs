//! The outbox's rows: which replies wait to be sent, which one a process is sending, which ones
//! died mid-call. Claims are conditional UPDATEs, so one message is sent by one process at a time.

use mysql::prelude::Queryable;
use mysql::Row;

use super::{exec_write, Db, RowExt, StoreResult};
use crate::model::{ChannelId, DialogId, MessageId};
use crate::time::Timestamp;

/// The first unfinished row of a dialog (its order is the dialog's order).
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxHead {
    pub message_id: MessageId,
    pub state: String,
    /// 0 = an operator's reply, 1 = automatic.
    pub priority: i64,
    pub attempts: i64,
    /// An operator's fresh reply waits further down the dialog.
    pub live_behind: bool,
    pub next_attempt_at: Timestamp,
    pub created_at: Timestamp,
}

impl<Q: Queryable> Db<'_, Q> {
    /// Queues a stored reply; `priority` 0 = an operator's, 1 = automatic.
    pub fn enqueue(
        &mut self,
        message_id: MessageId,
        channel_id: ChannelId,
        dialog_id: DialogId,
        priority: u8,
        at: Timestamp,
    ) -> StoreResult<()> {
        let sql = self.t.sql(
            "INSERT INTO {outbox} (message_id, identity, channel_id, dialog_id, state, priority, attempts, \
             next_attempt_at, created_at) VALUES (?, ?, ?, ?, 'pending', ?, 0, ?, ?) \
             ON DUPLICATE KEY UPDATE state = 'pending', attempts = 0, next_attempt_at = VALUES(next_attempt_at), \
             claimed_at = NULL, last_error = NULL, created_at = VALUES(created_at)",
        );
        self.q.exec_drop(
            sql,
            (
                message_id,
                self.identity,
                channel_id,
                dialog_id,
                priority,
                at,
                at,
            ),
        )?;
        Ok(())
    }

    /// The dialog's earliest pending or in-flight row.
    pub fn outbox_head(&mut self, dialog_id: DialogId) -> StoreResult<Option<OutboxHead>> {
        let sql = self.t.sql(
            "SELECT o.message_id, o.state, o.priority, o.attempts, o.next_attempt_at, o.created_at, \
             EXISTS (SELECT 1 FROM {outbox} l WHERE l.dialog_id = o.dialog_id AND l.state = 'pending' \
             AND l.priority = 0 AND l.attempts = 0 AND l.message_id > o.message_id) AS live_behind \
             FROM {outbox} o WHERE o.dialog_id = ? AND o.state IN ('pending', 'in_flight') \
             ORDER BY o.message_id LIMIT 1",
        );
        let row: Option<Row> = self.q.exec_first(sql, (dialog_id,))?;
        Ok(row.map(|mut r| OutboxHead {
            message_id: r.col("message_id").unwrap_or_default(),
            state: r.col("state").unwrap_or_default(),
            priority: r.col("priority").unwrap_or(1),
            attempts: r.col("attempts").unwrap_or_default(),
            live_behind: r.col::<i64>("live_behind").unwrap_or(0) != 0,
            next_attempt_at: r.col("next_attempt_at").unwrap_or(Timestamp(0)),
            created_at: r.col("created_at").unwrap_or(Timestamp(0)),
        }))
    }

    /// Takes a pending row for sending; false when another process took it first.
    pub fn claim_send(&mut self, message_id: MessageId, at: Timestamp) -> StoreResult<bool> {
        let sql = self.t.sql(
            "UPDATE {outbox} SET state = 'in_flight', claimed_at = ?, attempts = attempts + 1 \
             WHERE message_id = ? AND state = 'pending'",
        );
        Ok(exec_write(&mut self.q, &sql, (at, message_id))?.0 > 0)
    }

    /// The send is over (sent or failed for good): the row goes.
    pub fn finish_send(&mut self, message_id: MessageId) -> StoreResult<()> {
        let sql = self.t.sql("DELETE FROM {outbox} WHERE message_id = ?");
        self.q.exec_drop(sql, (message_id,))?;
        Ok(())
    }

    /// A temporary failure: tried again at `next`.
    pub fn retry_send_at(
        &mut self,
        message_id: MessageId,
        next: Timestamp,
        error: &str,
    ) -> StoreResult<()> {
        let sql = self.t.sql(
            "UPDATE {outbox} SET state = 'pending', next_attempt_at = ?, claimed_at = NULL, last_error = ? \
             WHERE message_id = ?",
        );
        self.q.exec_drop(sql, (next, error, message_id))?;
        Ok(())
    }

    /// Our claim (taken at `claim`) on a row that may not be sent yet (the channel's pace or
    /// pause): back to pending, due at `next`, the claim's attempt not counted. Another
    /// process's later claim is never touched.
    pub fn release_claim(
        &mut self,
        message_id: MessageId,
        claim: Timestamp,
        next: Timestamp,
    ) -> StoreResult<()> {
        let sql = self.t.sql(
            "UPDATE {outbox} SET state = 'pending', next_attempt_at = ?, claimed_at = NULL, \
             attempts = GREATEST(attempts - 1, 0) WHERE message_id = ? AND state = 'in_flight' AND claimed_at = ?",
        );
        self.q.exec_drop(sql, (next, message_id, claim))?;
        Ok(())
    }

    /// Our claim on a row whose preparation failed before any messenger call: back to pending
    /// at `next`, the attempt counted.
    pub fn retry_claim(
        &mut self,
        message_id: MessageId,
        claim: Timestamp,
        next: Timestamp,
        error: &str,
    ) -> StoreResult<()> {
        let sql = self.t.sql(
            "UPDATE {outbox} SET state = 'pending', next_attempt_at = ?, claimed_at = NULL, last_error = ? \
             WHERE message_id = ? AND state = 'in_flight' AND claimed_at = ?",
        );
        self.q.exec_drop(sql, (next, error, message_id, claim))?;
        Ok(())
    }

    /// Our claim ends the row (given up); false when the claim was not ours any more.
    pub fn finish_claim(&mut self, message_id: MessageId, claim: Timestamp) -> StoreResult<bool> {
        let sql = self.t.sql(
            "DELETE FROM {outbox} WHERE message_id = ? AND state = 'in_flight' AND claimed_at = ?",
        );
        Ok(exec_write(&mut self.q, &sql, (message_id, claim))?.0 > 0)
    }

    /// A send whose outcome is not known (it timed out after reaching the messenger): kept as
    /// `unknown`, never resent by itself.
    pub fn mark_send_unknown(&mut self, message_id: MessageId, error: &str) -> StoreResult<()> {
        let sql = self.t.sql(
            "UPDATE {outbox} SET state = 'unknown', claimed_at = NULL, last_error = ? WHERE message_id = ?",
        );
        self.q.exec_drop(sql, (error, message_id))?;
        Ok(())
    }

    /// The messenger confirmed our send `message_id` as `external_id` (by the key we gave it).
    /// A message left unknown becomes sent; one still being sent keeps the confirmation for when
    /// its outcome is recorded. Returns the dialog of a message it settled.
    pub fn confirm_send(
        &mut self,
        channel_id: ChannelId,
        message_id: MessageId,
        external_id: &str,
    ) -> StoreResult<Option<DialogId>> {
        let sql = self.t.sql(
            "SELECT status, dialog_id FROM {messages} WHERE id = ? AND channel_id = ? AND identity = ? \
             AND direction = 'out' AND external_id IS NULL",
        );
        let row: Option<(String, DialogId)> = self
            .q
            .exec_first(sql, (message_id, channel_id, self.identity))?;
        let Some((status, dialog_id)) = row else {
            return Ok(None);
        };
        if status == "unknown" {
            let sql = self.t.sql(
                "UPDATE {messages} SET status = 'sent', external_id = ?, error_code = NULL, \
                 error_message = NULL, retry_after = NULL WHERE id = ? AND status = 'unknown' AND external_id IS NULL",
            );
            let settled = exec_write(&mut self.q, &sql, (external_id, message_id))?.0 > 0;
            let sql = self
                .t
                .sql("DELETE FROM {outbox} WHERE message_id = ? AND state = 'unknown'");
            self.q.exec_drop(sql, (message_id,))?;
            return Ok(settled.then_some(dialog_id));
        }
        let sql = self
            .t
            .sql("UPDATE {outbox} SET confirmed_external_id = ? WHERE message_id = ?");
        self.q.exec_drop(sql, (external_id, message_id))?;
        Ok(None)
    }

    /// The messenger's confirmation of a send whose own answer was lost, if one came.
    pub fn confirmed_external_id(&mut self, message_id: MessageId) -> StoreResult<Option<String>> {
        let sql = self
            .t
            .sql("SELECT confirmed_external_id FROM {outbox} WHERE message_id = ?");
        Ok(self
            .q
            .exec_first::<Option<String>, _, _>(sql, (message_id,))?
            .flatten())
    }

    /// Dialogs with a row due by `now`, the most urgent first: operators' fresh replies, then
    /// automatic messages and retries; older before newer.
    pub fn due_dialogs(&mut self, now: Timestamp, limit: usize) -> StoreResult<Vec<DialogId>> {
        let sql = self.t.sql(
            "SELECT dialog_id FROM {outbox} WHERE identity = ? AND state = 'pending' AND next_attempt_at <= ? \
             GROUP BY dialog_id ORDER BY MIN(IF(priority = 0 AND attempts = 0, 0, 1)), MIN(message_id) LIMIT ?",
        );
        Ok(self.q.exec(sql, (self.identity, now, limit as u64))?)
    }

    /// Rows a process claimed before `before` and never finished (it died mid-call): marked
    /// unknown, never resent by themselves. Returns their messages.
    pub fn abandon_stale_sends(&mut self, before: Timestamp) -> StoreResult<Vec<MessageId>> {
        let sql = self.t.sql(
            "SELECT message_id FROM {outbox} WHERE identity = ? AND state = 'in_flight' AND claimed_at < ? LIMIT 500",
        );
        let ids: Vec<MessageId> = self.q.exec(sql, (self.identity, before))?;
        let mut abandoned = Vec::with_capacity(ids.len());
        let sql = self.t.sql(
            "UPDATE {outbox} SET state = 'unknown' WHERE message_id = ? AND state = 'in_flight' AND claimed_at < ?",
        );
        for id in ids {
            if exec_write(&mut self.q, &sql, (id, before))?.0 > 0 {
                abandoned.push(id);
            }
        }
        Ok(abandoned)
    }
}
