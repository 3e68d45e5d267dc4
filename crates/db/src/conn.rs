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
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{PgPool, Postgres, Row as _, Transaction};

use crate::error::DbError;
pub use crate::sqlite::SqliteDb;
use crate::sqlite::{self, Done, LiteRow, Want};

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

/// How long a request may wait for the SQLite writer, or for a pooled connection, before it fails (by default).
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether a statement only reads (and may go to a read connection): it starts with `SELECT`.
pub(crate) fn reads_only(sql: &str) -> bool {
    sql.trim_start()
        .as_bytes()
        .get(..6)
        .is_some_and(|head| head.eq_ignore_ascii_case(b"select"))
}

/// Waits for `getting` (a connection from pool `label`), counting the callers waiting
/// (`partnerdesk_db_acquire_waiting`) and how long they waited (`partnerdesk_db_acquire_seconds`).
pub(crate) async fn waited<T>(label: &'static str, getting: impl Future<Output = T>) -> T {
    /// Counts the caller as waiting until it has its connection or gives up (its future dropped).
    struct Waiting(metrics::Gauge);
    impl Drop for Waiting {
        fn drop(&mut self) {
            self.0.decrement(1.0);
        }
    }
    let waiting = Waiting(metrics::gauge!("partnerdesk_db_acquire_waiting", "pool" => label));
    waiting.0.increment(1.0);
    let started = std::time::Instant::now();
    let got = getting.await;
    drop(waiting);
    metrics::histogram!("partnerdesk_db_acquire_seconds", "pool" => label).record(started.elapsed().as_secs_f64());
    got
}

/// Runs a PostgreSQL transaction's start in a task of its own. A request whose client goes away is dropped wherever it waits;
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
            Ok(Db::Sqlite(
                SqliteDb::connect(url, max_connections, acquire_timeout).await?,
            ))
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            // Every statement is planned for its own values. sqlx prepares each statement once per connection, and
            // after five runs PostgreSQL may switch to one generic plan for any value: for a search by tag, status
            // and priority that plan walked all 1,000,000 tickets (270 ms, against 113 ms planned for the values).
            // Planning costs well under a millisecond here.
            // No JIT compilation: it pays off for queries that run for seconds, and here added 30-40 ms to every
            // search the planner costed above `jit_above_cost` (a tag + status + priority search: 146 ms, 104 ms
            // without).
            let options =
                PgConnectOptions::from_str(url)?.options([("plan_cache_mode", "force_custom_plan"), ("jit", "off")]);
            let pool = PgPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(acquire_timeout)
                .connect_with(options)
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
    /// On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`), on the one writer connection: a deferred
    /// transaction that reads and then writes fails with `SQLITE_BUSY` when another connection wrote in between.
    /// Every transaction here is a write, so nothing is lost by taking the lock first, and the reads inside it see
    /// the state the write applies to. On PostgreSQL the rows a change is computed from are locked with
    /// `... FOR UPDATE` (see `Conn::lock_rows`).
    pub async fn begin(&self) -> Result<Conn, DbError> {
        Ok(match self {
            Db::Sqlite(db) => Conn::SqliteTx(db.begin().await?),
            Db::Postgres(p) => {
                let pool = p.clone();
                Conn::PgTx(waited("postgres", uncancellable(async move { pool.begin().await })).await?)
            }
        })
    }

    /// Each pool's name, size and idle connections (for `/metrics`).
    pub fn pool_stats(&self) -> Vec<(&'static str, u32, usize)> {
        match self {
            Db::Sqlite(db) => db.pool_stats(),
            Db::Postgres(p) => vec![("postgres", p.size(), p.num_idle())],
        }
    }

    /// True when the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        self.conn().fetch_optional("SELECT 1 AS one", &[]).await.is_ok()
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite(db) => db.close(),
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

type PgQuery<'q> = sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>;

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
    SqliteTx(sqlite::Tx),
    PgTx(Transaction<'static, Postgres>),
}

/// Runs `$method` of a bound query on a PostgreSQL pool or transaction `$conn` (SQLite has its own path).
macro_rules! run_pg {
    ($conn:expr, $sql:expr, $args:expr, $method:ident) => {{
        let sql = numbered($sql);
        match $conn {
            PgConn::Pool(p) => {
                let mut c = acquire(p, "postgres").await?;
                bind_pg(&sql, $args).$method(&mut *c).await?
            }
            PgConn::Tx(t) => bind_pg(&sql, $args).$method(&mut **t).await?,
        }
    }};
}

/// The PostgreSQL side of a [`Conn`], borrowed for one statement.
enum PgConn<'a> {
    Pool(&'a PgPool),
    Tx(&'a mut Transaction<'static, Postgres>),
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

    /// Like [`Conn::lock_rows`], for a row locked only to serialise work on it, not to change its key: ` FOR NO KEY
    /// UPDATE`, which does not hold back inserts elsewhere that reference the row (a foreign key takes `KEY SHARE`).
    pub fn lock_rows_keeping_keys(&self) -> &'static str {
        match self {
            Conn::PgTx(_) => " FOR NO KEY UPDATE",
            _ => "",
        }
    }

    /// The SQLite path, or the PostgreSQL connection to run on.
    fn side(&mut self) -> Result<&mut Conn, PgConn<'_>> {
        match self {
            Conn::PgPool(p) => Err(PgConn::Pool(p)),
            Conn::PgTx(t) => Err(PgConn::Tx(t)),
            other => Ok(other),
        }
    }

    async fn sqlite(&mut self, sql: &str, args: &[Arg], want: Want) -> Result<Done, DbError> {
        match self {
            Conn::SqlitePool(db) => db.run(sql, args, want).await,
            Conn::SqliteTx(t) => t.run(sql, args, want).await,
            Conn::PgPool(_) | Conn::PgTx(_) => Err(DbError::Config("not a SQLite connection".into())),
        }
    }

    pub async fn fetch_all(&mut self, sql: &str, args: &[Arg]) -> Result<Vec<Row>, DbError> {
        match self.side() {
            Ok(lite) => Ok(rows(lite.sqlite(sql, args, Want::All).await?).collect()),
            Err(pg) => Ok(run_pg!(pg, sql, args, fetch_all).into_iter().map(Row::Pg).collect()),
        }
    }

    pub async fn fetch_optional(&mut self, sql: &str, args: &[Arg]) -> Result<Option<Row>, DbError> {
        match self.side() {
            Ok(lite) => Ok(rows(lite.sqlite(sql, args, Want::First).await?).next()),
            Err(pg) => Ok(run_pg!(pg, sql, args, fetch_optional).map(Row::Pg)),
        }
    }

    /// Like `fetch_optional`, with no row being [`DbError::NotFound`].
    pub async fn fetch_one(&mut self, sql: &str, args: &[Arg]) -> Result<Row, DbError> {
        self.fetch_optional(sql, args).await?.ok_or(DbError::NotFound)
    }

    /// Runs a statement; returns the number of rows it changed.
    pub async fn execute(&mut self, sql: &str, args: &[Arg]) -> Result<u64, DbError> {
        match self.side() {
            Ok(lite) => match lite.sqlite(sql, args, Want::Changes).await? {
                Done::Changes(n) => Ok(n),
                Done::Rows(_) => Ok(0),
            },
            Err(pg) => Ok(run_pg!(pg, sql, args, execute).rows_affected()),
        }
    }

    /// Runs an `INSERT ... RETURNING id` and returns the id.
    pub async fn insert(&mut self, sql: &str, args: &[Arg]) -> Result<i64, DbError> {
        self.fetch_one(sql, args).await?.i64("id")
    }

    /// Runs a script of several statements without arguments (migrations).
    pub async fn execute_script(&mut self, sql: &str) -> Result<(), DbError> {
        match self {
            Conn::SqlitePool(db) => db.execute_script(sql).await?,
            Conn::SqliteTx(t) => t.execute_script(sql)?,
            Conn::PgPool(p) => sqlx::raw_sql(sql).execute(&*p).await.map(|_| ())?,
            Conn::PgTx(t) => sqlx::raw_sql(sql).execute(&mut **t).await.map(|_| ())?,
        }
        Ok(())
    }

    /// Opens savepoint `name` (a fixed identifier) inside this transaction, so that a part of it can be undone alone
    /// with [`Conn::rollback_to_savepoint`] and kept with [`Conn::release_savepoint`]. On PostgreSQL a failed
    /// statement leaves the transaction unusable until it is rolled back to a savepoint; on SQLite (whose
    /// transactions are themselves savepoints of a group-commit batch, see `sqlite::writer`) it nests inside the
    /// transaction's own. Refused outside a transaction, where it would mean nothing.
    pub async fn savepoint(&mut self, name: &'static str) -> Result<(), DbError> {
        self.savepoint_statement("SAVEPOINT", name).await
    }

    /// Keeps what was done since savepoint `name` as part of the transaction.
    pub async fn release_savepoint(&mut self, name: &'static str) -> Result<(), DbError> {
        self.savepoint_statement("RELEASE SAVEPOINT", name).await
    }

    /// Undoes what was done since savepoint `name` (and ends it); the transaction goes on as it was before it.
    pub async fn rollback_to_savepoint(&mut self, name: &'static str) -> Result<(), DbError> {
        self.savepoint_statement("ROLLBACK TO SAVEPOINT", name).await?;
        self.savepoint_statement("RELEASE SAVEPOINT", name).await
    }

    async fn savepoint_statement(&mut self, verb: &str, name: &'static str) -> Result<(), DbError> {
        if !matches!(self, Conn::SqliteTx(_) | Conn::PgTx(_)) {
            return Err(DbError::Config("a savepoint needs a transaction".into()));
        }
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            return Err(DbError::Config(format!("not a savepoint name: {name:?}")));
        }
        self.execute(&format!("{verb} {name}"), &[]).await.map(drop)
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
    Sqlite(LiteRow),
    Pg(PgRow),
}

fn rows(done: Done) -> impl Iterator<Item = Row> {
    let rows = match done {
        Done::Rows(r) => r,
        Done::Changes(_) => Vec::new(),
    };
    rows.into_iter().map(Row::Sqlite)
}

impl Row {
    fn required<T>(col: &str, v: Option<T>) -> Result<T, DbError> {
        v.ok_or_else(|| DbError::Corrupt(format!("{col} is NULL")))
    }

    pub fn i64(&self, col: &str) -> Result<i64, DbError> {
        Row::required(col, self.opt_i64(col)?)
    }

    pub fn opt_i64(&self, col: &str) -> Result<Option<i64>, DbError> {
        match self {
            Row::Sqlite(r) => r.opt_i64(col),
            Row::Pg(r) => Ok(r.try_get(col)?),
        }
    }

    pub fn text(&self, col: &str) -> Result<String, DbError> {
        Row::required(col, self.opt_text(col)?)
    }

    pub fn opt_text(&self, col: &str) -> Result<Option<String>, DbError> {
        match self {
            Row::Sqlite(r) => r.opt_text(col),
            Row::Pg(r) => Ok(r.try_get(col)?),
        }
    }

    /// SQLite keeps booleans as 0/1.
    pub fn boolean(&self, col: &str) -> Result<bool, DbError> {
        match self {
            Row::Sqlite(r) => Ok(Row::required(col, r.opt_i64(col)?)? != 0),
            Row::Pg(r) => Ok(r.try_get(col)?),
        }
    }

    pub fn time(&self, col: &str) -> Result<DateTime<Utc>, DbError> {
        Row::required(col, self.opt_time(col)?)
    }

    pub fn opt_time(&self, col: &str) -> Result<Option<DateTime<Utc>>, DbError> {
        match self {
            Row::Sqlite(r) => match r.opt_text(col)? {
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
}
