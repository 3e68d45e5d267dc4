//! `/api/v2/organizations`: Zendesk's organizations API. Notes and details are staff-only: they are left out
//! of every answer to an end-user, not blanked.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use partnerdesk_core::policy::{Actor, OrgScope};
use partnerdesk_core::validation::required_text;
use partnerdesk_core::{Invalid, OrgId, UserId, tags};
use partnerdesk_db::organizations::{self, OrgFields, Organization};
use partnerdesk_db::users::{self, UserFilter};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::api::users::users_page;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{Id, ZJson, nullable};
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

#[derive(Debug, Deserialize)]
pub struct OrgEnvelope {
    pub organization: OrgInput,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct OrgInput {
    pub name: Option<String>,
    pub notes: Option<String>,
    pub details: Option<String>,
    pub domain_names: Option<Vec<String>>,
    pub tags: Option<Vec<String>>,
    pub alliance_partner: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    pub account_manager_id: Option<Option<i64>>,
}

const MAX_NOTES: usize = 64 * 1024;

/// Applies `input` onto `f`, collecting every invalid field.
async fn apply(state: &AppState, f: &mut OrgFields, input: OrgInput, creating: bool) -> Result<(), ApiError> {
    let mut errors = Invalid::default();
    match (&input.name, creating) {
        (Some(n), _) => f.name = required_text(&mut errors, "name", n, 255),
        (None, true) => errors.push("name", "BlankValue", "name cannot be blank"),
        (None, false) => {}
    }
    for (field, value, target) in [
        ("notes", input.notes, &mut f.notes),
        ("details", input.details, &mut f.details),
    ] {
        if let Some(v) = value {
            if v.len() > MAX_NOTES {
                errors.push(
                    field,
                    "TooLong",
                    format!("{field} is too long (maximum is {MAX_NOTES} bytes)"),
                );
            }
            *target = v;
        }
    }
    if let Some(d) = input.domain_names {
        let d = tags::normalize(d);
        if let Some(bad) = d
            .iter()
            .find(|x| !x.contains('.') || x.contains('@') || x.contains('/'))
        {
            errors.push("domain_names", "InvalidValue", format!("'{bad}' is not a domain name"));
        }
        f.domain_names = d;
    }
    if let Some(t) = input.tags {
        f.tags = tags::normalize(t);
    }
    if let Some(p) = input.alliance_partner {
        f.alliance_partner = p;
    }
    if let Some(am) = input.account_manager_id {
        f.account_manager_id = am.map(UserId);
    }
    errors.into_result()?;
    if let (Some(Some(id)), Some(am)) = (input.account_manager_id, f.account_manager_id) {
        let ok = match users::get(&mut state.db.conn(), am).await {
            Ok(u) => u.is_account_manager && u.role.is_staff(),
            Err(partnerdesk_db::DbError::NotFound) => false,
            Err(e) => return Err(e.into()),
        };
        if !ok {
            return Err(ApiError::invalid(
                "account_manager_id",
                "InvalidValue",
                format!("user {id} is not an account manager"),
            ));
        }
    }
    Ok(())
}

fn org_json(state: &AppState, o: &Organization, actor: &Actor) -> Json<Value> {
    Json(json!({ "organization": OrganizationView::new(state, o, actor) }))
}

#[utoipa::path(get, path = "/api/v2/organizations", tag = "organizations", responses((status = 200, description = "A page of organizations")))]
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

#[utoipa::path(get, path = "/api/v2/organizations/{id}", tag = "organizations", params(("id" = i64, Path)), responses((status = 200, description = "An organization"), (status = 404, description = "Not found")))]
pub async fn show(State(state): State<AppState>, caller: Caller, Id(id): Id) -> Result<Json<Value>, ApiError> {
    let actor = caller.actor();
    let org = organizations::get(&mut state.db.conn(), OrgId(id), actor.org_scope()).await?;
    Ok(org_json(&state, &org, &actor))
}

#[utoipa::path(post, path = "/api/v2/organizations", tag = "organizations", request_body = Object, responses((status = 201, description = "Created"), (status = 422, description = "Invalid")))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ZJson(body): ZJson<OrgEnvelope>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let actor = caller.actor();
    actor.may_administer()?;
    let mut f = OrgFields::default();
    apply(&state, &mut f, body.organization, true).await?;
    let mut tx = state.db.begin().await?;
    let org = organizations::create(&mut tx, &f, &caller.audit())
        .await
        .map_err(ApiError::unique_name("organization", &f.name))?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, org_json(&state, &org, &actor)))
}

#[utoipa::path(put, path = "/api/v2/organizations/{id}", tag = "organizations", params(("id" = i64, Path)), request_body = Object, responses((status = 200, description = "Updated"), (status = 422, description = "Invalid")))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    ZJson(body): ZJson<OrgEnvelope>,
) -> Result<Json<Value>, ApiError> {
    let actor = caller.actor();
    let before = organizations::get(&mut state.db.conn(), OrgId(id), actor.org_scope()).await?;
    actor.may_edit_org(before.account_manager_id)?;
    let input = body.organization;
    if !actor.is_admin() && (input.account_manager_id.is_some() || input.alliance_partner.is_some()) {
        return Err(ApiError::Forbidden(
            "Only admins may change an organization's account manager or partner status.".into(),
        ));
    }
    let mut f = before.fields();
    apply(&state, &mut f, input, false).await?;
    let mut tx = state.db.begin().await?;
    let after = organizations::update(&mut tx, &before, &f, &caller.audit())
        .await
        .map_err(ApiError::unique_name("organization", &f.name))?;
    tx.commit().await?;
    Ok(org_json(&state, &after, &actor))
}

#[utoipa::path(delete, path = "/api/v2/organizations/{id}", tag = "organizations", params(("id" = i64, Path)), responses((status = 204, description = "Deleted")))]
pub async fn delete(State(state): State<AppState>, caller: Caller, Id(id): Id) -> Result<StatusCode, ApiError> {
    let actor = caller.actor();
    actor.may_administer()?;
    let org = organizations::get(&mut state.db.conn(), OrgId(id), OrgScope::All).await?;
    let mut tx = state.db.begin().await?;
    organizations::delete(&mut tx, &org, &caller.audit()).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v2/organizations/{id}/users", tag = "organizations", params(("id" = i64, Path)), responses((status = 200, description = "The organization's users")))]
pub async fn users(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let actor = caller.actor();
    if !actor.is_staff() {
        return Err(ApiError::NotFound);
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
