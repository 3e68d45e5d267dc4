//! Browser sessions. Only the sha256 of the cookie's token is stored; the user is loaded with the session, so a
//! suspended account's sessions stop working on the next request.

use chrono::{DateTime, Utc};
use partnerdesk_core::UserId;

use crate::conn::Conn;
use crate::error::DbError;
use crate::users::{self, User};
use crate::{args, now};

#[derive(Debug, Clone)]
pub struct Session {
    pub id: i64,
    pub user_id: UserId,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

pub async fn create(
    conn: &mut Conn,
    user: UserId,
    digest: &str,
    csrf_token: &str,
    expires_at: DateTime<Utc>,
) -> Result<Session, DbError> {
    let id = conn
        .insert(
            "INSERT INTO sessions (digest, user_id, csrf_token, created_at, expires_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
            &args![digest, user.0, csrf_token, now(), expires_at],
        )
        .await?;
    Ok(Session {
        id,
        user_id: user,
        csrf_token: csrf_token.to_owned(),
        expires_at,
    })
}

/// The live session with this digest and its user.
pub async fn find(conn: &mut Conn, digest: &str) -> Result<(Session, User), DbError> {
    let row = conn
        .fetch_one(
            "SELECT id, user_id, csrf_token, expires_at FROM sessions WHERE digest = ? AND expires_at > ?",
            &args![digest, now()],
        )
        .await?;
    let session = Session {
        id: row.i64("id")?,
        user_id: UserId(row.i64("user_id")?),
        csrf_token: row.text("csrf_token")?,
        expires_at: row.time("expires_at")?,
    };
    let user = users::get(conn, session.user_id).await?;
    Ok((session, user))
}

pub async fn delete(conn: &mut Conn, digest: &str) -> Result<(), DbError> {
    conn.execute("DELETE FROM sessions WHERE digest = ?", &args![digest])
        .await?;
    Ok(())
}

/// Ends every session of a user (suspension, password change).
pub async fn delete_for_user(conn: &mut Conn, user: UserId) -> Result<(), DbError> {
    conn.execute("DELETE FROM sessions WHERE user_id = ?", &args![user.0])
        .await?;
    Ok(())
}

/// Removes expired sessions; returns how many.
pub async fn purge_expired(conn: &mut Conn) -> Result<u64, DbError> {
    conn.execute("DELETE FROM sessions WHERE expires_at <= ?", &args![now()])
        .await
}
