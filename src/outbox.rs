//! Sending what the outbox holds: in order per dialog, one process per message, temporary
//! failures retried with bounded exponential backoff, permanent ones recorded as `failed`, and a
//! send whose process died mid-call left `unknown` for the operator — never resent by itself,
//! so a visitor never gets the same reply twice from our retries.

use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::model::{DialogId, MessageId, MessageStatus};
use crate::outbound::{deliver, record_delivery, Delivery, Outgoing, SavedFile};
use crate::providers::ProviderError;
use crate::runtime::Runtime;
use crate::storage::StoredFile;
use crate::store::OutboxHead;
use crate::time::Timestamp;

/// Tries per message before it is given up as failed.
const MAX_ATTEMPTS: i64 = 12;
/// A reply older than this is not worth sending any more.
const GIVE_UP_AFTER_MS: i64 = 24 * 3600 * 1000;
const FIRST_BACKOFF_MS: i64 = 10_000;
const MAX_BACKOFF_MS: i64 = 30 * 60 * 1000;
/// A claim older than this belongs to a process that died (uploads take at most ~5 minutes).
const STALE_CLAIM_MS: i64 = 15 * 60 * 1000;

/// What one attempt came to.
enum Attempt {
    Finished,
    /// Temporarily failed: the dialog's later messages wait behind it.
    Retrying,
}

/// Wait before attempt `attempts + 1`: 10 s, 20 s, 40 s… up to 30 minutes; the messenger's own
/// `retry_after` when it gives one.
fn backoff_ms(attempts: i64, retry_after: Option<u64>) -> i64 {
    let exp = FIRST_BACKOFF_MS.saturating_mul(1 << attempts.clamp(1, 20).saturating_sub(1));
    let backoff = exp.min(MAX_BACKOFF_MS);
    match retry_after {
        Some(secs) => (secs as i64 * 1000).clamp(1000, MAX_BACKOFF_MS),
        None => backoff,
    }
}

fn is_temporary(e: &ProviderError) -> bool {
    matches!(
        e,
        ProviderError::Unavailable(_) | ProviderError::RateLimited { .. }
    )
}

/// Sends the dialog's due messages in order, stopping at the first that has to wait.
pub fn drain_dialog(rt: &Runtime, dialog_id: DialogId, now: Timestamp) -> Result<u64> {
    let mut sent = 0;
    loop {
        let mut db = rt.store.db()?;
        let Some(head) = db.outbox_head(dialog_id)? else {
            return Ok(sent);
        };
        // Another process is sending the head, or it is not due yet: the rest waits behind it.
        if head.state != "pending" || head.next_attempt_at > now {
            return Ok(sent);
        }
        if !db.claim_send(head.message_id, Timestamp::now())? {
            return Ok(sent);
        }
        drop(db);
        match attempt(rt, &head, now)? {
            Attempt::Finished => sent += 1,
            Attempt::Retrying => return Ok(sent),
        }
    }
}

/// One claimed send: the messenger is called, the outcome recorded.
fn attempt(rt: &Runtime, head: &OutboxHead, now: Timestamp) -> Result<Attempt> {
    let mut db = rt.store.db()?;
    let message = db.message(head.message_id)?;
    let channel = db.channel(message.channel_id)?;
    let visitor = db.visitor(message.visitor_id)?;
    let files: Vec<SavedFile> = db
        .attachments_of(&[message.id])?
        .into_iter()
        .filter_map(|a| {
            Some(SavedFile {
                stored: StoredFile {
                    sha256: a.sha256?,
                    size: a.size,
                },
                name: a.name,
                mime: a.mime,
                attachment_id: a.id,
            })
        })
        .collect();
    // No connection is held through the messenger call (uploads can be slow).
    drop(db);

    let delivery = if channel.active {
        rt.with_provider(&channel, |provider, ctx| {
            deliver(
                rt,
                provider,
                ctx,
                &Outgoing {
                    channel: &channel,
                    message_id: message.id,
                    to: &visitor.external_id,
                    text: &message.text,
                    files: &files,
                },
            )
        })
        .unwrap_or_else(|e| Delivery::failed(ProviderError::Unsupported(e.to_string())))
    } else {
        Delivery::failed(ProviderError::Rejected(format!(
            "channel `{}` was deleted",
            channel.name
        )))
    };

    let mut db = rt.store.db()?;
    if let (None, Some(e)) = (&delivery.first_id, &delivery.error) {
        let age = now.millis() - head.created_at.millis();
        if is_temporary(e) && head.attempts < MAX_ATTEMPTS && age < GIVE_UP_AFTER_MS {
            let next =
                Timestamp(Timestamp::now().millis() + backoff_ms(head.attempts, e.retry_after()));
            let why = e.to_string();
            db.retry_send_at(message.id, next, &why)?;
            db.set_message_waiting(
                message.id,
                e.code(),
                &format!("{why}; trying again at {}", next.to_rfc3339()),
                e.retry_after(),
            )?;
            rt.store
                .mark_channel_error(channel.id, Timestamp::now(), &why)?;
            return Ok(Attempt::Retrying);
        }
    }
    let delivery = match delivery {
        Delivery {
            first_id: None,
            error: Some(e),
        } if is_temporary(&e) => Delivery::failed(ProviderError::Unavailable(format!(
            "gave up after {} attempts: {e}",
            head.attempts
        ))),
        other => other,
    };
    drop(db);
    record_delivery(rt, &channel, message.id, visitor.id, &delivery)?;
    rt.store.db()?.finish_send(message.id)?;
    Ok(Attempt::Finished)
}

/// The outbox part of `tick`: sends claimed by processes that died are marked unknown, then
/// every dialog with something due is drained.
pub fn run(rt: &Runtime, now: Timestamp) -> Result<Value> {
    let mut db = rt.store.db()?;
    let abandoned = db.abandon_stale_sends(Timestamp(now.millis() - STALE_CLAIM_MS))?;
    for id in &abandoned {
        db.set_message_unknown(
            *id,
            "the sending process stopped during the messenger call: check with the visitor whether it arrived, then resend if needed",
        )?;
    }
    let dialogs = db.due_dialogs(now, 100)?;
    drop(db);
    let mut sent = 0;
    for dialog_id in dialogs {
        sent += drain_dialog(rt, dialog_id, now)?;
    }
    Ok(json!({"sent": sent, "unknown": abandoned.len()}))
}

/// Queues a failed or unknown reply again, at once (the console's Resend).
pub fn resend(rt: &Runtime, message_id: MessageId) -> Result<()> {
    let mut db = rt.store.db()?;
    let message = db.message(message_id)?;
    if message.direction != crate::model::Direction::Out || message.author_type == "messenger" {
        return Err(Error::invalid(
            "message_id",
            "only our own replies can be resent",
        ));
    }
    if !matches!(
        message.status,
        MessageStatus::Failed | MessageStatus::Unknown
    ) {
        return Err(Error::invalid(
            "message_id",
            format!(
                "the message is {}: only failed or unknown ones are resent",
                message.status.as_str()
            ),
        ));
    }
    let now = Timestamp::now();
    let priority = if message.author_type == "auto" { 1 } else { 0 };
    db.enqueue(
        message.id,
        message.channel_id,
        message.dialog_id,
        priority,
        now,
    )?;
    db.set_message_waiting(message.id, "", "", None)?;
    drop(db);
    drain_dialog(rt, message.dialog_id, now)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_a_cap_and_follows_retry_after() {
        assert_eq!(backoff_ms(1, None), 10_000);
        assert_eq!(backoff_ms(2, None), 20_000);
        assert_eq!(backoff_ms(4, None), 80_000);
        assert_eq!(backoff_ms(30, None), MAX_BACKOFF_MS);
        assert_eq!(backoff_ms(1, Some(7)), 7_000);
        assert_eq!(backoff_ms(1, Some(86_400)), MAX_BACKOFF_MS);
    }
}
