//! Incremental exports: tickets, users and organizations in the order they changed, (updated_at, id), and the
//! tickets' audit rows in the order they were written, (created_at, id). A page starts after a [`Position`] (a
//! keyset, never an offset) and ends before a [`horizon`]: the time before which no change can still appear.
//!
//! Why a horizon. A reader must never move past a change that has not been committed yet, or it would skip it
//! for good. `updated_at` is taken with the application's clock inside the writing transaction, after it began
//! (every store write runs in a transaction opened by `Db::begin`), but it becomes visible only at commit:
//! - On PostgreSQL, transactions commit in any order: one that began at T and commits a second later becomes
//!   visible after rows stamped T + 0.5 s. So a page hands out only rows stamped before the start of the oldest
//!   transaction still running in this database (`pg_stat_activity.xact_start`, which PostgreSQL sets when the
//!   transaction begins and clears only after its commit is visible), or before now when none runs. Any change not
//!   yet visible belongs to a transaction that is running now or starts later, so it is stamped after the horizon
//!   and comes in a later page. A transaction left open (a session idle in transaction) holds the exports at its
//!   start until it ends; they catch up then, with nothing lost.
//! - On SQLite, writes go through one writer, one transaction after the other, and each takes its time while
//!   holding the writer: every committed row is stamped no later than any change still in progress (group commit
//!   included, whose members commit together), so the horizon is simply now.
//!
//! Both subtract [`CLOCK_MARGIN`]: `updated_at` comes from the clock of whichever instance wrote it and
//! `xact_start` from the database server's, which may differ a little; a clock stepped back by NTP likewise. The
//! cost is that a change shows up in an export that much later, never that it is lost.

use chrono::{DateTime, TimeDelta, Utc};

use crate::audit::{self, AuditEntry};
use crate::conn::{Arg, Backend, Conn, Row};
use crate::error::DbError;
use crate::organizations::{self, Organization};
use crate::tickets::{self, Ticket};
use crate::users::{self, User};
use crate::{args, now};

/// How far behind the clocks the horizon stays (see the module documentation).
pub const CLOCK_MARGIN: TimeDelta = TimeDelta::seconds(1);

/// Where an export stands: after the row changed at `at` with id `id`. Starting at a time T is the position
/// (T, 0): ids start at 1, so every row changed at T or later comes after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub at: DateTime<Utc>,
    pub id: i64,
}

impl Position {
    /// Everything changed at `at` or later.
    pub fn since(at: DateTime<Utc>) -> Position {
        Position { at, id: 0 }
    }
}

/// One page of an export: at most the rows asked for, in change order.
#[derive(Debug, Clone)]
pub struct Slice<T> {
    pub items: Vec<T>,
    /// After the last row handed out; the position given when there was none.
    pub next: Position,
    /// No row changed before the horizon follows: the export has caught up (for now).
    pub caught_up: bool,
}

/// The time before which every change is committed and visible (see the module documentation).
pub async fn horizon(conn: &mut Conn) -> Result<DateTime<Utc>, DbError> {
    let until = match conn.backend() {
        Backend::Sqlite => now(),
        Backend::Postgres => {
            // Client backends only: autovacuum and other workers hold transactions too, but write no rows here.
            // (A role sees `xact_start` of its own sessions, and of all with pg_read_all_stats: partnerdesk's
            // instances share one role.)
            let row = conn
                .fetch_one(
                    "SELECT MIN(xact_start) AS oldest, clock_timestamp() AS now FROM pg_stat_activity \
                     WHERE datname = current_database() AND pid <> pg_backend_pid() \
                     AND backend_type = 'client backend'",
                    &[],
                )
                .await?;
            let now = row.time("now")?;
            row.opt_time("oldest")?.map_or(now, |oldest| oldest.min(now))
        }
    };
    Ok(until - CLOCK_MARGIN)
}

/// ` AND (time, id) > (?, ?) AND time < ? ORDER BY time, id LIMIT ?`, with its arguments. The plain `time >= ?`
/// lets either planner start the index range at the position; the row comparison then skips the rows of that
/// instant already handed out.
fn keyset(time: &str, from: Position, until: DateTime<Utc>, limit: i64, a: &mut Vec<Arg>) -> String {
    a.extend([
        Arg::Time(from.at),
        Arg::Time(from.at),
        Arg::I64(from.id),
        Arg::Time(until),
        Arg::I64(limit + 1),
    ]);
    format!(" AND {time} >= ? AND ({time}, id) > (?, ?) AND {time} < ? ORDER BY {time}, id LIMIT ?")
}

/// The page out of `rows` (read with one more than `limit`, to know whether more follow).
fn slice<T>(
    rows: Vec<Row>,
    from: Position,
    limit: i64,
    map: impl Fn(&Row) -> Result<T, DbError>,
    position: impl Fn(&T) -> Position,
) -> Result<Slice<T>, DbError> {
    let caught_up = rows.len() as i64 <= limit;
    let items = rows
        .iter()
        .take(limit.max(0) as usize)
        .map(map)
        .collect::<Result<Vec<T>, DbError>>()?;
    let next = items.last().map_or(from, position);
    Ok(Slice { items, next, caught_up })
}

/// Tickets changed after `from` and before `until`, at most `limit`.
pub async fn tickets(
    conn: &mut Conn,
    from: Position,
    until: DateTime<Utc>,
    limit: i64,
) -> Result<Slice<Ticket>, DbError> {
    let mut a = Vec::new();
    let sql = format!(
        "SELECT * FROM tickets WHERE 1 = 1{}",
        keyset("updated_at", from, until, limit, &mut a)
    );
    let rows = conn.fetch_all(&sql, &a).await?;
    let found = slice(rows, from, limit, tickets::from_row, |t| Position {
        at: t.updated_at,
        id: t.id.0,
    })?;
    // An export carries each ticket's custom field values, as every other read of a ticket does (one query a page).
    Ok(Slice {
        items: tickets::with_fields(conn, found.items).await?,
        ..found
    })
}

/// Users changed after `from` and before `until`, at most `limit`.
pub async fn users(conn: &mut Conn, from: Position, until: DateTime<Utc>, limit: i64) -> Result<Slice<User>, DbError> {
    let mut a = Vec::new();
    let sql = format!(
        "SELECT {} FROM users WHERE 1 = 1{}",
        users::COLUMNS,
        keyset("updated_at", from, until, limit, &mut a)
    );
    let rows = conn.fetch_all(&sql, &a).await?;
    slice(rows, from, limit, users::from_row, |u| Position {
        at: u.updated_at,
        id: u.id.0,
    })
}

/// Organizations changed after `from` and before `until`, at most `limit`.
pub async fn organizations(
    conn: &mut Conn,
    from: Position,
    until: DateTime<Utc>,
    limit: i64,
) -> Result<Slice<Organization>, DbError> {
    let mut a = Vec::new();
    let sql = format!(
        "SELECT * FROM organizations WHERE 1 = 1{}",
        keyset("updated_at", from, until, limit, &mut a)
    );
    let rows = conn.fetch_all(&sql, &a).await?;
    slice(rows, from, limit, organizations::from_row, |o| Position {
        at: o.updated_at,
        id: o.id.0,
    })
}

/// The audit rows of ticket creations and updates written after `from` and before `until`, at most `limit`.
pub async fn ticket_changes(
    conn: &mut Conn,
    from: Position,
    until: DateTime<Utc>,
    limit: i64,
) -> Result<Slice<AuditEntry>, DbError> {
    let mut a = args!["ticket", "ticket.create", "ticket.update"].to_vec();
    let sql = format!(
        "SELECT * FROM audit_log WHERE entity_type = ? AND action IN (?, ?){}",
        keyset("created_at", from, until, limit, &mut a)
    );
    let rows = conn.fetch_all(&sql, &a).await?;
    slice(rows, from, limit, audit::from_row, |e| Position {
        at: e.created_at,
        id: e.id,
    })
}
