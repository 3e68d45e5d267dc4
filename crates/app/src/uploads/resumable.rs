//! The resumable (tus) uploads' storage: where an upload's bytes wait while it is received, and removing them.
//! The protocol itself is `partnerdesk_web::api::tus`.

use std::path::PathBuf;

use partnerdesk_db::files::{self, LargeUpload};

use crate::context::App;
use crate::error::AppError;

/// Where upload `id` is assembled (local disk) or buffered between parts (object storage).
pub fn staging(app: &App, id: &str, suffix: &str) -> PathBuf {
    app.settings.staging_dir.join(format!("{id}{suffix}"))
}

/// The object that keeps the bytes not yet in a part between two requests (object storage).
pub fn rest_key(u: &LargeUpload) -> String {
    format!("{}.rest", u.blob_key)
}

/// Removes an upload's staged bytes and its record (a completed upload keeps its attachment).
pub async fn discard(app: &App, u: &LargeUpload) -> Result<(), AppError> {
    if u.completed_at.is_none() {
        if let Some(mp) = &u.multipart_id {
            let _ = app.blobs.abort_multipart(&u.blob_key, mp).await;
        }
        if !app.blobs.is_local() {
            let _ = app.blobs.delete(&rest_key(u)).await;
        }
        for suffix in ["", ".buf", ".at"] {
            let _ = tokio::fs::remove_file(staging(app, &u.id, suffix)).await;
        }
    }
    files::delete_large(&mut app.db.conn(), &u.id).await?;
    Ok(())
}
