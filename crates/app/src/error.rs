//! The one error type of the services. It says what went wrong in the product's terms; the HTTP layer
//! (the web crate's API error) chooses status codes and bodies from it, and the CLI prints `message()`.

use partnerdesk_core::accounts::NO_ACCOUNT_HELP;
use partnerdesk_core::policy::Denied;
use partnerdesk_core::{FieldError, Invalid};
use partnerdesk_db::DbError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("invalid: {0}")]
    Invalid(Invalid),
    /// The input is not the expected shape at the top level (not JSON, a missing envelope).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The body is not of the content type the operation takes.
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    /// Filing a ticket needs an account, and accounts are provisioned by the account manager.
    #[error("account required")]
    AccountRequired,
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// A request body over the configured limit.
    #[error("payload too large (limit {limit} bytes)")]
    TooLarge { limit: usize },
    /// A file over the attachment limit; `hint` says where large files go.
    #[error("file too large (limit {limit} bytes)")]
    FileTooLarge { limit: u64, hint: String },
    #[error("too many attempts; retry after {retry_after_secs}s")]
    TooManyRequests { retry_after_secs: u64 },
    /// A byte range that cannot be served.
    #[error("range not satisfiable")]
    RangeNotSatisfiable,
    /// The request does not fit the record's current state (a resumable upload's offset moved on, or another
    /// request changed it meanwhile).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The record existed but may no longer be used (a resumable upload that expired).
    #[error("gone: {0}")]
    Gone(String),
    /// Another request is working on the record right now (writing a resumable upload); retry shortly.
    #[error("busy: {0}")]
    Busy(String),
    /// The bytes received do not match the digest the client sent with them.
    #[error("checksum mismatch: {0}")]
    ChecksumMismatch(String),
    /// A resumable upload's body goes past the length declared when it was created.
    #[error("past the upload's length ({length} bytes)")]
    PastLength { length: u64 },
    /// Too many requests of this kind are being worked on (password checks); retry shortly.
    #[error("overloaded; retry after {retry_after_secs}s")]
    Overloaded { retry_after_secs: u64 },
    /// This instance cannot finish the request now (it is shutting down); retry in a moment.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A service partnerdesk depends on (a partner's bucket) failed; the message says how.
    #[error("upstream: {0}")]
    Upstream(String),
    /// Something that is not the caller's fault; the detail is logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn invalid(field: &str, code: &'static str, message: impl Into<String>) -> AppError {
        AppError::Invalid(Invalid::field(field, code, message))
    }

    pub fn internal(e: impl std::fmt::Display) -> AppError {
        AppError::Internal(e.to_string())
    }

    /// Maps a store error, turning a clash on a unique name into a 422 that names the record kind:
    /// `.map_err(AppError::unique_name("group", &name))`.
    pub fn unique_name<'a>(kind: &'static str, name: &'a str) -> impl FnOnce(DbError) -> AppError + 'a {
        move |e| {
            if e.is_conflict_on("name") {
                let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
                    "an"
                } else {
                    "a"
                };
                AppError::invalid(
                    "name",
                    "DuplicateValue",
                    format!("{article} {kind} named '{name}' already exists"),
                )
            } else {
                e.into()
            }
        }
    }

    /// How long the client should wait before trying again, for the errors that say so (`Retry-After`).
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            AppError::TooManyRequests { retry_after_secs } | AppError::Overloaded { retry_after_secs } => {
                Some(*retry_after_secs)
            }
            _ => None,
        }
    }

    /// What a person is told: one sentence, never internal details.
    pub fn message(&self) -> String {
        match self {
            AppError::NotFound => "Not found".into(),
            AppError::Invalid(inv) => field_messages(&inv.0),
            AppError::BadRequest(msg)
            | AppError::UnsupportedMediaType(msg)
            | AppError::Unauthenticated(msg)
            | AppError::Forbidden(msg)
            | AppError::Upstream(msg)
            | AppError::Conflict(msg)
            | AppError::Gone(msg)
            | AppError::Busy(msg)
            | AppError::ChecksumMismatch(msg)
            | AppError::Unavailable(msg) => msg.clone(),
            AppError::PastLength { length } => format!("the body goes past Upload-Length ({length} bytes)"),
            AppError::AccountRequired => {
                format!("Filing a ticket requires a partnerdesk account and signing in. {NO_ACCOUNT_HELP}")
            }
            AppError::TooLarge { limit } => format!("The request body exceeds the limit of {limit} bytes."),
            AppError::FileTooLarge { limit, hint } => format!(
                "Attachments are limited to {} MB ({limit} bytes). {hint}",
                limit / (1024 * 1024)
            ),
            AppError::TooManyRequests { retry_after_secs } => {
                format!("Too many attempts. Try again in {retry_after_secs} seconds.")
            }
            AppError::Overloaded { retry_after_secs } => {
                format!("The server is busy. Try again in {retry_after_secs} seconds.")
            }
            AppError::RangeNotSatisfiable => "The requested range is not satisfiable.".into(),
            AppError::Internal(_) => "Something went wrong on our side; it has been logged.".into(),
        }
    }
}

/// "field: message; field: message", for places that show validation errors as one line.
fn field_messages(errors: &[FieldError]) -> String {
    if errors.is_empty() {
        return "Record validation errors".into();
    }
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl From<Invalid> for AppError {
    fn from(e: Invalid) -> Self {
        AppError::Invalid(e)
    }
}

impl From<Denied> for AppError {
    fn from(d: Denied) -> Self {
        match d {
            Denied::NotFound => AppError::NotFound,
            Denied::Forbidden(why) => AppError::Forbidden(format!("You do not have access to this: {why}.")),
        }
    }
}

impl From<DbError> for AppError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotFound => AppError::NotFound,
            DbError::Conflict { constraint } => {
                // `table.column`, with name_key columns reported as the name the caller sent.
                let column = constraint
                    .rsplit('.')
                    .next()
                    .unwrap_or("record")
                    .trim_end_matches("_key")
                    .to_owned();
                AppError::invalid(&column, "DuplicateValue", format!("{column} has already been taken"))
            }
            DbError::MissingReference => {
                AppError::invalid("base", "InvalidValue", "a referenced record does not exist")
            }
            DbError::Busy => AppError::Overloaded { retry_after_secs: 1 },
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<partnerdesk_core::credentials::CredentialError> for AppError {
    fn from(e: partnerdesk_core::credentials::CredentialError) -> Self {
        AppError::Internal(e.to_string())
    }
}

/// File system errors (staging files) are not the caller's fault.
impl From<std::io::Error> for AppError {
    fn from(e: std::io::Error) -> Self {
        AppError::Internal(e.to_string())
    }
}

impl From<partnerdesk_blob::BlobError> for AppError {
    fn from(e: partnerdesk_blob::BlobError) -> Self {
        AppError::Internal(e.to_string())
    }
}
