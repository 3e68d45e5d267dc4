//! The outbox: deliveries written in the same transaction as the change they announce, then delivered by any
//! instance. A delivery is claimed with a lease (on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so two instances
//! never claim the same row), marked sent only by its claimant, and retried with backoff when it fails.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::conn::{Backend, Conn, Row};
use crate::error::DbError;
use crate::{args, now};

/// What a delivery is: an e-mail over SMTP or a signed webhook call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryKind {
    Email,
    Webhook,
}

impl DeliveryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryKind::Email => "email",
            DeliveryKind::Webhook => "webhook",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryKind> {
        match s {
            "email" => Some(DeliveryKind::Email),
            "webhook" => Some(DeliveryKind::Webhook),
            _ => None,
        }
    }
}

impl std::fmt::Display for DeliveryKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    pub id: i64,
    pub kind: DeliveryKind,
    pub dedupe_key: String,
    pub payload: serde_json::Value,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

fn from_row(r: &Row) -> Result<Delivery, DbError> {
    Ok(Delivery {
        id: r.i64("id")?,
        kind: DeliveryKind::parse(&r.text("kind")?).ok_or_else(|| DbError::Corrupt("outbox kind".into()))?,
        dedupe_key: r.text("dedupe_key")?,
        payload: serde_json::from_str(&r.text("payload")?)
            .map_err(|e| DbError::Corrupt(format!("outbox payload: {e}")))?,
        status: r.text("status")?,
        attempts: r.i64("attempts")?,
        next_attempt_at: r.time("next_attempt_at")?,
        last_error: r.opt_text("last_error")?,
        created_at: r.time("created_at")?,
        sent_at: r.opt_time("sent_at")?,
    })
}

/// Adds a delivery; a second one with the same `dedupe_key` is ignored (it is the same message).
pub async fn enqueue(
    conn: &mut Conn,
    kind: DeliveryKind,
    dedupe_key: &str,
    payload: &serde_json::Value,
) -> Result<(), DbError> {
    let t = now();
    conn.execute(
        "INSERT INTO outbox (kind, dedupe_key, payload, status, next_attempt_at, created_at) VALUES (?, ?, ?, 'pending', ?, ?) \
         ON CONFLICT (dedupe_key) DO NOTHING",
        &args![kind.as_str(), dedupe_key, payload.to_string(), t, t],
    )
    .await?;
    Ok(())
}

/// Claims up to `limit` due deliveries for `worker` until `lease_until`.
pub async fn claim(
    conn: &mut Conn,
    worker: &str,
    at: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Delivery>, DbError> {
    let lock = if conn.backend() == Backend::Postgres {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let sql = format!(
        "UPDATE outbox SET locked_until = ?, locked_by = ? WHERE id IN (SELECT id FROM outbox WHERE status = 'pending' \
         AND next_attempt_at <= ? AND (locked_until IS NULL OR locked_until < ?) ORDER BY id LIMIT ?{lock}) RETURNING *"
    );
    let rows = conn.fetch_all(&sql, &args![lease_until, worker, at, at, limit]).await?;
    let mut out = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    out.sort_by_key(|d| d.id);
    Ok(out)
}

/// Extends a claimant's lease on one delivery; false when the lease was lost.
pub async fn renew(conn: &mut Conn, id: i64, worker: &str, until: DateTime<Utc>) -> Result<bool, DbError> {
    let n = conn
        .execute(
            "UPDATE outbox SET locked_until = ? WHERE id = ? AND locked_by = ? AND status = 'pending'",
            &args![until, id, worker],
        )
        .await?;
    Ok(n == 1)
}

/// Marks a claimed delivery sent (only its claimant can).
pub async fn mark_sent(conn: &mut Conn, id: i64, worker: &str) -> Result<bool, DbError> {
    let n = conn
        .execute("UPDATE outbox SET status = 'sent', sent_at = ?, locked_until = NULL WHERE id = ? AND locked_by = ? AND status = 'pending'", &args![now(), id, worker])
        .await?;
    Ok(n == 1)
}

/// Records a failed attempt: retried at `retry_at`, or given up (`failed`, shown to admins) when `give_up`.
pub async fn mark_attempt_failed(
    conn: &mut Conn,
    id: i64,
    worker: &str,
    error: &str,
    retry_at: DateTime<Utc>,
    give_up: bool,
) -> Result<(), DbError> {
    let status = if give_up { "failed" } else { "pending" };
    conn.execute(
        "UPDATE outbox SET status = ?, attempts = attempts + 1, last_error = ?, next_attempt_at = ?, locked_until = NULL \
         WHERE id = ? AND locked_by = ?",
        &args![status, error, retry_at, id, worker],
    )
    .await?;
    Ok(())
}

/// Deliveries that have failed at least once (still retrying or given up), newest first.
pub async fn troubled(conn: &mut Conn, limit: i64) -> Result<Vec<Delivery>, DbError> {
    conn.fetch_all(
        "SELECT * FROM outbox WHERE attempts > 0 AND status <> 'sent' ORDER BY id DESC LIMIT ?",
        &args![limit],
    )
    .await?
    .iter()
    .map(from_row)
    .collect()
}

pub async fn all(conn: &mut Conn, limit: i64) -> Result<Vec<Delivery>, DbError> {
    conn.fetch_all("SELECT * FROM outbox ORDER BY id LIMIT ?", &args![limit])
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// Deliveries still to be made, and when the oldest of them was queued (for `/metrics`).
pub async fn pending(conn: &mut Conn) -> Result<(i64, Option<DateTime<Utc>>), DbError> {
    let row = conn
        .fetch_one(
            "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM outbox WHERE status = 'pending'",
            &[],
        )
        .await?;
    Ok((row.i64("n")?, row.opt_time("oldest")?))
}
