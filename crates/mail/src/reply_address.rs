//! Signed reply addresses: `support+t123-5f0c2a9be1@example.com` names ticket 123, and the tag after it is an
//! HMAC of the ticket id under a server key, so that an address that was never sent cannot be made up (or another
//! ticket's id put into a real one). The base address (`PARTNERDESK_MAIL_REPLY_ADDRESS`) must accept
//! plus-addressing: every `support+...@example.com` arrives in the `support@example.com` mailbox.

use hmac::{KeyInit, Mac};

/// Hex digits of the tag: 40 bits. Guessing one takes about 10^12 tries, each a message through the mail server.
const TAG_HEX: usize = 10;

fn tag(secret: &[u8], ticket_id: i64) -> String {
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(format!("reply:t{ticket_id}").as_bytes());
    let mut hex = hex::encode(mac.finalize().into_bytes());
    hex.truncate(TAG_HEX);
    hex
}

/// `local@domain` → (`local`, `domain`), when the address has exactly that shape.
fn split(address: &str) -> Option<(&str, &str)> {
    let (local, domain) = address.trim().rsplit_once('@')?;
    (!local.is_empty() && !domain.is_empty() && !local.contains('@')).then_some((local, domain))
}

/// The reply address for ticket `ticket_id`: `base`'s local part, `+t<id>-<tag>`, `base`'s domain. `None` when
/// `base` is not an address.
pub fn for_ticket(base: &str, ticket_id: i64, secret: &[u8]) -> Option<String> {
    let (local, domain) = split(base)?;
    // A base that already carries a `+detail` keeps only what is before it.
    let local = local.split_once('+').map_or(local, |(l, _)| l);
    Some(format!("{local}+t{ticket_id}-{}@{domain}", tag(secret, ticket_id)))
}

/// The ticket a reply address names, when it is one of ours (the same mailbox as `base`, compared without case)
/// and its tag is right. A made-up or altered address gives `None`.
pub fn ticket_of(address: &str, base: &str, secret: &[u8]) -> Option<i64> {
    // Mail systems treat addresses without regard to case (and some clients change it): so does this.
    let (address, base) = (address.to_ascii_lowercase(), base.to_ascii_lowercase());
    let (local, domain) = split(&address)?;
    let (base_local, base_domain) = split(&base)?;
    let base_local = base_local.split_once('+').map_or(base_local, |(l, _)| l);
    if domain != base_domain {
        return None;
    }
    let detail = local.strip_prefix(base_local)?.strip_prefix('+')?;
    let (id, given) = detail.strip_prefix('t')?.split_once('-')?;
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) || id.starts_with('0') {
        return None;
    }
    let ticket_id: i64 = id.parse().ok()?;
    let expected = tag(secret, ticket_id);
    // Compared in constant time: how far a guess matched must not show in how long the answer takes.
    let same = given.len() == expected.len()
        && given
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    same.then_some(ticket_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &[u8] = b"a server key";

    #[test]
    fn addresses_name_their_ticket_and_nothing_else() {
        let a = for_ticket("support@example.com", 123, KEY).expect("an address");
        assert!(a.starts_with("support+t123-") && a.ends_with("@example.com"), "{a}");
        assert_eq!(ticket_of(&a, "support@example.com", KEY), Some(123));
        assert_eq!(
            ticket_of(&a.to_uppercase(), "support@example.com", KEY),
            Some(123),
            "case is not meaning"
        );
        // Another ticket's id in a real address, another key, another mailbox, no tag, a truncated tag:
        let forged = a.replace("+t123-", "+t124-");
        assert_eq!(ticket_of(&forged, "support@example.com", KEY), None);
        assert_eq!(ticket_of(&a, "support@example.com", b"another key"), None);
        assert_eq!(ticket_of(&a, "help@example.com", KEY), None);
        assert_eq!(
            ticket_of(&a.replace("example.com", "example.org"), "support@example.com", KEY),
            None
        );
        assert_eq!(ticket_of("support+t123@example.com", "support@example.com", KEY), None);
        let short = a.replacen(&a[a.find('-').unwrap_or(0)..a.find('@').unwrap_or(0)], "-5f0c", 1);
        assert_eq!(ticket_of(&short, "support@example.com", KEY), None);
        assert_eq!(
            ticket_of("support+t0123-abc@example.com", "support@example.com", KEY),
            None
        );
        assert_eq!(for_ticket("not an address", 1, KEY), None);
    }

    #[test]
    fn a_base_with_a_detail_keeps_its_mailbox() {
        let a = for_ticket("support+inbox@example.com", 7, KEY).expect("an address");
        assert!(a.starts_with("support+t7-"), "{a}");
        assert_eq!(ticket_of(&a, "support+inbox@example.com", KEY), Some(7));
    }
}
