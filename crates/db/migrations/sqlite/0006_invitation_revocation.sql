-- An invitation is revoked when a newer one is issued for the same account, or when the account's password is set:
-- only the latest link works, and none works once the person has chosen a password.
ALTER TABLE invitations ADD COLUMN revoked_at TEXT;
CREATE INDEX invitations_user ON invitations (user_id);
