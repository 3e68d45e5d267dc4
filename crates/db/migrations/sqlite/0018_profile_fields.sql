-- Organization and user fields (issue 14): typed fields defined per kind ('organization' | 'user'), named by a
-- `key` unique per kind, with drop-down options, and each organization's and user's values (one row per value).
CREATE TABLE profile_fields (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('organization', 'user')),
    key TEXT NOT NULL,
    type TEXT NOT NULL CHECK (type IN ('text', 'textarea', 'checkbox', 'date', 'integer', 'decimal', 'regexp', 'tagger', 'multiselect')),
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    position INTEGER NOT NULL DEFAULT 0,
    active BOOLEAN NOT NULL DEFAULT 1,
    visible_to_end_users BOOLEAN NOT NULL DEFAULT 0,
    regexp_for_validation TEXT,
    tag TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (kind, key)
);
CREATE TABLE profile_field_options (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    field_id INTEGER NOT NULL REFERENCES profile_fields(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0,
    UNIQUE (field_id, value)
);
CREATE TABLE organization_field_values (
    organization_id INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    field_id INTEGER NOT NULL REFERENCES profile_fields(id) ON DELETE CASCADE,
    value TEXT NOT NULL,
    PRIMARY KEY (organization_id, field_id, value)
) WITHOUT ROWID;
CREATE INDEX organization_field_values_field ON organization_field_values (field_id);
CREATE TABLE user_field_values (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    field_id INTEGER NOT NULL REFERENCES profile_fields(id) ON DELETE CASCADE,
    value TEXT NOT NULL,
    PRIMARY KEY (user_id, field_id, value)
) WITHOUT ROWID;
CREATE INDEX user_field_values_field ON user_field_values (field_id);
