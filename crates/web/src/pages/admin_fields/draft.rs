//! The field form of the admin field pages, as sent and as shown again: one draft for ticket, organization and user
//! fields (the inputs only one kind has are left out of the other's page and ignored when sent), turned into the
//! service input of the field's kind.

use partnerdesk_app::AppError;
use partnerdesk_app::profile_fields::ProfileFieldInput;
use partnerdesk_app::ticket_fields::{FieldInput, OptionInput};
use partnerdesk_core::custom_fields::FieldType;
use partnerdesk_core::validation::FieldError;
use partnerdesk_db::profile_fields::ProfileField;
use partnerdesk_db::ticket_fields::{OptionRow, TicketField};
use serde::Deserialize;

/// The field form as sent: every value as the admin typed it. Unticked boxes are not sent.
#[derive(Debug, Default, Deserialize)]
pub struct FieldForm {
    #[serde(default)]
    pub(super) csrf: String,
    #[serde(default, rename = "type")]
    kind: String,
    /// Organization and user fields: the key values are set by (a new field only).
    #[serde(default)]
    key: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    title_in_portal: String,
    #[serde(default)]
    description: String,
    required: Option<String>,
    required_in_portal: Option<String>,
    visible_in_portal: Option<String>,
    editable_in_portal: Option<String>,
    /// Organization and user fields: end-users see the value.
    visible_to_end_users: Option<String>,
    active: Option<String>,
    #[serde(default)]
    position: String,
    #[serde(default)]
    regexp_for_validation: String,
    #[serde(default)]
    tag: String,
    /// Drop-down and multi-select options, one a line: `Name=value_tag` (a line without `=` is its own tag).
    #[serde(default)]
    options: String,
}

/// What the field form shows.
pub struct FieldDraft {
    pub kind: String,
    pub key: String,
    pub title: String,
    pub title_in_portal: String,
    pub description: String,
    pub required: bool,
    pub required_in_portal: bool,
    pub visible_in_portal: bool,
    pub editable_in_portal: bool,
    pub visible_to_end_users: bool,
    pub active: bool,
    pub position: String,
    pub regexp_for_validation: String,
    pub tag: String,
    pub options: String,
}

/// Options as the options box holds them: `Name=value`, one a line.
fn option_text(options: &[OptionRow]) -> String {
    options
        .iter()
        .map(|o| format!("{}={}", o.name, o.value))
        .collect::<Vec<_>>()
        .join("\n")
}

impl FieldDraft {
    pub(super) fn blank() -> FieldDraft {
        FieldDraft {
            kind: FieldType::Text.as_str().into(),
            key: String::new(),
            title: String::new(),
            title_in_portal: String::new(),
            description: String::new(),
            required: false,
            required_in_portal: false,
            visible_in_portal: true,
            editable_in_portal: true,
            // As the API: an organization or user field is for staff unless marked otherwise.
            visible_to_end_users: false,
            active: true,
            position: "0".into(),
            regexp_for_validation: String::new(),
            tag: String::new(),
            options: String::new(),
        }
    }

    pub(super) fn of(f: &TicketField) -> FieldDraft {
        FieldDraft {
            kind: f.kind.as_str().into(),
            title: f.title.clone(),
            title_in_portal: f.title_in_portal.clone(),
            description: f.description.clone(),
            required: f.required,
            required_in_portal: f.required_in_portal,
            visible_in_portal: f.visible_in_portal,
            editable_in_portal: f.editable_in_portal,
            active: f.active,
            position: f.position.to_string(),
            regexp_for_validation: f.regexp_for_validation.clone().unwrap_or_default(),
            tag: f.tag.clone().unwrap_or_default(),
            options: option_text(&f.options),
            ..FieldDraft::blank()
        }
    }

    pub(super) fn of_profile(f: &ProfileField) -> FieldDraft {
        FieldDraft {
            kind: f.field_type.as_str().into(),
            key: f.key.clone(),
            title: f.title.clone(),
            description: f.description.clone(),
            visible_to_end_users: f.visible_to_end_users,
            active: f.active,
            position: f.position.to_string(),
            regexp_for_validation: f.regexp_for_validation.clone().unwrap_or_default(),
            tag: f.tag.clone().unwrap_or_default(),
            options: option_text(&f.options),
            ..FieldDraft::blank()
        }
    }

    pub(super) fn from_form(f: FieldForm) -> FieldDraft {
        FieldDraft {
            kind: f.kind,
            key: f.key,
            title: f.title,
            title_in_portal: f.title_in_portal,
            description: f.description,
            required: f.required.is_some(),
            required_in_portal: f.required_in_portal.is_some(),
            visible_in_portal: f.visible_in_portal.is_some(),
            editable_in_portal: f.editable_in_portal.is_some(),
            visible_to_end_users: f.visible_to_end_users.is_some(),
            active: f.active.is_some(),
            position: f.position,
            regexp_for_validation: f.regexp_for_validation,
            tag: f.tag,
            options: f.options.replace("\r\n", "\n"),
        }
    }

    /// The option lines that hold something, with their line numbers (for messages).
    fn option_lines(&self) -> Vec<(usize, OptionInput)> {
        self.options
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(n, l)| {
                let (name, value) = l.rsplit_once('=').unwrap_or((l, l));
                let input = OptionInput {
                    id: None,
                    name: name.trim().to_owned(),
                    value: value.trim().to_owned(),
                };
                (n + 1, input)
            })
            .collect()
    }

    fn position(&self) -> Result<Option<i64>, AppError> {
        match self.position.trim() {
            "" => Ok(None),
            p => p.parse::<i64>().map(Some).map_err(|_| {
                AppError::invalid(
                    "position",
                    "InvalidValue",
                    format!("position must be a whole number, not '{p}'"),
                )
            }),
        }
    }

    /// The ticket field service's input: everything the page holds (a new field also names its type).
    pub(super) fn input(&self, new: bool) -> Result<FieldInput, AppError> {
        Ok(FieldInput {
            kind: new.then(|| self.kind.clone()),
            title: Some(self.title.clone()),
            title_in_portal: Some(self.title_in_portal.clone()),
            description: Some(self.description.replace("\r\n", "\n")),
            required: Some(self.required),
            required_in_portal: Some(self.required_in_portal),
            visible_in_portal: Some(self.visible_in_portal),
            editable_in_portal: Some(self.editable_in_portal),
            active: Some(self.active),
            position: self.position()?,
            regexp_for_validation: Some(self.regexp_for_validation.clone()),
            tag: Some(self.tag.clone()),
            custom_field_options: Some(self.option_lines().into_iter().map(|(_, o)| o).collect()),
        })
    }

    /// The organization or user field service's input: the same, with the key and type for a new field only (both
    /// are fixed once a field exists).
    pub(super) fn profile_input(&self, new: bool) -> Result<ProfileFieldInput, AppError> {
        Ok(ProfileFieldInput {
            key: new.then(|| self.key.trim().to_owned()),
            kind: new.then(|| self.kind.clone()),
            title: Some(self.title.clone()),
            description: Some(self.description.replace("\r\n", "\n")),
            position: self.position()?,
            active: Some(self.active),
            visible_to_end_users: Some(self.visible_to_end_users),
            regexp_for_validation: Some(self.regexp_for_validation.clone()),
            tag: Some(self.tag.clone()),
            custom_field_options: Some(self.option_lines().into_iter().map(|(_, o)| o).collect()),
        })
    }

    /// The service's messages, an option's naming the line of the options box it came from.
    pub(super) fn messages(&self, errors: &[FieldError]) -> Vec<String> {
        let lines = self.option_lines();
        errors
            .iter()
            .map(|e| {
                let index = e
                    .field
                    .strip_prefix("custom_field_options[")
                    .and_then(|rest| rest.split(']').next())
                    .and_then(|i| i.parse::<usize>().ok());
                match index.and_then(|i| lines.get(i)) {
                    Some((line, _)) => format!("Options, line {line}: {}", e.message),
                    None => e.message.clone(),
                }
            })
            .collect()
    }
}
