//! The team's calls: settings, operators and presence, taking and handing over dialogs, the
//! dialog's history, timed work, and the links to the CRM's clients and contacts.

use serde::Deserialize;
use serde_json::{json, Value};

use super::{parse, Crmchats};
use crate::crm;
use crate::error::{Error, Result};
use crate::model::{DialogId, OperatorId, VisitorId};
use crate::settings::Settings;
use crate::store::{CrmKind, CrmRecord, HostUser, OperatorRow, Presence};
use crate::team::{self, Actor};
use crate::time::Timestamp;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActorJson {
    operator_id: OperatorId,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsSetJson {
    operator_id: OperatorId,
    settings: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OperatorsChangeJson {
    operator_id: OperatorId,
    user_ids: Vec<OperatorId>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusJson {
    operator_id: OperatorId,
    status: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DialogActionJson {
    operator_id: OperatorId,
    dialog_id: DialogId,
    to_operator_id: Option<OperatorId>,
    note: Option<String>,
    user_ids: Option<Vec<OperatorId>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DialogEventsJson {
    operator_id: OperatorId,
    dialog_id: DialogId,
    after_id: Option<i64>,
    limit: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TickJson {
    /// Tests move the clock; production passes nothing.
    now: Option<String>,
    /// Skip when it ran less than a minute ago (the opportunistic runs from web requests).
    #[serde(default)]
    if_due: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CrmSearchJson {
    operator_id: OperatorId,
    q: String,
    limit: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VisitorLinkJson {
    operator_id: OperatorId,
    visitor_id: VisitorId,
    client_id: Option<i64>,
    contact_id: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VisitorJson {
    operator_id: OperatorId,
    visitor_id: VisitorId,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportJson {
    operator_id: OperatorId,
    #[serde(default)]
    dry_run: bool,
    /// The CRM's root folder, where the old plugin's attachment URLs point.
    files_root: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientDialogsJson {
    operator_id: OperatorId,
    /// One of the two: a client's dialogs (its contacts' too), or one contact's.
    client_id: Option<i64>,
    contact_id: Option<i64>,
    limit: Option<usize>,
}

fn crm_json(r: &CrmRecord) -> Value {
    json!({"type": r.kind.as_str(), "id": r.id, "name": r.name, "phone": r.phone, "email": r.email,
           "owner_id": r.owner_id, "client_id": r.client_id})
}

fn operator_json(u: &HostUser, op: Option<&OperatorRow>, seen_since: Timestamp) -> Value {
    json!({
        "id": u.id,
        "name": u.name,
        "login": u.login,
        "is_admin": u.is_admin,
        "is_operator": op.is_some(),
        "status": op.map(|o| o.status.as_str()),
        "online": op.is_some_and(|o| o.is_online(seen_since)),
        "last_seen_at": op.and_then(|o| o.last_seen_at).map(Timestamp::to_rfc3339),
        "open_dialogs": op.map(|o| o.open_dialogs),
    })
}

impl Crmchats {
    /// The team's methods; None when `method` is not one of them.
    pub(super) fn team_call(&self, method: &str, params: &Value) -> Option<Result<Value>> {
        let result = match method {
            "settings.get" => self.settings_get(params),
            "settings.set" => self.settings_set(params),
            "operators.list" => self.operators_list(),
            "operators.add" | "operators.remove" => self.operators_change(method, params),
            "operators.set_status" => self.operators_set_status(params),
            "operators.heartbeat" => self.operators_heartbeat(params),
            "dialogs.take" | "dialogs.assign" | "dialogs.transfer" | "dialogs.join"
            | "dialogs.leave" | "dialogs.close" | "dialogs.reopen" => {
                self.dialog_action(method, params)
            }
            "dialogs.events" => self.dialog_events(params),
            "tick" => self.tick(params),
            "visitors.search_crm" => self.crm_search(params),
            "visitors.link" => self.visitor_link(params),
            "visitors.unlink" => self.visitor_unlink(params),
            "visitors.create_client" => self.visitor_create(params, CrmKind::Client),
            "visitors.create_contact" => self.visitor_create(params, CrmKind::Contact),
            "clients.dialogs" => self.client_dialogs(params),
            "import.socialchats" => self.import_socialchats(params),
            _ => return None,
        };
        Some(result)
    }

    fn acting(&self, operator_id: OperatorId) -> Result<Actor> {
        team::actor(&mut self.rt.store.db()?, operator_id)
    }

    fn settings_get(&self, params: &Value) -> Result<Value> {
        let p: ActorJson = parse("settings.get", params)?;
        let mut db = self.rt.store.db()?;
        team::require_admin(&team::actor(&mut db, p.operator_id)?)?;
        let settings = team::settings(&mut db)?;
        Ok(json!({"settings": settings.to_public_json(), "crm_timezone": db.crm_timezone()?}))
    }

    fn settings_set(&self, params: &Value) -> Result<Value> {
        let p: SettingsSetJson = parse("settings.set", params)?;
        let mut db = self.rt.store.db()?;
        team::require_admin(&team::actor(&mut db, p.operator_id)?)?;
        let settings: Settings = team::settings(&mut db)?.merged(&p.settings)?;
        let stored =
            serde_json::to_string(&settings).map_err(|e| Error::Internal(e.to_string()))?;
        db.save_settings_json(&stored, p.operator_id)?;
        self.rt.forget_settings();
        Ok(json!({"settings": settings.to_public_json()}))
    }

    /// Every CRM user, with whether they are an operator and their presence (the settings page
    /// adds operators from this list).
    fn operators_list(&self) -> Result<Value> {
        let mut db = self.rt.store.db()?;
        let users = db.host_users()?;
        let operators = db.operators()?;
        let settings = team::settings(&mut db)?;
        let seen_since = Timestamp(
            Timestamp::now().millis() - i64::from(settings.presence_timeout_seconds) * 1000,
        );
        let list: Vec<Value> = users
            .iter()
            .map(|u| {
                let op = operators.iter().find(|o| o.user_id == u.id);
                operator_json(u, op, seen_since)
            })
            .collect();
        Ok(json!({"operators": list}))
    }

    fn operators_change(&self, method: &str, params: &Value) -> Result<Value> {
        let p: OperatorsChangeJson = parse(method, params)?;
        let mut db = self.rt.store.db()?;
        team::require_admin(&team::actor(&mut db, p.operator_id)?)?;
        if p.user_ids.is_empty() {
            return Err(Error::invalid("user_ids", "name at least one CRM user"));
        }
        for id in &p.user_ids {
            if db.host_user(*id)?.is_none() {
                return Err(Error::invalid(
                    "user_ids",
                    format!("user {id} is not a user of this CRM"),
                ));
            }
        }
        let changed = if method == "operators.add" {
            db.add_operators(&p.user_ids)?
        } else {
            let mut removed = 0;
            for id in &p.user_ids {
                removed += u64::from(db.remove_operator(*id)?);
                // Their open dialogs go back to the queue, to be handed to someone else.
                for dialog_id in db.unassign_operator(*id)? {
                    db.log_event(
                        Some(dialog_id),
                        None,
                        Some(p.operator_id),
                        "unassigned",
                        &json!({"operator_id": id, "reason": "operator_removed"}),
                    )?;
                }
            }
            removed
        };
        drop(db);
        if method == "operators.remove" {
            team::drain_queue_now(&self.rt)?;
        }
        let mut list = self.operators_list()?;
        list["changed"] = json!(changed);
        Ok(list)
    }

    fn operators_set_status(&self, params: &Value) -> Result<Value> {
        let p: StatusJson = parse("operators.set_status", params)?;
        let status = Presence::parse(&p.status).ok_or_else(|| {
            Error::invalid(
                "status",
                format!("`{}` is not one of online, away, offline", p.status),
            )
        })?;
        let actor = self.acting(p.operator_id)?;
        team::set_presence(&self.rt, &actor, status)?;
        Ok(json!({"operator_id": actor.id(), "status": status.as_str()}))
    }

    fn operators_heartbeat(&self, params: &Value) -> Result<Value> {
        let p: ActorJson = parse("operators.heartbeat", params)?;
        let mut db = self.rt.store.db()?;
        let actor = team::actor(&mut db, p.operator_id)?;
        if !db.heartbeat(actor.id(), Timestamp::now())? {
            return Err(Error::Forbidden(format!(
                "user {} is not an operator of the inbox",
                actor.id()
            )));
        }
        Ok(json!({"operator_id": actor.id()}))
    }

    fn dialog_action(&self, method: &str, params: &Value) -> Result<Value> {
        let p: DialogActionJson = parse(method, params)?;
        let actor = self.acting(p.operator_id)?;
        let target = || {
            p.to_operator_id
                .ok_or_else(|| Error::invalid("to_operator_id", "is required"))
        };
        let mut joined = None;
        match method {
            "dialogs.take" => team::take(&self.rt, &actor, p.dialog_id)?,
            "dialogs.assign" => team::assign(&self.rt, &actor, p.dialog_id, target()?)?,
            "dialogs.transfer" => {
                team::transfer(&self.rt, &actor, p.dialog_id, target()?, p.note.as_deref())?
            }
            "dialogs.join" => {
                joined = Some(team::join(
                    &self.rt,
                    &actor,
                    p.dialog_id,
                    p.user_ids.as_deref(),
                )?)
            }
            "dialogs.leave" => team::leave(&self.rt, &actor, p.dialog_id)?,
            "dialogs.close" => team::close(&self.rt, &actor, p.dialog_id)?,
            "dialogs.reopen" => team::reopen(&self.rt, &actor, p.dialog_id)?,
            _ => return Err(Error::UnknownMethod(method.to_string())),
        }
        self.rt.announce(&[p.dialog_id]);
        let mut db = self.rt.store.db()?;
        let state = db
            .dialog_state(p.dialog_id)?
            .ok_or_else(|| Error::NotFound(format!("dialog {} does not exist", p.dialog_id)))?;
        let mut out = json!({
            "dialog_id": state.id,
            "status": if state.open { "open" } else { "closed" },
            "assigned_operator_id": state.assigned_operator_id,
            "operator_ids": state.member_ids,
        });
        if let Some(joined) = joined {
            out["joined"] = json!(joined);
        }
        Ok(out)
    }

    /// The dialog's history besides messages: opened, assigned (with the reason), transferred
    /// (with the note), joined, closed, automatic messages, edits.
    fn dialog_events(&self, params: &Value) -> Result<Value> {
        let p: DialogEventsJson = parse("dialogs.events", params)?;
        let mut db = self.rt.store.db()?;
        let actor = team::actor(&mut db, p.operator_id)?;
        team::visible_dialog(&mut db, &actor, p.dialog_id)?;
        let limit = super::page_size(p.limit)?;
        let events = db.dialog_events(p.dialog_id, p.after_id.unwrap_or(0), limit)?;
        let list: Vec<Value> = events
            .into_iter()
            .map(|e| {
                json!({"id": e.id, "kind": e.kind, "message_id": e.message_id,
                       "operator_id": e.operator_id, "data": e.data, "at": e.at.to_rfc3339()})
            })
            .collect();
        Ok(json!({"events": list}))
    }

    fn tick(&self, params: &Value) -> Result<Value> {
        let p: TickJson = parse("tick", params)?;
        let now = match p.now.as_deref() {
            None => Timestamp::now(),
            Some(s) => Timestamp::parse_rfc3339(s).ok_or_else(|| {
                Error::invalid("now", "an RFC 3339 time like 2026-11-25T09:30:00Z")
            })?,
        };
        team::tick(&self.rt, now, p.if_due)
    }

    fn crm_search(&self, params: &Value) -> Result<Value> {
        let p: CrmSearchJson = parse("visitors.search_crm", params)?;
        self.acting(p.operator_id)?;
        let q = p.q.trim();
        if q.chars().count() < 2 {
            return Err(Error::invalid("q", "at least 2 characters"));
        }
        let limit = p.limit.unwrap_or(20).clamp(1, 100);
        let found = self.rt.store.db()?.search_crm(q, limit)?;
        Ok(json!({"results": found.iter().map(crm_json).collect::<Vec<_>>()}))
    }

    fn visitor_link(&self, params: &Value) -> Result<Value> {
        let p: VisitorLinkJson = parse("visitors.link", params)?;
        let mut db = self.rt.store.db()?;
        let actor = team::actor(&mut db, p.operator_id)?;
        team::visible_visitor(&mut db, &actor, p.visitor_id)?;
        let (kind, id) = match (p.client_id, p.contact_id) {
            (Some(id), None) => (CrmKind::Client, id),
            (None, Some(id)) => (CrmKind::Contact, id),
            _ => {
                return Err(Error::invalid(
                    "client_id",
                    "give exactly one of client_id and contact_id",
                ))
            }
        };
        let record = db
            .crm_record(kind, id)?
            .ok_or_else(|| Error::NotFound(format!("the CRM has no {} {id}", kind.as_str())))?;
        crm::link(&mut db, p.visitor_id, &record, "by_operator")?;
        Ok(json!({"visitor_id": p.visitor_id, "linked": crm_json(&record)}))
    }

    fn visitor_unlink(&self, params: &Value) -> Result<Value> {
        let p: VisitorJson = parse("visitors.unlink", params)?;
        let mut db = self.rt.store.db()?;
        let actor = team::actor(&mut db, p.operator_id)?;
        team::visible_visitor(&mut db, &actor, p.visitor_id)?;
        db.link_visitor(p.visitor_id, None, None)?;
        let dialog_id = db.latest_dialog_of_visitor(p.visitor_id)?;
        db.log_event(
            dialog_id,
            None,
            Some(actor.id()),
            "crm_unlinked",
            &json!({"visitor_id": p.visitor_id}),
        )?;
        Ok(json!({"visitor_id": p.visitor_id, "client_id": null, "contact_id": null}))
    }

    fn visitor_create(&self, params: &Value, kind: CrmKind) -> Result<Value> {
        let p: VisitorJson = parse("visitors.create", params)?;
        let mut db = self.rt.store.db()?;
        let actor = team::actor(&mut db, p.operator_id)?;
        team::visible_visitor(&mut db, &actor, p.visitor_id)?;
        if db.visitor_links(p.visitor_id)? != (None, None) {
            return Err(Error::Conflict(
                "the visitor is linked to the CRM already; unlink first".into(),
            ));
        }
        let record = crm::create(
            &mut db,
            kind,
            p.visitor_id,
            actor.id(),
            "created_by_operator",
        )?;
        Ok(json!({"visitor_id": p.visitor_id, "linked": crm_json(&record)}))
    }

    /// Imports the original socialChats plugin's data (admins); `dry_run` reports without writing.
    fn import_socialchats(&self, params: &Value) -> Result<Value> {
        let p: ImportJson = parse("import.socialchats", params)?;
        team::require_admin(&self.acting(p.operator_id)?)?;
        let root = p.files_root.as_deref().map(std::path::Path::new);
        crate::import::socialchats(&self.rt, p.dry_run, root)
    }

    /// Every dialog of a client across channels, for the CRM's client card.
    fn client_dialogs(&self, params: &Value) -> Result<Value> {
        let p: ClientDialogsJson = parse("clients.dialogs", params)?;
        let mut db = self.rt.store.db()?;
        let actor = team::actor(&mut db, p.operator_id)?;
        let limit = super::page_size(p.limit)?;
        let ids = match (p.client_id, p.contact_id) {
            (Some(client), None) => db.client_dialog_ids(client, limit)?,
            (None, Some(contact)) => db.contact_dialog_ids(contact, limit)?,
            _ => {
                return Err(Error::invalid(
                    "client_id",
                    "give exactly one of client_id and contact_id",
                ))
            }
        };
        let mut dialogs = Vec::new();
        for id in ids {
            // The client card shows the conversation to whoever may open the card; the dialog's
            // own rules still decide who may answer in it.
            if let Some(state) = db.dialog_state(id)? {
                let row = db.dialog(id, actor.id())?;
                let visible = team::can_see(&actor, &state);
                let mut d = self.dialog_json(&row, &state.member_ids);
                if !visible {
                    // That it exists, on which channel and in which state; not what was said.
                    d["last_message"] = Value::Null;
                    d["visitor"]["username"] = Value::Null;
                    d["unread"] = json!(0);
                }
                d["can_open"] = json!(visible);
                dialogs.push(d);
            }
        }
        Ok(json!({"client_id": p.client_id, "contact_id": p.contact_id, "dialogs": dialogs}))
    }
}
