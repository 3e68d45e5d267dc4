//! `/api/v2/inbound_mail` and `/api/v2/failing_addresses` (extensions, admins only): what became of each incoming
//! message (refused ones with why, for 30 days), and the addresses whose mail bounces.

use axum::Json;
use axum::extract::{RawQuery, State};
use chrono::{DateTime, Utc};
use partnerdesk_db::inbound::{self, Outcome};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use partnerdesk_app::AppError;

use crate::api::doc::{Authenticated, PageParams, Query, Refused};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::pagination::ListQuery;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct InboundMailView {
    pub id: i64,
    pub message_id: String,
    pub sender: String,
    pub subject: String,
    /// `ticket`, `comment`, `refused` or `ignored`.
    pub outcome: String,
    pub reason: Option<String>,
    /// The start of a refused message's text (kept 30 days).
    pub excerpt: Option<String>,
    pub ticket_id: Option<i64>,
    pub received_at: DateTime<Utc>,
}

/// What became of a message.
#[derive(Debug, ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum OutcomeParam {
    Ticket,
    Comment,
    Refused,
    Ignored,
}

#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct InboundMailParams {
    /// Only messages with this outcome (empty: all).
    #[param(value_type = Option<OutcomeParam>)]
    pub outcome: Option<String>,
}

/// Incoming mail, newest first.
#[utoipa::path(get, path = "/api/v2/inbound_mail", tag = "mail", params(InboundMailParams, PageParams),
    responses((status = 200, description = "A page of incoming messages (`inbound_mail`)", body = Object), Authenticated, Query, Refused))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    caller.actor().may_administer()?;
    let q = ListQuery::parse(raw.as_deref())?;
    let outcome = match q.get("outcome").filter(|o| !o.is_empty()) {
        Some(o) => Some(Outcome::parse(o).ok_or_else(|| {
            AppError::BadRequest(format!("outcome is ticket, comment, refused or ignored, not '{o}'"))
        })?),
        None => None,
    };
    let mut window = q.window();
    window.desc = true;
    let page = inbound::list(&mut state.db.conn(), outcome, window).await?;
    let views: Vec<InboundMailView> = page
        .items
        .into_iter()
        .map(|m| InboundMailView {
            id: m.id,
            message_id: m.message_id,
            sender: m.sender,
            subject: m.subject,
            outcome: m.outcome,
            reason: m.reason,
            excerpt: m.excerpt,
            ticket_id: m.ticket_id,
            received_at: m.received_at,
        })
        .collect();
    let last = views.last().map(|v| v.id);
    Ok(Json(q.envelope(
        "inbound_mail",
        &views,
        last,
        page.has_more,
        None,
        &state.url("/api/v2/inbound_mail.json"),
    )))
}

/// Addresses whose mail bounced (a delivery report said so), newest first, up to 1,000.
#[utoipa::path(get, path = "/api/v2/failing_addresses", tag = "mail",
    responses((status = 200, description = "`{\"failing_addresses\": [{address, reason, failed_at}]}`", body = Object), Authenticated, Refused))]
pub async fn failing(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, ApiError> {
    caller.actor().may_administer()?;
    let rows = inbound::failing(&mut state.db.conn(), 1000).await?;
    let list: Vec<Value> = rows
        .into_iter()
        .map(|(address, reason, at)| json!({"address": address, "reason": reason, "failed_at": at}))
        .collect();
    Ok(Json(json!({ "failing_addresses": list })))
}
