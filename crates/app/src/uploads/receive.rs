//! Receiving one chunk of a resumable upload: appending the body to the staging file (local disk) or to the
//! buffer that is sent to object storage in parts, recording the new offset, and filing the attachment when the
//! last byte arrived. `resumable` is the way in.

use std::io::SeekFrom;
use std::path::PathBuf;

use bytes::Bytes;
use futures::{Stream, StreamExt};
use partnerdesk_core::policy::TicketScope;
use partnerdesk_db::files::{self, LargeUpload, NewAttachment};
use partnerdesk_db::now;
use partnerdesk_db::tickets::{self, NewComment};
use partnerdesk_db::users::User;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use tokio::fs::File;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt, BufWriter};

use crate::context::App;
use crate::error::AppError;
use crate::uploads::lease::Lease;
use crate::uploads::resumable::{Algorithm, Checksum, hash_state, rest_key, rest_key_at, restore_hash, staging};

/// One request's worth of an upload, received at `offset`.
pub(crate) struct Chunk<'a> {
    pub(crate) app: &'a App,
    pub(crate) who: &'a User,
    /// The write lease this request holds: every save is checked against it, and when it is lost the request
    /// stops writing.
    pub(crate) lease: &'a Lease,
    pub(crate) u: LargeUpload,
    pub(crate) offset: u64,
    pub(crate) checksum: Option<Checksum>,
}

/// The digest a chunk is checked against, when the client asked for one.
enum Check {
    Sha1(Sha1),
    Sha256(Sha256),
}

impl Check {
    fn new(algorithm: Algorithm) -> Check {
        match algorithm {
            Algorithm::Sha1 => Check::Sha1(Sha1::new()),
            Algorithm::Sha256 => Check::Sha256(Sha256::new()),
        }
    }

    fn finalize(self) -> Vec<u8> {
        match self {
            Check::Sha1(h) => h.finalize().to_vec(),
            Check::Sha256(h) => h.finalize().to_vec(),
        }
    }
}

/// What the bytes of a chunk are fed to: the whole upload's sha256 and the chunk's own check.
struct Digests {
    upload: Sha256,
    chunk: Option<Check>,
}

impl Digests {
    fn update(&mut self, bytes: &[u8]) {
        self.upload.update(bytes);
        match &mut self.chunk {
            Some(Check::Sha1(h)) => h.update(bytes),
            Some(Check::Sha256(h)) => h.update(bytes),
            None => {}
        }
    }
}

/// Why reading a body stopped before its end: the client went away (400), the server is stopping (503), or the
/// body is longer than the upload (413). Only the last makes the request fail when no checksum was asked for.
type Stop = Option<AppError>;

impl Chunk<'_> {
    /// The length of the target file before this chunk: the whole upload so far (local disk) or the bytes not yet
    /// in parts (object storage).
    fn kept(&self) -> u64 {
        if self.app.blobs.is_local() {
            self.offset
        } else {
            self.offset - self.u.flushed as u64
        }
    }

    /// The file this chunk is appended to: the whole upload (local) or the bytes not yet in parts (object storage).
    async fn open_target(&self) -> Result<(PathBuf, File), AppError> {
        let local = self.app.blobs.is_local();
        let path = staging(self.app, &self.u.id, if local { "" } else { ".buf" });
        let mut f = tokio::fs::OpenOptions::new()
            .create(true)
            .read(true)
            .write(true)
            .truncate(false)
            .open(&path)
            .await?;
        let keep = self.kept();
        if local && f.metadata().await?.len() < keep {
            // Extending the file would fill the bytes this instance never received with zeros.
            return Err(crate::uploads::resumable::missing_staged_bytes());
        }
        // The local buffer is trusted only when this instance recorded it at exactly this offset (a failed
        // write may have left it changed); otherwise the remainder comes from where the last writer left it.
        let marker = staging(self.app, &self.u.id, ".at");
        let trusted = tokio::fs::read_to_string(&marker)
            .await
            .ok()
            .and_then(|m| m.trim().parse::<u64>().ok())
            == Some(self.offset)
            && f.metadata().await?.len() == keep;
        let _ = tokio::fs::remove_file(&marker).await;
        if !local && !trusted && keep > 0 {
            let rest = self.app.blobs.get_small(&rest_key(&self.u)).await?;
            if rest.len() as u64 != keep {
                return Err(AppError::Internal(format!(
                    "upload {} remainder is {} bytes, expected {keep}",
                    self.u.id,
                    rest.len()
                )));
            }
            f.set_len(0).await?;
            f.write_all(&rest).await?;
        }
        // Anything past the recorded offset is from a write that was never recorded: drop it.
        f.set_len(keep).await?;
        f.seek(SeekFrom::Start(keep)).await?;
        Ok((path, f))
    }

    /// Receives the body and returns the upload's new state. Bytes before an interruption are kept (the client
    /// resumes from the new offset), unless a checksum was asked for: then the chunk counts only when whole.
    pub(crate) async fn receive<S, E>(mut self, body: S) -> Result<LargeUpload, AppError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: std::fmt::Display,
    {
        let (path, file) = self.open_target().await?;
        let mut out = BufWriter::with_capacity(1024 * 1024, file);
        let mut digests = Digests {
            upload: restore_hash(&self.u.hash_state)?,
            chunk: self.checksum.as_ref().map(|c| Check::new(c.algorithm)),
        };
        let (written, stop) = self.copy_body(body, &path, &mut out, &mut digests).await?;
        out.flush().await?;
        let file = out.into_inner();
        let stop = self.verify(digests.chunk, stop, &file).await?;
        file.sync_data().await?;
        drop(file);
        self.record(&path, written, digests.upload).await?;
        match stop {
            Some(e) if !matches!(e, AppError::BadRequest(_) | AppError::Unavailable(_)) => Err(e),
            _ => Ok(self.u),
        }
    }

    /// Appends the body to `out` until it ends or stops (see `Stop`); returns the bytes written. On object
    /// storage without a checksum, full parts are sent as they fill up.
    async fn copy_body<S, E>(
        &mut self,
        body: S,
        path: &PathBuf,
        out: &mut BufWriter<File>,
        digests: &mut Digests,
    ) -> Result<(u64, Stop), AppError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: std::fmt::Display,
    {
        let room = self.u.length as u64 - self.offset;
        let mut written: u64 = 0;
        // Bytes received since progress was last recorded (see `checkpoint_due`).
        let mut unsaved: u64 = 0;
        let mut body = std::pin::pin!(body);
        loop {
            // On shutdown, stop reading: what arrived is recorded and the client resumes on the next start.
            let next = tokio::select! {
                next = body.next() => next,
                () = self.app.shutdown.cancelled() => {
                    let e = AppError::Unavailable("the server is restarting; resume the upload in a moment".into());
                    return Ok((written, Some(e)));
                }
                // Another writer may take the upload soon: touch nothing more.
                () = self.lease.lost().cancelled() => return Err(Lease::lost_error()),
            };
            let chunk: Bytes = match next {
                None => return Ok((written, None)),
                Some(Ok(c)) => c,
                Some(Err(e)) => {
                    tracing::info!(upload = %self.u.id, written, error = %e, "upload interrupted");
                    return Ok((
                        written,
                        Some(AppError::BadRequest("the request body was interrupted".into())),
                    ));
                }
            };
            if written + chunk.len() as u64 > room {
                return Ok((
                    written,
                    Some(AppError::PastLength {
                        length: self.u.length as u64,
                    }),
                ));
            }
            out.write_all(&chunk).await?;
            metrics::counter!("partnerdesk_large_upload_bytes_total").increment(chunk.len() as u64);
            digests.update(&chunk);
            written += chunk.len() as u64;
            unsaved += chunk.len() as u64;
            if digests.chunk.is_none() && written < room && self.checkpoint_due(out, unsaved).await? {
                out.flush().await?;
                self.checkpoint(path, written, &digests.upload, out.get_ref()).await?;
                unsaved = 0;
                // On object storage the buffer file was rewritten with what was not sent: append after that.
                out.get_mut().seek(SeekFrom::End(0)).await?;
            }
        }
    }

    /// Whether to record progress now, in the middle of a body: every part on object storage (the part is sent),
    /// every `part_size` bytes on local disk. So a crash during a long request loses at most that much.
    /// Not with a checksum: then the chunk counts only when whole.
    async fn checkpoint_due(&self, out: &BufWriter<File>, unsaved: u64) -> Result<bool, AppError> {
        let part = self.app.settings.part_size;
        Ok(if self.app.blobs.is_local() {
            unsaved >= part
        } else {
            out.get_ref().metadata().await?.len() + out.buffer().len() as u64 >= part
        })
    }

    /// Records the bytes received so far (`written` in this request) while the body goes on: on local disk the
    /// bytes are made durable before the offset that counts them.
    async fn checkpoint(&mut self, path: &PathBuf, written: u64, hasher: &Sha256, file: &File) -> Result<(), AppError> {
        if self.app.blobs.is_local() {
            file.sync_data().await?;
        }
        self.save(path, written, hasher, false).await?;
        tracing::debug!(upload = %self.u.id, offset = self.u.offset, "upload checkpoint");
        Ok(())
    }

    /// With a checksum, a chunk that stopped early or does not match is cut off the file and the request fails;
    /// otherwise `stop` is passed on.
    async fn verify(&self, check: Option<Check>, stop: Stop, file: &File) -> Result<Stop, AppError> {
        let Some(Checksum { expected, .. }) = &self.checksum else {
            return Ok(stop);
        };
        let got = check.map(Check::finalize).unwrap_or_default();
        if stop.is_some() || &got != expected {
            // The chunk does not count: cut the file back to where it was.
            file.set_len(self.kept()).await?;
            return Err(stop.unwrap_or_else(|| {
                AppError::ChecksumMismatch("Upload-Checksum does not match the bytes received".into())
            }));
        }
        Ok(stop)
    }

    /// Records the `written` bytes of this request, and files the attachment when the upload is complete.
    async fn record(&mut self, path: &PathBuf, written: u64, hasher: Sha256) -> Result<(), AppError> {
        let complete = self.offset + written == self.u.length as u64;
        self.save(path, written, &hasher, complete).await?;
        if complete {
            self.finish(path, hasher).await?;
        }
        Ok(())
    }

    /// Saves the state after `written` bytes of this request: parts and remainder to object storage, then the new
    /// offset and hash state to the database (only if this request still holds the upload), then the remainder of
    /// the state before is removed. A crash anywhere in between leaves the recorded state whole.
    async fn save(&mut self, path: &PathBuf, written: u64, hasher: &Sha256, complete: bool) -> Result<(), AppError> {
        if self.lease.lost().is_cancelled() {
            return Err(Lease::lost_error());
        }
        let local = self.app.blobs.is_local();
        let from = self.u.offset;
        let marker = staging(self.app, &self.u.id, ".at");
        if !local {
            // The buffer is about to change: until the new state is recorded, it is not to be trusted.
            let _ = tokio::fs::remove_file(&marker).await;
        }
        self.u.offset = (self.offset + written) as i64;
        self.u.hash_state = hash_state(hasher);
        if !local {
            self.flush_parts(path, complete).await?;
            if !complete {
                let rest = tokio::fs::read(path).await?;
                self.app.blobs.put_small(&rest_key(&self.u), Bytes::from(rest)).await?;
            }
        }
        if !files::save_progress(&mut self.app.db.conn(), &self.u, from, self.lease.token()).await? {
            return Err(AppError::Conflict("the upload was changed by another request".into()));
        }
        if !local {
            if from != self.u.offset {
                let _ = self.app.blobs.delete(&rest_key_at(&self.u.blob_key, from)).await;
            }
            if !complete {
                tokio::fs::write(&marker, self.u.offset.to_string()).await?;
            }
        }
        Ok(())
    }

    /// Sends full parts from the buffer file to object storage (and, when `last`, whatever remains).
    async fn flush_parts(&mut self, path: &PathBuf, last: bool) -> Result<(), AppError> {
        let part = self.app.settings.part_size;
        let mut f = File::open(path).await?;
        let len = f.metadata().await?.len();
        if len < part && !(last && (len > 0 || self.u.parts.is_empty())) {
            return Ok(());
        }
        let mut sent = 0u64;
        while len - sent >= part || (last && (len - sent > 0 || self.u.parts.is_empty())) {
            if self.lease.lost().is_cancelled() {
                return Err(Lease::lost_error());
            }
            let n = (len - sent).min(part);
            let mut buf = vec![0u8; n as usize];
            f.read_exact(&mut buf).await?;
            if self.u.multipart_id.is_none() {
                self.u.multipart_id = Some(self.app.blobs.create_multipart(&self.u.blob_key).await?);
            }
            let mp = self.u.multipart_id.clone().unwrap_or_default();
            let id = self
                .app
                .blobs
                .put_part(&self.u.blob_key, &mp, self.u.parts.len(), Bytes::from(buf))
                .await?;
            self.u.parts.push(id);
            sent += n;
            self.u.flushed += n as i64;
            if n == 0 {
                break;
            }
        }
        // Keep only what was not sent.
        let mut rest = Vec::new();
        f.read_to_end(&mut rest).await?;
        drop(f);
        tokio::fs::write(path, &rest).await?;
        Ok(())
    }

    /// Puts the whole file where attachments live: renamed into place (local disk) or the multipart upload
    /// completed (object storage).
    async fn place(&self, path: &PathBuf) -> Result<(), AppError> {
        let app = self.app;
        if let Some(target) = app.blobs.local_path(&self.u.blob_key) {
            if let Some(dir) = target.parent() {
                tokio::fs::create_dir_all(dir).await?;
            }
            // On a retry after a failed finish the file may already be in place.
            let staged = tokio::fs::try_exists(path).await.unwrap_or(false);
            if staged || !tokio::fs::try_exists(&target).await.unwrap_or(false) {
                tokio::fs::rename(path, &target).await?;
            }
        } else {
            let mp = self.u.multipart_id.clone().unwrap_or_default();
            if let Err(e) = app.blobs.complete_multipart(&self.u.blob_key, &mp, &self.u.parts).await {
                // Completed by an earlier attempt whose bookkeeping then failed: the object is there, whole.
                if app.blobs.size(&self.u.blob_key).await.ok() != Some(self.u.length as u64) {
                    return Err(e.into());
                }
            }
            let _ = tokio::fs::remove_file(path).await;
        }
        Ok(())
    }

    /// The last byte arrived: the file becomes an attachment of the ticket, announced by a comment.
    pub(crate) async fn finish(&mut self, path: &PathBuf, hasher: Sha256) -> Result<(), AppError> {
        self.place(path).await?;
        let sha256 = hex::encode(hasher.finalize());
        let mut tx = self.app.db.begin().await?;
        // Locked: the comment's update writes the ticket's fields back as read here.
        let ticket = tickets::get_for_update(&mut tx, self.u.ticket_id, TicketScope::All).await?;
        let note = NewComment {
            author_id: Some(self.who.id),
            body: format!(
                "Uploaded {} ({}) with the large-file uploader.",
                self.u.file_name,
                partnerdesk_core::text::human_size(self.u.length as u64)
            ),
            public: true,
            via: "upload".into(),
        };
        let (_, comment, _) =
            tickets::update(&mut tx, &ticket, &ticket.fields(), Some(&note), &self.who.audit_actor()).await?;
        let attachment = files::add_attachment(
            &mut tx,
            &NewAttachment {
                upload_id: None,
                ticket_id: Some(ticket.id),
                comment_id: comment.map(|c| c.id),
                file_name: &self.u.file_name,
                content_type: &self.u.content_type,
                size: self.u.length,
                sha256: &sha256,
                blob_key: &self.u.blob_key,
                uploader_id: self.who.id,
            },
        )
        .await?;
        if !files::complete_large(&mut tx, &self.u.id, attachment.id, self.lease.token()).await? {
            return Err(AppError::Conflict("the upload was changed by another request".into()));
        }
        tx.commit().await?;
        self.u.completed_at = Some(now());
        self.u.attachment_id = Some(attachment.id);
        tracing::info!(upload = %self.u.id, size = self.u.length, %sha256, "large upload complete");
        Ok(())
    }
}
