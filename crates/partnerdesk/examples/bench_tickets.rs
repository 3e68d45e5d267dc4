//! Benchmark: tickets created per second through the API on SQLite, next to raw SQLite insert transactions per
//! second measured in the same run, on the same disk, with the same pragmas (WAL, synchronous=NORMAL).
//! Run by `bench/tickets.sh`; prints a Markdown table.
//!
//! Usage: bench_tickets [N] [CONCURRENCY...]   (defaults: 2000 tickets; concurrency 1 and 8)

#![allow(clippy::unwrap_used)]

use std::time::Instant;

use partnerdesk::app;
use partnerdesk::config::Config;
use partnerdesk_app::accounts::{self, NewAccount, Provisioner};
use partnerdesk_db::{AuditActor, Db, args};

async fn raw_sqlite(dir: &std::path::Path, n: usize) -> f64 {
    let db = Db::connect(&format!("sqlite://{}", dir.join("raw.db").display()), 1)
        .await
        .unwrap();
    db.conn()
        .execute_script("CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, subject TEXT NOT NULL, body TEXT NOT NULL, created_at TEXT NOT NULL)")
        .await
        .unwrap();
    let start = Instant::now();
    for i in 0..n {
        let mut tx = db.begin().await.unwrap();
        tx.execute(
            "INSERT INTO t (subject, body, created_at) VALUES (?, ?, ?)",
            &args![format!("subject {i}"), "body", partnerdesk_db::now()],
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    db.close().await;
    rate
}

async fn api(dir: &std::path::Path, n: usize, concurrency: usize) -> f64 {
    let data = dir.join(format!("api-{concurrency}"));
    let vars = [
        ("PARTNERDESK_LISTEN", "127.0.0.1:0".to_owned()),
        ("PARTNERDESK_DATA_DIR", data.display().to_string()),
    ];
    let config = Config::from_sources(None, |k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())).unwrap();
    let running = app::start(&config).await.unwrap();
    let base = format!("http://{}", running.addr);
    let cli = AuditActor::cli();
    let input = NewAccount {
        email: "bench@vendor.example".into(),
        name: "Bench".into(),
        role: Some("agent".into()),
        ..NewAccount::default()
    };
    let user = accounts::create_account(&running.db, Provisioner::Operator, &cli, input)
        .await
        .unwrap();
    let token = accounts::issue_api_token(&running.db, Provisioner::Operator, &cli, &user, "bench")
        .await
        .unwrap();
    let client = reqwest::Client::new();
    let start = Instant::now();
    let per_task = n / concurrency;
    let tasks: Vec<_> = (0..concurrency)
        .map(|w| {
            let (client, base, token) = (client.clone(), base.clone(), token.clone());
            tokio::spawn(async move {
                for i in 0..per_task {
                    let body = serde_json::json!({"ticket": {"subject": format!("bench {w}-{i}"), "comment": {"body": "Benchmark ticket body"}, "priority": "normal"}});
                    let resp = client.post(format!("{base}/api/v2/tickets.json")).bearer_auth(&token).json(&body).send().await.unwrap();
                    assert_eq!(resp.status(), 201);
                    resp.bytes().await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let rate = (per_task * concurrency) as f64 / start.elapsed().as_secs_f64();
    running.stop().await.unwrap();
    rate
}

#[tokio::main]
async fn main() {
    let mut argv = std::env::args().skip(1);
    let n: usize = argv.next().and_then(|a| a.parse().ok()).unwrap_or(2000);
    let mut levels: Vec<usize> = argv.filter_map(|a| a.parse().ok()).collect();
    if levels.is_empty() {
        levels = vec![1, 8];
    }
    let dir = std::env::current_dir().unwrap().join("bench-data");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let raw = raw_sqlite(&dir, n).await;
    println!("| measurement | per second | ratio to raw SQLite |");
    println!("|---|---:|---:|");
    println!("| raw SQLite insert transactions (1 row each, sequential) | {raw:.0} | 1.00 |");
    for c in levels {
        let rate = api(&dir, n, c).await;
        println!(
            "| tickets created through POST /api/v2/tickets.json, {c} concurrent client(s) | {rate:.0} | {:.2} |",
            rate / raw
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
