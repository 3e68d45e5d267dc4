//! The large-file uploader: a tus 1.0 server at `/api/v2/large_uploads` (core, creation, creation-with-upload,
//! termination, checksum with sha1 and sha256, expiration). Unmodified tus clients work with it.
//!
//! Only the protocol lives here (headers, status codes, the handlers). Receiving the bytes, keeping an upload's
//! state and filing the finished file is `partnerdesk_app::uploads::resumable`, whose module comment says where
//! the state and the bytes are kept.

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, on};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use partnerdesk_core::TicketId;
use partnerdesk_db::files::{self, LargeUpload};
use partnerdesk_db::tickets;
use partnerdesk_db::users::User;
use partnerdesk_db::{DbError, now};

use partnerdesk_app::AppError;
use partnerdesk_app::uploads::attachments::{content_type_for, new_blob_key, safe_file_name};
use partnerdesk_app::uploads::resumable::{self, Algorithm, Checksum};

use crate::api::doc::Binary;
use crate::api::doc::{Authenticated, Invalid, TusCreateErrors, TusItemErrors, TusPatchErrors};
use crate::error::ApiError;
use crate::state::AppState;
use utoipa::IntoParams;

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
        let body = crate::api::doc::ErrorBody {
            error: error.into(),
            description: self.1,
            details: None,
        };
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

/// An upload the caller may write to; any that is not theirs, or does not exist, is "no such upload".
async fn load(state: &AppState, who: &User, id: &str) -> Result<LargeUpload, TusError> {
    resumable::load(state, who, id).await.map_err(|e| match e {
        AppError::NotFound => TusError::new(404, "no such upload"),
        e => e.into(),
    })
}

pub fn router() -> Router<AppState> {
    let collection = on(MethodFilter::OPTIONS, options_collection).post(create);
    let item = on(MethodFilter::OPTIONS, options_item)
        .head(head)
        .patch(patch)
        .delete(terminate);
    Router::new()
        .route("/large_uploads", collection.clone())
        .route("/large_uploads/", collection)
        .route("/large_uploads/{id}", item)
}

/// The tus version every request but OPTIONS must name.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub struct TusResumable {
    /// `1.0.0`; any other value, or none, is 412 Precondition Failed (with `Tus-Version`).
    #[param(rename = "Tus-Resumable", pattern = r"^1\.0\.0$")]
    tus_resumable: String,
}

/// What a creation names.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub struct CreationHeaders {
    /// The file's size in bytes (`Upload-Defer-Length` is not supported).
    #[param(rename = "Upload-Length", minimum = 0)]
    upload_length: u64,
    /// Comma-separated `key base64(value)` pairs: `filename` (or `name`) and `ticket_id` (or `ticket`) are required,
    /// `filetype` (or `content_type`) is optional.
    #[param(rename = "Upload-Metadata", format = "tus-upload-metadata")]
    upload_metadata: String,
}

/// What a PATCH says about its bytes.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub struct PatchHeaders {
    /// Where these bytes go: the upload's current offset (409 otherwise, with the current `Upload-Offset`).
    #[param(rename = "Upload-Offset", minimum = 0)]
    upload_offset: u64,
    /// `sha1 BASE64` or `sha256 BASE64` of this request's bytes; 460 when they do not match.
    #[param(rename = "Upload-Checksum", format = "tus-upload-checksum")]
    upload_checksum: Option<String>,
}

/// Also at `/api/v2/large_uploads/`. No credentials needed.
#[utoipa::path(options, path = "/api/v2/large_uploads", tag = "large_uploads", security(()),
    responses((status = 204, description = "What this tus server supports", headers(
        ("Tus-Resumable" = String), ("Tus-Version" = String), ("Tus-Extension" = String),
        ("Tus-Checksum-Algorithm" = String), ("Tus-Max-Size" = u64)))))]
async fn options_collection(state: State<AppState>) -> Response {
    options(state).await
}

/// No credentials needed.
#[utoipa::path(options, path = "/api/v2/large_uploads/{id}", tag = "large_uploads", security(()),
    params(("id" = String, Path, description = "The upload's id, from its `Location`")),
    responses((status = 204, description = "What this tus server supports", headers(
        ("Tus-Resumable" = String), ("Tus-Version" = String), ("Tus-Extension" = String),
        ("Tus-Checksum-Algorithm" = String), ("Tus-Max-Size" = u64))), Invalid))]
async fn options_item(state: State<AppState>) -> Response {
    options(state).await
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

/// Creates an upload of a file for a ticket the caller can see (tus creation, and creation-with-upload when the body
/// is sent as `application/offset+octet-stream`). Also at `/api/v2/large_uploads/`.
#[utoipa::path(post, path = "/api/v2/large_uploads", tag = "large_uploads", params(TusResumable, CreationHeaders),
    request_body(content = Option<Binary>, content_type = "application/offset+octet-stream",
        description = "The first bytes of the file (optional)"),
    responses(
        (status = 201, description = "Created; `Location` is the upload's URL", headers(
            ("Location" = String), ("Upload-Offset" = u64), ("Upload-Expires" = String), ("Tus-Resumable" = String))),
        TusCreateErrors, Authenticated))]
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
        hash_state: resumable::initial_hash_state(),
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
        resumable::write(state.clone(), who, upload, 0, None, body.into_data_stream()).await?
    } else {
        upload
    };
    let mut resp = progress(StatusCode::CREATED, &upload);
    set(resp.headers_mut(), "location", location);
    Ok(resp)
}

/// An answer that tells the client how far the upload got: its offset, and until when an incomplete one may go on.
fn progress(status: StatusCode, u: &LargeUpload) -> Response {
    let mut resp = status.into_response();
    let h = resp.headers_mut();
    tus_headers(h);
    set(h, "upload-offset", u.offset.to_string());
    if u.completed_at.is_none() {
        set(h, "upload-expires", http_date(u.expires_at));
    }
    resp
}

/// How far an upload got.
#[utoipa::path(head, path = "/api/v2/large_uploads/{id}", tag = "large_uploads",
    params(("id" = String, Path, description = "The upload's id, from its `Location`"), TusResumable),
    responses(
        (status = 200, description = "The upload's offset, length and metadata", headers(
            ("Upload-Offset" = u64), ("Upload-Length" = u64), ("Upload-Metadata" = String),
            ("Upload-Expires" = String), ("Tus-Resumable" = String))),
        TusItemErrors, Authenticated))]
async fn head(
    State(state): State<AppState>,
    Uploader(who): Uploader,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, TusError> {
    require_version(&headers)?;
    let mut u = load(&state, &who, &id).await?;
    if u.completed_at.is_none() && u.offset == u.length {
        u = resumable::refinish(&state, &who, u).await?;
    }
    let mut resp = progress(StatusCode::OK, &u);
    let h = resp.headers_mut();
    set(h, "upload-length", u.length.to_string());
    // The metadata exactly as the client sent it, as the protocol asks.
    if !u.metadata.is_empty() {
        set(h, "upload-metadata", u.metadata.clone());
    }
    Ok(resp)
}

/// Appends bytes at `Upload-Offset`; the last byte files the attachment on the ticket.
#[utoipa::path(patch, path = "/api/v2/large_uploads/{id}", tag = "large_uploads",
    params(("id" = String, Path, description = "The upload's id, from its `Location`"), TusResumable, PatchHeaders),
    request_body(content = Binary, content_type = "application/offset+octet-stream"),
    responses(
        (status = 204, description = "Stored; `Upload-Offset` is the new offset", headers(
            ("Upload-Offset" = u64), ("Upload-Expires" = String), ("Tus-Resumable" = String))),
        TusPatchErrors, Authenticated))]
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
            let algorithm = Algorithm::parse(alg).ok_or_else(|| {
                TusError::new(
                    400,
                    format!("checksum algorithm '{alg}' is not supported; use {CHECKSUMS}"),
                )
            })?;
            Some(Checksum { algorithm, expected })
        }
    };
    let u = load(&state, &who, &id).await?;
    if u.completed_at.is_some() {
        return Err(TusError::new(409, "this upload is already complete"));
    }
    if u.offset == u.length {
        // Every byte arrived but making it an attachment failed earlier: finish it now (never re-stage it).
        let u = resumable::refinish(&state, &who, u).await?;
        return Ok(progress(StatusCode::NO_CONTENT, &u));
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
    let u = resumable::write(state, who, u, offset, checksum, body.into_data_stream()).await?;
    Ok(progress(StatusCode::NO_CONTENT, &u))
}

/// Abandons an upload and deletes what it received.
#[utoipa::path(delete, path = "/api/v2/large_uploads/{id}", tag = "large_uploads",
    params(("id" = String, Path, description = "The upload's id, from its `Location`"), TusResumable),
    responses(
        (status = 204, description = "Deleted", headers(("Tus-Resumable" = String))),
        TusItemErrors, Authenticated))]
async fn terminate(
    State(state): State<AppState>,
    Uploader(who): Uploader,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, TusError> {
    require_version(&headers)?;
    let u = load(&state, &who, &id).await?;
    resumable::terminate(&state, &u).await?;
    let mut resp = StatusCode::NO_CONTENT.into_response();
    tus_headers(resp.headers_mut());
    Ok(resp)
}

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
}
