//! The audit log through Zendesk's two APIs: a ticket's audits (`/tickets/{id}/audits`, each change of the ticket
//! with its `Create`, `Change` and `Comment` events) and the account's audit log (`/audit_logs`, admins).
//!
//! Both are read from `audit_log`, where every change is recorded with the record before and after; the events are
//! worked out here from those two records, the same way the answer to a ticket update is.

use axum::Json;
use axum::extract::{RawQuery, State};
use partnerdesk_core::TicketId;
use partnerdesk_db::audit::AuditEntry;
use partnerdesk_db::audit_logs;
use serde_json::{Value, json};

use partnerdesk_app::tickets as ticketing;

use crate::api::doc::{AuditList, Authenticated, IdParam, PageParams, PathId, Query};
use crate::api::tickets::AuditView;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::Id;
use crate::pagination::ListQuery;
use crate::state::AppState;

/// The ticket fields whose changes an audit shows, as a ticket is recorded (serialised `Ticket`).
const FIELDS: [&str; 9] = [
    "subject",
    "status",
    "priority",
    "requester_id",
    "organization_id",
    "group_id",
    "assignee_id",
    "ticket_form_id",
    "tags",
];

/// The events of one change of a ticket: its comment (`Comment`), then a `Create` per field for a new ticket, or a
/// `Change` per field that differs from `before`. `ticket` values are recorded tickets, `comment` a recorded comment.
/// Field events are numbered `audit_id * 100 + n` (they have no rows of their own); a comment event has the
/// comment's id.
pub fn events(audit_id: i64, before: Option<&Value>, after: &Value, comment: Option<&Value>) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(c) = comment {
        let author = c.get("author_id").and_then(Value::as_i64).unwrap_or(-1);
        out.push(
            json!({"id": c["id"], "type": "Comment", "author_id": author, "body": c["body"], "public": c["public"]}),
        );
    }
    let mut next_id = audit_id.saturating_mul(100);
    for name in FIELDS {
        let value = after.get(name).cloned().unwrap_or(Value::Null);
        let event = match before {
            None => json!({"type": "Create", "field_name": name, "value": value}),
            Some(b) => {
                let previous = b.get(name).cloned().unwrap_or(Value::Null);
                if previous == value {
                    continue;
                }
                json!({"type": "Change", "field_name": name, "value": value, "previous_value": previous})
            }
        };
        next_id += 1;
        let mut event = event;
        event["id"] = json!(next_id);
        out.push(event);
    }
    out
}

/// A ticket's audit from its audit-log row (`{ticket, comment}` before and after). With `internal` false, the event
/// of an internal note is left out; `None` when nothing of the audit is left to show.
fn ticket_audit(e: &AuditEntry, ticket_id: i64, internal: bool) -> Option<AuditView> {
    let after = e.after.as_ref()?;
    let ticket_after = after.get("ticket")?;
    let ticket_before = e.before.as_ref().and_then(|b| b.get("ticket"));
    let comment = after.get("comment").filter(|c| !c.is_null());
    let shown = comment.filter(|c| internal || c.get("public").and_then(Value::as_bool) == Some(true));
    let events = events(e.id, ticket_before, ticket_after, shown);
    if events.is_empty() && comment.is_some() {
        // Only an internal note: the caller may not know it exists.
        return None;
    }
    let channel = comment
        .and_then(|c| c.get("via"))
        .or_else(|| ticket_before.is_none().then(|| ticket_after.get("via")).flatten())
        .cloned()
        .unwrap_or_else(|| json!("api"));
    Some(AuditView {
        id: e.id,
        ticket_id,
        created_at: e.created_at,
        author_id: e.actor_id.unwrap_or(-1),
        metadata: json!({"system": {}}),
        via: json!({"channel": channel, "source": {"from": {}, "to": {}, "rel": null}}),
        events,
    })
}

/// The ticket's creation and changes, oldest first. End-users: for tickets they can see, without internal notes (an
/// audit that was only an internal note is left out of the page; `count` counts every audit of the ticket).
#[utoipa::path(get, path = "/api/v2/tickets/{id}/audits", tag = "tickets", params(IdParam, PageParams),
    responses((status = 200, description = "The ticket's audits", body = AuditList), Authenticated, PathId, Query))]
pub async fn ticket_audits(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let actor = caller.actor();
    let ticket = ticketing::visible(&state.db, &actor, TicketId(id)).await?;
    let q = ListQuery::parse(raw.as_deref())?;
    let mut conn = state.db.conn();
    let page = audit_logs::ticket_trail(&mut conn, ticket.id, q.window()).await?;
    let count = if q.is_offset() {
        Some(audit_logs::count_ticket_trail(&mut conn, ticket.id).await?)
    } else {
        None
    };
    let internal = actor.sees_internal_comments();
    let views: Vec<AuditView> = page
        .items
        .iter()
        .filter_map(|e| ticket_audit(e, id, internal))
        .collect();
    // The cursor follows the rows read, shown or not.
    let last = page.items.last().map(|e| e.id);
    Ok(Json(q.envelope(
        "audits",
        &views,
        last,
        page.has_more,
        count,
        &state.url(&format!("/api/v2/tickets/{id}/audits.json")),
    )))
}
