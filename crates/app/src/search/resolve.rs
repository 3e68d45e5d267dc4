//! A parsed query made into store searches for one caller: names looked up, comparisons expanded into the values
//! they accept, repeated keywords made alternatives, and the caller's scope and visibility set.

use std::collections::BTreeMap;

use partnerdesk_core::accounts::Role;
use partnerdesk_core::policy::{Actor, OrgScope};
use partnerdesk_core::search::{Clause, Filter, Person, Query, ResultType, Text, TextField, unknown_keyword};
use partnerdesk_core::tickets::{Priority, TicketStatus};
use partnerdesk_db::Conn;
use partnerdesk_db::profile_fields::{self, FieldKind, ProfileField};
use partnerdesk_db::search::people::{OrganizationSearch, UserSearch};
use partnerdesk_db::search::{Atom, Condition, IdColumn, TextTerm, TicketSearch, names};

use crate::error::AppError;

/// Which types a query can find: keywords that only tickets have (`status`, `assignee`, ...) leave users and
/// organizations out, and `role`/`email` leave tickets and organizations out.
pub fn types_of(query: &Query) -> Vec<ResultType> {
    if let Some(t) = query.result_type {
        return vec![t];
    }
    let mut ticket = true;
    let mut user = true;
    let mut organization = true;
    for c in &query.clauses {
        let text = matches!(c.filter, Filter::Text(TextField::Any, _) | Filter::Number(_));
        if c.negated && !text {
            // Users and organizations take no negated filters: `-tags:spam` searches tickets.
            user = false;
            organization = false;
        }
        match c.filter {
            Filter::Text(TextField::Any, _) | Filter::Number(_) => {}
            Filter::Tag(_) => user = false,
            Filter::Name(_) => ticket = false,
            Filter::Role(_) | Filter::Email(_) => {
                ticket = false;
                organization = false;
            }
            Filter::Organization(_) => organization = false,
            // An organization or user field (which of the two is known once looked up).
            Filter::Field(..) => ticket = false,
            _ => {
                user = false;
                organization = false;
            }
        }
    }
    [
        (ticket, ResultType::Ticket),
        (user, ResultType::User),
        (organization, ResultType::Organization),
    ]
    .into_iter()
    .filter_map(|(on, t)| on.then_some(t))
    .collect()
}

fn refuse(c: &Clause, what: &str) -> AppError {
    AppError::BadRequest(format!("{what} (at character {})", c.position))
}

async fn people(conn: &mut Conn, actor: &Actor, who: &Person) -> Result<Vec<i64>, AppError> {
    Ok(match who {
        Person::Me => vec![actor.id.0],
        Person::Nobody => Vec::new(),
        Person::Named(name) => names::users(conn, name).await?,
    })
}

/// The statuses `cmp status` accepts, in Zendesk's order new < open < pending < hold < solved < closed.
fn statuses(cmp: partnerdesk_core::search::Cmp, status: TicketStatus) -> Vec<TicketStatus> {
    let rank = |s: &TicketStatus| TicketStatus::ALL.iter().position(|x| x == s);
    TicketStatus::ALL
        .iter()
        .copied()
        .filter(|s| cmp.holds(&rank(s), &rank(&status)))
        .collect()
}

/// The ticket search of `query` for `actor`.
pub async fn tickets(conn: &mut Conn, actor: &Actor, query: &Query) -> Result<TicketSearch, AppError> {
    let mut text = Vec::new();
    let mut conditions = Vec::new();
    // Alternatives gather under (keyword, negated); each bound or number is a condition of its own.
    let mut alternatives: BTreeMap<(&'static str, bool), Vec<Atom>> = BTreeMap::new();
    for c in &query.clauses {
        let atom = match &c.filter {
            Filter::Text(field, t) => {
                text.push(TextTerm {
                    field: *field,
                    text: t.clone(),
                    negated: c.negated,
                });
                continue;
            }
            Filter::Number(n) if c.negated => {
                text.push(TextTerm {
                    field: TextField::Any,
                    text: Text::Phrase(n.to_string()),
                    negated: true,
                });
                continue;
            }
            Filter::Number(n) => Atom::IdOrText(*n),
            Filter::Status(cmp, s) => Atom::Statuses(statuses(*cmp, *s)),
            Filter::Priority(cmp, p) => {
                Atom::Priorities(Priority::ALL.iter().copied().filter(|x| cmp.holds(x, p)).collect())
            }
            Filter::NoPriority => Atom::NoPriority,
            Filter::Organization(Person::Nobody) => Atom::Empty(IdColumn::Organization),
            Filter::Organization(Person::Me) => {
                Atom::Ids(IdColumn::Organization, actor.org_id.map(|o| o.0).into_iter().collect())
            }
            Filter::Organization(Person::Named(name)) => {
                Atom::Ids(IdColumn::Organization, names::organizations(conn, name).await?)
            }
            Filter::Requester(who) => Atom::Ids(IdColumn::Requester, people(conn, actor, who).await?),
            Filter::Assignee(Person::Nobody) => Atom::Empty(IdColumn::Assignee),
            Filter::Assignee(who) => Atom::Ids(IdColumn::Assignee, people(conn, actor, who).await?),
            Filter::Group(Person::Nobody) => Atom::Empty(IdColumn::Group),
            Filter::Group(Person::Me) => return Err(refuse(c, "group:me names no group")),
            Filter::Group(Person::Named(name)) => Atom::Ids(IdColumn::Group, names::groups(conn, name).await?),
            Filter::Tag(tag) => Atom::Tag(tag.clone()),
            Filter::Form(name) => Atom::Ids(IdColumn::Form, names::forms(conn, name).await?),
            Filter::Via(via) => Atom::Via(via.clone()),
            Filter::Created(b) => Atom::Created(*b),
            Filter::Updated(b) => Atom::Updated(*b),
            Filter::Solved(b) => Atom::Solved(*b),
            Filter::Escalated(on) => {
                conditions.push(Condition {
                    negated: c.negated == *on,
                    any_of: vec![Atom::Escalated],
                });
                continue;
            }
            Filter::CustomField(id, value) => {
                // End-users search only by the fields they are shown: another field's value is not theirs to probe.
                let visible = match partnerdesk_db::ticket_fields::get(conn, *id).await {
                    Ok(f) => actor.is_staff() || f.visible_in_portal,
                    Err(partnerdesk_db::DbError::NotFound) => false,
                    Err(e) => return Err(e.into()),
                };
                if visible {
                    // Values are stored as checked: trimmed; a checkbox as "true".
                    Atom::FieldValue(*id, value.trim().to_owned())
                } else {
                    Atom::Nothing
                }
            }
            Filter::Role(_) | Filter::Email(_) | Filter::Name(_) => {
                return Err(refuse(
                    c,
                    "role, email and name search users and organizations, not tickets",
                ));
            }
            // Tickets' own fields are `custom_field_ID`; a key names an organization's or a user's.
            Filter::Field(key, _) => return Err(refuse(c, &unknown_keyword(key))),
        };
        match c.filter.alternative_key() {
            Some(key) => alternatives.entry((key, c.negated)).or_default().push(atom),
            None => conditions.push(Condition {
                negated: c.negated,
                any_of: vec![atom],
            }),
        }
    }
    conditions.extend(
        alternatives
            .into_iter()
            .map(|((_, negated), any_of)| Condition { negated, any_of }),
    );
    Ok(TicketSearch {
        scope: actor.ticket_scope(),
        internal: actor.sees_internal_comments(),
        text,
        conditions,
        order: None,
    })
}

/// Free text terms only (users and organizations match on their text).
fn any_text(query: &Query) -> Vec<TextTerm> {
    query
        .clauses
        .iter()
        .filter_map(|c| match &c.filter {
            Filter::Text(_, t) => Some(TextTerm {
                field: TextField::Any,
                text: t.clone(),
                negated: c.negated,
            }),
            Filter::Number(n) => Some(TextTerm {
                field: TextField::Any,
                text: Text::Phrase(n.to_string()),
                negated: c.negated,
            }),
            _ => None,
        })
        .collect()
}

/// The active organization and user fields, looked up once for a query that names any by key.
#[derive(Debug, Default)]
pub struct NamedFields(Vec<ProfileField>);

/// Refuses a `KEY:value` whose key is no active organization or user field, before any type is searched: a query
/// whose other filters leave no type to search would otherwise find nothing instead of saying what is wrong.
/// Answers the fields, for [`users`] and [`organizations`] to match the clauses against.
pub async fn known_fields(conn: &mut Conn, query: &Query) -> Result<NamedFields, AppError> {
    if !query.clauses.iter().any(|c| matches!(c.filter, Filter::Field(..))) {
        return Ok(NamedFields::default());
    }
    let mut all = Vec::new();
    for kind in [FieldKind::Organization, FieldKind::User] {
        all.extend(profile_fields::list(conn, kind).await?.into_iter().filter(|f| f.active));
    }
    for c in &query.clauses {
        if let Filter::Field(key, _) = &c.filter
            && !all.iter().any(|f| f.key == *key)
        {
            return Err(refuse(c, &unknown_keyword(key)));
        }
    }
    Ok(NamedFields(all))
}

/// What a `KEY:value` clause means for one kind of record.
enum FieldMatch {
    /// The field of this kind with the key, and the value to find (lower case).
    Holds(i64, String),
    /// Nothing of this kind matches: the key is the other kind's field (in a search of both), or a field the
    /// end-user is not shown (whose values are not theirs to probe).
    Nothing,
}

/// Looks up `key` among the active fields of `kind`. [`known_fields`] has already refused a key of no field, so a
/// key not of this kind is the other kind's: it finds nothing in a search of both, and is refused when the query
/// asks for this kind alone.
fn field_match(
    fields: &NamedFields,
    actor: &Actor,
    query: &Query,
    c: &Clause,
    kind: FieldKind,
    (key, value): (&str, &str),
) -> Result<FieldMatch, AppError> {
    if let Some(f) = fields.0.iter().find(|f| f.kind == kind && f.key == key) {
        return Ok(if actor.is_staff() || f.visible_to_end_users {
            FieldMatch::Holds(f.id, value.trim().to_lowercase())
        } else {
            FieldMatch::Nothing
        });
    }
    let this_type = match kind {
        FieldKind::User => ResultType::User,
        FieldKind::Organization => ResultType::Organization,
    };
    if query.result_type == Some(this_type) {
        return Err(refuse(c, &unknown_keyword(key)));
    }
    Ok(FieldMatch::Nothing)
}

/// The user search of `query` for `actor`: staff find anyone; an end-user only themselves.
pub async fn users(
    conn: &mut Conn,
    actor: &Actor,
    query: &Query,
    fields: &NamedFields,
) -> Result<UserSearch, AppError> {
    let mut s = UserSearch {
        text: any_text(query),
        only: (!actor.is_staff()).then(|| vec![actor.id.0]),
        ..UserSearch::default()
    };
    for c in &query.clauses {
        match &c.filter {
            Filter::Role(role) if !c.negated => s.roles.extend(Role::parse(role)),
            Filter::Email(email) if !c.negated => s.email = Some(email.clone()),
            Filter::Name(name) if !c.negated => s.text.push(TextTerm {
                field: TextField::Any,
                text: Text::Phrase(name.clone()),
                negated: false,
            }),
            Filter::Organization(who) if !c.negated => {
                let ids = match who {
                    Person::Named(name) => names::organizations(conn, name).await?,
                    Person::Me => actor.org_id.map(|o| o.0).into_iter().collect(),
                    Person::Nobody => Vec::new(),
                };
                s.organizations.get_or_insert_with(Vec::new).extend(ids);
            }
            Filter::Field(key, value) if !c.negated => {
                match field_match(fields, actor, query, c, FieldKind::User, (key, value))? {
                    FieldMatch::Holds(id, value) => s.fields.push((id, value)),
                    FieldMatch::Nothing => s.only = Some(Vec::new()),
                }
            }
            Filter::Text(..) | Filter::Number(_) => {}
            _ => return Err(refuse(c, "this filter does not apply to users")),
        }
    }
    Ok(s)
}

/// The organization search of `query` for `actor`: staff find any, and match notes; an end-user their own.
pub fn organizations(actor: &Actor, query: &Query, fields: &NamedFields) -> Result<OrganizationSearch, AppError> {
    let only = match actor.org_scope() {
        OrgScope::All => None,
        OrgScope::Only(org) => Some(vec![org.0]),
        OrgScope::Nothing => Some(Vec::new()),
    };
    let mut s = OrganizationSearch {
        text: any_text(query),
        only,
        notes: actor.is_staff(),
        ..OrganizationSearch::default()
    };
    for c in &query.clauses {
        match &c.filter {
            Filter::Tag(tag) if !c.negated => s.tags.push(tag.clone()),
            Filter::Name(name) if !c.negated => s.name = Some(name.clone()),
            Filter::Field(key, value) if !c.negated => {
                match field_match(fields, actor, query, c, FieldKind::Organization, (key, value))? {
                    FieldMatch::Holds(id, value) => s.fields.push((id, value)),
                    FieldMatch::Nothing => s.only = Some(Vec::new()),
                }
            }
            Filter::Text(..) | Filter::Number(_) => {}
            _ => return Err(refuse(c, "this filter does not apply to organizations")),
        }
    }
    Ok(s)
}
