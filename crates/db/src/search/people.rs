//! Users (by name and e-mail) and organizations (by name, domains, tags, and for staff the notes) found by text
//! and a few filters. SQLite answers from FTS5 tables its triggers keep (migration 0013); PostgreSQL from
//! expression indexes over the rows themselves.

use partnerdesk_core::accounts::Role;

use super::TextTerm;
use super::text;
use crate::conn::{Arg, Backend, Conn};
use crate::error::DbError;
use crate::organizations::{self, Organization};
use crate::users::{self, User};
use crate::{Page, Window};

/// A resolved user search.
#[derive(Debug, Clone, Default)]
pub struct UserSearch {
    pub text: Vec<TextTerm>,
    /// Only these users (`None`: anyone): an end-user finds only themselves.
    pub only: Option<Vec<i64>>,
    /// Any of these roles (empty: any).
    pub roles: Vec<Role>,
    /// Members of any of these organizations (`None`: any organization or none).
    pub organizations: Option<Vec<i64>>,
    /// Exactly this e-mail address (lower case).
    pub email: Option<String>,
    /// User fields holding these values: (field id, value in lower case), all of them.
    pub fields: Vec<(i64, String)>,
}

/// A resolved organization search.
#[derive(Debug, Clone, Default)]
pub struct OrganizationSearch {
    pub text: Vec<TextTerm>,
    /// Only these organizations (`None`: any): an end-user finds only their own.
    pub only: Option<Vec<i64>>,
    /// Whether the notes may match (staff).
    pub notes: bool,
    /// Any of these tags (none: any organization).
    pub tags: Vec<String>,
    /// Exactly this name (case-insensitive).
    pub name: Option<String>,
    /// Organization fields holding these values: (field id, value in lower case), all of them.
    pub fields: Vec<(i64, String)>,
}

/// Keeps the rows whose field `field_id` holds `value` (compared in lower case: a drop-down's tag, a date, `true`
/// for a ticked box, or text as typed), for each of `fields`.
fn fields_sql(
    values: &str,
    owner: &str,
    id_col: &str,
    fields: &[(i64, String)],
    sql: &mut String,
    args: &mut Vec<Arg>,
) {
    for (field, value) in fields {
        sql.push_str(&format!(
            " AND {id_col} IN (SELECT {owner} FROM {values} WHERE field_id = ? AND LOWER(value) = ?)"
        ));
        args.push(Arg::I64(*field));
        args.push(Arg::Text(value.clone()));
    }
}

fn ids_sql(col: &str, ids: &[i64], sql: &mut String, args: &mut Vec<Arg>) {
    if ids.is_empty() {
        sql.push_str(" AND 1 = 0");
        return;
    }
    sql.push_str(&format!(" AND {col} IN ({})", vec!["?"; ids.len()].join(", ")));
    args.extend(ids.iter().map(|i| Arg::I64(*i)));
}

/// A searchable table: its alias, its FTS5 table (SQLite) and the text expressions PostgreSQL indexes.
struct Searched<'a> {
    table: &'static str,
    alias: &'static str,
    fts: &'static str,
    /// The FTS5 columns that may match (`None`: all).
    fts_columns: Option<&'a str>,
    pg_docs: &'a [&'a str],
}

/// `FROM ... WHERE` of a text search over a table, driven by the text when there is some.
fn text_from(backend: Backend, t: &Searched<'_>, terms: &[TextTerm], args: &mut Vec<Arg>) -> String {
    let Searched {
        table,
        alias,
        fts,
        fts_columns,
        pg_docs,
    } = *t;
    if terms.iter().all(|t| t.negated) && !terms.is_empty() {
        // Only exclusions: every row, less those matching.
        let mut sql = format!("FROM {table} {alias} WHERE 1 = 1");
        for term in terms {
            let positive = [TextTerm {
                negated: false,
                ..term.clone()
            }];
            let inner = text_from(backend, t, &positive, args);
            sql.push_str(&format!(" AND {alias}.id NOT IN (SELECT {alias}.id {inner})"));
        }
        return sql;
    }
    match (backend, terms.is_empty()) {
        (_, true) => format!("FROM {table} {alias} WHERE 1 = 1"),
        (Backend::Sqlite, false) => {
            args.push(Arg::Text(text::fts5_expression_in(fts_columns, terms)));
            format!("FROM {fts} JOIN {table} {alias} ON {alias}.id = {fts}.rowid WHERE {fts} MATCH ?")
        }
        (Backend::Postgres, false) => {
            let docs: Vec<String> = pg_docs
                .iter()
                .map(|doc| {
                    let query = text::tsquery_sql(true, terms, args);
                    format!("to_tsvector('partnerdesk', {doc}) @@ {query}")
                })
                .collect();
            format!("FROM {table} {alias} WHERE ({})", docs.join(" OR "))
        }
    }
}

/// A user's text for PostgreSQL, as its index (migration 0013) has it: the e-mail address whole and in parts.
const USER_DOC: &str = "u.name || ' ' || u.email || ' ' || translate(u.email, '@.+_-', '     ')";

fn user_sql(backend: Backend, s: &UserSearch, args: &mut Vec<Arg>) -> String {
    let searched = Searched {
        table: "users",
        alias: "u",
        fts: "user_text",
        fts_columns: None,
        pg_docs: &[USER_DOC],
    };
    let mut sql = text_from(backend, &searched, &s.text, args);
    if let Some(only) = &s.only {
        ids_sql("u.id", only, &mut sql, args);
    }
    if let Some(orgs) = &s.organizations {
        ids_sql("u.organization_id", orgs, &mut sql, args);
    }
    if !s.roles.is_empty() {
        sql.push_str(&format!(" AND u.role IN ({})", vec!["?"; s.roles.len()].join(", ")));
        args.extend(s.roles.iter().map(|r| Arg::Text(r.as_str().into())));
    }
    if let Some(email) = &s.email {
        sql.push_str(" AND u.email = ?");
        args.push(Arg::Text(email.clone()));
    }
    fields_sql("user_field_values", "user_id", "u.id", &s.fields, &mut sql, args);
    sql
}

fn organization_sql(backend: Backend, s: &OrganizationSearch, args: &mut Vec<Arg>) -> String {
    let (fts_columns, pg_docs): (Option<&str>, &[&str]) = if s.notes {
        (None, &["o.name || ' ' || o.domain_names || ' ' || o.tags", "o.notes"])
    } else {
        (
            Some("{name domain_names tags}"),
            &["o.name || ' ' || o.domain_names || ' ' || o.tags"],
        )
    };
    let searched = Searched {
        table: "organizations",
        alias: "o",
        fts: "organization_text",
        fts_columns,
        pg_docs,
    };
    let mut sql = text_from(backend, &searched, &s.text, args);
    if let Some(only) = &s.only {
        ids_sql("o.id", only, &mut sql, args);
    }
    if !s.tags.is_empty() {
        // Tags are stored space-separated (a tag never holds a space); repeated, they are alternatives as for tickets.
        let find = match backend {
            Backend::Sqlite => "instr(' ' || o.tags || ' ', ?) > 0",
            Backend::Postgres => "strpos(' ' || o.tags || ' ', ?) > 0",
        };
        let any: Vec<&str> = s.tags.iter().map(|_| find).collect();
        sql.push_str(&format!(" AND ({})", any.join(" OR ")));
        args.extend(s.tags.iter().map(|tag| Arg::Text(format!(" {tag} "))));
    }
    if let Some(name) = &s.name {
        sql.push_str(" AND o.name_key = ?");
        args.push(Arg::Text(name.to_lowercase()));
    }
    fields_sql(
        "organization_field_values",
        "organization_id",
        "o.id",
        &s.fields,
        &mut sql,
        args,
    );
    sql
}

pub async fn users(conn: &mut Conn, s: &UserSearch, window: Window) -> Result<Page<User>, DbError> {
    let mut args = Vec::new();
    let from = user_sql(conn.backend(), s, &mut args);
    // The ids are chosen first, then read with the columns a user is read with everywhere.
    let dir = if window.desc { "DESC" } else { "ASC" };
    let sql = format!(
        "SELECT {} FROM users WHERE id IN (SELECT u.id {from}{}) ORDER BY id {dir}",
        users::COLUMNS,
        window.sql("u.id", &mut args)
    );
    Page::from_rows(conn.fetch_all(&sql, &args).await?, &window, users::from_row)
}

pub async fn count_users(conn: &mut Conn, s: &UserSearch) -> Result<i64, DbError> {
    let mut args = Vec::new();
    let from = user_sql(conn.backend(), s, &mut args);
    conn.fetch_one(&format!("SELECT COUNT(*) AS n {from}"), &args)
        .await?
        .i64("n")
}

pub async fn organizations(
    conn: &mut Conn,
    s: &OrganizationSearch,
    window: Window,
) -> Result<Page<Organization>, DbError> {
    let mut args = Vec::new();
    let from = organization_sql(conn.backend(), s, &mut args);
    let sql = format!("SELECT o.* {from}{}", window.sql("o.id", &mut args));
    Page::from_rows(conn.fetch_all(&sql, &args).await?, &window, organizations::from_row)
}

pub async fn count_organizations(conn: &mut Conn, s: &OrganizationSearch) -> Result<i64, DbError> {
    let mut args = Vec::new();
    let from = organization_sql(conn.backend(), s, &mut args);
    conn.fetch_one(&format!("SELECT COUNT(*) AS n {from}"), &args)
        .await?
        .i64("n")
}
