//! `/api/v2/tickets`: Zendesk's tickets API. Create and update answer both `ticket` and `audit`, as Zendesk
//! does (clients such as zenpy need both). End-users see their organization's tickets, others are 404.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use partnerdesk_core::policy::Actor;
use partnerdesk_core::tickets::TicketStatus;
use partnerdesk_core::{GroupId, OrgId, TicketId, UserId};
use partnerdesk_db::tickets::{self, Comment, Ticket, TicketFilter};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use partnerdesk_app::AppError;

use crate::api::doc::{
    self, Authenticated, CommentList, IdParam, JsonBody, PageParams, PathId, Query, Refused, TicketList,
};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{Id, ZJson};
use crate::pagination::ListQuery;
use crate::state::AppState;
use partnerdesk_app::tickets::{self as ticketing, TicketInput};

/// A ticket in Zendesk's shape. `routing` (why it landed in its group) is a partnerdesk extension, for staff.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketView {
    pub id: i64,
    pub url: String,
    pub external_id: Option<String>,
    #[schema(value_type = Object)]
    pub via: Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(rename = "type")]
    pub ticket_type: Option<String>,
    pub subject: String,
    pub raw_subject: String,
    pub description: String,
    #[schema(schema_with = doc::values::priority_value)]
    pub priority: Option<String>,
    #[schema(schema_with = doc::values::ticket_status_value)]
    pub status: String,
    pub recipient: Option<String>,
    pub requester_id: i64,
    pub submitter_id: i64,
    pub assignee_id: Option<i64>,
    pub organization_id: Option<i64>,
    pub group_id: Option<i64>,
    pub collaborator_ids: Vec<i64>,
    pub follower_ids: Vec<i64>,
    pub email_cc_ids: Vec<i64>,
    pub problem_id: Option<i64>,
    pub has_incidents: bool,
    pub is_public: bool,
    pub due_at: Option<DateTime<Utc>>,
    pub tags: Vec<String>,
    /// `[{"id", "value"}]`: the custom fields with a value (end-users: those shown in the portal).
    #[schema(value_type = Vec<Object>)]
    pub custom_fields: Vec<Value>,
    /// The same as `custom_fields`.
    #[schema(value_type = Vec<Object>)]
    pub fields: Vec<Value>,
    pub ticket_form_id: Option<i64>,
    pub brand_id: Option<i64>,
    pub allow_channelback: bool,
    pub allow_attachments: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub routing: Option<Value>,
}

impl TicketView {
    pub fn new(state: &AppState, t: &Ticket, actor: &Actor) -> TicketView {
        TicketView {
            id: t.id.0,
            url: state.url(&format!("/api/v2/tickets/{}.json", t.id)),
            external_id: t.external_id.clone(),
            via: json!({"channel": t.via, "source": {"from": {}, "to": {}, "rel": null}}),
            created_at: t.created_at,
            updated_at: t.updated_at,
            ticket_type: None,
            subject: t.subject.clone(),
            raw_subject: t.subject.clone(),
            description: t.description.clone(),
            priority: t.priority.map(|p| p.as_str().to_owned()),
            status: t.status.as_str().to_owned(),
            recipient: None,
            requester_id: t.requester_id.0,
            submitter_id: t.submitter_id.0,
            assignee_id: t.assignee_id.map(|u| u.0),
            organization_id: t.organization_id.map(|o| o.0),
            group_id: t.group_id.map(|g| g.0),
            collaborator_ids: t.ccs.iter().map(|u| u.0).collect(),
            follower_ids: Vec::new(),
            email_cc_ids: t.ccs.iter().map(|u| u.0).collect(),
            problem_id: None,
            has_incidents: false,
            is_public: true,
            due_at: None,
            tags: t.tags.clone(),
            custom_fields: custom_field_values(t, actor),
            fields: custom_field_values(t, actor),
            ticket_form_id: t.ticket_form_id.map(|f| f.0),
            brand_id: None,
            allow_channelback: false,
            allow_attachments: true,
            routing: actor.is_staff().then(|| t.routing.clone()),
        }
    }
}

/// A ticket's custom field values as Zendesk shows them, those the caller may see.
pub fn custom_field_values(t: &Ticket, actor: &Actor) -> Vec<Value> {
    t.custom_fields
        .iter()
        .filter(|v| actor.is_staff() || v.portal)
        .map(|v| json!({"id": v.field_id, "value": v.shown()}))
        .collect()
}

/// A comment in Zendesk's shape. System comments have `author_id` -1, as Zendesk writes them.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommentView {
    pub id: i64,
    #[serde(rename = "type")]
    pub comment_type: &'static str,
    pub author_id: i64,
    pub body: String,
    pub html_body: String,
    pub plain_body: String,
    pub public: bool,
    pub attachments: Vec<crate::api::uploads::AttachmentView>,
    #[schema(value_type = Object)]
    pub via: Value,
    #[schema(value_type = Object)]
    pub metadata: Value,
    pub created_at: DateTime<Utc>,
}

impl CommentView {
    pub fn new(c: &Comment, attachments: Vec<crate::api::uploads::AttachmentView>) -> CommentView {
        let html = partnerdesk_core::text::escape_html(&c.body)
            .split("\n\n")
            .map(|p| format!("<p>{}</p>", p.replace('\n', "<br>")))
            .collect::<String>();
        CommentView {
            id: c.id.0,
            comment_type: "Comment",
            author_id: c.author_id.map(|u| u.0).unwrap_or(-1),
            body: c.body.clone(),
            html_body: format!("<div class=\"zd-comment\">{html}</div>"),
            plain_body: c.body.clone(),
            public: c.public,
            attachments,
            via: json!({"channel": c.via}),
            metadata: json!({"system": {}}),
            created_at: c.created_at,
        }
    }
}

/// Zendesk's audit: the events of one change (`Create` or `Change` per field, `Comment`).
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditView {
    pub id: i64,
    pub ticket_id: i64,
    pub created_at: DateTime<Utc>,
    pub author_id: i64,
    #[schema(value_type = Object)]
    pub metadata: Value,
    #[schema(value_type = Object)]
    pub via: Value,
    #[schema(value_type = Vec<Object>)]
    pub events: Vec<Value>,
}

/// `{"ticket": {...}, "audit": {...}}`, and for a create the notice shown to a partner whose ticket was routed
/// elsewhere than the form they chose.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketChanged {
    pub ticket: TicketView,
    pub audit: AuditView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
}

/// `{"ticket": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketResponse {
    pub ticket: TicketView,
}

fn audit_json(
    audit_id: i64,
    before: Option<&Ticket>,
    after: &Ticket,
    comment: Option<&Comment>,
    author: UserId,
) -> AuditView {
    // The events are worked out as for a recorded audit (`/tickets/{id}/audits`): from the records as the audit log
    // keeps them (serialising these plain structs cannot fail).
    fn recorded<T: Serialize>(v: &T) -> Value {
        serde_json::to_value(v).unwrap_or(Value::Null)
    }
    let events = crate::api::audits::events(
        audit_id,
        before.map(recorded).as_ref(),
        &recorded(after),
        comment.map(recorded).as_ref(),
    );
    AuditView {
        id: audit_id,
        ticket_id: after.id.0,
        created_at: after.updated_at,
        author_id: author.0,
        metadata: json!({"system": {}}),
        via: json!({"channel": "api"}),
        events,
    }
}

/// The body of a create: `{"ticket": {...}}` whose first comment has text.
#[derive(Debug, Deserialize)]
pub struct NewTicketEnvelope {
    pub ticket: TicketInput,
}

/// The body of an update: `{"ticket": {...}}` with the fields to change.
#[derive(Debug, Deserialize)]
pub struct TicketEnvelope {
    pub ticket: TicketInput,
}

/// The filters of the tickets list (the requests lists take `status` too).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct TicketFilterParams {
    /// Statuses, comma-separated.
    #[param(schema_with = doc::status_list, style = Form, explode = false)]
    pub status: Option<Vec<String>>,
    pub group_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub requester_id: Option<i64>,
    pub organization_id: Option<i64>,
    /// The ticket with this external id (Zendesk's lookup); within what the caller may see, so an end-user finds
    /// only their organization's.
    #[param(schema_with = crate::api::lookups::external_id_text)]
    pub external_id: Option<String>,
}

/// `status` (comma-separated), `group_id`, `assignee_id`, `requester_id`, `organization_id`, `external_id` filters.
pub fn parse_filter(q: &ListQuery, actor: &Actor) -> Result<TicketFilter, ApiError> {
    let mut f = TicketFilter::scoped(actor.ticket_scope());
    if let Some(s) = q.get("status") {
        f.statuses = parse_statuses(s)?;
    }
    let int = |name: &str| -> Result<Option<i64>, AppError> {
        q.get(name)
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| AppError::BadRequest(format!("{name} must be an integer")))
            })
            .transpose()
    };
    f.group_id = int("group_id")?.map(GroupId);
    f.assignee_id = int("assignee_id")?.map(UserId);
    f.requester_id = int("requester_id")?.map(UserId);
    f.organization_id = int("organization_id")?.map(OrgId);
    // Checked as the other lookups by external id check it (trimmed, as stored; blank or too long is a 400); the
    // scope above still applies, so another organization's ticket is simply not in the list.
    f.external_id = q
        .get("external_id")
        .map(crate::api::lookups::external_id)
        .transpose()?
        .map(str::to_owned);
    Ok(f)
}

/// The `status` filter: one or more statuses, comma-separated.
pub fn parse_statuses(raw: &str) -> Result<Vec<TicketStatus>, ApiError> {
    raw.split(',')
        .map(|part| {
            TicketStatus::parse(part).ok_or_else(|| {
                AppError::BadRequest(format!(
                    "status must be one or more of {}, comma-separated, not '{raw}'",
                    TicketStatus::choices()
                ))
                .into()
            })
        })
        .collect()
}

/// A page of tickets as a list answer under `key` (shared with the requests API).
pub async fn tickets_page<V: Serialize>(
    state: &AppState,
    q: &ListQuery,
    filter: &TicketFilter,
    key: &str,
    path: &str,
    view: impl Fn(&Ticket) -> V,
) -> Result<Json<Value>, ApiError> {
    let mut conn = state.db.conn();
    let page = tickets::list(&mut conn, filter, q.window()).await?;
    let count = if q.is_offset() {
        Some(tickets::count(&mut conn, filter).await?)
    } else {
        None
    };
    let views: Vec<V> = page.items.iter().map(view).collect();
    let last = page.items.last().map(|t| t.id.0);
    Ok(Json(q.envelope(
        key,
        &views,
        last,
        page.has_more,
        count,
        &state.url(path),
    )))
}

/// Staff see every ticket; end-users their organization's.
#[utoipa::path(get, path = "/api/v2/tickets", tag = "tickets", params(TicketFilterParams, crate::api::ticket_lists::SortParams, PageParams),
    responses((status = 200, description = "A page of tickets", body = TicketList), Authenticated, Query))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let actor = caller.actor();
    let q = ListQuery::parse(raw.as_deref())?;
    let mut filter = parse_filter(&q, &actor)?;
    filter.order = crate::api::ticket_lists::parse_sort(&q)?;
    tickets_page(&state, &q, &filter, "tickets", "/api/v2/tickets.json", |t| {
        TicketView::new(&state, t, &actor)
    })
    .await
}

#[utoipa::path(get, path = "/api/v2/tickets/{id}", tag = "tickets", params(IdParam),
    responses((status = 200, description = "A ticket", body = TicketResponse), Authenticated, PathId))]
pub async fn show(State(state): State<AppState>, caller: Caller, Id(id): Id) -> Result<Json<TicketResponse>, ApiError> {
    let actor = caller.actor();
    let t = ticketing::visible(&state.db, &actor, TicketId(id)).await?;
    Ok(Json(TicketResponse {
        ticket: TicketView::new(&state, &t, &actor),
    }))
}

/// Staff may set every field; end-users file for themselves, routed by the forms.
#[utoipa::path(post, path = "/api/v2/tickets", tag = "tickets", request_body = NewTicketEnvelope,
    responses((status = 201, description = "`ticket` and `audit`", body = TicketChanged), Authenticated, JsonBody))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ZJson(body): ZJson<NewTicketEnvelope>,
) -> Result<(StatusCode, Json<TicketChanged>), ApiError> {
    let actor = caller.actor();
    let c = ticketing::create(&state, &caller.user, body.ticket, "api").await?;
    let audit = audit_json(c.audit_id, None, &c.ticket, Some(&c.comment), caller.user.id);
    Ok((
        StatusCode::CREATED,
        Json(TicketChanged {
            ticket: TicketView::new(&state, &c.ticket, &actor),
            audit,
            notice: c.notice,
        }),
    ))
}

/// Staff may change every field; end-users may comment publicly and mark the ticket solved.
#[utoipa::path(put, path = "/api/v2/tickets/{id}", tag = "tickets", params(IdParam), request_body = TicketEnvelope,
    responses((status = 200, description = "`ticket` and `audit`", body = TicketChanged), Authenticated, PathId, JsonBody, Refused))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    ZJson(body): ZJson<TicketEnvelope>,
) -> Result<Json<TicketChanged>, ApiError> {
    let actor = caller.actor();
    let u = ticketing::update(&state, &caller.user, TicketId(id), body.ticket, "api").await?;
    let audit = audit_json(
        u.audit_id,
        Some(&u.before),
        &u.ticket,
        u.comment.as_ref(),
        caller.user.id,
    );
    Ok(Json(TicketChanged {
        ticket: TicketView::new(&state, &u.ticket, &actor),
        audit,
        notice: None,
    }))
}

#[utoipa::path(get, path = "/api/v2/tickets/{id}/comments", tag = "tickets", params(IdParam, PageParams),
    responses((status = 200, description = "The conversation; internal notes for staff only", body = CommentList), Authenticated, PathId, Query))]
pub async fn comments(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let actor = caller.actor();
    let t = ticketing::visible(&state.db, &actor, TicketId(id)).await?;
    let q = ListQuery::parse(raw.as_deref())?;
    comments_page(
        &state,
        &q,
        &t,
        actor.sees_internal_comments(),
        &format!("/api/v2/tickets/{id}/comments.json"),
    )
    .await
}

/// A page of a ticket's comments as a list answer (shared with the requests API).
pub async fn comments_page(
    state: &AppState,
    q: &ListQuery,
    t: &Ticket,
    internal: bool,
    path: &str,
) -> Result<Json<Value>, ApiError> {
    let mut conn = state.db.conn();
    let page = tickets::comments(&mut conn, t.id, internal, q.window()).await?;
    let count = if q.is_offset() {
        Some(tickets::count_comments(&mut conn, t.id, internal).await?)
    } else {
        None
    };
    let ids: Vec<_> = page.items.iter().map(|c| c.id).collect();
    let files = partnerdesk_db::files::attachments_of_comments(&mut conn, &ids).await?;
    let views: Vec<CommentView> = page
        .items
        .iter()
        .map(|c| {
            let mine = files
                .iter()
                .filter(|a| a.comment_id == Some(c.id))
                .map(|a| crate::api::uploads::AttachmentView::new(state, a))
                .collect();
            CommentView::new(c, mine)
        })
        .collect();
    let last = page.items.last().map(|c| c.id.0);
    Ok(Json(q.envelope(
        "comments",
        &views,
        last,
        page.has_more,
        count,
        &state.url(path),
    )))
}
