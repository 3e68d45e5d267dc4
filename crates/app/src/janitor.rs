//! The janitor: removes expired upload tokens (with the files no comment took) and abandoned resumable uploads, and
//! forgets what refused mail said once it is 30 days old and bulk jobs a week after they finished.

use std::time::Duration;

use partnerdesk_db::files;

use crate::context::App;
use crate::error::AppError;
use crate::uploads::lease::Lease;

/// Removes expired upload tokens (with the files no comment took) and abandoned resumable uploads.
/// Returns how many of each were removed.
pub async fn purge_expired(app: &App) -> Result<(usize, usize), AppError> {
    let mut conn = app.db.conn();
    let uploads = files::expired_uploads(&mut conn, 500).await?;
    for u in &uploads {
        let mut tx = app.db.begin().await?;
        let keys = files::delete_upload(&mut tx, u.id).await?;
        tx.commit().await?;
        for k in keys {
            app.blobs
                .delete(&k)
                .await
                .map_err(|e| AppError::Internal(e.to_string()))?;
        }
    }
    let large = files::expired_large(&mut conn, 500).await?;
    let mut removed = 0;
    for u in &large {
        // A request that began before the upload expired may still be writing it: leave it to the next round.
        let (lease, u) = match Lease::claim(app, &u.id, "busy").await {
            Ok(held) => held,
            Err(AppError::Busy(_)) => continue,
            Err(e) => return Err(e),
        };
        let result = crate::uploads::resumable::discard(app, &u).await;
        lease.release().await;
        result?;
        removed += 1;
    }
    Ok((uploads.len(), removed))
}

/// How long refused mail is kept for admins to look at.
pub const REFUSED_MAIL_DAYS: i64 = 30;

/// Forgets the subject and text of refused mail older than `REFUSED_MAIL_DAYS` (the row stays, so that a repeat of
/// the message is still recognised). Returns how many were purged.
pub async fn purge_refused_mail(app: &App) -> Result<u64, AppError> {
    let before = partnerdesk_db::now() - chrono::TimeDelta::days(REFUSED_MAIL_DAYS);
    Ok(partnerdesk_db::inbound::purge_refused(&mut app.db.conn(), before).await?)
}

/// How long a finished bulk job's status (and its items' results) can still be read.
pub const JOB_STATUS_DAYS: i64 = 7;

/// Forgets bulk jobs finished more than `JOB_STATUS_DAYS` ago.
pub async fn purge_jobs(app: &App) -> Result<u64, AppError> {
    let before = partnerdesk_db::now() - chrono::TimeDelta::days(JOB_STATUS_DAYS);
    Ok(partnerdesk_db::jobs::purge_done(&mut app.db.conn(), before).await?)
}

/// Runs `purge_expired`, `purge_refused_mail` and `purge_jobs` every ten minutes for as long as the server runs.
pub async fn janitor(app: App) {
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tick.tick().await;
        match purge_refused_mail(&app).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(n, "purged refused mail older than {REFUSED_MAIL_DAYS} days"),
            Err(e) => tracing::warn!(error = %e, "purging refused mail failed"),
        }
        match purge_jobs(&app).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(n, "forgot bulk jobs finished more than {JOB_STATUS_DAYS} days ago"),
            Err(e) => tracing::warn!(error = %e, "forgetting old bulk jobs failed"),
        }
        match purge_expired(&app).await {
            Ok((0, 0)) => {}
            Ok((uploads, large)) => tracing::info!(uploads, large, "removed expired uploads"),
            Err(e) => tracing::warn!(error = %e, "removing expired uploads failed"),
        }
    }
}
