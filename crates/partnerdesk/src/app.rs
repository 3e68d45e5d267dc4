//! Starting partnerdesk: open and migrate the database, bind, serve until told to stop.

use std::net::SocketAddr;

use anyhow::{Context, Result};
use partnerdesk_blob::Blobs;
use partnerdesk_db::Db;
use partnerdesk_web::{AppState, Settings};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::Config;

/// Opens the database named by the configuration (creating the data directory for SQLite) and migrates it.
pub async fn open_db(config: &Config) -> Result<Db> {
    let url = config.database_url.expose();
    if url.starts_with("sqlite:") {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
    }
    let timeout = std::time::Duration::from_millis(config.db_acquire_timeout_ms);
    let db = Db::connect_with(url, config.db_max_connections, timeout)
        .await
        .context("opening the database")?;
    partnerdesk_db::migrate(&db).await.context("migrating the database")?;
    Ok(db)
}

pub fn settings(config: &Config) -> Settings {
    Settings {
        public_url: config.public_url.clone(),
        max_json_bytes: config.max_json_bytes,
        invitation_ttl_hours: config.invitation_ttl_hours,
        max_attachment_bytes: config.max_attachment_bytes,
        max_large_upload_bytes: config.max_large_upload_bytes,
        search_exact_count: config.search_exact_count,
        staging_dir: config.data_dir.join("staging"),
        own_bucket: config
            .blob_s3
            .as_ref()
            .map(|s| (s.endpoint.clone().unwrap_or_default(), s.bucket.clone())),
        smtp_url: config.smtp_url.as_ref().map(|s| s.expose().to_owned()),
        mail_from: config.mail_from.clone(),
        webhook_url: config.escalation_webhook_url.clone(),
        worker_interval_ms: config.worker_interval_ms,
        allow_private_bucket_endpoints: config.bucket_allow_private_endpoints,
        login_attempts: config.login_attempts,
        login_window_secs: config.login_window_secs,
        metrics_token: config.metrics_token.as_ref().map(|t| t.expose().to_owned()),
        bucket_proxy: config.bucket_proxy.as_ref().map(|p| p.expose().to_owned()),
        reply_address: config.mail_reply_address.clone(),
        mail_trusted_authserv_id: config.mail_trusted_authserv_id.clone(),
        ..Settings::default()
    }
}

/// Everything handlers and workers share, built from the configuration.
pub fn app_state(config: &Config, db: Db, sealer: partnerdesk_core::sealing::Sealer) -> Result<AppState> {
    let blobs = open_blobs(config)?;
    let mut settings = settings(config);
    // Webhook signatures and acknowledge links are keyed from the secret key, so they survive restarts.
    settings.webhook_secret = webhook_secret(config, &sealer).into_bytes();
    settings.ack_secret = sealer.derive_key(b"acknowledge links").to_vec();
    settings.reply_secret = sealer.derive_key(b"reply addresses").to_vec();
    Ok(AppState::new(db, blobs, settings, sealer))
}

/// The key escalation webhooks are signed with (HMAC-SHA256 keyed with this text's bytes): the configured
/// `PARTNERDESK_ESCALATION_WEBHOOK_SECRET`, or else one derived from the secret key, which `partnerdesk admin
/// webhook-secret` prints for the receiver.
pub fn webhook_secret(config: &Config, sealer: &partnerdesk_core::sealing::Sealer) -> String {
    match &config.escalation_webhook_secret {
        Some(s) => s.expose().to_owned(),
        None => hex::encode(sealer.derive_key(b"webhook signatures")),
    }
}

/// The sealer for secrets at rest, keyed from the secret key (and the previous ones, during a rotation).
pub fn sealer(config: &Config) -> Result<partnerdesk_core::sealing::Sealer> {
    let key = config.secret_key()?;
    let previous: Vec<String> = config
        .previous_secret_keys
        .iter()
        .map(|k| k.expose().to_owned())
        .collect();
    Ok(partnerdesk_core::sealing::Sealer::new(key.expose(), &previous))
}

/// File storage: the configured bucket, or `DATA_DIR/files`.
pub fn open_blobs(config: &Config) -> Result<Blobs> {
    Ok(match &config.blob_s3 {
        Some(s3) => Blobs::s3(s3).context("configuring object storage")?,
        None => Blobs::local(&config.data_dir.join("files")).context("opening the files directory")?,
    })
}

/// A server running in this process.
pub struct Running {
    pub addr: SocketAddr,
    pub db: Db,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
    janitor: JoinHandle<()>,
    deliveries: JoinHandle<()>,
    /// Work that outlives requests (see `App::tasks`).
    tasks: tokio_util::task::TaskTracker,
    /// Holds this instance's name until the server is stopped.
    _instance: partnerdesk_app::instance::Instance,
}

/// How long a stopping server waits for uploads to record what they received.
const DRAIN: std::time::Duration = std::time::Duration::from_secs(30);

impl Running {
    /// Stops accepting, finishes requests in flight, closes the database.
    pub async fn stop(mut self) -> Result<()> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        self.wait().await
    }

    /// Waits until the server ends (after a signal), lets work in flight finish, then closes the database.
    pub async fn wait(self) -> Result<()> {
        self.task.await.context("server task")?.context("server")?;
        self.janitor.abort();
        self.deliveries.abort();
        self.tasks.close();
        if tokio::time::timeout(DRAIN, self.tasks.wait()).await.is_err() {
            tracing::warn!("uploads still recording after {DRAIN:?}; closing the database anyway");
        }
        self.db.close().await;
        Ok(())
    }
}

/// Starts serving on `config.listen` (port 0 picks a free port; see `Running::addr`).
pub async fn start(config: &Config) -> Result<Running> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    start_on(config, listener).await
}

/// Starts serving on a listener the caller bound (tests bind port 0 first to know the public URL).
pub async fn start_on(config: &Config, listener: tokio::net::TcpListener) -> Result<Running> {
    let sealer = sealer(config)?;
    let db = open_db(config).await?;
    let addr = listener.local_addr()?;
    let mut state = app_state(config, db.clone(), sealer)?;
    let instance = partnerdesk_app::instance::claim(&config.data_dir).context("naming this instance")?;
    state.instance_id = instance.id.clone();
    if instance.owns_name() {
        let freed = partnerdesk_app::uploads::lease::Lease::release_stale(&state).await?;
        if freed > 0 {
            tracing::info!(freed, "freed upload leases held before a restart");
        }
        partnerdesk_app::mailbox::release_stale(&state).await?;
        // A job this instance was working on when it stopped goes on at once, after its last recorded item.
        partnerdesk_app::jobs::release_stale(&state).await?;
    }
    if config.blob_s3.is_none() {
        partnerdesk_app::uploads::local_store::bind(&db, &config.data_dir.join("files"))
            .await
            .context("checking the local file store")?;
    }
    std::fs::create_dir_all(&state.settings.staging_dir).context("creating the staging directory")?;
    // Expired upload tokens and abandoned resumable uploads are removed in the background.
    let janitor = tokio::spawn(partnerdesk_app::janitor::janitor(state.clone()));
    let stopping = state.shutdown.clone();
    let tasks = state.tasks.clone();
    let deliveries = tokio::spawn(partnerdesk_app::outbox::worker(state.clone()));
    // On the task tracker: a stopping server lets the job workers finish their item and give their job back.
    for n in 0..partnerdesk_app::jobs::workers(&db) {
        tasks.spawn(partnerdesk_app::jobs::worker(state.clone(), n));
    }
    // On the task tracker: a stopping server lets the reader finish its message and give back its lease.
    if let Some(source) = config.imap.clone() {
        tasks.spawn(partnerdesk_app::mailbox::reader(state.clone(), source));
    }
    let router = partnerdesk_web::build_router(state);
    let (tx, rx) = oneshot::channel::<()>();
    let shutdown = async move {
        tokio::select! {
            _ = rx => {}
            _ = signal() => tracing::info!("shutdown signal received; finishing requests in flight"),
        }
        // Uploads in progress record what they received and end their requests.
        stopping.cancel();
    };
    let task = tokio::spawn(partnerdesk_web::serve(listener, router, shutdown));
    tracing::info!(%addr, "partnerdesk listening");
    Ok(Running {
        addr,
        db,
        stop: Some(tx),
        task,
        janitor,
        deliveries,
        tasks,
        _instance: instance,
    })
}

/// SIGTERM or Ctrl-C.
async fn signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
