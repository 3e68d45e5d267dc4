//! A throw-away IMAP server for the tests: Debian's dovecot, run as an ordinary process on a loopback port with its
//! own configuration, one user (`support` / `secret`) and maildirs in a temporary directory. Messages are put in
//! with IMAP APPEND through a third-party client (async-imap), as a mail server's delivery would leave them.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Dovecot {
    dir: PathBuf,
    conf: PathBuf,
    pub port: u16,
    /// The plain-text port the tests deliver through (the same as `port` unless the server is `imaps://`).
    plain_port: u16,
    child: Option<Child>,
}

/// Whether dovecot is here; without it the IMAP tests are skipped locally and fail in CI (`.ci/run` installs it).
fn installed() -> bool {
    let found = Command::new("dovecot")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var("CI").is_err(),
            "dovecot is not installed (Debian's dovecot-imapd)"
        );
        eprintln!("skipping: dovecot is not installed (apt-get install dovecot-imapd)");
    }
    found
}

impl Dovecot {
    /// A plain-text IMAP server (`imap://`).
    pub fn start() -> Option<Dovecot> {
        Dovecot::start_with(false)
    }

    /// With `tls`, an `imaps://` server whose certificate (for `localhost`) is `ca_file()`.
    pub fn start_with(tls: bool) -> Option<Dovecot> {
        if !installed() {
            return None;
        }
        let dir = std::env::temp_dir().join(crate::helpers::unique("dovecot"));
        for sub in ["run", "state", "mail"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        let chmod = |p: &PathBuf, mode: u32| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
        };
        // The mail processes run as the dovecot user: it must reach the directory and own the maildirs.
        chmod(&dir, 0o755);
        let owned = Command::new("chown")
            .args(["dovecot:dovecot"])
            .arg(dir.join("mail"))
            .status()
            .unwrap();
        assert!(owned.success(), "chown of the maildir failed");
        std::fs::write(dir.join("passwd"), "support:{PLAIN}secret\n").unwrap();
        chmod(&dir.join("passwd"), 0o644);
        let port = crate::mail::free_port();
        let plain_port = if tls { crate::mail::free_port() } else { port };
        let d = dir.display();
        let ssl = if tls {
            // A CA of the test's own, and the server's certificate for `localhost` signed by it.
            std::fs::write(
                dir.join("leaf.ext"),
                "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n",
            )
            .unwrap();
            let openssl = |args: &[&str]| {
                Command::new("openssl")
                    .args(args)
                    .current_dir(&dir)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .unwrap()
                    .success()
            };
            let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
            let ca = [
                "-days",
                "2",
                "-subj",
                "/CN=Test CA",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
            ];
            let made = openssl(&[&["req", "-x509"], &ec[..], &ca[..]].concat())
                && openssl(
                    &[
                        &["req"],
                        &ec[..],
                        &["-subj", "/CN=localhost", "-keyout", "key.pem", "-out", "leaf.csr"],
                    ]
                    .concat(),
                )
                && openssl(&[
                    "x509",
                    "-req",
                    "-in",
                    "leaf.csr",
                    "-CA",
                    "ca.pem",
                    "-CAkey",
                    "ca.key",
                    "-CAcreateserial",
                    "-days",
                    "2",
                    "-extfile",
                    "leaf.ext",
                    "-out",
                    "cert.pem",
                ]);
            assert!(made, "openssl could not make the certificates");
            format!(
                "ssl = yes\nssl_cert = <{d}/cert.pem\nssl_key = <{d}/key.pem\n\
                 service imap-login {{\n  chroot =\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {plain_port}\n  }}\n  \
                 inet_listener imaps {{\n    address = 127.0.0.1\n    port = {port}\n    ssl = yes\n  }}\n}}\n"
            )
        } else {
            format!(
                "ssl = no\nservice imap-login {{\n  chroot =\n  inet_listener imap {{\n    address = 127.0.0.1\n    \
                 port = {port}\n  }}\n  inet_listener imaps {{\n    port = 0\n  }}\n}}\n"
            )
        };
        let conf = dir.join("dovecot.conf");
        std::fs::write(
            &conf,
            format!(
                "base_dir = {d}/run\nstate_dir = {d}/state\nlog_path = {d}/dovecot.log\nprotocols = imap\n\
                 listen = 127.0.0.1\ndefault_internal_user = dovecot\ndefault_login_user = dovenull\n\
                 default_internal_group = dovecot\nfirst_valid_uid = 100\ndisable_plaintext_auth = no\n\
                 auth_mechanisms = plain login\nmail_location = maildir:{d}/mail/%u\n\
                 passdb {{\n  driver = passwd-file\n  args = {d}/passwd\n}}\n\
                 userdb {{\n  driver = static\n  args = uid=dovecot gid=dovecot home={d}/mail/%u\n}}\n\
                 service anvil {{\n  chroot =\n}}\n\
                 namespace inbox {{\n  inbox = yes\n  mailbox Handled {{\n    auto = create\n  }}\n}}\n{ssl}"
            ),
        )
        .unwrap();
        let mut dovecot = Dovecot {
            dir,
            conf,
            port,
            plain_port,
            child: None,
        };
        dovecot.start_again();
        Some(dovecot)
    }

    /// Starts the server (again, after `stop`) on the same port and mail, and waits until it answers.
    pub fn start_again(&mut self) {
        let child = Command::new("dovecot")
            .arg("-F")
            .arg("-c")
            .arg(&self.conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!(
            "dovecot did not start: {}",
            std::fs::read_to_string(self.dir.join("dovecot.log")).unwrap_or_default()
        );
    }

    /// Stops the server and waits until its port is closed.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // Through doveadm, so that the login processes (which hold the listening socket) stop too.
        let _ = Command::new("doveadm").arg("-c").arg(&self.conf).arg("stop").status();
        let _ = child.wait();
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("dovecot did not stop");
    }

    /// `imap://support:secret@127.0.0.1:PORT/INBOX`, or `imaps://...@localhost:PORT/INBOX` for a TLS server.
    pub fn url(&self) -> String {
        if self.dir.join("cert.pem").exists() {
            format!("imaps://support:secret@localhost:{}/INBOX", self.port)
        } else {
            format!("imap://support:secret@127.0.0.1:{}/INBOX", self.port)
        }
    }

    /// The CA that signed a TLS server's certificate (to trust with `PARTNERDESK_IMAP_CA_FILE`).
    pub fn ca_file(&self) -> String {
        self.dir.join("ca.pem").display().to_string()
    }

    async fn session(&self) -> async_imap::Session<tokio::net::TcpStream> {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", self.plain_port))
            .await
            .unwrap();
        let mut client = async_imap::Client::new(tcp);
        client.read_response().await.unwrap().unwrap();
        client.login("support", "secret").await.map_err(|(e, _)| e).unwrap()
    }

    /// Delivers `messages` into INBOX.
    pub async fn append(&self, messages: &[String]) {
        let mut session = self.session().await;
        for m in messages {
            session.append("INBOX", None, None, m.as_bytes()).await.unwrap();
        }
        session.logout().await.unwrap();
    }

    /// How many messages `mailbox` holds, and how many of them are flagged `\Seen`.
    pub async fn count(&self, mailbox: &str) -> (u32, usize) {
        let mut session = self.session().await;
        let exists = session.examine(mailbox).await.unwrap().exists;
        let seen = session.search("SEEN").await.unwrap().len();
        session.logout().await.unwrap();
        (exists, seen)
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
