//! Incoming mail as the store keeps it: one row per message (its Message-ID is unique, so a message delivered twice
//! is handled once), refused mail for admins, the once-a-day automatic answers, and addresses that bounce.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::conn::{Conn, Row};
use crate::error::DbError;
use crate::{Page, Window, args, now};

/// What became of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Comment,
    Ticket,
    Refused,
    Ignored,
}

impl Outcome {
    pub fn parse(s: &str) -> Option<Outcome> {
        [Outcome::Comment, Outcome::Ticket, Outcome::Refused, Outcome::Ignored]
            .into_iter()
            .find(|o| o.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Comment => "comment",
            Outcome::Ticket => "ticket",
            Outcome::Refused => "refused",
            Outcome::Ignored => "ignored",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InboundMail {
    pub id: i64,
    pub message_id: String,
    pub sender: String,
    pub subject: String,
    pub outcome: String,
    pub reason: Option<String>,
    pub excerpt: Option<String>,
    pub ticket_id: Option<i64>,
    pub received_at: DateTime<Utc>,
}

fn from_row(r: &Row) -> Result<InboundMail, DbError> {
    Ok(InboundMail {
        id: r.i64("id")?,
        message_id: r.text("message_id")?,
        sender: r.text("sender")?,
        subject: r.text("subject")?,
        outcome: r.text("outcome")?,
        reason: r.opt_text("reason")?,
        excerpt: r.opt_text("excerpt")?,
        ticket_id: r.opt_i64("ticket_id")?,
        received_at: r.time("received_at")?,
    })
}

/// What is recorded of a message.
pub struct NewInbound<'a> {
    pub message_id: &'a str,
    pub sender: &'a str,
    pub subject: &'a str,
    pub outcome: Outcome,
    pub reason: Option<&'a str>,
    pub excerpt: Option<&'a str>,
    pub ticket_id: Option<i64>,
}

/// Records a message; false when a message with its Message-ID was recorded before (a repeat: do nothing).
pub async fn record(conn: &mut Conn, m: &NewInbound<'_>) -> Result<bool, DbError> {
    let n = conn
        .execute(
            "INSERT INTO inbound_mail (message_id, sender, subject, outcome, reason, excerpt, ticket_id, received_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (message_id) DO NOTHING",
            &args![
                m.message_id,
                m.sender,
                m.subject,
                m.outcome.as_str(),
                m.reason,
                m.excerpt,
                m.ticket_id,
                now()
            ],
        )
        .await?;
    Ok(n == 1)
}

/// Whether a message with this Message-ID was handled already.
pub async fn seen(conn: &mut Conn, message_id: &str) -> Result<bool, DbError> {
    Ok(conn
        .fetch_optional("SELECT id FROM inbound_mail WHERE message_id = ?", &args![message_id])
        .await?
        .is_some())
}

/// Messages from `sender` since `since` (the per-sender rate limit).
pub async fn count_from(conn: &mut Conn, sender: &str, since: DateTime<Utc>) -> Result<i64, DbError> {
    conn.fetch_one(
        "SELECT COUNT(*) AS n FROM inbound_mail WHERE sender = ? AND received_at >= ?",
        &args![sender, since],
    )
    .await?
    .i64("n")
}

/// Refused mail, newest first.
pub async fn refused(conn: &mut Conn, limit: i64) -> Result<Vec<InboundMail>, DbError> {
    let newest = Window {
        desc: true,
        ..Window::first(limit)
    };
    Ok(list(conn, Some(Outcome::Refused), newest).await?.items)
}

/// Incoming mail of one outcome or all, in `window` (newest first when it says so).
pub async fn list(conn: &mut Conn, outcome: Option<Outcome>, window: Window) -> Result<Page<InboundMail>, DbError> {
    let mut a = Vec::new();
    let filter = match outcome {
        Some(o) => {
            a.push(o.as_str().into());
            " AND outcome = ?"
        }
        None => "",
    };
    let sql = format!(
        "SELECT * FROM inbound_mail WHERE 1 = 1{filter}{}",
        window.sql("id", &mut a)
    );
    Page::from_rows(conn.fetch_all(&sql, &a).await?, &window, from_row)
}

/// Forgets what refused mail said (its excerpt and subject) once older than `before`; the row stays, so that a
/// repeat of the message is still recognised.
pub async fn purge_refused(conn: &mut Conn, before: DateTime<Utc>) -> Result<u64, DbError> {
    conn.execute(
        "UPDATE inbound_mail SET excerpt = NULL, subject = '' WHERE outcome = 'refused' AND received_at < ? \
         AND (excerpt IS NOT NULL OR subject <> '')",
        &args![before],
    )
    .await
}

/// Takes today's one automatic answer to `address`; false when it was already sent today.
pub async fn claim_auto_reply(conn: &mut Conn, address: &str, day: &str) -> Result<bool, DbError> {
    let n = conn
        .execute(
            "INSERT INTO mail_auto_replies (address, day) VALUES (?, ?) ON CONFLICT (address, day) DO NOTHING",
            &args![address, day],
        )
        .await?;
    Ok(n == 1)
}

/// How many automatic answers were taken on `day`, in all.
pub async fn answers_on(conn: &mut Conn, day: &str) -> Result<i64, DbError> {
    conn.fetch_one("SELECT COUNT(*) AS n FROM mail_auto_replies WHERE day = ?", &args![day])
        .await?
        .i64("n")
}

/// Marks `address` as failing (a bounce said so).
pub async fn mark_failing(conn: &mut Conn, address: &str, reason: &str) -> Result<(), DbError> {
    conn.execute(
        "INSERT INTO failing_addresses (address, reason, failed_at) VALUES (?, ?, ?) \
         ON CONFLICT (address) DO UPDATE SET reason = excluded.reason, failed_at = excluded.failed_at",
        &args![address.trim().to_lowercase(), reason, now()],
    )
    .await?;
    Ok(())
}

/// Addresses that bounced, newest first: (address, reason, when).
pub async fn failing(conn: &mut Conn, limit: i64) -> Result<Vec<(String, String, DateTime<Utc>)>, DbError> {
    let rows = conn
        .fetch_all(
            "SELECT address, reason, failed_at FROM failing_addresses ORDER BY failed_at DESC LIMIT ?",
            &args![limit],
        )
        .await?;
    rows.iter()
        .map(|r| Ok((r.text("address")?, r.text("reason")?, r.time("failed_at")?)))
        .collect()
}
