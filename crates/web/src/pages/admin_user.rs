//! A user's admin page (`/admin/users/{id}`): who the account is, and a form for what the CRM keeps in step (its
//! external id and the user fields' values), saved through the account service with the API's checks, rights and
//! audit. The page is for those who may change the account: admins, and the account manager of the user's
//! organization for its end-users (the service's own rule, checked before anything is shown). A refused save shows
//! the page again as it was typed, with the reasons (422).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use partnerdesk_app::AppError;
use partnerdesk_app::user_changes::{self, UserInput};
use partnerdesk_core::policy::OrgScope;
use partnerdesk_core::{OrgId, UserId};
use partnerdesk_db::organizations::{self, Organization};
use partnerdesk_db::profile_fields::FieldKind;
use partnerdesk_db::users::{self, User};
use serde::Deserialize;

use crate::pages::form::Form;
use crate::pages::org_fields::{self, FieldRow};
use crate::pages::{Layout, PageError, render};
use crate::session::SignedIn;
use crate::state::AppState;

#[derive(Template)]
#[template(path = "admin_user.html")]
struct UserPage {
    layout: Layout,
    id: i64,
    name: String,
    email: String,
    role: &'static str,
    status: String,
    /// The organization's id and name, if the user has one.
    org: Option<(i64, String)>,
    external_id: String,
    fields: Vec<FieldRow>,
    errors: Vec<String>,
    notice: Option<String>,
}

/// The user and their organization, if the signed-in person may change the account.
async fn load(state: &AppState, s: &SignedIn, id: i64) -> Result<(User, Option<Organization>), PageError> {
    // An end-user is turned away before the read, so that 404 against 403 cannot tell them which ids exist (staff
    // may look users up anyway).
    if !s.user.role.is_staff() {
        return Err(PageError::forbidden("Accounts are managed by support staff."));
    }
    let mut conn = state.db.conn();
    let user = users::get(&mut conn, UserId(id)).await?;
    let org = match user.organization_id {
        Some(o) => Some(organizations::get(&mut conn, OrgId(o.0), OrgScope::All).await?),
        None => None,
    };
    s.user
        .actor()
        .may_provision(user.role, org.as_ref().and_then(|o| o.account_manager_id))?;
    Ok((user, org))
}

async fn user_page(
    state: &AppState,
    s: &SignedIn,
    user: &User,
    org: Option<&Organization>,
) -> Result<UserPage, PageError> {
    Ok(UserPage {
        layout: Layout::new(user.name.clone(), Some(s)),
        id: user.id.0,
        name: user.name.clone(),
        email: user.email.clone(),
        role: user.role.as_str(),
        status: user.status.as_str().to_owned(),
        org: org.map(|o| (o.id.0, o.name.clone())),
        external_id: user.external_id.clone().unwrap_or_default(),
        fields: org_fields::field_rows(state, FieldKind::User, user.id.0).await?,
        errors: Vec::new(),
        notice: None,
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct Notice {
    saved: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<i64>,
    Query(q): Query<Notice>,
) -> Result<Response, PageError> {
    let (user, org) = load(&state, &s, id).await?;
    let mut page = user_page(&state, &s, &user, org.as_ref()).await?;
    page.notice = q.saved.map(|_| "Saved.".to_owned());
    Ok(render(&page)?.into_response())
}

/// Saves the external id (blank clears it) and every active user field from the form.
pub async fn save(
    State(state): State<AppState>,
    s: SignedIn,
    Path(id): Path<i64>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    s.check_csrf(org_fields::csrf_of(&pairs))?;
    let (user, org) = load(&state, &s, id).await?;
    let external_id = pairs
        .iter()
        .find(|(k, _)| k == "external_id")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let input = UserInput {
        external_id: Some(Some(external_id.clone())),
        user_fields: Some(org_fields::sent_values(&state, &s.user.actor(), FieldKind::User, &pairs).await?),
        ..UserInput::default()
    };
    match user_changes::update(&state.db, &s.user.actor(), &s.user.audit_actor(), user.id, input).await {
        Ok(_) => Ok(Redirect::to(&format!("/admin/users/{id}?saved=1")).into_response()),
        Err(AppError::Invalid(inv)) => {
            let mut page = user_page(&state, &s, &user, org.as_ref()).await?;
            page.external_id = external_id;
            org_fields::as_sent(&mut page.fields, &pairs);
            page.errors = inv.0.into_iter().map(|e| e.message).collect();
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
        }
        Err(e) => Err(e.into()),
    }
}
