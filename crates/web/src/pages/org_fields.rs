//! Organization and user field values on the pages: shown beside the organization notes (and the requester) on the
//! agent's ticket page, and edited with plain forms on the organization's admin page and a user's admin page, which
//! save through the organization and account services (the API's checks, audit and rights). The inputs are built and
//! read here for both kinds (`profile_field_inputs.html`).

use partnerdesk_app::profile_fields::{self, FieldValues};
use partnerdesk_core::custom_fields::FieldType;
use partnerdesk_core::policy::Actor;
use partnerdesk_db::profile_fields::{FieldKind, ProfileField};
use serde_json::Value;

use crate::pages::PageError;
use crate::state::AppState;

/// A value as a person reads it: an option's name, Yes/No, a list joined.
fn text_of(f: &ProfileField, v: &Value) -> String {
    let name = |s: &str| {
        f.options
            .iter()
            .find(|o| o.value == s)
            .map_or_else(|| s.to_owned(), |o| o.name.clone())
    };
    match v {
        Value::Bool(b) => if *b { "Yes" } else { "No" }.to_owned(),
        Value::String(s) => name(s),
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .map(name)
            .collect::<Vec<_>>()
            .join(", "),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The organization's fields that have a value, as (title, text), for staff.
pub(crate) async fn field_texts(state: &AppState, org: i64) -> Result<Vec<(String, String)>, PageError> {
    texts_of(state, FieldKind::Organization, org).await
}

/// A user's fields that have a value, as (title, text), for staff.
pub(crate) async fn user_field_texts(state: &AppState, user: i64) -> Result<Vec<(String, String)>, PageError> {
    texts_of(state, FieldKind::User, user).await
}

async fn texts_of(state: &AppState, kind: FieldKind, record: i64) -> Result<Vec<(String, String)>, PageError> {
    let values = profile_fields::page_values(&state.db, kind, record).await?;
    Ok(values
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(f, v)| (f.title.clone(), text_of(f, v)))
        .collect())
}

/// An option of a drop-down or multi-select, as the form shows it.
pub struct OptionRow {
    pub value: String,
    pub name: String,
    pub selected: bool,
}

/// A field as the admin page's form shows it.
pub struct FieldRow {
    pub key: String,
    pub title: String,
    /// `text`, `textarea`, `checkbox`, `date`, `select` or `multiselect`.
    pub input: &'static str,
    pub value: String,
    pub options: Vec<OptionRow>,
}

/// The active fields of `kind` with the record's values, as the form shows them.
pub(crate) async fn field_rows(state: &AppState, kind: FieldKind, record: i64) -> Result<Vec<FieldRow>, PageError> {
    let values = profile_fields::page_values(&state.db, kind, record).await?;
    Ok(values
        .into_iter()
        .map(|(f, v)| {
            let chosen: Vec<String> = match &v {
                Value::Array(items) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
                Value::String(s) => vec![s.clone()],
                _ => Vec::new(),
            };
            let input = match f.field_type {
                FieldType::Textarea => "textarea",
                FieldType::Checkbox => "checkbox",
                FieldType::Date => "date",
                FieldType::Tagger => "select",
                FieldType::Multiselect => "multiselect",
                _ => "text",
            };
            FieldRow {
                key: f.key.clone(),
                title: f.title.clone(),
                input,
                value: match &v {
                    Value::Bool(true) => "true".into(),
                    Value::String(s) => s.clone(),
                    _ => String::new(),
                },
                options: f
                    .options
                    .iter()
                    .map(|o| OptionRow {
                        value: o.value.clone(),
                        name: o.name.clone(),
                        selected: chosen.contains(&o.value),
                    })
                    .collect(),
            }
        })
        .collect())
}

/// The values of the inputs named `name`, as sent.
fn named<'a>(pairs: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    pairs
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// The values of `field.KEY` inputs as sent.
fn sent<'a>(pairs: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    named(pairs, &format!("field.{key}"))
}

/// Every active field of `kind` the form showed (named in `shown`), as it sent it (`field.KEY`; a blank one
/// cleared, an unticked box false), as the service takes values. A field the form did not show (defined, or
/// activated, after the page was opened) is left out, so a save does not clear what the API has written there.
pub(crate) async fn sent_values(
    state: &AppState,
    actor: &Actor,
    kind: FieldKind,
    pairs: &[(String, String)],
) -> Result<FieldValues, PageError> {
    let mut values = FieldValues::new();
    let shown = named(pairs, "shown");
    for f in profile_fields::list(&state.db, actor, kind).await? {
        if !f.active || !shown.contains(&f.key.as_str()) {
            continue;
        }
        let sent = sent(pairs, &f.key);
        let value = match f.field_type {
            FieldType::Checkbox => Value::Bool(!sent.is_empty()),
            FieldType::Multiselect => Value::Array(sent.iter().map(|v| Value::String((*v).to_owned())).collect()),
            _ => match sent.first().map(|v| v.replace("\r\n", "\n")) {
                Some(v) if !v.trim().is_empty() => Value::String(v),
                _ => Value::Null,
            },
        };
        values.insert(f.key.clone(), value);
    }
    Ok(values)
}

/// The rows showing what was sent instead of what is stored (a refused form shown again).
pub(crate) fn as_sent(rows: &mut [FieldRow], pairs: &[(String, String)]) {
    for row in rows {
        let sent = sent(pairs, &row.key);
        row.value = match row.input {
            "checkbox" if sent.is_empty() => String::new(),
            "checkbox" => "true".to_owned(),
            _ => sent.first().map(|v| (*v).to_owned()).unwrap_or_default(),
        };
        for o in &mut row.options {
            o.selected = sent.contains(&o.value.as_str());
        }
    }
}

/// The CSRF token a form of pairs sent.
pub(crate) fn csrf_of(pairs: &[(String, String)]) -> &str {
    pairs
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}
