//! Finding users and organizations by name, and tickets by external id, within each caller's read policy: staff
//! find anyone, a partner finds only themselves, their own organization and its tickets.

use reqwest::StatusCode;
use serde_json::Value;

use crate::db_test;
use crate::helpers::TestApp;

fn ids(v: &Value, key: &str) -> Vec<i64> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|x| x["id"].as_i64().unwrap())
        .collect()
}

db_test!(users_search_by_name_or_email, |app: TestApp| async move {
    let admin = app.admin().await;
    let agent = app.user("agent@vendor.test", "agent", None).await;
    let acme = app.org(&admin, "Acme Integrations", true).await;
    let pat = app.user("pat@acme.example", "end-user", Some(acme)).await;
    let cole = app.user("cole@acme.example", "end-user", Some(acme)).await;
    let gil = app.user("gil_50%@globex.example", "end-user", None).await;

    let (s, v) = app.get("/api/v2/users/search.json?query=ACME", &agent).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (ids(&v, "users"), v["count"].as_i64()),
        (vec![pat.id, cole.id], Some(2))
    );
    // By name (the part before @ in these accounts), case-insensitive.
    assert_eq!(
        ids(&app.get("/api/v2/users/search?query=Pa", &admin).await.1, "users"),
        vec![pat.id]
    );
    // LIKE's wildcards are plain characters.
    assert_eq!(
        ids(&app.get("/api/v2/users/search?query=50%25", &admin).await.1, "users"),
        vec![gil.id]
    );
    assert!(ids(&app.get("/api/v2/users/search?query=%25", &admin).await.1, "users") == vec![gil.id]);
    assert!(ids(&app.get("/api/v2/users/search?query=a_m", &admin).await.1, "users").is_empty());
    // Pages.
    let (_, v) = app.get("/api/v2/users/search?query=acme&per_page=1", &admin).await;
    assert_eq!((ids(&v, "users"), v["count"].as_i64()), (vec![pat.id], Some(2)));
    assert!(v["next_page"].as_str().unwrap().contains("query=acme"), "{v}");

    // A partner finds only themselves, as `/users/{id}` shows them only themselves.
    assert_eq!(
        ids(&app.get("/api/v2/users/search?query=acme", &pat).await.1, "users"),
        vec![pat.id]
    );
    assert!(ids(&app.get("/api/v2/users/search?query=cole", &pat).await.1, "users").is_empty());

    // Nobody has this external id: nobody is found.
    let (s, v) = app.get("/api/v2/users/search.json?external_id=crm-7", &admin).await;
    assert_eq!(
        (s, ids(&v, "users"), v["count"].as_i64()),
        (StatusCode::OK, vec![], Some(0))
    );

    for (query, word) in [
        ("", "query or external_id"),
        ("?query=", "query"),
        ("?query=%20%20", "query"),
    ] {
        let (s, v) = app.get(&format!("/api/v2/users/search{query}"), &admin).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{query}: {v}");
        assert!(v["description"].as_str().unwrap().contains(word), "{v}");
    }
    let long = "x".repeat(256);
    assert_eq!(
        app.get(&format!("/api/v2/users/search?query={long}"), &admin).await.0,
        StatusCode::BAD_REQUEST
    );
});

db_test!(organizations_autocomplete_and_search, |app: TestApp| async move {
    let admin = app.admin().await;
    let agent = app.user("agent@vendor.test", "agent", None).await;
    let acme = app.org(&admin, "Acme Integrations", true).await;
    let acme_labs = app.org(&admin, "ACME Labs", false).await;
    let globex = app.org(&admin, "Globex", true).await;
    let pat = app.user("pat@acme.example", "end-user", Some(acme)).await;
    let gil = app.user("gil@globex.example", "end-user", Some(globex)).await;
    let loner = app.user("lou@nowhere.example", "end-user", None).await;

    let (s, v) = app.get("/api/v2/organizations/autocomplete.json?name=ac", &agent).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (ids(&v, "organizations"), v["count"].as_i64()),
        (vec![acme, acme_labs], Some(2))
    );
    assert!(v["organizations"][0]["notes"].is_string(), "staff see the notes");
    assert_eq!(
        ids(
            &app.get("/api/v2/organizations/autocomplete?name=acme%20l", &admin)
                .await
                .1,
            "organizations"
        ),
        vec![acme_labs]
    );
    // Starts with, not contains.
    assert!(
        ids(
            &app.get("/api/v2/organizations/autocomplete?name=labs", &admin).await.1,
            "organizations"
        )
        .is_empty()
    );
    // A partner: their own organization when it matches, without staff notes; nothing else.
    let (_, v) = app.get("/api/v2/organizations/autocomplete?name=ac", &pat).await;
    assert_eq!(ids(&v, "organizations"), vec![acme]);
    assert!(v["organizations"][0].get("notes").is_none(), "{v}");
    assert!(
        ids(
            &app.get("/api/v2/organizations/autocomplete?name=ac", &gil).await.1,
            "organizations"
        )
        .is_empty()
    );
    assert!(
        ids(
            &app.get("/api/v2/organizations/autocomplete?name=gl", &loner).await.1,
            "organizations"
        )
        .is_empty()
    );
    for bad in ["", "?name=a", "?name=%20a%20", "?name="] {
        let (s, v) = app
            .get(&format!("/api/v2/organizations/autocomplete{bad}"), &admin)
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {v}");
        assert!(v["description"].as_str().unwrap().contains("name"), "{v}");
    }

    // Search: the whole name, case-insensitive.
    let (s, v) = app
        .get("/api/v2/organizations/search.json?name=acme%20INTEGRATIONS", &agent)
        .await;
    assert_eq!((s, ids(&v, "organizations")), (StatusCode::OK, vec![acme]), "{v}");
    assert!(
        ids(
            &app.get("/api/v2/organizations/search?name=acme", &agent).await.1,
            "organizations"
        )
        .is_empty()
    );
    assert_eq!(
        ids(
            &app.get("/api/v2/organizations/search?name=Acme%20Integrations", &pat)
                .await
                .1,
            "organizations"
        ),
        vec![acme]
    );
    assert!(
        ids(
            &app.get("/api/v2/organizations/search?name=Acme%20Integrations", &gil)
                .await
                .1,
            "organizations"
        )
        .is_empty()
    );
    let (s, v) = app.get("/api/v2/organizations/search?external_id=42", &admin).await;
    assert_eq!((s, ids(&v, "organizations")), (StatusCode::OK, vec![]));
    assert_eq!(
        app.get("/api/v2/organizations/search", &admin).await.0,
        StatusCode::BAD_REQUEST
    );
});

db_test!(tickets_by_external_id, |app: TestApp| async move {
    use serde_json::json;
    let admin = app.admin().await;
    let agent = app.user("agent@vendor.test", "agent", None).await;
    let acme = app.org(&admin, "Acme Integrations", true).await;
    let globex = app.org(&admin, "Globex", true).await;
    let pat = app.user("pat@acme.example", "end-user", Some(acme)).await;
    let gil = app.user("gil@globex.example", "end-user", Some(globex)).await;
    let mut made = Vec::new();
    for (n, x) in [(1, Some("sf-1")), (2, Some("sf-2")), (3, None)] {
        let (s, v) = app
            .post(
                "/api/v2/tickets.json",
                &agent,
                json!({"ticket": {"subject": format!("Ticket {n}"), "comment": {"body": "text"},
                    "requester_id": pat.id, "external_id": x}}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        made.push(v["ticket"]["id"].as_i64().unwrap());
    }

    // Both spellings of the path; the answer is the list envelope with the one ticket.
    for path in [
        "/api/v2/tickets.json?external_id=sf-2",
        "/api/v2/tickets?external_id=sf-2",
    ] {
        let (s, v) = app.get(path, &agent).await;
        assert_eq!(s, StatusCode::OK, "{path}: {v}");
        assert_eq!(
            (ids(&v, "tickets"), v["count"].as_i64()),
            (vec![made[1]], Some(1)),
            "{path}: {v}"
        );
        assert_eq!(v["tickets"][0]["external_id"], "sf-2", "{v}");
    }
    // Stored trimmed, looked up trimmed; with other filters it narrows further.
    assert_eq!(
        ids(
            &app.get("/api/v2/tickets.json?external_id=%20sf-1%20", &admin).await.1,
            "tickets"
        ),
        vec![made[0]]
    );
    assert!(
        ids(
            &app.get("/api/v2/tickets.json?external_id=sf-1&status=solved", &admin)
                .await
                .1,
            "tickets"
        )
        .is_empty()
    );
    // Nobody's: an empty list, not a 404.
    let (s, v) = app.get("/api/v2/tickets.json?external_id=nope", &agent).await;
    assert_eq!(
        (s, ids(&v, "tickets"), v["count"].as_i64()),
        (StatusCode::OK, vec![], Some(0)),
        "{v}"
    );
    // The partner of the ticket's organization finds it; a partner of another organization finds nothing.
    assert_eq!(
        ids(
            &app.get("/api/v2/tickets.json?external_id=sf-1", &pat).await.1,
            "tickets"
        ),
        vec![made[0]]
    );
    let (s, v) = app.get("/api/v2/tickets.json?external_id=sf-1", &gil).await;
    assert_eq!(
        (s, ids(&v, "tickets"), v["count"].as_i64()),
        (StatusCode::OK, vec![], Some(0)),
        "{v}"
    );
    // A blank external id is a bad request, as for users and organizations.
    let (s, v) = app.get("/api/v2/tickets.json?external_id=%20", &agent).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
});
