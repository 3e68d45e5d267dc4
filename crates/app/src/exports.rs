//! Incremental exports (Zendesk's `/api/v2/incremental/...`): every ticket, user and organization that changed
//! since a point, in change order, and the tickets' change events from the audit log. Staff only: an export hands
//! out records of every organization. Each page ends at the store's horizon (`partnerdesk_db::exports`), so a change
//! committed while an export runs shows up in this export or in the next one, never in neither.

use chrono::{DateTime, Utc};
use partnerdesk_core::policy::Actor;
use partnerdesk_db::exports::{self, Position, Slice};
use partnerdesk_db::organizations::Organization;
use partnerdesk_db::tickets::Ticket;
use partnerdesk_db::users::User;
use partnerdesk_db::{Db, audit::AuditEntry};
use serde_json::Value;

use crate::error::AppError;

/// The most records one page holds (Zendesk's limit), and the default.
pub const MAX_PER_PAGE: i64 = 1000;

/// Where an export that starts at `start_time` (Unix seconds) stands: refused when negative or in the future.
pub fn since(start_time: i64) -> Result<Position, AppError> {
    let at = DateTime::<Utc>::from_timestamp(start_time, 0)
        .filter(|_| start_time >= 0)
        .ok_or_else(|| AppError::BadRequest(format!("start_time must be a Unix time in seconds, not {start_time}")))?;
    if at > Utc::now() {
        return Err(AppError::BadRequest(format!(
            "start_time {start_time} is in the future; it must be a Unix time in seconds in the past"
        )));
    }
    Ok(Position::since(at))
}

/// A page size: 1 to `MAX_PER_PAGE`.
pub fn per_page(n: i64) -> Result<i64, AppError> {
    if (1..=MAX_PER_PAGE).contains(&n) {
        Ok(n)
    } else {
        Err(AppError::BadRequest(format!(
            "per_page must be between 1 and {MAX_PER_PAGE}, not {n}"
        )))
    }
}

pub async fn tickets(db: &Db, actor: &Actor, from: Position, limit: i64) -> Result<Slice<Ticket>, AppError> {
    actor.may_export()?;
    let mut conn = db.conn();
    let until = exports::horizon(&mut conn).await?;
    Ok(exports::tickets(&mut conn, from, until, per_page(limit)?).await?)
}

pub async fn users(db: &Db, actor: &Actor, from: Position, limit: i64) -> Result<Slice<User>, AppError> {
    actor.may_export()?;
    let mut conn = db.conn();
    let until = exports::horizon(&mut conn).await?;
    Ok(exports::users(&mut conn, from, until, per_page(limit)?).await?)
}

pub async fn organizations(
    db: &Db,
    actor: &Actor,
    from: Position,
    limit: i64,
) -> Result<Slice<Organization>, AppError> {
    actor.may_export()?;
    let mut conn = db.conn();
    let until = exports::horizon(&mut conn).await?;
    Ok(exports::organizations(&mut conn, from, until, per_page(limit)?).await?)
}

/// One ticket creation or update, as Zendesk's ticket event export tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct TicketEvent {
    /// The audit row's id (also the `audit` id the create or update answered).
    pub id: i64,
    pub ticket_id: i64,
    pub created_at: DateTime<Utc>,
    /// `None` for changes made by the system or at the command line.
    pub updater_id: Option<i64>,
    /// The channel of the change's comment; of the ticket for a creation; `None` when an update carried no comment.
    pub via: Option<String>,
    pub created: bool,
    pub changes: Vec<FieldChange>,
    /// Whether the change added a comment, and whether it was public.
    pub comment_public: Option<bool>,
}

/// One field a change set or changed (`previous` is null for a creation).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    pub field: &'static str,
    pub value: Value,
    pub previous: Value,
}

/// The ticket fields an event reports: (its name in the export, the key in the audit record's ticket).
const FIELDS: &[(&str, &str)] = &[
    ("subject", "subject"),
    ("status", "status"),
    ("priority", "priority"),
    ("requester_id", "requester_id"),
    ("organization_id", "organization_id"),
    ("group_id", "group_id"),
    ("assignee_id", "assignee_id"),
    ("ticket_form_id", "ticket_form_id"),
    ("tags", "tags"),
    ("email_cc_ids", "ccs"),
];

impl TicketEvent {
    /// The event an audit row of `ticket.create` or `ticket.update` records (its `before` and `after` hold the
    /// ticket and the comment, see `partnerdesk_db::tickets`).
    fn from_audit(e: &AuditEntry) -> TicketEvent {
        let null = Value::Null;
        let part = |v: &Option<Value>, key: &str| v.as_ref().and_then(|v| v.get(key)).cloned().unwrap_or(Value::Null);
        let (before, after) = (part(&e.before, "ticket"), part(&e.after, "ticket"));
        let comment = part(&e.after, "comment");
        let created = e.action == "ticket.create";
        let changes = FIELDS
            .iter()
            .map(|(name, key)| FieldChange {
                field: name,
                value: after.get(key).unwrap_or(&null).clone(),
                previous: before.get(key).unwrap_or(&null).clone(),
            })
            .filter(|c| created || c.value != c.previous)
            .collect();
        let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
        TicketEvent {
            id: e.id,
            ticket_id: e.entity_id.unwrap_or_default(),
            created_at: e.created_at,
            updater_id: e.actor_id,
            via: text(&comment, "via").or_else(|| created.then(|| text(&after, "via")).flatten()),
            created,
            changes,
            comment_public: comment.get("public").and_then(Value::as_bool),
        }
    }
}

/// Ticket creations and updates recorded after `from`, oldest first.
pub async fn ticket_events(db: &Db, actor: &Actor, from: Position, limit: i64) -> Result<Slice<TicketEvent>, AppError> {
    actor.may_export()?;
    let mut conn = db.conn();
    let until = exports::horizon(&mut conn).await?;
    let page = exports::ticket_changes(&mut conn, from, until, per_page(limit)?).await?;
    Ok(Slice {
        items: page.items.iter().map(TicketEvent::from_audit).collect(),
        next: page.next,
        caught_up: page.caught_up,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(action: &str, before: Option<Value>, after: Value) -> AuditEntry {
        AuditEntry {
            id: 9,
            actor_id: Some(3),
            actor_label: "a@x".into(),
            action: action.into(),
            entity_type: "ticket".into(),
            entity_id: Some(4),
            organization_id: None,
            before,
            after: Some(after),
            created_at: Utc::now(),
        }
    }

    #[test]
    fn an_update_reports_what_changed() {
        let before = json!({"ticket": {"status": "new", "subject": "S", "tags": [], "ccs": []}, "comment": null});
        let after = json!({"ticket": {"status": "open", "subject": "S", "tags": ["x"], "ccs": []},
            "comment": {"via": "api", "public": false}});
        let ev = TicketEvent::from_audit(&entry("ticket.update", Some(before), after));
        assert!(!ev.created);
        let fields: Vec<_> = ev
            .changes
            .iter()
            .map(|c| (c.field, c.value.clone(), c.previous.clone()))
            .collect();
        assert_eq!(
            fields,
            vec![
                ("status", json!("open"), json!("new")),
                ("tags", json!(["x"]), json!([]))
            ]
        );
        assert_eq!((ev.via.as_deref(), ev.comment_public), (Some("api"), Some(false)));
    }

    #[test]
    fn a_creation_reports_every_field() {
        let after = json!({"ticket": {"status": "new", "subject": "S", "via": "web"}, "comment": {"public": true}});
        let ev = TicketEvent::from_audit(&entry("ticket.create", None, after));
        assert!(ev.created);
        assert_eq!(ev.changes.len(), FIELDS.len());
        assert_eq!(ev.via.as_deref(), Some("web"));
    }

    #[test]
    fn start_time_must_be_past() {
        assert!(since(0).is_ok());
        assert!(since(-1).is_err());
        assert!(since(Utc::now().timestamp() + 3600).is_err());
        assert!(since(i64::MAX).is_err());
        assert!(per_page(0).is_err() && per_page(1001).is_err() && per_page(1000).is_ok());
    }
}
