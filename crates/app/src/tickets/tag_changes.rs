//! Changing a ticket's tags alone (Zendesk's `/tickets/{id}/tags`). It is an update like any other: the ticket is
//! read and locked in the update's transaction (two callers adding different tags at once both land), the tags are
//! normalised the same way, the change is audited, and a closed ticket refuses it.

use super::*;

/// What to do with the tags named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagChange {
    /// Replace the ticket's tags.
    Set(Vec<String>),
    /// Add these after the ticket's tags.
    Add(Vec<String>),
    /// Take these away.
    Remove(Vec<String>),
}

/// Changes the tags of a ticket the caller can see. Staff only: an end-user gets 404 for a ticket outside their
/// scope (as for every read) and 403 for one they can see.
pub async fn change_tags(app: &App, caller: &User, id: TicketId, change: TagChange) -> Result<Updated, AppError> {
    let actor = caller.actor();
    visible(&app.db, &actor, id).await?;
    if !actor.may_work_tickets() {
        return Err(AppError::Forbidden("End-users may not change a ticket's tags.".into()));
    }
    let mut input = TicketInput::default();
    match change {
        TagChange::Set(t) => input.tags = Some(t),
        TagChange::Add(t) => input.additional_tags = Some(t),
        TagChange::Remove(t) => input.remove_tags = Some(t),
    }
    update(app, caller, id, input, "api").await
}
