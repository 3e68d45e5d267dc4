//! Organization admin pages: the list, creating one, and each organization's page (notes and details with their
//! history, partner flag, account manager, its users, bucket connection and escalation link). Account managers
//! reach the organizations they manage; the partner flag and the account manager are for admins. Every change
//! goes through the same services as the API, so it is authorised and audited the same way.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use partnerdesk_core::policy::OrgScope;
use partnerdesk_core::{OrgId, UserId};
use partnerdesk_db::audit::{self, AuditEntry};
use partnerdesk_db::organizations::{self, Organization};
use partnerdesk_db::profile_fields::FieldKind;
use partnerdesk_db::users::{self, UserFilter};
use partnerdesk_db::{Conn, Window};
use serde::Deserialize;

use partnerdesk_app::AppError;
use partnerdesk_app::buckets::connection::ConnectionView;
use partnerdesk_app::org_changes::{self, OrgInput};

use crate::pages::buckets::{self, AccessRow};
use crate::pages::form::Form;
use crate::pages::org_fields;
use crate::pages::views::{self, Choice, UserRow};
use crate::pages::{Layout, PageError, render};
use crate::session::SignedIn;
use crate::state::AppState;

/// Organizations an account manager (or admin) may manage.
fn manages(s: &SignedIn, org: &Organization) -> bool {
    s.user.actor().may_edit_org(org.account_manager_id).is_ok()
}

pub struct OrgRow {
    pub id: i64,
    pub name: String,
    pub partner: bool,
    pub manager: String,
}

#[derive(Template)]
#[template(path = "admin_orgs.html")]
struct OrgsPage {
    layout: Layout,
    rows: Vec<OrgRow>,
    is_admin: bool,
    managers: Vec<Choice>,
}

pub async fn organizations(State(state): State<AppState>, s: SignedIn) -> Result<Response, PageError> {
    let actor = s.user.actor();
    if !(actor.is_admin() || (actor.is_staff() && actor.is_account_manager)) {
        return Err(PageError::forbidden(
            "Organizations are managed by admins and account managers.",
        ));
    }
    let mut conn = state.db.conn();
    let all = organizations::list(&mut conn, OrgScope::All, None, Window::first(1000))
        .await?
        .items;
    let visible: Vec<&Organization> = all.iter().filter(|o| manages(&s, o)).collect();
    let people = views::names(&mut conn, visible.iter().filter_map(|o| o.account_manager_id)).await?;
    let rows = visible
        .iter()
        .map(|o| OrgRow {
            id: o.id.0,
            name: o.name.clone(),
            partner: o.alliance_partner,
            manager: o
                .account_manager_id
                .map(|m| views::name_of(&people, Some(m)))
                .unwrap_or_default(),
        })
        .collect();
    let managers = manager_choices(&state, None).await?;
    Ok(render(&OrgsPage {
        layout: Layout::new("Organizations", Some(&s)),
        rows,
        is_admin: actor.is_admin(),
        managers,
    })?
    .into_response())
}

async fn manager_choices(state: &AppState, current: Option<UserId>) -> Result<Vec<Choice>, PageError> {
    let staff = users::assignable(&mut state.db.conn()).await?;
    let items = std::iter::once((String::new(), "—".to_owned())).chain(
        staff
            .iter()
            .filter(|u| u.is_account_manager)
            .map(|u| (u.id.to_string(), u.name.clone())),
    );
    Ok(Choice::list(items, &current.map(|c| c.to_string()).unwrap_or_default()))
}

#[derive(Debug, Deserialize)]
pub struct OrgForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    details: String,
    #[serde(default)]
    domain_names: String,
    #[serde(default)]
    tags: String,
    alliance_partner: Option<String>,
    #[serde(default)]
    account_manager_id: String,
    /// Only the organization's page has it; a create leaves the external id unset.
    external_id: Option<String>,
}

/// The form's fields as the API would send them; an account manager's page has no admin-only fields.
fn org_input(f: &OrgForm, admin: bool) -> Result<OrgInput, AppError> {
    let list = |v: &str| Some(v.split([',', ' ']).map(str::to_owned).collect());
    let account_manager_id = match f.account_manager_id.trim() {
        "" => None,
        id => Some(
            id.parse::<i64>()
                .map_err(|_| AppError::invalid("account_manager_id", "InvalidValue", "choose an account manager"))?,
        ),
    };
    Ok(OrgInput {
        name: Some(f.name.clone()),
        notes: Some(f.notes.replace("\r\n", "\n")),
        details: Some(f.details.replace("\r\n", "\n")),
        domain_names: list(&f.domain_names),
        tags: list(&f.tags),
        alliance_partner: admin.then_some(f.alliance_partner.is_some()),
        account_manager_id: admin.then_some(account_manager_id),
        // Sent blank, it clears the external id (as `null` does in the API); not sent (the create form), it stays.
        external_id: f.external_id.clone().map(Some),
        organization_fields: None,
    })
}

pub async fn create_organization(
    State(state): State<AppState>,
    s: SignedIn,
    Form(f): Form<OrgForm>,
) -> Result<Response, PageError> {
    s.check_csrf(&f.csrf)?;
    let input = org_input(&f, true)?;
    let org = org_changes::create(&state.db, &s.user.actor(), &s.user.audit_actor(), input).await?;
    Ok(Redirect::to(&format!("/admin/organizations/{}", org.id)).into_response())
}

pub struct NotesChange {
    pub at: String,
    pub who: String,
    pub notes: String,
    pub details: String,
}

#[derive(Template)]
#[template(path = "admin_org.html")]
pub(super) struct OrgPage {
    layout: Layout,
    id: i64,
    name: String,
    notes: String,
    details: String,
    domain_names: String,
    tags: String,
    partner: bool,
    is_admin: bool,
    managers: Vec<Choice>,
    users: Vec<UserRow>,
    history: Vec<NotesChange>,
    invitation: Option<String>,
    bucket: Option<ConnectionView>,
    bucket_notice: Option<String>,
    bucket_access: Vec<AccessRow>,
    escalation_link: Option<String>,
    external_id: String,
    fields: Vec<crate::pages::org_fields::FieldRow>,
    /// Why the organization's form or its fields' form was refused (shown above it, the form as typed).
    errors: Vec<String>,
    field_errors: Vec<String>,
}

impl OrgPage {
    /// The organization's form as it was sent (a refused save shown again).
    fn as_sent(&mut self, f: &OrgForm) {
        self.name = f.name.clone();
        self.notes = f.notes.clone();
        self.details = f.details.clone();
        self.domain_names = f.domain_names.clone();
        self.tags = f.tags.clone();
        self.external_id = f.external_id.clone().unwrap_or_default();
        if self.is_admin {
            self.partner = f.alliance_partner.is_some();
            for c in &mut self.managers {
                c.selected = c.value == f.account_manager_id.trim();
            }
        }
    }
}

/// The organization, if the signed-in user may manage it.
async fn managed_org(conn: &mut Conn, s: &SignedIn, id: i64) -> Result<Organization, PageError> {
    let org = organizations::get(conn, OrgId(id), OrgScope::All).await?;
    if !manages(s, &org) {
        return Err(PageError::forbidden(
            "Only admins and this organization's account manager may manage it.",
        ));
    }
    Ok(org)
}

async fn member_rows(conn: &mut Conn, org: OrgId) -> Result<Vec<UserRow>, PageError> {
    let filter = UserFilter {
        organization_id: Some(org),
        ..UserFilter::default()
    };
    let members = users::list(conn, &filter, Window::first(500)).await?.items;
    Ok(views::user_rows(conn, &members).await?)
}

/// Whether an audit entry created the organization or changed its notes or details: the history shows only
/// those, not every edit of a tag or domain.
fn touches_notes(e: &AuditEntry) -> bool {
    let field = |v: &Option<serde_json::Value>, k: &str| v.as_ref().and_then(|v| v.get(k)).cloned();
    e.before.is_none()
        || field(&e.before, "notes") != field(&e.after, "notes")
        || field(&e.before, "details") != field(&e.after, "details")
}

fn notes_change(e: &AuditEntry) -> NotesChange {
    let text = |k: &str| {
        e.after
            .as_ref()
            .and_then(|a| a.get(k))
            .and_then(|n| n.as_str())
            .unwrap_or("")
            .to_owned()
    };
    NotesChange {
        at: views::when(&e.created_at),
        who: e.actor_label.clone(),
        notes: text("notes"),
        details: text("details"),
    }
}

/// The notes and details as each change left them, oldest first.
async fn notes_history(conn: &mut Conn, org: OrgId) -> Result<Vec<NotesChange>, PageError> {
    let trail = audit::for_organization(conn, org.0, Window::first(500)).await?;
    let mut history: Vec<NotesChange> = trail
        .items
        .iter()
        .filter(|e| e.entity_type == "organization" && e.action != "organization.delete")
        .filter(|e| touches_notes(e))
        .map(notes_change)
        .collect();
    history.reverse();
    Ok(history)
}

/// The bucket connection as the page shows it (no secrets), if one is set up.
async fn bucket_view(state: &AppState, org: OrgId) -> Result<Option<ConnectionView>, PageError> {
    match partnerdesk_db::buckets::for_org(&mut state.db.conn(), org).await {
        Ok(c) => Ok(Some(ConnectionView::from(&c))),
        Err(partnerdesk_db::DbError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The current escalation link: only admins see it (and rotate it).
async fn escalation_link(state: &AppState, s: &SignedIn, org: OrgId) -> Result<Option<String>, PageError> {
    if s.user.actor().is_admin() {
        Ok(partnerdesk_app::oncall::current_link(state, org).await?)
    } else {
        Ok(None)
    }
}

/// An organization's page; `invitation` shows a just-made invitation link, `bucket_notice` the outcome of a
/// bucket action.
pub(super) async fn org_page(
    state: &AppState,
    s: &SignedIn,
    id: i64,
    invitation: Option<String>,
    bucket_notice: Option<String>,
) -> Result<OrgPage, PageError> {
    let mut conn = state.db.conn();
    let org = managed_org(&mut conn, s, id).await?;
    let users = member_rows(&mut conn, org.id).await?;
    let history = notes_history(&mut conn, org.id).await?;
    Ok(OrgPage {
        layout: Layout::new(org.name.clone(), Some(s)),
        id: org.id.0,
        name: org.name.clone(),
        notes: org.notes.clone(),
        details: org.details.clone(),
        domain_names: org.domain_names.join(" "),
        tags: org.tags.join(" "),
        partner: org.alliance_partner,
        is_admin: s.user.actor().is_admin(),
        managers: manager_choices(state, org.account_manager_id).await?,
        users,
        history,
        invitation,
        bucket: bucket_view(state, org.id).await?,
        bucket_notice,
        bucket_access: buckets::access_rows(state, org.id).await?,
        escalation_link: escalation_link(state, s, org.id).await?,
        external_id: org.external_id.clone().unwrap_or_default(),
        fields: crate::pages::org_fields::field_rows(state, FieldKind::Organization, org.id.0).await?,
        errors: Vec::new(),
        field_errors: Vec::new(),
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct OrgQuery {
    bucket: Option<String>,
    bucket_test: Option<String>,
}

pub async fn organization(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<i64>,
    Query(q): Query<OrgQuery>,
) -> Result<Response, PageError> {
    let notice = match (q.bucket.as_deref(), q.bucket_test) {
        (_, Some(t)) if t == "ok" => Some("Connection test: the bucket answered and can be listed.".to_owned()),
        (_, Some(t)) => Some(format!("Connection test failed: {t}")),
        (Some("saved"), None) => Some("Bucket connection saved.".to_owned()),
        _ => None,
    };
    Ok(render(&org_page(&state, &s, id, None, notice).await?)?.into_response())
}

pub async fn update_organization(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<i64>,
    Form(f): Form<OrgForm>,
) -> Result<Response, PageError> {
    s.check_csrf(&f.csrf)?;
    let actor = s.user.actor();
    let saved = match org_input(&f, actor.is_admin()) {
        Ok(input) => org_changes::update(&state.db, &actor, &s.user.audit_actor(), OrgId(id), input).await,
        Err(e) => Err(e),
    };
    match saved {
        Ok(_) => Ok(Redirect::to(&format!("/admin/organizations/{id}")).into_response()),
        Err(AppError::Invalid(inv)) => {
            let mut page = org_page(&state, &s, id, None, None).await?;
            page.as_sent(&f);
            page.errors = inv.0.into_iter().map(|e| e.message).collect();
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /admin/organizations/{id}/fields`: every active field from the form, saved through the organization
/// service; a refused value shows the page again with the values as sent.
pub async fn save_fields(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    s.check_csrf(org_fields::csrf_of(&pairs))?;
    let values = org_fields::sent_values(&state, &s.user.actor(), FieldKind::Organization, &pairs).await?;
    let input = OrgInput {
        organization_fields: Some(values),
        ..OrgInput::default()
    };
    match org_changes::update(&state.db, &s.user.actor(), &s.user.audit_actor(), OrgId(id), input).await {
        Ok(_) => Ok(Redirect::to(&format!("/admin/organizations/{id}#fields")).into_response()),
        Err(AppError::Invalid(inv)) => {
            let mut page = org_page(&state, &s, id, None, None).await?;
            org_fields::as_sent(&mut page.fields, &pairs);
            page.field_errors = inv.0.into_iter().map(|e| e.message).collect();
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
