//! Optional push through comet-server.ru (the original plugin's choice): when an admin sets the
//! Dev ID and Dev KEY, every change is announced on the tenant's pipe, so consoles subscribed
//! there ask `events.poll` at once instead of waiting for their long poll to wake.
//!
//! CometQL speaks the MySQL protocol but is not MySQL: it parses plain queries (no prepared
//! statements, no session queries), so the message is sent as one escaped text query. Only ids
//! travel through it, never message text: what an operator may see is decided by `events.poll`.

use std::time::Duration;

use mysql::prelude::Queryable;
use mysql::{Conn, OptsBuilder};
use serde_json::json;

use crate::config::CometEndpoint;
use crate::model::DialogId;
use crate::settings::Comet;

/// The pipe a tenant's consoles subscribe to (CometQL allows `[0-9A-Za-z=+/_]`).
pub fn pipe_name(identity: i64) -> String {
    format!("crmchats_{identity}")
}

/// A value as a CometQL string literal.
fn quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\0"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// Announces that these dialogs changed; silent when comet is not configured. A comet outage
/// costs a log line and at most a few seconds, never the webhook.
pub fn announce(
    endpoint: &CometEndpoint,
    credentials: &Comet,
    identity: i64,
    dialog_ids: &[DialogId],
) {
    let (Some(id), Some(key)) = (
        credentials.dev_id.as_deref().filter(|v| !v.is_empty()),
        credentials.dev_key.as_deref().filter(|v| !v.is_empty()),
    ) else {
        return;
    };
    if dialog_ids.is_empty() {
        return;
    }
    let message = json!({"dialog_ids": dialog_ids}).to_string();
    let sql = format!(
        "INSERT INTO pipes_messages (name, event, message) VALUES ({}, 'changed', {})",
        quoted(&pipe_name(identity)),
        quoted(&message)
    );
    let opts = OptsBuilder::new()
        .ip_or_hostname(Some(endpoint.host.clone()))
        .tcp_port(endpoint.port)
        .user(Some(id))
        .pass(Some(key))
        .db_name(Some(endpoint.database.clone()))
        .prefer_socket(false)
        // Nothing asked of the server beyond the handshake and the insert.
        .max_allowed_packet(Some(4 * 1024 * 1024))
        .tcp_connect_timeout(Some(Duration::from_secs(3)))
        .read_timeout(Some(Duration::from_secs(3)))
        .write_timeout(Some(Duration::from_secs(3)));
    let sent = Conn::new(opts).and_then(|mut conn| conn.query_drop(&sql));
    if let Err(e) = sent {
        log::warn!("comet-server announcement failed: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::quoted;

    #[test]
    fn values_are_escaped_as_string_literals() {
        assert_eq!(quoted(r#"{"a":"it's \ ok"}"#), r#"'{"a":"it\'s \\ ok"}'"#);
        assert_eq!(quoted("a\nb\0"), "'a\\nb\\0'");
    }
}
