//! Password hashing with a bound on how many run at once. Each argon2id check holds about 19 MiB for tens of
//! milliseconds, so a burst of sign-in attempts would otherwise grow memory without limit (300 at once took the
//! server to 1.9 GiB). The checks run on a few threads of their own, one per core, each computing in working
//! memory it keeps (`credentials::Scratch`), so memory is threads x 19 MiB whatever the load. A bounded number of
//! checks wait in a queue for a few seconds at most; beyond that the client is told to retry.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use partnerdesk_core::credentials::{self, Scratch};
use tokio::sync::oneshot;

use crate::AppError;

/// How long a check may wait in the queue before the client is told to come back.
const WAIT: Duration = Duration::from_secs(5);

type Job = Box<dyn FnOnce(&mut Scratch) + Send>;

pub struct Hashing {
    queue: SyncSender<(Instant, Job)>,
}

impl Default for Hashing {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        Hashing::new(cores.max(2), 32)
    }
}

impl Hashing {
    /// `threads` checks run at once and `waiting` more may queue.
    pub fn new(threads: usize, waiting: usize) -> Hashing {
        let (queue, jobs) = sync_channel::<(Instant, Job)>(waiting);
        let jobs = Arc::new(Mutex::new(jobs));
        for i in 0..threads.max(1) {
            let jobs = jobs.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("password-hash-{i}"))
                .spawn(move || work(&jobs));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a password hashing thread");
            }
        }
        Hashing { queue }
    }

    /// Runs `work` on a hashing thread; `Overloaded` when the queue is full or the wait was too long.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Scratch) -> T + Send + 'static,
    ) -> Result<T, AppError> {
        let busy = || AppError::Overloaded { retry_after_secs: 1 };
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |scratch| {
            let _ = tx.send(work(scratch));
        });
        match self.queue.try_send((Instant::now() + WAIT, job)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(busy()),
            Err(TrySendError::Disconnected(_)) => {
                return Err(AppError::internal("the password hashing threads stopped"));
            }
        }
        // A job dropped unrun (it waited past its deadline) closes the channel.
        rx.await.map_err(|_| busy())
    }

    /// True when `password` matches the stored PHC hash.
    pub async fn verify(&self, password: String, hash: String) -> Result<bool, AppError> {
        self.run(move |scratch| credentials::verify_password_in(scratch, &password, &hash))
            .await
    }

    /// An argon2id hash of a new password.
    pub async fn hash(&self, password: String) -> Result<String, AppError> {
        // Rare (an invitation accepted), so it allocates its own memory.
        Ok(self.run(move |_| credentials::hash_password(&password)).await??)
    }
}

/// A hashing thread: runs jobs until the queue is gone, skipping those that waited too long (their clients have
/// been told to retry, or have given up).
fn work(jobs: &Mutex<Receiver<(Instant, Job)>>) {
    let mut scratch = Scratch::default();
    loop {
        let next = jobs.lock().unwrap_or_else(|p| p.into_inner()).recv();
        match next {
            Ok((deadline, job)) if Instant::now() <= deadline => job(&mut scratch),
            Ok(_) => {}
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refuses_beyond_the_admitted_number() {
        let hashing = Arc::new(Hashing::new(1, 1));
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
        // One running and one waiting at most, at the moment the eight arrive.
        assert!((1..=2).contains(&checked), "checked {checked}");
        assert_eq!(checked + refused, 8);
    }
}
