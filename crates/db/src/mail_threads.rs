//! Each correspondent's e-mail thread of a ticket: the ids of its messages so far, the ticket's root first. A new
//! message answers the last one and carries the chain, as RFC 5322 asks (`In-Reply-To`, `References`).

use partnerdesk_core::TicketId;

use crate::args;
use crate::conn::Conn;
use crate::error::DbError;

/// How many ids a chain keeps after the root (older ones are dropped, as RFC 5322 allows).
const KEEP: usize = 10;

/// The chain so far for `address` on `ticket` (or just `root`), and records `message_id` as its newest message.
/// Returns (In-Reply-To, References) for the new message.
pub async fn extend(
    conn: &mut Conn,
    ticket: TicketId,
    address: &str,
    root: &str,
    message_id: &str,
) -> Result<(String, String), DbError> {
    let address = address.trim().to_lowercase();
    let before = conn
        .fetch_optional(
            "SELECT chain FROM mail_threads WHERE ticket_id = ? AND address = ?",
            &args![ticket.0, address.as_str()],
        )
        .await?
        .map(|r| r.text("chain"))
        .transpose()?
        .unwrap_or_else(|| root.to_owned());
    let ids: Vec<&str> = before.split_whitespace().collect();
    let parent = ids.last().copied().unwrap_or(root).to_owned();
    let mut kept: Vec<&str> = vec![ids.first().copied().unwrap_or(root)];
    kept.extend(ids.iter().skip(1).rev().take(KEEP - 1).rev());
    kept.push(message_id);
    let chain = kept.join(" ");
    conn.execute(
        "INSERT INTO mail_threads (ticket_id, address, chain) VALUES (?, ?, ?) \
         ON CONFLICT (ticket_id, address) DO UPDATE SET chain = excluded.chain",
        &args![ticket.0, address.as_str(), chain.as_str()],
    )
    .await?;
    Ok((parent, before))
}
