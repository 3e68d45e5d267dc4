//! Control characters (NUL above all, which PostgreSQL cannot store) are refused where input comes in, with the
//! field named, on both databases alike; and JSON must end where its value ends.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::TestApp;
use crate::pages::{Browser, PASSWORD};

fn field_named(v: &Value, field: &str) -> bool {
    v["details"][field][0]["description"]
        .as_str()
        .is_some_and(|d| d.contains("control character"))
}

db_test!(
    control_characters_are_refused_naming_the_field,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let tickets_before = app.count("tickets").await;
        let cases: Vec<(&str, Value, &str)> = vec![
            (
                "/api/v2/tickets.json",
                json!({"ticket": {"subject": "a\u{0}b", "comment": {"body": "x"}}}),
                "subject",
            ),
            (
                "/api/v2/tickets.json",
                json!({"ticket": {"subject": "s", "comment": {"body": "x\u{0}"}}}),
                "comment.body",
            ),
            (
                "/api/v2/tickets.json",
                json!({"ticket": {"subject": "s", "comment": {"body": "b"}, "tags": ["ok", "\u{1b}[31m"]}}),
                "tags[1]",
            ),
            (
                "/api/v2/users.json",
                json!({"user": {"name": "N\u{0}", "email": "n@partner.example"}}),
                "name",
            ),
            (
                "/api/v2/organizations.json",
                json!({"organization": {"name": "Org\u{0}"}}),
                "name",
            ),
            (
                "/api/v2/organizations.json",
                json!({"organization": {"name": "Org", "notes": "x\u{7}"}}),
                "notes",
            ),
            ("/api/v2/groups.json", json!({"group": {"name": "G\u{0}"}}), "name"),
            (
                "/api/v2/escalations.json",
                json!({"escalation": {"impact": "s\u{0}", "needed": "n"}}),
                "impact",
            ),
        ];
        for (path, body, field) in cases {
            let (s, v) = app.post(path, &admin, body.clone()).await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{path} {body}: {v}");
            assert!(field_named(&v, field), "{path} {field}: {v}");
        }
        // Tabs and line breaks are text.
        let (s, v) = app
            .post(
                "/api/v2/tickets.json",
                &admin,
                json!({"ticket": {"subject": "tab\there", "comment": {"body": "line one\r\nline two"}}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert_eq!(app.count("tickets").await, tickets_before + 1);

        // In the address: a query parameter and a path segment.
        let rb = app
            .request(
                Method::POST,
                "/api/v2/uploads.json?filename=a.txt&token=%00x",
                Some(&admin),
            )
            .header("content-type", "text/plain")
            .body("hello");
        let (s, v) = app.send(rb).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(field_named(&v, "token"), "{v}");
        let (s, v) = app.get("/api/v2/escalations.json?status=%00", &admin).await;
        assert!(
            s == StatusCode::UNPROCESSABLE_ENTITY && field_named(&v, "status"),
            "{s} {v}"
        );
        let (s, v) = app
            .send(app.request(Method::DELETE, "/api/v2/uploads/ab%00cd.json", Some(&admin)))
            .await;
        assert!(
            s == StatusCode::UNPROCESSABLE_ENTITY && field_named(&v, "path"),
            "{s} {v}"
        );

        // In credentials: no account can have such an address.
        let rb = app
            .client
            .get(format!("{}/api/v2/users/me.json", app.base))
            .basic_auth("admin\u{0}@vendor.test", Some(PASSWORD));
        assert_eq!(app.send(rb).await.0, StatusCode::UNAUTHORIZED);
    }
);

db_test!(page_forms_refuse_control_characters, |app: TestApp| async move {
    let admin = app.admin().await;
    let boss = app.user("boss@vendor.test", "admin", None).await;
    let _ = admin;
    let mut b = Browser::new(&app);
    b.sign_in(&boss.email, PASSWORD).await;
    let csrf = b.csrf("/admin/organizations").await;
    let before = app.count("organizations").await;
    let (s, _, body) = b
        .post("/admin/organizations", &[("csrf", &csrf), ("name", "Bad\u{0}Name")])
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("control character"), "{body}");
    assert_eq!(app.count("organizations").await, before);
    // And in a form that carries files.
    let org = app.org(&admin, "Form Files", true).await;
    let partner = app.user("pat@files.example", "end-user", Some(org)).await;
    let mut p = Browser::new(&app);
    p.sign_in(&partner.email, PASSWORD).await;
    let csrf = p.csrf("/portal/tickets/new").await;
    let (s, _, body) = p
        .post_multipart(
            "/portal/tickets",
            &[("csrf", &csrf), ("subject", "s\u{0}"), ("description", "d")],
            None,
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
});

db_test!(json_must_end_where_its_value_ends, |app: TestApp| async move {
    let admin = app.admin().await;
    let before = app.count("tickets").await;
    let rb = app
        .request(Method::POST, "/api/v2/tickets.json", Some(&admin))
        .header("content-type", "application/json")
        .body(r#"{"ticket": {"subject": "s", "comment": {"body": "b"}}} GARBAGE"#);
    let (s, v) = app.send(rb).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("InvalidRequest")),
        "{v}"
    );
    assert_eq!(app.count("tickets").await, before);
});
