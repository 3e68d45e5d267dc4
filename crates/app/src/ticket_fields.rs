//! Defining custom ticket fields (admins) and reading them (staff): Zendesk's `ticket_fields` with their
//! drop-down options.

use partnerdesk_core::accounts::Role;
use partnerdesk_core::custom_fields::FieldType;
use partnerdesk_core::policy::Actor;
use partnerdesk_core::{Invalid, validation};
use partnerdesk_db::Db;
use partnerdesk_db::ticket_fields::{self, FieldDef, TicketField};
use partnerdesk_db::users::User;
use serde::Deserialize;

use crate::error::AppError;
use crate::field_defs;

pub use crate::field_defs::{MAX_DESCRIPTION, MAX_OPTIONS, MAX_TITLE, OptionInput};

/// A ticket field as created or updated, Zendesk's names. On update, what is left out stays as it was; the type
/// cannot change.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct FieldInput {
    /// text, textarea, checkbox, date, integer, decimal, regexp, tagger (drop-down), multiselect.
    #[serde(rename = "type")]
    #[schema(pattern = "^(text|textarea|checkbox|date|integer|decimal|regexp|tagger|multiselect)$")]
    pub kind: Option<String>,
    #[schema(max_length = 255)]
    pub title: Option<String>,
    #[schema(max_length = 255)]
    pub title_in_portal: Option<String>,
    #[schema(max_length = 4096)]
    pub description: Option<String>,
    /// Agents must fill it to solve a ticket.
    pub required: Option<bool>,
    /// End-users must fill it to file a ticket.
    pub required_in_portal: Option<bool>,
    pub visible_in_portal: Option<bool>,
    pub editable_in_portal: Option<bool>,
    pub active: Option<bool>,
    pub position: Option<i64>,
    /// `regexp` fields: the pattern a value must match whole.
    #[schema(max_length = 1000)]
    pub regexp_for_validation: Option<String>,
    /// `checkbox` fields: the tag a checked box puts on the ticket.
    #[schema(max_length = 255)]
    pub tag: Option<String>,
    /// Drop-down and multi-select fields: their options, in order (replacing the old ones).
    pub custom_field_options: Option<Vec<OptionInput>>,
}

fn admin_only(actor: &Actor) -> Result<(), AppError> {
    if actor.role == Role::Admin {
        Ok(())
    } else {
        Err(AppError::Forbidden("Only admins define ticket fields.".into()))
    }
}

fn staff_only(actor: &Actor) -> Result<(), AppError> {
    if actor.is_staff() {
        Ok(())
    } else {
        Err(AppError::Forbidden("Ticket fields are listed for staff.".into()))
    }
}

/// The definition `input` makes of `before` (or of a new field).
fn def_of(input: &FieldInput, before: Option<&TicketField>) -> Result<FieldDef, AppError> {
    let mut errors = Invalid::default();
    let kind = match (&input.kind, before) {
        (Some(k), None) => FieldType::parse_field(&mut errors, "type", k),
        (None, None) => {
            errors.push(
                "type",
                "BlankValue",
                format!("type is required: one of {}", FieldType::choices()),
            );
            None
        }
        (Some(k), Some(b)) if k != b.kind.as_str() => {
            errors.push("type", "InvalidValue", "the type of a field cannot change");
            None
        }
        (_, Some(b)) => Some(b.kind),
    };
    let old = before.map(TicketField::def);
    let title = field_defs::title(
        &mut errors,
        input.title.as_deref(),
        old.as_ref().map(|o| o.title.as_str()),
    );
    let title_in_portal = field_defs::text(
        &mut errors,
        "title_in_portal",
        input.title_in_portal.as_deref(),
        old.as_ref().map(|o| o.title_in_portal.as_str()),
        MAX_TITLE,
    );
    let description = field_defs::text(
        &mut errors,
        "description",
        input.description.as_deref(),
        old.as_ref().map(|o| o.description.as_str()),
        MAX_DESCRIPTION,
    );
    let flag = |given: Option<bool>, old: Option<bool>, default: bool| given.or(old).unwrap_or(default);
    let given = (&input.regexp_for_validation, &input.tag, &input.custom_field_options);
    let stored = old.as_ref().map(|o| (&o.regexp_for_validation, &o.tag, &o.options));
    let parts = field_defs::type_parts(&mut errors, kind, given.into(), stored.map(Into::into).as_ref());
    errors.into_result()?;
    let kind = kind.ok_or_else(|| AppError::internal("a checked field has a type"))?;
    Ok(FieldDef {
        kind,
        title,
        title_in_portal,
        description,
        required: flag(input.required, old.as_ref().map(|o| o.required), false),
        required_in_portal: flag(
            input.required_in_portal,
            old.as_ref().map(|o| o.required_in_portal),
            false,
        ),
        visible_in_portal: flag(
            input.visible_in_portal,
            old.as_ref().map(|o| o.visible_in_portal),
            false,
        ),
        editable_in_portal: flag(
            input.editable_in_portal,
            old.as_ref().map(|o| o.editable_in_portal),
            false,
        ),
        active: flag(input.active, old.as_ref().map(|o| o.active), true),
        position: input.position.or(old.as_ref().map(|o| o.position)).unwrap_or(0),
        regexp_for_validation: parts.regexp_for_validation,
        tag: parts.tag,
        options: parts.options,
    })
}

pub async fn list(db: &Db, actor: &Actor) -> Result<Vec<TicketField>, AppError> {
    staff_only(actor)?;
    Ok(ticket_fields::list(&mut db.conn()).await?)
}

pub async fn show(db: &Db, actor: &Actor, id: i64) -> Result<TicketField, AppError> {
    staff_only(actor)?;
    Ok(ticket_fields::get(&mut db.conn(), id).await?)
}

pub async fn create(db: &Db, caller: &User, input: &FieldInput) -> Result<TicketField, AppError> {
    admin_only(&caller.actor())?;
    let def = def_of(input, None)?;
    let mut tx = db.begin().await?;
    let field = ticket_fields::create(&mut tx, &def, &caller.audit_actor()).await?;
    tx.commit().await?;
    Ok(field)
}

pub async fn update(db: &Db, caller: &User, id: i64, input: &FieldInput) -> Result<TicketField, AppError> {
    admin_only(&caller.actor())?;
    let mut tx = db.begin().await?;
    let before = ticket_fields::get(&mut tx, id).await?;
    let def = def_of(input, Some(&before))?;
    let field = ticket_fields::update(&mut tx, &before, &def, &caller.audit_actor()).await?;
    tx.commit().await?;
    Ok(field)
}

pub async fn delete(db: &Db, caller: &User, id: i64) -> Result<(), AppError> {
    admin_only(&caller.actor())?;
    let mut tx = db.begin().await?;
    let field = ticket_fields::get(&mut tx, id).await?;
    // Forms' conditions and routing that name the field go with it, in the same transaction: left behind, they
    // would make every later save of those forms fail on a field that no longer exists.
    for form in partnerdesk_db::forms::list(&mut tx).await? {
        let mut f = form.fields();
        let prune = |conditions: &mut Vec<partnerdesk_core::custom_fields::FieldCondition>| {
            conditions.retain(|c| c.parent_field_id != id);
            for c in conditions.iter_mut() {
                c.child_fields.retain(|child| child.id != id);
            }
            conditions.retain(|c| !c.child_fields.is_empty());
        };
        prune(&mut f.end_user_conditions);
        prune(&mut f.agent_conditions);
        if f.field_routing.as_ref().is_some_and(|r| r.field_id == id) {
            f.field_routing = None;
        }
        f.ticket_field_ids.retain(|f| *f != id);
        if f != form.fields() {
            partnerdesk_db::forms::update(&mut tx, &form, &f, &caller.audit_actor()).await?;
        }
    }
    ticket_fields::delete(&mut tx, &field, &caller.audit_actor()).await?;
    tx.commit().await?;
    Ok(())
}

/// Adds an option, or renames the one with the same value (Zendesk's `POST .../options`); true when created.
pub async fn upsert_option(
    db: &Db,
    caller: &User,
    id: i64,
    option: &OptionInput,
) -> Result<(TicketField, bool), AppError> {
    admin_only(&caller.actor())?;
    let mut tx = db.begin().await?;
    let before = ticket_fields::get(&mut tx, id).await?;
    let mut def = before.def();
    let mut errors = Invalid::default();
    let name = validation::required_text(&mut errors, "custom_field_option.name", &option.name, MAX_TITLE);
    let value = field_defs::one_tag(&mut errors, "custom_field_option.value", &option.value);
    if !matches!(before.kind, FieldType::Tagger | FieldType::Multiselect) {
        errors.push(
            "custom_field_option",
            "InvalidValue",
            "only drop-down and multi-select fields have options",
        );
    }
    errors.into_result()?;
    let created = match def.options.iter_mut().find(|(_, v)| *v == value) {
        Some(existing) => {
            existing.0 = name;
            false
        }
        None => {
            def.options.push((name, value));
            true
        }
    };
    let field = ticket_fields::update(&mut tx, &before, &def, &caller.audit_actor()).await?;
    tx.commit().await?;
    Ok((field, created))
}

pub async fn delete_option(db: &Db, caller: &User, id: i64, option_id: i64) -> Result<(), AppError> {
    admin_only(&caller.actor())?;
    let mut tx = db.begin().await?;
    let before = ticket_fields::get(&mut tx, id).await?;
    let gone = before
        .options
        .iter()
        .find(|o| o.id == option_id)
        .ok_or(AppError::NotFound)?;
    let mut def = before.def();
    def.options.retain(|(_, v)| *v != gone.value);
    if def.options.is_empty() {
        return Err(AppError::invalid(
            "custom_field_option",
            "InvalidValue",
            "a field's last option cannot be removed",
        ));
    }
    ticket_fields::update(&mut tx, &before, &def, &caller.audit_actor()).await?;
    tx.commit().await?;
    Ok(())
}
