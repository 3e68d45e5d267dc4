//! The escalation state machine: open until a support manager acknowledges it, resolved when the matter is over.
//! While open, an escalation nobody acknowledges in time moves to the next person of its chain.

use crate::accounts::string_enum;
use crate::ids::UserId;

string_enum!(
    /// Where an escalation is.
    EscalationStatus {
        /// Waiting for the support manager on call to acknowledge it.
        Open = "open",
        /// Someone took it.
        Acknowledged = "acknowledged",
        /// Over; nothing changes it any more.
        Resolved = "resolved",
    }
);

impl EscalationStatus {
    /// Checks a change to `to`: open → acknowledged, open or acknowledged → resolved; anything else is refused with
    /// the reason shown to the person who tried.
    pub fn transition(self, to: EscalationStatus) -> Result<EscalationStatus, String> {
        use EscalationStatus::*;
        match (self, to) {
            (Open, Acknowledged) | (Open, Resolved) | (Acknowledged, Resolved) => Ok(to),
            (current, _) => Err(format!("the escalation is already {current}")),
        }
    }

    /// Only an open escalation waits for an acknowledgement (and moves along its chain when none comes).
    pub fn awaits_acknowledgement(self) -> bool {
        self == EscalationStatus::Open
    }
}

/// Who is notified after the person at `level` of `chain` let the deadline pass; `None` at the end of the chain.
pub fn next_in_chain(chain: &[UserId], level: i64) -> Option<UserId> {
    usize::try_from(level + 1).ok().and_then(|i| chain.get(i)).copied()
}

#[cfg(test)]
mod tests {
    use super::EscalationStatus::*;
    use super::*;

    #[test]
    fn transitions() {
        assert_eq!(Open.transition(Acknowledged), Ok(Acknowledged));
        assert_eq!(Open.transition(Resolved), Ok(Resolved));
        assert_eq!(Acknowledged.transition(Resolved), Ok(Resolved));
        for (from, to) in [
            (Acknowledged, Acknowledged),
            (Resolved, Resolved),
            (Resolved, Acknowledged),
            (Open, Open),
        ] {
            assert!(from.transition(to).is_err(), "{from} -> {to}");
        }
        assert_eq!(
            Resolved.transition(Acknowledged).err().as_deref(),
            Some("the escalation is already resolved")
        );
    }

    #[test]
    fn chain_advances_to_the_end() {
        let chain = [UserId(1), UserId(2)];
        assert_eq!(next_in_chain(&chain, 0), Some(UserId(2)));
        assert_eq!(next_in_chain(&chain, 1), None);
        assert_eq!(next_in_chain(&chain, -5), None);
    }
}
