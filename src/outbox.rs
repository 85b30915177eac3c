//! Sending what the outbox holds: in order per dialog, one process per message, temporary
//! failures retried with bounded exponential backoff, permanent ones recorded as `failed`, and a
//! send whose process died mid-call left `unknown` for the operator — never resent by itself,
//! so a visitor never gets the same reply twice from our retries.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use mysql::PooledConn;

use crate::error::{Error, Result};
use crate::model::{Channel, ChannelId, DialogId, MessageId, MessageStatus, Visitor};
use crate::outbound::{deliver, record_delivery, Delivery, Outgoing, SavedFile, CAPTION_LIMIT};
use crate::providers::{Capabilities, ProviderError, SendLimits};
use crate::runtime::Runtime;
use crate::storage::StoredFile;
use crate::store::{Db, MessageRow, OutboxHead, PaceAnswer, PaceRequest, PaceScope, StoreError};
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
    /// Not sent yet: the channel's pace allows it in this many milliseconds.
    Paced(i64),
    /// Not sent: the channel is paused (the messenger is down or asked us to slow down).
    Paused,
}

/// How long a caller may wait in place for the pace to allow a send: an operator's request
/// (their reply goes out before the call returns), and each dialog of a `tick`.
pub const LIVE_PACE_WAIT: Duration = Duration::from_secs(10);
const TICK_PACE_WAIT: Duration = Duration::from_secs(5);
/// `tick` stops sending after this long; what is left goes on the next run.
const TICK_SEND_BUDGET: Duration = Duration::from_secs(20);
/// After an outage or a timeout, the channel's other sends wait this long at most before the
/// next try (the failing message itself backs off on its own schedule).
const MAX_OUTAGE_PAUSE_MS: i64 = 30_000;
/// Chat pace rows idle this long are forgotten.
const PACE_MEMORY_MS: i64 = 3600 * 1000;

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

/// Sends the dialog's due messages in order, stopping at the first that has to wait. When the
/// channel's pace asks for a wait of at most `pace_wait`, it waits here and goes on.
pub fn drain_dialog(
    rt: &Runtime,
    dialog_id: DialogId,
    now: Timestamp,
    pace_wait: Duration,
) -> Result<u64> {
    let started = Instant::now();
    let mut sent = 0;
    loop {
        let mut db = rt.store.db()?;
        let Some(head) = db.outbox_head(dialog_id)? else {
            return Ok(sent);
        };
        // Another process is sending the head, or it is not due yet: the rest waits behind it.
        if head.state != "pending" || head.next_attempt_at > now.max(Timestamp::now()) {
            return Ok(sent);
        }
        let claim = Timestamp::now();
        if !db.claim_send(head.message_id, claim)? {
            return Ok(sent);
        }
        drop(db);
        match attempt(rt, &head, claim, now)? {
            Attempt::Finished => sent += 1,
            Attempt::Retrying | Attempt::Paused => return Ok(sent),
            Attempt::Paced(ms) => {
                let wait = Duration::from_millis(ms.max(1) as u64);
                if started.elapsed() + wait > pace_wait {
                    return Ok(sent);
                }
                std::thread::sleep(wait);
            }
        }
    }
}

/// The message's load on the messenger: (messages, calls) its text parts and files take. The
/// text rides as the first file's caption when it fits (as `deliver` sends it).
fn send_cost(text: &str, files: usize, max_text_chars: usize, calls_per_file: u32) -> (i64, i64) {
    let chars = text.chars().count();
    let text_calls = if chars == 0 || (files > 0 && chars <= CAPTION_LIMIT) {
        0
    } else {
        chars.div_ceil(max_text_chars.max(1))
    };
    let messages = (text_calls + files).max(1) as i64;
    let calls = (text_calls + files * calls_per_file.max(1) as usize).max(1) as i64;
    (messages, calls)
}

/// The limits one send must fit: the channel's pace (always read, for pauses) and the chat's.
fn pace_requests(limits: &SendLimits, chat: &str, messages: i64, calls: i64) -> Vec<PaceRequest> {
    let mut requests = vec![match limits.per_account {
        Some(rate) => PaceRequest {
            scope: PaceScope::Channel,
            interval_ms: rate.interval_ms.into(),
            burst: rate.burst.into(),
            cost: calls,
        },
        None => PaceRequest {
            scope: PaceScope::Channel,
            interval_ms: 0,
            burst: 1,
            cost: 1,
        },
    }];
    if let Some(rate) = limits.per_chat {
        requests.push(PaceRequest {
            scope: PaceScope::Chat(chat.to_string()),
            interval_ms: rate.interval_ms.into(),
            burst: rate.burst.into(),
            cost: messages,
        });
    }
    requests
}

/// What a claimed send needs for the messenger call.
struct Prepared {
    message: MessageRow,
    channel: Channel,
    visitor: Visitor,
    files: Vec<SavedFile>,
    capabilities: Capabilities,
    /// When the pace gave this send its turn (None for a deleted channel: no call is made).
    reserved_at_ms: Option<i64>,
}

/// One claimed send: its turn under the channel's pace, then the messenger call, then the
/// outcome recorded.
fn attempt(rt: &Runtime, head: &OutboxHead, claim: Timestamp, now: Timestamp) -> Result<Attempt> {
    let prepared = match prepare(rt, head, claim, now) {
        Ok(Ok(prepared)) => prepared,
        Ok(Err(not_yet)) => return Ok(not_yet),
        Err(e) => {
            // Nothing reached the messenger: the claim is given back with the attempt counted,
            // so a failure that keeps coming backs off and in the end gives up, instead of
            // blocking the dialog or waiting to be declared unknown.
            if let Err(release) = give_claim_back(rt, head, claim, &e) {
                log::error!(
                    "message {}: giving the claim back: {release}",
                    head.message_id
                );
            }
            return Err(e);
        }
    };
    call_and_record(rt, head, now, prepared)
}

fn give_claim_back(rt: &Runtime, head: &OutboxHead, claim: Timestamp, e: &Error) -> Result<()> {
    let mut db = rt.store.db()?;
    let attempts = head.attempts + 1;
    if attempts < MAX_ATTEMPTS {
        let next = Timestamp(Timestamp::now().millis() + backoff_ms(attempts, None));
        db.retry_claim(head.message_id, claim, next, &e.to_string())?;
    } else if db.finish_claim(head.message_id, claim)? {
        db.set_message_failed(
            head.message_id,
            e.code(),
            &format!("gave up after {attempts} attempts: {e}"),
            None,
        )?;
    }
    Ok(())
}

/// Loads the message and takes its turn under the channel's pace (or says when to come back).
fn prepare(
    rt: &Runtime,
    head: &OutboxHead,
    claim: Timestamp,
    now: Timestamp,
) -> Result<std::result::Result<Prepared, Attempt>> {
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

    let capabilities = rt.provider(&channel)?.capabilities();
    let mut reserved_at = None;
    if channel.active {
        let limits = capabilities.send_limits;
        let (messages, calls) = send_cost(
            &message.text,
            files.len(),
            capabilities.max_text_chars,
            limits.calls_per_file,
        );
        // An operator's fresh reply may use the burst; automatic messages and retries keep to
        // the steady pace, so they never take the room a live reply needs.
        // A dialog whose operator waits on a fresh reply counts as live even when an automatic
        // message or a retry is ahead of it, so the reply is not held back behind them.
        let live = (head.priority == 0 && head.attempts == 0) || head.live_behind;
        let requests = pace_requests(&limits, &visitor.external_id, messages, calls);
        db.ensure_pace_rows(channel.id, &requests)?;
        let answer = reserve_with_retry(&mut db, channel.id, &requests, live, now)?;
        match answer {
            PaceAnswer::Go { at_ms } => reserved_at = Some(at_ms),
            PaceAnswer::Wait(ms) => {
                db.release_claim(message.id, claim, Timestamp(Timestamp::now().millis() + ms))?;
                return Ok(Err(Attempt::Paced(ms)));
            }
            PaceAnswer::Paused { until_ms, reason } => {
                let until = Timestamp(until_ms);
                db.release_claim(message.id, claim, until)?;
                db.set_message_waiting(
                    message.id,
                    "channel_paused",
                    &format!(
                        "waiting: the channel's sends are paused until {} ({reason})",
                        until.to_rfc3339()
                    ),
                    None,
                )?;
                return Ok(Err(Attempt::Paused));
            }
        }
    }
    Ok(Ok(Prepared {
        message,
        channel,
        visitor,
        files,
        capabilities,
        reserved_at_ms: reserved_at,
    }))
}

/// MariaDB's "deadlock found" and "lock wait timeout": the reservation is simply tried again.
const DEADLOCK: u16 = 1213;
const LOCK_WAIT_TIMEOUT: u16 = 1205;

fn reserve_with_retry(
    db: &mut Db<PooledConn>,
    channel_id: ChannelId,
    requests: &[PaceRequest],
    live: bool,
    now: Timestamp,
) -> Result<PaceAnswer> {
    let mut tries = 0;
    loop {
        tries += 1;
        let result = (|| {
            let mut tx = db.begin()?;
            let wall = Timestamp::now().millis();
            let answer = tx.reserve_send(channel_id, requests, live, wall, now.millis())?;
            tx.commit()?;
            Ok::<_, StoreError>(answer)
        })();
        match result {
            Err(StoreError::Db(mysql::Error::MySqlError(e)))
                if tries < 5 && (e.code == DEADLOCK || e.code == LOCK_WAIT_TIMEOUT) => {}
            other => return Ok(other?),
        }
    }
}

/// The messenger call and its outcome, for a send that has its turn.
fn call_and_record(
    rt: &Runtime,
    head: &OutboxHead,
    now: Timestamp,
    prepared: Prepared,
) -> Result<Attempt> {
    let Prepared {
        message,
        channel,
        visitor,
        files,
        ..
    } = &prepared;

    crate::http::watch_request_bytes();
    let delivery = if channel.active {
        rt.with_provider(channel, |provider, ctx| {
            deliver(
                rt,
                provider,
                ctx,
                &Outgoing {
                    channel,
                    message_id: message.id,
                    to: &visitor.external_id,
                    text: &message.text,
                    files,
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

    let delivery = settle_uncertain(delivery, crate::http::request_bytes_sent());
    let real_now = Timestamp::now().millis();
    // The messenger is down, slow, or asks us to slow down: the channel's other sends wait in
    // the outbox instead of each running into it. Set after the outcome is recorded.
    let pause = delivery
        .error
        .as_ref()
        .filter(|e| e.is_temporary())
        .map(|e| {
            let pause_ms = match e {
                ProviderError::RateLimited { .. } => backoff_ms(1, e.retry_after().or(Some(5))),
                _ => backoff_ms(head.attempts, None).min(MAX_OUTAGE_PAUSE_MS),
            };
            (real_now + pause_ms, e.to_string())
        });
    let outcome = record_outcome(rt, head, now, &prepared, delivery);
    let paced = rt
        .store
        .db()
        .and_then(|mut db| match (&pause, prepared.reserved_at_ms) {
            (Some((until_ms, why)), _) => db.pause_channel(channel.id, *until_ms, why),
            (None, Some(at_ms)) => db.end_channel_pause(channel.id, at_ms),
            (None, None) => Ok(()),
        });
    if let Err(e) = paced {
        log::error!("channel {}: updating its pause: {e}", channel.id);
    }
    outcome
}

/// A failure that looked uncertain (a reset, a timeout) while not one request byte got past the
/// connection (a TLS handshake cut by the network, a proxy that hung): nothing can have reached
/// the messenger, so it is an outage, retried like one.
fn settle_uncertain(delivery: Delivery, request_bytes_sent: bool) -> Delivery {
    match delivery {
        Delivery {
            first_id: None,
            error: Some(ProviderError::Uncertain(why)),
        } if !request_bytes_sent => Delivery::failed(ProviderError::Unavailable(format!(
            "{why} (before any of the request was sent)"
        ))),
        other => other,
    }
}

/// Stores what the messenger call came to: sent, retried later, unknown or failed.
fn record_outcome(
    rt: &Runtime,
    head: &OutboxHead,
    now: Timestamp,
    prepared: &Prepared,
    delivery: Delivery,
) -> Result<Attempt> {
    let Prepared {
        message,
        channel,
        visitor,
        capabilities,
        ..
    } = prepared;
    let mut db = rt.store.db()?;
    let real_now = Timestamp::now().millis();
    if let (None, Some(e)) = (&delivery.first_id, &delivery.error) {
        let age = now.millis() - head.created_at.millis();
        let retry = e.is_temporary() && head.attempts < MAX_ATTEMPTS && age < GIVE_UP_AFTER_MS;
        // The call may have reached the messenger: a messenger that drops repeated keys is
        // asked again (while tries are left); for the others the operator decides, so the
        // visitor never gets it twice.
        let uncertain = matches!(e, ProviderError::Uncertain(_));
        // The messenger's webhook confirmed this very send while its answer was lost: sent.
        let confirmed = match uncertain {
            true => db.confirmed_external_id(message.id)?,
            false => None,
        };
        if let Some(external_id) = confirmed {
            drop(db);
            let delivery = Delivery {
                first_id: Some(external_id),
                error: None,
            };
            record_delivery(rt, channel, message.id, visitor.id, &delivery)?;
            rt.store.db()?.finish_send(message.id)?;
            return Ok(Attempt::Finished);
        }
        if uncertain && !(capabilities.idempotent_sends && retry) {
            let why = format!(
                "{e}. It may have reached the visitor: check with them, then resend if needed"
            );
            db.mark_send_unknown(message.id, &why)?;
            db.set_message_unknown(message.id, &why)?;
            rt.store
                .mark_channel_error(channel.id, Timestamp::now(), &e.to_string())?;
            return Ok(Attempt::Finished);
        }
        if retry {
            let next = Timestamp(real_now + backoff_ms(head.attempts, e.retry_after()));
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
        } if e.is_temporary() => Delivery::failed(ProviderError::Unavailable(format!(
            "gave up after {} attempts: {e}",
            head.attempts
        ))),
        other => other,
    };
    drop(db);
    record_delivery(rt, channel, message.id, visitor.id, &delivery)?;
    rt.store.db()?.finish_send(message.id)?;
    Ok(Attempt::Finished)
}

/// The outbox part of `tick`: sends claimed by processes that died are marked unknown, then
/// every dialog with something due is drained, the most urgent first, for at most
/// `TICK_SEND_BUDGET`.
pub fn run(rt: &Runtime, now: Timestamp) -> Result<Value> {
    let started = Instant::now();
    let mut db = rt.store.db()?;
    let abandoned = db.abandon_stale_sends(Timestamp(now.millis() - STALE_CLAIM_MS))?;
    for id in &abandoned {
        // A send the messenger confirmed by webhook meanwhile did arrive.
        if let Some(external_id) = db.confirmed_external_id(*id)? {
            db.set_message_sent(*id, &external_id, None)?;
            db.finish_send(*id)?;
            continue;
        }
        db.set_message_unknown(
            *id,
            "the sending process stopped during the messenger call: check with the visitor whether it arrived, then resend if needed",
        )?;
    }
    if let Err(e) = db.prune_send_pace(Timestamp::now().millis() - PACE_MEMORY_MS) {
        log::warn!("pruning the send pace: {e}");
    }
    let dialogs = db.due_dialogs(now, 100)?;
    drop(db);
    let mut sent = 0;
    let mut left = 0;
    let mut errors = 0;
    for dialog_id in dialogs {
        let remaining = TICK_SEND_BUDGET.saturating_sub(started.elapsed());
        if remaining.is_zero() {
            left += 1;
            continue;
        }
        // One dialog's trouble does not hold up the others.
        match drain_dialog(rt, dialog_id, now, TICK_PACE_WAIT.min(remaining)) {
            Ok(n) => sent += n,
            Err(e) => {
                errors += 1;
                log::error!("dialog {dialog_id}: sending from the outbox: {e}");
            }
        }
    }
    Ok(json!({"sent": sent, "unknown": abandoned.len(), "dialogs_left": left, "errors": errors}))
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
    drain_dialog(rt, message.dialog_id, now, LIVE_PACE_WAIT)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_uncertain_failure_with_no_request_byte_out_is_an_outage() {
        let timed_out = || Delivery::failed(ProviderError::Uncertain("timeout: global".into()));
        let settled = settle_uncertain(timed_out(), false);
        assert!(matches!(settled.error, Some(ProviderError::Unavailable(_))));
        let settled = settle_uncertain(timed_out(), true);
        assert!(matches!(settled.error, Some(ProviderError::Uncertain(_))));
    }

    #[test]
    fn a_message_costs_its_text_parts_and_files() {
        // A short text: one message, one call.
        assert_eq!(send_cost("привет", 0, 4096, 3), (1, 1));
        // 9000 characters go in three parts.
        assert_eq!(send_cost(&"я".repeat(9000), 0, 4096, 1), (3, 3));
        // A caption rides with the first file; a VK file costs three calls.
        assert_eq!(send_cost("подпись", 2, 4096, 3), (2, 6));
        // A text too long for a caption goes first, on its own.
        assert_eq!(send_cost(&"я".repeat(2000), 1, 4096, 1), (2, 2));
        // Nothing at all still takes a turn.
        assert_eq!(send_cost("", 0, 4096, 1), (1, 1));
    }

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
