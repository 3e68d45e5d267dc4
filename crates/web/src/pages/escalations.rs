//! Escalation pages: the personalised form behind each partner's link (no sign-in; the contact must be a
//! provisioned user of that organization; rate-limited), the same form inside the portal, the acknowledge page
//! the e-mail links to, and the escalations dashboard. The admin's on-call page is in `oncall`.

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use partnerdesk_core::policy::{OrgScope, TicketScope};
use partnerdesk_core::{OrgId, UserId, credentials};
use partnerdesk_db::escalations::{self, Escalation};
use partnerdesk_db::tickets::TicketFilter;
use partnerdesk_db::{DbError, Window, organizations, tickets, users};
use serde::Deserialize;

use partnerdesk_app::AppError;

use partnerdesk_core::escalations::EscalationStatus;

use crate::pages::form::Form;
use crate::pages::views::{self, Choice};
use crate::pages::{Layout, PageError, render};
use crate::session::{self, SignedIn, constant_time_eq};
use crate::state::AppState;
use partnerdesk_app::escalations::{self as escalating, EscalationInput, ack_signature};

#[derive(Template)]
#[template(path = "escalate.html")]
struct EscalatePage {
    layout: Layout,
    action: String,
    csrf: String,
    org_name: String,
    tickets: Vec<Choice>,
    ask_contact: bool,
    contact: String,
    impact: String,
    needed: String,
    needed_by: String,
    errors: Vec<String>,
}

#[derive(Template)]
#[template(path = "escalated.html")]
struct DonePage {
    layout: Layout,
    id: i64,
    ticket: i64,
    manager: String,
    portal: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct EscalateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    contact: String,
    ticket_id: Option<String>,
    #[serde(default)]
    impact: String,
    #[serde(default)]
    needed: String,
    #[serde(default)]
    needed_by: String,
}

impl EscalatePage {
    /// The form behind an organization's link: no one is signed in, so the contact says who they are. Filled in
    /// with what was sent, so a refused submission keeps the text.
    fn for_link(org_name: String, token: &str, csrf: String, f: &EscalateForm, errors: Vec<String>) -> EscalatePage {
        EscalatePage {
            layout: Layout::new(format!("Escalate: {org_name}"), None),
            action: format!("/escalate/{token}"),
            csrf,
            org_name,
            tickets: Vec::new(),
            ask_contact: true,
            contact: f.contact.clone(),
            impact: f.impact.clone(),
            needed: f.needed.clone(),
            needed_by: f.needed_by.clone(),
            errors,
        }
    }

    /// The portal's form: the signed-in partner is the contact and picks one of their open tickets.
    fn for_portal(
        s: &SignedIn,
        org_name: String,
        tickets: Vec<Choice>,
        f: &EscalateForm,
        errors: Vec<String>,
    ) -> EscalatePage {
        EscalatePage {
            layout: Layout::new("Escalate a ticket", Some(s)),
            action: "/portal/escalate".into(),
            csrf: s.csrf.clone(),
            org_name,
            tickets,
            ask_contact: false,
            contact: String::new(),
            impact: f.impact.clone(),
            needed: f.needed.clone(),
            needed_by: f.needed_by.clone(),
            errors,
        }
    }
}

async fn open_tickets(state: &AppState, org: OrgId, selected: Option<i64>) -> Result<Vec<Choice>, PageError> {
    let mut f = TicketFilter::scoped(TicketScope::Organization(org));
    f.statuses = partnerdesk_core::tickets::TicketStatus::ALL
        .iter()
        .copied()
        .filter(|s| s.is_open_for_requester())
        .collect();
    let list = tickets::list(&mut state.db.conn(), &f, Window::newest(1, 200)).await?;
    Ok(Choice::list(
        list.items
            .iter()
            .map(|t| (t.id.to_string(), format!("#{} {}", t.id, t.subject))),
        &selected.map(|s| s.to_string()).unwrap_or_default(),
    ))
}

async fn org_of_link(state: &AppState, token: &str) -> Result<OrgId, PageError> {
    escalations::org_by_link(&mut state.db.conn(), &credentials::token_digest(token)).await.map_err(|e| match e {
        DbError::NotFound => PageError::new(StatusCode::NOT_FOUND, "Link not valid", "This escalation link is not valid (it may have been replaced). Ask your account manager for the current one."),
        e => e.into(),
    })
}

fn input(f: &EscalateForm) -> EscalationInput {
    EscalationInput {
        ticket_id: f
            .ticket_id
            .as_deref()
            .and_then(|t| t.trim().trim_start_matches('#').parse().ok()),
        impact: Some(f.impact.clone()),
        needed: Some(f.needed.clone()),
        needed_by: Some(f.needed_by.clone()),
    }
}

async fn done_page(state: &AppState, e: &Escalation, signed: Option<&SignedIn>) -> Result<DonePage, PageError> {
    let manager = match e.notified_user_id {
        Some(m) => users::get(&mut state.db.conn(), m).await?.name,
        None => "the support managers".into(),
    };
    Ok(DonePage {
        layout: Layout::new("Escalation received", signed),
        id: e.id,
        ticket: e.ticket_id.0,
        manager,
        portal: signed.is_some(),
    })
}

/// The personalised form behind an organization's escalation link.
pub async fn link_form(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let org = org_of_link(&state, &token).await?;
    let o = organizations::get(&mut state.db.conn(), org, OrgScope::All).await?;
    let (jar, csrf) = session::anonymous_csrf(&state, jar)?;
    let page = EscalatePage::for_link(o.name, &token, csrf, &EscalateForm::default(), Vec::new());
    Ok((jar, render(&page)?).into_response())
}

pub async fn link_submit(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    jar: CookieJar,
    Path(token): Path<String>,
    Form(f): Form<EscalateForm>,
) -> Result<Response, PageError> {
    session::check_anonymous_csrf(&jar, &f.csrf)?;
    // Floods are refused per address and per link before anything is looked up.
    let keys = [
        format!("esc-ip:{}", addr.ip()),
        format!("esc-link:{}", credentials::token_digest(&token)),
    ];
    // Counted before the submission is looked at, so that simultaneous submissions cannot pass the limit.
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    if let Err(secs) = state.escalation_limiter.reserve(&keys) {
        return Err(AppError::TooManyRequests { retry_after_secs: secs }.into());
    }
    let org = org_of_link(&state, &token).await?;
    let o = organizations::get(&mut state.db.conn(), org, OrgScope::All).await?;
    // The contact must be a provisioned, active user of this organization.
    let contact = match users::by_email(&mut state.db.conn(), &f.contact).await {
        Ok(u) if u.organization_id == Some(org) && u.status != partnerdesk_core::accounts::UserStatus::Suspended => {
            Ok(u)
        }
        Ok(_) | Err(DbError::NotFound) => Err(format!(
            "{} is not a provisioned contact of {}. {}",
            f.contact.trim(),
            o.name,
            partnerdesk_core::accounts::NO_ACCOUNT_HELP
        )),
        Err(e) => return Err(e.into()),
    };
    let result = match contact {
        Ok(c) => escalating::submit(&state, &c, input(&f), "link")
            .await
            .map_err(|e| PageError::from(e).messages.join(" ")),
        Err(msg) => Err(msg),
    };
    match result {
        Ok(e) => Ok(render(&done_page(&state, &e, None).await?)?.into_response()),
        Err(msg) => {
            let (jar, csrf) = session::anonymous_csrf(&state, jar)?;
            let page = EscalatePage::for_link(o.name, &token, csrf, &f, vec![msg]);
            Ok((StatusCode::UNPROCESSABLE_ENTITY, jar, render(&page)?).into_response())
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct TicketQuery {
    ticket: Option<i64>,
}

/// The same form in the portal, for a signed-in partner.
pub async fn portal_form(
    State(state): State<AppState>,
    s: SignedIn,
    Query(q): Query<TicketQuery>,
) -> Result<Response, PageError> {
    let org = s
        .user
        .organization_id
        .ok_or_else(|| PageError::forbidden("Escalations come from partner organizations' representatives."))?;
    let o = organizations::get(&mut state.db.conn(), org, OrgScope::All).await?;
    let tickets = open_tickets(&state, org, q.ticket).await?;
    let page = EscalatePage::for_portal(&s, o.name, tickets, &EscalateForm::default(), Vec::new());
    Ok(render(&page)?.into_response())
}

pub async fn portal_submit(
    State(state): State<AppState>,
    s: SignedIn,
    Form(f): Form<EscalateForm>,
) -> Result<Response, PageError> {
    s.check_csrf(&f.csrf)?;
    let org = s
        .user
        .organization_id
        .ok_or_else(|| PageError::forbidden("Escalations come from partner organizations' representatives."))?;
    match escalating::submit(&state, &s.user, input(&f), "portal").await {
        Ok(e) => Ok(render(&done_page(&state, &e, Some(&s)).await?)?.into_response()),
        Err(AppError::Invalid(inv)) => {
            let o = organizations::get(&mut state.db.conn(), org, OrgScope::All).await?;
            let tickets = open_tickets(&state, org, f.ticket_id.as_deref().and_then(|t| t.parse().ok())).await?;
            let errors = inv.0.into_iter().map(|e| e.message).collect();
            let page = EscalatePage::for_portal(&s, o.name, tickets, &f, errors);
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "ack.html")]
struct AckPage {
    layout: Layout,
    id: i64,
    ticket: i64,
    status: String,
    impact: String,
    user: i64,
    sig: String,
    done: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct AckQuery {
    #[serde(default)]
    user: i64,
    #[serde(default)]
    sig: String,
}

impl AckPage {
    fn new(title: &str, id: i64, e: Escalation, q: AckQuery, done: bool) -> AckPage {
        AckPage {
            layout: Layout::new(title, None),
            id,
            ticket: e.ticket_id.0,
            status: e.status.as_str().into(),
            impact: e.impact,
            user: q.user,
            sig: q.sig,
            done,
        }
    }
}

fn check_sig(state: &AppState, e: &Escalation, q: &AckQuery) -> Result<(), PageError> {
    if constant_time_eq(
        ack_signature(state, e.id, UserId(q.user), e.level).as_bytes(),
        q.sig.as_bytes(),
    ) {
        Ok(())
    } else {
        Err(PageError::new(
            StatusCode::NOT_FOUND,
            "Link not valid",
            "This acknowledge link is not valid.",
        ))
    }
}

/// The page an acknowledge link opens: a button, so that mail scanners following links change nothing.
pub async fn ack_form(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<AckQuery>,
) -> Result<Response, PageError> {
    let e = escalations::get(&mut state.db.conn(), id).await?;
    check_sig(&state, &e, &q)?;
    Ok(render(&AckPage::new("Acknowledge escalation", id, e, q, false))?.into_response())
}

pub async fn ack_submit(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Form(q): Form<AckQuery>,
) -> Result<Response, PageError> {
    let current = escalations::get(&mut state.db.conn(), id).await?;
    check_sig(&state, &current, &q)?;
    let user = users::get(&mut state.db.conn(), UserId(q.user)).await?;
    let e = escalating::transition(&state, id, &user, EscalationStatus::Acknowledged).await?;
    Ok(render(&AckPage::new("Escalation acknowledged", id, e, q, true))?.into_response())
}

pub struct EscalationRow {
    pub id: i64,
    pub ticket: i64,
    pub org: String,
    pub impact: String,
    pub status: String,
    pub age: String,
    pub notified: String,
    pub open: bool,
    pub acknowledged: bool,
}

#[derive(Template)]
#[template(path = "agent_escalations.html")]
struct DashboardPage {
    layout: Layout,
    rows: Vec<EscalationRow>,
    filter: String,
    on_call: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct DashboardQuery {
    status: Option<String>,
}

pub async fn dashboard(
    State(state): State<AppState>,
    s: SignedIn,
    Query(q): Query<DashboardQuery>,
) -> Result<Response, PageError> {
    if !s.user.role.is_staff() {
        return Err(PageError::forbidden("The escalations dashboard is for support staff."));
    }
    let filter = q.status.unwrap_or_else(|| "open".into());
    let status = match filter.as_str() {
        "all" => None,
        s => Some(EscalationStatus::parse(s).unwrap_or(EscalationStatus::Open)),
    };
    let mut conn = state.db.conn();
    let list = escalations::list(&mut conn, status, Window::newest(1, 200)).await?;
    let people = views::names(&mut conn, list.items.iter().filter_map(|e| e.notified_user_id)).await?;
    let mut org_ids: Vec<OrgId> = list.items.iter().map(|e| e.organization_id).collect();
    org_ids.sort();
    org_ids.dedup();
    let orgs = organizations::by_ids(&mut conn, &org_ids).await?;
    let now = partnerdesk_db::now();
    let rows = list
        .items
        .iter()
        .map(|e| EscalationRow {
            id: e.id,
            ticket: e.ticket_id.0,
            org: orgs
                .iter()
                .find(|o| o.id == e.organization_id)
                .map(|o| o.name.clone())
                .unwrap_or_default(),
            impact: e.impact.clone(),
            status: e.status.as_str().into(),
            age: views::age((now - e.created_at).num_minutes()),
            notified: if escalating::everyone_notified(e) {
                "every support manager".into()
            } else {
                e.notified_user_id
                    .map(|u| views::name_of(&people, Some(u)))
                    .unwrap_or_else(|| "nobody".into())
            },
            open: e.status == EscalationStatus::Open,
            acknowledged: e.status == EscalationStatus::Acknowledged,
        })
        .collect();
    let (schedule, _) = escalations::schedule(&mut conn, now).await?;
    let on_call = match schedule.on_call_at(now) {
        Some((u, _)) => users::get(&mut conn, u).await.map(|u| u.name).unwrap_or_default(),
        None => "nobody (set up the schedule)".into(),
    };
    Ok(render(&DashboardPage {
        layout: Layout::new("Escalations", Some(&s)),
        rows,
        filter,
        on_call,
    })?
    .into_response())
}

#[derive(Debug, Deserialize)]
pub struct TransitionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    to: String,
}

pub async fn transition(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<i64>,
    Form(f): Form<TransitionForm>,
) -> Result<Response, PageError> {
    s.check_csrf(&f.csrf)?;
    let to = match EscalationStatus::parse(&f.to) {
        Some(to @ (EscalationStatus::Acknowledged | EscalationStatus::Resolved)) => to,
        _ => {
            return Err(PageError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Please check your input",
                "Unknown action.",
            ));
        }
    };
    escalating::transition(&state, id, &s.user, to).await?;
    Ok(Redirect::to("/agent/escalations").into_response())
}
