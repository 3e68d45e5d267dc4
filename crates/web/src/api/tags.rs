//! Zendesk's tags API: a ticket's tags (`/tickets/{id}/tags`) and the tags in use (`/tags`).
//!
//! Zendesk's verbs (and zenpy's `set_tags`, `add_tags`, `delete_tags`): POST sets the tags, PUT adds to them,
//! DELETE takes those named in the body away; each answers the ticket's tags after the change. Changes are ticket
//! updates (see `partnerdesk_app::tickets::change_tags`): staff only, audited, normalised.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use partnerdesk_core::TicketId;
use partnerdesk_db::tag_counts;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use partnerdesk_app::AppError;
use partnerdesk_app::tickets::{self as ticketing, TagChange};

use crate::api::doc::{Authenticated, IdParam, JsonBody, PageParams, PathId, Query, Refused, TagList};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{Id, ZJson};
use crate::pagination::{ListQuery, PageRequest};
use crate::state::AppState;

/// `{"tags": [...]}`: a ticket's tags, and the body of a change.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TicketTags {
    pub tags: Vec<String>,
}

/// A tag in use and how many tickets carry it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TagCountView {
    pub name: String,
    pub count: i64,
}

/// A ticket's tags; end-users for the tickets they can see.
#[utoipa::path(get, path = "/api/v2/tickets/{id}/tags", tag = "tags", params(IdParam),
    responses((status = 200, description = "The ticket's tags", body = TicketTags), Authenticated, PathId))]
pub async fn show_ticket_tags(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> Result<Json<TicketTags>, ApiError> {
    let t = ticketing::visible(&state.db, &caller.actor(), TicketId(id)).await?;
    Ok(Json(TicketTags { tags: t.tags }))
}

async fn change(state: &AppState, caller: &Caller, id: i64, change: TagChange) -> Result<Json<TicketTags>, ApiError> {
    let u = ticketing::change_tags(state, &caller.user, TicketId(id), change).await?;
    Ok(Json(TicketTags { tags: u.ticket.tags }))
}

/// Replaces the ticket's tags (staff).
#[utoipa::path(post, path = "/api/v2/tickets/{id}/tags", tag = "tags", params(IdParam), request_body = TicketTags,
    responses((status = 201, description = "The ticket's tags after", body = TicketTags), Authenticated, PathId, JsonBody, Refused))]
pub async fn set_ticket_tags(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    ZJson(body): ZJson<TicketTags>,
) -> Result<(StatusCode, Json<TicketTags>), ApiError> {
    let tags = change(&state, &caller, id, TagChange::Set(body.tags)).await?;
    Ok((StatusCode::CREATED, tags))
}

/// Adds tags to the ticket's (staff).
#[utoipa::path(put, path = "/api/v2/tickets/{id}/tags", tag = "tags", params(IdParam), request_body = TicketTags,
    responses((status = 200, description = "The ticket's tags after", body = TicketTags), Authenticated, PathId, JsonBody, Refused))]
pub async fn add_ticket_tags(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    ZJson(body): ZJson<TicketTags>,
) -> Result<Json<TicketTags>, ApiError> {
    change(&state, &caller, id, TagChange::Add(body.tags)).await
}

/// Removes the tags named in the body (staff).
#[utoipa::path(delete, path = "/api/v2/tickets/{id}/tags", tag = "tags", params(IdParam), request_body = TicketTags,
    responses((status = 200, description = "The ticket's tags after", body = TicketTags), Authenticated, PathId, JsonBody, Refused))]
pub async fn remove_ticket_tags(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    ZJson(body): ZJson<TicketTags>,
) -> Result<Json<TicketTags>, ApiError> {
    change(&state, &caller, id, TagChange::Remove(body.tags)).await
}

/// The tags on tickets, most used first (staff). Offset or cursor pagination; the cursor is a position in this
/// order, so a page read while tickets change may repeat or skip a tag, as with Zendesk's own counts.
#[utoipa::path(get, path = "/api/v2/tags", tag = "tags", params(PageParams),
    responses((status = 200, description = "Tags in use with their counts", body = TagList), Authenticated, Query, Refused))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    if !caller.actor().is_staff() {
        return Err(AppError::Forbidden("Only agents and admins may list the tags in use.".into()).into());
    }
    let q = ListQuery::parse(raw.as_deref())?;
    let mut window = q.window();
    // The cursor of this list is the position after the last tag of the previous page, not an id.
    if let PageRequest::Cursor {
        after: Some(position), ..
    } = q.page
    {
        if position < 0 {
            return Err(AppError::BadRequest("page[after] is not a cursor of this list".into()).into());
        }
        window.after_id = None;
        window.offset = position;
    }
    let mut conn = state.db.conn();
    let page = tag_counts::most_used(&mut conn, window).await?;
    let count = if q.is_offset() {
        Some(tag_counts::distinct(&mut conn).await?)
    } else {
        None
    };
    let views: Vec<TagCountView> = page
        .items
        .into_iter()
        .map(|t| TagCountView {
            name: t.name,
            count: t.count,
        })
        .collect();
    let position = window.offset + views.len() as i64;
    let last = (!views.is_empty()).then_some(position);
    Ok(Json(q.envelope(
        "tags",
        &views,
        last,
        page.has_more,
        count,
        &state.url("/api/v2/tags.json"),
    )))
}
