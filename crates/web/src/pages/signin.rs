//! Signing in and out, and setting a password from an invitation link. There is no sign-up page: the sign-in
//! page says plainly that partner accounts are created by the account manager.

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use partnerdesk_core::accounts::NO_ACCOUNT_HELP;
use serde::Deserialize;

use partnerdesk_app::signin::{self as signing_in, SignIn};
use partnerdesk_app::{account_mail, accounts};

use crate::pages::form::Form;
use crate::pages::{Layout, PageError, home_for, render};
use crate::session::{self, SignedIn};
use crate::state::AppState;

#[derive(Template)]
#[template(path = "signin.html")]
struct SignInPage {
    layout: Layout,
    csrf: String,
    next: String,
    email: String,
    error: Option<String>,
    notice: Option<String>,
    help: &'static str,
}

#[derive(Debug, Default, Deserialize)]
pub struct SignInQuery {
    #[serde(default)]
    next: String,
    #[serde(default)]
    notice: String,
}

#[derive(Debug, Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

/// Only local paths: a sign-in link must not send anyone to another site.
fn safe_next(next: &str) -> Option<&str> {
    // Browsers drop tabs and newlines from a Location, so "/\t/evil.example" would become "//evil.example".
    let plain = !next.chars().any(|c| c.is_whitespace() || c.is_control() || c == '\\');
    (plain && next.starts_with('/') && !next.starts_with("//")).then_some(next)
}

#[cfg(test)]
mod tests {
    #[test]
    fn next_stays_on_this_site() {
        for ok in ["/portal", "/agent/tickets/5?x=1"] {
            assert_eq!(super::safe_next(ok), Some(ok));
        }
        for bad in [
            "//evil.example",
            "/\t/evil.example",
            "/\\evil.example",
            "https://evil.example",
            "/ /x",
            "/\n/x",
        ] {
            assert_eq!(super::safe_next(bad), None, "{bad:?}");
        }
    }
}

fn page(csrf: String, next: String, email: String, error: Option<String>, notice: Option<String>) -> SignInPage {
    SignInPage {
        layout: Layout::new("Sign in", None),
        csrf,
        next,
        email,
        error,
        notice,
        help: NO_ACCOUNT_HELP,
    }
}

pub async fn show(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(q): Query<SignInQuery>,
) -> Result<Response, PageError> {
    if let Some(s) = session::current(&jar, &state).await? {
        return Ok(Redirect::to(home_for(&s.user)).into_response());
    }
    let (jar, csrf) = session::anonymous_csrf(&state, jar)?;
    let notice = (q.notice == "password-set").then(|| "Your password is set. Sign in with it now.".to_owned());
    Ok((jar, render(&page(csrf, q.next, String::new(), None, notice))?).into_response())
}

pub async fn submit(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    jar: CookieJar,
    Form(f): Form<SignInForm>,
) -> Result<Response, PageError> {
    session::check_anonymous_csrf(&jar, &f.csrf)?;
    let user = match signing_in::with_password(&state, &f.email, &f.password, &addr.ip().to_string()).await? {
        SignIn::Active(user) => user,
        refused => {
            let (jar, csrf) = session::anonymous_csrf(&state, jar)?;
            let error = if matches!(refused, SignIn::Suspended) {
                "This account is suspended. Contact your account manager."
            } else {
                "That email and password do not match an account."
            };
            let body = render(&page(csrf, f.next, f.email, Some(error.to_owned()), None))?;
            return Ok((StatusCode::UNAUTHORIZED, jar, body).into_response());
        }
    };
    let jar = session::start(&state, jar, &user).await?;
    let to = safe_next(&f.next).unwrap_or(home_for(&user)).to_owned();
    Ok((jar, Redirect::to(&to)).into_response())
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn signout(
    State(state): State<AppState>,
    jar: CookieJar,
    signed: SignedIn,
    Form(f): Form<CsrfForm>,
) -> Result<Response, PageError> {
    signed.check_csrf(&f.csrf)?;
    let jar = session::end(&state, jar).await?;
    Ok((jar, Redirect::to("/signin")).into_response())
}

#[derive(Template)]
#[template(path = "set_password.html")]
struct SetPasswordPage {
    layout: Layout,
    csrf: String,
    token: String,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

pub async fn show_set_password(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(q): Query<TokenQuery>,
) -> Result<Response, PageError> {
    let (jar, csrf) = session::anonymous_csrf(&state, jar)?;
    let page = SetPasswordPage {
        layout: Layout::new("Set your password", None),
        csrf,
        token: q.token,
        error: None,
    };
    Ok((jar, render(&page)?).into_response())
}

#[derive(Debug, Deserialize)]
pub struct SetPasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

pub async fn set_password(
    State(state): State<AppState>,
    jar: CookieJar,
    Form(f): Form<SetPasswordForm>,
) -> Result<Response, PageError> {
    session::check_anonymous_csrf(&jar, &f.csrf)?;
    let result = if f.password != f.confirm {
        Err("The two passwords differ.".to_owned())
    } else {
        accounts::accept_invitation(&state, &f.token, &f.password)
            .await
            .map_err(|e| PageError::from(e).messages.join(" "))
    };
    match result {
        Ok(_) => Ok(Redirect::to("/signin?notice=password-set").into_response()),
        Err(error) => {
            let (jar, csrf) = session::anonymous_csrf(&state, jar)?;
            let page = SetPasswordPage {
                layout: Layout::new("Set your password", None),
                csrf,
                token: f.token,
                error: Some(error),
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, jar, render(&page)?).into_response())
        }
    }
}

#[derive(Template)]
#[template(path = "forgot_password.html")]
struct ForgotPasswordPage {
    layout: Layout,
    csrf: String,
    email: String,
    notice: Option<String>,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ForgotPasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
}

fn forgot_page(csrf: String, email: String, notice: Option<String>, error: Option<String>) -> ForgotPasswordPage {
    ForgotPasswordPage {
        layout: Layout::new("Forgot your password?", None),
        csrf,
        email,
        notice,
        error,
    }
}

pub async fn show_forgot_password(State(state): State<AppState>, jar: CookieJar) -> Result<Response, PageError> {
    let (jar, csrf) = session::anonymous_csrf(&state, jar)?;
    Ok((jar, render(&forgot_page(csrf, String::new(), None, None))?).into_response())
}

/// Asks for a reset link. The answer is the same whether or not the address has an account (see
/// `account_mail::request_reset`); only the rate limit, counted for every address alike, answers otherwise.
pub async fn forgot_password(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    jar: CookieJar,
    Form(f): Form<ForgotPasswordForm>,
) -> Result<Response, PageError> {
    session::check_anonymous_csrf(&jar, &f.csrf)?;
    let (jar, csrf) = session::anonymous_csrf(&state, jar)?;
    let email = f.email.trim().to_owned();
    if email.is_empty() || email.len() > 254 || !email.contains('@') {
        let page = forgot_page(
            csrf,
            email,
            None,
            Some("Enter the e-mail address of your account.".into()),
        );
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, jar, render(&page)?).into_response());
    }
    match account_mail::request_reset(&state, &email, &addr.ip().to_string()) {
        Ok(()) => {
            let page = forgot_page(csrf, String::new(), Some(account_mail::reset_answer()), None);
            Ok((jar, render(&page)?).into_response())
        }
        Err(wait) => {
            let error = format!("Too many requests. Try again in {} minutes.", wait.div_ceil(60));
            let page = forgot_page(csrf, email, None, Some(error));
            Ok((StatusCode::TOO_MANY_REQUESTS, jar, render(&page)?).into_response())
        }
    }
}
