//! Bulk jobs (Zendesk's job statuses): a list of up to 100 items to create, update or delete, processed in the
//! background by one instance at a time under a lease, as the outbox is.
//!
//! Each item's result is a row of `job_results`, written in the transaction that applies the item (a chunk of a
//! job's items, each in a savepoint of its own), together with the job's progress; both are written only while the
//! worker holds the lease. A worker that crashed mid-chunk leaves neither the chunk's changes nor their results, so
//! whoever takes the job over goes on after the last result recorded; a worker that lost its lease finds the job
//! moved on (`advance` answers false) and its transaction, with the changes, rolls back; and recording an item's
//! result twice would hit the results' key. No item is applied twice.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::conn::{Arg, Backend, Conn, Row};
use crate::error::DbError;
use crate::{args, now};

/// Where a job stands (Zendesk's words).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    Queued,
    Working,
    Completed,
    Failed,
    Killed,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Working => "working",
            JobState::Completed => "completed",
            JobState::Failed => "failed",
            JobState::Killed => "killed",
        }
    }

    pub fn parse(s: &str) -> Option<JobState> {
        [
            JobState::Queued,
            JobState::Working,
            JobState::Completed,
            JobState::Failed,
            JobState::Killed,
        ]
        .into_iter()
        .find(|j| j.as_str() == s)
    }

    /// Whether the job is over (nothing more happens to it).
    pub fn is_done(self) -> bool {
        !matches!(self, JobState::Queued | JobState::Working)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: String,
    /// What the job does, e.g. `users.create_many` (the application layer's names).
    pub kind: String,
    pub status: JobState,
    pub total: i64,
    pub progress: i64,
    /// The items as posted (a JSON array), and whatever else the kind needs.
    pub payload: Value,
    pub message: Option<String>,
    /// Whose job it is: every item is checked against this account's rights as they are when it is processed.
    pub created_by_id: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn from_row(r: &Row) -> Result<Job, DbError> {
    Ok(Job {
        id: r.text("id")?,
        kind: r.text("kind")?,
        status: crate::parse_enum("status", &r.text("status")?, JobState::parse)?,
        total: r.i64("total")?,
        progress: r.i64("progress")?,
        payload: serde_json::from_str(&r.text("payload")?)
            .map_err(|e| DbError::Corrupt(format!("job payload: {e}")))?,
        message: r.opt_text("message")?,
        created_by_id: r.i64("created_by_id")?,
        created_at: r.time("created_at")?,
        updated_at: r.time("updated_at")?,
    })
}

/// Queues a job.
pub async fn create(
    conn: &mut Conn,
    id: &str,
    kind: &str,
    total: i64,
    payload: &Value,
    created_by_id: i64,
) -> Result<Job, DbError> {
    let t = now();
    let row = conn
        .fetch_one(
            "INSERT INTO jobs (id, kind, status, total, progress, payload, created_by_id, created_at, updated_at) \
             VALUES (?, ?, 'queued', ?, 0, ?, ?, ?, ?) RETURNING *",
            &args![id, kind, total, payload.to_string(), created_by_id, t, t],
        )
        .await?;
    from_row(&row)
}

pub async fn get(conn: &mut Conn, id: &str) -> Result<Job, DbError> {
    from_row(&conn.fetch_one("SELECT * FROM jobs WHERE id = ?", &args![id]).await?)
}

/// The results recorded so far, in item order.
pub async fn results(conn: &mut Conn, id: &str) -> Result<Vec<Value>, DbError> {
    conn.fetch_all(
        "SELECT result FROM job_results WHERE job_id = ? ORDER BY item_index",
        &args![id],
    )
    .await?
    .iter()
    .map(|r| serde_json::from_str(&r.text("result")?).map_err(|e| DbError::Corrupt(format!("job result: {e}"))))
    .collect()
}

/// Takes the oldest job that is waiting, or whose holder's lease ran out, for `worker` until `lease_until`.
pub async fn claim(
    conn: &mut Conn,
    worker: &str,
    at: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> Result<Option<Job>, DbError> {
    let lock = if conn.backend() == Backend::Postgres {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let sql = format!(
        "UPDATE jobs SET status = 'working', lease_owner = ?, lease_until = ?, updated_at = ? WHERE id = (SELECT id FROM jobs \
         WHERE status IN ('queued', 'working') AND (lease_until IS NULL OR lease_until < ?) ORDER BY created_at, id LIMIT 1{lock}) \
         RETURNING *"
    );
    conn.fetch_optional(&sql, &args![worker, lease_until, at, at])
        .await?
        .as_ref()
        .map(from_row)
        .transpose()
}

/// Moves the job's progress from `from` to `to` items and its lease to `lease_until`, if `worker` still holds it
/// and the job is where the worker left it; false when not (the lease was lost: the caller rolls back and stops).
/// Called first in a chunk's transaction with `from == to`, which on PostgreSQL locks the job's row until the chunk
/// is recorded, and last with the chunk's end.
pub async fn advance(
    conn: &mut Conn,
    id: &str,
    worker: &str,
    from: i64,
    to: i64,
    lease_until: DateTime<Utc>,
) -> Result<bool, DbError> {
    let n = conn
        .execute(
            "UPDATE jobs SET progress = ?, lease_until = ?, updated_at = ? \
             WHERE id = ? AND lease_owner = ? AND status = 'working' AND progress = ?",
            &args![to, lease_until, now(), id, worker, from],
        )
        .await?;
    Ok(n == 1)
}

/// Records items' results, `(index, result)`, in the transaction that applied them (after `advance`). The key
/// makes a result recorded twice fail, and with it the transaction.
pub async fn record(conn: &mut Conn, id: &str, results: &[(i64, Value)]) -> Result<(), DbError> {
    // At most 100 rows of 3 values: well within either database's limit on bound values.
    for part in results.chunks(100) {
        let marks = vec!["(?, ?, ?)"; part.len()].join(", ");
        let mut a = Vec::with_capacity(part.len() * 3);
        for (index, result) in part {
            a.extend([
                Arg::Text(id.to_owned()),
                Arg::I64(*index),
                Arg::Text(result.to_string()),
            ]);
        }
        conn.execute(
            &format!("INSERT INTO job_results (job_id, item_index, result) VALUES {marks}"),
            &a,
        )
        .await?;
    }
    Ok(())
}

/// Ends a job `worker` holds: `completed`, or `failed` with why.
pub async fn finish(conn: &mut Conn, id: &str, worker: &str, status: JobState, message: &str) -> Result<bool, DbError> {
    let n = conn
        .execute(
            "UPDATE jobs SET status = ?, message = ?, lease_owner = NULL, lease_until = NULL, updated_at = ? \
             WHERE id = ? AND lease_owner = ? AND status = 'working'",
            &args![status.as_str(), message, now(), id, worker],
        )
        .await?;
    Ok(n == 1)
}

/// Gives a job back (a worker stopping between items), so that another instance may go on at once.
pub async fn release(conn: &mut Conn, id: &str, worker: &str) -> Result<(), DbError> {
    conn.execute(
        "UPDATE jobs SET lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ? AND status = 'working'",
        &args![id, worker],
    )
    .await?;
    Ok(())
}

/// Frees the leases an earlier life of instance `instance` held (its workers' names start with its name and a dot;
/// a killed process cannot give them back).
pub async fn release_leases_of(conn: &mut Conn, instance: &str) -> Result<u64, DbError> {
    let prefix = format!("{instance}.");
    conn.execute(
        "UPDATE jobs SET lease_owner = NULL, lease_until = NULL \
         WHERE substr(lease_owner, 1, CAST(? AS INTEGER)) = ? AND status = 'working'",
        &args![prefix.len() as i64, prefix.as_str()],
    )
    .await
}

/// Forgets jobs done before `before`, with their results; returns how many.
pub async fn purge_done(conn: &mut Conn, before: DateTime<Utc>) -> Result<u64, DbError> {
    conn.execute(
        "DELETE FROM jobs WHERE status IN ('completed', 'failed', 'killed') AND updated_at < ?",
        &args![before],
    )
    .await
}

/// How many jobs of `created_by_id` are not yet done, counted with the account's row locked until the transaction
/// `conn` ends, so that a limit checked on the count before a `create` in the same transaction holds when one account
/// submits many jobs at once: on PostgreSQL the second submission waits on the row (`FOR UPDATE`) and, once the first
/// has committed, counts its job; on SQLite the transactions already run one after another on the one writer.
/// The account's row, not an advisory lock, as every other "computed from these rows" change here locks rows.
pub async fn pending_of_locked(conn: &mut Conn, created_by_id: i64) -> Result<i64, DbError> {
    // Keeping keys: the account's tickets, comments and jobs, whose inserts take `KEY SHARE` on the user, go on.
    let lock = format!("SELECT id FROM users WHERE id = ?{}", conn.lock_rows_keeping_keys());
    conn.fetch_optional(&lock, &args![created_by_id]).await?;
    conn.fetch_one(
        "SELECT COUNT(*) AS n FROM jobs WHERE created_by_id = ? AND status IN ('queued', 'working')",
        &args![created_by_id],
    )
    .await?
    .i64("n")
}

/// Jobs not yet done, and when the oldest of them was queued (for `/metrics`).
pub async fn pending(conn: &mut Conn) -> Result<(i64, Option<DateTime<Utc>>), DbError> {
    let row = conn
        .fetch_one(
            "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM jobs WHERE status IN ('queued', 'working')",
            &[],
        )
        .await?;
    Ok((row.i64("n")?, row.opt_time("oldest")?))
}
