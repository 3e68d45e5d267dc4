//! Creating and changing tickets: validation, authorisation, routing and the store, shared by the tickets API
//! (agents) and the requests API (end-users), and later by the web pages.

use partnerdesk_core::accounts::{NO_ACCOUNT_HELP, UserStatus};
use partnerdesk_core::policy::{Actor, OrgScope};
use partnerdesk_core::routing::{self, FormRule, Submission};
use partnerdesk_core::tickets::{Audience, Priority, TicketStatus};
use partnerdesk_core::{FormId, GroupId, Invalid, TicketId, UserId, tags};
use partnerdesk_db::files::{self, Upload};
use partnerdesk_db::forms::{self, TicketForm};
use partnerdesk_db::tickets::{self, Comment, NewComment, NewTicket, Ticket, TicketFields};
use partnerdesk_db::users::{self, User};
use partnerdesk_db::{Conn, Db, DbError, groups, organizations};
use serde::Deserialize;

use crate::context::App;
use crate::error::AppError;
use crate::input::{nullable, schema};
use crate::notifications;

pub const MAX_SUBJECT: usize = 255;
pub const MAX_BODY: usize = 64 * 1024;

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct CommentInput {
    /// The comment's text (up to 64 KiB); `html_body` is taken when `body` is absent.
    #[schema(max_length = 65536)]
    pub body: Option<String>,
    #[schema(max_length = 65536)]
    pub html_body: Option<String>,
    /// `false` makes an internal note (staff only; a ticket's first comment is always public).
    pub public: Option<bool>,
    /// Upload tokens (from `POST /api/v2/uploads`) whose files this comment carries; a comment with files needs
    /// text.
    pub uploads: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct RequesterInput {
    /// The e-mail of an existing account (accounts are never created on the fly).
    pub email: Option<String>,
    pub name: Option<String>,
}

/// The ticket fields of a create or update, Zendesk's names. Unknown fields are ignored. Through the requests API
/// only `subject`, `comment`, `ticket_form_id` and `priority` (create) or `comment` and `solved` (update) count;
/// end-users may set no other status than `solved`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct TicketInput {
    /// Up to 255 characters; blank takes the first line of the description.
    #[schema(max_length = 255)]
    pub subject: Option<String>,
    pub comment: Option<CommentInput>,
    /// The first comment, when `comment` has no text.
    #[schema(max_length = 65536)]
    pub description: Option<String>,
    /// Staff: file or move the ticket for this user.
    pub requester_id: Option<i64>,
    pub requester: Option<RequesterInput>,
    #[schema(schema_with = schema::ticket_status)]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = schema::priority)]
    pub priority: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub group_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub assignee_id: Option<Option<i64>>,
    pub ticket_form_id: Option<i64>,
    pub tags: Option<Vec<String>>,
    pub additional_tags: Option<Vec<String>>,
    pub remove_tags: Option<Vec<String>>,
    /// Requests API: `true` marks the request solved.
    pub solved: Option<bool>,
}

/// What a create produced: the ticket, its first comment, the audit row id and any notice for the submitter.
pub struct Created {
    pub ticket: Ticket,
    pub comment: Comment,
    pub audit_id: i64,
    pub notice: Option<String>,
}

pub struct Updated {
    pub before: Ticket,
    pub ticket: Ticket,
    pub comment: Option<Comment>,
    pub audit_id: i64,
}

fn parse_status(errors: &mut Invalid, s: &str) -> Option<TicketStatus> {
    TicketStatus::parse_field(errors, "status", s)
}

fn parse_priority(errors: &mut Invalid, p: Option<&str>) -> Option<Priority> {
    Priority::parse_field(errors, "priority", p?)
}

/// A text that is not blank, trimmed.
fn given(t: Option<&str>) -> Option<&str> {
    t.map(str::trim).filter(|b| !b.is_empty())
}

/// The comment body: plain `body`, or `html_body` when `body` is blank. Blank is an error when `required`.
fn comment_body(
    errors: &mut Invalid,
    c: Option<&CommentInput>,
    fallback: Option<&str>,
    required: bool,
) -> Option<String> {
    // Every text given is held to the limit, the one not used as well: a body of the documented shape, or a 422.
    for (field, text) in [
        ("comment", c.and_then(|c| c.body.as_deref())),
        ("comment", c.and_then(|c| c.html_body.as_deref())),
    ] {
        if text.is_some_and(|t| t.len() > MAX_BODY) {
            errors.push(
                field,
                "TooLong",
                format!("comment is too long (maximum is {MAX_BODY} bytes)"),
            );
            return None;
        }
    }
    let body = c
        .and_then(|c| given(c.body.as_deref()).or(given(c.html_body.as_deref())))
        .or(given(fallback));
    match body {
        None if required => {
            errors.push("comment", "BlankValue", "comment body cannot be blank");
            None
        }
        Some(b) if b.len() > MAX_BODY => {
            errors.push(
                "comment",
                "TooLong",
                format!("comment is too long (maximum is {MAX_BODY} bytes)"),
            );
            None
        }
        other => other.map(str::to_owned),
    }
}

/// The subject, or the first line of the description when none is given (as Zendesk does).
fn subject_of(errors: &mut Invalid, subject: Option<&str>, body: Option<&str>) -> String {
    let s = subject
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .unwrap_or_else(|| {
            let first = body.and_then(|b| b.lines().next()).unwrap_or_default().trim();
            first.chars().take(80).collect()
        });
    if s.chars().count() > MAX_SUBJECT {
        errors.push(
            "subject",
            "TooLong",
            format!("subject is too long (maximum is {MAX_SUBJECT} characters)"),
        );
    }
    s
}

async fn load_form(conn: &mut Conn, id: i64) -> Result<TicketForm, AppError> {
    match forms::get(conn, FormId(id)).await {
        Ok(f) if f.active => Ok(f),
        Ok(_) => Err(AppError::invalid(
            "ticket_form_id",
            "InvalidValue",
            format!("ticket form {id} is not active"),
        )),
        Err(DbError::NotFound) => Err(AppError::invalid(
            "ticket_form_id",
            "InvalidValue",
            format!("ticket form {id} does not exist"),
        )),
        Err(e) => Err(e.into()),
    }
}

async fn check_group(conn: &mut Conn, id: Option<i64>) -> Result<Option<GroupId>, AppError> {
    let Some(id) = id else { return Ok(None) };
    match groups::get(conn, GroupId(id)).await {
        Ok(g) => Ok(Some(g.id)),
        Err(DbError::NotFound) => Err(AppError::invalid(
            "group_id",
            "InvalidValue",
            format!("group {id} does not exist"),
        )),
        Err(e) => Err(e.into()),
    }
}

/// Assignees are active staff.
async fn check_assignee(conn: &mut Conn, id: Option<i64>) -> Result<Option<UserId>, AppError> {
    let Some(id) = id else { return Ok(None) };
    match users::get(conn, UserId(id)).await {
        Ok(u) if u.role.is_staff() && u.status != UserStatus::Suspended => Ok(Some(u.id)),
        Ok(_) => Err(AppError::invalid(
            "assignee_id",
            "InvalidValue",
            format!("user {id} is not an active agent"),
        )),
        Err(DbError::NotFound) => Err(AppError::invalid(
            "assignee_id",
            "InvalidValue",
            format!("user {id} does not exist"),
        )),
        Err(e) => Err(e.into()),
    }
}

/// The requester a staff member names, by id or e-mail. People are never created on the fly: an unknown
/// address is an error that says accounts are provisioned.
async fn named_requester(conn: &mut Conn, input: &TicketInput) -> Result<Option<User>, AppError> {
    let found = if let Some(id) = input.requester_id {
        users::get(conn, UserId(id)).await.map_err(|e| match e {
            DbError::NotFound => AppError::invalid("requester_id", "InvalidValue", format!("user {id} does not exist")),
            e => e.into(),
        })?
    } else if let Some(email) = input.requester.as_ref().and_then(|r| r.email.as_deref()) {
        users::by_email(conn, email).await.map_err(|e| match e {
            DbError::NotFound => AppError::invalid(
                "requester",
                "InvalidValue",
                format!("there is no account for {}. {NO_ACCOUNT_HELP}", email.trim()),
            ),
            e => e.into(),
        })?
    } else {
        return Ok(None);
    };
    if found.status == UserStatus::Suspended {
        return Err(AppError::invalid(
            "requester_id",
            "InvalidValue",
            "the requester's account is suspended",
        ));
    }
    Ok(Some(found))
}

/// The upload tokens a comment names: each must be the caller's own and unexpired.
async fn resolve_uploads(
    conn: &mut Conn,
    caller: &User,
    input: Option<&CommentInput>,
) -> Result<Vec<Upload>, AppError> {
    let tokens = input.and_then(|c| c.uploads.clone()).unwrap_or_default();
    let mut out = Vec::new();
    for t in tokens {
        let found = match files::upload_by_token(conn, t.trim()).await {
            Ok(u) if u.owner_id == caller.id && u.expires_at > partnerdesk_db::now() => Some(u),
            Ok(_) | Err(DbError::NotFound) => None,
            Err(e) => return Err(e.into()),
        };
        out.push(found.ok_or_else(|| {
            AppError::invalid(
                "uploads",
                "InvalidValue",
                format!("upload token '{t}' is unknown or expired"),
            )
        })?);
    }
    Ok(out)
}

/// What a create asks for, checked before anything is read.
struct Checked {
    body: Option<String>,
    subject: String,
    priority: Option<Priority>,
    status: Option<TicketStatus>,
}

fn check_new(input: &TicketInput, staff: bool) -> Result<Checked, AppError> {
    let mut errors = Invalid::default();
    let body = comment_body(&mut errors, input.comment.as_ref(), input.description.as_deref(), true);
    let subject = subject_of(&mut errors, input.subject.as_deref(), body.as_deref());
    let priority = parse_priority(&mut errors, input.priority.clone().flatten().as_deref());
    let status = if staff {
        input.status.as_deref().and_then(|s| parse_status(&mut errors, s))
    } else {
        None
    };
    if input.comment.as_ref().and_then(|c| c.public) == Some(false) {
        errors.push(
            "comment",
            "InvalidValue",
            "the first comment of a ticket is its public description",
        );
    }
    errors.into_result()?;
    Ok(Checked {
        body,
        subject,
        priority,
        status,
    })
}

/// Files a ticket. `submitter` is the signed-in caller; end-users always file for themselves. One transaction:
/// every lookup the ticket depends on (requester, forms, group, assignee, uploads) is read inside it.
pub async fn create(app: &App, submitter: &User, input: TicketInput, via: &str) -> Result<Created, AppError> {
    let mut tx = app.db.begin().await?;
    let (created, told) = create_in(&mut tx, app, submitter, input, via).await?;
    tx.commit().await?;
    if told {
        app.outbox_wakeup.notify_one();
    }
    Ok(created)
}

/// `create` inside the caller's transaction (incoming mail records the message in the same one); true when a
/// notice was queued, so that the caller wakes the outbox after committing.
pub async fn create_in(
    tx: &mut Conn,
    app: &App,
    submitter: &User,
    input: TicketInput,
    via: &str,
) -> Result<(Created, bool), AppError> {
    let checked = check_new(&input, submitter.actor().is_staff())?;
    let uploads = resolve_uploads(tx, submitter, input.comment.as_ref()).await?;
    let (new, notice) = route_new(tx, submitter, &input, checked, via).await?;
    let (ticket, comment, audit_id) = tickets::create(tx, &new, &submitter.audit_actor()).await?;
    for u in &uploads {
        files::attach_upload(tx, u.id, ticket.id, comment.id).await?;
    }
    let told = notifications::ticket_created(tx, &app.settings, submitter, &ticket, &comment).await?;
    let created = Created {
        ticket,
        comment,
        audit_id,
        notice,
    };
    Ok((created, told))
}

/// Refuses a form the requester may not file through.
fn check_audience(form: &TicketForm, staff: bool, partner: bool) -> Result<(), AppError> {
    let refused = match form.audience {
        Audience::Staff if !staff => Some("staff"),
        Audience::Partners if !staff && !partner => Some("alliance partners"),
        _ => None,
    };
    match refused {
        Some(who) => Err(AppError::invalid(
            "ticket_form_id",
            "InvalidValue",
            format!("ticket form {} is for {who} only", form.id),
        )),
        None => Ok(()),
    }
}

/// The new ticket as routed: requester, form, group, priority and tags, and the notice for a misrouted partner.
async fn route_new(
    conn: &mut Conn,
    submitter: &User,
    input: &TicketInput,
    checked: Checked,
    via: &str,
) -> Result<(NewTicket, Option<String>), AppError> {
    let staff = submitter.actor().is_staff();
    let requester = match (staff, named_requester(conn, input).await?) {
        (true, Some(r)) => r,
        _ => submitter.clone(),
    };
    let requester_org = match requester.organization_id {
        Some(id) => Some(organizations::get(conn, id, OrgScope::All).await?),
        None => None,
    };
    let chosen = match input.ticket_form_id {
        Some(id) => Some(load_form(conn, id).await?),
        None => None,
    };
    let partner = requester_org.as_ref().is_some_and(|o| o.alliance_partner)
        && requester.role == partnerdesk_core::accounts::Role::EndUser;
    if let Some(f) = &chosen {
        check_audience(f, staff, partner)?;
    }
    let default_form = forms::default_form(conn).await?;
    // A partner's ticket is routed by the partner form; when staff file for a partner, their explicit form wins.
    let partner_form = if partner && (!staff || chosen.is_none()) {
        forms::partner_form(conn).await?
    } else {
        None
    };
    let (explicit_group, assignee) = if staff {
        (
            check_group(conn, input.group_id.flatten()).await?,
            check_assignee(conn, input.assignee_id.flatten()).await?,
        )
    } else {
        (None, None)
    };
    let rules: [Option<FormRule>; 3] = [
        chosen.as_ref().map(TicketForm::rule),
        default_form.as_ref().map(TicketForm::rule),
        partner_form.as_ref().map(TicketForm::rule),
    ];
    let submission = Submission {
        chosen_form: rules[0].as_ref(),
        default_form: rules[1].as_ref(),
        partner_form: rules[2].as_ref(),
        explicit_group,
        explicit_priority: checked.priority,
        tags: if staff {
            input.tags.clone().unwrap_or_default()
        } else {
            Vec::new()
        },
    };
    let routed = routing::route(&submission);
    let notice = routed.misrouted.then(|| {
        let form = partner_form.as_ref().map(|f| format!("'{}' (form {})", f.display_name, f.id)).unwrap_or_default();
        format!("This ticket was filed through a form meant for other requests. It has been routed to the alliance partner queue all the same; next time, please use the {form} form so that it reaches the right people at once.")
    });
    let fields = TicketFields {
        subject: checked.subject,
        status: checked.status.unwrap_or(TicketStatus::initial(assignee.is_some())),
        priority: routed.priority,
        requester_id: requester.id,
        organization_id: requester.organization_id,
        group_id: routed.group_id,
        assignee_id: assignee,
        ticket_form_id: routed.form_id,
        tags: routed.tags.clone(),
    };
    let follow_ups = notice
        .iter()
        .map(|n| NewComment {
            author_id: None,
            body: n.clone(),
            public: true,
            via: "system".into(),
        })
        .collect();
    let new = NewTicket {
        fields,
        description: checked.body.unwrap_or_default(),
        submitter_id: submitter.id,
        via: via.to_owned(),
        routing: serde_json::to_value(&routed).map_err(AppError::internal)?,
        follow_ups,
    };
    Ok((new, notice))
}

/// Changes a ticket the caller can see. Staff may change every field; end-users may comment (publicly)
/// and mark the ticket solved.
///
/// The ticket is read and locked inside the transaction that writes it, so two people saving at the same moment
/// are applied one after the other: neither change is lost, and the audit's `before` is the state each change
/// was applied to.
pub async fn update(
    app: &App,
    caller: &User,
    id: TicketId,
    input: TicketInput,
    via: &str,
) -> Result<Updated, AppError> {
    let mut tx = app.db.begin().await?;
    let (updated, told) = update_in(&mut tx, app, caller, id, input, via).await?;
    tx.commit().await?;
    if told {
        app.outbox_wakeup.notify_one();
    }
    Ok(updated)
}

/// `update` inside the caller's transaction; true when a notice was queued (see `create_in`).
pub async fn update_in(
    tx: &mut Conn,
    app: &App,
    caller: &User,
    id: TicketId,
    input: TicketInput,
    via: &str,
) -> Result<(Updated, bool), AppError> {
    let actor: Actor = caller.actor();
    let before = tickets::get_for_update(tx, id, actor.ticket_scope()).await?;
    let change = plan_update(tx, caller, &before, &input, via).await?;
    let (ticket, comment, audit_id) = tickets::update(
        tx,
        &before,
        &change.fields,
        change.comment.as_ref(),
        &caller.audit_actor(),
    )
    .await?;
    if let Some(c) = &comment {
        for u in &change.uploads {
            files::attach_upload(tx, u.id, ticket.id, c.id).await?;
        }
    }
    let told =
        notifications::ticket_updated(tx, &app.settings, caller, &before, &ticket, comment.as_ref(), audit_id).await?;
    let updated = Updated {
        before,
        ticket,
        comment,
        audit_id,
    };
    Ok((updated, told))
}

/// What an update writes.
struct Change {
    fields: TicketFields,
    comment: Option<NewComment>,
    uploads: Vec<Upload>,
}

/// Works out an update's fields from `before` and the input, checking everything it names.
async fn plan_update(
    conn: &mut Conn,
    caller: &User,
    before: &Ticket,
    input: &TicketInput,
    via: &str,
) -> Result<Change, AppError> {
    let actor: Actor = caller.actor();
    let staff = actor.may_work_tickets();
    if before.status.is_frozen() {
        return Err(AppError::invalid(
            "status",
            "InvalidValue",
            "a closed ticket cannot be changed; file a follow-up ticket instead",
        ));
    }
    let mut errors = Invalid::default();
    let has_uploads = input
        .comment
        .as_ref()
        .and_then(|c| c.uploads.as_ref())
        .is_some_and(|u| !u.is_empty());
    let body = comment_body(&mut errors, input.comment.as_ref(), None, has_uploads);
    let public = input.comment.as_ref().and_then(|c| c.public).unwrap_or(true);
    if !public && !actor.sees_internal_comments() {
        return Err(AppError::Forbidden("End-users cannot add internal notes.".into()));
    }
    let mut f = before.fields();
    let explicit_status = if staff {
        apply_staff_fields(&mut errors, &mut f, input)
    } else {
        // Fields only staff may change are ignored for end-users, but checked all the same: a malformed body is
        // refused whoever sends it (the status has the end-users' own rule).
        let mut ignored = Invalid::default();
        apply_staff_fields(&mut ignored, &mut f.clone(), input);
        errors.0.extend(ignored.0.into_iter().filter(|e| e.field != "status"));
        requester_status(&mut errors, input)
    };
    let explicit_status = match explicit_status.map(|s| before.status.check_explicit(s)) {
        None => None,
        Some(Ok(s)) => s,
        Some(Err(why)) => {
            errors.push("status", "InvalidValue", why);
            None
        }
    };
    errors.into_result()?;
    let uploads = resolve_uploads(conn, caller, input.comment.as_ref()).await?;
    if staff {
        apply_staff_references(conn, &mut f, input).await?;
    }
    f.status = explicit_status.unwrap_or_else(|| before.status.after_work(staff, body.is_some(), f.status));
    let comment = body.map(|b| NewComment {
        author_id: Some(caller.id),
        body: b,
        public,
        via: via.to_owned(),
    });
    Ok(Change {
        fields: f,
        comment,
        uploads,
    })
}

/// Applies the plain fields staff may change; returns the status they asked for.
fn apply_staff_fields(errors: &mut Invalid, f: &mut TicketFields, input: &TicketInput) -> Option<TicketStatus> {
    if let Some(s) = &input.subject {
        f.subject = subject_of(errors, Some(s), None);
    }
    if let Some(p) = &input.priority {
        f.priority = parse_priority(errors, p.as_deref());
    }
    if let Some(t) = &input.tags {
        f.tags = tags::normalize(t);
    }
    if let Some(t) = &input.additional_tags {
        f.tags = tags::union(&f.tags, &tags::normalize(t));
    }
    if let Some(t) = &input.remove_tags {
        let remove = tags::normalize(t);
        f.tags.retain(|x| !remove.contains(x));
    }
    input.status.as_deref().and_then(|s| parse_status(errors, s))
}

/// End-users may only mark their ticket solved.
fn requester_status(errors: &mut Invalid, input: &TicketInput) -> Option<TicketStatus> {
    if input.solved == Some(true) || input.status.as_deref() == Some("solved") {
        Some(TicketStatus::Solved)
    } else {
        if let Some(s) = &input.status {
            errors.push(
                "status",
                "InvalidValue",
                format!("end-users may only mark a ticket solved, not '{s}'"),
            );
        }
        None
    }
}

/// Applies the fields staff may change that name other records, each checked to exist.
async fn apply_staff_references(conn: &mut Conn, f: &mut TicketFields, input: &TicketInput) -> Result<(), AppError> {
    if let Some(g) = input.group_id {
        f.group_id = check_group(conn, g).await?;
    }
    if let Some(a) = input.assignee_id {
        f.assignee_id = check_assignee(conn, a).await?;
    }
    if let Some(r) = named_requester(conn, input).await? {
        f.requester_id = r.id;
        f.organization_id = r.organization_id;
    }
    if let Some(form) = input.ticket_form_id {
        f.ticket_form_id = Some(load_form(conn, form).await?.id);
    }
    Ok(())
}

/// A ticket the actor can see, or 404.
pub async fn visible(db: &Db, actor: &Actor, id: TicketId) -> Result<Ticket, AppError> {
    Ok(tickets::get(&mut db.conn(), id, actor.ticket_scope()).await?)
}
