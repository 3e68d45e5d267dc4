//! The partner portal: my organization's tickets, filing through the partner form, and the public conversation.
//! End-users never see internal notes, organization notes or routing internals here.

use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use partnerdesk_core::TicketId;
use partnerdesk_core::policy::OrgScope;
use partnerdesk_core::tickets::{Audience, Priority};
use partnerdesk_db::forms::{self, TicketForm};
use partnerdesk_db::tickets::{self, Ticket};
use partnerdesk_db::{Window, organizations, ticket_fields};
use serde::Deserialize;

use partnerdesk_app::AppError;

use crate::pages::field_inputs::{self, FieldInputView};
use crate::pages::multipart;
use crate::pages::views::{self, CommentRow, TicketRow};
use crate::pages::{Layout, PageError, render};
use crate::session::SignedIn;
use crate::state::AppState;
use partnerdesk_app::tickets::{self as ticketing, CommentInput, TicketInput};

const PER_PAGE: i64 = 25;

/// The portal is for end-users: staff are sent to their workspace.
fn staff_elsewhere(s: &SignedIn) -> Option<Redirect> {
    s.user.role.is_staff().then(|| Redirect::to("/agent"))
}

#[derive(Template)]
#[template(path = "portal_home.html")]
struct HomePage {
    layout: Layout,
    org_name: String,
    rows: Vec<TicketRow>,
    page: i64,
    has_more: bool,
}

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    page: Option<i64>,
}

pub async fn home(
    State(state): State<AppState>,
    s: SignedIn,
    Query(q): Query<PageQuery>,
) -> Result<Response, PageError> {
    if let Some(r) = staff_elsewhere(&s) {
        return Ok(r.into_response());
    }
    let actor = s.user.actor();
    let page = q.page.unwrap_or(1).max(1);
    let mut conn = state.db.conn();
    let list = tickets::for_portal(&mut conn, actor.ticket_scope(), Window::newest(page, PER_PAGE)).await?;
    let people = views::names(&mut conn, list.items.iter().map(|t| t.requester_id)).await?;
    let org_name = match actor.org_scope() {
        OrgScope::Only(id) => organizations::get(&mut conn, id, OrgScope::Only(id)).await?.name,
        _ => String::new(),
    };
    let body = HomePage {
        layout: Layout::new("My tickets", Some(&s)),
        org_name,
        rows: views::ticket_rows(&list.items, &people),
        page,
        has_more: list.has_more,
    };
    Ok(render(&body)?.into_response())
}

/// A form as offered to this partner.
pub struct FormChoice {
    pub id: i64,
    pub name: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "portal_new.html")]
struct NewTicketPage {
    layout: Layout,
    forms: Vec<FormChoice>,
    form_id: i64,
    form_name: String,
    subject: String,
    description: String,
    priorities: Vec<views::Choice>,
    /// The custom fields of the chosen form the partner fills.
    fields: Vec<FieldInputView>,
    /// A new ticket sends every field (the template's switch for the edit pages).
    track_changes: bool,
    errors: Vec<String>,
}

/// The forms this end-user may file through, the partner form first when they are a partner.
async fn usable_forms(state: &AppState, s: &SignedIn) -> Result<Vec<TicketForm>, PageError> {
    let mut conn = state.db.conn();
    let partner = match s.user.organization_id {
        Some(id) => organizations::get(&mut conn, id, OrgScope::All).await?.alliance_partner,
        None => false,
    };
    let mut all: Vec<TicketForm> = forms::list(&mut conn)
        .await?
        .into_iter()
        .filter(|f| f.active && f.audience != Audience::Staff && (partner || f.audience != Audience::Partners))
        .collect();
    all.sort_by_key(|f| (f.audience != Audience::Partners, !f.is_default, f.position, f.id));
    Ok(all)
}

#[derive(Debug, Deserialize)]
pub struct NewQuery {
    form: Option<i64>,
}

/// What the partner typed into the new-ticket page (shown again after a refusal).
#[derive(Default)]
struct Typed {
    subject: String,
    description: String,
    priority: String,
}

fn new_page(
    s: &SignedIn,
    forms: &[TicketForm],
    chosen: Option<i64>,
    typed: Typed,
    fields: Vec<FieldInputView>,
    errors: Vec<String>,
) -> NewTicketPage {
    let Typed {
        subject,
        description,
        priority,
    } = typed;
    let current = chosen
        .and_then(|id| forms.iter().find(|f| f.id.0 == id))
        .or(forms.first());
    NewTicketPage {
        layout: Layout::new("New ticket", Some(s)),
        forms: forms
            .iter()
            .map(|f| FormChoice {
                id: f.id.0,
                name: f.display_name.clone(),
                selected: Some(f.id) == current.map(|c| c.id),
            })
            .collect(),
        form_id: current.map(|f| f.id.0).unwrap_or(0),
        form_name: current.map(|f| f.display_name.clone()).unwrap_or_default(),
        subject,
        description,
        priorities: views::Choice::list(
            Priority::ALL
                .iter()
                .map(|p| (p.as_str().to_owned(), p.as_str().to_owned())),
            &priority,
        ),
        fields,
        track_changes: false,
        errors,
    }
}

/// The form a new-ticket page is for: the one asked for among `forms`, else the first.
fn chosen_form(forms: &[TicketForm], asked: Option<i64>) -> Option<&TicketForm> {
    asked
        .and_then(|id| forms.iter().find(|f| f.id.0 == id))
        .or(forms.first())
}

pub async fn new_ticket(
    State(state): State<AppState>,
    s: SignedIn,
    Query(q): Query<NewQuery>,
) -> Result<Response, PageError> {
    if let Some(r) = staff_elsewhere(&s) {
        return Ok(r.into_response());
    }
    let forms = usable_forms(&state, &s).await?;
    // The priority starts at the form's default, so that the form's routing holds unless the partner changes it.
    let current = q
        .form
        .and_then(|id| forms.iter().find(|f| f.id.0 == id))
        .or(forms.first());
    let priority = current
        .and_then(|f| f.priority)
        .unwrap_or(Priority::Normal)
        .as_str()
        .to_owned();
    let all = ticket_fields::list(&mut state.db.conn()).await?;
    let fields = field_inputs::for_form(&all, chosen_form(&forms, q.form), &[], true);
    Ok(render(&new_page(
        &s,
        &forms,
        q.form,
        Typed {
            priority,
            ..Typed::default()
        },
        fields,
        Vec::new(),
    ))?
    .into_response())
}

/// Files a ticket from the new-ticket form (multipart: it may carry attachments).
pub async fn create_ticket(State(state): State<AppState>, s: SignedIn, form: Multipart) -> Result<Response, PageError> {
    if let Some(r) = staff_elsewhere(&s) {
        return Ok(r.into_response());
    }
    let f = multipart::read(&state, &s, form).await?;
    let form_id = f.get("form_id").parse::<i64>().ok().filter(|id| *id > 0);
    let forms = usable_forms(&state, &s).await?;
    let all = ticket_fields::list(&mut state.db.conn()).await?;
    let shown = field_inputs::for_form(&all, chosen_form(&forms, form_id), &[], true);
    let custom = field_inputs::submitted(&f, &shown);
    let input = TicketInput {
        subject: Some(f.get("subject").to_owned()),
        comment: Some(CommentInput {
            body: Some(f.get("description").to_owned()),
            uploads: f.upload_token.clone().map(|t| vec![t]),
            ..CommentInput::default()
        }),
        ticket_form_id: form_id,
        priority: (!f.get("priority").is_empty()).then(|| Some(f.get("priority").to_owned())),
        custom_fields: Some(custom.clone()),
        ..TicketInput::default()
    };
    match ticketing::create(&state, &s.user, input, "web").await {
        Ok(c) => Ok(Redirect::to(&format!("/portal/tickets/{}", c.ticket.id)).into_response()),
        Err(AppError::Invalid(inv)) => {
            let errors = inv.0.into_iter().map(|e| e.message).collect();
            let fields = field_inputs::for_form(
                &all,
                chosen_form(&forms, form_id),
                &field_inputs::as_values(&custom, &all),
                true,
            );
            let (subject, description, priority) = (
                f.get("subject").to_owned(),
                f.get("description").to_owned(),
                f.get("priority").to_owned(),
            );
            let typed = Typed {
                subject,
                description,
                priority,
            };
            let page = new_page(&s, &forms, form_id, typed, fields, errors);
            Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "portal_ticket.html")]
struct TicketPage {
    layout: Layout,
    id: i64,
    subject: String,
    status: &'static str,
    solved: bool,
    comments: Vec<CommentRow>,
    misrouted_notice: Option<String>,
    public_url: String,
    escalation: Option<String>,
    /// The people copied, as addresses (the form edits them).
    ccs: String,
}

/// The notice shown to a partner whose ticket was filed through another form.
async fn misrouted_notice(state: &AppState, t: &Ticket) -> Result<Option<String>, PageError> {
    if t.routing.get("misrouted").and_then(|v| v.as_bool()) != Some(true) {
        return Ok(None);
    }
    let name = match t.ticket_form_id {
        Some(id) => forms::get(&mut state.db.conn(), id).await?.display_name,
        None => "partner".into(),
    };
    Ok(Some(format!(
        "This ticket was filed through a form meant for other requests, so we routed it to the alliance partner queue for you. Next time, please use the \"{name}\" form: it reaches the partner team at once."
    )))
}

pub async fn show_ticket(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    if let Some(r) = staff_elsewhere(&s) {
        return Ok(r.into_response());
    }
    let t = ticketing::visible(&state.db, &s.user.actor(), TicketId(id)).await?;
    let mut conn = state.db.conn();
    // Public comments only: the store leaves internal notes out of the query for end-users.
    let comments = tickets::comments(&mut conn, t.id, false, Window::first(1000)).await?;
    let ids = comments
        .items
        .iter()
        .filter_map(|c| c.author_id)
        .chain(t.ccs.iter().copied());
    let people = views::names(&mut conn, ids).await?;
    let page = TicketPage {
        layout: Layout::new(format!("#{} {}", t.id, t.subject), Some(&s)),
        id: t.id.0,
        subject: t.subject.clone(),
        status: t.status.as_str(),
        solved: matches!(t.status.as_str(), "solved" | "closed"),
        comments: views::comment_rows(
            &comments.items,
            &people,
            &views::files_of(&mut conn, &comments.items).await?,
        ),
        misrouted_notice: misrouted_notice(&state, &t).await?,
        public_url: state.settings.public_url.clone(),
        escalation: escalation_state(&state, t.id).await?,
        ccs: views::cc_emails(&t.ccs, &people),
    };
    Ok(render(&page)?.into_response())
}

/// A reply (multipart: it may carry attachments), and "my problem is solved".
pub async fn reply(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<i64>,
    form: Multipart,
) -> Result<Response, PageError> {
    let f = multipart::read(&state, &s, form).await?;
    let solved = !f.get("solved").is_empty();
    let body = f.get("body").trim().to_owned();
    let email_ccs = views::cc_changes(f.get("ccs"), f.get("ccs_before"));
    if body.is_empty() && !solved && email_ccs.is_none() {
        return Err(PageError::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            "Please check your input",
            "Write a reply, copy someone, or mark the ticket solved.",
        ));
    }
    let input = TicketInput {
        comment: (!body.is_empty()).then(|| CommentInput {
            body: Some(body),
            public: Some(true),
            uploads: f.upload_token.clone().map(|t| vec![t]),
            ..CommentInput::default()
        }),
        solved: solved.then_some(true),
        email_ccs,
        ..TicketInput::default()
    };
    ticketing::update(&state, &s.user, TicketId(id), input, "web").await?;
    Ok(Redirect::to(&format!("/portal/tickets/{id}")).into_response())
}

/// What the partner sees of a ticket's latest escalation.
pub async fn escalation_state(state: &AppState, ticket: TicketId) -> Result<Option<String>, PageError> {
    let all = partnerdesk_db::escalations::for_ticket(&mut state.db.conn(), ticket).await?;
    Ok(all.last().map(|e| match e.status.as_str() {
        "open" => format!(
            "Escalation #{} is with the support manager on call and waiting to be acknowledged.",
            e.id
        ),
        "acknowledged" => format!("Escalation #{} has been acknowledged: a support manager owns it.", e.id),
        _ => format!("Escalation #{} is resolved.", e.id),
    }))
}
