//! Which local file store a database's files are in. Files on local disk are only where one instance can see
//! them, so the database names the one local store it belongs to, and an instance with another is refused.

use chrono::{DateTime, Utc};

use crate::conn::Conn;
use crate::error::DbError;
use crate::{args, now};

/// The local store a database is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalStore {
    pub store_id: String,
    /// The host name of the instance that bound it (to say where the files are).
    pub host: String,
    pub claimed_at: DateTime<Utc>,
}

/// Binds the database to local store `store_id` if it is bound to none yet, and returns the store it is bound to
/// (this one, or another that was there first; two instances starting at once agree on one).
pub async fn bind_local(conn: &mut Conn, store_id: &str, host: &str) -> Result<LocalStore, DbError> {
    conn.execute(
        "INSERT INTO local_file_store (id, store_id, host, claimed_at) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
        &args![store_id, host, now()],
    )
    .await?;
    let row = conn
        .fetch_one(
            "SELECT store_id, host, claimed_at FROM local_file_store WHERE id = 1",
            &[],
        )
        .await?;
    Ok(LocalStore {
        store_id: row.text("store_id")?,
        host: row.text("host")?,
        claimed_at: row.time("claimed_at")?,
    })
}

/// Binds the database to local store `store_id`, replacing whichever it was bound to (after the files were moved
/// to a new data directory on purpose).
pub async fn rebind_local(conn: &mut Conn, store_id: &str, host: &str) -> Result<(), DbError> {
    conn.execute("DELETE FROM local_file_store", &[]).await?;
    conn.execute(
        "INSERT INTO local_file_store (id, store_id, host, claimed_at) VALUES (1, ?, ?, ?)",
        &args![store_id, host, now()],
    )
    .await?;
    Ok(())
}
