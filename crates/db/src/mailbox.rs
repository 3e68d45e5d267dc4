//! The IMAP mailbox's reading position and its reader. One instance reads a mailbox at a time: it holds a lease
//! (a token naming the instance, and an expiry it pushes forward while it reads). The last UID handled, under the
//! mailbox's UIDVALIDITY, moves forward only under the lease, so that another instance or a restart goes on from
//! there; a message handled but not yet counted is read again and recognised by its Message-ID.

use chrono::TimeDelta;

use crate::conn::{Backend, Conn};
use crate::error::DbError;
use crate::{args, now};

/// Where reading stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub uid_validity: i64,
    pub last_uid: i64,
}

/// `lease_until = now + term`, in the dialect's own time (PostgreSQL's clock is the one all instances share).
fn until(conn: &Conn) -> &'static str {
    match conn.backend() {
        Backend::Sqlite => "?",
        Backend::Postgres => "now() + CAST(? AS DOUBLE PRECISION) * INTERVAL '1 second'",
    }
}

fn term_arg(conn: &Conn, term_secs: i64) -> crate::conn::Arg {
    match conn.backend() {
        Backend::Sqlite => (now() + TimeDelta::seconds(term_secs)).into(),
        Backend::Postgres => term_secs.into(),
    }
}

/// Takes the lease of `mailbox` under `token` if nobody holds it (or the holder's lease ran out), and returns where
/// reading stands; `None` while another reader holds it.
pub async fn claim(conn: &mut Conn, mailbox: &str, token: &str, term_secs: i64) -> Result<Option<Cursor>, DbError> {
    conn.execute(
        "INSERT INTO mailbox_cursors (mailbox) VALUES (?) ON CONFLICT (mailbox) DO NOTHING",
        &args![mailbox],
    )
    .await?;
    let row = match conn.backend() {
        Backend::Sqlite => {
            conn.fetch_optional(
                "UPDATE mailbox_cursors SET lease_token = ?, lease_until = ? \
                 WHERE mailbox = ? AND (lease_until IS NULL OR lease_until <= ?) RETURNING uid_validity, last_uid",
                &args![token, now() + TimeDelta::seconds(term_secs), mailbox, now()],
            )
            .await?
        }
        Backend::Postgres => {
            conn.fetch_optional(
                "UPDATE mailbox_cursors SET lease_token = ?, \
                 lease_until = now() + CAST(? AS DOUBLE PRECISION) * INTERVAL '1 second' \
                 WHERE mailbox = ? AND (lease_until IS NULL OR lease_until <= now()) RETURNING uid_validity, last_uid",
                &args![token, term_secs, mailbox],
            )
            .await?
        }
    };
    row.map(|r| {
        Ok(Cursor {
            uid_validity: r.i64("uid_validity")?,
            last_uid: r.i64("last_uid")?,
        })
    })
    .transpose()
}

/// Records `cursor` and extends the lease by `term_secs`; false when `token` no longer holds the lease (stop).
pub async fn advance(
    conn: &mut Conn,
    mailbox: &str,
    token: &str,
    cursor: Cursor,
    term_secs: i64,
) -> Result<bool, DbError> {
    let sql = format!(
        "UPDATE mailbox_cursors SET uid_validity = ?, last_uid = ?, lease_until = {} \
         WHERE mailbox = ? AND lease_token = ?",
        until(conn)
    );
    let term = term_arg(conn, term_secs);
    let n = conn
        .execute(&sql, &args![cursor.uid_validity, cursor.last_uid, term, mailbox, token])
        .await?;
    Ok(n == 1)
}

/// Gives the lease back (a reader stopping cleanly), so another instance can take over at once.
pub async fn release(conn: &mut Conn, mailbox: &str, token: &str) -> Result<(), DbError> {
    conn.execute(
        "UPDATE mailbox_cursors SET lease_token = NULL, lease_until = NULL WHERE mailbox = ? AND lease_token = ?",
        &args![mailbox, token],
    )
    .await?;
    Ok(())
}

/// Frees leases taken by an earlier life of instance `instance` (tokens start with its name and a dot).
pub async fn release_leases_of(conn: &mut Conn, instance: &str) -> Result<u64, DbError> {
    let prefix = format!("{instance}.");
    conn.execute(
        "UPDATE mailbox_cursors SET lease_token = NULL, lease_until = NULL WHERE substr(lease_token, 1, CAST(? AS INTEGER)) = ?",
        &args![prefix.len() as i64, prefix.as_str()],
    )
    .await
}
