//! The Zendesk-compatible REST API under `/api/v2`. Every path answers with and without Zendesk's `.json`
//! suffix; every answer, errors included, is JSON.

pub mod audit_logs;
pub mod audits;
pub mod bucket_docs;
pub mod buckets;
pub mod bulk;
pub mod bulk_docs;
pub mod doc;
pub mod doc_links;
pub mod doc_text;
pub mod escalations;
pub mod groups;
pub mod incremental;
pub mod lookups;
pub mod mail;
pub mod notices;
pub mod organizations;
pub mod profile_fields;
pub mod requests;
pub mod search;
pub mod show_many;
pub mod tags;
pub mod ticket_fields;
pub mod ticket_forms;
pub mod ticket_lists;
pub mod tickets;
pub mod tus;
pub mod uploads;
pub mod users;

use axum::Json;
use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{MethodRouter, delete, get, post, put};
use utoipa::OpenApi;

use partnerdesk_app::AppError;

use crate::error::ApiError;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "partnerdesk API",
        description = "Zendesk-compatible REST API of partnerdesk, with partner extensions. Every path under \
            `/api/v2` also answers with Zendesk's `.json` suffix (`/api/v2/tickets.json`, `/api/v2/tickets/7.json`); \
            the tus collection also at `/api/v2/large_uploads/`. Every answer, errors included, is JSON \
            (`ErrorBody`), except file downloads and the tus protocol's empty answers. Callers authenticate with \
            Basic `email/token:TOKEN`, Basic `email:password` or `Bearer TOKEN`; the download and bucket routes and \
            the tus uploader also take a signed-in browser's session (changes need its `X-CSRF-Token`)."
    ),
    paths(
        users::me, users::list, users::show, users::create, users::update, users::invite, users::issue_token, users::accept_invitation,
        bulk::users_create_many, bulk::users_update_many, bulk::users_create_or_update_many, bulk::users_create_or_update,
        bulk::organizations_create_many, bulk::organizations_update_many, bulk::organizations_create_or_update_many,
        bulk::organizations_destroy_many, bulk::organizations_create_or_update,
        bulk::tickets_create_many, bulk::tickets_update_many, bulk::show,
        notices::show_notifications, notices::update_notifications,
        mail::list, mail::failing,
        show_many::tickets, show_many::users, show_many::organizations,
        search::search, search::count, search::export,
        incremental::tickets, incremental::users, incremental::organizations, incremental::ticket_events,
        organizations::list, organizations::show, organizations::create, organizations::update, organizations::delete, organizations::users,
        groups::list, groups::show, groups::create,
        ticket_fields::list_fields, ticket_fields::count_fields, ticket_fields::show_field, ticket_fields::create_field, ticket_fields::update_field, ticket_fields::delete_field,
        ticket_fields::list_options, ticket_fields::upsert_option, ticket_fields::show_option, ticket_fields::delete_option,
        profile_fields::list_org_fields, profile_fields::show_org_field, profile_fields::create_org_field, profile_fields::update_org_field, profile_fields::delete_org_field,
        profile_fields::list_user_fields, profile_fields::show_user_field, profile_fields::create_user_field, profile_fields::update_user_field, profile_fields::delete_user_field,
        ticket_forms::list, ticket_forms::show, ticket_forms::create, ticket_forms::update, ticket_forms::delete,
        tickets::list, tickets::show, tickets::create, tickets::update, tickets::comments,
        audits::ticket_audits, ticket_lists::organization_tickets, ticket_lists::user_requested, ticket_lists::user_assigned,
        tags::show_ticket_tags, tags::set_ticket_tags, tags::add_ticket_tags, tags::remove_ticket_tags, tags::list,
        lookups::search_users, lookups::autocomplete, lookups::search_organizations,
        audit_logs::list, audit_logs::show,
        requests::list, requests::list_open, requests::list_solved, requests::show, requests::create, requests::update, requests::comments,
        uploads::create, uploads::delete, uploads::show, uploads::download,
        tus::options_collection, tus::create, tus::options_item, tus::head, tus::patch, tus::terminate,
        buckets::show, buckets::update, buckets::delete, buckets::test, buckets::objects, buckets::download, buckets::attach,
        escalations::create, escalations::list, escalations::show, escalations::acknowledge, escalations::resolve,
        escalations::on_call, escalations::put_schedule, escalations::add_override, escalations::post_link, escalations::get_link,
        openapi_document,
    ),
    components(schemas(doc::ErrorBody, doc::FieldErrorBody)),
    security(("basic" = []), ("bearer" = [])),
    modifiers(&Components),
)]
pub struct ApiDoc;

/// The security schemes and the shared error responses.
struct Components;

impl utoipa::Modify for Components {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("basic", SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)));
        components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
        for (name, response) in doc::error_responses() {
            components.responses.insert(name, response.into());
        }
    }
}

/// The OpenAPI document, as served at `/api/v2/openapi.json`: `ApiDoc` with the rule on control characters written
/// into every request-side schema (see `doc_text`).
pub fn openapi_json() -> String {
    let Ok(mut doc) = serde_json::to_value(ApiDoc::openapi()) else {
        return "{}".into();
    };
    doc_text::refuse_control_characters(&mut doc);
    unique_operation_ids(&mut doc);
    doc_text::no_null_parameters(&mut doc);
    doc_links::add_links(&mut doc);
    serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".into())
}

/// Operation ids are the handlers' names, which repeat across resources (`list`, `delete`): each is prefixed with its
/// tag (`tickets_list`, `buckets_delete`), so that every id names one operation, as OpenAPI (and links) require.
fn unique_operation_ids(doc: &mut serde_json::Value) {
    let Some(paths) = doc.get_mut("paths").and_then(serde_json::Value::as_object_mut) else {
        return;
    };
    for operation in paths
        .values_mut()
        .filter_map(serde_json::Value::as_object_mut)
        .flat_map(|item| item.values_mut())
    {
        let tag = operation
            .pointer("/tags/0")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned);
        if let (Some(tag), Some(id)) = (tag, operation.get_mut("operationId"))
            && let Some(name) = id.as_str()
            && !name.starts_with(&format!("{tag}_"))
        {
            *id = format!("{tag}_{name}").into();
        }
    }
}

/// This document.
#[utoipa::path(get, path = "/api/v2/openapi.json", tag = "meta", security(()),
    responses((status = 200, description = "The OpenAPI document of this API", content_type = "application/json", body = Object)))]
async fn openapi_document() -> impl IntoResponse {
    ([(axum::http::header::CONTENT_TYPE, "application/json")], openapi_json())
}

/// Registers `path` and `path.json`.
fn both(router: Router<AppState>, path: &str, route: MethodRouter<AppState>) -> Router<AppState> {
    router.route(path, route.clone()).route(&format!("{path}.json"), route)
}

pub fn router() -> Router<AppState> {
    let mut r = Router::new();
    r = both(r, "/users", get(users::list).post(users::create));
    r = both(r, "/users/me", get(users::me));
    r = both(r, "/users/show_many", get(show_many::users));
    r = both(r, "/users/create_many", post(bulk::users_create_many));
    r = both(r, "/users/update_many", put(bulk::users_update_many));
    r = both(
        r,
        "/users/create_or_update_many",
        post(bulk::users_create_or_update_many),
    );
    r = both(r, "/users/create_or_update", post(bulk::users_create_or_update));
    r = both(r, "/organizations/create_many", post(bulk::organizations_create_many));
    r = both(r, "/organizations/update_many", put(bulk::organizations_update_many));
    r = both(
        r,
        "/organizations/create_or_update_many",
        post(bulk::organizations_create_or_update_many),
    );
    r = both(
        r,
        "/organizations/create_or_update",
        post(bulk::organizations_create_or_update),
    );
    r = both(
        r,
        "/organizations/destroy_many",
        delete(bulk::organizations_destroy_many),
    );
    r = both(r, "/tickets/create_many", post(bulk::tickets_create_many));
    r = both(r, "/tickets/update_many", put(bulk::tickets_update_many));
    // The id may carry Zendesk's `.json` suffix, which the handler takes off.
    r = r.route("/job_statuses/{id}", get(bulk::show));
    r = both(r, "/tickets/show_many", get(show_many::tickets));
    r = both(r, "/organizations/show_many", get(show_many::organizations));
    r = both(r, "/search", get(search::search));
    r = both(r, "/search/count", get(search::count));
    r = both(r, "/search/export", get(search::export));
    r = both(r, "/incremental/tickets/cursor", get(incremental::tickets));
    r = both(r, "/incremental/users/cursor", get(incremental::users));
    r = both(r, "/incremental/organizations", get(incremental::organizations));
    r = both(r, "/incremental/ticket_events", get(incremental::ticket_events));
    r = both(r, "/users/search", get(lookups::search_users));
    r = both(r, "/organizations/autocomplete", get(lookups::autocomplete));
    r = both(r, "/organizations/search", get(lookups::search_organizations));
    r = r.route("/users/{id}", get(users::show).put(users::update));
    r = both(r, "/users/{id}/tickets/requested", get(ticket_lists::user_requested));
    r = both(r, "/users/{id}/tickets/assigned", get(ticket_lists::user_assigned));
    r = both(
        r,
        "/organizations/{id}/tickets",
        get(ticket_lists::organization_tickets),
    );
    r = both(r, "/tags", get(tags::list));
    r = both(
        r,
        "/tickets/{id}/tags",
        get(tags::show_ticket_tags)
            .post(tags::set_ticket_tags)
            .put(tags::add_ticket_tags)
            .delete(tags::remove_ticket_tags),
    );
    r = both(r, "/tickets/{id}/audits", get(audits::ticket_audits));
    r = both(r, "/audit_logs", get(audit_logs::list));
    r = r.route("/audit_logs/{id}", get(audit_logs::show));
    r = both(r, "/users/{id}/invitation", post(users::invite));
    r = both(r, "/users/{id}/api_tokens", post(users::issue_token));
    r = both(
        r,
        "/users/{id}/notifications",
        get(notices::show_notifications).put(notices::update_notifications),
    );
    r = both(r, "/inbound_mail", get(mail::list));
    r = both(r, "/failing_addresses", get(mail::failing));
    r = both(r, "/account/password", post(users::accept_invitation));
    r = both(
        r,
        "/organizations",
        get(organizations::list).post(organizations::create),
    );
    r = r.route(
        "/organizations/{id}",
        get(organizations::show)
            .put(organizations::update)
            .delete(organizations::delete),
    );
    r = both(r, "/organizations/{id}/users", get(organizations::users));
    r = both(r, "/groups", get(groups::list).post(groups::create));
    r = r.route("/groups/{id}", get(groups::show));
    r = both(
        r,
        "/ticket_fields",
        get(ticket_fields::list_fields).post(ticket_fields::create_field),
    );
    r = both(r, "/ticket_fields/count", get(ticket_fields::count_fields));
    r = r.route(
        "/ticket_fields/{id}",
        get(ticket_fields::show_field)
            .put(ticket_fields::update_field)
            .delete(ticket_fields::delete_field),
    );
    r = both(
        r,
        "/ticket_fields/{id}/options",
        get(ticket_fields::list_options).post(ticket_fields::upsert_option),
    );
    r = r.route(
        "/ticket_fields/{id}/options/{option_id}",
        get(ticket_fields::show_option).delete(ticket_fields::delete_option),
    );
    r = both(
        r,
        "/organization_fields",
        get(profile_fields::list_org_fields).post(profile_fields::create_org_field),
    );
    r = r.route(
        "/organization_fields/{id}",
        get(profile_fields::show_org_field)
            .put(profile_fields::update_org_field)
            .delete(profile_fields::delete_org_field),
    );
    r = both(
        r,
        "/user_fields",
        get(profile_fields::list_user_fields).post(profile_fields::create_user_field),
    );
    r = r.route(
        "/user_fields/{id}",
        get(profile_fields::show_user_field)
            .put(profile_fields::update_user_field)
            .delete(profile_fields::delete_user_field),
    );
    r = both(r, "/ticket_forms", get(ticket_forms::list).post(ticket_forms::create));
    r = r.route(
        "/ticket_forms/{id}",
        get(ticket_forms::show)
            .put(ticket_forms::update)
            .delete(ticket_forms::delete),
    );
    r = both(r, "/tickets", get(tickets::list).post(tickets::create));
    r = r.route("/tickets/{id}", get(tickets::show).put(tickets::update));
    r = both(r, "/tickets/{id}/comments", get(tickets::comments));
    r = both(r, "/requests", get(requests::list).post(requests::create));
    r = both(r, "/requests/open", get(requests::list_open));
    r = both(r, "/requests/solved", get(requests::list_solved));
    r = r.route("/requests/{id}", get(requests::show).put(requests::update));
    r = both(r, "/requests/{id}/comments", get(requests::comments));
    // Uploads enforce their own limit while streaming; the framework's 2 MB default must not cut them short.
    r = both(
        r,
        "/uploads",
        post(uploads::create).layer(axum::extract::DefaultBodyLimit::disable()),
    );
    r = r.route("/uploads/{token}", axum::routing::delete(uploads::delete));
    r = r.route("/attachments/{id}", get(uploads::show));
    r = r.merge(crate::api::tus::router());
    r = both(
        r,
        "/organizations/{id}/bucket",
        get(buckets::show).put(buckets::update).delete(buckets::delete),
    );
    r = both(r, "/organizations/{id}/bucket/test", post(buckets::test));
    r = both(r, "/organizations/{id}/bucket/objects", get(buckets::objects));
    r = both(r, "/organizations/{id}/bucket/download", get(buckets::download));
    r = both(r, "/tickets/{id}/bucket_attachments", post(buckets::attach));
    r = both(r, "/escalations", get(escalations::list).post(escalations::create));
    r = r.route("/escalations/{id}", get(escalations::show));
    r = both(r, "/escalations/{id}/acknowledge", post(escalations::acknowledge));
    r = both(r, "/escalations/{id}/resolve", post(escalations::resolve));
    r = both(r, "/oncall", get(escalations::on_call));
    r = both(r, "/oncall/schedule", axum::routing::put(escalations::put_schedule));
    r = both(r, "/oncall/overrides", post(escalations::add_override));
    r = both(
        r,
        "/organizations/{id}/escalation_link",
        get(escalations::get_link).post(escalations::post_link),
    );
    r = r.route("/openapi.json", get(openapi_document));
    r.fallback(|| async { ApiError(AppError::NotFound) })
        .method_not_allowed_fallback(|| async {
            (
                StatusCode::METHOD_NOT_ALLOWED,
                Json(doc::ErrorBody {
                    error: "MethodNotAllowed".into(),
                    description: "This endpoint does not accept that method.".into(),
                    details: None,
                }),
            )
                .into_response()
        })
}
