//! `/api/v2/users/{id}/notifications` (extension): what a member of staff is e-mailed about, and the groups they
//! follow. Each person reads and changes their own; admins anyone's.

use axum::Json;
use axum::extract::State;
use partnerdesk_app::notice_choices::{self, ChoicesInput};
use partnerdesk_db::notice_choices::NoticeChoices;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::doc::{Authenticated, IdParam, JsonBody, PathId, Refused};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{Id, ZJson};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationsView {
    /// E-mailed when someone else assigns them a ticket.
    pub ticket_assigned: bool,
    /// E-mailed when the requester writes on a ticket assigned to them.
    pub requester_replied: bool,
    /// E-mailed about each new ticket in a group they follow.
    pub new_in_followed_group: bool,
    pub followed_group_ids: Vec<i64>,
}

/// `{"notifications": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationsResponse {
    pub notifications: NotificationsView,
}

/// What may be changed; a field left out stays as it is. `followed_group_ids` replaces the list.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationsInput {
    pub ticket_assigned: Option<bool>,
    pub requester_replied: Option<bool>,
    pub new_in_followed_group: Option<bool>,
    pub followed_group_ids: Option<Vec<i64>>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NotificationsEnvelope {
    pub notifications: NotificationsInput,
}

fn view(c: NoticeChoices) -> Json<NotificationsResponse> {
    Json(NotificationsResponse {
        notifications: NotificationsView {
            ticket_assigned: c.ticket_assigned,
            requester_replied: c.requester_replied,
            new_in_followed_group: c.new_in_followed_group,
            followed_group_ids: c.followed_group_ids,
        },
    })
}

/// A member of staff's notice choices (their own, or anyone's for an admin).
#[utoipa::path(get, path = "/api/v2/users/{id}/notifications", tag = "users", params(IdParam),
    responses((status = 200, description = "The choices", body = NotificationsResponse), Authenticated, PathId, Refused))]
pub async fn show_notifications(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> Result<Json<NotificationsResponse>, ApiError> {
    Ok(view(notice_choices::show(&state, &caller.actor(), id).await?))
}

/// Changes a member of staff's notice choices.
#[utoipa::path(put, path = "/api/v2/users/{id}/notifications", tag = "users", params(IdParam),
    request_body = NotificationsEnvelope,
    responses((status = 200, description = "The choices now", body = NotificationsResponse), Authenticated, PathId, JsonBody, Refused))]
pub async fn update_notifications(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    ZJson(body): ZJson<NotificationsEnvelope>,
) -> Result<Json<NotificationsResponse>, ApiError> {
    let n = body.notifications;
    let input = ChoicesInput {
        ticket_assigned: n.ticket_assigned,
        requester_replied: n.requester_replied,
        new_in_followed_group: n.new_in_followed_group,
        followed_group_ids: n.followed_group_ids,
    };
    let choices = notice_choices::update(&state, &caller.actor(), &caller.audit(), id, input).await?;
    Ok(view(choices))
}
