//! Resumable (tus) uploads: finding the upload a caller may write to, receiving a chunk of it, filing it as an
//! attachment when the last byte arrives, and removing it. The protocol itself is `partnerdesk_web::api::tus`.
//!
//! State lives in the database (`large_uploads`): offset, the sha256 state after that offset, and for object
//! storage the multipart upload with its part ids. On local disk chunks are appended to a staging file that is
//! renamed into place when complete; on object storage chunks are buffered on disk into parts (8 MiB) and the
//! remainder between requests is kept as a small object, so that any instance can continue an upload.
//! Memory stays flat: bodies are streamed to disk in 1 MiB writes (see `receive`).
//!
//! A chunk is received in its own task, so that when the client goes away mid-chunk the bytes received are still
//! recorded (unless a checksum was asked for, in which case the chunk is discarded, as the protocol says).

use std::path::PathBuf;

use bytes::Bytes;
use futures::Stream;
use partnerdesk_db::files::{self, LargeUpload};
use partnerdesk_db::users::User;
use partnerdesk_db::{now, tickets};
use sha2::digest::common::hazmat::SerializableState;
use sha2::{Digest, Sha256};

use crate::context::App;
use crate::error::AppError;
use crate::uploads::lease::Lease;
use crate::uploads::receive::Chunk;

/// The digest a client asked a chunk to be checked against (tus's checksum extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Sha1,
    Sha256,
}

impl Algorithm {
    /// `sha1` or `sha256`, as the protocol names them.
    pub fn parse(name: &str) -> Option<Algorithm> {
        match name {
            "sha1" => Some(Algorithm::Sha1),
            "sha256" => Some(Algorithm::Sha256),
            _ => None,
        }
    }
}

/// A chunk's expected digest: when the bytes received do not match it, the chunk does not count.
#[derive(Debug, Clone)]
pub struct Checksum {
    pub algorithm: Algorithm,
    pub expected: Vec<u8>,
}

/// Where upload `id` is assembled (local disk) or buffered between parts (object storage).
pub fn staging(app: &App, id: &str, suffix: &str) -> PathBuf {
    app.settings.staging_dir.join(format!("{id}{suffix}"))
}

/// The object that keeps the bytes not yet in a part between two requests (object storage), for the state the
/// upload is in. It is named by the offset, so that a newer remainder never overwrites the one the recorded state
/// needs: the new one is written, the offset recorded, and only then the old one removed.
pub fn rest_key(u: &LargeUpload) -> String {
    rest_key_at(&u.blob_key, u.offset)
}

pub(crate) fn rest_key_at(blob_key: &str, offset: i64) -> String {
    format!("{blob_key}.rest.{offset}")
}

/// The sha256 state of an upload that has no bytes yet.
pub fn initial_hash_state() -> String {
    hash_state(&Sha256::new())
}

pub(crate) fn hash_state(h: &Sha256) -> String {
    hex::encode(h.serialize())
}

pub(crate) fn restore_hash(state: &str) -> Result<Sha256, AppError> {
    let bytes = hex::decode(state).map_err(|_| AppError::Internal("stored hash state is not hex".into()))?;
    let arr = bytes
        .as_slice()
        .try_into()
        .map_err(|_| AppError::Internal("stored hash state has the wrong size".into()))?;
    Sha256::deserialize(arr).map_err(|_| AppError::Internal("stored hash state is invalid".into()))
}

/// Loads an upload the caller may write to: its ticket must be visible to them. `NotFound` means no such
/// upload (or not one of theirs); an incomplete upload on a closed ticket is `Forbidden`, an expired one `Gone`.
pub async fn load(app: &App, who: &User, id: &str) -> Result<LargeUpload, AppError> {
    if id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(AppError::NotFound);
    }
    // A store `NotFound` (of the upload or of a ticket the caller cannot see) is answered as `NotFound`.
    let u = files::get_large(&mut app.db.conn(), id).await?;
    let ticket = tickets::get(&mut app.db.conn(), u.ticket_id, who.actor().ticket_scope()).await?;
    // An upload is its uploader's (staff may look after any).
    if u.owner_id != who.id && !who.role.is_staff() {
        return Err(AppError::NotFound);
    }
    if u.completed_at.is_none() && ticket.status.is_frozen() {
        return Err(AppError::Forbidden(
            "the ticket was closed; files can no longer be added to it".into(),
        ));
    }
    if u.completed_at.is_none() && u.expires_at <= now() {
        return Err(AppError::Gone("this upload expired; start it again".into()));
    }
    if staged_bytes_missing(app, &u).await {
        return Err(missing_staged_bytes());
    }
    Ok(u)
}

/// On local disk the bytes received so far are only in this instance's staging file. When it holds fewer than
/// the recorded offset (the upload was begun on an instance with other local storage, or the file was removed),
/// the upload cannot go on: carrying on would fill the gap with zeros.
async fn staged_bytes_missing(app: &App, u: &LargeUpload) -> bool {
    if !app.blobs.is_local() || u.completed_at.is_some() || u.offset == 0 {
        return false;
    }
    let staged = tokio::fs::metadata(staging(app, &u.id, ""))
        .await
        .map(|m| m.len())
        .unwrap_or(0);
    if staged >= u.offset as u64 {
        return false;
    }
    // Every byte arrived and an earlier attempt moved the file into place but failed to file it: not missing.
    let placed = match app.blobs.local_path(&u.blob_key) {
        Some(target) => tokio::fs::metadata(target).await.map(|m| m.len()).unwrap_or(0),
        None => 0,
    };
    !(u.offset == u.length && placed == u.length as u64)
}

/// The answer when an upload's staged bytes are not on this instance: the client starts the upload again.
pub(crate) fn missing_staged_bytes() -> AppError {
    AppError::Gone(
        "the bytes received so far are not on this server (the upload was begun on an instance with its own local \
         storage, or its staging file was removed); start the upload again"
            .into(),
    )
}

/// Receives one chunk at `offset` in a task of its own (see the module comment) and returns the new state.
/// Bytes before an interrupted body (or a server shutdown) are kept: the client resumes from the new offset.
/// The upload is read again under the lease: another request may have moved it on since `u` was read.
pub async fn write<S, E>(
    app: App,
    who: User,
    u: LargeUpload,
    offset: u64,
    checksum: Option<Checksum>,
    body: S,
) -> Result<LargeUpload, AppError>
where
    S: Stream<Item = Result<Bytes, E>> + Send + 'static,
    E: std::fmt::Display + Send + 'static,
{
    let (lease, u) = Lease::claim(&app, &u.id, "another request is writing this upload; retry shortly").await?;
    if u.completed_at.is_some() {
        lease.release().await;
        return Err(AppError::Conflict("this upload is already complete".into()));
    }
    if u.offset as u64 != offset {
        lease.release().await;
        return Err(AppError::Conflict(format!(
            "Upload-Offset {offset} does not match the upload's offset {}",
            u.offset
        )));
    }
    // Tracked, so that a stopping server lets it record what it received before the database closes.
    let tasks = app.tasks.clone();
    let task = tasks.spawn(async move {
        let in_progress = metrics::gauge!("partnerdesk_large_uploads_in_progress");
        in_progress.increment(1.0);
        let result = Chunk {
            app: &app,
            who: &who,
            lease: &lease,
            u,
            offset,
            checksum,
        }
        .receive(body)
        .await;
        in_progress.decrement(1.0);
        lease.release().await;
        result
    });
    task.await.map_err(AppError::internal)?
}

/// Makes a fully received upload an attachment, when an earlier attempt got all the bytes but failed to file them.
/// Under the lease the upload may turn out to be complete already (another request filed it meanwhile): then it
/// is answered as it is, and nothing is filed twice.
pub async fn refinish(app: &App, who: &User, u: LargeUpload) -> Result<LargeUpload, AppError> {
    let (lease, u) = Lease::claim(app, &u.id, "the upload is being written; try again").await?;
    if u.completed_at.is_some() || u.offset != u.length {
        lease.release().await;
        return Ok(u);
    }
    let path = staging(app, &u.id, if app.blobs.is_local() { "" } else { ".buf" });
    let hasher = restore_hash(&u.hash_state)?;
    let offset = u.offset as u64;
    let mut chunk = Chunk {
        app,
        who,
        lease: &lease,
        u,
        offset,
        checksum: None,
    };
    let finished = chunk.finish(&path, hasher).await;
    let u = chunk.u;
    lease.release().await;
    finished.map(|()| u)
}

/// Ends an upload at the client's request (tus's termination), unless a request is writing it right now.
pub async fn terminate(app: &App, u: &LargeUpload) -> Result<(), AppError> {
    let (lease, u) = Lease::claim(app, &u.id, "the upload is being written; try again").await?;
    let result = discard(app, &u).await;
    // The row is gone when the discard succeeded; releasing is then a no-op.
    lease.release().await;
    result
}

/// Removes an upload's staged bytes and its record (a completed upload keeps its attachment).
pub async fn discard(app: &App, u: &LargeUpload) -> Result<(), AppError> {
    if u.completed_at.is_none() {
        if let Some(mp) = &u.multipart_id {
            let _ = app.blobs.abort_multipart(&u.blob_key, mp).await;
        }
        if !app.blobs.is_local() {
            let _ = app.blobs.delete(&rest_key(u)).await;
        }
        for suffix in ["", ".buf", ".at"] {
            let _ = tokio::fs::remove_file(staging(app, &u.id, suffix)).await;
        }
    }
    files::delete_large(&mut app.db.conn(), &u.id).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_state_round_trips() -> Result<(), String> {
        let mut h = Sha256::new();
        h.update(b"hello ");
        let mut restored = restore_hash(&hash_state(&h)).map_err(|e| e.to_string())?;
        restored.update(b"world");
        assert_eq!(
            hex::encode(restored.finalize()),
            hex::encode(Sha256::digest(b"hello world"))
        );
        Ok(())
    }

    #[test]
    fn algorithms() {
        assert_eq!(Algorithm::parse("sha1"), Some(Algorithm::Sha1));
        assert_eq!(Algorithm::parse("sha256"), Some(Algorithm::Sha256));
        assert_eq!(Algorithm::parse("md5"), None);
    }
}
