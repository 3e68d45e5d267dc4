//! Custom field values on a create or update: each field checked to exist, to be on the ticket's form, to be one
//! the caller may set, and its value against its type; drop-down, multi-select and checkbox fields keep their
//! tags on the ticket; required fields are asked for where Zendesk asks (end-users when filing, staff when
//! solving).

use partnerdesk_core::custom_fields::{self, FieldType};
use partnerdesk_core::tickets::TicketStatus;
use partnerdesk_core::{Invalid, tags};
use partnerdesk_db::Conn;
use partnerdesk_db::ticket_fields::{self, FieldValue, TicketField};
use partnerdesk_db::tickets::TicketFields;
use serde::Deserialize;

use crate::error::AppError;

/// A value as Zendesk clients send it: `{"id": 7, "value": "acme_connector"}`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct CustomFieldInput {
    pub id: i64,
    /// Text, a number, a boolean (checkbox), an option's value (drop-down), a list of them (multi-select), or
    /// null to clear.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub value: serde_json::Value,
}

/// At most this many values in one request.
pub const MAX_VALUES: usize = 100;

/// The fields the ticket may hold: those its form lists, or every active field when its form lists none.
async fn allowed(conn: &mut Conn, f: &TicketFields, all: &[TicketField]) -> Result<Vec<i64>, AppError> {
    let listed = match f.ticket_form_id {
        Some(form) => ticket_fields::form_field_ids(conn, form).await?,
        None => Vec::new(),
    };
    Ok(if listed.is_empty() {
        all.iter().filter(|x| x.active).map(|x| x.id).collect()
    } else {
        listed
    })
}

fn set_value(f: &mut TicketFields, field: &TicketField, values: Vec<String>) {
    let rule = field.rule();
    let old = custom_fields::all_tags(&rule);
    f.tags.retain(|t| !old.contains(t));
    f.tags = tags::union(&f.tags, &custom_fields::tags_of(&rule, &values));
    f.custom_fields.retain(|v| v.field_id != field.id);
    if !values.is_empty() {
        f.custom_fields.push(FieldValue {
            field_id: field.id,
            kind: field.kind,
            portal: field.visible_in_portal,
            values,
        });
        f.custom_fields.sort_by_key(|v| v.field_id);
    }
}

/// Applies `given` to `f`, the ticket as it is to be written. `staff`: the caller works tickets; `filing`: a
/// create; `was`: the status before (to know when a ticket is being solved).
pub async fn apply(
    conn: &mut Conn,
    staff: bool,
    f: &mut TicketFields,
    given: &[CustomFieldInput],
    filing: bool,
    was: Option<TicketStatus>,
) -> Result<(), AppError> {
    if given.len() > MAX_VALUES {
        return Err(AppError::invalid(
            "custom_fields",
            "InvalidValue",
            format!("at most {MAX_VALUES} custom field values at once"),
        ));
    }
    let solving = f.status.is_solved() && !was.is_some_and(TicketStatus::is_solved);
    if given.is_empty() && !filing && !solving {
        return Ok(());
    }
    let all = ticket_fields::list(conn).await?;
    let allowed = allowed(conn, f, &all).await?;
    let mut errors = Invalid::default();
    for (i, v) in given.iter().enumerate() {
        let name = format!("custom_fields[{i}]");
        let Some(field) = all.iter().find(|x| x.id == v.id) else {
            errors.push(&name, "InvalidValue", format!("there is no ticket field {}", v.id));
            continue;
        };
        if !allowed.contains(&field.id) || !field.active {
            errors.push(
                &name,
                "InvalidValue",
                format!("field {} ('{}') is not on this ticket's form", field.id, field.title),
            );
            continue;
        }
        let settable_in_portal = field.visible_in_portal && field.editable_in_portal;
        if !staff && !settable_in_portal {
            errors.push(
                &name,
                "InvalidValue",
                format!("field {} ('{}') cannot be set by end-users", field.id, field.title),
            );
            continue;
        }
        match custom_fields::check(&field.rule(), &v.value) {
            Ok(values) => set_value(f, field, values),
            Err(why) => errors.push(&name, "InvalidValue", format!("'{}' {why}", field.title)),
        }
    }
    // Required fields: an end-user filing fills those required in the portal, staff solving those required.
    for field in all.iter().filter(|x| allowed.contains(&x.id) && x.active) {
        let required = if staff {
            solving && field.required
        } else {
            filing && field.required_in_portal && field.visible_in_portal
        };
        // An unchecked box is a value (false): a required checkbox asks for a decision, not for a tick.
        let empty = !f.custom_fields.iter().any(|v| v.field_id == field.id) && field.kind != FieldType::Checkbox;
        if required && empty {
            let when = if staff { "to solve the ticket" } else { "" };
            errors.push(
                "custom_fields",
                "BlankValue",
                format!("'{}' (field {}) is required {when}", field.title, field.id)
                    .trim_end()
                    .to_owned(),
            );
        }
    }
    errors.into_result()?;
    Ok(())
}
