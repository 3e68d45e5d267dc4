//! Benchmark: the agent's partner-queue page and a ticket page with 100,000 tickets in the database (SQLite),
//! next to `/healthz` (the HTTP round trip alone) measured in the same run. Run by `bench/pages.sh`.
//!
//! Usage: bench_pages [TICKETS] [REQUESTS]   (defaults: 100000 tickets, 200 requests per page)

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use partnerdesk::app;
use partnerdesk::config::Config;
use partnerdesk_app::accounts::{self, NewAccount, Provisioner};
use partnerdesk_core::policy::TicketScope;
use partnerdesk_core::tickets::{Priority, TicketStatus};
use partnerdesk_core::{FormId, GroupId, OrgId, UserId, credentials};
use partnerdesk_db::organizations::{self, OrgFields};
use partnerdesk_db::tickets::{self, NewComment, NewTicket, TicketFields};
use partnerdesk_db::{AuditActor, Db, forms, groups, sessions};

async fn seed(db: &Db, n: usize) -> (UserId, GroupId) {
    let cli = AuditActor::cli();
    let mut tx = db.begin().await.unwrap();
    let partner_queue = groups::create(&mut tx, "Partner Queue", "", &cli).await.unwrap();
    let general = groups::create(&mut tx, "General", "", &cli).await.unwrap();
    let fields = |name: &str, audience, group| forms::FormFields {
        name: name.into(),
        display_name: name.into(),
        position: 0,
        active: true,
        is_default: false,
        audience,
        group_id: Some(group),
        priority: Some(Priority::High),
        tags: vec![],
        ticket_field_ids: vec![],
        end_user_conditions: vec![],
        agent_conditions: vec![],
        field_routing: None,
    };
    forms::create(
        &mut tx,
        &fields(
            "Alliance Partner",
            partnerdesk_core::tickets::Audience::Partners,
            partner_queue.id,
        ),
        &cli,
    )
    .await
    .unwrap();
    let mut orgs = Vec::new();
    for i in 0..200 {
        let f = OrgFields {
            name: format!("Partner {i}"),
            notes: format!("Notes for partner {i}: check the connector version."),
            alliance_partner: true,
            ..OrgFields::default()
        };
        orgs.push(organizations::create(&mut tx, &f, &cli).await.unwrap().id);
    }
    tx.commit().await.unwrap();
    let mut people = Vec::new();
    for (i, org) in orgs.iter().enumerate().take(50) {
        let input = NewAccount {
            email: format!("rep{i}@partner{i}.example"),
            name: format!("Rep {i}"),
            role: Some("end-user".into()),
            organization_id: Some(org.0),
            ..NewAccount::default()
        };
        people.push((
            accounts::create_account(db, Provisioner::Operator, &cli, input)
                .await
                .unwrap()
                .id,
            *org,
        ));
    }
    let agent = NewAccount {
        email: "agent@vendor.example".into(),
        name: "Agent".into(),
        role: Some("agent".into()),
        ..NewAccount::default()
    };
    let agent = accounts::create_account(db, Provisioner::Operator, &cli, agent)
        .await
        .unwrap();
    let statuses = [
        TicketStatus::New,
        TicketStatus::Open,
        TicketStatus::Pending,
        TicketStatus::Solved,
        TicketStatus::Closed,
    ];
    let start = Instant::now();
    for batch in 0..n.div_ceil(1000) {
        let mut tx = db.begin().await.unwrap();
        for j in 0..1000.min(n - batch * 1000) {
            let i = batch * 1000 + j;
            let (requester, org): (UserId, OrgId) = people[i % people.len()];
            let new = NewTicket {
                fields: TicketFields {
                    subject: format!("Ticket {i}: connector sync stalls"),
                    status: statuses[i % statuses.len()],
                    priority: Some(Priority::Normal),
                    requester_id: requester,
                    organization_id: Some(org),
                    group_id: Some(if i % 2 == 0 { partner_queue.id } else { general.id }),
                    assignee_id: None,
                    ticket_form_id: Some(FormId(1)),
                    tags: vec!["bench".into()],
                    ccs: Vec::new(),
                    custom_fields: Vec::new(),
                    external_id: None,
                },
                description: "Since 4.2 the sync stops after 10k records.".into(),
                submitter_id: requester,
                via: "web".into(),
                routing: serde_json::json!({"rule": "bench"}),
                follow_ups: vec![NewComment {
                    author_id: Some(agent.id),
                    body: "Internal: known issue".into(),
                    public: false,
                    via: "web".into(),
                }],
            };
            tickets::create(&mut tx, &new, &cli).await.unwrap();
        }
        tx.commit().await.unwrap();
    }
    eprintln!("seeded {n} tickets in {:.1}s", start.elapsed().as_secs_f64());
    let _ = TicketScope::All;
    (agent.id, partner_queue.id)
}

struct Stats {
    p50: f64,
    p95: f64,
    max: f64,
}

async fn measure(client: &reqwest::Client, url: &str, cookie: &str, n: usize) -> Stats {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let resp = client.get(url).header("cookie", cookie).send().await.unwrap();
        assert!(resp.status().is_success(), "{url}: {}", resp.status());
        resp.bytes().await.unwrap();
        times.push(t.elapsed());
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    Stats {
        p50: ms(times[n / 2]),
        p95: ms(times[n * 95 / 100]),
        max: ms(times[n - 1]),
    }
}

#[tokio::main]
async fn main() {
    let mut argv = std::env::args().skip(1);
    let n: usize = argv.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let requests: usize = argv.next().and_then(|a| a.parse().ok()).unwrap_or(200);
    let dir = std::env::current_dir().unwrap().join("bench-pages-data");
    let _ = std::fs::remove_dir_all(&dir);
    let vars = [
        ("PARTNERDESK_LISTEN", "127.0.0.1:0".to_owned()),
        ("PARTNERDESK_DATA_DIR", dir.display().to_string()),
    ];
    let config = Config::from_sources(None, |k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())).unwrap();
    let running = app::start(&config).await.unwrap();
    let (agent, queue) = seed(&running.db, n).await;
    let token = credentials::new_token().unwrap();
    let expires = partnerdesk_db::now() + chrono::Duration::hours(1);
    sessions::create(
        &mut running.db.conn(),
        agent,
        &credentials::token_digest(&token),
        "csrf",
        expires,
    )
    .await
    .unwrap();
    let cookie = format!("pd_session={token}");
    let base = format!("http://{}", running.addr);
    let client = reqwest::Client::new();
    let pages = [
        ("`/healthz` (reference: HTTP round trip)", format!("{base}/healthz")),
        (
            "partner queue, first page (50 newest unsolved of 30,000)",
            format!("{base}/agent?view={queue}"),
        ),
        (
            "partner queue, page 100 (offset 4,950)",
            format!("{base}/agent?view={queue}&page=100"),
        ),
        (
            "ticket page (notes banner, conversation, audit trail)",
            format!("{base}/agent/tickets/{}", n / 2),
        ),
    ];
    // Warm up caches as a running server would be.
    for (_, url) in &pages {
        measure(&client, url, &cookie, 10).await;
    }
    let mut reference = 0.0;
    println!(
        "| page ({n} tickets, SQLite, {requests} sequential requests) | p50 ms | p95 ms | max ms | p50 / healthz |"
    );
    println!("|---|---:|---:|---:|---:|");
    for (label, url) in &pages {
        let s = measure(&client, url, &cookie, requests).await;
        if reference == 0.0 {
            reference = s.p50;
        }
        println!(
            "| {label} | {:.2} | {:.2} | {:.2} | {:.1} |",
            s.p50,
            s.p95,
            s.max,
            s.p50 / reference
        );
    }
    running.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
