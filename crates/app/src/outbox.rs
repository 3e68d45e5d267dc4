//! Delivering the outbox: e-mail over SMTP (lettre; text and HTML) and webhooks (Slack-compatible JSON with an
//! HMAC-SHA256 signature header). A background worker claims due deliveries, sends them, and retries failures with
//! exponential backoff; after `MAX_ATTEMPTS` a delivery is marked failed and shown to admins. The same worker moves
//! unacknowledged escalations along their chain.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use partnerdesk_db::outbox::{self, Delivery, DeliveryKind};
use partnerdesk_mail::Email;

use crate::context::App;

pub const MAX_ATTEMPTS: i64 = 25;

/// Backoff before attempt `attempts + 1`: 2 s, 4 s, 8 s ... up to 10 minutes.
pub fn backoff(attempts: i64) -> TimeDelta {
    TimeDelta::seconds((2i64 << attempts.clamp(0, 20)).min(600))
}

/// Sends one delivery through this instance's shared mailer or webhook client.
async fn deliver(state: &App, d: &Delivery) -> Result<(), String> {
    let p = &d.payload;
    let text = |k: &str| p[k].as_str().unwrap_or_default();
    // Account e-mails carry their link sealed (see `account_mail`): opened only here, just before sending.
    let opened = |k: &str| match p[format!("sealed_{k}")].as_str() {
        Some(sealed) => state
            .sealer
            .open(sealed)
            .map_err(|e| format!("cannot open the sealed {k}: {e}")),
        None => Ok(text(k).to_owned()),
    };
    let sent = match d.kind {
        DeliveryKind::Email => {
            let (body, html) = (opened("text")?, opened("html")?);
            let email = Email {
                to: text("to"),
                subject: p["subject"].as_str().unwrap_or("partnerdesk"),
                message_id: p["message_id"].as_str(),
                text: &body,
                html: &html,
                reply_to: p["reply_to"].as_str(),
                in_reply_to: p["in_reply_to"].as_str(),
                references: p["references"].as_str(),
                auto_submitted: p["auto_submitted"].as_bool().unwrap_or(false),
            };
            state.mailer.send(&email).await
        }
        DeliveryKind::Webhook => {
            let url = p["url"].as_str().ok_or("no webhook URL")?;
            state.webhooks.post(url, text("delivery"), &p["body"]).await
        }
    };
    sent.map_err(|e| e.0)
}

/// How many deliveries one instance sends at once. An SMTP delivery costs tens of milliseconds of waiting (one
/// round trip after another, and lettre's last write waits for the server's delayed ACK): sent one after another,
/// mail would queue at about 20 a second; side by side they share the SMTP connection pool.
const SENDING: usize = 4;
/// How many deliveries one round claims.
const BATCH: i64 = 32;

/// Sends what is due at `now`; returns (sent, failed attempts).
pub async fn deliver_due(state: &App, now: DateTime<Utc>) -> Result<(usize, usize), crate::error::AppError> {
    use futures::StreamExt;
    let claimed = {
        let mut tx = state.db.begin().await?;
        let c = outbox::claim(&mut tx, &state.instance_id, now, now + TimeDelta::seconds(120), BATCH).await?;
        tx.commit().await?;
        c
    };
    let mut outcomes = futures::stream::iter(claimed)
        .map(|d| deliver_one(state, d, now))
        .buffer_unordered(SENDING);
    let (mut sent, mut failed) = (0, 0);
    while let Some(outcome) = outcomes.next().await {
        match outcome? {
            Some(true) => sent += 1,
            Some(false) => failed += 1,
            None => {}
        }
    }
    Ok((sent, failed))
}

/// Sends one claimed delivery and records the outcome: `Some(true)` sent, `Some(false)` failed (to be retried, or
/// given up), `None` when another instance has taken it over meanwhile.
async fn deliver_one(state: &App, d: Delivery, now: DateTime<Utc>) -> Result<Option<bool>, crate::error::AppError> {
    let worker = &state.instance_id;
    // Renew this one's lease just before sending it, so a slow batch never lets another instance take it.
    let until = partnerdesk_db::now() + TimeDelta::seconds(60);
    if !outbox::renew(&mut state.db.conn(), d.id, worker, until).await? {
        return Ok(None);
    }
    match deliver(state, &d).await {
        Ok(()) => {
            outbox::mark_sent(&mut state.db.conn(), d.id, worker).await?;
            Ok(Some(true))
        }
        Err(e) => {
            let give_up = d.attempts + 1 >= MAX_ATTEMPTS;
            tracing::warn!(delivery = d.id, kind = %d.kind, attempts = d.attempts + 1, give_up, error = %e, "delivery failed");
            let retry = now + backoff(d.attempts);
            outbox::mark_attempt_failed(&mut state.db.conn(), d.id, worker, &e, retry, give_up).await?;
            Ok(Some(false))
        }
    }
}

/// The background worker: deliveries and escalation timeouts, until shutdown.
pub async fn worker(state: App) {
    let every = Duration::from_millis(state.settings.worker_interval_ms.max(50));
    while !state.shutdown.is_cancelled() {
        let now = partnerdesk_db::now();
        let mut busy = false;
        match deliver_due(&state, now).await {
            // A full round: more may be waiting, so look again at once.
            Ok((sent, failed)) => busy = sent + failed >= BATCH as usize,
            Err(e) => tracing::warn!(error = %e, "outbox run failed"),
        }
        if let Err(e) = crate::escalations::check_timeouts(&state, now).await {
            tracing::warn!(error = %e, "escalation timeout run failed");
        }
        if busy {
            continue;
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = state.outbox_wakeup.notified() => {}
            () = state.shutdown.cancelled() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_ten_minutes() {
        assert_eq!(backoff(0), TimeDelta::seconds(2));
        assert_eq!(backoff(3), TimeDelta::seconds(16));
        assert_eq!(backoff(30), TimeDelta::seconds(600));
    }
}
