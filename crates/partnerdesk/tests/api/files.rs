//! Files: ticket attachments (Zendesk's uploads API), on local disk and on a real S3-compatible server, on both
//! databases. The tus large-file uploader is in `tus.rs`, which shares this module's helpers.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{Creds, TestApp};
use crate::{db_test, storage_test};

pub(crate) const MB: usize = 1024 * 1024;

/// Deterministic, incompressible-looking bytes.
pub(crate) fn data(len: usize, seed: u8) -> Vec<u8> {
    let mut x: u32 = 2463534242 ^ seed as u32;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

pub(crate) fn sha256_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// The people and the ticket the file tests (here and in `tus.rs`) start from.
pub(crate) struct Files {
    pub(crate) admin: Creds,
    pub(crate) agent: Creds,
    pub(crate) partner: Creds,
    pub(crate) stranger: Creds,
    pub(crate) ticket: i64,
}

pub(crate) async fn world(app: &TestApp) -> Files {
    let admin = app.admin().await;
    let agent = app.user("agent@vendor.test", "agent", None).await;
    let org = app.org(&admin, "Files Co", true).await;
    let other = app.org(&admin, "Other Files Co", true).await;
    let partner = app.user("pat@files.example", "end-user", Some(org)).await;
    let stranger = app.user("sid@other.example", "end-user", Some(other)).await;
    let (s, v) = app
        .post(
            "/api/v2/requests",
            &partner,
            json!({"request": {"subject": "Core dump", "comment": {"body": "Crash"}}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    Files {
        admin,
        agent,
        partner,
        stranger,
        ticket: v["request"]["id"].as_i64().unwrap(),
    }
}

async fn upload(app: &TestApp, who: &Creds, query: &str, body: Vec<u8>) -> (StatusCode, Value) {
    app.send(
        app.request(Method::POST, &format!("/api/v2/uploads.json?{query}"), Some(who))
            .header("content-type", "application/binary")
            .body(body),
    )
    .await
}

pub(crate) async fn fetch(app: &TestApp, who: &Creds, url: &str, range: Option<&str>) -> reqwest::Response {
    let mut rb = app
        .client
        .get(url)
        .basic_auth(format!("{}/token", who.email), Some(&who.token));
    if let Some(r) = range {
        rb = rb.header("range", r);
    }
    rb.send().await.unwrap()
}

storage_test!(attachments_round_trip, |app: TestApp| async move {
    let w = world(&app).await;
    let first = data(3 * MB + 17, 1);
    let (s, v) = upload(&app, &w.partner, "filename=logs/app.log", first.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let token = v["upload"]["token"].as_str().unwrap().to_owned();
    assert_eq!(v["upload"]["attachment"]["file_name"], "app.log");
    assert_eq!(v["upload"]["attachment"]["size"].as_u64(), Some(first.len() as u64));
    assert_eq!(
        v["upload"]["attachment"]["sha256"].as_str(),
        Some(sha256_hex(&first).as_str())
    );
    assert_eq!(v["upload"]["attachment"]["content_type"], "text/plain");

    // A second file under the same token, as multipart.
    let second = data(100_000, 2);
    let form = reqwest::multipart::Form::new().part(
        "uploaded_data",
        reqwest::multipart::Part::bytes(second.clone()).file_name("trace é.bin"),
    );
    let rb = app
        .request(
            Method::POST,
            &format!("/api/v2/uploads?token={token}"),
            Some(&w.partner),
        )
        .multipart(form);
    let (s, v) = app.send(rb).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["upload"]["attachments"].as_array().map(Vec::len), Some(2));

    // The token goes into a comment; the files are then on the ticket.
    let body = json!({"request": {"comment": {"body": "Logs attached", "uploads": [token]}}});
    let (s, v) = app
        .put(&format!("/api/v2/requests/{}", w.ticket), &w.partner, body)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, v) = app
        .get(&format!("/api/v2/tickets/{}/comments", w.ticket), &w.agent)
        .await;
    let files = v["comments"][1]["attachments"].as_array().unwrap().clone();
    assert_eq!(files.len(), 2, "{v}");
    let url = files[0]["content_url"].as_str().unwrap().to_owned();

    // Download: whole, a range, with safe headers; the agent too; another organization's partner never.
    let resp = fetch(&app, &w.partner, &url, None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"app.log\"")
    );
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    assert_eq!(resp.bytes().await.unwrap().as_ref(), first.as_slice());
    let resp = fetch(&app, &w.agent, &url, Some("bytes=10-19")).await;
    assert_eq!(resp.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        resp.headers()["content-range"].to_str().unwrap(),
        format!("bytes 10-19/{}", first.len())
    );
    assert_eq!(resp.bytes().await.unwrap().as_ref(), &first[10..20]);
    assert_eq!(
        fetch(&app, &w.agent, &url, Some("bytes=99999999-")).await.status(),
        StatusCode::RANGE_NOT_SATISFIABLE
    );
    assert_eq!(
        fetch(&app, &w.stranger, &url, None).await.status(),
        StatusCode::NOT_FOUND
    );
    let id = files[0]["id"].as_i64().unwrap();
    assert_eq!(
        app.get(&format!("/api/v2/attachments/{id}"), &w.stranger).await.0,
        StatusCode::NOT_FOUND
    );
    let (s, v) = app.get(&format!("/api/v2/attachments/{id}.json"), &w.partner).await;
    assert_eq!(
        (s, v["attachment"]["file_name"].as_str()),
        (StatusCode::OK, Some("app.log"))
    );

    // A file on an internal note is for staff only.
    let (_, v) = upload(&app, &w.agent, "filename=internal.txt", b"internal analysis".to_vec()).await;
    let internal_token = v["upload"]["token"].as_str().unwrap().to_owned();
    let internal_id = v["upload"]["attachment"]["id"].as_i64().unwrap();
    let body = json!({"ticket": {"comment": {"body": "analysis", "public": false, "uploads": [internal_token]}}});
    assert_eq!(
        app.put(&format!("/api/v2/tickets/{}", w.ticket), &w.agent, body)
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        app.get(&format!("/api/v2/attachments/{internal_id}"), &w.partner)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&format!("/api/v2/attachments/{internal_id}"), &w.agent).await.0,
        StatusCode::OK
    );

    // Someone else's or an unknown token cannot be used.
    let (_, v) = upload(&app, &w.agent, "filename=a.txt", b"a".to_vec()).await;
    let agents_token = v["upload"]["token"].as_str().unwrap().to_owned();
    for t in [agents_token.as_str(), "no-such-token"] {
        let body = json!({"request": {"comment": {"body": "x", "uploads": [t]}}});
        let (s, v) = app
            .put(&format!("/api/v2/requests/{}", w.ticket), &w.partner, body)
            .await;
        assert_eq!(
            (s, v["details"]["uploads"].is_array()),
            (StatusCode::UNPROCESSABLE_ENTITY, true),
            "{v}"
        );
    }
    let _ = &w.admin;
});

storage_test!(attachment_limits_and_names, |app: TestApp| async move {
    let w = world(&app).await;
    let before = app.count("attachments").await;
    // Over 20 MB by its declared length: refused before any of the body is read.
    let (status, body) = app
        .raw_http(&format!(
            "POST /api/v2/uploads.json?filename=huge.bin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: application/binary\r\nContent-Length: {}\r\n\r\n",
            w.partner.token,
            20 * MB + 1
        ))
        .await;
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("large-file uploader"), "{body}");
    // Over 20 MB without a declared length: stopped by the count, nothing kept.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        data(20 * MB + 1, 3).chunks(MB).map(|c| Ok(c.to_vec())).collect();
    let stream = futures::stream::iter(chunks);
    let rb = app
        .request(Method::POST, "/api/v2/uploads?filename=huge.bin", Some(&w.partner))
        .body(reqwest::Body::wrap_stream(stream));
    if let Ok(resp) = rb.send().await {
        assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
    // Exactly 20 MB is fine.
    let (s, v) = upload(&app, &w.partner, "filename=exact.bin", data(20 * MB, 4)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(app.count("attachments").await, before + 1);
    // Names that climb out of a directory or name nothing are refused.
    for name in ["..%2F..%2Fetc%2Fpasswd", "%2E%2E", ""] {
        let (s, v) = upload(&app, &w.partner, &format!("filename={name}"), b"x".to_vec()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{name}: {v}");
    }
    let (s, _) = upload(&app, &w.partner, "", b"x".to_vec()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.count("attachments").await, before + 1);
    let _ = (&w.admin, &w.agent, &w.stranger, w.ticket);
});

storage_test!(expired_upload_tokens_are_removed, |app: TestApp| async move {
    let w = world(&app).await;
    let (_, v) = upload(&app, &w.partner, "filename=old.txt", b"old".to_vec()).await;
    let token = v["upload"]["token"].as_str().unwrap().to_owned();
    let past = partnerdesk_db::now() - chrono::Duration::hours(1);
    app.db
        .conn()
        .execute(
            "UPDATE uploads SET expires_at = ? WHERE token = ?",
            &partnerdesk_db::args![past, token.as_str()],
        )
        .await
        .unwrap();
    let body = json!({"request": {"comment": {"body": "late", "uploads": [token]}}});
    assert_eq!(
        app.put(&format!("/api/v2/requests/{}", w.ticket), &w.partner, body)
            .await
            .0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let state = partnerdesk_web::AppState::new(
        app.db.clone(),
        partnerdesk::app::open_blobs(&app.config).unwrap(),
        partnerdesk::app::settings(&app.config),
        partnerdesk::app::sealer(&app.config).unwrap(),
    );
    let (uploads, _) = partnerdesk_app::janitor::purge_expired(&state).await.unwrap();
    assert_eq!(uploads, 1);
    assert_eq!(app.count("attachments").await, 0);
    let _ = (&w.admin, &w.agent, &w.stranger);
});

/// Files under the local store's attachments directory.
fn stored_files(app: &TestApp) -> usize {
    fn walk(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir).map_or(0, |entries| {
            entries
                .flatten()
                .map(|e| if e.path().is_dir() { walk(&e.path()) } else { 1 })
                .sum()
        })
    }
    walk(&app.config.data_dir.join("files").join("attachments"))
}

db_test!(
    a_malformed_part_after_the_file_keeps_nothing,
    |app: TestApp| async move {
        let w = world(&app).await;
        let post = |body: Vec<u8>| {
            app.request(Method::POST, "/api/v2/uploads", Some(&w.partner))
                .header("content-type", "multipart/form-data; boundary=XyZ")
                .body(body)
        };
        let part = |name: &str, file: Option<&str>, value: &str| {
            let file = file.map(|f| format!("; filename=\"{f}\"")).unwrap_or_default();
            format!("--XyZ\r\nContent-Disposition: form-data; name=\"{name}\"{file}\r\n\r\n{value}\r\n")
        };
        let (uploads, attachments, files) = (
            app.count("uploads").await,
            app.count("attachments").await,
            stored_files(&app),
        );
        // The file comes first; a later part's name holds a control character, which no header may.
        let body = [
            part("note", None, "before"),
            part("file", Some("a.log"), "the bytes"),
            part("x\u{1d}y", None, "{}"),
        ]
        .concat()
            + "--XyZ--\r\n";
        let (s, v) = app.send(post(body.into_bytes())).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        assert!(
            v["description"].as_str().is_some_and(|d| d.contains("multipart")),
            "{v}"
        );
        assert_eq!(app.count("uploads").await, uploads);
        assert_eq!(app.count("attachments").await, attachments);
        assert_eq!(stored_files(&app), files, "the staged bytes are deleted");
        // A body cut off after the file keeps nothing either.
        let body = [
            part("file", Some("a.log"), "the bytes"),
            "--XyZ\r\nContent-Disposition: form-data; name=\"later\"\r\n\r\nunfinished".to_owned(),
        ]
        .concat();
        let (s, v) = app.send(post(body.into_bytes())).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        assert_eq!(app.count("attachments").await, attachments);
        assert_eq!(stored_files(&app), files);
        // Well-formed parts after the file are read and left unkept; the file is recorded once.
        let body = [
            part("file", Some("a.log"), "the bytes"),
            part("other", Some("b.log"), "more"),
            part("n", None, "v"),
        ]
        .concat()
            + "--XyZ--\r\n";
        let (s, v) = app.send(post(body.into_bytes())).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert_eq!(v["upload"]["attachments"].as_array().map(Vec::len), Some(1), "{v}");
        assert_eq!(v["upload"]["attachment"]["file_name"], "a.log");
        assert_eq!(app.count("attachments").await, attachments + 1);
        assert_eq!(stored_files(&app), files + 1);
    }
);

db_test!(parts_beside_the_file_are_bounded, |app: TestApp| async move {
    let w = world(&app).await;
    let attachments = app.count("attachments").await;
    let big = "x".repeat(40 * 1024);
    let part = |name: &str, file: Option<&str>, value: &str| {
        let file = file.map(|f| format!("; filename=\"{f}\"")).unwrap_or_default();
        format!("--XyZ\r\nContent-Disposition: form-data; name=\"{name}\"{file}\r\n\r\n{value}\r\n")
    };
    // Sent chunked (no Content-Length), so that only reading the parts can find them too long.
    let body = [
        part("a", None, &big),
        part("file", Some("a.log"), "bytes"),
        part("b", None, &big),
    ]
    .concat()
        + "--XyZ--\r\n";
    let stream = futures::stream::iter([Ok::<_, std::io::Error>(body.into_bytes())]);
    let rb = app
        .request(Method::POST, "/api/v2/uploads", Some(&w.partner))
        .header("content-type", "multipart/form-data; boundary=XyZ")
        .body(reqwest::Body::wrap_stream(stream));
    let (s, v) = app.send(rb).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert_eq!(app.count("attachments").await, attachments);
    assert_eq!(stored_files(&app), 0);
});
