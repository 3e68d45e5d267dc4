//! Reading the configuration from a map of variables and a TOML file.

use std::collections::HashMap;

use super::*;

fn load(vars: &[(&str, &str)]) -> Result<Config> {
    let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Config::from_sources(None, |k| map.get(k).cloned())
}

#[test]
fn defaults_need_nothing() -> Result<()> {
    let c = load(&[])?;
    assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(c.database_url.expose(), "sqlite://./partnerdesk-data/partnerdesk.db");
    assert_eq!(c.public_url, "http://127.0.0.1:8080");
    Ok(())
}

#[test]
fn environment_overrides_and_secrets_are_hidden() -> Result<()> {
    let c = load(&[
        ("PARTNERDESK_LISTEN", "0.0.0.0:9000"),
        ("PARTNERDESK_DATABASE_URL", "postgres://u:hunter2hunter2@db/pd"),
        ("PARTNERDESK_SECRET_KEY", "k".repeat(40).as_str()),
        ("PARTNERDESK_PUBLIC_URL", "https://support.example.com/"),
    ])?;
    assert_eq!(c.listen.port(), 9000);
    assert_eq!(c.public_url, "https://support.example.com");
    let debug = format!("{c:?}");
    assert!(c.blob_s3.is_none());
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(!debug.contains("kkkk"), "{debug}");
    Ok(())
}

#[test]
fn webhook_secret_is_configurable_hidden_and_long_enough() -> Result<()> {
    let secret = "receiver-shared-secret-0123456789";
    let c = load(&[("PARTNERDESK_ESCALATION_WEBHOOK_SECRET", secret)])?;
    assert_eq!(c.escalation_webhook_secret.as_ref().map(Secret::expose), Some(secret));
    assert!(!format!("{c:?}").contains("receiver-shared"));
    let sealer = partnerdesk_core::sealing::Sealer::new(&"k".repeat(40), &[]);
    assert_eq!(crate::app::webhook_secret(&c, &sealer), secret);
    // Unset: derived from the secret key, the same on every instance and after every restart.
    let derived = crate::app::webhook_secret(&load(&[])?, &sealer);
    assert_eq!(derived.len(), 64);
    assert_eq!(derived, crate::app::webhook_secret(&load(&[])?, &sealer));
    assert!(load(&[("PARTNERDESK_ESCALATION_WEBHOOK_SECRET", "short")]).is_err());
    Ok(())
}

#[test]
fn bad_values_are_refused() {
    assert!(load(&[("PARTNERDESK_LISTEN", "nonsense")]).is_err());
    assert!(load(&[("PARTNERDESK_DATABASE_URL", "mysql://x")]).is_err());
    assert!(load(&[("PARTNERDESK_PUBLIC_URL", "ftp://x")]).is_err());
    assert!(load(&[("PARTNERDESK_LOG_FORMAT", "xml")]).is_err());
    assert!(load(&[("PARTNERDESK_BUCKET_PROXY", "socks5://127.0.0.1:1080")]).is_err());
    assert!(load(&[("PARTNERDESK_BUCKET_PROXY", "http://127.0.0.1:3128")]).is_ok());
    assert!(load(&[("PARTNERDESK_MAIL_REPLY_ADDRESS", "Support <support@example.com>")]).is_err());
    assert!(load(&[("PARTNERDESK_MAIL_REPLY_ADDRESS", "support")]).is_err());
    let c = load(&[("PARTNERDESK_MAIL_REPLY_ADDRESS", "support@example.com")]);
    assert_eq!(
        c.ok().and_then(|c| c.mail_reply_address).as_deref(),
        Some("support@example.com")
    );
}

#[test]
fn negative_and_zero_numbers_are_refused_not_wrapped() {
    for name in [
        "PARTNERDESK_MAX_JSON_BYTES",
        "PARTNERDESK_MAX_ATTACHMENT_BYTES",
        "PARTNERDESK_MAX_LARGE_UPLOAD_BYTES",
        "PARTNERDESK_SEARCH_EXACT_COUNT",
        "PARTNERDESK_DB_MAX_CONNECTIONS",
        "PARTNERDESK_DB_ACQUIRE_TIMEOUT_MS",
        "PARTNERDESK_INVITATION_TTL_HOURS",
        "PARTNERDESK_WORKER_INTERVAL_MS",
        "PARTNERDESK_LOGIN_ATTEMPTS",
        "PARTNERDESK_LOGIN_WINDOW_SECS",
    ] {
        for bad in ["-1", "0"] {
            let err = load(&[(name, bad)]).map(|_| ()).expect_err(name);
            assert!(err.to_string().contains(name), "{err}");
        }
    }
    let err = load(&[("PARTNERDESK_DB_MAX_CONNECTIONS", "99999999999")])
        .map(|_| ())
        .expect_err("too large");
    assert!(err.to_string().contains("too large"), "{err}");
    assert_eq!(
        load(&[("PARTNERDESK_LOGIN_ATTEMPTS", "3")])
            .map(|c| c.login_attempts)
            .ok(),
        Some(3)
    );
}

#[test]
fn toml_file_is_read() -> Result<()> {
    let dir = std::env::temp_dir().join(format!("pd-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("partnerdesk.toml");
    std::fs::write(
        &path,
        "listen = \"127.0.0.1:7000\"\npublic_url = \"https://x.example\"\n",
    )?;
    let c = Config::from_sources(Some(&path), |_| None)?;
    assert_eq!((c.listen.port(), c.public_url.as_str()), (7000, "https://x.example"));
    std::fs::write(&path, "lisen = \"typo\"\n")?;
    assert!(Config::from_sources(Some(&path), |_| None).is_err());
    Ok(())
}

#[test]
fn imap_settings() -> Result<()> {
    assert!(load(&[])?.imap.is_none());
    let c = load(&[
        ("PARTNERDESK_IMAP_URL", "imap://support:s3cret@127.0.0.1:1143/INBOX"),
        ("PARTNERDESK_IMAP_AFTER", "move:Handled"),
        ("PARTNERDESK_IMAP_POLL_SECONDS", "2"),
    ])?;
    let imap = c.imap.as_ref().expect("an IMAP source");
    assert_eq!(imap.url.name(), "imap://support@127.0.0.1:1143/INBOX");
    assert_eq!(imap.after, partnerdesk_mail::imap::After::Move("Handled".into()));
    assert_eq!(imap.poll.as_secs(), 2);
    assert!(!format!("{c:?}").contains("s3cret"), "the password is not printed");
    for (k, v) in [
        ("PARTNERDESK_IMAP_URL", "pop3://a:b@host/"),
        ("PARTNERDESK_IMAP_AFTER", "archive"),
        ("PARTNERDESK_IMAP_CA_FILE", "/nonexistent/ca.pem"),
    ] {
        let mut vars = vec![("PARTNERDESK_IMAP_URL", "imap://a:b@host/")];
        vars.retain(|(n, _)| *n != k);
        vars.push((k, v));
        let e = load(&vars).expect_err(v).to_string();
        assert!(e.contains(k), "{e}");
    }
    Ok(())
}
