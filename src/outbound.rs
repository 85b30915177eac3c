//! Operators' replies: stored first, then sent, then the messenger's answer recorded. A message
//! the messenger refused stays in the history as `failed` with the reason: nothing is lost.

use std::fs::File;
use std::path::PathBuf;

use serde_json::json;

use crate::error::{Error, Result};
use crate::model::{DialogId, Direction, MessageId, MessageStatus, OperatorId};
use crate::providers::{OutgoingFile, Provider, ProviderContext, ProviderError};
use crate::runtime::Runtime;
use crate::storage::StoredFile;
use crate::store::NewAttachment;
use crate::time::Timestamp;

pub enum AttachmentSource {
    /// A file on the PHP host's disk (e.g. an upload's temporary file).
    Path(PathBuf),
    Bytes(Vec<u8>),
}

pub struct OutgoingAttachment {
    pub source: AttachmentSource,
    pub name: String,
    pub mime: String,
}

pub struct Reply {
    pub dialog_id: DialogId,
    pub operator_id: OperatorId,
    pub text: String,
    pub attachments: Vec<OutgoingAttachment>,
}

struct SavedFile {
    stored: StoredFile,
    name: String,
    mime: String,
}

/// Stores the reply, sends it, records the outcome; returns the message id in every case where
/// the message was stored (also when the messenger refused it).
pub fn send_reply(rt: &Runtime, reply: Reply) -> Result<MessageId> {
    if reply.text.trim().is_empty() && reply.attachments.is_empty() {
        return Err(Error::invalid(
            "text",
            "a message needs text or at least one attachment",
        ));
    }
    let mut db = rt.store.db()?;
    let dialog = db.dialog(reply.dialog_id, reply.operator_id)?;
    let channel = db.channel(dialog.channel_id)?;

    let mut saved = Vec::with_capacity(reply.attachments.len());
    for (i, a) in reply.attachments.into_iter().enumerate() {
        let field = format!("attachments[{i}]");
        let stored = match a.source {
            AttachmentSource::Path(path) => {
                let mut file = File::open(&path).map_err(|e| {
                    Error::invalid(&format!("{field}.path"), format!("{}: {e}", path.display()))
                })?;
                rt.files.save_reader(&mut file)
            }
            AttachmentSource::Bytes(bytes) => rt.files.save_reader(&mut &bytes[..]),
        }
        .map_err(|e| Error::Storage(format!("{field}: {e}")))?;
        saved.push(SavedFile {
            stored,
            name: a.name,
            mime: a.mime,
        });
    }

    let mut tx = db.begin()?;
    let message_id = tx.insert_outbound_message(&crate::store::NewOutboundMessage {
        channel_id: channel.id,
        dialog_id: dialog.id,
        operator_id: reply.operator_id,
        text: &reply.text,
        status: MessageStatus::Queued,
    })?;
    for f in &saved {
        tx.insert_attachment(
            Some(message_id),
            &NewAttachment {
                name: &f.name,
                mime: &f.mime,
                size: f.stored.size,
                sha256: Some(&f.stored.sha256),
                file_ref: None,
                error_code: None,
                error_message: None,
            },
        )?;
    }
    let preview = if reply.text.is_empty() {
        saved
            .first()
            .map(|f| format!("📎 {}", f.name))
            .unwrap_or_default()
    } else {
        reply.text.clone()
    };
    tx.touch_dialog_outbound(dialog.id, &preview, Timestamp::now())?;
    if tx.add_dialog_operator(dialog.id, reply.operator_id)? {
        tx.log_event(
            Some(dialog.id),
            None,
            Some(reply.operator_id),
            "operator_joined",
            &json!({"reason": "replied"}),
        )?;
    }
    tx.mark_read(dialog.id, reply.operator_id)?;
    tx.commit()?;

    let outcome = if channel.active {
        rt.with_provider(&channel, |provider, ctx| {
            deliver(
                rt,
                provider,
                ctx,
                &dialog.visitor_external_id,
                &reply.text,
                &saved,
            )
        })?
    } else {
        Err(ProviderError::Rejected(format!(
            "channel `{}` was deleted",
            channel.name
        )))
    };
    match outcome {
        Ok(external_id) => db.set_message_sent(message_id, &external_id)?,
        Err(e) => {
            log::warn!("dialog {}: message {message_id} not sent: {e}", dialog.id);
            db.set_message_failed(message_id, e.code(), &e.to_string(), e.retry_after())?;
            if matches!(e, ProviderError::VisitorBlocked(_)) {
                db.set_visitor_blocked(dialog.visitor_id, true)?;
            }
        }
    }
    Ok(message_id)
}

/// Sends text and files; the text rides as the first file's caption when it fits.
fn deliver(
    rt: &Runtime,
    provider: &dyn Provider,
    ctx: &ProviderContext,
    to: &str,
    text: &str,
    files: &[SavedFile],
) -> Result<String, ProviderError> {
    const CAPTION_LIMIT: usize = 1024;
    let caption_fits = !text.is_empty() && text.chars().count() <= CAPTION_LIMIT;
    let mut first_id = None;
    if files.is_empty() || (!text.is_empty() && !caption_fits) {
        first_id = Some(provider.send_text(ctx, to, text)?.external_id);
    }
    for (i, f) in files.iter().enumerate() {
        let path = rt.files.path_of(&f.stored.sha256).ok_or_else(|| {
            ProviderError::Io(format!("stored file {} is missing", f.stored.sha256))
        })?;
        let caption = (i == 0 && caption_fits).then_some(text);
        let file = OutgoingFile {
            path: &path,
            name: &f.name,
            mime: &f.mime,
            size: f.stored.size,
        };
        let sent = provider.send_file(ctx, to, &file, caption)?;
        first_id.get_or_insert(sent.external_id);
    }
    first_id.ok_or_else(|| ProviderError::Rejected("nothing to send".into()))
}

/// Deletes an operator's own sent message at the messenger and records the deletion.
pub fn delete_message(rt: &Runtime, message_id: MessageId, operator_id: OperatorId) -> Result<()> {
    let mut db = rt.store.db()?;
    let message = db.message(message_id)?;
    if message.direction != Direction::Out || message.author_operator_id != Some(operator_id) {
        return Err(Error::Forbidden(
            "only the operator who sent a message can delete it".into(),
        ));
    }
    if message.status == MessageStatus::Deleted {
        return Ok(());
    }
    if let (
        Some(external_id),
        MessageStatus::Sent | MessageStatus::Delivered | MessageStatus::Read,
    ) = (message.external_id.as_deref(), message.status)
    {
        let channel = db.channel(message.channel_id)?;
        let visitor = db.visitor(message.visitor_id)?;
        rt.with_provider(&channel, |provider, ctx| {
            provider.delete_message(ctx, &visitor.external_id, external_id)
        })??;
    }
    db.set_message_deleted(message_id)?;
    db.log_event(
        Some(message.dialog_id),
        Some(message_id),
        Some(operator_id),
        "message_deleted",
        &serde_json::Value::Null,
    )?;
    Ok(())
}
