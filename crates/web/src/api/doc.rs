//! What the OpenAPI document says beyond the handlers' own annotations: Zendesk's error answer (one schema, and one
//! reusable response per status), the groups of error statuses that the shared extractors answer (so that a handler
//! lists `Authenticated` or `JsonBody` rather than each status again), the list envelopes, and the request-body
//! rules that a derive cannot state (fields a create requires).

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{Object, ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::{Content, Ref, RefOr};
use utoipa::{IntoParams, ToSchema};

pub use partnerdesk_app::input::schema as values;

mod bodies;
pub(crate) use bodies::envelope;
pub use bodies::*;

/// Zendesk's error answer, for every error of the API (the tus routes included).
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A short code: `RecordNotFound`, `RecordInvalid`, `InvalidRequest`, `Forbidden`, `PayloadTooLarge`, ...
    pub error: String,
    /// What went wrong, in a sentence.
    pub description: String,
    /// For `RecordInvalid` (422): the invalid fields, each with what is wrong with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<BTreeMap<String, Vec<FieldErrorBody>>>,
}

/// One problem with one field of a `RecordInvalid` answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldErrorBody {
    pub description: String,
    /// `BlankValue`, `InvalidValue`, `InvalidFormat`, `TooLong`, `TooShort`, `DuplicateValue`.
    pub error: String,
}

/// The reusable error responses: component name, status, what it means, and whether it carries `Retry-After`.
const ERRORS: &[(&str, u16, &str, bool)] = &[
    (
        "BadRequest",
        400,
        "The request is malformed: the body is not JSON or not a JSON object of the expected shape, or a query \
         parameter is out of range.",
        false,
    ),
    (
        "Unauthorized",
        401,
        "No credentials, wrong credentials, or a suspended account. Accounts are provisioned by the account \
         manager; there is no sign-up.",
        false,
    ),
    ("Forbidden", 403, "The caller's role may not do this.", false),
    (
        "NotFound",
        404,
        "No such record, or not one the caller may see (an id that is not a positive integer names no record).",
        false,
    ),
    (
        "Conflict",
        409,
        "The request does not fit the record's current state.",
        false,
    ),
    (
        "Gone",
        410,
        "The record existed but may no longer be used (a large upload that expired).",
        false,
    ),
    (
        "PreconditionFailed",
        412,
        "tus: the `Tus-Resumable` header is missing or names a version other than 1.0.0 (`Tus-Version` lists \
         the supported one).",
        false,
    ),
    ("PayloadTooLarge", 413, "The body is over the configured limit.", false),
    (
        "UnsupportedMediaType",
        415,
        "The body is not of the content type this operation takes.",
        false,
    ),
    (
        "Unprocessable",
        422,
        "Zendesk's `RecordInvalid`: a field is invalid (`details` names each), a record the body names does not \
         exist, or a rule about the record's state refuses the change. A control character in the address is \
         refused the same way, naming the parameter.",
        false,
    ),
    (
        "Locked",
        423,
        "tus: another request is writing this upload right now; retry shortly.",
        false,
    ),
    (
        "TooManyRequests",
        429,
        "Too many password sign-in attempts (API tokens are not limited), or a bulk job asked for while 30 of the \
         caller's are queued or running; wait as long as `Retry-After` says.",
        true,
    ),
    (
        "ChecksumMismatch",
        460,
        "tus: the bytes received do not match `Upload-Checksum`; they were not kept.",
        false,
    ),
    (
        "BadGateway",
        502,
        "The partner's bucket could not be reached or refused the request; the description says how.",
        false,
    ),
    (
        "ServiceUnavailable",
        503,
        "Too many password checks at once, or the server is stopping; retry after `Retry-After` seconds.",
        true,
    ),
];

/// The error responses as components, for `ApiDoc`'s modifier.
pub fn error_responses() -> Vec<(String, Response)> {
    ERRORS
        .iter()
        .map(|(name, _, description, retry)| {
            let mut r = ResponseBuilder::new().description(*description).content(
                "application/json",
                Content::new(Some(Ref::from_schema_name("ErrorBody"))),
            );
            if *retry {
                r = r.header(
                    "Retry-After",
                    HeaderBuilder::new()
                        .schema(Some(integer(Some(0), false)))
                        .description(Some("Seconds to wait before trying again."))
                        .build(),
                );
            }
            ((*name).to_owned(), r.build())
        })
        .collect()
}

fn error_ref(status: u16) -> (String, RefOr<Response>) {
    let name = ERRORS.iter().find(|e| e.1 == status).map_or("BadRequest", |e| e.0);
    (status.to_string(), RefOr::Ref(Ref::from_response_name(name)))
}

/// A named group of error statuses, to list in a handler's `responses(...)`.
macro_rules! error_group {
    ($($(#[$m:meta])* $name:ident = [$($status:literal),+];)*) => {$(
        $(#[$m])*
        pub struct $name;
        impl utoipa::IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                [$($status),+].into_iter().map(error_ref).collect()
            }
        }
    )*};
}

error_group! {
    /// Every operation that needs a caller: 401 without valid credentials; with `email:password` credentials, 429
    /// when that sign-in is throttled (and for bulk jobs, 429 when the caller has too many waiting) and 503 when
    /// password checks are saturated.
    Authenticated = [401, 429, 503];
    /// Operations with a record id or token in the path: 404 for no such record, 422 for a control character.
    PathId = [404, 422];
    /// Operations with query parameters: 400 for a value out of range, 422 for a control character.
    Query = [400, 422];
    /// Operations that take a JSON body: 400 for a body that is not JSON, 413 over the limit, 415 for another
    /// content type, 422 for a field of the wrong type or value.
    JsonBody = [400, 413, 415, 422];
    /// 403: the caller's role may not do this.
    Refused = [403];
    /// 422: a rule about the record's state or the records it names.
    Invalid = [422];
    /// 409: the request does not fit the record's current state.
    InConflict = [409];
    /// 502: a partner's bucket failed.
    Upstream = [502];
    /// 503: too many password hashes at once.
    Overloaded = [503];
    /// 404: a record the request names (not in the path) does not exist.
    NotFound = [404];
    /// 413: the body is over the limit.
    TooLarge = [413];
    /// The tus creation: a malformed header (400), a ticket the caller may not add to (403) or cannot see (404),
    /// no or another tus version (412), a file over the limit (413), a body past the length (413) or not matching
    /// its checksum (460), the upload busy (423).
    TusCreateErrors = [400, 403, 404, 412, 413, 423, 460];
    /// tus requests about one upload: not the caller's or no such upload (404), its ticket closed (403), expired
    /// (410), no or another tus version (412), a control character in the id (422), busy (423).
    TusItemErrors = [403, 404, 410, 412, 422, 423];
    /// tus PATCH: those of one upload, and a malformed header (400), an offset that is not the upload's (409), bytes
    /// past the length (413), a body not sent as `application/offset+octet-stream` (415), a checksum mismatch (460).
    TusPatchErrors = [400, 403, 404, 409, 410, 412, 413, 415, 422, 423, 460];
}

/// A record's id in the path (Zendesk's `.json` suffix may follow it).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct IdParam {
    #[param(minimum = 1)]
    pub id: i64,
}

/// A comma-separated list of ticket statuses.
pub fn status_list() -> utoipa::openapi::schema::Array {
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(values::ticket_status_value())
        .min_items(Some(1))
        .build()
}

/// Raw bytes: a file, or a part of one.
pub struct Binary;

impl utoipa::PartialSchema for Binary {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::Binary,
            )))
            .build()
            .into()
    }
}

impl ToSchema for Binary {}

/// An integer schema, optionally with a minimum.
pub fn integer(minimum: Option<i64>, nullable: bool) -> Object {
    let schema_type = if nullable {
        SchemaType::from_iter([Type::Integer, Type::Null])
    } else {
        SchemaType::Type(Type::Integer)
    };
    ObjectBuilder::new()
        .schema_type(schema_type)
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::Int64,
        )))
        .minimum(minimum)
        .build()
}

pub(super) fn string() -> Object {
    ObjectBuilder::new().schema_type(Type::String).build()
}

/// The pagination parameters of Zendesk's lists: offset (`page`, `per_page`) or cursor (`page[size]`,
/// `page[after]`); sizes above 100 are cut to 100.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Offset pagination: the page, from 1.
    #[param(minimum = 1)]
    pub page: Option<i64>,
    /// Offset pagination: records per page (at most 100 are returned).
    #[param(minimum = 1)]
    pub per_page: Option<i64>,
    /// Cursor pagination: records per page (at most 100 are returned).
    #[param(rename = "page[size]", minimum = 1)]
    pub page_size: Option<i64>,
    /// Cursor pagination: `meta.after_cursor` of the previous page (an opaque cursor this server issued).
    #[param(rename = "page[after]", format = "partnerdesk-cursor")]
    pub page_after: Option<String>,
}

/// Where a cursor list is.
#[derive(Debug, Serialize, ToSchema)]
pub struct CursorMeta {
    pub has_more: bool,
    pub after_cursor: Option<String>,
    pub before_cursor: Option<String>,
}

/// The next page of a cursor list (`null` on the last page).
#[derive(Debug, Serialize, ToSchema)]
pub struct CursorLinks {
    pub next: Option<String>,
    pub prev: Option<String>,
}

/// A list answer: `$key` (the records) with offset pagination (`next_page`, `previous_page`, `count`) or cursor
/// pagination (`meta`, `links`), depending on the parameters sent.
macro_rules! list_schema {
    ($($(#[$m:meta])* $name:ident { $key:ident: $item:ty })*) => {$(
        $(#[$m])*
        #[derive(Debug, ToSchema)]
        #[allow(dead_code)]
        pub struct $name {
            pub $key: Vec<$item>,
            /// Offset pagination: the next page, `null` on the last.
            pub next_page: Option<String>,
            /// Offset pagination: the previous page, `null` on the first.
            pub previous_page: Option<String>,
            /// Offset pagination: how many records the list has in all.
            pub count: Option<i64>,
            /// Cursor pagination.
            pub meta: Option<CursorMeta>,
            /// Cursor pagination.
            pub links: Option<CursorLinks>,
        }
    )*};
}

list_schema! {
    UserList { users: crate::api::users::UserView }
    OrganizationList { organizations: crate::api::organizations::OrganizationView }
    GroupList { groups: crate::api::groups::GroupView }
    TicketList { tickets: crate::api::tickets::TicketView }
    RequestList { requests: crate::api::requests::RequestView }
    CommentList { comments: crate::api::tickets::CommentView }
    AuditList { audits: crate::api::tickets::AuditView }
    AuditLogList { audit_logs: crate::api::audit_logs::AuditLogView }
    /// `count` is the number of different tags.
    TagList { tags: crate::api::tags::TagCountView }
}

/// A yes/no query parameter: `true`, `1` or `yes`; `false`, `0`, `no` or blank.
pub fn flag() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(["true", "false", "1", "0", "yes", "no", ""]))
        .build()
}

/// Reads a yes/no query parameter (see [`flag`]); anything else is a 400 naming it.
pub fn parse_flag(name: &str, value: Option<&str>) -> Result<bool, crate::error::ApiError> {
    match value {
        None | Some("" | "0" | "false" | "no") => Ok(false),
        Some("1" | "true" | "yes") => Ok(true),
        Some(other) => {
            Err(partnerdesk_app::AppError::BadRequest(format!("{name} must be true or false, not '{other}'")).into())
        }
    }
}
