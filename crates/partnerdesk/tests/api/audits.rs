//! The audit log through Zendesk's APIs: a ticket's audits (end-users for tickets they see, never an internal
//! note), and `/audit_logs` for admins with its filters.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::TestApp;

fn events_of<'a>(audit: &'a Value, kind: &str) -> Vec<&'a Value> {
    audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == kind)
        .collect()
}

db_test!(
    ticket_audits_hide_internal_notes_from_partners,
    |app: TestApp| async move {
        let admin = app.admin().await;
        let agent = app.user("agent@vendor.test", "agent", None).await;
        let acme = app.org(&admin, "Acme Integrations", true).await;
        let globex = app.org(&admin, "Globex Connectors", true).await;
        let pat = app.user("pat@acme.example", "end-user", Some(acme)).await;
        let gil = app.user("gil@globex.example", "end-user", Some(globex)).await;
        let body = json!({"ticket": {"subject": "Sync", "comment": {"body": "Stalls."}, "requester_id": pat.id, "priority": "low"}});
        let (_, v) = app.post("/api/v2/tickets", &admin, body).await;
        let id = v["ticket"]["id"].as_i64().unwrap();
        let path = format!("/api/v2/tickets/{id}");
        // A status change with an internal note; an internal note alone; a public reply.
        let changes = [
            json!({"ticket": {"status": "pending", "comment": {"body": "secret: customer is on 1.2", "public": false}}}),
            json!({"ticket": {"comment": {"body": "secret again", "public": false}}}),
            json!({"ticket": {"priority": "high", "comment": {"body": "Which version?"}}}),
        ];
        for c in changes {
            let (s, v) = app.put(&path, &agent, c).await;
            assert_eq!(s, StatusCode::OK, "{v}");
        }
        let audits = format!("/api/v2/tickets/{id}/audits.json");

        let (s, v) = app.get(&audits, &agent).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let all = v["audits"].as_array().unwrap();
        assert_eq!((all.len(), v["count"].as_i64()), (4, Some(4)));
        // The creation: its first comment and a Create per field.
        assert_eq!(
            (all[0]["ticket_id"].as_i64(), all[0]["author_id"].as_i64()),
            (Some(id), Some(admin.id))
        );
        assert_eq!(events_of(&all[0], "Comment")[0]["body"], "Stalls.");
        let created: Vec<&str> = events_of(&all[0], "Create")
            .iter()
            .map(|e| e["field_name"].as_str().unwrap())
            .collect();
        assert!(
            created.contains(&"subject") && created.contains(&"priority"),
            "{created:?}"
        );
        // The first change: the status and the note, for staff.
        let status = events_of(&all[1], "Change");
        assert_eq!(
            (
                status[0]["field_name"].as_str(),
                status[0]["previous_value"].as_str(),
                status[0]["value"].as_str()
            ),
            (Some("status"), Some("new"), Some("pending"))
        );
        assert_eq!(events_of(&all[1], "Comment")[0]["public"], false);
        let priority = events_of(&all[3], "Change");
        assert!(
            priority
                .iter()
                .any(|e| e["field_name"] == "priority" && e["previous_value"] == "low" && e["value"] == "high")
        );

        // The partner: the same trail without the notes; the audit that was only a note is left out.
        let (s, v) = app.get(&audits, &pat).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let seen = v["audits"].as_array().unwrap();
        let ids: Vec<i64> = seen.iter().map(|a| a["id"].as_i64().unwrap()).collect();
        assert_eq!(
            ids,
            vec![
                all[0]["id"].as_i64().unwrap(),
                all[1]["id"].as_i64().unwrap(),
                all[3]["id"].as_i64().unwrap()
            ]
        );
        assert!(events_of(&seen[1], "Comment").is_empty(), "{}", seen[1]);
        assert_eq!(events_of(&seen[1], "Change")[0]["field_name"], "status");
        assert!(!v.to_string().contains("secret"), "{v}");

        // Another organization's ticket: not found; so is a ticket that does not exist.
        assert_eq!(app.get(&audits, &gil).await.0, StatusCode::NOT_FOUND);
        assert_eq!(
            app.get("/api/v2/tickets/999999/audits", &agent).await.0,
            StatusCode::NOT_FOUND
        );

        // Cursor pages (as zenpy reads them).
        let (s, v) = app.get(&format!("{audits}?page[size]=3"), &agent).await;
        assert_eq!(
            (s, v["meta"]["has_more"].as_bool()),
            (StatusCode::OK, Some(true)),
            "{v}"
        );
        let next = v["links"]["next"]
            .as_str()
            .unwrap()
            .trim_start_matches(&app.base)
            .to_owned();
        let (_, v) = app.get(&next, &agent).await;
        assert_eq!(
            (v["audits"].as_array().unwrap().len(), v["links"]["next"].is_null()),
            (1, true)
        );
    }
);

db_test!(audit_logs_for_admins_with_filters, |app: TestApp| async move {
    let admin = app.admin().await;
    let agent = app.user("agent@vendor.test", "agent", None).await;
    let acme = app.org(&admin, "Acme Integrations", true).await;
    let pat = app.user("pat@acme.example", "end-user", Some(acme)).await;
    let start = chrono::Utc::now();
    let body = json!({"ticket": {"subject": "Sync", "comment": {"body": "Stalls."}, "requester_id": pat.id}});
    let (_, v) = app.post("/api/v2/tickets", &agent, body).await;
    let ticket = v["ticket"]["id"].as_i64().unwrap();
    app.put(
        &format!("/api/v2/tickets/{ticket}"),
        &agent,
        json!({"ticket": {"status": "open"}}),
    )
    .await;
    let end = chrono::Utc::now();

    let (s, v) = app.get("/api/v2/audit_logs.json", &admin).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let logs = v["audit_logs"].as_array().unwrap();
    let ids: Vec<i64> = logs.iter().map(|l| l["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    assert_eq!(v["count"].as_i64(), Some(logs.len() as i64));
    let newest = &logs[0];
    assert_eq!(
        (
            newest["actor_id"].as_i64(),
            newest["source_id"].as_i64(),
            newest["source_type"].as_str(),
            newest["action"].as_str()
        ),
        (Some(agent.id), Some(ticket), Some("ticket"), Some("update"))
    );
    let description = newest["change_description"].as_str().unwrap();
    assert!(description.contains("status: \"new\" → \"open\""), "{description}");

    // Filters.
    let (_, v) = app
        .get(&format!("/api/v2/audit_logs?filter[actor_id]={}", agent.id), &admin)
        .await;
    let actions: Vec<&str> = v["audit_logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["action_label"].as_str().unwrap())
        .collect();
    assert_eq!(actions, vec!["ticket.update", "ticket.create"]);
    let (_, v) = app
        .get("/api/v2/audit_logs?filter%5Bsource_type%5D=organization", &admin)
        .await;
    assert_eq!(v["count"], 1, "{v}");
    assert_eq!(v["audit_logs"][0]["source_id"], acme);
    let span = |a: chrono::DateTime<chrono::Utc>, b: chrono::DateTime<chrono::Utc>| {
        let enc = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339().replace('+', "%2B");
        format!(
            "/api/v2/audit_logs?filter[created_at][]={}&filter[created_at][]={}",
            enc(a),
            enc(b)
        )
    };
    let (s, v) = app.get(&span(start, end), &admin).await;
    assert_eq!((s, v["count"].as_i64()), (StatusCode::OK, Some(2)), "{v}");
    let (_, v) = app.get(&span(end, start), &admin).await;
    assert_eq!(v["count"], 0, "a start after the end is an empty span");

    // Cursor pages, newest first.
    let (_, first) = app.get("/api/v2/audit_logs?page[size]=2", &admin).await;
    let next = first["links"]["next"]
        .as_str()
        .unwrap()
        .trim_start_matches(&app.base)
        .to_owned();
    let (_, second) = app.get(&next, &admin).await;
    assert!(second["audit_logs"][0]["id"].as_i64() < first["audit_logs"][1]["id"].as_i64());

    // One entry.
    let (s, v) = app.get(&format!("/api/v2/audit_logs/{}.json", ids[0]), &admin).await;
    assert_eq!(
        (s, v["audit_log"]["id"].as_i64()),
        (StatusCode::OK, Some(ids[0])),
        "{v}"
    );

    // Admins only.
    for who in [&agent, &pat] {
        assert_eq!(app.get("/api/v2/audit_logs", who).await.0, StatusCode::FORBIDDEN);
        assert_eq!(
            app.get(&format!("/api/v2/audit_logs/{}", ids[0]), who).await.0,
            StatusCode::FORBIDDEN
        );
    }
    // Bad filters: a 400 naming the parameter.
    for (query, name) in [
        ("filter[actor_id]=me", "filter[actor_id]"),
        ("filter[actor_id]=-2", "filter[actor_id]"),
        ("filter[source_type]=spaceship", "filter[source_type]"),
        ("filter[created_at][]=2024-01-01T00:00:00Z", "filter[created_at][]"),
        (
            "filter[created_at][]=yesterday&filter[created_at][]=2024-01-01T00:00:00Z",
            "filter[created_at][]",
        ),
    ] {
        let (s, v) = app.get(&format!("/api/v2/audit_logs?{query}"), &admin).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{query}: {v}");
        assert!(v["description"].as_str().unwrap().contains(name), "{query}: {v}");
    }
});
