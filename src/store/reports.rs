//! What reports read: dialogs opened in a period with their first reply, close time and rating,
//! and message counts per hour (grouped into the CRM's days in Rust, where the time zone is known).

use mysql::prelude::Queryable;
use mysql::Row;

use super::{Db, RowExt, StoreResult};
use crate::model::{ChannelId, DialogId, OperatorId};
use crate::time::Timestamp;

#[derive(Clone, Debug)]
pub struct ReportDialog {
    pub id: DialogId,
    pub channel_id: ChannelId,
    pub created_at: Timestamp,
    pub closed_at: Option<Timestamp>,
    pub assigned_operator_id: Option<OperatorId>,
    pub rating: Option<i64>,
    pub first_in: Option<Timestamp>,
    pub first_reply: Option<Timestamp>,
}

/// Filters of a report.
#[derive(Clone, Copy, Debug)]
pub struct ReportScope {
    pub from: Timestamp,
    pub to: Timestamp,
    pub channel_id: Option<ChannelId>,
    pub operator_id: Option<OperatorId>,
}

impl<Q: Queryable> Db<'_, Q> {
    /// Dialogs created in the period, each with its first visitor message and first operator reply.
    pub fn report_dialogs(&mut self, scope: &ReportScope) -> StoreResult<Vec<ReportDialog>> {
        let mut sql = String::from(
            "SELECT d.id, d.channel_id, d.created_at, d.closed_at, d.assigned_operator_id, d.rating, \
             (SELECT MIN(m.created_at) FROM {messages} m WHERE m.dialog_id = d.id AND m.direction = 'in') AS first_in, \
             (SELECT MIN(m.created_at) FROM {messages} m WHERE m.dialog_id = d.id AND m.direction = 'out' \
              AND m.author_type = 'operator') AS first_reply \
             FROM {dialogs} d FORCE INDEX (created) WHERE d.identity = ? AND d.created_at >= ? AND d.created_at < ?",
        );
        let mut params: Vec<mysql::Value> =
            vec![self.identity.into(), scope.from.into(), scope.to.into()];
        if let Some(channel) = scope.channel_id {
            sql.push_str(" AND d.channel_id = ?");
            params.push(channel.into());
        }
        if let Some(operator) = scope.operator_id {
            sql.push_str(" AND d.assigned_operator_id = ?");
            params.push(operator.into());
        }
        let rows: Vec<Row> = self.q.exec(self.t.sql(&sql), params)?;
        Ok(rows
            .into_iter()
            .map(|mut r| ReportDialog {
                id: r.col("id").unwrap_or_default(),
                channel_id: r.col("channel_id").unwrap_or_default(),
                created_at: r.col("created_at").unwrap_or(Timestamp(0)),
                closed_at: r.col("closed_at").unwrap_or_default(),
                assigned_operator_id: r.col("assigned_operator_id").unwrap_or_default(),
                rating: r.col("rating").unwrap_or_default(),
                first_in: r.col("first_in").unwrap_or_default(),
                first_reply: r.col("first_reply").unwrap_or_default(),
            })
            .collect())
    }

    /// Messages per UTC hour and direction in the period: (hour start, "in"/"out", count).
    pub fn report_message_hours(
        &mut self,
        scope: &ReportScope,
    ) -> StoreResult<Vec<(Timestamp, String, i64)>> {
        let mut sql = String::from(
            "SELECT DATE_FORMAT(m.created_at, '%Y-%m-%d %H:00:00') AS hour, m.direction, COUNT(*) AS n \
             FROM {messages} m FORCE INDEX (created)",
        );
        let filtered = scope.channel_id.is_some() || scope.operator_id.is_some();
        if filtered {
            sql.push_str(" JOIN {dialogs} d ON d.id = m.dialog_id");
        }
        sql.push_str(" WHERE m.identity = ? AND m.created_at >= ? AND m.created_at < ?");
        let mut params: Vec<mysql::Value> =
            vec![self.identity.into(), scope.from.into(), scope.to.into()];
        if let Some(channel) = scope.channel_id {
            sql.push_str(" AND m.channel_id = ?");
            params.push(channel.into());
        }
        if let Some(operator) = scope.operator_id {
            sql.push_str(" AND d.assigned_operator_id = ?");
            params.push(operator.into());
        }
        sql.push_str(" GROUP BY hour, m.direction");
        let rows: Vec<(String, String, i64)> = self.q.exec(self.t.sql(&sql), params)?;
        Ok(rows
            .into_iter()
            .filter_map(|(hour, dir, n)| {
                let t = Timestamp::parse_rfc3339(&format!("{}Z", hour.replace(' ', "T")))?;
                Some((t, dir, n))
            })
            .collect())
    }
}
