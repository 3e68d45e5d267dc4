//! Search pages past the range a page counts exactly (`PARTNERDESK_SEARCH_EXACT_COUNT`, 3 here): PostgreSQL gives
//! its estimate as `count`, SQLite counts exactly, and either way every page holds the right results, newest
//! first, with `next_page` only while results follow; `search/count.json` stays exact.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, Creds, Storage, TestApp};

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn page(app: &TestApp, who: &Creds, query: &str, page: i64) -> Value {
    let path = format!("/api/v2/search.json?query={}&per_page=3&page={page}", encode(query));
    let (s, v) = app.get(&path, who).await;
    assert_eq!(s, StatusCode::OK, "{query}: {v}");
    v
}

/// Every result of a query, page by page, as (result_type, id); and the counts the pages gave.
async fn walk(app: &TestApp, who: &Creds, query: &str) -> (Vec<(String, i64)>, Vec<i64>) {
    let (mut all, mut counts) = (Vec::new(), Vec::new());
    for n in 1.. {
        let v = page(app, who, query, n).await;
        counts.push(v["count"].as_i64().unwrap_or(-1));
        for r in v["results"].as_array().cloned().unwrap_or_default() {
            all.push((
                r["result_type"].as_str().unwrap_or("").to_owned(),
                r["id"].as_i64().unwrap_or(0),
            ));
        }
        if v["next_page"].is_null() {
            break;
        }
        assert!(n < 10, "{query}: pages do not end");
    }
    (all, counts)
}

async fn run(backend: Backend) {
    let extra = vec![("PARTNERDESK_SEARCH_EXACT_COUNT", "3".to_owned())];
    let Some(app) = TestApp::spawn_full(backend, Storage::Local, extra).await else {
        return;
    };
    let admin = app.admin().await;
    let ann = app.user("ann@vendor.example", "agent", None).await;
    let quinn = app.user("quasar.quinn@vendor.example", "agent", None).await;
    let mut quasars = Vec::new();
    for i in 0..8 {
        let body = json!({"ticket": {"subject": format!("Quasar feed {i} stalls"), "comment": {"body": "It stalls."}}});
        let (s, v) = app.post("/api/v2/tickets.json", &ann, body).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        quasars.push(v["ticket"]["id"].as_i64().unwrap_or(0));
    }
    let mut nebulas = Vec::new();
    for i in 0..2 {
        let body = json!({"ticket": {"subject": format!("Nebula export {i}"), "comment": {"body": "Slow."}}});
        let (_, v) = app.post("/api/v2/tickets.json", &ann, body).await;
        nebulas.push(v["ticket"]["id"].as_i64().unwrap_or(0));
    }
    quasars.reverse();
    nebulas.reverse();
    let tickets = |ids: &[i64]| ids.iter().map(|i| ("ticket".to_owned(), *i)).collect::<Vec<_>>();

    // Within the exact range: the count is exact, the matches newest first.
    let (found, counts) = walk(&app, &admin, "type:ticket nebula").await;
    assert_eq!(found, tickets(&nebulas));
    assert_eq!(counts, vec![2]);

    // Past it, on both databases, the same pages; the count is exact on SQLite, at least past the range on
    // PostgreSQL, and search/count.json counts exactly.
    for query in [
        "type:ticket quasar",
        "type:ticket quasar created>2020-01-01",
        "type:ticket status<solved",
    ] {
        let (found, counts) = walk(&app, &admin, query).await;
        let want = if query.contains("quasar") {
            tickets(&quasars)
        } else {
            let mut all = [nebulas.clone(), quasars.clone()].concat();
            all.sort_unstable_by(|a, b| b.cmp(a));
            tickets(&all)
        };
        assert_eq!(found, want, "{query}");
        for count in &counts {
            match backend {
                Backend::Sqlite => assert_eq!(*count, want.len() as i64, "{query}: {counts:?}"),
                Backend::Postgres => assert!(*count > 3, "{query}: {counts:?}"),
            }
        }
        let (s, v) = app
            .get(&format!("/api/v2/search/count.json?query={}", encode(query)), &admin)
            .await;
        assert_eq!(
            (s, v["count"].as_i64()),
            (StatusCode::OK, Some(want.len() as i64)),
            "{query}"
        );
    }

    // Tickets, then the user: the user's place is exact even though the tickets' count may not be.
    let (found, _) = walk(&app, &admin, "quasar").await;
    let mut want = tickets(&quasars);
    want.push(("user".to_owned(), quinn.id));
    assert_eq!(found, want);

    // A page past the end is empty and the last.
    let v = page(&app, &admin, "type:ticket quasar", 5).await;
    assert_eq!(v["results"].as_array().map(Vec::len), Some(0), "{v}");
    assert!(v["next_page"].is_null(), "{v}");
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    run(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    run(Backend::Postgres).await;
}
