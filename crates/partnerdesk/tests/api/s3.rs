//! A real S3-compatible server for the tests: s3s-fs, in this process, on a random loopback port.

use std::path::Path;

use hyper_util::rt::TokioIo;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;

pub const ACCESS_KEY: &str = "AKIAPARTNERDESKTEST";
pub const SECRET_KEY: &str = "partnerdesk-test-secret-key-0123456789";

/// Starts the server with an empty `bucket`; returns its endpoint and the task serving it.
pub async fn start(root: &Path, bucket: &str) -> (String, tokio::task::JoinHandle<()>) {
    // s3s-fs keeps a bucket as a directory; object_store cannot create buckets.
    std::fs::create_dir_all(root.join(bucket)).unwrap();
    let fs = s3s_fs::FileSystem::new(root).unwrap();
    let mut b = S3ServiceBuilder::new(fs);
    b.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
    let service = b.build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                continue;
            };
            let service = service.clone();
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(socket), service)
                    .await;
            });
        }
    });
    (format!("http://{addr}"), task)
}
