-- Search (issue 13). Text is parsed with the `partnerdesk` configuration: PostgreSQL's `simple` (lower case, no
-- stemming, the same words in every language) with accents removed where the unaccent extension can be had.
DO $$
DECLARE
    schema_name TEXT;
BEGIN
    CREATE TEXT SEARCH CONFIGURATION partnerdesk (COPY = simple);
    BEGIN
        CREATE EXTENSION IF NOT EXISTS unaccent;
        -- The dictionary where the extension put it (not always on the search path).
        SELECT n.nspname INTO schema_name FROM pg_ts_dict d JOIN pg_namespace n ON n.oid = d.dictnamespace
            WHERE d.dictname = 'unaccent' LIMIT 1;
        EXECUTE format('ALTER TEXT SEARCH CONFIGURATION partnerdesk ALTER MAPPING FOR hword, hword_part, word '
            'WITH %I.unaccent, simple', schema_name);
    EXCEPTION WHEN OTHERS THEN
        -- Without the extension (a role that may not create it) words keep their accents.
        RAISE NOTICE 'unaccent is not available: search keeps accents (%)', SQLERRM;
    END;
END $$;

-- Tickets: one document per ticket, kept by the store (crates/db/src/search/index.rs) in the transaction of every
-- ticket and comment write. Weights say where a word stands: A subject, B description, C public comments,
-- D internal notes (which partners' queries never match).
CREATE TABLE ticket_search (
    ticket_id BIGINT PRIMARY KEY REFERENCES tickets(id) ON DELETE CASCADE,
    doc tsvector NOT NULL
);
CREATE INDEX ticket_search_doc ON ticket_search USING gin (doc);
CREATE TABLE ticket_tags (
    tag TEXT NOT NULL,
    ticket_id BIGINT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    PRIMARY KEY (tag, ticket_id)
);
CREATE INDEX ticket_tags_ticket ON ticket_tags (ticket_id);
ALTER TABLE tickets ADD COLUMN solved_at TIMESTAMPTZ;
UPDATE tickets SET solved_at = updated_at WHERE status IN ('solved', 'closed');

-- Users and organizations: expression indexes over their own columns, nothing to keep.
-- The e-mail address whole and in parts (PostgreSQL's parser keeps an address as one word).
CREATE INDEX users_text ON users
    USING gin (to_tsvector('partnerdesk', name || ' ' || email || ' ' || translate(email, '@.+_-', '     ')));
CREATE INDEX organizations_text ON organizations
    USING gin (to_tsvector('partnerdesk', name || ' ' || domain_names || ' ' || tags));
CREATE INDEX organizations_notes_text ON organizations USING gin (to_tsvector('partnerdesk', notes));
-- Existing tickets are indexed in this migration's transaction by the store's rebuild (crates/db/src/migrate.rs).
