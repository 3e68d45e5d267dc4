//! Local file storage belongs to one instance: files written to one machine's `DATA_DIR/files` cannot be read
//! by another. The files directory carries an id of its own, and the database records the one local store its
//! files are in; an instance whose local store is another is refused at start (several instances need
//! S3-compatible storage), so that no instance writes files that the others cannot account for.

use std::path::Path;

use partnerdesk_db::{Db, file_store};

use crate::error::AppError;

/// The file in the files directory that names it.
const ID_FILE: &str = ".partnerdesk-store-id";

/// This files directory's id, made when it is first used.
async fn store_id(files_dir: &Path) -> Result<String, AppError> {
    tokio::fs::create_dir_all(files_dir).await?;
    let path = files_dir.join(ID_FILE);
    match tokio::fs::read_to_string(&path).await {
        Ok(id) if !id.trim().is_empty() => return Ok(id.trim().to_owned()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e.into()),
    }
    let id = partnerdesk_core::credentials::new_token().map_err(AppError::internal)?[..32].to_owned();
    // Written to a name of its own and linked into place, which fails when the file exists: of two instances
    // making it at once, one id wins and both read it back. No crash leaves an empty or half-written id.
    let tmp = files_dir.join(format!("{ID_FILE}.{id}.tmp"));
    tokio::fs::write(&tmp, &id).await?;
    let linked = tokio::fs::hard_link(&tmp, &path).await;
    let _ = tokio::fs::remove_file(&tmp).await;
    match linked {
        Ok(()) => Ok(id),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Ok(tokio::fs::read_to_string(&path).await?.trim().to_owned())
        }
        Err(e) => Err(e.into()),
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "an unknown host".into())
}

/// Binds the database to this files directory, or refuses when it holds the files of another local store.
pub async fn bind(db: &Db, files_dir: &Path) -> Result<(), AppError> {
    let id = store_id(files_dir).await?;
    let bound = file_store::bind_local(&mut db.conn(), &id, &host_name()).await?;
    if bound.store_id != id {
        return Err(AppError::Conflict(format!(
            "this database's files are in another local file store (the files directory of {}, bound {}), not in \
             {}. Local storage cannot be shared: to run several instances, use S3-compatible storage \
             (PARTNERDESK_BLOB_BUCKET). If the files were moved here on purpose, copy {ID_FILE} along with them, \
             or run `partnerdesk admin rebind-local-store`.",
            bound.host,
            bound.claimed_at.format("%Y-%m-%d %H:%M UTC"),
            files_dir.display()
        )));
    }
    Ok(())
}

/// Binds the database to this files directory in place of the one it was bound to (after a deliberate move).
pub async fn rebind(db: &Db, files_dir: &Path) -> Result<(), AppError> {
    let id = store_id(files_dir).await?;
    let mut tx = db.begin().await?;
    file_store::rebind_local(&mut tx, &id, &host_name()).await?;
    tx.commit().await?;
    Ok(())
}
