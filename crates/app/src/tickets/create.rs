//! Filing a ticket: what a create is checked for before anything is read, and how a new ticket is routed.

use super::*;

/// What a create asks for, checked before anything is read.
struct Checked {
    body: Option<String>,
    subject: String,
    priority: Option<Priority>,
    status: Option<TicketStatus>,
    external_id: Option<String>,
}

fn check_new(input: &TicketInput, staff: bool) -> Result<Checked, AppError> {
    let mut errors = Invalid::default();
    let body = comment_body(&mut errors, input.comment.as_ref(), input.description.as_deref(), true);
    let subject = subject_of(&mut errors, input.subject.as_deref(), body.as_deref());
    let priority = parse_priority(&mut errors, input.priority.clone().flatten().as_deref());
    let status = if staff {
        input.status.as_deref().and_then(|s| parse_status(&mut errors, s))
    } else {
        None
    };
    // Checked whoever sends it, kept for staff only (an end-user's ticket fields are the requests API's).
    let external_id = crate::input::external_id(&mut errors, input.external_id.clone().flatten().as_deref());
    let external_id = if staff { external_id } else { None };
    if input.comment.as_ref().and_then(|c| c.public) == Some(false) {
        errors.push(
            "comment",
            "InvalidValue",
            "the first comment of a ticket is its public description",
        );
    }
    errors.into_result()?;
    Ok(Checked {
        body,
        subject,
        priority,
        status,
        external_id,
    })
}

/// Files a ticket. `submitter` is the signed-in caller; end-users always file for themselves. One transaction:
/// every lookup the ticket depends on (requester, forms, group, assignee, uploads) is read inside it.
pub async fn create(app: &App, submitter: &User, input: TicketInput, via: &str) -> Result<Created, AppError> {
    let mut tx = app.db.begin().await?;
    let (created, told) = create_in(&mut tx, app, submitter, input, via).await?;
    tx.commit().await?;
    if told {
        app.outbox_wakeup.notify_one();
    }
    Ok(created)
}

/// `create` inside the caller's transaction (incoming mail records the message in the same one); true when a
/// notice was queued, so that the caller wakes the outbox after committing.
pub async fn create_in(
    tx: &mut Conn,
    app: &App,
    submitter: &User,
    input: TicketInput,
    via: &str,
) -> Result<(Created, bool), AppError> {
    let checked = check_new(&input, submitter.actor().is_staff())?;
    let uploads = resolve_uploads(tx, submitter, input.comment.as_ref()).await?;
    let (mut new, notice) = route_new(tx, submitter, &input, checked, via).await?;
    let staff = submitter.actor().is_staff();
    custom::apply(tx, staff, &mut new.fields, input.custom_values(), true, None).await?;
    if !(staff && input.group_id.flatten().is_some()) {
        custom::route_by_field(tx, &mut new).await?;
    }
    let (requester, org) = (new.fields.requester_id, new.fields.organization_id);
    if let Some(list) = ccs::plan(tx, submitter, &[], requester, org, &input).await? {
        new.fields.ccs = list;
    }
    let (ticket, comment, audit_id) = tickets::create(tx, &new, &submitter.audit_actor()).await?;
    for u in &uploads {
        files::attach_upload(tx, u.id, ticket.id, comment.id).await?;
    }
    let told = notifications::ticket_created(tx, &app.settings, submitter, &ticket, &comment).await?;
    let created = Created {
        ticket,
        comment,
        audit_id,
        notice,
    };
    Ok((created, told))
}

/// Refuses a form the requester may not file through.
fn check_audience(form: &TicketForm, staff: bool, partner: bool) -> Result<(), AppError> {
    let refused = match form.audience {
        Audience::Staff if !staff => Some("staff"),
        Audience::Partners if !staff && !partner => Some("alliance partners"),
        _ => None,
    };
    match refused {
        Some(who) => Err(AppError::invalid(
            "ticket_form_id",
            "InvalidValue",
            format!("ticket form {} is for {who} only", form.id),
        )),
        None => Ok(()),
    }
}

/// The new ticket as routed: requester, form, group, priority and tags, and the notice for a misrouted partner.
async fn route_new(
    conn: &mut Conn,
    submitter: &User,
    input: &TicketInput,
    checked: Checked,
    via: &str,
) -> Result<(NewTicket, Option<String>), AppError> {
    let staff = submitter.actor().is_staff();
    let requester = match (staff, named_requester(conn, input).await?) {
        (true, Some(r)) => r,
        _ => submitter.clone(),
    };
    let requester_org = match requester.organization_id {
        Some(id) => Some(organizations::get(conn, id, OrgScope::All).await?),
        None => None,
    };
    let chosen = match input.ticket_form_id {
        Some(id) => Some(load_form(conn, id).await?),
        None => None,
    };
    let partner = requester_org.as_ref().is_some_and(|o| o.alliance_partner)
        && requester.role == partnerdesk_core::accounts::Role::EndUser;
    if let Some(f) = &chosen {
        check_audience(f, staff, partner)?;
    }
    let default_form = forms::default_form(conn).await?;
    // A partner's ticket is routed by the partner form; when staff file for a partner, their explicit form wins.
    let partner_form = if partner && (!staff || chosen.is_none()) {
        forms::partner_form(conn).await?
    } else {
        None
    };
    let (explicit_group, assignee) = if staff {
        (
            check_group(conn, input.group_id.flatten()).await?,
            check_assignee(conn, input.assignee_id.flatten()).await?,
        )
    } else {
        (None, None)
    };
    let rules: [Option<FormRule>; 3] = [
        chosen.as_ref().map(TicketForm::rule),
        default_form.as_ref().map(TicketForm::rule),
        partner_form.as_ref().map(TicketForm::rule),
    ];
    let submission = Submission {
        chosen_form: rules[0].as_ref(),
        default_form: rules[1].as_ref(),
        partner_form: rules[2].as_ref(),
        explicit_group,
        explicit_priority: checked.priority,
        tags: if staff {
            input.tags.clone().unwrap_or_default()
        } else {
            Vec::new()
        },
    };
    let routed = routing::route(&submission);
    let notice = routed.misrouted.then(|| {
        let form = partner_form.as_ref().map(|f| format!("'{}' (form {})", f.display_name, f.id)).unwrap_or_default();
        format!("This ticket was filed through a form meant for other requests. It has been routed to the alliance partner queue all the same; next time, please use the {form} form so that it reaches the right people at once.")
    });
    let fields = TicketFields {
        subject: checked.subject,
        status: checked.status.unwrap_or(TicketStatus::initial(assignee.is_some())),
        priority: routed.priority,
        requester_id: requester.id,
        organization_id: requester.organization_id,
        group_id: routed.group_id,
        assignee_id: assignee,
        ticket_form_id: routed.form_id,
        tags: routed.tags.clone(),
        ccs: Vec::new(),
        custom_fields: Vec::new(),
        external_id: checked.external_id,
    };
    let follow_ups = notice
        .iter()
        .map(|n| NewComment {
            author_id: None,
            body: n.clone(),
            public: true,
            via: "system".into(),
        })
        .collect();
    let new = NewTicket {
        fields,
        description: checked.body.unwrap_or_default(),
        submitter_id: submitter.id,
        via: via.to_owned(),
        routing: serde_json::to_value(&routed).map_err(AppError::internal)?,
        follow_ups,
    };
    Ok((new, notice))
}
