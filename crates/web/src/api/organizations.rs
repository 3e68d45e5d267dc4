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
use partnerdesk_app::profile_fields;
use partnerdesk_db::profile_fields::FieldKind;

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
            external_id: o.external_id.clone(),
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

/// Views of organizations with their `organization_fields` as `actor` sees them (end-users: only the fields visible
/// to end-users).
pub async fn org_views(
    state: &AppState,
    list: &[Organization],
    actor: &Actor,
) -> Result<Vec<OrganizationView>, ApiError> {
    let ids: Vec<i64> = list.iter().map(|o| o.id.0).collect();
    let staff = actor.sees_org_notes();
    let mut values = profile_fields::shown_in(&state.db, FieldKind::Organization, &ids, staff).await?;
    Ok(list
        .iter()
        .map(|o| {
            let mut view = OrganizationView::new(state, o, actor);
            view.organization_fields = Value::Object(values.remove(&o.id.0).unwrap_or_default());
            view
        })
        .collect())
}

/// `{"organization": {...}}` with its `organization_fields` as `actor` sees them.
pub async fn org_json(
    state: &AppState,
    o: &Organization,
    actor: &Actor,
) -> Result<Json<OrganizationResponse>, ApiError> {
    let organization = org_views(state, std::slice::from_ref(o), actor)
        .await?
        .pop()
        .ok_or(AppError::NotFound)?;
    Ok(Json(OrganizationResponse { organization }))
}

#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct OrgFilterParams {
    #[param(schema_with = crate::api::lookups::external_id_text)]
    pub external_id: Option<String>,
}

/// Staff see every organization; end-users their own. `external_id` finds the one with that external id.
#[utoipa::path(get, path = "/api/v2/organizations", tag = "organizations", params(OrgFilterParams, PageParams),
    responses((status = 200, description = "A page of organizations", body = OrganizationList), Authenticated, Query))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let q = ListQuery::parse(raw.as_deref())?;
    let external_id = q
        .get("external_id")
        .map(crate::api::lookups::external_id)
        .transpose()?
        .map(str::to_owned);
    organizations_page(
        &state,
        &caller,
        &q,
        external_id.as_deref(),
        "/api/v2/organizations.json",
    )
    .await
}

/// A page of the organizations the caller sees, those with `external_id` only when given.
pub async fn organizations_page(
    state: &AppState,
    caller: &Caller,
    q: &ListQuery,
    external_id: Option<&str>,
    path: &str,
) -> Result<Json<Value>, ApiError> {
    let actor = caller.actor();
    let mut conn = state.db.conn();
    let scope = actor.org_scope();
    let page = organizations::list(&mut conn, scope, external_id, q.window()).await?;
    let count = if q.is_offset() {
        Some(organizations::count(&mut conn, scope, external_id).await?)
    } else {
        None
    };
    let views = org_views(state, &page.items, &actor).await?;
    let last = page.items.last().map(|o| o.id.0);
    Ok(Json(q.envelope(
        "organizations",
        &views,
        last,
        page.has_more,
        count,
        &state.url(path),
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
    org_json(&state, &org, &actor).await
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
    Ok((StatusCode::CREATED, org_json(&state, &org, &actor).await?))
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
    org_json(&state, &after, &actor).await
}

/// Admins only.
#[utoipa::path(delete, path = "/api/v2/organizations/{id}", tag = "organizations", params(IdParam),
    responses((status = 204, description = "Deleted"), Authenticated, PathId, Refused))]
pub async fn delete(State(state): State<AppState>, caller: Caller, Id(id): Id) -> Result<StatusCode, ApiError> {
    org_changes::delete(&state.db, &caller.actor(), &caller.audit(), OrgId(id)).await?;
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
            ..UserFilter::default()
        },
        &format!("/api/v2/organizations/{id}/users.json"),
    )
    .await
}
