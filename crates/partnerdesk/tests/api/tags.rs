//! Zendesk's tags API: a ticket's tags (POST sets, PUT adds, DELETE removes, each a ticket update: audited,
//! normalised, staff only) and the tags in use, most used first.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{Creds, TestApp};

struct World {
    admin: Creds,
    agent: Creds,
    pat: Creds,
    gil: Creds,
    mine: i64,
    theirs: i64,
}

async fn ticket(app: &TestApp, admin: &Creds, requester: i64, tags: Value) -> i64 {
    let body =
        json!({"ticket": {"subject": "Sync", "comment": {"body": "Stalls."}, "requester_id": requester, "tags": tags}});
    let (s, v) = app.post("/api/v2/tickets.json", admin, body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["ticket"]["id"].as_i64().unwrap()
}

async fn world(app: &TestApp) -> World {
    let admin = app.admin().await;
    let agent = app.user("agent@vendor.test", "agent", None).await;
    let acme = app.org(&admin, "Acme Integrations", true).await;
    let globex = app.org(&admin, "Globex Connectors", true).await;
    let pat = app.user("pat@acme.example", "end-user", Some(acme)).await;
    let gil = app.user("gil@globex.example", "end-user", Some(globex)).await;
    let mine = ticket(app, &admin, pat.id, json!(["start"])).await;
    let theirs = ticket(app, &admin, gil.id, json!(["start", "globex"])).await;
    World {
        admin,
        agent,
        pat,
        gil,
        mine,
        theirs,
    }
}

async fn send(app: &TestApp, method: Method, path: &str, who: &Creds, body: Value) -> (StatusCode, Value) {
    app.send(app.request(method, path, Some(who)).json(&body)).await
}

fn tags(v: &Value) -> Vec<&str> {
    v["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect()
}

db_test!(set_add_remove_a_tickets_tags, |app: TestApp| async move {
    let w = world(&app).await;
    let path = format!("/api/v2/tickets/{}/tags.json", w.mine);
    let (s, v) = app.get(&path, &w.agent).await;
    assert_eq!((s, tags(&v)), (StatusCode::OK, vec!["start"]), "{v}");

    // POST sets (Zendesk's set_tags), normalised as every ticket change is.
    let (s, v) = send(
        &app,
        Method::POST,
        &path,
        &w.agent,
        json!({"tags": ["Needs Review", "b", "B"]}),
    )
    .await;
    assert_eq!((s, tags(&v)), (StatusCode::CREATED, vec!["needs_review", "b"]), "{v}");
    // PUT adds (add_tags).
    let (s, v) = send(&app, Method::PUT, &path, &w.agent, json!({"tags": ["c", "b"]})).await;
    assert_eq!((s, tags(&v)), (StatusCode::OK, vec!["needs_review", "b", "c"]), "{v}");
    // DELETE takes those named away (delete_tags).
    let (s, v) = send(&app, Method::DELETE, &path, &w.agent, json!({"tags": ["B", "absent"]})).await;
    assert_eq!((s, tags(&v)), (StatusCode::OK, vec!["needs_review", "c"]), "{v}");
    let (_, t) = app.get(&format!("/api/v2/tickets/{}", w.mine), &w.admin).await;
    assert_eq!(tags(&t["ticket"]), vec!["needs_review", "c"]);

    // Each change is a ticket update in the audit trail, with the tags before and after.
    let (s, v) = app
        .get(&format!("/api/v2/tickets/{}/audits.json", w.mine), &w.admin)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let last = v["audits"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["author_id"], w.agent.id);
    let change = last["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["field_name"] == "tags")
        .unwrap()
        .clone();
    assert_eq!(change["type"], "Change");
    assert_eq!(change["value"], json!(["needs_review", "c"]));
    assert_eq!(change["previous_value"], json!(["needs_review", "b", "c"]));
    assert_eq!(v["count"], 4, "the creation and three changes");
});

db_test!(partners_read_their_tags_and_change_none, |app: TestApp| async move {
    let w = world(&app).await;
    let mine = format!("/api/v2/tickets/{}/tags", w.mine);
    let theirs = format!("/api/v2/tickets/{}/tags", w.theirs);
    let (s, v) = app.get(&mine, &w.pat).await;
    assert_eq!((s, tags(&v)), (StatusCode::OK, vec!["start"]), "{v}");
    // Another organization's ticket does not exist for them, whatever the verb.
    assert_eq!(app.get(&theirs, &w.pat).await.0, StatusCode::NOT_FOUND);
    for method in [Method::POST, Method::PUT, Method::DELETE] {
        let (s, v) = send(&app, method.clone(), &theirs, &w.pat, json!({"tags": ["x"]})).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{method} {v}");
        // Their own ticket: visible, but tags are for staff.
        let (s, v) = send(&app, method.clone(), &mine, &w.pat, json!({"tags": ["x"]})).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{method} {v}");
    }
    let (_, v) = app.get(&mine, &w.gil).await;
    assert_eq!(v["error"], "RecordNotFound");
    assert_eq!(tags(&app.get(&theirs, &w.admin).await.1), vec!["start", "globex"]);

    // Bad bodies: the field is named.
    let (s, v) = send(&app, Method::PUT, &mine, &w.agent, json!({"tags": "x"})).await;
    assert_eq!(
        (s, v["details"]["tags"].is_array()),
        (StatusCode::UNPROCESSABLE_ENTITY, true),
        "{v}"
    );
    let (s, v) = send(&app, Method::POST, &mine, &w.agent, json!({"tag": ["x"]})).await;
    assert_eq!(
        (s, v["details"]["tags"].is_array()),
        (StatusCode::UNPROCESSABLE_ENTITY, true),
        "{v}"
    );
    let raw = app
        .request(Method::PUT, &mine, Some(&w.agent))
        .header("content-type", "application/json")
        .body("{");
    assert_eq!(app.send(raw).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(
        app.get("/api/v2/tickets/999999/tags", &w.agent).await.0,
        StatusCode::NOT_FOUND
    );
});

db_test!(concurrent_adds_both_land, |app: TestApp| async move {
    let w = world(&app).await;
    let other = app.user("second@vendor.test", "agent", None).await;
    let path = format!("/api/v2/tickets/{}/tags", w.mine);
    for round in 0..15 {
        let (a, b) = (format!("a{round}"), format!("b{round}"));
        let (ra, rb) = tokio::join!(
            send(&app, Method::PUT, &path, &w.agent, json!({"tags": [a]})),
            send(&app, Method::PUT, &path, &other, json!({"tags": [b]})),
        );
        assert_eq!((ra.0, rb.0), (StatusCode::OK, StatusCode::OK), "{ra:?} {rb:?}");
        let (_, v) = app.get(&path, &w.admin).await;
        let now = tags(&v);
        assert!(
            now.contains(&a.as_str()) && now.contains(&b.as_str()),
            "round {round}: {now:?}"
        );
    }
    let (_, v) = app.get(&path, &w.admin).await;
    assert_eq!(tags(&v).len(), 1 + 2 * 15);
});

db_test!(tags_in_use_most_used_first, |app: TestApp| async move {
    let w = world(&app).await;
    ticket(&app, &w.admin, w.pat.id, json!(["start", "billing"])).await;
    ticket(&app, &w.admin, w.pat.id, json!(["billing"])).await;
    let (s, v) = app.get("/api/v2/tags.json", &w.agent).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v["tags"],
        json!([{"name": "start", "count": 3}, {"name": "billing", "count": 2}, {"name": "globex", "count": 1}])
    );
    assert_eq!(v["count"], 3);

    // Offset pages.
    let (_, p2) = app.get("/api/v2/tags?per_page=1&page=2", &w.admin).await;
    assert_eq!(p2["tags"][0]["name"], "billing");
    assert!(p2["next_page"].as_str().unwrap().contains("page=3"));
    let (_, p3) = app.get("/api/v2/tags?per_page=1&page=3", &w.admin).await;
    assert_eq!(
        (p3["tags"][0]["name"].as_str(), p3["next_page"].is_null()),
        (Some("globex"), true)
    );

    // Cursor pages, followed to the end.
    let mut seen = Vec::new();
    let mut next = Some(format!("{}/api/v2/tags.json?page[size]=2", app.base));
    while let Some(url) = next {
        let (s, v) = app.get(url.trim_start_matches(&app.base), &w.admin).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        seen.extend(
            v["tags"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["name"].as_str().unwrap().to_owned()),
        );
        next = v["links"]["next"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, vec!["start", "billing", "globex"]);

    assert_eq!(app.get("/api/v2/tags", &w.pat).await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        app.get("/api/v2/tags?per_page=0", &w.admin).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        app.get("/api/v2/tags?page[after]=bm9wZQ", &w.admin).await.0,
        StatusCode::BAD_REQUEST
    );
});
