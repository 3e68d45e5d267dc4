//! Partner buckets: each partner organization's own S3 bucket, which staff list and download from, every access
//! audited. `address` keeps requests off internal networks, `client` speaks S3, `connection` keeps the sealed connection, `access` is what staff do with it.

pub mod access;
pub mod address;
pub mod client;
pub mod connection;
