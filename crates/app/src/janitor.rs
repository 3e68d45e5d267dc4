//! The janitor: removes expired upload tokens (with the files no comment took) and abandoned resumable uploads.

use std::time::Duration;

use partnerdesk_db::files;

use crate::context::App;
use crate::error::AppError;

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
    for u in &large {
        crate::uploads::resumable::discard(app, u).await?;
    }
    Ok((uploads.len(), large.len()))
}

/// Runs `purge_expired` every ten minutes for as long as the server runs.
pub async fn janitor(app: App) {
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tick.tick().await;
        match purge_expired(&app).await {
            Ok((0, 0)) => {}
            Ok((uploads, large)) => tracing::info!(uploads, large, "removed expired uploads"),
            Err(e) => tracing::warn!(error = %e, "removing expired uploads failed"),
        }
    }
}
