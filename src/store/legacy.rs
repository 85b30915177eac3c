//! The original socialChats plugin's tables, read for the import, and the writes the import makes
//! with the old rows' own times. Old rows are read leniently (the old plugin stored what it got:
//! NULLs, empty strings, zero dates); nothing here ever writes to them.

use mysql::prelude::Queryable;
use mysql::Row;
use serde_json::Value;

use super::conversations::fit;
use super::{exec_write, lenient_text, positive_id, Db, StoreResult};
use crate::model::{ChannelId, ChannelType, DialogId, MessageId, VisitorId};
use crate::time::Timestamp;

fn text(row: &mut Row, name: &str) -> String {
    lenient_text(
        row.take_opt::<Option<mysql::Value>, _>(name)
            .and_then(Result::ok)
            .flatten(),
    )
}

fn time(row: &mut Row, name: &str) -> Option<Timestamp> {
    let t = text(row, name);
    let (date, clock) = t.split_once(' ')?;
    let mut d = date.split('-').map(|p| p.parse::<u32>().ok());
    let (y, mo, day) = (d.next()??, d.next()??, d.next()??);
    if y == 0 || mo == 0 || day == 0 {
        return None; // a zero date
    }
    let mut c = clock.split([':', '.']).map(|p| p.parse::<u32>().ok());
    let (h, mi, s) = (c.next()??, c.next()??, c.next()??);
    Some(Timestamp::from_civil(y as i64, mo, day, h, mi, s, 0))
}

#[derive(Clone, Debug)]
pub struct LegacyChannel {
    pub id: i64,
    pub kind: String,
    pub name: String,
    pub external_id: String,
    pub token: String,
    pub settings: Value,
    pub active: bool,
}

#[derive(Clone, Debug)]
pub struct LegacyChat {
    pub id: i64,
    pub channel_external_id: String,
    pub chat_id: String,
    pub visitor_id: String,
    pub first_name: String,
    pub last_name: String,
    pub user_ids: Vec<i64>,
    pub client_id: Option<i64>,
    pub contact_id: Option<i64>,
    pub status: String,
    pub phone: String,
    pub email: String,
}

#[derive(Clone, Debug)]
pub struct LegacyMessage {
    pub id: i64,
    pub chat_id: String,
    pub message_id: String,
    pub direction: String,
    pub status: String,
    pub content: String,
    pub attachment: Value,
    pub at: Option<Timestamp>,
    pub user_id: Option<i64>,
}

#[derive(Clone, Debug)]
pub struct LegacyLog {
    pub id: i64,
    pub chat_id: String,
    pub event: String,
    pub old_value: String,
    pub new_value: String,
    pub user_id: Option<i64>,
    pub at: Option<Timestamp>,
}

impl<Q: Queryable> Db<'_, Q> {
    /// Whether the original plugin's tables are in this database.
    pub fn legacy_tables_exist(&mut self) -> StoreResult<bool> {
        let name = self.t.legacy_channels.trim_matches('`').to_string();
        let found: Option<i64> = self.q.exec_first(
            "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
            (name,),
        )?;
        Ok(found.is_some())
    }

    pub fn legacy_channels(&mut self) -> StoreResult<Vec<LegacyChannel>> {
        let sql = self.t.sql(
            "SELECT * FROM {legacy_channels} WHERE identity = ? OR identity IS NULL ORDER BY id",
        );
        let rows: Vec<Row> = self.q.exec(sql, (self.identity,))?;
        Ok(rows
            .into_iter()
            .map(|mut r| LegacyChannel {
                id: positive_id(&text(&mut r, "id")).unwrap_or_default(),
                kind: text(&mut r, "type"),
                name: text(&mut r, "name"),
                external_id: text(&mut r, "channel_id"),
                token: text(&mut r, "token"),
                settings: serde_json::from_str(&text(&mut r, "settings")).unwrap_or(Value::Null),
                active: text(&mut r, "active") != "off",
            })
            .collect())
    }

    pub fn legacy_chats(&mut self) -> StoreResult<Vec<LegacyChat>> {
        let sql = self
            .t
            .sql("SELECT * FROM {legacy_chats} WHERE identity = ? OR identity IS NULL ORDER BY id");
        let rows: Vec<Row> = self.q.exec(sql, (self.identity,))?;
        Ok(rows
            .into_iter()
            .map(|mut r| {
                let chat_id = text(&mut r, "chat_id");
                let visitor = text(&mut r, "client_id");
                LegacyChat {
                    id: positive_id(&text(&mut r, "id")).unwrap_or_default(),
                    channel_external_id: text(&mut r, "channel_id"),
                    visitor_id: if visitor.is_empty() {
                        chat_id.clone()
                    } else {
                        visitor
                    },
                    chat_id,
                    first_name: text(&mut r, "client_firstname"),
                    last_name: text(&mut r, "client_lastname"),
                    user_ids: text(&mut r, "users")
                        .split(',')
                        .filter_map(positive_id)
                        .collect(),
                    client_id: positive_id(&text(&mut r, "clid")),
                    contact_id: positive_id(&text(&mut r, "pid")),
                    status: text(&mut r, "status"),
                    phone: text(&mut r, "phone"),
                    email: text(&mut r, "email"),
                }
            })
            .collect())
    }

    /// A page of old messages after `after_id`, oldest first.
    pub fn legacy_messages(
        &mut self,
        after_id: i64,
        limit: usize,
    ) -> StoreResult<Vec<LegacyMessage>> {
        let sql = self.t.sql(
            "SELECT * FROM {legacy_messages} WHERE id > ? AND (identity = ? OR identity IS NULL) ORDER BY id LIMIT ?",
        );
        let rows: Vec<Row> = self.q.exec(sql, (after_id, self.identity, limit as u64))?;
        Ok(rows
            .into_iter()
            .map(|mut r| LegacyMessage {
                id: positive_id(&text(&mut r, "id")).unwrap_or_default(),
                chat_id: text(&mut r, "chat_id"),
                message_id: text(&mut r, "message_id"),
                direction: text(&mut r, "direction"),
                status: text(&mut r, "status"),
                content: text(&mut r, "content"),
                attachment: serde_json::from_str(&text(&mut r, "attachment"))
                    .unwrap_or(Value::Null),
                at: time(&mut r, "server_timestamp").or_else(|| time(&mut r, "datum")),
                user_id: positive_id(&text(&mut r, "iduser")),
            })
            .collect())
    }

    pub fn legacy_logs(&mut self) -> StoreResult<Vec<LegacyLog>> {
        let sql = self
            .t
            .sql("SELECT * FROM {legacy_logs} WHERE identity = ? OR identity IS NULL ORDER BY id");
        let rows: Vec<Row> = self.q.exec(sql, (self.identity,))?;
        Ok(rows
            .into_iter()
            .map(|mut r| LegacyLog {
                id: positive_id(&text(&mut r, "id")).unwrap_or_default(),
                chat_id: text(&mut r, "chat_id"),
                event: text(&mut r, "event"),
                old_value: text(&mut r, "oldvalue"),
                new_value: text(&mut r, "newvalue"),
                user_id: positive_id(&text(&mut r, "iduser")),
                at: time(&mut r, "datum"),
            })
            .collect())
    }

    // --- the import's bookkeeping ---------------------------------------------------------------

    /// Our id for an old row imported before.
    pub fn imported(&mut self, source: &str, source_id: &str) -> StoreResult<Option<i64>> {
        let sql = self.t.sql(
            "SELECT target_id FROM {imports} WHERE identity = ? AND source = ? AND source_id = ?",
        );
        Ok(self.q.exec_first(sql, (self.identity, source, source_id))?)
    }

    pub fn mark_imported(&mut self, source: &str, source_id: &str, target: i64) -> StoreResult<()> {
        let sql = self.t.sql(
            "INSERT INTO {imports} (identity, source, source_id, target_id, imported_at) VALUES (?, ?, ?, ?, ?)",
        );
        self.q.exec_drop(
            sql,
            (self.identity, source, source_id, target, Timestamp::now()),
        )?;
        Ok(())
    }

    // --- writes with the old rows' own times ----------------------------------------------------

    #[allow(clippy::too_many_arguments)]
    pub fn insert_imported_channel(
        &mut self,
        kind: ChannelType,
        name: &str,
        external_id: &str,
        token: &str,
        settings: &Value,
        webhook_secret: &str,
        active: bool,
    ) -> StoreResult<ChannelId> {
        let now = Timestamp::now();
        let sql = self.t.sql(
            "INSERT INTO {channels} (identity, type, name, external_id, token, settings, webhook_secret, \
             webhook_state, webhook_error, active, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, 'none', ?, ?, ?, ?)",
        );
        let (_, id) = exec_write(
            &mut self.q,
            &sql,
            (
                self.identity,
                kind.as_str(),
                fit(name, 255),
                (!external_id.is_empty()).then(|| fit(external_id, 191)),
                token,
                settings.to_string(),
                webhook_secret,
                "imported from socialChats: save the channel once to point the messenger at crmchats",
                active,
                now,
                now,
            ),
        )?;
        Ok(id as ChannelId)
    }

    #[allow(clippy::too_many_arguments)]
    pub fn insert_imported_visitor(
        &mut self,
        channel_id: ChannelId,
        external_id: &str,
        first_name: &str,
        last_name: &str,
        phone: Option<&str>,
        blocked: bool,
        client_id: Option<i64>,
        contact_id: Option<i64>,
    ) -> StoreResult<VisitorId> {
        let now = Timestamp::now();
        let name = format!("{first_name} {last_name}").trim().to_string();
        let sql = self.t.sql(
            "INSERT INTO {visitors} (identity, channel_id, external_id, name, first_name, last_name, phone, \
             blocked, client_id, contact_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON DUPLICATE KEY UPDATE id = LAST_INSERT_ID(id)",
        );
        let (_, id) = exec_write(
            &mut self.q,
            &sql,
            (
                self.identity,
                channel_id,
                fit(external_id, 191),
                fit(&name, 255),
                (!first_name.is_empty()).then(|| fit(first_name, 255)),
                (!last_name.is_empty()).then(|| fit(last_name, 255)),
                phone.map(|p| fit(p, 64)),
                blocked,
                client_id,
                contact_id,
                now,
                now,
            ),
        )?;
        Ok(id as VisitorId)
    }

    /// A dialog as the old chat left it: open (assigned or queued) or closed.
    pub fn insert_imported_dialog(
        &mut self,
        channel_id: ChannelId,
        visitor_id: VisitorId,
        open: bool,
        assigned: Option<i64>,
        at: Timestamp,
    ) -> StoreResult<DialogId> {
        let sql = self.t.sql(
            "INSERT INTO {dialogs} (identity, channel_id, visitor_id, status, open_visitor_id, source, \
             inbound_count, last_message_text, last_message_direction, last_activity_at, created_at, opened_at, \
             closed_at, assigned_operator_id, assigned_at) VALUES (?, ?, ?, ?, ?, 'socialChats', 0, '', NULL, ?, ?, ?, ?, ?, ?)",
        );
        let (_, id) = exec_write(
            &mut self.q,
            &sql,
            (
                self.identity,
                channel_id,
                visitor_id,
                if open { "open" } else { "closed" },
                open.then_some(visitor_id),
                at,
                at,
                at,
                (!open).then_some(at),
                assigned,
                assigned.map(|_| at),
            ),
        )?;
        Ok(id as DialogId)
    }

    #[allow(clippy::too_many_arguments)]
    pub fn insert_imported_message(
        &mut self,
        channel_id: ChannelId,
        dialog_id: DialogId,
        external_id: Option<&str>,
        inbound: bool,
        operator_id: Option<i64>,
        text: &str,
        status: &str,
        at: Timestamp,
    ) -> StoreResult<Option<MessageId>> {
        let sql = self.t.sql(
            "INSERT INTO {messages} (identity, channel_id, dialog_id, direction, author_type, author_operator_id, \
             text, external_id, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
             ON DUPLICATE KEY UPDATE id = id",
        );
        let (affected, id) = exec_write(
            &mut self.q,
            &sql,
            (
                self.identity,
                channel_id,
                dialog_id,
                if inbound { "in" } else { "out" },
                if inbound { "visitor" } else { "operator" },
                operator_id,
                text,
                external_id.map(|e| fit(e, 191)),
                status,
                at,
            ),
        )?;
        if affected != 1 {
            return Ok(None);
        }
        // The dialog's list line and unread count follow the newest message.
        let sql = self.t.sql(
            "UPDATE {dialogs} SET inbound_count = inbound_count + ?, last_message_text = ?, \
             last_message_direction = ?, last_activity_at = GREATEST(last_activity_at, ?) WHERE id = ?",
        );
        self.q.exec_drop(
            sql,
            (
                i64::from(inbound),
                super::preview(text),
                if inbound { "in" } else { "out" },
                at,
                dialog_id,
            ),
        )?;
        Ok(Some(id as MessageId))
    }

    /// A history entry at its own time.
    pub fn insert_event_at(
        &mut self,
        dialog_id: DialogId,
        operator_id: Option<i64>,
        kind: &str,
        data: &Value,
        at: Timestamp,
    ) -> StoreResult<()> {
        let sql = self.t.sql(
            "INSERT INTO {events} (identity, dialog_id, operator_id, kind, data, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        );
        self.q.exec_drop(
            sql,
            (
                self.identity,
                dialog_id,
                operator_id,
                kind,
                data.to_string(),
                at,
            ),
        )?;
        Ok(())
    }
}
