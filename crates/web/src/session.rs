//! Browser sessions and CSRF protection.
//!
//! The session cookie holds a random 256-bit token (HttpOnly, SameSite=Lax, Secure and `__Host-` prefixed when
//! served over https); the database keeps its sha256 with a per-session CSRF token. Every form carries the CSRF
//! token; forms shown before sign-in use a double-submit cookie instead. Signing in always starts a new
//! session (no fixation), and the user is loaded with the session on every request (suspension is immediate).

use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use chrono::Duration;
use partnerdesk_core::accounts::UserStatus;
use partnerdesk_core::credentials;
use partnerdesk_db::users::User;
use partnerdesk_db::{DbError, sessions};

use crate::error::ApiError;
use crate::state::AppState;

pub const SESSION_HOURS: i64 = 12;
const CSRF_COOKIE: &str = "pd_csrf";

/// The session cookie's name: `__Host-` prefixed over https, where browsers then refuse it from subdomains.
pub fn cookie_name(state: &AppState) -> &'static str {
    if secure(state) {
        "__Host-pd_session"
    } else {
        "pd_session"
    }
}

fn secure(state: &AppState) -> bool {
    state.settings.public_url.starts_with("https://")
}

fn cookie(state: &AppState, name: &'static str, value: String) -> Cookie<'static> {
    let mut c = Cookie::new(name, value);
    c.set_http_only(true);
    c.set_same_site(SameSite::Lax);
    c.set_path("/");
    c.set_secure(secure(state));
    c
}

/// A signed-in, active user with their session's CSRF token.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: User,
    pub csrf: String,
}

/// A form or request whose CSRF token does not match (pages show it as "Form expired").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsrfMismatch;

impl SignedIn {
    /// Refuses a form whose CSRF token does not match the session's.
    pub fn check_csrf(&self, token: &str) -> Result<(), CsrfMismatch> {
        if constant_time_eq(token.as_bytes(), self.csrf.as_bytes()) {
            Ok(())
        } else {
            Err(CsrfMismatch)
        }
    }
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The signed-in user, if the request carries a live session of an active user.
pub async fn current(jar: &CookieJar, state: &AppState) -> Result<Option<SignedIn>, ApiError> {
    let Some(c) = jar.get(cookie_name(state)) else {
        return Ok(None);
    };
    match sessions::find(&mut state.db.conn(), &credentials::token_digest(c.value())).await {
        Ok((session, user)) if user.status != UserStatus::Suspended => Ok(Some(SignedIn {
            user,
            csrf: session.csrf_token,
        })),
        Ok(_) | Err(DbError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Starts a new session for `user` (after discarding any the browser presented) and sets its cookie.
pub async fn start(state: &AppState, jar: CookieJar, user: &User) -> Result<CookieJar, ApiError> {
    if let Some(old) = jar.get(cookie_name(state)) {
        sessions::delete(&mut state.db.conn(), &credentials::token_digest(old.value())).await?;
    }
    let token = credentials::new_token()?;
    let csrf = credentials::new_token()?;
    let expires = partnerdesk_db::now() + Duration::hours(SESSION_HOURS);
    sessions::create(
        &mut state.db.conn(),
        user.id,
        &credentials::token_digest(&token),
        &csrf,
        expires,
    )
    .await?;
    // A browser-session cookie; the server ends it after SESSION_HOURS whatever the browser does.
    let c = cookie(state, cookie_name(state), token);
    Ok(jar.add(c).remove(Cookie::build(CSRF_COOKIE).path("/")))
}

/// Ends the browser's session.
pub async fn end(state: &AppState, jar: CookieJar) -> Result<CookieJar, ApiError> {
    if let Some(c) = jar.get(cookie_name(state)) {
        sessions::delete(&mut state.db.conn(), &credentials::token_digest(c.value())).await?;
    }
    Ok(jar.remove(Cookie::build(cookie_name(state)).path("/")))
}

/// The double-submit CSRF token for forms shown before sign-in: reuses the browser's cookie or sets a new one.
pub fn anonymous_csrf(state: &AppState, jar: CookieJar) -> Result<(CookieJar, String), ApiError> {
    if let Some(c) = jar.get(CSRF_COOKIE) {
        let v = c.value().to_owned();
        return Ok((jar, v));
    }
    let token = credentials::new_token()?;
    Ok((jar.add(cookie(state, CSRF_COOKIE, token.clone())), token))
}

/// Checks a pre-sign-in form's token against its cookie.
pub fn check_anonymous_csrf(jar: &CookieJar, token: &str) -> Result<(), CsrfMismatch> {
    match jar.get(CSRF_COOKIE) {
        Some(c) if !token.is_empty() && constant_time_eq(c.value().as_bytes(), token.as_bytes()) => Ok(()),
        _ => Err(CsrfMismatch),
    }
}
