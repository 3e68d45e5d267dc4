//! Custom field values on a create or update: each field checked to exist, to be on the ticket's form, to be one
//! the caller may set, and its value against its type; drop-down, multi-select and checkbox fields keep their
//! tags on the ticket; required fields are asked for where Zendesk asks (end-users when filing, staff when
//! solving).

use partnerdesk_core::custom_fields::{self, FieldType};
use partnerdesk_core::tickets::TicketStatus;
use partnerdesk_core::{Invalid, tags};
use partnerdesk_db::forms::{self, TicketForm};
use partnerdesk_db::ticket_fields::{self, FieldValue, TicketField};
use partnerdesk_db::tickets::{NewTicket, TicketFields};
use partnerdesk_db::{Conn, DbError};
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

/// The ticket's form, and the fields the ticket may hold: those its form lists, or every active field when its
/// form lists none.
async fn form_and_fields(
    conn: &mut Conn,
    f: &TicketFields,
    all: &[TicketField],
) -> Result<(Option<TicketForm>, Vec<i64>), AppError> {
    let form = match f.ticket_form_id {
        Some(id) => match forms::get(conn, id).await {
            Ok(form) => Some(form),
            Err(DbError::NotFound) => None,
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    let listed = form.as_ref().map(|fm| fm.ticket_field_ids.clone()).unwrap_or_default();
    let allowed = if listed.is_empty() {
        all.iter().filter(|x| x.active).map(|x| x.id).collect()
    } else {
        listed
    };
    Ok((form, allowed))
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
    let (form, allowed) = form_and_fields(conn, f, &all).await?;
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
    // Conditions: a child field is shown (and may be required) only while its parent has the condition's value.
    let conditions = match &form {
        Some(fm) if staff => fm.agent_conditions.clone(),
        Some(fm) => fm.end_user_conditions.clone(),
        None => Vec::new(),
    };
    let (hidden, required_by_condition) = custom_fields::conditions_apply(&conditions, |id| {
        match f.custom_fields.iter().find(|v| v.field_id == id) {
            Some(v) => v.shown(),
            None => all
                .iter()
                .find(|x| x.id == id)
                .map_or(serde_json::Value::Null, |x| custom_fields::shown(x.kind, &[])),
        }
    });
    // Required fields: an end-user filing fills those required in the portal, staff solving those required.
    let moment = if staff { solving } else { filing };
    for field in all
        .iter()
        .filter(|x| allowed.contains(&x.id) && x.active && !hidden.contains(&x.id))
    {
        let by_field = if staff {
            field.required
        } else {
            field.required_in_portal && field.visible_in_portal
        };
        let required = moment && (by_field || required_by_condition.contains(&field.id));
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

/// Routes a new ticket by its form's field routing, when the form has one and the ticket's value of the field
/// has a route: the group, and a sentence in the routing explanation agents see.
pub async fn route_by_field(conn: &mut Conn, new: &mut NewTicket) -> Result<(), AppError> {
    let Some(form_id) = new.fields.ticket_form_id else {
        return Ok(());
    };
    let form = forms::get(conn, form_id).await?;
    let Some(routing) = form.field_routing else {
        return Ok(());
    };
    let values = new
        .fields
        .custom_fields
        .iter()
        .find(|v| v.field_id == routing.field_id)
        .map(|v| v.values.clone())
        .unwrap_or_default();
    let Some(route) = routing.group_for(&values) else {
        return Ok(());
    };
    new.fields.group_id = Some(partnerdesk_core::GroupId(route.group_id));
    let field = ticket_fields::get(conn, routing.field_id).await?;
    let said = field
        .options
        .iter()
        .find(|o| o.value == route.value)
        .map_or(route.value.clone(), |o| o.name.clone());
    if let Some(obj) = new.routing.as_object_mut() {
        let rule = obj.get("rule").and_then(|r| r.as_str()).unwrap_or_default().to_owned();
        obj.insert("group_id".into(), route.group_id.into());
        obj.insert(
            "rule".into(),
            format!("{rule} {}: {said} routes it to group {}.", field.title, route.group_id)
                .trim()
                .to_owned()
                .into(),
        );
    }
    Ok(())
}
