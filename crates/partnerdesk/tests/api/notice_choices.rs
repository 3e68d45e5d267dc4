//! Staff choose what they are e-mailed about: assignments, the requester's replies, new tickets in the groups they
//! follow. Each person sets their own (admins anyone's); partners have no such choices.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Backend, Creds, TestApp};
use crate::mail::{self, Inbox, eventually};

fn count_to(mails: &Inbox, to: &str, containing: &str) -> usize {
    mails
        .lock()
        .unwrap()
        .iter()
        .filter(|m| m.to.iter().any(|t| t == to) && m.data.contains(containing))
        .count()
}

async fn file(app: &TestApp, partner: &Creds, subject: &str) -> (i64, i64) {
    let (s, v) = app
        .post(
            "/api/v2/tickets.json",
            partner,
            json!({"ticket": {"subject": subject, "comment": {"body": "Details."}}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let group = v["ticket"]["group_id"].as_i64().expect("routed to a group");
    (v["ticket"]["id"].as_i64().unwrap(), group)
}

async fn choices(backend: Backend) {
    let Some((app, mails)) = mail::spawn_with_mail(backend, Vec::new()).await else {
        return;
    };
    let admin = app.admin().await;
    let acme = app.org(&admin, "Acme Integrations", true).await;
    let pat = app.user("pat@acme.example", "end-user", Some(acme)).await;
    let alex = app.user("alex@vendor.test", "agent", None).await;
    let bo = app.user("bo@vendor.test", "agent", None).await;
    // The partner form routes partners' tickets to the partner queue.
    let (s, v) = app
        .post(
            "/api/v2/groups.json",
            &admin,
            json!({"group": {"name": "Partner Queue"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let queue = v["group"]["id"].as_i64().unwrap();
    let form = json!({"ticket_form": {"name": "Alliance Partner", "audience": "partners", "group_id": queue}});
    let (s, v) = app.post("/api/v2/ticket_forms.json", &admin, form).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");

    let path = |u: &Creds| format!("/api/v2/users/{}/notifications.json", u.id);
    let (s, v) = app.get(&path(&alex), &alex).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v["notifications"],
        json!({"ticket_assigned": true, "requester_replied": true, "new_in_followed_group": true, "followed_group_ids": []})
    );
    // Alex follows the partner queue; Bo follows it too but wants no new-ticket mail.
    let (s, v) = app
        .put(
            &path(&alex),
            &alex,
            json!({"notifications": {"followed_group_ids": [queue, queue]}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["notifications"]["followed_group_ids"], json!([queue]));
    let body = json!({"notifications": {"followed_group_ids": [queue], "new_in_followed_group": false}});
    assert_eq!(app.put(&path(&bo), &bo, body).await.0, StatusCode::OK);

    let (second, _) = file(&app, &pat, "Webhook 502").await;
    eventually("the follower hears of the new ticket", || {
        count_to(&mails, "alex@vendor.test", &format!("New ticket #{second}")) == 1
    })
    .await;

    // Alex wants no assignment mail; Bo keeps the default.
    let body = json!({"notifications": {"ticket_assigned": false}});
    let (s, v) = app.put(&path(&alex), &alex, body).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v["notifications"]["followed_group_ids"],
        json!([queue]),
        "left as it was"
    );
    let ticket = |id: i64| format!("/api/v2/tickets/{id}.json");
    let assign = |to: &Creds| json!({"ticket": {"assignee_id": to.id}});
    assert_eq!(app.put(&ticket(second), &admin, assign(&alex)).await.0, StatusCode::OK);
    let (third, _) = file(&app, &pat, "Sync stalls").await;
    assert_eq!(app.put(&ticket(third), &admin, assign(&bo)).await.0, StatusCode::OK);
    eventually("Bo hears of the assignment", || {
        count_to(&mails, "bo@vendor.test", &format!("assigned ticket #{third}")) == 1
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        count_to(&mails, "alex@vendor.test", "assigned ticket"),
        0,
        "Alex chose not to be told"
    );
    assert_eq!(
        count_to(&mails, "bo@vendor.test", "New ticket"),
        0,
        "Bo chose not to be told"
    );
    assert_eq!(count_to(&mails, "alex@vendor.test", &format!("New ticket #{third}")), 1);

    // Who may read and change whose choices.
    assert_eq!(app.get(&path(&alex), &bo).await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        app.put(
            &path(&alex),
            &admin,
            json!({"notifications": {"requester_replied": false}})
        )
        .await
        .0,
        StatusCode::OK
    );
    let (s, v) = app.get(&path(&pat), &pat).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "partners have no notice choices: {v}");
    let (s, v) = app.get(&path(&pat), &admin).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let (s, v) = app
        .put(
            &path(&alex),
            &alex,
            json!({"notifications": {"followed_group_ids": [987654]}}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v.to_string().contains("987654"), "{v}");
    let (s, _) = app
        .put(&path(&alex), &alex, json!({"notifications": {"everything": true}}))
        .await;
    assert!(s.is_client_error(), "an unknown choice is refused: {s}");
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_choose_their_notices_sqlite() {
    choices(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_choose_their_notices_postgres() {
    choices(Backend::Postgres).await;
}
