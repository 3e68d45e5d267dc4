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

/// Control characters are refused in every text that comes in (PostgreSQL cannot store NUL at all, and the others
/// only hide text from people). Tab, line feed and carriage return are text: browsers send CRLF line ends.
pub fn control_character(value: &str) -> Option<char> {
    value
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

/// `Err` naming `field` when `value` holds a control character (see `control_character`).
pub fn check_no_control_characters(field: &str, value: &str) -> Result<(), Invalid> {
    match control_character(value) {
        None => Ok(()),
        Some(c) => Err(Invalid::field(
            field,
            "InvalidValue",
            format!(
                "{field} contains a control character (U+{:04X}); only text, tabs and line breaks are accepted",
                c as u32
            ),
        )),
    }
}

#[cfg(test)]
mod control_character_tests {
    use super::*;

    #[test]
    fn only_tabs_and_line_breaks_pass() {
        assert_eq!(control_character("line one\r\nline\ttwo é 漢"), None);
        assert_eq!(control_character("nul\0"), Some('\0'));
        assert_eq!(control_character("esc\u{1b}[31m"), Some('\u{1b}'));
        assert_eq!(control_character("del\u{7f}"), Some('\u{7f}'));
        assert_eq!(control_character("c1\u{85}"), Some('\u{85}'));
        let err = check_no_control_characters("subject", "a\0b")
            .err()
            .map(|e| e.0[0].message.clone());
        assert_eq!(
            err.as_deref(),
            Some("subject contains a control character (U+0000); only text, tabs and line breaks are accepted")
        );
    }
}
