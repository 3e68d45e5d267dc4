//! The API's error: an `AppError` from the services, answered as Zendesk answers it. Status codes and
//! Zendesk's error bodies are chosen here and nowhere else; internal details are logged, never returned.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use partnerdesk_app::AppError;
use partnerdesk_core::FieldError;
use std::collections::BTreeMap;

pub use crate::api::doc::{ErrorBody, FieldErrorBody};

#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ApiError(pub AppError);

impl ApiError {
    pub fn status(&self) -> StatusCode {
        status_of(&self.0)
    }

    /// Zendesk's error JSON.
    pub fn body(&self) -> ErrorBody {
        let error = match &self.0 {
            AppError::NotFound => "RecordNotFound",
            AppError::Invalid(inv) => {
                return ErrorBody {
                    error: "RecordInvalid".into(),
                    description: "Record validation errors".into(),
                    details: Some(details(&inv.0)),
                };
            }
            AppError::BadRequest(_) => "InvalidRequest",
            AppError::UnsupportedMediaType(_) => "UnsupportedMediaType",
            AppError::Unauthenticated(_) => "Couldn't authenticate you",
            AppError::AccountRequired => "AccountRequired",
            AppError::Forbidden(_) => "Forbidden",
            AppError::TooLarge { .. } | AppError::FileTooLarge { .. } => "PayloadTooLarge",
            AppError::TooManyRequests { .. } => "TooManyRequests",
            AppError::Overloaded { .. } => "ServiceUnavailable",
            AppError::Upstream(_) => "BadGateway",
            AppError::Conflict(_) => "Conflict",
            AppError::Gone(_) => "Gone",
            AppError::Busy(_) => "Locked",
            AppError::ChecksumMismatch(_) => "ChecksumMismatch",
            AppError::PastLength { .. } => "PayloadTooLarge",
            AppError::Unavailable(_) => "ServiceUnavailable",
            AppError::RangeNotSatisfiable => "RangeNotSatisfiable",
            AppError::Internal(_) => "InternalError",
        };
        ErrorBody {
            error: error.into(),
            description: self.0.message(),
            details: None,
        }
    }
}

/// The HTTP status for a service error; pages and the tus protocol answer with the same.
pub fn status_of(e: &AppError) -> StatusCode {
    match e {
        AppError::NotFound => StatusCode::NOT_FOUND,
        AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
        AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        AppError::Unauthenticated(_) | AppError::AccountRequired => StatusCode::UNAUTHORIZED,
        AppError::Forbidden(_) => StatusCode::FORBIDDEN,
        AppError::TooLarge { .. } | AppError::FileTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
        AppError::Upstream(_) => StatusCode::BAD_GATEWAY,
        AppError::Conflict(_) => StatusCode::CONFLICT,
        AppError::Gone(_) => StatusCode::GONE,
        AppError::Busy(_) => StatusCode::LOCKED,
        // tus's own status for a checksum that does not match.
        AppError::ChecksumMismatch(_) => StatusCode::from_u16(460).unwrap_or(StatusCode::BAD_REQUEST),
        AppError::PastLength { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        AppError::Unavailable(_) | AppError::Overloaded { .. } => StatusCode::SERVICE_UNAVAILABLE,
        AppError::RangeNotSatisfiable => StatusCode::RANGE_NOT_SATISFIABLE,
        AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// `Retry-After` on the answers that ask the client to come back later, on the API and on pages alike.
pub fn set_retry_after(resp: &mut Response, e: &AppError) {
    if let Some(secs) = e.retry_after()
        && let Ok(v) = HeaderValue::from_str(&secs.to_string())
    {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
}

/// Logs the detail of an internal error, which no answer shows.
pub fn log_internal(e: &AppError) {
    if let AppError::Internal(detail) = e {
        tracing::error!(error = %detail, "internal error");
    }
}

/// `{"field": [{"description": "...", "error": "Code"}]}`, as Zendesk writes `details`.
fn details(errors: &[FieldError]) -> BTreeMap<String, Vec<FieldErrorBody>> {
    let mut map: BTreeMap<String, Vec<FieldErrorBody>> = BTreeMap::new();
    for e in errors {
        map.entry(e.field.clone()).or_default().push(FieldErrorBody {
            description: e.message.clone(),
            error: e.code.into(),
        });
    }
    map
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        log_internal(&self.0);
        let mut resp = (self.status(), Json(self.body())).into_response();
        match &self.0 {
            AppError::Unauthenticated(_) | AppError::AccountRequired => {
                resp.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"partnerdesk\""),
                );
            }
            _ => {}
        }
        set_retry_after(&mut resp, &self.0);
        resp
    }
}

/// Everything a service or the store can fail with becomes an API error through `AppError`, here only.
macro_rules! via_app_error {
    ($($t:ty),*) => {$(
        impl From<$t> for ApiError {
            fn from(e: $t) -> Self {
                ApiError(AppError::from(e))
            }
        }
    )*};
}
via_app_error!(
    AppError,
    partnerdesk_core::Invalid,
    partnerdesk_core::policy::Denied,
    partnerdesk_db::DbError,
    partnerdesk_core::credentials::CredentialError,
    partnerdesk_blob::BlobError,
    partnerdesk_app::buckets::client::BucketProblem
);
