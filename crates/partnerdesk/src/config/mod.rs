//! Configuration: defaults that need nothing → optional TOML file (`--config`) → `PARTNERDESK_*` environment
//! variables (secrets also from `*_FILE`). Secrets never appear in `Debug` output or logs.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

mod imap;

/// A value that must not be printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// `sqlite://...` or `postgres://...`; may hold a password, hence `Secret`.
    pub database_url: Secret,
    pub public_url: String,
    /// Explicitly configured key; when `None`, one is generated into the data directory on first start.
    pub secret_key: Option<Secret>,
    /// Earlier secret keys, still accepted to open what they sealed (rotation).
    pub previous_secret_keys: Vec<Secret>,
    pub log_format: LogFormat,
    pub max_json_bytes: usize,
    pub invitation_ttl_hours: i64,
    pub db_max_connections: u32,
    /// Where files go: `DATA_DIR/files` unless `PARTNERDESK_BLOB_BUCKET` names an S3-compatible bucket.
    pub blob_s3: Option<partnerdesk_blob::S3Config>,
    pub max_attachment_bytes: u64,
    pub max_large_upload_bytes: u64,
    /// Up to how many tickets a search page counts its results exactly (past it, PostgreSQL's estimate).
    pub search_exact_count: i64,
    /// Outgoing mail (`smtp://host:port`, `smtps://user:pass@host`); escalation e-mails wait in the outbox without it.
    pub smtp_url: Option<Secret>,
    pub mail_from: String,
    /// The mailbox replies to notices go to; each ticket's reply address is a signed plus-address of it.
    pub mail_reply_address: Option<String>,
    /// The receiving server whose `Authentication-Results` decide whether a new ticket by e-mail is trusted.
    pub mail_trusted_authserv_id: Option<String>,
    /// The mailbox read over IMAP for incoming mail (`PARTNERDESK_IMAP_*`); its URL carries a password.
    pub imap: Option<partnerdesk_mail::imap::Source>,
    /// Where escalations are posted as Slack-compatible JSON.
    pub escalation_webhook_url: Option<String>,
    /// The key webhook signatures are made with; derived from the secret key when unset (`admin webhook-secret`).
    pub escalation_webhook_secret: Option<Secret>,
    /// How often the outbox and escalation timeouts are looked at, in milliseconds.
    pub worker_interval_ms: u64,
    /// Allow partner bucket endpoints on internal addresses (a MinIO next door; tests).
    pub bucket_allow_private_endpoints: bool,
    /// Failed sign-ins allowed per account and per address in `login_window_secs`.
    pub login_attempts: u32,
    pub login_window_secs: u64,
    /// When set, `/metrics` wants `Authorization: Bearer <this>`.
    pub metrics_token: Option<Secret>,
    /// How long a request may wait for a database connection (on SQLite: for the one writer) before it fails.
    pub db_acquire_timeout_ms: u64,
    /// An egress proxy for partner buckets; may carry credentials, hence `Secret`.
    pub bucket_proxy: Option<Secret>,
}

/// The TOML file: the same settings, lower-case names, all optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    public_url: Option<String>,
    secret_key: Option<String>,
    log_format: Option<String>,
    max_json_bytes: Option<usize>,
    invitation_ttl_hours: Option<i64>,
    db_max_connections: Option<u32>,
    blob_bucket: Option<String>,
    blob_endpoint: Option<String>,
    blob_region: Option<String>,
    blob_access_key_id: Option<String>,
    blob_secret_access_key: Option<String>,
    blob_path_style: Option<bool>,
    max_attachment_bytes: Option<u64>,
    max_large_upload_bytes: Option<u64>,
    search_exact_count: Option<i64>,
    smtp_url: Option<String>,
    mail_from: Option<String>,
    mail_reply_address: Option<String>,
    mail_trusted_authserv_id: Option<String>,
    imap_url: Option<String>,
    imap_after: Option<String>,
    imap_ca_file: Option<PathBuf>,
    imap_poll_seconds: Option<u64>,
    escalation_webhook_url: Option<String>,
    escalation_webhook_secret: Option<String>,
    worker_interval_ms: Option<u64>,
    login_attempts: Option<u32>,
    login_window_secs: Option<u64>,
    metrics_token: Option<String>,
    db_acquire_timeout_ms: Option<u64>,
    bucket_proxy: Option<String>,
}

impl Config {
    /// Loads the configuration from `file` (if any) and the process environment.
    pub fn load(file: Option<&Path>) -> Result<Config> {
        Config::from_sources(file, |k| std::env::var(k).ok())
    }

    /// Builds the configuration from an optional TOML file and an environment lookup (the process environment, or a
    /// map in tests). A setting in the environment wins over the file, the file over the default.
    pub fn from_sources(file: Option<&Path>, env: impl Fn(&str) -> Option<String>) -> Result<Config> {
        let mut fc = read_file_config(file)?;
        let env = Env(&env);
        // The groups are read in a fixed order, so that of several bad settings the same one is always reported.
        let server = server_settings(&env, &mut fc)?;
        let (limits, blob_s3) = limits_and_blob_store(&env, &mut fc)?;
        let imap = imap::source(&env, &mut fc)?;
        // Field order here is reading order too.
        Ok(Config {
            listen: server.listen,
            data_dir: server.data_dir,
            database_url: Secret(server.database_url),
            public_url: server.public_url,
            secret_key: env.var("PARTNERDESK_SECRET_KEY")?.or(fc.secret_key).map(Secret),
            previous_secret_keys: previous_secret_keys(&env)?,
            log_format: server.log_format,
            max_json_bytes: limits.max_json_bytes,
            invitation_ttl_hours: limits.invitation_ttl_hours,
            db_max_connections: limits.db_max_connections,
            blob_s3,
            max_attachment_bytes: limits.max_attachment_bytes,
            max_large_upload_bytes: limits.max_large_upload_bytes,
            search_exact_count: env
                .positive("PARTNERDESK_SEARCH_EXACT_COUNT")?
                .or(fc.search_exact_count)
                .unwrap_or(1_000),
            smtp_url: env.var("PARTNERDESK_SMTP_URL")?.or(fc.smtp_url).map(Secret),
            mail_from: env
                .var("PARTNERDESK_MAIL_FROM")?
                .or(fc.mail_from)
                .unwrap_or_else(|| "partnerdesk <partnerdesk@localhost>".into()),
            mail_reply_address: reply_address(&env, fc.mail_reply_address.take())?,
            mail_trusted_authserv_id: env
                .var("PARTNERDESK_MAIL_TRUSTED_AUTHSERV_ID")?
                .or(fc.mail_trusted_authserv_id.take()),
            imap,
            escalation_webhook_url: env
                .var("PARTNERDESK_ESCALATION_WEBHOOK_URL")?
                .or(fc.escalation_webhook_url),
            escalation_webhook_secret: webhook_secret(&env, fc.escalation_webhook_secret.take())?,
            bucket_allow_private_endpoints: matches!(
                env.var("PARTNERDESK_BUCKET_ALLOW_PRIVATE_ENDPOINTS")?.as_deref(),
                Some("true" | "1")
            ),
            worker_interval_ms: env
                .positive::<u64>("PARTNERDESK_WORKER_INTERVAL_MS")?
                .map(|n| n.max(10))
                .or(fc.worker_interval_ms)
                .unwrap_or(1000),
            login_attempts: env
                .positive("PARTNERDESK_LOGIN_ATTEMPTS")?
                .or(fc.login_attempts)
                .unwrap_or(10),
            login_window_secs: env
                .positive("PARTNERDESK_LOGIN_WINDOW_SECS")?
                .or(fc.login_window_secs)
                .unwrap_or(15 * 60),
            metrics_token: env.var("PARTNERDESK_METRICS_TOKEN")?.or(fc.metrics_token).map(Secret),
            db_acquire_timeout_ms: env
                .positive("PARTNERDESK_DB_ACQUIRE_TIMEOUT_MS")?
                .or(fc.db_acquire_timeout_ms)
                .unwrap_or(10_000),
            bucket_proxy: bucket_proxy(&env, fc.bucket_proxy.take())?,
        })
    }

    /// The secret key: configured, or read from (or generated into) `DATA_DIR/secret.key` with mode 0600.
    pub fn secret_key(&self) -> Result<Secret> {
        if let Some(k) = &self.secret_key {
            if k.0.len() < 32 {
                bail!("PARTNERDESK_SECRET_KEY must be at least 32 characters");
            }
            return Ok(k.clone());
        }
        let path = self.data_dir.join("secret.key");
        if let Ok(existing) = std::fs::read_to_string(&path) {
            return Ok(Secret(existing.trim().to_owned()));
        }
        std::fs::create_dir_all(&self.data_dir).with_context(|| format!("creating {}", self.data_dir.display()))?;
        let key = partnerdesk_core::credentials::new_token().map_err(|e| anyhow::anyhow!("{e}"))?;
        write_private(&path, &key).with_context(|| format!("writing {}", path.display()))?;
        tracing::info!(path = %path.display(), "generated a new secret key");
        Ok(Secret(key))
    }
}

/// The `--config` file, or nothing but defaults when there is none. Unknown keys are an error (a typo would otherwise
/// be silently ignored).
fn read_file_config(file: Option<&Path>) -> Result<FileConfig> {
    let Some(p) = file else {
        return Ok(FileConfig::default());
    };
    let text = std::fs::read_to_string(p).with_context(|| format!("reading config file {}", p.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing config file {}", p.display()))
}

/// `PARTNERDESK_BUCKET_PROXY`: an `http://` or `https://` URL.
fn bucket_proxy(env: &Env<'_>, file: Option<String>) -> Result<Option<Secret>> {
    let Some(proxy) = env.var("PARTNERDESK_BUCKET_PROXY")?.or(file) else {
        return Ok(None);
    };
    if !(proxy.starts_with("http://") || proxy.starts_with("https://")) || url::Url::parse(&proxy).is_err() {
        bail!("PARTNERDESK_BUCKET_PROXY must be an http:// or https:// URL");
    }
    Ok(Some(Secret(proxy)))
}

/// `PARTNERDESK_MAIL_REPLY_ADDRESS`: a plain address (`support@example.com`), which ticket addresses are
/// plus-addresses of.
fn reply_address(env: &Env<'_>, file: Option<String>) -> Result<Option<String>> {
    let Some(address) = env.var("PARTNERDESK_MAIL_REPLY_ADDRESS")?.or(file) else {
        return Ok(None);
    };
    if partnerdesk_mail::reply_address::for_ticket(&address, 1, b"check").is_none()
        || address.contains(|c: char| c.is_whitespace() || c == '<' || c == '>')
    {
        bail!("PARTNERDESK_MAIL_REPLY_ADDRESS must be a plain address such as support@example.com, not '{address}'");
    }
    Ok(Some(address))
}

/// `PARTNERDESK_ESCALATION_WEBHOOK_SECRET`: long enough that it cannot be guessed.
fn webhook_secret(env: &Env<'_>, file: Option<String>) -> Result<Option<Secret>> {
    let Some(secret) = env.var("PARTNERDESK_ESCALATION_WEBHOOK_SECRET")?.or(file) else {
        return Ok(None);
    };
    if secret.len() < 16 {
        bail!("PARTNERDESK_ESCALATION_WEBHOOK_SECRET must be at least 16 characters");
    }
    Ok(Some(Secret(secret)))
}

/// The environment lookup `from_sources` was given.
struct Env<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Env<'_> {
    /// `NAME`, or else the contents of the file named by `NAME_FILE`, so that secrets can come from mounted files
    /// instead of the environment. An empty value counts as unset.
    fn var(&self, name: &str) -> Result<Option<String>> {
        if let Some(v) = (self.0)(name).filter(|v| !v.is_empty()) {
            return Ok(Some(v));
        }
        match (self.0)(&format!("{name}_FILE")).filter(|v| !v.is_empty()) {
            Some(path) => Ok(Some(
                std::fs::read_to_string(&path)
                    .with_context(|| format!("reading {name}_FILE {path}"))?
                    .trim()
                    .to_owned(),
            )),
            None => Ok(None),
        }
    }

    /// `NAME` as an integer; a value that is not one is an error rather than the default.
    fn num(&self, name: &str) -> Result<Option<i64>> {
        self.var(name)?
            .map(|v| {
                v.parse::<i64>()
                    .with_context(|| format!("{name} must be an integer, not '{v}'"))
            })
            .transpose()
    }

    /// `NAME` as a positive integer that fits `T`. Zero, a negative number or one too large is an error: cast
    /// with `as`, -1 would wrap to the largest value and pass every check.
    fn positive<T: TryFrom<i64>>(&self, name: &str) -> Result<Option<T>> {
        match self.num(name)? {
            None => Ok(None),
            Some(n) if n > 0 => match T::try_from(n) {
                Ok(v) => Ok(Some(v)),
                Err(_) => bail!("{name} is too large: {n}"),
            },
            Some(n) => bail!("{name} must be a positive integer, not {n}"),
        }
    }
}

/// Where the server listens, where it keeps its data, and how it presents itself.
struct Server {
    listen: SocketAddr,
    data_dir: PathBuf,
    database_url: String,
    public_url: String,
    log_format: LogFormat,
}

/// The server settings. Their defaults build on each other (the database in the data directory, the public URL from
/// the listen address), so that a bare start needs nothing configured.
fn server_settings(env: &Env<'_>, fc: &mut FileConfig) -> Result<Server> {
    let listen_s = env
        .var("PARTNERDESK_LISTEN")?
        .or(fc.listen.take())
        .unwrap_or_else(|| "127.0.0.1:8080".into());
    let listen: SocketAddr = listen_s
        .parse()
        .with_context(|| format!("PARTNERDESK_LISTEN '{listen_s}' is not an address like 127.0.0.1:8080"))?;
    let data_dir = env
        .var("PARTNERDESK_DATA_DIR")?
        .map(PathBuf::from)
        .or(fc.data_dir.take())
        .unwrap_or_else(|| PathBuf::from("./partnerdesk-data"));
    let database_url = env
        .var("PARTNERDESK_DATABASE_URL")?
        .or(fc.database_url.take())
        .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("partnerdesk.db").display()));
    // Refused here, at start, rather than as an obscure driver error on the first connection.
    if !(database_url.starts_with("sqlite:")
        || database_url.starts_with("postgres:")
        || database_url.starts_with("postgresql:"))
    {
        bail!("PARTNERDESK_DATABASE_URL must start with sqlite:// or postgres://");
    }
    // Links are built by appending paths, so a trailing slash would double up.
    let public_url = env
        .var("PARTNERDESK_PUBLIC_URL")?
        .or(fc.public_url.take())
        .unwrap_or_else(|| format!("http://{listen}"));
    let public_url = public_url.trim_end_matches('/').to_owned();
    if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
        bail!("PARTNERDESK_PUBLIC_URL must be an http:// or https:// URL, not '{public_url}'");
    }
    let log_format = match env.var("PARTNERDESK_LOG_FORMAT")?.or(fc.log_format.take()).as_deref() {
        None | Some("text") => LogFormat::Text,
        Some("json") => LogFormat::Json,
        Some(other) => bail!("PARTNERDESK_LOG_FORMAT must be text or json, not '{other}'"),
    };
    Ok(Server {
        listen,
        data_dir,
        database_url,
        public_url,
        log_format,
    })
}

/// Sizes, counts and durations.
struct Limits {
    max_json_bytes: usize,
    invitation_ttl_hours: i64,
    db_max_connections: u32,
    max_attachment_bytes: u64,
    max_large_upload_bytes: u64,
}

/// The limits, and the blob store. The blob store is read between the first limits and the attachment sizes, as it
/// always was: the reading order decides which of several bad settings is reported.
fn limits_and_blob_store(env: &Env<'_>, fc: &mut FileConfig) -> Result<(Limits, Option<partnerdesk_blob::S3Config>)> {
    let max_json_bytes = env
        .positive("PARTNERDESK_MAX_JSON_BYTES")?
        .or(fc.max_json_bytes)
        .unwrap_or(1024 * 1024);
    let invitation_ttl_hours = env
        .positive("PARTNERDESK_INVITATION_TTL_HOURS")?
        .or(fc.invitation_ttl_hours)
        .unwrap_or(72);
    let db_max_connections = env
        .positive("PARTNERDESK_DB_MAX_CONNECTIONS")?
        .or(fc.db_max_connections)
        .unwrap_or_else(default_pool_size);
    let blob_s3 = blob_store(env, fc)?;
    let max_attachment_bytes = env
        .positive("PARTNERDESK_MAX_ATTACHMENT_BYTES")?
        .or(fc.max_attachment_bytes)
        .unwrap_or(20 * 1024 * 1024);
    let max_large_upload_bytes = env
        .positive("PARTNERDESK_MAX_LARGE_UPLOAD_BYTES")?
        .or(fc.max_large_upload_bytes)
        .unwrap_or(100 * 1024 * 1024 * 1024);
    let limits = Limits {
        max_json_bytes,
        invitation_ttl_hours,
        db_max_connections,
        max_attachment_bytes,
        max_large_upload_bytes,
    };
    limits.validate()?;
    Ok((limits, blob_s3))
}

impl Limits {
    /// A zero would refuse every invitation, request body, connection or attachment; better to refuse to start.
    fn validate(&self) -> Result<()> {
        if self.invitation_ttl_hours <= 0
            || self.max_json_bytes == 0
            || self.db_max_connections == 0
            || self.max_attachment_bytes == 0
        {
            bail!("invitation TTL, JSON body limit and connection count must be positive");
        }
        Ok(())
    }
}

/// The S3-compatible bucket, when one is named; `None` keeps files in the data directory. The other blob settings
/// are read (and checked) only when there is a bucket.
/// Four connections per core (at least 4, at most 64). A PostgreSQL server on the same cores does best with few
/// connections in flight: measured on 2 cores at 32 concurrent clients, a pool of 8 created 1,574 tickets/s with
/// p99 33 ms, a pool of 32 1,313/s with p99 75 ms (bench/writes.sh). A SQLite read runs on the asking task, so its
/// pool needs about one connection per worker thread; the same size leaves room.
fn default_pool_size() -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get()) as u32;
    (cores * 4).clamp(4, 64)
}

fn blob_store(env: &Env<'_>, fc: &mut FileConfig) -> Result<Option<partnerdesk_blob::S3Config>> {
    let Some(bucket) = env.var("PARTNERDESK_BLOB_BUCKET")?.or(fc.blob_bucket.take()) else {
        return Ok(None);
    };
    let path_style = match env.var("PARTNERDESK_BLOB_PATH_STYLE")?.as_deref() {
        Some("true" | "1") => true,
        Some("false" | "0") => false,
        Some(other) => bail!("PARTNERDESK_BLOB_PATH_STYLE must be true or false, not '{other}'"),
        None => fc.blob_path_style.unwrap_or(false),
    };
    Ok(Some(partnerdesk_blob::S3Config {
        endpoint: env.var("PARTNERDESK_BLOB_ENDPOINT")?.or(fc.blob_endpoint.take()),
        region: env
            .var("PARTNERDESK_BLOB_REGION")?
            .or(fc.blob_region.take())
            .unwrap_or_else(|| "us-east-1".into()),
        bucket,
        access_key_id: env
            .var("PARTNERDESK_BLOB_ACCESS_KEY_ID")?
            .or(fc.blob_access_key_id.take())
            .unwrap_or_default(),
        secret_access_key: env
            .var("PARTNERDESK_BLOB_SECRET_ACCESS_KEY")?
            .or(fc.blob_secret_access_key.take())
            .unwrap_or_default(),
        path_style,
    }))
}

/// `PARTNERDESK_SECRET_KEY_PREVIOUS`: a comma-separated list, so that several rotations can overlap.
fn previous_secret_keys(env: &Env<'_>) -> Result<Vec<Secret>> {
    Ok(env
        .var("PARTNERDESK_SECRET_KEY_PREVIOUS")?
        .map(|v| {
            v.split(',')
                .map(|k| Secret(k.trim().to_owned()))
                .filter(|k| !k.0.is_empty())
                .collect()
        })
        .unwrap_or_default())
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

#[cfg(test)]
mod tests;
