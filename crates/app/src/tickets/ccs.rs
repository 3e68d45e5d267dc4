//! Who is copied on a ticket (Zendesk's CCs). Every CC is a provisioned account, never made on the fly: a partner
//! may copy colleagues of their own organization; staff may copy staff and the ticket organization's people. The
//! requester is never their own CC. Copied partners already see the ticket (it is their organization's); copied
//! people are told of public replies and status changes as the requester is.

use super::*;

/// The most people one ticket may copy (Zendesk's limit).
pub const MAX_CCS: usize = 48;

/// One change in Zendesk's `email_ccs` form: `{"user_id": 5}` or `{"user_email": "a@b.example"}`, with `action`
/// `put` (the default: add) or `delete` (remove).
#[derive(Debug, Default, Clone, Deserialize, utoipa::ToSchema)]
pub struct CcChange {
    pub user_id: Option<i64>,
    pub user_email: Option<String>,
    /// Accepted and ignored: accounts are never created from a CC.
    pub user_name: Option<String>,
    /// `put` or `delete`.
    pub action: Option<String>,
}

/// Someone named in a CC list: an id, or an e-mail address (`collaborators` takes either).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum CcName {
    Id(i64),
    Email(String),
}

/// Whether the input names CCs at all.
fn asks(input: &TicketInput) -> bool {
    input.collaborator_ids.is_some()
        || input.email_cc_ids.is_some()
        || input.email_ccs.is_some()
        || input.collaborators.is_some()
        || input.additional_collaborators.is_some()
}

/// How the caller named someone, in their own words: a refusal repeats only this, never what the store holds.
fn typed(name: &CcName) -> String {
    match name {
        CcName::Id(id) => format!("user {id}"),
        CcName::Email(e) => e.trim().chars().take(254).collect(),
    }
}

/// Finds someone the caller may name. Staff may name anyone. A partner may name only people of their own
/// organization with an account in use; for anyone else, existing or not, the refusal is the same, so that a
/// partner cannot learn who has an account elsewhere.
async fn resolve(conn: &mut Conn, actor: &User, field: &str, name: &CcName) -> Result<User, AppError> {
    let found = match name {
        CcName::Id(id) => users::get(conn, UserId(*id)).await,
        CcName::Email(e) => users::by_email(conn, e.trim()).await,
    };
    let staff = actor.role.is_staff();
    let visible = |u: &User| {
        staff
            || (!u.role.is_staff()
                && u.status != UserStatus::Suspended
                && u.organization_id.is_some()
                && u.organization_id == actor.organization_id)
    };
    match found {
        Ok(u) if visible(&u) => Ok(u),
        Ok(_) | Err(DbError::NotFound) if !staff => Err(AppError::invalid(
            field,
            "InvalidValue",
            format!(
                "cannot copy {}: partners copy colleagues of their own organization who have an account. {NO_ACCOUNT_HELP}",
                typed(name)
            ),
        )),
        Err(DbError::NotFound) => Err(AppError::invalid(
            field,
            "InvalidValue",
            format!("there is no account for {}", typed(name)),
        )),
        Ok(u) => Ok(u),
        Err(e) => Err(e.into()),
    }
}

/// May `actor` copy (or uncopy) `user` on a ticket of `org`?
fn may_copy(actor: &User, user: &User, org: Option<partnerdesk_core::OrgId>) -> Result<(), String> {
    if user.status == UserStatus::Suspended {
        return Err(format!("{} is suspended", user.email));
    }
    let own_org = user.organization_id.is_some() && user.organization_id == org;
    let allowed = if actor.role.is_staff() {
        user.role.is_staff() || own_org
    } else {
        !user.role.is_staff() && own_org && actor.organization_id == org
    };
    if allowed {
        Ok(())
    } else if actor.role.is_staff() {
        Err(format!(
            "{} is not staff nor one of the ticket organization's people",
            user.email
        ))
    } else {
        Err(format!("{} is not one of your organization's people", user.email))
    }
}

/// The CC list `input` asks for, given the list as it is (`current`), the requester and the ticket's organization;
/// `None` when the input names no CCs. Each person added or removed is checked.
pub(super) async fn plan(
    conn: &mut Conn,
    actor: &User,
    current: &[UserId],
    requester: UserId,
    org: Option<partnerdesk_core::OrgId>,
    input: &TicketInput,
) -> Result<Option<Vec<UserId>>, AppError> {
    if !asks(input) {
        return Ok(None);
    }
    // Bounded before anything is looked up: the lookups run inside the ticket's write transaction.
    let named = [&input.collaborator_ids, &input.email_cc_ids]
        .iter()
        .map(|l| l.as_ref().map_or(0, Vec::len))
        .sum::<usize>()
        + [&input.collaborators, &input.additional_collaborators]
            .iter()
            .map(|l| l.as_ref().map_or(0, Vec::len))
            .sum::<usize>()
        + input.email_ccs.as_ref().map_or(0, Vec::len);
    if named > 2 * MAX_CCS {
        return Err(AppError::invalid(
            "email_ccs",
            "TooLong",
            format!("a ticket may copy at most {MAX_CCS} people; this names {named}"),
        ));
    }
    let mut list: Vec<User> = Vec::new();
    let keep = |list: &mut Vec<User>, u: User| {
        if !list.iter().any(|x| x.id == u.id) {
            list.push(u);
        }
    };
    let replacing = input.collaborator_ids.as_ref().or(input.email_cc_ids.as_ref());
    match replacing {
        Some(ids) => {
            let field = if input.collaborator_ids.is_some() {
                "collaborator_ids"
            } else {
                "email_cc_ids"
            };
            for id in ids {
                // Those already copied stay whoever they are; anyone new must be someone the caller may name.
                let u = match current.iter().find(|c| c.0 == *id) {
                    Some(c) => users::get(conn, *c).await?,
                    None => resolve(conn, actor, field, &CcName::Id(*id)).await?,
                };
                keep(&mut list, u);
            }
        }
        None => {
            for id in current {
                keep(&mut list, users::get(conn, *id).await?);
            }
        }
    }
    for (field, names) in [
        ("collaborators", &input.collaborators),
        ("additional_collaborators", &input.additional_collaborators),
    ] {
        for n in names.iter().flatten() {
            let u = resolve(conn, actor, field, n).await?;
            keep(&mut list, u);
        }
    }
    for change in input.email_ccs.iter().flatten() {
        let name = match (&change.user_id, &change.user_email) {
            (Some(id), _) => CcName::Id(*id),
            (None, Some(e)) => CcName::Email(e.clone()),
            (None, None) => {
                return Err(AppError::invalid(
                    "email_ccs",
                    "InvalidValue",
                    "each CC names a user_id or a user_email",
                ));
            }
        };
        match change.action.as_deref().unwrap_or("put") {
            "put" => {
                let u = resolve(conn, actor, "email_ccs", &name).await?;
                keep(&mut list, u);
            }
            // Removal looks only at the list itself: it tells nothing about anyone not on it.
            "delete" => list.retain(|x| match &name {
                CcName::Id(id) => x.id.0 != *id,
                CcName::Email(e) => !x.email.eq_ignore_ascii_case(e.trim()),
            }),
            other => {
                return Err(AppError::invalid(
                    "email_ccs",
                    "InvalidValue",
                    format!("a CC's action is put or delete, not '{other}'"),
                ));
            }
        }
    }
    list.retain(|u| u.id != requester);
    // Everyone who joins or leaves the list is checked; those already on it stay as they are.
    let mut errors = Invalid::default();
    let before: Vec<UserId> = current.to_vec();
    for u in &list {
        if !before.contains(&u.id)
            && let Err(why) = may_copy(actor, u, org)
        {
            errors.push("email_ccs", "InvalidValue", format!("cannot copy {why}"));
        }
    }
    for id in before.iter().filter(|id| !list.iter().any(|u| u.id == **id)) {
        if let Ok(u) = users::get(conn, *id).await
            && !actor.role.is_staff()
            && u.role.is_staff()
        {
            errors.push(
                "email_ccs",
                "InvalidValue",
                format!("only staff may remove {} from the copies", u.email),
            );
        }
    }
    if list.len() > MAX_CCS {
        errors.push(
            "email_ccs",
            "TooLong",
            format!("a ticket may copy at most {MAX_CCS} people"),
        );
    }
    errors.into_result()?;
    Ok(Some(list.into_iter().map(|u| u.id).collect()))
}

/// The CCs still allowed once the ticket's organization is `org` (a ticket moved to another organization drops
/// the old organization's people).
pub(super) async fn still_allowed(
    conn: &mut Conn,
    ccs: &[UserId],
    org: Option<partnerdesk_core::OrgId>,
) -> Result<Vec<UserId>, AppError> {
    let mut kept = Vec::new();
    for id in ccs {
        match users::get(conn, *id).await {
            Ok(u) if u.role.is_staff() || (u.organization_id.is_some() && u.organization_id == org) => kept.push(u.id),
            Ok(_) | Err(DbError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(kept)
}
