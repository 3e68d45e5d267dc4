//! Partner buckets against a real S3-compatible server (s3s-fs): connecting (secret sealed, never shown),
//! testing, browsing 10,000+ objects page by page, unicode keys, ranges, presigned URLs, copying into a ticket,
//! precise errors, end-users locked out, every access audited.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::db_test;
use crate::helpers::{Creds, TestApp};
use crate::s3;

const MANY: usize = 10_050;

struct Partner {
    admin: Creds,
    agent: Creds,
    partner: Creds,
    org: i64,
    ticket: i64,
    endpoint: String,
    root: std::path::PathBuf,
    _server: tokio::task::JoinHandle<()>,
}

/// A partner organization with a bucket full of files (written straight into s3s-fs's directory, which is how
/// it stores objects), and a ticket.
async fn partner(app: &TestApp) -> Partner {
    let admin = app.admin().await;
    let agent = app.user("agent@vendor.test", "agent", None).await;
    let org = app.org(&admin, "Bucket Partner", true).await;
    let partner = app.user("pat@bucket.example", "end-user", Some(org)).await;
    let (_, v) = app
        .post(
            "/api/v2/requests",
            &partner,
            json!({"request": {"subject": "See our bucket", "comment": {"body": "Logs are in the bucket"}}}),
        )
        .await;
    let ticket = v["request"]["id"].as_i64().unwrap();
    let root = std::env::temp_dir().join(super::helpers::unique("pd-partner-s3"));
    let (endpoint, server) = s3::start(&root, "partner-files").await;
    let b = root.join("partner-files");
    let write = |key: &str, body: &[u8]| {
        let p = b.join(key);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    };
    write("logs/2026/11/app.log", b"line one\nline two\n");
    write("logs/2026/11/worker.log", b"worker");
    write("dumps/db.sql", &vec![b'x'; 300_000]);
    write("reports/Q3 résumé ✓.txt", "unicode and spaces".as_bytes());
    for i in 0..MANY {
        write(&format!("many/obj-{i:05}.txt"), b"m");
    }
    Partner {
        admin,
        agent,
        partner,
        org,
        ticket,
        endpoint,
        root,
        _server: server,
    }
}

async fn connect(app: &TestApp, p: &Partner, secret: &str) -> (StatusCode, Value) {
    let body = json!({"bucket_connection": {"endpoint": p.endpoint, "region": "us-east-1", "bucket": "partner-files", "path_style": true,
        "access_key_id": s3::ACCESS_KEY, "secret_access_key": secret}});
    app.put(&format!("/api/v2/organizations/{}/bucket", p.org), &p.admin, body)
        .await
}

db_test!(connect_test_and_secret_never_shown, |app: TestApp| async move {
    let p = partner(&app).await;
    let (s, v) = connect(&app, &p, s3::SECRET_KEY).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["bucket_connection"]["has_secret"], true);
    assert!(!v.to_string().contains(s3::SECRET_KEY));
    let (_, v) = app
        .get(&format!("/api/v2/organizations/{}/bucket.json", p.org), &p.agent)
        .await;
    assert_eq!(v["bucket_connection"]["bucket"], "partner-files");
    assert!(!v.to_string().contains(s3::SECRET_KEY));
    // Not in the database in clear, nor in the audit log.
    let sealed = app
        .db
        .conn()
        .fetch_one("SELECT secret_sealed FROM bucket_connections", &[])
        .await
        .unwrap()
        .text("secret_sealed")
        .unwrap();
    assert!(sealed.starts_with("v1:") && !sealed.contains(s3::SECRET_KEY));
    let rows = app
        .db
        .conn()
        .fetch_all("SELECT before_json, after_json FROM audit_log", &[])
        .await
        .unwrap();
    for r in rows {
        let text = format!(
            "{:?}{:?}",
            r.opt_text("before_json").unwrap(),
            r.opt_text("after_json").unwrap()
        );
        assert!(!text.contains(s3::SECRET_KEY), "secret in the audit log");
    }
    // Only admins connect; agents may test.
    let (s, _) = app
        .put(
            &format!("/api/v2/organizations/{}/bucket", p.org),
            &p.agent,
            json!({"bucket_connection": {"prefix": "x"}}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = app
        .post(
            &format!("/api/v2/organizations/{}/bucket/test", p.org),
            &p.agent,
            json!({}),
        )
        .await;
    assert_eq!((s, v["ok"].as_bool()), (StatusCode::OK, Some(true)), "{v}");

    // Wrong secret, unknown host, deleted bucket: each named precisely.
    let (s, _) = connect(&app, &p, "not-the-secret").await;
    assert_eq!(s, StatusCode::OK);
    let (_, v) = app
        .post(
            &format!("/api/v2/organizations/{}/bucket/test", p.org),
            &p.admin,
            json!({}),
        )
        .await;
    assert_eq!(
        (v["ok"].as_bool(), v["problem"].as_str()),
        (Some(false), Some("forbidden")),
        "{v}"
    );
    let (s, v) = app
        .get(&format!("/api/v2/organizations/{}/bucket/objects", p.org), &p.agent)
        .await;
    assert_eq!(s, StatusCode::BAD_GATEWAY, "{v}");
    assert!(v["description"].as_str().unwrap().contains("forbidden"), "{v}");
    let body = json!({"bucket_connection": {"endpoint": "http://no-such-host.invalid:9000", "secret_access_key": s3::SECRET_KEY}});
    app.put(&format!("/api/v2/organizations/{}/bucket", p.org), &p.admin, body)
        .await;
    let (_, v) = app
        .post(
            &format!("/api/v2/organizations/{}/bucket/test", p.org),
            &p.admin,
            json!({}),
        )
        .await;
    assert_eq!(v["problem"].as_str(), Some("dns"), "{v}");
    connect(&app, &p, s3::SECRET_KEY).await;
    std::fs::rename(p.root.join("partner-files"), p.root.join("gone")).unwrap();
    let (_, v) = app
        .post(
            &format!("/api/v2/organizations/{}/bucket/test", p.org),
            &p.admin,
            json!({}),
        )
        .await;
    assert_eq!(v["problem"].as_str(), Some("no_such_bucket"), "{v}");
    std::fs::rename(p.root.join("gone"), p.root.join("partner-files")).unwrap();

    // Bad settings: 422 per field.
    let body = json!({"bucket_connection": {"endpoint": "ftp://x", "bucket": "A", "prefix": "../up", "download_mode": "fax", "presign_ttl_secs": 0}});
    let (s, v) = app
        .put(&format!("/api/v2/organizations/{}/bucket", p.org), &p.admin, body)
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    for f in ["endpoint", "bucket", "prefix", "download_mode", "presign_ttl_secs"] {
        assert!(v["details"][f].is_array(), "{f}: {v}");
    }
    let _ = std::fs::remove_dir_all(&p.root);
    let _ = (&p.partner, p.ticket);
});

db_test!(browse_download_copy_and_audit, |app: TestApp| async move {
    let p = partner(&app).await;
    connect(&app, &p, s3::SECRET_KEY).await;
    let base = format!("/api/v2/organizations/{}/bucket", p.org);
    // Folders at the top.
    let (s, v) = app.get(&format!("{base}/objects"), &p.agent).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["prefixes"], json!(["dumps/", "logs/", "many/", "reports/"]));
    let (_, v) = app.get(&format!("{base}/objects?prefix=logs/2026/11/"), &p.agent).await;
    let names: Vec<&str> = v["objects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["logs/2026/11/app.log", "logs/2026/11/worker.log"]);
    assert_eq!(v["objects"][0]["size"], 18);
    let (_, v) = app
        .get(&format!("{base}/objects?prefix=logs/2026/11/&sort=-size"), &p.agent)
        .await;
    assert_eq!(v["objects"][0]["name"], "logs/2026/11/app.log");

    // 10,000+ objects, page by page until links.next is null.
    let mut url = format!("{}{base}/objects?prefix=many/&page[size]=1000", app.base);
    let (mut seen, mut pages) = (0, 0);
    loop {
        let (s, v) = app.send(app.client.get(&url).bearer_auth(&p.agent.token)).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        seen += v["objects"].as_array().unwrap().len();
        pages += 1;
        match v["links"]["next"].as_str() {
            Some(next) => url = next.to_owned(),
            None => break,
        }
        assert!(pages < 20);
    }
    assert_eq!((seen, pages), (MANY, 11));

    // Unicode and spaces; a range; a presigned URL that works on its own.
    let key = "reports/Q3 résumé ✓.txt";
    let q = form_urlencoded::Serializer::new(String::new())
        .append_pair("key", key)
        .finish();
    let r = app
        .client
        .get(format!("{}{base}/download?{q}", app.base))
        .bearer_auth(&p.agent.token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("filename*=UTF-8''Q3%20r%C3%A9sum%C3%A9%20%E2%9C%93.txt")
    );
    assert_eq!(r.bytes().await.unwrap().as_ref(), "unicode and spaces".as_bytes());
    let r = app
        .client
        .get(format!("{}{base}/download?{q}", app.base))
        .bearer_auth(&p.agent.token)
        .header("range", "bytes=8-10")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.bytes().await.unwrap().as_ref(), b"and");
    let (s, v) = app.get(&format!("{base}/download?{q}&presign=1"), &p.agent).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let direct = reqwest::get(v["url"].as_str().unwrap()).await.unwrap();
    assert_eq!(direct.bytes().await.unwrap().as_ref(), "unicode and spaces".as_bytes());
    // Keys that climb out, absolute keys, URLs: refused.
    for bad in ["../etc/passwd", "/etc/passwd", "http://evil.example/x", "a/./b"] {
        let q = form_urlencoded::Serializer::new(String::new())
            .append_pair("key", bad)
            .finish();
        let (s, _) = app.get(&format!("{base}/download?{q}"), &p.agent).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    let (s, _) = app.get(&format!("{base}/download?key=no/such/object"), &p.agent).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Copy into the ticket: an internal note with the file; the partner does not see it.
    let (s, v) = app
        .post(
            &format!("/api/v2/tickets/{}/bucket_attachments.json", p.ticket),
            &p.agent,
            json!({"key": "dumps/db.sql"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["attachment"]["size"], 300_000);
    let (_, v) = app
        .get(&format!("/api/v2/tickets/{}/comments", p.ticket), &p.agent)
        .await;
    let last = v["comments"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["public"].as_bool(), last["attachments"][0]["file_name"].as_str()),
        (Some(false), Some("db.sql"))
    );
    let (_, v) = app
        .get(&format!("/api/v2/requests/{}/comments", p.ticket), &p.partner)
        .await;
    assert!(!v.to_string().contains("db.sql"));

    // End-users: 404 everywhere.
    for path in [base.clone(), format!("{base}/objects"), format!("{base}/download?{q}")] {
        let (s, _) = app.get(&path, &p.partner).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(
        app.post(&format!("{base}/test"), &p.partner, json!({})).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.post(
            &format!("/api/v2/tickets/{}/bucket_attachments", p.ticket),
            &p.partner,
            json!({"key": "dumps/db.sql"})
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.send(app.request(Method::DELETE, &base, Some(&p.partner))).await.0,
        StatusCode::NOT_FOUND
    );

    // Every access left a row: who, organization, key, bytes.
    let rows = app.db.conn().fetch_all("SELECT action, actor_label, after_json FROM audit_log WHERE organization_id = ? AND action LIKE 'bucket.%'", &partnerdesk_db::args![p.org]).await.unwrap();
    let actions: Vec<String> = rows.iter().map(|r| r.text("action").unwrap()).collect();
    for a in [
        "bucket.connect",
        "bucket.list",
        "bucket.download",
        "bucket.presign",
        "bucket.copy",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} missing from {actions:?}");
    }
    assert!(actions.iter().filter(|a| *a == "bucket.list").count() >= 13);
    let download = rows
        .iter()
        .find(|r| r.text("action").unwrap() == "bucket.download")
        .unwrap();
    assert_eq!(download.text("actor_label").unwrap(), "agent@vendor.test");
    assert!(download.text("after_json").unwrap().contains("résumé"));
    let _ = std::fs::remove_dir_all(&p.root);
    let _ = &p.admin;
});

db_test!(bucket_pages, |app: TestApp| async move {
    let p = partner(&app).await;
    let mut admin = crate::pages::Browser::new(&app);
    admin.sign_in(&p.admin.email, "correct horse battery staple").await;
    let csrf = admin.csrf(&format!("/admin/organizations/{}", p.org)).await;
    let form = [
        ("csrf", csrf.as_str()),
        ("endpoint", p.endpoint.as_str()),
        ("region", "us-east-1"),
        ("bucket", "partner-files"),
        ("prefix", ""),
        ("path_style", "1"),
        ("access_key_id", s3::ACCESS_KEY),
        ("secret_access_key", s3::SECRET_KEY),
        ("download_mode", "stream"),
        ("presign_ttl_secs", "300"),
    ];
    let (s, loc, body) = admin
        .post(&format!("/admin/organizations/{}/bucket", p.org), &form)
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let (_, _, html) = admin.get(&loc).await;
    assert!(html.contains("Bucket connection saved") && html.contains("partner-files"));
    assert!(
        !html.contains(s3::SECRET_KEY),
        "the secret is never sent back to the browser"
    );
    let (s, loc, _) = admin
        .post(
            &format!("/admin/organizations/{}/bucket/test", p.org),
            &[("csrf", csrf.as_str())],
        )
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, _, html) = admin.get(&loc).await;
    assert!(html.contains("can be listed"), "connection test result shown");

    let mut agent = crate::pages::Browser::new(&app);
    agent.sign_in(&p.agent.email, "correct horse battery staple").await;
    let (_, _, html) = agent.get(&format!("/agent/tickets/{}", p.ticket)).await;
    assert!(html.contains("id=\"bucket-link\""));
    let (s, _, html) = agent
        .get(&format!(
            "/agent/organizations/{}/bucket?prefix=logs/2026/11/&ticket={}",
            p.org, p.ticket
        ))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("app.log") && html.contains("Attach to #"));
    let csrf = agent
        .csrf(&format!(
            "/agent/organizations/{}/bucket?prefix=logs/2026/11/&ticket={}",
            p.org, p.ticket
        ))
        .await;
    let (s, loc, _) = agent
        .post(
            &format!("/agent/tickets/{}/bucket", p.ticket),
            &[("csrf", csrf.as_str()), ("key", "logs/2026/11/app.log")],
        )
        .await;
    assert_eq!(
        (s, loc),
        (StatusCode::SEE_OTHER, format!("/agent/tickets/{}", p.ticket))
    );
    let (_, _, html) = agent.get(&format!("/agent/tickets/{}", p.ticket)).await;
    assert!(
        html.contains("from the partner&#39;s bucket") || html.contains("from the partner's bucket"),
        "copy note on the ticket"
    );
    // Without the CSRF token nothing is copied.
    let before = app.count("attachments").await;
    let (s, _, _) = agent
        .post(
            &format!("/agent/tickets/{}/bucket", p.ticket),
            &[("key", "logs/2026/11/worker.log")],
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(app.count("attachments").await, before);

    // The partner: no bucket page, no link.
    let mut partner = crate::pages::Browser::new(&app);
    partner.sign_in(&p.partner.email, "correct horse battery staple").await;
    let (s, _, html) = partner.get(&format!("/agent/organizations/{}/bucket", p.org)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(!html.contains("partner-files"));
    let _ = std::fs::remove_dir_all(&p.root);
});

db_test!(secret_key_rotation_reseals, |app: TestApp| async move {
    let p = partner(&app).await;
    connect(&app, &p, s3::SECRET_KEY).await;
    let old_key = std::fs::read_to_string(app.config.data_dir.join("secret.key"))
        .unwrap()
        .trim()
        .to_owned();
    let old = partnerdesk_core::sealing::Sealer::new(&old_key, &[]);
    let vars = [
        ("PARTNERDESK_DATA_DIR", app.config.data_dir.display().to_string()),
        ("PARTNERDESK_DATABASE_URL", app.config.database_url.expose().to_owned()),
        (
            "PARTNERDESK_SECRET_KEY",
            "a brand new secret key, at least 32 characters".to_owned(),
        ),
        ("PARTNERDESK_SECRET_KEY_PREVIOUS", old_key.clone()),
    ];
    let rotated =
        partnerdesk::config::Config::from_sources(None, |k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
            .unwrap();
    partnerdesk::admin::run(&rotated, &app.db, partnerdesk::admin::AdminCommand::ResealSecrets)
        .await
        .unwrap();
    let c = partnerdesk_db::buckets::for_org(&mut app.db.conn(), partnerdesk_core::OrgId(p.org))
        .await
        .unwrap();
    let new = partnerdesk_core::sealing::Sealer::new("a brand new secret key, at least 32 characters", &[]);
    assert_eq!(c.key_id, new.key_id());
    assert_eq!(new.open(&c.secret_sealed).unwrap(), s3::SECRET_KEY);
    assert!(old.open(&c.secret_sealed).is_err(), "the old key no longer opens it");
    let trail = app
        .db
        .conn()
        .fetch_all("SELECT after_json FROM audit_log WHERE action = 'bucket.reseal'", &[])
        .await
        .unwrap();
    assert_eq!(trail.len(), 1);
    assert!(!trail[0].text("after_json").unwrap().contains(s3::SECRET_KEY));
    let _ = std::fs::remove_dir_all(&p.root);
    let _ = (&p.agent, &p.partner, p.ticket);
});

/// A partner connection may never point at partnerdesk's own storage bucket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn own_storage_bucket_is_refused() {
    let Some(app) = TestApp::spawn_with(crate::helpers::Backend::Sqlite, crate::helpers::Storage::S3).await else {
        return;
    };
    let admin = app.admin().await;
    let org = app.org(&admin, "Sneaky", true).await;
    let own = app.config.blob_s3.clone().unwrap();
    let body = json!({"bucket_connection": {"endpoint": own.endpoint.clone().unwrap(), "bucket": own.bucket, "path_style": true,
        "access_key_id": s3::ACCESS_KEY, "secret_access_key": s3::SECRET_KEY}});
    let (s, v) = app
        .put(&format!("/api/v2/organizations/{org}/bucket"), &admin, body)
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        v["details"]["bucket"][0]["description"]
            .as_str()
            .unwrap()
            .contains("own storage")
    );
    assert_eq!(app.count("bucket_connections").await, 0);
    app.cleanup().await;
}

/// Without the explicit setting, a partner endpoint on this machine or a private network is refused, so the
/// server cannot be made to reach its own network (cloud metadata, admin ports) on a partner's behalf.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_endpoints_are_refused_by_default() {
    let extra = vec![("PARTNERDESK_BUCKET_ALLOW_PRIVATE_ENDPOINTS", "false".to_owned())];
    let Some(app) = TestApp::spawn_full(crate::helpers::Backend::Sqlite, crate::helpers::Storage::Local, extra).await
    else {
        return;
    };
    let admin = app.admin().await;
    let org = app.org(&admin, "Metadata Grabber", true).await;
    for endpoint in [
        "http://169.254.169.254",
        "http://127.0.0.1:9000",
        "http://10.1.2.3",
        "http://[::1]:9000",
    ] {
        let body = json!({"bucket_connection": {"endpoint": endpoint, "bucket": "latest", "path_style": true, "access_key_id": "k", "secret_access_key": "s"}});
        let (s, v) = app
            .put(&format!("/api/v2/organizations/{org}/bucket"), &admin, body)
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{endpoint}: {v}");
        assert!(
            v["details"]["endpoint"][0]["description"]
                .as_str()
                .unwrap()
                .contains("internal address"),
            "{v}"
        );
    }
    assert_eq!(app.count("bucket_connections").await, 0);
    app.cleanup().await;
}
