//! Visitors, dialogs, messages, attachments, the event log and webhook deliveries.
//!
//! Everything here runs on a [`Db`]: a pooled connection or an open transaction, so ingest can
//! group several small steps into one commit.

use std::collections::HashMap;

use mysql::prelude::Queryable;
use mysql::{PooledConn, Row, Transaction, TxOpts, Value as SqlValue};

use super::{exec_write, RowExt, Store, StoreError, StoreResult, Tables};
use crate::model::{
    AttachmentId, ChannelId, DialogId, Direction, MessageId, MessageStatus, OperatorId, Visitor,
    VisitorId, VisitorProfile,
};
use crate::time::Timestamp;

/// A connection or a transaction, with the table names and tenant.
pub struct Db<'t, Q: Queryable> {
    pub(super) q: Q,
    pub(super) t: &'t Tables,
    pub(super) identity: i64,
}

impl Store {
    pub fn db(&self) -> StoreResult<Db<'_, PooledConn>> {
        Ok(Db {
            q: self.conn()?,
            t: &self.tables,
            identity: self.identity,
        })
    }
}

impl<'t> Db<'t, PooledConn> {
    /// A transaction on this same connection (no second trip to the pool).
    pub fn begin(&mut self) -> StoreResult<Db<'t, Transaction<'_>>> {
        let tx = self.q.start_transaction(TxOpts::default())?;
        Ok(Db {
            q: tx,
            t: self.t,
            identity: self.identity,
        })
    }
}

impl Db<'_, Transaction<'_>> {
    /// Marks the transaction's state, so a part of it can be undone alone.
    pub fn savepoint(&mut self) -> StoreResult<()> {
        self.q.query_drop("SAVEPOINT crmchats_event")?;
        Ok(())
    }

    pub fn rollback_to_savepoint(&mut self) -> StoreResult<()> {
        self.q.query_drop("ROLLBACK TO SAVEPOINT crmchats_event")?;
        Ok(())
    }

    /// Commits; dropping the transaction without this rolls it back.
    pub fn commit(self) -> StoreResult<()> {
        Ok(self.q.commit()?)
    }
}

pub struct NewInboundMessage<'a> {
    pub channel_id: ChannelId,
    pub dialog_id: DialogId,
    pub external_id: &'a str,
    pub text: &'a str,
    pub sent_at: Timestamp,
}

pub struct NewOutboundMessage<'a> {
    pub channel_id: ChannelId,
    pub dialog_id: DialogId,
    /// None for automatic messages.
    pub operator_id: Option<OperatorId>,
    /// `operator` or `auto`.
    pub author_type: &'a str,
    pub text: &'a str,
    pub status: MessageStatus,
}

pub struct NewAttachment<'a> {
    pub name: &'a str,
    pub mime: &'a str,
    pub size: u64,
    pub sha256: Option<&'a str>,
    pub file_ref: Option<&'a str>,
    pub error_code: Option<&'a str>,
    pub error_message: Option<&'a str>,
}

/// What storing a webhook's events did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StoredInbound {
    pub message_ids: Vec<MessageId>,
    /// Dialogs this webhook opened or reopened: the team's rules run for them.
    pub opened_dialogs: Vec<OpenedDialog>,
    pub visitor_ids: Vec<VisitorId>,
    /// Dialogs that got a new message (announced to consoles).
    pub dialog_ids: Vec<DialogId>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OpenedDialog {
    pub dialog_id: DialogId,
    pub visitor_id: VisitorId,
    pub reopened: bool,
}

#[derive(Clone, Debug)]
pub struct DialogRow {
    pub id: DialogId,
    pub channel_id: ChannelId,
    pub channel_type: String,
    pub channel_name: String,
    pub visitor_id: VisitorId,
    pub visitor_external_id: String,
    pub visitor_name: String,
    pub visitor_username: Option<String>,
    pub visitor_avatar_id: Option<AttachmentId>,
    pub status: String,
    pub last_message_text: String,
    pub last_message_direction: Option<String>,
    pub last_activity_at: Timestamp,
    pub unread: i64,
    pub client_id: Option<i64>,
    pub contact_id: Option<i64>,
    /// None while the dialog waits in the queue.
    pub assigned_operator_id: Option<OperatorId>,
    /// The visitor's 1-5 after closing, when asked and given.
    pub rating: Option<i64>,
}

#[derive(Clone, Debug)]
pub struct MessageRow {
    pub id: MessageId,
    pub dialog_id: DialogId,
    pub channel_id: ChannelId,
    pub direction: Direction,
    pub author_type: String,
    pub author_operator_id: Option<OperatorId>,
    pub author_name: String,
    pub visitor_id: VisitorId,
    pub text: String,
    pub external_id: Option<String>,
    pub status: MessageStatus,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub retry_after: Option<i64>,
    pub created_at: Timestamp,
    pub edited_at: Option<Timestamp>,
}

#[derive(Clone, Debug)]
pub struct AttachmentRow {
    pub id: AttachmentId,
    pub message_id: Option<MessageId>,
    pub name: String,
    pub mime: String,
    pub size: u64,
    pub sha256: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

/// One entry of a dialog's history.
#[derive(Clone, Debug)]
pub struct EventRow {
    pub id: i64,
    pub dialog_id: Option<DialogId>,
    pub message_id: Option<MessageId>,
    pub operator_id: Option<OperatorId>,
    pub kind: String,
    pub data: serde_json::Value,
    pub at: Timestamp,
}

pub(super) fn event_from_row(mut r: Row) -> EventRow {
    EventRow {
        id: r.col("id").unwrap_or_default(),
        dialog_id: r.col("dialog_id").unwrap_or_default(),
        message_id: r.col("message_id").unwrap_or_default(),
        operator_id: r.col("operator_id").unwrap_or_default(),
        kind: r.col("kind").unwrap_or_default(),
        data: r
            .col::<Option<String>>("data")
            .flatten()
            .and_then(|d| serde_json::from_str(&d).ok())
            .unwrap_or(serde_json::Value::Null),
        at: r.col("created_at").unwrap_or(Timestamp(0)),
    }
}

/// What a visitor's message did to their dialog.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DialogOpening {
    /// It was open already.
    Existing,
    /// The visitor's first dialog on this channel.
    New,
    /// Their closed dialog opened again.
    Reopened,
}

/// Which dialogs a list shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DialogView {
    /// Assigned to or joined by the operator.
    Mine,
    /// Open and nobody's yet.
    Queue,
    /// Mine and the queue: what an operator who is not an admin may see.
    Available,
    /// Every dialog (admins).
    All,
}

pub struct DialogListQuery<'a> {
    pub operator_id: OperatorId,
    pub view: DialogView,
    /// Only dialogs with this tag.
    pub tag: Option<&'a str>,
    pub status: Option<&'a str>,
    pub channel_id: Option<ChannelId>,
    pub search: Option<&'a str>,
    pub limit: usize,
    /// (last_activity_at, id) of the last row of the previous page.
    pub after: Option<(Timestamp, DialogId)>,
}

const DIALOG_COLUMNS: &str = "d.id, d.channel_id, c.type AS channel_type, c.name AS channel_name, d.visitor_id, \
    v.external_id AS visitor_external_id, v.name AS visitor_name, v.username AS visitor_username, \
    v.avatar_attachment_id, d.status, d.last_message_text, d.last_message_direction, d.last_activity_at, \
    v.client_id, v.contact_id, d.assigned_operator_id, d.rating";

fn dialog_from_row(mut r: Row, unread: i64) -> DialogRow {
    DialogRow {
        id: r.col("id").unwrap_or_default(),
        channel_id: r.col("channel_id").unwrap_or_default(),
        channel_type: r.col("channel_type").unwrap_or_default(),
        channel_name: r.col("channel_name").unwrap_or_default(),
        visitor_id: r.col("visitor_id").unwrap_or_default(),
        visitor_external_id: r.col("visitor_external_id").unwrap_or_default(),
        visitor_name: r.col("visitor_name").unwrap_or_default(),
        visitor_username: r.col("visitor_username").unwrap_or_default(),
        visitor_avatar_id: r.col("avatar_attachment_id").unwrap_or_default(),
        status: r.col("status").unwrap_or_default(),
        last_message_text: r.col("last_message_text").unwrap_or_default(),
        last_message_direction: r.col("last_message_direction").unwrap_or_default(),
        last_activity_at: r.col("last_activity_at").unwrap_or(Timestamp(0)),
        unread,
        client_id: r.col("client_id").unwrap_or_default(),
        contact_id: r.col("contact_id").unwrap_or_default(),
        assigned_operator_id: r.col("assigned_operator_id").unwrap_or_default(),
        rating: r.col("rating").unwrap_or_default(),
    }
}

/// The dialog list's columns: channel type and name are filled in apart (see list_dialogs).
const LIST_COLUMNS: &str = "d.id, d.channel_id, '' AS channel_type, '' AS channel_name, d.visitor_id, \
    v.external_id AS visitor_external_id, v.name AS visitor_name, v.username AS visitor_username, \
    v.avatar_attachment_id, d.status, d.last_message_text, d.last_message_direction, d.last_activity_at, \
    v.client_id, v.contact_id, d.assigned_operator_id, d.rating";

pub(super) const MESSAGE_COLUMNS: &str = "m.id, m.dialog_id, m.channel_id, m.direction, m.author_type, m.author_operator_id, \
    m.text, m.external_id, m.status, m.error_code, m.error_message, m.retry_after, m.created_at, m.edited_at, \
    u.{user_name} AS operator_name, d.visitor_id, v.name AS visitor_name";
pub(super) const MESSAGE_FROM: &str = "{messages} m JOIN {dialogs} d ON d.id = m.dialog_id \
    JOIN {visitors} v ON v.id = d.visitor_id LEFT JOIN {user_table} u ON u.{user_id} = m.author_operator_id";

pub(super) fn message_from_row(mut r: Row) -> MessageRow {
    let author_type: String = r.col("author_type").unwrap_or_default();
    let operator_name: Option<String> = r.col("operator_name").unwrap_or_default();
    let visitor_name: String = r.col("visitor_name").unwrap_or_default();
    MessageRow {
        id: r.col("id").unwrap_or_default(),
        dialog_id: r.col("dialog_id").unwrap_or_default(),
        channel_id: r.col("channel_id").unwrap_or_default(),
        direction: Direction::parse(&r.col::<String>("direction").unwrap_or_default()),
        author_operator_id: r.col("author_operator_id").unwrap_or_default(),
        author_name: match author_type.as_str() {
            "visitor" => visitor_name,
            "operator" => operator_name.unwrap_or_default(),
            _ => String::new(),
        },
        author_type,
        visitor_id: r.col("visitor_id").unwrap_or_default(),
        text: r.col("text").unwrap_or_default(),
        external_id: r.col("external_id").unwrap_or_default(),
        status: MessageStatus::parse(&r.col::<String>("status").unwrap_or_default()),
        error_code: r.col("error_code").unwrap_or_default(),
        error_message: r.col("error_message").unwrap_or_default(),
        retry_after: r.col("retry_after").unwrap_or_default(),
        created_at: r.col("created_at").unwrap_or(Timestamp(0)),
        edited_at: r
            .take::<Option<SqlValue>, _>("edited_at")
            .flatten()
            .and_then(|v| Timestamp::from_mysql(&v)),
    }
}

fn attachment_from_row(mut r: Row) -> AttachmentRow {
    AttachmentRow {
        id: r.col("id").unwrap_or_default(),
        message_id: r.col("message_id").unwrap_or_default(),
        name: r.col("name").unwrap_or_default(),
        mime: r.col("mime").unwrap_or_default(),
        size: r.col("size").unwrap_or_default(),
        sha256: r.col("sha256").unwrap_or_default(),
        error_code: r.col("error_code").unwrap_or_default(),
        error_message: r.col("error_message").unwrap_or_default(),
    }
}

/// The first 255 characters (not bytes) of a text, for list previews.
pub fn preview(text: &str) -> String {
    let single_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    single_line.chars().take(255).collect()
}

/// At most `max` characters (VARCHAR lengths count characters): what a messenger sends may be
/// longer than a column, and strict mode would refuse the whole webhook for it.
pub fn fit(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// A file name cut to `max` characters, keeping a short extension.
pub fn fit_file_name(name: &str, max: usize) -> String {
    if name.chars().count() <= max {
        return name.to_string();
    }
    match name.rsplit_once('.') {
        Some((stem, ext)) if (1..=10).contains(&ext.chars().count()) => {
            let keep = max - ext.chars().count() - 1;
            format!("{}.{ext}", fit(stem, keep))
        }
        _ => fit(name, max),
    }
}

/// A MIME type that fits its column and looks like `type/subtype`, else a generic one.
pub fn sane_mime(mime: &str) -> &str {
    let valid = mime.len() <= 127
        && mime
            .split_once('/')
            .is_some_and(|(t, st)| !t.is_empty() && !st.is_empty())
        && mime.bytes().all(|b| b.is_ascii_graphic());
    if valid {
        mime
    } else {
        "application/octet-stream"
    }
}

fn like_pattern(s: &str) -> String {
    let escaped = s
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

impl<Q: Queryable> Db<'_, Q> {
    fn sql(&self, template: &str) -> String {
        self.t.sql(template)
    }

    // --- webhook deliveries -------------------------------------------------------------------

    /// Records a delivery; false when it was already recorded (a redelivery, or a concurrent
    /// process handling the same one).
    pub fn claim_delivery(&mut self, channel_id: ChannelId, key: &str) -> StoreResult<bool> {
        let sql = self.sql(
            "INSERT INTO {deliveries} (channel_id, delivery_key, received_at) VALUES (?, ?, ?) \
             ON DUPLICATE KEY UPDATE channel_id = channel_id",
        );
        let (affected, _) = exec_write(&mut self.q, &sql, (channel_id, key, Timestamp::now()))?;
        Ok(affected == 1)
    }

    /// Whether a delivery key was claimed before (without claiming it).
    pub fn delivery_seen(&mut self, channel_id: ChannelId, key: &str) -> StoreResult<bool> {
        let sql = self.sql("SELECT 1 FROM {deliveries} WHERE channel_id = ? AND delivery_key = ?");
        Ok(self
            .q
            .exec_first::<i64, _, _>(sql, (channel_id, key))?
            .is_some())
    }

    // --- visitors -------------------------------------------------------------------------------

    /// Creates or refreshes a visitor from what the messenger says about them; (id, created).
    /// A visitor who writes again is no longer blocked.
    pub fn upsert_visitor(
        &mut self,
        channel_id: ChannelId,
        p: &VisitorProfile,
    ) -> StoreResult<(VisitorId, bool)> {
        self.upsert_visitor_as(channel_id, p, true)
    }

    /// Like `upsert_visitor`; `wrote` false for what the visitor did not write (our echoes, an
    /// opened chat), which leaves a block in place.
    pub fn upsert_visitor_as(
        &mut self,
        channel_id: ChannelId,
        p: &VisitorProfile,
        wrote: bool,
    ) -> StoreResult<(VisitorId, bool)> {
        let sql = self.sql(
            "INSERT INTO {visitors} (identity, channel_id, external_id, name, first_name, last_name, username, \
             phone, language, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON DUPLICATE KEY UPDATE id = LAST_INSERT_ID(id), name = IF(VALUES(name) <> '', VALUES(name), name), \
             first_name = COALESCE(VALUES(first_name), first_name), last_name = COALESCE(VALUES(last_name), last_name), \
             username = COALESCE(VALUES(username), username), phone = COALESCE(VALUES(phone), phone), \
             language = COALESCE(VALUES(language), language), blocked = IF(?, 0, blocked), \
             updated_at = VALUES(updated_at)",
        );
        let now = Timestamp::now();
        let (affected, id) = exec_write(
            &mut self.q,
            &sql,
            (
                self.identity,
                channel_id,
                &p.external_id,
                fit(&p.display_name(), 255),
                p.first_name.as_deref().map(|v| fit(v, 255)),
                p.last_name.as_deref().map(|v| fit(v, 255)),
                p.username.as_deref().map(|v| fit(v, 255)),
                p.phone.as_deref().map(|v| fit(v, 64)),
                p.language.as_deref().map(|v| fit(v, 16)),
                now,
                now,
                wrote,
            ),
        )?;
        Ok((id as VisitorId, affected == 1))
    }

    pub fn visitor_id(
        &mut self,
        channel_id: ChannelId,
        external_id: &str,
    ) -> StoreResult<Option<VisitorId>> {
        let sql = self.sql("SELECT id FROM {visitors} WHERE channel_id = ? AND external_id = ?");
        Ok(self.q.exec_first(sql, (channel_id, external_id))?)
    }

    pub fn set_visitor_blocked(&mut self, visitor_id: VisitorId, blocked: bool) -> StoreResult<()> {
        let sql = self.sql("UPDATE {visitors} SET blocked = ?, updated_at = ? WHERE id = ?");
        self.q
            .exec_drop(sql, (blocked, Timestamp::now(), visitor_id))?;
        Ok(())
    }

    pub fn visitor(&mut self, id: VisitorId) -> StoreResult<Visitor> {
        let sql = self.sql(
            "SELECT id, channel_id, external_id, name, username, phone, avatar_attachment_id, blocked \
             FROM {visitors} WHERE id = ? AND identity = ?",
        );
        let row: Option<Row> = self.q.exec_first(sql, (id, self.identity))?;
        let mut r =
            row.ok_or_else(|| StoreError::NotFound(format!("visitor {id} does not exist")))?;
        Ok(Visitor {
            id: r.col("id").unwrap_or_default(),
            channel_id: r.col("channel_id").unwrap_or_default(),
            external_id: r.col("external_id").unwrap_or_default(),
            name: r.col("name").unwrap_or_default(),
            username: r.col("username").unwrap_or_default(),
            phone: r.col("phone").unwrap_or_default(),
            avatar_attachment_id: r.col("avatar_attachment_id").unwrap_or_default(),
            blocked: r.col::<i64>("blocked").unwrap_or_default() != 0,
        })
    }

    /// Claims a profile lookup: true (and the attempt recorded) when the name or avatar is missing
    /// and nobody tried since `tried_before`. One process wins when several webhooks race.
    pub fn claim_profile_check(
        &mut self,
        id: VisitorId,
        tried_before: Timestamp,
    ) -> StoreResult<bool> {
        let sql = self.sql(
            "UPDATE {visitors} SET profile_checked_at = ? WHERE id = ? \
             AND (name = '' OR avatar_attachment_id IS NULL) \
             AND (profile_checked_at IS NULL OR profile_checked_at < ?)",
        );
        let (affected, _) = exec_write(&mut self.q, &sql, (Timestamp::now(), id, tried_before))?;
        Ok(affected == 1)
    }

    /// Records a profile lookup: fills what was learnt, keeps what was known.
    pub fn set_visitor_profile(
        &mut self,
        id: VisitorId,
        profile: Option<&VisitorProfile>,
        avatar_attachment_id: Option<AttachmentId>,
    ) -> StoreResult<()> {
        let (name, first, last, username) = match profile {
            Some(p) => (
                p.display_name(),
                p.first_name.clone(),
                p.last_name.clone(),
                p.username.clone(),
            ),
            None => (String::new(), None, None, None),
        };
        let sql = self.sql(
            "UPDATE {visitors} SET name = IF(? <> '', ?, name), first_name = COALESCE(?, first_name), \
             last_name = COALESCE(?, last_name), username = COALESCE(?, username), \
             avatar_attachment_id = COALESCE(?, avatar_attachment_id), profile_checked_at = ?, updated_at = ? \
             WHERE id = ?",
        );
        let now = Timestamp::now();
        self.q.exec_drop(
            sql,
            (
                &name,
                &name,
                first,
                last,
                username,
                avatar_attachment_id,
                now,
                now,
                id,
            ),
        )?;
        Ok(())
    }

    // --- dialogs --------------------------------------------------------------------------------

    /// Counts a visitor's new message in their open dialog, opening one if there is none, in a
    /// single statement; returns (dialog id, created).
    pub fn dialog_for_inbound(
        &mut self,
        channel_id: ChannelId,
        visitor_id: VisitorId,
        source: Option<&str>,
        text: &str,
        at: Timestamp,
    ) -> StoreResult<(DialogId, DialogOpening)> {
        let sql = self.sql(
            "INSERT INTO {dialogs} (identity, channel_id, visitor_id, status, open_visitor_id, source, \
             inbound_count, last_message_text, last_message_direction, last_activity_at, created_at, opened_at) \
             VALUES (?, ?, ?, 'open', ?, ?, 1, ?, 'in', ?, ?, ?) \
             ON DUPLICATE KEY UPDATE id = LAST_INSERT_ID(id), inbound_count = inbound_count + 1, \
             last_message_text = VALUES(last_message_text), last_message_direction = 'in', \
             last_activity_at = GREATEST(last_activity_at, VALUES(last_activity_at))",
        );
        let params = (
            self.identity,
            channel_id,
            visitor_id,
            visitor_id,
            source.map(|v| fit(v, 255)),
            preview(text),
            at,
            at,
            at,
        );
        let (affected, id) = exec_write(&mut self.q, &sql, params)?;
        let id = id as DialogId;
        if affected != 1 {
            return Ok((id, DialogOpening::Existing));
        }
        // No open dialog: the visitor's last closed one is reopened (its history stays in one
        // place) and the row just made gives way; the caller's transaction covers both.
        let sql = self.sql(
            "SELECT id FROM {dialogs} WHERE visitor_id = ? AND id <> ? AND status = 'closed' \
             ORDER BY id DESC LIMIT 1",
        );
        let Some(previous) = self.q.exec_first::<DialogId, _, _>(sql, (visitor_id, id))? else {
            return Ok((id, DialogOpening::New));
        };
        let sql = self.sql("DELETE FROM {dialogs} WHERE id = ?");
        self.q.exec_drop(sql, (id,))?;
        let sql = self.sql(
            "UPDATE {dialogs} SET status = 'open', open_visitor_id = visitor_id, closed_at = NULL, \
             opened_at = ?, auto_replies = '', assigned_operator_id = NULL, assigned_at = NULL, \
             inbound_count = inbound_count + 1, last_message_text = ?, last_message_direction = 'in', \
             last_activity_at = GREATEST(last_activity_at, ?) WHERE id = ?",
        );
        self.q.exec_drop(sql, (at, preview(text), at, previous))?;
        Ok((previous, DialogOpening::Reopened))
    }

    pub fn latest_dialog_of_visitor(
        &mut self,
        visitor_id: VisitorId,
    ) -> StoreResult<Option<DialogId>> {
        let sql =
            self.sql("SELECT id FROM {dialogs} WHERE visitor_id = ? ORDER BY id DESC LIMIT 1");
        Ok(self.q.exec_first(sql, (visitor_id,))?)
    }

    /// Records an operator's message as the dialog's latest activity.
    pub fn touch_dialog_outbound(
        &mut self,
        dialog_id: DialogId,
        text: &str,
        at: Timestamp,
    ) -> StoreResult<()> {
        let sql = self.sql(
            "UPDATE {dialogs} SET last_message_text = ?, last_message_direction = 'out', \
             last_activity_at = GREATEST(last_activity_at, ?) WHERE id = ?",
        );
        self.q.exec_drop(sql, (preview(text), at, dialog_id))?;
        Ok(())
    }

    pub fn dialog(&mut self, id: DialogId, operator_id: OperatorId) -> StoreResult<DialogRow> {
        let sql = self.sql(&format!(
            "SELECT {DIALOG_COLUMNS}, d.inbound_count - COALESCE(r.read_count, 0) AS unread FROM {{dialogs}} d \
             JOIN {{channels}} c ON c.id = d.channel_id JOIN {{visitors}} v ON v.id = d.visitor_id \
             LEFT JOIN {{dialog_reads}} r ON r.dialog_id = d.id AND r.operator_id = ? \
             WHERE d.id = ? AND d.identity = ?"
        ));
        let row: Option<Row> = self.q.exec_first(sql, (operator_id, id, self.identity))?;
        let mut row =
            row.ok_or_else(|| StoreError::NotFound(format!("dialog {id} does not exist")))?;
        let unread = row.col::<i64>("unread").unwrap_or_default();
        Ok(dialog_from_row(row, unread))
    }

    /// Newest activity first, keyset-paginated; returns one page and whether more follow.
    pub fn list_dialogs(&mut self, query: &DialogListQuery) -> StoreResult<(Vec<DialogRow>, bool)> {
        // The index matching the filters is named: its order is the page order, so MariaDB reads
        // one page's rows instead of sorting every match (it picks worse plans on its own for the
        // OR of the cursor). Channels are looked up apart: with their few rows in the join,
        // MariaDB buffers it and sorts.
        let index = match (query.view, query.channel_id, query.status) {
            // An operator's own dialogs are few: found through their membership rows.
            (DialogView::Mine | DialogView::Available, _, _) => None,
            (DialogView::Queue, None, _) => Some("queue"),
            (_, Some(_), _) => Some("list_by_channel"),
            (_, None, Some(_)) => Some("list_by_status"),
            (_, None, None) => Some("list_all"),
        };
        let force = index
            .map(|i| format!("FORCE INDEX ({i})"))
            .unwrap_or_default();
        let mut sql = format!(
            "SELECT {LIST_COLUMNS}, d.inbound_count - COALESCE(r.read_count, 0) AS unread \
             FROM {{dialogs}} d {force} JOIN {{visitors}} v ON v.id = d.visitor_id \
             LEFT JOIN {{dialog_reads}} r ON r.dialog_id = d.id AND r.operator_id = ? WHERE d.identity = ?"
        );
        let mut params: Vec<SqlValue> = vec![query.operator_id.into(), self.identity.into()];
        const MEMBER: &str = "EXISTS (SELECT 1 FROM {dialog_operators} o WHERE o.dialog_id = d.id AND o.operator_id = ?)";
        const QUEUED: &str = "(d.status = 'open' AND d.assigned_operator_id IS NULL)";
        match query.view {
            DialogView::All => {}
            DialogView::Queue => sql.push_str(&format!(" AND {QUEUED}")),
            DialogView::Mine => {
                sql.push_str(&format!(" AND {MEMBER}"));
                params.push(query.operator_id.into());
            }
            DialogView::Available => {
                sql.push_str(&format!(" AND ({QUEUED} OR {MEMBER})"));
                params.push(query.operator_id.into());
            }
        }
        if let Some(tag) = query.tag {
            sql.push_str(
                " AND EXISTS (SELECT 1 FROM {dialog_tags} tg WHERE tg.dialog_id = d.id AND tg.tag = ?)",
            );
            params.push(tag.into());
        }
        if let Some(channel_id) = query.channel_id {
            sql.push_str(" AND d.channel_id = ?");
            params.push(channel_id.into());
        }
        if let Some(status) = query.status {
            sql.push_str(" AND d.status = ?");
            params.push(status.into());
        }
        if let Some(search) = query.search.filter(|s| !s.trim().is_empty()) {
            sql.push_str(" AND (v.name LIKE ? OR v.username LIKE ? OR d.last_message_text LIKE ?)");
            let pattern = like_pattern(search.trim());
            params.extend([
                pattern.clone().into(),
                pattern.clone().into(),
                pattern.into(),
            ]);
        }
        if let Some((at, id)) = query.after {
            sql.push_str(" AND (d.last_activity_at < ? OR (d.last_activity_at = ? AND d.id < ?))");
            params.extend([at.into(), at.into(), id.into()]);
        }
        sql.push_str(" ORDER BY d.last_activity_at DESC, d.id DESC LIMIT ?");
        params.push(((query.limit + 1) as u64).into());
        let rows: Vec<Row> = self.q.exec(self.sql(&sql), params)?;
        let more = rows.len() > query.limit;
        let mut dialogs: Vec<DialogRow> = rows
            .into_iter()
            .take(query.limit)
            .map(|mut r| {
                let unread = r.col::<i64>("unread").unwrap_or_default();
                dialog_from_row(r, unread)
            })
            .collect();
        let mut channel_ids: Vec<ChannelId> = dialogs.iter().map(|d| d.channel_id).collect();
        channel_ids.sort_unstable();
        channel_ids.dedup();
        let names = self.channel_names(&channel_ids)?;
        for d in &mut dialogs {
            if let Some((kind, name)) = names.get(&d.channel_id) {
                d.channel_type = kind.clone();
                d.channel_name = name.clone();
            }
        }
        Ok((dialogs, more))
    }

    /// (type, name) of each channel.
    fn channel_names(
        &mut self,
        ids: &[ChannelId],
    ) -> StoreResult<HashMap<ChannelId, (String, String)>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let marks = vec!["?"; ids.len()].join(", ");
        let sql = self.sql(&format!(
            "SELECT id, type, name FROM {{channels}} WHERE id IN ({marks})"
        ));
        let rows: Vec<(ChannelId, String, String)> = self.q.exec(sql, ids.to_vec())?;
        Ok(rows
            .into_iter()
            .map(|(id, kind, name)| (id, (kind, name)))
            .collect())
    }

    /// Operators taking part in each dialog.
    pub fn dialog_operators(
        &mut self,
        dialog_ids: &[DialogId],
    ) -> StoreResult<HashMap<DialogId, Vec<OperatorId>>> {
        let mut map: HashMap<DialogId, Vec<OperatorId>> = HashMap::new();
        if dialog_ids.is_empty() {
            return Ok(map);
        }
        let marks = vec!["?"; dialog_ids.len()].join(", ");
        let sql = self.sql(&format!(
            "SELECT dialog_id, operator_id FROM {{dialog_operators}} WHERE dialog_id IN ({marks}) \
             ORDER BY dialog_id, joined_at, operator_id"
        ));
        let rows: Vec<(DialogId, OperatorId)> = self.q.exec(sql, dialog_ids.to_vec())?;
        for (dialog, operator) in rows {
            map.entry(dialog).or_default().push(operator);
        }
        Ok(map)
    }

    /// Adds an operator to a dialog as a member (owners are made by assignment only).
    pub fn add_dialog_operator(
        &mut self,
        dialog_id: DialogId,
        operator_id: OperatorId,
    ) -> StoreResult<bool> {
        let sql = self.sql(
            "INSERT INTO {dialog_operators} (dialog_id, operator_id, role, joined_at) VALUES (?, ?, 'member', ?) \
             ON DUPLICATE KEY UPDATE operator_id = operator_id",
        );
        let (affected, _) = exec_write(
            &mut self.q,
            &sql,
            (dialog_id, operator_id, Timestamp::now()),
        )?;
        Ok(affected == 1)
    }

    /// Everything the visitor wrote so far counts as read by this operator.
    pub fn mark_read(&mut self, dialog_id: DialogId, operator_id: OperatorId) -> StoreResult<()> {
        let sql = self.sql(
            "INSERT INTO {dialog_reads} (dialog_id, operator_id, read_count, read_at) \
             SELECT id, ?, inbound_count, ? FROM {dialogs} WHERE id = ? \
             ON DUPLICATE KEY UPDATE read_count = VALUES(read_count), read_at = VALUES(read_at)",
        );
        self.q
            .exec_drop(sql, (operator_id, Timestamp::now(), dialog_id))?;
        Ok(())
    }

    // --- messages -------------------------------------------------------------------------------

    /// Stores a visitor's message; None when the channel already has this external id.
    pub fn insert_inbound_message(
        &mut self,
        m: &NewInboundMessage,
    ) -> StoreResult<Option<MessageId>> {
        let sql = self.sql(
            "INSERT INTO {messages} (identity, channel_id, dialog_id, direction, author_type, text, external_id, \
             status, created_at) VALUES (?, ?, ?, 'in', 'visitor', ?, ?, 'received', ?) \
             ON DUPLICATE KEY UPDATE id = id",
        );
        let (affected, id) = exec_write(
            &mut self.q,
            &sql,
            (
                self.identity,
                m.channel_id,
                m.dialog_id,
                m.text,
                m.external_id,
                m.sent_at,
            ),
        )?;
        Ok((affected == 1).then_some(id as MessageId))
    }

    pub fn insert_outbound_message(&mut self, m: &NewOutboundMessage) -> StoreResult<MessageId> {
        let sql = self.sql(
            "INSERT INTO {messages} (identity, channel_id, dialog_id, direction, author_type, author_operator_id, \
             text, status, created_at) VALUES (?, ?, ?, 'out', ?, ?, ?, ?, ?)",
        );
        let (_, id) = exec_write(
            &mut self.q,
            &sql,
            (
                self.identity,
                m.channel_id,
                m.dialog_id,
                m.author_type,
                m.operator_id,
                m.text,
                m.status.as_str(),
                Timestamp::now(),
            ),
        )?;
        Ok(id as MessageId)
    }

    pub fn message_exists(
        &mut self,
        channel_id: ChannelId,
        external_id: &str,
    ) -> StoreResult<bool> {
        let sql = self.sql("SELECT 1 FROM {messages} WHERE channel_id = ? AND external_id = ?");
        Ok(self
            .q
            .exec_first::<i64, _, _>(sql, (channel_id, external_id))?
            .is_some())
    }

    pub fn message_by_external_id(
        &mut self,
        channel_id: ChannelId,
        external_id: &str,
    ) -> StoreResult<Option<MessageRow>> {
        let sql = self.sql(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM} WHERE m.channel_id = ? AND m.external_id = ?"
        ));
        let row: Option<Row> = self.q.exec_first(sql, (channel_id, external_id))?;
        Ok(row.map(message_from_row))
    }

    pub fn message(&mut self, id: MessageId) -> StoreResult<MessageRow> {
        let sql = self.sql(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM} WHERE m.id = ? AND m.identity = ?"
        ));
        let row: Option<Row> = self.q.exec_first(sql, (id, self.identity))?;
        row.map(message_from_row)
            .ok_or_else(|| StoreError::NotFound(format!("message {id} does not exist")))
    }

    /// A page of a dialog's history, oldest first, ending before `before_id`.
    pub fn messages(
        &mut self,
        dialog_id: DialogId,
        before_id: Option<MessageId>,
        limit: usize,
    ) -> StoreResult<Vec<MessageRow>> {
        let sql = self.sql(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM} WHERE m.dialog_id = ? AND m.identity = ? AND m.id < ? \
             ORDER BY m.id DESC LIMIT ?"
        ));
        let rows: Vec<Row> = self.q.exec(
            sql,
            (
                dialog_id,
                self.identity,
                before_id.unwrap_or(i64::MAX),
                limit as u64,
            ),
        )?;
        let mut messages: Vec<MessageRow> = rows.into_iter().map(message_from_row).collect();
        messages.reverse();
        Ok(messages)
    }

    pub fn edit_message_text(
        &mut self,
        id: MessageId,
        text: &str,
        at: Timestamp,
    ) -> StoreResult<()> {
        let sql = self.sql("UPDATE {messages} SET text = ?, edited_at = ? WHERE id = ?");
        self.q.exec_drop(sql, (text, at, id))?;
        Ok(())
    }

    /// Sent: the messenger's id, and what failed after the first part when it was only partly sent.
    pub fn set_message_sent(
        &mut self,
        id: MessageId,
        external_id: &str,
        partial_error: Option<(&str, &str)>,
    ) -> StoreResult<()> {
        let sql = self.sql(
            "UPDATE {messages} SET status = 'sent', external_id = ?, error_code = ?, error_message = ?, \
             retry_after = NULL WHERE id = ?",
        );
        let (code, message) = partial_error.unzip();
        self.q.exec_drop(sql, (external_id, code, message, id))?;
        Ok(())
    }

    pub fn set_message_failed(
        &mut self,
        id: MessageId,
        code: &str,
        message: &str,
        retry_after: Option<u64>,
    ) -> StoreResult<()> {
        let sql = self.sql(
            "UPDATE {messages} SET status = 'failed', error_code = ?, error_message = ?, retry_after = ? WHERE id = ?",
        );
        self.q.exec_drop(sql, (code, message, retry_after, id))?;
        Ok(())
    }

    /// Queued again: waiting for the outbox, with why the last attempt failed (empty: none).
    pub fn set_message_waiting(
        &mut self,
        id: MessageId,
        code: &str,
        message: &str,
        retry_after: Option<u64>,
    ) -> StoreResult<()> {
        let sql = self.sql(
            "UPDATE {messages} SET status = 'queued', error_code = NULLIF(?, ''), error_message = NULLIF(?, ''), \
             retry_after = ? WHERE id = ?",
        );
        self.q.exec_drop(sql, (code, message, retry_after, id))?;
        Ok(())
    }

    /// The send was interrupted: nobody knows whether it arrived.
    pub fn set_message_unknown(&mut self, id: MessageId, why: &str) -> StoreResult<()> {
        let sql = self.sql(
            "UPDATE {messages} SET status = 'unknown', error_code = 'delivery_unknown', error_message = ? WHERE id = ?",
        );
        self.q.exec_drop(sql, (why, id))?;
        Ok(())
    }

    pub fn set_message_deleted(&mut self, id: MessageId) -> StoreResult<()> {
        let sql = self.sql("UPDATE {messages} SET status = 'deleted', deleted_at = ? WHERE id = ?");
        self.q.exec_drop(sql, (Timestamp::now(), id))?;
        Ok(())
    }

    // --- attachments ----------------------------------------------------------------------------

    pub fn insert_attachment(
        &mut self,
        message_id: Option<MessageId>,
        a: &NewAttachment,
    ) -> StoreResult<AttachmentId> {
        let sql = self.sql(
            "INSERT INTO {attachments} (identity, message_id, name, mime, size, sha256, file_ref, error_code, \
             error_message, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        );
        let (_, id) = exec_write(
            &mut self.q,
            &sql,
            (
                self.identity,
                message_id,
                fit_file_name(a.name, 255),
                sane_mime(a.mime),
                a.size,
                a.sha256,
                a.file_ref,
                a.error_code,
                a.error_message,
                Timestamp::now(),
            ),
        )?;
        Ok(id as AttachmentId)
    }

    pub fn attachments_of(&mut self, message_ids: &[MessageId]) -> StoreResult<Vec<AttachmentRow>> {
        if message_ids.is_empty() {
            return Ok(Vec::new());
        }
        let marks = vec!["?"; message_ids.len()].join(", ");
        let sql = self.sql(&format!(
            "SELECT id, message_id, name, mime, size, sha256, error_code, error_message FROM {{attachments}} \
             WHERE message_id IN ({marks}) ORDER BY id"
        ));
        let rows: Vec<Row> = self.q.exec(sql, message_ids.to_vec())?;
        Ok(rows.into_iter().map(attachment_from_row).collect())
    }

    pub fn attachment(&mut self, id: AttachmentId) -> StoreResult<AttachmentRow> {
        let sql = self.sql(
            "SELECT id, message_id, name, mime, size, sha256, error_code, error_message FROM {attachments} \
             WHERE id = ? AND identity = ?",
        );
        let row: Option<Row> = self.q.exec_first(sql, (id, self.identity))?;
        row.map(attachment_from_row)
            .ok_or_else(|| StoreError::NotFound(format!("attachment {id} does not exist")))
    }

    /// Where a message attachment came from: (channel, provider's file handle), for a retry.
    pub fn attachment_origin(
        &mut self,
        id: AttachmentId,
    ) -> StoreResult<Option<(ChannelId, String)>> {
        let sql = self.sql(
            "SELECT m.channel_id, a.file_ref FROM {attachments} a JOIN {messages} m ON m.id = a.message_id \
             WHERE a.id = ? AND a.identity = ? AND a.file_ref IS NOT NULL",
        );
        Ok(self.q.exec_first(sql, (id, self.identity))?)
    }

    /// The channel of a message attachment (None for avatars and unknown ids).
    pub fn attachment_channel(&mut self, id: AttachmentId) -> StoreResult<Option<ChannelId>> {
        let sql = self.sql(
            "SELECT m.channel_id FROM {attachments} a JOIN {messages} m ON m.id = a.message_id \
             WHERE a.id = ? AND a.identity = ?",
        );
        Ok(self.q.exec_first(sql, (id, self.identity))?)
    }

    /// The file of an attachment whose download failed before, now stored.
    pub fn set_attachment_file(
        &mut self,
        id: AttachmentId,
        sha256: &str,
        size: u64,
    ) -> StoreResult<()> {
        let sql = self.sql(
            "UPDATE {attachments} SET sha256 = ?, size = ?, error_code = NULL, error_message = NULL WHERE id = ?",
        );
        self.q.exec_drop(sql, (sha256, size, id))?;
        Ok(())
    }

    // --- event log ------------------------------------------------------------------------------

    pub fn log_event(
        &mut self,
        dialog_id: Option<DialogId>,
        message_id: Option<MessageId>,
        operator_id: Option<OperatorId>,
        kind: &str,
        data: &serde_json::Value,
    ) -> StoreResult<()> {
        let sql = self.sql(
            "INSERT INTO {events} (identity, dialog_id, message_id, operator_id, kind, data, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        );
        let data = (!data.is_null()).then(|| data.to_string());
        self.q.exec_drop(
            sql,
            (
                self.identity,
                dialog_id,
                message_id,
                operator_id,
                kind,
                data,
                Timestamp::now(),
            ),
        )?;
        Ok(())
    }

    /// A dialog's history after event `after_id`, oldest first.
    pub fn dialog_events(
        &mut self,
        dialog_id: DialogId,
        after_id: i64,
        limit: usize,
    ) -> StoreResult<Vec<EventRow>> {
        let sql = self.sql(
            "SELECT id, dialog_id, message_id, operator_id, kind, data, created_at FROM {events} \
             WHERE dialog_id = ? AND id > ? ORDER BY id LIMIT ?",
        );
        let rows: Vec<Row> = self.q.exec(sql, (dialog_id, after_id, limit as u64))?;
        Ok(rows.into_iter().map(event_from_row).collect())
    }

    /// Dialogs of a visitor, newest first.
    pub fn visitor_dialog_ids(&mut self, visitor_id: VisitorId) -> StoreResult<Vec<DialogId>> {
        let sql =
            self.sql("SELECT id FROM {dialogs} WHERE visitor_id = ? ORDER BY id DESC LIMIT 50");
        Ok(self.q.exec(sql, (visitor_id,))?)
    }

    /// The dialog a message attachment belongs to (None for avatars).
    pub fn attachment_dialog(&mut self, id: AttachmentId) -> StoreResult<Option<DialogId>> {
        let sql = self.sql(
            "SELECT m.dialog_id FROM {attachments} a JOIN {messages} m ON m.id = a.message_id \
             WHERE a.id = ? AND a.identity = ?",
        );
        Ok(self.q.exec_first(sql, (id, self.identity))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlong_values_are_cut_to_their_columns() {
        assert_eq!(fit("абв", 2), "аб");
        let long = format!("{}.pdf", "я".repeat(300));
        let cut = fit_file_name(&long, 255);
        assert_eq!(cut.chars().count(), 255);
        assert!(cut.ends_with(".pdf"));
        assert_eq!(fit_file_name("short.txt", 255), "short.txt");
        assert_eq!(sane_mime("image/png"), "image/png");
        assert_eq!(
            sane_mime(&format!("application/{}", "x".repeat(150))),
            "application/octet-stream"
        );
        assert_eq!(sane_mime("nonsense"), "application/octet-stream");
    }
}
