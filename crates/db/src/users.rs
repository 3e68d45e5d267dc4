//! People and their credentials: accounts (always provisioned by staff), API tokens and invitations.
//! Password hashes and token digests never leave this module inside a `User`.

use chrono::{DateTime, Utc};
use partnerdesk_core::accounts::{Role, UserStatus};
use partnerdesk_core::policy::Actor;
use partnerdesk_core::{OrgId, UserId};
use serde::Serialize;

use crate::audit::{self, AuditActor, Change};
use crate::conn::{Arg, Conn, Row};
use crate::error::DbError;
use crate::{Page, Window, args, now, parse_enum};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub is_account_manager: bool,
    pub is_support_manager: bool,
    pub organization_id: Option<OrgId>,
    pub status: UserStatus,
    pub has_password: bool,
    pub provisioned_by_id: Option<UserId>,
    pub time_zone: String,
    /// The caller's own key for the account (Zendesk's `external_id`), unique among users.
    pub external_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The fields a caller sets (see `organizations::OrgFields` for the update pattern).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserFields {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub is_account_manager: bool,
    pub is_support_manager: bool,
    pub organization_id: Option<OrgId>,
    pub status: UserStatus,
    pub time_zone: String,
    pub external_id: Option<String>,
}

impl User {
    pub fn fields(&self) -> UserFields {
        UserFields {
            email: self.email.clone(),
            name: self.name.clone(),
            role: self.role,
            is_account_manager: self.is_account_manager,
            is_support_manager: self.is_support_manager,
            organization_id: self.organization_id,
            status: self.status,
            time_zone: self.time_zone.clone(),
            external_id: self.external_id.clone(),
        }
    }

    pub fn actor(&self) -> Actor {
        Actor {
            id: self.id,
            role: self.role,
            org_id: self.organization_id,
            is_account_manager: self.is_account_manager,
            is_support_manager: self.is_support_manager,
        }
    }

    /// See `partnerdesk_core::accounts::may_take_escalations`.
    pub fn may_take_escalations(&self) -> bool {
        partnerdesk_core::accounts::may_take_escalations(self.role, self.is_support_manager, self.status)
    }

    pub fn may_handle_escalations(&self) -> bool {
        partnerdesk_core::accounts::may_handle_escalations(self.role, self.is_support_manager, self.status)
    }

    pub fn audit_actor(&self) -> AuditActor {
        AuditActor::user(self.id.0, &self.email)
    }
}

pub(crate) const COLUMNS: &str = "id, email, name, role, is_account_manager, is_support_manager, organization_id, status, \
    password_hash IS NOT NULL AS has_password, provisioned_by_id, time_zone, external_id, created_at, updated_at";

pub(crate) fn from_row(r: &Row) -> Result<User, DbError> {
    Ok(User {
        id: UserId(r.i64("id")?),
        email: r.text("email")?,
        name: r.text("name")?,
        role: parse_enum("role", &r.text("role")?, Role::parse)?,
        is_account_manager: r.boolean("is_account_manager")?,
        is_support_manager: r.boolean("is_support_manager")?,
        organization_id: r.opt_i64("organization_id")?.map(OrgId),
        status: parse_enum("status", &r.text("status")?, UserStatus::parse)?,
        has_password: r.boolean("has_password")?,
        provisioned_by_id: r.opt_i64("provisioned_by_id")?.map(UserId),
        time_zone: r.text("time_zone")?,
        external_id: r.opt_text("external_id")?,
        created_at: r.time("created_at")?,
        updated_at: r.time("updated_at")?,
    })
}

pub async fn get(conn: &mut Conn, id: UserId) -> Result<User, DbError> {
    from_row(
        &conn
            .fetch_one(&format!("SELECT {COLUMNS} FROM users WHERE id = ?"), &args![id.0])
            .await?,
    )
}

/// The user, locked until the transaction `conn` ends (see `tickets::get_for_update`).
pub async fn get_for_update(conn: &mut Conn, id: UserId) -> Result<User, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE id = ?{}", conn.lock_rows());
    from_row(&conn.fetch_one(&sql, &args![id.0]).await?)
}

/// The user with this external id, locked until the transaction `conn` ends.
pub async fn by_external_id_for_update(conn: &mut Conn, external_id: &str) -> Result<User, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE external_id = ?{}", conn.lock_rows());
    from_row(&conn.fetch_one(&sql, &args![external_id]).await?)
}

/// The user with this e-mail address, locked until the transaction `conn` ends.
pub async fn by_email_for_update(conn: &mut Conn, email: &str) -> Result<User, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE email = ?{}", conn.lock_rows());
    from_row(&conn.fetch_one(&sql, &args![email.trim().to_lowercase()]).await?)
}

pub async fn by_email(conn: &mut Conn, email: &str) -> Result<User, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE email = ?");
    from_row(&conn.fetch_one(&sql, &args![email.trim().to_lowercase()]).await?)
}

/// Filters for listing users.
#[derive(Debug, Clone, Copy, Default)]
pub struct UserFilter<'a> {
    pub organization_id: Option<OrgId>,
    pub role: Option<Role>,
    pub external_id: Option<&'a str>,
}

fn filter_sql(f: &UserFilter<'_>, a: &mut Vec<Arg>) -> String {
    let mut s = String::new();
    if let Some(org) = f.organization_id {
        s.push_str(" AND organization_id = ?");
        a.push(Arg::I64(org.0));
    }
    if let Some(role) = f.role {
        s.push_str(" AND role = ?");
        a.push(Arg::Text(role.as_str().to_owned()));
    }
    if let Some(x) = f.external_id {
        s.push_str(" AND external_id = ?");
        a.push(Arg::Text(x.to_owned()));
    }
    s
}

pub async fn list(conn: &mut Conn, f: &UserFilter<'_>, window: Window) -> Result<Page<User>, DbError> {
    let mut a = Vec::new();
    let filter = filter_sql(f, &mut a);
    let sql = format!(
        "SELECT {COLUMNS} FROM users WHERE 1 = 1{filter}{}",
        window.sql("id", &mut a)
    );
    Page::from_rows(conn.fetch_all(&sql, &a).await?, &window, from_row)
}

pub async fn count(conn: &mut Conn, f: &UserFilter<'_>) -> Result<i64, DbError> {
    let mut a = Vec::new();
    let sql = format!("SELECT COUNT(*) AS n FROM users WHERE 1 = 1{}", filter_sql(f, &mut a));
    conn.fetch_one(&sql, &a).await?.i64("n")
}

/// People whose name or e-mail address contains `needle` (case-insensitive), in id order; with `only`, at most that
/// one person (an end-user's search finds themselves alone, as their other reads do).
pub async fn search(
    conn: &mut Conn,
    needle: &str,
    only: Option<UserId>,
    window: Window,
) -> Result<Page<User>, DbError> {
    let (filter, mut a) = search_sql(needle, only);
    let sql = format!("SELECT {COLUMNS} FROM users WHERE {filter}{}", window.sql("id", &mut a));
    Page::from_rows(conn.fetch_all(&sql, &a).await?, &window, from_row)
}

pub async fn count_search(conn: &mut Conn, needle: &str, only: Option<UserId>) -> Result<i64, DbError> {
    let (filter, a) = search_sql(needle, only);
    conn.fetch_one(&format!("SELECT COUNT(*) AS n FROM users WHERE {filter}"), &a)
        .await?
        .i64("n")
}

/// E-mail addresses are stored lower-case; names are compared lower-cased on both sides.
fn search_sql(needle: &str, only: Option<UserId>) -> (String, Vec<Arg>) {
    let pattern = format!("%{}%", crate::like_literal(&needle.to_lowercase()));
    let mut a = args![pattern.clone(), pattern].to_vec();
    let mut s = r"(LOWER(name) LIKE ? ESCAPE '\' OR email LIKE ? ESCAPE '\')".to_owned();
    if let Some(id) = only {
        s.push_str(" AND id = ?");
        a.push(Arg::I64(id.0));
    }
    (s, a)
}

/// Creates an account. With `password_hash` it is active at once; without, it waits for an invitation.
pub async fn create(
    conn: &mut Conn,
    f: &UserFields,
    password_hash: Option<&str>,
    actor: &AuditActor,
) -> Result<User, DbError> {
    let t = now();
    let id = conn
        .insert(
            "INSERT INTO users (email, name, role, is_account_manager, is_support_manager, organization_id, status, password_hash, \
             provisioned_by_id, time_zone, external_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            &args![
                f.email.as_str(),
                f.name.as_str(),
                f.role.as_str(),
                f.is_account_manager,
                f.is_support_manager,
                f.organization_id.map(|o| o.0),
                f.status.as_str(),
                password_hash,
                actor.id,
                f.time_zone.as_str(),
                f.external_id.as_deref(),
                t,
                t
            ],
        )
        .await?;
    let user = get(conn, UserId(id)).await?;
    let change = Change {
        action: "user.create",
        entity_type: "user",
        entity_id: id,
        organization_id: user.organization_id.map(|o| o.0),
        before: None::<&()>,
        after: Some(&user),
    };
    audit::record(conn, actor, change).await?;
    Ok(user)
}

pub async fn update(conn: &mut Conn, before: &User, f: &UserFields, actor: &AuditActor) -> Result<User, DbError> {
    conn.execute(
        "UPDATE users SET email = ?, name = ?, role = ?, is_account_manager = ?, is_support_manager = ?, organization_id = ?, \
         status = ?, time_zone = ?, external_id = ?, updated_at = ? WHERE id = ?",
        &args![
            f.email.as_str(),
            f.name.as_str(),
            f.role.as_str(),
            f.is_account_manager,
            f.is_support_manager,
            f.organization_id.map(|o| o.0),
            f.status.as_str(),
            f.time_zone.as_str(),
            f.external_id.as_deref(),
            now(),
            before.id.0
        ],
    )
    .await?;
    let after = get(conn, before.id).await?;
    let action = match (before.status, after.status) {
        (s, UserStatus::Suspended) if s != UserStatus::Suspended => "user.suspend",
        (UserStatus::Suspended, s) if s != UserStatus::Suspended => "user.reactivate",
        _ => "user.update",
    };
    let change = Change {
        action,
        entity_type: "user",
        entity_id: before.id.0,
        organization_id: after.organization_id.map(|o| o.0),
        before: Some(before),
        after: Some(&after),
    };
    audit::record(conn, actor, change).await?;
    Ok(after)
}

/// The stored argon2 hash, if the user has set a password.
pub async fn password_hash(conn: &mut Conn, id: UserId) -> Result<Option<String>, DbError> {
    conn.fetch_one("SELECT password_hash FROM users WHERE id = ?", &args![id.0])
        .await?
        .opt_text("password_hash")
}

/// Sets a password; an invited account becomes active (a suspended one stays suspended).
pub async fn set_password(conn: &mut Conn, user: &User, hash: &str, actor: &AuditActor) -> Result<User, DbError> {
    // A link must not set the password again once the person has chosen one.
    revoke_invitations(conn, user.id).await?;
    conn.execute(
        "UPDATE users SET password_hash = ?, status = CASE WHEN status = 'invited' THEN 'active' ELSE status END, updated_at = ? WHERE id = ?",
        &args![hash, now(), user.id.0],
    )
    .await?;
    let after = get(conn, user.id).await?;
    let change = Change {
        action: "user.set_password",
        entity_type: "user",
        entity_id: user.id.0,
        organization_id: user.organization_id.map(|o| o.0),
        before: Some(user),
        after: Some(&after),
    };
    audit::record(conn, actor, change).await?;
    Ok(after)
}

/// Stores a new API token's digest for `user` (the token itself is shown once by the caller).
pub async fn add_api_token(
    conn: &mut Conn,
    user: &User,
    digest: &str,
    description: &str,
    actor: &AuditActor,
) -> Result<i64, DbError> {
    let id = conn
        .insert(
            "INSERT INTO api_tokens (user_id, digest, description, created_at) VALUES (?, ?, ?, ?) RETURNING id",
            &args![user.id.0, digest, description, now()],
        )
        .await?;
    let after = serde_json::json!({ "token_id": id, "user_id": user.id, "description": description });
    let change = Change {
        action: "api_token.create",
        entity_type: "user",
        entity_id: user.id.0,
        organization_id: user.organization_id.map(|o| o.0),
        before: None::<&()>,
        after: Some(&after),
    };
    audit::record(conn, actor, change).await?;
    Ok(id)
}

/// The user owning the API token with this digest.
pub async fn by_api_token(conn: &mut Conn, digest: &str) -> Result<User, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE id = (SELECT user_id FROM api_tokens WHERE digest = ?)");
    from_row(&conn.fetch_one(&sql, &args![digest]).await?)
}

/// Records an invitation (single use, expiring) for `user`; returns its id.
pub async fn add_invitation(
    conn: &mut Conn,
    user: &User,
    digest: &str,
    expires_at: DateTime<Utc>,
    actor: &AuditActor,
) -> Result<i64, DbError> {
    // Only the latest link works.
    revoke_invitations(conn, user.id).await?;
    let id = conn
        .insert(
            "INSERT INTO invitations (user_id, digest, expires_at, created_by_id, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
            &args![user.id.0, digest, expires_at, actor.id, now()],
        )
        .await?;
    let after = serde_json::json!({ "invitation_id": id, "user_id": user.id, "expires_at": expires_at });
    let change = Change {
        action: "user.invite",
        entity_type: "user",
        entity_id: user.id.0,
        organization_id: user.organization_id.map(|o| o.0),
        before: None::<&()>,
        after: Some(&after),
    };
    audit::record(conn, actor, change).await?;
    Ok(id)
}

/// Revokes every invitation of `user` not used yet.
async fn revoke_invitations(conn: &mut Conn, user: UserId) -> Result<(), DbError> {
    conn.execute(
        "UPDATE invitations SET revoked_at = ? WHERE user_id = ? AND used_at IS NULL AND revoked_at IS NULL",
        &args![now(), user.0],
    )
    .await?;
    Ok(())
}

/// Why an invitation cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationState {
    Usable,
    Used,
    Expired,
    /// A newer invitation was issued, or the password was set another way.
    Revoked,
}

/// Whether the invitation with this digest could be used now (`NotFound` when there is none).
pub async fn invitation_state(conn: &mut Conn, digest: &str) -> Result<InvitationState, DbError> {
    let row = conn
        .fetch_one(
            "SELECT used_at, revoked_at, expires_at FROM invitations WHERE digest = ?",
            &args![digest],
        )
        .await?;
    Ok(if row.opt_time("used_at")?.is_some() {
        InvitationState::Used
    } else if row.opt_time("revoked_at")?.is_some() {
        InvitationState::Revoked
    } else if row.time("expires_at")? <= now() {
        InvitationState::Expired
    } else {
        InvitationState::Usable
    })
}

/// Claims the invitation with this digest (marks it used) and returns its user. The claim is one conditional
/// UPDATE, so two concurrent uses of one link cannot both succeed.
pub async fn claim_invitation(conn: &mut Conn, digest: &str) -> Result<Result<User, InvitationState>, DbError> {
    let t = now();
    let claimed = conn
        .fetch_optional(
            "UPDATE invitations SET used_at = ? WHERE digest = ? AND used_at IS NULL AND revoked_at IS NULL \
             AND expires_at > ? RETURNING user_id",
            &args![t, digest, t],
        )
        .await?;
    if let Some(row) = claimed {
        return Ok(Ok(get(conn, UserId(row.i64("user_id")?)).await?));
    }
    let row = conn
        .fetch_one(
            "SELECT used_at, revoked_at FROM invitations WHERE digest = ?",
            &args![digest],
        )
        .await?;
    Ok(Err(if row.opt_time("used_at")?.is_some() {
        InvitationState::Used
    } else if row.opt_time("revoked_at")?.is_some() {
        InvitationState::Revoked
    } else {
        InvitationState::Expired
    }))
}

/// Users by id, for showing names next to comments and tickets (one query, not one per row).
pub async fn by_ids(conn: &mut Conn, ids: &[UserId]) -> Result<Vec<User>, DbError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let marks = vec!["?"; ids.len()].join(", ");
    let a: Vec<Arg> = ids.iter().map(|u| Arg::I64(u.0)).collect();
    let sql = format!("SELECT {COLUMNS} FROM users WHERE id IN ({marks})");
    conn.fetch_all(&sql, &a).await?.iter().map(from_row).collect()
}

/// Everyone who may take escalations now: staff support managers, not suspended.
pub async fn escalation_takers(conn: &mut Conn) -> Result<Vec<User>, DbError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM users WHERE role IN ('agent', 'admin') AND is_support_manager AND status <> 'suspended' ORDER BY id"
    );
    conn.fetch_all(&sql, &[]).await?.iter().map(from_row).collect()
}

/// Admins who are not suspended.
pub async fn active_admins(conn: &mut Conn) -> Result<Vec<User>, DbError> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE role = 'admin' AND status <> 'suspended' ORDER BY id");
    conn.fetch_all(&sql, &[]).await?.iter().map(from_row).collect()
}

/// Staff who can be assigned tickets.
pub async fn assignable(conn: &mut Conn) -> Result<Vec<User>, DbError> {
    let sql =
        format!("SELECT {COLUMNS} FROM users WHERE role IN ('agent', 'admin') AND status <> 'suspended' ORDER BY name");
    conn.fetch_all(&sql, &[]).await?.iter().map(from_row).collect()
}
