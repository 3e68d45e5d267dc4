//! What every handler can reach: the store and the settings. No globals.

use std::sync::Arc;

use partnerdesk_db::Db;

use crate::ratelimit::RateLimiter;

#[derive(Debug, Clone)]
pub struct Settings {
    /// The address users reach partnerdesk at, without a trailing slash; used in links and API `url` fields.
    pub public_url: String,
    /// The largest JSON body the API accepts.
    pub max_json_bytes: usize,
    /// How long an invitation link stays usable.
    pub invitation_ttl_hours: i64,
    /// Failed password attempts allowed per account and per address in `login_window_secs`.
    pub login_attempts: u32,
    pub login_window_secs: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            public_url: "http://127.0.0.1:8080".into(),
            max_json_bytes: 1024 * 1024,
            invitation_ttl_hours: 72,
            login_attempts: 10,
            login_window_secs: 15 * 60,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub login_limiter: Arc<RateLimiter>,
}

impl AppState {
    pub fn new(db: Db, settings: Settings) -> AppState {
        let limiter = RateLimiter::new(
            settings.login_attempts,
            std::time::Duration::from_secs(settings.login_window_secs),
        );
        AppState {
            db,
            settings: Arc::new(settings),
            login_limiter: Arc::new(limiter),
        }
    }

    /// An absolute URL for `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.settings.public_url, path)
    }
}
