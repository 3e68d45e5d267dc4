//! `partnerdesk mail-ingest`: one message on stdin, as a Postfix or Exim pipe transport hands it over. The exit
//! status tells the mail server what to do (sysexits.h): 0 handled (filed, refused with an answer, or ignored),
//! 65 not a message or too large (bounce it), 67 not one of our addresses (unknown recipient), 75 a temporary
//! failure such as the database being down (keep it and try again).

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;

use partnerdesk_app::error::AppError;
use partnerdesk_app::inbound::{self, Handled};
use partnerdesk_mail::inbound::MAX_MESSAGE_BYTES;

use crate::app;
use crate::config::Config;

const EX_DATAERR: u8 = 65;
const EX_NOUSER: u8 = 67;
const EX_TEMPFAIL: u8 = 75;

/// Whether `recipient` is the reply mailbox or one of its plus-addresses.
fn ours(recipient: &str, base: &str) -> bool {
    let split = |a: &str| {
        let a = a
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>')
            .to_ascii_lowercase();
        let (local, domain) = a.rsplit_once('@')?;
        let local = local.split_once('+').map_or(local, |(l, _)| l).to_owned();
        Some((local, domain.to_owned()))
    };
    matches!((split(recipient), split(base)), (Some(a), Some(b)) if a == b)
}

fn fail(code: u8, what: impl std::fmt::Display) -> ExitCode {
    eprintln!("mail-ingest: {what}");
    ExitCode::from(code)
}

pub async fn main(config_file: Option<&Path>, recipient: Option<&str>) -> ExitCode {
    let config = match Config::load(config_file) {
        Ok(c) => c,
        Err(e) => return fail(EX_TEMPFAIL, format!("configuration: {e:#}")),
    };
    crate::telemetry::init(config.log_format);
    if let (Some(r), Some(base)) = (recipient, config.mail_reply_address.as_deref())
        && !ours(r, base)
    {
        return fail(EX_NOUSER, format!("{r} is not {base} or one of its ticket addresses"));
    }
    let mut raw = Vec::new();
    let limit = MAX_MESSAGE_BYTES as u64 + 1;
    if let Err(e) = std::io::stdin().lock().take(limit).read_to_end(&mut raw) {
        return fail(EX_TEMPFAIL, format!("reading the message: {e}"));
    }
    if raw.len() > MAX_MESSAGE_BYTES {
        return fail(EX_DATAERR, format!("the message is over {MAX_MESSAGE_BYTES} bytes"));
    }
    let db = match app::open_db(&config).await {
        Ok(db) => db,
        Err(e) => return fail(EX_TEMPFAIL, format!("{e:#}")),
    };
    let state = match app::sealer(&config).and_then(|s| app::app_state(&config, db.clone(), s)) {
        Ok(s) => s,
        Err(e) => {
            db.close().await;
            return fail(EX_TEMPFAIL, format!("{e:#}"));
        }
    };
    let handled = inbound::ingest(&state, &raw).await;
    db.close().await;
    match handled {
        Ok(h) => {
            match h {
                Handled::Comment { ticket } => println!("added to ticket #{ticket}"),
                Handled::Ticket { ticket } => println!("filed as ticket #{ticket}"),
                Handled::Refused(why) => println!("refused: {why}"),
                Handled::Ignored(why) => println!("ignored: {why}"),
                Handled::Repeat => println!("already handled"),
            }
            ExitCode::SUCCESS
        }
        Err(AppError::Invalid(e)) => fail(EX_DATAERR, format!("{e:?}")),
        Err(e) => fail(EX_TEMPFAIL, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_addresses() {
        assert!(ours("support@vendor.test", "support@vendor.test"));
        assert!(ours("Support+t5-abc@Vendor.test", "support@vendor.test"));
        assert!(ours("<support+x@vendor.test>", "support@vendor.test"));
        assert!(!ours("sales@vendor.test", "support@vendor.test"));
        assert!(!ours("support@other.test", "support@vendor.test"));
    }
}
