//! The job workers: each instance runs `workers()` of them, each taking one job at a time under a lease of its own
//! (so no two workers, of one instance or of two, work on the same job). A worker applies a job's items in chunks:
//! one transaction per chunk, each item in a savepoint of it, so that an item that fails is undone alone and
//! reported while the others land, and the chunk's results and the job's progress are written in the same
//! transaction. A crash mid-chunk loses the whole chunk, results and all, and whoever takes the job over (at once
//! the same instance restarted, another when the lease runs out) starts again after the last chunk recorded: no item
//! is applied twice.
//!
//! Why chunks: a transaction per item paid a commit per item, which bounded SQLite at 16-17% of what the store
//! writes in 100-row transactions (BENCHMARKS.md). A chunk holds the database's writer (SQLite) or the rows it
//! touched (PostgreSQL) for at most `CHUNK_ITEMS` items or `CHUNK_HOLD`, whichever comes first, and everyone else
//! waits at most that long for it.

use std::time::{Duration, Instant};

use chrono::TimeDelta;
use partnerdesk_db::Conn;
use partnerdesk_db::jobs::{self, Job, JobState};
use serde_json::Value;

use super::Kind;
use super::items;
use crate::context::App;
use crate::error::AppError;

/// How long a worker's lease lasts without a chunk done: how long a crashed worker's job waits for another.
const LEASE_SECS: i64 = 60;
/// The most items applied in one transaction (a job has at most 100).
const CHUNK_ITEMS: usize = 100;
/// A chunk ends after the item that takes it past this long, so that other writers never wait much longer.
const CHUNK_HOLD: Duration = Duration::from_millis(250);
/// How often an item that failed for want of the database (busy, a lost connection, a deadlock) is tried again
/// before its failure is recorded as its result.
const RETRIES: u32 = 3;
/// The savepoint each item runs in.
const ITEM: &str = "pd_job_item";

fn lease_until() -> chrono::DateTime<chrono::Utc> {
    partnerdesk_db::now() + TimeDelta::seconds(LEASE_SECS)
}

/// How many jobs one instance works on at once. On SQLite one: a chunk holds the one writer, so a second worker
/// only waits for it (measured: fewer items a second, not more). On PostgreSQL two, whose chunks are written side by
/// side. What a worker holds stays bounded: one job's items, at most 100 in a body of at most `max_json_bytes`.
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

/// How a chunk ended.
enum Chunk {
    /// Committed: the job's progress is now this many items.
    Done(usize),
    /// This worker no longer holds the job; nothing was written.
    Lost,
    /// The job cannot go on (its author was suspended or removed); nothing was written.
    Stopped(String),
    /// The chunk's first item failed for want of the database; nothing was written, it is tried again.
    Retry(AppError),
}

async fn work(app: &App, worker: &str, job: Job) -> Result<(), AppError> {
    let (Some(kind), Some(list)) = (Kind::parse(&job.kind), job.payload["items"].as_array()) else {
        return fail(app, worker, &job, "the job's kind or items are unknown to this version").await;
    };
    let mut next = usize::try_from(job.progress).unwrap_or(0);
    let mut attempts = 0;
    while next < list.len() {
        if app.shutdown.is_cancelled() {
            jobs::release(&mut app.db.conn(), &job.id, worker).await?;
            return Ok(());
        }
        match chunk(app, worker, &job, kind, list, next, attempts >= RETRIES).await? {
            Chunk::Done(done) => {
                next = done;
                attempts = 0;
            }
            Chunk::Lost => {
                tracing::info!(job = %job.id, "another worker took the job over");
                return Ok(());
            }
            Chunk::Stopped(why) => return fail(app, worker, &job, &why).await,
            Chunk::Retry(e) => {
                attempts += 1;
                tracing::warn!(job = %job.id, index = next, attempts, error = %e, "job item failed; trying again");
                tokio::time::sleep(Duration::from_millis(200 << attempts)).await;
            }
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

/// Ends the job as failed, saying why.
async fn fail(app: &App, worker: &str, job: &Job, why: &str) -> Result<(), AppError> {
    tracing::warn!(job = %job.id, kind = %job.kind, why, "job failed");
    jobs::finish(&mut app.db.conn(), &job.id, worker, JobState::Failed, why).await?;
    Ok(())
}

/// Whether an item's failure may pass if tried again (the database was busy, a connection was lost, PostgreSQL
/// chose this transaction to end a deadlock), rather than being the item's own.
fn transient(e: &AppError) -> bool {
    matches!(e, AppError::Overloaded { .. } | AppError::Internal(_))
}

/// Applies the items of `list` from `start` in one transaction, each in a savepoint, and records their results and
/// the job's progress in it. `give_up_first`: the first item failed for want of the database as often as it is
/// tried, so its failure is now its result.
async fn chunk(
    app: &App,
    worker: &str,
    job: &Job,
    kind: Kind,
    list: &[Value],
    start: usize,
    give_up_first: bool,
) -> Result<Chunk, AppError> {
    let end = (start + CHUNK_ITEMS).min(list.len());
    // Passwords are hashed before the transaction: argon2 takes a while, and the writer is not held meanwhile.
    let mut prepared = Vec::with_capacity(end - start);
    for item in &list[start..end] {
        prepared.push(items::prepare(kind, item).await);
    }
    let mut tx = app.db.begin().await?;
    let from = start as i64;
    // First: on PostgreSQL this locks the job's row, so no other worker records anything until this commits.
    if !jobs::advance(&mut tx, &job.id, worker, from, from, lease_until()).await? {
        return Ok(Chunk::Lost);
    }
    // The author as they are now: a suspension takes effect at the next chunk.
    let who = match items::creator(&mut tx, job.created_by_id).await? {
        Ok(u) => u,
        Err(why) => return Ok(Chunk::Stopped(why)),
    };
    let held = Instant::now();
    let mut results = Vec::with_capacity(end - start);
    let mut told = false;
    let mut done = start;
    for (index, hash) in (start..end).zip(prepared) {
        let item = &list[index];
        let outcome = match hash {
            Ok(hash) => apply(&mut tx, app, &who, kind, item, hash).await?,
            Err(e) => Err(e),
        };
        let result = match outcome {
            Ok(applied) => {
                told |= applied.told;
                applied.result(index)
            }
            Err(e) if transient(&e) && !(index == start && give_up_first) => {
                if index == start {
                    // Nothing done yet: the transaction is dropped, and the item tried again in a new one.
                    return Ok(Chunk::Retry(e));
                }
                // The items before it are kept; the next chunk starts with it.
                break;
            }
            Err(e) => {
                if let AppError::Internal(detail) = &e {
                    tracing::error!(job = %job.id, index, error = %detail, "job item failed");
                }
                items::failure(index, item, &e)
            }
        };
        results.push((index as i64, result));
        done = index + 1;
        if held.elapsed() >= CHUNK_HOLD {
            break;
        }
    }
    jobs::record(&mut tx, &job.id, &results).await?;
    if !jobs::advance(&mut tx, &job.id, worker, from, done as i64, lease_until()).await? {
        return Ok(Chunk::Lost);
    }
    tx.commit().await?;
    if told {
        app.outbox_wakeup.notify_one();
    }
    Ok(Chunk::Done(done))
}

/// Applies one item in a savepoint of `tx`: kept when it succeeds, undone alone when it fails (the transaction goes
/// on). The outer error is the transaction's own failure (a savepoint that could not be set or undone).
async fn apply(
    tx: &mut Conn,
    app: &App,
    who: &partnerdesk_db::users::User,
    kind: Kind,
    item: &Value,
    hash: Option<String>,
) -> Result<Result<items::Applied, AppError>, AppError> {
    tx.savepoint(ITEM).await?;
    match items::apply(tx, app, who, kind, item, hash).await {
        Ok(applied) => {
            tx.release_savepoint(ITEM).await?;
            Ok(Ok(applied))
        }
        Err(e) => {
            tx.rollback_to_savepoint(ITEM).await?;
            Ok(Err(e))
        }
    }
}
