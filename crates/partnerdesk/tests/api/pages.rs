//! The web pages over plain HTTP: CSRF, session fixation, sign-in rate limiting, and that end-users never get
//! internal notes or organization notes in any page.

use std::collections::HashMap;

use reqwest::StatusCode;
use reqwest::redirect::Policy;
use serde_json::json;

use crate::db_test;
use crate::helpers::{Creds, TestApp};

pub const PASSWORD: &str = "correct horse battery staple";

/// A cookie-keeping client that does not follow redirects, so that each answer can be inspected.
pub struct Browser {
    base: String,
    client: reqwest::Client,
    cookies: HashMap<String, String>,
    set_cookie_lines: Vec<String>,
    /// The headers of the last answer.
    pub last_headers: reqwest::header::HeaderMap,
}

impl Browser {
    pub fn new(app: &TestApp) -> Browser {
        let client = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
        Browser {
            base: app.base.clone(),
            client,
            cookies: HashMap::new(),
            set_cookie_lines: Vec::new(),
            last_headers: Default::default(),
        }
    }

    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn keep(&mut self, resp: reqwest::Response) -> (StatusCode, String, String) {
        for v in resp.headers().get_all("set-cookie") {
            let line = v.to_str().unwrap().to_owned();
            let (pair, _) = line.split_once(';').unwrap_or((&line, ""));
            let (k, val) = pair.split_once('=').unwrap();
            if line.contains("Max-Age=0") || val.is_empty() {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), val.to_owned());
            }
            self.set_cookie_lines.push(line);
        }
        self.last_headers = resp.headers().clone();
        let status = resp.status();
        let location = resp
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, location, resp.text().await.unwrap())
    }

    pub async fn get(&mut self, path: &str) -> (StatusCode, String, String) {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.keep(resp).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> (StatusCode, String, String) {
        let resp = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.keep(resp).await
    }

    /// Posts a form as browsers post forms with files (`multipart/form-data`).
    pub async fn post_multipart(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        file: Option<(&str, Vec<u8>)>,
    ) -> (StatusCode, String, String) {
        let mut form = reqwest::multipart::Form::new();
        for (k, v) in fields {
            form = form.text(k.to_string(), v.to_string());
        }
        if let Some((name, bytes)) = file {
            form = form.part(
                "files",
                reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()),
            );
        }
        let resp = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .multipart(form)
            .send()
            .await
            .unwrap();
        self.keep(resp).await
    }

    /// The CSRF token of the first form on a page.
    pub async fn csrf(&mut self, path: &str) -> String {
        let (_, _, html) = self.get(path).await;
        let start = html.find("name=\"csrf\" value=\"").expect("csrf field") + "name=\"csrf\" value=\"".len();
        html[start..start + 64].to_owned()
    }

    pub async fn sign_in(&mut self, email: &str, password: &str) -> (StatusCode, String, String) {
        let csrf = self.csrf("/signin").await;
        self.post("/signin", &[("csrf", &csrf), ("email", email), ("password", password)])
            .await
    }
}

pub async fn partner_world(app: &TestApp) -> (Creds, Creds, i64) {
    let admin = app.admin().await;
    let org = app.org(&admin, "Pages Corp", true).await;
    let partner = app.user("pat@pages.example", "end-user", Some(org)).await;
    (admin, partner, org)
}

db_test!(csrf_is_required_on_every_form, |app: TestApp| async move {
    let (_, partner, _) = partner_world(&app).await;
    let mut b = Browser::new(&app);
    // Sign-in without the double-submit cookie/token pair is refused.
    let (s, _, _) = b
        .post("/signin", &[("email", &partner.email), ("password", PASSWORD)])
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, loc, _) = b.sign_in(&partner.email, PASSWORD).await;
    assert_eq!((s, loc.as_str()), (StatusCode::SEE_OTHER, "/portal"));
    let before = app.count("tickets").await;
    let files_before = app.count("attachments").await;
    let form = [("subject", "x"), ("description", "y"), ("priority", "normal")];
    let (s, _, body) = b
        .post_multipart("/portal/tickets", &form, Some(("a.txt", b"hello".to_vec())))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    let mut with_bad = vec![(
        "csrf",
        "0000000000000000000000000000000000000000000000000000000000000000",
    )];
    with_bad.extend_from_slice(&form);
    assert_eq!(
        b.post_multipart("/portal/tickets", &with_bad, Some(("a.txt", b"hello".to_vec())))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.count("tickets").await,
        before,
        "nothing written without a valid token"
    );
    assert_eq!(
        app.count("attachments").await,
        files_before,
        "no file stored without a valid token"
    );
    let csrf = b.csrf("/portal/tickets/new").await;
    let mut good = vec![("csrf", csrf.as_str())];
    good.extend_from_slice(&form);
    let (s, loc, _) = b
        .post_multipart(
            "/portal/tickets",
            &good,
            Some(("notes.txt", b"attached from the page".to_vec())),
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(loc.starts_with("/portal/tickets/"));
    let (_, _, html) = b.get(&loc).await;
    assert!(
        html.contains("notes.txt"),
        "the attachment is listed on the ticket page"
    );
    assert_eq!(app.count("attachments").await, files_before + 1);
    // Sign-out is a form too.
    assert_eq!(b.post("/signout", &[]).await.0, StatusCode::FORBIDDEN);
    assert_eq!(b.post("/signout", &[("csrf", &csrf)]).await.0, StatusCode::SEE_OTHER);
    let (s, loc, _) = b.get("/portal").await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(loc.starts_with("/signin"));
});

db_test!(sign_in_starts_a_new_session, |app: TestApp| async move {
    let (_, partner, _) = partner_world(&app).await;
    let mut b = Browser::new(&app);
    // A session id planted before sign-in is not adopted.
    b.cookies.insert("pd_session".into(), "planted-by-an-attacker".into());
    b.sign_in(&partner.email, PASSWORD).await;
    let first = b.cookies.get("pd_session").cloned().unwrap();
    assert_ne!(first, "planted-by-an-attacker");
    assert_eq!(first.len(), 64);
    let line = b
        .set_cookie_lines
        .iter()
        .find(|l| l.starts_with("pd_session="))
        .unwrap();
    assert!(
        line.contains("HttpOnly") && line.contains("SameSite=Lax") && line.contains("Path=/"),
        "{line}"
    );
    assert_eq!(b.get("/portal").await.0, StatusCode::OK);
    // Signing in again while presenting the old session replaces it; the old id stops working.
    b.cookies.remove("pd_session");
    let csrf = b.csrf("/signin").await;
    b.cookies.insert("pd_session".into(), first.clone());
    let (s, _, _) = b
        .post(
            "/signin",
            &[("csrf", &csrf), ("email", &partner.email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let second = b.cookies.get("pd_session").cloned().unwrap();
    assert_ne!(first, second);
    let mut old = Browser::new(&app);
    old.cookies.insert("pd_session".into(), first);
    assert_eq!(old.get("/portal").await.0, StatusCode::SEE_OTHER);
    // The session table keeps digests, not the cookie values.
    let n = app
        .db
        .conn()
        .fetch_one(
            "SELECT COUNT(*) AS n FROM sessions WHERE digest = ?",
            &partnerdesk_db::args![second.as_str()],
        )
        .await
        .unwrap()
        .i64("n")
        .unwrap();
    assert_eq!(n, 0);
});

db_test!(sign_in_is_rate_limited, |app: TestApp| async move {
    let (_, partner, _) = partner_world(&app).await;
    let mut b = Browser::new(&app);
    for _ in 0..10 {
        let (s, _, body) = b.sign_in(&partner.email, "wrong password").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert!(body.contains("do not match"));
    }
    let (s, _, body) = b.sign_in(&partner.email, PASSWORD).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{body}");
    let wait: u64 = b.last_headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(wait >= 1, "Retry-After {wait}");
    assert!(!b.cookies.contains_key("pd_session"));
});

db_test!(end_users_never_see_internal_or_org_notes, |app: TestApp| async move {
    let (admin, partner, org) = partner_world(&app).await;
    let agent = app.user("agent@vendor.test", "agent", None).await;
    app.put(
        &format!("/api/v2/organizations/{org}"),
        &admin,
        json!({"organization": {"notes": "SECRET-ORG-NOTE", "details": "SECRET-ORG-DETAIL"}}),
    )
    .await;
    let (_, v) = app
        .post(
            "/api/v2/requests",
            &partner,
            json!({"request": {"subject": "Help", "comment": {"body": "Public question"}}}),
        )
        .await;
    let id = v["request"]["id"].as_i64().unwrap();
    app.put(
        &format!("/api/v2/tickets/{id}"),
        &agent,
        json!({"ticket": {"comment": {"body": "SECRET-INTERNAL-NOTE", "public": false}}}),
    )
    .await;

    let mut b = Browser::new(&app);
    b.sign_in(&partner.email, PASSWORD).await;
    for path in [
        "/portal".to_owned(),
        format!("/portal/tickets/{id}"),
        "/portal/tickets/new".to_owned(),
    ] {
        let (s, _, html) = b.get(&path).await;
        assert_eq!(s, StatusCode::OK, "{path}");
        for secret in ["SECRET-ORG-NOTE", "SECRET-ORG-DETAIL", "SECRET-INTERNAL-NOTE"] {
            assert!(!html.contains(secret), "{path} leaks {secret}");
        }
    }
    // Agent and admin pages are closed to partners; the agent page shows everything to staff.
    for path in [
        format!("/agent/tickets/{id}"),
        "/agent".to_owned(),
        format!("/admin/organizations/{org}"),
        "/admin/users".to_owned(),
    ] {
        let (s, _, html) = b.get(&path).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}");
        assert!(!html.contains("SECRET"), "{path}");
    }
    // And through the API, for completeness.
    let (_, v) = app.get(&format!("/api/v2/tickets/{id}/comments"), &partner).await;
    assert!(!v.to_string().contains("SECRET"));
    let (_, v) = app.get(&format!("/api/v2/organizations/{org}"), &partner).await;
    assert!(!v.to_string().contains("SECRET"));

    let mut staff = Browser::new(&app);
    staff.sign_in(&agent.email, PASSWORD).await;
    let (s, _, html) = staff.get(&format!("/agent/tickets/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("SECRET-ORG-NOTE") && html.contains("SECRET-INTERNAL-NOTE"));
    // Templates escape what partners write.
    let (_, v) = app.post("/api/v2/requests", &partner, json!({"request": {"subject": "<script>alert(1)</script>", "comment": {"body": "<img src=x onerror=alert(2)>"}}})).await;
    let xss = v["request"]["id"].as_i64().unwrap();
    let (_, _, html) = staff.get(&format!("/agent/tickets/{xss}")).await;
    assert!(
        !html.contains("<script>alert(1)") && !html.contains("<img src=x"),
        "unescaped input in page"
    );
    assert!(
        html.contains("script&#62;alert(1)") || html.contains("script&gt;alert(1)"),
        "escaped subject shown"
    );
});

db_test!(
    tus_header_exempts_only_tus_routes_from_csrf,
    |app: TestApp| async move {
        let (_, partner, _) = partner_world(&app).await;
        let mut b = Browser::new(&app);
        b.sign_in(&partner.email, PASSWORD).await;
        let csrf = b.csrf("/portal/tickets/new").await;
        let post = |path: &str, csrf: Option<&str>| {
            let mut rb = b
                .client
                .post(format!("{}{path}", b.base))
                .header("cookie", b.cookie_header())
                .header("tus-resumable", "1.0.0")
                .header("content-type", "application/json")
                .body("{}");
            if let Some(t) = csrf {
                rb = rb.header("x-csrf-token", t.to_owned());
            }
            rb.send()
        };
        // Without its CSRF token a browser session may not write through the API, Tus-Resumable or not.
        let resp = post("/api/v2/escalations.json", None).await.unwrap();
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
        let body = resp.text().await.unwrap();
        assert!(body.contains("X-CSRF-Token"), "{body}");
        // With the token the request gets past the check (and is then judged on its body).
        let resp = post("/api/v2/escalations.json", Some(&csrf)).await.unwrap();
        assert_ne!(resp.status(), StatusCode::FORBIDDEN);
        // The tus routes keep their exemption: the upload is refused for its missing Upload-Length, not for CSRF.
        let resp = post("/api/v2/large_uploads", None).await.unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    }
);

db_test!(
    reactivation_through_the_api_does_not_revive_old_sessions,
    |app: TestApp| async move {
        let (admin, partner, _) = partner_world(&app).await;
        let mut b = Browser::new(&app);
        b.sign_in(&partner.email, PASSWORD).await;
        assert_eq!(b.get("/portal").await.0, StatusCode::OK);
        let path = format!("/api/v2/users/{}", partner.id);
        for suspended in [true, false] {
            let (s, _) = app.put(&path, &admin, json!({"user": {"suspended": suspended}})).await;
            assert_eq!(s, StatusCode::OK);
        }
        let (s, loc, _) = b.get("/portal").await;
        assert_eq!(
            (s, loc.starts_with("/signin")),
            (StatusCode::SEE_OTHER, true),
            "the old session still works"
        );
        b.sign_in(&partner.email, PASSWORD).await;
        assert_eq!(b.get("/portal").await.0, StatusCode::OK);
    }
);

db_test!(suspended_user_loses_session_at_once, |app: TestApp| async move {
    let (admin, partner, _) = partner_world(&app).await;
    let mut b = Browser::new(&app);
    b.sign_in(&partner.email, PASSWORD).await;
    assert_eq!(b.get("/portal").await.0, StatusCode::OK);
    app.put(
        &format!("/api/v2/users/{}", partner.id),
        &admin,
        json!({"user": {"suspended": true}}),
    )
    .await;
    let (s, loc, _) = b.get("/portal").await;
    assert_eq!((s, loc.starts_with("/signin")), (StatusCode::SEE_OTHER, true));
    let (s, _, body) = b.sign_in(&partner.email, PASSWORD).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(body.contains("suspended"));
});

db_test!(
    every_answer_forbids_framing_and_foreign_content,
    |app: TestApp| async move {
        for path in [
            "/signin",
            "/portal",
            "/static/partnerdesk.css",
            "/api/v2/users/me.json",
            "/no/such/page",
        ] {
            let r = app.client.get(format!("{}{path}", app.base)).send().await.unwrap();
            let h = r.headers();
            let csp = h["content-security-policy"].to_str().unwrap();
            for directive in [
                "default-src 'self'",
                "script-src 'self'",
                "style-src 'self'",
                "frame-ancestors 'none'",
                "object-src 'none'",
            ] {
                assert!(csp.contains(directive), "{path}: {csp}");
            }
            assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
            assert_eq!(h["x-frame-options"], "DENY", "{path}");
            assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        }
        // The pages hold nothing the policy refuses: no inline styles, scripts or javascript: links.
        let page = app
            .client
            .get(format!("{}/signin", app.base))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        for inline in ["style=\"", "<style", "javascript:", " onclick=", " onsubmit="] {
            assert!(!page.contains(inline), "{inline} in the sign-in page");
        }
    }
);
