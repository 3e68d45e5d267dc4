//! Reading the audit log as Zendesk's APIs show it: a ticket's trail (`/tickets/{id}/audits`) and the account's
//! log for admins (`/audit_logs`).

use chrono::{DateTime, Utc};
use partnerdesk_core::TicketId;

use crate::audit::{AuditEntry, from_row};
use crate::conn::{Arg, Conn};
use crate::error::DbError;
use crate::{Page, Window, args};

/// The actions whose rows hold a ticket before and after (`{ticket, comment}`): what a ticket's audits are made of.
const TICKET_ACTIONS: &str = "action IN ('ticket.create', 'ticket.update')";

/// A ticket's creation and updates, oldest first (along the `(entity_type, entity_id, id)` index).
pub async fn ticket_trail(conn: &mut Conn, ticket: TicketId, window: Window) -> Result<Page<AuditEntry>, DbError> {
    let mut a = args!["ticket", ticket.0].to_vec();
    let sql = format!(
        "SELECT * FROM audit_log WHERE entity_type = ? AND entity_id = ? AND {TICKET_ACTIONS}{}",
        window.sql("id", &mut a)
    );
    Page::from_rows(conn.fetch_all(&sql, &a).await?, &window, from_row)
}

pub async fn count_ticket_trail(conn: &mut Conn, ticket: TicketId) -> Result<i64, DbError> {
    let sql =
        format!("SELECT COUNT(*) AS n FROM audit_log WHERE entity_type = ? AND entity_id = ? AND {TICKET_ACTIONS}");
    conn.fetch_one(&sql, &args!["ticket", ticket.0]).await?.i64("n")
}

/// Which rows of the log to list; each `None` is no filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub actor_id: Option<i64>,
    /// The kind of record changed (`ticket`, `user`, `organization`, ...).
    pub entity_type: Option<String>,
    /// Rows written at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Rows written at or before this time.
    pub to: Option<DateTime<Utc>>,
}

fn filter_sql(f: &AuditFilter, a: &mut Vec<Arg>) -> String {
    let mut s = String::new();
    if let Some(actor) = f.actor_id {
        s.push_str(" AND actor_id = ?");
        a.push(Arg::I64(actor));
    }
    if let Some(t) = &f.entity_type {
        s.push_str(" AND entity_type = ?");
        a.push(Arg::Text(t.clone()));
    }
    if let Some(from) = f.from {
        s.push_str(" AND created_at >= ?");
        a.push(Arg::Time(from));
    }
    if let Some(to) = f.to {
        s.push_str(" AND created_at <= ?");
        a.push(Arg::Time(to));
    }
    s
}

/// The log, newest first: ids grow with time, so id order is time order and the primary key serves the list
/// (`window.after_id` then means "older than").
pub async fn list(conn: &mut Conn, f: &AuditFilter, window: Window) -> Result<Page<AuditEntry>, DbError> {
    let window = Window { desc: true, ..window };
    let mut a = Vec::new();
    let filter = filter_sql(f, &mut a);
    let sql = format!(
        "SELECT * FROM audit_log WHERE 1 = 1{filter}{}",
        window.sql("id", &mut a)
    );
    Page::from_rows(conn.fetch_all(&sql, &a).await?, &window, from_row)
}

pub async fn count(conn: &mut Conn, f: &AuditFilter) -> Result<i64, DbError> {
    let mut a = Vec::new();
    let sql = format!(
        "SELECT COUNT(*) AS n FROM audit_log WHERE 1 = 1{}",
        filter_sql(f, &mut a)
    );
    conn.fetch_one(&sql, &a).await?.i64("n")
}

/// One row of the log.
pub async fn get(conn: &mut Conn, id: i64) -> Result<AuditEntry, DbError> {
    from_row(
        &conn
            .fetch_one("SELECT * FROM audit_log WHERE id = ?", &args![id])
            .await?,
    )
}
