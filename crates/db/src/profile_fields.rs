//! Organization and user fields (Zendesk's `organization_fields` and `user_fields`): their definitions, one store
//! for both kinds, with drop-down options, and the values organizations and users hold (one row per value).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use partnerdesk_core::custom_fields::{self, FieldOption, FieldRule, FieldType};
use serde::Serialize;

use crate::audit::{self, AuditActor, Change};
use crate::conn::{Arg, Conn, Row};
use crate::error::DbError;
use crate::field_options::{self, OptionTable};
use crate::ticket_fields::OptionRow;
use crate::{args, now, parse_enum};

/// Which records a field belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldKind {
    Organization,
    User,
}

impl FieldKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FieldKind::Organization => "organization",
            FieldKind::User => "user",
        }
    }

    fn values_table(self) -> (&'static str, &'static str) {
        match self {
            FieldKind::Organization => ("organization_field_values", "organization_id"),
            FieldKind::User => ("user_field_values", "user_id"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProfileField {
    pub id: i64,
    pub kind: FieldKind,
    pub key: String,
    #[serde(rename = "type", serialize_with = "kind_str")]
    pub field_type: FieldType,
    pub title: String,
    pub description: String,
    pub position: i64,
    pub active: bool,
    pub visible_to_end_users: bool,
    pub regexp_for_validation: Option<String>,
    pub tag: Option<String>,
    pub options: Vec<OptionRow>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn kind_str<S: serde::Serializer>(k: &FieldType, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(k.as_str())
}

/// A field as created or updated; options left out are removed, those whose value stays keep their id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileFieldDef {
    pub key: String,
    pub field_type: FieldType,
    pub title: String,
    pub description: String,
    pub position: i64,
    pub active: bool,
    pub visible_to_end_users: bool,
    pub regexp_for_validation: Option<String>,
    pub tag: Option<String>,
    pub options: Vec<(String, String)>,
}

impl ProfileField {
    pub fn def(&self) -> ProfileFieldDef {
        ProfileFieldDef {
            key: self.key.clone(),
            field_type: self.field_type,
            title: self.title.clone(),
            description: self.description.clone(),
            position: self.position,
            active: self.active,
            visible_to_end_users: self.visible_to_end_users,
            regexp_for_validation: self.regexp_for_validation.clone(),
            tag: self.tag.clone(),
            options: self.options.iter().map(|o| (o.name.clone(), o.value.clone())).collect(),
        }
    }

    /// What a value of this field is checked against. A stored pattern that no longer compiles checks nothing.
    pub fn rule(&self) -> FieldRule {
        FieldRule {
            kind: self.field_type,
            options: self
                .options
                .iter()
                .map(|o| FieldOption {
                    name: o.name.clone(),
                    value: o.value.clone(),
                })
                .collect(),
            pattern: self
                .regexp_for_validation
                .as_deref()
                .filter(|_| self.field_type == FieldType::Regexp)
                .and_then(|p| custom_fields::compile_pattern(p).ok()),
            tag: self.tag.clone(),
        }
    }
}

fn from_row(r: &Row) -> Result<ProfileField, DbError> {
    Ok(ProfileField {
        id: r.i64("id")?,
        kind: match r.text("kind")?.as_str() {
            "organization" => FieldKind::Organization,
            _ => FieldKind::User,
        },
        key: r.text("key")?,
        field_type: parse_enum("type", &r.text("type")?, FieldType::parse)?,
        title: r.text("title")?,
        description: r.text("description")?,
        position: r.i64("position")?,
        active: r.boolean("active")?,
        visible_to_end_users: r.boolean("visible_to_end_users")?,
        regexp_for_validation: r.opt_text("regexp_for_validation")?,
        tag: r.opt_text("tag")?,
        options: Vec::new(),
        created_at: r.time("created_at")?,
        updated_at: r.time("updated_at")?,
    })
}

/// The fields of a kind (all, or the one with the id), with their options, by position.
async fn load(conn: &mut Conn, kind: FieldKind, id: Option<i64>) -> Result<Vec<ProfileField>, DbError> {
    let mut a = vec![Arg::from(kind.as_str())];
    let mut filter = String::new();
    if let Some(id) = id {
        filter.push_str(" AND id = ?");
        a.push(Arg::I64(id));
    }
    let mut fields = conn
        .fetch_all(
            &format!("SELECT * FROM profile_fields WHERE kind = ?{filter} ORDER BY position, id"),
            &a,
        )
        .await?
        .iter()
        .map(from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let options = conn
        .fetch_all(
            &format!(
                "SELECT o.* FROM profile_field_options o JOIN profile_fields f ON f.id = o.field_id \
                 WHERE f.kind = ?{} ORDER BY o.position, o.id",
                filter.replace(" id", " f.id")
            ),
            &a,
        )
        .await?;
    field_options::attach(&options, &mut fields, |f| (f.id, &mut f.options))?;
    Ok(fields)
}

pub async fn list(conn: &mut Conn, kind: FieldKind) -> Result<Vec<ProfileField>, DbError> {
    load(conn, kind, None).await
}

pub async fn get(conn: &mut Conn, kind: FieldKind, id: i64) -> Result<ProfileField, DbError> {
    load(conn, kind, Some(id)).await?.pop().ok_or(DbError::NotFound)
}

fn audit_change<'a>(
    action: &'a str,
    id: i64,
    before: Option<&'a ProfileField>,
    after: Option<&'a ProfileField>,
) -> Change<'a, ProfileField, ProfileField> {
    Change {
        action,
        entity_type: "profile_field",
        entity_id: id,
        organization_id: None,
        before,
        after,
    }
}

pub async fn create(
    conn: &mut Conn,
    kind: FieldKind,
    d: &ProfileFieldDef,
    actor: &AuditActor,
) -> Result<ProfileField, DbError> {
    let t = now();
    let id = conn
        .fetch_one(
            "INSERT INTO profile_fields (kind, key, type, title, description, position, active, visible_to_end_users, \
             regexp_for_validation, tag, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            &args![
                kind.as_str(),
                d.key.as_str(),
                d.field_type.as_str(),
                d.title.as_str(),
                d.description.as_str(),
                d.position,
                d.active,
                d.visible_to_end_users,
                d.regexp_for_validation.clone(),
                d.tag.clone(),
                t,
                t
            ],
        )
        .await?
        .i64("id")?;
    field_options::write(conn, OptionTable::Profile, id, &d.options).await?;
    let field = get(conn, kind, id).await?;
    let action = format!("{}_field.create", kind.as_str());
    audit::record(conn, actor, audit_change(&action, id, None, Some(&field))).await?;
    Ok(field)
}

/// Updates a field; its key and type stay.
pub async fn update(
    conn: &mut Conn,
    before: &ProfileField,
    d: &ProfileFieldDef,
    actor: &AuditActor,
) -> Result<ProfileField, DbError> {
    conn.execute(
        "UPDATE profile_fields SET title = ?, description = ?, position = ?, active = ?, visible_to_end_users = ?, \
         regexp_for_validation = ?, tag = ?, updated_at = ? WHERE id = ?",
        &args![
            d.title.as_str(),
            d.description.as_str(),
            d.position,
            d.active,
            d.visible_to_end_users,
            d.regexp_for_validation.clone(),
            d.tag.clone(),
            now(),
            before.id
        ],
    )
    .await?;
    if d.options != before.def().options {
        // Values of removed options go with them: they are no longer valid.
        let (table, _) = before.kind.values_table();
        for gone in before
            .options
            .iter()
            .filter(|o| !d.options.iter().any(|(_, v)| *v == o.value))
        {
            conn.execute(
                &format!("DELETE FROM {table} WHERE field_id = ? AND value = ?"),
                &args![before.id, gone.value.as_str()],
            )
            .await?;
        }
        field_options::write(conn, OptionTable::Profile, before.id, &d.options).await?;
    }
    let after = get(conn, before.kind, before.id).await?;
    let action = format!("{}_field.update", before.kind.as_str());
    audit::record(
        conn,
        actor,
        audit_change(&action, before.id, Some(before), Some(&after)),
    )
    .await?;
    Ok(after)
}

/// Deletes a field with its values on every record.
pub async fn delete(conn: &mut Conn, field: &ProfileField, actor: &AuditActor) -> Result<(), DbError> {
    conn.execute("DELETE FROM profile_fields WHERE id = ?", &args![field.id])
        .await?;
    let action = format!("{}_field.delete", field.kind.as_str());
    audit::record(conn, actor, audit_change(&action, field.id, Some(field), None)).await?;
    Ok(())
}

/// The stored values of the records' fields: record id → field id → values.
pub async fn values(
    conn: &mut Conn,
    kind: FieldKind,
    ids: &[i64],
) -> Result<HashMap<i64, HashMap<i64, Vec<String>>>, DbError> {
    let mut out: HashMap<i64, HashMap<i64, Vec<String>>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let (table, column) = kind.values_table();
    let sql = format!(
        "SELECT {column} AS record_id, field_id, value FROM {table} WHERE {column} IN ({}) ORDER BY value",
        vec!["?"; ids.len()].join(", ")
    );
    let a: Vec<Arg> = ids.iter().map(|i| Arg::I64(*i)).collect();
    for r in conn.fetch_all(&sql, &a).await? {
        out.entry(r.i64("record_id")?)
            .or_default()
            .entry(r.i64("field_id")?)
            .or_default()
            .push(r.text("value")?);
    }
    Ok(out)
}

/// Replaces a record's values of one field (none: empty).
pub async fn set_value(
    conn: &mut Conn,
    kind: FieldKind,
    record: i64,
    field: i64,
    values: &[String],
) -> Result<(), DbError> {
    let (table, column) = kind.values_table();
    conn.execute(
        &format!("DELETE FROM {table} WHERE {column} = ? AND field_id = ?"),
        &args![record, field],
    )
    .await?;
    for v in values {
        conn.execute(
            &format!("INSERT INTO {table} ({column}, field_id, value) VALUES (?, ?, ?)"),
            &args![record, field, v.as_str()],
        )
        .await?;
    }
    Ok(())
}
