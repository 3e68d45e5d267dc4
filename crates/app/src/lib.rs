//! partnerdesk's services: one function per use case, called alike by the API, the pages and the admin CLI.
//! Each opens its transaction first and does its reads inside it; each answers `AppError`, never an HTTP type.
//! Background work (the outbox worker, escalation timeouts, the janitor) lives here too.

pub mod account_mail;
pub mod accounts;
pub mod buckets;
pub mod context;
pub mod directory;
pub mod error;
pub mod escalations;
pub mod exports;
pub mod field_defs;
pub mod import;
pub mod inbound;
pub mod input;
pub mod instance;
pub mod janitor;
pub mod jobs;
pub mod mailbox;
pub mod metrics;
pub mod notice_choices;
pub mod notifications;
pub mod oncall;
pub mod org_changes;
pub mod outbox;
pub mod passwords;
pub mod profile_fields;
pub mod ratelimit;
pub mod search;
pub mod signin;
pub mod ticket_fields;
pub mod tickets;
pub mod uploads;
pub mod user_changes;

pub use context::{App, Settings};
pub use error::AppError;
