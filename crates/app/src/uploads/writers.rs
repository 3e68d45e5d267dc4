//! Uploads being written by this instance right now: one request per resumable upload at a time.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

#[derive(Default)]
pub struct Writers(Mutex<HashSet<String>>);

/// Held while a request writes an upload; dropping it lets the next request in.
pub struct WriterGuard(Arc<Writers>, String);

impl Writers {
    /// The right to write upload `id`, or `None` while another request holds it.
    pub fn claim(self: &Arc<Self>, id: &str) -> Option<WriterGuard> {
        let mut set = self.0.lock().unwrap_or_else(|p| p.into_inner());
        set.insert(id.to_owned())
            .then(|| WriterGuard(self.clone(), id.to_owned()))
    }
}

impl Drop for WriterGuard {
    fn drop(&mut self) {
        self.0.0.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.1);
    }
}
