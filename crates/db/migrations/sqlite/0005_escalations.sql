-- Escalations. Each partner organization has an escalation link (an unguessable token: its digest for lookup, and
-- sealed so that admins can show it again); rotating it replaces the row, so the old link stops working at once.
CREATE TABLE escalation_links (
    organization_id INTEGER PRIMARY KEY REFERENCES organizations(id) ON DELETE CASCADE,
    digest TEXT NOT NULL UNIQUE,
    token_sealed TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- The support managers' on-call schedule (one row): a rotation, a fallback, and how long an escalation may wait
-- for an acknowledgement before it goes to the next person.
CREATE TABLE oncall_schedule (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    members TEXT NOT NULL DEFAULT '[]',
    starts_local TEXT NOT NULL,
    time_zone TEXT NOT NULL DEFAULT 'UTC',
    period_days INTEGER NOT NULL DEFAULT 7,
    fallback_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    ack_timeout_minutes INTEGER NOT NULL DEFAULT 30,
    updated_at TEXT NOT NULL
);

CREATE TABLE oncall_overrides (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
CREATE INDEX oncall_overrides_span ON oncall_overrides (ends_at, starts_at);

CREATE TABLE escalations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    organization_id INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    contact_user_id INTEGER NOT NULL REFERENCES users(id),
    impact TEXT NOT NULL,
    needed TEXT NOT NULL,
    needed_by TEXT,
    via TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'acknowledged', 'resolved')),
    -- Whom it was sent to, in order (JSON user ids), and how far along that chain it is.
    chain TEXT NOT NULL,
    level INTEGER NOT NULL DEFAULT 0,
    notified_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    ack_deadline TEXT,
    acknowledged_by_id INTEGER REFERENCES users(id) ON DELETE SET NULL,
    acknowledged_at TEXT,
    resolved_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX escalations_status ON escalations (status, ack_deadline);
CREATE INDEX escalations_ticket ON escalations (ticket_id);

-- Deliveries (mail, webhooks) written in the same transaction as what they announce, delivered by any instance:
-- claimed with a lease (FOR UPDATE SKIP LOCKED on PostgreSQL), retried with backoff, never dropped.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('email', 'webhook')),
    dedupe_key TEXT NOT NULL UNIQUE,
    payload TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    locked_until TEXT,
    locked_by TEXT,
    last_error TEXT,
    created_at TEXT NOT NULL,
    sent_at TEXT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
