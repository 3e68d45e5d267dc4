//! The ticket lists of an organization and of a user (requested, assigned), in the caller's scope; and `sort_by` /
//! `sort_order` on ticket lists, with offset and cursor pages that stay correct under sorting.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{Creds, TestApp};

fn ids(v: &Value) -> Vec<i64> {
    v["tickets"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect()
}

async fn file(app: &TestApp, admin: &Creds, requester: i64, extra: Value) -> i64 {
    let mut ticket = json!({"subject": "Sync", "comment": {"body": "Stalls."}, "requester_id": requester});
    if let (Some(t), Some(e)) = (ticket.as_object_mut(), extra.as_object()) {
        t.extend(e.clone());
    }
    let (s, v) = app
        .post("/api/v2/tickets.json", admin, json!({ "ticket": ticket }))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["ticket"]["id"].as_i64().unwrap()
}

db_test!(organization_and_user_ticket_lists, |app: TestApp| async move {
    let admin = app.admin().await;
    let agent = app.user("agent@vendor.test", "agent", None).await;
    let acme = app.org(&admin, "Acme Integrations", true).await;
    let globex = app.org(&admin, "Globex Connectors", true).await;
    let pat = app.user("pat@acme.example", "end-user", Some(acme)).await;
    let cole = app.user("cole@acme.example", "end-user", Some(acme)).await;
    let gil = app.user("gil@globex.example", "end-user", Some(globex)).await;
    let p1 = file(&app, &admin, pat.id, json!({"assignee_id": agent.id})).await;
    let c1 = file(&app, &admin, cole.id, json!({})).await;
    let g1 = file(
        &app,
        &admin,
        gil.id,
        json!({"assignee_id": agent.id, "status": "pending"}),
    )
    .await;

    let org_path = format!("/api/v2/organizations/{acme}/tickets.json");
    let (s, v) = app.get(&org_path, &agent).await;
    assert_eq!(
        (s, ids(&v), v["count"].as_i64()),
        (StatusCode::OK, vec![p1, c1], Some(2)),
        "{v}"
    );
    assert_eq!(ids(&app.get(&org_path, &pat).await.1), vec![p1, c1]);
    assert_eq!(app.get(&org_path, &gil).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get("/api/v2/organizations/999999/tickets", &admin).await.0,
        StatusCode::NOT_FOUND
    );

    let requested = |u: i64| format!("/api/v2/users/{u}/tickets/requested");
    assert_eq!(ids(&app.get(&requested(pat.id), &admin).await.1), vec![p1]);
    assert_eq!(
        ids(&app.get(&format!("{}.json", requested(pat.id)), &pat).await.1),
        vec![p1]
    );
    // A partner sees no other person's list, as they see no other person (404, as for `/users/{id}`).
    assert_eq!(app.get(&requested(cole.id), &pat).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&requested(pat.id), &gil).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&requested(999999), &admin).await.0, StatusCode::NOT_FOUND);

    let assigned = format!("/api/v2/users/{}/tickets/assigned", agent.id);
    assert_eq!(ids(&app.get(&assigned, &admin).await.1), vec![p1, g1]);
    assert_eq!(
        ids(&app.get(&format!("{assigned}?status=pending"), &admin).await.1),
        vec![g1]
    );
    assert_eq!(app.get(&assigned, &pat).await.0, StatusCode::NOT_FOUND);
    // Cursor pages.
    let (_, v) = app.get(&format!("{assigned}.json?page[size]=1"), &admin).await;
    assert_eq!((ids(&v), v["meta"]["has_more"].as_bool()), (vec![p1], Some(true)));
    let next = v["links"]["next"]
        .as_str()
        .unwrap()
        .trim_start_matches(&app.base)
        .to_owned();
    assert_eq!(ids(&app.get(&next, &admin).await.1), vec![g1]);
    assert_eq!(
        app.get(&format!("{assigned}?status=bogus"), &admin).await.0,
        StatusCode::BAD_REQUEST
    );
});

db_test!(ticket_lists_sort_and_page, |app: TestApp| async move {
    let admin = app.admin().await;
    let acme = app.org(&admin, "Acme Integrations", true).await;
    let pat = app.user("pat@acme.example", "end-user", Some(acme)).await;
    let mut made = Vec::new();
    for priority in ["normal", "urgent", "low", "high", "normal"] {
        made.push(file(&app, &admin, pat.id, json!({"priority": priority})).await);
    }
    let none = file(&app, &admin, pat.id, json!({})).await;
    // The first ticket is changed last.
    app.put(
        &format!("/api/v2/tickets/{}", made[0]),
        &admin,
        json!({"ticket": {"status": "solved"}}),
    )
    .await;

    let (s, v) = app
        .get("/api/v2/tickets.json?sort_by=priority&sort_order=desc", &admin)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Urgent, high, normal (ties by id, descending), low, none.
    assert_eq!(ids(&v), vec![made[1], made[3], made[4], made[0], made[2], none]);
    let (_, v) = app.get("/api/v2/tickets?sort_by=priority", &admin).await;
    assert_eq!(ids(&v), vec![none, made[2], made[0], made[4], made[3], made[1]]);
    // Offset pages under a sort: together, the whole list once.
    let mut paged = Vec::new();
    for page in 1..=3 {
        let (_, v) = app
            .get(
                &format!("/api/v2/tickets?sort_by=priority&sort_order=desc&per_page=2&page={page}"),
                &admin,
            )
            .await;
        assert_eq!(v["count"], 6);
        assert_eq!(v["next_page"].is_null(), page == 3, "{v}");
        if page < 3 {
            assert!(v["next_page"].as_str().unwrap().contains("sort_by=priority"), "{v}");
        }
        paged.extend(ids(&v));
    }
    assert_eq!(paged, vec![made[1], made[3], made[4], made[0], made[2], none]);
    let (_, v) = app
        .get("/api/v2/tickets?sort_by=updated_at&sort_order=desc&per_page=1", &admin)
        .await;
    assert_eq!(ids(&v), vec![made[0]]);
    let (_, v) = app
        .get("/api/v2/tickets?sort_by=status&sort_order=desc&per_page=1", &admin)
        .await;
    assert_eq!(ids(&v), vec![made[0]], "solved after new");
    let (_, v) = app
        .get("/api/v2/tickets?sort_by=created_at&sort_order=desc", &admin)
        .await;
    assert_eq!(ids(&v).first(), Some(&none));
    // The lists of a record sort the same way, in the caller's scope.
    let (_, v) = app
        .get(
            &format!("/api/v2/organizations/{acme}/tickets?sort_by=priority&sort_order=desc&per_page=1"),
            &pat,
        )
        .await;
    assert_eq!(ids(&v), vec![made[1]]);
    // Cursor pages follow the order too, to the end.
    let mut cursored = Vec::new();
    let mut next = Some("/api/v2/tickets.json?sort_by=priority&sort_order=desc&page[size]=4".to_owned());
    while let Some(path) = next {
        let (s, v) = app.get(&path, &admin).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        cursored.extend(ids(&v));
        next = v["links"]["next"]
            .as_str()
            .map(|n| n.trim_start_matches(&app.base).to_owned());
    }
    assert_eq!(cursored, vec![made[1], made[3], made[4], made[0], made[2], none]);
    let (_, v) = app.get("/api/v2/tickets?sort_by=updated_at&page[size]=5", &admin).await;
    let next = v["links"]["next"]
        .as_str()
        .unwrap()
        .trim_start_matches(&app.base)
        .to_owned();
    assert_eq!(
        ids(&app.get(&next, &admin).await.1),
        vec![made[0]],
        "the ticket changed last comes last"
    );
    // In id order, either direction.
    let (_, v) = app
        .get("/api/v2/tickets?sort_by=id&sort_order=desc&page[size]=4", &admin)
        .await;
    assert_eq!(ids(&v), vec![none, made[4], made[3], made[2]]);
    let next = v["links"]["next"]
        .as_str()
        .unwrap()
        .trim_start_matches(&app.base)
        .to_owned();
    assert_eq!(ids(&app.get(&next, &admin).await.1), vec![made[1], made[0]]);

    for (query, name) in [
        ("sort_by=subject", "sort_by"),
        ("sort_by=", "sort_by"),
        ("sort_order=up", "sort_order"),
        ("sort_order=DESC", "sort_order"),
    ] {
        let (s, v) = app.get(&format!("/api/v2/tickets?{query}"), &admin).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{query}: {v}");
        assert!(v["description"].as_str().unwrap().contains(name), "{query}: {v}");
    }
    let (s, _) = app
        .get(
            &format!("/api/v2/users/{}/tickets/requested?sort_order=sideways", pat.id),
            &admin,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
});
