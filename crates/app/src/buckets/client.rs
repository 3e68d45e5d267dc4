//! A partner's own S3 bucket, read on behalf of agents: list (with continuation tokens, for buckets of any size),
//! download (streamed, with ranges) and presign. Requests are signed with rusty-s3 and sent with reqwest, so that
//! paging and presigning work the same against AWS and any S3-compatible service.
//! Failures are reported precisely: DNS, TLS, connection, wrong credentials, no such bucket or key.

use std::time::Duration;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use partnerdesk_core::sealing::Sealer;
use partnerdesk_db::buckets::BucketConnection;
use rusty_s3::actions::S3Action;
use rusty_s3::{Bucket, Credentials, UrlStyle};
use serde::Serialize;

use crate::error::AppError;

/// Signed URLs live this long when partnerdesk sends the request itself.
const SIGN_FOR: Duration = Duration::from_secs(120);

/// Why the bucket could not be reached, as a short code and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct BucketProblem {
    /// `dns`, `internal_address`, `tls`, `connect`, `timeout`, `forbidden`, `no_such_bucket`, `no_such_key`, `wrong_region`, `other`.
    pub problem: String,
    pub description: String,
}

impl BucketProblem {
    fn new(problem: &str, description: impl Into<String>) -> BucketProblem {
        BucketProblem {
            problem: problem.into(),
            description: description.into(),
        }
    }
}

impl From<BucketProblem> for AppError {
    fn from(p: BucketProblem) -> Self {
        match p.problem.as_str() {
            "no_such_key" => AppError::NotFound,
            "invalid_range" => AppError::RangeNotSatisfiable,
            _ => AppError::Upstream(format!(
                "The partner's bucket could not be used ({}): {}",
                p.problem, p.description
            )),
        }
    }
}

/// One listed object.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BucketObject {
    pub key: String,
    /// The key without the connection's prefix, as agents see it.
    pub name: String,
    pub size: u64,
    pub last_modified: Option<String>,
    pub etag: Option<String>,
}

/// One page of a listing.
#[derive(Debug, Clone, Serialize)]
pub struct Listing {
    pub prefixes: Vec<String>,
    pub objects: Vec<BucketObject>,
    pub next_token: Option<String>,
}

/// The HTTP client for partner buckets: shared, so connections are reused; redirects are not followed (a
/// redirect from S3 means a wrong region or endpoint, reported as such).
/// Unless internal endpoints are allowed, host names are resolved to public addresses only, so the client connects
/// to an address that was checked (see `address`). A proxy from the environment is not used (it would resolve and
/// reach names on its own, past those checks); an egress proxy is used only when configured for buckets.
pub fn http_client(allow_private: bool, proxy: Option<&str>) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        // A service that stops sending is given up on, so no request hangs forever.
        .read_timeout(Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy();
    match proxy.map(reqwest::Proxy::all) {
        Some(Ok(p)) => b = b.proxy(p),
        Some(Err(e)) => {
            tracing::error!(error = %e, "PARTNERDESK_BUCKET_PROXY is not usable; buckets are reached directly")
        }
        None => {}
    }
    if !allow_private && proxy.is_none() {
        b = b.dns_resolver(std::sync::Arc::new(crate::buckets::address::PublicOnly));
    }
    b.build().unwrap_or_default()
}

/// A connection ready to use: bucket, credentials and the fixed key prefix.
pub struct PartnerBucket {
    bucket: Bucket,
    credentials: Credentials,
    prefix: String,
    client: reqwest::Client,
}

/// A key an agent asks for: relative to the connection's prefix, no `..` segments, no URLs, no control characters.
pub fn check_key(key: &str) -> Result<(), AppError> {
    let bad = |why: &str| {
        AppError::invalid(
            "key",
            "InvalidValue",
            format!("'{key}' is not a usable object key: {why}"),
        )
    };
    if key.is_empty() || key.len() > 1024 {
        return Err(bad("it must be 1 to 1024 bytes long"));
    }
    if key.starts_with('/') || key.contains("://") {
        return Err(bad("it must be relative to the bucket's prefix"));
    }
    if key.split('/').any(|seg| seg == ".." || seg == ".") {
        return Err(bad("it must not contain '.' or '..' segments"));
    }
    if key.chars().any(char::is_control) {
        return Err(bad("it must not contain control characters"));
    }
    Ok(())
}

/// An endpoint as entered: `https://s3.example.com`; refuses anything that is not a plain http(s) URL.
pub fn parse_endpoint(raw: &str) -> Result<url::Url, AppError> {
    let u = url::Url::parse(raw.trim())
        .map_err(|e| AppError::invalid("endpoint", "InvalidValue", format!("'{raw}' is not a URL: {e}")))?;
    if !matches!(u.scheme(), "http" | "https")
        || u.host_str().is_none()
        || !u.username().is_empty()
        || u.password().is_some()
        || u.query().is_some()
    {
        return Err(AppError::invalid(
            "endpoint",
            "InvalidValue",
            "the endpoint must be an http(s) URL without credentials or query",
        ));
    }
    Ok(u)
}

fn classify(e: &reqwest::Error) -> BucketProblem {
    // The chain of sources says what went wrong below HTTP. The URL is left out: it carries a signature.
    let mut chain = e
        .to_string()
        .replace(e.url().map(|u| u.as_str()).unwrap_or("\u{0}"), "(signed URL)");
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        chain.push_str(": ");
        chain.push_str(&s.to_string());
        source = s.source();
    }
    let lower = chain.to_lowercase();
    if lower.contains(crate::buckets::address::REFUSED) {
        BucketProblem::new(
            "internal_address",
            "the endpoint's host name resolves to an internal address, which partner buckets may not use",
        )
    } else if e.is_timeout() {
        BucketProblem::new("timeout", "the endpoint did not answer in time")
    } else if lower.contains("dns")
        || lower.contains("lookup")
        || lower.contains("name or service not known")
        || lower.contains("no address")
    {
        BucketProblem::new("dns", format!("the endpoint's host name does not resolve ({chain})"))
    } else if [
        "certificate",
        "tls",
        "handshake",
        "ssl",
        "corrupt message",
        "invalidcontenttype",
    ]
    .iter()
    .any(|w| lower.contains(w))
    {
        BucketProblem::new("tls", format!("the TLS connection failed ({chain})"))
    } else {
        BucketProblem::new("connect", format!("the endpoint could not be reached ({chain})"))
    }
}

/// Reads at most `cap` bytes of a body: a service cannot make partnerdesk hold more than that in memory.
async fn read_capped(resp: reqwest::Response, cap: usize) -> Result<String, BucketProblem> {
    let mut out = Vec::new();
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| classify(&e))?;
        if out.len() + chunk.len() > cap {
            return Err(BucketProblem::new(
                "other",
                format!("the service sent more than {cap} bytes where a short answer was expected"),
            ));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Turns an S3 error answer into a problem.
async fn answer_problem(resp: reqwest::Response) -> BucketProblem {
    let status = resp.status();
    let body = read_capped(resp, 64 * 1024).await.unwrap_or_default();
    let code = body
        .split("<Code>")
        .nth(1)
        .and_then(|s| s.split("</Code>").next())
        .unwrap_or("")
        .to_owned();
    match (status.as_u16(), code.as_str()) {
        (_, "NoSuchBucket") => BucketProblem::new("no_such_bucket", "the bucket does not exist"),
        (_, "NoSuchKey") => BucketProblem::new("no_such_key", "no such object"),
        (_, "InvalidAccessKeyId") => BucketProblem::new(
            "forbidden",
            "the access key id is not known to the service (403 InvalidAccessKeyId)",
        ),
        (_, "SignatureDoesNotMatch") => BucketProblem::new(
            "forbidden",
            "the secret access key is wrong (403 SignatureDoesNotMatch)",
        ),
        (301, _) | (_, "PermanentRedirect") | (_, "AuthorizationHeaderMalformed") => BucketProblem::new(
            "wrong_region",
            format!("the bucket is in another region or needs another endpoint ({status} {code})"),
        ),
        (403, c) => BucketProblem::new("forbidden", format!("access denied (403 {c})")),
        (404, _) => BucketProblem::new("no_such_key", "no such object"),
        (416, _) | (_, "InvalidRange") => BucketProblem::new("invalid_range", "the requested range is not satisfiable"),
        (s, c) => BucketProblem::new("other", format!("the service answered {s} {c}")),
    }
}

impl PartnerBucket {
    /// A connection's bucket, with the shared HTTP client (connections to the service are reused).
    pub fn open(c: &BucketConnection, sealer: &Sealer, client: &reqwest::Client) -> Result<PartnerBucket, AppError> {
        let secret = sealer
            .open(&c.secret_sealed)
            .map_err(|e| AppError::Internal(format!("bucket secret of organization {}: {e}", c.organization_id)))?;
        PartnerBucket::new(c, &secret, client.clone())
    }

    fn new(c: &BucketConnection, secret: &str, client: reqwest::Client) -> Result<PartnerBucket, AppError> {
        let style = if c.path_style {
            UrlStyle::Path
        } else {
            UrlStyle::VirtualHost
        };
        let bucket =
            Bucket::new(parse_endpoint(&c.endpoint)?, style, c.bucket.clone(), c.region.clone()).map_err(|e| {
                AppError::invalid(
                    "bucket",
                    "InvalidValue",
                    format!("the bucket settings are not usable: {e}"),
                )
            })?;
        Ok(PartnerBucket {
            bucket,
            credentials: Credentials::new(c.access_key_id.as_str(), secret),
            prefix: c.prefix.clone(),
            client,
        })
    }

    fn full_key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    /// One page of the bucket under `prefix` (relative to the connection's prefix).
    pub async fn list(
        &self,
        prefix: &str,
        delimiter: Option<&str>,
        page_size: usize,
        token: Option<&str>,
    ) -> Result<Listing, BucketProblem> {
        let full_prefix = self.full_key(prefix);
        let mut action = self.bucket.list_objects_v2(Some(&self.credentials));
        if !full_prefix.is_empty() {
            action.with_prefix(full_prefix.as_str());
        }
        if let Some(d) = delimiter {
            action.with_delimiter(d);
        }
        if let Some(t) = token {
            action.with_continuation_token(t);
        }
        action.with_max_keys(page_size);
        let url = action.sign(SIGN_FOR);
        let resp = self.client.get(url).send().await.map_err(|e| classify(&e))?;
        if !resp.status().is_success() {
            return Err(answer_problem(resp).await);
        }
        // 1,000 keys of up to 1 KiB each, with their XML, fit well within 16 MiB.
        let text = read_capped(resp, 16 * 1024 * 1024).await?;
        let parsed = rusty_s3::actions::ListObjectsV2::parse_response(&text)
            .map_err(|e| BucketProblem::new("other", format!("the listing could not be read: {e}")))?;
        let strip = |k: &str| k.strip_prefix(self.prefix.as_str()).unwrap_or(k).to_owned();
        Ok(Listing {
            prefixes: parsed.common_prefixes.iter().map(|p| strip(&p.prefix)).collect(),
            objects: parsed
                .contents
                .iter()
                .map(|o| BucketObject {
                    key: o.key.clone(),
                    name: strip(&o.key),
                    size: o.size.unwrap_or(0),
                    last_modified: o.last_modified.clone(),
                    etag: o.etag.clone(),
                })
                .collect(),
            next_token: parsed.next_continuation_token,
        })
    }

    /// Checks that the bucket can be listed; the problem says precisely what failed.
    pub async fn test(&self) -> Result<(), BucketProblem> {
        self.list("", Some("/"), 1, None).await.map(|_| ())
    }

    /// A URL anyone can GET for `ttl`.
    pub fn presign(&self, key: &str, ttl: Duration) -> String {
        let full = self.full_key(key);
        self.bucket
            .get_object(Some(&self.credentials), &full)
            .sign(ttl)
            .to_string()
    }

    /// Streams an object (or a range of it). Returns the status headers that matter and the body.
    pub async fn get(&self, key: &str, range: Option<&str>) -> Result<Fetched, BucketProblem> {
        let url = self.presign(key, SIGN_FOR);
        let mut rb = self.client.get(url);
        if let Some(r) = range {
            rb = rb.header(reqwest::header::RANGE, r);
        }
        let resp = rb.send().await.map_err(|e| classify(&e))?;
        let status = resp.status();
        if !(status.is_success() || status.as_u16() == 206) {
            return Err(answer_problem(resp).await);
        }
        let header =
            |n: reqwest::header::HeaderName| resp.headers().get(n).and_then(|v| v.to_str().ok()).map(str::to_owned);
        Ok(Fetched {
            partial: status.as_u16() == 206,
            length: resp.content_length(),
            content_range: header(reqwest::header::CONTENT_RANGE),
            body: resp
                .bytes_stream()
                .map_err(|e| std::io::Error::other(e.to_string()))
                .inspect_ok(|chunk| {
                    metrics::counter!("partnerdesk_bucket_bytes_streamed_total").increment(chunk.len() as u64)
                })
                .boxed(),
        })
    }
}

/// An object being read from the partner's bucket.
pub struct Fetched {
    pub partial: bool,
    pub length: Option<u64>,
    pub content_range: Option<String>,
    pub body: BoxStream<'static, Result<Bytes, std::io::Error>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        for ok in ["a.txt", "logs/2026/app.log", "with space/ünïcode.txt", "a..b"] {
            assert!(check_key(ok).is_ok(), "{ok}");
        }
        for bad in ["", "/etc/passwd", "../x", "a/../../b", "./a", "http://evil/x", "a\nb"] {
            assert!(check_key(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn endpoints() {
        assert!(parse_endpoint("https://s3.eu-west-1.amazonaws.com").is_ok());
        for bad in ["ftp://x", "not a url", "https://user:pw@host", "https://host/?x=1"] {
            assert!(parse_endpoint(bad).is_err(), "{bad}");
        }
    }
}
