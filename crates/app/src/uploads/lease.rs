//! One writer per resumable upload, across every instance: a request that writes an upload (a PATCH, filing it,
//! ending it) holds a lease on the upload's row, renewed while it works. A second writer, on this instance or
//! another, is told the upload is busy. A holder that crashed stops renewing, and its lease runs out after `TERM`.
//!
//! A live holder that cannot renew (the database is unreachable) must stop before anyone else could take the
//! upload: `lost` is cancelled once `TERM - MARGIN` has passed since the last confirmed renewal, and the writer
//! stops at once, touching nothing more.

use std::time::{Duration, Instant};

use partnerdesk_db::Db;
use partnerdesk_db::files::{self, LargeUpload};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::context::App;
use crate::error::AppError;

/// How long a lease lasts without renewal: how long an upload stays busy after its writer crashed.
const TERM: Duration = Duration::from_secs(10);
/// How often a live writer renews its lease, and how long one renewal may take.
const RENEW_EVERY: Duration = Duration::from_secs(2);
const RENEW_TIMEOUT: Duration = Duration::from_secs(2);
/// A holder gives up this long before its lease could run out (one renewal round fits in it).
const MARGIN: Duration = Duration::from_secs(4);

/// The right to write one upload; give it back with `release` (dropping it gives it back too, in the background).
pub struct Lease {
    db: Db,
    upload: String,
    token: String,
    lost: CancellationToken,
    renewer: JoinHandle<()>,
    released: bool,
}

impl Lease {
    /// Takes the lease of upload `id` and returns the upload as it is under the lease (another writer may have
    /// moved it on since the caller last read it), or answers `Busy` with `busy` while another writer holds it.
    pub async fn claim(app: &App, id: &str, busy: &str) -> Result<(Lease, LargeUpload), AppError> {
        // Named by the instance, so that a restarted instance can free what its previous life held.
        let token = format!(
            "{}.{}",
            app.instance_id,
            partnerdesk_core::credentials::new_token().map_err(AppError::internal)?
        );
        let asked = Instant::now();
        let Some(upload) = files::claim_lease(&mut app.db.conn(), id, &token, TERM.as_secs() as i64).await? else {
            return Err(AppError::Busy(busy.into()));
        };
        let lost = CancellationToken::new();
        let renewer = tokio::spawn(renew(app.db.clone(), id.to_owned(), token.clone(), lost.clone(), asked));
        let lease = Lease {
            db: app.db.clone(),
            upload: id.to_owned(),
            token,
            lost,
            renewer,
            released: false,
        };
        Ok((lease, upload))
    }

    /// What saves made under this lease are checked against.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Cancelled when this holder may no longer count on the lease: it must stop writing at once.
    pub fn lost(&self) -> &CancellationToken {
        &self.lost
    }

    /// Frees the leases an earlier life of this instance held (it was killed and could not give them back).
    pub async fn release_stale(app: &App) -> Result<u64, AppError> {
        Ok(files::release_leases_of(&mut app.db.conn(), &app.instance_id).await?)
    }

    /// An error for a writer that lost its lease.
    pub fn lost_error() -> AppError {
        AppError::Conflict("this request lost its hold on the upload; resume it from the offset HEAD reports".into())
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

/// Renews the lease every `RENEW_EVERY` until aborted; cancels `lost` when the lease is gone or could not be
/// confirmed for `TERM - MARGIN` (measured from when each confirmed renewal was sent, the conservative end).
async fn renew(db: Db, upload: String, token: String, lost: CancellationToken, mut confirmed: Instant) {
    loop {
        tokio::time::sleep(RENEW_EVERY).await;
        let sent = Instant::now();
        let renewal = tokio::time::timeout(
            RENEW_TIMEOUT,
            files::renew_lease(&mut db.conn(), &upload, &token, TERM.as_secs() as i64),
        )
        .await;
        match renewal {
            Ok(Ok(true)) => confirmed = sent,
            Ok(Ok(false)) => {
                tracing::warn!(upload = %upload, "upload lease lost; the writer stops");
                lost.cancel();
                return;
            }
            Ok(Err(e)) => tracing::warn!(upload = %upload, error = %e, "renewing an upload lease failed"),
            Err(_) => tracing::warn!(upload = %upload, "renewing an upload lease timed out"),
        }
        if confirmed.elapsed() >= TERM - MARGIN {
            tracing::warn!(upload = %upload, "upload lease could not be renewed in time; the writer stops");
            lost.cancel();
            return;
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
