//! What every service can reach: the store, file storage, the settings and this instance's shared parts.
//! The HTTP layer, the CLI and the workers all hold one `App`. No globals.

use std::path::PathBuf;
use std::sync::Arc;

use partnerdesk_blob::Blobs;
use partnerdesk_db::Db;
use partnerdesk_mail::{Mailer, Webhooks};

use crate::ratelimit::RateLimiter;

#[derive(Clone)]
pub struct Settings {
    /// The address users reach partnerdesk at, without a trailing slash; used in links and API `url` fields.
    pub public_url: String,
    /// The largest JSON body the API accepts.
    pub max_json_bytes: usize,
    /// How long an invitation link stays usable.
    pub invitation_ttl_hours: i64,
    /// Failed password attempts allowed per account and per address in `login_window_secs`.
    pub login_attempts: u32,
    pub login_window_secs: u64,
    /// The largest ticket attachment (Zendesk's uploads API and the page forms).
    pub max_attachment_bytes: u64,
    /// The largest resumable (tus) upload.
    pub max_large_upload_bytes: u64,
    /// Up to how many tickets a search page counts its results exactly (past it, PostgreSQL's estimate).
    pub search_exact_count: i64,
    /// How long an unused upload token lives before its files are removed.
    pub upload_token_ttl_hours: i64,
    /// How long an incomplete resumable upload may wait before it is removed.
    pub large_upload_ttl_hours: i64,
    /// Where resumable uploads are assembled (local disk) or buffered between object-storage parts.
    pub staging_dir: PathBuf,
    /// Size of the parts a resumable upload is sent to object storage in (at least 5 MiB).
    pub part_size: u64,
    /// partnerdesk's own bucket (endpoint, bucket), which a partner connection must never point at.
    pub own_bucket: Option<(String, String)>,
    /// Outgoing mail: an `smtp://host:port` or `smtps://user:pass@host` URL, and the sender.
    pub smtp_url: Option<String>,
    pub mail_from: String,
    /// Where escalations are posted (Slack-compatible JSON), signed with `webhook_secret`.
    pub webhook_url: Option<String>,
    pub webhook_secret: Vec<u8>,
    /// Whether partner bucket endpoints may be internal addresses (off: no requests to this machine or its network).
    pub allow_private_bucket_endpoints: bool,
    /// Signs acknowledge links (a key of its own: webhook receivers hold `webhook_secret`).
    pub ack_secret: Vec<u8>,
    /// The priority an escalated ticket is raised to.
    pub escalation_priority: partnerdesk_core::tickets::Priority,
    /// How often the outbox and escalation timeouts are looked at.
    pub worker_interval_ms: u64,
    /// When set, `/metrics` wants `Authorization: Bearer <this>`.
    pub metrics_token: Option<String>,
    /// An egress proxy for partner buckets (`http://host:port`), which then resolves names and enforces where
    /// requests may go.
    pub bucket_proxy: Option<String>,
    /// The mailbox replies to notices go to (`support@example.com`); each ticket's reply address is a signed
    /// plus-address of it. Unset: notices carry no reply address.
    pub reply_address: Option<String>,
    /// Signs reply addresses (a key of its own, derived from the secret key).
    pub reply_secret: Vec<u8>,
    /// When set, a new ticket by e-mail needs an `Authentication-Results` header from this server saying DMARC,
    /// DKIM or SPF passed (replies through a signed address need none).
    pub mail_trusted_authserv_id: Option<String>,
}

/// Written by hand so that the SMTP URL (which may carry a password) and the signing keys never reach a log.
impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |set: bool| if set { "[redacted]" } else { "[none]" };
        f.debug_struct("Settings")
            .field("public_url", &self.public_url)
            .field("max_json_bytes", &self.max_json_bytes)
            .field("invitation_ttl_hours", &self.invitation_ttl_hours)
            .field("login_attempts", &self.login_attempts)
            .field("login_window_secs", &self.login_window_secs)
            .field("max_attachment_bytes", &self.max_attachment_bytes)
            .field("max_large_upload_bytes", &self.max_large_upload_bytes)
            .field("search_exact_count", &self.search_exact_count)
            .field("upload_token_ttl_hours", &self.upload_token_ttl_hours)
            .field("large_upload_ttl_hours", &self.large_upload_ttl_hours)
            .field("staging_dir", &self.staging_dir)
            .field("part_size", &self.part_size)
            .field("own_bucket", &self.own_bucket)
            .field("smtp_url", &redacted(self.smtp_url.is_some()))
            .field("mail_from", &self.mail_from)
            .field("webhook_url", &redacted(self.webhook_url.is_some()))
            .field("webhook_secret", &redacted(!self.webhook_secret.is_empty()))
            .field("allow_private_bucket_endpoints", &self.allow_private_bucket_endpoints)
            .field("ack_secret", &redacted(!self.ack_secret.is_empty()))
            .field("escalation_priority", &self.escalation_priority)
            .field("worker_interval_ms", &self.worker_interval_ms)
            .field("metrics_token", &redacted(self.metrics_token.is_some()))
            .field("bucket_proxy", &redacted(self.bucket_proxy.is_some()))
            .field("reply_address", &self.reply_address)
            .field("reply_secret", &redacted(!self.reply_secret.is_empty()))
            .field("mail_trusted_authserv_id", &self.mail_trusted_authserv_id)
            .finish()
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            public_url: "http://127.0.0.1:8080".into(),
            max_json_bytes: 1024 * 1024,
            invitation_ttl_hours: 72,
            login_attempts: 10,
            login_window_secs: 15 * 60,
            max_attachment_bytes: 20 * 1024 * 1024,
            max_large_upload_bytes: 100 * 1024 * 1024 * 1024,
            search_exact_count: 1_000,
            upload_token_ttl_hours: 72,
            large_upload_ttl_hours: 7 * 24,
            staging_dir: PathBuf::from("./partnerdesk-data/staging"),
            part_size: 8 * 1024 * 1024,
            own_bucket: None,
            smtp_url: None,
            mail_from: "partnerdesk <partnerdesk@localhost>".into(),
            webhook_url: None,
            webhook_secret: Vec::new(),
            ack_secret: Vec::new(),
            allow_private_bucket_endpoints: false,
            escalation_priority: partnerdesk_core::tickets::Priority::Urgent,
            worker_interval_ms: 1000,
            metrics_token: None,
            bucket_proxy: None,
            reply_address: None,
            reply_secret: Vec::new(),
            mail_trusted_authserv_id: None,
        }
    }
}

#[derive(Clone)]
pub struct App {
    pub db: Db,
    pub blobs: Blobs,
    /// Seals and opens secrets kept in the database (partner bucket credentials).
    pub sealer: Arc<partnerdesk_core::sealing::Sealer>,
    pub settings: Arc<Settings>,
    pub login_limiter: Arc<RateLimiter>,
    /// Password-reset requests: per address asked for (5 an hour) and per client address (30 an hour).
    pub reset_limiter: Arc<RateLimiter>,
    pub reset_client_limiter: Arc<RateLimiter>,
    /// Password hashing, bounded in how many run at once (each holds ~19 MiB).
    pub hashing: Arc<crate::passwords::Hashing>,
    /// Cancelled when the server is told to stop, so that long uploads end their request promptly.
    pub shutdown: tokio_util::sync::CancellationToken,
    /// Work that outlives its request (a resumable upload's chunk records what arrived even when the client went
    /// away): a stopping server waits for it before closing the database.
    pub tasks: tokio_util::task::TaskTracker,
    /// This instance's name in outbox leases.
    pub instance_id: String,
    /// Submissions of the public escalation form, per address and per link.
    pub escalation_limiter: Arc<RateLimiter>,
    /// The HTTP client partner buckets are reached with.
    pub bucket_http: reqwest::Client,
    /// Wakes this instance's delivery worker when something was queued, so that mail goes out at once.
    pub outbox_wakeup: Arc<tokio::sync::Notify>,
    /// Wakes this instance's job worker when a bulk job was queued, so that it starts at once.
    pub jobs_wakeup: Arc<tokio::sync::Notify>,
    /// The SMTP client and the webhook client every delivery of this instance goes through.
    pub mailer: Arc<Mailer>,
    pub webhooks: Arc<Webhooks>,
}

impl App {
    pub fn new(db: Db, blobs: Blobs, settings: Settings, sealer: partnerdesk_core::sealing::Sealer) -> App {
        let limiter = RateLimiter::new(
            settings.login_attempts,
            std::time::Duration::from_secs(settings.login_window_secs),
        );
        let mailer = Mailer::new(settings.smtp_url.as_deref(), &settings.mail_from);
        let webhooks = Webhooks::new(settings.webhook_secret.clone());
        let bucket_http = crate::buckets::client::http_client(
            settings.allow_private_bucket_endpoints,
            settings.bucket_proxy.as_deref(),
        );
        App {
            db,
            blobs,
            sealer: Arc::new(sealer),
            settings: Arc::new(settings),
            login_limiter: Arc::new(limiter),
            reset_limiter: Arc::new(RateLimiter::new(5, std::time::Duration::from_secs(3600))),
            reset_client_limiter: Arc::new(RateLimiter::new(30, std::time::Duration::from_secs(3600))),
            hashing: Arc::default(),
            shutdown: Default::default(),
            tasks: Default::default(),
            instance_id: partnerdesk_core::credentials::new_token()
                .map(|t| t[..12].to_owned())
                .unwrap_or_else(|_| "instance".into()),
            escalation_limiter: Arc::new(RateLimiter::new(5, std::time::Duration::from_secs(600))),
            bucket_http,
            outbox_wakeup: Arc::default(),
            jobs_wakeup: Arc::default(),
            mailer: Arc::new(mailer),
            webhooks: Arc::new(webhooks),
        }
    }

    /// An absolute URL for `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.settings.public_url, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_credentials_and_keys() {
        let s = Settings {
            smtp_url: Some("smtps://mailer:hunter2@mail.example".into()),
            webhook_secret: b"webhook-key-bytes".to_vec(),
            ack_secret: b"ack-key-bytes".to_vec(),
            ..Settings::default()
        };
        let debug = format!("{s:?}");
        for secret in ["hunter2", "webhook-key", "ack-key", "119, 101"] {
            assert!(!debug.contains(secret), "{debug}");
        }
        assert!(debug.contains("public_url"));
    }
}
