//! The host CRM's users, read through the configured table and column names.

use mysql::prelude::Queryable;
use mysql::Row;

use super::{lenient_text, Db, Store, StoreResult};
use crate::model::OperatorId;

#[derive(Clone, Debug, PartialEq)]
pub struct HostUser {
    pub id: OperatorId,
    pub name: String,
    pub login: String,
    pub is_admin: bool,
}

fn user_from_row(mut row: Row) -> HostUser {
    // Host columns may hold values strict mode would refuse; read them leniently.
    let text = |row: &mut Row, idx: usize| -> String {
        lenient_text(row.take::<Option<mysql::Value>, _>(idx).flatten())
    };
    let id = text(&mut row, 0).parse().unwrap_or_default();
    let name = text(&mut row, 1);
    let login = text(&mut row, 2);
    let is_admin = text(&mut row, 3).eq_ignore_ascii_case("on");
    HostUser {
        id,
        name: if name.is_empty() { login.clone() } else { name },
        login,
        is_admin,
    }
}

impl Store {
    pub fn host_users(&self) -> StoreResult<Vec<HostUser>> {
        self.db()?.host_users()
    }

    pub fn host_user(&self, id: OperatorId) -> StoreResult<Option<HostUser>> {
        self.db()?.host_user(id)
    }
}

impl<Q: Queryable> Db<'_, Q> {
    pub fn host_users(&mut self) -> StoreResult<Vec<HostUser>> {
        let sql = self.t.sql(
            "SELECT {user_id}, {user_name}, {user_login}, {user_is_admin} FROM {user_table} \
             WHERE {user_identity} = ? ORDER BY {user_id}",
        );
        let rows: Vec<Row> = self.q.exec(sql, (self.identity,))?;
        Ok(rows.into_iter().map(user_from_row).collect())
    }

    pub fn host_user(&mut self, id: OperatorId) -> StoreResult<Option<HostUser>> {
        let sql = self.t.sql(
            "SELECT {user_id}, {user_name}, {user_login}, {user_is_admin} FROM {user_table} \
             WHERE {user_id} = ? AND {user_identity} = ?",
        );
        let row: Option<Row> = self.q.exec_first(sql, (id, self.identity))?;
        Ok(row.map(user_from_row))
    }
}
