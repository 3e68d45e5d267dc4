//! `GET /api/v2/audit_logs`: the account's audit log in Zendesk's shape, for admins. Newest first; filters
//! `filter[actor_id]`, `filter[source_type]` and `filter[created_at][]` (twice: start and end, ISO 8601); offset or
//! cursor pagination as the other lists.

use axum::Json;
use axum::extract::{RawQuery, State};
use chrono::{DateTime, Utc};
use partnerdesk_db::audit::AuditEntry;
use partnerdesk_db::audit_logs::{self, AuditFilter};
use serde::Serialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use partnerdesk_app::AppError;

use crate::api::doc::{AuditLogList, Authenticated, IdParam, PageParams, PathId, Query, Refused};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::Id;
use crate::pagination::ListQuery;
use crate::state::AppState;

/// The kinds of record the log knows (`entity_type` of its rows).
pub const SOURCE_TYPES: [&str; 7] = [
    "escalation",
    "group",
    "oncall",
    "organization",
    "ticket",
    "ticket_form",
    "user",
];

/// The filters of the audit log.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct AuditLogParams {
    /// Only changes by this user.
    #[param(rename = "filter[actor_id]", minimum = 1)]
    pub actor_id: Option<i64>,
    /// Only changes of this kind of record.
    #[param(rename = "filter[source_type]", schema_with = source_type_schema)]
    pub source_type: Option<String>,
    /// Given twice: the start and the end of a time span (ISO 8601, both included).
    #[param(rename = "filter[created_at][]", style = Form, explode = true, schema_with = created_at_schema)]
    pub created_at: Option<Vec<String>>,
}

fn source_type_schema() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(SOURCE_TYPES))
        .description(Some("Only changes of this kind of record."))
        .build()
}

fn created_at_schema() -> utoipa::openapi::schema::Array {
    let time = utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::DateTime,
        )))
        .build();
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(time)
        .min_items(Some(2))
        .max_items(Some(2))
        .description(Some(
            "Given twice: the start and the end of a time span (ISO 8601, both included; a start after the end is \
             an empty span).",
        ))
        .build()
}

/// Reads the filters; a bad value is a 400 naming its parameter.
fn audit_filter(q: &ListQuery) -> Result<AuditFilter, ApiError> {
    let bad = |message: String| -> ApiError { AppError::BadRequest(message).into() };
    let mut f = AuditFilter::default();
    if let Some(v) = q.get("filter[actor_id]") {
        let id = v.parse::<i64>().ok().filter(|n| *n > 0);
        f.actor_id = Some(id.ok_or_else(|| bad(format!("filter[actor_id] must be a user id, not '{v}'")))?);
    }
    if let Some(v) = q.get("filter[source_type]") {
        if !SOURCE_TYPES.contains(&v) {
            return Err(bad(format!(
                "filter[source_type] must be one of {}, not '{v}'",
                SOURCE_TYPES.join(", ")
            )));
        }
        f.entity_type = Some(v.to_owned());
    }
    let span: Vec<&str> = q
        .params
        .iter()
        .filter(|(k, _)| k == "filter[created_at][]" || k == "filter[created_at]")
        .map(|(_, v)| v.as_str())
        .collect();
    if !span.is_empty() {
        let [start, end] = span[..] else {
            return Err(bad(
                "filter[created_at][] must be given twice: the start and the end of the span".into(),
            ));
        };
        let time = |v: &str| {
            DateTime::parse_from_rfc3339(v)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| bad(format!("filter[created_at][] must be an ISO 8601 time, not '{v}'")))
        };
        // A start after the end is an empty span, not an error.
        (f.from, f.to) = (Some(time(start)?), Some(time(end)?));
    }
    Ok(f)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditLogResponse {
    pub audit_log: AuditLogView,
}

/// One entry of the audit log (admins only).
#[utoipa::path(get, path = "/api/v2/audit_logs/{id}", tag = "audit_logs", params(IdParam),
    responses((status = 200, description = "An audit log entry", body = AuditLogResponse), Authenticated, PathId, Refused))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> Result<Json<AuditLogResponse>, ApiError> {
    caller.actor().may_administer()?;
    let e = audit_logs::get(&mut state.db.conn(), id).await?;
    Ok(Json(AuditLogResponse {
        audit_log: AuditLogView::new(&state, &e),
    }))
}

/// Admins only.
#[utoipa::path(get, path = "/api/v2/audit_logs", tag = "audit_logs", params(AuditLogParams, PageParams),
    responses((status = 200, description = "The audit log, newest first", body = AuditLogList), Authenticated, Query, Refused))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    caller.actor().may_administer()?;
    let q = ListQuery::parse(raw.as_deref())?;
    let filter = audit_filter(&q)?;
    let mut conn = state.db.conn();
    let page = audit_logs::list(&mut conn, &filter, q.window()).await?;
    let count = if q.is_offset() {
        Some(audit_logs::count(&mut conn, &filter).await?)
    } else {
        None
    };
    let views: Vec<AuditLogView> = page.items.iter().map(|e| AuditLogView::new(&state, e)).collect();
    let last = page.items.last().map(|e| e.id);
    Ok(Json(q.envelope(
        "audit_logs",
        &views,
        last,
        page.has_more,
        count,
        &state.url("/api/v2/audit_logs.json"),
    )))
}

/// An entry of the account's audit log, in Zendesk's shape. `action` is Zendesk's verb (`create`, `update`,
/// `destroy`, ...); `action_label` is partnerdesk's own name of the action (`ticket.update`, `bucket.copy`).
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditLogView {
    pub id: i64,
    pub url: String,
    /// The user who made the change; -1 for the operator at the command line or the system.
    pub actor_id: i64,
    pub actor_name: String,
    pub source_id: Option<i64>,
    pub source_type: String,
    pub source_label: String,
    pub action: String,
    pub action_label: String,
    pub change_description: String,
    pub ip_address: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl AuditLogView {
    pub fn new(state: &AppState, e: &AuditEntry) -> AuditLogView {
        let verb = e.action.rsplit('.').next().unwrap_or(&e.action);
        let action = match verb {
            "delete" | "disconnect" => "destroy",
            other => other,
        };
        AuditLogView {
            id: e.id,
            url: state.url(&format!("/api/v2/audit_logs/{}.json", e.id)),
            actor_id: e.actor_id.unwrap_or(-1),
            actor_name: e.actor_label.clone(),
            source_id: e.entity_id,
            source_type: e.entity_type.clone(),
            source_label: match e.entity_id {
                Some(id) => format!("{} {id}", e.entity_type),
                None => e.entity_type.clone(),
            },
            action: action.to_owned(),
            action_label: e.action.clone(),
            change_description: describe(e),
            ip_address: None,
            created_at: e.created_at,
        }
    }
}

/// The longest value a change description quotes; longer ones are named as changed.
const MAX_QUOTED: usize = 80;

/// Zendesk's `change_description`: which fields changed, from what to what (short values only), for an update;
/// what was recorded, for an action without a `before`.
fn describe(e: &AuditEntry) -> String {
    // A ticket is recorded with its comment: its fields are those of `ticket`.
    let unwrap = |v: &Value| v.get("ticket").cloned().unwrap_or_else(|| v.clone());
    let (before, after) = (e.before.as_ref().map(unwrap), e.after.as_ref().map(unwrap));
    let quoted = |v: &Value| {
        let s = v.to_string();
        (s.chars().count() <= MAX_QUOTED).then_some(s)
    };
    match (before, after) {
        (Some(Value::Object(b)), Some(Value::Object(a))) => {
            let changes: Vec<String> = a
                .iter()
                .filter(|(k, v)| k.as_str() != "updated_at" && b.get(k.as_str()) != Some(*v))
                .map(|(k, v)| match (b.get(k.as_str()).and_then(quoted), quoted(v)) {
                    (Some(old), Some(new)) => format!("{k}: {old} → {new}"),
                    _ => format!("{k} changed"),
                })
                .collect();
            if changes.is_empty() {
                "No field changed".to_owned()
            } else {
                changes.join("; ")
            }
        }
        _ => match e.entity_id {
            Some(id) => format!("{} of {} {id}", e.action, e.entity_type),
            None => e.action.clone(),
        },
    }
}
