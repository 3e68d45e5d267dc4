//! Who may do what: the one place where authorisation is decided.
//!
//! Handlers ask the [`Actor`] for a scope ([`TicketScope`], [`OrgScope`]) and hand it to the store, whose
//! queries add the matching filter themselves; a record outside the scope is simply not found. End-users
//! therefore get 404, never 403, for anything of another organization.

use crate::accounts::Role;
use crate::ids::{OrgId, UserId};

/// The signed-in caller, as loaded for each request (status is checked on every request, so suspending a
/// user takes effect at once).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub id: UserId,
    pub role: Role,
    pub org_id: Option<OrgId>,
    pub is_account_manager: bool,
    pub is_support_manager: bool,
}

/// Which tickets a caller can see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketScope {
    /// Agents and admins.
    All,
    /// An end-user of an organization sees that organization's tickets.
    Organization(OrgId),
    /// An end-user without organization sees the tickets they requested.
    Requester(UserId),
}

/// Which organizations a caller can see, and whether staff-only fields (notes, details) are included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgScope {
    All,
    Only(OrgId),
    Nothing,
}

/// Why something is refused. `NotFound` hides the existence of records outside the caller's scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    NotFound,
    Forbidden(&'static str),
}

pub type Allowed = Result<(), Denied>;

impl Actor {
    /// The operator at the server's terminal (`partnerdesk admin ...`): may do what an admin may. Its id is 0,
    /// which no account has (ids start at 1), so it never matches a record's owner; its changes are audited as `cli`.
    pub fn operator() -> Actor {
        Actor {
            id: UserId(0),
            role: Role::Admin,
            org_id: None,
            is_account_manager: false,
            is_support_manager: false,
        }
    }

    pub fn is_staff(&self) -> bool {
        self.role.is_staff()
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    pub fn ticket_scope(&self) -> TicketScope {
        match (self.is_staff(), self.org_id) {
            (true, _) => TicketScope::All,
            (false, Some(org)) => TicketScope::Organization(org),
            (false, None) => TicketScope::Requester(self.id),
        }
    }

    pub fn org_scope(&self) -> OrgScope {
        match (self.is_staff(), self.org_id) {
            (true, _) => OrgScope::All,
            (false, Some(org)) => OrgScope::Only(org),
            (false, None) => OrgScope::Nothing,
        }
    }

    /// Organization notes and details are for staff only, everywhere.
    pub fn sees_org_notes(&self) -> bool {
        self.is_staff()
    }

    /// Internal comments are for staff only.
    pub fn sees_internal_comments(&self) -> bool {
        self.is_staff()
    }

    /// End-users see themselves; staff see everyone.
    pub fn may_view_user(&self, user: UserId) -> Allowed {
        if self.is_staff() || self.id == user {
            Ok(())
        } else {
            Err(Denied::NotFound)
        }
    }

    /// Creating, inviting, suspending or changing another person's account. Admins may do it for anyone;
    /// an account manager only for end-users of the organizations they manage (`org_manager` is the
    /// target organization's account manager).
    pub fn may_provision(&self, target_role: Role, target_org_manager: Option<UserId>) -> Allowed {
        if self.is_admin() {
            return Ok(());
        }
        if !self.is_staff() {
            return Err(Denied::Forbidden("only staff may create or change accounts"));
        }
        if !self.is_account_manager {
            return Err(Denied::Forbidden(
                "only admins and account managers may create or change accounts",
            ));
        }
        if target_role != Role::EndUser {
            return Err(Denied::Forbidden("account managers may only provision end-users"));
        }
        if target_org_manager != Some(self.id) {
            return Err(Denied::Forbidden(
                "account managers may only provision users of organizations they manage",
            ));
        }
        Ok(())
    }

    /// Organization records: admins administer all; an account manager may edit the organizations they manage.
    pub fn may_edit_org(&self, org_manager: Option<UserId>) -> Allowed {
        if self.is_admin() || (self.is_staff() && self.is_account_manager && org_manager == Some(self.id)) {
            Ok(())
        } else if self.is_staff() {
            Err(Denied::Forbidden(
                "only admins and the organization's account manager may change it",
            ))
        } else {
            Err(Denied::Forbidden("end-users may not change organizations"))
        }
    }

    /// Creating or deleting organizations, groups and ticket forms.
    pub fn may_administer(&self) -> Allowed {
        if self.is_admin() {
            Ok(())
        } else {
            Err(Denied::Forbidden("only admins may do this"))
        }
    }

    /// Incremental exports hand out every ticket, user and organization, whatever its organization: staff only.
    pub fn may_export(&self) -> Allowed {
        if self.is_staff() {
            Ok(())
        } else {
            Err(Denied::Forbidden("only agents and admins may export"))
        }
    }

    /// Working tickets as an agent: assigning, internal notes, changing group, tags and any status.
    pub fn may_work_tickets(&self) -> bool {
        self.is_staff()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role, org: Option<i64>, am: bool) -> Actor {
        Actor {
            id: UserId(1),
            role,
            org_id: org.map(OrgId),
            is_account_manager: am,
            is_support_manager: false,
        }
    }

    #[test]
    fn scopes() {
        assert_eq!(actor(Role::Agent, None, false).ticket_scope(), TicketScope::All);
        assert_eq!(
            actor(Role::EndUser, Some(7), false).ticket_scope(),
            TicketScope::Organization(OrgId(7))
        );
        assert_eq!(
            actor(Role::EndUser, None, false).ticket_scope(),
            TicketScope::Requester(UserId(1))
        );
        assert!(!actor(Role::EndUser, Some(7), false).sees_org_notes());
    }

    #[test]
    fn exports_are_for_staff() {
        assert!(actor(Role::Admin, None, false).may_export().is_ok());
        assert!(actor(Role::Agent, None, false).may_export().is_ok());
        assert!(actor(Role::EndUser, Some(7), false).may_export().is_err());
    }

    #[test]
    fn provisioning() {
        let admin = actor(Role::Admin, None, false);
        let am = actor(Role::Agent, None, true);
        let agent = actor(Role::Agent, None, false);
        let user = actor(Role::EndUser, Some(1), false);
        assert!(admin.may_provision(Role::Agent, None).is_ok());
        assert!(am.may_provision(Role::EndUser, Some(UserId(1))).is_ok());
        assert!(am.may_provision(Role::EndUser, Some(UserId(2))).is_err());
        assert!(am.may_provision(Role::EndUser, None).is_err());
        assert!(am.may_provision(Role::Agent, Some(UserId(1))).is_err());
        assert!(agent.may_provision(Role::EndUser, Some(UserId(1))).is_err());
        assert!(user.may_provision(Role::EndUser, Some(UserId(1))).is_err());
    }
}
