//! Real protocol peers for escalation tests: an SMTP server (mailin-embedded, in this process) and an HTTP
//! webhook receiver (axum), both on loopback ports, recording what they receive.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use mailin_embedded::response::{self, Response};

#[derive(Debug, Clone)]
pub struct Mail {
    pub to: Vec<String>,
    pub data: String,
}

#[derive(Clone, Default)]
struct Sink {
    store: Arc<Mutex<Vec<Mail>>>,
    to: Vec<String>,
    data: Vec<u8>,
}

impl mailin_embedded::Handler for Sink {
    fn rcpt(&mut self, to: &str) -> Response {
        self.to.push(to.to_owned());
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let mail = Mail {
            to: std::mem::take(&mut self.to),
            data: String::from_utf8_lossy(&std::mem::take(&mut self.data)).into_owned(),
        };
        self.store.lock().unwrap().push(mail);
        response::OK
    }
}

/// A port nothing listens on yet (the mail server is "down" until `start_smtp_on` it).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts an SMTP server on `port`; returns what it receives.
pub fn start_smtp_on(port: u16) -> Arc<Mutex<Vec<Mail>>> {
    let store: Arc<Mutex<Vec<Mail>>> = Arc::default();
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let mut server = mailin_embedded::Server::new(Sink {
        store: store.clone(),
        ..Sink::default()
    });
    // A real server takes many connections at once (Postfix: 100): each sending instance keeps a few open.
    server
        .with_name("test-smtp")
        .with_num_threads(32)
        .with_tcp_listener(listener);
    std::thread::spawn(move || {
        let _ = server.serve();
    });
    store
}

#[derive(Debug, Clone)]
pub struct Hook {
    pub signature: String,
    pub timestamp: String,
    pub delivery: String,
    pub body: String,
}

/// Starts a webhook receiver; returns its URL and what it receives.
pub async fn start_webhook() -> (String, Arc<Mutex<Vec<Hook>>>) {
    let store: Arc<Mutex<Vec<Hook>>> = Arc::default();
    let s = store.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let s = s.clone();
            async move {
                let header = |name: &str| {
                    headers
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned()
                };
                s.lock().unwrap().push(Hook {
                    signature: header("x-partnerdesk-signature"),
                    timestamp: header("x-partnerdesk-timestamp"),
                    delivery: header("x-partnerdesk-delivery"),
                    body,
                });
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/hook"), store)
}

/// Waits (up to 15 s) until `f` holds.
pub async fn eventually(what: &str, f: impl Fn() -> bool) {
    for _ in 0..300 {
        if f() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("timed out waiting until {what}");
}

/// What a test SMTP server received.
pub type Inbox = Arc<Mutex<Vec<Mail>>>;

/// A server on `backend` that sends mail to a test SMTP server (as `Vendor Support <support@vendor.test>`, replies to
/// `support@vendor.test`, delivering every 100 ms), with `extra` settings on top; and what that SMTP server receives.
pub async fn spawn_with_mail(
    backend: crate::helpers::Backend,
    extra: Vec<(&'static str, String)>,
) -> Option<(crate::helpers::TestApp, Inbox)> {
    spawn_with_mail_on(backend, crate::helpers::Storage::Local, extra).await
}

/// `spawn_with_mail` with files in `storage` (S3 for tests that run several instances).
pub async fn spawn_with_mail_on(
    backend: crate::helpers::Backend,
    storage: crate::helpers::Storage,
    extra: Vec<(&'static str, String)>,
) -> Option<(crate::helpers::TestApp, Inbox)> {
    let port = free_port();
    let mails = start_smtp_on(port);
    let mut vars = vec![
        ("PARTNERDESK_SMTP_URL", format!("smtp://127.0.0.1:{port}")),
        (
            "PARTNERDESK_MAIL_FROM",
            "Vendor Support <support@vendor.test>".to_owned(),
        ),
        ("PARTNERDESK_MAIL_REPLY_ADDRESS", "support@vendor.test".to_owned()),
        ("PARTNERDESK_WORKER_INTERVAL_MS", "100".to_owned()),
    ];
    vars.extend(extra);
    let app = crate::helpers::TestApp::spawn_full(backend, storage, vars).await?;
    Some((app, mails))
}
