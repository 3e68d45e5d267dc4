//! Changing a ticket: the plan of an update (what the caller may change, checked against the ticket as it is), and
//! its write.

use super::*;

/// Changes a ticket the caller can see. Staff may change every field; end-users may comment (publicly)
/// and mark the ticket solved.
///
/// The ticket is read and locked inside the transaction that writes it, so two people saving at the same moment
/// are applied one after the other: neither change is lost, and the audit's `before` is the state each change
/// was applied to.
pub async fn update(
    app: &App,
    caller: &User,
    id: TicketId,
    input: TicketInput,
    via: &str,
) -> Result<Updated, AppError> {
    let mut tx = app.db.begin().await?;
    let (updated, told) = update_in(&mut tx, app, caller, id, input, via).await?;
    tx.commit().await?;
    if told {
        app.outbox_wakeup.notify_one();
    }
    Ok(updated)
}

/// `update` inside the caller's transaction; true when a notice was queued (see `create_in`).
pub async fn update_in(
    tx: &mut Conn,
    app: &App,
    caller: &User,
    id: TicketId,
    input: TicketInput,
    via: &str,
) -> Result<(Updated, bool), AppError> {
    let actor: Actor = caller.actor();
    let before = tickets::get_for_update(tx, id, actor.ticket_scope()).await?;
    let change = plan_update(tx, caller, &before, &input, via).await?;
    let (ticket, comment, audit_id) = tickets::update(
        tx,
        &before,
        &change.fields,
        change.comment.as_ref(),
        &caller.audit_actor(),
    )
    .await?;
    if let Some(c) = &comment {
        for u in &change.uploads {
            files::attach_upload(tx, u.id, ticket.id, c.id).await?;
        }
    }
    let told =
        notifications::ticket_updated(tx, &app.settings, caller, &before, &ticket, comment.as_ref(), audit_id).await?;
    let updated = Updated {
        before,
        ticket,
        comment,
        audit_id,
    };
    Ok((updated, told))
}

/// What an update writes.
struct Change {
    fields: TicketFields,
    comment: Option<NewComment>,
    uploads: Vec<Upload>,
}

/// Works out an update's fields from `before` and the input, checking everything it names.
async fn plan_update(
    conn: &mut Conn,
    caller: &User,
    before: &Ticket,
    input: &TicketInput,
    via: &str,
) -> Result<Change, AppError> {
    let actor: Actor = caller.actor();
    let staff = actor.may_work_tickets();
    if before.status.is_frozen() {
        return Err(AppError::invalid(
            "status",
            "InvalidValue",
            "a closed ticket cannot be changed; file a follow-up ticket instead",
        ));
    }
    let mut errors = Invalid::default();
    let has_uploads = input
        .comment
        .as_ref()
        .and_then(|c| c.uploads.as_ref())
        .is_some_and(|u| !u.is_empty());
    let body = comment_body(&mut errors, input.comment.as_ref(), None, has_uploads);
    let public = input.comment.as_ref().and_then(|c| c.public).unwrap_or(true);
    if !public && !actor.sees_internal_comments() {
        return Err(AppError::Forbidden("End-users cannot add internal notes.".into()));
    }
    let mut f = before.fields();
    let explicit_status = if staff {
        apply_staff_fields(&mut errors, &mut f, input)
    } else {
        // Fields only staff may change are ignored for end-users, but checked all the same: a malformed body is
        // refused whoever sends it (the status has the end-users' own rule).
        let mut ignored = Invalid::default();
        apply_staff_fields(&mut ignored, &mut f.clone(), input);
        errors.0.extend(ignored.0.into_iter().filter(|e| e.field != "status"));
        requester_status(&mut errors, input)
    };
    let explicit_status = match explicit_status.map(|s| before.status.check_explicit(s)) {
        None => None,
        Some(Ok(s)) => s,
        Some(Err(why)) => {
            errors.push("status", "InvalidValue", why);
            None
        }
    };
    errors.into_result()?;
    let uploads = resolve_uploads(conn, caller, input.comment.as_ref()).await?;
    if staff {
        apply_staff_references(conn, &mut f, input).await?;
    }
    let current = if f.organization_id == before.organization_id {
        before.ccs.clone()
    } else {
        ccs::still_allowed(conn, &before.ccs, f.organization_id).await?
    };
    f.ccs = ccs::plan(conn, caller, &current, f.requester_id, f.organization_id, input)
        .await?
        .unwrap_or(current);
    f.status = explicit_status.unwrap_or_else(|| before.status.after_work(staff, body.is_some(), f.status));
    custom::apply(conn, staff, &mut f, input.custom_values(), false, Some(before.status)).await?;
    let comment = body.map(|b| NewComment {
        author_id: Some(caller.id),
        body: b,
        public,
        via: via.to_owned(),
    });
    Ok(Change {
        fields: f,
        comment,
        uploads,
    })
}

/// Applies the plain fields staff may change; returns the status they asked for.
fn apply_staff_fields(errors: &mut Invalid, f: &mut TicketFields, input: &TicketInput) -> Option<TicketStatus> {
    if let Some(s) = &input.subject {
        f.subject = subject_of(errors, Some(s), None);
    }
    if let Some(p) = &input.priority {
        f.priority = parse_priority(errors, p.as_deref());
    }
    if let Some(t) = &input.tags {
        f.tags = tags::normalize(t);
    }
    if let Some(t) = &input.additional_tags {
        f.tags = tags::union(&f.tags, &tags::normalize(t));
    }
    if let Some(t) = &input.remove_tags {
        let remove = tags::normalize(t);
        f.tags.retain(|x| !remove.contains(x));
    }
    if let Some(x) = &input.external_id {
        f.external_id = crate::input::external_id(errors, x.as_deref());
    }
    input.status.as_deref().and_then(|s| parse_status(errors, s))
}

/// End-users may only mark their ticket solved.
fn requester_status(errors: &mut Invalid, input: &TicketInput) -> Option<TicketStatus> {
    if input.solved == Some(true) || input.status.as_deref() == Some("solved") {
        Some(TicketStatus::Solved)
    } else {
        if let Some(s) = &input.status {
            errors.push(
                "status",
                "InvalidValue",
                format!("end-users may only mark a ticket solved, not '{s}'"),
            );
        }
        None
    }
}

/// Applies the fields staff may change that name other records, each checked to exist.
async fn apply_staff_references(conn: &mut Conn, f: &mut TicketFields, input: &TicketInput) -> Result<(), AppError> {
    if let Some(g) = input.group_id {
        f.group_id = check_group(conn, g).await?;
    }
    if let Some(a) = input.assignee_id {
        f.assignee_id = check_assignee(conn, a).await?;
    }
    if let Some(r) = named_requester(conn, input).await? {
        f.requester_id = r.id;
        f.organization_id = r.organization_id;
    }
    if let Some(form) = input.ticket_form_id {
        f.ticket_form_id = Some(load_form(conn, form).await?.id);
    }
    Ok(())
}
