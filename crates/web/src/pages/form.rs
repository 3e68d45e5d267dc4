//! The extractor for the pages' plain forms (`application/x-www-form-urlencoded`). Like axum's `Form`, with the
//! body limit of the pages router; and every value is refused with a control character in it (422 naming the
//! field), as the API refuses them in JSON.

use axum::extract::{FromRequest, RawForm, Request};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use partnerdesk_core::validation::check_no_control_characters;
use serde::de::DeserializeOwned;

use crate::pages::PageError;
use crate::state::AppState;

pub struct Form<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for Form<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, PageError> {
        let RawForm(bytes) = RawForm::from_request(req, state).await.map_err(|rejection| {
            let status = rejection.status();
            let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
                "The form is larger than this page accepts.".to_owned()
            } else {
                rejection.body_text()
            };
            drop(rejection.into_response());
            PageError::new(status, "Request refused", message)
        })?;
        for (name, value) in form_urlencoded::parse(&bytes) {
            check_no_control_characters(&name, &name)?;
            check_no_control_characters(&name, &value)?;
        }
        serde_urlencoded::from_bytes(&bytes).map(Form).map_err(|e| {
            PageError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Please check your input",
                format!("The form could not be read: {e}"),
            )
        })
    }
}
