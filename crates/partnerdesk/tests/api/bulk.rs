//! Bulk jobs (`create_many`, `update_many`, `create_or_update_many`, `destroy_many`): the valid items land, the
//! invalid ones are reported with their index and nothing of them is written; what is malformed is refused before
//! anything is queued. (The rules each item is held to are in `bulk_rules`, how jobs survive in `bulk_worker`.)

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{Creds, TestApp};

/// Polls a job at `base` until it is done; returns its status.
pub(crate) async fn wait_at(app: &TestApp, base: &str, who: &Creds, id: &str) -> Value {
    for _ in 0..600 {
        let rb = app
            .client
            .get(format!("{base}/api/v2/job_statuses/{id}.json"))
            .basic_auth(format!("{}/token", who.email), Some(&who.token));
        let (s, v) = app.send(rb).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let st = v["job_status"]["status"].as_str().unwrap().to_owned();
        if st != "queued" && st != "working" {
            return v["job_status"].clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("job {id} did not finish");
}

pub(crate) async fn wait(app: &TestApp, who: &Creds, id: &str) -> Value {
    wait_at(app, &app.base, who, id).await
}

/// Queues a job; returns its id after checking the queued answer's shape.
pub(crate) async fn queue(app: &TestApp, method: Method, path: &str, who: &Creds, body: Value) -> String {
    let (s, v) = app.send(app.request(method, path, Some(who)).json(&body)).await;
    assert_eq!(s, StatusCode::OK, "{path}: {v}");
    let job = &v["job_status"];
    assert_eq!(job["status"], "queued", "{v}");
    assert_eq!(job["progress"], 0);
    assert!(job["url"].as_str().unwrap().ends_with(".json"), "{v}");
    job["id"].as_str().unwrap().to_owned()
}

pub(crate) async fn audit_count(app: &TestApp, action: &str) -> i64 {
    app.db
        .conn()
        .fetch_one(
            "SELECT COUNT(*) AS n FROM audit_log WHERE action = ?",
            &[partnerdesk_db::Arg::Text(action.into())],
        )
        .await
        .unwrap()
        .i64("n")
        .unwrap()
}

pub(crate) fn errors(job: &Value) -> Vec<(i64, String)> {
    job["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["success"] == false)
        .map(|r| (r["index"].as_i64().unwrap(), r["error"].as_str().unwrap().to_owned()))
        .collect()
}

db_test!(hundred_users_with_a_few_invalid, |app: TestApp| async move {
    let admin = app.admin().await;
    let acme = app.org(&admin, "Acme", true).await;
    let users_before = app.count("users").await;
    let items: Vec<Value> = (0..100)
        .map(|i| match i {
            // Invalid: the e-mail of item 0, an organization that does not exist, a blank name, a bad address.
            10 => json!({"name": "Twin", "email": "u0@acme.example"}),
            50 => json!({"name": "Lost", "email": "lost@acme.example", "organization_id": 999_999}),
            77 => json!({"name": " ", "email": "blank@acme.example"}),
            90 => json!({"name": "Odd", "email": "not-an-address"}),
            _ => json!({"name": format!("User {i}"), "email": format!("u{i}@acme.example"), "organization_id": acme,
                        "external_id": format!("crm-{i}")}),
        })
        .collect();
    let id = queue(
        &app,
        Method::POST,
        "/api/v2/users/create_many.json",
        &admin,
        json!({"users": items}),
    )
    .await;
    let job = wait(&app, &admin, &id).await;
    assert_eq!(
        (job["status"].as_str(), job["total"].as_i64(), job["progress"].as_i64()),
        (Some("completed"), Some(100), Some(100)),
        "{job}"
    );
    assert!(job["message"].as_str().unwrap().starts_with("Completed at"), "{job}");
    let results = job["results"].as_array().unwrap();
    assert_eq!(results.len(), 100);
    assert_eq!(
        errors(&job),
        vec![
            (10, "RecordInvalid".into()),
            (50, "RecordInvalid".into()),
            (77, "RecordInvalid".into()),
            (90, "RecordInvalid".into())
        ]
    );
    assert!(
        results[10]["details"].as_str().unwrap().contains("already in use"),
        "{}",
        results[10]
    );
    assert!(
        results[50]["details"].as_str().unwrap().contains("organization_id"),
        "{}",
        results[50]
    );
    let first = &results[0];
    assert_eq!(
        (
            first["index"].as_i64(),
            first["action"].as_str(),
            first["status"].as_str(),
            first["success"].as_bool()
        ),
        (Some(0), Some("create"), Some("Created"), Some(true)),
        "{first}"
    );
    // The valid ones landed, the invalid ones left nothing: no row, no audit entry.
    assert_eq!(app.count("users").await, users_before + 96);
    assert_eq!(audit_count(&app, "user.create").await, users_before + 96);
    let (_, v) = app.get(&format!("/api/v2/users/{}.json", first["id"]), &admin).await;
    assert_eq!(
        (v["user"]["email"].as_str(), v["user"]["external_id"].as_str()),
        (Some("u0@acme.example"), Some("crm-0"))
    );

    // The same items again through create_or_update_many: matched by external id, updated, the same ids.
    let again: Vec<Value> = (0..100)
        .filter(|i| ![10, 50, 77, 90].contains(i))
        .map(|i| json!({"name": format!("User {i} renamed"), "email": format!("u{i}@acme.example"), "external_id": format!("crm-{i}")}))
        .collect();
    let id = queue(
        &app,
        Method::POST,
        "/api/v2/users/create_or_update_many",
        &admin,
        json!({"users": again}),
    )
    .await;
    let job2 = wait(&app, &admin, &id).await;
    assert!(errors(&job2).is_empty(), "{job2}");
    let old_ids: Vec<i64> = results
        .iter()
        .filter(|r| r["success"] == true)
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    let new_ids: Vec<i64> = job2["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(old_ids, new_ids);
    assert!(
        job2["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "Updated" && r["action"] == "update")
    );
    assert_eq!(app.count("users").await, users_before + 96);
    let (_, v) = app.get("/api/v2/users/search.json?external_id=crm-3", &admin).await;
    assert_eq!(v["users"][0]["name"], "User 3 renamed", "{v}");

    // Refused at once: no list, an empty or too long one, an item that is not an object or of the wrong shape.
    let too_many: Vec<Value> = (0..101)
        .map(|i| json!({"name": "x", "email": format!("x{i}@a.example")}))
        .collect();
    for (body, field) in [
        (json!({}), "users"),
        (json!({"users": []}), "users"),
        (json!({"users": too_many}), "users"),
        (json!({"users": "all"}), "users"),
        (json!({"users": [{"name": "a", "email": "a@b.example"}, 7]}), "users[1]"),
        (json!({"users": [{"name": ["a"], "email": "a@b.example"}]}), "users[0]"),
    ] {
        let (s, v) = app.post("/api/v2/users/create_many", &admin, body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        assert!(v["details"].get(field).is_some(), "{field}: {v}");
    }
    let (s, v) = app
        .put(
            "/api/v2/users/update_many",
            &admin,
            json!({"users": [{"name": "nobody named"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(app.count("jobs").await, 2, "nothing refused was queued");
});

db_test!(organizations_and_tickets_in_bulk, |app: TestApp| async move {
    let admin = app.admin().await;
    let orgs: Vec<Value> = (0..5)
        .map(|i| json!({"name": format!("Bulk {i}"), "external_id": format!("b-{i}")}))
        .collect();
    let id = queue(
        &app,
        Method::POST,
        "/api/v2/organizations/create_or_update_many",
        &admin,
        json!({"organizations": orgs}),
    )
    .await;
    let job = wait(&app, &admin, &id).await;
    assert!(errors(&job).is_empty(), "{job}");
    let first = job["results"][0]["id"].as_i64().unwrap();
    let id = queue(
        &app,
        Method::PUT,
        "/api/v2/organizations/update_many.json?external_ids=b-0,b-1",
        &admin,
        json!({"organization": {"notes": "same"}}),
    )
    .await;
    assert!(errors(&wait(&app, &admin, &id).await).is_empty());
    let (_, v) = app.get(&format!("/api/v2/organizations/{first}"), &admin).await;
    assert_eq!(v["organization"]["notes"], "same");
    let rb = app.request(
        Method::DELETE,
        "/api/v2/organizations/destroy_many.json?external_ids=b-3,b-4,nope",
        Some(&admin),
    );
    let (s, v) = app.send(rb).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let job = wait(&app, &admin, v["job_status"]["id"].as_str().unwrap()).await;
    assert_eq!(errors(&job), vec![(2, "RecordNotFound".into())], "{job}");
    assert_eq!(job["results"][0]["status"], "Deleted");
    assert_eq!(app.count("organizations").await, 3);
    // Records named unclearly are refused at once: by both ids and external ids, by the query and a list, by
    // nothing, by a blank external id, by an id that is not a positive integer.
    let change = json!({"organization": {"notes": "x"}});
    for (method, path, body, field) in [
        (
            Method::PUT,
            "/api/v2/organizations/update_many?ids=1&external_ids=b-0",
            change.clone(),
            "ids",
        ),
        (
            Method::PUT,
            "/api/v2/organizations/update_many?ids=1",
            json!({"organizations": [{"id": 1}]}),
            "organizations",
        ),
        (
            Method::PUT,
            "/api/v2/organizations/update_many",
            json!({}),
            "organizations",
        ),
        (
            Method::PUT,
            "/api/v2/organizations/update_many?external_ids=b-0,%20",
            change.clone(),
            "external_ids",
        ),
        (
            Method::PUT,
            "/api/v2/organizations/update_many",
            json!({"organizations": [{"id": -1, "external_id": "b-0"}]}),
            "organizations[0].id",
        ),
        (Method::DELETE, "/api/v2/organizations/destroy_many", Value::Null, "ids"),
    ] {
        let (s, v) = app.send(app.request(method, path, Some(&admin)).json(&body)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {v}");
        assert!(v["details"].get(field).is_some(), "{path}: {v}");
    }

    let acme = first;
    let pat = app.user("pat@bulk.example", "end-user", Some(acme)).await;
    let agent = app.user("ann@vendor.example", "agent", None).await;
    let tickets = json!({"tickets": [
        {"subject": "One", "comment": {"body": "first"}, "requester_id": pat.id, "external_id": "t-1"},
        {"subject": "Two", "comment": {"body": "second"}, "requester_id": 999_999},
        {"subject": "Three", "comment": {"body": "third"}, "requester_id": pat.id},
    ]});
    let id = queue(&app, Method::POST, "/api/v2/tickets/create_many.json", &agent, tickets).await;
    let job = wait(&app, &agent, &id).await;
    assert_eq!(errors(&job), vec![(1, "RecordInvalid".into())], "{job}");
    let (t1, t3) = (
        job["results"][0]["id"].as_i64().unwrap(),
        job["results"][2]["id"].as_i64().unwrap(),
    );
    let (_, v) = app.get(&format!("/api/v2/tickets/{t1}"), &agent).await;
    assert_eq!(
        (
            v["ticket"]["external_id"].as_str(),
            v["ticket"]["organization_id"].as_i64()
        ),
        (Some("t-1"), Some(acme)),
        "{v}"
    );
    let path = format!("/api/v2/tickets/update_many?ids={t1},{t3}");
    let id = queue(
        &app,
        Method::PUT,
        &path,
        &agent,
        json!({"ticket": {"status": "pending"}}),
    )
    .await;
    assert!(errors(&wait(&app, &agent, &id).await).is_empty());
    let (_, v) = app.get(&format!("/api/v2/tickets/{t3}"), &agent).await;
    assert_eq!(v["ticket"]["status"], "pending");

    // A week after a job finished, the janitor forgets it, with its results.
    let week_ago = partnerdesk_db::now() - chrono::TimeDelta::days(8);
    let mut conn = app.db.conn();
    conn.execute(
        "UPDATE jobs SET updated_at = ? WHERE id = ?",
        &[
            partnerdesk_db::Arg::Time(week_ago),
            partnerdesk_db::Arg::Text(id.clone()),
        ],
    )
    .await
    .unwrap();
    let before = partnerdesk_db::now() - chrono::TimeDelta::days(partnerdesk_app::janitor::JOB_STATUS_DAYS);
    assert_eq!(partnerdesk_db::jobs::purge_done(&mut conn, before).await.unwrap(), 1);
    assert_eq!(
        app.get(&format!("/api/v2/job_statuses/{id}"), &agent).await.0,
        StatusCode::NOT_FOUND
    );
    let left = conn
        .fetch_one(
            "SELECT COUNT(*) AS n FROM job_results WHERE job_id = ?",
            &[partnerdesk_db::Arg::Text(id)],
        )
        .await
        .unwrap();
    assert_eq!(left.i64("n").unwrap(), 0);
});
