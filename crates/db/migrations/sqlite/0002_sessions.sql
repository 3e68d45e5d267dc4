-- Browser sessions: the cookie holds a random token, the table its sha256. Deleted on sign-out; a
-- suspended user's sessions stop working because the user is loaded with the session on every request.
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    digest TEXT NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);
CREATE INDEX tickets_updated ON tickets (organization_id, updated_at);
CREATE INDEX comments_author ON comments (author_id);
