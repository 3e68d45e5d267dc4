//! Outgoing messages: e-mail over SMTP (lettre, text and HTML) and webhooks (JSON signed with HMAC-SHA256).
//! Each is one long-lived client, built at start and shared by every delivery, so that SMTP connections are pooled
//! and a webhook reuses its TLS connection instead of building a client per message.

use std::time::Duration;

pub mod imap;
pub mod inbound;
pub mod reply_address;

use hmac::{KeyInit, Mac};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// The header a webhook's signature travels in: `sha256=<hex>` (see `sign`).
pub const SIGNATURE_HEADER: &str = "x-partnerdesk-signature";
/// When the webhook was sent (Unix seconds); signed, so that a receiver can refuse an old delivery replayed.
pub const TIMESTAMP_HEADER: &str = "x-partnerdesk-timestamp";
/// The delivery's id (signed), the same on every retry, so that a receiver can drop a repeat.
pub const DELIVERY_HEADER: &str = "x-partnerdesk-delivery";
/// How long one SMTP conversation or webhook call may take.
const TIMEOUT: Duration = Duration::from_secs(15);

/// Why a message was not accepted; the text is shown to admins (it never contains a secret or a webhook URL).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SendError(pub String);

/// `sha256=<hex>` of the HMAC-SHA256, keyed with `secret`, of `TIMESTAMP.DELIVERY.BODY`: the body alone could be
/// replayed later or under another delivery id.
pub fn sign(secret: &[u8], timestamp: i64, delivery: &str, body: &[u8]) -> String {
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(format!("{timestamp}.{delivery}.").as_bytes());
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// One e-mail: a text and an HTML body of the same content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    /// A stable id (`<...@...>`), so that a message sent twice after a crash can be recognised as one.
    pub message_id: Option<&'a str>,
    pub text: &'a str,
    pub html: &'a str,
    /// Where replies go when not to the sender: a ticket's signed reply address.
    pub reply_to: Option<&'a str>,
    /// The message this one follows, and the thread before it (`<id@host>`, space-separated), so that mail
    /// clients show a ticket's messages as one conversation.
    pub in_reply_to: Option<&'a str>,
    pub references: Option<&'a str>,
    /// Sent by partnerdesk on its own (`Auto-Submitted: auto-generated`, RFC 3834), so that auto-responders
    /// do not answer it.
    pub auto_submitted: bool,
}

/// `Auto-Submitted: auto-generated`.
#[derive(Debug, Clone, Copy)]
struct AutoSubmitted;

impl lettre::message::header::Header for AutoSubmitted {
    fn name() -> lettre::message::header::HeaderName {
        lettre::message::header::HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted)
    }

    fn display(&self) -> lettre::message::header::HeaderValue {
        lettre::message::header::HeaderValue::new(Self::name(), "auto-generated".to_owned())
    }
}

/// The SMTP side: a pooled transport and the sender. A configuration problem (no server, a bad URL or sender) is
/// kept and reported with each delivery, so that it shows where admins look for failed deliveries.
pub struct Mailer {
    transport: Result<AsyncSmtpTransport<Tokio1Executor>, String>,
    from: Result<Mailbox, String>,
}

impl Mailer {
    /// `smtp_url`: `smtp://host:port` or `smtps://user:pass@host`; `from`: `Name <address>`. Call it inside the
    /// Tokio runtime: the pooled transport starts its pool there.
    pub fn new(smtp_url: Option<&str>, from: &str) -> Mailer {
        let transport = match smtp_url {
            None => Err("no SMTP server is configured (PARTNERDESK_SMTP_URL)".to_owned()),
            Some(url) => AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                .map(|b| b.timeout(Some(TIMEOUT)).build())
                .map_err(|e| format!("PARTNERDESK_SMTP_URL: {e}")),
        };
        let from = from.parse().map_err(|e| format!("PARTNERDESK_MAIL_FROM: {e}"));
        Mailer { transport, from }
    }

    pub async fn send(&self, email: &Email<'_>) -> Result<(), SendError> {
        let transport = self.transport.as_ref().map_err(|e| SendError(e.clone()))?;
        let from = self.from.as_ref().map_err(|e| SendError(e.clone()))?;
        let to: Mailbox = email.to.parse().map_err(|e| SendError(format!("recipient: {e}")))?;
        let mut builder = Message::builder()
            .from(from.clone())
            .to(to)
            .subject(email.subject)
            .message_id(email.message_id.map(str::to_owned));
        if let Some(r) = email.reply_to {
            builder = builder.reply_to(r.parse().map_err(|e| SendError(format!("reply address: {e}")))?);
        }
        if let Some(r) = email.in_reply_to {
            builder = builder.in_reply_to(r.to_owned());
        }
        if let Some(r) = email.references {
            builder = builder.references(r.to_owned());
        }
        if email.auto_submitted {
            builder = builder.header(AutoSubmitted);
        }
        let message = builder
            .multipart(MultiPart::alternative_plain_html(
                email.text.to_owned(),
                email.html.to_owned(),
            ))
            .map_err(|e| SendError(format!("building the message: {e}")))?;
        transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| SendError(format!("SMTP: {e}")))
    }
}

/// The webhook side: one HTTP client and the signing secret.
pub struct Webhooks {
    client: reqwest::Client,
    secret: Vec<u8>,
}

impl Webhooks {
    pub fn new(secret: Vec<u8>) -> Webhooks {
        let client = reqwest::Client::builder().timeout(TIMEOUT).build().unwrap_or_default();
        Webhooks { client, secret }
    }

    /// Posts `body` to `url`, signed, with the delivery's id so that receivers can drop a repeat.
    pub async fn post(&self, url: &str, delivery: &str, body: &serde_json::Value) -> Result<(), SendError> {
        let body = serde_json::to_vec(body).map_err(|e| SendError(e.to_string()))?;
        let timestamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let resp = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header(SIGNATURE_HEADER, sign(&self.secret, timestamp, delivery, &body))
            .header(TIMESTAMP_HEADER, timestamp.to_string())
            .header(DELIVERY_HEADER, delivery)
            .body(body)
            .send()
            .await
            .map_err(|e| SendError(format!("webhook: {}", e.without_url())))?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(SendError(format!("webhook answered {}", resp.status())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_keyed_hmac() {
        let a = sign(b"secret", 1_700_000_000, "d1", b"{}");
        assert!(a.starts_with("sha256=") && a.len() == 7 + 64);
        assert_eq!(a, sign(b"secret", 1_700_000_000, "d1", b"{}"));
        assert_ne!(a, sign(b"other", 1_700_000_000, "d1", b"{}"));
        assert_ne!(a, sign(b"secret", 1_700_000_001, "d1", b"{}"), "the time is signed");
        assert_ne!(a, sign(b"secret", 1_700_000_000, "d2", b"{}"), "the delivery is signed");
    }

    // lettre's pooled transport starts its pool on the Tokio runtime, as the server does.
    #[tokio::test]
    async fn configuration_problems_are_reported_not_panicked() {
        let m = Mailer::new(None, "partnerdesk <pd@localhost>");
        assert!(m.transport.is_err());
        let m = Mailer::new(Some("smtp://127.0.0.1:2525"), "not an address");
        assert!(m.from.is_err());
    }
}
