//! Search: the query language over tickets, users and organizations, on both databases with the same answers;
//! partners find only their organization's tickets and never by the words of an internal note; bad queries
//! are refused with the position; the export pages by cursor through every result while tickets change.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{Creds, TestApp};

fn ids(v: &Value) -> BTreeSet<i64> {
    v["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results in {v}"))
        .iter()
        .map(|x| x["id"].as_i64().unwrap())
        .collect()
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn search(app: &TestApp, who: &Creds, query: &str) -> Value {
    let (s, v) = app
        .get(&format!("/api/v2/search.json?query={}", encode(query)), who)
        .await;
    assert_eq!(s, StatusCode::OK, "{query}: {v}");
    v
}

/// Ticket ids a query finds.
async fn found(app: &TestApp, who: &Creds, query: &str) -> BTreeSet<i64> {
    let v = search(app, who, &format!("type:ticket {query}")).await;
    assert_eq!(v["count"].as_i64(), Some(ids(&v).len() as i64), "{query}: {v}");
    ids(&v)
}

async fn ticket(app: &TestApp, agent: &Creds, body: Value) -> i64 {
    let (s, v) = app.post("/api/v2/tickets.json", agent, json!({ "ticket": body })).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["ticket"]["id"].as_i64().unwrap()
}

async fn comment(app: &TestApp, who: &Creds, id: i64, body: &str, public: bool) {
    let change = json!({"ticket": {"comment": {"body": body, "public": public}}});
    let (s, v) = app.put(&format!("/api/v2/tickets/{id}.json"), who, change).await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

fn set(ids: &[i64]) -> BTreeSet<i64> {
    ids.iter().copied().collect()
}

db_test!(query_language, |app: TestApp| async move {
    let admin = app.admin().await;
    let acme = app.org(&admin, "Acme Integrations", true).await;
    let globex = app.org(&admin, "Globex Connectors", true).await;
    let pat = app.user("pat@acme.example", "end-user", Some(acme)).await;
    let gil = app.user("gil@globex.example", "end-user", Some(globex)).await;
    let ann = app.user("ann@vendor.example", "agent", None).await;

    let webhook = ticket(&app, &ann, json!({"subject": "Webhook returns 502", "comment": {"body": "Our webhook to the Bad Gateway fails since Tuesday."},
        "requester_id": pat.id, "tags": ["webhooks", "p1"], "priority": "high"})).await;
    let sync = ticket(
        &app,
        &ann,
        json!({"subject": "Contact sync stalls", "comment": {"body": "Sync of contacts stops at 10,000 records."},
        "requester_id": pat.id, "tags": ["sync"], "priority": "low", "status": "pending"}),
    )
    .await;
    let café = ticket(&app, &ann, json!({"subject": "Café locale breaks the connector", "comment": {"body": "Accents in names break the mapping."},
        "requester_id": gil.id, "tags": ["locale", "p1"], "status": "solved", "assignee_id": ann.id})).await;
    comment(
        &app,
        &ann,
        sync,
        "Escalated to engineering; zebrafish is the internal codename.",
        false,
    )
    .await;
    comment(&app, &pat, webhook, "Retried with backoff, still failing.", true).await;

    // Words match whole or as the start of a word, anywhere; phrases in order; case and accents do not matter.
    assert_eq!(found(&app, &ann, "webhook").await, set(&[webhook]));
    assert_eq!(found(&app, &ann, "WEBHOOK").await, set(&[webhook]));
    assert_eq!(found(&app, &ann, "sync").await, set(&[sync]));
    assert_eq!(
        found(&app, &ann, "retr").await,
        set(&[webhook]),
        "a prefix, in a later comment"
    );
    assert_eq!(found(&app, &ann, "\"bad gateway\"").await, set(&[webhook]));
    assert_eq!(found(&app, &ann, "\"gateway bad\"").await, set(&[]));
    assert_eq!(found(&app, &ann, "cafe").await, set(&[café]));
    assert_eq!(found(&app, &ann, "break -accents").await, set(&[]));
    assert_eq!(found(&app, &ann, "break").await, set(&[café]));
    assert_eq!(found(&app, &ann, "subject:connector").await, set(&[café]));
    assert_eq!(found(&app, &ann, "subject:mapping").await, set(&[]));
    assert_eq!(found(&app, &ann, "description:mapping").await, set(&[café]));
    assert_eq!(
        found(&app, &ann, &webhook.to_string()).await,
        set(&[webhook]),
        "a bare number is the ticket id"
    );
    // Properties.
    assert_eq!(found(&app, &ann, "status:pending").await, set(&[sync]));
    assert_eq!(found(&app, &ann, "status<solved").await, set(&[webhook, sync]));
    assert_eq!(found(&app, &ann, "status>=solved").await, set(&[café]));
    assert_eq!(
        found(&app, &ann, "status:new status:pending").await,
        set(&[webhook, sync]),
        "alternatives"
    );
    assert_eq!(found(&app, &ann, "priority>=normal").await, set(&[webhook]));
    assert_eq!(found(&app, &ann, "priority:none").await, set(&[café]));
    assert_eq!(
        found(&app, &ann, "-priority:high").await,
        set(&[sync, café]),
        "no priority is not high"
    );
    assert_eq!(
        found(&app, &ann, "organization:\"acme integrations\"").await,
        set(&[webhook, sync])
    );
    assert_eq!(found(&app, &ann, "organization:Nobody").await, set(&[]));
    assert_eq!(found(&app, &ann, "requester:gil@globex.example").await, set(&[café]));
    assert_eq!(found(&app, &ann, "assignee:me").await, set(&[café]));
    assert_eq!(found(&app, &ann, "assignee:none").await, set(&[webhook, sync]));
    assert_eq!(found(&app, &ann, "tags:p1").await, set(&[webhook, café]));
    assert_eq!(found(&app, &ann, "tags:p1 -tags:locale").await, set(&[webhook]));
    // Untyped, a negated property searches tickets (people and organizations take no negated filters).
    assert_eq!(ids(&search(&app, &ann, "-tags:locale tags:p1").await), set(&[webhook]));
    assert_eq!(
        found(&app, &ann, "re").await,
        set(&[]),
        "a two-letter word matches only whole"
    );
    assert_eq!(found(&app, &ann, "tags:sync tags:locale").await, set(&[sync, café]));
    assert_eq!(found(&app, &ann, "via:api").await, set(&[webhook, sync, café]));
    assert_eq!(found(&app, &ann, "via:email").await, set(&[]));
    assert_eq!(found(&app, &ann, "created>2020-01-01 created<1minutes").await, set(&[]));
    assert_eq!(
        found(&app, &ann, "created>10minutes").await,
        set(&[webhook, sync, café])
    );
    assert_eq!(found(&app, &ann, "updated<2020-01-01").await, set(&[]));
    assert_eq!(found(&app, &ann, "solved>1hours").await, set(&[café]));
    assert_eq!(found(&app, &ann, "escalated:false").await, set(&[webhook, sync, café]));
    assert_eq!(found(&app, &ann, "escalated:true").await, set(&[]));
    assert_eq!(
        found(&app, &ann, "webhook status:new organization:\"Acme Integrations\"").await,
        set(&[webhook])
    );

    // Internal notes: staff find them; a partner never matches on them, not even by excluding the word.
    assert_eq!(found(&app, &ann, "zebrafish").await, set(&[sync]));
    assert_eq!(found(&app, &pat, "zebrafish").await, set(&[]));
    assert_eq!(found(&app, &pat, "sync -zebrafish").await, set(&[sync]));
    assert_eq!(found(&app, &pat, "sync").await, set(&[sync]));
    // Another organization's tickets are not there for a partner, whatever the query.
    assert_eq!(found(&app, &pat, "break").await, set(&[]));
    assert_eq!(found(&app, &pat, "tags:p1").await, set(&[webhook]));
    assert_eq!(found(&app, &gil, &sync.to_string()).await, set(&[]));
    assert_eq!(found(&app, &gil, "status<closed").await, set(&[café]));

    // Order: newest first by default; order_by and sort_by.
    let order = |v: &Value| -> Vec<i64> {
        v["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["id"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(
        order(&search(&app, &ann, "type:ticket").await),
        vec![café, sync, webhook]
    );
    assert_eq!(
        order(&search(&app, &ann, "type:ticket order_by:priority sort:asc").await),
        vec![café, sync, webhook]
    );
    let (s, v) = app
        .get(
            "/api/v2/search.json?query=type%3Aticket&sort_by=priority&sort_order=desc",
            &ann,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(order(&v), vec![webhook, sync, café]);
    // Offset pages.
    let (s, v) = app
        .get("/api/v2/search.json?query=type%3Aticket&per_page=2&page=2", &ann)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!((order(&v), v["count"].as_i64()), (vec![webhook], Some(3)));
    assert!(v["next_page"].is_null() && v["previous_page"].is_string(), "{v}");

    // Every type, with result_type; users by name and e-mail, organizations by name and domain.
    let v = search(&app, &ann, "acme").await;
    let kinds: BTreeSet<(String, i64)> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["result_type"].as_str().unwrap().to_owned(), r["id"].as_i64().unwrap()))
        .collect();
    assert!(
        kinds.contains(&("user".to_owned(), pat.id)) && kinds.contains(&("organization".to_owned(), acme)),
        "{v}"
    );
    assert_eq!(ids(&search(&app, &ann, "type:user gil").await), set(&[gil.id]));
    assert_eq!(
        ids(&search(&app, &ann, "type:user role:agent ann").await),
        set(&[ann.id])
    );
    assert_eq!(
        ids(&search(&app, &ann, "type:organization globex").await),
        set(&[globex])
    );
    let without_gil = ids(&search(&app, &ann, "type:user -gil").await);
    assert!(
        without_gil.contains(&pat.id) && !without_gil.contains(&gil.id),
        "{without_gil:?}"
    );
    // A partner finds themselves and their organization only.
    assert_eq!(ids(&search(&app, &pat, "type:user gil").await), set(&[]));
    assert_eq!(ids(&search(&app, &pat, "type:organization globex").await), set(&[]));
    assert_eq!(ids(&search(&app, &pat, "type:organization acme").await), set(&[acme]));

    // Count.
    let (s, v) = app
        .get("/api/v2/search/count.json?query=type%3Aticket+tags%3Ap1", &ann)
        .await;
    assert_eq!((s, v["count"].as_i64()), (StatusCode::OK, Some(2)), "{v}");
});

db_test!(organization_notes_are_for_staff, |app: TestApp| async move {
    let admin = app.admin().await;
    let acme = app.org(&admin, "Acme Integrations", true).await;
    let pat = app.user("pat@acme.example", "end-user", Some(acme)).await;
    let (s, v) = app
        .put(
            &format!("/api/v2/organizations/{acme}.json"),
            &admin,
            json!({"organization": {"notes": "Renewal wobbly: handle with care"}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        ids(&search(&app, &admin, "type:organization wobbly").await),
        set(&[acme])
    );
    assert_eq!(ids(&search(&app, &pat, "type:organization wobbly").await), set(&[]));
    assert_eq!(ids(&search(&app, &pat, "type:organization acme").await), set(&[acme]));
});

db_test!(bad_queries_say_where, |app: TestApp| async move {
    let admin = app.admin().await;
    for (query, at) in [
        ("webhook colour:red", "character 9"),
        ("status:opened", "character 8"),
        ("subject:\"never closed", "character 9"),
        ("created>yesterday", "character 9"),
    ] {
        let (s, v) = app
            .get(&format!("/api/v2/search.json?query={}", encode(query)), &admin)
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{query}: {v}");
        assert!(v.to_string().contains(at), "{query}: {v}");
    }
    for path in [
        "/api/v2/search.json",
        "/api/v2/search.json?query=",
        "/api/v2/search.json?query=x&sort_by=colour",
        "/api/v2/search.json?query=x&sort_order=up",
        "/api/v2/search/export.json?query=x",
        "/api/v2/search/export.json?query=x&filter%5Btype%5D=group",
        "/api/v2/search/export.json?query=x&filter%5Btype%5D=ticket&page%5Bafter%5D=nonsense",
        "/api/v2/search/export.json?query=type%3Auser&filter%5Btype%5D=ticket",
        "/api/v2/search.json?query=x&page=101&per_page=100",
    ] {
        let (s, v) = app.get(path, &admin).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{path}: {v}");
    }
    // Control characters are refused like in every other parameter (422 naming it).
    for path in [
        "/api/v2/search.json?query=a%00b",
        "/api/v2/search/count.json?query=tags%3Ax%07",
    ] {
        let (s, v) = app.get(path, &admin).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {v}");
        assert!(v["details"]["query"].is_array(), "{v}");
    }
    let long = "a".repeat(1001);
    let (s, _) = app.get(&format!("/api/v2/search.json?query={long}"), &admin).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
});

db_test!(export_loses_nothing_while_tickets_change, |app: TestApp| async move {
    let admin = app.admin().await;
    let acme = app.org(&admin, "Acme Integrations", true).await;
    let pat = app.user("pat@acme.example", "end-user", Some(acme)).await;
    let ann = app.user("ann@vendor.example", "agent", None).await;
    let mut all = BTreeSet::new();
    for i in 0..60 {
        all.insert(ticket(&app, &ann, json!({"subject": format!("Export case {i}"), "comment": {"body": "Exportable."}, "requester_id": pat.id})).await);
    }
    // While the export pages through, every ticket is updated (and new ones filed): the export still lists
    // each ticket that matched when it began exactly once.
    let writer = {
        let (app, ann) = (app.clone(), ann.clone());
        let ids: Vec<i64> = all.iter().copied().collect();
        tokio::spawn(async move {
            for id in ids {
                comment(&app, &ann, id, "Exportable, and touched.", true).await;
            }
            for i in 0..10 {
                ticket(&app, &ann, json!({"subject": format!("Late case {i}"), "comment": {"body": "Exportable."}, "requester_id": pat.id})).await;
            }
        })
    };
    let mut seen = Vec::new();
    let mut url = "/api/v2/search/export.json?query=exportable&filter%5Btype%5D=ticket&page%5Bsize%5D=7".to_owned();
    loop {
        let (s, v) = app.get(&url, &ann).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        seen.extend(
            v["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_i64().unwrap()),
        );
        match v["links"]["next"].as_str() {
            Some(next) => {
                assert_eq!(v["meta"]["has_more"], true);
                url = next.trim_start_matches(&app.base).to_owned();
            }
            None => break,
        }
    }
    writer.await.unwrap();
    let unique: BTreeSet<i64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "no ticket twice");
    assert!(
        all.is_subset(&unique),
        "every ticket that matched at the start is exported"
    );
});

db_test!(admin_reindex_writes_the_index_again, |app: TestApp| async move {
    let admin = app.admin().await;
    let ann = app.user("ann@vendor.example", "agent", None).await;
    let id = ticket(&app, &ann, json!({"subject": "Quokka feed drops", "comment": {"body": "Nightly."}, "tags": ["feeds"], "requester_id": admin.id})).await;
    assert_eq!(found(&app, &ann, "quokka tags:feeds").await, set(&[id]));
    // The index lost (as after restoring a backup without it): nothing is found...
    let mut conn = app.db.conn();
    let wipe = match app.db.backend() {
        partnerdesk_db::Backend::Sqlite => "INSERT INTO ticket_text (ticket_text) VALUES ('delete-all')",
        partnerdesk_db::Backend::Postgres => "DELETE FROM ticket_search",
    };
    conn.execute(wipe, &[]).await.unwrap();
    conn.execute("DELETE FROM ticket_tags", &[]).await.unwrap();
    assert_eq!(found(&app, &ann, "quokka").await, set(&[]));
    assert_eq!(found(&app, &ann, "tags:feeds").await, set(&[]));
    // ... until `partnerdesk admin reindex` has run, beside the running server.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_partnerdesk"))
        .args(["admin", "reindex"])
        .envs(app.vars.iter().map(|(k, v)| (*k, v.as_str())))
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("indexed 1 tickets"));
    assert_eq!(found(&app, &ann, "quokka tags:feeds").await, set(&[id]));
});
