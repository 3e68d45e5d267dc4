//! Reading the support mailbox over IMAP: connect (`imap://` on a trusted network, `imaps://` with TLS), list the
//! messages after a UID, fetch one without marking it read, then dispose of it (flag it seen, move it, or delete it)
//! once it has been handled. Waiting for new mail uses IDLE where the server offers it. Deciding which instance
//! reads the mailbox and remembering how far it got is the caller's work (`partnerdesk_app::mailbox`).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_imap::Session;
use async_imap::extensions::idle::IdleResponse;
use futures::TryStreamExt;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{self, RootCertStore};

/// The most messages one listing names (`Connection::after`).
pub const CHUNK: usize = 500;
/// How long connecting, or any one command, may take before the connection is given up.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// Why the mailbox could not be read. The text never contains the password.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ImapError(pub String);

impl From<async_imap::error::Error> for ImapError {
    fn from(e: async_imap::error::Error) -> Self {
        ImapError(format!("IMAP: {e}"))
    }
}

/// What becomes of a message once it is handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum After {
    /// Flagged `\Seen` and left where it is.
    Seen,
    /// Moved to this folder (which must exist).
    Move(String),
    /// Deleted and expunged.
    Delete,
}

impl After {
    /// `seen`, `delete` or `move:FOLDER`.
    pub fn parse(s: &str) -> Result<After, String> {
        match s.trim() {
            "seen" => Ok(After::Seen),
            "delete" => Ok(After::Delete),
            m => match m.strip_prefix("move:").map(str::trim) {
                Some(folder) if !folder.is_empty() => Ok(After::Move(folder.to_owned())),
                _ => Err(format!("'{s}' is not one of seen, delete or move:FOLDER")),
            },
        }
    }
}

/// `imap://user:password@host:port/MAILBOX` or `imaps://...` (port 143 and 993 by default, mailbox `INBOX`).
#[derive(Clone)]
pub struct MailboxUrl {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    pub user: String,
    password: String,
    pub mailbox: String,
}

impl fmt::Debug for MailboxUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl MailboxUrl {
    pub fn parse(s: &str) -> Result<MailboxUrl, String> {
        let url = url::Url::parse(s).map_err(|e| format!("not a URL: {e}"))?;
        let tls = match url.scheme() {
            "imaps" => true,
            "imap" => false,
            other => return Err(format!("the scheme must be imap or imaps, not {other}")),
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or("the URL names no host")?;
        let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
        let user = decode(url.username());
        let password = url.password().map(decode).unwrap_or_default();
        if user.is_empty() || password.is_empty() {
            return Err("the URL must carry the user and password (imaps://user:password@host/INBOX)".into());
        }
        let mailbox = decode(url.path().trim_start_matches('/'));
        Ok(MailboxUrl {
            tls,
            host: host.trim_start_matches('[').trim_end_matches(']').to_owned(),
            port: url.port().unwrap_or(if tls { 993 } else { 143 }),
            user,
            password,
            mailbox: if mailbox.is_empty() { "INBOX".into() } else { mailbox },
        })
    }

    /// The mailbox without its password: how it is named in logs and in the database.
    pub fn name(&self) -> String {
        let scheme = if self.tls { "imaps" } else { "imap" };
        format!("{scheme}://{}@{}:{}/{}", self.user, self.host, self.port, self.mailbox)
    }
}

/// The mailbox to read and how: `PARTNERDESK_IMAP_URL`, `PARTNERDESK_IMAP_AFTER`, `PARTNERDESK_IMAP_CA_FILE`,
/// `PARTNERDESK_IMAP_POLL_SECONDS`.
#[derive(Debug, Clone)]
pub struct Source {
    pub url: MailboxUrl,
    pub after: After,
    /// Trusted besides the public roots.
    pub roots: Vec<CertificateDer<'static>>,
    /// How long to wait between looks when the server has no IDLE; with IDLE, the most one wait lasts.
    pub poll: Duration,
}

/// Certificates to trust besides the public roots (a company CA, or a test server's own certificate).
pub fn read_ca_file(path: &std::path::Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|i| i.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("reading {}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{} holds no PEM certificate", path.display()));
    }
    Ok(certs)
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send + fmt::Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + fmt::Debug> Io for T {}

/// The selected mailbox: its UIDVALIDITY (UIDs from another validity mean other messages).
#[derive(Debug, Clone, Copy)]
pub struct Selected {
    pub uid_validity: u32,
}

/// A logged-in connection with the mailbox selected.
pub struct Connection {
    session: Session<Box<dyn Io>>,
    idle: bool,
    moves: bool,
    /// `UID EXPUNGE` (removes only the messages named) needs UIDPLUS.
    uidplus: bool,
}

async fn timed<T, E: Into<ImapError>>(what: &str, f: impl Future<Output = Result<T, E>>) -> Result<T, ImapError> {
    match tokio::time::timeout(COMMAND_TIMEOUT, f).await {
        Ok(r) => r.map_err(Into::into),
        Err(_) => Err(ImapError(format!(
            "IMAP: no answer to {what} in {}s",
            COMMAND_TIMEOUT.as_secs()
        ))),
    }
}

impl From<std::io::Error> for ImapError {
    fn from(e: std::io::Error) -> Self {
        ImapError(format!("IMAP connection: {e}"))
    }
}

/// Connects, logs in and selects the mailbox.
pub async fn connect(
    url: &MailboxUrl,
    extra_roots: &[CertificateDer<'static>],
) -> Result<(Connection, Selected), ImapError> {
    let tcp = timed("connect", TcpStream::connect((url.host.as_str(), url.port))).await?;
    let stream: Box<dyn Io> = if url.tls {
        let mut roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        for c in extra_roots {
            roots
                .add(c.clone())
                .map_err(|e| ImapError(format!("the CA file: {e}")))?;
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| ImapError(format!("TLS: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = ServerName::try_from(url.host.clone()).map_err(|e| ImapError(format!("TLS server name: {e}")))?;
        let tls = timed("TLS", TlsConnector::from(Arc::new(config)).connect(name, tcp)).await?;
        Box::new(tls)
    } else {
        Box::new(tcp)
    };
    let mut client = async_imap::Client::new(stream);
    match timed("the greeting", client.read_response()).await? {
        Some(_) => {}
        None => {
            return Err(ImapError(
                "IMAP: the server closed the connection before greeting".into(),
            ));
        }
    }
    let mut session = timed("LOGIN", async {
        client
            .login(&url.user, &url.password)
            .await
            .map_err(|(e, _)| ImapError::from(e))
    })
    .await?;
    let caps = timed("CAPABILITY", session.capabilities()).await?;
    let selected = timed("SELECT", session.select(&url.mailbox)).await?;
    let Some(uid_validity) = selected.uid_validity else {
        return Err(ImapError(format!("IMAP: {} has no UIDVALIDITY", url.mailbox)));
    };
    let connection = Connection {
        session,
        idle: caps.has_str("IDLE"),
        moves: caps.has_str("MOVE"),
        uidplus: caps.has_str("UIDPLUS"),
    };
    Ok((connection, Selected { uid_validity }))
}

impl Connection {
    /// Refuses a disposition that cannot work (a folder to move to that does not exist), before any message is
    /// read: otherwise every message would be handled and then fail to move, again and again.
    pub async fn check(&mut self, after: &After) -> Result<(), ImapError> {
        if let After::Move(folder) = after {
            timed("STATUS", self.session.status(folder, "(UIDNEXT)"))
                .await
                .map_err(|e| ImapError(format!("the folder '{folder}' to move handled mail to: {}", e.0)))?;
        }
        Ok(())
    }

    /// Up to `CHUNK` UIDs after `last` with each message's size (`u32::MAX` when the server does not say), oldest
    /// first. Listed a chunk at a time, so that a mailbox with a large backlog costs no more memory than a small one.
    pub async fn after(&mut self, last: u32) -> Result<Vec<(u32, u32)>, ImapError> {
        let next = last.saturating_add(1);
        let session = &mut self.session;
        let mut uids: Vec<u32> = timed("UID SEARCH", session.uid_search(format!("UID {next}:*")))
            .await?
            .into_iter()
            // `N:*` always matches the newest message, even when its UID is below N.
            .filter(|uid| *uid > last)
            .collect();
        uids.sort_unstable();
        uids.truncate(CHUNK);
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        let set = uids.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
        let sizes = timed("UID FETCH", async {
            let fetches = session.uid_fetch(&set, "(UID RFC822.SIZE)").await?;
            fetches.try_collect::<Vec<_>>().await
        })
        .await?;
        Ok(uids
            .into_iter()
            .map(|uid| {
                let size = sizes.iter().find(|f| f.uid == Some(uid)).and_then(|f| f.size);
                (uid, size.unwrap_or(u32::MAX))
            })
            .collect())
    }

    /// The whole message `uid`, left unread; `None` when it vanished meanwhile.
    pub async fn fetch(&mut self, uid: u32) -> Result<Option<Vec<u8>>, ImapError> {
        let session = &mut self.session;
        let fetched = timed("UID FETCH BODY", async {
            let fetches = session.uid_fetch(uid.to_string(), "(UID BODY.PEEK[])").await?;
            fetches.try_collect::<Vec<_>>().await
        })
        .await?;
        Ok(fetched
            .iter()
            .find(|f| f.uid == Some(uid))
            .and_then(|f| f.body())
            .map(<[u8]>::to_vec))
    }

    /// Disposes of a handled message.
    pub async fn dispose(&mut self, uid: u32, after: &After) -> Result<(), ImapError> {
        let session = &mut self.session;
        let set = uid.to_string();
        match after {
            After::Seen => store(session, &set, "+FLAGS.SILENT (\\Seen)").await,
            After::Move(folder) if self.moves => timed("UID MOVE", session.uid_mv(&set, folder)).await,
            After::Move(folder) => {
                timed("UID COPY", session.uid_copy(&set, folder)).await?;
                delete(session, &set, self.uidplus).await
            }
            After::Delete => delete(session, &set, self.uidplus).await,
        }
    }

    /// Waits until the server reports a change or `wait` passes (IDLE), or just waits where IDLE is not offered.
    /// Ends early, without error, when `stop` completes.
    pub async fn wait(self, wait: Duration, stop: impl Future<Output = ()>) -> Result<Option<Connection>, ImapError> {
        if !self.idle {
            tokio::select! {
                _ = tokio::time::sleep(wait) => return Ok(Some(self)),
                _ = stop => return Ok(None),
            }
        }
        let Connection {
            session,
            idle,
            moves,
            uidplus,
        } = self;
        let mut handle = session.idle();
        timed("IDLE", handle.init()).await?;
        let (changed, interrupt) = handle.wait_with_timeout(wait);
        // The client's own timeout starts again at every keep-alive the server sends: bound the whole wait, so that
        // the caller comes back in time to renew its lease.
        let changed = tokio::time::timeout(wait, changed);
        let stopped = tokio::select! {
            r = changed => {
                match r {
                    Ok(r) => match r? {
                        IdleResponse::NewData(_) | IdleResponse::Timeout | IdleResponse::ManualInterrupt => false,
                    },
                    Err(_) => false,
                }
            }
            _ = stop => true,
        };
        drop(interrupt);
        if stopped {
            return Ok(None);
        }
        let session = timed("DONE", handle.done()).await?;
        Ok(Some(Connection {
            session,
            idle,
            moves,
            uidplus,
        }))
    }

    /// Says goodbye (best effort).
    pub async fn logout(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(5), self.session.logout()).await;
    }
}

async fn store(session: &mut Session<Box<dyn Io>>, set: &str, flags: &str) -> Result<(), ImapError> {
    timed("UID STORE", async {
        let answers = session.uid_store(set, flags).await?;
        answers.try_collect::<Vec<_>>().await
    })
    .await
    .map(drop)
}

async fn delete(session: &mut Session<Box<dyn Io>>, set: &str, uidplus: bool) -> Result<(), ImapError> {
    store(session, set, "+FLAGS.SILENT (\\Deleted)").await?;
    if uidplus {
        // UID EXPUNGE removes only this message, not others someone else marked deleted.
        timed("UID EXPUNGE", async {
            let gone = session.uid_expunge(set).await?;
            gone.try_collect::<Vec<_>>().await
        })
        .await
        .map(drop)
    } else {
        timed("EXPUNGE", async {
            let gone = session.expunge().await?;
            gone.try_collect::<Vec<_>>().await
        })
        .await
        .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u =
            MailboxUrl::parse("imaps://support%40vendor.test:p%3Ass@mail.vendor.test/Support/Inbox").expect("valid");
        assert!(u.tls);
        assert_eq!((u.host.as_str(), u.port), ("mail.vendor.test", 993));
        assert_eq!((u.user.as_str(), u.password.as_str()), ("support@vendor.test", "p:ss"));
        assert_eq!(u.mailbox, "Support/Inbox");
        assert_eq!(
            u.name(),
            "imaps://support@vendor.test@mail.vendor.test:993/Support/Inbox"
        );
        assert!(!format!("{u:?}").contains("p:ss"));
        let u = MailboxUrl::parse("imap://a:b@127.0.0.1:1143").expect("valid");
        assert_eq!((u.tls, u.port, u.mailbox.as_str()), (false, 1143, "INBOX"));
        for bad in [
            "http://a:b@h/",
            "imap://h/INBOX",
            "imap://a@h/",
            "imaps://a:b@/x",
            "nonsense",
        ] {
            assert!(MailboxUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dispositions() {
        assert_eq!(After::parse("seen"), Ok(After::Seen));
        assert_eq!(After::parse("delete"), Ok(After::Delete));
        assert_eq!(After::parse("move:Done/Mail"), Ok(After::Move("Done/Mail".into())));
        assert!(After::parse("move:").is_err());
        assert!(After::parse("archive").is_err());
    }
}
