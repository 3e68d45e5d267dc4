//! Two people saving the same record at the same moment: both changes persist, and each audit row's `before` is
//! the state its change was applied to (every row's `before` is the previous row's `after`).

use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::TestApp;

const ROUNDS: usize = 20;

/// The audit rows of one record's creation and updates, oldest first, as (before, after) JSON.
async fn audit_chain(app: &TestApp, entity_type: &str, id: i64) -> Vec<(Option<Value>, Option<Value>)> {
    let rows = app
        .db
        .conn()
        .fetch_all(
            "SELECT before_json, after_json FROM audit_log WHERE entity_type = ? AND entity_id = ? \
             AND action IN (?, ?) ORDER BY id",
            &[
                entity_type.into(),
                id.into(),
                format!("{entity_type}.create").into(),
                format!("{entity_type}.update").into(),
            ],
        )
        .await
        .unwrap();
    let parse = |s: Option<String>| s.map(|s| serde_json::from_str::<Value>(&s).unwrap());
    rows.iter()
        .map(|r| {
            (
                parse(r.opt_text("before_json").unwrap()),
                parse(r.opt_text("after_json").unwrap()),
            )
        })
        .collect()
}

/// A ticket's audit keeps `{ticket, comment}`; other records keep the record itself.
fn state_of(v: &Value) -> &Value {
    v.get("ticket").unwrap_or(v)
}

fn assert_chained(chain: &[(Option<Value>, Option<Value>)], updates: usize) {
    assert_eq!(chain.len(), updates + 1, "one row for the creation and one per update");
    for pair in chain.windows(2) {
        let previous_after = pair[0].1.as_ref().expect("after");
        let before = pair[1].0.as_ref().expect("before");
        assert_eq!(
            state_of(before),
            state_of(previous_after),
            "an update's before is not the state it was applied to"
        );
    }
}

db_test!(two_agents_update_one_ticket, |app: TestApp| async move {
    let admin = app.admin().await;
    let a = app.user("one@vendor.test", "agent", None).await;
    let b = app.user("two@vendor.test", "agent", None).await;
    let (_, v) = app
        .post(
            "/api/v2/tickets",
            &a,
            json!({"ticket": {"subject": "start", "comment": {"body": "first"}, "priority": "low"}}),
        )
        .await;
    let id = v["ticket"]["id"].as_i64().unwrap();
    let path = format!("/api/v2/tickets/{id}");
    let priorities = ["normal", "high", "urgent", "low"];
    for round in 0..ROUNDS {
        let subject = format!("subject {round}");
        let priority = priorities[round % priorities.len()];
        let (ra, rb) = tokio::join!(
            app.put(&path, &a, json!({"ticket": {"subject": subject}})),
            app.put(&path, &b, json!({"ticket": {"priority": priority}})),
        );
        assert_eq!((ra.0.as_u16(), rb.0.as_u16()), (200, 200), "{ra:?} {rb:?}");
        let (_, t) = app.get(&path, &admin).await;
        assert_eq!(t["ticket"]["subject"], subject, "round {round}: the subject was lost");
        assert_eq!(
            t["ticket"]["priority"], priority,
            "round {round}: the priority was lost"
        );
    }
    assert_chained(&audit_chain(&app, "ticket", id).await, 2 * ROUNDS);
});

db_test!(two_admins_update_one_organization, |app: TestApp| async move {
    let admin = app.admin().await;
    let other = app.user_with("second-admin@vendor.test", "admin", None, false).await;
    let org = app.org(&admin, "Concurrent Partner", true).await;
    let path = format!("/api/v2/organizations/{org}");
    for round in 0..ROUNDS {
        let notes = format!("notes {round}");
        let details = format!("details {round}");
        let (ra, rb) = tokio::join!(
            app.put(&path, &admin, json!({"organization": {"notes": notes}})),
            app.put(&path, &other, json!({"organization": {"details": details}})),
        );
        assert_eq!((ra.0.as_u16(), rb.0.as_u16()), (200, 200), "{ra:?} {rb:?}");
        let (_, o) = app.get(&path, &admin).await;
        assert_eq!(o["organization"]["notes"], notes, "round {round}: the notes were lost");
        assert_eq!(
            o["organization"]["details"], details,
            "round {round}: the details were lost"
        );
    }
    assert_chained(&audit_chain(&app, "organization", org).await, 2 * ROUNDS);
});

db_test!(two_admins_update_one_user, |app: TestApp| async move {
    let admin = app.admin().await;
    let other = app.user_with("second-admin@vendor.test", "admin", None, false).await;
    let agent = app.user("agent@vendor.test", "agent", None).await;
    let id = agent.id;
    let path = format!("/api/v2/users/{id}");
    let zones = ["Europe/Berlin", "America/New_York", "Asia/Tokyo"];
    for round in 0..ROUNDS {
        let name = format!("Agent {round}");
        let zone = zones[round % zones.len()];
        let (ra, rb) = tokio::join!(
            app.put(&path, &admin, json!({"user": {"name": name}})),
            app.put(&path, &other, json!({"user": {"time_zone": zone}})),
        );
        assert_eq!((ra.0.as_u16(), rb.0.as_u16()), (200, 200), "{ra:?} {rb:?}");
        let (_, u) = app.get(&path, &admin).await;
        assert_eq!(u["user"]["name"], name, "round {round}: the name was lost");
        assert_eq!(u["user"]["time_zone"], zone, "round {round}: the time zone was lost");
    }
    assert_chained(&audit_chain(&app, "user", id).await, 2 * ROUNDS);
});

/// Many clients writing at once on SQLite: every write is queued for the one writer connection, so none waits in
/// SQLite's busy handler and none fails, even with the wait for a connection bounded tightly; every ticket that was
/// answered 201 is there whole (ticket, first comment, audit row), and nothing else is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_writes_from_many_clients_never_fail_or_wait_on_the_lock() {
    use crate::helpers::{Backend, Storage};
    let bound = std::time::Duration::from_secs(3);
    let extra = vec![("PARTNERDESK_DB_ACQUIRE_TIMEOUT_MS", bound.as_millis().to_string())];
    let app = TestApp::spawn_full(Backend::Sqlite, Storage::Local, extra)
        .await
        .unwrap();
    let admin = app.admin().await;
    let org = app.org(&admin, "Hammer Co", true).await;
    let partner = app.user("pat@hammer.example", "end-user", Some(org)).await;
    const CLIENTS: usize = 48;
    const EACH: usize = 10;
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let (app, who) = (app.clone(), if c % 2 == 0 { admin.clone() } else { partner.clone() });
        tasks.push(tokio::spawn(async move {
            let mut slowest = std::time::Duration::ZERO;
            let mut ids = Vec::new();
            for i in 0..EACH {
                let body =
                    json!({"ticket": {"subject": format!("client {c} ticket {i}"), "comment": {"body": "hammer"}}});
                let started = std::time::Instant::now();
                let (status, v) = app.post("/api/v2/tickets.json", &who, body).await;
                slowest = slowest.max(started.elapsed());
                assert_eq!(status, reqwest::StatusCode::CREATED, "client {c} ticket {i}: {v}");
                ids.push(v["ticket"]["id"].as_i64().unwrap());
            }
            (ids, slowest)
        }));
    }
    let mut ids = Vec::new();
    let mut slowest = std::time::Duration::ZERO;
    for t in tasks {
        let (mine, s) = t.await.unwrap();
        ids.extend(mine);
        slowest = slowest.max(s);
    }
    assert_eq!(ids.len(), CLIENTS * EACH);
    assert!(slowest < bound, "a write took {slowest:?}");
    assert_eq!(app.count("tickets").await, (CLIENTS * EACH) as i64);
    let whole = app
        .db
        .conn()
        .fetch_one(
            "SELECT COUNT(*) AS n FROM tickets t WHERE EXISTS (SELECT 1 FROM comments c WHERE c.ticket_id = t.id) \
             AND EXISTS (SELECT 1 FROM audit_log a WHERE a.entity_type = 'ticket' AND a.entity_id = t.id \
             AND a.action = 'ticket.create')",
            &[],
        )
        .await
        .unwrap()
        .i64("n")
        .unwrap();
    assert_eq!(
        whole,
        (CLIENTS * EACH) as i64,
        "every ticket has its first comment and its audit row"
    );
    app.cleanup().await;
}

db_test!(
    writes_survive_clients_that_hang_up_mid_request,
    |app: TestApp| async move {
        let admin = app.admin().await;
        // Clients that give up while their ticket is being written: the server drops those requests wherever they are,
        // which must never leave a pooled connection (on SQLite, the one writer) inside a transaction nobody ends.
        // Rounds of many requests at once, so that they queue for the writer, all given up a moment later: one of them
        // is then likely in the middle of starting its transaction.
        for round in 0..12u64 {
            let mut tasks = Vec::new();
            for i in 0..64u64 {
                let (app, admin) = (app.clone(), admin.clone());
                tasks.push(tokio::spawn(async move {
                    let body =
                        json!({"ticket": {"subject": format!("abandoned {round}.{i}"), "comment": {"body": "x"}}});
                    let _ = app
                        .request(reqwest::Method::POST, "/api/v2/tickets.json", Some(&admin))
                        .json(&body)
                        .timeout(std::time::Duration::from_millis(15 + round * 5))
                        .send()
                        .await;
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
        }
        for i in 0..20 {
            let body = json!({"ticket": {"subject": format!("after {i}"), "comment": {"body": "x"}}});
            let (s, v) = app.post("/api/v2/tickets.json", &admin, body).await;
            assert_eq!(s, reqwest::StatusCode::CREATED, "write {i} after the hang-ups: {v}");
        }
    }
);
