//! Operators' replies: stored first, then sent, then the messenger's answer recorded. A message
//! the messenger refused stays in the history as `failed` with the reason: nothing is lost.

use std::fs::File;
use std::io::Read;
use std::path::PathBuf;

use mysql::PooledConn;
use serde_json::json;

use crate::error::{Error, Result};
use crate::model::{
    AttachmentId, Channel, ChannelId, DialogId, Direction, MessageId, MessageStatus, OperatorId,
    VisitorId,
};
use crate::providers::{OutgoingFile, Provider, ProviderContext, ProviderError};
use crate::runtime::Runtime;
use crate::storage::StoredFile;
use crate::store::{Db, NewAttachment, StoreError};
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
    pub author: Author,
    pub text: String,
    pub attachments: Vec<OutgoingAttachment>,
}

/// Who a reply is from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Author {
    Operator(OperatorId),
    /// An automatic message (greeting, offline notice...); `kind` goes to the history.
    Auto(&'static str),
}

impl Author {
    fn operator_id(self) -> Option<OperatorId> {
        match self {
            Author::Operator(id) => Some(id),
            Author::Auto(_) => None,
        }
    }
}

pub(crate) struct SavedFile {
    pub(crate) stored: StoredFile,
    pub(crate) name: String,
    pub(crate) mime: String,
    pub(crate) attachment_id: AttachmentId,
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
    let dialog = db.dialog(reply.dialog_id, reply.author.operator_id().unwrap_or(0))?;
    let channel = db.channel(dialog.channel_id)?;
    // Facebook and WhatsApp refuse to write first after 24 hours: say so before storing
    // anything, so the operator is not left with a message that can never go.
    if let Some(closed) = reply_window_closed(rt, &mut db, &channel, dialog.visitor_id)? {
        return Err(Error::Provider(closed));
    }

    let mut saved = Vec::with_capacity(reply.attachments.len());
    for (i, a) in reply.attachments.into_iter().enumerate() {
        let stored = save_attachment(rt, &format!("attachments[{i}]"), a.source)?;
        saved.push(SavedFile {
            stored,
            name: a.name,
            mime: a.mime,
            attachment_id: 0,
        });
    }

    let preview = if reply.text.is_empty() {
        saved
            .first()
            .map(|f| format!("📎 {}", f.name))
            .unwrap_or_default()
    } else {
        reply.text.clone()
    };
    let mut tx = db.begin()?;
    // The dialog's row is locked before the message gets its id, so replies to one dialog get
    // ids in the order they commit: the outbox sends by id, and no earlier id can appear later.
    tx.touch_dialog_outbound(dialog.id, &preview, Timestamp::now())?;
    let message_id = tx.insert_outbound_message(&crate::store::NewOutboundMessage {
        channel_id: channel.id,
        dialog_id: dialog.id,
        operator_id: reply.author.operator_id(),
        author_type: match reply.author {
            Author::Operator(_) => "operator",
            Author::Auto(_) => "auto",
        },
        text: &reply.text,
        status: MessageStatus::Queued,
    })?;
    for f in &mut saved {
        f.attachment_id = tx.insert_attachment(
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
    let priority = match reply.author {
        Author::Operator(_) => PRIORITY_OPERATOR,
        Author::Auto(_) => PRIORITY_AUTO,
    };
    tx.enqueue(
        message_id,
        channel.id,
        dialog.id,
        priority,
        Timestamp::now(),
    )?;
    match reply.author {
        Author::Operator(operator_id) => {
            if tx.add_dialog_operator(dialog.id, operator_id)? {
                tx.log_event(
                    Some(dialog.id),
                    None,
                    Some(operator_id),
                    "operator_joined",
                    &json!({"reason": "replied"}),
                )?;
            }
            tx.mark_read(dialog.id, operator_id)?;
        }
        Author::Auto(kind) => {
            tx.log_event(
                Some(dialog.id),
                Some(message_id),
                None,
                "auto_reply",
                &json!({"kind": kind}),
            )?;
        }
    }
    tx.commit()?;
    // The connection is not held idle through a long upload: a server with a short wait_timeout
    // would drop it, and the outcome could not be recorded.
    drop(db);
    // Sent through the outbox, behind any earlier reply of the dialog still waiting.
    if let Err(e) = crate::outbox::drain_dialog(
        rt,
        dialog.id,
        Timestamp::now(),
        crate::outbox::LIVE_PACE_WAIT,
    ) {
        // The message is stored and queued: tick sends it; it is never reported as lost.
        log::error!("dialog {}: sending message {message_id}: {e}", dialog.id);
    }
    rt.announce(&[dialog.id]);
    Ok(message_id)
}

/// Outbox priorities: an operator waiting on their reply goes before automatic messages.
const PRIORITY_OPERATOR: u8 = 0;
const PRIORITY_AUTO: u8 = 1;

/// Largest file an operator may attach, whatever the messenger (each has its own, lower limit).
const MAX_ATTACHMENT_BYTES: u64 = 100 * 1024 * 1024;

/// Copies an operator's attachment into storage. A path must name a readable regular file (the
/// PHP caller passes upload temp files, e.g. after `is_uploaded_file()`).
fn save_attachment(rt: &Runtime, field: &str, source: AttachmentSource) -> Result<StoredFile> {
    save_file(rt, field, source, MAX_ATTACHMENT_BYTES)
}

/// Stores a file from PHP's disk or from bytes, refusing more than `limit` bytes.
pub fn save_file(
    rt: &Runtime,
    field: &str,
    source: AttachmentSource,
    limit: u64,
) -> Result<StoredFile> {
    let too_large = || Error::invalid(field, format!("is larger than {} MB", limit >> 20));
    let stored = match source {
        AttachmentSource::Path(path) => {
            let bad_path = |why: String| {
                Error::invalid(
                    &format!("{field}.path"),
                    format!("{}: {why}", path.display()),
                )
            };
            let meta = std::fs::metadata(&path).map_err(|e| bad_path(e.to_string()))?;
            if !meta.is_file() {
                return Err(bad_path("not a regular file".into()));
            }
            if meta.len() > limit {
                return Err(too_large());
            }
            let file = File::open(&path).map_err(|e| bad_path(e.to_string()))?;
            rt.files.save_reader(&mut file.take(limit))
        }
        AttachmentSource::Bytes(bytes) => {
            if bytes.len() as u64 > limit {
                return Err(too_large());
            }
            rt.files.save_reader(&mut &bytes[..])
        }
    };
    stored.map_err(|e| Error::Storage(format!("{field}: {e}")))
}

/// What reached the messenger: the first part's id, and the error that stopped the rest.
pub(crate) struct Delivery {
    pub(crate) first_id: Option<String>,
    pub(crate) error: Option<ProviderError>,
}

impl Delivery {
    pub(crate) fn failed(e: ProviderError) -> Self {
        Delivery {
            first_id: None,
            error: Some(e),
        }
    }
}

/// Whether the messenger's reply window (hours after the visitor's last message) has closed.
fn reply_window_closed(
    rt: &Runtime,
    db: &mut Db<PooledConn>,
    channel: &Channel,
    visitor_id: VisitorId,
) -> Result<Option<ProviderError>> {
    let Some(hours) = rt.provider(channel)?.capabilities().reply_window_hours else {
        return Ok(None);
    };
    let window_ms = i64::from(hours) * 3600 * 1000;
    let last = db.last_inbound_at(visitor_id)?;
    let open = last.is_some_and(|at| Timestamp::now().millis() - at.millis() < window_ms);
    Ok((!open).then(|| {
        ProviderError::WindowClosed(match last {
            Some(at) => format!(
                "{} accepts replies only within {hours} hours of the visitor's last message ({}); wait until the visitor writes again",
                channel.kind.as_str(),
                at.to_rfc3339()
            ),
            None => format!(
                "{} accepts replies only within {hours} hours of a message from the visitor, and this visitor has not written",
                channel.kind.as_str()
            ),
        })
    }))
}

pub(crate) fn record_delivery(
    rt: &Runtime,
    channel: &Channel,
    message_id: MessageId,
    visitor_id: i64,
    delivery: &Delivery,
) -> Result<()> {
    let mut db = rt.store.db()?;
    let now = Timestamp::now();
    match &delivery.error {
        None => rt.store.mark_channel_sent(channel.id, now)?,
        Some(e) => rt
            .store
            .mark_channel_error(channel.id, now, &e.to_string())?,
    }
    match (&delivery.first_id, &delivery.error) {
        (Some(id), None) => set_sent(&mut db, channel.id, message_id, id, None)?,
        // Something reached the visitor: the message counts as sent, with what failed after it,
        // so nobody resends the part that arrived.
        (Some(id), Some(e)) => {
            let why = format!("only partly sent: {e}");
            set_sent(
                &mut db,
                channel.id,
                message_id,
                id,
                Some((e.code(), why.as_str())),
            )?
        }
        (None, error) => {
            let e = error
                .clone()
                .unwrap_or_else(|| ProviderError::Rejected("nothing to send".into()));
            log::warn!("message {message_id} not sent: {e}");
            db.set_message_failed(message_id, e.code(), &e.to_string(), e.retry_after())?;
        }
    }
    if let Some(ProviderError::VisitorBlocked(_)) = &delivery.error {
        db.set_visitor_blocked(visitor_id, true)?;
    }
    Ok(())
}

/// Records the messenger's id; when the messenger's echo of this very message was stored first
/// (its webhook overtook this call), the echo copy gives way.
fn set_sent(
    db: &mut Db<PooledConn>,
    channel_id: ChannelId,
    message_id: MessageId,
    external_id: &str,
    partial_error: Option<(&str, &str)>,
) -> Result<()> {
    match db.set_message_sent(message_id, external_id, partial_error) {
        Err(StoreError::Db(mysql::Error::MySqlError(e))) if e.code == DUPLICATE_KEY => {
            db.remove_echo_copy(channel_id, external_id)?;
            db.set_message_sent(message_id, external_id, partial_error)?;
            Ok(())
        }
        other => Ok(other?),
    }
}

/// MySQL's ER_DUP_ENTRY.
const DUPLICATE_KEY: u16 = 1062;

/// Longest text that rides as a file's caption; longer text goes as its own message first.
pub(crate) const CAPTION_LIMIT: usize = 1024;

/// One reply on its way: what `deliver` sends and where.
pub(crate) struct Outgoing<'a> {
    pub(crate) channel: &'a Channel,
    pub(crate) message_id: MessageId,
    pub(crate) to: &'a str,
    pub(crate) text: &'a str,
    pub(crate) files: &'a [SavedFile],
}

/// The message a part's idempotency key belongs to: keys are `<message id>.text` and
/// `<message id>.file<i>` (as `deliver` makes them), with `.<n>` for later parts of a long text.
/// A messenger that returns our key (Meta) lets an uncertain send be settled by it.
pub(crate) fn message_of_send_key(key: &str) -> Option<MessageId> {
    key.split('.').next()?.parse().ok()
}

/// Sends text and files; the text rides as the first file's caption when it fits. Each part
/// has a key of its own (see `message_of_send_key`) that stays the same when the message is
/// sent again.
pub(crate) fn deliver(
    rt: &Runtime,
    provider: &dyn Provider,
    ctx: &ProviderContext,
    out: &Outgoing,
) -> Delivery {
    let Outgoing {
        channel,
        message_id,
        to,
        text,
        files,
    } = *out;
    let caption_fits = !text.is_empty() && text.chars().count() <= CAPTION_LIMIT;
    let mut delivery = Delivery {
        first_id: None,
        error: None,
    };
    let mut note = |sent: Result<String, ProviderError>| match sent {
        Ok(id) => {
            delivery.first_id.get_or_insert(id);
            true
        }
        Err(e) => {
            delivery.error = Some(e);
            false
        }
    };
    let text_apart = files.is_empty() || (!text.is_empty() && !caption_fits);
    let text_key = format!("{message_id}.text");
    if text_apart
        && !note(
            provider
                .send_text(ctx, to, text, &text_key)
                .map(|s| s.external_id),
        )
    {
        return delivery;
    }
    for (i, f) in files.iter().enumerate() {
        let sent = rt
            .files
            .path_of(&f.stored.sha256)
            .ok_or_else(|| ProviderError::Io(format!("stored file {} is missing", f.stored.sha256)))
            .and_then(|path| {
                let caption = (i == 0 && caption_fits).then_some(text);
                let file = OutgoingFile {
                    path: &path,
                    name: &f.name,
                    mime: &f.mime,
                    size: f.stored.size,
                    public_url: rt.public_media_url(channel, f.attachment_id, &f.name, &f.mime),
                };
                provider.send_file(ctx, to, &file, caption, &format!("{message_id}.file{i}"))
            });
        if !note(sent.map(|s| s.external_id)) {
            break;
        }
    }
    delivery
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
