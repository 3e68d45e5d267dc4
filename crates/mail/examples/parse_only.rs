//! Reference for the e-mail benchmark (`bench/mail.sh`): how fast the same messages parse with no database, no
//! IMAP and no HTTP. Reads every file of a directory into memory first, then times, on one thread, `mail-parser`
//! alone (`MessageParser::default().parse`) and this crate's own `inbound::parse` (mail-parser plus cutting the
//! quoted history, classifying machines, copying attachments out). Rounds repeat until each parser has run for at
//! least `SECONDS` (default 2); the median round is reported.
//!
//! Usage: `parse_only DIR [SECONDS]`. Prints one line:
//! `messages=N bytes=B mail_parser_per_s=R1 crate_parse_per_s=R2 unparsed=U`.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use mail_parser::MessageParser;

/// Messages per second of the median round, timing `one` over every message until `budget` has passed (at least 3
/// rounds), after one warm-up round.
fn rate(messages: &[Vec<u8>], budget: Duration, one: impl Fn(&[u8]) -> bool) -> f64 {
    let round = || {
        let start = Instant::now();
        let mut parsed = 0usize;
        for m in messages {
            parsed += usize::from(black_box(one(black_box(m))));
        }
        black_box(parsed);
        start.elapsed()
    };
    round();
    let mut rounds = Vec::new();
    let mut spent = Duration::ZERO;
    while rounds.len() < 3 || spent < budget {
        let took = round();
        spent += took;
        rounds.push(messages.len() as f64 / took.as_secs_f64());
    }
    rounds.sort_by(f64::total_cmp);
    rounds[rounds.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().ok_or("usage: parse_only DIR [SECONDS]")?);
    let seconds: f64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(2.0);
    let mut paths = std::fs::read_dir(&dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<Vec<_>, _>>()?;
    paths.retain(|p| p.is_file());
    paths.sort();
    let messages = paths.iter().map(std::fs::read).collect::<Result<Vec<_>, _>>()?;
    if messages.is_empty() {
        return Err(format!("{} holds no files", dir.display()).into());
    }
    let bytes: usize = messages.iter().map(Vec::len).sum();
    let unparsed = messages
        .iter()
        .filter(|m| partnerdesk_mail::inbound::parse(m).is_none())
        .count();
    let budget = Duration::from_secs_f64(seconds);
    // A parser per message, as `inbound::parse` makes one: the difference between the two is the crate's own work.
    let alone = rate(&messages, budget, |m| MessageParser::default().parse(m).is_some());
    let ours = rate(&messages, budget, |m| partnerdesk_mail::inbound::parse(m).is_some());
    println!(
        "messages={} bytes={bytes} mail_parser_per_s={alone:.0} crate_parse_per_s={ours:.0} unparsed={unparsed}",
        messages.len()
    );
    Ok(())
}
