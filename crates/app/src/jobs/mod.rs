//! Bulk jobs, as Zendesk runs them: `create_many`, `update_many`, `create_or_update_many` and `destroy_many` take up
//! to 100 items, answer at once with a job status, and apply the items in the background (see `worker`): in chunks,
//! one transaction per chunk and a savepoint per item, through the same functions a single create, update or delete
//! uses, so that every rule and every audit row applies. What can be checked without the database (the count, each
//! item's JSON shape, how an update names its record) is checked here, before anything is queued; the rest is each
//! item's own result.

use partnerdesk_core::policy::Actor;
use partnerdesk_core::{Invalid, credentials};
use partnerdesk_db::jobs::{self, Job};
use partnerdesk_db::users::User;
use serde_json::{Value, json};

use crate::context::App;
use crate::error::AppError;
use crate::org_changes::OrgInput;
use crate::tickets::TicketInput;
use crate::user_changes::UserInput;

mod items;
mod worker;

pub use worker::{release_stale, run_once, worker, workers};

/// The most items one job takes (Zendesk's limit).
pub const MAX_ITEMS: usize = 100;
/// The most jobs one account may have queued or running at once (Zendesk's limit): more is a 429 until some are
/// done, so that one script cannot fill the database with jobs faster than they are worked through.
pub const MAX_PENDING: i64 = 30;

/// What a job's items are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Users,
    Organizations,
    Tickets,
}

impl Resource {
    /// The name of the list in a request body (`{"users": [...]}`), and of the kind's first half.
    pub fn plural(self) -> &'static str {
        match self {
            Resource::Users => "users",
            Resource::Organizations => "organizations",
            Resource::Tickets => "tickets",
        }
    }
}

/// What a job does with each item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    CreateMany,
    UpdateMany,
    CreateOrUpdateMany,
    DestroyMany,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::CreateMany => "create_many",
            Operation::UpdateMany => "update_many",
            Operation::CreateOrUpdateMany => "create_or_update_many",
            Operation::DestroyMany => "destroy_many",
        }
    }
}

/// A job's kind: `users.create_many`, `organizations.destroy_many`, ...
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    pub resource: Resource,
    pub operation: Operation,
}

impl Kind {
    pub const ALL: [Kind; 9] = [
        Kind::of(Resource::Users, Operation::CreateMany),
        Kind::of(Resource::Users, Operation::UpdateMany),
        Kind::of(Resource::Users, Operation::CreateOrUpdateMany),
        Kind::of(Resource::Organizations, Operation::CreateMany),
        Kind::of(Resource::Organizations, Operation::UpdateMany),
        Kind::of(Resource::Organizations, Operation::CreateOrUpdateMany),
        Kind::of(Resource::Organizations, Operation::DestroyMany),
        Kind::of(Resource::Tickets, Operation::CreateMany),
        Kind::of(Resource::Tickets, Operation::UpdateMany),
    ];

    pub const fn of(resource: Resource, operation: Operation) -> Kind {
        Kind { resource, operation }
    }

    pub fn name(self) -> String {
        format!("{}.{}", self.resource.plural(), self.operation.as_str())
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == s)
    }

    /// Refuses at once a caller who could not do any item of this kind (each item is checked again when applied).
    pub(crate) fn check_caller(self, actor: &Actor) -> Result<(), AppError> {
        match (self.resource, self.operation) {
            (_, _) if !actor.is_staff() => Err(AppError::Forbidden(
                "You do not have access to this: only agents and admins may run bulk jobs.".into(),
            )),
            (Resource::Users, _) if !actor.is_admin() && !actor.is_account_manager => Err(AppError::Forbidden(
                "You do not have access to this: only admins and account managers may create or change accounts."
                    .into(),
            )),
            (Resource::Organizations, Operation::CreateMany | Operation::DestroyMany) => Ok(actor.may_administer()?),
            (Resource::Organizations, _) if !actor.is_admin() && !actor.is_account_manager => Err(AppError::Forbidden(
                "You do not have access to this: only admins and account managers may change organizations.".into(),
            )),
            _ => Ok(()),
        }
    }
}

/// How an item names the record it changes: `id`, or `external_id` (users and organizations).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Id(i64),
    External(String),
}

/// The record an update or delete item names, if it names one.
pub fn target_of(item: &Value) -> Option<Target> {
    if let Some(id) = item.get("id").and_then(Value::as_i64).filter(|i| *i > 0) {
        return Some(Target::Id(id));
    }
    item.get("external_id")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(|x| Target::External(x.to_owned()))
}

/// Checks one item's shape (as the single call's body would be checked), naming it `users[3]` in errors.
fn check_item(kind: Kind, index: usize, item: &Value, errors: &mut Invalid) {
    let field = format!("{}[{index}]", kind.resource.plural());
    if !item.is_object() {
        errors.push(&field, "InvalidValue", format!("{field} must be an object"));
        return;
    }
    let shape = match kind.resource {
        Resource::Users => serde_json::from_value::<UserInput>(item.clone()).map(drop),
        Resource::Organizations => serde_json::from_value::<OrgInput>(item.clone()).map(drop),
        Resource::Tickets => serde_json::from_value::<TicketInput>(item.clone()).map(drop),
    };
    if let Err(e) = shape {
        errors.push(&field, "InvalidValue", format!("{field}: {e}"));
        return;
    }
    let needs_target = matches!(kind.operation, Operation::UpdateMany | Operation::DestroyMany);
    // An `id` that is there names the record: a positive integer, not something to fall back from.
    if needs_target && item.get("id").is_some_and(|id| id.as_i64().is_none_or(|i| i <= 0)) {
        errors.push(
            &format!("{field}.id"),
            "InvalidValue",
            format!("{field}.id must be a positive integer"),
        );
        return;
    }
    let target = target_of(item);
    match (needs_target, kind.resource, &target) {
        (true, _, None) => errors.push(
            &format!("{field}.id"),
            "BlankValue",
            format!("{field} needs an id or an external_id"),
        ),
        // Tickets are named by id alone: their external id is not a key Zendesk updates by.
        (true, Resource::Tickets, Some(Target::External(_))) => {
            errors.push(&format!("{field}.id"), "BlankValue", format!("{field} needs an id"))
        }
        _ => {}
    }
}

/// Queues a job of `items` for `caller`, after checking what can be checked at once: the caller's role, the number
/// of items (1 to `MAX_ITEMS`) and each item's shape. Answers the queued job.
pub async fn enqueue(app: &App, caller: &User, kind: Kind, items: Vec<Value>) -> Result<Job, AppError> {
    kind.check_caller(&caller.actor())?;
    let list = kind.resource.plural();
    if items.is_empty() {
        return Err(AppError::invalid(list, "BlankValue", format!("{list} cannot be empty")));
    }
    if items.len() > MAX_ITEMS {
        return Err(AppError::invalid(
            list,
            "TooLong",
            format!("{list} has {} items; a job takes at most {MAX_ITEMS}", items.len()),
        ));
    }
    let mut errors = Invalid::default();
    for (index, item) in items.iter().enumerate() {
        check_item(kind, index, item, &mut errors);
    }
    errors.into_result()?;
    // Zendesk's job ids are 32 hexadecimal characters; random, so that one job's id tells nothing of another's.
    let id = credentials::new_token()?[..32].to_owned();
    let total = items.len() as i64;
    let payload = json!({ "items": items });
    // Counted and queued in one transaction, the account's jobs counted under a lock: a script firing many calls at
    // once gets exactly `MAX_PENDING` queued, not one per call that counted before the others had inserted.
    let mut tx = app.db.begin().await?;
    if jobs::pending_of_locked(&mut tx, caller.id.0).await? >= MAX_PENDING {
        return Err(AppError::TooManyRequests { retry_after_secs: 5 });
    }
    let job = jobs::create(&mut tx, &id, &kind.name(), total, &payload, caller.id.0).await?;
    tx.commit().await?;
    app.jobs_wakeup.notify_one();
    Ok(job)
}

/// The items of an update or a delete that names its records in the query (`?ids=1,2` or `?external_ids=a,b`),
/// each with the same change (`{"user": {...}}`; an empty one for a delete).
pub fn items_from_ids(ids: &[Target], change: &Value) -> Vec<Value> {
    ids.iter()
        .map(|t| {
            let mut item = change.clone();
            if let Some(o) = item.as_object_mut() {
                // The query names the record; a key in the change naming another would be ambiguous.
                o.remove("id");
                match t {
                    Target::Id(id) => {
                        o.insert("id".into(), json!(id));
                    }
                    Target::External(x) => {
                        o.insert("external_id".into(), json!(x));
                    }
                }
            }
            item
        })
        .collect()
}

/// A job and the results recorded so far.
pub struct JobStatus {
    pub job: Job,
    pub results: Vec<Value>,
}

/// A job status, for the account that queued it or an admin; anyone else is told it does not exist.
pub async fn status(app: &App, actor: &Actor, id: &str) -> Result<JobStatus, AppError> {
    // Ids are hexadecimal: anything else names no job (and goes no further than this check).
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AppError::NotFound);
    }
    let mut conn = app.db.conn();
    let job = jobs::get(&mut conn, id).await?;
    if job.created_by_id != actor.id.0 && !actor.is_admin() {
        return Err(AppError::NotFound);
    }
    let results = jobs::results(&mut conn, id).await?;
    Ok(JobStatus { job, results })
}
