//! SQLite through its C library (`rusqlite`), each statement run on the task that asks for it.
//!
//! Why not through a driver thread: SQLite is a library, and a statement on a warm page cache takes microseconds.
//! sqlx runs every statement on a thread of its own and hands the result back over a channel, two thread switches
//! per statement; with one writer and seven statements per ticket (begin, reads, inserts, commit) that bounded
//! ticket creation at about 1,300/s, a quarter of what the same transaction costs through the C library, and most
//! of the time went to switching threads.
//!
//! So here the one writer connection sits behind an async mutex (first come, first served), a transaction holds
//! it from `BEGIN IMMEDIATE` to `COMMIT`, and reads take a connection from a small pool of read connections
//! (`query_only`, never waiting for the writer under WAL). Nothing ever waits inside SQLite: the busy timeout is 0,
//! and a statement that finds the database locked (only another process, such as the admin CLI, can hold the lock
//! against this one's writer) is retried after an async sleep until the acquire deadline, then fails as
//! [`DbError::Busy`]. A transaction dropped before its commit (a client that hung up) is rolled back in `Drop`,
//! synchronously, so no connection is ever handed on inside someone else's transaction.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, ErrorCode, OpenFlags};
use tokio::sync::Semaphore;

use crate::conn::{Arg, waited};
pub use writer::Tx;
use writer::Writer;

mod writer;

use crate::error::DbError;

/// Statements kept prepared per connection (every statement partnerdesk runs is one of a few hundred fixed texts).
const STATEMENT_CACHE: usize = 256;
/// How long to wait before trying a locked database again.
pub(crate) const BUSY_RETRY: Duration = Duration::from_millis(2);

/// Evaluates `$attempt` (a statement on a connection) again while SQLite answers "busy" or "locked", sleeping
/// between tries, until `$deadline`, then gives up with [`DbError::Busy`]. A macro rather than a function taking a
/// closure: a closure holding a `&Connection` across the sleep would make the future `!Send` (a connection is not
/// `Sync`); here each attempt's borrows end before the sleep.
macro_rules! retrying {
    ($deadline:expr, $attempt:expr) => {
        loop {
            let outcome = $attempt;
            match outcome {
                Err(DbError::Locked) => {
                    if Instant::now() + $crate::sqlite::BUSY_RETRY > $deadline {
                        break Err(DbError::Busy);
                    }
                    tokio::time::sleep($crate::sqlite::BUSY_RETRY).await;
                }
                other => break other,
            }
        }
    };
}
use retrying;

/// A SQLite database: one writer, a pool of readers.
#[derive(Clone)]
pub struct SqliteDb {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Arc<tokio::sync::Mutex<Writer>>,
    /// Tasks waiting for the writer: while there are some, a finished transaction leaves its batch open for them.
    queued: AtomicUsize,
    readers: Mutex<Vec<Connection>>,
    /// One permit per read connection that may exist; waiting for one is waiting for a reader.
    read_permits: Semaphore,
    opened_readers: AtomicU32,
    acquire_timeout: Duration,
}

impl std::fmt::Debug for SqliteDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteDb")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

/// `sqlite://PATH`, `sqlite:PATH` (query parameters, as sqlx accepted them, are ignored) → `PATH`.
fn path_of(url: &str) -> Result<PathBuf, DbError> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| DbError::Config("a SQLite URL starts with sqlite://".into()))?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Err(DbError::Config(
            "a SQLite URL names a file (sqlite://PATH); an in-memory database cannot be shared by connections".into(),
        ));
    }
    Ok(PathBuf::from(path))
}

fn open(path: &PathBuf, read_only: bool) -> Result<Connection, DbError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.busy_timeout(Duration::ZERO)?;
    // journal_mode answers with a row, so it is read rather than executed.
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(DbError::Config(format!(
            "{} cannot use WAL (journal mode {mode})",
            path.display()
        )));
    }
    conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")?;
    unicode_lower(&conn)?;
    if read_only {
        // A write routed to a reader fails loudly instead of competing with the writer.
        conn.execute_batch("PRAGMA query_only = ON;")?;
    }
    Ok(conn)
}

/// Replaces SQLite's `lower()`, which folds ASCII letters only, with Unicode lower-casing, as PostgreSQL's does and
/// as Rust lower-cases the other side of every comparison: `requester:"élodie müller"` finds "Élodie Müller", and a
/// field value `STRATÉGIQUE` matches "Stratégique", on both databases alike. No index is built on `lower()` (the
/// `name_key` columns are filled from Rust), so no stored index depends on which `lower()` ran.
fn unicode_lower(conn: &Connection) -> Result<(), DbError> {
    use rusqlite::functions::FunctionFlags;
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC | FunctionFlags::SQLITE_INNOCUOUS;
    conn.create_scalar_function("lower", 1, flags, |ctx| {
        // As the built-in: NULL stays NULL, numbers become their text.
        Ok(match ctx.get_raw(0) {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(i) => Value::Text(i.to_string()),
            ValueRef::Real(f) => Value::Text(f.to_string()),
            ValueRef::Text(t) | ValueRef::Blob(t) => Value::Text(String::from_utf8_lossy(t).to_lowercase()),
        })
    })?;
    Ok(())
}

impl SqliteDb {
    pub async fn connect(url: &str, max_readers: u32, acquire_timeout: Duration) -> Result<SqliteDb, DbError> {
        let path = path_of(url)?;
        // The writer first: it creates the file and switches it to WAL before any reader opens it. Another process
        // may hold the lock while it does (switching to WAL needs it), hence the retries.
        let deadline = Instant::now() + acquire_timeout;
        let writer = retrying!(deadline, open(&path, false))?;
        // WAL checkpoints stay where SQLite puts them: in the commit that takes the WAL past 1,000 pages, on the
        // writer. Measured (bench/writes.sh), a checkpointer on a connection of its own, running beside the writer,
        // made the worst write latency several times longer (270 ms against 10 ms at one connection): the two
        // contend for the WAL, and it grows between checkpoints.
        let db = SqliteDb {
            inner: Arc::new(Inner {
                path,
                writer: Arc::new(tokio::sync::Mutex::new(Writer::new(writer))),
                queued: AtomicUsize::new(0),
                readers: Mutex::new(Vec::new()),
                read_permits: Semaphore::new(max_readers.max(1) as usize),
                opened_readers: AtomicU32::new(0),
                acquire_timeout,
            }),
        };
        Ok(db)
    }

    /// `(name, size, idle)` of the reader pool and the writer (for `/metrics`).
    pub fn pool_stats(&self) -> Vec<(&'static str, u32, usize)> {
        let opened = self.inner.opened_readers.load(Ordering::Relaxed);
        let idle_readers = self.inner.readers.lock().map(|r| r.len()).unwrap_or(0);
        let writer_idle = usize::from(self.inner.writer.try_lock().is_ok());
        vec![("sqlite_read", opened, idle_readers), ("sqlite_write", 1, writer_idle)]
    }

    /// Runs one statement on its own: `SELECT`s on a reader, anything else on the writer.
    pub async fn run(&self, sql: &str, args: &[Arg], want: Want) -> Result<Done, DbError> {
        let deadline = Instant::now() + self.inner.acquire_timeout;
        if crate::conn::reads_only(sql) {
            let reader = waited("sqlite_read", self.reader(deadline)).await?;
            retrying!(deadline, run_on(reader.conn()?, sql, args, want))
        } else {
            let mut tx = self.begin().await?;
            let done = tx.run(sql, args, want).await?;
            tx.commit().await?;
            Ok(done)
        }
    }

    async fn reader(&self, deadline: Instant) -> Result<Reader<'_>, DbError> {
        let permit = tokio::time::timeout_at(deadline.into(), self.inner.read_permits.acquire())
            .await
            .map_err(|_| DbError::Busy)?
            .map_err(|_| DbError::Busy)?;
        let pooled = self.inner.readers.lock().ok().and_then(|mut r| r.pop());
        let conn = match pooled {
            Some(c) => c,
            None => {
                let c = retrying!(deadline, open(&self.inner.path, true))?;
                self.inner.opened_readers.fetch_add(1, Ordering::Relaxed);
                c
            }
        };
        Ok(Reader {
            db: &self.inner,
            conn: Some(conn),
            _permit: permit,
        })
    }

    /// Runs a script of several statements on the writer, as a transaction of its own.
    pub async fn execute_script(&self, sql: &str) -> Result<(), DbError> {
        let mut tx = self.begin().await?;
        tx.execute_script(sql)?;
        tx.commit().await
    }

    /// Drops every idle read connection (the writer closes with the last handle).
    pub fn close(&self) {
        if let Ok(mut r) = self.inner.readers.lock() {
            r.clear();
        }
    }
}

/// A read connection, back to the pool when dropped.
struct Reader<'a> {
    db: &'a Inner,
    conn: Option<Connection>,
    _permit: tokio::sync::SemaphorePermit<'a>,
}

impl Reader<'_> {
    fn conn(&self) -> Result<&Connection, DbError> {
        // Present from construction until Drop.
        self.conn
            .as_ref()
            .ok_or_else(|| DbError::Config("read connection already returned".into()))
    }
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        if let (Some(c), Ok(mut pool)) = (self.conn.take(), self.db.readers.lock()) {
            pool.push(c);
        }
    }
}

/// What a statement's caller wants back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// Every row.
    All,
    /// The first row, if any.
    First,
    /// The number of rows changed.
    Changes,
}

/// A statement's outcome: rows, or the number of rows changed.
pub enum Done {
    Rows(Vec<LiteRow>),
    Changes(u64),
}

fn run_on(conn: &Connection, sql: &str, args: &[Arg], want: Want) -> Result<Done, DbError> {
    let mut stmt = conn.prepare_cached(sql)?;
    for (i, a) in args.iter().enumerate() {
        let at = i + 1;
        match a {
            Arg::I64(v) => stmt.raw_bind_parameter(at, v)?,
            Arg::OptI64(v) => stmt.raw_bind_parameter(at, v)?,
            Arg::Text(v) => stmt.raw_bind_parameter(at, v)?,
            Arg::OptText(v) => stmt.raw_bind_parameter(at, v)?,
            Arg::Bool(v) => stmt.raw_bind_parameter(at, i64::from(*v))?,
            Arg::Time(v) => stmt.raw_bind_parameter(at, sqlite_time(v))?,
            Arg::OptTime(v) => stmt.raw_bind_parameter(at, v.as_ref().map(sqlite_time))?,
        }
    }
    let names: Arc<[String]> = stmt.column_names().into_iter().map(str::to_owned).collect();
    let width = names.len();
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        if want == Want::Changes {
            continue;
        }
        let mut values = Vec::with_capacity(width);
        for i in 0..width {
            values.push(Value::from(row.get_ref(i)?));
        }
        out.push(LiteRow {
            names: names.clone(),
            values,
        });
        if want == Want::First {
            break;
        }
    }
    drop(rows);
    Ok(match want {
        Want::Changes => Done::Changes(conn.changes()),
        _ => Done::Rows(out),
    })
}

/// SQLite keeps times as fixed-width RFC 3339 text, so that text order is time order.
pub(crate) fn sqlite_time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// A row read from SQLite, owned, read by column name.
pub struct LiteRow {
    names: Arc<[String]>,
    values: Vec<Value>,
}

impl LiteRow {
    fn value(&self, col: &str) -> Result<ValueRef<'_>, DbError> {
        self.names
            .iter()
            .position(|n| n == col)
            .and_then(|i| self.values.get(i))
            .map(ValueRef::from)
            .ok_or_else(|| DbError::Corrupt(format!("no column {col} in the result")))
    }

    pub fn opt_i64(&self, col: &str) -> Result<Option<i64>, DbError> {
        match self.value(col)? {
            ValueRef::Null => Ok(None),
            ValueRef::Integer(v) => Ok(Some(v)),
            other => Err(mismatch(col, "an integer", other)),
        }
    }

    pub fn opt_text(&self, col: &str) -> Result<Option<String>, DbError> {
        match self.value(col)? {
            ValueRef::Null => Ok(None),
            ValueRef::Text(t) => String::from_utf8(t.to_vec())
                .map(Some)
                .map_err(|_| DbError::Corrupt(format!("{col} is not UTF-8"))),
            other => Err(mismatch(col, "text", other)),
        }
    }
}

fn mismatch(col: &str, wanted: &str, got: ValueRef<'_>) -> DbError {
    DbError::Corrupt(format!("{col} is {:?}, not {wanted}", got.data_type()))
}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        if let rusqlite::Error::SqliteFailure(ref f, ref msg) = e {
            match f.code {
                // Another connection holds the lock: worth a retry. (SQLITE_LOCKED, a conflict within one
                // connection, would not clear by waiting.)
                ErrorCode::DatabaseBusy => return DbError::Locked,
                ErrorCode::ConstraintViolation => {
                    let msg = msg.clone().unwrap_or_default();
                    match f.extended_code {
                        rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                            // "UNIQUE constraint failed: users.email" → users.email
                            let constraint = msg.split_once("failed: ").map(|(_, c)| c.to_owned()).unwrap_or(msg);
                            return DbError::Conflict { constraint };
                        }
                        rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY => return DbError::MissingReference,
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        DbError::Sqlite(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_time_is_fixed_width() {
        let t = DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z").map(|t| t.with_timezone(&Utc));
        assert_eq!(
            t.map(|t| sqlite_time(&t)).ok(),
            Some("2026-01-02T03:04:05.000000Z".to_owned())
        );
    }

    #[test]
    fn urls_name_files() {
        assert_eq!(
            path_of("sqlite://./data/pd.db").ok(),
            Some(PathBuf::from("./data/pd.db"))
        );
        assert_eq!(
            path_of("sqlite:/tmp/x.db?mode=rwc").ok(),
            Some(PathBuf::from("/tmp/x.db"))
        );
        assert!(path_of("sqlite::memory:").is_err());
        assert!(path_of("postgres://x").is_err());
    }
}
