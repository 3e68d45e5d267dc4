-- How far the IMAP mailbox has been read: the last UID handled under its UIDVALIDITY, so that a restart or another
-- instance goes on where reading stopped; and who reads it now (one instance at a time, by a lease it renews).
CREATE TABLE mailbox_cursors (
    mailbox TEXT PRIMARY KEY,
    uid_validity BIGINT NOT NULL DEFAULT 0,
    last_uid BIGINT NOT NULL DEFAULT 0,
    lease_token TEXT,
    lease_until TIMESTAMPTZ
);
