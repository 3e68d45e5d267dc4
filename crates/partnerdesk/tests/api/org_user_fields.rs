//! Organization and user fields: admins define them (`/organization_fields`, `/user_fields`), values are set by key
//! on organizations and users (create, update, create_or_update, bulk jobs), every bad value is a 422 naming
//! `organization_fields.KEY` with nothing written, staff see every active key, end-users only those marked visible.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{Creds, TestApp};

pub(crate) async fn define(app: &TestApp, admin: &Creds, kind: &str, body: Value) -> i64 {
    let (s, v) = app
        .post(
            &format!("/api/v2/{kind}_fields.json"),
            admin,
            json!({ format!("{kind}_field"): body }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v[format!("{kind}_field")]["id"].as_i64().unwrap()
}

/// The organization fields a deployment like the keeps.
async fn org_fields(app: &TestApp, admin: &Creds) {
    for body in [
        json!({"key": "support_level", "type": "dropdown", "title": "Support level",
        "visible_to_end_users": true,
        "custom_field_options": [{"name": "Gold", "value": "gold"}, {"name": "Silver", "value": "silver"}]}),
        json!({"key": "contract_end", "type": "date", "title": "Contract end"}),
        json!({"key": "seats", "type": "integer", "title": "Seats"}),
        json!({"key": "discount", "type": "decimal", "title": "Discount"}),
        json!({"key": "managed", "type": "checkbox", "title": "Managed"}),
        json!({"key": "track", "type": "text", "title": "Partner track"}),
        json!({"key": "crm_id", "type": "regexp", "title": "CRM id",
        "regexp_for_validation": "[A-Z]{3}-\\d+"}),
    ] {
        define(app, admin, "organization", body).await;
    }
}

db_test!(fields_are_defined_by_admins, |app: TestApp| async move {
    let admin = app.admin().await;
    let ann = app.user("ann@vendor.example", "agent", None).await;
    let acme = app.org(&admin, "Acme Integrations", true).await;
    let pat = app.user("pat@acme.example", "end-user", Some(acme)).await;
    let id = define(
        &app,
        &admin,
        "organization",
        json!({"key": "support_level", "type": "dropdown",
        "title": "Support level", "custom_field_options": [{"name": "Gold", "value": "gold"}]}),
    )
    .await;
    let (s, v) = app.get(&format!("/api/v2/organization_fields/{id}.json"), &ann).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let f = &v["organization_field"];
    assert_eq!(
        (
            f["key"].as_str(),
            f["type"].as_str(),
            f["visible_to_end_users"].as_bool()
        ),
        (Some("support_level"), Some("dropdown"), Some(false))
    );
    let (s, v) = app.get("/api/v2/organization_fields.json", &ann).await;
    assert_eq!((s, v["count"].as_i64()), (StatusCode::OK, Some(1)), "{v}");
    let (s, v) = app.get("/api/v2/user_fields.json", &ann).await;
    assert_eq!(
        (s, v["count"].as_i64()),
        (StatusCode::OK, Some(0)),
        "kinds are apart: {v}"
    );
    assert_eq!(
        app.get("/api/v2/organization_fields.json", &pat).await.0,
        StatusCode::FORBIDDEN
    );
    let (s, _) = app
        .post(
            "/api/v2/user_fields.json",
            &ann,
            json!({"user_field": {"key": "x", "type": "text", "title": "X"}}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "agents do not define fields");

    for (body, name) in [
        (json!({"type": "text", "title": "No key"}), "key"),
        (json!({"key": "Bad Key", "type": "text", "title": "X"}), "key"),
        (json!({"key": "support_level", "type": "text", "title": "Taken"}), "key"),
        (json!({"key": "k", "type": "colour", "title": "X"}), "type"),
        (
            json!({"key": "k", "type": "dropdown", "title": "No options"}),
            "custom_field_options",
        ),
        (
            json!({"key": "k", "type": "regexp", "title": "X", "regexp_for_validation": "("}),
            "regexp_for_validation",
        ),
    ] {
        let (s, v) = app
            .post(
                "/api/v2/organization_fields.json",
                &admin,
                json!({"organization_field": body}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        assert!(v["details"][name].is_array(), "{body}: {v}");
    }
    // The same key is free for the other kind.
    define(
        &app,
        &admin,
        "user",
        json!({"key": "support_level", "type": "text", "title": "X"}),
    )
    .await;

    let (s, v) = app
        .put(
            &format!("/api/v2/organization_fields/{id}.json"),
            &admin,
            json!({"organization_field": {"title": "Level", "visible_to_end_users": true}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["organization_field"]["title"], "Level");
    assert_eq!(v["organization_field"]["visible_to_end_users"], true);
    let (s, v) = app
        .put(
            &format!("/api/v2/organization_fields/{id}.json"),
            &admin,
            json!({"organization_field": {"key": "other"}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "the key stays: {v}");
    let (s, _) = app
        .send(app.request(
            Method::DELETE,
            &format!("/api/v2/organization_fields/{id}.json"),
            Some(&admin),
        ))
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get(&format!("/api/v2/organization_fields/{id}.json"), &ann).await.0,
        StatusCode::NOT_FOUND
    );
});

db_test!(organization_values_are_checked_and_shown, |app: TestApp| async move {
    let admin = app.admin().await;
    let ann = app.user("ann@vendor.example", "agent", None).await;
    org_fields(&app, &admin).await;
    let (s, v) = app
        .post(
            "/api/v2/organizations.json",
            &admin,
            json!({"organization": {"name": "Acme",
            "organization_fields": {"support_level": "gold", "contract_end": "2027-03-31", "seats": 40}}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let acme = v["organization"]["id"].as_i64().unwrap();
    let f = &v["organization"]["organization_fields"];
    assert_eq!(f["support_level"], "gold");
    assert_eq!(f["contract_end"], "2027-03-31");
    assert_eq!(f["seats"], "40");
    assert_eq!(f["track"], Value::Null, "every active key is shown: {f}");

    let path = format!("/api/v2/organizations/{acme}.json");
    let rows = app.count("organization_field_values").await;
    let audits = app.count("audit_log").await;
    for (key, bad) in [
        ("support_level", json!("platinum")),
        ("contract_end", json!("2027-02-30")),
        ("seats", json!("many")),
        ("discount", json!("4,5")),
        ("managed", json!("maybe")),
        ("track", json!("a\nb")),
        ("crm_id", json!("acme-1")),
        ("no_such_field", json!("x")),
    ] {
        // A good value beside the bad one is not written either.
        let body = json!({"organization": {"notes": "changed", "organization_fields": {"seats": 41, key: bad}}});
        let (s, v) = app.put(&path, &admin, body).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{key}: {v}");
        assert_eq!(v["error"], "RecordInvalid");
        assert!(
            v["details"][format!("organization_fields.{key}")].is_array(),
            "{key}: {v}"
        );
    }
    assert_eq!(
        app.count("organization_field_values").await,
        rows,
        "nothing half-written"
    );
    assert_eq!(app.count("audit_log").await, audits, "nothing audited");
    let (_, v) = app.get(&path, &ann).await;
    assert_eq!(v["organization"]["organization_fields"]["seats"], "40");
    assert_ne!(v["organization"]["notes"], "changed");

    // Good values of every type; null clears; keys left out stay.
    let body = json!({"organization": {"organization_fields": {"support_level": null, "discount": 4.5,
        "managed": true, "track": "Technology", "crm_id": "ACM-42"}}});
    let (s, v) = app.put(&path, &admin, body).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let f = &v["organization"]["organization_fields"];
    assert_eq!(f["support_level"], Value::Null);
    assert_eq!(f["contract_end"], "2027-03-31");
    assert_eq!(
        (f["discount"].as_str(), f["managed"].as_bool()),
        (Some("4.5"), Some(true))
    );
    assert_eq!(
        (f["track"].as_str(), f["crm_id"].as_str()),
        (Some("Technology"), Some("ACM-42"))
    );
    // Audited with the organization.
    let (s, v) = app.get("/api/v2/audit_logs.json", &admin).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v.to_string().contains("organization.fields_update"), "{v}");
    // Lists carry values too.
    let (_, v) = app.get("/api/v2/organizations.json", &ann).await;
    assert_eq!(
        v["organizations"][0]["organization_fields"]["track"], "Technology",
        "{v}"
    );
});

db_test!(end_users_see_only_visible_fields, |app: TestApp| async move {
    let admin = app.admin().await;
    org_fields(&app, &admin).await;
    define(
        &app,
        &admin,
        "user",
        json!({"key": "partner_role", "type": "text", "title": "Role", "visible_to_end_users": true}),
    )
    .await;
    define(
        &app,
        &admin,
        "user",
        json!({"key": "risk", "type": "text", "title": "Risk"}),
    )
    .await;
    let (s, v) = app
        .post(
            "/api/v2/organizations.json",
            &admin,
            json!({"organization": {"name": "Acme",
            "organization_fields": {"support_level": "gold", "track": "secret track"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let acme = v["organization"]["id"].as_i64().unwrap();
    let (s, v) = app
        .post(
            "/api/v2/users.json",
            &admin,
            json!({"user": {"name": "Pat", "email": "pat@acme.example",
            "organization_id": acme, "user_fields": {"partner_role": "Architect", "risk": "high"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        v["user"]["user_fields"],
        json!({"partner_role": "Architect", "risk": "high"})
    );
    let pat_id = v["user"]["id"].as_i64().unwrap();
    let pat = app.user("pat2@acme.example", "end-user", Some(acme)).await;
    // Pat2 (an end-user of Acme) reads the organization: the visible field only.
    let (s, v) = app.get(&format!("/api/v2/organizations/{acme}.json"), &pat).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v["organization"]["organization_fields"],
        json!({"support_level": "gold"})
    );
    let (_, v) = app.get("/api/v2/organizations.json", &pat).await;
    assert_eq!(
        v["organizations"][0]["organization_fields"],
        json!({"support_level": "gold"}),
        "{v}"
    );
    // Search results carry the same values, as the caller may see them.
    let (s, v) = app
        .get("/api/v2/search.json?query=type:organization%20Acme", &pat)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v["results"][0]["organization_fields"],
        json!({"support_level": "gold"}),
        "{v}"
    );
    let (_, v) = app
        .get("/api/v2/search.json?query=type:organization%20Acme", &admin)
        .await;
    assert_eq!(v["results"][0]["organization_fields"]["track"], "secret track", "{v}");
    // An end-user's own record: the visible user field only.
    let (_, v) = app.get("/api/v2/users/me.json", &pat).await;
    assert_eq!(v["user"]["user_fields"], json!({"partner_role": null}), "{v}");
    let (_, v) = app.get(&format!("/api/v2/users/{}.json", pat.id), &pat).await;
    assert_eq!(v["user"]["user_fields"], json!({"partner_role": null}), "{v}");
    // Nor may an end-user set their own user fields.
    let (s, v) = app
        .put(
            &format!("/api/v2/users/{}.json", pat.id),
            &pat,
            json!({"user": {"user_fields": {"partner_role": "x"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    // Staff see all.
    let (_, v) = app.get(&format!("/api/v2/users/{pat_id}.json"), &admin).await;
    assert_eq!(v["user"]["user_fields"]["risk"], "high");
    // A bad user value: named, nothing written.
    let (s, v) = app
        .put(
            &format!("/api/v2/users/{pat_id}.json"),
            &admin,
            json!({"user": {"name": "Renamed", "user_fields": {"nope": 1}}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v["details"]["user_fields.nope"].is_array(), "{v}");
    let (_, v) = app.get(&format!("/api/v2/users/{pat_id}.json"), &admin).await;
    assert_eq!(v["user"]["name"], "Pat");
});

db_test!(create_or_update_and_bulk_carry_values, |app: TestApp| async move {
    let admin = app.admin().await;
    org_fields(&app, &admin).await;
    define(
        &app,
        &admin,
        "user",
        json!({"key": "partner_role", "type": "text", "title": "Role"}),
    )
    .await;
    let body = json!({"organization": {"name": "Acme", "external_id": "sf-1",
        "organization_fields": {"support_level": "silver"}}});
    let (s, v) = app
        .post("/api/v2/organizations/create_or_update.json", &admin, body)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let acme = v["organization"]["id"].as_i64().unwrap();
    let body = json!({"organization": {"external_id": "sf-1", "organization_fields": {"support_level": "gold"}}});
    let (s, v) = app
        .post("/api/v2/organizations/create_or_update.json", &admin, body)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["organization"]["organization_fields"]["support_level"], "gold");
    let body = json!({"organization": {"external_id": "sf-1", "organization_fields": {"support_level": "bronze"}}});
    let (s, v) = app
        .post("/api/v2/organizations/create_or_update.json", &admin, body)
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");

    let body = json!({"user": {"name": "Pat", "email": "pat@acme.example", "organization_id": acme,
        "user_fields": {"partner_role": "Architect"}}});
    let (s, v) = app.post("/api/v2/users/create_or_update.json", &admin, body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["user"]["user_fields"]["partner_role"], "Architect");

    // A bulk job: the valid items land with their values, the invalid one is reported.
    let body = json!({"organizations": [
        {"name": "Globex", "organization_fields": {"seats": 5}},
        {"name": "Initech", "organization_fields": {"seats": "five"}},
    ]});
    let (s, v) = app
        .post("/api/v2/organizations/create_or_update_many.json", &admin, body)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let job = crate::bulk::wait(&app, &admin, v["job_status"]["id"].as_str().unwrap()).await;
    let results = job["results"].as_array().unwrap();
    assert_eq!(results[0]["success"], true, "{job}");
    assert_eq!(results[1]["success"], false, "{job}");
    let globex = results[0]["id"].as_i64().unwrap();
    let (_, v) = app.get(&format!("/api/v2/organizations/{globex}.json"), &admin).await;
    assert_eq!(v["organization"]["organization_fields"]["seats"], "5");
    let (_, v) = app.get("/api/v2/organizations/search.json?name=Initech", &admin).await;
    assert_eq!(v["count"].as_i64(), Some(0), "{v}");
});

db_test!(pages_show_and_edit_organization_fields, |app: TestApp| async move {
    let admin = app.admin().await;
    let ann = app.user("ann@vendor.example", "agent", None).await;
    org_fields(&app, &admin).await;
    let acme = app.org(&admin, "Acme", true).await;
    let pat = app.user("pat@acme.example", "end-user", Some(acme)).await;
    let mut b = crate::admin_field_pages::signed_in(&app, &admin).await;
    let page = format!("/admin/organizations/{acme}");
    let csrf = b.csrf(&page).await;
    let form = [
        ("csrf", csrf.as_str()),
        ("shown", "support_level"),
        ("shown", "contract_end"),
        ("shown", "managed"),
        ("shown", "track"),
        ("field.support_level", "gold"),
        ("field.contract_end", "2027-03-31"),
        ("field.managed", "true"),
        ("field.track", "Technology"),
    ];
    let (s, _, body) = b.post(&format!("{page}/fields"), &form).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let (_, v) = app.get(&format!("/api/v2/organizations/{acme}.json"), &admin).await;
    let f = &v["organization"]["organization_fields"];
    assert_eq!(
        (f["support_level"].as_str(), f["managed"].as_bool()),
        (Some("gold"), Some(true)),
        "{f}"
    );
    assert_eq!(f["contract_end"], "2027-03-31");
    // A bad value is refused with the service's message; nothing changes.
    let form = [
        ("csrf", csrf.as_str()),
        ("shown", "seats"),
        ("shown", "track"),
        ("field.seats", "many"),
        ("field.track", "Changed"),
    ];
    let (s, _, body) = b.post(&format!("{page}/fields"), &form).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.contains("organization_fields.seats"), "{body}");
    let (_, v) = app.get(&format!("/api/v2/organizations/{acme}.json"), &admin).await;
    assert_eq!(v["organization"]["organization_fields"]["track"], "Technology");
    // A field the form did not show (added after it was opened) is left as it is, not cleared.
    let form = [("csrf", csrf.as_str()), ("shown", "track"), ("field.track", "Services")];
    let (s, _, body) = b.post(&format!("{page}/fields"), &form).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let (_, v) = app.get(&format!("/api/v2/organizations/{acme}.json"), &admin).await;
    let f = &v["organization"]["organization_fields"];
    assert_eq!(
        (f["track"].as_str(), f["support_level"].as_str()),
        (Some("Services"), Some("gold")),
        "{f}"
    );
    // Without the CSRF token: refused.
    let (s, _, _) = b.post(&format!("{page}/fields"), &[("field.track", "x")]).await;
    assert_ne!(s, StatusCode::SEE_OTHER);

    // The agent's ticket page shows the values beside the notes, and the requester's beside the requester.
    let body = json!({"user_field": {"key": "partner_role", "type": "text", "title": "Partner role"}});
    let (s, v) = app.post("/api/v2/user_fields.json", &admin, body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = app
        .put(
            &format!("/api/v2/users/{}.json", pat.id),
            &admin,
            json!({"user": {"user_fields": {"partner_role": "Solution architect"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app
        .post(
            "/api/v2/tickets.json",
            &ann,
            json!({"ticket": {"subject": "Sync", "comment": {"body": "Stalls."},
            "requester_id": pat.id}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let ticket = v["ticket"]["id"].as_i64().unwrap();
    let mut agent = crate::admin_field_pages::signed_in(&app, &ann).await;
    let (s, _, html) = agent.get(&format!("/agent/tickets/{ticket}")).await;
    assert_eq!(s, StatusCode::OK);
    let banner = &html[html.find("id=\"org-notes\"").unwrap()..html.find("</section>").unwrap()];
    for shown in [
        "Support level",
        "Gold",
        "Contract end",
        "2027-03-31",
        "Managed",
        "Yes",
        "Services",
    ] {
        assert!(banner.contains(shown), "{shown}: {banner}");
    }
    assert!(!banner.contains("Seats"), "unset fields are left out: {banner}");
    let requester = &html[html.find("id=\"requester-fields\"").expect("the requester's fields")..];
    assert!(
        requester.contains("Partner role") && requester.contains("Solution architect"),
        "{requester}"
    );
});
