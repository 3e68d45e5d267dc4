//! The one SQLite writer, and group commit.
//!
//! A commit costs about as much as the rest of a ticket's transaction (the pages it changed are appended to the WAL
//! again, and the file locks are taken and released): measured through the C library, committing every ten tickets
//! doubles the rate of committing each one. So when transactions are queued behind the writer, each one runs inside
//! a savepoint of a transaction shared with them (a *batch*), and the last of the queue commits the batch for all.
//! Every request keeps its all-or-nothing guarantee: its savepoint is rolled back alone when it fails, and it is
//! answered only once the batch holding its changes has committed (or with the batch's error, when SQLite could not
//! commit it). With nobody queued, a transaction commits at once, as before.
//!
//! Who commits: the member that finishes when nobody waits for the writer, or the one that fills the batch to
//! `MAX_BATCH`. A member that finished while others waited waits for the batch's outcome; if those others went away
//! (their clients hung up) and nobody committed within `BATCH_WAIT`, it takes the writer again and commits the batch
//! itself, still watching for the outcome meanwhile. That wait runs in a task of its own, so a member whose own
//! client hangs up still sees its batch committed. A batch nobody has joined is never left open: whoever lets the
//! writer go ends it, so the write lock is never held for nobody.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rusqlite::Connection;
use tokio::sync::{OwnedMutexGuard, watch};

use super::{Done, SqliteDb, Want, retrying, run_on};
use crate::conn::Arg;
use crate::error::DbError;

/// Most transactions committed together; bounds how long the first of them waits for its answer.
const MAX_BATCH: u32 = 16;
/// How long a member waits for someone else to commit its batch before it commits it itself.
const BATCH_WAIT: Duration = Duration::from_millis(20);
/// The savepoint each transaction runs in.
const SAVEPOINT: &str = "SAVEPOINT pd_tx";
const RELEASE: &str = "RELEASE pd_tx";
const UNDO: &str = "ROLLBACK TO pd_tx; RELEASE pd_tx";

/// Why a batch did not commit, as its members are told.
#[derive(Debug, Clone)]
enum Failure {
    /// The database stayed locked by another process.
    Busy,
    /// SQLite refused the commit or rolled the transaction back.
    Lost(String),
}

impl From<Failure> for DbError {
    fn from(f: Failure) -> DbError {
        match f {
            Failure::Busy => DbError::Busy,
            Failure::Lost(why) => DbError::Sqlite(format!("the transaction was not committed: {why}")),
        }
    }
}

/// How a batch ended (`None` while it is open).
type Outcome = Option<Result<(), Failure>>;

/// The writer connection and the batch open on it, if any.
pub(super) struct Writer {
    pub(super) conn: Connection,
    batch: Option<Batch>,
}

struct Batch {
    id: u64,
    members: u32,
    done: watch::Sender<Outcome>,
}

static BATCH_IDS: AtomicU64 = AtomicU64::new(1);

impl Writer {
    pub(super) fn new(conn: Connection) -> Writer {
        Writer { conn, batch: None }
    }

    fn batch_id(&self) -> Option<u64> {
        self.batch.as_ref().map(|b| b.id)
    }

    /// Ends the open batch with `COMMIT` and tells its members how it went.
    fn commit_batch(&mut self) -> Result<(), DbError> {
        let Some(batch) = self.batch.take() else {
            return Ok(());
        };
        let committed = match self.conn.execute_batch("COMMIT") {
            Ok(()) => Ok(()),
            Err(e) => {
                // A failed COMMIT leaves the transaction open; end it before the writer is handed on.
                self.end_stray_transaction();
                Err(match DbError::from(e) {
                    DbError::Locked => Failure::Busy,
                    other => Failure::Lost(other.to_string()),
                })
            }
        };
        metrics::histogram!("partnerdesk_db_batch_transactions").record(f64::from(batch.members));
        batch.done.send_replace(Some(committed.clone()));
        committed.map_err(DbError::from)
    }

    /// Rolls the whole batch back (when a member's own rollback failed, the batch can no longer be trusted) and
    /// tells its members.
    fn abandon_batch(&mut self, why: &str) {
        self.end_stray_transaction();
        if let Some(batch) = self.batch.take() {
            batch.done.send_replace(Some(Err(Failure::Lost(why.to_owned()))));
        }
    }

    /// After a failed statement: when SQLite rolled the whole transaction back by itself (it does for I/O errors,
    /// a full disk, ...), the batch is gone, and its members are told.
    fn notice_lost_batch(&mut self) {
        if self.conn.is_autocommit() {
            self.abandon_batch("SQLite rolled the transaction back");
        }
    }

    fn end_stray_transaction(&mut self) {
        if !self.conn.is_autocommit()
            && let Err(e) = self.conn.execute_batch("ROLLBACK")
        {
            tracing::error!(error = %e, "rolling back the SQLite writer's transaction");
        }
    }
}

/// Counts a task waiting for the writer until it has it (or gave up).
struct Queued<'a>(&'a AtomicUsize);

impl<'a> Queued<'a> {
    fn enter(n: &'a AtomicUsize) -> Queued<'a> {
        n.fetch_add(1, Ordering::SeqCst);
        Queued(n)
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl SqliteDb {
    /// The writer, waiting in line (first come, first served) until `deadline`.
    pub(super) async fn writer(&self, deadline: Instant) -> Result<OwnedMutexGuard<Writer>, DbError> {
        let _queued = Queued::enter(&self.inner.queued);
        let lock = self.inner.writer.clone().lock_owned();
        crate::conn::waited("sqlite_write", tokio::time::timeout_at(deadline.into(), lock))
            .await
            .map_err(|_| DbError::Busy)
    }

    /// Starts a transaction on the writer: inside the open batch, or in a new one that takes the write lock at
    /// once (`BEGIN IMMEDIATE`).
    pub async fn begin(&self) -> Result<Tx, DbError> {
        let deadline = Instant::now() + self.inner.acquire_timeout;
        let mut w = self.writer(deadline).await?;
        if w.batch.is_some() && w.conn.is_autocommit() {
            w.notice_lost_batch();
        }
        if w.batch.is_none() {
            w.end_stray_transaction();
            retrying!(deadline, w.conn.execute_batch("BEGIN IMMEDIATE").map_err(DbError::from))?;
            let (done, _) = watch::channel(None);
            w.batch = Some(Batch {
                id: BATCH_IDS.fetch_add(1, Ordering::Relaxed),
                members: 0,
                done,
            });
        }
        if let Err(e) = w.conn.execute_batch(SAVEPOINT) {
            w.notice_lost_batch();
            self.settle(&mut w);
            return Err(DbError::from(e).locked_is_busy());
        }
        let batch = w.batch_id().unwrap_or_default();
        Ok(Tx {
            db: self.clone(),
            writer: Some(w),
            batch,
            deadline,
            taken: Instant::now(),
        })
    }

    /// Whether the batch should be committed now rather than left open for the transactions queued behind it.
    fn commit_now(&self, w: &Writer) -> bool {
        self.inner.queued.load(Ordering::SeqCst) == 0 || w.batch.as_ref().is_some_and(|b| b.members >= MAX_BATCH)
    }

    /// Before the writer is let go by someone who did not just join the batch: commit a batch that nobody joined
    /// (there is nothing to wait for) or that should be committed now.
    fn settle(&self, w: &mut Writer) {
        let empty = w.batch.as_ref().is_some_and(|b| b.members == 0);
        if w.batch.is_some()
            && (empty || self.commit_now(w))
            && let Err(e) = w.commit_batch()
        {
            tracing::error!(error = %e, "committing a batch of SQLite transactions");
        }
    }

    /// Waits for batch `id` to be committed by another member, committing it itself when nobody did in time.
    /// Never gives up while the batch may still commit: a request answered "busy, retry" whose change did land
    /// would be filed twice.
    async fn outcome_of(&self, id: u64, mut done: watch::Receiver<Outcome>) -> Result<(), DbError> {
        let settled: Outcome = match tokio::time::timeout(BATCH_WAIT, done.wait_for(Option::is_some)).await {
            // The outcome is copied out at once: the channel's read guard must not be held across a wait.
            Ok(Ok(outcome)) => outcome.clone(),
            Ok(Err(_)) => return Err(DbError::Sqlite("the writer went away before committing".into())),
            Err(_) => None,
        };
        if let Some(outcome) = settled {
            return outcome.map_err(DbError::from);
        }
        // Nobody committed in time (those queued went away): take the writer, outside the queue's count, and commit
        // the batch, unless its outcome arrives first.
        let taken = tokio::select! {
            biased;
            outcome = done.wait_for(Option::is_some) => {
                let outcome: Outcome = outcome.map_err(|_| DbError::Sqlite("the writer went away".into()))?.clone();
                return outcome.unwrap_or(Ok(())).map_err(DbError::from);
            }
            w = self.inner.writer.clone().lock_owned() => w,
        };
        let mut w = taken;
        if w.batch_id() == Some(id) {
            return w.commit_batch();
        }
        self.settle(&mut w);
        drop(w);
        // Our batch ended before we took the writer: its outcome is in `done`.
        let outcome: Outcome = done
            .wait_for(Option::is_some)
            .await
            .map_err(|_| DbError::Sqlite("the writer went away".into()))?
            .clone();
        outcome.unwrap_or(Ok(())).map_err(DbError::from)
    }
}

/// An open transaction: a savepoint in the writer's batch. Dropped without `commit`, it is rolled back.
pub struct Tx {
    db: SqliteDb,
    writer: Option<OwnedMutexGuard<Writer>>,
    /// The batch this transaction belongs to; statements fail once it is gone.
    batch: u64,
    deadline: Instant,
    /// When the writer was taken: how long transactions hold it is `partnerdesk_db_write_hold_seconds`.
    taken: Instant,
}

/// What to do after one try of a statement.
enum Next {
    Done(Result<Done, DbError>),
    TryAgain,
}

impl Tx {
    /// The writer, while this transaction's batch is still open.
    fn writer(&mut self) -> Result<&mut Writer, DbError> {
        let w = self
            .writer
            .as_deref_mut()
            .ok_or_else(|| DbError::Config("transaction already ended".into()))?;
        if w.batch_id() != Some(self.batch) {
            return Err(DbError::Sqlite("SQLite rolled the transaction back".into()));
        }
        Ok(w)
    }

    /// Lets the writer go (recording how long it was held).
    fn release(&mut self) -> Option<OwnedMutexGuard<Writer>> {
        let w = self.writer.take()?;
        metrics::histogram!("partnerdesk_db_write_hold_seconds").record(self.taken.elapsed().as_secs_f64());
        Some(w)
    }

    pub async fn run(&mut self, sql: &str, args: &[Arg], want: Want) -> Result<Done, DbError> {
        let deadline = self.deadline;
        loop {
            let next = {
                let w = self.writer()?;
                match run_on(&w.conn, sql, args, want) {
                    // Locked by another process; but if SQLite ended our transaction over it, retrying would run
                    // the statement on its own, outside the batch.
                    Err(DbError::Locked) if w.conn.is_autocommit() => {
                        w.notice_lost_batch();
                        Next::Done(Err(DbError::Busy))
                    }
                    Err(DbError::Locked) if Instant::now() + super::BUSY_RETRY > deadline => {
                        Next::Done(Err(DbError::Busy))
                    }
                    Err(DbError::Locked) => Next::TryAgain,
                    Err(e) => {
                        w.notice_lost_batch();
                        Next::Done(Err(e))
                    }
                    ok => Next::Done(ok),
                }
            };
            match next {
                Next::Done(r) => return r,
                Next::TryAgain => tokio::time::sleep(super::BUSY_RETRY).await,
            }
        }
    }

    pub fn execute_script(&mut self, sql: &str) -> Result<(), DbError> {
        let w = self.writer()?;
        let ran = w.conn.execute_batch(sql).map_err(|e| DbError::from(e).locked_is_busy());
        if ran.is_err() {
            w.notice_lost_batch();
        }
        ran
    }

    /// Releases the savepoint into the batch, and answers once the batch has committed.
    pub async fn commit(mut self) -> Result<(), DbError> {
        let w = self.writer()?;
        // On failure, Drop rolls the savepoint back.
        w.conn
            .execute_batch(RELEASE)
            .map_err(|e| DbError::from(e).locked_is_busy())?;
        if let Some(b) = w.batch.as_mut() {
            b.members += 1;
        }
        let mut writer = self
            .release()
            .ok_or_else(|| DbError::Config("transaction already ended".into()))?;
        if self.db.commit_now(&writer) {
            return writer.commit_batch();
        }
        let done = match &writer.batch {
            Some(b) => b.done.subscribe(),
            None => return Err(DbError::Sqlite("SQLite rolled the transaction back".into())),
        };
        drop(writer);
        let (db, id) = (self.db.clone(), self.batch);
        tokio::spawn(async move { db.outcome_of(id, done).await })
            .await
            .map_err(|e| DbError::Sqlite(format!("waiting for the commit: {e}")))?
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        let Some(mut w) = self.release() else {
            return;
        };
        if w.batch_id() == Some(self.batch)
            && let Err(e) = w.conn.execute_batch(UNDO)
        {
            // This transaction's changes could not be taken out of the batch: none of it may be committed.
            tracing::error!(error = %e, "rolling back an abandoned SQLite transaction");
            w.abandon_batch("a transaction in the same batch could not be rolled back");
        }
        self.db.settle(&mut w);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use super::BATCH_WAIT;
    use crate::conn::{Conn, Db};
    use crate::error::DbError;

    async fn open(name: &str) -> (Db, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("pd-writer-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let db = Db::connect(&format!("sqlite://{}", dir.join("t.db").display()), 4)
            .await
            .expect("open");
        db.conn()
            .execute_script("CREATE TABLE t (v INTEGER NOT NULL UNIQUE)")
            .await
            .expect("schema");
        (db, dir)
    }

    async fn count(db: &Db) -> i64 {
        let row = db
            .conn()
            .fetch_one("SELECT COUNT(*) AS n FROM t", &[])
            .await
            .expect("count");
        row.i64("n").expect("n")
    }

    fn sqlite(db: &Db) -> &super::SqliteDb {
        match db {
            Db::Sqlite(s) => s,
            Db::Postgres(_) => unreachable!("a SQLite test"),
        }
    }

    /// Many transactions at once, so that they share batches: the ones that fail (a unique violation after their
    /// own insert) or are dropped uncommitted leave nothing, the others all land, and each is readable from a read
    /// connection as soon as its commit has answered.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn batch_members_succeed_and_fail_alone() {
        let (db, dir) = open("members").await;
        db.conn()
            .execute("INSERT INTO t (v) VALUES (-1)", &[])
            .await
            .expect("seed");
        let mut tasks = Vec::new();
        for i in 0..400i64 {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                let mut tx = db.begin().await.expect("begin");
                tx.execute("INSERT INTO t (v) VALUES (?)", &crate::args![i])
                    .await
                    .expect("insert");
                match i % 4 {
                    0 => {
                        let dup = tx.execute("INSERT INTO t (v) VALUES (-1)", &[]).await;
                        assert!(matches!(dup, Err(DbError::Conflict { .. })), "{dup:?}");
                        drop(tx);
                        false
                    }
                    1 => {
                        tokio::task::yield_now().await;
                        drop(tx);
                        false
                    }
                    _ => {
                        tx.commit().await.expect("commit");
                        let seen = db
                            .conn()
                            .fetch_optional("SELECT v FROM t WHERE v = ?", &crate::args![i])
                            .await
                            .expect("read back");
                        assert!(seen.is_some(), "row {i} was answered committed but is not readable");
                        true
                    }
                }
            }));
        }
        let mut landed = 0;
        for t in tasks {
            landed += i64::from(t.await.expect("task"));
        }
        assert_eq!(landed, 200);
        assert_eq!(count(&db).await, 201);
        let odd = db
            .conn()
            .fetch_one("SELECT COUNT(*) AS n FROM t WHERE v >= 0 AND v % 4 IN (0, 1)", &[])
            .await
            .expect("failed ones");
        assert_eq!(odd.i64("n").expect("n"), 0, "a failed or dropped transaction left rows");
        db.close().await;
        let _ = std::fs::remove_dir_all(dir);
    }

    /// A transaction that finished while another waited for the writer leaves the batch open for it; when that
    /// other one goes away instead, the first commits the batch itself, and its change lands.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_batch_left_open_by_a_vanished_waiter_is_committed() {
        let (db, dir) = open("vanished").await;
        let lite = sqlite(&db).clone();
        let mut tx = db.begin().await.expect("begin");
        tx.execute("INSERT INTO t (v) VALUES (7)", &[]).await.expect("insert");
        // Someone queued for the writer...
        lite.inner.queued.fetch_add(1, Ordering::SeqCst);
        let committing = tokio::spawn(async move {
            let started = std::time::Instant::now();
            tx.commit().await.map(|()| started.elapsed())
        });
        // Once the commit has left the batch open for them (the writer free, the batch not ended)... Waited for,
        // not slept on: on a loaded machine the commit may start later than any fixed sleep.
        let mut left_open = false;
        for _ in 0..2000 {
            if let Ok(w) = lite.inner.writer.try_lock()
                && w.batch_id().is_some()
            {
                left_open = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert!(left_open, "the commit never left the batch open for the waiter");
        // ... who gives up before taking it.
        lite.inner.queued.fetch_sub(1, Ordering::SeqCst);
        let took = committing.await.expect("task").expect("commit");
        assert!(
            took >= BATCH_WAIT,
            "committed after {took:?}: the batch was not left open for the waiter"
        );
        assert_eq!(count(&db).await, 1);
        db.close().await;
        let _ = std::fs::remove_dir_all(dir);
    }

    /// A statement routed to the writer outside a transaction is a transaction of its own.
    #[tokio::test]
    async fn single_writes_commit() {
        let (db, dir) = open("single").await;
        let mut c: Conn = db.conn();
        assert_eq!(
            c.execute("INSERT INTO t (v) VALUES (1), (2)", &[])
                .await
                .expect("insert"),
            2
        );
        let again = c.execute("INSERT INTO t (v) VALUES (3), (1)", &[]).await;
        assert!(
            matches!(again, Err(DbError::Conflict { ref constraint }) if constraint == "t.v"),
            "{again:?}"
        );
        assert_eq!(count(&db).await, 2, "the failed statement left half its rows");
        db.close().await;
        let _ = std::fs::remove_dir_all(dir);
    }
}
