//! `GET /api/v2/search`, `/search/count` and `/search/export`: Zendesk's unified search, its count, and its
//! cursor export (no cap on how far it goes). The query language and who finds what: `partnerdesk_app::search`.

use axum::Json;
use axum::extract::{RawQuery, State};
use partnerdesk_app::AppError;
use partnerdesk_app::profile_fields;
use partnerdesk_app::search::{self, Found, Sort};
use partnerdesk_core::policy::Actor;
use partnerdesk_core::search::{MAX_QUERY_CHARS, ResultType, SortField};
use partnerdesk_db::profile_fields::FieldKind;
use serde_json::{Value, json};
use utoipa::IntoParams;

use crate::api::doc::{Authenticated, Query};
use crate::api::organizations::OrganizationView;
use crate::api::tickets::TicketView;
use crate::api::users::UserView;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::pagination::ListQuery;
use crate::state::AppState;

/// The most results one export page holds.
const MAX_EXPORT_PAGE: i64 = 1000;

#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct SearchParams {
    /// Zendesk's query language: words, `"phrases"`, `-negation`, `keyword:value` (`type`, `status`, `priority`,
    /// `organization`, `requester`, `assignee`, `group`, `tags`, `form`, `via`, `subject`, `description`,
    /// `created`, `updated`, `solved`, `escalated`, `role`, `email`, `name`, `order_by`, `sort`). A bad query is a
    /// 400 naming the character where it went wrong.
    #[param(min_length = 1, max_length = 1000)]
    pub query: String,
    /// Results newest first unless ordered.
    #[param(inline, pattern = "^(created_at|updated_at|priority|status)$")]
    pub sort_by: Option<String>,
    #[param(inline, pattern = "^(asc|desc)$")]
    pub sort_order: Option<String>,
}

/// Offset pages (the export pages by cursor).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct SearchPageParams {
    /// The page, from 1; pages reach the first 10,000 results.
    #[param(minimum = 1)]
    pub page: Option<i64>,
    /// Results per page (at most 100 are returned).
    #[param(minimum = 1)]
    pub per_page: Option<i64>,
}

#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ExportParams {
    /// As for `GET /search`, without `order_by`.
    #[param(min_length = 1, max_length = 1000)]
    pub query: String,
    /// The one type this export lists.
    #[param(rename = "filter[type]", pattern = "^(ticket|user|organization)$")]
    pub filter_type: String,
    /// Results per page, at most 1,000 (default 100).
    #[param(rename = "page[size]", minimum = 1)]
    pub page_size: Option<i64>,
    /// `meta.after_cursor` of the previous page.
    #[param(rename = "page[after]", format = "partnerdesk-cursor")]
    pub page_after: Option<String>,
}

/// The `query` parameter, required and bounded.
fn query_text(q: &ListQuery) -> Result<String, ApiError> {
    let text = q
        .get("query")
        .ok_or_else(|| AppError::BadRequest("query is required".into()))?;
    if text.trim().is_empty() {
        return Err(AppError::BadRequest("query must not be blank".into()).into());
    }
    if text.chars().count() > MAX_QUERY_CHARS {
        return Err(AppError::BadRequest(format!("query has at most {MAX_QUERY_CHARS} characters")).into());
    }
    Ok(text.to_owned())
}

fn sort_of(q: &ListQuery) -> Result<Sort, ApiError> {
    let field = q
        .get("sort_by")
        .map(|v| {
            SortField::parse(v).ok_or_else(|| {
                AppError::BadRequest(format!(
                    "sort_by must be one of created_at, updated_at, priority, status, not '{v}'"
                ))
            })
        })
        .transpose()?;
    let descending = match q.get("sort_order") {
        None => None,
        Some("asc") => Some(false),
        Some("desc") => Some(true),
        Some(v) => {
            return Err(AppError::BadRequest(format!("sort_order must be asc or desc, not '{v}'")).into());
        }
    };
    Ok(Sort { field, descending })
}

/// The results as Zendesk shows them, users and organizations with their fields as `actor` sees them.
async fn results(state: &AppState, actor: &Actor, found: &[Found]) -> Result<Vec<Value>, ApiError> {
    let ids = |kind: FieldKind| -> Vec<i64> {
        found
            .iter()
            .filter_map(|f| match (f, kind) {
                (Found::User(u), FieldKind::User) => Some(u.id.0),
                (Found::Organization(o), FieldKind::Organization) => Some(o.id.0),
                _ => None,
            })
            .collect()
    };
    let staff = actor.is_staff();
    let mut users = profile_fields::shown_in(&state.db, FieldKind::User, &ids(FieldKind::User), staff).await?;
    let mut orgs = profile_fields::shown_in(
        &state.db,
        FieldKind::Organization,
        &ids(FieldKind::Organization),
        actor.sees_org_notes(),
    )
    .await?;
    Ok(found
        .iter()
        .map(|f| {
            let mut view = result(state, actor, f);
            let fields = match f {
                Found::User(u) => Some(("user_fields", users.remove(&u.id.0).unwrap_or_default())),
                Found::Organization(o) => Some(("organization_fields", orgs.remove(&o.id.0).unwrap_or_default())),
                Found::Ticket(_) => None,
            };
            if let (Some((key, values)), Some(map)) = (fields, view.as_object_mut()) {
                map.insert(key.into(), Value::Object(values));
            }
            view
        })
        .collect())
}

/// A result as Zendesk shows it: the record's own view with its `result_type`.
fn result(state: &AppState, actor: &Actor, found: &Found) -> Value {
    let (mut view, kind) = match found {
        Found::Ticket(t) => (json!(TicketView::new(state, t, actor)), "ticket"),
        Found::User(u) => (json!(UserView::new(state, u)), "user"),
        Found::Organization(o) => (json!(OrganizationView::new(state, o, actor)), "organization"),
    };
    if let Some(map) = view.as_object_mut() {
        map.insert("result_type".into(), json!(kind));
    }
    view
}

fn id_of(found: &Found) -> i64 {
    match found {
        Found::Ticket(t) => t.id.0,
        Found::User(u) => u.id.0,
        Found::Organization(o) => o.id.0,
    }
}

/// Tickets, users and organizations the caller may see that match the query; offset pages of up to 100.
#[utoipa::path(get, path = "/api/v2/search", tag = "search", params(SearchParams, SearchPageParams),
    responses((status = 200, description = "`results` (each with `result_type`), `count` (exact up to 1,000 tickets; past that, on PostgreSQL, the database's estimate: `search/count.json` counts exactly), `next_page`, `previous_page`", body = Object),
        Authenticated, Query))]
pub async fn search(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let q = ListQuery::parse(raw.as_deref())?;
    if !q.is_offset() {
        return Err(
            AppError::BadRequest("search pages by page and per_page; search/export pages by cursor".into()).into(),
        );
    }
    let text = query_text(&q)?;
    let sort = sort_of(&q)?;
    let actor = caller.actor();
    let window = q.window();
    let found = search::search(
        &state.db,
        &actor,
        &text,
        sort,
        window.offset,
        window.limit,
        state.settings.search_exact_count,
    )
    .await?;
    let views = results(&state, &actor, &found.items).await?;
    let mut body = q.envelope(
        "results",
        &views,
        None,
        found.has_more,
        Some(found.count),
        &state.url("/api/v2/search.json"),
    );
    if let Some(map) = body.as_object_mut() {
        map.insert("facets".into(), Value::Null);
    }
    Ok(Json(body))
}

/// How many results the query has.
#[utoipa::path(get, path = "/api/v2/search/count", tag = "search", params(SearchParams),
    responses((status = 200, description = "`count`", body = Object), Authenticated, Query))]
pub async fn count(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let q = ListQuery::parse(raw.as_deref())?;
    let text = query_text(&q)?;
    sort_of(&q)?;
    let n = search::count(&state.db, &caller.actor(), &text).await?;
    Ok(Json(json!({ "count": n })))
}

/// Every result of one type, newest first, by cursor (`page[size]` up to 1,000): no cap on the number of results.
#[utoipa::path(get, path = "/api/v2/search/export", tag = "search", params(ExportParams),
    responses((status = 200, description = "`results`, `meta` (`has_more`, `after_cursor`), `links.next`", body = Object),
        Authenticated, Query))]
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let q = ListQuery::parse_cursor(raw.as_deref(), MAX_EXPORT_PAGE)?;
    let text = query_text(&q)?;
    let kind = match q.get("filter[type]") {
        Some(t) => ResultType::parse(t).ok_or_else(|| {
            AppError::BadRequest(format!("filter[type] must be ticket, user or organization, not '{t}'"))
        })?,
        None => {
            return Err(AppError::BadRequest("filter[type] is required: ticket, user or organization".into()).into());
        }
    };
    let window = q.window();
    let actor = caller.actor();
    let (items, has_more) = search::export(&state.db, &actor, &text, kind, window.after_id, window.limit).await?;
    let results = results(&state, &actor, &items).await?;
    let last = items.last().map(id_of);
    let mut body = q.envelope(
        "results",
        &results,
        last,
        has_more,
        None,
        &state.url("/api/v2/search/export.json"),
    );
    if let Some(map) = body.as_object_mut() {
        map.insert("facets".into(), Value::Null);
    }
    Ok(Json(body))
}
