//! Tickets and their comments. Reads take a `TicketScope`, so a ticket outside the caller's scope is simply
//! not found; writes record the ticket before and after, with the comment, in the audit log.

use chrono::{DateTime, Utc};
use partnerdesk_core::policy::TicketScope;
use partnerdesk_core::tickets::{Priority, TicketStatus};
use partnerdesk_core::{CommentId, FormId, GroupId, OrgId, TicketId, UserId, tags};
use serde::Serialize;

use crate::audit::{self, AuditActor, Change};
use crate::conn::{Arg, Conn, Row};
use crate::error::DbError;
use crate::search;
use crate::ticket_fields::{self, FieldValue};
use crate::{Page, Window, args, now, parse_enum};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ticket {
    pub id: TicketId,
    pub subject: String,
    pub description: String,
    pub status: TicketStatus,
    pub priority: Option<Priority>,
    pub requester_id: UserId,
    pub submitter_id: UserId,
    pub organization_id: Option<OrgId>,
    pub group_id: Option<GroupId>,
    pub assignee_id: Option<UserId>,
    pub ticket_form_id: Option<FormId>,
    pub tags: Vec<String>,
    /// The people copied on the ticket (Zendesk's `email_cc_ids`), in the order they were added.
    pub ccs: Vec<UserId>,
    /// Custom field values, by field id (fields without a value are left out).
    pub custom_fields: Vec<FieldValue>,
    /// The caller's own key for the ticket (Zendesk's `external_id`), unique among tickets.
    pub external_id: Option<String>,
    pub via: String,
    /// Why the ticket was routed where it was (JSON of `partnerdesk_core::routing::Routing`).
    pub routing: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The fields an update may change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketFields {
    pub subject: String,
    pub status: TicketStatus,
    pub priority: Option<Priority>,
    pub requester_id: UserId,
    pub organization_id: Option<OrgId>,
    pub group_id: Option<GroupId>,
    pub assignee_id: Option<UserId>,
    pub ticket_form_id: Option<FormId>,
    pub tags: Vec<String>,
    pub ccs: Vec<UserId>,
    /// Every custom field value the ticket is to have, by field id.
    pub custom_fields: Vec<FieldValue>,
    pub external_id: Option<String>,
}

impl Ticket {
    pub fn fields(&self) -> TicketFields {
        TicketFields {
            subject: self.subject.clone(),
            status: self.status,
            priority: self.priority,
            requester_id: self.requester_id,
            organization_id: self.organization_id,
            group_id: self.group_id,
            assignee_id: self.assignee_id,
            ticket_form_id: self.ticket_form_id,
            tags: self.tags.clone(),
            ccs: self.ccs.clone(),
            custom_fields: self.custom_fields.clone(),
            external_id: self.external_id.clone(),
        }
    }
}

pub struct NewTicket {
    pub fields: TicketFields,
    pub description: String,
    pub submitter_id: UserId,
    pub via: String,
    pub routing: serde_json::Value,
    /// Comments written after the description in the same transaction (e.g. a routing notice).
    pub follow_ups: Vec<NewComment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Comment {
    pub id: CommentId,
    pub ticket_id: TicketId,
    /// `None` for comments the system writes (e.g. the misrouted-form notice).
    pub author_id: Option<UserId>,
    pub body: String,
    pub public: bool,
    pub via: String,
    pub created_at: DateTime<Utc>,
}

pub struct NewComment {
    pub author_id: Option<UserId>,
    pub body: String,
    pub public: bool,
    pub via: String,
}

/// What the audit log keeps for a ticket change.
#[derive(Serialize)]
struct TicketRecord<'a> {
    ticket: &'a Ticket,
    comment: Option<&'a Comment>,
}

fn ccs_to_stored(ccs: &[UserId]) -> String {
    ccs.iter().map(|u| u.0.to_string()).collect::<Vec<_>>().join(" ")
}

fn ccs_from_stored(s: &str) -> Result<Vec<UserId>, DbError> {
    s.split_whitespace()
        .map(|id| {
            id.parse()
                .map(UserId)
                .map_err(|_| DbError::Corrupt(format!("cc_ids: '{id}'")))
        })
        .collect()
}

pub(crate) fn from_row(r: &Row) -> Result<Ticket, DbError> {
    let routing = serde_json::from_str(&r.text("routing")?).map_err(|e| DbError::Corrupt(format!("routing: {e}")))?;
    Ok(Ticket {
        id: TicketId(r.i64("id")?),
        subject: r.text("subject")?,
        description: r.text("description")?,
        status: parse_enum("status", &r.text("status")?, TicketStatus::parse)?,
        priority: r
            .opt_text("priority")?
            .map(|p| parse_enum("priority", &p, Priority::parse))
            .transpose()?,
        requester_id: UserId(r.i64("requester_id")?),
        submitter_id: UserId(r.i64("submitter_id")?),
        organization_id: r.opt_i64("organization_id")?.map(OrgId),
        group_id: r.opt_i64("group_id")?.map(GroupId),
        assignee_id: r.opt_i64("assignee_id")?.map(UserId),
        ticket_form_id: r.opt_i64("ticket_form_id")?.map(FormId),
        tags: tags::from_stored(&r.text("tags")?),
        ccs: ccs_from_stored(&r.text("cc_ids")?)?,
        custom_fields: Vec::new(),
        external_id: r.opt_text("external_id")?,
        via: r.text("via")?,
        routing,
        created_at: r.time("created_at")?,
        updated_at: r.time("updated_at")?,
    })
}

fn comment_from_row(r: &Row) -> Result<Comment, DbError> {
    Ok(Comment {
        id: CommentId(r.i64("id")?),
        ticket_id: TicketId(r.i64("ticket_id")?),
        author_id: r.opt_i64("author_id")?.map(UserId),
        body: r.text("body")?,
        public: r.boolean("public")?,
        via: r.text("via")?,
        created_at: r.time("created_at")?,
    })
}

/// Which tickets to list. The scope is mandatory: there is no way to list without one.
#[derive(Debug, Clone)]
pub struct TicketFilter {
    pub scope: TicketScope,
    /// Empty means any status.
    pub statuses: Vec<TicketStatus>,
    pub group_id: Option<GroupId>,
    pub assignee_id: Option<UserId>,
    pub requester_id: Option<UserId>,
    pub organization_id: Option<OrgId>,
    /// Only the ticket with this external id (Zendesk's lookup by `external_id`).
    pub external_id: Option<String>,
    pub priority: Option<Priority>,
    /// Only tickets nobody is assigned to.
    pub unassigned: bool,
    /// The order of a list (id ascending unless asked otherwise).
    pub order: TicketOrder,
}

/// What a ticket list is sorted by (Zendesk's `sort_by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TicketSort {
    #[default]
    Id,
    CreatedAt,
    UpdatedAt,
    Priority,
    Status,
}

impl TicketSort {
    pub const CHOICES: [(&'static str, TicketSort); 5] = [
        ("id", TicketSort::Id),
        ("created_at", TicketSort::CreatedAt),
        ("updated_at", TicketSort::UpdatedAt),
        ("priority", TicketSort::Priority),
        ("status", TicketSort::Status),
    ];

    /// The sort key. Priority and status sort by rank (low < urgent; new < closed), not alphabetically; a ticket
    /// without priority comes before `low`.
    fn sql(self) -> &'static str {
        match self {
            TicketSort::Id => "id",
            TicketSort::CreatedAt => "created_at",
            TicketSort::UpdatedAt => "updated_at",
            TicketSort::Priority => {
                "CASE priority WHEN 'low' THEN 1 WHEN 'normal' THEN 2 WHEN 'high' THEN 3 WHEN 'urgent' THEN 4 ELSE 0 END"
            }
            TicketSort::Status => {
                "CASE status WHEN 'new' THEN 0 WHEN 'open' THEN 1 WHEN 'pending' THEN 2 WHEN 'hold' THEN 3 \
                 WHEN 'solved' THEN 4 ELSE 5 END"
            }
        }
    }
}

/// Sort key and direction of a ticket list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TicketOrder {
    pub by: TicketSort,
    pub desc: bool,
}

impl TicketFilter {
    pub fn scoped(scope: TicketScope) -> TicketFilter {
        TicketFilter {
            scope,
            statuses: Vec::new(),
            group_id: None,
            assignee_id: None,
            requester_id: None,
            organization_id: None,
            external_id: None,
            priority: None,
            unassigned: false,
            order: TicketOrder::default(),
        }
    }
}

fn scope_sql(scope: TicketScope, a: &mut Vec<Arg>) -> &'static str {
    match scope {
        TicketScope::All => "",
        TicketScope::Organization(org) => {
            a.push(Arg::I64(org.0));
            " AND organization_id = ?"
        }
        TicketScope::Requester(user) => {
            a.push(Arg::I64(user.0));
            " AND requester_id = ?"
        }
    }
}

fn filter_sql(f: &TicketFilter, a: &mut Vec<Arg>) -> String {
    let mut s = scope_sql(f.scope, a).to_owned();
    if !f.statuses.is_empty() {
        let marks = vec!["?"; f.statuses.len()].join(", ");
        s.push_str(&format!(" AND status IN ({marks})"));
        a.extend(f.statuses.iter().map(|st| Arg::Text(st.as_str().to_owned())));
    }
    if let Some(p) = f.priority {
        s.push_str(" AND priority = ?");
        a.push(Arg::Text(p.as_str().to_owned()));
    }
    if f.unassigned {
        s.push_str(" AND assignee_id IS NULL");
    }
    if let Some(x) = &f.external_id {
        s.push_str(" AND external_id = ?");
        a.push(Arg::Text(x.clone()));
    }
    for (col, v) in [
        ("group_id", f.group_id.map(|g| g.0)),
        ("assignee_id", f.assignee_id.map(|u| u.0)),
        ("requester_id", f.requester_id.map(|u| u.0)),
        ("organization_id", f.organization_id.map(|o| o.0)),
    ] {
        if let Some(v) = v {
            s.push_str(&format!(" AND {col} = ?"));
            a.push(Arg::I64(v));
        }
    }
    s
}

/// Writes the custom field values that differ between `before` and `after`.
async fn write_field_values(
    conn: &mut Conn,
    ticket: TicketId,
    before: &[FieldValue],
    after: &[FieldValue],
) -> Result<(), DbError> {
    let values_of = |list: &[FieldValue], id: i64| -> Vec<String> {
        list.iter()
            .find(|v| v.field_id == id)
            .map(|v| v.values.clone())
            .unwrap_or_default()
    };
    let mut ids: Vec<i64> = before.iter().chain(after).map(|v| v.field_id).collect();
    ids.sort_unstable();
    ids.dedup();
    for id in ids {
        let new = values_of(after, id);
        if values_of(before, id) != new {
            ticket_fields::set_value(conn, ticket, id, &new).await?;
        }
    }
    Ok(())
}

/// Reads the custom field values of the tickets into them (one query).
pub(crate) async fn with_fields(conn: &mut Conn, mut tickets: Vec<Ticket>) -> Result<Vec<Ticket>, DbError> {
    let ids: Vec<TicketId> = tickets.iter().map(|t| t.id).collect();
    let mut values = ticket_fields::values(conn, &ids).await?;
    for t in &mut tickets {
        t.custom_fields = values.remove(&t.id).unwrap_or_default();
    }
    Ok(tickets)
}

async fn one_with_fields(conn: &mut Conn, t: Ticket) -> Result<Ticket, DbError> {
    with_fields(conn, vec![t]).await?.pop().ok_or(DbError::NotFound)
}

/// A page of tickets with their custom field values.
pub(crate) async fn page_with_fields(conn: &mut Conn, page: Page<Ticket>) -> Result<Page<Ticket>, DbError> {
    Ok(Page {
        items: with_fields(conn, page.items).await?,
        has_more: page.has_more,
    })
}

pub async fn get(conn: &mut Conn, id: TicketId, scope: TicketScope) -> Result<Ticket, DbError> {
    let mut a = args![id.0].to_vec();
    let sql = format!("SELECT * FROM tickets WHERE id = ?{}", scope_sql(scope, &mut a));
    let t = from_row(&conn.fetch_one(&sql, &a).await?)?;
    one_with_fields(conn, t).await
}

/// The ticket, locked until the transaction `conn` ends: the state an update is computed from and applied to.
pub async fn get_for_update(conn: &mut Conn, id: TicketId, scope: TicketScope) -> Result<Ticket, DbError> {
    let mut a = args![id.0].to_vec();
    let sql = format!(
        "SELECT * FROM tickets WHERE id = ?{}{}",
        scope_sql(scope, &mut a),
        conn.lock_rows()
    );
    let t = from_row(&conn.fetch_one(&sql, &a).await?)?;
    one_with_fields(conn, t).await
}

/// A page of tickets in `f.order`, ties broken by id in the same direction so that pages neither repeat nor skip a
/// ticket. In id order (the default) the page is read along the primary key or the `(column, id)` index of the
/// filter. A keyset (`window.after_id`) works in every order: the page starts after the cursor's ticket, at its sort
/// key as it is now (a cursor carries only an id).
pub async fn list(conn: &mut Conn, f: &TicketFilter, window: Window) -> Result<Page<Ticket>, DbError> {
    let mut a = Vec::new();
    let filter = filter_sql(f, &mut a);
    let window = Window {
        desc: f.order.desc,
        ..window
    };
    let order = match f.order.by {
        TicketSort::Id => window.sql("id", &mut a),
        by => {
            let key = by.sql();
            let (cmp, dir) = if window.desc { ("<", "DESC") } else { (">", "ASC") };
            let mut s = String::new();
            if let Some(after) = window.after_id {
                s.push_str(&format!(
                    " AND ({key}, id) {cmp} (SELECT {key}, id FROM tickets WHERE id = ?)"
                ));
                a.push(Arg::I64(after));
            }
            s.push_str(&format!(" ORDER BY {key} {dir}, id {dir} LIMIT ? OFFSET ?"));
            a.push(Arg::I64(window.limit + 1));
            a.push(Arg::I64(window.offset));
            s
        }
    };
    let sql = format!("SELECT * FROM tickets WHERE 1 = 1{filter}{order}");
    let page = Page::from_rows(conn.fetch_all(&sql, &a).await?, &window, from_row)?;
    page_with_fields(conn, page).await
}

pub async fn count(conn: &mut Conn, f: &TicketFilter) -> Result<i64, DbError> {
    let mut a = Vec::new();
    let sql = format!("SELECT COUNT(*) AS n FROM tickets WHERE 1 = 1{}", filter_sql(f, &mut a));
    conn.fetch_one(&sql, &a).await?.i64("n")
}

async fn add_comment(conn: &mut Conn, ticket: TicketId, c: &NewComment, at: DateTime<Utc>) -> Result<Comment, DbError> {
    let row = conn
        .fetch_one(
            "INSERT INTO comments (ticket_id, author_id, body, public, via, created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING *",
            &args![ticket.0, c.author_id.map(|u| u.0), c.body.as_str(), c.public, c.via.as_str(), at],
        )
        .await?;
    comment_from_row(&row)
}

/// Creates a ticket with its first comment (the description) and any follow-up comments. Returns the ticket, the comment and the id of
/// the audit row, which the API answers as the Zendesk `audit`.
pub async fn create(conn: &mut Conn, new: &NewTicket, actor: &AuditActor) -> Result<(Ticket, Comment, i64), DbError> {
    let t = now();
    let f = &new.fields;
    // The row comes back with the insert: no read-back.
    let row = conn
        .fetch_one(
            "INSERT INTO tickets (subject, description, status, priority, requester_id, submitter_id, organization_id, group_id, \
             assignee_id, ticket_form_id, tags, cc_ids, via, routing, created_at, updated_at, solved_at, external_id) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
            &args![
                f.subject.as_str(),
                new.description.as_str(),
                f.status.as_str(),
                f.priority.map(|p| p.as_str()),
                f.requester_id.0,
                new.submitter_id.0,
                f.organization_id.map(|o| o.0),
                f.group_id.map(|g| g.0),
                f.assignee_id.map(|u| u.0),
                f.ticket_form_id.map(|x| x.0),
                tags::to_stored(&f.tags),
                ccs_to_stored(&f.ccs),
                new.via.as_str(),
                new.routing.to_string(),
                t,
                t,
                f.status.is_solved().then_some(t),
                f.external_id.as_deref()
            ],
        )
        .await?;
    let mut ticket = from_row(&row)?;
    let id = ticket.id.0;
    write_field_values(conn, ticket.id, &[], &f.custom_fields).await?;
    ticket.custom_fields = f.custom_fields.clone();
    let first = NewComment {
        author_id: Some(new.submitter_id),
        body: new.description.clone(),
        public: true,
        via: new.via.clone(),
    };
    let comment = add_comment(conn, TicketId(id), &first, t).await?;
    for c in &new.follow_ups {
        add_comment(conn, TicketId(id), c, t).await?;
    }
    search::index::ticket_written(conn, None, &ticket, true).await?;
    let record = TicketRecord {
        ticket: &ticket,
        comment: Some(&comment),
    };
    let change = Change {
        action: "ticket.create",
        entity_type: "ticket",
        entity_id: id,
        organization_id: ticket.organization_id.map(|o| o.0),
        before: None::<&()>,
        after: Some(&record),
    };
    let audit_id = audit::record(conn, actor, change).await?;
    Ok((ticket, comment, audit_id))
}

/// Writes changed fields and an optional comment. Returns the ticket after, the comment, and the audit row id.
pub async fn update(
    conn: &mut Conn,
    before: &Ticket,
    f: &TicketFields,
    comment: Option<&NewComment>,
    actor: &AuditActor,
) -> Result<(Ticket, Option<Comment>, i64), DbError> {
    let t = now();
    conn.execute(
        "UPDATE tickets SET subject = ?, status = ?, priority = ?, requester_id = ?, organization_id = ?, group_id = ?, assignee_id = ?, \
         ticket_form_id = ?, tags = ?, cc_ids = ?, external_id = ?, updated_at = ?, \
         solved_at = CASE WHEN ? THEN COALESCE(solved_at, ?) ELSE NULL END WHERE id = ?",
        &args![
            f.subject.as_str(),
            f.status.as_str(),
            f.priority.map(|p| p.as_str()),
            f.requester_id.0,
            f.organization_id.map(|o| o.0),
            f.group_id.map(|g| g.0),
            f.assignee_id.map(|u| u.0),
            f.ticket_form_id.map(|x| x.0),
            tags::to_stored(&f.tags),
            ccs_to_stored(&f.ccs),
            f.external_id.as_deref(),
            t,
            f.status.is_solved(),
            t,
            before.id.0
        ],
    )
    .await?;
    write_field_values(conn, before.id, &before.custom_fields, &f.custom_fields).await?;
    let comment = match comment {
        Some(c) => Some(add_comment(conn, before.id, c, t).await?),
        None => None,
    };
    let after = get(conn, before.id, TicketScope::All).await?;
    search::index::ticket_written(conn, Some(before), &after, comment.is_some()).await?;
    let (b, a) = (
        TicketRecord {
            ticket: before,
            comment: None,
        },
        TicketRecord {
            ticket: &after,
            comment: comment.as_ref(),
        },
    );
    let change = Change {
        action: "ticket.update",
        entity_type: "ticket",
        entity_id: before.id.0,
        organization_id: after.organization_id.map(|o| o.0),
        before: Some(&b),
        after: Some(&a),
    };
    let audit_id = audit::record(conn, actor, change).await?;
    Ok((after, comment, audit_id))
}

/// The conversation of a ticket, oldest first; internal notes only when `include_internal`.
pub async fn comments(
    conn: &mut Conn,
    ticket: TicketId,
    include_internal: bool,
    window: Window,
) -> Result<Page<Comment>, DbError> {
    let mut a = args![ticket.0].to_vec();
    let visibility = if include_internal { "" } else { " AND public = ?" };
    if !include_internal {
        a.push(Arg::Bool(true));
    }
    let sql = format!(
        "SELECT * FROM comments WHERE ticket_id = ?{visibility}{}",
        window.sql("id", &mut a)
    );
    Page::from_rows(conn.fetch_all(&sql, &a).await?, &window, comment_from_row)
}

pub async fn count_comments(conn: &mut Conn, ticket: TicketId, include_internal: bool) -> Result<i64, DbError> {
    let mut a = args![ticket.0].to_vec();
    let visibility = if include_internal { "" } else { " AND public = ?" };
    if !include_internal {
        a.push(Arg::Bool(true));
    }
    let sql = format!("SELECT COUNT(*) AS n FROM comments WHERE ticket_id = ?{visibility}");
    conn.fetch_one(&sql, &a).await?.i64("n")
}

/// A requester's view of their organization's tickets: open ones first, then by last update.
pub async fn for_portal(conn: &mut Conn, scope: TicketScope, window: Window) -> Result<Page<Ticket>, DbError> {
    let mut a = Vec::new();
    let filter = scope_sql(scope, &mut a);
    a.push(Arg::I64(window.limit + 1));
    a.push(Arg::I64(window.offset));
    let sql = format!(
        "SELECT * FROM tickets WHERE 1 = 1{filter} \
         ORDER BY CASE WHEN status IN ('solved', 'closed') THEN 1 ELSE 0 END, updated_at DESC, id DESC LIMIT ? OFFSET ?"
    );
    let page = Page::from_rows(conn.fetch_all(&sql, &a).await?, &window, from_row)?;
    page_with_fields(conn, page).await
}

/// Whether a comment is public (to decide who may download its files).
pub async fn comment_is_public(conn: &mut Conn, comment: CommentId) -> Result<bool, DbError> {
    conn.fetch_one("SELECT public FROM comments WHERE id = ?", &args![comment.0])
        .await?
        .boolean("public")
}
