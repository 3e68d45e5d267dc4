//! What the CRM keeps in step, edited on the pages: an organization's external id on its admin page, and a user's
//! external id and user field values on the user's admin page (`/admin/users/{id}`). Saved through the services the
//! API uses (so refused the same way, 422 with the page as typed), for those the services let change the record.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::admin_field_pages::{api_create, signed_in, text};
use crate::db_test;
use crate::helpers::{Creds, TestApp};
use crate::pages::Browser;

async fn post_pairs(b: &mut Browser, path: &str, pairs: &[(&str, String)]) -> (StatusCode, String, String) {
    let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    b.post(path, &refs).await
}

async fn api_org(app: &TestApp, admin: &Creds, id: i64) -> Value {
    let (s, v) = app.get(&format!("/api/v2/organizations/{id}.json"), admin).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["organization"].clone()
}

async fn api_user(app: &TestApp, admin: &Creds, id: i64) -> Value {
    let (s, v) = app.get(&format!("/api/v2/users/{id}.json"), admin).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["user"].clone()
}

db_test!(the_organization_page_edits_its_external_id, |app: TestApp| async move {
    let admin = app.admin().await;
    let acme = app.org(&admin, "Acme", true).await;
    let (s, v) = app
        .post(
            "/api/v2/organizations.json",
            &admin,
            json!({"organization": {"name": "Globex", "external_id": "CRM-2"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    api_create(
        &app,
        &admin,
        "/api/v2/organization_fields.json",
        json!({"organization_field": {"key": "seats", "type": "integer", "title": "Seats"}}),
    )
    .await;
    let mut b = signed_in(&app, &admin).await;
    let page = format!("/admin/organizations/{acme}");
    let (s, _, html) = b.get(&page).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("name=\"external_id\" value=\"\""), "{html}");
    let csrf = b.csrf(&page).await;
    let form = |name: &'static str, external_id: String| {
        vec![
            ("csrf", csrf.clone()),
            ("name", name.to_owned()),
            ("notes", "Partner since 2020".to_owned()),
            ("alliance_partner", "1".to_owned()),
            ("external_id", external_id),
        ]
    };
    let (s, location, body) = post_pairs(&mut b, &page, &form("Acme", " CRM-1 ".into())).await;
    assert_eq!((s, location.as_str()), (StatusCode::SEE_OTHER, page.as_str()), "{body}");
    let org = api_org(&app, &admin, acme).await;
    assert_eq!(
        (&org["external_id"], &org["notes"]),
        (&json!("CRM-1"), &json!("Partner since 2020"))
    );
    let (_, _, html) = b.get(&page).await;
    assert!(html.contains("name=\"external_id\" value=\"CRM-1\""), "{html}");

    // Refused: another organization's external id, one too long. The page comes back as typed; nothing changes.
    let audit_before = app.count("audit_log").await;
    for (external_id, message) in [
        ("CRM-2".to_owned(), "external_id has already been taken"),
        ("x".repeat(256), "external_id is too long"),
    ] {
        let (s, _, html) = post_pairs(&mut b, &page, &form("Acme renamed", external_id.clone())).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
        let shown = text(&html);
        assert!(shown.contains(message), "{shown}");
        assert!(
            shown.contains("name=\"name\" value=\"Acme renamed\""),
            "the name typed is kept"
        );
        assert!(
            shown.contains(&format!("name=\"external_id\" value=\"{external_id}\"")),
            "the external id typed is kept"
        );
        assert!(shown.contains("Partner since 2020</textarea>"), "{shown}");
    }
    assert_eq!(app.count("audit_log").await, audit_before, "nothing written");
    let org = api_org(&app, &admin, acme).await;
    assert_eq!((&org["name"], &org["external_id"]), (&json!("Acme"), &json!("CRM-1")));

    // Blank clears it.
    let (s, _, body) = post_pairs(&mut b, &page, &form("Acme", "  ".into())).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    assert_eq!(api_org(&app, &admin, acme).await["external_id"], json!(null));

    // A refused field value shows the fields' form again as typed, with the service's message.
    let fields = format!("{page}/fields");
    let (s, _, html) = b
        .post(&fields, &[("csrf", &csrf), ("shown", "seats"), ("field.seats", "many")])
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    let shown = text(&html);
    assert!(shown.contains("organization_fields.seats"), "{shown}");
    assert!(shown.contains("name=\"field.seats\" value=\"many\""), "{shown}");
    let (s, _, _) = b
        .post(&fields, &[("csrf", &csrf), ("shown", "seats"), ("field.seats", "12")])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(
        api_org(&app, &admin, acme).await["organization_fields"]["seats"],
        json!("12")
    );
});

db_test!(
    a_users_page_edits_external_id_and_user_fields,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let acme = app.org(&admin, "Acme", true).await;
        let globex = app.org(&admin, "Globex", true).await;
        let pat = app.user("pat@acme.example", "end-user", Some(acme)).await;
        let gil = app.user("gil@globex.example", "end-user", Some(globex)).await;
        let (s, v) = app
            .put(
                &format!("/api/v2/users/{}.json", gil.id),
                &admin,
                json!({"user": {"external_id": "P-9"}}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        for body in [
            json!({"key": "partner_role", "type": "text", "title": "Partner role"}),
            json!({"key": "tier", "type": "dropdown", "title": "Tier",
            "custom_field_options": [{"name": "Gold", "value": "gold"}, {"name": "Silver", "value": "silver"}]}),
            json!({"key": "certified", "type": "checkbox", "title": "Certified"}),
            json!({"key": "since", "type": "date", "title": "Partner since"}),
        ] {
            api_create(&app, &admin, "/api/v2/user_fields.json", json!({ "user_field": body })).await;
        }
        let mut b = signed_in(&app, &admin).await;
        let page = format!("/admin/users/{}", pat.id);
        for list in ["/admin/users".to_owned(), format!("/admin/organizations/{acme}")] {
            let (_, _, html) = b.get(&list).await;
            assert!(
                html.contains(&format!("<a href=\"{page}\">pat</a>")),
                "{list} links the user: {html}"
            );
        }
        let (s, _, html) = b.get(&page).await;
        assert_eq!(s, StatusCode::OK, "{html}");
        for input in [
            "name=\"external_id\"",
            "name=\"field.partner_role\"",
            "name=\"field.tier\"",
            "name=\"field.certified\"",
            "type=\"date\" id=\"field-since\"",
        ] {
            assert!(html.contains(input), "{input}: {html}");
        }
        let csrf = b.csrf(&page).await;

        let (s, location, body) = b
            .post(
                &page,
                &[
                    ("csrf", &csrf),
                    ("external_id", "P-1"),
                    ("shown", "partner_role"),
                    ("shown", "tier"),
                    ("shown", "certified"),
                    ("shown", "since"),
                    ("field.partner_role", "Architect"),
                    ("field.tier", "gold"),
                    ("field.certified", "true"),
                    ("field.since", "2021-05-01"),
                ],
            )
            .await;
        assert_eq!(
            (s, location.as_str()),
            (StatusCode::SEE_OTHER, format!("{page}?saved=1").as_str()),
            "{body}"
        );
        let u = api_user(&app, &admin, pat.id).await;
        assert_eq!(u["external_id"], json!("P-1"), "{u}");
        assert_eq!(
            u["user_fields"],
            json!({"partner_role": "Architect", "tier": "gold", "certified": true, "since": "2021-05-01"}),
            "{u}"
        );
        let (_, _, html) = b.get(&location).await;
        let shown = text(&html);
        assert!(shown.contains("Saved."), "{shown}");
        assert!(
            shown.contains("<option value=\"gold\" selected>Gold</option>"),
            "{shown}"
        );
        assert!(
            shown.contains("name=\"field.certified\" value=\"true\" checked"),
            "{shown}"
        );

        // Refused: a bad date, another user's external id. The page comes back as typed (422); nothing changes.
        let audit_before = app.count("audit_log").await;
        for (external_id, since, message) in [
            ("P-2", "next spring", "user_fields.since"),
            ("P-9", "2022-01-01", "external_id has already been taken"),
        ] {
            let (s, _, html) = b
                .post(
                    &page,
                    &[
                        ("csrf", &csrf),
                        ("external_id", external_id),
                        ("shown", "partner_role"),
                        ("shown", "tier"),
                        ("shown", "certified"),
                        ("shown", "since"),
                        ("field.partner_role", "Changed"),
                        ("field.tier", "silver"),
                        ("field.since", since),
                    ],
                )
                .await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
            let shown = text(&html);
            assert!(shown.contains(message), "{message}: {shown}");
            assert!(
                shown.contains(&format!("name=\"external_id\" value=\"{external_id}\"")),
                "{shown}"
            );
            assert!(
                shown.contains("name=\"field.partner_role\" value=\"Changed\""),
                "{shown}"
            );
            assert!(
                shown.contains(&format!("name=\"field.since\" value=\"{since}\"")),
                "{shown}"
            );
            assert!(
                shown.contains("<option value=\"silver\" selected>Silver</option>"),
                "{shown}"
            );
            assert!(
                !shown.contains("value=\"true\" checked"),
                "unticked stays unticked: {shown}"
            );
        }
        assert_eq!(app.count("audit_log").await, audit_before, "nothing written");
        assert_eq!(api_user(&app, &admin, pat.id).await["external_id"], json!("P-1"));

        // Blank and unticked clear (an unticked box holds no value, as the service stores `false`).
        let (s, _, body) = b
            .post(
                &page,
                &[
                    ("csrf", &csrf),
                    ("external_id", ""),
                    ("shown", "partner_role"),
                    ("shown", "tier"),
                    ("shown", "certified"),
                    ("shown", "since"),
                    ("field.partner_role", ""),
                    ("field.tier", ""),
                ],
            )
            .await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
        let u = api_user(&app, &admin, pat.id).await;
        assert_eq!(u["external_id"], json!(null), "{u}");
        assert_eq!(
            u["user_fields"],
            json!({"partner_role": null, "tier": null, "certified": null, "since": null}),
            "{u}"
        );
    }
);

db_test!(
    only_those_who_may_change_a_user_reach_their_page,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let acme = app.org(&admin, "Acme", true).await;
        let globex = app.org(&admin, "Globex", true).await;
        let pat = app.user("pat@acme.example", "end-user", Some(acme)).await;
        let gil = app.user("gil@globex.example", "end-user", Some(globex)).await;
        let ann = app.user("ann@vendor.example", "agent", None).await;
        let am = app.user_with("am@vendor.example", "agent", None, true).await;
        let (s, v) = app
            .put(
                &format!("/api/v2/organizations/{acme}.json"),
                &admin,
                json!({"organization": {"account_manager_id": am.id}}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let before = app.count("audit_log").await;

        // The account manager of Acme: Acme's end-users, no one else.
        let mut b = signed_in(&app, &am).await;
        let (s, _, html) = b.get(&format!("/admin/users/{}", pat.id)).await;
        assert_eq!(s, StatusCode::OK, "{html}");
        let csrf = b.csrf(&format!("/admin/users/{}", pat.id)).await;
        for id in [gil.id, ann.id] {
            let page = format!("/admin/users/{id}");
            assert_eq!(b.get(&page).await.0, StatusCode::FORBIDDEN, "{page}");
            let (s, _, _) = b.post(&page, &[("csrf", &csrf), ("external_id", "X-1")]).await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{page}");
        }
        let (s, _, body) = b
            .post(
                &format!("/admin/users/{}", pat.id),
                &[("csrf", &csrf), ("external_id", "AM-1")],
            )
            .await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
        assert_eq!(api_user(&app, &admin, pat.id).await["external_id"], json!("AM-1"));
        let before = before + 1;
        assert_eq!(app.count("audit_log").await, before);

        // An agent and an end-user: nobody's page.
        for who in [&ann, &pat] {
            let mut b = signed_in(&app, who).await;
            let home = if who.email == ann.email { "/agent" } else { "/portal" };
            let csrf = b.csrf(home).await;
            let page = format!("/admin/users/{}", pat.id);
            assert_eq!(b.get(&page).await.0, StatusCode::FORBIDDEN, "{}", who.email);
            let (s, _, _) = b.post(&page, &[("csrf", &csrf), ("external_id", "X-2")]).await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{}", who.email);
        }
        // An end-user cannot tell which ids exist: a missing one is refused the same way.
        let mut b = signed_in(&app, &pat).await;
        assert_eq!(b.get("/admin/users/999999").await.0, StatusCode::FORBIDDEN);
        // An admin without the form's token: refused.
        let mut b = signed_in(&app, &admin).await;
        let (s, _, _) = b
            .post(&format!("/admin/users/{}", pat.id), &[("external_id", "X-3")])
            .await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        assert_eq!(b.get("/admin/users/999999").await.0, StatusCode::NOT_FOUND);
        assert_eq!(app.count("audit_log").await, before, "nothing written");
        assert_eq!(api_user(&app, &admin, pat.id).await["external_id"], json!("AM-1"));
    }
);
