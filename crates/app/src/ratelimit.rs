//! Counting failed sign-in attempts per key (an account, an address) in a fixed window. In memory: with
//! several instances each keeps its own count, which still bounds guessing to instances x limit per window.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct RateLimiter {
    limit: u32,
    window: Duration,
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl RateLimiter {
    pub fn new(limit: u32, window: Duration) -> RateLimiter {
        RateLimiter {
            limit,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn wait(&self, start: Instant) -> u64 {
        self.window.saturating_sub(start.elapsed()).as_secs().max(1)
    }

    /// Counts an attempt against every key before it is made, or refuses it (`Err(seconds to wait)`) when one
    /// of them has used up its attempts. Counting first is what makes the limit hold when many attempts arrive
    /// at the same moment: checking first and counting the failure afterwards lets them all through.
    pub fn reserve(&self, keys: &[&str]) -> Result<(), u64> {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 100_000 {
            // Bound memory under a spray of distinct keys: forget windows that are over.
            let window = self.window;
            map.retain(|_, (_, start)| start.elapsed() < window);
        }
        for key in keys {
            if let Some((n, start)) = map.get(*key)
                && *n >= self.limit
                && start.elapsed() < self.window
            {
                return Err(self.wait(*start));
            }
        }
        for key in keys {
            let entry = map.entry((*key).to_owned()).or_insert((0, Instant::now()));
            if entry.1.elapsed() >= self.window {
                *entry = (0, Instant::now());
            }
            entry.0 += 1;
        }
        Ok(())
    }

    /// Gives back an attempt reserved for `key` (it succeeded, or it was never made).
    pub fn refund(&self, key: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = map.get_mut(key) {
            entry.0 = entry.0.saturating_sub(1);
        }
    }

    /// Forgets `key`'s failures (the account signed in).
    pub fn succeed(&self, key: &str) {
        self.failures.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_limit() {
        let rl = RateLimiter::new(2, Duration::from_secs(60));
        assert!(rl.reserve(&["a"]).is_ok());
        assert!(rl.reserve(&["a"]).is_ok());
        assert!(rl.reserve(&["a"]).is_err());
        assert!(rl.reserve(&["b"]).is_ok());
        rl.succeed("a");
        assert!(rl.reserve(&["a"]).is_ok());
    }

    #[test]
    fn reserving_counts_before_the_attempt_on_every_key() {
        let rl = RateLimiter::new(2, Duration::from_secs(60));
        assert!(rl.reserve(&["a", "ip"]).is_ok());
        assert!(rl.reserve(&["b", "ip"]).is_ok());
        // The address has used its two attempts, although neither has finished.
        assert!(rl.reserve(&["c", "ip"]).is_err());
        rl.refund("ip");
        assert!(
            rl.reserve(&["c", "ip"]).is_ok(),
            "a refused attempt was not counted against c"
        );
    }
}
