-- Search (issue 13). Tickets: one full-text row per ticket (rowid = ticket id) in a contentless FTS5 table, kept by
-- the store (crates/db/src/search/index.rs) in the transaction of every ticket and comment write; the text itself
-- stays in tickets and comments. Columns: what partners may match (subject, description, public comments) apart
-- from what only staff may (internal notes). Words are folded to lower case without accents.
CREATE VIRTUAL TABLE ticket_text USING fts5(
    subject, description, public_text, internal_text,
    content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 2'
);
-- Tags one per row, so that `tags:x` is an index lookup.
CREATE TABLE ticket_tags (
    tag TEXT NOT NULL,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    PRIMARY KEY (tag, ticket_id)
) WITHOUT ROWID;
CREATE INDEX ticket_tags_ticket ON ticket_tags (ticket_id);
-- When a ticket was solved (`solved>...`); kept by the store as the status changes.
ALTER TABLE tickets ADD COLUMN solved_at TEXT;
UPDATE tickets SET solved_at = updated_at WHERE status IN ('solved', 'closed');

-- Users and organizations: FTS5 over their own rows (external content), kept by triggers.
CREATE VIRTUAL TABLE user_text USING fts5(
    name, email, content = 'users', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER user_text_insert AFTER INSERT ON users BEGIN
    INSERT INTO user_text (rowid, name, email) VALUES (new.id, new.name, new.email);
END;
CREATE TRIGGER user_text_delete AFTER DELETE ON users BEGIN
    INSERT INTO user_text (user_text, rowid, name, email) VALUES ('delete', old.id, old.name, old.email);
END;
CREATE TRIGGER user_text_update AFTER UPDATE OF name, email ON users BEGIN
    INSERT INTO user_text (user_text, rowid, name, email) VALUES ('delete', old.id, old.name, old.email);
    INSERT INTO user_text (rowid, name, email) VALUES (new.id, new.name, new.email);
END;
INSERT INTO user_text (user_text) VALUES ('rebuild');

CREATE VIRTUAL TABLE organization_text USING fts5(
    name, domain_names, tags, notes, content = 'organizations', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER organization_text_insert AFTER INSERT ON organizations BEGIN
    INSERT INTO organization_text (rowid, name, domain_names, tags, notes)
    VALUES (new.id, new.name, new.domain_names, new.tags, new.notes);
END;
CREATE TRIGGER organization_text_delete AFTER DELETE ON organizations BEGIN
    INSERT INTO organization_text (organization_text, rowid, name, domain_names, tags, notes)
    VALUES ('delete', old.id, old.name, old.domain_names, old.tags, old.notes);
END;
CREATE TRIGGER organization_text_update AFTER UPDATE OF name, domain_names, tags, notes ON organizations BEGIN
    INSERT INTO organization_text (organization_text, rowid, name, domain_names, tags, notes)
    VALUES ('delete', old.id, old.name, old.domain_names, old.tags, old.notes);
    INSERT INTO organization_text (rowid, name, domain_names, tags, notes)
    VALUES (new.id, new.name, new.domain_names, new.tags, new.notes);
END;
INSERT INTO organization_text (organization_text) VALUES ('rebuild');
-- Existing tickets are indexed in this migration's transaction by the store's rebuild (crates/db/src/migrate.rs).
