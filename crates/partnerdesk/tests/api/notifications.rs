//! Requesters are told by e-mail (real SMTP) when staff file a ticket for them, answer them publicly, or set their
//! ticket pending or solved; never of internal notes, never of their own replies. Notices are threaded and carry
//! the ticket's signed reply address.

use mail_parser::MessageParser;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, TestApp};
use crate::mail::{self, Mail, eventually};

async fn spawn(backend: Backend) -> Option<(TestApp, mail::Inbox)> {
    mail::spawn_with_mail(backend, Vec::new()).await
}

/// A received message, parsed: (header name → value) lookups and the text and HTML bodies, decoded.
struct Received {
    raw: String,
    to: Vec<String>,
    text: String,
    html: String,
}

impl Received {
    fn parse(m: &Mail) -> Received {
        let msg = MessageParser::default().parse(m.data.as_bytes()).expect("a message");
        Received {
            raw: m.data.clone(),
            to: m.to.clone(),
            text: msg.body_text(0).map(|t| t.into_owned()).unwrap_or_default(),
            html: msg.body_html(0).map(|t| t.into_owned()).unwrap_or_default(),
        }
    }

    fn header(&self, name: &str) -> Option<String> {
        let msg = MessageParser::default().parse(self.raw.as_bytes())?;
        msg.header_raw(name).map(|v| v.trim().to_owned())
    }

    fn subject(&self) -> String {
        MessageParser::default()
            .parse(self.raw.as_bytes())
            .and_then(|m| m.subject().map(str::to_owned))
            .unwrap_or_default()
    }
}

async fn lifecycle(backend: Backend) {
    let Some((app, mails)) = spawn(backend).await else {
        return;
    };
    let admin = app.admin().await;
    let org = app.org(&admin, "Acme Integrations", true).await;
    let partner = app.user("pat@acme.example", "end-user", Some(org)).await;

    // The partner files a ticket: nobody else to tell, and they know.
    let (s, v) = app
        .post(
            "/api/v2/tickets.json",
            &partner,
            json!({"ticket": {"subject": "Sync stops after 10k records", "comment": {"body": "Since 4.2 the connector stops."}}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["ticket"]["id"].as_i64().unwrap();
    let path = format!("/api/v2/tickets/{id}.json");
    // An internal note: never mailed.
    let (s, v) = app
        .put(
            &path,
            &admin,
            json!({"ticket": {"comment": {"body": "SECRET-NOTE: their contract lapsed", "public": false}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // A public answer, with markup that must arrive as text.
    let (s, v) = app
        .put(
            &path,
            &admin,
            json!({"ticket": {"status": "pending", "comment": {"body": "Please send the <b>sync log</b>."}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    eventually("the reply notice arrives", || mails.lock().unwrap().len() == 1).await;
    let reply = Received::parse(&mails.lock().unwrap()[0]);
    assert_eq!(reply.to, vec!["pat@acme.example".to_owned()]);
    assert_eq!(reply.subject(), format!("[#{id}] Sync stops after 10k records"));
    assert!(
        reply.text.contains("Please send the <b>sync log</b>."),
        "{}",
        reply.text
    );
    assert!(
        reply.text.contains("> Since 4.2 the connector stops."),
        "the earlier message is quoted: {}",
        reply.text
    );
    assert!(
        reply.text.contains("Please type your reply above this line"),
        "{}",
        reply.text
    );
    assert!(
        reply.html.contains("&lt;b&gt;sync log&lt;/b&gt;"),
        "markup is escaped: {}",
        reply.html
    );
    assert!(reply.text.contains(&format!("/portal/tickets/{id}")), "{}", reply.text);
    assert!(
        reply.text.contains("Acme Integrations"),
        "the footer names the organization: {}",
        reply.text
    );
    assert_eq!(reply.header("Auto-Submitted").as_deref(), Some("auto-generated"));
    let root = format!("<ticket-{id}@vendor.test>");
    assert_eq!(reply.header("In-Reply-To").as_deref(), Some(root.as_str()));
    assert_eq!(reply.header("References").as_deref(), Some(root.as_str()));
    let reply_to = reply.header("Reply-To").unwrap_or_default();
    let prefix = format!("support+t{id}-");
    let tag = reply_to
        .strip_prefix(&prefix)
        .and_then(|r| r.strip_suffix("@vendor.test"))
        .unwrap_or_else(|| panic!("Reply-To is the ticket's signed address: {reply_to}"));
    assert!(
        tag.len() == 10 && tag.bytes().all(|b| b.is_ascii_hexdigit()),
        "{reply_to}"
    );
    let first_id = reply.header("Message-ID").unwrap_or_default();
    assert!(
        first_id.starts_with('<') && first_id.ends_with("@vendor.test>"),
        "{first_id}"
    );

    // The partner answers: they are not told of their own words.
    let (s, v) = app
        .put(
            &path,
            &partner,
            json!({"ticket": {"comment": {"body": "Log attached."}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Solved without a comment: a status notice.
    let (s, v) = app.put(&path, &admin, json!({"ticket": {"status": "solved"}})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    eventually("the solved notice arrives", || mails.lock().unwrap().len() == 2).await;
    let solved = Received::parse(&mails.lock().unwrap()[1]);
    assert!(solved.text.contains("marked solved"), "{}", solved.text);
    assert_ne!(
        solved.header("Message-ID"),
        Some(first_id.clone()),
        "each notice has its own id"
    );
    // Threaded: the second notice answers the first, and the chain starts at the ticket's root.
    assert_eq!(solved.header("In-Reply-To"), Some(first_id.clone()));
    assert_eq!(solved.header("References"), Some(format!("{root} {first_id}")));

    // Staff file a ticket on the partner's behalf: the partner is told.
    let (s, v) = app
        .post(
            "/api/v2/tickets.json",
            &admin,
            json!({"ticket": {"subject": "Renewal of the connector certificate", "requester_id": partner.id,
                   "comment": {"body": "We opened this for you."}}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    eventually("the filed-for-you notice arrives", || mails.lock().unwrap().len() == 3).await;
    let filed = Received::parse(&mails.lock().unwrap()[2]);
    assert!(filed.text.contains("A ticket was filed for you"), "{}", filed.text);
    assert!(filed.text.contains("We opened this for you."), "{}", filed.text);
    let second = v["ticket"]["id"].as_i64().unwrap();

    // The ticket is given to an agent: the agent is told; the requester then writes on it: the agent is told again,
    // and the requester is not told of their own words.
    let alex = app.user("alex@vendor.test", "agent", None).await;
    let second_path = format!("/api/v2/tickets/{second}.json");
    let (s, v) = app
        .put(&second_path, &admin, json!({"ticket": {"assignee_id": alex.id}}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let to_alex = |mails: &[Mail]| -> Vec<Mail> {
        mails
            .iter()
            .filter(|m| m.to == vec!["alex@vendor.test".to_owned()])
            .cloned()
            .collect()
    };
    eventually("the assignment notice arrives", || {
        to_alex(&mails.lock().unwrap()).len() == 1
    })
    .await;
    let assigned = Received::parse(&to_alex(&mails.lock().unwrap())[0]);
    assert!(
        assigned.text.contains(&format!("assigned ticket #{second} to you")),
        "{}",
        assigned.text
    );
    assert!(
        assigned.text.contains(&format!("/agent/tickets/{second}")),
        "{}",
        assigned.text
    );
    let (s, v) = app
        .put(
            &second_path,
            &partner,
            json!({"ticket": {"comment": {"body": "Thanks, here is the CSR."}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    eventually("the requester-wrote notice arrives", || {
        to_alex(&mails.lock().unwrap()).len() == 2
    })
    .await;
    let wrote = Received::parse(&to_alex(&mails.lock().unwrap())[1]);
    assert!(wrote.text.contains("the requester, wrote"), "{}", wrote.text);
    assert!(wrote.text.contains("Thanks, here is the CSR."), "{}", wrote.text);

    // Nothing more arrives, and no message ever held the internal note.
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    let all = mails.lock().unwrap().clone();
    let to_pat = all
        .iter()
        .filter(|m| m.to == vec!["pat@acme.example".to_owned()])
        .count();
    assert_eq!(
        (to_pat, all.len()),
        (3, 5),
        "three notices to the requester, two to the agent"
    );
    assert!(
        all.iter().all(|m| !m.data.contains("SECRET-NOTE")),
        "an internal note left in a mail"
    );
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requesters_hear_of_answers_and_status_never_of_internal_notes_sqlite() {
    lifecycle(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requesters_hear_of_answers_and_status_never_of_internal_notes_postgres() {
    lifecycle(Backend::Postgres).await;
}
