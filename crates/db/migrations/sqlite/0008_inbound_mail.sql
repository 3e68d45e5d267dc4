-- Incoming mail: every message handled once (by Message-ID), what became of it and why; refused ones keep an excerpt
-- for admins (purged after 30 days). One automatic answer per address per day. Addresses whose mail bounced.
CREATE TABLE inbound_mail (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL UNIQUE,
    sender TEXT NOT NULL,
    subject TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('comment', 'ticket', 'refused', 'ignored')),
    reason TEXT,
    excerpt TEXT,
    ticket_id INTEGER REFERENCES tickets(id) ON DELETE SET NULL,
    received_at TEXT NOT NULL
);
CREATE INDEX inbound_mail_outcome ON inbound_mail (outcome, received_at);
CREATE INDEX inbound_mail_sender ON inbound_mail (sender, received_at);

CREATE TABLE mail_auto_replies (
    address TEXT NOT NULL,
    day TEXT NOT NULL,
    PRIMARY KEY (address, day)
);

CREATE TABLE failing_addresses (
    address TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    failed_at TEXT NOT NULL
);
