//! Webhook -> verified, normalised, deduplicated events -> store.
//!
//! The order is what makes it safe: authenticity first (a forged request stores nothing), then
//! parsing (a malformed body stores nothing), then files are fetched outside any transaction, then
//! one transaction stores every event, so a retry after a failure finds nothing half-stored. A
//! redelivery stores nothing again: a message is unique by its messenger id, any other delivery by
//! its delivery key (both database constraints).

use std::collections::BTreeMap;
use std::io::Write;

use mysql::prelude::Queryable;
use mysql::PooledConn;
use serde_json::json;

use crate::error::{Error, Result};
use crate::model::{
    AttachmentId, AttachmentKind, Channel, ChannelId, InboundEvent, InboundFile, InboundMessage,
    MessageId, VisitorId, VisitorProfile,
};
use crate::providers::{
    HttpReply, Provider, ProviderContext, ProviderError, UserInfo, WebhookRequest,
};
use crate::runtime::Runtime;
use crate::storage::StoredFile;
use crate::store::{
    Db, DialogOpening, NewAttachment, NewInboundMessage, OpenedDialog, StoreError, StoredInbound,
};
use crate::team;
use crate::time::Timestamp;

/// The HTTP answer PHP sends back to the messenger, as is.
#[derive(Clone, Debug, PartialEq)]
pub struct WebhookResponse {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

impl WebhookResponse {
    fn text(status: u16, body: &str) -> Self {
        let mut headers = BTreeMap::new();
        headers.insert(
            "Content-Type".to_string(),
            "text/plain; charset=utf-8".to_string(),
        );
        WebhookResponse {
            status,
            headers,
            body: body.to_string(),
        }
    }

    fn from_reply(reply: HttpReply) -> Self {
        let mut r = Self::text(reply.status, &reply.body);
        r.headers
            .insert("Content-Type".into(), reply.content_type.to_string());
        r
    }
}

pub struct IncomingWebhook<'a> {
    pub channel_id: ChannelId,
    pub method: &'a str,
    pub headers: BTreeMap<String, String>,
    pub query: BTreeMap<String, String>,
    pub body: &'a [u8],
}

/// A visitor's file fetched (or not) before the transaction.
struct FetchedFile {
    name: String,
    mime: String,
    size: u64,
    sha256: Option<String>,
    file_ref: String,
    error: Option<ProviderError>,
}

/// Why a webhook could not be stored; the messenger is answered 503 and retries.
#[derive(Debug, thiserror::Error)]
enum IngestFailure {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("attachment storage: {0}")]
    Files(String),
}

/// How long a failed name/avatar lookup waits before it is tried again.
const PROFILE_RETRY_MS: i64 = 24 * 3600 * 1000;

/// `file_ref` of an inbound file already in our storage: the prefix and its sha256.
pub const STORED_FILE_PREFIX: &str = "stored:";

/// Stores events that reached us without a webhook (the site widget posts through the library),
/// with the same deduplication and team rules as a webhook's.
pub fn store_direct(
    rt: &Runtime,
    channel: &Channel,
    events: &[InboundEvent],
) -> Result<StoredInbound> {
    let mut db = rt.store.db()?;
    let stored = rt.with_provider(channel, |provider, ctx| {
        store_events(rt, &mut db, channel, provider, ctx, None, events)
    })?;
    let stored = stored.map_err(|e| match e {
        IngestFailure::Store(e) => Error::from(e),
        IngestFailure::Files(e) => Error::Storage(e),
    })?;
    for opened in &stored.opened_dialogs {
        team::on_dialog_opened(rt, *opened);
    }
    Ok(stored)
}

pub fn handle_webhook(rt: &Runtime, incoming: &IncomingWebhook) -> WebhookResponse {
    let unavailable = |e: &dyn std::fmt::Display| {
        log::error!("webhook for channel {}: {e}", incoming.channel_id);
        WebhookResponse::text(503, "storage unavailable, retry later")
    };
    // One connection serves the whole webhook: lookup, transaction and profile check.
    let mut db = match rt.store.db() {
        Ok(db) => db,
        Err(e) => return unavailable(&e),
    };
    let channel = match rt.webhook_channel(&mut db, incoming.channel_id) {
        Ok(c) if c.active => c,
        Ok(_) | Err(StoreError::NotFound(_)) => {
            return WebhookResponse::text(404, "unknown channel")
        }
        Err(e) => return unavailable(&e),
    };
    let headers: BTreeMap<String, String> = incoming
        .headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect();
    let request = WebhookRequest {
        method: incoming.method,
        headers: &headers,
        query: &incoming.query,
        body: incoming.body,
    };
    let mut opened = Vec::new();
    let outcome = rt.with_provider(&channel, |provider, ctx| {
        process(rt, &mut db, &channel, provider, ctx, &request, &mut opened)
    });
    // The team's rules (CRM link, distribution, auto-replies) run once the messages are safe,
    // on connections of their own: this one goes back to the pool first.
    drop(db);
    match outcome {
        Ok(response) => {
            for dialog in opened {
                team::on_dialog_opened(rt, dialog);
            }
            response
        }
        Err(e) => {
            log::warn!("webhook for channel {}: {e}", channel.id);
            WebhookResponse::text(404, "channel type not supported")
        }
    }
}

/// Verifies, parses and stores one webhook; `opened` receives the dialogs it opened, for the
/// team's rules to run once the connection is back in the pool.
fn process(
    rt: &Runtime,
    db: &mut Db<PooledConn>,
    channel: &Channel,
    provider: &dyn Provider,
    ctx: &ProviderContext,
    request: &WebhookRequest,
    opened: &mut Vec<OpenedDialog>,
) -> WebhookResponse {
    if let Some(answer) = provider.handshake(ctx, request) {
        return match answer {
            Ok(reply) => WebhookResponse::from_reply(reply),
            Err(e) => {
                log::warn!("channel {}: {e}", channel.id);
                WebhookResponse::text(e.status(), &e.to_string())
            }
        };
    }
    if let Err(e) = provider.verify(ctx, request) {
        log::warn!("channel {}: {e}", channel.id);
        return WebhookResponse::text(e.status(), &e.to_string());
    }
    let parsed = match provider.parse(ctx, request) {
        Ok(p) => p,
        Err(e) => {
            log::warn!("channel {}: {e}", channel.id);
            return WebhookResponse::text(e.status(), &e.to_string());
        }
    };
    let stored = match store_events(
        rt,
        db,
        channel,
        provider,
        ctx,
        parsed.delivery_key.as_deref(),
        &parsed.events,
    ) {
        Ok(s) => s,
        Err(e) => {
            // Never 200 for what was not stored: the messenger retries on 5xx.
            log::error!("channel {}: storing a webhook failed: {e}", channel.id);
            return WebhookResponse::text(503, "storage unavailable, retry later");
        }
    };
    if !parsed.events.is_empty() && rt.inbound_mark_due(channel.id) {
        if let Err(e) = rt.store.mark_channel_inbound(channel.id, Timestamp::now()) {
            log::warn!(
                "channel {}: last inbound time not recorded: {e}",
                channel.id
            );
        }
    }
    opened.extend(stored.opened_dialogs.iter().copied());
    rt.announce(&stored.dialog_ids);
    // Profiles the webhook carried with a picture need no lookup at the messenger.
    let carried: Vec<&VisitorProfile> = parsed
        .events
        .iter()
        .filter_map(visitor_of)
        .filter(|p| p.avatar.is_some())
        .collect();
    for visitor_id in stored.visitor_ids {
        if let Err(e) = load_visitor_profile(rt, db, provider, ctx, visitor_id, false, &carried) {
            log::warn!(
                "channel {}: profile of visitor {visitor_id}: {e}",
                channel.id
            );
        }
    }
    parsed
        .reply
        .map(WebhookResponse::from_reply)
        .unwrap_or_else(|| WebhookResponse::text(200, "ok"))
}

fn fetch_file(
    rt: &Runtime,
    provider: &dyn Provider,
    ctx: &ProviderContext,
    file: &InboundFile,
) -> FetchedFile {
    let mut fetched = FetchedFile {
        name: file.name.clone().unwrap_or_else(|| "file".into()),
        mime: file
            .mime
            .clone()
            .unwrap_or_else(|| "application/octet-stream".into()),
        size: file.size.unwrap_or(0),
        sha256: None,
        file_ref: file.file_ref.clone(),
        error: None,
    };
    // Files a visitor uploaded to us (the site widget) are in storage already.
    if let Some(sha256) = file.file_ref.strip_prefix(STORED_FILE_PREFIX) {
        fetched.sha256 = Some(sha256.to_string());
        return fetched;
    }
    match download(rt, provider, ctx, file) {
        Ok((stored, suggested_name)) => {
            fetched.size = stored.size;
            fetched.sha256 = Some(stored.sha256);
            if file.name.is_none() {
                fetched.name = suggested_name.unwrap_or(fetched.name);
            }
        }
        // The message is stored anyway; the attachment keeps its error and file_ref, and the
        // download is tried again when an operator opens it (attachments.get).
        Err(e) => fetched.error = Some(e),
    }
    fetched
}

/// Streams a provider's file into storage. A failure to write our own disk comes back as
/// `ProviderError::Io`, whatever the provider made of it.
fn download(
    rt: &Runtime,
    provider: &dyn Provider,
    ctx: &ProviderContext,
    file: &InboundFile,
) -> Result<(StoredFile, Option<String>), ProviderError> {
    rt.files.save_with(|sink| {
        let mut sink = WriteErrorFlag {
            inner: sink,
            error: None,
        };
        let result = provider.download(ctx, file, &mut sink);
        match sink.error {
            Some(e) => Err(ProviderError::Io(e.to_string())),
            None => result.map(|d| d.suggested_name),
        }
    })
}

/// Remembers a write error, so a full disk is not taken for a failing messenger.
struct WriteErrorFlag<'a> {
    inner: &'a mut dyn Write,
    error: Option<std::io::Error>,
}

impl Write for WriteErrorFlag<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.inner
            .write(buf)
            .inspect_err(|e| self.error = Some(std::io::Error::new(e.kind(), e.to_string())))
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner
            .flush()
            .inspect_err(|e| self.error = Some(std::io::Error::new(e.kind(), e.to_string())))
    }
}

/// Downloads a message attachment whose first download failed; true when the file is now stored.
pub fn retry_attachment(
    rt: &Runtime,
    db: &mut Db<PooledConn>,
    attachment_id: AttachmentId,
) -> Result<bool> {
    let Some((channel_id, file_ref)) = db.attachment_origin(attachment_id)? else {
        return Ok(false);
    };
    let channel = db.channel(channel_id)?;
    let file = InboundFile {
        file_ref,
        name: None,
        mime: None,
        size: None,
        kind: AttachmentKind::Document,
    };
    let downloaded =
        rt.with_provider(&channel, |provider, ctx| download(rt, provider, ctx, &file))?;
    let (stored, _) = downloaded?;
    db.set_attachment_file(attachment_id, &stored.sha256, stored.size)?;
    Ok(true)
}

/// Downloads the files of messages not stored yet (a redelivery downloads nothing again);
/// empty lists for everything else.
fn fetch_files(
    rt: &Runtime,
    db: &mut Db<PooledConn>,
    channel: &Channel,
    provider: &dyn Provider,
    ctx: &ProviderContext,
    events: &[InboundEvent],
) -> Result<Vec<Vec<FetchedFile>>, StoreError> {
    let mut files: Vec<Vec<FetchedFile>> = events.iter().map(|_| Vec::new()).collect();
    // A redelivery must not download again: stored messages are skipped.
    for (event, slot) in events.iter().zip(files.iter_mut()) {
        if let InboundEvent::Message(m) = event {
            if !m.files.is_empty() && !db.message_exists(channel.id, &m.external_id)? {
                *slot = m
                    .files
                    .iter()
                    .map(|f| fetch_file(rt, provider, ctx, f))
                    .collect();
            }
        }
    }
    Ok(files)
}

fn store_events(
    rt: &Runtime,
    db: &mut Db<PooledConn>,
    channel: &Channel,
    provider: &dyn Provider,
    ctx: &ProviderContext,
    delivery_key: Option<&str>,
    events: &[InboundEvent],
) -> Result<StoredInbound, IngestFailure> {
    let mut result = StoredInbound::default();
    if events.is_empty() {
        return Ok(result); // acknowledged and ignored (group posts...): nothing to record
    }
    // Downloads happen before the transaction: they are slow and must hold no locks.
    let files = fetch_files(rt, db, channel, provider, ctx, events)?;
    // Our own disk failing is not the messenger's fault: answer 5xx so the file comes again.
    if let Some(e) = files.iter().flatten().find_map(|f| {
        f.error
            .as_ref()
            .filter(|e| matches!(e, ProviderError::Io(_)))
    }) {
        return Err(IngestFailure::Files(e.to_string()));
    }

    let mut tx = db.begin()?;
    // A single message is deduplicated by its own unique key (channel + message id), so its
    // delivery needs no row of its own; other deliveries (edits, blocks, batches) are recorded.
    let single_message = matches!(events, [InboundEvent::Message(_)]);
    if let Some(key) = delivery_key.filter(|_| !single_message) {
        if !tx.claim_delivery(channel.id, key)? {
            return Ok(result); // a redelivery, or another process stored it meanwhile; rolled back on drop
        }
    }
    let now = Timestamp::now();
    for (event, fetched) in events.iter().zip(files) {
        match event {
            // A lone digit after we asked for a rating is the rating, not a new message that
            // would reopen the dialog.
            InboundEvent::Message(m)
                if team::lone_rating(&m.text, !m.files.is_empty()).is_some()
                    && take_rating(rt, &mut tx, channel.id, m, now)? => {}
            InboundEvent::Message(m) if single_message => {
                if store_message(&mut tx, channel.id, m, &fetched, now, &mut result)?.is_none() {
                    // Stored concurrently under another delivery: keep the first copy only.
                    return Ok(StoredInbound::default());
                }
            }
            InboundEvent::Message(m) => {
                // In a batch, a message stored before is undone alone (its dialog counted it
                // again, or even reopened): the rest of the batch is new and must stay.
                tx.savepoint()?;
                let mut mark = result.clone();
                match store_message(&mut tx, channel.id, m, &fetched, now, &mut mark)? {
                    Some(_) => result = mark,
                    None => tx.rollback_to_savepoint()?,
                }
            }
            InboundEvent::Edited {
                external_id,
                visitor,
                text,
                sent_at,
                edited_at,
            } => {
                match tx.message_by_external_id(channel.id, external_id)? {
                    Some(old) if old.text != *text => {
                        tx.log_event(
                            Some(old.dialog_id),
                            Some(old.id),
                            None,
                            "message_edited",
                            &json!({"previous_text": old.text, "text": text}),
                        )?;
                        tx.edit_message_text(old.id, text, *edited_at)?;
                    }
                    Some(_) => {}
                    // The edit overtook its message (whose delivery failed or is in flight): the
                    // edit carries the whole message, so it is stored now; the original, when it
                    // comes, is a duplicate.
                    None => {
                        let message = InboundMessage {
                            external_id: external_id.clone(),
                            visitor: visitor.clone(),
                            text: text.clone(),
                            files: Vec::new(),
                            sent_at: *sent_at,
                            start_payload: None,
                        };
                        if let Some(id) =
                            store_message(&mut tx, channel.id, &message, &[], now, &mut result)?
                        {
                            tx.edit_message_text(id, text, *edited_at)?;
                        }
                    }
                }
            }
            InboundEvent::VisitorBlocked { visitor, blocked } => {
                let (visitor_id, _) = tx.upsert_visitor(channel.id, visitor)?;
                tx.set_visitor_blocked(visitor_id, *blocked)?;
                let kind = if *blocked {
                    "visitor_blocked"
                } else {
                    "visitor_unblocked"
                };
                let dialog_id = tx.latest_dialog_of_visitor(visitor_id)?;
                tx.log_event(dialog_id, None, None, kind, &serde_json::Value::Null)?;
            }
            InboundEvent::Echo(m) => {
                store_echo(&mut tx, channel.id, m, now)?;
            }
            InboundEvent::Status {
                external_id,
                status,
                at: _,
                error,
            } => {
                tx.apply_status(channel.id, external_id, *status, error.as_deref())?;
            }
            InboundEvent::StatusUpTo {
                visitor,
                status,
                until,
            } => {
                tx.apply_status_up_to(channel.id, &visitor.external_id, *status, *until)?;
            }
            InboundEvent::SentConfirmed { key, external_id } => {
                if let Some(message_id) = crate::outbound::message_of_send_key(key) {
                    if let Some(dialog_id) = tx.confirm_send(channel.id, message_id, external_id)? {
                        tx.log_event(
                            Some(dialog_id),
                            Some(message_id),
                            None,
                            "delivery_confirmed",
                            &json!({"external_id": external_id}),
                        )?;
                    }
                }
            }
            InboundEvent::ConversationStarted { visitor, context } => {
                let (visitor_id, created) = tx.upsert_visitor_as(channel.id, visitor, false)?;
                let dialog_id = tx.latest_dialog_of_visitor(visitor_id)?;
                tx.log_event(
                    dialog_id,
                    None,
                    None,
                    "conversation_started",
                    &json!({"visitor_id": visitor_id, "new_visitor": created, "context": context}),
                )?;
                push_unique(&mut result.visitor_ids, visitor_id);
            }
        }
    }
    tx.commit()?;
    Ok(result)
}

/// Stores a visitor's message in their open dialog (opened if needed); None when the channel
/// already has a message with this id.
fn store_message<Q: Queryable>(
    tx: &mut Db<'_, Q>,
    channel_id: ChannelId,
    m: &InboundMessage,
    fetched: &[FetchedFile],
    now: Timestamp,
    result: &mut StoredInbound,
) -> Result<Option<MessageId>, StoreError> {
    let preview = match (m.text.is_empty(), fetched.first()) {
        (true, Some(f)) => format!("📎 {}", f.name),
        _ => m.text.clone(),
    };
    let (visitor_id, _) = tx.upsert_visitor(channel_id, &m.visitor)?;
    let (dialog_id, opening) = tx.dialog_for_inbound(
        channel_id,
        visitor_id,
        m.start_payload.as_deref(),
        &preview,
        now,
    )?;
    let message = NewInboundMessage {
        channel_id,
        dialog_id,
        external_id: &m.external_id,
        text: &m.text,
        sent_at: m.sent_at,
    };
    let Some(message_id) = tx.insert_inbound_message(&message)? else {
        return Ok(None);
    };
    for f in fetched {
        let error_message = f.error.as_ref().map(|e| e.to_string());
        tx.insert_attachment(
            Some(message_id),
            &NewAttachment {
                name: &f.name,
                mime: &f.mime,
                size: f.size,
                sha256: f.sha256.as_deref(),
                file_ref: Some(&f.file_ref),
                error_code: f.error.as_ref().map(|e| e.code()),
                error_message: error_message.as_deref(),
            },
        )?;
    }
    let opened = match opening {
        DialogOpening::Existing => None,
        DialogOpening::New => Some("dialog_opened"),
        DialogOpening::Reopened => Some("dialog_reopened"),
    };
    if let Some(kind) = opened {
        tx.log_event(
            Some(dialog_id),
            Some(message_id),
            None,
            kind,
            &json!({"source": m.start_payload}),
        )?;
        result.opened_dialogs.push(OpenedDialog {
            dialog_id,
            visitor_id,
            reopened: opening == DialogOpening::Reopened,
        });
    }
    result.message_ids.push(message_id);
    push_unique(&mut result.visitor_ids, visitor_id);
    push_unique(&mut result.dialog_ids, dialog_id);
    Ok(Some(message_id))
}

/// Records a lone digit as the rating of the visitor's closed dialog, when one was asked within
/// the window; true when the message was taken as a rating (or is a redelivery of one).
fn take_rating(
    rt: &Runtime,
    tx: &mut Db<'_, mysql::Transaction<'_>>,
    channel_id: ChannelId,
    m: &InboundMessage,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let Some(rating) = team::lone_rating(&m.text, !m.files.is_empty()) else {
        return Ok(false);
    };
    let settings = rt.cached_settings();
    if !settings.rating.enabled {
        return Ok(false);
    }
    let key = format!("rating:{}", m.external_id);
    if tx.delivery_seen(channel_id, &key)? {
        return Ok(true); // this very digit was taken as a rating before: a redelivery
    }
    let Some(visitor_id) = tx.visitor_id(channel_id, &m.visitor.external_id)? else {
        return Ok(false);
    };
    let window = i64::from(settings.rating.window_minutes) * 60_000;
    let Some(dialog_id) =
        tx.dialog_awaiting_rating(visitor_id, Timestamp(now.millis() - window))?
    else {
        return Ok(false);
    };
    // The message's own id makes a redelivery of the same digit a no-op.
    if tx.claim_delivery(channel_id, &key)? && tx.set_rating(dialog_id, rating, now)? {
        tx.log_event(
            Some(dialog_id),
            None,
            None,
            "rated",
            &json!({"rating": rating}),
        )?;
    }
    Ok(true)
}

/// Stores a message our side sent outside the inbox as outgoing, in the visitor's open dialog.
/// Text only: the files of such messages stay with the messenger.
fn store_echo<Q: Queryable>(
    tx: &mut Db<'_, Q>,
    channel_id: ChannelId,
    m: &InboundMessage,
    now: Timestamp,
) -> Result<Option<MessageId>, StoreError> {
    // Our own sends come back too: already stored under this id, nothing to do.
    if tx.message_exists(channel_id, &m.external_id)? {
        return Ok(None);
    }
    let text = match (m.text.is_empty(), m.files.first()) {
        (true, Some(f)) => format!("📎 {}", f.name.as_deref().unwrap_or("file")),
        _ => m.text.clone(),
    };
    let (visitor_id, _) = tx.upsert_visitor_as(channel_id, &m.visitor, false)?;
    // Into the visitor's latest dialog, even a closed one (our side wrote, the visitor did not:
    // nothing to reopen or hand out); a dialog is opened only for a visitor who has none.
    let dialog_id = match tx.latest_dialog_of_visitor(visitor_id)? {
        Some(id) => {
            tx.touch_dialog_outbound(id, &text, now)?;
            id
        }
        None => tx.dialog_for_echo(channel_id, visitor_id, &text, now)?.0,
    };
    let id = tx.insert_echo_message(channel_id, dialog_id, &m.external_id, &text, m.sent_at)?;
    if let Some(id) = id {
        tx.log_event(
            Some(dialog_id),
            Some(id),
            None,
            "sent_outside_inbox",
            &serde_json::Value::Null,
        )?;
    }
    Ok(id)
}

fn push_unique(ids: &mut Vec<VisitorId>, id: VisitorId) {
    if !ids.contains(&id) {
        ids.push(id);
    }
}

/// Loads a visitor's name and avatar from the messenger when they are missing (or always, with
/// `force`). A failed lookup is recorded and tried again a day later.
pub fn refresh_visitor_profile(
    rt: &Runtime,
    db: &mut Db<PooledConn>,
    provider: &dyn Provider,
    ctx: &ProviderContext,
    visitor_id: VisitorId,
    force: bool,
) -> Result<()> {
    load_visitor_profile(rt, db, provider, ctx, visitor_id, force, &[])
}

/// Who an event is about, as the messenger described them.
fn visitor_of(event: &InboundEvent) -> Option<&VisitorProfile> {
    match event {
        InboundEvent::Message(m) | InboundEvent::Echo(m) => Some(&m.visitor),
        InboundEvent::Edited { visitor, .. }
        | InboundEvent::VisitorBlocked { visitor, .. }
        | InboundEvent::StatusUpTo { visitor, .. }
        | InboundEvent::ConversationStarted { visitor, .. } => Some(visitor),
        InboundEvent::Status { .. } | InboundEvent::SentConfirmed { .. } => None,
    }
}

/// [`refresh_visitor_profile`], taking the name and picture from `carried` (what the webhook
/// said about the visitor) when it has them.
fn load_visitor_profile(
    rt: &Runtime,
    db: &mut Db<PooledConn>,
    provider: &dyn Provider,
    ctx: &ProviderContext,
    visitor_id: VisitorId,
    force: bool,
    carried: &[&VisitorProfile],
) -> Result<()> {
    if !force {
        // Each process looks in the database at most once every few minutes per visitor.
        if !rt.profile_check_due(visitor_id) {
            return Ok(());
        }
        let tried_before = Timestamp(Timestamp::now().millis() - PROFILE_RETRY_MS);
        if !db.claim_profile_check(visitor_id, tried_before)? {
            return Ok(());
        }
    }
    let visitor = db.visitor(visitor_id)?;
    let carried = carried
        .iter()
        .find(|p| p.external_id == visitor.external_id && p.avatar.is_some());
    let lookup = match carried {
        Some(p) => Ok(UserInfo {
            profile: Some((*p).clone()),
            avatar: p.avatar.clone(),
        }),
        None => provider.user_info(ctx, &visitor.external_id),
    };
    let info = match lookup {
        Ok(info) => info,
        Err(e) => {
            db.set_visitor_profile(visitor_id, None, None)?;
            return Err(Error::Provider(e));
        }
    };
    let mut avatar_id = None;
    if let Some(file) = info
        .avatar
        .as_ref()
        .filter(|_| force || visitor.avatar_attachment_id.is_none())
    {
        let fetched = fetch_file(rt, provider, ctx, file);
        if let Some(sha256) = fetched.sha256.as_deref() {
            let attachment = NewAttachment {
                name: &fetched.name,
                mime: &fetched.mime,
                size: fetched.size,
                sha256: Some(sha256),
                file_ref: Some(&fetched.file_ref),
                error_code: None,
                error_message: None,
            };
            avatar_id = Some(db.insert_attachment(None, &attachment)?);
        }
    }
    let profile = info
        .profile
        .as_ref()
        .filter(|_| force || visitor.name.is_empty());
    db.set_visitor_profile(visitor_id, profile, avatar_id)?;
    Ok(())
}
