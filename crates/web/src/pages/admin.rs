//! Admin pages: users (create, invite, suspend, reactivate), groups and ticket forms; the organization pages
//! are in `organizations`. Account managers provision the end-users of the organizations they manage;
//! everything else is for admins. Every change goes through the same services as the API, so it is authorised
//! and audited the same way.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use partnerdesk_core::policy::OrgScope;
use partnerdesk_core::tickets::{Audience, Priority};
use partnerdesk_core::{GroupId, UserId};
use partnerdesk_db::forms::{self};
use partnerdesk_db::organizations;
use partnerdesk_db::users::{self, UserFilter};
use partnerdesk_db::{Window, groups};
use serde::Deserialize;

use partnerdesk_app::AppError;
use partnerdesk_app::account_mail::AccountMail;
use partnerdesk_app::accounts::{self, NewAccount, Provisioner};

use partnerdesk_app::directory::{self, FormInput, GroupInput};

use crate::error::ApiError;
use crate::pages::form::Form;
use crate::pages::organizations::org_page;
use crate::pages::views::{self, Choice, UserRow};
use crate::pages::{Layout, PageError, render};
use crate::session::SignedIn;
use crate::state::AppState;

pub(super) fn admin_only(s: &SignedIn) -> Result<(), PageError> {
    s.user.actor().may_administer().map_err(|e| ApiError::from(e).into())
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
    let orgs = organizations::list(&mut conn, OrgScope::All, None, Window::first(1000))
        .await?
        .items;
    Ok(UsersPage {
        layout: Layout::new("Users", Some(s)),
        users: views::user_rows(&mut conn, &all).await?,
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
        external_id: None,
    };
    let audit = s.user.audit_actor();
    let user = accounts::create_account(&state.db, Provisioner::User(&actor), &audit, input).await?;
    let inv = accounts::invite(
        &state.db,
        Provisioner::User(&actor),
        &audit,
        &user,
        &AccountMail::of(&state),
        state.settings.invitation_ttl_hours,
    )
    .await?;
    let link = format!(
        "Account created for {}, and the invitation e-mailed to them. The single-use link to set their password (expires {}), to pass on if the e-mail does not arrive: {}",
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
        &AccountMail::of(&state),
        state.settings.invitation_ttl_hours,
    )
    .await?;
    let link = format!(
        "Invitation e-mailed to {}. The single-use link (expires {}), to pass on if the e-mail does not arrive: {}",
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
        group_id: number("group_id", &f.group_id)?.map(Some),
        priority: given(&f.priority).map(Some),
        tags: Some(f.tags.split([',', ' ']).map(str::to_owned).collect()),
        default: Some(f.default.is_some()),
        position: number("position", &f.position)?,
        ..FormInput::default()
    };
    directory::create_form(&state.db, &s.user.actor(), &s.user.audit_actor(), input).await?;
    Ok(Redirect::to("/admin/forms").into_response())
}
