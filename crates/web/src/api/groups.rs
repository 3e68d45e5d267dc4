//! `/api/v2/groups`: the agent groups tickets are routed to. Staff only.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use partnerdesk_core::GroupId;
use partnerdesk_db::groups::{self, Group};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use partnerdesk_app::AppError;
use partnerdesk_app::directory::{self, GroupInput};

use crate::api::doc::{Authenticated, GroupList, IdParam, JsonBody, PageParams, PathId, Query, Refused};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{Id, ZJson};
use crate::pagination::ListQuery;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct GroupView {
    pub id: i64,
    pub url: String,
    pub name: String,
    pub description: String,
    pub default: bool,
    pub deleted: bool,
    pub is_public: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl GroupView {
    pub fn new(state: &AppState, g: &Group) -> GroupView {
        GroupView {
            id: g.id.0,
            url: state.url(&format!("/api/v2/groups/{}.json", g.id)),
            name: g.name.clone(),
            description: g.description.clone(),
            default: g.is_default,
            deleted: false,
            is_public: true,
            created_at: g.created_at,
            updated_at: g.updated_at,
        }
    }
}

/// The body of a create: `{"group": {...}}` with `name`.
#[derive(Debug, Deserialize)]
pub struct GroupEnvelope {
    pub group: GroupInput,
}

/// `{"group": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupResponse {
    pub group: GroupView,
}

fn staff_only(caller: &Caller) -> Result<(), ApiError> {
    if caller.actor().is_staff() {
        Ok(())
    } else {
        Err(AppError::Forbidden("Groups are visible to staff only.".into()).into())
    }
}

#[utoipa::path(get, path = "/api/v2/groups", tag = "groups", params(PageParams),
    responses((status = 200, description = "A page of groups", body = GroupList), Authenticated, Query, Refused))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    staff_only(&caller)?;
    let q = ListQuery::parse(raw.as_deref())?;
    let mut conn = state.db.conn();
    let page = groups::list(&mut conn, q.window()).await?;
    let count = if q.is_offset() {
        Some(groups::count(&mut conn).await?)
    } else {
        None
    };
    let views: Vec<_> = page.items.iter().map(|g| GroupView::new(&state, g)).collect();
    let last = page.items.last().map(|g| g.id.0);
    Ok(Json(q.envelope(
        "groups",
        &views,
        last,
        page.has_more,
        count,
        &state.url("/api/v2/groups.json"),
    )))
}

#[utoipa::path(get, path = "/api/v2/groups/{id}", tag = "groups", params(IdParam),
    responses((status = 200, description = "A group", body = GroupResponse), Authenticated, PathId, Refused))]
pub async fn show(State(state): State<AppState>, caller: Caller, Id(id): Id) -> Result<Json<GroupResponse>, ApiError> {
    staff_only(&caller)?;
    let g = groups::get(&mut state.db.conn(), GroupId(id)).await?;
    Ok(Json(GroupResponse {
        group: GroupView::new(&state, &g),
    }))
}

/// Admins only.
#[utoipa::path(post, path = "/api/v2/groups", tag = "groups", request_body = GroupEnvelope,
    responses((status = 201, description = "Created", body = GroupResponse), Authenticated, JsonBody, Refused))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ZJson(body): ZJson<GroupEnvelope>,
) -> Result<(StatusCode, Json<GroupResponse>), ApiError> {
    let g = directory::create_group(&state.db, &caller.actor(), &caller.audit(), body.group).await?;
    Ok((
        StatusCode::CREATED,
        Json(GroupResponse {
            group: GroupView::new(&state, &g),
        }),
    ))
}
