-- One writer per resumable upload across every instance: a request holds a lease on the upload's row while it
-- writes (renewed as it goes; a crashed holder's lease simply runs out).
ALTER TABLE large_uploads ADD COLUMN lease_token TEXT;
ALTER TABLE large_uploads ADD COLUMN lease_until TEXT;
-- The local file store this database's files live in (DATA_DIR/files/.partnerdesk-store-id). Local storage cannot be shared
-- between instances: an instance with a different local store is refused at start.
CREATE TABLE local_file_store (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    store_id TEXT NOT NULL,
    host TEXT NOT NULL,
    claimed_at TEXT NOT NULL
);
