-- What each member of staff is e-mailed about (no row: everything on), and the groups they follow (told of each new
-- ticket routed to one).
CREATE TABLE notice_choices (
    user_id BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    ticket_assigned BOOLEAN NOT NULL DEFAULT TRUE,
    requester_replied BOOLEAN NOT NULL DEFAULT TRUE,
    new_in_followed_group BOOLEAN NOT NULL DEFAULT TRUE,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE group_follows (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    group_id BIGINT NOT NULL REFERENCES agent_groups(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, group_id)
);
CREATE INDEX group_follows_group ON group_follows (group_id);
