//! `partnerdesk upload`: a resumable large-file upload client (tus 1.0) for partners, with a progress bar.
//! Running the same command again after an interruption resumes where the server stopped: the upload URL of
//! each file is remembered in a small state file, keyed by file, size, modification time, ticket and server.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine;
use indicatif::{ProgressBar, ProgressStyle};
use reqwest::{Client, StatusCode};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

/// What one `partnerdesk upload` is told.
pub struct UploadArgs {
    pub url: String,
    pub token: String,
    pub ticket: i64,
    pub files: Vec<PathBuf>,
    pub chunk_mib: u64,
    pub state_file: PathBuf,
    pub quiet: bool,
}

/// Remembered upload URLs, by file.
type State = HashMap<String, String>;

fn load_state(path: &Path) -> State {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default()
}

fn save_state(path: &Path, state: &State) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, serde_json::to_string_pretty(state)?).with_context(|| format!("writing {}", path.display()))
}

/// The default state file: `$XDG_STATE_HOME` or `~/.local/state`, else the current directory.
pub fn default_state_file() -> PathBuf {
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("partnerdesk").join("uploads.json")
}

/// The tus endpoint: partnerdesk's when `url` is just the server's address, else `url` itself (any tus server).
fn endpoint(url: &str) -> String {
    let u = url.trim_end_matches('/');
    let has_path = u.split_once("://").map(|(_, rest)| rest.contains('/')).unwrap_or(false);
    if has_path {
        format!("{u}/")
    } else {
        format!("{u}/api/v2/large_uploads/")
    }
}

pub async fn run(args: UploadArgs) -> Result<()> {
    if args.files.is_empty() {
        bail!("name at least one file to upload");
    }
    let client = Client::builder().connect_timeout(Duration::from_secs(20)).build()?;
    let mut state = load_state(&args.state_file);
    for file in &args.files {
        upload_one(&client, &args, file, &mut state)
            .await
            .with_context(|| format!("uploading {}", file.display()))?;
    }
    Ok(())
}

async fn upload_one(client: &Client, args: &UploadArgs, file: &Path, state: &mut State) -> Result<()> {
    let meta = tokio::fs::metadata(file)
        .await
        .with_context(|| format!("reading {}", file.display()))?;
    if !meta.is_file() {
        bail!("{} is not a file", file.display());
    }
    let size = meta.len();
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let canonical = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf());
    let key = format!(
        "{}|{size}|{mtime}|{}|{}",
        canonical.display(),
        args.ticket,
        endpoint(&args.url)
    );
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| anyhow!("the file name is not UTF-8"))?;
    let auth = format!("Bearer {}", args.token);

    // Resume when the server still knows this file's upload.
    let mut resume = None;
    if let Some(location) = state.get(&key) {
        let r = client
            .head(location)
            .header("authorization", &auth)
            .header("tus-resumable", "1.0.0")
            .send()
            .await?;
        if r.status() == StatusCode::OK {
            let offset: u64 = r
                .headers()
                .get("upload-offset")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            resume = Some((location.clone(), offset));
        }
    }
    let (location, mut offset) = match resume {
        Some(r) => r,
        None => {
            let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
            let r = client
                .post(endpoint(&args.url))
                .header("authorization", &auth)
                .header("tus-resumable", "1.0.0")
                .header("upload-length", size.to_string())
                .header(
                    "upload-metadata",
                    format!("filename {},ticket_id {}", b64(name), b64(&args.ticket.to_string())),
                )
                .send()
                .await?;
            if r.status() != StatusCode::CREATED {
                bail!(
                    "the server refused the upload: {} {}",
                    r.status(),
                    r.text().await.unwrap_or_default()
                );
            }
            let location = r
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| anyhow!("no Location in the answer"))?
                .to_owned();
            state.insert(key.clone(), location.clone());
            save_state(&args.state_file, state)?;
            (location, 0)
        }
    };

    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(size)
    };
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
            .map_err(|e| anyhow!("{e}"))?
            .progress_chars("=> "),
    );
    bar.set_message(name.to_owned());
    bar.set_position(offset);
    let chunk = args.chunk_mib.max(1) * 1024 * 1024;
    let mut f = tokio::fs::File::open(file).await?;
    let mut failures = 0u32;
    while offset < size {
        match send_chunk(client, &auth, &location, &mut f, offset, chunk.min(size - offset), &bar).await {
            Ok(next) => {
                offset = next;
                failures = 0;
            }
            Err(e) if failures < 8 => {
                // The server may still be finishing an interrupted request, or the network may be back in a
                // moment: wait, ask the server where it stands, and go on from there.
                failures += 1;
                tokio::time::sleep(Duration::from_millis(500 * 2u64.pow(failures.min(5)))).await;
                bar.println(format!("{name}: {e}; retrying"));
                offset = server_offset(client, &auth, &location).await.unwrap_or(offset);
            }
            Err(e) => bail!("{e} (run the command again to resume)"),
        }
        bar.set_position(offset);
    }
    bar.finish_with_message(format!("{name}: uploaded"));
    state.remove(&key);
    save_state(&args.state_file, state)?;
    if args.quiet {
        println!("{name}: uploaded {size} bytes");
    }
    Ok(())
}

/// Where the server's copy ends.
async fn server_offset(client: &Client, auth: &str, location: &str) -> Result<u64> {
    let r = client
        .head(location)
        .header("authorization", auth)
        .header("tus-resumable", "1.0.0")
        .send()
        .await?;
    r.headers()
        .get("upload-offset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| anyhow!("no Upload-Offset"))
}

/// Sends `len` bytes from `offset`, streamed from the file; returns the server's new offset.
async fn send_chunk(
    client: &Client,
    auth: &str,
    location: &str,
    f: &mut tokio::fs::File,
    offset: u64,
    len: u64,
    bar: &ProgressBar,
) -> Result<u64> {
    f.seek(std::io::SeekFrom::Start(offset)).await?;
    let reader = f.try_clone().await?.take(len);
    let progress = bar.clone();
    let stream = ReaderStream::with_capacity(reader, 256 * 1024).inspect_ok(move |b| progress.inc(b.len() as u64));
    let r = client
        .patch(location)
        .header("authorization", auth)
        .header("tus-resumable", "1.0.0")
        .header("upload-offset", offset.to_string())
        .header("content-type", "application/offset+octet-stream")
        .header("content-length", len.to_string())
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .map_err(|e| anyhow!("the connection failed: {e}"))?;
    if r.status() != StatusCode::NO_CONTENT {
        bail!(
            "the server refused a chunk: {} {}",
            r.status(),
            r.text().await.unwrap_or_default()
        );
    }
    r.headers()
        .get("upload-offset")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| anyhow!("no Upload-Offset in the answer"))
}

use futures::TryStreamExt;

#[cfg(test)]
mod tests {
    #[test]
    fn endpoints() {
        assert_eq!(
            super::endpoint("https://support.example.com/"),
            "https://support.example.com/api/v2/large_uploads/"
        );
        assert_eq!(
            super::endpoint("http://127.0.0.1:8080/api/v2/large_uploads"),
            "http://127.0.0.1:8080/api/v2/large_uploads/"
        );
        assert_eq!(
            super::endpoint("http://127.0.0.1:1081/files"),
            "http://127.0.0.1:1081/files/"
        );
    }
}
