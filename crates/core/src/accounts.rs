//! People: roles, account status and e-mail addresses.

use crate::validation::Invalid;

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $s:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vm])* $variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),* }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some($name::$variant),)* _ => None }
            }

            /// The accepted spellings, for error messages.
            pub fn choices() -> String {
                [$($s),*].join(", ")
            }

            /// Parses `raw` as the value of input `field`; an unknown spelling adds "`field` must be one of …" to
            /// `errors` (every caller answers the same 422).
            pub fn parse_field(errors: &mut $crate::validation::Invalid, field: &str, raw: &str) -> Option<Self> {
                let parsed = Self::parse(raw);
                if parsed.is_none() {
                    errors.push(field, "InvalidValue", format!("{field} must be one of {}", Self::choices()));
                }
                parsed
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}
pub(crate) use string_enum;

string_enum!(
    /// Zendesk's three roles. Account manager and support manager are flags on staff users.
    Role { EndUser = "end-user", Agent = "agent", Admin = "admin" }
);

string_enum!(
    /// An account exists before its owner ever signs in: it starts `invited` (no password yet) or `active`.
    UserStatus { Active = "active", Invited = "invited", Suspended = "suspended" }
);

impl UserStatus {
    /// The status after suspending (`true`) or reactivating (`false`) an account now in `self`: a reactivated
    /// account is active again when it has a password, else it waits for its invitation.
    pub fn after_suspension(self, suspended: bool, has_password: bool) -> UserStatus {
        match (suspended, self) {
            (true, _) => UserStatus::Suspended,
            (false, UserStatus::Suspended) if has_password => UserStatus::Active,
            (false, UserStatus::Suspended) => UserStatus::Invited,
            (false, other) => other,
        }
    }
}

impl Role {
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Agent | Role::Admin)
    }
}

/// Who escalations may go to and be taken by: staff flagged as support managers whose account is not suspended.
/// Admins may also acknowledge and resolve escalations (see `may_handle_escalations`), but are only notified when
/// they are support managers.
pub fn may_take_escalations(role: Role, is_support_manager: bool, status: UserStatus) -> bool {
    role.is_staff() && is_support_manager && status != UserStatus::Suspended
}

/// Who may acknowledge or resolve an escalation: support managers and admins, not suspended.
pub fn may_handle_escalations(role: Role, is_support_manager: bool, status: UserStatus) -> bool {
    status != UserStatus::Suspended && (role == Role::Admin || may_take_escalations(role, is_support_manager, status))
}

/// A syntactically valid, lower-cased e-mail address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Email, Invalid> {
        let s = raw.trim().to_lowercase();
        let bad = || {
            Invalid::field(
                "email",
                "InvalidFormat",
                format!("'{}' is not a valid email address", raw.trim()),
            )
        };
        if s.is_empty() {
            return Err(Invalid::field("email", "BlankValue", "email cannot be blank"));
        }
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = s.rsplit_once('@').ok_or_else(bad)?;
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '.');
        if local.is_empty() || local.contains('@') || !domain_ok {
            return Err(bad());
        }
        Ok(Email(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map(|(_, d)| d).unwrap_or_default()
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The sentence every no-account answer carries (API, CLI, pages): partner accounts are provisioned.
pub const NO_ACCOUNT_HELP: &str = "Partner accounts are created by your account manager (your Technical Account \
Manager, Account Executive or Sales contact); there is no self sign-up. Ask them to create your account, then \
sign in.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse(" Ann@Example.COM ").map(|e| e.to_string()),
            Ok("ann@example.com".into())
        );
        for bad in [
            "",
            "ann",
            "ann@",
            "@x.com",
            "a b@x.com",
            "a@x",
            "a@x..com",
            "a@@x.com",
            "a@.x.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn roles_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(*r));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
