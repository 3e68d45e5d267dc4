//! Page forms that carry files (`multipart/form-data`): text fields are collected, files are streamed into
//! storage under one upload token, which the ticket code then attaches to the comment. The CSRF token must come
//! before any file (it is the first field of every such form), so nothing is stored for a forged request.
//!
//! This is the body limit of the routes that take such forms (they switch axum's off): a text field is read
//! chunk by chunk and refused as soon as it passes `MAX_FIELD`, there are at most `MAX_FIELDS` fields and
//! `MAX_FILES` files, and each file is cut off at the attachment limit while it streams to storage. So a form
//! never holds more than `MAX_FIELDS * MAX_FIELD` bytes in memory, whatever its size.

use std::collections::HashMap;

use axum::extract::Multipart;
use axum::http::StatusCode;
use futures::TryStreamExt;

use crate::pages::PageError;
use crate::session::SignedIn;
use crate::state::AppState;
use partnerdesk_app::uploads::attachments::store_file;

/// Longer than any text a form takes (a comment is at most 64 KiB), so that the form's own check names the limit.
pub const MAX_FIELD: usize = 128 * 1024;
const MAX_FIELDS: usize = 64;
const MAX_FILES: usize = 20;

pub struct FilledForm {
    pub fields: HashMap<String, String>,
    /// The upload token of the files sent with the form, if any.
    pub upload_token: Option<String>,
}

impl FilledForm {
    pub fn get(&self, name: &str) -> &str {
        self.fields.get(name).map(String::as_str).unwrap_or("")
    }
}

fn bad(msg: impl Into<String>) -> PageError {
    PageError::new(StatusCode::BAD_REQUEST, "Request refused", msg)
}

fn too_large(msg: impl Into<String>) -> PageError {
    PageError::new(StatusCode::PAYLOAD_TOO_LARGE, "Request refused", msg)
}

/// A text field's value, read chunk by chunk and refused as soon as it is longer than `MAX_FIELD`.
async fn capped_text(field: &mut axum::extract::multipart::Field<'_>, name: &str) -> Result<String, PageError> {
    let mut value = Vec::new();
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|e| bad(format!("The form could not be read: {e}")))?
    {
        if value.len() + chunk.len() > MAX_FIELD {
            return Err(too_large(format!(
                "The field '{name}' is too long (the limit is {} KiB).",
                MAX_FIELD / 1024
            )));
        }
        value.extend_from_slice(&chunk);
    }
    let text = String::from_utf8(value).map_err(|_| bad(format!("The field '{name}' is not valid UTF-8 text.")))?;
    partnerdesk_core::validation::check_no_control_characters(name, &text)?;
    Ok(text)
}

pub async fn read(state: &AppState, signed: &SignedIn, mut form: Multipart) -> Result<FilledForm, PageError> {
    let mut fields = HashMap::new();
    let mut token: Option<String> = None;
    let mut csrf_ok = false;
    let (mut texts, mut files) = (0, 0);
    while let Some(mut field) = form
        .next_field()
        .await
        .map_err(|e| bad(format!("The form could not be read: {e}")))?
    {
        let name = field.name().unwrap_or("").to_owned();
        match field.file_name().map(str::to_owned) {
            Some(file_name) => {
                if !csrf_ok {
                    return Err(PageError::csrf());
                }
                if file_name.is_empty() {
                    continue; // an empty file input
                }
                files += 1;
                if files > MAX_FILES {
                    return Err(too_large(format!("A form may carry at most {MAX_FILES} files.")));
                }
                let ct = field.content_type().map(str::to_owned);
                let stream = field.map_err(|e| e.to_string());
                let (upload, _) =
                    store_file(state, &signed.user, token.as_deref(), &file_name, ct.as_deref(), stream).await?;
                token = Some(upload.token);
            }
            None => {
                texts += 1;
                if texts > MAX_FIELDS {
                    return Err(too_large(format!("A form may carry at most {MAX_FIELDS} fields.")));
                }
                let value = capped_text(&mut field, &name).await?;
                if name == "csrf" {
                    signed.check_csrf(&value)?;
                    csrf_ok = true;
                }
                fields.insert(name, value);
            }
        }
    }
    if !csrf_ok {
        return Err(PageError::csrf());
    }
    Ok(FilledForm {
        fields,
        upload_token: token,
    })
}
