//! Incremental exports (`/api/v2/incremental/...`): change order, cursors and time-based paging, staff only, precise
//! 400s for bad input; and the guarantee that matters: an export running while tickets keep changing loses nothing.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{Creds, TestApp};

/// Long enough for what was just written to be before the export's horizon (it trails the clock by this margin).
async fn settle() {
    let margin = partnerdesk_db::exports::CLOCK_MARGIN.to_std().unwrap();
    tokio::time::sleep(margin + Duration::from_millis(300)).await;
}

fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// The path (and query) of an absolute URL the server handed out.
fn local(app: &TestApp, url: &Value) -> String {
    url.as_str().unwrap().strip_prefix(&app.base).unwrap().to_owned()
}

fn ids(v: &Value, key: &str) -> Vec<i64> {
    v[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_i64().unwrap())
        .collect()
}

async fn ticket(app: &TestApp, who: &Creds, subject: &str) -> i64 {
    let body = json!({"ticket": {"subject": subject, "comment": {"body": "Details."}}});
    let (s, v) = app.post("/api/v2/tickets.json", who, body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["ticket"]["id"].as_i64().unwrap()
}

async fn rename(app: &TestApp, who: &Creds, id: i64, subject: &str) -> Value {
    let body = json!({"ticket": {"subject": subject}});
    let (s, v) = app.put(&format!("/api/v2/tickets/{id}.json"), who, body).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["ticket"].clone()
}

/// Follows a cursor export from `first` until `end_of_stream`; returns its records and the last page.
async fn drain(app: &TestApp, who: &Creds, first: &str, key: &str) -> (Vec<Value>, Value) {
    let mut path = first.to_owned();
    let mut all = Vec::new();
    loop {
        let (s, v) = app.get(&path, who).await;
        assert_eq!(s, StatusCode::OK, "{path}: {v}");
        all.extend(v[key].as_array().unwrap().iter().cloned());
        if v["end_of_stream"] == json!(true) {
            return (all, v);
        }
        path = local(app, &v["after_url"]);
    }
}

async fn assert_400(app: &TestApp, who: &Creds, path: &str, says: &str) {
    let (s, v) = app.get(path, who).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{path}: {v}");
    let description = v["description"].as_str().unwrap_or_default();
    assert!(
        description.contains(says),
        "{path}: '{description}' does not say '{says}'"
    );
}

db_test!(cursor_exports, |app: TestApp| async move {
    let admin = app.admin().await;
    let agent = app.user("agent@vendor.test", "agent", None).await;
    let acme = app.org(&admin, "Acme", true).await;
    let pat = app.user("pat@acme.test", "end-user", Some(acme)).await;
    let start = unix_now() - 60;
    let a = ticket(&app, &admin, "First").await;
    let b = ticket(&app, &admin, "Second").await;
    let c = ticket(&app, &admin, "Third").await;
    rename(&app, &admin, a, "First, renamed").await;
    settle().await;

    // In change order, two at a time: `a` changed last. Agents may export too.
    let first = format!("/api/v2/incremental/tickets/cursor.json?start_time={start}&per_page=2");
    let (s, page) = app.get(&first, &agent).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert_eq!(ids(&page, "tickets"), vec![b, c]);
    assert_eq!(page["end_of_stream"], json!(false));
    assert_eq!(page["before_cursor"], Value::Null);
    assert_eq!(page["tickets"][0]["subject"], "Second");
    assert!(
        page["tickets"][0]["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/api/v2/tickets/{b}.json"))
    );
    let next = local(&app, &page["after_url"]);
    assert!(
        next.starts_with("/api/v2/incremental/tickets/cursor.json?cursor=") && next.contains("per_page=2"),
        "{next}"
    );
    let (s, page) = app.get(&next, &agent).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert_eq!(ids(&page, "tickets"), vec![a]);
    assert_eq!(page["tickets"][0]["subject"], "First, renamed");
    assert_eq!(page["end_of_stream"], json!(true), "caught up");

    // Caught up: the same cursor later hands out only what changed since, then nothing.
    let cursor = page["after_cursor"].as_str().unwrap().to_owned();
    rename(&app, &admin, b, "Second, renamed").await;
    settle().await;
    let (s, page) = app
        .get(&format!("/api/v2/incremental/tickets/cursor?cursor={cursor}"), &admin)
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert_eq!(ids(&page, "tickets"), vec![b]);
    assert_eq!(page["end_of_stream"], json!(true));
    let (_, again) = app.get(&local(&app, &page["after_url"]), &admin).await;
    assert_eq!(ids(&again, "tickets"), Vec::<i64>::new());
    assert_eq!(
        again["after_cursor"], page["after_cursor"],
        "an empty page stays where it was"
    );

    // Users likewise, with their own view; a start after everything answers an empty page.
    let (users, _) = drain(
        &app,
        &admin,
        &format!("/api/v2/incremental/users/cursor.json?start_time={start}"),
        "users",
    )
    .await;
    let exported: Vec<i64> = users.iter().map(|u| u["id"].as_i64().unwrap()).collect();
    for who in [&admin, &agent, &pat] {
        assert!(exported.contains(&who.id), "{who:?} missing from {exported:?}");
    }
    assert!(
        users
            .iter()
            .any(|u| u["email"] == "pat@acme.test" && u["role"] == "end-user")
    );
    let (s, v) = app
        .get(
            &format!("/api/v2/incremental/users/cursor?start_time={}", unix_now()),
            &admin,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (v["users"].as_array().unwrap().len(), &v["end_of_stream"]),
        (0, &json!(true))
    );

    // End-users may not export anything.
    for path in [
        format!("/api/v2/incremental/tickets/cursor.json?start_time={start}"),
        format!("/api/v2/incremental/users/cursor?start_time={start}"),
        format!("/api/v2/incremental/organizations.json?start_time={start}"),
        format!("/api/v2/incremental/ticket_events?start_time={start}"),
    ] {
        let (s, v) = app.get(&path, &pat).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{path}: {v}");
    }

    // Bad input: a precise 400.
    let t = "/api/v2/incremental/tickets/cursor.json";
    assert_400(&app, &admin, t, "start_time is required").await;
    assert_400(
        &app,
        &admin,
        &format!("{t}?start_time=yesterday"),
        "start_time must be a Unix time in seconds, not 'yesterday'",
    )
    .await;
    assert_400(
        &app,
        &admin,
        &format!("{t}?start_time=-5"),
        "start_time must be a Unix time",
    )
    .await;
    assert_400(
        &app,
        &admin,
        &format!("{t}?start_time={}", unix_now() + 3600),
        "is in the future",
    )
    .await;
    assert_400(
        &app,
        &admin,
        &format!("{t}?start_time={start}&per_page=0"),
        "per_page must be between 1 and 1000",
    )
    .await;
    assert_400(
        &app,
        &admin,
        &format!("{t}?start_time={start}&per_page=1001"),
        "per_page must be between 1 and 1000",
    )
    .await;
    assert_400(
        &app,
        &admin,
        &format!("{t}?start_time={start}&per_page=ten"),
        "per_page must be an integer",
    )
    .await;
    assert_400(
        &app,
        &admin,
        &format!("{t}?cursor=bm9wZQ"),
        "is not a cursor this server issued",
    )
    .await;
    assert_400(
        &app,
        &admin,
        &format!("{t}?cursor=undefined"),
        "is not a cursor this server issued",
    )
    .await;
    let (_, users_page) = app
        .get(&format!("/api/v2/incremental/users/cursor?start_time={start}"), &admin)
        .await;
    let users_cursor = users_page["after_cursor"].as_str().unwrap();
    assert_400(
        &app,
        &admin,
        &format!("{t}?cursor={users_cursor}"),
        "belongs to the users export",
    )
    .await;
});

db_test!(time_based_exports, |app: TestApp| async move {
    let admin = app.admin().await;
    let start = unix_now() - 60;
    let acme = app.org(&admin, "Acme", true).await;
    let globex = app.org(&admin, "Globex", false).await;
    let id = ticket(&app, &admin, "Webhooks").await;
    let note = json!({"body": "Which version?", "public": false});
    let body = json!({"ticket": {"status": "pending", "tags": ["sync"], "comment": note}});
    let (s, v) = app.put(&format!("/api/v2/tickets/{id}.json"), &admin, body).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    settle().await;

    // Organizations: Zendesk's time-based shape; staff see the notes.
    let (s, v) = app
        .get(
            &format!("/api/v2/incremental/organizations.json?start_time={start}"),
            &admin,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(ids(&v, "organizations"), vec![acme, globex]);
    assert_eq!((v["count"].as_i64(), &v["end_of_stream"]), (Some(2), &json!(true)));
    assert_eq!(v["organizations"][0]["notes"], "notes of Acme");
    let end_time = v["end_time"].as_i64().unwrap();
    assert!((start..=unix_now()).contains(&end_time), "{end_time}");
    let next = local(&app, &v["next_page"]);
    assert!(next.contains(&format!("start_time={end_time}")), "{next}");
    let (s, v) = app.get(&next, &admin).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!((v["count"].as_i64(), &v["end_of_stream"]), (Some(0), &json!(true)));
    assert_eq!(v["end_time"].as_i64(), Some(end_time), "nothing new: the same end_time");
    // Paged one at a time, next_page goes on exactly after the last one (even within one second).
    let (_, v) = app
        .get(
            &format!("/api/v2/incremental/organizations?start_time={start}&per_page=1"),
            &admin,
        )
        .await;
    assert_eq!(
        (ids(&v, "organizations"), &v["end_of_stream"]),
        (vec![acme], &json!(false))
    );
    let (_, v) = app.get(&local(&app, &v["next_page"]), &admin).await;
    assert_eq!(ids(&v, "organizations"), vec![globex]);

    // Ticket events: the creation with every field, then the update with what it changed.
    let (s, v) = app
        .get(
            &format!("/api/v2/incremental/ticket_events.json?start_time={start}"),
            &admin,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let events: Vec<&Value> = v["ticket_events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["ticket_id"] == id)
        .collect();
    assert_eq!(events.len(), 2, "{v}");
    let (create, update) = (events[0], events[1]);
    assert_eq!(
        (create["event_type"].as_str(), create["updater_id"].as_i64()),
        (Some("Create"), Some(admin.id))
    );
    assert_eq!(create["via"], "api");
    assert!(create["timestamp"].as_i64().unwrap() >= start);
    let subject = create["child_events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["field_name"] == "subject")
        .unwrap();
    assert_eq!(
        (&subject["value"], &subject["previous_value"], &subject["event_type"]),
        (&json!("Webhooks"), &Value::Null, &json!("Create"))
    );
    assert_eq!(update["event_type"], "Update");
    assert_eq!(
        (&update["comment_present"], &update["comment_public"]),
        (&json!(true), &json!(false))
    );
    let mut changed: Vec<(String, Value, Value)> = update["child_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["field_name"].as_str().unwrap().to_owned(),
                c["value"].clone(),
                c["previous_value"].clone(),
            )
        })
        .collect();
    changed.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        changed,
        vec![
            ("status".to_owned(), json!("pending"), json!("new")),
            ("tags".to_owned(), json!(["sync"]), json!([])),
        ]
    );
    assert!(update["id"].as_i64() > create["id"].as_i64());
    let (s, v) = app.get(&local(&app, &v["next_page"]), &admin).await;
    assert_eq!((s, v["count"].as_i64()), (StatusCode::OK, Some(0)), "{v}");
    assert_400(
        &app,
        &admin,
        "/api/v2/incremental/ticket_events.json?start_time=1e9",
        "start_time must be a Unix time",
    )
    .await;
    assert_400(
        &app,
        &admin,
        "/api/v2/incremental/organizations",
        "start_time is required",
    )
    .await;
});

const TICKETS: usize = 40;
const WRITERS: usize = 4;
const ROUNDS: usize = 3;

// An export loop polls the cursor export while writers keep changing tickets (each writer its own tickets, round
// after round, with an internal note, so that each transaction does some work after taking its time). Every
// ticket's last state seen by the export must be its final state: a change committed while the export ran was
// handed out then, or later. The last round alone is 40 changes that no later change can make up for.
db_test!(export_under_concurrent_writes, |app: TestApp| async move {
    let admin = app.admin().await;
    let start = unix_now() - 1;
    let mut ids = Vec::new();
    for n in 0..TICKETS {
        ids.push(ticket(&app, &admin, &format!("ticket {n}")).await);
    }
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (app, admin) = (app.clone(), admin.clone());
            let mine: Vec<i64> = ids.iter().copied().skip(w).step_by(WRITERS).collect();
            tokio::spawn(async move {
                for round in 0..ROUNDS {
                    for id in &mine {
                        let body = json!({"ticket": {"subject": format!("writer {w} round {round}"),
                            "comment": {"body": "Looked at it.", "public": false}}});
                        let (s, v) = app.put(&format!("/api/v2/tickets/{id}.json"), &admin, body).await;
                        assert_eq!(s, StatusCode::OK, "{v}");
                    }
                }
            })
        })
        .collect();

    let mut seen: HashMap<i64, (String, String)> = HashMap::new();
    let mut last: Option<(String, i64)> = None;
    let mut path = format!("/api/v2/incremental/tickets/cursor.json?start_time={start}&per_page=5");
    let mut writers_done: Option<Instant> = None;
    let mut pages = 0;
    loop {
        let asked_at = Instant::now();
        let (s, page) = app.get(&path, &admin).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        pages += 1;
        for t in page["tickets"].as_array().unwrap() {
            let (id, at) = (t["id"].as_i64().unwrap(), t["updated_at"].as_str().unwrap().to_owned());
            // Change order, strictly increasing: (updated_at, id).
            let position = (at.clone(), id);
            if let Some(previous) = &last {
                assert!(
                    chrono_of(&position.0) > chrono_of(&previous.0) || (position.0 == previous.0 && id > previous.1),
                    "{previous:?} then {position:?}"
                );
            }
            last = Some(position);
            seen.insert(id, (t["subject"].as_str().unwrap().to_owned(), at));
        }
        path = local(&app, &page["after_url"]);
        if writers_done.is_none() && writers.iter().all(|w| w.is_finished()) {
            writers_done = Some(Instant::now());
        }
        // Done when caught up on a request made after every write was in and the horizon had passed it.
        let margin = partnerdesk_db::exports::CLOCK_MARGIN.to_std().unwrap() + Duration::from_millis(300);
        if page["end_of_stream"] == json!(true) && writers_done.is_some_and(|done| asked_at > done + margin) {
            break;
        }
        if page["end_of_stream"] == json!(true) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    for w in writers {
        w.await.unwrap();
    }
    assert!(pages > 3, "the export ran alongside the writes");
    for id in &ids {
        let (s, v) = app.get(&format!("/api/v2/tickets/{id}.json"), &admin).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let now = (
            v["ticket"]["subject"].as_str().unwrap().to_owned(),
            v["ticket"]["updated_at"].as_str().unwrap().to_owned(),
        );
        assert_eq!(
            seen.get(id),
            Some(&now),
            "ticket {id}: the export's last state is not its final state"
        );
    }
});

fn chrono_of(s: &str) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(s).unwrap()
}
