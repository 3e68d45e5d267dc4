//! Delivering the outbox: e-mail over SMTP (lettre; text and HTML) and webhooks (Slack-compatible JSON with an
//! HMAC-SHA256 signature header). A background worker claims due deliveries, sends them, and retries failures with
//! exponential backoff; after `MAX_ATTEMPTS` a delivery is marked failed and shown to admins. The same worker moves
//! unacknowledged escalations along their chain.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use hmac::{KeyInit, Mac};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use partnerdesk_db::outbox::{self, Delivery};
use serde_json::Value;

use crate::state::AppState;

pub const MAX_ATTEMPTS: i64 = 25;
pub const SIGNATURE_HEADER: &str = "x-partnerdesk-signature";

/// `sha256=<hex>` of the body, keyed with the webhook secret.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Backoff before attempt `attempts + 1`: 2 s, 4 s, 8 s ... up to 10 minutes.
pub fn backoff(attempts: i64) -> TimeDelta {
    TimeDelta::seconds((2i64 << attempts.clamp(0, 20)).min(600))
}

async fn send_email(state: &AppState, p: &Value) -> Result<(), String> {
    let url = state
        .settings
        .smtp_url
        .as_deref()
        .ok_or("no SMTP server is configured (PARTNERDESK_SMTP_URL)")?;
    let from: Mailbox = state
        .settings
        .mail_from
        .parse()
        .map_err(|e| format!("PARTNERDESK_MAIL_FROM: {e}"))?;
    let to: Mailbox = p["to"]
        .as_str()
        .unwrap_or_default()
        .parse()
        .map_err(|e| format!("recipient: {e}"))?;
    let message = Message::builder()
        .from(from)
        .to(to)
        .subject(p["subject"].as_str().unwrap_or("partnerdesk"))
        .message_id(p["message_id"].as_str().map(str::to_owned))
        .multipart(MultiPart::alternative_plain_html(
            p["text"].as_str().unwrap_or_default().to_owned(),
            p["html"].as_str().unwrap_or_default().to_owned(),
        ))
        .map_err(|e| format!("building the message: {e}"))?;
    let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
        .map_err(|e| format!("PARTNERDESK_SMTP_URL: {e}"))?
        .timeout(Some(Duration::from_secs(15)))
        .build();
    transport
        .send(message)
        .await
        .map(|_| ())
        .map_err(|e| format!("SMTP: {e}"))
}

async fn send_webhook(state: &AppState, p: &Value) -> Result<(), String> {
    let url = p["url"].as_str().ok_or("no webhook URL")?;
    let body = serde_json::to_vec(&p["body"]).map_err(|e| e.to_string())?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .map_err(|e| e.to_string())?;
    let resp = client
        .post(url)
        .header("content-type", "application/json")
        .header(SIGNATURE_HEADER, sign(&state.settings.webhook_secret, &body))
        .header("x-partnerdesk-delivery", p["delivery"].as_str().unwrap_or_default())
        .body(body)
        .send()
        .await
        .map_err(|e| format!("webhook: {}", e.without_url()))?;
    if resp.status().is_success() {
        Ok(())
    } else {
        Err(format!("webhook answered {}", resp.status()))
    }
}

async fn deliver(state: &AppState, d: &Delivery) -> Result<(), String> {
    match d.kind.as_str() {
        "email" => send_email(state, &d.payload).await,
        "webhook" => send_webhook(state, &d.payload).await,
        other => Err(format!("unknown delivery kind {other}")),
    }
}

/// Sends what is due at `now`; returns (sent, failed attempts).
pub async fn deliver_due(state: &AppState, now: DateTime<Utc>) -> Result<(usize, usize), crate::error::ApiError> {
    let worker = &state.instance_id;
    let claimed = {
        let mut tx = state.db.begin().await?;
        let c = outbox::claim(&mut tx, worker, now, now + TimeDelta::seconds(120), 20).await?;
        tx.commit().await?;
        c
    };
    let (mut sent, mut failed) = (0, 0);
    for d in claimed {
        // Renew this one's lease just before sending it, so a slow batch never lets another instance take it.
        if !outbox::renew(
            &mut state.db.conn(),
            d.id,
            worker,
            partnerdesk_db::now() + TimeDelta::seconds(60),
        )
        .await?
        {
            continue;
        }
        match deliver(state, &d).await {
            Ok(()) => {
                outbox::mark_sent(&mut state.db.conn(), d.id, worker).await?;
                sent += 1;
            }
            Err(e) => {
                let give_up = d.attempts + 1 >= MAX_ATTEMPTS;
                tracing::warn!(delivery = d.id, kind = %d.kind, attempts = d.attempts + 1, give_up, error = %e, "delivery failed");
                outbox::mark_attempt_failed(
                    &mut state.db.conn(),
                    d.id,
                    worker,
                    &e,
                    now + backoff(d.attempts),
                    give_up,
                )
                .await?;
                failed += 1;
            }
        }
    }
    Ok((sent, failed))
}

/// The background worker: deliveries and escalation timeouts, until shutdown.
pub async fn worker(state: AppState) {
    let every = Duration::from_millis(state.settings.worker_interval_ms.max(50));
    loop {
        let now = partnerdesk_db::now();
        if let Err(e) = deliver_due(&state, now).await {
            tracing::warn!(error = %e, "outbox run failed");
        }
        if let Err(e) = crate::escalating::check_timeouts(&state, now).await {
            tracing::warn!(error = %e, "escalation timeout run failed");
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
    fn signatures_and_backoff() {
        let s = sign(b"secret", b"{\"a\":1}");
        assert!(s.starts_with("sha256=") && s.len() == 7 + 64);
        assert_ne!(s, sign(b"other", b"{\"a\":1}"));
        assert_eq!(backoff(0), TimeDelta::seconds(2));
        assert_eq!(backoff(3), TimeDelta::seconds(16));
        assert_eq!(backoff(30), TimeDelta::seconds(600));
    }
}
