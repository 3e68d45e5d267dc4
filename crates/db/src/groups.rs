//! Groups of agents; tickets are routed to a group (the partner queue is one).

use chrono::{DateTime, Utc};
use partnerdesk_core::GroupId;
use serde::Serialize;

use crate::audit::{self, AuditActor, Change};
use crate::conn::{Conn, Row};
use crate::error::DbError;
use crate::{Page, Window, args, now};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    pub id: GroupId,
    pub name: String,
    pub description: String,
    pub is_default: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn from_row(r: &Row) -> Result<Group, DbError> {
    Ok(Group {
        id: GroupId(r.i64("id")?),
        name: r.text("name")?,
        description: r.text("description")?,
        is_default: r.boolean("is_default")?,
        created_at: r.time("created_at")?,
        updated_at: r.time("updated_at")?,
    })
}

pub async fn get(conn: &mut Conn, id: GroupId) -> Result<Group, DbError> {
    from_row(
        &conn
            .fetch_one("SELECT * FROM agent_groups WHERE id = ?", &args![id.0])
            .await?,
    )
}

pub async fn by_name(conn: &mut Conn, name: &str) -> Result<Group, DbError> {
    from_row(
        &conn
            .fetch_one(
                "SELECT * FROM agent_groups WHERE name_key = ?",
                &args![name.trim().to_lowercase()],
            )
            .await?,
    )
}

pub async fn list(conn: &mut Conn, window: Window) -> Result<Page<Group>, DbError> {
    let mut a = Vec::new();
    let sql = format!("SELECT * FROM agent_groups WHERE 1 = 1{}", window.sql("id", &mut a));
    Page::from_rows(conn.fetch_all(&sql, &a).await?, &window, from_row)
}

pub async fn count(conn: &mut Conn) -> Result<i64, DbError> {
    conn.fetch_one("SELECT COUNT(*) AS n FROM agent_groups", &[])
        .await?
        .i64("n")
}

pub async fn create(conn: &mut Conn, name: &str, description: &str, actor: &AuditActor) -> Result<Group, DbError> {
    let t = now();
    let id = conn
        .insert(
            "INSERT INTO agent_groups (name, name_key, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
            &args![name, name.to_lowercase(), description, t, t],
        )
        .await?;
    let group = get(conn, GroupId(id)).await?;
    let change = Change {
        action: "group.create",
        entity_type: "group",
        entity_id: id,
        organization_id: None,
        before: None::<&()>,
        after: Some(&group),
    };
    audit::record(conn, actor, change).await?;
    Ok(group)
}
