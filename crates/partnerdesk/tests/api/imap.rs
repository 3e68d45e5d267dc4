//! Incoming mail read over IMAP from a real server (dovecot): each message handled once and moved aside, a message
//! delivered twice stored once, the server going down and coming back, a restart going on where it stopped, two
//! instances reading one mailbox, a 1,000-message backlog drained, a loop with an auto-responder that stops, and
//! `imaps://` that trusts only the certificate it is told to.

use std::time::{Duration, Instant};

use crate::dovecot::Dovecot;
use crate::helpers::{Backend, Storage, TestApp};
use crate::mail::{self, Inbox};

fn message(from: &str, id: &str, subject: &str, extra_headers: &str, body: &str) -> String {
    format!(
        "From: {from}\r\nTo: support@vendor.test\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n{extra_headers}\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
}

async fn spawn(backend: Backend, dovecot: &Dovecot, extra: Vec<(&'static str, String)>) -> Option<(TestApp, Inbox)> {
    spawn_on(backend, Storage::Local, dovecot, extra).await
}

async fn spawn_on(
    backend: Backend,
    storage: Storage,
    dovecot: &Dovecot,
    extra: Vec<(&'static str, String)>,
) -> Option<(TestApp, Inbox)> {
    let mut vars = vec![
        ("PARTNERDESK_IMAP_URL", dovecot.url()),
        ("PARTNERDESK_IMAP_AFTER", "move:Handled".to_owned()),
        ("PARTNERDESK_IMAP_POLL_SECONDS", "1".to_owned()),
    ];
    vars.extend(extra);
    mail::spawn_with_mail_on(backend, storage, vars).await
}

/// Waits up to `secs` seconds until `f` holds.
async fn within<F: Future<Output = bool>>(secs: u64, what: &str, f: impl Fn() -> F) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(secs) {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out after {secs}s waiting until {what}");
}

fn answers_to(mails: &Inbox, address: &str) -> usize {
    mails
        .lock()
        .unwrap()
        .iter()
        .filter(|m| m.to.iter().any(|t| t.contains(address)))
        .count()
}

async fn reads_each_message_once(backend: Backend) {
    let Some(mut dovecot) = Dovecot::start() else {
        return;
    };
    let Some((app, mails)) = spawn(backend, &dovecot, Vec::new()).await else {
        return;
    };
    let admin = app.admin().await;
    let acme = app.org(&admin, "Acme Integrations", true).await;
    let pat = app.user("pat@acme.example", "end-user", Some(acme)).await;
    let _lee = app.user("lee@acme.example", "end-user", Some(acme)).await;
    let first = message(
        "Pat <pat@acme.example>",
        "new-1@acme.example",
        "Webhook 502",
        "",
        "It answers 502.",
    );
    let stranger = message("who@nowhere.example", "s-1@nowhere.example", "Help", "", "Please help.");
    let ooo = message(
        "pat@acme.example",
        "ooo-1@acme.example",
        "Out of office",
        "Auto-Submitted: auto-replied\r\n",
        "Away.",
    );
    // A NUL in the subject and the text (which PostgreSQL refuses to store) is filed as a replacement character.
    let nul = "From: lee@acme.example\r\nTo: support@vendor.test\r\nSubject: =?utf-8?b?U3luYwBzdGFsbHM=?=\r\n\
               Message-ID: <nul-1@acme.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nIt\u{0}stalls.\r\n"
        .to_owned();
    // The first message is delivered twice.
    dovecot.append(&[first.clone(), first, stranger, ooo, nul]).await;

    within(20, "the partners' messages are tickets", || async {
        app.count("tickets").await == 2
    })
    .await;
    within(20, "every message is handled", || async {
        dovecot.count("INBOX").await.0 == 0
    })
    .await;
    assert_eq!(dovecot.count("Handled").await.0, 5, "all moved aside, the repeat too");
    let (s, t) = app.get("/api/v2/tickets.json", &admin).await;
    assert_eq!(s, reqwest::StatusCode::OK);
    assert_eq!(t["tickets"][0]["requester_id"], pat.id);
    assert_eq!(t["tickets"][0]["via"]["channel"], "email");
    assert_eq!(t["tickets"][1]["subject"], "Sync\u{FFFD}stalls");
    within(10, "the stranger is answered", || async {
        answers_to(&mails, "who@nowhere.example") == 1
    })
    .await;

    // A badly behaved auto-responder answers our answer, again and again, without saying it is a machine: the
    // loop stops at our once-a-day answer.
    let loops: Vec<String> = (0..5)
        .map(|i| {
            message(
                "who@nowhere.example",
                &format!("loop-{i}@nowhere.example"),
                "Re: Help",
                "",
                "Got it.",
            )
        })
        .collect();
    dovecot.append(&loops).await;
    within(20, "the loop's messages are handled", || async {
        dovecot.count("INBOX").await.0 == 0
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        answers_to(&mails, "who@nowhere.example"),
        1,
        "one answer a day, however often it writes"
    );

    // The IMAP server goes away and comes back: mail waiting meanwhile is read when it is back.
    dovecot.stop();
    tokio::time::sleep(Duration::from_secs(2)).await;
    dovecot.start_again();
    let second = message(
        "lee@acme.example",
        "new-3@acme.example",
        "Sync stalls",
        "",
        "Nightly sync stalls.",
    );
    dovecot.append(&[second]).await;
    within(40, "mail is read again after the server is back", || async {
        app.count("tickets").await == 3
    })
    .await;

    // A restart goes on where reading stopped: nothing is read twice, new mail is read.
    app.restart().await;
    let third = message("lee@acme.example", "new-4@acme.example", "Another", "", "One more.");
    dovecot.append(&[third]).await;
    within(20, "mail is read after a restart", || async {
        app.count("tickets").await == 4
    })
    .await;
    assert_eq!(dovecot.count("Handled").await.0, 12);
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imap_reads_each_message_once_sqlite() {
    reads_each_message_once(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imap_reads_each_message_once_postgres() {
    reads_each_message_once(Backend::Postgres).await;
}

/// 1,000 messages from 40 partners wait in the mailbox; two instances read it at once and one of them stops midway.
async fn backlog_with_two_instances(backend: Backend) {
    let Some(dovecot) = Dovecot::start() else {
        return;
    };
    // Seen, not moved: the mailbox keeps every message, so that none can be lost unnoticed. Files on S3: two
    // instances cannot share local storage.
    let after = vec![("PARTNERDESK_IMAP_AFTER", "seen".to_owned())];
    let Some((app, _mails)) = spawn_on(backend, Storage::S3, &dovecot, after).await else {
        return;
    };
    let admin = app.admin().await;
    let acme = app.org(&admin, "Acme Integrations", true).await;
    let mut messages = Vec::new();
    for p in 0..40 {
        let email = format!("partner{p}@acme.example");
        app.user(&email, "end-user", Some(acme)).await;
        // Under the 30-an-hour limit per sender.
        for n in 0..25 {
            messages.push(message(
                &email,
                &format!("m{p}-{n}@acme.example"),
                &format!("Case {p}-{n}"),
                "",
                "Help.",
            ));
        }
    }
    let dir = std::env::temp_dir().join(crate::helpers::unique("second-instance"));
    let (_, second) = app.another_instance(&dir).await.unwrap();
    dovecot.append(&messages).await;
    within(120, "a third of the backlog is read", || async {
        app.count("tickets").await >= 300
    })
    .await;
    // One instance stops (whichever held the mailbox, the other reads on).
    second.stop().await.unwrap();
    within(180, "the backlog is drained", || async {
        dovecot.count("INBOX").await.1 == 1000
    })
    .await;
    assert_eq!(app.count("tickets").await, 1000, "each message once");
    assert_eq!(app.count("inbound_mail").await, 1000);
    let _ = std::fs::remove_dir_all(&dir);
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imap_backlog_with_two_instances_sqlite() {
    backlog_with_two_instances(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imap_backlog_with_two_instances_postgres() {
    backlog_with_two_instances(Backend::Postgres).await;
}

/// `imaps://`: a server whose certificate is not trusted is not read; trusted through `PARTNERDESK_IMAP_CA_FILE`, it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imaps_trusts_only_the_configured_certificate() {
    let Some(dovecot) = Dovecot::start_with(true) else {
        return;
    };
    let Some((untrusting, _)) = spawn(Backend::Sqlite, &dovecot, Vec::new()).await else {
        return;
    };
    let admin = untrusting.admin().await;
    let acme = untrusting.org(&admin, "Acme Integrations", true).await;
    untrusting.user("pat@acme.example", "end-user", Some(acme)).await;
    dovecot
        .append(&[message(
            "pat@acme.example",
            "tls-1@acme.example",
            "Over TLS",
            "",
            "Hello.",
        )])
        .await;
    let client = reqwest::Client::new();
    let metrics = format!("{}/metrics", untrusting.base);
    within(20, "the certificate is refused", || async {
        let text = client.get(&metrics).send().await.unwrap().text().await.unwrap();
        text.lines()
            .any(|l| l.starts_with("partnerdesk_mail_imap_errors_total") && !l.ends_with(" 0"))
    })
    .await;
    assert_eq!(untrusting.count("tickets").await, 0);
    assert_eq!(dovecot.count("INBOX").await.0, 1, "nothing read");
    untrusting.cleanup().await;

    let Some((app, _)) = spawn(
        Backend::Sqlite,
        &dovecot,
        vec![("PARTNERDESK_IMAP_CA_FILE", dovecot.ca_file())],
    )
    .await
    else {
        return;
    };
    let admin = app.admin().await;
    let acme = app.org(&admin, "Acme Integrations", true).await;
    app.user("pat@acme.example", "end-user", Some(acme)).await;
    // (The first message was read, and refused, before pat had an account here.)
    dovecot
        .append(&[message(
            "pat@acme.example",
            "tls-2@acme.example",
            "Over TLS",
            "",
            "Hello.",
        )])
        .await;
    within(20, "the message is read over TLS", || async {
        app.count("tickets").await == 1
    })
    .await;
    app.cleanup().await;
}

/// A folder to move handled mail to that does not exist: nothing is read (it would be handled and then fail to move,
/// again and again); the error is counted for whoever watches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imap_refuses_a_folder_that_does_not_exist() {
    let Some(dovecot) = Dovecot::start() else {
        return;
    };
    let after = vec![("PARTNERDESK_IMAP_AFTER", "move:Nowhere".to_owned())];
    let Some((app, _)) = spawn(Backend::Sqlite, &dovecot, after).await else {
        return;
    };
    let admin = app.admin().await;
    let acme = app.org(&admin, "Acme Integrations", true).await;
    app.user("pat@acme.example", "end-user", Some(acme)).await;
    dovecot
        .append(&[message("pat@acme.example", "f-1@acme.example", "Hello", "", "Hi.")])
        .await;
    let client = reqwest::Client::new();
    let metrics = format!("{}/metrics", app.base);
    within(20, "the missing folder is reported", || async {
        let text = client.get(&metrics).send().await.unwrap().text().await.unwrap();
        text.lines()
            .any(|l| l.starts_with("partnerdesk_mail_imap_errors_total") && !l.ends_with(" 0"))
    })
    .await;
    assert_eq!(app.count("tickets").await, 0);
    assert_eq!(dovecot.count("INBOX").await.0, 1);
    app.cleanup().await;
}
