//! Escalations: a partner names an open ticket, the business impact and what is needed; the support manager on
//! call is notified by e-mail and webhook through the outbox, in the same transaction; nobody acknowledging in
//! time moves it to the next person, then the fallback. Shared by the API and the pages.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use hmac::{KeyInit, Mac};
use partnerdesk_core::escalations::EscalationStatus;
use partnerdesk_core::policy::TicketScope;
use partnerdesk_core::tickets::TicketStatus;
use partnerdesk_core::validation::required_text;
use partnerdesk_core::{Invalid, OrgId, TicketId, UserId, tags};
use partnerdesk_db::escalations::{self, Escalation, NewEscalation};
use partnerdesk_db::outbox::DeliveryKind;
use partnerdesk_db::tickets::{self, NewComment, Ticket};
use partnerdesk_db::users::{self, User};
use partnerdesk_db::{AuditActor, Conn, DbError, organizations, outbox};
use serde::Deserialize;
use serde_json::json;

use crate::context::App;
use crate::error::AppError;

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct EscalationInput {
    /// A ticket of the caller's organization.
    pub ticket_id: Option<i64>,
    /// What the problem costs the partner.
    #[schema(schema_with = escalation_text)]
    pub impact: Option<String>,
    /// What they need from support.
    #[schema(schema_with = escalation_text)]
    pub needed: Option<String>,
    /// By when (a date `YYYY-MM-DD` or an RFC 3339 time); blank for no date.
    #[schema(schema_with = needed_by)]
    pub needed_by: Option<String>,
}

fn escalation_text() -> utoipa::openapi::schema::Object {
    crate::input::schema::text(4000, true)
}

/// `null`, blank, a date or an RFC 3339 time.
fn needed_by() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{AnyOfBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type};
    let string = |format: Option<KnownFormat>, pattern: Option<&str>| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(format.map(SchemaFormat::KnownFormat))
            .pattern(pattern)
    };
    AnyOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .item(string(None, Some(r"^\s*$")))
        .item(string(Some(KnownFormat::Date), None))
        .item(string(Some(KnownFormat::DateTime), None))
        .build()
        .into()
}

fn parse_when(errors: &mut Invalid, raw: Option<&str>) -> Option<DateTime<Utc>> {
    let raw = raw.map(str::trim).filter(|s| !s.is_empty())?;
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        return d.and_hms_opt(23, 59, 0).map(|t| t.and_utc());
    }
    errors.push(
        "needed_by",
        "InvalidValue",
        format!("'{raw}' is not a date (YYYY-MM-DD) or time"),
    );
    None
}

/// The HMAC that makes an acknowledge link valid for one manager and one escalation.
/// Bound to the escalation's level, so that a link dies once the escalation has moved on to someone else.
pub fn ack_signature(state: &App, escalation: i64, user: UserId, level: i64) -> String {
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&state.settings.ack_secret)
        .expect("HMAC takes keys of any length");
    mac.update(format!("ack:{escalation}:{user}:{level}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

pub fn ack_url(state: &App, escalation: i64, user: UserId, level: i64) -> String {
    state.url(&format!(
        "/escalations/{escalation}/ack?user={user}&sig={}",
        ack_signature(state, escalation, user, level)
    ))
}

/// Queues the e-mail and the webhook that tell `manager` about `e` (once per escalation and level).
async fn notify(
    tx: &mut Conn,
    state: &App,
    e: &Escalation,
    manager: &User,
    org_name: &str,
    subject_prefix: &str,
) -> Result<(), AppError> {
    let ticket_url = state.url(&format!("/agent/tickets/{}", e.ticket_id));
    let ack = ack_url(state, e.id, manager.id, e.level);
    let needed_by = e
        .needed_by
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| "not given".into());
    let subject = format!(
        "{subject_prefix}Escalation #{} from {org_name}: ticket #{}",
        e.id, e.ticket_id
    );
    let text = format!(
        "{org_name} escalated ticket #{ticket}.\n\nBusiness impact:\n{impact}\n\nWhat they need:\n{needed}\n\nNeeded by: {needed_by}\n\nTicket: {ticket_url}\nAcknowledge (you are on call): {ack}\n",
        ticket = e.ticket_id,
        impact = e.impact,
        needed = e.needed,
    );
    let esc = partnerdesk_core::text::escape_html;
    let html = format!(
        "<p><strong>{org}</strong> escalated <a href=\"{tu}\">ticket #{t}</a>.</p><h3>Business impact</h3><p>{i}</p><h3>What they need</h3><p>{n}</p><p>Needed by: {nb}</p><p><a href=\"{ack}\">Acknowledge the escalation</a></p>",
        org = esc(org_name),
        tu = esc(&ticket_url),
        t = e.ticket_id,
        i = esc(&e.impact),
        n = esc(&e.needed),
        nb = esc(&needed_by),
        ack = esc(&ack),
    );
    let key = format!("escalation-{}-level-{}", e.id, e.level);
    // Past the end of its chain an escalation goes to every support manager: one e-mail each, one webhook.
    let email_key = if everyone_notified(e) {
        format!("{key}-to-{}-email", manager.id)
    } else {
        format!("{key}-email")
    };
    let email = json!({"to": manager.email, "subject": subject, "text": text, "html": html, "message_id": format!("<{email_key}@partnerdesk>"), "auto_submitted": true});
    outbox::enqueue(tx, DeliveryKind::Email, &email_key, &email).await?;
    if let Some(url) = &state.settings.webhook_url {
        // Slack reads <...> as links and mentions: what partners wrote is escaped, never markup.
        let slack_escape = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
        let (impact, needed, org_name, subject) = (
            slack_escape(&e.impact),
            slack_escape(&e.needed),
            slack_escape(org_name),
            slack_escape(&subject),
        );
        let slack = json!({
            "text": format!("{subject_prefix}Escalation #{} from {org_name} on ticket #{}: {impact}", e.id, e.ticket_id),
            "blocks": [
                {"type": "section", "text": {"type": "mrkdwn", "text": format!("*{subject}*\n*Impact:* {impact}\n*Needed:* {needed}\n*By:* {needed_by}")}},
                {"type": "section", "text": {"type": "mrkdwn", "text": format!("On call: {} ({}). <{ticket_url}|Open the ticket> · <{ack}|Acknowledge>", slack_escape(&manager.name), slack_escape(&manager.email))}}
            ],
            "escalation": {"id": e.id, "ticket_id": e.ticket_id, "organization": org_name, "level": e.level, "notified_user_id": manager.id, "notified_email": manager.email},
        });
        outbox::enqueue(
            tx,
            DeliveryKind::Webhook,
            &format!("{key}-webhook"),
            &json!({"url": url, "body": slack, "delivery": key}),
        )
        .await?;
    }
    Ok(())
}

/// Whether `e` has gone past the end of its chain (or had none), and so went to every support manager.
pub fn everyone_notified(e: &Escalation) -> bool {
    usize::try_from(e.level).is_ok_and(|level| level >= e.chain.len())
}

/// The schedule's chain without the people who can no longer take escalations (suspended, or no longer support
/// managers since the schedule was saved).
async fn usable_chain(tx: &mut Conn, chain: Vec<UserId>) -> Result<Vec<UserId>, AppError> {
    let people = users::by_ids(tx, &chain).await?;
    Ok(chain
        .into_iter()
        .filter(|id| people.iter().any(|u| u.id == *id && u.may_take_escalations()))
        .collect())
}

/// Sends `e` to every support manager (every admin when there is none), so that an escalation always reaches
/// somebody: its chain was empty, or nobody in it acknowledged. It stays open on the dashboard, without a deadline.
async fn notify_everyone(
    tx: &mut Conn,
    state: &App,
    e: &Escalation,
    org_name: &str,
    subject_prefix: &str,
) -> Result<(), AppError> {
    let mut people = users::escalation_takers(tx).await?;
    if people.is_empty() {
        people = users::active_admins(tx).await?;
    }
    tracing::warn!(
        escalation = e.id,
        level = e.level,
        recipients = people.len(),
        "escalation sent to every support manager"
    );
    for person in &people {
        notify(tx, state, e, person, org_name, subject_prefix).await?;
    }
    Ok(())
}

/// Files an escalation as `contact` (a provisioned user of the ticket's organization).
pub async fn submit(state: &App, contact: &User, input: EscalationInput, via: &str) -> Result<Escalation, AppError> {
    let mut errors = Invalid::default();
    let impact = required_text(&mut errors, "impact", input.impact.as_deref().unwrap_or_default(), 4000);
    let needed = required_text(&mut errors, "needed", input.needed.as_deref().unwrap_or_default(), 4000);
    let needed_by = parse_when(&mut errors, input.needed_by.as_deref());
    if input.ticket_id.is_none() {
        errors.push("ticket_id", "BlankValue", "name the ticket to escalate");
    }
    errors.into_result()?;
    let org_id = contact.organization_id.ok_or_else(|| {
        AppError::invalid(
            "contact",
            "InvalidValue",
            "escalations come from a partner organization's representatives",
        )
    })?;
    let mut tx = state.db.begin().await?;
    let ticket = escalated_ticket(&mut tx, org_id, TicketId(input.ticket_id.unwrap_or_default())).await?;
    let org = organizations::get(&mut tx, org_id, partnerdesk_core::policy::OrgScope::All).await?;
    let now = partnerdesk_db::now();
    let (schedule, row) = escalations::schedule(&mut tx, now).await?;
    let chain = usable_chain(&mut tx, schedule.chain_at(now)).await?;
    let deadline = (!chain.is_empty()).then(|| now + TimeDelta::minutes(row.ack_timeout_minutes.max(1)));
    let manager = match chain.first() {
        Some(id) => Some(users::get(&mut tx, *id).await?),
        None => None,
    };
    let new = NewEscalation {
        ticket_id: ticket.id,
        organization_id: org_id,
        contact_user_id: contact.id,
        impact: &impact,
        needed: &needed,
        needed_by,
        via,
        chain: &chain,
        ack_deadline: deadline,
    };
    let e = escalations::create(&mut tx, &new, &contact.audit_actor()).await?;
    flag_ticket(&mut tx, state, &ticket, contact, manager.as_ref(), (&impact, &needed)).await?;
    match &manager {
        Some(m) => {
            tracing::info!(escalation = e.id, level = 0, manager = %m.id, "escalation sent to the manager on call");
            notify(&mut tx, state, &e, m, &org.name, "").await?
        }
        None => notify_everyone(&mut tx, state, &e, &org.name, "[nobody on call] ").await?,
    }
    tx.commit().await?;
    state.outbox_wakeup.notify_one();
    Ok(e)
}

/// The ticket a partner escalates, read and locked in the escalation's transaction: one of the organization's
/// open tickets.
async fn escalated_ticket(conn: &mut Conn, org_id: OrgId, id: TicketId) -> Result<Ticket, AppError> {
    match tickets::get_for_update(conn, id, TicketScope::Organization(org_id)).await {
        Ok(t) if t.status.is_open_for_requester() => Ok(t),
        Ok(_) => Err(AppError::invalid(
            "ticket_id",
            "InvalidValue",
            "only open tickets can be escalated",
        )),
        Err(DbError::NotFound) => Err(AppError::invalid(
            "ticket_id",
            "InvalidValue",
            "no open ticket of your organization has this number",
        )),
        Err(e) => Err(e.into()),
    }
}

/// The ticket is flagged and raised, and the conversation says what happens next.
async fn flag_ticket(
    tx: &mut Conn,
    state: &App,
    ticket: &Ticket,
    contact: &User,
    manager: Option<&User>,
    (impact, needed): (&str, &str),
) -> Result<(), AppError> {
    let mut f = ticket.fields();
    let raise = state.settings.escalation_priority;
    if f.priority.is_none_or(|p| p < raise) {
        f.priority = Some(raise);
    }
    f.tags = tags::union(&f.tags, &["escalated".to_owned()]);
    if f.status == TicketStatus::Pending || f.status == TicketStatus::Hold {
        f.status = TicketStatus::Open;
    }
    let who = manager
        .map(|m| m.name.clone())
        .unwrap_or_else(|| "the support managers".into());
    let note = NewComment {
        author_id: Some(contact.id),
        body: format!(
            "Escalated by {}.\n\nBusiness impact: {impact}\nNeeded: {needed}\n\nThe support manager on call ({who}) has been notified.",
            contact.name
        ),
        public: true,
        via: "escalation".into(),
    };
    tickets::update(tx, ticket, &f, Some(&note), &contact.audit_actor()).await?;
    Ok(())
}

/// Acknowledges (or resolves) an escalation as `user`, a support manager or admin.
pub async fn transition(state: &App, id: i64, user: &User, to: EscalationStatus) -> Result<Escalation, AppError> {
    if user.status == partnerdesk_core::accounts::UserStatus::Suspended {
        return Err(AppError::Forbidden("This account is suspended.".into()));
    }
    if !user.may_handle_escalations() {
        return Err(AppError::Forbidden(
            "Only support managers and admins take escalations.".into(),
        ));
    }
    let e = escalations::get(&mut state.db.conn(), id).await?;
    let to = e
        .status
        .transition(to)
        .map_err(|why| AppError::invalid("status", "InvalidValue", why))?;
    let mut tx = state.db.begin().await?;
    let after = escalations::transition(&mut tx, &e, to, user.id, &user.audit_actor())
        .await?
        .ok_or_else(|| AppError::invalid("status", "InvalidValue", "someone else changed the escalation first"))?;
    tx.commit().await?;
    Ok(after)
}

/// Moves escalations nobody acknowledged by `now` to the next person of their chain (the clock is a parameter, so
/// tests need not wait). Returns how many moved.
pub async fn check_timeouts(state: &App, now: DateTime<Utc>) -> Result<usize, AppError> {
    let due = escalations::overdue(&mut state.db.conn(), now).await?;
    let (_, row) = escalations::schedule(&mut state.db.conn(), now).await?;
    let system = AuditActor {
        id: None,
        label: "escalation timeout".into(),
    };
    let mut moved = 0;
    for e in due {
        let mut tx = state.db.begin().await?;
        let Some(after) = escalations::advance(
            &mut tx,
            &e,
            Some(now + TimeDelta::minutes(row.ack_timeout_minutes.max(1))),
            &system,
        )
        .await?
        else {
            continue;
        };
        let org = organizations::get(&mut tx, e.organization_id, partnerdesk_core::policy::OrgScope::All).await?;
        match after.notified_user_id {
            Some(next) if !everyone_notified(&after) => {
                tracing::info!(escalation = e.id, level = after.level, manager = %next, "not acknowledged in time: sent to the next manager");
                let manager = users::get(&mut tx, next).await?;
                notify(&mut tx, state, &after, &manager, &org.name, "[not acknowledged] ").await?;
            }
            _ => {
                notify_everyone(
                    &mut tx,
                    state,
                    &after,
                    &org.name,
                    "[not acknowledged by anyone on call] ",
                )
                .await?
            }
        }
        tx.commit().await?;
        state.outbox_wakeup.notify_one();
        moved += 1;
    }
    Ok(moved)
}
