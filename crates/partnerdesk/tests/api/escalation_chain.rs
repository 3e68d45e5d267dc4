//! An escalation always reaches somebody: an override does not push the rotation's manager out of the chain, and
//! past the end of the chain every support manager is told.

use chrono::TimeDelta;
use reqwest::StatusCode;
use serde_json::json;

use crate::escalations::{escalation, setup};
use crate::helpers::Backend;
use crate::mail::eventually;

async fn run_override(backend: Backend) {
    let Some((s, mails)) = setup(backend, true).await else {
        return;
    };
    let mails = mails.unwrap();
    let app = &s.app;
    // m1 has the rotation's duty now; an override puts m2 (next week's manager) on call instead.
    let now = chrono::Utc::now();
    let body = json!({"override": {"user_id": s.m2.id, "starts_at": now - TimeDelta::minutes(5), "ends_at": now + TimeDelta::hours(4)}});
    let (st, v) = app.post("/api/v2/oncall/overrides", &s.admin, body).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let (st, v) = app.post("/api/v2/escalations", &s.partner, escalation(s.ticket)).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    eventually("the override is mailed", || mails.lock().unwrap().len() == 1).await;
    assert_eq!(mails.lock().unwrap()[0].to, vec!["m2@vendor.test".to_owned()]);

    let state = partnerdesk::app::app_state(
        &app.config,
        app.db.clone(),
        partnerdesk::app::sealer(&app.config).unwrap(),
    )
    .unwrap();
    let clock = partnerdesk_db::now();
    let timeouts = |minutes| partnerdesk_app::escalations::check_timeouts(&state, clock + TimeDelta::minutes(minutes));
    assert_eq!(timeouts(31).await.unwrap(), 1);
    eventually("the rotation's manager is mailed", || mails.lock().unwrap().len() == 2).await;
    assert_eq!(
        mails.lock().unwrap()[1].to,
        vec!["m1@vendor.test".to_owned()],
        "m1 is on rotation duty"
    );
    assert_eq!(timeouts(62).await.unwrap(), 1);
    eventually("the fallback is mailed", || mails.lock().unwrap().len() == 3).await;
    assert_eq!(mails.lock().unwrap()[2].to, vec!["boss@vendor.test".to_owned()]);
    s.app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_override_keeps_the_rotation_manager_in_the_chain_sqlite() {
    run_override(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_override_keeps_the_rotation_manager_in_the_chain_postgres() {
    run_override(Backend::Postgres).await
}

async fn run_nobody_on_call(backend: Backend) {
    let Some((s, mails)) = setup(backend, true).await else {
        return;
    };
    let mails = mails.unwrap();
    let app = &s.app;
    // Every support manager in the schedule is suspended: nobody in the chain may take the escalation.
    for who in [&s.m1, &s.m2, &s.fallback] {
        let (st, v) = app
            .put(
                &format!("/api/v2/users/{}", who.id),
                &s.admin,
                json!({"user": {"suspended": true}}),
            )
            .await;
        assert_eq!(st, StatusCode::OK, "{v}");
    }
    let (st, v) = app.post("/api/v2/escalations", &s.partner, escalation(s.ticket)).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let id = v["escalation"]["id"].as_i64().unwrap();
    // With no support manager left, the admins are told.
    eventually("the admin is mailed", || mails.lock().unwrap().len() == 1).await;
    assert_eq!(mails.lock().unwrap()[0].to, vec!["admin@vendor.test".to_owned()]);
    assert!(mails.lock().unwrap()[0].data.contains("nobody on call"));
    let (_, v) = app.get(&format!("/api/v2/escalations/{id}"), &s.admin).await;
    assert_eq!(v["escalation"]["everyone_notified"], true, "{v}");
    s.app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_escalation_always_has_a_recipient_sqlite() {
    run_nobody_on_call(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_escalation_always_has_a_recipient_postgres() {
    run_nobody_on_call(Backend::Postgres).await
}
