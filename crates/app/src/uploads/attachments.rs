//! Ticket attachments: safe names, content types, blob keys, and storing a file under an upload token (Zendesk's
//! uploads API and the page forms both call `store_file`). Files stream to storage; nothing half-written stays.

use chrono::Duration;
use partnerdesk_blob::BlobError;
use partnerdesk_core::Invalid;
use partnerdesk_core::policy::Actor;
use partnerdesk_db::files::{self, Attachment, NewAttachment, Upload};
use partnerdesk_db::users::User;
use partnerdesk_db::{DbError, now, tickets};

use crate::context::App;
use crate::error::AppError;

/// A file name as given by a client, reduced to its last path component and checked: no `..`, no control
/// characters, no empty names. Paths never come from it: blob keys are random.
pub fn safe_file_name(raw: &str) -> Result<String, Invalid> {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("").trim();
    let bad = |why: &str| {
        Invalid::field(
            "filename",
            "InvalidValue",
            format!("'{raw}' is not a usable file name: {why}"),
        )
    };
    if last.is_empty() || last == "." || last == ".." {
        return Err(bad("it names no file"));
    }
    if raw.contains("..") && (raw.contains('/') || raw.contains('\\')) {
        return Err(bad("it climbs out of its directory"));
    }
    if last.chars().any(|c| c.is_control()) {
        return Err(bad("it contains control characters"));
    }
    if last.len() > 255 {
        return Err(bad("it is longer than 255 bytes"));
    }
    Ok(last.to_owned())
}

/// A content type from the file name's extension; anything unknown is `application/octet-stream`.
/// (Downloads are always sent as attachments with `nosniff`, so a wrong guess cannot turn into a page.)
pub fn content_type_for(name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "txt" | "log" | "md" => "text/plain",
        "csv" => "text/csv",
        "json" => "application/json",
        "xml" => "application/xml",
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "zip" => "application/zip",
        "gz" | "tgz" => "application/gzip",
        "tar" => "application/x-tar",
        _ => "application/octet-stream",
    }
}

/// A fresh, unguessable blob key under `prefix`.
pub fn new_blob_key(prefix: &str) -> Result<String, AppError> {
    let t = partnerdesk_db::now();
    Ok(format!(
        "{prefix}/{}/{}",
        t.format("%Y/%m"),
        partnerdesk_core::credentials::new_token()?
    ))
}

/// The 413 answer for an attachment over the limit, naming the uploader that takes large files.
pub fn too_large(limit: u64) -> AppError {
    AppError::FileTooLarge {
        limit,
        hint: "Send larger files with the large-file uploader: the upload widget on the ticket page, \
               `partnerdesk upload`, or any tus client at /api/v2/large_uploads/."
            .into(),
    }
}

/// An upload token the caller may add to: their own, not expired.
pub async fn own_upload(app: &App, caller: &User, token: &str) -> Result<Upload, AppError> {
    let u = files::upload_by_token(&mut app.db.conn(), token)
        .await
        .map_err(|e| match e {
            DbError::NotFound => AppError::invalid("token", "InvalidValue", "unknown upload token"),
            e => e.into(),
        })?;
    if u.owner_id != caller.id {
        return Err(AppError::invalid("token", "InvalidValue", "unknown upload token"));
    }
    if u.expires_at <= now() {
        return Err(AppError::invalid(
            "token",
            "InvalidValue",
            "this upload token has expired",
        ));
    }
    Ok(u)
}

/// Stores one file under a (new or given) upload token.
pub async fn store_file<S>(
    app: &App,
    caller: &User,
    token: Option<&str>,
    name: &str,
    content_type: Option<&str>,
    body: S,
) -> Result<(Upload, Attachment), AppError>
where
    S: futures::Stream<Item = Result<bytes::Bytes, String>> + Unpin,
{
    stage_file(app, caller, token, name, content_type, body)
        .await?
        .record(app, caller)
        .await
}

/// A file whose bytes are stored but which has no record yet: a caller that still reads the rest of a request
/// (a multipart body's later parts) records it only once the whole request turned out well, or discards it.
#[derive(Debug)]
#[must_use = "a staged file is recorded or discarded, else its bytes stay in storage"]
pub struct StagedFile {
    key: String,
    name: String,
    content_type: String,
    size: u64,
    sha256: String,
    existing: Option<Upload>,
}

/// Streams one file's bytes to storage, after checking its name and the upload token it is for.
pub async fn stage_file<S>(
    app: &App,
    caller: &User,
    token: Option<&str>,
    name: &str,
    content_type: Option<&str>,
    body: S,
) -> Result<StagedFile, AppError>
where
    S: futures::Stream<Item = Result<bytes::Bytes, String>> + Unpin,
{
    let name = safe_file_name(name)?;
    let existing = match token {
        Some(t) => Some(own_upload(app, caller, t).await?),
        None => None,
    };
    let key = new_blob_key("attachments")?;
    let limit = app.settings.max_attachment_bytes;
    let stored = app.blobs.put_stream(&key, body, limit).await.map_err(|e| match e {
        BlobError::TooLarge { limit } => too_large(limit),
        BlobError::Interrupted(why) => AppError::BadRequest(format!("the upload was interrupted: {why}")),
        other => AppError::Internal(other.to_string()),
    })?;
    let content_type = content_type
        .filter(|t| t.contains('/') && t.len() < 128 && !t.starts_with("multipart/"))
        .unwrap_or(content_type_for(&name))
        .to_owned();
    Ok(StagedFile {
        key,
        name,
        content_type,
        size: stored.size,
        sha256: stored.sha256,
        existing,
    })
}

impl StagedFile {
    /// Records the file under its upload token (a new one when none was given).
    pub async fn record(self, app: &App, caller: &User) -> Result<(Upload, Attachment), AppError> {
        let result: Result<(Upload, Attachment), AppError> = async {
            let mut tx = app.db.begin().await?;
            let upload = match &self.existing {
                Some(u) => u.clone(),
                None => {
                    let token = partnerdesk_core::credentials::new_token()?;
                    let expires = now() + Duration::hours(app.settings.upload_token_ttl_hours);
                    files::create_upload(&mut tx, &token, caller.id, expires).await?
                }
            };
            let a = NewAttachment {
                upload_id: Some(upload.id),
                ticket_id: None,
                comment_id: None,
                file_name: &self.name,
                content_type: &self.content_type,
                size: self.size as i64,
                sha256: &self.sha256,
                blob_key: &self.key,
                uploader_id: caller.id,
            };
            let attachment = files::add_attachment(&mut tx, &a).await?;
            tx.commit().await?;
            Ok((upload, attachment))
        }
        .await;
        if result.is_err() {
            // Nothing half-written: the bytes go when their record could not be written.
            let _ = app.blobs.delete(&self.key).await;
        }
        result
    }

    /// Deletes the stored bytes: the request they came with was refused.
    pub async fn discard(self, app: &App) {
        let _ = app.blobs.delete(&self.key).await;
    }
}

/// An attachment the actor may see: on a ticket they can see (internal notes' files for staff only), or not yet
/// attached and uploaded by them.
pub async fn visible_attachment(app: &App, actor: &Actor, id: i64) -> Result<Attachment, AppError> {
    let a = files::attachment_by_id(&mut app.db.conn(), id).await?;
    match (a.ticket_id, a.comment_id) {
        (Some(ticket), comment) => {
            tickets::get(&mut app.db.conn(), ticket, actor.ticket_scope()).await?;
            if let Some(c) = comment
                && !actor.sees_internal_comments()
                && !tickets::comment_is_public(&mut app.db.conn(), c).await?
            {
                return Err(AppError::NotFound);
            }
            Ok(a)
        }
        (None, _) if a.uploader_id == actor.id => Ok(a),
        _ => Err(AppError::NotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        assert_eq!(safe_file_name("logs/app.log").ok(), Some("app.log".into()));
        assert_eq!(safe_file_name("C:\\Users\\me\\dump.sql").ok(), Some("dump.sql".into()));
        for bad in ["", "..", "../../etc/passwd", "a/..", "x\u{0}y", "dir/"] {
            assert!(safe_file_name(bad).is_err(), "{bad:?}");
        }
    }
}
