//! The rules every bulk item and `create_or_update` is held to: an account manager only for the organizations they
//! manage and end-users of them, end-users not at all, a suspended author's job stopped; `create_or_update` matches
//! by external id, then e-mail or name, and repeated gives the same records; an account has at most 30 jobs waiting,
//! also when it sends many at once.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::bulk::{errors, queue, wait};
use crate::db_test;
use crate::helpers::TestApp;

db_test!(bulk_jobs_keep_the_account_rules, |app: TestApp| async move {
    let admin = app.admin().await;
    let mine = app.org(&admin, "Managed", true).await;
    let other = app.org(&admin, "Someone Else's", true).await;
    let am = app.user_with("am@vendor.example", "agent", None, true).await;
    let (s, v) = app
        .put(
            &format!("/api/v2/organizations/{mine}"),
            &admin,
            json!({"organization": {"account_manager_id": am.id}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // An account manager: end-users of the organizations they manage, nothing else.
    let items = json!({"users": [
        {"name": "In", "email": "in@managed.example", "organization_id": mine},
        {"name": "Out", "email": "out@else.example", "organization_id": other},
        {"name": "Agent", "email": "agent@managed.example", "organization_id": mine, "role": "agent"},
    ]});
    let id = queue(&app, Method::POST, "/api/v2/users/create_many", &am, items).await;
    let job = wait(&app, &am, &id).await;
    assert_eq!(
        errors(&job),
        vec![(1, "PermissionDenied".into()), (2, "PermissionDenied".into())],
        "{job}"
    );
    let changes = json!({"organizations": [{"id": mine, "notes": "ours"}, {"id": other, "notes": "theirs"}]});
    let id = queue(&app, Method::PUT, "/api/v2/organizations/update_many", &am, changes).await;
    let job = wait(&app, &am, &id).await;
    assert_eq!(errors(&job), vec![(1, "PermissionDenied".into())], "{job}");
    let (_, v) = app.get(&format!("/api/v2/organizations/{other}"), &admin).await;
    assert_ne!(v["organization"]["notes"], "theirs");
    // Creating or deleting organizations is for admins: refused before anything is queued.
    let (s, _) = app
        .post(
            "/api/v2/organizations/create_many",
            &am,
            json!({"organizations": [{"name": "New"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let rb = app.request(
        Method::DELETE,
        &format!("/api/v2/organizations/destroy_many?ids={other}"),
        Some(&am),
    );
    assert_eq!(app.send(rb).await.0, StatusCode::FORBIDDEN);

    // End-users run no bulk jobs, and see no one else's job.
    let pat = app.user("pat@managed.example", "end-user", Some(mine)).await;
    for (path, body) in [
        (
            "/api/v2/users/create_many",
            json!({"users": [{"name": "x", "email": "x@y.example"}]}),
        ),
        (
            "/api/v2/users/create_or_update_many",
            json!({"users": [{"name": "x", "email": "x@y.example"}]}),
        ),
        (
            "/api/v2/tickets/create_many",
            json!({"tickets": [{"subject": "x", "comment": {"body": "y"}}]}),
        ),
    ] {
        assert_eq!(app.post(path, &pat, body).await.0, StatusCode::FORBIDDEN, "{path}");
    }
    let (s, _) = app.get(&format!("/api/v2/job_statuses/{id}"), &pat).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get("/api/v2/job_statuses/not-hex", &admin).await.0,
        StatusCode::NOT_FOUND
    );
    // An admin may follow anyone's job.
    assert_eq!(
        app.get(&format!("/api/v2/job_statuses/{id}"), &admin).await.0,
        StatusCode::OK
    );

    // A job whose author was suspended since stops: it fails, and applies nothing.
    let items = json!({"users": [{"name": "Late", "email": "late@managed.example", "organization_id": mine}]});
    let (s, v) = app
        .put(
            &format!("/api/v2/users/{}", am.id),
            &admin,
            json!({"user": {"suspended": true}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let job = partnerdesk_db::jobs::create(
        &mut app.db.conn(),
        "abc123",
        "users.create_many",
        1,
        &json!({"items": items["users"]}),
        am.id,
    )
    .await
    .unwrap();
    let done = wait(&app, &admin, &job.id).await;
    assert_eq!(done["status"], "failed", "{done}");
    assert!(done["message"].as_str().unwrap().contains("suspended"), "{done}");
});

db_test!(create_or_update_is_idempotent, |app: TestApp| async move {
    let admin = app.admin().await;
    let body = json!({"organization": {"name": "Initech", "external_id": "org-9", "notes": "first"}});
    let (s, v) = app
        .post("/api/v2/organizations/create_or_update", &admin, body.clone())
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let org = v["organization"]["id"].as_i64().unwrap();
    assert_eq!(v["organization"]["external_id"], "org-9");
    let (s, v) = app
        .post("/api/v2/organizations/create_or_update.json", &admin, body)
        .await;
    assert_eq!(
        (s, v["organization"]["id"].as_i64()),
        (StatusCode::OK, Some(org)),
        "{v}"
    );
    // Matched by name when the external id is new to it: the external id is set.
    let (s, v) = app
        .post(
            "/api/v2/organizations/create_or_update",
            &admin,
            json!({"organization": {"name": "INITECH", "external_id": "org-10"}}),
        )
        .await;
    assert_eq!(
        (
            s,
            v["organization"]["id"].as_i64(),
            v["organization"]["external_id"].as_str()
        ),
        (StatusCode::OK, Some(org), Some("org-10")),
        "{v}"
    );
    let (_, v) = app.get("/api/v2/organizations.json?external_id=org-10", &admin).await;
    assert_eq!(v["organizations"].as_array().unwrap().len(), 1, "{v}");
    let (_, v) = app.get("/api/v2/organizations/search?external_id=org-9", &admin).await;
    assert!(v["organizations"].as_array().unwrap().is_empty(), "{v}");

    let body =
        json!({"user": {"name": "Pat", "email": "pat@initech.example", "external_id": "p-1", "organization_id": org}});
    let (s, v) = app.post("/api/v2/users/create_or_update", &admin, body.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let pat = v["user"]["id"].as_i64().unwrap();
    let (s, v) = app.post("/api/v2/users/create_or_update", &admin, body).await;
    assert_eq!((s, v["user"]["id"].as_i64()), (StatusCode::OK, Some(pat)), "{v}");
    // By e-mail address when no external id is given.
    let (s, v) = app
        .post(
            "/api/v2/users/create_or_update",
            &admin,
            json!({"user": {"email": "PAT@initech.example", "name": "Pat P."}}),
        )
        .await;
    assert_eq!(
        (s, v["user"]["id"].as_i64(), v["user"]["name"].as_str()),
        (StatusCode::OK, Some(pat), Some("Pat P.")),
        "{v}"
    );
    let (_, v) = app.get("/api/v2/users.json?external_id=p-1", &admin).await;
    assert_eq!(v["users"][0]["id"].as_i64(), Some(pat), "{v}");

    // External ids are unique per kind, bounded, and free of control characters.
    let (s, v) = app
        .post(
            "/api/v2/users",
            &admin,
            json!({"user": {"name": "Dup", "email": "dup@x.example", "external_id": "p-1"}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v["details"]["external_id"].is_array(), "{v}");
    let (s, _) = app
        .post(
            "/api/v2/users",
            &admin,
            json!({"user": {"name": "Long", "email": "long@x.example", "external_id": "x".repeat(256)}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, v) = app
        .post(
            "/api/v2/organizations",
            &admin,
            json!({"organization": {"name": "Org p-1", "external_id": "p-1"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "another kind may use the same external id: {v}");
    // An end-user finds only themselves by external id.
    let tok = app.user("eu@initech.example", "end-user", Some(org)).await;
    let (_, v) = app.get("/api/v2/users/search?external_id=p-1", &tok).await;
    assert!(v["users"].as_array().unwrap().is_empty(), "{v}");
    // Nor may they create or update through create_or_update: refused alike whether the record exists or not, so
    // that the answer says nothing of who has an account or which organizations there are. An agent who provisions
    // no accounts is refused the same way.
    let agent = app.user("plain@vendor.example", "agent", None).await;
    for who in [&tok, &agent] {
        for (path, body) in [
            (
                "/api/v2/users/create_or_update",
                json!({"user": {"name": "X", "email": "pat@initech.example"}}),
            ),
            (
                "/api/v2/users/create_or_update",
                json!({"user": {"name": "X", "email": "nobody@initech.example"}}),
            ),
            (
                "/api/v2/organizations/create_or_update",
                json!({"organization": {"name": "Initech"}}),
            ),
            (
                "/api/v2/organizations/create_or_update",
                json!({"organization": {"name": "No such org"}}),
            ),
        ] {
            let (s, v) = app.post(path, who, body).await;
            assert_eq!(s, StatusCode::FORBIDDEN, "{path}: {v}");
        }
    }
});

/// Queues `n` jobs of `account` (ids `f00`, `f01`, ...) held by a worker elsewhere for an hour: none of them moves
/// while the limit is tried.
async fn hold_jobs(app: &TestApp, account: i64, n: usize) {
    let mut tx = app.db.begin().await.unwrap();
    for j in 0..n {
        partnerdesk_db::jobs::create(
            &mut tx,
            &format!("f{j:02}"),
            "organizations.create_many",
            1,
            &json!({"items": [{"name": "x"}]}),
            account,
        )
        .await
        .unwrap();
    }
    tx.execute(
        "UPDATE jobs SET status = 'working', lease_owner = 'elsewhere', lease_until = ?",
        &[partnerdesk_db::Arg::Time(
            partnerdesk_db::now() + chrono::TimeDelta::hours(1),
        )],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

db_test!(
    an_account_with_30_jobs_waiting_is_told_to_wait,
    |app: TestApp| async move {
        let admin = app.admin().await;
        hold_jobs(&app, admin.id, 30).await;
        let body = json!({"organizations": [{"name": "One more"}]});
        let (s, v) = app
            .post("/api/v2/organizations/create_many", &admin, body.clone())
            .await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
        // Another account is not held back by them.
        let other = app.user_with("second@vendor.example", "admin", None, false).await;
        let id = queue(
            &app,
            Method::POST,
            "/api/v2/organizations/create_many",
            &other,
            body.clone(),
        )
        .await;
        assert!(errors(&wait(&app, &other, &id).await).is_empty());
        // Once one of them is done, the account may queue again.
        app.db
            .conn()
            .execute("UPDATE jobs SET status = 'completed' WHERE id = 'f00'", &[])
            .await
            .unwrap();
        let (s, v) = app
            .post(
                "/api/v2/organizations/create_many",
                &admin,
                json!({"organizations": [{"name": "Two more"}]}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
);

db_test!(
    a_burst_of_jobs_queues_no_more_than_the_limit,
    |app: TestApp| async move {
        let admin = app.admin().await;
        // 20 held elsewhere: room for 10. The server's worker works through the burst's own jobs meanwhile, and each
        // one it finishes makes room for one more, so what is checked is the limit at each moment a job was queued.
        hold_jobs(&app, admin.id, 20).await;
        let burst = (0..40).map(|i| {
            let (app, admin) = (app.clone(), admin.clone());
            tokio::spawn(async move {
                let body = json!({"organizations": [{"name": format!("Burst {i}")}]});
                let rb = app.request(Method::POST, "/api/v2/organizations/create_many.json", Some(&admin));
                let resp = rb.json(&body).send().await.unwrap();
                let (status, retry) = (resp.status(), resp.headers().get("retry-after").cloned());
                let v: Value = resp.json().await.unwrap();
                (status, retry, v)
            })
        });
        let mut accepted = Vec::new();
        for outcome in futures::future::join_all(burst).await {
            let (status, retry, v) = outcome.unwrap();
            match status {
                StatusCode::OK => accepted.push(v["job_status"]["id"].as_str().unwrap().to_owned()),
                StatusCode::TOO_MANY_REQUESTS => assert!(retry.is_some(), "a 429 says when to retry: {v}"),
                other => panic!("{other}: {v}"),
            }
        }
        // A refusal means 30 were waiting when it counted, and waiting jobs only go by being done: so the room there
        // was is filled.
        assert!(accepted.len() >= 10, "{} accepted", accepted.len());
        let rows = app
            .db
            .conn()
            .fetch_all(
                "SELECT id, status, created_at, updated_at FROM jobs WHERE created_by_id = ?",
                &[partnerdesk_db::Arg::I64(admin.id)],
            )
            .await
            .unwrap();
        assert_eq!(rows.len(), 20 + accepted.len(), "only the answered jobs were queued");
        let jobs: Vec<(
            String,
            bool,
            chrono::DateTime<chrono::Utc>,
            chrono::DateTime<chrono::Utc>,
        )> = rows
            .iter()
            .map(|r| {
                let status = r.text("status").unwrap();
                let done = !matches!(status.as_str(), "queued" | "working");
                (
                    r.text("id").unwrap(),
                    done,
                    r.time("created_at").unwrap(),
                    r.time("updated_at").unwrap(),
                )
            })
            .collect();
        // When each accepted job was queued, fewer than 30 others were waiting: those queued before it and not done
        // by then (a job's last change is when it was done). Counted loosely in the server's favour nowhere: a job
        // done before this one counted was written done before then.
        for id in &accepted {
            let (_, _, queued_at, _) = jobs.iter().find(|j| &j.0 == id).unwrap();
            let waiting = jobs
                .iter()
                .filter(|(other, done, created, finished)| {
                    other != id && created <= queued_at && (!done || finished > queued_at)
                })
                .count();
            assert!(waiting < 30, "job {id} was queued while {waiting} others waited");
        }
    }
);
