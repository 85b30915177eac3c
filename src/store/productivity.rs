//! Canned replies, dialog tags and full-text search over messages.

use mysql::prelude::Queryable;
use mysql::Row;

use super::conversations::{fit, message_from_row, MESSAGE_COLUMNS, MESSAGE_FROM};
use super::realtime::VISIBLE;
use super::{exec_write, Db, MessageRow, RowExt, StoreResult, Viewer};
use crate::model::{DialogId, OperatorId};
use crate::time::Timestamp;

#[derive(Clone, Debug, PartialEq)]
pub struct CannedReply {
    pub id: i64,
    /// None: shared by the team.
    pub owner_id: Option<OperatorId>,
    pub code: String,
    pub title: String,
    pub text: String,
}

fn reply_from_row(mut r: Row) -> CannedReply {
    CannedReply {
        id: r.col("id").unwrap_or_default(),
        owner_id: r.col("owner_id").unwrap_or_default(),
        code: r.col("code").unwrap_or_default(),
        title: r.col("title").unwrap_or_default(),
        text: r.col("text").unwrap_or_default(),
    }
}

/// A search over message text and its filters.
pub struct MessageSearch<'a> {
    pub query: &'a str,
    pub viewer: Viewer,
    pub channel_id: Option<i64>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub limit: usize,
}

/// Words for MariaDB's boolean full-text mode: each word required, operators stripped, so
/// visitor-typed text cannot change the query's meaning.
pub fn boolean_query(q: &str) -> String {
    q.split_whitespace()
        .map(|w| {
            w.chars()
                .filter(|c| c.is_alphanumeric() || *c == '_' || *c == '@' || *c == '.')
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
        .map(|w| format!("+{w}*"))
        .collect::<Vec<_>>()
        .join(" ")
}

impl<Q: Queryable> Db<'_, Q> {
    // --- canned replies -------------------------------------------------------------------------

    /// The shared replies and the operator's own, by code.
    pub fn replies(&mut self, operator_id: OperatorId) -> StoreResult<Vec<CannedReply>> {
        let sql = self.t.sql(
            "SELECT id, owner_id, code, title, text FROM {replies} WHERE identity = ? \
             AND (owner_id IS NULL OR owner_id = ?) ORDER BY code, owner_key",
        );
        let rows: Vec<Row> = self.q.exec(sql, (self.identity, operator_id))?;
        Ok(rows.into_iter().map(reply_from_row).collect())
    }

    pub fn reply(&mut self, id: i64) -> StoreResult<Option<CannedReply>> {
        let sql = self.t.sql(
            "SELECT id, owner_id, code, title, text FROM {replies} WHERE id = ? AND identity = ?",
        );
        let row: Option<Row> = self.q.exec_first(sql, (id, self.identity))?;
        Ok(row.map(reply_from_row))
    }

    /// A new reply; None when its owner already has one with this code.
    pub fn insert_reply(
        &mut self,
        owner_id: Option<OperatorId>,
        code: &str,
        title: &str,
        text: &str,
    ) -> StoreResult<Option<i64>> {
        let now = Timestamp::now();
        let sql = self.t.sql(
            "INSERT INTO {replies} (identity, owner_id, owner_key, code, title, text, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE id = id",
        );
        let (affected, id) = exec_write(
            &mut self.q,
            &sql,
            (
                self.identity,
                owner_id,
                owner_id.unwrap_or(0),
                code,
                fit(title, 255),
                text,
                now,
                now,
            ),
        )?;
        Ok((affected == 1).then_some(id as i64))
    }

    /// Changes a reply; false when the new code is taken by another of the owner's replies.
    pub fn update_reply(
        &mut self,
        id: i64,
        code: &str,
        title: &str,
        text: &str,
    ) -> StoreResult<bool> {
        let sql = self.t.sql(
            "UPDATE IGNORE {replies} SET code = ?, title = ?, text = ?, updated_at = ? WHERE id = ? AND identity = ?",
        );
        let (affected, _) = exec_write(
            &mut self.q,
            &sql,
            (
                code,
                fit(title, 255),
                text,
                Timestamp::now(),
                id,
                self.identity,
            ),
        )?;
        if affected > 0 {
            return Ok(true);
        }
        // Nothing changed (same values) or the code collided: tell them apart.
        Ok(self.reply(id)?.is_some_and(|r| r.code == code))
    }

    pub fn delete_reply(&mut self, id: i64) -> StoreResult<bool> {
        let sql = self
            .t
            .sql("DELETE FROM {replies} WHERE id = ? AND identity = ?");
        Ok(exec_write(&mut self.q, &sql, (id, self.identity))?.0 > 0)
    }

    // --- tags -----------------------------------------------------------------------------------

    pub fn tag_dialog(&mut self, dialog_id: DialogId, tag: &str) -> StoreResult<bool> {
        let sql = self.t.sql(
            "INSERT INTO {dialog_tags} (dialog_id, tag, identity, created_at) VALUES (?, ?, ?, ?) \
             ON DUPLICATE KEY UPDATE tag = tag",
        );
        Ok(exec_write(
            &mut self.q,
            &sql,
            (dialog_id, tag, self.identity, Timestamp::now()),
        )?
        .0 == 1)
    }

    pub fn untag_dialog(&mut self, dialog_id: DialogId, tag: &str) -> StoreResult<bool> {
        let sql = self
            .t
            .sql("DELETE FROM {dialog_tags} WHERE dialog_id = ? AND tag = ?");
        Ok(exec_write(&mut self.q, &sql, (dialog_id, tag))?.0 > 0)
    }

    pub fn dialog_tags(&mut self, dialog_id: DialogId) -> StoreResult<Vec<String>> {
        let sql = self
            .t
            .sql("SELECT tag FROM {dialog_tags} WHERE dialog_id = ? ORDER BY tag");
        Ok(self.q.exec(sql, (dialog_id,))?)
    }

    // --- search ---------------------------------------------------------------------------------

    /// Messages whose text has every word (as a word start), in dialogs the viewer may see,
    /// newest first.
    pub fn search_messages(&mut self, s: &MessageSearch) -> StoreResult<Vec<MessageRow>> {
        let words = boolean_query(s.query);
        if words.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM} WHERE MATCH(m.text) AGAINST (? IN BOOLEAN MODE) \
             AND m.identity = ? AND {VISIBLE}"
        );
        let mut params: Vec<mysql::Value> = vec![
            words.into(),
            self.identity.into(),
            s.viewer.is_admin.into(),
            s.viewer.id.into(),
            s.viewer.is_operator.into(),
            s.viewer.id.into(),
        ];
        if let Some(channel) = s.channel_id {
            sql.push_str(" AND m.channel_id = ?");
            params.push(channel.into());
        }
        if let Some(from) = s.from {
            sql.push_str(" AND m.created_at >= ?");
            params.push(from.into());
        }
        if let Some(to) = s.to {
            sql.push_str(" AND m.created_at < ?");
            params.push(to.into());
        }
        sql.push_str(" ORDER BY m.id DESC LIMIT ?");
        params.push((s.limit as u64).into());
        let rows: Vec<Row> = self.q.exec(self.t.sql(&sql), params)?;
        Ok(rows.into_iter().map(message_from_row).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::boolean_query;

    #[test]
    fn search_words_are_required_prefixes_without_operators() {
        assert_eq!(boolean_query("доставка Москва"), "+доставка* +Москва*");
        assert_eq!(
            boolean_query("-hack +x \"quoted\" (a)"),
            "+hack* +x* +quoted* +a*"
        );
        assert_eq!(boolean_query("  *** "), "");
    }
}
