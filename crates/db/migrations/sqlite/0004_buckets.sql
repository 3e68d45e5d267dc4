-- A partner organization's own S3 bucket, which agents browse and download from. The secret access key is
-- sealed (AES-256-GCM, see core::sealing); key_id names the key it was sealed with, for rotation.
CREATE TABLE bucket_connections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id INTEGER NOT NULL UNIQUE REFERENCES organizations(id) ON DELETE CASCADE,
    endpoint TEXT NOT NULL,
    region TEXT NOT NULL,
    bucket TEXT NOT NULL,
    prefix TEXT NOT NULL DEFAULT '',
    path_style BOOLEAN NOT NULL DEFAULT 0,
    access_key_id TEXT NOT NULL,
    secret_sealed TEXT NOT NULL,
    key_id TEXT NOT NULL,
    download_mode TEXT NOT NULL CHECK (download_mode IN ('stream', 'presign')),
    presign_ttl_secs INTEGER NOT NULL DEFAULT 300,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX audit_log_action ON audit_log (organization_id, action, id);
