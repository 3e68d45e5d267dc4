//! `/api/v2/users`: Zendesk's users API, plus provisioning extensions (invitations, API tokens).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use partnerdesk_core::accounts::{Role, UserStatus};
use partnerdesk_core::policy::Actor;
use partnerdesk_core::{OrgId, UserId};
use partnerdesk_db::users::{self, User, UserFilter};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use partnerdesk_app::AppError;
use partnerdesk_app::accounts::{self, NewAccount, Provisioner};
use partnerdesk_app::user_changes::{self, UserInput};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{Id, ZJson, parse_json};
use crate::pagination::ListQuery;
use crate::state::AppState;

/// A user, in Zendesk's shape; `status`, `account_manager`, `support_manager` and `provisioned_by_id` are
/// partnerdesk extensions.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: i64,
    pub url: String,
    pub name: String,
    pub email: String,
    pub role: String,
    pub organization_id: Option<i64>,
    pub active: bool,
    pub suspended: bool,
    pub verified: bool,
    pub time_zone: String,
    pub iana_time_zone: String,
    pub locale: String,
    pub tags: Vec<String>,
    #[schema(value_type = Object)]
    pub user_fields: Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub status: String,
    pub account_manager: bool,
    pub support_manager: bool,
    pub provisioned_by_id: Option<i64>,
}

impl UserView {
    pub fn new(state: &AppState, u: &User) -> UserView {
        UserView {
            id: u.id.0,
            url: state.url(&format!("/api/v2/users/{}.json", u.id)),
            name: u.name.clone(),
            email: u.email.clone(),
            role: u.role.as_str().to_owned(),
            organization_id: u.organization_id.map(|o| o.0),
            active: true,
            suspended: u.status == UserStatus::Suspended,
            verified: u.has_password,
            time_zone: u.time_zone.clone(),
            iana_time_zone: u.time_zone.clone(),
            locale: "en-US".into(),
            tags: Vec::new(),
            user_fields: json!({}),
            created_at: u.created_at,
            updated_at: u.updated_at,
            status: u.status.as_str().to_owned(),
            account_manager: u.is_account_manager,
            support_manager: u.is_support_manager,
            provisioned_by_id: u.provisioned_by_id.map(|p| p.0),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UserEnvelope<T> {
    pub user: T,
}

fn user_json(state: &AppState, u: &User) -> Json<Value> {
    Json(json!({ "user": UserView::new(state, u) }))
}

/// Loads a user the caller may see.
async fn visible_user(state: &AppState, actor: &Actor, id: i64) -> Result<User, ApiError> {
    actor.may_view_user(UserId(id))?;
    Ok(users::get(&mut state.db.conn(), UserId(id)).await?)
}

#[utoipa::path(get, path = "/api/v2/users/me", tag = "users", responses((status = 200, description = "The caller")))]
pub async fn me(State(state): State<AppState>, caller: Caller) -> Json<Value> {
    user_json(&state, &caller.user)
}

#[utoipa::path(get, path = "/api/v2/users/{id}", tag = "users", params(("id" = i64, Path)), responses((status = 200, description = "A user"), (status = 404, description = "Not found")))]
pub async fn show(State(state): State<AppState>, caller: Caller, Id(id): Id) -> Result<Json<Value>, ApiError> {
    Ok(user_json(&state, &visible_user(&state, &caller.actor(), id).await?))
}

#[utoipa::path(get, path = "/api/v2/users", tag = "users", params(("role" = Option<String>, Query), ("organization_id" = Option<i64>, Query)), responses((status = 200, description = "A page of users")))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let actor = caller.actor();
    if !actor.is_staff() {
        // End-users may list only themselves.
        let q = ListQuery::parse(raw.as_deref())?;
        let view = [UserView::new(&state, &caller.user)];
        return Ok(Json(q.envelope(
            "users",
            &view,
            Some(caller.user.id.0),
            false,
            Some(1),
            &state.url("/api/v2/users.json"),
        )));
    }
    let q = ListQuery::parse(raw.as_deref())?;
    let role = q
        .get("role")
        .map(|r| Role::parse(r).ok_or_else(|| AppError::BadRequest(format!("role must be one of {}", Role::choices()))))
        .transpose()?;
    let organization_id = q
        .get("organization_id")
        .map(|o| {
            o.parse::<i64>()
                .map(OrgId)
                .map_err(|_| AppError::BadRequest("organization_id must be an integer".into()))
        })
        .transpose()?;
    let filter = UserFilter { organization_id, role };
    users_page(&state, &q, &filter, "/api/v2/users.json").await
}

/// A page of users as a list answer (shared with `/organizations/{id}/users`).
pub async fn users_page(
    state: &AppState,
    q: &ListQuery,
    filter: &UserFilter,
    path: &str,
) -> Result<Json<Value>, ApiError> {
    let mut conn = state.db.conn();
    let page = users::list(&mut conn, filter, q.window()).await?;
    let count = if q.is_offset() {
        Some(users::count(&mut conn, filter).await?)
    } else {
        None
    };
    let views: Vec<UserView> = page.items.iter().map(|u| UserView::new(state, u)).collect();
    let last = page.items.last().map(|u| u.id.0);
    Ok(Json(q.envelope(
        "users",
        &views,
        last,
        page.has_more,
        count,
        &state.url(path),
    )))
}

#[utoipa::path(post, path = "/api/v2/users", tag = "users", request_body = Object, responses((status = 201, description = "Created"), (status = 422, description = "Invalid")))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ZJson(body): ZJson<UserEnvelope<UserInput>>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let u = body.user;
    let actor = caller.actor();
    let input = NewAccount {
        email: u.email.unwrap_or_default(),
        name: u.name.unwrap_or_default(),
        role: u.role,
        organization_id: u.organization_id.flatten(),
        is_account_manager: u.account_manager.unwrap_or(false),
        is_support_manager: u.support_manager.unwrap_or(false),
        password: u.password,
    };
    let user = accounts::create_account(&state.db, Provisioner::User(&actor), &caller.audit(), input).await?;
    Ok((StatusCode::CREATED, user_json(&state, &user)))
}

#[utoipa::path(put, path = "/api/v2/users/{id}", tag = "users", params(("id" = i64, Path)), request_body = Object, responses((status = 200, description = "Updated"), (status = 422, description = "Invalid")))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    ZJson(body): ZJson<UserEnvelope<UserInput>>,
) -> Result<Json<Value>, ApiError> {
    let after = user_changes::update(&state.db, &caller.actor(), &caller.audit(), UserId(id), body.user).await?;
    Ok(user_json(&state, &after))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationView {
    pub user_id: i64,
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// `POST /api/v2/users/{id}/invitation` (extension): a single-use, expiring link to set a password.
#[utoipa::path(post, path = "/api/v2/users/{id}/invitation", tag = "users", params(("id" = i64, Path)), responses((status = 201, description = "Invitation link", body = InvitationView)))]
pub async fn invite(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let actor = caller.actor();
    let user = visible_user(&state, &actor, id).await?;
    let inv = accounts::invite(
        &state.db,
        Provisioner::User(&actor),
        &caller.audit(),
        &user,
        &state.settings.public_url,
        state.settings.invitation_ttl_hours,
    )
    .await?;
    let view = InvitationView {
        user_id: user.id.0,
        url: inv.url,
        expires_at: inv.expires_at,
    };
    Ok((StatusCode::CREATED, Json(json!({ "invitation": view }))))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct TokenInput {
    pub description: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct TokenEnvelope {
    #[serde(default)]
    api_token: TokenInput,
}

/// `POST /api/v2/users/{id}/api_tokens` (extension, admins): a new API token, shown once.
#[utoipa::path(post, path = "/api/v2/users/{id}/api_tokens", tag = "users", params(("id" = i64, Path)), responses((status = 201, description = "The token, shown once")))]
pub async fn issue_token(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let actor = caller.actor();
    let user = visible_user(&state, &actor, id).await?;
    // The body is optional: `{"api_token": {"description": "..."}}`.
    let input: TokenEnvelope = if body.iter().all(u8::is_ascii_whitespace) {
        TokenEnvelope::default()
    } else {
        parse_json(&body)?
    };
    let description = input.api_token.description.unwrap_or_default();
    let token = accounts::issue_api_token(
        &state.db,
        Provisioner::User(&actor),
        &caller.audit(),
        &user,
        &description,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "api_token": { "user_id": user.id.0, "token": token } })),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SetPasswordInput {
    pub token: String,
    pub password: String,
}

/// `POST /api/v2/account/password` (extension, no sign-in): use an invitation token to set a password.
#[utoipa::path(post, path = "/api/v2/account/password", tag = "users", request_body = SetPasswordInput, responses((status = 200, description = "Password set; the account is active"), (status = 422, description = "Used, expired or unknown link")))]
pub async fn accept_invitation(
    State(state): State<AppState>,
    ZJson(body): ZJson<SetPasswordInput>,
) -> Result<Json<Value>, ApiError> {
    let user = accounts::accept_invitation(&state, &body.token, &body.password).await?;
    Ok(user_json(&state, &user))
}
