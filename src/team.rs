//! The inbox as a team tool: who may see a dialog, who gets a new one, taking, joining,
//! handing over, closing, and the timed work (auto-close, queue) that `tick` runs.
//!
//! Rules are checked here, in Rust, for every call: the console only shows what this allows.

use mysql::PooledConn;
use serde_json::{json, Value};

use crate::crm;
use crate::error::{Error, Result};
use crate::model::{DialogId, OperatorId};
use crate::outbound::{self, Author, Reply};
use crate::runtime::Runtime;
use crate::settings::{Distribution, Settings};
use crate::store::{Db, DialogState, HostUser, OpenedDialog, OperatorRow, Presence};
use crate::time::Timestamp;

/// The CRM user making a call.
#[derive(Clone, Debug)]
pub struct Actor {
    pub user: HostUser,
    /// Added to the inbox's operators (CRM users who are not see only what they were invited to).
    pub is_operator: bool,
}

impl Actor {
    pub fn id(&self) -> OperatorId {
        self.user.id
    }
    pub fn is_admin(&self) -> bool {
        self.user.is_admin
    }
}

/// The acting CRM user; an unknown id is refused.
pub fn actor(db: &mut Db<PooledConn>, user_id: OperatorId) -> Result<Actor> {
    let user = db
        .host_user(user_id)?
        .ok_or_else(|| Error::Forbidden(format!("user {user_id} is not a user of this CRM")))?;
    let is_operator = db.operator(user_id)?.is_some();
    Ok(Actor { user, is_operator })
}

/// Taking, joining and reopening are for the inbox's operators and CRM admins.
pub fn require_operator(actor: &Actor) -> Result<()> {
    if actor.is_operator || actor.is_admin() {
        Ok(())
    } else {
        Err(Error::Forbidden(format!(
            "user {} is not an operator of the inbox",
            actor.id()
        )))
    }
}

pub fn require_admin(actor: &Actor) -> Result<()> {
    if actor.is_admin() {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "only CRM administrators may do this".into(),
        ))
    }
}

/// Who may see a dialog: admins; its owner and members; anyone, while it waits in the queue.
pub fn can_see(actor: &Actor, dialog: &DialogState) -> bool {
    actor.is_admin()
        || dialog.assigned_operator_id == Some(actor.id())
        || dialog.member_ids.contains(&actor.id())
        || (actor.is_operator && dialog.open && dialog.assigned_operator_id.is_none())
}

/// The dialog, if the actor may see it; "not found" otherwise, so ids cannot be probed.
pub fn visible_dialog(
    db: &mut Db<PooledConn>,
    actor: &Actor,
    dialog_id: DialogId,
) -> Result<DialogState> {
    match db.dialog_state(dialog_id)? {
        Some(d) if can_see(actor, &d) => Ok(d),
        _ => Err(Error::NotFound(format!(
            "dialog {dialog_id} does not exist"
        ))),
    }
}

/// A visitor whose dialogs the actor may see (any of them).
pub fn visible_visitor(db: &mut Db<PooledConn>, actor: &Actor, visitor_id: i64) -> Result<()> {
    let hidden = || Error::NotFound(format!("visitor {visitor_id} does not exist"));
    db.visitor(visitor_id).map_err(|_| hidden())?;
    if actor.is_admin() {
        return Ok(());
    }
    for dialog_id in db.visitor_dialog_ids(visitor_id)? {
        if let Some(d) = db.dialog_state(dialog_id)? {
            if can_see(actor, &d) {
                return Ok(());
            }
        }
    }
    Err(hidden())
}

/// An attachment of a dialog the actor may see; avatars are visible to every operator.
pub fn visible_attachment(
    db: &mut Db<PooledConn>,
    actor: &Actor,
    attachment_id: i64,
) -> Result<()> {
    match db.attachment_dialog(attachment_id)? {
        Some(dialog_id) => visible_dialog(db, actor, dialog_id)
            .map(|_| ())
            .map_err(|_| Error::NotFound(format!("attachment {attachment_id} does not exist"))),
        None => Ok(()),
    }
}

pub fn settings(db: &mut Db<PooledConn>) -> Result<Settings> {
    Ok(db
        .settings_json()?
        .map(|s| Settings::from_stored(&s))
        .unwrap_or_default())
}

/// When an operator last heard from must be for them to count as online.
fn seen_since(settings: &Settings, now: Timestamp) -> Timestamp {
    Timestamp(now.millis() - i64::from(settings.presence_timeout_seconds) * 1000)
}

// ---------------------------------------------------------------------------------------------
// Choosing an operator.

/// Why an operator got a dialog, as the history shows it.
pub const REASON_STICKY: &str = "crm_owner";
pub const REASON_PREVIOUS: &str = "previous_operator";
pub const REASON_ROUND_ROBIN: &str = "round_robin";
pub const REASON_LEAST_BUSY: &str = "least_busy";

/// The operator for a new dialog among `candidates` (online, below capacity): a preferred one
/// when available (the client's responsible user, then who had the dialog before), otherwise by
/// the mode. Pure, so the rules can be tested without a database.
pub fn choose(
    candidates: &[OperatorRow],
    mode: Distribution,
    preferred: &[(OperatorId, &'static str)],
) -> Option<(OperatorId, &'static str)> {
    if let Some(p) = preferred
        .iter()
        .find(|(id, _)| candidates.iter().any(|c| c.user_id == *id))
    {
        return Some(*p);
    }
    let never = Timestamp(i64::MIN);
    match mode {
        Distribution::Off => None,
        Distribution::RoundRobin => candidates
            .iter()
            .min_by_key(|c| (c.last_assigned_at.unwrap_or(never), c.user_id))
            .map(|c| (c.user_id, REASON_ROUND_ROBIN)),
        Distribution::LeastBusy => candidates
            .iter()
            .min_by_key(|c| {
                (
                    c.open_dialogs,
                    c.last_assigned_at.unwrap_or(never),
                    c.user_id,
                )
            })
            .map(|c| (c.user_id, REASON_LEAST_BUSY)),
    }
}

/// Gives a queued dialog to an available operator; the operator, or None when nobody is
/// available or someone took it meanwhile.
fn distribute(
    rt: &Runtime,
    db: &mut Db<PooledConn>,
    settings: &Settings,
    dialog: &DialogState,
    now: Timestamp,
) -> Result<Option<OperatorId>> {
    if settings.distribution == Distribution::Off || dialog.assigned_operator_id.is_some() {
        return Ok(None);
    }
    let candidates = db.available_operators(
        seen_since(settings, now),
        settings.max_open_dialogs_per_operator,
    )?;
    if candidates.is_empty() {
        return Ok(None);
    }
    let mut preferred = Vec::new();
    if let Some(owner) = crm::responsible_user(db, dialog.visitor_id)? {
        preferred.push((owner, REASON_STICKY));
    }
    if let Some(previous) = dialog.member_ids.first() {
        preferred.push((*previous, REASON_PREVIOUS));
    }
    let Some((operator_id, reason)) = choose(&candidates, settings.distribution, &preferred) else {
        return Ok(None);
    };
    // The owner change, its membership rows and its history entry move together; the
    // operator's row is locked and their load counted again, so two dialogs opening at once
    // cannot both take an operator's last free place.
    let mut tx = db.begin()?;
    let capacity = settings.max_open_dialogs_per_operator;
    if capacity > 0 && tx.lock_operator_load(operator_id)? >= i64::from(capacity) {
        return Ok(None);
    }
    if !tx.assign(dialog.id, None, operator_id, false, now)? {
        return Ok(None);
    }
    tx.log_event(
        Some(dialog.id),
        None,
        Some(operator_id),
        "assigned",
        &json!({"operator_id": operator_id, "reason": reason}),
    )?;
    tx.commit()?;
    notify_visitor_assigned(rt, db, settings, dialog.id, operator_id);
    Ok(Some(operator_id))
}

// ---------------------------------------------------------------------------------------------
// A dialog opened (or reopened) by a visitor's message.

/// Runs the team's rules for a dialog a webhook opened: CRM link, distribution, auto-replies.
/// Errors are logged: the visitor's message is stored whatever happens here, and `tick` hands
/// out what stayed in the queue.
pub fn on_dialog_opened(rt: &Runtime, opened: OpenedDialog) {
    if let Err(e) = dialog_opened(rt, opened) {
        log::error!("dialog {}: team rules: {e}", opened.dialog_id);
    }
}

fn dialog_opened(rt: &Runtime, opened: OpenedDialog) -> Result<()> {
    let mut db = rt.store.db()?;
    let settings = settings(&mut db)?;
    let now = Timestamp::now();
    // The CRM link is worth having, not worth stopping distribution for (an odd host schema or
    // an old server without REGEXP_REPLACE): failures are logged and the rules go on.
    if let Err(e) = crm::link_existing(&mut db, &settings, opened.visitor_id) {
        log::warn!("dialog {}: CRM link by phone: {e}", opened.dialog_id);
    }
    let Some(dialog) = db.dialog_state(opened.dialog_id)? else {
        return Ok(());
    };
    let assigned = distribute(rt, &mut db, &settings, &dialog, now)?;
    if !opened.reopened {
        if let Err(e) = crm::create_for_new_visitor(&mut db, &settings, opened.visitor_id, assigned)
        {
            log::warn!(
                "dialog {}: adding the visitor to the CRM: {e}",
                opened.dialog_id
            );
        }
    }

    let replies = &settings.auto_replies;
    if !opened.reopened && !db.visitor_wrote_before(opened.visitor_id, dialog.id)? {
        if let Some(text) = replies.first_contact.active() {
            send_auto_once(rt, &mut db, dialog.id, "first_contact", text);
        }
    }
    if assigned.is_none() {
        let crm_tz = db.crm_timezone()?;
        if !settings.in_working_hours(now, crm_tz.as_deref()) {
            if let Some(text) = replies.out_of_hours.active() {
                send_auto_once(rt, &mut db, dialog.id, "out_of_hours", text);
            }
        } else if db
            .available_operators(seen_since(&settings, now), 0)?
            .is_empty()
        {
            if let Some(text) = replies.operators_offline.active() {
                send_auto_once(rt, &mut db, dialog.id, "operators_offline", text);
            }
        }
    }
    Ok(())
}

/// Asks the visitor to rate a dialog that just closed (when switched on), once per closing.
fn ask_rating(
    rt: &Runtime,
    db: &mut Db<PooledConn>,
    settings: &Settings,
    dialog_id: DialogId,
    now: Timestamp,
) {
    if !settings.rating.enabled {
        return;
    }
    if let Err(e) = db.mark_rating_requested(dialog_id, now) {
        log::warn!("dialog {dialog_id}: rating request: {e}");
        return;
    }
    send_auto_once(rt, db, dialog_id, "rating_request", &settings.rating.text);
}

/// A visitor's message that is just a digit 1-5: their rating, when a rating was asked of them.
pub fn lone_rating(text: &str, has_files: bool) -> Option<u8> {
    let t = text.trim();
    let digit = t
        .chars()
        .next()
        .filter(|_| t.chars().count() == 1 && !has_files)?;
    digit
        .to_digit(10)
        .filter(|d| (1..=5).contains(d))
        .map(|d| d as u8)
}

/// Sends an automatic message unless this opening of the dialog already had one of its kind.
fn send_auto_once(
    rt: &Runtime,
    db: &mut Db<PooledConn>,
    dialog_id: DialogId,
    kind: &'static str,
    text: &str,
) {
    let claimed = match db.claim_auto_reply(dialog_id, kind) {
        Ok(c) => c,
        Err(e) => {
            log::error!("dialog {dialog_id}: {kind}: {e}");
            return;
        }
    };
    if !claimed {
        return;
    }
    let reply = Reply {
        dialog_id,
        author: Author::Auto(kind),
        text: text.to_string(),
        attachments: Vec::new(),
    };
    // A refused send is stored as failed with its reason, like an operator's.
    if let Err(e) = outbound::send_reply(rt, reply) {
        log::warn!("dialog {dialog_id}: automatic {kind} message: {e}");
    }
}

fn operator_name(db: &mut Db<PooledConn>, id: OperatorId) -> String {
    db.host_user(id)
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_default()
}

/// What follows any assignment: the CRM card gets its owner if it had none, the visitor is told
/// who answers (when switched on).
fn notify_visitor_assigned(
    rt: &Runtime,
    db: &mut Db<PooledConn>,
    settings: &Settings,
    dialog_id: DialogId,
    operator_id: OperatorId,
) {
    if let Ok(Some(state)) = db.dialog_state(dialog_id) {
        if let Err(e) = crm::adopt_cards(db, state.visitor_id, operator_id) {
            log::warn!("dialog {dialog_id}: giving the CRM card its owner: {e}");
        }
    }
    if let Some(text) = settings.notices.operator_assigned.active() {
        let text = text.replace("{operator_name}", &operator_name(db, operator_id));
        send_auto_once(rt, db, dialog_id, "operator_assigned", &text);
    }
}

// ---------------------------------------------------------------------------------------------
// What operators do with dialogs.

/// Takes a queued dialog (or an admin takes any open one); of two at once exactly one wins.
pub fn take(rt: &Runtime, actor: &Actor, dialog_id: DialogId) -> Result<()> {
    require_operator(actor)?;
    let mut db = rt.store.db()?;
    let dialog = visible_dialog(&mut db, actor, dialog_id)?;
    if !dialog.open {
        return Err(Error::invalid(
            "dialog_id",
            "the dialog is closed; reopen it first",
        ));
    }
    if dialog.assigned_operator_id == Some(actor.id()) {
        return Ok(());
    }
    if dialog.assigned_operator_id.is_some() && !actor.is_admin() {
        return Err(Error::Forbidden("another operator has this dialog".into()));
    }
    let now = Timestamp::now();
    let mut tx = db.begin()?;
    if !tx.assign(
        dialog.id,
        dialog.assigned_operator_id,
        actor.id(),
        false,
        now,
    )? {
        return Err(Error::Conflict(
            "another operator took this dialog a moment ago".into(),
        ));
    }
    tx.log_event(
        Some(dialog.id),
        None,
        Some(actor.id()),
        "assigned",
        &json!({"operator_id": actor.id(), "reason": "taken", "previous_operator_id": dialog.assigned_operator_id}),
    )?;
    tx.commit()?;
    let settings = settings(&mut db)?;
    notify_visitor_assigned(rt, &mut db, &settings, dialog.id, actor.id());
    Ok(())
}

/// An admin gives a dialog to an operator.
pub fn assign(rt: &Runtime, actor: &Actor, dialog_id: DialogId, to: OperatorId) -> Result<()> {
    require_admin(actor)?;
    hand_over(rt, actor, dialog_id, to, None, "assigned_by_admin")
}

/// Hands a dialog over to a colleague, with a note the receiver sees; by its owner or an admin.
pub fn transfer(
    rt: &Runtime,
    actor: &Actor,
    dialog_id: DialogId,
    to: OperatorId,
    note: Option<&str>,
) -> Result<()> {
    hand_over(rt, actor, dialog_id, to, note, "transferred")
}

fn hand_over(
    rt: &Runtime,
    actor: &Actor,
    dialog_id: DialogId,
    to: OperatorId,
    note: Option<&str>,
    kind: &str,
) -> Result<()> {
    let mut db = rt.store.db()?;
    let dialog = visible_dialog(&mut db, actor, dialog_id)?;
    if !dialog.open {
        return Err(Error::invalid("dialog_id", "the dialog is closed"));
    }
    let owner = dialog.assigned_operator_id;
    if !actor.is_admin() && owner != Some(actor.id()) {
        return Err(Error::Forbidden(
            "only the dialog's operator or an administrator can hand it over".into(),
        ));
    }
    if db.operator(to)?.is_none() {
        return Err(Error::invalid(
            "to_operator_id",
            format!("user {to} is not an operator of the inbox"),
        ));
    }
    if owner == Some(to) {
        return Ok(());
    }
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.chars().count() > 2000) {
        return Err(Error::invalid("note", "at most 2000 characters"));
    }
    let mut tx = db.begin()?;
    if !tx.assign(dialog.id, owner, to, true, Timestamp::now())? {
        return Err(Error::Conflict(
            "the dialog changed hands meanwhile; reload it".into(),
        ));
    }
    tx.log_event(
        Some(dialog.id),
        None,
        Some(actor.id()),
        kind,
        &json!({"from_operator_id": owner, "to_operator_id": to, "note": note, "by_operator_id": actor.id()}),
    )?;
    tx.commit()?;
    let settings = settings(&mut db)?;
    notify_visitor_assigned(rt, &mut db, &settings, dialog.id, to);
    Ok(())
}

/// Joins a dialog to answer in it alongside its operator: the actor, or colleagues the owner or
/// an admin invites.
pub fn join(
    rt: &Runtime,
    actor: &Actor,
    dialog_id: DialogId,
    user_ids: Option<&[OperatorId]>,
) -> Result<Vec<OperatorId>> {
    require_operator(actor)?;
    let mut db = rt.store.db()?;
    let dialog = visible_dialog(&mut db, actor, dialog_id)?;
    let joining: Vec<OperatorId> = match user_ids {
        None => vec![actor.id()],
        Some(ids) => {
            if !actor.is_admin()
                && dialog.assigned_operator_id != Some(actor.id())
                && !dialog.member_ids.contains(&actor.id())
            {
                return Err(Error::Forbidden(
                    "only people in the dialog or an administrator can invite colleagues".into(),
                ));
            }
            ids.to_vec()
        }
    };
    let settings = settings(&mut db)?;
    let mut joined = Vec::new();
    for id in joining {
        if db.operator(id)?.is_none() {
            return Err(Error::invalid(
                "user_ids",
                format!("user {id} is not an operator of the inbox"),
            ));
        }
        if db.add_dialog_operator(dialog.id, id)? {
            db.log_event(
                Some(dialog.id),
                None,
                Some(id),
                "operator_joined",
                &json!({"operator_id": id, "by_operator_id": actor.id()}),
            )?;
            joined.push(id);
            if let Some(text) = settings.notices.colleague_joined.active() {
                let text = text.replace("{operator_name}", &operator_name(&mut db, id));
                let reply = Reply {
                    dialog_id: dialog.id,
                    author: Author::Auto("colleague_joined"),
                    text,
                    attachments: Vec::new(),
                };
                if let Err(e) = outbound::send_reply(rt, reply) {
                    log::warn!("dialog {}: colleague joined notice: {e}", dialog.id);
                }
            }
        }
    }
    Ok(joined)
}

pub fn leave(rt: &Runtime, actor: &Actor, dialog_id: DialogId) -> Result<()> {
    let mut db = rt.store.db()?;
    let dialog = visible_dialog(&mut db, actor, dialog_id)?;
    if dialog.assigned_operator_id == Some(actor.id()) {
        return Err(Error::invalid(
            "dialog_id",
            "the dialog's operator cannot leave it: transfer or close it",
        ));
    }
    if db.leave(dialog.id, actor.id())? {
        db.log_event(
            Some(dialog.id),
            None,
            Some(actor.id()),
            "operator_left",
            &json!({"operator_id": actor.id()}),
        )?;
    }
    Ok(())
}

/// Closes a dialog (its operators, members or an admin); capacity frees, the queue moves.
pub fn close(rt: &Runtime, actor: &Actor, dialog_id: DialogId) -> Result<()> {
    let mut db = rt.store.db()?;
    let dialog = visible_dialog(&mut db, actor, dialog_id)?;
    let now = Timestamp::now();
    if db.close_dialog(dialog.id, now)? {
        db.log_event(
            Some(dialog.id),
            None,
            Some(actor.id()),
            "closed",
            &json!({"reason": "by_operator"}),
        )?;
        let settings = settings(&mut db)?;
        ask_rating(rt, &mut db, &settings, dialog.id, now);
        drain_queue(rt, &mut db, &settings, now)?;
    }
    Ok(())
}

pub fn reopen(rt: &Runtime, actor: &Actor, dialog_id: DialogId) -> Result<()> {
    require_operator(actor)?;
    let mut db = rt.store.db()?;
    let dialog = visible_dialog(&mut db, actor, dialog_id)?;
    if dialog.open {
        return Ok(());
    }
    let now = Timestamp::now();
    let mut tx = db.begin()?;
    match tx.reopen_dialog(dialog.id, now) {
        Ok(true) => {}
        Ok(false) => return Ok(()),
        Err(crate::store::StoreError::Db(mysql::Error::MySqlError(e))) if e.code == 1062 => {
            return Err(Error::Conflict(
                "the visitor has another open dialog; continue there".into(),
            ))
        }
        Err(e) => return Err(e.into()),
    }
    tx.log_event(
        Some(dialog.id),
        None,
        Some(actor.id()),
        "reopened",
        &json!({"by_operator_id": actor.id()}),
    )?;
    // Whoever reopens it answers it.
    if dialog.assigned_operator_id != Some(actor.id())
        && tx.assign(
            dialog.id,
            dialog.assigned_operator_id,
            actor.id(),
            false,
            now,
        )?
    {
        tx.log_event(
            Some(dialog.id),
            None,
            Some(actor.id()),
            "assigned",
            &json!({"operator_id": actor.id(), "reason": "reopened",
                    "previous_operator_id": dialog.assigned_operator_id}),
        )?;
    }
    tx.commit()?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Presence.

pub fn set_presence(rt: &Runtime, actor: &Actor, status: Presence) -> Result<()> {
    let mut db = rt.store.db()?;
    let now = Timestamp::now();
    if !db.set_presence(actor.id(), status, now)? {
        return Err(Error::Forbidden(format!(
            "user {} is not an operator of the inbox",
            actor.id()
        )));
    }
    if status == Presence::Online {
        // Someone came online: dialogs waiting for them go out now, not at the next tick.
        let settings = settings(&mut db)?;
        drain_queue(rt, &mut db, &settings, now)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Timed work.

/// Hands out queued dialogs, oldest first, while operators are available; how many went out.
fn drain_queue(
    rt: &Runtime,
    db: &mut Db<PooledConn>,
    settings: &Settings,
    now: Timestamp,
) -> Result<u64> {
    if settings.distribution == Distribution::Off {
        return Ok(0);
    }
    let mut handed = 0;
    for dialog_id in db.queued_dialogs(200)? {
        let Some(dialog) = db.dialog_state(dialog_id)? else {
            continue;
        };
        match distribute(rt, db, settings, &dialog, now)? {
            Some(_) => handed += 1,
            // Nobody available: the rest of the queue waits too.
            None if db
                .available_operators(
                    seen_since(settings, now),
                    settings.max_open_dialogs_per_operator,
                )?
                .is_empty() =>
            {
                break
            }
            None => {}
        }
    }
    Ok(handed)
}

/// Hands out the queue now (an operator was removed, capacity freed elsewhere).
pub fn drain_queue_now(rt: &Runtime) -> Result<u64> {
    let mut db = rt.store.db()?;
    let settings = settings(&mut db)?;
    drain_queue(rt, &mut db, &settings, Timestamp::now())
}

/// How long processed webhook deliveries are remembered (redeliveries stop within a day).
const DELIVERY_MEMORY_MS: i64 = 7 * 24 * 3600 * 1000;

/// `tick`: closes idle dialogs, hands out the queue, forgets old deliveries. One process at a
/// time per tenant (a database lock); `if_due` skips it when it ran less than a minute ago.
pub fn tick(rt: &Runtime, now: Timestamp, if_due: bool) -> Result<Value> {
    let mut db = rt.store.db()?;
    if if_due && !db.claim_tick_slot(now, 60_000)? {
        return Ok(json!({"ran": false, "reason": "ran less than a minute ago"}));
    }
    let lock = rt.store.tick_lock_name();
    if !db.try_tick_lock(&lock)? {
        return Ok(json!({"ran": false, "reason": "another process is running tick"}));
    }
    let outcome = tick_locked(rt, &mut db, now);
    db.release_tick_lock(&lock)?;
    outcome
}

fn tick_locked(rt: &Runtime, db: &mut Db<PooledConn>, now: Timestamp) -> Result<Value> {
    let settings = settings(db)?;
    let mut closed = 0;
    if let Some(minutes) = settings.auto_close_after_minutes {
        let before = Timestamp(now.millis() - i64::from(minutes) * 60_000);
        for dialog_id in db.idle_dialogs(before, 1000)? {
            // Still idle at the moment it closes: a message that just came keeps it open.
            if db.close_dialog_if_idle(dialog_id, before, now)? {
                db.log_event(
                    Some(dialog_id),
                    None,
                    None,
                    "closed",
                    &json!({"reason": "idle", "idle_minutes": minutes}),
                )?;
                ask_rating(rt, db, &settings, dialog_id, now);
                closed += 1;
            }
        }
    }
    let assigned = drain_queue(rt, db, &settings, now)?;
    let outbox = crate::outbox::run(rt, now)?;
    let pruned = db.prune_deliveries(Timestamp(now.millis() - DELIVERY_MEMORY_MS))?;
    Ok(
        json!({"ran": true, "closed": closed, "assigned": assigned, "outbox": outbox,
              "pruned_deliveries": pruned}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(id: OperatorId, open: i64, last: Option<i64>) -> OperatorRow {
        OperatorRow {
            user_id: id,
            status: Presence::Online,
            last_seen_at: Some(Timestamp(0)),
            last_assigned_at: last.map(Timestamp),
            open_dialogs: open,
        }
    }

    #[test]
    fn round_robin_picks_who_waited_longest_and_least_busy_the_least_loaded() {
        let ops = [op(1, 5, Some(300)), op(2, 1, Some(200)), op(3, 3, None)];
        assert_eq!(
            choose(&ops, Distribution::RoundRobin, &[]),
            Some((3, REASON_ROUND_ROBIN))
        );
        assert_eq!(
            choose(&ops, Distribution::LeastBusy, &[]),
            Some((2, REASON_LEAST_BUSY))
        );
        assert_eq!(choose(&[], Distribution::RoundRobin, &[]), None);
        assert_eq!(choose(&ops, Distribution::Off, &[]), None);
    }

    #[test]
    fn a_preferred_operator_wins_only_when_available() {
        let ops = [op(1, 5, Some(300)), op(2, 1, Some(200))];
        assert_eq!(
            choose(&ops, Distribution::LeastBusy, &[(1, REASON_STICKY)]),
            Some((1, REASON_STICKY))
        );
        // The CRM owner is offline (not a candidate): the previous operator, then the mode.
        assert_eq!(
            choose(
                &ops,
                Distribution::LeastBusy,
                &[(9, REASON_STICKY), (1, REASON_PREVIOUS)]
            ),
            Some((1, REASON_PREVIOUS))
        );
        assert_eq!(
            choose(&ops, Distribution::LeastBusy, &[(9, REASON_STICKY)]),
            Some((2, REASON_LEAST_BUSY))
        );
    }
}
