-- partnerdesk schema, SQLite. Times are fixed-width RFC 3339 text (UTC); booleans 0/1.
-- Unique "name_key" columns hold lower(name), for case-insensitive uniqueness.

CREATE TABLE organizations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE,
    notes TEXT NOT NULL DEFAULT '',
    details TEXT NOT NULL DEFAULT '',
    domain_names TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '',
    alliance_partner BOOLEAN NOT NULL DEFAULT 0,
    account_manager_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    notes_updated_at TEXT,
    notes_updated_by_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('end-user', 'agent', 'admin')),
    is_account_manager BOOLEAN NOT NULL DEFAULT 0,
    is_support_manager BOOLEAN NOT NULL DEFAULT 0,
    organization_id INTEGER REFERENCES organizations(id) ON DELETE SET NULL,
    status TEXT NOT NULL CHECK (status IN ('active', 'invited', 'suspended')),
    password_hash TEXT,
    provisioned_by_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    time_zone TEXT NOT NULL DEFAULT 'UTC',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX users_organization ON users (organization_id, id);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    digest TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    last_used_at TEXT
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE invitations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    digest TEXT NOT NULL UNIQUE,
    expires_at TEXT NOT NULL,
    used_at TEXT,
    created_by_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE agent_groups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    is_default BOOLEAN NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE ticket_forms (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0,
    active BOOLEAN NOT NULL DEFAULT 1,
    is_default BOOLEAN NOT NULL DEFAULT 0,
    audience TEXT NOT NULL CHECK (audience IN ('everyone', 'partners', 'staff')),
    group_id INTEGER REFERENCES agent_groups(id) ON DELETE SET NULL,
    priority TEXT CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    tags TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE tickets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subject TEXT NOT NULL,
    description TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('new', 'open', 'pending', 'hold', 'solved', 'closed')),
    priority TEXT CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    requester_id INTEGER NOT NULL REFERENCES users(id),
    submitter_id INTEGER NOT NULL REFERENCES users(id),
    organization_id INTEGER REFERENCES organizations(id) ON DELETE SET NULL,
    group_id INTEGER REFERENCES agent_groups(id) ON DELETE SET NULL,
    assignee_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    ticket_form_id INTEGER REFERENCES ticket_forms(id) ON DELETE SET NULL,
    tags TEXT NOT NULL DEFAULT '',
    via TEXT NOT NULL,
    routing TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX tickets_organization ON tickets (organization_id, id);
CREATE INDEX tickets_requester ON tickets (requester_id, id);
CREATE INDEX tickets_group_status ON tickets (group_id, status, id);
CREATE INDEX tickets_assignee ON tickets (assignee_id, id);
CREATE INDEX tickets_status ON tickets (status, id);

CREATE TABLE comments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    author_id INTEGER REFERENCES users(id), -- NULL: a system comment
    body TEXT NOT NULL,
    public BOOLEAN NOT NULL,
    via TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX comments_ticket ON comments (ticket_id, id);

-- Append-only: who did what, when, with the record before and after, written in the change's transaction.
-- No foreign keys, so that the trail outlives what it describes.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    actor_id INTEGER,
    actor_label TEXT NOT NULL,
    action TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    entity_id INTEGER,
    organization_id INTEGER,
    before_json TEXT,
    after_json TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX audit_log_entity ON audit_log (entity_type, entity_id, id);
CREATE INDEX audit_log_organization ON audit_log (organization_id, id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
