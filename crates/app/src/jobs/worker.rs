//! The job workers: each instance runs `workers()` of them, each taking one job at a time under a lease of its own
//! (so no two workers, of one instance or of two, work on the same job), and applies its items in order, each in a transaction that also records the item's result and moves the
//! job's progress, and ends the job. A job whose worker died is taken over when the lease runs out (at once by the
//! same instance restarted), after the last item recorded.

use std::time::Duration;

use chrono::TimeDelta;
use partnerdesk_db::jobs::{self, Job, JobState};
use partnerdesk_db::users::User;
use serde_json::Value;

use super::Kind;
use super::items;
use crate::context::App;
use crate::error::AppError;

/// How long a worker's lease lasts without an item done: how long a crashed worker's job waits for another.
const LEASE_SECS: i64 = 60;
/// How often an item that failed for want of the database (busy, a lost connection) is tried again before its
/// failure is recorded as its result.
const RETRIES: u32 = 3;

fn lease_until() -> chrono::DateTime<chrono::Utc> {
    partnerdesk_db::now() + TimeDelta::seconds(LEASE_SECS)
}

/// How many jobs one instance works on at once. On SQLite one: every item's transaction holds the one writer, so a
/// second worker only waits for it (measured: fewer items a second, not more). On PostgreSQL two, whose items are
/// written side by side. What a worker holds stays bounded: one job's items, at most 100 in a body of at most
/// `max_json_bytes`.
pub fn workers(db: &partnerdesk_db::Db) -> usize {
    match db.backend() {
        partnerdesk_db::Backend::Sqlite => 1,
        partnerdesk_db::Backend::Postgres => 2,
    }
}

/// The lease owner name of this instance's worker `n`: the instance's name, a dot, the number.
fn owner(app: &App, n: usize) -> String {
    format!("{}.{n}", app.instance_id)
}

/// Frees the job leases an earlier life of this instance held (any of its workers).
pub async fn release_stale(app: &App) -> Result<u64, AppError> {
    Ok(jobs::release_leases_of(&mut app.db.conn(), &app.instance_id).await?)
}

/// Worker `n` of this instance: works on jobs until shutdown.
pub async fn worker(app: App, n: usize) {
    let every = Duration::from_millis(app.settings.worker_interval_ms.max(50));
    let me = owner(&app, n);
    while !app.shutdown.is_cancelled() {
        match run_once(&app, &me).await {
            // A job done: another may be waiting.
            Ok(true) => continue,
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "job run failed"),
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = app.jobs_wakeup.notified() => {}
            () = app.shutdown.cancelled() => return,
        }
    }
}

/// Takes one job for `worker`, if one is waiting, and works on it until it is done, the lease is lost or the server
/// stops. True when a job was taken.
pub async fn run_once(app: &App, worker: &str) -> Result<bool, AppError> {
    let claimed = {
        let mut tx = app.db.begin().await?;
        let now = partnerdesk_db::now();
        let job = jobs::claim(&mut tx, worker, now, lease_until()).await?;
        tx.commit().await?;
        job
    };
    let Some(job) = claimed else { return Ok(false) };
    let id = job.id.clone();
    if let Err(e) = work(app, worker, job).await {
        // Given back, so that this instance or another goes on when the database answers again.
        let _ = jobs::release(&mut app.db.conn(), &id, worker).await;
        return Err(e);
    }
    Ok(true)
}

async fn work(app: &App, worker: &str, job: Job) -> Result<(), AppError> {
    let fail = async |why: &str| -> Result<(), AppError> {
        tracing::warn!(job = %job.id, kind = %job.kind, why, "job failed");
        jobs::finish(&mut app.db.conn(), &job.id, worker, JobState::Failed, why).await?;
        Ok(())
    };
    let (Some(kind), Some(list)) = (Kind::parse(&job.kind), job.payload["items"].as_array()) else {
        return fail("the job's kind or items are unknown to this version").await;
    };
    let who = match items::creator(&mut app.db.conn(), job.created_by_id).await? {
        Ok(u) => u,
        Err(why) => return fail(why.as_str()).await,
    };
    let started = job.progress.max(0) as usize;
    for (index, item) in list.iter().enumerate().skip(started) {
        if app.shutdown.is_cancelled() {
            jobs::release(&mut app.db.conn(), &job.id, worker).await?;
            return Ok(());
        }
        if !item_done(app, worker, &job, &who, kind, index, item).await? {
            tracing::info!(job = %job.id, "another worker took the job over");
            return Ok(());
        }
    }
    let message = format!(
        "Completed at {}",
        partnerdesk_db::now().format("%Y-%m-%d %H:%M:%S +0000")
    );
    jobs::finish(&mut app.db.conn(), &job.id, worker, JobState::Completed, &message).await?;
    metrics::counter!("partnerdesk_jobs_completed_total", "kind" => job.kind.clone()).increment(1);
    Ok(())
}

/// Applies item `index` and records its result in one transaction, or, when it fails, records the failure;
/// false when this worker no longer holds the job.
async fn item_done(
    app: &App,
    worker: &str,
    job: &Job,
    who: &User,
    kind: Kind,
    index: usize,
    item: &Value,
) -> Result<bool, AppError> {
    let done = index as i64 + 1;
    let prepared = items::prepare(kind, item).await;
    let mut attempt = 0;
    let failed = loop {
        let hash = match &prepared {
            Ok(h) => h.clone(),
            Err(e) => break items::failure(index, item, e),
        };
        let mut tx = app.db.begin().await?;
        // First: on PostgreSQL this locks the job's row, so no other worker records anything until this commits.
        if !jobs::advance(&mut tx, &job.id, worker, done, lease_until()).await? {
            return Ok(false);
        }
        match items::apply(&mut tx, app, who, kind, item, hash).await {
            Ok(applied) => {
                jobs::record(&mut tx, &job.id, done - 1, &applied.result(index)).await?;
                tx.commit().await?;
                if applied.told {
                    app.outbox_wakeup.notify_one();
                }
                return Ok(true);
            }
            // The item's transaction is dropped, and with it whatever the item wrote.
            Err(e @ (AppError::Overloaded { .. } | AppError::Internal(_))) if attempt < RETRIES => {
                drop(tx);
                attempt += 1;
                tracing::warn!(job = %job.id, index, attempt, error = %e, "job item failed; trying again");
                tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
            }
            Err(e) => {
                drop(tx);
                if let AppError::Internal(detail) = &e {
                    tracing::error!(job = %job.id, index, error = %detail, "job item failed");
                }
                break items::failure(index, item, &e);
            }
        }
    };
    let mut tx = app.db.begin().await?;
    if !jobs::advance(&mut tx, &job.id, worker, done, lease_until()).await? {
        return Ok(false);
    }
    jobs::record(&mut tx, &job.id, done - 1, &failed).await?;
    tx.commit().await?;
    Ok(true)
}
