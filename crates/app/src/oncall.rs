//! The on-call schedule as admins keep it: the rotation, overrides, and each organization's escalation link.
//! Who is on call at a moment is `partnerdesk_core::oncall`; this is where it is changed.

use chrono::{DateTime, NaiveDateTime, Utc};
use partnerdesk_core::policy::OrgScope;
use partnerdesk_core::{Invalid, OrgId, UserId};
use partnerdesk_db::escalations::{self, ScheduleRow};
use partnerdesk_db::users::{self, User};
use partnerdesk_db::{Conn, DbError, organizations};
use serde::Deserialize;

use crate::context::App;
use crate::error::AppError;

/// The rotation: `members` take turns of `period_days`, starting at `starts_local` in `time_zone`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ScheduleInput {
    /// Support managers, in turn order.
    pub members: Vec<i64>,
    /// Local time the first turn starts, `YYYY-MM-DDTHH:MM`.
    #[schema(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}$")]
    pub starts_local: String,
    /// An IANA time zone.
    #[schema(schema_with = time_zone)]
    pub time_zone: String,
    #[schema(minimum = 1, maximum = 365)]
    pub period_days: Option<i64>,
    /// A support manager to notify when the chain is exhausted.
    pub fallback_user_id: Option<i64>,
    #[schema(minimum = 1, maximum = 1440)]
    pub ack_timeout_minutes: Option<i64>,
}

/// Every IANA time zone name the server knows.
fn time_zone() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name())))
        .build()
}

/// Puts `user_id` (a support manager) on call from `starts_at` to `ends_at`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct OverrideInput {
    pub user_id: i64,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub reason: Option<String>,
}

/// Checks and saves the schedule (admins). Members and fallback must be support managers.
pub async fn save_schedule(state: &App, user: &User, s: ScheduleInput) -> Result<ScheduleRow, AppError> {
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
    // The people are checked in the transaction that saves them, so nobody stops being a manager in between.
    let mut tx = state.db.begin().await?;
    for id in s.members.iter().chain(s.fallback_user_id.iter()) {
        check_support_manager(&mut tx, &mut errors, "members", *id).await?;
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
    escalations::save_schedule(&mut tx, &row, &user.audit_actor()).await?;
    tx.commit().await?;
    Ok(row)
}

/// Puts `input.user_id` on call from `starts_at` to `ends_at` (admins); returns the override's id.
pub async fn add_override(state: &App, user: &User, o: &OverrideInput) -> Result<i64, AppError> {
    user.actor().may_administer()?;
    let mut errors = Invalid::default();
    if o.ends_at <= o.starts_at {
        errors.push("ends_at", "InvalidValue", "ends_at must be after starts_at");
    }
    let mut tx = state.db.begin().await?;
    check_support_manager(&mut tx, &mut errors, "user_id", o.user_id).await?;
    errors.into_result()?;
    let id = escalations::add_override(
        &mut tx,
        UserId(o.user_id),
        o.starts_at,
        o.ends_at,
        o.reason.as_deref().unwrap_or("").trim(),
        &user.audit_actor(),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Adds an error on `field` unless user `id` is an active support manager, who may take escalations.
async fn check_support_manager(conn: &mut Conn, errors: &mut Invalid, field: &str, id: i64) -> Result<(), AppError> {
    match users::get(conn, UserId(id)).await {
        Ok(u) if u.may_take_escalations() => Ok(()),
        Ok(_) | Err(DbError::NotFound) => {
            errors.push(field, "InvalidValue", format!("user {id} is not a support manager"));
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// Makes a new escalation link for an organization (the old one stops working); returns its URL.
pub async fn rotate_link(state: &App, user: &User, org: OrgId) -> Result<String, AppError> {
    user.actor().may_administer()?;
    organizations::get(&mut state.db.conn(), org, OrgScope::All).await?;
    let token = partnerdesk_core::credentials::new_token()?;
    let sealed = state.sealer.seal(&token).map_err(AppError::internal)?;
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
pub async fn current_link(state: &App, org: OrgId) -> Result<Option<String>, AppError> {
    match escalations::link_of(&mut state.db.conn(), org).await? {
        Some(sealed) => Ok(Some(state.url(&format!(
            "/escalate/{}",
            state.sealer.open(&sealed).map_err(AppError::internal)?
        )))),
        None => Ok(None),
    }
}
