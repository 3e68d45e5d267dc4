//! How bulk jobs are worked through: a job outlives a restart and a crashed worker, two instances apply each item
//! once, and the savepoints each item runs in undo it alone.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::bulk::{audit_count, errors, queue, wait, wait_at};
use crate::db_test;
use crate::helpers::TestApp;

db_test!(
    a_job_outlives_a_restart_and_a_crashed_worker,
    |app: TestApp| async move {
        let admin = app.admin().await;
        // Three jobs queued, the server restarted at once: whatever was under way goes on after its last item.
        let mut queued = Vec::new();
        for j in 0..3 {
            let orgs: Vec<Value> = (0..100).map(|i| json!({"name": format!("Restart {j}-{i}")})).collect();
            queued.push(
                queue(
                    &app,
                    Method::POST,
                    "/api/v2/organizations/create_many",
                    &admin,
                    json!({"organizations": orgs}),
                )
                .await,
            );
        }
        app.restart().await;
        for id in &queued {
            let job = wait(&app, &admin, id).await;
            assert_eq!(
                (job["status"].as_str(), job["results"].as_array().unwrap().len()),
                (Some("completed"), 100),
                "{job}"
            );
            assert!(errors(&job).is_empty(), "{job}");
        }
        assert_eq!(app.count("organizations").await, 300);
        assert_eq!(audit_count(&app, "organization.create").await, 300);

        // A worker that died after its 40th item: its lease ran out, another goes on from item 40.
        let orgs: Vec<Value> = (0..100).map(|i| json!({"name": format!("Crash {i}")})).collect();
        let actor = partnerdesk_db::users::get(&mut app.db.conn(), partnerdesk_core::UserId(admin.id))
            .await
            .unwrap();
        // Queued, claimed and 40 items done in one transaction, so that the server's worker sees none of it before.
        let mut tx = app.db.begin().await.unwrap();
        let job = partnerdesk_db::jobs::create(
            &mut tx,
            "dead0001",
            "organizations.create_many",
            100,
            &json!({"items": orgs}),
            admin.id,
        )
        .await
        .unwrap();
        let past = partnerdesk_db::now() - chrono::TimeDelta::seconds(1);
        let later = partnerdesk_db::now() + chrono::TimeDelta::seconds(3600);
        let claimed = partnerdesk_db::jobs::claim(&mut tx, "dead-worker", partnerdesk_db::now(), later)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(claimed.id, job.id);
        let mut results = Vec::new();
        for (i, item) in orgs.iter().enumerate().take(40) {
            let input = serde_json::from_value(item.clone()).unwrap();
            let org = partnerdesk_app::org_changes::create_in(&mut tx, &actor.actor(), &actor.audit_actor(), input)
                .await
                .unwrap();
            results.push((i as i64, json!({"index": i, "id": org.id.0, "success": true})));
        }
        partnerdesk_db::jobs::record(&mut tx, &claimed.id, &results)
            .await
            .unwrap();
        assert!(
            partnerdesk_db::jobs::advance(&mut tx, &claimed.id, "dead-worker", 0, 40, past)
                .await
                .unwrap()
        );
        // A worker that is not the lease's holder, or that thinks the job is elsewhere, moves nothing.
        assert!(
            !partnerdesk_db::jobs::advance(&mut tx, &claimed.id, "another-worker", 40, 41, later)
                .await
                .unwrap()
        );
        assert!(
            !partnerdesk_db::jobs::advance(&mut tx, &claimed.id, "dead-worker", 39, 41, later)
                .await
                .unwrap()
        );
        tx.commit().await.unwrap();
        app.restart().await;
        let done = wait(&app, &admin, &job.id).await;
        assert_eq!(
            (done["status"].as_str(), done["progress"].as_i64()),
            (Some("completed"), Some(100)),
            "{done}"
        );
        assert_eq!(app.count("organizations").await, 400, "each item applied once");
        let results = done["results"].as_array().unwrap();
        let mut ids: Vec<i64> = results.iter().map(|r| r["id"].as_i64().unwrap()).collect();
        assert_eq!(
            (results[39].get("action"), results[40]["action"].as_str()),
            (None, Some("create")),
            "{done}"
        );
        ids.dedup();
        assert_eq!(ids.len(), 100);
    }
);

db_test!(savepoints_undo_one_part_of_a_transaction, |app: TestApp| async move {
    // What the job worker relies on: in one transaction, a part that fails (here on the results' key) is undone alone
    // at its savepoint, and the transaction goes on and commits the rest. On PostgreSQL the failed statement would
    // otherwise leave the whole transaction unusable.
    let admin = app.admin().await;
    let mut tx = app.db.begin().await.unwrap();
    let job = partnerdesk_db::jobs::create(
        &mut tx,
        "5a5e",
        "organizations.create_many",
        3,
        &json!({"items": []}),
        admin.id,
    )
    .await
    .unwrap();
    let one = |i: i64| vec![(i, json!({"index": i}))];
    partnerdesk_db::jobs::record(&mut tx, &job.id, &one(0)).await.unwrap();
    tx.savepoint("pd_test").await.unwrap();
    partnerdesk_db::jobs::record(&mut tx, &job.id, &one(1)).await.unwrap();
    let twice = partnerdesk_db::jobs::record(&mut tx, &job.id, &one(0)).await;
    assert!(
        matches!(twice, Err(partnerdesk_db::DbError::Conflict { .. })),
        "{twice:?}"
    );
    tx.rollback_to_savepoint("pd_test").await.unwrap();
    tx.savepoint("pd_test").await.unwrap();
    partnerdesk_db::jobs::record(&mut tx, &job.id, &one(2)).await.unwrap();
    tx.release_savepoint("pd_test").await.unwrap();
    // Finished at once, so that no worker takes the empty job meanwhile.
    tx.execute(
        "UPDATE jobs SET status = 'completed' WHERE id = ?",
        &[partnerdesk_db::Arg::Text(job.id.clone())],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let kept: Vec<i64> = partnerdesk_db::jobs::results(&mut app.db.conn(), &job.id)
        .await
        .unwrap()
        .iter()
        .map(|r| r["index"].as_i64().unwrap())
        .collect();
    assert_eq!(kept, vec![0, 2]);
    // Outside a transaction a savepoint means nothing, and is refused.
    assert!(app.db.conn().savepoint("pd_test").await.is_err());
});

/// On each database, with S3 storage (two instances cannot share a local file store).
mod two_instances_apply_each_item_once {
    use super::*;
    use crate::helpers::{Backend, Storage};

    async fn run(backend: Backend) {
        if let Some(app) = TestApp::spawn_with(backend, Storage::S3).await {
            twice(app.clone()).await;
            app.cleanup().await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        run(Backend::Sqlite).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        run(Backend::Postgres).await
    }
}

async fn twice(app: TestApp) {
    let admin = app.admin().await;
    let dir = std::env::temp_dir().join(crate::helpers::unique("pd-bulk-second"));
    let (other, running) = app.another_instance(&dir).await.unwrap();
    let mut jobs = Vec::new();
    for j in 0..6 {
        let orgs: Vec<Value> = (0..20).map(|i| json!({"name": format!("Twice {j}-{i}")})).collect();
        let base = if j % 2 == 0 { app.base.clone() } else { other.clone() };
        let rb = app
            .client
            .post(format!("{base}/api/v2/organizations/create_many.json"))
            .basic_auth(format!("{}/token", admin.email), Some(&admin.token))
            .json(&json!({"organizations": orgs}));
        let (s, v) = app.send(rb).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        jobs.push(v["job_status"]["id"].as_str().unwrap().to_owned());
    }
    for id in &jobs {
        let job = wait_at(&app, &other, &admin, id).await;
        assert_eq!(
            (job["status"].as_str(), job["results"].as_array().unwrap().len()),
            (Some("completed"), 20),
            "{job}"
        );
        assert!(errors(&job).is_empty(), "{job}");
    }
    assert_eq!(app.count("organizations").await, 120);
    assert_eq!(audit_count(&app, "organization.create").await, 120);
    assert_eq!(app.count("job_results").await, 120);
    running.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
