//! `/api/v2/organizations`: Zendesk's organizations API. Notes and details are staff-only: they are left out
//! of every answer to an end-user, not blanked.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use partnerdesk_core::OrgId;
use partnerdesk_core::policy::{Actor, OrgScope};
use partnerdesk_db::organizations::{self, Organization};
use partnerdesk_db::users::UserFilter;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use partnerdesk_app::AppError;
use partnerdesk_app::org_changes::{self, OrgInput};

use crate::api::doc::{
    Authenticated, IdParam, JsonBody, OrganizationList, PageParams, PathId, Query, Refused, UserList,
};
use crate::api::users::users_page;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{Id, ZJson};
use crate::pagination::ListQuery;
use crate::state::AppState;

/// An organization in Zendesk's shape. `alliance_partner`, `account_manager_id` and `notes_updated_*` are
/// partnerdesk extensions; `notes`, `details` and `notes_updated_*` are present only for staff.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationView {
    pub id: i64,
    pub url: String,
    pub name: String,
    pub shared_tickets: bool,
    pub shared_comments: bool,
    pub external_id: Option<String>,
    pub domain_names: Vec<String>,
    pub tags: Vec<String>,
    pub group_id: Option<i64>,
    #[schema(value_type = Object)]
    pub organization_fields: Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes_updated_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes_updated_by_id: Option<i64>,
    pub alliance_partner: bool,
    pub account_manager_id: Option<i64>,
}

impl OrganizationView {
    pub fn new(state: &AppState, o: &Organization, actor: &Actor) -> OrganizationView {
        let staff = actor.sees_org_notes();
        OrganizationView {
            id: o.id.0,
            url: state.url(&format!("/api/v2/organizations/{}.json", o.id)),
            name: o.name.clone(),
            shared_tickets: true,
            shared_comments: true,
            external_id: None,
            domain_names: o.domain_names.clone(),
            tags: o.tags.clone(),
            group_id: None,
            organization_fields: json!({}),
            created_at: o.created_at,
            updated_at: o.updated_at,
            notes: staff.then(|| o.notes.clone()),
            details: staff.then(|| o.details.clone()),
            notes_updated_at: if staff { o.notes_updated_at } else { None },
            notes_updated_by_id: if staff {
                o.notes_updated_by_id.map(|u| u.0)
            } else {
                None
            },
            alliance_partner: o.alliance_partner,
            account_manager_id: o.account_manager_id.map(|u| u.0),
        }
    }
}

/// The body of a create: `{"organization": {...}}` with `name`.
#[derive(Debug, Deserialize)]
pub struct NewOrgEnvelope {
    pub organization: OrgInput,
}

/// The body of an update: `{"organization": {...}}` with the fields to change.
#[derive(Debug, Deserialize)]
pub struct OrgEnvelope {
    pub organization: OrgInput,
}

/// `{"organization": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationResponse {
    pub organization: OrganizationView,
}

fn org_json(state: &AppState, o: &Organization, actor: &Actor) -> Json<OrganizationResponse> {
    Json(OrganizationResponse {
        organization: OrganizationView::new(state, o, actor),
    })
}

/// Staff see every organization; end-users their own.
#[utoipa::path(get, path = "/api/v2/organizations", tag = "organizations", params(PageParams),
    responses((status = 200, description = "A page of organizations", body = OrganizationList), Authenticated, Query))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let actor = caller.actor();
    let q = ListQuery::parse(raw.as_deref())?;
    let mut conn = state.db.conn();
    let scope = actor.org_scope();
    let page = organizations::list(&mut conn, scope, q.window()).await?;
    let count = if q.is_offset() {
        Some(organizations::count(&mut conn, scope).await?)
    } else {
        None
    };
    let views: Vec<_> = page
        .items
        .iter()
        .map(|o| OrganizationView::new(&state, o, &actor))
        .collect();
    let last = page.items.last().map(|o| o.id.0);
    Ok(Json(q.envelope(
        "organizations",
        &views,
        last,
        page.has_more,
        count,
        &state.url("/api/v2/organizations.json"),
    )))
}

#[utoipa::path(get, path = "/api/v2/organizations/{id}", tag = "organizations", params(IdParam),
    responses((status = 200, description = "An organization", body = OrganizationResponse), Authenticated, PathId))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> Result<Json<OrganizationResponse>, ApiError> {
    let actor = caller.actor();
    let org = organizations::get(&mut state.db.conn(), OrgId(id), actor.org_scope()).await?;
    Ok(org_json(&state, &org, &actor))
}

/// Admins only.
#[utoipa::path(post, path = "/api/v2/organizations", tag = "organizations", request_body = NewOrgEnvelope,
    responses((status = 201, description = "Created", body = OrganizationResponse), Authenticated, JsonBody, Refused))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ZJson(body): ZJson<NewOrgEnvelope>,
) -> Result<(StatusCode, Json<OrganizationResponse>), ApiError> {
    let actor = caller.actor();
    let org = org_changes::create(&state.db, &actor, &caller.audit(), body.organization).await?;
    Ok((StatusCode::CREATED, org_json(&state, &org, &actor)))
}

/// Admins, or the organization's account manager (who may change neither the account manager nor partner
/// status).
#[utoipa::path(put, path = "/api/v2/organizations/{id}", tag = "organizations", params(IdParam), request_body = OrgEnvelope,
    responses((status = 200, description = "Updated", body = OrganizationResponse), Authenticated, PathId, JsonBody, Refused))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    ZJson(body): ZJson<OrgEnvelope>,
) -> Result<Json<OrganizationResponse>, ApiError> {
    let actor = caller.actor();
    let after = org_changes::update(&state.db, &actor, &caller.audit(), OrgId(id), body.organization).await?;
    Ok(org_json(&state, &after, &actor))
}

/// Admins only.
#[utoipa::path(delete, path = "/api/v2/organizations/{id}", tag = "organizations", params(IdParam),
    responses((status = 204, description = "Deleted"), Authenticated, PathId, Refused))]
pub async fn delete(State(state): State<AppState>, caller: Caller, Id(id): Id) -> Result<StatusCode, ApiError> {
    let actor = caller.actor();
    actor.may_administer()?;
    let org = organizations::get(&mut state.db.conn(), OrgId(id), OrgScope::All).await?;
    let mut tx = state.db.begin().await?;
    organizations::delete(&mut tx, &org, &caller.audit()).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Staff only (404 for end-users).
#[utoipa::path(get, path = "/api/v2/organizations/{id}/users", tag = "organizations", params(IdParam, PageParams),
    responses((status = 200, description = "The organization's users", body = UserList), Authenticated, PathId, Query))]
pub async fn users(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let actor = caller.actor();
    if !actor.is_staff() {
        return Err(AppError::NotFound.into());
    }
    organizations::get(&mut state.db.conn(), OrgId(id), OrgScope::All).await?;
    let q = ListQuery::parse(raw.as_deref())?;
    users_page(
        &state,
        &q,
        &UserFilter {
            organization_id: Some(OrgId(id)),
            role: None,
        },
        &format!("/api/v2/organizations/{id}/users.json"),
    )
    .await
}
