//! Changing an account: what the caller may change about whom, checked once for the API and the pages.

use partnerdesk_core::accounts::{Email, Role, UserStatus};
use partnerdesk_core::policy::Actor;
use partnerdesk_core::validation::required_text;
use partnerdesk_core::{Invalid, UserId};
use partnerdesk_db::users::{self, User, UserFields};
use partnerdesk_db::{AuditActor, Conn, Db};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::accounts::{self, Provisioner};
use crate::error::AppError;
use crate::input::{nullable, schema};

/// Fields accepted by create and update. Unknown fields are ignored, as Zendesk does.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct UserInput {
    #[schema(schema_with = schema::name)]
    pub name: Option<String>,
    #[schema(format = Email, max_length = 254)]
    pub email: Option<String>,
    #[schema(schema_with = schema::role)]
    pub role: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub organization_id: Option<Option<i64>>,
    /// Staff only; `false` reactivates the account.
    pub suspended: Option<bool>,
    /// Staff flags: agents and admins only.
    pub account_manager: Option<bool>,
    pub support_manager: Option<bool>,
    /// Sets the password at creation (the account is then active); without it the account waits for an
    /// invitation. An update that sends one is refused: passwords are set through invitation links.
    #[schema(min_length = 10, max_length = 1024)]
    pub password: Option<String>,
    #[schema(schema_with = time_zone_text)]
    pub time_zone: Option<String>,
}

fn time_zone_text() -> utoipa::openapi::schema::Object {
    schema::text(64, true)
}

/// Changes user `id` as `actor`. The account is read and locked inside the transaction that writes it, so two
/// changes at the same moment are applied one after the other and the audit's `before` is what each changed.
pub async fn update(db: &Db, actor: &Actor, audit: &AuditActor, id: UserId, u: UserInput) -> Result<User, AppError> {
    actor.may_view_user(id)?;
    let mut tx = db.begin().await?;
    let before = users::get_for_update(&mut tx, id).await?;
    let f = plan(&mut tx, actor, &before, u).await?;
    let after = users::update(&mut tx, &before, &f, audit).await?;
    // A suspension ends every session at once, whoever suspends and however: reactivating the account later
    // must not bring an old cookie back to life.
    if after.status == UserStatus::Suspended && before.status != UserStatus::Suspended {
        partnerdesk_db::sessions::delete_for_user(&mut tx, id).await?;
    }
    tx.commit().await?;
    Ok(after)
}

/// The account's fields after `u`, or why not.
async fn plan(conn: &mut Conn, actor: &Actor, before: &User, u: UserInput) -> Result<UserFields, AppError> {
    let is_self_only = before.id == actor.id && !actor.is_admin();
    let mut f = before.fields();
    let mut errors = Invalid::default();
    if let Some(name) = &u.name {
        f.name = required_text(&mut errors, "name", name, 255);
    }
    if let Some(tz) = &u.time_zone {
        f.time_zone = required_text(&mut errors, "time_zone", tz, 64);
    }
    // Everything else changes who someone is or what they may do: provisioning rights required.
    let privileged = u.email.is_some()
        || u.role.is_some()
        || u.organization_id.is_some()
        || u.suspended.is_some()
        || u.account_manager.is_some()
        || u.support_manager.is_some();
    if let Some(email) = &u.email {
        match Email::parse(email) {
            Ok(e) => f.email = e.to_string(),
            Err(inv) => errors.0.extend(inv.0),
        }
    }
    if let Some(role) = &u.role
        && let Some(r) = Role::parse_field(&mut errors, "role", role)
    {
        f.role = r;
    }
    if let Some(s) = u.suspended {
        f.status = before.status.after_suspension(s, before.has_password);
    }
    f.is_account_manager = u.account_manager.unwrap_or(f.is_account_manager);
    f.is_support_manager = u.support_manager.unwrap_or(f.is_support_manager);
    accounts::check_flags(&mut errors, f.role, f.is_account_manager, f.is_support_manager);
    if u.password.is_some() {
        errors.push(
            "password",
            "InvalidValue",
            "passwords are set through an invitation link, not by update",
        );
    }
    errors.into_result()?;
    if let Some(org) = u.organization_id {
        f.organization_id = accounts::load_org_in(conn, org).await?.map(|o| o.id);
    }
    if privileged || !is_self_only {
        // Both the account as it is and as it will be must be within the provisioner's reach.
        let who = Provisioner::User(actor);
        who.check(
            before.role,
            accounts::load_org_in(conn, before.organization_id.map(|o| o.0))
                .await?
                .as_ref(),
        )?;
        who.check(
            f.role,
            accounts::load_org_in(conn, f.organization_id.map(|o| o.0))
                .await?
                .as_ref(),
        )?;
        if before.id == actor.id && f.status == UserStatus::Suspended {
            return Err(AppError::invalid(
                "suspended",
                "InvalidValue",
                "you cannot suspend yourself",
            ));
        }
        // Nor change their own role: an admin who demoted themselves could leave the installation without one.
        if before.id == actor.id && f.role != before.role {
            return Err(AppError::invalid(
                "role",
                "InvalidValue",
                "you cannot change your own role; ask another admin",
            ));
        }
    }
    Ok(f)
}
