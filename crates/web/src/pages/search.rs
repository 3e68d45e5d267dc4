//! `/search?q=...`: the search box in every page's header. Staff find tickets, people and organizations; a partner
//! their organization's tickets. Results show the words found in a snippet, and each filter of the query as a
//! chip that takes it out again; everything is in the URL, so a search can be bookmarked and shared.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use partnerdesk_app::AppError;
use partnerdesk_app::search::snippets::{self, Snippet};
use partnerdesk_app::search::{self, Found, Sort};
use partnerdesk_core::search::Filter;
use serde::Deserialize;

use crate::pages::agent::{QueueRow, queue_rows};
use crate::pages::{Layout, PageError, render};
use crate::session::SignedIn;
use crate::state::AppState;

const PER_PAGE: i64 = 25;

#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
    page: Option<i64>,
}

/// A filter of the query, shown as a chip; following `remove` searches without it.
pub struct Chip {
    label: String,
    remove: String,
}

pub struct TicketResult {
    row: QueueRow,
    href: String,
    snippet: Option<Snippet>,
}

pub struct OtherResult {
    kind: &'static str,
    label: String,
    href: Option<String>,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    layout: Layout,
    query: String,
    error: Option<String>,
    chips: Vec<Chip>,
    tickets: Vec<TicketResult>,
    others: Vec<OtherResult>,
    /// "12 results", "About 93,983 results" (PostgreSQL's estimate), "More than 1000 results".
    count_text: String,
    page: i64,
    has_more: bool,
    prev_href: String,
    next_href: String,
}

fn href(q: &str, page: i64) -> String {
    let q: String = form_urlencoded::byte_serialize(q.as_bytes()).collect();
    format!("/search?q={q}&page={page}")
}

/// How many results, as the page says it: an estimate as "about", or as "more than" the exact range when the
/// estimate is no larger than it.
fn count_text(count: i64, estimated: bool, exact_up_to: i64) -> String {
    match (estimated, count) {
        (false, 1) => "1 result".into(),
        (false, n) => format!("{n} results"),
        (true, n) if n <= exact_up_to + 1 => format!("More than {exact_up_to} results"),
        (true, n) => format!("About {n} results"),
    }
}

/// The query without the clause at `position` (chars from 1, `len` chars long).
fn without(query: &str, position: usize, len: usize) -> String {
    let kept: String = query
        .chars()
        .enumerate()
        .filter(|(i, _)| *i + 1 < position || *i + 1 >= position + len)
        .map(|(_, c)| c)
        .collect();
    kept.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub async fn results(
    State(state): State<AppState>,
    s: SignedIn,
    Query(q): Query<SearchQuery>,
) -> Result<Response, PageError> {
    let actor = s.user.actor();
    let page = q.page.unwrap_or(1).clamp(1, 10_000);
    let text = q.q.trim().to_owned();
    let mut layout = Layout::new("Search", Some(&s));
    layout.query = text.clone();
    let mut body = SearchPage {
        layout,
        query: text.clone(),
        error: None,
        chips: Vec::new(),
        tickets: Vec::new(),
        others: Vec::new(),
        count_text: String::new(),
        page,
        has_more: false,
        prev_href: href(&text, page - 1),
        next_href: href(&text, page + 1),
    };
    if text.is_empty() {
        return Ok(render(&body)?.into_response());
    }
    let parsed = match search::parse(&text) {
        Ok(p) => p,
        Err(AppError::BadRequest(message)) => {
            body.error = Some(message);
            return Ok((StatusCode::BAD_REQUEST, render(&body)?).into_response());
        }
        Err(e) => return Err(e.into()),
    };
    body.chips = parsed
        .clauses
        .iter()
        .filter(|c| !matches!(c.filter, Filter::Text(..) | Filter::Number(_)))
        .map(|c| Chip {
            label: c.source.clone(),
            remove: href(&without(&text, c.position, c.source.chars().count()), 1),
        })
        .collect();
    let found = match search::search(
        &state.db,
        &actor,
        &text,
        Sort::default(),
        (page - 1) * PER_PAGE,
        PER_PAGE,
        state.settings.search_exact_count,
    )
    .await
    {
        Ok(found) => found,
        Err(AppError::BadRequest(message)) => {
            body.error = Some(message);
            return Ok((StatusCode::BAD_REQUEST, render(&body)?).into_response());
        }
        Err(e) => return Err(e.into()),
    };
    body.count_text = count_text(found.count, found.estimated, state.settings.search_exact_count);
    body.has_more = found.has_more;
    let tickets: Vec<_> = found
        .items
        .iter()
        .filter_map(|f| match f {
            Found::Ticket(t) => Some(t.clone()),
            _ => None,
        })
        .collect();
    let snips = snippets::for_tickets(&state.db, &actor, &parsed, &tickets).await?;
    let rows = queue_rows(&mut state.db.conn(), &tickets).await?;
    let staff = actor.is_staff();
    body.tickets = rows
        .into_iter()
        .zip(snips)
        .map(|(row, snippet)| TicketResult {
            href: if staff {
                format!("/agent/tickets/{}", row.t.id)
            } else {
                format!("/portal/tickets/{}", row.t.id)
            },
            row,
            snippet,
        })
        .collect();
    body.others = found
        .items
        .iter()
        .filter_map(|f| match f {
            Found::User(u) => Some(OtherResult {
                kind: "Person",
                label: format!("{} <{}>", u.name, u.email),
                href: None,
            }),
            Found::Organization(o) => Some(OtherResult {
                kind: "Organization",
                label: o.name.clone(),
                href: staff.then(|| format!("/admin/organizations/{}", o.id)),
            }),
            Found::Ticket(_) => None,
        })
        .collect();
    Ok(render(&body)?.into_response())
}

#[cfg(test)]
mod tests {
    use super::{count_text, without};

    #[test]
    fn counts_read_as_exact_estimated_or_past_the_exact_range() {
        assert_eq!(count_text(1, false, 1000), "1 result");
        assert_eq!(count_text(0, false, 1000), "0 results");
        assert_eq!(count_text(1001, true, 1000), "More than 1000 results");
        assert_eq!(count_text(93983, true, 1000), "About 93983 results");
    }

    #[test]
    fn a_chip_takes_its_clause_out() {
        let q = r#"webhook organization:"Acme Inc" status<solved"#;
        let org = r#"organization:"Acme Inc""#;
        assert_eq!(without(q, 9, org.chars().count()), "webhook status<solved");
        assert_eq!(
            without(q, 9 + org.chars().count() + 1, 13),
            r#"webhook organization:"Acme Inc""#
        );
    }
}
