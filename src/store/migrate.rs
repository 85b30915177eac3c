//! Numbered migrations from `sql/`, applied once per database under a named lock, so two PHP
//! processes starting at the same time do not race.

use mysql::prelude::Queryable;
use mysql::PooledConn;
use sha2::Digest;

use super::{StoreError, StoreResult, Tables};

/// (version, SQL) in order. Append, never edit an applied one.
const MIGRATIONS: &[(u32, &str)] = &[
    (1, include_str!("../../sql/001_init.sql")),
    (2, include_str!("../../sql/002_channel_health.sql")),
    (3, include_str!("../../sql/003_team.sql")),
    (4, include_str!("../../sql/004_outbox.sql")),
    (5, include_str!("../../sql/005_imports.sql")),
    (6, include_str!("../../sql/006_productivity.sql")),
    (7, include_str!("../../sql/007_ratings.sql")),
    (8, include_str!("../../sql/008_send_pace.sql")),
];

pub fn latest_version() -> u32 {
    MIGRATIONS.last().map(|m| m.0).unwrap_or(0)
}

pub fn apply(conn: &mut PooledConn, tables: &Tables, database: &str) -> StoreResult<()> {
    if current_version(conn, tables)? >= latest_version() {
        return Ok(()); // the common case: one cheap query
    }
    // MySQL limits lock names to 64 characters: a digest of the table name stays within it.
    let digest = crate::storage::hex(
        &sha2::Sha256::digest(format!("{database}.{}", tables.schema).as_bytes())[..8],
    );
    let lock_name = format!("crmchats_migrate_{digest}");
    let locked: Option<i64> = conn.exec_first("SELECT GET_LOCK(?, 60)", (&lock_name,))?;
    if locked != Some(1) {
        return Err(StoreError::Migration {
            version: latest_version(),
            message: "could not take the migration lock".into(),
        });
    }
    let result = apply_locked(conn, tables);
    let _: Option<i64> = conn.exec_first("SELECT RELEASE_LOCK(?)", (&lock_name,))?;
    result
}

fn apply_locked(conn: &mut PooledConn, tables: &Tables) -> StoreResult<()> {
    conn.query_drop(format!(
        "CREATE TABLE IF NOT EXISTS {} (`version` INT NOT NULL PRIMARY KEY, `applied_at` DATETIME(3) NOT NULL) \
         ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
        tables.schema
    ))?;
    let done = current_version(conn, tables)?;
    for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > done) {
        for statement in split_statements(&sql.replace("{prefix}", &tables.prefix)) {
            conn.query_drop(&statement)
                .map_err(|e| StoreError::Migration {
                    version: *version,
                    message: e.to_string(),
                })?;
        }
        conn.exec_drop(
            format!(
                "INSERT INTO {} (`version`, `applied_at`) VALUES (?, UTC_TIMESTAMP(3))",
                tables.schema
            ),
            (version,),
        )?;
    }
    Ok(())
}

fn current_version(conn: &mut PooledConn, tables: &Tables) -> StoreResult<u32> {
    match conn
        .query_first::<Option<u32>, _>(format!("SELECT MAX(`version`) FROM {}", tables.schema))
    {
        Ok(v) => Ok(v.flatten().unwrap_or(0)),
        // 1146: table doesn't exist yet.
        Err(mysql::Error::MySqlError(e)) if e.code == 1146 => Ok(0),
        Err(e) => Err(e.into()),
    }
}

/// Splits a migration file into statements: `;` at the end of a line ends one; `--` lines are
/// comments.
pub fn split_statements(sql: &str) -> Vec<String> {
    let mut statements = Vec::new();
    let mut current = String::new();
    for line in sql.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("--") || trimmed.is_empty() {
            continue;
        }
        current.push_str(line);
        current.push('\n');
        if trimmed.ends_with(';') {
            statements.push(current.trim().trim_end_matches(';').to_string());
            current.clear();
        }
    }
    if !current.trim().is_empty() {
        statements.push(current.trim().to_string());
    }
    statements
}
