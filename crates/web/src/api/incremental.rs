//! `/api/v2/incremental/...`: Zendesk's incremental exports, for agents and admins (end-users 403).
//!
//! - `tickets/cursor` and `users/cursor`: cursor-based. `start_time` (Unix seconds) on the first request, then
//!   `cursor` (the previous page's `after_cursor`); each page answers `after_url`/`after_cursor`, and
//!   `end_of_stream: true` once caught up. Polling `after_url` later hands out what changed since.
//! - `organizations` and `ticket_events`: time-based, `start_time` → `next_page`, `end_time` (the time of the
//!   last record, to pass as the next `start_time`), `count`, `end_of_stream`. As in Zendesk, starting again at
//!   `end_time` hands out that second's records again; `next_page` also carries a `cursor` that starts exactly
//!   after the last record (a partnerdesk extension, so that a second with more than a page of records cannot
//!   trap a client that follows `next_page`).
//!
//! The cursor is opaque: base64url of the export's name, the last record's change time (microseconds) and its id.

use axum::Json;
use axum::extract::{RawQuery, State};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use partnerdesk_app::AppError;
use partnerdesk_app::exports::{self, FieldChange, MAX_PER_PAGE, TicketEvent};
use partnerdesk_db::exports::{Position, Slice};
use serde::Serialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::api::doc::{Authenticated, Query, Refused};
use crate::api::organizations::OrganizationView;
use crate::api::tickets::TicketView;
use crate::api::users::UserView;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// The query of every export. `cursor` wins over `start_time` when both are sent (node-zendesk sends both).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ExportParams {
    /// Unix time in seconds, not in the future: export what changed at or after it. Required unless `cursor` is
    /// sent.
    #[param(minimum = 0)]
    pub start_time: Option<i64>,
    /// `after_cursor` of a previous page (or the `cursor` in `next_page`): continue exactly after it.
    #[param(pattern = r"^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
    /// Records per page, 1 to 1000 (default 1000).
    #[param(minimum = 1, maximum = 1000)]
    pub per_page: Option<i64>,
}

/// Where a request starts and how much it asks for.
struct Request {
    from: Position,
    per_page: i64,
    /// `per_page` as sent, to carry it into the next page's URL.
    per_page_sent: bool,
}

fn bad(msg: String) -> ApiError {
    AppError::BadRequest(msg).into()
}

/// The exports a cursor may belong to.
const EXPORTS: [&str; 4] = ["tickets", "users", "organizations", "ticket_events"];

fn encode_cursor(export: &str, p: Position) -> String {
    URL_SAFE_NO_PAD.encode(format!("{export}|{}|{}", p.at.timestamp_micros(), p.id))
}

fn decode_cursor(export: &str, cursor: &str) -> Result<Position, ApiError> {
    let not_ours = || bad(format!("cursor '{cursor}' is not a cursor this server issued"));
    let text = URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(not_ours)?;
    let parts: Vec<&str> = text.split('|').collect();
    let [name, micros, id] = parts.as_slice() else {
        return Err(not_ours());
    };
    if *name != export {
        return Err(match EXPORTS.iter().find(|e| *e == name) {
            Some(other) => bad(format!(
                "cursor '{cursor}' belongs to the {other} export, not the {export} export"
            )),
            None => not_ours(),
        });
    }
    let at = micros
        .parse::<i64>()
        .ok()
        .and_then(DateTime::<Utc>::from_timestamp_micros)
        .ok_or_else(not_ours)?;
    let id = id.parse::<i64>().ok().filter(|i| *i >= 0).ok_or_else(not_ours)?;
    Ok(Position { at, id })
}

/// Reads `start_time`, `cursor` and `per_page` for the export named `export`.
fn parse(export: &str, raw: Option<&str>) -> Result<Request, ApiError> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let get = |k: &str| pairs.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    let integer = |name: &str, v: &str, what: &str| -> Result<i64, ApiError> {
        v.parse::<i64>()
            .map_err(|_| bad(format!("{name} must be {what}, not '{v}'")))
    };
    let start = get("start_time")
        .map(|v| integer("start_time", v, "a Unix time in seconds").and_then(|t| Ok(exports::since(t)?)))
        .transpose()?;
    let per_page = get("per_page")
        .map(|v| {
            integer("per_page", v, &format!("an integer from 1 to {MAX_PER_PAGE}"))
                .and_then(|n| Ok(exports::per_page(n)?))
        })
        .transpose()?;
    // JavaScript clients send a missing cursor as `cursor=undefined` (node-zendesk's `exportCursor(start_time)`
    // does): next to a start_time, an empty or `undefined` cursor is no cursor.
    let cursor = get("cursor").filter(|c| !(start.is_some() && (c.is_empty() || *c == "undefined")));
    let from = match (cursor, start) {
        (Some(c), _) => decode_cursor(export, c)?,
        (None, Some(p)) => p,
        (None, None) => {
            return Err(bad(
                "start_time is required: the Unix time in seconds to export changes since \
                 (or a cursor from a previous page)"
                    .into(),
            ));
        }
    };
    Ok(Request {
        from,
        per_page: per_page.unwrap_or(MAX_PER_PAGE),
        per_page_sent: per_page.is_some(),
    })
}

/// `path?cursor=...` (and `per_page` when the request set it; `start_time` for time-based exports).
fn next_url(state: &AppState, path: &str, export: &str, req: &Request, next: Position, start_time: bool) -> String {
    let mut q = Vec::new();
    if start_time {
        q.push(format!("start_time={}", next.at.timestamp()));
    }
    q.push(format!("cursor={}", encode_cursor(export, next)));
    if req.per_page_sent {
        q.push(format!("per_page={}", req.per_page));
    }
    state.url(&format!("{path}?{}", q.join("&")))
}

/// `{"tickets": [...], after_url, after_cursor, before_url, before_cursor, end_of_stream}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketExport {
    pub tickets: Vec<TicketView>,
    pub after_url: String,
    pub after_cursor: String,
    /// Always `null`: exports go forward only.
    pub before_url: Option<String>,
    pub before_cursor: Option<String>,
    /// True once the export has caught up with every change committed so far.
    pub end_of_stream: bool,
}

/// `{"users": [...], after_url, after_cursor, before_url, before_cursor, end_of_stream}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserExport {
    pub users: Vec<UserView>,
    pub after_url: String,
    pub after_cursor: String,
    /// Always `null`: exports go forward only.
    pub before_url: Option<String>,
    pub before_cursor: Option<String>,
    /// True once the export has caught up with every change committed so far.
    pub end_of_stream: bool,
}

/// `{"organizations": [...], next_page, count, end_time, end_of_stream}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationExport {
    pub organizations: Vec<OrganizationView>,
    /// `start_time=end_time` and the exact `cursor` after the last record.
    pub next_page: String,
    pub count: usize,
    /// The change time (Unix seconds) of the last record; the start when there is none.
    pub end_time: i64,
    pub end_of_stream: bool,
}

/// One field a ticket event set or changed.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChildEventView {
    pub id: i64,
    /// `Create` for a creation's fields, `Change` for an update's.
    pub event_type: &'static str,
    pub via: Option<String>,
    pub field_name: &'static str,
    /// Any JSON value (text, a number, a list, or null).
    #[schema(value_type = serde_json::Value)]
    pub value: Value,
    #[schema(value_type = serde_json::Value)]
    pub previous_value: Value,
}

/// A ticket creation or update, with the fields it set or changed.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketEventView {
    pub id: i64,
    pub ticket_id: i64,
    /// `created_at` in Unix seconds.
    pub timestamp: i64,
    pub created_at: DateTime<Utc>,
    /// -1 for changes made by the system or at the command line.
    pub updater_id: i64,
    /// The channel of the change's comment (`api`, `web`, `email`, ...); `null` for an update without one.
    pub via: Option<String>,
    /// `Create` or `Update`.
    pub event_type: &'static str,
    pub comment_present: bool,
    pub comment_public: Option<bool>,
    pub child_events: Vec<ChildEventView>,
}

impl TicketEventView {
    fn new(e: &TicketEvent) -> TicketEventView {
        let child = |(n, c): (usize, &FieldChange)| ChildEventView {
            id: e.id.saturating_mul(100).saturating_add(n as i64 + 1),
            event_type: if e.created { "Create" } else { "Change" },
            via: e.via.clone(),
            field_name: c.field,
            value: c.value.clone(),
            previous_value: c.previous.clone(),
        };
        TicketEventView {
            id: e.id,
            ticket_id: e.ticket_id,
            timestamp: e.created_at.timestamp(),
            created_at: e.created_at,
            updater_id: e.updater_id.unwrap_or(-1),
            via: e.via.clone(),
            event_type: if e.created { "Create" } else { "Update" },
            comment_present: e.comment_public.is_some(),
            comment_public: e.comment_public,
            child_events: e.changes.iter().enumerate().map(child).collect(),
        }
    }
}

/// `{"ticket_events": [...], next_page, count, end_time, end_of_stream}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TicketEventExport {
    pub ticket_events: Vec<TicketEventView>,
    /// `start_time=end_time` and the exact `cursor` after the last event.
    pub next_page: String,
    pub count: usize,
    /// The time (Unix seconds) of the last event; the start when there is none.
    pub end_time: i64,
    pub end_of_stream: bool,
}

/// The fields every cursor-based page shares: (after_url, after_cursor, end_of_stream).
fn cursor_fields<T>(
    state: &AppState,
    path: &str,
    export: &str,
    req: &Request,
    page: &Slice<T>,
) -> (String, String, bool) {
    (
        next_url(state, path, export, req, page.next, false),
        encode_cursor(export, page.next),
        page.caught_up,
    )
}

#[utoipa::path(get, path = "/api/v2/incremental/tickets/cursor", tag = "incremental", params(ExportParams),
    responses((status = 200, description = "Tickets changed since `start_time` or after `cursor`, in change order", body = TicketExport),
        Authenticated, Query, Refused))]
pub async fn tickets(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<TicketExport>, ApiError> {
    let actor = caller.actor();
    let req = parse("tickets", raw.as_deref())?;
    let page = exports::tickets(&state.db, &actor, req.from, req.per_page).await?;
    let path = "/api/v2/incremental/tickets/cursor.json";
    let (after_url, after_cursor, end_of_stream) = cursor_fields(&state, path, "tickets", &req, &page);
    Ok(Json(TicketExport {
        tickets: page.items.iter().map(|t| TicketView::new(&state, t, &actor)).collect(),
        after_url,
        after_cursor,
        before_url: None,
        before_cursor: None,
        end_of_stream,
    }))
}

#[utoipa::path(get, path = "/api/v2/incremental/users/cursor", tag = "incremental", params(ExportParams),
    responses((status = 200, description = "Users changed since `start_time` or after `cursor`, in change order", body = UserExport),
        Authenticated, Query, Refused))]
pub async fn users(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<UserExport>, ApiError> {
    let actor = caller.actor();
    let req = parse("users", raw.as_deref())?;
    let page = exports::users(&state.db, &actor, req.from, req.per_page).await?;
    let path = "/api/v2/incremental/users/cursor.json";
    let (after_url, after_cursor, end_of_stream) = cursor_fields(&state, path, "users", &req, &page);
    Ok(Json(UserExport {
        users: crate::api::users::user_views(&state, &page.items, actor.is_staff()).await?,
        after_url,
        after_cursor,
        before_url: None,
        before_cursor: None,
        end_of_stream,
    }))
}

#[utoipa::path(get, path = "/api/v2/incremental/organizations", tag = "incremental", params(ExportParams),
    responses((status = 200, description = "Organizations changed since `start_time`, in change order", body = OrganizationExport),
        Authenticated, Query, Refused))]
pub async fn organizations(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<OrganizationExport>, ApiError> {
    let actor = caller.actor();
    let req = parse("organizations", raw.as_deref())?;
    let page = exports::organizations(&state.db, &actor, req.from, req.per_page).await?;
    let path = "/api/v2/incremental/organizations.json";
    Ok(Json(OrganizationExport {
        count: page.items.len(),
        organizations: crate::api::organizations::org_views(&state, &page.items, &actor).await?,
        next_page: next_url(&state, path, "organizations", &req, page.next, true),
        end_time: page.next.at.timestamp(),
        end_of_stream: page.caught_up,
    }))
}

#[utoipa::path(get, path = "/api/v2/incremental/ticket_events", tag = "incremental", params(ExportParams),
    responses((status = 200, description = "Ticket creations and updates since `start_time`, oldest first", body = TicketEventExport),
        Authenticated, Query, Refused))]
pub async fn ticket_events(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<TicketEventExport>, ApiError> {
    let actor = caller.actor();
    let req = parse("ticket_events", raw.as_deref())?;
    let page = exports::ticket_events(&state.db, &actor, req.from, req.per_page).await?;
    let path = "/api/v2/incremental/ticket_events.json";
    Ok(Json(TicketEventExport {
        count: page.items.len(),
        ticket_events: page.items.iter().map(TicketEventView::new).collect(),
        next_page: next_url(&state, path, "ticket_events", &req, page.next, true),
        end_time: page.next.at.timestamp(),
        end_of_stream: page.caught_up,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_stay_with_their_export() -> Result<(), ApiError> {
        let at = DateTime::<Utc>::from_timestamp_micros(1_700_000_000_123_456).ok_or_else(|| bad("time".into()))?;
        let p = Position { at, id: 42 };
        let c = encode_cursor("tickets", p);
        assert_eq!(decode_cursor("tickets", &c)?, p);
        assert!(decode_cursor("users", &c).is_err());
        for junk in [
            "",
            "zz",
            "undefined",
            &URL_SAFE_NO_PAD.encode("tickets|x|1"),
            &URL_SAFE_NO_PAD.encode("tickets|1|2|3"),
        ] {
            assert!(decode_cursor("tickets", junk).is_err(), "{junk}");
        }
        Ok(())
    }

    #[test]
    fn parses_the_query() -> Result<(), ApiError> {
        let r = parse("tickets", Some("start_time=10&per_page=5"))?;
        assert_eq!(
            (r.from, r.per_page, r.per_page_sent),
            (
                Position::since(DateTime::<Utc>::from_timestamp(10, 0).ok_or_else(|| bad("t".into()))?),
                5,
                true
            )
        );
        // node-zendesk's first exportCursor request.
        assert_eq!(
            parse("tickets", Some("start_time=10&cursor=undefined&page[size]=100"))?.per_page,
            MAX_PER_PAGE
        );
        for bad_query in [
            "",
            "start_time=x",
            "start_time=-1",
            "start_time=99999999999",
            "start_time=1&per_page=0",
            "start_time=1&per_page=1001",
            "cursor=undefined",
            "cursor=",
        ] {
            assert!(parse("tickets", Some(bad_query)).is_err(), "{bad_query}");
        }
        Ok(())
    }
}
