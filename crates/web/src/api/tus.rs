//! The large-file uploader: a tus 1.0 server at `/api/v2/large_uploads` (core, creation, creation-with-upload,
//! termination, checksum with sha1 and sha256, expiration). Unmodified tus clients work with it.
//!
//! State lives in the database (`large_uploads`): offset, the sha256 state after that offset, and for object
//! storage the multipart upload with its part ids. On local disk chunks are appended to a staging file that is
//! renamed into place when complete; on object storage chunks are buffered on disk into parts (8 MiB) and the
//! remainder between PATCHes is kept as a small object, so that any instance can continue an upload.
//! Memory stays flat: bodies are streamed to disk in 1 MiB writes.
//!
//! A PATCH is processed in its own task, so that when the client goes away mid-chunk the bytes received are still
//! recorded (unless a checksum was asked for, in which case the chunk is discarded, as the protocol says).

use std::io::SeekFrom;
use std::path::PathBuf;

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, on};
use base64::Engine;
use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use partnerdesk_core::TicketId;
use partnerdesk_core::policy::TicketScope;
use partnerdesk_db::files::{self, LargeUpload, NewAttachment};
use partnerdesk_db::tickets::{self, NewComment};
use partnerdesk_db::users::User;
use partnerdesk_db::{DbError, now};
use sha1::Sha1;
use sha2::digest::common::hazmat::SerializableState;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use partnerdesk_app::uploads::resumable::{discard, rest_key, staging};

use partnerdesk_app::AppError;

use crate::error::ApiError;
use crate::state::AppState;
use partnerdesk_app::uploads::attachments::{content_type_for, new_blob_key, safe_file_name};

pub const TUS_VERSION: &str = "1.0.0";
const EXTENSIONS: &str = "creation,creation-with-upload,termination,checksum,expiration";
const CHECKSUMS: &str = "sha1,sha256";
const OFFSET_OCTET_STREAM: &str = "application/offset+octet-stream";

/// A tus error: a status and a message (and every tus answer carries `Tus-Resumable`).
#[derive(Debug)]
pub struct TusError(StatusCode, String);

impl TusError {
    fn new(status: u16, msg: impl Into<String>) -> TusError {
        TusError(
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            msg.into(),
        )
    }
}

impl From<AppError> for TusError {
    fn from(e: AppError) -> Self {
        crate::error::log_internal(&e);
        TusError(crate::error::status_of(&e), e.message())
    }
}

impl From<ApiError> for TusError {
    fn from(e: ApiError) -> Self {
        e.0.into()
    }
}

/// Store, storage and file errors are answered through `AppError`, like every other.
macro_rules! tus_error_via_app {
    ($($t:ty),*) => {$(
        impl From<$t> for TusError {
            fn from(e: $t) -> Self {
                AppError::from(e).into()
            }
        }
    )*};
}
tus_error_via_app!(DbError, partnerdesk_blob::BlobError);

impl From<std::io::Error> for TusError {
    fn from(e: std::io::Error) -> Self {
        AppError::Internal(e.to_string()).into()
    }
}

impl IntoResponse for TusError {
    fn into_response(self) -> Response {
        // 460 is tus's own status, without a standard reason phrase.
        let error = if self.0.as_u16() == 460 {
            "Checksum Mismatch"
        } else {
            self.0.canonical_reason().unwrap_or("Error")
        };
        let body = serde_json::json!({"error": error, "description": self.1});
        let mut resp = (self.0, axum::Json(body)).into_response();
        tus_headers(resp.headers_mut());
        if self.0 == StatusCode::PRECONDITION_FAILED {
            resp.headers_mut()
                .insert("tus-version", HeaderValue::from_static(TUS_VERSION));
        }
        resp
    }
}

fn tus_headers(h: &mut HeaderMap) {
    h.insert("tus-resumable", HeaderValue::from_static(TUS_VERSION));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

fn set(h: &mut HeaderMap, name: &'static str, value: String) {
    if let Ok(v) = HeaderValue::from_str(&value) {
        h.insert(HeaderName::from_static(name), v);
    }
}

/// The uploader: an API caller (token or password) or a signed-in browser. Browser requests need no CSRF token
/// here: every tus request carries `Tus-Resumable`, a header that makes cross-site requests preflighted, and the
/// session cookie is SameSite.
pub struct Uploader(pub User);

impl FromRequestParts<AppState> for Uploader {
    type Rejection = TusError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, TusError> {
        match crate::auth::any_user(parts, state).await? {
            Some(u) => Ok(Uploader(u)),
            None => Err(AppError::Unauthenticated("Authentication required.".into()).into()),
        }
    }
}

fn http_date(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

fn require_version(h: &HeaderMap) -> Result<(), TusError> {
    match h.get("tus-resumable").and_then(|v| v.to_str().ok()) {
        Some(TUS_VERSION) => Ok(()),
        Some(other) => Err(TusError::new(
            412,
            format!("unsupported tus version '{other}'; this server speaks {TUS_VERSION}"),
        )),
        None => Err(TusError::new(412, "the Tus-Resumable header is required")),
    }
}

fn header_u64(h: &HeaderMap, name: &str) -> Result<Option<u64>, TusError> {
    match h.get(name) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .map(Some)
            .ok_or_else(|| TusError::new(400, format!("{name} must be a non-negative integer"))),
    }
}

/// `key base64,key base64,key`.
pub fn parse_metadata(raw: &str) -> Result<Vec<(String, String)>, TusError> {
    let mut out = Vec::new();
    for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once(' ').unwrap_or((pair, ""));
        let value = base64::engine::general_purpose::STANDARD
            .decode(v.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(|| TusError::new(400, format!("Upload-Metadata value of '{k}' is not base64 UTF-8")))?;
        out.push((k.to_owned(), value));
    }
    Ok(out)
}

fn hash_state(h: &Sha256) -> String {
    hex::encode(h.serialize())
}

fn restore_hash(state: &str) -> Result<Sha256, TusError> {
    let bytes = hex::decode(state).map_err(|_| AppError::Internal("stored hash state is not hex".into()))?;
    let arr = bytes
        .as_slice()
        .try_into()
        .map_err(|_| AppError::Internal("stored hash state has the wrong size".into()))?;
    Sha256::deserialize(arr).map_err(|_| AppError::Internal("stored hash state is invalid".into()).into())
}

/// Loads an upload the caller may write to: its ticket must be visible to them.
async fn load(state: &AppState, who: &User, id: &str) -> Result<LargeUpload, TusError> {
    if id.len() > 64 || !id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(TusError::new(404, "no such upload"));
    }
    let u = files::get_large(&mut state.db.conn(), id).await.map_err(|e| match e {
        DbError::NotFound => TusError::new(404, "no such upload"),
        e => e.into(),
    })?;
    let ticket = tickets::get(&mut state.db.conn(), u.ticket_id, who.actor().ticket_scope())
        .await
        .map_err(|e| match e {
            DbError::NotFound => TusError::new(404, "no such upload"),
            e => TusError::from(e),
        })?;
    // An upload is its uploader's (staff may look after any).
    if u.owner_id != who.id && !who.role.is_staff() {
        return Err(TusError::new(404, "no such upload"));
    }
    if u.completed_at.is_none() && ticket.status.is_frozen() {
        return Err(TusError::new(
            403,
            "the ticket was closed; files can no longer be added to it",
        ));
    }
    if u.completed_at.is_none() && u.expires_at <= now() {
        return Err(TusError::new(410, "this upload expired; start it again"));
    }
    Ok(u)
}

pub fn router() -> Router<AppState> {
    let collection = on(MethodFilter::OPTIONS, options).post(create);
    let item = on(MethodFilter::OPTIONS, options)
        .head(head)
        .patch(patch)
        .delete(terminate);
    Router::new()
        .route("/large_uploads", collection.clone())
        .route("/large_uploads/", collection)
        .route("/large_uploads/{id}", item)
}

async fn options(State(state): State<AppState>) -> Response {
    let mut resp = StatusCode::NO_CONTENT.into_response();
    let h = resp.headers_mut();
    tus_headers(h);
    h.insert("tus-version", HeaderValue::from_static(TUS_VERSION));
    h.insert("tus-extension", HeaderValue::from_static(EXTENSIONS));
    h.insert("tus-checksum-algorithm", HeaderValue::from_static(CHECKSUMS));
    set(h, "tus-max-size", state.settings.max_large_upload_bytes.to_string());
    resp
}

async fn create(
    State(state): State<AppState>,
    Uploader(who): Uploader,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, TusError> {
    require_version(&headers)?;
    if headers.contains_key("upload-defer-length") {
        return Err(TusError::new(
            400,
            "Upload-Defer-Length is not supported: send Upload-Length",
        ));
    }
    let length =
        header_u64(&headers, "upload-length")?.ok_or_else(|| TusError::new(400, "Upload-Length is required"))?;
    let max = state.settings.max_large_upload_bytes;
    if length > max {
        return Err(TusError::new(413, format!("uploads are limited to {max} bytes")));
    }
    let raw_meta = headers
        .get("upload-metadata")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let meta = parse_metadata(&raw_meta)?;
    let get = |k: &str| meta.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    let name = get("filename")
        .or(get("name"))
        .ok_or_else(|| TusError::new(400, "Upload-Metadata must name the file (filename)"))?;
    let name = safe_file_name(name).map_err(|e| TusError::new(400, e.to_string()))?;
    let ticket_raw = get("ticket_id")
        .or(get("ticket"))
        .ok_or_else(|| TusError::new(400, "Upload-Metadata must name the ticket (ticket_id)"))?;
    let ticket_id = ticket_raw
        .trim()
        .parse::<i64>()
        .map_err(|_| TusError::new(400, format!("ticket_id '{ticket_raw}' is not a ticket id")))?;
    let ticket = tickets::get(&mut state.db.conn(), TicketId(ticket_id), who.actor().ticket_scope())
        .await
        .map_err(|e| match e {
            DbError::NotFound => TusError::new(404, format!("ticket {ticket_id} not found")),
            e => e.into(),
        })?;
    if ticket.status.is_frozen() {
        return Err(TusError::new(403, "the ticket is closed; files cannot be added to it"));
    }
    let content_type = get("filetype")
        .or(get("content_type"))
        .filter(|t| t.len() < 128 && t.contains('/'))
        .unwrap_or(content_type_for(&name));
    let id = partnerdesk_core::credentials::new_token().map_err(ApiError::from)?[..32].to_owned();
    let upload = LargeUpload {
        id: id.clone(),
        ticket_id: ticket.id,
        owner_id: who.id,
        file_name: name,
        content_type: content_type.to_owned(),
        metadata: raw_meta,
        length: length as i64,
        offset: 0,
        hash_state: hash_state(&Sha256::new()),
        blob_key: new_blob_key("large")?,
        multipart_id: None,
        parts: Vec::new(),
        flushed: 0,
        expires_at: now() + Duration::hours(state.settings.large_upload_ttl_hours),
        completed_at: None,
        attachment_id: None,
    };
    files::create_large(&mut state.db.conn(), &upload).await?;
    let location = state.url(&format!("/api/v2/large_uploads/{id}"));
    let with_body = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) == Some(OFFSET_OCTET_STREAM);
    let upload = if with_body || length == 0 {
        write(state.clone(), who, upload, 0, None, body).await?
    } else {
        upload
    };
    let mut resp = StatusCode::CREATED.into_response();
    let h = resp.headers_mut();
    tus_headers(h);
    set(h, "location", location);
    set(h, "upload-offset", upload.offset.to_string());
    if upload.completed_at.is_none() {
        set(h, "upload-expires", http_date(upload.expires_at));
    }
    Ok(resp)
}

async fn head(
    State(state): State<AppState>,
    Uploader(who): Uploader,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, TusError> {
    require_version(&headers)?;
    let mut u = load(&state, &who, &id).await?;
    if u.completed_at.is_none() && u.offset == u.length {
        u = refinish(&state, &who, u).await?;
    }
    let mut resp = StatusCode::OK.into_response();
    let h = resp.headers_mut();
    tus_headers(h);
    set(h, "upload-offset", u.offset.to_string());
    set(h, "upload-length", u.length.to_string());
    if u.completed_at.is_none() {
        set(h, "upload-expires", http_date(u.expires_at));
    }
    // The metadata exactly as the client sent it, as the protocol asks.
    if !u.metadata.is_empty() {
        set(h, "upload-metadata", u.metadata.clone());
    }
    Ok(resp)
}

async fn patch(
    State(state): State<AppState>,
    Uploader(who): Uploader,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, TusError> {
    require_version(&headers)?;
    if headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) != Some(OFFSET_OCTET_STREAM) {
        return Err(TusError::new(
            415,
            format!("PATCH bodies must be sent as {OFFSET_OCTET_STREAM}"),
        ));
    }
    let offset =
        header_u64(&headers, "upload-offset")?.ok_or_else(|| TusError::new(400, "Upload-Offset is required"))?;
    let checksum = match headers.get("upload-checksum").and_then(|v| v.to_str().ok()) {
        None => None,
        Some(raw) => {
            let (alg, value) = raw
                .trim()
                .split_once(' ')
                .ok_or_else(|| TusError::new(400, "Upload-Checksum must be 'algorithm base64'"))?;
            let expected = base64::engine::general_purpose::STANDARD
                .decode(value.trim())
                .map_err(|_| TusError::new(400, "Upload-Checksum value is not base64"))?;
            match alg {
                "sha1" | "sha256" => Some((alg.to_owned(), expected)),
                other => {
                    return Err(TusError::new(
                        400,
                        format!("checksum algorithm '{other}' is not supported; use {CHECKSUMS}"),
                    ));
                }
            }
        }
    };
    let u = load(&state, &who, &id).await?;
    if u.completed_at.is_some() {
        return Err(TusError::new(409, "this upload is already complete"));
    }
    if u.offset == u.length {
        // Every byte arrived but making it an attachment failed earlier: finish it now (never re-stage it).
        let u = refinish(&state, &who, u).await?;
        let mut resp = StatusCode::NO_CONTENT.into_response();
        tus_headers(resp.headers_mut());
        set(resp.headers_mut(), "upload-offset", u.offset.to_string());
        return Ok(resp);
    }
    if u.offset as u64 != offset {
        let mut resp = TusError::new(
            409,
            format!("Upload-Offset {offset} does not match the upload's offset {}", u.offset),
        )
        .into_response();
        set(resp.headers_mut(), "upload-offset", u.offset.to_string());
        return Ok(resp);
    }
    let u = write(state, who, u, offset, checksum, body).await?;
    let mut resp = StatusCode::NO_CONTENT.into_response();
    let h = resp.headers_mut();
    tus_headers(h);
    set(h, "upload-offset", u.offset.to_string());
    if u.completed_at.is_none() {
        set(h, "upload-expires", http_date(u.expires_at));
    }
    Ok(resp)
}

async fn terminate(
    State(state): State<AppState>,
    Uploader(who): Uploader,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, TusError> {
    require_version(&headers)?;
    let u = load(&state, &who, &id).await?;
    let _guard = state
        .tus_writers
        .claim(&u.id)
        .ok_or_else(|| TusError::new(423, "the upload is being written; try again"))?;
    discard(&state, &u).await?;
    let mut resp = StatusCode::NO_CONTENT.into_response();
    tus_headers(resp.headers_mut());
    Ok(resp)
}

/// Makes a fully received upload an attachment, when an earlier attempt got all the bytes but failed to file them.
async fn refinish(state: &AppState, who: &User, u: LargeUpload) -> Result<LargeUpload, TusError> {
    let _guard = state
        .tus_writers
        .claim(&u.id)
        .ok_or_else(|| TusError::new(423, "the upload is being written; try again"))?;
    let path = staging(state, &u.id, if state.blobs.is_local() { "" } else { ".buf" });
    let hasher = restore_hash(&u.hash_state)?;
    let offset = u.offset as u64;
    let mut chunk = Chunk {
        state,
        who,
        u,
        offset,
        checksum: None,
    };
    chunk.finish(&path, hasher).await?;
    Ok(chunk.u)
}

/// Receives one chunk at `offset` in a task of its own (see the module comment) and returns the new state.
async fn write(
    state: AppState,
    who: User,
    u: LargeUpload,
    offset: u64,
    checksum: Option<(String, Vec<u8>)>,
    body: Body,
) -> Result<LargeUpload, TusError> {
    let guard = state
        .tus_writers
        .claim(&u.id)
        .ok_or_else(|| TusError::new(423, "another request is writing this upload; retry shortly"))?;
    let task = tokio::spawn(async move {
        let _guard = guard;
        Chunk {
            state: &state,
            who: &who,
            u,
            offset,
            checksum,
        }
        .receive(body)
        .await
    });
    task.await
        .map_err(|e| TusError::from(AppError::Internal(e.to_string())))?
}

struct Chunk<'a> {
    state: &'a AppState,
    who: &'a User,
    u: LargeUpload,
    offset: u64,
    checksum: Option<(String, Vec<u8>)>,
}

enum Check {
    Sha1(Sha1),
    Sha256(Sha256),
}

impl Chunk<'_> {
    /// The file this chunk is appended to: the whole upload (local) or the bytes not yet in parts (object storage).
    async fn open_target(&self) -> Result<(PathBuf, tokio::fs::File), TusError> {
        let local = self.state.blobs.is_local();
        let path = staging(self.state, &self.u.id, if local { "" } else { ".buf" });
        let mut f = tokio::fs::OpenOptions::new()
            .create(true)
            .read(true)
            .write(true)
            .truncate(false)
            .open(&path)
            .await?;
        let keep = if local {
            self.offset
        } else {
            self.offset - self.u.flushed as u64
        };
        // The local buffer is trusted only when this instance recorded it at exactly this offset (a failed
        // write may have left it changed); otherwise the remainder comes from where the last writer left it.
        let marker = staging(self.state, &self.u.id, ".at");
        let trusted = tokio::fs::read_to_string(&marker)
            .await
            .ok()
            .and_then(|m| m.trim().parse::<u64>().ok())
            == Some(self.offset)
            && f.metadata().await?.len() == keep;
        let _ = tokio::fs::remove_file(&marker).await;
        if !local && !trusted && keep > 0 {
            let rest = self.state.blobs.get_small(&rest_key(&self.u)).await?;
            if rest.len() as u64 != keep {
                return Err(AppError::Internal(format!(
                    "upload {} remainder is {} bytes, expected {keep}",
                    self.u.id,
                    rest.len()
                ))
                .into());
            }
            f.set_len(0).await?;
            f.write_all(&rest).await?;
        }
        // Anything past the recorded offset is from a write that was never recorded: drop it.
        f.set_len(keep).await?;
        f.seek(SeekFrom::Start(keep)).await?;
        Ok((path, f))
    }

    async fn receive(mut self, body: Body) -> Result<LargeUpload, TusError> {
        let (path, file) = self.open_target().await?;
        let mut out = tokio::io::BufWriter::with_capacity(1024 * 1024, file);
        let mut hasher = restore_hash(&self.u.hash_state)?;
        let mut check = self.checksum.as_ref().map(|(alg, _)| {
            if alg == "sha1" {
                Check::Sha1(Sha1::new())
            } else {
                Check::Sha256(Sha256::new())
            }
        });
        let room = self.u.length as u64 - self.offset;
        let mut written: u64 = 0;
        let mut failure: Option<TusError> = None;
        let mut stream = body.into_data_stream();
        loop {
            // On shutdown, stop reading: what arrived is recorded and the client resumes on the next start.
            let next = tokio::select! {
                next = stream.next() => next,
                () = self.state.shutdown.cancelled() => {
                    failure = Some(TusError::new(503, "the server is restarting; resume the upload in a moment"));
                    break;
                }
            };
            let Some(next) = next else { break };
            let chunk: Bytes = match next {
                Ok(c) => c,
                Err(e) => {
                    tracing::info!(upload = %self.u.id, written, error = %e, "upload interrupted");
                    failure = Some(TusError::new(400, "the request body was interrupted"));
                    break;
                }
            };
            if written + chunk.len() as u64 > room {
                failure = Some(TusError::new(
                    413,
                    format!("the body goes past Upload-Length ({} bytes)", self.u.length),
                ));
                break;
            }
            out.write_all(&chunk).await?;
            hasher.update(&chunk);
            match &mut check {
                Some(Check::Sha1(h)) => h.update(&chunk),
                Some(Check::Sha256(h)) => h.update(&chunk),
                None => {}
            }
            written += chunk.len() as u64;
            if check.is_none()
                && !self.state.blobs.is_local()
                && out.get_ref().metadata().await?.len() + out.buffer().len() as u64 >= self.state.settings.part_size
            {
                out.flush().await?;
                self.flush_parts(&path, false).await?;
                // flush_parts rewrote the buffer file with what was not sent: append after that.
                out.get_mut().seek(SeekFrom::End(0)).await?;
            }
        }
        out.flush().await?;
        let file = out.into_inner();
        if let Some((_, expected)) = &self.checksum {
            let got = match check {
                Some(Check::Sha1(h)) => h.finalize().to_vec(),
                Some(Check::Sha256(h)) => h.finalize().to_vec(),
                None => Vec::new(),
            };
            if failure.is_some() || &got != expected {
                // The chunk does not count: cut the file back to where it was.
                let keep = if self.state.blobs.is_local() {
                    self.offset
                } else {
                    self.offset - self.u.flushed as u64
                };
                file.set_len(keep).await?;
                return Err(
                    failure.unwrap_or_else(|| TusError::new(460, "Upload-Checksum does not match the bytes received"))
                );
            }
        }
        file.sync_data().await?;
        drop(file);
        let from = self.u.offset;
        self.u.offset = (self.offset + written) as i64;
        self.u.hash_state = hash_state(&hasher);
        let complete = self.u.offset == self.u.length;
        if !self.state.blobs.is_local() {
            self.flush_parts(&path, complete).await?;
            if !complete {
                let rest = tokio::fs::read(&path).await?;
                self.state
                    .blobs
                    .put_small(&rest_key(&self.u), Bytes::from(rest))
                    .await?;
            }
        }
        if !files::save_progress(&mut self.state.db.conn(), &self.u, from).await? {
            return Err(TusError::new(409, "the upload was changed by another request"));
        }
        if !self.state.blobs.is_local() && !complete {
            tokio::fs::write(staging(self.state, &self.u.id, ".at"), self.u.offset.to_string()).await?;
        }
        if complete {
            self.finish(&path, hasher).await?;
        }
        match failure {
            // Bytes before an interruption are kept: the client resumes from the new offset.
            Some(e) if e.0 != StatusCode::BAD_REQUEST && e.0 != StatusCode::SERVICE_UNAVAILABLE => Err(e),
            _ => Ok(self.u),
        }
    }

    /// Sends full parts from the buffer file to object storage (and, when `last`, whatever remains).
    async fn flush_parts(&mut self, path: &PathBuf, last: bool) -> Result<(), TusError> {
        let part = self.state.settings.part_size;
        let mut f = tokio::fs::File::open(path).await?;
        let len = f.metadata().await?.len();
        if len < part && !(last && (len > 0 || self.u.parts.is_empty())) {
            return Ok(());
        }
        let mut sent = 0u64;
        while len - sent >= part || (last && (len - sent > 0 || self.u.parts.is_empty())) {
            let n = (len - sent).min(part);
            let mut buf = vec![0u8; n as usize];
            f.read_exact(&mut buf).await?;
            if self.u.multipart_id.is_none() {
                self.u.multipart_id = Some(self.state.blobs.create_multipart(&self.u.blob_key).await?);
            }
            let mp = self.u.multipart_id.clone().unwrap_or_default();
            let id = self
                .state
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

    /// The last byte arrived: the file becomes an attachment of the ticket, announced by a comment.
    async fn finish(&mut self, path: &PathBuf, hasher: Sha256) -> Result<(), TusError> {
        let state = self.state;
        if let Some(target) = state.blobs.local_path(&self.u.blob_key) {
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
            if let Err(e) = state
                .blobs
                .complete_multipart(&self.u.blob_key, &mp, &self.u.parts)
                .await
            {
                // Completed by an earlier attempt whose bookkeeping then failed: the object is there, whole.
                if state.blobs.size(&self.u.blob_key).await.ok() != Some(self.u.length as u64) {
                    return Err(e.into());
                }
            }
            let _ = state.blobs.delete(&rest_key(&self.u)).await;
            let _ = tokio::fs::remove_file(path).await;
        }
        let sha256 = hex::encode(hasher.finalize());
        let mut tx = state.db.begin().await?;
        let ticket = tickets::get(&mut tx, self.u.ticket_id, TicketScope::All).await?;
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
        files::complete_large(&mut tx, &self.u.id, attachment.id).await?;
        tx.commit().await?;
        self.u.completed_at = Some(now());
        self.u.attachment_id = Some(attachment.id);
        tracing::info!(upload = %self.u.id, size = self.u.length, %sha256, "large upload complete");
        Ok(())
    }
}

/// 1536 → "1.5 KB".
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata() {
        let m = parse_metadata("filename ZHVtcC5zcWw=,ticket_id MTI=,flag").map_err(|e| e.1);
        assert_eq!(
            m,
            Ok(vec![
                ("filename".into(), "dump.sql".into()),
                ("ticket_id".into(), "12".into()),
                ("flag".into(), String::new())
            ])
        );
        assert!(parse_metadata("filename !!!").is_err());
    }

    #[test]
    fn hash_state_round_trips() -> Result<(), String> {
        let mut h = Sha256::new();
        h.update(b"hello ");
        let mut restored = restore_hash(&hash_state(&h)).map_err(|e| e.1)?;
        restored.update(b"world");
        assert_eq!(
            hex::encode(restored.finalize()),
            hex::encode(Sha256::digest(b"hello world"))
        );
        Ok(())
    }
}
