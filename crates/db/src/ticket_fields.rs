//! Custom ticket fields: their definitions with drop-down options, the fields each form shows, and the values
//! tickets hold (one row per value). Definitions are few and read whole; values are read for a page of tickets
//! at once.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use partnerdesk_core::custom_fields::{self, FieldOption, FieldRule, FieldType};
use partnerdesk_core::{FormId, TicketId};
use serde::Serialize;

use crate::audit::{self, AuditActor, Change};
use crate::conn::{Arg, Conn, Row};
use crate::error::DbError;
use crate::field_options::{self, OptionTable};
use crate::{args, now, parse_enum};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OptionRow {
    pub id: i64,
    pub name: String,
    pub value: String,
    pub position: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TicketField {
    pub id: i64,
    #[serde(serialize_with = "kind_str")]
    pub kind: FieldType,
    pub title: String,
    pub title_in_portal: String,
    pub description: String,
    pub required: bool,
    pub required_in_portal: bool,
    pub visible_in_portal: bool,
    pub editable_in_portal: bool,
    pub active: bool,
    pub position: i64,
    pub regexp_for_validation: Option<String>,
    pub tag: Option<String>,
    pub options: Vec<OptionRow>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn kind_str<S: serde::Serializer>(k: &FieldType, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(k.as_str())
}

impl TicketField {
    /// What a value of this field is checked against. A stored pattern that no longer compiles checks nothing.
    pub fn rule(&self) -> FieldRule {
        FieldRule {
            kind: self.kind,
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
                .filter(|_| self.kind == FieldType::Regexp)
                .and_then(|p| custom_fields::compile_pattern(p).ok()),
            tag: self.tag.clone(),
        }
    }
}

/// A field as created or updated; options without an id are new, options left out are removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDef {
    pub kind: FieldType,
    pub title: String,
    pub title_in_portal: String,
    pub description: String,
    pub required: bool,
    pub required_in_portal: bool,
    pub visible_in_portal: bool,
    pub editable_in_portal: bool,
    pub active: bool,
    pub position: i64,
    pub regexp_for_validation: Option<String>,
    pub tag: Option<String>,
    pub options: Vec<(String, String)>,
}

impl TicketField {
    pub fn def(&self) -> FieldDef {
        FieldDef {
            kind: self.kind,
            title: self.title.clone(),
            title_in_portal: self.title_in_portal.clone(),
            description: self.description.clone(),
            required: self.required,
            required_in_portal: self.required_in_portal,
            visible_in_portal: self.visible_in_portal,
            editable_in_portal: self.editable_in_portal,
            active: self.active,
            position: self.position,
            regexp_for_validation: self.regexp_for_validation.clone(),
            tag: self.tag.clone(),
            options: self.options.iter().map(|o| (o.name.clone(), o.value.clone())).collect(),
        }
    }
}

fn from_row(r: &Row) -> Result<TicketField, DbError> {
    Ok(TicketField {
        id: r.i64("id")?,
        kind: parse_enum("type", &r.text("type")?, FieldType::parse)?,
        title: r.text("title")?,
        title_in_portal: r.text("title_in_portal")?,
        description: r.text("description")?,
        required: r.boolean("required")?,
        required_in_portal: r.boolean("required_in_portal")?,
        visible_in_portal: r.boolean("visible_in_portal")?,
        editable_in_portal: r.boolean("editable_in_portal")?,
        active: r.boolean("active")?,
        position: r.i64("position")?,
        regexp_for_validation: r.opt_text("regexp_for_validation")?,
        tag: r.opt_text("tag")?,
        options: Vec::new(),
        created_at: r.time("created_at")?,
        updated_at: r.time("updated_at")?,
    })
}

/// Fields (all, or those with the ids) with their options, by position.
async fn load(conn: &mut Conn, ids: Option<&[i64]>) -> Result<Vec<TicketField>, DbError> {
    let (filter, mut a) = match ids {
        Some([]) => return Ok(Vec::new()),
        Some(ids) => (
            format!(" WHERE id IN ({})", vec!["?"; ids.len()].join(", ")),
            ids.iter().map(|i| Arg::I64(*i)).collect::<Vec<_>>(),
        ),
        None => (String::new(), Vec::new()),
    };
    let mut fields = conn
        .fetch_all(
            &format!("SELECT * FROM ticket_fields{filter} ORDER BY position, id"),
            &a,
        )
        .await?
        .iter()
        .map(from_row)
        .collect::<Result<Vec<_>, _>>()?;
    let option_filter = filter.replace("WHERE id", "WHERE field_id");
    let options = conn
        .fetch_all(
            &format!("SELECT * FROM ticket_field_options{option_filter} ORDER BY position, id"),
            &std::mem::take(&mut a),
        )
        .await?;
    field_options::attach(&options, &mut fields, |f| (f.id, &mut f.options))?;
    Ok(fields)
}

pub async fn list(conn: &mut Conn) -> Result<Vec<TicketField>, DbError> {
    load(conn, None).await
}

pub async fn get(conn: &mut Conn, id: i64) -> Result<TicketField, DbError> {
    load(conn, Some(&[id])).await?.pop().ok_or(DbError::NotFound)
}

pub async fn by_ids(conn: &mut Conn, ids: &[i64]) -> Result<Vec<TicketField>, DbError> {
    load(conn, Some(ids)).await
}

pub async fn create(conn: &mut Conn, d: &FieldDef, actor: &AuditActor) -> Result<TicketField, DbError> {
    let t = now();
    let id = conn
        .fetch_one(
            "INSERT INTO ticket_fields (type, title, title_in_portal, description, required, required_in_portal, \
             visible_in_portal, editable_in_portal, active, position, regexp_for_validation, tag, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            &args![
                d.kind.as_str(),
                d.title.as_str(),
                d.title_in_portal.as_str(),
                d.description.as_str(),
                d.required,
                d.required_in_portal,
                d.visible_in_portal,
                d.editable_in_portal,
                d.active,
                d.position,
                d.regexp_for_validation.clone(),
                d.tag.clone(),
                t,
                t
            ],
        )
        .await?
        .i64("id")?;
    field_options::write(conn, OptionTable::Ticket, id, &d.options).await?;
    let field = get(conn, id).await?;
    let change = Change {
        action: "ticket_field.create",
        entity_type: "ticket_field",
        entity_id: id,
        organization_id: None,
        before: None::<&()>,
        after: Some(&field),
    };
    audit::record(conn, actor, change).await?;
    Ok(field)
}

pub async fn update(
    conn: &mut Conn,
    before: &TicketField,
    d: &FieldDef,
    actor: &AuditActor,
) -> Result<TicketField, DbError> {
    conn.execute(
        "UPDATE ticket_fields SET title = ?, title_in_portal = ?, description = ?, required = ?, required_in_portal = ?, \
         visible_in_portal = ?, editable_in_portal = ?, active = ?, position = ?, regexp_for_validation = ?, tag = ?, \
         updated_at = ? WHERE id = ?",
        &args![
            d.title.as_str(),
            d.title_in_portal.as_str(),
            d.description.as_str(),
            d.required,
            d.required_in_portal,
            d.visible_in_portal,
            d.editable_in_portal,
            d.active,
            d.position,
            d.regexp_for_validation.clone(),
            d.tag.clone(),
            now(),
            before.id
        ],
    )
    .await?;
    if d.options != before.def().options {
        field_options::write(conn, OptionTable::Ticket, before.id, &d.options).await?;
    }
    let after = get(conn, before.id).await?;
    let change = Change {
        action: "ticket_field.update",
        entity_type: "ticket_field",
        entity_id: before.id,
        organization_id: None,
        before: Some(before),
        after: Some(&after),
    };
    audit::record(conn, actor, change).await?;
    Ok(after)
}

/// Deletes a field with its values on every ticket (Zendesk does the same).
pub async fn delete(conn: &mut Conn, field: &TicketField, actor: &AuditActor) -> Result<(), DbError> {
    conn.execute("DELETE FROM ticket_fields WHERE id = ?", &args![field.id])
        .await?;
    let change = Change {
        action: "ticket_field.delete",
        entity_type: "ticket_field",
        entity_id: field.id,
        organization_id: None,
        before: Some(field),
        after: None::<&()>,
    };
    audit::record(conn, actor, change).await?;
    Ok(())
}

/// The fields a form shows, in its order.
pub async fn form_field_ids(conn: &mut Conn, form: FormId) -> Result<Vec<i64>, DbError> {
    conn.fetch_all(
        "SELECT field_id FROM ticket_form_fields WHERE form_id = ? ORDER BY position",
        &args![form.0],
    )
    .await?
    .iter()
    .map(|r| r.i64("field_id"))
    .collect()
}

/// Sets the fields a form shows, in this order.
pub async fn set_form_fields(conn: &mut Conn, form: FormId, field_ids: &[i64]) -> Result<(), DbError> {
    conn.execute("DELETE FROM ticket_form_fields WHERE form_id = ?", &args![form.0])
        .await?;
    for (position, id) in field_ids.iter().enumerate() {
        conn.execute(
            "INSERT INTO ticket_form_fields (form_id, field_id, position) VALUES (?, ?, ?)",
            &args![form.0, *id, position as i64],
        )
        .await?;
    }
    Ok(())
}

/// A ticket's value of one field: the stored values (several for a multi-select), with what showing it needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldValue {
    pub field_id: i64,
    #[serde(serialize_with = "kind_str")]
    pub kind: FieldType,
    /// Whether end-users see the field.
    pub portal: bool,
    pub values: Vec<String>,
}

impl FieldValue {
    /// The value as the API shows it.
    pub fn shown(&self) -> serde_json::Value {
        custom_fields::shown(self.kind, &self.values)
    }
}

/// The values of the tickets' fields, by ticket, each list ordered by field id.
pub async fn values(conn: &mut Conn, tickets: &[TicketId]) -> Result<HashMap<TicketId, Vec<FieldValue>>, DbError> {
    let mut out: HashMap<TicketId, Vec<FieldValue>> = HashMap::new();
    if tickets.is_empty() {
        return Ok(out);
    }
    let sql = format!(
        "SELECT v.ticket_id, v.field_id, v.value, f.type, f.visible_in_portal FROM ticket_field_values v \
         JOIN ticket_fields f ON f.id = v.field_id WHERE v.ticket_id IN ({}) ORDER BY v.ticket_id, v.field_id",
        vec!["?"; tickets.len()].join(", ")
    );
    let a: Vec<Arg> = tickets.iter().map(|t| Arg::I64(t.0)).collect();
    for r in conn.fetch_all(&sql, &a).await? {
        let (ticket, field, value) = (TicketId(r.i64("ticket_id")?), r.i64("field_id")?, r.text("value")?);
        let fields = out.entry(ticket).or_default();
        match fields.iter_mut().find(|f| f.field_id == field) {
            Some(f) => f.values.push(value),
            None => fields.push(FieldValue {
                field_id: field,
                kind: parse_enum("type", &r.text("type")?, FieldType::parse)?,
                portal: r.boolean("visible_in_portal")?,
                values: vec![value],
            }),
        }
    }
    Ok(out)
}

/// Replaces a ticket's values of one field (none: empty).
pub async fn set_value(conn: &mut Conn, ticket: TicketId, field: i64, values: &[String]) -> Result<(), DbError> {
    conn.execute(
        "DELETE FROM ticket_field_values WHERE ticket_id = ? AND field_id = ?",
        &args![ticket.0, field],
    )
    .await?;
    for v in values {
        conn.execute(
            "INSERT INTO ticket_field_values (ticket_id, field_id, value) VALUES (?, ?, ?)",
            &args![ticket.0, field, v.as_str()],
        )
        .await?;
    }
    Ok(())
}
