//! Ticket forms: data that decides who may file through them and where their tickets are routed.

use chrono::{DateTime, Utc};
use partnerdesk_core::routing::FormRule;
use partnerdesk_core::tickets::{Audience, Priority};
use partnerdesk_core::{FormId, GroupId, tags};
use serde::Serialize;

use crate::audit::{self, AuditActor, Change};
use crate::conn::{Conn, Row};
use crate::error::DbError;
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
}

impl TicketForm {
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
        created_at: r.time("created_at")?,
        updated_at: r.time("updated_at")?,
    })
}

pub async fn get(conn: &mut Conn, id: FormId) -> Result<TicketForm, DbError> {
    from_row(
        &conn
            .fetch_one("SELECT * FROM ticket_forms WHERE id = ?", &args![id.0])
            .await?,
    )
}

/// All forms in display order (there are a handful; Zendesk does not paginate them either).
pub async fn list(conn: &mut Conn) -> Result<Vec<TicketForm>, DbError> {
    conn.fetch_all("SELECT * FROM ticket_forms ORDER BY position, id", &[])
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// The active default form, used when a ticket names none.
pub async fn default_form(conn: &mut Conn) -> Result<Option<TicketForm>, DbError> {
    let row = conn
        .fetch_optional(
            "SELECT * FROM ticket_forms WHERE active = ? AND is_default = ? ORDER BY position, id LIMIT 1",
            &args![true, true],
        )
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The active partner form: every alliance partner's ticket is routed by it.
pub async fn partner_form(conn: &mut Conn) -> Result<Option<TicketForm>, DbError> {
    let row = conn
        .fetch_optional(
            "SELECT * FROM ticket_forms WHERE active = ? AND audience = ? ORDER BY position, id LIMIT 1",
            &args![true, Audience::Partners.as_str()],
        )
        .await?;
    row.as_ref().map(from_row).transpose()
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
             created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
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
                t,
                t
            ],
        )
        .await?;
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
