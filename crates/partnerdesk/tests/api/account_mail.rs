//! The e-mails that open an account: an invitation (from the API, the pages' button and `admin invite-user`) and
//! the forgot-password link. Each arrives at a real SMTP server with a working link; the link is never stored in
//! the outbox readable; a reset goes only to active accounts, answers the same for any address, and is rate-limited.

use mail_parser::MessageParser;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, TestApp};
use crate::mail::{self, Inbox, eventually};
use crate::pages::Browser;

/// The text of the last message to `to`.
fn last_text_to(mails: &Inbox, to: &str) -> Option<String> {
    let mails = mails.lock().unwrap();
    let m = mails.iter().rev().find(|m| m.to.iter().any(|t| t.contains(to)))?;
    let parsed = MessageParser::default().parse(m.data.as_bytes())?;
    parsed.body_text(0).map(|t| t.into_owned())
}

fn count_to(mails: &Inbox, to: &str) -> usize {
    mails
        .lock()
        .unwrap()
        .iter()
        .filter(|m| m.to.iter().any(|t| t.contains(to)))
        .count()
}

/// The token of the set-password link in `text`.
fn token_in(text: &str) -> String {
    let start = text.find("/account/set-password?token=").expect("a set-password link") + 28;
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

async fn outbox_holds(app: &TestApp, secret: &str) -> bool {
    let rows = app
        .db
        .conn()
        .fetch_all("SELECT payload FROM outbox", &[])
        .await
        .unwrap();
    rows.iter().any(|r| r.text("payload").unwrap().contains(secret))
}

/// The answer shown after a reset request.
fn notice(page: &str) -> Option<&str> {
    let start = page.find("id=\"reset-sent\">")?;
    let end = start + page[start..].find("</div>")?;
    Some(&page[start..end])
}

async fn forgot(b: &mut Browser, email: &str) -> (StatusCode, String) {
    let csrf = b.csrf("/account/forgot-password").await;
    let (s, _, body) = b
        .post("/account/forgot-password", &[("csrf", &csrf), ("email", email)])
        .await;
    (s, body)
}

async fn invitations_and_resets(backend: Backend) {
    let Some((app, mails)) = mail::spawn_with_mail(backend, Vec::new()).await else {
        return;
    };
    let admin = app.admin().await;
    let acme = app.org(&admin, "Acme Integrations", true).await;

    // Invited through the API: the link comes back, and the same link is e-mailed.
    let (s, v) = app
        .post(
            "/api/v2/users.json",
            &admin,
            json!({"user": {"email": "ivy@acme.example", "name": "Ivy", "role": "end-user", "organization_id": acme}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let ivy = v["user"]["id"].as_i64().unwrap();
    let (s, v) = app
        .post(&format!("/api/v2/users/{ivy}/invitation.json"), &admin, json!({}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let url = v["invitation"]["url"].as_str().unwrap().to_owned();
    eventually("the invitation arrives", || count_to(&mails, "ivy@acme.example") == 1).await;
    let text = last_text_to(&mails, "ivy@acme.example").unwrap();
    assert!(text.contains(&url), "{text}");
    assert!(text.contains("Acme Integrations"), "{text}");
    let token = token_in(&text);
    assert!(!outbox_holds(&app, &token).await, "the link is sealed in the outbox");
    let (s, v) = app
        .send(
            app.request(reqwest::Method::POST, "/api/v2/account/password.json", None)
                .json(&json!({"token": token, "password": "first password 1"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // The command line prints the link and the running server mails it.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_partnerdesk"))
        .args(["admin", "invite-user", "--email", "lou@acme.example", "--name", "Lou"])
        .args(["--role", "end-user", "--org", "Acme Integrations"])
        .envs(app.vars.iter().map(|(k, v)| (*k, v.as_str())))
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let printed = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    eventually("the CLI's invitation arrives", || {
        count_to(&mails, "lou@acme.example") == 1
    })
    .await;
    assert!(last_text_to(&mails, "lou@acme.example").unwrap().contains(&printed));

    // Forgot password: an active account gets a link; an unknown address, an invited account and a suspended one
    // get nothing, and every request is answered alike.
    let mut b = Browser::new(&app);
    let (s, answer) = forgot(&mut b, "Ivy@Acme.example").await;
    assert_eq!(s, StatusCode::OK);
    assert!(answer.contains("id=\"reset-sent\""), "{answer}");
    eventually("the reset link arrives", || count_to(&mails, "ivy@acme.example") == 2).await;
    let text = last_text_to(&mails, "ivy@acme.example").unwrap();
    let reset = token_in(&text);
    assert!(!outbox_holds(&app, &reset).await);
    let sus = app.user("sus@acme.example", "end-user", Some(acme)).await;
    let (s, v) = app
        .put(
            &format!("/api/v2/users/{}.json", sus.id),
            &admin,
            json!({"user": {"suspended": true}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    for other in ["nobody@acme.example", "lou@acme.example", "sus@acme.example"] {
        let (s, body) = forgot(&mut b, other).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(notice(&body), notice(&answer), "the same answer for {other}");
    }
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert_eq!(count_to(&mails, "nobody@acme.example"), 0);
    assert_eq!(count_to(&mails, "lou@acme.example"), 1, "only the invitation");
    assert_eq!(count_to(&mails, "sus@acme.example"), 0);

    // The reset link sets a new password once; the old one stops working.
    let set = |token: String, password: &'static str| {
        app.send(
            app.request(reqwest::Method::POST, "/api/v2/account/password.json", None)
                .json(&json!({"token": token, "password": password})),
        )
    };
    assert_eq!(set(reset.clone(), "second password 2").await.0, StatusCode::OK);
    assert_eq!(
        set(reset, "third password 33").await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let mut signin = Browser::new(&app);
    assert_eq!(
        signin.sign_in("ivy@acme.example", "first password 1").await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        signin.sign_in("ivy@acme.example", "second password 2").await.0,
        StatusCode::SEE_OTHER
    );

    // Five requests an hour for one address.
    for _ in 0..4 {
        assert_eq!(forgot(&mut b, "ivy@acme.example").await.0, StatusCode::OK);
    }
    let (s, body) = forgot(&mut b, "ivy@acme.example").await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{body}");
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitations_and_resets_by_mail_sqlite() {
    invitations_and_resets(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invitations_and_resets_by_mail_postgres() {
    invitations_and_resets(Backend::Postgres).await;
}
