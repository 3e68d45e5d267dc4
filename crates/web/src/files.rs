//! Files shared by the uploads API, the resumable uploader and the pages: safe names, content types, blob keys,
//! download answers with `Range` support, and the janitor that removes what expired.

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use partnerdesk_core::Invalid;
use partnerdesk_db::files::{self, Attachment};

use crate::error::ApiError;
use crate::state::AppState;

/// A file name as given by a client, reduced to its last path component and checked: no `..`, no control
/// characters, no empty names. Paths never come from it: blob keys are random.
pub fn safe_file_name(raw: &str) -> Result<String, Invalid> {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("").trim();
    let bad = |why: &str| {
        Invalid::field(
            "filename",
            "InvalidValue",
            format!("'{raw}' is not a usable file name: {why}"),
        )
    };
    if last.is_empty() || last == "." || last == ".." {
        return Err(bad("it names no file"));
    }
    if raw.contains("..") && (raw.contains('/') || raw.contains('\\')) {
        return Err(bad("it climbs out of its directory"));
    }
    if last.chars().any(|c| c.is_control()) {
        return Err(bad("it contains control characters"));
    }
    if last.len() > 255 {
        return Err(bad("it is longer than 255 bytes"));
    }
    Ok(last.to_owned())
}

/// A content type from the file name's extension; anything unknown is `application/octet-stream`.
/// (Downloads are always sent as attachments with `nosniff`, so a wrong guess cannot turn into a page.)
pub fn content_type_for(name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "txt" | "log" | "md" => "text/plain",
        "csv" => "text/csv",
        "json" => "application/json",
        "xml" => "application/xml",
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "zip" => "application/zip",
        "gz" | "tgz" => "application/gzip",
        "tar" => "application/x-tar",
        _ => "application/octet-stream",
    }
}

/// A fresh, unguessable blob key under `prefix`.
pub fn new_blob_key(prefix: &str) -> Result<String, ApiError> {
    let t = partnerdesk_db::now();
    Ok(format!(
        "{prefix}/{}/{}",
        t.format("%Y/%m"),
        partnerdesk_core::credentials::new_token()?
    ))
}

/// `attachment; filename="..."; filename*=UTF-8''...`: an ASCII fallback and the exact name, nothing a browser
/// could read as a path or a second header.
pub fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = form_urlencoded::byte_serialize(name.as_bytes())
        .collect::<String>()
        .replace('+', "%20");
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// A `Range` header that cannot be served (answered with 416).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unsatisfiable;

/// Parses a single `bytes=a-b` range against `size`. `Ok(None)`: no range asked.
pub fn parse_range(headers: &HeaderMap, size: u64) -> Result<Option<std::ops::Range<u64>>, Unsatisfiable> {
    let Some(v) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return Ok(None);
    };
    let Some(spec) = v.strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None); // several ranges: send the whole file, as RFC 9110 allows
    }
    let (a, b) = spec.split_once('-').ok_or(Unsatisfiable)?;
    let range = match (a.trim(), b.trim()) {
        ("", suffix) => {
            let n: u64 = suffix.parse().map_err(|_| Unsatisfiable)?;
            size.saturating_sub(n)..size
        }
        (start, "") => start.parse::<u64>().map_err(|_| Unsatisfiable)?..size,
        (start, end) => {
            start.parse::<u64>().map_err(|_| Unsatisfiable)?
                ..end
                    .parse::<u64>()
                    .map_err(|_| Unsatisfiable)?
                    .saturating_add(1)
                    .min(size)
        }
    };
    if range.start >= size || range.start >= range.end {
        return Err(Unsatisfiable);
    }
    Ok(Some(range))
}

/// Streams an attachment: whole, or the asked range (206), with safe headers.
pub async fn download(state: &AppState, a: &Attachment, headers: &HeaderMap) -> Result<Response, ApiError> {
    let size = a.size as u64;
    let range = match parse_range(headers, size) {
        Ok(r) => r,
        Err(Unsatisfiable) => {
            let mut resp = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                resp.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return Ok(resp);
        }
    };
    let dl = state
        .blobs
        .get(&a.blob_key, range.clone())
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut resp = Response::new(Body::from_stream(dl.body));
    let h = resp.headers_mut();
    let set = |h: &mut HeaderMap, name: header::HeaderName, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    };
    set(h, header::CONTENT_TYPE, a.content_type.clone());
    set(h, header::CONTENT_DISPOSITION, content_disposition(&a.file_name));
    set(h, header::CONTENT_LENGTH, (dl.range.end - dl.range.start).to_string());
    set(h, header::ACCEPT_RANGES, "bytes".into());
    set(h, header::CACHE_CONTROL, "private, no-store".into());
    set(
        h,
        header::HeaderName::from_static("x-content-type-options"),
        "nosniff".into(),
    );
    if range.is_some() {
        set(
            h,
            header::CONTENT_RANGE,
            format!("bytes {}-{}/{}", dl.range.start, dl.range.end.saturating_sub(1), size),
        );
        *resp.status_mut() = StatusCode::PARTIAL_CONTENT;
    }
    Ok(resp)
}

/// Removes expired upload tokens (with the files no comment took) and abandoned resumable uploads.
/// Returns how many of each were removed.
pub async fn purge_expired(state: &AppState) -> Result<(usize, usize), ApiError> {
    let mut conn = state.db.conn();
    let uploads = files::expired_uploads(&mut conn, 500).await?;
    for u in &uploads {
        let mut tx = state.db.begin().await?;
        let keys = files::delete_upload(&mut tx, u.id).await?;
        tx.commit().await?;
        for k in keys {
            state
                .blobs
                .delete(&k)
                .await
                .map_err(|e| ApiError::Internal(e.to_string()))?;
        }
    }
    let large = files::expired_large(&mut conn, 500).await?;
    for u in &large {
        crate::tus::discard(state, u).await?;
    }
    Ok((uploads.len(), large.len()))
}

/// Runs `purge_expired` every ten minutes for as long as the server runs.
pub async fn janitor(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tick.tick().await;
        match purge_expired(&state).await {
            Ok((0, 0)) => {}
            Ok((uploads, large)) => tracing::info!(uploads, large, "removed expired uploads"),
            Err(e) => tracing::warn!(error = %e, "removing expired uploads failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        assert_eq!(safe_file_name("logs/app.log").ok(), Some("app.log".into()));
        assert_eq!(safe_file_name("C:\\Users\\me\\dump.sql").ok(), Some("dump.sql".into()));
        for bad in ["", "..", "../../etc/passwd", "a/..", "x\u{0}y", "dir/"] {
            assert!(safe_file_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn dispositions_are_quoted_safely() {
        let d = content_disposition("rapport \"final\"\r\n.txt");
        assert!(!d.contains('\r') && !d.contains('\n'));
        assert!(d.starts_with("attachment; filename=\"rapport _final___.txt\""), "{d}");
        assert!(content_disposition("über.txt").contains("filename*=UTF-8''%C3%BCber.txt"));
    }

    #[test]
    fn ranges() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(
                header::RANGE,
                HeaderValue::from_str(v).unwrap_or(HeaderValue::from_static("")),
            );
            m
        };
        assert_eq!(parse_range(&h("bytes=0-9"), 100), Ok(Some(0..10)));
        assert_eq!(parse_range(&h("bytes=90-"), 100), Ok(Some(90..100)));
        assert_eq!(parse_range(&h("bytes=-10"), 100), Ok(Some(90..100)));
        assert_eq!(parse_range(&h("bytes=95-200"), 100), Ok(Some(95..100)));
        assert_eq!(parse_range(&h("bytes=100-"), 100), Err(Unsatisfiable));
        assert_eq!(parse_range(&HeaderMap::new(), 100), Ok(None));
    }
}
