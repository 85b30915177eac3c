//! Realtime and the site widget: `events.poll` for operators' consoles and `widget.*` for
//! visitors on a website. Both wait a bounded time for something new (long polling), checking
//! cheap primary-key maxima a few times a second, so a PHP worker is never held for long.

use std::time::{Duration, Instant};

use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{of_message, parse, Crmchats};
use crate::error::{Error, Result};
use crate::model::{MessageId, OperatorId};
use mysql::PooledConn;

use crate::store::{AttachmentRow, Db, EventRow, IdSet, MessageRow, StoreResult, Viewer};
use crate::stream::{Stream, StreamCursor, MAX_GAP_SCAN};
use crate::team;
use crate::time::Timestamp;
use crate::widget::{self, Upload};

/// Longest a poll waits: below PHP's and proxies' usual timeouts.
const MAX_WAIT: Duration = Duration::from_secs(25);
/// How often a waiting poll looks.
const POLL_STEP: Duration = Duration::from_millis(200);
const POLL_LIMIT: usize = 200;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PollJson {
    operator_id: OperatorId,
    cursor: Option<String>,
    timeout_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WidgetStartJson {
    channel_id: i64,
    visitor_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WidgetFileJson {
    data_base64: String,
    name: Option<String>,
    mime: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WidgetSendJson {
    channel_id: i64,
    visitor_token: String,
    #[serde(default)]
    text: String,
    name: Option<String>,
    #[serde(default)]
    attachments: Vec<WidgetFileJson>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WidgetMessagesJson {
    channel_id: i64,
    visitor_token: String,
    after_id: Option<MessageId>,
    /// What the last answer returned; takes the place of `after_id`.
    cursor: Option<String>,
    timeout_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WidgetAttachmentJson {
    channel_id: i64,
    visitor_token: String,
    attachment_id: i64,
}

/// A row of a stream, by its id.
trait StreamRow {
    fn id(&self) -> i64;
}

impl StreamRow for MessageRow {
    fn id(&self) -> i64 {
        self.id
    }
}

impl StreamRow for EventRow {
    fn id(&self) -> i64 {
        self.id
    }
}

/// One step of a stream up to `top`: the rows of gaps that have since been filled (their
/// transactions committed), then the new ones after the cursor; `fetch` reads the rows of an id
/// set that the reader may see. The cursor moves on, noting the ids below it that do not exist
/// yet; a full page of new rows stops it at the page's last row, so the rest comes next time.
fn follow<R: StreamRow>(
    db: &mut Db<PooledConn>,
    cursor: &mut StreamCursor,
    stream: Stream,
    top: i64,
    now_secs: i64,
    mut fetch: impl FnMut(&mut Db<PooledConn>, IdSet) -> StoreResult<Vec<R>>,
) -> Result<Vec<R>> {
    let gaps = cursor.gaps(stream);
    let late = match gaps.is_empty() {
        true => Vec::new(),
        false => db.existing_ids(stream, IdSet::Only(&gaps))?,
    };
    let from = cursor.top(stream);
    if top <= from && late.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows = fetch(db, IdSet::Only(&late))?;
    cursor.filled(stream, &late);
    let fresh = fetch(
        db,
        IdSet::Range {
            after: from,
            upto: top,
        },
    )?;
    let upto = match fresh.last() {
        Some(last) if fresh.len() == POLL_LIMIT => last.id(),
        _ => top,
    };
    let present = if upto > from && upto - from <= MAX_GAP_SCAN {
        db.existing_ids(stream, IdSet::Range { after: from, upto })?
    } else {
        Vec::new()
    };
    cursor.advance(stream, upto, &present, now_secs);
    rows.extend(fresh);
    Ok(rows)
}

fn wait_limit(timeout_ms: Option<u64>) -> Duration {
    Duration::from_millis(timeout_ms.unwrap_or(0)).min(MAX_WAIT)
}

impl Crmchats {
    pub(super) fn live_call(&self, method: &str, params: &Value) -> Option<Result<Value>> {
        Some(match method {
            "events.poll" => self.events_poll(params),
            "widget.start" => self.widget_start(params),
            "widget.send" => self.widget_send(params),
            "widget.messages" => self.widget_messages(params),
            "widget.attachment" => self.widget_attachment(params),
            _ => return None,
        })
    }

    /// New messages and history events an operator may see since `cursor`; waits up to
    /// `timeout_ms` (≤ 25 s) for the first. Without a cursor: the current one, at once. Rows
    /// that commit after higher ids were shown still come (see `crate::stream`).
    fn events_poll(&self, params: &Value) -> Result<Value> {
        let p: PollJson = parse("events.poll", params)?;
        let mut db = self.rt.store.db()?;
        let actor = team::actor(&mut db, p.operator_id)?;
        let Some(cursor) = p.cursor.as_deref().filter(|c| !c.is_empty()) else {
            let (m, e) = db.latest_ids()?;
            return Ok(
                json!({"cursor": StreamCursor::new(m, e).to_string(), "messages": [], "events": [], "dialog_ids": []}),
            );
        };
        let mut cursor = StreamCursor::parse(cursor)?;
        let viewer = Viewer {
            id: actor.id(),
            is_admin: actor.is_admin(),
            is_operator: actor.is_operator,
        };
        let deadline = Instant::now() + wait_limit(p.timeout_ms);
        loop {
            let now_secs = Timestamp::now().millis() / 1000;
            cursor.expire(now_secs);
            let (top_m, top_e) = db.latest_ids()?;
            let messages = follow(
                &mut db,
                &mut cursor,
                Stream::Messages,
                top_m,
                now_secs,
                |db, ids| db.messages_for_operator(ids, viewer, POLL_LIMIT),
            )?;
            let events = follow(
                &mut db,
                &mut cursor,
                Stream::Events,
                top_e,
                now_secs,
                |db, ids| db.events_for_operator(ids, viewer, POLL_LIMIT),
            )?;
            if !messages.is_empty() || !events.is_empty() {
                return self.poll_answer(&mut db, &cursor, &messages, &events);
            }
            // Nothing new, or only changes this operator may not see: keep waiting from the new
            // position.
            if Instant::now() >= deadline {
                return Ok(
                    json!({"cursor": cursor.to_string(), "messages": [], "events": [], "dialog_ids": []}),
                );
            }
            std::thread::sleep(POLL_STEP);
        }
    }

    fn poll_answer(
        &self,
        db: &mut Db<PooledConn>,
        cursor: &StreamCursor,
        messages: &[MessageRow],
        events: &[EventRow],
    ) -> Result<Value> {
        let mut dialog_ids: Vec<i64> = messages
            .iter()
            .map(|m| m.dialog_id)
            .chain(events.iter().filter_map(|e| e.dialog_id))
            .collect();
        dialog_ids.sort_unstable();
        dialog_ids.dedup();
        let ids: Vec<i64> = messages.iter().map(|m| m.id).collect();
        let attachments = db.attachments_of(&ids)?;
        let messages: Vec<Value> = messages
            .iter()
            .map(|m| self.message_json(m, &of_message(&attachments, m)))
            .collect();
        let events: Vec<Value> = events
            .iter()
            .map(|e| {
                json!({"id": e.id, "dialog_id": e.dialog_id, "kind": e.kind, "message_id": e.message_id,
                       "operator_id": e.operator_id, "data": e.data, "at": e.at.to_rfc3339()})
            })
            .collect();
        Ok(json!({
            "cursor": cursor.to_string(),
            "messages": messages,
            "events": events,
            "dialog_ids": dialog_ids,
        }))
    }

    /// A widget session: the visitor's token (new, or the one the widget kept, checked).
    fn widget_start(&self, params: &Value) -> Result<Value> {
        let p: WidgetStartJson = parse("widget.start", params)?;
        let channel = widget::channel(&self.rt, p.channel_id)?;
        let token = match p.visitor_token.filter(|t| !t.is_empty()) {
            Some(t) => match widget::verify_token(&channel, &t) {
                Ok(_) => t,
                // A token of another channel or a changed secret: a fresh start, not an error.
                Err(_) => widget::new_token(&channel),
            },
            None => widget::new_token(&channel),
        };
        let title = channel
            .settings
            .get("title")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .unwrap_or(&channel.name)
            .to_string();
        Ok(
            json!({"channel_id": channel.id, "visitor_token": token, "title": title,
                  "allowed_origins": channel.settings.get("allowed_origins")}),
        )
    }

    fn widget_send(&self, params: &Value) -> Result<Value> {
        let p: WidgetSendJson = parse("widget.send", params)?;
        let channel = widget::channel(&self.rt, p.channel_id)?;
        let visitor = widget::verify_token(&channel, &p.visitor_token)?;
        let mut uploads = Vec::with_capacity(p.attachments.len());
        for (i, a) in p.attachments.into_iter().enumerate() {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(a.data_base64.trim())
                .map_err(|e| Error::invalid(&format!("attachments[{i}].data_base64"), e))?;
            let name = a
                .name
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| "file".into());
            let mime = a
                .mime
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| super::mime_for_name(&name).to_string());
            uploads.push(Upload { bytes, name, mime });
        }
        let stored = widget::send(
            &self.rt,
            &channel,
            &visitor,
            p.name.as_deref(),
            &p.text,
            uploads,
        )?;
        Ok(json!({"message_ids": stored.message_ids}))
    }

    /// The visitor's conversation after `after_id`, waiting up to `timeout_ms` for something new.
    fn widget_messages(&self, params: &Value) -> Result<Value> {
        let p: WidgetMessagesJson = parse("widget.messages", params)?;
        let channel = widget::channel(&self.rt, p.channel_id)?;
        let external_id = widget::verify_token(&channel, &p.visitor_token)?;
        let mut db = self.rt.store.db()?;
        let Some(visitor_id) = db.visitor_id(channel.id, &external_id)? else {
            return Ok(json!({"messages": []})); // has not written yet
        };
        // The same cursor as a console's (messages only): a reply that commits after a later
        // one was shown still comes.
        let mut cursor = match p.cursor.as_deref().filter(|c| !c.is_empty()) {
            Some(text) => StreamCursor::parse(text)?,
            None => StreamCursor::new(p.after_id.unwrap_or(0).max(0), 0),
        };
        let deadline = Instant::now() + wait_limit(p.timeout_ms);
        loop {
            let now_secs = Timestamp::now().millis() / 1000;
            cursor.expire(now_secs);
            let (top, _) = db.latest_ids()?;
            let messages = follow(
                &mut db,
                &mut cursor,
                Stream::Messages,
                top,
                now_secs,
                |db, ids| db.visitor_messages_in(visitor_id, ids, POLL_LIMIT),
            )?;
            if !messages.is_empty() || Instant::now() >= deadline {
                let ids: Vec<i64> = messages.iter().map(|m| m.id).collect();
                let attachments = db.attachments_of(&ids)?;
                let list: Vec<Value> = messages
                    .iter()
                    .map(|m| widget_message_json(m, &of_message(&attachments, m)))
                    .collect();
                return Ok(json!({"messages": list, "cursor": cursor.to_string()}));
            }
            std::thread::sleep(POLL_STEP);
        }
    }

    fn widget_attachment(&self, params: &Value) -> Result<Value> {
        let p: WidgetAttachmentJson = parse("widget.attachment", params)?;
        let channel = widget::channel(&self.rt, p.channel_id)?;
        let external_id = widget::verify_token(&channel, &p.visitor_token)?;
        let mut db = self.rt.store.db()?;
        let hidden = || Error::NotFound(format!("attachment {} does not exist", p.attachment_id));
        let visitor_id = db
            .visitor_id(channel.id, &external_id)?
            .ok_or_else(hidden)?;
        if db.attachment_visitor(p.attachment_id)? != Some(visitor_id) {
            return Err(hidden());
        }
        let a = db.attachment(p.attachment_id)?;
        self.stored_file_json(&a).ok_or_else(hidden)
    }
}

/// A message as the visitor sees it: no internal ids, errors or delivery details.
fn widget_message_json(m: &MessageRow, attachments: &[AttachmentRow]) -> Value {
    let from = match m.author_type.as_str() {
        "visitor" => "visitor",
        "auto" => "auto",
        _ => "operator",
    };
    json!({
        "id": m.id,
        "from": from,
        "author_name": if from == "operator" { m.author_name.as_str() } else { "" },
        "text": m.text,
        "attachments": attachments.iter().filter(|a| a.sha256.is_some()).map(|a| json!({
            "id": a.id, "name": a.name, "mime": a.mime, "size": a.size,
        })).collect::<Vec<_>>(),
        "at": m.created_at.to_rfc3339(),
    })
}
