//! Calls that help a team answer faster: canned replies, internal notes, tags, message search.

use serde::Deserialize;
use serde_json::{json, Value};

use super::{parse, Crmchats};
use crate::error::{Error, Result};
use crate::model::{DialogId, OperatorId};
use crate::store::{CannedReply, MessageSearch, Viewer};
use crate::team::{self, Actor};
use crate::time::Timestamp;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplyJson {
    operator_id: OperatorId,
    reply_id: Option<i64>,
    code: Option<String>,
    title: Option<String>,
    text: Option<String>,
    /// A team-wide reply (admins) rather than the operator's own.
    #[serde(default)]
    shared: bool,
    /// `replies.render`: the dialog whose visitor the variables describe.
    dialog_id: Option<DialogId>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoteJson {
    operator_id: OperatorId,
    dialog_id: DialogId,
    text: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TagJson {
    operator_id: OperatorId,
    dialog_id: DialogId,
    tag: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportJson {
    operator_id: OperatorId,
    from: String,
    to: String,
    group_by: Option<String>,
    channel_id: Option<i64>,
    /// Only dialogs assigned to this operator.
    for_operator_id: Option<OperatorId>,
    /// A dialog counts as unanswered when no operator replied within this many minutes.
    unanswered_minutes: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchJson {
    operator_id: OperatorId,
    q: String,
    channel_id: Option<i64>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<usize>,
}

fn reply_json(r: &CannedReply) -> Value {
    json!({"id": r.id, "code": r.code, "title": r.title, "text": r.text,
           "shared": r.owner_id.is_none(), "owner_id": r.owner_id})
}

/// A code is what follows `/` in the composer: letters, digits, `_` and `-`.
fn valid_code(code: &str) -> Result<String> {
    let code = code.trim().trim_start_matches('/').to_lowercase();
    let ok = (1..=64).contains(&code.chars().count())
        && code
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(code)
    } else {
        Err(Error::invalid(
            "code",
            "1-64 letters, digits, _ or - (what follows / in the composer)",
        ))
    }
}

fn valid_tag(tag: Option<&str>) -> Result<String> {
    let tag = tag.unwrap_or_default().trim().to_lowercase();
    if (1..=64).contains(&tag.chars().count()) && !tag.chars().any(char::is_control) {
        Ok(tag)
    } else {
        Err(Error::invalid("tag", "1-64 characters"))
    }
}

fn time_param(field: &str, value: Option<&str>) -> Result<Option<Timestamp>> {
    value
        .map(|v| {
            Timestamp::parse_rfc3339(v)
                .ok_or_else(|| Error::invalid(field, "an RFC 3339 time like 2026-11-01T00:00:00Z"))
        })
        .transpose()
}

impl Crmchats {
    pub(super) fn productivity_call(&self, method: &str, params: &Value) -> Option<Result<Value>> {
        Some(match method {
            "replies.list" | "replies.create" | "replies.update" | "replies.delete"
            | "replies.render" => self.replies(method, params),
            "notes.add" => self.note_add(params),
            "dialogs.tag" | "dialogs.untag" | "dialogs.tags" => self.tags(method, params),
            "messages.search" => self.messages_search(params),
            "reports.summary" => self.reports_summary(params),
            _ => return None,
        })
    }

    /// May the actor change this reply: their own, or a shared one as an admin.
    fn may_edit(actor: &Actor, reply: &CannedReply) -> Result<()> {
        match reply.owner_id {
            Some(owner) if owner == actor.id() => Ok(()),
            None if actor.is_admin() => Ok(()),
            None => Err(Error::Forbidden(
                "shared replies are managed by CRM administrators".into(),
            )),
            Some(_) => Err(Error::NotFound(format!(
                "reply {} does not exist",
                reply.id
            ))),
        }
    }

    fn replies(&self, method: &str, params: &Value) -> Result<Value> {
        let p: ReplyJson = parse(method, params)?;
        let mut db = self.rt.store.db()?;
        let actor = team::actor(&mut db, p.operator_id)?;
        let existing = |db: &mut crate::store::Db<mysql::PooledConn>| -> Result<CannedReply> {
            let id = p
                .reply_id
                .ok_or_else(|| Error::invalid("reply_id", "is required"))?;
            db.reply(id)?
                .ok_or_else(|| Error::NotFound(format!("reply {id} does not exist")))
        };
        match method {
            "replies.list" => {}
            "replies.create" => {
                if p.shared {
                    team::require_admin(&actor)?;
                }
                let code = valid_code(p.code.as_deref().unwrap_or_default())?;
                let text = p.text.as_deref().unwrap_or_default();
                if text.trim().is_empty() {
                    return Err(Error::invalid("text", "a reply needs a text"));
                }
                let owner = (!p.shared).then_some(actor.id());
                let Some(id) =
                    db.insert_reply(owner, &code, p.title.as_deref().unwrap_or_default(), text)?
                else {
                    return Err(Error::Conflict(format!("/{code} exists already")));
                };
                let reply = db
                    .reply(id)?
                    .ok_or_else(|| Error::Internal("reply vanished".into()))?;
                return Ok(json!({"reply": reply_json(&reply)}));
            }
            "replies.update" => {
                let reply = existing(&mut db)?;
                Self::may_edit(&actor, &reply)?;
                let code = valid_code(p.code.as_deref().unwrap_or(&reply.code))?;
                let text = p.text.clone().unwrap_or(reply.text.clone());
                if text.trim().is_empty() {
                    return Err(Error::invalid("text", "a reply needs a text"));
                }
                let title = p.title.clone().unwrap_or(reply.title.clone());
                if !db.update_reply(reply.id, &code, &title, &text)? {
                    return Err(Error::Conflict(format!("/{code} exists already")));
                }
                let reply = existing(&mut db)?;
                return Ok(json!({"reply": reply_json(&reply)}));
            }
            "replies.delete" => {
                let reply = existing(&mut db)?;
                Self::may_edit(&actor, &reply)?;
                db.delete_reply(reply.id)?;
                return Ok(json!({"deleted": reply.id}));
            }
            _ => {
                // replies.render: the text with the dialog's variables filled in.
                let reply = existing(&mut db)?;
                if reply.owner_id.is_some_and(|o| o != actor.id()) {
                    return Err(Error::NotFound(format!(
                        "reply {} does not exist",
                        reply.id
                    )));
                }
                let dialog_id = p
                    .dialog_id
                    .ok_or_else(|| Error::invalid("dialog_id", "is required"))?;
                team::visible_dialog(&mut db, &actor, dialog_id)?;
                let dialog = db.dialog(dialog_id, actor.id())?;
                let company = db.crm_company()?;
                let text = reply
                    .text
                    .replace("{visitor_name}", &dialog.visitor_name)
                    .replace("{operator_name}", &actor.user.name)
                    .replace("{company}", &company);
                return Ok(json!({"text": text, "reply": reply_json(&reply)}));
            }
        }
        let list = db.replies(actor.id())?;
        Ok(json!({"replies": list.iter().map(reply_json).collect::<Vec<_>>()}))
    }

    /// A note for colleagues in the dialog's history; never sent to the visitor.
    fn note_add(&self, params: &Value) -> Result<Value> {
        let p: NoteJson = parse("notes.add", params)?;
        let mut db = self.rt.store.db()?;
        let actor = team::actor(&mut db, p.operator_id)?;
        team::visible_dialog(&mut db, &actor, p.dialog_id)?;
        let text = p.text.trim();
        if text.is_empty() || text.chars().count() > 10_000 {
            return Err(Error::invalid("text", "1-10000 characters"));
        }
        db.log_event(
            Some(p.dialog_id),
            None,
            Some(actor.id()),
            "note",
            &json!({"text": text, "author_name": actor.user.name}),
        )?;
        drop(db);
        self.rt.announce(&[p.dialog_id]);
        Ok(json!({"dialog_id": p.dialog_id, "note": {"text": text, "operator_id": actor.id()}}))
    }

    fn tags(&self, method: &str, params: &Value) -> Result<Value> {
        let p: TagJson = parse(method, params)?;
        let mut db = self.rt.store.db()?;
        let actor = team::actor(&mut db, p.operator_id)?;
        team::visible_dialog(&mut db, &actor, p.dialog_id)?;
        match method {
            "dialogs.tag" => {
                db.tag_dialog(p.dialog_id, &valid_tag(p.tag.as_deref())?)?;
            }
            "dialogs.untag" => {
                db.untag_dialog(p.dialog_id, &valid_tag(p.tag.as_deref())?)?;
            }
            _ => {}
        }
        Ok(json!({"dialog_id": p.dialog_id, "tags": db.dialog_tags(p.dialog_id)?}))
    }

    /// The team's numbers over a period (CRM admins; an operator may see their own).
    fn reports_summary(&self, params: &Value) -> Result<Value> {
        let p: ReportJson = parse("reports.summary", params)?;
        let mut db = self.rt.store.db()?;
        let actor = team::actor(&mut db, p.operator_id)?;
        if !actor.is_admin() && p.for_operator_id != Some(actor.id()) {
            return Err(Error::Forbidden(
                "reports of the whole team are for CRM administrators; ask for your own with for_operator_id".into(),
            ));
        }
        let from = time_param("from", Some(&p.from))?.unwrap_or(Timestamp(0));
        let to = time_param("to", Some(&p.to))?.unwrap_or(Timestamp(0));
        if to <= from || to.millis() - from.millis() > 400 * 86_400_000 {
            return Err(Error::invalid("to", "after `from`, at most 400 days later"));
        }
        let group = match p.group_by.as_deref().unwrap_or("day") {
            "day" => crate::reports::GroupBy::Day,
            "week" => crate::reports::GroupBy::Week,
            other => {
                return Err(Error::invalid(
                    "group_by",
                    format!("`{other}` is not day or week"),
                ))
            }
        };
        let scope = crate::store::ReportScope {
            from,
            to,
            channel_id: p.channel_id,
            operator_id: p.for_operator_id,
        };
        let dialogs = db.report_dialogs(&scope)?;
        let hours = db.report_message_hours(&scope)?;
        let settings = team::settings(&mut db)?;
        let tz = settings
            .working_hours
            .timezone
            .clone()
            .or(db.crm_timezone()?)
            .unwrap_or_else(|| "UTC".into());
        Ok(crate::reports::summary(
            &scope,
            &dialogs,
            &hours,
            &tz,
            group,
            p.unanswered_minutes.unwrap_or(15).clamp(1, 10_080),
        ))
    }

    fn messages_search(&self, params: &Value) -> Result<Value> {
        let p: SearchJson = parse("messages.search", params)?;
        let mut db = self.rt.store.db()?;
        let actor = team::actor(&mut db, p.operator_id)?;
        if p.q.trim().chars().count() < 2 {
            return Err(Error::invalid("q", "at least 2 characters"));
        }
        let search = MessageSearch {
            query: &p.q,
            viewer: Viewer {
                id: actor.id(),
                is_admin: actor.is_admin(),
                is_operator: actor.is_operator,
            },
            channel_id: p.channel_id,
            from: time_param("from", p.from.as_deref())?,
            to: time_param("to", p.to.as_deref())?,
            limit: super::page_size(p.limit)?,
        };
        let found = db.search_messages(&search)?;
        let ids: Vec<i64> = found.iter().map(|m| m.id).collect();
        let attachments = db.attachments_of(&ids)?;
        let results: Vec<Value> = found
            .iter()
            .map(|m| self.message_json(m, &super::of_message(&attachments, m)))
            .collect();
        Ok(json!({"messages": results}))
    }
}
