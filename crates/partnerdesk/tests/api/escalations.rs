//! Escalations: the manager on call gets exactly one e-mail (real SMTP) and one webhook (real HTTP) per
//! escalation; outages are retried; timeouts move to the next manager; bad input records nothing.

use chrono::TimeDelta;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, Creds, Storage, TestApp};
use crate::mail::{self, Hook, Mail, eventually};

/// The webhook signing key the tests configure; receivers verify with it.
pub const WEBHOOK_SECRET: &str = "receiver-shared-secret-0123456789";

/// Runs the verification example from the documentation (`docs/webhook-verify.py`) on a received webhook, as
/// received or with its time or delivery id replaced (a replay).
fn documented_check_accepts(secret: &str, hook: &Hook) -> bool {
    use std::io::Write;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/webhook-verify.py");
    let mut child = std::process::Command::new("python3")
        .args([script, &hook.signature, &hook.timestamp, &hook.delivery])
        .env("PARTNERDESK_WEBHOOK_SECRET", secret)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(hook.body.as_bytes()).unwrap();
    child.wait().unwrap().success()
}

pub struct Setup {
    pub app: TestApp,
    pub admin: Creds,
    pub m1: Creds,
    pub m2: Creds,
    pub fallback: Creds,
    pub partner: Creds,
    pub ticket: i64,
    pub other_ticket: i64,
    pub smtp_port: u16,
    pub hooks: std::sync::Arc<std::sync::Mutex<Vec<Hook>>>,
}

pub async fn setup(
    backend: Backend,
    smtp_up: bool,
) -> Option<(Setup, Option<std::sync::Arc<std::sync::Mutex<Vec<Mail>>>>)> {
    let smtp_port = mail::free_port();
    let mails = smtp_up.then(|| mail::start_smtp_on(smtp_port));
    let (hook_url, hooks) = mail::start_webhook().await;
    let extra = vec![
        ("PARTNERDESK_SMTP_URL", format!("smtp://127.0.0.1:{smtp_port}")),
        ("PARTNERDESK_MAIL_FROM", "partnerdesk <support@vendor.test>".to_owned()),
        ("PARTNERDESK_ESCALATION_WEBHOOK_URL", hook_url),
        ("PARTNERDESK_ESCALATION_WEBHOOK_SECRET", WEBHOOK_SECRET.to_owned()),
        ("PARTNERDESK_WORKER_INTERVAL_MS", "100".to_owned()),
    ];
    let app = TestApp::spawn_full(backend, Storage::Local, extra).await?;
    let admin = app.admin().await;
    let manager = |email: &'static str| {
        let app = app.clone();
        async move {
            let c = app.user(email, "agent", None).await;
            app.put(
                &format!("/api/v2/users/{}", c.id),
                &app.admin_creds().await,
                json!({"user": {"support_manager": true}}),
            )
            .await;
            c
        }
    };
    let m1 = manager("m1@vendor.test").await;
    let m2 = manager("m2@vendor.test").await;
    let fallback = manager("boss@vendor.test").await;
    let starts = (chrono::Utc::now() - TimeDelta::hours(1))
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let body = json!({"schedule": {"members": [m1.id, m2.id], "starts_local": starts, "time_zone": "UTC", "period_days": 7, "fallback_user_id": fallback.id, "ack_timeout_minutes": 30}});
    let (s, v) = app.put("/api/v2/oncall/schedule", &admin, body).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let org = app.org(&admin, "Escalating Co", true).await;
    let other = app.org(&admin, "Other Co", true).await;
    let partner = app.user("pat@esc.example", "end-user", Some(org)).await;
    let stranger = app.user("sid@other.example", "end-user", Some(other)).await;
    let ticket = app
        .post(
            "/api/v2/requests",
            &partner,
            json!({"request": {"subject": "Prod down", "comment": {"body": "help"}}}),
        )
        .await
        .1["request"]["id"]
        .as_i64()
        .unwrap();
    let other_ticket = app
        .post(
            "/api/v2/requests",
            &stranger,
            json!({"request": {"subject": "Theirs", "comment": {"body": "x"}}}),
        )
        .await
        .1["request"]["id"]
        .as_i64()
        .unwrap();
    Some((
        Setup {
            app,
            admin,
            m1,
            m2,
            fallback,
            partner,
            ticket,
            other_ticket,
            smtp_port,
            hooks,
        },
        mails,
    ))
}

pub fn escalation(ticket: i64) -> Value {
    json!({"escalation": {"ticket_id": ticket, "impact": "All EU customers cannot log in", "needed": "An engineer on a call", "needed_by": "2026-12-01"}})
}

async fn run_delivered(backend: Backend) {
    let Some((s, mails)) = setup(backend, true).await else {
        return;
    };
    let mails = mails.unwrap();
    let app = &s.app;
    let (st, v) = app
        .post("/api/v2/escalations.json", &s.partner, escalation(s.ticket))
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let id = v["escalation"]["id"].as_i64().unwrap();
    assert_eq!(v["escalation"]["notified_user_id"].as_i64(), Some(s.m1.id));
    eventually("one mail and one webhook arrive", || {
        mails.lock().unwrap().len() == 1 && s.hooks.lock().unwrap().len() == 1
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let got = mails.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "exactly one mail");
    assert_eq!(
        got[0].to,
        vec!["m1@vendor.test".to_owned()],
        "the manager on call, and nobody else"
    );
    assert!(got[0].data.contains("All EU customers cannot log in"));
    assert!(got[0].data.contains("text/html") && got[0].data.contains("text/plain"));
    assert!(got[0].data.contains("/ack?user="), "an acknowledge link");
    let hooks = s.hooks.lock().unwrap().clone();
    assert_eq!(hooks.len(), 1);
    let body: Value = serde_json::from_str(&hooks[0].body).unwrap();
    assert!(body["text"].as_str().unwrap().contains("Escalating Co"));
    assert_eq!(body["escalation"]["notified_email"], "m1@vendor.test");
    assert!(hooks[0].signature.starts_with("sha256=") && hooks[0].signature.len() == 71);
    // The receiver verifies the signature as the documentation shows, with the configured secret.
    assert!(documented_check_accepts(WEBHOOK_SECRET, &hooks[0]));
    assert!(!documented_check_accepts("some-other-secret-0123456789", &hooks[0]));
    // A replay under another delivery id, or with a fresh time, does not verify.
    let mut replay = hooks[0].clone();
    replay.delivery.push('x');
    assert!(!documented_check_accepts(WEBHOOK_SECRET, &replay));
    let mut replay = hooks[0].clone();
    replay.timestamp = (replay.timestamp.parse::<i64>().unwrap() + 1).to_string();
    assert!(!documented_check_accepts(WEBHOOK_SECRET, &replay));
    // The ticket is flagged and raised; the partner sees it in the conversation.
    let (_, t) = app.get(&format!("/api/v2/tickets/{}", s.ticket), &s.m1).await;
    assert_eq!(t["ticket"]["priority"], "urgent");
    assert!(t["ticket"]["tags"].as_array().unwrap().contains(&json!("escalated")));
    let (_, c) = app
        .get(&format!("/api/v2/requests/{}/comments", s.ticket), &s.partner)
        .await;
    assert!(c.to_string().contains("support manager on call"));
    // Acknowledged by the manager; a second acknowledgement is refused; partners cannot.
    assert_eq!(
        app.post(&format!("/api/v2/escalations/{id}/acknowledge"), &s.partner, json!({}))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let (st, v) = app
        .post(&format!("/api/v2/escalations/{id}/acknowledge"), &s.m1, json!({}))
        .await;
    assert_eq!(
        (st, v["escalation"]["status"].as_str()),
        (StatusCode::OK, Some("acknowledged")),
        "{v}"
    );
    assert_eq!(
        app.post(&format!("/api/v2/escalations/{id}/acknowledge"), &s.m2, json!({}))
            .await
            .0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let (_, v) = app.get("/api/v2/escalations?status=acknowledged", &s.m2).await;
    assert_eq!(v["escalations"][0]["id"].as_i64(), Some(id));
    let (_, v) = app.get(&format!("/api/v2/escalations/{id}"), &s.partner).await;
    assert_eq!(v["escalation"]["status"], "acknowledged", "the partner sees the state");
    let _ = (&s.admin, &s.fallback, s.other_ticket, s.smtp_port);
    s.app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivered_once_to_the_manager_on_call_sqlite() {
    run_delivered(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivered_once_to_the_manager_on_call_postgres() {
    run_delivered(Backend::Postgres).await
}

async fn run_outage(backend: Backend) {
    let Some((s, _)) = setup(backend, false).await else {
        return;
    };
    let app = &s.app;
    let (st, v) = app.post("/api/v2/escalations", &s.partner, escalation(s.ticket)).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    // The mail server is down: the delivery is retried, not lost (the webhook goes through).
    let mut attempts = 0;
    for _ in 0..100 {
        let row = app
            .db
            .conn()
            .fetch_one("SELECT attempts, status FROM outbox WHERE kind = 'email'", &[])
            .await
            .unwrap();
        attempts = row.i64("attempts").unwrap();
        if attempts > 0 {
            assert_eq!(row.text("status").unwrap(), "pending");
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(attempts > 0, "the worker tried and failed");
    // A restart in between, then the mail server comes back: delivered exactly once.
    app.restart().await;
    let mails = mail::start_smtp_on(s.smtp_port);
    // Backoff after the first failure is 2 s.
    app.db
        .conn()
        .execute(
            "UPDATE outbox SET next_attempt_at = ? WHERE status = 'pending'",
            &partnerdesk_db::args![partnerdesk_db::now()],
        )
        .await
        .unwrap();
    eventually("the mail arrives after the outage", || mails.lock().unwrap().len() == 1).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(mails.lock().unwrap().len(), 1);
    let row = app
        .db
        .conn()
        .fetch_one("SELECT status FROM outbox WHERE kind = 'email'", &[])
        .await
        .unwrap();
    assert_eq!(row.text("status").unwrap(), "sent");
    s.app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_outage_is_retried_across_a_restart_sqlite() {
    run_outage(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_outage_is_retried_across_a_restart_postgres() {
    run_outage(Backend::Postgres).await
}

async fn run_timeout(backend: Backend) {
    let Some((s, mails)) = setup(backend, true).await else {
        return;
    };
    let mails = mails.unwrap();
    let app = &s.app;
    let (_, v) = app.post("/api/v2/escalations", &s.partner, escalation(s.ticket)).await;
    let id = v["escalation"]["id"].as_i64().unwrap();
    eventually("the first mail", || mails.lock().unwrap().len() == 1).await;
    // Nobody acknowledges: 31 minutes later (a test clock, not a sleep) it goes to the next manager, then the fallback.
    let state = partnerdesk::app::app_state(
        &app.config,
        app.db.clone(),
        partnerdesk::app::sealer(&app.config).unwrap(),
    )
    .unwrap();
    let now = partnerdesk_db::now();
    assert_eq!(
        partnerdesk_app::escalations::check_timeouts(&state, now + TimeDelta::minutes(10))
            .await
            .unwrap(),
        0,
        "not yet"
    );
    assert_eq!(
        partnerdesk_app::escalations::check_timeouts(&state, now + TimeDelta::minutes(31))
            .await
            .unwrap(),
        1
    );
    eventually("the next manager is mailed", || mails.lock().unwrap().len() == 2).await;
    assert_eq!(mails.lock().unwrap()[1].to, vec!["m2@vendor.test".to_owned()]);
    assert!(mails.lock().unwrap()[1].data.contains("not acknowledged"));
    assert_eq!(
        partnerdesk_app::escalations::check_timeouts(&state, now + TimeDelta::minutes(62))
            .await
            .unwrap(),
        1
    );
    eventually("the fallback is mailed", || mails.lock().unwrap().len() == 3).await;
    assert_eq!(mails.lock().unwrap()[2].to, vec!["boss@vendor.test".to_owned()]);
    // Nobody left in the chain: it goes to every support manager, stays open on the dashboard, and every step is
    // audited.
    assert_eq!(
        partnerdesk_app::escalations::check_timeouts(&state, now + TimeDelta::minutes(93))
            .await
            .unwrap(),
        1
    );
    eventually("every support manager is mailed", || mails.lock().unwrap().len() == 6).await;
    let mut told: Vec<String> = mails.lock().unwrap()[3..].iter().map(|m| m.to[0].clone()).collect();
    told.sort();
    assert_eq!(told, ["boss@vendor.test", "m1@vendor.test", "m2@vendor.test"]);
    let (_, v) = app.get(&format!("/api/v2/escalations/{id}"), &s.fallback).await;
    assert_eq!(
        (
            v["escalation"]["status"].as_str(),
            v["escalation"]["ack_deadline"].is_null(),
            v["escalation"]["everyone_notified"].as_bool(),
            v["escalation"]["notified_user_id"].as_i64(),
        ),
        (Some("open"), true, Some(true), Some(s.fallback.id))
    );
    let n = app
        .db
        .conn()
        .fetch_one(
            "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'escalation.timeout'",
            &[],
        )
        .await
        .unwrap()
        .i64("n")
        .unwrap();
    assert_eq!(n, 3);
    let _ = (&s.admin, &s.m1, &s.m2, s.other_ticket);
    s.app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unacknowledged_goes_to_the_next_manager_sqlite() {
    run_timeout(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unacknowledged_goes_to_the_next_manager_postgres() {
    run_timeout(Backend::Postgres).await
}

async fn run_bad_input(backend: Backend) {
    let Some((s, _mails)) = setup(backend, true).await else {
        return;
    };
    let app = &s.app;
    let before = app.count("escalations").await;
    for (body, field) in [
        (
            json!({"escalation": {"ticket_id": s.other_ticket, "impact": "x", "needed": "y"}}),
            "ticket_id",
        ),
        (
            json!({"escalation": {"ticket_id": 999999, "impact": "x", "needed": "y"}}),
            "ticket_id",
        ),
        (
            json!({"escalation": {"ticket_id": s.ticket, "impact": "  ", "needed": "y"}}),
            "impact",
        ),
        (
            json!({"escalation": {"ticket_id": s.ticket, "impact": "x", "needed": ""}}),
            "needed",
        ),
        (
            json!({"escalation": {"ticket_id": s.ticket, "impact": "x", "needed": "y", "needed_by": "tomorrow-ish"}}),
            "needed_by",
        ),
        (json!({"escalation": {"impact": "x", "needed": "y"}}), "ticket_id"),
    ] {
        let (st, v) = app.post("/api/v2/escalations", &s.partner, body).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert!(v["details"][field].is_array(), "{field}: {v}");
    }
    // A solved ticket cannot be escalated.
    app.put(
        &format!("/api/v2/requests/{}", s.ticket),
        &s.partner,
        json!({"request": {"solved": true}}),
    )
    .await;
    let (st, _) = app.post("/api/v2/escalations", &s.partner, escalation(s.ticket)).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.count("escalations").await, before, "nothing recorded");
    assert_eq!(app.count("outbox").await, 0, "nothing sent");
    // Schedules: only support managers, real time zones.
    let (st, v) = app
        .put(
            "/api/v2/oncall/schedule",
            &s.admin,
            json!({"schedule": {"members": [s.partner.id], "starts_local": "yesterday", "time_zone": "Mars/Olympus"}}),
        )
        .await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    for f in ["members", "starts_local", "time_zone"] {
        assert!(v["details"][f].is_array(), "{f}: {v}");
    }
    let _ = (&s.m1, &s.m2, &s.fallback, s.smtp_port);
    s.app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_records_nothing_sqlite() {
    run_bad_input(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_records_nothing_postgres() {
    run_bad_input(Backend::Postgres).await
}

async fn run_link_form(backend: Backend) {
    let Some((s, mails)) = setup(backend, true).await else {
        return;
    };
    let mails = mails.unwrap();
    let app = &s.app;
    let org = app.get(&format!("/api/v2/users/{}", s.partner.id), &s.admin).await.1["user"]["organization_id"]
        .as_i64()
        .unwrap();
    let (st, v) = app
        .post(
            &format!("/api/v2/organizations/{org}/escalation_link"),
            &s.admin,
            json!({}),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let old = v["escalation_link"]["url"].as_str().unwrap().to_owned();
    let (_, v) = app
        .post(
            &format!("/api/v2/organizations/{org}/escalation_link"),
            &s.admin,
            json!({}),
        )
        .await;
    let link = v["escalation_link"]["url"].as_str().unwrap().to_owned();
    let path = link.trim_start_matches(&app.base).to_owned();
    // The replaced link stops working at once.
    let mut b = crate::pages::Browser::new(app);
    let (st, _, _) = b.get(old.trim_start_matches(&app.base)).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let before = app.count("escalations").await;
    let csrf = b.csrf(&path).await;
    let ticket = s.ticket.to_string();
    let mut form = vec![
        ("csrf", csrf.as_str()),
        ("contact", "nobody@esc.example"),
        ("ticket_id", ticket.as_str()),
        ("impact", "Down"),
        ("needed", "Help"),
    ];
    // Unknown contact, another organization's ticket, empty impact: refused, nothing recorded.
    let (st, _, html) = b.post(&path, &form).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("not a provisioned contact"), "{html}");
    form[1] = ("contact", "pat@esc.example");
    let other = s.other_ticket.to_string();
    form[2] = ("ticket_id", other.as_str());
    let (st, _, _) = b.post(&path, &form).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    form[2] = ("ticket_id", ticket.as_str());
    form[3] = ("impact", " ");
    assert_eq!(b.post(&path, &form).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.count("escalations").await, before);
    // A good one: the confirmation says what happens next, and the manager on call is mailed.
    form[3] = ("impact", "Checkout is down for all EU customers");
    let (st, _, html) = b.post(&path, &form).await;
    assert_eq!(st, StatusCode::OK, "{html}");
    assert!(html.contains("received") && html.contains("What happens next"));
    eventually("the manager on call is mailed", || mails.lock().unwrap().len() == 1).await;
    let mail = mails.lock().unwrap()[0].clone();
    // The acknowledge link in the mail: a page with a button, then acknowledged.
    let flat = mail.data.replace("=\r\n", "").replace("=3D", "=");
    let start = flat.find("/escalations/").unwrap();
    let ack: String = flat[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '<')
        .collect();
    let (st, _, html) = b.get(&ack).await;
    assert_eq!(st, StatusCode::OK, "{ack}");
    assert!(html.contains("Acknowledge"));
    let q: std::collections::HashMap<String, String> =
        form_urlencoded::parse(ack.split_once('?').unwrap().1.as_bytes())
            .into_owned()
            .collect();
    let (st, _, html) = b
        .post(
            ack.split('?').next().unwrap(),
            &[("user", q["user"].as_str()), ("sig", q["sig"].as_str())],
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    assert!(html.contains("id=\"acknowledged\""));
    let forged = b
        .post(
            ack.split('?').next().unwrap(),
            &[("user", q["user"].as_str()), ("sig", "0000")],
        )
        .await;
    assert_eq!(forged.0, StatusCode::NOT_FOUND);
    // Floods are refused.
    let mut last = StatusCode::OK;
    for _ in 0..6 {
        last = b.post(&path, &form).await.0;
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    let _ = (&s.m1, &s.m2, &s.fallback, s.smtp_port);
    s.app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personalised_link_form_sqlite() {
    run_link_form(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personalised_link_form_postgres() {
    run_link_form(Backend::Postgres).await
}

/// Two instances on one database, both delivering: every escalation is mailed exactly once.
async fn run_two_instances(backend: Backend) {
    let Some((s, mails)) = setup(backend, true).await else {
        return;
    };
    let mails = mails.unwrap();
    let app = &s.app;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let second = partnerdesk::app::start_on(&app.config, listener).await.unwrap();
    let n = 20;
    for _ in 0..n {
        let (st, v) = app.post("/api/v2/escalations", &s.partner, escalation(s.ticket)).await;
        assert_eq!(st, StatusCode::CREATED, "{v}");
    }
    eventually("every escalation is mailed", || mails.lock().unwrap().len() >= n).await;
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert_eq!(mails.lock().unwrap().len(), n, "no mail sent twice");
    assert_eq!(s.hooks.lock().unwrap().len(), n, "no webhook sent twice");
    second.stop().await.unwrap();
    let _ = (&s.admin, &s.m1, &s.m2, &s.fallback, s.other_ticket, s.smtp_port);
    s.app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_deliver_once_sqlite() {
    run_two_instances(Backend::Sqlite).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_deliver_once_postgres() {
    run_two_instances(Backend::Postgres).await
}
