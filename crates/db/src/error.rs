//! The store's errors, converted from the driver in one place.

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("record not found")]
    NotFound,
    /// A unique constraint refused the write; `constraint` names it (e.g. `users.email`).
    #[error("conflict on {constraint}")]
    Conflict { constraint: String },
    /// A foreign key named a record that does not exist.
    #[error("reference to a missing record")]
    MissingReference,
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("database configuration: {0}")]
    Config(String),
    /// The database was migrated by a newer partnerdesk: refuse to run rather than corrupt it.
    #[error("database schema version {found} is newer than this program knows ({known}); upgrade partnerdesk")]
    TooNew { found: i64, known: i64 },
    /// No connection (on SQLite: the writer) came free within the configured wait: the server is overloaded.
    #[error("no database connection came free in time")]
    Busy,
    /// SQLite found the database locked by another process. Retried until the deadline, then reported as `Busy`;
    /// it does not leave the store.
    #[error("the database is locked by another process")]
    Locked,
    #[error("database error: {0}")]
    Sqlite(String),
    #[error("database error: {0}")]
    Other(sqlx::Error),
}

impl From<sqlx::Error> for DbError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::RowNotFound => DbError::NotFound,
            sqlx::Error::PoolTimedOut => DbError::Busy,
            sqlx::Error::Database(ref db) => match db.kind() {
                sqlx::error::ErrorKind::UniqueViolation => DbError::Conflict {
                    constraint: constraint_name(db.as_ref()),
                },
                sqlx::error::ErrorKind::ForeignKeyViolation => DbError::MissingReference,
                _ => DbError::Other(e),
            },
            other => DbError::Other(other),
        }
    }
}

/// PostgreSQL reports the constraint's name, and the migrations name unique constraints `table.column`;
/// the SQLite backend reads the columns from SQLite's message. Both give `table.column`.
fn constraint_name(db: &dyn sqlx::error::DatabaseError) -> String {
    if let Some(name) = db.constraint() {
        return name.to_owned();
    }
    let msg = db.message();
    msg.split_once("failed: ")
        .map(|(_, cols)| cols.to_owned())
        .unwrap_or_else(|| msg.to_owned())
}

impl DbError {
    /// `Locked` as the caller sees it: the database stayed busy.
    pub fn locked_is_busy(self) -> DbError {
        match self {
            DbError::Locked => DbError::Busy,
            other => other,
        }
    }

    /// True when the conflict is on `table.column`.
    pub fn is_conflict_on(&self, column: &str) -> bool {
        matches!(self, DbError::Conflict { constraint } if constraint.contains(column))
    }
}
