//! Zendesk's search language: what a query says, before anything is looked up.
//!
//! `parse` turns `webhook "bad gateway" status<solved organization:"Acme Integrations" -tags:spam created>7days`
//! into a [`Query`]: free text terms and property filters, each possibly negated, and an order. Names (of
//! organizations, people, groups, forms) stay names here: the application layer resolves them, and the store
//! turns the resolved query into SQL. Every value that can be checked without the database (statuses,
//! priorities, dates, booleans) is checked here, so a bad query is refused with the character position of the
//! culprit and what was expected there.

mod dates;
mod lexer;

use chrono::{DateTime, Utc};

use crate::tickets::{Priority, TicketStatus};

pub use dates::DateBound;

/// A query longer than this is refused (a person types a few words; this bounds the work a query can cause).
pub const MAX_QUERY_CHARS: usize = 1000;
/// At most this many terms and filters in one query.
pub const MAX_CLAUSES: usize = 32;

/// What a query searches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultType {
    Ticket,
    User,
    Organization,
}

impl ResultType {
    pub fn as_str(self) -> &'static str {
        match self {
            ResultType::Ticket => "ticket",
            ResultType::User => "user",
            ResultType::Organization => "organization",
        }
    }

    pub fn parse(s: &str) -> Option<ResultType> {
        match s {
            "ticket" => Some(ResultType::Ticket),
            "user" => Some(ResultType::User),
            "organization" => Some(ResultType::Organization),
            _ => None,
        }
    }
}

/// The comparison of a property filter: `:` is equality, the others order values (statuses, priorities, dates).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    /// Whether `a cmp b` holds, for values with an order.
    pub fn holds<T: Ord>(self, a: &T, b: &T) -> bool {
        match self {
            Cmp::Eq => a == b,
            Cmp::Lt => a < b,
            Cmp::Le => a <= b,
            Cmp::Gt => a > b,
            Cmp::Ge => a >= b,
        }
    }
}

/// Where a text term must occur.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextField {
    /// Anywhere the searcher may read: subject, description, comments (for users: name and e-mail; for
    /// organizations: name, domains, tags, and for staff the notes).
    Any,
    Subject,
    Description,
}

/// A text term: a word matches itself or as the beginning of a longer word (Zendesk: "top" finds "topology");
/// a quoted phrase matches those words in that order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Text {
    Word(String),
    Phrase(String),
}

impl Text {
    pub fn as_str(&self) -> &str {
        match self {
            Text::Word(s) | Text::Phrase(s) => s,
        }
    }
}

/// Whose tickets an `assignee:` filter means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Person {
    /// `none`: nobody (unassigned).
    Nobody,
    /// `me`: the searcher.
    Me,
    /// A name or an e-mail address.
    Named(String),
}

/// One filter of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    Text(TextField, Text),
    /// A bare number: also the ticket with that id (Zendesk: `query=3245227`).
    Number(i64),
    Status(Cmp, TicketStatus),
    Priority(Cmp, Priority),
    /// `priority:none`.
    NoPriority,
    Organization(Person),
    Requester(Person),
    Assignee(Person),
    Group(Person),
    Tag(String),
    Form(String),
    Via(String),
    Created(DateBound),
    Updated(DateBound),
    Solved(DateBound),
    Escalated(bool),
    /// Users: `role:agent`.
    Role(String),
    /// Users: `email:...`; organizations: none.
    Email(String),
    /// Users and organizations: `name:...`.
    Name(String),
    /// `custom_field_ID:value`: a ticket whose custom field holds the value (for a drop-down, the option's tag).
    CustomField(i64, String),
    /// `KEY:value` with any other keyword: an organization or user field by its key (`support_level:gold`). Only
    /// the application layer knows the keys, so an unknown keyword is refused there, at this clause's position.
    Field(String, String),
}

impl Filter {
    /// Filters that repeat are alternatives (`status:open status:pending`, `tags:a tags:b`): the key they group by.
    /// Free text and bounds (dates, `status<solved`) always combine with AND.
    pub fn alternative_key(&self) -> Option<&'static str> {
        Some(match self {
            Filter::Status(Cmp::Eq, _) => "status",
            Filter::Priority(Cmp::Eq, _) | Filter::NoPriority => "priority",
            Filter::Organization(_) => "organization",
            Filter::Requester(_) => "requester",
            Filter::Assignee(_) => "assignee",
            Filter::Group(_) => "group",
            Filter::Tag(_) => "tags",
            Filter::Form(_) => "form",
            Filter::Via(_) => "via",
            Filter::Role(_) => "role",
            Filter::CustomField(..) => "custom_field",
            _ => return None,
        })
    }
}

/// A filter with its sign and where it began in the query (for messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    pub filter: Filter,
    pub negated: bool,
    /// The character (from 1) where the clause starts.
    pub position: usize,
    /// The clause as it was typed (for showing a filter, and taking it out of the query).
    pub source: String,
}

/// What results are ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortField {
    Created,
    Updated,
    Priority,
    Status,
}

impl SortField {
    /// Zendesk's spellings, in `order_by:` and in `sort_by=`.
    pub fn parse(s: &str) -> Option<SortField> {
        match s {
            "created" | "created_at" => Some(SortField::Created),
            "updated" | "updated_at" | "commented" => Some(SortField::Updated),
            "priority" => Some(SortField::Priority),
            "status" => Some(SortField::Status),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Order {
    pub field: SortField,
    pub descending: bool,
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Query {
    pub clauses: Vec<Clause>,
    /// `type:...`; `None` searches every type.
    pub result_type: Option<ResultType>,
    pub sort_field: Option<SortField>,
    /// `sort:asc|desc`; `None` when the query does not say.
    pub descending: Option<bool>,
}

impl Query {
    /// Whether the query has a positive free-text term (one the text index can answer).
    pub fn has_positive_text(&self) -> bool {
        self.clauses
            .iter()
            .any(|c| !c.negated && matches!(c.filter, Filter::Text(..)))
    }
}

/// Why a query was refused: where and what was expected there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at character {position})")]
pub struct QueryError {
    /// The character (from 1) where the problem is.
    pub position: usize,
    pub message: String,
}

impl QueryError {
    fn at(position: usize, message: impl Into<String>) -> QueryError {
        QueryError {
            position,
            message: message.into(),
        }
    }
}

/// The keywords a query may use, for messages.
pub const KEYWORDS: &str = "type, status, priority, organization, requester, assignee, group, tags, form, via, \
    subject, description, created, updated, solved, escalated, custom_field_ID, role, email, name, order_by, sort";

/// The message for a keyword that is neither Zendesk's nor a field's key.
pub fn unknown_keyword(name: &str) -> String {
    format!("unknown keyword '{name}': expected one of {KEYWORDS}, or the key of an organization or user field")
}

/// Parses `input` as a query, with `now` as the moment relative dates (`3days`) count back from.
pub fn parse(input: &str, now: DateTime<Utc>) -> Result<Query, QueryError> {
    let chars = input.chars().count();
    if chars > MAX_QUERY_CHARS {
        return Err(QueryError::at(
            MAX_QUERY_CHARS + 1,
            format!("a query has at most {MAX_QUERY_CHARS} characters"),
        ));
    }
    // A NUL would end an FTS5 expression early and cannot be stored by PostgreSQL: refused, with the others.
    if let Some(at) = input
        .chars()
        .position(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(QueryError::at(at + 1, "control characters are not allowed in a query"));
    }
    let mut query = Query::default();
    for token in lexer::tokens(input)? {
        let lexer::Token {
            position,
            negated,
            keyword,
            value,
            end,
        } = token;
        let source: String = input.chars().skip(position - 1).take(end + 1 - position).collect();
        let filter = match keyword {
            None => match value {
                lexer::Value::Bare(s) if s.bytes().all(|b| b.is_ascii_digit()) && !s.starts_with('0') => {
                    match s.parse::<i64>() {
                        Ok(n) => Some(Filter::Number(n)),
                        Err(_) => text(false, s).map(|t| Filter::Text(TextField::Any, t)),
                    }
                }
                value => {
                    let quoted = matches!(value, lexer::Value::Quoted(_));
                    text(quoted, value.into_string()).map(|t| Filter::Text(TextField::Any, t))
                }
            },
            Some((name, cmp, value_at)) => {
                keyword_filter(&mut query, &name, cmp, value, negated, position, value_at, now)?
            }
        };
        if let Some(filter) = filter {
            if query.clauses.len() == MAX_CLAUSES {
                return Err(QueryError::at(
                    position,
                    format!("a query has at most {MAX_CLAUSES} terms"),
                ));
            }
            query.clauses.push(Clause {
                filter,
                negated,
                position,
                source,
            });
        }
    }
    Ok(query)
}

/// Words shorter than this match only whole (a one- or two-letter prefix would match most of the index).
pub const MIN_PREFIX_CHARS: usize = 3;

/// The text term of a word or phrase, `None` when it holds nothing to search for (only punctuation: the index
/// keeps letters and digits). A word's trailing `*` says what every word of three letters or more does anyway
/// (match as a prefix).
fn text(quoted: bool, s: String) -> Option<Text> {
    if !s.chars().any(char::is_alphanumeric) {
        return None;
    }
    if quoted {
        return Some(Text::Phrase(s));
    }
    let word = s.trim_end_matches('*').to_owned();
    Some(if word.chars().count() < MIN_PREFIX_CHARS {
        Text::Phrase(word)
    } else {
        Text::Word(word)
    })
}

/// Only `:` (equality) for keywords without an order.
fn equality_only(name: &str, cmp: Cmp, at: usize) -> Result<(), QueryError> {
    if cmp == Cmp::Eq {
        Ok(())
    } else {
        Err(QueryError::at(at, format!("{name} takes ':' (it has no order)")))
    }
}

fn one_of<T>(parsed: Option<T>, at: usize, what: &str, choices: &str) -> Result<T, QueryError> {
    parsed.ok_or_else(|| QueryError::at(at, format!("{what} expected: one of {choices}")))
}

fn person(value: String) -> Person {
    match value.to_lowercase().as_str() {
        "none" => Person::Nobody,
        "me" => Person::Me,
        _ => Person::Named(value),
    }
}

/// The filter of `name cmp value`, or `None` for keywords that set the query's type or order.
#[allow(clippy::too_many_arguments)]
fn keyword_filter(
    query: &mut Query,
    name: &str,
    cmp: Cmp,
    value: lexer::Value,
    negated: bool,
    position: usize,
    value_at: usize,
    now: DateTime<Utc>,
) -> Result<Option<Filter>, QueryError> {
    let quoted = matches!(value, lexer::Value::Quoted(_));
    let raw = value.into_string();
    let lower = raw.to_lowercase();
    let no_negation = |what: &str| -> Result<(), QueryError> {
        if negated {
            Err(QueryError::at(position, format!("{what} cannot be negated")))
        } else {
            Ok(())
        }
    };
    let filter = match name {
        "type" => {
            equality_only(name, cmp, value_at)?;
            no_negation("type")?;
            query.result_type = Some(one_of(
                ResultType::parse(&lower),
                value_at,
                "a type",
                "ticket, user, organization",
            )?);
            return Ok(None);
        }
        "order_by" => {
            equality_only(name, cmp, value_at)?;
            no_negation("order_by")?;
            query.sort_field = Some(one_of(
                SortField::parse(&lower),
                value_at,
                "a field to order by",
                "created, updated, priority, status",
            )?);
            return Ok(None);
        }
        "sort" => {
            equality_only(name, cmp, value_at)?;
            no_negation("sort")?;
            query.descending = Some(match lower.as_str() {
                "asc" => false,
                "desc" => true,
                _ => return Err(QueryError::at(value_at, "a sort order expected: asc or desc")),
            });
            return Ok(None);
        }
        "status" => Filter::Status(
            cmp,
            one_of(
                TicketStatus::parse(&lower),
                value_at,
                "a status",
                &TicketStatus::choices(),
            )?,
        ),
        "priority" if lower == "none" => {
            equality_only(name, cmp, value_at)?;
            Filter::NoPriority
        }
        "priority" => Filter::Priority(
            cmp,
            one_of(
                Priority::parse(&lower),
                value_at,
                "a priority",
                "low, normal, high, urgent, none",
            )?,
        ),
        "created" | "updated" | "solved" => {
            let bound = dates::bound(cmp, &lower, now).map_err(|m| QueryError::at(value_at, m))?;
            match name {
                "created" => Filter::Created(bound),
                "updated" => Filter::Updated(bound),
                _ => Filter::Solved(bound),
            }
        }
        "escalated" => {
            equality_only(name, cmp, value_at)?;
            Filter::Escalated(match lower.as_str() {
                "true" | "yes" => true,
                "false" | "no" => false,
                _ => return Err(QueryError::at(value_at, "true or false expected")),
            })
        }
        "subject" | "description" => {
            equality_only(name, cmp, value_at)?;
            let field = if name == "subject" {
                TextField::Subject
            } else {
                TextField::Description
            };
            let text = text(quoted, raw).ok_or_else(|| QueryError::at(value_at, "a word or a phrase expected"))?;
            Filter::Text(field, text)
        }
        _ => {
            equality_only(name, cmp, value_at)?;
            match name {
                "organization" => Filter::Organization(person(raw)),
                "requester" => Filter::Requester(person(raw)),
                "assignee" => Filter::Assignee(person(raw)),
                "group" => Filter::Group(person(raw)),
                "tags" | "tag" => Filter::Tag(lower),
                "form" => Filter::Form(raw),
                "via" => Filter::Via(one_of(
                    ["email", "web", "api", "mail"]
                        .contains(&lower.as_str())
                        .then(|| if lower == "mail" { "email".to_owned() } else { lower }),
                    value_at,
                    "a channel",
                    "email, web, api",
                )?),
                "role" => Filter::Role(one_of(
                    ["end-user", "end_user", "agent", "admin"]
                        .contains(&lower.as_str())
                        .then(|| lower.replace('_', "-")),
                    value_at,
                    "a role",
                    "end-user, agent, admin",
                )?),
                "email" => Filter::Email(lower),
                "name" => Filter::Name(raw),
                custom if custom.starts_with("custom_field_") => {
                    let id = custom["custom_field_".len()..]
                        .parse::<i64>()
                        .ok()
                        .filter(|id| *id > 0)
                        .ok_or_else(|| {
                            QueryError::at(
                                position + usize::from(negated),
                                "custom_field_ takes a field id: custom_field_ID:value",
                            )
                        })?;
                    Filter::CustomField(id, raw)
                }
                // Field keys are lower case (`^[a-z0-9_]{1,64}$`): anything else cannot be one.
                key if key.len() <= 64
                    && key
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') =>
                {
                    Filter::Field(key.to_owned(), raw)
                }
                _ => {
                    return Err(QueryError::at(position + usize::from(negated), unknown_keyword(name)));
                }
            }
        }
    };
    Ok(Some(filter))
}

#[cfg(test)]
mod tests;
