//! Helpers for reading callers' input, shared by every interface.

/// Deserializes a field that may be absent (`None`), `null` (`Some(None)`) or a value (`Some(Some(v))`):
/// partial updates need to tell "leave as is" from "clear".
pub fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    serde::Deserialize::deserialize(d).map(Some)
}

/// The longest external id (Zendesk's `external_id`).
pub const MAX_EXTERNAL_ID: usize = 255;

/// An external id as given: trimmed, blank clears it (as `null` does); at most `MAX_EXTERNAL_ID` characters and no
/// control characters (it is a key other systems match on, and a part of URLs).
pub fn external_id(errors: &mut partnerdesk_core::Invalid, value: Option<&str>) -> Option<String> {
    let v = value?.trim();
    if v.is_empty() {
        return None;
    }
    if v.chars().count() > MAX_EXTERNAL_ID {
        errors.push(
            "external_id",
            "TooLong",
            format!("external_id is too long (maximum is {MAX_EXTERNAL_ID} characters)"),
        );
    } else if let Err(e) = partnerdesk_core::validation::check_no_control_characters("external_id", v) {
        errors.0.extend(e.0);
    }
    Some(v.to_owned())
}

/// OpenAPI schemas for input fields whose rules a derive cannot state: closed lists of values (built from the
/// domain's own lists, so the document cannot drift from what is accepted) and text that must not be blank.
pub mod schema {
    use partnerdesk_core::accounts::{Role, UserStatus};
    use partnerdesk_core::buckets::DownloadMode;
    use partnerdesk_core::escalations::EscalationStatus;
    use partnerdesk_core::tickets::{Audience, Priority, TicketStatus};
    use utoipa::openapi::schema::{Object, ObjectBuilder, SchemaType, Type};

    /// The characters refused in every text that comes in (see `partnerdesk_core::validation::control_character`),
    /// as the inside of a regular expression's character class: the C0 and C1 controls but tab, line feed and
    /// carriage return.
    pub const CONTROLS: &str = r"\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F";

    /// Text without control characters.
    pub fn plain_text_pattern() -> String {
        format!("^[^{CONTROLS}]*$")
    }

    /// A string from `values`; with `nullable`, `null` too (a partial update's "clear").
    pub fn one_of(values: impl IntoIterator<Item = &'static str>, nullable: bool) -> Object {
        let values: Vec<serde_json::Value> = values.into_iter().map(serde_json::Value::from).collect();
        let (schema_type, values) = if nullable {
            let mut v = values;
            v.push(serde_json::Value::Null);
            (SchemaType::from_iter([Type::String, Type::Null]), v)
        } else {
            (SchemaType::Type(Type::String), values)
        };
        ObjectBuilder::new()
            .schema_type(schema_type)
            .enum_values(Some(values))
            .build()
    }

    /// A string that holds something besides whitespace (the server trims text and refuses it blank), of at most
    /// `max` characters, without control characters.
    pub fn text(max: usize, nullable: bool) -> Object {
        let schema_type = if nullable {
            SchemaType::from_iter([Type::String, Type::Null])
        } else {
            SchemaType::Type(Type::String)
        };
        ObjectBuilder::new()
            .schema_type(schema_type)
            .pattern(Some(format!(r"^[^{CONTROLS}]*[^\s{CONTROLS}][^{CONTROLS}]*$")))
            .max_length(Some(max))
            .build()
    }

    /// Input fields (`null` leaves the value as it is, or clears it where it may be cleared).
    pub fn ticket_status() -> Object {
        one_of(TicketStatus::ALL.iter().map(|s| s.as_str()), true)
    }

    pub fn priority() -> Object {
        one_of(Priority::ALL.iter().map(|s| s.as_str()), true)
    }

    pub fn role() -> Object {
        one_of(Role::ALL.iter().map(|s| s.as_str()), true)
    }

    pub fn audience() -> Object {
        one_of(Audience::ALL.iter().map(|s| s.as_str()), true)
    }

    pub fn download_mode() -> Object {
        one_of(DownloadMode::ALL.iter().map(|s| s.as_str()), true)
    }

    /// Values as answered, and query filters.
    pub fn ticket_status_value() -> Object {
        one_of(TicketStatus::ALL.iter().map(|s| s.as_str()), false)
    }

    pub fn priority_value() -> Object {
        one_of(Priority::ALL.iter().map(|s| s.as_str()), true)
    }

    pub fn role_value() -> Object {
        one_of(Role::ALL.iter().map(|s| s.as_str()), false)
    }

    pub fn user_status_value() -> Object {
        one_of(UserStatus::ALL.iter().map(|s| s.as_str()), false)
    }

    pub fn audience_value() -> Object {
        one_of(Audience::ALL.iter().map(|s| s.as_str()), false)
    }

    pub fn download_mode_value() -> Object {
        one_of(DownloadMode::ALL.iter().map(|s| s.as_str()), false)
    }

    pub fn escalation_status_value() -> Object {
        one_of(EscalationStatus::ALL.iter().map(|s| s.as_str()), false)
    }

    /// An external id: up to 255 characters without control characters; `null` or blank clears it.
    pub fn external_id() -> Object {
        ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
            .pattern(Some(super::schema::plain_text_pattern()))
            .max_length(Some(super::MAX_EXTERNAL_ID))
            .build()
    }

    /// Names: up to 255 characters, not blank.
    pub fn name() -> Object {
        text(255, true)
    }
}
