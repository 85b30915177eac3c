//! What changed since a console or a widget last looked: new messages and history events, as
//! seen by one operator (or one widget visitor). Polled cheaply: the primary keys' maxima tell
//! whether anything is new at all.

use mysql::prelude::Queryable;
use mysql::Row;

use super::conversations::{event_from_row, message_from_row, MESSAGE_COLUMNS, MESSAGE_FROM};
use super::{Db, EventRow, MessageRow, StoreResult};
use crate::model::{OperatorId, VisitorId};

/// The dialogs an operator may see (admins: all; the queue: operators), as a condition on `d`
/// with four parameters: is_admin, operator_id, is_operator, operator_id.
pub(super) const VISIBLE: &str = "(? OR d.assigned_operator_id = ? \
    OR (? AND d.status = 'open' AND d.assigned_operator_id IS NULL) \
    OR EXISTS (SELECT 1 FROM {dialog_operators} o WHERE o.dialog_id = d.id AND o.operator_id = ?))";

/// Who is looking, for `VISIBLE`.
#[derive(Clone, Copy, Debug)]
pub struct Viewer {
    pub id: OperatorId,
    pub is_admin: bool,
    pub is_operator: bool,
}

impl<Q: Queryable> Db<'_, Q> {
    /// The newest message id and event id of the whole database (two index lookups).
    pub fn latest_ids(&mut self) -> StoreResult<(i64, i64)> {
        let sql = self.t.sql(
            "SELECT (SELECT COALESCE(MAX(id), 0) FROM {messages}), (SELECT COALESCE(MAX(id), 0) FROM {events})",
        );
        Ok(self.q.exec_first(sql, ())?.unwrap_or((0, 0)))
    }

    /// Messages with ids in (after, upto] in dialogs the operator may see, oldest first.
    pub fn messages_for_operator(
        &mut self,
        after: i64,
        upto: i64,
        viewer: Viewer,
        limit: usize,
    ) -> StoreResult<Vec<MessageRow>> {
        let sql = self.t.sql(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM} WHERE m.id > ? AND m.id <= ? AND m.identity = ? \
             AND {VISIBLE} ORDER BY m.id LIMIT ?"
        ));
        let rows: Vec<Row> = self.q.exec(
            sql,
            (
                after,
                upto,
                self.identity,
                viewer.is_admin,
                viewer.id,
                viewer.is_operator,
                viewer.id,
                limit as u64,
            ),
        )?;
        Ok(rows.into_iter().map(message_from_row).collect())
    }

    /// History events with ids in (after, upto] of dialogs the operator may see, oldest first.
    pub fn events_for_operator(
        &mut self,
        after: i64,
        upto: i64,
        viewer: Viewer,
        limit: usize,
    ) -> StoreResult<Vec<EventRow>> {
        let sql = self.t.sql(&format!(
            "SELECT e.id, e.dialog_id, e.message_id, e.operator_id, e.kind, e.data, e.created_at \
             FROM {{events}} e JOIN {{dialogs}} d ON d.id = e.dialog_id \
             WHERE e.id > ? AND e.id <= ? AND e.identity = ? AND {VISIBLE} ORDER BY e.id LIMIT ?"
        ));
        let rows: Vec<Row> = self.q.exec(
            sql,
            (
                after,
                upto,
                self.identity,
                viewer.is_admin,
                viewer.id,
                viewer.is_operator,
                viewer.id,
                limit as u64,
            ),
        )?;
        Ok(rows.into_iter().map(event_from_row).collect())
    }

    /// A visitor's messages (every dialog of theirs) after `after`, oldest first: what the site
    /// widget shows.
    pub fn visitor_messages(
        &mut self,
        visitor_id: VisitorId,
        after: i64,
        limit: usize,
    ) -> StoreResult<Vec<MessageRow>> {
        let sql = self.t.sql(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM} WHERE d.visitor_id = ? AND m.id > ? \
             AND m.status <> 'deleted' ORDER BY m.id LIMIT ?"
        ));
        let rows: Vec<Row> = self.q.exec(sql, (visitor_id, after, limit as u64))?;
        Ok(rows.into_iter().map(message_from_row).collect())
    }

    /// The visitor a message attachment belongs to.
    pub fn attachment_visitor(&mut self, attachment_id: i64) -> StoreResult<Option<VisitorId>> {
        let sql = self.t.sql(
            "SELECT d.visitor_id FROM {attachments} a JOIN {messages} m ON m.id = a.message_id \
             JOIN {dialogs} d ON d.id = m.dialog_id WHERE a.id = ? AND a.identity = ?",
        );
        Ok(self.q.exec_first(sql, (attachment_id, self.identity))?)
    }
}
