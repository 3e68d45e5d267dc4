-- What each member of staff is e-mailed about (no row: everything on), and the groups they follow (told of each new
-- ticket routed to one).
CREATE TABLE notice_choices (
    user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    ticket_assigned BOOLEAN NOT NULL DEFAULT 1,
    requester_replied BOOLEAN NOT NULL DEFAULT 1,
    new_in_followed_group BOOLEAN NOT NULL DEFAULT 1,
    updated_at TEXT NOT NULL
);

CREATE TABLE group_follows (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    group_id INTEGER NOT NULL REFERENCES agent_groups(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, group_id)
);
CREATE INDEX group_follows_group ON group_follows (group_id);
