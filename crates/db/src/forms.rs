//! Ticket forms: data that decides who may file through them and where their tickets are routed.

use chrono::{DateTime, Utc};
use partnerdesk_core::custom_fields::{FieldCondition, FieldRouting};
use partnerdesk_core::routing::FormRule;
use partnerdesk_core::tickets::{Audience, Priority};
use partnerdesk_core::{FormId, GroupId, tags};
use serde::Serialize;

use crate::audit::{self, AuditActor, Change};
use crate::conn::{Conn, Row};
use crate::error::DbError;
use crate::ticket_fields;
use crate::{args, now, parse_enum};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TicketForm {
    pub id: FormId,
    pub name: String,
    pub display_name: String,
    pub position: i64,
    pub active: bool,
    pub is_default: bool,
    pub audience: Audience,
    pub group_id: Option<GroupId>,
    pub priority: Option<Priority>,
    pub tags: Vec<String>,
    /// The custom fields the form shows, in order.
    pub ticket_field_ids: Vec<i64>,
    pub end_user_conditions: Vec<FieldCondition>,
    pub agent_conditions: Vec<FieldCondition>,
    pub field_routing: Option<FieldRouting>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormFields {
    pub name: String,
    pub display_name: String,
    pub position: i64,
    pub active: bool,
    pub is_default: bool,
    pub audience: Audience,
    pub group_id: Option<GroupId>,
    pub priority: Option<Priority>,
    pub tags: Vec<String>,
    pub ticket_field_ids: Vec<i64>,
    pub end_user_conditions: Vec<FieldCondition>,
    pub agent_conditions: Vec<FieldCondition>,
    pub field_routing: Option<FieldRouting>,
}

impl TicketForm {
    pub fn fields(&self) -> FormFields {
        FormFields {
            name: self.name.clone(),
            display_name: self.display_name.clone(),
            position: self.position,
            active: self.active,
            is_default: self.is_default,
            audience: self.audience,
            group_id: self.group_id,
            priority: self.priority,
            tags: self.tags.clone(),
            ticket_field_ids: self.ticket_field_ids.clone(),
            end_user_conditions: self.end_user_conditions.clone(),
            agent_conditions: self.agent_conditions.clone(),
            field_routing: self.field_routing.clone(),
        }
    }

    pub fn rule(&self) -> FormRule {
        FormRule {
            id: self.id,
            name: self.name.clone(),
            audience: self.audience,
            group_id: self.group_id,
            priority: self.priority,
            tags: self.tags.clone(),
        }
    }
}

fn conditions(r: &Row, col: &str) -> Result<Vec<FieldCondition>, DbError> {
    serde_json::from_str(&r.text(col)?).map_err(|e| DbError::Corrupt(format!("{col}: {e}")))
}

fn routing_to_stored(r: &Option<FieldRouting>) -> Result<String, DbError> {
    match r {
        None => Ok(String::new()),
        Some(r) => serde_json::to_string(r).map_err(|e| DbError::Corrupt(format!("field_routing: {e}"))),
    }
}

fn conditions_to_stored(c: &[FieldCondition]) -> Result<String, DbError> {
    serde_json::to_string(c).map_err(|e| DbError::Corrupt(format!("conditions: {e}")))
}

/// Reads the fields each form shows into them (one query).
async fn with_field_ids(conn: &mut Conn, mut forms: Vec<TicketForm>) -> Result<Vec<TicketForm>, DbError> {
    let rows = conn
        .fetch_all(
            "SELECT form_id, field_id FROM ticket_form_fields ORDER BY form_id, position",
            &[],
        )
        .await?;
    for r in rows {
        let (form, field) = (r.i64("form_id")?, r.i64("field_id")?);
        if let Some(f) = forms.iter_mut().find(|f| f.id.0 == form) {
            f.ticket_field_ids.push(field);
        }
    }
    Ok(forms)
}

async fn one(conn: &mut Conn, row: Option<Row>) -> Result<Option<TicketForm>, DbError> {
    match row {
        Some(r) => Ok(with_field_ids(conn, vec![from_row(&r)?]).await?.pop()),
        None => Ok(None),
    }
}

fn from_row(r: &Row) -> Result<TicketForm, DbError> {
    Ok(TicketForm {
        id: FormId(r.i64("id")?),
        name: r.text("name")?,
        display_name: r.text("display_name")?,
        position: r.i64("position")?,
        active: r.boolean("active")?,
        is_default: r.boolean("is_default")?,
        audience: parse_enum("audience", &r.text("audience")?, Audience::parse)?,
        group_id: r.opt_i64("group_id")?.map(GroupId),
        priority: r
            .opt_text("priority")?
            .map(|p| parse_enum("priority", &p, Priority::parse))
            .transpose()?,
        tags: tags::from_stored(&r.text("tags")?),
        ticket_field_ids: Vec::new(),
        end_user_conditions: conditions(r, "end_user_conditions")?,
        agent_conditions: conditions(r, "agent_conditions")?,
        field_routing: match r.text("field_routing")?.as_str() {
            "" => None,
            json => Some(serde_json::from_str(json).map_err(|e| DbError::Corrupt(format!("field_routing: {e}")))?),
        },
        created_at: r.time("created_at")?,
        updated_at: r.time("updated_at")?,
    })
}

pub async fn get(conn: &mut Conn, id: FormId) -> Result<TicketForm, DbError> {
    let row = conn
        .fetch_optional("SELECT * FROM ticket_forms WHERE id = ?", &args![id.0])
        .await?;
    one(conn, row).await?.ok_or(DbError::NotFound)
}

/// All forms in display order (there are a handful; Zendesk does not paginate them either).
pub async fn list(conn: &mut Conn) -> Result<Vec<TicketForm>, DbError> {
    let forms = conn
        .fetch_all("SELECT * FROM ticket_forms ORDER BY position, id", &[])
        .await?
        .iter()
        .map(from_row)
        .collect::<Result<Vec<_>, _>>()?;
    with_field_ids(conn, forms).await
}

/// The active default form, used when a ticket names none.
pub async fn default_form(conn: &mut Conn) -> Result<Option<TicketForm>, DbError> {
    let row = conn
        .fetch_optional(
            "SELECT * FROM ticket_forms WHERE active = ? AND is_default = ? ORDER BY position, id LIMIT 1",
            &args![true, true],
        )
        .await?;
    one(conn, row).await
}

/// The active partner form: every alliance partner's ticket is routed by it.
pub async fn partner_form(conn: &mut Conn) -> Result<Option<TicketForm>, DbError> {
    let row = conn
        .fetch_optional(
            "SELECT * FROM ticket_forms WHERE active = ? AND audience = ? ORDER BY position, id LIMIT 1",
            &args![true, Audience::Partners.as_str()],
        )
        .await?;
    one(conn, row).await
}

pub async fn create(conn: &mut Conn, f: &FormFields, actor: &AuditActor) -> Result<TicketForm, DbError> {
    let t = now();
    if f.is_default {
        // One default form: the new one replaces the old.
        conn.execute(
            "UPDATE ticket_forms SET is_default = ?, updated_at = ? WHERE is_default = ?",
            &args![false, t, true],
        )
        .await?;
    }
    let id = conn
        .insert(
            "INSERT INTO ticket_forms (name, name_key, display_name, position, active, is_default, audience, group_id, priority, tags, \
             end_user_conditions, agent_conditions, field_routing, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            &args![
                f.name.as_str(),
                f.name.to_lowercase(),
                f.display_name.as_str(),
                f.position,
                f.active,
                f.is_default,
                f.audience.as_str(),
                f.group_id.map(|g| g.0),
                f.priority.map(|p| p.as_str()),
                tags::to_stored(&f.tags),
                conditions_to_stored(&f.end_user_conditions)?,
                conditions_to_stored(&f.agent_conditions)?,
                routing_to_stored(&f.field_routing)?,
                t,
                t
            ],
        )
        .await?;
    ticket_fields::set_form_fields(conn, FormId(id), &f.ticket_field_ids).await?;
    let form = get(conn, FormId(id)).await?;
    let change = Change {
        action: "ticket_form.create",
        entity_type: "ticket_form",
        entity_id: id,
        organization_id: None,
        before: None::<&()>,
        after: Some(&form),
    };
    audit::record(conn, actor, change).await?;
    Ok(form)
}

pub async fn update(
    conn: &mut Conn,
    before: &TicketForm,
    f: &FormFields,
    actor: &AuditActor,
) -> Result<TicketForm, DbError> {
    let t = now();
    if f.is_default && !before.is_default {
        conn.execute(
            "UPDATE ticket_forms SET is_default = ?, updated_at = ? WHERE is_default = ?",
            &args![false, t, true],
        )
        .await?;
    }
    conn.execute(
        "UPDATE ticket_forms SET name = ?, name_key = ?, display_name = ?, position = ?, active = ?, is_default = ?, \
         audience = ?, group_id = ?, priority = ?, tags = ?, end_user_conditions = ?, agent_conditions = ?, field_routing = ?, \
         updated_at = ? \
         WHERE id = ?",
        &args![
            f.name.as_str(),
            f.name.to_lowercase(),
            f.display_name.as_str(),
            f.position,
            f.active,
            f.is_default,
            f.audience.as_str(),
            f.group_id.map(|g| g.0),
            f.priority.map(|p| p.as_str()),
            tags::to_stored(&f.tags),
            conditions_to_stored(&f.end_user_conditions)?,
            conditions_to_stored(&f.agent_conditions)?,
            routing_to_stored(&f.field_routing)?,
            t,
            before.id.0
        ],
    )
    .await?;
    if f.ticket_field_ids != before.ticket_field_ids {
        ticket_fields::set_form_fields(conn, before.id, &f.ticket_field_ids).await?;
    }
    let after = get(conn, before.id).await?;
    let change = Change {
        action: "ticket_form.update",
        entity_type: "ticket_form",
        entity_id: before.id.0,
        organization_id: None,
        before: Some(before),
        after: Some(&after),
    };
    audit::record(conn, actor, change).await?;
    Ok(after)
}

/// Whether any ticket was filed through the form (such a form is deactivated, not deleted).
pub async fn in_use(conn: &mut Conn, id: FormId) -> Result<bool, DbError> {
    Ok(conn
        .fetch_optional(
            "SELECT 1 AS one FROM tickets WHERE ticket_form_id = ? LIMIT 1",
            &args![id.0],
        )
        .await?
        .is_some())
}

pub async fn delete(conn: &mut Conn, form: &TicketForm, actor: &AuditActor) -> Result<(), DbError> {
    conn.execute("DELETE FROM ticket_forms WHERE id = ?", &args![form.id.0])
        .await?;
    let change = Change {
        action: "ticket_form.delete",
        entity_type: "ticket_form",
        entity_id: form.id.0,
        organization_id: None,
        before: Some(form),
        after: None::<&()>,
    };
    audit::record(conn, actor, change).await?;
    Ok(())
}
