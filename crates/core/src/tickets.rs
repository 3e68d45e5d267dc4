//! Ticket states and priorities, with Zendesk's spellings.

use crate::accounts::string_enum;

string_enum!(
    TicketStatus { New = "new", Open = "open", Pending = "pending", Hold = "hold", Solved = "solved", Closed = "closed" }
);

string_enum!(Priority { Low = "low", Normal = "normal", High = "high", Urgent = "urgent" });

string_enum!(
    /// Who may file through a ticket form.
    Audience {
        /// Any signed-in user.
        Everyone = "everyone",
        /// Representatives of alliance partner organizations (and staff on their behalf): the partner form.
        Partners = "partners",
        /// Agents and admins only.
        Staff = "staff",
    }
);

impl TicketStatus {
    /// Statuses an end-user sees as "open" in the requests API.
    pub fn is_open_for_requester(self) -> bool {
        matches!(
            self,
            TicketStatus::New | TicketStatus::Open | TicketStatus::Pending | TicketStatus::Hold
        )
    }

    /// Solved or closed: the ticket has a solution (`solved>...` in search counts from when it got it).
    pub fn is_solved(self) -> bool {
        matches!(self, TicketStatus::Solved | TicketStatus::Closed)
    }

    /// A closed ticket is frozen: Zendesk refuses any change to it.
    pub fn is_frozen(self) -> bool {
        self == TicketStatus::Closed
    }
}

/// The ticket lifecycle: where a ticket starts, which status changes are refused, and what work does to it.
impl TicketStatus {
    /// A new ticket is `new`, or `open` once somebody is assigned.
    pub fn initial(assigned: bool) -> TicketStatus {
        if assigned {
            TicketStatus::Open
        } else {
            TicketStatus::New
        }
    }

    /// Checks a status someone asked for on a ticket now in `self`. `Ok(None)`: nothing to set ("new" on a new
    /// ticket is where it already is, so the update's work may still open it).
    pub fn check_explicit(self, to: TicketStatus) -> Result<Option<TicketStatus>, &'static str> {
        match (to, self) {
            (TicketStatus::New, TicketStatus::New) => Ok(None),
            (TicketStatus::New, _) => Err("a ticket cannot go back to status new"),
            (to, _) => Ok(Some(to)),
        }
    }

    /// The status after an update that set none: work by staff opens a new ticket; a requester's reply reopens a
    /// pending or solved one; otherwise `current` stays.
    pub fn after_work(self, by_staff: bool, commented: bool, current: TicketStatus) -> TicketStatus {
        match self {
            TicketStatus::New if by_staff => TicketStatus::Open,
            TicketStatus::Pending | TicketStatus::Solved if !by_staff && commented => TicketStatus::Open,
            _ => current,
        }
    }
}

/// Priorities are ordered low < normal < high < urgent (raising a ticket never lowers it).
impl Ord for Priority {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        let rank = |p: &Priority| Priority::ALL.iter().position(|x| x == p);
        rank(self).cmp(&rank(other))
    }
}

impl PartialOrd for Priority {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_are_ordered() {
        assert!(Priority::Low < Priority::Normal && Priority::Normal < Priority::High);
        assert!(Priority::High < Priority::Urgent);
        assert_eq!(Priority::ALL.iter().max(), Some(&Priority::Urgent));
    }

    #[test]
    fn lifecycle() {
        assert_eq!(TicketStatus::initial(false), TicketStatus::New);
        assert_eq!(TicketStatus::initial(true), TicketStatus::Open);
        assert_eq!(TicketStatus::New.check_explicit(TicketStatus::New), Ok(None));
        assert!(TicketStatus::Open.check_explicit(TicketStatus::New).is_err());
        assert_eq!(
            TicketStatus::Open.check_explicit(TicketStatus::Solved),
            Ok(Some(TicketStatus::Solved))
        );
        assert_eq!(
            TicketStatus::New.after_work(true, false, TicketStatus::New),
            TicketStatus::Open
        );
        assert_eq!(
            TicketStatus::Solved.after_work(false, true, TicketStatus::Solved),
            TicketStatus::Open
        );
        assert_eq!(
            TicketStatus::Solved.after_work(false, false, TicketStatus::Solved),
            TicketStatus::Solved
        );
        assert_eq!(
            TicketStatus::Pending.after_work(true, true, TicketStatus::Pending),
            TicketStatus::Pending
        );
    }
}
