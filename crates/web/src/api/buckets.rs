//! Partner buckets (a partnerdesk extension in Zendesk's style): `/api/v2/organizations/{id}/bucket` to connect
//! (admins), test, list, download and presign (agents), and `/api/v2/tickets/{id}/bucket_attachments` to copy an
//! object into a ticket. End-users get 404 on every one of them. The secret is accepted, sealed, and never shown.

use axum::Json;
use axum::body::Body;
use axum::extract::{Query, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use partnerdesk_core::policy::OrgScope;
use partnerdesk_core::validation::required_text;
use partnerdesk_core::{Invalid, OrgId, TicketId};
use partnerdesk_db::buckets::{self, BucketConnection};
use partnerdesk_db::{DbError, organizations};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::api::uploads::AttachmentView;
use crate::auth::AnyUser;
use crate::bucket_access::{self, record};
use crate::error::ApiError;
use crate::extract::{Id, ZJson};
use crate::files::content_disposition;
use crate::pagination::{ListQuery, PageRequest};
use crate::partner_bucket::{PartnerBucket, check_key, parse_endpoint};
use crate::state::AppState;

/// A connection as shown: everything but the secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionView {
    pub organization_id: i64,
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    pub prefix: String,
    pub path_style: bool,
    pub access_key_id: String,
    /// Always true: a secret is stored (sealed); it is never returned.
    pub has_secret: bool,
    pub key_id: String,
    pub download_mode: String,
    pub presign_ttl_secs: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&BucketConnection> for ConnectionView {
    fn from(c: &BucketConnection) -> Self {
        ConnectionView {
            organization_id: c.organization_id.0,
            endpoint: c.endpoint.clone(),
            region: c.region.clone(),
            bucket: c.bucket.clone(),
            prefix: c.prefix.clone(),
            path_style: c.path_style,
            access_key_id: c.access_key_id.clone(),
            has_secret: true,
            key_id: c.key_id.clone(),
            download_mode: c.download_mode.clone(),
            presign_ttl_secs: c.presign_ttl_secs,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ConnectionInput {
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub bucket: Option<String>,
    pub prefix: Option<String>,
    pub path_style: Option<bool>,
    pub access_key_id: Option<String>,
    /// Write-only.
    pub secret_access_key: Option<String>,
    /// `stream` (through partnerdesk) or `presign` (short-lived URL to the bucket).
    pub download_mode: Option<String>,
    pub presign_ttl_secs: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub struct ConnectionEnvelope {
    pub bucket_connection: ConnectionInput,
}

/// Validates and applies `input` onto a connection (`before` when one exists); seals a new secret.
pub fn apply_connection(
    state: &AppState,
    org: OrgId,
    before: Option<&BucketConnection>,
    input: ConnectionInput,
) -> Result<BucketConnection, ApiError> {
    let mut errors = Invalid::default();
    let pick = |new: Option<String>, old: Option<&String>, default: &str| {
        new.or_else(|| old.cloned()).unwrap_or_else(|| default.to_owned())
    };
    let endpoint = pick(input.endpoint, before.map(|b| &b.endpoint), "https://s3.amazonaws.com");
    if let Err(ApiError::Invalid(inv)) = parse_endpoint(&endpoint) {
        errors.0.extend(inv.0);
    }
    let region = required_text(
        &mut errors,
        "region",
        &pick(input.region, before.map(|b| &b.region), "us-east-1"),
        64,
    );
    let bucket = required_text(
        &mut errors,
        "bucket",
        &pick(input.bucket, before.map(|b| &b.bucket), ""),
        63,
    );
    if !bucket.is_empty()
        && (bucket.len() < 3
            || !bucket
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.' || c == '_'))
    {
        errors.push(
            "bucket",
            "InvalidValue",
            format!("'{bucket}' is not a bucket name (3-63 lower-case letters, digits, '-', '.')"),
        );
    }
    let mut prefix = pick(input.prefix, before.map(|b| &b.prefix), "").trim().to_owned();
    if !prefix.is_empty() {
        if let Err(ApiError::Invalid(inv)) = check_key(&prefix) {
            errors.0.extend(inv.0.into_iter().map(|mut e| {
                e.field = "prefix".into();
                e
            }));
        }
        if !prefix.ends_with('/') {
            prefix.push('/');
        }
    }
    let access_key_id = required_text(
        &mut errors,
        "access_key_id",
        &pick(input.access_key_id, before.map(|b| &b.access_key_id), ""),
        128,
    );
    let download_mode = pick(input.download_mode, before.map(|b| &b.download_mode), "stream");
    if !matches!(download_mode.as_str(), "stream" | "presign") {
        errors.push(
            "download_mode",
            "InvalidValue",
            "download_mode must be stream or presign",
        );
    }
    let ttl = input
        .presign_ttl_secs
        .or(before.map(|b| b.presign_ttl_secs))
        .unwrap_or(300);
    if !(1..=7 * 24 * 3600).contains(&ttl) {
        errors.push(
            "presign_ttl_secs",
            "InvalidValue",
            "presign_ttl_secs must be between 1 second and 7 days",
        );
    }
    let sealed = match (input.secret_access_key.filter(|s| !s.is_empty()), before) {
        (Some(secret), _) => Some((
            state.sealer.seal(&secret).map_err(ApiError::internal)?,
            state.sealer.key_id().to_owned(),
        )),
        (None, Some(b)) => Some((b.secret_sealed.clone(), b.key_id.clone())),
        (None, None) => {
            errors.push("secret_access_key", "BlankValue", "secret_access_key is required");
            None
        }
    };
    // The connection must never reach partnerdesk's own storage.
    if let Some((own_endpoint, own_bucket)) = &state.settings.own_bucket {
        let host = |e: &str| {
            url::Url::parse(e)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_default()
        };
        if *own_bucket == bucket && (own_endpoint.is_empty() || host(own_endpoint) == host(&endpoint)) {
            errors.push(
                "bucket",
                "InvalidValue",
                "this is partnerdesk's own storage bucket; connect the partner's bucket instead",
            );
        }
    }
    errors.into_result()?;
    let (secret_sealed, key_id) = sealed.unwrap_or_default();
    Ok(BucketConnection {
        id: 0,
        organization_id: org,
        endpoint,
        region,
        bucket,
        prefix,
        path_style: input.path_style.or(before.map(|b| b.path_style)).unwrap_or(false),
        access_key_id,
        secret_sealed,
        key_id,
        download_mode,
        presign_ttl_secs: ttl,
        created_at: partnerdesk_db::now(),
        updated_at: partnerdesk_db::now(),
    })
}

fn connection_json(c: &BucketConnection) -> Json<Value> {
    Json(json!({ "bucket_connection": ConnectionView::from(c) }))
}

#[utoipa::path(get, path = "/api/v2/organizations/{id}/bucket", tag = "buckets", params(("id" = i64, Path)), responses((status = 200, description = "The connection, without its secret", body = ConnectionView), (status = 404, description = "No connection, or not staff")))]
pub async fn show(State(state): State<AppState>, AnyUser(user): AnyUser, Id(id): Id) -> Result<Json<Value>, ApiError> {
    let (_, c) = bucket_access::connection(&state, &user.actor(), OrgId(id)).await?;
    Ok(connection_json(&c))
}

/// Connects or reconnects an organization's bucket (admins).
pub async fn save(
    state: &AppState,
    user: &partnerdesk_db::users::User,
    org: OrgId,
    input: ConnectionInput,
) -> Result<BucketConnection, ApiError> {
    let actor = user.actor();
    bucket_access::staff_only(&actor)?;
    actor.may_administer()?;
    organizations::get(&mut state.db.conn(), org, OrgScope::All).await?;
    let before = match buckets::for_org(&mut state.db.conn(), org).await {
        Ok(c) => Some(c),
        Err(DbError::NotFound) => None,
        Err(e) => return Err(e.into()),
    };
    let c = apply_connection(state, org, before.as_ref(), input)?;
    crate::partner_bucket::check_endpoint_address(&c.endpoint, state.settings.allow_private_bucket_endpoints).await?;
    let mut tx = state.db.begin().await?;
    let saved = buckets::save(&mut tx, &c, &user.audit_actor()).await?;
    tx.commit().await?;
    Ok(saved)
}

#[utoipa::path(put, path = "/api/v2/organizations/{id}/bucket", tag = "buckets", params(("id" = i64, Path)), request_body = ConnectionInput, responses((status = 200, description = "Saved", body = ConnectionView), (status = 422, description = "Invalid")))]
pub async fn update(
    State(state): State<AppState>,
    AnyUser(user): AnyUser,
    Id(id): Id,
    ZJson(body): ZJson<ConnectionEnvelope>,
) -> Result<Json<Value>, ApiError> {
    let c = save(&state, &user, OrgId(id), body.bucket_connection).await?;
    Ok(connection_json(&c))
}

#[utoipa::path(delete, path = "/api/v2/organizations/{id}/bucket", tag = "buckets", params(("id" = i64, Path)), responses((status = 204, description = "Disconnected")))]
pub async fn delete(State(state): State<AppState>, AnyUser(user): AnyUser, Id(id): Id) -> Result<StatusCode, ApiError> {
    let actor = user.actor();
    let (_, c) = bucket_access::connection(&state, &actor, OrgId(id)).await?;
    actor.may_administer()?;
    let mut tx = state.db.begin().await?;
    buckets::delete(&mut tx, &c, &user.audit_actor()).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Tests a connection: `{"ok": true}` or `{"ok": false, "problem": "dns|tls|connect|timeout|forbidden|no_such_bucket|wrong_region|other", "description"}`.
pub async fn test_connection(
    state: &AppState,
    user: &partnerdesk_db::users::User,
    org: OrgId,
) -> Result<Value, ApiError> {
    let (_, c) = bucket_access::connection(state, &user.actor(), org).await?;
    let bucket = PartnerBucket::open(&c, &state.sealer, &state.bucket_http)?;
    let result = bucket.test().await;
    let answer = match &result {
        Ok(()) => json!({"ok": true}),
        Err(p) => json!({"ok": false, "problem": p.problem, "description": p.description}),
    };
    record(state, &user.audit_actor(), org, "bucket.test", answer.clone()).await?;
    Ok(answer)
}

#[utoipa::path(post, path = "/api/v2/organizations/{id}/bucket/test", tag = "buckets", params(("id" = i64, Path)), responses((status = 200, description = "What the test found")))]
pub async fn test(State(state): State<AppState>, AnyUser(user): AnyUser, Id(id): Id) -> Result<Json<Value>, ApiError> {
    Ok(Json(test_connection(&state, &user, OrgId(id)).await?))
}

#[utoipa::path(get, path = "/api/v2/organizations/{id}/bucket/objects", tag = "buckets", params(("id" = i64, Path), ("prefix" = Option<String>, Query), ("delimiter" = Option<String>, Query), ("sort" = Option<String>, Query, description = "name, size or last_modified, within the page; prefix with - for descending")),
    responses((status = 200, description = "A page of objects and folders (common prefixes)")))]
pub async fn objects(
    State(state): State<AppState>,
    AnyUser(user): AnyUser,
    Id(id): Id,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
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
                .ok_or_else(|| ApiError::BadRequest("page[after] is not a cursor this server issued".into()))
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
            return Err(ApiError::BadRequest(format!(
                "sort must be name, size or last_modified (with - for descending), not '{other}'"
            )));
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
    Ok(Json(json!({
        "prefix": prefix,
        "prefixes": listing.prefixes,
        "objects": listing.objects,
        "meta": {"has_more": after.is_some(), "after_cursor": after},
        "links": {"next": next, "prev": null},
    })))
}

#[derive(Debug, Deserialize)]
pub struct KeyQuery {
    key: Option<String>,
    #[serde(default)]
    presign: Option<String>,
}

#[utoipa::path(get, path = "/api/v2/organizations/{id}/bucket/download", tag = "buckets", params(("id" = i64, Path), ("key" = String, Query), ("presign" = Option<bool>, Query)),
    responses((status = 200, description = "The object, streamed (Range supported)"), (status = 302, description = "To a presigned URL (connections in presign mode)")))]
pub async fn download(
    State(state): State<AppState>,
    AnyUser(user): AnyUser,
    Id(id): Id,
    Query(q): Query<KeyQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let org = OrgId(id);
    // End-users learn nothing, not even whether their key was well-formed.
    let (_, c) = bucket_access::connection(&state, &user.actor(), org).await?;
    let key = q
        .key
        .clone()
        .ok_or_else(|| ApiError::invalid("key", "BlankValue", "the key query parameter is required"))?;
    check_key(&key)?;
    let wants_url = q
        .presign
        .as_deref()
        .is_some_and(|p| !matches!(p, "" | "0" | "false" | "no"));
    if wants_url || c.download_mode == "presign" {
        let (url, expires_at) = bucket_access::presign(&state, &user, org, &key).await?;
        return Ok(if wants_url {
            Json(json!({"url": url, "expires_at": expires_at})).into_response()
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
    pub key: String,
}

#[utoipa::path(post, path = "/api/v2/tickets/{id}/bucket_attachments", tag = "buckets", params(("id" = i64, Path)), request_body = CopyInput,
    responses((status = 201, description = "Copied into the ticket's attachments", body = AttachmentView)))]
pub async fn attach(
    State(state): State<AppState>,
    AnyUser(user): AnyUser,
    Id(id): Id,
    ZJson(body): ZJson<CopyInput>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let a = bucket_access::attach_to_ticket(&state, &user, TicketId(id), &body.key).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "attachment": AttachmentView::new(&state, &a) })),
    ))
}
