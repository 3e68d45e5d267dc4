//! This instance's name. While a process runs it holds `DATA_DIR/instance.lock`, and the name in
//! `DATA_DIR/instance-id` is its own: the same across restarts, so that a restarted instance knows which leases
//! its previous life held (a killed process cannot give them back) and frees them at once instead of making
//! clients wait for them to run out. A second process on the same data directory (the lock is taken) gets a name
//! of its own and frees nothing.

use std::path::Path;

use crate::error::AppError;

/// This process's name, and the lock that makes it its own.
pub struct Instance {
    pub id: String,
    /// Held for as long as the process runs; `None` when another live process holds the data directory's name.
    lock: Option<std::fs::File>,
}

impl Instance {
    /// Whether the name is this data directory's (so leases under it from before this process are stale).
    pub fn owns_name(&self) -> bool {
        self.lock.is_some()
    }
}

fn fresh_id() -> Result<String, AppError> {
    Ok(partnerdesk_core::credentials::new_token().map_err(AppError::internal)?[..16].to_owned())
}

/// Takes the data directory's name if no live process holds it, or a fresh one.
pub fn claim(data_dir: &Path) -> Result<Instance, AppError> {
    std::fs::create_dir_all(data_dir)?;
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(data_dir.join("instance.lock"))?;
    if lock.try_lock().is_err() {
        return Ok(Instance {
            id: fresh_id()?,
            lock: None,
        });
    }
    let path = data_dir.join("instance-id");
    let id = match std::fs::read_to_string(&path) {
        Ok(id) if id.trim().len() == 16 && id.trim().chars().all(|c| c.is_ascii_hexdigit()) => id.trim().to_owned(),
        _ => {
            let id = fresh_id()?;
            // Only the lock holder writes it, so there is no race; written aside and renamed all the same.
            let tmp = data_dir.join("instance-id.tmp");
            std::fs::write(&tmp, &id)?;
            std::fs::rename(&tmp, &path)?;
            id
        }
    };
    Ok(Instance { id, lock: Some(lock) })
}
