//! Choosing what staff are e-mailed about: a ticket assigned to them, the requester writing on their ticket, new
//! tickets in the groups they follow. Each person sets their own; admins may set anyone's. Partners have no
//! choices: they are told about their own tickets always (that is the point of the portal's e-mail).

use partnerdesk_core::policy::Actor;
use partnerdesk_core::{GroupId, UserId};
use partnerdesk_db::notice_choices::{self, NoticeChoices};
use partnerdesk_db::{AuditActor, DbError, groups, users};

use crate::context::App;
use crate::error::AppError;

/// The most groups one person may follow.
const MAX_FOLLOWED: usize = 200;

/// A change: what is left out stays as it is.
#[derive(Debug, Clone, Default)]
pub struct ChoicesInput {
    pub ticket_assigned: Option<bool>,
    pub requester_replied: Option<bool>,
    pub new_in_followed_group: Option<bool>,
    pub followed_group_ids: Option<Vec<i64>>,
}

/// Whose choices `actor` may read or change: their own, or anyone's for an admin; staff only.
async fn target(app: &App, actor: &Actor, user: i64) -> Result<UserId, AppError> {
    if !actor.is_staff() {
        return Err(AppError::Forbidden(
            "You do not have access to this: notice choices are for staff; partners are always told about their own \
             tickets."
                .into(),
        ));
    }
    if actor.id.0 != user && !actor.is_admin() {
        return Err(AppError::Forbidden(
            "You do not have access to this: only admins choose notices for someone else.".into(),
        ));
    }
    let u = users::get(&mut app.db.conn(), UserId(user)).await?;
    // A partner has no notice choices to read or change.
    if !u.role.is_staff() {
        return Err(AppError::NotFound);
    }
    Ok(u.id)
}

pub async fn show(app: &App, actor: &Actor, user: i64) -> Result<NoticeChoices, AppError> {
    let id = target(app, actor, user).await?;
    Ok(notice_choices::get(&mut app.db.conn(), id).await?)
}

pub async fn update(
    app: &App,
    actor: &Actor,
    audit: &AuditActor,
    user: i64,
    input: ChoicesInput,
) -> Result<NoticeChoices, AppError> {
    let id = target(app, actor, user).await?;
    if let Some(ids) = &input.followed_group_ids
        && ids.len() > MAX_FOLLOWED
    {
        return Err(AppError::invalid(
            "followed_group_ids",
            "TooLong",
            format!("at most {MAX_FOLLOWED} groups may be followed"),
        ));
    }
    let mut tx = app.db.begin().await?;
    // Two changes at the same moment are applied one after the other: neither undoes the other's fields.
    users::get_for_update(&mut tx, id).await?;
    let mut choices = notice_choices::get(&mut tx, id).await?;
    if let Some(ids) = input.followed_group_ids {
        let mut ids = ids;
        ids.sort_unstable();
        ids.dedup();
        for g in &ids {
            match groups::get(&mut tx, GroupId(*g)).await {
                Ok(_) => {}
                Err(DbError::NotFound) => {
                    return Err(AppError::invalid(
                        "followed_group_ids",
                        "InvalidValue",
                        format!("there is no group {g}"),
                    ));
                }
                Err(e) => return Err(e.into()),
            }
        }
        choices.followed_group_ids = ids;
    }
    choices.ticket_assigned = input.ticket_assigned.unwrap_or(choices.ticket_assigned);
    choices.requester_replied = input.requester_replied.unwrap_or(choices.requester_replied);
    choices.new_in_followed_group = input.new_in_followed_group.unwrap_or(choices.new_in_followed_group);
    notice_choices::set(&mut tx, id, &choices, audit).await?;
    tx.commit().await?;
    Ok(choices)
}
