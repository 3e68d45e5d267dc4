-- The people copied on a ticket (user ids, space-separated, in the order they were added), kept on the ticket row
-- like its tags: written, audited and read with the ticket itself.
ALTER TABLE tickets ADD COLUMN cc_ids TEXT NOT NULL DEFAULT '';
