//! Validation errors, collected per field so that the API can answer Zendesk's 422 `RecordInvalid` with
//! `details` for every field at once.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    /// Machine-readable code, e.g. `BlankValue`, `InvalidValue`, `DuplicateValue`.
    pub code: &'static str,
    pub message: String,
}

/// One or more invalid fields.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Invalid(pub Vec<FieldError>);

impl Invalid {
    pub fn field(field: &str, code: &'static str, message: impl Into<String>) -> Self {
        Invalid(vec![FieldError {
            field: field.to_owned(),
            code,
            message: message.into(),
        }])
    }

    pub fn push(&mut self, field: &str, code: &'static str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.to_owned(),
            code,
            message: message.into(),
        });
    }

    /// `Ok(())` when nothing was collected, so builders can end with `errors.into_result()?`.
    pub fn into_result(self) -> Result<(), Invalid> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect();
        f.write_str(&parts.join("; "))
    }
}

impl std::error::Error for Invalid {}

/// Trims a required text value; blank or too long values are errors on `field`.
pub fn required_text(errors: &mut Invalid, field: &str, value: &str, max: usize) -> String {
    let v = value.trim();
    if v.is_empty() {
        errors.push(field, "BlankValue", format!("{field} cannot be blank"));
    } else if v.chars().count() > max {
        errors.push(
            field,
            "TooLong",
            format!("{field} is too long (maximum is {max} characters)"),
        );
    }
    v.to_owned()
}
