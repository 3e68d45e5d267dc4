//! Partner buckets (a partnerdesk extension in Zendesk's style): `/api/v2/organizations/{id}/bucket` to connect
//! (admins), test, list, download and presign (agents), and `/api/v2/tickets/{id}/bucket_attachments` to copy an
//! object into a ticket. End-users get 404 on every one of them. The secret is accepted, sealed, and never shown.

use axum::Json;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use partnerdesk_core::{OrgId, TicketId};
use partnerdesk_db::buckets::{self, BucketConnection};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use partnerdesk_app::AppError;

pub use crate::api::bucket_docs::{BucketTestResult, ObjectList, ObjectsMeta, ObjectsQuery, PresignedUrl};
use crate::api::doc::CursorLinks;
use crate::api::doc::{self, Authenticated, IdParam, JsonBody, PageParams, PathId, Query, Refused, Upstream};
use crate::api::uploads::{AttachmentResponse, AttachmentView};
use partnerdesk_app::buckets::connection::{self, ConnectionInput, ConnectionView};

use partnerdesk_core::buckets::DownloadMode;

use crate::api::doc::Binary;
use crate::auth::AnyUser;
use crate::downloads::content_disposition;
use crate::error::ApiError;
use crate::extract::{Id, ZJson, ZQuery};
use crate::pagination::{ListQuery, PageRequest};
use crate::state::AppState;
use partnerdesk_app::buckets::access::{self as bucket_access, record};
use partnerdesk_app::buckets::client::{PartnerBucket, check_key};

/// `{"bucket_connection": {...}}`: what connects an organization's bucket.
#[derive(Debug, Deserialize)]
pub struct ConnectionEnvelope {
    pub bucket_connection: ConnectionInput,
}

/// `{"bucket_connection": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionResponse {
    pub bucket_connection: ConnectionView,
}

fn connection_json(c: &BucketConnection) -> Json<ConnectionResponse> {
    Json(ConnectionResponse {
        bucket_connection: ConnectionView::from(c),
    })
}

/// Staff; 404 for end-users and for an organization without a connection.
#[utoipa::path(get, path = "/api/v2/organizations/{id}/bucket", tag = "buckets", params(IdParam),
    responses((status = 200, description = "The connection, without its secret", body = ConnectionResponse), Authenticated, PathId))]
pub async fn show(
    State(state): State<AppState>,
    AnyUser(user): AnyUser,
    Id(id): Id,
) -> Result<Json<ConnectionResponse>, ApiError> {
    let (_, c) = bucket_access::connection(&state, &user.actor(), OrgId(id)).await?;
    Ok(connection_json(&c))
}

/// Admins. Fields left out keep their value; the first connection needs `bucket`, `access_key_id` and
/// `secret_access_key`. An endpoint on an internal address is refused.
#[utoipa::path(put, path = "/api/v2/organizations/{id}/bucket", tag = "buckets", params(IdParam), request_body = ConnectionEnvelope,
    responses((status = 200, description = "Saved", body = ConnectionResponse), Authenticated, PathId, JsonBody, Refused))]
pub async fn update(
    State(state): State<AppState>,
    AnyUser(user): AnyUser,
    Id(id): Id,
    ZJson(body): ZJson<ConnectionEnvelope>,
) -> Result<Json<ConnectionResponse>, ApiError> {
    let c = connection::save(&state, &user, OrgId(id), body.bucket_connection).await?;
    Ok(connection_json(&c))
}

/// Admins.
#[utoipa::path(delete, path = "/api/v2/organizations/{id}/bucket", tag = "buckets", params(IdParam),
    responses((status = 204, description = "Disconnected"), Authenticated, PathId, Refused))]
pub async fn delete(State(state): State<AppState>, AnyUser(user): AnyUser, Id(id): Id) -> Result<StatusCode, ApiError> {
    let actor = user.actor();
    let (_, c) = bucket_access::connection(&state, &actor, OrgId(id)).await?;
    actor.may_administer()?;
    let mut tx = state.db.begin().await?;
    buckets::delete(&mut tx, &c, &user.audit_actor()).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Staff: tries the connection; a failure is an answer (`ok: false`), not an error.
#[utoipa::path(post, path = "/api/v2/organizations/{id}/bucket/test", tag = "buckets", params(IdParam),
    responses((status = 200, description = "What the test found", body = BucketTestResult), Authenticated, PathId))]
pub async fn test(State(state): State<AppState>, AnyUser(user): AnyUser, Id(id): Id) -> Result<Json<Value>, ApiError> {
    Ok(Json(connection::test_connection(&state, &user, OrgId(id)).await?))
}

/// Staff: a page of the bucket (up to 1,000 keys), folders first; `page[after]` is the bucket's own cursor.
#[utoipa::path(get, path = "/api/v2/organizations/{id}/bucket/objects", tag = "buckets", params(IdParam, ObjectsQuery, PageParams),
    responses((status = 200, description = "A page of objects and folders (common prefixes)", body = ObjectList), Authenticated, PathId, Query, Upstream))]
pub async fn objects(
    State(state): State<AppState>,
    AnyUser(user): AnyUser,
    Id(id): Id,
    RawQuery(raw): RawQuery,
) -> Result<Json<ObjectList>, ApiError> {
    let q = ListQuery::parse_opaque(raw.as_deref())?;
    let prefix = q.get("prefix").unwrap_or("").to_owned();
    let delimiter = match q.get("delimiter") {
        None => Some("/"),
        Some("") => None,
        Some(d) => Some(d),
    };
    let (size, token) = match &q.page {
        PageRequest::Cursor { size, .. } => (*size as usize, q.opaque_after.clone()),
        PageRequest::Offset { per_page, .. } => (*per_page as usize, None),
    };
    bucket_access::staff_only(&user.actor())?;
    let size = size.clamp(1, 1000);
    let token = token
        .map(|t| {
            URL_SAFE_NO_PAD
                .decode(&t)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| AppError::BadRequest("page[after] is not a cursor this server issued".into()))
        })
        .transpose()?;
    let mut listing = bucket_access::list(
        &state,
        &user,
        OrgId(id),
        &prefix,
        delimiter,
        size.clamp(1, 1000),
        token.as_deref(),
    )
    .await?;
    match q.get("sort").unwrap_or("name") {
        "name" => listing.objects.sort_by(|a, b| a.name.cmp(&b.name)),
        "-name" => listing.objects.sort_by(|a, b| b.name.cmp(&a.name)),
        "size" => listing.objects.sort_by_key(|o| o.size),
        "-size" => listing.objects.sort_by_key(|o| std::cmp::Reverse(o.size)),
        "last_modified" => listing.objects.sort_by(|a, b| a.last_modified.cmp(&b.last_modified)),
        "-last_modified" => listing.objects.sort_by(|a, b| b.last_modified.cmp(&a.last_modified)),
        other => {
            return Err(AppError::BadRequest(format!(
                "sort must be name, size or last_modified (with - for descending), not '{other}'"
            ))
            .into());
        }
    }
    let after = listing.next_token.as_ref().map(|t| URL_SAFE_NO_PAD.encode(t));
    let next = after.as_ref().map(|a| {
        let mut s = form_urlencoded::Serializer::new(String::new());
        s.append_pair("prefix", &prefix)
            .append_pair("page[size]", &size.to_string())
            .append_pair("page[after]", a);
        // A flat listing stays flat on the next page: the delimiter is always carried, even when empty.
        s.append_pair("delimiter", delimiter.unwrap_or(""));
        if let Some(sort) = q.get("sort") {
            s.append_pair("sort", sort);
        }
        state.url(&format!("/api/v2/organizations/{id}/bucket/objects?{}", s.finish()))
    });
    Ok(Json(ObjectList {
        prefix,
        prefixes: listing.prefixes,
        objects: listing.objects,
        meta: ObjectsMeta {
            has_more: after.is_some(),
            after_cursor: after,
        },
        links: CursorLinks { next, prev: None },
    }))
}

/// Which object to download, and how.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KeyQuery {
    /// The object's key, relative to the connection's prefix (format `partnerdesk-object-key`: 1 to 1024 bytes, no
    /// leading `/`, no `://`, no `.` or `..` segment, no control character, tab and line breaks included).
    #[param(required = true, format = "partnerdesk-object-key")]
    key: Option<String>,
    /// `true`: answer a presigned URL as JSON instead of the bytes.
    #[param(schema_with = doc::flag)]
    presign: Option<String>,
}

/// Staff: the object, streamed through partnerdesk, or (connections in presign mode) a redirect to a presigned URL.
#[utoipa::path(get, path = "/api/v2/organizations/{id}/bucket/download", tag = "buckets",
    params(IdParam, KeyQuery, ("Range" = Option<String>, Header, description = "A byte range, passed to the bucket")),
    responses(
        (status = 200, description = "The object, streamed; with `presign=true`, a presigned URL", content(
            (Binary = "application/octet-stream"), (PresignedUrl = "application/json"))),
        (status = 206, description = "The range asked for", content_type = "application/octet-stream", body = Binary),
        (status = 307, description = "To a presigned URL (connections in presign mode)", headers(("Location" = String))),
        Authenticated, PathId, Query, Upstream))]
pub async fn download(
    State(state): State<AppState>,
    AnyUser(user): AnyUser,
    Id(id): Id,
    ZQuery(q): ZQuery<KeyQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let org = OrgId(id);
    // End-users learn nothing, not even whether their key was well-formed.
    let (_, c) = bucket_access::connection(&state, &user.actor(), org).await?;
    let key = q
        .key
        .clone()
        .ok_or_else(|| AppError::invalid("key", "BlankValue", "the key query parameter is required"))?;
    check_key(&key)?;
    let wants_url = doc::parse_flag("presign", q.presign.as_deref())?;
    if wants_url || c.download_mode == DownloadMode::Presign {
        let (url, expires_at) = bucket_access::presign(&state, &user, org, &key).await?;
        return Ok(if wants_url {
            Json(PresignedUrl { url, expires_at }).into_response()
        } else {
            Redirect::temporary(&url).into_response()
        });
    }
    let bucket = PartnerBucket::open(&c, &state.sealer, &state.bucket_http)?;
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let fetched = bucket.get(&key, range.as_deref()).await?;
    record(
        &state,
        &user.audit_actor(),
        org,
        "bucket.download",
        json!({"key": key, "bytes": fetched.length, "range": range}),
    )
    .await?;
    let name = key.rsplit('/').next().unwrap_or(&key).to_owned();
    let mut resp = Response::new(Body::from_stream(fetched.body));
    let h = resp.headers_mut();
    let mut set = |k: header::HeaderName, v: String| {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    };
    set(header::CONTENT_TYPE, "application/octet-stream".into());
    set(header::CONTENT_DISPOSITION, content_disposition(&name));
    set(header::CONTENT_SECURITY_POLICY, crate::downloads::FILE_POLICY.into());
    set(
        header::HeaderName::from_static("x-content-type-options"),
        "nosniff".into(),
    );
    set(header::CACHE_CONTROL, "private, no-store".into());
    set(header::ACCEPT_RANGES, "bytes".into());
    if let Some(n) = fetched.length {
        set(header::CONTENT_LENGTH, n.to_string());
    }
    if let Some(r) = fetched.content_range {
        set(header::CONTENT_RANGE, r);
    }
    if fetched.partial {
        *resp.status_mut() = StatusCode::PARTIAL_CONTENT;
    }
    Ok(resp)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CopyInput {
    /// The object's key, relative to the connection's prefix (see `key` of the download route).
    #[schema(format = "partnerdesk-object-key")]
    pub key: String,
}

/// Staff: copies an object of the ticket's organization's bucket into the ticket, with an internal note.
#[utoipa::path(post, path = "/api/v2/tickets/{id}/bucket_attachments", tag = "buckets", params(IdParam), request_body = CopyInput,
    responses((status = 201, description = "Copied into the ticket's attachments", body = AttachmentResponse), Authenticated, PathId, JsonBody, Upstream))]
pub async fn attach(
    State(state): State<AppState>,
    AnyUser(user): AnyUser,
    Id(id): Id,
    ZJson(body): ZJson<CopyInput>,
) -> Result<(StatusCode, Json<AttachmentResponse>), ApiError> {
    let a = bucket_access::attach_to_ticket(&state, &user, TicketId(id), &body.key).await?;
    Ok((
        StatusCode::CREATED,
        Json(AttachmentResponse {
            attachment: AttachmentView::new(&state, &a),
        }),
    ))
}
