//! The tus large-file uploader and the `partnerdesk upload` CLI, on local disk and on a real S3-compatible server,
//! on both databases.

use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::json;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::files::{MB, data, fetch, sha256_hex, world};
use crate::helpers::{Creds, TestApp};
use crate::storage_test;

pub(crate) struct Tus<'a> {
    pub(crate) app: &'a TestApp,
    pub(crate) who: &'a Creds,
}

impl Tus<'_> {
    pub(crate) fn rb(&self, method: Method, url: &str) -> reqwest::RequestBuilder {
        self.app
            .client
            .request(method, url)
            .basic_auth(format!("{}/token", self.who.email), Some(&self.who.token))
            .header("tus-resumable", "1.0.0")
    }

    pub(crate) async fn create(&self, name: &str, ticket: i64, length: usize) -> reqwest::Response {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let meta = format!("filename {},ticket_id {}", b64(name), b64(&ticket.to_string()));
        self.rb(Method::POST, &format!("{}/api/v2/large_uploads/", self.app.base))
            .header("upload-length", length.to_string())
            .header("upload-metadata", meta)
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn patch(
        &self,
        url: &str,
        offset: usize,
        chunk: &[u8],
        checksum: Option<String>,
    ) -> reqwest::Response {
        let mut rb = self
            .rb(Method::PATCH, url)
            .header("upload-offset", offset.to_string())
            .header("content-type", "application/offset+octet-stream");
        if let Some(c) = checksum {
            rb = rb.header("upload-checksum", c);
        }
        rb.body(chunk.to_vec()).send().await.unwrap()
    }

    pub(crate) async fn offset(&self, url: &str) -> (StatusCode, Option<usize>) {
        let r = self.rb(Method::HEAD, url).send().await.unwrap();
        (
            r.status(),
            r.headers()
                .get("upload-offset")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok()),
        )
    }
}

fn sha1_b64(b: &[u8]) -> String {
    format!(
        "sha1 {}",
        base64::engine::general_purpose::STANDARD.encode(Sha1::digest(b))
    )
}

storage_test!(
    tus_upload_resumes_and_becomes_an_attachment,
    |app: TestApp| async move {
        let w = world(&app).await;
        let tus = Tus {
            app: &app,
            who: &w.partner,
        };
        let r = tus
            .rb(Method::OPTIONS, &format!("{}/api/v2/large_uploads/", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        assert_eq!(r.headers()["tus-version"], "1.0.0");
        for ext in [
            "creation",
            "creation-with-upload",
            "termination",
            "checksum",
            "expiration",
        ] {
            assert!(
                r.headers()["tus-extension"]
                    .to_str()
                    .unwrap()
                    .split(',')
                    .any(|e| e == ext),
                "{ext}"
            );
        }
        assert!(r.headers()["tus-checksum-algorithm"].to_str().unwrap().contains("sha1"));

        let file = data(12 * MB + 123, 5);
        let r = tus.create("dump.sql", w.ticket, file.len()).await;
        assert_eq!(r.status(), StatusCode::CREATED);
        assert!(r.headers().contains_key("upload-expires"));
        let url = r.headers()["location"].to_str().unwrap().to_owned();
        assert_eq!(tus.offset(&url).await, (StatusCode::OK, Some(0)));
        // HEAD answers the metadata as sent, and wants the protocol version like every other request.
        let head = tus.rb(Method::HEAD, &url).send().await.unwrap();
        let meta = head.headers()["upload-metadata"].to_str().unwrap().to_owned();
        assert!(meta.starts_with("filename ") && meta.contains(",ticket_id "), "{meta}");
        let bare = app
            .client
            .head(&url)
            .bearer_auth(&w.partner.token)
            .send()
            .await
            .unwrap();
        assert_eq!(bare.status(), StatusCode::PRECONDITION_FAILED);

        let a = 5 * MB;
        let r = tus.patch(&url, 0, &file[..a], Some(sha1_b64(&file[..a]))).await;
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        assert_eq!(r.headers()["upload-offset"].to_str().unwrap(), a.to_string());
        // Wrong offset: 409, nothing changes. Bad checksum: 460, the chunk does not count.
        assert_eq!(
            tus.patch(&url, 0, &file[..10], None).await.status(),
            StatusCode::CONFLICT
        );
        let r = tus
            .patch(&url, a, &file[a..a + 1000], Some(sha1_b64(b"something else")))
            .await;
        assert_eq!(r.status().as_u16(), 460);
        assert_eq!(tus.offset(&url).await.1, Some(a));

        // The connection is cut mid-chunk: what arrived is kept, and the upload resumes from there.
        let addr = app.base.trim_start_matches("http://").to_owned();
        {
            use tokio::io::AsyncWriteExt;
            let mut sock = tokio::net::TcpStream::connect(&addr).await.unwrap();
            let path = url.trim_start_matches(&app.base);
            let auth = base64::engine::general_purpose::STANDARD
                .encode(format!("{}/token:{}", w.partner.email, w.partner.token));
            let head = format!(
                "PATCH {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: {a}\r\nContent-Type: application/offset+octet-stream\r\nContent-Length: {}\r\n\r\n",
                4 * MB
            );
            sock.write_all(head.as_bytes()).await.unwrap();
            sock.write_all(&file[a..a + MB + 7]).await.unwrap();
            sock.flush().await.unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        let mut resumed = None;
        for _ in 0..50 {
            let (s, off) = tus.offset(&url).await;
            assert_eq!(s, StatusCode::OK);
            if off != Some(a) {
                resumed = off;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let b = resumed.expect("the interrupted chunk was recorded");
        assert_eq!(b, a + MB + 7);

        // A restart in between: the upload's state is in the database. With object storage the upload continues
        // as it would on another instance: without this instance's staging files.
        app.restart().await;
        if app.config.blob_s3.is_some() {
            for entry in std::fs::read_dir(app.config.data_dir.join("staging")).unwrap() {
                std::fs::remove_file(entry.unwrap().path()).unwrap();
            }
        }
        assert_eq!(tus.offset(&url).await, (StatusCode::OK, Some(b)));
        let c = b + 4 * MB;
        assert_eq!(
            tus.patch(&url, b, &file[b..c], None).await.status(),
            StatusCode::NO_CONTENT
        );
        let sha256 = format!(
            "sha256 {}",
            base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&file[c..]))
        );
        let r = tus.patch(&url, c, &file[c..], Some(sha256)).await;
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
        assert_eq!(r.headers()["upload-offset"].to_str().unwrap(), file.len().to_string());
        assert!(!r.headers().contains_key("upload-expires"));
        assert_eq!(tus.offset(&url).await.1, Some(file.len()));
        assert_eq!(
            tus.patch(&url, file.len(), b"more", None).await.status(),
            StatusCode::CONFLICT
        );

        // It is now an attachment of the ticket, announced in the conversation, with the right bytes and sha256.
        let (_, v) = app
            .get(&format!("/api/v2/requests/{}/comments", w.ticket), &w.partner)
            .await;
        let last = v["comments"].as_array().unwrap().last().unwrap().clone();
        assert!(last["body"].as_str().unwrap().contains("dump.sql (12.0 MB)"), "{last}");
        let att = &last["attachments"][0];
        assert_eq!(att["sha256"].as_str(), Some(sha256_hex(&file).as_str()));
        assert_eq!(att["size"].as_u64(), Some(file.len() as u64));
        let got = fetch(&app, &w.agent, att["content_url"].as_str().unwrap(), None)
            .await
            .bytes()
            .await
            .unwrap();
        assert_eq!(sha256_hex(&got), sha256_hex(&file));
        let _ = (&w.admin, &w.stranger);
    }
);

storage_test!(tus_bad_input, |app: TestApp| async move {
    let w = world(&app).await;
    let tus = Tus {
        app: &app,
        who: &w.partner,
    };
    let base = format!("{}/api/v2/large_uploads", app.base);
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let create = |length: &str, meta: String| {
        tus.rb(Method::POST, &base)
            .header("upload-length", length.to_owned())
            .header("upload-metadata", meta)
    };
    let ok_meta = format!("filename {},ticket_id {}", b64("a.bin"), b64(&w.ticket.to_string()));
    // Protocol version, lengths, metadata.
    let r = app
        .client
        .post(&base)
        .bearer_auth(&w.partner.token)
        .header("upload-length", "10")
        .header("upload-metadata", ok_meta.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(
        tus.rb(Method::POST, &base)
            .header("upload-metadata", ok_meta.clone())
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        create("ten", ok_meta.clone()).send().await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        create("200000000000000", ok_meta.clone())
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_eq!(
        create("10", format!("ticket_id {}", b64(&w.ticket.to_string())))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        create("10", "filename !!!".into()).send().await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    let traversal = format!(
        "filename {},ticket_id {}",
        b64("../../etc/passwd"),
        b64(&w.ticket.to_string())
    );
    assert_eq!(
        create("10", traversal).send().await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
    // Another organization's ticket: not found, and nothing recorded.
    let before = app.count("large_uploads").await;
    let stranger = Tus {
        app: &app,
        who: &w.stranger,
    };
    assert_eq!(
        stranger.create("x.bin", w.ticket, 10).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.count("large_uploads").await, before);
    // No credentials.
    assert_eq!(
        app.client
            .post(&base)
            .header("tus-resumable", "1.0.0")
            .header("upload-length", "10")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );

    let r = tus.create("a.bin", w.ticket, 10).await;
    let url = r.headers()["location"].to_str().unwrap().to_owned();
    // Another organization's partner cannot see or write it.
    assert_eq!(stranger.offset(&url).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        stranger.patch(&url, 0, b"x", None).await.status(),
        StatusCode::NOT_FOUND
    );
    // Wrong content type, missing offset, bad checksum syntax and algorithm.
    let r = tus
        .rb(Method::PATCH, &url)
        .header("upload-offset", "0")
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let r = tus
        .rb(Method::PATCH, &url)
        .header("content-type", "application/offset+octet-stream")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        tus.patch(&url, 0, b"x", Some("md5 AAAA".into())).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        tus.patch(&url, 0, b"x", Some("sha1".into())).await.status(),
        StatusCode::BAD_REQUEST
    );
    // More than Upload-Length: 413, and the offset does not move.
    assert_eq!(
        tus.patch(&url, 0, &[7u8; 20], None).await.status(),
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_eq!(tus.offset(&url).await.1, Some(0));
    // Unknown and malformed upload ids.
    assert_eq!(
        tus.offset(&format!("{base}/nosuchupload")).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        tus.offset(&format!("{base}/..%2F..%2Fetc")).await.0,
        StatusCode::NOT_FOUND
    );
    // Expired: 410.
    let id = url.rsplit('/').next().unwrap().to_owned();
    let past = partnerdesk_db::now() - chrono::Duration::hours(1);
    app.db
        .conn()
        .execute(
            "UPDATE large_uploads SET expires_at = ? WHERE id = ?",
            &partnerdesk_db::args![past, id.as_str()],
        )
        .await
        .unwrap();
    assert_eq!(tus.offset(&url).await.0, StatusCode::GONE);
    assert_eq!(tus.patch(&url, 0, b"x", None).await.status(), StatusCode::GONE);
    // The janitor removes it.
    let state = partnerdesk_web::AppState::new(
        app.db.clone(),
        partnerdesk::app::open_blobs(&app.config).unwrap(),
        partnerdesk::app::settings(&app.config),
        partnerdesk::app::sealer(&app.config).unwrap(),
    );
    let (_, large) = partnerdesk_app::janitor::purge_expired(&state).await.unwrap();
    assert_eq!(large, 1);
    assert_eq!(tus.offset(&url).await.0, StatusCode::NOT_FOUND);
    // Termination.
    let r = tus.create("b.bin", w.ticket, 100).await;
    let url = r.headers()["location"].to_str().unwrap().to_owned();
    tus.patch(&url, 0, &[1u8; 40], None).await;
    assert_eq!(
        tus.rb(Method::DELETE, &url).send().await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(tus.offset(&url).await.0, StatusCode::NOT_FOUND);
    let _ = (&w.admin, &w.agent);
});

/// `partnerdesk upload`: the partners' CLI uploads a file to a ticket, and resumes an upload it started before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_cli_uploads_and_resumes() {
    let Some(app) = TestApp::spawn(crate::helpers::Backend::Sqlite).await else {
        return;
    };
    let w = world(&app).await;
    let dir = app.config.data_dir.join("cli");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("core.dump");
    let bytes = data(3 * MB + 5, 9);
    std::fs::write(&file, &bytes).unwrap();
    let state_file = dir.join("uploads.json");
    // An upload of this file was started earlier (1 MiB sent) and remembered in the state file.
    let tus = Tus {
        app: &app,
        who: &w.partner,
    };
    let url = tus.create("core.dump", w.ticket, bytes.len()).await.headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        tus.patch(&url, 0, &bytes[..MB], None).await.status(),
        StatusCode::NO_CONTENT
    );
    let meta = std::fs::metadata(&file).unwrap();
    let mtime = meta
        .modified()
        .unwrap()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let key = format!(
        "{}|{}|{mtime}|{}|{}/api/v2/large_uploads/",
        std::fs::canonicalize(&file).unwrap().display(),
        bytes.len(),
        w.ticket,
        app.base
    );
    std::fs::write(&state_file, serde_json::to_string(&json!({ key: url })).unwrap()).unwrap();

    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_partnerdesk"))
        .args([
            "upload",
            "--quiet",
            "--url",
            &app.base,
            "--token",
            &w.partner.token,
            "--ticket",
            &w.ticket.to_string(),
            "--chunk-mib",
            "1",
        ])
        .arg("--state-file")
        .arg(&state_file)
        .arg(&file)
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("core.dump: uploaded"));
    // It finished the upload it had started (one upload, not two), with the right bytes.
    assert_eq!(app.count("large_uploads").await, 1);
    let (_, v) = app
        .get(&format!("/api/v2/requests/{}/comments", w.ticket), &w.partner)
        .await;
    let att = v["comments"].as_array().unwrap().last().unwrap()["attachments"][0].clone();
    assert_eq!(att["sha256"].as_str(), Some(sha256_hex(&bytes).as_str()));
    // A wrong token is a clear error and a failing exit code.
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_partnerdesk"))
        .args([
            "upload",
            "--quiet",
            "--url",
            &app.base,
            "--token",
            "wrong",
            "--ticket",
            &w.ticket.to_string(),
        ])
        .arg("--state-file")
        .arg(dir.join("other.json"))
        .arg(&file)
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("refused the upload: 401"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = (&w.admin, &w.agent, &w.stranger);
    app.cleanup().await;
}

storage_test!(
    a_complete_upload_whose_filing_failed_is_filed_again,
    |app: TestApp| async move {
        let w = world(&app).await;
        let tus = Tus {
            app: &app,
            who: &w.partner,
        };
        let file = data(2 * MB + 3, 11);
        let url = tus.create("late.bin", w.ticket, file.len()).await.headers()["location"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(tus.patch(&url, 0, &file, None).await.status(), StatusCode::NO_CONTENT);
        // As if making it an attachment had failed after the last byte: no attachment, not completed.
        let id = url.rsplit('/').next().unwrap().to_owned();
        app.db
            .conn()
            .execute(
                "UPDATE large_uploads SET completed_at = NULL, attachment_id = NULL WHERE id = ?",
                &partnerdesk_db::args![id.as_str()],
            )
            .await
            .unwrap();
        app.db.conn().execute("DELETE FROM attachments", &[]).await.unwrap();
        // The client asks where it stands: the upload is filed now, with the right bytes, and nothing is re-staged.
        assert_eq!(tus.offset(&url).await, (StatusCode::OK, Some(file.len())));
        assert_eq!(app.count("attachments").await, 1);
        let (_, v) = app
            .get(&format!("/api/v2/requests/{}/comments", w.ticket), &w.partner)
            .await;
        let att = v["comments"].as_array().unwrap().last().unwrap()["attachments"][0].clone();
        assert_eq!(att["sha256"].as_str(), Some(sha256_hex(&file).as_str()));
        let got = fetch(&app, &w.partner, att["content_url"].as_str().unwrap(), None)
            .await
            .bytes()
            .await
            .unwrap();
        assert_eq!(sha256_hex(&got), sha256_hex(&file));
        let _ = (&w.admin, &w.agent, &w.stranger);
    }
);
