//! What changed since a console or a widget last looked: new messages and history events, as
//! seen by one operator (or one widget visitor). Polled cheaply: the primary keys' maxima tell
//! whether anything is new at all.

use mysql::prelude::Queryable;
use mysql::Row;

use super::conversations::{event_from_row, message_from_row, MESSAGE_COLUMNS, MESSAGE_FROM};
use super::{Db, EventRow, MessageRow, StoreResult};
use crate::model::{OperatorId, VisitorId};
use crate::stream::Stream;

/// The dialogs an operator may see (admins: all; the queue: operators), as a condition on `d`
/// with four parameters: is_admin, operator_id, is_operator, operator_id.
pub(super) const VISIBLE: &str = "(? OR d.assigned_operator_id = ? \
    OR (? AND d.status = 'open' AND d.assigned_operator_id IS NULL) \
    OR EXISTS (SELECT 1 FROM {dialog_operators} o WHERE o.dialog_id = d.id AND o.operator_id = ?))";

/// Which rows: an id range (after, upto], or a list.
#[derive(Clone, Copy, Debug)]
pub enum IdSet<'a> {
    Range { after: i64, upto: i64 },
    Only(&'a [i64]),
}

impl IdSet<'_> {
    fn condition(self, column: &str) -> (String, Vec<mysql::Value>) {
        match self {
            IdSet::Range { after, upto } => (
                format!("{column} > ? AND {column} <= ?"),
                vec![after.into(), upto.into()],
            ),
            // An empty list matches nothing.
            IdSet::Only([]) => ("FALSE".to_string(), Vec::new()),
            IdSet::Only(ids) => (
                format!("{column} IN ({})", vec!["?"; ids.len()].join(", ")),
                ids.iter().map(|&id| id.into()).collect(),
            ),
        }
    }
}

/// The parameters after an id condition: tenant, `VISIBLE`'s four, the limit.
fn visible_params(identity: i64, viewer: Viewer, limit: usize) -> Vec<mysql::Value> {
    vec![
        identity.into(),
        viewer.is_admin.into(),
        viewer.id.into(),
        viewer.is_operator.into(),
        viewer.id.into(),
        (limit as u64).into(),
    ]
}

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

    /// Messages in `ids` of dialogs the operator may see, oldest first.
    pub fn messages_for_operator(
        &mut self,
        ids: IdSet,
        viewer: Viewer,
        limit: usize,
    ) -> StoreResult<Vec<MessageRow>> {
        let (condition, mut params) = ids.condition("m.id");
        let sql = self.t.sql(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM} WHERE {condition} AND m.identity = ? \
             AND {VISIBLE} ORDER BY m.id LIMIT ?"
        ));
        params.extend(visible_params(self.identity, viewer, limit));
        let rows: Vec<Row> = self.q.exec(sql, params)?;
        Ok(rows.into_iter().map(message_from_row).collect())
    }

    /// History events in `ids` of dialogs the operator may see, oldest first.
    pub fn events_for_operator(
        &mut self,
        ids: IdSet,
        viewer: Viewer,
        limit: usize,
    ) -> StoreResult<Vec<EventRow>> {
        let (condition, mut params) = ids.condition("e.id");
        let sql = self.t.sql(&format!(
            "SELECT e.id, e.dialog_id, e.message_id, e.operator_id, e.kind, e.data, e.created_at \
             FROM {{events}} e JOIN {{dialogs}} d ON d.id = e.dialog_id \
             WHERE {condition} AND e.identity = ? AND {VISIBLE} ORDER BY e.id LIMIT ?"
        ));
        params.extend(visible_params(self.identity, viewer, limit));
        let rows: Vec<Row> = self.q.exec(sql, params)?;
        Ok(rows.into_iter().map(event_from_row).collect())
    }

    /// A visitor's messages (every dialog of theirs) in `ids`, oldest first, deleted ones left
    /// out: what the site widget shows.
    pub fn visitor_messages_in(
        &mut self,
        visitor_id: VisitorId,
        ids: IdSet,
        limit: usize,
    ) -> StoreResult<Vec<MessageRow>> {
        let (condition, mut params) = ids.condition("m.id");
        let sql = self.t.sql(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM} WHERE {condition} AND d.visitor_id = ? \
             AND m.status <> 'deleted' ORDER BY m.id LIMIT ?"
        ));
        params.push(visitor_id.into());
        params.push((limit as u64).into());
        let rows: Vec<Row> = self.q.exec(sql, params)?;
        Ok(rows.into_iter().map(message_from_row).collect())
    }

    /// Which of `ids` exist in `stream`'s table, whoever may see them (ids are shared by all
    /// tenants, so every row counts).
    pub fn existing_ids(&mut self, stream: Stream, ids: IdSet) -> StoreResult<Vec<i64>> {
        let (condition, params) = ids.condition("id");
        let table = match stream {
            Stream::Messages => "{messages}",
            Stream::Events => "{events}",
        };
        let sql = self.t.sql(&format!(
            "SELECT id FROM {table} WHERE {condition} ORDER BY id"
        ));
        Ok(self.q.exec(sql, params)?)
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
