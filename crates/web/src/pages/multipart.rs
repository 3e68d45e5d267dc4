//! Page forms that carry files (`multipart/form-data`): text fields are collected, files are streamed into
//! storage under one upload token, which the ticket code then attaches to the comment. The CSRF token must come
//! before any file (it is the first field of every such form), so nothing is stored for a forged request.

use std::collections::HashMap;

use axum::extract::Multipart;
use axum::http::StatusCode;
use futures::TryStreamExt;

use crate::pages::PageError;
use crate::session::SignedIn;
use crate::state::AppState;
use partnerdesk_app::uploads::attachments::store_file;

const MAX_FIELD: usize = 128 * 1024;

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

pub async fn read(state: &AppState, signed: &SignedIn, mut form: Multipart) -> Result<FilledForm, PageError> {
    let mut fields = HashMap::new();
    let mut token: Option<String> = None;
    let mut csrf_ok = false;
    while let Some(field) = form
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
                let ct = field.content_type().map(str::to_owned);
                let stream = field.map_err(|e| e.to_string());
                let (upload, _) =
                    store_file(state, &signed.user, token.as_deref(), &file_name, ct.as_deref(), stream).await?;
                token = Some(upload.token);
            }
            None => {
                let value = field
                    .text()
                    .await
                    .map_err(|e| bad(format!("The form could not be read: {e}")))?;
                if value.len() > MAX_FIELD {
                    return Err(bad(format!("The field '{name}' is too long.")));
                }
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
