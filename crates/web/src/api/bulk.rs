//! Zendesk's bulk calls: `create_many`, `update_many`, `create_or_update_many` and `destroy_many` answer at once with
//! a job status (`GET /api/v2/job_statuses/{id}` follows it), and `create_or_update` for one user or organization.
//! The count and each item's JSON shape are checked here and refused at once (422 naming `users[3]`); each item's
//! values, the records it names and the caller's rights over them are checked when the job applies it, and reported
//! in its result.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use partnerdesk_app::jobs::{self, Kind, Operation, Resource, Target};
use partnerdesk_app::{AppError, org_changes, user_changes};
use partnerdesk_db::jobs::Job;

use crate::api::bulk_docs::{
    OrgUpsert, OrgsCreateMany, OrgsUpdateMany, OrgsUpsertMany, TicketsCreateMany, TicketsUpdateMany, UserUpsert,
    UsersCreateMany, UsersUpdateMany, UsersUpsertMany,
};
use crate::api::doc::{Authenticated, JsonBody, PathId, Query, Refused};
use crate::api::organizations::OrganizationResponse;
use crate::api::users::UserResponse;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::ZJson;
use crate::state::AppState;

/// A job in Zendesk's shape. `results` holds a result per item done so far, in item order: `{index, id, action,
/// status, success: true}` or `{index, error, details, success: false}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobStatusView {
    pub id: String,
    pub url: String,
    pub total: i64,
    pub progress: i64,
    /// `queued`, `working`, `completed`, `failed` or `killed`.
    pub status: String,
    pub message: Option<String>,
    #[schema(value_type = Vec<Object>)]
    pub results: Vec<Value>,
    /// What the job does (`users.create_many`, ...): a partnerdesk extension.
    pub job_type: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `{"job_status": {...}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobStatusResponse {
    pub job_status: JobStatusView,
}

fn job_json(state: &AppState, job: Job, results: Vec<Value>) -> Json<JobStatusResponse> {
    Json(JobStatusResponse {
        job_status: JobStatusView {
            url: state.url(&format!("/api/v2/job_statuses/{}.json", job.id)),
            id: job.id,
            total: job.total,
            progress: job.progress,
            status: job.status.as_str().to_owned(),
            message: job.message,
            results,
            job_type: job.kind,
            created_at: job.created_at,
            updated_at: job.updated_at,
        },
    })
}

/// The items of a body: the list under the resource's plural (`{"users": [...]}`); for an update or a delete, or
/// instead the records named in the query (`?ids=1,2` or `?external_ids=a,b`) with the one change under the singular
/// (`{"user": {...}}`).
fn items_of(kind: Kind, raw: Option<&str>, body: Option<Value>) -> Result<Vec<Value>, ApiError> {
    let plural = kind.resource.plural();
    let singular = plural.trim_end_matches('s');
    let named = named_in_query(raw)?;
    let mut body = body.unwrap_or(Value::Null);
    if let Some(named) = named {
        // Records named twice over would leave it unclear which change goes where.
        if body.get(plural).is_some() {
            return Err(AppError::invalid(
                plural,
                "InvalidValue",
                format!("name the records either in {plural} or with ids or external_ids, not both"),
            )
            .into());
        }
        let change = match body.get_mut(singular).map(Value::take) {
            Some(c @ Value::Object(_)) => c,
            Some(_) => {
                return Err(
                    AppError::invalid(singular, "InvalidValue", format!("{singular} must be an object")).into(),
                );
            }
            None if kind.operation == Operation::DestroyMany => Value::Object(Default::default()),
            None => {
                return Err(AppError::invalid(
                    singular,
                    "BlankValue",
                    format!("{singular} (the change to make to each record named) is required"),
                )
                .into());
            }
        };
        return Ok(jobs::items_from_ids(&named, &change));
    }
    match body.get_mut(plural).map(Value::take) {
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(AppError::invalid(plural, "InvalidValue", format!("{plural} must be a list")).into()),
        None if matches!(kind.operation, Operation::UpdateMany | Operation::DestroyMany) => Err(AppError::invalid(
            plural,
            "BlankValue",
            format!("{plural} is required, or ids or external_ids in the query"),
        )
        .into()),
        None => Err(AppError::invalid(plural, "BlankValue", format!("{plural} is required")).into()),
    }
}

/// `?ids=1,2` or `?external_ids=a,b` (at most 100 each), if given.
fn named_in_query(raw: Option<&str>) -> Result<Option<Vec<Target>>, ApiError> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let has = |name: &str| pairs.iter().any(|(k, _)| k == name);
    if has("ids") && has("external_ids") {
        return Err(AppError::invalid("ids", "InvalidValue", "give ids or external_ids, not both").into());
    }
    if has("ids") {
        let ids = crate::api::show_many::ids(raw)?;
        return Ok(Some(ids.into_iter().map(Target::Id).collect()));
    }
    let Some((_, given)) = pairs.iter().find(|(k, _)| k == "external_ids") else {
        return Ok(None);
    };
    let mut out: Vec<Target> = Vec::new();
    for part in given.split(',') {
        let x = part.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
        if x.is_empty() || x.chars().count() > partnerdesk_app::input::MAX_EXTERNAL_ID {
            return Err(AppError::invalid(
                "external_ids",
                "InvalidValue",
                format!(
                    "external_ids are comma-separated, each not blank and at most {} characters",
                    partnerdesk_app::input::MAX_EXTERNAL_ID
                ),
            )
            .into());
        }
        let x = x.to_owned();
        if !out.contains(&Target::External(x.clone())) {
            out.push(Target::External(x));
        }
        if out.len() > jobs::MAX_ITEMS {
            return Err(
                AppError::BadRequest(format!("external_ids names more than {} records", jobs::MAX_ITEMS)).into(),
            );
        }
    }
    Ok(Some(out))
}

async fn queue(
    state: &AppState,
    caller: &Caller,
    kind: Kind,
    raw: Option<&str>,
    body: Option<Value>,
) -> Result<Json<JobStatusResponse>, ApiError> {
    let items = items_of(kind, raw, body)?;
    let job = jobs::enqueue(state, &caller.user, kind, items).await?;
    Ok(job_json(state, job, Vec::new()))
}

/// `ids` or `external_ids`: the records an update or delete names, when the body does not list them.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct NamedParams {
    /// Comma-separated ids, at most 100.
    #[param(pattern = r"^[1-9][0-9]{0,17}(,[1-9][0-9]{0,17}){0,99}$")]
    pub ids: Option<String>,
    /// Comma-separated external ids, at most 100, each not blank and at most 255 characters.
    #[param(schema_with = external_ids)]
    pub external_ids: Option<String>,
}

/// Comma-separated parts, each holding something besides blanks, no control characters, at most 100 parts.
fn external_ids() -> utoipa::openapi::schema::Object {
    let c = partnerdesk_app::input::schema::CONTROLS;
    let part = format!("[^,{c}]*[^,\\s{c}][^,{c}]*");
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .pattern(Some(format!("^{part}(,{part}){{0,99}}$")))
        .build()
}

macro_rules! bulk {
    ($name:ident, $method:ident, $path:literal, $tag:literal, $resource:expr, $op:expr, $body:ty, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path($method, path = $path, tag = $tag, request_body = $body,
            responses((status = 200, description = "The job, queued", body = JobStatusResponse), Authenticated, JsonBody, Refused))]
        pub async fn $name(
            State(state): State<AppState>,
            caller: Caller,
            ZJson(body): ZJson<Value>,
        ) -> Result<Json<JobStatusResponse>, ApiError> {
            queue(&state, &caller, Kind::of($resource, $op), None, Some(body)).await
        }
    };
    ($name:ident, $method:ident, $path:literal, $tag:literal, $resource:expr, $op:expr, $body:ty, $doc:literal, named) => {
        #[doc = $doc]
        #[utoipa::path($method, path = $path, tag = $tag, params(NamedParams), request_body = $body,
            responses((status = 200, description = "The job, queued", body = JobStatusResponse), Authenticated, JsonBody, Query, Refused))]
        pub async fn $name(
            State(state): State<AppState>,
            caller: Caller,
            RawQuery(raw): RawQuery,
            ZJson(body): ZJson<Value>,
        ) -> Result<Json<JobStatusResponse>, ApiError> {
            queue(&state, &caller, Kind::of($resource, $op), raw.as_deref(), Some(body)).await
        }
    };
}

bulk!(
    users_create_many,
    post,
    "/api/v2/users/create_many",
    "users",
    Resource::Users,
    Operation::CreateMany,
    UsersCreateMany,
    "Creates up to 100 accounts in a job (admins; account managers: end-users of their organizations)."
);
bulk!(
    users_update_many,
    put,
    "/api/v2/users/update_many",
    "users",
    Resource::Users,
    Operation::UpdateMany,
    UsersUpdateMany,
    "Updates up to 100 accounts in a job, each named by `id` or `external_id`, or the same change to those `ids` or `external_ids` name.",
    named
);
bulk!(
    users_create_or_update_many,
    post,
    "/api/v2/users/create_or_update_many",
    "users",
    Resource::Users,
    Operation::CreateOrUpdateMany,
    UsersUpsertMany,
    "Creates or updates up to 100 accounts in a job: each updates the account with its `external_id`, else its `email`, or creates one."
);
bulk!(
    organizations_create_many,
    post,
    "/api/v2/organizations/create_many",
    "organizations",
    Resource::Organizations,
    Operation::CreateMany,
    OrgsCreateMany,
    "Creates up to 100 organizations in a job (admins)."
);
bulk!(
    organizations_update_many,
    put,
    "/api/v2/organizations/update_many",
    "organizations",
    Resource::Organizations,
    Operation::UpdateMany,
    OrgsUpdateMany,
    "Updates up to 100 organizations in a job (admins; account managers: their own), each named by `id` or `external_id`, or the same change to those `ids` or `external_ids` name.",
    named
);
bulk!(
    organizations_create_or_update_many,
    post,
    "/api/v2/organizations/create_or_update_many",
    "organizations",
    Resource::Organizations,
    Operation::CreateOrUpdateMany,
    OrgsUpsertMany,
    "Creates or updates up to 100 organizations in a job: each updates the one with its `external_id`, else its `name`, or creates one (admins)."
);
bulk!(
    tickets_create_many,
    post,
    "/api/v2/tickets/create_many",
    "tickets",
    Resource::Tickets,
    Operation::CreateMany,
    TicketsCreateMany,
    "Creates up to 100 tickets in a job (agents and admins)."
);
bulk!(
    tickets_update_many,
    put,
    "/api/v2/tickets/update_many",
    "tickets",
    Resource::Tickets,
    Operation::UpdateMany,
    TicketsUpdateMany,
    "Updates up to 100 tickets in a job (agents and admins), each named by `id`, or the same change to those `ids` name.",
    named
);

/// Deletes up to 100 organizations in a job (admins), named by `ids` or `external_ids`.
#[utoipa::path(delete, path = "/api/v2/organizations/destroy_many", tag = "organizations", params(NamedParams),
    responses((status = 200, description = "The job, queued", body = JobStatusResponse), Authenticated, Query, Refused))]
pub async fn organizations_destroy_many(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<JobStatusResponse>, ApiError> {
    let kind = Kind::of(Resource::Organizations, Operation::DestroyMany);
    if named_in_query(raw.as_deref())?.is_none() {
        return Err(AppError::invalid("ids", "BlankValue", "ids or external_ids is required").into());
    }
    queue(&state, &caller, kind, raw.as_deref(), None).await
}

/// A job id in the path.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct JobIdParam {
    #[param(pattern = "^[0-9a-f]{1,64}$")]
    pub id: String,
}

/// A job's status and the results of the items done so far: for the account that queued it, and admins.
#[utoipa::path(get, path = "/api/v2/job_statuses/{id}", tag = "job_statuses", params(JobIdParam),
    responses((status = 200, description = "The job", body = JobStatusResponse), Authenticated, PathId))]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<JobStatusResponse>, ApiError> {
    let id = id.strip_suffix(".json").unwrap_or(&id);
    let s = jobs::status(&state, &caller.actor(), id).await?;
    Ok(job_json(&state, s.job, s.results))
}

/// Creates the account, or updates the one with its `external_id`, else its `email`: 201 when created, 200 when
/// updated. A `password` counts only when the account is created.
#[utoipa::path(post, path = "/api/v2/users/create_or_update", tag = "users", request_body = UserUpsert,
    responses((status = 201, description = "Created", body = UserResponse), (status = 200, description = "Updated", body = UserResponse),
        Authenticated, JsonBody, Refused))]
pub async fn users_create_or_update(
    State(state): State<AppState>,
    caller: Caller,
    ZJson(body): ZJson<crate::api::users::UserEnvelope>,
) -> Result<(StatusCode, Json<UserResponse>), ApiError> {
    let actor = caller.actor();
    let (user, created) = user_changes::create_or_update(&state, &actor, &caller.audit(), body.user).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, crate::api::users::user_json(&state, &user, true).await?))
}

/// Creates the organization, or updates the one with its `external_id`, else its `name`: 201 when created, 200 when
/// updated (admins; account managers may update their own).
#[utoipa::path(post, path = "/api/v2/organizations/create_or_update", tag = "organizations", request_body = OrgUpsert,
    responses((status = 201, description = "Created", body = OrganizationResponse), (status = 200, description = "Updated", body = OrganizationResponse),
        Authenticated, JsonBody, Refused))]
pub async fn organizations_create_or_update(
    State(state): State<AppState>,
    caller: Caller,
    ZJson(body): ZJson<crate::api::organizations::OrgEnvelope>,
) -> Result<(StatusCode, Json<OrganizationResponse>), ApiError> {
    let actor = caller.actor();
    let (org, created) = org_changes::create_or_update(&state.db, &actor, &caller.audit(), body.organization).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, crate::api::organizations::org_json(&state, &org, &actor).await?))
}
