//! What agents do with a partner's bucket, shared by the API and the pages: every listing, download, presign
//! and copy is authorised here (staff only; end-users get 404) and written to the audit log.

use std::time::Duration;

use chrono::Utc;
use partnerdesk_core::policy::{Actor, OrgScope, TicketScope};
use partnerdesk_core::{OrgId, TicketId};
use partnerdesk_db::buckets::{self, BucketConnection};
use partnerdesk_db::files::{self, Attachment, NewAttachment};
use partnerdesk_db::organizations::{self, Organization};
use partnerdesk_db::tickets::{self, NewComment};
use partnerdesk_db::users::User;
use partnerdesk_db::{AuditActor, DbError, audit};
use serde_json::{Value, json};

use crate::buckets::client::{Listing, PartnerBucket, check_key};
use crate::context::App;
use crate::error::AppError;
use crate::uploads::attachments::{content_type_for, new_blob_key};

/// End-users never learn that a connection exists: every bucket route is 404 for them.
pub fn staff_only(actor: &Actor) -> Result<(), AppError> {
    if actor.is_staff() {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

/// The organization and its connection, for staff.
pub async fn connection(state: &App, actor: &Actor, org: OrgId) -> Result<(Organization, BucketConnection), AppError> {
    staff_only(actor)?;
    let o = organizations::get(&mut state.db.conn(), org, OrgScope::All).await?;
    let c = buckets::for_org(&mut state.db.conn(), org).await.map_err(|e| match e {
        DbError::NotFound => AppError::NotFound,
        e => e.into(),
    })?;
    crate::buckets::address::check_endpoint(&c.endpoint, &state.settings).await?;
    Ok((o, c))
}

/// Records a bucket access in the audit log.
pub async fn record(state: &App, who: &AuditActor, org: OrgId, action: &str, detail: Value) -> Result<(), AppError> {
    let change = audit::Change {
        action,
        entity_type: "organization",
        entity_id: org.0,
        organization_id: Some(org.0),
        before: None::<&()>,
        after: Some(&detail),
    };
    audit::record(&mut state.db.conn(), who, change).await?;
    Ok(())
}

/// A prefix to list under: relative to the connection's, and no `..` games.
pub fn check_prefix(prefix: &str) -> Result<(), AppError> {
    if prefix.is_empty() { Ok(()) } else { check_key(prefix) }
}

pub async fn list(
    state: &App,
    user: &User,
    org: OrgId,
    prefix: &str,
    delimiter: Option<&str>,
    size: usize,
    token: Option<&str>,
) -> Result<Listing, AppError> {
    staff_only(&user.actor())?;
    check_prefix(prefix)?;
    let (_, c) = connection(state, &user.actor(), org).await?;
    let bucket = PartnerBucket::open(&c, &state.sealer, &state.bucket_http)?;
    let listing = bucket.list(prefix, delimiter, size, token).await?;
    let detail = json!({"prefix": prefix, "objects": listing.objects.len(), "prefixes": listing.prefixes.len(), "continued": token.is_some()});
    record(state, &user.audit_actor(), org, "bucket.list", detail).await?;
    Ok(listing)
}

/// A presigned URL for `key`, valid for the connection's TTL.
pub async fn presign(
    state: &App,
    user: &User,
    org: OrgId,
    key: &str,
) -> Result<(String, chrono::DateTime<Utc>), AppError> {
    staff_only(&user.actor())?;
    check_key(key)?;
    let (_, c) = connection(state, &user.actor(), org).await?;
    let bucket = PartnerBucket::open(&c, &state.sealer, &state.bucket_http)?;
    let ttl = Duration::from_secs(c.presign_ttl_secs.clamp(1, 7 * 24 * 3600) as u64);
    let url = bucket.presign(key, ttl);
    let expires = partnerdesk_db::now() + chrono::Duration::seconds(ttl.as_secs() as i64);
    record(
        state,
        &user.audit_actor(),
        org,
        "bucket.presign",
        json!({"key": key, "expires_at": expires}),
    )
    .await?;
    Ok((url, expires))
}

/// Copies an object into the ticket's attachments (server-side, streamed, any size), with an internal note.
pub async fn attach_to_ticket(
    state: &App,
    user: &User,
    ticket_id: TicketId,
    key: &str,
) -> Result<Attachment, AppError> {
    let actor = user.actor();
    staff_only(&actor)?;
    check_key(key)?;
    let ticket = tickets::get(&mut state.db.conn(), ticket_id, TicketScope::All).await?;
    let org = ticket.organization_id.ok_or_else(|| {
        AppError::invalid(
            "ticket",
            "InvalidValue",
            "the ticket belongs to no organization, so to no bucket",
        )
    })?;
    let (_, c) = connection(state, &actor, org).await?;
    let bucket = PartnerBucket::open(&c, &state.sealer, &state.bucket_http)?;
    let fetched = bucket.get(key, None).await?;
    let blob_key = new_blob_key("attachments")?;
    let stored = state
        .blobs
        .put_stream(&blob_key, fetched.body, state.settings.max_large_upload_bytes)
        .await
        .map_err(|e| AppError::Upstream(format!("copying {key}: {e}")))?;
    let name = key.rsplit('/').next().unwrap_or(key).to_owned();
    let result: Result<Attachment, AppError> = async {
        let mut tx = state.db.begin().await?;
        let note = NewComment {
            author_id: Some(user.id),
            body: format!("Attached {key} ({}) from the partner's bucket.", partnerdesk_core::text::human_size(stored.size)),
            public: false,
            via: "bucket".into(),
        };
        // Re-read inside the transaction: the copy may have taken minutes, and others may have changed the ticket.
        let current = tickets::get_for_update(&mut tx, ticket.id, TicketScope::All).await?;
        let (_, comment, _) = tickets::update(&mut tx, &current, &current.fields(), Some(&note), &user.audit_actor()).await?;
        let a = files::add_attachment(
            &mut tx,
            &NewAttachment {
                upload_id: None,
                ticket_id: Some(ticket.id),
                comment_id: comment.map(|c| c.id),
                file_name: &name,
                content_type: content_type_for(&name),
                size: stored.size as i64,
                sha256: &stored.sha256,
                blob_key: &blob_key,
                uploader_id: user.id,
            },
        )
        .await?;
        let detail = json!({"key": key, "bytes": stored.size, "ticket_id": ticket.id, "attachment_id": a.id, "sha256": stored.sha256});
        let change = audit::Change { action: "bucket.copy", entity_type: "organization", entity_id: org.0, organization_id: Some(org.0), before: None::<&()>, after: Some(&detail) };
        audit::record(&mut tx, &user.audit_actor(), change).await?;
        tx.commit().await?;
        Ok(a)
    }
    .await;
    if result.is_err() {
        let _ = state.blobs.delete(&blob_key).await;
    }
    result
}

/// The bucket accesses recorded for an organization, newest first.
pub async fn access_log(state: &App, org: OrgId, limit: i64) -> Result<Vec<audit::AuditEntry>, AppError> {
    let mut entries = audit::for_organization_actions(&mut state.db.conn(), org.0, "bucket.", limit).await?;
    entries.reverse();
    Ok(entries)
}
