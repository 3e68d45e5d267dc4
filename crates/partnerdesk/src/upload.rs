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
    let src = Source::inspect(file, args).await?;
    let auth = format!("Bearer {}", args.token);
    let (location, offset) = resume_or_create(client, args, &auth, &src, state).await?;
    let bar = progress_bar(args.quiet, &src, offset)?;
    send_rest(client, &auth, &location, &src, offset, args.chunk_mib, &bar).await?;
    bar.finish_with_message(format!("{}: uploaded", src.name));
    // Finished: nothing left to resume.
    state.remove(&src.key);
    save_state(&args.state_file, state)?;
    if args.quiet {
        println!("{}: uploaded {} bytes", src.name, src.size);
    }
    Ok(())
}

/// The file to upload, as the server and the state file know it.
struct Source<'a> {
    path: &'a Path,
    name: &'a str,
    size: u64,
    /// The state-file key: a changed file (size, modification time), another ticket or another server means another
    /// upload, never a resumed one.
    key: String,
}

impl<'a> Source<'a> {
    async fn inspect(file: &'a Path, args: &UploadArgs) -> Result<Source<'a>> {
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
        // Canonical, so that the same file named from another directory still resumes.
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
        Ok(Source {
            path: file,
            name,
            size,
            key,
        })
    }
}

/// The upload URL and where to go on from: the remembered upload when the server still knows it, else a new one
/// (remembered at once, so that an interruption from here on can be resumed).
async fn resume_or_create(
    client: &Client,
    args: &UploadArgs,
    auth: &str,
    src: &Source<'_>,
    state: &mut State,
) -> Result<(String, u64)> {
    if let Some(location) = state.get(&src.key)
        && let Some(offset) = known_offset(client, auth, location).await?
    {
        return Ok((location.clone(), offset));
    }
    let location = create(client, args, auth, src).await?;
    state.insert(src.key.clone(), location.clone());
    save_state(&args.state_file, state)?;
    Ok((location, 0))
}

/// Where the server's copy of a remembered upload ends; `None` when the server no longer has it (say, it expired),
/// so that a new upload is created.
async fn known_offset(client: &Client, auth: &str, location: &str) -> Result<Option<u64>> {
    let r = client
        .head(location)
        .header("authorization", auth)
        .header("tus-resumable", "1.0.0")
        .send()
        .await?;
    if r.status() != StatusCode::OK {
        return Ok(None);
    }
    Ok(Some(
        r.headers()
            .get("upload-offset")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
    ))
}

/// Creates the upload on the server (tus creation, with the file name and ticket as metadata); returns its URL.
async fn create(client: &Client, args: &UploadArgs, auth: &str, src: &Source<'_>) -> Result<String> {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let r = client
        .post(endpoint(&args.url))
        .header("authorization", auth)
        .header("tus-resumable", "1.0.0")
        .header("upload-length", src.size.to_string())
        .header(
            "upload-metadata",
            format!("filename {},ticket_id {}", b64(src.name), b64(&args.ticket.to_string())),
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
    Ok(r.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| anyhow!("no Location in the answer"))?
        .to_owned())
}

/// The progress bar (hidden with `--quiet`), starting at what the server already has.
fn progress_bar(quiet: bool, src: &Source<'_>, offset: u64) -> Result<ProgressBar> {
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(src.size)
    };
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
            .map_err(|e| anyhow!("{e}"))?
            .progress_chars("=> "),
    );
    bar.set_message(src.name.to_owned());
    bar.set_position(offset);
    Ok(bar)
}

/// Sends the file from `offset` to its end, `chunk_mib` at a time. A failed chunk is retried, from wherever the
/// server's copy then ends, up to 8 times in a row; after that the command fails and a new run resumes.
async fn send_rest(
    client: &Client,
    auth: &str,
    location: &str,
    src: &Source<'_>,
    mut offset: u64,
    chunk_mib: u64,
    bar: &ProgressBar,
) -> Result<()> {
    let chunk = chunk_mib.max(1) * 1024 * 1024;
    let mut f = tokio::fs::File::open(src.path).await?;
    let mut failures = 0u32;
    while offset < src.size {
        let len = chunk.min(src.size - offset);
        match send_chunk(client, auth, location, &mut f, offset, len, bar).await {
            Ok(next) => {
                offset = next;
                failures = 0;
            }
            Err(e) if failures < 8 => {
                failures += 1;
                let problem = format!("{}: {e}; retrying", src.name);
                offset = after_failure(client, auth, location, failures, bar, problem)
                    .await
                    .unwrap_or(offset);
            }
            Err(e) => bail!("{e} (run the command again to resume)"),
        }
        bar.set_position(offset);
    }
    Ok(())
}

/// After the `failures`th failed chunk in a row. The server may still be finishing an interrupted request, or the
/// network may be back in a moment: wait (longer each time), say so, and ask the server where it stands, to go on
/// from there. `None` when the server cannot tell.
async fn after_failure(
    client: &Client,
    auth: &str,
    location: &str,
    failures: u32,
    bar: &ProgressBar,
    problem: String,
) -> Option<u64> {
    tokio::time::sleep(Duration::from_millis(500 * 2u64.pow(failures.min(5)))).await;
    bar.println(problem);
    server_offset(client, auth, location).await.ok()
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
