//! The figures `/metrics` reads from the database and the pools when it is scraped (counters and histograms are
//! recorded where the work happens: requests in `web`, pools in `db`, uploads and buckets here). Every series is
//! labelled by route, status, pool or state only: nothing personal.

use partnerdesk_core::escalations::EscalationStatus;
use partnerdesk_db::{escalations, jobs, now, outbox};

use crate::context::App;
use crate::error::AppError;

/// Sets the gauges that are states rather than events: pool connections, the outbox, bulk jobs, open escalations.
pub async fn sample(app: &App) -> Result<(), AppError> {
    for (pool, size, idle) in app.db.pool_stats() {
        let in_use = (size as f64 - idle as f64).max(0.0);
        metrics::gauge!("partnerdesk_db_pool_connections", "pool" => pool, "state" => "in_use").set(in_use);
        metrics::gauge!("partnerdesk_db_pool_connections", "pool" => pool, "state" => "idle").set(idle as f64);
    }
    let mut conn = app.db.conn();
    let (pending, oldest) = outbox::pending(&mut conn).await?;
    metrics::gauge!("partnerdesk_outbox_pending").set(pending as f64);
    let age = oldest
        .map(|t| (now() - t).num_milliseconds() as f64 / 1000.0)
        .unwrap_or(0.0);
    metrics::gauge!("partnerdesk_outbox_oldest_pending_seconds").set(age.max(0.0));
    let (waiting, oldest) = jobs::pending(&mut conn).await?;
    metrics::gauge!("partnerdesk_jobs_pending").set(waiting as f64);
    let age = oldest
        .map(|t| (now() - t).num_milliseconds() as f64 / 1000.0)
        .unwrap_or(0.0);
    metrics::gauge!("partnerdesk_jobs_oldest_pending_seconds").set(age.max(0.0));
    let counts = escalations::count_by_status(&mut conn).await?;
    for state in EscalationStatus::ALL.iter().map(|s| s.as_str()) {
        let n = counts.iter().find(|(s, _)| s == state).map(|(_, n)| *n).unwrap_or(0);
        metrics::gauge!("partnerdesk_escalations", "state" => state).set(n as f64);
    }
    Ok(())
}
