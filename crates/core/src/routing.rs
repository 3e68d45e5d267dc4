//! Where a new ticket goes. Ticket forms are data (target group, default priority, tags); routing is a pure
//! function of the form used, the submitter and what the request asked for, and returns an explanation that is
//! stored with the ticket so that anyone can later see why it landed where it did.

use serde::Serialize;

use crate::ids::{FormId, GroupId};
use crate::tags;
use crate::tickets::{Audience, Priority};

/// The tag put on tickets that a partner filed through a form other than the partner form.
pub const MISROUTED_TAG: &str = "misrouted_form";

/// The routing-relevant part of a ticket form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormRule {
    pub id: FormId,
    pub name: String,
    pub audience: Audience,
    pub group_id: Option<GroupId>,
    pub priority: Option<Priority>,
    pub tags: Vec<String>,
}

/// What is known when a ticket is created.
#[derive(Debug, Clone, Default)]
pub struct Submission<'a> {
    /// The form named by the request (`ticket_form_id`), if any.
    pub chosen_form: Option<&'a FormRule>,
    /// The default form, used when none is named.
    pub default_form: Option<&'a FormRule>,
    /// Set when the requester is an end-user of an alliance partner organization: the form their tickets
    /// must be routed by, whatever form they used.
    pub partner_form: Option<&'a FormRule>,
    /// Values staff set explicitly; they win over the form's defaults.
    pub explicit_group: Option<GroupId>,
    pub explicit_priority: Option<Priority>,
    pub tags: Vec<String>,
}

/// Where the ticket goes, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Routing {
    pub form_id: Option<FormId>,
    pub group_id: Option<GroupId>,
    pub priority: Option<Priority>,
    pub tags: Vec<String>,
    /// True when a partner used another form and the ticket was routed by the partner form instead.
    pub misrouted: bool,
    /// Human-readable reason, shown to agents.
    pub rule: String,
    /// The form the requester actually used, when it differs from `form_id`.
    pub submitted_form_id: Option<FormId>,
}

pub fn route(s: &Submission<'_>) -> Routing {
    let requested = s.chosen_form.or(s.default_form);
    let (form, misrouted, mut rule) = match (s.partner_form, requested) {
        (Some(partner), Some(used)) if used.id != partner.id && s.chosen_form.is_some() => (
            Some(partner),
            true,
            format!(
                "partner filed through form '{}' (#{}); routed by the partner form '{}' (#{}) instead",
                used.name, used.id, partner.name, partner.id
            ),
        ),
        (Some(partner), _) => (
            Some(partner),
            false,
            format!(
                "partner ticket routed by the partner form '{}' (#{})",
                partner.name, partner.id
            ),
        ),
        (None, Some(f)) => {
            let how = if s.chosen_form.is_some() {
                "form"
            } else {
                "default form"
            };
            (Some(f), false, format!("routed by {how} '{}' (#{})", f.name, f.id))
        }
        (None, None) => (None, false, "no ticket form: no routing rule applied".to_owned()),
    };

    let group_id = s.explicit_group.or(form.and_then(|f| f.group_id));
    let priority = s.explicit_priority.or(form.and_then(|f| f.priority));
    if s.explicit_group.is_some() {
        rule.push_str("; group set explicitly");
    }
    if s.explicit_priority.is_some() {
        rule.push_str("; priority set explicitly");
    }
    let mut extra: Vec<String> = form.map(|f| f.tags.clone()).unwrap_or_default();
    if misrouted {
        extra.push(MISROUTED_TAG.to_owned());
    }
    Routing {
        form_id: form.map(|f| f.id),
        group_id,
        priority,
        tags: tags::union(&tags::normalize(&s.tags), &extra),
        misrouted,
        rule,
        submitted_form_id: if misrouted { requested.map(|f| f.id) } else { None },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(id: i64, audience: Audience, group: i64, tags: &[&str]) -> FormRule {
        FormRule {
            id: FormId(id),
            name: format!("form {id}"),
            audience,
            group_id: Some(GroupId(group)),
            priority: Some(Priority::High),
            tags: tags.iter().map(|t| t.to_string()).collect(),
        }
    }

    #[test]
    fn form_routes_group_priority_tags() {
        let f = form(1, Audience::Everyone, 10, &["general"]);
        let r = route(&Submission {
            chosen_form: Some(&f),
            tags: vec!["Mine".into()],
            ..Default::default()
        });
        assert_eq!(
            (r.form_id, r.group_id, r.priority),
            (Some(FormId(1)), Some(GroupId(10)), Some(Priority::High))
        );
        assert_eq!(r.tags, vec!["mine", "general"]);
        assert!(!r.misrouted);
    }

    #[test]
    fn explicit_values_win() {
        let f = form(1, Audience::Everyone, 10, &[]);
        let r = route(&Submission {
            chosen_form: Some(&f),
            explicit_group: Some(GroupId(99)),
            explicit_priority: Some(Priority::Low),
            ..Default::default()
        });
        assert_eq!((r.group_id, r.priority), (Some(GroupId(99)), Some(Priority::Low)));
    }

    #[test]
    fn partner_using_other_form_is_corrected() {
        let general = form(1, Audience::Everyone, 10, &["general"]);
        let partner = form(2, Audience::Partners, 20, &["alliance"]);
        let r = route(&Submission {
            chosen_form: Some(&general),
            partner_form: Some(&partner),
            ..Default::default()
        });
        assert_eq!((r.form_id, r.group_id), (Some(FormId(2)), Some(GroupId(20))));
        assert!(r.misrouted);
        assert_eq!(r.submitted_form_id, Some(FormId(1)));
        assert_eq!(r.tags, vec!["alliance", MISROUTED_TAG]);
        let ok = route(&Submission {
            chosen_form: Some(&partner),
            partner_form: Some(&partner),
            ..Default::default()
        });
        assert!(!ok.misrouted);
        let none = route(&Submission {
            default_form: Some(&general),
            partner_form: Some(&partner),
            ..Default::default()
        });
        assert_eq!((none.form_id, none.misrouted), (Some(FormId(2)), false));
    }

    #[test]
    fn no_form_no_routing() {
        let r = route(&Submission::default());
        assert_eq!((r.form_id, r.group_id, r.priority), (None, None, None));
    }
}
