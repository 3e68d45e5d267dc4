//! `/api/v2/groups`: the agent groups tickets are routed to. Staff only.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use partnerdesk_core::validation::required_text;
use partnerdesk_core::{GroupId, Invalid};
use partnerdesk_db::groups::{self, Group};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

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

#[derive(Debug, Deserialize)]
pub struct GroupEnvelope {
    pub group: GroupInput,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct GroupInput {
    pub name: Option<String>,
    pub description: Option<String>,
}

fn staff_only(caller: &Caller) -> Result<(), ApiError> {
    if caller.actor().is_staff() {
        Ok(())
    } else {
        Err(ApiError::Forbidden("Groups are visible to staff only.".into()))
    }
}

#[utoipa::path(get, path = "/api/v2/groups", tag = "groups", responses((status = 200, description = "A page of groups")))]
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

#[utoipa::path(get, path = "/api/v2/groups/{id}", tag = "groups", params(("id" = i64, Path)), responses((status = 200, description = "A group")))]
pub async fn show(State(state): State<AppState>, caller: Caller, Id(id): Id) -> Result<Json<Value>, ApiError> {
    staff_only(&caller)?;
    let g = groups::get(&mut state.db.conn(), GroupId(id)).await?;
    Ok(Json(json!({ "group": GroupView::new(&state, &g) })))
}

#[utoipa::path(post, path = "/api/v2/groups", tag = "groups", request_body = GroupInput, responses((status = 201, description = "Created"), (status = 422, description = "Invalid")))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ZJson(body): ZJson<GroupEnvelope>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.actor().may_administer()?;
    let mut errors = Invalid::default();
    let name = required_text(&mut errors, "name", body.group.name.as_deref().unwrap_or_default(), 255);
    errors.into_result()?;
    let mut tx = state.db.begin().await?;
    let g = groups::create(
        &mut tx,
        &name,
        body.group.description.as_deref().unwrap_or_default(),
        &caller.audit(),
    )
    .await
    .map_err(ApiError::unique_name("group", &name))?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "group": GroupView::new(&state, &g) })),
    ))
}
