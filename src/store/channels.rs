//! Channels: the connected messenger accounts.

use mysql::prelude::Queryable;
use mysql::Row;
use serde_json::{Map, Value};

use super::{exec_write, Db, RowExt, Store, StoreError, StoreResult};
use crate::model::{Channel, ChannelActivity, ChannelId, ChannelType, WebhookState};
use crate::time::Timestamp;

/// What a channel row holds besides its id, type and state.
pub struct ChannelRecord<'a> {
    pub name: &'a str,
    pub token: &'a str,
    pub settings: &'a Map<String, Value>,
    pub webhook_secret: &'a str,
    pub external_id: Option<&'a str>,
    pub bot_name: Option<&'a str>,
}

const COLUMNS: &str =
    "id, type, name, external_id, bot_name, token, settings, webhook_secret, webhook_state, \
     webhook_error, active, last_inbound_at, last_outbound_at, last_error, last_error_at";

fn channel_from_row(mut row: Row) -> StoreResult<Channel> {
    let kind: String = row.col("type").unwrap_or_default();
    let settings: String = row.col("settings").unwrap_or_default();
    let settings = match serde_json::from_str::<Value>(&settings) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    Ok(Channel {
        id: row.col("id").unwrap_or_default(),
        kind: ChannelType::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("channel type `{kind}`")))?,
        name: row.col("name").unwrap_or_default(),
        external_id: row.col("external_id").unwrap_or_default(),
        bot_name: row.col("bot_name").unwrap_or_default(),
        token: row.col("token").unwrap_or_default(),
        settings,
        webhook_secret: row.col("webhook_secret").unwrap_or_default(),
        webhook_state: WebhookState::parse(&row.col::<String>("webhook_state").unwrap_or_default()),
        webhook_error: row.col("webhook_error").unwrap_or_default(),
        active: row.col::<i64>("active").unwrap_or_default() != 0,
        health: ChannelActivity {
            last_inbound_at: row.col("last_inbound_at").unwrap_or_default(),
            last_outbound_at: row.col("last_outbound_at").unwrap_or_default(),
            last_error: row.col("last_error").unwrap_or_default(),
            last_error_at: row.col("last_error_at").unwrap_or_default(),
        },
    })
}

impl Store {
    pub fn insert_channel(&self, kind: ChannelType, c: &ChannelRecord) -> StoreResult<ChannelId> {
        let now = Timestamp::now();
        let sql = self.sql(
            "INSERT INTO {channels} (identity, type, name, external_id, bot_name, token, settings, webhook_secret, \
             webhook_state, active, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'none', 1, ?, ?)",
        );
        let settings = Value::Object(c.settings.clone()).to_string();
        let (_, id) = exec_write(
            &mut self.conn()?,
            &sql,
            (
                self.identity,
                kind.as_str(),
                c.name,
                c.external_id,
                c.bot_name,
                c.token,
                settings,
                c.webhook_secret,
                now,
                now,
            ),
        )?;
        Ok(id as ChannelId)
    }

    pub fn update_channel(&self, id: ChannelId, c: &ChannelRecord) -> StoreResult<()> {
        let sql = self.sql(
            "UPDATE {channels} SET name = ?, token = ?, settings = ?, webhook_secret = ?, external_id = ?, \
             bot_name = ?, updated_at = ? WHERE id = ? AND identity = ?",
        );
        let settings = Value::Object(c.settings.clone()).to_string();
        self.conn()?.exec_drop(
            sql,
            (
                c.name,
                c.token,
                settings,
                c.webhook_secret,
                c.external_id,
                c.bot_name,
                Timestamp::now(),
                id,
                self.identity,
            ),
        )?;
        Ok(())
    }

    pub fn set_webhook_state(
        &self,
        id: ChannelId,
        state: WebhookState,
        error: Option<&str>,
    ) -> StoreResult<()> {
        let sql = self.sql("UPDATE {channels} SET webhook_state = ?, webhook_error = ?, updated_at = ? WHERE id = ?");
        self.conn()?
            .exec_drop(sql, (state.as_str(), error, Timestamp::now(), id))?;
        Ok(())
    }

    /// Keeps what a provider's `set_webhook` asked to keep (VK's server id and code).
    pub fn merge_channel_settings(
        &self,
        id: ChannelId,
        extra: &Map<String, Value>,
    ) -> StoreResult<()> {
        if extra.is_empty() {
            return Ok(());
        }
        let mut channel = self.channel(id)?;
        channel.settings.extend(extra.clone());
        let sql = self.sql("UPDATE {channels} SET settings = ?, updated_at = ? WHERE id = ?");
        self.conn()?.exec_drop(
            sql,
            (
                Value::Object(channel.settings).to_string(),
                Timestamp::now(),
                id,
            ),
        )?;
        Ok(())
    }

    /// A webhook was stored for the channel (written at most once a minute per process).
    pub fn mark_channel_inbound(&self, id: ChannelId, at: Timestamp) -> StoreResult<()> {
        let sql = self.sql(
            "UPDATE {channels} SET last_inbound_at = GREATEST(COALESCE(last_inbound_at, ?), ?) WHERE id = ?",
        );
        self.conn()?.exec_drop(sql, (at, at, id))?;
        Ok(())
    }

    /// A send reached the messenger.
    pub fn mark_channel_sent(&self, id: ChannelId, at: Timestamp) -> StoreResult<()> {
        let sql = self.sql("UPDATE {channels} SET last_outbound_at = ? WHERE id = ?");
        self.conn()?.exec_drop(sql, (at, id))?;
        Ok(())
    }

    /// The messenger refused something; `error` is its own words.
    pub fn mark_channel_error(&self, id: ChannelId, at: Timestamp, error: &str) -> StoreResult<()> {
        let sql = self.sql("UPDATE {channels} SET last_error_at = ?, last_error = ? WHERE id = ?");
        self.conn()?.exec_drop(sql, (at, error, id))?;
        Ok(())
    }

    /// Deactivates a channel; its visitors, dialogs and messages stay for the history.
    pub fn deactivate_channel(&self, id: ChannelId) -> StoreResult<()> {
        let now = Timestamp::now();
        let sql = self.sql(
            "UPDATE {channels} SET active = 0, deleted_at = ?, updated_at = ? WHERE id = ? AND identity = ?",
        );
        self.conn()?.exec_drop(sql, (now, now, id, self.identity))?;
        Ok(())
    }

    /// A channel of this tenant, active or not.
    pub fn channel(&self, id: ChannelId) -> StoreResult<Channel> {
        self.db()?.channel(id)
    }

    pub fn channels(&self, include_inactive: bool) -> StoreResult<Vec<Channel>> {
        let sql = self.sql(&format!(
            "SELECT {COLUMNS} FROM {{channels}} WHERE identity = ? AND (active = 1 OR ?) ORDER BY id"
        ));
        let rows: Vec<Row> = self.conn()?.exec(sql, (self.identity, include_inactive))?;
        rows.into_iter().map(channel_from_row).collect()
    }
}

impl<Q: Queryable> Db<'_, Q> {
    /// A channel of this tenant, active or not.
    pub fn channel(&mut self, id: ChannelId) -> StoreResult<Channel> {
        let sql = self.t.sql(&format!(
            "SELECT {COLUMNS} FROM {{channels}} WHERE id = ? AND identity = ?"
        ));
        let row: Option<Row> = self.q.exec_first(sql, (id, self.identity))?;
        channel_from_row(
            row.ok_or_else(|| StoreError::NotFound(format!("channel {id} does not exist")))?,
        )
    }
}
