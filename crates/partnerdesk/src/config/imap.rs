//! `PARTNERDESK_IMAP_URL` and the settings that go with it: the mailbox incoming mail is read from.

use std::time::Duration;

use anyhow::{Result, anyhow};
use partnerdesk_mail::imap::{After, MailboxUrl, Source, read_ca_file};

use super::{Env, FileConfig};

/// The IMAP source, or `None` when no URL is set (mail then comes in through `partnerdesk mail-ingest` only).
pub(super) fn source(env: &Env<'_>, fc: &mut FileConfig) -> Result<Option<Source>> {
    let Some(url) = env.var("PARTNERDESK_IMAP_URL")?.or(fc.imap_url.take()) else {
        return Ok(None);
    };
    // The URL's own text is never in the message: it carries the password.
    let url = MailboxUrl::parse(&url).map_err(|e| anyhow!("PARTNERDESK_IMAP_URL: {e}"))?;
    let after = match env.var("PARTNERDESK_IMAP_AFTER")?.or(fc.imap_after.take()) {
        Some(a) => After::parse(&a).map_err(|e| anyhow!("PARTNERDESK_IMAP_AFTER: {e}"))?,
        None => After::Seen,
    };
    let roots = match env
        .var("PARTNERDESK_IMAP_CA_FILE")?
        .map(Into::into)
        .or(fc.imap_ca_file.take())
    {
        Some(path) => read_ca_file(&path).map_err(|e| anyhow!("PARTNERDESK_IMAP_CA_FILE: {e}"))?,
        None => Vec::new(),
    };
    let poll = env
        .positive::<u64>("PARTNERDESK_IMAP_POLL_SECONDS")?
        .or(fc.imap_poll_seconds)
        .unwrap_or(30);
    if poll == 0 {
        return Err(anyhow!("imap_poll_seconds must be a positive number of seconds"));
    }
    Ok(Some(Source {
        url,
        after,
        roots,
        poll: Duration::from_secs(poll),
    }))
}
