//! One item of a job: applied through the application layer's own create, update and delete (in the worker's
//! transaction), and its result in Zendesk's shape.

use partnerdesk_core::{OrgId, TicketId, UserId};
use partnerdesk_db::users::{self, User};
use partnerdesk_db::{Conn, DbError};
use serde_json::{Value, json};

use super::{Kind, Operation, Resource, Target, target_of};
use crate::accounts;
use crate::context::App;
use crate::error::AppError;
use crate::org_changes::{self, OrgInput};
use crate::tickets::{self, TicketInput};
use crate::user_changes::{self, UserInput};

/// What was done to an item's record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Update,
    Delete,
}

/// An item applied: the record's id and external id, what was done, and whether a notice was queued (the outbox
/// is woken once the item's transaction is committed).
pub struct Applied {
    pub id: i64,
    pub external_id: Option<String>,
    pub action: Action,
    pub told: bool,
}

impl Applied {
    /// Zendesk's result of a successful item.
    pub fn result(&self, index: usize) -> Value {
        let (action, status) = match self.action {
            Action::Create => ("create", "Created"),
            Action::Update => ("update", "Updated"),
            Action::Delete => ("delete", "Deleted"),
        };
        let mut r = json!({"index": index, "id": self.id, "action": action, "status": status, "success": true});
        if let (Some(x), Some(o)) = (&self.external_id, r.as_object_mut()) {
            o.insert("external_id".into(), json!(x));
        }
        r
    }
}

/// Zendesk's result of an item that failed: `error` says what kind of failure, `details` how.
pub fn failure(index: usize, item: &Value, e: &AppError) -> Value {
    let error = match e {
        AppError::Invalid(_) | AppError::Conflict(_) => "RecordInvalid",
        AppError::NotFound => "RecordNotFound",
        AppError::Forbidden(_) => "PermissionDenied",
        AppError::BadRequest(_) => "InvalidValue",
        _ => "InternalError",
    };
    let mut r = json!({"index": index, "error": error, "details": e.message(), "success": false});
    if let (Some(t), Some(o)) = (target_of(item), r.as_object_mut()) {
        match t {
            Target::Id(id) => o.insert("id".into(), json!(id)),
            Target::External(x) => o.insert("external_id".into(), json!(x)),
        };
    }
    r
}

/// What an item needs done before its transaction: the password of a new account hashed (argon2 takes a while,
/// and the database's writer is not held meanwhile).
pub async fn prepare(kind: Kind, item: &Value) -> Result<Option<String>, AppError> {
    if kind.resource != Resource::Users
        || !matches!(kind.operation, Operation::CreateMany | Operation::CreateOrUpdateMany)
    {
        return Ok(None);
    }
    match item.get("password").and_then(Value::as_str) {
        Some(p) => {
            partnerdesk_core::credentials::check_new_password(p)?;
            accounts::hash_new_password(Some(p.to_owned())).await
        }
        None => Ok(None),
    }
}

fn parse<T: serde::de::DeserializeOwned>(item: &Value) -> Result<T, AppError> {
    // Checked when the job was queued; a payload that no longer parses is refused, not guessed at.
    serde_json::from_value(item.clone()).map_err(|e| AppError::BadRequest(format!("item: {e}")))
}

fn target(item: &Value) -> Result<Target, AppError> {
    target_of(item).ok_or_else(|| AppError::invalid("id", "BlankValue", "the item needs an id or an external_id"))
}

/// Applies one item as `who`, in `tx`.
pub async fn apply(
    tx: &mut Conn,
    app: &App,
    who: &User,
    kind: Kind,
    item: &Value,
    hash: Option<String>,
) -> Result<Applied, AppError> {
    match kind.resource {
        Resource::Users => user_item(tx, who, kind.operation, item, hash).await,
        Resource::Organizations => org_item(tx, who, kind.operation, item).await,
        Resource::Tickets => ticket_item(tx, app, who, kind.operation, item).await,
    }
}

fn done(id: i64, external_id: Option<String>, action: Action) -> Applied {
    Applied {
        id,
        external_id,
        action,
        told: false,
    }
}

async fn user_item(
    tx: &mut Conn,
    who: &User,
    op: Operation,
    item: &Value,
    hash: Option<String>,
) -> Result<Applied, AppError> {
    let (actor, audit) = (who.actor(), who.audit_actor());
    let input: UserInput = parse(item)?;
    let (user, action) = match op {
        Operation::CreateMany => {
            let user = user_changes::create_in(tx, &actor, &audit, input, hash).await?;
            (user, Action::Create)
        }
        Operation::UpdateMany => {
            let id = match target(item)? {
                Target::Id(id) => UserId(id),
                Target::External(x) => users::by_external_id_for_update(tx, &x).await?.id,
            };
            (
                user_changes::update_in(tx, &actor, &audit, id, input).await?,
                Action::Update,
            )
        }
        Operation::CreateOrUpdateMany => {
            let (user, created) = user_changes::create_or_update_in(tx, &actor, &audit, input, hash).await?;
            (user, if created { Action::Create } else { Action::Update })
        }
        Operation::DestroyMany => {
            return Err(AppError::BadRequest("accounts are suspended, not deleted".into()));
        }
    };
    Ok(done(user.id.0, user.external_id, action))
}

async fn org_item(tx: &mut Conn, who: &User, op: Operation, item: &Value) -> Result<Applied, AppError> {
    let (actor, audit) = (who.actor(), who.audit_actor());
    let (org, action) = match op {
        Operation::CreateMany => (
            org_changes::create_in(tx, &actor, &audit, parse::<OrgInput>(item)?).await?,
            Action::Create,
        ),
        Operation::UpdateMany => {
            let id = org_id(tx, &actor, item).await?;
            (
                org_changes::update_in(tx, &actor, &audit, id, parse::<OrgInput>(item)?).await?,
                Action::Update,
            )
        }
        Operation::CreateOrUpdateMany => {
            let (org, created) = org_changes::create_or_update_in(tx, &actor, &audit, parse(item)?).await?;
            (org, if created { Action::Create } else { Action::Update })
        }
        Operation::DestroyMany => {
            let id = org_id(tx, &actor, item).await?;
            (org_changes::delete_in(tx, &actor, &audit, id).await?, Action::Delete)
        }
    };
    Ok(done(org.id.0, org.external_id, action))
}

/// The organization an update or delete item names.
async fn org_id(tx: &mut Conn, actor: &partnerdesk_core::policy::Actor, item: &Value) -> Result<OrgId, AppError> {
    match target(item)? {
        Target::Id(id) => Ok(OrgId(id)),
        Target::External(x) => org_changes::id_of_external(tx, actor, &x).await,
    }
}

async fn ticket_item(tx: &mut Conn, app: &App, who: &User, op: Operation, item: &Value) -> Result<Applied, AppError> {
    let input: TicketInput = parse(item)?;
    match op {
        Operation::CreateMany => {
            let (c, told) = tickets::create_in(tx, app, who, input, "api").await?;
            Ok(Applied {
                told,
                ..done(c.ticket.id.0, c.ticket.external_id, Action::Create)
            })
        }
        Operation::UpdateMany => {
            let Target::Id(id) = target(item)? else {
                return Err(AppError::invalid("id", "BlankValue", "the item needs an id"));
            };
            let (u, told) = tickets::update_in(tx, app, who, TicketId(id), input, "api").await?;
            Ok(Applied {
                told,
                ..done(u.ticket.id.0, u.ticket.external_id, Action::Update)
            })
        }
        Operation::CreateOrUpdateMany | Operation::DestroyMany => Err(AppError::BadRequest(
            "tickets are created and updated in bulk, not matched or deleted".into(),
        )),
    }
}

/// The creator of a job as they are now: their rights are checked for each item against this account. Suspended
/// or gone, their job stops.
pub async fn creator(conn: &mut Conn, id: i64) -> Result<Result<User, String>, AppError> {
    match users::get(conn, UserId(id)).await {
        Ok(u) if u.status == partnerdesk_core::accounts::UserStatus::Suspended => {
            Ok(Err("the account that queued this job is suspended".into()))
        }
        Ok(u) => Ok(Ok(u)),
        Err(DbError::NotFound) => Ok(Err("the account that queued this job no longer exists".into())),
        Err(e) => Err(e.into()),
    }
}
