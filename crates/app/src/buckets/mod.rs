//! Partner buckets: each partner organization's own S3 bucket, which staff list and download from, every access
//! audited. `client` speaks S3, `connection` keeps the sealed connection, `access` is what staff do with it.

pub mod access;
pub mod client;
pub mod connection;
