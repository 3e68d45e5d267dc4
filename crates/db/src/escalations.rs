//! Escalations, the partners' escalation links, and the on-call schedule they are routed by.

use chrono::{DateTime, NaiveDateTime, Utc};
use partnerdesk_core::escalations::EscalationStatus;
use partnerdesk_core::oncall::{Override, Rotation, Schedule};
use partnerdesk_core::{OrgId, TicketId, UserId};
use serde::Serialize;

use crate::audit::{self, AuditActor, Change};
use crate::conn::{Conn, Row};
use crate::error::DbError;
use crate::{Page, Window, args, now};

// ---- escalation links -------------------------------------------------------------------------------------------

/// Replaces an organization's link (the old one stops working at once).
pub async fn set_link(
    conn: &mut Conn,
    org: OrgId,
    digest: &str,
    sealed: &str,
    actor: &AuditActor,
) -> Result<(), DbError> {
    conn.execute("DELETE FROM escalation_links WHERE organization_id = ?", &args![org.0])
        .await?;
    conn.execute(
        "INSERT INTO escalation_links (organization_id, digest, token_sealed, created_at) VALUES (?, ?, ?, ?)",
        &args![org.0, digest, sealed, now()],
    )
    .await?;
    let change = Change {
        action: "escalation.link_rotated",
        entity_type: "organization",
        entity_id: org.0,
        organization_id: Some(org.0),
        before: None::<&()>,
        after: None::<&()>,
    };
    audit::record(conn, actor, change).await?;
    Ok(())
}

pub async fn org_by_link(conn: &mut Conn, digest: &str) -> Result<OrgId, DbError> {
    Ok(OrgId(
        conn.fetch_one(
            "SELECT organization_id FROM escalation_links WHERE digest = ?",
            &args![digest],
        )
        .await?
        .i64("organization_id")?,
    ))
}

/// The sealed token of an organization's link, if it has one.
pub async fn link_of(conn: &mut Conn, org: OrgId) -> Result<Option<String>, DbError> {
    conn.fetch_optional(
        "SELECT token_sealed FROM escalation_links WHERE organization_id = ?",
        &args![org.0],
    )
    .await?
    .map(|r| r.text("token_sealed"))
    .transpose()
}

// ---- on-call schedule -------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScheduleRow {
    pub members: Vec<UserId>,
    pub starts_local: String,
    pub time_zone: String,
    pub period_days: i64,
    pub fallback_user_id: Option<UserId>,
    pub ack_timeout_minutes: i64,
}

impl Default for ScheduleRow {
    fn default() -> Self {
        ScheduleRow {
            members: Vec::new(),
            starts_local: "2026-01-05T09:00".into(),
            time_zone: "UTC".into(),
            period_days: 7,
            fallback_user_id: None,
            ack_timeout_minutes: 30,
        }
    }
}

pub async fn schedule_row(conn: &mut Conn) -> Result<ScheduleRow, DbError> {
    let Some(r) = conn
        .fetch_optional("SELECT * FROM oncall_schedule WHERE id = 1", &[])
        .await?
    else {
        return Ok(ScheduleRow::default());
    };
    Ok(ScheduleRow {
        members: serde_json::from_str::<Vec<i64>>(&r.text("members")?)
            .map_err(|e| DbError::Corrupt(e.to_string()))?
            .into_iter()
            .map(UserId)
            .collect(),
        starts_local: r.text("starts_local")?,
        time_zone: r.text("time_zone")?,
        period_days: r.i64("period_days")?,
        fallback_user_id: r.opt_i64("fallback_user_id")?.map(UserId),
        ack_timeout_minutes: r.i64("ack_timeout_minutes")?,
    })
}

pub async fn save_schedule(conn: &mut Conn, s: &ScheduleRow, actor: &AuditActor) -> Result<(), DbError> {
    let before = schedule_row(conn).await?;
    let members =
        serde_json::to_string(&s.members.iter().map(|u| u.0).collect::<Vec<_>>()).unwrap_or_else(|_| "[]".into());
    conn.execute("DELETE FROM oncall_schedule WHERE id = 1", &[]).await?;
    conn.execute(
        "INSERT INTO oncall_schedule (id, members, starts_local, time_zone, period_days, fallback_user_id, ack_timeout_minutes, updated_at) \
         VALUES (1, ?, ?, ?, ?, ?, ?, ?)",
        &args![members, s.starts_local.as_str(), s.time_zone.as_str(), s.period_days, s.fallback_user_id.map(|u| u.0), s.ack_timeout_minutes, now()],
    )
    .await?;
    let change = Change {
        action: "oncall.schedule",
        entity_type: "oncall",
        entity_id: 1,
        organization_id: None,
        before: Some(&before),
        after: Some(s),
    };
    audit::record(conn, actor, change).await?;
    Ok(())
}

pub async fn add_override(
    conn: &mut Conn,
    user: UserId,
    starts: DateTime<Utc>,
    ends: DateTime<Utc>,
    reason: &str,
    actor: &AuditActor,
) -> Result<i64, DbError> {
    let id = conn
        .insert(
            "INSERT INTO oncall_overrides (user_id, starts_at, ends_at, reason, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
            &args![user.0, starts, ends, reason, now()],
        )
        .await?;
    let after = serde_json::json!({"user_id": user, "starts_at": starts, "ends_at": ends, "reason": reason});
    let change = Change {
        action: "oncall.override",
        entity_type: "oncall",
        entity_id: id,
        organization_id: None,
        before: None::<&()>,
        after: Some(&after),
    };
    audit::record(conn, actor, change).await?;
    Ok(id)
}

/// The schedule in force (with the overrides that have not ended by `at`).
pub async fn schedule(conn: &mut Conn, at: DateTime<Utc>) -> Result<(Schedule, ScheduleRow), DbError> {
    let row = schedule_row(conn).await?;
    let overrides = conn
        .fetch_all(
            "SELECT * FROM oncall_overrides WHERE ends_at > ? ORDER BY id",
            &args![at],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(Override {
                user: UserId(r.i64("user_id")?),
                starts: r.time("starts_at")?,
                ends: r.time("ends_at")?,
                seq: r.i64("id")?,
            })
        })
        .collect::<Result<Vec<_>, DbError>>()?;
    let rotation = match (
        NaiveDateTime::parse_from_str(&row.starts_local, "%Y-%m-%dT%H:%M"),
        row.time_zone.parse::<chrono_tz::Tz>(),
    ) {
        (Ok(starts), Ok(tz)) => Some(Rotation {
            members: row.members.clone(),
            starts,
            time_zone: tz,
            period_days: row.period_days.clamp(1, 365) as u32,
        }),
        _ => None,
    };
    Ok((
        Schedule {
            rotation,
            overrides,
            fallback: row.fallback_user_id,
        },
        row,
    ))
}

// ---- escalations ------------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Escalation {
    pub id: i64,
    pub ticket_id: TicketId,
    pub organization_id: OrgId,
    pub contact_user_id: UserId,
    pub impact: String,
    pub needed: String,
    pub needed_by: Option<DateTime<Utc>>,
    pub via: String,
    pub status: EscalationStatus,
    pub chain: Vec<UserId>,
    pub level: i64,
    pub notified_user_id: Option<UserId>,
    pub ack_deadline: Option<DateTime<Utc>>,
    pub acknowledged_by_id: Option<UserId>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn from_row(r: &Row) -> Result<Escalation, DbError> {
    Ok(Escalation {
        id: r.i64("id")?,
        ticket_id: TicketId(r.i64("ticket_id")?),
        organization_id: OrgId(r.i64("organization_id")?),
        contact_user_id: UserId(r.i64("contact_user_id")?),
        impact: r.text("impact")?,
        needed: r.text("needed")?,
        needed_by: r.opt_time("needed_by")?,
        via: r.text("via")?,
        status: EscalationStatus::parse(&r.text("status")?)
            .ok_or_else(|| DbError::Corrupt("escalation status".into()))?,
        chain: serde_json::from_str::<Vec<i64>>(&r.text("chain")?)
            .map_err(|e| DbError::Corrupt(e.to_string()))?
            .into_iter()
            .map(UserId)
            .collect(),
        level: r.i64("level")?,
        notified_user_id: r.opt_i64("notified_user_id")?.map(UserId),
        ack_deadline: r.opt_time("ack_deadline")?,
        acknowledged_by_id: r.opt_i64("acknowledged_by_id")?.map(UserId),
        acknowledged_at: r.opt_time("acknowledged_at")?,
        resolved_at: r.opt_time("resolved_at")?,
        created_at: r.time("created_at")?,
        updated_at: r.time("updated_at")?,
    })
}

pub struct NewEscalation<'a> {
    pub ticket_id: TicketId,
    pub organization_id: OrgId,
    pub contact_user_id: UserId,
    pub impact: &'a str,
    pub needed: &'a str,
    pub needed_by: Option<DateTime<Utc>>,
    pub via: &'a str,
    pub chain: &'a [UserId],
    pub ack_deadline: Option<DateTime<Utc>>,
}

pub async fn create(conn: &mut Conn, e: &NewEscalation<'_>, actor: &AuditActor) -> Result<Escalation, DbError> {
    let t = now();
    let chain = serde_json::to_string(&e.chain.iter().map(|u| u.0).collect::<Vec<_>>()).unwrap_or_else(|_| "[]".into());
    let id = conn
        .insert(
            "INSERT INTO escalations (ticket_id, organization_id, contact_user_id, impact, needed, needed_by, via, status, chain, level, \
             notified_user_id, ack_deadline, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'open', ?, 0, ?, ?, ?, ?) RETURNING id",
            &args![
                e.ticket_id.0,
                e.organization_id.0,
                e.contact_user_id.0,
                e.impact,
                e.needed,
                e.needed_by,
                e.via,
                chain,
                e.chain.first().map(|u| u.0),
                e.ack_deadline,
                t,
                t
            ],
        )
        .await?;
    let created = get(conn, id).await?;
    let change = Change {
        action: "escalation.create",
        entity_type: "escalation",
        entity_id: id,
        organization_id: Some(e.organization_id.0),
        before: None::<&()>,
        after: Some(&created),
    };
    audit::record(conn, actor, change).await?;
    Ok(created)
}

pub async fn get(conn: &mut Conn, id: i64) -> Result<Escalation, DbError> {
    from_row(
        &conn
            .fetch_one("SELECT * FROM escalations WHERE id = ?", &args![id])
            .await?,
    )
}

pub async fn for_ticket(conn: &mut Conn, ticket: TicketId) -> Result<Vec<Escalation>, DbError> {
    conn.fetch_all(
        "SELECT * FROM escalations WHERE ticket_id = ? ORDER BY id",
        &args![ticket.0],
    )
    .await?
    .iter()
    .map(from_row)
    .collect()
}

/// Escalations with `status` (any when `None`), newest first.
pub async fn list(
    conn: &mut Conn,
    status: Option<EscalationStatus>,
    window: Window,
) -> Result<Page<Escalation>, DbError> {
    let mut a = Vec::new();
    let filter = match status {
        Some(s) => {
            a.push(crate::Arg::Text(s.as_str().to_owned()));
            " AND status = ?"
        }
        None => "",
    };
    let sql = format!(
        "SELECT * FROM escalations WHERE 1 = 1{filter}{}",
        window.sql("id", &mut a)
    );
    Page::from_rows(conn.fetch_all(&sql, &a).await?, &window, from_row)
}

/// Changes the state of an escalation if it is still `e.status` (so two managers cannot both take it).
pub async fn transition(
    conn: &mut Conn,
    e: &Escalation,
    to: EscalationStatus,
    by: UserId,
    actor: &AuditActor,
) -> Result<Option<Escalation>, DbError> {
    let t = now();
    let sql = match to {
        EscalationStatus::Acknowledged => {
            "UPDATE escalations SET status = 'acknowledged', acknowledged_by_id = ?, acknowledged_at = ?, ack_deadline = NULL, updated_at = ? WHERE id = ? AND status = ?"
        }
        EscalationStatus::Resolved => {
            "UPDATE escalations SET status = 'resolved', acknowledged_by_id = COALESCE(acknowledged_by_id, ?), resolved_at = ?, ack_deadline = NULL, updated_at = ? WHERE id = ? AND status = ?"
        }
        // Nothing goes back to open: `EscalationStatus::transition` refuses it before this is called.
        EscalationStatus::Open => return Ok(None),
    };
    if conn.execute(sql, &args![by.0, t, t, e.id, e.status.as_str()]).await? == 0 {
        return Ok(None);
    }
    let after = get(conn, e.id).await?;
    let change = Change {
        action: &format!("escalation.{}", to.as_str()),
        entity_type: "escalation",
        entity_id: e.id,
        organization_id: Some(e.organization_id.0),
        before: Some(e),
        after: Some(&after),
    };
    audit::record(conn, actor, change).await?;
    Ok(Some(after))
}

/// Moves an unacknowledged escalation to the next person of its chain (if it is still at `e.level`).
pub async fn advance(
    conn: &mut Conn,
    e: &Escalation,
    deadline: Option<DateTime<Utc>>,
    actor: &AuditActor,
) -> Result<Option<Escalation>, DbError> {
    let next = partnerdesk_core::escalations::next_in_chain(&e.chain, e.level);
    let n = conn
        .execute(
            // Past the end of the chain the last person notified stays recorded (everyone is told; see the app).
            "UPDATE escalations SET level = level + 1, notified_user_id = COALESCE(?, notified_user_id), ack_deadline = ?, \
             updated_at = ? WHERE id = ? AND level = ? AND status = 'open'",
            &args![next.map(|u| u.0), if next.is_some() { deadline } else { None }, now(), e.id, e.level],
        )
        .await?;
    if n == 0 {
        return Ok(None);
    }
    let after = get(conn, e.id).await?;
    let change = Change {
        action: "escalation.timeout",
        entity_type: "escalation",
        entity_id: e.id,
        organization_id: Some(e.organization_id.0),
        before: Some(e),
        after: Some(&after),
    };
    audit::record(conn, actor, change).await?;
    Ok(Some(after))
}

/// Open escalations whose acknowledgement is overdue at `at`.
pub async fn overdue(conn: &mut Conn, at: DateTime<Utc>) -> Result<Vec<Escalation>, DbError> {
    conn.fetch_all("SELECT * FROM escalations WHERE status = 'open' AND ack_deadline IS NOT NULL AND ack_deadline <= ? ORDER BY id LIMIT 100", &args![at])
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// How many escalations are in each state (for `/metrics`).
pub async fn count_by_status(conn: &mut Conn) -> Result<Vec<(String, i64)>, DbError> {
    conn.fetch_all("SELECT status, COUNT(*) AS n FROM escalations GROUP BY status", &[])
        .await?
        .iter()
        .map(|r| Ok((r.text("status")?, r.i64("n")?)))
        .collect()
}
