//! The admin's on-call page: the rotation of support managers, the fallback and acknowledge timeout, overrides,
//! and the deliveries (e-mail, webhook) that failed, so a silent pager is noticed; and rotating an
//! organization's escalation link from its admin page.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use partnerdesk_core::{OrgId, UserId};
use partnerdesk_db::{Conn, escalations, outbox, users};
use serde::Deserialize;

use partnerdesk_app::AppError;
use partnerdesk_app::oncall::{self, OverrideInput};

use crate::error::ApiError;
use crate::pages::form::Form;
use crate::pages::views::{self, Choice};
use crate::pages::{Layout, PageError, render};
use crate::session::SignedIn;
use crate::state::AppState;

pub struct OverrideRow {
    pub who: String,
    pub from: String,
    pub to: String,
}

pub struct FailedRow {
    pub id: i64,
    pub kind: String,
    pub status: String,
    pub attempts: i64,
    pub error: String,
}

#[derive(Template)]
#[template(path = "admin_oncall.html")]
struct OnCallPage {
    layout: Layout,
    managers: Vec<Choice>,
    members: String,
    starts_local: String,
    time_zone: String,
    period_days: i64,
    fallback: Vec<Choice>,
    ack_timeout_minutes: i64,
    on_call: String,
    chain: String,
    overrides: Vec<OverrideRow>,
    failed: Vec<FailedRow>,
    notice: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
}

/// Deliveries that were tried and have not gone out (newest first).
async fn failed_rows(conn: &mut Conn) -> Result<Vec<FailedRow>, PageError> {
    Ok(outbox::troubled(conn, 50)
        .await?
        .into_iter()
        .map(|d| FailedRow {
            id: d.id,
            kind: d.kind.to_string(),
            status: d.status,
            attempts: d.attempts,
            error: d.last_error.unwrap_or_default(),
        })
        .collect())
}

pub async fn oncall(
    State(state): State<AppState>,
    s: SignedIn,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    s.user.actor().may_administer().map_err(ApiError::from)?;
    let mut conn = state.db.conn();
    let now = partnerdesk_db::now();
    let (schedule, row) = escalations::schedule(&mut conn, now).await?;
    let staff = users::assignable(&mut conn).await?;
    let managers: Vec<_> = staff.iter().filter(|u| u.is_support_manager).collect();
    let name = |id: UserId| {
        staff
            .iter()
            .find(|u| u.id == id)
            .map(|u| u.name.clone())
            .unwrap_or_else(|| format!("user {id}"))
    };
    let page = OnCallPage {
        layout: Layout::new("On call", Some(&s)),
        managers: Choice::list(
            managers
                .iter()
                .map(|u| (u.id.to_string(), format!("{} <{}>", u.name, u.email))),
            "",
        ),
        members: row.members.iter().map(|m| m.to_string()).collect::<Vec<_>>().join(","),
        starts_local: row.starts_local.clone(),
        time_zone: row.time_zone.clone(),
        period_days: row.period_days,
        fallback: Choice::list(
            std::iter::once((String::new(), "—".to_owned()))
                .chain(managers.iter().map(|u| (u.id.to_string(), u.name.clone()))),
            &row.fallback_user_id.map(|f| f.to_string()).unwrap_or_default(),
        ),
        ack_timeout_minutes: row.ack_timeout_minutes,
        on_call: schedule
            .on_call_at(now)
            .map(|(u, r)| format!("{} ({r:?})", name(u)))
            .unwrap_or_else(|| "nobody".into()),
        chain: schedule
            .chain_at(now)
            .into_iter()
            .map(name)
            .collect::<Vec<_>>()
            .join(" → "),
        overrides: schedule
            .overrides
            .iter()
            .map(|o| OverrideRow {
                who: name(o.user),
                from: views::when(&o.starts),
                to: views::when(&o.ends),
            })
            .collect(),
        failed: failed_rows(&mut conn).await?,
        notice: q.notice,
    };
    Ok(render(&page)?.into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct ScheduleForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    members: String,
    #[serde(default)]
    starts_local: String,
    #[serde(default)]
    time_zone: String,
    #[serde(default)]
    period_days: String,
    #[serde(default)]
    fallback_user_id: String,
    #[serde(default)]
    ack_timeout_minutes: String,
}

pub async fn save_oncall(
    State(state): State<AppState>,
    s: SignedIn,
    Form(f): Form<ScheduleForm>,
) -> Result<Response, PageError> {
    s.check_csrf(&f.csrf)?;
    let members = f
        .members
        .split([',', ' '])
        .filter(|m| !m.trim().is_empty())
        .map(|m| m.trim().parse::<i64>())
        .collect::<Result<Vec<_>, _>>();
    let members = members.map_err(|_| {
        PageError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Please check your input",
            "Members are user ids separated by commas.",
        )
    })?;
    let input = oncall::ScheduleInput {
        members,
        starts_local: f.starts_local.trim().to_owned(),
        time_zone: f.time_zone.trim().to_owned(),
        period_days: f.period_days.trim().parse().ok(),
        fallback_user_id: f.fallback_user_id.trim().parse().ok(),
        ack_timeout_minutes: f.ack_timeout_minutes.trim().parse().ok(),
    };
    oncall::save_schedule(&state, &s.user, input).await?;
    Ok(Redirect::to("/admin/oncall?notice=Schedule%20saved.").into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct LinkForm {
    #[serde(default)]
    csrf: String,
}

/// Rotates an organization's escalation link from its admin page.
pub async fn rotate_link(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<i64>,
    Form(f): Form<LinkForm>,
) -> Result<Response, PageError> {
    s.check_csrf(&f.csrf)?;
    oncall::rotate_link(&state, &s.user, OrgId(id)).await?;
    Ok(Redirect::to(&format!("/admin/organizations/{id}?bucket=link#escalation")).into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct OverrideForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    user_id: String,
    #[serde(default)]
    starts_at: String,
    #[serde(default)]
    ends_at: String,
    #[serde(default)]
    reason: String,
}

/// Adds an override from the on-call page (times in UTC).
pub async fn add_override(
    State(state): State<AppState>,
    s: SignedIn,
    Form(f): Form<OverrideForm>,
) -> Result<Response, PageError> {
    s.check_csrf(&f.csrf)?;
    s.user.actor().may_administer().map_err(ApiError::from)?;
    let parse = |field: &str, v: &str| {
        chrono::NaiveDateTime::parse_from_str(v.trim(), "%Y-%m-%dT%H:%M")
            .map(|t| t.and_utc())
            .map_err(|_| {
                PageError::from(AppError::invalid(
                    field,
                    "InvalidValue",
                    format!("{field} must look like 2026-12-24T09:00 (UTC)"),
                ))
            })
    };
    let (starts, ends) = (parse("starts_at", &f.starts_at)?, parse("ends_at", &f.ends_at)?);
    let user_id = f.user_id.trim().parse::<i64>().map_err(|_| {
        PageError::from(ApiError::from(AppError::invalid(
            "user_id",
            "InvalidValue",
            "choose a support manager",
        )))
    })?;
    let input = OverrideInput {
        user_id,
        starts_at: starts,
        ends_at: ends,
        reason: Some(f.reason),
    };
    oncall::add_override(&state, &s.user, &input)
        .await
        .map_err(ApiError::from)?;
    Ok(Redirect::to("/admin/oncall?notice=Override%20added.").into_response())
}
