//! MySQL/MariaDB access: the only place SQL lives. Every value is a bound parameter; only table
//! names (validated identifiers from the configuration) are put into the SQL text.

mod channels;
mod conversations;
mod crm;
mod host;
mod legacy;
mod migrate;
mod outbox;
mod pace;
mod productivity;
mod realtime;
mod receipts;
mod reports;
mod team;

pub use channels::ChannelRecord;
pub use conversations::{
    preview, AttachmentRow, Db, DialogListQuery, DialogOpening, DialogRow, DialogView, EventRow,
    MessageRow, NewAttachment, NewInboundMessage, NewOutboundMessage, OpenedDialog, StoredInbound,
};
pub use crm::{phone_key, CrmKind, CrmRecord};
pub use host::HostUser;
pub use legacy::{LegacyChannel, LegacyChat, LegacyLog, LegacyMessage};
pub use migrate::split_statements;
pub use outbox::OutboxHead;
pub use pace::{PaceAnswer, PaceRequest, PaceScope};
pub use productivity::{boolean_query, CannedReply, MessageSearch};
pub use realtime::{IdSet, Viewer};
pub use reports::{ReportDialog, ReportScope};
pub use team::{DialogState, OperatorRow, Presence};

use mysql::prelude::Queryable;
use mysql::{Opts, OptsBuilder, Pool, PoolConstraints, PoolOpts, PooledConn};

use crate::config::{Config, HostTables};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    NotFound(String),
    #[error("database: {0}")]
    Db(#[from] mysql::Error),
    #[error("database url: {0}")]
    Url(String),
    #[error("migration {version}: {message}")]
    Migration { version: u32, message: String },
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Table names, quoted, built once from the prefix.
#[derive(Clone, Debug)]
pub struct Tables {
    pub channels: String,
    pub visitors: String,
    pub dialogs: String,
    pub dialog_operators: String,
    pub dialog_reads: String,
    pub messages: String,
    pub attachments: String,
    pub events: String,
    pub deliveries: String,
    pub settings: String,
    pub operators: String,
    pub outbox: String,
    pub send_pace: String,
    pub imports: String,
    pub replies: String,
    pub dialog_tags: String,
    /// The original socialChats plugin's tables (`<prefix>chats_*`), read by the import only.
    pub legacy_channels: String,
    pub legacy_chats: String,
    pub legacy_messages: String,
    pub legacy_logs: String,
    pub schema: String,
    pub prefix: String,
    pub host: HostTables,
    /// Host table and column names, back-quoted, by template name (`user_table`, `user_id`...).
    host_quoted: std::collections::HashMap<&'static str, String>,
}

impl Tables {
    pub fn new(prefix: &str, host: &HostTables) -> Self {
        let t = |name: &str| format!("`{prefix}crmchats_{name}`");
        Tables {
            channels: t("channels"),
            visitors: t("visitors"),
            dialogs: t("dialogs"),
            dialog_operators: t("dialog_operators"),
            dialog_reads: t("dialog_reads"),
            messages: t("messages"),
            attachments: t("attachments"),
            events: t("events"),
            deliveries: t("deliveries"),
            settings: t("settings"),
            operators: t("operators"),
            outbox: t("outbox"),
            send_pace: t("send_pace"),
            imports: t("imports"),
            replies: t("replies"),
            dialog_tags: t("dialog_tags"),
            legacy_channels: format!("`{prefix}chats_channels`"),
            legacy_chats: format!("`{prefix}chats_chat`"),
            legacy_messages: format!("`{prefix}chats_dialogs`"),
            legacy_logs: format!("`{prefix}chats_logs`"),
            schema: t("schema_versions"),
            prefix: prefix.to_string(),
            host: host.clone(),
            host_quoted: host
                .names()
                .into_iter()
                .map(|(k, v)| (k, format!("`{v}`")))
                .collect(),
        }
    }

    /// Every table of the plugin's own (not the host's, not the old plugin's), schema last.
    pub fn own(&self) -> [&str; 17] {
        [
            &self.channels,
            &self.visitors,
            &self.dialogs,
            &self.dialog_operators,
            &self.dialog_reads,
            &self.messages,
            &self.attachments,
            &self.events,
            &self.deliveries,
            &self.settings,
            &self.operators,
            &self.outbox,
            &self.send_pace,
            &self.imports,
            &self.replies,
            &self.dialog_tags,
            &self.schema,
        ]
    }

    /// Replaces `{channels}`, `{visitors}`... in a query template with the quoted table names.
    pub fn sql(&self, template: &str) -> String {
        let mut out = String::with_capacity(template.len() + 64);
        let mut rest = template;
        while let Some(start) = rest.find('{') {
            out.push_str(&rest[..start]);
            let after = &rest[start + 1..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                return out;
            };
            let name = &after[..end];
            match self.lookup(name) {
                Some(table) => out.push_str(table),
                None => {
                    out.push('{');
                    out.push_str(name);
                    out.push('}');
                }
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out
    }

    fn lookup(&self, name: &str) -> Option<&str> {
        if let Some(quoted) = self.host_quoted.get(name) {
            return Some(quoted);
        }
        Some(match name {
            "channels" => &self.channels,
            "visitors" => &self.visitors,
            "dialogs" => &self.dialogs,
            "dialog_operators" => &self.dialog_operators,
            "dialog_reads" => &self.dialog_reads,
            "messages" => &self.messages,
            "attachments" => &self.attachments,
            "events" => &self.events,
            "deliveries" => &self.deliveries,
            "settings" => &self.settings,
            "operators" => &self.operators,
            "outbox" => &self.outbox,
            "send_pace" => &self.send_pace,
            "imports" => &self.imports,
            "replies" => &self.replies,
            "dialog_tags" => &self.dialog_tags,
            "legacy_channels" => &self.legacy_channels,
            "legacy_chats" => &self.legacy_chats,
            "legacy_messages" => &self.legacy_messages,
            "legacy_logs" => &self.legacy_logs,
            "schema" => &self.schema,
            _ => return None,
        })
    }
}

/// How long a call waits for a free pooled connection before failing.
const POOL_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The plugin's database: a small connection pool and the table names.
pub struct Store {
    pool: Pool,
    pub tables: Tables,
    pub identity: i64,
    /// The database's name, part of every named lock's name.
    database: String,
}

impl Store {
    /// Connects and applies pending migrations. A PHP process is single-threaded, but one call
    /// may hold a few connections at once (a webhook whose new dialog sends an automatic reply),
    /// so the pool allows 8; a call that still finds none waits 10 s and fails rather than hang.
    pub fn open(config: &Config) -> StoreResult<Store> {
        let opts =
            Opts::from_url(&config.database_url).map_err(|e| StoreError::Url(e.to_string()))?;
        let constraints = PoolConstraints::new(1, 8).expect("1 <= 8");
        let builder = OptsBuilder::from_opts(opts)
            .pool_opts(
                PoolOpts::default()
                    .with_constraints(constraints)
                    .with_reset_connection(false),
            )
            .stmt_cache_size(Some(64))
            .tcp_connect_timeout(Some(std::time::Duration::from_secs(5)))
            .init(vec![
                "SET time_zone = '+00:00'",
                "SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci",
            ]);
        let pool = Pool::new(builder)?;
        // Named locks are server-wide: their names carry the database, so two databases on one
        // server (two CRMs, parallel tests) never wait for each other.
        let database: Option<String> = pool
            .try_get_conn(POOL_WAIT)?
            .query_first("SELECT DATABASE()")?;
        let store = Store {
            pool,
            tables: Tables::new(&config.table_prefix, &config.host),
            identity: config.identity,
            database: database.unwrap_or_default(),
        };
        migrate::apply(&mut store.conn()?, &store.tables, &store.database)?;
        Ok(store)
    }

    pub fn conn(&self) -> StoreResult<PooledConn> {
        Ok(self.pool.try_get_conn(POOL_WAIT)?)
    }

    pub fn sql(&self, template: &str) -> String {
        self.tables.sql(template)
    }

    /// Drops every table of the plugin (uninstall with "remove all chat data"); returns their names.
    pub fn drop_all(&self) -> StoreResult<Vec<String>> {
        let mut conn = self.conn()?;
        let mut dropped = Vec::new();
        for table in self.tables.own() {
            conn.query_drop(format!("DROP TABLE IF EXISTS {table}"))?;
            dropped.push(table.trim_matches('`').to_string());
        }
        Ok(dropped)
    }

    /// The name of the lock that keeps `tick` to one process per database and tenant (MySQL
    /// lock names are at most 64 characters: a digest stands for the table name).
    pub fn tick_lock_name(&self) -> String {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(format!(
            "{}.{}:{}",
            self.database, self.tables.schema, self.identity
        ));
        format!("crmchats_tick_{}", crate::storage::hex(&digest[..8]))
    }
}

/// Reads columns without ever panicking (`Row::take` panics on a value of another type): a
/// missing column, NULL where a value was expected, or an odd legacy value gives `None`.
pub(crate) trait RowExt {
    fn col<T: mysql::prelude::FromValue>(&mut self, name: &str) -> Option<T>;
}

impl RowExt for mysql::Row {
    fn col<T: mysql::prelude::FromValue>(&mut self, name: &str) -> Option<T> {
        self.take_opt(name).and_then(Result::ok)
    }
}

/// A value of a table we do not own (the host CRM's, the old plugin's), read leniently as text:
/// such columns may hold what strict mode would refuse, and the types vary between installs.
pub(crate) fn lenient_text(value: Option<mysql::Value>) -> String {
    match value {
        Some(mysql::Value::Bytes(b)) => String::from_utf8_lossy(&b).into_owned(),
        Some(mysql::Value::Int(i)) => i.to_string(),
        Some(mysql::Value::UInt(u)) => u.to_string(),
        Some(mysql::Value::Date(y, mo, d, h, mi, s, us)) => {
            format!(
                "{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}.{:03}",
                us / 1000
            )
        }
        _ => String::new(),
    }
}

/// A positive id written as text (0, empty and garbage are none).
pub(crate) fn positive_id(s: &str) -> Option<i64> {
    s.trim().parse::<i64>().ok().filter(|v| *v > 0)
}

/// Runs a write and returns (affected rows, last insert id).
pub(crate) fn exec_write<Q: Queryable>(
    q: &mut Q,
    sql: &str,
    params: impl Into<mysql::Params>,
) -> StoreResult<(u64, u64)> {
    let result = q.exec_iter(sql, params)?;
    let affected = result.affected_rows();
    let last_id = result.last_insert_id().unwrap_or(0);
    drop(result);
    Ok((affected, last_id))
}

/// The schema version this build migrates to.
pub fn schema_version() -> u32 {
    migrate::latest_version()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_templates_expand_known_names_only() {
        let t = Tables::new("app_", &HostTables::default());
        assert_eq!(
            t.sql("SELECT {user_name} FROM {user_table} JOIN {dialogs} WHERE x = '{other}'"),
            "SELECT `title` FROM `app_user` JOIN `app_crmchats_dialogs` WHERE x = '{other}'"
        );
    }
}
