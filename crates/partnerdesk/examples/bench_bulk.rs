//! Benchmark: `create_or_update_many` of organizations and users (100 items per job) against a `partnerdesk serve`
//! process, next to the same rows written in bulk by the store (its own create functions, 100 rows and their audit
//! rows per transaction) into a fresh database of the same kind, in the same run. Samples the server's resident
//! memory while the jobs run. Run by `bench/bulk.sh`; prints a Markdown table.
//!
//! Usage: bench_bulk ORGS USERS   (defaults 10000 and 50000); `PARTNERDESK_BIN` names the server binary,
//! `BENCH_DATABASE_URL` a PostgreSQL database to use instead of SQLite files (dropped and made afresh).

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use partnerdesk_core::accounts::{Role, UserStatus};
use partnerdesk_db::organizations::{self, OrgFields};
use partnerdesk_db::users::{self, UserFields};
use partnerdesk_db::{AuditActor, Db};
use serde_json::{Value, json};

const PER_JOB: usize = 100;

fn org_item(i: usize) -> Value {
    json!({"name": format!("Bench org {i}"), "external_id": format!("org-{i}"), "domain_names": [format!("org{i}.example")]})
}

fn user_item(i: usize, org: i64) -> Value {
    json!({"name": format!("Bench user {i}"), "email": format!("user{i}@bench.example"), "external_id": format!("user-{i}"),
           "organization_id": org})
}

/// The reference: the same rows through the store's create functions, 100 per transaction.
async fn store(url: &str, orgs: usize, people: usize) -> (f64, Duration) {
    let db = Db::connect(url, 4).await.unwrap();
    partnerdesk_db::migrate(&db).await.unwrap();
    let audit = AuditActor::cli();
    let start = Instant::now();
    let mut org_ids = Vec::new();
    for chunk in (0..orgs).collect::<Vec<_>>().chunks(PER_JOB) {
        let mut tx = db.begin().await.unwrap();
        for &i in chunk {
            let f = OrgFields {
                name: format!("Bench org {i}"),
                domain_names: vec![format!("org{i}.example")],
                external_id: Some(format!("org-{i}")),
                ..OrgFields::default()
            };
            org_ids.push(organizations::create(&mut tx, &f, &audit).await.unwrap().id);
        }
        tx.commit().await.unwrap();
    }
    for chunk in (0..people).collect::<Vec<_>>().chunks(PER_JOB) {
        let mut tx = db.begin().await.unwrap();
        for &i in chunk {
            let f = UserFields {
                email: format!("user{i}@bench.example"),
                name: format!("Bench user {i}"),
                role: Role::EndUser,
                is_account_manager: false,
                is_support_manager: false,
                organization_id: Some(org_ids[i % org_ids.len()]),
                status: UserStatus::Invited,
                time_zone: "UTC".into(),
                external_id: Some(format!("user-{i}")),
            };
            users::create(&mut tx, &f, None, &audit).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
    let took = start.elapsed();
    db.close().await;
    ((orgs + people) as f64 / took.as_secs_f64(), took)
}

/// The server's resident memory in KiB.
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

struct Server {
    child: std::process::Child,
    base: String,
    token: String,
}

fn cli(bin: &str, env: &[(&str, String)], args: &[&str]) -> String {
    let out = std::process::Command::new(bin)
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

async fn serve(bin: &str, dir: &std::path::Path, url: &str) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let env = vec![
        ("PARTNERDESK_DATA_DIR", dir.display().to_string()),
        ("PARTNERDESK_DATABASE_URL", url.to_owned()),
        ("PARTNERDESK_LISTEN", format!("127.0.0.1:{port}")),
        ("PARTNERDESK_PUBLIC_URL", format!("http://127.0.0.1:{port}")),
        ("RUST_LOG", "warn".to_owned()),
    ];
    cli(
        bin,
        &env,
        &[
            "admin",
            "create-user",
            "--email",
            "bench@vendor.example",
            "--name",
            "Bench",
            "--role",
            "admin",
        ],
    );
    let token = cli(bin, &env, &["admin", "api-token", "--email", "bench@vendor.example"]);
    let child = std::process::Command::new(bin)
        .arg("serve")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..200 {
        if reqwest::get(format!("{base}/healthz"))
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Server { child, base, token }
}

/// Waits for job `id` to complete; returns its results.
async fn completed(http: &reqwest::Client, s: &Server, id: &str) -> Vec<Value> {
    loop {
        let v: Value = http
            .get(format!("{}/api/v2/job_statuses/{id}", s.base))
            .bearer_auth(&s.token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if v["job_status"]["status"] == "completed" {
            return v["job_status"]["results"].as_array().unwrap().clone();
        }
        assert!(v["job_status"]["status"] != "failed", "{v}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Queues `items` in jobs of 100 as fast as the server takes them (an account may have 30 waiting: on a 429 the
/// client waits for its oldest job, as a script would) and waits for the last; returns every item's result, in
/// order.
async fn run_jobs(http: &reqwest::Client, s: &Server, path: &str, key: &str, items: Vec<Value>) -> Vec<Value> {
    let mut waiting = std::collections::VecDeque::new();
    let mut results = Vec::new();
    for chunk in items.chunks(PER_JOB) {
        loop {
            let resp = http
                .post(format!("{}{path}", s.base))
                .bearer_auth(&s.token)
                .json(&json!({key: chunk}))
                .send()
                .await
                .unwrap();
            if resp.status() == 429 {
                let oldest: String = waiting.pop_front().unwrap();
                results.extend(completed(http, s, &oldest).await);
                continue;
            }
            assert_eq!(resp.status(), 200);
            let v: Value = resp.json().await.unwrap();
            waiting.push_back(v["job_status"]["id"].as_str().unwrap().to_owned());
            break;
        }
    }
    for id in waiting {
        results.extend(completed(http, s, &id).await);
    }
    results
}

#[tokio::main]
async fn main() {
    let mut argv = std::env::args().skip(1);
    let orgs: usize = argv.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let people: usize = argv.next().and_then(|a| a.parse().ok()).unwrap_or(50_000);
    let bin = std::env::var("PARTNERDESK_BIN").unwrap_or_else(|_| "target/release/partnerdesk".into());
    let dir = std::env::temp_dir().join(format!("pd-bench-bulk-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pg = std::env::var("BENCH_DATABASE_URL").ok();
    let url = |name: &str| match &pg {
        Some(base) => format!("{base}_{name}"),
        None => format!("sqlite://{}", dir.join(format!("{name}.db")).display()),
    };
    if let Some(base) = &pg {
        let (root, _) = base.rsplit_once('/').unwrap();
        let admin = Db::connect(&format!("{root}/postgres"), 1).await.unwrap();
        for name in ["store", "api"] {
            let db = base.rsplit_once('/').unwrap().1;
            let _ = admin
                .conn()
                .execute_script(&format!("DROP DATABASE IF EXISTS {db}_{name}"))
                .await;
            admin
                .conn()
                .execute_script(&format!("CREATE DATABASE {db}_{name}"))
                .await
                .unwrap();
        }
        admin.close().await;
    }

    let (store_rate, store_took) = store(&url("store"), orgs, people).await;

    let server = serve(&bin, &dir.join("api"), &url("api")).await;
    let pid = server.child.id();
    let idle = rss_kib(pid);
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(idle));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                peak.fetch_max(rss_kib(pid), std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };
    let http = reqwest::Client::new();
    let start = Instant::now();
    let org_results = run_jobs(
        &http,
        &server,
        "/api/v2/organizations/create_or_update_many.json",
        "organizations",
        (0..orgs).map(org_item).collect(),
    )
    .await;
    let org_ids: Vec<i64> = org_results.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    let after_orgs = rss_kib(pid);
    let user_results = run_jobs(
        &http,
        &server,
        "/api/v2/users/create_or_update_many.json",
        "users",
        (0..people).map(|i| user_item(i, org_ids[i % org_ids.len()])).collect(),
    )
    .await;
    let took = start.elapsed();
    sampler.abort();
    let end = rss_kib(pid);
    let failed = org_results
        .iter()
        .chain(&user_results)
        .filter(|r| r["success"] != true)
        .count();
    let api_rate = (orgs + people) as f64 / took.as_secs_f64();
    let _ = std::process::Command::new("kill").arg(pid.to_string()).status();
    let mut child = server.child;
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);

    let backend = if pg.is_some() { "PostgreSQL" } else { "SQLite" };
    println!("{backend}: {orgs} organizations, then {people} users, {PER_JOB} per job; {failed} items failed");
    println!();
    println!("| measurement | items | seconds | items per second | ratio to the store |");
    println!("|---|---:|---:|---:|---:|");
    println!(
        "| store: the same rows, 100 per transaction (with audit rows) | {} | {:.1} | {store_rate:.0} | 1.00 |",
        orgs + people,
        store_took.as_secs_f64()
    );
    println!(
        "| API: create_or_update_many jobs, to the last completed | {} | {:.1} | {api_rate:.0} | {:.2} |",
        orgs + people,
        took.as_secs_f64(),
        api_rate / store_rate
    );
    println!();
    println!(
        "Server resident memory: {} MiB idle, {} MiB after the organizations, {} MiB at the end, {} MiB at most.",
        idle / 1024,
        after_orgs / 1024,
        end / 1024,
        peak.load(std::sync::atomic::Ordering::Relaxed) / 1024
    );
}
