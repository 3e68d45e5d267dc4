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

    /// A closed ticket is frozen: Zendesk refuses any change to it.
    pub fn is_frozen(self) -> bool {
        self == TicketStatus::Closed
    }
}
