//! Server-rendered web pages (askama templates, escaped by default): sign-in, the partner portal, the agent
//! workspace and the admin pages. They work without JavaScript and call the same services as the API
//! (`accounts`, `ticketing`), so a rule holds in both.

mod admin;
mod admin_fields;
mod admin_forms;
mod admin_user;
mod agent;
pub mod buckets;
mod escalations;
mod field_inputs;
mod form;
mod mail;
mod multipart;
mod notices;
mod oncall;
mod org_fields;
mod organizations;
pub mod portal;

mod search;
mod signin;
mod views;

use askama::Template;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use partnerdesk_db::users::User;

use partnerdesk_app::AppError;

use crate::error::ApiError;
use crate::session;
use crate::state::AppState;

/// What every page's frame shows: the title, who is signed in, and the CSRF token for the sign-out form.
pub struct Layout {
    pub title: String,
    pub user: Option<NavUser>,
    pub csrf: String,
    /// What the search box in the header holds (the query of a results page).
    pub query: String,
}

pub struct NavUser {
    pub name: String,
    pub staff: bool,
    pub admin: bool,
    pub manager: bool,
}

impl Layout {
    pub fn new(title: impl Into<String>, signed: Option<&session::SignedIn>) -> Layout {
        Layout {
            title: title.into(),
            user: signed.map(|s| NavUser {
                name: s.user.name.clone(),
                staff: s.user.role.is_staff(),
                admin: s.user.role == partnerdesk_core::accounts::Role::Admin,
                manager: s.user.is_account_manager,
            }),
            csrf: signed.map(|s| s.csrf.clone()).unwrap_or_default(),
            query: String::new(),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    layout: Layout,
    status: u16,
    messages: Vec<String>,
}

/// An error shown as a page. Built from the API's errors, so statuses and messages agree with the API.
#[derive(Debug)]
pub struct PageError {
    pub status: StatusCode,
    pub title: String,
    pub messages: Vec<String>,
    /// Seconds for `Retry-After`, when the person is asked to come back later.
    pub retry_after: Option<u64>,
}

impl PageError {
    pub fn new(status: StatusCode, title: &str, message: impl Into<String>) -> PageError {
        PageError {
            status,
            title: title.into(),
            messages: vec![message.into()],
            retry_after: None,
        }
    }

    pub fn csrf() -> PageError {
        PageError::new(
            StatusCode::FORBIDDEN,
            "Form expired",
            "This form was not sent from a partnerdesk page you opened (or it expired). Go back, reload the page and try again.",
        )
    }

    pub fn forbidden(message: impl Into<String>) -> PageError {
        PageError::new(StatusCode::FORBIDDEN, "Not allowed", message)
    }
}

impl From<AppError> for PageError {
    fn from(e: AppError) -> Self {
        let status = crate::error::status_of(&e);
        crate::error::log_internal(&e);
        let messages = match &e {
            AppError::Invalid(inv) => inv.0.iter().map(|f| f.message.clone()).collect(),
            AppError::NotFound => vec!["There is nothing here, or you do not have access to it.".into()],
            other => vec![other.message()],
        };
        let title = match status {
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::FORBIDDEN => "Not allowed",
            StatusCode::UNPROCESSABLE_ENTITY => "Please check your input",
            StatusCode::TOO_MANY_REQUESTS => "Too many attempts",
            _ if status.is_server_error() => "Something went wrong",
            _ => "Request refused",
        };
        PageError {
            status,
            title: title.into(),
            messages,
            retry_after: e.retry_after(),
        }
    }
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        e.0.into()
    }
}

/// Store and policy errors are shown through `AppError`, like every other.
macro_rules! page_error_via_app {
    ($($t:ty),*) => {$(
        impl From<$t> for PageError {
            fn from(e: $t) -> Self {
                AppError::from(e).into()
            }
        }
    )*};
}
page_error_via_app!(
    partnerdesk_db::DbError,
    partnerdesk_core::Invalid,
    partnerdesk_core::policy::Denied
);

impl From<session::CsrfMismatch> for PageError {
    fn from(_: session::CsrfMismatch) -> Self {
        PageError::csrf()
    }
}

/// Extractor for pages that need a signed-in user: others are sent to the sign-in page.
impl axum::extract::FromRequestParts<AppState> for session::SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &AppState) -> Result<Self, Response> {
        let jar = axum_extra::extract::CookieJar::from_headers(&parts.headers);
        match session::current(&jar, state).await {
            Ok(Some(s)) => Ok(s),
            Ok(None) => {
                let next = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
                let q: String = form_urlencoded::Serializer::new(String::new())
                    .append_pair("next", next)
                    .finish();
                Err(Redirect::to(&format!("/signin?{q}")).into_response())
            }
            Err(e) => Err(PageError::from(e).into_response()),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let page = ErrorPage {
            layout: Layout::new(self.title, None),
            status: self.status.as_u16(),
            messages: self.messages,
        };
        let mut resp = match page.render() {
            Ok(html) => (self.status, Html(html)).into_response(),
            Err(_) => (self.status, "error").into_response(),
        };
        if let Some(secs) = self.retry_after {
            resp.headers_mut().insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        resp
    }
}

/// Renders a template into a response.
pub fn render<T: Template>(t: &T) -> Result<Html<String>, PageError> {
    t.render()
        .map(Html)
        .map_err(|e| AppError::Internal(format!("template: {e}")).into())
}

/// Where a user lands after signing in.
pub fn home_for(user: &User) -> &'static str {
    if user.role.is_staff() { "/agent" } else { "/portal" }
}

async fn root(signed: Option<session::SignedIn>) -> Redirect {
    match signed {
        Some(s) => Redirect::to(home_for(&s.user)),
        None => Redirect::to("/signin"),
    }
}

impl axum::extract::OptionalFromRequestParts<AppState> for session::SignedIn {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Option<Self>, Response> {
        let jar = axum_extra::extract::CookieJar::from_headers(&parts.headers);
        session::current(&jar, state)
            .await
            .map_err(|e| PageError::from(e).into_response())
    }
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/partnerdesk.css"),
    )
}

async fn fields_script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/fields.js"),
    )
}

async fn upload_script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/upload.js"),
    )
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(root))
        .route("/static/partnerdesk.css", get(stylesheet))
        .route("/static/upload.js", get(upload_script))
        .route("/static/fields.js", get(fields_script))
        .route("/signin", get(signin::show).post(signin::submit))
        .route("/signout", post(signin::signout))
        .route(
            "/account/set-password",
            get(signin::show_set_password).post(signin::set_password),
        )
        .route(
            "/account/forgot-password",
            get(signin::show_forgot_password).post(signin::forgot_password),
        )
        .route("/search", get(search::results))
        .route("/portal", get(portal::home))
        .route("/portal/tickets/new", get(portal::new_ticket))
        .route(
            "/portal/tickets",
            post(portal::create_ticket).layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/portal/tickets/{id}",
            get(portal::show_ticket)
                .post(portal::reply)
                .layer(DefaultBodyLimit::disable()),
        )
        .route("/agent", get(agent::queue))
        .route("/agent/notifications", get(notices::show).post(notices::update))
        .route(
            "/agent/tickets/{id}",
            get(agent::show_ticket)
                .post(agent::update_ticket)
                .layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/escalate/{token}",
            get(escalations::link_form).post(escalations::link_submit),
        )
        .route(
            "/portal/escalate",
            get(escalations::portal_form).post(escalations::portal_submit),
        )
        .route(
            "/escalations/{id}/ack",
            get(escalations::ack_form).post(escalations::ack_submit),
        )
        .route("/agent/escalations", get(escalations::dashboard))
        .route("/agent/escalations/{id}", post(escalations::transition))
        .route("/admin/oncall", get(oncall::oncall).post(oncall::save_oncall))
        .route("/admin/oncall/overrides", post(oncall::add_override))
        .route("/admin/organizations/{id}/escalation_link", post(oncall::rotate_link))
        .route("/agent/organizations/{id}/bucket", get(buckets::browse))
        .route("/agent/tickets/{id}/bucket", post(buckets::attach))
        .route("/admin/organizations/{id}/bucket", post(buckets::connect))
        .route("/admin/organizations/{id}/bucket/test", post(buckets::test))
        .route("/admin/organizations/{id}/fields", post(organizations::save_fields))
        .route(
            "/admin/organizations",
            get(organizations::organizations).post(organizations::create_organization),
        )
        .route(
            "/admin/organizations/{id}",
            get(organizations::organization).post(organizations::update_organization),
        )
        .route("/admin/users", get(admin::users).post(admin::create_user))
        .route("/admin/users/{id}", get(admin_user::show).post(admin_user::save))
        .route("/admin/users/{id}/status", post(admin::set_user_status))
        .route("/admin/users/{id}/invitation", post(admin::invite_user))
        .route("/admin/groups", get(admin::groups).post(admin::create_group))
        .route("/admin/mail", get(mail::refused))
        .route("/admin/forms", get(admin::forms).post(admin::create_form))
        .route("/admin/forms/{id}", get(admin_forms::show).post(admin_forms::save))
        .route("/admin/forms/{id}/active", post(admin_forms::set_active))
        .route("/admin/forms/{id}/delete", post(admin_forms::delete))
        // Ticket, organization and user fields: the same handlers, each reading its kind from the path.
        .route("/admin/fields", get(admin_fields::list).post(admin_fields::create))
        .route("/admin/fields/{id}", get(admin_fields::show).post(admin_fields::update))
        .route("/admin/fields/{id}/active", post(admin_fields::set_active))
        .route("/admin/fields/{id}/delete", post(admin_fields::delete))
        .route(
            "/admin/organization_fields",
            get(admin_fields::list).post(admin_fields::create),
        )
        .route(
            "/admin/organization_fields/{id}",
            get(admin_fields::show).post(admin_fields::update),
        )
        .route("/admin/organization_fields/{id}/active", post(admin_fields::set_active))
        .route("/admin/organization_fields/{id}/delete", post(admin_fields::delete))
        .route("/admin/user_fields", get(admin_fields::list).post(admin_fields::create))
        .route(
            "/admin/user_fields/{id}",
            get(admin_fields::show).post(admin_fields::update),
        )
        .route("/admin/user_fields/{id}/active", post(admin_fields::set_active))
        .route("/admin/user_fields/{id}/delete", post(admin_fields::delete))
        // Every other form is small: 1 MiB is far above the longest (64 KiB of notes). The routes above that take
        // files switch this off; `multipart::read` bounds them instead.
        .layer(DefaultBodyLimit::max(FORM_BODY_LIMIT))
}

/// The body limit of page forms without files.
const FORM_BODY_LIMIT: usize = 1024 * 1024;
