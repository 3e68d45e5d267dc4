//! Search: tickets, users and organizations matched by text and filters, inside the database.
//!
//! The application layer resolves a parsed query (`partnerdesk_core::search`) into a [`TicketSearch`]: text
//! terms, and conditions over columns with every name already turned into ids. This module writes it as SQL
//! for each backend: SQLite's FTS5 (`ticket_text`) or PostgreSQL's `tsvector` (`ticket_search`), both kept by
//! [`index`] in the transaction of each write, so a search never sees a stale ticket.
//!
//! Who may match what is decided by the caller and enforced here: the ticket scope is mandatory, and a search
//! without `internal` matches only subjects, descriptions and public comments, never internal notes, in
//! positive and negative terms alike (so excluding a word cannot reveal where it stands either).

pub mod index;
pub mod names;
pub mod people;
mod text;

use partnerdesk_core::policy::TicketScope;
use partnerdesk_core::search::{DateBound, Order, SortField, Text, TextField};
use partnerdesk_core::tickets::{Priority, TicketStatus};

use crate::conn::{Arg, Backend, Conn};
use crate::error::DbError;
use crate::tickets::{self, Ticket};
use crate::{Page, Window};

/// A text term of a search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextTerm {
    pub field: TextField,
    pub text: Text,
    pub negated: bool,
}

/// A ticket column a condition compares with ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdColumn {
    Organization,
    Requester,
    Assignee,
    Group,
    Form,
}

impl IdColumn {
    fn sql(self) -> &'static str {
        match self {
            IdColumn::Organization => "t.organization_id",
            IdColumn::Requester => "t.requester_id",
            IdColumn::Assignee => "t.assignee_id",
            IdColumn::Group => "t.group_id",
            IdColumn::Form => "t.ticket_form_id",
        }
    }
}

/// One test a ticket passes or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Atom {
    /// A bare number: the ticket with that id, or a ticket with the number in its text.
    IdOrText(i64),
    Statuses(Vec<TicketStatus>),
    Priorities(Vec<Priority>),
    NoPriority,
    /// The column holds one of the ids (none: nothing matches, e.g. a name that names nobody).
    Ids(IdColumn, Vec<i64>),
    /// The column is empty (`assignee:none`).
    Empty(IdColumn),
    Via(String),
    Tag(String),
    Created(DateBound),
    Updated(DateBound),
    Solved(DateBound),
    Escalated,
    /// A custom field holds the value.
    FieldValue(i64, String),
    /// Matches nothing (a field the searcher may not search by).
    Nothing,
}

/// Alternatives (`tags:a tags:b`: either), possibly negated (`-tags:a`: none of them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub negated: bool,
    pub any_of: Vec<Atom>,
}

/// A resolved ticket search.
#[derive(Debug, Clone)]
pub struct TicketSearch {
    pub scope: TicketScope,
    /// Whether internal notes may match (staff).
    pub internal: bool,
    pub text: Vec<TextTerm>,
    pub conditions: Vec<Condition>,
    /// `None`: newest first (by id), which the text index answers without sorting.
    pub order: Option<Order>,
}

/// The SQL of a search, without its order and limit: `SELECT t.* FROM ... WHERE ...`, and whether it is driven by
/// the SQLite text index (whose rowid is then the ticket id to order by).
struct Built {
    /// `FROM ... WHERE ...`, selecting tickets as `t`.
    from_where: String,
    args: Vec<Arg>,
    id_col: &'static str,
    /// Positive text and nothing else: on SQLite the text index alone can count.
    text_only: bool,
}

fn date_sql(col: &str, b: &DateBound, args: &mut Vec<Arg>) -> String {
    let mut parts = Vec::new();
    if let Some(from) = b.from {
        parts.push(format!("{col} >= ?"));
        args.push(Arg::Time(from));
    }
    if let Some(to) = b.to {
        parts.push(format!("{col} < ?"));
        args.push(Arg::Time(to));
    }
    if parts.is_empty() {
        format!("{col} IS NOT NULL")
    } else {
        parts.join(" AND ")
    }
}

fn list_sql(col: &str, values: Vec<Arg>, args: &mut Vec<Arg>) -> String {
    if values.is_empty() {
        return "1 = 0".into();
    }
    let marks = vec!["?"; values.len()].join(", ");
    args.extend(values);
    format!("{col} IN ({marks})")
}

fn atom_sql(backend: Backend, internal: bool, atom: &Atom, args: &mut Vec<Arg>) -> String {
    match atom {
        Atom::IdOrText(n) => {
            args.push(Arg::I64(*n));
            let term = TextTerm {
                field: TextField::Any,
                text: Text::Phrase(n.to_string()),
                negated: false,
            };
            let matching = text::matching_ids(backend, internal, &[term], args);
            format!("(t.id = ? OR t.id IN ({matching}))")
        }
        Atom::Statuses(s) => list_sql(
            "t.status",
            s.iter().map(|s| Arg::Text(s.as_str().into())).collect(),
            args,
        ),
        Atom::Priorities(p) => list_sql(
            "t.priority",
            p.iter().map(|p| Arg::Text(p.as_str().into())).collect(),
            args,
        ),
        Atom::NoPriority => "t.priority IS NULL".into(),
        Atom::Ids(col, ids) => list_sql(col.sql(), ids.iter().map(|i| Arg::I64(*i)).collect(), args),
        Atom::Empty(col) => format!("{} IS NULL", col.sql()),
        Atom::Via(v) => {
            args.push(Arg::Text(v.clone()));
            "t.via = ?".into()
        }
        Atom::Tag(tag) => {
            args.push(Arg::Text(tag.clone()));
            "t.id IN (SELECT ticket_id FROM ticket_tags WHERE tag = ?)".into()
        }
        Atom::Created(b) => date_sql("t.created_at", b, args),
        Atom::Updated(b) => date_sql("t.updated_at", b, args),
        Atom::Solved(b) => date_sql("t.solved_at", b, args),
        Atom::Escalated => "t.id IN (SELECT ticket_id FROM escalations)".into(),
        Atom::FieldValue(field, value) => {
            args.push(Arg::I64(*field));
            args.push(Arg::Text(value.clone()));
            "t.id IN (SELECT ticket_id FROM ticket_field_values WHERE field_id = ? AND value = ?)".into()
        }
        Atom::Nothing => "1 = 0".into(),
    }
}

fn build(backend: Backend, s: &TicketSearch) -> Built {
    let mut args = Vec::new();
    let (positive, negative): (Vec<TextTerm>, Vec<TextTerm>) = s.text.iter().cloned().partition(|t| !t.negated);
    // Only text: no scope, no conditions.
    let text_only = !positive.is_empty() && s.conditions.is_empty() && matches!(s.scope, TicketScope::All);
    // Positive text drives the query from the text index; negative text alone is a condition.
    let (mut sql, id_col) = match (backend, positive.is_empty(), negative.is_empty()) {
        (_, true, true) => ("FROM tickets t WHERE 1 = 1".to_owned(), "t.id"),
        (Backend::Sqlite, false, _) if text_only => {
            let matched = text::fts5_expression(s.internal, &s.text);
            args.push(Arg::Text(matched));
            // The text index drives, newest first; CROSS JOIN keeps SQLite from putting tickets outside.
            (
                "FROM ticket_text CROSS JOIN tickets t ON t.id = ticket_text.rowid WHERE ticket_text MATCH ?"
                    .to_owned(),
                "ticket_text.rowid",
            )
        }
        (Backend::Sqlite, false, _) => {
            let matched = text::fts5_expression(s.internal, &s.text);
            args.push(Arg::Text(matched));
            // With a scope or conditions, the matching ids are gathered once and the tickets' own indexes
            // (organization, status, ...) can drive. A join would let SQLite read the tickets of an
            // organization first and run the whole text query again for each of them (seconds with 1M tickets).
            (
                "FROM tickets t WHERE t.id IN (SELECT rowid FROM ticket_text WHERE ticket_text MATCH ?)".to_owned(),
                "t.id",
            )
        }
        (Backend::Postgres, false, _) => {
            let query = text::tsquery_sql(s.internal, &s.text, &mut args);
            (
                format!("FROM ticket_search s JOIN tickets t ON t.id = s.ticket_id WHERE s.doc @@ {query}"),
                "t.id",
            )
        }
        (_, true, false) => {
            let mut sql = "FROM tickets t WHERE 1 = 1".to_owned();
            for term in negative {
                let unflipped = TextTerm { negated: false, ..term };
                let matching = text::matching_ids(backend, s.internal, &[unflipped], &mut args);
                sql.push_str(&format!(" AND t.id NOT IN ({matching})"));
            }
            (sql, "t.id")
        }
    };
    match s.scope {
        TicketScope::All => {}
        TicketScope::Organization(org) => {
            sql.push_str(" AND t.organization_id = ?");
            args.push(Arg::I64(org.0));
        }
        TicketScope::Requester(user) => {
            sql.push_str(" AND t.requester_id = ?");
            args.push(Arg::I64(user.0));
        }
    }
    for c in &s.conditions {
        let alternatives: Vec<String> = c
            .any_of
            .iter()
            .map(|a| format!("({})", atom_sql(backend, s.internal, a, &mut args)))
            .collect();
        let any = if alternatives.is_empty() {
            "1 = 0".to_owned()
        } else {
            alternatives.join(" OR ")
        };
        if c.negated {
            // A ticket without a priority (NULL) is not "priority:high", so it passes "-priority:high".
            sql.push_str(&format!(" AND NOT COALESCE(({any}), FALSE)"));
        } else {
            sql.push_str(&format!(" AND ({any})"));
        }
    }
    Built {
        from_where: sql,
        args,
        id_col,
        text_only,
    }
}

/// Whether the search keeps only tickets created in a range, and no text drives it (the text index reads its
/// matches in id order).
fn by_creation(s: &TicketSearch) -> bool {
    s.text.iter().all(|t| t.negated)
        && s.conditions
            .iter()
            .any(|c| !c.negated && c.any_of.iter().all(|a| matches!(a, Atom::Created(_))))
}

fn order_sql(order: Option<Order>, id_col: &str, by_creation: bool) -> String {
    // Newest first is creation order. Tickets get their ids as they are created, so it is id order, which the
    // text index answers without sorting; but within a creation-date range the planners cannot know that ids and
    // dates rise together (PostgreSQL walked 545,000 tickets of other months, newest id first, for one month's
    // first page), so there the order is written as the dates' own index, (created_at, id).
    let created = |dir: &str| {
        if by_creation {
            format!("t.created_at {dir}, t.id {dir}")
        } else {
            format!("{id_col} {dir}")
        }
    };
    let Some(order) = order else {
        return format!(" ORDER BY {}", created("DESC"));
    };
    let dir = if order.descending { "DESC" } else { "ASC" };
    let key = match order.field {
        SortField::Created => return format!(" ORDER BY {}", created(dir)),
        SortField::Updated => "t.updated_at",
        SortField::Priority => {
            "CASE t.priority WHEN 'low' THEN 1 WHEN 'normal' THEN 2 WHEN 'high' THEN 3 WHEN 'urgent' THEN 4 ELSE 0 END"
        }
        SortField::Status => {
            "CASE t.status WHEN 'new' THEN 1 WHEN 'open' THEN 2 WHEN 'pending' THEN 3 WHEN 'hold' THEN 4 \
             WHEN 'solved' THEN 5 ELSE 6 END"
        }
    };
    format!(" ORDER BY {key} {dir}, {id_col} {dir}")
}

/// A page of the tickets a search finds. `window.after_id` (export) continues below that id, newest first, and
/// is only meaningful without an explicit order.
pub async fn tickets(conn: &mut Conn, s: &TicketSearch, window: Window) -> Result<Page<Ticket>, DbError> {
    let Built {
        from_where,
        mut args,
        id_col,
        ..
    } = build(conn.backend(), s);
    let mut sql = format!("SELECT t.* {from_where}");
    if let Some(after) = window.after_id {
        sql.push_str(&format!(" AND {id_col} < ?"));
        args.push(Arg::I64(after));
    }
    let order = if window.after_id.is_some() { None } else { s.order };
    // The export's cursor is an id: its pages stay in id order.
    sql.push_str(&order_sql(order, id_col, window.after_id.is_none() && by_creation(s)));
    sql.push_str(" LIMIT ? OFFSET ?");
    args.push(Arg::I64(window.limit + 1));
    args.push(Arg::I64(window.offset));
    let page = Page::from_rows(conn.fetch_all(&sql, &args).await?, &window, tickets::from_row)?;
    tickets::page_with_fields(conn, page).await
}

/// When a search finds at most `cap` tickets: how many, and the page `window` of them (offset pages), from one
/// reading of the matches; `None` when it finds more.
///
/// The matches are gathered first and only they are sorted, by the columns of the order alone. Left to itself,
/// PostgreSQL pages through a rare word by walking every ticket newest first and testing each against the text
/// (190 ms for 475 matches of 1,000,000), because it cannot tell a rare word from a common one; and the count
/// would read the matches a second time.
pub async fn few_tickets(
    conn: &mut Conn,
    s: &TicketSearch,
    window: Window,
    cap: i64,
) -> Result<Option<(i64, Page<Ticket>)>, DbError> {
    let Built {
        from_where, mut args, ..
    } = build(conn.backend(), s);
    let order = order_sql(s.order, "t.id", by_creation(s));
    // Only the columns the order needs: with the creation date alone PostgreSQL reads the dates' index
    // (`tickets_created`) and never the tickets' rows, which a match on a word in the last six months (10,000
    // matches of 1,000,000 tickets) read one by one (100 ms, against 30 ms).
    let sort_column = match s.order.map(|o| o.field) {
        None | Some(SortField::Created) => "t.created_at",
        Some(SortField::Updated) => "t.updated_at",
        Some(SortField::Priority) => "t.priority",
        Some(SortField::Status) => "t.status",
    };
    let sql = format!(
        "WITH found AS MATERIALIZED (SELECT t.id, {sort_column} {from_where} LIMIT ?) SELECT t.id FROM found t{order}"
    );
    args.push(Arg::I64(cap + 1));
    let ids = conn
        .fetch_all(&sql, &args)
        .await?
        .iter()
        .map(|r| r.i64("id"))
        .collect::<Result<Vec<i64>, DbError>>()?;
    let count = ids.len() as i64;
    if count > cap {
        return Ok(None);
    }
    let start = window.offset.clamp(0, count) as usize;
    let end = window.offset.saturating_add(window.limit).clamp(0, count) as usize;
    let wanted = &ids[start..end];
    let mut items = Vec::with_capacity(wanted.len());
    if !wanted.is_empty() {
        let marks = vec!["?"; wanted.len()].join(", ");
        let args: Vec<Arg> = wanted.iter().map(|i| Arg::I64(*i)).collect();
        let rows = conn
            .fetch_all(&format!("SELECT * FROM tickets WHERE id IN ({marks})"), &args)
            .await?;
        let mut by_id = std::collections::HashMap::new();
        for row in &rows {
            let t = tickets::from_row(row)?;
            by_id.insert(t.id.0, t);
        }
        // In the order found; a ticket gone since (deleted) is left out.
        items.extend(wanted.iter().filter_map(|id| by_id.remove(id)));
    }
    let page = Page {
        items,
        has_more: (end as i64) < count,
    };
    Ok(Some((count, tickets::page_with_fields(conn, page).await?)))
}

/// How many tickets a search finds, and whether that is exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    pub n: i64,
    pub exact: bool,
}

/// `FROM ... WHERE ...` of a search for counting, and its arguments.
fn count_sql(backend: Backend, s: &TicketSearch) -> (String, Vec<Arg>) {
    let Built {
        from_where,
        args,
        text_only,
        ..
    } = build(backend, s);
    // Every row of the text index is a ticket (a deleted ticket's row goes with it), so without conditions the
    // SQLite index counts alone, without reading 100,000 tickets to count 100,000 matches.
    if text_only && backend == Backend::Sqlite {
        return ("FROM ticket_text WHERE ticket_text MATCH ?".to_owned(), args);
    }
    // Likewise one tag alone is counted by its rows (deleted with their ticket), not by 20,000 tickets.
    if let (true, TicketScope::All, [only]) = (s.text.is_empty(), s.scope, s.conditions.as_slice())
        && let (false, [Atom::Tag(tag)]) = (only.negated, only.any_of.as_slice())
    {
        return (
            "FROM ticket_tags WHERE tag = ?".to_owned(),
            vec![Arg::Text(tag.clone())],
        );
    }
    (from_where, args)
}

/// How many tickets a search finds, exactly.
pub async fn count_tickets(conn: &mut Conn, s: &TicketSearch) -> Result<i64, DbError> {
    let (from_where, args) = count_sql(conn.backend(), s);
    let sql = format!("SELECT COUNT(*) AS n FROM (SELECT 1 {from_where}) AS found");
    conn.fetch_one(&sql, &args).await?.i64("n")
}

/// How many tickets a search finds that finds more than `cap` ([`few_tickets`] said so): on PostgreSQL its
/// estimate (at least `cap + 1`), because counting a common word's 100,000 matches exactly reads every one of
/// them (400-800 ms with 1,000,000 tickets); SQLite counts exactly.
pub async fn count_many_tickets(conn: &mut Conn, s: &TicketSearch, cap: i64) -> Result<Count, DbError> {
    if conn.backend() == Backend::Sqlite {
        let n = count_tickets(conn, s).await?;
        return Ok(Count { n, exact: true });
    }
    let (from_where, args) = count_sql(conn.backend(), s);
    let plan = conn.fetch_all(&format!("EXPLAIN SELECT 1 {from_where}"), &args).await?;
    let estimate = match plan.first() {
        Some(row) => rows_estimate(&row.text("QUERY PLAN")?),
        None => None,
    };
    Ok(Count {
        n: estimate.unwrap_or(0).max(cap + 1),
        exact: false,
    })
}

/// The planner's row estimate on the top line of a text `EXPLAIN`: `Nested Loop  (cost=.. rows=93983 width=8)`.
fn rows_estimate(top_line: &str) -> Option<i64> {
    let rest = &top_line[top_line.find(" rows=")? + 6..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The first `chars` characters of the comments of `tickets` that may be shown (`internal`: internal notes too), in
/// order, at most `max_rows` in all: the text result pages take their snippets from.
pub async fn comment_texts(
    conn: &mut Conn,
    tickets: &[partnerdesk_core::TicketId],
    internal: bool,
    chars: i64,
    max_rows: i64,
) -> Result<Vec<(partnerdesk_core::TicketId, String)>, DbError> {
    if tickets.is_empty() {
        return Ok(Vec::new());
    }
    let mut args: Vec<Arg> = tickets.iter().map(|t| Arg::I64(t.0)).collect();
    let visibility = if internal { "" } else { " AND public = ?" };
    if !internal {
        args.push(Arg::Bool(true));
    }
    args.push(Arg::I64(max_rows));
    let sql = format!(
        "SELECT ticket_id, substr(body, 1, {chars}) AS body FROM comments WHERE ticket_id IN ({}){visibility} \
         ORDER BY ticket_id, id LIMIT ?",
        vec!["?"; tickets.len()].join(", ")
    );
    conn.fetch_all(&sql, &args)
        .await?
        .iter()
        .map(|r| Ok((partnerdesk_core::TicketId(r.i64("ticket_id")?), r.text("body")?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::rows_estimate;

    #[test]
    fn the_estimate_is_read_off_the_plans_top_line() {
        assert_eq!(
            rows_estimate("Nested Loop  (cost=0.85..11280.00 rows=93983 width=8)"),
            Some(93983)
        );
        assert_eq!(rows_estimate("Result  (cost=0.00..0.01 rows=1 width=4)"), Some(1));
        assert_eq!(rows_estimate("Seq Scan on tickets t"), None);
    }
}
