//! `/api/v2/ticket_forms`: forms are data that route tickets (target group, default priority, tags) and say
//! who may use them. End-users see the active forms open to them; staff see all.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use partnerdesk_core::FormId;
use partnerdesk_core::custom_fields::{FieldCondition, FieldRouting};
use partnerdesk_core::policy::Actor;
use partnerdesk_core::tickets::Audience;
use partnerdesk_db::forms::{self, TicketForm};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use partnerdesk_app::AppError;
use partnerdesk_app::directory::{self, FormInput};

use crate::api::doc::{self, Authenticated, IdParam, JsonBody, PathId, Refused};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{Id, ZJson};
use crate::state::AppState;

/// A ticket form in Zendesk's shape; `audience`, `group_id`, `priority` and `tags` (the routing) are
/// partnerdesk extensions.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketFormView {
    pub id: i64,
    pub url: String,
    pub name: String,
    pub raw_name: String,
    pub display_name: String,
    pub raw_display_name: String,
    pub position: i64,
    pub active: bool,
    pub end_user_visible: bool,
    pub default: bool,
    pub ticket_field_ids: Vec<i64>,
    /// Fields shown to end-users only when another field has a value.
    #[schema(value_type = Vec<Object>)]
    pub end_user_conditions: Vec<FieldCondition>,
    /// The same for agents (staff only).
    #[schema(value_type = Vec<Object>)]
    pub agent_conditions: Vec<FieldCondition>,
    /// Routing by a field's value (staff only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub field_routing: Option<FieldRouting>,
    pub in_all_brands: bool,
    pub restricted_brand_ids: Vec<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[schema(schema_with = doc::values::audience_value)]
    pub audience: String,
    /// Staff only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_id: Option<i64>,
    #[schema(schema_with = doc::values::priority_value)]
    pub priority: Option<String>,
    pub tags: Vec<String>,
}

impl TicketFormView {
    pub fn new(state: &AppState, f: &TicketForm, actor: &Actor) -> TicketFormView {
        TicketFormView {
            id: f.id.0,
            url: state.url(&format!("/api/v2/ticket_forms/{}.json", f.id)),
            name: f.name.clone(),
            raw_name: f.name.clone(),
            display_name: f.display_name.clone(),
            raw_display_name: f.display_name.clone(),
            position: f.position,
            active: f.active,
            end_user_visible: f.audience != Audience::Staff,
            default: f.is_default,
            ticket_field_ids: f.ticket_field_ids.clone(),
            end_user_conditions: f.end_user_conditions.clone(),
            agent_conditions: if actor.is_staff() {
                f.agent_conditions.clone()
            } else {
                Vec::new()
            },
            field_routing: if actor.is_staff() {
                f.field_routing.clone()
            } else {
                None
            },
            in_all_brands: true,
            restricted_brand_ids: Vec::new(),
            created_at: f.created_at,
            updated_at: f.updated_at,
            audience: f.audience.as_str().to_owned(),
            group_id: if actor.is_staff() {
                f.group_id.map(|g| g.0)
            } else {
                None
            },
            priority: f.priority.map(|p| p.as_str().to_owned()),
            tags: f.tags.clone(),
        }
    }
}

/// End-users see active forms that are not staff-only.
fn visible(f: &TicketForm, actor: &Actor) -> bool {
    actor.is_staff() || (f.active && f.audience != Audience::Staff)
}

/// The body of a create: `{"ticket_form": {...}}` with `name`.
#[derive(Debug, Deserialize)]
pub struct FormEnvelope {
    pub ticket_form: FormInput,
}

/// `{"ticket_form": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketFormResponse {
    pub ticket_form: TicketFormView,
}

/// Every form the caller may see, in one page.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketFormList {
    pub ticket_forms: Vec<TicketFormView>,
    pub next_page: Option<String>,
    pub previous_page: Option<String>,
    pub count: usize,
}

#[utoipa::path(get, path = "/api/v2/ticket_forms", tag = "ticket_forms",
    responses((status = 200, description = "All forms visible to the caller", body = TicketFormList), Authenticated))]
pub async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<TicketFormList>, ApiError> {
    let actor = caller.actor();
    let all = forms::list(&mut state.db.conn()).await?;
    let views: Vec<_> = all
        .iter()
        .filter(|f| visible(f, &actor))
        .map(|f| TicketFormView::new(&state, f, &actor))
        .collect();
    Ok(Json(TicketFormList {
        count: views.len(),
        ticket_forms: views,
        next_page: None,
        previous_page: None,
    }))
}

#[utoipa::path(get, path = "/api/v2/ticket_forms/{id}", tag = "ticket_forms", params(IdParam),
    responses((status = 200, description = "A form", body = TicketFormResponse), Authenticated, PathId))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> Result<Json<TicketFormResponse>, ApiError> {
    let actor = caller.actor();
    let f = forms::get(&mut state.db.conn(), FormId(id)).await?;
    if !visible(&f, &actor) {
        return Err(AppError::NotFound.into());
    }
    Ok(Json(TicketFormResponse {
        ticket_form: TicketFormView::new(&state, &f, &actor),
    }))
}

/// Admins only.
#[utoipa::path(post, path = "/api/v2/ticket_forms", tag = "ticket_forms", request_body = FormEnvelope,
    responses((status = 201, description = "Created", body = TicketFormResponse), Authenticated, JsonBody, Refused))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ZJson(body): ZJson<FormEnvelope>,
) -> Result<(StatusCode, Json<TicketFormResponse>), ApiError> {
    let actor = caller.actor();
    let form = directory::create_form(&state.db, &actor, &caller.audit(), body.ticket_form).await?;
    Ok((
        StatusCode::CREATED,
        Json(TicketFormResponse {
            ticket_form: TicketFormView::new(&state, &form, &actor),
        }),
    ))
}

/// The body of an update: the form's fields to change, any of them (documentation: the body is read as a
/// `FormEnvelope` whose fields are all optional on update).
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct FormChangesEnvelope {
    pub ticket_form: FormChanges,
}

#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct FormChanges {
    #[schema(schema_with = partnerdesk_app::input::schema::name, required = false)]
    pub name: Option<String>,
    #[schema(schema_with = partnerdesk_app::input::schema::name, required = false)]
    pub display_name: Option<String>,
    pub position: Option<i64>,
    pub active: Option<bool>,
    pub default: Option<bool>,
    pub end_user_visible: Option<bool>,
    #[schema(schema_with = partnerdesk_app::input::schema::audience, required = false)]
    pub audience: Option<String>,
    /// `null` clears it (the form's tickets then go to no group by the form).
    pub group_id: Option<i64>,
    /// `null` clears it.
    #[schema(schema_with = partnerdesk_app::input::schema::priority, required = false)]
    pub priority: Option<String>,
    pub tags: Option<Vec<String>>,
    pub ticket_field_ids: Option<Vec<i64>>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub end_user_conditions: Option<Vec<Value>>,
    #[schema(value_type = Option<Vec<Object>>)]
    pub agent_conditions: Option<Vec<Value>>,
    #[schema(value_type = Option<Object>)]
    pub field_routing: Option<Value>,
}

/// Admins only. What is left out stays as it was.
#[utoipa::path(put, path = "/api/v2/ticket_forms/{id}", tag = "ticket_forms", params(IdParam), request_body = FormChangesEnvelope,
    responses((status = 200, description = "Updated", body = TicketFormResponse), Authenticated, PathId, JsonBody, Refused))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    ZJson(body): ZJson<FormEnvelope>,
) -> Result<Json<TicketFormResponse>, ApiError> {
    let actor = caller.actor();
    let form = directory::update_form(&state.db, &actor, &caller.audit(), FormId(id), body.ticket_form).await?;
    Ok(Json(TicketFormResponse {
        ticket_form: TicketFormView::new(&state, &form, &actor),
    }))
}

/// Admins only. A form tickets were filed through is refused (422): deactivate it instead.
#[utoipa::path(delete, path = "/api/v2/ticket_forms/{id}", tag = "ticket_forms", params(IdParam),
    responses((status = 204, description = "Deleted"), Authenticated, PathId, Refused))]
pub async fn delete(State(state): State<AppState>, caller: Caller, Id(id): Id) -> Result<StatusCode, ApiError> {
    directory::delete_form(&state.db, &caller.actor(), &caller.audit(), FormId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
