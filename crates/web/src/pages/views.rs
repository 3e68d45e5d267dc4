//! Plain data for templates: tickets, comments and people as the pages show them (names resolved, times
//! formatted), built with one query per kind of record, not one per row.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use partnerdesk_core::UserId;
use partnerdesk_db::files::{self, Attachment};
use partnerdesk_db::tickets::{Comment, Ticket};
use partnerdesk_db::users::{self, User};
use partnerdesk_db::{Conn, DbError};

pub fn when(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// How long ago, roughly: minutes, then hours, then days.
pub fn age(minutes: i64) -> String {
    match minutes {
        m if m < 60 => format!("{m} min"),
        m if m < 48 * 60 => format!("{} h {} min", m / 60, m % 60),
        m => format!("{} days", m / (24 * 60)),
    }
}

/// Names of the given users, by id.
pub async fn names(conn: &mut Conn, ids: impl IntoIterator<Item = UserId>) -> Result<HashMap<UserId, User>, DbError> {
    let mut ids: Vec<UserId> = ids.into_iter().collect();
    ids.sort();
    ids.dedup();
    Ok(users::by_ids(conn, &ids)
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect())
}

pub fn name_of(people: &HashMap<UserId, User>, id: Option<UserId>) -> String {
    match id {
        None => "partnerdesk".into(),
        Some(id) => people
            .get(&id)
            .map(|u| u.name.clone())
            .unwrap_or_else(|| format!("user {id}")),
    }
}

pub struct TicketRow {
    pub id: i64,
    pub subject: String,
    pub status: &'static str,
    pub priority: &'static str,
    pub requester: String,
    pub updated: String,
}

pub fn ticket_rows(tickets: &[Ticket], people: &HashMap<UserId, User>) -> Vec<TicketRow> {
    tickets
        .iter()
        .map(|t| TicketRow {
            id: t.id.0,
            subject: t.subject.clone(),
            status: t.status.as_str(),
            priority: t.priority.map(|p| p.as_str()).unwrap_or("-"),
            requester: name_of(people, Some(t.requester_id)),
            updated: when(&t.updated_at),
        })
        .collect()
}

/// A user as the admin pages list them (the users page and an organization's page).
pub struct UserRow {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub role: &'static str,
    pub status: &'static str,
    pub suspended: bool,
    /// Why mail to this address bounces, when it does.
    pub failing: Option<String>,
}

/// Users as the admin pages list them, with the addresses whose mail bounces marked.
pub async fn user_rows(conn: &mut Conn, users: &[User]) -> Result<Vec<UserRow>, DbError> {
    let failing: HashMap<String, String> = partnerdesk_db::inbound::failing(conn, 10_000)
        .await?
        .into_iter()
        .map(|(address, reason, _)| (address, reason))
        .collect();
    Ok(users
        .iter()
        .map(|u| UserRow {
            failing: failing.get(&u.email.to_lowercase()).cloned(),
            id: u.id.0,
            name: u.name.clone(),
            email: u.email.clone(),
            role: u.role.as_str(),
            status: u.status.as_str(),
            suspended: u.status == partnerdesk_core::accounts::UserStatus::Suspended,
        })
        .collect())
}

/// A file link under a comment.
pub struct FileLink {
    pub name: String,
    pub url: String,
    pub size: String,
}

pub struct CommentRow {
    pub files: Vec<FileLink>,
    pub author: String,
    pub body: String,
    pub public: bool,
    pub system: bool,
    pub at: String,
}

pub fn comment_rows(comments: &[Comment], people: &HashMap<UserId, User>, files: &[Attachment]) -> Vec<CommentRow> {
    comments
        .iter()
        .map(|c| CommentRow {
            files: files
                .iter()
                .filter(|a| a.comment_id == Some(c.id))
                .map(|a| FileLink {
                    name: a.file_name.clone(),
                    url: format!(
                        "/attachments/{}/{}",
                        a.id,
                        form_urlencoded::byte_serialize(a.file_name.as_bytes())
                            .collect::<String>()
                            .replace('+', "%20")
                    ),
                    size: partnerdesk_core::text::human_size(a.size as u64),
                })
                .collect(),
            author: name_of(people, c.author_id),
            body: c.body.clone(),
            public: c.public,
            system: c.author_id.is_none(),
            at: when(&c.created_at),
        })
        .collect()
}

/// An option of a `<select>`.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

impl Choice {
    pub fn list(items: impl IntoIterator<Item = (String, String)>, current: &str) -> Vec<Choice> {
        items
            .into_iter()
            .map(|(value, label)| Choice {
                selected: value == current,
                value,
                label,
            })
            .collect()
    }
}

/// The files of the given comments.
pub async fn files_of(conn: &mut Conn, comments: &[Comment]) -> Result<Vec<Attachment>, DbError> {
    let ids: Vec<_> = comments.iter().map(|c| c.id).collect();
    files::attachments_of_comments(conn, &ids).await
}

/// A ticket's CCs as a form shows them: e-mail addresses, comma-separated (with `people` holding each of them).
pub fn cc_emails(ccs: &[UserId], people: &HashMap<UserId, User>) -> String {
    ccs.iter()
        .filter_map(|id| people.get(id).map(|u| u.email.clone()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a CC field's edit asks for: its addresses now against those it showed (`before`), as Zendesk's `email_ccs`
/// changes (so that two people editing at once each apply only their own change); `None` when nothing changed.
pub fn cc_changes(now: &str, before: &str) -> Option<Vec<partnerdesk_app::tickets::CcChange>> {
    let split = |s: &str| -> Vec<String> {
        let mut v: Vec<String> = s
            .split([',', ';', ' ', '\n'])
            .map(|a| a.trim().to_lowercase())
            .filter(|a| !a.is_empty())
            .collect();
        v.dedup();
        v
    };
    let (now, before) = (split(now), split(before));
    let change = |email: &String, action: &str| partnerdesk_app::tickets::CcChange {
        user_email: Some(email.clone()),
        action: Some(action.into()),
        ..Default::default()
    };
    let changes: Vec<_> = now
        .iter()
        .filter(|e| !before.contains(e))
        .map(|e| change(e, "put"))
        .chain(before.iter().filter(|e| !now.contains(e)).map(|e| change(e, "delete")))
        .collect();
    (!changes.is_empty()).then_some(changes)
}
