//! File storage for partnerdesk, over `object_store`: a local directory (the embedded default) or an
//! S3-compatible bucket. Files are streamed in and out and hashed on the way in; nothing holds a file whole.
//! Large resumable uploads use the store's low-level multipart API, whose upload id and part ids can be kept in
//! the database, so that an upload started on one instance can be finished on another.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{Stream, StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::buffered::BufWriter;
use object_store::local::LocalFileSystem;
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("object not found")]
    NotFound,
    #[error("the file is larger than {limit} bytes")]
    TooLarge { limit: u64 },
    /// Reading the incoming stream failed (the client went away): nothing was stored.
    #[error("the upload was interrupted: {0}")]
    Interrupted(String),
    #[error("storage configuration: {0}")]
    Config(String),
    #[error("storage error: {0}")]
    Store(String),
}

impl From<object_store::Error> for BlobError {
    fn from(e: object_store::Error) -> Self {
        match e {
            object_store::Error::NotFound { .. } => BlobError::NotFound,
            other => BlobError::Store(other.to_string()),
        }
    }
}

impl From<std::io::Error> for BlobError {
    fn from(e: std::io::Error) -> Self {
        BlobError::Store(e.to_string())
    }
}

/// Settings of an S3-compatible bucket.
#[derive(Clone)]
pub struct S3Config {
    pub endpoint: Option<String>,
    pub region: String,
    pub bucket: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Path-style (`endpoint/bucket/key`) rather than virtual-hosted (`bucket.endpoint/key`) requests.
    pub path_style: bool,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"[redacted]")
            .field("path_style", &self.path_style)
            .finish()
    }
}

impl S3Config {
    pub fn build(&self) -> Result<object_store::aws::AmazonS3, BlobError> {
        let mut b = AmazonS3Builder::new()
            .with_region(&self.region)
            .with_bucket_name(&self.bucket)
            .with_access_key_id(&self.access_key_id)
            .with_secret_access_key(&self.secret_access_key)
            .with_virtual_hosted_style_request(!self.path_style);
        if let Some(e) = &self.endpoint {
            b = b.with_endpoint(e).with_allow_http(e.starts_with("http://"));
        }
        b.build().map_err(|e| BlobError::Config(e.to_string()))
    }
}

/// What was stored: its size and sha256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub size: u64,
    pub sha256: String,
}

/// A readable object: its total size, the range being sent, and the bytes.
pub struct Download {
    pub size: u64,
    pub range: Range<u64>,
    pub body: BoxStream<'static, Result<Bytes, BlobError>>,
}

#[derive(Clone)]
enum Kind {
    Local { root: PathBuf },
    S3 { multipart: Arc<dyn MultipartStore> },
}

/// The file store.
#[derive(Clone)]
pub struct Blobs {
    store: Arc<dyn ObjectStore>,
    kind: Kind,
}

impl std::fmt::Debug for Blobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            Kind::Local { root } => write!(f, "Blobs(local {})", root.display()),
            Kind::S3 { .. } => write!(f, "Blobs(s3)"),
        }
    }
}

fn key(k: &str) -> Result<ObjectPath, BlobError> {
    ObjectPath::parse(k).map_err(|e| BlobError::Config(format!("bad object key '{k}': {e}")))
}

impl Blobs {
    /// Files under `root` (created if missing).
    pub fn local(root: &Path) -> Result<Blobs, BlobError> {
        std::fs::create_dir_all(root)?;
        let store = LocalFileSystem::new_with_prefix(root)?.with_automatic_cleanup(true);
        Ok(Blobs {
            store: Arc::new(store),
            kind: Kind::Local {
                root: root.to_path_buf(),
            },
        })
    }

    pub fn s3(config: &S3Config) -> Result<Blobs, BlobError> {
        let s3 = Arc::new(config.build()?);
        Ok(Blobs {
            store: s3.clone(),
            kind: Kind::S3 { multipart: s3 },
        })
    }

    pub fn is_local(&self) -> bool {
        matches!(self.kind, Kind::Local { .. })
    }

    /// Where a key lives on disk, for the local store (a finished local upload is renamed into place).
    pub fn local_path(&self, k: &str) -> Option<PathBuf> {
        match &self.kind {
            Kind::Local { root } => Some(root.join(k)),
            Kind::S3 { .. } => None,
        }
    }

    /// Streams `body` into `k`, hashing it, and refuses (storing nothing) once it passes `limit` bytes.
    pub async fn put_stream<S, E>(&self, k: &str, body: S, limit: u64) -> Result<Stored, BlobError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let path = key(k)?;
        let mut writer = BufWriter::with_capacity(self.store.clone(), path.clone(), 8 * 1024 * 1024);
        let mut hasher = Sha256::new();
        let mut size: u64 = 0;
        let mut body = body;
        let outcome: Result<(), BlobError> = async {
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| BlobError::Interrupted(e.to_string()))?;
                size += chunk.len() as u64;
                if size > limit {
                    return Err(BlobError::TooLarge { limit });
                }
                hasher.update(&chunk);
                writer.write_all(&chunk).await?;
            }
            Ok(())
        }
        .await;
        match outcome {
            Ok(()) => {
                writer.shutdown().await?;
                Ok(Stored {
                    size,
                    sha256: hex::encode(hasher.finalize()),
                })
            }
            Err(e) => {
                let _ = writer.abort().await;
                let _ = self.store.delete(&path).await;
                Err(e)
            }
        }
    }

    /// Reads `k`, or the byte range `range` of it.
    pub async fn get(&self, k: &str, range: Option<Range<u64>>) -> Result<Download, BlobError> {
        let opts = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let result = self.store.get_opts(&key(k)?, opts).await?;
        let size = result.meta.size;
        let range = result.range.clone();
        let body = result.into_stream().map_err(BlobError::from).boxed();
        Ok(Download { size, range, body })
    }

    /// The size of `k`.
    pub async fn size(&self, k: &str) -> Result<u64, BlobError> {
        Ok(self.store.head(&key(k)?).await?.size)
    }

    pub async fn delete(&self, k: &str) -> Result<(), BlobError> {
        match self.store.delete(&key(k)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Writes a small object whole (the remainder of a resumable upload between parts).
    pub async fn put_small(&self, k: &str, data: Bytes) -> Result<(), BlobError> {
        self.store.put(&key(k)?, PutPayload::from_bytes(data)).await?;
        Ok(())
    }

    /// Reads a small object whole.
    pub async fn get_small(&self, k: &str) -> Result<Bytes, BlobError> {
        Ok(self.store.get(&key(k)?).await?.bytes().await?)
    }

    fn multipart(&self) -> Result<&Arc<dyn MultipartStore>, BlobError> {
        match &self.kind {
            Kind::S3 { multipart } => Ok(multipart),
            Kind::Local { .. } => Err(BlobError::Config("multipart uploads are for object storage".into())),
        }
    }

    /// Starts a multipart upload to `k`; returns its id.
    pub async fn create_multipart(&self, k: &str) -> Result<String, BlobError> {
        Ok(self.multipart()?.create_multipart(&key(k)?).await?)
    }

    /// Uploads part number `idx` (from 0); returns its id, to be kept until completion.
    pub async fn put_part(&self, k: &str, upload: &str, idx: usize, data: Bytes) -> Result<String, BlobError> {
        let part = self
            .multipart()?
            .put_part(&key(k)?, &upload.to_owned(), idx, PutPayload::from_bytes(data))
            .await?;
        Ok(part.content_id)
    }

    pub async fn complete_multipart(&self, k: &str, upload: &str, parts: &[String]) -> Result<(), BlobError> {
        let parts: Vec<PartId> = parts.iter().map(|p| PartId { content_id: p.clone() }).collect();
        self.multipart()?
            .complete_multipart(&key(k)?, &upload.to_owned(), parts)
            .await?;
        Ok(())
    }

    pub async fn abort_multipart(&self, k: &str, upload: &str) -> Result<(), BlobError> {
        self.multipart()?.abort_multipart(&key(k)?, &upload.to_owned()).await?;
        Ok(())
    }
}
