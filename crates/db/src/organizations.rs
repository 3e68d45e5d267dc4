//! Organizations: the partner companies, with the staff-only notes and details agents must see.

use chrono::{DateTime, Utc};
use partnerdesk_core::policy::OrgScope;
use partnerdesk_core::{OrgId, UserId, tags};
use serde::Serialize;

use crate::audit::{self, AuditActor, Change};
use crate::conn::{Arg, Conn, Row};
use crate::error::DbError;
use crate::{Page, Window, args, now};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Organization {
    pub id: OrgId,
    pub name: String,
    pub notes: String,
    pub details: String,
    pub domain_names: Vec<String>,
    pub tags: Vec<String>,
    pub alliance_partner: bool,
    pub account_manager_id: Option<UserId>,
    pub notes_updated_at: Option<DateTime<Utc>>,
    pub notes_updated_by_id: Option<UserId>,
    /// The caller's own key for the organization (Zendesk's `external_id`), unique among organizations.
    pub external_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The fields a caller sets; `create` and `update` take the whole record, so a partial update is
/// "read, change some fields, write".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrgFields {
    pub name: String,
    pub notes: String,
    pub details: String,
    pub domain_names: Vec<String>,
    pub tags: Vec<String>,
    pub alliance_partner: bool,
    pub account_manager_id: Option<UserId>,
    pub external_id: Option<String>,
}

impl Organization {
    pub fn fields(&self) -> OrgFields {
        OrgFields {
            name: self.name.clone(),
            notes: self.notes.clone(),
            details: self.details.clone(),
            domain_names: self.domain_names.clone(),
            tags: self.tags.clone(),
            alliance_partner: self.alliance_partner,
            account_manager_id: self.account_manager_id,
            external_id: self.external_id.clone(),
        }
    }
}

pub(crate) fn from_row(r: &Row) -> Result<Organization, DbError> {
    Ok(Organization {
        id: OrgId(r.i64("id")?),
        name: r.text("name")?,
        notes: r.text("notes")?,
        details: r.text("details")?,
        domain_names: tags::from_stored(&r.text("domain_names")?),
        tags: tags::from_stored(&r.text("tags")?),
        alliance_partner: r.boolean("alliance_partner")?,
        account_manager_id: r.opt_i64("account_manager_id")?.map(UserId),
        notes_updated_at: r.opt_time("notes_updated_at")?,
        notes_updated_by_id: r.opt_i64("notes_updated_by_id")?.map(UserId),
        external_id: r.opt_text("external_id")?,
        created_at: r.time("created_at")?,
        updated_at: r.time("updated_at")?,
    })
}

/// `AND ...` restricting organizations to what `scope` may see.
fn scope_sql(scope: OrgScope, args: &mut Vec<Arg>) -> &'static str {
    match scope {
        OrgScope::All => "",
        OrgScope::Only(id) => {
            args.push(Arg::I64(id.0));
            " AND id = ?"
        }
        OrgScope::Nothing => " AND 1 = 0",
    }
}

pub async fn get(conn: &mut Conn, id: OrgId, scope: OrgScope) -> Result<Organization, DbError> {
    let mut a = args![id.0].to_vec();
    let sql = format!("SELECT * FROM organizations WHERE id = ?{}", scope_sql(scope, &mut a));
    from_row(&conn.fetch_one(&sql, &a).await?)
}

/// The organization, locked until the transaction `conn` ends (see `tickets::get_for_update`).
pub async fn get_for_update(conn: &mut Conn, id: OrgId, scope: OrgScope) -> Result<Organization, DbError> {
    let mut a = args![id.0].to_vec();
    let sql = format!(
        "SELECT * FROM organizations WHERE id = ?{}{}",
        scope_sql(scope, &mut a),
        conn.lock_rows()
    );
    from_row(&conn.fetch_one(&sql, &a).await?)
}

/// The organization with this external id, locked until the transaction `conn` ends.
pub async fn by_external_id_for_update(conn: &mut Conn, external_id: &str) -> Result<Organization, DbError> {
    let sql = format!("SELECT * FROM organizations WHERE external_id = ?{}", conn.lock_rows());
    from_row(&conn.fetch_one(&sql, &args![external_id]).await?)
}

/// The organization of this name (case-insensitive), locked until the transaction `conn` ends.
pub async fn by_name_for_update(conn: &mut Conn, name: &str) -> Result<Organization, DbError> {
    let sql = format!("SELECT * FROM organizations WHERE name_key = ?{}", conn.lock_rows());
    from_row(&conn.fetch_one(&sql, &args![name.trim().to_lowercase()]).await?)
}

pub async fn by_name(conn: &mut Conn, name: &str) -> Result<Organization, DbError> {
    from_row(
        &conn
            .fetch_one(
                "SELECT * FROM organizations WHERE name_key = ?",
                &args![name.trim().to_lowercase()],
            )
            .await?,
    )
}

/// `AND external_id = ?` when a caller filters by one.
fn external_sql(external_id: Option<&str>, args: &mut Vec<Arg>) -> &'static str {
    match external_id {
        Some(x) => {
            args.push(Arg::Text(x.to_owned()));
            " AND external_id = ?"
        }
        None => "",
    }
}

pub async fn list(
    conn: &mut Conn,
    scope: OrgScope,
    external_id: Option<&str>,
    window: Window,
) -> Result<Page<Organization>, DbError> {
    let mut a = Vec::new();
    let filter = format!("{}{}", scope_sql(scope, &mut a), external_sql(external_id, &mut a));
    let sql = format!(
        "SELECT * FROM organizations WHERE 1 = 1{filter}{}",
        window.sql("id", &mut a)
    );
    Page::from_rows(conn.fetch_all(&sql, &a).await?, &window, from_row)
}

pub async fn count(conn: &mut Conn, scope: OrgScope, external_id: Option<&str>) -> Result<i64, DbError> {
    let mut a = Vec::new();
    let sql = format!(
        "SELECT COUNT(*) AS n FROM organizations WHERE 1 = 1{}{}",
        scope_sql(scope, &mut a),
        external_sql(external_id, &mut a)
    );
    conn.fetch_one(&sql, &a).await?.i64("n")
}

/// How `name_search` compares names (always case-insensitive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameMatch {
    /// The name starts with the text (Zendesk's autocomplete).
    Prefix,
    /// The name is the text (Zendesk's search by name).
    Exact,
}

fn name_sql(text: &str, how: NameMatch, scope: OrgScope, a: &mut Vec<Arg>) -> String {
    let key = text.trim().to_lowercase();
    let test = match how {
        NameMatch::Prefix => {
            a.push(Arg::Text(format!("{}%", crate::like_literal(&key))));
            r"name_key LIKE ? ESCAPE '\'"
        }
        NameMatch::Exact => {
            a.push(Arg::Text(key));
            "name_key = ?"
        }
    };
    format!("{test}{}", scope_sql(scope, a))
}

/// Organizations in `scope` whose name matches `text`, in id order.
pub async fn name_search(
    conn: &mut Conn,
    text: &str,
    how: NameMatch,
    scope: OrgScope,
    window: Window,
) -> Result<Page<Organization>, DbError> {
    let mut a = Vec::new();
    let filter = name_sql(text, how, scope, &mut a);
    let sql = format!("SELECT * FROM organizations WHERE {filter}{}", window.sql("id", &mut a));
    Page::from_rows(conn.fetch_all(&sql, &a).await?, &window, from_row)
}

pub async fn count_name_search(conn: &mut Conn, text: &str, how: NameMatch, scope: OrgScope) -> Result<i64, DbError> {
    let mut a = Vec::new();
    let sql = format!(
        "SELECT COUNT(*) AS n FROM organizations WHERE {}",
        name_sql(text, how, scope, &mut a)
    );
    conn.fetch_one(&sql, &a).await?.i64("n")
}

pub async fn create(conn: &mut Conn, f: &OrgFields, actor: &AuditActor) -> Result<Organization, DbError> {
    let t = now();
    let notes_at = (!f.notes.is_empty() || !f.details.is_empty()).then_some(t);
    let id = conn
        .insert(
            "INSERT INTO organizations (name, name_key, notes, details, domain_names, tags, alliance_partner, account_manager_id, \
             notes_updated_at, notes_updated_by_id, external_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            &args![
                f.name.as_str(),
                f.name.to_lowercase(),
                f.notes.as_str(),
                f.details.as_str(),
                tags::to_stored(&f.domain_names),
                tags::to_stored(&f.tags),
                f.alliance_partner,
                f.account_manager_id.map(|u| u.0),
                notes_at,
                notes_at.and(actor.id),
                f.external_id.as_deref(),
                t,
                t
            ],
        )
        .await?;
    let org = get(conn, OrgId(id), OrgScope::All).await?;
    let change = Change {
        action: "organization.create",
        entity_type: "organization",
        entity_id: id,
        organization_id: Some(id),
        before: None::<&()>,
        after: Some(&org),
    };
    audit::record(conn, actor, change).await?;
    Ok(org)
}

pub async fn update(
    conn: &mut Conn,
    before: &Organization,
    f: &OrgFields,
    actor: &AuditActor,
) -> Result<Organization, DbError> {
    let t = now();
    let notes_changed = f.notes != before.notes || f.details != before.details;
    let (notes_at, notes_by) = if notes_changed {
        (Some(t), actor.id)
    } else {
        (before.notes_updated_at, before.notes_updated_by_id.map(|u| u.0))
    };
    conn.execute(
        "UPDATE organizations SET name = ?, name_key = ?, notes = ?, details = ?, domain_names = ?, tags = ?, alliance_partner = ?, \
         account_manager_id = ?, notes_updated_at = ?, notes_updated_by_id = ?, external_id = ?, updated_at = ? WHERE id = ?",
        &args![
            f.name.as_str(),
            f.name.to_lowercase(),
            f.notes.as_str(),
            f.details.as_str(),
            tags::to_stored(&f.domain_names),
            tags::to_stored(&f.tags),
            f.alliance_partner,
            f.account_manager_id.map(|u| u.0),
            notes_at,
            notes_by,
            f.external_id.as_deref(),
            t,
            before.id.0
        ],
    )
    .await?;
    let after = get(conn, before.id, OrgScope::All).await?;
    let change = Change {
        action: "organization.update",
        entity_type: "organization",
        entity_id: before.id.0,
        organization_id: Some(before.id.0),
        before: Some(before),
        after: Some(&after),
    };
    audit::record(conn, actor, change).await?;
    Ok(after)
}

pub async fn delete(conn: &mut Conn, org: &Organization, actor: &AuditActor) -> Result<(), DbError> {
    conn.execute("DELETE FROM organizations WHERE id = ?", &args![org.id.0])
        .await?;
    let change = Change {
        action: "organization.delete",
        entity_type: "organization",
        entity_id: org.id.0,
        organization_id: Some(org.id.0),
        before: Some(org),
        after: None::<&()>,
    };
    audit::record(conn, actor, change).await?;
    Ok(())
}

/// Organizations by id (for showing names in lists).
pub async fn by_ids(conn: &mut Conn, ids: &[OrgId]) -> Result<Vec<Organization>, DbError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let marks = vec!["?"; ids.len()].join(", ");
    let a: Vec<Arg> = ids.iter().map(|o| Arg::I64(o.0)).collect();
    conn.fetch_all(&format!("SELECT * FROM organizations WHERE id IN ({marks})"), &a)
        .await?
        .iter()
        .map(from_row)
        .collect()
}
