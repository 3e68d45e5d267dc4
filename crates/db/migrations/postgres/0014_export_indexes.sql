-- The incremental exports read each table in change order, (updated_at, id), from a keyset cursor: one index range
-- per page instead of a sort of the whole table. The ticket events read the tickets' audit rows in the order they
-- were written, (created_at, id).
CREATE INDEX tickets_changed ON tickets (updated_at, id);
CREATE INDEX users_changed ON users (updated_at, id);
CREATE INDEX organizations_changed ON organizations (updated_at, id);
CREATE INDEX audit_log_changed ON audit_log (entity_type, created_at, id);
