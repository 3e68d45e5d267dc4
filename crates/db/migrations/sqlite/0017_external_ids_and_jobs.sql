-- External ids (Zendesk's `external_id`): a caller's own key for a user, organization or ticket, unique per table.
-- Rows without one (NULL) are left out of the index, as many as there are.
ALTER TABLE users ADD COLUMN external_id TEXT;
ALTER TABLE organizations ADD COLUMN external_id TEXT;
ALTER TABLE tickets ADD COLUMN external_id TEXT;
CREATE UNIQUE INDEX users_external_id ON users (external_id) WHERE external_id IS NOT NULL;
CREATE UNIQUE INDEX organizations_external_id ON organizations (external_id) WHERE external_id IS NOT NULL;
CREATE UNIQUE INDEX tickets_external_id ON tickets (external_id) WHERE external_id IS NOT NULL;

-- Bulk jobs (`create_many`, `update_many`, ...): the items as posted, processed one by one by whichever instance
-- holds the lease. Each item's result is written in the transaction that applies it, so that a job taken over
-- after a crash goes on after the last item recorded and applies none twice.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'working', 'completed', 'failed', 'killed')),
    total INTEGER NOT NULL,
    progress INTEGER NOT NULL DEFAULT 0,
    payload TEXT NOT NULL,
    message TEXT,
    created_by_id INTEGER NOT NULL,
    lease_owner TEXT,
    lease_until TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX jobs_waiting ON jobs (status, created_at);
CREATE INDEX jobs_creator ON jobs (created_by_id, created_at);

-- One row per item done; the key makes recording an item twice (a worker that lost its lease) fail, and with it
-- the transaction that applied the item.
CREATE TABLE job_results (
    job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    item_index INTEGER NOT NULL,
    result TEXT NOT NULL,
    PRIMARY KEY (job_id, item_index)
);
