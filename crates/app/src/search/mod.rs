//! Search: Zendesk's query language over tickets, users and organizations, for the search API, its export and the
//! pages. Every search runs with the caller's scope: an end-user finds their organization's tickets (never by the
//! words of an internal note), themselves, and their organization.

mod resolve;
pub mod snippets;

use partnerdesk_core::policy::Actor;
use partnerdesk_core::search::{self, Order, Query, ResultType, SortField};
use partnerdesk_db::organizations::Organization;
use partnerdesk_db::search::{Count, people};
use partnerdesk_db::tickets::Ticket;
use partnerdesk_db::users::User;
use partnerdesk_db::{Db, Window};

use crate::error::AppError;

use resolve::NamedFields;
pub use resolve::types_of;

/// How deep offset pages go (each page skips the results before it; the export has no such cost, nor limit).
pub const MAX_OFFSET_RESULTS: i64 = 10_000;

/// One result.
#[derive(Debug, Clone)]
pub enum Found {
    Ticket(Ticket),
    User(User),
    Organization(Organization),
}

/// The order asked for with `sort_by`/`sort_order` (the query's own `order_by:`/`sort:` come first).
#[derive(Debug, Clone, Copy, Default)]
pub struct Sort {
    pub field: Option<SortField>,
    pub descending: Option<bool>,
}

/// A page of results and how many there are in all.
#[derive(Debug, Clone)]
pub struct Results {
    pub items: Vec<Found>,
    pub has_more: bool,
    pub count: i64,
    /// Whether `count` is an estimate (more tickets than a page counts exactly, on PostgreSQL).
    pub estimated: bool,
}

/// Parses a query; a refusal says where and what was expected.
pub fn parse(text: &str) -> Result<Query, AppError> {
    search::parse(text, partnerdesk_db::now()).map_err(|e| AppError::BadRequest(format!("invalid query: {e}")))
}

/// Parses a query and checks the field keys it names, answering the fields they are.
async fn checked(db: &Db, text: &str) -> Result<(Query, NamedFields), AppError> {
    let query = parse(text)?;
    let fields = resolve::known_fields(&mut db.conn(), &query).await?;
    Ok((query, fields))
}

fn order_of(query: &Query, sort: Sort) -> Option<Order> {
    let field = query.sort_field.or(sort.field)?;
    Some(Order {
        field,
        descending: query.descending.or(sort.descending).unwrap_or(true),
    })
}

/// A query resolved for one type: its names looked up once, for both the count and the page.
enum Resolved {
    Tickets(partnerdesk_db::search::TicketSearch),
    Users(people::UserSearch),
    Organizations(people::OrganizationSearch),
}

async fn resolve_for(
    db: &Db,
    actor: &Actor,
    (query, fields): (&Query, &NamedFields),
    kind: ResultType,
) -> Result<Resolved, AppError> {
    let mut conn = db.conn();
    Ok(match kind {
        ResultType::Ticket => Resolved::Tickets(resolve::tickets(&mut conn, actor, query).await?),
        ResultType::User => Resolved::Users(resolve::users(&mut conn, actor, query, fields).await?),
        ResultType::Organization => Resolved::Organizations(resolve::organizations(actor, query, fields)?),
    })
}

/// How many results a resolved query has: exactly, or (`many_past`: tickets known to be more than that many) as
/// the database estimates.
async fn count_of(db: &Db, r: &Resolved, many_past: Option<i64>) -> Result<Count, AppError> {
    let mut conn = db.conn();
    let exact = |n| Count { n, exact: true };
    Ok(match (r, many_past) {
        (Resolved::Tickets(s), Some(cap)) => partnerdesk_db::search::count_many_tickets(&mut conn, s, cap).await?,
        (Resolved::Tickets(s), None) => exact(partnerdesk_db::search::count_tickets(&mut conn, s).await?),
        (Resolved::Users(s), _) => exact(people::count_users(&mut conn, s).await?),
        (Resolved::Organizations(s), _) => exact(people::count_organizations(&mut conn, s).await?),
    })
}

/// A window of a resolved query's results.
async fn page_of(db: &Db, r: Resolved, order: Option<Order>, window: Window) -> Result<(Vec<Found>, bool), AppError> {
    let mut conn = db.conn();
    Ok(match r {
        Resolved::Tickets(mut s) => {
            s.order = order;
            let page = partnerdesk_db::search::tickets(&mut conn, &s, window).await?;
            (page.items.into_iter().map(Found::Ticket).collect(), page.has_more)
        }
        Resolved::Users(s) => {
            let page = people::users(&mut conn, &s, window).await?;
            (page.items.into_iter().map(Found::User).collect(), page.has_more)
        }
        Resolved::Organizations(s) => {
            let page = people::organizations(&mut conn, &s, window).await?;
            (page.items.into_iter().map(Found::Organization).collect(), page.has_more)
        }
    })
}

/// Results `offset..offset + limit` of a query: tickets first, then users, then organizations, each newest first
/// unless the query orders them. Tickets are counted exactly up to `exact_count` (the setting
/// `PARTNERDESK_SEARCH_EXACT_COUNT`, 1,000 by default); past it PostgreSQL gives its estimate, because an exact
/// count of a common word's 100,000 matches costs many times the page itself. `count` always counts exactly.
pub async fn search(
    db: &Db,
    actor: &Actor,
    text: &str,
    sort: Sort,
    offset: i64,
    limit: i64,
    exact_count: i64,
) -> Result<Results, AppError> {
    if offset.saturating_add(limit) > MAX_OFFSET_RESULTS {
        return Err(AppError::BadRequest(format!(
            "pages reach the first {MAX_OFFSET_RESULTS} results; search/export.json lists them all"
        )));
    }
    let (query, fields) = checked(db, text).await?;
    let order = order_of(&query, sort);
    let kinds = types_of(&query);
    let mut items = Vec::new();
    let mut count = 0;
    let mut estimated = false;
    // Whether the type that ended the page has more after it (known from the page itself when counts are estimated).
    let mut more_after_page = false;
    let mut skip = offset;
    for (i, kind) in kinds.iter().enumerate() {
        let later_types = i + 1 < kinds.len();
        let wanted = limit - items.len() as i64;
        let window = Window {
            after_id: None,
            offset: skip,
            limit: wanted.max(0),
            desc: true,
        };
        let mut resolved = resolve_for(db, actor, (&query, &fields), *kind).await?;
        if let Resolved::Tickets(s) = &mut resolved {
            s.order = order;
            // A few tickets: counted and paged from one reading of them.
            let mut conn = db.conn();
            if let Some((n, page)) = partnerdesk_db::search::few_tickets(&mut conn, s, window, exact_count).await? {
                count += n;
                if wanted > 0 && skip < n {
                    more_after_page = page.has_more;
                    items.extend(page.items.into_iter().map(Found::Ticket));
                }
                skip = (skip - n).max(0);
                continue;
            }
        }
        let mut counted = count_of(db, &resolved, Some(exact_count)).await?;
        // Where the next type's results begin must be exact once the page reaches past the exact range.
        if !counted.exact && later_types && offset + limit > exact_count {
            counted = count_of(db, &resolved, None).await?;
        }
        let n = counted.n;
        count += n;
        estimated |= !counted.exact;
        // An estimate may be below the truth: the page is read whatever it says.
        if wanted <= 0 || (counted.exact && skip >= n) {
            skip = (skip - n).max(0);
            continue;
        }
        let (found, more) = page_of(db, resolved, order, window).await?;
        more_after_page = more;
        items.extend(found);
        skip = 0;
    }
    let reached = offset + items.len() as i64;
    // Past the exact range only tickets are estimated (the other types' offsets needed an exact count), and the
    // page itself says whether more follow it.
    let has_more = if estimated && reached >= exact_count {
        more_after_page
    } else {
        reached < count
    };
    let count = if estimated {
        count.max(reached + i64::from(has_more))
    } else {
        count
    };
    Ok(Results {
        items,
        has_more,
        count,
        estimated,
    })
}

/// How many results a query has.
pub async fn count(db: &Db, actor: &Actor, text: &str) -> Result<i64, AppError> {
    let (query, fields) = checked(db, text).await?;
    let mut count = 0;
    for kind in types_of(&query) {
        count += count_of(db, &resolve_for(db, actor, (&query, &fields), kind).await?, None)
            .await?
            .n;
    }
    Ok(count)
}

/// A page of the export of a query's results of one type, newest first, continuing below id `after`: stable while
/// records are added (they come before the cursor) and with no cap on how far it goes.
pub async fn export(
    db: &Db,
    actor: &Actor,
    text: &str,
    kind: ResultType,
    after: Option<i64>,
    size: i64,
) -> Result<(Vec<Found>, bool), AppError> {
    let (mut query, fields) = checked(db, text).await?;
    if query.result_type.is_some_and(|t| t != kind) {
        return Err(AppError::BadRequest(format!(
            "the query's type: differs from filter[type]={}",
            kind.as_str()
        )));
    }
    query.result_type = Some(kind);
    let window = Window {
        after_id: after,
        offset: 0,
        limit: size,
        desc: true,
    };
    page_of(db, resolve_for(db, actor, (&query, &fields), kind).await?, None, window).await
}

/// Writes the whole search index again, in one transaction (`partnerdesk admin reindex`); returns the number of
/// tickets indexed.
pub async fn reindex(db: &Db) -> Result<i64, AppError> {
    let mut tx = db.begin().await?;
    let n = partnerdesk_db::search::index::rebuild(&mut tx).await?;
    tx.commit().await?;
    Ok(n)
}
