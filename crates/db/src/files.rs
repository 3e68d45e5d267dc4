//! Files: upload tokens, attachments and the state of large resumable uploads. The bytes live in blob storage;
//! these rows say what they are, who may see them, and how far an upload has come.

use chrono::{DateTime, TimeDelta, Utc};
use partnerdesk_core::{CommentId, TicketId, UserId};
use serde::Serialize;

use crate::conn::{Arg, Backend, Conn, Row};
use crate::error::DbError;
use crate::{args, now};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attachment {
    pub id: i64,
    pub upload_id: Option<i64>,
    pub ticket_id: Option<TicketId>,
    pub comment_id: Option<CommentId>,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub blob_key: String,
    pub uploader_id: UserId,
    pub created_at: DateTime<Utc>,
}

pub struct NewAttachment<'a> {
    pub upload_id: Option<i64>,
    pub ticket_id: Option<TicketId>,
    pub comment_id: Option<CommentId>,
    pub file_name: &'a str,
    pub content_type: &'a str,
    pub size: i64,
    pub sha256: &'a str,
    pub blob_key: &'a str,
    pub uploader_id: UserId,
}

fn attachment(r: &Row) -> Result<Attachment, DbError> {
    Ok(Attachment {
        id: r.i64("id")?,
        upload_id: r.opt_i64("upload_id")?,
        ticket_id: r.opt_i64("ticket_id")?.map(TicketId),
        comment_id: r.opt_i64("comment_id")?.map(CommentId),
        file_name: r.text("file_name")?,
        content_type: r.text("content_type")?,
        size: r.i64("size")?,
        sha256: r.text("sha256")?,
        blob_key: r.text("blob_key")?,
        uploader_id: UserId(r.i64("uploader_id")?),
        created_at: r.time("created_at")?,
    })
}

/// An upload token: groups attachments until a comment takes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub id: i64,
    pub token: String,
    pub owner_id: UserId,
    pub expires_at: DateTime<Utc>,
}

fn upload(r: &Row) -> Result<Upload, DbError> {
    Ok(Upload {
        id: r.i64("id")?,
        token: r.text("token")?,
        owner_id: UserId(r.i64("owner_id")?),
        expires_at: r.time("expires_at")?,
    })
}

pub async fn create_upload(
    conn: &mut Conn,
    token: &str,
    owner: UserId,
    expires_at: DateTime<Utc>,
) -> Result<Upload, DbError> {
    let row = conn
        .fetch_one(
            "INSERT INTO uploads (token, owner_id, expires_at, created_at) VALUES (?, ?, ?, ?) RETURNING *",
            &args![token, owner.0, expires_at, now()],
        )
        .await?;
    upload(&row)
}

pub async fn upload_by_token(conn: &mut Conn, token: &str) -> Result<Upload, DbError> {
    upload(
        &conn
            .fetch_one("SELECT * FROM uploads WHERE token = ?", &args![token])
            .await?,
    )
}

pub async fn add_attachment(conn: &mut Conn, a: &NewAttachment<'_>) -> Result<Attachment, DbError> {
    let row = conn
        .fetch_one(
            "INSERT INTO attachments (upload_id, ticket_id, comment_id, file_name, content_type, size, sha256, blob_key, uploader_id, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
            &args![
                a.upload_id,
                a.ticket_id.map(|t| t.0),
                a.comment_id.map(|c| c.0),
                a.file_name,
                a.content_type,
                a.size,
                a.sha256,
                a.blob_key,
                a.uploader_id.0,
                now()
            ],
        )
        .await?;
    attachment(&row)
}

pub async fn attachment_by_id(conn: &mut Conn, id: i64) -> Result<Attachment, DbError> {
    attachment(
        &conn
            .fetch_one("SELECT * FROM attachments WHERE id = ?", &args![id])
            .await?,
    )
}

pub async fn attachments_of_upload(conn: &mut Conn, upload_id: i64) -> Result<Vec<Attachment>, DbError> {
    conn.fetch_all(
        "SELECT * FROM attachments WHERE upload_id = ? ORDER BY id",
        &args![upload_id],
    )
    .await?
    .iter()
    .map(attachment)
    .collect()
}

/// Attachments of the given comments, in one query.
pub async fn attachments_of_comments(conn: &mut Conn, comments: &[CommentId]) -> Result<Vec<Attachment>, DbError> {
    if comments.is_empty() {
        return Ok(Vec::new());
    }
    let marks = vec!["?"; comments.len()].join(", ");
    let a: Vec<Arg> = comments.iter().map(|c| Arg::I64(c.0)).collect();
    conn.fetch_all(
        &format!("SELECT * FROM attachments WHERE comment_id IN ({marks}) ORDER BY id"),
        &a,
    )
    .await?
    .iter()
    .map(attachment)
    .collect()
}

/// Hands the attachments of an upload token to a comment; returns how many.
pub async fn attach_upload(
    conn: &mut Conn,
    upload_id: i64,
    ticket: TicketId,
    comment: CommentId,
) -> Result<u64, DbError> {
    conn.execute(
        "UPDATE attachments SET ticket_id = ?, comment_id = ? WHERE upload_id = ? AND comment_id IS NULL",
        &args![ticket.0, comment.0, upload_id],
    )
    .await
}

/// Deletes an upload token with the attachments no comment took; returns their blob keys, to delete the bytes.
pub async fn delete_upload(conn: &mut Conn, upload_id: i64) -> Result<Vec<String>, DbError> {
    let keys = conn
        .fetch_all(
            "SELECT blob_key FROM attachments WHERE upload_id = ? AND comment_id IS NULL",
            &args![upload_id],
        )
        .await?
        .iter()
        .map(|r| r.text("blob_key"))
        .collect::<Result<Vec<_>, _>>()?;
    conn.execute(
        "DELETE FROM attachments WHERE upload_id = ? AND comment_id IS NULL",
        &args![upload_id],
    )
    .await?;
    conn.execute("DELETE FROM uploads WHERE id = ?", &args![upload_id])
        .await?;
    Ok(keys)
}

/// Upload tokens past their expiry.
pub async fn expired_uploads(conn: &mut Conn, limit: i64) -> Result<Vec<Upload>, DbError> {
    conn.fetch_all(
        "SELECT * FROM uploads WHERE expires_at <= ? ORDER BY id LIMIT ?",
        &args![now(), limit],
    )
    .await?
    .iter()
    .map(upload)
    .collect()
}

/// The state of a large resumable upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LargeUpload {
    pub id: String,
    pub ticket_id: TicketId,
    pub owner_id: UserId,
    pub file_name: String,
    pub content_type: String,
    pub metadata: String,
    pub length: i64,
    pub offset: i64,
    pub hash_state: String,
    pub blob_key: String,
    pub multipart_id: Option<String>,
    pub parts: Vec<String>,
    pub flushed: i64,
    pub expires_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub attachment_id: Option<i64>,
}

fn large(r: &Row) -> Result<LargeUpload, DbError> {
    let parts: Vec<String> =
        serde_json::from_str(&r.text("parts")?).map_err(|e| DbError::Corrupt(format!("parts: {e}")))?;
    Ok(LargeUpload {
        id: r.text("id")?,
        ticket_id: TicketId(r.i64("ticket_id")?),
        owner_id: UserId(r.i64("owner_id")?),
        file_name: r.text("file_name")?,
        content_type: r.text("content_type")?,
        metadata: r.text("metadata")?,
        length: r.i64("length")?,
        offset: r.i64("upload_offset")?,
        hash_state: r.text("hash_state")?,
        blob_key: r.text("blob_key")?,
        multipart_id: r.opt_text("multipart_id")?,
        parts,
        flushed: r.i64("flushed")?,
        expires_at: r.time("expires_at")?,
        completed_at: r.opt_time("completed_at")?,
        attachment_id: r.opt_i64("attachment_id")?,
    })
}

pub async fn create_large(conn: &mut Conn, u: &LargeUpload) -> Result<(), DbError> {
    conn.execute(
        "INSERT INTO large_uploads (id, ticket_id, owner_id, file_name, content_type, metadata, length, upload_offset, hash_state, \
         blob_key, multipart_id, parts, flushed, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &args![
            u.id.as_str(),
            u.ticket_id.0,
            u.owner_id.0,
            u.file_name.as_str(),
            u.content_type.as_str(),
            u.metadata.as_str(),
            u.length,
            u.offset,
            u.hash_state.as_str(),
            u.blob_key.as_str(),
            u.multipart_id.clone(),
            serde_json::to_string(&u.parts).unwrap_or_else(|_| "[]".into()),
            u.flushed,
            u.expires_at,
            now()
        ],
    )
    .await?;
    Ok(())
}

pub async fn get_large(conn: &mut Conn, id: &str) -> Result<LargeUpload, DbError> {
    large(
        &conn
            .fetch_one("SELECT * FROM large_uploads WHERE id = ?", &args![id])
            .await?,
    )
}

/// Records progress (at a checkpoint or the end of a PATCH), if the upload is still at `from_offset`, not
/// complete, and the writer still holds its lease (compare-and-set: of two writers racing on one upload, one wins
/// and the other is told). Returns whether it was recorded.
pub async fn save_progress(conn: &mut Conn, u: &LargeUpload, from_offset: i64, lease: &str) -> Result<bool, DbError> {
    let n = conn
        .execute(
            "UPDATE large_uploads SET upload_offset = ?, hash_state = ?, multipart_id = ?, parts = ?, flushed = ? \
             WHERE id = ? AND upload_offset = ? AND lease_token = ? AND completed_at IS NULL",
            &args![
                u.offset,
                u.hash_state.as_str(),
                u.multipart_id.clone(),
                serde_json::to_string(&u.parts).unwrap_or_else(|_| "[]".into()),
                u.flushed,
                u.id.as_str(),
                from_offset,
                lease
            ],
        )
        .await?;
    Ok(n == 1)
}

/// Marks an upload complete, if `lease` still holds it and it was not completed before. Returns whether it did.
pub async fn complete_large(conn: &mut Conn, id: &str, attachment_id: i64, lease: &str) -> Result<bool, DbError> {
    let n = conn
        .execute(
            "UPDATE large_uploads SET completed_at = ?, attachment_id = ? \
             WHERE id = ? AND lease_token = ? AND completed_at IS NULL",
            &args![now(), attachment_id, id, lease],
        )
        .await?;
    Ok(n == 1)
}

/// Takes the write lease of an upload for `term_secs`, unless another writer holds an unexpired one. Returns the
/// upload as it is now, under the lease, or `None` while another writer holds it.
///
/// On PostgreSQL the lease's times are the database's own clock, so instances whose clocks differ still agree on
/// when a lease runs out; SQLite serves one machine, whose clock every writer shares.
pub async fn claim_lease(
    conn: &mut Conn,
    id: &str,
    lease: &str,
    term_secs: i64,
) -> Result<Option<LargeUpload>, DbError> {
    let row = match conn.backend() {
        Backend::Sqlite => {
            conn.fetch_optional(
                "UPDATE large_uploads SET lease_token = ?, lease_until = ? \
                 WHERE id = ? AND (lease_until IS NULL OR lease_until <= ?) RETURNING *",
                &args![lease, now() + TimeDelta::seconds(term_secs), id, now()],
            )
            .await?
        }
        Backend::Postgres => {
            conn.fetch_optional(
                "UPDATE large_uploads SET lease_token = ?, lease_until = now() + CAST(? AS DOUBLE PRECISION) * INTERVAL '1 second' \
                 WHERE id = ? AND (lease_until IS NULL OR lease_until <= now()) RETURNING *",
                &args![lease, term_secs, id],
            )
            .await?
        }
    };
    row.as_ref().map(large).transpose()
}

/// Extends a lease this writer holds by `term_secs` from now. Returns false when it no longer holds it.
pub async fn renew_lease(conn: &mut Conn, id: &str, lease: &str, term_secs: i64) -> Result<bool, DbError> {
    let n = match conn.backend() {
        Backend::Sqlite => {
            conn.execute(
                "UPDATE large_uploads SET lease_until = ? WHERE id = ? AND lease_token = ?",
                &args![now() + TimeDelta::seconds(term_secs), id, lease],
            )
            .await?
        }
        Backend::Postgres => {
            conn.execute(
                "UPDATE large_uploads SET lease_until = now() + CAST(? AS DOUBLE PRECISION) * INTERVAL '1 second' \
                 WHERE id = ? AND lease_token = ?",
                &args![term_secs, id, lease],
            )
            .await?
        }
    };
    Ok(n == 1)
}

/// Frees every lease taken by an earlier life of instance `instance` (lease tokens start with its name and a dot).
pub async fn release_leases_of(conn: &mut Conn, instance: &str) -> Result<u64, DbError> {
    let prefix = format!("{instance}.");
    conn.execute(
        "UPDATE large_uploads SET lease_token = NULL, lease_until = NULL \
         WHERE substr(lease_token, 1, CAST(? AS INTEGER)) = ?",
        &args![prefix.len() as i64, prefix.as_str()],
    )
    .await
}

/// Gives a lease back (a no-op when it was lost or the upload is gone).
pub async fn release_lease(conn: &mut Conn, id: &str, lease: &str) -> Result<(), DbError> {
    conn.execute(
        "UPDATE large_uploads SET lease_token = NULL, lease_until = NULL WHERE id = ? AND lease_token = ?",
        &args![id, lease],
    )
    .await?;
    Ok(())
}

pub async fn delete_large(conn: &mut Conn, id: &str) -> Result<(), DbError> {
    conn.execute("DELETE FROM large_uploads WHERE id = ?", &args![id])
        .await?;
    Ok(())
}

/// Incomplete uploads past their expiry.
pub async fn expired_large(conn: &mut Conn, limit: i64) -> Result<Vec<LargeUpload>, DbError> {
    conn.fetch_all(
        "SELECT * FROM large_uploads WHERE completed_at IS NULL AND expires_at <= ? ORDER BY id LIMIT ?",
        &args![now(), limit],
    )
    .await?
    .iter()
    .map(large)
    .collect()
}
