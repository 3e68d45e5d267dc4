//! `GET /api/v2/{tickets,users,organizations}/show_many?ids=1,2,3`: several records in one call, as Zendesk clients
//! fetch them (zenpy's `tickets(ids=[...])`). At most 100 ids; each record passes the same policy as its single
//! show, and one the caller may not see is left out, as if it did not exist.

use axum::Json;
use axum::extract::{RawQuery, State};
use partnerdesk_core::{OrgId, TicketId, UserId};
use partnerdesk_db::{DbError, organizations, users};
use serde_json::{Value, json};
use utoipa::IntoParams;

use partnerdesk_app::AppError;
use partnerdesk_app::tickets as ticketing;

use crate::api::doc::{Authenticated, Query};
use crate::api::tickets::TicketView;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// The most ids one call may name (Zendesk's limit).
const MAX_IDS: usize = 100;

#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct IdsParams {
    /// Comma-separated ids, at most 100.
    #[param(pattern = r"^[1-9][0-9]{0,17}(,[1-9][0-9]{0,17}){0,99}$")]
    pub ids: String,
}

/// The `ids` parameter: comma-separated positive integers, at most `MAX_IDS`, repeats dropped.
pub(crate) fn ids(raw: Option<&str>) -> Result<Vec<i64>, ApiError> {
    let given = form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "ids")
        .map(|(_, v)| v.into_owned())
        .ok_or_else(|| AppError::BadRequest("ids is required: comma-separated ids, at most 100".into()))?;
    let mut out: Vec<i64> = Vec::new();
    for part in given.split(',') {
        // Exactly the documented form: digits, no sign, no leading zero, no spaces.
        let plain =
            !part.is_empty() && part.len() <= 18 && !part.starts_with('0') && part.bytes().all(|b| b.is_ascii_digit());
        let id = part
            .parse::<i64>()
            .ok()
            .filter(|_| plain)
            .ok_or_else(|| AppError::BadRequest(format!("ids must be positive integers, not '{part}'")))?;
        if !out.contains(&id) {
            out.push(id);
        }
        if out.len() > MAX_IDS {
            return Err(AppError::BadRequest(format!("ids names more than {MAX_IDS} records")).into());
        }
    }
    Ok(out)
}

fn listed(key: &str, items: Vec<Value>) -> Json<Value> {
    let count = items.len();
    Json(json!({ key: items, "next_page": null, "previous_page": null, "count": count }))
}

#[utoipa::path(get, path = "/api/v2/tickets/show_many", tag = "tickets", params(IdsParams),
    responses((status = 200, description = "`tickets`: those of the ids the caller may see", body = Object), Authenticated, Query))]
pub async fn tickets(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let actor = caller.actor();
    let mut items = Vec::new();
    for id in ids(raw.as_deref())? {
        match ticketing::visible(&state.db, &actor, TicketId(id)).await {
            Ok(t) => items.push(json!(TicketView::new(&state, &t, &actor))),
            Err(AppError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(listed("tickets", items))
}

#[utoipa::path(get, path = "/api/v2/users/show_many", tag = "users", params(IdsParams),
    responses((status = 200, description = "`users`: those of the ids the caller may see", body = Object), Authenticated, Query))]
pub async fn users(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let actor = caller.actor();
    let wanted: Vec<UserId> = ids(raw.as_deref())?
        .into_iter()
        .map(UserId)
        .filter(|id| actor.may_view_user(*id).is_ok())
        .collect();
    let found = users::by_ids(&mut state.db.conn(), &wanted).await?;
    let ordered: Vec<_> = wanted
        .iter()
        .filter_map(|id| found.iter().find(|u| u.id == *id).cloned())
        .collect();
    let items = crate::api::users::user_views(&state, &ordered, actor.is_staff())
        .await?
        .into_iter()
        .map(|v| json!(v))
        .collect();
    Ok(listed("users", items))
}

#[utoipa::path(get, path = "/api/v2/organizations/show_many", tag = "organizations", params(IdsParams),
    responses((status = 200, description = "`organizations`: those of the ids the caller may see", body = Object), Authenticated, Query))]
pub async fn organizations(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let actor = caller.actor();
    let mut conn = state.db.conn();
    let mut items = Vec::new();
    for id in ids(raw.as_deref())? {
        match organizations::get(&mut conn, OrgId(id), actor.org_scope()).await {
            Ok(o) => items.push(o),
            Err(DbError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let items = crate::api::organizations::org_views(&state, &items, &actor)
        .await?
        .into_iter()
        .map(|v| json!(v))
        .collect();
    Ok(listed("organizations", items))
}
