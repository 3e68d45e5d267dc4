//! The agent workspace: queues by group (the partner queue first), unassigned, mine; and the ticket page with the
//! organization's notes as a banner at the top, internal notes set apart, the routing explanation and the audit
//! trail.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use partnerdesk_core::policy::{OrgScope, TicketScope};
use partnerdesk_core::tickets::{Audience, Priority, TicketStatus};
use partnerdesk_core::{FormId, GroupId, OrgId, TicketId, UserId};
use partnerdesk_db::audit::{self, AuditEntry};
use partnerdesk_db::groups::{self, Group};
use partnerdesk_db::organizations::{self, Organization};
use partnerdesk_db::tickets::{self, Ticket, TicketFilter};
use partnerdesk_db::users::{self, User};
use partnerdesk_db::{Conn, Window, forms, ticket_fields};
use serde::Deserialize;
use serde_json::Value;

use partnerdesk_app::AppError;

use crate::pages::field_inputs::{self, FieldInputView};
use crate::pages::multipart;
use crate::pages::views::{self, Choice, CommentRow, TicketRow};
use crate::pages::{Layout, PageError, render};
use crate::session::SignedIn;
use crate::state::AppState;
use partnerdesk_app::tickets::{self as ticketing, CommentInput, TicketInput};

const PER_PAGE: i64 = 50;

fn staff_only(s: &SignedIn) -> Result<(), PageError> {
    if s.user.role.is_staff() {
        Ok(())
    } else {
        Err(PageError::forbidden("The agent workspace is for support staff."))
    }
}

pub struct QueueLink {
    pub href: String,
    pub label: String,
    pub current: bool,
}

pub struct QueueRow {
    pub t: TicketRow,
    pub org: String,
}

#[derive(Template)]
#[template(path = "agent_queue.html")]
struct QueuePage {
    layout: Layout,
    heading: String,
    queues: Vec<QueueLink>,
    rows: Vec<QueueRow>,
    view: String,
    statuses: Vec<Choice>,
    priorities: Vec<Choice>,
    page: i64,
    has_more: bool,
    prev_href: String,
    next_href: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct QueueQuery {
    view: Option<String>,
    status: Option<String>,
    priority: Option<String>,
    page: Option<i64>,
}

const UNSOLVED: [TicketStatus; 4] = [
    TicketStatus::New,
    TicketStatus::Open,
    TicketStatus::Pending,
    TicketStatus::Hold,
];

/// All groups, the partner queue first: groups that partner forms route to are where alliance tickets land.
async fn queue_groups(conn: &mut Conn) -> Result<Vec<Group>, PageError> {
    let partner_groups: Vec<GroupId> = forms::list(conn)
        .await?
        .iter()
        .filter(|f| f.audience == Audience::Partners)
        .filter_map(|f| f.group_id)
        .collect();
    let mut all_groups = groups::list(conn, Window::first(200)).await?.items;
    all_groups.sort_by_key(|g| (!partner_groups.contains(&g.id), g.name.to_lowercase()));
    Ok(all_groups)
}

/// What the query asks for, checked: the filter to list with, and the values the page links back with.
struct QueueSelection {
    filter: TicketFilter,
    heading: String,
    view: String,
    status: String,
    priority: String,
    page: i64,
}

fn bad_filter(message: String) -> PageError {
    PageError::new(axum::http::StatusCode::BAD_REQUEST, "Bad filter", message)
}

/// Narrows `filter` to the view (a group id, `unassigned`, `mine` or `all`) and returns the page's heading.
fn apply_view(filter: &mut TicketFilter, view: &str, s: &SignedIn, all_groups: &[Group]) -> Result<String, PageError> {
    Ok(match view {
        "unassigned" => {
            filter.unassigned = true;
            "Unassigned".to_owned()
        }
        "mine" => {
            filter.assignee_id = Some(s.user.id);
            "Assigned to me".to_owned()
        }
        "all" => "All tickets".to_owned(),
        id => {
            let gid = id
                .parse::<i64>()
                .map(GroupId)
                .map_err(|_| PageError::from(AppError::NotFound))?;
            let g = all_groups
                .iter()
                .find(|g| g.id == gid)
                .ok_or(PageError::from(AppError::NotFound))?;
            filter.group_id = Some(gid);
            g.name.clone()
        }
    })
}

/// Reads the query; without a view, the first group's queue (the partner queue) opens.
fn queue_selection(q: &QueueQuery, s: &SignedIn, all_groups: &[Group]) -> Result<QueueSelection, PageError> {
    let default_view = all_groups
        .first()
        .map(|g| g.id.to_string())
        .unwrap_or_else(|| "all".into());
    let view = q.view.clone().filter(|v| !v.is_empty()).unwrap_or(default_view);
    let mut filter = TicketFilter::scoped(TicketScope::All);
    let heading = apply_view(&mut filter, &view, s, all_groups)?;
    let status = q.status.clone().unwrap_or_else(|| "unsolved".into());
    filter.statuses = match status.as_str() {
        "unsolved" => UNSOLVED.to_vec(),
        "any" => Vec::new(),
        other => vec![TicketStatus::parse(other).ok_or_else(|| bad_filter(format!("unknown status '{other}'")))?],
    };
    let priority = q.priority.clone().unwrap_or_else(|| "any".into());
    filter.priority = match priority.as_str() {
        "any" => None,
        other => Some(Priority::parse(other).ok_or_else(|| bad_filter(format!("unknown priority '{other}'")))?),
    };
    Ok(QueueSelection {
        filter,
        heading,
        view,
        status,
        priority,
        page: q.page.unwrap_or(1).max(1),
    })
}

/// The listed tickets with their requesters' and organizations' names.
pub(crate) async fn queue_rows(conn: &mut Conn, list: &[Ticket]) -> Result<Vec<QueueRow>, PageError> {
    let people = views::names(conn, list.iter().map(|t| t.requester_id)).await?;
    let mut org_ids: Vec<OrgId> = list.iter().filter_map(|t| t.organization_id).collect();
    org_ids.sort();
    org_ids.dedup();
    let orgs: HashMap<OrgId, String> = organizations::by_ids(conn, &org_ids)
        .await?
        .into_iter()
        .map(|o| (o.id, o.name))
        .collect();
    Ok(views::ticket_rows(list, &people)
        .into_iter()
        .zip(list)
        .map(|(row, t)| QueueRow {
            t: row,
            org: t
                .organization_id
                .and_then(|o| orgs.get(&o).cloned())
                .unwrap_or_default(),
        })
        .collect())
}

/// The queue tabs: each group, then unassigned, mine and all.
fn queue_links(all_groups: &[Group], view: &str) -> Vec<QueueLink> {
    let mut queues: Vec<QueueLink> = all_groups
        .iter()
        .map(|g| (g.id.to_string(), g.name.clone()))
        .chain([
            ("unassigned".to_owned(), "Unassigned".to_owned()),
            ("mine".to_owned(), "Mine".to_owned()),
            ("all".to_owned(), "All tickets".to_owned()),
        ])
        .map(|(v, label)| QueueLink {
            href: format!("/agent?view={v}"),
            current: v == view,
            label,
        })
        .collect();
    queues.dedup_by(|a, b| a.href == b.href);
    queues
}

fn status_filter_choices(current: &str) -> Vec<Choice> {
    Choice::list(
        [
            ("unsolved".to_owned(), "Unsolved".to_owned()),
            ("any".to_owned(), "Any".to_owned()),
        ]
        .into_iter()
        .chain(
            TicketStatus::ALL
                .iter()
                .map(|s| (s.as_str().to_owned(), s.as_str().to_owned())),
        ),
        current,
    )
}

fn priority_filter_choices(current: &str) -> Vec<Choice> {
    Choice::list(
        [("any".to_owned(), "Any".to_owned())].into_iter().chain(
            Priority::ALL
                .iter()
                .map(|p| (p.as_str().to_owned(), p.as_str().to_owned())),
        ),
        current,
    )
}

pub async fn queue(
    State(state): State<AppState>,
    s: SignedIn,
    Query(q): Query<QueueQuery>,
) -> Result<Response, PageError> {
    staff_only(&s)?;
    let mut conn = state.db.conn();
    let all_groups = queue_groups(&mut conn).await?;
    let sel = queue_selection(&q, &s, &all_groups)?;
    let page = sel.page;
    let list = tickets::list(&mut conn, &sel.filter, Window::newest(page, PER_PAGE)).await?;
    let rows = queue_rows(&mut conn, &list.items).await?;
    let (view, status, priority) = (&sel.view, &sel.status, &sel.priority);
    let link = |p: i64| format!("/agent?view={view}&status={status}&priority={priority}&page={p}");
    let body = QueuePage {
        layout: Layout::new(sel.heading.clone(), Some(&s)),
        heading: sel.heading.clone(),
        queues: queue_links(&all_groups, view),
        rows,
        view: view.clone(),
        statuses: status_filter_choices(status),
        priorities: priority_filter_choices(priority),
        page,
        has_more: list.has_more,
        prev_href: link(page - 1),
        next_href: link(page + 1),
    };
    Ok(render(&body)?.into_response())
}

/// The organization notes banner.
pub struct NotesBanner {
    pub org_id: i64,
    pub org_name: String,
    pub notes: String,
    pub details: String,
    pub changed: String,
    /// The organization's fields that have a value: (title, value as shown).
    pub fields: Vec<(String, String)>,
}

pub struct AuditRow {
    pub at: String,
    pub who: String,
    pub action: String,
    pub changes: String,
}

#[derive(Template)]
#[template(path = "agent_ticket.html")]
struct TicketPage {
    layout: Layout,
    id: i64,
    subject: String,
    status: &'static str,
    banner: Option<NotesBanner>,
    requester: String,
    requester_email: String,
    /// The requester's user fields that have a value (title, text).
    requester_fields: Vec<(String, String)>,
    created: String,
    form: String,
    routing_rule: String,
    misrouted: bool,
    tags: String,
    /// The people copied, as addresses (the form edits them).
    ccs: String,
    comments: Vec<CommentRow>,
    statuses: Vec<Choice>,
    priorities: Vec<Choice>,
    groups: Vec<Choice>,
    assignees: Vec<Choice>,
    audit: Vec<AuditRow>,
    public_url: String,
    bucket_link: Option<String>,
    escalation: Option<String>,
    /// The custom fields of the ticket's form, with their values.
    fields: Vec<FieldInputView>,
    /// Only the fields the agent changed are written.
    track_changes: bool,
}

/// "field: old → new" for the ticket fields an audit row changed, and whether it added a comment.
fn changes(before: Option<&Value>, after: Option<&Value>) -> String {
    let Some(after) = after else { return String::new() };
    let Some(ticket) = after.get("ticket") else {
        return String::new();
    };
    let old_ticket = before.and_then(|b| b.get("ticket"));
    let fields = [
        "subject",
        "status",
        "priority",
        "group_id",
        "assignee_id",
        "requester_id",
        "ticket_form_id",
        "tags",
    ];
    let mut out = Vec::new();
    for f in fields {
        let new = ticket.get(f).cloned().unwrap_or(Value::Null);
        match old_ticket.map(|b| b.get(f).cloned().unwrap_or(Value::Null)) {
            Some(old) if old != new => out.push(format!("{f}: {old} → {new}")),
            None if !new.is_null() => out.push(format!("{f}: {new}")),
            _ => {}
        }
    }
    if let Some(c) = after.get("comment").filter(|c| !c.is_null()) {
        let kind = if c.get("public").and_then(Value::as_bool) == Some(false) {
            "internal note"
        } else {
            "public comment"
        };
        out.push(format!("{kind} added"));
    }
    out.join("; ")
}

/// The banner of the ticket's organization: its notes and who changed them last.
fn notes_banner(org: Organization, people: &HashMap<UserId, User>) -> NotesBanner {
    NotesBanner {
        org_id: org.id.0,
        org_name: org.name.clone(),
        notes: org.notes.clone(),
        details: org.details.clone(),
        fields: Vec::new(),
        changed: match org.notes_updated_at {
            Some(at) => format!(
                "Last changed by {} on {}",
                views::name_of(people, org.notes_updated_by_id),
                views::when(&at)
            ),
            None => "No notes yet".into(),
        },
    }
}

async fn form_name(conn: &mut Conn, form: Option<FormId>) -> String {
    match form {
        Some(f) => forms::get(conn, f)
            .await
            .map(|f| f.display_name)
            .unwrap_or_else(|_| format!("form {f}")),
        None => "none".into(),
    }
}

/// A link to the organization's bucket, if it has one connected.
async fn bucket_link(conn: &mut Conn, t: &Ticket) -> Result<Option<String>, PageError> {
    let Some(org) = t.organization_id else { return Ok(None) };
    match partnerdesk_db::buckets::for_org(conn, org).await {
        Ok(_) => Ok(Some(format!("/agent/organizations/{org}/bucket?ticket={}", t.id))),
        Err(partnerdesk_db::DbError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn audit_rows(trail: &[AuditEntry]) -> Vec<AuditRow> {
    trail
        .iter()
        .map(|e| AuditRow {
            at: views::when(&e.created_at),
            who: e.actor_label.clone(),
            action: e.action.clone(),
            changes: changes(e.before.as_ref(), e.after.as_ref()),
        })
        .collect()
}

/// The `<select>`s of the ticket's fields: status, priority, group and assignee, the current value selected.
struct FieldChoices {
    statuses: Vec<Choice>,
    priorities: Vec<Choice>,
    groups: Vec<Choice>,
    assignees: Vec<Choice>,
}

fn field_choices(t: &Ticket, all_groups: &[Group], staff: &[User]) -> FieldChoices {
    let current = |v: Option<i64>| v.map(|x| x.to_string()).unwrap_or_default();
    let none = ("".to_owned(), "—".to_owned());
    FieldChoices {
        statuses: Choice::list(
            TicketStatus::ALL
                .iter()
                .map(|s| (s.as_str().to_owned(), s.as_str().to_owned())),
            t.status.as_str(),
        ),
        priorities: Choice::list(
            std::iter::once(none.clone()).chain(
                Priority::ALL
                    .iter()
                    .map(|p| (p.as_str().to_owned(), p.as_str().to_owned())),
            ),
            t.priority.map(|p| p.as_str()).unwrap_or(""),
        ),
        groups: Choice::list(
            std::iter::once(none.clone()).chain(all_groups.iter().map(|g| (g.id.to_string(), g.name.clone()))),
            &current(t.group_id.map(|g| g.0)),
        ),
        assignees: Choice::list(
            std::iter::once(none).chain(staff.iter().map(|u| (u.id.to_string(), u.name.clone()))),
            &current(t.assignee_id.map(|u| u.0)),
        ),
    }
}

pub async fn show_ticket(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    staff_only(&s)?;
    let t = ticketing::visible(&state.db, &s.user.actor(), TicketId(id)).await?;
    let mut conn = state.db.conn();
    let comments = tickets::comments(&mut conn, t.id, true, Window::first(1000)).await?;
    let mut ids: Vec<_> = comments.items.iter().filter_map(|c| c.author_id).collect();
    ids.push(t.requester_id);
    ids.extend(t.ccs.iter().copied());
    let org = match t.organization_id {
        Some(o) => Some(organizations::get(&mut conn, o, OrgScope::All).await?),
        None => None,
    };
    if let Some(by) = org.as_ref().and_then(|o| o.notes_updated_by_id) {
        ids.push(by);
    }
    let people = views::names(&mut conn, ids).await?;
    let mut banner = org.map(|o| notes_banner(o, &people));
    if let Some(b) = banner.as_mut() {
        b.fields = crate::pages::org_fields::field_texts(&state, b.org_id).await?;
    }
    let form = form_name(&mut conn, t.ticket_form_id).await;
    let fields = ticket_field_inputs(&mut conn, &t).await?;
    let all_groups = groups::list(&mut conn, Window::first(200)).await?.items;
    let staff = users::assignable(&mut conn).await?;
    let trail = audit::for_entity(&mut conn, "ticket", t.id.0, Window::first(500)).await?;
    let files = views::files_of(&mut conn, &comments.items).await?;
    let escalation = crate::pages::portal::escalation_state(&state, t.id).await?;
    let bucket_link = bucket_link(&mut conn, &t).await?;
    let choices = field_choices(&t, &all_groups, &staff);
    let page = TicketPage {
        layout: Layout::new(format!("#{} {}", t.id, t.subject), Some(&s)),
        id: t.id.0,
        subject: t.subject.clone(),
        status: t.status.as_str(),
        banner,
        requester: views::name_of(&people, Some(t.requester_id)),
        requester_email: people.get(&t.requester_id).map(|u| u.email.clone()).unwrap_or_default(),
        requester_fields: crate::pages::org_fields::user_field_texts(&state, t.requester_id.0).await?,
        created: views::when(&t.created_at),
        form,
        routing_rule: t.routing.get("rule").and_then(|r| r.as_str()).unwrap_or("").to_owned(),
        misrouted: t.routing.get("misrouted").and_then(|v| v.as_bool()) == Some(true),
        tags: t.tags.join(" "),
        ccs: views::cc_emails(&t.ccs, &people),
        comments: views::comment_rows(&comments.items, &people, &files),
        public_url: state.settings.public_url.clone(),
        escalation,
        bucket_link,
        statuses: choices.statuses,
        priorities: choices.priorities,
        groups: choices.groups,
        assignees: choices.assignees,
        audit: audit_rows(&trail.items),
        fields,
        track_changes: true,
    };
    Ok(render(&page)?.into_response())
}

/// The custom fields of the ticket's form as the agent's page shows them.
async fn ticket_field_inputs(conn: &mut Conn, t: &Ticket) -> Result<Vec<FieldInputView>, PageError> {
    let form = match t.ticket_form_id {
        Some(f) => forms::get(conn, f).await.ok(),
        None => None,
    };
    let all = ticket_fields::list(conn).await?;
    Ok(field_inputs::for_form(&all, form.as_ref(), &t.custom_fields, false))
}

fn optional_id(field: &str, v: &str) -> Result<Option<i64>, PageError> {
    if v.is_empty() {
        return Ok(None);
    }
    v.parse::<i64>().map(Some).map_err(|_| {
        PageError::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "Please check your input",
            format!("{field} is not a valid choice"),
        )
    })
}

/// Reply (public or internal, with attachments) and change the ticket's fields, in one form.
pub async fn update_ticket(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<i64>,
    form: Multipart,
) -> Result<Response, PageError> {
    staff_only(&s)?;
    let f = multipart::read(&state, &s, form).await?;
    let body = f.get("body").trim().to_owned();
    let t = ticketing::visible(&state.db, &s.user.actor(), TicketId(id)).await?;
    let shown = ticket_field_inputs(&mut state.db.conn(), &t).await?;
    let custom = field_inputs::submitted(&f, &shown);
    let input = TicketInput {
        comment: (!body.is_empty()).then(|| CommentInput {
            body: Some(body),
            public: Some(f.get("visibility") != "internal"),
            uploads: f.upload_token.clone().map(|t| vec![t]),
            ..CommentInput::default()
        }),
        status: (!f.get("status").is_empty()).then(|| f.get("status").to_owned()),
        priority: Some((!f.get("priority").is_empty()).then(|| f.get("priority").to_owned())),
        group_id: Some(optional_id("group", f.get("group_id"))?),
        assignee_id: Some(optional_id("assignee", f.get("assignee_id"))?),
        email_ccs: views::cc_changes(f.get("ccs"), f.get("ccs_before")),
        custom_fields: Some(custom),
        ..TicketInput::default()
    };
    ticketing::update(&state, &s.user, TicketId(id), input, "web").await?;
    Ok(Redirect::to(&format!("/agent/tickets/{id}")).into_response())
}
