//! The append-only audit log. Rows are written by the store functions that make the change, inside the same
//! transaction, so a change without its audit row cannot exist.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::conn::{Conn, Row};
use crate::error::DbError;
use crate::{Page, Window, args, now};

/// Who did it: a signed-in user, or the operator at the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditActor {
    pub id: Option<i64>,
    pub label: String,
}

impl AuditActor {
    pub fn user(id: i64, email: &str) -> AuditActor {
        AuditActor {
            id: Some(id),
            label: email.to_owned(),
        }
    }

    /// The operator running an admin command on the server's machine.
    pub fn cli() -> AuditActor {
        AuditActor {
            id: None,
            label: "cli".to_owned(),
        }
    }
}

/// What is recorded about one change.
pub struct Change<'a, B: Serialize, A: Serialize> {
    pub action: &'a str,
    pub entity_type: &'a str,
    pub entity_id: i64,
    pub organization_id: Option<i64>,
    pub before: Option<&'a B>,
    pub after: Option<&'a A>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub actor_id: Option<i64>,
    pub actor_label: String,
    pub action: String,
    pub entity_type: String,
    pub entity_id: Option<i64>,
    pub organization_id: Option<i64>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
}

fn to_json<T: Serialize>(v: Option<&T>) -> Result<Option<String>, DbError> {
    v.map(|v| serde_json::to_string(v).map_err(|e| DbError::Corrupt(e.to_string())))
        .transpose()
}

/// Appends one audit row; returns its id.
pub async fn record<B: Serialize, A: Serialize>(
    conn: &mut Conn,
    actor: &AuditActor,
    c: Change<'_, B, A>,
) -> Result<i64, DbError> {
    conn.insert(
        "INSERT INTO audit_log (actor_id, actor_label, action, entity_type, entity_id, organization_id, before_json, after_json, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        &args![actor.id, actor.label.as_str(), c.action, c.entity_type, c.entity_id, c.organization_id, to_json(c.before)?, to_json(c.after)?, now()],
    )
    .await
}

pub(crate) fn from_row(r: &Row) -> Result<AuditEntry, DbError> {
    let json = |col: &str| -> Result<Option<serde_json::Value>, DbError> {
        r.opt_text(col)?
            .map(|s| serde_json::from_str(&s).map_err(|e| DbError::Corrupt(e.to_string())))
            .transpose()
    };
    Ok(AuditEntry {
        id: r.i64("id")?,
        actor_id: r.opt_i64("actor_id")?,
        actor_label: r.text("actor_label")?,
        action: r.text("action")?,
        entity_type: r.text("entity_type")?,
        entity_id: r.opt_i64("entity_id")?,
        organization_id: r.opt_i64("organization_id")?,
        before: json("before_json")?,
        after: json("after_json")?,
        created_at: r.time("created_at")?,
    })
}

/// The trail of one record, oldest first.
pub async fn for_entity(
    conn: &mut Conn,
    entity_type: &str,
    entity_id: i64,
    window: Window,
) -> Result<Page<AuditEntry>, DbError> {
    let mut a = args![entity_type, entity_id].to_vec();
    let sql = format!(
        "SELECT * FROM audit_log WHERE entity_type = ? AND entity_id = ?{}",
        window.sql("id", &mut a)
    );
    Page::from_rows(conn.fetch_all(&sql, &a).await?, &window, from_row)
}

/// Everything recorded about one organization, oldest first.
pub async fn for_organization(
    conn: &mut Conn,
    organization_id: i64,
    window: Window,
) -> Result<Page<AuditEntry>, DbError> {
    let mut a = args![organization_id].to_vec();
    let sql = format!(
        "SELECT * FROM audit_log WHERE organization_id = ?{}",
        window.sql("id", &mut a)
    );
    Page::from_rows(conn.fetch_all(&sql, &a).await?, &window, from_row)
}

/// The newest `limit` entries of an organization whose action starts with `action_prefix`, oldest first.
pub async fn for_organization_actions(
    conn: &mut Conn,
    organization_id: i64,
    action_prefix: &str,
    limit: i64,
) -> Result<Vec<AuditEntry>, DbError> {
    let rows = conn
        .fetch_all(
            "SELECT * FROM audit_log WHERE organization_id = ? AND action LIKE ? ORDER BY id DESC LIMIT ?",
            &args![organization_id, format!("{action_prefix}%"), limit],
        )
        .await?;
    let mut out = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    out.reverse();
    Ok(out)
}
