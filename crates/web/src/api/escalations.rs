//! Escalations and on-call (partnerdesk extensions in Zendesk's style).

use axum::Json;
use axum::extract::{Query, RawQuery, State};
use axum::http::StatusCode;
use chrono::{DateTime, NaiveDateTime, Utc};
use partnerdesk_core::policy::OrgScope;
use partnerdesk_core::{Invalid, OrgId, UserId};
use partnerdesk_db::escalations::{self, Escalation, ScheduleRow};
use partnerdesk_db::{DbError, organizations, users};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::AnyUser;
use crate::error::ApiError;
use crate::escalating::{self, EscalationInput};
use crate::extract::{Id, ZJson};
use crate::pagination::ListQuery;
use crate::state::AppState;

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
        return Err(ApiError::Forbidden("The escalations dashboard is for staff.".into()));
    }
    let q = ListQuery::parse(raw.as_deref())?;
    let status = q.get("status").filter(|s| !s.is_empty());
    if let Some(s) = status
        && !matches!(s, "open" | "acknowledged" | "resolved")
    {
        return Err(ApiError::BadRequest(
            "status must be open, acknowledged or resolved".into(),
        ));
    }
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
        return Err(ApiError::NotFound);
    }
    Ok(Json(json!({ "escalation": view(&e) })))
}

#[utoipa::path(post, path = "/api/v2/escalations/{id}/acknowledge", tag = "escalations", params(("id" = i64, Path)), responses((status = 200, description = "Acknowledged")))]
pub async fn acknowledge(
    State(state): State<AppState>,
    AnyUser(user): AnyUser,
    Id(id): Id,
) -> Result<Json<Value>, ApiError> {
    let e = escalating::transition(&state, id, &user, "acknowledged").await?;
    Ok(Json(json!({ "escalation": view(&e) })))
}

#[utoipa::path(post, path = "/api/v2/escalations/{id}/resolve", tag = "escalations", params(("id" = i64, Path)), responses((status = 200, description = "Resolved")))]
pub async fn resolve(
    State(state): State<AppState>,
    AnyUser(user): AnyUser,
    Id(id): Id,
) -> Result<Json<Value>, ApiError> {
    let e = escalating::transition(&state, id, &user, "resolved").await?;
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
        return Err(ApiError::Forbidden("On-call schedules are for staff.".into()));
    }
    let at = match q.at {
        Some(a) => DateTime::parse_from_rfc3339(&a)
            .map_err(|_| ApiError::BadRequest(format!("at '{a}' is not an RFC 3339 time")))?
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
pub struct ScheduleInput {
    pub members: Vec<i64>,
    pub starts_local: String,
    pub time_zone: String,
    pub period_days: Option<i64>,
    pub fallback_user_id: Option<i64>,
    pub ack_timeout_minutes: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub struct ScheduleEnvelope {
    pub schedule: ScheduleInput,
}

/// Checks and saves the schedule (admins). Members and fallback must be support managers.
pub async fn save_schedule(
    state: &AppState,
    user: &partnerdesk_db::users::User,
    s: ScheduleInput,
) -> Result<ScheduleRow, ApiError> {
    user.actor().may_administer()?;
    let mut errors = Invalid::default();
    if NaiveDateTime::parse_from_str(&s.starts_local, "%Y-%m-%dT%H:%M").is_err() {
        errors.push(
            "starts_local",
            "InvalidValue",
            "starts_local must be a local time like 2026-01-05T09:00",
        );
    }
    if s.time_zone.parse::<chrono_tz::Tz>().is_err() {
        errors.push(
            "time_zone",
            "InvalidValue",
            format!("'{}' is not a time zone (e.g. Europe/Berlin)", s.time_zone),
        );
    }
    let period = s.period_days.unwrap_or(7);
    if !(1..=365).contains(&period) {
        errors.push("period_days", "InvalidValue", "period_days must be between 1 and 365");
    }
    let timeout = s.ack_timeout_minutes.unwrap_or(30);
    if !(1..=24 * 60).contains(&timeout) {
        errors.push(
            "ack_timeout_minutes",
            "InvalidValue",
            "ack_timeout_minutes must be between 1 and 1440",
        );
    }
    for id in s.members.iter().chain(s.fallback_user_id.iter()) {
        match users::get(&mut state.db.conn(), UserId(*id)).await {
            Ok(u) if u.role.is_staff() && u.is_support_manager => {}
            Ok(_) | Err(DbError::NotFound) => {
                errors.push("members", "InvalidValue", format!("user {id} is not a support manager"))
            }
            Err(e) => return Err(e.into()),
        }
    }
    errors.into_result()?;
    let row = ScheduleRow {
        members: s.members.into_iter().map(UserId).collect(),
        starts_local: s.starts_local,
        time_zone: s.time_zone,
        period_days: period,
        fallback_user_id: s.fallback_user_id.map(UserId),
        ack_timeout_minutes: timeout,
    };
    let mut tx = state.db.begin().await?;
    escalations::save_schedule(&mut tx, &row, &user.audit_actor()).await?;
    tx.commit().await?;
    Ok(row)
}

#[utoipa::path(put, path = "/api/v2/oncall/schedule", tag = "escalations", responses((status = 200, description = "Saved")))]
pub async fn put_schedule(
    State(state): State<AppState>,
    AnyUser(user): AnyUser,
    ZJson(body): ZJson<ScheduleEnvelope>,
) -> Result<Json<Value>, ApiError> {
    let row = save_schedule(&state, &user, body.schedule).await?;
    Ok(Json(json!({ "schedule": row })))
}

#[derive(Debug, Deserialize)]
pub struct OverrideInput {
    pub user_id: i64,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub reason: Option<String>,
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
    user.actor().may_administer()?;
    let o = body.over;
    if o.ends_at <= o.starts_at {
        return Err(ApiError::invalid(
            "ends_at",
            "InvalidValue",
            "ends_at must be after starts_at",
        ));
    }
    match users::get(&mut state.db.conn(), UserId(o.user_id)).await {
        Ok(u) if u.role.is_staff() && u.is_support_manager => {}
        Ok(_) | Err(DbError::NotFound) => {
            return Err(ApiError::invalid(
                "user_id",
                "InvalidValue",
                format!("user {} is not a support manager", o.user_id),
            ));
        }
        Err(e) => return Err(e.into()),
    }
    let mut tx = state.db.begin().await?;
    let id = escalations::add_override(
        &mut tx,
        UserId(o.user_id),
        o.starts_at,
        o.ends_at,
        o.reason.as_deref().unwrap_or(""),
        &user.audit_actor(),
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "override": {"id": id, "user_id": o.user_id, "starts_at": o.starts_at, "ends_at": o.ends_at} })),
    ))
}

/// Makes a new escalation link for an organization (the old one stops working); returns its URL.
pub async fn rotate_link(state: &AppState, user: &partnerdesk_db::users::User, org: OrgId) -> Result<String, ApiError> {
    user.actor().may_administer()?;
    organizations::get(&mut state.db.conn(), org, OrgScope::All).await?;
    let token = partnerdesk_core::credentials::new_token()?;
    let sealed = state.sealer.seal(&token).map_err(ApiError::internal)?;
    let mut tx = state.db.begin().await?;
    escalations::set_link(
        &mut tx,
        org,
        &partnerdesk_core::credentials::token_digest(&token),
        &sealed,
        &user.audit_actor(),
    )
    .await?;
    tx.commit().await?;
    Ok(state.url(&format!("/escalate/{token}")))
}

/// The current escalation link of an organization, for admins to hand out.
pub async fn current_link(state: &AppState, org: OrgId) -> Result<Option<String>, ApiError> {
    match escalations::link_of(&mut state.db.conn(), org).await? {
        Some(sealed) => Ok(Some(state.url(&format!(
            "/escalate/{}",
            state.sealer.open(&sealed).map_err(ApiError::internal)?
        )))),
        None => Ok(None),
    }
}

#[utoipa::path(post, path = "/api/v2/organizations/{id}/escalation_link", tag = "escalations", params(("id" = i64, Path)), responses((status = 201, description = "A new link; the previous one no longer works")))]
pub async fn post_link(
    State(state): State<AppState>,
    AnyUser(user): AnyUser,
    Id(id): Id,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let url = rotate_link(&state, &user, OrgId(id)).await?;
    Ok((StatusCode::CREATED, Json(json!({ "escalation_link": {"url": url} }))))
}

#[utoipa::path(get, path = "/api/v2/organizations/{id}/escalation_link", tag = "escalations", params(("id" = i64, Path)), responses((status = 200, description = "The current link")))]
pub async fn get_link(
    State(state): State<AppState>,
    AnyUser(user): AnyUser,
    Id(id): Id,
) -> Result<Json<Value>, ApiError> {
    user.actor().may_administer()?;
    let url = current_link(&state, OrgId(id)).await?.ok_or(ApiError::NotFound)?;
    Ok(Json(json!({ "escalation_link": {"url": url} })))
}
