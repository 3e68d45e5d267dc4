//! Passwords and invitation links under attack: simultaneous guesses are all counted, password checks are
//! bounded, and only the latest invitation link works until a password is set.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::TestApp;
use crate::pages::Browser;

const PASSWORD: &str = "correct horse battery staple";
/// The server's default: failed sign-ins allowed per account and per address in the window.
const LIMIT: usize = 10;

/// Sorts answers into password checks made (401) and attempts refused unchecked (429 or 503, with Retry-After).
fn tally(answers: &[(StatusCode, Option<String>)]) -> (usize, usize) {
    let mut checked = 0;
    let mut refused = 0;
    for (status, retry_after) in answers {
        match *status {
            StatusCode::UNAUTHORIZED => checked += 1,
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => {
                let secs: u64 = retry_after.as_deref().expect("Retry-After").parse().expect("seconds");
                assert!(secs >= 1);
                refused += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    (checked, refused)
}

/// Sends `n` requests at the same moment; their statuses and `Retry-After` headers.
async fn burst(n: usize, request: impl Fn() -> reqwest::RequestBuilder) -> Vec<(StatusCode, Option<String>)> {
    let sent: Vec<_> = (0..n)
        .map(|_| {
            let rb = request();
            tokio::spawn(async move {
                let resp = rb.send().await.unwrap();
                let retry = resp
                    .headers()
                    .get("retry-after")
                    .map(|v| v.to_str().unwrap().to_owned());
                (resp.status(), retry)
            })
        })
        .collect();
    let mut answers = Vec::new();
    for s in sent {
        answers.push(s.await.unwrap());
    }
    answers
}

db_test!(
    simultaneous_wrong_passwords_are_all_counted,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let url = format!("{}/api/v2/users/me.json", app.base);
        let answers = burst(100, || {
            app.client.get(&url).basic_auth(&admin.email, Some("not the password"))
        })
        .await;
        let (checked, refused) = tally(&answers);
        assert!(
            checked <= LIMIT,
            "{checked} passwords were checked, the limit is {LIMIT}"
        );
        assert_eq!(checked + refused, 100);
        // The account is locked for the window, even with the right password; its API token still works.
        let resp = app
            .client
            .get(&url)
            .basic_auth(&admin.email, Some(PASSWORD))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(app.get("/api/v2/users/me.json", &admin).await.0, StatusCode::OK);
    }
);

db_test!(
    simultaneous_sign_in_page_guesses_are_all_counted,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let mut b = Browser::new(&app);
        let csrf = b.csrf("/signin").await;
        let cookie = b.cookie_header();
        let form = [
            ("csrf", csrf.as_str()),
            ("email", admin.email.as_str()),
            ("password", "not it"),
        ];
        let signin = format!("{}/signin", app.base);
        let answers = burst(60, || app.client.post(&signin).header("cookie", &cookie).form(&form)).await;
        let (checked, refused) = tally(&answers);
        assert!(
            checked <= LIMIT,
            "{checked} passwords were checked, the limit is {LIMIT}"
        );
        assert_eq!(checked + refused, 60);
    }
);

async fn accept(app: &TestApp, token: &str, password: &str) -> (StatusCode, Value) {
    app.send(
        app.client
            .post(format!("{}/api/v2/account/password", app.base))
            .json(&json!({"token": token, "password": password})),
    )
    .await
}

async fn invite(app: &TestApp, admin: &crate::helpers::Creds, user: i64) -> String {
    let (s, v) = app
        .post(&format!("/api/v2/users/{user}/invitation.json"), admin, json!({}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["invitation"]["url"]
        .as_str()
        .unwrap()
        .split("token=")
        .nth(1)
        .unwrap()
        .to_owned()
}

fn refusal(v: &Value) -> String {
    v["details"]["token"][0]["description"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

db_test!(only_the_latest_invitation_link_works, |app: TestApp| async move {
    let admin = app.admin().await;
    let (_, v) = app
        .post(
            "/api/v2/users",
            &admin,
            json!({"user": {"name": "Ivy", "email": "ivy@partner.example"}}),
        )
        .await;
    let ivy = v["user"]["id"].as_i64().unwrap();
    let first = invite(&app, &admin, ivy).await;
    let second = invite(&app, &admin, ivy).await;
    let (s, v) = accept(&app, &first, "a long enough passphrase").await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(refusal(&v).contains("replaced by a newer one"), "{v}");
    let (s, v) = accept(&app, &second, "a long enough passphrase").await;
    assert_eq!(s, StatusCode::OK, "{v}");
});

db_test!(
    setting_a_password_revokes_links_and_ends_sessions,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let org = app.org(&admin, "Acme Integrations", true).await;
        let partner = app.user("rep@acme.example", "end-user", Some(org)).await;
        let mut signed_in = Browser::new(&app);
        let (s, _, _) = signed_in.sign_in(&partner.email, PASSWORD).await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        assert_eq!(signed_in.get("/portal").await.0, StatusCode::OK);

        // Two links alive at once (password resets asked for at the same moment can leave them); an active
        // account gets no invitation link.
        let (s, v) = app
            .post(
                &format!("/api/v2/users/{}/invitation.json", partner.id),
                &admin,
                json!({}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        for token in ["a-first-live-link", "a-second-live-link"] {
            let digest = partnerdesk_core::credentials::token_digest(token);
            let expires = partnerdesk_db::now() + chrono::Duration::hours(1);
            app.db
                .conn()
                .execute(
                    "INSERT INTO invitations (user_id, digest, expires_at, created_at) VALUES (?, ?, ?, ?)",
                    &[
                        partner.id.into(),
                        digest.into(),
                        expires.into(),
                        partnerdesk_db::now().into(),
                    ],
                )
                .await
                .unwrap();
        }

        let (s, v) = accept(&app, "a-first-live-link", "a brand new passphrase").await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (s, v) = accept(&app, "a-second-live-link", "the attacker's passphrase").await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(refusal(&v).contains("password is already set"), "{v}");
        // The session from before the password change is over.
        let (s, location, _) = signed_in.get("/portal").await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        assert!(location.starts_with("/signin"), "{location}");
        let mut again = Browser::new(&app);
        assert_eq!(
            again.sign_in(&partner.email, "a brand new passphrase").await.0,
            StatusCode::SEE_OTHER
        );
    }
);
