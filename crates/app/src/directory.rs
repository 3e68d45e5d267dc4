//! Groups and ticket forms, created the same way from the API, the admin pages and the CLI: one validation, one
//! set of messages (an unknown priority is refused everywhere, not dropped by one caller).

use partnerdesk_core::custom_fields::{FieldCondition, FieldRouting};
use partnerdesk_core::policy::Actor;
use partnerdesk_core::tickets::{Audience, Priority};
use partnerdesk_core::validation::required_text;
use partnerdesk_core::{FormId, GroupId, Invalid, tags};
use partnerdesk_db::forms::{self, FormFields, TicketForm};
use partnerdesk_db::groups::{self, Group};
use partnerdesk_db::{AuditActor, Conn, Db, DbError, ticket_fields};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::AppError;

/// A new group, Zendesk's names.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct GroupInput {
    #[schema(schema_with = crate::input::schema::name)]
    pub name: Option<String>,
    pub description: Option<String>,
}

/// Creates a group (admins).
pub async fn create_group(db: &Db, actor: &Actor, audit: &AuditActor, input: GroupInput) -> Result<Group, AppError> {
    actor.may_administer()?;
    let mut errors = Invalid::default();
    let name = required_text(&mut errors, "name", input.name.as_deref().unwrap_or_default(), 255);
    errors.into_result()?;
    let description = input.description.as_deref().unwrap_or_default().trim();
    let mut tx = db.begin().await?;
    let g = groups::create(&mut tx, &name, description, audit)
        .await
        .map_err(AppError::unique_name("group", &name))?;
    tx.commit().await?;
    Ok(g)
}

/// A ticket form, Zendesk's names plus `audience`, `group_id`, `priority` and `tags` (its routing). On update,
/// what is left out stays as it was.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct FormInput {
    #[schema(schema_with = crate::input::schema::name)]
    pub name: Option<String>,
    #[schema(schema_with = crate::input::schema::name)]
    pub display_name: Option<String>,
    pub position: Option<i64>,
    pub active: Option<bool>,
    pub default: Option<bool>,
    pub end_user_visible: Option<bool>,
    /// `everyone`, `partners` (the alliance partner form) or `staff`.
    #[schema(schema_with = crate::input::schema::audience)]
    pub audience: Option<String>,
    /// The group its tickets go to; `null` clears it (absent leaves it as it was).
    #[serde(default, deserialize_with = "crate::input::nullable")]
    #[schema(value_type = Option<i64>)]
    pub group_id: Option<Option<i64>>,
    /// The priority its tickets get; `null` clears it (absent leaves it as it was).
    #[serde(default, deserialize_with = "crate::input::nullable")]
    #[schema(schema_with = crate::input::schema::priority)]
    pub priority: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
    /// The custom ticket fields the form shows, in this order.
    pub ticket_field_ids: Option<Vec<i64>>,
    /// `[{"parent_field_id", "value", "child_fields": [{"id", "is_required"}]}]`: fields shown to end-users only
    /// when another has a value, required only while shown.
    #[schema(value_type = Option<Vec<Object>>)]
    pub end_user_conditions: Option<Vec<FieldCondition>>,
    /// The same for agents.
    #[schema(value_type = Option<Vec<Object>>)]
    pub agent_conditions: Option<Vec<FieldCondition>>,
    /// Routing by a field of the form: `{"field_id", "routes": [{"value", "group_id"}]}` (a ticket whose field
    /// holds a route's value goes to its group); null removes it.
    #[serde(default, deserialize_with = "crate::input::nullable")]
    #[schema(value_type = Option<Object>)]
    pub field_routing: Option<Option<FieldRouting>>,
}

/// The most fields a form shows.
pub const MAX_FORM_FIELDS: usize = 200;

/// Checks a form's input over `before` (an update) or the defaults (a create).
fn check_form(i: FormInput, before: Option<&TicketForm>) -> Result<FormFields, AppError> {
    let base = before.map(TicketForm::fields);
    let mut errors = Invalid::default();
    let name = match (&i.name, &base) {
        (None, Some(b)) => b.name.clone(),
        (given, _) => required_text(&mut errors, "name", given.as_deref().unwrap_or_default(), 255),
    };
    let display_name = match (&i.display_name, &base) {
        (Some(d), _) => required_text(&mut errors, "display_name", d, 255),
        (None, Some(b)) if i.name.is_none() => b.display_name.clone(),
        (None, _) => name.clone(),
    };
    let audience = match (i.audience.as_deref(), i.end_user_visible, &base) {
        (Some(a), _, _) => Audience::parse_field(&mut errors, "audience", a).unwrap_or(Audience::Everyone),
        (None, Some(false), _) => Audience::Staff,
        (None, Some(true), Some(b)) if b.audience == Audience::Staff => Audience::Everyone,
        (None, _, Some(b)) => b.audience,
        (None, _, None) => Audience::Everyone,
    };
    let priority = match &i.priority {
        Some(Some(p)) => Priority::parse_field(&mut errors, "priority", p),
        Some(None) => None,
        None => base.as_ref().and_then(|b| b.priority),
    };
    let ticket_field_ids = i
        .ticket_field_ids
        .clone()
        .or_else(|| base.as_ref().map(|b| b.ticket_field_ids.clone()))
        .unwrap_or_default();
    if ticket_field_ids.len() > MAX_FORM_FIELDS {
        errors.push(
            "ticket_field_ids",
            "TooLong",
            format!("a form shows at most {MAX_FORM_FIELDS} fields"),
        );
    }
    let mut seen = Vec::new();
    for id in &ticket_field_ids {
        if seen.contains(id) {
            errors.push(
                "ticket_field_ids",
                "DuplicateValue",
                format!("field {id} is listed twice"),
            );
        }
        seen.push(*id);
    }
    let end_user_conditions = i
        .end_user_conditions
        .or_else(|| base.as_ref().map(|b| b.end_user_conditions.clone()))
        .unwrap_or_default();
    let agent_conditions = i
        .agent_conditions
        .or_else(|| base.as_ref().map(|b| b.agent_conditions.clone()))
        .unwrap_or_default();
    for (name, list) in [
        ("end_user_conditions", &end_user_conditions),
        ("agent_conditions", &agent_conditions),
    ] {
        for (n, c) in list.iter().enumerate() {
            let field = format!("{name}[{n}]");
            if !ticket_field_ids.contains(&c.parent_field_id) {
                errors.push(
                    &field,
                    "InvalidValue",
                    format!("field {} is not on the form", c.parent_field_id),
                );
            }
            for child in &c.child_fields {
                if child.id == c.parent_field_id || !ticket_field_ids.contains(&child.id) {
                    errors.push(
                        &field,
                        "InvalidValue",
                        format!("child field {} must be another field of the form", child.id),
                    );
                }
            }
        }
    }
    let field_routing = match i.field_routing {
        Some(r) => r,
        None => base.as_ref().and_then(|b| b.field_routing.clone()),
    };
    if let Some(r) = &field_routing
        && !ticket_field_ids.contains(&r.field_id)
    {
        errors.push(
            "field_routing",
            "InvalidValue",
            format!("field {} is not on the form", r.field_id),
        );
    }
    errors.into_result()?;
    Ok(FormFields {
        name,
        display_name,
        position: i.position.or(base.as_ref().map(|b| b.position)).unwrap_or(0),
        active: i.active.or(base.as_ref().map(|b| b.active)).unwrap_or(true),
        is_default: i.default.or(base.as_ref().map(|b| b.is_default)).unwrap_or(false),
        audience,
        group_id: match i.group_id {
            Some(g) => g.map(GroupId),
            None => base.as_ref().and_then(|b| b.group_id),
        },
        priority,
        tags: match i.tags {
            Some(t) => tags::normalize(t),
            None => base.map(|b| b.tags).unwrap_or_default(),
        },
        ticket_field_ids,
        end_user_conditions,
        agent_conditions,
        field_routing,
    })
}

/// What a form names must exist: its group and its fields.
async fn check_references(tx: &mut Conn, fields: &FormFields) -> Result<(), AppError> {
    if let Some(g) = fields.group_id {
        match groups::get(tx, g).await {
            Ok(_) => {}
            Err(DbError::NotFound) => {
                return Err(AppError::invalid(
                    "group_id",
                    "InvalidValue",
                    format!("group {g} does not exist"),
                ));
            }
            Err(e) => return Err(e.into()),
        }
    }
    let known = ticket_fields::by_ids(tx, &fields.ticket_field_ids).await?;
    if let Some(missing) = fields
        .ticket_field_ids
        .iter()
        .find(|id| !known.iter().any(|f| f.id == **id))
    {
        return Err(AppError::invalid(
            "ticket_field_ids",
            "InvalidValue",
            format!("there is no ticket field {missing}"),
        ));
    }
    if let Some(r) = &fields.field_routing {
        let field = known.iter().find(|f| f.id == r.field_id);
        let mut errors = Invalid::default();
        for route in &r.routes {
            let is_value = match field {
                Some(f) if f.kind == partnerdesk_core::custom_fields::FieldType::Checkbox => route.value == "true",
                Some(f) => f.options.iter().any(|o| o.value == route.value),
                None => false,
            };
            if !is_value {
                errors.push(
                    "field_routing",
                    "InvalidValue",
                    format!("'{}' is not a value of field {}", route.value, r.field_id),
                );
            }
            if let Err(DbError::NotFound) = groups::get(tx, GroupId(route.group_id)).await {
                errors.push(
                    "field_routing",
                    "InvalidValue",
                    format!("group {} does not exist", route.group_id),
                );
            }
        }
        errors.into_result()?;
    }
    Ok(())
}

/// Creates a ticket form (admins).
pub async fn create_form(db: &Db, actor: &Actor, audit: &AuditActor, input: FormInput) -> Result<TicketForm, AppError> {
    actor.may_administer()?;
    let fields = check_form(input, None)?;
    let mut tx = db.begin().await?;
    check_references(&mut tx, &fields).await?;
    let form = forms::create(&mut tx, &fields, audit)
        .await
        .map_err(AppError::unique_name("ticket form", &fields.name))?;
    tx.commit().await?;
    Ok(form)
}

/// Changes a ticket form (admins): its routing, fields, conditions, order, or whether it is active.
pub async fn update_form(
    db: &Db,
    actor: &Actor,
    audit: &AuditActor,
    id: FormId,
    input: FormInput,
) -> Result<TicketForm, AppError> {
    actor.may_administer()?;
    let mut tx = db.begin().await?;
    let before = forms::get(&mut tx, id).await?;
    let fields = check_form(input, Some(&before))?;
    check_references(&mut tx, &fields).await?;
    let form = forms::update(&mut tx, &before, &fields, audit)
        .await
        .map_err(AppError::unique_name("ticket form", &fields.name))?;
    tx.commit().await?;
    Ok(form)
}

/// Deletes a ticket form no ticket was filed through (admins); one in use is deactivated instead.
pub async fn delete_form(db: &Db, actor: &Actor, audit: &AuditActor, id: FormId) -> Result<(), AppError> {
    actor.may_administer()?;
    let mut tx = db.begin().await?;
    let form = forms::get(&mut tx, id).await?;
    if forms::in_use(&mut tx, id).await? {
        return Err(AppError::invalid(
            "ticket_form",
            "InvalidValue",
            format!(
                "tickets were filed through form {} ('{}'): deactivate it instead (active: false), so that their history keeps it",
                form.id, form.name
            ),
        ));
    }
    forms::delete(&mut tx, &form, audit).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_priorities_and_audiences_are_refused() {
        let input = |priority: &str, audience: &str| FormInput {
            name: Some("Partner".into()),
            priority: Some(Some(priority.into())),
            audience: Some(audience.into()),
            ..FormInput::default()
        };
        assert!(check_form(input("high", "partners"), None).is_ok());
        for (p, a, field) in [("sky-high", "partners", "priority"), ("high", "martians", "audience")] {
            match check_form(input(p, a), None) {
                Err(AppError::Invalid(inv)) => assert_eq!(inv.0[0].field, field),
                other => panic!("{other:?}"),
            }
        }
    }
}
