-- Custom ticket fields (issue 14): their definitions, drop-down options, which forms show them in which order and
-- when, and each ticket's values (one row per value: a multi-select has several; none when empty).
CREATE TABLE ticket_fields (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    type TEXT NOT NULL CHECK (type IN ('text', 'textarea', 'checkbox', 'date', 'integer', 'decimal', 'regexp', 'tagger', 'multiselect')),
    title TEXT NOT NULL,
    title_in_portal TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    required BOOLEAN NOT NULL DEFAULT 0,
    required_in_portal BOOLEAN NOT NULL DEFAULT 0,
    visible_in_portal BOOLEAN NOT NULL DEFAULT 0,
    editable_in_portal BOOLEAN NOT NULL DEFAULT 0,
    active BOOLEAN NOT NULL DEFAULT 1,
    position INTEGER NOT NULL DEFAULT 0,
    regexp_for_validation TEXT,
    tag TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE ticket_field_options (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    field_id INTEGER NOT NULL REFERENCES ticket_fields(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0,
    UNIQUE (field_id, value)
);
CREATE TABLE ticket_form_fields (
    form_id INTEGER NOT NULL REFERENCES ticket_forms(id) ON DELETE CASCADE,
    field_id INTEGER NOT NULL REFERENCES ticket_fields(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    PRIMARY KEY (form_id, field_id)
) WITHOUT ROWID;
CREATE INDEX ticket_form_fields_field ON ticket_form_fields (field_id);
-- Zendesk's conditions, as JSON: [{"parent_field_id", "value", "child_fields": [{"id", "is_required"}]}].
ALTER TABLE ticket_forms ADD COLUMN end_user_conditions TEXT NOT NULL DEFAULT '[]';
ALTER TABLE ticket_forms ADD COLUMN agent_conditions TEXT NOT NULL DEFAULT '[]';
-- Routing by a field's value, as JSON {"field_id", "routes": [{"value", "group_id"}]}; '' for none.
ALTER TABLE ticket_forms ADD COLUMN field_routing TEXT NOT NULL DEFAULT '';
CREATE TABLE ticket_field_values (
    ticket_id INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    field_id INTEGER NOT NULL REFERENCES ticket_fields(id) ON DELETE CASCADE,
    value TEXT NOT NULL,
    PRIMARY KEY (ticket_id, field_id, value)
) WITHOUT ROWID;
-- `custom_field_ID:value` in search.
CREATE INDEX ticket_field_values_value ON ticket_field_values (field_id, value, ticket_id);
