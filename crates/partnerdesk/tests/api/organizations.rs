//! Organizations: notes and details for staff only, scoped reads, audited changes.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::db_test;
use crate::helpers::TestApp;

db_test!(crud_and_notes_for_staff_only, |app: TestApp| async move {
    let admin = app.admin().await;
    let agent = app.user("agent@vendor.test", "agent", None).await;
    let body = json!({"organization": {"name": "Globex", "notes": "Escalate to Hank; 24x7 contract", "details": "Uses the on-prem edition", "domain_names": ["globex.example"], "tags": ["Gold Tier"], "alliance_partner": true}});
    let (s, v) = app.post("/api/v2/organizations", &admin, body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["organization"]["id"].as_i64().unwrap();
    assert_eq!(v["organization"]["tags"], json!(["gold_tier"]));
    assert_eq!(v["organization"]["alliance_partner"], true);
    let other = app.org(&admin, "Initech", true).await;
    let pat = app.user("pat@globex.example", "end-user", Some(id)).await;

    // Agents see notes and details, with who changed them last.
    let (_, v) = app.get(&format!("/api/v2/organizations/{id}.json"), &agent).await;
    assert_eq!(v["organization"]["notes"], "Escalate to Hank; 24x7 contract");
    assert_eq!(v["organization"]["details"], "Uses the on-prem edition");
    assert_eq!(v["organization"]["notes_updated_by_id"].as_i64(), Some(admin.id));
    // The end-user sees their organization without notes or details, anywhere; other organizations are 404.
    let (s, v) = app.get(&format!("/api/v2/organizations/{id}"), &pat).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        v["organization"].get("notes").is_none() && v["organization"].get("details").is_none(),
        "{v}"
    );
    let (_, v) = app.get("/api/v2/organizations.json", &pat).await;
    assert_eq!(v["organizations"].as_array().map(Vec::len), Some(1));
    assert!(!v.to_string().contains("Hank"));
    assert_eq!(
        app.get(&format!("/api/v2/organizations/{other}"), &pat).await.0,
        StatusCode::NOT_FOUND
    );

    // Partial update: only the notes change. End-users and plain agents may not update.
    let (s, v) = app
        .put(
            &format!("/api/v2/organizations/{id}"),
            &admin,
            json!({"organization": {"notes": "Hank left; ask Marge"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (
            v["organization"]["notes"].as_str(),
            v["organization"]["details"].as_str()
        ),
        (Some("Hank left; ask Marge"), Some("Uses the on-prem edition"))
    );
    assert_eq!(
        app.put(
            &format!("/api/v2/organizations/{id}"),
            &pat,
            json!({"organization": {"notes": "x"}})
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.put(
            &format!("/api/v2/organizations/{id}"),
            &agent,
            json!({"organization": {"notes": "x"}})
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );

    // Every change is in the audit log, before and after.
    let trail = partnerdesk_db::audit::for_organization(&mut app.db.conn(), id, partnerdesk_db::Window::first(50))
        .await
        .unwrap();
    let update = trail.items.iter().find(|e| e.action == "organization.update").unwrap();
    assert_eq!(
        update.before.as_ref().unwrap()["notes"],
        "Escalate to Hank; 24x7 contract"
    );
    assert_eq!(update.after.as_ref().unwrap()["notes"], "Hank left; ask Marge");
    assert_eq!(update.actor_id, Some(admin.id));

    // Names are unique, case-insensitively.
    let (s, v) = app
        .post(
            "/api/v2/organizations",
            &admin,
            json!({"organization": {"name": "GLOBEX"}}),
        )
        .await;
    assert_eq!(
        (s, v["details"]["name"][0]["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("DuplicateValue"))
    );

    // Delete: admins only; the users remain, without organization.
    assert_eq!(
        app.send(app.request(Method::DELETE, &format!("/api/v2/organizations/{other}"), Some(&agent)))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.send(app.request(
            Method::DELETE,
            &format!("/api/v2/organizations/{id}.json"),
            Some(&admin)
        ))
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(&format!("/api/v2/organizations/{id}"), &admin).await.0,
        StatusCode::NOT_FOUND
    );
    let (_, v) = app.get(&format!("/api/v2/users/{}", pat.id), &admin).await;
    assert_eq!(v["user"]["organization_id"], json!(null));
});

db_test!(account_manager_edits_own_organizations, |app: TestApp| async move {
    let admin = app.admin().await;
    let am = app.user_with("tam@vendor.test", "agent", None, true).await;
    let mine = app.org(&admin, "Mine", true).await;
    let theirs = app.org(&admin, "Theirs", true).await;
    app.put(
        &format!("/api/v2/organizations/{mine}"),
        &admin,
        json!({"organization": {"account_manager_id": am.id}}),
    )
    .await;
    let (s, v) = app
        .put(
            &format!("/api/v2/organizations/{mine}"),
            &am,
            json!({"organization": {"notes": "TAM notes"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        app.put(
            &format!("/api/v2/organizations/{theirs}"),
            &am,
            json!({"organization": {"notes": "x"}})
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.put(
            &format!("/api/v2/organizations/{mine}"),
            &am,
            json!({"organization": {"account_manager_id": null}})
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    // Only account managers can be assigned as such.
    let agent = app.user("agent@vendor.test", "agent", None).await;
    let (s, v) = app
        .put(
            &format!("/api/v2/organizations/{theirs}"),
            &admin,
            json!({"organization": {"account_manager_id": agent.id}}),
        )
        .await;
    assert_eq!(
        (s, v["details"]["account_manager_id"].is_array()),
        (StatusCode::UNPROCESSABLE_ENTITY, true)
    );
});

db_test!(groups_and_forms, |app: TestApp| async move {
    let admin = app.admin().await;
    let agent = app.user("agent@vendor.test", "agent", None).await;
    let (s, v) = app
        .post(
            "/api/v2/groups.json",
            &admin,
            json!({"group": {"name": "Partner Queue"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let group = v["group"]["id"].as_i64().unwrap();
    assert_eq!(
        app.post("/api/v2/groups", &agent, json!({"group": {"name": "Nope"}}))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let (_, v) = app.get("/api/v2/groups", &agent).await;
    assert_eq!(v["groups"][0]["name"], "Partner Queue");
    assert_eq!(v["count"], 1);

    let (s, v) = app.post("/api/v2/ticket_forms", &admin, json!({"ticket_form": {"name": "Alliance Partner", "audience": "partners", "group_id": group, "priority": "high", "tags": ["alliance"]}})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let form = v["ticket_form"]["id"].as_i64().unwrap();
    let (s, _) = app
        .post(
            "/api/v2/ticket_forms",
            &admin,
            json!({"ticket_form": {"name": "Internal", "end_user_visible": false}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, v) = app
        .post(
            "/api/v2/ticket_forms",
            &admin,
            json!({"ticket_form": {"name": "Bad", "group_id": 424242, "priority": "asap"}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v["details"]["priority"].is_array());

    let org = app.org(&admin, "Partner", true).await;
    let pat = app.user("pat@partner.example", "end-user", Some(org)).await;
    let (_, v) = app.get("/api/v2/ticket_forms.json", &pat).await;
    let names: Vec<&str> = v["ticket_forms"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert_eq!(names, vec!["Alliance Partner"]);
    assert!(v["ticket_forms"][0].get("group_id").is_none());
    let (_, v) = app.get(&format!("/api/v2/ticket_forms/{form}"), &agent).await;
    assert_eq!(v["ticket_form"]["group_id"].as_i64(), Some(group));
});
