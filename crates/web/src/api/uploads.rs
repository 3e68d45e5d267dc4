//! `/api/v2/uploads` and `/api/v2/attachments`: Zendesk's attachments API. A file is uploaded first (raw body or
//! multipart), which answers an upload token; the token then goes into a comment's `uploads`. Files over the
//! attachment limit are refused with 413 before their body is read, pointing to the large-file uploader.

use axum::Json;
use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use partnerdesk_db::files::{self, Attachment};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use partnerdesk_app::AppError;

use crate::api::doc::Binary;
use crate::api::doc::{Authenticated, IdParam, NotFound, PathId, Query, TooLarge};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{Id, ZQuery};
use crate::state::AppState;
use partnerdesk_app::uploads::attachments::{
    StagedFile, own_upload, stage_file, store_file, too_large, visible_attachment,
};

/// An attachment in Zendesk's shape; `sha256` is a partnerdesk extension.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentView {
    pub id: i64,
    pub url: String,
    pub file_name: String,
    pub content_url: String,
    pub mapped_content_url: String,
    pub content_type: String,
    pub size: i64,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub inline: bool,
    pub deleted: bool,
    pub malware_scan_result: &'static str,
    #[schema(value_type = Vec<Object>)]
    pub thumbnails: Vec<Value>,
    pub sha256: String,
}

impl AttachmentView {
    pub fn new(state: &AppState, a: &Attachment) -> AttachmentView {
        let name: String = form_urlencoded::byte_serialize(a.file_name.as_bytes())
            .collect::<String>()
            .replace('+', "%20");
        let content_url = state.url(&format!("/attachments/{}/{name}", a.id));
        AttachmentView {
            id: a.id,
            url: state.url(&format!("/api/v2/attachments/{}.json", a.id)),
            file_name: a.file_name.clone(),
            mapped_content_url: content_url.clone(),
            content_url,
            content_type: a.content_type.clone(),
            size: a.size,
            width: None,
            height: None,
            inline: false,
            deleted: false,
            malware_scan_result: "not_scanned",
            thumbnails: Vec::new(),
            sha256: a.sha256.clone(),
        }
    }
}

/// The parameters of an upload.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// The file's name: required for a raw body; for a multipart body it overrides the part's own.
    filename: Option<String>,
    /// An upload token from an earlier upload, to add this file to it.
    token: Option<String>,
}

/// `{"attachment": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttachmentResponse {
    pub attachment: AttachmentView,
}

/// `{"upload": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadResponse {
    pub upload: UploadView,
}

/// A multipart upload: the first part with a file name is the file; the other parts are read and ignored (64 KiB
/// together at most).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct MultipartUpload {
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UploadView {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub attachment: AttachmentView,
    pub attachments: Vec<AttachmentView>,
}

/// The file is the raw body (any content type but multipart; `application/octet-stream` and
/// `application/binary` leave the type to be guessed from the name) or the file part of a multipart body. Files
/// over the attachment limit (413) go through the large-file uploader instead.
#[utoipa::path(post, path = "/api/v2/uploads", tag = "attachments", params(UploadQuery),
    request_body(content(
        (Binary = "application/octet-stream"),
        (inline(MultipartUpload) = "multipart/form-data"),
    )),
    responses((status = 201, description = "Stored; the token goes into a comment's `uploads`", body = UploadResponse),
        Authenticated, Query, TooLarge, NotFound))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ZQuery(q): ZQuery<UploadQuery>,
    request: Request,
) -> Result<(StatusCode, Json<UploadResponse>), ApiError> {
    let limit = state.settings.max_attachment_bytes;
    let headers: HeaderMap = request.headers().clone();
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let multipart = ct.starts_with("multipart/form-data");
    // The body's size is known before it is read: refuse at once (a multipart envelope adds a few hundred bytes).
    if declared.is_some_and(|n| n > limit + if multipart { 16 * 1024 } else { 0 }) {
        return Err(too_large(limit).into());
    }
    let (upload, attachment) = if multipart {
        let mut form = Multipart::from_request(request, &state)
            .await
            .map_err(|e| AppError::BadRequest(format!("malformed multipart body: {e}")))?;
        // The first part with a file name is the file; the parts after it are still read to their end (unkept),
        // so that a malformed one refuses the whole request before the file is recorded.
        let mut staged: Option<StagedFile> = None;
        let mut other_bytes = 0u64;
        let read: Result<(), AppError> = async {
            while let Some(mut field) = form.next_field().await.map_err(malformed)? {
                let file_name = field.file_name().map(str::to_owned);
                match file_name {
                    Some(file_name) if staged.is_none() => {
                        let name = q.filename.clone().unwrap_or(file_name);
                        let field_ct = field.content_type().map(str::to_owned);
                        let stream = field.map_err(|e| e.to_string());
                        let file = stage_file(
                            &state,
                            &caller.user,
                            q.token.as_deref(),
                            &name,
                            field_ct.as_deref(),
                            stream,
                        );
                        staged = Some(file.await?);
                    }
                    _ => drain(&mut field, &mut other_bytes).await?,
                }
            }
            Ok(())
        }
        .await;
        match (read, staged) {
            (Ok(()), Some(file)) => file.record(&state, &caller.user).await?,
            (Ok(()), None) => {
                return Err(AppError::invalid("file", "BlankValue", "the multipart body holds no file").into());
            }
            (Err(e), file) => {
                if let Some(file) = file {
                    file.discard(&state).await;
                }
                return Err(e.into());
            }
        }
    } else {
        let name = q
            .filename
            .clone()
            .ok_or_else(|| AppError::invalid("filename", "BlankValue", "the filename query parameter is required"))?;
        let stream = request.into_body().into_data_stream().map_err(|e| e.to_string());
        let ct =
            (!ct.is_empty() && ct != "application/binary" && ct != "application/octet-stream").then_some(ct.as_str());
        store_file(&state, &caller.user, q.token.as_deref(), &name, ct, stream).await?
    };
    let all = files::attachments_of_upload(&mut state.db.conn(), upload.id).await?;
    let view = UploadView {
        token: upload.token.clone(),
        expires_at: upload.expires_at,
        attachment: AttachmentView::new(&state, &attachment),
        attachments: all.iter().map(|a| AttachmentView::new(&state, a)).collect(),
    };
    Ok((StatusCode::CREATED, Json(UploadResponse { upload: view })))
}

fn malformed(e: axum::extract::multipart::MultipartError) -> AppError {
    AppError::BadRequest(format!("malformed multipart body: {e}"))
}

/// How much the parts other than the file may hold together (413 past it): they are read and dropped, but not
/// without end.
const OTHER_PARTS_LIMIT: u64 = 64 * 1024;

/// Reads a part to its end without keeping it, counting its bytes into `total`.
async fn drain(field: &mut axum::extract::multipart::Field<'_>, total: &mut u64) -> Result<(), AppError> {
    while let Some(chunk) = field.chunk().await.map_err(malformed)? {
        *total += chunk.len() as u64;
        if *total > OTHER_PARTS_LIMIT {
            return Err(AppError::TooLarge {
                limit: OTHER_PARTS_LIMIT as usize,
            });
        }
    }
    Ok(())
}

#[utoipa::path(delete, path = "/api/v2/uploads/{token}", tag = "attachments", params(("token" = String, Path, description = "The upload's token")),
    responses((status = 204, description = "Deleted with its unattached files"), Authenticated, PathId))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    axum::extract::Path(token): axum::extract::Path<String>,
) -> Result<StatusCode, ApiError> {
    let token = token.strip_suffix(".json").unwrap_or(&token);
    let upload = own_upload(&state, &caller.user, token)
        .await
        .map_err(|_| AppError::NotFound)?;
    let mut tx = state.db.begin().await?;
    let keys = files::delete_upload(&mut tx, upload.id).await?;
    tx.commit().await?;
    for k in keys {
        state
            .blobs
            .delete(&k)
            .await
            .map_err(|e| AppError::Internal(e.to_string()))?;
    }
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v2/attachments/{id}", tag = "attachments", params(IdParam),
    responses((status = 200, description = "An attachment", body = AttachmentResponse), Authenticated, PathId))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> Result<Json<AttachmentResponse>, ApiError> {
    let a = visible_attachment(&state, &caller.actor(), id).await?;
    Ok(Json(AttachmentResponse {
        attachment: AttachmentView::new(&state, &a),
    }))
}

/// `GET /attachments/{id}/{name}`: the bytes, for API callers and signed-in browsers, with `Range` support.
/// The name is the attachment's file name (any name is accepted; the id chooses the file).
#[utoipa::path(get, path = "/attachments/{id}/{name}", tag = "attachments",
    params(IdParam, ("name" = String, Path, description = "The file name, as in `content_url`"),
        ("Range" = Option<String>, Header, description = "One byte range, `bytes=FIRST-LAST`, `bytes=FIRST-` or `bytes=-SUFFIX`")),
    responses(
        (status = 200, description = "The file", content_type = "*/*", body = Binary, headers(
            ("Content-Disposition" = String), ("Accept-Ranges" = String), ("Content-Length" = i64))),
        (status = 206, description = "The range asked for", content_type = "*/*", body = Binary, headers(
            ("Content-Range" = String), ("Content-Length" = i64))),
        (status = 416, description = "The range cannot be served", headers(("Content-Range" = String))),
        Authenticated, PathId))]
pub async fn download(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    let (mut parts, _body): (axum::http::request::Parts, Body) = request.into_parts();
    let id = parts
        .uri
        .path()
        .split('/')
        .nth(2)
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or(AppError::NotFound)?;
    let user = crate::auth::any_user(&parts, &state)
        .await?
        .ok_or_else(|| AppError::Unauthenticated("Sign in to download files.".into()))?;
    let a = visible_attachment(&state, &user.actor(), id).await?;
    let _ = &mut parts;
    crate::downloads::download(&state, &a, &parts.headers)
        .await
        .map(IntoResponse::into_response)
}
