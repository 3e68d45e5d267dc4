//! Files on tickets: attachments (up to 20 MB, Zendesk's uploads API and the pages) and resumable uploads.

pub mod attachments;
pub mod lease;
pub mod local_store;
mod receive;
pub mod resumable;
