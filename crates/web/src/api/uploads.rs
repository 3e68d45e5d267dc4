//! `/api/v2/uploads` and `/api/v2/attachments`: Zendesk's attachments API. A file is uploaded first (raw body or
//! multipart), which answers an upload token; the token then goes into a comment's `uploads`. Files over the
//! attachment limit are refused with 413 before their body is read, pointing to the large-file uploader.

use axum::Json;
use axum::body::Body;
use axum::extract::{FromRequest, Multipart, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};
use futures::TryStreamExt;
use partnerdesk_blob::BlobError;
use partnerdesk_core::policy::Actor;
use partnerdesk_db::files::{self, Attachment, NewAttachment, Upload};
use partnerdesk_db::users::User;
use partnerdesk_db::{DbError, now, tickets};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::Id;
use crate::files::{content_type_for, new_blob_key, safe_file_name};
use crate::state::AppState;

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

#[derive(Debug, Deserialize)]
pub struct UploadQuery {
    filename: Option<String>,
    token: Option<String>,
}

/// The 413 answer for an attachment over the limit, naming the uploader that takes large files.
pub fn too_large(limit: u64) -> ApiError {
    ApiError::FileTooLarge {
        limit,
        hint: "Send larger files with the large-file uploader: the upload widget on the ticket page, \
               `partnerdesk upload`, or any tus client at /api/v2/large_uploads/."
            .into(),
    }
}

/// An upload token the caller may add to: their own, not expired.
async fn own_upload(state: &AppState, caller: &User, token: &str) -> Result<Upload, ApiError> {
    let u = files::upload_by_token(&mut state.db.conn(), token)
        .await
        .map_err(|e| match e {
            DbError::NotFound => ApiError::invalid("token", "InvalidValue", "unknown upload token"),
            e => e.into(),
        })?;
    if u.owner_id != caller.id {
        return Err(ApiError::invalid("token", "InvalidValue", "unknown upload token"));
    }
    if u.expires_at <= now() {
        return Err(ApiError::invalid(
            "token",
            "InvalidValue",
            "this upload token has expired",
        ));
    }
    Ok(u)
}

/// Stores one file under a (new or given) upload token.
pub async fn store_file<S>(
    state: &AppState,
    caller: &User,
    token: Option<&str>,
    name: &str,
    content_type: Option<&str>,
    body: S,
) -> Result<(Upload, Attachment), ApiError>
where
    S: futures::Stream<Item = Result<bytes::Bytes, String>> + Unpin,
{
    let name = safe_file_name(name)?;
    let existing = match token {
        Some(t) => Some(own_upload(state, caller, t).await?),
        None => None,
    };
    let key = new_blob_key("attachments")?;
    let limit = state.settings.max_attachment_bytes;
    let stored = state.blobs.put_stream(&key, body, limit).await.map_err(|e| match e {
        BlobError::TooLarge { limit } => too_large(limit),
        BlobError::Interrupted(why) => ApiError::BadRequest(format!("the upload was interrupted: {why}")),
        other => ApiError::Internal(other.to_string()),
    })?;
    let content_type = content_type
        .filter(|t| t.contains('/') && t.len() < 128 && !t.starts_with("multipart/"))
        .unwrap_or(content_type_for(&name));
    let result: Result<(Upload, Attachment), ApiError> = async {
        let mut tx = state.db.begin().await?;
        let upload = match existing {
            Some(u) => u,
            None => {
                let token = partnerdesk_core::credentials::new_token()?;
                let expires = now() + Duration::hours(state.settings.upload_token_ttl_hours);
                files::create_upload(&mut tx, &token, caller.id, expires).await?
            }
        };
        let a = NewAttachment {
            upload_id: Some(upload.id),
            ticket_id: None,
            comment_id: None,
            file_name: &name,
            content_type,
            size: stored.size as i64,
            sha256: &stored.sha256,
            blob_key: &key,
            uploader_id: caller.id,
        };
        let attachment = files::add_attachment(&mut tx, &a).await?;
        tx.commit().await?;
        Ok((upload, attachment))
    }
    .await;
    if result.is_err() {
        // Nothing half-written: the bytes go when their record could not be written.
        let _ = state.blobs.delete(&key).await;
    }
    result
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UploadView {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub attachment: AttachmentView,
    pub attachments: Vec<AttachmentView>,
}

#[utoipa::path(post, path = "/api/v2/uploads", tag = "attachments", params(("filename" = String, Query), ("token" = Option<String>, Query)),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, description = "Stored; the token goes into a comment's `uploads`", body = UploadView), (status = 413, description = "Over the attachment limit: use the large-file uploader")))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Query(q): Query<UploadQuery>,
    request: Request,
) -> Result<(StatusCode, Json<Value>), ApiError> {
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
        return Err(too_large(limit));
    }
    let (upload, attachment) = if multipart {
        let mut form = Multipart::from_request(request, &state)
            .await
            .map_err(|e| ApiError::BadRequest(format!("malformed multipart body: {e}")))?;
        let mut stored = None;
        while let Some(field) = form
            .next_field()
            .await
            .map_err(|e| ApiError::BadRequest(format!("malformed multipart body: {e}")))?
        {
            let Some(file_name) = field.file_name().map(str::to_owned) else {
                continue;
            };
            let name = q.filename.clone().unwrap_or(file_name);
            let field_ct = field.content_type().map(str::to_owned);
            let stream = field.map_err(|e| e.to_string());
            stored = Some(
                store_file(
                    &state,
                    &caller.user,
                    q.token.as_deref(),
                    &name,
                    field_ct.as_deref(),
                    stream,
                )
                .await?,
            );
            break;
        }
        stored.ok_or_else(|| ApiError::invalid("file", "BlankValue", "the multipart body holds no file"))?
    } else {
        let name = q
            .filename
            .clone()
            .ok_or_else(|| ApiError::invalid("filename", "BlankValue", "the filename query parameter is required"))?;
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
    Ok((StatusCode::CREATED, Json(json!({ "upload": view }))))
}

#[utoipa::path(delete, path = "/api/v2/uploads/{token}", tag = "attachments", params(("token" = String, Path)), responses((status = 204, description = "Deleted with its unattached files")))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    axum::extract::Path(token): axum::extract::Path<String>,
) -> Result<StatusCode, ApiError> {
    let token = token.strip_suffix(".json").unwrap_or(&token);
    let upload = own_upload(&state, &caller.user, token)
        .await
        .map_err(|_| ApiError::NotFound)?;
    let mut tx = state.db.begin().await?;
    let keys = files::delete_upload(&mut tx, upload.id).await?;
    tx.commit().await?;
    for k in keys {
        state
            .blobs
            .delete(&k)
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// An attachment the actor may see: on a ticket they can see (internal notes' files for staff only), or not yet
/// attached and uploaded by them.
pub async fn visible_attachment(state: &AppState, actor: &Actor, id: i64) -> Result<Attachment, ApiError> {
    let a = files::attachment_by_id(&mut state.db.conn(), id).await?;
    match (a.ticket_id, a.comment_id) {
        (Some(ticket), comment) => {
            tickets::get(&mut state.db.conn(), ticket, actor.ticket_scope()).await?;
            if let Some(c) = comment
                && !actor.sees_internal_comments()
                && !tickets::comment_is_public(&mut state.db.conn(), c).await?
            {
                return Err(ApiError::NotFound);
            }
            Ok(a)
        }
        (None, _) if a.uploader_id == actor.id => Ok(a),
        _ => Err(ApiError::NotFound),
    }
}

#[utoipa::path(get, path = "/api/v2/attachments/{id}", tag = "attachments", params(("id" = i64, Path)), responses((status = 200, description = "An attachment", body = AttachmentView), (status = 404, description = "Not found")))]
pub async fn show(State(state): State<AppState>, caller: Caller, Id(id): Id) -> Result<Json<Value>, ApiError> {
    let a = visible_attachment(&state, &caller.actor(), id).await?;
    Ok(Json(json!({ "attachment": AttachmentView::new(&state, &a) })))
}

/// `GET /attachments/{id}/{name}`: the bytes, for API callers and signed-in browsers, with `Range` support.
pub async fn download(State(state): State<AppState>, request: Request) -> Result<Response, ApiError> {
    let (mut parts, _body): (axum::http::request::Parts, Body) = request.into_parts();
    let id = parts
        .uri
        .path()
        .split('/')
        .nth(2)
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or(ApiError::NotFound)?;
    let user = crate::auth::any_user(&parts, &state)
        .await?
        .ok_or_else(|| ApiError::Unauthenticated("Sign in to download files.".into()))?;
    let a = visible_attachment(&state, &user.actor(), id).await?;
    let _ = &mut parts;
    crate::files::download(&state, &a, &parts.headers)
        .await
        .map(IntoResponse::into_response)
}
