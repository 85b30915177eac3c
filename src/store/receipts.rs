//! What the messenger tells us about our messages afterwards: delivered, read, failed, and the
//! messages our side sent from outside the inbox (echoes).

use mysql::prelude::Queryable;

use super::conversations::{fit, preview};
use super::{exec_write, Db, StoreResult};
use crate::model::{ChannelId, DialogId, MessageId, MessageStatus, VisitorId};
use crate::time::Timestamp;

/// Position of a status on the way to the visitor; a receipt only moves a message forward.
fn rank(status: MessageStatus) -> Option<u8> {
    match status {
        MessageStatus::Queued => Some(1),
        MessageStatus::Sent => Some(2),
        MessageStatus::Delivered => Some(3),
        MessageStatus::Read => Some(4),
        _ => None,
    }
}

/// `FIELD()` gives queued..read their rank; anything else (failed, deleted) ranks 0 and is left.
const RANK_SQL: &str = "FIELD(m.status, 'queued', 'sent', 'delivered', 'read')";

impl<Q: Queryable> Db<'_, Q> {
    /// Applies a receipt for one of our messages; false when no message moved (unknown id, or it
    /// was already further along — receipts may come out of order or twice).
    pub fn apply_status(
        &mut self,
        channel_id: ChannelId,
        external_id: &str,
        status: MessageStatus,
        error: Option<&str>,
    ) -> StoreResult<bool> {
        let affected = if status == MessageStatus::Failed {
            let sql = self.t.sql(
                "UPDATE {messages} m SET m.status = 'failed', m.error_code = 'provider_rejected', \
                 m.error_message = ? WHERE m.channel_id = ? AND m.external_id = ? AND m.direction = 'out' \
                 AND m.status IN ('queued', 'sent')",
            );
            let message = error.unwrap_or("the messenger reported the message as not delivered");
            exec_write(
                &mut self.q,
                &sql,
                (fit(message, 65_000), channel_id, external_id),
            )?
            .0
        } else {
            let Some(r) = rank(status) else {
                return Ok(false);
            };
            let sql = self.t.sql(&format!(
                "UPDATE {{messages}} m SET m.status = ? WHERE m.channel_id = ? AND m.external_id = ? \
                 AND m.direction = 'out' AND {RANK_SQL} BETWEEN 1 AND ?"
            ));
            exec_write(
                &mut self.q,
                &sql,
                (status.as_str(), channel_id, external_id, r - 1),
            )?
            .0
        };
        Ok(affected > 0)
    }

    /// Moves every message we sent the visitor up to `until` forward to `status`; how many moved.
    pub fn apply_status_up_to(
        &mut self,
        channel_id: ChannelId,
        visitor_external_id: &str,
        status: MessageStatus,
        until: Timestamp,
    ) -> StoreResult<u64> {
        let Some(r) = rank(status) else {
            return Ok(0);
        };
        let sql = self.t.sql(&format!(
            "UPDATE {{messages}} m JOIN {{dialogs}} d ON d.id = m.dialog_id JOIN {{visitors}} v ON v.id = d.visitor_id \
             SET m.status = ? WHERE v.channel_id = ? AND v.external_id = ? AND m.direction = 'out' \
             AND m.created_at <= ? AND {RANK_SQL} BETWEEN 1 AND ?"
        ));
        let (affected, _) = exec_write(
            &mut self.q,
            &sql,
            (
                status.as_str(),
                channel_id,
                visitor_external_id,
                until,
                r - 1,
            ),
        )?;
        Ok(affected)
    }

    /// When the visitor last wrote on this channel (the reply window counts from it).
    pub fn last_inbound_at(&mut self, visitor_id: VisitorId) -> StoreResult<Option<Timestamp>> {
        let sql = self.t.sql(
            "SELECT MAX(m.created_at) FROM {dialogs} d JOIN {messages} m ON m.dialog_id = d.id \
             AND m.direction = 'in' WHERE d.visitor_id = ?",
        );
        Ok(self
            .q
            .exec_first::<Option<Timestamp>, _, _>(sql, (visitor_id,))?
            .flatten())
    }

    /// The visitor's open dialog for a message our side sent elsewhere, opened when there is none;
    /// the visitor's unread count does not change.
    pub fn dialog_for_echo(
        &mut self,
        channel_id: ChannelId,
        visitor_id: VisitorId,
        text: &str,
        at: Timestamp,
    ) -> StoreResult<(DialogId, bool)> {
        let sql = self.t.sql(
            "INSERT INTO {dialogs} (identity, channel_id, visitor_id, status, open_visitor_id, \
             inbound_count, last_message_text, last_message_direction, last_activity_at, created_at) \
             VALUES (?, ?, ?, 'open', ?, 0, ?, 'out', ?, ?) \
             ON DUPLICATE KEY UPDATE id = LAST_INSERT_ID(id), last_message_text = VALUES(last_message_text), \
             last_message_direction = 'out', last_activity_at = GREATEST(last_activity_at, VALUES(last_activity_at))",
        );
        let params = (
            self.identity,
            channel_id,
            visitor_id,
            visitor_id,
            preview(text),
            at,
            at,
        );
        let (affected, id) = exec_write(&mut self.q, &sql, params)?;
        Ok((id as DialogId, affected == 1))
    }

    /// Stores a message our side sent outside the inbox; None when this id is already stored
    /// (our own send, or a redelivery).
    pub fn insert_echo_message(
        &mut self,
        channel_id: ChannelId,
        dialog_id: DialogId,
        external_id: &str,
        text: &str,
        sent_at: Timestamp,
    ) -> StoreResult<Option<MessageId>> {
        let sql = self.t.sql(
            "INSERT INTO {messages} (identity, channel_id, dialog_id, direction, author_type, text, external_id, \
             status, created_at) VALUES (?, ?, ?, 'out', 'messenger', ?, ?, 'sent', ?) \
             ON DUPLICATE KEY UPDATE id = id",
        );
        let (affected, id) = exec_write(
            &mut self.q,
            &sql,
            (
                self.identity,
                channel_id,
                dialog_id,
                text,
                external_id,
                sent_at,
            ),
        )?;
        Ok((affected == 1).then_some(id as MessageId))
    }

    /// An echo stored under the id our own send then got (the echo overtook our record of the
    /// send): the echo copy goes, ours stays.
    pub fn remove_echo_copy(
        &mut self,
        channel_id: ChannelId,
        external_id: &str,
    ) -> StoreResult<()> {
        let sql = self.t.sql(
            "DELETE FROM {messages} WHERE channel_id = ? AND external_id = ? AND author_type = 'messenger'",
        );
        self.q.exec_drop(sql, (channel_id, external_id))?;
        Ok(())
    }
}
