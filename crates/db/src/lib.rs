//! The partnerdesk store. Every function takes a [`Conn`] (a pool or a transaction), returns
//! `Result<_, DbError>`, and writes its audit row in the same transaction as the change it records.
//! Nothing in here knows about HTTP.

mod conn;
mod error;
mod field_options;
mod migrate;
mod sqlite;

pub mod audit;
pub mod audit_logs;
pub mod buckets;
pub mod escalations;
pub mod exports;
pub mod file_store;
pub mod files;
pub mod forms;
pub mod groups;
pub mod inbound;
pub mod jobs;
pub mod mail_threads;
pub mod mailbox;
pub mod notice_choices;
pub mod organizations;
pub mod outbox;
pub mod profile_fields;
pub mod search;
pub mod sessions;
pub mod tag_counts;
pub mod ticket_fields;
pub mod tickets;
pub mod users;

pub use audit::AuditActor;
pub use conn::{Arg, Backend, Conn, Db, Row, now};
pub use error::DbError;
pub use migrate::{MIGRATIONS, migrate};

/// Which part of a list to read: keyset (`after_id`, for cursor pagination) or offset, at most `limit` rows.
/// Lists ask for one row more than `limit` to know whether there is a next page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub after_id: Option<i64>,
    pub offset: i64,
    pub limit: i64,
    /// Newest first (`after_id` then means "older than").
    pub desc: bool,
}

impl Window {
    pub fn first(limit: i64) -> Window {
        Window {
            after_id: None,
            offset: 0,
            limit,
            desc: false,
        }
    }

    /// Page `page` (from 1) of `per_page` rows, newest first: what the web pages show.
    pub fn newest(page: i64, per_page: i64) -> Window {
        Window {
            after_id: None,
            offset: (page.max(1) - 1).saturating_mul(per_page),
            limit: per_page,
            desc: true,
        }
    }

    /// `AND id > ? ORDER BY id LIMIT ? OFFSET ?` for a table aliased or named `table`, with its arguments.
    pub(crate) fn sql(&self, id_col: &str, args: &mut Vec<Arg>) -> String {
        let mut s = String::new();
        let (cmp, order) = if self.desc { ("<", "DESC") } else { (">", "ASC") };
        if let Some(after) = self.after_id {
            s.push_str(&format!(" AND {id_col} {cmp} ?"));
            args.push(Arg::I64(after));
        }
        s.push_str(&format!(" ORDER BY {id_col} {order} LIMIT ? OFFSET ?"));
        args.push(Arg::I64(self.limit + 1));
        args.push(Arg::I64(self.offset));
        s
    }
}

/// A page of a list: the rows and whether more follow.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_more: bool,
}

impl<T> Page<T> {
    pub(crate) fn from_rows(
        rows: Vec<Row>,
        window: &Window,
        map: impl Fn(&Row) -> Result<T, DbError>,
    ) -> Result<Page<T>, DbError> {
        let has_more = rows.len() as i64 > window.limit;
        let items = rows
            .iter()
            .take(window.limit.max(0) as usize)
            .map(map)
            .collect::<Result<Vec<T>, DbError>>()?;
        Ok(Page { items, has_more })
    }
}

/// Parses a stored enum value, or reports the row as corrupt.
pub(crate) fn parse_enum<T>(col: &str, value: &str, parse: fn(&str) -> Option<T>) -> Result<T, DbError> {
    parse(value).ok_or_else(|| DbError::Corrupt(format!("{col} has unknown value '{value}'")))
}

/// `text` as a literal inside a `LIKE ... ESCAPE '\'` pattern: `%`, `_` and `\` match only themselves.
pub(crate) fn like_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
