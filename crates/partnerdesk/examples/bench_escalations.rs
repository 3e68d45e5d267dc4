//! Benchmark: escalation submitted → e-mail accepted by the SMTP server, over 200 escalations (SQLite, release).
//! The SMTP server is mailin-embedded in this process; the reference is an SMTP round trip sending the same kind of
//! message directly with lettre, measured in the same run. Run by `bench/escalations.sh`.

#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use mailin_embedded::response::{self, Response};
use partnerdesk::app;
use partnerdesk::config::Config;
use partnerdesk_app::accounts::{self, NewAccount, Provisioner};
use partnerdesk_db::AuditActor;

#[derive(Clone, Default)]
struct Sink {
    arrived: Arc<Mutex<Vec<(Instant, String)>>>,
    data: Vec<u8>,
}

impl mailin_embedded::Handler for Sink {
    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let text = String::from_utf8_lossy(&std::mem::take(&mut self.data)).into_owned();
        self.arrived.lock().unwrap().push((Instant::now(), text));
        response::OK
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(200);
    let sink = Sink::default();
    let arrived = sink.arrived.clone();
    let smtp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let smtp_port = smtp.local_addr().unwrap().port();
    let mut server = mailin_embedded::Server::new(sink);
    server.with_name("bench").with_tcp_listener(smtp);
    std::thread::spawn(move || {
        let _ = server.serve();
    });

    // Reference: the same SMTP round trip without partnerdesk.
    let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&format!("smtp://127.0.0.1:{smtp_port}"))
        .unwrap()
        .build();
    let mut direct = Vec::new();
    for i in 0..n {
        let m = Message::builder()
            .from("a@b.example".parse().unwrap())
            .to("m@b.example".parse().unwrap())
            .subject(format!("direct {i}"))
            .body(String::from("x"))
            .unwrap();
        let t = Instant::now();
        transport.send(m).await.unwrap();
        direct.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    arrived.lock().unwrap().clear();

    let dir = std::env::current_dir().unwrap().join("bench-escalations-data");
    let _ = std::fs::remove_dir_all(&dir);
    let vars = [
        ("PARTNERDESK_LISTEN", "127.0.0.1:0".to_owned()),
        ("PARTNERDESK_DATA_DIR", dir.display().to_string()),
        ("PARTNERDESK_SMTP_URL", format!("smtp://127.0.0.1:{smtp_port}")),
    ];
    let config = Config::from_sources(None, |k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())).unwrap();
    let running = app::start(&config).await.unwrap();
    let base = format!("http://{}", running.addr);
    let db = running.db.clone();
    let cli = AuditActor::cli();
    let mk = |email: &str, role: &str, org: Option<i64>, sm: bool| NewAccount {
        email: email.into(),
        name: email.into(),
        role: Some(role.into()),
        organization_id: org,
        is_support_manager: sm,
        ..NewAccount::default()
    };
    let manager = accounts::create_account(
        &db,
        Provisioner::Operator,
        &cli,
        mk("oncall@vendor.example", "agent", None, true),
    )
    .await
    .unwrap();
    let mut tx = db.begin().await.unwrap();
    let org = partnerdesk_db::organizations::create(
        &mut tx,
        &partnerdesk_db::organizations::OrgFields {
            name: "Bench Co".into(),
            alliance_partner: true,
            ..Default::default()
        },
        &cli,
    )
    .await
    .unwrap();
    let row = partnerdesk_db::escalations::ScheduleRow {
        members: vec![manager.id],
        starts_local: "2020-01-06T09:00".into(),
        time_zone: "UTC".into(),
        period_days: 7,
        fallback_user_id: None,
        ack_timeout_minutes: 30,
    };
    partnerdesk_db::escalations::save_schedule(&mut tx, &row, &cli)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let partner = accounts::create_account(
        &db,
        Provisioner::Operator,
        &cli,
        mk("pat@bench.example", "end-user", Some(org.id.0), false),
    )
    .await
    .unwrap();
    let token = accounts::issue_api_token(&db, Provisioner::Operator, &cli, &partner, "bench")
        .await
        .unwrap();
    let client = reqwest::Client::new();
    let ticket: i64 = client
        .post(format!("{base}/api/v2/requests.json"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"request": {"subject": "bench", "comment": {"body": "bench"}}}))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap()["request"]["id"]
        .as_i64()
        .unwrap();

    let mut latencies = Vec::new();
    for i in 0..n {
        let t = Instant::now();
        let body = serde_json::json!({"escalation": {"ticket_id": ticket, "impact": format!("bench impact {i}"), "needed": "a call"}});
        let resp = client
            .post(format!("{base}/api/v2/escalations.json"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        let id = resp.json::<serde_json::Value>().await.unwrap()["escalation"]["id"]
            .as_i64()
            .unwrap();
        let marker = format!("Escalation #{id} ");
        loop {
            if let Some((at, _)) = arrived.lock().unwrap().iter().find(|(_, text)| text.contains(&marker)) {
                latencies.push((*at - t).as_secs_f64() * 1000.0);
                break;
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    }
    running.stop().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    for v in [&mut latencies, &mut direct] {
        v.sort_by(|a, b| a.total_cmp(b));
    }
    println!("| measurement ({n} sequential, SQLite, release) | p50 ms | p99 ms | max ms |");
    println!("|---|---:|---:|---:|");
    println!(
        "| SMTP round trip sending directly with lettre (reference) | {:.2} | {:.2} | {:.2} |",
        percentile(&direct, 0.5),
        percentile(&direct, 0.99),
        direct[direct.len() - 1]
    );
    println!(
        "| escalation submitted (POST /api/v2/escalations) → e-mail accepted by the SMTP server | {:.2} | {:.2} | {:.2} |",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies[latencies.len() - 1]
    );
}
