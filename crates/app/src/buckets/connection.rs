//! Connecting an organization's bucket: validating and sealing the connection, saving it, and testing it.

use chrono::{DateTime, Utc};
use partnerdesk_core::buckets::DownloadMode;
use partnerdesk_core::policy::OrgScope;
use partnerdesk_core::validation::required_text;
use partnerdesk_core::{Invalid, OrgId};
use partnerdesk_db::buckets::{self, BucketConnection};
use partnerdesk_db::users::User;
use partnerdesk_db::{DbError, organizations};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::buckets::access::{self as bucket_access, record};
use crate::buckets::client::{PartnerBucket, check_key, parse_endpoint};
use crate::context::App;
use crate::error::AppError;

/// A connection as shown: everything but the secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionView {
    pub organization_id: i64,
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    pub prefix: String,
    pub path_style: bool,
    pub access_key_id: String,
    /// Always true: a secret is stored (sealed); it is never returned.
    pub has_secret: bool,
    pub key_id: String,
    pub download_mode: String,
    pub presign_ttl_secs: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&BucketConnection> for ConnectionView {
    fn from(c: &BucketConnection) -> Self {
        ConnectionView {
            organization_id: c.organization_id.0,
            endpoint: c.endpoint.clone(),
            region: c.region.clone(),
            bucket: c.bucket.clone(),
            prefix: c.prefix.clone(),
            path_style: c.path_style,
            access_key_id: c.access_key_id.clone(),
            has_secret: true,
            key_id: c.key_id.clone(),
            download_mode: c.download_mode.as_str().to_owned(),
            presign_ttl_secs: c.presign_ttl_secs,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ConnectionInput {
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub bucket: Option<String>,
    pub prefix: Option<String>,
    pub path_style: Option<bool>,
    pub access_key_id: Option<String>,
    /// Write-only.
    pub secret_access_key: Option<String>,
    /// `stream` (through partnerdesk) or `presign` (short-lived URL to the bucket).
    pub download_mode: Option<String>,
    pub presign_ttl_secs: Option<i64>,
}

/// Validates and applies `input` onto a connection (`before` when one exists); seals a new secret.
pub fn apply_connection(
    state: &App,
    org: OrgId,
    before: Option<&BucketConnection>,
    input: ConnectionInput,
) -> Result<BucketConnection, AppError> {
    let mut errors = Invalid::default();
    let pick = |new: Option<String>, old: Option<&String>, default: &str| {
        new.or_else(|| old.cloned()).unwrap_or_else(|| default.to_owned())
    };
    let endpoint = pick(input.endpoint, before.map(|b| &b.endpoint), "https://s3.amazonaws.com");
    if let Err(AppError::Invalid(inv)) = parse_endpoint(&endpoint) {
        errors.0.extend(inv.0);
    }
    let region = required_text(
        &mut errors,
        "region",
        &pick(input.region, before.map(|b| &b.region), "us-east-1"),
        64,
    );
    let bucket = required_text(
        &mut errors,
        "bucket",
        &pick(input.bucket, before.map(|b| &b.bucket), ""),
        63,
    );
    check_bucket_name(&mut errors, &bucket);
    let mut prefix = pick(input.prefix, before.map(|b| &b.prefix), "").trim().to_owned();
    if !prefix.is_empty() {
        if let Err(AppError::Invalid(inv)) = check_key(&prefix) {
            errors.0.extend(inv.0.into_iter().map(|mut e| {
                e.field = "prefix".into();
                e
            }));
        }
        if !prefix.ends_with('/') {
            prefix.push('/');
        }
    }
    let access_key_id = required_text(
        &mut errors,
        "access_key_id",
        &pick(input.access_key_id, before.map(|b| &b.access_key_id), ""),
        128,
    );
    let download_mode = match input.download_mode {
        Some(m) => DownloadMode::parse_field(&mut errors, "download_mode", &m).unwrap_or(DownloadMode::Stream),
        None => before.map_or(DownloadMode::Stream, |b| b.download_mode),
    };
    let ttl = input
        .presign_ttl_secs
        .or(before.map(|b| b.presign_ttl_secs))
        .unwrap_or(300);
    if !(1..=7 * 24 * 3600).contains(&ttl) {
        errors.push(
            "presign_ttl_secs",
            "InvalidValue",
            "presign_ttl_secs must be between 1 second and 7 days",
        );
    }
    let sealed = match (input.secret_access_key.filter(|s| !s.is_empty()), before) {
        (Some(secret), _) => Some((
            state.sealer.seal(&secret).map_err(AppError::internal)?,
            state.sealer.key_id().to_owned(),
        )),
        (None, Some(b)) => Some((b.secret_sealed.clone(), b.key_id.clone())),
        (None, None) => {
            errors.push("secret_access_key", "BlankValue", "secret_access_key is required");
            None
        }
    };
    check_not_own_bucket(state, &mut errors, &endpoint, &bucket);
    errors.into_result()?;
    let (secret_sealed, key_id) = sealed.unwrap_or_default();
    Ok(BucketConnection {
        id: 0,
        organization_id: org,
        endpoint,
        region,
        bucket,
        prefix,
        path_style: input.path_style.or(before.map(|b| b.path_style)).unwrap_or(false),
        access_key_id,
        secret_sealed,
        key_id,
        download_mode,
        presign_ttl_secs: ttl,
        created_at: partnerdesk_db::now(),
        updated_at: partnerdesk_db::now(),
    })
}

/// The connection must never reach partnerdesk's own storage.
fn check_not_own_bucket(state: &App, errors: &mut Invalid, endpoint: &str, bucket: &str) {
    if let Some((own_endpoint, own_bucket)) = &state.settings.own_bucket {
        let host = |e: &str| {
            url::Url::parse(e)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_default()
        };
        if *own_bucket == bucket && (own_endpoint.is_empty() || host(own_endpoint) == host(endpoint)) {
            errors.push(
                "bucket",
                "InvalidValue",
                "this is partnerdesk's own storage bucket; connect the partner's bucket instead",
            );
        }
    }
}

/// S3's bucket naming rule (3-63 lower-case letters, digits, '-', '.'; '_' for older buckets).
fn check_bucket_name(errors: &mut Invalid, bucket: &str) {
    if !bucket.is_empty()
        && (bucket.len() < 3
            || !bucket
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.' || c == '_'))
    {
        errors.push(
            "bucket",
            "InvalidValue",
            format!("'{bucket}' is not a bucket name (3-63 lower-case letters, digits, '-', '.')"),
        );
    }
}

/// Connects or reconnects an organization's bucket (admins).
pub async fn save(state: &App, user: &User, org: OrgId, input: ConnectionInput) -> Result<BucketConnection, AppError> {
    let actor = user.actor();
    bucket_access::staff_only(&actor)?;
    actor.may_administer()?;
    organizations::get(&mut state.db.conn(), org, OrgScope::All).await?;
    let before = match buckets::for_org(&mut state.db.conn(), org).await {
        Ok(c) => Some(c),
        Err(DbError::NotFound) => None,
        Err(e) => return Err(e.into()),
    };
    let c = apply_connection(state, org, before.as_ref(), input)?;
    crate::buckets::address::check_endpoint(&c.endpoint, &state.settings).await?;
    let mut tx = state.db.begin().await?;
    let saved = buckets::save(&mut tx, &c, &user.audit_actor()).await?;
    tx.commit().await?;
    Ok(saved)
}

/// Tests a connection: `{"ok": true}` or `{"ok": false, "problem": "dns|tls|connect|timeout|forbidden|no_such_bucket|wrong_region|other", "description"}`.
pub async fn test_connection(state: &App, user: &User, org: OrgId) -> Result<Value, AppError> {
    let (_, c) = bucket_access::connection(state, &user.actor(), org).await?;
    let bucket = PartnerBucket::open(&c, &state.sealer, &state.bucket_http)?;
    let result = bucket.test().await;
    let answer = match &result {
        Ok(()) => json!({"ok": true}),
        Err(p) => json!({"ok": false, "problem": p.problem, "description": p.description}),
    };
    record(state, &user.audit_actor(), org, "bucket.test", answer.clone()).await?;
    Ok(answer)
}
