//! The partnerdesk program: configuration, start-up and the admin commands. `main.rs` only parses arguments.

pub mod admin;
pub mod app;
pub mod config;
pub mod demo;
pub mod mail_ingest;
pub mod telemetry;
pub mod upload;
