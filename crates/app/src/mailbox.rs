//! Reading the support mailbox over IMAP (`PARTNERDESK_IMAP_URL`): every message in it is handed to
//! `inbound::ingest` once, across restarts and across instances.
//!
//! One instance reads at a time, under a lease in the database that it renews while it reads; the others stand by
//! and take over when it stops or its lease runs out. The last UID handled is recorded, under the lease, after each
//! message has been handled and disposed of (flagged, moved or deleted as configured). A message handled but not
//! yet recorded when an instance dies is read again by the next reader and recognised by its Message-ID, which the
//! store keeps unique: it is never filed twice.

use std::collections::HashMap;
use std::time::Duration;

use partnerdesk_db::mailbox::{self, Cursor};
use partnerdesk_mail::imap::{self, Source};
use partnerdesk_mail::inbound::MAX_MESSAGE_BYTES;

use crate::context::App;
use crate::error::AppError;
use crate::inbound::{self, Handled};

/// How long a reader's lease lasts without renewal: how long a crashed reader's mailbox waits for another.
const TERM_SECS: i64 = 30;
/// The longest a reader goes without renewing (an IDLE is ended and started again after this).
const RENEW_EVERY: Duration = Duration::from_secs(10);
/// How often an instance that does not read asks whether the reader is gone.
const STANDBY: Duration = Duration::from_secs(5);
/// How often one message may fail to be handled before it is set aside (left in the mailbox, recorded as refused
/// for admins), so that one message the store cannot take never holds up the mail behind it.
const MAX_ATTEMPTS: u32 = 5;
/// Waits after a failure (the server down, the database down), doubling up to the last.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const LAST_BACKOFF: Duration = Duration::from_secs(60);

/// Why a reader stopped reading without an error.
enum Ended {
    Shutdown,
    /// Another instance holds the mailbox now.
    LeaseLost,
}

#[derive(Debug, thiserror::Error)]
enum ReadError {
    #[error("{0}")]
    Imap(#[from] imap::ImapError),
    #[error("{0}")]
    App(#[from] AppError),
}

/// Frees mailbox leases an earlier life of this instance held (it cannot have given them back if it was killed).
pub async fn release_stale(app: &App) -> Result<u64, AppError> {
    Ok(mailbox::release_leases_of(&mut app.db.conn(), &app.instance_id).await?)
}

/// Reads the mailbox until the server shuts down.
pub async fn reader(app: App, source: Source) {
    let name = source.url.name();
    tracing::info!(mailbox = %name, "reading mail over IMAP");
    let mut backoff = FIRST_BACKOFF;
    // Failed attempts per (UIDVALIDITY, UID), across reconnections.
    let mut attempts: HashMap<(i64, u32), u32> = HashMap::new();
    while !app.shutdown.is_cancelled() {
        let token = match partnerdesk_core::credentials::new_token() {
            Ok(t) => format!("{}.{}", app.instance_id, &t[..12]),
            Err(e) => {
                tracing::error!(error = %e, "no randomness for a mailbox lease");
                return;
            }
        };
        let pause = match mailbox::claim(&mut app.db.conn(), &name, &token, TERM_SECS).await {
            Ok(None) => {
                tracing::debug!(mailbox = %name, "another instance reads the mailbox; standing by");
                STANDBY
            }
            Ok(Some(cursor)) => {
                let read = read(&app, &source, &name, &token, cursor, &mut backoff, &mut attempts).await;
                // Given back at once, so that a standby instance need not wait for the lease to run out.
                if let Err(e) = mailbox::release(&mut app.db.conn(), &name, &token).await {
                    tracing::warn!(error = %e, "could not give back the mailbox lease; it runs out by itself");
                }
                match read {
                    Ok(Ended::Shutdown) => return,
                    Ok(Ended::LeaseLost) => {
                        tracing::warn!(mailbox = %name, "another instance took over the mailbox");
                        STANDBY
                    }
                    Err(e) => {
                        metrics::counter!("partnerdesk_mail_imap_errors_total").increment(1);
                        tracing::warn!(mailbox = %name, error = %e, retry_in = ?backoff, "reading the mailbox failed");
                        let pause = backoff;
                        backoff = (backoff * 2).min(LAST_BACKOFF);
                        pause
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not ask for the mailbox lease");
                let pause = backoff;
                backoff = (backoff * 2).min(LAST_BACKOFF);
                pause
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = app.shutdown.cancelled() => return,
        }
    }
}

/// Reads under the lease `token` until shutdown, the lease is lost, or something fails.
async fn read(
    app: &App,
    source: &Source,
    name: &str,
    token: &str,
    cursor: Cursor,
    backoff: &mut Duration,
    attempts: &mut HashMap<(i64, u32), u32>,
) -> Result<Ended, ReadError> {
    let (mut conn, selected) = imap::connect(&source.url, &source.roots).await?;
    conn.check(&source.after).await?;
    tracing::debug!(mailbox = %name, last_uid = cursor.last_uid, "connected; reading");
    let validity = i64::from(selected.uid_validity);
    let mut cursor = if cursor.uid_validity == validity {
        cursor
    } else {
        if cursor.uid_validity != 0 {
            // The server renumbered the mailbox: read it all again; what was handled is known by Message-ID.
            tracing::warn!(mailbox = %name, "the mailbox's UIDVALIDITY changed; reading it from the start");
        }
        Cursor {
            uid_validity: validity,
            last_uid: 0,
        }
    };
    let mut db = app.db.conn();
    if !mailbox::advance(&mut db, name, token, cursor, TERM_SECS)
        .await
        .map_err(AppError::from)?
    {
        return Ok(Ended::LeaseLost);
    }
    loop {
        let last = u32::try_from(cursor.last_uid).unwrap_or(u32::MAX);
        let listed = conn.after(last).await?;
        let more = listed.len() == imap::CHUNK;
        for (uid, size) in listed {
            if app.shutdown.is_cancelled() {
                conn.logout().await;
                return Ok(Ended::Shutdown);
            }
            if let Err(e) = handle(app, source, &mut conn, (name, validity), uid, size).await {
                let failed = attempts.entry((validity, uid)).or_default();
                *failed += 1;
                if *failed < MAX_ATTEMPTS {
                    return Err(e);
                }
                tracing::error!(mailbox = %name, uid, error = %e, "a message failed {MAX_ATTEMPTS} times; it is left in the mailbox");
                set_aside(app, name, validity, uid, &format!("could not be handled: {e}")).await;
            }
            attempts.remove(&(validity, uid));
            cursor.last_uid = i64::from(uid);
            if !mailbox::advance(&mut db, name, token, cursor, TERM_SECS)
                .await
                .map_err(AppError::from)?
            {
                conn.logout().await;
                return Ok(Ended::LeaseLost);
            }
        }
        if !mailbox::advance(&mut db, name, token, cursor, TERM_SECS)
            .await
            .map_err(AppError::from)?
        {
            conn.logout().await;
            return Ok(Ended::LeaseLost);
        }
        if more {
            continue;
        }
        // Caught up: the next failure starts its waits short again.
        tracing::debug!(mailbox = %name, last_uid = cursor.last_uid, "caught up; waiting for mail");
        *backoff = FIRST_BACKOFF;
        conn = match conn
            .wait(source.poll.min(RENEW_EVERY), app.shutdown.cancelled())
            .await?
        {
            Some(c) => c,
            None => return Ok(Ended::Shutdown),
        };
    }
}

/// Records a message that is left in the mailbox (too large, not mail, or failing again and again) as refused, so
/// that admins see it in the refused-mail list. Best effort: the log has it too.
async fn set_aside(app: &App, name: &str, validity: i64, uid: u32, why: &str) {
    let id = format!("imap-{validity}-{uid}-{}@set-aside", crate::notifications::digest(name));
    let subject = format!("(message {uid} left in {name})");
    let row = partnerdesk_db::inbound::NewInbound {
        message_id: &id,
        sender: "",
        subject: &subject,
        outcome: partnerdesk_db::inbound::Outcome::Refused,
        reason: Some(why),
        excerpt: None,
        ticket_id: None,
    };
    if let Err(e) = partnerdesk_db::inbound::record(&mut app.db.conn(), &row).await {
        tracing::warn!(error = %e, "could not record a message left in the mailbox");
    }
}

/// Fetches message `uid`, hands it over, and disposes of it. A failure to store it is returned (the message stays
/// and is read again); a message that cannot be read as mail is left in the mailbox for a person.
async fn handle(
    app: &App,
    source: &Source,
    conn: &mut imap::Connection,
    (name, validity): (&str, i64),
    uid: u32,
    size: u32,
) -> Result<(), ReadError> {
    if size as usize > MAX_MESSAGE_BYTES {
        tracing::warn!(mailbox = %name, uid, size, "a message over {MAX_MESSAGE_BYTES} bytes is left in the mailbox");
        metrics::counter!("partnerdesk_mail_received_total", "outcome" => "too_large").increment(1);
        let why = format!("over {MAX_MESSAGE_BYTES} bytes (or of unknown size); left in the mailbox");
        set_aside(app, name, validity, uid, &why).await;
        return Ok(());
    }
    let Some(raw) = conn.fetch(uid).await? else {
        return Ok(());
    };
    let outcome = match inbound::ingest(app, &raw).await {
        Ok(Handled::Comment { .. }) => "comment",
        Ok(Handled::Ticket { .. }) => "ticket",
        Ok(Handled::Refused(_)) => "refused",
        Ok(Handled::Ignored(_)) => "ignored",
        Ok(Handled::Repeat) => "repeat",
        Err(AppError::Invalid(_)) => {
            tracing::warn!(mailbox = %name, uid, "a message that is not e-mail is left in the mailbox");
            metrics::counter!("partnerdesk_mail_received_total", "outcome" => "unreadable").increment(1);
            set_aside(app, name, validity, uid, "not an e-mail message; left in the mailbox").await;
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    metrics::counter!("partnerdesk_mail_received_total", "outcome" => outcome).increment(1);
    conn.dispose(uid, &source.after).await?;
    Ok(())
}
