//! Admin pages: organizations (notes and details with their history, partner flag, account manager), users
//! (create, invite, suspend, reactivate), groups and ticket forms. Account managers reach the organizations they
//! manage and provision their end-users; everything else is for admins. Every change goes through the same
//! services as the API, so it is authorised and audited the same way.

use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use partnerdesk_core::policy::OrgScope;
use partnerdesk_core::tickets::{Audience, Priority};
use partnerdesk_core::{GroupId, OrgId, UserId};
use partnerdesk_db::forms::{self};
use partnerdesk_db::organizations::{self, Organization};
use partnerdesk_db::users::{self, UserFilter};
use partnerdesk_db::{Window, audit, groups};
use serde::Deserialize;

use partnerdesk_app::AppError;
use partnerdesk_app::accounts::{self, NewAccount, Provisioner};

use partnerdesk_app::directory::{self, FormInput, GroupInput};
use partnerdesk_app::org_changes::{self, OrgInput};

use crate::error::ApiError;
use crate::pages::views::{self, Choice};
use crate::pages::{Layout, PageError, render};
use crate::session::SignedIn;
use crate::state::AppState;

fn admin_only(s: &SignedIn) -> Result<(), PageError> {
    s.user.actor().may_administer().map_err(|e| ApiError::from(e).into())
}

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
    let all = organizations::list(&mut conn, OrgScope::All, Window::first(1000))
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
}

/// The form's fields as the API would send them; an account manager's page has no admin-only fields.
fn org_input(f: OrgForm, admin: bool) -> Result<OrgInput, AppError> {
    let list = |v: &str| Some(v.split([',', ' ']).map(str::to_owned).collect());
    let account_manager_id = match f.account_manager_id.trim() {
        "" => None,
        id => Some(
            id.parse::<i64>()
                .map_err(|_| AppError::invalid("account_manager_id", "InvalidValue", "choose an account manager"))?,
        ),
    };
    Ok(OrgInput {
        name: Some(f.name),
        notes: Some(f.notes.replace("\r\n", "\n")),
        details: Some(f.details.replace("\r\n", "\n")),
        domain_names: list(&f.domain_names),
        tags: list(&f.tags),
        alliance_partner: admin.then_some(f.alliance_partner.is_some()),
        account_manager_id: admin.then_some(account_manager_id),
    })
}

pub async fn create_organization(
    State(state): State<AppState>,
    s: SignedIn,
    Form(f): Form<OrgForm>,
) -> Result<Response, PageError> {
    s.check_csrf(&f.csrf)?;
    let input = org_input(f, true)?;
    let org = org_changes::create(&state.db, &s.user.actor(), &s.user.audit_actor(), input).await?;
    Ok(Redirect::to(&format!("/admin/organizations/{}", org.id)).into_response())
}

pub struct UserRow {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub role: &'static str,
    pub status: &'static str,
    pub suspended: bool,
}

pub struct NotesChange {
    pub at: String,
    pub who: String,
    pub notes: String,
    pub details: String,
}

#[derive(Template)]
#[template(path = "admin_org.html")]
struct OrgPage {
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
    bucket: Option<partnerdesk_app::buckets::connection::ConnectionView>,
    bucket_notice: Option<String>,
    bucket_access: Vec<crate::pages::buckets::AccessRow>,
    escalation_link: Option<String>,
}

async fn org_page(
    state: &AppState,
    s: &SignedIn,
    id: i64,
    invitation: Option<String>,
    bucket_notice: Option<String>,
) -> Result<OrgPage, PageError> {
    let mut conn = state.db.conn();
    let org = organizations::get(&mut conn, OrgId(id), OrgScope::All).await?;
    if !manages(s, &org) {
        return Err(PageError::forbidden(
            "Only admins and this organization's account manager may manage it.",
        ));
    }
    let members = users::list(
        &mut conn,
        &UserFilter {
            organization_id: Some(org.id),
            role: None,
        },
        Window::first(500),
    )
    .await?
    .items;
    let trail = audit::for_organization(&mut conn, org.id.0, Window::first(500)).await?;
    let mut history: Vec<NotesChange> = trail
        .items
        .iter()
        .filter(|e| e.entity_type == "organization" && e.action != "organization.delete")
        .filter(|e| {
            let field = |v: &Option<serde_json::Value>, k: &str| v.as_ref().and_then(|v| v.get(k)).cloned();
            e.before.is_none()
                || field(&e.before, "notes") != field(&e.after, "notes")
                || field(&e.before, "details") != field(&e.after, "details")
        })
        .map(|e| NotesChange {
            at: views::when(&e.created_at),
            who: e.actor_label.clone(),
            notes: e
                .after
                .as_ref()
                .and_then(|a| a.get("notes"))
                .and_then(|n| n.as_str())
                .unwrap_or("")
                .to_owned(),
            details: e
                .after
                .as_ref()
                .and_then(|a| a.get("details"))
                .and_then(|n| n.as_str())
                .unwrap_or("")
                .to_owned(),
        })
        .collect();
    history.reverse();
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
        users: members
            .iter()
            .map(|u| UserRow {
                id: u.id.0,
                name: u.name.clone(),
                email: u.email.clone(),
                role: u.role.as_str(),
                status: u.status.as_str(),
                suspended: u.status == partnerdesk_core::accounts::UserStatus::Suspended,
            })
            .collect(),
        history,
        invitation,
        bucket: match partnerdesk_db::buckets::for_org(&mut state.db.conn(), org.id).await {
            Ok(c) => Some(partnerdesk_app::buckets::connection::ConnectionView::from(&c)),
            Err(partnerdesk_db::DbError::NotFound) => None,
            Err(e) => return Err(e.into()),
        },
        bucket_notice,
        bucket_access: crate::pages::buckets::access_rows(state, org.id).await?,
        escalation_link: if s.user.actor().is_admin() {
            partnerdesk_app::oncall::current_link(state, org.id).await?
        } else {
            None
        },
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
    let input = org_input(f, actor.is_admin())?;
    org_changes::update(&state.db, &actor, &s.user.audit_actor(), OrgId(id), input).await?;
    Ok(Redirect::to(&format!("/admin/organizations/{id}")).into_response())
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage {
    layout: Layout,
    users: Vec<UserRow>,
    orgs: Vec<Choice>,
    invitation: Option<String>,
}

async fn users_page(state: &AppState, s: &SignedIn, invitation: Option<String>) -> Result<UsersPage, PageError> {
    let mut conn = state.db.conn();
    let all = users::list(&mut conn, &UserFilter::default(), Window::first(1000))
        .await?
        .items;
    let orgs = organizations::list(&mut conn, OrgScope::All, Window::first(1000))
        .await?
        .items;
    Ok(UsersPage {
        layout: Layout::new("Users", Some(s)),
        users: all
            .iter()
            .map(|u| UserRow {
                id: u.id.0,
                name: u.name.clone(),
                email: u.email.clone(),
                role: u.role.as_str(),
                status: u.status.as_str(),
                suspended: u.status == partnerdesk_core::accounts::UserStatus::Suspended,
            })
            .collect(),
        orgs: Choice::list(
            std::iter::once((String::new(), "—".to_owned()))
                .chain(orgs.iter().map(|o| (o.id.to_string(), o.name.clone()))),
            "",
        ),
        invitation,
    })
}

pub async fn users(State(state): State<AppState>, s: SignedIn) -> Result<Response, PageError> {
    admin_only(&s)?;
    Ok(render(&users_page(&state, &s, None).await?)?.into_response())
}

#[derive(Debug, Deserialize)]
pub struct UserForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    organization_id: String,
    account_manager: Option<String>,
    support_manager: Option<String>,
}

/// Creates an account (always invited: the person sets their own password) and shows the invitation link.
pub async fn create_user(
    State(state): State<AppState>,
    s: SignedIn,
    Form(f): Form<UserForm>,
) -> Result<Response, PageError> {
    s.check_csrf(&f.csrf)?;
    let actor = s.user.actor();
    let input = NewAccount {
        email: f.email,
        name: f.name,
        role: Some(if f.role.is_empty() { "end-user".into() } else { f.role }),
        organization_id: f.organization_id.parse().ok(),
        is_account_manager: f.account_manager.is_some(),
        is_support_manager: f.support_manager.is_some(),
        password: None,
    };
    let audit = s.user.audit_actor();
    let user = accounts::create_account(&state.db, Provisioner::User(&actor), &audit, input).await?;
    let inv = accounts::invite(
        &state.db,
        Provisioner::User(&actor),
        &audit,
        &user,
        &state.settings.public_url,
        state.settings.invitation_ttl_hours,
    )
    .await?;
    let link = format!(
        "Account created for {}. Send them this single-use link to set their password (expires {}): {}",
        user.email,
        views::when(&inv.expires_at),
        inv.url
    );
    match user.organization_id {
        Some(org) if !actor.is_admin() => {
            Ok(render(&org_page(&state, &s, org.0, Some(link), None).await?)?.into_response())
        }
        _ => Ok(render(&users_page(&state, &s, Some(link)).await?)?.into_response()),
    }
}

#[derive(Debug, Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    back: String,
}

fn back_to(back: &str) -> String {
    if back.starts_with("/admin/") && !back.starts_with("//") {
        back.to_owned()
    } else {
        "/admin/users".to_owned()
    }
}

pub async fn set_user_status(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<i64>,
    Form(f): Form<StatusForm>,
) -> Result<Response, PageError> {
    s.check_csrf(&f.csrf)?;
    let actor = s.user.actor();
    let user = users::get(&mut state.db.conn(), UserId(id)).await?;
    let suspend = match f.action.as_str() {
        "suspend" => true,
        "reactivate" => false,
        other => {
            return Err(PageError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Please check your input",
                format!("unknown action '{other}'"),
            ));
        }
    };
    accounts::set_suspended(
        &state.db,
        Provisioner::User(&actor),
        &s.user.audit_actor(),
        &user,
        suspend,
    )
    .await?;
    Ok(Redirect::to(&back_to(&f.back)).into_response())
}

pub async fn invite_user(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<i64>,
    Form(f): Form<StatusForm>,
) -> Result<Response, PageError> {
    s.check_csrf(&f.csrf)?;
    let actor = s.user.actor();
    let user = users::get(&mut state.db.conn(), UserId(id)).await?;
    let inv = accounts::invite(
        &state.db,
        Provisioner::User(&actor),
        &s.user.audit_actor(),
        &user,
        &state.settings.public_url,
        state.settings.invitation_ttl_hours,
    )
    .await?;
    let link = format!(
        "Single-use link for {} (expires {}): {}",
        user.email,
        views::when(&inv.expires_at),
        inv.url
    );
    match user.organization_id {
        Some(org) if f.back.starts_with("/admin/organizations/") => {
            Ok(render(&org_page(&state, &s, org.0, Some(link), None).await?)?.into_response())
        }
        _ => Ok(render(&users_page(&state, &s, Some(link)).await?)?.into_response()),
    }
}

pub struct GroupRow {
    pub id: i64,
    pub name: String,
    pub description: String,
}

#[derive(Template)]
#[template(path = "admin_groups.html")]
struct GroupsPage {
    layout: Layout,
    groups: Vec<GroupRow>,
}

pub async fn groups(State(state): State<AppState>, s: SignedIn) -> Result<Response, PageError> {
    admin_only(&s)?;
    let all = groups::list(&mut state.db.conn(), Window::first(500)).await?.items;
    let rows = all
        .iter()
        .map(|g| GroupRow {
            id: g.id.0,
            name: g.name.clone(),
            description: g.description.clone(),
        })
        .collect();
    Ok(render(&GroupsPage {
        layout: Layout::new("Groups", Some(&s)),
        groups: rows,
    })?
    .into_response())
}

#[derive(Debug, Deserialize)]
pub struct GroupForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
}

pub async fn create_group(
    State(state): State<AppState>,
    s: SignedIn,
    Form(f): Form<GroupForm>,
) -> Result<Response, PageError> {
    s.check_csrf(&f.csrf)?;
    let input = GroupInput {
        name: Some(f.name),
        description: Some(f.description),
    };
    directory::create_group(&state.db, &s.user.actor(), &s.user.audit_actor(), input).await?;
    Ok(Redirect::to("/admin/groups").into_response())
}

pub struct FormRow {
    pub id: i64,
    pub name: String,
    pub audience: &'static str,
    pub group: String,
    pub priority: &'static str,
    pub tags: String,
    pub default: bool,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "admin_forms.html")]
struct FormsPage {
    layout: Layout,
    forms: Vec<FormRow>,
    groups: Vec<Choice>,
    audiences: Vec<Choice>,
    priorities: Vec<Choice>,
}

pub async fn forms(State(state): State<AppState>, s: SignedIn) -> Result<Response, PageError> {
    admin_only(&s)?;
    let mut conn = state.db.conn();
    let all = forms::list(&mut conn).await?;
    let gs = groups::list(&mut conn, Window::first(500)).await?.items;
    let group_name = |id: Option<GroupId>| {
        id.and_then(|id| gs.iter().find(|g| g.id == id))
            .map(|g| g.name.clone())
            .unwrap_or_default()
    };
    let rows = all
        .iter()
        .map(|f| FormRow {
            id: f.id.0,
            name: f.display_name.clone(),
            audience: f.audience.as_str(),
            group: group_name(f.group_id),
            priority: f.priority.map(|p| p.as_str()).unwrap_or("-"),
            tags: f.tags.join(" "),
            default: f.is_default,
            active: f.active,
        })
        .collect();
    let page = FormsPage {
        layout: Layout::new("Ticket forms", Some(&s)),
        forms: rows,
        groups: Choice::list(
            std::iter::once((String::new(), "—".to_owned()))
                .chain(gs.iter().map(|g| (g.id.to_string(), g.name.clone()))),
            "",
        ),
        audiences: Choice::list(
            Audience::ALL
                .iter()
                .map(|a| (a.as_str().to_owned(), a.as_str().to_owned())),
            "everyone",
        ),
        priorities: Choice::list(
            std::iter::once((String::new(), "—".to_owned())).chain(
                Priority::ALL
                    .iter()
                    .map(|p| (p.as_str().to_owned(), p.as_str().to_owned())),
            ),
            "",
        ),
    };
    Ok(render(&page)?.into_response())
}

#[derive(Debug, Deserialize)]
pub struct NewForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    audience: String,
    #[serde(default)]
    group_id: String,
    #[serde(default)]
    priority: String,
    #[serde(default)]
    tags: String,
    default: Option<String>,
    #[serde(default)]
    position: String,
}

pub async fn create_form(
    State(state): State<AppState>,
    s: SignedIn,
    Form(f): Form<NewForm>,
) -> Result<Response, PageError> {
    s.check_csrf(&f.csrf)?;
    // The page sends strings; empty ones mean "not given", as in the API's JSON.
    let given = |v: &str| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
    let number = |field: &str, v: &str| -> Result<Option<i64>, AppError> {
        given(v)
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| AppError::invalid(field, "InvalidValue", format!("{field} must be a number")))
            })
            .transpose()
    };
    let input = FormInput {
        name: Some(f.name),
        audience: given(&f.audience),
        group_id: number("group_id", &f.group_id)?,
        priority: given(&f.priority),
        tags: Some(f.tags.split([',', ' ']).map(str::to_owned).collect()),
        default: Some(f.default.is_some()),
        position: number("position", &f.position)?,
        ..FormInput::default()
    };
    directory::create_form(&state.db, &s.user.actor(), &s.user.audit_actor(), input).await?;
    Ok(Redirect::to("/admin/forms").into_response())
}
