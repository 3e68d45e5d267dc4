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
use crate::profile_fields::{self, FieldValues};
use partnerdesk_db::profile_fields::FieldKind;

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
    /// Your own key for the account, unique among users (up to 255 characters); `null` clears it. Needs
    /// provisioning rights.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = schema::external_id)]
    pub external_id: Option<Option<String>>,
    /// Values of user fields by key (`null` clears one); keys left out stay as they are. Provisioning rights
    /// required.
    #[schema(value_type = Option<Object>)]
    pub user_fields: Option<FieldValues>,
}

fn time_zone_text() -> utoipa::openapi::schema::Object {
    schema::text(64, true)
}

/// Changes user `id` as `actor`. The account is read and locked inside the transaction that writes it, so two
/// changes at the same moment are applied one after the other and the audit's `before` is what each changed.
pub async fn update(db: &Db, actor: &Actor, audit: &AuditActor, id: UserId, u: UserInput) -> Result<User, AppError> {
    let mut tx = db.begin().await?;
    let after = update_in(&mut tx, actor, audit, id, u).await?;
    tx.commit().await?;
    Ok(after)
}

/// `update` inside the caller's transaction (a bulk job records the item's result in the same one).
pub async fn update_in(
    tx: &mut Conn,
    actor: &Actor,
    audit: &AuditActor,
    id: UserId,
    u: UserInput,
) -> Result<User, AppError> {
    actor.may_view_user(id)?;
    let before = users::get_for_update(tx, id).await?;
    change(tx, actor, audit, &before, u).await
}

/// Applies `u` to `before` (read and locked by the caller), as `actor` may.
async fn change(
    tx: &mut Conn,
    actor: &Actor,
    audit: &AuditActor,
    before: &User,
    mut u: UserInput,
) -> Result<User, AppError> {
    let values = u.user_fields.take();
    let privileged = values.is_some();
    let f = plan(tx, actor, before, u, privileged).await?;
    let checked = profile_fields::check_values(tx, FieldKind::User, values.as_ref()).await?;
    let after = users::update(tx, before, &f, audit).await?;
    let org = after.organization_id.map(|o| o.0);
    profile_fields::write_values(tx, FieldKind::User, after.id.0, org, checked, audit).await?;
    // A suspension ends every session at once, whoever suspends and however: reactivating the account later
    // must not bring an old cookie back to life.
    if after.status == UserStatus::Suspended && before.status != UserStatus::Suspended {
        partnerdesk_db::sessions::delete_for_user(tx, before.id).await?;
    }
    Ok(after)
}

/// The fields of a new account from `u` (a create of the users API, or the create half of `create_or_update`).
pub fn new_account(u: UserInput) -> accounts::NewAccount {
    accounts::NewAccount {
        email: u.email.unwrap_or_default(),
        name: u.name.unwrap_or_default(),
        role: u.role,
        organization_id: u.organization_id.flatten(),
        is_account_manager: u.account_manager.unwrap_or(false),
        is_support_manager: u.support_manager.unwrap_or(false),
        password: u.password,
        external_id: u.external_id.flatten(),
    }
}

/// `POST /users/create_or_update`: creates the account or updates the one `u` names (see `create_or_update_in`), in
/// one transaction; true when it was created. Only admins and account managers: anyone else is refused before
/// anything is read, so that the answer says nothing about who has an account.
pub async fn create_or_update(
    app: &crate::context::App,
    actor: &Actor,
    audit: &AuditActor,
    u: UserInput,
) -> Result<(User, bool), AppError> {
    crate::jobs::Kind::of(crate::jobs::Resource::Users, crate::jobs::Operation::CreateOrUpdateMany)
        .check_caller(actor)?;
    // Hashed before the transaction (argon2 takes a while); it counts only if the account is created.
    let hash = match &u.password {
        Some(p) => {
            partnerdesk_core::credentials::check_new_password(p)?;
            Some(app.hashing.hash(p.clone()).await?)
        }
        None => None,
    };
    let mut tx = app.db.begin().await?;
    let done = create_or_update_in(&mut tx, actor, audit, u, hash).await?;
    tx.commit().await?;
    Ok(done)
}

/// Creates the account, or updates the one `u` names: the one with its `external_id`, else the one with its
/// e-mail address, as Zendesk matches. True when it was created. `hash` is the hashed `password` (a create only:
/// an update refuses a password). The match is read and locked in the caller's transaction, and every rule of a
/// create or an update applies. A password counts only when the account is created, so that the same call can be
/// repeated.
pub async fn create_or_update_in(
    tx: &mut Conn,
    actor: &Actor,
    audit: &AuditActor,
    mut u: UserInput,
    hash: Option<String>,
) -> Result<(User, bool), AppError> {
    match existing(tx, &u).await? {
        Some(before) => {
            actor.may_view_user(before.id)?;
            u.password = None;
            Ok((change(tx, actor, audit, &before, u).await?, false))
        }
        None => Ok((create_in(tx, actor, audit, u, hash).await?, true)),
    }
}

/// The account `u` names by external id, else by e-mail address, locked.
pub(crate) async fn existing(tx: &mut Conn, u: &UserInput) -> Result<Option<User>, AppError> {
    let by_external = match u.external_id.as_ref().and_then(|x| x.as_deref()).map(str::trim) {
        Some(x) if !x.is_empty() => users::by_external_id_for_update(tx, x).await,
        _ => Err(partnerdesk_db::DbError::NotFound),
    };
    let found = match (by_external, u.email.as_deref().and_then(|e| Email::parse(e).ok())) {
        (Ok(user), _) => Ok(user),
        (Err(partnerdesk_db::DbError::NotFound), Some(email)) => {
            users::by_email_for_update(tx, &email.to_string()).await
        }
        (Err(e), _) => Err(e),
    };
    match found {
        Ok(user) => Ok(Some(user)),
        Err(partnerdesk_db::DbError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The account's fields after `u`, or why not.
async fn plan(
    conn: &mut Conn,
    actor: &Actor,
    before: &User,
    u: UserInput,
    sets_fields: bool,
) -> Result<UserFields, AppError> {
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
    if let Some(x) = &u.external_id {
        f.external_id = crate::input::external_id(&mut errors, x.as_deref());
    }
    let privileged = sets_fields
        || u.email.is_some()
        || u.external_id.is_some()
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

/// Creates an account from `u` (its password hashed as `hash`) with its user fields, in the caller's transaction.
pub async fn create_in(
    tx: &mut Conn,
    actor: &Actor,
    audit: &AuditActor,
    mut u: UserInput,
    hash: Option<String>,
) -> Result<User, AppError> {
    let values = u.user_fields.take();
    let checked = accounts::check_account(new_account(u))?;
    let values = profile_fields::check_values(tx, FieldKind::User, values.as_ref()).await?;
    let user = accounts::create_checked_in(tx, Provisioner::User(actor), audit, checked, hash).await?;
    let org = user.organization_id.map(|o| o.0);
    profile_fields::write_values(tx, FieldKind::User, user.id.0, org, values, audit).await?;
    Ok(user)
}

/// `POST /users`: creates an account (admins any; account managers end-users of their organizations), with its
/// user fields, in one transaction.
pub async fn create(db: &Db, actor: &Actor, audit: &AuditActor, mut u: UserInput) -> Result<User, AppError> {
    let values = u.user_fields.take();
    let checked = accounts::check_account(new_account(u))?;
    // The provisioner's reach is checked before the password is hashed, and again in the transaction.
    let org = accounts::load_org(db, checked.fields.organization_id.map(|o| o.0)).await?;
    Provisioner::User(actor).check(checked.fields.role, org.as_ref())?;
    let hash = accounts::hash_new_password(checked.password.clone()).await?;
    let mut tx = db.begin().await?;
    let values = profile_fields::check_values(&mut tx, FieldKind::User, values.as_ref()).await?;
    let user = accounts::create_checked_in(&mut tx, Provisioner::User(actor), audit, checked, hash).await?;
    let org = user.organization_id.map(|o| o.0);
    profile_fields::write_values(&mut tx, FieldKind::User, user.id.0, org, values, audit).await?;
    tx.commit().await?;
    Ok(user)
}
