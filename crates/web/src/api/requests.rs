//! `/api/v2/requests`: Zendesk's end-user API. A person without an account who tries to file a request is told
//! that accounts are created by their account manager.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use partnerdesk_core::TicketId;
use partnerdesk_core::policy::Actor;
use partnerdesk_core::tickets::TicketStatus;
use partnerdesk_db::tickets::{Ticket, TicketFilter};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use partnerdesk_app::AppError;

use crate::api::doc::{self, Authenticated, CommentList, IdParam, JsonBody, PageParams, PathId, Query, RequestList};
use crate::api::tickets::{comments_page, parse_statuses, tickets_page};
use crate::auth::{Caller, MaybeCaller};
use crate::error::ApiError;
use crate::extract::{Id, ZJson};
use crate::pagination::ListQuery;
use crate::state::AppState;
use partnerdesk_app::tickets::{self as ticketing, CommentInput, RequesterInput, TicketInput};

#[derive(Debug, Serialize, ToSchema)]
pub struct RequestView {
    pub id: i64,
    pub url: String,
    pub subject: String,
    pub description: String,
    #[schema(schema_with = doc::values::ticket_status_value)]
    pub status: String,
    #[schema(schema_with = doc::values::priority_value)]
    pub priority: Option<String>,
    #[serde(rename = "type")]
    pub request_type: Option<String>,
    pub organization_id: Option<i64>,
    pub requester_id: i64,
    pub assignee_id: Option<i64>,
    pub group_id: Option<i64>,
    pub collaborator_ids: Vec<i64>,
    pub email_cc_ids: Vec<i64>,
    #[schema(value_type = Object)]
    pub via: Value,
    pub is_public: bool,
    pub can_be_solved_by_me: bool,
    pub solved: bool,
    pub ticket_form_id: Option<i64>,
    pub due_at: Option<DateTime<Utc>>,
    pub recipient: Option<String>,
    #[schema(value_type = Vec<Object>)]
    pub custom_fields: Vec<Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl RequestView {
    pub fn new(state: &AppState, t: &Ticket) -> RequestView {
        let solved = matches!(t.status, TicketStatus::Solved | TicketStatus::Closed);
        RequestView {
            id: t.id.0,
            url: state.url(&format!("/api/v2/requests/{}.json", t.id)),
            subject: t.subject.clone(),
            description: t.description.clone(),
            status: t.status.as_str().to_owned(),
            priority: t.priority.map(|p| p.as_str().to_owned()),
            request_type: None,
            organization_id: t.organization_id.map(|o| o.0),
            requester_id: t.requester_id.0,
            assignee_id: t.assignee_id.map(|u| u.0),
            group_id: t.group_id.map(|g| g.0),
            collaborator_ids: t.ccs.iter().map(|u| u.0).collect(),
            email_cc_ids: t.ccs.iter().map(|u| u.0).collect(),
            via: json!({"channel": t.via}),
            is_public: true,
            can_be_solved_by_me: !solved,
            solved,
            ticket_form_id: t.ticket_form_id.map(|f| f.0),
            due_at: None,
            recipient: None,
            // The requests API is the end-user's view: the fields shown in the portal.
            custom_fields: t
                .custom_fields
                .iter()
                .filter(|v| v.portal)
                .map(|v| json!({"id": v.field_id, "value": v.shown()}))
                .collect(),
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

/// The body of a create: `{"request": {...}}` whose first comment has text.
#[derive(Debug, Deserialize)]
pub struct NewRequestEnvelope {
    pub request: TicketInput,
}

/// The body of an update: `{"request": {"comment": {...}, "solved": true}}`.
#[derive(Debug, Deserialize)]
pub struct RequestEnvelope {
    pub request: TicketInput,
}

/// What the requests API takes from an update: a public reply (`comment`) and `solved`. The other fields of a ticket
/// are read (a value of the wrong type is refused) and then ignored.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct RequestUpdateInput {
    comment: Option<CommentInput>,
    /// `true` marks the request solved.
    solved: Option<bool>,
    subject: Option<String>,
    description: Option<String>,
    status: Option<String>,
    priority: Option<String>,
    requester_id: Option<i64>,
    requester: Option<RequesterInput>,
    group_id: Option<i64>,
    assignee_id: Option<i64>,
    ticket_form_id: Option<i64>,
    tags: Option<Vec<String>>,
    additional_tags: Option<Vec<String>>,
    remove_tags: Option<Vec<String>>,
}

/// `{"request": {...}}`, and for a create the notice shown to a partner whose request was routed elsewhere than
/// the form they chose.
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestResponse {
    pub request: RequestView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
}

/// The `status` filter of the requests lists.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct RequestFilterParams {
    /// Statuses, comma-separated.
    #[param(schema_with = doc::status_list, style = Form, explode = false)]
    pub status: Option<Vec<String>>,
}

/// Requests are what the caller asked for: staff see the tickets they requested, end-users their scope.
fn request_filter(actor: &Actor) -> TicketFilter {
    let mut f = TicketFilter::scoped(actor.ticket_scope());
    if actor.is_staff() {
        f.requester_id = Some(actor.id);
    }
    f
}

async fn list_with(
    state: AppState,
    caller: Caller,
    raw: Option<String>,
    statuses: Vec<TicketStatus>,
    path: &str,
) -> Result<Json<Value>, ApiError> {
    let actor = caller.actor();
    let q = ListQuery::parse(raw.as_deref())?;
    let mut filter = request_filter(&actor);
    filter.statuses = statuses;
    if let Some(s) = q.get("status") {
        filter.statuses.extend(parse_statuses(s)?);
    }
    tickets_page(&state, &q, &filter, "requests", path, |t| RequestView::new(&state, t)).await
}

/// Staff: the tickets they requested; end-users: their organization's.
#[utoipa::path(get, path = "/api/v2/requests", tag = "requests", params(RequestFilterParams, PageParams),
    responses((status = 200, description = "The caller's requests", body = RequestList), Authenticated, Query))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    list_with(state, caller, raw, Vec::new(), "/api/v2/requests.json").await
}

#[utoipa::path(get, path = "/api/v2/requests/open", tag = "requests", params(RequestFilterParams, PageParams),
    responses((status = 200, description = "Open requests (new, open, pending, hold)", body = RequestList), Authenticated, Query))]
pub async fn list_open(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let open = TicketStatus::ALL
        .iter()
        .copied()
        .filter(|s| s.is_open_for_requester())
        .collect();
    list_with(state, caller, raw, open, "/api/v2/requests/open.json").await
}

#[utoipa::path(get, path = "/api/v2/requests/solved", tag = "requests", params(RequestFilterParams, PageParams),
    responses((status = 200, description = "Solved and closed requests", body = RequestList), Authenticated, Query))]
pub async fn list_solved(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    list_with(
        state,
        caller,
        raw,
        vec![TicketStatus::Solved, TicketStatus::Closed],
        "/api/v2/requests/solved.json",
    )
    .await
}

#[utoipa::path(get, path = "/api/v2/requests/{id}", tag = "requests", params(IdParam),
    responses((status = 200, description = "A request", body = RequestResponse), Authenticated, PathId))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> Result<Json<RequestResponse>, ApiError> {
    let t = ticketing::visible(&state.db, &caller.actor(), TicketId(id)).await?;
    Ok(Json(RequestResponse {
        request: RequestView::new(&state, &t),
        notice: None,
    }))
}

/// Files a request for the caller. Without an account the answer (401) says that accounts are created by the
/// account manager.
#[utoipa::path(post, path = "/api/v2/requests", tag = "requests", request_body = NewRequestEnvelope,
    responses((status = 201, description = "Filed", body = RequestResponse), Authenticated, JsonBody))]
pub async fn create(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    ZJson(body): ZJson<NewRequestEnvelope>,
) -> Result<(StatusCode, Json<RequestResponse>), ApiError> {
    let Some(caller) = caller else {
        return Err(AppError::AccountRequired.into());
    };
    let mut input = body.request;
    // The requests API always files for the caller.
    input.requester_id = None;
    input.requester = None;
    let c = ticketing::create(&state, &caller.user, input, "api").await?;
    Ok((
        StatusCode::CREATED,
        Json(RequestResponse {
            request: RequestView::new(&state, &c.ticket),
            notice: c.notice,
        }),
    ))
}

/// A public reply, `solved: true` and CC changes (`email_ccs`, `collaborator_ids`, `collaborators`); other fields
/// are ignored.
#[utoipa::path(put, path = "/api/v2/requests/{id}", tag = "requests", params(IdParam), request_body = RequestEnvelope,
    responses((status = 200, description = "Replied or solved", body = RequestResponse), Authenticated, PathId, JsonBody))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    ZJson(body): ZJson<RequestEnvelope>,
) -> Result<Json<RequestResponse>, ApiError> {
    let r = body.request;
    // Through the requests API even staff act as a requester: a comment and "solved", nothing else.
    let input = TicketInput {
        comment: r.comment.map(|mut c| {
            c.public = Some(true);
            c
        }),
        solved: r.solved,
        collaborator_ids: r.collaborator_ids,
        email_cc_ids: r.email_cc_ids,
        email_ccs: r.email_ccs,
        collaborators: r.collaborators,
        additional_collaborators: r.additional_collaborators,
        ..TicketInput::default()
    };
    let input = if caller.actor().is_staff() && input.solved == Some(true) {
        TicketInput {
            status: Some("solved".into()),
            ..input
        }
    } else {
        input
    };
    let u = ticketing::update(&state, &caller.user, TicketId(id), input, "api").await?;
    Ok(Json(RequestResponse {
        request: RequestView::new(&state, &u.ticket),
        notice: None,
    }))
}

#[utoipa::path(get, path = "/api/v2/requests/{id}/comments", tag = "requests", params(IdParam, PageParams),
    responses((status = 200, description = "Public comments", body = CommentList), Authenticated, PathId, Query))]
pub async fn comments(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let t = ticketing::visible(&state.db, &caller.actor(), TicketId(id)).await?;
    let q = ListQuery::parse(raw.as_deref())?;
    comments_page(&state, &q, &t, false, &format!("/api/v2/requests/{id}/comments.json")).await
}
