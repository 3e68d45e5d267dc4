-- Search by creation date (`created>2026-01-01`, a month's tickets) reads an index range instead of every ticket;
-- `id` second, so a page of them newest first and their count read the index alone.
CREATE INDEX tickets_created ON tickets (created_at, id);
