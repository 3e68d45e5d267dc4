//! Escalations and on-call (partnerdesk extensions in Zendesk's style).

use axum::Json;
use axum::extract::{Query, RawQuery, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use partnerdesk_core::OrgId;
use partnerdesk_db::escalations::{self, Escalation};
use serde::Deserialize;
use serde_json::{Value, json};

use partnerdesk_app::oncall::{self, OverrideInput, ScheduleInput};

use partnerdesk_app::AppError;
use partnerdesk_core::escalations::EscalationStatus;

use crate::auth::AnyUser;
use crate::error::ApiError;
use crate::extract::{Id, ZJson};
use crate::pagination::ListQuery;
use crate::state::AppState;
use partnerdesk_app::escalations::{self as escalating, EscalationInput};

#[derive(Debug, Deserialize)]
pub struct EscalationEnvelope {
    pub escalation: EscalationInput,
}

pub fn view(e: &Escalation) -> Value {
    let age_minutes = (partnerdesk_db::now() - e.created_at).num_minutes();
    json!({
        "id": e.id, "ticket_id": e.ticket_id, "organization_id": e.organization_id, "contact_user_id": e.contact_user_id,
        "impact": e.impact, "needed": e.needed, "needed_by": e.needed_by, "via": e.via, "status": e.status,
        "level": e.level, "notified_user_id": e.notified_user_id, "ack_deadline": e.ack_deadline,
        "everyone_notified": escalating::everyone_notified(e),
        "acknowledged_by_id": e.acknowledged_by_id, "acknowledged_at": e.acknowledged_at, "resolved_at": e.resolved_at,
        "created_at": e.created_at, "age_minutes": age_minutes,
    })
}

#[utoipa::path(post, path = "/api/v2/escalations", tag = "escalations", request_body = EscalationInput, responses((status = 201, description = "Recorded; the manager on call is notified")))]
pub async fn create(
    State(state): State<AppState>,
    AnyUser(user): AnyUser,
    ZJson(body): ZJson<EscalationEnvelope>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let e = escalating::submit(&state, &user, body.escalation, "api").await?;
    Ok((StatusCode::CREATED, Json(json!({ "escalation": view(&e) }))))
}

#[utoipa::path(get, path = "/api/v2/escalations", tag = "escalations", params(("status" = Option<String>, Query)), responses((status = 200, description = "Escalations, newest first (staff)")))]
pub async fn list(
    State(state): State<AppState>,
    AnyUser(user): AnyUser,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    if !user.role.is_staff() {
        return Err(AppError::Forbidden("The escalations dashboard is for staff.".into()).into());
    }
    let q = ListQuery::parse(raw.as_deref())?;
    let status = match q.get("status").filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(
            EscalationStatus::parse(s)
                .ok_or_else(|| AppError::BadRequest("status must be open, acknowledged or resolved".into()))?,
        ),
    };
    let mut w = q.window();
    w.desc = true;
    let page = escalations::list(&mut state.db.conn(), status, w).await?;
    Ok(Json(
        json!({ "escalations": page.items.iter().map(view).collect::<Vec<_>>(), "has_more": page.has_more }),
    ))
}

#[utoipa::path(get, path = "/api/v2/escalations/{id}", tag = "escalations", params(("id" = i64, Path)), responses((status = 200, description = "An escalation")))]
pub async fn show(State(state): State<AppState>, AnyUser(user): AnyUser, Id(id): Id) -> Result<Json<Value>, ApiError> {
    let e = escalations::get(&mut state.db.conn(), id).await?;
    if !user.role.is_staff() && user.organization_id != Some(e.organization_id) {
        return Err(AppError::NotFound.into());
    }
    Ok(Json(json!({ "escalation": view(&e) })))
}

#[utoipa::path(post, path = "/api/v2/escalations/{id}/acknowledge", tag = "escalations", params(("id" = i64, Path)), responses((status = 200, description = "Acknowledged")))]
pub async fn acknowledge(
    State(state): State<AppState>,
    AnyUser(user): AnyUser,
    Id(id): Id,
) -> Result<Json<Value>, ApiError> {
    let e = escalating::transition(&state, id, &user, EscalationStatus::Acknowledged).await?;
    Ok(Json(json!({ "escalation": view(&e) })))
}

#[utoipa::path(post, path = "/api/v2/escalations/{id}/resolve", tag = "escalations", params(("id" = i64, Path)), responses((status = 200, description = "Resolved")))]
pub async fn resolve(
    State(state): State<AppState>,
    AnyUser(user): AnyUser,
    Id(id): Id,
) -> Result<Json<Value>, ApiError> {
    let e = escalating::transition(&state, id, &user, EscalationStatus::Resolved).await?;
    Ok(Json(json!({ "escalation": view(&e) })))
}

#[derive(Debug, Deserialize)]
pub struct AtQuery {
    at: Option<String>,
}

#[utoipa::path(get, path = "/api/v2/oncall", tag = "escalations", params(("at" = Option<String>, Query, description = "RFC 3339 time; now when absent")), responses((status = 200, description = "Who is on call, and the escalation chain")))]
pub async fn on_call(
    State(state): State<AppState>,
    AnyUser(user): AnyUser,
    Query(q): Query<AtQuery>,
) -> Result<Json<Value>, ApiError> {
    if !user.role.is_staff() {
        return Err(AppError::Forbidden("On-call schedules are for staff.".into()).into());
    }
    let at = match q.at {
        Some(a) => DateTime::parse_from_rfc3339(&a)
            .map_err(|_| AppError::BadRequest(format!("at '{a}' is not an RFC 3339 time")))?
            .with_timezone(&Utc),
        None => partnerdesk_db::now(),
    };
    let (schedule, row) = escalations::schedule(&mut state.db.conn(), at).await?;
    let current = schedule.on_call_at(at);
    Ok(Json(json!({
        "at": at,
        "on_call_user_id": current.map(|c| c.0),
        "reason": current.map(|c| format!("{:?}", c.1)),
        "chain": schedule.chain_at(at),
        "schedule": row,
    })))
}

#[derive(Debug, Deserialize)]
pub struct ScheduleEnvelope {
    pub schedule: ScheduleInput,
}

#[utoipa::path(put, path = "/api/v2/oncall/schedule", tag = "escalations", responses((status = 200, description = "Saved")))]
pub async fn put_schedule(
    State(state): State<AppState>,
    AnyUser(user): AnyUser,
    ZJson(body): ZJson<ScheduleEnvelope>,
) -> Result<Json<Value>, ApiError> {
    let row = oncall::save_schedule(&state, &user, body.schedule).await?;
    Ok(Json(json!({ "schedule": row })))
}

#[derive(Debug, Deserialize)]
pub struct OverrideEnvelope {
    #[serde(rename = "override")]
    pub over: OverrideInput,
}

#[utoipa::path(post, path = "/api/v2/oncall/overrides", tag = "escalations", responses((status = 201, description = "Added")))]
pub async fn add_override(
    State(state): State<AppState>,
    AnyUser(user): AnyUser,
    ZJson(body): ZJson<OverrideEnvelope>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let o = body.over;
    let id = oncall::add_override(&state, &user, &o).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "override": {"id": id, "user_id": o.user_id, "starts_at": o.starts_at, "ends_at": o.ends_at} })),
    ))
}

#[utoipa::path(post, path = "/api/v2/organizations/{id}/escalation_link", tag = "escalations", params(("id" = i64, Path)), responses((status = 201, description = "A new link; the previous one no longer works")))]
pub async fn post_link(
    State(state): State<AppState>,
    AnyUser(user): AnyUser,
    Id(id): Id,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let url = oncall::rotate_link(&state, &user, OrgId(id)).await?;
    Ok((StatusCode::CREATED, Json(json!({ "escalation_link": {"url": url} }))))
}

#[utoipa::path(get, path = "/api/v2/organizations/{id}/escalation_link", tag = "escalations", params(("id" = i64, Path)), responses((status = 200, description = "The current link")))]
pub async fn get_link(
    State(state): State<AppState>,
    AnyUser(user): AnyUser,
    Id(id): Id,
) -> Result<Json<Value>, ApiError> {
    user.actor().may_administer()?;
    let url = oncall::current_link(&state, OrgId(id))
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Json(json!({ "escalation_link": {"url": url} })))
}
