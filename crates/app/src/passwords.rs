//! Password hashing with a bound on how many run at once. Each argon2id check holds about 19 MiB for tens of
//! milliseconds, so a burst of sign-in attempts would otherwise grow memory without limit (300 at once took the
//! server to 1.9 GiB). A few checks run at a time; a bounded number wait briefly; the rest are told to retry.

use std::sync::Arc;
use std::time::Duration;

use partnerdesk_core::credentials;
use tokio::sync::Semaphore;

use crate::AppError;

/// How long a request waits for a hashing slot before it is told to come back.
const WAIT: Duration = Duration::from_secs(5);

pub struct Hashing {
    /// Hashes running now: one per core, at least two.
    running: Arc<Semaphore>,
    /// Requests running or waiting to run: beyond this they are refused at once, without waiting.
    admitted: Arc<Semaphore>,
}

impl Default for Hashing {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        Hashing::new(cores.max(2), 32)
    }
}

impl Hashing {
    pub fn new(running: usize, admitted: usize) -> Hashing {
        Hashing {
            running: Arc::new(Semaphore::new(running)),
            admitted: Arc::new(Semaphore::new(admitted.max(running))),
        }
    }

    /// Runs `work` on a blocking thread once a slot is free; `Overloaded` when none frees up soon enough.
    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, AppError> {
        let busy = || AppError::Overloaded { retry_after_secs: 1 };
        let _admitted = self.admitted.clone().try_acquire_owned().map_err(|_| busy())?;
        let slot = tokio::time::timeout(WAIT, self.running.clone().acquire_owned())
            .await
            .map_err(|_| busy())?
            .map_err(AppError::internal)?;
        tokio::task::spawn_blocking(move || {
            let out = work();
            drop(slot);
            out
        })
        .await
        .map_err(AppError::internal)
    }

    /// True when `password` matches the stored PHC hash.
    pub async fn verify(&self, password: String, hash: String) -> Result<bool, AppError> {
        self.run(move || credentials::verify_password(&password, &hash)).await
    }

    /// An argon2id hash of a new password.
    pub async fn hash(&self, password: String) -> Result<String, AppError> {
        Ok(self.run(move || credentials::hash_password(&password)).await??)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refuses_beyond_the_admitted_number() {
        let hashing = Arc::new(Hashing::new(1, 2));
        let hash = credentials::hash_password("a long enough password").unwrap_or_default();
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (h, hash) = (hashing.clone(), hash.clone());
            tasks.push(tokio::spawn(async move { h.verify("wrong".into(), hash).await }));
        }
        let mut checked = 0;
        let mut refused = 0;
        for t in tasks {
            match t.await.expect("task") {
                Ok(_) => checked += 1,
                Err(AppError::Overloaded { .. }) => refused += 1,
                Err(e) => panic!("unexpected {e}"),
            }
        }
        assert!((1..=2).contains(&checked), "checked {checked}");
        assert_eq!(checked + refused, 8);
    }
}
