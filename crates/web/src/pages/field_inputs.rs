//! Custom fields on the ticket pages: what the new-ticket page and the agent's ticket page show for each field of
//! the form (with the value there is, and a hint for a field a condition shows), and the values a submitted page
//! form holds. Conditional fields work without JavaScript (shown, with the hint); `/static/fields.js` shows and
//! hides them as the parent's value changes.

use partnerdesk_app::tickets::CustomFieldInput;
use partnerdesk_core::custom_fields::{self, FieldCondition, FieldType};
use partnerdesk_db::forms::TicketForm;
use partnerdesk_db::ticket_fields::{FieldValue, TicketField};
use serde_json::Value;

use crate::pages::multipart::FilledForm;

pub struct OptionChoice {
    pub value: String,
    pub name: String,
    pub selected: bool,
}

/// One field as a page shows it.
pub struct FieldInputView {
    pub id: i64,
    /// The form control's name: `field_ID` (a multi-select's boxes: `field_ID:VALUE`).
    pub name: String,
    pub label: String,
    pub description: String,
    /// `text`, `textarea`, `checkbox`, `date`, `number`, `select` or `multiselect`.
    pub control: &'static str,
    pub value: String,
    pub checked: bool,
    pub required: bool,
    pub options: Vec<OptionChoice>,
    /// A condition shows it: the parent field and the value that shows it, and a sentence saying so.
    pub parent: Option<(i64, String)>,
    pub hint: String,
    /// The value as the page showed it (JSON), sent back so that only the fields the editor changed are written
    /// and a colleague's change to another field is not undone.
    pub was: String,
}

fn control(kind: FieldType) -> &'static str {
    match kind {
        FieldType::Text | FieldType::Regexp => "text",
        FieldType::Textarea => "textarea",
        FieldType::Checkbox => "checkbox",
        FieldType::Date => "date",
        FieldType::Integer | FieldType::Decimal => "number",
        FieldType::Tagger => "select",
        FieldType::Multiselect => "multiselect",
    }
}

fn condition_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The fields of `form` a page shows (`portal`: an end-user's page, only the fields they may set), with `values`.
pub fn for_form(
    all: &[TicketField],
    form: Option<&TicketForm>,
    values: &[FieldValue],
    portal: bool,
) -> Vec<FieldInputView> {
    let listed: Vec<i64> = form.map(|f| f.ticket_field_ids.clone()).unwrap_or_default();
    let conditions: &[FieldCondition] = match form {
        Some(f) if portal => &f.end_user_conditions,
        Some(f) => &f.agent_conditions,
        None => &[],
    };
    let mut fields: Vec<&TicketField> = if listed.is_empty() {
        all.iter().filter(|f| f.active).collect()
    } else {
        listed
            .iter()
            .filter_map(|id| all.iter().find(|f| f.id == *id && f.active))
            .collect()
    };
    if portal {
        fields.retain(|f| f.visible_in_portal && f.editable_in_portal);
    }
    fields
        .into_iter()
        .map(|f| {
            let stored: Vec<String> = values
                .iter()
                .find(|v| v.field_id == f.id)
                .map(|v| v.values.clone())
                .unwrap_or_default();
            let label = if portal && !f.title_in_portal.is_empty() {
                &f.title_in_portal
            } else {
                &f.title
            };
            let condition = conditions
                .iter()
                .find_map(|c| c.child_fields.iter().find(|ch| ch.id == f.id).map(|ch| (c, ch)));
            let (parent, hint) = match condition {
                Some((c, child)) => {
                    let parent_name = all
                        .iter()
                        .find(|p| p.id == c.parent_field_id)
                        .map(|p| p.title.clone())
                        .unwrap_or_default();
                    let value = condition_value(&c.value);
                    let shown = all
                        .iter()
                        .find(|p| p.id == c.parent_field_id)
                        .and_then(|p| p.options.iter().find(|o| o.value == value).map(|o| o.name.clone()))
                        .unwrap_or_else(|| value.clone());
                    let need = if child.is_required { "Required" } else { "Only needed" };
                    (
                        Some((c.parent_field_id, value)),
                        format!("{need} when {parent_name} is {shown}."),
                    )
                }
                None => (None, String::new()),
            };
            FieldInputView {
                id: f.id,
                name: format!("field_{}", f.id),
                label: label.clone(),
                description: f.description.clone(),
                control: control(f.kind),
                value: stored.first().cloned().unwrap_or_default(),
                checked: !stored.is_empty(),
                // Conditional fields are never `required` in HTML: hidden, they must not block the form.
                required: parent.is_none() && portal && f.required_in_portal,
                options: f
                    .options
                    .iter()
                    .map(|o| OptionChoice {
                        value: o.value.clone(),
                        name: o.name.clone(),
                        selected: stored.contains(&o.value),
                    })
                    .collect(),
                parent,
                hint,
                was: custom_fields::shown(f.kind, &stored).to_string(),
            }
        })
        .collect()
}

/// The values a submitted page form holds for the fields it showed (`shown`): each field's control, blank ones
/// clearing the field.
pub fn submitted(form: &FilledForm, shown: &[FieldInputView]) -> Vec<CustomFieldInput> {
    shown
        .iter()
        .filter_map(|f| {
            let value = match f.control {
                "checkbox" => Value::Bool(form.get(&f.name) == "true"),
                "multiselect" => Value::Array(
                    f.options
                        .iter()
                        .filter(|o| form.get(&format!("{}:{}", f.name, o.value)) == "true")
                        .map(|o| Value::String(o.value.clone()))
                        .collect(),
                ),
                _ => match form.get(&f.name).trim() {
                    "" => Value::Null,
                    text => Value::String(text.to_owned()),
                },
            };
            let was = form.fields.get(&format!("{}__was", f.name));
            let unchanged = was.and_then(|w| serde_json::from_str::<Value>(w).ok()).as_ref() == Some(&value);
            (!unchanged).then_some(CustomFieldInput { id: f.id, value })
        })
        .collect()
}

/// Submitted values as a page shows them again (after a refusal), as far as they are values at all.
pub fn as_values(inputs: &[CustomFieldInput], all: &[TicketField]) -> Vec<FieldValue> {
    inputs
        .iter()
        .filter_map(|i| {
            let f = all.iter().find(|f| f.id == i.id)?;
            let values: Vec<String> = match &i.value {
                Value::String(s) => vec![s.clone()],
                Value::Bool(true) => vec!["true".into()],
                Value::Array(items) => items.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
                _ => Vec::new(),
            };
            Some(FieldValue {
                field_id: f.id,
                kind: f.kind,
                portal: f.visible_in_portal,
                values,
            })
        })
        .collect()
}
