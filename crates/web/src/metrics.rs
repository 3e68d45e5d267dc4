//! Prometheus metrics: every request counted and timed by matched route and status, and `/metrics` in the text
//! exposition format. Series are recorded through the `metrics` facade wherever the work happens (`db` for pools,
//! `app` for uploads and buckets) into the one recorder of this process; the scrape adds the gauges that are
//! states (`partnerdesk_app::metrics::sample`). Labels are route templates, methods, statuses, pools and states:
//! never a path, an address or anything about a person.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::session::constant_time_eq;
use crate::state::AppState;

/// Latency buckets, in seconds: fine below 100 ms where requests should be, coarse above.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's recorder, installed on first use. Several servers in one process (the tests) share it.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new();
        let builder = match builder.set_buckets(BUCKETS) {
            Ok(b) => b,
            Err(_) => PrometheusBuilder::new(),
        };
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        // Refused only when another recorder was installed first; then this one renders what it has.
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics shows only its own series");
        }
        describe();
        handle
    })
}

/// Says what each series means (the `# HELP` lines), and starts the counters and gauges that exist before their
/// first event at zero, so that a scrape shows every series from the start.
fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "partnerdesk_http_requests_total",
        "HTTP requests answered, by method, matched route and status"
    );
    describe_histogram!(
        "partnerdesk_http_request_duration_seconds",
        Unit::Seconds,
        "Time to answer an HTTP request (until the response head), by method, matched route and status"
    );
    describe_gauge!(
        "partnerdesk_db_pool_connections",
        "Database connections by pool (sqlite_read, sqlite_write, postgres) and state (in_use, idle)"
    );
    describe_gauge!(
        "partnerdesk_db_acquire_waiting",
        "Callers waiting for a database connection, by pool; for sqlite_write, the queue of writes"
    );
    describe_histogram!(
        "partnerdesk_db_acquire_seconds",
        Unit::Seconds,
        "Time spent waiting for a database connection (for sqlite_write: for the one writer), by pool"
    );
    describe_histogram!(
        "partnerdesk_db_write_hold_seconds",
        Unit::Seconds,
        "SQLite: how long each transaction held the one writer, from BEGIN IMMEDIATE to its end"
    );
    describe_histogram!(
        "partnerdesk_db_batch_transactions",
        "SQLite: transactions committed together by one COMMIT (group commit)"
    );
    describe_gauge!(
        "partnerdesk_outbox_pending",
        "E-mails and webhooks waiting to be delivered"
    );
    describe_gauge!(
        "partnerdesk_outbox_oldest_pending_seconds",
        Unit::Seconds,
        "Age of the oldest delivery still waiting (0 when none)"
    );
    describe_gauge!("partnerdesk_jobs_pending", "Bulk jobs queued or being worked on");
    describe_gauge!(
        "partnerdesk_jobs_oldest_pending_seconds",
        Unit::Seconds,
        "Age of the oldest bulk job not yet done (0 when none)"
    );
    describe_counter!("partnerdesk_jobs_completed_total", "Bulk jobs completed, by kind");
    describe_gauge!(
        "partnerdesk_escalations",
        "Escalations by state (open, acknowledged, resolved)"
    );
    describe_gauge!(
        "partnerdesk_large_uploads_in_progress",
        "Resumable uploads receiving a request body right now"
    );
    describe_counter!(
        "partnerdesk_large_upload_bytes_total",
        Unit::Bytes,
        "Bytes received by resumable (tus) uploads"
    );
    describe_counter!(
        "partnerdesk_bucket_bytes_streamed_total",
        Unit::Bytes,
        "Bytes read from partner buckets (downloads streamed to agents and copies into tickets)"
    );
    metrics::counter!("partnerdesk_large_upload_bytes_total").absolute(0);
    metrics::counter!("partnerdesk_bucket_bytes_streamed_total").absolute(0);
    metrics::gauge!("partnerdesk_large_uploads_in_progress").set(0.0);
}

/// A method as a label: the ones the API and pages use, anything else as `other` (so that made-up methods
/// cannot create series without end).
fn method_label(m: &axum::http::Method) -> &'static str {
    match m.as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

/// Counts and times each request by its matched route (the template, such as `/api/v2/tickets/{id}`).
pub async fn track(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let method = method_label(req.method());
    let started = Instant::now();
    let resp = next.run(req).await;
    let labels = [
        ("method", method.to_owned()),
        ("route", route),
        ("status", resp.status().as_u16().to_string()),
    ];
    metrics::counter!("partnerdesk_http_requests_total", &labels).increment(1);
    metrics::histogram!("partnerdesk_http_request_duration_seconds", &labels).record(started.elapsed().as_secs_f64());
    resp
}

/// `GET /metrics`: the text exposition format; with `PARTNERDESK_METRICS_TOKEN` set, only for its bearer.
pub async fn scrape(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(token) = &state.settings.metrics_token {
        let sent = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !constant_time_eq(sent.as_bytes(), token.as_bytes()) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "metrics need the bearer token\n",
            )
                .into_response();
        }
    }
    if let Err(e) = partnerdesk_app::metrics::sample(&state).await {
        tracing::warn!(error = %e, "sampling metrics from the database failed");
    }
    let handle = handle();
    handle.run_upkeep();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        handle.render(),
    )
        .into_response()
}
