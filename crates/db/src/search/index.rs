//! Keeps the ticket text index and the tag rows in step with tickets and comments. The store's ticket writes
//! (`tickets::create`, `tickets::update`) call [`ticket_written`] in their own transaction, so the index is never
//! behind what is committed. [`rebuild`] writes everything again (`partnerdesk admin reindex`, and the migration
//! that created the index).
//!
//! A ticket's document is rebuilt whole from its rows: subject, description (the first comment), the other
//! public comments, and the internal notes, each part cut at a bound so that one very long conversation can
//! neither exceed PostgreSQL's 1 MB `tsvector` limit (which would fail the write) nor make each comment cost
//! more than a bounded amount of work.

use partnerdesk_core::TicketId;
use partnerdesk_core::tags;

use crate::args;
use crate::conn::{Backend, Conn};
use crate::error::DbError;
use crate::tickets::Ticket;

/// Characters of each part of a ticket's text that are indexed: the description's first, the comments' newest
/// (a long conversation stays findable by its latest replies). Together at most 150,000 characters: a `tsvector`
/// takes at most about 5.3 bytes per character of text (two-letter words of four-byte letters), so the document
/// stays under PostgreSQL's 1 MB limit whatever the text.
const DESCRIPTION_CHARS: i64 = 30_000;
const PUBLIC_CHARS: i64 = 80_000;
const INTERNAL_CHARS: i64 = 40_000;

/// The comments of ticket `t` of one visibility after the description, joined, their last `limit` characters, as
/// SQL over a `tickets t` row.
fn comments_sql(backend: Backend, public: bool, limit: i64) -> String {
    let visibility = if public { "c.public" } else { "NOT c.public" };
    let first = "(SELECT MIN(f.id) FROM comments f WHERE f.ticket_id = t.id)";
    match backend {
        Backend::Sqlite => format!(
            "COALESCE((SELECT substr(group_concat(c.body, char(10) ORDER BY c.id), -{limit}) FROM comments c \
             WHERE c.ticket_id = t.id AND {visibility} AND c.id > {first}), '')"
        ),
        Backend::Postgres => format!(
            "COALESCE((SELECT right(string_agg(c.body, E'\\n' ORDER BY c.id), {limit}) FROM comments c \
             WHERE c.ticket_id = t.id AND {visibility} AND c.id > {first}), '')"
        ),
    }
}

/// `INSERT` of the documents of the tickets a `WHERE` clause over `tickets t` selects.
fn insert_sql(backend: Backend, filter: &str) -> String {
    let public = comments_sql(backend, true, PUBLIC_CHARS);
    let internal = comments_sql(backend, false, INTERNAL_CHARS);
    match backend {
        Backend::Sqlite => format!(
            "INSERT INTO ticket_text (rowid, subject, description, public_text, internal_text) \
             SELECT t.id, t.subject, substr(t.description, 1, {DESCRIPTION_CHARS}), {public}, {internal} \
             FROM tickets t {filter}"
        ),
        Backend::Postgres => format!(
            "INSERT INTO ticket_search (ticket_id, doc) \
             SELECT t.id, setweight(to_tsvector('partnerdesk', t.subject), 'A') \
             || setweight(to_tsvector('partnerdesk', left(t.description, {DESCRIPTION_CHARS})), 'B') \
             || setweight(to_tsvector('partnerdesk', {public}), 'C') \
             || setweight(to_tsvector('partnerdesk', {internal}), 'D') \
             FROM tickets t {filter} \
             ON CONFLICT (ticket_id) DO UPDATE SET doc = excluded.doc"
        ),
    }
}

/// Indexes ticket `id`'s text again (after its creation, a new comment or a new subject).
pub(crate) async fn index_ticket(conn: &mut Conn, id: TicketId) -> Result<(), DbError> {
    let backend = conn.backend();
    if backend == Backend::Sqlite {
        conn.execute("DELETE FROM ticket_text WHERE rowid = ?", &args![id.0])
            .await?;
    }
    conn.execute(&insert_sql(backend, "WHERE t.id = ?"), &args![id.0])
        .await?;
    Ok(())
}

/// Brings the tag rows of `after` in step with its tags (`before`: the ticket's tags until now).
async fn sync_tags(conn: &mut Conn, before: &[String], after: &Ticket) -> Result<(), DbError> {
    for gone in before.iter().filter(|t| !after.tags.contains(t)) {
        conn.execute(
            "DELETE FROM ticket_tags WHERE tag = ? AND ticket_id = ?",
            &args![gone.as_str(), after.id.0],
        )
        .await?;
    }
    for new in after.tags.iter().filter(|t| !before.contains(t)) {
        conn.execute(
            "INSERT INTO ticket_tags (tag, ticket_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
            &args![new.as_str(), after.id.0],
        )
        .await?;
    }
    Ok(())
}

/// After a ticket write: `before` is the ticket as it was (`None` when just created), `commented` whether a
/// comment was added.
pub(crate) async fn ticket_written(
    conn: &mut Conn,
    before: Option<&Ticket>,
    after: &Ticket,
    commented: bool,
) -> Result<(), DbError> {
    let old_tags = before.map(|b| b.tags.clone()).unwrap_or_default();
    if old_tags != after.tags {
        sync_tags(conn, &old_tags, after).await?;
    }
    let subject_changed = before.is_none_or(|b| b.subject != after.subject);
    if subject_changed || commented {
        index_ticket(conn, after.id).await?;
    }
    Ok(())
}

/// Writes the whole ticket index and the tag rows again from the tickets and comments; returns how many tickets
/// were indexed. Runs in the caller's transaction.
pub async fn rebuild(conn: &mut Conn) -> Result<i64, DbError> {
    let backend = conn.backend();
    match backend {
        Backend::Sqlite => {
            conn.execute("INSERT INTO ticket_text (ticket_text) VALUES ('delete-all')", &[])
                .await?;
            conn.execute("INSERT INTO user_text (user_text) VALUES ('rebuild')", &[])
                .await?;
            conn.execute(
                "INSERT INTO organization_text (organization_text) VALUES ('rebuild')",
                &[],
            )
            .await?;
        }
        Backend::Postgres => {
            conn.execute("DELETE FROM ticket_search", &[]).await?;
        }
    }
    conn.execute(&insert_sql(backend, ""), &[]).await?;
    conn.execute("DELETE FROM ticket_tags", &[]).await?;
    // Tags are stored space-separated; the rows are written from Rust, a batch of tickets at a time.
    let mut after = 0_i64;
    loop {
        let rows = conn
            .fetch_all(
                "SELECT id, tags FROM tickets WHERE id > ? AND tags <> '' ORDER BY id LIMIT 1000",
                &args![after],
            )
            .await?;
        let Some(last) = rows.last() else { break };
        after = last.i64("id")?;
        for row in &rows {
            let id = row.i64("id")?;
            for tag in tags::from_stored(&row.text("tags")?) {
                conn.execute(
                    "INSERT INTO ticket_tags (tag, ticket_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
                    &args![tag.as_str(), id],
                )
                .await?;
            }
        }
    }
    conn.fetch_one("SELECT COUNT(*) AS n FROM tickets", &[]).await?.i64("n")
}
