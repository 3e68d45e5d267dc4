//! `show_many` for tickets, users and organizations: several records in one call, each passing the policy of its
//! single show (a partner never gets another organization's ticket, user or organization by naming its id).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};

fn ids_of(v: &Value, key: &str) -> Vec<i64> {
    v[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_i64().unwrap())
        .collect()
}

async fn show_many(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let admin = app.admin().await;
    let acme = app.org(&admin, "Acme Integrations", true).await;
    let globex = app.org(&admin, "Globex Connectors", true).await;
    let pat = app.user("pat@acme.example", "end-user", Some(acme)).await;
    let gil = app.user("gil@globex.example", "end-user", Some(globex)).await;
    let file = |who: &crate::helpers::Creds| {
        let who = who.clone();
        let app = app.clone();
        async move {
            let body = json!({"request": {"subject": "Sync", "comment": {"body": "Stalls."}}});
            let (s, v) = app.post("/api/v2/requests.json", &who, body).await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
            v["request"]["id"].as_i64().unwrap()
        }
    };
    let (mine, theirs) = (file(&pat).await, file(&gil).await);

    let path = format!("/api/v2/tickets/show_many.json?ids={theirs},{mine},99999");
    let (s, v) = app.get(&path, &admin).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        ids_of(&v, "tickets"),
        vec![theirs, mine],
        "in the order asked; unknown ids left out"
    );
    assert_eq!(v["count"], 2);
    let (s, v) = app.get(&path, &pat).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        ids_of(&v, "tickets"),
        vec![mine],
        "another organization's ticket is left out"
    );

    let path = format!("/api/v2/users/show_many?ids={},{}", pat.id, gil.id);
    assert_eq!(ids_of(&app.get(&path, &admin).await.1, "users"), vec![pat.id, gil.id]);
    assert_eq!(ids_of(&app.get(&path, &pat).await.1, "users"), vec![pat.id]);
    let path = format!("/api/v2/organizations/show_many.json?ids={acme},{globex}");
    assert_eq!(
        ids_of(&app.get(&path, &admin).await.1, "organizations"),
        vec![acme, globex]
    );
    assert_eq!(ids_of(&app.get(&path, &pat).await.1, "organizations"), vec![acme]);

    // Bad input: a clear 400.
    let many: Vec<String> = (1..=101).map(|i| i.to_string()).collect();
    for bad in ["", "?ids=1,x", "?ids=-3", &format!("?ids={}", many.join(","))] {
        let (s, v) = app.get(&format!("/api/v2/tickets/show_many.json{bad}"), &admin).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}: {v}");
    }
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn show_many_sqlite() {
    show_many(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn show_many_postgres() {
    show_many(Backend::Postgres).await;
}
