//! The host CRM's clients and contacts, through the configured table and column names, and the
//! links from visitors to them.
//!
//! Host rows may hold what strict SQL mode would refuse (empty strings in numeric columns, zero
//! dates), so they are read leniently; what we write fills every column we know of, so it is
//! accepted in strict and lenient modes alike.

use mysql::prelude::Queryable;
use mysql::Row;

use super::conversations::fit;
use super::{exec_write, lenient_text, positive_id, Db, StoreResult};
use crate::model::{OperatorId, VisitorId};
use crate::time::Timestamp;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrmKind {
    Client,
    Contact,
}

impl CrmKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CrmKind::Client => "client",
            CrmKind::Contact => "contact",
        }
    }
}

/// A client or contact card of the CRM.
#[derive(Clone, Debug, PartialEq)]
pub struct CrmRecord {
    pub kind: CrmKind,
    pub id: i64,
    pub name: String,
    pub phone: String,
    pub email: String,
    /// The CRM user responsible for the card.
    pub owner_id: Option<OperatorId>,
    /// A contact's company.
    pub client_id: Option<i64>,
}

fn text(row: &mut Row, idx: usize) -> String {
    lenient_text(row.take::<Option<mysql::Value>, _>(idx).flatten())
}

/// Columns: id, name, phone, email, owner, client.
fn record_from_row(kind: CrmKind, mut row: Row) -> CrmRecord {
    CrmRecord {
        kind,
        id: positive_id(&text(&mut row, 0)).unwrap_or_default(),
        name: text(&mut row, 1),
        phone: text(&mut row, 2),
        email: text(&mut row, 3),
        owner_id: positive_id(&text(&mut row, 4)),
        client_id: positive_id(&text(&mut row, 5)),
    }
}

const CLIENT_SELECT: &str = "SELECT {client_id}, {client_title}, {client_phone}, {client_email}, \
    {client_owner}, 0 FROM {client_table}";
const CONTACT_SELECT: &str = "SELECT {contact_id}, {contact_name}, \
    CONCAT_WS(', ', NULLIF({contact_phone}, ''), NULLIF({contact_mobile}, '')), {contact_email}, \
    {contact_owner}, {contact_client} FROM {contact_table}";

/// The last ten digits of a phone: `+7 (900) 111-22-33`, `8 900 1112233` and `79001112233`
/// are the same number. None for anything shorter (a short number would match too many cards).
pub fn phone_key(phone: &str) -> Option<String> {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    (digits.len() >= 10).then(|| digits[digits.len() - 10..].to_string())
}

impl<Q: Queryable> Db<'_, Q> {
    /// Clients and contacts whose name, phone or email contains `q` (phones compared by digits).
    pub fn search_crm(&mut self, q: &str, limit: usize) -> StoreResult<Vec<CrmRecord>> {
        let like = format!(
            "%{}%",
            q.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        let digits = phone_key(q).map(|d| format!("%{d}%"));
        let digits = digits.as_deref().unwrap_or("\u{0}no-phone");
        let mut found = Vec::new();
        let sql = self.t.sql(&format!(
            "{CLIENT_SELECT} WHERE {{client_identity}} = ? AND ({{client_title}} LIKE ? OR {{client_email}} LIKE ? \
             OR REGEXP_REPLACE({{client_phone}}, '[^0-9]', '') LIKE ?) ORDER BY {{client_title}} LIMIT ?"
        ));
        let rows: Vec<Row> = self
            .q
            .exec(sql, (self.identity, &like, &like, digits, limit as u64))?;
        found.extend(
            rows.into_iter()
                .map(|r| record_from_row(CrmKind::Client, r)),
        );
        let sql = self.t.sql(&format!(
            "{CONTACT_SELECT} WHERE {{contact_identity}} = ? AND ({{contact_name}} LIKE ? OR {{contact_email}} LIKE ? \
             OR REGEXP_REPLACE(CONCAT({{contact_phone}}, ',', {{contact_mobile}}), '[^0-9,]', '') LIKE ?) \
             ORDER BY {{contact_name}} LIMIT ?"
        ));
        let rows: Vec<Row> = self
            .q
            .exec(sql, (self.identity, &like, &like, digits, limit as u64))?;
        found.extend(
            rows.into_iter()
                .map(|r| record_from_row(CrmKind::Contact, r)),
        );
        Ok(found)
    }

    /// A card of the CRM with this phone (by its last ten digits) or email; clients first.
    pub fn find_crm_match(
        &mut self,
        kind: CrmKind,
        phone: Option<&str>,
        email: Option<&str>,
    ) -> StoreResult<Option<CrmRecord>> {
        if let Some(key) = phone.and_then(phone_key) {
            let pattern = format!("%{key}%");
            let sql = match kind {
                CrmKind::Client => format!(
                    "{CLIENT_SELECT} WHERE {{client_identity}} = ? \
                     AND REGEXP_REPLACE({{client_phone}}, '[^0-9,]', '') LIKE ? ORDER BY {{client_id}} LIMIT 1"
                ),
                CrmKind::Contact => format!(
                    "{CONTACT_SELECT} WHERE {{contact_identity}} = ? \
                     AND REGEXP_REPLACE(CONCAT({{contact_phone}}, ',', {{contact_mobile}}), '[^0-9,]', '') LIKE ? \
                     ORDER BY {{contact_id}} LIMIT 1"
                ),
            };
            let row: Option<Row> = self
                .q
                .exec_first(self.t.sql(&sql), (self.identity, &pattern))?;
            if let Some(row) = row {
                return Ok(Some(record_from_row(kind, row)));
            }
        }
        if let Some(email) = email.map(str::trim).filter(|e| e.contains('@')) {
            let sql = match kind {
                CrmKind::Client => format!(
                    "{CLIENT_SELECT} WHERE {{client_identity}} = ? AND {{client_email}} = ? ORDER BY {{client_id}} LIMIT 1"
                ),
                CrmKind::Contact => format!(
                    "{CONTACT_SELECT} WHERE {{contact_identity}} = ? AND {{contact_email}} = ? ORDER BY {{contact_id}} LIMIT 1"
                ),
            };
            let row: Option<Row> = self
                .q
                .exec_first(self.t.sql(&sql), (self.identity, email))?;
            if let Some(row) = row {
                return Ok(Some(record_from_row(kind, row)));
            }
        }
        Ok(None)
    }

    pub fn crm_record(&mut self, kind: CrmKind, id: i64) -> StoreResult<Option<CrmRecord>> {
        let sql = match kind {
            CrmKind::Client => {
                format!("{CLIENT_SELECT} WHERE {{client_id}} = ? AND {{client_identity}} = ?")
            }
            CrmKind::Contact => {
                format!("{CONTACT_SELECT} WHERE {{contact_id}} = ? AND {{contact_identity}} = ?")
            }
        };
        let row: Option<Row> = self.q.exec_first(self.t.sql(&sql), (id, self.identity))?;
        Ok(row.map(|r| record_from_row(kind, r)))
    }

    /// Runs a write into the CRM's own tables under the CRM's own SQL mode: the host's tables
    /// have columns we do not know of, which a strict server would refuse to leave to defaults.
    fn in_crm_sql_mode<T>(
        &mut self,
        write: impl FnOnce(&mut Self) -> StoreResult<T>,
    ) -> StoreResult<T> {
        self.q.query_drop(
            "SET @crmchats_sql_mode = @@SESSION.sql_mode, \
             SESSION sql_mode = 'ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION,ALLOW_INVALID_DATES'",
        )?;
        let result = write(self);
        self.q
            .query_drop("SET SESSION sql_mode = @crmchats_sql_mode")?;
        result
    }

    /// Creates a client card; its id.
    pub fn create_client(
        &mut self,
        title: &str,
        phone: &str,
        email: &str,
        owner: OperatorId,
    ) -> StoreResult<i64> {
        let sql = self.t.sql(
            "INSERT INTO {client_table} ({client_title}, {client_phone}, {client_email}, {client_owner}, \
             {client_created}, {client_identity}) VALUES (?, ?, ?, ?, ?, ?)",
        );
        let params = (
            fit(title, 250),
            fit(phone, 250),
            fit(email, 250),
            owner,
            Timestamp::now(),
            self.identity,
        );
        let (_, id) = self.in_crm_sql_mode(|db| exec_write(&mut db.q, &sql, params))?;
        Ok(id as i64)
    }

    /// Creates a contact card; its id.
    pub fn create_contact(
        &mut self,
        name: &str,
        phone: &str,
        email: &str,
        owner: OperatorId,
    ) -> StoreResult<i64> {
        let sql = self.t.sql(
            "INSERT INTO {contact_table} ({contact_name}, {contact_mobile}, {contact_email}, {contact_owner}, \
             {contact_created}, {contact_identity}) VALUES (?, ?, ?, ?, ?, ?)",
        );
        let params = (
            fit(name, 250),
            fit(phone, 250),
            fit(email, 250),
            owner,
            Timestamp::now(),
            self.identity,
        );
        let (_, id) = self.in_crm_sql_mode(|db| exec_write(&mut db.q, &sql, params))?;
        Ok(id as i64)
    }

    /// Gives an ownerless card (made while its dialog waited in the queue) its first owner.
    pub fn adopt_card(&mut self, kind: CrmKind, id: i64, owner: OperatorId) -> StoreResult<()> {
        let sql = match kind {
            CrmKind::Client => "UPDATE {client_table} SET {client_owner} = ? \
                WHERE {client_id} = ? AND {client_identity} = ? AND ({client_owner} = 0 OR {client_owner} IS NULL)",
            CrmKind::Contact => "UPDATE {contact_table} SET {contact_owner} = ? \
                WHERE {contact_id} = ? AND {contact_identity} = ? AND ({contact_owner} = 0 OR {contact_owner} IS NULL)",
        };
        let sql = self.t.sql(sql);
        self.in_crm_sql_mode(|db| {
            db.q.exec_drop(sql, (owner, id, db.identity))?;
            Ok(())
        })
    }

    /// Links a visitor to a client and/or contact (None clears that link).
    pub fn link_visitor(
        &mut self,
        visitor_id: VisitorId,
        client_id: Option<i64>,
        contact_id: Option<i64>,
    ) -> StoreResult<()> {
        let sql = self.t.sql(
            "UPDATE {visitors} SET client_id = ?, contact_id = ?, updated_at = ? WHERE id = ? AND identity = ?",
        );
        self.q.exec_drop(
            sql,
            (
                client_id,
                contact_id,
                Timestamp::now(),
                visitor_id,
                self.identity,
            ),
        )?;
        Ok(())
    }

    /// (client_id, contact_id) the visitor is linked to.
    pub fn visitor_links(
        &mut self,
        visitor_id: VisitorId,
    ) -> StoreResult<(Option<i64>, Option<i64>)> {
        let sql = self
            .t
            .sql("SELECT client_id, contact_id FROM {visitors} WHERE id = ? AND identity = ?");
        Ok(self
            .q
            .exec_first(sql, (visitor_id, self.identity))?
            .unwrap_or((None, None)))
    }

    /// Dialogs of every visitor linked to the contact, newest first.
    pub fn contact_dialog_ids(&mut self, contact_id: i64, limit: usize) -> StoreResult<Vec<i64>> {
        let sql = self.t.sql(
            "SELECT d.id FROM {dialogs} d JOIN {visitors} v ON v.id = d.visitor_id \
             WHERE d.identity = ? AND v.contact_id = ? ORDER BY d.last_activity_at DESC, d.id DESC LIMIT ?",
        );
        Ok(self
            .q
            .exec(sql, (self.identity, contact_id, limit as u64))?)
    }

    /// Dialogs of every visitor linked to the client or to one of its contacts, newest first.
    pub fn client_dialog_ids(&mut self, client_id: i64, limit: usize) -> StoreResult<Vec<i64>> {
        let sql = self.t.sql(
            "SELECT d.id FROM {dialogs} d JOIN {visitors} v ON v.id = d.visitor_id \
             WHERE d.identity = ? AND (v.client_id = ? OR v.contact_id IN \
             (SELECT {contact_id} FROM {contact_table} WHERE {contact_client} = ? AND {contact_identity} = ?)) \
             ORDER BY d.last_activity_at DESC, d.id DESC LIMIT ?",
        );
        Ok(self.q.exec(
            sql,
            (
                self.identity,
                client_id,
                client_id,
                self.identity,
                limit as u64,
            ),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::phone_key;

    #[test]
    fn phones_compare_by_their_last_ten_digits() {
        assert_eq!(
            phone_key("+7 (900) 111-22-33").as_deref(),
            Some("9001112233")
        );
        assert_eq!(phone_key("8 900 1112233"), phone_key("79001112233"));
        assert_eq!(phone_key("12-34"), None);
        assert_eq!(
            phone_key("123-45-67"),
            None,
            "too short to tell people apart"
        );
    }
}
