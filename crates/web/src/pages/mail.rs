//! Admin page for incoming mail that was turned away (with why, for 30 days) and for addresses whose mail bounces.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use partnerdesk_db::inbound;

use crate::error::ApiError;
use crate::pages::{Layout, PageError, render};
use crate::session::SignedIn;
use crate::state::AppState;

struct RefusedRow {
    received_at: String,
    sender: String,
    subject: String,
    reason: String,
    excerpt: String,
}

struct FailingRow {
    address: String,
    reason: String,
    failed_at: String,
}

#[derive(Template)]
#[template(path = "admin_mail.html")]
struct MailPage {
    layout: Layout,
    refused: Vec<RefusedRow>,
    failing: Vec<FailingRow>,
    days: i64,
}

pub async fn refused(State(state): State<AppState>, s: SignedIn) -> Result<Response, PageError> {
    s.user.actor().may_administer().map_err(ApiError::from)?;
    let mut conn = state.db.conn();
    let when = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
    let refused = inbound::refused(&mut conn, 200)
        .await?
        .into_iter()
        .map(|m| RefusedRow {
            received_at: when(m.received_at),
            sender: m.sender,
            subject: m.subject,
            reason: m.reason.unwrap_or_default(),
            excerpt: m.excerpt.unwrap_or_default(),
        })
        .collect();
    let failing = inbound::failing(&mut conn, 200)
        .await?
        .into_iter()
        .map(|(address, reason, at)| FailingRow {
            address,
            reason,
            failed_at: when(at),
        })
        .collect();
    Ok(render(&MailPage {
        layout: Layout::new("Mail", Some(&s)),
        refused,
        failing,
        days: partnerdesk_app::janitor::REFUSED_MAIL_DAYS,
    })?
    .into_response())
}
