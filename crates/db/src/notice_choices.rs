//! What each member of staff is e-mailed about, and the groups they follow. No row means the defaults: every notice
//! on, no group followed.

use partnerdesk_core::{GroupId, UserId};
use serde::Serialize;

use crate::audit::{self, AuditActor, Change};
use crate::conn::Conn;
use crate::error::DbError;
use crate::{args, now};

/// One person's choices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoticeChoices {
    /// A ticket assigned to them by someone else.
    pub ticket_assigned: bool,
    /// The requester writing on a ticket assigned to them.
    pub requester_replied: bool,
    /// A new ticket routed to a group they follow.
    pub new_in_followed_group: bool,
    /// The groups they follow, by id.
    pub followed_group_ids: Vec<i64>,
}

impl Default for NoticeChoices {
    fn default() -> Self {
        NoticeChoices {
            ticket_assigned: true,
            requester_replied: true,
            new_in_followed_group: true,
            followed_group_ids: Vec::new(),
        }
    }
}

pub async fn get(conn: &mut Conn, user: UserId) -> Result<NoticeChoices, DbError> {
    let mut choices = match conn
        .fetch_optional("SELECT * FROM notice_choices WHERE user_id = ?", &args![user.0])
        .await?
    {
        Some(r) => NoticeChoices {
            ticket_assigned: r.boolean("ticket_assigned")?,
            requester_replied: r.boolean("requester_replied")?,
            new_in_followed_group: r.boolean("new_in_followed_group")?,
            followed_group_ids: Vec::new(),
        },
        None => NoticeChoices::default(),
    };
    choices.followed_group_ids = conn
        .fetch_all(
            "SELECT group_id FROM group_follows WHERE user_id = ? ORDER BY group_id",
            &args![user.0],
        )
        .await?
        .iter()
        .map(|r| r.i64("group_id"))
        .collect::<Result<_, _>>()?;
    Ok(choices)
}

/// Replaces `user`'s choices (and followed groups) with `choices`, audited.
pub async fn set(conn: &mut Conn, user: UserId, choices: &NoticeChoices, actor: &AuditActor) -> Result<(), DbError> {
    let before = get(conn, user).await?;
    conn.execute(
        "INSERT INTO notice_choices (user_id, ticket_assigned, requester_replied, new_in_followed_group, updated_at) \
         VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET ticket_assigned = excluded.ticket_assigned, \
         requester_replied = excluded.requester_replied, new_in_followed_group = excluded.new_in_followed_group, \
         updated_at = excluded.updated_at",
        &args![
            user.0,
            choices.ticket_assigned,
            choices.requester_replied,
            choices.new_in_followed_group,
            now()
        ],
    )
    .await?;
    conn.execute("DELETE FROM group_follows WHERE user_id = ?", &args![user.0])
        .await?;
    for g in &choices.followed_group_ids {
        conn.execute(
            "INSERT INTO group_follows (user_id, group_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
            &args![user.0, *g],
        )
        .await?;
    }
    let change = Change {
        action: "user.notices",
        entity_type: "user",
        entity_id: user.0,
        organization_id: None,
        before: Some(&before),
        after: Some(choices),
    };
    audit::record(conn, actor, change).await?;
    Ok(())
}

/// The active staff who follow `group` and want its new tickets, except `except` (who filed the ticket).
pub async fn followers(conn: &mut Conn, group: GroupId, except: UserId) -> Result<Vec<UserId>, DbError> {
    conn.fetch_all(
        "SELECT f.user_id FROM group_follows f JOIN users u ON u.id = f.user_id \
         LEFT JOIN notice_choices c ON c.user_id = f.user_id \
         WHERE f.group_id = ? AND f.user_id <> ? AND u.status = 'active' AND u.role IN ('agent', 'admin') \
         AND (c.user_id IS NULL OR c.new_in_followed_group = ?) ORDER BY f.user_id",
        &args![group.0, except.0, true],
    )
    .await?
    .iter()
    .map(|r| Ok(UserId(r.i64("user_id")?)))
    .collect()
}
