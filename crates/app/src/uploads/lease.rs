//! One writer per resumable upload, across every instance: a request that writes an upload (a PATCH, filing it,
//! ending it) holds a lease on the upload's row, renewed while it works. A second writer, on this instance or
//! another, is told the upload is busy. A holder that crashed stops renewing, and its lease runs out after `TERM`.

use std::time::Duration;

use partnerdesk_db::{Db, files, now};
use tokio::task::JoinHandle;

use crate::context::App;
use crate::error::AppError;

/// How long a lease lasts without renewal: how long an upload stays busy after its writer crashed.
const TERM: Duration = Duration::from_secs(10);
/// How often a live writer renews its lease (well within `TERM`, so a slow database does not lose it).
const RENEW_EVERY: Duration = Duration::from_secs(3);

/// The right to write one upload; give it back with `release` (dropping it gives it back too, in the background).
pub struct Lease {
    db: Db,
    upload: String,
    token: String,
    renewer: JoinHandle<()>,
    released: bool,
}

fn until() -> chrono::DateTime<chrono::Utc> {
    now() + chrono::Duration::from_std(TERM).unwrap_or_else(|_| chrono::Duration::seconds(10))
}

impl Lease {
    /// Takes the lease of upload `id`, or answers `Busy` with `busy` while another writer holds it.
    pub async fn claim(app: &App, id: &str, busy: &str) -> Result<Lease, AppError> {
        let token = partnerdesk_core::credentials::new_token().map_err(AppError::internal)?;
        if !files::claim_lease(&mut app.db.conn(), id, &token, until()).await? {
            return Err(AppError::Busy(busy.into()));
        }
        let (db, upload, held) = (app.db.clone(), id.to_owned(), token.clone());
        let renewer = tokio::spawn(async move {
            loop {
                tokio::time::sleep(RENEW_EVERY).await;
                match files::renew_lease(&mut db.conn(), &upload, &held, until()).await {
                    Ok(true) => {}
                    // Lost (it ran out and another writer took it): the writer's next save is refused.
                    Ok(false) => {
                        tracing::warn!(upload = %upload, "upload lease lost");
                        return;
                    }
                    Err(e) => tracing::warn!(upload = %upload, error = %e, "renewing an upload lease failed"),
                }
            }
        });
        Ok(Lease {
            db: app.db.clone(),
            upload: id.to_owned(),
            token,
            renewer,
            released: false,
        })
    }

    /// What saves made under this lease are checked against.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Gives the lease back, so that the next writer need not wait for it to run out.
    pub async fn release(mut self) {
        self.renewer.abort();
        self.released = true;
        if let Err(e) = files::release_lease(&mut self.db.conn(), &self.upload, &self.token).await {
            tracing::warn!(upload = %self.upload, error = %e, "releasing an upload lease failed; it runs out by itself");
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.renewer.abort();
        if self.released {
            return;
        }
        // Dropped without `release` (an error or a panic on the way): give it back in the background.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let (db, upload, token) = (self.db.clone(), self.upload.clone(), self.token.clone());
            rt.spawn(async move {
                let _ = files::release_lease(&mut db.conn(), &upload, &token).await;
            });
        }
    }
}
