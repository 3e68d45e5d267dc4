//! Incoming mail into tickets, keeping the product's rule: only provisioned people file tickets or comment.
//!
//! A message is matched to a ticket by, in order: a signed reply address among its recipients, a message id of
//! ours it answers (`In-Reply-To`/`References`), `[#id]` in its subject. Then:
//! - from the requester or a provisioned, active user of the ticket's organization: a public comment;
//! - from staff: a public reply (a first line `#note` makes it an internal note);
//! - no ticket matched, from an active partner: a new ticket, routed like the partner form;
//! - from anyone else (unknown, invited but not activated, suspended, or about another organization's ticket):
//!   nothing is stored as a ticket or comment; the message is kept for admins with the reason, and the sender gets
//!   one automatic answer a day saying that accounts come from their account manager.
//!
//! Machines are not answered (`Auto-Submitted`, `Precedence: bulk`, mailer-daemon, our own address), bounces mark
//! the failed address, and a sender past `MAX_PER_HOUR` is ignored. Each message is handled once: its Message-ID is
//! recorded in the same transaction as what it produced.

use chrono::{TimeDelta, Utc};
use partnerdesk_core::TicketId;
use partnerdesk_core::accounts::{NO_ACCOUNT_HELP, Role, UserStatus};
use partnerdesk_db::inbound::{self as store, NewInbound, Outcome};
use partnerdesk_db::outbox::{self, DeliveryKind};
use partnerdesk_db::users::{self, User};
use partnerdesk_db::{Conn, DbError, mail_threads, tickets as ticket_store};
use partnerdesk_mail::inbound::{self as parse, Inbound};
use serde_json::json;

use crate::context::App;
use crate::error::AppError;
use crate::tickets::{self, CommentInput, TicketInput};
use crate::uploads::attachments;

/// Messages a sender may send in an hour before the rest are ignored (a loop between auto-responders stops here).
pub const MAX_PER_HOUR: i64 = 30;
/// Automatic answers to refused mail in a day, in all.
pub const MAX_ANSWERS_A_DAY: i64 = 500;
/// How much of a refused message admins see.
const EXCERPT_CHARS: usize = 2000;

/// What became of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    Comment {
        ticket: i64,
    },
    Ticket {
        ticket: i64,
    },
    Refused(String),
    Ignored(String),
    /// Handled before (the same Message-ID).
    Repeat,
}

/// Handles one raw RFC 5322 message.
pub async fn ingest(app: &App, raw: &[u8]) -> Result<Handled, AppError> {
    let Some(m) = parse::parse(raw) else {
        return Err(AppError::invalid("message", "InvalidValue", "not an e-mail message"));
    };
    let mut conn = app.db.conn();
    if store::seen(&mut conn, &m.message_id).await? {
        return Ok(Handled::Repeat);
    }
    if let Some(why) = noise(app, &m, &mut conn).await? {
        return ignore(app, &m, &why).await;
    }
    let sender = match users::by_email(&mut conn, &m.from).await {
        Ok(u) => Some(u),
        Err(DbError::NotFound) => None,
        Err(e) => return Err(e.into()),
    };
    let matched = matched_ticket(app, &m, sender.as_ref(), &mut conn).await?;
    let Some(user) = sender else {
        return refuse(app, &m, "the sender has no account").await;
    };
    let authentic = match &app.settings.mail_trusted_authserv_id {
        Some(authserv) => authenticated(&m.authentication_results, authserv, &m.from),
        None => true,
    };
    let ticket = match matched {
        // The signed address is proof of having received our notice: accepted as it comes (for partners).
        Match::Ticket(id, Via::Signed) if user.role == Role::EndUser || authentic => Some(id),
        // A sender address can be forged: a reply matched by thread or subject needs the sender's mail to pass
        // authentication where that is configured, and staff always reply through the signed address.
        Match::Ticket(id, Via::Thread) if user.role == Role::EndUser && authentic => Some(id),
        Match::Ticket(..) if user.role.is_staff() => {
            let why = "staff reply by e-mail through the ticket's signed address, from authenticated mail";
            return refuse(app, &m, why).await;
        }
        Match::Ticket(..) => return refuse(app, &m, "the message did not pass DMARC, DKIM or SPF").await,
        Match::Nothing => None,
        Match::Altered => return refuse(app, &m, "sent to a ticket address we never gave out").await,
        Match::Foreign => return refuse(app, &m, "the sender may not write on the ticket in the subject").await,
    };
    match user.status {
        UserStatus::Active => {}
        UserStatus::Invited => return refuse(app, &m, "the sender's account is not activated yet").await,
        UserStatus::Suspended => return refuse(app, &m, "the sender's account is suspended").await,
    }
    match ticket {
        Some(id) => comment(app, &m, &user, id).await,
        None if user.role == Role::EndUser => new_ticket(app, &m, &user).await,
        None => refuse(app, &m, "staff file new tickets in the workspace, not by e-mail").await,
    }
}

/// Why a message is not for people to read, if it is not: a machine sent it, it is ours, or its sender is
/// flooding.
async fn noise(app: &App, m: &Inbound, conn: &mut Conn) -> Result<Option<String>, AppError> {
    if let Some(why) = &m.automatic {
        return Ok(Some(format!("sent automatically ({why})")));
    }
    if m.from.is_empty() {
        return Ok(Some("no sender".into()));
    }
    if own_address(app).is_some_and(|own| own == m.from) {
        return Ok(Some("sent by partnerdesk itself".into()));
    }
    let hour_ago = partnerdesk_db::now() - TimeDelta::hours(1);
    if store::count_from(conn, &m.from, hour_ago).await? >= MAX_PER_HOUR {
        return Ok(Some(format!(
            "more than {MAX_PER_HOUR} messages from the sender in an hour"
        )));
    }
    Ok(None)
}

/// Our sender address (`PARTNERDESK_MAIL_FROM`), lower case.
fn own_address(app: &App) -> Option<String> {
    let from = &app.settings.mail_from;
    let addr = match (from.rfind('<'), from.rfind('>')) {
        (Some(a), Some(b)) if a < b => &from[a + 1..b],
        _ => from.as_str(),
    };
    let addr = addr.trim().to_ascii_lowercase();
    addr.contains('@').then_some(addr)
}

/// How a message was matched to its ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    /// Its signed reply address.
    Signed,
    /// A message id of ours it answers, or `[#id]` in its subject: anyone can write those.
    Thread,
}

/// What a message was matched to.
enum Match {
    Ticket(TicketId, Via),
    Nothing,
    /// Sent to a ticket address (`support+t...`) whose tag is wrong: never trusted, never a new ticket either.
    Altered,
    /// `[#id]` names a ticket the sender may not see.
    Foreign,
}

/// The ticket a message is about, by signed address, then by the message ids it answers, then by `[#id]` in the
/// subject (only when the sender may see that ticket).
async fn matched_ticket(app: &App, m: &Inbound, sender: Option<&User>, conn: &mut Conn) -> Result<Match, AppError> {
    if let Some(base) = &app.settings.reply_address {
        let secret = &app.settings.reply_secret;
        if let Some(id) = m
            .recipients
            .iter()
            .find_map(|r| partnerdesk_mail::reply_address::ticket_of(r, base, secret))
        {
            return Ok(Match::Ticket(TicketId(id), Via::Signed));
        }
        let local = base.split('@').next().unwrap_or_default().to_ascii_lowercase();
        let prefix = local.split('+').next().unwrap_or_default().to_owned() + "+t";
        if m.recipients.iter().any(|r| r.starts_with(&prefix)) {
            return Ok(Match::Altered);
        }
    }
    let domain = crate::notifications::mail_domain(&app.settings);
    if let Some(id) = m.answers.iter().find_map(|a| ticket_in_message_id(a, &domain)) {
        return Ok(Match::Ticket(TicketId(id), Via::Thread));
    }
    let Some(id) = ticket_in_subject(&m.subject) else {
        return Ok(Match::Nothing);
    };
    let Some(user) = sender else {
        return Ok(Match::Nothing);
    };
    match ticket_store::get(conn, TicketId(id), user.actor().ticket_scope()).await {
        Ok(t) => Ok(Match::Ticket(t.id, Via::Thread)),
        Err(DbError::NotFound) => Ok(Match::Foreign),
        Err(e) => Err(e.into()),
    }
}

/// `ticket-5@domain` or `notice-t5-...@domain` (our own message ids) → 5.
fn ticket_in_message_id(id: &str, domain: &str) -> Option<i64> {
    let (local, d) = id.rsplit_once('@')?;
    if !d.eq_ignore_ascii_case(domain) {
        return None;
    }
    let digits = local
        .strip_prefix("ticket-")
        .or_else(|| local.strip_prefix("notice-t").and_then(|r| r.split('-').next()))?;
    digits.parse().ok().filter(|n: &i64| *n > 0)
}

/// `[#123]` anywhere in the subject → 123.
fn ticket_in_subject(subject: &str) -> Option<i64> {
    let start = subject.find("[#")? + 2;
    let rest = &subject[start..];
    let end = rest.find(']')?;
    rest[..end].parse().ok().filter(|n: &i64| *n > 0)
}

/// A comment by `user` on ticket `id`, when they may write on it.
async fn comment(app: &App, m: &Inbound, user: &User, id: TicketId) -> Result<Handled, AppError> {
    let staff = user.role.is_staff();
    // A first look, outside any transaction, before files are stored for it; `update_in` checks again, locked.
    let ticket = match ticket_store::get(&mut app.db.conn(), id, user.actor().ticket_scope()).await {
        Ok(t) => t,
        Err(DbError::NotFound) => return refuse(app, m, "the sender may not write on that ticket").await,
        Err(e) => return Err(e.into()),
    };
    let (public, body) = match internal_note(&m.text) {
        Some(rest) if staff => (false, rest.to_owned()),
        _ => (true, m.text.clone()),
    };
    let (files, too_big) = stage_files(app, user, m).await?;
    let mut tx = app.db.begin().await?;
    let input = TicketInput {
        comment: Some(CommentInput {
            body: Some(with_files_note(body, files.is_some())),
            public: Some(public),
            uploads: files.map(|t| vec![t]),
            ..CommentInput::default()
        }),
        ..TicketInput::default()
    };
    let (_, told) = match tickets::update_in(&mut tx, app, user, ticket.id, input, "email").await {
        Ok(done) => done,
        Err(e @ (AppError::Invalid(_) | AppError::Forbidden(_))) => {
            drop(tx);
            return refuse(app, m, &format!("the reply could not be added: {e}")).await;
        }
        Err(e) => return Err(e),
    };
    let fresh = store::record(&mut tx, &record(m, Outcome::Comment, None, Some(ticket.id.0))).await?;
    if !fresh {
        return Ok(Handled::Repeat);
    }
    // The sender's next notice answers this message, so that their client keeps one conversation.
    if !m.message_id.ends_with("@no-message-id") {
        let root = crate::notifications::thread_root(&app.settings, ticket.id.0);
        mail_threads::extend(&mut tx, ticket.id, &m.from, &root, &format!("<{}>", m.message_id)).await?;
    }
    let told = tell_about_large_files(&mut tx, app, m, ticket.id.0, &too_big).await? || told;
    tx.commit().await?;
    if told {
        app.outbox_wakeup.notify_one();
    }
    Ok(Handled::Comment { ticket: ticket.id.0 })
}

/// The rest of a staff reply whose first line is `#note` (in any case, spaces allowed), which makes it internal.
fn internal_note(text: &str) -> Option<&str> {
    let (first, rest) = text.split_once('\n').unwrap_or((text, ""));
    let first = first.trim().trim_start_matches('#').trim();
    (text.trim_start().starts_with('#') && first.eq_ignore_ascii_case("note")).then(|| rest.trim())
}

/// A new ticket from a partner, when its sender is trusted for new tickets.
async fn new_ticket(app: &App, m: &Inbound, user: &User) -> Result<Handled, AppError> {
    if let Some(authserv) = &app.settings.mail_trusted_authserv_id
        && !authenticated(&m.authentication_results, authserv, &m.from)
    {
        return refuse(
            app,
            m,
            "new tickets by e-mail need a message that passed DMARC, DKIM or SPF",
        )
        .await;
    }
    let (files, too_big) = stage_files(app, user, m).await?;
    let mut tx = app.db.begin().await?;
    let input = TicketInput {
        subject: Some(m.subject.clone()),
        comment: Some(CommentInput {
            body: Some(with_files_note(m.text.clone(), files.is_some())),
            uploads: files.map(|t| vec![t]),
            ..CommentInput::default()
        }),
        ..TicketInput::default()
    };
    let (created, told) = match tickets::create_in(&mut tx, app, user, input, "email").await {
        Ok(done) => done,
        Err(e @ (AppError::Invalid(_) | AppError::Forbidden(_))) => {
            drop(tx);
            return refuse(app, m, &format!("the ticket could not be filed: {e}")).await;
        }
        Err(e) => return Err(e),
    };
    let id = created.ticket.id.0;
    if !store::record(&mut tx, &record(m, Outcome::Ticket, None, Some(id))).await? {
        return Ok(Handled::Repeat);
    }
    let told = tell_about_large_files(&mut tx, app, m, id, &too_big).await? || told;
    tx.commit().await?;
    if told {
        app.outbox_wakeup.notify_one();
    }
    Ok(Handled::Ticket { ticket: id })
}

/// Whether the `Authentication-Results` header our receiving server (`authserv`) added says that mail from the
/// sender's own domain passed: DMARC for the From domain, or DKIM signed by it, or SPF for it. Only the topmost
/// header from `authserv` counts (the one our server added; a sender can write others into the message, which the
/// server should strip), and a pass for another domain counts for nothing.
pub fn authenticated(results: &[String], authserv: &str, from: &str) -> bool {
    let Some((_, domain)) = from.rsplit_once('@') else {
        return false;
    };
    let ours = results.iter().find(|h| {
        let id = h
            .split(';')
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .next()
            .unwrap_or_default();
        id.eq_ignore_ascii_case(authserv)
    });
    let Some(header) = ours else { return false };
    header.split(';').skip(1).any(|result| {
        let r = result.trim().to_ascii_lowercase();
        let passed = ["dmarc=pass", "dkim=pass", "spf=pass"].iter().any(|p| r.starts_with(p));
        // The domain the result is about: header.from (DMARC), header.d / header.i (DKIM), smtp.mailfrom (SPF).
        let about = r.split_whitespace().find_map(|prop| {
            ["header.from=", "header.d=", "header.i=", "smtp.mailfrom="]
                .iter()
                .find_map(|k| prop.strip_prefix(k))
        });
        let about = about.map(|a| a.rsplit('@').next().unwrap_or_default().trim_end_matches(')'));
        passed && about.is_some_and(|a| a == domain)
    })
}

/// The files a message carries, stored under one upload token (as `POST /api/v2/uploads` stores them) for its
/// comment to take; and the names of those over the attachment limit, which are not kept. Files stored for a
/// message that is then refused expire with their token.
async fn stage_files(app: &App, user: &User, m: &Inbound) -> Result<(Option<String>, Vec<String>), AppError> {
    let limit = app.settings.max_attachment_bytes;
    let mut token: Option<String> = None;
    let mut too_big = Vec::new();
    for a in &m.attachments {
        if a.bytes.len() as u64 > limit {
            too_big.push(a.name.clone());
            continue;
        }
        let name = attachments::safe_file_name(&a.name).unwrap_or_else(|_| "attachment".to_owned());
        let body = futures::stream::iter([Ok::<_, String>(bytes::Bytes::copy_from_slice(&a.bytes))]);
        let (upload, _) =
            attachments::store_file(app, user, token.as_deref(), &name, Some(&a.content_type), body).await?;
        token = Some(upload.token);
    }
    Ok((token, too_big))
}

/// A comment with files needs words: a message of files alone says so.
fn with_files_note(text: String, has_files: bool) -> String {
    if text.trim().is_empty() && has_files {
        "(files sent by e-mail)".to_owned()
    } else {
        text
    }
}

/// Tells the sender which of their files were over the attachment limit, and where the large-file uploader for the
/// ticket is. True when a message was queued.
async fn tell_about_large_files(
    tx: &mut Conn,
    app: &App,
    m: &Inbound,
    ticket: i64,
    too_big: &[String],
) -> Result<bool, AppError> {
    if too_big.is_empty() {
        return Ok(false);
    }
    let limit_mb = app.settings.max_attachment_bytes / (1024 * 1024);
    let link = format!("{}/portal/tickets/{ticket}", app.settings.public_url);
    let names = too_big.join(", ");
    let text = format!(
        "These files were over the {limit_mb} MB attachment limit and were not added to ticket #{ticket}: {names}.\n\n\
         Upload them with the large-file uploader on the ticket's page: {link}\n"
    );
    let html = format!(
        "<p>These files were over the {limit_mb} MB attachment limit and were not added to ticket #{ticket}: {}.</p>\
         <p>Upload them with the large-file uploader on <a href=\"{}\">the ticket's page</a>.</p>",
        partnerdesk_core::text::escape_html(&names),
        partnerdesk_core::text::escape_html(&link)
    );
    let key = format!("too-large-{}", crate::notifications::digest(&m.message_id));
    let mail = crate::notifications::TicketMail {
        ticket,
        to: &m.from,
        subject: &format!("[#{ticket}] Files too large for e-mail"),
        text: &text,
        html: &html,
        key: &key,
    };
    crate::notifications::enqueue_ticket_mail(tx, &app.settings, &mail).await?;
    Ok(true)
}

/// `pat+anything@acme.example` → `pat@acme.example`.
fn mailbox_of(address: &str) -> String {
    match address.rsplit_once('@') {
        Some((local, domain)) => format!("{}@{domain}", local.split('+').next().unwrap_or(local)),
        None => address.to_owned(),
    }
}

fn record<'a>(m: &'a Inbound, outcome: Outcome, reason: Option<&'a str>, ticket: Option<i64>) -> NewInbound<'a> {
    NewInbound {
        message_id: &m.message_id,
        sender: &m.from,
        subject: &m.subject,
        outcome,
        reason,
        excerpt: None,
        ticket_id: ticket,
    }
}

async fn ignore(app: &App, m: &Inbound, why: &str) -> Result<Handled, AppError> {
    let mut tx = app.db.begin().await?;
    for address in &m.bounced {
        store::mark_failing(
            &mut tx,
            address,
            &format!("a delivery report from {} said it failed", m.from),
        )
        .await?;
    }
    if !store::record(&mut tx, &record(m, Outcome::Ignored, Some(why), None)).await? {
        return Ok(Handled::Repeat);
    }
    tx.commit().await?;
    Ok(Handled::Ignored(why.to_owned()))
}

/// Keeps the message for admins with `why`, and answers its sender once a day.
async fn refuse(app: &App, m: &Inbound, why: &str) -> Result<Handled, AppError> {
    let excerpt: String = m.text.chars().take(EXCERPT_CHARS).collect();
    let mut tx = app.db.begin().await?;
    let row = NewInbound {
        excerpt: Some(&excerpt),
        ..record(m, Outcome::Refused, Some(why), None)
    };
    if !store::record(&mut tx, &row).await? {
        return Ok(Handled::Repeat);
    }
    let day = Utc::now().format("%Y-%m-%d").to_string();
    // One answer a day per mailbox (`pat+1@` and `pat+2@` are one), and no more than `MAX_ANSWERS_A_DAY` in all:
    // a forged sender must not turn partnerdesk into a way to mail someone else.
    let mailbox = mailbox_of(&m.from);
    let answered = store::answers_on(&mut tx, &day).await? < MAX_ANSWERS_A_DAY
        && store::claim_auto_reply(&mut tx, &mailbox, &day).await?;
    if answered {
        // What the sender wrote is not repeated back.
        let text = format!("Your message to partner support was not filed.\n\n{NO_ACCOUNT_HELP}\n");
        let html = format!(
            "<p>Your message to partner support was not filed.</p><p>{}</p>",
            partnerdesk_core::text::escape_html(NO_ACCOUNT_HELP)
        );
        let domain = crate::notifications::mail_domain(&app.settings);
        let key = format!("refused-{mailbox}-{day}");
        let payload = json!({
            "to": m.from,
            "subject": "Your message to partner support",
            "text": text,
            "html": html,
            "message_id": format!("<refused-{}@{domain}>", crate::notifications::digest(&key)),
            "in_reply_to": format!("<{}>", m.message_id),
            "references": format!("<{}>", m.message_id),
            "auto_submitted": true,
        });
        outbox::enqueue(&mut tx, DeliveryKind::Email, &key, &payload).await?;
    }
    tx.commit().await?;
    if answered {
        app.outbox_wakeup.notify_one();
    }
    Ok(Handled::Refused(why.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_message_ids_name_tickets() {
        assert_eq!(ticket_in_message_id("ticket-5@vendor.test", "vendor.test"), Some(5));
        assert_eq!(
            ticket_in_message_id("notice-t12-c3-u4@VENDOR.test", "vendor.test"),
            Some(12)
        );
        assert_eq!(ticket_in_message_id("ticket-5@elsewhere.test", "vendor.test"), None);
        assert_eq!(ticket_in_message_id("ticket-x@vendor.test", "vendor.test"), None);
        assert_eq!(ticket_in_subject("Re: [#42] Sync"), Some(42));
        assert_eq!(ticket_in_subject("Re: [#] Sync"), None);
        assert_eq!(ticket_in_subject("No number"), None);
    }

    #[test]
    fn only_the_trusted_server_vouches() {
        let pat = "pat@acme.example";
        let ok =
            vec!["mx.vendor.test; dkim=pass header.d=acme.example; spf=fail smtp.mailfrom=x@evil.example".to_owned()];
        assert!(authenticated(&ok, "mx.vendor.test", pat));
        assert!(!authenticated(&ok, "other.test", pat));
        let dmarc = vec!["mx.vendor.test; dmarc=pass (p=none) header.from=acme.example".to_owned()];
        assert!(authenticated(&dmarc, "mx.vendor.test", pat));
        let elsewhere =
            vec!["mx.vendor.test; dkim=pass header.d=evil.example; spf=pass smtp.mailfrom=a@evil.example".to_owned()];
        assert!(
            !authenticated(&elsewhere, "mx.vendor.test", pat),
            "a pass for another domain"
        );
        let forged = vec!["mx.evil.test; dmarc=pass header.from=acme.example".to_owned()];
        assert!(!authenticated(&forged, "mx.vendor.test", pat));
        let failed = vec!["mx.vendor.test; dmarc=fail header.from=acme.example; dkim=none".to_owned()];
        assert!(!authenticated(&failed, "mx.vendor.test", pat));
        let second = vec![
            "mx.vendor.test; dmarc=fail header.from=acme.example".to_owned(),
            "mx.vendor.test; dmarc=pass header.from=acme.example".to_owned(),
        ];
        assert!(
            !authenticated(&second, "mx.vendor.test", pat),
            "only the topmost header of our server counts"
        );
    }

    #[test]
    fn notes_and_mailboxes() {
        assert_eq!(internal_note("#note\nThe proxy."), Some("The proxy."));
        assert_eq!(internal_note("  # Note \r\nThe proxy."), Some("The proxy."));
        assert_eq!(internal_note("#notes are public"), None);
        assert_eq!(internal_note("A #note later"), None);
        assert_eq!(mailbox_of("pat+1@acme.example"), "pat@acme.example");
        assert_eq!(mailbox_of("pat@acme.example"), "pat@acme.example");
    }
}
