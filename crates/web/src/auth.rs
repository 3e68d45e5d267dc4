//! Who is calling. Zendesk's three schemes: Basic `email/token:TOKEN`, Basic `email:password`, and
//! `Authorization: Bearer TOKEN`. The user is loaded on every request, so suspension takes effect at once.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use base64::Engine;
use partnerdesk_core::accounts::{NO_ACCOUNT_HELP, UserStatus};
use partnerdesk_core::credentials;
use partnerdesk_core::policy::Actor;
use partnerdesk_db::users::{self, User};
use partnerdesk_db::{AuditActor, DbError};

use partnerdesk_app::AppError;
use partnerdesk_app::signin::{self, SignIn};

use crate::error::ApiError;
use crate::state::AppState;

/// An authenticated, active user.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
}

impl Caller {
    pub fn actor(&self) -> Actor {
        self.user.actor()
    }

    pub fn audit(&self) -> AuditActor {
        self.user.audit_actor()
    }
}

/// A caller who may be anonymous (the end-user API lets anyone try to file a request, to tell them how).
pub struct MaybeCaller(pub Option<Caller>);

fn failed() -> ApiError {
    AppError::Unauthenticated(format!("Invalid credentials. {NO_ACCOUNT_HELP}")).into()
}

enum Credentials {
    Token { email: Option<String>, token: String },
    Password { email: String, password: String },
}

fn parse_authorization(value: &str) -> Result<Credentials, ApiError> {
    let (scheme, rest) = value.trim().split_once(' ').ok_or_else(failed)?;
    if scheme.eq_ignore_ascii_case("bearer") {
        return Ok(Credentials::Token {
            email: None,
            token: rest.trim().to_owned(),
        });
    }
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(AppError::Unauthenticated(format!(
            "Unsupported authorization scheme '{scheme}': use Basic or Bearer."
        ))
        .into());
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .map_err(|_| failed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| failed())?;
    let (user, secret) = decoded.split_once(':').ok_or_else(failed)?;
    // No account has such a name, and the store cannot look one up (PostgreSQL refuses NUL).
    if partnerdesk_core::validation::control_character(user).is_some() {
        return Err(failed());
    }
    Ok(match user.strip_suffix("/token") {
        Some(email) => Credentials::Token {
            email: Some(email.to_owned()),
            token: secret.to_owned(),
        },
        None => Credentials::Password {
            email: user.to_owned(),
            password: secret.to_owned(),
        },
    })
}

fn client_ip(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// Resolves the `Authorization` header, if any, to an active user.
pub async fn authenticate(parts: &Parts, state: &AppState) -> Result<Option<User>, ApiError> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| failed())?;
    let mut conn = state.db.conn();
    let user = match parse_authorization(value)? {
        Credentials::Token { email, token } => {
            let user = match users::by_api_token(&mut conn, &credentials::token_digest(&token)).await {
                Ok(u) => u,
                Err(DbError::NotFound) => return Err(failed()),
                Err(e) => return Err(e.into()),
            };
            if email.is_some_and(|e| !e.trim().eq_ignore_ascii_case(&user.email)) {
                return Err(failed());
            }
            user
        }
        Credentials::Password { email, password } => {
            match signin::with_password(state, &email, &password, &client_ip(parts)).await? {
                SignIn::Active(user) => user,
                SignIn::Suspended => {
                    return Err(AppError::Unauthenticated(
                        "This account is suspended. Contact your account manager.".into(),
                    )
                    .into());
                }
                SignIn::Mismatch => return Err(failed()),
            }
        }
    };
    if user.status == UserStatus::Suspended {
        return Err(
            AppError::Unauthenticated("This account is suspended. Contact your account manager.".into()).into(),
        );
    }
    Ok(Some(user))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match authenticate(parts, state).await? {
            Some(user) => Ok(Caller { user }),
            None => Err(AppError::Unauthenticated(format!("Authentication required. {NO_ACCOUNT_HELP}")).into()),
        }
    }
}

/// The caller by API credentials or, without an `Authorization` header, by browser session: for endpoints that
/// both API clients and pages use (downloads, uploads, bucket browsing). Such endpoints change nothing on GET, and
/// their writes need headers or JSON bodies that a cross-site form cannot send.
pub async fn any_user(parts: &Parts, state: &AppState) -> Result<Option<User>, ApiError> {
    if parts.headers.contains_key(header::AUTHORIZATION) {
        return authenticate(parts, state).await;
    }
    let jar = axum_extra::extract::CookieJar::from_headers(&parts.headers);
    let Some(signed) = crate::session::current(&jar, state).await? else {
        return Ok(None);
    };
    // A browser session may change things through the API only with its CSRF token in a header: a header that
    // no form can send, and that cross-origin scripts cannot send without a preflight this server refuses.
    let safe = matches!(
        parts.method,
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    );
    // The tus routes alone are exempt: every tus request carries `Tus-Resumable`, a header that makes cross-site
    // requests preflighted. Elsewhere that header proves nothing, so it never stands in for the token.
    let path = parts
        .extensions
        .get::<axum::extract::OriginalUri>()
        .map_or(parts.uri.path(), |u| u.0.path());
    let tus_request = parts.headers.contains_key("tus-resumable") && path.starts_with("/api/v2/large_uploads");
    if !safe && !tus_request {
        let sent = parts
            .headers
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !crate::session::constant_time_eq(sent.as_bytes(), signed.csrf.as_bytes()) {
            return Err(AppError::Forbidden(
                "Changes through the API from a browser session need the X-CSRF-Token header.".into(),
            )
            .into());
        }
    }
    Ok(Some(signed.user))
}

/// An API caller or a signed-in browser (see [`any_user`]).
pub struct AnyUser(pub User);

impl FromRequestParts<AppState> for AnyUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match any_user(parts, state).await? {
            Some(u) => Ok(AnyUser(u)),
            None => Err(AppError::Unauthenticated(format!("Authentication required. {NO_ACCOUNT_HELP}")).into()),
        }
    }
}

impl FromRequestParts<AppState> for MaybeCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(MaybeCaller(
            authenticate(parts, state).await?.map(|user| Caller { user }),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(s: &str) -> String {
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(s))
    }

    #[test]
    fn parses_the_three_schemes() {
        assert!(
            matches!(parse_authorization(&basic("a@x.com/token:abc")), Ok(Credentials::Token { email: Some(e), token }) if e == "a@x.com" && token == "abc")
        );
        assert!(
            matches!(parse_authorization(&basic("a@x.com:pw:with:colons")), Ok(Credentials::Password { email, password }) if email == "a@x.com" && password == "pw:with:colons")
        );
        assert!(
            matches!(parse_authorization("Bearer abc"), Ok(Credentials::Token { email: None, token }) if token == "abc")
        );
        assert!(parse_authorization("Digest abc").is_err());
        assert!(parse_authorization("Basic !!!").is_err());
        assert!(parse_authorization(&basic("no-colon")).is_err());
    }
}
