//! Linking visitors to the CRM's clients and contacts: found by phone or email before anything is
//! created, so one person writing from two messengers ends up on one card.

use mysql::PooledConn;
use serde_json::json;

use crate::error::{Error, Result};
use crate::model::{OperatorId, VisitorId};
use crate::settings::{AutoAdd, Settings};
use crate::store::{CrmKind, CrmRecord, Db};

fn kind_of(setting: AutoAdd) -> Option<CrmKind> {
    match setting {
        AutoAdd::Off => None,
        AutoAdd::Client => Some(CrmKind::Client),
        AutoAdd::Contact => Some(CrmKind::Contact),
    }
}

/// Links a visitor who is not linked yet to an existing card with their phone: a client or a
/// contact, whichever the CRM has (the configured kind first). Nothing when auto-add is off.
pub fn link_existing(
    db: &mut Db<PooledConn>,
    settings: &Settings,
    visitor_id: VisitorId,
) -> Result<Option<CrmRecord>> {
    let Some(kind) = kind_of(settings.auto_add_visitors) else {
        return Ok(None);
    };
    if db.visitor_links(visitor_id)? != (None, None) {
        return Ok(None);
    }
    let visitor = db.visitor(visitor_id)?;
    let Some(phone) = visitor.phone.as_deref() else {
        return Ok(None);
    };
    let other = match kind {
        CrmKind::Client => CrmKind::Contact,
        CrmKind::Contact => CrmKind::Client,
    };
    for k in [kind, other] {
        if let Some(found) = db.find_crm_match(k, Some(phone), None)? {
            link(db, visitor_id, &found, "found_by_phone")?;
            return Ok(Some(found));
        }
    }
    Ok(None)
}

/// Creates the configured card for a visitor still unlinked after `link_existing`, owned by the
/// operator who got the dialog.
pub fn create_for_new_visitor(
    db: &mut Db<PooledConn>,
    settings: &Settings,
    visitor_id: VisitorId,
    owner: Option<OperatorId>,
) -> Result<Option<CrmRecord>> {
    let Some(kind) = kind_of(settings.auto_add_visitors) else {
        return Ok(None);
    };
    if db.visitor_links(visitor_id)? != (None, None) {
        return Ok(None);
    }
    create(db, kind, visitor_id, owner.unwrap_or(0), "auto_added").map(Some)
}

/// Creates a client or contact card from what the messenger told us of the visitor and links it.
pub fn create(
    db: &mut Db<PooledConn>,
    kind: CrmKind,
    visitor_id: VisitorId,
    owner: OperatorId,
    reason: &str,
) -> Result<CrmRecord> {
    let visitor = db.visitor(visitor_id)?;
    let name = if visitor.name.trim().is_empty() {
        visitor
            .username
            .clone()
            .or(visitor.phone.clone())
            .unwrap_or_else(|| format!("Visitor {}", visitor.external_id))
    } else {
        visitor.name.clone()
    };
    let phone = visitor.phone.clone().unwrap_or_default();
    let id = match kind {
        CrmKind::Client => db.create_client(&name, &phone, "", owner)?,
        CrmKind::Contact => db.create_contact(&name, &phone, "", owner)?,
    };
    let record = db.crm_record(kind, id)?.ok_or_else(|| {
        Error::Internal(format!(
            "the new {} {id} cannot be read back",
            kind.as_str()
        ))
    })?;
    link(db, visitor_id, &record, reason)?;
    Ok(record)
}

/// Links the visitor to the card (a contact also carries its company).
pub fn link(
    db: &mut Db<PooledConn>,
    visitor_id: VisitorId,
    record: &CrmRecord,
    reason: &str,
) -> Result<()> {
    let (client_id, contact_id) = match record.kind {
        CrmKind::Client => (Some(record.id), None),
        CrmKind::Contact => (record.client_id, Some(record.id)),
    };
    db.link_visitor(visitor_id, client_id, contact_id)?;
    let dialog_id = db.latest_dialog_of_visitor(visitor_id)?;
    db.log_event(
        dialog_id,
        None,
        None,
        "crm_linked",
        &json!({"visitor_id": visitor_id, "kind": record.kind.as_str(), "id": record.id,
                "name": record.name, "reason": reason}),
    )?;
    Ok(())
}

/// The CRM user responsible for the visitor's card: the contact's, else the client's.
pub fn responsible_user(
    db: &mut Db<PooledConn>,
    visitor_id: VisitorId,
) -> Result<Option<OperatorId>> {
    let (client_id, contact_id) = db.visitor_links(visitor_id)?;
    if let Some(id) = contact_id {
        if let Some(owner) = db
            .crm_record(CrmKind::Contact, id)?
            .and_then(|c| c.owner_id)
        {
            return Ok(Some(owner));
        }
    }
    if let Some(id) = client_id {
        return Ok(db.crm_record(CrmKind::Client, id)?.and_then(|c| c.owner_id));
    }
    Ok(None)
}

/// The operator who got the visitor's dialog becomes the responsible user of the visitor's card
/// when it has none yet (it was made while the dialog waited in the queue).
pub fn adopt_cards(
    db: &mut Db<PooledConn>,
    visitor_id: VisitorId,
    operator_id: OperatorId,
) -> Result<()> {
    let (client_id, contact_id) = db.visitor_links(visitor_id)?;
    if let Some(id) = client_id {
        db.adopt_card(CrmKind::Client, id, operator_id)?;
    }
    if let Some(id) = contact_id {
        db.adopt_card(CrmKind::Contact, id, operator_id)?;
    }
    Ok(())
}
