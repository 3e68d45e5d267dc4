-- Files. An upload token (Zendesk's uploads API) groups attachments until a comment uses it; attachments then
-- belong to the comment and its ticket. Large resumable (tus) uploads keep their state here, so that an upload
-- resumes after a restart and on another instance.
CREATE TABLE uploads (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token TEXT NOT NULL UNIQUE,
    owner_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX uploads_expiry ON uploads (expires_at);

CREATE TABLE attachments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    upload_id INTEGER REFERENCES uploads(id) ON DELETE SET NULL,
    ticket_id INTEGER REFERENCES tickets(id) ON DELETE CASCADE,
    comment_id INTEGER REFERENCES comments(id) ON DELETE CASCADE,
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    blob_key TEXT NOT NULL UNIQUE,
    uploader_id INTEGER NOT NULL REFERENCES users(id),
    created_at TEXT NOT NULL
);
CREATE INDEX attachments_upload ON attachments (upload_id);
CREATE INDEX attachments_comment ON attachments (comment_id);
CREATE INDEX attachments_ticket ON attachments (ticket_id);

CREATE TABLE large_uploads (
    id TEXT PRIMARY KEY,
    ticket_id INTEGER NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    owner_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    -- The Upload-Metadata header as the client sent it (HEAD answers it back).
    metadata TEXT NOT NULL DEFAULT '',
    length INTEGER NOT NULL,
    upload_offset INTEGER NOT NULL DEFAULT 0,
    -- sha256 state after upload_offset bytes (hex), so that the hash survives restarts and instance changes.
    hash_state TEXT NOT NULL,
    blob_key TEXT NOT NULL UNIQUE,
    -- Object storage: the multipart upload, its part ids (JSON), and how many bytes the parts hold.
    multipart_id TEXT,
    parts TEXT NOT NULL DEFAULT '[]',
    flushed INTEGER NOT NULL DEFAULT 0,
    expires_at TEXT NOT NULL,
    created_at TEXT NOT NULL,
    completed_at TEXT,
    attachment_id INTEGER REFERENCES attachments(id) ON DELETE SET NULL
);
CREATE INDEX large_uploads_expiry ON large_uploads (expires_at);
