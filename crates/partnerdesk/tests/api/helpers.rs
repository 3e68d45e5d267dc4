//! The test harness: start partnerdesk on port 0 with a fresh database, seed accounts the way the CLI does,
//! and talk to it with an HTTP client.
//!
//! PostgreSQL: `PARTNERDESK_TEST_PG` (default `postgres://postgres@127.0.0.1:5432`) is used to create a fresh
//! database per test. When it is unreachable the PostgreSQL half of each test is skipped with a message,
//! unless `PARTNERDESK_TEST_REQUIRE_PG=1` (as in CI), where it fails.

use std::path::PathBuf;

use partnerdesk::app::{self, Running};
use partnerdesk::config::Config;
use partnerdesk_app::accounts::{self, NewAccount, Provisioner};
use partnerdesk_db::{AuditActor, Db};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where files go in a test: the data directory, or an S3-compatible server (s3s-fs) started in the test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    Local,
    S3,
}

/// Defines a test that runs once per backend: `db_test!(name, |app| async move { ... })`.
#[macro_export]
macro_rules! db_test {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                if let Some(app) = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Sqlite).await {
                    ($body)(app.clone()).await;
                    app.cleanup().await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Postgres).await {
                    ($body)(app.clone()).await;
                    app.cleanup().await;
                }
            }
        }
    };
}

/// Defines a test that runs on each database with each file store: `storage_test!(name, |app| async move { ... })`.
#[macro_export]
macro_rules! storage_test {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            use $crate::helpers::{Backend, Storage, TestApp};

            async fn run(backend: Backend, storage: Storage) {
                if let Some(app) = TestApp::spawn_with(backend, storage).await {
                    ($body)(app.clone()).await;
                    app.cleanup().await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite_local() {
                run(Backend::Sqlite, Storage::Local).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres_local() {
                run(Backend::Postgres, Storage::Local).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite_s3() {
                run(Backend::Sqlite, Storage::S3).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres_s3() {
                run(Backend::Postgres, Storage::S3).await
            }
        }
    };
}

/// How a test user authenticates: an API token (Basic `email/token:T`).
#[derive(Debug, Clone)]
pub struct Creds {
    pub id: i64,
    pub email: String,
    pub token: String,
}

#[derive(Clone)]
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub db: Db,
    /// The configuration the server runs with (to restart it on the same data).
    pub config: Config,
    /// The `PARTNERDESK_*` settings it was made from (to run the same server as a separate process).
    pub vars: Vec<(&'static str, String)>,
    inner: std::sync::Arc<tokio::sync::Mutex<Option<Inner>>>,
}

struct Inner {
    running: Option<Running>,
    s3: Option<tokio::task::JoinHandle<()>>,
    dir: PathBuf,
    pg_database: Option<String>,
}

/// A name no other test of any run shares: the process id, a per-process counter (tests of one binary run in
/// parallel threads under `cargo test`), and the time (process ids are reused across runs).
pub fn unique(prefix: &str) -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let seq = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let n: u64 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    format!("{prefix}_{}_{seq}_{n:x}", std::process::id())
}

pub fn pg_base() -> String {
    std::env::var("PARTNERDESK_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

async fn create_pg_database(name: &str) -> Option<()> {
    let admin = match Db::connect(&format!("{}/postgres", pg_base()), 1).await {
        Ok(db) => db,
        Err(e) => {
            if std::env::var("PARTNERDESK_TEST_REQUIRE_PG").as_deref() == Ok("1") {
                panic!("PostgreSQL is required (PARTNERDESK_TEST_REQUIRE_PG=1) but unreachable: {e}");
            }
            eprintln!("skipping the PostgreSQL run: {e}");
            return None;
        }
    };
    admin
        .conn()
        .execute_script(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    admin.close().await;
    Some(())
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        TestApp::spawn_with(backend, Storage::Local).await
    }

    pub async fn spawn_with(backend: Backend, storage: Storage) -> Option<TestApp> {
        TestApp::spawn_full(backend, storage, Vec::new()).await
    }

    /// With extra `PARTNERDESK_*` settings (mail server, webhook, ...).
    pub async fn spawn_full(backend: Backend, storage: Storage, extra: Vec<(&'static str, String)>) -> Option<TestApp> {
        if std::env::var("TEST_LOG").is_ok() {
            partnerdesk::telemetry::init(partnerdesk::config::LogFormat::Text);
        }
        let dir = std::env::temp_dir().join(unique("partnerdesk-test"));
        std::fs::create_dir_all(&dir).unwrap();
        let (url, pg_database) = match backend {
            Backend::Sqlite => (format!("sqlite://{}", dir.join("test.db").display()), None),
            Backend::Postgres => {
                let name = unique("pd_test");
                create_pg_database(&name).await?;
                (format!("{}/{name}", pg_base()), Some(name))
            }
        };
        let mut vars = vec![
            ("PARTNERDESK_LISTEN", "127.0.0.1:0".to_owned()),
            ("PARTNERDESK_DATA_DIR", dir.display().to_string()),
            ("PARTNERDESK_DATABASE_URL", url),
            ("PARTNERDESK_DB_MAX_CONNECTIONS", "8".to_owned()),
            // The partner buckets in the tests are servers on this machine.
            ("PARTNERDESK_BUCKET_ALLOW_PRIVATE_ENDPOINTS", "true".to_owned()),
        ];
        vars.extend(extra);
        let s3 = match storage {
            Storage::Local => None,
            Storage::S3 => {
                let (endpoint, task) = crate::s3::start(&dir.join("s3"), "files").await;
                vars.extend([
                    ("PARTNERDESK_BLOB_BUCKET", "files".to_owned()),
                    ("PARTNERDESK_BLOB_ENDPOINT", endpoint),
                    ("PARTNERDESK_BLOB_ACCESS_KEY_ID", crate::s3::ACCESS_KEY.to_owned()),
                    ("PARTNERDESK_BLOB_SECRET_ACCESS_KEY", crate::s3::SECRET_KEY.to_owned()),
                    ("PARTNERDESK_BLOB_PATH_STYLE", "true".to_owned()),
                ]);
                Some(task)
            }
        };
        let mut config = Config::from_sources(None, |k| {
            vars.iter().rev().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
        })
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        // Links in answers use the public URL: make it the test address.
        config.public_url = base.clone();
        let running = app::start_on(&config, listener).await.unwrap();
        // The tests' own pool, independent of the server's, so that it outlives a restart.
        let db = Db::connect(config.database_url.expose(), 4).await.unwrap();
        Some(TestApp {
            base,
            client: reqwest::Client::new(),
            db,
            config,
            vars,
            inner: std::sync::Arc::new(tokio::sync::Mutex::new(Some(Inner {
                running: Some(running),
                s3,
                dir,
                pg_database,
            }))),
        })
    }

    pub async fn cleanup(&self) {
        let Some(inner) = self.inner.lock().await.take() else {
            return;
        };
        if let Some(running) = inner.running {
            running.stop().await.unwrap();
        }
        if let Some(s3) = inner.s3 {
            s3.abort();
        }
        self.db.close().await;
        let _ = std::fs::remove_dir_all(&inner.dir);
        if let Some(name) = inner.pg_database
            && let Ok(admin) = Db::connect(&format!("{}/postgres", pg_base()), 1).await
        {
            let _ = admin
                .conn()
                .execute_script(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .await;
            admin.close().await;
        }
    }

    /// Stops the server and starts it again on the same port, database and files (a restart).
    pub async fn restart(&self) {
        let mut guard = self.inner.lock().await;
        let inner = guard.as_mut().unwrap();
        let old = inner.running.take().unwrap();
        let addr = old.addr;
        old.stop().await.unwrap();
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        inner.running = Some(app::start_on(&self.config, listener).await.unwrap());
    }

    /// Starts another instance on the same database and file storage, with a data directory of its own (as on
    /// another machine). Returns its base URL and the running server, or the error it refused to start with.
    pub async fn another_instance(&self, data_dir: &std::path::Path) -> anyhow::Result<(String, Running)> {
        let mut config = self.config.clone();
        config.data_dir = data_dir.to_owned();
        // The same secret key, as every instance of one deployment has.
        config.secret_key = Some(config.secret_key()?);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        config.public_url = base.clone();
        let running = app::start_on(&config, listener).await?;
        Ok((base, running))
    }

    /// Runs this server's configuration as a separate `partnerdesk serve` process on another port, for tests that
    /// kill it. It is killed when the returned value is dropped.
    pub async fn spawn_process(&self) -> ChildServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let base = format!("http://127.0.0.1:{port}");
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_partnerdesk"));
        cmd.arg("serve")
            .envs(self.vars.iter().map(|(k, v)| (*k, v.as_str())))
            .env("PARTNERDESK_LISTEN", format!("127.0.0.1:{port}"))
            .env("PARTNERDESK_PUBLIC_URL", &base)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null());
        if std::env::var("TEST_LOG").is_err() {
            cmd.stderr(std::process::Stdio::null());
        }
        let child = ChildServer {
            child: cmd.spawn().unwrap(),
            base,
        };
        for _ in 0..200 {
            if let Ok(r) = self.client.get(format!("{}/healthz", child.base)).send().await
                && r.status().is_success()
            {
                return child;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("partnerdesk serve did not start on {}", child.base);
    }

    /// Creates an active account with an API token, as `partnerdesk admin create-user` + `api-token` do.
    pub async fn user(&self, email: &str, role: &str, org: Option<i64>) -> Creds {
        self.user_with(email, role, org, false).await
    }

    pub async fn user_with(&self, email: &str, role: &str, org: Option<i64>, account_manager: bool) -> Creds {
        let input = NewAccount {
            email: email.into(),
            name: email.split('@').next().unwrap_or("user").into(),
            role: Some(role.into()),
            organization_id: org,
            is_account_manager: account_manager,
            password: Some("correct horse battery staple".into()),
            ..NewAccount::default()
        };
        let cli = AuditActor::cli();
        let user = accounts::create_account(&self.db, Provisioner::Operator, &cli, input)
            .await
            .unwrap();
        let token = accounts::issue_api_token(&self.db, Provisioner::Operator, &cli, &user, "test")
            .await
            .unwrap();
        Creds {
            id: user.id.0,
            email: user.email,
            token,
        }
    }

    pub async fn admin(&self) -> Creds {
        self.user("admin@vendor.test", "admin", None).await
    }

    /// Credentials of the admin created by `admin()` (a fresh token).
    pub async fn admin_creds(&self) -> Creds {
        let user = partnerdesk_db::users::by_email(&mut self.db.conn(), "admin@vendor.test")
            .await
            .unwrap();
        let cli = AuditActor::cli();
        let token = accounts::issue_api_token(&self.db, Provisioner::Operator, &cli, &user, "test")
            .await
            .unwrap();
        Creds {
            id: user.id.0,
            email: user.email,
            token,
        }
    }

    pub fn request(&self, method: Method, path: &str, who: Option<&Creds>) -> RequestBuilder {
        let rb = self.client.request(method, format!("{}{path}", self.base));
        match who {
            Some(c) => rb.basic_auth(format!("{}/token", c.email), Some(&c.token)),
            None => rb,
        }
    }

    /// Sends and returns status and JSON body (asserting that the body is JSON).
    pub async fn send(&self, rb: RequestBuilder) -> (StatusCode, Value) {
        let resp = rb.send().await.unwrap();
        let status = resp.status();
        let ct = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let text = resp.text().await.unwrap();
        if text.is_empty() {
            return (status, Value::Null);
        }
        assert!(ct.starts_with("application/json"), "{status} answered {ct}: {text}");
        (
            status,
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status}: not JSON ({e}): {text}")),
        )
    }

    pub async fn get(&self, path: &str, who: &Creds) -> (StatusCode, Value) {
        self.send(self.request(Method::GET, path, Some(who))).await
    }

    pub async fn post(&self, path: &str, who: &Creds, body: Value) -> (StatusCode, Value) {
        self.send(self.request(Method::POST, path, Some(who)).json(&body)).await
    }

    pub async fn put(&self, path: &str, who: &Creds, body: Value) -> (StatusCode, Value) {
        self.send(self.request(Method::PUT, path, Some(who)).json(&body)).await
    }

    /// Creates an organization through the API as `admin`; returns its id.
    pub async fn org(&self, admin: &Creds, name: &str, alliance_partner: bool) -> i64 {
        let body = serde_json::json!({"organization": {"name": name, "notes": format!("notes of {name}"), "details": "details", "alliance_partner": alliance_partner}});
        let (s, v) = self.post("/api/v2/organizations.json", admin, body).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["organization"]["id"].as_i64().unwrap()
    }

    /// Sends raw bytes over TCP and reads the answer: for requests an HTTP client would not send (a declared
    /// length with no body). Returns the status code and the body text.
    pub async fn raw_http(&self, request: &str) -> (u16, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = self.base.trim_start_matches("http://");
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut buf = Vec::new();
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), stream.read_to_end(&mut buf)).await;
        let text = String::from_utf8_lossy(&buf).into_owned();
        let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        (status, body)
    }

    /// Counts rows of a table directly, to check that failed requests left nothing behind.
    pub async fn count(&self, table: &str) -> i64 {
        self.db
            .conn()
            .fetch_one(&format!("SELECT COUNT(*) AS n FROM {table}"), &[])
            .await
            .unwrap()
            .i64("n")
            .unwrap()
    }
}

/// A `partnerdesk serve` process (see `TestApp::spawn_process`).
pub struct ChildServer {
    child: std::process::Child,
    pub base: String,
}

impl ChildServer {
    /// Ends it the hard way (SIGKILL), as a crash or `kill -9` would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        self.kill();
    }
}
