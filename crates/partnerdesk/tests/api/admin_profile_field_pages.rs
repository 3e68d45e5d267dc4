//! The admin pages for organization and user fields (`/admin/organization_fields`, `/admin/user_fields`), driven
//! over HTTP as a browser without JavaScript drives them: a field defined with its key, edited, refused with what
//! was typed kept (422), deactivated and deleted; the two kinds stay apart; only admins, and only with the form's
//! token.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::admin_field_pages::{signed_in, text};
use crate::db_test;
use crate::helpers::{Creds, TestApp};
use crate::pages::Browser;

async fn api_field(app: &TestApp, admin: &Creds, kind: &str, id: i64) -> Value {
    let (s, v) = app.get(&format!("/api/v2/{kind}_fields/{id}.json"), admin).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v[format!("{kind}_field")].clone()
}

/// The id a create redirected to (`/admin/KIND_fields/ID?saved=created`).
fn created_id(kind: &str, location: &str) -> i64 {
    location
        .strip_prefix(&format!("/admin/{kind}_fields/"))
        .and_then(|r| r.strip_suffix("?saved=created"))
        .and_then(|i| i.parse().ok())
        .unwrap_or_else(|| panic!("{location}"))
}

/// Defines, edits, refuses, deactivates and deletes a field of `kind` (`organization` or `user`) on its pages.
async fn define_on_the_pages(app: &TestApp, admin: &Creds, b: &mut Browser, kind: &str) {
    let list = format!("/admin/{kind}_fields");
    let (s, _, html) = b.get(&list).await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(html.contains("name=\"key\""), "{html}");
    assert!(
        !html.contains("name=\"required_in_portal\""),
        "ticket fields' settings are not offered"
    );
    for link in ["/admin/organization_fields", "/admin/user_fields"] {
        assert!(html.contains(&format!("href=\"{link}\"")), "{link} linked: {html}");
    }
    let csrf = b.csrf(&list).await;

    // A drop-down end-users see.
    let (s, location, body) = b
        .post(
            &list,
            &[
                ("csrf", &csrf),
                ("type", "tagger"),
                ("key", " support_level "),
                ("title", "Support level"),
                ("description", "From the CRM"),
                ("visible_to_end_users", "1"),
                ("active", "1"),
                ("position", "2"),
                ("options", "Gold=gold\r\nSilver = silver\r\n"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let id = created_id(kind, &location);
    let f = api_field(app, admin, kind, id).await;
    assert_eq!(
        (
            &f["key"],
            &f["type"],
            &f["title"],
            &f["visible_to_end_users"],
            &f["position"]
        ),
        (
            &json!("support_level"),
            &json!("dropdown"),
            &json!("Support level"),
            &json!(true),
            &json!(2)
        ),
        "{f}"
    );
    let gold = f["custom_field_options"][0]["id"].clone();
    let (s, _, html) = b.get(&location).await;
    assert_eq!(s, StatusCode::OK);
    let shown = text(&html);
    assert!(shown.contains("Field created"), "{shown}");
    assert!(shown.contains("key <code>support_level</code>"), "{shown}");
    assert!(shown.contains("Gold=gold\nSilver=silver"), "{shown}");
    let (_, _, html) = b.get(&list).await;
    assert!(
        html.contains(&format!("<a href=\"{list}/{id}\">Support level</a>")),
        "{html}"
    );

    // Edited: retitled, hidden from end-users, an option renamed (it keeps its id) and one added. A key sent with it
    // changes nothing: the key is fixed.
    let page = format!("{list}/{id}");
    let (s, location, body) = b
        .post(
            &page,
            &[
                ("csrf", &csrf),
                ("key", "other_key"),
                ("title", "Support tier"),
                ("active", "1"),
                ("position", "1"),
                ("options", "Gold tier=gold\nSilver=silver\nBronze=bronze"),
            ],
        )
        .await;
    assert_eq!(
        (s, location.as_str()),
        (StatusCode::SEE_OTHER, format!("{page}?saved=1").as_str()),
        "{body}"
    );
    let f = api_field(app, admin, kind, id).await;
    assert_eq!(
        (&f["key"], &f["title"], &f["visible_to_end_users"], &f["description"]),
        (
            &json!("support_level"),
            &json!("Support tier"),
            &json!(false),
            &json!("")
        ),
        "{f}"
    );
    assert_eq!(f["custom_field_options"][0]["id"], gold, "the option keeps its id");
    assert_eq!(f["custom_field_options"][2]["value"], json!("bronze"), "{f}");

    // Refusals: the page again (422) with the service's messages and what was typed.
    let before = app.count("profile_fields").await;
    for (pairs, message) in [
        (
            vec![("type", "text"), ("key", "Bad Key"), ("title", "Partner track")],
            "key must be 1 to 64 lower-case letters, digits or _",
        ),
        (
            vec![("type", "text"), ("key", ""), ("title", "Partner track")],
            "key cannot be blank",
        ),
        (
            vec![
                ("type", "regexp"),
                ("key", "crm_id"),
                ("title", "CRM id"),
                ("regexp_for_validation", "([A-Z]"),
            ],
            "regexp_for_validation is not a valid pattern",
        ),
        (
            vec![("type", "multiselect"), ("key", "platforms"), ("title", "Platforms")],
            "a drop-down or multi-select field needs options",
        ),
        (
            vec![
                ("type", "tagger"),
                ("key", "tier"),
                ("title", "Tier"),
                ("options", "A=a\nB=b\nAlso a=A"),
            ],
            "Options, line 3: the option value 'a' is given twice",
        ),
        (
            vec![("type", "text"), ("key", "support_level"), ("title", "Taken")],
            "key has already been taken",
        ),
    ] {
        let mut form = vec![("csrf", csrf.as_str()), ("description", "Typed <here>")];
        form.extend(pairs.iter().copied());
        let (s, _, html) = b.post(&list, &form).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{pairs:?}: {html}");
        let shown = text(&html);
        assert!(shown.contains(message), "{pairs:?}: {shown}");
        let (_, key) = pairs.iter().find(|(k, _)| *k == "key").unwrap();
        assert!(
            shown.contains(&format!("name=\"key\" value=\"{key}\"")),
            "the key is kept: {shown}"
        );
        assert!(shown.contains("value=\"Typed <here>\""), "the description is kept");
        let (_, kind_sent) = pairs[0];
        assert!(
            shown.contains(&format!("<option value=\"{kind_sent}\" selected>")),
            "the type is kept"
        );
    }
    let (s, _, html) = b
        .post(
            &page,
            &[
                ("csrf", &csrf),
                ("title", " "),
                ("position", "3"),
                ("options", "Gold=gold"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    let shown = text(&html);
    assert!(shown.contains("title cannot be blank"), "{shown}");
    assert!(shown.contains("name=\"position\" value=\"3\""), "{shown}");
    assert_eq!(app.count("profile_fields").await, before, "nothing written");
    assert_eq!(api_field(app, admin, kind, id).await["title"], json!("Support tier"));

    // Deactivated, then deleted once the deletion is confirmed.
    let (s, location, _) = b
        .post(&format!("{page}/active"), &[("csrf", &csrf), ("active", "false")])
        .await;
    assert_eq!(
        (s, location.as_str()),
        (StatusCode::SEE_OTHER, format!("{page}?saved=deactivated").as_str())
    );
    assert_eq!(api_field(app, admin, kind, id).await["active"], json!(false));
    let (_, _, html) = b.get(&location).await;
    assert!(html.contains("Activate field"), "{html}");
    let (s, _, html) = b.post(&format!("{page}/delete"), &[("csrf", &csrf)]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Tick the box to confirm"), "{html}");
    assert_eq!(api_field(app, admin, kind, id).await["id"], json!(id));
    let (s, location, _) = b
        .post(&format!("{page}/delete"), &[("csrf", &csrf), ("confirm", "1")])
        .await;
    assert_eq!(
        (s, location.as_str()),
        (StatusCode::SEE_OTHER, format!("{list}?deleted={id}").as_str())
    );
    assert_eq!(
        app.get(&format!("/api/v2/{kind}_fields/{id}.json"), admin).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(b.get(&page).await.0, StatusCode::NOT_FOUND);
}

db_test!(
    admins_define_organization_and_user_fields_on_the_pages,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let mut b = signed_in(&app, &admin).await;
        let (_, _, html) = b.get("/agent").await;
        for link in ["/admin/organization_fields", "/admin/user_fields"] {
            assert!(
                html.contains(&format!("href=\"{link}\"")),
                "the navigation links {link}"
            );
        }
        define_on_the_pages(&app, &admin, &mut b, "organization").await;
        define_on_the_pages(&app, &admin, &mut b, "user").await;

        // The kinds stay apart: an organization field is not a user field's page, and its key is free for users.
        let org_field = crate::admin_field_pages::api_create(
            &app,
            &admin,
            "/api/v2/organization_fields.json",
            json!({"organization_field": {"key": "seats", "type": "integer", "title": "Seats"}}),
        )
        .await;
        assert_eq!(
            b.get(&format!("/admin/organization_fields/{org_field}")).await.0,
            StatusCode::OK
        );
        assert_eq!(
            b.get(&format!("/admin/user_fields/{org_field}")).await.0,
            StatusCode::NOT_FOUND
        );
        let (_, _, html) = b.get("/admin/user_fields").await;
        assert!(!html.contains("Seats"), "{html}");
        let csrf = b.csrf("/admin/user_fields").await;
        let (s, location, body) = b
            .post(
                "/admin/user_fields",
                &[
                    ("csrf", &csrf),
                    ("type", "integer"),
                    ("key", "seats"),
                    ("title", "Seats"),
                ],
            )
            .await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
        let user_field = created_id("user", &location);
        assert_eq!(
            api_field(&app, &admin, "user", user_field).await["type"],
            json!("integer")
        );
    }
);

db_test!(
    only_admins_reach_the_organization_and_user_field_pages,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let org = app.org(&admin, "Acme Integrations", true).await;
        let pat = app.user("pat@acme.example", "end-user", Some(org)).await;
        let agent = app.user("ann@vendor.example", "agent", None).await;
        let mut fields = Vec::new();
        for kind in ["organization", "user"] {
            let id = crate::admin_field_pages::api_create(
                &app,
                &admin,
                &format!("/api/v2/{kind}_fields.json"),
                json!({ format!("{kind}_field"): {"key": "track", "type": "text", "title": "Track"} }),
            )
            .await;
            fields.push((kind, id));
        }
        let before = (app.count("profile_fields").await, app.count("audit_log").await);
        for who in [&agent, &pat] {
            let mut b = signed_in(&app, who).await;
            let home = if who.email == agent.email { "/agent" } else { "/portal" };
            let (_, _, html) = b.get(home).await;
            assert!(!html.contains("/admin/user_fields"), "no link for {}", who.email);
            let csrf = b.csrf(home).await;
            for (kind, id) in &fields {
                let list = format!("/admin/{kind}_fields");
                let page = format!("{list}/{id}");
                for path in [&list, &page] {
                    let (s, _, body) = b.get(path).await;
                    assert_eq!(s, StatusCode::FORBIDDEN, "{} {path}: {body}", who.email);
                }
                for (path, form) in [
                    (
                        list.clone(),
                        vec![
                            ("csrf", csrf.as_str()),
                            ("type", "text"),
                            ("key", "sneaky"),
                            ("title", "Sneaky"),
                        ],
                    ),
                    (page.clone(), vec![("csrf", csrf.as_str()), ("title", "Sneaky")]),
                    (
                        format!("{page}/active"),
                        vec![("csrf", csrf.as_str()), ("active", "false")],
                    ),
                    (
                        format!("{page}/delete"),
                        vec![("csrf", csrf.as_str()), ("confirm", "1")],
                    ),
                ] {
                    let (s, _, body) = b.post(&path, &form).await;
                    assert_eq!(s, StatusCode::FORBIDDEN, "{} {path}: {body}", who.email);
                }
            }
        }
        // An admin's change without the form's token is refused too.
        let mut b = signed_in(&app, &admin).await;
        for (kind, id) in &fields {
            let (s, _, _) = b
                .post(
                    &format!("/admin/{kind}_fields"),
                    &[("type", "text"), ("key", "no_token"), ("title", "No token")],
                )
                .await;
            assert_eq!(s, StatusCode::FORBIDDEN);
            let (s, _, _) = b
                .post(&format!("/admin/{kind}_fields/{id}/delete"), &[("confirm", "1")])
                .await;
            assert_eq!(s, StatusCode::FORBIDDEN);
        }
        assert_eq!(
            (app.count("profile_fields").await, app.count("audit_log").await),
            before,
            "nothing written"
        );
    }
);
