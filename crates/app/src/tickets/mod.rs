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

mod ccs;
mod create;
pub mod custom;
mod tag_changes;
mod update;

pub use ccs::{CcChange, CcName, MAX_CCS};
pub use custom::CustomFieldInput;

pub use create::{create, create_in};
pub use tag_changes::{TagChange, change_tags};
pub use update::{update, update_in};

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
/// only `subject`, `comment`, `ticket_form_id`, `priority` and CCs (create) or `comment`, `solved` and CCs (update)
/// count; end-users may set no other status than `solved`.
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
    /// Replaces the people copied on the ticket (user ids).
    pub collaborator_ids: Option<Vec<i64>>,
    /// The same as `collaborator_ids`.
    pub email_cc_ids: Option<Vec<i64>>,
    /// Zendesk's CC changes: `[{"user_email": "a@b.example", "action": "put"}, {"user_id": 5, "action": "delete"}]`.
    pub email_ccs: Option<Vec<CcChange>>,
    /// People to copy, by id or e-mail address (Zendesk's older form).
    pub collaborators: Option<Vec<CcName>>,
    pub additional_collaborators: Option<Vec<CcName>>,
    /// Custom field values, `[{"id": 7, "value": ...}]` (at most 100).
    pub custom_fields: Option<Vec<CustomFieldInput>>,
    /// The same as `custom_fields` (Zendesk's other name).
    pub fields: Option<Vec<CustomFieldInput>>,
    /// Staff: your own key for the ticket, unique among tickets (up to 255 characters); `null` clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = schema::external_id)]
    pub external_id: Option<Option<String>>,
}

impl TicketInput {
    /// The custom field values sent, under either name.
    pub fn custom_values(&self) -> &[CustomFieldInput] {
        self.custom_fields
            .as_deref()
            .or(self.fields.as_deref())
            .unwrap_or_default()
    }
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

/// A ticket the actor can see, or 404.
pub async fn visible(db: &Db, actor: &Actor, id: TicketId) -> Result<Ticket, AppError> {
    Ok(tickets::get(&mut db.conn(), id, actor.ticket_scope()).await?)
}
