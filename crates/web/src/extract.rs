//! Request extractors that fail the Zendesk way: JSON bodies with size limits and per-field type errors,
//! and ids in paths that may carry Zendesk's `.json` suffix.

use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use partnerdesk_app::AppError;

use crate::error::ApiError;
use crate::state::AppState;

/// A JSON body. Too large → 413 before or while reading; not JSON → 400; wrong shape → 422 naming the field.
pub struct ZJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ZJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let limit = state.settings.max_json_bytes;
        // JSON only, declared as such: forms and no-cors requests cannot send this type across sites.
        let ct = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        if !ct.starts_with("application/json") && !ct.ends_with("+json") {
            return Err(AppError::BadRequest(format!("Content-Type must be application/json, not '{ct}'")).into());
        }
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > limit) {
            return Err(AppError::TooLarge { limit }.into());
        }
        let bytes = axum::body::to_bytes(req.into_body(), limit)
            .await
            .map_err(|_| AppError::TooLarge { limit })?;
        parse_json(&bytes).map(ZJson)
    }
}

/// Parses JSON, mapping serde's errors to Zendesk's: syntax errors are 400, shape errors 422 on the field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(AppError::BadRequest("The request body is empty; a JSON object is expected.".into()).into());
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de)
        .map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if inner.is_syntax() || inner.is_eof() {
                return AppError::BadRequest(format!("The request body is not valid JSON: {inner}"));
            }
            let message = inner.to_string();
            let message = message.split(" at line ").next().unwrap_or(&message).to_owned();
            // "missing field `x`" names the field itself; otherwise the path does.
            let field = match message.split('`').nth(1) {
                Some(name) if message.starts_with("missing field") => {
                    if path == "." {
                        name.to_owned()
                    } else {
                        format!("{path}.{name}")
                    }
                }
                _ => path,
            };
            // The first segment is the resource wrapper (`ticket`, `user`): Zendesk names fields without it.
            let field = match field.split_once('.') {
                Some((_, rest)) if !rest.is_empty() => rest.to_owned(),
                _ => field,
            };
            let code = if message.starts_with("missing field") {
                "BlankValue"
            } else {
                "InvalidValue"
            };
            AppError::invalid(&field, code, format!("{field}: {message}"))
        })
        .map_err(ApiError)
}

/// A record id from the path, with or without a `.json` suffix. Anything that is not a positive integer
/// cannot name a record: 404.
#[derive(Debug, Clone, Copy)]
pub struct Id(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| AppError::NotFound)?;
        let digits = raw.strip_suffix(".json").unwrap_or(&raw);
        match digits.parse::<i64>() {
            Ok(n) if n > 0 => Ok(Id(n)),
            _ => Err(AppError::NotFound.into()),
        }
    }
}

pub use partnerdesk_app::input::nullable;

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Wrapper {
        #[allow(dead_code)]
        ticket: Inner,
    }
    #[derive(Debug, serde::Deserialize)]
    struct Inner {
        #[allow(dead_code)]
        subject: String,
        #[allow(dead_code)]
        group_id: Option<i64>,
    }

    fn field_of(e: ApiError) -> String {
        match e {
            ApiError(AppError::Invalid(inv)) => inv.0[0].field.clone(),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn json_errors_name_fields() {
        assert!(matches!(
            parse_json::<Wrapper>(b"{not json"),
            Err(ApiError(AppError::BadRequest(_)))
        ));
        assert!(matches!(
            parse_json::<Wrapper>(b""),
            Err(ApiError(AppError::BadRequest(_)))
        ));
        assert_eq!(
            parse_json::<Wrapper>(b"{}").map_err(field_of).err(),
            Some("ticket".to_owned())
        );
        assert_eq!(
            parse_json::<Wrapper>(br#"{"ticket":{}}"#).map_err(field_of).err(),
            Some("subject".to_owned())
        );
        assert_eq!(
            parse_json::<Wrapper>(br#"{"ticket":{"subject":"x","group_id":"a"}}"#)
                .map_err(field_of)
                .err(),
            Some("group_id".to_owned())
        );
        assert!(parse_json::<Wrapper>(br#"{"ticket":{"subject":"x","unknown":1}}"#).is_ok());
    }
}
