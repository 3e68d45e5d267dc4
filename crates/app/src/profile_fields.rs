//! Organization and user fields (Zendesk's `organization_fields` and `user_fields`): admins define them, staff read
//! the definitions; values are checked here for the organization and account services, and shown to staff whole
//! and to end-users only where a field is marked `visible_to_end_users`.

use std::collections::HashMap;

use partnerdesk_core::Invalid;
use partnerdesk_core::accounts::Role;
use partnerdesk_core::custom_fields::{self, FieldType};
use partnerdesk_core::policy::Actor;
use partnerdesk_db::audit::{self, Change};
use partnerdesk_db::profile_fields::{self, FieldKind, ProfileField, ProfileFieldDef};
use partnerdesk_db::users::User;
use partnerdesk_db::{AuditActor, Conn, Db};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::AppError;
use crate::field_defs::{self, MAX_DESCRIPTION, OptionInput};

/// Values by field key, as the API carries them.
pub type FieldValues = Map<String, Value>;

/// The longest key.
pub const MAX_KEY: usize = 64;

/// An organization or user field as created or updated, Zendesk's names. On update, what is left out stays; the
/// key and the type cannot change.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct ProfileFieldInput {
    /// The field's name in `organization_fields`/`user_fields`: lower-case letters, digits and `_`, unique per kind.
    #[schema(pattern = "^[a-z0-9_]{1,64}$")]
    pub key: Option<String>,
    /// text, textarea, checkbox, date, integer, decimal, regexp, dropdown (or tagger), multiselect.
    #[serde(rename = "type")]
    #[schema(pattern = "^(text|textarea|checkbox|date|integer|decimal|regexp|dropdown|tagger|multiselect)$")]
    pub kind: Option<String>,
    #[schema(max_length = 255)]
    pub title: Option<String>,
    #[schema(max_length = 4096)]
    pub description: Option<String>,
    pub position: Option<i64>,
    pub active: Option<bool>,
    /// End-users see the field's value on themselves and their organization (false unless set).
    pub visible_to_end_users: Option<bool>,
    /// `regexp` fields: the pattern a value must match whole.
    #[schema(max_length = 1000)]
    pub regexp_for_validation: Option<String>,
    /// `checkbox` fields: a tag (kept for Zendesk's shape).
    #[schema(max_length = 255)]
    pub tag: Option<String>,
    /// Drop-down and multi-select fields: their options, in order (replacing the old ones).
    pub custom_field_options: Option<Vec<OptionInput>>,
}

/// The type as the API names it (`dropdown` for a drop-down, as Zendesk's organization and user fields do).
pub fn type_name(t: FieldType) -> &'static str {
    match t {
        FieldType::Tagger => "dropdown",
        other => other.as_str(),
    }
}

fn admin_only(actor: &Actor) -> Result<(), AppError> {
    if actor.role == Role::Admin {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "Only admins define organization and user fields.".into(),
        ))
    }
}

fn staff_only(actor: &Actor) -> Result<(), AppError> {
    if actor.is_staff() {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "Organization and user fields are listed for staff.".into(),
        ))
    }
}

fn key_of(errors: &mut Invalid, raw: &str) -> String {
    let k = raw.to_owned();
    if k.is_empty() {
        errors.push("key", "BlankValue", "key cannot be blank");
    } else if k.len() > MAX_KEY
        || !k
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        errors.push(
            "key",
            "InvalidValue",
            format!("key must be 1 to {MAX_KEY} lower-case letters, digits or _"),
        );
    }
    k
}

fn type_of(errors: &mut Invalid, raw: &str) -> Option<FieldType> {
    let raw = if raw == "dropdown" { "tagger" } else { raw };
    FieldType::parse_field(errors, "type", raw)
}

/// The definition `input` makes of `before` (or of a new field).
fn def_of(input: &ProfileFieldInput, before: Option<&ProfileField>) -> Result<ProfileFieldDef, AppError> {
    let mut errors = Invalid::default();
    let old = before.map(ProfileField::def);
    let key = match (&input.key, &old) {
        (Some(k), Some(o)) if *k != o.key => {
            errors.push("key", "InvalidValue", "the key of a field cannot change");
            o.key.clone()
        }
        (_, Some(o)) => o.key.clone(),
        (Some(k), None) => key_of(&mut errors, k),
        (None, None) => key_of(&mut errors, ""),
    };
    let kind = match (&input.kind, &old) {
        (Some(k), None) => type_of(&mut errors, k),
        (None, None) => {
            errors.push(
                "type",
                "BlankValue",
                format!("type is required: one of {}", FieldType::choices()),
            );
            None
        }
        (Some(k), Some(o)) => {
            let given = type_of(&mut Invalid::default(), k);
            if given != Some(o.field_type) {
                errors.push("type", "InvalidValue", "the type of a field cannot change");
            }
            Some(o.field_type)
        }
        (None, Some(o)) => Some(o.field_type),
    };
    let title = field_defs::title(
        &mut errors,
        input.title.as_deref(),
        old.as_ref().map(|o| o.title.as_str()),
    );
    let description = field_defs::text(
        &mut errors,
        "description",
        input.description.as_deref(),
        old.as_ref().map(|o| o.description.as_str()),
        MAX_DESCRIPTION,
    );
    let given = (&input.regexp_for_validation, &input.tag, &input.custom_field_options);
    let stored = old.as_ref().map(|o| (&o.regexp_for_validation, &o.tag, &o.options));
    let parts = field_defs::type_parts(&mut errors, kind, given.into(), stored.map(Into::into).as_ref());
    errors.into_result()?;
    let field_type = kind.ok_or_else(|| AppError::internal("a checked field has a type"))?;
    Ok(ProfileFieldDef {
        key,
        field_type,
        title,
        description,
        position: input.position.or(old.as_ref().map(|o| o.position)).unwrap_or(0),
        active: input.active.or(old.as_ref().map(|o| o.active)).unwrap_or(true),
        visible_to_end_users: input
            .visible_to_end_users
            .or(old.as_ref().map(|o| o.visible_to_end_users))
            .unwrap_or(false),
        regexp_for_validation: parts.regexp_for_validation,
        tag: parts.tag,
        options: parts.options,
    })
}

pub async fn list(db: &Db, actor: &Actor, kind: FieldKind) -> Result<Vec<ProfileField>, AppError> {
    staff_only(actor)?;
    Ok(profile_fields::list(&mut db.conn(), kind).await?)
}

pub async fn show(db: &Db, actor: &Actor, kind: FieldKind, id: i64) -> Result<ProfileField, AppError> {
    staff_only(actor)?;
    Ok(profile_fields::get(&mut db.conn(), kind, id).await?)
}

pub async fn create(
    db: &Db,
    caller: &User,
    kind: FieldKind,
    input: &ProfileFieldInput,
) -> Result<ProfileField, AppError> {
    admin_only(&caller.actor())?;
    let def = def_of(input, None)?;
    let mut tx = db.begin().await?;
    let field = profile_fields::create(&mut tx, kind, &def, &caller.audit_actor()).await?;
    tx.commit().await?;
    Ok(field)
}

pub async fn update(
    db: &Db,
    caller: &User,
    kind: FieldKind,
    id: i64,
    input: &ProfileFieldInput,
) -> Result<ProfileField, AppError> {
    admin_only(&caller.actor())?;
    let mut tx = db.begin().await?;
    let before = profile_fields::get(&mut tx, kind, id).await?;
    let def = def_of(input, Some(&before))?;
    let field = profile_fields::update(&mut tx, &before, &def, &caller.audit_actor()).await?;
    tx.commit().await?;
    Ok(field)
}

/// Deletes a field with its values.
pub async fn delete(db: &Db, caller: &User, kind: FieldKind, id: i64) -> Result<(), AppError> {
    admin_only(&caller.actor())?;
    let mut tx = db.begin().await?;
    let field = profile_fields::get(&mut tx, kind, id).await?;
    profile_fields::delete(&mut tx, &field, &caller.audit_actor()).await?;
    tx.commit().await?;
    Ok(())
}

/// Values as checked, ready to be written with [`write_values`].
#[derive(Debug, Default)]
pub struct CheckedValues(Vec<(ProfileField, Vec<String>)>);

fn prefix(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Organization => "organization_fields",
        FieldKind::User => "user_fields",
    }
}

/// Checks values given by key against the kind's active fields; every bad one is named
/// (`organization_fields.support_level`). Keys left out stay as they are.
pub async fn check_values(
    conn: &mut Conn,
    kind: FieldKind,
    given: Option<&FieldValues>,
) -> Result<CheckedValues, AppError> {
    let Some(given) = given.filter(|g| !g.is_empty()) else {
        return Ok(CheckedValues::default());
    };
    let fields = profile_fields::list(conn, kind).await?;
    let mut errors = Invalid::default();
    let mut out = Vec::new();
    for (key, value) in given {
        let name = format!("{}.{key}", prefix(kind));
        match fields.iter().find(|f| f.key == *key && f.active) {
            None => errors.push(&name, "InvalidValue", format!("{name} is not a field")),
            Some(f) => match custom_fields::check(&f.rule(), value) {
                Ok(values) => out.push((f.clone(), values)),
                Err(why) => errors.push(&name, "InvalidValue", format!("{name} {why}")),
            },
        }
    }
    errors.into_result()?;
    Ok(CheckedValues(out))
}

/// Writes checked values on a record (an organization or a user), audited with the record when any changed.
pub async fn write_values(
    conn: &mut Conn,
    kind: FieldKind,
    record: i64,
    organization_id: Option<i64>,
    checked: CheckedValues,
    actor: &AuditActor,
) -> Result<(), AppError> {
    if checked.0.is_empty() {
        return Ok(());
    }
    let current = profile_fields::values(conn, kind, &[record])
        .await?
        .remove(&record)
        .unwrap_or_default();
    let mut before = FieldValues::new();
    let mut after = FieldValues::new();
    for (field, values) in checked.0 {
        let mut sorted = values.clone();
        sorted.sort();
        let old = current.get(&field.id).cloned().unwrap_or_default();
        if old == sorted {
            continue;
        }
        profile_fields::set_value(conn, kind, record, field.id, &values).await?;
        before.insert(field.key.clone(), custom_fields::shown(field.field_type, &old));
        after.insert(field.key.clone(), custom_fields::shown(field.field_type, &values));
    }
    if after.is_empty() {
        return Ok(());
    }
    let action = format!("{}.fields_update", kind.as_str());
    let change = Change {
        action: &action,
        entity_type: kind.as_str(),
        entity_id: record,
        organization_id,
        before: Some(&before),
        after: Some(&after),
    };
    audit::record(conn, actor, change).await?;
    Ok(())
}

/// The records' values by key as `staff` (every active field) or an end-user (only fields visible to end-users)
/// sees them: every such key, `null` when unset.
pub async fn shown(
    conn: &mut Conn,
    kind: FieldKind,
    ids: &[i64],
    staff: bool,
) -> Result<HashMap<i64, FieldValues>, AppError> {
    let fields: Vec<ProfileField> = profile_fields::list(conn, kind)
        .await?
        .into_iter()
        .filter(|f| f.active && (staff || f.visible_to_end_users))
        .collect();
    let mut stored = if fields.is_empty() {
        HashMap::new()
    } else {
        profile_fields::values(conn, kind, ids).await?
    };
    let mut out = HashMap::new();
    for id in ids {
        let values = stored.remove(id).unwrap_or_default();
        let mut map = FieldValues::new();
        for f in &fields {
            let shown = match values.get(&f.id) {
                Some(v) => custom_fields::shown(f.field_type, v),
                None => Value::Null,
            };
            map.insert(f.key.clone(), shown);
        }
        out.insert(*id, map);
    }
    Ok(out)
}

/// `shown` on a pool connection, for readers outside a transaction.
pub async fn shown_in(
    db: &Db,
    kind: FieldKind,
    ids: &[i64],
    staff: bool,
) -> Result<HashMap<i64, FieldValues>, AppError> {
    shown(&mut db.conn(), kind, ids, staff).await
}

/// The active fields of a kind with a record's values, for pages: (field, shown value).
pub async fn page_values(db: &Db, kind: FieldKind, record: i64) -> Result<Vec<(ProfileField, Value)>, AppError> {
    let mut conn = db.conn();
    let fields = profile_fields::list(&mut conn, kind).await?;
    let values = profile_fields::values(&mut conn, kind, &[record])
        .await?
        .remove(&record)
        .unwrap_or_default();
    Ok(fields
        .into_iter()
        .filter(|f| f.active)
        .map(|f| {
            let v = values
                .get(&f.id)
                .map_or(Value::Null, |v| custom_fields::shown(f.field_type, v));
            (f, v)
        })
        .collect())
}
