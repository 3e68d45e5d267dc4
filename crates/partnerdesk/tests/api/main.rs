//! Integration tests: the real server on a random loopback port, spoken to over HTTP, on a fresh database.
//! Every test runs twice: on SQLite and on PostgreSQL (see `db_test!`).

#![allow(clippy::unwrap_used)]

mod helpers;
mod import;
mod s3;
mod search;
mod search_counts;
mod show_many;

mod account_mail;
mod accounts;
mod admin_field_pages;
mod admin_form_pages;
mod admin_profile_field_pages;
mod admin_record_pages;
mod audits;
mod bad_input;
mod buckets;
mod bulk;
mod bulk_rules;
mod bulk_worker;
mod ccs;
mod concurrency;
mod control_chars;
mod credentials;
mod dovecot;
mod escalation_chain;
mod escalations;
mod field_search;
mod files;
mod imap;
mod inbound;
mod incremental;
mod lookups;
mod mail;
mod notice_choices;
mod notifications;
mod org_user_fields;
mod organizations;
mod page_forms;
mod pages;
mod tags;
mod ticket_fields;
mod ticket_lists;
mod tickets;
mod tus;
mod tus_instances;
