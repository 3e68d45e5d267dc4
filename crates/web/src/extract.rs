//! Request extractors that fail the Zendesk way: JSON bodies with size limits and per-field type errors,
//! and ids in paths that may carry Zendesk's `.json` suffix.

use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::header;
use axum::http::request::Parts;
use partnerdesk_core::validation::check_no_control_characters;
use serde::de::DeserializeOwned;
use serde_json::Value;

use partnerdesk_app::AppError;

use crate::error::ApiError;
use crate::state::AppState;

/// A JSON body. Too large → 413 before or while reading; another content type → 415; not JSON → 400; wrong shape →
/// 422 naming the field.
pub struct ZJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ZJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        require_json(req.headers())?;
        let bytes = read_limited(req, state.settings.max_json_bytes).await?;
        parse_json(&bytes).map(ZJson)
    }
}

/// An optional JSON body: no body at all (or only whitespace) is `None`; anything else is read as `ZJson` reads it,
/// and must be declared as JSON.
pub struct OptionalJson<T>(pub Option<T>);

impl<T: DeserializeOwned> FromRequest<AppState> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let declared_type = req.headers().contains_key(header::CONTENT_TYPE);
        if declared_type {
            require_json(req.headers())?;
        }
        let bytes = read_limited(req, state.settings.max_json_bytes).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(None));
        }
        if !declared_type {
            require_json(&axum::http::HeaderMap::new())?;
        }
        parse_json(&bytes).map(|v| OptionalJson(Some(v)))
    }
}

/// JSON only, declared as such (415 otherwise): forms and no-cors requests cannot send this type across sites.
fn require_json(headers: &axum::http::HeaderMap) -> Result<(), ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let essence = ct.split(';').next().unwrap_or_default().trim();
    if essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json")) {
        Ok(())
    } else {
        Err(AppError::UnsupportedMediaType(format!("Content-Type must be application/json, not '{ct}'")).into())
    }
}

/// The body, refused with 413 when its declared length, or what arrives, is over `limit`.
async fn read_limited(req: Request, limit: usize) -> Result<axum::body::Bytes, ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(AppError::TooLarge { limit }.into());
    }
    Ok(axum::body::to_bytes(req.into_body(), limit)
        .await
        .map_err(|_| AppError::TooLarge { limit })?)
}

/// Parses JSON, mapping serde's errors to Zendesk's: syntax errors (and anything after the value) are 400,
/// shape errors and control characters in strings 422 on the field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(AppError::BadRequest("The request body is empty; a JSON object is expected.".into()).into());
    }
    // Parsed to a value first: `from_slice` refuses trailing characters, and the strings can be checked by path.
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| AppError::BadRequest(format!("The request body is not valid JSON: {e}")))?;
    check_strings(&value, &mut String::new())?;
    serde_path_to_error::deserialize(crate::strict_json::Strict(value))
        .map_err(|e| {
            let path = e.path().to_string();
            let message = e.into_inner().to_string();
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
            let field = without_wrapper(field);
            let code = if message.starts_with("missing field") {
                "BlankValue"
            } else {
                "InvalidValue"
            };
            AppError::invalid(&field, code, format!("{field}: {message}"))
        })
        .map_err(ApiError)
}

/// The first segment is the resource wrapper (`ticket`, `user`): Zendesk names fields without it.
fn without_wrapper(field: String) -> String {
    match field.split_once('.') {
        Some((_, rest)) if !rest.is_empty() => rest.to_owned(),
        _ => field,
    }
}

/// Refuses a control character in any string of the body (keys too), naming the field it is in.
fn check_strings(value: &Value, path: &mut String) -> Result<(), ApiError> {
    let refuse = |path: &str, text: &str| {
        let field = without_wrapper(if path.is_empty() {
            ".".to_owned()
        } else {
            path.to_owned()
        });
        check_no_control_characters(&field, text).map_err(|e| ApiError(AppError::Invalid(e)))
    };
    match value {
        Value::String(text) => refuse(path, text),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                check_strings(item, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        Value::Object(map) => {
            for (key, item) in map {
                refuse(path, key)?;
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                check_strings(item, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// `Err` naming the parameter when a path segment or a query parameter of `uri`, once decoded, holds a control
/// character. Checked for every route before routing, since ids, tokens and filters reach the store from there.
pub fn check_url(uri: &axum::http::Uri) -> Result<(), partnerdesk_core::Invalid> {
    for segment in uri.path().split('/') {
        check_no_control_characters(
            "path",
            &percent_encoding::percent_decode_str(segment).decode_utf8_lossy(),
        )?;
    }
    for (name, value) in form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()) {
        check_no_control_characters(&name, &name)?;
        check_no_control_characters(&name, &value)?;
    }
    Ok(())
}

/// Query parameters read into `T`; a query that does not fit (a parameter given twice, a value of the wrong
/// type) is a 400 in Zendesk's JSON, like every other error of the API.
pub struct ZQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ZQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let raw = parts.uri.query().unwrap_or_default();
        serde_urlencoded::from_str(raw)
            .map(ZQuery)
            .map_err(|e| AppError::BadRequest(format!("The query string does not fit: {e}")).into())
    }
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

/// Two record ids from the path (`/ticket_fields/{id}/options/{option_id}`), the last with or without `.json`.
#[derive(Debug, Clone, Copy)]
pub struct TwoIds(pub i64, pub i64);

impl<S: Send + Sync> FromRequestParts<S> for TwoIds {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path((a, b)) = Path::<(String, String)>::from_request_parts(parts, state)
            .await
            .map_err(|_| AppError::NotFound)?;
        let id = |raw: &str| match raw.strip_suffix(".json").unwrap_or(raw).parse::<i64>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(ApiError::from(AppError::NotFound)),
        };
        Ok(TwoIds(id(&a)?, id(&b)?))
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

    #[test]
    fn trailing_garbage_is_refused() {
        assert!(matches!(
            parse_json::<Wrapper>(br#"{"ticket":{"subject":"x"}} GARBAGE"#),
            Err(ApiError(AppError::BadRequest(_)))
        ));
        assert!(parse_json::<Wrapper>(b"{\"ticket\":{\"subject\":\"x\"}}\n").is_ok());
    }

    #[test]
    fn control_characters_are_refused_by_field() {
        assert_eq!(
            parse_json::<Wrapper>(br#"{"ticket":{"subject":"a\u0000b"}}"#)
                .map_err(field_of)
                .err(),
            Some("subject".to_owned())
        );
        assert_eq!(
            parse_json::<Value>(br#"{"ticket":{"comment":{"body":"ok"},"tags":["x","\u001b"]}}"#)
                .map_err(field_of)
                .err(),
            Some("tags[1]".to_owned())
        );
        assert!(parse_json::<Wrapper>(br#"{"ticket":{"subject":"tab\tand\r\nlines"}}"#).is_ok());
    }
}
