//! Moving a site from the original socialChats plugin: its channels (tokens and settings), chats
//! (visitors, dialog state, operators, client/contact links), messages with attachments and times,
//! and its event log. Idempotent (every imported row is remembered), never writes to the old
//! tables, and a dry run does everything in a transaction it then rolls back.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::model::{ChannelId, ChannelType, DialogId};
use crate::runtime::Runtime;
use crate::storage::random_token;
use crate::store::{Db, LegacyChat, LegacyMessage, NewAttachment};
use crate::time::Timestamp;

/// What an import did (or, dry, would do).
#[derive(Default)]
struct Report {
    imported: HashMap<&'static str, u64>,
    already: HashMap<&'static str, u64>,
    skipped: Vec<Value>,
    skipped_total: u64,
}

impl Report {
    fn add(&mut self, what: &'static str) {
        *self.imported.entry(what).or_default() += 1;
    }
    fn again(&mut self, what: &'static str) {
        *self.already.entry(what).or_default() += 1;
    }
    fn skip(&mut self, table: &str, id: i64, reason: impl Into<String>) {
        self.skipped_total += 1;
        // The first few hundred reasons are enough to act on; the total says how many.
        if self.skipped.len() < 200 {
            self.skipped
                .push(json!({"table": table, "id": id, "reason": reason.into()}));
        }
    }
}

fn channel_type(legacy: &str) -> Option<ChannelType> {
    Some(match legacy.to_ascii_lowercase().as_str() {
        "telegram" => ChannelType::Telegram,
        "viber" => ChannelType::Viber,
        "vk" => ChannelType::Vk,
        "facebook" => ChannelType::Facebook,
        "chatapi" => ChannelType::Chatapi,
        _ => return None,
    })
}

/// The old plugin stored message text through `htmlspecialchars`.
fn unescape_html(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#039;", "'")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

fn message_status(legacy: &LegacyMessage) -> &'static str {
    if legacy.direction != "out" {
        return "received";
    }
    match legacy.status.as_str() {
        "delivered" => "delivered",
        "seen" | "read" => "read",
        "error" | "failed" => "failed",
        _ => "sent",
    }
}

/// `import.socialchats`: see the module doc. `files_root` is the CRM's root folder, where the
/// old plugin's attachment URLs (`/files/...`) point.
pub fn socialchats(rt: &Runtime, dry_run: bool, files_root: Option<&Path>) -> Result<Value> {
    let mut db = rt.store.db()?;
    if !db.legacy_tables_exist()? {
        return Ok(json!({"found": false, "dry_run": dry_run}));
    }
    let mut report = Report::default();
    let mut tx = db.begin()?;
    let channels = import_channels(&mut tx, &mut report)?;
    let chats = import_chats(&mut tx, &channels, &mut report)?;
    import_messages(rt, &mut tx, &chats, files_root, dry_run, &mut report)?;
    import_logs(&mut tx, &chats, &mut report)?;
    if dry_run {
        drop(tx); // rolled back: nothing written
    } else {
        tx.commit()?;
    }
    Ok(json!({
        "found": true,
        "dry_run": dry_run,
        "imported": report.imported,
        "already_imported": report.already,
        "skipped_total": report.skipped_total,
        "skipped": report.skipped,
    }))
}

/// Old channel external ids -> our channels.
fn import_channels<Q: mysql::prelude::Queryable>(
    tx: &mut Db<'_, Q>,
    report: &mut Report,
) -> Result<HashMap<String, ChannelId>> {
    let mut by_external: HashMap<String, ChannelId> = HashMap::new();
    for old in tx.legacy_channels()? {
        let key = old.id.to_string();
        let id = match tx.imported("channel", &key)? {
            Some(id) => {
                report.again("channels");
                id
            }
            None => {
                let Some(kind) = channel_type(&old.kind) else {
                    report.skip(
                        "chats_channels",
                        old.id,
                        format!("channel type `{}` has no crmchats provider", old.kind),
                    );
                    continue;
                };
                let settings = if old.settings.is_object() {
                    old.settings.clone()
                } else {
                    json!({})
                };
                let id = tx.insert_imported_channel(
                    kind,
                    &old.name,
                    &old.external_id,
                    &old.token,
                    &settings,
                    &random_token(24),
                    old.active,
                )?;
                tx.mark_imported("channel", &key, id)?;
                report.add("channels");
                id
            }
        };
        // The old plugin keyed chats by the messenger's channel id alone: two channels with the
        // same id on two messengers cannot be told apart, the first one wins.
        if by_external.insert(old.external_id.clone(), id).is_some() {
            report.skip(
                "chats_channels",
                old.id,
                "another channel has the same channel_id: its chats go to the first one",
            );
        }
    }
    Ok(by_external)
}

/// Old chat ids -> (our channel, our dialog).
fn import_chats<Q: mysql::prelude::Queryable>(
    tx: &mut Db<'_, Q>,
    channels: &HashMap<String, ChannelId>,
    report: &mut Report,
) -> Result<HashMap<String, (ChannelId, DialogId)>> {
    let mut by_chat: HashMap<String, (ChannelId, DialogId)> = HashMap::new();
    let mut open_visitors: HashSet<i64> = HashSet::new();
    for chat in tx.legacy_chats()? {
        let Some(&channel_id) = channels.get(&chat.channel_external_id) else {
            report.skip(
                "chats_chat",
                chat.id,
                format!(
                    "its channel `{}` was not imported",
                    chat.channel_external_id
                ),
            );
            continue;
        };
        if chat.visitor_id.is_empty() {
            report.skip("chats_chat", chat.id, "no visitor id");
            continue;
        }
        let key = chat.id.to_string();
        let dialog_id = match tx.imported("chat", &key)? {
            Some(id) => {
                report.again("dialogs");
                id
            }
            None => {
                let id = import_chat(tx, channel_id, &chat, &mut open_visitors)?;
                tx.mark_imported("chat", &key, id)?;
                report.add("dialogs");
                id
            }
        };
        if by_chat
            .insert(chat.chat_id.clone(), (channel_id, dialog_id))
            .is_some()
        {
            report.skip(
                "chats_chat",
                chat.id,
                "another chat has the same chat_id: its messages go to the first one",
            );
        }
    }
    Ok(by_chat)
}

fn import_chat<Q: mysql::prelude::Queryable>(
    tx: &mut Db<'_, Q>,
    channel_id: ChannelId,
    chat: &LegacyChat,
    open_visitors: &mut HashSet<i64>,
) -> Result<DialogId> {
    let blocked = chat.status == "blocked";
    let visitor_id = tx.insert_imported_visitor(
        channel_id,
        &chat.visitor_id,
        &chat.first_name,
        &chat.last_name,
        Some(chat.phone.as_str()).filter(|p| !p.trim().is_empty()),
        blocked,
        chat.client_id,
        chat.contact_id,
    )?;
    // One open dialog per visitor: a second open chat of the same person comes in closed.
    let open =
        matches!(chat.status.as_str(), "free" | "inwork" | "") && open_visitors.insert(visitor_id);
    let assigned = (open && chat.status == "inwork")
        .then(|| chat.user_ids.first().copied())
        .flatten();
    let dialog_id =
        tx.insert_imported_dialog(channel_id, visitor_id, open, assigned, Timestamp::now())?;
    if let Some(owner) = assigned {
        tx.assign(dialog_id, Some(owner), owner, false, Timestamp::now())?;
    }
    for user in &chat.user_ids {
        tx.add_dialog_operator(dialog_id, *user)?;
    }
    tx.insert_event_at(
        dialog_id,
        None,
        "imported",
        &json!({"from": "socialChats", "chat_id": chat.chat_id, "status": chat.status, "email": chat.email}),
        Timestamp::now(),
    )?;
    Ok(dialog_id)
}

fn import_messages<Q: mysql::prelude::Queryable>(
    rt: &Runtime,
    tx: &mut Db<'_, Q>,
    chats: &HashMap<String, (ChannelId, DialogId)>,
    files_root: Option<&Path>,
    dry_run: bool,
    report: &mut Report,
) -> Result<()> {
    let mut after = 0;
    loop {
        let page = tx.legacy_messages(after, 500)?;
        let Some(last) = page.last() else {
            return Ok(());
        };
        after = last.id;
        for old in page {
            let key = old.id.to_string();
            if tx.imported("message", &key)?.is_some() {
                report.again("messages");
                continue;
            }
            let Some(&(channel_id, dialog_id)) = chats.get(&old.chat_id) else {
                report.skip(
                    "chats_dialogs",
                    old.id,
                    format!("its chat `{}` was not imported", old.chat_id),
                );
                continue;
            };
            let inbound = old.direction != "out";
            let text = unescape_html(&old.content);
            let at = old.at.unwrap_or_else(Timestamp::now);
            let external = Some(old.message_id.as_str()).filter(|m| !m.trim().is_empty());
            let Some(message_id) = tx.insert_imported_message(
                channel_id,
                dialog_id,
                external,
                inbound,
                old.user_id.filter(|_| !inbound),
                &text,
                message_status(&old),
                at,
            )?
            else {
                report.skip(
                    "chats_dialogs",
                    old.id,
                    "a message with the same message_id is already stored",
                );
                continue;
            };
            for file in attachment_files(&old.attachment) {
                import_attachment(rt, tx, message_id, &file, files_root, dry_run, report)?;
            }
            tx.mark_imported("message", &key, message_id)?;
            report.add("messages");
        }
    }
}

/// The old attachment JSON: `{"<kind>": [{"url": "/files/...", "name": "..."}, ...], ...}`.
fn attachment_files(value: &Value) -> Vec<(String, String)> {
    let mut files = Vec::new();
    let lists: Vec<&Value> = match value {
        Value::Object(kinds) => kinds.values().collect(),
        Value::Array(_) => vec![value],
        _ => Vec::new(),
    };
    for list in lists {
        for file in list.as_array().into_iter().flatten() {
            let url = file
                .get("url")
                .or_else(|| file.get("file"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            if url.is_empty() {
                continue;
            }
            let name = file
                .get("name")
                .or_else(|| file.get("title"))
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| url.rsplit('/').next().unwrap_or("file").to_string());
            files.push((url, name));
        }
    }
    files
}

fn import_attachment<Q: mysql::prelude::Queryable>(
    rt: &Runtime,
    tx: &mut Db<'_, Q>,
    message_id: i64,
    (url, name): &(String, String),
    files_root: Option<&Path>,
    dry_run: bool,
    report: &mut Report,
) -> Result<()> {
    let mime = crate::model::mime_for_name(name);
    // Only files under the CRM's root: an URL with `..` cannot reach elsewhere.
    let path: Option<PathBuf> = files_root
        .filter(|_| !url.contains(".."))
        .map(|root| root.join(url.trim_start_matches('/')))
        .filter(|p| p.is_file());
    let stored = match (&path, dry_run) {
        (Some(p), false) => {
            let mut file = std::fs::File::open(p)
                .map_err(|e| Error::Storage(format!("{}: {e}", p.display())))?;
            Some(
                rt.files
                    .save_reader(&mut file)
                    .map_err(|e| Error::Storage(e.to_string()))?,
            )
        }
        _ => None,
    };
    let missing = format!("the old plugin's file {url} was not found under the CRM's root");
    tx.insert_attachment(
        Some(message_id),
        &NewAttachment {
            name,
            mime,
            size: stored.as_ref().map_or(0, |s| s.size),
            sha256: stored.as_ref().map(|s| s.sha256.as_str()),
            file_ref: None,
            error_code: path.is_none().then_some("not_imported"),
            error_message: path.is_none().then_some(missing.as_str()),
        },
    )?;
    if path.is_some() {
        report.add("attachments");
    } else {
        report.add("attachments_missing");
    }
    Ok(())
}

fn import_logs<Q: mysql::prelude::Queryable>(
    tx: &mut Db<'_, Q>,
    chats: &HashMap<String, (ChannelId, DialogId)>,
    report: &mut Report,
) -> Result<()> {
    for log in tx.legacy_logs()? {
        let key = log.id.to_string();
        if tx.imported("log", &key)?.is_some() {
            report.again("events");
            continue;
        }
        let Some(&(_, dialog_id)) = chats.get(&log.chat_id) else {
            report.skip(
                "chats_logs",
                log.id,
                format!("its chat `{}` was not imported", log.chat_id),
            );
            continue;
        };
        tx.insert_event_at(
            dialog_id,
            log.user_id,
            "socialchats_log",
            &json!({"event": log.event, "old": log.old_value, "new": log.new_value}),
            log.at.unwrap_or_else(Timestamp::now),
        )?;
        tx.mark_imported("log", &key, dialog_id)?;
        report.add("events");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_old_attachment_json_and_html_escapes_are_read() {
        let files = attachment_files(&json!({"photo": [{"url": "/files/chatcash/a.jpg"}],
            "doc": [{"url": "/files/chatcash/b.pdf", "name": "Счёт.pdf"}]}));
        assert_eq!(files.len(), 2);
        assert!(files.contains(&("/files/chatcash/b.pdf".into(), "Счёт.pdf".into())));
        assert!(files.contains(&("/files/chatcash/a.jpg".into(), "a.jpg".into())));
        assert_eq!(
            unescape_html("&lt;b&gt; &amp;amp; &quot;x&quot; &#039;y&#039;"),
            "<b> &amp; \"x\" 'y'"
        );
    }
}
