//! Provisioning accounts: the one place that creates users, invitations and API tokens, used by the API and
//! by the admin CLI. There is no self sign-up: every account is created by an admin or an account manager.

use chrono::{DateTime, Duration, Utc};
use partnerdesk_core::accounts::{Email, NO_ACCOUNT_HELP, Role, UserStatus};
use partnerdesk_core::policy::{Actor, OrgScope};
use partnerdesk_core::validation::required_text;
use partnerdesk_core::{Invalid, OrgId, credentials};
use partnerdesk_db::organizations::{self, Organization};
use partnerdesk_db::users::{self, InvitationState, User, UserFields};
use partnerdesk_db::{AuditActor, Conn, Db, DbError};

use crate::App;
use crate::account_mail::AccountMail;
use crate::error::AppError;

/// Who asks: a signed-in user (checked against the policy) or the operator at the command line (trusted:
/// they already hold the server's database).
#[derive(Debug, Clone, Copy)]
pub enum Provisioner<'a> {
    User(&'a Actor),
    Operator,
}

impl Provisioner<'_> {
    /// May this provisioner create or change an account of `role` in `org`?
    pub fn check(&self, role: Role, org: Option<&Organization>) -> Result<(), AppError> {
        match self {
            Provisioner::Operator => Ok(()),
            Provisioner::User(actor) => Ok(actor.may_provision(role, org.and_then(|o| o.account_manager_id))?),
        }
    }
}

/// The longest description an API token may have.
pub const MAX_TOKEN_DESCRIPTION: usize = 255;

/// A new account as requested.
#[derive(Debug, Clone, Default)]
pub struct NewAccount {
    pub email: String,
    pub name: String,
    pub role: Option<String>,
    pub organization_id: Option<i64>,
    pub is_account_manager: bool,
    pub is_support_manager: bool,
    pub password: Option<String>,
    /// The caller's own key for the account (blank: none).
    pub external_id: Option<String>,
}

/// Loads the organization an account is to belong to; an unknown id is a 422 on `organization_id`.
pub async fn load_org(db: &Db, id: Option<i64>) -> Result<Option<Organization>, AppError> {
    load_org_in(&mut db.conn(), id).await
}

/// `load_org` on a connection or transaction already open.
pub async fn load_org_in(conn: &mut Conn, id: Option<i64>) -> Result<Option<Organization>, AppError> {
    let Some(id) = id else { return Ok(None) };
    match organizations::get(conn, OrgId(id), OrgScope::All).await {
        Ok(org) => Ok(Some(org)),
        Err(DbError::NotFound) => Err(AppError::invalid(
            "organization_id",
            "InvalidValue",
            format!("organization {id} does not exist"),
        )),
        Err(e) => Err(e.into()),
    }
}

/// Staff flags only make sense on staff.
pub fn check_flags(errors: &mut Invalid, role: Role, account_manager: bool, support_manager: bool) {
    if !role.is_staff() && (account_manager || support_manager) {
        errors.push(
            "role",
            "InvalidValue",
            "account managers and support managers must be agents or admins",
        );
    }
}

pub async fn create_account(
    db: &Db,
    who: Provisioner<'_>,
    audit: &AuditActor,
    input: NewAccount,
) -> Result<User, AppError> {
    let checked = check_account(input)?;
    // The provisioner's reach is checked before the password is hashed (a refusal costs no hashing), and again in
    // the transaction that writes, against the organization as it then is.
    let org = load_org(db, checked.fields.organization_id.map(|o| o.0)).await?;
    who.check(checked.fields.role, org.as_ref())?;
    let hash = hash_new_password(checked.password.clone()).await?;
    let mut tx = db.begin().await?;
    let user = create_checked_in(&mut tx, who, audit, checked, hash).await?;
    tx.commit().await?;
    Ok(user)
}

/// A new account's fields as checked, before anything is read, and its password (to be hashed).
pub struct CheckedAccount {
    pub fields: UserFields,
    pub password: Option<String>,
}

/// Checks a new account's fields, collecting every invalid one.
pub fn check_account(input: NewAccount) -> Result<CheckedAccount, AppError> {
    let mut errors = Invalid::default();
    let email = match Email::parse(&input.email) {
        Ok(e) => e.to_string(),
        Err(inv) => {
            errors.0.extend(inv.0);
            String::new()
        }
    };
    let name = required_text(&mut errors, "name", &input.name, 255);
    let role = match input.role.as_deref() {
        None => Role::EndUser,
        Some(r) => Role::parse_field(&mut errors, "role", r).unwrap_or(Role::EndUser),
    };
    check_flags(&mut errors, role, input.is_account_manager, input.is_support_manager);
    if let Some(p) = &input.password
        && let Err(inv) = credentials::check_new_password(p)
    {
        errors.0.extend(inv.0);
    }
    let external_id = crate::input::external_id(&mut errors, input.external_id.as_deref());
    errors.into_result()?;
    let fields = UserFields {
        email,
        name,
        role,
        is_account_manager: input.is_account_manager,
        is_support_manager: input.is_support_manager,
        organization_id: input.organization_id.map(OrgId),
        status: if input.password.is_some() {
            UserStatus::Active
        } else {
            UserStatus::Invited
        },
        time_zone: "UTC".into(),
        external_id,
    };
    Ok(CheckedAccount {
        fields,
        password: input.password,
    })
}

/// Hashes a new password off the async threads (argon2 takes a while).
pub async fn hash_new_password(password: Option<String>) -> Result<Option<String>, AppError> {
    match password {
        Some(p) => Ok(Some(
            tokio::task::spawn_blocking(move || credentials::hash_password(&p))
                .await
                .map_err(AppError::internal)??,
        )),
        None => Ok(None),
    }
}

/// Creates a checked account in the caller's transaction: the organization is read there and the provisioner's
/// reach checked against it.
pub async fn create_checked_in(
    tx: &mut Conn,
    who: Provisioner<'_>,
    audit: &AuditActor,
    checked: CheckedAccount,
    hash: Option<String>,
) -> Result<User, AppError> {
    let mut fields = checked.fields;
    let org = load_org_in(tx, fields.organization_id.map(|o| o.0)).await?;
    who.check(fields.role, org.as_ref())?;
    fields.organization_id = org.map(|o| o.id);
    let email = fields.email.clone();
    users::create(tx, &fields, hash.as_deref(), audit)
        .await
        .map_err(|e| match e {
            e if e.is_conflict_on("email") => {
                AppError::invalid("email", "DuplicateValue", format!("email {email} is already in use"))
            }
            e => e.into(),
        })
}

/// An invitation: a single-use link to set a password, valid until `expires_at`.
pub struct Invitation {
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// Makes a new invitation for `user` (earlier links stop working) and queues its e-mail in the same transaction;
/// the link is also returned, for the admin to pass on another way.
pub async fn invite(
    db: &Db,
    who: Provisioner<'_>,
    audit: &AuditActor,
    user: &User,
    mail: &AccountMail<'_>,
    ttl_hours: i64,
) -> Result<Invitation, AppError> {
    let org = load_org(db, user.organization_id.map(|o| o.0)).await?;
    who.check(user.role, org.as_ref())?;
    match user.status {
        UserStatus::Suspended => {
            return Err(AppError::invalid(
                "status",
                "InvalidValue",
                "a suspended account cannot be invited; reactivate it first",
            ));
        }
        // A link that sets an active account's password would let whoever invites take the account over: its
        // owner resets their own password instead.
        UserStatus::Active => {
            return Err(AppError::invalid(
                "status",
                "InvalidValue",
                "this account is active: its owner sets a new password with \"Forgot your password?\" on the \
                 sign-in page",
            ));
        }
        UserStatus::Invited => {}
    }
    let token = credentials::new_token()?;
    let expires_at = partnerdesk_db::now() + Duration::hours(ttl_hours);
    let url = format!("{}/account/set-password?token={token}", mail.public_url);
    let mut tx = db.begin().await?;
    users::add_invitation(&mut tx, user, &credentials::token_digest(&token), expires_at, audit).await?;
    mail.invitation(&mut tx, user, org.as_ref().map(|o| o.name.as_str()), &url, expires_at)
        .await?;
    tx.commit().await?;
    if let Some(w) = mail.wake {
        w.notify_one();
    }
    Ok(Invitation { url, expires_at })
}

/// Issues an API token for `user`; the token is returned once and only its digest is kept.
pub async fn issue_api_token(
    db: &Db,
    who: Provisioner<'_>,
    audit: &AuditActor,
    user: &User,
    description: &str,
) -> Result<String, AppError> {
    if let Provisioner::User(actor) = who {
        actor.may_administer()?;
    }
    if description.chars().count() > MAX_TOKEN_DESCRIPTION {
        return Err(AppError::invalid(
            "description",
            "TooLong",
            format!("description is too long (maximum is {MAX_TOKEN_DESCRIPTION} characters)"),
        ));
    }
    let token = credentials::new_token()?;
    let mut tx = db.begin().await?;
    users::add_api_token(&mut tx, user, &credentials::token_digest(&token), description, audit).await?;
    tx.commit().await?;
    Ok(token)
}

/// Uses an invitation link: sets the password and activates the account. Every other link of the account is
/// revoked and every session of it ends, so that a stale link or a stolen cookie stops working.
pub async fn accept_invitation(app: &App, token: &str, password: &str) -> Result<User, AppError> {
    credentials::check_new_password(password)?;
    let digest = credentials::token_digest(token.trim());
    // A link that cannot be used is refused before any hashing, so that made-up tokens cost the server nothing.
    match users::invitation_state(&mut app.db.conn(), &digest).await {
        Ok(InvitationState::Usable) => {}
        Ok(state) => return Err(invitation_refused(Some(state))),
        Err(DbError::NotFound) => return Err(invitation_refused(None)),
        Err(e) => return Err(e.into()),
    }
    let hash = app.hashing.hash(password.to_owned()).await?;
    let mut tx = app.db.begin().await?;
    let user = match users::claim_invitation(&mut tx, &digest).await {
        Ok(Ok(user)) => user,
        Ok(Err(state)) => return Err(invitation_refused(Some(state))),
        Err(DbError::NotFound) => return Err(invitation_refused(None)),
        Err(e) => return Err(e.into()),
    };
    if user.status == UserStatus::Suspended {
        return Err(AppError::invalid("token", "InvalidValue", "this account is suspended"));
    }
    let user = users::set_password(&mut tx, &user, &hash, &user.audit_actor()).await?;
    partnerdesk_db::sessions::delete_for_user(&mut tx, user.id).await?;
    tx.commit().await?;
    Ok(user)
}

/// Why a link was refused, in the words its user is shown (`None`: no such link).
fn invitation_refused(state: Option<InvitationState>) -> AppError {
    let message = match state {
        Some(InvitationState::Used) => "this link has already been used".to_owned(),
        Some(InvitationState::Revoked) => {
            "this link was replaced by a newer one or the password is already set; use the latest link you \
             received, or ask for a new one"
                .to_owned()
        }
        Some(InvitationState::Expired | InvitationState::Usable) => {
            "this link has expired; ask your account manager for a new invitation, or use \"Forgot your \
             password?\" on the sign-in page if your account is active"
                .to_owned()
        }
        None => format!("this link is not valid. {NO_ACCOUNT_HELP}"),
    };
    AppError::invalid("token", "InvalidValue", message)
}

/// Suspends or reactivates an account. Suspension also ends the user's browser sessions; their API tokens stop
/// working because every request checks the status.
pub async fn set_suspended(
    db: &Db,
    who: Provisioner<'_>,
    audit: &AuditActor,
    user: &User,
    suspended: bool,
) -> Result<User, AppError> {
    let org = load_org(db, user.organization_id.map(|o| o.0)).await?;
    who.check(user.role, org.as_ref())?;
    if let Provisioner::User(actor) = who
        && actor.id == user.id
        && suspended
    {
        return Err(AppError::invalid(
            "suspended",
            "InvalidValue",
            "you cannot suspend yourself",
        ));
    }
    let mut f = user.fields();
    f.status = user.status.after_suspension(suspended, user.has_password);
    let mut tx = db.begin().await?;
    let after = users::update(&mut tx, user, &f, audit).await?;
    if suspended {
        partnerdesk_db::sessions::delete_for_user(&mut tx, user.id).await?;
    }
    tx.commit().await?;
    Ok(after)
}
