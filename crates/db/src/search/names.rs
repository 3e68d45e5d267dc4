//! What the names in a query (`organization:"Acme"`, `assignee:bob@acme.example`, `group:Partners`) stand for:
//! ids, compared case-insensitively, or the id itself when the name is a number. A name that names nothing
//! gives no ids, and the filter then matches no ticket.

use crate::args;
use crate::conn::{Arg, Conn};
use crate::error::DbError;

async fn ids(conn: &mut Conn, sql: &str, args: &[Arg]) -> Result<Vec<i64>, DbError> {
    conn.fetch_all(sql, args).await?.iter().map(|r| r.i64("id")).collect()
}

fn as_id(name: &str) -> i64 {
    name.parse::<i64>().unwrap_or(0)
}

/// Users with this e-mail address (when it has an `@`) or this name; at most 100.
pub async fn users(conn: &mut Conn, who: &str) -> Result<Vec<i64>, DbError> {
    if who.contains('@') {
        return ids(conn, "SELECT id FROM users WHERE email = ?", &args![who.to_lowercase()]).await;
    }
    ids(
        conn,
        "SELECT id FROM users WHERE lower(name) = ? OR id = ? ORDER BY id LIMIT 100",
        &args![who.to_lowercase(), as_id(who)],
    )
    .await
}

pub async fn organizations(conn: &mut Conn, name: &str) -> Result<Vec<i64>, DbError> {
    ids(
        conn,
        "SELECT id FROM organizations WHERE name_key = ? OR id = ?",
        &args![name.to_lowercase(), as_id(name)],
    )
    .await
}

pub async fn groups(conn: &mut Conn, name: &str) -> Result<Vec<i64>, DbError> {
    ids(
        conn,
        "SELECT id FROM agent_groups WHERE name_key = ? OR id = ?",
        &args![name.to_lowercase(), as_id(name)],
    )
    .await
}

/// Forms by name or by the name partners see.
pub async fn forms(conn: &mut Conn, name: &str) -> Result<Vec<i64>, DbError> {
    ids(
        conn,
        "SELECT id FROM ticket_forms WHERE name_key = ? OR lower(display_name) = ? OR id = ?",
        &args![name.to_lowercase(), name.to_lowercase(), as_id(name)],
    )
    .await
}
