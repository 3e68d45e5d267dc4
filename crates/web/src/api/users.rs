//! `/api/v2/users`: Zendesk's users API, plus provisioning extensions (invitations, API tokens).

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use partnerdesk_core::accounts::{Role, UserStatus};
use partnerdesk_core::policy::Actor;
use partnerdesk_core::{OrgId, UserId};
use partnerdesk_db::users::{self, User, UserFilter};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use partnerdesk_app::AppError;
use partnerdesk_app::account_mail::AccountMail;
use partnerdesk_app::accounts::{self, Provisioner};
use partnerdesk_app::profile_fields;
use partnerdesk_app::user_changes::{self, UserInput};
use partnerdesk_db::profile_fields::FieldKind;

use crate::api::doc::{
    self, Authenticated, IdParam, JsonBody, Overloaded, PageParams, PathId, Query, Refused, UserList,
};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{Id, OptionalJson, ZJson};
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
    pub external_id: Option<String>,
    #[schema(schema_with = doc::values::role_value)]
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
    /// `active`, `invited` (no password yet) or `suspended`.
    #[schema(schema_with = doc::values::user_status_value)]
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
            external_id: u.external_id.clone(),
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

/// `{"user": {...}}`: the answer about one user.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserResponse {
    pub user: UserView,
}

/// The body of a create: `{"user": {...}}` with `email` and `name`.
#[derive(Debug, Deserialize)]
pub struct NewUserEnvelope {
    pub user: UserInput,
}

/// The body of an update: `{"user": {...}}` with the fields to change.
#[derive(Debug, Deserialize)]
pub struct UserEnvelope {
    pub user: UserInput,
}

/// Views of users with their `user_fields` as staff (`staff`) or an end-user sees them.
pub async fn user_views(state: &AppState, list: &[User], staff: bool) -> Result<Vec<UserView>, ApiError> {
    let ids: Vec<i64> = list.iter().map(|u| u.id.0).collect();
    let mut values = profile_fields::shown_in(&state.db, FieldKind::User, &ids, staff).await?;
    Ok(list
        .iter()
        .map(|u| {
            let mut view = UserView::new(state, u);
            view.user_fields = Value::Object(values.remove(&u.id.0).unwrap_or_default());
            view
        })
        .collect())
}

/// `{"user": {...}}` with its `user_fields` as `staff` or an end-user sees them.
pub async fn user_json(state: &AppState, u: &User, staff: bool) -> Result<Json<UserResponse>, ApiError> {
    let user = user_views(state, std::slice::from_ref(u), staff)
        .await?
        .pop()
        .ok_or(AppError::NotFound)?;
    Ok(Json(UserResponse { user }))
}

/// Loads a user the caller may see.
async fn visible_user(state: &AppState, actor: &Actor, id: i64) -> Result<User, ApiError> {
    actor.may_view_user(UserId(id))?;
    Ok(users::get(&mut state.db.conn(), UserId(id)).await?)
}

#[utoipa::path(get, path = "/api/v2/users/me", tag = "users",
    responses((status = 200, description = "The caller", body = UserResponse), Authenticated))]
pub async fn me(State(state): State<AppState>, caller: Caller) -> Result<Json<UserResponse>, ApiError> {
    user_json(&state, &caller.user, caller.actor().is_staff()).await
}

#[utoipa::path(get, path = "/api/v2/users/{id}", tag = "users", params(IdParam),
    responses((status = 200, description = "A user (end-users: only themselves)", body = UserResponse), Authenticated, PathId))]
pub async fn show(State(state): State<AppState>, caller: Caller, Id(id): Id) -> Result<Json<UserResponse>, ApiError> {
    let actor = caller.actor();
    user_json(&state, &visible_user(&state, &actor, id).await?, actor.is_staff()).await
}

/// The filters of the users list (staff).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct UserFilterParams {
    #[param(schema_with = doc::values::role_value)]
    pub role: Option<String>,
    pub organization_id: Option<i64>,
    #[param(schema_with = crate::api::lookups::external_id_text)]
    pub external_id: Option<String>,
}

/// Staff filter by `role`, `organization_id` and `external_id`; end-users get a list of themselves alone (empty when
/// they have not the external id asked for).
#[utoipa::path(get, path = "/api/v2/users", tag = "users",
    params(UserFilterParams, PageParams),
    responses((status = 200, description = "A page of users", body = UserList), Authenticated, Query))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let q = ListQuery::parse(raw.as_deref())?;
    let filter = user_filter(&q)?;
    visible_users_page(&state, &caller, &q, &filter, "/api/v2/users.json").await
}

/// A page of the users `filter` finds, for staff; for an end-user, themselves alone (the other filters are checked
/// all the same), if they have the external id asked for.
pub async fn visible_users_page(
    state: &AppState,
    caller: &Caller,
    q: &ListQuery,
    filter: &UserFilter<'_>,
    path: &str,
) -> Result<Json<Value>, ApiError> {
    if caller.actor().is_staff() {
        return users_page(state, q, filter, path).await;
    }
    let me = &caller.user;
    let mine: Vec<User> = filter
        .external_id
        .is_none_or(|x| me.external_id.as_deref() == Some(x))
        .then(|| me.clone())
        .into_iter()
        .collect();
    let view = user_views(state, &mine, false).await?;
    let n = view.len() as i64;
    Ok(Json(q.envelope(
        "users",
        &view,
        view.last().map(|v| v.id),
        false,
        Some(n),
        &state.url(path),
    )))
}

/// The `role` and `organization_id` filters of the users list.
fn user_filter(q: &ListQuery) -> Result<UserFilter<'_>, ApiError> {
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
    let external_id = q.get("external_id").map(crate::api::lookups::external_id).transpose()?;
    Ok(UserFilter {
        organization_id,
        role,
        external_id,
    })
}

/// A page of users as a list answer (shared with `/organizations/{id}/users`).
pub async fn users_page(
    state: &AppState,
    q: &ListQuery,
    filter: &UserFilter<'_>,
    path: &str,
) -> Result<Json<Value>, ApiError> {
    let mut conn = state.db.conn();
    let page = users::list(&mut conn, filter, q.window()).await?;
    let count = if q.is_offset() {
        Some(users::count(&mut conn, filter).await?)
    } else {
        None
    };
    // Staff only: end-users are answered with themselves alone (above).
    let views = user_views(state, &page.items, true).await?;
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

/// Admins create any account; account managers create end-users of the organizations they manage.
#[utoipa::path(post, path = "/api/v2/users", tag = "users", request_body = NewUserEnvelope,
    responses((status = 201, description = "Created", body = UserResponse), Authenticated, JsonBody, Refused))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ZJson(body): ZJson<NewUserEnvelope>,
) -> Result<(StatusCode, Json<UserResponse>), ApiError> {
    let actor = caller.actor();
    let user = user_changes::create(&state.db, &actor, &caller.audit(), body.user).await?;
    Ok((StatusCode::CREATED, user_json(&state, &user, actor.is_staff()).await?))
}

/// Anyone may change their own `name` and `time_zone`; the other fields need provisioning rights.
#[utoipa::path(put, path = "/api/v2/users/{id}", tag = "users", params(IdParam), request_body = UserEnvelope,
    responses((status = 200, description = "Updated", body = UserResponse), Authenticated, PathId, JsonBody, Refused))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    ZJson(body): ZJson<UserEnvelope>,
) -> Result<Json<UserResponse>, ApiError> {
    let actor = caller.actor();
    let after = user_changes::update(&state.db, &actor, &caller.audit(), UserId(id), body.user).await?;
    user_json(&state, &after, actor.is_staff()).await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationView {
    pub user_id: i64,
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// `{"invitation": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationResponse {
    pub invitation: InvitationView,
}

/// `POST /api/v2/users/{id}/invitation` (extension): a single-use, expiring link to set a password. Older links of
/// the account stop working.
#[utoipa::path(post, path = "/api/v2/users/{id}/invitation", tag = "users", params(IdParam),
    responses((status = 201, description = "Invitation link", body = InvitationResponse), Authenticated, PathId, Refused))]
pub async fn invite(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
) -> Result<(StatusCode, Json<InvitationResponse>), ApiError> {
    let actor = caller.actor();
    let user = visible_user(&state, &actor, id).await?;
    let inv = accounts::invite(
        &state.db,
        Provisioner::User(&actor),
        &caller.audit(),
        &user,
        &AccountMail::of(&state),
        state.settings.invitation_ttl_hours,
    )
    .await?;
    let view = InvitationView {
        user_id: user.id.0,
        url: inv.url,
        expires_at: inv.expires_at,
    };
    Ok((StatusCode::CREATED, Json(InvitationResponse { invitation: view })))
}

#[derive(Debug, Default, Deserialize)]
pub struct TokenInput {
    pub description: Option<String>,
}

/// The optional body of a token request: `{"api_token": {"description": "..."}}`.
#[derive(Debug, Default, Deserialize)]
pub struct TokenEnvelope {
    pub api_token: Option<TokenInput>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiTokenView {
    pub user_id: i64,
    /// The token itself; it is shown this once and kept only as a digest.
    pub token: String,
}

/// `{"api_token": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiTokenResponse {
    pub api_token: ApiTokenView,
}

/// `POST /api/v2/users/{id}/api_tokens` (extension, admins): a new API token, shown once. The body is optional;
/// when there is one, it is JSON (declared as such).
#[utoipa::path(post, path = "/api/v2/users/{id}/api_tokens", tag = "users", params(IdParam),
    request_body(content = Option<TokenEnvelope>, content_type = "application/json"),
    responses((status = 201, description = "The token, shown once", body = ApiTokenResponse), Authenticated, PathId, JsonBody, Refused))]
pub async fn issue_token(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    OptionalJson(body): OptionalJson<Option<TokenEnvelope>>,
) -> Result<(StatusCode, Json<ApiTokenResponse>), ApiError> {
    let actor = caller.actor();
    let user = visible_user(&state, &actor, id).await?;
    let description = body
        .flatten()
        .and_then(|b| b.api_token)
        .and_then(|t| t.description)
        .unwrap_or_default();
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
        Json(ApiTokenResponse {
            api_token: ApiTokenView {
                user_id: user.id.0,
                token,
            },
        }),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SetPasswordInput {
    /// The token of an invitation link (the last segment of its URL).
    pub token: String,
    #[schema(min_length = 10, max_length = 1024)]
    pub password: String,
}

/// `POST /api/v2/account/password` (extension, no sign-in): use an invitation token to set a password.
#[utoipa::path(post, path = "/api/v2/account/password", tag = "users", request_body = SetPasswordInput, security(()),
    responses((status = 200, description = "Password set; the account is active", body = UserResponse), JsonBody, Overloaded))]
pub async fn accept_invitation(
    State(state): State<AppState>,
    ZJson(body): ZJson<SetPasswordInput>,
) -> Result<Json<UserResponse>, ApiError> {
    let user = accounts::accept_invitation(&state, &body.token, &body.password).await?;
    user_json(&state, &user, user.role.is_staff()).await
}
