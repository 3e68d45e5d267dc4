//! Groups and ticket forms, created the same way from the API, the admin pages and the CLI: one validation, one
//! set of messages (an unknown priority is refused everywhere, not dropped by one caller).

use partnerdesk_core::policy::Actor;
use partnerdesk_core::tickets::{Audience, Priority};
use partnerdesk_core::validation::required_text;
use partnerdesk_core::{GroupId, Invalid, tags};
use partnerdesk_db::forms::{self, FormFields, TicketForm};
use partnerdesk_db::groups::{self, Group};
use partnerdesk_db::{AuditActor, Db, DbError};
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

/// A new ticket form, Zendesk's names plus `audience`, `group_id`, `priority` and `tags` (its routing).
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
    pub group_id: Option<i64>,
    #[schema(schema_with = crate::input::schema::priority)]
    pub priority: Option<String>,
    pub tags: Option<Vec<String>>,
}

/// Checks a form's input; the group it routes to must exist.
fn check_form(i: FormInput) -> Result<FormFields, AppError> {
    let mut errors = Invalid::default();
    let name = required_text(&mut errors, "name", i.name.as_deref().unwrap_or_default(), 255);
    let display_name = match &i.display_name {
        Some(d) => required_text(&mut errors, "display_name", d, 255),
        None => name.clone(),
    };
    let audience = match (i.audience.as_deref(), i.end_user_visible) {
        (Some(a), _) => Audience::parse_field(&mut errors, "audience", a).unwrap_or(Audience::Everyone),
        (None, Some(false)) => Audience::Staff,
        (None, _) => Audience::Everyone,
    };
    let priority = i
        .priority
        .as_deref()
        .and_then(|p| Priority::parse_field(&mut errors, "priority", p));
    errors.into_result()?;
    Ok(FormFields {
        name,
        display_name,
        position: i.position.unwrap_or(0),
        active: i.active.unwrap_or(true),
        is_default: i.default.unwrap_or(false),
        audience,
        group_id: i.group_id.map(GroupId),
        priority,
        tags: tags::normalize(i.tags.unwrap_or_default()),
    })
}

/// Creates a ticket form (admins).
pub async fn create_form(db: &Db, actor: &Actor, audit: &AuditActor, input: FormInput) -> Result<TicketForm, AppError> {
    actor.may_administer()?;
    let fields = check_form(input)?;
    let mut tx = db.begin().await?;
    if let Some(g) = fields.group_id {
        match groups::get(&mut tx, g).await {
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
    let form = forms::create(&mut tx, &fields, audit)
        .await
        .map_err(AppError::unique_name("ticket form", &fields.name))?;
    tx.commit().await?;
    Ok(form)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_priorities_and_audiences_are_refused() {
        let input = |priority: &str, audience: &str| FormInput {
            name: Some("Partner".into()),
            priority: Some(priority.into()),
            audience: Some(audience.into()),
            ..FormInput::default()
        };
        assert!(check_form(input("high", "partners")).is_ok());
        for (p, a, field) in [("sky-high", "partners", "priority"), ("high", "martians", "audience")] {
            match check_form(input(p, a)) {
                Err(AppError::Invalid(inv)) => assert_eq!(inv.0[0].field, field),
                other => panic!("{other:?}"),
            }
        }
    }
}
