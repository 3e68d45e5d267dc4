//! Telling requesters, the people copied on tickets, and staff about tickets by e-mail. Each notice is written to
//! the outbox in the same transaction as the change it announces (a change is never announced without happening,
//! nor happens unannounced), and the outbox
//! worker delivers it. Notices are threaded: each has a stable `Message-ID`, all of a ticket's notices point at the
//! ticket's thread root (`In-Reply-To`/`References`), the subject carries `[#id]`, and replies go to the ticket's
//! signed reply address when one is configured (`PARTNERDESK_MAIL_REPLY_ADDRESS`).
//!
//! Who is told what (internal notes never leave the building):
//! - a ticket filed on a requester's behalf (by staff): the requester; a ticket filed with people copied: them;
//! - a public comment: the requester and the people copied (not its author), with the comment and the one before;
//! - a change of status to pending or solved: the requester and the people copied (not who changed it);
//! - a ticket given to an agent by someone else, and the requester writing on a ticket assigned to an agent: that
//!   agent (internal notes included: agents may read them), unless they chose not to be told (`notice_choices`);
//! - a new ticket in a group: the staff who follow the group and want to be told.

use partnerdesk_core::TicketId;
use partnerdesk_core::text::escape_html;
use partnerdesk_core::tickets::TicketStatus;
use partnerdesk_db::outbox::{self, DeliveryKind};
use partnerdesk_db::tickets::{Comment, Ticket};
use partnerdesk_db::users::{self, User};
use partnerdesk_db::{Conn, files, groups, mail_threads, notice_choices, organizations};
use serde_json::json;

use crate::context::Settings;
use crate::error::AppError;

/// The line replies are cut at when they come back (and a hint to the reader).
pub const REPLY_MARKER: &str = "##- Please type your reply above this line -##";
/// How much of the earlier conversation a notice quotes.
const EXCERPT_CHARS: usize = 600;

/// What happened to the ticket, as a notice tells it.
enum Event<'a> {
    Filed,
    Replied { comment: &'a Comment, author: &'a str },
    Status(TicketStatus),
}

/// A ticket filed by `submitter`: tells the requester when someone else filed it for them. True when a notice was
/// queued.
pub async fn ticket_created(
    tx: &mut Conn,
    settings: &Settings,
    submitter: &User,
    ticket: &Ticket,
    first: &Comment,
) -> Result<bool, AppError> {
    let key = format!("t{}-c{}", ticket.id.0, first.id.0);
    let requester = notify(tx, settings, submitter, ticket, &key, Event::Filed, Some(first)).await?;
    let assignee = tell_assignee(tx, settings, submitter, None, ticket, Some(first), &key).await?;
    let followers = tell_followers(tx, settings, submitter, ticket, first, &key).await?;
    Ok(requester || assignee || followers)
}

/// Tells the staff who follow the ticket's group of a new ticket (not its filer, nor its assignee, who hears of it
/// as such). True when a notice was queued.
async fn tell_followers(
    tx: &mut Conn,
    settings: &Settings,
    submitter: &User,
    ticket: &Ticket,
    first: &Comment,
    key: &str,
) -> Result<bool, AppError> {
    let Some(group_id) = ticket.group_id else {
        return Ok(false);
    };
    let followers = notice_choices::followers(tx, group_id, submitter.id).await?;
    let followers: Vec<_> = followers
        .into_iter()
        .filter(|f| Some(*f) != ticket.assignee_id)
        .collect();
    if followers.is_empty() {
        return Ok(false);
    }
    let group = groups::get(tx, group_id).await?;
    let id = ticket.id.0;
    let headline = format!(
        "New ticket #{id} in {} from {}: {}",
        group.name, submitter.name, ticket.subject
    );
    let (text, html) = workspace_notice(settings, id, &headline, &first.body);
    for agent in users::by_ids(tx, &followers).await? {
        let mail = TicketMail {
            ticket: id,
            to: &agent.email,
            subject: &format!("[#{id}] {}", ticket.subject),
            text: &text,
            html: &html,
            key: &format!("follow-{key}-u{}", agent.id.0),
        };
        enqueue_ticket_mail(tx, settings, &mail).await?;
    }
    Ok(true)
}

/// A ticket changed by `actor`, with the comment the change added (if any). True when a notice was queued.
pub async fn ticket_updated(
    tx: &mut Conn,
    settings: &Settings,
    actor: &User,
    before: &Ticket,
    after: &Ticket,
    comment: Option<&Comment>,
    audit_id: i64,
) -> Result<bool, AppError> {
    let status_news =
        after.status != before.status && matches!(after.status, TicketStatus::Pending | TicketStatus::Solved);
    let key = format!("t{}-a{audit_id}", after.id.0);
    let assignee = tell_assignee(tx, settings, actor, Some(before), after, comment, &key).await?;
    let requester = match comment {
        Some(c) if c.public => {
            let key = format!("t{}-c{}", after.id.0, c.id.0);
            let event = Event::Replied {
                comment: c,
                author: &actor.name,
            };
            notify(tx, settings, actor, after, &key, event, None).await
        }
        _ if status_news => notify(tx, settings, actor, after, &key, Event::Status(after.status), None).await,
        _ => Ok(false),
    }?;
    Ok(requester || assignee)
}

/// Tells a ticket's assignee when someone else gives them the ticket, and when its requester writes on it. True when
/// a notice was queued.
async fn tell_assignee(
    tx: &mut Conn,
    settings: &Settings,
    actor: &User,
    before: Option<&Ticket>,
    after: &Ticket,
    comment: Option<&Comment>,
    key: &str,
) -> Result<bool, AppError> {
    let Some(assignee_id) = after.assignee_id else {
        return Ok(false);
    };
    if assignee_id == actor.id {
        return Ok(false);
    }
    let id = after.id.0;
    let newly = before.is_none_or(|b| b.assignee_id != after.assignee_id);
    // The requester, or a colleague of theirs copied on the ticket: the partner's side of the conversation.
    let partner_wrote = comment.is_some_and(|c| c.public) && !actor.role.is_staff();
    let headline = if newly {
        format!("{} assigned ticket #{id} to you.", actor.name)
    } else if partner_wrote && actor.id == after.requester_id {
        format!(
            "{}, the requester, wrote on ticket #{id}, which is assigned to you.",
            actor.name
        )
    } else if partner_wrote {
        format!("{} wrote on ticket #{id}, which is assigned to you.", actor.name)
    } else {
        return Ok(false);
    };
    let agent = users::get(tx, assignee_id).await?;
    if agent.status != partnerdesk_core::accounts::UserStatus::Active || !agent.role.is_staff() {
        return Ok(false);
    }
    let wants = notice_choices::get(tx, agent.id).await?;
    if !(if newly {
        wants.ticket_assigned
    } else {
        wants.requester_replied
    }) {
        return Ok(false);
    }
    let body = comment.map(|c| c.body.as_str()).unwrap_or_default();
    let (text, html) = workspace_notice(settings, id, &headline, body);
    let mail = TicketMail {
        ticket: id,
        to: &agent.email,
        subject: &format!("[#{id}] {}", after.subject),
        text: &text,
        html: &html,
        key: &format!("agent-{key}-u{}", agent.id.0),
    };
    enqueue_ticket_mail(tx, settings, &mail).await?;
    Ok(true)
}

/// A notice to staff: its opening, and the link to the ticket in the workspace.
fn workspace_notice(settings: &Settings, id: i64, headline: &str, body: &str) -> (String, String) {
    let link = format!("{}/agent/tickets/{id}", settings.public_url);
    let (mut text, mut html) = opening(headline, body);
    text.push_str(&format!("Open the ticket: {link}\n"));
    html.push_str(&format!(
        "<p><a href=\"{}\">Open the ticket</a></p>",
        escape_html(&link)
    ));
    (text, html)
}

/// The top of every notice: the reply marker, the headline and the text it is about.
fn opening(headline: &str, body: &str) -> (String, String) {
    let mut text = format!("{REPLY_MARKER}\n\n{headline}\n\n");
    let mut html = format!(
        "<p style=\"color:#888\">{}</p><p>{}</p>",
        escape_html(REPLY_MARKER),
        escape_html(headline)
    );
    if !body.is_empty() {
        text.push_str(&format!("{body}\n\n"));
        html.push_str(&format!(
            "<div style=\"white-space:pre-wrap\">{}</div>",
            escape_html(body)
        ));
    }
    (text, html)
}

/// An automatic message about a ticket, ready for the outbox.
pub struct TicketMail<'a> {
    pub ticket: i64,
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: &'a str,
    /// The outbox key, unique per message; also its `Message-ID` (`<key@domain>`).
    pub key: &'a str,
}

/// Queues `mail` in its recipient's thread of the ticket (answering the last message of it, with the chain from the
/// ticket's root in `References`), answerable at the ticket's signed
/// reply address when one is configured, marked `Auto-Submitted`.
pub async fn enqueue_ticket_mail(tx: &mut Conn, settings: &Settings, mail: &TicketMail<'_>) -> Result<(), AppError> {
    let root = thread_root(settings, mail.ticket);
    let reply_to = settings
        .reply_address
        .as_deref()
        .and_then(|base| partnerdesk_mail::reply_address::for_ticket(base, mail.ticket, &settings.reply_secret));
    let message_id = format!("<{}@{}>", mail.key, mail_domain(settings));
    let (in_reply_to, references) =
        mail_threads::extend(tx, TicketId(mail.ticket), mail.to, &root, &message_id).await?;
    let payload = json!({
        "to": mail.to,
        "subject": mail.subject,
        "text": mail.text,
        "html": mail.html,
        "message_id": message_id,
        "in_reply_to": in_reply_to,
        "references": references,
        "reply_to": reply_to,
        "auto_submitted": true,
    });
    outbox::enqueue(tx, DeliveryKind::Email, mail.key, &payload).await?;
    Ok(())
}

/// The domain of the sender's address, for message ids.
pub fn mail_domain(settings: &Settings) -> String {
    domain_of(&settings.mail_from)
}

/// The domain of a sender (`Name <user@domain>` or `user@domain`), or a placeholder when it has none.
pub fn domain_of(from: &str) -> String {
    from.rsplit_once('@')
        .map(|(_, d)| d.trim_end_matches('>').trim().to_owned())
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| "partnerdesk.invalid".to_owned())
}

/// A short digest of `s`, for message ids built from text that may not appear in one.
pub fn digest(s: &str) -> String {
    use sha2::Digest;
    hex::encode(&sha2::Sha256::digest(s.as_bytes())[..12])
}

/// The message id every notice of ticket `id` follows.
pub fn thread_root(settings: &Settings, id: i64) -> String {
    format!("<ticket-{id}@{}>", mail_domain(settings))
}

/// The last public comment before `c` (or the ticket's description), shortened, for context.
async fn earlier(tx: &mut Conn, ticket: &Ticket, c: &Comment) -> Result<Option<String>, AppError> {
    let row = tx
        .fetch_optional(
            "SELECT body FROM comments WHERE ticket_id = ? AND public = ? AND id < ? ORDER BY id DESC LIMIT 1",
            &partnerdesk_db::args![ticket.id.0, true, c.id.0],
        )
        .await?;
    let body = match row {
        Some(r) => r.text("body")?,
        None => return Ok(None),
    };
    let mut short: String = body.chars().take(EXCERPT_CHARS).collect();
    if short.len() < body.len() {
        short.push_str(" …");
    }
    Ok(Some(short))
}

/// Tells the requester and the people copied on the ticket (all but `actor`, who knows) what happened. True when a
/// notice was queued.
async fn notify(
    tx: &mut Conn,
    settings: &Settings,
    actor: &User,
    ticket: &Ticket,
    key: &str,
    event: Event<'_>,
    first: Option<&Comment>,
) -> Result<bool, AppError> {
    let ids: Vec<_> = std::iter::once(ticket.requester_id)
        .chain(ticket.ccs.iter().copied())
        .filter(|id| *id != actor.id)
        .collect();
    let people = users::by_ids(tx, &ids).await?;
    let recipients: Vec<(&User, bool)> = ids
        .iter()
        .filter_map(|id| people.iter().find(|u| u.id == *id))
        .map(|person| (person, person.id != ticket.requester_id))
        // A copied partner of another organization (the ticket moved) hears nothing more of it.
        .filter(|(person, copied)| {
            person.role.is_staff()
                || !copied
                || (person.organization_id.is_some() && person.organization_id == ticket.organization_id)
        })
        .filter(|(person, _)| person.status != partnerdesk_core::accounts::UserStatus::Suspended)
        .collect();
    if recipients.is_empty() {
        return Ok(false);
    }
    let about = About::of(tx, settings, ticket, &event, first).await?;
    for (person, copied) in recipients {
        tell(tx, settings, actor, ticket, key, &event, first, &about, person, copied).await?;
    }
    Ok(true)
}

/// What every notice of one event says alike, read once for all its recipients: the organization's footer, the
/// message quoted for context, and the files of the comment.
struct About {
    footer: String,
    quoted: Option<String>,
    files_text: String,
    files_html: String,
}

impl About {
    async fn of(
        tx: &mut Conn,
        settings: &Settings,
        ticket: &Ticket,
        event: &Event<'_>,
        first: Option<&Comment>,
    ) -> Result<About, AppError> {
        let new_ticket = format!("{}/portal/tickets/new", settings.public_url);
        let footer = match ticket.organization_id {
            Some(id) => {
                let org = organizations::get(tx, id, partnerdesk_core::policy::OrgScope::All).await?;
                format!("Partner support for {}. File a new ticket: {new_ticket}", org.name)
            }
            None => format!("File a new ticket: {new_ticket}"),
        };
        let quoted = match event {
            Event::Replied { comment, .. } => earlier(tx, ticket, comment).await?,
            _ => None,
        };
        // Files are linked, never attached: each link asks the reader to sign in, so a forwarded notice gives
        // nothing away.
        let shown = match event {
            Event::Replied { comment, .. } => Some(comment.id),
            Event::Filed => first.map(|c| c.id),
            Event::Status(_) => None,
        };
        let (mut files_text, mut files_html) = (String::new(), String::new());
        let files = match shown {
            Some(comment) => files::attachments_of_comments(tx, &[comment]).await?,
            None => Vec::new(),
        };
        if !files.is_empty() {
            files_text.push_str("Files (sign in to download):\n");
            files_html.push_str("<p>Files (sign in to download):</p><ul>");
            for f in &files {
                let name: String = url::form_urlencoded::byte_serialize(f.file_name.as_bytes()).collect();
                let url = format!("{}/attachments/{}/{name}", settings.public_url, f.id);
                files_text.push_str(&format!("- {} ({} bytes): {url}\n", f.file_name, f.size));
                files_html.push_str(&format!(
                    "<li><a href=\"{}\">{}</a> ({} bytes)</li>",
                    escape_html(&url),
                    escape_html(&f.file_name),
                    f.size
                ));
            }
            files_text.push('\n');
            files_html.push_str("</ul>");
        }
        Ok(About {
            footer,
            quoted,
            files_text,
            files_html,
        })
    }
}

/// One notice to `person` (the requester, or someone `copied` on the ticket).
#[allow(clippy::too_many_arguments)]
async fn tell(
    tx: &mut Conn,
    settings: &Settings,
    actor: &User,
    ticket: &Ticket,
    key: &str,
    event: &Event<'_>,
    first: Option<&Comment>,
    about: &About,
    person: &User,
    copied: bool,
) -> Result<(), AppError> {
    let id = ticket.id.0;
    // Staff copied on a ticket work it in the workspace; partners read it in the portal.
    let link = if person.role.is_staff() {
        format!("{}/agent/tickets/{id}", settings.public_url)
    } else {
        format!("{}/portal/tickets/{id}", settings.public_url)
    };
    let whose = if copied {
        format!("ticket #{id}")
    } else {
        format!("your ticket #{id}")
    };
    let (headline, body) = match event {
        Event::Filed if copied => (
            format!(
                "{} filed ticket #{id} \"{}\" and copied you.",
                actor.name, ticket.subject
            ),
            first.map(|c| c.body.clone()).unwrap_or_default(),
        ),
        Event::Filed => (
            format!("A ticket was filed for you: #{id} \"{}\".", ticket.subject),
            first.map(|c| c.body.clone()).unwrap_or_default(),
        ),
        Event::Replied { comment, author } => (format!("{author} replied to {whose}."), comment.body.clone()),
        Event::Status(s) => (
            match s {
                TicketStatus::Solved => {
                    let mut w = whose.clone();
                    if let Some(first) = w.get_mut(0..1) {
                        first.make_ascii_uppercase();
                    }
                    format!("{w} was marked solved. Reply to reopen it.")
                }
                _ if copied => format!("Ticket #{id} is waiting for the requester's reply."),
                _ => format!("Your ticket #{id} is waiting for your reply."),
            },
            String::new(),
        ),
    };
    let (mut text, mut html) = opening(&headline, &body);
    text.push_str(&about.files_text);
    html.push_str(&about.files_html);
    if let Some(q) = &about.quoted {
        let quoted_text: String = q.lines().map(|l| format!("> {l}\n")).collect();
        text.push_str(&format!("Earlier:\n{quoted_text}\n"));
        html.push_str(&format!(
            "<blockquote style=\"color:#555;border-left:3px solid #ccc;padding-left:8px;white-space:pre-wrap\">{}</blockquote>",
            escape_html(q)
        ));
    }
    text.push_str(&format!(
        "Status: {}\nView the ticket: {link}\n\n-- \n{}\n",
        ticket.status.as_str(),
        about.footer
    ));
    html.push_str(&format!(
        "<p>Status: {}<br><a href=\"{}\">View the ticket</a></p><hr><p style=\"color:#888\">{}</p>",
        escape_html(ticket.status.as_str()),
        escape_html(&link),
        escape_html(&about.footer)
    ));
    let mail = TicketMail {
        ticket: id,
        to: &person.email,
        subject: &format!("[#{id}] {}", ticket.subject),
        text: &text,
        html: &html,
        key: &format!("notice-{key}-u{}", person.id.0),
    };
    enqueue_ticket_mail(tx, settings, &mail).await
}
