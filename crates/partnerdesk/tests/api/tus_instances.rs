//! Resumable uploads across instances and crashes: one writer per upload across instances (a lease on the
//! upload's row), progress recorded during a long request (so `kill -9` loses at most one checkpoint), and local
//! storage never shared between instances (refused at start; missing staged bytes answered, never zero-filled).

use base64::Engine;
use reqwest::StatusCode;
use tokio::io::AsyncWriteExt;

use crate::files::{MB, data, fetch, sha256_hex, world};
use crate::helpers::{Backend, Creds, Storage, TestApp, unique};
use crate::tus::Tus;
use crate::{db_test, storage_test};

/// Starts a PATCH of `declared` bytes at `offset` on `base` and sends only `sent` of them, leaving the request
/// open (a client in the middle of a long body). The socket is returned so that the caller can go on or drop it.
async fn start_patch(
    base: &str,
    url_path: &str,
    who: &Creds,
    offset: usize,
    declared: usize,
    sent: &[u8],
) -> tokio::net::TcpStream {
    let addr = base.trim_start_matches("http://");
    let mut sock = tokio::net::TcpStream::connect(addr).await.unwrap();
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{}/token:{}", who.email, who.token));
    let head = format!(
        "PATCH {url_path} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: {offset}\r\nContent-Type: application/offset+octet-stream\r\nContent-Length: {declared}\r\n\r\n"
    );
    sock.write_all(head.as_bytes()).await.unwrap();
    sock.write_all(sent).await.unwrap();
    sock.flush().await.unwrap();
    sock
}

/// PATCHes `chunk` at `offset`, retrying while the upload is busy (a crashed writer's lease runs out in 10 s).
/// A busy answer comes before the body is read, so sending the rest of a large body may fail: that is retried too.
async fn patch_when_free(tus: &Tus<'_>, url: &str, offset: usize, chunk: &[u8]) -> reqwest::Response {
    for _ in 0..60 {
        let sent = tus
            .rb(reqwest::Method::PATCH, url)
            .header("upload-offset", offset.to_string())
            .header("content-type", "application/offset+octet-stream")
            .body(chunk.to_vec())
            .send()
            .await;
        match sent {
            Ok(r) if r.status() != StatusCode::LOCKED => return r,
            _ => tokio::time::sleep(std::time::Duration::from_millis(500)).await,
        }
    }
    panic!("the upload stayed busy");
}

/// The upload's file as attached to the ticket: its bytes' sha256.
async fn attached_sha256(app: &TestApp, who: &Creds, ticket: i64) -> String {
    let (_, v) = app.get(&format!("/api/v2/requests/{ticket}/comments"), who).await;
    let last = v["comments"].as_array().unwrap().last().unwrap().clone();
    let url = last["attachments"][0]["content_url"].as_str().unwrap().to_owned();
    let r = fetch(app, who, &url, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    sha256_hex(&r.bytes().await.unwrap())
}

storage_test!(
    a_killed_server_keeps_what_a_long_patch_had_received,
    |app: TestApp| async move {
        let w = world(&app).await;
        let tus = Tus {
            app: &app,
            who: &w.partner,
        };
        let file = data(40 * MB + 5, 9);
        let r = tus.create("disk.img", w.ticket, file.len()).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let url = r.headers()["location"].to_str().unwrap().to_owned();
        let path = url.trim_start_matches(&app.base).to_owned();

        // The whole file in one request, as tus-js-client sends it by default; the server dies after 30 MiB.
        let mut server = app.spawn_process().await;
        let sent = 30 * MB;
        let _sock = start_patch(&server.base, &path, &w.partner, 0, file.len(), &file[..sent]).await;
        // Progress is recorded while the body streams in (every 8 MiB), not only when it ends.
        let mut seen = 0;
        for _ in 0..300 {
            seen = tus.offset(&url).await.1.unwrap_or(0);
            if seen >= 24 * MB {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(
            seen >= 24 * MB,
            "only {seen} bytes recorded while the request was still sending"
        );
        server.kill();

        // At most one checkpoint (8 MiB) is lost; the rest resumes on another instance, and the file is whole.
        let (s, resumed) = tus.offset(&url).await;
        assert_eq!(s, StatusCode::OK);
        let resumed = resumed.unwrap();
        assert!(resumed + 8 * MB >= sent && resumed <= sent, "resumed at {resumed}");
        let r = patch_when_free(&tus, &url, resumed, &file[resumed..]).await;
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        assert_eq!(tus.offset(&url).await.1, Some(file.len()));
        assert_eq!(attached_sha256(&app, &w.partner, w.ticket).await, sha256_hex(&file));
    }
);

/// Two instances on one database and one S3-compatible store (`s3_test!`): runs on each database.
macro_rules! s3_test {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;

            async fn run(backend: Backend) {
                if let Some(app) = TestApp::spawn_with(backend, Storage::S3).await {
                    ($body)(app.clone()).await;
                    app.cleanup().await;
                }
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run(Backend::Sqlite).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                run(Backend::Postgres).await
            }
        }
    };
}

s3_test!(
    only_one_instance_writes_an_upload_at_a_time,
    |app: TestApp| async move {
        let w = world(&app).await;
        let tus = Tus {
            app: &app,
            who: &w.partner,
        };
        let dir = std::env::temp_dir().join(unique("partnerdesk-other"));
        let (other, running) = app.another_instance(&dir).await.unwrap();
        let file = data(12 * MB, 4);
        let r = tus.create("trace.bin", w.ticket, file.len()).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let url = r.headers()["location"].to_str().unwrap().to_owned();
        let path = url.trim_start_matches(&app.base).to_owned();

        // A PATCH is under way on this instance; the other instance must not write the same upload meanwhile.
        let first = 9 * MB;
        let mut sock = start_patch(&app.base, &path, &w.partner, 0, first, &file[..MB]).await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let elsewhere = Tus {
            app: &app,
            who: &w.partner,
        };
        let r = elsewhere
            .patch(&format!("{other}{path}"), 0, &file[..2 * MB], None)
            .await;
        assert_eq!(
            r.status(),
            StatusCode::LOCKED,
            "a second writer on another instance was let in"
        );
        sock.write_all(&file[MB..first]).await.unwrap();
        sock.flush().await.unwrap();
        let mut recorded = 0;
        for _ in 0..100 {
            recorded = tus.offset(&url).await.1.unwrap_or(0);
            if recorded == first {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(recorded, first);
        drop(sock);

        // Once the first request is done, the other instance carries on, and the file is whole.
        let r = patch_when_free(&elsewhere, &format!("{other}{path}"), first, &file[first..]).await;
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        assert_eq!(attached_sha256(&app, &w.partner, w.ticket).await, sha256_hex(&file));
        running.stop().await.unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
);

db_test!(
    an_instance_with_other_local_storage_is_refused,
    |app: TestApp| async move {
        let dir = std::env::temp_dir().join(unique("partnerdesk-other"));
        let refused = app.another_instance(&dir).await;
        let e = format!("{:#}", refused.err().expect("a second local store was accepted"));
        assert!(
            e.contains("another local file store") && e.contains("S3-compatible storage"),
            "{e}"
        );
        // The same data directory (a restart) is the same store.
        app.restart().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
);

db_test!(missing_staged_bytes_are_never_zero_filled, |app: TestApp| async move {
    let w = world(&app).await;
    let tus = Tus {
        app: &app,
        who: &w.partner,
    };
    let file = data(3 * MB, 6);
    let r = tus.create("lost.bin", w.ticket, file.len()).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let url = r.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(
        tus.patch(&url, 0, &file[..MB], None).await.status(),
        StatusCode::NO_CONTENT
    );

    // The bytes received so far are not on this machine (begun elsewhere, or the staging file was removed).
    let id = url.rsplit('/').next().unwrap();
    std::fs::remove_file(app.config.data_dir.join("staging").join(id)).unwrap();
    assert_eq!(tus.offset(&url).await.0, StatusCode::GONE);
    let r = tus.patch(&url, MB, &file[MB..], None).await;
    assert_eq!(r.status(), StatusCode::GONE);
    assert!(r.text().await.unwrap().contains("start the upload again"));
    assert_eq!(app.count("attachments").await, 0);
});
