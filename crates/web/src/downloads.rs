//! Files shared by the uploads API, the resumable uploader and the pages: safe names, content types, blob keys,
//! download answers with `Range` support, and the janitor that removes what expired.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use partnerdesk_db::files::Attachment;

use partnerdesk_app::AppError;

use crate::error::ApiError;
use crate::state::AppState;

/// `attachment; filename="..."; filename*=UTF-8''...`: an ASCII fallback and the exact name, nothing a browser
/// could read as a path or a second header.
/// The policy files are served under: no script, no plugin, no requests, as if from an origin of its own.
pub const FILE_POLICY: &str = "sandbox; default-src 'none'";

/// The type a file is served as. The uploader chose the recorded type, so a type a browser would run or render
/// as a document of this origin (script, HTML, XML, SVG) is served as plain bytes: with `nosniff`, a page that
/// names the file in `<script src>` gets nothing it can run.
pub fn served_content_type(recorded: &str) -> &str {
    let essence = recorded
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    let active = ["script", "html", "xml", "svg", "xsl"]
        .iter()
        .any(|w| essence.contains(w));
    if active || essence.is_empty() {
        "application/octet-stream"
    } else {
        recorded
    }
}

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
        .map_err(|e| AppError::Internal(e.to_string()))?;
    let mut resp = Response::new(Body::from_stream(dl.body));
    let h = resp.headers_mut();
    let set = |h: &mut HeaderMap, name: header::HeaderName, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    };
    set(h, header::CONTENT_TYPE, served_content_type(&a.content_type).into());
    // A file opened in the browser runs nothing and reaches nothing, whatever it holds.
    set(h, header::CONTENT_SECURITY_POLICY, FILE_POLICY.into());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn active_types_are_served_as_bytes() {
        for active in [
            "text/javascript",
            "application/javascript; charset=utf-8",
            "text/html",
            "image/svg+xml",
            "application/xhtml+xml",
            "text/xml",
            "",
        ] {
            assert_eq!(served_content_type(active), "application/octet-stream", "{active}");
        }
        for passive in [
            "image/png",
            "application/pdf",
            "text/plain; charset=utf-8",
            "application/zip",
        ] {
            assert_eq!(served_content_type(passive), passive);
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
