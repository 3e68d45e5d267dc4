//! How often each tag is used on tickets (Zendesk's `GET /api/v2/tags`).
//!
//! Tags are kept on the ticket as one space-separated string (see `partnerdesk_core::tags`), so the counts are
//! worked out by the database when asked: it splits the strings and groups them, and only one page of tags comes
//! back, whatever the number of tickets. PostgreSQL splits with `unnest(string_to_array(...))`; SQLite, which has
//! no split function, with a recursive query over `instr`/`substr`.

use crate::conn::{Backend, Conn};
use crate::error::DbError;
use crate::{Page, Window, args};

/// A tag and the number of tickets that carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagCount {
    pub name: String,
    pub count: i64,
}

/// `used(name)`: one row per tag use on a ticket, for either backend. Stored tags are normalised (no blanks, no
/// repeats on one ticket), so counting rows counts tickets.
fn used(conn: &Conn) -> &'static str {
    match conn.backend() {
        Backend::Postgres => "used(name) AS (SELECT unnest(string_to_array(tags, ' ')) FROM tickets WHERE tags <> '')",
        Backend::Sqlite => {
            "split(rest, name) AS (\
                SELECT tags || ' ', '' FROM tickets WHERE tags <> '' \
                UNION ALL \
                SELECT substr(rest, instr(rest, ' ') + 1), substr(rest, 1, instr(rest, ' ') - 1) FROM split WHERE rest <> ''\
             ), used(name) AS (SELECT name FROM split WHERE name <> '')"
        }
    }
}

/// The most used tags first (ties in name order), `window.offset` and `window.limit` as given; the keyset of a
/// window does not apply to this order (callers page by position).
pub async fn most_used(conn: &mut Conn, window: Window) -> Result<Page<TagCount>, DbError> {
    let sql = format!(
        "WITH RECURSIVE {} SELECT name, COUNT(*) AS n FROM used GROUP BY name ORDER BY n DESC, name LIMIT ? OFFSET ?",
        used(conn)
    );
    let rows = conn.fetch_all(&sql, &args![window.limit + 1, window.offset]).await?;
    Page::from_rows(rows, &window, |r| {
        Ok(TagCount {
            name: r.text("name")?,
            count: r.i64("n")?,
        })
    })
}

/// How many different tags the tickets carry.
pub async fn distinct(conn: &mut Conn) -> Result<i64, DbError> {
    let sql = format!(
        "WITH RECURSIVE {} SELECT COUNT(DISTINCT name) AS n FROM used",
        used(conn)
    );
    conn.fetch_one(&sql, &[]).await?.i64("n")
}
