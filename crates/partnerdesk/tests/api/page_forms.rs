//! Page forms hold bounded memory: a text field is refused as soon as it passes its limit while it streams, the
//! small forms have a body limit, and the pages that take files accept attachments up to the attachment limit.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use reqwest::StatusCode;
use serde_json::json;

use crate::db_test;
use crate::helpers::TestApp;
use crate::pages::{Browser, PASSWORD, partner_world};

const BOUNDARY: &str = "pd-test-boundary-7MA4YWxkTrZu0gW";

/// A multipart body whose `description` field is `size` bytes, produced lazily; `sent` counts what the server pulled.
fn endless_description(csrf: &str, size: u64, sent: Arc<AtomicU64>) -> reqwest::Body {
    let head = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"subject\"\r\n\r\nhuge\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\n"
    );
    let chunk = bytes::Bytes::from(vec![b'a'; 64 * 1024]);
    let chunks = size / chunk.len() as u64;
    let body = futures::stream::iter(
        std::iter::once(bytes::Bytes::from(head))
            .chain((0..chunks).map(move |_| chunk.clone()))
            .chain(std::iter::once(bytes::Bytes::from(format!("\r\n--{BOUNDARY}--\r\n")))),
    )
    .map(move |b| {
        sent.fetch_add(b.len() as u64, Ordering::Relaxed);
        Ok::<_, std::io::Error>(b)
    });
    reqwest::Body::wrap_stream(body)
}

use futures::StreamExt;

db_test!(
    a_huge_text_field_is_refused_while_it_streams,
    |app: TestApp| async move {
        let (_, partner, _) = partner_world(&app).await;
        let mut b = Browser::new(&app);
        b.sign_in(&partner.email, PASSWORD).await;
        let csrf = b.csrf("/portal/tickets/new").await;
        let tickets_before = app.count("tickets").await;
        let total: u64 = 256 * 1024 * 1024;
        let sent = Arc::new(AtomicU64::new(0));
        let result = app
            .client
            .post(format!("{}/portal/tickets", app.base))
            .header("cookie", b.cookie_header())
            .header("content-type", format!("multipart/form-data; boundary={BOUNDARY}"))
            .body(endless_description(&csrf, total, sent.clone()))
            .send()
            .await;
        // The server answers 413 and stops reading; the client may see the answer or the closed connection.
        if let Ok(resp) = result {
            assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
            assert!(resp.text().await.unwrap().contains("description"));
        }
        let pulled = sent.load(Ordering::Relaxed);
        assert!(pulled < 32 * 1024 * 1024, "the server read {pulled} of {total} bytes");
        assert_eq!(app.count("tickets").await, tickets_before);
    }
);

db_test!(small_forms_have_a_body_limit, |app: TestApp| async move {
    let admin = app.admin().await;
    let org = app.org(&admin, "Limits Inc", true).await;
    let u = app.user("boss@vendor.test", "admin", None).await;
    let mut b = Browser::new(&app);
    b.sign_in(&u.email, PASSWORD).await;
    let csrf = b.csrf(&format!("/admin/organizations/{org}")).await;
    let notes = "n".repeat(3 * 1024 * 1024);
    let (s, _, _) = b
        .post(
            &format!("/admin/organizations/{org}"),
            &[("csrf", &csrf), ("notes", &notes)],
        )
        .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
});

db_test!(
    agents_attach_files_up_to_the_attachment_limit,
    |app: TestApp| async move {
        let (admin, partner, _) = partner_world(&app).await;
        let (_, v) = app
            .post(
                "/api/v2/requests.json",
                &partner,
                json!({"request": {"subject": "logs", "comment": {"body": "see attached"}}}),
            )
            .await;
        let ticket = v["request"]["id"].as_i64().unwrap();
        let _ = admin;
        let agent = app.user("ada@vendor.test", "agent", None).await;
        let mut b = Browser::new(&app);
        b.sign_in(&agent.email, PASSWORD).await;
        let page = format!("/agent/tickets/{ticket}");
        let csrf = b.csrf(&page).await;
        let file: Vec<u8> = (0..5 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
        let (s, location, body) = b
            .post_multipart(
                &page,
                &[
                    ("csrf", &csrf),
                    ("body", "Here is the patched build."),
                    ("visibility", "public"),
                ],
                Some(("build.tar.gz", file.clone())),
            )
            .await;
        assert_eq!((s, location.as_str()), (StatusCode::SEE_OTHER, page.as_str()), "{body}");
        let (_, v) = app
            .get(&format!("/api/v2/tickets/{ticket}/comments.json"), &agent)
            .await;
        let last = v["comments"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["attachments"][0]["size"], json!(file.len()), "{last}");
        // Over the limit, the page refuses the file with 413 and the limit named.
        let big = vec![7u8; 21 * 1024 * 1024];
        let (s, _, body) = b
            .post_multipart(&page, &[("csrf", &csrf), ("body", "too big")], Some(("big.bin", big)))
            .await;
        assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    }
);
