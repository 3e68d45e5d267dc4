//! Tickets and requests: routing by form, Zendesk's ticket+audit answers, internal notes, organization scope,
//! pagination.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{Creds, TestApp};

struct World {
    admin: Creds,
    agent: Creds,
    partner: Creds,
    colleague: Creds,
    stranger: Creds,
    org: i64,
    partner_queue: i64,
    general_queue: i64,
    partner_form: i64,
    general_form: i64,
}

async fn world(app: &TestApp) -> World {
    let admin = app.admin().await;
    let agent = app.user("agent@vendor.test", "agent", None).await;
    let group = |name: &'static str| {
        let admin = admin.clone();
        async move {
            app.post("/api/v2/groups", &admin, json!({"group": {"name": name}}))
                .await
                .1["group"]["id"]
                .as_i64()
                .unwrap()
        }
    };
    let partner_queue = group("Partner Queue").await;
    let general_queue = group("General").await;
    let form = |body: Value| {
        let admin = admin.clone();
        async move {
            let (s, v) = app
                .post("/api/v2/ticket_forms", &admin, json!({"ticket_form": body}))
                .await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
            v["ticket_form"]["id"].as_i64().unwrap()
        }
    };
    let partner_form = form(json!({"name": "Alliance Partner", "audience": "partners", "group_id": partner_queue, "priority": "high", "tags": ["alliance_partner"]})).await;
    let general_form =
        form(json!({"name": "General", "group_id": general_queue, "priority": "normal", "default": true})).await;
    let org = app.org(&admin, "Partner Co", true).await;
    let other_org = app.org(&admin, "Other Co", true).await;
    let partner = app.user("pat@partner.example", "end-user", Some(org)).await;
    let colleague = app.user("cole@partner.example", "end-user", Some(org)).await;
    let stranger = app.user("sid@other.example", "end-user", Some(other_org)).await;
    World {
        admin,
        agent,
        partner,
        colleague,
        stranger,
        org,
        partner_queue,
        general_queue,
        partner_form,
        general_form,
    }
}

db_test!(form_routes_and_answers_ticket_and_audit, |app: TestApp| async move {
    let w = world(&app).await;
    let body = json!({"ticket": {"subject": "Integration fails", "comment": {"body": "Stack trace attached"}, "ticket_form_id": w.partner_form, "tags": ["api"]}});
    let (s, v) = app.post("/api/v2/tickets.json", &w.partner, body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let t = &v["ticket"];
    assert_eq!(
        (t["group_id"].as_i64(), t["priority"].as_str(), t["status"].as_str()),
        (Some(w.partner_queue), Some("high"), Some("new"))
    );
    assert_eq!(
        (t["organization_id"].as_i64(), t["requester_id"].as_i64()),
        (Some(w.org), Some(w.partner.id))
    );
    assert_eq!(t["ticket_form_id"].as_i64(), Some(w.partner_form));
    assert_eq!(t["tags"], json!(["alliance_partner"]), "end-users do not set tags");
    assert!(t.get("routing").is_none(), "routing explanation is for staff");
    let audit = &v["audit"];
    assert_eq!(audit["ticket_id"], t["id"]);
    let events = audit["events"].as_array().unwrap();
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "Comment" && e["body"] == "Stack trace attached")
    );
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "Create" && e["field_name"] == "group_id")
    );
    let id = t["id"].as_i64().unwrap();

    // Staff see why it landed there.
    let (_, v) = app.get(&format!("/api/v2/tickets/{id}.json"), &w.agent).await;
    assert!(
        v["ticket"]["routing"]["rule"]
            .as_str()
            .unwrap()
            .contains("Alliance Partner"),
        "{v}"
    );

    // An agent with explicit values: they win over the form's.
    let body = json!({"ticket": {"subject": "By phone", "comment": {"body": "Called in"}, "requester_id": w.partner.id, "ticket_form_id": w.general_form, "group_id": w.partner_queue, "priority": "urgent", "tags": ["phone"]}});
    let (s, v) = app.post("/api/v2/tickets", &w.agent, body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        (v["ticket"]["group_id"].as_i64(), v["ticket"]["priority"].as_str()),
        (Some(w.partner_queue), Some("urgent"))
    );
    assert_eq!(v["ticket"]["submitter_id"].as_i64(), Some(w.agent.id));
    assert_eq!(v["ticket"]["tags"], json!(["phone"]));

    // Without a form, the default form routes a staff-filed ticket for a non-partner.
    let body = json!({"ticket": {"comment": {"body": "First line becomes the subject\nmore"}}});
    let (_, v) = app.post("/api/v2/tickets", &w.agent, body).await;
    assert_eq!(
        (v["ticket"]["group_id"].as_i64(), v["ticket"]["subject"].as_str()),
        (Some(w.general_queue), Some("First line becomes the subject"))
    );
});

db_test!(
    partner_on_general_form_is_routed_to_partner_queue,
    |app: TestApp| async move {
        let w = world(&app).await;
        let body = json!({"request": {"subject": "Wrong form", "comment": {"body": "Used the general form"}, "ticket_form_id": w.general_form}});
        let (s, v) = app.post("/api/v2/requests.json", &w.partner, body).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert!(v["notice"].as_str().unwrap().contains("Alliance Partner"), "{v}");
        let id = v["request"]["id"].as_i64().unwrap();
        let (_, t) = app.get(&format!("/api/v2/tickets/{id}"), &w.agent).await;
        assert_eq!(
            (t["ticket"]["group_id"].as_i64(), t["ticket"]["ticket_form_id"].as_i64()),
            (Some(w.partner_queue), Some(w.partner_form))
        );
        assert!(
            t["ticket"]["tags"]
                .as_array()
                .unwrap()
                .contains(&json!("misrouted_form"))
        );
        assert_eq!(t["ticket"]["routing"]["misrouted"], true);
        assert_eq!(
            t["ticket"]["routing"]["submitted_form_id"].as_i64(),
            Some(w.general_form)
        );
        // The partner is told, in the conversation, which form to use next time.
        let (_, c) = app
            .get(&format!("/api/v2/requests/{id}/comments.json"), &w.partner)
            .await;
        let notice = c["comments"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["author_id"] == -1)
            .unwrap();
        assert!(notice["body"].as_str().unwrap().contains("Alliance Partner"));
        assert_eq!(notice["public"], true);
    }
);

db_test!(internal_notes_and_scope, |app: TestApp| async move {
    let w = world(&app).await;
    let body = json!({"request": {"subject": "Scope", "comment": {"body": "Hello"}, "ticket_form_id": w.partner_form}});
    let (_, v) = app.post("/api/v2/requests", &w.partner, body).await;
    let id = v["request"]["id"].as_i64().unwrap();

    // The agent adds an internal note and a public reply; the audit names both changes.
    let (s, v) = app.put(&format!("/api/v2/tickets/{id}.json"), &w.agent, json!({"ticket": {"comment": {"body": "INTERNAL: partner is on v2.3", "public": false}, "assignee_id": w.agent.id}})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["ticket"]["status"], "open");
    assert!(
        v["audit"]["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "Change" && e["field_name"] == "assignee_id" && e["previous_value"].is_null())
    );
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/{id}"),
            &w.agent,
            json!({"ticket": {"comment": {"body": "We are on it"}, "status": "pending"}}),
        )
        .await;
    assert_eq!((s, v["ticket"]["status"].as_str()), (StatusCode::OK, Some("pending")));

    // Staff see three comments; the partner and their colleague see the two public ones, through both APIs.
    let (_, v) = app.get(&format!("/api/v2/tickets/{id}/comments.json"), &w.agent).await;
    assert_eq!(v["comments"].as_array().map(Vec::len), Some(3));
    for who in [&w.partner, &w.colleague] {
        for path in [
            format!("/api/v2/tickets/{id}/comments"),
            format!("/api/v2/requests/{id}/comments.json"),
        ] {
            let (s, v) = app.get(&path, who).await;
            assert_eq!(s, StatusCode::OK);
            assert_eq!(v["comments"].as_array().map(Vec::len), Some(2), "{path}: {v}");
            assert!(!v.to_string().contains("INTERNAL"));
        }
    }
    // End-users cannot write internal notes or change agent fields.
    let (s, _) = app
        .put(
            &format!("/api/v2/tickets/{id}"),
            &w.partner,
            json!({"ticket": {"comment": {"body": "sneaky", "public": false}}}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = app
        .put(
            &format!("/api/v2/requests/{id}.json"),
            &w.partner,
            json!({"request": {"comment": {"body": "Thanks, more logs"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v["request"]["status"], "open",
        "a requester's reply reopens a pending ticket"
    );

    // Another organization's partner gets 404 everywhere, never 403.
    for path in [
        format!("/api/v2/tickets/{id}"),
        format!("/api/v2/requests/{id}"),
        format!("/api/v2/tickets/{id}/comments"),
        format!("/api/v2/requests/{id}/comments"),
    ] {
        let (s, v) = app.get(&path, &w.stranger).await;
        assert_eq!(
            (s, v["error"].as_str()),
            (StatusCode::NOT_FOUND, Some("RecordNotFound")),
            "{path}"
        );
    }
    assert_eq!(
        app.put(
            &format!("/api/v2/requests/{id}"),
            &w.stranger,
            json!({"request": {"comment": {"body": "x"}}})
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    let (_, v) = app.get("/api/v2/tickets.json", &w.stranger).await;
    assert_eq!(v["count"], 0);

    // Solving through the requests API; then it is listed as solved.
    let (s, v) = app
        .put(
            &format!("/api/v2/requests/{id}"),
            &w.colleague,
            json!({"request": {"solved": true}}),
        )
        .await;
    assert_eq!((s, v["request"]["status"].as_str()), (StatusCode::OK, Some("solved")));
    let (_, v) = app.get("/api/v2/requests/solved.json", &w.partner).await;
    assert_eq!(v["requests"][0]["id"].as_i64(), Some(id));
    let (_, v) = app.get("/api/v2/requests/open", &w.partner).await;
    assert_eq!(v["count"], 0);

    // Closed is final.
    app.put(
        &format!("/api/v2/tickets/{id}"),
        &w.agent,
        json!({"ticket": {"status": "closed"}}),
    )
    .await;
    let (s, v) = app
        .put(
            &format!("/api/v2/tickets/{id}"),
            &w.agent,
            json!({"ticket": {"status": "open"}}),
        )
        .await;
    assert_eq!(
        (s, v["details"]["status"].is_array()),
        (StatusCode::UNPROCESSABLE_ENTITY, true)
    );
    let _ = &w.admin;
});

db_test!(pagination_offset_and_cursor, |app: TestApp| async move {
    let w = world(&app).await;
    for i in 0..5 {
        let (s, _) = app
            .post(
                "/api/v2/tickets",
                &w.agent,
                json!({"ticket": {"subject": format!("t{i}"), "comment": {"body": "b"}}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    // Offset: page 1 and 3 of 2 per page.
    let (_, v) = app.get("/api/v2/tickets.json?per_page=2&page=1", &w.agent).await;
    assert_eq!(
        (v["tickets"].as_array().map(Vec::len), v["count"].as_i64()),
        (Some(2), Some(5))
    );
    assert!(v["next_page"].as_str().unwrap().contains("page=2"));
    assert!(v["previous_page"].is_null());
    let (_, v) = app.get("/api/v2/tickets.json?page=3&per_page=2", &w.agent).await;
    assert_eq!(v["tickets"].as_array().map(Vec::len), Some(1));
    assert!(v["next_page"].is_null() && v["previous_page"].is_string());

    // Cursor: follow links.next until it is null, brackets unencoded as clients send them.
    let mut url = format!("{}/api/v2/tickets.json?page[size]=2", app.base);
    let mut subjects = Vec::new();
    for _ in 0..10 {
        let (s, v) = app
            .send(
                app.client
                    .get(&url)
                    .basic_auth(format!("{}/token", w.agent.email), Some(&w.agent.token)),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        subjects.extend(
            v["tickets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["subject"].as_str().unwrap().to_owned()),
        );
        match v["links"]["next"].as_str() {
            Some(next) => {
                assert_eq!(v["meta"]["has_more"], true);
                url = next.to_owned();
            }
            None => {
                assert_eq!(v["meta"]["has_more"], false);
                break;
            }
        }
    }
    assert_eq!(subjects, vec!["t0", "t1", "t2", "t3", "t4"]);

    // Filters.
    let (_, v) = app.get("/api/v2/tickets?status=new,open", &w.agent).await;
    assert_eq!(v["count"], 5);
    let (_, v) = app
        .get(&format!("/api/v2/tickets?group_id={}", w.partner_queue), &w.agent)
        .await;
    assert_eq!(v["count"], 0);
    let (s, _) = app.get("/api/v2/tickets?status=bogus", &w.agent).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = app.get("/api/v2/tickets?page[after]=not-a-cursor", &w.agent).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let _ = (
        &w.admin,
        &w.partner,
        &w.colleague,
        &w.stranger,
        w.org,
        w.general_queue,
        w.partner_form,
        w.general_form,
    );
});
