//! The one API error type. Status codes and Zendesk's error bodies are chosen here and nowhere else;
//! internal details are logged, never returned.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use partnerdesk_core::accounts::NO_ACCOUNT_HELP;
use partnerdesk_core::policy::Denied;
use partnerdesk_core::{FieldError, Invalid};
use partnerdesk_db::DbError;
use serde_json::{Map, Value, json};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("not found")]
    NotFound,
    #[error("invalid: {0}")]
    Invalid(Invalid),
    /// The body is not JSON, or not the expected shape at the top level.
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    /// Filing a ticket needs an account, and accounts are provisioned by the account manager.
    #[error("account required")]
    AccountRequired,
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("payload too large (limit {limit} bytes)")]
    TooLarge { limit: usize },
    /// A file over the attachment limit; `hint` says where large files go.
    #[error("file too large (limit {limit} bytes)")]
    FileTooLarge { limit: u64, hint: String },
    #[error("too many attempts; retry after {retry_after_secs}s")]
    TooManyRequests { retry_after_secs: u64 },
    /// A `Range` that cannot be served.
    #[error("range not satisfiable")]
    RangeNotSatisfiable,
    /// A service partnerdesk depends on (a partner's bucket) failed; the message says how.
    #[error("upstream: {0}")]
    Upstream(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn invalid(field: &str, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::Invalid(Invalid::field(field, code, message))
    }

    pub fn internal(e: impl std::fmt::Display) -> ApiError {
        ApiError::Internal(e.to_string())
    }

    /// Maps a store error, turning a clash on a unique name into a 422 that names the record kind:
    /// `.map_err(ApiError::unique_name("group", &name))`.
    pub fn unique_name<'a>(kind: &'static str, name: &'a str) -> impl FnOnce(DbError) -> ApiError + 'a {
        move |e| {
            if e.is_conflict_on("name") {
                let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
                    "an"
                } else {
                    "a"
                };
                ApiError::invalid(
                    "name",
                    "DuplicateValue",
                    format!("{article} {kind} named '{name}' already exists"),
                )
            } else {
                e.into()
            }
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated(_) | ApiError::AccountRequired => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::TooLarge { .. } | ApiError::FileTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Upstream(_) => StatusCode::BAD_GATEWAY,
            ApiError::RangeNotSatisfiable => StatusCode::RANGE_NOT_SATISFIABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Zendesk's error JSON.
    pub fn body(&self) -> Value {
        match self {
            ApiError::NotFound => json!({"error": "RecordNotFound", "description": "Not found"}),
            ApiError::Invalid(inv) => json!({
                "error": "RecordInvalid",
                "description": "Record validation errors",
                "details": details(&inv.0),
            }),
            ApiError::BadRequest(msg) => json!({"error": "InvalidRequest", "description": msg}),
            ApiError::Unauthenticated(msg) => {
                json!({"error": "Couldn't authenticate you", "description": msg})
            }
            ApiError::AccountRequired => json!({
                "error": "AccountRequired",
                "description": format!("Filing a ticket requires a partnerdesk account and signing in. {NO_ACCOUNT_HELP}"),
            }),
            ApiError::Forbidden(msg) => json!({"error": "Forbidden", "description": msg}),
            ApiError::TooLarge { limit } => json!({
                "error": "PayloadTooLarge",
                "description": format!("The request body exceeds the limit of {limit} bytes."),
            }),
            ApiError::FileTooLarge { limit, hint } => json!({
                "error": "PayloadTooLarge",
                "description": format!("Attachments are limited to {} MB ({limit} bytes). {hint}", limit / (1024 * 1024)),
            }),
            ApiError::TooManyRequests { retry_after_secs } => json!({
                "error": "TooManyRequests",
                "description": format!("Too many attempts. Try again in {retry_after_secs} seconds."),
            }),
            ApiError::Upstream(msg) => json!({"error": "BadGateway", "description": msg}),
            ApiError::RangeNotSatisfiable => {
                json!({"error": "RangeNotSatisfiable", "description": "The requested range is not satisfiable."})
            }
            ApiError::Internal(_) => {
                json!({"error": "InternalError", "description": "Something went wrong on our side; it has been logged."})
            }
        }
    }
}

/// `{"field": [{"description": "...", "error": "Code"}]}`, as Zendesk writes `details`.
fn details(errors: &[FieldError]) -> Value {
    let mut map = Map::new();
    for e in errors {
        let entry = json!({"description": e.message, "error": e.code});
        match map.get_mut(&e.field) {
            Some(Value::Array(list)) => list.push(entry),
            _ => {
                map.insert(e.field.clone(), Value::Array(vec![entry]));
            }
        }
    }
    Value::Object(map)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let ApiError::Internal(detail) = &self {
            tracing::error!(error = %detail, "internal error");
        }
        let mut resp = (status, Json(self.body())).into_response();
        match &self {
            ApiError::Unauthenticated(_) | ApiError::AccountRequired => {
                resp.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"partnerdesk\""),
                );
            }
            ApiError::TooManyRequests { retry_after_secs } => {
                if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                    resp.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            _ => {}
        }
        resp
    }
}

impl From<Invalid> for ApiError {
    fn from(e: Invalid) -> Self {
        ApiError::Invalid(e)
    }
}

impl From<Denied> for ApiError {
    fn from(d: Denied) -> Self {
        match d {
            Denied::NotFound => ApiError::NotFound,
            Denied::Forbidden(why) => ApiError::Forbidden(format!("You do not have access to this: {why}.")),
        }
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotFound => ApiError::NotFound,
            DbError::Conflict { constraint } => {
                // `table.column`, with name_key columns reported as the name the caller sent.
                let column = constraint
                    .rsplit('.')
                    .next()
                    .unwrap_or("record")
                    .trim_end_matches("_key")
                    .to_owned();
                ApiError::invalid(&column, "DuplicateValue", format!("{column} has already been taken"))
            }
            DbError::MissingReference => {
                ApiError::invalid("base", "InvalidValue", "a referenced record does not exist")
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<partnerdesk_core::credentials::CredentialError> for ApiError {
    fn from(e: partnerdesk_core::credentials::CredentialError) -> Self {
        ApiError::Internal(e.to_string())
    }
}
