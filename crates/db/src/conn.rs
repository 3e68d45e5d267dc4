//! One query path over SQLite and PostgreSQL.
//!
//! Store functions write their SQL once, with `?` placeholders, and run it on a [`Conn`]: a pool or a
//! transaction of either backend. For PostgreSQL the placeholders are numbered (`$1`, `$2`, ...) just before
//! execution. Values travel as [`Arg`], rows come back as [`Row`], so no store function names a backend.
//! (sea-query was the other candidate; the statements here are plain enough that hand-written SQL reads better,
//! and dynamic filters are built by appending fixed SQL fragments with bound values, never user text.)

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use sqlx::postgres::{PgPoolOptions, PgRow};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous};
use sqlx::{PgPool, Postgres, Row as _, Sqlite, SqlitePool, Transaction};

use crate::error::DbError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A connection pool to the one database partnerdesk uses.
#[derive(Debug, Clone)]
pub enum Db {
    Sqlite(SqliteDb),
    Postgres(PgPool),
}

/// SQLite has one writer at a time. Rather than let several pooled connections race for the write lock (a
/// transaction that loses waits in SQLite's busy handler, which sleeps in growing steps), every write of this
/// process goes through one connection, queued here in order, and reads go through a pool of their own that never
/// waits for a writer (WAL). The read connections are `query_only`, so a write routed to them fails loudly.
#[derive(Debug, Clone)]
pub struct SqliteDb {
    read: SqlitePool,
    write: SqlitePool,
}

/// How long a request may wait for the SQLite writer, or for a pooled connection, before it fails (by default).
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether a statement only reads (and may go to a read connection): it starts with `SELECT`.
fn reads_only(sql: &str) -> bool {
    let head = sql.trim_start();
    head.len() >= 6 && head[..6].eq_ignore_ascii_case("select")
}

/// Waits for `getting` (a connection from pool `label`), counting the callers waiting
/// (`partnerdesk_db_acquire_waiting`) and how long they waited (`partnerdesk_db_acquire_seconds`).
async fn waited<T>(label: &'static str, getting: impl Future<Output = T>) -> T {
    let waiting = metrics::gauge!("partnerdesk_db_acquire_waiting", "pool" => label);
    waiting.increment(1.0);
    let started = std::time::Instant::now();
    let got = getting.await;
    waiting.decrement(1.0);
    metrics::histogram!("partnerdesk_db_acquire_seconds", "pool" => label).record(started.elapsed().as_secs_f64());
    got
}

/// Runs a transaction's start in a task of its own. A request whose client goes away is dropped wherever it waits;
/// dropped in the middle of sqlx's `begin_with` (after `BEGIN` ran, before the transaction was handed over), the
/// connection would go back to the pool inside a transaction that nobody ends, and every later `begin` on it
/// fails. In a task of its own the start always completes, and a transaction nobody takes is dropped, which rolls
/// it back.
async fn uncancellable<T: Send + 'static>(
    begin: impl Future<Output = Result<T, sqlx::Error>> + Send + 'static,
) -> Result<T, sqlx::Error> {
    tokio::spawn(begin)
        .await
        .map_err(|e| sqlx::Error::Protocol(format!("starting a transaction: {e}")))?
}

async fn acquire<DB: sqlx::Database>(
    pool: &sqlx::Pool<DB>,
    label: &'static str,
) -> Result<sqlx::pool::PoolConnection<DB>, sqlx::Error> {
    waited(label, pool.acquire()).await
}

impl Db {
    /// Opens the database named by `url`: `sqlite://PATH` (created if missing, WAL) or `postgres://...`.
    /// Any other scheme is refused rather than guessed.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Db, DbError> {
        Db::connect_with(url, max_connections, ACQUIRE_TIMEOUT).await
    }

    /// Like `connect`, failing a request that waits longer than `acquire_timeout` for a connection (on SQLite: for
    /// the writer), rather than letting it queue without end.
    pub async fn connect_with(url: &str, max_connections: u32, acquire_timeout: Duration) -> Result<Db, DbError> {
        if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                // Only another process (the admin CLI) can hold the write lock against this one's writer.
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true);
            // The writer first: it creates the file and switches it to WAL before any reader opens it.
            let write = SqlitePoolOptions::new()
                .max_connections(1)
                .acquire_timeout(acquire_timeout)
                .connect_with(opts.clone())
                .await?;
            let read = SqlitePoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(acquire_timeout)
                .connect_with(opts.pragma("query_only", "ON"))
                .await?;
            Ok(Db::Sqlite(SqliteDb { read, write }))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let pool = PgPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(acquire_timeout)
                .connect(url)
                .await?;
            Ok(Db::Postgres(pool))
        } else {
            Err(DbError::Config(
                "database URL must start with sqlite:// or postgres://".into(),
            ))
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite(_) => Backend::Sqlite,
            Db::Postgres(_) => Backend::Postgres,
        }
    }

    /// A connection that runs each statement on its own (autocommit).
    pub fn conn(&self) -> Conn {
        match self {
            Db::Sqlite(p) => Conn::SqlitePool(p.clone()),
            Db::Postgres(p) => Conn::PgPool(p.clone()),
        }
    }

    /// A transaction: changes and their audit rows are written together or not at all.
    ///
    /// On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`): a deferred transaction that reads and then
    /// writes fails with `SQLITE_BUSY` when another connection wrote in between, and the busy handler cannot help it.
    /// Every transaction here is a write, so nothing is lost by taking the lock first, and the reads inside it see
    /// the state the write applies to. On PostgreSQL the rows a change is computed from are locked with
    /// `... FOR UPDATE` (see `Conn::lock_rows`).
    pub async fn begin(&self) -> Result<Conn, DbError> {
        Ok(match self {
            Db::Sqlite(db) => {
                let pool = db.write.clone();
                let begun = uncancellable(async move { pool.begin_with("BEGIN IMMEDIATE").await });
                Conn::SqliteTx(waited("sqlite_write", begun).await?)
            }
            Db::Postgres(p) => {
                let pool = p.clone();
                Conn::PgTx(waited("postgres", uncancellable(async move { pool.begin().await })).await?)
            }
        })
    }

    /// Each pool's name, size and idle connections (for `/metrics`).
    pub fn pool_stats(&self) -> Vec<(&'static str, u32, usize)> {
        match self {
            Db::Sqlite(db) => vec![
                ("sqlite_read", db.read.size(), db.read.num_idle()),
                ("sqlite_write", db.write.size(), db.write.num_idle()),
            ],
            Db::Postgres(p) => vec![("postgres", p.size(), p.num_idle())],
        }
    }

    /// True when the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        self.conn().fetch_optional("SELECT 1 AS one", &[]).await.is_ok()
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite(db) => {
                db.read.close().await;
                db.write.close().await;
            }
            Db::Postgres(p) => p.close().await,
        }
    }
}

/// A value bound to a `?` placeholder.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    I64(i64),
    OptI64(Option<i64>),
    Text(String),
    OptText(Option<String>),
    Bool(bool),
    Time(DateTime<Utc>),
    OptTime(Option<DateTime<Utc>>),
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::I64(v)
    }
}
impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        Arg::OptI64(v)
    }
}
impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(v.to_owned())
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(v)
    }
}
impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Arg::OptText(v)
    }
}
impl From<Option<&str>> for Arg {
    fn from(v: Option<&str>) -> Self {
        Arg::OptText(v.map(str::to_owned))
    }
}
impl From<bool> for Arg {
    fn from(v: bool) -> Self {
        Arg::Bool(v)
    }
}
impl From<DateTime<Utc>> for Arg {
    fn from(v: DateTime<Utc>) -> Self {
        Arg::Time(v)
    }
}
impl From<Option<DateTime<Utc>>> for Arg {
    fn from(v: Option<DateTime<Utc>>) -> Self {
        Arg::OptTime(v)
    }
}

/// Builds an argument array: `args![a, b, c]` (`.to_vec()` when more are pushed later).
#[macro_export]
macro_rules! args {
    ($($v:expr),* $(,)?) => { [$($crate::Arg::from($v)),*] };
}

/// The current time at the precision both databases keep (microseconds), so that what was written compares
/// equal to what is read back.
pub fn now() -> DateTime<Utc> {
    let t = Utc::now();
    t.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(t)
}

/// SQLite keeps times as fixed-width RFC 3339 text, so that text order is time order.
fn sqlite_time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// `?` → `$1, $2, ...` for PostgreSQL. Statements here never contain `?` inside string literals.
fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

type SqliteQuery<'q> = sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments<'q>>;
type PgQuery<'q> = sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>;

fn bind_sqlite<'q>(sql: &'q str, args: &'q [Arg]) -> SqliteQuery<'q> {
    let mut q = sqlx::query(sql);
    for a in args {
        q = match a {
            Arg::I64(v) => q.bind(*v),
            Arg::OptI64(v) => q.bind(*v),
            Arg::Text(v) => q.bind(v.as_str()),
            Arg::OptText(v) => q.bind(v.as_deref()),
            Arg::Bool(v) => q.bind(*v),
            Arg::Time(v) => q.bind(sqlite_time(v)),
            Arg::OptTime(v) => q.bind(v.as_ref().map(sqlite_time)),
        };
    }
    q
}

fn bind_pg<'q>(sql: &'q str, args: &'q [Arg]) -> PgQuery<'q> {
    let mut q = sqlx::query(sql);
    for a in args {
        q = match a {
            Arg::I64(v) => q.bind(*v),
            Arg::OptI64(v) => q.bind(*v),
            Arg::Text(v) => q.bind(v.as_str()),
            Arg::OptText(v) => q.bind(v.as_deref()),
            Arg::Bool(v) => q.bind(*v),
            Arg::Time(v) => q.bind(*v),
            Arg::OptTime(v) => q.bind(*v),
        };
    }
    q
}

/// A pool or an open transaction, of either backend.
pub enum Conn {
    SqlitePool(SqliteDb),
    PgPool(PgPool),
    SqliteTx(Transaction<'static, Sqlite>),
    PgTx(Transaction<'static, Postgres>),
}

/// Runs `$method` of a bound query on whichever connection `$conn` is, then evaluates `$body` with the result
/// bound to `$out` (the body is expanded once per backend, so it type-checks against each driver's types).
macro_rules! run {
    ($conn:expr, $sql:expr, $args:expr, $method:ident, |$out:ident| $body:expr) => {{
        let sql: &str = $sql;
        match $conn {
            Conn::SqlitePool(db) => {
                let mut c = if reads_only(sql) {
                    acquire(&db.read, "sqlite_read").await?
                } else {
                    acquire(&db.write, "sqlite_write").await?
                };
                let $out = bind_sqlite(sql, $args).$method(&mut *c).await?;
                $body
            }
            Conn::SqliteTx(t) => {
                let $out = bind_sqlite(sql, $args).$method(&mut **t).await?;
                $body
            }
            Conn::PgPool(p) => {
                let sql = numbered(sql);
                let mut c = acquire(&*p, "postgres").await?;
                let $out = bind_pg(&sql, $args).$method(&mut *c).await?;
                $body
            }
            Conn::PgTx(t) => {
                let sql = numbered(sql);
                let $out = bind_pg(&sql, $args).$method(&mut **t).await?;
                $body
            }
        }
    }};
}

impl Conn {
    pub fn backend(&self) -> Backend {
        match self {
            Conn::SqlitePool(_) | Conn::SqliteTx(_) => Backend::Sqlite,
            Conn::PgPool(_) | Conn::PgTx(_) => Backend::Postgres,
        }
    }

    /// What a `SELECT` appends to lock the rows it reads until the transaction ends: ` FOR UPDATE` inside a
    /// PostgreSQL transaction; nothing on SQLite, whose transactions hold the database's write lock from the start.
    pub fn lock_rows(&self) -> &'static str {
        match self {
            Conn::PgTx(_) => " FOR UPDATE",
            _ => "",
        }
    }

    pub async fn fetch_all(&mut self, sql: &str, args: &[Arg]) -> Result<Vec<Row>, DbError> {
        Ok(run!(self, sql, args, fetch_all, |rows| rows
            .into_iter()
            .map(Row::from)
            .collect()))
    }

    pub async fn fetch_optional(&mut self, sql: &str, args: &[Arg]) -> Result<Option<Row>, DbError> {
        Ok(run!(self, sql, args, fetch_optional, |row| row.map(Row::from)))
    }

    /// Like `fetch_optional`, with no row being [`DbError::NotFound`].
    pub async fn fetch_one(&mut self, sql: &str, args: &[Arg]) -> Result<Row, DbError> {
        self.fetch_optional(sql, args).await?.ok_or(DbError::NotFound)
    }

    /// Runs a statement; returns the number of rows it changed.
    pub async fn execute(&mut self, sql: &str, args: &[Arg]) -> Result<u64, DbError> {
        Ok(run!(self, sql, args, execute, |r| r.rows_affected()))
    }

    /// Runs an `INSERT ... RETURNING id` and returns the id.
    pub async fn insert(&mut self, sql: &str, args: &[Arg]) -> Result<i64, DbError> {
        self.fetch_one(sql, args).await?.i64("id")
    }

    /// Runs a script of several statements without arguments (migrations).
    pub async fn execute_script(&mut self, sql: &str) -> Result<(), DbError> {
        match self {
            Conn::SqlitePool(db) => sqlx::raw_sql(sql).execute(&db.write).await.map(|_| ())?,
            Conn::SqliteTx(t) => sqlx::raw_sql(sql).execute(&mut **t).await.map(|_| ())?,
            Conn::PgPool(p) => sqlx::raw_sql(sql).execute(&*p).await.map(|_| ())?,
            Conn::PgTx(t) => sqlx::raw_sql(sql).execute(&mut **t).await.map(|_| ())?,
        }
        Ok(())
    }

    /// Commits a transaction; on a pool connection there is nothing to commit.
    pub async fn commit(self) -> Result<(), DbError> {
        match self {
            Conn::SqliteTx(t) => t.commit().await?,
            Conn::PgTx(t) => t.commit().await?,
            Conn::SqlitePool(_) | Conn::PgPool(_) => {}
        }
        Ok(())
    }
}

/// A result row of either backend, read by column name.
pub enum Row {
    Sqlite(SqliteRow),
    Pg(PgRow),
}

impl From<SqliteRow> for Row {
    fn from(r: SqliteRow) -> Self {
        Row::Sqlite(r)
    }
}
impl From<PgRow> for Row {
    fn from(r: PgRow) -> Self {
        Row::Pg(r)
    }
}

/// A type both drivers can decode.
pub trait Column:
    for<'r> sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite> + for<'r> sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>
{
}
impl<T> Column for T where
    T: for<'r> sqlx::Decode<'r, Sqlite>
        + sqlx::Type<Sqlite>
        + for<'r> sqlx::Decode<'r, Postgres>
        + sqlx::Type<Postgres>
{
}

impl Row {
    pub fn get<T: Column>(&self, col: &str) -> Result<T, DbError> {
        Ok(match self {
            Row::Sqlite(r) => r.try_get(col)?,
            Row::Pg(r) => r.try_get(col)?,
        })
    }

    pub fn i64(&self, col: &str) -> Result<i64, DbError> {
        self.get(col)
    }

    pub fn opt_i64(&self, col: &str) -> Result<Option<i64>, DbError> {
        self.get(col)
    }

    pub fn text(&self, col: &str) -> Result<String, DbError> {
        self.get(col)
    }

    pub fn opt_text(&self, col: &str) -> Result<Option<String>, DbError> {
        self.get(col)
    }

    pub fn boolean(&self, col: &str) -> Result<bool, DbError> {
        self.get(col)
    }

    pub fn time(&self, col: &str) -> Result<DateTime<Utc>, DbError> {
        self.opt_time(col)?
            .ok_or_else(|| DbError::Corrupt(format!("{col} is NULL")))
    }

    pub fn opt_time(&self, col: &str) -> Result<Option<DateTime<Utc>>, DbError> {
        match self {
            Row::Sqlite(r) => match r.try_get::<Option<String>, _>(col)? {
                None => Ok(None),
                Some(s) => DateTime::parse_from_rfc3339(&s)
                    .map(|t| Some(t.with_timezone(&Utc)))
                    .map_err(|e| DbError::Corrupt(format!("{col}: {e}"))),
            },
            Row::Pg(r) => Ok(r.try_get(col)?),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_placeholders() {
        assert_eq!(
            numbered("SELECT a FROM t WHERE b = ? AND c IN (?, ?)"),
            "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)"
        );
    }

    #[test]
    fn sqlite_time_is_fixed_width() {
        let t = DateTime::parse_from_rfc3339("2026-01-02T03:04:05Z").map(|t| t.with_timezone(&Utc));
        assert_eq!(
            t.map(|t| sqlite_time(&t)).ok(),
            Some("2026-01-02T03:04:05.000000Z".to_owned())
        );
    }
}
