//! Incoming mail through `partnerdesk mail-ingest` (the pipe a mail server runs), against the real server's
//! database: replies become comments, partners' new messages become tickets, strangers and other organizations are
//! turned away with one answer a day, machines are ignored, and a message delivered twice is handled once.

use std::io::Write;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};
use crate::mail::{self, Inbox, Mail, eventually};

async fn spawn(backend: Backend) -> Option<(TestApp, Inbox)> {
    mail::spawn_with_mail(backend, vec![("PARTNERDESK_MAX_ATTACHMENT_BYTES", "4096".to_owned())]).await
}

/// Pipes `raw` into `partnerdesk mail-ingest`; returns its exit status and what it printed.
fn ingest(app: &TestApp, raw: &str, recipient: Option<&str>) -> (i32, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_partnerdesk"));
    cmd.arg("mail-ingest")
        .envs(app.vars.iter().map(|(k, v)| (*k, v.as_str())))
        .env("RUST_LOG", "error")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    if let Some(r) = recipient {
        cmd.args(["--recipient", r]);
    }
    let mut child = cmd.spawn().unwrap();
    child.stdin.take().unwrap().write_all(raw.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

fn message(from: &str, to: &str, id: &str, subject: &str, extra_headers: &str, body: &str) -> String {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n{extra_headers}MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
}

async fn comments(app: &TestApp, admin: &crate::helpers::Creds, ticket: i64) -> Vec<Value> {
    let (s, v) = app.get(&format!("/api/v2/tickets/{ticket}/comments.json"), admin).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["comments"].as_array().cloned().unwrap_or_default()
}

async fn rules(backend: Backend) {
    let Some((app, mails)) = spawn(backend).await else {
        return;
    };
    let admin = app.admin().await;
    let acme = app.org(&admin, "Acme Integrations", true).await;
    let other = app.org(&admin, "Globex Connectors", true).await;
    let pat = app.user("pat@acme.example", "end-user", Some(acme)).await;
    let _lee = app.user("lee@acme.example", "end-user", Some(acme)).await;
    let _gil = app.user("gil@globex.example", "end-user", Some(other)).await;

    // A partner writes to support: a new ticket, by e-mail, in their name, routed to the partner queue.
    let first = message(
        "Pat <pat@acme.example>",
        "support@vendor.test",
        "new-1@acme.example",
        "Webhook 502 after upgrade",
        "",
        "Since 4.2 the webhook answers 502.\r\n\r\n-- \r\nPat, Acme",
    );
    let (code, out) = ingest(&app, &first, Some("support@vendor.test"));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("filed as ticket #"), "{out}");
    let id: i64 = out.trim().rsplit('#').next().unwrap().parse().unwrap();
    let (s, t) = app.get(&format!("/api/v2/tickets/{id}.json"), &admin).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(t["ticket"]["requester_id"], pat.id);
    assert_eq!(t["ticket"]["subject"], "Webhook 502 after upgrade");
    assert_eq!(t["ticket"]["via"]["channel"], "email", "{t}");
    assert_eq!(
        comments(&app, &admin, id).await[0]["body"],
        "Since 4.2 the webhook answers 502.",
        "signature cut"
    );

    // The same message delivered again: handled once.
    let (code, out) = ingest(&app, &first, None);
    assert_eq!((code, out.trim()), (0, "already handled"));
    assert_eq!(app.count("tickets").await, 1);

    // An agent answers; the notice carries the signed reply address; the partner replies to it from their client.
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/{id}.json"),
            &admin,
            json!({"ticket": {"comment": {"body": "Which proxy?"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    eventually("the notice arrives", || mails.lock().unwrap().len() == 1).await;
    let notice = mails.lock().unwrap()[0].data.clone();
    let reply_to = notice
        .lines()
        .find_map(|l| l.strip_prefix("Reply-To: "))
        .map(|r| r.trim().to_owned())
        .expect("a Reply-To");
    let reply = message(
        "pat@acme.example",
        &reply_to,
        "reply-1@acme.example",
        &format!("Re: [#{id}] Webhook 502 after upgrade"),
        "",
        "nginx 1.24 in front.\r\n\r\nOn Tue, Vendor Support <support@vendor.test> wrote:\r\n> Which proxy?",
    );
    let (code, out) = ingest(&app, &reply, Some(&reply_to));
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.trim(), format!("added to ticket #{id}"));
    let c = comments(&app, &admin, id).await;
    assert_eq!(c.last().unwrap()["body"], "nginx 1.24 in front.");
    assert_eq!(c.last().unwrap()["author_id"], pat.id);
    assert_eq!(c.last().unwrap()["public"], true);

    // A reply with files: the small one is attached to the comment, the one over the limit is not, and the sender is
    // told where the large-file uploader is.
    let small = "c21hbGwgbG9nIGZpbGU="; // "small log file"
    let big: String = "QUFBQUFB".repeat(1000); // 6,000 bytes once decoded
    let with_files = format!(
        "From: pat@acme.example\r\nTo: {reply_to}\r\nSubject: Re: logs\r\nMessage-ID: <files-1@acme.example>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"f\"\r\n\r\n\
         --f\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nLogs attached.\r\n\
         --f\r\nContent-Type: text/plain; name=\"sync.log\"\r\nContent-Disposition: attachment; filename=\"sync.log\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{small}\r\n\
         --f\r\nContent-Type: application/octet-stream; name=\"dump.bin\"\r\nContent-Disposition: attachment; filename=\"dump.bin\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{big}\r\n--f--\r\n"
    );
    let (code, out) = ingest(&app, &with_files, None);
    assert_eq!((code, out.trim().to_owned()), (0, format!("added to ticket #{id}")));
    let c = comments(&app, &admin, id).await;
    let last = c.last().unwrap();
    assert_eq!(last["body"], "Logs attached.");
    let files: Vec<&str> = last["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["file_name"].as_str().unwrap())
        .collect();
    assert_eq!(files, vec!["sync.log"], "{last}");
    eventually("the large-file hint arrives", || {
        mails
            .lock()
            .unwrap()
            .iter()
            .any(|m| m.data.contains("Files too large for e-mail"))
    })
    .await;
    let hint = mails
        .lock()
        .unwrap()
        .iter()
        .find(|m| m.data.contains("Files too large"))
        .cloned()
        .unwrap();
    assert_eq!(hint.to, vec!["pat@acme.example".to_owned()]);
    assert!(
        hint.data.contains("dump.bin") && hint.data.contains(&format!("/portal/tickets/{id}")),
        "{}",
        hint.data
    );
    // The answer joins the sender's thread: it answers their message, after their earlier reply in the chain.
    assert!(
        hint.data.contains("In-Reply-To: <files-1@acme.example>"),
        "{}",
        hint.data
    );
    assert!(
        hint.data.contains("<reply-1@acme.example> <files-1@acme.example>"),
        "{}",
        hint.data
    );

    // A colleague from the same organization answers through In-Reply-To alone: a comment too.
    let colleague = message(
        "lee@acme.example",
        "support@vendor.test",
        "reply-2@acme.example",
        "Re: proxy",
        "In-Reply-To: <ticket-1@vendor.test>\r\n"
            .replace("ticket-1", &format!("ticket-{id}"))
            .as_str(),
        "It is nginx, yes.",
    );
    let (code, out) = ingest(&app, &colleague, None);
    assert_eq!((code, out.trim().to_owned()), (0, format!("added to ticket #{id}")));

    // An agent answers by mail, with #note: an internal note.
    let note = message(
        "admin@vendor.test",
        &reply_to,
        "note-1@vendor.test",
        "Re: x",
        "",
        "#note\r\nProbably the proxy timeout.",
    );
    let (code, out) = ingest(&app, &note, None);
    assert_eq!(code, 0, "{out}");
    let c = comments(&app, &admin, id).await;
    assert_eq!(c.last().unwrap()["public"], false, "{c:?}");
    assert_eq!(c.last().unwrap()["body"], "Probably the proxy timeout.");
    let before = c.len();

    // Someone from another organization, with a forged address, In-Reply-To or subject: refused, nothing stored.
    let forged_addr = reply_to.replace(&format!("+t{id}-"), "+t1-0000000000");
    for (n, (to, headers, subject)) in [
        (reply_to.clone(), String::new(), "Re: hi".to_owned()),
        (forged_addr, String::new(), "Re: hi".to_owned()),
        (
            "support@vendor.test".to_owned(),
            format!("In-Reply-To: <ticket-{id}@vendor.test>\r\n"),
            "Re: hi".to_owned(),
        ),
        (
            "support@vendor.test".to_owned(),
            String::new(),
            format!("Re: [#{id}] hi"),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let m = message(
            "gil@globex.example",
            &to,
            &format!("intrude-{n}@globex.example"),
            &subject,
            &headers,
            "Let me in.",
        );
        let (code, out) = ingest(&app, &m, None);
        assert_eq!(code, 0, "{out}");
        assert!(out.starts_with("refused"), "case {n}: {out}");
        assert!(!out.contains(&format!("#{id}")), "case {n}: {out}");
    }
    assert_eq!(
        comments(&app, &admin, id).await.len(),
        before,
        "nothing from another organization on the ticket"
    );
    // A forged staff address answering by thread (not through the signed address): refused, nothing posted.
    let forged_staff = message(
        "admin@vendor.test",
        "support@vendor.test",
        "forged-staff@evil.example",
        "Re: x",
        &format!("In-Reply-To: <ticket-{id}@vendor.test>\r\n"),
        "#note\r\nPlease re-enter your password at evil.example",
    );
    let (code, out) = ingest(&app, &forged_staff, None);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("refused: staff reply by e-mail through the ticket's signed address"),
        "{out}"
    );
    assert_eq!(
        comments(&app, &admin, id).await.len(),
        before,
        "nothing from a forged staff address"
    );

    // A stranger: refused, one answer a day however often they write.
    for n in 0..3 {
        let m = message(
            "stranger@nowhere.example",
            "support@vendor.test",
            &format!("s-{n}@nowhere.example"),
            "Help",
            "",
            "Please help.",
        );
        let (code, out) = ingest(&app, &m, None);
        assert_eq!(code, 0, "{out}");
        assert!(out.starts_with("refused: the sender has no account"), "{out}");
    }
    eventually("the stranger's answer arrives", || {
        mails
            .lock()
            .unwrap()
            .iter()
            .any(|m| m.to == vec!["stranger@nowhere.example".to_owned()])
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let answers: Vec<Mail> = mails
        .lock()
        .unwrap()
        .iter()
        .filter(|m| m.to == vec!["stranger@nowhere.example".to_owned()])
        .cloned()
        .collect();
    assert_eq!(answers.len(), 1, "one answer a day");
    assert!(answers[0].data.contains("Auto-Submitted: auto-generated"));
    assert!(answers[0].data.contains("account manager"), "{}", answers[0].data);

    // After 30 days the janitor forgets what refused mail said; a repeat is still recognised.
    let later = partnerdesk_db::now() + chrono::TimeDelta::days(partnerdesk_app::janitor::REFUSED_MAIL_DAYS);
    let purged = partnerdesk_db::inbound::purge_refused(&mut app.db.conn(), later)
        .await
        .unwrap();
    assert!(purged >= 8, "the refused messages are purged: {purged}");
    let left = app
        .db
        .conn()
        .fetch_one("SELECT COUNT(*) AS n FROM inbound_mail WHERE excerpt IS NOT NULL", &[])
        .await
        .unwrap();
    assert_eq!(left.i64("n").unwrap(), 0);
    let again = message(
        "stranger@nowhere.example",
        "support@vendor.test",
        "s-0@nowhere.example",
        "Help",
        "",
        "Please help.",
    );
    assert_eq!(ingest(&app, &again, None).1.trim(), "already handled");

    // Machines: an out-of-office and a bounce are not answered; the bounce marks the address.
    let ooo = message(
        "pat@acme.example",
        "support@vendor.test",
        "ooo-1@acme.example",
        "Out of office",
        "Auto-Submitted: auto-replied\r\n",
        "Away.",
    );
    let (code, out) = ingest(&app, &ooo, None);
    assert_eq!(code, 0);
    assert!(out.starts_with("ignored"), "{out}");
    let bounce = "From: MAILER-DAEMON@acme.example\r\nTo: support@vendor.test\r\nSubject: Undelivered\r\nMessage-ID: <b-1@acme.example>\r\n\
        Content-Type: multipart/report; report-type=delivery-status; boundary=\"r\"\r\n\r\n--r\r\nContent-Type: text/plain\r\n\r\nFailed.\r\n\
        --r\r\nContent-Type: message/delivery-status\r\n\r\nFinal-Recipient: rfc822; lee@acme.example\r\nAction: failed\r\n--r--\r\n";
    let (code, out) = ingest(&app, bounce, None);
    assert_eq!(code, 0);
    assert!(out.starts_with("ignored"), "{out}");
    let failing = app
        .db
        .conn()
        .fetch_all("SELECT address FROM failing_addresses", &[])
        .await
        .unwrap();
    assert_eq!(failing.len(), 1);
    assert_eq!(failing[0].text("address").unwrap(), "lee@acme.example");
    // Admins see it through the API and beside the person on the users page; others do not.
    let (s, v) = app.get("/api/v2/failing_addresses.json", &admin).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["failing_addresses"][0]["address"], "lee@acme.example");
    assert_eq!(
        app.get("/api/v2/failing_addresses.json", &pat).await.0,
        StatusCode::FORBIDDEN
    );
    let mut page = crate::pages::Browser::new(&app);
    page.sign_in(&admin.email, crate::pages::PASSWORD).await;
    let (_, _, users) = page.get("/admin/users").await;
    let lee_row = users
        .split("<tr>")
        .find(|r| r.contains("lee@acme.example"))
        .unwrap_or_default();
    assert!(lee_row.contains("mail bounces"), "{lee_row}");
    let pat_row = users
        .split("<tr>")
        .find(|r| r.contains("pat@acme.example"))
        .unwrap_or_default();
    assert!(!pat_row.contains("mail bounces"), "{pat_row}");
    // Refused mail, newest first, with why; admins only; an unknown outcome is a clear 400.
    let (s, v) = app.get("/api/v2/inbound_mail.json?outcome=refused", &admin).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let refused = v["inbound_mail"].as_array().cloned().unwrap_or_default();
    assert!(
        !refused.is_empty() && refused.iter().all(|m| m["outcome"] == "refused"),
        "{v}"
    );
    assert!(refused.iter().any(|m| m["sender"] == "stranger@nowhere.example"), "{v}");
    let (s, v) = app.get("/api/v2/inbound_mail.json", &admin).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(
        v["inbound_mail"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["outcome"] == "ticket"),
        "{v}"
    );
    assert_eq!(
        app.get("/api/v2/inbound_mail.json?outcome=lost", &admin).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        app.get("/api/v2/inbound_mail.json", &pat).await.0,
        StatusCode::FORBIDDEN
    );

    // Not ours, and not a message.
    assert_eq!(ingest(&app, &first, Some("sales@vendor.test")).0, 67);
    assert_eq!(ingest(&app, "", None).0, 65);
    assert_eq!(
        app.count("tickets").await,
        1,
        "only the partner's message became a ticket"
    );
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_in_follows_the_rules_sqlite() {
    rules(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_in_follows_the_rules_postgres() {
    rules(Backend::Postgres).await;
}
