//! The schemas of the partner-bucket routes that the services answer untyped or keep elsewhere: the connection's
//! input rules (the input struct lives with the services), the test result, an objects page and a presigned URL.

use partnerdesk_app::buckets::client::BucketObject;
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use crate::api::doc::{self, values};

/// The fields of a bucket connection, as `partnerdesk_app::buckets::connection::ConnectionInput` reads and checks
/// them. Fields left out (or `null`) keep their current value or take the default.
#[derive(Debug, ToSchema)]
#[schema(as = ConnectionInput)]
#[allow(dead_code)]
pub struct ConnectionInputRules {
    /// An http(s) URL without credentials or query; default `https://s3.amazonaws.com`.
    #[schema(format = "uri")]
    endpoint: Option<String>,
    /// Default `us-east-1`.
    #[schema(schema_with = region)]
    region: Option<String>,
    /// S3's bucket naming rule: 3-63 lower-case letters, digits, `-`, `.` (`_` for older buckets).
    #[schema(pattern = r"^[a-z0-9._-]{3,63}$")]
    bucket: Option<String>,
    /// A key prefix the connection is limited to (a `/` is added at its end); blank for the whole bucket. Written
    /// like an object key (see `partnerdesk-object-key` on the download route).
    #[schema(format = "partnerdesk-object-key")]
    prefix: Option<String>,
    path_style: Option<bool>,
    #[schema(schema_with = access_key_id)]
    access_key_id: Option<String>,
    /// Write-only: sealed when saved, never shown. Required for the first connection.
    secret_access_key: Option<String>,
    /// `stream` (through partnerdesk) or `presign` (short-lived URL to the bucket).
    #[schema(schema_with = values::download_mode)]
    download_mode: Option<String>,
    /// How long a presigned URL lasts: 1 second to 7 days; default 300.
    #[schema(minimum = 1, maximum = 604800)]
    presign_ttl_secs: Option<i64>,
}

fn region() -> utoipa::openapi::schema::Object {
    values::text(64, true)
}

fn access_key_id() -> utoipa::openapi::schema::Object {
    values::text(128, true)
}

/// What a connection test found.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct BucketTestResult {
    pub ok: bool,
    /// When not ok: `dns`, `tls`, `connect`, `timeout`, `forbidden`, `no_such_bucket`, `wrong_region` or `other`.
    pub problem: Option<String>,
    pub description: Option<String>,
}

/// The filters of an objects page.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ObjectsQuery {
    /// Only keys under this prefix (relative to the connection's), written like a key; blank for all.
    #[param(format = "partnerdesk-object-key")]
    pub prefix: Option<String>,
    /// Groups keys into folders; default `/`, blank for a flat listing.
    pub delimiter: Option<String>,
    /// The order within the page: `name`, `size` or `last_modified`, `-` first for descending.
    #[param(schema_with = sort)]
    pub sort: Option<String>,
}

fn sort() -> utoipa::openapi::schema::Object {
    values::one_of(
        ["name", "-name", "size", "-size", "last_modified", "-last_modified"],
        false,
    )
}

/// Where a bucket listing is.
#[derive(Debug, Serialize, ToSchema)]
pub struct ObjectsMeta {
    pub has_more: bool,
    pub after_cursor: Option<String>,
}

/// A page of a bucket: the folders (common prefixes) and objects under `prefix`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ObjectList {
    pub prefix: String,
    pub prefixes: Vec<String>,
    pub objects: Vec<BucketObject>,
    pub meta: ObjectsMeta,
    pub links: doc::CursorLinks,
}

/// A presigned URL to an object, and when it stops working.
#[derive(Debug, Serialize, ToSchema)]
pub struct PresignedUrl {
    pub url: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
}
