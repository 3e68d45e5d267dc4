//! Partner bucket connections. The secret stays sealed in here; the audit log records changes without it.

use chrono::{DateTime, Utc};
use partnerdesk_core::OrgId;
use partnerdesk_core::buckets::DownloadMode;
use serde::Serialize;

use crate::audit::{self, AuditActor, Change};
use crate::conn::{Conn, Row};
use crate::error::DbError;
use crate::{args, now};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketConnection {
    pub id: i64,
    pub organization_id: OrgId,
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    pub prefix: String,
    pub path_style: bool,
    pub access_key_id: String,
    pub secret_sealed: String,
    pub key_id: String,
    pub download_mode: DownloadMode,
    pub presign_ttl_secs: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What the audit log keeps of a connection: everything but the secret.
#[derive(Serialize)]
struct Recorded<'a> {
    endpoint: &'a str,
    region: &'a str,
    bucket: &'a str,
    prefix: &'a str,
    path_style: bool,
    access_key_id: &'a str,
    key_id: &'a str,
    download_mode: &'a str,
    presign_ttl_secs: i64,
}

impl BucketConnection {
    fn recorded(&self) -> Recorded<'_> {
        Recorded {
            endpoint: &self.endpoint,
            region: &self.region,
            bucket: &self.bucket,
            prefix: &self.prefix,
            path_style: self.path_style,
            access_key_id: &self.access_key_id,
            key_id: &self.key_id,
            download_mode: self.download_mode.as_str(),
            presign_ttl_secs: self.presign_ttl_secs,
        }
    }
}

fn from_row(r: &Row) -> Result<BucketConnection, DbError> {
    Ok(BucketConnection {
        id: r.i64("id")?,
        organization_id: OrgId(r.i64("organization_id")?),
        endpoint: r.text("endpoint")?,
        region: r.text("region")?,
        bucket: r.text("bucket")?,
        prefix: r.text("prefix")?,
        path_style: r.boolean("path_style")?,
        access_key_id: r.text("access_key_id")?,
        secret_sealed: r.text("secret_sealed")?,
        key_id: r.text("key_id")?,
        download_mode: DownloadMode::parse(&r.text("download_mode")?)
            .ok_or_else(|| DbError::Corrupt("bucket download mode".into()))?,
        presign_ttl_secs: r.i64("presign_ttl_secs")?,
        created_at: r.time("created_at")?,
        updated_at: r.time("updated_at")?,
    })
}

pub async fn for_org(conn: &mut Conn, org: OrgId) -> Result<BucketConnection, DbError> {
    from_row(
        &conn
            .fetch_one(
                "SELECT * FROM bucket_connections WHERE organization_id = ?",
                &args![org.0],
            )
            .await?,
    )
}

pub async fn all(conn: &mut Conn) -> Result<Vec<BucketConnection>, DbError> {
    conn.fetch_all("SELECT * FROM bucket_connections ORDER BY id", &[])
        .await?
        .iter()
        .map(from_row)
        .collect()
}

/// Creates or replaces an organization's connection (fields as in `c`; `id` and times are ignored).
pub async fn save(conn: &mut Conn, c: &BucketConnection, actor: &AuditActor) -> Result<BucketConnection, DbError> {
    let before = match for_org(conn, c.organization_id).await {
        Ok(b) => Some(b),
        Err(DbError::NotFound) => None,
        Err(e) => return Err(e),
    };
    let t = now();
    let a = args![
        c.endpoint.as_str(),
        c.region.as_str(),
        c.bucket.as_str(),
        c.prefix.as_str(),
        c.path_style,
        c.access_key_id.as_str(),
        c.secret_sealed.as_str(),
        c.key_id.as_str(),
        c.download_mode.as_str(),
        c.presign_ttl_secs,
        t,
        c.organization_id.0
    ];
    if before.is_some() {
        conn.execute(
            "UPDATE bucket_connections SET endpoint = ?, region = ?, bucket = ?, prefix = ?, path_style = ?, access_key_id = ?, \
             secret_sealed = ?, key_id = ?, download_mode = ?, presign_ttl_secs = ?, updated_at = ? WHERE organization_id = ?",
            &a,
        )
        .await?;
    } else {
        let mut insert = a.to_vec();
        insert.push(t.into());
        conn.execute(
            "INSERT INTO bucket_connections (endpoint, region, bucket, prefix, path_style, access_key_id, secret_sealed, key_id, \
             download_mode, presign_ttl_secs, updated_at, organization_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            &insert,
        )
        .await?;
    }
    let after = for_org(conn, c.organization_id).await?;
    let (was, is) = (before.as_ref().map(BucketConnection::recorded), after.recorded());
    let change = Change {
        action: if before.is_some() {
            "bucket.update"
        } else {
            "bucket.connect"
        },
        entity_type: "organization",
        entity_id: c.organization_id.0,
        organization_id: Some(c.organization_id.0),
        before: was.as_ref(),
        after: Some(&is),
    };
    audit::record(conn, actor, change).await?;
    Ok(after)
}

pub async fn delete(conn: &mut Conn, c: &BucketConnection, actor: &AuditActor) -> Result<(), DbError> {
    conn.execute("DELETE FROM bucket_connections WHERE id = ?", &args![c.id])
        .await?;
    let change = Change {
        action: "bucket.disconnect",
        entity_type: "organization",
        entity_id: c.organization_id.0,
        organization_id: Some(c.organization_id.0),
        before: Some(&c.recorded()),
        after: None::<&()>,
    };
    audit::record(conn, actor, change).await?;
    Ok(())
}

/// Re-seals a connection's secret (key rotation); recorded without the secret.
pub async fn reseal(
    conn: &mut Conn,
    c: &BucketConnection,
    sealed: &str,
    key_id: &str,
    actor: &AuditActor,
) -> Result<(), DbError> {
    conn.execute(
        "UPDATE bucket_connections SET secret_sealed = ?, key_id = ?, updated_at = ? WHERE id = ?",
        &args![sealed, key_id, now(), c.id],
    )
    .await?;
    let after = serde_json::json!({ "key_id": key_id, "previous_key_id": c.key_id });
    let change = Change {
        action: "bucket.reseal",
        entity_type: "organization",
        entity_id: c.organization_id.0,
        organization_id: Some(c.organization_id.0),
        before: None::<&()>,
        after: Some(&after),
    };
    audit::record(conn, actor, change).await?;
    Ok(())
}
