//! The ticket lists beside `GET /tickets`: an organization's tickets, a user's requested and assigned tickets; and the
//! order every ticket list takes (`sort_by`, `sort_order`). Each list has the envelope and pagination of
//! `GET /tickets`, its filters, and the caller's ticket scope: an end-user never sees another organization's ticket.

use axum::Json;
use axum::extract::{RawQuery, State};
use partnerdesk_core::{OrgId, UserId};
use partnerdesk_db::tickets::{TicketOrder, TicketSort};
use partnerdesk_db::{organizations, users};
use serde_json::Value;
use utoipa::IntoParams;
use utoipa::openapi::schema::{Object, ObjectBuilder, Type};

use partnerdesk_app::AppError;

use crate::api::doc::{Authenticated, IdParam, PageParams, PathId, Query, TicketList};
use crate::api::tickets::{TicketFilterParams, TicketView, parse_filter, tickets_page};
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::Id;
use crate::pagination::ListQuery;
use crate::state::AppState;

/// The order of a ticket list.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct SortParams {
    /// The field to sort by (default `id`); `priority` and `status` sort by rank (no priority, low ... urgent; new ...
    /// closed). Offset and cursor pages both follow it.
    #[param(schema_with = sort_by_schema)]
    pub sort_by: Option<String>,
    /// `asc` (default) or `desc`; ties are broken by id in the same direction.
    #[param(schema_with = sort_order_schema)]
    pub sort_order: Option<String>,
}

fn sort_by_schema() -> Object {
    let names: Vec<&str> = TicketSort::CHOICES.iter().map(|(n, _)| *n).collect();
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(names))
        .build()
}

fn sort_order_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["asc", "desc"]))
        .description(Some(
            "`asc` (default) or `desc`; ties are broken by id in the same direction.",
        ))
        .build()
}

/// `sort_by` and `sort_order`; unknown values are a 400 naming the parameter. Both pagination styles follow the order
/// (a cursor names the last ticket of its page; the next page starts after that ticket's sort key and id).
pub fn parse_sort(q: &ListQuery) -> Result<TicketOrder, ApiError> {
    let bad = |m: String| -> ApiError { AppError::BadRequest(m).into() };
    let by = match q.get("sort_by") {
        None => TicketSort::Id,
        Some(v) => TicketSort::CHOICES
            .iter()
            .find(|(n, _)| *n == v)
            .map(|(_, s)| *s)
            .ok_or_else(|| {
                let names: Vec<&str> = TicketSort::CHOICES.iter().map(|(n, _)| *n).collect();
                bad(format!("sort_by must be one of {}, not '{v}'", names.join(", ")))
            })?,
    };
    let desc = match q.get("sort_order") {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(v) => return Err(bad(format!("sort_order must be asc or desc, not '{v}'"))),
    };
    Ok(TicketOrder { by, desc })
}

/// Which list of a record: the field the path fixes.
enum Fixed {
    Organization(OrgId),
    Requester(UserId),
    Assignee(UserId),
}

async fn list_for(state: &AppState, caller: &Caller, raw: Option<&str>, fixed: Fixed) -> Result<Json<Value>, ApiError> {
    let actor = caller.actor();
    let q = ListQuery::parse(raw)?;
    let mut filter = parse_filter(&q, &actor)?;
    filter.order = parse_sort(&q)?;
    let mut conn = state.db.conn();
    let path = match fixed {
        Fixed::Organization(org) => {
            // An organization the caller may not see is not found, as for its single read.
            organizations::get(&mut conn, org, actor.org_scope()).await?;
            filter.organization_id = Some(org);
            format!("/api/v2/organizations/{org}/tickets.json")
        }
        Fixed::Requester(user) | Fixed::Assignee(user) => {
            // As for `/users/{id}`: staff see anyone, an end-user only themselves.
            actor.may_view_user(user)?;
            users::get(&mut conn, user).await?;
            if let Fixed::Requester(_) = fixed {
                filter.requester_id = Some(user);
                format!("/api/v2/users/{user}/tickets/requested.json")
            } else {
                filter.assignee_id = Some(user);
                format!("/api/v2/users/{user}/tickets/assigned.json")
            }
        }
    };
    tickets_page(state, &q, &filter, "tickets", &path, |t| {
        TicketView::new(state, t, &actor)
    })
    .await
}

/// The organization's tickets (end-users: their own organization's).
#[utoipa::path(get, path = "/api/v2/organizations/{id}/tickets", tag = "tickets",
    params(IdParam, TicketFilterParams, SortParams, PageParams),
    responses((status = 200, description = "A page of the organization's tickets", body = TicketList), Authenticated, PathId, Query))]
pub async fn organization_tickets(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    list_for(&state, &caller, raw.as_deref(), Fixed::Organization(OrgId(id))).await
}

/// The tickets the user requested, of those the caller can see (end-users: only their own requests).
#[utoipa::path(get, path = "/api/v2/users/{id}/tickets/requested", tag = "tickets",
    params(IdParam, TicketFilterParams, SortParams, PageParams),
    responses((status = 200, description = "A page of the user's requested tickets", body = TicketList), Authenticated, PathId, Query))]
pub async fn user_requested(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    list_for(&state, &caller, raw.as_deref(), Fixed::Requester(UserId(id))).await
}

/// The tickets assigned to the user, of those the caller can see.
#[utoipa::path(get, path = "/api/v2/users/{id}/tickets/assigned", tag = "tickets",
    params(IdParam, TicketFilterParams, SortParams, PageParams),
    responses((status = 200, description = "A page of the user's assigned tickets", body = TicketList), Authenticated, PathId, Query))]
pub async fn user_assigned(
    State(state): State<AppState>,
    caller: Caller,
    Id(id): Id,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    list_for(&state, &caller, raw.as_deref(), Fixed::Assignee(UserId(id))).await
}
