//! `/api/v2/ticket_fields` and their `options`: custom ticket fields as Zendesk defines them. Staff read them;
//! admins define them.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use partnerdesk_app::ticket_fields::{self as fields, FieldInput, OptionInput};
use partnerdesk_db::ticket_fields::{OptionRow, TicketField};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use crate::api::doc::{Authenticated, IdParam, JsonBody, PathId, Refused};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{Id, TwoIds, ZJson};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct OptionView {
    pub id: i64,
    pub url: String,
    pub name: String,
    pub raw_name: String,
    pub value: String,
    pub position: i64,
    pub default: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TicketFieldView {
    pub id: i64,
    pub url: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub raw_title: String,
    pub description: String,
    pub raw_description: String,
    pub position: i64,
    pub active: bool,
    pub required: bool,
    pub collapsed_for_agents: bool,
    pub regexp_for_validation: Option<String>,
    pub title_in_portal: String,
    pub raw_title_in_portal: String,
    pub visible_in_portal: bool,
    pub editable_in_portal: bool,
    pub required_in_portal: bool,
    pub tag: Option<String>,
    pub removable: bool,
    pub custom_field_options: Vec<OptionView>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn option_view(state: &AppState, field: i64, o: &OptionRow) -> OptionView {
    OptionView {
        id: o.id,
        url: state.url(&format!("/api/v2/ticket_fields/{field}/options/{}.json", o.id)),
        name: o.name.clone(),
        raw_name: o.name.clone(),
        value: o.value.clone(),
        position: o.position,
        default: false,
    }
}

impl TicketFieldView {
    pub fn new(state: &AppState, f: &TicketField) -> TicketFieldView {
        let portal_title = if f.title_in_portal.is_empty() {
            &f.title
        } else {
            &f.title_in_portal
        };
        TicketFieldView {
            id: f.id,
            url: state.url(&format!("/api/v2/ticket_fields/{}.json", f.id)),
            kind: f.kind.as_str().to_owned(),
            title: f.title.clone(),
            raw_title: f.title.clone(),
            description: f.description.clone(),
            raw_description: f.description.clone(),
            position: f.position,
            active: f.active,
            required: f.required,
            collapsed_for_agents: false,
            regexp_for_validation: f.regexp_for_validation.clone(),
            title_in_portal: portal_title.clone(),
            raw_title_in_portal: portal_title.clone(),
            visible_in_portal: f.visible_in_portal,
            editable_in_portal: f.editable_in_portal,
            required_in_portal: f.required_in_portal,
            tag: f.tag.clone(),
            removable: true,
            custom_field_options: f.options.iter().map(|o| option_view(state, f.id, o)).collect(),
            created_at: f.created_at,
            updated_at: f.updated_at,
        }
    }
}

/// `{"ticket_field": {...}}`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct FieldEnvelope {
    pub ticket_field: FieldInput,
}

/// `{"custom_field_option": {"name", "value"}}`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct OptionEnvelope {
    pub custom_field_option: OptionInput,
}

#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct OptionPath {
    #[param(minimum = 1)]
    pub id: i64,
    #[param(minimum = 1)]
    pub option_id: i64,
}

fn field_body(state: &AppState, f: &TicketField) -> Value {
    json!({ "ticket_field": TicketFieldView::new(state, f) })
}

/// Every ticket field, by position (staff).
#[utoipa::path(get, path = "/api/v2/ticket_fields", tag = "ticket_fields",
    responses((status = 200, description = "`ticket_fields`, `count`", body = Object), Authenticated, Refused))]
pub async fn list_fields(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let all = fields::list(&state.db, &caller.actor()).await?;
    let views: Vec<TicketFieldView> = all.iter().map(|f| TicketFieldView::new(&state, f)).collect();
    Ok(Json(
        json!({"ticket_fields": views, "count": views.len(), "next_page": null, "previous_page": null}),
    ))
}

/// How many ticket fields there are (Zendesk's `{"count": {"value", "refreshed_at"}}`).
#[utoipa::path(get, path = "/api/v2/ticket_fields/count", tag = "ticket_fields",
    responses((status = 200, description = "`count`", body = Object), Authenticated, Refused))]
pub async fn count_fields(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    let all = fields::list(&state.db, &caller.actor()).await?;
    Ok(Json(
        json!({"count": {"value": all.len(), "refreshed_at": partnerdesk_db::now()}}),
    ))
}

#[utoipa::path(get, path = "/api/v2/ticket_fields/{id}", tag = "ticket_fields", params(IdParam),
    responses((status = 200, description = "`ticket_field`", body = Object), Authenticated, PathId, Refused))]
pub async fn show_field(State(state): State<AppState>, caller: Caller, Id(id): Id) -> Result<Json<Value>, ApiError> {
    let f = fields::show(&state.db, &caller.actor(), id).await?;
    Ok(Json(field_body(&state, &f)))
}

/// Admins only.
#[utoipa::path(post, path = "/api/v2/ticket_fields", tag = "ticket_fields", request_body = FieldEnvelope,
    responses((status = 201, description = "`ticket_field`", body = Object), Authenticated, JsonBody, Refused))]
pub async fn create_field(
    State(state): State<AppState>,
    caller: Caller,
    ZJson(body): ZJson<FieldEnvelope>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let f = fields::create(&state.db, &caller.user, &body.ticket_field).await?;
    Ok((StatusCode::CREATED, Json(field_body(&state, &f))))
}

/// Admins only. What is left out stays; `custom_field_options`, when given, replaces the options.
#[utoipa::path(put, path = "/api/v2/ticket_fields/{id}", tag = "ticket_fields", params(IdParam), request_body = FieldEnvelope,
    responses((status = 200, description = "`ticket_field`", body = Object), Authenticated, PathId, JsonBody, Refused))]
pub async fn update_field(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    ZJson(body): ZJson<FieldEnvelope>,
) -> Result<Json<Value>, ApiError> {
    let f = fields::update(&state.db, &caller.user, id, &body.ticket_field).await?;
    Ok(Json(field_body(&state, &f)))
}

/// Admins only. The field's values go with it.
#[utoipa::path(delete, path = "/api/v2/ticket_fields/{id}", tag = "ticket_fields", params(IdParam),
    responses((status = 204, description = "Deleted"), Authenticated, PathId, Refused))]
pub async fn delete_field(State(state): State<AppState>, caller: Caller, Id(id): Id) -> Result<StatusCode, ApiError> {
    fields::delete(&state.db, &caller.user, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v2/ticket_fields/{id}/options", tag = "ticket_fields", params(IdParam),
    responses((status = 200, description = "`custom_field_options`", body = Object), Authenticated, PathId, Refused))]
pub async fn list_options(State(state): State<AppState>, caller: Caller, Id(id): Id) -> Result<Json<Value>, ApiError> {
    let f = fields::show(&state.db, &caller.actor(), id).await?;
    let views: Vec<OptionView> = f.options.iter().map(|o| option_view(&state, f.id, o)).collect();
    Ok(Json(
        json!({"custom_field_options": views, "count": views.len(), "next_page": null, "previous_page": null}),
    ))
}

/// Admins only: adds an option, or renames the option with the same value.
#[utoipa::path(post, path = "/api/v2/ticket_fields/{id}/options", tag = "ticket_fields", params(IdParam), request_body = OptionEnvelope,
    responses((status = 201, description = "`custom_field_option` (created)", body = Object),
        (status = 200, description = "`custom_field_option` (renamed)", body = Object), Authenticated, PathId, JsonBody, Refused))]
pub async fn upsert_option(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    ZJson(body): ZJson<OptionEnvelope>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let (f, created) = fields::upsert_option(&state.db, &caller.user, id, &body.custom_field_option).await?;
    let value = partnerdesk_core::tags::normalize([body.custom_field_option.value.as_str()])
        .pop()
        .unwrap_or_default();
    let o = f
        .options
        .iter()
        .find(|o| o.value == value)
        .ok_or(partnerdesk_app::AppError::NotFound)?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((
        status,
        Json(json!({"custom_field_option": option_view(&state, f.id, o)})),
    ))
}

#[utoipa::path(get, path = "/api/v2/ticket_fields/{id}/options/{option_id}", tag = "ticket_fields", params(OptionPath),
    responses((status = 200, description = "`custom_field_option`", body = Object), Authenticated, PathId, Refused))]
pub async fn show_option(
    State(state): State<AppState>,
    caller: Caller,
    TwoIds(id, option): TwoIds,
) -> Result<Json<Value>, ApiError> {
    let f = fields::show(&state.db, &caller.actor(), id).await?;
    let o = f
        .options
        .iter()
        .find(|o| o.id == option)
        .ok_or(partnerdesk_app::AppError::NotFound)?;
    Ok(Json(json!({"custom_field_option": option_view(&state, f.id, o)})))
}

/// Admins only.
#[utoipa::path(delete, path = "/api/v2/ticket_fields/{id}/options/{option_id}", tag = "ticket_fields", params(OptionPath),
    responses((status = 204, description = "Deleted"), Authenticated, PathId, Refused))]
pub async fn delete_option(
    State(state): State<AppState>,
    caller: Caller,
    TwoIds(id, option): TwoIds,
) -> Result<StatusCode, ApiError> {
    fields::delete_option(&state.db, &caller.user, id, option).await?;
    Ok(StatusCode::NO_CONTENT)
}
