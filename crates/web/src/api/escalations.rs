//! Escalations and on-call (partnerdesk extensions in Zendesk's style).

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use partnerdesk_core::OrgId;
use partnerdesk_db::escalations::{self, Escalation, ScheduleRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use partnerdesk_app::oncall::{self, OverrideInput, ScheduleInput};

use partnerdesk_app::AppError;
use partnerdesk_core::escalations::EscalationStatus;

use crate::api::doc::{self, Authenticated, IdParam, JsonBody, PageParams, PathId, Query, Refused};
use crate::auth::AnyUser;
use crate::error::ApiError;
use crate::extract::{Id, ZJson, ZQuery};
use crate::pagination::ListQuery;
use crate::state::AppState;
use partnerdesk_app::escalations::{self as escalating, EscalationInput};

#[derive(Debug, Deserialize)]
pub struct EscalationEnvelope {
    pub escalation: EscalationInput,
}

/// An escalation: who raised it about which ticket, and where it is along its chain of support managers.
#[derive(Debug, Serialize, ToSchema)]
pub struct EscalationView {
    pub id: i64,
    pub ticket_id: i64,
    pub organization_id: i64,
    pub contact_user_id: i64,
    pub impact: String,
    pub needed: String,
    pub needed_by: Option<DateTime<Utc>>,
    pub via: String,
    #[schema(schema_with = doc::values::escalation_status_value)]
    pub status: String,
    /// The position in the chain of the manager now notified (0 = the manager on call).
    pub level: i64,
    pub notified_user_id: Option<i64>,
    pub ack_deadline: Option<DateTime<Utc>>,
    /// The chain is exhausted: every support manager was notified.
    pub everyone_notified: bool,
    pub acknowledged_by_id: Option<i64>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub age_minutes: i64,
}

pub fn view(e: &Escalation) -> EscalationView {
    EscalationView {
        id: e.id,
        ticket_id: e.ticket_id.0,
        organization_id: e.organization_id.0,
        contact_user_id: e.contact_user_id.0,
        impact: e.impact.clone(),
        needed: e.needed.clone(),
        needed_by: e.needed_by,
        via: e.via.clone(),
        status: e.status.as_str().to_owned(),
        level: e.level,
        notified_user_id: e.notified_user_id.map(|u| u.0),
        ack_deadline: e.ack_deadline,
        everyone_notified: escalating::everyone_notified(e),
        acknowledged_by_id: e.acknowledged_by_id.map(|u| u.0),
        acknowledged_at: e.acknowledged_at,
        resolved_at: e.resolved_at,
        created_at: e.created_at,
        age_minutes: (partnerdesk_db::now() - e.created_at).num_minutes(),
    }
}

/// `{"escalation": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct EscalationResponse {
    pub escalation: EscalationView,
}

fn escalation_json(e: &Escalation) -> Json<EscalationResponse> {
    Json(EscalationResponse { escalation: view(e) })
}

/// Escalations, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct EscalationList {
    pub escalations: Vec<EscalationView>,
    pub has_more: bool,
}

/// The `status` filter of the escalations list.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct EscalationFilter {
    /// Blank for every status.
    #[param(schema_with = status_filter)]
    pub status: Option<String>,
}

fn status_filter() -> utoipa::openapi::schema::Object {
    doc::values::one_of(EscalationStatus::ALL.iter().map(|s| s.as_str()).chain([""]), false)
}

/// From a partner organization's representative (or staff on the ticket's organization's behalf is refused: the
/// contact is the caller); the manager on call is notified.
#[utoipa::path(post, path = "/api/v2/escalations", tag = "escalations", request_body = EscalationEnvelope,
    responses((status = 201, description = "Recorded; the manager on call is notified", body = EscalationResponse), Authenticated, JsonBody))]
pub async fn create(
    State(state): State<AppState>,
    AnyUser(user): AnyUser,
    ZJson(body): ZJson<EscalationEnvelope>,
) -> Result<(StatusCode, Json<EscalationResponse>), ApiError> {
    let e = escalating::submit(&state, &user, body.escalation, "api").await?;
    Ok((StatusCode::CREATED, escalation_json(&e)))
}

/// Staff.
#[utoipa::path(get, path = "/api/v2/escalations", tag = "escalations", params(EscalationFilter, PageParams),
    responses((status = 200, description = "Escalations, newest first", body = EscalationList), Authenticated, Query, Refused))]
pub async fn list(
    State(state): State<AppState>,
    AnyUser(user): AnyUser,
    RawQuery(raw): RawQuery,
) -> Result<Json<EscalationList>, ApiError> {
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
    Ok(Json(EscalationList {
        escalations: page.items.iter().map(view).collect(),
        has_more: page.has_more,
    }))
}

/// Staff, and the escalating organization's people.
#[utoipa::path(get, path = "/api/v2/escalations/{id}", tag = "escalations", params(IdParam),
    responses((status = 200, description = "An escalation", body = EscalationResponse), Authenticated, PathId))]
pub async fn show(
    State(state): State<AppState>,
    AnyUser(user): AnyUser,
    Id(id): Id,
) -> Result<Json<EscalationResponse>, ApiError> {
    let e = escalations::get(&mut state.db.conn(), id).await?;
    if !user.role.is_staff() && user.organization_id != Some(e.organization_id) {
        return Err(AppError::NotFound.into());
    }
    Ok(escalation_json(&e))
}

/// Support managers and admins; only an open escalation can be acknowledged.
#[utoipa::path(post, path = "/api/v2/escalations/{id}/acknowledge", tag = "escalations", params(IdParam),
    responses((status = 200, description = "Acknowledged", body = EscalationResponse), Authenticated, PathId, Refused))]
pub async fn acknowledge(
    State(state): State<AppState>,
    AnyUser(user): AnyUser,
    Id(id): Id,
) -> Result<Json<EscalationResponse>, ApiError> {
    let e = escalating::transition(&state, id, &user, EscalationStatus::Acknowledged).await?;
    Ok(escalation_json(&e))
}

/// Support managers and admins; a resolved escalation stays resolved.
#[utoipa::path(post, path = "/api/v2/escalations/{id}/resolve", tag = "escalations", params(IdParam),
    responses((status = 200, description = "Resolved", body = EscalationResponse), Authenticated, PathId, Refused))]
pub async fn resolve(
    State(state): State<AppState>,
    AnyUser(user): AnyUser,
    Id(id): Id,
) -> Result<Json<EscalationResponse>, ApiError> {
    let e = escalating::transition(&state, id, &user, EscalationStatus::Resolved).await?;
    Ok(escalation_json(&e))
}

/// The moment to look at.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AtQuery {
    /// An RFC 3339 time; now when absent.
    #[param(format = DateTime)]
    at: Option<String>,
}

/// The rotation as saved.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleView {
    pub members: Vec<i64>,
    pub starts_local: String,
    pub time_zone: String,
    pub period_days: i64,
    pub fallback_user_id: Option<i64>,
    pub ack_timeout_minutes: i64,
}

impl From<&ScheduleRow> for ScheduleView {
    fn from(r: &ScheduleRow) -> Self {
        ScheduleView {
            members: r.members.iter().map(|u| u.0).collect(),
            starts_local: r.starts_local.clone(),
            time_zone: r.time_zone.clone(),
            period_days: r.period_days,
            fallback_user_id: r.fallback_user_id.map(|u| u.0),
            ack_timeout_minutes: r.ack_timeout_minutes,
        }
    }
}

/// Who is on call at `at`, why, and who is next if nobody acknowledges.
#[derive(Debug, Serialize, ToSchema)]
pub struct OnCallView {
    pub at: DateTime<Utc>,
    pub on_call_user_id: Option<i64>,
    /// `Override`, `Rotation { shift: N }` or `Fallback`.
    pub reason: Option<String>,
    pub chain: Vec<i64>,
    pub schedule: ScheduleView,
}

/// Staff.
#[utoipa::path(get, path = "/api/v2/oncall", tag = "escalations", params(AtQuery),
    responses((status = 200, description = "Who is on call, and the escalation chain", body = OnCallView), Authenticated, Query, Refused))]
pub async fn on_call(
    State(state): State<AppState>,
    AnyUser(user): AnyUser,
    ZQuery(q): ZQuery<AtQuery>,
) -> Result<Json<OnCallView>, ApiError> {
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
    Ok(Json(OnCallView {
        at,
        on_call_user_id: current.map(|c| c.0.0),
        reason: current.map(|c| format!("{:?}", c.1)),
        chain: schedule.chain_at(at).iter().map(|u| u.0).collect(),
        schedule: ScheduleView::from(&row),
    }))
}

#[derive(Debug, Deserialize)]
pub struct ScheduleEnvelope {
    pub schedule: ScheduleInput,
}

/// `{"schedule": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleResponse {
    pub schedule: ScheduleView,
}

/// Admins. Members and the fallback must be support managers.
#[utoipa::path(put, path = "/api/v2/oncall/schedule", tag = "escalations", request_body = ScheduleEnvelope,
    responses((status = 200, description = "Saved", body = ScheduleResponse), Authenticated, JsonBody, Refused))]
pub async fn put_schedule(
    State(state): State<AppState>,
    AnyUser(user): AnyUser,
    ZJson(body): ZJson<ScheduleEnvelope>,
) -> Result<Json<ScheduleResponse>, ApiError> {
    let row = oncall::save_schedule(&state, &user, body.schedule).await?;
    Ok(Json(ScheduleResponse {
        schedule: ScheduleView::from(&row),
    }))
}

#[derive(Debug, Deserialize)]
pub struct OverrideEnvelope {
    #[serde(rename = "override")]
    pub over: OverrideInput,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OverrideView {
    pub id: i64,
    pub user_id: i64,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

/// `{"override": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct OverrideResponse {
    #[serde(rename = "override")]
    #[schema(rename = "override")]
    pub over: OverrideView,
}

/// Admins: puts a support manager on call for a while, ahead of the rotation.
#[utoipa::path(post, path = "/api/v2/oncall/overrides", tag = "escalations", request_body = OverrideEnvelope,
    responses((status = 201, description = "Added", body = OverrideResponse), Authenticated, JsonBody, Refused))]
pub async fn add_override(
    State(state): State<AppState>,
    AnyUser(user): AnyUser,
    ZJson(body): ZJson<OverrideEnvelope>,
) -> Result<(StatusCode, Json<OverrideResponse>), ApiError> {
    let o = body.over;
    let id = oncall::add_override(&state, &user, &o).await?;
    Ok((
        StatusCode::CREATED,
        Json(OverrideResponse {
            over: OverrideView {
                id,
                user_id: o.user_id,
                starts_at: o.starts_at,
                ends_at: o.ends_at,
            },
        }),
    ))
}

/// An organization's escalation link: the page where its people raise an escalation without signing in.
#[derive(Debug, Serialize, ToSchema)]
pub struct EscalationLink {
    pub url: String,
}

/// `{"escalation_link": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct EscalationLinkResponse {
    pub escalation_link: EscalationLink,
}

/// Admins.
#[utoipa::path(post, path = "/api/v2/organizations/{id}/escalation_link", tag = "escalations", params(IdParam),
    responses((status = 201, description = "A new link; the previous one no longer works", body = EscalationLinkResponse), Authenticated, PathId, Refused))]
pub async fn post_link(
    State(state): State<AppState>,
    AnyUser(user): AnyUser,
    Id(id): Id,
) -> Result<(StatusCode, Json<EscalationLinkResponse>), ApiError> {
    let url = oncall::rotate_link(&state, &user, OrgId(id)).await?;
    Ok((
        StatusCode::CREATED,
        Json(EscalationLinkResponse {
            escalation_link: EscalationLink { url },
        }),
    ))
}

/// Admins; 404 when the organization has no link yet.
#[utoipa::path(get, path = "/api/v2/organizations/{id}/escalation_link", tag = "escalations", params(IdParam),
    responses((status = 200, description = "The current link", body = EscalationLinkResponse), Authenticated, PathId, Refused))]
pub async fn get_link(
    State(state): State<AppState>,
    AnyUser(user): AnyUser,
    Id(id): Id,
) -> Result<Json<EscalationLinkResponse>, ApiError> {
    user.actor().may_administer()?;
    let url = oncall::current_link(&state, OrgId(id))
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Json(EscalationLinkResponse {
        escalation_link: EscalationLink { url },
    }))
}
