//! `/api/v2/organization_fields` and `/api/v2/user_fields`: Zendesk's organization and user field definitions.
//! Staff read them; admins define them. Both kinds share one store and these handlers.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use partnerdesk_app::profile_fields::{self as fields, ProfileFieldInput};
use partnerdesk_db::profile_fields::{FieldKind, ProfileField};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::api::doc::{Authenticated, IdParam, JsonBody, PathId, Refused};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{Id, ZJson};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct FieldOptionView {
    pub id: i64,
    pub name: String,
    pub raw_name: String,
    pub value: String,
    pub position: i64,
}

/// An organization or user field in Zendesk's shape, with partnerdesk's `visible_to_end_users`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileFieldView {
    pub id: i64,
    pub url: String,
    pub key: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub raw_title: String,
    pub description: String,
    pub raw_description: String,
    pub position: i64,
    pub active: bool,
    pub system: bool,
    pub visible_to_end_users: bool,
    pub regexp_for_validation: Option<String>,
    pub tag: Option<String>,
    pub custom_field_options: Vec<FieldOptionView>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn plural(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Organization => "organization_fields",
        FieldKind::User => "user_fields",
    }
}

fn singular(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Organization => "organization_field",
        FieldKind::User => "user_field",
    }
}

impl ProfileFieldView {
    pub fn new(state: &AppState, f: &ProfileField) -> ProfileFieldView {
        ProfileFieldView {
            id: f.id,
            url: state.url(&format!("/api/v2/{}/{}.json", plural(f.kind), f.id)),
            key: f.key.clone(),
            kind: fields::type_name(f.field_type).to_owned(),
            title: f.title.clone(),
            raw_title: f.title.clone(),
            description: f.description.clone(),
            raw_description: f.description.clone(),
            position: f.position,
            active: f.active,
            system: false,
            visible_to_end_users: f.visible_to_end_users,
            regexp_for_validation: f.regexp_for_validation.clone(),
            tag: f.tag.clone(),
            custom_field_options: f
                .options
                .iter()
                .map(|o| FieldOptionView {
                    id: o.id,
                    name: o.name.clone(),
                    raw_name: o.name.clone(),
                    value: o.value.clone(),
                    position: o.position,
                })
                .collect(),
            created_at: f.created_at,
            updated_at: f.updated_at,
        }
    }
}

/// `{"organization_field": {...}}` with `key`, `type` and `title`.
#[derive(Debug, Deserialize)]
pub struct NewOrgFieldEnvelope {
    pub organization_field: ProfileFieldInput,
}

/// `{"organization_field": {...}}` with what changes.
#[derive(Debug, Deserialize)]
pub struct OrgFieldEnvelope {
    pub organization_field: ProfileFieldInput,
}

/// `{"user_field": {...}}` with `key`, `type` and `title`.
#[derive(Debug, Deserialize)]
pub struct NewUserFieldEnvelope {
    pub user_field: ProfileFieldInput,
}

/// `{"user_field": {...}}` with what changes.
#[derive(Debug, Deserialize)]
pub struct UserFieldEnvelope {
    pub user_field: ProfileFieldInput,
}

fn body(state: &AppState, f: &ProfileField) -> Json<Value> {
    Json(json!({ singular(f.kind): ProfileFieldView::new(state, f) }))
}

async fn list(state: &AppState, caller: &Caller, kind: FieldKind) -> Result<Json<Value>, ApiError> {
    let all = fields::list(&state.db, &caller.actor(), kind).await?;
    let views: Vec<ProfileFieldView> = all.iter().map(|f| ProfileFieldView::new(state, f)).collect();
    Ok(Json(json!({
        plural(kind): views, "count": views.len(), "next_page": null, "previous_page": null
    })))
}

async fn show(state: &AppState, caller: &Caller, kind: FieldKind, id: i64) -> Result<Json<Value>, ApiError> {
    let f = fields::show(&state.db, &caller.actor(), kind, id).await?;
    Ok(body(state, &f))
}

async fn create(
    state: &AppState,
    caller: &Caller,
    kind: FieldKind,
    input: &ProfileFieldInput,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let f = fields::create(&state.db, &caller.user, kind, input).await?;
    Ok((StatusCode::CREATED, body(state, &f)))
}

async fn update(
    state: &AppState,
    caller: &Caller,
    kind: FieldKind,
    id: i64,
    input: &ProfileFieldInput,
) -> Result<Json<Value>, ApiError> {
    let f = fields::update(&state.db, &caller.user, kind, id, input).await?;
    Ok(body(state, &f))
}

async fn delete(state: &AppState, caller: &Caller, kind: FieldKind, id: i64) -> Result<StatusCode, ApiError> {
    fields::delete(&state.db, &caller.user, kind, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every organization field, by position (staff).
#[utoipa::path(get, path = "/api/v2/organization_fields", tag = "organization_fields", operation_id = "list",
    responses((status = 200, description = "`organization_fields`, `count`", body = Object), Authenticated, Refused))]
pub async fn list_org_fields(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    list(&state, &caller, FieldKind::Organization).await
}

#[utoipa::path(get, path = "/api/v2/organization_fields/{id}", tag = "organization_fields", operation_id = "show", params(IdParam),
    responses((status = 200, description = "`organization_field`", body = Object), Authenticated, PathId, Refused))]
pub async fn show_org_field(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> Result<Json<Value>, ApiError> {
    show(&state, &caller, FieldKind::Organization, id).await
}

/// Admins only.
#[utoipa::path(post, path = "/api/v2/organization_fields", tag = "organization_fields", operation_id = "create", request_body = NewOrgFieldEnvelope,
    responses((status = 201, description = "`organization_field`", body = Object), Authenticated, JsonBody, Refused))]
pub async fn create_org_field(
    State(state): State<AppState>,
    caller: Caller,
    ZJson(b): ZJson<NewOrgFieldEnvelope>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    create(&state, &caller, FieldKind::Organization, &b.organization_field).await
}

/// Admins only. What is left out stays; the key and type cannot change.
#[utoipa::path(put, path = "/api/v2/organization_fields/{id}", tag = "organization_fields", operation_id = "update", params(IdParam), request_body = OrgFieldEnvelope,
    responses((status = 200, description = "`organization_field`", body = Object), Authenticated, PathId, JsonBody, Refused))]
pub async fn update_org_field(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    ZJson(b): ZJson<OrgFieldEnvelope>,
) -> Result<Json<Value>, ApiError> {
    update(&state, &caller, FieldKind::Organization, id, &b.organization_field).await
}

/// Admins only. The field's values go with it.
#[utoipa::path(delete, path = "/api/v2/organization_fields/{id}", tag = "organization_fields", operation_id = "delete", params(IdParam),
    responses((status = 204, description = "Deleted"), Authenticated, PathId, Refused))]
pub async fn delete_org_field(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> Result<StatusCode, ApiError> {
    delete(&state, &caller, FieldKind::Organization, id).await
}

/// Every user field, by position (staff).
#[utoipa::path(get, path = "/api/v2/user_fields", tag = "user_fields", operation_id = "list",
    responses((status = 200, description = "`user_fields`, `count`", body = Object), Authenticated, Refused))]
pub async fn list_user_fields(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    list(&state, &caller, FieldKind::User).await
}

#[utoipa::path(get, path = "/api/v2/user_fields/{id}", tag = "user_fields", operation_id = "show", params(IdParam),
    responses((status = 200, description = "`user_field`", body = Object), Authenticated, PathId, Refused))]
pub async fn show_user_field(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> Result<Json<Value>, ApiError> {
    show(&state, &caller, FieldKind::User, id).await
}

/// Admins only.
#[utoipa::path(post, path = "/api/v2/user_fields", tag = "user_fields", operation_id = "create", request_body = NewUserFieldEnvelope,
    responses((status = 201, description = "`user_field`", body = Object), Authenticated, JsonBody, Refused))]
pub async fn create_user_field(
    State(state): State<AppState>,
    caller: Caller,
    ZJson(b): ZJson<NewUserFieldEnvelope>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    create(&state, &caller, FieldKind::User, &b.user_field).await
}

/// Admins only. What is left out stays; the key and type cannot change.
#[utoipa::path(put, path = "/api/v2/user_fields/{id}", tag = "user_fields", operation_id = "update", params(IdParam), request_body = UserFieldEnvelope,
    responses((status = 200, description = "`user_field`", body = Object), Authenticated, PathId, JsonBody, Refused))]
pub async fn update_user_field(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    ZJson(b): ZJson<UserFieldEnvelope>,
) -> Result<Json<Value>, ApiError> {
    update(&state, &caller, FieldKind::User, id, &b.user_field).await
}

/// Admins only. The field's values go with it.
#[utoipa::path(delete, path = "/api/v2/user_fields/{id}", tag = "user_fields", operation_id = "delete", params(IdParam),
    responses((status = 204, description = "Deleted"), Authenticated, PathId, Refused))]
pub async fn delete_user_field(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> Result<StatusCode, ApiError> {
    delete(&state, &caller, FieldKind::User, id).await
}
